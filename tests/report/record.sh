#!/bin/sh
# Records traces for the 'routevm report' tests: starts the mock provider
# (build/mockprov, tests/mock/README.md) with the end-to-end script
# tests/run/script.json, builds tests/report/policy.route.in for its port
# and sends the requests of tests/report/requests.jsonl (one a line: the
# agent, a tab, the request body) through 'routevm run --trace', appending
# every request's records to OUT.
#   sh tests/report/record.sh BIN OUT
# tests/report/data/mock.jsonl was recorded with it (its latencies are
# those of that run); tests/suites/report.sh records afresh and checks
# what does not depend on timing.
BIN=$1; OUT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
cd "$ROOT" || exit 2
T=$(mktemp -d)
MOCKPID=
cleanup() { [ -n "$MOCKPID" ] && kill -TERM "$MOCKPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
"$B/mockprov" --script tests/run/script.json --port-file "$T/port" --max-seconds 300 > /dev/null 2> "$T/mock.err" &
MOCKPID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/port" ] || { echo "record.sh: the mock did not start" >&2; cat "$T/mock.err" >&2; exit 2; }
sed "s/@PORT@/$(cat "$T/port")/" tests/report/policy.route.in > "$T/policy.route"
# built from inside $T, so source spans name "policy.route" in every run
(cd "$T" && "$B/routec" build policy.route -o policy.rbc) > "$T/build.out" 2>&1 || {
    echo "record.sh: the policy does not build" >&2; cat "$T/build.out" >&2; exit 2; }
: > "$OUT"
n=0
while IFS='	' read -r agent body; do
    case "$agent" in ''|'#'*) continue ;; esac
    n=$((n + 1))
    printf '%s\n' "$body" > "$T/req.json"
    ROUTEVM_TEST_OPENAI_KEY=sk-routevm-TESTKEY-0123456789abcdef timeout 30 \
        "$B/routevm" run "$T/policy.rbc" --agent "$agent" --request "$T/req.json" --trace "$OUT" > /dev/null 2>> "$T/run.err"
    rc=$?
    # 0 answered, 3 denied, 4 failed (vm/providers/run.h)
    if [ $rc -ne 0 ] && [ $rc -ne 3 ] && [ $rc -ne 4 ]; then echo "record.sh: request $n ($agent) ended with status $rc" >&2; cat "$T/run.err" >&2; exit 2; fi
done < tests/report/requests.jsonl
