#!/bin/sh
# Gateway benchmark: 'routevm serve' side by side with nginx proxy_pass,
# HAProxy and the Portkey gateway, the anchors of issue 9, on one machine with one load generator
# and one upstream.  The upstream is nginx answering a fixed OpenAI chat
# completion (bench/gateway/nginx-mock.conf.in); routevm runs the 20-rule
# policy with a guardrail (bench/gateway/policy.route.in) whose models all
# point at it.  Every server has one worker.  The anchors' files are
# copied in bench/gateway/ (README.md there gives their origin).  Portkey
# (Node.js, the version the anchors measured) is installed from
# bench/gateway/portkey/package-lock.json with npm ci into
# BUILD/bench-portkey, once per lock file; without node and npm, or when
# the install fails, its rows are left out and the report says why.
#
# usage: sh bench/gateway.sh [BUILD]     (make bench runs it through bench/run.sh)
# env:   DUR (10 s per load run, at most 15)  RUNS (3)  SEQ_N (5000)
#        STREAMS (10000)  OPEN_SECONDS (150)  WINDOW (200 streams opening at a time)
#        RESULTS (bench/RESULTS.md)
#        PORT_BASE (18280: PORT_BASE..PORT_BASE+7 on 127.0.0.1)
#
# Measured, each load run interleaved (direct, nginx, haproxy, routevm,
# the streamed pair, then portkey) with wrk -t2 -c64 and bench/gateway/post.lua:
#   throughput, p50/p99, CPU us per request of the server process (utime
#   + stime from /proc/PID/stat over the run / requests), RSS during the
#   run and its peak; sequential latency (bench/gateway/seqlat.c, one
#   connection) and what each path adds to the upstream alone, then the
#   same with every process pinned to one core (taskset; the proxies' own
#   work without cross-CPU wake-ups, reported beside the targets); routevm's
#   decision time from its own histogram (routevm_decision_seconds, the
#   VM's time per request: routing, guardrails, budgets) scraped from
#   /metrics around the runs; streams: the same for "stream": true through
#   routevm against the upstream's SSE answer; then STREAMS idle streams
#   held open at once (bench/gateway/holdsse.c, WINDOW of them opening at
#   a time, against build/mockprov sending each stream's first words and
#   then one byte every 4 s, inside routevm's 30 s idle limit) and
#   routevm's RSS.
# Targets (issue 9; exit 1 if one is missed):
#   throughput >= 0.8x nginx's (medians)      CPU <= 50 us per request
#   RSS < 20 MB at 64 connections             added latency <= +60 us p50, +150 us p99
#   STREAMS idle streams in < 1 GB            decision time p99 < 5 us
# Exit status: 0 all met, 1 a target missed, 2 an error, 3 cannot run here.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
G=$ROOT/bench/gateway
DUR=${DUR:-10}; [ "$DUR" -le 15 ] || DUR=15
RUNS=${RUNS:-3}; SEQ_N=${SEQ_N:-5000}; STREAMS=${STREAMS:-10000}; OPEN_SECONDS=${OPEN_SECONDS:-150}
WINDOW=${WINDOW:-200}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
PORT_BASE=${PORT_BASE:-18280}
MOCK_PORT=$PORT_BASE SSE_PORT=$((PORT_BASE + 1)) NGX_PORT=$((PORT_BASE + 2)) HAP_PORT=$((PORT_BASE + 3))
RV_PORT=$((PORT_BASE + 4)) RVS_PORT=$((PORT_BASE + 5)) IDLE_PORT=$((PORT_BASE + 6)) PK_PORT=$((PORT_BASE + 7))

say() { echo "gateway: $*"; }
. "$ROOT/bench/lib.sh"
for f in routevm mockprov; do
    [ -x "$BUILD/$f" ] || { say "ERROR: $BUILD/$f is not built (run make)" >&2; exit 2; }
done
sh "$ROOT/mk/deps.sh" bench || { say "SKIP: nginx, haproxy and wrk are needed (mk/deps.sh bench)"; exit 3; }
for t in nginx haproxy wrk; do
    command -v $t > /dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v $t > /dev/null 2>&1 || { say "SKIP: $t not found"; exit 3; }
