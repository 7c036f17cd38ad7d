#! @ATF_SH@
#
# kube-nftd with a directory source, on the two-node cluster of lib.sh:
# files dropped into and removed from the folder change what really
# connects; signals, status, metrics and sd_notify behave as documented.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
. "$KN_TOP_SRCDIR/tests/netns/lib.sh"

KN_DAEMON=$KN_TOP_BUILDDIR/src/kube-nftd
TABLE=kube-nftd
# snapshot NS PREFIX, same WHAT A B: normalized listings of the table.
. "$KN_TOP_SRCDIR/tests/netns/listing.sh"

common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft python3"
}

# daemon_start N [OPTION...]: run kube-nftd for node N in its namespace on
# the folder dirN, with its control socket, log and metrics in the work dir.
daemon_start()
{
	_n=$1
	shift
	mkdir -p "dir$_n"
	ip netns exec "$(kn_node_netns "$_n")" "$KN_DAEMON" --node "node$_n" \
		--source "dir:$(pwd)/dir$_n" --control-socket "$(pwd)/ctl$_n" \
		--metrics-file "$(pwd)/metrics$_n.prom" --config /dev/null "$@" \
		>"daemon$_n.log" 2>&1 &
	echo "$!" >"daemon$_n.pid"
	echo "$! daemon" >>"$KN_WORKDIR/kn.pids"
}

# commits N: the number of commits node N's daemon reports (0 if none yet).
commits()
{
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl$1" 2>/dev/null |
		awk '/^commits:/ { print $2; found = 1 } END { if (!found) print 0 }'
}

# wait_commits N COUNT: wait until node N's daemon has committed COUNT times.
wait_commits()
{
	_i=0
	while [ "$(commits "$1")" -lt "$2" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ]; then
			cat "daemon$1.log" >&2
			atf_fail "node$1: no commit number $2 after 5 s"
		fi
		sleep 0.05
	done
}

# status_field N FIELD: a number from node N's status line "FIELD: N".
status_field()
{
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl$1" 2>/dev/null |
		awk -v f="$2:" '$1 == f { print $2 + 0; found = 1 } END { if (!found) print 0 }'
}

# at_least N FIELD COUNT: node N's status shows FIELD >= COUNT.
at_least()
{
	[ "$(status_field "$1" "$2")" -ge "$3" ]
}

# wait_until SECONDS WHAT COMMAND...: poll COMMAND every 50 ms until it
# succeeds; fail with WHAT (and the daemon logs) after SECONDS.
wait_until()
{
	_limit=$(($1 * 20))
	_what=$2
	shift 2
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		if [ "$_i" -gt "$_limit" ]; then
			for _f in daemon*.log; do
				[ -f "$_f" ] && { echo "---- $_f"; cat "$_f"; } >&2
			done
			atf_fail "$_what (after $((_limit / 20)) s)"
		fi
		sleep 0.05
	done
}

# reference NODE FILE...: the listing a fresh `kube-nftctl apply` of FILE...
# gives for node NODE, in a namespace of its own: ref.nft and ref.json.
reference()
{
	_n=$1
	shift
	_ref=$(kn_prefix)-ref
	if ! grep -qx "$_ref" "$KN_WORKDIR/kn.netns"; then
		echo "$_ref" >>"$KN_WORKDIR/kn.netns"
		ip netns add "$_ref" || atf_fail "cannot create $_ref"
	fi
	ip netns exec "$_ref" "$KN_NFTCTL" apply --node "node$_n" "$@" 2>stderr ||
		atf_fail "kube-nftctl apply $*: $(cat stderr)"
	snapshot "$_ref" ref
}

