#!/usr/bin/env bash
# NetDiag demo: one command, a diagnosis end to end.
#
#   sudo hack/demo.sh                                   # local lab, default faults
#   sudo hack/demo.sh --nodes 6 --faults flannelPort:node-2,ipForward:node-3
#   sudo hack/demo.sh --faults none                      # a healthy lab
#   sudo hack/demo.sh --keep                             # leave it running; later: hack/demo.sh --down
#
# Without a reachable cluster in the current kubeconfig (the usual case on a fresh machine) it
# builds what it needs, starts a real control plane (etcd, kube-apiserver, kube-controller-manager
# on 127.0.0.1), brings up a lab cluster of network-namespace nodes with the faults injected,
# runs the operator, applies a diagnosis, waits for it, and prints `kubectl get nd` and
# `kubectl describe nd`. On exit or Ctrl-C everything it started is removed (processes,
# namespaces, files), so a second run starts clean.
#
# With a reachable cluster (kubectl cluster-info succeeds) it installs the CRD and RBAC, runs the
# operator against that cluster and applies config/samples' flannel-cluster diagnosis instead
# (--lab forces the local lab).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

NODES=4
FAULTS="flannelPort:node-2,ipForward:node-3,dnsLoop"
SAMPLE=""
KEEP=0
MODE=auto
STATE="${NETDIAG_DEMO_DIR:-/tmp/netdiag-demo}"
WAIT_SECONDS="${NETDIAG_DEMO_WAIT:-240}"

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
options:
  --nodes N          lab nodes (default $NODES)
  --faults LIST      name[:node],... (default $FAULTS; "none" for a healthy lab)
                     names: dnsLoop podCidrOverlap ipForward flannelPort bridgeNetfilter firewall
                            securitySoftware conntrack mtu dnsDead metricsDead
  --sample FILE      the NetworkDiagnosis to apply (default: every check for the lab,
                     config/samples/netdiag_v1alpha1_flannel-cluster.yaml for a real cluster)
  --keep             do not tear down on exit; remove later with --down
  --lab              use the local lab even if the current kubeconfig reaches a cluster
  --down             tear down a demo left running by --keep (or by a killed run)
EOF
}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }

while (($#)); do
  case "$1" in
    --nodes) NODES="${2:?--nodes needs a value}"; shift 2 ;;
    --nodes=*) NODES="${1#*=}"; shift ;;
    --faults) FAULTS="${2?--faults needs a value}"; shift 2 ;;
    --faults=*) FAULTS="${1#*=}"; shift ;;
    --sample) SAMPLE="${2:?--sample needs a file}"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --lab) MODE=lab; shift ;;
    --down) MODE=down; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[[ "$NODES" =~ ^[0-9]+$ ]] && ((NODES >= 1 && NODES <= 100)) || die "--nodes must be 1..100"
