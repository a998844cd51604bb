#!/bin/sh
# Upstream HTTP client candidates for the gateway, side by side: how much
# a proxied request's upstream call costs the client with libcurl as
# routevm uses it and with the alternatives, before anyone replaces it.
# Every candidate (bench/upstream/cand_*.c) sends the same POST
# (bench/gateway/body.json with the header lines routevm sends an
# OpenAI-compatible provider) N times, one at a time, over one kept-alive
# connection to the gateway benchmarks' nginx mock upstream, reads each
# whole answer and checks its status and every byte of its body:
#   curl-easy         one easy handle reused, curl_easy_perform
#   curl-multi-url    libcurl multi on libevent (socket and timer
#                     callbacks, as vm/serve/curlev.c), the handle reset and
#                     its options set per request, the URL a string
#   curl-multi-curlu  the same, the URL parsed once (CURLOPT_CURLU)
#   curl-multi-keep   the same, options set once and the URL parsed once:
#                     libcurl's floor here
#   routevm           routevm's own engine (vm/providers/httpc.c on
#                     vm/serve/curlev.c, from BUILD's libraries): for this
#                     http:// URL its own HTTP/1.1 transport (h1.c)
#   routevm-curl      the same engine held to libcurl
#                     (ROUTEVM_HTTP_CLIENT=curl)
#   evhttp            libevent's HTTP client
#   bev, bev-now      a bufferevent writing the request, http_parser
#                     reading the answer (bev-now: written at once)
# and over TLS to the same nginx (NAME+tls; a self-signed certificate
# made for the run, verified): by default curl-multi-url, curl-multi-keep,
# bev (through bufferevent_openssl), routevm (its own transport over
# OpenSSL) and routevm-curl; any libcurl candidate can.  evhttp and
# bev-now are not set up for TLS here.  About 7 minutes on a busy 2-core
# machine.
# Measured for each, client process only, start-up and the first WARM
# requests excluded:
#   instructions per request  callgrind, --toggle-collect=up_measured
#   allocations per request   malloc/calloc/realloc calls (callgrind's
#                             call counts: the run at CG_N + 1 requests
#                             minus the run at 1, over CG_N)
#   system calls per request  strace -f -c, (run at ST_N2 - run at ST_N1)
#                             / (ST_N2 - ST_N1)
#   wall and CPU time         in-process (clock_gettime, getrusage) over
#                             WALL_N requests; REPEAT rounds with the
#                             candidates interleaved; medians
# No target: it records what each client costs (bench/RESULTS.md).
#
# usage: sh bench/upstream.sh [BUILD]     (make bench runs it through bench/run.sh)
# env:   CG_N (2000)  ST_N1 (100)  ST_N2 (1100)  WALL_N (20000)  REPEAT (5)
#        WARM (10)  CANDS (all, and curl-multi-url+tls curl-multi-keep+tls
#        bev+tls routevm+tls routevm-curl+tls)  PORT_BASE (27580: it and the next two)  RESULTS
# Exit status: 0 done, 2 an error, 3 cannot run here (no nginx).
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CG_N=${CG_N:-2000}; ST_N1=${ST_N1:-100}; ST_N2=${ST_N2:-1100}
WALL_N=${WALL_N:-20000}; REPEAT=${REPEAT:-5}; WARM=${WARM:-10}
CANDS=${CANDS:-curl-easy curl-multi-url curl-multi-curlu curl-multi-keep routevm routevm-curl evhttp bev bev-now curl-multi-url+tls curl-multi-keep+tls bev+tls routevm+tls routevm-curl+tls}
PORT_BASE=${PORT_BASE:-27580}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
PORT=$PORT_BASE

say() { echo "upstream: $*"; }
. "$ROOT/bench/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
command -v nginx > /dev/null 2>&1 || { say "SKIP: nginx not found (mk/deps.sh bench installs it)"; exit 3; }
for l in libserve.a libproviders.a libvm.a; do
    [ -f "$BUILD/$l" ] || { say "ERROR: $BUILD/$l is not built (run make)" >&2; exit 2; }
