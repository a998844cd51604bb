#!/usr/bin/env python3
"""A second, independent Server-Sent Events decoder, written from the WHATWG
specification ("Interpreting an event stream") in the plainest possible
way -- decode the whole stream, split it into lines, process each line --
to check vm/providers/sse.c, which works byte by byte.

It follows the same documented departure from the specification as
vm/providers/sse.h: at the end of the stream an event that no blank line
ended is still reported, marked "unterminated" (and "cut-line" when its
last line had no line end), and the end is reported as clean only when the
stream stopped between events.  It applies the same caps (max_event: a
line, an event's data, type or id longer than that is an error, at the
byte where it is passed).

Output (tests/unit/sse_test.c prints the same):
    event type="T" data="D" id="I" retry=N [unterminated] [cut-line]
    ...
    end clean | end unclean | end truncated | error line too long | error event too large
Quoted text: printable ASCII as is except '"' and '\\'; other bytes \\xNN.

Usage:
    reference.py FILE [MAX_EVENT]     print the events of a raw stream
    reference.py --fixtures DIR OUT   write OUT/<name>.expect for every file of DIR
    reference.py --check CASE...      check the expectations of .case files
                                      (tests/sse/cases, see its README); prints PASS/FAIL
"""
import os
import re
import sys

DEFAULT_MAX = 1 << 20


class CapError(Exception):
    pass


def quote(b):
    out = []
    for c in b:
        if c in (0x22, 0x5C) or c < 0x20 or c > 0x7E:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


def decode(raw, max_event=DEFAULT_MAX):
    """The output lines for the stream 'raw' (bytes)."""
    text = raw.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    parts = re.split(r"\r\n|\r|\n", text)
    complete, last = parts[:-1], parts[-1]       # 'last' is "" when the stream ended with a line end
    out = []
    st = {"data": b"", "type": b"", "id": b"", "retry": -1, "pending": 0}

    def emit(flags=""):
        data = st["data"][:-1]
        out.append("event type=%s data=%s id=%s retry=%d%s" % (
            quote(st["type"] or b"message"), quote(data), quote(st["id"]), st["retry"], flags))

    def process(line):
        """One line; True when it dispatched an event."""
        b = line.encode("utf-8")
        # where (1-based byte of the line) each cap would be passed
        fail_at, kind = None, None
        if len(b) > max_event:
            fail_at, kind = max_event + 1, "line too long"
        if not b:
            st["pending"] = 0
            if st["data"]:
                emit()
                st["data"], st["type"] = b"", b""
                return
            st["type"] = b""
            return
        if b.startswith(b":"):
            if fail_at:
                raise CapError(kind)
            return
        name, colon, value = b.partition(b":")
        skip = 1 if colon and value.startswith(b" ") else 0
        vstart = len(name) + len(colon) + skip       # bytes before the value
        value = value[skip:]
        field = name.decode("utf-8", "replace")
        limit = {"data": max_event + 1 - len(st["data"]), "event": max_event, "id": max_event}.get(field)
        if limit is not None and len(value) > limit:
            at = vstart + limit + 1
            if fail_at is None or at < fail_at:
                fail_at, kind = at, "event too large"
        if fail_at:
            raise CapError(kind)
        st["pending"] += 1
        if field == "data":
            if len(st["data"]) + len(value) + 1 > max_event + 1:
                raise CapError("event too large")          # the line's own \n
            st["data"] += value + b"\n"
        elif field == "event":
            st["type"] = value
        elif field == "id":
            if b"\x00" not in value:
                st["id"] = value
        elif field == "retry":
            if value and all(0x30 <= c <= 0x39 for c in value):
                st["retry"] = min(int(value), 2**63 - 1)

    try:
        for line in complete:
            process(line)
        cut = last != ""
        if cut:
            process(last)                       # as if it had ended
        if st["data"]:
            emit(" unterminated" + (" cut-line" if cut else ""))
            out.append("end unclean")
        elif st["pending"] or cut:
            out.append("end truncated")
        else:
            out.append("end clean")
    except CapError as e:
        out.append("error " + str(e))
    return out


def parse_case(path):
    """(input bytes, max_event, expected lines) of a .case file."""
    data, max_event, expect, in_expect = b"", DEFAULT_MAX, [], False
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if in_expect:
                if line:
                    expect.append(line)
            elif line.startswith("#") or not line:
                continue
            elif line.startswith("input: "):
                data += unescape(line[len("input: "):])
            elif line.startswith("max_event: "):
                max_event = int(line[len("max_event: "):])
            elif line == "expect:":
                in_expect = True
            else:
                raise ValueError("%s: unexpected line %r" % (path, line))
    return data, max_event, expect


def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x":
                out.append(int(s[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\", "s": b" "}[n]
            i += 2
            continue
        out += c.encode("utf-8")
        i += 1
    return bytes(out)


def main():
    args = sys.argv[1:]
    if args and args[0] == "--fixtures":
        src, dst = args[1], args[2]
        os.makedirs(dst, exist_ok=True)
        for name in sorted(os.listdir(src)):
            p = os.path.join(src, name)
            if not os.path.isfile(p) or name.startswith("LICENSE") or name == "README.md":
                continue
            with open(p, "rb") as f:
                lines = decode(f.read())
            with open(os.path.join(dst, name + ".expect"), "w") as f:
                f.write("\n".join(lines) + "\n")
        return 0
    if args and args[0] == "--check":
        bad = 0
        for path in args[1:]:
            name = "sse-reference/" + os.path.basename(path)[:-len(".case")]
            data, max_event, expect = parse_case(path)
            got = decode(data, max_event)
            if got == expect:
                print("PASS " + name)
            else:
                bad += 1
                print("FAIL %s: the reference decoder disagrees with the expectation" % name)
                for g, w in zip(got + [""] * len(expect), expect + [""] * len(got)):
                    if g != w:
                        print("    got:  %s\n    want: %s" % (g, w))
                        break
        return 1 if bad else 0
    with open(args[0], "rb") as f:
        print("\n".join(decode(f.read(), int(args[1]) if len(args) > 1 else DEFAULT_MAX)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
