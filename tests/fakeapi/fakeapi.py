#!/usr/bin/env python3
"""A fake Kubernetes API server for kube-nftd's tests.

A real HTTP/1.1 server (TLS or plain; Python 3 standard library only) that
speaks the list and watch protocol as kube-apiserver does, for the
resources kube-nftd watches:

  lists     GET .../pods?limit=N&continue=T&resourceVersion=RV
            items without kind/apiVersion (the list carries them), sorted by
            namespace and name (etcd key order); metadata.resourceVersion,
            metadata.continue and remainingItemCount; a continue token
            expires (--continue-ttl, or on demand) with a 410 Status
  watches   GET ...?watch=1&resourceVersion=RV&allowWatchBookmarks=true
            &timeoutSeconds=T: a chunked body of newline-delimited events;
            events since RV, then live ones; BOOKMARK events every
            --bookmark-interval seconds; the body ends at timeoutSeconds;
            RV unset or "0": synthetic ADDED events of every object first;
            an RV older than the history answers 200 and one ERROR event
            with a 410 Status ("too old resource version"), as the watch
            cache does (or a plain HTTP 410, on demand)
  streaming ?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan:
            ADDED events of every object, then a BOOKMARK annotated
            k8s.io/initial-events-end: "true" (--streaming-lists); without
            the option the server rejects it with 422 Invalid, as 1.33 does
  selectors labelSelector (=, ==, !=, in, notin, exists, !exists) and
            fieldSelector (metadata.name, metadata.namespace); an object
            that stops matching leaves a watch with DELETED, as upstream
  errors    Status objects as the API reference shows them
  auth      bearer tokens (--token, changeable at run time) and client
            certificates (--client-ca); anything else is 401

A control interface on a unix socket (--control PATH, plain HTTP) lets a
test change objects and inject faults:

  POST   /objects               an object, or a List: create or update
  DELETE /objects/PLURAL/NS/NAME (or /objects/PLURAL/NAME, cluster-scoped)
  POST   /tokens                {"tokens": [...]}: the bearer tokens accepted
  POST   /faults                one fault (below); DELETE /faults clears all
  POST   /expire                {"resource": R, "as": "event"|"status"}: the
                                history of R is compacted; open watches of R
                                get an ERROR 410 event ("event") or are cut
                                and the next watch gets HTTP 410 ("status")
  POST   /expire-continue       every continue token expires
  POST   /cut                   {"resource": R}: open watches of R are cut,
                                as by a dying proxy
  POST   /streaming             {"enabled": bool}
  GET    /state                 resourceVersion, object counts, open watches

Faults ("resource" and "verb" (list, watch) select requests, "*" or absent
matching all; "count" is how many requests it applies to, -1 for all until
cleared; default 1):

  {"status": 503, "retry_after": 2}      answer with this Status
  {"status": 403}                        Forbidden, naming the permission
  {"close_after": N, "clean": false}     cut a watch after N events (clean:
                                         end the body properly instead)
  {"stall": true}                        send the headers, then nothing (for
                                         an hour, or the given seconds)
  {"inject": "TEXT", "after": N}         write TEXT and a newline into a
                                         watch after N events
  {"http410": true}                      a watch from an expired version
                                         gets HTTP 410 rather than the event
  {"expire_continue": true}              the next list page asked with a
                                         continue token gets 410 Expired

Every request is logged to --log as one JSON object per line, when its
status is sent, stamped with its arrival time: {"ts", "method", "path", "query", "resource", "verb", "status", "auth",
"fault"}; with --log-events each watch event written too ("event": TYPE,
"name", "rv"); a watch's end is logged with "end": the reason.

Usage: fakeapi.py serve --listen ADDR:PORT [options]
       fakeapi.py ctl SOCKET METHOD PATH [BODY|@FILE]
"""

import argparse
import base64
import copy
import http.client
import http.server
import json
import os
import random
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