done
COUNT=1
for t in valgrind strace; do
    command -v $t > /dev/null 2>&1 || { say "$t not found: instructions, allocations and system calls not counted"; COUNT=0; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-upstream.XXXXXX")
BENCH_MOCK_PID=
cleanup() {
    [ -n "$BENCH_MOCK_PID" ] && kill "$BENCH_MOCK_PID" 2> /dev/null && wait "$BENCH_MOCK_PID" 2> /dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

(cd "$ROOT" && cc -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Ivm -Ivm/providers -Ivm/serve \
    -o "$WORK/upstream" bench/upstream/*.c "$BUILD/libserve.a" "$BUILD/libproviders.a" "$BUILD/libvm.a" \
    -lcurl -levent -levent_openssl -lhttp_parser -lssl -lcrypto -lpthread) ||
    { say "ERROR: bench/upstream does not build" >&2; exit 2; }
bench_mock_start "$WORK" $PORT $((PORT + 1)) $((PORT + 2)) ||
    { say "ERROR: the mock upstream did not start" >&2; exit 2; }
bench_mock_answer "$WORK/answer.json" || { say "ERROR: no answer found in nginx-mock.conf.in" >&2; exit 2; }
BODY=$ROOT/bench/gateway/body.json
# client CAND N [COMMAND...]: the client's N requests (under COMMAND);
# CAND+tls: CAND on the TLS port
client() {
    _c=$1 _n=$2
    shift 2
    case $_c in
    *+tls) "$@" "$WORK/upstream" "${_c%+tls}" $((PORT + 2)) "$BODY" "$WORK/answer.json" "$_n" "$WARM" "$WORK/tls.crt" ;;
    *) "$@" "$WORK/upstream" "$_c" $PORT "$BODY" "$WORK/answer.json" "$_n" "$WARM" ;;
    esac
}

# every candidate gets every answer right before anything is counted, and
# is caught when the answer differs (the SSE port answers other bytes)
for c in $CANDS; do
    client $c 100 > /dev/null || { say "ERROR: candidate $c failed" >&2; exit 2; }
    case $c in *+tls) continue ;; esac      # the same code checks the answer
    if "$WORK/upstream" $c $((PORT + 1)) "$BODY" "$WORK/answer.json" 1 1 > /dev/null 2>&1; then
        say "ERROR: candidate $c took a different answer for the upstream's" >&2; exit 2
    fi
done

COUNTS=$WORK/counts.tsv
: > "$COUNTS"
if [ $COUNT = 1 ]; then
    say "counting (callgrind: $CG_N requests; strace: $ST_N1 and $ST_N2)"
    for c in $CANDS; do
        for n in 1 $((CG_N + 1)); do
            client $c $n valgrind --tool=callgrind --toggle-collect=up_measured --callgrind-out-file="$WORK/cg-$c-$n.out" \
                > /dev/null 2> "$WORK/cg-$c-$n.log" ||
                { say "ERROR: $c under callgrind:" >&2; tail -5 "$WORK/cg-$c-$n.log" >&2; exit 2; }
        done
        for n in $ST_N1 $ST_N2; do
            client $c $n strace -f -c -o "$WORK/st-$c-$n.txt" > /dev/null 2> "$WORK/st-$c-$n.log" ||
                { say "ERROR: $c under strace:" >&2; cat "$WORK/st-$c-$n.log" >&2; exit 2; }
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $c "$WORK/cg-$c-1.out" "$WORK/cg-$c-$((CG_N + 1)).out" $CG_N \
            "$WORK/st-$c-$ST_N1.txt" "$WORK/st-$c-$ST_N2.txt" $((ST_N2 - ST_N1)) >> "$COUNTS"
        say "$c counted"
    done
fi

say "timing: $REPEAT rounds of $WALL_N requests per candidate, interleaved"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
TIMES=$WORK/times.txt
: > "$TIMES"
r=1
while [ $r -le "$REPEAT" ]; do
    for c in $CANDS; do
        client $c "$WALL_N" >> "$TIMES" || { say "ERROR: candidate $c failed" >&2; exit 2; }
    done
    r=$((r + 1))
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

COMMIT=$(git -C "$ROOT" describe --always --dirty 2> /dev/null || echo unknown)
VERS="$(curl-config --version 2> /dev/null || echo libcurl); libevent $(pkg-config --modversion libevent 2> /dev/null || echo '?'); http-parser $(dpkg-query -W -f='${Version}' libhttp-parser-dev 2> /dev/null || echo '?'); $(nginx -v 2>&1 | sed 's/^nginx version: //')"
python3 "$ROOT/bench/upstream/report.py" "$COUNTS" "$TIMES" "$RESULTS" "$COMMIT" "$VERS" \
    "$CG_N $ST_N1 $ST_N2 $WALL_N $REPEAT $WARM" "$LOAD0" "$LOAD1" "$CANDS" ||
    { say "ERROR: the report failed" >&2; exit 2; }
