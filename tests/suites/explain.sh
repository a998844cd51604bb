#!/bin/sh
# routevm explain cases (tests/explain/*.case, see its README) and the
# JSONTestSuite vectors (tests/vectors/json) as requests: every input gives a decision or a JSON
# error with exit status 1, never a crash.
BIN=$1; ROOT=$(cd "$2" && pwd)
RV="$ROOT/$BIN/routevm"
case "$BIN" in /*) RV="$BIN/routevm" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

gen() {
    case "$1" in
    non_utf8) printf '{"model":"support","messages":[{"role":"user","content":"caf\351"}]}' ;;
    deep) python3 -c 'import sys; sys.stdout.write("{\"model\":\"support\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"x\":" + "[" * 100000 + "]" * 100000 + "}")' ;;
    # 1,000 messages each just under the match limit (about 2 ms each here):
    # the request's regex time budget stops it
    regex_budget) python3 -c 'import json, sys; sys.stdout.write(json.dumps({"messages": [{"role": "user", "content": "a" * 18 + "!"}] * 1000}))' ;;
    # 100 system messages, an address to redact in the first and what the
    # route looks for in the last: 'system' keeps them all
    many_systems) python3 -c 'import json, sys; m = [{"role": "system", "content": "rule %d" % i} for i in range(100)]; m[0]["content"] = "mail jane@example.com"; m[99]["content"] = "LAST-MARKER"; sys.stdout.write(json.dumps({"messages": m + [{"role": "user", "content": "hi"}]}))' ;;
    too_many_messages) python3 -c 'import json, sys; sys.stdout.write(json.dumps({"model": "support", "messages": [{"role": "user", "content": "x"}] * 10001}))' ;;
    deep_messages) python3 -c 'import sys; sys.stdout.write("{\"model\":\"support\",\"messages\":" + "[" * 100000 + "]" * 100000 + "}")' ;;
    50mb) python3 -c 'import sys; sys.stdout.write("{\"model\":\"support\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a" * (50 << 20) + "\"}]}")' ;;
    esac
}

for c in tests/explain/*.case; do
    name=explain/$(basename "$c" .case)
    policy=$(sed -n 's/^# policy: //p' "$c" | head -n 1)
    args=$(sed -n 's/^# args: //p' "$c" | head -n 1)
    want=$(sed -n 's/^# exit: //p' "$c" | head -n 1); want=${want:-0}
    awk '/^---$/{exit} !/^# (policy|args|exit):/' "$c" > "$T/req"
    if grep -q '^@gen:' "$T/req"; then gen "$(sed -n 's/^@gen://p' "$T/req")" > "$T/req"; fi
    # shellcheck disable=SC2086
    "$RV" explain "$policy" --request "$T/req" $args > "$T/out" 2> "$T/err"; rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit status $rc, want $want"; head -c 600 "$T/out" "$T/err"; echo; continue
    fi
    if ! jq -e . "$T/out" > /dev/null 2>&1; then echo "FAIL $name: output is not one JSON object"; head -c 600 "$T/out"; continue; fi
    failed=""
    while IFS= read -r expr; do
        [ -n "$expr" ] || continue
        jq -e "$expr" "$T/out" > /dev/null 2>&1 || failed="$failed
    not true: $expr"
    done <<EOF2
$(awk 'f{print} /^---$/{f=1}' "$c")
EOF2
    if [ -z "$failed" ]; then echo "PASS $name"; else echo "FAIL $name:$failed"; head -c 800 "$T/out"; echo; fi
done

# the same request always lands on the same side of a split
a=$("$RV" explain examples/ab_split.route --request tests/explain/split_sticky.case 2>/dev/null; true)
awk '/^---$/{exit} !/^#/' tests/explain/split_sticky.case > "$T/sticky"
m1=$("$RV" explain examples/ab_split.route --request "$T/sticky" | jq -r .model)
m2=$("$RV" explain examples/ab_split.route --request "$T/sticky" | jq -r .model)
[ -n "$m1" ] && [ "$m1" = "$m2" ] && echo "PASS explain/split-is-sticky" || echo "FAIL explain/split-is-sticky: $m1 then $m2"

# --requests: one JSON line per request, errors included
printf '%s\n' '{"model":"support","messages":[{"role":"user","content":"hi"}],"metadata":{"task":"classify"}}' \
    'not json' '{"model":"support","messages":[{"role":"user","content":"hello"}],"metadata":{"task":"classify"}}' > "$T/many.jsonl"
"$RV" explain examples/support.route --requests "$T/many.jsonl" > "$T/many.out"; rc=$?
if [ $rc = 1 ] && [ "$(wc -l < "$T/many.out")" = 3 ] && [ "$(jq -s '[.[0].model, (.[1].error.message|startswith("invalid JSON")), .[2].model]' -c "$T/many.out")" = '["titan_lite",true,"titan_lite"]' ]
then echo "PASS explain/requests-jsonl"; else echo "FAIL explain/requests-jsonl: rc=$rc"; cat "$T/many.out"; fi

# JSONTestSuite (vendored in tests/vectors/json): each document as a request body
V="$ROOT/tests/vectors/json/test_parsing"
if [ -d "$V" ]; then
    bad=0; n=0
    for f in "$V"/*.json; do
        n=$((n + 1))
        timeout 10 "$RV" explain examples/support.route --request "$f" > "$T/o" 2>/dev/null; rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then echo "    $(basename "$f"): exit status $rc"; bad=$((bad + 1)); continue; fi
        if [ $rc -eq 1 ] && ! jq -e '.error.message | length > 0' "$T/o" > /dev/null 2>&1; then
            echo "    $(basename "$f"): no JSON error"; bad=$((bad + 1)); continue; fi
        case "$(basename "$f")" in n_*) [ $rc -eq 1 ] || { echo "    $(basename "$f"): accepted"; bad=$((bad + 1)); } ;; esac
    done
    [ $bad -eq 0 ] && echo "PASS explain/jsontestsuite ($n documents)" || echo "FAIL explain/jsontestsuite: $bad of $n"
else
    echo "FAIL explain/jsontestsuite: $V not found"
fi