done
# the idle streams need two descriptors each in routevm (client, upstream)
ulimit -n "$(ulimit -Hn)" 2> /dev/null
FDS=$(ulimit -n)
if [ "$FDS" != unlimited ] && [ $((STREAMS * 2 + 200)) -gt "$FDS" ]; then
    STREAMS=$(((FDS - 200) / 2))
    say "only $FDS descriptors: holding $STREAMS streams"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/routevm-bench-gateway.XXXXXX")
mkdir -p "$WORK/proxy_body" "$WORK/proxy_tmp" "$WORK/raw"
PIDS=""
stop_pid() {   # SIGTERM, SIGKILL after 5 s
    kill "$1" 2> /dev/null || return 0
    i=0
    while kill -0 "$1" 2> /dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$1" 2> /dev/null || true
}
cleanup() { for p in $PIDS; do stop_pid "$p"; done; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 2' INT TERM

wait_port() { bench_wait_port "$1" || { say "ERROR: port $1 never opened" >&2; exit 2; }; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# a process and its children (nginx: master and worker)
tree() { echo "$1"; ps -o pid= --ppid "$1" 2> /dev/null; }
tree_ticks() { s=0; for p in $(tree "$1"); do s=$((s + $(ticks "$p" 2> /dev/null || echo 0))); done; echo $s; }
tree_kb() {   # tree_kb PID VmRSS|VmHWM
    s=0
    for p in $(tree "$1"); do s=$((s + $(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/status" 2> /dev/null || echo 0))); done
    echo $s
}

cc -O2 -o "$WORK/seqlat" "$G/seqlat.c" && cc -O2 -Wall -o "$WORK/holdsse" "$G/holdsse.c" ||
    { say "ERROR: the load tools do not build" >&2; exit 2; }
subst() {
    sed -e "s|@TMP@|$WORK|g" -e "s|@MOCK_PORT@|$MOCK_PORT|g" -e "s|@SSE_PORT@|$SSE_PORT|g" \
        -e "s|@NGX_PORT@|$NGX_PORT|g" -e "s|@HAP_PORT@|$HAP_PORT|g" "$1" > "$2"
}
subst "$G/nginx-proxy.conf.in" "$WORK/proxy.conf"
subst "$G/haproxy.cfg.in" "$WORK/haproxy.cfg"
sed "s|@MOCK_PORT@|$MOCK_PORT|" "$G/policy.route.in" > "$WORK/policy.route"
sed "s|@MOCK_PORT@|$SSE_PORT|" "$G/policy.route.in" > "$WORK/policy-sse.route"
# one body for every path: the anchors' request, addressed to the agent
sed 's/"model":"gpt-4o-mini"/"model":"support"/' "$G/body.json" > "$WORK/body.json"
sed 's/"model":"gpt-4o-mini"/"model":"support","stream":true/' "$G/body.json" > "$WORK/body-sse.json"
grep -q '"model":"support"' "$WORK/body.json" || { say "ERROR: body.json has no model to rewrite" >&2; exit 2; }

bench_mock_start "$WORK" $MOCK_PORT $SSE_PORT; rc=$?
MOCK_PID=$BENCH_MOCK_PID; PIDS="$PIDS $MOCK_PID"
[ $rc = 0 ] || { say "ERROR: the mock upstream did not start" >&2; exit 2; }
nginx -p "$WORK" -c "$WORK/proxy.conf" -e "$WORK/proxy.err" & NGX_PID=$!; PIDS="$PIDS $NGX_PID"
haproxy -db -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 & HAP_PID=$!; PIDS="$PIDS $HAP_PID"
export LLM_GATEWAY_KEY=sk-mock
"$BUILD/routevm" serve "$WORK/policy.route" --listen 127.0.0.1:$RV_PORT --workers 1 2> "$WORK/routevm.log" &
RV_PID=$!; PIDS="$PIDS $RV_PID"
"$BUILD/routevm" serve "$WORK/policy-sse.route" --listen 127.0.0.1:$RVS_PORT --workers 1 2> "$WORK/routevm-sse.log" &
RVS_PID=$!; PIDS="$PIDS $RVS_PID"
for p in $MOCK_PORT $SSE_PORT $NGX_PORT $HAP_PORT $RV_PORT $RVS_PORT; do wait_port $p; done

# Portkey: its provider and upstream come in headers (the anchors' way)
PK="" PK_PID="" PK_NOTE=""
PKD=$BUILD/bench-portkey
PK_SERVER=$PKD/node_modules/@portkey-ai/gateway/build/start-server.js
PK_H1="x-portkey-provider: openai" PK_H2="x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1"
if ! command -v node > /dev/null 2>&1 || ! command -v npm > /dev/null 2>&1; then
    PK_NOTE="node and npm are not installed"
else
    if [ ! -f "$PK_SERVER" ] || ! cmp -s "$G/portkey/package-lock.json" "$PKD/package-lock.json"; then
        say "installing the Portkey gateway (npm ci into $PKD)"
        rm -rf "$PKD" && mkdir -p "$PKD" && cp "$G/portkey/package.json" "$G/portkey/package-lock.json" "$PKD/" &&
            (cd "$PKD" && timeout 600 npm ci --ignore-scripts --no-audit --no-fund > npm.log 2>&1) ||
            PK_NOTE="npm ci failed (see $PKD/npm.log)"
    fi
    if [ -z "$PK_NOTE" ]; then
        (cd "$PKD/node_modules/@portkey-ai/gateway" && NODE_ENV=production exec node build/start-server.js \
            --port=$PK_PORT --headless) > "$WORK/portkey.log" 2>&1 &
        PK_PID=$!; PIDS="$PIDS $PK_PID"
        i=0
        while [ $i -lt 300 ] && ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $PK_PORT), 0.2)" 2> /dev/null; do
            sleep 0.1; i=$((i + 1))
        done
        [ $i -lt 300 ] && PK=portkey || PK_NOTE="it did not start (see its log)"
    fi
fi
[ -n "$PK" ] || say "Portkey left out: $PK_NOTE"

port_of() {
    case $1 in direct) echo $MOCK_PORT ;; nginx) echo $NGX_PORT ;; haproxy) echo $HAP_PORT ;;
        routevm) echo $RV_PORT ;; direct-sse) echo $SSE_PORT ;; routevm-sse) echo $RVS_PORT ;; portkey) echo $PK_PORT ;; esac
}
pid_of() {
    case $1 in direct|direct-sse) echo $MOCK_PID ;; nginx) echo $NGX_PID ;; haproxy) echo $HAP_PID ;;
        routevm) echo $RV_PID ;; routevm-sse) echo $RVS_PID ;; portkey) echo $PK_PID ;; esac
}
# Portkey forwards the request as it is (its model is the upstream's)
body_of() { case $1 in *-sse) echo "$WORK/body-sse.json" ;; portkey) echo "$G/body.json" ;; *) echo "$WORK/body.json" ;; esac; }
# wrk's extra headers (post.lua: "k: v|k: v")
hdrs_of() { case $1 in portkey) echo "$PK_H1|$PK_H2" ;; *) echo "" ;; esac; }
TARGETS="direct nginx haproxy routevm direct-sse routevm-sse $PK"
# Node.js goes on working after a run ends (its backlog, collection): the
# next path's run waits until Portkey's CPU time stops growing (at most 10 s)
settle() {
    [ "$1" = portkey ] || return 0
    i=0 a=$(tree_ticks "$PK_PID")
    while [ $i -lt 20 ]; do
        sleep 0.5; b=$(tree_ticks "$PK_PID"); [ $((b - a)) -le 1 ] && return 0
        a=$b; i=$((i + 1))
    done
}

