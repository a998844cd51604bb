#!/usr/bin/env python3
"""Generate a big .route policy of ~LINES lines with the same shape as the
compile anchor's Lua file (../shared/anchors/compile/gen_policy.py).

usage: gen_policy.py LINES OUTDIR  -> OUTDIR/big.route

The random draws are the anchor's, in the same order and with the same seed,
so model mN and rule i carry the same values in big.lua and big.route:

  Lua model table entry (6 lines)      -> model mN from PROV { ... } (6 lines)
  Lua rule function (9 lines)          -> "# rule i" + two 'when' rules
      if task == t and tier ~= tr then
        if #msg // 4 > k then return m1       when ... and tokens(input) > k -> m1
        if region == rg and stream then m2    when ... and meta.region == rg and stream -> m2
  Lua first-match dispatcher           -> one agent's route { ... }, otherwise -> m0

The .route form of a rule takes 3 lines where Lua takes 9, so the file is
padded with comment lines (before 'otherwise', where the Lua generator pads)
to exactly as many lines as the anchor's big.lua.  Tags map to capabilities:
every model is [text, streaming] ("fast" -> streaming)."""
import os
import random
import sys

LINES, OUT = int(sys.argv[1]), sys.argv[2]
os.makedirs(OUT, exist_ok=True)
rng = random.Random(1)
n_models = LINES // 24
n_rules = (LINES - 6 * n_models) // 10
TASKS = ["chat", "code", "summarize", "translate", "extract", "classify"]
TIERS = ["free", "pro", "enterprise"]
REG = ["us", "eu", "apac"]
PROV = ["openai", "anthropic", "google", "mistral", "bedrock", "local"]
# the anchor's big.lua (and big.c) length for this LINES
lua_lines = 16 + 6 * n_models + 10 * n_rules

# provider declarations: kind is the wire format (google, mistral and a local
# server are reached through their OpenAI-compatible APIs)
PROV_DECL = {
    "openai": ("openai", "https://api.openai.com/v1"),
    "anthropic": ("anthropic", "https://api.anthropic.com/v1"),
    "google": ("openai", "https://generativelanguage.googleapis.com/v1beta/openai"),
    "mistral": ("openai", "https://api.mistral.ai/v1"),
    "bedrock": ("bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com"),
    "local": ("openai", "http://127.0.0.1:8000/v1"),
}

out = ["# generated big policy (%d models, %d rules), same draws as the compile anchor's big.lua"
       % (n_models, n_rules), ""]
for p in PROV:
    kind, endpoint = PROV_DECL[p]
    out += ["provider %s {" % p, "  kind     %s" % kind, '  endpoint "%s"' % endpoint]
    if kind == "bedrock":
        out.append('  region   "us-east-1"')
    out += ["}", ""]

for i in range(n_models):
    p, ci, co, ctx = (rng.choice(PROV), rng.randint(1, 3000) / 100, rng.randint(1, 9000) / 100,
                      rng.choice([8192, 32768, 128000, 200000, 1000000]))
    out += ["model m%d from %s {" % (i, p), '  id           "m%d"' % i,
            "  price        in $%.2f/Mtok, out $%.2f/Mtok" % (ci, co),
            "  context      %d tokens" % ctx, "  capabilities [text, streaming]", "}"]

out += ["", "agent router {", "  route {"]
for i in range(n_rules):
    t, tr, rg, k, m1, m2 = (rng.choice(TASKS), rng.choice(TIERS), rng.choice(REG), rng.randint(10, 5000),
                            rng.randrange(n_models), rng.randrange(n_models))
    cond = 'meta.task == "%s" and meta.tier != "%s"' % (t, tr)
    out += ["    # rule %d" % i,
            "    when %s and tokens(input) > %d -> m%d" % (cond, k, m1),
            '    when %s and meta.region == "%s" and stream -> m%d' % (cond, rg, m2)]
tail = ["    otherwise -> m0", "  }", "}"]
while len(out) + len(tail) < lua_lines:
    out.append("    # pad")
out += tail
with open(os.path.join(OUT, "big.route"), "w") as f:
    f.write("\n".join(out) + "\n")
