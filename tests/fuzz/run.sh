#!/bin/sh
# Builds and runs every libFuzzer target tests/fuzz/fuzz_NAME.c for $1
# seconds each (default 60), with ASan and UBSan, one process each.  Each
# target is linked against the project's sources: vm/*.c except
# vm/routevm.c, vm/providers/*.c, compiler/*.c
# except compiler/routec.c, and build/gen/{parser,lexer}.c when present
# (run 'make' first to generate them).  Seeds come from
# tests/fuzz/corpus/NAME/ if it exists and, for rbc, from
# tests/fuzz/seeds.sh, which compiles every example and compiler test case
# with build/routec at the current format into build/fuzz/seeds/rbc; the
# working corpus and any crash files go to build/fuzz/NAME/.  The final
# coverage (cov: edges, ft: features) of each run is printed.  Exits
# non-zero if a target fails to build or finds a crash.
#   FUZZ_TARGETS="rbc parse" sh tests/fuzz/run.sh 300    # a subset
#   FUZZ_VM_ONLY=1 sh tests/fuzz/run.sh 300    # link vm/ only (compiler broken)
SECS=${1:-60}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CC=${FUZZ_CC:-clang}
OUT="$ROOT/build/fuzz"
mkdir -p "$OUT"
cd "$ROOT" || exit 2
export ROUTEVM_ROOT="$ROOT"

SRC=""
DIRS="vm vm/providers vm/serve compiler"
[ -n "$FUZZ_VM_ONLY" ] && DIRS="vm vm/providers vm/serve"
for f in $(for d in $DIRS; do ls "$d"/*.c; done); do
    case "$f" in vm/routevm.c|vm/cli_*.c|compiler/routec.c) continue ;; esac
    [ -f "$f" ] && SRC="$SRC $f"
done
if [ -z "$FUZZ_VM_ONLY" ]; then
    for f in build/gen/parser.c build/gen/lexer.c; do
        [ -f "$f" ] && SRC="$SRC $f"
    done
fi
CFLAGS="-std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 -Ivm -Ivm/providers -Ivm/serve -Icompiler -Ibuild/gen -DRV_STDLIB_SRC=\"$ROOT/stdlib\" -DRV_STDLIB_INSTALL=\"/usr/local/share/routevm/stdlib\""
LIBS="-lyaml -levent_pthreads -levent -lhttp_parser -lsqlite3 -lpthread -lpcre2-8 -lcurl -lssl -lcrypto -ljansson -lyajl -lexttextcat-2.0 -lz -lm"

status=0
for h in tests/fuzz/fuzz_*.c; do
    [ -f "$h" ] || continue
    name=$(basename "$h" .c); name=${name#fuzz_}
    if [ -n "$FUZZ_TARGETS" ] && ! echo " $FUZZ_TARGETS " | grep -q " $name "; then
        continue
    fi
    bin="$OUT/fuzz_$name"
    echo "fuzz: building $name"
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS -w -o "$bin" "$h" $SRC $LIBS; then
        echo "FAIL fuzz $name: does not build"
        status=1
        continue
    fi
    work="$OUT/$name/corpus"
    mkdir -p "$work" "$OUT/$name/crashes"
    seeds=""
    [ -d "tests/fuzz/corpus/$name" ] && seeds="tests/fuzz/corpus/$name"
    if [ "$name" = rbc ]; then
        if ! sh tests/fuzz/seeds.sh build "$OUT/seeds"; then
            echo "FAIL fuzz $name: no seeds (run make first)"
            status=1
            continue
        fi
        seeds="$seeds $OUT/seeds/rbc"
    fi
    echo "fuzz: running $name for ${SECS}s"
    if "$bin" -max_total_time="$SECS" -print_final_stats=1 \
            -artifact_prefix="$OUT/$name/crashes/" "$work" $seeds \
            > "$OUT/$name/log" 2>&1; then
        cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$OUT/$name/log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
        echo "PASS fuzz $name ($(ls "$work" | wc -l) corpus files, $cov)"
    else
        echo "FAIL fuzz $name: see $OUT/$name/log and $OUT/$name/crashes/"
        tail -40 "$OUT/$name/log"
        status=1
    fi
done
exit $status
