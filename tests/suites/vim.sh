#!/bin/sh
# The Vim files of editors/vim in a headless Vim (Debian 'vim', which has
# +syntax; vim-tiny does not): tests/vim/check.vim opens the cases of
# tests/vim/cases (assertions on syntax item names), the TextMate cases,
# every example, stdlib module, route block of the README and the docs,
# compile case, text of the parser's fuzz corpus, every keyword of
# grammar/lexer.l and 4,000 generated lines as a user would, and checks that ftdetect and the syntax file
# load without a Vim error, that the assertions hold, that no character of
# a valid file is in an error item, and that the highlighting agrees with
# the compiler's lexer token by token ($BIN/lexdump prints its tokens).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

if ! command -v vim > /dev/null; then
    echo "FAIL vim/setup: vim is needed (apt-get install vim)"; exit 0
fi
if ! vim --version | grep -q '+syntax'; then
    echo "FAIL vim/setup: this vim has no syntax highlighting (vim-tiny?); install Debian's vim"; exit 0
fi
if [ ! -x "$B/lexdump" ]; then
    echo "FAIL vim/setup: no $B/lexdump (make builds it)"; exit 0
fi
ncase=$(ls tests/vim/cases/*.route 2> /dev/null | wc -l)
[ "$ncase" -ge 2 ] || echo "FAIL vim/cases: only $ncase cases in tests/vim/cases"

# every word of the keyword table of grammar/lexer.l on a line of its own:
# the lexer reads each as a keyword, which the syntax must show as one
sed -n '/keywords\[\] = {/,/^};/p' grammar/lexer.l | grep -o '{ "[a-z_]*",' | sed 's/{ "\(.*\)",/\1/' > "$T/keywords.route"
nkw=$(wc -l < "$T/keywords.route")
[ "$nkw" -ge 40 ] || echo "FAIL vim/keywords: read $nkw keywords from the table in grammar/lexer.l; its layout changed"

# every route block of the README and the docs, as docs/FILE.md-LINE.route
mkdir -p "$T/docs"
for md in README.md docs/*.md; do
    awk -v dir="$T/docs" -v md="$(basename "$md")" '
        /^```route(-fragment)?[ \t]*$/ { out = dir "/" md "-" NR + 1 ".route"; printf "" > out; next }
        out != "" && /^```/ { close(out); out = ""; next }
        out != "" { print > out }
    ' "$md"
done

# 4,000 lines glued together at random from pieces of every kind of token
# (the TextMate suite's, tests/textmate/generate.mjs)
if ! command -v node > /dev/null || ! node tests/textmate/generate.mjs 4000 > "$T/random.route"; then
    echo "FAIL vim/generate: node tests/textmate/generate.mjs failed (apt-get install nodejs)"; rm -f "$T/random.route"
fi

# the files (each text once), and the lexer's tokens of each (texts it
# reads as Vim does: UTF-8 without NUL)
: > "$T/lex"
n=0
for f in tests/vim/cases/*.route tests/textmate/cases/*.route examples/*.route stdlib/std/*.route \
         tests/compile/*.route tests/fuzz/corpus/parse/* "$T/keywords.route" "$T/random.route" "$T"/docs/*.route; do
    [ -f "$f" ] || continue
    sum=$(md5sum < "$f" | cut -c1-32)                 # the fuzz corpus repeats other files
    grep -qx "$sum" "$T/sums" 2> /dev/null && continue
    echo "$sum" >> "$T/sums"
    iconv -f UTF-8 -t UTF-8 "$f" > /dev/null 2>&1 || continue
    grep -qP '\x00' "$f" && continue
    # Vim keeps a leading byte-order mark out of the buffer ('bomb') and the
    # lexer reads it as white space: nothing to compare
    [ "$(head -c 3 "$f" | od -An -tx1 | tr -d ' \n')" = efbbbf ] && continue
    n=$((n + 1))
    echo "$f" >> "$T/files"
    if "$B/lexdump" "$f" > "$T/$n.tokens" 2> "$T/$n.err"; then
        printf '%s\t%s\n' "$f" "$T/$n.tokens" >> "$T/lex"
    else
        echo "FAIL vim/lexdump/$f: $(cat "$T/$n.err")"
    fi
done
ROUTE_VIM_ROOT="$ROOT" ROUTE_VIM_OUT="$T/out" ROUTE_VIM_LEX="$T/lex" ROUTE_VIM_TMP="$T" HOME="$T" timeout 300 \
    xargs -d '\n' sh -c 'vim -Nu NONE -i NONE -n -es -S tests/vim/check.vim "$@" < /dev/null' vim < "$T/files" \
    > "$T/log" 2>&1
rc=$?
if [ ! -s "$T/out" ]; then
    echo "FAIL vim/run: vim exited with status $rc and wrote no results"; tail -5 "$T/log"; exit 0
fi
cat "$T/out"
want=$((n + $(wc -l < "$T/lex")))
got=$(grep -c '^\(PASS\|FAIL\) ' "$T/out")
[ "$got" -eq "$want" ] || echo "FAIL vim/count: $got results for $n files and $(wc -l < "$T/lex") token lists"
exit 0
