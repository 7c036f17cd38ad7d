# tests/netns/lib.sh: throw-away clusters in network namespaces.
#
# Sourced by the atf-sh tests (netpol_test, cli_test) and by
# scripts/quickstart.  The caller sets KN_TOP_SRCDIR (the source tree) and
# may set:
#   KN_NFTCTL   the kube-nftctl binary (default: $KN_TOP_BUILDDIR/src/kube-nftctl)
#   KN_PYTHON   a Python 3 interpreter (default: python3 from PATH)
#   KN_WORKDIR  where the harness keeps its files (default: the current
#               directory, which is the test case's work directory)
#
# The cluster
# -----------
# Every namespace name starts with a prefix unique to the run (kn-PID), so
# that test programs may run concurrently.  Nothing outside these namespaces
# is touched: veth pairs are created inside them.
#
#   node N (netns PREFIX-nodeN, Kubernetes node "nodeN")
#     eth0        192.168.100.N/24, fd00:100::N/64: the link between nodes
#     vethID      one per local pod, carrying the gateway addresses
#                 169.254.1.1/32 (scope link) and fe80::1/64, and a host route
#                 to the pod (source address: the node address above)
#     routes      10.244.M.0/24 and fd00:10:244:M::/64 via node M
#     forwarding on, rp_filter off, IPv6 DAD off (in the namespace only)
#
#   pod NS/NAME on node N (netns PREFIX-NS-NAME)
#     eth0        10.244.N.ID/32, fd00:10:244:N::ID/128
#     routes      default via 169.254.1.1 and via fe80::1
#
# Pods are routed, not bridged (as with Calico), so that pod-to-pod traffic
# on one node crosses the node's forward hook exactly like traffic between
# nodes does.
#
# The standard model is the one of the upstream NetworkPolicy e2e suite:
# namespaces x, y, z with pods a, b, c each; pods a and b run on node1 and
# pod c on node2, so that every table holds same-node and cross-node pairs.
# Pod NS/P gets ID 10*n+p (x=1, y=2, z=3; a=1, b=2, c=3): y/b on node1 is
# 10.244.1.22 and fd00:10:244:1::22; z/c on node2 is 10.244.2.33.  Every pod
# serves TCP and UDP on ports 80 and 81, IPv4 and IPv6 (server.py), and
# declares them as container ports serve-80-tcp, serve-80-udp, serve-81-tcp
# and serve-81-udp.
#
# Files kept in KN_WORKDIR
# ------------------------
#   kn.prefix  the namespace prefix         kn.netns  namespaces, in creation order
#   kn.hosts   NAME NETNS IPV4 IPV6 (pods and nodes, for the probes)
#   kn.pods    NS NAME NODE ID IPV4 IPV6 SERVICES...
#   kn.pids    PID WHAT: processes to end at cleanup (servers: WHAT is their
#              ready file; tests may add their own)
#   kn.expect  pending expectations
#
# Typical test case:
#
#   body() {
#       kn_setup
#       kn_state state.json "$(kn_netpol x deny '{"podSelector":{}}')"
#       kn_apply state.json
#       kn_expect tcp/80 udp/81 <<'EOF'
#            x/a x/b x/c y/a ...
#       x/a   -   .   .   X  ...
#       EOF
#       kn_verify
#   }
#   cleanup() { kn_cleanup; }

: "${KN_TOP_SRCDIR:?KN_TOP_SRCDIR must name the source tree}"
: "${KN_TOP_BUILDDIR:=$KN_TOP_SRCDIR/build}"
: "${KN_NFTCTL:=$KN_TOP_BUILDDIR/src/kube-nftctl}"
: "${KN_WORKDIR:=$(pwd)}"
KN_NETNS_DIR=$KN_TOP_SRCDIR/tests/netns
if [ -z "${KN_PYTHON:-}" ]; then
	KN_PYTHON=$(command -v python3 2>/dev/null || echo /usr/bin/python3)
fi

# Services every standard pod serves, and the probe timeout in seconds.
KN_SERVICES="tcp/80 tcp/81 udp/80 udp/81"
: "${KN_PROBE_TIMEOUT:=1}"

# ------------------------------------------------------------ reporting

# kn_fail MESSAGE: fail the test case (atf), or exit 1 outside atf.
kn_fail()
{
	if command -v atf_fail >/dev/null 2>&1; then
		atf_fail "$*"
	fi
	echo "error: $*" >&2
	exit 1
}

kn_log()
{
	echo "$*"
}

# kn_now: seconds since the epoch, with milliseconds.
kn_now()
{
	date +%s.%3N
}

# kn_elapsed START: seconds since START (from kn_now), 2 decimals.
kn_elapsed()
{
	awk -v a="$1" -v b="$(kn_now)" 'BEGIN { printf "%.2f", b - a }'
}

# kn_run CMD...: run a command, failing the test with its output if it fails.
kn_run()
{
	if ! _kn_out=$("$@" 2>&1); then
		kn_fail "$* failed: $_kn_out"
	fi
}

# ------------------------------------------------------------ topology

