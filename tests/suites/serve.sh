#!/bin/sh
# The gateway ('routevm serve') end to end over 127.0.0.1: the downstream
# attacks of RELIABILITY.md (tests/serve/downstream.py), keys, endpoints,
# reload and drain; then chat completions against the mock provider
# (build/mockprov): the cases of tests/serve/cases/, a client that goes
# away mid-stream, 64 concurrent clients against a $1 daily budget, the
# ledger across a restart, metrics and traces.  Every gateway runs with
# small limits so that each attack ends in a second or two; every process
# is stopped by its PID.
#
# A case (tests/serve/cases/NAME.case) is one request:
#   key: KEY             the bearer key (default sk-all; 'none' sends none)
#   header: NAME: VALUE  a request header (any number)
#   request: {...}       the body; or request-printf: with printf escapes
#   status: N            the expected HTTP status
#   ---
#   jq expressions that must all be true of {status, headers, body, log}:
#     headers  the response headers, names in lower case
#     body     the JSON body, or for an SSE answer the list of its data
#              payloads (parsed; "[DONE]" as a string)
#     log      the mock provider's request log lines for this case
# SERVE_CASES=GLOB runs only the matching cases (the metrics check, which
# needs them all, is then skipped).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
RV="$B/routevm"
cd "$ROOT" || exit 1
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
pass() { echo "PASS serve/$1"; }
fail() { echo "FAIL serve/$1: $2"; }
check() {  # check NAME CONDITION-EXIT-STATUS WHY
    if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi
}

LIMITS="--header-timeout 800 --body-timeout 800 --body-deadline 1500 --idle-timeout 1500 --write-timeout 800
        --max-body 65536 --max-output 65536 --max-connections 16 --spare-connections 2"
sed 's/@PORT@/9/' tests/serve/policy.route.in > "$T/policy.route"
HASHED=$(printf 'sk-hashed' | sha256sum | cut -d' ' -f1)
cat > "$T/keys" <<EOF
# tests: one key per line
sk-all      *
sk-support  support
sk-billing  billing,capped     # two agents
sha256:$HASHED support
EOF

# start NAME ARGS...: a gateway on an ephemeral port; sets NAME_port, NAME_pid
start() {
    name=$1; shift
    rm -f "$T/$name.port"
    # under ASan, freed memory waits in a quarantine (256 MiB by default)
    # that counts in RSS: the slow-reader case measures the gateway's own
    # growth, so the quarantine is kept small (use-after-free is still caught)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" \
        "$RV" serve "$@" --listen 127.0.0.1:0 --port-file "$T/$name.port" 2> "$T/$name.log" &
    pid=$!
    PIDS="$PIDS $pid"
    eval "${name}_pid=$pid"
    i=0
    while [ ! -s "$T/$name.port" ] && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
    if [ ! -s "$T/$name.port" ]; then fail "start-$name" "no port file"; cat "$T/$name.log"; return 1; fi
    eval "${name}_port=$(cat "$T/$name.port")"
}

# stop NAME: SIGTERM, and the exit status in NAME_rc
stop() {
    eval "p=\$${name}_pid"
    name=$1
    eval "p=\$${1}_pid"
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    eval "${1}_rc=$?"
}

# get PORT PATH [curl args...]: the status and body of a GET in $T/out
get() {
    port=$1; path=$2; shift 2
    curl -s -o "$T/out" -w '%{http_code}' --max-time 10 "$@" "http://127.0.0.1:$port$path"
}

start gw "$T/policy.route" --keys "$T/keys" $LIMITS || exit 1
pass start

# ---- the downstream attacks -----------------------------------------------------
python3 tests/serve/downstream.py "$gw_port" "$gw_pid" sk-all

