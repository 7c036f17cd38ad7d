#! @ATF_SH@
#
# NetworkPolicy semantics with real traffic.
#
# Each test case builds the standard cluster of lib.sh (namespaces x, y, z
# with pods a, b, c; a and b on node1, c on node2; IPv4 and IPv6), applies
# NetworkPolicies with kube-nftctl on both nodes and compares what really
# connects with a reachability table.  The cases follow the NetworkPolicy
# API reference (networking.k8s.io/v1) and the upstream e2e suite
# (test/e2e/network/netpol/network_policy.go), whose tables use the same
# model; where a case goes beyond both, its comment says which source it
# rests on.
#
# Tables: rows are clients, columns servers; X allowed, . blocked, ? not
# judged, - the pod itself (never probed).  Unless a case says otherwise a
# table holds for TCP and UDP, ports 80 and 81, IPv4 and IPv6.
#
# Pod addresses (lib.sh): NS/P on node N is 10.244.N.ID and fd00:10:244:N::ID
# with ID 10*ns+pod (x=1 y=2 z=3, a=1 b=2 c=3): x/a 10.244.1.11, y/b
# 10.244.1.22, x/c 10.244.2.13, y/c 10.244.2.23, z/c 10.244.2.33.  The pod
# CIDRs are 10.244.0.0/16 and fd00:10:244::/48; nodes are 192.168.100.N and
# fd00:100::N.

KN_TOP_SRCDIR=@TOP_SRCDIR@
KN_TOP_BUILDDIR=@TOP_BUILDDIR@
. "$KN_TOP_SRCDIR/tests/netns/lib.sh"

ALL="tcp/80 tcp/81 udp/80 udp/81"

# common_head DESCRIPTION: what every case needs.
common_head()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set require.progs "ip nft"
}

# start: build the cluster and make sure the program under test exists.
start()
{
	[ -x "$KN_NFTCTL" ] || atf_fail "$KN_NFTCTL is missing: build it first"
	kn_setup
}

# scenario TITLE: a heading in the test's output between scenarios.
scenario()
{
	echo "==== $*"
}

# --------------------------------------------------------------------------

