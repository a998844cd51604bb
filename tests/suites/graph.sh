#!/bin/sh
# routec graph (tests/graph/README.md): the DOT of each case, SVG through
# Graphviz for every case and example, texts read back from the SVG, and
# the picture of examples/support.route in docs/ kept current.
BIN=$1; ROOT=$(cd "$2" && pwd)
RC="$ROOT/$BIN/routec"
case "$BIN" in /*) RC="$BIN/routec" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT

for f in tests/graph/*.route; do
    name=$(basename "$f" .route)
    args=$(sed -n 's/^# args: //p' "$f" | head -n 1)
    # shellcheck disable=SC2086
    if ! "$RC" graph "$f" $args > "$T/$name.dot" 2> "$T/err"; then
        echo "FAIL graph/$name: routec graph failed"; head -5 "$T/err"; continue
    fi
    [ -n "$UPDATE_GOLDEN" ] && cp "$T/$name.dot" "tests/graph/$name.dot"
    if cmp -s "$T/$name.dot" "tests/graph/$name.dot"; then echo "PASS graph/$name"
    else echo "FAIL graph/$name: DOT differs from tests/graph/$name.dot"; diff "tests/graph/$name.dot" "$T/$name.dot" | head -20; fi
    # shellcheck disable=SC2086
    "$RC" graph "$f" $args > "$T/$name.again.dot" 2>/dev/null
    if cmp -s "$T/$name.dot" "$T/$name.again.dot"; then echo "PASS graph-deterministic/$name"
    else echo "FAIL graph-deterministic/$name: two runs differ"; fi
done

# Graphviz accepts every graph, and what it makes is well-formed XML
for f in examples/*.route tests/graph/*.route; do
    name=$(basename "$f" .route)
    if ! "$RC" graph "$f" --format svg -o "$T/$name.svg" 2> "$T/err"; then
        echo "FAIL graph-svg/$f: routec graph --format svg failed"; head -5 "$T/err"; continue
    fi
    if out=$(python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$T/$name.svg" 2>&1) &&
       grep -q '<svg' "$T/$name.svg"; then echo "PASS graph-svg/$f"
    else echo "FAIL graph-svg/$f: not a well-formed SVG: $out"; fi
done

# every text of escaping.route reaches the picture exactly as written
python3 - "$T/escaping.svg" tests/graph/escaping.svgtext <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    texts = {e.text for e in ET.parse(sys.argv[1]).iter('{http://www.w3.org/2000/svg}text')}
except (OSError, ET.ParseError) as e:
    print('FAIL graph-text: %s' % e)
    sys.exit(0)
for line in open(sys.argv[2], encoding='utf-8').read().splitlines():
    if line in texts:
        print('PASS graph-text/%s' % line)
    else:
        print('FAIL graph-text/%s: not a text of the SVG' % line)
PY

# --agent: only the agent and what it reaches
if grep -q 'agent front' tests/graph/filter.dot && grep -q 'agent back' tests/graph/filter.dot &&
   ! grep -q 'agent other' tests/graph/filter.dot && ! grep -q 'o1_mini' tests/graph/filter.dot &&
   "$RC" graph tests/graph/filter.route | grep -q 'agent other'
then echo "PASS graph-agent-filter"; else echo "FAIL graph-agent-filter: --agent front draws other agents, or the full graph lacks them"; fi

# the picture in the docs is the one the command makes today: the same
# nodes, edges and texts (positions depend on the fonts Graphviz finds,
# so they are not compared)
"$RC" graph examples/support.route --format svg -o "$T/support-graph.svg" 2>/dev/null
[ -n "$UPDATE_GOLDEN" ] && cp "$T/support-graph.svg" docs/support-graph.svg
python3 - "$T/support-graph.svg" docs/support-graph.svg <<'PY'
import sys, xml.etree.ElementTree as ET
NS = '{http://www.w3.org/2000/svg}'
def content(path):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        return 'unreadable: %s' % e
    return sorted((g.findtext(NS + 'title') or '', tuple(t.text or '' for t in g.iter(NS + 'text')))
                  for g in root.iter(NS + 'g') if g.get('class') in ('node', 'edge', 'cluster'))
new, old = content(sys.argv[1]), content(sys.argv[2])
if new == old and not isinstance(new, str) and new:
    print('PASS graph-docs-current')
else:
    print("FAIL graph-docs-current: docs/support-graph.svg is not what 'routec graph examples/support.route "
          "--format svg' makes (UPDATE_GOLDEN=1 sh tests/suites/graph.sh build .)")
PY

# -o replaces OUT whole, as every output file of routec (compiler/filew.h):
# a new file renamed over the old one, which keeps its mode; a file with
# another name (hard link) rewritten in place; a device written to; a
# policy with errors or an unwritable place leaves OUT as it was
"$RC" graph tests/graph/filter.route > "$T/want.dot" 2>/dev/null
printf 'old\n' > "$T/out.dot"; chmod 640 "$T/out.dot"; ino=$(stat -c %i "$T/out.dot")
"$RC" graph tests/graph/filter.route -o "$T/out.dot" > "$T/stdout" 2> "$T/err"; rc=$?
if [ $rc = 0 ] && cmp -s "$T/out.dot" "$T/want.dot" && [ ! -s "$T/stdout" ] && [ "$(stat -c %a "$T/out.dot")" = 640 ] &&
   [ "$(stat -c %i "$T/out.dot")" != "$ino" ] && [ -z "$(ls -A "$T" | grep '^\.')" ]
then echo "PASS graph-o/replaced-whole"
else echo "FAIL graph-o/replaced-whole: exit $rc, mode $(stat -c %a "$T/out.dot"), same inode: $([ "$(stat -c %i "$T/out.dot")" = "$ino" ] && echo yes) $(head -2 "$T/err")"; fi
printf 'old\n' > "$T/linked.dot"; ln "$T/linked.dot" "$T/name2.dot"
"$RC" graph tests/graph/filter.route -o "$T/linked.dot" 2> "$T/err"; rc=$?
if [ $rc = 0 ] && cmp -s "$T/name2.dot" "$T/want.dot" && [ "$(stat -c %h "$T/linked.dot")" = 2 ]; then echo "PASS graph-o/hard-link-kept"
else echo "FAIL graph-o/hard-link-kept: exit $rc, $(stat -c '%h links' "$T/linked.dot"): $(head -2 "$T/err")"; fi
"$RC" graph tests/graph/filter.route -o /dev/stdout > "$T/stdout" 2> "$T/err"; rc=$?
if [ $rc = 0 ] && cmp -s "$T/stdout" "$T/want.dot"; then echo "PASS graph-o/device"
else echo "FAIL graph-o/device: exit $rc: $(head -2 "$T/err")"; fi
printf 'agent a { route -> nowhere }\n' > "$T/bad.route"
"$RC" graph "$T/bad.route" -o "$T/out.dot" > /dev/null 2>&1; rc=$?
if [ $rc = 1 ] && cmp -s "$T/out.dot" "$T/want.dot"; then echo "PASS graph-o/errors-leave-out"
else echo "FAIL graph-o/errors-leave-out: exit $rc, or OUT changed"; fi
"$RC" graph tests/graph/filter.route -o "$T/no/such/dir/out.dot" > /dev/null 2> "$T/err"; rc=$?
if [ $rc = 2 ] && grep -q "cannot write '$T/no/such/dir/out.dot': .*No such file or directory" "$T/err"; then echo "PASS graph-o/no-directory"
else echo "FAIL graph-o/no-directory: exit $rc: $(head -2 "$T/err")"; fi