# kn_prefix: the namespace prefix of this run (empty before kn_topology_init).
kn_prefix()
{
	cat "$KN_WORKDIR/kn.prefix" 2>/dev/null
}

# kn_node_netns N: the namespace of node N (1 or 2).
kn_node_netns()
{
	echo "$(kn_prefix)-node$1"
}

# kn_pod_netns NS/NAME: the namespace of a pod.
kn_pod_netns()
{
	echo "$(kn_prefix)-$(echo "$1" | tr / -)"
}

_kn_netns_add()
{
	kn_run ip netns add "$1"
	echo "$1" >>"$KN_WORKDIR/kn.netns"
}

# kn_topology_init [NODES]: create the node namespaces (1 or 2, default 2)
# and, with two nodes, the link between them.
kn_topology_init()
{
	_kn_nodes=${1:-2}
	if [ -e "$KN_WORKDIR/kn.prefix" ]; then
		kn_fail "kn_topology_init: a topology already exists here"
	fi
	_kn_prefix=kn-$$
	echo "$_kn_prefix" >"$KN_WORKDIR/kn.prefix"
	: >"$KN_WORKDIR/kn.netns"
	: >"$KN_WORKDIR/kn.hosts"
	: >"$KN_WORKDIR/kn.pods"
	: >"$KN_WORKDIR/kn.pids"
	: >"$KN_WORKDIR/kn.expect"
	echo "$_kn_nodes" >"$KN_WORKDIR/kn.nodes"

	_kn_n=1
	while [ "$_kn_n" -le "$_kn_nodes" ]; do
		_kn_ns=$_kn_prefix-node$_kn_n
		_kn_netns_add "$_kn_ns"
		# Only in the node's namespace: forwarding on, no reverse path
		# filter, no duplicate address detection (addresses usable at
		# once).
		kn_run ip netns exec "$_kn_ns" sysctl -q -w \
			net.ipv4.ip_forward=1 \
			net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.forwarding=1 \
			net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0
		echo "node$_kn_n $_kn_ns 192.168.100.$_kn_n fd00:100::$_kn_n" \
			>>"$KN_WORKDIR/kn.hosts"
		_kn_n=$((_kn_n + 1))
	done

	_kn_n1=$_kn_prefix-node1
	if [ "$_kn_nodes" -ge 2 ]; then
		_kn_n2=$_kn_prefix-node2
		kn_run ip -n "$_kn_n1" link add eth0 type veth peer name eth0 \
			netns "$_kn_n2"
	else
		# A lone node still needs an interface for its address.
		kn_run ip -n "$_kn_n1" link add eth0 type veth peer name eth0p
		kn_run ip -n "$_kn_n1" link set eth0p up
	fi
	_kn_n=1
	while [ "$_kn_n" -le "$_kn_nodes" ]; do
		_kn_ns=$_kn_prefix-node$_kn_n
		_kn_o=$((3 - _kn_n))
		{
			echo "link set lo up"
			echo "link set eth0 up"
			echo "addr add 192.168.100.$_kn_n/24 dev eth0"
			echo "addr add fd00:100::$_kn_n/64 dev eth0 nodad"
			if [ "$_kn_nodes" -ge 2 ]; then
				echo "route add 10.244.$_kn_o.0/24 via 192.168.100.$_kn_o"
				echo "route add fd00:10:244:$_kn_o::/64 via fd00:100::$_kn_o"
			fi
		} >"$KN_WORKDIR/kn.batch"
		kn_run ip -n "$_kn_ns" -batch "$KN_WORKDIR/kn.batch"
		_kn_n=$((_kn_n + 1))
	done
}

# kn_add_pod NS NAME NODE ID [SERVICES...]: create pod NS/NAME on node NODE
# (1 or 2) with addresses 10.244.NODE.ID and fd00:10:244:NODE::ID (ID 2-254,
# unique in the cluster), serving SERVICES (default: $KN_SERVICES).
kn_add_pod()
{
	_kn_pns=$1 _kn_pname=$2 _kn_node=$3 _kn_id=$4
	shift 4
	_kn_svcs=${*:-$KN_SERVICES}
	_kn_prefix=$(kn_prefix)
	_kn_netns=$_kn_prefix-$_kn_pns-$_kn_pname
	_kn_nodens=$_kn_prefix-node$_kn_node
	_kn_v4=10.244.$_kn_node.$_kn_id
	_kn_v6=fd00:10:244:$_kn_node::$_kn_id

	_kn_netns_add "$_kn_netns"
	kn_run ip netns exec "$_kn_netns" sysctl -q -w \
		net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	# Created in the node with its peer directly in the pod: neither end
	# ever exists in the namespace the test runs in.
	kn_run ip -n "$_kn_nodens" link add "veth$_kn_id" type veth \
		peer name eth0 netns "$_kn_netns"
	{
		echo "link set veth$_kn_id up"
		echo "addr add 169.254.1.1/32 dev veth$_kn_id scope link"
		echo "addr add fe80::1/64 dev veth$_kn_id nodad"
		echo "route add $_kn_v4/32 dev veth$_kn_id src 192.168.100.$_kn_node"
		echo "route add $_kn_v6/128 dev veth$_kn_id src fd00:100::$_kn_node"
	} >"$KN_WORKDIR/kn.batch"
	kn_run ip -n "$_kn_nodens" -batch "$KN_WORKDIR/kn.batch"
	{
		echo "link set lo up"
		echo "link set eth0 up"
		echo "addr add $_kn_v4/32 dev eth0"
		echo "addr add $_kn_v6/128 dev eth0 nodad"
		echo "route add 169.254.1.1/32 dev eth0 scope link"
		echo "route add default via 169.254.1.1 dev eth0"
		echo "route add ::/0 via fe80::1 dev eth0"
	} >"$KN_WORKDIR/kn.batch"
	kn_run ip -n "$_kn_netns" -batch "$KN_WORKDIR/kn.batch"

	echo "$_kn_pns/$_kn_pname $_kn_netns $_kn_v4 $_kn_v6" \
		>>"$KN_WORKDIR/kn.hosts"
	echo "$_kn_pns $_kn_pname node$_kn_node $_kn_id $_kn_v4 $_kn_v6 $_kn_svcs" \
		>>"$KN_WORKDIR/kn.pods"
}

