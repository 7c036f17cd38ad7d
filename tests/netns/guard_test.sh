#! @ATF_SH@
#
# The API server guard with real traffic.
#
# One node (lib.sh) with two pods: ops/op, whose service account may read
# pods (a RoleBinding of ClusterRole pod-reader to the group
# system:serviceaccounts:ops), and web/w, whose account has no binding.
# The "API server" lives in a namespace of its own behind the node
# (192.168.200.10 and fd00:200::10, port 6443), and also on the node
# itself (192.168.100.1 and fd00:100::1, port 6443: the input hook).  A
# kube-proxy-like DNAT, in a table the test owns, sends the ClusterIP
# (10.96.0.1:443 and [fd00:96::1]:443) to the first one.  The state holds
# Service default/kubernetes and its EndpointSlices, as a cluster has them.
#
#   pod netns --veth-- node1 --veth (apiveth)-- api netns
#   10.244.1.11         192.168.100.1           192.168.200.10
#   10.244.1.12         192.168.200.1
#
# Every case builds its own namespaces and removes them in its cleanup.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
. "$KN_TOP_SRCDIR/tests/netns/lib.sh"

common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft conntrack"
}

OP=ops/op
W=web/w

# The API server as the guard must find it, by ClusterIP and endpoints.
SVC4=apiserver=10.96.0.1:tcp:443
SVC6=apiserver=fd00:96::1:tcp:443
EP4=apiserver=192.168.200.10:tcp:6443
EP6=apiserver=fd00:200::10:tcp:6443
NODE4=node1=192.168.100.1:tcp:6443
NODE6=node1=fd00:100::1:tcp:6443
API_ALL="$SVC4 $SVC6 $EP4 $EP6 $NODE4 $NODE6"
# Another port of the API server's host: not the API server.
OTHER4=apiserver=192.168.200.10:tcp:80

SERVICE='{"apiVersion":"v1","kind":"Service","metadata":{"name":"kubernetes","namespace":"default"},"spec":{"clusterIP":"10.96.0.1","clusterIPs":["10.96.0.1","fd00:96::1"],"ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}}'
SLICE4='{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"kubernetes","namespace":"default","labels":{"kubernetes.io/service-name":"kubernetes"}},"addressType":"IPv4","endpoints":[{"addresses":["192.168.200.10"]},{"addresses":["192.168.100.1"]}],"ports":[{"name":"https","port":6443,"protocol":"TCP"}]}'
SLICE6='{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"kubernetes-v6","namespace":"default","labels":{"kubernetes.io/service-name":"kubernetes"}},"addressType":"IPv6","endpoints":[{"addresses":["fd00:200::10"]},{"addresses":["fd00:100::1"]}],"ports":[{"name":"https","port":6443,"protocol":"TCP"}]}'
READER='{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"pod-reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]}'

# binding NS: a RoleBinding of pod-reader to every account of NS.
binding()
{
	printf '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",'
	printf '"metadata":{"name":"readers","namespace":"%s"},' "$1"
	printf '"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"pod-reader"},'
	printf '"subjects":[{"kind":"Group","name":"system:serviceaccounts:%s"}]}\n' "$1"
}

# state FILE [ITEM...]: the cluster state: the pods, the API server's
# objects, pod-reader, the binding for ops, and ITEM...
state()
{
	_out=$1
	shift
	kn_state "$_out" "$SERVICE" "$SLICE4" "$SLICE6" "$READER" "$(binding ops)" "$@"
}

# api_host_init: the API server's namespace, linked to node1.
api_host_init()
{
	_api=$(kn_prefix)-api
	_node=$(kn_node_netns 1)
	kn_run ip netns add "$_api"
	echo "$_api" >>"$KN_WORKDIR/kn.netns"
	kn_run ip netns exec "$_api" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	kn_run ip -n "$_node" link add apiveth type veth peer name eth0 netns "$_api"
	kn_run ip -n "$_node" addr add 192.168.200.1/24 dev apiveth
	kn_run ip -n "$_node" addr add fd00:200::1/64 dev apiveth nodad
	kn_run ip -n "$_node" link set apiveth up
	kn_run ip -n "$_api" link set lo up
	kn_run ip -n "$_api" link set eth0 up
	kn_run ip -n "$_api" addr add 192.168.200.10/24 dev eth0
	kn_run ip -n "$_api" addr add fd00:200::10/64 dev eth0 nodad
	kn_run ip -n "$_api" route add 10.244.0.0/16 via 192.168.200.1
	kn_run ip -n "$_api" route add fd00:10:244::/48 via fd00:200::1
	echo "apiserver $_api 192.168.200.10 fd00:200::10" >>"$KN_WORKDIR/kn.hosts"
}