# (group, version, plural) -> (kind, namespaced)
RESOURCES = {
    ("", "v1", "namespaces"): ("Namespace", False),
    ("", "v1", "pods"): ("Pod", True),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True),
    ("rbac.authorization.k8s.io", "v1", "roles"): ("Role", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles"): ("ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"): ("RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings"):
        ("ClusterRoleBinding", False),
    ("", "v1", "services"): ("Service", True),
    ("discovery.k8s.io", "v1", "endpointslices"): ("EndpointSlice", True),
}
BY_KIND = {kind: (g, v, p) for (g, v, p), (kind, _) in RESOURCES.items()}
BY_PLURAL = {p: (g, v, p) for (g, v, p) in RESOURCES}

# Events kept per resource; a watch from before them gets a 410.
HISTORY_MAX = 100000
# Default watch length when the client gives no timeoutSeconds (the
# API server draws 30 to 60 minutes).
DEFAULT_WATCH_S = 1800


def api_version(g, v):
    return "%s/%s" % (g, v) if g else v


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def status(code, reason, message, details=None, meta=None):
    """A Status object, field for field as kube-apiserver writes it."""
    st = {"kind": "Status", "apiVersion": "v1", "metadata": meta or {},
          "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


HTTP_REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
    405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
    429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
    504: "Timeout",
}


# ------------------------------------------------------------------ selectors

def split_selector(s):
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_label_selector(s):
    reqs = []
    for p in split_selector(s or ""):
        if " notin " in p or " in " in p:
            neg = " notin " in p
            key, vals = p.split(" notin " if neg else " in ", 1)
            vals = vals.strip()
            if not (vals.startswith("(") and vals.endswith(")")):
                raise ValueError(p)
            vs = {v.strip() for v in vals[1:-1].split(",") if v.strip()}
            reqs.append(("notin" if neg else "in", key.strip(), vs))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            reqs.append(("notin", k.strip(), {v.strip()}))
        elif "==" in p:
            k, v = p.split("==", 1)
            reqs.append(("in", k.strip(), {v.strip()}))
        elif "=" in p:
            k, v = p.split("=", 1)
            reqs.append(("in", k.strip(), {v.strip()}))
        elif p.startswith("!"):
            reqs.append(("!exists", p[1:].strip(), None))
        else:
            reqs.append(("exists", p, None))
    return reqs


