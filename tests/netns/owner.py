#!/usr/bin/env python3
"""owner.py: another process that owns table inet TABLE.

    owner.py TABLE SCRIPT READY [SECONDS]

Replaces table inet TABLE, in one transaction, with the table that the
nft script SCRIPT defines (`nft -s list table inet TABLE` output, say)
flagged `owner` (NFT_TABLE_F_OWNER): from then on the kernel refuses every
change to the table from any other netlink socket (EPERM), kube-nftd's
commits included, while the rules keep filtering as before.  Writes
"ready" to the file READY, then holds the table until SIGTERM or SIGINT,
or SECONDS (default 120) at most; when it exits its socket closes and the
kernel removes the table.

The transaction goes through libnftables (the library nft itself is built
on, installed with it), whose context keeps one netlink socket open for
its whole life: that socket is the owner.  nft(8) cannot do this, since
its socket, and so the table, goes away when it exits.

Used by tests/netns/daemon_test.sh to make the daemon's commits fail for
real, and to release the failure (by exiting).
"""
import ctypes
import re
import signal
import sys
import time


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    table, script, ready = sys.argv[1:4]
    limit = float(sys.argv[4]) if len(sys.argv) == 5 else 120.0
    text = open(script).read()
    head = "table inet %s {" % table
    if head not in text:
        print("owner.py: %s does not define %s" % (script, head), file=sys.stderr)
        return 2
    # Whatever flags the listing shows, the table is ours now.
    text = re.sub(r"^\s*flags [a-z, ]+\n", "", text, count=1, flags=re.M)
    text = text.replace(head, head + "\n\tflags owner", 1)
    cmd = "table inet %s\ndelete table inet %s\n%s" % (table, table, text)

    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        print("owner.py: nft_ctx_new failed", file=sys.stderr)
        return 1
    if lib.nft_run_cmd_from_buffer(ctx, cmd.encode()) != 0:
        print("owner.py: the kernel refused the table (see above)", file=sys.stderr)
        return 1

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(ready, "w") as f:
        f.write("ready\n")
    end = time.monotonic() + limit
    while not stop and time.monotonic() < end:
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
