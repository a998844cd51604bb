#!/bin/sh
# Builds the .rbc fuzzer's seeds from sources, at the current format, so
# that a format change cannot strand them: every example, every compiler
# test case that builds, and the benchmark policies, each compiled by
# routec.  Run from anywhere:
#     sh tests/fuzz/seeds.sh BIN OUT
# BIN holds routec (a build directory); OUT gets
#     OUT/rbc/m1-NAME     mode byte 0x01 (digest recomputed) + the .rbc: what
#                         fuzz_rbc reads (examples also as m0-NAME, digest
#                         kept, and as m1-NAME-strip, built with --strip)
#     OUT/rbc-files/NAME.rbc   the bare files, for the command-line replay
# tests/fuzz/run.sh and tests/suites/corpus.sh call it.
BIN=$1; OUT=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
[ -x "$BIN/routec" ] || { echo "seeds: no $BIN/routec (run make first)" >&2; exit 2; }
rm -rf "$OUT/rbc" "$OUT/rbc-files"
mkdir -p "$OUT/rbc" "$OUT/rbc-files" || exit 2
cd "$ROOT" || exit 2
n=0
seed() {  # seed MODE NAME FILE
    { printf "\\$1"; cat "$3"; } > "$OUT/rbc/m$1-$2"
}
for f in examples/*.route tests/compile/*.route bench/policies/*.route; do
    [ -f "$f" ] || continue
    dir=$(basename "$(dirname "$f")"); name=$dir-$(basename "$f" .route)
    rbc="$OUT/rbc-files/$name.rbc"
    if ! "$BIN/routec" build "$f" -o "$rbc" > /dev/null 2>&1; then
        rm -f "$rbc"
        continue
    fi
    n=$((n + 1))
    seed 1 "$name" "$rbc"
    if [ "$dir" = examples ]; then
        seed 0 "$name" "$rbc"
        if "$BIN/routec" build "$f" --strip -o "$OUT/rbc-files/$name-strip.rbc" > /dev/null 2>&1; then
            seed 1 "$name-strip" "$OUT/rbc-files/$name-strip.rbc"
        fi
    fi
done
echo "seeds: $n policies built into $OUT/rbc"
[ "$n" -gt 0 ]
