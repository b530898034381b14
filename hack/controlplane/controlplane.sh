#!/usr/bin/env bash
# NetDiag: a real, throwaway Kubernetes control plane on 127.0.0.1
# (etcd + kube-apiserver + kube-controller-manager, no kubelet).
#
# kube-apiserver/kube-controller-manager are built once from Debian's `kubernetes`
# source package (Kubernetes 1.20.2) and cached outside the repository.
# See hack/controlplane/README.md for details.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: controlplane.sh <command>

  install-deps       apt-get install what build/up need (skips what is present)
  build              build kube-apiserver + kube-controller-manager from Debian's
                     `kubernetes` source package; cached, skipped when present
  up                 start etcd, kube-apiserver, kube-controller-manager; idempotent
  down               stop everything started by `up` (by recorded PIDs), delete state
  status             show the processes and /readyz
  env                print `export KUBECONFIG=...`
  restart-apiserver  stop kube-apiserver and start it again with the same args
  stop-apiserver     stop kube-apiserver only
  start-apiserver    start kube-apiserver again (after stop-apiserver)

environment (defaults):
  NETDIAG_CACHE=/var/cache/netdiag     build cache (binaries in kubernetes-<ver>/bin)
  NETDIAG_CP_DIR=/tmp/netdiag-cp       state: pki, etcd data, logs, pids, kubeconfig
  NETDIAG_ETCD_PORT=23790              etcd client port (127.0.0.1)
  NETDIAG_ETCD_PEER_PORT=23800         etcd peer port (127.0.0.1)
  NETDIAG_APISERVER_PORT=16443         kube-apiserver secure port (127.0.0.1)
  NETDIAG_KCM_PORT=16457               kube-controller-manager secure port (127.0.0.1)
  NETDIAG_SERVICE_CIDR=10.0.0.0/24     --service-cluster-ip-range (the network-namespace lab
                                       cluster wants 10.(96+I).0.0/16 for its lab index I)
  NETDIAG_CP_TIMEOUT=90                seconds to wait for readiness
  NETDIAG_STOP_GRACE=5                 seconds between TERM and KILL when stopping
  NETDIAG_K8S_DEB_VERSION=             pin the Debian source version (else: newest cached,
                                       else what apt offers)
  NETDIAG_KUBE_BIN_DIR=                use these kube-apiserver/kube-controller-manager
                                       binaries instead of building
  NETDIAG_KEEP_BUILD=0                 1 = keep the unpacked source tree after building
EOF
}

# ---------------------------------------------------------------- settings
CACHE="${NETDIAG_CACHE:-/var/cache/netdiag}"
STATE="${NETDIAG_CP_DIR:-/tmp/netdiag-cp}"
TIMEOUT="${NETDIAG_CP_TIMEOUT:-90}"
STOP_GRACE="${NETDIAG_STOP_GRACE:-5}"

# Ports: taken from the environment on the first `up`, then frozen in
# $STATE/config so every later command (restart-apiserver, down, ...) agrees.
ETCD_PORT="${NETDIAG_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${NETDIAG_ETCD_PEER_PORT:-23800}"
APISERVER_PORT="${NETDIAG_APISERVER_PORT:-16443}"
KCM_PORT="${NETDIAG_KCM_PORT:-16457}"
SERVICE_CIDR="${NETDIAG_SERVICE_CIDR:-10.0.0.0/24}"
BIN_DIR=""

PKI="$STATE/pki"
RUN="$STATE/run"
LOGS="$STATE/logs"
KUBECONFIG_OUT="$STATE/kubeconfig"

log() { printf '[controlplane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[controlplane] ERROR: %s\n' "$*" >&2; exit 1; }

load_config() {
  if [[ -f "$STATE/config" ]]; then
    # shellcheck disable=SC1091
    source "$STATE/config"
  fi
}

save_config() {
  mkdir -p "$STATE"
  cat >"$STATE/config" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
SERVICE_CIDR=$SERVICE_CIDR
BIN_DIR=$(printf '%q' "$BIN_DIR")
EOF
}

# ---------------------------------------------------------------- deps
DEPS=(etcd-server golang-go openssl dpkg-dev golang-github-modern-go-reflect2-dev
      golang-github-json-iterator-go-dev make rsync curl ca-certificates util-linux iproute2)

