#!/usr/bin/env python3
"""Downstream attacks on a running 'routevm serve' (RELIABILITY.md cases 1-4,
9-11), over raw sockets on 127.0.0.1.  usage: downstream.py PORT PID KEY

The gateway must run with the small limits tests/suites/serve.sh gives it:
  --header-timeout 800 --body-timeout 800 --body-deadline 1500 --idle-timeout 1500
  --write-timeout 800 --max-body 65536 --max-output 65536
  --max-connections 16 --spare-connections 2
Every case prints 'PASS serve/NAME' or 'FAIL serve/NAME: why'.  No timing is
asserted: each attack would go on longer than the socket timeouts allow if the
gateway did not stop it, so an answer at all shows the limit at work."""
import json
import os
import socket
import sys
import threading
import time

PORT, PID, KEY = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
failed = 0


def report(name, ok, why=""):
    global failed
    if ok:
        print(f"PASS serve/{name}")
    else:
        failed += 1
        print(f"FAIL serve/{name}: {why}")


def conn(timeout=10):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, limit=10):
    """One response: (status, headers dict, body bytes); status None on EOF."""
    s.settimeout(limit)
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None, {}, buf
            buf += d
    except (ConnectionResetError, socket.timeout) as e:
        return None, {"error": str(e)}, buf
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    return status, hdrs, fill(s, rest, n)[:n]


def fill(s, buf, n):
    """buf and what s sends next, until it holds n bytes or s ends or stalls."""
    try:
        while len(buf) < n:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    except (ConnectionResetError, socket.timeout):
        pass
    return buf


def closed(s, limit=10):
    """Does the server close the connection (EOF or reset) within 'limit' s?"""
    s.settimeout(limit)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def openai_error(body, code=None):
    try:
        e = json.loads(body)["error"]
        return isinstance(e["message"], str) and "type" in e and (code is None or e.get("code") == code)
    except Exception:
        return False


def expect(name, raw, status, code=None, then_closed=True, pause=0):
    """Send 'raw' (or each of a list of parts, 'pause' seconds apart, so
    that each is its own read for the gateway) and check the answer: its
    status, an OpenAI error with 'code' unless it is a 200, and then
    (then_closed) the connection closed."""
    s = conn()
    try:
        for part in raw if isinstance(raw, list) else [raw]:
            s.sendall(part)
            time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        pass
    st, h, body = read_response(s)
    ok = st == status and (status == 200 or openai_error(body, code))
    why = f"status {st}, body {body[:200]!r}"
    if ok and then_closed:
        ok = closed(s)
        why = "the connection stayed open after the error"
    report(name, ok, why)
    s.close()


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return -1


AUTH = f"Authorization: Bearer {KEY}\r\n"

# ---- 1. slowloris: headers and bodies a byte at a time ----------------------


def trickle(name, first, rest, status, code):
    s = conn()
    s.sendall(first)
    answered = None
    for b in rest:
        try:
            s.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        s.settimeout(0.2)
        try:
            d = s.recv(65536, socket.MSG_PEEK)
            if d:
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            break
    st, h, body = read_response(s)
    report(name, st == status and openai_error(body, code) and closed(s), f"status {st} {body[:120]!r}")
    s.close()


