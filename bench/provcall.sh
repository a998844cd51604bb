#!/bin/sh
# Provider-call benchmark: the client-side CPU work of one model call per
# provider and mode (bench/provcall.c: conversation, request body,
# SigV4 for Bedrock, answer parsing through the stream decoders,
# accounting), for a ~1.4 KB request and a 1 KB answer.  Best of 5 rounds
# of ITERS/5 calls each, thread CPU time.
#
# usage: sh bench/provcall.sh [BUILD]      env: ITERS (20000), RUNS (5), RESULTS
# Each run is a fresh process; the table gives the min and the median of
# the runs' figures (the machine is shared and noisy), and the steps'
# costs (conversation, body, signature, answer) of the median run.
# Target (exit 1 if missed): every case at most 30 us per call (min).
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ITERS=${ITERS:-20000}
RUNS=${RUNS:-5}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
for f in libvm.a libcompiler.a libproviders.a; do
    [ -e "$BUILD/$f" ] || { echo "provcall: $BUILD/$f is not built (run make)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-provcall.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
cc -std=gnu11 -O2 -g -I"$ROOT/vm" -I"$ROOT/vm/providers" -I"$ROOT/compiler" -I"$BUILD/gen" \
   -DRV_STDLIB_SRC="\"$ROOT/stdlib\"" -DRV_STDLIB_INSTALL="\"/usr/local/share/routevm/stdlib\"" \
   -o "$WORK/provcall" "$ROOT/bench/provcall.c" "$BUILD/libcompiler.a" "$BUILD/libproviders.a" "$BUILD/libvm.a" \
   -lpcre2-8 -lcurl -lssl -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lz -lm
i=0
while [ $i -lt "$RUNS" ]; do
    ROUTEC_STDLIB="$ROOT/stdlib" "$WORK/provcall" "$ITERS" >> "$WORK/out" 2>> "$WORK/steps" ||
        { echo "provcall: the benchmark failed" >&2; exit 2; }
    i=$((i + 1))
done
cat "$WORK/out" "$WORK/steps"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
rc=0
python3 - "$WORK/out" "$WORK/steps" "$RESULTS" "$ITERS" "$COMMIT" "$RUNS" <<'PY' || rc=$?
import re, sys, datetime, os, statistics
out, steps, results, iters, commit, runs = sys.argv[1:7]
lines = open(out).read().splitlines()
head = [l for l in lines if l.startswith("#")]
figs = {}
for l in lines:
    if l and not l.startswith("#"):
        r = l.split()
        figs.setdefault(r[0], []).append((float(r[1]), r[2], r[3]))
st = {}
for l in open(steps).read().splitlines():
    m = re.match(r"# steps (\S+) conversation (\S+) body (\S+) sign (\S+) answer (\S+)", l)
    if m:
        st.setdefault(m.group(1), []).append(tuple(float(x) for x in m.groups()[1:]))
cpu = "?"
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    pass
load = "?"
try:
    load = open("/proc/loadavg").read().split()[0]
except Exception:
    pass
t = ["## provcall: client-side work of one provider call", "",
     "- date: " + datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
     "- machine: %d cores, %s, load average %s at the end" % (os.cpu_count(), cpu, load),
     "- command: `RUNS=%s ITERS=%s sh bench/provcall.sh` (each run: best of 5 rounds of ITERS/5 calls, thread CPU time per call; min and median over the runs)" % (runs, iters),
     "- routevm commit: " + commit,
     "- " + (head[0][2:] if head else ""), "",
     "| case | us per call (min) | us per call (median) | conversation | body | SigV4 | answer | request bytes | answer bytes | target <= 30 us |",
     "|---|---|---|---|---|---|---|---|---|---|"]
miss = []
for name, v in figs.items():
    us = sorted(x[0] for x in v)
    s = st.get(name, [])
    med = [statistics.median(x[k] for x in s) for k in range(4)] if s else [0, 0, 0, 0]
    ok = us[0] <= 30.0
    if not ok:
        miss.append(name)
    t.append("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s |" % (name, us[0], statistics.median(us),
             med[0], med[1], med[2], med[3], v[0][1], v[0][2], "PASS" if ok else "MISS"))
t.append("")
t.append("The steps are each timed alone (median of the runs): the conversation from the call descriptor, the body (written by vm/jsonw.h), the SigV4 signature (Bedrock), and the answer (decoder and parser: SSE or event-stream frames, then each event's JSON through vm/providers/jview.c).")
section = "<!-- bench:provcall begin -->\n" + "\n".join(t) + "\n<!-- bench:provcall end -->\n"
doc = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
pat = re.compile(r"<!-- bench:provcall begin -->.*?<!-- bench:provcall end -->\n?", re.S)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section
open(results, "w").write(doc)
sys.exit(1 if miss else 0)
PY
[ $rc -eq 0 ] && echo "provcall: all targets met (bench/RESULTS.md)" || echo "provcall: a target was missed (bench/RESULTS.md)"
exit $rc
