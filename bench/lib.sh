# Shell functions the benchmarks share.  Sourced, with ROOT the
# repository (. "$ROOT/bench/lib.sh"), never run: bench/run.sh runs every
# other bench/*.sh.
#
#   bench_wait_port PORT [TENTHS]
#       0 once 127.0.0.1:PORT accepts a connection, 1 after TENTHS tenths
#       of a second (150) without one.
#   bench_mock_start DIR MOCK_PORT SSE_PORT [TLS_PORT]
#       nginx as the gateway benchmarks' mock upstream (bench/gateway/
#       nginx-mock.conf.in: a fixed OpenAI chat completion on MOCK_PORT, a
#       fixed SSE answer on SSE_PORT; with TLS_PORT, the chat completion
#       there too over TLS, with a new self-signed certificate for
#       127.0.0.1 in DIR/tls.crt, openssl's defaults), its files under DIR, in the
#       background; sets BENCH_MOCK_PID (empty when nothing was started)
#       and waits for MOCK_PORT.  1 when nginx is not found, MOCK_PORT is
#       already in use, or nginx does not start.
#   bench_mock_answer FILE
#       The body the mock answers on MOCK_PORT, written to FILE (no
#       newline added): what a client must read back.
BENCH_DIR=$ROOT/bench

bench_wait_port() {
    _i=0
    while [ $_i -lt "${2:-150}" ]; do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2> /dev/null && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}

bench_mock_start() {
    BENCH_MOCK_PID=
    command -v nginx > /dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v nginx > /dev/null 2>&1 || return 1
    # another server on the port would answer in its place
    bench_wait_port "$2" 1 && { echo "bench: port $2 is in use" >&2; return 1; }
    mkdir -p "$1/mock_body"
    _tls=
    if [ -n "${4:-}" ]; then
        bench_wait_port "$4" 1 && { echo "bench: port $4 is in use" >&2; return 1; }
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 -keyout "$1/tls.key" -out "$1/tls.crt" 2> "$1/tls.log" || return 1
        _tls="listen 127.0.0.1:$4 ssl; ssl_certificate $1/tls.crt; ssl_certificate_key $1/tls.key;"
    fi
    sed -e "s|@TMP@|$1|g" -e "s|@MOCK_PORT@|$2|g" -e "s|@SSE_PORT@|$3|g" \
        -e "/listen 127.0.0.1:$2 /a\\
    $_tls" "$BENCH_DIR/gateway/nginx-mock.conf.in" > "$1/mock.conf" || return 1
    nginx -p "$1" -c "$1/mock.conf" -e "$1/mock.err" &
    BENCH_MOCK_PID=$!
    bench_wait_port "$2"
}

bench_mock_answer() {
    sed -n "s/^ *return 200 '\(.*\)';\$/\1/p" "$BENCH_DIR/gateway/nginx-mock.conf.in" | tr -d '\n' > "$1"
    [ -s "$1" ]
}
