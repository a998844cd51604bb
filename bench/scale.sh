#!/bin/sh
# Decisions at scale: a policy of 20,000 per-tenant equality rules
# ('when meta.tenant == "t00042" -> m2') against the same policy with 20
# rules, decided side by side in one process (bench/decide_vm.c times both
# over the same requests), plus each compiled with every rule block linear
# (routec build --no-dispatch) to show what dispatch on the key buys.
#
# usage: sh bench/scale.sh [BUILD]
# env:   N (200000 requests)  REPEAT (5)  RESULTS (bench/RESULTS.md; /dev/null to skip)
# Target (issue 7): 20,000 rules within 1.5x the time of 20 (medians).
# Exit status: 0 met, 1 missed, 2 could not run.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
N=${N:-200000}
REPEAT=${REPEAT:-5}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
fail() { echo "scale: ERROR: $*" >&2; exit 2; }
for f in routec libvm.a libcompiler.a; do [ -e "$BUILD/$f" ] || fail "$BUILD/$f is not built (run make)"; done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-scale.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

python3 - "$WORK" "$N" <<'PY'
import random, sys
work, n = sys.argv[1], int(sys.argv[2])
def policy(rules, path):
    with open(path, "w") as f:
        f.write('provider p { kind openai endpoint "https://x.example/v1" }\n')
        for m in range(4):
            f.write('model m%d from p { id "m%d" price in $1/Mtok, out $1/Mtok context 8k tokens }\n' % (m, m))
        f.write("agent decide { route {\n")
        for i in range(rules):
            f.write('  when meta.tenant == "t%05d" -> m%d\n' % (i, i % 3))
        f.write("  otherwise -> m3\n} }\n")
policy(20, work + "/p20.route")
policy(20000, work + "/p20000.route")
rnd = random.Random(42)
with open(work + "/reqs.jsonl", "w") as f:
    for i in range(n):
        # half the requests name one of the 20 tenants both policies know
        t = rnd.randrange(20) if rnd.random() < 0.5 else rnd.randrange(20000)
        f.write('{"model":"decide","messages":[{"role":"user","content":"hello"}],"metadata":{"tenant":"t%05d"}}\n' % t)
PY
(cd "$ROOT" && cc -O2 -Ivm -Icompiler -I"$BUILD/gen" -o "$WORK/decide_vm" bench/decide_vm.c \
    "$BUILD/libcompiler.a" "$BUILD/libvm.a" -lpcre2-8 -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lz -lm) ||
    fail "cannot build bench/decide_vm.c"
for v in 20 20000; do
    "$BUILD/routec" build "$WORK/p$v.route" -o "$WORK/p$v.rbc" || fail "routec build p$v"
    "$BUILD/routec" build --no-dispatch "$WORK/p$v.route" -o "$WORK/p$v-linear.rbc" || fail "routec build p$v (linear)"
done
echo "scale: dispatched: 20 rules (as 'full') and 20,000 rules (as 'meta'), $N requests"
"$WORK/decide_vm" "$WORK/p20.rbc" "$WORK/p20000.rbc" "$WORK/reqs.jsonl" "$REPEAT" > /dev/null 2> "$WORK/d.log" ||
    fail "decide_vm: $(cat "$WORK/d.log")"
cat "$WORK/d.log"
echo "scale: linear"
"$WORK/decide_vm" "$WORK/p20-linear.rbc" "$WORK/p20000-linear.rbc" "$WORK/reqs.jsonl" "$REPEAT" > /dev/null 2> "$WORK/l.log" ||
    fail "decide_vm: $(cat "$WORK/l.log")"
cat "$WORK/l.log"
python3 - "$WORK" "$RESULTS" "$N" "$REPEAT" <<'PY'
import datetime, sys
work, results, n, rep = sys.argv[1:5]
def kv(p):
    d = {}
    for tok in open(p).read().split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            d[k] = v
    return d
d, l = kv(work + "/d.log"), kv(work + "/l.log")
r = float(d["meta_ns_med"]) / float(d["decide_ns_med"])
rl = float(l["meta_ns_med"]) / float(l["decide_ns_med"])
ok = r <= 1.5
out = ["## scale: 20,000 per-tenant rules against 20", "",
       "- date: %s; command: `N=%s REPEAT=%s sh bench/scale.sh`" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), n, rep),
       "- requests: half name one of the 20 tenants both policies list, half any of 20,000; ns per decision, medians (min)", "",
       "| rule blocks | 20 rules | 20,000 rules | ratio |", "|---|---|---|---|",
       "| dispatched on meta.tenant | %s (%s) | %s (%s) | %.2fx |" % (d["decide_ns_med"], d["decide_ns_min"], d["meta_ns_med"], d["meta_ns_min"], r),
       "| linear (routec build --no-dispatch) | %s (%s) | %s (%s) | %.2fx |" % (l["decide_ns_med"], l["decide_ns_min"], l["meta_ns_med"], l["meta_ns_min"], rl),
       "", "Target: 20,000 rules within 1.5x of 20: %s (%.2fx)." % ("PASS" if ok else "MISS", r), ""]
text = "\n".join(out)
print(text)
if results != "/dev/null":
    import os, re
    section = "<!-- bench:scale begin -->\n" + text.rstrip("\n") + "\n<!-- bench:scale end -->\n"
    doc = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
    pat = re.compile(r"<!-- bench:scale begin -->.*?<!-- bench:scale end -->\n?", re.S)
    doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section
    with open(results, "w") as f:
        f.write(doc)
sys.exit(0 if ok else 1)
PY