# every path answers the upstream's text
for t in $TARGETS; do
    case $t in portkey) set -- -H "$PK_H1" -H "$PK_H2" ;; *) set -- ;; esac
    curl -s --max-time 5 -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-mock' "$@" \
        --data-binary @"$(body_of $t)" "http://127.0.0.1:$(port_of $t)/v1/chat/completions" > "$WORK/raw/check-$t.txt"
    grep -q 'Your parcel' "$WORK/raw/check-$t.txt" || { say "ERROR: path $t broken:" >&2; cat "$WORK/raw/check-$t.txt" >&2; exit 2; }
done

metrics() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics" > "$2"; }
HZ=$(getconf CLK_TCK)
OUT=$WORK/load.tsv
printf 'run\ttarget\trequests\trps\tp50_ms\tp99_ms\terrors\trss_kb\tcpu_ticks\n' > "$OUT"
say "warm-up"
for t in $TARGETS; do
    BODY_FILE=$(body_of $t) EXTRA_HEADERS=$(hdrs_of $t) timeout 10 wrk -t2 -c64 -d2s -s "$G/post.lua" "http://127.0.0.1:$(port_of $t)/v1/chat/completions" > /dev/null
    settle $t
done
metrics $RV_PORT "$WORK/metrics-0.txt"
metrics $RVS_PORT "$WORK/metrics-sse-0.txt"
r=1
while [ $r -le "$RUNS" ]; do
    for t in $TARGETS; do
        pid=$(pid_of $t)
        c0=$(tree_ticks $pid)
        BODY_FILE=$(body_of $t) EXTRA_HEADERS=$(hdrs_of $t) timeout $((DUR + 10)) wrk -t2 -c64 -d${DUR}s --latency -s "$G/post.lua" \
            "http://127.0.0.1:$(port_of $t)/v1/chat/completions" > "$WORK/raw/wrk-$t-$r.txt" &
        w=$!
        sleep $((DUR / 2))
        rss=$(tree_kb $pid VmRSS)
        wait $w
        c1=$(tree_ticks $pid)
        n=$(awk '/requests in/ {print $1}' "$WORK/raw/wrk-$t-$r.txt")
        set -- $(awk -f "$G/parse_wrk.awk" "$WORK/raw/wrk-$t-$r.txt")
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' $r $t "${n:-0}" "$1" "$2" "$3" "$4" $rss $((c1 - c0)) | tee -a "$OUT"
        settle $t
    done
    r=$((r + 1))