# ---- endpoints and keys -------------------------------------------------------------
st=$(get $gw_port /healthz); check healthz "$([ "$st" = 200 ] && jq -e '.status == "ok" and .generation == 1' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/models); check keys-missing-401 "$([ "$st" = 401 ] && jq -e '.error.type == "authentication_error" and .error.code == "invalid_api_key"' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-nope'); check keys-unknown-401 "$([ "$st" = 401 ] && jq -e '.error.message == "invalid API key"' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/models -H 'Authorization: Basic c2stYWxsOg=='); check keys-not-bearer-401 "$([ "$st" = 401 ]; echo $?)" "status $st"
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-all'); check models-all-agents "$([ "$st" = 200 ] && jq -e '.object == "list" and ([.data[].id] | sort) == ["billing","capped","frugal","lavish","limited","outage","support","thrifty"]' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-billing'); check models-per-key "$([ "$st" = 200 ] && jq -e '([.data[].id] | sort) == ["billing","capped"]' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-hashed'); check keys-sha256-stored "$([ "$st" = 200 ] && jq -e '[.data[].id] == ["support"]' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
st=$(get $gw_port /v1/nothing); check unknown-url-404 "$([ "$st" = 404 ] && jq -e '.error.code == "unknown_url"' "$T/out" >/dev/null; echo $?)" "status $st"
st=$(get $gw_port /healthz -X POST -d x); check wrong-method-405 "$([ "$st" = 405 ] && jq -e '.error.type == "invalid_request_error"' "$T/out" >/dev/null; echo $?)" "status $st"
st=$(get $gw_port /healthz -X DELETE); check unknown-method-405 "$([ "$st" = 405 ]; echo $?)" "status $st"
st=$(get $gw_port /metrics); check metrics "$([ "$st" = 200 ] && grep -q '^routevm_requests_total{endpoint="models",code="401"} ' "$T/out" && grep -q '^# TYPE routevm_budget_remaining_picodollars gauge' "$T/out" && grep -q '^routevm_budget_remaining_picodollars{agent="capped"} 1000000000000$' "$T/out"; echo $?)" "status $st"
check keys-never-logged "$(! grep -q 'sk-all\|sk-support\|sk-billing\|sk-hashed\|sk-nope' "$T/gw.log" "$T/out"; echo $?)" "a key reached the log or the metrics"

# ---- reload: a bad policy is refused, a good one replaces the old --------------------
cp "$T/policy.route" "$T/good.route"
printf 'agent broken {\n  route -> nowhere\n}\n' > "$T/policy.route"
kill -HUP $gw_pid; sleep 0.5
st=$(get $gw_port /healthz)
check reload-bad-policy-refused "$([ "$st" = 200 ] && jq -e '.generation == 1' "$T/out" >/dev/null && grep -q '"event":"policy_reload_refused"' "$T/gw.log"; echo $?)" "status $st $(cat "$T/out")"
sed 's/^agent billing {/agent invoices {/' "$T/good.route" > "$T/policy.route"
kill -HUP $gw_pid; sleep 0.5
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-all')
check reload-good-policy "$([ "$st" = 200 ] && jq -e '([.data[].id] | sort) == ["capped","frugal","invoices","lavish","limited","outage","support","thrifty"]' "$T/out" >/dev/null && grep -q '"event":"policy_reloaded"' "$T/gw.log"; echo $?)" "status $st $(cat "$T/out")"
printf 'sk-new *\nsk-bad\n' > "$T/keys"
kill -HUP $gw_pid; sleep 0.5
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-all')
check reload-bad-keys-refused "$([ "$st" = 200 ] && grep -q '"event":"keys_reload_refused".*line 2' "$T/gw.log"; echo $?)" "status $st"

stop gw
check sigterm-exit-0 "$([ "$gw_rc" = 0 ] && grep -q '"event":"stopped"' "$T/gw.log"; echo $?)" "exit status $gw_rc"

# ---- refusals at start -------------------------------------------------------------
cp "$T/good.route" "$T/policy.route"
printf 'sk-a support\nsk-b\n' > "$T/badkeys"
"$RV" serve "$T/policy.route" --keys "$T/badkeys" --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check keys-file-malformed "$([ $rc = 1 ] && grep -q 'line 2' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
printf 'sk-a support\nsk-a billing\n' > "$T/badkeys"
"$RV" serve "$T/policy.route" --keys "$T/badkeys" --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check keys-file-duplicate "$([ $rc = 1 ] && grep -q 'the same key as key@1' "$T/err" && ! grep -q 'sk-a' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
"$RV" serve examples/support.route --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check policy-with-tests-refused "$([ $rc = 1 ] && grep -q 'test block' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
# a file that cannot be read is an I/O error (2), as for every command;
# one that is read and refused is 1
"$RV" serve "$T/no-such-policy.route" --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check policy-unreadable-is-2 "$([ $rc = 2 ] && grep -q 'policy_unreadable' "$T/err" && grep -q 'no-such-policy.route' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
printf 'import "missing_module"\n' > "$T/imports-missing.route"; cat "$T/policy.route" >> "$T/imports-missing.route"
"$RV" serve "$T/imports-missing.route" --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check policy-import-missing-is-1 "$([ $rc = 1 ] && grep -q 'policy_refused' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
"$RV" serve "$T/policy.route" --keys "$T/no-such-keys" --listen 127.0.0.1:0 2> "$T/err"; rc=$?
check keys-file-unreadable-is-2 "$([ $rc = 2 ] && grep -q 'keys_unreadable' "$T/err"; echo $?)" "exit $rc: $(cat "$T/err")"
"$RV" serve "$T/policy.route" --listen 127.0.0.1:99999 2> "$T/err"; rc=$?
check bad-listen-address "$([ $rc = 2 ]; echo $?)" "exit $rc"
"$RV" serve "$T/policy.route" --max-body x 2> "$T/err"; rc=$?
check bad-option "$([ $rc = 2 ] && grep -q -- '--max-body' "$T/err"; echo $?)" "exit $rc"
start tests examples/support.route --allow-tests && pass allow-tests
stop tests

# ---- chat completions against the mock provider ----------------------------------
UPKEY=sk-upstream-TESTKEY-0123456789
export ROUTEVM_TEST_OPENAI_KEY=$UPKEY
"$B/mockprov" --script tests/serve/script.json --port-file "$T/mock.port" --log "$T/mock.log" --max-seconds 600 \
    > /dev/null 2> "$T/mock.err" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/mock.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/mock.port" ] || { fail mock-start "the mock did not start: $(cat "$T/mock.err")"; exit 0; }
touch "$T/mock.log"
sed "s/@PORT@/$(cat "$T/mock.port")/" tests/serve/policy.route.in > "$T/chat.route"
cat > "$T/keys" <<EOF
sk-all      *
sk-support  support
sk-capkey   lavish          budget \$1 per day
sk-tinykey  lavish,billing  budget \$0.000000001 per request
EOF
mkdir -p "$T/state"
start chat "$T/chat.route" --keys "$T/keys" --state "$T/state" --trace "$T/trace" --workers 2 || exit 0

# chat KEY BODY-FILE [curl args...]: POST; the status in $st, headers in $T/h, body in $T/b
chat() {
    key=$1; bodyf=$2; shift 2
    set -- -H 'Content-Type: application/json' --data-binary @"$bodyf" "$@"
    [ "$key" = none ] || set -- -H "Authorization: Bearer $key" "$@"
    st=$(curl -s -D "$T/h" -o "$T/b" -w '%{http_code}' --max-time 20 "$@" "http://127.0.0.1:$chat_port/v1/chat/completions")
}

for c in tests/serve/cases/${SERVE_CASES:-*}.case; do
    name=$(basename "$c" .case)
    key=$(sed -n 's/^key: //p' "$c" | head -1); [ -n "$key" ] || key=sk-all
    want=$(sed -n 's/^status: //p' "$c" | head -1)
    sed -n 's/^header: //p' "$c" > "$T/hdrs"
    if grep -q '^request-printf: ' "$c"; then printf "$(sed -n 's/^request-printf: //p' "$c" | head -1)" > "$T/req"
    else sed -n 's/^request: //p' "$c" | head -1 | tr -d '\n' > "$T/req"; fi
    sed '1,/^---$/d' "$c" | grep -v '^#' | grep -v '^$' > "$T/expect"
    before=$(wc -l < "$T/mock.log")
    chat "$key" "$T/req" -H @"$T/hdrs"
    tail -n +$((before + 1)) "$T/mock.log" | jq -s . > "$T/log.json" 2>/dev/null || echo '[]' > "$T/log.json"
    tr -d '\r' < "$T/h" | sed -n 's/^\([A-Za-z0-9-]*\): \(.*\)$/\1\t\2/p' |
        jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0] | ascii_downcase): .[1]}) | add // {}' > "$T/hdr.json"
    if grep -qi '^content-type: text/event-stream' "$T/h"; then
        sed -n 's/^data: //p' "$T/b" | sed 's/^\[DONE\]$/"[DONE]"/' | jq -s . > "$T/body.json" 2>/dev/null
    else
        jq . "$T/b" > "$T/body.json" 2>/dev/null
    fi
    [ -s "$T/body.json" ] || echo null > "$T/body.json"
    jq -n --argjson status "${st:-0}" --slurpfile h "$T/hdr.json" --slurpfile b "$T/body.json" --slurpfile l "$T/log.json" \
        '{status: $status, headers: $h[0], body: $b[0], log: $l[0]}' > "$T/doc.json"
    ok=1; why=
    [ "$st" = "$want" ] || { ok=0; why="status $st, expected $want"; }
    while IFS= read -r e; do
        [ $ok -eq 1 ] || break
        jq -e "$e" "$T/doc.json" > /dev/null 2>&1 || { ok=0; why="not true: $e"; }
    done < "$T/expect"
    if [ $ok -eq 1 ]; then pass "chat/$name"; else fail "chat/$name" "$why"; head -c 600 "$T/b"; echo; fi