[[ "$FAULTS" == none ]] && FAULTS=""
# fail fast on a typo, before minutes of building (nodes are checked by the lab itself)
VALID_FAULTS="dnsLoop podCidrOverlap ipForward flannelPort bridgeNetfilter firewall securitySoftware conntrack mtu dnsDead metricsDead"
for item in ${FAULTS//,/ }; do
  [[ " $VALID_FAULTS " == *" ${item%%:*} "* ]] || die "unknown fault '${item%%:*}'. Valid faults: $VALID_FAULTS (as name or name:node-N, comma-separated)"
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# own build slot: the demo never fights a developer's or a test run's obj folders
export NETDIAG_BUILD_SLOT=demo
# our control plane: its own state dir and ports, the service range of the lab (index 0)
export NETDIAG_CP_DIR="$STATE/controlplane" NETDIAG_APISERVER_PORT=17443 NETDIAG_ETCD_PORT=27379 \
       NETDIAG_ETCD_PEER_PORT=27380 NETDIAG_KCM_PORT=17457 NETDIAG_SERVICE_CIDR=10.96.0.0/16
BIN="$ROOT/.artifacts/demo/bin"
OPERATOR_DLL="$BIN/NetDiag.Operator/debug/netdiag-operator.dll"
LAB_DLL="$BIN/NetDiag.Lab.Cli/debug/netdiag-lab.dll"

# ------------------------------------------------------------------ teardown
stop_pid() {
  # stop_pid NAME: TERM the recorded PID (if it is still the process we started), wait, KILL
  local f="$STATE/$1.pid" pid i
  [[ -f "$f" ]] || return 0
  pid="$(<"$f")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { info "$1 (pid $pid) ignored TERM; killing"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
}

teardown() {
  [[ -d "$STATE" ]] || return 0
  step "Removing what the demo started"
  if [[ -f "$STATE/kubeconfig" && -f "$STATE/diagnosis" ]]; then
    kubectl --kubeconfig "$STATE/kubeconfig" delete nd "$(<"$STATE/diagnosis")" --ignore-not-found --wait=true --timeout=30s >/dev/null 2>&1 || true
  fi
  stop_pid operator netdiag-operator
  stop_pid lab netdiag-lab   # removes its Nodes, kube-system objects, namespaces and files
  if [[ -f "$STATE/real-cluster" ]]; then
    # a real cluster: leave it as we found it
    while read -r what; do kubectl delete $what --ignore-not-found --wait=false >/dev/null 2>&1 || true; done < "$STATE/real-cluster"
  fi
  if [[ -d "$NETDIAG_CP_DIR" ]]; then
    hack/controlplane/controlplane.sh down >/dev/null 2>&1 || info "control plane: down reported a problem (state in $NETDIAG_CP_DIR)"
  fi
  # a lab whose CLI was killed hard leaves namespaces behind; its own cleanup removes them
  if [[ -f "$LAB_DLL" ]]; then dotnet "$LAB_DLL" cleanup --name demo >/dev/null 2>&1 || true; fi
  rm -rf "$STATE"
  info "done"
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if ((KEEP)) && [[ -d "$STATE" ]]; then
    step "Left running (--keep)"
    info "export KUBECONFIG=$STATE/kubeconfig"
    info "remove it with: sudo hack/demo.sh --down"
  else
    teardown
  fi
  exit "$rc"
}

if [[ "$MODE" == down ]]; then teardown; exit 0; fi

# ------------------------------------------------------------------ shared steps
build_dotnet() {
  step "Building the operator and the lab tools (dotnet build)"
  local t0=$SECONDS
  dotnet build src/Operator/NetDiag.Operator.csproj -v q --nologo -clp:ErrorsOnly >&2 \
    || die "building the operator failed"
  if [[ "$1" == lab ]]; then
    dotnet build tools/NetDiag.Lab.Cli/NetDiag.Lab.Cli.csproj -v q --nologo -clp:ErrorsOnly >&2 \
      || die "building the lab tools failed"
    dotnet build src/Probes/NetDiag.Probes.csproj -v q --nologo -clp:ErrorsOnly >&2 \
      || die "building the probe failed"
  fi
  info "built in $((SECONDS - t0))s"
}

start_operator() {
  step "Starting the operator"
  dotnet "$OPERATOR_DLL" --Operator:LeaderElection=false --Operator:Namespace=netdiag-system \
    --Operator:MetricsPort=0 --Operator:Kubeconfig="$1" >"$STATE/operator.log" 2>&1 &
  echo $! >"$STATE/operator.pid"
  info "pid $(<"$STATE/operator.pid"), log $STATE/operator.log"
}

diagnose() {
  # diagnose KUBECONFIG SAMPLE
  local kc=$1 sample=$2 name phase="" t0=$SECONDS
  name="$(awk '/^metadata:/{m=1} m && /^  name:/{print $2; exit}' "$sample")"
  [[ -n "$name" ]] || die "$sample has no metadata.name"
  echo "$name" >"$STATE/diagnosis"
  step "Applying the diagnosis $name ($sample)"
  kubectl --kubeconfig "$kc" apply -f "$sample" >&2
  step "Waiting for the diagnosis (probe Jobs on every node)"
  while ((SECONDS - t0 < WAIT_SECONDS)); do
    phase="$(kubectl --kubeconfig "$kc" get nd "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)"
    [[ "$phase" == Completed || "$phase" == Failed || "$phase" == Invalid ]] && break
    if [[ -f "$STATE/operator.pid" ]] && ! kill -0 "$(<"$STATE/operator.pid")" 2>/dev/null; then
      tail -n 30 "$STATE/operator.log" >&2; die "the operator exited"
    fi
    info "phase ${phase:-Pending} ($((SECONDS - t0))s)"
    sleep 3
  done
  [[ "$phase" == Completed || "$phase" == Failed || "$phase" == Invalid ]] \
    || { tail -n 30 "$STATE/operator.log" >&2; die "no result after ${WAIT_SECONDS}s"; }
  info "$phase after $((SECONDS - t0))s"
  step "kubectl get nd"
  kubectl --kubeconfig "$kc" get nd
  step "kubectl describe nd $name"
  kubectl --kubeconfig "$kc" describe nd "$name"
}

