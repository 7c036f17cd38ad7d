#! @ATF_SH@
#
# Incremental commits (the planner, src/planner/plan.c, rendered by
# kn_nl_commit and kn_nl_commit_delta) against the kernel.
#
# nlupdate (tests/netns/nlupdate.c) applies cluster states as the daemon
# does: the first in full, each next one as the difference from the one
# before.  After every step the table must be exactly the one a full
# apply of that state gives in a fresh namespace (nft -s list, and the
# normalized JSON listing): the planner's element, set and chain changes
# leave no trace of the way they were made.  A change of one pod must
# send a batch whose size does not depend on the size of the cluster.
# And a batch the kernel rejects, whichever of its messages it rejects,
# must leave the previous ruleset exactly in place: never a mix.
#
# Every case works in network namespaces of its own (kn-plan-PID-N),
# deleted by its cleanup even when the case fails.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
: "${KN_NFTCTL:=$KN_TOP_BUILDDIR/src/kube-nftctl}"
: "${KN_NLUPDATE:=$KN_TOP_BUILDDIR/tests/netns/nlupdate}"
: "${KN_PYTHON:=python3}"
TABLE=kube-nftd
NODE=node1

common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft $KN_PYTHON"
}

# ns_new N: creates network namespace kn-plan-PID-N and sets NS to its
# name; ns_cleanup (another process) finds the names in netns.list.
ns_new()
{
	NS=kn-plan-$$-$1
	echo "$NS" >>netns.list
	ip netns add "$NS" || atf_fail "cannot create network namespace $NS"
}

ns_cleanup()
{
	[ -f netns.list ] || return 0
	while read -r _ns; do
		ip netns del "$_ns" 2>/dev/null
	done <netns.list
	return 0
}

require_tools()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
	[ -x "$KN_NLUPDATE" ] || atf_fail "$KN_NLUPDATE is missing: make check-build"
}

# full NS FILE: the reference, a full apply of FILE (replaces the table).
full()
{
	ip netns exec "$1" "$KN_NFTCTL" apply --node $NODE "$2" 2>stderr ||
		atf_fail "kube-nftctl apply $2: $(cat stderr)"
}

# nlupdate NS ARGS...: runs nlupdate in NS for this node; output in
# nlupdate.out (and on stdout), errors in stderr.
nlupdate()
{
	_ns=$1
	shift
	ip netns exec "$_ns" "$KN_NLUPDATE" --node $NODE "$@" >nlupdate.out 2>stderr
	_st=$?
	cat nlupdate.out
	return $_st
}

# Objects are compared in one order: an incremental commit creates a
# new chain after the ones already there.
LISTING_SORT=1
. "$KN_TOP_SRCDIR/tests/netns/listing.sh"

# sorted_nft FILE: the listing with the chains in name order.  nft lists
# chains in the order they were created, and an incremental commit
# creates a new chain after the ones already there.
sorted_nft()
{
	"$KN_PYTHON" - "$1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
head, blocks, cur, tail = [], [], None, []
for l in lines:
    if cur is None and (l.startswith("\tchain ") or l.startswith("\tset ") or l.startswith("\tmap ")):
        cur = [l]
    elif cur is not None:
        cur.append(l)
        if l == "\t}":
            blocks.append(cur)
            cur = None
    elif blocks:
        tail.append(l)
    else:
        head.append(l)
blocks.sort(key=lambda b: (b[0].split()[0], b[0]))
print("\n".join(head + ["\n".join(b) for b in blocks] + tail))
EOF
}

# same_snapshots WHAT: snapshots inc and ref are the same.
same_snapshots()
{
	sorted_nft inc.nft >inc.sorted.nft
	sorted_nft ref.nft >ref.sorted.nft
	same "$1 (nft -s list)" ref.sorted.nft inc.sorted.nft
	same "$1 (nft -j list)" ref.json inc.json
}

