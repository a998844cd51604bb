#!/bin/sh
# routevm diff cases (tests/diff/*.case): two policies, a traffic file,
# the expected exit status, stdout/stderr patterns and jq expressions over
# --json, in the format of tests/simulate/README.md with '# old:', '# new:'
# and '# requests:' instead of '# policy:' and '# replay:'.
BIN=$1; ROOT=$(cd "$2" && pwd)
RV="$ROOT/$BIN/routevm"
case "$BIN" in /*) RV="$BIN/routevm" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for c in tests/diff/*.case; do
    name=diff/$(basename "$c" .case)
    old=$(sed -n 's/^# old: //p' "$c" | head -n 1)
    new=$(sed -n 's/^# new: //p' "$c" | head -n 1)
    traffic=$(sed -n 's/^# requests: //p' "$c" | head -n 1)
    args=$(sed -n 's/^# args: //p' "$c" | head -n 1)
    want=$(sed -n 's/^# exit: //p' "$c" | head -n 1); want=${want:-0}
    eval "set -- $args"
    "$RV" diff "$old" "$new" --requests "$traffic" "$@" > "$T/out" 2> "$T/err"; rc=$?
    failed=""
    [ "$rc" = "$want" ] || failed="
    exit status $rc, want $want"
    for stream in stdout stderr; do
        f=$T/out; [ $stream = stderr ] && f=$T/err
        while IFS= read -r pat; do
            [ -n "$pat" ] || continue
            grep -Eq -- "$pat" "$f" || failed="$failed
    $stream does not match: $pat"
        done <<EOF2
$(sed -n "s/^# $stream: //p" "$c")
EOF2
    done
    while IFS= read -r expr; do
        [ -n "$expr" ] || continue
        jq -e "$expr" "$T/out" > /dev/null 2>&1 || failed="$failed
    not true: $expr"
    done <<EOF2
$(awk 'f{print} /^---$/{f=1}' "$c")
EOF2
    if [ -z "$failed" ]; then echo "PASS $name"; else echo "FAIL $name:$failed"; head -c 800 "$T/out" "$T/err"; echo; fi
done