# cluster_start POD... [-- FILE...]: the cluster of lib.sh with these pods,
# the state of its pods (state.json) and FILE... in the folders of both
# nodes, and a daemon on each, having committed once.
cluster_start()
{
	_pods=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		_pods="$_pods $1"
		shift
	done
	[ $# -gt 0 ] && shift
	# shellcheck disable=SC2086 # one word per pod
	kn_setup $_pods
	kn_state state.json
	mkdir -p dir1 dir2
	for _n in 1 2; do cp state.json "$@" "dir$_n/"; done
	daemon_start 1
	daemon_start 2
	wait_commits 1 1
	wait_commits 2 1
}

# publish FILE NAME: put FILE into both folders the way an editor or a
# GitOps agent does: write a temporary file, then rename it in.
publish()
{
	for _n in 1 2; do
		cp "$1" "dir$_n/.$2.tmp"
		mv "dir$_n/.$2.tmp" "dir$_n/$2"
	done
}

# take_table: another process (pid in $owner) takes node1's table over,
# rules and all, as its owner (NFT_TABLE_F_OWNER): the kernel refuses
# every change to it from any other socket.  Needs $node.
take_table()
{
	ip netns exec "$node" nft -s list table inet $TABLE >old.nft ||
		atf_fail "cannot list the table"
	ip netns exec "$node" "$KN_PYTHON" "$KN_NETNS_DIR/owner.py" $TABLE old.nft \
		owner.ready 120 >owner.log 2>&1 &
	owner=$!
	echo "$owner owner" >>"$KN_WORKDIR/kn.pids"
	wait_until 10 "the owner did not take the table: $(cat owner.log)" test -s owner.ready
}

deny_x()
{
	kn_netpol x deny '{"podSelector":{},"policyTypes":["Ingress"]}' >deny.json
}

OPEN_TABLE='
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   X   -   X   X   X   X   X   X   X
x/c   X   X   -   X   X   X   X   X   X
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -'

DENY_X_TABLE='
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -'

# ------------------------------------------------------------------------

atf_test_case policy_file_added_and_removed cleanup
policy_file_added_and_removed_head()
{
	common_head "A policy file dropped into the folder blocks traffic; removing it restores traffic"
}
policy_file_added_and_removed_body()
{
	kn_setup
	kn_state state.json
	mkdir dir1 dir2
	cp state.json dir1/ && cp state.json dir2/
	daemon_start 1
	daemon_start 2
	wait_commits 1 1
	wait_commits 2 1
	echo "$OPEN_TABLE" | kn_expect tcp/80 udp/81
	kn_verify

	deny_x
	publish deny.json deny.json
	wait_commits 1 2
	wait_commits 2 2
	echo "$DENY_X_TABLE" | kn_expect tcp/80 udp/81
	kn_verify
	grep -q "dir1/deny.json changed" daemon1.log || atf_fail "the change was not logged"

	rm dir1/deny.json dir2/deny.json
	wait_commits 1 3
	wait_commits 2 3
	echo "$OPEN_TABLE" | kn_expect tcp/80 udp/81
	kn_verify
}
policy_file_added_and_removed_cleanup()
{
	kn_cleanup
}

atf_test_case broken_file_keeps_enforcement cleanup
broken_file_keeps_enforcement_head()
{
	common_head "A file that stops parsing keeps its previous objects enforced"
}
broken_file_keeps_enforcement_body()
{
	kn_setup x/a x/c y/a
	kn_state state.json
	deny_x
	mkdir dir1 dir2
	for n in 1 2; do cp state.json deny.json "dir$n/"; done
	daemon_start 1
	daemon_start 2
	wait_commits 1 1
	wait_commits 2 1
	# A half-written file (what a crashed editor leaves): x stays closed.
	for n in 1 2; do printf '{"apiVersion": "networking.k8s.io/v1", "kind": "Netw' \
		>"dir$n/deny.json"; done
	sleep 0.3
	grep -q "keeping its previous objects" daemon1.log || atf_fail "no error was logged"
	kn_expect tcp/80 <<'EOF'
     x/a x/c y/a
x/a   -   .   X
x/c   .   -   X
y/a   .   .   -
EOF
	kn_verify
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" | grep -q "(1 failing)" ||
		atf_fail "status does not show the failing file"
}
broken_file_keeps_enforcement_cleanup()
{
	kn_cleanup
}

atf_test_case pod_ip_reuse cleanup
pod_ip_reuse_head()
{
	common_head "An address reused by a new pod in another namespace gets the new pod's policies"
}
pod_ip_reuse_body()
{
	kn_setup x/a x/b y/a
	# y is closed for ingress, x is open.
	kn_netpol y deny '{"podSelector":{},"policyTypes":["Ingress"]}' >deny-y.json
	kn_state state.json deny-y.json
	mkdir dir1 dir2
	for n in 1 2; do cp state.json "dir$n/state.json"; done
	daemon_start 1
	daemon_start 2
	wait_commits 1 1
	wait_commits 2 1
	kn_expect tcp/80 <<'EOF'
     x/a x/b y/a
x/a   -   X   .
x/b   X   -   .
y/a   X   X   -
EOF
	kn_verify
	# x/b is deleted and its address is given to a new pod y/reused.
	cat >reuse.py <<'EOF'
import json, sys
state = json.load(sys.stdin)
items = []
for o in state["items"]:
    if o["kind"] == "Pod" and o["metadata"]["namespace"] == "x" and o["metadata"]["name"] == "b":
        o = json.loads(json.dumps(o))
        o["metadata"] = {"namespace": "y", "name": "reused", "labels": {"pod": "reused"}}
    items.append(o)
state["items"] = items
json.dump(state, sys.stdout)
EOF
	python3 reuse.py <state.json >state2.json || atf_fail "cannot rewrite the state"
	for n in 1 2; do cp state2.json "dir$n/.s.tmp" && mv "dir$n/.s.tmp" "dir$n/state.json"; done
	wait_commits 1 2
	wait_commits 2 2
	# The server in x/b's namespace now stands for y/reused: closed.
	kn_expect tcp/80 <<'EOF'
     x/a x/b y/a
x/a   -   .   .
x/b   X   -   .
y/a   X   .   -
EOF
	kn_verify
}
pod_ip_reuse_cleanup()
{
	kn_cleanup
}

atf_test_case long_connection_survives_updates cleanup
long_connection_survives_updates_head()
{
	common_head "An allowed long-lived connection is not disturbed by unrelated updates"
}
long_connection_survives_updates_body()
{
	cluster_start x/a x/c y/a z/a
	# An echo server in x/c, and x/a keeping one TCP connection to it
	# open, talking over it every 50 ms for 3 s: it must never break.
	cat >echo.py <<'EOF'
import socket, sys
srv = socket.create_server(("0.0.0.0", 9000))
print("ready", flush=True)
conn, _ = srv.accept()
while True:
    data = conn.recv(64)
    if not data:
        break
    conn.sendall(data)
EOF
	ip netns exec "$(kn_pod_netns x/c)" python3 echo.py >echo.out 2>&1 &
	echo "$! echo" >>"$KN_WORKDIR/kn.pids"
	i=0
	until grep -q ready echo.out; do
		i=$((i + 1)); [ "$i" -lt 100 ] || atf_fail "echo server not ready"; sleep 0.05
	done
	cat >client.py <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 9000), timeout=2)
