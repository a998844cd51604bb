"""Protocol errors the mock's HTTP reader must answer itself, sent over raw
sockets (curl will not send malformed requests).  Run by
tests/suites/mock.sh as: python3 raw_requests.py MAIN_PORT ALT_PORT, where
ALT runs with --max-body 65536 --request-ms 400.  Prints PASS/FAIL lines."""
import socket
import sys
import time

main, alt = int(sys.argv[1]), int(sys.argv[2])
many = b"".join(b"X-H%d: v\r\n" % i for i in range(250))
# name, port, seconds to wait before reading, expected start of the answer, bytes
CASES = [
    ("garbage", main, 0, "HTTP/1.1 400", b"GARBAGE\r\n\r\n"),
    ("bad-version", main, 0, "HTTP/1.1 400", b"GET / HTTP/2.0\r\n\r\n"),
    ("bare-lf", main, 0, "HTTP/1.1 400", b"GET / HTTP/1.1\r\nHost: x\nY: z\r\n\r\n"),
    ("folded", main, 0, "HTTP/1.1 400", b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n"),
    ("nul-in-header", main, 0, "HTTP/1.1 400", b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"),
    ("space-in-name", main, 0, "HTTP/1.1 400", b"GET / HTTP/1.1\r\nX Y: a\r\n\r\n"),
    ("cl-and-te", main, 0, "HTTP/1.1 400",
     b"POST /v1/messages HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc"),
    ("te-only", main, 0, "HTTP/1.1 411", b"POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("two-lengths", main, 0, "HTTP/1.1 400",
     b"POST /v1/messages HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
    ("bad-length", main, 0, "HTTP/1.1 400", b"POST /v1/messages HTTP/1.1\r\nContent-Length: -3\r\n\r\n"),
    ("huge-length", alt, 0, "HTTP/1.1 413", b"POST /v1/messages HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
    ("many-headers", main, 0, "HTTP/1.1 431", b"GET / HTTP/1.1\r\n" + many + b"\r\n"),
    ("huge-head", main, 0, "HTTP/1.1 431", b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70000),
    ("binary", main, 0, "HTTP/1.1 400", bytes(range(256)) + b"\r\n\r\n"),
    ("slow-head", alt, 0.8, "HTTP/1.1 408", b"GET / HTTP/1.1\r\nHost: x\r\n"),
    ("slow-body", alt, 0.8, "HTTP/1.1 408", b"POST /v1/messages HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
    ("idle", alt, 0.8, "closed", b""),
    ("pipelined", main, 0.3, "HTTP/1.1 404", b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
]

for name, port, wait, want, data in CASES:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        time.sleep(wait)
        got = s.recv(65536)
        if name == "pipelined":
            # both answers, in order, on one connection
            while got.count(b"HTTP/1.1 404") < 2:
                more = s.recv(65536)
                if not more:
                    break
                got += more
            got = "HTTP/1.1 404 x2" if got.count(b"HTTP/1.1 404") == 2 else got.decode("latin-1")[:80]
        else:
            got = got.split(b"\r\n")[0].decode("latin-1") if got else "closed"
    except (ConnectionResetError, BrokenPipeError):
        got = "reset"
    except socket.timeout:
        got = "no answer in 5 s"
    s.close()
    ok = got.startswith(want) and (name != "pipelined" or got.endswith("x2"))
    print("PASS mock/raw-%s" % name if ok else "FAIL mock/raw-%s: got %r, want %r" % (name, got, want))
