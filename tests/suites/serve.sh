#!/bin/sh
# The gateway ('routevm serve') end to end over 127.0.0.1: the downstream
# attacks of RELIABILITY.md (tests/serve/downstream.py), keys, endpoints,
# reload and drain.  Every gateway runs with small limits so that each
# attack ends in a second or two; every process is stopped by its PID.
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
st=$(get $gw_port /v1/models -H 'Authorization: Bearer sk-all'); check models-all-agents "$([ "$st" = 200 ] && jq -e '.object == "list" and ([.data[].id] | sort) == ["billing","capped","support"]' "$T/out" >/dev/null; echo $?)" "status $st: $(cat "$T/out")"
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
check reload-good-policy "$([ "$st" = 200 ] && jq -e '([.data[].id] | sort) == ["capped","invoices","support"]' "$T/out" >/dev/null && grep -q '"event":"policy_reloaded"' "$T/gw.log"; echo $?)" "status $st $(cat "$T/out")"
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
"$RV" serve "$T/policy.route" --listen 127.0.0.1:99999 2> "$T/err"; rc=$?
check bad-listen-address "$([ $rc = 2 ]; echo $?)" "exit $rc"
"$RV" serve "$T/policy.route" --max-body x 2> "$T/err"; rc=$?
check bad-option "$([ $rc = 2 ] && grep -q -- '--max-body' "$T/err"; echo $?)" "exit $rc"
start tests examples/support.route --allow-tests && pass allow-tests
stop tests
exit 0
