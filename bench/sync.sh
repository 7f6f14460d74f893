#!/usr/bin/env bash
# Benchmark `awsx sync` at the scale it promises: 1,000 accounts x 4 roles, 5 ms latency on
# every request and 10 % of the listing calls (ListAccounts, ListAccountRoles) throttled.
# Target: 3 s for the release build. (tests/it/sync.rs checks what such a sync writes; the
# time is measured here, since the test suite makes no timed assertions.)
#
# Usage: bench/sync.sh            (RUNS=… overrides the 5 runs; PROFILE=debug for a debug build)
# Against the bundled emulator, in a throwaway HOME and a private keychain session.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-release}

if [ -z "${AWSX_TEST_KEYCHAIN_READY:-}" ]; then
  flag=()
  [ "$PROFILE" = release ] && flag=(--release)
  # One command per line: `set -e` does not stop inside an `a && b` list.
  cargo build --quiet "${flag[@]}" -p awsx -p awsx-front --bins
  cargo build --quiet "${flag[@]}" -p awsx-emulator --bin awsx-emulator
  target=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  export AWSX_BENCH_BIN="$target/$PROFILE"
  exec scripts/with-keychain "$0" "$@"
fi

bin="$AWSX_BENCH_BIN"
work=$(mktemp -d "${TMPDIR:-/tmp}/awsx-bench-sync.XXXXXX")
cleanup() {
  if [ -n "${emulator_pid:-}" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The world of Fixture::generated(1000, 4): account-0001… with ids from 700000000000, alice
# assigned every role.
python3 - "$work/fixture.toml" <<'PY'
import sys
roles = ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "Billing"]
out = ['start_url = "https://d-90679a1b2c.awsapps.com/start"', 'sso_region = "us-east-1"', ""]
ids = []
for i in range(1000):
    ident = f"{700000000000 + i:012d}"
    ids.append(ident)
    out += ["[[accounts]]", f'id = "{ident}"', f'name = "account-{i + 1:04d}"',
            f'email = "aws+account-{i + 1:04d}@example.com"']
    for r in roles:
        out += ["[[accounts.roles]]", f'name = "{r}"', 'trust = { type = "permission_set" }']
out += ["[[users]]", 'name = "alice"', 'email = "alice@example.com"', "[users.assignments]"]
out += [f'"{ident}" = {roles!r}'.replace("'", '"') for ident in ids]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY

"$bin/awsx-emulator" --fixture "$work/fixture.toml" --auto-approve 0 --print-env >"$work/emulator.out" &
emulator_pid=$!
for _ in $(seq 1 100); do grep -q AWSX_SIGNIN_ENDPOINT "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '^export ' "$work/emulator.out")
url=$(head -n 1 "$work/emulator.out")
control() { python3 -c 'import sys, urllib.request as u
u.urlopen(u.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"content-type": "application/json"}))' "$@"; }

export HOME="$work/home" AWS_CONFIG_FILE="$work/home/.aws/config"
export XDG_CACHE_HOME="$work/home/.cache" XDG_CONFIG_HOME="$work/home/.config"
export AWSX_KEYCHAIN_SERVICE="awsx-bench-sync-$$" AWSX_BROWSER=none
mkdir -p "$HOME"
"$bin/awsx" configure --name acme --start-url https://d-90679a1b2c.awsapps.com/start --sso-region us-east-1 2>/dev/null
"$bin/awsx" login --sso-session acme --no-browser >/dev/null 2>&1

control "$url/_emulator/latency" '{"millis":5}'
control "$url/_emulator/fault" '{"op":"ListAccounts","fault":"Throttle","rate":0.1}'
control "$url/_emulator/fault" '{"op":"ListAccountRoles","fault":"Throttle","rate":0.1}'

echo "awsx sync, 1000 accounts x 4 roles, 5 ms latency, 10 % throttled ($PROFILE build, $RUNS runs):"
times=()
for _ in $(seq 1 "$RUNS"); do
  started=$(date +%s.%N)
  "$bin/awsx" sync >"$work/sync.out" 2>&1 || { cat "$work/sync.out" >&2; exit 1; }
  times+=("$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$started" "$(date +%s.%N)")")
done
tail -n 1 "$work/sync.out"
python3 - "${times[@]}" <<'PY'
import statistics, sys
t = sorted(float(x) for x in sys.argv[1:])
print(f"  runs: {' '.join(f'{x:.2f}' for x in t)} s; median {statistics.median(t):.2f} s, max {t[-1]:.2f} s (target 3 s, release)")
PY
