#!/usr/bin/env bash
# Installs the Debian packages that the tests, the lab and the demo need. Idempotent: a package
# already present is not reinstalled, so a warm machine pays one dpkg query.
set -euo pipefail

packages=(
  iproute2 iptables kmod util-linux procps psmisc  # lab nodes: netns, veth, vxlan, nsenter/unshare, sysctl
  iputils-ping dnsmasq-base busybox                             # lab CoreDNS stand-in (DNS) and 9153 metrics listener
  conntrack                                        # conntrack fault and the probe image
  etcd-server golang-go openssl dpkg-dev make      # the control plane, built from Debian's kubernetes source
  golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev
  tzdata ca-certificates curl
  gcc zlib1g-dev                                   # links the NativeAOT probe used by the lab, the e2e tests and the demo
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lab's bridgeNetfilter fault needs br_netfilter; the conntrack fault needs nf_conntrack.
# br_netfilter may be built in (no /lib/modules): then /proc/sys/net/bridge exists and modprobe failing is fine.
modprobe br_netfilter 2>/dev/null || [[ -d /proc/sys/net/bridge ]] || echo "install-deps: note: br_netfilter not available here" >&2
modprobe nf_conntrack 2>/dev/null || true
command -v dotnet >/dev/null || { echo "install-deps: the .NET SDK (dotnet) is required" >&2; exit 1; }
echo "install-deps: ok"
