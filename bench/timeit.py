#!/usr/bin/env python3
"""usage: timeit.py RUNS [--ok CODES] [--timeout S] [--budget S] CMD [ARGS...]

Runs CMD RUNS times, stdout and stderr to /dev/null, and prints one line
per run: wall milliseconds (fork+exec+wait, as the anchors' timeit.py
measures) and the peak resident set size of that run in KiB (ru_maxrss of
the child, from wait4).  CODES (default 0) are the exit statuses that count
as success, comma-separated; any other status, or a run longer than S
seconds (default 120), prints the reason on stderr and exits 1.  Once the
runs so far add up to more than the budget (default 60 s), no further run is
started, so a slow command costs about one budget, not RUNS x its time."""
import os
import subprocess
import sys
import threading
import time


def main():
    args = sys.argv[1:]
    runs, ok, timeout, budget = int(args.pop(0)), {0}, 120.0, 60.0
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--ok":
            ok = {int(x) for x in args.pop(0).split(",")}
        elif opt == "--timeout":
            timeout = float(args.pop(0))
        elif opt == "--budget":
            budget = float(args.pop(0))
        else:
            sys.exit("timeit.py: unknown option " + opt)
    spent = 0.0
    for _ in range(runs):
        if spent > budget * 1000:
            print("timeit.py: %s: over the %g s budget, stopping early" % (args[0], budget), file=sys.stderr)
            break
        t = time.perf_counter()
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        _, status, ru = os.wait4(p.pid, 0)
        ms = (time.perf_counter() - t) * 1000
        killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        if ms > timeout * 1000:
            print("timeit.py: %s: still running after %.0f s, killed" % (args[0], timeout), file=sys.stderr)
            sys.exit(1)
        code = p.returncode
        if code not in ok:
            print("timeit.py: %s exited with status %d" % (" ".join(args), code), file=sys.stderr)
            sys.exit(1)
        spent += ms
        print("%.2f %d" % (ms, ru.ru_maxrss))
        sys.stdout.flush()


main()
