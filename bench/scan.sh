#!/usr/bin/env bash
# Benchmark `awsx scan` against ripgrep over a generated tree.
#
# The tree (default 100,000 files, about 1 GB) is made once in a temp dir and deleted at the
# end. It looks like a directory of checkouts: 100 git repositories of mostly text source
# files of varied size, some binary assets, gitignored build output (target/) and
# dependencies (node_modules/), and a few planted keys. Both tools read it from the page
# cache (hyperfine warms up first), so this measures search speed, not the disk.
#
# Pairs to compare (hyperfine medians, ratio awsx / rg):
#   awsx scan DIR                      vs  rg -c PATTERN DIR        the target (≤ 1.5x);
#                                                                   awsx reads ignored and hidden
#                                                                   files too, rg does not
#   awsx scan --respect-gitignore DIR  vs  rg --hidden -c PATTERN   the same files read
#   awsx scan DIR                      vs  rg -uu -c PATTERN DIR    the same files read
#
# Usage: bench/scan.sh            (FILES=…, SIZE_MB=…, RUNS=… override the defaults)
# Needs python3, hyperfine and ripgrep (installed with apt-get when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

FILES=${FILES:-100000}
SIZE_MB=${SIZE_MB:-1000}
RUNS=${RUNS:-10}
PATTERN='(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}'

missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v rg >/dev/null || missing+=(ripgrep)
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "bench/scan.sh: please install: ${missing[*]}" >&2
        exit 2
    fi
fi

cargo build --release --quiet -p awsx -p awsx-front --bins
AWSX=${CARGO_TARGET_DIR:-$PWD/target}/release/awsx

TMP=$(mktemp -d "${TMPDIR:-/tmp}/awsx-scan-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
TREE=$TMP/tree

echo "generating $FILES files (~$SIZE_MB MB) in $TREE …" >&2
python3 - "$TREE" "$FILES" "$SIZE_MB" <<'PY'
import os, random, sys

root, nfiles, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20261123)

# A corpus of code-like text: identifiers, keywords, strings, numbers, comments, upper-case
# constants, hex digests and base64 blobs (near misses for the secret pattern), and the word
# "secret" now and then (the label search has to look at those).
words = ("fn let mut pub struct impl match return if else for while loop async await self "
         "config client request response handler error result value option string vec map "
         "token session account region profile credential user role policy bucket object "
         "import from def class const var function export default require module true false "
         "null None len range print println format debug info warn assert test").split()
def ident():
    return "_".join(rng.choice(words) for _ in range(rng.randint(1, 3)))
def b64(n):
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(n))
def line():
    r = rng.random()
    ind = "    " * rng.randint(0, 3)
    if r < 0.10: return f"{ind}// {' '.join(rng.choice(words) for _ in range(rng.randint(3, 12)))}"
    if r < 0.15: return f"{ind}const {ident().upper()}: &str = \"{b64(rng.randint(8, 60))}\";"
    if r < 0.18: return f"{ind}let sha = \"{rng.getrandbits(160):040x}\";"
    if r < 0.19: return f"{ind}let {ident()}_secret = get_secret(\"{ident()}\");"
    if r < 0.20: return f"{ind}ARN = \"arn:aws:iam::{rng.randint(10**11, 10**12-1)}:role/{ident()}\""
    if r < 0.60: return f"{ind}let {ident()} = {ident()}({ident()}, {rng.randint(0, 99999)});"
    if r < 0.80: return f"{ind}if {ident()} {{ return {ident()}.{ident()}(); }}"
    return f"{ind}{ident()}.{ident()}(\"{' '.join(rng.choice(words) for _ in range(rng.randint(1, 6)))}\");"
corpus_lines = []
total = 0
while total < 16 << 20:
    l = line() + "\n"
    corpus_lines.append(l)
    total += len(l)
corpus = "".join(corpus_lines).encode()
binary = bytes(rng.getrandbits(8) for _ in range(1 << 20)) * 4  # contains NULs

# File sizes: log-normal (many small files, a long tail), scaled to the target total.
kinds = []
for i in range(nfiles):
    r = rng.random()
    kinds.append("src" if r < 0.70 else "node_modules" if r < 0.85 else "target" if r < 0.93
                 else "asset" if r < 0.96 else "doc")
sizes = [min(int(rng.lognormvariate(8.3, 1.3)), 2 << 20) + 50 for _ in range(nfiles)]
scale = (size_mb << 20) / sum(sizes)
sizes = [max(40, int(s * scale)) for s in sizes]