ok = 0
end = time.time() + 3
while time.time() < end:
    s.sendall(b"ping\n")
    if not s.recv(64):
        print("closed after", ok); sys.exit(1)
    ok += 1
    time.sleep(0.05)
print("ok", ok)
EOF
	ip netns exec "$(kn_pod_netns x/a)" python3 client.py "$(kn_addr x/c 4)" >conn.out 2>&1 &
	client=$!
	for i in 1 2 3 4 5; do
		kn_netpol z "unrelated-$i" '{"podSelector":{},"policyTypes":["Ingress"]}' >u.json
		publish u.json "u$i.json"
		sleep 0.3
	done
	wait "$client" || { cat conn.out; atf_fail "the connection broke"; }
	grep -q '^ok' conn.out || atf_fail "$(cat conn.out)"
	[ "$(commits 1)" -ge 6 ] || atf_fail "only $(commits 1) commits on node1"
}
long_connection_survives_updates_cleanup()
{
	kn_cleanup
}

atf_test_case signals_status_metrics cleanup
signals_status_metrics_head()
{
	common_head "READY after the first sync, SIGHUP resyncs, SIGTERM keeps the ruleset, --cleanup-on-exit removes it"
}
signals_status_metrics_body()
{
	kn_topology_init 1
	node=$(kn_node_netns 1)
	mkdir dir1
	cp "$KN_TOP_SRCDIR/tests/golden/basic.yaml" dir1/
	# A stand-in for systemd's notification socket.
	python3 - "$(pwd)/notify" >notify.out <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
try:
    while True:
        msg = s.recv(4096).decode()
        print(msg, flush=True)
        if msg.startswith("STOPPING"):
            break
except socket.timeout:
    pass
EOF
	echo "$! notify" >>"$KN_WORKDIR/kn.pids"
	while [ ! -S notify ]; do sleep 0.05; done
	NOTIFY_SOCKET=$(pwd)/notify daemon_start 1
	wait_commits 1 1
	grep -qx "READY=1" notify.out || atf_fail "no READY=1: $(cat notify.out)"
	grep -q "^STATUS=enforcing 1 pods, 2 policies" notify.out ||
		atf_fail "no STATUS: $(cat notify.out)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "^state: synced" status.out || atf_fail "$(cat status.out)"
	grep -q "^enforced: 1 local pods, 2 policies" status.out || atf_fail "$(cat status.out)"
	grep -q "^kube_nftd_commits_total 1$" metrics1.prom || atf_fail "$(cat metrics1.prom)"
	grep -q '^kube_nftd_objects{kind="Pod"} 3$' metrics1.prom || atf_fail "$(cat metrics1.prom)"
	# The daemon's own descriptors (sockets: netlink, control; epoll,
	# inotify, timers, signals) are close-on-exec: none leaks into a
	# child.  (Files it inherited from the shell are not its own.)
	pid=$(cat daemon1.pid)
	for f in /proc/"$pid"/fdinfo/*; do
		fd=${f##*/}
		case $(readlink "/proc/$pid/fd/$fd") in
		socket:* | anon_inode:*) ;;
		*) continue ;;
		esac
		flags=$(sed -n 's/^flags:[[:space:]]*//p' "$f")
		[ $((0$flags & 02000000)) -ne 0 ] ||
			atf_fail "fd $fd of kube-nftd is not close-on-exec: $(readlink "/proc/$pid/fd/$fd")"
	done

	kill -HUP "$(cat daemon1.pid)"
	wait_commits 1 2
	grep -q "SIGHUP" daemon1.log || atf_fail "SIGHUP not logged"

	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error"
	ip netns exec "$node" nft list table inet kube-nftd >/dev/null ||
		atf_fail "the ruleset was removed on SIGTERM"
	grep -q "STOPPING=1" notify.out || atf_fail "no STOPPING=1"

	daemon_start 1 --cleanup-on-exit
	wait_commits 1 1
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
	if ip netns exec "$node" nft list table inet kube-nftd >/dev/null 2>&1; then
		atf_fail "--cleanup-on-exit left the table"
	fi
}
signals_status_metrics_cleanup()
{
	kn_cleanup
}

