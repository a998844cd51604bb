#!/bin/sh
# JSON parser candidates for the request model, side by side on the
# decision anchors' chat requests: jansson (the tree the request model was
# built on before), yajl (SAX, no tree: the choice), cJSON, json-c and
# json-parser (trees), jsmn (a lax tokenizer, for its speed), and routevm's
# own req_parse() -- the real request model, yajl plus every structure and
# check -- each parsing every request and extracting what routing reads
# (bench/jsonparse/).  No target: it records why the request model uses
# yajl.
#
# usage: sh bench/jsonparse.sh [BUILD]
# env:   N (20000 requests)  REPEAT (5)  ANCHORS  RESULTS  DATA (as bench/explain.sh)
# Exit status: 0 done, 2 could not run, 3 skipped.
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
N=${N:-20000}
REPEAT=${REPEAT:-5}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
DATA=${DATA:-$BUILD/bench-decide}

skip() { echo "jsonparse: SKIP: $*"; exit 3; }
fail() { echo "jsonparse: ERROR: $*" >&2; exit 2; }

A=$ANCHORS/decide
[ -f "$A/gen.py" ] || skip "the decision anchors are not at $A (set ANCHORS=DIR)"
for h in jansson.h yajl/yajl_parse.h cjson/cJSON.h json-c/json.h json-parser/json.h jsmn.h; do
    [ -f "/usr/include/$h" ] || skip "/usr/include/$h is missing (mk/deps.sh installs the candidates)"
done
[ -f "$BUILD/libvm.a" ] || fail "$BUILD/libvm.a is not built (run make)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-jsonparse.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$DATA"
CHAT=$DATA/chat-head-$N.jsonl
if [ ! -s "$CHAT" ]; then
    python3 "$A/gen.py" "$N" "$WORK/reqs.jsonl" || fail "gen.py failed"
    python3 "$ROOT/bench/decide_convert.py" "$WORK/reqs.jsonl" "$CHAT.tmp" && mv "$CHAT.tmp" "$CHAT" || fail "decide_convert.py failed"
fi
(cd "$ROOT" && cc -O2 -march=native -Ivm -Icompiler -I"$BUILD/gen" -o "$WORK/jsonparse" bench/jsonparse/*.c \
    "$BUILD/libvm.a" -lyajl -ljansson -lcjson -ljson-c -ljsonparser -lpcre2-8 -lexttextcat-2.0 -lm) ||
    fail "cannot build bench/jsonparse"
"$WORK/jsonparse" "$CHAT" "$REPEAT" > "$WORK/out.txt" || fail "jsonparse failed"
cat "$WORK/out.txt"

COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$WORK/out.txt" "$RESULTS" "$N" "$REPEAT" "$COMMIT" <<'PY'
import datetime, os, platform, re, sys
path, results, n, rep, commit = sys.argv[1:6]
rows = []
for line in open(path):
    name, rest = line.split(" ", 1)
    kv = dict(t.split("=", 1) for t in rest.split())
    rows.append((name, kv))
about = {
    "jansson": "tree, duplicate keys rejected (the request model's parser before)",
    "yajl": "SAX callbacks, no tree (libyajl-dev): the request model's parser for what jsonfast declines",
    "cjson": "tree (libcjson-dev)", "jsonc": "tree, strict mode, UTF-8 checked (libjson-c-dev)",
    "jsonparser": "tree (libjsonparser-dev)", "jsmn": "tokens, no unescaping, lax (libjsmn-dev)",
    "jsonfast": "the same callbacks through vm/jsonfast.c (one pass, yajl's calls; yajl for what it declines)",
    "routevm": "req_parse(): jsonfast (else yajl) + every structure, text slot and check of vm/request.h",
}
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"
out = ["## jsonparse: JSON parser candidates for the request model", ""]
out.append("- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"))
out.append("- machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu(), platform.release()))
out.append("- command: `sh bench/jsonparse.sh` (the first %s of the anchors' requests as chat requests, %s bytes each "
           "on average; %s timed passes; every candidate parses each request and extracts what routing reads: "
           "bench/jsonparse/)" % (n, rows[0][1]["bytes_per_req"] if rows else "?", rep))
out.append("- routevm commit: %s" % commit)
out.append("")
out.append("| candidate | what | min ns/request | median ns/request | MB/s (median) | same fields as jansson |")
out.append("|---|---|---|---|---|---|")
for name, kv in rows:
    out.append("| %s | %s | %s | %s | %s | %s |" % (name, about.get(name, ""), kv["ns_min"], kv["ns_med"], kv["mb_s"],
                                                 "yes" if kv["agree"] == "1" else "NO"))
out.append("")
out.append("yajl is the fastest strict parser library here and builds no tree; jsmn is faster but does not check "
           "escapes, UTF-8 or number syntax, and simdjson (C++) is outside a C11 project.  jsonfast is routevm's "
           "own one-pass reader: it makes yajl's calls with yajl's arguments (tests/unit/jsonfast_test.c and "
           "fuzz_jsonfast hold it to yajl) and hands every text it does not take -- any syntax error among them -- "
           "to yajl, which judges it and words the error.")
section = "<!-- bench:jsonparse begin -->\n" + "\n".join(out) + "\n<!-- bench:jsonparse end -->\n"
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\n"
pat = re.compile(r"<!-- bench:jsonparse begin -->.*?<!-- bench:jsonparse end -->\n?", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
print("\n".join(out))
PY
