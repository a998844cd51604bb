#!/bin/sh
# make demo: routevm on the support-desk policy, offline.  Checks it (with
# the worst-case cost of a request), compiles it to verified bytecode,
# verifies the file as routevm will, prints the listing, runs its test
# blocks, explains two decisions; then shows what a policy with mistakes
# looks like to routec; and finally answers six requests live through
# "routevm run", with the mock provider standing in for Bedrock.
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

say "routec test examples/support.route   (test blocks, no network)"
"$RC" test examples/support.route

say "routevm explain examples/support.route --request examples/requests/complaint.json"
"$BUILD/routevm" explain examples/support.route --request examples/requests/complaint.json | jq .

say "routevm explain ... --request examples/requests/question.json   (a cascade: the plan)"
"$BUILD/routevm" explain "$OUT/support.rbc" --request examples/requests/question.json | jq -c '{model, rule: .rule.number, strategy, plan, estimate}'

say "a policy with mistakes: routec check examples/broken.route.txt"
cp examples/broken.route.txt "$OUT/broken.route"
"$RC" check "$OUT/broken.route" || true

say "live: routevm run examples/support.route against the mock Bedrock (no key, no network)"
sh examples/live/demo_live.sh "$BUILD"