atf_test_case bad_options cleanup
bad_options_head()
{
	common_head "Bad options and configuration files are refused with a clear message"
}
bad_options_body()
{
	atf_check -s exit:2 -e match:"unknown option|unrecognized option" "$KN_DAEMON" --bogus
	atf_check -s exit:2 -e match:"debounce-ms: 'abc' is not a number" \
		"$KN_DAEMON" --debounce-ms abc
	atf_check -s exit:2 -e match:"resync-interval: '-1' is not a number of seconds" \
		"$KN_DAEMON" --resync-interval -1
	printf 'resync-interval = 86401\n' >long.conf
	atf_check -s exit:1 -e match:"long.conf:1: resync-interval: '86401' is not a number" \
		"$KN_DAEMON" --config long.conf
	printf 'node = n1\nfrobnicate = yes\n' >bad.conf
	atf_check -s exit:1 -e match:"bad.conf:2: unknown setting 'frobnicate'" \
		"$KN_DAEMON" --config bad.conf
	atf_check -s exit:1 -e match:"source .ftp:x.*dir:PATH" "$KN_DAEMON" --config /dev/null \
		--source ftp:x
	atf_check -s exit:0 -o match:"^kube-nftd [0-9]" "$KN_DAEMON" --version
	atf_check -s exit:0 -o match:"--cleanup-on-exit" "$KN_DAEMON" --help
	atf_check -s exit:0 -o match:"--resync-interval S" "$KN_DAEMON" --help
}
bad_options_cleanup()
{
	kn_cleanup
}

