#!/bin/sh
# End-to-end explain benchmark: 'routevm explain POLICY --requests REQS
# --brief' over the decision anchors' requests, per request, side by side
# with the hand-written C anchor's jansson parse + decision
# (../shared/anchors/decide/decide.c) in the same run.
#
# usage: sh bench/explain.sh [BUILD]      (make bench runs it through bench/run.sh)
# env:   N (100000 requests)  RUNS (5: interleaved runs of each)
#        ANCHORS (../shared/anchors next to the repo)  RESULTS (bench/RESULTS.md)
#        DATA (BUILD/bench-decide: the generated requests, shared with decide.sh)
#
# routevm's figure is the wall time of the whole command -- start, loading
# and verifying the .rbc, reading the file, parsing every request, deciding,
# printing one JSON line per request -- divided by N.  The anchor's is its
# own measurement: parse_ns_per_req (reading the file, jansson tree,
# fields copied) plus its median decision time for the full policy.
#
# Targets (issue 7; exit 1 if one is missed):
#   routevm end to end <= 0.35x the anchor's parse + decision (medians)
#   routevm and the anchor agree on every decision
# Exit status: 0 all met, 1 a target missed, 2 could not run, 3 skipped.
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
N=${N:-100000}
RUNS=${RUNS:-5}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
DATA=${DATA:-$BUILD/bench-decide}

skip() { echo "explain: SKIP: $*"; exit 3; }
fail() { echo "explain: ERROR: $*" >&2; exit 2; }

A=$ANCHORS/decide
[ -f "$A/gen.py" ] && [ -f "$A/decide.c" ] || skip "the decision anchors are not at $A (set ANCHORS=DIR)"
for t in python3 cc; do command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"; done
for f in routec routevm; do [ -x "$BUILD/$f" ] || fail "$BUILD/$f is not built (run make)"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-explain.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
cp -r "$A" "$WORK/anchor"          # read-only where it is mounted
mkdir -p "$DATA"
REQS=$DATA/reqs-$N.jsonl CHAT=$DATA/chat-$N.jsonl
if [ ! -s "$REQS" ] || [ ! -s "$CHAT" ]; then
    echo "explain: generating $N requests (gen.py, seed 42) into $DATA"
    python3 "$WORK/anchor/gen.py" "$N" "$REQS.tmp" && mv "$REQS.tmp" "$REQS" || fail "gen.py failed"
    python3 "$ROOT/bench/decide_convert.py" "$REQS" "$CHAT.tmp" && mv "$CHAT.tmp" "$CHAT" || fail "decide_convert.py failed"
fi
cc -O2 -march=native -o "$WORK/decide" "$WORK/anchor/decide.c" -ljansson || fail "cannot build decide.c"
"$BUILD/routec" build "$ROOT/bench/policies/decide20.route" -o "$WORK/full.rbc" || fail "routec build decide20.route"

ns() { date +%s%N; }
: > "$WORK/c.txt"; : > "$WORK/rv.txt"
for r in $(seq "$RUNS"); do
    echo "explain: run $r of $RUNS"
    "$WORK/decide" "$REQS" 1 "$WORK/out-c.txt" 2> "$WORK/c.log" || fail "decide.c: $(cat "$WORK/c.log")"
    # decide.c prints: c n=.. parse_ns_per_req=P decide_ns_min=.. decide_ns_med=D ...
    sed -n 's/.*parse_ns_per_req=\([0-9.]*\).*decide_ns_med=\([0-9.]*\).*/\1 \2/p' "$WORK/c.log" >> "$WORK/c.txt"
    t0=$(ns)
    "$BUILD/routevm" explain "$WORK/full.rbc" --requests "$CHAT" --brief > "$WORK/out-rv.json" || fail "routevm explain failed"
    t1=$(ns)
    echo "$(( (t1 - t0) / N ))" >> "$WORK/rv.txt"
done
awk '{ if (match($0, /"rule":[0-9]+/)) print substr($0, RSTART + 7, RLENGTH - 7); else print "none" }' \
    "$WORK/out-rv.json" > "$WORK/rules-rv.txt"
MISMATCH=$(paste -d' ' "$WORK/out-c.txt" "$WORK/rules-rv.txt" | awk '$1 != $2' | wc -l)
LINES=$(wc -l < "$WORK/rules-rv.txt")

COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$ROOT" && git status --porcelain -- compiler vm grammar 2>/dev/null | head -n 1)
rc=0
python3 - "$WORK" "$RESULTS" "$N" "$RUNS" "$MISMATCH" "$LINES" "$COMMIT${DIRTY:+ (compiler/vm/grammar modified)}" <<'PY' || rc=$?
import datetime, os, platform, re, statistics, sys
work, results, n, runs, mism, lines, commit = sys.argv[1:8]
c = [tuple(map(float, l.split())) for l in open(os.path.join(work, "c.txt")) if l.strip()]
rv = [float(l) for l in open(os.path.join(work, "rv.txt")) if l.strip()]
ce = [p + d for p, d in c]
med = statistics.median
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"
ratio, ratio_min = med(rv) / med(ce), min(rv) / min(ce)
out = ["## explain: routevm explain --brief end to end vs the hand-C anchor's parse + decision", ""]
out.append("- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"))
out.append("- machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu(), platform.release()))
out.append("- command: `sh bench/explain.sh` (N=%s requests from the anchors' gen.py, seed 42, as chat requests "
           "(bench/decide_convert.py); %s interleaved runs of each; policy bench/policies/decide20.route built to .rbc)" % (n, runs))
out.append("- routevm commit: %s" % commit)
out.append("- routevm: wall time of `routevm explain full.rbc --requests chat.jsonl --brief > out` / N (process start, "
           ".rbc load and verify, reading, parsing, deciding, printing); hand C: decide.c's parse_ns_per_req (reading, "
           "jansson tree, fields copied) + its median full-policy decision")
out.append("")
out.append("| implementation | runs | min ns/request | median ns/request |")
out.append("|---|---|---|---|")
out.append("| hand C (decide.c: jansson parse + decision) | %d | %.0f | %.0f |" % (len(ce), min(ce), med(ce)))
out.append("| routevm explain --brief (end to end) | %d | %.0f | %.0f |" % (len(rv), min(rv), med(rv)))
out.append("")
targets = [
    ("routevm end to end <= 0.35x hand C parse + decision (medians)",
     "%.2fx (%.0f vs %.0f ns; min/min %.2fx)" % (ratio, med(rv), med(ce), ratio_min), ratio <= 0.35),
    ("routevm agrees with hand C on every decision", "%s mismatches over %s (%s lines)" % (mism, n, lines),
     mism == "0" and lines == n),
]
out.append("| target | measured | result |")
out.append("|---|---|---|")
for t, m, ok in targets:
    out.append("| %s | %s | %s |" % (t, m, "PASS" if ok else "MISS"))
met = sum(1 for t in targets if t[2])
out.append("")
out.append("%d of %d targets met." % (met, len(targets)))
section = "<!-- bench:explain begin -->\n" + "\n".join(out) + "\n<!-- bench:explain end -->\n"
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\n"
pat = re.compile(r"<!-- bench:explain begin -->.*?<!-- bench:explain end -->\n?", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
print("\n".join(out))
sys.exit(0 if met == len(targets) else 1)
PY
case $rc in
0) echo "explain: all targets met (bench/RESULTS.md)" ;;
1) echo "explain: a target was missed (bench/RESULTS.md)" ;;
*) fail "the report failed (status $rc)" ;;
esac
exit $rc