missing_deps() {
  local p out=()
  for p in "${DEPS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      out+=("$p")
    fi
  done
  echo "${out[*]-}"
}

cmd_install_deps() {
  local missing
  missing="$(missing_deps)"
  if [[ -z "$missing" ]]; then
    log "dependencies already installed"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "missing packages: $missing (run install-deps as root)"
  log "installing: $missing"
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $missing; then
    log "apt-get install failed; refreshing package lists and retrying"
    apt-get -o DPkg::Lock::Timeout=600 update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $missing
  fi
}

ensure_deps() {
  local missing
  missing="$(missing_deps)"
  [[ -z "$missing" ]] && return 0
  if [[ $EUID -eq 0 ]]; then
    log "missing packages ($missing); running install-deps"
    cmd_install_deps
  else
    die "missing packages: $missing -- run: sudo $0 install-deps"
  fi
}

# ---------------------------------------------------------------- build
APT_DIR="$CACHE/apt"

apt_private() {
  # apt_private <apt-get|apt-cache> <args...>
  # A private apt configuration holding only deb-src entries: the machine's
  # own apt sources, lists and caches are never touched.
  local tool=$1; shift
  "$tool" -o Dir::Etc::SourceList=/dev/null \
          -o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
          -o Dir::State::Lists="$APT_DIR/lists" \
          -o Dir::Cache="$APT_DIR/cache" \
          -o Debug::NoLocking=1 \
          "$@"
}

apt_private_setup() {
  local src=/etc/apt/sources.list.d/debian.sources
  [[ -f "$src" ]] || die "$src not found; cannot derive a deb-src configuration"
  mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  sed -E 's/^Types:.*/Types: deb-src/' "$src" >"$APT_DIR/sources.list.d/netdiag-src.sources"
}

# newest kubernetes-<ver> in the cache that has both binaries
newest_cached_version() {
  local d best=""
  for d in "$CACHE"/kubernetes-*/bin; do
    [[ -x "$d/kube-apiserver" && -x "$d/kube-controller-manager" ]] || continue
    d="${d%/bin}"; d="${d##*/kubernetes-}"
    if [[ -z "$best" ]] || dpkg --compare-versions "$d" gt "$best"; then best="$d"; fi
  done
  echo "$best"
}

# newest version of the `kubernetes` source package (needs the private lists)
apt_source_version() {
  local v best=""
  while read -r v; do
    if [[ -z "$best" ]] || dpkg --compare-versions "$v" gt "$best"; then best="$v"; fi
  done < <(apt_private apt-cache showsrc --only-source kubernetes 2>/dev/null \
             | awk '/^Package: /{p=($2=="kubernetes")} p && /^Version: /{print $2}')
  echo "$best"
}

heartbeat_wait() {
  # heartbeat_wait <pid> <what> <logfile>: wait for pid, print a line every 30 s
  local pid=$1 what=$2 logf=$3 start=$SECONDS next=30 rc
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( SECONDS - start >= next )); then
      log "  still $what... $((SECONDS - start))s elapsed (log: $logf)"
      next=$((next + 30))
    fi
  done
  rc=0; wait "$pid" || rc=$?
  return "$rc"
}

