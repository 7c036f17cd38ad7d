#!/usr/bin/env python3
#
# Test server for the namespace tests: one process per pod serves every
# port the pod exposes, on IPv4 and IPv6, TCP and UDP.
#
#   server.py [-r READYFILE] NAME PROTO/PORT...
#
# TCP: every accepted connection gets one line "NAME tcp PORT\n" and is
# closed.  UDP: every datagram is answered with "NAME udp PORT " followed by
# the datagram itself.  The probe checks that the reply names the pod it
# meant to reach, so that a routing mistake never passes for an allowed
# flow.
#
# When every socket is bound, the process id is written to READYFILE (via a
# rename, so that a reader never sees a partial file): the harness waits for
# it before probing.  The server runs until it is killed.

import errno
import os
import selectors
import signal
import socket
import sys


def usage():
    sys.stderr.write("usage: server.py [-r READYFILE] NAME PROTO/PORT...\n")
    sys.exit(2)


def parse_args(argv):
    ready = None
    args = argv[1:]
    if len(args) >= 2 and args[0] == "-r":
        ready = args[1]
        args = args[2:]
    if len(args) < 2:
        usage()
    name = args[0]
    services = []
    for spec in args[1:]:
        proto, _, port = spec.partition("/")
        if proto not in ("tcp", "udp") or not port.isdigit():
            usage()
        services.append((proto, int(port)))
    return ready, name, services


def open_socket(family, proto, port):
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        # Separate IPv4 and IPv6 sockets: a v4-mapped listener would hide
        # which family actually carried the probe.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(("::", port))
    else:
        sock.bind(("0.0.0.0", port))
    if proto == "tcp":
        sock.listen(128)
    sock.setblocking(False)
    return sock


def serve(name, services):
    sel = selectors.DefaultSelector()
    for family in (socket.AF_INET, socket.AF_INET6):
        for proto, port in services:
            sock = open_socket(family, proto, port)
            sel.register(sock, selectors.EVENT_READ, (proto, port))
    return sel


def loop(sel, name):
    while True:
        for key, _ in sel.select():
            proto, port = key.data
            sock = key.fileobj
            try:
                if proto == "tcp":
                    conn, _ = sock.accept()
                    try:
                        conn.settimeout(1.0)
                        conn.sendall(("%s tcp %d\n" % (name, port)).encode())
                    finally:
                        conn.close()
                else:
                    data, peer = sock.recvfrom(2048)
                    reply = ("%s udp %d " % (name, port)).encode() + data
                    sock.sendto(reply, peer)
            except OSError as e:
                # A client that gave up (reset, unreachable) is its own
                # problem; the server keeps serving everybody else.
                if e.errno not in (errno.EAGAIN, errno.ECONNRESET,
                                   errno.ECONNREFUSED, errno.EPIPE,
                                   errno.ETIMEDOUT, errno.EHOSTUNREACH,
                                   errno.ENETUNREACH, None):
                    raise


def main():
    ready, name, services = parse_args(sys.argv)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sel = serve(name, services)
    if ready:
        tmp = ready + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, ready)
    try:
        loop(sel, name)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
