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
COPY src/Operator/NetDiag.Operator.csproj src/Operator/RuntimeSettings.props src/Operator/
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

# ============================================================================================
# probe: the node program (src/Probes), published NativeAOT: one ~7 MB binary, no .NET runtime,
# starts in milliseconds on every node. Built on the target platform (NativeAOT does not
# cross-compile between architectures without a sysroot).
# ============================================================================================
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS probe-build
ARG TARGETARCH
# The NativeAOT toolchain links with clang and needs zlib's headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Entities/NetDiag.Entities.csproj src/Entities/
COPY src/Probes/NetDiag.Probes.csproj src/Probes/
RUN RID="linux-$([ "$TARGETARCH" = "arm64" ] && echo arm64 || echo x64)" \
 && dotnet restore src/Probes/NetDiag.Probes.csproj -r "$RID"
COPY src/Entities/ src/Entities/
COPY src/Probes/ src/Probes/
RUN RID="linux-$([ "$TARGETARCH" = "arm64" ] && echo arm64 || echo x64)" \
 && dotnet publish src/Probes/NetDiag.Probes.csproj -c Release -r "$RID" --no-restore -o /out \
 && rm -f /out/*.dbg /out/*.pdb /out/*.xml

# Debian slim with the node tools the probe runs: iptables (iptables-nft-save and
# iptables-legacy-save, both backends), iproute2 (ip -d -j addr), conntrack, and ping (the
# fallback .NET uses for ICMP when raw sockets are refused).
FROM debian:bookworm-slim AS probe
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 conntrack iputils-ping \
 && rm -rf /var/lib/apt/lists/*
COPY --from=probe-build /out/netdiag-probe /usr/local/bin/netdiag-probe
# Runs as root with hostNetwork and hostPID (ICMP raw sockets, iptables-save, /proc of the host);
# the host's root is mounted read-only at /host by the probe Job.
ENTRYPOINT ["/usr/local/bin/netdiag-probe"]
CMD ["--output", "json"]
# ============================================================================================
# end of probe stages
# ============================================================================================
