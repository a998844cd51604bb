#!/bin/sh
# 'routevm run' end to end against the mock provider on 127.0.0.1 (build/
# mockprov, tests/mock/README.md).  Each tests/run/cases/NAME.case is one
# request:
#   agent: NAME          the agent (tests/run/policy.route.in)
#   args: --stream ...   more arguments for 'routevm run' (optional)
#   request: {...}       the request body (default: one user message "hello")
#   exit: N              the expected exit status
#   ---
#   jq expressions that must all be true of {rc, out, trace, log, err}:
#     out    the output: a JSON object, or for --stream the list of SSE data
#            payloads (parsed; "[DONE]" as a string)
#     trace  the trace records (--trace), log the mock's request log lines
#            for this case, err the standard error as text
# Every run is bounded (timeout 30 s); after all cases, no output, trace,
# error or log may contain the test keys.
#
# RUN_CASES: the cases to run, as names or patterns separated by spaces
# (default: all).  RUN_TLS=1: the mock speaks TLS (a certificate for
# localhost and 127.0.0.1 made for the run with openssl, trusted through
# SSL_CERT_FILE), the policy's endpoints are https://localhost:PORT, the
# lines are named RUN_SUITE/NAME (default run-tls) and the live demo is
# left out (tests/suites/tls.sh runs a set of cases so, through both
# HTTP clients).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d)
MOCKPID=
cleanup() { [ -n "$MOCKPID" ] && kill -TERM "$MOCKPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
S=${RUN_SUITE:-run}
MOCKTLS=
if [ "${RUN_TLS:-}" = 1 ]; then
    S=${RUN_SUITE:-run-tls}
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" -keyout "$T/tls.key" -out "$T/tls.crt" \
        > "$T/tls.log" 2>&1 || { echo "FAIL $S/certificate: openssl req failed"; cat "$T/tls.log"; exit 1; }
    MOCKTLS="--tls-cert $T/tls.crt --tls-key $T/tls.key"
    export SSL_CERT_FILE="$T/tls.crt" SSL_CERT_DIR="$T"
fi
KEY=sk-routevm-TESTKEY-0123456789abcdef
AKEY=ak-routevm-TESTKEY-fedcba9876543210
SKEY=routevm/TEST/secret+KEY0123456789
"$B/mockprov" --script tests/run/script.json --port-file "$T/port" --log "$T/mock.log" --max-seconds 600 $MOCKTLS \
    > "$T/mock.out" 2> "$T/mock.err" &
MOCKPID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -s "$T/port" ]; then echo "FAIL $S/mock: the mock did not start"; cat "$T/mock.err"; exit 1; fi
PORT=$(cat "$T/port")
touch "$T/mock.log"
if [ -n "$MOCKTLS" ]; then
    sed "s#http://127.0.0.1:@PORT@#https://localhost:$PORT#" tests/run/policy.route.in > "$T/policy.route"
else
    sed "s/@PORT@/$PORT/" tests/run/policy.route.in > "$T/policy.route"
fi
"$B/routec" build "$T/policy.route" -o "$T/policy.rbc" > "$T/build.out" 2>&1 || {
    echo "FAIL $S/policy: the test policy does not build"; cat "$T/build.out"; exit 1; }
echo "PASS $S/policy"

