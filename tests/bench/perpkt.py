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

    perpkt.py serve [--procs N] [--ready FILE] PORT
        The server of the load: N processes accept on one socket; each
        connection gets a request of REQ bytes read, a response of RESP
        bytes written, then the client's close is awaited and the socket
        closed (netperf's TCP_CRR).  The ready file is written once the
        socket listens; SIGTERM ends it.

    perpkt.py load [--procs N] [--limit S] [--ready FILE] ADDRESS PORT
        N processes open connections one after the other (connect, send
        the request, read the response, close) until SIGTERM (or LIMIT
        seconds), counting the completed and the failed ones per 10 ms of
        wall-clock time.  Prints {"start": TIME, "bucket": 0.01, "ok":
        [...], "err": [...]}: whoever switches configurations under the
        load can then tell how many connections each one carried.

    perpkt.py switch [--phase P] [--slice S] [--count N] [--pids PID,...]
            TABLE_A CONFIG_A TABLE_B CONFIG_B
        Run in the node's namespace: before each of N slices of S
        seconds, makes TABLE_A (odd slices) or TABLE_B (even ones) the
        live inet table and the other one dormant, in one netlink
        transaction; prints "switch phase=P n=I config=CONFIG t0=.. t1=..
        cpu=TICKS" per switch (start, acknowledgement, CPU time of PIDs so
        far) and a last one with config=end.

    perpkt.py ruleset [--server ADDRESS]
        Reads `nft -j list ruleset` on stdin and prints what the table
        holds: "ruleset tables=.. policies=.. chains=.. sets=.. rules=..
        elements=.. isolated_v4=.. server_chain=.. server_policies=..":
        policies counts the distinct NAMESPACE/POLICY of the np/ chains,
        server_chain is where ingress-v4 sends ADDRESS and
        server_policies how many policy chains that chain jumps to.

    perpkt.py report [--doc docs/performance.md] DIR
        Turns DIR/perpkt.txt (the lines perpkt.sh collected) and
        DIR/load-PHASE.json (the load of each phase) into table rows
        with the columns of scripts/bench, and with --doc replaces the
        part of that file between

          <!-- perpkt-bench:begin -->  and  <!-- perpkt-bench:end -->
