"""Decodes an AWS event-stream body (application/vnd.amazon.eventstream) for
the mock's self-test, independently of vm/providers/eventstream.c: prints a
JSON list with one object per frame, {"event", "type", "headers", "data",
"json"}, and a last {"error": ...} if the framing breaks (a CRC mismatch, an
impossible length, a truncated frame).
    python3 evstream_decode.py BODYFILE"""
import json
import struct
import sys
import zlib


def header_value(buf, i, t):
    if t in (0, 1):
        return t == 0, i
    sizes = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8}
    if t in sizes:
        n = sizes[t]
        return int.from_bytes(buf[i:i + n], "big", signed=True), i + n
    if t in (6, 7):
        (n,) = struct.unpack(">H", buf[i:i + 2])
        v = buf[i + 2:i + 2 + n]
        return (v.decode("utf-8", "replace") if t == 7 else v.hex()), i + 2 + n
    if t == 9:
        return buf[i:i + 16].hex(), i + 16
    raise ValueError("unknown header type %d" % t)


def decode(data):
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 12:
            return out + [{"error": "truncated prelude"}]
        total, hlen, pcrc = struct.unpack(">III", data[pos:pos + 12])
        if zlib.crc32(data[pos:pos + 8]) != pcrc:
            return out + [{"error": "prelude crc"}]
        if total < 16 or hlen > total - 16:
            return out + [{"error": "bad length %d/%d" % (total, hlen)}]
        if len(data) - pos < total:
            return out + [{"error": "truncated frame"}]
        frame = data[pos:pos + total]
        (mcrc,) = struct.unpack(">I", frame[-4:])
        if zlib.crc32(frame[:-4]) != mcrc:
            return out + [{"error": "message crc"}]
        headers, i, end = {}, 12, 12 + hlen
        while i < end:
            n = frame[i]
            name = frame[i + 1:i + 1 + n].decode()
            value, i = header_value(frame, i + 2 + n, frame[i + 1 + n])
            headers[name] = value
        payload = frame[end:-4].decode("utf-8", "replace")
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        out.append({"event": headers.get(":event-type", headers.get(":exception-type")),
                    "type": headers.get(":message-type"), "headers": headers, "data": payload, "json": parsed})
        pos += total
    return out


with open(sys.argv[1], "rb") as f:
    print(json.dumps(decode(f.read())))
