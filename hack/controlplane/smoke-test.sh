#!/usr/bin/env bash
# Smoke test of controlplane.sh: build (or cached), up, the controllers the operator
# relies on (Job -> Pod, CRD Established, owner-reference GC, TTL after finished),
# an apiserver restart, down. Prints the timings. Uses its own state dir and ports
# (override with the usual NETDIAG_* variables) so it never touches a running `up`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp="$here/controlplane.sh"
export NETDIAG_CP_DIR="${NETDIAG_CP_DIR:-/tmp/netdiag-cp-smoke}"
export NETDIAG_APISERVER_PORT="${NETDIAG_APISERVER_PORT:-16543}"
export NETDIAG_ETCD_PORT="${NETDIAG_ETCD_PORT:-23890}"
export NETDIAG_ETCD_PEER_PORT="${NETDIAG_ETCD_PEER_PORT:-23900}"
export NETDIAG_KCM_PORT="${NETDIAG_KCM_PORT:-16557}"
export KUBECONFIG="$NETDIAG_CP_DIR/kubeconfig"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'SMOKE TEST FAILED: %s\n' "$*" >&2; exit 1; }
# until_ok <seconds> <what> <command...>
until_ok() {
  local n=$1 what=$2; shift 2
  local end=$((SECONDS + n))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < end )) || fail "$what (not within ${n}s)"
    sleep 0.5
  done
}
count_pods() { kubectl get pods -l "job-name=$1" --no-headers 2>/dev/null | wc -l; }
has_pods() { (( $(count_pods "$1") > 0 )); }
no_pods() { (( $(count_pods "$1") == 0 )); }
job_gone() { ! kubectl get job "$1" >/dev/null 2>&1; }

trap '"$cp" down >/dev/null 2>&1 || true' EXIT

step build
t=$SECONDS; "$cp" build; t_build=$((SECONDS - t))

step up
t=$SECONDS; "$cp" up; t_up=$((SECONDS - t))
kubectl version 2>/dev/null | grep -q 'Server Version: v1.20' || fail "server is not 1.20"
kubectl get ns

step "Job -> Pod (Pending: there is no kubelet)"
kubectl create job smoke --image=busybox -- true
until_ok 30 "the job controller creates a Pod" has_pods smoke
kubectl get pods -l job-name=smoke

step "CRD (apiextensions.k8s.io/v1) becomes Established"
kubectl apply -f - <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.smoke.netdiag.io}
spec:
  group: smoke.netdiag.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
EOF
kubectl wait --for=condition=Established crd/widgets.smoke.netdiag.io --timeout=30s
kubectl apply -f - <<'EOF'
{"apiVersion": "smoke.netdiag.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}}
EOF

step "delete the Job (background propagation): the garbage collector deletes its Pod"
kubectl delete job smoke --cascade=background
until_ok 60 "the garbage collector deletes the Job's Pod" no_pods smoke
echo "pod garbage-collected"

step "ttlSecondsAfterFinished (alpha in 1.20, feature gate on)"
kubectl apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: smoke-ttl}
spec:
  ttlSecondsAfterFinished: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
EOF
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# no kubelet runs the Pod: mark the Job finished through its status subresource
kubectl patch job smoke-ttl --subresource=status --type=merge -p "{\"status\":{\"startTime\":\"$now\",\"completionTime\":\"$now\",\"succeeded\":1,\"conditions\":[{\"type\":\"Complete\",\"status\":\"True\",\"lastProbeTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}"
until_ok 60 "the TTL controller deletes the finished Job" job_gone smoke-ttl
echo "finished job deleted by the TTL controller"

step restart-apiserver
t=$SECONDS; "$cp" restart-apiserver; t_restart=$((SECONDS - t))
kubectl get widgets w
kubectl create job smoke2 --image=busybox -- true
until_ok 30 "the controller-manager still works after the apiserver restart" has_pods smoke2

step down
t=$SECONDS; "$cp" down; t_down=$((SECONDS - t))
trap - EXIT
[[ ! -d "$NETDIAG_CP_DIR" ]] || fail "state dir left behind"

printf '\nSMOKE TEST PASSED  build %ss  up %ss  restart-apiserver %ss  down %ss\n' \
  "$t_build" "$t_up" "$t_restart" "$t_down"
