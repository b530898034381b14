# syntax=docker/dockerfile:1
# NetDiag images, one stage per program (make docker-build):
#   docker build --target operator -t netdiag-operator:dev .
#   docker build --target probe    -t netdiag-probe:dev .
# Each program has its own build stage so the two can change (and cache) independently.

# ============================================================================================
# operator: the controller (src/Operator), framework-dependent on the .NET runtime.
# ============================================================================================
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS operator-build
ARG TARGETARCH
WORKDIR /src
# Restore first, from the project files alone, so a source change does not re-download packages.
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Entities/NetDiag.Entities.csproj src/Entities/
COPY src/Operator/NetDiag.Operator.csproj src/Operator/
RUN dotnet restore src/Operator/NetDiag.Operator.csproj -a $TARGETARCH
COPY src/Entities/ src/Entities/
COPY src/Operator/ src/Operator/
RUN dotnet publish src/Operator/NetDiag.Operator.csproj -c Release -a $TARGETARCH --no-restore --self-contained false \
      -o /out

# chiseled: no shell, no package manager, non-root by default. "-extra" carries tzdata, which
# spec.timeZone needs (InvariantGlobalization drops ICU, not the time zone database).
FROM mcr.microsoft.com/dotnet/runtime:10.0-noble-chiseled-extra AS operator
WORKDIR /app
COPY --from=operator-build /out/ ./
# The uid config/manager/manager.yaml runs as (runAsNonRoot needs a numeric user).
USER 65532:65532
EXPOSE 8080
ENV DOTNET_EnableDiagnostics=0
ENTRYPOINT ["/app/netdiag-operator"]
# ============================================================================================
# end of operator stages
# ============================================================================================
