#!/usr/bin/env bash
# Benchmark the credential_process hit path, in one go, against its floors:
#
#   cat of the same credentials JSON          the file floor
#   secret-tool lookup of the keychain entry   the D-Bus (Secret Service) floor
#   keyctl pipe of the hot-tier key            the kernel keyutils floor
#   awsx credential-process, hot tier hit      small config, and a 4,000-profile config
#                                              (from the profile cache, and uncached)
#   awsx credential-process, keychain hit      AWSX_HOT_TIER=off (Secret Service read)
#
# plus peak RSS of a hit (/usr/bin/time), the connect() calls a hit makes (strace: a hit
# must not open a D-Bus connection), and the stripped release binaries' sizes. A hit is
# answered by the small `awsx` front binary; the keychain read (hot tier off) is handed to
# awsx-main, so it includes that exec.
# Everything runs against the bundled emulator in a throwaway HOME and private keychain.
#
# Usage: bench/credential-process.sh      (RUNS=… overrides the 300 runs per command)
# Needs hyperfine, strace, python3 and GNU time (installed with apt-get when missing as root).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}

if [ -z "${AWSX_TEST_KEYCHAIN_READY:-}" ]; then
  missing=()
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  command -v strace >/dev/null || missing+=(strace)
  [ -x /usr/bin/time ] || missing+=(time)
  if ((${#missing[@]})) && [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
  cargo build --quiet --release -p awsx --bins
  cargo build --quiet --release -p awsx-emulator --bin awsx-emulator
  exec scripts/with-keychain "$0" "$@"
fi

bin="${CARGO_TARGET_DIR:-$PWD/target}/release"
work=$(mktemp -d "${TMPDIR:-/tmp}/awsx-bench.XXXXXX")
cleanup() {
  if [ -n "${emulator_pid:-}" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/awsx-emulator" --auto-approve 0 --print-env >"$work/emulator.out" &
emulator_pid=$!
for _ in $(seq 1 100); do grep -q AWSX_SIGNIN_ENDPOINT "$work/emulator.out" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '^export ' "$work/emulator.out")
export HOME="$work/home" XDG_CACHE_HOME="$work/home/.cache" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
export AWSX_KEYCHAIN_SERVICE="awsx-bench-$$" AWSX_BROWSER=none AWSX_KEYCHAIN=secret-service
small="$work/small-config" big="$work/big-config"
mkdir -p "$HOME"

profile='
[profile sandbox-admin]
credential_process = awsx credential-process --profile sandbox-admin
awsx_sso_session = acme
awsx_account_id = 200000000002
awsx_role_name = AdministratorAccess
region = us-east-1
'
AWS_CONFIG_FILE="$small" "$bin/awsx" configure --name acme --start-url https://d-90679a1b2c.awsapps.com/start --sso-region us-east-1 2>/dev/null
printf '%s' "$profile" >>"$small"
# 4,000 synced-looking profiles, the one we ask for last (the worst case for a scan).
python3 - "$small" "$big" <<'PY'
import sys
small, big = sys.argv[1], sys.argv[2]
text = open(small).read()
head, prof = text.split("\n[profile sandbox-admin]", 1)
out = [head]
for i in range(4000):
    out.append(f"\n[profile acct{i:04d}-readonly]\ncredential_process = awsx credential-process --profile acct{i:04d}-readonly\n"
               f"awsx_sso_session = acme\nawsx_account_id = {100000000000 + i}\nawsx_role_name = ReadOnlyAccess\nregion = us-east-1\n")
out.append("\n[profile sandbox-admin]" + prof)
open(big, "w").write("".join(out))
PY

export AWS_CONFIG_FILE="$small"
"$bin/awsx" login --sso-session acme --no-browser 2>/dev/null
"$bin/awsx" credential-process --profile sandbox-admin >"$work/creds.json"
entry="role:acme/200000000002/AdministratorAccess"
secret-tool lookup service "$AWSX_KEYCHAIN_SERVICE" username "$entry" >/dev/null
# The same credentials in the hot tier: a bare keyutils read of that key is keyctl's floor.
# The key grants read to its possessor only: link the user keyring into this (private)
# session keyring, as awsx's own reads do, so that keyctl possesses it too.
keyctl link @u @s
hot_key=$(keyctl search @u user "awsx-hot:$AWSX_KEYCHAIN_SERVICE:$entry")
if ! keyctl pipe "$hot_key" >/dev/null; then
  echo "keyctl pipe $hot_key failed:"; keyctl describe "$hot_key" || true
  exit 1
fi

echo "config sizes: small $(wc -c <"$small") bytes, big $(wc -c <"$big") bytes ($(grep -c '^\[profile' "$big") profiles)"
# awsx remembers how a profile resolved in a big config once the file has not changed for
# 2 s: let it settle and make the call that fills the cache. The uncached case is measured
# too, with `touch` before each run (a new ctime: the entry no longer matches, and a file
# changed that recently is read, never remembered).
sleep 2.1
AWS_CONFIG_FILE="$big" "$bin/awsx" credential-process --profile sandbox-admin >/dev/null
# One --prepare per command, in order (a no-op for all but the uncached big-config run).
hyperfine -N --warmup 30 --runs "$RUNS" --export-json "$work/hyperfine.json" \
  --prepare true --prepare true --prepare true --prepare true --prepare true \
  --prepare "touch $big" --prepare true --prepare true \
  -n cat "cat $work/creds.json" \
  -n secret-tool "secret-tool lookup service $AWSX_KEYCHAIN_SERVICE username $entry" \
  -n keyctl "keyctl pipe $hot_key" \
  -n awsx-hit-small "env AWS_CONFIG_FILE=$small $bin/awsx credential-process --profile sandbox-admin" \
  -n awsx-hit-4000 "env AWS_CONFIG_FILE=$big $bin/awsx credential-process --profile sandbox-admin" \
  -n awsx-hit-4000-uncached "env AWS_CONFIG_FILE=$big $bin/awsx credential-process --profile sandbox-admin" \
  -n awsx-keychain-small "env AWS_CONFIG_FILE=$small AWSX_HOT_TIER=off $bin/awsx credential-process --profile sandbox-admin" \
  -n env-cat "env AWS_CONFIG_FILE=$small cat $work/creds.json" >/dev/null

python3 - "$work/hyperfine.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
def ms(name): return res[name]["median"] * 1000
base = ms("cat")
print(f"\n{'command':22} {'p50 ms':>8} {'mean ms':>8} {'p50 / cat':>10}")
for name, r in res.items():
    print(f"{name:22} {ms(name):8.2f} {r['mean']*1000:8.2f} {ms(name)/base:10.2f}")
print(f"\nawsx hit (small) / env+cat: {ms('awsx-hit-small')/ms('env-cat'):.2f}  (both start through /usr/bin/env)")
print(f"awsx hit (4000) / env+cat:  {ms('awsx-hit-4000')/ms('env-cat'):.2f}")
print(f"awsx hit (4000, uncached) / env+cat:  {ms('awsx-hit-4000-uncached')/ms('env-cat'):.2f}")
print(f"awsx keychain hit / secret-tool: {ms('awsx-keychain-small')/ms('secret-tool'):.2f}")
print(f"awsx hot-tier hit (small) / keyctl: {ms('awsx-hit-small')/ms('keyctl'):.2f}")
PY

for config in "$small" "$big"; do
  rss=$(AWS_CONFIG_FILE="$config" /usr/bin/time -f %M "$bin/awsx" credential-process --profile sandbox-admin 2>&1 >/dev/null)
  echo "peak RSS of a hit with $(basename "$config"): ${rss} KiB"
done
rss=$(AWSX_HOT_TIER=off /usr/bin/time -f %M "$bin/awsx" credential-process --profile sandbox-admin 2>&1 >/dev/null)
echo "peak RSS of a keychain hit (hot tier off): ${rss} KiB"

strace -f -qq -e trace=connect -o "$work/strace.hit" "$bin/awsx" credential-process --profile sandbox-admin >/dev/null
echo "connect() calls on a hot-tier hit: $(grep -c 'connect(' "$work/strace.hit" || true)"
AWSX_HOT_TIER=off strace -f -qq -e trace=connect -o "$work/strace.keychain" "$bin/awsx" credential-process --profile sandbox-admin >/dev/null
echo "connect() calls on a keychain hit: $(grep -c 'connect(' "$work/strace.keychain" || true) ($(grep -o 'sun_path="[^"]*"' "$work/strace.keychain" | sort -u | tr '\n' ' '))"

for b in awsx awsx-main; do
  size=$(stat -c %s "$bin/$b")
  echo "release binary $b: $size bytes ($(python3 -c "print(round($size/1e6, 2))") MB, stripped by the release profile)"
done