# kn_add_host NAME NODE: make NAME another name for node NODE (1 or 2),
# e.g. for a hostNetwork pod that shares the node's namespace and
# addresses.  Its server (kn_start_server NAME) answers as NAME, so do not
# also start one for nodeN.
kn_add_host()
{
	echo "$1 $(kn_prefix)-node$2 192.168.100.$2 fd00:100::$2" \
		>>"$KN_WORKDIR/kn.hosts"
}

# kn_start_server NAME [SERVICES...]: start server.py for host NAME (a pod
# NS/NAME or a node nodeN) in its namespace, in the background, serving
# SERVICES (default: what kn_add_pod gave the pod, else $KN_SERVICES).
# Call kn_wait_servers before probing.
kn_start_server()
{
	_kn_host=$1
	shift
	_kn_svcs=$*
	if [ -z "$_kn_svcs" ]; then
		_kn_svcs=$(awk -v h="$_kn_host" '$1 "/" $2 == h {
			for (i = 7; i <= NF; i++) printf "%s ", $i }' "$KN_WORKDIR/kn.pods")
	fi
	: "${_kn_svcs:=$KN_SERVICES}"
	_kn_netns=$(awk -v h="$_kn_host" '$1 == h { print $2 }' \
		"$KN_WORKDIR/kn.hosts")
	[ -n "$_kn_netns" ] || kn_fail "kn_start_server: unknown host $_kn_host"
	_kn_ready=$KN_WORKDIR/kn.ready.$(echo "$_kn_host" | tr / -)
	rm -f "$_kn_ready"
	# shellcheck disable=SC2086 # the service list is split on purpose
	ip netns exec "$_kn_netns" "$KN_PYTHON" "$KN_NETNS_DIR/server.py" \
		-r "$_kn_ready" "$_kn_host" $_kn_svcs \
		>"$_kn_ready.log" 2>&1 </dev/null &
	echo "$! $_kn_ready" >>"$KN_WORKDIR/kn.pids"
}

# kn_wait_servers: wait until every started server has bound its sockets.
kn_wait_servers()
{
	_kn_tries=0
	while :; do
		_kn_missing=
		while read -r _kn_pid _kn_ready; do
			case $_kn_ready in
			"$KN_WORKDIR"/kn.ready.*) ;;
			*) continue ;;	# not a server
			esac
			if [ ! -s "$_kn_ready" ]; then
				if ! kill -0 "$_kn_pid" 2>/dev/null; then
					kn_fail "server $_kn_ready died: $(cat "$_kn_ready.log")"
				fi
				_kn_missing=$_kn_ready
			fi
		done <"$KN_WORKDIR/kn.pids"
		[ -z "$_kn_missing" ] && return 0
		_kn_tries=$((_kn_tries + 1))
		[ "$_kn_tries" -lt 200 ] || kn_fail "server not ready: $_kn_missing"
		sleep 0.05
	done
}

# kn_setup [NS/NAME...]: build the standard two-node cluster with the given
# pods of the standard model (default: all nine) and start their servers.
kn_setup()
{
	_kn_t0=$(kn_now)
	kn_topology_init 2
	_kn_pods=${*:-x/a x/b x/c y/a y/b y/c z/a z/b z/c}
	for _kn_p in $_kn_pods; do
		_kn_pns=${_kn_p%/*} _kn_pname=${_kn_p#*/}
		case $_kn_pns in x) _kn_i=1 ;; y) _kn_i=2 ;; z) _kn_i=3 ;;
		*) kn_fail "kn_setup: $_kn_p is not in the standard model" ;; esac
		case $_kn_pname in a) _kn_j=1 ;; b) _kn_j=2 ;; c) _kn_j=3 ;;
		*) kn_fail "kn_setup: $_kn_p is not in the standard model" ;; esac
		_kn_node=1
		[ "$_kn_pname" = c ] && _kn_node=2
		kn_add_pod "$_kn_pns" "$_kn_pname" "$_kn_node" "$((_kn_i * 10 + _kn_j))"
	done
	for _kn_p in $_kn_pods; do
		kn_start_server "$_kn_p"
	done
	kn_wait_servers
	kn_log "topology: $(wc -l <"$KN_WORKDIR/kn.netns") namespaces in $(kn_elapsed "$_kn_t0") s"
}

