#!/bin/sh
# routec fmt.  For every example, stdlib module, complete example of
# docs/language.md and compiler case that parses: formatting is idempotent,
# keeps every comment in order (tests/fmt/comments.py reads them on its
# own), and, when the source compiles, gives the same program: the .rbc
# built with --strip from the source and from its formatted text are byte
# for byte the same once source positions are blanked (tests/fmt/nopos.py
# says why they must be).  Then the layout cases tests/fmt/NAME.route
# against NAME.fmt, --check, -w, errors, and the parser fuzz corpus.
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec"
case "$BIN" in /*) RC="$BIN/routec" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/routevm-fmt.XXXXXX"); trap 'chmod -R u+w "$T"; rm -rf "$T"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; }

# the complete examples of docs/language.md ('# file: NAME' first line)
mkdir -p "$T/doc"
. tests/lib/docexamples.sh
doc_examples docs/language.md "$T/doc"

# the example of docs/fmt.md is formatted and compiles
mkdir -p "$T/fmtdoc"
doc_examples docs/fmt.md "$T/fmtdoc"
ex="$T/fmtdoc/fmt_example.route"
if [ -s "$ex" ] && "$RC" fmt --check "$ex" > "$T/out" 2>&1 && "$RC" check -Werror "$ex" >> "$T/out" 2>&1; then ok docs-example
else bad docs-example "the example of docs/fmt.md is missing, unformatted or does not compile: $(head -3 "$T/out")"; fi

# props NAME FILE [ARGS]: the three properties of one source
n_rbc=0
props() {
    name=$1; f=$2; args=$3; dir=$(dirname "$f")
    case $f in /*) abs=$f ;; *) abs=$ROOT/$f ;; esac
    if ! "$RC" fmt "$f" > "$T/x.fmt" 2> "$T/err"; then
        bad "idempotent/$name" "routec fmt failed: $(head -3 "$T/err")"; return
    fi
    if "$RC" fmt - < "$T/x.fmt" > "$T/x.fmt2" 2> "$T/err" && cmp -s "$T/x.fmt" "$T/x.fmt2"; then ok "idempotent/$name"
    else bad "idempotent/$name" "formatting the formatted text changes it"; diff "$T/x.fmt" "$T/x.fmt2" | head -10; fi
    python3 tests/fmt/comments.py "$f" > "$T/c1" && python3 tests/fmt/comments.py "$T/x.fmt" > "$T/c2"
    if cmp -s "$T/c1" "$T/c2"; then ok "comments/$name ($(wc -l < "$T/c1"))"
    else bad "comments/$name" "the comments differ"; diff "$T/c1" "$T/c2" | head -10; fi
    # the same program: both built from standard input in the file's directory
    # (so relative imports resolve alike and the file has one name)
    # shellcheck disable=SC2086
    if (cd "$dir" && "$RC" check $args - < "$abs") > /dev/null 2>&1; then
        # shellcheck disable=SC2086
        if (cd "$dir" && "$RC" build --strip $args - -o "$T/a.rbc" < "$abs" &&
                         "$RC" build --strip $args - -o "$T/b.rbc" < "$T/x.fmt") > "$T/err" 2>&1 &&
           python3 tests/fmt/nopos.py "$T/a.rbc" "$T/a.nopos" && python3 tests/fmt/nopos.py "$T/b.rbc" "$T/b.nopos"
        then
            n_rbc=$((n_rbc + 1))
            if cmp -s "$T/a.nopos" "$T/b.nopos"; then ok "same-program/$name"
            else bad "same-program/$name" "the .rbc of the formatted text differs beyond source positions"; fi
        else bad "same-program/$name" "build failed: $(head -3 "$T/err")"; fi
    fi
}

for f in examples/*.route stdlib/std/*.route tests/fmt/*.route; do props "$f" "$f"; done
for f in "$T"/doc/*.route; do
    [ -f "$f" ] || continue
    props "doc/$(basename "$f")" "$f"
done
# the shipped policies are in the layout fmt writes (a gate, like gofmt -l)
for f in examples/*.route stdlib/std/*.route; do
    if "$RC" fmt --check "$f" > "$T/out" 2>&1 && [ ! -s "$T/out" ]; then ok "tree-formatted/$f"
    else bad "tree-formatted/$f" "not in fmt's layout: run 'routec fmt -w $f'"; fi
done
# compiler cases: those that parse (the others are refused, checked below)
n_parse=0
for f in tests/compile/*.route; do
    "$RC" fmt "$f" > /dev/null 2>&1 || continue
    n_parse=$((n_parse + 1))
    args=$(sed -n 's/^# args: //p' "$f" | head -n 1 | sed 's/-v//; s/-Werror//' | sed "s|-I |-I $ROOT/|")
    props "$f" "$f" "$args"
done
[ "$n_parse" -ge 30 ] && ok "compile-cases-formatted ($n_parse)" || bad compile-cases-formatted "only $n_parse cases parse"
[ "$n_rbc" -ge 40 ] && ok "programs-compared ($n_rbc)" || bad programs-compared "only $n_rbc programs compared"

# layout: each case against its expected text, which is itself formatted
for f in tests/fmt/*.route; do
    g=${f%.route}.fmt; name=$(basename "$f" .route)
    if [ ! -f "$g" ]; then bad "layout/$name" "no $g"; continue; fi
    if "$RC" fmt "$f" > "$T/out" 2>&1 && cmp -s "$T/out" "$g"; then ok "layout/$name"
    else bad "layout/$name" "output differs from $g"; diff "$g" "$T/out" | head -20; fi
    if "$RC" fmt --check "$g" > "$T/out" 2>&1 && [ ! -s "$T/out" ]; then ok "layout-fixed-point/$name"
    else bad "layout-fixed-point/$name" "$g is not formatted"; fi
done

# --check: lists what would change, exit 1; exit 0 when all are formatted
cp tests/fmt/properties.route "$T/messy.route"; cp tests/fmt/properties.fmt "$T/tidy.route"
"$RC" fmt --check "$T/tidy.route" "$T/messy.route" > "$T/out" 2> "$T/err"; rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$T/out")" = "$T/messy.route" ] && [ ! -s "$T/err" ]; then ok check/lists-unformatted
else bad check/lists-unformatted "exit $rc, listed '$(cat "$T/out")'"; fi
"$RC" fmt --check "$T/tidy.route" tests/fmt/*.fmt > "$T/out" 2>&1; rc=$?
if [ $rc -eq 0 ] && [ ! -s "$T/out" ]; then ok check/all-formatted; else bad check/all-formatted "exit $rc: $(head -3 "$T/out")"; fi
printf 'agent a {\n  route -> m\n  retry 2 2\n' > "$T/broken.route"
"$RC" fmt --check "$T/messy.route" "$T/broken.route" > "$T/out" 2> "$T/err"; rc=$?
if [ $rc -eq 2 ] && grep -q "broken.route:3:11: error: unexpected integer" "$T/err" && [ "$(cat "$T/out")" = "$T/messy.route" ]
then ok check/syntax-error-is-2; else bad check/syntax-error-is-2 "exit $rc, stderr: $(head -2 "$T/err")"; fi
if "$RC" fmt --check - < tests/fmt/arrows.route > "$T/out" 2>&1; then bad check/stdin "exit 0 for an unformatted input"
elif [ "$(cat "$T/out")" = "<stdin>" ]; then ok check/stdin; else bad check/stdin "listed '$(cat "$T/out")'"; fi

# -w: rewrites in place, keeps the mode, leaves formatted files alone and
# never touches a file that does not parse
cp tests/fmt/spacing.route "$T/w.route"; chmod 640 "$T/w.route"
"$RC" fmt -w "$T/w.route" > "$T/out" 2>&1; rc=$?
if [ $rc -eq 0 ] && cmp -s "$T/w.route" tests/fmt/spacing.fmt && [ ! -s "$T/out" ]; then ok write/rewrites
else bad write/rewrites "exit $rc: $(head -3 "$T/out")"; fi
if [ "$(stat -c %a "$T/w.route")" = 640 ]; then ok write/keeps-mode; else bad write/keeps-mode "mode $(stat -c %a "$T/w.route")"; fi
ino=$(stat -c %i "$T/w.route")
"$RC" fmt -w "$T/w.route" && [ "$(stat -c %i "$T/w.route")" = "$ino" ] && ok write/formatted-untouched ||
    bad write/formatted-untouched "an already formatted file was replaced"
cp "$T/broken.route" "$T/b2.route"; sum=$(cksum < "$T/b2.route"); ino=$(stat -c %i "$T/b2.route")
"$RC" fmt -w "$T/b2.route" > "$T/out" 2> "$T/err"; rc=$?
if [ $rc -eq 2 ] && [ "$(cksum < "$T/b2.route")" = "$sum" ] && [ "$(stat -c %i "$T/b2.route")" = "$ino" ] &&
   grep -q "b2.route:3:11: error:" "$T/err"; then ok write/syntax-error-untouched
else bad write/syntax-error-untouched "exit $rc, or the file changed"; fi
cp tests/fmt/arrows.route "$T/target.route"; ln -s target.route "$T/link.route"
if "$RC" fmt -w "$T/link.route" && [ -L "$T/link.route" ] && cmp -s "$T/target.route" tests/fmt/arrows.fmt
then ok write/through-symlink; else bad write/through-symlink "the link was replaced or the target not rewritten"; fi
# a file with several names (hard links) is rewritten in place, so every
# name sees the new text and the inode stays; no backup is left behind
cp tests/fmt/arrows.route "$T/linked.route"; ln "$T/linked.route" "$T/other-name.route"
ino=$(stat -c %i "$T/linked.route")
"$RC" fmt -w "$T/linked.route" > "$T/out" 2>&1; rc=$?
if [ $rc -eq 0 ] && cmp -s "$T/other-name.route" tests/fmt/arrows.fmt && cmp -s "$T/linked.route" tests/fmt/arrows.fmt &&
   [ "$(stat -c %i:%h "$T/linked.route")" = "$ino:2" ] && [ "$(stat -c %i "$T/other-name.route")" = "$ino" ]
then ok write/hard-links-kept; else bad write/hard-links-kept "exit $rc, $(stat -c 'inode %i, %h links' "$T/linked.route"): $(head -2 "$T/out")"; fi
# ... and when the new text cannot be given its space (here a file size
# limit of 1 KiB that the old text fits in and the new one does not), the
# file is left as it was under both names, the backup removed
python3 -c '
print("agent a{route{\nwhen meta.customer_tier_of_request==\"gold\"->m")
print("".join("when meta.a==%d->m\n" % i for i in range(20)) + "otherwise->m}}")' > "$T/full.route"
ln "$T/full.route" "$T/full2.route"; sum=$(cksum < "$T/full.route")
(ulimit -f 1; trap '' XFSZ; "$RC" fmt -w "$T/full.route") > "$T/out" 2>&1; rc=$?
if [ $rc -eq 2 ] && [ "$(cksum < "$T/full.route")" = "$sum" ] && [ "$(cksum < "$T/full2.route")" = "$sum" ] &&
   grep -q "cannot rewrite '$T/full.route': File too large" "$T/out" && [ "$("$RC" fmt "$T/full.route" | wc -c)" -gt 1024 ]
then ok write/in-place-no-space-untouched
else bad write/in-place-no-space-untouched "exit $rc: $(head -2 "$T/out")"; fi
# temporary files and backups are named .NAME.XXXXXX beside the file
if ls -A "$T" | grep -q '^\..*\.route\.......$'; then bad write/no-temporaries "$(ls -A "$T" | grep '^\.')"; else ok write/no-temporaries; fi
# permissions are those of an ordinary user: root, who may write any
# file, runs these cases as 'nobody' (setpriv) when it can
if [ "$(id -u)" != 0 ]; then as_user() { "$@"; }; others=""
elif setpriv --reuid=65534 --regid=65534 --clear-groups true 2> /dev/null; then
    as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }; others=yes
else others=""; fi
# untouched_w NAME FILE: 'fmt -w FILE' as that user fails with exit 2 and leaves FILE as it was
untouched_w() {
    sum=$(cksum < "$2"); ino=$(stat -c %i:%u "$2")
    as_user "$RC" fmt -w "$2" > /dev/null 2> "$T/err"; rc=$?
    if [ $rc -eq 2 ] && [ "$(cksum < "$2")" = "$sum" ] && [ "$(stat -c %i:%u "$2")" = "$ino" ] &&
       grep -q "cannot rewrite" "$T/err"; then ok "write/$1"
    else bad "write/$1" "exit $rc, or the file was replaced: $(cat "$T/err")"; fi
}
if command -v as_user > /dev/null; then
    chmod 711 "$T"
    mkdir "$T/ro"; cp tests/fmt/arrows.route "$T/ro/r.route"; chmod 555 "$T/ro"
    untouched_w unwritable-dir "$T/ro/r.route"
    # a file that may not be written is not replaced, though its directory may be written
    mkdir "$T/pub"; chmod 777 "$T/pub"
    as_user cp tests/fmt/arrows.route "$T/pub/mine.route"; chmod 444 "$T/pub/mine.route"
    untouched_w read-only-file "$T/pub/mine.route"
    if [ -n "$others" ]; then
        cp tests/fmt/arrows.route "$T/pub/root.route"; chmod 644 "$T/pub/root.route"
        untouched_w others-file "$T/pub/root.route"
        # another user's file that we may write: a rename would make it
        # ours, so it is rewritten in place and keeps its owner
        cp tests/fmt/arrows.route "$T/pub/shared.route"; chmod 666 "$T/pub/shared.route"
        ino=$(stat -c %i:%u:%g "$T/pub/shared.route")
        as_user "$RC" fmt -w "$T/pub/shared.route" > "$T/out" 2>&1; rc=$?
        if [ $rc -eq 0 ] && cmp -s "$T/pub/shared.route" tests/fmt/arrows.fmt &&
           [ "$(stat -c %i:%u:%g "$T/pub/shared.route")" = "$ino" ] && [ -z "$(ls -A "$T/pub" | grep '^\.')" ]
        then ok write/others-file-keeps-owner
        else bad write/others-file-keeps-owner "exit $rc, $(stat -c '%i:%u:%g' "$T/pub/shared.route") (was $ino): $(head -2 "$T/out")"; fi
    fi
fi
"$RC" fmt -w - < tests/fmt/arrows.route > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "standard input" "$T/err" && ok write/not-stdin || bad write/not-stdin "exit $rc"
# '-' among files under -w: refused before any file is rewritten
cp tests/fmt/arrows.route "$T/first.route"
"$RC" fmt -w "$T/first.route" - < tests/fmt/arrows.route > /dev/null 2> "$T/err"; rc=$?
if [ $rc -eq 2 ] && cmp -s "$T/first.route" tests/fmt/arrows.route && grep -q "standard input" "$T/err"
then ok write/not-stdin-first; else bad write/not-stdin-first "exit $rc, or the first file was rewritten"; fi
"$RC" fmt -w --check "$T/w.route" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok usage/check-and-write || bad usage/check-and-write "exit $rc"

# standard output, standard input, several files
"$RC" fmt tests/fmt/arrows.route tests/fmt/spacing.route > "$T/out" 2>&1; rc=$?
cat tests/fmt/arrows.fmt tests/fmt/spacing.fmt > "$T/want"
[ $rc -eq 0 ] && cmp -s "$T/out" "$T/want" && ok stdout/several || bad stdout/several "exit $rc"
"$RC" fmt - < tests/fmt/arrows.route > "$T/out" 2>&1 && cmp -s "$T/out" tests/fmt/arrows.fmt && ok stdin ||
    bad stdin "'-' reads differently from the file"
tr -d '\r' < tests/fmt/properties.route | sed 's/$/\r/' > "$T/crlf.route"
"$RC" fmt "$T/crlf.route" > "$T/out" 2>&1 && cmp -s "$T/out" tests/fmt/properties.fmt && ok crlf-input ||
    bad crlf-input "CRLF input does not format to the LF text"
# a UTF-8 byte-order mark (Windows editors save one) is white space: it is
# dropped, and positions after it count its bytes, as editors' columns do
printf '\357\273\277agent a { route -> smal }\n' > "$T/bom.route"
"$RC" check "$T/bom.route" > "$T/out" 2>&1
if grep -q "bom.route:1:23: error: .* \[undeclared\]" "$T/out" && [ "$(grep -c ': error:' "$T/out")" = 1 ]; then ok bom-positions
else bad bom-positions "$(head -3 "$T/out")"; fi
: > "$T/empty.route"
"$RC" fmt "$T/empty.route" > "$T/out" 2>&1 && [ ! -s "$T/out" ] && ok empty-file || bad empty-file "$(head -2 "$T/out")"
printf '\n\n# only a comment\n\n\n' > "$T/c.route"
"$RC" fmt "$T/c.route" > "$T/out" 2>&1 && [ "$(cat "$T/out")" = "# only a comment" ] && [ "$(wc -l < "$T/out")" = 1 ] &&
    ok comment-only-file || bad comment-only-file "$(cat "$T/out")"

# errors: missing file, directory, binary garbage, syntax; exit 2, nothing on standard output
err_case() {  # err_case NAME EXPECTED-STDERR-PATTERN FILE
    "$RC" fmt "$3" > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -eq 2 ] && [ ! -s "$T/out" ] && grep -q "$2" "$T/err"; then ok "error/$1"
    else bad "error/$1" "exit $rc, stderr: $(head -2 "$T/err")"; fi
}
err_case missing-file "cannot open '$T/nope.route'" "$T/nope.route"
err_case directory "Is a directory" "$T"
head -c 4096 "$RC" > "$T/garbage.route"
err_case binary-garbage "garbage.route:1:[0-9]*: error: .* \[bad-utf8\]" "$T/garbage.route"
err_case syntax "syntax.route:[0-9]*:[0-9]*: error: unexpected" tests/compile/syntax.route
err_case too-deep "error: nesting too deep" tests/compile/too_deep.route
"$RC" fmt --frobnicate "$T/w.route" > /dev/null 2>&1; [ $? -eq 2 ] && ok usage/unknown-option || bad usage/unknown-option "not exit 2"
"$RC" fmt > /dev/null 2>&1; [ $? -eq 2 ] && ok usage/no-files || bad usage/no-files "not exit 2"

# deep input within the parser's bound: conditions nested 900 deep
python3 -c '
d = 900
print("import \"std/models\"\nagent a {\n  route {\n    when " + "(" * d + "meta.x == \"y\"" + ")" * d + " -> gpt_4o\n    otherwise -> gpt_4o_mini\n  }\n}")' > "$T/deep.route"
if "$RC" fmt "$T/deep.route" > "$T/out" 2> "$T/err" && "$RC" fmt - < "$T/out" | cmp -s - "$T/out"; then ok deep-nesting
else bad deep-nesting "$(head -2 "$T/err")"; fi

# the parser's fuzz corpus: every input ends in 0 or 2, and what formats is a fixed point
n=0; nbad=0
for f in tests/fuzz/corpus/parse/* tests/fuzz/corpus/fmt/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    timeout 20 "$RC" fmt "$f" > "$T/out" 2> /dev/null; rc=$?
    if [ $rc -eq 0 ]; then
        "$RC" fmt - < "$T/out" 2> /dev/null | cmp -s - "$T/out" || { echo "    $f: not a fixed point"; nbad=$((nbad + 1)); }
    elif [ $rc -ne 2 ]; then echo "    $f: exit status $rc"; nbad=$((nbad + 1)); fi
done
[ $nbad -eq 0 ] && ok "fuzz-corpus ($n inputs)" || bad fuzz-corpus "$nbad of $n inputs"
