#!/bin/sh
# The threads test (tests/unit/threads_test.c) built with ThreadSanitizer
# (make check builds build/tsan/tests/threads_test): several threads
# compile and decide at once, and any data race between them fails the
# suite.
ROOT=$(cd "$2" && pwd)
T="$ROOT/build/tsan/tests/threads_test"
if [ ! -x "$T" ]; then
    echo "FAIL tsan/threads: $T is not built (make check builds it)"
    exit 0
fi
out=$(TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" "$T" "$ROOT" 2>&1); rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^PASS threads'; then
    echo "PASS tsan/threads (no data race)"
else
    echo "FAIL tsan/threads: exit status $rc"
    printf '%s\n' "$out" | head -60
fi