def label_match(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for op, k, vs in reqs:
        if op == "in" and labels.get(k) not in vs:
            return False
        if op == "notin" and k in labels and labels[k] in vs:
            return False
        if op == "exists" and k not in labels:
            return False
        if op == "!exists" and k in labels:
            return False
    return True


def parse_field_selector(s):
    reqs = []
    for p in split_selector(s or ""):
        neg = "!=" in p
        k, v = p.split("!=" if neg else ("==" if "==" in p else "="), 1)
        k = k.strip()
        if k not in ("metadata.name", "metadata.namespace"):
            raise ValueError('field label not supported: %s' % k)
        reqs.append((k.split(".")[1], v.strip(), neg))
    return reqs


def field_match(reqs, obj):
    meta = obj.get("metadata") or {}
    for field, v, neg in reqs:
        if (meta.get(field, "") == v) == neg:
            return False
    return True


# ------------------------------------------------------------------ state

class State:
    def __init__(self, args):
        self.args = args
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects = {p: {} for p in BY_PLURAL}
        self.history = {p: [] for p in BY_PLURAL}
        self.oldest = {p: self.rv for p in BY_PLURAL}
        self.expire_mode = {p: "event" for p in BY_PLURAL}
        self.expire_gen = {p: 0 for p in BY_PLURAL}
        self.cut_gen = {p: 0 for p in BY_PLURAL}
        self.continues = {}
        self.continue_gen = 0
        self.tokens = set(args.token or [])
        self.faults = []
        self.streaming = args.streaming_lists
        self.watchers = {p: 0 for p in BY_PLURAL}
        self.dirty = False
        self.stopping = False
        if args.state and os.path.exists(args.state):
            self.load(args.state)

    # -- persistence: a restarted server keeps its objects and versions,
    # not its history, like an API server whose watch cache starts over.
    def load(self, path):
        with open(path) as f:
            data = json.load(f)
        self.rv = int(data["rv"])
        for obj in data["objects"]:
            g, v, p = BY_KIND[obj["kind"]]
            self.objects[p][self.key(p, obj)] = obj
        self.oldest = {p: self.rv for p in BY_PLURAL}

    def save(self):
        if not self.args.state:
            return
        with self.cond:
            if not self.dirty:
                return
            data = {"rv": self.rv,
                    "objects": [o for p in self.objects for o in self.objects[p].values()]}
            self.dirty = False
        tmp = self.args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.args.state)

    @staticmethod
    def key(plural, obj):
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace", "") if RESOURCES[BY_PLURAL[plural]][1] else ""
        return (ns, meta["name"])

    def _record(self, plural, etype, obj, prev):
        hist = self.history[plural]
        hist.append((self.rv, etype, obj, prev))
        if len(hist) > HISTORY_MAX:
            drop = len(hist) - HISTORY_MAX
            self.oldest[plural] = hist[drop - 1][0]
            del hist[:drop]
        self.dirty = True
        self.cond.notify_all()

    def put(self, obj):
        kind = obj.get("kind")
        if kind not in BY_KIND:
            raise ValueError("unknown kind %r" % kind)
        g, v, p = BY_KIND[kind]
        namespaced = RESOURCES[(g, v, p)][1]
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = api_version(g, v)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("metadata.name required")
        if namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        with self.cond:
            k = self.key(p, obj)
            prev = self.objects[p].get(k)
            meta["uid"] = (prev or {}).get("metadata", {}).get("uid") or str(uuid.uuid4())
            meta.setdefault("creationTimestamp",
                            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self.objects[p][k] = obj
            self._record(p, "MODIFIED" if prev else "ADDED", obj, prev)
            return self.rv

    def delete(self, plural, ns, name):
        with self.cond:
            if plural not in self.objects:
                raise KeyError(plural)
            if not RESOURCES[BY_PLURAL[plural]][1]:
                ns = ""
            prev = self.objects[plural].pop((ns, name))
            self.rv += 1
            obj = copy.deepcopy(prev)
            # The deleted object's last state, at the deletion's version.
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(plural, "DELETED", obj, prev)
            return self.rv

    def expire(self, plural, mode):
        with self.cond:
            # A version only this resource's history knew: every watch
            # from before it is now too old.
            self.rv += 1
            self.oldest[plural] = self.rv
            self.history[plural] = []
            self.expire_mode[plural] = mode
            self.expire_gen[plural] += 1
            self.cond.notify_all()
            return self.rv

    def take_fault(self, resource, verb, want):
        """The first fault of type want matching the request, consumed."""
        with self.cond:
            for f in self.faults:
                if want not in f:
                    continue
                if f.get("resource", "*") not in ("*", resource):
                    continue
                if f.get("verb", "*") not in ("*", verb):
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] == 0:
                        self.faults.remove(f)
                return dict(f)
        return None


# ------------------------------------------------------------------ logging

class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else None
        self.lock = threading.Lock()

    def write(self, ts=None, **rec):
        if not self.f:
            return
        rec["ts"] = round(ts or time.time(), 4)
        with self.lock:
            self.f.write(dumps(rec) + "\n")


# ------------------------------------------------------------------ the API

