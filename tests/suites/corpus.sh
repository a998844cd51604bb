#!/bin/sh
# The fuzzers' seed corpora replayed through the command-line tools (or,
# for parsers without one, through the harness itself), under
# the sanitizers: every input ends in a verdict (exit 0, 1 or 2), never a
# crash.  A crash a fuzzer finds is kept in tests/fuzz/corpus/ and so
# replayed here from then on.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99" UBSAN_OPTIONS="print_stacktrace=1:exitcode=99"
replay() {  # replay NAME CMD... (the input file is the last argument)
    name=$1; shift
    n=0; bad=0
    for f in tests/fuzz/corpus/"$name"/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        timeout 20 "$@" "$f" > /dev/null 2>&1; rc=$?
        if [ $rc -gt 2 ]; then echo "    $f: exit status $rc"; bad=$((bad + 1)); fi
    done
    [ $bad -eq 0 ] && echo "PASS corpus/$name ($n inputs)" || echo "FAIL corpus/$name: $bad of $n inputs crashed or hung"
}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# parse inputs are policies: give each a .route name
mkdir -p "$T/parse"
for f in tests/fuzz/corpus/parse/*; do cp "$f" "$T/parse/$(basename "$f").route"; done
n=0; bad=0
for f in "$T"/parse/*.route; do
    n=$((n + 1))
    timeout 20 "$B/routec" check "$f" > /dev/null 2>&1; rc=$?
    if [ $rc -gt 2 ]; then echo "    $(basename "$f"): exit status $rc"; bad=$((bad + 1)); fi
done
[ $bad -eq 0 ] && echo "PASS corpus/parse ($n inputs)" || echo "FAIL corpus/parse: $bad of $n inputs crashed or hung"
# .rbc: the seeds are built from the sources at the current format
# (tests/fuzz/seeds.sh), and with the inputs that once crashed they run
# through the harness itself -- load, verify, decide, explain, test blocks
# (tests/fuzz/replay.c) -- then the bare files through the tools
each() {  # each LABEL CMD... (files as the last arguments): one verdict per file
    label=$1; shift
    n=0; bad=0
    for f in $FILES; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        timeout 60 "$@" "$f" > "$T/out" 2>&1; rc=$?
        if [ $rc -gt 2 ]; then echo "    $f: exit status $rc"; tail -5 "$T/out"; bad=$((bad + 1)); fi
    done
    [ $bad -eq 0 ] && echo "PASS corpus/$label ($n inputs)" || echo "FAIL corpus/$label: $bad of $n inputs crashed or hung"
}
if sh tests/fuzz/seeds.sh "$B" "$T/seeds" > "$T/seeds.log" 2>&1; then
    FILES="$T/seeds/rbc/* tests/fuzz/corpus/rbc/*" each rbc-harness "$B/replay/fuzz_rbc"
    FILES="$T/seeds/rbc-files/*" each rbc-verify "$B/routec" verify
    FILES="$T/seeds/rbc-files/*" each rbc-explain "$B/routevm" explain --request examples/requests/complaint.json
else
    echo "FAIL corpus/rbc: the seeds do not build"; cat "$T/seeds.log"
fi
replay request "$B/routevm" explain tests/compile/clean.route --agent main --request
# stream decoders: no command-line front end, so the harness itself runs
# each input (tests/fuzz/replay.c; an abort is a broken property)
replay eventstream "$B/replay/fuzz_eventstream"
replay sse "$B/replay/fuzz_sse"
replay sigv4 "$B/replay/fuzz_sigv4"
# answers from a fake upstream on 127.0.0.1 through the engine's own HTTP/1.1 transport
replay h1 "$B/replay/fuzz_h1"
# the one-pass head reader held to http-parser (an abort is a disagreement)
replay hhead "$B/replay/fuzz_hhead"
replay jsonfast "$B/replay/fuzz_jsonfast"
# HTTP bytes through the gateway's server to a decision (the harness compiles
# tests/serve/policy.route.in, found through ROUTEVM_ROOT)
ROUTEVM_ROOT="$ROOT" replay serve "$B/replay/fuzz_serve"
# client bytes and provider bytes through the whole gateway application
# (keys, chat.c, the driver, the answer parsers) to an in-process upstream
ROUTEVM_ROOT="$ROOT" replay gateway "$B/replay/fuzz_gateway"
replay replay "$B/routevm" simulate tests/simulate/pair.route --agent escalate --replay
replay report "$B/routevm" report --by arm --html "$T/report.html"
replay answers "$B/replay/fuzz_answers"
# LSP sessions: framing, JSON-RPC and the documents they open (the
# harness checks that every answer is a framed JSON-RPC message)
replay lsp "$B/replay/fuzz_lsp"
replay import "$B/replay/fuzz_import"
# model answers through the equation scanner of arithmetic(), equations()
# and last_result()
replay equations "$B/replay/fuzz_equations"
# regex patterns and texts through the literal-set and filter readers,
# against PCRE2's own answer
replay filter "$B/replay/fuzz_filter"
