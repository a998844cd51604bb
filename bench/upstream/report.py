#!/usr/bin/env python3
"""Writes the upstream section of bench/RESULTS.md from bench/upstream.sh's raw figures.

usage: report.py COUNTS TIMES RESULTS COMMIT VERSIONS "CG_N ST_N1 ST_N2 WALL_N REPEAT WARM" LOAD0 LOAD1 CANDS

COUNTS: one line per candidate: name, callgrind file at 1 and at CG_N + 1
measured requests, CG_N, strace -c file at ST_N1 and ST_N2, their
difference (empty when nothing was counted).  TIMES: the client's lines
"NAME n=N wall_ns=W cpu_ns=C", REPEAT of them per candidate.
"""
import datetime
import os
import platform
import re
import statistics
import sys

ALLOC = ("malloc", "calloc", "realloc")

WHAT = {
    "curl-easy": "libcurl easy handle reused, curl_easy_perform; blocking, one call per thread",
    "curl-multi-url": "libcurl multi on libevent, handle reset and options set per request, URL as a string "
                      "(routevm's way, without its engine)",
    "curl-multi-curlu": "the same, URL parsed once (CURLOPT_CURLU)",
    "curl-multi-keep": "the same, options set once and the URL parsed once: only add/remove per request (libcurl's floor)",
    "routevm": "routevm's engine: vm/providers/httpc.c on vm/serve/curlev.c, with deadlines, "
               "its own HTTP/1.1 transport (vm/providers/h1.c)",
    "routevm-curl": "routevm's engine held to libcurl (ROUTEVM_HTTP_CLIENT=curl)",
    "evhttp": "libevent's HTTP client: evhttp_connection_base_new, evhttp_make_request",
    "bev": "bufferevent + http_parser, written when the loop finds the socket writable",
    "bev-now": "bufferevent + http_parser, written at once (as routevm's server writes)",
    "curl-multi-url+tls": "curl-multi-url over TLS (OpenSSL)",
    "curl-multi-keep+tls": "curl-multi-keep over TLS (OpenSSL)",
    "curl-easy+tls": "curl-easy over TLS (OpenSSL)",
    "curl-multi-curlu+tls": "curl-multi-curlu over TLS (OpenSSL)",
    "bev+tls": "bev over TLS: bufferevent_openssl + http_parser",
    "routevm+tls": "routevm's engine over TLS: its own transport with OpenSSL (vm/providers/tls.c)",
    "routevm-curl+tls": "routevm's engine over TLS held to libcurl (ROUTEVM_HTTP_CLIENT=curl)",
}


def callgrind(path):
    """Collected instructions and the call counts of the allocation functions."""
    names, calls, total, callee = {}, dict.fromkeys(ALLOC, 0), 0, None
    for line in open(path):
        m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
        if m:
            kind, ident, name = m.groups()
            if name:
                names[ident] = name.strip()
            if kind == "cfn":
                callee = names.get(ident)
            continue
        if line.startswith("calls=") and callee in calls:
            calls[callee] += int(line.split()[0][6:])
        elif line.startswith("summary:"):
            total = int(line.split()[1])
    return total, calls


def strace(path):
    """System call counts by name from strace -c."""
    out = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and re.match(r"^[0-9.]+$", f[0]) and f[-1] != "total":
            out[f[-1]] = int(f[3])
    return out


