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
# must not open a D-Bus connection), and the stripped release binaries' sizes.
#
# Then a cache hit against `cat` on the four Linux keychain setups a developer has, each
# logged in afresh in its own HOME and keychain service (target p50 <= 1.5x cat,
# nothing on stderr):
#   (a) the Secret Service (gnome-keyring on the session bus)
#   (b) no D-Bus session at all (DBUS_SESSION_BUS_ADDRESS unset: keyutils)
#   (c) a D-Bus session whose Secret Service cannot start (its activation hangs)
#   (d) an unprivileged user (20,000-byte keyutils quota) who has used 80 roles: the hit
#       is on the role used last (run as the system user awsx-ci when started as root)
# (c) takes seconds per call until the keychain choice is remembered at login: it gets
# RUNS_SLOW (10) runs. A hit is
# answered by the small `awsx` front binary; the keychain read (hot tier off) is handed to
# awsx-main, so it includes that exec.
# Everything runs against the bundled emulator in a throwaway HOME and private keychain.
#
# Usage: bench/credential-process.sh      (RUNS=… overrides the 300 runs per command)
# Needs hyperfine, strace, python3 and GNU time (installed with apt-get when missing as root).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
RUNS_SLOW=${RUNS_SLOW:-10}
bin="${CARGO_TARGET_DIR:-$PWD/target}/release"

# (d), the part run as the unprivileged user inside its own scripts/with-keychain:
# `--unprivileged WORK`, with the emulator's variables in WORK/emulator.env.
if [ "${1:-}" = --unprivileged ]; then
  work=$2
  # shellcheck disable=SC1091
  source "$work/emulator.env"
  home=$(mktemp -d "${TMPDIR:-/tmp}/awsx-bench-user.XXXXXX")
  # logout --all also empties the hot tier: 80 live entries would hold the user's key
  # quota for an hour.
  trap '"$bin/awsx" logout --all >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
  export HOME="$home" XDG_CACHE_HOME="$home/.cache" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
  export AWSX_KEYCHAIN_SERVICE="awsx-bench-d-$$" AWSX_BROWSER=none AWS_CONFIG_FILE="$home/config"
  "$bin/awsx" configure --name acme --start-url https://d-90679a1b2c.awsapps.com/start --sso-region us-east-1 2>/dev/null
  # 80 roles: AdministratorAccess in the 80 accounts the bench adds to the fixture.
  for i in $(seq 1 80); do
    printf '\n[profile role%02d]\nawsx_sso_session = acme\nawsx_account_id = %012d\nawsx_role_name = AdministratorAccess\nregion = us-east-1\n' "$i" $((700000000000 + i)) >>"$AWS_CONFIG_FILE"
  done
  "$bin/awsx" login --sso-session acme --no-browser 2>/dev/null
  for i in $(seq 1 80); do
    "$bin/awsx" credential-process --profile "$(printf role%02d "$i")" >"$work/d-creds.json"
  done
  echo "(d) as $(id -un): keyutils quota in use after 80 roles: $(grep "^ *$(id -u):" /proc/key-users)"
  "$bin/awsx" credential-process --profile role80 2>"$work/d-stderr" >/dev/null
  hyperfine -N --warmup 30 --runs "$RUNS" --export-json "$work/d.json" \
    -n cat "cat $work/d-creds.json" \
    -n d-unprivileged-80-roles "$bin/awsx credential-process --profile role80" >/dev/null
  exit 0
fi

