#!/bin/sh
# The test blocks of the examples and the docs' complete examples, run by
# 'routec test' (each test prints its own PASS/FAIL line), and the coverage
# gate.
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec"
case "$BIN" in /*) RC="$BIN/routec" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for f in examples/*.route tests/compile/clean.route tests/builtins/*.route; do
    "$RC" test "$f" | sed "s|^\(PASS\|FAIL\) |\1 $(basename "$f" .route): |" | grep -v ' passed, .* failed$'
done
# compiler cases that compile cleanly and carry tests (the behaviour of what they accept)
for f in tests/compile/*.route; do
    [ "$f" = tests/compile/clean.route ] && continue
    grep -q '^test ' "$f" && ! grep -q '^# expect:' "$f" || continue
    "$RC" test "$f" | sed "s|^\(PASS\|FAIL\) |\1 compile/$(basename "$f" .route): |" | grep -v ' passed, .* failed$'
done
awk -v dir="$T" '
    /^```route[ \t]*$/ { inblock = 1; name = ""; buf = ""; next }
    inblock && /^```/ { if (name != "") { printf "%s", buf > (dir "/" name); close(dir "/" name) } inblock = 0; next }
    inblock { if (buf == "" && match($0, /^# file: */)) name = substr($0, RLENGTH + 1); buf = buf $0 "\n" }
' docs/language.md
for f in "$T"/*.route; do
    grep -q '^test ' "$f" || continue
    "$RC" test "$f" | sed "s|^\(PASS\|FAIL\) |\1 doc/$(basename "$f" .route): |" | grep -v ' passed, .* failed$'
done
"$RC" test --coverage --threshold 100 tests/compile/clean.route > "$T/cov.out"; rc=$?
if [ $rc = 1 ] && grep -q 'below the threshold of 100.0%' "$T/cov.out" && grep -q 'rule 3 of main never matched' "$T/cov.out"
then echo "PASS coverage-gate"; else echo "FAIL coverage-gate: exit $rc"; cat "$T/cov.out"; fi
"$RC" test --coverage --threshold 100 examples/ab_split.route > "$T/cov2.out"; rc=$?
[ $rc = 0 ] && echo "PASS coverage-full" || { echo "FAIL coverage-full: exit $rc"; cat "$T/cov2.out"; }
# a failing expectation fails the run and names its line
cat > "$T/failing.route" <<'EOF2'
provider p { kind openai endpoint "https://x.example/v1" }
model a from p { id "a" price in $1/Mtok, out $1/Mtok context 1k tokens }
model b from p { id "b" price in $1/Mtok, out $1/Mtok context 1k tokens }
agent x { route { when meta.k == "1" -> a  otherwise -> b } }
test "wrong on purpose" {
  request x { user "hi" meta.k = "1" }
  expect model == b
}
EOF2
"$RC" test "$T/failing.route" > "$T/f.out"; rc=$?
if [ $rc = 1 ] && grep -q 'failing.route:7:10: expectation failed:   expect model == b' "$T/f.out" &&
   grep -q 'decision: model a, rule 1' "$T/f.out" && grep -q '^0 passed, 1 failed$' "$T/f.out"
then echo "PASS test-failure-report"; else echo "FAIL test-failure-report: exit $rc"; cat "$T/f.out"; fi