# same_table NS REF WHAT: the tables in NS and REF are the same.
same_table()
{
	snapshot "$1" inc
	snapshot "$2" ref
	same_snapshots "$3"
}

# equal_to_full NS REF FILE WHAT: the table in NS is what a full apply of
# FILE gives (applied in REF).
equal_to_full()
{
	full "$2" "$3"
	same_table "$1" "$2" "$4"
}

# equal_to_full_sized NS REF FILE WHAT SIZES: the same, but for the sizes
# of hash sets, which depend on the history of an incremental compiler's
# sets (a set keeps its size while its elements fit): the sets in NS must
# have the sizes nlupdate --sizes wrote to SIZES, the program it holds.
equal_to_full_sized()
{
	full "$2" "$3"
	snapshot "$1" inc
	snapshot "$2" ref
	"$KN_PYTHON" - inc.raw.json "$5" <<'EOF' || atf_fail "$4: the kernel's set sizes are not the program's"
import json, sys
kernel = {}
for obj in json.load(open(sys.argv[1]))["nftables"]:
    (kind, body), = obj.items()
    if kind in ("set", "map"):
        kernel[body["name"]] = body.get("size", 0)
program = {}
for line in open(sys.argv[2]):
    name, size = line.split()
    program[name] = int(size)
if kernel != program:
    for name in sorted(set(kernel) | set(program)):
        if kernel.get(name) != program.get(name):
            print("set %s: size %s in the kernel, %s in the program"
                  % (name, kernel.get(name), program.get(name)), file=sys.stderr)
    sys.exit(1)
if not any(program.values()):
    print("no set has a size", file=sys.stderr)
    sys.exit(1)
EOF
	# The rest compared as same_table does, sizes left out of both.
	for _t in inc ref; do
		grep -v '^		size [0-9]*$' $_t.nft >$_t.nosize.nft
		"$KN_PYTHON" -c '
import json, sys
objs = json.load(open(sys.argv[1]))
for obj in objs:
    for kind in ("set", "map"):
        obj.get(kind, {}).pop("size", None)
json.dump(objs, sys.stdout, indent=1, sort_keys=True)
print()' $_t.json >$_t.nosize.json || atf_fail "cannot read $_t.json"
		mv $_t.nosize.nft $_t.nft
		mv $_t.nosize.json $_t.json
	done
	same_snapshots "$4, sizes aside"
}

# gen FILE PODS MUTATIONS: a cluster of PODS pods (at least 100) in 10
# namespaces, with policies of every kind (default deny, same app with
# named ports, namespaceSelector with endPort ranges, egress to ipBlocks
# with except), changed by the comma-separated MUTATIONS.  Pod pI is in
# namespace ns(I % 10), labelled app(I / 10 % 4) and role db or web
# (I / 10 even or odd); p0-p39 run on node1, four per namespace, one of
# each app: whatever the size of the cluster, node1 holds the same pods
# and compiles the same policies.
gen()
{
	"$KN_PYTHON" - "$@" <<'EOF' || atf_fail "cannot generate $1"
import json, sys
path, npods, muts = sys.argv[1], int(sys.argv[2]), set(filter(None, sys.argv[3].split(",")))

def pod(name, ns, labels, node, i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c", "ports": [
                {"name": "http", "containerPort": 8080},
                {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                {"name": "metrics", "containerPort": 9090}]}]},
            "status": {"phase": "Running", "podIP": ip4(i),
                       "podIPs": [{"ip": ip4(i)}, {"ip": "fd00:1::%x" % (i + 10)}]}}

def ip4(i):
    a = i + 10
    return "10.1.%d.%d" % (a >> 8, a & 255)

def netpol(ns, name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}

