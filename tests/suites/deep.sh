#!/bin/sh
# Input-sized nesting and chains (tests/deep/gen.py writes them): past the
# documented limits the compiler stops with one 'too-deep' error, at the
# limits everything compiles, builds, verifies and decides, and long
# chains of agents are handled without recursion -- in routec and in
# routevm explain, under the sanitizers, never a stack overflow.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
W=$(mktemp -d "${TMPDIR:-/tmp}/routevm-deep.XXXXXX"); trap 'rm -rf "$W"' EXIT
python3 "$ROOT/tests/deep/gen.py" "$W" || { echo "FAIL deep/gen: the generator failed"; exit 0; }
echo '{"messages":[{"role":"user","content":"hello"}]}' > "$W/req.json"

# over NAME WANT: 'routec check' and 'routevm explain' exit 1 with one error containing WANT
over() {
    name=$1; want=$2
    out=$("$B/routec" check "$W/$name.route" 2>&1); rc=$?
    n=$(printf '%s\n' "$out" | grep -c ': error: ')
    if [ $rc -ne 1 ] || [ "$n" -ne 1 ] || ! printf '%s\n' "$out" | grep -q "$want"; then
        echo "FAIL deep/$name: routec check exit $rc, $n errors, want 1 error '$want'"
        printf '%s\n' "$out" | cut -c1-200 | head -5
        return
    fi
    "$B/routevm" explain "$W/$name.route" --request "$W/req.json" >/dev/null 2>"$W/err"; rc=$?
    if [ $rc -ne 1 ] || ! grep -q "$want" "$W/err"; then
        echo "FAIL deep/$name: routevm explain exit $rc, want 1 and '$want'"; cut -c1-200 "$W/err" | head -5; return
    fi
    echo "PASS deep/$name"
}
# ok NAME [AGENT]: check is clean of errors, build verifies, explain decides
ok() {
    name=$1; agent=${2:-a}
    out=$("$B/routec" check "$W/$name.route" 2>&1); rc=$?
    if [ $rc -ne 0 ]; then echo "FAIL deep/$name: routec check exit $rc"; printf '%s\n' "$out" | cut -c1-200 | head -5; return; fi
    if ! "$B/routec" build "$W/$name.route" -o "$W/$name.rbc" 2>"$W/err" || ! "$B/routec" verify "$W/$name.rbc" >/dev/null 2>>"$W/err"; then
        echo "FAIL deep/$name: build or verify failed"; cut -c1-200 "$W/err" | head -5; return
    fi
    if ! "$B/routevm" explain "$W/$name.route" --agent "$agent" --request "$W/req.json" >"$W/out" 2>"$W/err" ||
       ! grep -q '"decision":"call"' "$W/out"; then
        echo "FAIL deep/$name: routevm explain did not decide"; cut -c1-200 "$W/err" | head -5; return
    fi
    echo "PASS deep/$name"
}
for n in over_and over_or over_add over_sub over_not over_neg over_paren over_list over_member over_call \
         over_routes over_split over_hook; do
    over "$n" "nesting too deep (limit 1000)"
done
over over_consts "constants defined in terms of constants nest too deep"
over over_imports "imports nest too deep (limit 128)"
for n in at_and at_not at_paren at_routes at_where at_consts; do
    ok "$n"
done
ok chain_64 a0
over long_delegation "can pass through 65 agents"
over long_fallback "can pass through 65 agents"
over long_cycle "agents route or fall back to each other in a cycle"
if "$B/routec" test "$W/at_where.route" >"$W/out" 2>&1; then echo "PASS deep/at_where-test"
else echo "FAIL deep/at_where-test: the deep expectation did not pass"; head -5 "$W/out"; fi
