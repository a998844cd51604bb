#!/bin/sh
# Decision benchmark: routevm deciding the anchors' 20-rule policy
# (bench/policies/decide20.route, decide20_meta.route), side by side with the
# same policy by hand in C, in Lua 5.4 and in jq (../shared/anchors/decide).
#
# usage: sh bench/decide.sh [BUILD]      (make bench runs it through bench/run.sh)
# env:   N (1000000 requests)  NJQ (100000: jq runs on the first NJQ only, as in
#        the anchors)  REPEAT (5: timed passes of C and routevm; Lua 2)
#        ANCHORS (../shared/anchors next to the repo)  RESULTS (bench/RESULTS.md)
#        DATA (BUILD/bench-decide: generated requests, kept between runs)
#
# Every implementation parses all requests first (parse_ns_per_req), then
# times its decision loop over all of them, full policy and metadata-only
# variant (the four message scans off), and reports min and median per
# request; end-to-end = parse + median decision.  routevm's loop
# (bench/decide_vm.c) is vm_start() per request until RV_CALL on .rbc files
# loaded and verified, with requests parsed by req_parse_pooled() into one
# pool, as the gateway parses into a pool per worker.
#
# Targets (exit 1 if one is missed):
#   full policy: routevm >= 5x faster than Lua, within 1.2x of hand C (medians)
#   meta variant: within 1.5x of hand C (issue 7; it was 3x before)
#   VM state per request < 4 KB; no allocation per decision
#   routevm and C agree on every decision (full and meta)
# Exit status: 0 all met, 1 a target missed, 2 could not run, 3 skipped.
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
N=${N:-1000000}
NJQ=${NJQ:-100000}
[ "$NJQ" -le "$N" ] || NJQ=$N
REPEAT=${REPEAT:-5}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
DATA=${DATA:-$BUILD/bench-decide}

skip() { echo "decide: SKIP: $*"; exit 3; }
fail() { echo "decide: ERROR: $*" >&2; exit 2; }

A=$ANCHORS/decide
[ -f "$A/gen.py" ] && [ -f "$A/decide.c" ] || skip "the decision anchors are not at $A (set ANCHORS=DIR)"
for t in python3 cc lua5.4; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (Debian: apt-get install python3 gcc lua5.4 lua-cjson jq)"
done
lua5.4 -e 'require "cjson"' 2>/dev/null || skip "lua-cjson is not installed (Debian: apt-get install lua-cjson)"
HAVE_JQ=1; command -v jq >/dev/null 2>&1 && command -v bc >/dev/null 2>&1 || HAVE_JQ=0
for f in routec libvm.a libcompiler.a; do [ -e "$BUILD/$f" ] || fail "$BUILD/$f is not built (run make)"; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-decide.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
cp -r "$A" "$WORK/anchor"          # read-only where it is mounted
mkdir -p "$DATA"

REQS=$DATA/reqs-$N.jsonl CHAT=$DATA/chat-$N.jsonl
if [ ! -s "$REQS" ] || [ ! -s "$CHAT" ]; then
    echo "decide: generating $N requests (gen.py, seed 42) into $DATA"
    python3 "$WORK/anchor/gen.py" "$N" "$REQS.tmp" && mv "$REQS.tmp" "$REQS" || fail "gen.py failed"
    python3 "$ROOT/bench/decide_convert.py" "$REQS" "$CHAT.tmp" && mv "$CHAT.tmp" "$CHAT" || fail "decide_convert.py failed"
fi

echo "decide: building the C anchor, the routevm harness and the policies"
cc -O2 -march=native -o "$WORK/decide" "$WORK/anchor/decide.c" -ljansson || fail "cannot build decide.c"
(cd "$ROOT" && cc -O2 -Ivm -Icompiler -I"$BUILD/gen" -o "$WORK/decide_vm" bench/decide_vm.c \
    "$BUILD/libcompiler.a" "$BUILD/libvm.a" -lpcre2-8 -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lm) ||
    fail "cannot build bench/decide_vm.c"
"$BUILD/routec" build "$ROOT/bench/policies/decide20.route" -o "$WORK/full.rbc" || fail "routec build decide20.route"
"$BUILD/routec" build "$ROOT/bench/policies/decide20_meta.route" -o "$WORK/meta.rbc" || fail "routec build decide20_meta.route"

