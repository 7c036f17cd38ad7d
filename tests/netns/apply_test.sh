#! @ATF_SH@
#
# The netlink backend against the kernel.
#
# kube-nftctl compile renders a program as an nft -f script (the text
# backend); kube-nftctl apply programs the same program over netlink (one
# nfnetlink batch).  Loading the script with nft in one network namespace
# and applying over netlink in another must give the same table, as nft
# lists it (text and JSON): that proves that the netlink backend emits the
# bytecode, set flags, set user data and elements nft itself emits.  The
# other cases check the transaction: an apply replaces the table as a
# whole, flush removes only our table, and a batch the kernel rejects
# leaves the previous ruleset in place with an error naming the object.
#
# Every case works in network namespaces of its own (kn-apply-PID-N),
# deleted by its cleanup even when the case fails; the root namespace's
# ruleset is never touched.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
: "${KN_NFTCTL:=$KN_TOP_BUILDDIR/src/kube-nftctl}"
: "${KN_PYTHON:=python3}"
GOLDEN=$KN_TOP_SRCDIR/tests/golden
TABLE=kube-nftd

# common_head DESCRIPTION
common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft $KN_PYTHON"
}

# ns_new N: creates network namespace kn-apply-PID-N and sets NS to its
# name.  The names go to a file in the work directory, where the cleanup
# (another process, with another PID) finds them.
ns_new()
{
	NS=kn-apply-$$-$1
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

# nftctl NS ARGS...: runs kube-nftctl in namespace NS.
nftctl()
{
	_ns=$1
	shift
	ip netns exec "$_ns" "$KN_NFTCTL" "$@"
}

# check_ok STATUS WHAT: kube-nftctl exits 0, or 3 when the input holds
# objects it skipped (a fixture may test that); the rest was applied.
check_ok()
{
	case $1 in
	0 | 3) ;;
	*) atf_fail "$2 exited with status $1: $(cat stderr 2>/dev/null)" ;;
	esac
}

# load_text NS FILE: loads the ruleset of manifest FILE with nft -f.
load_text()
{
	"$KN_NFTCTL" compile --all-nodes "$2" >script.nft 2>stderr
	check_ok $? "kube-nftctl compile $2"
	ip netns exec "$1" nft -f script.nft 2>stderr ||
		atf_fail "nft -f rejected the script of $2: $(cat stderr)"
}

# load_netlink NS FILE: applies the ruleset of manifest FILE over netlink.
load_netlink()
{
	nftctl "$1" apply --all-nodes "$2" 2>stderr
	check_ok $? "kube-nftctl apply $2"
}

. "$KN_TOP_SRCDIR/tests/netns/listing.sh"

# compare NSA NSB WHAT: the table in NSA must be the table in NSB.
compare()
{
	snapshot "$1" a
	snapshot "$2" b
	same "$3 (nft list)" a.nft b.nft
	same "$3 (nft -j list)" a.json b.json
}

