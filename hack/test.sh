#!/usr/bin/env bash
# Runs every test project, one after another: several of them start a real control plane and a
# network-namespace lab, which must not run side by side on a 2-core machine.
# Usage: hack/test.sh [extra dotnet test args, e.g. --filter FullyQualifiedName~Probe]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "test: the lab and control-plane tests need root (network namespaces, iptables); run it as root: make test" >&2
  exit 1
fi

hack/install-deps.sh
echo "test: building the control plane (cached after the first build)"
hack/controlplane/controlplane.sh build

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build NetDiag.Operator.sln -c Debug -v q --nologo

passed=0 failed=0 skipped=0 status=0
mapfile -t projects < <(find tests -name '*.Tests.csproj' | sort)
for p in "${projects[@]}"; do
  echo "test: $p"
  log=$(mktemp)
  if ! dotnet test "$p" --no-build -v q --nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"; then status=1; fi
  # Either the one-line summary ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12") or the
  # block the normal-verbosity console logger prints ("Total tests: 12" / "  Passed: 12" / "  Failed: 1").
  read -r f pa s < <(awk '
    /Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
      line = $0; sub(/.*Failed: +/, "", line); split(line, a, /[^0-9]+/); lf += a[1]; lp += a[2]; ls += a[3]; one = 1; next }
    /^ +Passed: +[0-9]+$/  { bp += $2 }
    /^ +Failed: +[0-9]+$/  { bf += $2 }
    /^ +Skipped: +[0-9]+$/ { bs += $2 }
    END { if (one) print lf+0, lp+0, ls+0; else print bf+0, bp+0, bs+0 }' "$log")
  passed=$((passed + pa)); failed=$((failed + f)); skipped=$((skipped + s))
  rm -f "$log"
done

echo "tests: $passed passed, $failed failed, $skipped skipped"
if ((failed > 0 || status != 0)); then exit 1; fi
if ((passed == 0)); then echo "test: no test ran" >&2; exit 1; fi
