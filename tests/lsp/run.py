#!/usr/bin/env python3
"""Scripted LSP client for `routec lsp` (tests/lsp/README.md).

    python3 tests/lsp/run.py ROUTEC CASE...
    python3 tests/lsp/run.py --seeds DIR ROUTEC CASE...

With --seeds, the bytes each case sends are also written to DIR/NAME:
the seed corpus of tests/fuzz/fuzz_lsp.c (tests/fuzz/corpus/lsp/).

Each case file is run against a fresh `ROUTEC lsp`: its files are written
into a temporary directory, its steps are played in order, and one line is
printed per case: `PASS lsp/NAME` or `FAIL lsp/NAME: why`.  Exit status 0
when every case passed."""

import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

TIMEOUT = 20.0  # seconds for any one answer (sanitizer builds are slow)


class Fail(Exception):
    pass


def parse_case(path):
    """A case: a list of (verb, argument, line number); 'file' steps carry
    the text up to their 'end' line."""
    steps, files = [], {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line, no = lines[i], i + 1
        i += 1
        if not line.strip() or line.startswith("#"):
            continue
        verb, _, arg = line.partition(" ")
        if verb == "file":
            body = []
            while i < len(lines) and lines[i] != "end":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise Fail("line %d: 'file %s' has no 'end'" % (no, arg))
            i += 1
            files[arg] = "\n".join(body) + "\n"
        elif verb in ("send", "send+", "expect", "raw", "open", "change", "eof", "hangup", "exit", "stderr"):
            steps.append((verb, arg, no))
        else:
            raise Fail("line %d: unknown step '%s'" % (no, verb))
    return files, steps


def uri_of(path):
    from urllib.parse import quote
    return "file://" + quote(os.path.realpath(path))


class Client:
    def __init__(self, routec, cwd, env):
        self.p = subprocess.Popen([routec, "lsp"], cwd=cwd, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.sent = b""
        self.held = b""

    def send_raw(self, data, hold=False):
        """Write 'data' after what was held; 'hold': keep it for the next write."""
        self.sent += data
        if hold:
            self.held += data
            return
        data, self.held = self.held + data, b""
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            raise Fail("the server closed its input")

    def send(self, msg, hold=False):
        body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body, hold)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("no answer within %gs" % TIMEOUT)
        r, _, _ = select.select([self.p.stdout], [], [], left)
        if not r:
            raise Fail("no answer within %gs" % TIMEOUT)
        chunk = os.read(self.p.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def recv(self):
        """The next framed message, or None at the end of the output."""
        deadline = time.monotonic() + TIMEOUT
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                if self.buf:
                    raise Fail("output ends inside a header: %r" % self.buf[:200])
                return None
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        m = re.match(rb"^Content-Length: (\d+)$", head)
        if not m:
            raise Fail("bad header from the server: %r" % head[:200])
        n = int(m.group(1))
        self.buf = rest
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise Fail("output ends inside a body")
        body, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(body.decode("utf-8"))

    def eof(self):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass

    def finish(self):
        self.eof()
        try:
            rc = self.p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("the server did not exit within %gs" % TIMEOUT)
        return rc


def match(want, got, where="$"):
    """Every field of 'want' is in 'got' with a matching value.  Lists
    match element by element, in order, and have the same length unless
    'want' ends with "..." (then 'got' may have more, and the elements of
    'want' are found anywhere in it, in any order).  A string "re:X" is a
    regex searched for in the value; "*" matches any value."""
    if want == "*":
        return
    if isinstance(want, str) and want.startswith("re:"):
        if not isinstance(got, str) or not re.search(want[3:], got):
            raise Fail("%s: %r does not match /%s/" % (where, got, want[3:]))
        return
    if isinstance(want, dict):
        if not isinstance(got, dict):
            raise Fail("%s: want an object, got %r" % (where, got))
        for k, v in want.items():
            if k not in got:
                raise Fail("%s: no field '%s' in %s" % (where, k, json.dumps(got)[:300]))
            match(v, got[k], where + "." + k)
        return
    if isinstance(want, list):
        if not isinstance(got, list):
            raise Fail("%s: want an array, got %r" % (where, got))
        if want and want[-1] == "...":
            for i, w in enumerate(want[:-1]):
                for g in got:
                    try:
                        match(w, g)
                        break
                    except Fail:
                        pass
                else:
                    raise Fail("%s: no element matches %s" % (where, json.dumps(w)))
            return
        if len(want) != len(got):
            raise Fail("%s: want %d elements, got %d: %s" % (where, len(want), len(got), json.dumps(got)[:400]))
        for i, (w, g) in enumerate(zip(want, got)):
            match(w, g, "%s[%d]" % (where, i))
        return
    if want != got or type(want) != type(got):
        raise Fail("%s: want %r, got %r" % (where, want, got))


def substitute(value, files, tmp):
    """${URI:NAME} -> the file: URI of a case file, ${TEXT:NAME} -> its
    text, ${STD:MODULE} -> the URI of a stdlib module, in any string."""
    if isinstance(value, dict):
        return {k: substitute(v, files, tmp) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, files, tmp) for v in value]
    if isinstance(value, str):
        def one(m):
            kind, name = m.group(1), m.group(2)
            if kind == "URI":
                return uri_of(os.path.join(tmp, name))
            if kind == "TEXT":
                return files[name]
            return uri_of(os.path.join(os.environ["ROUTEC_STDLIB"], name))
        return re.sub(r"\$\{(URI|TEXT|STD):([^}]*)\}", one, value)
    return value


def run_case(routec, path, seeds=None):
    files, steps = parse_case(path)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":exitcode=99").lstrip(":")
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:exitcode=99"
        c = Client(routec, tmp, env)
        versions = {}
        rc = None
        try:
            for verb, arg, no in steps:
                try:
                    if verb in ("send", "send+"):
                        c.send(substitute(json.loads(arg), files, tmp), verb == "send+")
                    elif verb == "raw":
                        c.send_raw(json.loads(arg).encode("utf-8"))
                    elif verb in ("open", "change"):
                        # open NAME / change NAME NEWNAME: the text of a case file
                        # as the document's whole text
                        names = [arg] if verb == "open" else arg.split()
                        if names[-1] not in files:
                            raise Fail("no file '%s' in the case" % names[-1])
                        uri = uri_of(os.path.join(tmp, names[0]))
                        text = files[names[-1]]
                        versions[uri] = versions.get(uri, 0) + 1
                        if verb == "open":
                            c.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
                                "textDocument": {"uri": uri, "languageId": "route",
                                                 "version": versions[uri], "text": text}}})
                        else:
                            c.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                                "textDocument": {"uri": uri, "version": versions[uri]},
                                "contentChanges": [{"text": text}]}})
                    elif verb == "expect":
                        want = substitute(json.loads(arg), files, tmp)
                        got = c.recv()
                        if got is None:
                            raise Fail("the server's output ended")
                        match(want, got)
                    elif verb == "eof":
                        c.eof()
                    elif verb == "hangup":
                        c.p.stdout.close()
                    elif verb == "exit":
                        rc = c.finish()
                        if rc != int(arg):
                            raise Fail("exit status %d, want %s" % (rc, arg))
                        extra = None if c.p.stdout.closed else c.recv()
                        if extra is not None:
                            raise Fail("a message nobody expected: %s" % json.dumps(extra)[:300])
                    elif verb == "stderr":
                        if rc is None:
                            raise Fail("'stderr' comes after 'exit'")
                        err = c.p.stderr.read().decode("utf-8", "replace")
                        c.stderr_text = err
                        if not re.search(arg, err):
                            raise Fail("stderr does not match /%s/: %r" % (arg, err[-400:]))
                except Fail as e:
                    raise Fail("line %d (%s): %s" % (no, verb, e))
            if rc is None:
                raise Fail("the case has no 'exit' step")
            err = getattr(c, "stderr_text", None)
            if err is None:
                err = c.p.stderr.read().decode("utf-8", "replace")
            if "Sanitizer" in err or "runtime error:" in err:
                raise Fail("sanitizer report:\n" + err[-2000:])
        finally:
            if seeds:
                with open(os.path.join(seeds, os.path.splitext(os.path.basename(path))[0]), "wb") as f:
                    f.write(c.sent)
            if c.p.poll() is None:
                c.p.kill()
                c.p.wait()
            for s in (c.p.stdout, c.p.stderr):
                s.close()


def main():
    args, seeds = sys.argv[1:], None
    if args[:1] == ["--seeds"]:
        seeds, args = args[1], args[2:]
        os.makedirs(seeds, exist_ok=True)
    routec, cases = os.path.abspath(args[0]), args[1:]
    failed = 0
    for path in cases:
        name = "lsp/" + os.path.splitext(os.path.basename(path))[0]
        try:
            run_case(routec, path, seeds)
            print("PASS " + name)
        except Fail as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        except Exception as e:   # a broken case file, or the runner's own error
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
