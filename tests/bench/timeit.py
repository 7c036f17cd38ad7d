#!/usr/bin/env python3
"""Time whole processes, side by side.

    timeit.py [-r REPEATS] [-w WARMUP] NAME=COMMAND [NAME=COMMAND...]

Runs the commands round-robin (A B A B ...), so that a change in the
machine's load during the run weighs on all of them alike, and prints
one line per command, in the key=value form of bench_sync:

    proc name=apply n=10 median_ms=812.1 p99_ms=840.0 min_ms=... max_ms=...
        cpu_user_ms=... cpu_sys_ms=... peak_rss_kb=...

COMMAND is split with shlex and run without a shell; its output goes to
/dev/null.  A command that fails stops the measurement (exit 1).
cpu_user_ms and cpu_sys_ms are medians of the CPU time of the runs;
peak_rss_kb is the largest ru_maxrss of its runs.
"""

import argparse
import os
import shlex
import subprocess
import sys
import time


def percentile(v, pct):
    v = sorted(v)
    rank = max(1, min(len(v), int(pct / 100.0 * len(v) + 0.999999)))
    return v[rank - 1]


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def run(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    ms = (time.perf_counter() - t0) * 1e3
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    return ms, ru, p.returncode, err


def main():
    ap = argparse.ArgumentParser(description="time processes side by side")
    ap.add_argument("-r", "--repeats", type=int, default=10)
    ap.add_argument("-w", "--warmup", type=int, default=1)
    ap.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    a = ap.parse_args()
    cmds = []
    for c in a.commands:
        name, sep, cmd = c.partition("=")
        if not sep or not name:
            ap.error("expected NAME=COMMAND: %r" % c)
        cmds.append((name, shlex.split(cmd)))
    times = {n: [] for n, _ in cmds}
    cpu = {n: ([], []) for n, _ in cmds}
    rss = {n: 0 for n, _ in cmds}
    for i in range(a.warmup + a.repeats):
        for name, argv in cmds:
            ms, ru, rc, err = run(argv)
            # kube-nftctl exits 3 when objects were skipped: still a run.
            if rc not in (0, 3):
                sys.stderr.write("timeit.py: %s exited %d\n%s" % (name, rc, err))
                sys.exit(1)
            if i >= a.warmup:
                times[name].append(ms)
                cpu[name][0].append(ru.ru_utime * 1e3)
                cpu[name][1].append(ru.ru_stime * 1e3)
                rss[name] = max(rss[name], ru.ru_maxrss)
    for name, _ in cmds:
        v = times[name]
        print("proc name=%s n=%d median_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f "
              "cpu_user_ms=%.3f cpu_sys_ms=%.3f peak_rss_kb=%d" % (
                  name, len(v), median(v), percentile(v, 99), min(v), max(v),
                  median(cpu[name][0]), median(cpu[name][1]), rss[name]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
