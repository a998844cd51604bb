#!/bin/sh
# The second SSE decoder (tests/sse/reference.py, written plainly from the
# WHATWG text) against the data tests/unit/sse_test.c holds vm/providers/sse.c
# to: it must agree with every hand-written expectation in tests/sse/cases,
# and rewriting the fixture expectations (tests/sse/fixtures) must give the
# committed files back.  So the C decoder, the reference and the hand-made
# expectations all agree.
BIN=$1; ROOT=$(cd "$2" && pwd)
cd "$ROOT" || exit 1
python3 tests/sse/reference.py --check tests/sse/cases/*.case
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for v in openai anthropic; do
    python3 tests/sse/reference.py --fixtures "tests/vectors/sse/$v" "$T/$v" &&
    if out=$(diff -r "$T/$v" "tests/sse/fixtures/$v" 2>&1); then
        echo "PASS sse-reference/fixtures/$v ($(ls "$T/$v" | wc -l) streams)"
    else
        echo "FAIL sse-reference/fixtures/$v: the reference decoder no longer gives the committed expectations"
        printf '%s\n' "$out" | head -5
    fi
done
exit 0
