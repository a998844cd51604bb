#!/bin/sh
# routevm report: the cases of tests/report/*.case (see tests/report/
# README.md) over vendored traces; traces recorded afresh from 'routevm
# run' against the mock provider, which must sum up as the vendored ones
# did; and the HTML pages of 'report --html' and 'simulate --html' loaded
# in a real headless browser (Debian's chromium, installed by mk/deps.sh),
# where the charts must be SVG elements laid out with marks in them.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
RV="$B/routevm"
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib/cases.sh"

gen() {
    case "$1" in
    oversized)   # a record longer than the line cap between two good ones
        head -n 4 tests/report/data/mock.jsonl
        python3 -c 'import sys; sys.stdout.write("{\"routevm.step\": \"" + "x" * (17 << 20) + "\"}\n")'
        sed -n '5,$p' tests/report/data/mock.jsonl ;;
    many)        # 2,000 one-line requests
        python3 -c '
for i in range(2000):
    print("{\"routevm.step\":\"outcome\",\"routevm.request_id\":\"q%d\",\"routevm.status\":\"answered\",\"routevm.cost\":%d,\"routevm.latency_us\":%d}" % (i, i, i))' ;;
    truncated)   # the vendored traces cut in the middle of a record
        head -c 20000 tests/report/data/mock.jsonl ;;
    binary)      # bytes that are not text
        head -c 3000 /dev/urandom | tr '\n' 'x'; echo; head -n 8 tests/report/data/mock.jsonl ;;
    esac
}

for c in tests/report/*.case; do
    name=report/$(basename "$c" .case)
    traces=$(case_field "$c" traces)
    args=$(case_field "$c" args)
    want=$(case_field "$c" exit); want=${want:-0}
    case "$traces" in @gen:*) gen "${traces#@gen:}" > "$T/gen.jsonl"; traces="$T/gen.jsonl" ;; esac
    args=$(printf '%s' "$args" | sed "s|@html|$T/out.html|")
    eval "set -- $args"
    timeout 60 "$RV" report "$traces" "$@" > "$T/out" 2> "$T/err"; rc=$?
    failed=""
    [ "$rc" = "$want" ] || failed="
    exit status $rc, want $want"
    failed="$failed$(case_patterns "$c" stderr "$T/err" stderr)"
    if grep -q '^--- stdout$' "$c"; then
        sed '1,/^--- stdout$/d' "$c" > "$T/want"
        cmp -s "$T/want" "$T/out" || failed="$failed
    stdout differs from the case's:
$(diff "$T/want" "$T/out" | head -20)"
    fi
    if grep -q '^--- jq$' "$c"; then
        sed '1,/^--- jq$/d' "$c" > "$T/jq"
        failed="$failed$(case_jq "$T/jq" "$T/out")"
    fi
    if [ -z "$failed" ]; then echo "PASS $name"; else echo "FAIL $name:$failed"; head -c 600 "$T/err"; echo; fi
done

# Traces recorded now sum up as the vendored recording did, in everything
# that does not depend on timing.
timing='del(.traces, .lines) | walk(if type == "object" then del(.latency, .ttft) else . end)'
if sh tests/report/record.sh "$B" "$T/fresh.jsonl" 2> "$T/record.err"; then
    for by in model agent rule task arm; do
        "$RV" report "$T/fresh.jsonl" --json --by $by | jq -S "$timing" > "$T/fresh.json" 2>&1
        "$RV" report tests/report/data/mock.jsonl --json --by $by | jq -S "$timing" > "$T/vendored.json" 2>&1
        if [ -s "$T/fresh.json" ] && cmp -s "$T/fresh.json" "$T/vendored.json"; then echo "PASS report/recorded-by-$by"
        else echo "FAIL report/recorded-by-$by: fresh traces sum up differently"; diff "$T/vendored.json" "$T/fresh.json" | head -20; fi
    done
else
    echo "FAIL report/recorded: tests/report/record.sh failed"; cat "$T/record.err"
fi

# The pages in a browser: tests/report/charts.html loads a page in a frame
# and lists its charts; chromium prints the DOM once the page has loaded.
browse() {  # browse NAME PAGE MIN_CHARTS TITLE...
    name=$1; page=$2; min=$3; shift 3
    if ! command -v chromium > /dev/null; then echo "FAIL $name: chromium is not installed (mk/deps.sh installs it)"; return; fi
    cp tests/report/charts.html "$T/charts.html"
    cp "$page" "$T/page.html"
    timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$T/chromium" --allow-file-access-from-files --virtual-time-budget=10000 \
        --dump-dom "file://$T/charts.html?page=page.html" > "$T/dom" 2> "$T/chromium.err"
    sed -n '/<pre id="result">/,/<\/pre>/p' "$T/dom" | sed 's/<[^>]*>//g' > "$T/charts"
    n=$(sed -n 's/^CHARTS \([0-9]*\)$/\1/p' "$T/charts")
    failed=""
    [ -n "$n" ] || failed="
    the page did not load (no result from the frame)"
    [ -z "$n" ] || [ "$n" -ge "$min" ] || failed="$failed
    $n charts, want at least $min"
    grep -q '^SCRIPTS 0$' "$T/charts" || failed="$failed
    the page runs scripts"
    grep -q '^EXTERNAL 0$' "$T/charts" || failed="$failed
    the page refers to external resources"
    if grep -P '^chart\t' "$T/charts" | grep -vqP '^chart\tsvg\t[1-9][0-9]*x[1-9][0-9]*\t[1-9]'; then failed="$failed
    a chart is not an SVG element with a size and marks:
$(grep -P '^chart\t' "$T/charts" | grep -vP '^chart\tsvg\t[1-9][0-9]*x[1-9][0-9]*\t[1-9]' | head -3)"; fi
    for title in "$@"; do
        grep -qF "	$title" "$T/charts" || failed="$failed
    no chart titled '$title'"
    done
    if [ -z "$failed" ]; then echo "PASS $name"; else echo "FAIL $name:$failed"; head -c 800 "$T/charts"; tail -3 "$T/chromium.err"; fi
}
"$RV" report tests/report/data/scored.jsonl --html "$T/report.html" > /dev/null 2>&1
browse report/browser-report "$T/report.html" 8 "Tokens by class" "Cost by model" "Latency p95 by model (ms)" \
    "Time to first token p50 by model (ms)" "A/B arms: cost per request" "A/B arms: mean score"
"$RV" simulate tests/simulate/pair.route --replay tests/simulate/data/basic.jsonl --agent escalate \
    --sweep "threshold=0.5..0.9/0.1" --html "$T/simulate.html" > /dev/null 2>&1
browse report/browser-simulate "$T/simulate.html" 2 "Accuracy against cost per request"
