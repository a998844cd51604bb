#!/bin/sh
# Compile benchmark: routec on a generated ~100,000-line policy, side by side
# with Lua 5.4 on the compile anchor's Lua file of the same shape and draws.
#
# usage: sh bench/compile.sh [BUILD]      (make bench runs it through bench/run.sh)
# env:   LINES (100000)  RUNS (5)  ANCHORS (../shared/anchors next to the repo)
#        BUDGET (60: seconds of runs per row before it stops repeating)
#        LINES_BIG (1000000; 0 leaves the big rows out)  RUNS_BIG (3)
#        RESULTS (bench/RESULTS.md)
#
# Rows, each command RUNS times (wall ms, peak RSS from wait4):
#   luac5.4 -p big.lua                  anchor
#   routec check -v big.route           target: median <= 2 x luac5.4 -p
#   lua5.4 -e "dofile('big.luac')"      anchor (precompiled bytecode)
#   routec verify big.rbc               target: median <= lua5.4 loading big.luac
#   routec build big.route -o big.rbc   reported (time, .rbc size)
#   peak RSS of check and build         target: < 300 MB
# and on a LINES_BIG-line policy of the same shape, RUNS_BIG times each
# (bounded: about a minute in all, generation included):
#   luac5.4 -p huge.lua                anchor
#   routec check huge.route            target: median <= 2 x luac5.4 -p, peak RSS < 300 MB
#   routec build huge.route            reported (time, peak RSS)
# Exit status: 0 every target met, 1 a target missed, 2 the benchmark could
# not run (a tool failed, the policy has errors), 3 skipped (no anchors, no
# Lua).  Only local files are used; every run is bounded (timeit.py).
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ROUTEC=$BUILD/routec
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
LINES=${LINES:-100000}
RUNS=${RUNS:-5}
LINES_BIG=${LINES_BIG:-1000000}
RUNS_BIG=${RUNS_BIG:-3}
BUDGET=${BUDGET:-60}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}

skip() { echo "compile: SKIP: $*"; exit 3; }
fail() { echo "compile: ERROR: $*" >&2; exit 2; }

[ -f "$ANCHORS/compile/gen_policy.py" ] ||
    skip "the compile anchor is not at $ANCHORS/compile/gen_policy.py (set ANCHORS=DIR)"
for t in python3 luac5.4 lua5.4; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (Debian: apt-get install lua5.4 python3)"
done
[ -x "$ROUTEC" ] || fail "$ROUTEC is not built (run make)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-compile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
# the anchors are read-only where they are mounted: generate from a copy
cp -r "$ANCHORS/compile" "$WORK/anchor"

echo "compile: generating $LINES-line policies in $WORK"
python3 "$WORK/anchor/gen_policy.py" "$LINES" "$WORK" || fail "the anchor's gen_policy.py failed"
python3 "$ROOT/bench/gen_policy.py" "$LINES" "$WORK" || fail "bench/gen_policy.py failed"
luac5.4 -o "$WORK/big.luac" "$WORK/big.lua" || fail "luac5.4 -o failed"

# Once, outside the timing: the policy must have no errors (warnings are
# expected: most generated rules are shadowed by earlier ones).
echo "compile: routec check --format json (once, counting diagnostics)"
rc=0
"$ROUTEC" check -v --format json "$WORK/big.route" >"$WORK/diags.json" 2>"$WORK/diags.err" || rc=$?
[ "$rc" -le 1 ] || { cat "$WORK/diags.err" >&2; fail "routec check exited with status $rc"; }
python3 - "$WORK/diags.json" "$WORK/diags.txt" <<'PY' || fail "the generated policy has errors: $(head -c 2000 "$WORK/diags.txt")"
import collections, json, sys
d = json.load(open(sys.argv[1]))     # one flat list of diagnostics
sev = collections.Counter(x["severity"] for x in d)
codes = collections.Counter("%s %s" % (x["severity"], x["code"]) for x in d)
with open(sys.argv[2], "w") as out:
    out.write("errors %d\nwarnings %d\nnotes %d\n" % (sev["error"], sev["warning"], sev["note"]))
    for k, n in sorted(codes.items()):
        out.write("code %s %d\n" % (k, n))
    for x in d:
        if x["severity"] == "error":
            out.write("error %s:%s: %s [%s]\n" % (x["line"], x["column"], x["message"], x["code"]))
