#!/usr/bin/env python3
"""Generate a realistic cluster for the kube-nftd benchmarks.

The output is what `kubectl get ns,pods,networkpolicies -A -o json`
prints: one JSON List of Namespaces, Pods and NetworkPolicies, with the
fields the API server fills in (uids, timestamps, owner references,
probes, projected token volumes, conditions, container statuses), so
that parsing costs what it costs on a real cluster.

The cluster:
  - N pods (default 10,000); LOCAL of them (default 110, the kubelet's
    default maximum) on the node under test, "node-0", the rest spread
    over node-1.. at the same density.  Each node has a pod CIDR, IPv4
    10.64.0.0/10 and IPv6 fd00:10:244::/48, one /24 and one /64 per
    node; every pod is dual-stack.
  - per node, daemon sets: kube-proxy (hostNetwork, kube-system),
    node-exporter (hostNetwork, monitoring), fluent-bit (logging).
  - NS namespaces (default 500) labelled team, env and
    kubernetes.io/metadata.name; pods spread over them unevenly (a few
    large namespaces, many small ones), as deployments of 1 to 8
    replicas with app, tier, version and pod-template-hash labels, and
    container ports named http, grpc, metrics, dns, postgres, redis...
    About 1% are finished job pods.
  - P policies (default 2,000) mixing default-deny (ingress, egress,
    both), DNS egress (UDP and TCP 53), same-app, tier to tier over named
    ports, namespaceSelector with and without podSelector, matchLabels
    and matchExpressions, ipBlock with except (IPv4 and IPv6), endPort
    ranges and, occasionally, SCTP.

Everything derives from --seed: the same options give the same bytes.

With --events DIR, also writes the single events of the benchmarks,
relative to the generated state, one file each:

  pod-add          a new pod on node-0 that existing policies select
  pod-add-remote   a new pod on another node that local policies admit
  pod-delete       a local pod selected by policies is deleted
  label-change     a local pod's labels change so that other policies
                   select it
  policy-add       a new policy selecting local pods
  policy-edit      an existing policy selecting local pods gets a new
                   port and peer

Each file is one JSON object:
  {"kind": "BenchEvent", "name": "pod-add", "description": "...",
   "apply":  {"put": [OBJECT...], "delete": [{"kind", "namespace", "name"}]},
   "revert": {"put": [...], "delete": [...]}}
applying "apply" to the base state and then "revert" gives the base
state back, so that a benchmark can repeat an event.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time

NODE = "node-0"
PODS_PER_NODE = 110

TEAMS = [
    "payments", "search", "checkout", "identity", "catalog", "shipping",
    "ads", "analytics", "platform", "data", "ml", "media", "growth",
    "billing", "support", "risk", "infra", "mobile", "web", "partners",
]
ENVS = ["prod", "staging", "dev", "qa"]
ENV_WEIGHTS = [4, 3, 2, 1]

# Deployment flavours: tier, container ports (name, port, protocol),
# image.  Named ports are what policies refer to.
FLAVOURS = [
    ("frontend", [("http", 8080, "TCP"), ("metrics", 9090, "TCP")], "nginx:1.25"),
    ("frontend", [("https", 8443, "TCP"), ("http", 8080, "TCP")], "envoyproxy/envoy:v1.29"),
    ("backend", [("http", 8080, "TCP"), ("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
     "registry.example.com/svc/api:2.14.1"),
    ("backend", [("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
     "registry.example.com/svc/grpc:1.8.0"),
    ("worker", [("metrics", 9090, "TCP")], "registry.example.com/svc/worker:3.2.0"),
    ("db", [("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")], "postgres:16.2"),
    ("cache", [("redis", 6379, "TCP"), ("metrics", 9121, "TCP")], "redis:7.2"),
    ("queue", [("amqp", 5672, "TCP"), ("metrics", 15692, "TCP")], "rabbitmq:3.13"),
    ("signalling", [("sip", 5060, "UDP"), ("sip-tcp", 5060, "TCP"), ("diameter", 3868, "SCTP")],
     "registry.example.com/telco/sbc:5.1"),
]
FLAVOUR_WEIGHTS = [10, 4, 14, 8, 8, 3, 4, 2, 1]

APP_WORDS = [
    "api", "web", "gateway", "auth", "cart", "orders", "users", "profile",
    "inventory", "pricing", "recommend", "notify", "mailer", "render",
    "ingest", "indexer", "scheduler", "reports", "export", "import",
    "search", "session", "ledger", "fraud", "tracker", "uploader", "thumbs",
    "feed", "chat", "events",
]

EPOCH = 1717000000  # creation timestamps count from here


def ts(sec):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH + sec))


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.uid_n = 0
        self.rv = 1000000

    # ------------------------------------------------------------ helpers

    def uid(self):
        self.uid_n += 1
        h = hashlib.sha1(("%d/%d" % (self.a.seed, self.uid_n)).encode()).hexdigest()
        return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])

    def resver(self):
        self.rv += self.rng.randint(1, 50)
        return str(self.rv)

    def suffix(self, n):
        alpha = "bcdfghjklmnpqrstvwxz2456789"
        return "".join(self.rng.choice(alpha) for _ in range(n))

    # ------------------------------------------------------------ nodes

    @staticmethod
    def node_ip(k):
        return "192.168.%d.%d" % (16 + k // 250, 1 + k % 250)

    @staticmethod
    def pod_ips(k, host):
        v4 = "10.%d.%d.%d" % (64 + k // 256, k % 256, host)
        v6 = "fd00:10:244:%x::%x" % (k, host)
        return v4, v6

    # ------------------------------------------------------------ namespaces

    def make_namespaces(self):
        nns = self.a.namespaces
        system = [
            ("kube-system", "platform", "prod"),
            ("monitoring", "platform", "prod"),
            ("logging", "platform", "prod"),
            ("ingress-nginx", "platform", "prod"),
        ]
        self.nss = []
        for name, team, env in system[:nns]:
            self.nss.append({"name": name, "team": team, "env": env, "system": True})
        i = 0
        while len(self.nss) < nns:
            team = TEAMS[i % len(TEAMS)]
            env = self.rng.choices(ENVS, ENV_WEIGHTS)[0]
            self.nss.append({"name": "%s-%s-%03d" % (team, env, i), "team": team, "env": env,
                             "system": False})
            i += 1
        objs = []
        for k, ns in enumerate(self.nss):
            labels = {
                "kubernetes.io/metadata.name": ns["name"],
                "team": ns["team"],
                "env": ns["env"],
            }
            if ns["system"]:
                labels["policy.example.com/tier"] = "system"
            if k % 7 == 3:
                labels["istio-injection"] = "disabled"
            objs.append({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "creationTimestamp": ts(k * 60),
                    "labels": labels,
                    "name": ns["name"],
                    "resourceVersion": self.resver(),
                    "uid": self.uid(),
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            })
        return objs

    # ------------------------------------------------------------ pods

    def pod_obj(self, ns, name, labels, node_k, host, ports, image, owner, sa="default",
                host_network=False, phase="Running", gen_name=None):
        node = "node-%d" % node_k
        if host_network:
            ips = [self.node_ip(node_k)]
        else:
            ips = list(self.pod_ips(node_k, host))
        cname = labels.get("app", name.split("-")[0])
        container = {
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "name": cname,
            "resources": {
                "limits": {"cpu": "500m", "memory": "256Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [{
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": "kube-api-access-" + name[-5:],
                "readOnly": True,
            }],
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.name"}}},
                {"name": "LOG_LEVEL", "value": "info"},
            ],
        }
        if ports:
            container["ports"] = [{"containerPort": p, "name": n, "protocol": pr}
                                  for n, p, pr in ports]
            if ports[0][2] == "TCP":
                container["readinessProbe"] = {
                    "failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1,
                    "tcpSocket": {"port": ports[0][0]}, "timeoutSeconds": 1,
                }
        started = ts(self.rng.randint(86400, 86400 * 30))
        meta = {
            "creationTimestamp": started,
            "labels": labels,
            "name": name,
            "namespace": ns,
            "resourceVersion": self.resver(),
            "uid": self.uid(),
        }
        if gen_name:
            meta["generateName"] = gen_name
        if owner:
            meta["ownerReferences"] = [{
                "apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                "kind": owner[0], "name": owner[1], "uid": owner[2],
            }]
        spec = {
            "containers": [container],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always" if phase == "Running" else "Never",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": sa,
            "serviceAccountName": sa,
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
                 "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                 "operator": "Exists", "tolerationSeconds": 300},
            ],
            "volumes": [{
                "name": "kube-api-access-" + name[-5:],
                "projected": {"defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                                   "name": "kube-root-ca.crt"}},
                    {"downwardAPI": {"items": [{"fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        "path": "namespace"}]}},
                ]},
            }],
        }
        if host_network:
            spec["hostNetwork"] = True
            spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        running = phase == "Running"
        status = {
            "conditions": [
                {"lastProbeTime": None, "lastTransitionTime": started, "status": "True",
                 "type": t}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [{
                "containerID": "containerd://" + hashlib.sha256(meta["uid"].encode()).hexdigest(),
                "image": image,
                "imageID": image.split(":")[0] + "@sha256:" +
                hashlib.sha256(image.encode()).hexdigest(),
                "lastState": {},
                "name": cname,
                "ready": running,
                "restartCount": self.rng.choice([0, 0, 0, 0, 1, 2]),
                "started": running,
                "state": {"running": {"startedAt": started}} if running else
                {"terminated": {"exitCode": 0, "finishedAt": started, "reason": "Completed",
                                "startedAt": started}},
            }],
            "hostIP": self.node_ip(node_k),
            "hostIPs": [{"ip": self.node_ip(node_k)}],
            "phase": phase,
            "podIP": ips[0],
            "podIPs": [{"ip": ip} for ip in ips],
            "qosClass": "Burstable",
            "startTime": started,
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
                "status": status}

    def make_pods(self):
        a = self.a
        npods, nlocal = a.pods, min(a.local, a.pods)
        remote = npods - nlocal
        nnodes = 1 + (remote + PODS_PER_NODE - 1) // PODS_PER_NODE
        # Node slots: node-0 holds nlocal pods, the others PODS_PER_NODE
        # (the last one fewer).  Host numbers start at 2.
        self.next_host = [2] * nnodes
        free = [nlocal] + [min(PODS_PER_NODE, remote - (k - 1) * PODS_PER_NODE)
                           for k in range(1, nnodes)]
        self.nnodes = nnodes
        pods = []

        def place(k):
            h = self.next_host[k]
            self.next_host[k] += 1
            return h

        # Daemon sets first: they run on every node, in its slots.
        ds_owner = {}
        have = {ns["name"] for ns in self.nss}
        daemonsets = [
            ("kube-system", "kube-proxy", True, [], "registry.k8s.io/kube-proxy:v1.29.4"),
            ("monitoring", "node-exporter", True, [("metrics", 9100, "TCP")],
             "quay.io/prometheus/node-exporter:v1.7.0"),
            ("logging", "fluent-bit", False, [("http", 2020, "TCP")],
             "cr.fluentbit.io/fluent/fluent-bit:3.0"),
        ]
        daemonsets = [d for d in daemonsets if d[0] in have]
        for k in range(nnodes):
            for ns, app, hn, ports, image in daemonsets:
                if free[k] == 0:
                    continue
                free[k] -= 1
                if (ns, app) not in ds_owner:
                    ds_owner[(ns, app)] = self.uid()
                name = "%s-%s" % (app, self.suffix(5))
                labels = {"app": app, "controller-revision-hash": self.suffix(10),
                          "pod-template-generation": "1", "tier": "system"}
                if app == "node-exporter":
                    labels["app.kubernetes.io/name"] = "node-exporter"
                pods.append(self.pod_obj(ns, name, labels, k, 0 if hn else place(k), ports,
                                         image, ("DaemonSet", app, ds_owner[(ns, app)]),
                                         sa=app, host_network=hn, gen_name=app + "-"))
        budget = [k for k in range(nnodes) for _ in range(free[k])]
        self.rng.shuffle(budget)

        # Namespaces get pods in proportion to a Zipf-like weight; the
        # system ones get a fixed few (coredns, prometheus, ingress).
        fixed = {
            "kube-system": [("coredns", "dns", [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"),
                                                ("metrics", 9153, "TCP")],
                             "registry.k8s.io/coredns/coredns:v1.11.1", 2,
                             {"k8s-app": "kube-dns"})],
            "monitoring": [("prometheus", "monitoring", [("web", 9090, "TCP")],
                            "quay.io/prometheus/prometheus:v2.51.0", 2,
                            {"app.kubernetes.io/name": "prometheus"})],
            "ingress-nginx": [("ingress-nginx-controller", "frontend",
                               [("http", 80, "TCP"), ("https", 443, "TCP"),
                                ("metrics", 10254, "TCP")],
                               "registry.k8s.io/ingress-nginx/controller:v1.10.0", 3,
                               {"app.kubernetes.io/name": "ingress-nginx"})],
        }
        self.deployments = []  # (ns, app, tier, ports, image, labels extra, replicas)
        for ns in self.nss:
            for app, tier, ports, image, rep, extra in fixed.get(ns["name"], []):
                self.deployments.append([ns["name"], app, tier, ports, image, extra, rep])
        user_ns = [ns for ns in self.nss if not ns["system"]]
        remaining = len(budget) - sum(d[6] for d in self.deployments)
        weights = [1.0 / (i + 1) ** 0.7 for i in range(len(user_ns))]
        order = list(range(len(user_ns)))
        self.rng.shuffle(order)
        tot = sum(weights)
        share = [0] * len(user_ns)
        for rank, idx in enumerate(order):
            share[idx] = weights[rank] / tot * max(0, remaining)
        for idx, ns in enumerate(user_ns):
            left = int(round(share[idx]))
            napp = 0
            while left > 0:
                fl = self.rng.choices(range(len(FLAVOURS)), FLAVOUR_WEIGHTS)[0]
                tier, ports, image = FLAVOURS[fl]
                rep = min(left, self.rng.choice([1, 2, 2, 3, 3, 3, 4, 6, 8]))
                word = APP_WORDS[(napp * 7 + idx) % len(APP_WORDS)]
                app = word if napp < len(APP_WORDS) else "%s-%d" % (word, napp)
                self.deployments.append([ns["name"], app, tier, ports, image, {}, rep])
                left -= rep
                napp += 1
        # Trim or pad to the exact budget.
        total = sum(d[6] for d in self.deployments)
        i = len(self.deployments) - 1
        while total > len(budget) and i >= 0:
            cut = min(self.deployments[i][6], total - len(budget))
            self.deployments[i][6] -= cut
            total -= cut
            i -= 1
        i = 0
        while total < len(budget) and self.deployments:
            d = self.deployments[(i * 13) % len(self.deployments)]
            if d[1] not in ("coredns", "prometheus", "ingress-nginx-controller"):
                d[6] += 1
                total += 1
            i += 1
        self.deployments = [d for d in self.deployments if d[6] > 0]

        slot_i = 0
        njob = 0
        for ns, app, tier, ports, image, extra, rep in self.deployments:
            version = self.rng.choices(["v1", "v2", "v3"], [5, 3, 1])[0]
            rs = "%s-%s" % (app, self.suffix(10 if len(app) < 40 else 5))
            rs_uid = self.uid()
            for r in range(rep):
                k = budget[slot_i]
                slot_i += 1
                # About 1% of pods are finished jobs.
                if tier == "worker" and self.rng.random() < 0.08:
                    njob += 1
                    jname = "%s-cron-%d" % (app, 28000000 + njob)
                    name = "%s-%s" % (jname, self.suffix(5))
                    labels = {"app": app, "tier": "batch", "job-name": jname,
                              "batch.kubernetes.io/job-name": jname}
                    pods.append(self.pod_obj(ns, name, labels, k, place(k), [], image,
                                             ("Job", jname, self.uid()), phase="Succeeded",
                                             gen_name=jname + "-"))
                    continue
                labels = {"app": app, "tier": tier, "version": version,
                          "pod-template-hash": rs.rsplit("-", 1)[1]}
                labels.update(extra)
                if self.rng.random() < 0.3:
                    labels["app.kubernetes.io/part-of"] = ns.split("-")[0]
                name = "%s-%s" % (rs, self.suffix(5))
                pods.append(self.pod_obj(ns, name, labels, k, place(k), ports, image,
                                         ("ReplicaSet", rs, rs_uid), sa=app,
                                         gen_name=rs + "-"))
        return pods

    # ------------------------------------------------------------ policies

    def np_obj(self, ns, name, pod_sel, types, ingress=None, egress=None):
        spec = {"podSelector": pod_sel, "policyTypes": types}
        if ingress is not None:
            spec["ingress"] = ingress
        if egress is not None:
            spec["egress"] = egress
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "annotations": {"policy.example.com/owner": ns.split("-")[0]},
                "creationTimestamp": ts(self.rng.randint(0, 86400 * 30)),
                "generation": 1,
                "name": name,
                "namespace": ns,
                "resourceVersion": self.resver(),
                "uid": self.uid(),
            },
            "spec": spec,
        }

    def policy(self, kind, ns, apps):
        """One policy of the given kind for namespace ns, or None."""
        rng = self.rng
        app = rng.choice(apps) if apps else None
        name_app = app[1] if app else None
        if kind == "deny-ingress":
            return "default-deny-ingress", {}, ["Ingress"], [], None
        if kind == "deny-egress":
            return "default-deny-egress", {}, ["Egress"], None, []
        if kind == "deny-all":
            return "default-deny-all", {}, ["Ingress", "Egress"], [], []
        if kind == "allow-dns":
            return "allow-dns", {}, ["Egress"], None, [{
                "to": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }]
        if not app:
            return None
        sel = {"matchLabels": {"app": name_app}}
        if kind == "same-app":
            return ("allow-%s-same-app" % name_app, sel, ["Ingress"],
                    [{"from": [{"podSelector": {"matchLabels": {"app": name_app}}}]}], None)
        if kind == "tier":
            named = [p[0] for p in app[3] if p[2] == "TCP" and p[0] != "metrics"]
            ports = [{"port": n, "protocol": "TCP"} for n in named[:2]] or [{"port": 8080}]
            src = rng.choice(["frontend", "backend"])
            peer = {"podSelector": {"matchLabels": {"tier": src}}}
            if rng.random() < 0.3:
                peer = {"podSelector": {"matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["frontend", "backend"]},
                    {"key": "version", "operator": "NotIn", "values": ["canary"]}]}}
            return ("allow-%s-from-%s" % (name_app, src), sel, ["Ingress"],
                    [{"from": [peer], "ports": ports}], None)
        if kind == "monitoring":
            return ("allow-%s-metrics" % name_app, sel, ["Ingress"], [{
                "from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
                "ports": [{"port": "metrics", "protocol": "TCP"}],
            }], None)
        if kind == "team":
            team = rng.choice(TEAMS)
            peer = {"namespaceSelector": {
                "matchLabels": {"team": team},
                "matchExpressions": [{"key": "env", "operator": "In",
                                      "values": ["prod", "staging"]}]}}
            if rng.random() < 0.6:
                peer["podSelector"] = {"matchLabels": {"tier": "frontend"}}
            return ("allow-%s-from-team-%s" % (name_app, team), sel, ["Ingress"],
                    [{"from": [peer], "ports": [{"port": 8080, "protocol": "TCP"},
                                                {"port": 9000, "protocol": "TCP"}]}], None)
        if kind == "ingress-nginx":
            return ("allow-%s-from-ingress" % name_app, sel, ["Ingress"], [{
                "from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "ingress-nginx"}},
                    "podSelector": {"matchLabels": {
                        "app.kubernetes.io/name": "ingress-nginx"}}}],
                "ports": [{"port": "http"}],
            }], None)
        if kind == "lb":
            return ("allow-%s-from-lb" % name_app, sel, ["Ingress"], [{
                "from": [{"ipBlock": {"cidr": "192.168.0.0/16",
                                      "except": ["192.168.100.0/24", "192.168.200.0/24"]}},
                         {"ipBlock": {"cidr": "fd12:3456::/32",
                                      "except": ["fd12:3456:ff::/48"]}}],
                "ports": [{"port": "http", "protocol": "TCP"}, {"port": 8443}],
            }], None)
        if kind == "egress-external":
            return ("allow-%s-egress-external" % name_app, sel, ["Egress"], None, [{
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                    "except": ["10.0.0.0/8", "169.254.169.254/32",
                                               "172.16.0.0/12"]}},
                       {"ipBlock": {"cidr": "::/0", "except": ["fd00::/8"]}}],
                "ports": [{"port": 443, "protocol": "TCP"}],
            }])
        if kind == "egress-db":
            tier = rng.choice(["db", "cache", "queue"])
            port = {"db": "postgres", "cache": "redis", "queue": "amqp"}[tier]
            return ("allow-%s-to-%s" % (name_app, tier), sel, ["Egress"], None, [{
                "to": [{"podSelector": {"matchLabels": {"tier": tier}}}],
                "ports": [{"port": port, "protocol": "TCP"}],
            }])
        if kind == "nodeports":
            return ("allow-%s-nodeports" % name_app, sel, ["Ingress"], [{
                "from": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                      "except": ["10.64.0.0/10"]}}],
                "ports": [{"port": 30000, "endPort": 32767, "protocol": "TCP"},
                          {"port": 30000, "endPort": 32767, "protocol": "UDP"}],
            }], None)
        if kind == "range":
            team = rng.choice(TEAMS)
            lo = rng.choice([8000, 9000, 10000])
            return ("allow-%s-to-%s-range" % (name_app, team), sel, ["Egress"], None, [{
                "to": [{"namespaceSelector": {"matchLabels": {"team": team}}}],
                "ports": [{"port": lo, "endPort": lo + 99, "protocol": "TCP"},
                          {"port": 8080, "protocol": "TCP"}],
            }])
        if kind == "sctp":
            return ("allow-%s-sctp" % name_app, sel, ["Ingress"], [{
                "from": [{"namespaceSelector": {"matchExpressions": [
                    {"key": "team", "operator": "Exists"}]}}],
                "ports": [{"port": 3868, "protocol": "SCTP"},
                          {"port": 38412, "endPort": 38472, "protocol": "SCTP"},
                          {"port": "diameter", "protocol": "SCTP"}],
            }], None)
        if kind == "namespace-all":
            return ("allow-%s-from-namespace" % name_app, sel, ["Ingress"],
                    [{"from": [{"podSelector": {}}]}], None)
        return None

    KINDS = [
        ("deny-ingress", 16), ("deny-egress", 5), ("deny-all", 3), ("allow-dns", 7),
        ("same-app", 14), ("tier", 14), ("monitoring", 8), ("team", 8),
        ("ingress-nginx", 6), ("lb", 3), ("egress-external", 5), ("egress-db", 6),
        ("nodeports", 2), ("range", 3), ("sctp", 1), ("namespace-all", 3),
    ]

    def make_policies(self):
        rng = self.rng
        target = self.a.policies
        apps_by_ns = {}
        for d in self.deployments:
            apps_by_ns.setdefault(d[0], []).append(d)
        user_ns = [ns["name"] for ns in self.nss if not ns["system"]] or \
            [ns["name"] for ns in self.nss]
        # Namespaces with more apps get more policies.
        weights = [1 + len(apps_by_ns.get(ns, [])) for ns in user_ns]
        kinds = [k for k, _ in self.KINDS]
        kweights = [w for _, w in self.KINDS]
        out, names = [], set()
        attempts = 0
        while len(out) < target and user_ns:
            attempts += 1
            ns = rng.choices(user_ns, weights)[0]
            kind = rng.choices(kinds, kweights)[0]
            got = self.policy(kind, ns, apps_by_ns.get(ns, []))
            if got is None:
                continue
            name, sel, types, ing, eg = got
            if (ns, name) in names:
                if attempts > target * 50:
                    name = "%s-%d" % (name, attempts)
                else:
                    continue
            names.add((ns, name))
            out.append(self.np_obj(ns, name, sel, types, ing, eg))
        self.policies = out
        return out

    def generate(self):
        nss = self.make_namespaces()
        pods = self.make_pods()
        nps = self.make_policies()
        return nss, pods, nps


# ---------------------------------------------------------------- selectors

def sel_matches(sel, labels):
    if sel is None:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def selecting(nps, pod):
    m = pod["metadata"]
    return [np for np in nps if np["metadata"]["namespace"] == m["namespace"] and
            sel_matches(np["spec"]["podSelector"], m.get("labels", {}))]


def key(obj):
    m = obj["metadata"]
    d = {"kind": obj["kind"], "name": m["name"]}
    if "namespace" in m:
        d["namespace"] = m["namespace"]
    return d


def make_events(g, nss, pods, nps):
    """The single events, relative to the generated state."""
    rng = random.Random(g.a.seed + 1)
    local = [p for p in pods if p["spec"]["nodeName"] == NODE and
             p["status"]["phase"] == "Running" and not p["spec"].get("hostNetwork")]
    local_sel = [p for p in local if selecting(nps, p)]
    if not local_sel:
        sys.exit("gen.py: no local pod is selected by a policy; cannot make events")
    rng.shuffle(local_sel)
    ev = {}

    def copy_pod(p, suffix, node_k, host):
        q = json.loads(json.dumps(p))
        q["metadata"]["name"] = p["metadata"]["name"][:-5] + suffix
        q["metadata"]["uid"] = g.uid()
        v4, v6 = g.pod_ips(node_k, host)
        q["spec"]["nodeName"] = "node-%d" % node_k
        q["status"]["podIP"] = v4
        q["status"]["podIPs"] = [{"ip": v4}, {"ip": v6}]
        return q

    # pod-add: another replica of a selected local pod, on node-0.
    base = local_sel[0]
    new = copy_pod(base, "bench", 0, 250)
    ev["pod-add"] = ("a new replica of %s/%s on %s" % (
        base["metadata"]["namespace"], base["metadata"]["name"], NODE),
        {"put": [new], "delete": []}, {"put": [], "delete": [key(new)]})

    # pod-add-remote: a replica on another node of a pod that some local
    # policy admits as a peer (a same-app or tier peer).
    remote = None
    local_pols = [np for np in nps if any(sel_matches(np["spec"]["podSelector"],
                                                      p["metadata"].get("labels", {})) and
                                          np["metadata"]["namespace"] ==
                                          p["metadata"]["namespace"] for p in local)]
    for np in local_pols:
        for rule in np["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                if "podSelector" in peer and "namespaceSelector" not in peer and \
                        peer["podSelector"]:
                    for p in pods:
                        if p["metadata"]["namespace"] == np["metadata"]["namespace"] and \
                                p["spec"]["nodeName"] != NODE and \
                                sel_matches(peer["podSelector"], p["metadata"]["labels"]):
                            remote = p
                            break
                if remote:
                    break
            if remote:
                break
        if remote:
            break
    if remote:
        k = int(remote["spec"]["nodeName"].split("-")[1])
        new = copy_pod(remote, "bench", k, 251)
        ev["pod-add-remote"] = ("a new replica of %s/%s on %s, a peer of local policies" % (
            remote["metadata"]["namespace"], remote["metadata"]["name"],
            remote["spec"]["nodeName"]),
            {"put": [new], "delete": []}, {"put": [], "delete": [key(new)]})

    # pod-delete: a selected local pod goes away.
    victim = local_sel[1 % len(local_sel)]
    ev["pod-delete"] = ("%s/%s deleted" % (victim["metadata"]["namespace"],
                                           victim["metadata"]["name"]),
                        {"put": [], "delete": [key(victim)]}, {"put": [victim], "delete": []})

    # label-change: a local pod takes the app label of another deployment
    # of its namespace, so that other policies select it.
    chosen = None
    for p in local_sel:
        ns = p["metadata"]["namespace"]
        before = {id(x) for x in selecting(nps, p)}
        for d in g.deployments:
            if d[0] != ns or d[1] == p["metadata"]["labels"].get("app"):
                continue
            q = json.loads(json.dumps(p))
            q["metadata"]["labels"]["app"] = d[1]
            q["metadata"]["labels"]["tier"] = d[2]
            if {id(x) for x in selecting(nps, q)} != before:
                chosen = (p, q, d[1])
                break
        if chosen:
            break
    if not chosen:
        p = local_sel[0]
        q = json.loads(json.dumps(p))
        q["metadata"]["labels"]["app"] = "relabelled"
        chosen = (p, q, "relabelled")
    p, q, newapp = chosen
    q["metadata"]["resourceVersion"] = g.resver()
    ev["label-change"] = ("%s/%s relabelled app=%s -> app=%s" % (
        p["metadata"]["namespace"], p["metadata"]["name"], p["metadata"]["labels"]["app"],
        newapp), {"put": [q], "delete": []}, {"put": [p], "delete": []})

    # policy-add: a new policy selecting a local pod's app.
    t = local_sel[2 % len(local_sel)]
    ns, app = t["metadata"]["namespace"], t["metadata"]["labels"]["app"]
    newnp = g.np_obj(ns, "bench-allow-%s-from-partners" % app,
                     {"matchLabels": {"app": app}}, ["Ingress"],
                     [{"from": [{"namespaceSelector": {"matchLabels": {"team": "partners"}},
                                 "podSelector": {"matchLabels": {"tier": "frontend"}}},
                                {"ipBlock": {"cidr": "203.0.113.0/24",
                                             "except": ["203.0.113.128/25"]}}],
                       "ports": [{"port": 8080, "protocol": "TCP"},
                                 {"port": "grpc", "protocol": "TCP"}]}])
    ev["policy-add"] = ("new policy %s/%s selecting app=%s" % (
        ns, newnp["metadata"]["name"], app),
        {"put": [newnp], "delete": []}, {"put": [], "delete": [key(newnp)]})

    # policy-edit: an existing policy that selects local pods and has
    # ingress rules gets one more port and one more peer.
    cand = [np for np in nps if np["spec"].get("ingress") and
            any(np["metadata"]["namespace"] == p["metadata"]["namespace"] and
                sel_matches(np["spec"]["podSelector"], p["metadata"]["labels"])
                for p in local)]
    if not cand:
        cand = [np for np in nps if np["spec"].get("ingress")]
    np = cand[0]
    ed = json.loads(json.dumps(np))
    ed["metadata"]["generation"] = 2
    ed["metadata"]["resourceVersion"] = g.resver()
    rule = ed["spec"]["ingress"][0]
    if "ports" in rule:
        rule["ports"].append({"port": 8081, "protocol": "TCP"})
    if "from" in rule:
        rule["from"].append({"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "monitoring"}}})
    if "ports" not in rule and "from" not in rule:
        rule["ports"] = [{"port": 8081, "protocol": "TCP"}]
    ev["policy-edit"] = ("%s/%s: one more port and peer in ingress[0]" % (
        np["metadata"]["namespace"], np["metadata"]["name"]),
        {"put": [ed], "delete": []}, {"put": [np], "delete": []})
    return ev


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=4, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    ap.add_argument("-p", "--pods", type=int, default=10000, help="pods in the cluster")
    ap.add_argument("-n", "--namespaces", type=int, default=500)
    ap.add_argument("-P", "--policies", type=int, default=2000)
    ap.add_argument("-l", "--local", type=int, default=110,
                    help="pods on %s, the node under test" % NODE)
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("--scale", type=float,
                    help="shorthand: pods, namespaces and policies = defaults x SCALE "
                         "(local pods unchanged)")
    ap.add_argument("-e", "--events", metavar="DIR",
                    help="also write the single events into DIR")
    a = ap.parse_args()
    if a.scale:
        a.pods = int(10000 * a.scale)
        a.namespaces = max(5, int(500 * a.scale))
        a.policies = int(2000 * a.scale)
    if a.pods < 1 or a.namespaces < 1 or a.policies < 0 or a.local < 0:
        ap.error("counts must be positive")

    g = Gen(a)
    nss, pods, nps = g.generate()
    lst = {"apiVersion": "v1", "items": nss + pods + nps, "kind": "List",
           "metadata": {"resourceVersion": ""}}
    if a.output == "-":
        json.dump(lst, sys.stdout, indent=4)
        sys.stdout.write("\n")
    else:
        write_json(a.output, lst)
    if a.events:
        os.makedirs(a.events, exist_ok=True)
        for name, (desc, apply, revert) in make_events(g, nss, pods, nps).items():
            write_json(os.path.join(a.events, name + ".json"), {
                "kind": "BenchEvent", "name": name, "description": desc,
                "apply": apply, "revert": revert})
    nlocal = sum(1 for p in pods if p["spec"]["nodeName"] == NODE)
    print("gen.py: %d namespaces, %d pods (%d on %s, %d nodes), %d policies" % (
        len(nss), len(pods), nlocal, NODE, g.nnodes, len(nps)), file=sys.stderr)


if __name__ == "__main__":
    main()