# kn_addr HOST 4|6: the IPv4 or IPv6 address of a pod NS/NAME or node nodeN.
kn_addr()
{
	awk -v h="$1" -v f="$2" '$1 == h { print (f == 6 ? $4 : $3) }' \
		"$KN_WORKDIR/kn.hosts"
}

# kn_cleanup: end the processes of kn.pids and those left in our
# namespaces, and delete every namespace of this run.
# Safe to call more than once, and when the topology was never built.
kn_cleanup()
{
	[ -f "$KN_WORKDIR/kn.prefix" ] || return 0
	if [ -f "$KN_WORKDIR/kn.pids" ]; then
		while read -r _kn_pid _kn_what; do
			kill "$_kn_pid" 2>/dev/null
		done <"$KN_WORKDIR/kn.pids"
	fi
	if [ -f "$KN_WORKDIR/kn.netns" ]; then
		# Whatever still runs in our namespaces was started by this test
		# (a probe cut short, a helper not in kn.pids): end each by its id.
		while read -r _kn_ns; do
			for _kn_pid in $(ip netns pids "$_kn_ns" 2>/dev/null); do
				kill "$_kn_pid" 2>/dev/null
			done
		done <"$KN_WORKDIR/kn.netns"
		while read -r _kn_ns; do
			ip netns del "$_kn_ns" 2>/dev/null
		done <"$KN_WORKDIR/kn.netns"
	fi
	rm -f "$KN_WORKDIR/kn.prefix"
	return 0
}

# ------------------------------------------------------------ cluster state

# kn_netpol NS NAME SPEC: print a NetworkPolicy object whose spec is the
# JSON text SPEC.
kn_netpol()
{
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",'
	printf '"metadata":{"namespace":"%s","name":"%s"},"spec":%s}\n' "$1" "$2" "$3"
}

# kn_state [OPTIONS] FILE [ITEM...]: write the cluster state as a JSON List:
# a Namespace for every namespace with pods (labels ns=NAME and
# kubernetes.io/metadata.name=NAME), a Pod for every pod (label pod=NAME,
# spec.nodeName, one container with named ports serve-PORT-PROTO, phase
# Running, status.podIPs of both families), then every ITEM: a JSON object
# given as text, or the name of a file holding one.
#
#   -L NS:KEY=VALUE        add a label to namespace NS
#   -l NS/POD:KEY=VALUE    add a label to a pod
#   -p NS/POD:NAME:PORT:PROTO  declare one more named container port on a pod
#   -n NS                  add a namespace without pods
kn_state()
{
	_kn_extra=$KN_WORKDIR/kn.state-extra
	: >"$_kn_extra"
	OPTIND=1
	while getopts L:l:p:n: _kn_opt; do
		case $_kn_opt in
		L) echo "nslabel $OPTARG" >>"$_kn_extra" ;;
		l) echo "podlabel $OPTARG" >>"$_kn_extra" ;;
		p) echo "port $OPTARG" >>"$_kn_extra" ;;
		n) echo "ns $OPTARG" >>"$_kn_extra" ;;
		*) kn_fail "kn_state: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	OPTIND=1
	[ $# -ge 1 ] || kn_fail "kn_state: no output file"
	_kn_out=$1
	shift
	{
		awk '
		function q(s) { return "\"" s "\"" }
		FILENAME == ARGV[1] {
			# Extra labels, ports and namespaces from the options.
			if ($1 == "nslabel" || $1 == "podlabel") {
				key = substr($2, 1, index($2, ":") - 1)
				lab = substr($2, length(key) + 2)
				eq = index(lab, "=")
				extra[$1, key] = extra[$1, key] "," q(substr(lab, 1, eq - 1)) ":" \
					q(substr(lab, eq + 1))
			} else if ($1 == "port") {
				split($2, f, ":")
				ports[f[1]] = ports[f[1]] sprintf(",{\"name\":%s,\"containerPort\":%d,\"protocol\":%s}", \
					q(f[2]), f[3], q(f[4]))
			} else if ($1 == "ns") {
				if (!(($2) in seen)) { seen[$2] = 1; nss[++nns] = $2 }
			}
			next
		}
		{
			pod[++npod] = $0
			if (!(($1) in seen)) { seen[$1] = 1; nss[++nns] = $1 }
		}
		END {
			printf "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n"
			sep = ""
			for (i = 1; i <= nns; i++) {
				ns = nss[i]
				printf "%s{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":%s,\"labels\":{\"ns\":%s,\"kubernetes.io/metadata.name\":%s%s}}}", \
					sep, q(ns), q(ns), q(ns), extra["nslabel", ns]
				sep = ",\n"
			}
			for (i = 1; i <= npod; i++) {
				nf = split(pod[i], f, " ")
				id = f[1] "/" f[2]
				cp = ""
				for (k = 7; k <= nf; k++) {
					split(f[k], s, "/")
					cp = cp sprintf(",{\"name\":\"serve-%d-%s\",\"containerPort\":%d,\"protocol\":%s}", \
						s[2], s[1], s[2], q(toupper(s[1])))
				}
				cp = substr(cp ports[id], 2)
				printf "%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":%s,\"name\":%s,\"labels\":{\"pod\":%s%s}},", \
					sep, q(f[1]), q(f[2]), q(f[2]), extra["podlabel", id]
				printf "\"spec\":{\"nodeName\":%s,\"containers\":[{\"name\":\"server\",\"image\":\"kn-test-server\",\"ports\":[%s]}]},", \
					q(f[3]), cp
				printf "\"status\":{\"phase\":\"Running\",\"podIP\":%s,\"podIPs\":[{\"ip\":%s},{\"ip\":%s}]}}", \
					q(f[5]), q(f[5]), q(f[6])
				sep = ",\n"
			}
			if (sep == "") exit 1
		}' "$_kn_extra" "$KN_WORKDIR/kn.pods" || kn_fail "kn_state: no pods"
		for _kn_item in "$@"; do
			printf ',\n'
			if [ -f "$_kn_item" ]; then
				cat "$_kn_item"
			else
				printf '%s' "$_kn_item"
			fi
		done
		printf '\n]}\n'
	} >"$_kn_out" || kn_fail "kn_state: cannot write $_kn_out"
	# The file must be valid JSON whatever the items were: a broken
	# fixture would otherwise read as a compiler bug.
	"$KN_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$_kn_out" ||
		kn_fail "kn_state: $_kn_out is not valid JSON"
}

