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
# MODES=cpu times instead, side by side: two gateways, one with the
# engine's own HTTP/1.1 transport for its upstream calls and one held to
# libcurl (ROUTEVM_HTTP_CLIENT=curl) -- or, with VS=OTHER_BUILD, this
# build against OTHER_BUILD's routevm, both on the own transport -- each
# loaded in turn by wrk -t2 -c64 for DUR seconds, ROUNDS rounds; CPU per
# request is the server's utime + stime (/proc/PID/stat) over the run
# divided by the requests wrk counted, printed with its split (user,
# system), and the upstream's (the nginx mock's worker) the same way: a
# gateway that opens upstream connections it could have kept shows there.
# WITH_NGINX=1 adds nginx proxy_pass (bench/gateway/nginx-proxy.conf.in, one
# worker, JSON only) to each round, against the same mock, as the anchor.
# Timed figures wander on a shared machine: only the pair's ratio,
# measured in one run, means much.
#
# KINDS tls and tls-curl: JSON requests whose upstream is https:// (the
# same nginx over TLS, a certificate made for the run and trusted through
# SSL_CERT_FILE), through the engine's own transport and held to libcurl.
#
# usage: sh bench/gateway_count.sh [BUILD]
# env:   N1 (100)  N2 (1100)  MODES ("callgrind strace"; or "cpu")  KINDS ("json sse"; also tls, tls-curl)
#        PORT_BASE (27380: it and the next three)  KEEP (keep the callgrind files in this directory)
#        DUR (5)  ROUNDS (3)  VS  WITH_NGINX (MODES=cpu)
# Prints one line per (tool, kind): instructions or syscalls per request,
# and for strace the per-request count of each system call; for cpu, each
# round's requests per second and CPU microseconds per request of both.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
G=$ROOT/bench/gateway
N1=${N1:-100}; N2=${N2:-1100}
MODES=${MODES:-callgrind strace}; KINDS=${KINDS:-json sse}
PORT_BASE=${PORT_BASE:-27380}
MOCK_PORT=$PORT_BASE SSE_PORT=$((PORT_BASE + 1)) RV_PORT=$((PORT_BASE + 2)) TLS_PORT=$((PORT_BASE + 4))
KEEP=${KEEP:-}

say() { echo "gateway_count: $*"; }
. "$ROOT/bench/lib.sh"
[ -x "$BUILD/routevm" ] || { say "ERROR: $BUILD/routevm is not built" >&2; exit 2; }
PATH=$PATH:/usr/sbin:/sbin
case " $MODES " in *" cpu "*) NEED="nginx wrk" ;; *) NEED="nginx valgrind strace curl" ;; esac
for t in $NEED; do
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
sed "s|http://127.0.0.1:@MOCK_PORT@|https://127.0.0.1:$TLS_PORT|" "$G/policy.route.in" > "$WORK/policy-tls.route"
cp "$WORK/body-json.json" "$WORK/body-tls.json"
case " $KINDS " in
*" tls"*) bench_mock_start "$WORK" $MOCK_PORT $SSE_PORT $TLS_PORT; rc=$?
          export SSL_CERT_FILE="$WORK/tls.crt" ;;     # both HTTP clients trust nginx's certificate
*) bench_mock_start "$WORK" $MOCK_PORT $SSE_PORT; rc=$? ;;
esac
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
    pol=${kind%-curl} client=
    case $kind in *-curl) client=curl ;; esac
    ROUTEVM_HTTP_CLIENT=$client "$@" "$BUILD/routevm" serve "$WORK/policy-$pol.route" --listen 127.0.0.1:$RV_PORT \
        --workers 1 2> "$out.log" &
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
        -H 'Authorization: Bearer sk-mock' --data-binary @"$WORK/body-$pol.json" > "$out.codes"
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