CASES=
set -f                          # the patterns are expanded in the case directory, not here
for p in ${RUN_CASES:-*}; do CASES="$CASES tests/run/cases/$p.case"; done
set +f
for c in $CASES; do
    name=$(basename "$c" .case)
    agent=$(sed -n 's/^agent: //p' "$c" | head -1)
    args=$(sed -n 's/^args: //p' "$c" | head -1)
    want=$(sed -n 's/^exit: //p' "$c" | head -1)
    req=$(sed -n 's/^request: //p' "$c" | head -1)
    [ -n "$req" ] || req='{"messages":[{"role":"user","content":"hello"}]}'
    printf '%s' "$req" > "$T/req.json"
    sed '1,/^---$/d' "$c" | grep -v '^#' | grep -v '^$' > "$T/expect"
    before=$(wc -l < "$T/mock.log")
    rm -f "$T/trace"
    ROUTEVM_TEST_OPENAI_KEY=$KEY ROUTEVM_TEST_ANTHROPIC_KEY=$AKEY \
        AWS_ACCESS_KEY_ID=AKIDROUTEVMTEST0001 AWS_SECRET_ACCESS_KEY=$SKEY AWS_SESSION_TOKEN= timeout 30 "$B/routevm" run "$T/policy.rbc" --agent "$agent" \
        --request "$T/req.json" --trace "$T/trace" $args > "$T/$name.out" 2> "$T/$name.err"
    rc=$?
    tail -n +$((before + 1)) "$T/mock.log" > "$T/case.log"
    if [ $rc -eq 124 ]; then echo "FAIL $S/$name: did not end within 30 s"; continue; fi
    if case "$args" in *--stream*) true ;; *) false ;; esac; then
        sed -n 's/^data: //p' "$T/$name.out" | sed 's/^\[DONE\]$/"[DONE]"/' | jq -s . > "$T/out.json" 2>/dev/null
    else
        jq -s 'if length == 1 then .[0] else . end' "$T/$name.out" > "$T/out.json" 2>/dev/null
    fi
    [ -s "$T/out.json" ] || echo null > "$T/out.json"
    [ -s "$T/trace" ] && jq -s . "$T/trace" > "$T/trace.json" || echo '[]' > "$T/trace.json"
    jq -s . "$T/case.log" > "$T/log.json" 2>/dev/null || echo '[]' > "$T/log.json"
    jq -n --argjson rc "$rc" --slurpfile out "$T/out.json" --slurpfile trace "$T/trace.json" \
        --slurpfile log "$T/log.json" --rawfile err "$T/$name.err" \
        '{rc: $rc, out: $out[0], trace: $trace[0], log: $log[0], err: $err}' > "$T/doc.json"
    ok=1; why=
    if [ "$rc" != "$want" ]; then ok=0; why="exit status $rc, expected $want"; fi
    while IFS= read -r e; do
        [ $ok -eq 1 ] || break
        r=$(jq -e "$e" "$T/doc.json" 2>&1)
        if [ $? -ne 0 ]; then ok=0; why="not true: $e ($r)"; fi
    done < "$T/expect"
    if [ $ok -eq 1 ]; then echo "PASS $S/$name"
    else
        echo "FAIL $S/$name: $why"
        sed 's/^/  out: /' "$T/$name.out" | head -8; sed 's/^/  err: /' "$T/$name.err" | head -5
        jq -c '.trace[] | select(."routevm.step" == "call") | {m: ."routevm.model", ok: ."routevm.ok", e: ."error.type", d: ."routevm.error"}' "$T/doc.json" | sed 's/^/  call: /'
    fi
    cat "$T/trace" >> "$T/all.trace" 2>/dev/null
done

# the key never reaches an output, an error, a trace or the mock's log
if grep -rlF -e "$KEY" -e "$AKEY" -e "$SKEY" "$T" --include='*.out' --include='*.err' --include='all.trace' --include='mock.log' > "$T/leaks"; then
    echo "FAIL $S/no_key_leak: the key appears in $(cat "$T/leaks" | tr '\n' ' ')"
else
    echo "PASS $S/no_key_leak"
fi
[ -z "$MOCKTLS" ] || exit 0

# the live part of 'make demo' (examples/live): every request ends as the
# example says
if out=$(timeout 120 sh examples/live/demo_live.sh "$B" 2>&1) &&
   printf '%s\n' "$out" | grep -Eq '^1-classify +answered +titan_lite +1 ' &&
   printf '%s\n' "$out" | grep -Eq '^2-complaint +answered +claude_sonnet +3 ' &&
   printf '%s\n' "$out" | grep -Eq '^3-spanish +answered +mistral_large +2 ' &&
   printf '%s\n' "$out" | grep -Eq '^4-hard-question +answered +llama3_70b +4 +2 ' &&
   printf '%s\n' "$out" | grep -Eq '^5-guardrail +denied ' &&
   printf '%s\n' "$out" | grep -Eq '^6-outage +answered +claude_haiku +1 +4 ' &&
   printf '%s\n' "$out" | grep -q '^total: '; then
    echo "PASS run/demo_live"
else
    echo "FAIL run/demo_live: the live demo did not end as expected"
    printf '%s\n' "$out" | tail -12
fi