def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main():
    counts_path, times_path, results, commit, versions, params, load0, load1, cands = sys.argv[1:10]
    cg_n, st_n1, st_n2, wall_n, repeat, warm = params.split()
    order = cands.split()
    counts = {}
    for line in open(counts_path):
        name, cg1, cg2, n, st1, st2, dn = line.rstrip("\n").split("\t")
        i1, a1 = callgrind(cg1)
        i2, a2 = callgrind(cg2)
        s1, s2 = strace(st1), strace(st2)
        n, dn = int(n), int(dn)
        sys_by = {k: (s2.get(k, 0) - s1.get(k, 0)) / dn for k in set(s1) | set(s2)}
        counts[name] = {
            "ins": (i2 - i1) / n,
            "alloc": sum(a2[k] - a1[k] for k in ALLOC) / n,
            "sys": sum(s2.values()) / dn - sum(s1.values()) / dn,
            "sys_by": {k: v for k, v in sys_by.items() if v >= 0.05},
        }
    times = {}
    for line in open(times_path):
        name, rest = line.split(" ", 1)
        kv = dict(t.split("=", 1) for t in rest.split())
        times.setdefault(name, []).append((float(kv["wall_ns"]), float(kv["cpu_ns"])))

    def us(x):
        return "%.1f" % (x / 1000)

    base = counts.get("curl-multi-url")
    out = ["## upstream: HTTP client candidates for the gateway's upstream calls", ""]
    out.append("- date: %s; routevm commit %s" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), commit))
    out.append("- machine: %d cores, %s, Linux %s; load average (1, 5, 15 min) %s before the timed rounds, %s after"
               % (os.cpu_count(), cpu(), platform.release(), load0, load1))
    out.append("- versions: %s" % versions)
    out.append("- command: `sh bench/upstream.sh` (CG_N=%s ST_N1=%s ST_N2=%s WALL_N=%s REPEAT=%s WARM=%s).  Each "
               "client (bench/upstream/) sends bench/gateway/body.json with Host, Authorization, Content-Type, "
               "Accept and Content-Length, as routevm sends an OpenAI-compatible provider, one request at a time "
               "on one kept-alive connection to nginx's fixed answer (bench/gateway/nginx-mock.conf.in), reads "
               "the whole answer and checks its status and bytes every time; NAME+tls: the same over TLS to the "
               "same nginx (a self-signed P-256 certificate made for the run and verified; OpenSSL's defaults "
               "on both sides; the handshake is in the warm-up).  Client process only; start-up and "
               "%s warm-up requests excluded." % (cg_n, st_n1, st_n2, wall_n, repeat, warm, warm))
    out.append("- instructions: `valgrind --tool=callgrind --toggle-collect=up_measured`, (run at %d requests - "
               "run at 1) / %s; allocations: calls to malloc, calloc and realloc in the same two runs (callgrind's "
               "call counts); system calls: `strace -f -c`, (run at %s - run at %s) / %d; wall and CPU: measured "
               "in the client (clock_gettime, getrusage) over %s requests, %s rounds with the candidates "
               "interleaved, medians (the wall time includes nginx's answer, on the other core)."
               % (int(cg_n) + 1, cg_n, st_n2, st_n1, int(st_n2) - int(st_n1), wall_n, repeat))
    out.append("")
    out.append("| candidate | what | instructions/request | vs curl-multi-url | allocations/request | "
               "system calls/request | CPU us/request (median) | wall us/request (median) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name in order:
        c = counts.get(name)
        t = times.get(name, [])
        cpu_med = statistics.median(x[1] for x in t) if t else None
        wall_med = statistics.median(x[0] for x in t) if t else None
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, WHAT.get(name, ""),
            "{:,.0f}".format(c["ins"]) if c else "n/a",
            "%.2fx" % (c["ins"] / base["ins"]) if c and base else "",
            "%.1f" % c["alloc"] if c else "n/a",
            "%.1f" % c["sys"] if c else "n/a",
            us(cpu_med) if t else "n/a", us(wall_med) if t else "n/a"))
    out.append("")
    if counts:
        out.append("System calls per request by name (strace -f -c, as above):")
        out.append("")
        out.append("| candidate | calls |")
        out.append("|---|---|")
        for name in order:
            if name in counts:
                by = sorted(counts[name]["sys_by"].items(), key=lambda kv: (-kv[1], kv[0]))
                out.append("| %s | %s |" % (name, ", ".join("%s %.2f" % kv for kv in by)))
        out.append("")
    section = "<!-- bench:upstream begin -->\n" + "\n".join(out) + "<!-- bench:upstream notes -->\n"
    text = open(results).read() if os.path.exists(results) else "# Benchmark results\n\n"
    pat = re.compile(r"<!-- bench:upstream begin -->.*?<!-- bench:upstream notes -->\n", re.S)
    if pat.search(text):
        text = pat.sub(lambda m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "<!-- bench:upstream end -->\n"
    open(results, "w").write(text)
    print("\n".join(out))


main()
