#!/bin/sh
# Runs every test suite against the binaries in $1 (default build) and ends
# with "N passed, N failed".  Each suite prints one line per case:
#   PASS <name>        or        FAIL <name>: <why>
# and anything else (context for a failure) is passed through.
# Suites: the unit test binaries ($BIN/tests/NAME, built from tests/unit/NAME.c), then every tests/suites/*.sh
# (each is given $BIN and the repository root).
BIN=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROUTEC_STDLIB="$ROOT/stdlib" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1
LOG=$(mktemp); trap 'rm -f "$LOG"' EXIT
run() {  # run NAME CMD...: a suite that crashes or exits non-zero without a FAIL line counts as one failure
    name=$1; shift
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -E '^(PASS|FAIL) ' >> "$LOG"
    printf '%s\n' "$out" | grep -v '^PASS ' | grep -v '^$'
    if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
        echo "FAIL $name: exited with status $rc" | tee -a "$LOG"
    fi
}
for t in "$BIN"/tests/*; do
    [ -x "$t" ] || continue
    # only binaries built from a tests/unit source today: an old build
    # directory may still hold one whose source is gone
    [ -f "$ROOT/tests/unit/$(basename "$t").c" ] || continue
    run "$(basename "$t")" "$t" "$ROOT"
done
for s in "$ROOT"/tests/suites/*.sh; do
    [ -f "$s" ] || continue
    run "$(basename "$s" .sh)" sh "$s" "$BIN" "$ROOT"
done
pass=$(grep -c '^PASS ' "$LOG"); fail=$(grep -c '^FAIL ' "$LOG")
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
