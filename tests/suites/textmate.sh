#!/bin/sh
# The TextMate grammar of the VS Code extension (editors/vscode) against
# the language: tests/textmate/tokenize.mjs tokenizes the golden cases of
# tests/textmate/cases, every example, stdlib module and route block of the
# docs, and every keyword of grammar/lexer.l with vscode-textmate and
# vscode-oniguruma (the engine VS Code uses), and holds the scopes against
# the tokens of the compiler's own lexer ($BIN/lexdump) on those files, the
# compile cases, the parser's fuzz corpus and 4,000 generated lines.  The
# packages are at the versions locked in
# tests/textmate/package-lock.json, installed by this suite with 'npm ci'
# into $BIN/textmate-npm (once per lock file).  Node and npm are required:
# without them, or when the install fails, the suite fails (CI has both).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1

. "$ROOT/tests/lib/npm.sh"
N="$B/textmate-npm"
npm_install textmate tests/textmate "$N" vscode-textmate vscode-oniguruma || exit 0
cp tests/textmate/tokenize.mjs tests/textmate/generate.mjs "$N/"
echo "PASS textmate/install"
timeout 300 node "$N/tokenize.mjs" "$ROOT" "$B/lexdump"
rc=$?
[ $rc -eq 0 ] || echo "FAIL textmate/tokenize: node exited with status $rc"
exit 0
