#!/usr/bin/env python3
"""Edge cases for the decision agreement test (tests/suites/decide_agree.sh),
in the format of the anchors' gen.py (id user tier task intent lang region
stream max_tokens msg), written to stdout as JSON lines.

gen.py's random requests never probe the boundaries of the policy's rules:
a greeting followed by a letter, a greeting that is the whole message,
SSN-like digit runs one digit short, a long message of exactly 3000 tokens,
the users whose bucket is exactly 9 or 10.  These do, each under several
metadata combinations so that the rule in question is the one that decides.
ASCII only: the reference counts bytes, routevm characters (the same for ASCII)."""
import itertools
import json
import sys

WORD = "order shipping parcel "


def filler(n):
    """n bytes of plain words, no digits, no greeting, no keyword."""
    return (WORD * (n // len(WORD) + 1))[:n]


def djb2(s):
    h = 5381
    for c in s.encode():
        h = (h * 33 + c) & 0xffffffff
    return h


MSGS = [
    # rule 20: ^(hi|hello|hey|thanks)[ ,.!] caseless; the greeting must be followed by one of " ,.!"
    "hi", "hi ", "Hi", "HI!", "hi,", "hi.", "hi?", "hi-there", "hiya there", "hix", "hI there",
    "hello", "hello ", "hell, no", "helloo there", "Hello!", "HELLO.", "hello\tthere",
    "hey", "hey,", "heyy", "Hey you", "hehe", "he said hi there",
    "thanks", "thanks!", "Thanks a lot", "thank you", "thanksgiving", "THANKS.", "thanks,",
    " hi there", "\nhi there", "hi\nthere", "x hi there", "hihi there", "hello hi",
    # rule 3: [0-9]{3}-[0-9]{2}-[0-9]{4} anywhere
    "123-45-6789", "ssn 123-45-6789.", "12-345-6789", "123-456-789", "123-45-678", "1234-56-78901",
    "123--45-6789", "123-45-6789-0", "a123-45-6789b", "123 45 6789", "12-45-6789", "9999-99-99999",
    "phone 555-12-34", "x-123-45-6789", "123-45-67890-12-3456",
    # rule 4: password|credit card|iban caseless
    "password", "PASSWORD", "PassWord reset", "passwor", "pass word", "my creditcard", "credit card",
    "Credit  Card", "CREDIT CARD", "credit\ncard", "iban", "IBAN", "Iban DE00", "ibaN", "i ban",
    "lesbian", "passwords", "credit cards",
    # rule 6: traceback|exception|segfault|stack trace caseless (code requests)
    "Traceback (most recent call last)", "traceback", "trace back", "EXCEPTION", "exceptional case",
    "segfault", "seg fault", "SegFault", "stack trace", "stacktrace", "Stack  trace", "STACK TRACE",
    "stack traces", "tracebacks",
    # empty message and short ones around tok < 50 (rule 18)
    "", "a", filler(196), filler(199), filler(200), filler(203),
    # tok > 1000 (rule 11) and tok > 3000 (rule 5), at the boundaries
    filler(4000), filler(4003), filler(4004), filler(4007),
    filler(12000), filler(12003), filler(12004), filler(12007),
    # several rules at once: the first in order must win
    "hi 123-45-6789", "hello password", "thanks, traceback attached", "hi " + filler(12004),
    "123-45-6789 " + filler(12004), "iban " + filler(4004),
]

# users around bucket 10 (rule 17: bucket(user) < 10)
users = {}
for i in itertools.count():
    u = "u-%d" % i
    b = djb2(u) % 100
    if b in (0, 9, 10, 99) and b not in users:
        users[b] = u
    if len(users) == 4:
        break
USERS = [users[0], users[9], users[10], users[99], "", "ü-multibyte-user"]

META = [  # tier task intent lang region stream
    ("free", "chat", "general", "en", "us", False),
    ("pro", "chat", "general", "en", "us", True),
    ("pro", "chat", "general", "en", "us", False),
    ("enterprise", "chat", "order_status", "fr", "apac", True),
    ("enterprise", "chat", "general", "en", "eu", False),
    ("pro", "code", "general", "en", "us", False),
    ("free", "code", "technical", "en", "apac", True),
    ("enterprise", "code", "general", "en", "eu", False),
    ("free", "summarize", "general", "en", "us", False),
    ("pro", "translate", "general", "ja", "us", False),
    ("free", "translate", "general", "ko", "eu", False),
    ("free", "translate", "general", "de", "eu", False),
    ("pro", "extract", "general", "en", "us", False),
    ("free", "classify", "legal", "en", "us", False),
    ("pro", "chat", "complaint", "en", "us", False),
    ("free", "chat", "complaint", "en", "us", False),
    ("free", "chat", "refund", "en", "eu", False),
    ("pro", "chat", "medical", "zh", "apac", True),
]

out = sys.stdout
n = 0
for msg in MSGS:
    for tier, task, intent, lang, region, stream in META:
        for user in (USERS if task == "chat" and intent == "general" else USERS[:1]):
            req = {"id": n, "user": user, "tier": tier, "task": task, "intent": intent, "lang": lang,
                   "region": region, "stream": stream, "max_tokens": 256, "msg": msg}
            out.write(json.dumps(req, separators=(",", ":")) + "\n")
            n += 1
