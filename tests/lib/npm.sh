# Shell helper for the suites that run npm packages at locked versions
# (tests/suites/openai_npm.sh, tests/suites/textmate.sh), sourced by them.

# npm_install NAME SRC DEST PACKAGE...: makes DEST hold the packages locked
# in SRC/package-lock.json, installed with 'npm ci --ignore-scripts' (only
# when DEST does not already hold that lock file and every PACKAGE).
# Node and npm are required: without them, or when the install fails, it
# prints a "FAIL NAME/setup" or "FAIL NAME/install" line and returns 1.
npm_install() {
    npm_name=$1; npm_src=$2; npm_dest=$3; shift 3
    if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
        echo "FAIL $npm_name/setup: node and npm are needed (apt-get install nodejs npm)"; return 1
    fi
    npm_fresh=1
    cmp -s "$npm_src/package-lock.json" "$npm_dest/package-lock.json" || npm_fresh=0
    for npm_p in "$@"; do [ -d "$npm_dest/node_modules/$npm_p" ] || npm_fresh=0; done
    [ $npm_fresh -eq 1 ] && return 0
    rm -rf "$npm_dest"; mkdir -p "$npm_dest"
    cp "$npm_src/package.json" "$npm_src/package-lock.json" "$npm_dest/"
    if ! (cd "$npm_dest" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts > npm.log 2>&1); then
        echo "FAIL $npm_name/install: npm ci failed"; tail -5 "$npm_dest/npm.log"; rm -f "$npm_dest/package-lock.json"; return 1
    fi
}
