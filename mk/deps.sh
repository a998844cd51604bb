#!/bin/sh
# Checks that the Debian packages routevm builds with are installed.
# "deps.sh install" (or any run as root) installs the missing ones with
# apt-get; otherwise it prints the exact command and fails.  libcjson-dev,
# libjson-c-dev, libjsonparser-dev and libjsmn-dev are only for
# bench/jsonparse.sh, which compares JSON parsers for the request model.
# sqlite3 (the shell) lets tests/suites/serve.sh read the spend ledger;
# nodejs and npm run the official openai client against the gateway
# (tests/suites/openai_npm.sh, which installs the client itself with npm
# ci from tests/npm/package-lock.json).  npm is asked for only when no npm
# command exists: some Node.js builds (NodeSource's) carry their own and
# conflict with Debian's package.  chromium only for tests/suites/report.sh,
# which loads the HTML pages of 'routevm report' and 'routevm simulate' in
# a real headless browser.  libyaml-dev parses LiteLLM configs for
# 'routec import litellm' (only routec links it).  vim (Debian's, with
# +syntax; vim-tiny has none) loads the syntax file of editors/vim
# headless in tests/suites/vim.sh.  graphviz: 'routec graph --format svg'
# runs its dot (tests/suites/graph.sh renders every example); man-db:
# man -l renders the manual pages of docs/man (tests/suites/man.sh,
# install.sh).
#
# "deps.sh bench" checks (and as root installs) only the load tools of
# the gateway benchmark (bench/gateway.sh, bench/soak.sh): nginx (the mock
# upstream and the proxy anchor), haproxy (the second anchor), wrk (the
# load generator).  Neither make nor make check needs them.
if [ "${1:-}" = bench ]; then
    PKGS="nginx haproxy wrk"
else
    PKGS="make gcc clang flex bison pkg-config libpcre2-dev libssl-dev openssl zlib1g-dev libjansson-dev libyaml-dev libyajl-dev libexttextcat-dev libcurl4-openssl-dev libevent-dev libhttp-parser-dev libsqlite3-dev lua5.4 lua-cjson jq python3 curl libcjson-dev libjson-c-dev libjsonparser-dev libjsmn-dev sqlite3 nodejs chromium vim graphviz man-db"
    command -v npm > /dev/null 2>&1 || PKGS="$PKGS npm"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "routevm: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
        echo "routevm: apt-get install failed for:$missing" >&2; exit 1; }
    exit 0
fi
echo "routevm: missing Debian packages:$missing" >&2
echo "install them with:  sudo apt-get install -y$missing" >&2
exit 1