cmd_build() {
  if [[ -n "${NETDIAG_KUBE_BIN_DIR:-}" ]]; then
    [[ -x "$NETDIAG_KUBE_BIN_DIR/kube-apiserver" && -x "$NETDIAG_KUBE_BIN_DIR/kube-controller-manager" ]] \
      || die "NETDIAG_KUBE_BIN_DIR=$NETDIAG_KUBE_BIN_DIR lacks kube-apiserver/kube-controller-manager"
    log "using binaries from NETDIAG_KUBE_BIN_DIR=$NETDIAG_KUBE_BIN_DIR; nothing to build"
    return 0
  fi

  local ver="${NETDIAG_K8S_DEB_VERSION:-}"
  [[ -z "$ver" ]] && ver="$(newest_cached_version)"
  if [[ -n "$ver" && -x "$CACHE/kubernetes-$ver/bin/kube-apiserver" && -x "$CACHE/kubernetes-$ver/bin/kube-controller-manager" ]]; then
    log "kubernetes $ver is cached in $CACHE/kubernetes-$ver/bin; skipping the build"
    return 0
  fi

  mkdir -p "$CACHE"
  # One build at a time per cache (parallel test runs on the same machine).
  exec 9>"$CACHE/.build.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE/.build.lock; waiting for it..."
    flock 9
  fi
  ensure_deps
  # It may have been built while we waited.
  [[ -z "$ver" ]] && ver="$(newest_cached_version)"
  if [[ -n "$ver" && -x "$CACHE/kubernetes-$ver/bin/kube-apiserver" && -x "$CACHE/kubernetes-$ver/bin/kube-controller-manager" ]]; then
    log "kubernetes $ver is cached in $CACHE/kubernetes-$ver/bin; skipping the build"
    return 0
  fi

  local t0=$SECONDS
  apt_private_setup
  log "refreshing private deb-src lists in $APT_DIR (the machine's apt config is untouched)..."
  apt_private apt-get update -qq >"$APT_DIR/update.log" 2>&1 \
    || { tail -n 20 "$APT_DIR/update.log" >&2; die "apt-get update (deb-src) failed"; }
  if [[ -z "$ver" ]]; then
    ver="$(apt_source_version)"
    [[ -n "$ver" ]] || die "could not find the 'kubernetes' source package via deb-src"
  fi
  local dest="$CACHE/kubernetes-$ver" work="$CACHE/build/kubernetes-$ver"
  local blog="$CACHE/build-kubernetes-$ver.log"
  log "building kubernetes $ver (Debian source package) into $dest/bin"
  rm -rf "$work"; mkdir -p "$work/dl"
  log "downloading source package kubernetes=$ver..."
  ( cd "$work/dl" && apt_private apt-get source --download-only "kubernetes=$ver" ) >"$blog" 2>&1 \
    || { tail -n 20 "$blog" >&2; die "apt-get source failed (log: $blog)"; }
  log "unpacking (dpkg-source -x)..."
  ( cd "$work/dl" && dpkg-source --no-check -x ./kubernetes_*.dsc "$work/src" ) >>"$blog" 2>&1 \
    || { tail -n 20 "$blog" >&2; die "dpkg-source -x failed (log: $blog)"; }
  rm -rf "$work/dl"

  # Go >= 1.18 breaks the vendored reflect2 1.0.1 (and json-iterator) at run
  # time; swap in Debian's fixed copies.
  local m gs=/usr/share/gocode/src
  for m in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    [[ -d "$gs/$m" ]] || die "$gs/$m missing (install-deps)"
    rm -rf "$work/src/vendor/$m"
    mkdir -p "$work/src/vendor/$m"
    cp -rL "$gs/$m/." "$work/src/vendor/$m/"
    find "$work/src/vendor/$m" -name '*_test.go' -delete
    log "replaced vendor/$m with Debian's $(dpkg-query -W -f='${Package} ${Version}' \
      "$( [[ $m == *reflect2 ]] && echo golang-github-modern-go-reflect2-dev || echo golang-github-json-iterator-go-dev)")"
  done

  # Version stamped into the binaries (no .git in a source package).
  local kver="v${ver##*really}"; kver="${kver%%-*}"
  mkdir -p "$work/home" "$work/gocache" "$work/tmp"
  log "building kube-apiserver and kube-controller-manager ($kver; about 4-5 min on 2 cores)..."
  (
    cd "$work/src"
    export HOME="$work/home" GOCACHE="$work/gocache" TMPDIR="$work/tmp" \
           GOPATH="$work/home/go" CGO_ENABLED=0 GOPROXY=off GOFLAGS= GO111MODULE=on \
           KUBE_GIT_VERSION="$kver" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=""
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager"
  ) >>"$blog" 2>&1 </dev/null &
  if ! heartbeat_wait $! "building" "$blog"; then
    tail -n 40 "$blog" >&2
    die "build failed (log: $blog, tree kept in $work)"
  fi
  local out
  out="$(dirname "$(find "$work/src/_output" -type f -name kube-apiserver -perm -u+x | head -n1)")"
  [[ -x "$out/kube-apiserver" && -x "$out/kube-controller-manager" ]] \
    || die "build finished but binaries not found under $work/src/_output"
  rm -rf "$dest/bin.tmp"; mkdir -p "$dest/bin.tmp"
  cp "$out/kube-apiserver" "$out/kube-controller-manager" "$dest/bin.tmp/"
  rm -rf "$dest/bin"; mv "$dest/bin.tmp" "$dest/bin"
  mv "$blog" "$dest/build.log"
  if [[ "${NETDIAG_KEEP_BUILD:-0}" != 1 ]]; then
    rm -rf "$work"; rmdir "$CACHE/build" 2>/dev/null || true
  fi
  log "built in $((SECONDS - t0))s: $("$dest/bin/kube-apiserver" --version)"
  log "cached: $dest/bin"
}

