#!/bin/sh
# Provider wire layer benchmark: CPU time of signing a Bedrock request
# with SigV4 and of decoding streamed answers (SSE, AWS event-stream) with
# vm/providers/ -- the share of issue 8's per-call budget (30 us of
# client-side CPU per call) these modules take.  bench/wire.c does the
# timing; this script builds it against BUILD's libraries, runs it and
# replaces the wire section of bench/RESULTS.md.
#
# usage: sh bench/wire.sh [BUILD]        (make bench runs it through bench/run.sh)
# env:   ROUNDS (15)  RESULTS (bench/RESULTS.md)
#
# Targets (exit 1 if one is missed), on medians:
#   signing a Bedrock Converse request (1.6 KB body)     <= 10 us  (a third of the budget)
#   decoding a Bedrock ConverseStream answer (~1 KB)      <= 5 us
#   decoding an OpenAI SSE stream                         <= 5 us per KiB of stream
# Exit status: 0 all met, 1 a target missed, 2 could not run.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ROUNDS=${ROUNDS:-15}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
for f in libproviders.a libvm.a; do
    [ -e "$BUILD/$f" ] || { echo "wire: ERROR: $BUILD/$f is not built (run make)" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-wire.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
cc -std=gnu11 -O2 -I"$ROOT/vm" -I"$ROOT/vm/providers" -o "$WORK/wire" "$ROOT/bench/wire.c" \
    "$BUILD/libproviders.a" "$BUILD/libvm.a" -lcrypto -lz || { echo "wire: ERROR: bench/wire.c does not build" >&2; exit 2; }
"$WORK/wire" "$ROOT" "$ROUNDS" > "$WORK/out" || { echo "wire: ERROR: bench/wire failed" >&2; exit 2; }
cat "$WORK/out"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
rc=0
python3 - "$WORK/out" "$RESULTS" "$ROUNDS" "$COMMIT" <<'PY' || rc=$?
import datetime, os, platform, re, sys
out, results, rounds, commit = sys.argv[1:5]
rows = {}
for line in open(out):
    name, size, lo, med = line.rstrip("\n").split("\t")
    rows[name] = (int(size), float(lo), float(med))

def cpu():
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()

label = {
    "sign": "`sv4_sign`: Bedrock Converse request, 1.6 KB body, session token, warm key cache",
    "sse": "SSE decode: OpenAI stream (tests/vectors/sse/openai/e2aad469..., 34 events)",
    "es": "event-stream decode: Bedrock ConverseStream (tests/eventstream/cases/bedrock_converse_stream, 6 frames)",
    "es_encode": "`es_encode`: one contentBlockDelta frame (the mock provider's work)",
}
o = ["## wire: the provider wire layer's CPU per call", "",
     "- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
     "- machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu(), platform.release()),
     "- command: `make bench` (bench/wire.sh; ROUNDS=%s, CPU time, decoders created and freed per stream)" % rounds,
     "- routevm commit: %s" % commit, "",
     "| operation | input bytes | min us | median us |", "|---|---|---|---|"]
for k in ("sign", "sse", "es", "es_encode"):
    size, lo, med = rows[k]
    o.append("| %s | %s | %.2f | %.2f |" % (label[k], size or "", lo, med))
sse_kib = rows["sse"][2] / (rows["sse"][0] / 1024.0)
targets = [
    ("signing a Bedrock request median <= 10 us", "%.2f us" % rows["sign"][2], rows["sign"][2] <= 10),
    ("decoding a ~1 KB Bedrock stream median <= 5 us", "%.2f us" % rows["es"][2], rows["es"][2] <= 5),
    ("decoding SSE median <= 5 us per KiB", "%.2f us/KiB" % sse_kib, sse_kib <= 5),
]
o += ["", "| target | measured | result |", "|---|---|---|"]
for t, m, ok in targets:
    o.append("| %s | %s | %s |" % (t, m, "PASS" if ok else "MISS"))
section = "<!-- bench:wire begin -->\n" + "\n".join(o) + "\n<!-- bench:wire end -->\n"
text = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
pat = re.compile(r"<!-- bench:wire begin -->.*?<!-- bench:wire end -->\n?", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(results, "w").write(text)
sys.exit(0 if all(ok for _, _, ok in targets) else 1)
PY
case $rc in
0) echo "wire: all targets met (bench/RESULTS.md)" ;;
1) echo "wire: a target was missed (bench/RESULTS.md)" ;;
esac
exit $rc