atf_test_case commit_failure_retried cleanup
commit_failure_retried_head()
{
	common_head "A commit the kernel refuses is retried with backoff, the old ruleset staying whole, until the daemon recovers alone"
}
commit_failure_retried_body()
{
	cluster_start x/a x/b x/c y/a
	node=$(kn_node_netns 1)

	# Another process takes node1's table over, rules and all, as its
	# owner: the daemon's commits fail with EPERM.
	take_table
	# (nft 1.0.6 prints an owned table's flags as garbage in JSON: the
	# text listing only.)
	ip netns exec "$node" nft -s list table inet $TABLE >held.nft

	# x closes: node2 commits it, node1 cannot.
	deny_x
	publish deny.json deny.json
	wait_commits 2 2
	wait_until 10 "node1: fewer than 3 failed commits" at_least 1 failures 3
	kill -0 "$(cat daemon1.pid)" || atf_fail "kube-nftd exited: $(cat daemon1.log)"
	# One line per attempt, attempts 1, 2, 4 s apart: no tight loop.
	f=$(status_field 1 failures)
	n=$(grep -c "commit failed" daemon1.log)
	[ "$n" -eq "$f" ] || atf_fail "$f failed commits but $n log lines: $(cat daemon1.log)"
	[ "$f" -le 4 ] || atf_fail "$f attempts in a few seconds: $(cat daemon1.log)"
	grep "commit failed" daemon1.log | head -3 | grep -o "retrying in [0-9]* ms" >delays
	printf 'retrying in %s ms\n' 1000 2000 4000 >delays.expected
	same "the backoff" delays.expected delays
	grep "commit failed" daemon1.log | head -1 |
		grep -q "Operation not permitted .*; another process owns table inet $TABLE" ||
		atf_fail "the error does not say why: $(cat daemon1.log)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "^last error: .*Operation not permitted" status.out ||
		atf_fail "status does not show the error: $(cat status.out)"
	# kube-nftctl apply is refused alike, and says why.
	ip netns exec "$node" "$KN_NFTCTL" apply --node node1 deny.json >apply.out 2>&1 &&
		atf_fail "kube-nftctl apply succeeded on a table another process owns"
	grep -q "Operation not permitted.*; another process owns table inet $TABLE" apply.out ||
		atf_fail "kube-nftctl apply does not say why: $(cat apply.out)"
	grep -q "nothing was applied" apply.out || atf_fail "$(cat apply.out)"

	# The old ruleset is whole: the same listing, the same traffic (x
	# still open on node1, closed on node2).
	ip netns exec "$node" nft -s list table inet $TABLE >now.nft
	same "the table while commits fail" held.nft now.nft
	kn_expect tcp/80 <<'EOF'
     x/a x/b x/c y/a
x/a   -   X   .   X
x/b   X   -   .   X
x/c   X   X   -   X
y/a   X   X   .   -
EOF
	kn_verify

	# The owner exits and its table goes with it: the next retry
	# replaces the table as a whole, with no help.
	c=$(commits 1)
	kill "$owner"
	wait "$owner"
	wait_until 20 "node1 did not recover" at_least 1 commits $((c + 1))
	# The takeover was another process's change; the table is
	# replaced as a whole, for that reason.
	grep -q "was changed by another process, python3 (pid $owner): replaced the table" \
		daemon1.log || atf_fail "the takeover was not logged: $(cat daemon1.log)"
	grep "committed table" daemon1.log | tail -1 |
		grep -q "messages (full), .* ms, restored after another process changed it" ||
		atf_fail "the recovery was not a full replacement: $(tail -3 daemon1.log)"
	grep -q "commit succeeded after $(status_field 1 failures) failed attempts" daemon1.log ||
		atf_fail "the recovery was not logged: $(cat daemon1.log)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "^last error: none" status.out || atf_fail "status still shows an error: $(cat status.out)"
	reference 1 dir1/state.json dir1/deny.json
	snapshot "$node" now
	same "the table after recovery (nft -s list)" ref.nft now.nft
	same "the table after recovery (nft -j list)" ref.json now.json
	kn_expect tcp/80 <<'EOF'
     x/a x/b x/c y/a
x/a   -   .   .   X
x/b   .   -   .   X
x/c   .   .   -   X
y/a   .   .   .   -
EOF
	kn_verify
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
}
commit_failure_retried_cleanup()
{
	kn_cleanup
}