atf_test_case no_policy cleanup
no_policy_head()
{
	common_head "Without any NetworkPolicy every pod reaches every other pod"
}
no_policy_body()
{
	start
	kn_state state.json
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   X   -   X   X   X   X   X   X   X
x/c   X   X   -   X   X   X   X   X   X
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -
EOF
	kn_verify
}
no_policy_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case default_deny_ingress cleanup
default_deny_ingress_head()
{
	common_head "podSelector {} without ingress rules isolates every pod of x for ingress, with policyTypes [Ingress] and with policyTypes absent"
}
default_deny_ingress_body()
{
	start
	# API: "If this field [ingress] is empty then this NetworkPolicy does
	# not allow any traffic"; policyTypes absent defaults to [Ingress]
	# for a policy without egress rules.  Egress of x stays open: x
	# connects out, and the replies come back in.
	for spec in '{"podSelector":{},"policyTypes":["Ingress"]}' \
	    '{"podSelector":{}}'; do
		scenario "x: $spec"
		kn_state state.json "$(kn_netpol x deny-ingress "$spec")"
		kn_apply state.json
		kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
		kn_verify
	done
}
default_deny_ingress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case default_deny_egress cleanup
default_deny_egress_head()
{
	common_head "podSelector {} with policyTypes [Egress] and no egress rules isolates every pod of x for egress only"
}
default_deny_egress_body()
{
	start
	for spec in '{"podSelector":{},"policyTypes":["Egress"]}' \
	    '{"podSelector":{},"policyTypes":["Egress"],"egress":[]}'; do
		scenario "x: $spec"
		kn_state state.json "$(kn_netpol x deny-egress "$spec")"
		kn_apply state.json
		kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -
EOF
		kn_verify
	done
}
default_deny_egress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case default_deny_all cleanup
default_deny_all_head()
{
	common_head "policyTypes [Ingress, Egress] without rules cuts x off in both directions"
}
default_deny_all_body()
{
	start
	kn_state state.json "$(kn_netpol x deny-all \
	    '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
	kn_verify
}
default_deny_all_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case allow_all cleanup
allow_all_head()
{
	common_head "ingress: [{}] and egress: [{}] allow everything next to a default deny; a peer {podSelector: {}, namespaceSelector: {}} allows every pod"
}
allow_all_body()
{
	start

	# API: an ingress rule with "from" missing matches all sources and
	# with "ports" missing all ports; policies are additive.
	scenario "x: deny ingress + ingress [{}]"
	kn_state state.json \
	    "$(kn_netpol x deny-ingress '{"podSelector":{},"policyTypes":["Ingress"]}')" \
	    "$(kn_netpol x allow-ingress '{"podSelector":{},"ingress":[{}]}')"
	kn_apply state.json
	kn_table X | kn_expect $ALL
	kn_verify

	scenario "x: deny all + egress [{}]"
	kn_state state.json \
	    "$(kn_netpol x deny-all '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')" \
	    "$(kn_netpol x allow-egress '{"podSelector":{},"policyTypes":["Egress"],"egress":[{}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
	kn_verify

	# Upstream: "should enforce policy to allow ingress traffic for a
	# target".
	scenario "x: deny ingress + x/a from {podSelector: {}, namespaceSelector: {}}"
	kn_state state.json \
	    "$(kn_netpol x deny-ingress '{"podSelector":{},"policyTypes":["Ingress"]}')" \
	    "$(kn_netpol x allow-all-to-a '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{},"namespaceSelector":{}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   X   -   .   X   X   X   X   X   X
x/c   X   .   -   X   X   X   X   X   X
y/a   X   .   .   -   X   X   X   X   X
y/b   X   .   .   X   -   X   X   X   X
y/c   X   .   .   X   X   -   X   X   X
z/a   X   .   .   X   X   X   -   X   X
z/b   X   .   .   X   X   X   X   -   X
z/c   X   .   .   X   X   X   X   X   -
EOF
	kn_verify
}
allow_all_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case pod_selector cleanup
pod_selector_head()
{
	common_head "A peer with only podSelector selects pods of the policy's own namespace (matchLabels)"
}
pod_selector_body()
{
	start
	# Upstream: "should enforce policy to allow traffic from pods within
	# server namespace based on PodSelector".  y/b and z/b carry the
	# label pod=b too, but live in other namespaces.
	kn_state state.json "$(kn_netpol x x-a-allows-x-b \
	    '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   X   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   X   X   X   -   X   X   X   X
y/c   .   X   X   X   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify
}
pod_selector_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case match_expressions cleanup
match_expressions_head()
{
	common_head "Label selector matchExpressions: In, NotIn, Exists, DoesNotExist, on pods and namespaces, in podSelector and in peers"
}
match_expressions_body()
{
	start
	# y/b and z/c carry tier=front.  Six policies, each isolating one
	# pod, so that every column shows one operator:
	#   x/a  from any namespace, pod In [b, c]
	#   x/b  from namespaces with ns NotIn [x]
	#   x/c  from any namespace, pods where tier Exists (y/b, z/c)
	#   y/a  from any namespace, pods where tier DoesNotExist
	#   y/c  from namespaces with kubernetes.io/metadata.name In [z]
	#   z/c  (selected by pod NotIn [a, b]) from pods of z where pod Exists
	kn_state -l y/b:tier=front -l z/c:tier=front state.json \
	    "$(kn_netpol x in '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchExpressions":[{"key":"pod","operator":"In","values":["b","c"]}]}}]}]}')" \
	    "$(kn_netpol x notin '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]}}]}]}')" \
	    "$(kn_netpol x exists '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchExpressions":[{"key":"tier","operator":"Exists"}]}}]}]}')" \
	    "$(kn_netpol y doesnotexist '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchExpressions":[{"key":"tier","operator":"DoesNotExist"}]}}]}]}')" \
	    "$(kn_netpol y ns-in '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["z"]}]}}]}]}')" \
	    "$(kn_netpol z target-expr '{"podSelector":{"matchExpressions":[{"key":"pod","operator":"NotIn","values":["a","b"]}]},"ingress":[{"from":[{"podSelector":{"matchExpressions":[{"key":"pod","operator":"Exists"}]}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   .   X   X   .
x/b   X   -   .   X   X   .   X   X   .
x/c   X   .   -   X   X   .   X   X   .
y/a   .   X   .   -   X   .   X   X   .
y/b   X   X   X   .   -   .   X   X   .
y/c   X   X   .   X   X   -   X   X   .
z/a   .   X   .   X   X   X   -   X   X
z/b   X   X   .   X   X   X   X   -   X
z/c   X   X   X   .   X   X   X   X   -
EOF
	kn_verify
}
match_expressions_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case namespace_selector cleanup
namespace_selector_head()
{
	common_head "A peer with only namespaceSelector selects every pod of the matching namespaces (ns label, kubernetes.io/metadata.name, extra labels, {})"
}
namespace_selector_body()
{
	start
	# x and z carry team=blue.
	#   x/a  from namespaces ns=y             (upstream, by custom label)
	#   x/b  from kubernetes.io/metadata.name=z   (upstream, default label)
	#   x/c  from namespaceSelector {}: every pod of every namespace
	#   y/a  from namespaces team=blue (x and z)
	kn_state -L x:team=blue -L z:team=blue state.json \
	    "$(kn_netpol x from-y '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}')" \
	    "$(kn_netpol x from-z '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"z"}}}]}]}')" \
	    "$(kn_netpol x from-all '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"namespaceSelector":{}}]}]}')" \
	    "$(kn_netpol y from-blue '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"blue"}}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   X   X   X   X   X   X
x/b   .   -   X   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   X   .   X   -   X   X   X   X   X
y/b   X   .   X   .   -   X   X   X   X
y/c   X   .   X   .   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify
}
namespace_selector_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case selector_and_or cleanup
selector_and_or_head()
{
	common_head "podSelector and namespaceSelector in one peer select pods matching both (AND); in two peers either (OR)"
}
selector_and_or_body()
{
	start
	# API (NetworkPolicyPeer.podSelector): "If namespaceSelector is also
	# set, then the NetworkPolicyPeer as a whole selects the pods matching
	# podSelector in the Namespaces selected by NamespaceSelector.
	# Otherwise it selects the pods matching podSelector in the policy's
	# own namespace."
	#   x/a  one peer {ns NotIn [x], pod=b}: y/b, z/b      (upstream)
	#   x/b  peers {ns=y} or {pod=c}: y/*, x/c (not z/c)   (upstream OR)
	#   y/c  one peer {ns=z, pod=a}: z/a                   (upstream)
	#   z/a  peers {pod=b} or {pod=c}: z/b, z/c            (upstream "any")
	kn_state state.json \
	    "$(kn_netpol x and '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]},"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')" \
	    "$(kn_netpol x or '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}},{"podSelector":{"matchLabels":{"pod":"c"}}}]}]}')" \
	    "$(kn_netpol y and-z-a '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"z"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')" \
	    "$(kn_netpol z any-pods '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}},{"podSelector":{"matchLabels":{"pod":"c"}}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   X   X   .   .   X   X
x/b   .   -   X   X   X   .   .   X   X
x/c   .   X   -   X   X   .   .   X   X
y/a   .   X   X   -   X   .   .   X   X
y/b   X   X   X   X   -   .   .   X   X
y/c   .   X   X   X   X   -   .   X   X
z/a   .   .   X   X   X   X   -   X   X
z/b   X   .   X   X   X   .   X   -   X
z/c   .   .   X   X   X   .   X   X   -
EOF
	kn_verify
}
selector_and_or_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case ports cleanup
ports_head()
{
	common_head "Numeric ports: only the listed protocol and port pass; protocol defaults to TCP; an empty from list matches every source"
}
ports_body()
{
	start
	#   x/a  from ns=y on TCP 81                        (upstream "Ports")
	#   x/b  from: [] (all sources), ports [{port: 80}] (TCP by default)
	#   x/c  any source, UDP 81 and TCP 80
	#   y/b  rule 1 from ns x on TCP 80, rule 2 from ns z on UDP 81
	#   z/a  egress rule 1 to ns x on TCP 81, rule 2 to ns y on UDP 80
	# Each rule pairs its own peers with its own ports: y/b admits x on
	# TCP 80 only and z on UDP 81 only, never x on UDP 81.
	kn_state state.json \
	    "$(kn_netpol x y-on-81 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":81,"protocol":"TCP"}]}]}')" \
	    "$(kn_netpol x all-on-80 '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[],"ports":[{"port":80}]}]}')" \
	    "$(kn_netpol x udp81-tcp80 '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"ports":[{"port":81,"protocol":"UDP"},{"port":80,"protocol":"TCP"}]}]}')" \
	    "$(kn_netpol y two-rules '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}}}],"ports":[{"port":80}]},{"from":[{"namespaceSelector":{"matchLabels":{"ns":"z"}}}],"ports":[{"port":81,"protocol":"UDP"}]}]}')" \
	    "$(kn_netpol z two-egress-rules '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"x"}}}],"ports":[{"port":81}]},{"to":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":80,"protocol":"UDP"}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   .   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   .   X   X   X   X
y/b   .   X   X   X   -   X   X   X   X
y/c   .   X   X   X   .   -   X   X   X
z/a   .   .   .   .   .   .   -   .   .
z/b   .   X   X   X   .   X   X   -   X
z/c   .   X   X   X   .   X   X   X   -
EOF
	kn_expect tcp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   .   X   X   X   X
x/b   .   -   .   X   .   X   X   X   X
x/c   .   .   -   X   .   X   X   X   X
y/a   X   .   .   -   .   X   X   X   X
y/b   X   .   .   X   -   X   X   X   X
y/c   X   .   .   X   .   -   X   X   X
z/a   .   .   .   .   .   .   -   .   .
z/b   .   .   .   X   .   X   X   -   X
z/c   .   .   .   X   .   X   X   X   -
EOF
	kn_expect udp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   .   X   X   X   X
x/b   .   -   .   X   .   X   X   X   X
x/c   .   .   -   X   .   X   X   X   X
y/a   .   .   .   -   .   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   .   -   X   X   X
z/a   .   .   .   X   .   X   -   .   .
z/b   .   .   .   X   .   X   X   -   X
z/c   .   .   .   X   .   X   X   X   -
EOF
	kn_expect udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   X   .   X   X   X   X
x/b   .   -   X   X   .   X   X   X   X
x/c   .   .   -   X   .   X   X   X   X
y/a   .   .   X   -   .   X   X   X   X
y/b   .   .   X   X   -   X   X   X   X
y/c   .   .   X   X   .   -   X   X   X
z/a   .   .   .   .   .   .   -   .   .
z/b   .   .   X   X   X   X   X   -   X
z/c   .   .   X   X   X   X   X   X   -
EOF
	kn_verify
}
ports_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case named_port_ingress cleanup
named_port_ingress_head()
{
	common_head "Ingress named ports resolve on the destination (selected) pod, by name and protocol"
}
named_port_ingress_body()
{
	start

	# Upstream: "should allow ingress access on one named port".  The
	# name serve-81-udp is declared with protocol UDP, so a policy port
	# of that name with the default protocol (TCP) names no port at all
	# (SPEC-NOTES: resolved "by name and protocol").
	scenario "x: serve-81-tcp, serve-80-udp/UDP, serve-81-udp/TCP"
	kn_state state.json "$(kn_netpol x named \
	    '{"podSelector":{},"ingress":[{"ports":[{"port":"serve-81-tcp"},{"port":"serve-80-udp","protocol":"UDP"},{"port":"serve-81-udp"}]}]}')"
	kn_apply state.json
	kn_table X | kn_expect tcp/81 udp/80
	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
	kn_verify

	# The name "web" means TCP 80 on x/a, TCP 81 on x/b, nothing on x/c,
	# and TCP 81 on every client: resolving it on the client would open
	# port 81 of x/a.  y/a also takes serve-80-tcp from namespace z only
	# (upstream "should allow ingress access from namespace on one named
	# port").
	scenario "x: port web on each destination; y/a: serve-80-tcp from z"
	kn_state -p x/a:web:80:TCP -p x/b:web:81:TCP \
	    -p y/a:web:81:TCP -p y/b:web:81:TCP -p y/c:web:81:TCP \
	    -p z/a:web:81:TCP -p z/b:web:81:TCP -p z/c:web:81:TCP \
	    state.json \
	    "$(kn_netpol x web '{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{}}],"ports":[{"port":"web"}]}]}')" \
	    "$(kn_netpol y named-from-z '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"z"}}}],"ports":[{"port":"serve-80-tcp","protocol":"TCP"}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   X   X   X   X   X
x/b   X   -   .   .   X   X   X   X   X
x/c   X   .   -   .   X   X   X   X   X
y/a   X   .   .   -   X   X   X   X   X
y/b   X   .   .   .   -   X   X   X   X
y/c   X   .   .   .   X   -   X   X   X
z/a   X   .   .   X   X   X   -   X   X
z/b   X   .   .   X   X   X   X   -   X
z/c   X   .   .   X   X   X   X   X   -
EOF
	kn_expect tcp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   .   .   X   X   X   X   X
x/b   .   -   .   .   X   X   X   X   X
x/c   .   X   -   .   X   X   X   X   X
y/a   .   X   .   -   X   X   X   X   X
y/b   .   X   .   .   -   X   X   X   X
y/c   .   X   .   .   X   -   X   X   X
z/a   .   X   .   .   X   X   -   X   X
z/b   .   X   .   .   X   X   X   -   X
z/c   .   X   .   .   X   X   X   X   -
EOF
	kn_expect udp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   X   X   X   X   X
x/b   .   -   .   .   X   X   X   X   X
x/c   .   .   -   .   X   X   X   X   X
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   .   -   X   X   X   X
y/c   .   .   .   .   X   -   X   X   X
z/a   .   .   .   .   X   X   -   X   X
z/b   .   .   .   .   X   X   X   -   X
z/c   .   .   .   .   X   X   X   X   -
EOF
	kn_verify
}
named_port_ingress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case named_port_egress cleanup
named_port_egress_head()
{
	common_head "Egress named ports resolve on the destination (peer) pod; a destination that is not a pod has no named ports"
}
named_port_egress_body()
{
	start
	kn_start_server node2
	kn_wait_servers

	# Upstream: "should allow egress access on one named port"; plus
	# serve-81-udp with protocol UDP.
	scenario "x egress: serve-80-tcp, serve-81-udp/UDP"
	kn_state state.json "$(kn_netpol x named-egress \
	    '{"podSelector":{},"policyTypes":["Egress"],"egress":[{"ports":[{"port":"serve-80-tcp"},{"port":"serve-81-udp","protocol":"UDP"}]}]}')"
	kn_apply state.json
	kn_table X | kn_expect tcp/80 udp/81
	kn_expect tcp/81 udp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -
EOF
	kn_verify

	# x/a may send to port "web": 81 on x/a itself and on y/b, 80 on the
	# other pods, undeclared on z/c.  Resolving on the source would give
	# 81 everywhere.  node2 is not a pod: no named port reaches it.
	scenario "x/a egress: port web, resolved on each destination"
	kn_state -p x/a:web:81:TCP -p y/b:web:81:TCP \
	    -p x/b:web:80:TCP -p x/c:web:80:TCP -p y/a:web:80:TCP \
	    -p y/c:web:80:TCP -p z/a:web:80:TCP -p z/b:web:80:TCP \
	    state.json \
	    "$(kn_netpol x web-egress '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"ports":[{"port":"web"}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 <<'EOF'
     x/b x/c y/a y/b y/c z/a z/b z/c node2
x/a   X   X   X   .   X   X   X   .   .
EOF
	kn_expect tcp/81 <<'EOF'
     x/b x/c y/a y/b y/c z/a z/b z/c node2
x/a   .   .   .   X   .   .   .   .   .
EOF
	kn_expect udp/80 udp/81 <<'EOF'
     x/b x/c y/a y/b y/c z/a z/b z/c node2
x/a   .   .   .   .   .   .   .   .   .
EOF
	kn_verify
}
named_port_egress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case end_port cleanup
end_port_head()
{
	common_head "endPort: ranges from port to endPort inclusive, for ingress and egress"
}
end_port_body()
{
	start
	#   x/a  ingress TCP 80-81
	#   x/b  ingress TCP 81-65535 (80 is outside)
	#   x/c  ingress UDP 79-80
	#   y/a  egress TCP 81-82 only
	kn_state state.json \
	    "$(kn_netpol x tcp-80-81 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"TCP","port":80,"endPort":81}]}]}')" \
	    "$(kn_netpol x tcp-81-up '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"ports":[{"port":81,"endPort":65535}]}]}')" \
	    "$(kn_netpol x udp-79-80 '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"ports":[{"protocol":"UDP","port":79,"endPort":80}]}]}')" \
	    "$(kn_netpol y egress-81-82 '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"ports":[{"protocol":"TCP","port":81,"endPort":82}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   X   -   .   X   X   X   X   X   X
x/c   X   .   -   X   X   X   X   X   X
y/a   .   .   .   -   .   .   .   .   .
y/b   X   .   .   X   -   X   X   X   X
y/c   X   .   .   X   X   -   X   X   X
z/a   X   .   .   X   X   X   -   X   X
z/b   X   .   .   X   X   X   X   -   X
z/c   X   .   .   X   X   X   X   X   -
EOF
	kn_expect tcp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   .   X   X   X   X   X   X
x/b   X   -   .   X   X   X   X   X   X
x/c   X   X   -   X   X   X   X   X   X
y/a   X   X   .   -   X   X   X   X   X
y/b   X   X   .   X   -   X   X   X   X
y/c   X   X   .   X   X   -   X   X   X
z/a   X   X   .   X   X   X   -   X   X
z/b   X   X   .   X   X   X   X   -   X
z/c   X   X   .   X   X   X   X   X   -
EOF
	kn_expect udp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   X   X   X   X   X   X
x/b   .   -   X   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   .   .   .   .   .
y/b   .   .   X   X   -   X   X   X   X
y/c   .   .   X   X   X   -   X   X   X
z/a   .   .   X   X   X   X   -   X   X
z/b   .   .   X   X   X   X   X   -   X
z/c   .   .   X   X   X   X   X   X   -
EOF
	kn_expect udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   .   -   X   X   X   X   X   X
y/a   .   .   .   -   .   .   .   .   .
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
	kn_verify
}
end_port_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case protocols cleanup
protocols_head()
{
	common_head "A port entry with a protocol and no port matches every port of that protocol only; SCTP never opens TCP"
}
protocols_body()
{
	start
	#   x/a  ingress UDP, any port
	#   x/b  ingress UDP 81 (upstream "should not allow access by TCP when
	#        a policy specifies only UDP")
	#   x/c  ingress TCP, any port (upstream "allowing any port traffic
	#        to a server on a specific protocol")
	#   y/a  ingress SCTP 80 (upstream "should not mistakenly treat
	#        'protocol: SCTP' as 'protocol: TCP'"): isolated for TCP and UDP
	kn_state state.json \
	    "$(kn_netpol x udp-any '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"UDP"}]}]}')" \
	    "$(kn_netpol x udp-81 '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"ports":[{"protocol":"UDP","port":81}]}]}')" \
	    "$(kn_netpol x tcp-any '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"ports":[{"protocol":"TCP"}]}]}')" \
	    "$(kn_netpol y sctp-80 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"SCTP","port":80}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 tcp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   .   X   X   X   X   X
x/b   .   -   X   .   X   X   X   X   X
x/c   .   .   -   .   X   X   X   X   X
y/a   .   .   X   -   X   X   X   X   X
y/b   .   .   X   .   -   X   X   X   X
y/c   .   .   X   .   X   -   X   X   X
z/a   .   .   X   .   X   X   -   X   X
z/b   .   .   X   .   X   X   X   -   X
z/c   .   .   X   .   X   X   X   X   -
EOF
	kn_expect udp/80 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   X   X   X   X   X
x/b   X   -   .   .   X   X   X   X   X
x/c   X   .   -   .   X   X   X   X   X
y/a   X   .   .   -   X   X   X   X   X
y/b   X   .   .   .   -   X   X   X   X
y/c   X   .   .   .   X   -   X   X   X
z/a   X   .   .   .   X   X   -   X   X
z/b   X   .   .   .   X   X   X   -   X
z/c   X   .   .   .   X   X   X   X   -
EOF
	kn_expect udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   .   .   X   X   X   X   X
x/b   X   -   .   .   X   X   X   X   X
x/c   X   X   -   .   X   X   X   X   X
y/a   X   X   .   -   X   X   X   X   X
y/b   X   X   .   .   -   X   X   X   X
y/c   X   X   .   .   X   -   X   X   X
z/a   X   X   .   .   X   X   -   X   X
z/b   X   X   .   .   X   X   X   -   X
z/c   X   X   .   .   X   X   X   X   -
EOF
	kn_verify
}
protocols_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case ipblock_ingress cleanup
ipblock_ingress_head()
{
	common_head "ipBlock in ingress: cidr with except, per family (0.0.0.0/0 is no IPv6 block), host bits in cidr"
}
ipblock_ingress_body()
{
	start

	# Every pod address but y/b's, in both families.
	scenario "x: from 10.244.0.0/16 except y/b, fd00:10:244::/48 except y/b"
	kn_state state.json "$(kn_netpol x cidr-except \
	    '{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.0.0/16","except":["10.244.1.22/32"]}},{"ipBlock":{"cidr":"fd00:10:244::/48","except":["fd00:10:244:1::22/128"]}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   X   -   X   X   X   X   X   X   X
x/c   X   X   -   X   X   X   X   X   X
y/a   X   X   X   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -
EOF
	kn_verify

	# SPEC-NOTES: "0.0.0.0/0 covers no IPv6 traffic"; a CIDR may carry
	# host bits: 10.244.2.7/24 is 10.244.2.0/24, the pods of node2.
	#   x/a  from 0.0.0.0/0
	#   x/b  from ::/0
	#   x/c  from 10.244.2.7/24 and fd00:10:244:2::7/64
	#   y/a  from 10.244.1.0/26 except 10.244.1.32/27 (.0-.31: z/a .31
	#        in, z/b .32 out) and from fd00:10:244:1::/122 except
	#        fd00:10:244:1::20/123 (::0-::1f: only x/a ::11, x/b ::12);
	#        both excepts end where their cidr ends
	scenario "x, y: per-family blocks"
	kn_state state.json \
	    "$(kn_netpol y tail-except '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.1.0/26","except":["10.244.1.32/27"]}},{"ipBlock":{"cidr":"fd00:10:244:1::/122","except":["fd00:10:244:1::20/123"]}}]}]}')" \
	    "$(kn_netpol x any-v4 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"0.0.0.0/0"}}]}]}')" \
	    "$(kn_netpol x any-v6 '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"ipBlock":{"cidr":"::/0"}}]}]}')" \
	    "$(kn_netpol x node2-pods '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.2.7/24"}},{"ipBlock":{"cidr":"fd00:10:244:2::7/64"}}]}]}')"
	kn_apply state.json
	kn_expect -4 $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   X   X   X
