#!/bin/sh
# The Vim files of editors/vim in a headless Vim (Debian 'vim', which has
# +syntax; vim-tiny does not): tests/vim/check.vim opens the cases of
# tests/vim/cases (scope assertions on syntax item names), every example
# and every stdlib module as a user would, and checks that ftdetect and the
# syntax file load without a Vim error, that the assertions hold and that
# no character of a valid file is in an error item.
BIN=$1; ROOT=$(cd "$2" && pwd)
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

if ! command -v vim > /dev/null; then
    echo "FAIL vim/setup: vim is needed (apt-get install vim)"; exit 0
fi
if ! vim --version | grep -q '+syntax'; then
    echo "FAIL vim/setup: this vim has no syntax highlighting (vim-tiny?); install Debian's vim"; exit 0
fi
ncase=$(ls tests/vim/cases/*.route 2> /dev/null | wc -l)
[ "$ncase" -ge 2 ] || echo "FAIL vim/cases: only $ncase cases in tests/vim/cases"
ROUTE_VIM_ROOT="$ROOT" ROUTE_VIM_OUT="$T/out" HOME="$T" timeout 120 \
    vim -Nu NONE -i NONE -n -es -S tests/vim/check.vim tests/vim/cases/*.route examples/*.route stdlib/std/*.route \
    < /dev/null > "$T/log" 2>&1
rc=$?
if [ ! -s "$T/out" ]; then
    echo "FAIL vim/run: vim exited with status $rc and wrote no results"; tail -5 "$T/log"; exit 0
fi
cat "$T/out"
want=$(($(ls tests/vim/cases/*.route examples/*.route stdlib/std/*.route | wc -l)))
got=$(grep -c '^\(PASS\|FAIL\) ' "$T/out")
[ "$got" -eq "$want" ] || echo "FAIL vim/count: $got results for $want files"
exit 0
