#! @ATF_SH@
#
# kube-nftctl from the outside: exit statuses, error reports, inputs, and
# what it leaves in the kernel.  Runs in the throw-away cluster of lib.sh.
#
# Exit statuses: 0 ok; 1 error, nothing applied; 2 usage error; 3 applied,
# but some objects were invalid and skipped, each reported on stderr as
# "Kind ns/name: field: problem".

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
. "$KN_TOP_SRCDIR/tests/netns/lib.sh"

common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft"
}

start()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
	kn_setup "$@"
}

# table_of NODE: the table inet kube-nftd of node NODE, or nothing.
table_of()
{
	ip netns exec "$(kn_node_netns "$1")" nft list table inet kube-nftd 2>/dev/null
}

# has_table NODE FAMILY NAME: whether node NODE has that table.
has_table()
{
	ip netns exec "$(kn_node_netns "$1")" nft list tables |
		grep -qx "table $2 $3"
}

# A simple valid policy: deny all ingress to the pods of x.
deny_x='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"namespace":"x","name":"deny-ingress"},"spec":{"podSelector":{}}}'

# --------------------------------------------------------------------------

atf_test_case usage
usage_head()
{
	common_head "--help exits 0 with a usage text; unknown options and commands exit 2"
}
usage_body()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
	atf_check -s exit:0 -o not-empty -e ignore "$KN_NFTCTL" --help
	atf_check -s exit:2 -o ignore -e not-empty "$KN_NFTCTL" --no-such-option
	atf_check -s exit:2 -o ignore -e not-empty "$KN_NFTCTL" apply --no-such-option x.json
	atf_check -s exit:2 -o ignore -e not-empty "$KN_NFTCTL" no-such-command
	atf_check -s exit:2 -o ignore -e not-empty "$KN_NFTCTL"
}

# --------------------------------------------------------------------------