# fixtures: the manifests under tests/golden.
fixtures()
{
	for _f in "$GOLDEN"/*.json "$GOLDEN"/*.yaml "$GOLDEN"/*.yml; do
		[ -f "$_f" ] && echo "$_f"
	done
}

# fixture NAME: sets FIXTURE to the path of a manifest the cases below
# rely on.
fixture()
{
	FIXTURE=$GOLDEN/$1
	[ -f "$FIXTURE" ] || atf_fail "missing fixture $FIXTURE"
}

require_nftctl()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
}

# gen_cluster FILE PODS: a manifest with PODS pods in one namespace on
# node1, all of them allowed into one pod by a policy: the peer sets and
# the dispatch maps hold PODS elements per family, far more than the
# 64 KiB that one element list message may carry.
gen_cluster()
{
	if ! "$KN_PYTHON" - "$1" "$2" <<'EOF'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
items = [{"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": "big", "labels": {"team": "big"}}}]
for i in range(n):
    # Every other address, so that no two pods form one range.
    a = 2 * i + 2
    items.append({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p%d" % i, "namespace": "big",
                     "labels": {"app": "target" if i == 0 else "client"}},
        "spec": {"nodeName": "node1", "containers": [{"name": "c",
                 "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {"phase": "Running", "podIP": "10.200.%d.%d" % (a >> 8, a & 255),
                   "podIPs": [{"ip": "10.200.%d.%d" % (a >> 8, a & 255)},
                              {"ip": "fd00:200::%x" % a}]}})
items.append({
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "target-from-clients", "namespace": "big"},
    "spec": {"podSelector": {"matchLabels": {"app": "target"}},
             "ingress": [{"from": [{"podSelector": {}}],
                          "ports": [{"port": "http"}, {"port": 53, "protocol": "UDP"}]},
                         {"from": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                "except": ["10.0.0.0/8"]}}]}]}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(path, "w"))
EOF
	then
		atf_fail "cannot generate the cluster manifest"
	fi
}

# --------------------------------------------------------------------------

atf_test_case netlink_equals_text cleanup
netlink_equals_text_head()
{
	common_head "For every golden manifest, the table applied over netlink is the table nft loads from the compiled script"
}
netlink_equals_text_body()
{
	require_nftctl
	ns_new 1
	a=$NS
	ns_new 2
	b=$NS
	n=0
	for f in $(fixtures); do
		echo "==== $f"
		load_text "$a" "$f"
		load_netlink "$b" "$f"
		compare "$a" "$b" "$(basename "$f")"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || atf_fail "no manifests under $GOLDEN"
}
netlink_equals_text_cleanup()
{
	ns_cleanup
}

atf_test_case large_cluster cleanup
large_cluster_head()
{
	common_head "A cluster whose sets and maps need many element messages: netlink and text paths agree"
	atf_set timeout 600
}
large_cluster_body()
{
	require_nftctl
	ns_new 1
	a=$NS
	ns_new 2
	b=$NS
	gen_cluster big.json 3000
	load_text "$a" big.json
	load_netlink "$b" big.json
	compare "$a" "$b" "3000 pods"
	# The peer sets really hold every client.
	count=$(tr ',' '\n' <b.nft | grep -c 'fd00:200::')
	[ "$count" -ge 2999 ] || atf_fail "only $count IPv6 pod addresses listed"

	# Unsplit, the batch would hold BEGIN, END, three table messages and
	# one message per chain, set, element list and rule; more messages
	# mean that element lists were split at 64 KiB.
	nftctl "$b" -v apply --all-nodes big.json 2>stderr
	check_ok $? "kube-nftctl -v apply"
	line=$(grep ' messages, ' stderr)
	echo "$line"
	sets=$(echo "$line" | sed -n 's/.* \([0-9]*\) sets, .*/\1/p')
	chains=$(echo "$line" | sed -n 's/.* \([0-9]*\) chains, .*/\1/p')
	rules=$(echo "$line" | sed -n 's/.* \([0-9]*\) rules, .*/\1/p')
	msgs=$(echo "$line" | sed -n 's/.* \([0-9]*\) messages, .*/\1/p')
	if [ -z "$sets" ] || [ -z "$chains" ] || [ -z "$rules" ] || [ -z "$msgs" ]; then
		atf_fail "cannot read the statistics of kube-nftctl -v apply: $line"
	fi
	[ "$msgs" -gt $((5 + chains + 2 * sets + rules)) ] ||
		atf_fail "$msgs messages: no element list was split"
}
large_cluster_cleanup()
{
	ns_cleanup
}

atf_test_case apply_replaces cleanup
apply_replaces_head()
{
	common_head "Applying again replaces the table: no duplicates, nothing left from the previous ruleset"
}
apply_replaces_body()
{
	require_nftctl
	fixture full.yaml
	full=$FIXTURE
	fixture basic.yaml
	basic=$FIXTURE
	ns_new 1
	ref=$NS
	ns_new 2
	ns=$NS

	load_netlink "$ns" "$full"
	snapshot "$ns" first
	load_netlink "$ns" "$full"
	snapshot "$ns" second
	same "the same manifest applied twice" first.nft second.nft
	same "the same manifest applied twice" first.json second.json
	[ "$(ip netns exec "$ns" nft list tables)" = "table inet $TABLE" ] ||
		atf_fail "expected exactly one table, got: $(ip netns exec "$ns" nft list tables)"

	# Another manifest after the first: exactly its own ruleset.
	load_netlink "$ns" "$basic"
	load_text "$ref" "$basic"
	compare "$ref" "$ns" "basic.yaml applied over full.yaml"

	# And back, through the text path in the reference namespace too.
	load_netlink "$ns" "$full"
	load_text "$ref" "$full"
	compare "$ref" "$ns" "full.yaml applied over basic.yaml"
}
apply_replaces_cleanup()
{
	ns_cleanup
}

atf_test_case flush_only_ours cleanup
flush_only_ours_head()
{
	common_head "flush deletes table inet $TABLE and nothing else, and succeeds when it is gone"
}
flush_only_ours_body()
{
	require_nftctl
	fixture full.yaml
	ns_new 1
	ns=$NS
	cat >other.nft <<EOF
table inet other {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 22 accept
	}
}
table ip $TABLE {
	set s {
		type ipv4_addr
		elements = { 192.0.2.1 }
	}
}
table inet $TABLE-2 {
}
EOF
	ip netns exec "$ns" nft -f other.nft || atf_fail "cannot load the other tables"
	ip netns exec "$ns" nft -s list ruleset >before.nft

	load_netlink "$ns" "$FIXTURE"
	ip netns exec "$ns" nft list tables | grep -qx "table inet $TABLE" ||
		atf_fail "apply did not create table inet $TABLE"
	nftctl "$ns" flush 2>stderr || atf_fail "flush failed: $(cat stderr)"
	ip netns exec "$ns" nft -s list ruleset >after.nft
	same "the other tables after flush" before.nft after.nft

	# Nothing to flush: still a success, still nothing else touched.
	nftctl "$ns" flush 2>stderr || atf_fail "flush without a table failed: $(cat stderr)"
	ip netns exec "$ns" nft -s list ruleset >after2.nft
	same "the other tables after a second flush" before.nft after2.nft
}
flush_only_ours_cleanup()
{
	ns_cleanup
}