nss = ["ns%d" % i for i in range(10)]
items = []
for i, ns in enumerate(nss):
    team = "t%d" % (i % 3)
    if "ns_label" in muts and ns == "ns4":
        team = "t1"
    items.append({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": ns, "labels": {"team": team}}})
if "empty" not in muts:
    for i in range(npods):
        name, ns = "p%d" % i, nss[i % 10]
        labels = {"app": "app%d" % (i // 10 % 4), "role": "web" if i // 10 % 2 else "db"}
        if "pod_del" in muts and i == 3:
            continue
        if "ip_reuse" in muts and i == 9:
            continue
        if "relabel" in muts and i == 85:
            labels["app"] = "app1"
        if "relabel_local" in muts and i == 14:
            labels["app"] = "app3"  # the group of p34
        p = pod(name, ns, labels, "node1" if i < 40 else "node2", i)
        if "ip_change" in muts and i == 7:
            p["status"]["podIP"] = "10.1.250.7"
            p["status"]["podIPs"][0]["ip"] = "10.1.250.7"
        items.append(p)
    if "pod_add" in muts:
        items.append(pod("new", "ns1", {"app": "app0", "role": "web"}, "node2", 60000))
    if "pod_add_local" in muts:
        items.append(pod("newlocal", "ns2", {"app": "app2", "role": "db"}, "node1", 60001))
    if "web_more" in muts:
        # Peers of every from-team policy (web pods of t1 namespaces):
        # 15 in base, whose sets are made of size 32; 16 with pod_add,
        # 34 with these.
        for k in range(18):
            items.append(pod("web%d" % k, "ns4", {"app": "app3", "role": "web"}, "node2",
                             60010 + k))
    if "ip_reuse" in muts:
        items.append(pod("reuse", "ns3", {"app": "app1", "role": "web"}, "node2", 9))
    for i, ns in enumerate(nss):
        if not ("policy_del" in muts and ns == "ns3") and i < 5:
            items.append(netpol(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]}))
        ports = [{"port": "http"}, {"port": 8443}]
        if "policy_edit" in muts and ns == "ns1":
            ports = [{"port": "http"}, {"port": 8443}, {"port": 7000, "endPort": 7010, "protocol": "UDP"}]
        if "port_range" in muts and ns == "ns1":
            ports = ports + [{"port": 7000, "endPort": 7010}]
        peers = [{"podSelector": {"matchLabels": {"app": "app0"}}}]
        if "peer_block" in muts and ns == "ns1":
            peers.append({"ipBlock": {"cidr": "172.20.0.0/16"}})
        rules = [{"from": peers, "ports": ports}]
        if "policy_edit" in muts and ns == "ns1":
            rules.append({"from": [{"ipBlock": {"cidr": "172.16.0.0/12"}}]})
        items.append(netpol(ns, "same-app", {"podSelector": {"matchLabels": {"app": "app0"}},
                                             "ingress": rules}))
        items.append(netpol(ns, "from-team", {
            "podSelector": {"matchLabels": {"role": "web"}},
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "t1"}},
                                   "podSelector": {"matchLabels": {"role": "web"}}}],
                         "ports": [{"port": 9000, "endPort": 9100}, {"port": 80}]}]}))
        cidr, exc = "10.0.0.0/8", ["10.1.0.0/16"]
        if "ipblock" in muts:
            cidr, exc = "10.0.0.0/9", ["10.1.0.0/17", "10.64.0.0/10"]
        if "ipblock_zero" in muts:
            cidr, exc = "0.0.0.0/0", ["10.0.0.0/8"]
        items.append(netpol(ns, "db-egress", {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": cidr, "except": exc}},
                               {"podSelector": {"matchLabels": {"app": "app1"}}}]},
                       {"ports": [{"port": "dns", "protocol": "UDP"}]}]}))
    if "policy_add" in muts:
        items.append(netpol("ns2", "extra", {"podSelector": {"matchLabels": {"app": "app2"}},
                                             "ingress": [{}], "egress": [{"to": [{"namespaceSelector": {}}]}]}))
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(path, "w"))
EOF
}

# --------------------------------------------------------------------------