# proxy_init: what kube-proxy does for Service default/kubernetes, in a
# table of the test's own.
proxy_init()
{
	ip netns exec "$(kn_node_netns 1)" nft -f - <<'EOF' || atf_fail "cannot create the DNAT"
table ip kn-test-proxy {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 10.96.0.1 tcp dport 443 dnat to 192.168.200.10:6443
	}
}
table ip6 kn-test-proxy {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip6 daddr fd00:96::1 tcp dport 443 dnat to [fd00:200::10]:6443
	}
}
EOF
}

# setup [APISERVICES]: the cluster; the API servers serve APISERVICES
# (default: tcp/6443 tcp/80 on the API host, tcp/6443 on the node).
setup()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
	kn_topology_init 1
	kn_add_pod ops op 1 11
	kn_add_pod web w 1 12
	api_host_init
	proxy_init
	if [ "${1:-}" != noservers ]; then
		kn_start_server apiserver tcp/6443 tcp/80
		kn_start_server node1 tcp/6443
		kn_wait_servers
	fi
}

# reach POD OK|FAIL TARGET...: every TARGET (LABEL=ADDR:tcp:PORT) must
# connect from POD (OK) or not (FAIL).
reach()
{
	_pod=$1 _want=$2
	shift 2
	ip netns exec "$(kn_pod_netns "$_pod")" "$KN_PYTHON" "$KN_NETNS_DIR/probe.py" -t 1 "$@" \
		>probe.out 2>&1 || atf_fail "probe.py: $(cat probe.out)"
	while read -r _label _addr _proto _port _res _why; do
		if [ "$_res" != "$_want" ]; then
			kn_ruleset 1 >&2
			atf_fail "$_pod -> $_label $_addr:$_port: $_res $_why, expected $_want"
		fi
	done <probe.out
	echo "$_pod: $_want: $*"
}

# apply ARGS...: kube-nftctl apply on node1, replacing the ruleset.
apply()
{
	kn_update "$@"
}

# counter COMMENT: the packets counted by the guard's rules whose
# comment is COMMENT, summed over both families.
counter()
{
	ip netns exec "$(kn_node_netns 1)" nft list chain inet kube-nftd api-guard |
		awk -v c="comment \"$1\"" 'index($0, c) && match($0, /counter packets [0-9]+/) {
			split(substr($0, RSTART, RLENGTH), f, " "); n += f[3] } END { print n + 0 }'
}

# --------------------------------------------------------------------------