atf_test_case invalid_policies cleanup
invalid_policies_head()
{
	common_head "Invalid policies are reported as 'NetworkPolicy ns/name: field: problem', exit status 3, and the valid policies of the same file are enforced"
}
invalid_policies_body()
{
	start
	# Multi-document YAML.  The valid policies isolate x/a (from x/b
	# only) and all of y; the invalid ones sit in z, whose pods are not
	# judged (skipping them leaves z open, which is the documented
	# behaviour, but the point here is the rest of the file).  Each one
	# breaks one rule of the API's validation of networking.k8s.io/v1
	# NetworkPolicy.
	cat >policies.yaml <<'EOF'
# x/a admits x/b only.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: x
  name: a-from-b
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - podSelector:
        matchLabels:
          pod: b
---
# y denies all ingress.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: "y"   # quoted: YAML 1.1 (as kubectl reads it) makes a bare y a boolean
  name: deny-ingress
spec:
  podSelector: {}
---
# Invalid: a prefix length of 33.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: bad-cidr
spec:
  podSelector:
    matchLabels:
      pod: a
  ingress:
  - from:
    - ipBlock:
        cidr: 10.244.0.0/33
---
# Invalid: endPort needs a numeric port.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: named-endport
spec:
  podSelector:
    matchLabels:
      pod: b
  ingress:
  - ports:
    - port: serve-80-tcp
      endPort: 81
---
# Invalid: no such selector operator.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: bad-operator
spec:
  podSelector:
    matchLabels:
      pod: c
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - key: pod
          operator: Includes
          values: [a]
---
# Invalid: an except entry outside the cidr.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: bad-except
spec:
  podSelector:
    matchLabels:
      pod: a
  egress:
  - to:
    - ipBlock:
        cidr: 10.244.0.0/16
        except: [10.0.0.0/8]
---
# Invalid: endPort below port.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: reversed-range
spec:
  podSelector:
    matchLabels:
      pod: b
  egress:
  - ports:
    - port: 81
      endPort: 80
---
# Invalid: protocols are upper case.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: bad-protocol
spec:
  podSelector: {}
  ingress:
  - ports:
    - protocol: tcp
      port: 80
---
# Invalid: no port 70000.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: bad-port
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: 70000
---
# Invalid: a peer with ipBlock may have no selector.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: mixed-peer
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.244.0.0/16
      podSelector: {}
---
# Invalid: a peer must say something.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  namespace: z
  name: empty-peer
spec:
  podSelector: {}
  egress:
  - to:
    - {}
EOF
	kn_state state.json
	kn_apply -s 3 state.json policies.yaml

	for n in 1 2; do
		err=kn.apply.node$n.err
		for pat in \
		    'bad-cidr: [^ ]*cidr[^ ]*: [^ ]' \
		    'named-endport: [^ ]*[pP]ort[^ ]*: [^ ]' \
		    'bad-operator: [^ ]*(operator|matchExpressions)[^ ]*: [^ ]' \
		    'bad-except: [^ ]*except[^ ]*: [^ ]' \
		    'reversed-range: [^ ]*[pP]ort[^ ]*: [^ ]' \
		    'bad-protocol: [^ ]*protocol[^ ]*: [^ ]' \
		    'bad-port: [^ ]*[pP]ort[^ ]*: [^ ]' \
		    'mixed-peer: [^ ]*(from|ipBlock|[sS]elector)[^ ]*: [^ ]' \
		    'empty-peer: [^ ]*to[^ ]*: [^ ]'; do
			grep -Eq "NetworkPolicy z/$pat" "$err" || {
				cat "$err" >&2
				atf_fail "node$n: no report matching 'NetworkPolicy z/$pat'"
			}
		done
		if grep -Eq 'a-from-b|deny-ingress' "$err"; then
			cat "$err" >&2
			atf_fail "node$n: a valid policy was reported"
		fi
	done

	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   .   .   .   ?   ?   ?
x/b   X   -   X   .   .   .   ?   ?   ?
x/c   .   X   -   .   .   .   ?   ?   ?
y/a   .   X   X   -   .   .   ?   ?   ?
y/b   .   X   X   .   -   .   ?   ?   ?
y/c   .   X   X   .   .   -   ?   ?   ?
EOF
	kn_verify
}
invalid_policies_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case syntax_error cleanup
syntax_error_head()
{
	common_head "A YAML or JSON syntax error, or a missing file, exits 1 and leaves the running ruleset as it was"
}
syntax_error_body()
{
	start x/a x/b y/a
	kn_state state.json "$deny_x"
	kn_apply state.json
	table_of 1 >before.nft
	[ -s before.nft ] || atf_fail "no table inet kube-nftd after apply"

	# A good file next to a bad one: nothing of either may be applied.
	printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: w\n  labels: [\n' >broken.yaml
	printf '{"apiVersion":"v1","kind":"List","items":[' >broken.json
	kn_state empty.json
	for bad in broken.yaml broken.json missing.yaml; do
		atf_check -s exit:1 -o ignore -e not-empty \
		    ip netns exec "$(kn_node_netns 1)" "$KN_NFTCTL" apply \
		    --node node1 empty.json "$bad"
		table_of 1 >after.nft
		if ! cmp -s before.nft after.nft; then
			diff -u before.nft after.nft >&2
			atf_fail "$bad: the ruleset changed"
		fi
	done

	# And it still works: x is isolated, y is not.
	kn_expect tcp/80 udp/80 <<'EOF'
     x/a x/b y/a
x/a   -   .   X
x/b   .   -   X
y/a   .   .   -
EOF
	kn_verify
}
syntax_error_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case unknown_kinds cleanup
unknown_kinds_head()
{
	common_head "Objects of other kinds (Service, ConfigMap, custom resources) are ignored: exit 0, the policies are enforced"
}
unknown_kinds_body()
{
	start x/a x/b y/a
	cat >others.yaml <<'EOF'
apiVersion: v1
kind: Service
metadata:
  namespace: x
  name: web
spec:
  selector:
    pod: a
  ports:
  - port: 80
    targetPort: serve-80-tcp
---
apiVersion: v1
kind: ConfigMap
metadata:
  namespace: x
  name: settings
data:
  key: value
---
apiVersion: example.com/v1
kind: Widget
metadata:
  namespace: "y"
  name: w1
spec:
  podSelector: {}
  ingress: []
EOF
	kn_state state.json "$deny_x"
	kn_apply state.json others.yaml
	if [ -s kn.apply.node1.err ]; then
		echo "stderr of apply:" >&2
		cat kn.apply.node1.err >&2
	fi
	kn_expect tcp/80 udp/80 <<'EOF'
     x/a x/b y/a
x/a   -   .   X
x/b   .   -   X
y/a   .   .   -
EOF
	kn_verify
}
unknown_kinds_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case stdin cleanup
stdin_head()
{
	common_head "'-' reads the objects from standard input, for compile and apply"
}
stdin_body()
{
	start x/a x/b y/a
	kn_state state.json "$deny_x"
	node1=$(kn_node_netns 1)

	atf_check -s exit:0 -o save:stdin.nft -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" compile --node node1 - <state.json
	atf_check -s exit:0 -o save:file.nft -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" compile --node node1 state.json
	if ! cmp -s stdin.nft file.nft; then
		diff -u file.nft stdin.nft >&2
		atf_fail "compile from stdin differs from compile from the file"
	fi
	grep -q 'table inet kube-nftd' stdin.nft ||
		atf_fail "compile output names no table inet kube-nftd"

	# The pods from a file, the policy from stdin.
	kn_state pods.json
	for n in 1 2; do
		printf '%s\n' "$deny_x" >policy.json
		ip netns exec "$(kn_node_netns $n)" "$KN_NFTCTL" apply \
		    --node node$n pods.json - <policy.json >out 2>err ||
			atf_fail "apply with stdin on node$n: exit status $?: $(cat err)"
	done
	kn_expect tcp/80 udp/80 <<'EOF'
     x/a x/b y/a
x/a   -   .   X
x/b   .   -   X
y/a   .   .   -
EOF
	kn_verify
}
stdin_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case compile_only cleanup
compile_only_head()
{
	common_head "compile prints a script that nft accepts and programs nothing"
}
compile_only_body()
{
	start x/a x/b y/a
	kn_state state.json "$deny_x" \
	    "$(kn_netpol y mixed '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.0.0/16","except":["10.244.1.12/32"]}},{"ipBlock":{"cidr":"fd00:10:244::/48"}},{"namespaceSelector":{},"podSelector":{"matchLabels":{"pod":"b"}}}],"ports":[{"port":"serve-80-tcp"},{"port":81,"endPort":82},{"protocol":"UDP"}]}],"egress":[{}]}')"
	node1=$(kn_node_netns 1)
	atf_check -s exit:0 -o save:out.nft -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" compile --node node1 state.json
	has_table 1 inet kube-nftd && atf_fail "compile programmed the kernel"
	atf_check -s exit:0 -o ignore -e ignore \
	    ip netns exec "$node1" nft -c -f out.nft
}
compile_only_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case flush cleanup
flush_head()
{
	common_head "apply and flush touch only table inet kube-nftd: another table survives both"
}
flush_body()
{
	start x/a x/b y/a
	node1=$(kn_node_netns 1)
	# A table of somebody else, with a set, a chain and a rule.
	ip netns exec "$node1" nft -f - <<'EOF' || atf_fail "cannot create table inet other"
table inet other {
	set keep { type ipv4_addr; elements = { 192.0.2.1 } }
	chain c {
		type filter hook forward priority 10; policy accept;
		ip saddr @keep counter accept
	}
}
EOF
	ip netns exec "$node1" nft list table inet other >other.before

	# flush with nothing to flush succeeds too.
	atf_check -s exit:0 -o ignore -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" flush

	kn_state state.json "$deny_x"
	atf_check -s exit:0 -o ignore -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" apply --node node1 state.json
	has_table 1 inet kube-nftd || atf_fail "apply created no table inet kube-nftd"
	ip netns exec "$node1" nft list table inet other >other.after
	cmp -s other.before other.after || atf_fail "apply changed table inet other"

	atf_check -s exit:0 -o ignore -e ignore \
	    ip netns exec "$node1" "$KN_NFTCTL" flush
	has_table 1 inet kube-nftd && atf_fail "flush left table inet kube-nftd"
	ip netns exec "$node1" nft list table inet other >other.after ||
		atf_fail "flush removed table inet other"
	cmp -s other.before other.after || atf_fail "flush changed table inet other"

	# Nothing enforced any more.
	kn_table X | kn_expect tcp/80
	kn_verify
}
flush_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_init_test_cases()
{
	atf_add_test_case usage
	atf_add_test_case invalid_policies
	atf_add_test_case syntax_error
	atf_add_test_case unknown_kinds
	atf_add_test_case stdin
	atf_add_test_case compile_only
	atf_add_test_case flush
}
