#!/usr/bin/env python3
"""Turn the measurements of scripts/bench into one table.

    report.py [--doc docs/performance.md] DIR

DIR holds what scripts/bench collected, key=value lines as bench_sync and
timeit.py print them:

    sync-10k.txt   bench_sync on the 10k-pod cluster, with nft -f and the events
    sync-1k.txt    bench_sync on the 1k-pod cluster
    sync-50k.txt   bench_sync on the 50k-pod cluster
    proc.txt       timeit.py: kube-nftctl apply as a whole process
    daemon.txt     "daemon peak_kb=... rss_kb=... first_commit_ms=..." lines
    machine.txt    "key=value" lines: nft, date, repeats

Prints the table (Markdown, padded for a terminal) and, with --doc,
replaces the part of that file between the markers

    <!-- bench:begin -->  and  <!-- bench:end -->

with the machine and the table, leaving the rest of the page alone.
"""

import argparse
import math
import os
import platform
import re
import shlex
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

EVENTS = ["pod-add", "pod-add-remote", "pod-delete", "label-change", "policy-add",
          "policy-edit"]


def parse(path):
    """Lines of 'tag k=v k=v' -> list of (tag, dict)."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            words = shlex.split(line.strip())
            if not words or "=" in words[0]:
                continue
            d = {}
            for w in words[1:]:
                k, sep, v = w.partition("=")
                if sep:
                    d[k] = v
            out.append((words[0], d))
    return out


def first(rows, tag, **match):
    for t, d in rows:
        if t == tag and all(d.get(k) == v for k, v in match.items()):
            return d
    return None


def f(d, k):
    try:
        return float(d[k])
    except (TypeError, KeyError, ValueError):
        return None


def ms(v):
    if v is None:
        return "-"
    if v < 10:
        return "%.2f ms" % v
    return "%.1f ms" % v if v < 100 else "%.0f ms" % v


def mb(kb):
    return "-" if kb is None else "%.1f MB" % (kb / 1024.0)


def size(b):
    b = int(b)
    if b < 10 * 1024:
        return "%d B" % b
    if b < 10 * 1024 * 1024:
        return "%.0f KiB" % (b / 1024.0)
    return "%.1f MiB" % (b / 1048576.0)


def verdict(ok):
    return "-" if ok is None else ("meets" if ok else "**misses**")


def machine(dirpath):
    info = {}
    m = {}
    p = os.path.join(dirpath, "machine.txt")
    if os.path.exists(p):
        for line in open(p):
            k, sep, v = line.strip().partition("=")
            if sep:
                m[k] = v
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576.0)
    except OSError:
        pass
    info.update(m)
    info["cpus"] = str(os.cpu_count())
    info["cpu"] = cpu
    info["mem"] = mem
    info["kernel"] = platform.release()
    return info


def build(dirpath):
    rows = []  # (metric, median, p99, target, verdict)
    s10 = parse(os.path.join(dirpath, "sync-10k.txt"))
    s1 = parse(os.path.join(dirpath, "sync-1k.txt"))
    s50 = parse(os.path.join(dirpath, "sync-50k.txt"))
    proc = parse(os.path.join(dirpath, "proc.txt"))
    dmn = parse(os.path.join(dirpath, "daemon.txt"))

    full = first(s10, "full_sync")
    prog = first(s10, "program") or {}
    if full:
        rows.append(("Full sync, 10k pods: parsed state to acknowledged commit",
                     ms(f(full, "median_ms")), ms(f(full, "p99_ms")), "<= 100 ms",
                     verdict(f(full, "median_ms") <= 100)))
        c, n = first(s10, "compile"), first(s10, "netlink")
        rows.append(("- of which kn_compile", ms(f(c, "median_ms")), ms(f(c, "p99_ms")), "", ""))
        rows.append(("- of which kn_nl_apply (%s messages, %s)" % (
            full.get("messages", "?"), size(full.get("bytes", 0))),
            ms(f(n, "median_ms")), ms(f(n, "p99_ms")), "", ""))

    apply_ = first(proc, "proc", name="apply")
    nft = first(s10, "nft")
    if apply_:
        rows.append(("`kube-nftctl apply`, 10k pods, whole process (parsing included)",
                     ms(f(apply_, "median_ms")), ms(f(apply_, "p99_ms")), "<= 500 ms",
                     verdict(f(apply_, "median_ms") <= 500)))
    if nft:
        rows.append(("`nft -f` of the same ruleset (`kube-nftctl compile` output), "
                     "whole process, alternating with our syncs",
                     ms(f(nft, "median_ms")), ms(f(nft, "p99_ms")), "", ""))
    if nft and full:
        n = first(s10, "netlink")
        r = f(nft, "median_ms") / f(n, "median_ms")
        rows.append(("`nft -f` / our netlink path (kn_nl_apply), same ruleset",
                     "%.1fx" % r, "", ">= 5x", verdict(r >= 5)))
        r2 = f(nft, "median_ms") / f(full, "median_ms")
        rows.append(("`nft -f` / full sync (compile included)", "%.1fx" % r2, "", "", ""))
        ours = (f(full, "cpu_user_ms") or 0) + (f(full, "cpu_sys_ms") or 0)
        theirs = (f(nft, "cpu_user_ms") or 0) + (f(nft, "cpu_sys_ms") or 0)
        if ours and theirs:
            rows.append(("CPU time per load: `nft -f` %s (%s in the kernel) / full sync %s "
                         "(%s in the kernel)" % (
                             ms(theirs), ms(f(nft, "cpu_sys_ms")), ms(ours),
                             ms(f(full, "cpu_sys_ms"))), "%.1fx" % (theirs / ours), "", "",
                         ""))

    full_bytes = int(full.get("bytes", 0)) if full else 0
    for ev in EVENTS:
        d = first(s10, "event", name=ev)
        if not d:
            continue
        planned = d.get("mode") == "plan"
        name = "Event %s: compile + plan + commit (%s msgs, %s)" % (
            ev, d.get("messages"), size(d.get("bytes", 0)))
        if not planned:
            rows.append((name + ", full replacement: no planner", ms(f(d, "median_ms")),
                         ms(f(d, "p99_ms")), "<= 1 ms, p99 <= 5 ms", "n/a"))
            continue
        ok = f(d, "median_ms") <= 1 and f(d, "p99_ms") <= 5
        rows.append((name, ms(f(d, "median_ms")), ms(f(d, "p99_ms")),
                     "<= 1 ms, p99 <= 5 ms", verdict(ok)))
    evs = [first(s10, "event", name=e) for e in EVENTS]
    evs = [e for e in evs if e]
    if evs:
        comp = sorted(f(e, "compile_median_ms") for e in evs)
        rows.append(("- of which kn_compile (all events)", "%s-%s" % (
            ms(comp[0]).replace(" ms", ""), ms(comp[-1])), "", "", ""))
        plan = sorted(f(e, "plan_median_ms") for e in evs if e.get("plan_median_ms"))
        if plan:
            # The daemon plans from the incremental compiler's delta
            # (kn_plan_delta): microseconds.
            rows.append(("- of which kn_plan_delta (all events)", "%.1f-%.1f us" % (
                plan[0] * 1000.0, plan[-1] * 1000.0), "", "", ""))
        if full_bytes and all(e.get("mode") == "plan" for e in evs):
            big = max(int(e.get("bytes", 0)) for e in evs)
            rows.append(("Largest event batch / full-sync batch",
                         "%.1f%%" % (100.0 * big / full_bytes), "", "small",
                         verdict(big * 20 < full_bytes)))

    peaks = sorted(f(d, "peak_kb") for t, d in dmn if t == "daemon" and f(d, "peak_kb"))
    if peaks:
        med = peaks[len(peaks) // 2]
        rows.append(("Peak RSS of kube-nftd at 10k pods (VmHWM at first commit)", mb(med),
                     "", "<= 40 MB", verdict(med <= 40 * 1024)))
        rss = sorted(f(d, "rss_kb") for t, d in dmn if t == "daemon" and f(d, "rss_kb"))
        if rss:
            rows.append(("- RSS after the first commit (VmRSS)", mb(rss[len(rss) // 2]), "",
                         "", ""))
        fc = sorted(f(d, "first_commit_ms") for t, d in dmn if t == "daemon" and
                    f(d, "first_commit_ms"))
        if fc:
            rows.append(("- kube-nftd start to first commit", ms(fc[len(fc) // 2]), "", "",
                         ""))

    # The node's program, not the cluster, is the work: its size follows
    # the policies that select local pods and how many pods their peers
    # select, so the cost is compared with the elements programmed.
    scale = []
    for label, rs in (("1k", s1), ("10k", s10), ("50k", s50)):
        d, p = first(rs, "full_sync"), first(rs, "program")
        if d and p:
            scale.append((label, f(d, "median_ms"), int(p.get("elements", 0))))
            rows.append(("Scaling: full sync, %s pods (%s policies compiled, %s elements)" % (
                label, p.get("policies"), p.get("elements")),
                ms(f(d, "median_ms")), ms(f(d, "p99_ms")), "linear", ""))
    if len(scale) >= 2:
        per = ["%.1f" % (t / (e / 1000.0)) for _, t, e in scale]
        rows.append(("Scaling: ms per 1,000 elements, %s pods" % " / ".join(
            l for l, _, _ in scale), " / ".join(per), "", "", ""))
        (l0, t0, e0), (l1, t1, e1) = scale[0], scale[-1]
        k = math.log(t1 / t0) / math.log(e1 / e0)
        rows.append(("Scaling: growth exponent of the sync time in the elements, %s to %s "
                     "(1 = linear)" % (l0, l1), "%.2f" % k, "", "<= 1.15", verdict(k <= 1.15)))
    return rows, prog


def table(rows):
    head = ("Metric", "Median", "p99", "Target", "Verdict")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    out = []

    def line(r):
        return "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"

    out.append(line(head))
    out.append("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        out.append(line(r))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--doc", help="Markdown file whose bench section to replace")
    ap.add_argument("dir")
    a = ap.parse_args()
    rows, prog = build(a.dir)
    if not rows:
        sys.exit("report.py: no measurements in %s" % a.dir)
    m = machine(a.dir)
    t = table(rows)
    desc = ("Measured %s on %s CPUs (%s), %s RAM, Linux %s, %s; optimized build "
            "(-O2); load average %s at the start, %s at the end.  Medians of repeated runs (%s); p99 is the nearest-rank 99th "
            "percentile of the same runs.  The 10k-pod cluster: %s.  Node under "
            "test: %s local pods, %s policies compiled, %s sets, %s chains, %s rules, "
            "%s elements." % (
                m.get("date", "?"), m["cpus"], m["cpu"], m["mem"], m["kernel"],
                m.get("nft", "nft ?"), m.get("load_start", "?"), m.get("load_end", "?"),
                m.get("repeats", "?"), m.get("cluster", "?"),
                prog.get("local_pods", "?"), prog.get("policies", "?"), prog.get("sets", "?"),
                prog.get("chains", "?"), prog.get("rules", "?"), prog.get("elements", "?")))
    print(t)
    if a.doc:
        body = "%s\n\n%s\n\n%s\n" % (BEGIN, desc, t) + END
        text = open(a.doc).read() if os.path.exists(a.doc) else ""
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: body, text,
                          flags=re.S)
        else:
            text = "# Performance\n\n" + body + "\n" + text
        tmp = a.doc + ".tmp"
        with open(tmp, "w") as fo:
            fo.write(text)
        os.replace(tmp, a.doc)


if __name__ == "__main__":
    main()