# kn_pod_json NS NAME NODE PHASE V4 V6 [HOSTNETWORK] [LABELS]: print a Pod
# object that is not part of the topology (no namespace of its own): a
# hostNetwork pod (HOSTNETWORK=true), a pod in phase Succeeded or Failed.
# LABELS is JSON text without braces; default "pod":NAME.
kn_pod_json()
{
	_kn_labels=${8:-}
	[ -n "$_kn_labels" ] || _kn_labels=$(printf '"pod":"%s"' "$2")
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"%s","name":"%s","labels":{%s}},' \
		"$1" "$2" "$_kn_labels"
	printf '"spec":{"nodeName":"%s","hostNetwork":%s,"containers":[{"name":"server","image":"kn-test-server","ports":[' \
		"$3" "${7:-false}"
	printf '{"name":"serve-80-tcp","containerPort":80,"protocol":"TCP"},'
	printf '{"name":"serve-80-udp","containerPort":80,"protocol":"UDP"},'
	printf '{"name":"serve-81-tcp","containerPort":81,"protocol":"TCP"},'
	printf '{"name":"serve-81-udp","containerPort":81,"protocol":"UDP"}]}]},'
	printf '"status":{"phase":"%s","podIP":"%s","podIPs":[{"ip":"%s"},{"ip":"%s"}]}}\n' \
		"$4" "$5" "$5" "$6"
}

# ------------------------------------------------------------ enforcement

# kn_nftctl NODE ARGS...: run kube-nftctl in node NODE's namespace (1 or 2).
kn_nftctl()
{
	_kn_nn=$1
	shift
	ip netns exec "$(kn_node_netns "$_kn_nn")" "$KN_NFTCTL" "$@"
}

# kn_apply [-s STATUS] FILE...: apply FILE... on every node (each with
# --node nodeN), after flushing what an earlier kn_apply programmed, so that
# each scenario of a test case is judged alone.  Fails unless kube-nftctl
# exits with STATUS (default 0).  Its stderr is kept in kn.apply.nodeN.err.
kn_apply()
{
	_kn_want=0
	if [ "${1:-}" = -s ]; then
		_kn_want=$2
		shift 2
	fi
	_kn_nodes=$(cat "$KN_WORKDIR/kn.nodes")
	_kn_n=1
	while [ "$_kn_n" -le "$_kn_nodes" ]; do
		kn_nftctl "$_kn_n" flush >/dev/null 2>&1
		kn_nftctl "$_kn_n" apply --node "node$_kn_n" "$@" \
			>"$KN_WORKDIR/kn.apply.node$_kn_n.out" \
			2>"$KN_WORKDIR/kn.apply.node$_kn_n.err"
		_kn_st=$?
		if [ "$_kn_st" -ne "$_kn_want" ]; then
			cat "$KN_WORKDIR/kn.apply.node$_kn_n.err" >&2
			kn_fail "kube-nftctl apply --node node$_kn_n $*: exit status $_kn_st, expected $_kn_want"
		fi
		_kn_n=$((_kn_n + 1))
	done
}