done
metrics $RV_PORT "$WORK/metrics-1.txt"
metrics $RVS_PORT "$WORK/metrics-sse-1.txt"
for t in $TARGETS; do printf '%s\t%s\n' $t "$(tree_kb $(pid_of $t) VmHWM)"; done > "$WORK/peak.tsv"

say "sequential latency ($SEQ_N requests per path and run, one connection)"
SEQ=$WORK/seq.tsv
printf 'run\ttarget\tresult\n' > "$SEQ"
r=1
while [ $r -le 3 ]; do
    for t in $TARGETS; do
        case $t in portkey) set -- "$PK_H1" "$PK_H2" ;; *) set -- ;; esac
        res=$(timeout 120 "$WORK/seqlat" "$(port_of $t)" "$(body_of $t)" "$SEQ_N" 500 "$@") || res="failed"
        printf '%s\t%s\t%s\n' $r $t "$res" | tee -a "$SEQ"
        settle $t
    done
    r=$((r + 1))
done

# The same on one core: every server's threads, the upstream's and seqlat
# on CPU 0, so that no request waits for another CPU to wake up.  On a
# virtual machine whose idle CPUs halt at once, waking a process on the
# other CPU costs tens of microseconds, and where the scheduler puts the
# three processes of a proxied request decides most of the unpinned
# figures; on one core, what a path adds is its own work.  Affinities are
# put back afterwards.
CPUS=$(taskset -pc $$ 2> /dev/null | sed 's/.*: //')
if command -v taskset > /dev/null 2>&1 && [ -n "$CPUS" ] && [ "$(nproc)" -gt 1 ]; then
    say "sequential latency on one core"
    pin() { for t in $TARGETS; do for p in $(tree "$(pid_of $t)"); do taskset -apc "$1" "$p" > /dev/null 2>&1; done; done; }
    pin 0
    r=1
    while [ $r -le 3 ]; do
        for t in $TARGETS; do
            case $t in portkey) continue ;; esac
            res=$(timeout 120 taskset -c 0 "$WORK/seqlat" "$(port_of $t)" "$(body_of $t)" "$SEQ_N" 500) || res="failed"
            printf '%s\t%s\t%s\n' $r $t "$res" | tee -a "$WORK/seq1.tsv.tmp"
        done
        r=$((r + 1))
    done
    pin "$CPUS"
    { printf 'run\ttarget\tresult\n'; cat "$WORK/seq1.tsv.tmp"; } > "$WORK/seq1.tsv"
