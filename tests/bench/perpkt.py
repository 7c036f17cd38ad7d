#!/usr/bin/env python3
"""Helpers of tests/bench/perpkt.sh: the per-packet cost of issue 3, new
TCP connections per second between two pods through a node with 0 and
with 2,000 policies.

    perpkt.py cluster [--seed N] [--policies N] [--local N] DIR
        Writes DIR/cluster.json (namespaces and pods, no policy) and
        DIR/policies.json (N policies, default 2,000) for node "node1" of
        tests/netns/lib.sh.  The pods of the namespace tests' topology
        (bench/client, bench/server, bench/denied, written by kn_state)
        come on top.  The node runs --local more pods (default 200,
        addresses only: they carry no traffic) in 40 namespaces, five
        deployments each with one replica on node1 and two on other
        nodes; N - 1 policies in the style of gen.py (default deny,
        DNS, same app, tier to tier over named ports, namespace and team
        selectors, ipBlock with except, endPort ranges, SCTP) select
        them, and one, bench/crr, selects the client and the server:
        ingress of the server from the client, egress of the client to
        the server, TCP and UDP port 80.  Every policy selects a pod of
        node1, so kube-nftd compiles all N of them there.

    perpkt.py serve [--procs N] [--ready FILE] [--stats FILE] PORT
        The server of the load: N processes accept on one socket; each
        connection gets a request of REQ bytes read, a response of RESP
        bytes written, then the client's close is awaited and the socket
        closed (netperf's TCP_CRR).  The ready file is written once the
        socket listens; on SIGTERM the workers stop and the CPU time they
        used goes to the stats file ("server cpu_user_ms=.. cpu_sys_ms=..").

    perpkt.py load [--procs N] [--warmup S] [--duration S] ADDRESS PORT
        N processes open connections one after the other (connect, send
        the request, read the response, close) for WARMUP + DURATION
        seconds; the connections completed in the last DURATION seconds
        are counted.  Prints "load conns=.. errors=.. seconds=.. total=..
        cpu_user_ms=.. cpu_sys_ms=.." (CPU of the workers, whole run).

    perpkt.py ruleset [--server ADDRESS]
        Reads `nft -j list ruleset` on stdin and prints what the table
        holds: "ruleset tables=.. policies=.. chains=.. sets=.. rules=..
        elements=.. isolated_v4=.. server_chain=.. server_policies=..":
        policies counts the distinct NAMESPACE/POLICY of the np/ chains,
        server_chain is where ingress-v4 sends ADDRESS and
        server_policies how many policy chains that chain jumps to.

    perpkt.py report [--doc docs/performance.md] DIR
        Turns DIR/perpkt.txt (the lines perpkt.sh collected) into table
        rows with the columns of scripts/bench, and with --doc replaces
        the part of that file between

          <!-- perpkt-bench:begin -->  and  <!-- perpkt-bench:end -->
"""

import argparse
import json
import os
import resource
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the policy kinds and pod objects of the 10k cluster)
import report as bench_report  # noqa: E402  (the table of scripts/bench)

BEGIN = "<!-- perpkt-bench:begin -->"
END = "<!-- perpkt-bench:end -->"

NODE = "node1"
REQ = 64   # request and response sizes: one segment each way, like an
RESP = 128  # RPC health check or a small HTTP exchange
TARGET = 0.10  # issue 3: "within 10% of each other"


# ------------------------------------------------------------------ cluster