atf_test_case reload_ends_backoff cleanup
reload_ends_backoff_head()
{
	common_head "A SIGHUP that commits while a retry is pending ends the backoff"
}
reload_ends_backoff_body()
{
	cluster_start x/a x/b x/c y/a
	node=$(kn_node_netns 1)
	take_table
	deny_x
	publish deny.json deny.json
	# Three attempts fail: the next retry is 4 s away.
	wait_until 10 "node1: fewer than 3 failed commits" at_least 1 failures 3
	kill "$owner"
	wait "$owner"
	c=$(commits 1)
	kill -HUP "$(cat daemon1.pid)"
	wait_commits 1 $((c + 1))
	# The reload committed: the retry is off, and a change is committed
	# after the debounce, not when the stale retry would have fired.
	rm dir1/deny.json
	wait_until 2 "node1: the change waited for a retry" at_least 1 commits $((c + 2))
	sleep 4
	grep -q '^kube_nftd_resyncs_total{reason="failure"} 0$' metrics1.prom ||
		atf_fail "a retry after the reload: $(grep resyncs metrics1.prom; cat daemon1.log)"
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
}
reload_ends_backoff_cleanup()
{
	kn_cleanup
}

# x admits only y; x/a, x/b, y/a and z/a on node1, x/c on node2.
FROM_Y_TABLE='
     x/a x/b x/c y/a z/a
x/a   -   .   .   X   X
x/b   .   -   .   X   X
x/c   .   .   -   X   X
y/a   X   X   X   -   X
z/a   .   .   .   X   -'

from_y()
{
	kn_netpol x from-y '{"podSelector":{},"policyTypes":["Ingress"],
		"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}' >from-y.json
}

# restored N: node N's table is the reference again (ref.nft, ref.json).
restored()
{
	snapshot "$(kn_node_netns "$1")" now 2>/dev/null &&
		cmp -s ref.nft now.nft && cmp -s ref.json now.json
}

