#!/bin/sh
# make install and make uninstall into a staging directory (DESTDIR) with
# PREFIX=/usr, using the binaries of the build directory under test: the
# installed files are those binaries byte for byte; the installed routec,
# with ROUTEC_STDLIB unset and run from elsewhere, finds the installed
# stdlib (next to itself, under the staging directory), checks and builds
# an example that imports it, and the installed routevm explains a
# request with the result; man finds and renders the installed pages; and
# uninstall removes exactly what install put there, leaving other files
# and the shared directories (bin, share/man/man1 ...) alone.
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
S="$T/stage"
ok() { echo "PASS install/$1"; }
bad() { echo "FAIL install/$1: $2"; }
unset ROUTEC_STDLIB
mk() { make -s --no-print-directory -C "$ROOT" BUILD="$B" SAN="${SAN:-}" CFLAGS="${CFLAGS:--O2 -g}" \
            DESTDIR="$S" PREFIX=/usr "$@"; }

before=$(ls -l --time-style=+%s.%N "$B/routec" "$B/routevm" 2>&1)
if mk install > "$T/log" 2>&1; then ok make-install; else bad make-install "$(head -5 "$T/log")"; exit 0; fi
after=$(ls -l --time-style=+%s.%N "$B/routec" "$B/routevm" 2>&1)
if [ "$before" = "$after" ] && cmp -s "$B/routec" "$S/usr/bin/routec" && cmp -s "$B/routevm" "$S/usr/bin/routevm"
then ok binaries-as-built; else bad binaries-as-built "install rebuilt the binaries or installed others"; fi

missing=""
for f in usr/bin/routec usr/bin/routevm usr/share/routevm/stdlib/std/models.route usr/share/routevm/stdlib/std/pii.route \
         usr/share/man/man1/routec.1 usr/share/man/man1/routevm.1 usr/share/man/man5/route.5 \
         usr/share/doc/routevm/language.md usr/share/doc/routevm/support-graph.svg; do
    [ -f "$S/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok files || bad files "not installed:$missing"
if [ -x "$S/usr/bin/routec" ] && [ "$(stat -c %a "$S/usr/share/man/man1/routec.1")" = 644 ]; then ok modes
else bad modes "binaries not executable or pages not 0644"; fi

# the installed tools, run from a directory that is not the source tree
mkdir -p "$T/work" && cp "$ROOT/examples/support.route" "$ROOT/examples/requests/complaint.json" "$T/work/"
cd "$T/work" || exit 1
if "$S/usr/bin/routec" check -Werror support.route > "$T/out" 2>&1; then ok check-example
else bad check-example "$(head -3 "$T/out")"; fi
printf 'import "std/no_such_module"\n' > missing.route
"$S/usr/bin/routec" check missing.route > "$T/out" 2>&1
if grep -qF "standard modules are looked up in $S/usr/bin/../share/routevm/stdlib" "$T/out"; then ok stdlib-next-to-binary
else bad stdlib-next-to-binary "the installed routec does not use the installed stdlib: $(grep hint "$T/out")"; fi
if "$S/usr/bin/routec" build support.route -o support.rbc > "$T/out" 2>&1 && "$S/usr/bin/routec" verify support.rbc > /dev/null
then ok build-example; else bad build-example "$(head -3 "$T/out")"; fi
"$S/usr/bin/routevm" explain support.rbc --request complaint.json > "$T/explain" 2> "$T/err"
if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["model"] == "claude_sonnet" else 1)' "$T/explain" 2>/dev/null
then ok explain; else bad explain "$(head -c 300 "$T/explain") $(head -3 "$T/err")"; fi

# man finds the installed pages by name and renders them without a warning
for page in 1:routec 1:routevm 5:route; do
    sec=${page%%:*}; name=${page#*:}
    if MANWIDTH=80 man -M "$S/usr/share/man" --warnings=w "$sec" "$name" > "$T/man" 2> "$T/manerr" &&
       [ ! -s "$T/manerr" ] && grep -q "^$(echo "$name" | tr a-z A-Z)($sec)" "$T/man"
    then ok "man-$name.$sec"; else bad "man-$name.$sec" "man -M did not render it cleanly: $(head -3 "$T/manerr")"; fi
done
cd "$ROOT" || exit 1

# uninstall removes what install put there and nothing else
echo other > "$S/usr/bin/other-tool"
echo other > "$S/usr/share/man/man1/other-tool.1"
if mk uninstall > "$T/log" 2>&1; then ok make-uninstall; else bad make-uninstall "$(head -5 "$T/log")"; fi
left=$(cd "$S" && find . -type f ! -name other-tool ! -name other-tool.1 | sort)
[ -z "$left" ] && ok nothing-left || bad nothing-left "left behind: $left"
[ -f "$S/usr/bin/other-tool" ] && [ -f "$S/usr/share/man/man1/other-tool.1" ] && ok others-kept ||
    bad others-kept "uninstall removed files it did not install"
dirs=$(cd "$S" && find . -mindepth 1 -type d | sort | tr '\n' ' ')
want="./usr ./usr/bin ./usr/share ./usr/share/doc ./usr/share/man ./usr/share/man/man1 ./usr/share/man/man5 "
[ "$dirs" = "$want" ] && ok only-shared-dirs-left || bad only-shared-dirs-left "directories left: $dirs"