# The states of the sequence, each against the one before.
STATES="base pod_add pod_add,web_more pod_add,pod_add_local pod_add,pod_add_local,pod_del
pod_add_local,pod_del,relabel relabel,relabel_local relabel_local,ip_change ip_reuse
ip_reuse,policy_edit policy_edit,policy_add policy_add,policy_del ns_label
ns_label,ipblock ipblock_zero ipblock empty base"

atf_test_case incremental_equals_full cleanup
incremental_equals_full_head()
{
	common_head "After every incremental commit the table is the one a full apply of that state gives"
	atf_set timeout 600
}
incremental_equals_full_body()
{
	require_tools
	ns_new 1
	inc=$NS
	ns_new 2
	ref=$NS
	n=0
	files=
	prev=
	for s in $STATES; do
		n=$((n + 1))
		f=state$n.json
		[ "$s" = base ] && s=
		gen "$f" 100 "$s"
		files="$files $f"
		echo "==== step $n: ${s:-base}"
		if [ -z "$prev" ]; then
			full "$inc" "$f"
		else
			nlupdate "$inc" --from "$prev" "$f" ||
				atf_fail "step $n (${s:-base}): $(cat stderr)"
			grep -q "^step 1 incremental:" nlupdate.out ||
				atf_fail "step $n was not incremental"
		fi
		equal_to_full "$inc" "$ref" "$f" "step $n (${s:-base})"
		prev=$f
	done

	# The same sequence in one process, the running program kept in
	# memory from commit to commit, as in the daemon.
	ns_new 3
	one=$NS
	# shellcheck disable=SC2086
	nlupdate "$one" $files || atf_fail "the sequence in one process: $(cat stderr)"
	[ "$(grep -c ' incremental: ' nlupdate.out)" -eq $((n - 1)) ] ||
		atf_fail "not every step after the first was incremental"
	equal_to_full "$one" "$ref" "$f" "the sequence in one process"

	# Nothing changed: nothing sent.
	nlupdate "$one" --from "$f" "$f" || atf_fail "an empty change failed: $(cat stderr)"
	grep -q "^step 1 incremental: 0 messages, 0 bytes, 0 ops" nlupdate.out ||
		atf_fail "an empty change sent something"
}
incremental_equals_full_cleanup()
{
	ns_cleanup
}

# batch SIZE MUTATION: messages and bytes of the commit of MUTATION on a
# cluster of SIZE pods, in namespace $NS ("MESSAGES BYTES").
batch()
{
	gen a.json "$1" ""
	gen b.json "$1" "$2"
	full "$NS" a.json
	nlupdate "$NS" --from a.json b.json >/dev/null ||
		atf_fail "$2 on $1 pods: $(cat stderr)"
	sed -n 's/^step 1 incremental: \([0-9]*\) messages, \([0-9]*\) bytes, .*/\1 \2/p' nlupdate.out
}

atf_test_case batch_size_independent_of_cluster cleanup
batch_size_independent_of_cluster_head()
{
	common_head "The batch of a single pod change has the same small size with 100 and with 2000 pods"
	atf_set timeout 600
}
batch_size_independent_of_cluster_body()
{
	require_tools
	ns_new 1
	printf '%-16s %22s %22s\n' change "100 pods" "2000 pods" >sizes.txt
	for m in pod_add pod_add_local pod_del relabel relabel_local ip_change ip_reuse \
		policy_edit; do
		small=$(batch 100 $m)
		big=$(batch 2000 $m)
		[ -n "$small" ] && [ -n "$big" ] || atf_fail "$m: no statistics"
		printf '%-16s %8s msgs %6s B %8s msgs %6s B\n' $m $small $big >>sizes.txt
		case $m in
		policy_edit) ;; # its sets hold the peers: may grow with the cluster
		*)
			[ "$small" = "$big" ] ||
				atf_fail "$m: $small with 100 pods, $big with 2000 (messages bytes)"
			# An element message per set or map the pod is in
			# (a peer of the 10 from-team policies and of the 10
			# egress named ports: 40), BEGIN and END; ip_reuse
			# changes two pods.
			set -- $small
			[ "$1" -le 64 ] || atf_fail "$m: $1 messages for one pod"
			[ "$2" -le 16384 ] || atf_fail "$m: $2 bytes for one pod"
			;;
		esac
	done
	cat sizes.txt
}
batch_size_independent_of_cluster_cleanup()
{
	ns_cleanup
}