# kn_update [-s STATUS] FILE...: like kn_apply, without the flush: the new
# state replaces the running ruleset.
kn_update()
{
	_kn_want=0
	if [ "${1:-}" = -s ]; then
		_kn_want=$2
		shift 2
	fi
	_kn_nodes=$(cat "$KN_WORKDIR/kn.nodes")
	_kn_n=1
	while [ "$_kn_n" -le "$_kn_nodes" ]; do
		kn_nftctl "$_kn_n" apply --node "node$_kn_n" "$@" \
			>"$KN_WORKDIR/kn.apply.node$_kn_n.out" \
			2>"$KN_WORKDIR/kn.apply.node$_kn_n.err"
		_kn_st=$?
		if [ "$_kn_st" -ne "$_kn_want" ]; then
			cat "$KN_WORKDIR/kn.apply.node$_kn_n.err" >&2
			kn_fail "kube-nftctl apply --node node$_kn_n $*: exit status $_kn_st, expected $_kn_want"
		fi
		_kn_n=$((_kn_n + 1))
	done
}

# kn_ruleset NODE: print the nftables ruleset of node NODE.
kn_ruleset()
{
	ip netns exec "$(kn_node_netns "$1")" nft list ruleset
}

# ------------------------------------------------------------ truth tables
#
# An expectation is a table in the style of the upstream e2e reachability
# tables: rows are sources, columns destinations, both named NS/POD (or
# nodeN for a node's own address).  A cell is X (allowed), . (blocked) or
# ? (not judged).  A host talking to itself is never probed (its traffic
# never leaves its namespace); write - or X on the diagonal, as you like.
#
#   kn_expect [-4|-6] SERVICE... <<'EOF'
#        x/a x/b y/a
#   x/a   -   X   .
#   x/b   X   -   .
#   y/a   X   X   -
#   EOF
#
# SERVICE is tcp/PORT or udp/PORT.  The table holds for every SERVICE on
# both families, or only IPv4 (-4) or IPv6 (-6).  Expectations accumulate
# until kn_verify, which probes all of them in one round (every source in
# parallel, every target of a source in parallel) and fails with the
# expected and observed tables of every service that differs.

kn_expect()
{
	_kn_fams=4,6
	case ${1:-} in
	-4) _kn_fams=4; shift ;;
	-6) _kn_fams=6; shift ;;
	esac
	[ $# -gt 0 ] || kn_fail "kn_expect: no service"
	_kn_svcs=$(echo "$*" | tr ' ' ,)
	{
		echo "@ $_kn_fams $_kn_svcs"
		grep -v '^[[:space:]]*$'
	} >>"$KN_WORKDIR/kn.expect"
}