echo "decide: hand C ($N requests, $REPEAT passes)"
"$WORK/decide" "$REQS" "$REPEAT" "$WORK/out-c.txt" 2> "$WORK/c.log" || fail "decide.c: $(cat "$WORK/c.log")"
cat "$WORK/c.log"
echo "decide: routevm ($N requests, $REPEAT passes)"
"$WORK/decide_vm" "$WORK/full.rbc" "$WORK/meta.rbc" "$CHAT" "$REPEAT" "$WORK/out-rv.txt" 2> "$WORK/rv.log" ||
    fail "decide_vm: $(cat "$WORK/rv.log")"
cat "$WORK/rv.log"
echo "decide: Lua 5.4 ($N requests, 2 passes)"
lua5.4 "$WORK/anchor/decide.lua" "$REQS" 2 "$WORK/out-lua.txt" 2> "$WORK/lua.log" || fail "decide.lua: $(cat "$WORK/lua.log")"
cat "$WORK/lua.log"
if [ $HAVE_JQ = 1 ]; then
    echo "decide: jq (first $NJQ requests)"
    head -n "$NJQ" "$REQS" > "$WORK/reqs-jq.jsonl"
    bash "$WORK/anchor/jq-time.sh" 1 "$WORK/reqs-jq.jsonl" "$WORK/out-jq.txt" > "$WORK/jq.tsv" || fail "jq-time.sh failed"
    # jq-time.sh prints: jq run n parse decide decide meta meta end_to_end
    awk -F'\t' '{ printf "jq n=%s parse_ns_per_req=%s decide_ns_min=%s decide_ns_med=%s meta_ns_min=%s meta_ns_med=%s\n", $3, $4, $5, $6, $7, $8 }' \
        "$WORK/jq.tsv" > "$WORK/jq.log"
    cat "$WORK/jq.log"
fi

mism() { paste -d' ' "$1" "$2" | awk '$1 != $2' | wc -l; }
{
    echo "rv_full_mismatch=$(mism "$WORK/out-c.txt" "$WORK/out-rv.txt")"
    echo "rv_meta_mismatch=$(mism "$WORK/out-c.txt.meta" "$WORK/out-rv.txt.meta")"
    echo "lua_full_mismatch=$(mism "$WORK/out-c.txt" "$WORK/out-lua.txt")"
    echo "lua_meta_mismatch=$(mism "$WORK/out-c.txt.meta" "$WORK/out-lua.txt.meta")"
    if [ $HAVE_JQ = 1 ]; then
        echo "jq_full_mismatch=$(head -n "$NJQ" "$WORK/out-c.txt" | mism - "$WORK/out-jq.txt")"
        echo "jq_meta_mismatch=$(head -n "$NJQ" "$WORK/out-c.txt.meta" | mism - "$WORK/out-jq.txt.meta")"
    fi
    echo "rv_lines=$(wc -l < "$WORK/out-rv.txt")"
} > "$WORK/agree.txt"
cat "$WORK/agree.txt"

COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$ROOT" && git status --porcelain -- compiler vm grammar 2>/dev/null | head -n 1)
rc=0
python3 - "$WORK" "$RESULTS" "$N" "$NJQ" "$REPEAT" "$COMMIT${DIRTY:+ (compiler/vm/grammar modified)}" <<'PY' || rc=$?
import datetime, os, platform, re, sys
work, results, n, njq, rep, commit = sys.argv[1:7]

def kv(path):
    if not os.path.exists(path):
        return None
    d = {}
    for line in open(path):
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                d[k] = v
    return d

c, rv, lua, jq = (kv(os.path.join(work, f + ".log")) for f in ("c", "rv", "lua", "jq"))
ag = kv(os.path.join(work, "agree.txt"))
f = lambda d, k: float(d[k])

def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"

rows = [("hand C (decide.c, gcc -O2 -march=native)", c, n), ("routevm (bench/decide_vm.c, .rbc)", rv, n),
        ("Lua 5.4 (decide.lua, lua-cjson)", lua, n)]
if jq:
    rows.append(("jq (decide.jq; decision = total - parse-only `.id` run)", jq, njq))
