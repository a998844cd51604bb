#!/bin/sh
# Compiler cases: tests/compile/*.route checked with --verify, golden text
# output, JSON and SARIF shape, and coverage of every diagnostic name.
BIN=$1; ROOT=$2
RC="$BIN/routec"
cd "$ROOT" || exit 1
for f in tests/compile/*.route; do
    args=$(sed -n 's/^# args: //p' "$f" | head -n 1)
    # shellcheck disable=SC2086
    "$RC" check --verify $args "$f"
done
# what checks without errors builds, and the file verifies; what has
# errors builds nothing
T=$(mktemp -d "${TMPDIR:-/tmp}/routevm-compile.XXXXXX"); trap 'rm -rf "$T"' EXIT
for f in tests/compile/*.route; do
    name=$(basename "$f" .route)
    args=$(sed -n 's/^# args: //p' "$f" | head -n 1 | sed 's/-v//; s/-Werror//')
    # shellcheck disable=SC2086
    "$RC" check $args "$f" >/dev/null 2>&1; rc=$?
    # shellcheck disable=SC2086
    "$RC" build $args "$f" -o "$T/$name.rbc" >/dev/null 2>"$T/err"; brc=$?
    if [ $rc -eq 0 ]; then
        if [ $brc -eq 0 ] && "$RC" verify "$T/$name.rbc" >/dev/null 2>>"$T/err"; then echo "PASS build/$name"
        else echo "FAIL build/$name: checks clean but build exits $brc or the file does not verify"; head -3 "$T/err"; fi
    elif [ $brc -ne 0 ] && [ ! -e "$T/$name.rbc" ]; then echo "PASS build/$name (refused)"
    else echo "FAIL build/$name: check exits $rc but build exits $brc"; fi
done
# golden text output, caret lines included
for g in tests/compile/golden/*.txt; do
    [ -f "$g" ] || continue
    name=$(basename "$g" .txt)
    out=$("$RC" check "tests/compile/$name.route" 2>&1)
    if [ -n "$UPDATE_GOLDEN" ]; then printf '%s\n' "$out" > "$g"; fi
    if [ "$out" = "$(cat "$g")" ]; then echo "PASS golden/$name"
    else echo "FAIL golden/$name: text output differs"; printf '%s\n' "$out" | diff "$g" - | head -20; fi
done
# every diagnostic name has a case
for name in $(sed -n 's/^D([A-Z_0-9]*, *"\([a-z0-9-]*\)".*/\1/p' compiler/diag.def); do
    if grep -q "# expect: [a-z]*\[$name\]" tests/compile/*.route; then echo "PASS covers/$name"
    else echo "FAIL covers/$name: no case expects this diagnostic"; fi
done
# exit statuses: 0 clean, 1 findings, 2 usage / unreadable file
"$RC" check tests/compile/clean.route >/dev/null; s0=$?
"$RC" check tests/compile/type.route >/dev/null; s1=$?
"$RC" check tests/compile/no-such-file.route >/dev/null 2>&1; s2=$?
"$RC" check --bogus tests/compile/clean.route >/dev/null 2>&1; s3=$?
"$RC" check -Werror tests/compile/unused.route >/dev/null; s4=$?
"$RC" check tests/compile/unused.route >/dev/null; s5=$?
if [ "$s0$s1$s2$s3$s4$s5" = "012210" ]; then echo "PASS exit-codes"
else echo "FAIL exit-codes: got $s0$s1$s2$s3$s4$s5, want 012210"; fi
# machine-readable formats
if "$RC" check --format json tests/compile/undeclared.route | jq -e 'length == 9 and all(.[]; .file and .line and .column and .code and .severity and .message)' >/dev/null; then
    echo "PASS format-json"; else echo "FAIL format-json: unexpected shape"; fi
if "$RC" check --format sarif tests/compile/undeclared.route tests/compile/shadowed.route | jq -e '
    .version == "2.1.0" and (.runs | length == 1) and .runs[0].tool.driver.name == "routec"
    and (.runs[0].results | length == 12)
    and all(.runs[0].results[]; .ruleId and .level and .message.text
            and .locations[0].physicalLocation.region.startLine > 0)' >/dev/null; then
    echo "PASS format-sarif"; else echo "FAIL format-sarif: unexpected shape"; fi
if "$RC" check --format sarif tests/compile/undeclared.route | jq -e '.runs[0] as $r | all($r.results[]; $r.tool.driver.rules[.ruleIndex].id == .ruleId)' >/dev/null; then
    echo "PASS sarif-rule-index"; else echo "FAIL sarif-rule-index: ruleIndex does not name ruleId"; fi
# SARIF counts columns in code points and says so: on line 8 of
# messages.route an "é" (two bytes) stands before the error
if "$RC" check --format sarif tests/compile/messages.route | jq -e '.runs[0].columnKind == "unicodeCodePoints" and
    ([.runs[0].results[] | select(.ruleId == "type") | .locations[0].physicalLocation.region
      | select(.startLine == 8) | .startColumn] == [42])' >/dev/null; then
    echo "PASS sarif-columns"; else echo "FAIL sarif-columns: no columnKind, or byte columns"; fi
