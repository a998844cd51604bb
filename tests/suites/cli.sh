#!/bin/bash
# Command-line cases (tests/cli/cases.txt, see its README): each command
# of routec or routevm must end with the exit status the docs promise, and
# say what the case expects.  bash, for <(...) in the cases.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
BIN=$1; ROOT=$(cd "$2" && pwd)
case "$BIN" in /*) B="$BIN" ;; *) B="$ROOT/$BIN" ;; esac
cd "$ROOT" || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99" UBSAN_OPTIONS="print_stacktrace=1:exitcode=99"

routec() { "$B/routec" "$@"; }
routevm() { "$B/routevm" "$@"; }
bytes() { head -c "$1" /dev/zero | tr '\0' "$2"; }
endless() { tr '\0' "$1" < /dev/zero; }
rss_below() {  # rss_below KB CMD...: CMD's status, or 99 when its peak RSS passed KB
    limit=$1; shift
    case "$1" in routec|routevm) set -- "$B/$1" "${@:2}" ;; esac
    python3 -c '
import resource, subprocess, sys
r = subprocess.run(sys.argv[2:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if peak > int(sys.argv[1]):
    print("peak RSS %d KB, more than %s KB" % (peak, sys.argv[1]))
    sys.exit(99)
sys.exit(r.returncode)' "$limit" "$@"
}
export -f routec routevm bytes endless rss_below 2>/dev/null

if ! { routec build examples/support.route -o "$T/support.rbc" &&
       openssl genpkey -algorithm ed25519 -out "$T/key.pem" &&
       openssl pkey -in "$T/key.pem" -pubout -out "$T/pub.pem" &&
       routec build examples/support.route -o "$T/signed.rbc" --sign "$T/key.pem"; } > "$T/setup.log" 2>&1; then
    echo "FAIL cli: setup"; cat "$T/setup.log"; exit 1
fi
head -c 100 "$T/support.rbc" > "$T/corrupt.rbc"

while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    want=${line%% *}; rest=${line#* }
    name=${rest%%:*}; cmd=${rest#*: }
    text=""
    case "$cmd" in *' => '*) text=${cmd#* => }; cmd=${cmd%% => *} ;; esac
    (eval "$cmd") > "$T/out" 2>&1 < /dev/null; rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL cli/$name: exit status $rc, want $want"; head -c 600 "$T/out"; echo
    elif [ -n "$text" ] && ! grep -qF -- "$text" "$T/out"; then
        echo "FAIL cli/$name: the output does not say: $text"; head -c 600 "$T/out"; echo
    else
        echo "PASS cli/$name"
    fi
done < <(cat tests/cli/*.txt)
