#!/bin/sh
# The per-packet cost of issue 3: new TCP connections per second between
# two pods through a node with 0 and with 2,000 policies, which should be
# within 10% of each other.
#
# The topology is the one of the namespace tests (tests/netns/lib.sh): a
# node namespace, node1, and routed pods bench/client, bench/server and
# bench/denied behind veth pairs, so that pod-to-pod traffic crosses the
# node's forward hook, where kube-nftd's table sits.  kube-nftctl apply
# --node node1 loads, on the same pods, one of
#   zero   the table, the 3 pods and 200 more local pods (addresses only,
#          perpkt.py cluster), no NetworkPolicy
#   full   the same with 2,000 policies, all compiled on node1: 1,999
#          select the other local pods, one (bench/crr) the client and
#          the server, admitting the client's TCP and UDP to port 80
#   none   no table at all (kube-nftctl flush), a reference
# and the load (perpkt.py load: processes opening connections one after
# the other, connect, 64-byte request, 128-byte response, close) runs for
# a fixed time against perpkt.py serve.  Each round measures the three
# configurations one after the other (zero full none, then none full
# zero), conntrack flushed before each; the rates are medians of the
# rounds.  Before the rounds, `nft -j list ruleset` tells what the table
# holds, and probes (tests/netns/probe.py, TCP and UDP) check that the
# client reaches the server and that bench/denied, which no policy admits,
# gets nothing with the policies and everything without them.
#
#   tests/bench/perpkt.sh [--quick] [--rounds N] [--duration S] [--procs N]
#       [--policies N] [--no-doc] [--build DIR]
#
# Run as root on Debian 12.  scripts/bench calls it; it also runs alone
# (building build-bench/, or $KN_BENCH_BUILD, if needed).  Its table goes
# to docs/performance.md between the perpkt-bench markers unless --no-doc.
# Every namespace it makes is deleted on exit, failure and Ctrl-C; the
# machine's own ruleset is never touched.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${KN_BENCH_BUILD:-$top/build-bench}
bench=$top/tests/bench

rounds=7 duration=5 warmup=1 procs=2 policies=2000 doc=1
usage() {
	echo "usage: tests/bench/perpkt.sh [--quick] [--rounds N] [--duration S]" \
		"[--procs N] [--policies N] [--no-doc] [--build DIR]"
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=3 duration=3 ;;
	--rounds) rounds=$2; shift ;;
	--duration) duration=$2; shift ;;
	--procs) procs=$2; shift ;;
	--policies) policies=$2; shift ;;
	--build) build=$2; shift ;;
	--no-doc) doc=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

say() { printf '%s\n' "perpkt: $*" >&2; }
die() {
	say "$*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root (network namespaces and nftables need it)"
need=
command -v conntrack >/dev/null 2>&1 || need="$need conntrack"
for p in ip nft python3; do
	command -v "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	say "installing$need"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq $need >/dev/null 2>&1 || {
		apt-get update -qq >/dev/null 2>&1 || :
		apt-get install -y -qq $need >/dev/null
	} || die "cannot install$need"
fi

# ---------------------------------------------------------------- build
kubenftctl=$build/src/kube-nftctl
if [ ! -x "$kubenftctl" ]; then
	mkdir -p "$build"
	if [ ! -f "$build/Makefile" ]; then
		say "configuring $build (-O2)"
		(cd "$build" && "$top/configure" CFLAGS="-O2 -g" >configure.log 2>&1) ||
			die "configure failed, see $build/configure.log"
	fi
	say "building"
	(cd "$build" && make -j"$(nproc)" src/kube-nftctl >make.log 2>&1) || die "build failed"
fi

# ---------------------------------------------------------------- topology
work=$(mktemp -d "${TMPDIR:-/tmp}/kn-perpkt.XXXXXX")
spid=
cleanup() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null || :
		wait "$spid" 2>/dev/null || :
	fi
	kn_cleanup
	if [ -n "${KN_BENCH_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
KN_TOP_SRCDIR=$top
KN_NFTCTL=$kubenftctl
KN_WORKDIR=$work
# shellcheck source=tests/netns/lib.sh
. "$top/tests/netns/lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
cd "$work"

{
	echo "machine date=$(date -u '+%Y-%m-%d_%H:%M_UTC')" \
		"nft=$(nft --version 2>/dev/null | sed 's/ (.*//; s/ /_/g')" \
		"load_start=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' _)" \
		"rounds=$rounds duration=$duration warmup=$warmup procs=$procs"
} >perpkt.txt

say "topology: node1 with bench/client, bench/server, bench/denied"
kn_topology_init 1
kn_add_pod bench client 1 2 tcp/80 udp/80
kn_add_pod bench server 1 3 tcp/80 udp/80
kn_add_pod bench denied 1 4 tcp/80 udp/80
client_ns=$(kn_pod_netns bench/client)
server_ns=$(kn_pod_netns bench/server)
node_ns=$(kn_node_netns 1)
server=$(kn_addr bench/server 4)
# The client opens tens of thousands of connections a round and closes
# first: its TIME_WAIT sockets may be reused after a second, from a wide
# port range (its namespace only).
ip netns exec "$client_ns" sysctl -q -w net.ipv4.tcp_tw_reuse=1 \
	net.ipv4.ip_local_port_range="1024 65535" || die "sysctl failed"

kn_state -l bench/client:app=client -l bench/server:app=server \
	-l bench/denied:app=denied state.json
python3 "$bench/perpkt.py" cluster --policies "$policies" "$work" >cluster.txt ||
	die "perpkt.py cluster failed"
sed -n 's/^cluster .*local=\([0-9]*\).*/\1/p' cluster.txt | {
	read -r l
	echo "machine local=$((l + 3))"
} >>perpkt.txt

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# config NAME: load the node's ruleset of configuration NAME.
config() {
	t0=$(now_ms)
	case $1 in
	none) kn_nftctl 1 flush >/dev/null 2>&1 || : ;;
	zero) kn_nftctl 1 apply --node node1 state.json cluster.json >apply.out 2>&1 ;;
	full) kn_nftctl 1 apply --node node1 state.json cluster.json policies.json \
		>apply.out 2>&1 ;;
	esac || {
		cat apply.out >&2
		die "kube-nftctl apply ($1) failed"
	}
	[ "$1" = none ] || echo "apply config=$1 ms=$(($(now_ms) - t0))" >>perpkt.txt
}

