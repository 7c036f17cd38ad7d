#!/bin/sh
# The per-packet cost of issue 3: new TCP connections per second between
# two pods through a node with 0 and with 2,000 policies, which should be
# within 10% of each other.
#
# The topology is the one of the namespace tests (tests/netns/lib.sh): a
# node namespace, node1, and routed pods bench/client, bench/server and
# bench/denied behind veth pairs, so that traffic between two pods crosses
# the node's forward hook, where kube-nftd's table sits.  kube-nftctl apply
# --node node1 loads two tables from the same manifests (perpkt.py
# cluster: the three pods plus 200 more local pods, addresses only):
#   kube-nftd  2,000 policies, all compiled on node1: 1,999 select the
#              other local pods, one (bench/crr) the client and the
#              server, admitting the client's TCP and UDP to port 80
#   kn-zero    no NetworkPolicy
# one of them dormant (its hooks unregistered: packets never meet it).
#
# Phase A: the load (perpkt.py load: processes opening connections one
# after the other, connect, 64-byte request, 128-byte response, close)
# runs without a pause against perpkt.py serve while perpkt.py switch,
# in the node, swaps the live table every --slice seconds (0.2: one
# netlink transaction, a tenth of a millisecond).  The other work on this
# shared machine makes the rate swing by half within a second or two;
# alternating five times a second puts both configurations under the
# same swings, and the medians over a hundred slices each hold still.
# Phase B, a reference: no table at all (without a table there is no
# conntrack in the node either) against the 0-policy table, swapped by
# kube-nftctl flush and apply every 2 s.
#
# Before the load, `nft -j list table` tells what each table holds, and
# probes (tests/netns/probe.py, TCP and UDP) check that the client reaches
# the server and that bench/denied, which no policy admits, gets nothing
# with the policies and everything without them.
#
#   tests/bench/perpkt.sh [--quick] [--seconds S] [--slice S] [--procs N]
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

# Phase A: SECONDS of slices of SLICE s; phase B: SLICES_B of 2 s.
seconds=40 slice=0.2 slices_b=10 warmup=1 guard=0.05 procs=2 policies=2000 doc=1
usage() {
	echo "usage: tests/bench/perpkt.sh [--quick] [--seconds S] [--slice S]" \
		"[--procs N] [--policies N] [--no-doc] [--build DIR]"
}
while [ $# -gt 0 ]; do
	case $1 in
	--quick) seconds=12 slices_b=4 ;;
	--seconds) seconds=$2; shift ;;
	--slice) slice=$2; shift ;;
	--procs) procs=$2; shift ;;
	--policies) policies=$2; shift ;;
	--build) build=$2; shift ;;
	--no-doc) doc=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