x/b   X   -   .   X   X   X   X   X   X
x/c   X   .   -   .   X   X   X   X   X
y/a   X   .   .   -   X   X   X   X   X
y/b   X   .   .   X   -   X   X   X   X
y/c   X   .   X   .   X   -   X   X   X
z/a   X   .   .   X   X   X   -   X   X
z/b   X   .   .   .   X   X   X   -   X
z/c   X   .   X   .   X   X   X   X   -
EOF
	kn_expect -6 $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   .   X   X   X   X   X   X
x/b   .   -   .   X   X   X   X   X   X
x/c   .   X   -   .   X   X   X   X   X
y/a   .   X   .   -   X   X   X   X   X
y/b   .   X   .   .   -   X   X   X   X
y/c   .   X   X   .   X   -   X   X   X
z/a   .   X   .   .   X   X   -   X   X
z/b   .   X   .   .   X   X   X   -   X
z/c   .   X   X   .   X   X   X   X   -
EOF
	kn_verify
}
ipblock_ingress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case ipblock_egress cleanup
ipblock_egress_head()
{
	common_head "ipBlock in egress matches pod addresses too: a node's pod CIDR, a CIDR minus one pod, one pod's /32 and /128"
}
ipblock_egress_body()
{
	start
	kn_start_server node2
	kn_wait_servers
	#   x/a  to 10.244.1.0/24, fd00:10:244:1::/64: the pods of node1, and
	#        to node2's addresses (a destination that is not a pod)
	#   x/b  to the pod CIDRs except x/c     (upstream "except clause")
	#   x/c  to y/b's /32 and /128           (upstream "server in CIDR block")
	# x/c -> node2 is a pod talking to its own node: not judged.
	kn_state state.json \
	    "$(kn_netpol x node1-pods '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"10.244.1.0/24"}},{"ipBlock":{"cidr":"fd00:10:244:1::/64"}},{"ipBlock":{"cidr":"192.168.100.2/32"}},{"ipBlock":{"cidr":"fd00:100::2/128"}}]}]}')" \
	    "$(kn_netpol x all-but-x-c '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"10.244.0.0/16","except":["10.244.2.13/32"]}},{"ipBlock":{"cidr":"fd00:10:244::/48","except":["fd00:10:244:2::13/128"]}}]}]}')" \
	    "$(kn_netpol x only-y-b '{"podSelector":{"matchLabels":{"pod":"c"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"10.244.1.22/32"}},{"ipBlock":{"cidr":"fd00:10:244:1::22/128"}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c node2
x/a   -   X   .   X   X   .   X   X   .    X
x/b   X   -   .   X   X   X   X   X   X    .
x/c   .   .   -   .   X   .   .   .   .    ?
y/a   X   X   X   -   X   X   X   X   X    X
y/b   X   X   X   X   -   X   X   X   X    X
y/c   X   X   X   X   X   -   X   X   X    ?
z/a   X   X   X   X   X   X   -   X   X    X
z/b   X   X   X   X   X   X   X   -   X    X
z/c   X   X   X   X   X   X   X   X   -    ?
EOF
	kn_verify
}
ipblock_egress_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case policy_types cleanup
policy_types_head()
{
	common_head "policyTypes: an egress-only policy without policyTypes isolates ingress too; [Egress] does not; [Ingress] ignores the egress rules"
}
policy_types_body()
{
	start
	egress='"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]'

	# API (NetworkPolicySpec.policyTypes): "If this field is not
	# specified, it will default based on the existence of ingress or
	# egress rules; policies that contain an egress section are assumed
	# to affect egress, and all policies (whether or not they contain an
	# ingress section) are assumed to affect ingress."
	scenario "x/a: egress rules, policyTypes absent"
	kn_state state.json "$(kn_netpol x egress-only \
	    "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},$egress}")"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   .   .   .
