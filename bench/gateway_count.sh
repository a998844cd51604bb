#!/bin/sh
# Deterministic per-request costs of 'routevm serve' (one worker), for
# comparing builds on a shared machine where wall and CPU time wander:
# instructions per request under valgrind's callgrind and system calls
# per request under strace, for JSON and streamed answers, through the
# gateway benchmark's policy (bench/gateway/policy.route.in) to the same
# nginx upstream (bench/gateway/nginx-mock.conf.in).
#
# Each figure is the difference between two runs of one sequential
# keep-alive client (one curl process given the URL N times, which reuses
# its connection) sending N1 and N2 requests, divided by N2 - N1, so
# start-up and shutdown cancel out.
#
# usage: sh bench/gateway_count.sh [BUILD]
# env:   N1 (100)  N2 (1100)  MODES ("callgrind strace")  KINDS ("json sse")
#        PORT_BASE (27380)  KEEP (keep the callgrind files in this directory)
# Prints one line per (tool, kind): instructions or syscalls per request,
# and for strace the per-request count of each system call.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
G=$ROOT/bench/gateway
N1=${N1:-100}; N2=${N2:-1100}
MODES=${MODES:-callgrind strace}; KINDS=${KINDS:-json sse}
PORT_BASE=${PORT_BASE:-27380}
MOCK_PORT=$PORT_BASE SSE_PORT=$((PORT_BASE + 1)) RV_PORT=$((PORT_BASE + 2))
KEEP=${KEEP:-}

say() { echo "gateway_count: $*"; }
. "$ROOT/bench/lib.sh"
[ -x "$BUILD/routevm" ] || { say "ERROR: $BUILD/routevm is not built" >&2; exit 2; }
PATH=$PATH:/usr/sbin:/sbin
for t in nginx valgrind strace curl; do
    command -v $t > /dev/null 2>&1 || { say "SKIP: $t not found"; exit 3; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-count.XXXXXX")
PIDS=""
cleanup() {
    [ -s "$WORK/server.pid" ] && kill "$(cat "$WORK/server.pid")" 2> /dev/null
    for p in $PIDS; do kill "$p" 2> /dev/null; done
    wait 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

wait_port() { bench_wait_port "$1" 600 || { say "ERROR: port $1 never opened" >&2; exit 2; }; }
sed "s|@MOCK_PORT@|$MOCK_PORT|" "$G/policy.route.in" > "$WORK/policy-json.route"
sed "s|@MOCK_PORT@|$SSE_PORT|" "$G/policy.route.in" > "$WORK/policy-sse.route"
sed 's/"model":"gpt-4o-mini"/"model":"support"/' "$G/body.json" > "$WORK/body-json.json"
sed 's/"model":"gpt-4o-mini"/"model":"support","stream":true/' "$G/body.json" > "$WORK/body-sse.json"
bench_mock_start "$WORK" $MOCK_PORT $SSE_PORT; rc=$?
PIDS="$PIDS $BENCH_MOCK_PID"
[ $rc = 0 ] || { say "ERROR: the mock upstream did not start" >&2; exit 2; }
export LLM_GATEWAY_KEY=sk-mock

# one_run TOOL KIND N: serve under TOOL, N requests, stop; prints the total
one_run() {
    out=$WORK/$1-$2-$3
    case $1 in
    callgrind) set -- "$1" "$2" "$3" valgrind --tool=callgrind --callgrind-out-file="$out.cg" ;;
    strace) set -- "$1" "$2" "$3" strace -f -c -o "$out.st" ;;
    esac
    tool=$1 kind=$2 n=$3
    shift 3
    "$@" "$BUILD/routevm" serve "$WORK/policy-$kind.route" --listen 127.0.0.1:$RV_PORT --workers 1 \
        2> "$out.log" &
    pid=$!
    wait_port $RV_PORT
    # the server itself: under strace, the tracer's child (strace does not
    # pass SIGTERM on to what it traces)
    srv=$pid
    [ "$tool" = strace ] && srv=$(ps -o pid= --ppid $pid | tr -d ' ')
    echo "$srv" > "$WORK/server.pid"
    url=http://127.0.0.1:$RV_PORT/v1/chat/completions
    i=0
    : > "$out.urls"
    while [ $i -lt "$n" ]; do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; i=$((i + 1)); done > "$out.urls"
    curl -s -w '%{http_code}\n' -K "$out.urls" -H 'Content-Type: application/json' \
        -H 'Authorization: Bearer sk-mock' --data-binary @"$WORK/body-$kind.json" > "$out.codes"
    kill -TERM $srv
    wait $pid
    : > "$WORK/server.pid"
    # every request answered 200 on one connection
    ok=$(grep -c '^200$' "$out.codes")
    [ "$ok" = "$n" ] || { say "ERROR: $ok of $n requests answered 200" >&2; exit 2; }
    case $tool in
    callgrind)
        [ -n "$KEEP" ] && cp "$out.cg" "$KEEP/$kind-$n.cg"
        awk '/^summary:/ {print $2}' "$out.cg" ;;
    strace)
        awk '$NF == "total" {print $4}' "$out.st" ;;
    esac
}

for tool in $MODES; do
    for kind in $KINDS; do
        a=$(one_run $tool $kind $N1) && b=$(one_run $tool $kind $N2) && [ -n "$a" ] && [ -n "$b" ] || exit 2
        per=$(awk -v a="$a" -v b="$b" -v n=$((N2 - N1)) 'BEGIN {printf "%.1f", (b - a) / n}')
        case $tool in
        callgrind) say "$kind: $per instructions per request ($N1: $a, $N2: $b)" ;;
        strace)
            say "$kind: $per system calls per request ($N1: $a, $N2: $b)"
            # per call: (calls at N2 - calls at N1) / (N2 - N1)
            # strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall
            awk -v n=$((N2 - N1)) 'FNR == NR && /^ *[0-9]/ && $NF != "total" {a[$NF] = $4}
                FNR != NR && /^ *[0-9]/ && $NF != "total" {d = ($4 - a[$NF]) / n; if (d >= 0.05) printf "    %-16s %.2f\n", $NF, d}' \
                "$WORK/strace-$kind-$N1.st" "$WORK/strace-$kind-$N2.st" | sort -k2 -rn ;;
        esac
    done
done
