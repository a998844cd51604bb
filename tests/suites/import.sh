#!/bin/sh
# routec import cases: tests/import/litellm/*.yaml and
# tests/import/portkey/*.json, run from their directory.
#   NAME.route   the policy expected on stdout (exit status 0); it must
#                also pass `routec check -Werror`
#   NAME.stderr  the notes expected on stderr, exactly (absent: none)
#   NAME.error   for a config that is refused: stderr exactly, exit 2,
#                nothing on stdout
# Literal secrets in the configs contain SECRET: it must appear in
# neither stream (but as the name AWS_SECRET_ACCESS_KEY).  UPDATE=1 rewrites the expectations from the output.
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec"
case "$BIN" in /*) RC="$BIN/routec" ;; esac
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for fmt in litellm portkey; do
    cd "$ROOT/tests/import/$fmt" || exit 1
    for f in *.yaml *.json; do
        [ -f "$f" ] || continue
        stem=${f%.*}
        name=import/$fmt/$stem
        "$RC" import "$fmt" "$f" > "$T/out" 2> "$T/err"; rc=$?
        if [ -n "$UPDATE" ]; then
            if [ "$rc" = 0 ]; then
                cp "$T/out" "$stem.route"
                if [ -s "$T/err" ]; then cp "$T/err" "$stem.stderr"; else rm -f "$stem.stderr"; fi
            else
                cp "$T/err" "$stem.error"
            fi
        fi
        why=""
        if cat "$T/out" "$T/err" | sed 's/AWS_SECRET_ACCESS_KEY//g' | grep -q SECRET; then
            why="a literal secret reached the output"
        elif [ -f "$stem.route" ]; then
            touch "$T/none"
            exp_err="$stem.stderr"; [ -f "$exp_err" ] || exp_err="$T/none"
            if [ "$rc" != 0 ]; then
                why="exit status $rc, want 0: $(cat "$T/err")"
            elif ! cmp -s "$T/out" "$stem.route"; then
                why="the policy differs: $(diff "$stem.route" "$T/out" | head -20)"
            elif ! cmp -s "$T/err" "$exp_err"; then
                why="stderr differs: $(diff "$exp_err" "$T/err" | head -20)"
            else
                cp "$T/out" "$T/$stem.route"
                out=$("$RC" check -Werror "$T/$stem.route" 2>&1) || why="routec check -Werror: $out"
            fi
        elif [ -f "$stem.error" ]; then
            if [ "$rc" != 2 ]; then
                why="exit status $rc, want 2"
            elif [ -s "$T/out" ]; then
                why="a refused config wrote a policy"
            elif ! cmp -s "$T/err" "$stem.error"; then
                why="stderr differs: $(diff "$stem.error" "$T/err" | head -20)"
            fi
        else
            why="no $stem.route or $stem.error"
        fi
        if [ -z "$why" ]; then echo "PASS $name"; else echo "FAIL $name: $why"; fi
    done
done

# the command line
cd "$ROOT/tests/import/litellm" || exit 1
"$RC" import litellm weighted.yaml -o "$T/w.route" > "$T/out" 2> /dev/null
if [ $? = 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/w.route" weighted.route; then echo "PASS import/cli-o"
else echo "FAIL import/cli-o: -o did not write the policy alone"; fi
for args in "import" "import yaml x" "import litellm" "import litellm weighted.yaml --agent a" \
            "import portkey ../portkey/single.json --bogus" "import litellm no-such-file.yaml"; do
    # shellcheck disable=SC2086
    "$RC" $args > "$T/out" 2> "$T/err"; rc=$?
    if [ "$rc" = 2 ] && [ ! -s "$T/out" ] && [ -s "$T/err" ]; then echo "PASS import/usage: $args"
    else echo "FAIL import/usage: $args: exit $rc"; fi
done
# a config over the 4 MiB cap is refused before it is parsed
head -c 5000000 /dev/zero | tr '\0' ' ' > "$T/huge.yaml"
"$RC" import litellm "$T/huge.yaml" > "$T/out" 2> "$T/err"; rc=$?
if [ "$rc" = 2 ] && [ ! -s "$T/out" ] && grep -q "larger than" "$T/err"; then echo "PASS import/too-large"
else echo "FAIL import/too-large: exit $rc: $(cat "$T/err")"; fi
cd "$ROOT/tests/import/portkey" || exit 1
"$RC" import portkey --agent gateway - < single.json > "$T/out" 2> /dev/null
if grep -q '^agent gateway {' "$T/out"; then echo "PASS import/cli-agent-stdin"
else echo "FAIL import/cli-agent-stdin: no agent 'gateway' from standard input"; fi

# a FIFO: read when a writer comes, refused with the reason when none
# comes within 10 s (never a wait without end); a policy's import
# statement naming one says what it is (a FIFO, not a regular file)
# rather than "cannot find", and never opens it
cd "$ROOT/tests/import/litellm" || exit 1
mkfifo "$T/cfg.yaml"
(sleep 1; cat weighted.yaml > "$T/cfg.yaml") &
timeout 30 "$RC" import litellm "$T/cfg.yaml" > "$T/out" 2> /dev/null; rc=$?
wait
if [ "$rc" = 0 ] && grep -q '^agent ' "$T/out"; then echo "PASS import/fifo-with-writer"
else echo "FAIL import/fifo-with-writer: exit $rc"; fi
timeout 30 "$RC" import litellm "$T/cfg.yaml" > "$T/out" 2> "$T/err"; rc=$?
if [ "$rc" = 2 ] && [ ! -s "$T/out" ] && grep -q "cannot read '$T/cfg.yaml': a FIFO that no writer opened within 10 s" "$T/err"
then echo "PASS import/fifo-without-writer"
else echo "FAIL import/fifo-without-writer: exit $rc (124: it waited): $(cat "$T/err")"; fi
mkfifo "$T/shared.route"
printf 'import "shared"\nimport "std/models"\nagent a { route -> gpt_4o }\n' > "$T/main.route"
timeout 30 "$RC" check "$T/main.route" > "$T/out" 2>&1; rc=$?
if [ "$rc" = 1 ] && grep -q "main.route:1:1: error: cannot import '$T/shared.route': it is a FIFO, not a regular file \[import-not-found\]" "$T/out" &&
   [ "$(grep -c ': error:' "$T/out")" = 1 ]
then echo "PASS import/statement-fifo"
else echo "FAIL import/statement-fifo: exit $rc (124: it waited): $(head -3 "$T/out")"; fi
