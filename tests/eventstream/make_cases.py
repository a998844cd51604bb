#!/usr/bin/env python3
"""Writes our own event-stream cases (tests/eventstream/cases/NAME.bin and
NAME.expect), complementing the vendored AWS vectors
(tests/vectors/eventstream/), which cover single frames only.

These are OUR vectors, not AWS's.  The frames are laid out here in Python
(struct + zlib.crc32), independently of vm/providers/eventstream.c, and
each .expect is written from what the script put in, not from decoding,
so the C decoder is checked against a second implementation.  The Bedrock
frames follow the ConverseStream reference (event types messageStart,
contentBlockDelta, contentBlockStop, messageStop, metadata; headers
:event-type, :content-type, :message-type; exceptions with :exception-type).

Expectation format (tests/unit/eventstream_test.c prints the same):
    message total=N headers=N prelude_crc=0xXXXXXXXX message_crc=0xXXXXXXXX
      header NAME TYPE VALUE        (string/bytes quoted, uuid hex, ints decimal)
      payload "..."
    end ok | error <status name>
Quoted text: printable ASCII as is except '"' and '\\', other bytes \\xNN.

Usage: python3 tests/eventstream/make_cases.py   (rewrites cases/)
"""
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
TYPES = {"true": 0, "false": 1, "byte": 2, "int16": 3, "int32": 4, "int64": 5,
         "bytes": 6, "string": 7, "timestamp": 8, "uuid": 9}
FMT = {"byte": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "timestamp": ">q"}


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def header_bytes(name, typ, value):
    n = name.encode()
    out = bytes([len(n)]) + n + bytes([TYPES[typ]])
    if typ in ("true", "false"):
        return out
    if typ in FMT:
        return out + struct.pack(FMT[typ], value)
    if typ in ("bytes", "string"):
        v = value.encode() if isinstance(value, str) else value
        return out + struct.pack(">H", len(v)) + v
    if typ == "uuid":
        return out + value
    raise ValueError(typ)


def frame(headers, payload, total=None, hlen=None, prelude_crc=None, message_crc=None):
    """A frame; any field may be forced to a wrong value."""
    hb = b"".join(header_bytes(*h) for h in headers)
    p = payload.encode() if isinstance(payload, str) else payload
    t = 16 + len(hb) + len(p) if total is None else total
    hl = len(hb) if hlen is None else hlen
    pre = struct.pack(">II", t, hl)
    pc = crc(pre) if prelude_crc is None else prelude_crc
    body = pre + struct.pack(">I", pc) + hb + p
    mc = crc(body) if message_crc is None else message_crc
    return body + struct.pack(">I", mc)


def quote(b):
    out = []
    for c in b:
        if c in (0x22, 0x5C) or c < 0x20 or c > 0x7E:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return '"' + "".join(out) + '"'


def describe(headers, payload):
    """The expectation lines of a well-formed frame."""
    f = frame(headers, payload)
    total, hlen, pc = struct.unpack(">III", f[:12])
    mc = struct.unpack(">I", f[-4:])[0]
    lines = ["message total=%d headers=%d prelude_crc=0x%08x message_crc=0x%08x" % (total, hlen, pc, mc)]
    for name, typ, value in headers:
        if typ in ("true", "false"):
            v = typ
        elif typ in FMT:
            v = str(value)
        elif typ == "uuid":
            v = value.hex()
        else:
            v = quote(value.encode() if isinstance(value, str) else value)
        lines.append("  header %s %s %s" % (quote(name.encode()), typ, v))
    p = payload.encode() if isinstance(payload, str) else payload
    lines.append("  payload " + quote(p))
    return f, lines


def bedrock_event(kind, payload):
    return [(":event-type", "string", kind), (":content-type", "string", "application/json"),
            (":message-type", "string", "event")], payload


STREAM = [
    bedrock_event("messageStart", '{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0","role":"assistant"}'),
    bedrock_event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcdefghijkl"}'),
    bedrock_event("contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":", w\\u00f6rld \u00e9t\u00e9"},"p":"abcd"}'),
    bedrock_event("contentBlockStop", '{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDEFGH"}'),
    bedrock_event("messageStop", '{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS","stopReason":"end_turn"}'),
    bedrock_event("metadata", '{"metrics":{"latencyMs":412},"p":"abc","usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17}}'),
]
EXCEPTION = ([(":exception-type", "string", "throttlingException"),
              (":content-type", "string", "application/json"),
              (":message-type", "string", "exception")],
             '{"message":"Too many requests, please wait before trying again."}')