# cpu_runs KIND: the own transport and libcurl side by side (above)
cpu_runs() {
    kind=$1 hz=$(getconf CLK_TCK) dur=${DUR:-5} rounds=${ROUNDS:-3}
    curl_port=$((PORT_BASE + 3))
    "$BUILD/routevm" serve "$WORK/policy-$kind.route" --listen 127.0.0.1:$RV_PORT --workers 1 2> "$WORK/own.log" &
    own=$!
    if [ -n "${VS:-}" ]; then
        other=$VS
        case $other in /*) ;; *) other=$ROOT/$other ;; esac
        "$other/routevm" serve "$WORK/policy-$kind.route" --listen 127.0.0.1:$curl_port --workers 1 \
            2> "$WORK/curl.log" &
        b=vs
    else
        ROUTEVM_HTTP_CLIENT=curl "$BUILD/routevm" serve "$WORK/policy-$kind.route" --listen 127.0.0.1:$curl_port \
            --workers 1 2> "$WORK/curl.log" &
        b=curl
    fi
    lib=$!
    PIDS="$PIDS $own $lib"
    wait_port $RV_PORT
    wait_port $curl_port
    up=$(ps -o pid= --ppid "$BENCH_MOCK_PID" | tr -d ' ' | head -1)
    ngx=
    if [ "${WITH_NGINX:-}" = 1 ] && [ "$kind" = json ]; then
        ngx_port=$((PORT_BASE + 4))
        mkdir -p "$WORK/proxy_body" "$WORK/proxy_tmp"
        sed -e "s|@TMP@|$WORK|g" -e "s|@MOCK_PORT@|$MOCK_PORT|g" -e "s|@NGX_PORT@|$ngx_port|g" \
            "$G/nginx-proxy.conf.in" > "$WORK/proxy.conf"
        nginx -p "$WORK" -c "$WORK/proxy.conf" -e "$WORK/proxy.err" &
        ngx_master=$!
        PIDS="$PIDS $ngx_master"
        wait_port $ngx_port
        ngx_pid=$(ps -o pid= --ppid $ngx_master | tr -d ' ' | head -1)
        ngx=nginx
    fi
    r=1
    while [ $r -le "$rounds" ]; do
        for which in $ngx own $b; do
            case $which in
            own) pid=$own port=$RV_PORT body=$WORK/body-$kind.json ;;
            nginx) pid=$ngx_pid port=$ngx_port body=$G/body.json ;;
            *) pid=$lib port=$curl_port body=$WORK/body-$kind.json ;;
            esac
            u0=$(awk '{print $14}' "/proc/$pid/stat") s0=$(awk '{print $15}' "/proc/$pid/stat")
            m0=$(awk '{print $14 + $15}' "/proc/$up/stat")
            BODY_FILE=$body timeout $((dur + 10)) wrk -t2 -c64 -d${dur}s -s "$G/post.lua" \
                "http://127.0.0.1:$port/v1/chat/completions" > "$WORK/wrk.out" 2>&1
            u1=$(awk '{print $14}' "/proc/$pid/stat") s1=$(awk '{print $15}' "/proc/$pid/stat")
            m1=$(awk '{print $14 + $15}' "/proc/$up/stat")
            n=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
            bad=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.out")
            [ -n "$n" ] && [ "$n" -gt 0 ] && [ -z "$bad" ] || { say "ERROR: wrk against $which:" >&2; cat "$WORK/wrk.out" >&2; exit 2; }
            awk -v k="$kind" -v w=$which -v r=$r -v n="$n" -v d="$dur" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v m=$((m1 - m0)) \
                -v hz="$hz" 'BEGIN {f = 1e6 / hz / n; printf "gateway_count: cpu %s round %d %-5s %8.0f requests/s %6.1f us CPU per request (user %.1f, system %.1f; upstream %.1f)\n", k, r, w, n / d, (u + s) * f, u * f, s * f, m * f}'
        done
        r=$((r + 1))
    done
    kill $own $lib ${ngx:+$ngx_master} 2> /dev/null
    wait $own $lib ${ngx:+$ngx_master} 2> /dev/null
}

for tool in $MODES; do
    if [ "$tool" = cpu ]; then
        say "load average $(cut -d' ' -f1-3 /proc/loadavg)"
        for kind in $KINDS; do cpu_runs $kind; done
        continue
    fi
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