class Abort(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeapi"
    sys_version = ""

    def setup(self):
        ctx = self.server.tls
        if ctx:
            self.request.settimeout(10)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.server.log.write(event="tls-handshake-failed", error=str(e))
                raise Abort() from e
            self.request.settimeout(None)
        self.connection = self.request
        super().setup()

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, Abort, OSError):
            pass

    def log_message(self, fmt, *args):
        pass

    # -- output
    def log_once(self):
        """The request's record, written when its status is sent (a watch
        is logged when it starts, not when it ends)."""
        if self.logged:
            return
        self.logged = True
        r = self.req
        self.server.log.write(ts=r["ts"], method="GET", path=r["path"], query=r["query"],
                              resource=r["resource"], verb=r["verb"], status=self.status_code,
                              auth=r["auth"], fault=self.fault_name)

    def send_json(self, code, obj, headers=None):
        body = dumps(obj).encode()
        self.status_code = code
        self.log_once()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_status(self, code, message, details=None, headers=None, meta=None):
        self.status_code = code
        self.send_json(code, status(code, HTTP_REASONS.get(code, "Unknown"), message,
                                    details, meta), headers)

    def start_chunked(self):
        self.status_code = 200
        self.log_once()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.flush()

    def write_chunks(self, data):
        """Chunked body data; with --chunking random, cut at random
        places, so that no event lines up with a chunk."""
        if not data:
            return
        if self.server.args.chunking == "random":
            rnd = self.server.rnd
            i = 0
            while i < len(data):
                n = rnd.randint(1, 8192)
                part = data[i:i + n]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                i += n
                if rnd.random() < 0.2:
                    self.wfile.flush()
        else:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self):
        """Drops the connection mid-body, as a dying server or proxy."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # -- requests
    def do_GET(self):
        arrived = time.time()
        self.status_code = 200
        self.fault_name = None
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query,
                                                        keep_blank_values=True).items()}
        route = self.route(u.path)
        verb = "watch" if q.get("watch") in ("1", "true") else "list"
        plural = route[2] if route else None
        user = self.authenticate()
        self.logged = False
        self.req = {"ts": arrived, "path": u.path, "query": q, "resource": plural,
                    "verb": verb if route else None, "auth": user}
        try:
            if user is None:
                self.send_status(401, "Unauthorized")
            elif route is None:
                self.send_status(404, "the server could not find the requested resource",
                                 details={})
            else:
                self.serve(route, q, verb, user)
        finally:
            self.log_once()

    def do_POST(self):
        self.status_code = 405
        self.send_status(405, "the server does not allow this method on the requested "
                              "resource")

    do_PUT = do_PATCH = do_DELETE = do_POST

    def authenticate(self):
        """"token" or "cert:CN" when authenticated, else None."""
        auth = self.headers.get("Authorization", "")
        st = self.server.state
        if auth.startswith("Bearer "):
            with st.cond:
                ok = auth[7:].strip() in st.tokens
            # A wrong token is refused even with a good certificate.
            return "token" if ok else None
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            return "cert:" + v
                return "cert"
        return "anonymous" if self.server.args.anonymous else None

    @staticmethod
    def route(path):
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[0] == "api":
            g, v, rest = "", parts[1], parts[2:]
        elif len(parts) >= 4 and parts[0] == "apis":
            g, v, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = None
        if len(rest) == 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if len(rest) != 1 or (g, v, rest[0]) not in RESOURCES:
            return None
        kind, namespaced = RESOURCES[(g, v, rest[0])]
        if ns is not None and not namespaced:
            return None
        return (g, v, rest[0], ns)

    def status_fault(self, plural, verb, group, ns):
        f = self.server.state.take_fault(plural, verb, "status")
        if not f:
            return False
        code = f["status"]
        self.fault_name = "status %d" % code
        headers = {}
        details = None
        if code == 403:
            where = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
            msg = ('%s is forbidden: User "system:serviceaccount:kube-system:kube-nftd" '
                   'cannot %s resource "%s" in API group "%s" %s'
                   % (plural + ("." + group if group else ""), verb, plural, group, where))
            details = {"group": group, "kind": plural} if group else {"kind": plural}
        elif code == 429:
            msg = "Too many requests, please try again later."
            details = {"retryAfterSeconds": f.get("retry_after", 1)}
        elif code == 503:
            msg = f.get("message", "the server is currently unable to handle the request")
        elif code == 500:
            msg = f.get("message", "Internal error occurred: injected fault")
            details = {"causes": [{"message": msg}]}
        else:
            msg = f.get("message", "injected fault")
        if "retry_after" in f:
            headers["Retry-After"] = str(f["retry_after"])
        self.send_status(code, msg, details=details, headers=headers)
        return True

    def serve(self, route, q, verb, user):
        g, v, plural, ns = route
        st = self.server.state
        if self.status_fault(plural, verb, g, ns):
            return
        try:
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"))
        except ValueError as e:
            self.send_status(400, "unable to parse requirement: %s" % e)
            return
        sel = (ns, lsel, fsel)
        if verb == "watch":
            if q.get("sendInitialEvents") == "true":
                if not st.streaming:
                    self.reject_streaming()
                    return
                if q.get("resourceVersionMatch") != "NotOlderThan":
                    self.send_status(422, "ListOptions.meta.k8s.io \"\" is invalid: "
                                          "resourceVersionMatch: Forbidden: sendInitialEvents "
                                          "requires setting resourceVersionMatch to "
                                          "NotOlderThan")
                    return
            elif q.get("resourceVersionMatch"):
                self.send_status(422, "ListOptions.meta.k8s.io \"\" is invalid: "
                                      "resourceVersionMatch: Forbidden: resourceVersionMatch "
                                      "is forbidden for watch unless sendInitialEvents is "
                                      "provided")
                return
            self.watch(g, v, plural, sel, q)
        else:
            self.list(g, v, plural, sel, q)

    def reject_streaming(self):
        # What kube-apiserver 1.33 answers with the WatchList gate off.
        msg = ("ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: "
               "sendInitialEvents is forbidden for watch unless the WatchList feature gate is "
               "enabled")
        self.send_status(422, msg, details={
            "group": "meta.k8s.io", "kind": "ListOptions",
            "causes": [{"reason": "FieldValueForbidden",
                        "message": "Forbidden: sendInitialEvents is forbidden for watch "
                                   "unless the WatchList feature gate is enabled",
                        "field": "sendInitialEvents"}]})

    @staticmethod
    def matches(sel, obj):
        ns, lsel, fsel = sel
        meta = obj.get("metadata") or {}
        if ns is not None and meta.get("namespace") != ns:
            return False
        return label_match(lsel, obj) and field_match(fsel, obj)

    # -- lists
    def list(self, g, v, plural, sel, q):
        st = self.server.state
        kind = RESOURCES[(g, v, plural)][0]
        limit = int(q.get("limit") or 0)
        cont = q.get("continue")
        rv = q.get("resourceVersion")
        if cont and rv not in (None, "", "0"):
            self.send_status(400, "specifying resource version is not allowed when using "
                                  "continue")
            return
        if cont:
            with st.cond:
                snap = st.continues.get(cont)
                forced = st.take_fault(plural, "list", "expire_continue") is not None
            expired = (forced or snap is None or snap["gen"] != st.continue_gen
                           or time.time() - snap["created"] > self.server.args.continue_ttl
                           or snap["rv"] < st.oldest[plural])
            if expired:
                self.fault_name = "continue expired"
                msg = ("The provided continue parameter is too old to display a consistent "
                       "list result. You can start a new list without the continue "
                       "parameter, or use the continue token in this response to retrieve "
                       "the remainder of the results. Continuing with the provided token "
                       "results in an inconsistent list - objects that were created, "
                       "modified, or deleted between the time the first chunk was returned "
                       "and now may show up in the list.")
                self.send_status(410, msg, meta={"continue": self.new_token()})
                return
            items, list_rv, start = snap["items"], snap["rv"], snap["next"]
        else:
            with st.cond:
                list_rv = st.rv
                objs = sorted(st.objects[plural].items())
                items = [copy.deepcopy(o) for _, o in objs if self.matches(sel, o)]
            start = 0
            if rv == "0" and self.server.args.rv0_ignores_limit:
                limit = 0
        end = len(items) if not limit else min(len(items), start + limit)
        meta = {"resourceVersion": str(list_rv)}
        if end < len(items):
            tok = self.new_token()
            with st.cond:
                st.continues[tok] = {"items": items, "rv": list_rv, "next": end,
                                     "created": time.time(), "gen": st.continue_gen}
            meta["continue"] = tok
            meta["remainingItemCount"] = len(items) - end
        page = []
        for o in items[start:end]:
            o = dict(o)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            page.append(o)
        body = {"kind": kind + "List", "apiVersion": api_version(g, v), "metadata": meta,
                "items": page}
        if self.server.take_list_stall(plural):
            self.fault_name = "stall"
            self.start_chunked()
            self.write_chunks(dumps(body).encode()[:100])
            self.stall()
            return
        self.start_chunked()
        self.write_chunks(dumps(body).encode())
        self.end_chunked()

    def new_token(self):
        return base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")

    def stall(self, seconds=3600):
        st = self.server.state
        deadline = time.time() + seconds
        while time.time() < deadline and not st.stopping:
            time.sleep(0.2)
        self.cut()

    # -- watches
    def bookmark(self, g, v, kind, rv, initial_end=False):
        meta = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": kind, "apiVersion": api_version(g, v), "metadata": meta}
        # Bookmarks carry an empty object of the kind, as upstream's do.
        if kind == "Pod":
            obj["spec"] = {"containers": None}
            obj["status"] = {}
        elif kind == "Namespace":
            obj["spec"] = {}
            obj["status"] = {}
        elif kind == "NetworkPolicy":
            obj["spec"] = {"podSelector": {}}
        return {"type": "BOOKMARK", "object": obj}

    def watch(self, g, v, plural, sel, q):
        st = self.server.state
        args = self.server.args
        kind = RESOURCES[(g, v, plural)][0]
        rv = q.get("resourceVersion", "")
        bookmarks = q.get("allowWatchBookmarks") == "true"
        initial = q.get("sendInitialEvents") == "true"
        timeout = int(q.get("timeoutSeconds") or DEFAULT_WATCH_S)
        deadline = time.time() + timeout
        faults = {}
        for name in ("stall", "close_after", "inject"):
            f = st.take_fault(plural, "watch", name)
            if f:
                faults[name] = f
        self.fault_name = ",".join(sorted(faults)) or None
        synthetic = []
        too_old = None
        with st.cond:
            expired_gen = st.expire_gen[plural]
            cut_gen = st.cut_gen[plural]
            if rv in ("", "0") or initial:
                pos = st.rv
                synthetic = [copy.deepcopy(o) for _, o in sorted(st.objects[plural].items())
                             if self.matches(sel, o)]
            else:
                try:
                    pos = int(rv)
                except ValueError:
                    pos = -1
                if pos < st.oldest[plural]:
                    too_old = "too old resource version: %s (%d)" % (rv, st.oldest[plural])
                    as_status = (st.expire_mode[plural] == "status"
                                 or st.take_fault(plural, "watch", "http410") is not None)
            if too_old is None:
                st.watchers[plural] += 1
        if too_old is not None:
            if as_status:
                self.fault_name = "expired (status)"
                self.send_status(410, "The resourceVersion for the provided watch is too old.")
            else:
                # The watch cache's answer: 200, then one ERROR event.
                self.fault_name = "expired (event)"
                self.start_chunked()
                self.write_chunks(dumps({"type": "ERROR", "object": status(
                    410, "Expired", too_old)}).encode() + b"\n")
                self.end_chunked()
            return
        self.stream = {"events": 0, "faults": faults, "plural": plural}
        reason = "timeout"
        try:
            self.start_chunked()
            if "stall" in faults:
                reason = "stall"
                stall = faults["stall"]["stall"]
                self.stall(3600 if stall is True else float(stall))
                return
            buf = [{"type": "ADDED", "object": o} for o in synthetic]
            if initial:
                buf.append(self.bookmark(g, v, kind, pos, initial_end=True))
            next_bm = time.time() + args.bookmark_interval
            while True:
                new, expired, stopping, cur = [], None, False, pos
                with st.cond:
                    if not buf and st.expire_gen[plural] == expired_gen and \
                            st.cut_gen[plural] == cut_gen:
                        until = min(deadline, next_bm) if bookmarks else deadline
                        if until > time.time() and not st.stopping and \
                                (not st.history[plural] or st.history[plural][-1][0] <= pos):
                            st.cond.wait(min(until - time.time(), 1.0))
                    if st.expire_gen[plural] != expired_gen:
                        expired = st.expire_mode[plural]
                        oldest = st.oldest[plural]
                    elif st.cut_gen[plural] != cut_gen:
                        expired = "cut"
                    new, pos = self.pending(st.history[plural], pos, sel)
                    cur = st.rv
                    stopping = st.stopping
                buf.extend({"type": t, "object": copy.deepcopy(o)} for t, o in new)
                if expired == "event":
                    buf.append({"type": "ERROR", "object": status(
                        410, "Expired", "too old resource version: %d (%d)" % (pos, oldest))})
                elif bookmarks and time.time() >= next_bm:
                    # Every event up to cur has been taken: a bookmark
                    # there skips nothing.
                    pos = max(pos, cur)
                    buf.append(self.bookmark(g, v, kind, pos))
                    next_bm = time.time() + args.bookmark_interval
                stop = self.flush_events(buf)
                buf = []
                if stop:
                    reason = stop
                    return
                if expired:
                    reason = "cut" if expired == "cut" else "expired (%s)" % expired
                    if expired == "event":
                        self.end_chunked()
                    else:
                        self.cut()
                    return
                if time.time() >= deadline or stopping:
                    self.end_chunked()
                    return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            reason = "client gone"
        finally:
            with st.cond:
                st.watchers[plural] -= 1
            self.server.log.write(end=reason, resource=plural, events=self.stream["events"])

    def pending(self, hist, pos, sel):
        """Events after pos as this watch sees them (an object leaving
        the selector is DELETED for it), and the new position."""
        lo, hi = 0, len(hist)
        while lo < hi:
            mid = (lo + hi) // 2
            if hist[mid][0] <= pos:
                lo = mid + 1
            else:
                hi = mid
        out = []
        for erv, etype, obj, prev in hist[lo:]:
            now_in = self.matches(sel, obj)
            was_in = prev is not None and self.matches(sel, prev)
            if etype == "DELETED":
                if was_in:
                    out.append(("DELETED", obj))
            elif etype == "ADDED" or not was_in:
                if now_in:
                    out.append(("ADDED", obj))
            elif now_in:
                out.append(("MODIFIED", obj))
            else:
                out.append(("DELETED", obj))
            pos = erv
        return out, pos

    def flush_events(self, buf):
        """Writes events, applying the stream's faults; returns why the
        stream stopped, or None."""
        sm = self.stream
        faults = sm["faults"]
        out = []
        for ev in buf + [None]:
            inject = faults.get("inject")
            if inject and sm["events"] >= inject.get("after", 0):
                out.append(inject["inject"].encode() + b"\n")
                del faults["inject"]
            if ev is None:
                break
            close = faults.get("close_after")
            if close and sm["events"] >= close["close_after"]:
                self.write_chunks(b"".join(out))
                if close.get("clean"):
                    self.end_chunked()
                else:
                    self.cut()
                return "closed after %d events" % sm["events"]
            out.append(dumps(ev).encode() + b"\n")
            if ev["type"] != "BOOKMARK":
                sm["events"] += 1
            if self.server.args.log_events:
                meta = ev["object"].get("metadata") or {}
                self.server.log.write(event=ev["type"], resource=sm["plural"],
                                      name=meta.get("name"), namespace=meta.get("namespace"),
                                      rv=meta.get("resourceVersion"))
        self.write_chunks(b"".join(out))
        return None


class APIServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, args, state, log, tls):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.args = args
        self.state = state
        self.log = log
        self.tls = tls
        self.rnd = random.Random(args.seed)
        super().__init__(addr, Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def take_list_stall(self, plural):
        return self.state.take_fault(plural, "list", "stall") is not None


# ------------------------------------------------------------------ control

class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def address_string(self):
        return "control"

    def reply(self, code, obj):
        body = dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null")

    def do_GET(self):
        st = self.server.state
        if self.path == "/state":
            with st.cond:
                self.reply(200, {"resourceVersion": str(st.rv),
                                 "counts": {p: len(o) for p, o in st.objects.items()},
                                 "watchers": dict(st.watchers),
                                 "faults": list(st.faults)})
        elif self.path == "/healthz":
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        st = self.server.state
        try:
            data = self.body()
            if self.path == "/objects":
                objs = data.get("items", []) if str(data.get("kind", "")).endswith("List") \
                    and data.get("kind") not in BY_KIND else [data]
                rv = None
                for o in objs:
                    rv = st.put(o)
                self.reply(200, {"resourceVersion": str(rv)})
            elif self.path == "/tokens":
                with st.cond:
                    st.tokens = set(data["tokens"])
                self.reply(200, {"ok": True})
            elif self.path == "/faults":
                with st.cond:
                    st.faults.append(data)
                    st.cond.notify_all()
                self.reply(200, {"ok": True})
            elif self.path == "/expire":
                rv = st.expire(data["resource"], data.get("as", "event"))
                self.reply(200, {"resourceVersion": str(rv)})
            elif self.path == "/cut":
                with st.cond:
                    st.cut_gen[data["resource"]] += 1
                    st.cond.notify_all()
                self.reply(200, {"ok": True})
            elif self.path == "/expire-continue":
                with st.cond:
                    st.continue_gen += 1
                self.reply(200, {"ok": True})
            elif self.path == "/streaming":
                with st.cond:
                    st.streaming = bool(data["enabled"])
                self.reply(200, {"ok": True})
            else:
                self.reply(404, {"error": "not found"})
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self.reply(400, {"error": str(e)})

    def do_DELETE(self):
        st = self.server.state
        parts = [urllib.parse.unquote(p) for p in self.path.split("/") if p]
        try:
            if parts == ["faults"]:
                with st.cond:
                    st.faults = []
                self.reply(200, {"ok": True})
            elif parts and parts[0] == "objects" and len(parts) in (3, 4):
                ns, name = (parts[2], parts[3]) if len(parts) == 4 else ("", parts[2])
                rv = st.delete(parts[1], ns, name)
                self.reply(200, {"resourceVersion": str(rv)})
            else:
                self.reply(404, {"error": "not found"})
        except KeyError as e:
            self.reply(404, {"error": "no such object: %s" % e})


class ControlServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path, state):
        self.state = state
        if os.path.exists(path):
            os.unlink(path)
        super().__init__(path, ControlHandler)
        self.inode = os.stat(path).st_ino


# ------------------------------------------------------------------ main

def serve(args):
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    state = State(args)
    log = Log(args.log)
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        tls.set_alpn_protocols(["http/1.1"])
        if args.client_ca:
            tls.verify_mode = ssl.CERT_OPTIONAL
            tls.load_verify_locations(args.client_ca)
    srv = APIServer((host, int(port)), args, state, log, tls)
    ctl = ControlServer(args.control, state) if args.control else None
    threads = [threading.Thread(target=srv.serve_forever, daemon=True)]
    if ctl:
        threads.append(threading.Thread(target=ctl.serve_forever, daemon=True))
    for t in threads:
        t.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(args.ready_file + ".tmp", args.ready_file)
    log.write(event="started", pid=os.getpid(), rv=str(state.rv))
    while not stop.wait(0.2):
        state.save()
    state.save()
    with state.cond:
        state.stopping = True
        state.cond.notify_all()
    srv.shutdown()
    if ctl:
        ctl.shutdown()
        # Only our own socket: a successor may already have bound the path.
        try:
            if os.stat(args.control).st_ino == ctl.inode:
                os.unlink(args.control)
        except OSError:
            pass


def ctl(args):
    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(args.socket)

    body = None
    if args.body:
        if args.body.startswith("@"):
            with open(args.body[1:], "rb") as f:
                body = f.read()
        else:
            body = args.body.encode()
    c = Conn("localhost")
    c.request(args.method, args.path, body=body,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = r.read().decode()
    print(out)
    return 0 if r.status == 200 else 1


def main():
    ap = argparse.ArgumentParser(description="A fake Kubernetes API server for tests.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", required=True, help="ADDR:PORT ([::]:PORT for IPv6)")
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--client-ca", help="accept client certificates signed by this CA")
    s.add_argument("--token", action="append", help="an accepted bearer token")
    s.add_argument("--anonymous", action="store_true", help="serve unauthenticated requests")
    s.add_argument("--control", help="unix socket of the control interface")
    s.add_argument("--log", help="request log, JSON lines")
    s.add_argument("--log-events", action="store_true", help="log every watch event written")
    s.add_argument("--state", help="objects kept across restarts")
    s.add_argument("--ready-file", help="written with the PID once serving")
    s.add_argument("--streaming-lists", action="store_true")
    s.add_argument("--bookmark-interval", type=float, default=60.0)
    s.add_argument("--continue-ttl", type=float, default=300.0)
    s.add_argument("--rv0-ignores-limit", action="store_true",
                   help="serve resourceVersion=0 lists in one page, as older watch caches")
    s.add_argument("--chunking", choices=("event", "random"), default="random")
    s.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("ctl")
    c.add_argument("socket")
    c.add_argument("method")
    c.add_argument("path")
    c.add_argument("body", nargs="?")
    args = ap.parse_args()
    if args.cmd == "serve":
        serve(args)
        return 0
    return ctl(args)


if __name__ == "__main__":
    sys.exit(main())