def cluster(a):
    """The node's cluster: see the module's docstring."""
    g = gen.Gen(argparse.Namespace(seed=a.seed))
    rng = g.rng
    nns = max(1, a.local // 5)
    items = []

    def namespace(name, labels):
        labels = dict(labels, **{"kubernetes.io/metadata.name": name})
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": name, "labels": labels,
                                   "uid": g.uid(), "resourceVersion": g.resver()},
                      "status": {"phase": "Active"}})

    def pod(ns, name, labels, node, v4, v6, ports, image, sa):
        p = g.pod_obj(ns, name, labels, 0, 0, ports, image,
                      ("ReplicaSet", name.rsplit("-", 1)[0], g.uid()), sa=sa)
        # gen.py numbers its nodes node-K with its own addresses; this
        # cluster lives on lib.sh's node1 and its 10.244.N.0/24.
        p["spec"]["nodeName"] = node
        p["status"]["podIP"] = v4
        p["status"]["podIPs"] = [{"ip": v4}, {"ip": v6}]
        host = int(node[4:])
        p["status"]["hostIP"] = "192.168.100.%d" % host
        p["status"]["hostIPs"] = [{"ip": "192.168.100.%d" % host}]
        items.append(p)

    # Remote hosts: nodes 2-9, 250 pods each at most.
    remote = [0]

    def remote_addr():
        k = remote[0]
        remote[0] += 1
        n, h = 2 + k // 250, 2 + k % 250
        return "node%d" % n, "10.244.%d.%d" % (n, h), "fd00:10:244:%x::%x" % (n, h)

    for name, team in (("kube-system", "platform"), ("monitoring", "platform"),
                       ("ingress-nginx", "platform")):
        namespace(name, {"team": team, "env": "prod"})
    system = [
        ("kube-system", "coredns", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
         {"k8s-app": "kube-dns"}),
        ("monitoring", "prometheus", [("web", 9090, "TCP")],
         {"app.kubernetes.io/name": "prometheus"}),
        ("ingress-nginx", "ingress-nginx-controller", [("http", 80, "TCP")],
         {"app.kubernetes.io/name": "ingress-nginx"}),
    ]
    for ns, app, ports, extra in system:
        for r in range(2):
            node, v4, v6 = remote_addr()
            pod(ns, "%s-%s" % (app, g.suffix(5)), dict(extra, app=app), node, v4, v6,
                ports, "registry.example.com/%s:1" % app, app)

    # User namespaces, five deployments each: one replica on node1, two
    # elsewhere, so that peer sets hold pods of other nodes too.
    apps_by_ns = {}
    local = 0
    for i in range(nns):
        team = gen.TEAMS[i % len(gen.TEAMS)]
        env = rng.choices(gen.ENVS, gen.ENV_WEIGHTS)[0]
        ns = "%s-%s-%03d" % (team, env, i)
        namespace(ns, {"team": team, "env": env})
        for j in range(5):
            if local == a.local:
                break
            fl = rng.choices(range(len(gen.FLAVOURS)), gen.FLAVOUR_WEIGHTS)[0]
            tier, ports, image = gen.FLAVOURS[fl]
            app = gen.APP_WORDS[(i * 5 + j) % len(gen.APP_WORDS)]
            apps_by_ns.setdefault(ns, []).append((ns, app, tier, ports, image, {}, 3))
            labels = {"app": app, "tier": tier, "version": "v1"}
            for r in range(3):
                if r == 0:
                    h = 10 + local
                    node, v4, v6 = NODE, "10.244.1.%d" % h, "fd00:10:244:1::%x" % h
                    local += 1
                else:
                    node, v4, v6 = remote_addr()
                pod(ns, "%s-%s-%s" % (app, g.suffix(10), g.suffix(5)), dict(labels),
                    node, v4, v6, ports, image, app)
    if 10 + local > 254:
        raise SystemExit("perpkt.py: --local %d does not fit node1's /24" % a.local)

    # N - 1 policies over the user namespaces, kinds weighted as gen.py
    # weighs them; names unique per namespace.
    pols, names = [], set()
    kinds = [k for k, _ in gen.Gen.KINDS]
    weights = [w for _, w in gen.Gen.KINDS]
    user = sorted(apps_by_ns)
    attempts = 0
    while len(pols) < a.policies - 1:
        attempts += 1
        if attempts > a.policies * 100:
            raise SystemExit("perpkt.py: cannot make %d distinct policies" % a.policies)
        ns = rng.choice(user)
        got = g.policy(rng.choices(kinds, weights)[0], ns, apps_by_ns[ns])
        if got is None or (ns, got[0]) in names:
            continue
        name, sel, types, ing, eg = got
        names.add((ns, name))
        pols.append(g.np_obj(ns, name, sel, types, ing, eg))
    port80 = [{"port": 80, "protocol": "TCP"}, {"port": 80, "protocol": "UDP"}]
    pols.append(g.np_obj(
        "bench", "crr",
        {"matchExpressions": [{"key": "app", "operator": "In",
                               "values": ["client", "server"]}]},
        ["Ingress", "Egress"],
        [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": port80}],
        [{"to": [{"podSelector": {"matchLabels": {"app": "server"}}}], "ports": port80}]))

    def write(name, objs):
        path = os.path.join(a.dir, name)
        with open(path + ".tmp", "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
        os.replace(path + ".tmp", path)

    write("cluster.json", items)
    write("policies.json", pols)
    npods = sum(1 for o in items if o["kind"] == "Pod")
    print("cluster namespaces=%d pods=%d local=%d policies=%d" % (
        len(items) - npods, npods, local, len(pols)))
    return 0


# ------------------------------------------------------------------ serve

def serve_worker(ls):
    resp = b"r" * RESP
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            continue
        try:
            got = 0
            while got < REQ:
                d = c.recv(REQ - got)
                if not d:
                    break
                got += len(d)
            c.sendall(resp)
            # The client closes first, as in netperf's TCP_CRR: wait for
            # its FIN, then close.
            c.recv(1)
        except OSError:
            pass
        finally:
            c.close()


def serve(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(4096)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    pids = []
    for _ in range(a.procs):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
            try:
                serve_worker(ls)
            finally:
                os._exit(0)
        pids.append(pid)
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(a.ready + ".tmp", a.ready)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    for pid in pids:
        os.waitpid(pid, 0)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = "server cpu_user_ms=%.1f cpu_sys_ms=%.1f\n" % (ru.ru_utime * 1e3,
                                                          ru.ru_stime * 1e3)
    if a.stats:
        with open(a.stats, "w") as f:
            f.write(line)
    else:
        sys.stdout.write(line)
    return 0


# ------------------------------------------------------------------ load

class Stuck(Exception):
    pass


def load_worker(addr, port, t_start, t_end, wfd):
    def alarm(*_):
        raise Stuck()
    # A connection that hangs (a dropped SYN retries for two minutes)
    # must not hold the run: one alarm for the whole worker, no timeout
    # per socket (a socket with a timeout polls before every call).
    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(t_end - time.monotonic()) + 5)
    req = b"q" * REQ
    n = err = total = 0
    now = time.monotonic()
    try:
        while now < t_end:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ok = False
            try:
                s.connect((addr, port))
                s.sendall(req)
                got = 0
                while got < RESP:
                    d = s.recv(RESP - got)
                    if not d:
                        break
                    got += len(d)
                ok = got == RESP
            except OSError:
                pass
            finally:
                s.close()
            now = time.monotonic()
            total += ok
            if t_start <= now < t_end:
                n += ok
                err += not ok
    except Stuck:
        err += 1
    signal.alarm(0)
    os.write(wfd, ("%d %d %d\n" % (n, err, total)).encode())


def load(a):
    rfd, wfd = os.pipe()
    t_start = time.monotonic() + a.warmup
    t_end = t_start + a.duration
    pids = []
    for _ in range(a.procs):
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            try:
                load_worker(a.address, a.port, t_start, t_end, wfd)
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(wfd)
    data = b""
    while True:
        d = os.read(rfd, 4096)
        if not d:
            break
        data += d
    for pid in pids:
        os.waitpid(pid, 0)
    n = err = total = 0
    for line in data.decode().split("\n"):
        if line:
            x, y, z = (int(v) for v in line.split())
            n, err, total = n + x, err + y, total + z
    if len(data.decode().split("\n")) - 1 != a.procs:
        err += 1
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print("load conns=%d errors=%d seconds=%g total=%d procs=%d cpu_user_ms=%.1f "
          "cpu_sys_ms=%.1f" % (n, err, a.duration, total, a.procs, ru.ru_utime * 1e3,
                               ru.ru_stime * 1e3))
    return 0


# ------------------------------------------------------------------ ruleset

def ruleset(a):
    doc = json.load(sys.stdin)
    tables = chains = sets = rules = elements = isolated = 0
    policies = set()
    jumps = {}
    server_chain = "-"
    for obj in doc.get("nftables", []):
        if "table" in obj:
            tables += 1
        elif "chain" in obj:
            chains += 1
            name = obj["chain"]["name"]
            if name.startswith("np/"):
                policies.add("/".join(name.split("/")[1:3]))
        elif "set" in obj or "map" in obj:
            s = obj.get("set") or obj.get("map")
            sets += 1
            elem = s.get("elem") or []
            elements += len(elem)
            if s["name"] == "ingress-v4":
                isolated = len(elem)
                for e in elem:
                    key, verdict = e
                    if isinstance(key, dict):
                        key = key.get("elem", {}).get("val")
                    if key == a.server:
                        server_chain = (verdict.get("goto") or verdict.get("jump") or
                                        {}).get("target", "-")
        elif "rule" in obj:
            rules += 1
            r = obj["rule"]
            for e in r.get("expr", []):
                if "jump" in e and e["jump"]["target"].startswith("np/"):
                    jumps.setdefault(r["chain"], []).append(e["jump"]["target"])
    print("ruleset tables=%d policies=%d chains=%d sets=%d rules=%d elements=%d "
          "isolated_v4=%d server_chain=%s server_policies=%d" % (
              tables, len(policies), chains, sets, rules, elements, isolated,
              server_chain, len(jumps.get(server_chain, []))))
    return 0


# ------------------------------------------------------------------ report

def parse(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        w = line.split()
        if not w:
            continue
        d = {}
        for x in w[1:]:
            k, sep, v = x.partition("=")
            if sep:
                d[k] = v
        out.append((w[0], d))
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def num(v):
    try:
        return "{:,}".format(int(v))
    except (TypeError, ValueError):
        return "?"


def rate(v):
    return "-" if v is None else "%.0f/s" % v


def us(v):
    return "-" if v is None else "%.0f us" % v


def build(d):
    lines = parse(os.path.join(d, "perpkt.txt"))
    m = {}
    for t, kv in lines:
        if t == "machine":
            m.update({k: v.replace("_", " ") for k, v in kv.items()})
    runs = {"none": [], "zero": [], "full": []}
    cpu = {"none": [], "zero": [], "full": []}
    errors = 0
    pairs = {}
    for t, kv in lines:
        if t != "round":
            continue
        c = kv["config"]
        r = float(kv["conns"]) / float(kv["seconds"])
        runs[c].append(r)
        errors += int(kv["errors"])
        pairs.setdefault(kv["round"], {})[c] = r
        tot = int(kv.get("total", 0))
        if tot:
            ms = sum(float(kv.get(k, 0)) for k in ("cpu_user_ms", "cpu_sys_ms",
                                                   "server_user_ms", "server_sys_ms"))
            cpu[c].append(ms * 1000.0 / tot)
    rs = {}
    for t, kv in lines:
        if t == "ruleset":
            rs[kv.get("config")] = kv
    checks = [kv for t, kv in lines if t == "check"]
    applies = {}
    for t, kv in lines:
        if t == "apply":
            applies.setdefault(kv["config"], []).append(float(kv["ms"]))

    rows = []
    z, f, n = median(runs["zero"]), median(runs["full"]), median(runs["none"])
    full = rs.get("full", {})
    npol = int(full.get("policies", 0))
    ok = None
    if z and f:
        ratio = f / z
        # The verdict also needs a ruleset that holds the policies and
        # enforces them, and a load that never failed.
        enforced = bool(checks) and all(c.get("result") == "ok" for c in checks)
        ok = abs(ratio - 1) <= TARGET and enforced and errors == 0 and npol > 0 and \
            full.get("server_policies") == "1"
        rows.append(("Per-packet cost: new TCP connections/s through the node, 0 policies / "
                     "%s policies (%d rounds of %s s, %s client processes)" % (
                         num(npol), len(runs["full"]), m.get("duration", "?"),
                         m.get("procs", "?")),
                     "%s / %s" % (rate(z), rate(f)), "", "within 10%", bench_report.verdict(ok)))
        per = sorted(p["full"] / p["zero"] for p in pairs.values() if "full" in p and "zero" in p)
        rows.append(("- %s policies / 0 policies (per round: %s)" % (
            num(npol), " ".join("%.2f" % x for x in per)),
            "%.3f (%+.1f%%)" % (ratio, (ratio - 1) * 100), "", "", ""))
    if n:
        rows.append(("- reference: no table at all (no conntrack either)", rate(n), "", "", ""))
    if cpu["zero"] and cpu["full"]:
        rows.append(("- CPU per connection, client and server processes (user + system, "
                     "forwarding included), 0 / %s policies / no table" % num(npol),
                     "%s / %s / %s" % (us(median(cpu["zero"])), us(median(cpu["full"])),
                                       us(median(cpu["none"]))), "", "", ""))
    if full:
        rows.append(("- node ruleset with the policies: %s policies compiled, %s chains, "
                     "%s sets, %s rules, %s elements, %s pods isolated for ingress; the "
                     "server's chain %s jumps to %s policy chain" % (
                         num(full.get("policies")), num(full.get("chains")),
                         num(full.get("sets")), num(full.get("rules")),
                         num(full.get("elements")), num(full.get("isolated_v4")),
                         full.get("server_chain"), full.get("server_policies")),
                     "", "", "", ""))
    zero = rs.get("zero")
    if zero:
        rows.append(("- node ruleset without policies: %s policies, %s chains, %s sets, "
                     "%s rules, %s elements" % (
                         num(zero.get("policies")), num(zero.get("chains")),
                         num(zero.get("sets")), num(zero.get("rules")),
                         num(zero.get("elements"))), "", "", "", ""))
    if checks:
        good = all(c.get("result") == "ok" for c in checks)
        if good:
            desc = ("bench/client reaches the server (TCP and UDP port 80) with 0 and %s "
                    "policies; bench/denied reaches it with 0 and gets nothing with %s" % (
                        num(npol), num(npol)))
        else:
            desc = "; ".join("with %s, %s -> server %s: %s" % (
                c.get("config"), c.get("from"), c.get("proto"), c.get("got"))
                for c in checks if c.get("result") != "ok")
        rows.append(("- enforcement: " + desc, "ok" if good else "wrong", "", "",
                     bench_report.verdict(good)))
    if errors:
        rows.append(("- failed connections during the load", str(errors), "", "0",
                     bench_report.verdict(False)))
    if applies:
        rows.append(("- `kube-nftctl apply` between rounds, 0 / %s policies" %
                     num(npol), "%s / %s" % (
                         bench_report.ms(median(applies.get("zero", []))),
                         bench_report.ms(median(applies.get("full", [])))), "", "", ""))
    return m, rows


def report(a):
    m, rows = build(a.dir)
    if not rows:
        raise SystemExit("perpkt.py: no measurements in %s" % a.dir)
    t = bench_report.table(rows)
    print(t)
    if a.doc:
        intro = ("Measured %s on %s CPUs, Linux %s, %s; load average %s at the start, %s at "
                 "the end.  Pods bench/client and bench/server on node1 of tests/netns/lib.sh, "
                 "routed through the node's forward hook; %s local pods; %s rounds, each "
                 "measuring the three configurations one after the other for %s s (after "
                 "%s s of warm-up), medians of the rounds." % (
                     m.get("date", "?"), os.cpu_count(), os.uname().release,
                     m.get("nft", "?"), m.get("load_start", "?"), m.get("load_end", "?"),
                     m.get("local", "?"), m.get("rounds", "?"), m.get("duration", "?"),
                     m.get("warmup", "?")))
        with open(a.doc) as fo:
            text = fo.read()
        i, j = text.find(BEGIN), text.find(END)
        if i < 0 or j < i:
            raise SystemExit("%s: no %s ... %s markers" % (a.doc, BEGIN, END))
        text = text[:i] + BEGIN + "\n\n" + intro + "\n\n" + t + "\n" + text[j:]
        with open(a.doc + ".tmp", "w") as fo:
            fo.write(text)
        os.replace(a.doc + ".tmp", a.doc)
    return 0


def main():
    # Ctrl-C ends the workers quietly; the shell script cleans up.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("cluster")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--policies", type=int, default=2000)
    p.add_argument("--local", type=int, default=200)
    p.add_argument("dir")
    p = sub.add_parser("serve")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--ready")
    p.add_argument("--stats")
    p.add_argument("port", type=int)
    p = sub.add_parser("load")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("address")
    p.add_argument("port", type=int)
    p = sub.add_parser("ruleset")
    p.add_argument("--server", default="")
    p = sub.add_parser("report")
    p.add_argument("--doc")
    p.add_argument("dir")
    a = ap.parse_args()
    return {"cluster": cluster, "serve": serve, "load": load, "ruleset": ruleset,
            "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
