#!/usr/bin/env bash
# Lab benchmark (not a test): wall time from `kubectl apply` of a NetworkDiagnosis to phase
# Completed, for lab clusters of several sizes, healthy and faulty, with the operator's CPU time
# and peak RSS over that interval.
#
#   sudo hack/bench/lab-bench.sh                      # 4, 16, 32 nodes; healthy and faulty
#   sudo hack/bench/lab-bench.sh --nodes "4 8" --runs 3 --max-concurrent 8
#
# Goals (issue 4): 4 healthy nodes under 10 s; growth no worse than linear in
# nodes / maxConcurrentProbes. Results go to stdout and to $OUT (markdown).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"

SIZES="4 16 32"
RUNS=1
MAXC=""
FAULTS_FAULTY="flannelPort:node-2,ipForward:node-3"
STATE="${NETDIAG_BENCH_DIR:-/tmp/netdiag-bench}"
OUT="${OUT:-$STATE-results.md}"

while (($#)); do
  case "$1" in
    --nodes) SIZES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --max-concurrent) MAXC="$2"; shift 2 ;;
    --faults) FAULTS_FAULTY="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "needs root (network namespaces)" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NETDIAG_BUILD_SLOT=bench
export NETDIAG_CP_DIR="$STATE/controlplane" NETDIAG_APISERVER_PORT=18443 NETDIAG_ETCD_PORT=28379 \
       NETDIAG_ETCD_PEER_PORT=28380 NETDIAG_KCM_PORT=18457 NETDIAG_SERVICE_CIDR=10.96.0.0/16
BIN="$ROOT/.artifacts/bench/bin"
LAB_DLL="$BIN/NetDiag.Lab.Cli/debug/netdiag-lab.dll"
OPERATOR_DLL="$BIN/NetDiag.Operator/debug/netdiag-operator.dll"
KC="$NETDIAG_CP_DIR/kubeconfig"
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

LAB_PID="" OP_PID=""
stop() { # stop PID: TERM, wait up to 60 s, KILL
  local pid=$1 i
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  stop "$OP_PID"; stop "$LAB_PID"
  [[ -d "$NETDIAG_CP_DIR" ]] && hack/controlplane/controlplane.sh down >/dev/null 2>&1 || true
  [[ -f "$LAB_DLL" ]] && dotnet "$LAB_DLL" cleanup --name bench >/dev/null 2>&1 || true
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building (slot bench), the NativeAOT probe and the control plane"
hack/install-deps.sh >/dev/null
hack/controlplane/controlplane.sh build
for p in src/Operator/NetDiag.Operator.csproj tools/NetDiag.Lab.Cli/NetDiag.Lab.Cli.csproj src/Probes/NetDiag.Probes.csproj; do
  dotnet build "$p" -v q --nologo -clp:ErrorsOnly >&2
done
probe="$(hack/lab/probe.sh)" || probe="$BIN/NetDiag.Probes/debug/netdiag-probe.dll"
mkdir -p "$STATE"
hack/controlplane/controlplane.sh up >/dev/null
kubectl --kubeconfig "$KC" apply -k config/crd >/dev/null
kubectl --kubeconfig "$KC" apply -k config/rbac >/dev/null
kubectl --kubeconfig "$KC" wait --for=condition=Established --timeout=60s crd/networkdiagnoses.netdiag.io >/dev/null

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime of the process
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }

printf '| nodes | scenario | maxConcurrentProbes | apply→Completed (s) | operator CPU (s) | operator peak RSS (MiB) | findings (C/W) |\n' | tee "$OUT"
printf '|---:|---|---:|---:|---:|---:|---|\n' | tee -a "$OUT"

for n in $SIZES; do
  for scenario in healthy faulty; do
    faults=""; [[ $scenario == faulty ]] && faults="$FAULTS_FAULTY"
    rm -f "$STATE/lab.ready"
    dotnet "$LAB_DLL" up --kubeconfig "$KC" --probe "$probe" --nodes "$n" --name bench --faults "$faults" \
      --ready-file "$STATE/lab.ready" >"$STATE/lab-$n-$scenario.log" 2>&1 &
    LAB_PID=$!
    t0=$SECONDS
    until [[ -f "$STATE/lab.ready" ]]; do
      kill -0 "$LAB_PID" 2>/dev/null || { tail "$STATE/lab-$n-$scenario.log" >&2; exit 1; }
      ((SECONDS - t0 > 300)) && { echo "lab of $n nodes not ready" >&2; exit 1; }
      sleep 0.5
    done
    log "lab: $n nodes ($scenario) ready in $((SECONDS - t0))s"
    for run in $(seq 1 "$RUNS"); do
      # a fresh operator per run, so its CPU and RSS are this diagnosis's
      dotnet "$OPERATOR_DLL" --Operator:LeaderElection=false --Operator:Namespace=netdiag-system \
        --Operator:MetricsPort=0 --Operator:Kubeconfig="$KC" >"$STATE/operator.log" 2>&1 &
      OP_PID=$!
      sleep 5   # informers synced, start-up JIT done: measure the diagnosis, not the start
      name="bench-$n-$scenario-$run"
      mc=${MAXC:+"  maxConcurrentProbes: $MAXC"}
      c0=$(cpu_ticks "$OP_PID")
      start=$(date +%s.%N)
      printf 'apiVersion: netdiag.io/v1alpha1\nkind: NetworkDiagnosis\nmetadata:\n  name: %s\nspec:\n  timeout: 5m\n%s\n' "$name" "$mc" \
        | kubectl --kubeconfig "$KC" apply -f - >/dev/null
      phase=""
      while [[ "$phase" != Completed && "$phase" != Failed ]]; do
        sleep 0.2
        phase="$(kubectl --kubeconfig "$KC" get nd "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
        kill -0 "$OP_PID" 2>/dev/null || { tail "$STATE/operator.log" >&2; exit 1; }
      done
      end=$(date +%s.%N)
      c1=$(cpu_ticks "$OP_PID"); hwm=$(hwm_kb "$OP_PID")
      counts="$(kubectl --kubeconfig "$KC" get nd "$name" -o jsonpath='{.status.summary.critical}/{.status.summary.warning}')"
      awk -v n="$n" -v s="$scenario" -v m="${MAXC:-50 (default)}" -v a="$start" -v b="$end" \
          -v c0="$c0" -v c1="$c1" -v k="$clk" -v h="$hwm" -v f="$counts" \
          'BEGIN { printf "| %s | %s | %s | %.1f | %.2f | %.0f | %s |\n", n, s, m, b - a, (c1 - c0) / k, h / 1024, f }' | tee -a "$OUT"
      kubectl --kubeconfig "$KC" delete nd "$name" --wait=true >/dev/null
      stop "$OP_PID"; OP_PID=""
    done
    stop "$LAB_PID"; LAB_PID=""
  done
done
log "results: $OUT"
