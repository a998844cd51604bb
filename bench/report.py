#!/usr/bin/env python3
"""usage: report.py WORKDIR RESULTS.md  (called by bench/compile.sh)

Reads the rows compile.sh measured (WORKDIR/row.NAME: "ms maxrss_kib" per
run, or a "failed: ..." line), the diagnostics summary (diags.txt) and the
machine description (meta); prints the table with ratios and PASS/MISS per
target, and replaces the compile section of RESULTS.md.  Exits 1 when a
target is missed or a row failed."""
import os
import re
import statistics
import sys

WORK, RESULTS = sys.argv[1], sys.argv[2]
BEGIN, END = "<!-- bench:compile begin -->", "<!-- bench:compile end -->"
RSS_LIMIT_MB = 300

meta, files = {}, {}
for line in open(os.path.join(WORK, "meta")):
    k, _, v = line.rstrip("\n").partition("\t")
    if k == "file":
        name, ln, by = v.split("\t")
        files[name] = (int(ln), int(by))
    else:
        meta[k] = v

diag = {}
codes = []
for line in open(os.path.join(WORK, "diags.txt")):
    parts = line.split()
    if parts[0] == "code":
        codes.append((parts[1], parts[2], int(parts[3])))
    elif parts[0] in ("errors", "warnings", "notes"):
        diag[parts[0]] = int(parts[1])


class Row:
    def __init__(self, name, label, cmd, src):
        self.name, self.label, self.cmd, self.src = name, label, cmd, src
        self.ms, self.kb, self.error = [], [], None
        path = os.path.join(WORK, "row." + name)
        for line in open(path) if os.path.exists(path) else ["failed: not run"]:
            if line.startswith("failed:"):
                self.error = line[len("failed:"):].strip()
            elif line.strip():
                ms, kb = line.split()
                self.ms.append(float(ms))
                self.kb.append(int(kb))
        if not self.ms and not self.error:
            self.error = "no runs"

    @property
    def ok(self):
        return self.error is None

    def med(self):
        return statistics.median(self.ms)

    def peak_mb(self):
        return max(self.kb) / 1024


ROWS = [
    Row("luac_p", "luac5.4 -p big.lua (anchor)", "luac5.4 -p big.lua", "big.lua"),
    Row("check", "routec check -v big.route", "routec check -v big.route >/dev/null", "big.route"),
    Row("lua_load", "lua5.4 dofile big.luac (anchor)", "lua5.4 -e \"dofile('big.luac')\"", "big.luac"),
    Row("verify", "routec verify big.rbc", "routec verify big.rbc", "big.rbc"),
    Row("build", "routec build big.route", "routec build big.route -o big.rbc", "big.route"),
    Row("verify_strip", "routec verify big-strip.rbc (built with --strip)", "routec verify big-strip.rbc",
        "big-strip.rbc"),
]
BIG = int(meta.get("lines_big", "0")) > 0
if BIG:
    ROWS += [
        Row("luac_p_big", "luac5.4 -p huge.lua (anchor)", "luac5.4 -p huge.lua", "huge.lua"),
        Row("check_big", "routec check huge.route", "routec check huge.route >/dev/null", "huge.route"),
        Row("build_big", "routec build huge.route", "routec build huge.route -o huge.rbc", "huge.route"),
    ]
R = {r.name: r for r in ROWS}

# targets: (description, value shown, PASS?)
targets = []


def ratio_target(desc, num, den, limit):
    if not (R[num].ok and R[den].ok):
        targets.append((desc, "row failed", False))
        return
    x = R[num].med() / R[den].med()
    targets.append((desc, "%.2fx (%.1f / %.1f ms)" % (x, R[num].med(), R[den].med()), x <= limit))


ratio_target("routec check median <= 2x luac5.4 -p", "check", "luac_p", 2.0)
if BIG:
    ratio_target("%d lines: routec check median <= 2x luac5.4 -p" % int(meta["lines_big"]), "check_big",
                 "luac_p_big", 2.0)
