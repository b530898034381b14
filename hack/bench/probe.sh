#!/usr/bin/env bash
# Probe benchmark (make bench-probe). Needs root (it builds a network-namespace lab).
#  1. publishes the probe NativeAOT into .artifacts/bench/probe-aot
#  2. runs bench/NetDiag.Probes.Bench: probe wall time and peak RSS with all checks on a lab node
#     (healthy peers, and a 50-peer plan), a 100k-line iptables-save parse, the probe on a node
#     holding 100k iptables lines, and seed 000's shell diagnosis on the same node side by side.
# Figures go to stdout and .artifacts/bench/probe-bench.md. Goals: all checks < 1 s wall and
# < 40 MB peak RSS on a node with healthy peers; 100k lines parsed < 300 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NETDIAG_BUILD_SLOT="${NETDIAG_BUILD_SLOT:-bench}"
out=.artifacts/bench
mkdir -p "$out"
command -v /usr/bin/time >/dev/null || { echo "probe bench: /usr/bin/time is missing (apt-get install -y time)" >&2; exit 1; }

rid="linux-$([ "$(uname -m)" = aarch64 ] && echo arm64 || echo x64)"
echo "publishing netdiag-probe NativeAOT ($rid) ..." >&2
dotnet publish src/Probes/NetDiag.Probes.csproj -c Release -r "$rid" -o "$out/probe-aot" --nologo -v q >&2
ls -l "$out/probe-aot/netdiag-probe" >&2

echo "building the bench driver ..." >&2
dotnet build bench/NetDiag.Probes.Bench/NetDiag.Probes.Bench.csproj -c Release --nologo -v q >&2
dotnet run --no-build -c Release --project bench/NetDiag.Probes.Bench -- "$out/probe-aot/netdiag-probe" "$out/probe-bench.md"
