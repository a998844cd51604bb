#!/bin/sh
# The gateway end to end with the official OpenAI client library: the
# 'openai' npm package, at the version locked in tests/npm/package-lock.json,
# installed by this suite with 'npm ci' into $BIN/npm (once per lock file),
# runs tests/npm/client.mjs against 'routevm serve' and the mock provider:
# the model list, JSON and streamed answers with usage, an unknown agent,
# a bad key, a budget refusal.  Node and npm are required: without them,
# or when the install fails, the suite fails (CI has both).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT

. "$ROOT/tests/lib/npm.sh"
N="$B/npm"
npm_install openai_npm tests/npm "$N" openai || exit 0
cp tests/npm/client.mjs "$N/client.mjs"
echo "PASS openai_npm/install"

export ROUTEVM_TEST_OPENAI_KEY=sk-upstream-TESTKEY-0123456789
"$B/mockprov" --script tests/serve/script.json --port-file "$T/mock.port" --log "$T/mock.log" --max-seconds 300 \
    > /dev/null 2> "$T/mock.err" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/mock.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
sed "s/@PORT@/$(cat "$T/mock.port")/" tests/serve/policy.route.in > "$T/policy.route"
printf 'sk-npm-client *\n' > "$T/keys"
"$B/routevm" serve "$T/policy.route" --keys "$T/keys" --listen 127.0.0.1:0 --port-file "$T/port" 2> "$T/gw.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -s "$T/port" ]; then echo "FAIL openai_npm/start: the gateway did not start"; cat "$T/gw.log"; exit 0; fi
timeout 120 node "$N/client.mjs" "http://127.0.0.1:$(cat "$T/port")/v1" sk-npm-client
rc=$?
[ $rc -eq 0 ] || echo "FAIL openai_npm/client: node exited with status $rc"
exit 0