atf_test_case rejected_keeps_previous cleanup
rejected_keeps_previous_head()
{
	common_head "An incremental batch rejected at any of its messages leaves the previous ruleset exactly; the next full resync succeeds"
	atf_set timeout 900
}
rejected_keeps_previous_body()
{
	require_tools
	ns_new 1
	ns=$NS
	ns_new 2
	ref=$NS
	# A change with every kind of step: element deletes and adds,
	# chains and sets created, deleted and rewritten.
	gen a.json 100 "ipblock,pod_del"
	gen b.json 100 "policy_edit,policy_add,policy_del,pod_add,pod_add_local,relabel_local,ip_change,ipblock_zero"
	full "$ns" a.json
	snapshot "$ns" before
	full "$ref" a.json
	nlupdate "$ref" --from a.json b.json || atf_fail "the change itself fails: $(cat stderr)"
	total=$(sed -n 's/^step 1 incremental: \([0-9]*\) messages.*/\1/p' nlupdate.out)
	[ -n "$total" ] && [ "$total" -gt 10 ] || atf_fail "unexpected batch: $(cat nlupdate.out)"
	# Message 0 is BEGIN and message total-1 is END: reject each one in
	# between, in turn.
	i=1
	while [ $i -lt $((total - 1)) ]; do
		if nlupdate "$ns" --from a.json --fail-at 1:$i b.json >/dev/null; then
			atf_fail "message $i rejected, yet the commit succeeded"
		fi
		grep -q "^step 1 incremental: failed: .*: No such file or directory" nlupdate.out ||
			atf_fail "message $i: unexpected error: $(cat nlupdate.out)"
		snapshot "$ns" after
		same "after message $i was rejected (nft -s list)" before.nft after.nft
		same "after message $i was rejected (nft -j list)" before.json after.json
		i=$((i + 1))
	done
	echo "rejected each of the $((total - 2)) messages: the ruleset stayed the previous one"

	# The error names the object of the rejected message: the last one
	# adds a rule.
	nlupdate "$ns" --from a.json --fail-at 1:-1 b.json >/dev/null
	grep -Eq "^step 1 incremental: failed: rule [0-9]+ of chain .*: No such file" nlupdate.out ||
		atf_fail "the error does not name a rule: $(cat nlupdate.out)"

	# After a failure the next commit is a full resync, and it succeeds.
	nlupdate "$ns" --from a.json --fail-at 1:2 b.json b.json && atf_fail "step 1 did not fail"
	grep -q "^step 2 full: " nlupdate.out || atf_fail "no full resync after the failure"
	equal_to_full "$ns" "$ref" b.json "the full resync after a failure"

	# A table changed behind our back (here: gone) makes the incremental
	# commit fail, not guess; the resync restores it.
	ip netns exec "$ns" nft delete table inet $TABLE
	nlupdate "$ns" --from b.json a.json a.json && atf_fail "a commit to a missing table succeeded"
	grep -q "^step 1 incremental: failed: " nlupdate.out || atf_fail "step 1 did not fail"
	equal_to_full "$ns" "$ref" a.json "the full resync after tampering"
}
rejected_keeps_previous_cleanup()
{
	ns_cleanup
}

