#!/bin/sh
# Provider-call benchmark: the client-side CPU work of one model call per
# provider and mode (bench/provcall.c: conversation, request body,
# SigV4 for Bedrock, answer parsing through the stream decoders,
# accounting), for a ~1.4 KB request and a 1 KB answer.  Best of 5 rounds
# of ITERS/5 calls each, thread CPU time.
#
# usage: sh bench/provcall.sh [BUILD]      env: ITERS (20000), RESULTS
# Target (exit 1 if missed): every case at most 30 us per call.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ITERS=${ITERS:-20000}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
for f in libvm.a libcompiler.a libproviders.a; do
    [ -e "$BUILD/$f" ] || { echo "provcall: $BUILD/$f is not built (run make)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-provcall.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
cc -std=gnu11 -O2 -g -I"$ROOT/vm" -I"$ROOT/vm/providers" -I"$ROOT/compiler" -I"$BUILD/gen" \
   -DRV_STDLIB_SRC="\"$ROOT/stdlib\"" -DRV_STDLIB_INSTALL="\"/usr/local/share/routevm/stdlib\"" \
   -o "$WORK/provcall" "$ROOT/bench/provcall.c" "$BUILD/libcompiler.a" "$BUILD/libproviders.a" "$BUILD/libvm.a" \
   -lpcre2-8 -lcurl -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lz -lm
ROUTEC_STDLIB="$ROOT/stdlib" "$WORK/provcall" "$ITERS" > "$WORK/out" || { echo "provcall: the benchmark failed" >&2; exit 2; }
cat "$WORK/out"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
rc=0
python3 - "$WORK/out" "$RESULTS" "$ITERS" "$COMMIT" <<'PY' || rc=$?
import re, sys, datetime, os
out, results, iters, commit = sys.argv[1:5]
lines = open(out).read().splitlines()
head = [l for l in lines if l.startswith("#")]
rows = [l.split() for l in lines if l and not l.startswith("#")]
miss = [r for r in rows if float(r[1]) > 30.0]
cpu = "?"
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    pass
t = ["## provcall: client-side work of one provider call", "",
     "- date: " + datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
     "- machine: %d cores, %s" % (os.cpu_count(), cpu),
     "- command: `sh bench/provcall.sh` (ITERS=%s; best of 5 rounds, thread CPU time per call)" % iters,
     "- routevm commit: " + commit,
     "- " + (head[0][2:] if head else ""), "",
     "| case | us per call | request bytes sent | answer bytes read | target <= 30 us |", "|---|---|---|---|---|"]
for r in rows:
    t.append("| %s | %s | %s | %s | %s |" % (r[0], r[1], r[2], r[3], "PASS" if float(r[1]) <= 30.0 else "MISS"))
section = "<!-- bench:provcall begin -->\n" + "\n".join(t) + "\n<!-- bench:provcall end -->\n"
doc = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
pat = re.compile(r"<!-- bench:provcall begin -->.*?<!-- bench:provcall end -->\n?", re.S)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section
open(results, "w").write(doc)
sys.exit(1 if miss else 0)
PY
[ $rc -eq 0 ] && echo "provcall: all targets met (bench/RESULTS.md)" || echo "provcall: a target was missed (bench/RESULTS.md)"
exit $rc