# fail_apply NS N FILE: applies FILE with message N of the batch corrupted
# (the KN_TEST_FAIL_AT hook of src/nft/netlink.c); the apply must fail.
fail_apply()
{
	KN_TEST_FAIL_AT=$2 nftctl "$1" apply --all-nodes "$3" 2>stderr
	st=$?
	cat stderr
	[ $st -eq 1 ] || atf_fail "apply with KN_TEST_FAIL_AT=$2 exited with $st, not 1"
}

atf_test_case rejected_keeps_ruleset cleanup
rejected_keeps_ruleset_head()
{
	common_head "A batch the kernel rejects changes nothing, and the error names the object"
}
rejected_keeps_ruleset_body()
{
	require_nftctl
	fixture full.yaml
	full=$FIXTURE
	fixture basic.yaml
	basic=$FIXTURE
	ns_new 1
	ns=$NS

	# No ruleset yet: a rejected first apply leaves no table behind.
	fail_apply "$ns" -1 "$basic"
	[ -z "$(ip netns exec "$ns" nft list tables)" ] ||
		atf_fail "a rejected apply left: $(ip netns exec "$ns" nft list tables)"

	load_netlink "$ns" "$full"
	snapshot "$ns" before

	# The last message before END is the last rule of the last chain
	# that has rules (the text lists chains in the order of the batch).
	"$KN_NFTCTL" compile --all-nodes "$basic" >basic.nft 2>stderr
	check_ok $? "kube-nftctl compile $basic"
	last_chain=$(awk '/^\tchain / { c = $2 }
		/^\t\t/ && c != "" && !/^\t\t(comment|type) / { last = c }
		/^\t}/ { c = "" }
		END { print last }' basic.nft)
	[ -n "$last_chain" ] || atf_fail "no rule in the ruleset of $basic"
	fail_apply "$ns" -1 "$basic"
	grep -F "of chain $last_chain" stderr |
		grep -Eq "rule [0-9]+ of chain .*: No such file or directory" ||
		atf_fail "the error does not name the last rule of chain $last_chain"
	snapshot "$ns" after
	same "the ruleset after a rejected rule" before.nft after.nft
	same "the ruleset after a rejected rule" before.json after.json

	# Messages 1-3 are NEWTABLE, DELTABLE, NEWTABLE; 4 is the first
	# chain.  The text lists sets first and then the chains in the order
	# of the batch.
	first_chain=$(sed -n 's/^	chain \([^ ]*\) {$/\1/p' basic.nft | head -n 1)
	fail_apply "$ns" 4 "$basic"
	grep -Fq "chain $first_chain: No such file or directory" stderr ||
		atf_fail "the error does not name chain $first_chain"
	snapshot "$ns" after
	same "the ruleset after a rejected chain" before.nft after.nft

	fail_apply "$ns" 3 "$basic"
	grep -q "table inet $TABLE: Invalid argument" stderr ||
		atf_fail "the error does not name the table"
	snapshot "$ns" after
	same "the ruleset after a rejected table" before.nft after.nft

	# The same manifest applies cleanly afterwards.
	load_netlink "$ns" "$basic"
}
rejected_keeps_ruleset_cleanup()
{
	ns_cleanup
}

atf_test_case older_kernel_paths cleanup
older_kernel_paths_head()
{
	common_head "As for kernels before 6.10 and 6.11 (an ack for every message, element lists that name their set): the same table, and a rejected batch still names its object"
}
older_kernel_paths_body()
{
	require_nftctl
	fixture full.yaml
	ns_new 1
	a=$NS
	ns_new 2
	b=$NS
	# The test hooks of src/nft/netlink.c; this kernel has both features.
	export KN_TEST_ACK_EVERY_MESSAGE=1 KN_TEST_SETS_BY_NAME=1
	load_text "$a" "$FIXTURE"
	load_netlink "$b" "$FIXTURE"
	compare "$a" "$b" "full.yaml, as for older kernels"
	snapshot "$b" before
	fail_apply "$b" -1 "$FIXTURE"
	grep -Eq "rule [0-9]+ of chain .*: No such file or directory" stderr ||
		atf_fail "the error does not name the last rule"
	snapshot "$b" after
	same "the ruleset after a rejected batch" before.nft after.nft
	unset KN_TEST_ACK_EVERY_MESSAGE KN_TEST_SETS_BY_NAME
}
older_kernel_paths_cleanup()
{
	ns_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case netlink_equals_text
	atf_add_test_case large_cluster
	atf_add_test_case apply_replaces
	atf_add_test_case flush_only_ours
	atf_add_test_case rejected_keeps_ruleset
	atf_add_test_case older_kernel_paths
}
