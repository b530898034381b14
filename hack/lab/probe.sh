#!/usr/bin/env bash
# Prints the path of a NativeAOT build of the probe (netdiag-probe), building it when the probe's
# sources changed. The lab kubelet runs this binary for probe pods, as the probe image does: no
# JIT at start, so the probe's per-target budgets (1 s) measure the network, not the compiler.
#
#   hack/lab/probe.sh            # build if needed, print the binary's path on stdout
#   NETDIAG_PROBE_AOT_DIR=...    # cache folder (default /var/cache/netdiag/probe-aot)
#
# Cached by a hash of src/Probes and src/Entities, so a second run (or CI on a warm machine)
# takes a second. Needs a C toolchain for the native link (gcc; clang works too).
set -euo pipefail
cd "$(dirname "$0")/../.."

cache="${NETDIAG_PROBE_AOT_DIR:-/var/cache/netdiag/probe-aot}"
log() { printf '[probe-aot %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

hash="$( { find src/Probes src/Entities Directory.Build.props Directory.Packages.props -type f \
            \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' -o -name '*.txt' \) \
            -not -path '*/bin/*' -not -path '*/obj/*' -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
out="$cache/$hash"
if [[ -x "$out/netdiag-probe" ]]; then
  log "cached: $out/netdiag-probe"
  echo "$out/netdiag-probe"
  exit 0
fi

linker=()
if ! command -v clang >/dev/null 2>&1; then
  command -v gcc >/dev/null 2>&1 || { log "no clang or gcc: cannot link a NativeAOT binary (apt-get install gcc)"; exit 1; }
  linker=(-p:CppCompilerAndLinker=gcc)
fi

mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock 9
if [[ -x "$out/netdiag-probe" ]]; then echo "$out/netdiag-probe"; exit 0; fi

log "publishing the probe with NativeAOT into $out (a few minutes on 2 cores the first time)..."
tmp="$cache/.tmp-$hash"
rm -rf "$tmp"
t0=$SECONDS
# own build slot: never collides with a developer's or the test run's obj folders
NETDIAG_BUILD_SLOT=probe-aot dotnet publish src/Probes/NetDiag.Probes.csproj -c Release -r linux-x64 \
  "${linker[@]}" -o "$tmp" -v q --nologo >"$cache/build.log" 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
  sleep 5
  (( (SECONDS - t0) % 30 < 5 )) && log "  still compiling... $((SECONDS - t0))s"
done
if ! wait "$pid"; then
  tail -n 30 "$cache/build.log" >&2
  log "NativeAOT publish failed (log: $cache/build.log)"
  exit 1
fi
rm -f "$tmp"/*.dbg
mv "$tmp" "$out"
# keep only the newest few builds
ls -1dt "$cache"/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
log "built in $((SECONDS - t0))s: $out/netdiag-probe"
echo "$out/netdiag-probe"
