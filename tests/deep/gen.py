#!/usr/bin/env python3
"""Generates the deep and long inputs of tests/suites/deep.sh into DIR.

usage: gen.py DIR

Each NAME.route is one case; NAME tells what it stresses.  Inputs past
the compiler's limits (AST_MAX_DEPTH = 1000 levels of nesting,
TYP_MAX_DEPTH = 2000 levels of typing through constants, AST_MAX_IMPORTS
= 128 nested imports) must end in one 'too-deep' error; inputs at the
limits and long chains of agents must compile, build and decide."""
import os
import sys

LIMIT = 1000
out = sys.argv[1]
BASE = '''provider p { kind openai  endpoint "https://api.example.com/v1"  key env("EXAMPLE_KEY") }
model small from p { id "small"  price in $0.10/Mtok, out $0.40/Mtok  context 16k tokens  output 2k tokens  tier 1 }
model mid from p { id "mid"  price in $1/Mtok, out $4/Mtok  context 128k tokens  output 4k tokens  tier 2 }
model big from p { id "big"  price in $3/Mtok, out $15/Mtok  context 200k tokens  output 8k tokens  tier 3 }
'''


def write(name, body):
    with open(os.path.join(out, name + ".route"), "w") as f:
        f.write(BASE + body)


def rule(cond):
    return "agent a { route { when %s -> small  otherwise -> mid } }\n" % cond


def nested_routes(levels, leaf):
    return ("agent a { route -> " + "route { otherwise -> " * (levels - 1) + leaf +
            " }" * (levels - 1) + " }\n")


# past the limits: one too-deep error each
N = 100000
write("over_and", rule(" and ".join('meta.k%d == "v"' % (i % 50) for i in range(N))))
write("over_or", rule(" or ".join("stream" for _ in range(N))))
write("over_add", rule("images > " + " + ".join("1" for _ in range(N))))
write("over_sub", rule("images > " + " - ".join("1" for _ in range(N))))
write("over_not", rule("not " * N + "stream"))
write("over_neg", rule("images > " + "-" * N + "1"))
write("over_paren", rule("(" * N + "stream" + ")" * N))
write("over_list", rule("meta.x in " + "[" * N + '"a"' + "]" * N))
write("over_member", rule("meta" + ".k" * N + ' == "v"'))
write("over_call", rule("len(" * N + "input" + ")" * N + " > 0"))
write("over_routes", nested_routes(20000, "small"))
write("over_split", "agent a { route -> " + "split 100% -> " * 20000 + "small" + " by user" * 20000 + " }\n")
write("over_hook", "agent a { route -> " + 'hook "https://h.example" timeout 1s default ' * 20000 + "small }\n")
write("over_consts", "".join("const c%d = c%d + 1\n" % (i, i - 1) for i in range(50000, 0, -1)) +
      "const c0 = 1\n" + rule("images > c50000"))
os.makedirs(os.path.join(out, "imp"), exist_ok=True)
for i in range(200):
    with open(os.path.join(out, "imp", "f%d.route" % i), "w") as f:
        f.write('import "f%d"\n' % (i + 1) if i < 199 else "const deepest = 1\n")
write("over_imports", 'import "imp/f0"\nagent a { route -> small }\n')
# at the limits: these compile
write("at_and", rule(" and ".join("stream" for _ in range(LIMIT))))
write("at_not", rule("not " * LIMIT + "stream"))
write("at_paren", rule("(" * (LIMIT - 1) + "stream" + ")" * (LIMIT - 1)))
write("at_routes", nested_routes(LIMIT, "route { when " + " or ".join("stream" for _ in range(LIMIT)) +
                                 " -> small  otherwise -> big }"))
write("at_where", "agent a { route -> cheapest [small, mid] where " +
      " and ".join("tier >= 1" for _ in range(LIMIT // 2)) + "  fallback big }\n" +
      "const k = " + " + ".join("1" for _ in range(LIMIT)) + "\n" +
      "agent b { route { when images > " + " + ".join("k" for _ in range(LIMIT)) +
      " -> small  otherwise -> mid } }\n" +
      'test "deep expectation" { request b { user "x" }  expect ' +
      " or ".join("model == small" for _ in range(LIMIT // 2)) + " or model == mid }\n")
write("at_consts", "".join("const c%d = c%d + 1\n" % (i, i - 1) for i in range(900, 0, -1)) +
      "const c0 = 1\n" + rule("images > c900"))
# long, not deep: chains of agents are searched without recursion; past
# RV_MAX_CHAIN (64) agents on a path they are an error, up to it they decide
M = 50000
write("chain_64", "".join("agent a%d { route -> mid  fallback a%d }\n" % (i, i + 1) for i in range(62)) +
      "agent a62 { route -> a63 }\nagent a63 { route -> small }\n")
write("long_delegation", "".join("agent a%d { route -> a%d }\n" % (i, i + 1) for i in range(M)) +
      "agent a%d { route -> small }\n" % M)
write("long_fallback", "".join("agent a%d { route -> mid  fallback a%d }\n" % (i, i + 1) for i in range(M)) +
      "agent a%d { route -> small }\n" % M)
write("long_cycle", "".join("agent a%d { route -> a%d }\n" % (i, i + 1) for i in range(M)) +
      "agent a%d { route -> a0 }\n" % M)