# like for like: luac keeps line information but not the source text, as
# 'routec build --strip' does; the default build also embeds the sources
ratio_target("routec verify of a --strip build median <= lua5.4 loading big.luac", "verify_strip", "lua_load", 1.0)
# the memory target is the big policy's check; the build of it is reported
for n in ("check_big",) if BIG else ("check", "build"):
    what = "routec check of %d lines" % int(meta["lines_big"]) if n == "check_big" else "routec " + n
    r = R[n]
    if r.ok:
        targets.append(("peak RSS of %s < %d MB" % (what, RSS_LIMIT_MB), "%.1f MB" % r.peak_mb(),
                        r.peak_mb() < RSS_LIMIT_MB))
    else:
        targets.append(("peak RSS of %s < %d MB" % (what, RSS_LIMIT_MB), "row failed", False))
for r in ROWS:
    if not r.ok and r.name in ("luac_p", "lua_load", "luac_p_big"):
        targets.append(("anchor %s ran" % r.label, r.error, False))

# ---------------------------------------------------------------- table (markdown, also printed)
out = []
out.append("## compile: %d-line generated policy" % int(meta["lines"]))
out.append("")
out.append("- date: %s" % meta["date"])
out.append("- machine: %s cores, %s, %s" % (meta["nproc"], meta["cpu"], meta["kernel"]))
out.append("- command: `make bench` (bench/compile.sh; RUNS=%s, wall time per run, fork+exec+wait%s)"
           % (meta["runs"], "; the %s-line rows LINES_BIG=%s RUNS_BIG=%s" % (meta["lines_big"], meta["lines_big"],
                                                                           meta["runs_big"]) if BIG else ""))
out.append("- routevm commit: %s; %s" % (meta["commit"], meta["lua"]))
out.append("- inputs: " + ", ".join("%s %d lines / %d bytes" % (f, ln, by) if f.endswith(("lua", "route"))
                                   else "%s %d bytes" % (f, by) for f, (ln, by) in files.items()))
out.append("- diagnostics on big.route (`routec check -v --format json`, once): %d errors, %d warnings, %d notes (%s)"
           % (diag.get("errors", 0), diag.get("warnings", 0), diag.get("notes", 0),
              ", ".join("%d %s" % (n, code) for _, code, n in codes)))
out.append("")
out.append("| command | runs | min ms | median ms | max ms | peak RSS MB | ratio |")
out.append("|---|---|---|---|---|---|---|")
ratio_of = {"check": "luac_p", "verify": "lua_load", "build": "luac_p", "verify_strip": "lua_load",
            "check_big": "luac_p_big", "build_big": "luac_p_big"}
for r in ROWS:
    if not r.ok and not r.ms:
        out.append("| `%s` | – | – | – | – | – | failed: %s |" % (r.cmd, r.error))
        continue
    ratio = ""
    den = R.get(ratio_of.get(r.name, ""))
    if den is not None and den.ok and den.ms:
        ratio = "%.2fx %s" % (r.med() / den.med(), den.name.replace("luac_p_big", "luac -p").replace("luac_p", "luac -p")
                              .replace("lua_load", "lua load"))
    if not r.ok:
        ratio += " (failed: %s)" % r.error
    out.append("| `%s` | %d | %.1f | %.1f | %.1f | %.1f | %s |"
               % (r.cmd, len(r.ms), min(r.ms), r.med(), max(r.ms), r.peak_mb(), ratio))
out.append("")
out.append("big.rbc: %d bytes; `routec verify`: %s"
           % (files.get("big.rbc", (0, 0))[1], meta.get("verify_out", "").replace(WORK.rstrip("/") + "/", "")))
out.append("")
out.append("| target | measured | result |")
out.append("|---|---|---|")
for desc, val, ok in targets:
    out.append("| %s | %s | %s |" % (desc, val, "PASS" if ok else "MISS"))
npass = sum(ok for _, _, ok in targets)
out.append("")
out.append("%d of %d targets met." % (npass, len(targets)))
section = "\n".join(out) + "\n"
print()
print(section)

# ---------------------------------------------------------------- RESULTS.md
text = open(RESULTS).read() if os.path.exists(RESULTS) else (
    "# Benchmark results\n\nWritten by `make bench` (bench/run.sh); each section is replaced by the "
    "next run of its benchmark.\n\n")
block = BEGIN + "\n" + section + END + "\n"
if BEGIN in text and END in text:
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", lambda m: block, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + block
with open(RESULTS, "w") as f:
    f.write(text)
print("compile: results in %s" % RESULTS)
sys.exit(0 if npass == len(targets) else 1)