resolve_bin_dir() {
  if [[ -n "${NETDIAG_KUBE_BIN_DIR:-}" ]]; then BIN_DIR="$NETDIAG_KUBE_BIN_DIR"; return; fi
  local ver="${NETDIAG_K8S_DEB_VERSION:-}"
  [[ -z "$ver" ]] && ver="$(newest_cached_version)"
  [[ -n "$ver" ]] || die "no kube-apiserver in $CACHE; run: $0 build"
  BIN_DIR="$CACHE/kubernetes-$ver/bin"
  [[ -x "$BIN_DIR/kube-apiserver" ]] || die "$BIN_DIR/kube-apiserver missing; run: $0 build"
}

# ---------------------------------------------------------------- pki
# Certificate keys are ECDSA P-256: ~50x faster to generate than RSA 2048, which
# took >10 s for the whole PKI on a loaded 2-core machine. The service-account
# signing key stays RSA (RS256, what every token consumer expects).
gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }
gen_rsa_key() { openssl genrsa -out "$1" 2048 2>/dev/null; chmod 600 "$1"; }

# make_ca <name> <CN>
make_ca() {
  gen_key "$PKI/$1.key"
  openssl req -x509 -new -key "$PKI/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$1.crt" 2>/dev/null
}

# sign_cert [--ca <ca-name>] <name> <subject> <extensions...>
sign_cert() {
  local ca=ca
  if [[ $1 == --ca ]]; then ca=$2; shift 2; fi
  local name=$1 subj=$2; shift 2
  gen_key "$PKI/$name.key"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$@" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

gen_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  log "generating a throwaway PKI in $PKI"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  make_ca ca netdiag-controlplane-ca
  # front proxy (requestheader) CA: without it the controller-manager's delegated
  # authentication keeps failing to read the requestheader CA from
  # kube-system/extension-apiserver-authentication; aggregated APIs need it too.
  make_ca front-proxy-ca netdiag-front-proxy-ca
  local client_ext=("basicConstraints=critical,CA:FALSE"
                    "keyUsage=critical,digitalSignature,keyEncipherment"
                    "extendedKeyUsage=clientAuth")
  sign_cert apiserver "/CN=kube-apiserver" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,IP:$(first_service_ip),DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign_cert admin "/O=system:masters/CN=netdiag-admin" "${client_ext[@]}"
  sign_cert kube-controller-manager "/CN=system:kube-controller-manager" "${client_ext[@]}"
  # for a lab kubelet: apiserver -> kubelet client identity
  sign_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "${client_ext[@]}"
  sign_cert --ca front-proxy-ca front-proxy-client "/CN=front-proxy-client" "${client_ext[@]}"
  gen_rsa_key "$PKI/sa.key"
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  touch "$PKI/.complete"
}

b64() { base64 -w0 <"$1"; }