if [ -z "${AWSX_TEST_KEYCHAIN_READY:-}" ]; then
  missing=()
  command -v hyperfine >/dev/null || missing+=(hyperfine)
  command -v strace >/dev/null || missing+=(strace)
  [ -x /usr/bin/time ] || missing+=(time)
  if ((${#missing[@]})) && [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
  cargo build --quiet --release -p awsx -p awsx-front --bins
  cargo build --quiet --release -p awsx-emulator --bin awsx-emulator
  exec scripts/with-keychain "$0" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/awsx-bench.XXXXXX")
cleanup() {
  if [ -n "${emulator_pid:-}" ]; then kill "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The default fixture plus 80 accounts with AdministratorAccess for alice, for (d).
python3 - tests/emulator/fixtures/default.toml "$work/fixture.toml" <<'PY'
import sys
text = open(sys.argv[1]).read()
accounts = "".join(
    f'[[accounts]]\nid = "{700000000000 + i:012d}"\nname = "bench-{i:02d}"\nemail = "aws+bench-{i:02d}@example.com"\n\n'
    f'[[accounts.roles]]\nname = "AdministratorAccess"\ntrust = {{ type = "permission_set" }}\n\n'
    for i in range(1, 81))
assignments = "".join(f'"{700000000000 + i:012d}" = ["AdministratorAccess"]\n' for i in range(1, 81))
head, users = text.split("[[users]]", 1)
alice, rest = users.split("\n\n", 1)
open(sys.argv[2], "w").write(head + accounts + "[[users]]" + alice + "\n" + assignments + "\n" + rest)
PY
"$bin/awsx-emulator" --fixture "$work/fixture.toml" --auto-approve 0 --print-env >"$work/emulator.out" &
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

# ---------------------------------------------------------------------------------------
# The four keychain setups: a hit against cat, and what a hit prints on stderr.
setup_case() { # NAME: a fresh HOME and keychain service, logged in, one role fetched
  local name=$1
  export HOME="$work/home-$name" XDG_CACHE_HOME="$work/home-$name/.cache" XDG_CONFIG_HOME="$work/home-$name/.config" XDG_DATA_HOME="$work/home-$name/.local/share"
  export AWSX_KEYCHAIN_SERVICE="awsx-bench-$name-$$" AWS_CONFIG_FILE="$work/config-$name"
  mkdir -p "$HOME"
  "$bin/awsx" configure --name acme --start-url https://d-90679a1b2c.awsapps.com/start --sso-region us-east-1 2>/dev/null
  printf '%s' "$profile" >>"$AWS_CONFIG_FILE"
  "$bin/awsx" login --sso-session acme --no-browser 2>"$work/$name-login-stderr"
  "$bin/awsx" credential-process --profile sandbox-admin >"$work/$name-creds.json"
  "$bin/awsx" credential-process --profile sandbox-admin 2>"$work/$name-stderr" >/dev/null
}
case_hyperfine() { # NAME RUNS: cat against a hit, in the environment setup_case exported
  local name=$1 runs=$2
  hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/$name.json" \
    -n cat "cat $work/$name-creds.json" \
    -n "$name" "$bin/awsx credential-process --profile sandbox-admin" >/dev/null
}
saved_home=$HOME saved_config=$AWS_CONFIG_FILE saved_service=$AWSX_KEYCHAIN_SERVICE
unset AWSX_KEYCHAIN # auto, as users have it

setup_case a-secret-service
case_hyperfine a-secret-service "$RUNS"

bus=$DBUS_SESSION_BUS_ADDRESS
unset DBUS_SESSION_BUS_ADDRESS
setup_case b-no-dbus
case_hyperfine b-no-dbus "$RUNS"

# A session bus on which org.freedesktop.secrets can be activated but never starts.
mkdir -p "$work/bus/services"
printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sleep 120\n' >"$work/bus/services/org.freedesktop.secrets.service"
cat >"$work/bus/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus/socket</listen>
  <servicedir>$work/bus/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$work/bus/bus.conf" --fork --print-pid >"$work/bus/pid"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/bus/socket"
setup_case c-dead-secret-service
case_hyperfine c-dead-secret-service "$RUNS_SLOW"
"$bin/awsx" logout --all >/dev/null 2>&1 || true
kill "$(cat "$work/bus/pid")" 2>/dev/null || true
export DBUS_SESSION_BUS_ADDRESS=$bus

export HOME=$saved_home AWS_CONFIG_FILE=$saved_config AWSX_KEYCHAIN_SERVICE=$saved_service AWSX_KEYCHAIN=secret-service
export XDG_CACHE_HOME="$HOME/.cache" XDG_CONFIG_HOME="$HOME/.config" XDG_DATA_HOME="$HOME/.local/share"

grep '^export ' "$work/emulator.out" >"$work/emulator.env"
chmod 755 "$work"
chmod 644 "$work/emulator.env"
if [ "$(id -u)" = 0 ]; then
  user=${AWSX_TEST_USER:-awsx-ci}
  id "$user" >/dev/null 2>&1 || useradd --system --create-home --home-dir "/var/lib/$user" --shell /usr/sbin/nologin "$user"
  touch "$work/d.json" "$work/d-stderr" "$work/d-creds.json"
  chown "$user" "$work/d.json" "$work/d-stderr" "$work/d-creds.json"
  setpriv --reuid "$user" --regid "$user" --init-groups \
    env -i HOME="/var/lib/$user" USER="$user" TMPDIR=/tmp PATH=/usr/local/bin:/usr/bin:/bin \
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" RUNS="$RUNS" \
    "$PWD/scripts/with-keychain" "$PWD/bench/credential-process.sh" --unprivileged "$work"
else
  scripts/with-keychain "$0" --unprivileged "$work"
fi

echo
echo "A hit on each keychain setup against cat of the same JSON (target: p50 <= 1.5x cat):"
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
print(f"{'setup':28} {'hit p50':>9} {'cat p50':>9} {'ratio':>6}  stderr on a hit")
for name, errfile in [("a-secret-service", "a-secret-service-stderr"), ("b-no-dbus", "b-no-dbus-stderr"),
                      ("c-dead-secret-service", "c-dead-secret-service-stderr"), ("d", "d-stderr")]:
    path = os.path.join(work, name + ".json")
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        print(f"{name:28} (not measured)")
        continue
    res = json.load(open(path))["results"]
    cat = [r for r in res if r["command"] == "cat"][0]["median"] * 1000
    hit = [r for r in res if r["command"] != "cat"][0]
    label = hit["command"]
    err = open(os.path.join(work, errfile), errors="replace").read().strip()
    err = f"{len(err)} bytes: {err.splitlines()[0][:90]}" if err else "none"
    print(f"{label:28} {hit['median']*1000:8.2f}ms {cat:8.2f}ms {hit['median']*1000/cat:6.2f}  {err}")
PY
echo

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
