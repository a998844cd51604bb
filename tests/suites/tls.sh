#!/bin/sh
# 'routevm run' over TLS end to end: the cases of tests/run/cases that
# exercise the transport -- JSON and streamed answers from each dialect,
# Bedrock's SigV4 with the https:// host, resets, closes and stalls mid
# answer, retries and fallbacks -- against the mock provider speaking TLS
# (mockprov --tls-cert/--tls-key) at https://localhost:PORT, with a
# certificate made for the run and trusted through SSL_CERT_FILE (the
# setting both HTTP clients read).  Run through the engine's own
# transport (tls/NAME) and again held to libcurl (tls-curl/NAME): both
# must give every case's expected outcome.  Then a call whose certificate
# is not trusted (the system's store, without the run's certificate):
# refused by both, the own transport's message naming the host.
# Usage: tls.sh BUILD_DIR ROOT
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
CASES="answered_json answered_stream anthropic_json anthropic_stream bedrock_json bedrock_stream bedrock_tools_stream
       reset_before_bytes reset_mid_json reset_mid_stream close_mid_stream stall_before_text stall_mid_stream
       first_byte_timeout bad_chunking retry_503 http_500_fallback fallback_openai_to_anthropic_history slow_drip
       sse_huge_event"
RUN_TLS=1 RUN_CASES="$CASES" RUN_SUITE=tls ROUTEVM_HTTP_CLIENT= sh "$ROOT/tests/suites/run.sh" "$B" "$ROOT"
RUN_TLS=1 RUN_CASES="$CASES" RUN_SUITE=tls-curl ROUTEVM_HTTP_CLIENT=curl sh "$ROOT/tests/suites/run.sh" "$B" "$ROOT"

# untrusted: the mock's certificate is in no store the clients read
T=$(mktemp -d)
MOCKPID=
cleanup() { [ -n "$MOCKPID" ] && kill -TERM "$MOCKPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$T/tls.key" -out "$T/tls.crt" > "$T/tls.log" 2>&1 ||
    { echo "FAIL tls/untrusted: openssl req failed"; exit 0; }
"$B/mockprov" --script "$ROOT/tests/run/script.json" --port-file "$T/port" --max-seconds 120 \
    --tls-cert "$T/tls.crt" --tls-key "$T/tls.key" > /dev/null 2> "$T/mock.err" &
MOCKPID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$T/port" ] || { echo "FAIL tls/untrusted: the mock did not start"; cat "$T/mock.err"; exit 0; }
sed "s#http://127.0.0.1:@PORT@#https://localhost:$(cat "$T/port")#" "$ROOT/tests/run/policy.route.in" > "$T/policy.route"
printf '{"messages":[{"role":"user","content":"hello"}]}' > "$T/req.json"
KEY=sk-routevm-TESTKEY-0123456789abcdef
for client in own curl; do
    c=; [ $client = curl ] && c=curl
    env -u SSL_CERT_FILE -u SSL_CERT_DIR ROUTEC_STDLIB="$ROOT/stdlib" ROUTEVM_HTTP_CLIENT=$c \
        ROUTEVM_TEST_OPENAI_KEY=$KEY timeout 30 "$B/routevm" run "$T/policy.route" --agent a_ok_1 \
        --request "$T/req.json" --trace "$T/trace.$client" > "$T/out.$client" 2> "$T/err.$client"
    rc=$?
    st=$(jq -rs '[.[] | select(."routevm.step" == "call") | ."error.type"] | unique | join(",")' "$T/trace.$client" 2> /dev/null)
    if [ $rc -eq 0 ] || [ "$st" != "refused" ]; then
        echo "FAIL tls/untrusted_$client: exit $rc, calls ended '$st' (every call must be refused)"
    elif [ $client = own ] && ! grep -q "certificate of localhost is not trusted" "$T/trace.$client" "$T/out.$client" "$T/err.$client"; then
        echo "FAIL tls/untrusted_$client: no message naming the host and the certificate"
    elif grep -qF "$KEY" "$T/out.$client" "$T/err.$client" "$T/trace.$client"; then
        echo "FAIL tls/untrusted_$client: the key appears in the output"
    else
        echo "PASS tls/untrusted_$client"
    fi
done
