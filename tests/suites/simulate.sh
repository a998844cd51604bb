#!/bin/sh
# routevm simulate cases (tests/simulate/*.case, see its README): exit
# status, stderr and stdout patterns, and jq expressions over --json.
BIN=$1; ROOT=$(cd "$2" && pwd)
RV="$ROOT/$BIN/routevm"
case "$BIN" in /*) RV="$BIN/routevm" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib/cases.sh"

gen() {
    case "$1" in
    oversized)
        head -n 1 tests/simulate/data/basic.jsonl
        python3 -c 'import sys; sys.stdout.write("{\"id\": \"" + "x" * (20 << 20) + "\"}\n")'
        sed -n 2p tests/simulate/data/basic.jsonl ;;
    gsm8k-tune) head -n 264 tests/vectors/routellm/gsm8k-dev.jsonl ;;
    gsm8k-held) tail -n +265 tests/vectors/routellm/gsm8k-dev.jsonl ;;
    esac
}

for c in tests/simulate/*.case; do
    name=simulate/$(basename "$c" .case)
    policy=$(case_field "$c" policy)
    replay=$(case_field "$c" replay)
    args=$(case_field "$c" args)
    want=$(case_field "$c" exit); want=${want:-0}
    case "$replay" in @gen:*) gen "${replay#@gen:}" > "$T/gen.jsonl"; replay="$T/gen.jsonl" ;; esac
    args=$(printf '%s' "$args" | sed "s|@html|$T/out.html|")
    rm -f "$T/out.html"
    # args may quote: --sweep "name=1 tokens..9 tokens/1 tokens"
    eval "set -- $args"
    "$RV" simulate "$policy" --replay "$replay" "$@" > "$T/out" 2> "$T/err"; rc=$?
    failed=""
    [ "$rc" = "$want" ] || failed="
    exit status $rc, want $want"
    awk 'f{print} /^---$/{f=1}' "$c" > "$T/jq"
    failed="$failed$(case_patterns "$c" stderr "$T/err" stderr)$(case_patterns "$c" stdout "$T/out" stdout)$(case_jq "$T/jq" "$T/out")"
    if grep -q -- '@html' "$c"; then
        if ! [ -s "$T/out.html" ]; then failed="$failed
    no HTML page written"
        elif grep -qi '<script\|src="http\|href="http' "$T/out.html"; then failed="$failed
    the HTML page is not self-contained"
        elif [ "$(grep -o '<svg class="chart"' "$T/out.html" | wc -l)" -lt 2 ]; then failed="$failed
    the HTML page has fewer than 2 charts"
        fi
    fi
    if [ -z "$failed" ]; then echo "PASS $name"; else echo "FAIL $name:$failed"; head -c 600 "$T/out" "$T/err"; echo; fi
done