x/b   .   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   X   X   X   -   X   X   X   X
y/c   .   X   X   X   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify

	scenario "x/a: egress rules, policyTypes [Egress]"
	kn_state state.json "$(kn_netpol x egress-only \
	    "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},\"policyTypes\":[\"Egress\"],$egress}")"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   X   X   .   .   .
x/b   X   -   X   X   X   X   X   X   X
x/c   X   X   -   X   X   X   X   X   X
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   X   X   X   X
y/c   X   X   X   X   X   -   X   X   X
z/a   X   X   X   X   X   X   -   X   X
z/b   X   X   X   X   X   X   X   -   X
z/c   X   X   X   X   X   X   X   X   -
EOF
	kn_verify

	# API: policyTypes lists "the rule types that the NetworkPolicy
	# relates to"; with [Ingress] the egress section has no effect.
	scenario "x/a: egress rules, policyTypes [Ingress]"
	kn_state state.json "$(kn_netpol x egress-only \
	    "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},\"policyTypes\":[\"Ingress\"],$egress}")"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   .   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   X   X   X   -   X   X   X   X
y/c   .   X   X   X   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify
}
policy_types_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case both_directions cleanup
both_directions_head()
{
	common_head "A connection needs the client's egress and the server's ingress: an egress allow does not bypass the server's ingress, nor an ingress allow the client's egress"
}
both_directions_body()
{
	start
	# Upstream: "should work with Ingress, Egress specified together",
	# "should support denying of egress traffic on the client side (even
	# if the server explicitly allows this traffic)", "ingress and egress
	# policies can be controlled independently".
	#   x/a     egress to namespaces y and z only
	#   x/b     egress denied, although y/b and y/c admit it
	#   y/b,c   ingress from x/b only (so not from x/a, whose egress
	#           allows them: same node for y/b, other node for y/c)
	#   z/a     ingress from x/a only
	kn_state state.json \
	    "$(kn_netpol x a-to-y-z '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"In","values":["y","z"]}]}}]}]}')" \
	    "$(kn_netpol x b-no-egress '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"]}')" \
	    "$(kn_netpol y from-x-b '{"podSelector":{"matchExpressions":[{"key":"pod","operator":"In","values":["b","c"]}]},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')" \
	    "$(kn_netpol z from-x-a '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   X   .   .   X   X   X
x/b   .   -   .   .   .   .   .   .   .
x/c   X   X   -   X   .   .   .   X   X
y/a   X   X   X   -   .   .   .   X   X
y/b   X   X   X   X   -   .   .   X   X
y/c   X   X   X   X   .   -   .   X   X
z/a   X   X   X   X   .   .   -   X   X
z/b   X   X   X   X   .   .   .   -   X
z/c   X   X   X   X   .   .   .   X   -
EOF
	kn_verify
}
both_directions_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case additive cleanup
additive_head()
{
	common_head "Policies are additive: the union of the rules of every policy selecting a pod; an IP in one policy's except and another's cidr is allowed"
}
additive_body()
{
	start
	#   x/a  policy 1: from x/b (all ports); policy 2: from ns y on TCP 81
	#        (upstream "multiple, stacked policies")
	#   x/b  policy 3: egress to the pod CIDRs except y/b; policy 4: egress
	#        to y/b (upstream "IP overlapping both IPBlock.CIDR and
	#        IPBlock.Except is allowed")
	#   x/c  policy 5: ingress TCP 80 only; policy 6: ingress [{}]
	#        (upstream "ingress allow-all policy taking precedence")
	#   y/c  policy 7 (Ingress): from y/a; policy 8 (Egress): to z.  Each
	#        policy isolates only its own direction.
	kn_state state.json \
	    "$(kn_netpol x a-from-x-b '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')" \
	    "$(kn_netpol x a-from-y-81 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":81}]}]}')" \
	    "$(kn_netpol x b-cidr-except '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"10.244.0.0/16","except":["10.244.1.22/32"]}},{"ipBlock":{"cidr":"fd00:10:244::/48","except":["fd00:10:244:1::22/128"]}}]}]}')" \
	    "$(kn_netpol x b-to-y-b '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"10.244.1.22/32"}},{"ipBlock":{"cidr":"fd00:10:244:1::22/128"}}]}]}')" \
	    "$(kn_netpol x c-80 '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{"ports":[{"port":80}]}]}')" \
	    "$(kn_netpol x c-all '{"podSelector":{"matchLabels":{"pod":"c"}},"ingress":[{}]}')" \
	    "$(kn_netpol y c-from-y-a '{"podSelector":{"matchLabels":{"pod":"c"}},"policyTypes":["Ingress"],"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')" \
	    "$(kn_netpol y c-to-z '{"podSelector":{"matchLabels":{"pod":"c"}},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"z"}}}]}]}')"
	kn_apply state.json
	kn_expect tcp/80 udp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   .   X   X   X
x/b   X   -   X   X   X   .   X   X   X
x/c   .   X   -   X   X   .   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   X   X   X   -   .   X   X   X
y/c   .   .   .   .   .   -   X   X   X
z/a   .   X   X   X   X   .   -   X   X
z/b   .   X   X   X   X   .   X   -   X
z/c   .   X   X   X   X   .   X   X   -
EOF
	kn_expect tcp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   .   X   X   X
x/b   X   -   X   X   X   .   X   X   X
x/c   .   X   -   X   X   .   X   X   X
y/a   X   X   X   -   X   X   X   X   X
y/b   X   X   X   X   -   .   X   X   X
y/c   .   .   .   .   .   -   X   X   X
z/a   .   X   X   X   X   .   -   X   X
z/b   .   X   X   X   X   .   X   -   X
z/c   .   X   X   X   X   .   X   X   -
EOF
	kn_verify
}
additive_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case namespace_scope cleanup
namespace_scope_head()
{
	common_head "A policy selects pods of its own namespace only: pod=a in y leaves x/a and z/a alone; podSelector {} in z admits z's pods only"
}
namespace_scope_body()
{
	start
	kn_state state.json \
	    "$(kn_netpol y isolate-a '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Ingress","Egress"]}')" \
	    "$(kn_netpol z same-ns '{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   .   X   X   .   .   .
x/b   X   -   X   .   X   X   .   .   .
x/c   X   X   -   .   X   X   .   .   .
y/a   .   .   .   -   .   .   .   .   .
y/b   X   X   X   .   -   X   .   .   .
y/c   X   X   X   .   X   -   .   .   .
z/a   X   X   X   .   X   X   -   X   X
z/b   X   X   X   .   X   X   X   -   X
z/c   X   X   X   .   X   X   X   X   -
EOF
	kn_verify
}
namespace_scope_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case stateful cleanup
stateful_head()
{
	common_head "Replies of allowed connections pass even where the reverse direction is denied (TCP and UDP)"
}
stateful_body()
{
	start
	# x/a: ingress denied, egress open.  y/b: egress denied.  x/a's
	# replies from every pod enter x/a; y/b's replies to every client
	# leave y/b.
	kn_state state.json \
	    "$(kn_netpol x a-out-only '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Ingress","Egress"],"egress":[{}]}')" \
	    "$(kn_netpol y b-in-only '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   .   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   .   .   .   -   .   .   .   .