# ------------------------------------------------------------------ which cluster
if [[ -d "$STATE" ]]; then
  info "a previous demo left $STATE behind; removing it first"
  teardown
fi

if [[ "$MODE" == auto ]] && command -v kubectl >/dev/null \
   && kubectl config current-context >/dev/null 2>&1 \
   && [[ "$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}' 2>/dev/null)" != *":$NETDIAG_APISERVER_PORT" ]] \
   && kubectl cluster-info --request-timeout=5s >/dev/null 2>&1; then
  MODE=cluster
else
  MODE=lab
fi

mkdir -p "$STATE"
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ "$MODE" == cluster ]]; then
  ctx="$(kubectl config current-context)"
  step "Using the cluster of the current kubeconfig context: $ctx"
  build_dotnet cluster
  : >"$STATE/real-cluster"
  kubectl get crd networkdiagnoses.netdiag.io >/dev/null 2>&1 || echo "crd networkdiagnoses.netdiag.io" >>"$STATE/real-cluster"
  kubectl get ns netdiag-system >/dev/null 2>&1 || echo "ns netdiag-system" >>"$STATE/real-cluster"
  kubectl apply -k config/crd >&2 && kubectl apply -k config/rbac >&2
  kubectl wait --for=condition=Established --timeout=60s crd/networkdiagnoses.netdiag.io >&2
  kc="$(kubectl config view --raw --minify --flatten >"$STATE/kubeconfig" && echo "$STATE/kubeconfig")"
  start_operator "$kc"
  diagnose "$kc" "${SAMPLE:-config/samples/netdiag_v1alpha1_flannel-cluster.yaml}"
  exit 0
fi

# ------------------------------------------------------------------ the local lab
[[ $EUID -eq 0 ]] || die "the local lab needs root (network namespaces, iptables): run it as root"
step "Installing packages the lab needs (skipped when present)"
hack/install-deps.sh >&2

step "Building kube-apiserver and kube-controller-manager (cached after the first run; ~5 min on 2 cores the first time)"
hack/controlplane/controlplane.sh build

build_dotnet lab

step "Building the probe (NativeAOT, cached; a few minutes the first time)"
if probe="$(hack/lab/probe.sh)"; then
  info "probe: $probe"
else
  probe="$BIN/NetDiag.Probes/debug/netdiag-probe.dll"
  info "NativeAOT build unavailable; running the probe with dotnet ($probe)"
fi

step "Starting the control plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1)"
hack/controlplane/controlplane.sh up >/dev/null
cp "$NETDIAG_CP_DIR/kubeconfig" "$STATE/kubeconfig"
KC="$STATE/kubeconfig"
kubectl --kubeconfig "$KC" apply -k config/crd >/dev/null
kubectl --kubeconfig "$KC" apply -k config/rbac >/dev/null
kubectl --kubeconfig "$KC" wait --for=condition=Established --timeout=60s crd/networkdiagnoses.netdiag.io >/dev/null

step "Starting a lab cluster: $NODES nodes, faults: ${FAULTS:-none}"
dotnet "$LAB_DLL" up --kubeconfig "$KC" --probe "$probe" --nodes "$NODES" --name demo \
  --faults "$FAULTS" --ready-file "$STATE/lab.ready" >"$STATE/lab.log" 2>&1 &
echo $! >"$STATE/lab.pid"
t0=$SECONDS
until [[ -f "$STATE/lab.ready" ]]; do
  if ! kill -0 "$(<"$STATE/lab.pid")" 2>/dev/null; then
    tail -n 20 "$STATE/lab.log" >&2
    die "the lab did not start (log above; $STATE/lab.log)"
  fi
  ((SECONDS - t0 > 180)) && { tail -n 20 "$STATE/lab.log" >&2; die "the lab is not ready after 180s"; }
  sleep 1
done
info "ready in $((SECONDS - t0))s; log $STATE/lab.log"
kubectl --kubeconfig "$KC" get nodes -o wide >&2

start_operator "$KC"

if [[ -z "$SAMPLE" ]]; then
  SAMPLE="$STATE/demo-diagnosis.yaml"
  cat >"$SAMPLE" <<EOF
# Every check that applies to this (flannel) cluster.
apiVersion: netdiag.io/v1alpha1
kind: NetworkDiagnosis
metadata:
  name: demo
spec:
  timeout: 2m
EOF
fi
diagnose "$KC" "$SAMPLE"