# kn_table [CELL] [HOST...]: print a table of HOST... (default: every pod)
# with every cell CELL (default X), for use as
#   kn_table X | kn_expect tcp/80
kn_table()
{
	_kn_cell=${1:-X}
	[ $# -gt 0 ] && shift
	_kn_hosts=$*
	[ -n "$_kn_hosts" ] ||
		_kn_hosts=$(awk '{ printf "%s ", $1 "/" $2 }' "$KN_WORKDIR/kn.pods")
	printf '    '
	for _kn_d in $_kn_hosts; do
		printf ' %s' "$_kn_d"
	done
	echo
	for _kn_h in $_kn_hosts; do
		printf '%s' "$_kn_h"
		for _kn_d in $_kn_hosts; do
			printf ' %s' "$_kn_cell"
		done
		echo
	done
}

# kn_probe_plan: from kn.expect and kn.hosts, print one line per source:
# NAME NETNS TARGET... (TARGET as probe.py wants it).
_kn_probe_plan()
{
	awk '
	FILENAME == ARGV[1] { v4[$1] = $3; v6[$1] = $4; ns[$1] = $2; next }
	/^@/ { fams = $2; svcs = $3; hdr = 1; next }
	hdr { ncol = NF; for (j = 1; j <= NF; j++) col[j] = $j; hdr = 0; next }
	{
		src = $1
		if (!(src in ns)) { print "unknown host " src > "/dev/stderr"; bad = 1; next }
		if (NF != ncol + 1) { print "bad row: " $0 > "/dev/stderr"; bad = 1; next }
		if (!(src in seen)) { seen[src] = 1; order[++nsrc] = src }
		nf = split(fams, fa, ",")
		ns_ = split(svcs, sa, ",")
		for (j = 1; j <= ncol; j++) {
			dst = col[j]
			if (!(dst in ns)) { print "unknown host " dst > "/dev/stderr"; bad = 1; continue }
			c = $(j + 1)
			if (c != "X" && c != "." && c != "?" && c != "-") {
				print "bad cell " c " in row " src > "/dev/stderr"; bad = 1; continue
			}
			if (c == "-" && dst != src) {
				print "- off the diagonal: " src " -> " dst > "/dev/stderr"; bad = 1; continue
			}
			if (dst == src || c == "?") continue
			for (a = 1; a <= nf; a++) for (b = 1; b <= ns_; b++) {
				split(sa[b], pp, "/")
				t = dst "=" (fa[a] == 6 ? v6[dst] : v4[dst]) ":" pp[1] ":" pp[2]
				if (!((src, t) in have)) { have[src, t] = 1; tg[src] = tg[src] " " t }
			}
		}
	}
	END {
		if (bad) exit 1
		for (i = 1; i <= nsrc; i++) print order[i], ns[order[i]] tg[order[i]]
	}' "$KN_WORKDIR/kn.hosts" "$KN_WORKDIR/kn.expect"
}

# kn_verify: probe every expectation given since the last kn_verify and
# fail, with a readable report on stderr, if any observed cell differs.
kn_verify()
{
	_kn_t0=$(kn_now)
	_kn_dir=$KN_WORKDIR/kn.probe
	rm -rf "$_kn_dir"
	mkdir "$_kn_dir"
	_kn_probe_plan >"$_kn_dir/plan" || kn_fail "kn_verify: bad expectation table"
	_kn_i=0
	_kn_bg=
	while read -r _kn_src _kn_netns _kn_targets; do
		_kn_i=$((_kn_i + 1))
		echo "$_kn_src" >"$_kn_dir/src.$_kn_i"
		# shellcheck disable=SC2086 # one word per target
		ip netns exec "$_kn_netns" "$KN_PYTHON" "$KN_NETNS_DIR/probe.py" \
			-t "$KN_PROBE_TIMEOUT" $_kn_targets \
			>"$_kn_dir/out.$_kn_i" 2>"$_kn_dir/err.$_kn_i" </dev/null &
		_kn_bg="$_kn_bg $!"
	done <"$_kn_dir/plan"
	_kn_bad=0
	for _kn_pid in $_kn_bg; do
		wait "$_kn_pid" || _kn_bad=1
	done
	if [ "$_kn_bad" -ne 0 ]; then
		cat "$_kn_dir"/err.* >&2
		kn_fail "kn_verify: a probe failed to run"
	fi
	# One line per probe: SRC DST FAMILY SERVICE RESULT [REASON].
	_kn_j=1
	while [ "$_kn_j" -le "$_kn_i" ]; do
		awk -v src="$(cat "$_kn_dir/src.$_kn_j")" '{
			fam = index($2, ":") ? 6 : 4
			print src, $1, fam, $3 "/" $4, $5, $6
		}' "$_kn_dir/out.$_kn_j"
		_kn_j=$((_kn_j + 1))
	done >"$_kn_dir/results"
	_kn_probe_time=$(kn_elapsed "$_kn_t0")
	if ! _kn_compare "$_kn_dir/results" >"$_kn_dir/report" 2>&1; then
		cat "$_kn_dir/report" >&2
		_kn_dump_rulesets >&2
		: >"$KN_WORKDIR/kn.expect"
		kn_fail "reachability differs from the expectation (see stderr)"
	fi
	cat "$_kn_dir/report"
	kn_log "probes: $(wc -l <"$_kn_dir/results") in $_kn_probe_time s"
	: >"$KN_WORKDIR/kn.expect"
}

