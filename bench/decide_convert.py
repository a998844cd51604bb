#!/usr/bin/env python3
"""Convert the decision anchors' requests (gen.py's JSON lines: id user tier
task intent lang region stream max_tokens msg) to OpenAI chat requests for
the 'decide' agent of bench/policies/decide20*.route, one per line, in order:

  {"model":"decide","messages":[{"role":"user","content":MSG}],"user":USER,
   "stream":S,"max_tokens":M,"metadata":{"tier":..,"task":..,"intent":..,"lang":..,"region":..}}

usage: decide_convert.py IN.jsonl OUT.jsonl   ('-' for stdin / stdout)

Streams line by line.  The message is already a JSON string in the input,
so it is copied as it stands (no re-encoding); the other fields are short."""
import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: decide_convert.py IN.jsonl OUT.jsonl")
    src = sys.stdin.buffer if sys.argv[1] == "-" else open(sys.argv[1], "rb")
    dst = sys.stdout.buffer if sys.argv[2] == "-" else open(sys.argv[2], "wb", buffering=1 << 20)
    dumps = json.dumps
    with src, dst:
        for n, line in enumerate(src, 1):
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            # gen.py writes "msg" last: take its JSON text verbatim and parse
            # only the small head.
            k = line.rfind(b',"msg":')
            if k < 0 or not line.endswith(b"}"):
                sys.exit("line %d: no \"msg\" field at the end" % n)
            head = json.loads(line[:k] + b"}")
            msg = line[k + 7:-1]
            meta = {f: head[f] for f in ("tier", "task", "intent", "lang", "region")}
            dst.write(b'{"model":"decide","messages":[{"role":"user","content":' + msg + b'}],"user":'
                      + dumps(head["user"]).encode() + b',"stream":' + (b"true" if head["stream"] else b"false")
                      + b',"max_tokens":' + str(int(head["max_tokens"])).encode()
                      + b',"metadata":' + dumps(meta, separators=(",", ":")).encode() + b"}\n")


if __name__ == "__main__":
    main()