atf_test_case enforce cleanup
enforce_head()
{
	common_head "In enforce mode, pods without API permissions reach the API server neither by ClusterIP nor by endpoint (routed or on the node), IPv4 and IPv6; pods with permissions do"
}
enforce_body()
{
	setup
	state state.json
	apply --api-guard=enforce state.json
	reach $OP OK $API_ALL $OTHER4
	reach $W FAIL $API_ALL
	# The API server's host is still reachable on its other ports.
	reach $W OK $OTHER4
	# api-access tells why.
	kn_nftctl 1 api-access --node node1 state.json >access.out 2>&1 ||
		atf_fail "api-access: $(cat access.out)"
	cat access.out
	grep -q '^ops/op .* allowed  bound to ClusterRole pod-reader by RoleBinding ops/readers$' \
		access.out || atf_fail "api-access: ops/op is not allowed"
	grep -q '^web/w .* denied   account has no bindings$' access.out ||
		atf_fail "api-access: web/w is not denied"
	grep -q '10.96.0.1:443/TCP  (Service default/kubernetes)' access.out ||
		atf_fail "api-access does not list the ClusterIP"
	[ "$(counter "pods without API permissions to the API server")" -gt 0 ] ||
		atf_fail "the guard counted no dropped packet"
}
enforce_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case audit cleanup
audit_head()
{
	common_head "Audit mode (the default) drops nothing, and counts what enforce would drop"
}
audit_body()
{
	setup
	state state.json
	apply state.json
	[ "$(counter "audit: enforce would drop these pods' packets")" -eq 0 ] ||
		atf_fail "counted before any traffic"
	reach $W OK $API_ALL
	reach $OP OK $API_ALL
	_n=$(counter "audit: enforce would drop these pods' packets")
	echo "audit counted $_n packets of web/w"
	[ "$_n" -gt 0 ] || atf_fail "audit counted nothing"
	_r=$(counter "audit: enforce would drop these replies")
	[ "$_r" -gt 0 ] || atf_fail "audit counted no replies"
	ip netns exec "$(kn_node_netns 1)" nft list chain inet kube-nftd api-guard |
		grep -q 'limit rate 10/minute log prefix "kube-nftd api-guard audit: " group 0' ||
		atf_fail "no rate-limited nflog rule"
	# --api-guard=off: no guard at all.
	apply --api-guard=off state.json
	ip netns exec "$(kn_node_netns 1)" nft list chain inet kube-nftd api-guard \
		>/dev/null 2>&1 && atf_fail "the guard is still there with --api-guard=off"
	reach $W OK $API_ALL
}
audit_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case grant_revoke cleanup
grant_revoke_head()
{
	common_head "Granting and revoking a binding (re-apply) flips access; a NetworkPolicy cannot override the guard"
}
grant_revoke_body()
{
	setup
	state state.json
	apply --api-guard=enforce state.json
	reach $W FAIL $SVC4 $EP6 $NODE4
	echo "==== grant web"
	state state.json "$(binding web)"
	apply --api-guard=enforce state.json
	reach $W OK $API_ALL
	echo "==== revoke web and ops"
	kn_state state.json "$SERVICE" "$SLICE4" "$SLICE6" "$READER"
	apply --api-guard=enforce state.json
	reach $W FAIL $API_ALL
	reach $OP FAIL $API_ALL
	echo "==== the role goes: the binding grants nothing"
	kn_state state.json "$SERVICE" "$SLICE4" "$SLICE6" "$(binding ops)"
	apply --api-guard=enforce state.json
	reach $OP FAIL $SVC4 $EP4
	echo "==== a policy allowing all egress does not open the API server"
	state state.json "$(kn_netpol web allow-all '{"podSelector":{},"policyTypes":["Egress"],"egress":[{}]}')"
	apply --api-guard=enforce state.json
	reach $W FAIL $API_ALL
	reach $W OK $OTHER4
	echo "==== and the guard opens nothing a policy closes"
	state state.json "$(kn_netpol ops deny-all '{"podSelector":{},"policyTypes":["Egress"]}')"
	apply --api-guard=enforce state.json
	reach $OP FAIL $SVC4 $EP4
}
grant_revoke_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

# A watch: the server sends an event every 100 ms on every connection, as
# a Kubernetes watch streams; the client counts what arrives once told.
WATCH_SERVER='
import os, signal, socket, sys, threading, time
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
socks = []
for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, 6443))
    s.listen(16)
    socks.append(s)
def push(c):
    n = 0
    try:
        while True:
            c.sendall(b"event %d\n" % n)
            n += 1
            time.sleep(0.1)
    except OSError:
        pass
def serve(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=push, args=(c,), daemon=True).start()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(3600)
'

# Prints "open" once the first event arrived, then, once the trigger file
# exists, "alive N" (N bytes arrived in 2 s after a grace of 0.5 s) or
# "cut".
WATCH_CLIENT='
import os, socket, sys, time
addr, port, trigger = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.settimeout(2)
c.connect((addr, port))
c.settimeout(0.1)
def drain(until):
    n = 0
    while time.monotonic() < until:
        try:
            d = c.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            return n
        if not d:
            return n
        n += len(d)
    return n
if drain(time.monotonic() + 1) == 0:
    print("no-event", flush=True)
    sys.exit(0)
print("open", flush=True)
while not os.path.exists(trigger):
    drain(time.monotonic() + 0.1)
drain(time.monotonic() + 0.5)
n = drain(time.monotonic() + 2)
print("alive %d" % n if n else "cut", flush=True)
'

# watch POD ADDR PORT NAME: starts a watch client in POD, in the
# background; its output goes to NAME.out.
watch()
{
	rm -f "$4.out" "$4.trigger"
	ip netns exec "$(kn_pod_netns "$1")" "$KN_PYTHON" -c "$WATCH_CLIENT" "$2" "$3" \
		"$KN_WORKDIR/$4.trigger" >"$4.out" 2>&1 </dev/null &
	echo "$!" >"$4.pid"
}

