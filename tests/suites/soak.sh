#!/bin/sh
# A bounded soak of the gateway: mixed traffic (tests/soak/soak.py: JSON
# and streamed answers, clients leaving mid-stream, upstream 429s, 500s
# with and without a fallback, an upstream slower than the timeout,
# invalid JSON, unknown agents) from several clients against 'routevm
# serve' and the mock provider (tests/soak/script.json), with SIGHUP
# reloads every half second during the traffic.  Checked: the gateway
# never stops; every answer is what its kind allows, with an OpenAI-style
# error body; /metrics agrees with what the clients saw; descriptors and
# RSS after the soak are where they were after a warm-up of the same
# traffic; the ledger's rows sum to the traces' costs; SIGTERM then exits 0.
#
# usage: sh tests/suites/soak.sh BUILD ROOT
# env:   SOAK_SECONDS (12)  SOAK_WORKERS (8)  SOAK_RSS_KB (growth allowed,
#        24576: under ASan, freed memory waits in a quarantine)
#        SOAK_FIGURES (a file the figures are appended to, for bench/soak.sh)
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
SECONDS_=${SOAK_SECONDS:-12}; WORKERS=${SOAK_WORKERS:-8}; RSS_SLACK=${SOAK_RSS_KB:-24576}
cd "$ROOT" || exit 1
T=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill -TERM "$p" 2> /dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
pass() { echo "PASS soak/$1"; }
fail() { echo "FAIL soak/$1: $2"; }
check() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi; }
waitfile() { i=0; while [ ! -s "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; [ -s "$1" ]; }
fds() { ls "/proc/$1/fd" 2> /dev/null | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0; }

"$B/mockprov" --script tests/soak/script.json --port-file "$T/mock.port" --max-seconds $((SECONDS_ + 120)) \
    --max-conns 2000 > /dev/null 2> "$T/mock.log" &
PIDS="$PIDS $!"
waitfile "$T/mock.port" || { fail start-mock "no port file"; cat "$T/mock.log"; exit 0; }
sed "s/@PORT@/$(cat "$T/mock.port")/" tests/soak/policy.route.in > "$T/policy.route"
mkdir -p "$T/state"
ROUTEVM_TEST_OPENAI_KEY=sk-soak ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" \
    "$B/routevm" serve "$T/policy.route" --listen 127.0.0.1:0 --port-file "$T/gw.port" --workers 2 \
    --state "$T/state" --trace "$T/trace.jsonl" 2> "$T/gw.log" &
gw=$!
PIDS="$PIDS $gw"
waitfile "$T/gw.port" || { fail start "no port file"; cat "$T/gw.log"; exit 0; }
port=$(cat "$T/gw.port")

# warm-up: the same traffic, so pools and caches are full before measuring
python3 tests/soak/soak.py drive "$port" 3 "$WORKERS" 1 "$T/counts.json" > /dev/null
sleep 0.5
fd0=$(fds $gw); rss0=$(rss $gw)

python3 tests/soak/soak.py drive "$port" "$SECONDS_" "$WORKERS" 2 "$T/counts.json" > "$T/drive.out" &
drv=$!
hups=0
while kill -0 $drv 2> /dev/null; do
    sleep 0.5
    kill -0 $drv 2> /dev/null || break
    kill -HUP $gw 2> /dev/null && hups=$((hups + 1))
done
wait $drv
cat "$T/drive.out"
sleep 1                       # cancelled upstream calls and closed connections settle
alive=1; kill -0 $gw 2> /dev/null || alive=0
check alive "$([ $alive = 1 ]; echo $?)" "the gateway stopped during the soak: $(tail -3 "$T/gw.log")"
[ $alive = 1 ] || exit 0
fd1=$(fds $gw); rss1=$(rss $gw)
# a client that left is noticed when its socket reads end-of-file: on a
# loaded machine the last ones may take a moment, so a mismatch is read
# again for a few seconds before it counts
i=0
while :; do
    curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > "$T/metrics.txt"
    python3 tests/soak/soak.py check "$T/counts.json" "$T/metrics.txt" > "$T/check.out"
    rc=$?
    [ $rc = 0 ] || [ $i -ge 5 ] && break
    sleep 1; i=$((i + 1))
done
check answers-and-metrics $rc "$(grep '^bad' "$T/check.out" | head -5 | tr '\n' ';')"
check no-fd-leak "$([ "$fd1" -le $((fd0 + WORKERS * 2 + 8)) ]; echo $?)" \
    "descriptors after the warm-up $fd0, after the soak $fd1"
check rss-bounded "$([ "$rss1" -le $((rss0 + RSS_SLACK)) ]; echo $?)" \
    "RSS after the warm-up ${rss0} kB, after the soak ${rss1} kB (allowed +$RSS_SLACK)"
ok=$(sed -n 's/^routevm_policy_reloads_total{result="ok"} //p' "$T/metrics.txt")
check reloads "$([ "${ok:-0}" -ge 1 ] && [ "${ok:-0}" -le $hups ]; echo $?)" \
    "$hups SIGHUPs sent, ${ok:-0} reloads counted"

kill -TERM $gw
wait $gw
rc=$?
check drain-exit "$rc" "exit status $rc after SIGTERM"
# every settled call of the agent with a daily budget is a row of the
# ledger; their costs (picodollars) sum to the traces' outcomes
ledger=$(sqlite3 "$T/state/spend.db" "SELECT COALESCE(SUM(cost),0) FROM spend WHERE agent='fine'" 2>&1)
traced=$(jq -s '[.[] | select(."routevm.step" == "outcome" and ."routevm.agent" == "fine") | ."routevm.cost"] | add // 0' \
    "$T/trace.jsonl")
check ledger-equals-traces "$([ "$ledger" = "$traced" ]; echo $?)" "ledger $ledger, traces $traced picodollars"

n=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1]))["counts"].values()))' "$T/counts.json")
echo "soak figures: ${SECONDS_}s, $WORKERS clients, $n requests (warm-up included), $hups reloads;" \
    "descriptors $fd0 -> $fd1; RSS ${rss0} -> ${rss1} kB"
[ -n "${SOAK_FIGURES:-}" ] &&
    printf 'seconds=%s workers=%s requests=%s reloads=%s fd0=%s fd1=%s rss0=%s rss1=%s checks=%s\n' \
        "$SECONDS_" "$WORKERS" "$n" "$hups" "$fd0" "$fd1" "$rss0" "$rss1" "$(grep -c '^ok' "$T/check.out")" >> "$SOAK_FIGURES"
exit 0
