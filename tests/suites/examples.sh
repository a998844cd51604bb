#!/bin/sh
# Examples, the stdlib and the language reference compile cleanly; builds
# are reproducible; .rbc files round-trip through dis and verify; signing
# accepts what it should and refuses the rest; an installed routec finds its
# stdlib.
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec"
case "$BIN" in /*) RC="$BIN/routec" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: $2"; }

for f in examples/*.route stdlib/std/*.route; do
    if out=$("$RC" check -Werror "$f" 2>&1); then ok "clean/$f"; else bad "clean/$f" "$out"; fi
done

# every complete example of docs/language.md ('# file: NAME' first line)
mkdir -p "$T/doc"
. tests/lib/docexamples.sh
doc_examples docs/language.md "$T/doc"
n=0
for f in "$T"/doc/*.route; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if out=$("$RC" check -Werror "$f" 2>&1); then ok "doc/$(basename "$f")"; else bad "doc/$(basename "$f")" "$out"; fi
done
[ "$n" -gt 0 ] && ok "doc-examples-found ($n)" || bad doc-examples-found "no '# file:' examples in docs/language.md"

# every ```route block of the README is a complete policy, clean under -Werror
mkdir -p "$T/readme"
awk -v dir="$T/readme" '
    /^```route[ \t]*$/ { inblock = 1; n++; next }
    inblock && /^```/ { inblock = 0; close(dir "/readme" n ".route"); next }
    inblock { print > (dir "/readme" n ".route") }
' README.md
n=0
for f in "$T"/readme/*.route; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if out=$("$RC" check -Werror "$f" 2>&1); then ok "readme/$(basename "$f")"; else bad "readme/$(basename "$f")" "$out"; fi
done
[ "$n" -gt 0 ] && ok "readme-examples-found ($n)" || bad readme-examples-found "no route blocks in README.md"

# nothing is described before it works: every 'routec X' and 'routevm X'
# the README, the docs (but docs/STATUS.md, which lists what is not there
# yet) and the examples' comments name in code is a command the binaries
# know
RVM="$(dirname "$RC")/routevm"
python3 - README.md docs/*.md examples/*.route > "$T/commands" <<'PY'
import re, sys
cmd = re.compile(r'\b(routec|routevm) ([a-z]+)\b')
for path in sys.argv[1:]:
    if path.endswith('STATUS.md'):
        continue
    code = []
    if path.endswith('.md'):
        inblock = False
        for line in open(path, encoding='utf-8'):
            if line.startswith('```'):
                inblock = not inblock
            elif inblock or line.startswith('    '):
                code.append(line)
            else:
                code.extend(re.findall(r'`[^`]*`', line))
    else:
        code = [l for l in open(path, encoding='utf-8') if l.lstrip().startswith('#')]
    for text in code:
        for tool, word in cmd.findall(text):
            print(path, tool, word)
PY
sort -u -k2 "$T/commands" | while read -r file tool word; do
    case $tool in routec) exe=$RC ;; *) exe=$RVM ;; esac
    if "$exe" "$word" < /dev/null 2>&1 | grep -q "unknown command"; then   # (no input: 'routec lsp' reads it)
        bad "command-exists/$tool-$word" "$file names '$tool $word', which does not exist"
    else ok "command-exists/$tool-$word"; fi
done
[ -s "$T/commands" ] && ok "commands-found ($(wc -l < "$T/commands"))" || bad commands-found "no commands named in the docs"

for f in examples/*.route tests/compile/clean.route; do
    b=$(basename "$f" .route)
    "$RC" build "$f" -o "$T/$b.1.rbc" && "$RC" build "$f" -o "$T/$b.2.rbc" || { bad "build/$b" "build failed"; continue; }
    if cmp -s "$T/$b.1.rbc" "$T/$b.2.rbc"; then ok "reproducible/$b"; else bad "reproducible/$b" "two builds differ"; fi
    if "$RC" verify "$T/$b.1.rbc" >/dev/null; then ok "verify/$b"; else bad "verify/$b" "rejected"; fi
    "$RC" dis "$T/$b.1.rbc" > "$T/$b.rbc.dis" && "$RC" dis "$f" > "$T/$b.route.dis"
    if cmp -s "$T/$b.rbc.dis" "$T/$b.route.dis" && grep -q '^== fn 0' "$T/$b.rbc.dis"; then ok "dis-roundtrip/$b"
    else bad "dis-roundtrip/$b" "listing of the .rbc differs from the listing of the source"; fi
done

# signing
if openssl genpkey -algorithm ed25519 -out "$T/key.pem" 2>/dev/null &&
   openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem" 2>/dev/null &&
   openssl genpkey -algorithm ed25519 -out "$T/other.pem" 2>/dev/null &&
   openssl pkey -in "$T/other.pem" -pubout -out "$T/otherpub.pem" 2>/dev/null; then
    "$RC" build examples/support.route -o "$T/s.rbc" --sign "$T/key.pem"
    if "$RC" verify --trust "$T/pub.pem" "$T/s.rbc" >/dev/null; then ok sign/accepted; else bad sign/accepted "signed file refused"; fi
    if ! "$RC" verify --trust "$T/otherpub.pem" "$T/s.rbc" >/dev/null 2>&1; then ok sign/wrong-key; else bad sign/wrong-key "accepted with another key"; fi
    if ! "$RC" verify --trust "$T/pub.pem" "$T/support.1.rbc" >/dev/null 2>&1; then ok sign/unsigned-refused; else bad sign/unsigned-refused "unsigned file accepted"; fi
    cp "$T/s.rbc" "$T/t.rbc"
    printf 'X' | dd of="$T/t.rbc" bs=1 seek=100 conv=notrunc 2>/dev/null
    if ! "$RC" verify --trust "$T/pub.pem" "$T/t.rbc" >/dev/null 2>&1 && ! "$RC" verify "$T/t.rbc" >/dev/null 2>&1
    then ok sign/tampered; else bad sign/tampered "a modified file was accepted"; fi
else
    bad sign "openssl could not make an Ed25519 key"
fi

# an installed routec finds the stdlib next to itself
if make -s -C "$ROOT" install PREFIX="$T/prefix" BUILD="$BIN" SAN="${SAN:-}" CFLAGS="${CFLAGS:--O2 -g}" >/dev/null 2>&1 &&
   (unset ROUTEC_STDLIB; cd "$T" && "$T/prefix/bin/routec" check -Werror "$ROOT/examples/support.route" >/dev/null 2>&1)
then ok install-finds-stdlib; else bad install-finds-stdlib "installed routec could not compile examples/support.route"; fi