# watch_wait NAME WANT: waits for the client's next line and checks it.
watch_wait()
{
	_i=0
	while :; do
		case $2 in
		open) grep -qsx open "$1.out" && return 0 ;;
		*) [ "$(sed -n 2p "$1.out" 2>/dev/null)" != "" ] && break ;;
		esac
		kill -0 "$(cat "$1.pid")" 2>/dev/null || [ "$2" != open ] ||
			atf_fail "watch $1: $(cat "$1.out")"
		_i=$((_i + 1))
		[ "$_i" -lt 100 ] || atf_fail "watch $1: no answer: $(cat "$1.out")"
		sleep 0.1
	done
	_got=$(sed -n 2p "$1.out")
	echo "watch $1: $_got"
	case $_got in
	$2*) ;;
	*) atf_fail "watch $1: $_got, expected $2" ;;
	esac
}

# conntrack_count ADDR PORT: conntrack entries from ADDR to PORT on node1.
conntrack_count()
{
	ip netns exec "$(kn_node_netns 1)" conntrack -L -p tcp --orig-src "$1" --orig-port-dst "$2" \
		2>/dev/null | grep -c .
}

atf_test_case revoke_cuts cleanup
revoke_cuts_head()
{
	common_head "Revoking access cuts open connections (a watch through the ClusterIP, and straight to an endpoint): their conntrack entries go and nothing more arrives; connections of pods that keep access live on"
}
revoke_cuts_body()
{
	setup noservers
	_api=$(kn_prefix)-api
	ip netns exec "$_api" "$KN_PYTHON" -c "$WATCH_SERVER" "$KN_WORKDIR/watch.ready" \
		>watch-server.log 2>&1 </dev/null &
	echo "$! $KN_WORKDIR/watch.ready" >>"$KN_WORKDIR/kn.pids"
	kn_wait_servers

	echo "==== with access, a watch lives on across a re-apply"
	state state.json "$(binding web)"
	apply --api-guard=enforce state.json
	watch $W 10.96.0.1 443 control
	watch_wait control open
	apply --api-guard=enforce state.json
	touch control.trigger
	watch_wait control alive

	echo "==== revocation cuts the watches of web/w, not those of ops/op"
	watch $W 10.96.0.1 443 svc
	watch $W fd00:96::1 443 svc6
	watch $W 192.168.200.10 6443 direct
	watch $OP 10.96.0.1 443 keeps
	for _w in svc svc6 direct keeps; do
		watch_wait $_w open
	done
	[ "$(conntrack_count 10.244.1.12 443)" -ge 1 ] || atf_fail "no conntrack entry to cut"
	state state.json
	apply --api-guard=enforce state.json
	cat "$KN_WORKDIR/kn.apply.node1.err"
	grep -Eq 'open connections? cut' "$KN_WORKDIR/kn.apply.node1.err" ||
		atf_fail "apply did not report the connections it cut"
	grep -q ' 0 open connections cut' "$KN_WORKDIR/kn.apply.node1.err" &&
		atf_fail "apply cut no connection"
	[ "$(conntrack_count 10.244.1.12 443)" -eq 0 ] ||
		atf_fail "conntrack entries of web/w remain"
	[ "$(conntrack_count 10.244.1.12 6443)" -eq 0 ] ||
		atf_fail "conntrack entries of web/w remain (direct)"
	[ "$(conntrack_count 10.244.1.11 443)" -ge 1 ] ||
		atf_fail "the conntrack entry of ops/op went too"
	touch svc.trigger svc6.trigger direct.trigger keeps.trigger
	watch_wait svc cut
	watch_wait svc6 cut
	watch_wait direct cut
	watch_wait keeps alive
}
revoke_cuts_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

KN_DAEMON=$KN_TOP_BUILDDIR/src/kube-nftd

# status: kube-nftd's status line of the guard.
status()
{
	"$KN_NFTCTL" status --control-socket "$KN_WORKDIR/ctl" >status.out 2>&1 ||
		atf_fail "kube-nftctl status: $(cat status.out)"
	grep '^api-guard:' status.out
}

# metric NAME DIRECTION: the value of NAME{direction="DIRECTION"} in the
# metrics file (empty when it is not there).
metric()
{
	awk -v s="$1{direction=\"$2\"}" '$1 == s { print $2 }' "$KN_WORKDIR/metrics.prom"
}

