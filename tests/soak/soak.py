#!/usr/bin/env python3
"""Mixed traffic for the gateway's soak test (tests/suites/soak.sh, bench/soak.sh).

  soak.py drive PORT SECONDS WORKERS SEED COUNTS.json
      WORKERS threads send requests to 127.0.0.1:PORT for SECONDS, each
      picking a kind of traffic at random (seeded): JSON and streamed
      answers, a client that goes away mid-stream, upstream 429s, 500s
      with and without a fallback, an upstream slower than the call's
      timeout, invalid JSON, an unknown agent.  Every answer is checked
      against what its kind allows (status, OpenAI-style error body, a
      stream ending in [DONE]); counts by kind and status are added to
      COUNTS.json (created if absent), with every problem seen.
  soak.py check COUNTS.json METRICS.txt
      Compares the counts with the gateway's /metrics: requests by status
      code, chat outcomes, client disconnects.  Prints one line per check
      ("ok ..." or "bad ..."), exits 1 if any is bad.

Only 127.0.0.1 is contacted; every socket has a timeout."""
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time

BODY = {"messages": [{"role": "system", "content": "Answer briefly."},
                     {"role": "user", "content": "Has my parcel shipped? Order placed on Tuesday."}],
        "max_tokens": 64}

# kind: (weight, agent, stream, allowed statuses)
KINDS = {
    "json":       (30, "fine", False, {200}),
    "stream":     (20, "fine", True, {200}),
    "disconnect": (10, "held", True, {200}),
    "limited":    (8, "limited", False, {502, 503}),
    "rescued":    (10, "rescued", False, {200}),
    "failing":    (6, "failing", True, {502, 503}),
    "slow":       (4, "slow", False, {502, 503, 504}),
    "bad_json":   (6, None, False, {400}),
    "unknown":    (6, "nobody", False, {404}),
}


