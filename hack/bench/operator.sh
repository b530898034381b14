#!/usr/bin/env bash
# Operator benchmark (make bench-operator): the real operator host against a real kube-apiserver
# (hack/controlplane/controlplane.sh) with 100 and then 1000 Node objects. For one diagnosis run:
# API requests by verb/resource, operator CPU time, status size, RSS idle and busy, and requests
# made while idle. Goals: no periodic LIST when idle, idle RSS < 100 MB, status < 100 KiB at 1000.
# Figures go to stdout and .artifacts/bench/operator-bench.md. Exit 1 if any LIST happens idle.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NETDIAG_BUILD_SLOT="${NETDIAG_BUILD_SLOT:-bench}"
out="$PWD/.artifacts/bench"
mkdir -p "$out"
report="$out/operator-bench.md"
: > "$report"

# A private control plane on free loopback ports (others may run one on this machine too).
free_port() {
  local p
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}
export NETDIAG_CP_DIR="${NETDIAG_CP_DIR:-/tmp/netdiag-cp-bench-$$}"
export NETDIAG_APISERVER_PORT="${NETDIAG_APISERVER_PORT:-$(free_port)}"
export NETDIAG_ETCD_PORT="${NETDIAG_ETCD_PORT:-$(free_port)}"
export NETDIAG_ETCD_PEER_PORT="${NETDIAG_ETCD_PEER_PORT:-$(free_port)}"
export NETDIAG_KCM_PORT="${NETDIAG_KCM_PORT:-$(free_port)}"
cp=hack/controlplane/controlplane.sh
trap 'bash "$cp" down >/dev/null 2>&1 || true' EXIT
bash "$cp" build
bash "$cp" up
kubeconfig="$NETDIAG_CP_DIR/kubeconfig"
kubectl --kubeconfig "$kubeconfig" apply -f config/crd/netdiag.io_networkdiagnoses.yaml >&2
kubectl --kubeconfig "$kubeconfig" wait --for=condition=Established --timeout=60s crd/networkdiagnoses.netdiag.io >&2

echo "building the bench driver ..." >&2
dotnet build bench/NetDiag.Operator.Bench/NetDiag.Operator.Bench.csproj -c Release --nologo -v q >&2
rc=0
for n in ${NETDIAG_BENCH_NODES:-100 1000}; do
  # One process per size, so each size's RSS is its own.
  dotnet run --no-build -c Release --project bench/NetDiag.Operator.Bench -- "$kubeconfig" "$n" "$report" || rc=1
done
echo "report: $report" >&2
exit $rc
