#!/bin/sh
# make demo: the compiler's side of routevm on the support-desk policy.
# Checks it (with the worst-case cost of a request), compiles it to
# verified bytecode, verifies the file as routevm will, and prints the
# listing; then shows what a policy with mistakes looks like to routec.
set -e
BUILD=${1:-build}
RC="$BUILD/routec"
OUT=$BUILD/demo
mkdir -p "$OUT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "routec check -v examples/support.route"
"$RC" check -v examples/support.route

say "routec build examples/support.route -o $OUT/support.rbc"
"$RC" build examples/support.route -o "$OUT/support.rbc"
ls -l "$OUT/support.rbc" | awk '{print $5 " bytes"}'

say "routec verify $OUT/support.rbc"
"$RC" verify "$OUT/support.rbc"

say "routec dis $OUT/support.rbc  (the support agent's route)"
"$RC" dis "$OUT/support.rbc" | awk '/^== fn 0/{on=1} on && /^$/{exit} on'

say "a policy with mistakes: routec check examples/broken.route.txt"
cp examples/broken.route.txt "$OUT/broken.route"
"$RC" check "$OUT/broken.route" || true