fi

# ---------------------------------------------------------------- idle streams
say "$STREAMS idle streams"
"$BUILD/mockprov" --script "$G/stall.json" --port-file "$WORK/mockprov.port" --max-seconds $((OPEN_SECONDS + 60)) \
    --max-conns $((STREAMS + 100)) > /dev/null 2> "$WORK/mockprov.log" &
MP_PID=$!; PIDS="$PIDS $MP_PID"
i=0
while [ ! -s "$WORK/mockprov.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$WORK/mockprov.port" ] || { say "ERROR: mockprov did not start" >&2; cat "$WORK/mockprov.log" >&2; exit 2; }
sed "s|@MOCK_PORT@|$(cat "$WORK/mockprov.port")|" "$G/policy.route.in" > "$WORK/policy-idle.route"
"$BUILD/routevm" serve "$WORK/policy-idle.route" --listen 127.0.0.1:$IDLE_PORT --workers 1 \
    --max-connections $((STREAMS + 100)) 2> "$WORK/routevm-idle.log" &
IDLE_PID=$!; PIDS="$PIDS $IDLE_PID"
wait_port $IDLE_PORT
IDLE0=$(tree_kb $IDLE_PID VmRSS)
"$WORK/holdsse" $IDLE_PORT "$WORK/body-sse.json" "$STREAMS" "$OPEN_SECONDS" 3 "$WINDOW" > "$WORK/holdsse.out" 2>&1 &
H_PID=$!; PIDS="$PIDS $H_PID"
i=0
while ! grep -q '^ready' "$WORK/holdsse.out" && kill -0 $H_PID 2> /dev/null && [ $i -lt $((OPEN_SECONDS * 10 + 100)) ]; do
    sleep 0.1; i=$((i + 1))
done
IDLE_RSS=$(tree_kb $IDLE_PID VmRSS)
IDLE_FDS=$(ls /proc/$IDLE_PID/fd 2> /dev/null | wc -l)
wait $H_PID
IDLE_HWM=$(tree_kb $IDLE_PID VmHWM)
HOLD=$(grep '^ready' "$WORK/holdsse.out" || echo "ready failed")
printf 'streams\t%s\nrss0_kb\t%s\nrss_kb\t%s\nhwm_kb\t%s\nfds\t%s\nholdsse\t%s\n' \
    "$STREAMS" "$IDLE0" "$IDLE_RSS" "$IDLE_HWM" "$IDLE_FDS" "$HOLD" | tee "$WORK/idle.tsv"

VERS="$(nginx -v 2>&1 | sed 's/^nginx version: //'); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
rc=0
[ -n "$PK" ] && VERS="$VERS; Portkey $(node -p "require('$PKD/node_modules/@portkey-ai/gateway/package.json').version") on Node.js $(node --version)"
PK_NOTE="$PK_NOTE" python3 "$G/report.py" "$WORK" "$RESULTS" "$HZ" "$DUR" "$RUNS" "$SEQ_N" "$COMMIT" "$VERS" || rc=$?
case $rc in
0) say "all targets met (bench/RESULTS.md)" ;;
1) say "a target was missed (bench/RESULTS.md)" ;;
*) say "ERROR: the report failed" >&2; rc=2 ;;
esac
exit $rc