nrepos = max(1, nfiles // 1000)
for r in range(nrepos):
    repo = os.path.join(root, f"repo{r:03d}")
    os.makedirs(os.path.join(repo, ".git"))
    with open(os.path.join(repo, ".git", "HEAD"), "w") as f:
        f.write("ref: refs/heads/main\n")
    with open(os.path.join(repo, ".gitignore"), "w") as f:
        f.write("target/\nnode_modules/\n*.log\n")

def text(n):
    off = rng.randrange(0, len(corpus) - n - 1) if n < len(corpus) - 1 else 0
    off = corpus.find(b"\n", off) + 1  # start on a line
    return corpus[off:off + n]

made_dirs = set()
paths = []
for i, (kind, size) in enumerate(zip(kinds, sizes)):
    repo = f"repo{rng.randrange(nrepos):03d}"
    d = rng.randrange(20)
    if kind == "src":
        rel = os.path.join(repo, "src", f"mod{d}", f"sub{rng.randrange(5)}", f"file{i}.{rng.choice(['rs', 'py', 'js', 'go', 'ts'])}")
        data = text(size)
    elif kind == "node_modules":
        rel = os.path.join(repo, "node_modules", f"pkg{d}", "lib", f"index{i}.js")
        data = text(size)
    elif kind == "target":
        if rng.random() < 0.5:
            rel = os.path.join(repo, "target", "debug", "deps", f"lib{i}.rlib")
            off = rng.randrange(0, len(binary) - min(size, len(binary) - 1))
            data = binary[off:off + size]
        else:
            rel = os.path.join(repo, "target", "debug", f"build{i}.d")
            data = text(size)
    elif kind == "asset":
        rel = os.path.join(repo, "assets", f"img{i}.png")
        off = rng.randrange(0, len(binary) - min(size, len(binary) - 1))
        data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d" + binary[off:off + size]
    else:
        rel = os.path.join(repo, "docs", f"notes{i}.{rng.choice(['md', 'yaml', 'json', 'log'])}")
        data = text(size)
    path = os.path.join(root, rel)
    parent = os.path.dirname(path)
    if parent not in made_dirs:
        os.makedirs(parent, exist_ok=True)
        made_dirs.add(parent)
    with open(path, "wb") as f:
        f.write(data)
    paths.append((kind, path))

# Planted keys (made up, real format): a .env, a tracked source file, an ignored log, a file
# under node_modules, and a temporary STS key in a JSON file.
planted = [
    (os.path.join(root, "repo000", ".env"),
     b"AWS_ACCESS_KEY_ID=AKIAZ7QX4MDRW2NT5VBL\nAWS_SECRET_ACCESS_KEY=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\n"),
    (os.path.join(root, "repo001", "src", "settings.py"),
     b"import os\nAWS_KEY = 'AKIA3HG7KQPLM2XW9RTD'\n"),
    (os.path.join(root, "repo002", "debug.log"), b"boot\ncreds ASIAQ2WX7RT4YP9KD3MB loaded\n"),
    (os.path.join(root, "repo003", "node_modules", "leaky", "test.js"),
     b"const k = 'AKIAW4RT7YP2QX9MB3KD';\n"),
    (os.path.join(root, "repo004", "sts.json"),
     b'{"AccessKeyId": "ASIAM8QW3ER5TY7UP2LK",\n "SecretAccessKey": "Xy7+QpL2mN9vR4tK8wB3jH6fD1sA5gE0cZ/uYoIi"}\n'),
]
for path, data in planted:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
print(f"planted {len(planted)} keys", file=sys.stderr)
PY

files=$(find "$TREE" -type f | wc -l)
bytes=$(du -sb "$TREE" | cut -f1)
echo "tree: $files files, $((bytes >> 20)) MiB" >&2

echo "--- awsx scan finds (expect 5):" >&2
"$AWSX" scan --no-env "$TREE" | sed "s|$TREE/||" >&2 || true
echo "--- rg -c finds (ignores .gitignored and hidden files, so fewer):" >&2
rg -c "$PATTERN" "$TREE" | sed "s|$TREE/||" >&2 || true

# awsx exits 1 when it finds keys, which it will: -i keeps hyperfine going.
hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$TMP/results.json" \
    -n 'awsx scan' "$AWSX scan --no-env $TREE" \
    -n 'rg -c' "rg -c $PATTERN $TREE" \
    -n 'awsx scan --respect-gitignore' "$AWSX scan --no-env --respect-gitignore $TREE" \
    -n 'rg --hidden -c' "rg --hidden -c $PATTERN $TREE" \
    -n 'rg -uu -c' "rg -uu -c $PATTERN $TREE"

python3 - "$TMP/results.json" "$files" "$bytes" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"\ntree: {sys.argv[2]} files, {int(sys.argv[3]) >> 20} MiB; medians:")
for name, t in results.items():
    print(f"  {name:32} {t:7.3f} s")
for a, b in [("awsx scan", "rg -c"), ("awsx scan --respect-gitignore", "rg --hidden -c"), ("awsx scan", "rg -uu -c")]:
    print(f"  {a} / {b}: {results[a] / results[b]:.2f}x")
PY