atf_test_case recreated_objects cleanup
recreated_objects_head()
{
	common_head "Sets and chains whose definition changed are deleted and created again under their names, with what refers to them, in one incremental batch"
}
recreated_objects_body()
{
	require_tools
	ns_new 1
	ns=$NS
	ns_new 2
	ref=$NS
	gen a.json 100 "policy_add"
	gen b.json 100 "pod_add,relabel_local"
	# No manifest changes a definition: nlupdate --recomment changes the
	# comment of every set (the rules that use them must go first and
	# come back), of every chain (the jumps and dispatch map elements
	# too, base chains included), or both.
	for what in sets chains all; do
		full "$ns" a.json
		nlupdate "$ns" --from a.json --recomment "1:$what" b.json ||
			atf_fail "$what: $(cat nlupdate.out) $(cat stderr)"
		grep -q "^step 1 incremental: " nlupdate.out || atf_fail "$what: not incremental"
		nlupdate "$ref" --recomment "1:$what" b.json || atf_fail "$what: $(cat stderr)"
		grep -q "^step 1 full: " nlupdate.out || atf_fail "$what: no full reference"
		same_table "$ns" "$ref" "re-created $what"
	done
}
recreated_objects_cleanup()
{
	ns_cleanup
}

# set_block FILE NAME: the definition of set NAME in listing FILE.
set_block()
{
	awk -v name="$2" '$1 == "set" && $2 == name { on = 1 } on { print } on && /^\t}$/ { exit }' "$1"
}

# check_sets NS INTERVAL WHAT: in NS, the IPv4 peer set of ns1's
# same-app rule is an interval set holding the ipBlock (INTERVAL yes) or
# a plain set of pod addresses (no), and so is its port set, with the
# range 7000-7010 or with single ports only; the IPv6 peer set is always
# plain.
check_sets()
{
	snapshot "$1" check
	set_block check.nft np/ns1/same-app/ingress/0/peers-v4 >v4.txt
	set_block check.nft np/ns1/same-app/ingress/0/peers-v6 >v6.txt
	set_block check.nft np/ns1/same-app/ingress/0/ports >ports.txt
	cat v4.txt v6.txt ports.txt
	[ -s v4.txt ] && [ -s v6.txt ] && [ -s ports.txt ] || atf_fail "$3: the sets are not listed"
	grep -q 'tcp \. 8443' ports.txt || atf_fail "$3: port 8443 is not in the port set"
	grep -q 'flags interval' v6.txt && atf_fail "$3: the IPv6 peer set has flags interval"
	grep -q '10\.1\.0\.11' v4.txt || atf_fail "$3: pod p1 is not in the IPv4 peer set"
	if [ "$2" = yes ]; then
		grep -q 'flags interval' v4.txt || atf_fail "$3: the IPv4 peer set is not an interval set"
		grep -q '172\.20\.0\.0/16' v4.txt || atf_fail "$3: the ipBlock is not in the set"
		grep -q 'flags interval' ports.txt || atf_fail "$3: the port set is not an interval set"
		grep -q 'tcp \. 7000-7010' ports.txt || atf_fail "$3: the port range is not in the set"
	else
		grep -q 'flags interval' v4.txt && atf_fail "$3: the IPv4 peer set has flags interval"
		grep -q '172\.20\.' v4.txt && atf_fail "$3: the ipBlock is still in the set"
		grep -q 'flags interval' ports.txt && atf_fail "$3: the port set has flags interval"
		grep -q '7000' ports.txt && atf_fail "$3: the port range is still in the set"
	fi
	return 0
}