# check CONFIG FROM EXPECT: probe the server's TCP and UDP port 80 from
# pod FROM; EXPECT is OK (both answer) or FAIL (neither does).
check() {
	out=$(ip netns exec "$(kn_pod_netns "$2")" python3 "$top/tests/netns/probe.py" -t 1 \
		"bench/server=$server:tcp:80" "bench/server=$server:udp:80") ||
		die "probe.py failed"
	got=$(echo "$out" | awk '{ printf "%s%s", sep, $5; sep = "," }')
	result=ok
	[ "$got" = "$3,$3" ] || result=wrong
	echo "check config=$1 from=$2 proto=tcp,udp got=$got result=$result" >>perpkt.txt
	[ "$result" = ok ] || say "$1: $2 -> bench/server: expected $3, got: $out"
}

# ---------------------------------------------------------------- checks
kn_start_server bench/server
kn_wait_servers
for c in zero full; do
	config "$c"
	ip netns exec "$node_ns" nft -j list ruleset >ruleset.json ||
		die "nft list ruleset failed"
	python3 "$bench/perpkt.py" ruleset --server "$server" <ruleset.json |
		sed "s/^ruleset /ruleset config=$c /" >>perpkt.txt
	check "$c" bench/client OK
	if [ "$c" = zero ]; then
		check "$c" bench/denied OK
	else
		check "$c" bench/denied FAIL
	fi
done
grep '^ruleset' perpkt.txt | sed 's/^/perpkt: /' >&2
# The checks' server goes; the load has its own.
while read -r pid _; do
	kill "$pid" 2>/dev/null || :
done <"$KN_WORKDIR/kn.pids"
: >"$KN_WORKDIR/kn.pids"
sleep 0.2

# ---------------------------------------------------------------- rounds
# measure ROUND CONFIG: one load run against a fresh server.
measure() {
	config "$2"
	ip netns exec "$node_ns" conntrack -F >/dev/null 2>&1 || :
	# Replacing the 2,000-policy table leaves the kernel freeing it for a
	# moment (RCU, set garbage collection): let that pass outside the
	# measurement, whichever configuration comes next.
	sleep 1
	rm -f ready stats
	# Not through a function: $! must be the server (ip netns exec execs it).
	ip netns exec "$server_ns" python3 "$bench/perpkt.py" serve --procs "$procs" \
		--ready "$work/ready" --stats "$work/stats" 80 >server.log 2>&1 &
	spid=$!
	n=0
	until [ -s ready ]; do
		kill -0 "$spid" 2>/dev/null || { cat server.log >&2; die "server exited"; }
		n=$((n + 1))
		[ "$n" -lt 500 ] || die "server did not start"
		sleep 0.01
	done
	ip netns exec "$client_ns" python3 "$bench/perpkt.py" load --procs "$procs" \
		--warmup "$warmup" --duration "$duration" "$server" 80 >load.out ||
		die "perpkt.py load failed"
	ct=$(ip netns exec "$node_ns" cat /proc/sys/net/netfilter/nf_conntrack_count \
		2>/dev/null || echo 0)
	kill "$spid"
	wait "$spid" || :
	spid=
	sv=$(sed -n 's/^server cpu_user_ms=\([0-9.]*\) cpu_sys_ms=\([0-9.]*\)/server_user_ms=\1 server_sys_ms=\2/p' stats)
	echo "round round=$1 config=$2 $(sed 's/^load //' load.out) $sv conntrack=$ct" \
		>>perpkt.txt
	say "round $1, $2: $(sed -n 's/.*conns=\([0-9]*\).*errors=\([0-9]*\).*/\1 connections, \2 errors/p' load.out) in $duration s"
}

r=1
while [ "$r" -le "$rounds" ]; do
	if [ $((r % 2)) -eq 1 ]; then order="zero full none"; else order="none full zero"; fi
	for c in $order; do
		measure "$r" "$c"
	done
	r=$((r + 1))
done
echo "machine load_end=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' _)" >>perpkt.txt

# ---------------------------------------------------------------- report
echo
if [ "$doc" -eq 1 ]; then
	python3 "$bench/perpkt.py" report --doc "$top/docs/performance.md" "$work"
	say "table written to docs/performance.md"
else
	python3 "$bench/perpkt.py" report "$work"
fi