done
# (a case can be answered right and still bring the gateway down after)
st=$(get $chat_port /healthz)
check chat/alive-after-cases "$([ "$st" = 200 ]; echo $?)" "/healthz: status $st"

# ---- two chat requests pipelined in one write: the second waits in the
# connection's input while the first is answered from the upstream, then
# is read from there and answered in turn, on the same connection
python3 - "$chat_port" > "$T/pipe.out" 2>&1 <<'PY'
import json, socket, sys
body = json.dumps({"model": "support", "messages": [{"role": "user", "content": "hello"}]}).encode()
req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-all\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(10)
s.sendall(req + req)
buf, got = b"", []
while len(got) < 2:
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    if b"\r\n\r\n" not in buf:
        break
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    cl = int([ln.split(":", 1)[1] for ln in lines if ln.lower().startswith("content-length:")][0])
    while len(buf) < cl:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    got.append(lines[0].split()[1] + ("" if b'"choices"' in buf[:cl] else "-no-answer"))
    buf = buf[cl:]
print(" ".join(got))
PY
check chat/pipelined-two-in-one-write "$([ "$(cat "$T/pipe.out")" = "200 200" ]; echo $?)" "statuses $(head -c 300 "$T/pipe.out")"

# ---- a client that goes away mid-stream: the upstream call is cancelled, its
# reservation released, nothing billed (the provider reports usage only at
# the end of a stream, and this one never got there)
printf '%s' '{"model":"support","stream":true,"messages":[{"role":"user","content":"a slow stream please"}]}' > "$T/slow"
spent() {  # spent spent|reserved AGENT: today's figure from /metrics (0 before the agent's first call)
    v=$(curl -s "http://127.0.0.1:$chat_port/metrics" | sed -n "s/^routevm_budget_$1_picodollars{agent=\"$2\"} //p")
    echo "${v:-0}"
}
s0=$(spent spent support)
chat sk-all "$T/slow" --max-time 1
sleep 0.5
m=$(curl -s "http://127.0.0.1:$chat_port/metrics")
check chat/disconnect-cancels "$(printf '%s\n' "$m" | grep -q '^routevm_client_disconnects_total [1-9]' &&
    [ "$(spent reserved support)" = 0 ] && [ "$(spent spent support)" = "$s0" ] &&
    grep -q 'the client went away' "$T/trace"; echo $?)" \
    "spent $s0 -> $(spent spent support), reserved $(spent reserved support), traced: $(grep -c 'went away' "$T/trace")"