"""

import argparse
import json
import math
import os
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the policy kinds and pod objects of the 10k cluster)
import report as bench_report  # noqa: E402  (the table of scripts/bench)

BEGIN = "<!-- perpkt-bench:begin -->"
END = "<!-- perpkt-bench:end -->"

REQ = 64   # request and response sizes: one segment each way, like an
RESP = 128  # RPC health check or a small HTTP exchange
TARGET = 0.10  # issue 3: "within 10% of each other"


# ------------------------------------------------------------------ cluster

def cluster(a):
    """The node's cluster: see the module's docstring."""
    g = gen.Gen(argparse.Namespace(seed=a.seed))
    nodes = 1  # measured nodes, node1..; the others only hold peers
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

    # Remote hosts: the nodes after the measured ones, 250 pods each.
    remote = [0]

    def remote_addr():
        k = remote[0]
        remote[0] += 1
        n, h = 1 + nodes + k // 250, 2 + k % 250
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

    # User namespaces, five deployments each: one replica on each measured
    # node, two elsewhere, so that peer sets hold pods of other nodes too.
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
            h = 10 + local
            local += 1
            places = [("node%d" % n, "10.244.%d.%d" % (n, h), "fd00:10:244:%x::%x" % (n, h))
                      for n in range(1, nodes + 1)]
            places += [remote_addr() for _ in range(2)]
            for node, v4, v6 in places:
                pod(ns, "%s-%s-%s" % (app, g.suffix(10), g.suffix(5)), dict(labels),
                    node, v4, v6, ports, image, app)
    if 10 + local > 254:
        raise SystemExit("perpkt.py: --local %d does not fit a node's /24" % a.local)

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
    return 0


# ------------------------------------------------------------------ load

BUCKET = 0.01  # seconds: completions are counted per 10 ms


class Stop(Exception):
    pass


def load_worker(addr, port, start, limit, wfd):
    def stop(*_):
        raise Stop()
    # SIGTERM from the parent ends the run, and so does the alarm: a
    # connection that hangs (a dropped SYN retries for two minutes) must
    # not hold it.  No timeout per socket: a socket with a timeout polls
    # before every call, which would be most of what is measured.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(int(limit) + 1)
    req = b"q" * REQ
    ok = [0] * (int(limit / BUCKET) + 1)
    err = [0] * len(ok)
    try:
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            good = False
            try:
                s.connect((addr, port))
                s.sendall(req)
                got = 0
                while got < RESP:
                    d = s.recv(RESP - got)
                    if not d:
                        break
                    got += len(d)
                good = got == RESP
            except OSError:
                pass
            finally:
                s.close()
            i = int((time.time() - start) / BUCKET)
            if i >= len(ok):
                break
            if good:
                ok[i] += 1
            else:
                err[i] += 1
    except Stop:
        pass
    signal.alarm(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    data = json.dumps({"ok": ok, "err": err}).encode()
    while data:
        data = data[os.write(wfd, data):]


def load(a):
    """Connections until SIGTERM (or --limit seconds), counted per bucket
    of wall-clock time, so that perpkt.sh can switch configurations under
    a running load and attribute every connection to one of them."""
    start = time.time()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    pids, fds = [], []
    for _ in range(a.procs):
        # A pipe each: a worker's counts are larger than PIPE_BUF, and
        # writes that large from several processes would interleave.
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            try:
                load_worker(a.address, a.port, start, a.limit, wfd)
            finally:
                os._exit(0)
        os.close(wfd)
        pids.append(pid)
        fds.append(rfd)
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%.6f\n" % start)
        os.replace(a.ready + ".tmp", a.ready)
    # Wait for SIGTERM or for the workers to reach --limit (EOF on each
    # pipe once its worker has written and exited).
    signal.signal(signal.SIGTERM, lambda *_: [os.kill(p, signal.SIGTERM) for p in pids])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    ok, err, n = [], [], 0
    for rfd in fds:
        chunks = []
        while True:
            d = os.read(rfd, 65536)
            if not d:
                break
            chunks.append(d)
        os.close(rfd)
        if not chunks:
            continue
        w = json.loads(b"".join(chunks))
        n += 1
        if not ok:
            ok, err = [0] * len(w["ok"]), [0] * len(w["err"])
        ok = [x + y for x, y in zip(ok, w["ok"])]
        err = [x + y for x, y in zip(err, w["err"])]
    for pid in pids:
        os.waitpid(pid, 0)
    # Trailing empty buckets are the time after SIGTERM.
    last = max([i for i, (x, y) in enumerate(zip(ok, err)) if x or y] + [0])
    json.dump({"start": start, "bucket": BUCKET, "procs": a.procs, "workers": n,
               "ok": ok[:last + 1], "err": err[:last + 1]}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if n == a.procs else 1


# ------------------------------------------------------------------ switch

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 0x10, 0x11
NFT_MSG_NEWTABLE = 0
NFTA_TABLE_NAME, NFTA_TABLE_FLAGS = 1, 2
NFT_TABLE_F_DORMANT = 1
NFPROTO_INET = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


class Toggle:
    """Makes one of two inet tables live and the other dormant, in one
    nf_tables transaction, over netlink: about 0.1 ms, where an nft
    process would take 20 ms of CPU, so that the tables can swap every
    fraction of a second under load without disturbing it."""

    def __init__(self, a, b):
        self.names = (a, b)
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        self.seq = int(time.time())

    @staticmethod
    def attr(kind, data):
        n = 4 + len(data)
        return struct.pack("=HH", n, kind) + data + b"\0" * ((4 - n % 4) % 4)

    def msg(self, kind, flags, family, res_id, payload):
        self.seq += 1
        body = struct.pack("=BBH", family, 0, socket.htons(res_id)) + payload
        return struct.pack("=IHHII", 16 + len(body), kind, flags, self.seq, 0) + body

    def live(self, i):
        """Table I (0 or 1) live, the other one dormant."""
        out = [self.msg(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, b"")]
        first = self.seq + 1
        for j, name in enumerate(self.names):
            flags = 0 if j == i else NFT_TABLE_F_DORMANT
            out.append(self.msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
                                NLM_F_REQUEST | NLM_F_ACK, NFPROTO_INET, 0,
                                self.attr(NFTA_TABLE_NAME, name.encode() + b"\0") +
                                self.attr(NFTA_TABLE_FLAGS, struct.pack("!I", flags))))
        out.append(self.msg(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES, b""))
        self.sock.send(b"".join(out))
        # One acknowledgement per table message; an error names it.
        want = {first, first + 1}
        while want:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                n, kind, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if kind == NLMSG_ERROR:
                    err = struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        raise OSError(-err, "table %s: %s" % (
                            self.names[seq - first] if seq - first in (0, 1) else "?",
                            os.strerror(-err)))
                    want.discard(seq)
                off += (n + 3) & ~3


def cpu_ticks(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                w = f.read().rsplit(")", 1)[1].split()
            t += int(w[11]) + int(w[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return t


def switch(a):
    """Runs in the node's namespace: before each of COUNT slices of SLICE
    seconds, makes table A (odd slices) or B (even ones) live, and prints
    one line per switch: its start and commit times and the CPU time the
    measured processes (--pids) have used so far."""
    tog = Toggle(a.table_a, a.table_b)
    pids = [int(p) for p in a.pids.split(",") if p]
    names = (a.config_a, a.config_b)
    start = time.time()
    lines = []
    for i in range(a.count + 1):
        d = start + i * a.slice - time.time()
        if d > 0:
            time.sleep(d)
        cpu = cpu_ticks(pids)
        t0 = time.time()
        if i == a.count:
            lines.append("switch phase=%s n=end config=end t0=%.6f t1=%.6f cpu=%d" % (
                a.phase, t0, t0, cpu))
            break
        tog.live(i % 2)
        t1 = time.time()
        lines.append("switch phase=%s n=%d config=%s t0=%.6f t1=%.6f cpu=%d" % (
            a.phase, i + 1, names[i % 2], t0, t1, cpu))
    print("\n".join(lines))
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


def lines_machine(lines):
    m = {}
    for t, kv in lines:
        if t == "machine":
            m.update({k: v.replace("_", " ") for k, v in kv.items()})
    return m


def slices(lines, phase, d, guard):
    """The slices of one phase, from its switch lines and the load's
    buckets in DIR/load-PHASE.json: a list of (config, rate, connections,
    CPU seconds), and the failed connections.  A slice runs from one
    switch to the next; its rate counts the buckets from GUARD seconds
    after the switch was committed to the next switch, its connections and
    CPU time the whole slice."""
    sw = [kv for t, kv in lines if t == "switch" and kv.get("phase") == phase]
    path = os.path.join(d, "load-%s.json" % phase)
    if len(sw) < 2 or not os.path.exists(path):
        return [], 0
    ld = json.load(open(path))
    start, bk = ld["start"], ld["bucket"]
    tck = float(lines_machine(lines).get("clk_tck", 100))

    def count(key, t0, t1):
        # Whole buckets inside [t0, t1).
        arr = ld[key]
        i0 = max(0, int(math.ceil((t0 - start) / bk)))
        i1 = min(len(arr), int(math.floor((t1 - start) / bk)))
        return sum(arr[i0:i1]), max(0, i1 - i0) * bk

    out, errors = [], 0
    for cur, nxt in zip(sw, sw[1:]):
        t0, t1, t_next = float(cur["t0"]), float(cur["t1"]), float(nxt["t0"])
        conns, secs = count("ok", t1 + guard, t_next)
        errors += count("err", t0, t_next)[0]
        if secs <= 0:
            continue
        out.append((cur["config"], conns / secs, count("ok", t0, t_next)[0],
                    (float(nxt["cpu"]) - float(cur["cpu"])) / tck))
    return out, errors


def of(sl, config):
    """The rates of the slices in configuration CONFIG."""
    return [x[1] for x in sl if x[0] == config]


def cpu_per_conn(sl, config):
    """CPU microseconds per connection over all slices of CONFIG."""
    conns = sum(x[2] for x in sl if x[0] == config)
    cpu = sum(x[3] for x in sl if x[0] == config)
    return cpu * 1e6 / conns if conns else None


def paired(sl, a, b):
    """For every slice of configuration B, its rate over the mean rate of
    the slices of configuration A just before and after it."""
    out = []
    for i, (c, r, _, _) in enumerate(sl):
        if c != b:
            continue
        around = [sl[j][1] for j in (i - 1, i + 1) if 0 <= j < len(sl) and sl[j][0] == a]
        if around and sum(around):
            out.append(r / (sum(around) / len(around)))
    return out


def build(d):
    lines = parse(os.path.join(d, "perpkt.txt"))
    m = lines_machine(lines)
    guard = float(m.get("guard", 0.3))
    sa, ea = slices(lines, "A", d, guard)
    sb, eb = slices(lines, "B", d, guard)
    errors = ea + eb

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
    full = rs.get("full", {})
    npol = int(full.get("policies", 0))
    z, f = median(of(sa, "zero")), median(of(sa, "full"))
    per = sorted(paired(sa, "zero", "full"))
    if z and f and per:
        ratio = median(per)
        # The verdict also needs a ruleset that holds the policies and
        # enforces them, and a load that never failed.
        enforced = bool(checks) and all(c.get("result") == "ok" for c in checks)
        ok = abs(ratio - 1) <= TARGET and enforced and errors == 0 and npol > 0 and \
            full.get("server_policies") == "1"
        rows.append(("Per-packet cost: new TCP connections/s through the node, 0 policies / "
                     "%s policies (one load, the live table swapped every %s s, %d slices; "
                     "%s client processes)" % (
                         num(npol), m.get("slice", "?"), len(sa), m.get("procs", "?")),
                     "%s / %s" % (rate(z), rate(f)), "", "within 10%",
                     bench_report.verdict(ok)))
        rows.append(("- %s policies / 0 policies: each %s-policy slice against the 0-policy "
                     "slices around it, median (quartiles %.2f and %.2f; ratio of the medians "
                     "above %.3f)" % (
                         num(npol), num(npol), per[len(per) // 4], per[(3 * len(per)) // 4],
                         f / z),
                     "%.3f (%+.1f%%)" % (ratio, (ratio - 1) * 100), "", "", ""))
    n, z2 = median(of(sb, "none")), median(of(sb, "zero"))
    perb = paired(sb, "zero", "none")
    if n and z2 and perb:
        rows.append(("- reference: no table at all (no conntrack either) / 0 policies, "
                     "swapped every 2 s (%d slices): %s / %s" % (len(sb), rate(n), rate(z2)),
                     "%.3f" % median(perb), "", "", ""))
    cz, cf, cn = cpu_per_conn(sa, "zero"), cpu_per_conn(sa, "full"), cpu_per_conn(sb, "none")
    if cz and cf:
        rows.append(("- CPU per connection, client and server processes (user + system, "
                     "forwarding included), 0 / %s policies / no table" % num(npol),
                     "%s / %s / %s" % (us(cz), us(cf), us(cn)), "", "", ""))
    if full:
        rows.append(("- node ruleset with the policies: %s policies compiled, %s chains, "
                     "%s sets, %s rules, %s elements, %s pods isolated for ingress; the "
                     "server's address leads to %s, which jumps to %s policy chain" % (
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
        rows.append(("- `kube-nftctl apply`, 0 / %s policies (once each; the slices switch "
                     "which table is dormant)" % num(npol),
                     "%s / %s" % (bench_report.ms(median(applies.get("zero", []))),
                                  bench_report.ms(median(applies.get("full", [])))),
                     "", "", ""))
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
                 "routed through the node's forward hook; %s local pods.  One load runs "
                 "while the node swaps, every %s s, which of its two tables is live, the "
                 "2,000-policy one or the 0-policy one (both loaded once, the other one "
                 "dormant), %s slices; then, as a reference, no table against the 0-policy "
                 "table, %s slices of 2 s.  Rates count from %s s after each switch; "
                 "medians of the slices." % (
                     m.get("date", "?"), os.cpu_count(), os.uname().release, m.get("nft", "?"),
                     m.get("load_start", "?"), m.get("load_end", "?"), m.get("local", "?"),
                     m.get("slice", "?"), m.get("slices_a", "?"), m.get("slices_b", "?"),
                     m.get("guard", "?")))
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
    p.add_argument("port", type=int)
    p = sub.add_parser("load")
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--limit", type=float, default=300)
    p.add_argument("--ready")
    p.add_argument("address")
    p.add_argument("port", type=int)
    p = sub.add_parser("switch")
    p.add_argument("--phase", default="A")
    p.add_argument("--slice", type=float, default=0.2)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--pids", default="")
    p.add_argument("table_a")
    p.add_argument("config_a")
    p.add_argument("table_b")
    p.add_argument("config_b")
    p = sub.add_parser("ruleset")
    p.add_argument("--server", default="")
    p = sub.add_parser("report")
    p.add_argument("--doc")
    p.add_argument("dir")
    a = ap.parse_args()
    return {"cluster": cluster, "serve": serve, "load": load, "switch": switch,
            "ruleset": ruleset, "report": report}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