out = []
out.append("## decide: the 20-rule policy, routevm vs hand C, Lua 5.4, jq")
out.append("")
out.append("- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"))
out.append("- machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu(), platform.release()))
out.append("- command: `make bench` (bench/decide.sh; N=%s requests from the anchors' gen.py, seed 42; "
           "REPEAT=%s timed passes for C and routevm, 2 for Lua; jq on the first %s)" % (n, rep, njq))
out.append("- routevm commit: %s; policy: bench/policies/decide20.route (full) and decide20_meta.route "
           "(meta: rules 3, 4, 6, 20 -- the message scans -- removed)" % commit)
out.append("- every implementation parses all requests first, then times its decision loop alone; "
           "ns per request; end-to-end = parse + median decision")
out.append("")
out.append("| implementation | requests | parse | full min | full median | meta min | meta median | end-to-end full | end-to-end meta |")
out.append("|---|---|---|---|---|---|---|---|---|")
for name, d, cnt in rows:
    p = f(d, "parse_ns_per_req")
    out.append("| %s | %s | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f |" % (
        name, cnt, p, f(d, "decide_ns_min"), f(d, "decide_ns_med"), f(d, "meta_ns_min"), f(d, "meta_ns_med"),
        p + f(d, "decide_ns_med"), p + f(d, "meta_ns_med")))
out.append("")
rvf, rvm = f(rv, "decide_ns_med"), f(rv, "meta_ns_med")
cf, cm, lf, lm = f(c, "decide_ns_med"), f(c, "meta_ns_med"), f(lua, "decide_ns_med"), f(lua, "meta_ns_med")
e2e = lambda d, k: f(d, "parse_ns_per_req") + f(d, k)
out.append("Ratios (medians): routevm / C full %.2fx, meta %.2fx; Lua / routevm full %.2fx, meta %.2fx; "
           "end-to-end routevm / C full %.2fx, meta %.2fx; routevm parse / C parse %.2fx."
           % (rvf / cf, rvm / cm, lf / rvf, lm / rvm, e2e(rv, "decide_ns_med") / e2e(c, "decide_ns_med"),
              e2e(rv, "meta_ns_med") / e2e(c, "meta_ns_med"), f(rv, "parse_ns_per_req") / f(c, "parse_ns_per_req")))
out.append("")
out.append("Agreement with hand C: routevm full %s, meta %s mismatches over %s (of %s decided); Lua %s / %s over %s%s." % (
    ag["rv_full_mismatch"], ag["rv_meta_mismatch"], n, ag["rv_lines"], ag["lua_full_mismatch"], ag["lua_meta_mismatch"], n,
    "; jq %s / %s over %s" % (ag["jq_full_mismatch"], ag["jq_meta_mismatch"], njq) if jq else ""))
out.append("")
vmb, vma, apd = int(rv["vm_bytes"]), int(rv["vm_alloc_bytes"]), float(rv["allocs_per_decision"])
targets = [
    ("full policy: routevm >= 5x faster than Lua (median)", "%.2fx (%.1f vs %.1f ns)" % (lf / rvf, lf, rvf), lf / rvf >= 5),
    ("full policy: routevm within 1.2x of hand C (median)", "%.2fx (%.1f vs %.1f ns)" % (rvf / cf, rvf, cf), rvf / cf <= 1.2),
    ("meta variant: routevm within 1.5x of hand C (median)", "%.2fx (%.1f vs %.1f ns)" % (rvm / cm, rvm, cm), rvm / cm <= 1.5),
    ("VM state per request < 4 KB", "%d B (sizeof(rv_vm) + stack); %d B with scratch and pcre2 match data" % (vmb, vma),
     vmb < 4096 and vma < 4096),
    ("no allocation per decision", "%.6f malloc calls per decision (counted in the timed loops)" % apd, apd == 0),
    ("routevm agrees with hand C on every decision",
     "%s + %s mismatches over %s" % (ag["rv_full_mismatch"], ag["rv_meta_mismatch"], n),
     ag["rv_full_mismatch"] == "0" and ag["rv_meta_mismatch"] == "0" and ag["rv_lines"] == n),
]
out.append("| target | measured | result |")
out.append("|---|---|---|")
for t, m, okk in targets:
    out.append("| %s | %s | %s |" % (t, m, "PASS" if okk else "MISS"))
met = sum(1 for t in targets if t[2])
out.append("")
out.append("%d of %d targets met." % (met, len(targets)))
section = "<!-- bench:decide begin -->\n" + "\n".join(out) + "\n<!-- bench:decide end -->\n"
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\n"
pat = re.compile(r"<!-- bench:decide begin -->.*?<!-- bench:decide end -->\n?", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
print("\n".join(out))
sys.exit(0 if met == len(targets) else 1)
PY
case $rc in
0) echo "decide: all targets met (bench/RESULTS.md)" ;;
1) echo "decide: a target was missed (bench/RESULTS.md)" ;;
*) fail "the report failed (status $rc)" ;;
esac
exit $rc
