#!/bin/sh
# routevm decides exactly as the hand-written C anchor does.
#
# The decision benchmark's 20-rule policy exists by hand in C
# (tests/decide/anchor/decide.c, vendored from the performance anchors; see
# its README) and in .route
# (bench/policies/decide20.route, and decide20_meta.route without the four
# message scans).  This suite generates requests with the anchors' gen.py
# (seed 42) plus the boundary cases of tests/decide/edge.py, converts them to
# chat requests (bench/decide_convert.py), builds
# decide.c, and compares its rule numbers with those of
# 'routevm explain --brief', request by request, for both variants.
#
# usage: sh tests/suites/decide_agree.sh BIN ROOT
# Env: DECIDE_AGREE_N (20000 requests), DECIDE_ANCHORS (a directory holding
# gen.py and decide.c; default ROOT/tests/decide/anchor).
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec" RV="$ROOT/$BIN/routevm"
case "$BIN" in /*) RC="$BIN/routec" RV="$BIN/routevm" ;; esac
cd "$ROOT" || exit 1
N=${DECIDE_AGREE_N:-20000}
A=${DECIDE_ANCHORS:-$ROOT/tests/decide/anchor}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; }

for f in bench/policies/decide20.route bench/policies/decide20_meta.route; do
    if out=$("$RC" check -Werror "$f" 2>&1); then ok "decide-agree/clean/$(basename "$f" .route)"
    else bad "decide-agree/clean/$(basename "$f" .route)" "$out"; fi
done

if [ ! -f "$A/gen.py" ] || [ ! -f "$A/decide.c" ]; then
    bad decide-agree "the decision anchor is not at $A (gen.py, decide.c)"
    exit 0
fi
if ! out=$(cc -O2 -o "$T/decide" "$A/decide.c" -ljansson 2>&1); then
    bad decide-agree "cannot build the reference decide.c: $out"; exit 0
fi
if ! out=$(python3 "$A/gen.py" "$N" "$T/gen.jsonl" 2>&1 &&
           python3 tests/decide/edge.py >> "$T/gen.jsonl" &&
           python3 bench/decide_convert.py "$T/gen.jsonl" "$T/chat.jsonl" 2>&1); then
    bad decide-agree "cannot generate the requests: $out"; exit 0
fi
NGEN=$N N=$(wc -l < "$T/gen.jsonl")
# decide FILE REPEAT OUT writes the full policy's rule numbers to OUT and the
# metadata-only variant's to OUT.meta, one per line
if ! out=$("$T/decide" "$T/gen.jsonl" 1 "$T/c.txt" 2>&1) || [ "$(wc -l < "$T/c.txt")" -ne "$N" ]; then
    bad decide-agree "the reference decide.c failed: $out"; exit 0
fi

# every rule of the policy decides some request, so agreement covers them all
missing=$(sort -nu "$T/c.txt" | awk 'BEGIN { for (i = 1; i <= 21; i++) want[i] = 1 } { delete want[$1] }
    END { for (i in want) printf " %s", i }')
if [ -z "$missing" ]; then ok "decide-agree/all-rules-hit ($N requests: $NGEN generated, the rest edge cases)"
else bad decide-agree/all-rules-hit "rules never decided by the $N requests:$missing"; fi

# compare NAME POLICY REFERENCE [MAP]: routevm's rule numbers (mapped through
# MAP, "k1 k2 ..." = the reference number of rule 1, 2, ...) against REFERENCE
compare() {
    name=$1 policy=$2 ref=$3 map=$4
    "$RV" explain "$policy" --requests "$T/chat.jsonl" --brief > "$T/$name.json" 2> "$T/$name.err"; rc=$?
    if [ $rc -ne 0 ]; then
        bad "decide-agree/$name" "routevm explain exited with status $rc: $(head -c 400 "$T/$name.err")"; return
    fi
    awk -v map="$map" 'BEGIN { n = split(map, m, " ") }
        { r = "none"; if (match($0, /"rule":[0-9]+/)) { r = substr($0, RSTART + 7, RLENGTH - 7); if (n) r = m[r] } print r }' \
        "$T/$name.json" > "$T/$name.txt"
    got=$(wc -l < "$T/$name.txt")
    if [ "$got" -ne "$N" ]; then
        bad "decide-agree/$name" "routevm decided $got requests, want $N"; return
    fi
    diff=$(paste -d' ' "$ref" "$T/$name.txt" | awk '$1 != $2 { printf "%d %s %s\n", NR, $1, $2 }')
    if [ -z "$diff" ]; then
        ok "decide-agree/$name ($N of $N requests agree)"
    else
        cnt=$(printf '%s\n' "$diff" | wc -l)
        bad "decide-agree/$name" "$cnt of $N decisions differ from decide.c (request line, C rule, routevm rule):
$(printf '%s\n' "$diff" | head -n 5 | sed 's/^/    /')"
        first=$(printf '%s\n' "$diff" | head -n 1 | cut -d' ' -f1)
        echo "    first differing request: $(sed -n "${first}p" "$T/chat.jsonl" | cut -c1-300)"
        echo "    routevm: $(sed -n "${first}p" "$T/$name.json")"
    fi
}

compare full bench/policies/decide20.route "$T/c.txt"
# the metadata-only variant, through a .rbc (build, then load and verify);
# its rules 1..17 are rules 1 2 5 7 ... 19 21 of the full policy
if out=$("$RC" build bench/policies/decide20_meta.route -o "$T/meta.rbc" 2>&1); then
    compare meta "$T/meta.rbc" "$T/c.txt.meta" "1 2 5 7 8 9 10 11 12 13 14 15 16 17 18 19 21"
else
    bad decide-agree/meta "routec build failed: $out"
fi