# tamper WORDS COMMAND...: run COMMAND (nft, kube-nftctl) in node1's
# namespace, as another process; the daemon must log once who did what
# (WORDS), put the table back as it was within 5 s, and enforce again.
TAMPERS=0
tamper()
{
	_words=$1
	shift
	_warned=$(grep -c "was changed by another process" daemon1.log)
	_c=$(commits 1)
	ip netns exec "$(kn_node_netns 1)" "$@" >tamper.out 2>&1 &
	_pid=$!
	wait "$_pid" || atf_fail "$* failed: $(cat tamper.out)"
	TAMPERS=$((TAMPERS + 1))
	wait_until 5 "$*: the table was not restored" at_least 1 commits $((_c + 1))
	wait_until 5 "$*: the table differs from the reference" restored 1
	grep "was changed by another process" daemon1.log >warned
	[ "$(wc -l <warned)" -eq $((_warned + 1)) ] ||
		atf_fail "$*: not logged once: $(cat daemon1.log)"
	_comm=$(basename "$1")
	tail -1 warned | grep -qF "$_comm (pid $_pid): $_words; replacing the whole table" ||
		atf_fail "$*: the warning does not say '$_comm (pid $_pid): $_words': $(tail -1 warned)"
	grep "committed table" daemon1.log | tail -1 |
		grep -q "(full), .* ms, restored after another process changed it" ||
		atf_fail "$*: $(grep "committed table" daemon1.log | tail -1)"
	[ "$(status_field 1 tampering)" -eq "$TAMPERS" ] ||
		atf_fail "$*: status counts $(status_field 1 tampering) changes, not $TAMPERS"
	echo "$FROM_Y_TABLE" | kn_expect tcp/80
	kn_verify
}

atf_test_case tampering_undone cleanup
tampering_undone_head()
{
	common_head "Changes that other processes make to the table are logged once, with who made them, and undone"
}
tampering_undone_body()
{
	from_y
	cluster_start x/a x/b x/c y/a z/a -- from-y.json
	reference 1 dir1/state.json dir1/from-y.json
	restored 1 || atf_fail "the daemon's table is not what kube-nftctl apply gives"
	echo "$FROM_Y_TABLE" | kn_expect tcp/80
	kn_verify

	# Each of these opens x on node1, until the daemon undoes it.
	tamper "deleted 4 rules" nft flush chain inet $TABLE forward-ingress
	handle=$(ip netns exec "$(kn_node_netns 1)" nft -a list chain inet $TABLE forward-ingress |
		awk '/ip daddr vmap @ingress-v4/ { print $NF }')
	[ -n "$handle" ] || atf_fail "no dispatch rule in forward-ingress"
	tamper "deleted 1 rule" nft delete rule inet $TABLE forward-ingress handle "$handle"
	tamper "added 1 set element" nft add element inet $TABLE \
		np/x/from-y/ingress/0/peers-v4 "{ $(kn_addr z/a 4) }"
	tamper "added 1 rule" nft insert rule inet $TABLE forward-ingress accept
	tamper "deleted the table" nft delete table inet $TABLE
	# An operator's kube-nftctl apply while the daemon runs is a change
	# by another process too: the daemon owns the table.
	tamper "replaced the table" "$KN_NFTCTL" apply --node node1 dir1/state.json

	# Our own commits, an unrelated change of another table, and a
	# listing are not tampering.
	kn_netpol z deny '{"podSelector":{},"policyTypes":["Ingress"]}' >z.json
	publish z.json z.json
	wait_commits 1 8
	ip netns exec "$(kn_node_netns 1)" nft add table inet other
	ip netns exec "$(kn_node_netns 1)" nft list ruleset >/dev/null
	kill -HUP "$(cat daemon1.pid)"
	wait_commits 1 9
	# (the daemon reads the table's notifications in order: a change it
	# would take for tampering would have been logged by now)
	[ "$(grep -c "was changed by another process" daemon1.log)" -eq "$TAMPERS" ] ||
		atf_fail "our own commits were taken for tampering: $(cat daemon1.log)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "^tampering: $TAMPERS changes by other processes; last .* by kube-nftctl (pid [0-9]*): replaced the table$" \
		status.out || atf_fail "status: $(cat status.out)"
	grep -q "^resyncs: 8 (start 1, reload 1, failure 0, tamper $TAMPERS, lost-events 0, periodic 0)" \
		status.out || atf_fail "status: $(cat status.out)"
	grep -q "^monitor: on; [0-9]* notifications read (0 of our own), 0 overruns" status.out ||
		atf_fail "status: $(cat status.out)"
	grep -q "^kube_nftd_tamper_total $TAMPERS$" metrics1.prom || atf_fail "$(cat metrics1.prom)"
	grep -q "^kube_nftd_resyncs_total{reason=\"tamper\"} $TAMPERS$" metrics1.prom ||
		atf_fail "$(cat metrics1.prom)"
	# A clean exit (under ASan: no leak on the monitor's paths).
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
}
tampering_undone_cleanup()
{
	kn_cleanup
}