y/c   .   X   X   X   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify
}
stateful_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case host_network_pod cleanup
host_network_pod_head()
{
	common_head "A hostNetwork pod is never a policy target, even when a policy selects it: its address (the node's) stays reachable"
}
host_network_pod_body()
{
	start
	# x/hn runs on node1 with the node's addresses (its server runs in
	# node1's namespace).  Both policies of x select it; neither may
	# isolate 192.168.100.1 / fd00:100::1: not for the pods (the input
	# hook), not for node1 itself (output, then input on lo).
	kn_add_host x/hn 1
	kn_start_server x/hn
	kn_wait_servers
	kn_state state.json \
	    "$(kn_pod_json x hn node1 Running 192.168.100.1 fd00:100::1 true)" \
	    "$(kn_netpol x deny-ingress '{"podSelector":{}}')" \
	    "$(kn_netpol x isolate-hn '{"podSelector":{"matchLabels":{"pod":"hn"}},"policyTypes":["Ingress","Egress"]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
      x/hn x/a x/b x/c
node1   X    X   X   .
x/a     X    -   .   .
x/c     X    .   .   -
y/a     X    .   .   .
y/c     X    .   .   .
z/b     X    .   .   .
z/c     X    .   .   .
EOF
	kn_verify
}
host_network_pod_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case finished_pods cleanup
finished_pods_head()
{
	common_head "Pods in phase Succeeded or Failed are neither targets nor peers, even when a running pod reuses their address"
}
finished_pods_body()
{
	start
	# x/done (Succeeded) has y/b's addresses, x/failed (Failed) y/c's.
	# x denies everything to and from its pods; z admits only x/done and
	# x/failed.  y/b and y/c must behave like the plain y pods they are.
	kn_state state.json \
	    "$(kn_pod_json x done node1 Succeeded 10.244.1.22 fd00:10:244:1::22)" \
	    "$(kn_pod_json x failed node2 Failed 10.244.2.23 fd00:10:244:2::23)" \
	    "$(kn_netpol x deny-all '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')" \
	    "$(kn_netpol z from-finished '{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchExpressions":[{"key":"pod","operator":"In","values":["done","failed"]}]}}]}]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   .   .   .   -   X   X   .   .   .
