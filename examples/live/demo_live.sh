#!/bin/sh
# The live part of 'make demo': examples/support.route answers six requests
# through 'routevm run', with the mock provider (tests/mock) standing in
# for AWS Bedrock on 127.0.0.1 -- no key, no network.  The mock checks the
# SigV4 signature of every request with the demo's throwaway credentials.
#   sh examples/live/demo_live.sh BUILD
BUILD=${1:-build}
OUT=$BUILD/demo/live
mkdir -p "$OUT"
rm -f "$OUT"/*.trace "$OUT"/*.out "$OUT/port"
"$BUILD/mockprov" --script examples/live/mock.json --port-file "$OUT/port" --log "$OUT/mock.log" \
    --max-seconds 120 > "$OUT/mock.out" 2> "$OUT/mock.err" &
MOCK=$!
trap 'kill -TERM $MOCK 2>/dev/null' EXIT
i=0
while [ ! -s "$OUT/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$OUT/port" ] || { echo "demo: the mock provider did not start"; cat "$OUT/mock.err"; exit 1; }
PORT=$(cat "$OUT/port")
export AWS_ACCESS_KEY_ID=AKIDDEMOEXAMPLE00001 AWS_SECRET_ACCESS_KEY=demo/secret/key/for/the/mock/only
unset AWS_SESSION_TOKEN
echo "mock Bedrock on 127.0.0.1:$PORT; routevm run examples/support.route --endpoint bedrock=http://127.0.0.1:$PORT"
for r in examples/live/*.json; do
    name=$(basename "$r" .json)
    [ "$name" = mock ] && continue
    "$BUILD/routevm" run examples/support.route --request "$r" --endpoint "bedrock=http://127.0.0.1:$PORT" \
        --trace "$OUT/$name.trace" > "$OUT/$name.out" 2> "$OUT/$name.err"
    rc=$?
    printf '\n%s (exit %d)\n  ' "$name" "$rc"
    jq -r 'if .error then "error: " + .error.message else "answer: " + .choices[0].message.content end' "$OUT/$name.out"
done
echo
# the table: one row per request, from its trace
for r in examples/live/*.json; do
    name=$(basename "$r" .json)
    [ "$name" = mock ] && continue
    jq -s --arg name "$name" '
      (map(select(."routevm.step" == "call" and ."routevm.made"))) as $calls
      | (map(select(."routevm.step" == "outcome"))[0]) as $o
      | ($calls | map(."gen_ai.usage.input_tokens") | add // 0) as $in
      | ($calls | map(."gen_ai.usage.output_tokens") | add // 0) as $out
      | {name: $name, status: $o."routevm.status", model: ($o."routevm.model" // "-"),
         rule: ($o."routevm.rule" // "-"), calls: ($calls | length), in: $in, out: $out,
         cost: $o."routevm.cost", ms: (($o."routevm.latency_us" // 0) / 1000 | floor),
         strongest: ($in * 3000000 + $out * 15000000)}' "$OUT/$name.trace"
done | jq -s . > "$OUT/table.json"
jq -r '
  def usd: (. / 1000000 | round) as $u
    | "$" + ($u / 1000000 | floor | tostring) + "." + ($u % 1000000 + 1000000 | tostring | .[1:]);
  def row: [.[0], .[1], .[2], .[3], .[4], .[5], .[6], .[7]] as $c
    | [18, 10, 15, 6, 7, 15, 11, 9] as $w
    | [range(0; 8) | ($c[.] | tostring) as $s | $s + (" " * ([$w[.] - ($s | length), 1] | max))] | join("");
  (["request", "outcome", "model", "rule", "calls", "tokens in/out", "cost", "latency"] | row),
  (.[] | [.name, .status, .model, .rule, .calls, "\(.in)/\(.out)", (.cost | usd), "\(.ms) ms"] | row)' \
  "$OUT/table.json"
jq -r '
  def usd: (. / 1000000 | round) as $u
    | "$" + ($u / 1000000 | floor | tostring) + "." + ($u % 1000000 + 1000000 | tostring | .[1:]);
  "\ntotal: \(map(.cost) | add | usd) for these requests, against \(map(.strongest) | add | usd) for the same tokens all on claude_sonnet (the strongest model, $3/$15 per Mtok)"' \
  "$OUT/table.json"
