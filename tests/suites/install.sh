#!/bin/sh
# make install and make uninstall into a staging directory (DESTDIR) with
# PREFIX=/usr, using the binaries of the build directory under test: the
# installed files are those binaries byte for byte; the installed routec,
# with ROUTEC_STDLIB unset and run from elsewhere, finds the installed
# stdlib (next to itself, under the staging directory), checks and builds
# an example that imports it, and the installed routevm explains a
# request with the result; man finds and renders the installed pages; and
# uninstall removes exactly what install put there, leaving other files
# and the shared directories (bin, share/man/man1 ...) alone.  All of it
# twice: DESTDIR=$T/stage PREFIX=/usr, then a DESTDIR and a PREFIX with
# spaces in them (cases named spaces/...).
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
unset ROUTEC_STDLIB
ok() { echo "PASS install/$N$1"; }
bad() { echo "FAIL install/$N$1: $2"; }
mk() { make -s --no-print-directory -C "$ROOT" BUILD="$B" SAN="${SAN:-}" CFLAGS="${CFLAGS:--O2 -g}" \
            DESTDIR="$S" PREFIX="$P" "$@"; }

# one_install NAME-PREFIX DESTDIR PREFIX
one_install() {
N=$1; S=$2; P=$3
before=$(ls -l --time-style=+%s.%N "$B/routec" "$B/routevm" 2>&1)
if mk install > "$T/log" 2>&1; then ok make-install; else bad make-install "$(head -5 "$T/log")"; return; fi
after=$(ls -l --time-style=+%s.%N "$B/routec" "$B/routevm" 2>&1)
if [ "$before" = "$after" ] && cmp -s "$B/routec" "$S$P/bin/routec" && cmp -s "$B/routevm" "$S$P/bin/routevm"
then ok binaries-as-built; else bad binaries-as-built "install rebuilt the binaries or installed others"; fi

missing=""
for f in bin/routec bin/routevm share/routevm/stdlib/std/models.route share/routevm/stdlib/std/pii.route \
         share/man/man1/routec.1 share/man/man1/routevm.1 share/man/man5/route.5 \
         share/doc/routevm/language.md share/doc/routevm/support-graph.svg; do
    [ -f "$S$P/$f" ] || missing="$missing $P/$f"
done
[ -z "$missing" ] && ok files || bad files "not installed:$missing"
if [ -x "$S$P/bin/routec" ] && [ "$(stat -c %a "$S$P/share/man/man1/routec.1")" = 644 ]; then ok modes
else bad modes "binaries not executable or pages not 0644"; fi

# the installed tools, run from a directory that is not the source tree
mkdir -p "$T/work" && cp "$ROOT/examples/support.route" "$ROOT/examples/requests/complaint.json" "$T/work/"
cd "$T/work" || exit 1
if "$S$P/bin/routec" check -Werror support.route > "$T/out" 2>&1; then ok check-example
else bad check-example "$(head -3 "$T/out")"; fi
printf 'import "std/no_such_module"\n' > missing.route
"$S$P/bin/routec" check missing.route > "$T/out" 2>&1
if grep -qF "standard modules are looked up in $S$P/bin/../share/routevm/stdlib" "$T/out"; then ok stdlib-next-to-binary
else bad stdlib-next-to-binary "the installed routec does not use the installed stdlib: $(grep hint "$T/out")"; fi
if "$S$P/bin/routec" build support.route -o support.rbc > "$T/out" 2>&1 && "$S$P/bin/routec" verify support.rbc > /dev/null
then ok build-example; else bad build-example "$(head -3 "$T/out")"; fi
"$S$P/bin/routevm" explain support.rbc --request complaint.json > "$T/explain" 2> "$T/err"
if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["model"] == "claude_sonnet" else 1)' "$T/explain" 2>/dev/null
then ok explain; else bad explain "$(head -c 300 "$T/explain") $(head -3 "$T/err")"; fi

# man finds the installed pages by name and renders them without a warning
for page in 1:routec 1:routevm 5:route; do
    sec=${page%%:*}; name=${page#*:}
    if MANWIDTH=80 man -M "$S$P/share/man" --warnings=w "$sec" "$name" > "$T/man" 2> "$T/manerr" &&
       [ ! -s "$T/manerr" ] && grep -q "^$(echo "$name" | tr a-z A-Z)($sec)" "$T/man"
    then ok "man-$name.$sec"; else bad "man-$name.$sec" "man -M did not render it cleanly: $(head -3 "$T/manerr")"; fi
done
cd "$ROOT" || exit 1

# uninstall removes what install put there and nothing else
echo other > "$S$P/bin/other-tool"
echo other > "$S$P/share/man/man1/other-tool.1"
if mk uninstall > "$T/log" 2>&1; then ok make-uninstall; else bad make-uninstall "$(head -5 "$T/log")"; fi
left=$(cd "$S" && find . -type f ! -name other-tool ! -name other-tool.1 | sort)
[ -z "$left" ] && ok nothing-left || bad nothing-left "left behind: $left"
[ -f "$S$P/bin/other-tool" ] && [ -f "$S$P/share/man/man1/other-tool.1" ] && ok others-kept ||
    bad others-kept "uninstall removed files it did not install"
dirs=$(cd "$S" && find . -mindepth 1 -type d | sort | tr '\n' ' ')
want=$( (printf '%s\n' "$P" | awk -F/ '{ p = "."; for (i = 2; i <= NF; i++) { p = p "/" $i; print p } }'
        for d in bin share share/doc share/man share/man/man1 share/man/man5; do echo ".$P/$d"; done) | sort | tr '\n' ' ')
[ "$dirs" = "$want" ] && ok only-shared-dirs-left || bad only-shared-dirs-left "directories left: $dirs"
}

one_install "" "$T/stage" /usr
one_install spaces/ "$T/stage with spaces" "/opt/route vm"
