#!/bin/sh
# The mock provider (build/mockprov) checked over real HTTP on 127.0.0.1
# with curl: every dialect and every fault, as data.  Each
# tests/mock/cases/NAME.case is one request (or a few, with "# repeat:"):
#   # path: /v1/chat/completions      the URL path (required)
#   # mock: main | alt                which mock answers (default main)
#   # auth: default | none            default adds the dialect's credentials
#   # header: Name: value             more request headers (repeatable)
#   # method: GET                     default POST
#   # curl: 0 | 18 | 52|56            accepted curl exit statuses (default 0)
#   # max-time: 5                     curl --max-time in seconds
#   # repeat: 3                       send it N times; runs[i] holds each
#   # sign: good | MODE | curl         Bedrock paths: SigV4 by
#                                     tests/mock/sigv4_sign.py MODE (default
#                                     good), or curl's own --aws-sigv4
#   the request body, then "---", then jq expressions that must all be true
# of a document {status, headers, body (parsed JSON or null), text,
# events (SSE: [{event, data, json}]; event-stream frames decoded by
# tests/mock/evstream_decode.py: [{event, type, headers, data, json}, and
# {error} where the framing breaks]), deltas (the streamed text pieces),
# curl, ms, log (the mock's log line for the request), runs}.  Then: protocol errors over raw sockets, bad
# scripts (tests/mock/bad/NAME.json must fail with NAME.err's text), and
# the mock's lifetime (SIGTERM, --max-seconds).  No timing upper bounds:
# delays are checked as lower bounds only.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
MOCK="$B/mockprov"
cd "$ROOT" || exit 1
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

# start NAME ARGS...: a mock on an ephemeral port; sets NAME_port
start() {
    name=$1; shift
    "$MOCK" --port-file "$T/$name.port" --log "$T/$name.log" --max-seconds 300 "$@" \
        > "$T/$name.out" 2> "$T/$name.err" &
    pid=$!
    PIDS="$PIDS $pid"
    eval "${name}_pid=$pid"
    i=0
    while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    if [ ! -s "$T/$name.port" ]; then echo "FAIL mock/start-$name: no port file"; cat "$T/$name.err"; exit 1; fi
    eval "${name}_port=$(cat "$T/$name.port")"
    touch "$T/$name.log"
}

start main --script tests/mock/cases/script.json
start alt --script tests/mock/cases/script.json --openai-prefix /openai/v1 --max-body 65536 --request-ms 400
echo "PASS mock/start (ports $main_port, $alt_port)"

cat > "$T/doc.jq" <<'EOF'
def sse: gsub("\r\n"; "\n") | gsub("\r"; "\n") | split("\n\n")
  | map(select(length > 0) | split("\n") | map(select(startswith(":") | not))
        | select(length > 0)
        | { event: (map(select(startswith("event:")) | sub("^event: ?"; "")) | first),
            data: (map(select(startswith("data:")) | sub("^data: ?"; "")) | join("\n")) }
        | .json = (try (.data | fromjson) catch null));