# ---- 64 concurrent clients against a $1 daily budget ----------------------------
# each call's worst case: the input bytes as tokens plus max_tokens 20, at
# $2000/Mtok; the actual usage is the mock's estimate from the text
printf '%s' '{"model":"capped","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}' > "$T/capped"
seq 1 256 | xargs -P 64 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
    -H 'Authorization: Bearer sk-all' -H 'Content-Type: application/json' --data-binary @"$T/capped" \
    "http://127.0.0.1:$chat_port/v1/chat/completions" > "$T/race"
ok200=$(grep -c '^200$' "$T/race"); ok429=$(grep -c '^429$' "$T/race")
spent_capped=$(spent spent capped)
worst=$(( (200 + 20) * 2000000 ))      # above one call's worst case, picodollars
check chat/budget-race-holds "$([ $((ok200 + ok429)) = 256 ] && [ "$ok429" -gt 0 ] && [ "$ok200" -gt 0 ] &&
    [ "$spent_capped" -le $((1000000000000 + worst)) ] && [ "$(spent reserved capped)" = 0 ]; echo $?)" \
    "200: $ok200, 429: $ok429, spent $spent_capped picodollars"
echo "# budget race: $ok200 answered, $ok429 refused, $spent_capped of 1000000000000 picodollars spent"