atf_test_case lost_notifications_resync cleanup
lost_notifications_resync_head()
{
	common_head "Lost netlink notifications (ENOBUFS) replace the table; the periodic resync does too"
}
lost_notifications_resync_body()
{
	from_y
	kn_setup x/a x/c y/a z/a
	kn_state state.json
	mkdir dir1
	cp state.json from-y.json dir1/
	# The smallest receive buffer the kernel allows (2 KiB), and a
	# daemon stopped while another process adds a set of 2,000 elements
	# to its table at once: their notifications overrun it.  (The
	# daemon's own sets take no more elements than their size.)
	KN_TEST_MONITOR_RCVBUF=1 daemon_start 1
	wait_commits 1 1
	reference 1 dir1/state.json dir1/from-y.json
	awk -v t=$TABLE 'BEGIN { printf "add set inet %s flood { type ipv4_addr; }\n", t
		printf "add element inet %s flood { ", t
		for (i = 0; i < 2000; i++) printf "%s10.99.%d.%d", i ? ", " : "", i / 250, i % 250 + 1
		print " }" }' >flood.nft
	kill -STOP "$(cat daemon1.pid)"
	ip netns exec "$(kn_node_netns 1)" nft -f flood.nft || atf_fail "nft -f flood.nft failed"
	kill -CONT "$(cat daemon1.pid)"
	wait_until 5 "no resync after lost notifications" at_least 1 commits 2
	wait_until 5 "the table was not restored" restored 1
	# Once, however many times the buffer overran meanwhile.
	[ "$(grep -c "warning: netlink monitor: nftables notifications were lost" daemon1.log)" \
		-eq 1 ] || atf_fail "the loss was not logged once: $(cat daemon1.log)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "lost-events 1" status.out || atf_fail "status: $(cat status.out)"
	grep -q '^kube_nftd_monitor_overruns_total [1-9]' metrics1.prom ||
		atf_fail "$(cat metrics1.prom)"
	kn_expect tcp/80 <<'EOF'
     x/a y/a z/a
x/a   -   X   X
y/a   X   -   X
z/a   .   X   -
EOF
	kn_verify

	# The periodic resync, from the command line or the file.
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
	echo "resync-interval = 1" >resync.conf
	daemon_start 1 --config resync.conf
	wait_until 5 "no periodic resync" at_least 1 commits 3
	grep -q "messages (full), .* ms, periodic resync" daemon1.log ||
		atf_fail "$(cat daemon1.log)"
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" >status.out
	grep -q "periodic [1-9][0-9]*); periodic every 1 s" status.out || atf_fail "status: $(cat status.out)"
	restored 1 || atf_fail "the periodic resync changed the table"
	kill -TERM "$(cat daemon1.pid)"
	wait "$(cat daemon1.pid)" || atf_fail "kube-nftd exited with an error: $(cat daemon1.log)"
	daemon_start 1 --resync-interval 0
	wait_commits 1 1
	"$KN_NFTCTL" status --control-socket "$(pwd)/ctl1" | grep -q "no periodic resync" ||
		atf_fail "--resync-interval 0 did not turn it off"
}
lost_notifications_resync_cleanup()
{
	kn_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case policy_file_added_and_removed
	atf_add_test_case broken_file_keeps_enforcement
	atf_add_test_case pod_ip_reuse
	atf_add_test_case long_connection_survives_updates
	atf_add_test_case signals_status_metrics
	atf_add_test_case bad_options
	atf_add_test_case commit_failure_retried
	atf_add_test_case reload_ends_backoff
	atf_add_test_case tampering_undone
	atf_add_test_case lost_notifications_resync
}