ALL_TYPES = ([("t", "true", None), ("f", "false", None), ("b", "byte", -128), ("s", "int16", -2),
              ("i", "int32", -2147483648), ("l", "int64", -9223372036854775808),
              ("ts", "timestamp", -1), ("raw", "bytes", bytes(range(0, 256, 17))),
              ("u", "uuid", bytes(range(16, 32))), ("empty", "string", ""), ("bin", "bytes", b"")],
             b"\x00\xff\r\n")


def write(name, data, lines, end):
    with open(os.path.join(HERE, name + ".bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(HERE, name + ".expect"), "w") as f:
        f.write("\n".join(lines + [end]) + "\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    for old in os.listdir(HERE):
        os.remove(os.path.join(HERE, old))
    data, lines = b"", []
    for h, p in STREAM:
        f, l = describe(h, p)
        data += f
        lines += l
    write("bedrock_converse_stream", data, lines, "end ok")

    f, l = describe(*EXCEPTION)
    write("bedrock_throttling_exception", f, l, "end ok")

    f, l = describe(*ALL_TYPES)
    write("all_types_extremes", f, l, "end ok")

    write("empty_stream", b"", [], "end ok")

    # 256 headers is the limit; 257 is one too many
    many = [("a", "true", None)] * 256
    f, l = describe(many, "")
    write("headers_256", f, l, "end ok")
    write("headers_257", frame(many + [("a", "true", None)], ""), [], "error malformed header")

    # prelude checks, in order: CRC, total_length, headers_length
    write("total_length_15", frame([], "", total=15), [], "error frame too short")
    write("total_length_0", frame([], "", total=0), [], "error frame too short")
    write("total_length_huge", frame([], "", total=0x7FFFFFFF), [], "error frame too long")
    write("total_length_16mib_plus_1", frame([], "", total=(16 << 20) + 1), [], "error frame too long")
    write("headers_length_past_frame", frame([], "abcd", hlen=5), [], "error bad headers length")
    write("headers_length_huge", frame([], "", hlen=0xFFFFFFFF), [], "error bad headers length")
    write("prelude_crc_wrong", frame([], "x", prelude_crc=0), [], "error prelude checksum mismatch")

    # frames cut short
    good, gl = describe(*EXCEPTION)
    write("truncated_mid_frame", good[:30], [], "error stream ended inside a frame")
    write("truncated_mid_prelude", good[:5], [], "error stream ended inside a frame")
    write("truncated_before_message_crc", good[:-1], [], "error stream ended inside a frame")
    two = b"".join(frame(h, p) for h, p in STREAM[:2])
    tl = describe(*STREAM[0])[1] + describe(*STREAM[1])[1]
    write("two_frames_then_cut", two + frame(*STREAM[2])[:40], tl, "error stream ended inside a frame")

    # message checks: CRC, then headers
    write("second_frame_message_crc", frame(*STREAM[0]) + frame(*STREAM[1], message_crc=1),
          describe(*STREAM[0])[1], "error message checksum mismatch")
    write("garbage_after_frame", frame(*STREAM[0]) + b"GARBAGE-BYTES-HERE",
          describe(*STREAM[0])[1], "error prelude checksum mismatch")
    hb = bytes([1]) + b"x" + bytes([10])              # type 10 does not exist
    write("header_unknown_type", raw_frame(hb, b""), [], "error malformed header")
    write("header_empty_name", raw_frame(bytes([0, 0]), b""), [], "error malformed header")
    hb = bytes([1]) + b"s" + bytes([7]) + struct.pack(">H", 100) + b"short"
    write("header_string_overrun", raw_frame(hb, b""), [], "error malformed header")
    hb = bytes([1]) + b"l" + bytes([5]) + b"\x00\x01\x02"
    write("header_int64_overrun", raw_frame(hb, b""), [], "error malformed header")
    hb = bytes([200]) + b"name"
    write("header_name_overrun", raw_frame(hb, b""), [], "error malformed header")
    hb = bytes([4]) + b"uuid" + bytes([9]) + bytes(15)
    write("header_uuid_overrun", raw_frame(hb, b""), [], "error malformed header")
    hb = bytes([1]) + b"s" + bytes([7, 0])              # length prefix cut in half
    write("header_length_prefix_cut", raw_frame(hb, b""), [], "error malformed header")


def raw_frame(hb, payload):
    """A frame whose header block is given as raw bytes (valid CRCs)."""
    pre = struct.pack(">II", 16 + len(hb) + len(payload), len(hb))
    body = pre + struct.pack(">I", crc(pre)) + hb + payload
    return body + struct.pack(">I", crc(body))


if __name__ == "__main__":
    main()