# kn_show_matrix FAMILY "SOURCE..." "DEST:PROTO/PORT...": probe every
# destination service from every source over IPv4 (FAMILY 4) or IPv6 (6)
# and print what connects (X) and what does not (.), one row per source.
# For demonstrations (scripts/quickstart); tests use kn_expect/kn_verify.
kn_show_matrix()
{
	_kn_fam=$1 _kn_srcs=$2 _kn_dsts=$3
	_kn_dir=$KN_WORKDIR/kn.matrix
	rm -rf "$_kn_dir"
	mkdir "$_kn_dir"
	_kn_i=0
	_kn_bg=
	for _kn_src in $_kn_srcs; do
		_kn_i=$((_kn_i + 1))
		_kn_targets=
		for _kn_d in $_kn_dsts; do
			_kn_host=${_kn_d%%:*} _kn_svc=${_kn_d#*:}
			[ "$_kn_host" = "$_kn_src" ] && continue
			_kn_targets="$_kn_targets $_kn_host=$(kn_addr "$_kn_host" "$_kn_fam"):${_kn_svc%/*}:${_kn_svc#*/}"
		done
		_kn_netns=$(awk -v h="$_kn_src" '$1 == h { print $2 }' "$KN_WORKDIR/kn.hosts")
		# shellcheck disable=SC2086 # one word per target
		ip netns exec "$_kn_netns" "$KN_PYTHON" "$KN_NETNS_DIR/probe.py" \
			-t "$KN_PROBE_TIMEOUT" $_kn_targets \
			>"$_kn_dir/out.$_kn_i" 2>&1 </dev/null &
		_kn_bg="$_kn_bg $!"
	done
	for _kn_pid in $_kn_bg; do
		wait "$_kn_pid"
	done
	_kn_i=0
	for _kn_src in $_kn_srcs; do
		_kn_i=$((_kn_i + 1))
		awk -v src="$_kn_src" '{ print src, $1, $3 "/" $4, $5 }' "$_kn_dir/out.$_kn_i"
	done | awk -v srcs="$_kn_srcs" -v dsts="$_kn_dsts" '
	{ res[$1, $2, $3] = ($4 == "OK") ? "X" : "." }
	END {
		ns = split(srcs, s, " "); nd = split(dsts, d, " ")
		w = 0
		for (i = 1; i <= ns; i++) if (length(s[i]) > w) w = length(s[i])
		for (j = 1; j <= nd; j++) {
			split(d[j], p, ":"); h[j] = p[1]; v[j] = p[2]
			cw[j] = length(h[j]) > length(v[j]) ? length(h[j]) : length(v[j])
		}
		l1 = sprintf("%-" w "s", ""); l2 = l1
		for (j = 1; j <= nd; j++) {
			l1 = l1 sprintf("  %-" cw[j] "s", h[j])
			l2 = l2 sprintf("  %-" cw[j] "s", v[j])
		}
		print l1; print l2
		for (i = 1; i <= ns; i++) {
			l = sprintf("%-" w "s", s[i])
			for (j = 1; j <= nd; j++) {
				c = (s[i] == h[j]) ? "-" : res[s[i], h[j], v[j]]
				l = l sprintf("  %-" cw[j] "s", c == "" ? "?" : c)
			}
			print l
		}
	}'
}

_kn_dump_rulesets()
{
	_kn_nodes=$(cat "$KN_WORKDIR/kn.nodes" 2>/dev/null || echo 0)
	_kn_n=1
	while [ "$_kn_n" -le "$_kn_nodes" ]; do
		echo "---- nft list ruleset (node$_kn_n)"
		kn_ruleset "$_kn_n" 2>&1
		_kn_n=$((_kn_n + 1))
	done
}

# _kn_compare RESULTS: compare RESULTS with kn.expect; print one summary
# line per table, family and service, and for each one that differs the
# expected and observed tables side by side and the list of differences.
# Exit status 1 when anything differs.
_kn_compare()
{
	awk '
	FILENAME == ARGV[1] {
		res[$1, $2, $3, $4] = ($5 == "OK") ? "X" : "."
		why[$1, $2, $3, $4] = ($5 == "OK") ? "connected" : "blocked (" $6 ")"
		next
	}
	/^@/ { t++; fams[t] = $2; svcs[t] = $3; hdr = 1; next }
	hdr { ncol[t] = NF; for (j = 1; j <= NF; j++) col[t, j] = $j; hdr = 0; next }
	{ nrow[t]++; row[t, nrow[t]] = $1; for (j = 2; j <= NF; j++) cell[t, nrow[t], j - 1] = $j }
	function pad(s, w) { return sprintf("%-" w "s", s) }
	END {
		status = 0
		for (k = 1; k <= t; k++) {
			nf = split(fams[k], fa, ",")
			ns = split(svcs[k], sa, ",")
			w = 3
			for (j = 1; j <= ncol[k]; j++) if (length(col[k, j]) > w) w = length(col[k, j])
			for (i = 1; i <= nrow[k]; i++) if (length(row[k, i]) > w) w = length(row[k, i])
			for (a = 1; a <= nf; a++) for (b = 1; b <= ns; b++) {
				f = fa[a]; s = sa[b]; diffs = 0; pairs = 0; list = ""
				for (i = 1; i <= nrow[k]; i++) for (j = 1; j <= ncol[k]; j++) {
					src = row[k, i]; dst = col[k, j]; e = cell[k, i, j]
					if (src == dst || e == "?") { obs[i, j] = (src == dst) ? "-" : "?"; continue }
					o = res[src, dst, f, s]
					if (o == "") o = "!"
					obs[i, j] = o
					pairs++
					if ((e == "X") != (o == "X")) {
						diffs++
						obs[i, j] = o "*"
						list = list sprintf("    %s -> %s %s IPv%s: expected %s, observed %s\n", \
							src, dst, s, f, e == "X" ? "allowed" : "blocked", why[src, dst, f, s])
					}
				}
				if (diffs == 0) {
					printf "ok    %-7s IPv%s: %d pairs\n", s, f, pairs
					continue
				}
				status = 1
				printf "FAIL  %-7s IPv%s: %d of %d pairs differ\n", s, f, diffs, pairs
				print "  " pad("expected", w + 1 + ncol[k] * (w + 1)) \
					"   observed (* marks a difference)"
				line = "  " pad("", w) " "
				for (j = 1; j <= ncol[k]; j++) line = line " " pad(col[k, j], w)
				line = line "   " pad("", w) " "
				for (j = 1; j <= ncol[k]; j++) line = line " " pad(col[k, j], w)
				print line
				for (i = 1; i <= nrow[k]; i++) {
					line = "  " pad(row[k, i], w) " "
					for (j = 1; j <= ncol[k]; j++) {
						e = cell[k, i, j]
						if (row[k, i] == col[k, j]) e = "-"
						line = line " " pad(e, w)
					}
					line = line "   " pad(row[k, i], w) " "
					for (j = 1; j <= ncol[k]; j++) line = line " " pad(obs[i, j], w)
					print line
				}
				printf "%s", list
			}
		}
		exit status
	}' "$1" "$KN_WORKDIR/kn.expect"
}