# first_service_ip: the kubernetes Service ClusterIP (network address + 1 of SERVICE_CIDR, IPv4)
first_service_ip() {
  local ip=${SERVICE_CIDR%/*} a b c d
  IFS=. read -r a b c d <<<"$ip"
  echo "$a.$b.$c.$((d + 1))"
}

write_kubeconfig() {
  # write_kubeconfig <file> <user> <cert-name>  (credentials embedded: self-contained)
  local f=$1 user=$2 cert=$3
  umask 077
  cat >"$f.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: netdiag
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$PKI/$cert.crt")
    client-key-data: $(b64 "$PKI/$cert.key")
contexts:
- name: netdiag
  context:
    cluster: netdiag
    user: $user
current-context: netdiag
EOF
  mv "$f.tmp" "$f"
  umask 022
}

# ---------------------------------------------------------------- processes
pidfile() { echo "$RUN/$1.pid"; }

# is_running <name>: the recorded PID is alive, not a zombie, and still runs our binary
is_running() {
  local name=$1 f pid state
  f="$(pidfile "$name")"
  [[ -f "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/stat" ]] || return 1
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [[ "$state" != Z && "$state" != X ]] || return 1
  # guard against a recycled PID: argv[0] must be the component we started
  local exe
  exe="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1)"
  [[ -f "$RUN/$name.bin" ]] || return 1
  [[ "$(basename -- "$exe")" == "$(basename -- "$(<"$RUN/$name.bin")")" ]]
}

# start_proc <name> <binary> <args...>: detached (own session), logs appended
start_proc() {
  local name=$1 bin=$2; shift 2
  mkdir -p "$RUN" "$LOGS"
  local logf="$LOGS/$name.log" pf
  pf="$(pidfile "$name")"
  rm -f "$pf"
  echo "$bin" >"$RUN/$name.bin"
  printf '%q ' "$bin" "$@" >"$RUN/$name.cmdline"; echo >>"$RUN/$name.cmdline"
  printf '\n===== %s starting %s =====\n' "$(date -Is)" "$name" >>"$logf"
  # The inner shell records its own PID and execs the binary, so the PID is
  # right whether or not setsid has to fork. No inherited stdio (callers that
  # read our stdout must see EOF when this script exits), and not our lock fds 8/9
  # (or the daemons would hold the state/build lock for their whole life).
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$bin" "$@" </dev/null >>"$logf" 2>&1 8>&- 9>&- &
  local i
  for i in $(seq 1 50); do [[ -s "$pf" ]] && break; sleep 0.1; done
  [[ -s "$pf" ]] || die "$name did not start (log: $logf)"
  log "started $name (pid $(<"$pf"), log $logf)"
}

# stop_proc <name>: TERM, then KILL after $STOP_GRACE seconds; only the recorded PID
stop_proc() {
  local name=$1 pf pid i
  pf="$(pidfile "$name")"
  if ! is_running "$name"; then rm -f "$pf"; return 0; fi
  pid="$(<"$pf")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((STOP_GRACE * 10))); do
    is_running "$name" || break
    sleep 0.1
  done
  if is_running "$name"; then
    # kube-apiserver closes its listener at once but then waits (up to 60 s) for
    # open HTTP/2 watch streams to end; no point waiting for that here.
    log "$name (pid $pid) still shutting down after ${STOP_GRACE}s (open watches); sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do is_running "$name" || break; sleep 0.1; done
  fi
  is_running "$name" && die "could not stop $name (pid $pid)"
  rm -f "$pf"
  log "stopped $name (pid $pid)"
}

# listening on 127.0.0.1:<port> (or any address)? Asked from the socket table, not by
# connecting: a connect to a free port inside the ephemeral range can connect to
# itself and leave a TIME-WAIT socket that then blocks the listener for 60 s.
port_listening() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }

check_port_free() {
  local port=$1 what=$2 i
  # a just-stopped process may take a moment to release the port
  for i in $(seq 1 30); do port_listening "$port" || return 0; sleep 0.2; done
  ss -Hltnp "sport = :$port" >&2 || true
  die "127.0.0.1:$port ($what) is already in use by another process; pick another port via the env var (see: $0 help)"
}

# Ports inside the kernel's ephemeral range can be taken at any moment as the
# source port of some outgoing connection on the machine; while kube-apiserver is
# down (restart-apiserver) that makes its bind fail with "address already in use".
warn_ephemeral_ports() {
  local lo hi p
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || return 0
  for p in "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT"; do
    if (( p >= lo && p <= hi )); then
      log "warning: port $p is inside the ephemeral port range $lo-$hi; outgoing connections may take it (restarts can then fail to bind). Prefer ports below $lo."
    fi
  done
}

fail_with_log() {
  local name=$1 msg=$2
  {
    echo "----- last 40 lines of $LOGS/$name.log -----"
    tail -n 40 "$LOGS/$name.log" 2>/dev/null || true
    echo "-----"
    if tail -n 40 "$LOGS/$name.log" 2>/dev/null | grep -q 'address already in use'; then
      echo "sockets on our ports (a non-listening socket here is an outgoing connection that took the port):"
      ss -tanp "( sport = :$ETCD_PORT or sport = :$ETCD_PEER_PORT or sport = :$APISERVER_PORT or sport = :$KCM_PORT )" 2>/dev/null || true
    fi
  } >&2
  die "$msg"
}

curl_api() {
  curl -sS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1"
}

# wait_until <name-for-log> <description> <command...>
wait_until() {
  local name=$1 what=$2; shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$name" ]] && ! is_running "$name"; then
      fail_with_log "$name" "$name exited while waiting for $what"
    fi
    if (( SECONDS >= deadline )); then
      fail_with_log "${name:-kube-apiserver}" "timed out after ${TIMEOUT}s waiting for $what"
    fi
    sleep 0.5
  done
}

etcd_healthy() { curl -sf --max-time 3 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { [[ "$(curl_api /readyz 2>/dev/null)" == ok ]]; }
kcm_healthy() { [[ "$(curl -sk --max-time 3 "https://127.0.0.1:$KCM_PORT/healthz" 2>/dev/null)" == ok ]]; }
# the token controller has given the default ServiceAccount its token secret, so
# Pods (and Jobs' Pods) are admitted right away
default_sa_ready() { curl_api /api/v1/namespaces/default/serviceaccounts/default | grep -q '"secrets"'; }

start_etcd() {
  check_port_free "$ETCD_PORT" "etcd client"
  check_port_free "$ETCD_PEER_PORT" "etcd peer"
  mkdir -p "$STATE/etcd"; chmod 700 "$STATE/etcd"
  start_proc etcd /usr/bin/etcd \
    --name=netdiag \
    --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="netdiag=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state=new \
    --auto-compaction-retention=1 \
    --quota-backend-bytes=$((1024 * 1024 * 1024))
  wait_until etcd "etcd health" etcd_healthy
}

start_apiserver() {
  check_port_free "$APISERVER_PORT" "kube-apiserver"
  mkdir -p "$STATE/apiserver-certs"
  start_proc kube-apiserver "$BIN_DIR/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --insecure-port=0 \
    --cert-dir="$STATE/apiserver-certs" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-key-file="$PKI/sa.pub" \
    --authorization-mode=Node,RBAC \
    --allow-privileged=true \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --endpoint-reconciler-type=none \
    --feature-gates=TTLAfterFinished=true \
    --profiling=false \
    --v=1
  wait_until kube-apiserver "kube-apiserver /readyz" apiserver_ready
}

start_kcm() {
  check_port_free "$KCM_PORT" "kube-controller-manager"
  mkdir -p "$STATE/kcm-certs"
  start_proc kube-controller-manager "$BIN_DIR/kube-controller-manager" \
    --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --port=0 \
    --cert-dir="$STATE/kcm-certs" \
    --leader-elect=false \
    --use-service-account-credentials=true \
    --controllers='*' \
    --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --feature-gates=TTLAfterFinished=true \
    --profiling=false \
    --v=1
  wait_until kube-controller-manager "kube-controller-manager /healthz" kcm_healthy
}

all_healthy() {
  is_running etcd && is_running kube-apiserver && is_running kube-controller-manager \
    && apiserver_ready && kcm_healthy
}

cmd_up() {
  local t0=$SECONDS
  load_config
  if [[ -f "$STATE/config" ]] && all_healthy; then
    log "already running and healthy"
    echo "$KUBECONFIG_OUT"
    return 0
  fi
  command -v etcd >/dev/null && command -v openssl >/dev/null && command -v curl >/dev/null \
    || ensure_deps
  [[ -n "$BIN_DIR" && -x "$BIN_DIR/kube-apiserver" ]] || resolve_bin_dir
  mkdir -p "$STATE"; chmod 755 "$STATE"
  save_config
  warn_ephemeral_ports
  gen_pki
  write_kubeconfig "$KUBECONFIG_OUT" netdiag-admin admin
  write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  is_running etcd || start_etcd
  is_running kube-apiserver || start_apiserver
  wait_until kube-apiserver "kube-apiserver /readyz" apiserver_ready
  is_running kube-controller-manager || start_kcm
  wait_until kube-controller-manager "kube-controller-manager /healthz" kcm_healthy
  wait_until kube-controller-manager "the default ServiceAccount token in namespace default" default_sa_ready
  log "control plane up in $((SECONDS - t0))s: https://127.0.0.1:$APISERVER_PORT ($("$BIN_DIR/kube-apiserver" --version))"
  log "  export KUBECONFIG=$KUBECONFIG_OUT"
  echo "$KUBECONFIG_OUT"
}

cmd_down() {
  load_config
  if [[ -d "$RUN" ]]; then
    # reverse order: clients first
    stop_proc kube-controller-manager
    stop_proc kube-apiserver
    stop_proc etcd
  fi
  if [[ -d "$STATE" ]]; then
    # delete only what looks like our state dir (NETDIAG_CP_DIR could point anywhere)
    if [[ "$(cd "$STATE" && pwd -P)" != / && ( -f "$STATE/config" || -d "$RUN" || -d "$PKI" ) ]]; then
      rm -rf "$STATE"
      log "removed $STATE"
    else
      rm -f "$STATE/.lock"
      rmdir "$STATE" 2>/dev/null || log "left $STATE in place: it does not look like a control-plane state dir"
    fi
  fi
  log "down"
}

require_up_state() {
  load_config
  [[ -f "$STATE/config" ]] || die "no control plane state in $STATE; run: $0 up"
  [[ -n "$BIN_DIR" ]] || resolve_bin_dir
}

cmd_stop_apiserver() { require_up_state; stop_proc kube-apiserver; }

cmd_start_apiserver() {
  require_up_state
  is_running etcd || die "etcd is not running; run: $0 up"
  if is_running kube-apiserver; then
    wait_until kube-apiserver "kube-apiserver /readyz" apiserver_ready
    log "kube-apiserver already running"
    return 0
  fi
  local t0=$SECONDS
  start_apiserver
  log "kube-apiserver ready in $((SECONDS - t0))s"
}

cmd_restart_apiserver() {
  require_up_state
  stop_proc kube-apiserver
  cmd_start_apiserver
}

cmd_status() {
  load_config
  if [[ ! -f "$STATE/config" ]]; then echo "not running (no state in $STATE)"; return 1; fi
  local n rc=0
  for n in etcd kube-apiserver kube-controller-manager; do
    if is_running "$n"; then printf '%-24s running (pid %s)\n' "$n" "$(<"$(pidfile "$n")")"
    else printf '%-24s stopped\n' "$n"; rc=1; fi
  done
  if apiserver_ready; then echo "readyz                   ok  https://127.0.0.1:$APISERVER_PORT"
  else echo "readyz                   not ready"; rc=1; fi
  echo "kubeconfig               $KUBECONFIG_OUT"
  echo "state                    $STATE"
  echo "binaries                 $BIN_DIR"
  return "$rc"
}

cmd_env() {
  echo "export KUBECONFIG=$KUBECONFIG_OUT"
}

# Serialise commands that change one state dir (e.g. the demo and a human both
# running `up`). The lock file lives inside the state dir and goes with `down`.
lock_state() {
  mkdir -p "$STATE"
  exec 8>"$STATE/.lock"
  flock -n 8 && return 0
  if daemons_hold_lock; then
    log "the lock $STATE/.lock was inherited by this control plane's own daemons (started by an older controlplane.sh); going ahead without it"
    return 0
  fi
  log "waiting for another controlplane.sh command on $STATE (lock $STATE/.lock)..."
  if ! flock -w "$((TIMEOUT * 2))" 8; then
    die "another controlplane.sh command holds $STATE/.lock"
  fi
}

# Does one of our recorded daemons have the state lock file open (leaked fd)?
daemons_hold_lock() {
  local n pid lock
  lock="$(readlink -f "$STATE/.lock")"
  for n in etcd kube-apiserver kube-controller-manager; do
    is_running "$n" || continue
    pid="$(<"$(pidfile "$n")")"
    if find "/proc/$pid/fd" -maxdepth 1 -lname "$lock" 2>/dev/null | grep -q .; then return 0; fi
  done
  return 1
}

lock_state_if_exists() { if [[ -d "$STATE" ]]; then lock_state; fi; }

main() {
  case "${1:-}" in
    install-deps)      cmd_install_deps ;;
    build)             cmd_build ;;
    up)                lock_state; cmd_up ;;
    down)              lock_state_if_exists; cmd_down ;;
    status)            cmd_status ;;
    env)               cmd_env ;;
    restart-apiserver) lock_state_if_exists; cmd_restart_apiserver ;;
    stop-apiserver)    lock_state_if_exists; cmd_stop_apiserver ;;
    start-apiserver)   lock_state_if_exists; cmd_start_apiserver ;;
    -h|--help|help)    usage ;;
    *)                 usage >&2; exit 2 ;;
  esac
}

# Everything above is functions; bash has parsed this whole line before main runs,
# so editing this file while a long `build` is running cannot derail that run.
main "$@"; exit $?
