#!/bin/sh
# The gateway's soak, longer than make check's (tests/suites/soak.sh runs
# the same traffic for 12 s): SOAK_SECONDS of mixed traffic from
# SOAK_WORKERS clients with SIGHUP reloads, on the optimised build, with a
# tighter bound on RSS growth.  Replaces the soak section of
# bench/RESULTS.md.
#
# usage: sh bench/soak.sh [BUILD]     (make bench runs it through bench/run.sh)
# env:   SOAK_SECONDS (120, at most 600)  SOAK_WORKERS (16)  SOAK_RSS_KB (4096)  RESULTS
# Exit status: 0 every check passed, 1 one failed, 2 an error.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
SOAK_SECONDS=${SOAK_SECONDS:-120}; [ "$SOAK_SECONDS" -le 600 ] || SOAK_SECONDS=600
SOAK_WORKERS=${SOAK_WORKERS:-16}; SOAK_RSS_KB=${SOAK_RSS_KB:-4096}
[ -x "$BUILD/routevm" ] && [ -x "$BUILD/mockprov" ] || { echo "soak: ERROR: $BUILD is not built (run make)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-soak.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
export SOAK_SECONDS SOAK_WORKERS SOAK_RSS_KB SOAK_FIGURES="$WORK/figures"
sh "$ROOT/tests/suites/soak.sh" "$BUILD" "$ROOT" | tee "$WORK/out"
[ -s "$WORK/figures" ] || { echo "soak: ERROR: no figures" >&2; exit 2; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$WORK/out" "$WORK/figures" "$RESULTS" "$COMMIT" <<'PY'
import datetime, os, re, sys
out, figs, results, commit = sys.argv[1:5]
f = dict(re.findall(r"(\w+)=(\S+)", open(figs).read()))
lines = [l for l in open(out).read().splitlines() if l.startswith(("PASS ", "FAIL "))]
t = ["## soak: the gateway under mixed traffic", "",
     "- date: " + datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
     "- command: `SOAK_SECONDS=%s SOAK_WORKERS=%s SOAK_RSS_KB=%s sh bench/soak.sh` (tests/suites/soak.sh on the "
     "optimised build; make check runs it for 12 s under ASan)" % (f["seconds"], f["workers"], os.environ["SOAK_RSS_KB"]),
     "- routevm commit %s; load average %s at the end" % (commit, open("/proc/loadavg").read().split()[0]),
     "- traffic (tests/soak/soak.py): JSON and streamed answers, clients leaving mid-stream, upstream 429s, 500s "
     "with and without a fallback, an upstream slower than the call's timeout, invalid JSON, unknown agents; "
     "`routevm serve --workers 2` against build/mockprov (tests/soak/script.json); SIGHUP every 0.5 s", "",
     "| figure | value |", "|---|---|",
     "| requests (3 s warm-up included) | %s |" % f["requests"],
     "| SIGHUP reloads during the traffic | %s |" % f["reloads"],
     "| descriptors after the warm-up / after the soak | %s / %s |" % (f["fd0"], f["fd1"]),
     "| RSS after the warm-up / after the soak | %.1f / %.1f MB (%+.1f MB) |" % (
         int(f["rss0"]) / 1024, int(f["rss1"]) / 1024, (int(f["rss1"]) - int(f["rss0"])) / 1024), "",
     "| check | result |", "|---|---|"]
t += ["| %s | %s |" % (l.split()[1], l.split(" ", 2)[0] + (": " + l.split(": ", 1)[1] if ": " in l else ""))
      for l in lines]
section = "<!-- bench:soak begin -->\n" + "\n".join(t) + "\n<!-- bench:soak end -->\n"
doc = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
pat = re.compile(r"<!-- bench:soak begin -->.*?<!-- bench:soak end -->\n?", re.S)
doc = pat.sub(lambda m: section, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + section
open(results, "w").write(doc)
PY
if grep -q '^FAIL ' "$WORK/out"; then echo "soak: a check failed (bench/RESULTS.md)"; exit 1; fi
echo "soak: every check passed (bench/RESULTS.md)"
exit 0
