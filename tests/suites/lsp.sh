#!/bin/sh
# routec lsp, driven by a scripted client (tests/lsp/run.py) through every
# case in tests/lsp/*.case: one PASS/FAIL line per case.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
export ROUTEC_STDLIB="${ROUTEC_STDLIB:-$ROOT/stdlib}"
python3 tests/lsp/run.py "$B/routec" tests/lsp/*.case