y/b   .   .   .   X   -   X   .   .   .
y/c   .   .   .   X   X   -   .   .   .
z/a   .   .   .   X   X   X   -   .   .
z/b   .   .   .   X   X   X   .   -   .
z/c   .   .   .   X   X   X   .   .   -
EOF
	kn_verify
}
finished_pods_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case node_traffic cleanup
node_traffic_head()
{
	common_head "Under default deny, a node and its own pods still reach each other, but not another node's"
}
node_traffic_body()
{
	start
	kn_start_server node1
	kn_start_server node2
	kn_wait_servers
	# Kubernetes documentation (Network Policies): "traffic to and from
	# the node where a Pod is running is always allowed, regardless of
	# the IP address of the Pod or the node"; the policies say nothing
	# for any other node, so node2 -> x/a is a plain isolated ingress,
	# and a pod reaches its own node (but not the other one) even when
	# all its egress is denied.
	kn_state state.json \
	    "$(kn_netpol x deny-all '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')" \
	    "$(kn_netpol y deny-all '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')" \
	    "$(kn_netpol z deny-all '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	kn_apply state.json
	kn_expect $ALL <<'EOF'
      node1 node2 x/a x/b x/c y/a y/b y/c z/a z/b z/c
node1   -     X    X   X   .   X   X   .   X   X   .
node2   X     -    .   .   X   .   .   X   .   .   X
x/a     X     .    -   .   .   .   .   .   .   .   .
x/c     .     X    .   .   -   .   .   .   .   .   .
z/b     X     .    .   .   .   .   .   .   .   -   .
EOF
	kn_verify
}
node_traffic_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_test_case update cleanup
update_head()
{
	common_head "Applying a new state replaces the enforced policies: a deleted policy stops, a changed one takes its new form"
}
update_body()
{
	start
	# Upstream: "should enforce updated policy", "should stop enforcing
	# policies after they are deleted".  kn_update applies without a
	# flush in between.
	scenario "x: deny all"
	kn_state state.json "$(kn_netpol x pol \
	    '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	kn_update state.json
	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   .   .   .   -   X   X   X   X   X
y/b   .   .   .   X   -   X   X   X   X
y/c   .   .   .   X   X   -   X   X   X
z/a   .   .   .   X   X   X   -   X   X
z/b   .   .   .   X   X   X   X   -   X
z/c   .   .   .   X   X   X   X   X   -
EOF
	kn_verify

	scenario "x: the same policy, now x/a from x/b only"
	kn_state state.json "$(kn_netpol x pol \
	    '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')"
	kn_update state.json
	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   X   X   X   X   X   X
x/b   X   -   X   X   X   X   X   X   X
x/c   .   X   -   X   X   X   X   X   X
y/a   .   X   X   -   X   X   X   X   X
y/b   .   X   X   X   -   X   X   X   X
y/c   .   X   X   X   X   -   X   X   X
z/a   .   X   X   X   X   X   -   X   X
z/b   .   X   X   X   X   X   X   -   X
z/c   .   X   X   X   X   X   X   X   -
EOF
	kn_verify

	scenario "no policy any more"
	kn_state state.json
	kn_update state.json
	kn_table X | kn_expect tcp/80 udp/81
	kn_verify

	# Upstream: "should allow ingress access from updated namespace",
	# "should allow ingress access from updated pod", "should deny
	# ingress access to updated pod".  The policies stay; labels move.
	#   x/a  from namespaces team=blue
	#   x/b  from pods of x with role=client
	#   y/*  pods with tier=secure are isolated (no rule)
	ns_pol=$(kn_netpol x from-blue '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"blue"}}}]}]}')
	pod_pol=$(kn_netpol x from-clients '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}')
	sec_pol=$(kn_netpol y secure '{"podSelector":{"matchLabels":{"tier":"secure"}},"policyTypes":["Ingress"]}')

	scenario "labels: y team=blue, x/c role=client, y/c tier=secure"
	kn_state -L y:team=blue -l x/c:role=client -l y/c:tier=secure \
	    state.json "$ns_pol" "$pod_pol" "$sec_pol"
	kn_update state.json
	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   .   X   X   X   .   X   X   X
x/b   .   -   X   X   X   .   X   X   X
x/c   .   X   -   X   X   .   X   X   X
y/a   X   .   X   -   X   .   X   X   X
y/b   X   .   X   X   -   .   X   X   X
y/c   X   .   X   X   X   -   X   X   X
z/a   .   .   X   X   X   .   -   X   X
z/b   .   .   X   X   X   .   X   -   X
z/c   .   .   X   X   X   .   X   X   -
EOF
	kn_verify

	scenario "labels moved: z team=blue, x/a role=client, y/a tier=secure"
	kn_state -L z:team=blue -l x/a:role=client -l y/a:tier=secure \
	    state.json "$ns_pol" "$pod_pol" "$sec_pol"
	kn_update state.json
	kn_expect tcp/80 udp/81 <<'EOF'
     x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a   -   X   X   .   X   X   X   X   X
x/b   .   -   X   .   X   X   X   X   X
x/c   .   .   -   .   X   X   X   X   X
y/a   .   .   X   -   X   X   X   X   X
y/b   .   .   X   .   -   X   X   X   X
y/c   .   .   X   .   X   -   X   X   X
z/a   X   .   X   .   X   X   -   X   X
z/b   X   .   X   .   X   X   X   -   X
z/c   X   .   X   .   X   X   X   X   -
EOF
	kn_verify
}
update_cleanup()
{
	kn_cleanup
}

# --------------------------------------------------------------------------

atf_init_test_cases()
{
	atf_add_test_case no_policy
	atf_add_test_case default_deny_ingress
	atf_add_test_case default_deny_egress
	atf_add_test_case default_deny_all
	atf_add_test_case allow_all
	atf_add_test_case pod_selector
	atf_add_test_case match_expressions
	atf_add_test_case namespace_selector
	atf_add_test_case selector_and_or
	atf_add_test_case ports
	atf_add_test_case named_port_ingress
	atf_add_test_case named_port_egress
	atf_add_test_case end_port
	atf_add_test_case protocols
	atf_add_test_case ipblock_ingress
	atf_add_test_case ipblock_egress
	atf_add_test_case policy_types
	atf_add_test_case both_directions
	atf_add_test_case additive
	atf_add_test_case namespace_scope
	atf_add_test_case stateful
	atf_add_test_case host_network_pod
	atf_add_test_case finished_pods
	atf_add_test_case node_traffic
	atf_add_test_case update
}