# metrics_show N: the metrics file shows N packets to the server.
metrics_show()
{
	[ "$(metric kube_nftd_api_guard_packets_total to_server)" = "$1" ]
}

atf_test_case daemon_counters cleanup
daemon_counters_head()
{
	common_head "kube-nftd's status and metrics show the guard's counters: in audit mode the packets enforce would drop, which pass; traffic that is not to or from the API server, or of pods with permissions, counts nothing"
}
daemon_counters_body()
{
	[ -x "$KN_DAEMON" ] || atf_fail "$KN_DAEMON is missing: build it first"
	setup
	state state.json
	mkdir dir
	cp state.json dir/
	ip netns exec "$(kn_node_netns 1)" "$KN_DAEMON" --node node1 \
		--source "dir:$KN_WORKDIR/dir" --control-socket "$KN_WORKDIR/ctl" \
		--metrics-file "$KN_WORKDIR/metrics.prom" --config /dev/null >daemon.log 2>&1 &
	echo "$! daemon" >>"$KN_WORKDIR/kn.pids"
	_i=0
	until "$KN_NFTCTL" status --control-socket "$KN_WORKDIR/ctl" 2>/dev/null |
		grep -q '^state: synced'; do
		_i=$((_i + 1))
		[ "$_i" -lt 100 ] || atf_fail "kube-nftd did not commit: $(cat daemon.log)"
		sleep 0.05
	done
	_zero='api-guard: audit, would drop 0 packets (0 bytes) to the API server, 0 replies (0 bytes)'
	[ "$(status)" = "$_zero" ] || atf_fail "before any traffic: $(cat status.out)"
	grep -qx 'kube_nftd_api_guard_mode{mode="audit"} 1' metrics.prom ||
		atf_fail "metrics: no audit mode: $(cat metrics.prom)"
	metrics_show 0 || atf_fail "metrics before any traffic: $(cat metrics.prom)"
	[ "$(metric kube_nftd_api_guard_packets_total from_server)" = 0 ] ||
		atf_fail "metrics before any traffic: $(cat metrics.prom)"

	echo "==== a pod with permissions, and another port of the API host: nothing counted"
	reach $OP OK $API_ALL
	reach $W OK $OTHER4
	[ "$(status)" = "$_zero" ] || atf_fail "counted other traffic: $(cat status.out)"

	echo "==== web/w passes in audit mode, and is counted"
	reach $W OK $API_ALL
	status
	_to=$(counter "audit: enforce would drop these pods' packets")
	_from=$(counter "audit: enforce would drop these replies")
	[ "$_to" -gt 0 ] && [ "$_from" -gt 0 ] || atf_fail "nft counted $_to and $_from packets"
	# What nft lists, IPv4 and IPv6 rules summed.
	status | grep -Eqx "api-guard: audit, would drop $_to packets \([1-9][0-9]* bytes\) to the API server, $_from replies \([1-9][0-9]* bytes\)" ||
		atf_fail "status does not show $_to and $_from packets: $(cat status.out)"
	grep -Eqx 'api-guard counting since: 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(the last full replacement\)' status.out ||
		atf_fail "status does not say since when it counts: $(cat status.out)"
	# No commit since: the periodic write (every 15 s) brings them.
	_i=0
	until metrics_show "$_to"; do
		_i=$((_i + 1))
		[ "$_i" -lt 200 ] ||
			atf_fail "metrics not refreshed after 20 s: $(grep api_guard metrics.prom)"
		sleep 0.1
	done
	grep api_guard metrics.prom
	[ "$(metric kube_nftd_api_guard_packets_total from_server)" = "$_from" ] ||
		atf_fail "metrics: $(grep api_guard metrics.prom)"
	[ "$(metric kube_nftd_api_guard_bytes_total to_server)" -gt 0 ] ||
		atf_fail "metrics: no bytes: $(grep api_guard metrics.prom)"
	grep -q '^# TYPE kube_nftd_api_guard_packets_total counter$' metrics.prom ||
		atf_fail "metrics: no TYPE line: $(grep api_guard metrics.prom)"
}
daemon_counters_cleanup()
{
	kn_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case enforce
	atf_add_test_case audit
	atf_add_test_case grant_revoke
	atf_add_test_case revoke_cuts
	atf_add_test_case daemon_counters
}