# ---- the same race against a key's $1 daily budget, on an agent with none
printf '%s' '{"model":"lavish","max_tokens":20,"messages":[{"role":"user","content":"hello"}]}' > "$T/lavish"
seq 1 256 | xargs -P 64 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
    -H 'Authorization: Bearer sk-capkey' -H 'Content-Type: application/json' --data-binary @"$T/lavish" \
    "http://127.0.0.1:$chat_port/v1/chat/completions" > "$T/krace"
k200=$(grep -c '^200$' "$T/krace"); k429=$(grep -c '^429$' "$T/krace")
m=$(curl -s "http://127.0.0.1:$chat_port/metrics")
kspent=$(printf '%s\n' "$m" | sed -n 's/^routevm_budget_spent_picodollars{key="key:[0-9a-f]*"} //p' | sort -n | tail -1)
kres=$(printf '%s\n' "$m" | sed -n 's/^routevm_budget_reserved_picodollars{key="key:[0-9a-f]*"} //p' | sort -n | tail -1)
check chat/key-budget-race-holds "$([ $((k200 + k429)) = 256 ] && [ "$k429" -gt 0 ] && [ "$k200" -gt 0 ] &&
    [ "${kspent:-0}" -gt 0 ] && [ "$kspent" -le $((1000000000000 + worst)) ] && [ "$kres" = 0 ]; echo $?)" \
    "200: $k200, 429: $k429, the key spent ${kspent:-nothing}, reserved ${kres:-nothing}"