sys.exit(1 if sev["error"] else 0)
PY

# row NAME CMD...: time CMD into $WORK/row.NAME; a failed row is recorded, not fatal
row() {
    name=$1; shift
    echo "compile: timing $name"
    if ! python3 "$ROOT/bench/timeit.py" "$RUNS" --ok 0 --timeout 120 --budget "$BUDGET" "$@" \
            >"$WORK/row.$name" 2>"$WORK/err.$name"; then
        cat "$WORK/err.$name" >&2
        echo "failed: $(cat "$WORK/err.$name" | tr '\n' ' ')" >>"$WORK/row.$name"
    fi
    cat "$WORK/err.$name" >&2
}
row luac_p luac5.4 -p "$WORK/big.lua"
row check "$ROUTEC" check -v "$WORK/big.route"
row lua_load lua5.4 -e "dofile('$WORK/big.luac')"
row build "$ROUTEC" build "$WORK/big.route" -o "$WORK/big.rbc"
[ -s "$WORK/big.rbc" ] || fail "routec build wrote no $WORK/big.rbc: $(cat "$WORK/err.build")"
"$ROUTEC" verify "$WORK/big.rbc" >"$WORK/verify.out" 2>&1 || fail "routec verify rejects big.rbc: $(cat "$WORK/verify.out")"
row verify "$ROUTEC" verify "$WORK/big.rbc"
"$ROUTEC" build --strip "$WORK/big.route" -o "$WORK/big-strip.rbc" 2>/dev/null
row verify_strip "$ROUTEC" verify "$WORK/big-strip.rbc"

# the big policy: generated after the rows above (its files are large),
# checked once for errors like the small one, then timed RUNS_BIG times
if [ "$LINES_BIG" -gt 0 ]; then
    echo "compile: generating $LINES_BIG-line policies"
    mkdir -p "$WORK/big"
    python3 "$WORK/anchor/gen_policy.py" "$LINES_BIG" "$WORK/big" >/dev/null || fail "the anchor's gen_policy.py failed ($LINES_BIG lines)"
    python3 "$ROOT/bench/gen_policy.py" "$LINES_BIG" "$WORK/big" || fail "bench/gen_policy.py failed ($LINES_BIG lines)"
    rm -f "$WORK/big/big.c"
    mv "$WORK/big/big.lua" "$WORK/huge.lua"
    mv "$WORK/big/big.route" "$WORK/huge.route"
    rc=0
    "$ROUTEC" check "$WORK/huge.route" >/dev/null 2>"$WORK/diagshuge.err" || rc=$?
    [ "$rc" -le 1 ] || { cat "$WORK/diagshuge.err" >&2; fail "routec check of the big policy exited with status $rc"; }
    RUNS_SAVED=$RUNS
    RUNS=$RUNS_BIG
    row luac_p_big luac5.4 -p "$WORK/huge.lua"
    row check_big "$ROUTEC" check "$WORK/huge.route"
    row build_big "$ROUTEC" build "$WORK/huge.route" -o "$WORK/huge.rbc"
    RUNS=$RUNS_SAVED
    rm -f "$WORK/huge.rbc"
fi

{
    echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "nproc	$(nproc 2>/dev/null || echo '?')"
    echo "cpu	$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    echo "kernel	$(uname -sr)"
    echo "commit	$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- compiler vm grammar 2>/dev/null || echo ' (compiler/vm/grammar modified)')"
    echo "lua	$(lua5.4 -v 2>&1 | head -n 1)"
    echo "lines	$LINES"
    echo "runs	$RUNS"
    echo "lines_big	$LINES_BIG"
    echo "runs_big	$RUNS_BIG"
    echo "verify_out	$(cat "$WORK/verify.out")"
    for f in big.lua big.luac big.route big.rbc big-strip.rbc huge.lua huge.route; do
        [ -f "$WORK/$f" ] || continue
        echo "file	$f	$(wc -l <"$WORK/$f" | tr -d ' ')	$(wc -c <"$WORK/$f" | tr -d ' ')"
    done
} >"$WORK/meta"
python3 "$ROOT/bench/report.py" "$WORK" "$RESULTS"
