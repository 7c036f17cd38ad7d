#!/usr/bin/env python3
#
# Connectivity probe for the namespace tests: runs inside one source pod
# (or node) namespace and tries every target in parallel.
#
#   probe.py [-t TIMEOUT] LABEL=ADDRESS:PROTO:PORT...
#
# LABEL is the name the server at ADDRESS answers with (see server.py),
# e.g. "x/b"; ADDRESS may be IPv4 or IPv6 (no brackets); PROTO is tcp or
# udp.  One line is printed per target, in argument order:
#
#   LABEL ADDRESS PROTO PORT OK
#   LABEL ADDRESS PROTO PORT FAIL reason
#
# TCP: the connection must be accepted and the server's greeting read
# within TIMEOUT seconds (default 1).  UDP: a datagram is sent (again at a
# third and two thirds of TIMEOUT, so that one lost packet does not read
# as a block) and the echo must arrive within TIMEOUT.  A reply naming a
# different server than LABEL is a failure ("wrong-peer"): the flow was not
# the one the test meant.
#
# Exit status: 0 when every target was probed (whatever the outcome),
# 2 on a usage error.

import socket
import sys
import threading
import time


def usage():
    sys.stderr.write(
        "usage: probe.py [-t TIMEOUT] LABEL=ADDRESS:PROTO:PORT...\n")
    sys.exit(2)


def parse_target(arg):
    label, sep, rest = arg.partition("=")
    if not sep or not label:
        usage()
    parts = rest.rsplit(":", 2)
    if len(parts) != 3 or parts[1] not in ("tcp", "udp") \
            or not parts[2].isdigit():
        usage()
    addr, proto, port = parts
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return label, family, addr, proto, int(port)


def reason(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.replace(" ", "-").lower()
    return type(exc).__name__


def check_reply(label, data):
    words = data.decode(errors="replace").split()
    if not words:
        return "FAIL empty-reply"
    if words[0] != label:
        return "FAIL wrong-peer:%s" % words[0]
    return "OK"


def probe_tcp(label, family, addr, port, timeout):
    deadline = time.monotonic() + timeout
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((addr, port))
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            sock.settimeout(left)
            chunk = sock.recv(256)
            if not chunk:
                break
            data += chunk
        return check_reply(label, data)
    except OSError as e:
        return "FAIL " + reason(e)
    finally:
        sock.close()


def probe_udp(label, family, addr, port, timeout):
    deadline = time.monotonic() + timeout
    sends = [deadline - timeout, deadline - timeout * 2 / 3,
             deadline - timeout / 3]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    payload = b"probe"
    try:
        sock.connect((addr, port))
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "FAIL timeout"
            if sends and now >= sends[0]:
                sends.pop(0)
                sock.send(payload)
            wait = (sends[0] if sends else deadline) - now
            sock.settimeout(max(wait, 0.001))
            try:
                data = sock.recv(2048)
            except socket.timeout:
                continue
            return check_reply(label, data)
    except OSError as e:
        return "FAIL " + reason(e)
    finally:
        sock.close()


def main():
    args = sys.argv[1:]
    timeout = 1.0
    if len(args) >= 2 and args[0] == "-t":
        try:
            timeout = float(args[1])
        except ValueError:
            usage()
        args = args[2:]
    targets = [parse_target(a) for a in args]
    results = [None] * len(targets)

    def run(i, target):
        label, family, addr, proto, port = target
        fn = probe_tcp if proto == "tcp" else probe_udp
        try:
            results[i] = fn(label, family, addr, port, timeout)
        except Exception as e:  # never lose a line of output
            results[i] = "FAIL error:" + type(e).__name__

    threads = [threading.Thread(target=run, args=(i, t))
               for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = []
    for (label, _, addr, proto, port), res in zip(targets, results):
        out.append("%s %s %s %d %s\n" % (label, addr, proto, port, res))
    sys.stdout.write("".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