echo "# key budget race: $k200 answered, $k429 refused, $kspent of 1000000000000 picodollars spent"
chat sk-capkey "$T/lavish"
check chat/key-budget-refusal "$([ "$st" = 429 ] && jq -e '.error.code == "budget_exceeded" and
    (.error.message | contains("caller'"'"'s daily budget"))' "$T/b" > /dev/null; echo $?)" "status $st: $(head -c 300 "$T/b")"
chat sk-all "$T/lavish"
check chat/key-budget-other-keys-unaffected "$([ "$st" = 200 ]; echo $?)" "status $st: $(head -c 300 "$T/b")"
chat sk-tinykey "$T/lavish"
check chat/key-budget-per-request "$([ "$st" = 429 ] && jq -e '.error.message | contains("caller'"'"'s per-request budget")' \
    "$T/b" > /dev/null; echo $?)" "status $st: $(head -c 300 "$T/b")"
check chat/key-budget-not-the-key "$(! printf '%s\n' "$m" | grep -q 'sk-capkey'; echo $?)" "the key reached the metrics"

# (the series the cases fill: checked when every case ran)
m=$(curl -s "http://127.0.0.1:$chat_port/metrics")
missing=
for series in 'routevm_requests_total{endpoint="chat",code="200"}' \
              'routevm_tokens_total{agent="support",model="mini",class="input"}' \
              'routevm_cost_picodollars_total{agent="support",model="big",rule="1"}' \
              'routevm_upstream_errors_total{model="mini",class="server_error"}' \
              'routevm_upstream_calls_total{model="pricey"}' \
              'routevm_request_duration_seconds_count{agent="support"}' \
              'routevm_ttft_seconds_count{agent="support"}' \
              'routevm_chat_requests_total{agent="capped",model="pricey",rule="none",outcome="failed"}' \
              'routevm_circuit_state{model="down",worker="'; do
    printf '%s\n' "$m" | grep -qF "$series" || missing="$missing $series"
done
[ -n "$SERVE_CASES" ] || check chat/metrics-from-requests "$([ -z "$missing" ]; echo $?)" "missing:$missing"

# ---- the ledger: one row per settled call, summing to the metric and to the
# traces' costs; a restart keeps it
stop chat
rows=$(sqlite3 "$T/state/spend.db" "SELECT COALESCE(SUM(cost),0) FROM spend WHERE agent='capped'" 2>&1)
check chat/ledger-rows "$([ "$chat_rc" = 0 ] && [ "$rows" = "$spent_capped" ]; echo $?)" "exit $chat_rc, rows sum $rows, metric $spent_capped"
traced=$(jq -s '[.[] | select(."routevm.step" == "outcome" and ."routevm.agent" == "capped") | ."routevm.cost"] | add // 0' "$T/trace")
check chat/ledger-equals-traces "$([ "$rows" = "$traced" ]; echo $?)" "ledger $rows, traces $traced"
# a worker reuses its request drivers: a call that was not sent (a budget
# refused it) has nothing in its record of a call an earlier request made
calls=$(jq -s '[.[] | select(."routevm.step" == "call" and ."routevm.made" == false)]' "$T/trace")
stale=$(printf '%s' "$calls" | jq '[.[] | select(has("gen_ai.response.model") or has("gen_ai.response.id") or
    has("gen_ai.response.finish_reasons") or (."routevm.time_us" // 0) > 0)] | length')
check chat/trace-unsent-calls "$([ "$stale" = 0 ] && [ "$(printf '%s' "$calls" | jq length)" -gt 0 ]; echo $?)" \
    "$stale of $(printf '%s' "$calls" | jq length) unsent calls carry another call's fields"
start chat "$T/chat.route" --keys "$T/keys" --state "$T/state" || exit 0
check chat/ledger-restart "$([ "$(spent spent capped)" = "$spent_capped" ]; echo $?)" "after the restart $(spent spent capped), before $spent_capped"
chat sk-all "$T/capped"
check chat/ledger-restart-still-refuses "$([ "$st" = 429 ] && [ "$(spent spent capped)" = "$spent_capped" ]; echo $?)" "status $st"
chat sk-capkey "$T/lavish"
check chat/ledger-restart-key-budget "$([ "$st" = 429 ]; echo $?)" "status $st: the key's spend was not kept"
stop chat
# ---- requests in flight across SIGHUP finish on the policy they started with;
# SIGTERM lets them finish before the gateway exits
start chat "$T/chat.route" --keys "$T/keys" --state "$T/state" || exit 0
slow_stream() {  # slow_stream OUT: the slow streamed request in the background; its PID in $slow_pid
    curl -s -N --max-time 20 -H 'Authorization: Bearer sk-all' -H 'Content-Type: application/json' \
        --data-binary @"$T/slow" "http://127.0.0.1:$chat_port/v1/chat/completions" > "$1" &
    slow_pid=$!
    sleep 0.6
}
slow_done() {  # slow_done OUT: the whole answer arrived, ending in [DONE]
    sed -n 's/^data: //p' "$1" | sed 's/^\[DONE\]$/"[DONE]"/' | jq -s -e \
        '.[-1] == "[DONE]" and ([.[:-1][] | .choices[0].delta.content? // empty] | join("")) == "one two three four five six seven eight nine ten"' > /dev/null 2>&1
}
slow_stream "$T/s1"
sed 's/^agent support {/agent helpdesk {/' "$T/chat.route" > "$T/chat2.route" && cp "$T/chat2.route" "$T/chat.route"
kill -HUP $chat_pid
wait $slow_pid
printf '%s' '{"model":"support","messages":[{"role":"user","content":"hello"}]}' > "$T/hello"
chat sk-all "$T/hello"
check chat/reload-in-flight-finishes "$(slow_done "$T/s1" && [ "$st" = 404 ]; echo $?)" "after the reload: status $st; the stream: $(tail -c 200 "$T/s1")"
sed -i 's/"model":"support"/"model":"helpdesk"/' "$T/slow"
slow_stream "$T/s2"
stop chat
wait $slow_pid
check chat/sigterm-drains-in-flight "$(slow_done "$T/s2" && [ "$chat_rc" = 0 ]; echo $?)" "exit $chat_rc; the stream: $(tail -c 200 "$T/s2")"

# ---- the request deadline: a JSON answer slower than --request-timeout is 504
start chat "$T/chat.route" --keys "$T/keys" --request-timeout 1500 || exit 0
printf '%s' '{"model":"helpdesk","messages":[{"role":"user","content":"take your time"}]}' > "$T/late"
chat sk-all "$T/late"
check chat/request-deadline-504 "$([ "$st" = 504 ] && jq -e '.error.code == "timeout" or .error.code == "deadline"' "$T/b" > /dev/null; echo $?)" "status $st: $(head -c 300 "$T/b")"
stop chat

# ---- one worker's calls to two endpoints of one upstream, alternating (the
# engine keeps each URL parsed and its transfers are reused from call to
# call): each request reaches its own path, in its own dialect
"$B/mockprov" --script tests/serve/script.json --port-file "$T/mock2.port" --log "$T/mock2.log" --max-seconds 120 \
    --request-ms 300 > /dev/null 2> "$T/mock2.err" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/mock2.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
cat > "$T/two.route" <<EOF
provider oa {
  kind     openai
  endpoint "http://127.0.0.1:$(cat "$T/mock2.port")/v1"
  key      env("ROUTEVM_TEST_OPENAI_KEY")
}
provider an {
  kind     anthropic
  endpoint "http://127.0.0.1:$(cat "$T/mock2.port")/v1"
  key      env("ROUTEVM_TEST_OPENAI_KEY")
}
model mini from oa {
  id "gpt-mini" price in \$1/Mtok, out \$2/Mtok context 16k tokens output 1k tokens tier 1
  capabilities [text, streaming]
}
model claude from an {
  id "gpt-mini" price in \$1/Mtok, out \$2/Mtok context 16k tokens output 1k tokens tier 1
  capabilities [text, streaming]
}
agent support {
  route -> mini
}
agent other {
  route -> claude
}
EOF
start closing "$T/two.route" --keys "$T/keys" --workers 1 || exit 0
chat_port=$closing_port
printf '%s' '{"model":"other","messages":[{"role":"user","content":"hello"}]}' > "$T/hello2"
sts=
for f in hello hello2 hello hello2; do chat sk-all "$T/$f"; sts="$sts $st"; done
paths=$(jq -r .path "$T/mock2.log" | tr '\n' ' ')
check chat/two-endpoints-alternating "$([ "$sts" = " 200 200 200 200" ] &&
    [ "$paths" = "/v1/chat/completions /v1/messages /v1/chat/completions /v1/messages " ]; echo $?)" \
    "statuses$sts, upstream paths $paths"

# ---- an upstream that closes its kept-alive connection between two requests
# (this mock closes idle connections after 300 ms): the socket waits in the
# gateway's loop with no transfer on it when the peer's FIN makes it
# readable.  The gateway must not spin on it (CPU time while idle), must
# close it rather than keep the descriptor (open descriptors), and the
# next request gets a new connection.
cpu() { awk '{print $14 + $15}' "/proc/$closing_pid/stat"; }     # clock ticks, user + system
# the gateway's descriptors that are sockets to the mock, in any state (a
# closed peer leaves one in CLOSE_WAIT until the gateway closes it); not
# every descriptor, since the client's connection may or may not be closed
# yet when curl has read its answer
fds() {
    ls -l "/proc/$closing_pid/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' > "$T/inodes"
    awk -v port="$(printf '%04X' "$(cat "$T/mock2.port")")" 'NR == FNR {own[$1] = 1; next}
        FNR > 1 {split($3, r, ":"); if (r[2] == port && ($10 in own)) n++} END {print n + 0}' \
        "$T/inodes" /proc/net/tcp /proc/net/tcp6
}
n0=$(wc -l < "$T/mock2.log")
chat sk-all "$T/hello"; st1=$st
fd1=$(fds); c1=$(cpu)
sleep 2
c2=$(cpu)
chat sk-all "$T/hello"; st2=$st
fd2=$(fds)
check chat/upstream-closes-idle-connection "$([ "$st1" = 200 ] && [ "$st2" = 200 ] && [ "$fd1" = 1 ] && [ "$fd2" = 1 ] &&
    [ $((c2 - c1)) -lt 10 ] && [ "$(wc -l < "$T/mock2.log")" = $((n0 + 2)) ]; echo $?)" \
    "statuses $st1 $st2, sockets to the upstream $fd1 -> $fd2, $((c2 - c1)) ticks of CPU while idle, $(($(wc -l < "$T/mock2.log") - n0)) upstream requests"
stop closing

# ---- a proxy named by the environment when the gateway starts is used (the
# engine reads the environment once, libcurl then on every call): here one
# where nothing listens, so the upstream is never reached
n0=$(wc -l < "$T/mock2.log")
export http_proxy=http://127.0.0.1:9
start proxied "$T/two.route" --keys "$T/keys" --workers 1 || exit 0
unset http_proxy
chat_port=$proxied_port
chat sk-all "$T/hello"
check chat/upstream-proxy-from-environment "$([ "$st" = 502 ] && [ "$(wc -l < "$T/mock2.log")" = "$n0" ] &&
    jq -e '.error.type == "upstream_error"' "$T/b" > /dev/null; echo $?)" "status $st: $(head -c 300 "$T/b")"
stop proxied

check chat/upstream-key-never-logged "$(! grep -qF "$UPKEY" "$T/chat.log" "$T/trace" "$T/b"; echo $?)" "the upstream key reached a log or a trace"
exit 0