class Worker(threading.Thread):
    def __init__(self, port, until, seed):
        super().__init__(daemon=True)
        self.port, self.until, self.rng = port, until, random.Random(seed)
        self.counts, self.problems = {}, []
        self.conn = None

    def connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        return self.conn

    def drop(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    def problem(self, kind, why):
        if len(self.problems) < 50:
            self.problems.append("%s: %s" % (kind, why))

    def count(self, kind, status):
        key = "%s %s" % (kind, status)
        self.counts[key] = self.counts.get(key, 0) + 1

    def run(self):
        names = list(KINDS)
        weights = [KINDS[k][0] for k in names]
        while time.monotonic() < self.until:
            kind = self.rng.choices(names, weights)[0]
            try:
                status = self.one(kind)
            except (OSError, http.client.HTTPException) as e:
                self.problem(kind, "no answer (%s: %s)" % (type(e).__name__, e))
                self.count(kind, "none")
                self.drop()
                continue
            self.count(kind, status)
            if status not in KINDS[kind][3]:
                self.problem(kind, "status %s" % status)
        self.drop()

    def one(self, kind):
        _, agent, stream, _ = KINDS[kind]
        if kind == "bad_json":
            body = b'{"model": "fine", "messages": [}'
        else:
            b = dict(BODY, model=agent)
            if stream:
                b["stream"] = True
            body = json.dumps(b).encode()
        hdrs = {"Content-Type": "application/json", "Authorization": "Bearer sk-soak"}
        if kind == "disconnect":
            return self.disconnect(body, hdrs)
        c = self.connection()
        c.request("POST", "/v1/chat/completions", body, hdrs)
        r = c.getresponse()
        data = r.read()
        if r.getheader("connection", "").lower() == "close":
            self.drop()
        if r.status == 200 and stream:
            events = [l[6:] for l in data.decode().split("\n") if l.startswith("data: ")]
            if not events or events[-1] != "[DONE]":
                self.problem(kind, "stream did not end with [DONE]: %r" % data[-120:])
        elif r.status == 200:
            j = json.loads(data)
            if not j["choices"][0]["message"]["content"]:
                self.problem(kind, "empty answer")
        else:
            try:
                e = json.loads(data)["error"]
                if not e.get("type") or not e.get("code") or not e.get("message"):
                    raise KeyError("type, code or message")
            except (ValueError, KeyError, TypeError) as x:
                self.problem(kind, "status %d without an OpenAI-style error (%s): %r" % (r.status, x, data[:200]))
        return r.status

    def disconnect(self, body, hdrs):
        """A stream read until its first words, then the client goes away."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        try:
            head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % len(body)
            head += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
            s.sendall(head.encode() + body)
            got = b""
            while b'"content":"one' not in got and b'"content":" two' not in got:
                d = s.recv(4096)
                if not d:
                    break
                got += d
            m = re.match(rb"HTTP/1\.1 (\d+)", got)
            if not m:
                raise OSError("no status line: %r" % got[:100])
            if int(m.group(1)) == 200 and b"data: " not in got:
                self.problem("disconnect", "no event before the stall: %r" % got[-200:])
            return int(m.group(1))
        finally:
            s.close()


def drive(port, seconds, workers, seed, path):
    until = time.monotonic() + seconds
    ws = [Worker(port, until, seed * 1000 + i) for i in range(workers)]
    for w in ws:
        w.start()
    for w in ws:
        w.join(seconds + 60)
    total = json.load(open(path)) if os.path.exists(path) else {"counts": {}, "problems": []}
    for w in ws:
        for k, v in w.counts.items():
            total["counts"][k] = total["counts"].get(k, 0) + v
        total["problems"] += w.problems
    if any(w.is_alive() for w in ws):
        total["problems"].append("a client thread never finished")
    json.dump(total, open(path, "w"), indent=1, sort_keys=True)
    n = sum(sum(w.counts.values()) for w in ws)
    print("soak: %d requests in %ss by %d clients, %d problems" % (n, seconds, workers,
                                                                   sum(len(w.problems) for w in ws)))


def metric(text, name, **labels):
    """Sum of the series of 'name' whose labels include 'labels'."""
    s = 0
    for line in text.splitlines():
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            s += float(m.group(3))
    return int(s)


def check(path, metrics_path):
    total = json.load(open(path))
    text = open(metrics_path).read()
    by_status, by_kind = {}, {}
    for key, n in total["counts"].items():
        kind, status = key.split()
        # a stream its client left was never answered whole: it counts as
        # a disconnect, not under routevm_requests_total
        if kind != "disconnect":
            by_status[status] = by_status.get(status, 0) + n
        by_kind[kind] = by_kind.get(kind, 0) + n
    bad = 0

    def say(ok, what):
        nonlocal bad
        bad += not ok
        print("%s %s" % ("ok" if ok else "bad", what))

    for p in total["problems"]:
        say(False, "client: " + p)
    say(not total["problems"], "every answer as its kind allows (%d requests)" % sum(by_kind.values()))
    for status in sorted(set(by_status) | {"200"}):
        if status == "none":
            continue
        m = metric(text, "routevm_requests_total", endpoint="chat", code=status)
        say(m == by_status.get(status, 0),
            "status %s: client saw %d (streams it left aside), metrics count %d" % (status, by_status.get(status, 0), m))
    dis = by_kind.get("disconnect", 0)
    m = metric(text, "routevm_chat_requests_total", outcome="disconnected")
    say(m == dis, "streams the client left: %d, chat outcome disconnected %d" % (dis, m))
    m = metric(text, "routevm_client_disconnects_total")
    say(m == dis, "client disconnects: %d, metrics %d" % (dis, m))
    chat = sum(n for k, n in by_kind.items() if k not in ("bad_json", "unknown"))
    m = metric(text, "routevm_chat_requests_total")
    say(m == chat, "chat requests decided: client sent %d, metrics %d" % (chat, m))
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "drive":
        drive(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