($head | split("\r\n\r\n") | map(select(length > 0)) | last // "") as $h
| ($h | split("\r\n")) as $lines
| { status: (($lines[0] // "") | split(" ") | .[1] // "0" | tonumber),
    headers: ($lines[1:] | map(capture("^(?<k>[^:]+):[ \t]*(?<v>.*)$") | {key: (.k | ascii_downcase), value: .v})
              | from_entries),
    text: $body,
    body: (try ($body | fromjson) catch null),
    curl: $rc, ms: $ms, log: $logs[0] }
| .events = (if (.headers["content-type"] // "") | startswith("text/event-stream") then ($body | sse)
             elif .headers["content-type"] == "application/vnd.amazon.eventstream" then $es[0]
             else [] end)
| .deltas = [.events[].json | objects | (.choices[0].delta.content // .delta.text // empty) | select(. != "")]
EOF

# credentials for "# auth: default"
auth_args() {  # auth_args PATH: prints one header per line
    case "$1" in
    */chat/completions) echo "Authorization: Bearer sk-test-openai" ;;
    /v1/messages) echo "x-api-key: ak-test-anthropic"; echo "anthropic-version: 2023-06-01" ;;
    esac
}

# settings CASEFILE: the case's "# key: value" lines as shell variables
settings() {
    path=; mock=main; method=POST; maxt=5; auth=default; want=0; n=1; sign=good
    eval "$(awk '/^---$/{exit} /^# (path|mock|method|max-time|auth|curl|repeat|sign): /{
        k = $2; sub(/:$/, "", k); v = $0; sub(/^# [a-z-]+: /, "", v); gsub(/\047/, "", v)
        if (k == "max-time") k = "maxt"; if (k == "curl") k = "want"; if (k == "repeat") k = "n"
        printf "%s=\047%s\047\n", k, v }' "$1")"
}

# send CASEFILE REQFILE OUT: one request, its document in OUT
send() {
    c=$1; req=$2; out=$3
    eval "port=\$${mock}_port"
    log="$T/$mock.log"
    before=$(wc -l < "$log")
    { [ "$auth" = default ] && auth_args "$path"; sed -n 's/^# header: //p' "$c"; } > "$T/hdrs"
    set -- -sS -X "$method" --max-time "$maxt" -o "$T/body" -D "$T/head" -w '%{time_total}' \
        -H 'Content-Type: application/json'
    # no "Expect: 100-continue" round trip (curl's signer would sign the emptied header)
    [ "$sign" = curl ] || set -- "$@" -H 'Expect:'
    case "$path" in /model/*)
        if [ "$sign" = curl ]; then
            set -- "$@" --aws-sigv4 aws:amz:us-east-1:bedrock --user 'AKIDMOCKEXAMPLE:mock/secret/KEY+example'
        elif [ "$auth" = default ]; then
            python3 tests/mock/sigv4_sign.py "$sign" "127.0.0.1:$port" "$path" "$req" >> "$T/hdrs"
        fi ;;
    esac
    while IFS= read -r h; do set -- "$@" -H "$h"; done < "$T/hdrs"
    [ "$method" = POST ] && set -- "$@" --data-binary "@$req"
    : > "$T/body"; : > "$T/head"
    secs=$(curl "$@" "http://127.0.0.1:$port$path" 2> "$T/curlerr"); rc=$?
    ms=$(echo "${secs:-0}" | awk '{printf "%d", $1 * 1000}')
    after=$(wc -l < "$log")
    if [ "$after" -gt "$before" ]; then tail -n 1 "$log" > "$T/logline"; else echo null > "$T/logline"; fi
    echo '[]' > "$T/es"
    if grep -qi '^content-type: application/vnd.amazon.eventstream' "$T/head"; then
        python3 tests/mock/evstream_decode.py "$T/body" > "$T/es"
    fi
    jq -n --rawfile head "$T/head" --rawfile body "$T/body" --argjson rc "$rc" --argjson ms "$ms" \
        --slurpfile logs "$T/logline" --slurpfile es "$T/es" -f "$T/doc.jq" > "$out" || echo '{}' > "$out"
}

for c in tests/mock/cases/*.case; do
    name=mock/$(basename "$c" .case)
    settings "$c"
    awk '/^---$/{exit} !/^#/' "$c" > "$T/req"
    awk 'f && NF{print} /^---$/{f=1}' "$c" > "$T/exprs"
    i=0; : > "$T/runs"; bad=""
    while [ $i -lt "$n" ]; do
        send "$c" "$T/req" "$T/doc"
        cat "$T/doc" >> "$T/runs"
        case "|$want|" in *"|$rc|"*) ;; *) bad="$bad
    curl exit status $rc, want $want: $(cat "$T/curlerr")" ;; esac
        i=$((i + 1))
    done
    # every expression in one jq run over {last run's fields, runs}: one boolean per line
    { echo '(.[-1] + {runs: .}) | ('; sep=''
      while IFS= read -r e; do printf '%s([try (%s) catch false] | all)\n' "$sep" "$e"; sep=','; done < "$T/exprs"
      echo ')'; } > "$T/prog"
    jq -s -f "$T/prog" "$T/runs" > "$T/verdicts" 2> "$T/jqerr" || bad="$bad
    jq: $(cat "$T/jqerr")"
    bad="$bad$(paste -d '\t' "$T/verdicts" "$T/exprs" | awk -F '\t' '$1 != "true" { sub(/^[^\t]*\t/, ""); printf "\n    not true: %s", $0 }')"
    if [ -z "$bad" ]; then echo "PASS $name"; else
        echo "FAIL $name:$bad"
        jq -c '{status, headers, curl, ms, log, text: (.text | .[0:600])}' "$T/doc" | head -c 1500; echo
    fi
done

# ---- persistent connections and 100-continue ---------------------------
u="http://127.0.0.1:$main_port/v1/chat/completions"
body='{"model":"gpt-mini","messages":[{"role":"user","content":"hello"}]}'
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{num_connects}\n' -H 'Authorization: Bearer sk-test-openai' \
      -d "$body" "$u" --next --max-time 5 -o /dev/null -w '%{http_code} %{num_connects}\n' \
      -H 'Authorization: Bearer sk-test-openai' -d "$body" "$u" 2>&1)
[ "$(echo "$out" | tr '\n' ' ')" = "200 1 200 0 " ] && echo "PASS mock/keep-alive" || echo "FAIL mock/keep-alive: $out"
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-test-openai' \
      -H 'Expect: 100-continue' -d "$body" "$u" 2>&1)
[ "$out" = 200 ] && echo "PASS mock/expect-100-continue" || echo "FAIL mock/expect-100-continue: $out"

# ---- protocol errors over raw sockets -----------------------------------
python3 tests/mock/raw_requests.py "$main_port" "$alt_port"

# a request body over --max-body, sent with curl
python3 -c 'import sys; sys.stdout.write("{\"model\":\"gpt-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a" * 70000 + "\"}]}")' > "$T/big"
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Expect:' --data-binary "@$T/big" \
      "http://127.0.0.1:$alt_port/openai/v1/chat/completions" 2>&1)
[ "$out" = 413 ] && echo "PASS mock/body-too-large" || echo "FAIL mock/body-too-large: $out"

# the mocks survived all of that
out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-test-openai' -d "$body" "$u" 2>&1)
[ "$out" = 200 ] && echo "PASS mock/still-serving" || echo "FAIL mock/still-serving: $out"

# ---- scripts the mock must refuse ---------------------------------------
for s in tests/mock/bad/*.json; do
    name=mock/bad-script-$(basename "$s" .json)
    want=$(cat "${s%.json}.err")
    "$MOCK" --script "$s" --max-seconds 1 > /dev/null 2> "$T/err"; rc=$?
    if [ $rc -eq 2 ] && grep -qF -- "$want" "$T/err"; then echo "PASS $name"; else
        echo "FAIL $name: exit status $rc, stderr: $(cat "$T/err")"; fi
done
"$MOCK" --script tests/mock/cases/script.json --bogus > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && echo "PASS mock/bad-option" || echo "FAIL mock/bad-option: exit status $rc"

# ---- lifetime -----------------------------------------------------------
"$MOCK" --script tests/mock/cases/script.json --max-seconds 1 > "$T/short.out" 2> "$T/short.err" &
short=$!
wait $short; rc=$?
[ $rc -eq 0 ] && grep -Eq '^[0-9]+$' "$T/short.out" && echo "PASS mock/max-seconds" \
    || echo "FAIL mock/max-seconds: exit status $rc; $(cat "$T/short.err")"
# SIGTERM with a connection still open mid-stall: a clean exit, nothing leaked
curl -s --max-time 5 -N -o /dev/null -H 'Authorization: Bearer sk-test-openai' \
    -d '{"model":"f-stall-continue","stream":true,"messages":[{"role":"user","content":"x"}]}' \
    "http://127.0.0.1:$main_port/v1/chat/completions" &
cpid=$!
sleep 0.1
for n in main alt; do
    eval "pid=\$${n}_pid"
    kill -TERM "$pid"; wait "$pid"; rc=$?
    [ $rc -eq 0 ] && echo "PASS mock/sigterm-$n" || { echo "FAIL mock/sigterm-$n: exit status $rc"; cat "$T/$n.err"; }
done
wait $cpid 2>/dev/null
PIDS=""