atf_test_case set_type_change cleanup
set_type_change_head()
{
	common_head "An ipBlock and a port range added to a rule turn its peer and port sets into interval sets, and back, in one incremental commit each"
}
set_type_change_body()
{
	require_tools
	ns_new 1
	ns=$NS
	ns_new 2
	ref=$NS
	# Pod peers and single ports give plain sets; with the ipBlock and
	# the endPort the IPv4 peer set and the port set hold ranges and
	# must be interval sets: each is deleted and created again under
	# its name, the chain whose rules use them rewritten around them.
	gen a.json 100 ""
	gen b.json 100 "peer_block,port_range"
	full "$ns" a.json
	check_sets "$ns" no "podSelector and single ports"
	nlupdate "$ns" --from a.json b.json || atf_fail "adding the ranges: $(cat stderr)"
	grep -Eq "^step 1 incremental: .*sets \+2 -2, chains \+0 -0, flushed 1, " nlupdate.out ||
		atf_fail "adding the ranges did not re-create exactly two sets: $(cat nlupdate.out)"
	check_sets "$ns" yes "ranges added"
	equal_to_full "$ns" "$ref" b.json "ranges added"

	nlupdate "$ns" --from b.json a.json || atf_fail "removing the ranges: $(cat stderr)"
	grep -Eq "^step 1 incremental: .*sets \+2 -2, chains \+0 -0, flushed 1, " nlupdate.out ||
		atf_fail "removing the ranges did not re-create exactly two sets: $(cat nlupdate.out)"
	check_sets "$ns" no "ranges removed"
	equal_to_full "$ns" "$ref" a.json "ranges removed"
}
set_type_change_cleanup()
{
	ns_cleanup
}

atf_test_case deferred_chain_delete cleanup
deferred_chain_delete_head()
{
	common_head "As on kernels before 6.2: a chain that map elements pointed at is deleted by the next commit"
}
deferred_chain_delete_body()
{
	require_tools
	ns_new 1
	ns=$NS
	ns_new 2
	ref=$NS
	# policy_add gives ns2's app2 pods a group chain of their own.
	gen a.json 100 "policy_add"
	gen b.json 100 ""
	full "$ns" a.json
	export KN_TEST_DEFER_CHAIN_DELETE=1
	nlupdate "$ns" --from a.json b.json || atf_fail "$(cat stderr)"
	full "$ref" b.json
	snapshot "$ns" inc
	snapshot "$ref" ref
	extra=$(grep '^	chain ' inc.nft | grep -vxF -f ref.nft)
	echo "left for the next commit: $extra"
	[ -n "$extra" ] || atf_fail "no chain was left for the next commit"
	echo "$extra" | grep -q "chain pods/ns2/" || atf_fail "unexpected chain left: $extra"

	# One process: the second commit, with nothing else to do, deletes
	# the chain left by the first.
	full "$ns" a.json
	nlupdate "$ns" --from a.json b.json b.json || atf_fail "$(cat stderr)"
	grep -Eq "^step 2 incremental: .* ops \(elements \+0 -0, sets \+0 -0, chains \+0 -[1-9]" \
		nlupdate.out || atf_fail "the second commit did not delete the chains left"
	equal_to_full "$ns" "$ref" b.json "after the deferred delete"

	# And when the next state has the chain again, it is deleted and
	# created afresh (that commit defers chains of its own: a third
	# one deletes them).
	full "$ns" a.json
	nlupdate "$ns" --from a.json b.json a.json a.json || atf_fail "$(cat stderr)"
	equal_to_full "$ns" "$ref" a.json "a deferred chain created again"
	unset KN_TEST_DEFER_CHAIN_DELETE
}
deferred_chain_delete_cleanup()
{
	ns_cleanup
}