# An even number of slices: as many of each configuration.
slices_a=$(awk -v s="$seconds" -v l="$slice" 'BEGIN { n = int(s / l / 2 + 0.5) * 2;
	print (n < 2 ? 2 : n) }')

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
pids=''
cleanup() {
	for _p in $pids; do
		kill "$_p" 2>/dev/null || :
		wait "$_p" 2>/dev/null || :
	done
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
		"slice=$slice slices_a=$slices_a slices_b=$slices_b guard=$guard" \
		"warmup=$warmup procs=$procs clk_tck=$(getconf CLK_TCK)"
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
# The client opens tens of thousands of connections a second and closes
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

# apply TABLE FILE...: kube-nftctl apply on node1 into table TABLE.
apply() {
	_t=$1
	shift
	kn_nftctl 1 apply -t "$_t" --node node1 state.json "$@" >apply.out 2>&1 || {
		cat apply.out >&2
		die "kube-nftctl apply -t $_t failed"
	}
}

# use zero|full: make that configuration's table live, the other dormant.
use() {
	if [ "$1" = zero ]; then set -- kn-zero zero kube-nftd full; else
		set -- kube-nftd full kn-zero zero; fi
	ip netns exec "$node_ns" python3 "$bench/perpkt.py" switch --count 1 --slice 0 \
		"$@" >/dev/null || die "cannot make $1 live"
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

# ---------------------------------------------------------------- tables, checks
say "loading the tables: $policies policies, and none"
t0=$(now_ms)
apply kube-nftd cluster.json policies.json
echo "apply config=full ms=$(($(now_ms) - t0))" >>perpkt.txt
t0=$(now_ms)
apply kn-zero cluster.json
echo "apply config=zero ms=$(($(now_ms) - t0))" >>perpkt.txt
kn_start_server bench/server
kn_wait_servers
for c in zero full; do
	use "$c"
	if [ "$c" = zero ]; then table=kn-zero; else table=kube-nftd; fi
	ip netns exec "$node_ns" nft -j list table inet "$table" >ruleset.json ||
		die "nft list table failed"
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

# ---------------------------------------------------------------- load
# start NAME LIMIT: the server and the load (for at most LIMIT seconds),
# running until stop; the load's counts go to load-NAME.json.
start() {
	ip netns exec "$node_ns" conntrack -F >/dev/null 2>&1 || :
	rm -f ready load.ready
	# Not through a function: $! must be the process (ip netns exec execs it).
	ip netns exec "$server_ns" python3 "$bench/perpkt.py" serve --procs "$procs" \
		--ready "$work/ready" 80 >server.log 2>&1 &
	pids=$!
	ip netns exec "$client_ns" python3 "$bench/perpkt.py" load --procs "$procs" \
		--ready "$work/load.ready" --limit "$2" "$server" 80 >"load-$1.json" 2>load.err &
	pids="$pids $!"
	_w=0
	until [ -s ready ] && [ -s load.ready ]; do
		for _p in $pids; do
			kill -0 "$_p" 2>/dev/null || {
				cat server.log load.err >&2
				die "the server or the load exited"
			}
		done
		_w=$((_w + 1))
		[ "$_w" -lt 500 ] || die "the server or the load did not start"
		sleep 0.01
	done
	sleep "$warmup"
	# The processes whose CPU time is counted: the workers of both.
	measured=$( (ip netns pids "$client_ns"; ip netns pids "$server_ns") | paste -sd, -)
}

stop() {
	for _p in $pids; do
		kill "$_p" 2>/dev/null || :
	done
	for _p in $pids; do
		wait "$_p" || :
	done
	pids=
	[ -s "load-$1.json" ] || die "the load failed: $(cat load.err)"
}

# Phase A: 0 and 2,000 policies, the live table swapped under the load.
say "0 and $policies policies: $slices_a slices of $slice s under one load"
start A "$(awk -v s="$seconds" 'BEGIN { print int(s) + 60 }')"
ip netns exec "$node_ns" python3 "$bench/perpkt.py" switch --phase A --slice "$slice" \
	--count "$slices_a" --pids "$measured" kn-zero zero kube-nftd full >>perpkt.txt ||
	die "perpkt.py switch failed"
stop A

# Phase B, the reference: no table at all (not a dormant one: a table's
# ct expressions keep conntrack on in the namespace) and 0 policies, the
# small table flushed and applied again; slow switches, so 2 s slices.
kn_nftctl 1 flush >/dev/null 2>&1 || die "kube-nftctl flush failed"
say "no table and 0 policies: $slices_b slices of 2 s under one load"
start B "$((slices_b * 3 + 60))"
cpu_ticks() {
	echo "$measured" | tr , '\n' | while read -r _p; do
		cat "/proc/$_p/stat" 2>/dev/null
	done | awk '{ s += $14 + $15 } END { print s + 0 }'
}
i=1
while [ "$i" -le "$slices_b" ]; do
	if [ $((i % 2)) -eq 1 ]; then c=none; else c=zero; fi
	cpu=$(cpu_ticks)
	t0=$(date +%s.%N)
	if [ "$c" = none ]; then
		kn_nftctl 1 flush -t kn-zero >/dev/null 2>&1 || die "kube-nftctl flush failed"
	else
		apply kn-zero cluster.json
	fi
	t1=$(date +%s.%N)
	echo "switch phase=B n=$i config=$c t0=$t0 t1=$t1 cpu=$cpu" >>perpkt.txt
	sleep 2
	i=$((i + 1))
done
t0=$(date +%s.%N)
echo "switch phase=B n=end config=end t0=$t0 t1=$t0 cpu=$(cpu_ticks)" >>perpkt.txt
stop B
echo "machine load_end=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' _)" >>perpkt.txt

# ---------------------------------------------------------------- report
echo
if [ "$doc" -eq 1 ]; then
	python3 "$bench/perpkt.py" report --doc "$top/docs/performance.md" "$work"
	say "table written to docs/performance.md"
else
	python3 "$bench/perpkt.py" report "$work"
fi
