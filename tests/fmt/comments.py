#!/usr/bin/env python3
"""Print the comments of a .route file, one a line, in order, without
their trailing blanks: what routec fmt must keep (tests/suites/fmt.sh).

A comment runs from '#' to the end of its line, outside strings and
regular expressions.  This follows the lexical rules of docs/language.md
independently of the compiler's scanner: '/' starts a regex unless the
token before it ended a value (a name, a literal, ')' or ']'; a keyword
other than true, false and the soft keywords does not).

usage: comments.py FILE"""
import re
import sys

HARD = set('''import const provider model from guardrail agent test route when otherwise
cheapest fastest cascade split hook until by where default and or not in matches price deny
redact limit with budget per expect given answers fails on'''.split())
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"?')
REGEX = re.compile(r'/(?:[^/\\\n]|\\.)*/[A-Za-z]*|/(?:[^/\\\n]|\\.)*\\?')
WORD = re.compile(r'\$?[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:/(?:Mtok|Ktok|tok))?[A-Za-z%]*'
                  r'|[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*|\$')

text = open(sys.argv[1], encoding='utf-8').read()
i, value = 0, False
while i < len(text):
    c = text[i]
    if c in ' \t\r\n':
        i += 1
    elif c == '#':
        j = text.find('\n', i)
        j = len(text) if j < 0 else j
        print(text[i:j].rstrip(' \t\r'))
        i = j
    elif c == '"':
        i, value = STRING.match(text, i).end(), True
    elif c == '/' and not value:
        i, value = REGEX.match(text, i).end(), True
    elif c in ')]':
        i, value = i + 1, True
    else:
        m = WORD.match(text, i)
        if m and m.end() > i:
            i, value = m.end(), m.group(0) not in HARD
        else:
            i, value = i + 1, False