trickle("downstream-01-slowloris-headers", b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: " + b"a" * 200 + b"\r\n\r\n", 408, "request_timeout")
trickle("downstream-01-slow-body", b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n",
        b"{" * 400, 408, "request_timeout")

s = conn()   # a connection that sends nothing at all: closed without an answer, as nginx does
report("downstream-01-silent-connection", closed(s), "a connection that sent nothing stayed open")
s.close()

# ---- 2. slow reader: pipelined requests never read --------------------------
rss0 = rss_kb()
s = conn()
s.setblocking(False)
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
sent = 0
deadline = time.time() + 3
while time.time() < deadline and sent < 20000:
    try:
        s.send(req)
        sent += 1
    except BlockingIOError:
        time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        break
time.sleep(2.5)                 # past the write timeout: the gateway gives up on us
rss = rss_kb()
s.setblocking(True)
got = 0
gone = False
s.settimeout(5)
try:
    while True:
        d = s.recv(1 << 20)
        if not d:
            gone = True
            break
        got += len(d)
except ConnectionResetError:
    gone = True
except socket.timeout:
    pass
s.close()
# the output cap is 64 KiB per connection: growth well beyond it (allowing for
# allocator and sanitizer slack) means the gateway queued the answers
report("downstream-02-slow-reader", gone and rss - rss0 < 32 * 1024,
       f"connection closed: {gone}, gateway RSS {rss0} -> {rss} kB after {sent} pipelined requests, {got} bytes read")

# ---- 3. huge bodies -----------------------------------------------------------
expect("downstream-03-content-length-over-cap",
       b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 10737418240\r\n\r\n", 413,
       "request_too_large")
s = conn()
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
try:
    for _ in range(64):             # 1 MiB in 16 KiB chunks; the cap is 64 KiB
        s.sendall(chunk)
except (BrokenPipeError, ConnectionResetError):
    pass
st, h, body = read_response(s)
report("downstream-03-chunked-body-over-cap", st == 413 and openai_error(body, "request_too_large"),
       f"status {st}")
s.close()

# ---- 4. huge or many headers --------------------------------------------------
expect("downstream-04-one-huge-header",
       b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n", 431, "headers_too_large")
expect("downstream-04-many-headers",
       b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(10000)) + b"\r\n",
       431, None)
expect("downstream-04-long-url", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, None)

# ---- 9. header injection ------------------------------------------------------
expect("downstream-09-nul-in-header-value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, None)
expect("downstream-09-cr-in-header-value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400, None)
expect("downstream-09-lf-in-header-value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\nb: c\r\n\r\n", 400, None)
expect("downstream-09-control-in-header-value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",
       400, None)
expect("downstream-09-underscore-in-header-name", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX_Route_Tier: a\r\n\r\n",
       400, "invalid_header_name")
expect("downstream-09-obs-fold", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, None)
expect("downstream-09-bare-lf-request-line", b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n", 400, "bare_lf")
expect("downstream-09-bare-lf-after-header", b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400, "bare_lf")
expect("downstream-09-bare-lf-ends-head", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n", 400, "bare_lf")
expect("downstream-09-bare-cr-in-line", b"GET /healthz HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", 400, "bare_cr")
expect("downstream-09-bare-cr-ends-head", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\rX", 400, "bare_cr")
# line ends, folds and stray CR/LF split between two reads
expect("downstream-09-crlf-split-across-reads", [b"GET /healthz HTTP/1.1\r", b"\nHost: x\r\n\r", b"\n"], 200,
       then_closed=False, pause=0.05)
expect("downstream-09-obs-fold-across-reads", [b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n", b" b\r\n\r\n"],
       400, "obs_fold", pause=0.05)
expect("downstream-09-bare-lf-across-reads", [b"GET /healthz HTTP/1.1\r\nHost: x", b"\n\r\n"], 400, "bare_lf",
       pause=0.05)
expect("downstream-09-bare-cr-across-reads", [b"GET /healthz HTTP/1.1\r\nHost: x\r", b"X\r\n\r\n"], 400, "bare_cr",
       pause=0.05)
expect("downstream-09-two-hosts", b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "invalid_host")
expect("downstream-09-no-host", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "invalid_host")

# ---- 10. request smuggling (RFC 9112 section 6) -----------------------------
SMUG = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"     # a second request hidden in the first's body
expect("downstream-10-cl-and-te",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUG,
       400, "request_smuggling")
expect("downstream-10-te-and-cl",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n" + SMUG,
       400, "request_smuggling")
expect("downstream-10-two-content-lengths",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd" + SMUG, 400, None)
expect("downstream-10-two-equal-content-lengths",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd" + SMUG, 400, None)
expect("downstream-10-te-chunked-identity",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUG, 400,
       None)
expect("downstream-10-te-gzip-chunked",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUG, 501,
       "unsupported_transfer_encoding")
expect("downstream-10-two-te-headers",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
       b"0\r\n\r\n" + SMUG, 400, None)
expect("downstream-10-te-not-chunked",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n" + SMUG, 400, None)
expect("downstream-10-signed-content-length",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd" + SMUG, 400, None)
expect("downstream-10-bad-chunk-size",
       b"POST /v1/models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + SMUG, 400, None)
expect("downstream-10-post-without-length", b"POST /v1/models HTTP/1.1\r\nHost: x\r\n\r\n", 411, "length_required")

# ---- framing across reads -----------------------------------------------------
# The gateway reads at most its head cap and 4 KiB at a time and stops
# reading while that much input waits (pipelined requests): a body longer
# than that arrives over several reads, and a pipelined burst longer than
# that is taken in turns; either way every request is answered once, in order.


def statuses(s, n, limit=10):
    """The statuses of the next n responses on s (fewer if it ends or stalls);
    responses may arrive several in one read."""
    s.settimeout(limit)
    buf, out = b"", []
    while len(out) < n:
        if b"\r\n\r\n" not in buf:
            more = fill(s, buf, len(buf) + 1)
            if len(more) == len(buf):
                break
            buf = more
            continue
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        cl = [int(ln.split(":", 1)[1]) for ln in lines[1:] if ln.lower().startswith("content-length:")][0]
        rest = fill(s, rest, cl)
        if len(rest) < cl:
            break
        out.append(int(lines[0].split()[1]))
        buf = rest[cl:]
    return out


s = conn()
big = b"x" * 60000                  # under the 64 KiB body cap, over the input cap
s.sendall(b"POST /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big) + big +
          b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
got = statuses(s, 2)
report("framing-body-across-reads", got == [405, 200],
       f"statuses {got} (expected 405 for the long body, then 200 on the same connection)")
s.close()

s = conn()
N = 1500                            # about 50 KiB of requests, several times the input cap
burst = b"".join(b"GET /healthz?n=%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(N))
sender = threading.Thread(target=lambda: s.sendall(burst))
sender.start()
got = statuses(s, N)
sender.join()
report("framing-pipelined-past-input-cap", got == [200] * N, f"{len(got)} of {N} pipelined requests answered")
s.close()

# a request that ends its connection (HTTP/1.0), answered at once while
# pipelined input is being parsed: the connection closes after its answer,
# what followed it is dropped, and the gateway goes on serving
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.0\r\n\r\n"
          b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
got = statuses(s, 3)
gone = closed(s)
s.close()
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
after = statuses(s, 1)
s.close()
report("framing-close-inside-pipeline", got == [200, 200] and gone and after == [200],
       f"statuses {got}, closed {gone}, then {after}")

# ---- 11. connection floods, idle keep-alives ---------------------------------
socks = [conn() for _ in range(16)]          # every normal connection in use
spare = [conn() for _ in range(2)]           # the spare ones
extra = [conn() for _ in range(4)]           # past both: a canned 503, closed
spare[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
st_h, _, _ = read_response(spare[0])
spare[1].sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + AUTH.encode() + b"\r\n")
st_m, _, body_m = read_response(spare[1])
shed = [read_response(x)[0] for x in extra]
report("downstream-11-health-check-headroom", st_h == 200, f"/healthz on a spare connection: {st_h}")
report("downstream-11-spare-connections-shed", st_m == 503 and openai_error(body_m, "too_many_connections"),
       f"/v1/models on a spare connection: {st_m}")
report("downstream-11-connections-past-the-cap", all(x == 503 for x in shed), f"statuses {shed}")
for x in socks + spare + extra:
    x.close()
time.sleep(0.3)
s = conn()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
st, _, _ = read_response(s)
report("downstream-11-capacity-returns", st == 200, f"status {st} once the flood closed")
report("downstream-11-idle-keepalive-closed", closed(s), "an idle keep-alive connection stayed open")
s.close()

# each request starts the keep-alive wait (1.5 s) again: three requests
# 1 s apart on one connection are all answered, and it closes after the last
s = conn()
got = []
for i in range(3):
    if i:
        time.sleep(1.0)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        break
    got += statuses(s, 1)
report("downstream-11-keepalive-renewed", got == [200, 200, 200] and closed(s),
       f"statuses {got} on one connection, 1 s apart (keep-alive wait 1.5 s)")
s.close()

sys.exit(1 if failed else 0)