atf_test_case incremental_compiler cleanup
incremental_compiler_head()
{
	common_head "The plans of the incremental compiler's deltas leave the table a full apply gives; a rejected one leaves the previous table"
	atf_set timeout 900
}
incremental_compiler_body()
{
	require_tools
	ns_new 1
	inc=$NS
	ns_new 2
	ref=$NS
	n=0
	files=
	prev=
	for s in $STATES; do
		n=$((n + 1))
		f=state$n.json
		[ "$s" = base ] && s=
		gen "$f" 100 "$s"
		files="$files $f"
		echo "==== step $n: ${s:-base}"
		if [ -z "$prev" ]; then
			full "$inc" "$f"
		else
			# The kernel holds what nlupdate --from assumes: prev, as a
			# whole compile sizes its sets.
			full "$inc" "$prev"
			nlupdate "$inc" --incremental --sizes sizes --from "$prev" "$f" ||
				atf_fail "step $n (${s:-base}): $(cat stderr)"
			grep -q "^step 1 incremental:" nlupdate.out ||
				atf_fail "step $n was not incremental"
		fi
		if [ -z "$prev" ]; then
			equal_to_full "$inc" "$ref" "$f" "step $n (${s:-base})"
		else
			equal_to_full_sized "$inc" "$ref" "$f" "step $n (${s:-base})" sizes
		fi
		prev=$f
	done

	# The sequence in one process, as in the daemon.
	ns_new 3
	one=$NS
	# shellcheck disable=SC2086
	nlupdate "$one" --incremental --sizes sizes $files ||
		atf_fail "the sequence in one process: $(cat stderr)"
	[ "$(grep -c ' incremental: ' nlupdate.out)" -eq $((n - 1)) ] ||
		atf_fail "not every step after the first was incremental"
	# Step 3 (web_more) outgrows the from-team peer sets: created again.
	grep -q '^step 3 incremental: .*sets +[1-9][0-9]* -[1-9]' nlupdate.out ||
		atf_fail "step 3 re-created no set: $(sed -n 3p nlupdate.out)"
	equal_to_full_sized "$one" "$ref" "$f" "the sequence in one process" sizes

	# Rejected messages of a delta's batch leave the previous table; the
	# full resync that follows succeeds.
	gen a.json 100 "ipblock,pod_del"
	gen b.json 100 "policy_edit,policy_add,policy_del,pod_add,pod_add_local,relabel_local,ip_change,ipblock_zero"
	full "$inc" a.json
	snapshot "$inc" before
	full "$one" a.json
	nlupdate "$one" --incremental --from a.json b.json || atf_fail "the change: $(cat stderr)"
	total=$(sed -n 's/^step 1 incremental: \([0-9]*\) messages.*/\1/p' nlupdate.out)
	[ -n "$total" ] && [ "$total" -gt 10 ] || atf_fail "unexpected batch: $(cat nlupdate.out)"
	for i in 1 $((total / 3)) $((total / 2)) $((total - 2)); do
		nlupdate "$inc" --incremental --from a.json --fail-at 1:$i b.json >/dev/null &&
			atf_fail "message $i rejected, yet the commit succeeded"
		snapshot "$inc" after
		same "after message $i was rejected (nft -s list)" before.nft after.nft
		same "after message $i was rejected (nft -j list)" before.json after.json
	done
	nlupdate "$inc" --incremental --from a.json --fail-at 1:2 b.json b.json &&
		atf_fail "step 1 did not fail"
	grep -q "^step 2 full: " nlupdate.out || atf_fail "no full resync after the failure"
	equal_to_full "$inc" "$ref" b.json "the full resync after a failure"

	# As on kernels before 6.2: chains that map elements pointed at go
	# one commit later, and come back when the next state has them.
	gen c.json 100 "policy_add"
	gen d.json 100 ""
	export KN_TEST_DEFER_CHAIN_DELETE=1
	full "$inc" c.json
	nlupdate "$inc" --incremental --from c.json d.json d.json || atf_fail "$(cat stderr)"
	grep -Eq "^step 2 incremental: .* chains \+0 -[1-9]" nlupdate.out ||
		atf_fail "the second commit did not delete the chains left"
	equal_to_full "$inc" "$ref" d.json "after the deferred delete"
	full "$inc" c.json
	nlupdate "$inc" --incremental --from c.json d.json c.json c.json || atf_fail "$(cat stderr)"
	equal_to_full "$inc" "$ref" c.json "a deferred chain created again"
	unset KN_TEST_DEFER_CHAIN_DELETE
}
incremental_compiler_cleanup()
{
	ns_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case incremental_equals_full
	atf_add_test_case batch_size_independent_of_cluster
	atf_add_test_case rejected_keeps_previous
	atf_add_test_case recreated_objects
	atf_add_test_case set_type_change
	atf_add_test_case deferred_chain_delete
	atf_add_test_case incremental_compiler
}
