#!/bin/sh
# The manual pages (docs/man): each renders with man -l and with groff at
# every warning level and says nothing on stderr, and every command and
# option the binaries' usage texts name (routec --help, routevm --help,
# and the full option lists of 'routevm serve --help' and 'routevm
# simulate -h') is documented in the page of its tool, so a new command or
# option without documentation fails here.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

for page in docs/man/*.[1-8]; do
    name=$(basename "$page")
    if MANWIDTH=80 man -l --warnings=w "$page" > "$T/$name.txt" 2> "$T/$name.err" && [ ! -s "$T/$name.err" ] &&
       [ "$(wc -l < "$T/$name.txt")" -gt 20 ]; then echo "PASS man-render/$name"
    else echo "FAIL man-render/$name: man -l failed or warned"; head -5 "$T/$name.err"; fi
    if groff -t -man -Tutf8 -ww -z "$page" 2> "$T/$name.groff" && [ ! -s "$T/$name.groff" ]; then
        echo "PASS man-groff/$name"
    else echo "FAIL man-groff/$name: groff -ww warns"; head -5 "$T/$name.groff"; fi
    # wide enough that no line is broken or hyphenated, for the search below
    MANWIDTH=1000 man -l "$page" 2>/dev/null | col -b > "$T/$name.wide"
done

"$B/routec" --help > "$T/routec.usage" 2>&1
{ "$B/routevm" --help; "$B/routevm" serve --help; "$B/routevm" simulate -h; } > "$T/routevm.usage" 2>&1
python3 - "$T" <<'PY'
import re, sys
T = sys.argv[1]
for tool, page in (('routec', 'routec.1'), ('routevm', 'routevm.1')):
    usage = open('%s/%s.usage' % (T, tool), encoding='utf-8').read()
    text = open('%s/%s.wide' % (T, page), encoding='utf-8').read()
    commands = sorted(set(re.findall(r'\b%s ([a-z]+)\b' % tool, usage)))
    section = text.split('\nCOMMANDS\n', 1)[-1].split('\nOPTIONS\n', 1)[0]
    if not commands:
        print('FAIL man-commands/%s: no commands found in the usage text' % tool)
    for c in commands:
        if re.search(r'^\s*%s %s\b' % (tool, c), text, re.M) and re.search(r'^\s{7}%s\b' % c, section, re.M):
            print('PASS man-command/%s-%s' % (tool, c))
        else:
            print('FAIL man-command/%s-%s: %s is not in the synopsis and the COMMANDS section of %s'
                  % (tool, c, c, page))
    options = sorted(set(re.findall(r'(?<![\w-])(--?[A-Za-z][\w-]*)', usage)))
    for o in options:
        if re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(o), text):
            print('PASS man-option/%s%s' % (tool, o))
        else:
            print('FAIL man-option/%s%s: %s is not documented in %s' % (tool, o, o, page))
PY
