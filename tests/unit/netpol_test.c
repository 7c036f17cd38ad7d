/* NetworkPolicy semantics of the compiler, checked by evaluating the
 * compiled programs of both nodes for every pod pair of the 3x3 model.
 * The expected matrices follow the Kubernetes API reference and the
 * upstream network policy e2e tests. */
#include "config.h"

#include <string.h>

#include <atf-c.h>

#include "netpol.h"
#include "selector.h"
#include "testutil.h"

/* Rows (sources) and columns (destinations): xa xb xc ya yb yc za zb zc */

static struct kn_store *
model_with(const char *policies)
{
	struct kn_store *s = kn_store_new();

	tu_model(s);
	if (policies)
		tu_load(s, policies);
	return s;
}

static void
check_both(struct kn_store *s, const char *proto, int port, const char *expected)
{
	tu_check_matrix(s, proto, port, AF_INET, expected);
	tu_check_matrix(s, proto, port, AF_INET6, expected);
}

ATF_TC_WITHOUT_HEAD(no_policy_allows_all);
ATF_TC_BODY(no_policy_allows_all, tc)
{
	struct kn_store *s = model_with(NULL);

	check_both(s, "tcp", 80, TU_ALL_ALLOWED);
	check_both(s, "udp", 81, TU_ALL_ALLOWED);
	kn_store_free(s);
}

static const char deny_ingress_x[] = "apiVersion: networking.k8s.io/v1\n"
				     "kind: NetworkPolicy\n"
				     "metadata: {name: deny, namespace: x}\n"
				     "spec:\n"
				     "  podSelector: {}\n"
				     "  policyTypes: [Ingress]\n";

/* A store holding a policy and nothing else (no namespace, no pod): no
 * pod is selected, nothing is compiled.  Sorting the empty list of
 * namespaces passed NULL to qsort (UBSan). */
ATF_TC_WITHOUT_HEAD(policy_without_pods);
ATF_TC_BODY(policy_without_pods, tc)
{
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_compile_stats st;
	struct kn_store *s = kn_store_new();
	struct kn_program *p;

	tu_load(s, deny_ingress_x);
	p = kn_compile(s, &o, &st);
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_EQ(st.local_pods, 0);
	ATF_CHECK_EQ(st.policies, 0);
	ATF_CHECK(p->nchains > 0);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(default_deny_ingress);
ATF_TC_BODY(default_deny_ingress, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);
	const char *m = "...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX "
			"...XXXXXX ...XXXXXX ...XXXXXX";

	check_both(s, "tcp", 80, m);
	check_both(s, "udp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(default_deny_egress);
ATF_TC_BODY(default_deny_egress, tc)
{
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: deny, namespace: x}\n"
					"spec:\n"
					"  podSelector: {}\n"
					"  policyTypes: [Egress]\n");
	const char *m = "......... ......... ......... XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			"XXXXXXXXX XXXXXXXXX XXXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(allow_all_ingress);
ATF_TC_BODY(allow_all_ingress, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);

	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: allow-all, namespace: x}\n"
		   "spec:\n"
		   "  podSelector: {}\n"
		   "  ingress: [{}]\n");
	check_both(s, "tcp", 80, TU_ALL_ALLOWED);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_selector_same_namespace);
ATF_TC_BODY(pod_selector_same_namespace, tc)
{
	/* A peer with only podSelector means pods of the policy's namespace. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: a-from-b, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - from: [{podSelector: {matchLabels: {pod: b}}}]\n");
	const char *m = ".XXXXXXXX XXXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(namespace_selector_only);
ATF_TC_BODY(namespace_selector_only, tc)
{
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: a-from-y, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  ingress:\n"
			   "  - from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n");
	const char *m = ".XXXXXXXX .XXXXXXXX .XXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "udp", 81, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_and_namespace_selector);
ATF_TC_BODY(pod_and_namespace_selector, tc)
{
	/* Both selectors in one peer: pods matching both. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: a-from-yb, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - from:\n"
					"    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n"
					"      podSelector: {matchLabels: {pod: b}}\n");
	const char *m = ".XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX XXXXXXXXX .XXXXXXXX "
			".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_or_namespace_selector);
ATF_TC_BODY(pod_or_namespace_selector, tc)
{
	/* Two peers: either one. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: a-from-y-or-b, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - from:\n"
					"    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n"
					"    - podSelector: {matchLabels: {pod: b}}\n");
	const char *m = ".XXXXXXXX XXXXXXXXX .XXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(match_expressions);
ATF_TC_BODY(match_expressions, tc)
{
	/* x/a admits namespaces not y (NotIn), and in them pods that have a
	 * pod label with value in (b, c). */
	struct kn_store *s = model_with(
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: expr, namespace: x}\n"
		"spec:\n"
		"  podSelector: {matchExpressions: [{key: pod, operator: In, values: [a]}]}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - namespaceSelector:\n"
		"        matchExpressions: [{key: ns, operator: NotIn, values: [\"y\"]}]\n"
		"      podSelector:\n"
		"        matchExpressions:\n"
		"        - {key: pod, operator: In, values: [b, c]}\n"
		"        - {key: pod, operator: Exists}\n"
		"        - {key: missing, operator: DoesNotExist}\n");
	const char *m = ".XXXXXXXX XXXXXXXXX XXXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			".XXXXXXXX XXXXXXXXX XXXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(namespace_by_metadata_name);
ATF_TC_BODY(namespace_by_metadata_name, tc)
{
	/* The API server labels every namespace with its name; the model's
	 * Namespaces do not carry the label, the compiler must add it. */
	struct kn_store *s = model_with(
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\n"
		"metadata: {name: from-z, namespace: x}\n"
		"spec:\n"
		"  podSelector: {}\n"
		"  ingress:\n"
		"  - from:\n"
		"    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}\n");
	const char *m = "...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX "
			"XXXXXXXXX XXXXXXXXX XXXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(numeric_port);
ATF_TC_BODY(numeric_port, tc)
{
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: a-81, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - ports: [{port: 81}]\n");
	const char *closed = ".XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			     ".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, closed);
	check_both(s, "tcp", 81, TU_ALL_ALLOWED);
	/* The protocol defaults to TCP. */
	check_both(s, "udp", 81, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(named_port_ingress);
ATF_TC_BODY(named_port_ingress, tc)
{
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: named, namespace: x}\n"
					"spec:\n"
					"  podSelector: {}\n"
					"  ingress:\n"
					"  - ports: [{port: serve-81-udp, protocol: UDP}]\n");
	const char *closed = "...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX "
			     "...XXXXXX ...XXXXXX ...XXXXXX";

	check_both(s, "udp", 81, TU_ALL_ALLOWED);
	check_both(s, "udp", 80, closed);
	check_both(s, "tcp", 81, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(named_port_protocol_mismatch);
ATF_TC_BODY(named_port_protocol_mismatch, tc)
{
	/* serve-81-udp is a UDP port: with the default protocol TCP the name
	 * resolves to nothing, and nothing is allowed. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: named, namespace: x}\n"
					"spec:\n"
					"  podSelector: {}\n"
					"  ingress:\n"
					"  - ports: [{port: serve-81-udp}]\n");
	const char *closed = "...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX "
			     "...XXXXXX ...XXXXXX ...XXXXXX";

	check_both(s, "udp", 81, closed);
	check_both(s, "tcp", 81, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(named_port_egress);
ATF_TC_BODY(named_port_egress, tc)
{
	/* Egress named ports resolve on the destination pod. */
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: named-out, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  policyTypes: [Egress]\n"
			   "  egress:\n"
			   "  - to: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n"
			   "    ports: [{port: serve-80-tcp}]\n");
	const char *open80 = "...XXX... XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			     "XXXXXXXXX XXXXXXXXX XXXXXXXXX";
	const char *closed = "......... XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			     "XXXXXXXXX XXXXXXXXX XXXXXXXXX";

	check_both(s, "tcp", 80, open80);
	check_both(s, "tcp", 81, closed);
	check_both(s, "udp", 80, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(end_port_range);
ATF_TC_BODY(end_port_range, tc)
{
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: range, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - ports: [{port: 80, endPort: 81, protocol: TCP}]\n");
	const char *closed = ".XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			     ".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, TU_ALL_ALLOWED);
	check_both(s, "tcp", 81, TU_ALL_ALLOWED);
	check_both(s, "tcp", 82, closed);
	check_both(s, "udp", 80, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(sctp_and_overlapping_ports);
ATF_TC_BODY(sctp_and_overlapping_ports, tc)
{
	/* Overlapping entries must merge (the kernel refuses overlapping
	 * intervals); SCTP is matched like TCP and UDP. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: sctp, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - ports:\n"
					"    - {port: 80, protocol: SCTP}\n"
					"    - {port: 79, endPort: 81, protocol: SCTP}\n"
					"    - {protocol: UDP}\n"
					"    - {port: 81, protocol: UDP}\n");
	const char *closed = ".XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			     ".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "sctp", 81, TU_ALL_ALLOWED);
	check_both(s, "sctp", 82, closed);
	check_both(s, "udp", 5353, TU_ALL_ALLOWED);
	check_both(s, "tcp", 80, closed);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(egress_only_isolates_ingress_too);
ATF_TC_BODY(egress_only_isolates_ingress_too, tc)
{
	/* Without policyTypes, Ingress is always defaulted in: an
	 * egress-only policy also denies all ingress to its pods. */
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: out, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  egress:\n"
			   "  - to: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n");
	const char *m = "...XXX... .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			".XXXXXXXX .XXXXXXXX .XXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(egress_policy_type_only);
ATF_TC_BODY(egress_policy_type_only, tc)
{
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: out, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  policyTypes: [Egress]\n"
			   "  egress:\n"
			   "  - to: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n");
	const char *m = "...XXX... XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			"XXXXXXXXX XXXXXXXXX XXXXXXXXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(policies_are_additive);
ATF_TC_BODY(policies_are_additive, tc)
{
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: one, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]\n"
			   "---\n"
			   "apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: two, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {}\n"
			   "  ingress:\n"
			   "  - from: [{namespaceSelector: {matchLabels: {ns: z}},\n"
			   "            podSelector: {matchLabels: {pod: c}}}]\n");
	/* x/a: from x/b (one) or z/c (two); x/b, x/c: from z/c only. */
	check_both(s, "tcp", 80,
		   "...XXXXXX X..XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX ...XXXXXX "
		   "...XXXXXX ...XXXXXX XXXXXXXXX");
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(ip_block_except);
ATF_TC_BODY(ip_block_except, tc)
{
	/* ipBlock matches pod addresses too; except removes y/b; the IPv4
	 * block says nothing about IPv6, which has its own block. */
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: cidr, namespace: x}\n"
			   "spec:\n"
			   "  podSelector: {matchLabels: {pod: a}}\n"
			   "  policyTypes: [Egress]\n"
			   "  egress:\n"
			   "  - to:\n"
			   "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.2/32]}\n"
			   "    - ipBlock: {cidr: 'fd00::3:0/112'}\n");
	const char *v4 = "XXXX.XXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			 "XXXXXXXXX XXXXXXXXX XXXXXXXXX";
	const char *v6 = "......XXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "
			 "XXXXXXXXX XXXXXXXXX XXXXXXXXX";

	tu_check_matrix(s, "tcp", 80, AF_INET, v4);
	tu_check_matrix(s, "tcp", 80, AF_INET6, v6);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(ip_block_host_bits_and_overlap);
ATF_TC_BODY(ip_block_host_bits_and_overlap, tc)
{
	/* Host bits are masked off (10.0.3.77/24 is 10.0.3.0/24); a pod
	 * peer inside a block must not break the set (overlap). */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: cidr, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - from:\n"
					"    - ipBlock: {cidr: 10.0.3.77/24}\n"
					"    - namespaceSelector: {matchLabels: {ns: z}}\n"
					"      podSelector: {matchLabels: {pod: a}}\n"
					"    - podSelector: {matchLabels: {pod: b}}\n");
	const char *v4 = ".XXXXXXXX XXXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			 "XXXXXXXXX XXXXXXXXX XXXXXXXXX";
	const char *v6 = ".XXXXXXXX XXXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX .XXXXXXXX "
			 "XXXXXXXXX .XXXXXXXX .XXXXXXXX";

	tu_check_matrix(s, "tcp", 80, AF_INET, v4);
	tu_check_matrix(s, "tcp", 80, AF_INET6, v6);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(peer_sets_interval_only_with_blocks);
ATF_TC_BODY(peer_sets_interval_only_with_blocks, tc)
{
	/* Pod peers and single ports are plain hash sets.  Only an
	 * ipBlock brings address ranges, and only into the set of its own
	 * family; only endPort or a protocol without port bring port
	 * ranges. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: p, namespace: x}\n"
					"spec:\n"
					"  podSelector: {matchLabels: {pod: a}}\n"
					"  ingress:\n"
					"  - from: [{podSelector: {}}]\n"
					"    ports: [{port: 80}]\n"
					"  - from:\n"
					"    - podSelector: {}\n"
					"    - ipBlock: {cidr: 10.9.0.0/16}\n"
					"  - from:\n"
					"    - ipBlock: {cidr: 10.9.0.0/16}\n"
					"    - ipBlock: {cidr: 'fd09::/64'}\n"
					"  - ports: [{port: 81}, {port: 80, endPort: 90}]\n"
					"  - ports: [{port: 81}, {protocol: UDP}]\n"
					"  - ports: [{port: 81}, {port: 82}, {port: 81}]\n");
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p = kn_compile(s, &o, NULL);
	static const struct {
		const char *name;
		bool interval;
	} want[] = {
		{"np/x/p/ingress/0/peers-v4", false}, {"np/x/p/ingress/0/peers-v6", false},
		{"np/x/p/ingress/0/ports", false},    {"np/x/p/ingress/1/peers-v4", true},
		{"np/x/p/ingress/1/peers-v6", false}, {"np/x/p/ingress/2/peers-v4", true},
		{"np/x/p/ingress/2/peers-v6", true},  {"np/x/p/ingress/3/ports", true},
		{"np/x/p/ingress/4/ports", true},     {"np/x/p/ingress/5/ports", false},
	};
	const struct kn_set *ports;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct kn_set *set = kn_program_find_set(p, want[i].name);

		ATF_REQUIRE_MSG(set != NULL, "no set %s", want[i].name);
		ATF_CHECK_MSG(set->interval == want[i].interval, "%s: interval %d, want %d",
			      want[i].name, set->interval, want[i].interval);
	}
	/* The hash set holds every pod of x, each address once. */
	ATF_CHECK_EQ(kn_program_find_set(p, "np/x/p/ingress/0/peers-v4")->nelems, 3);
	/* Ranges are merged in an interval set (81 lies in 80-90); single
	 * ports stay apart in a plain one, each once. */
	ATF_CHECK_EQ(kn_program_find_set(p, "np/x/p/ingress/3/ports")->nelems, 1);
	ports = kn_program_find_set(p, "np/x/p/ingress/5/ports");
	ATF_REQUIRE_EQ(ports->nelems, 2);
	ATF_CHECK(ports->elems[0].port == 81 && ports->elems[1].port == 82);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(other_namespace_unaffected);
ATF_TC_BODY(other_namespace_unaffected, tc)
{
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: deny, namespace: \"y\"}\n"
					"spec:\n"
					"  podSelector: {}\n"
					"  policyTypes: [Ingress, Egress]\n");
	const char *m = "XXX...XXX XXX...XXX XXX...XXX ......... ......... ......... "
			"XXX...XXX XXX...XXX XXX...XXX";

	check_both(s, "tcp", 80, m);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(established_and_nd_pass);
ATF_TC_BODY(established_and_nd_pass, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p = kn_compile(s, &o, NULL);
	struct kn_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	tu_pod_addr("y", "a", AF_INET, &pkt.saddr);
	tu_pod_addr("x", "a", AF_INET, &pkt.daddr);
	pkt.proto = 6;
	pkt.dport = 80;
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_DROP);
	pkt.established = true;
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	memset(&pkt, 0, sizeof(pkt));
	tu_pod_addr("y", "a", AF_INET6, &pkt.saddr);
	tu_pod_addr("x", "a", AF_INET6, &pkt.daddr);
	pkt.proto = 58;
	pkt.icmp_type = 135; /* neighbour solicitation */
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	pkt.icmp_type = 128; /* echo request: policy applies */
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_DROP);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(own_node_always_allowed);
ATF_TC_BODY(own_node_always_allowed, tc)
{
	/* "Traffic to and from the node where a Pod is running is always
	 * allowed, regardless of the IP address of the Pod or the node"
	 * (Kubernetes docs, Network Policies): a pod denied all egress still
	 * reaches its node, whose traffic arrives on the input hook. */
	struct kn_store *s =
		model_with("apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: deny, namespace: x}\n"
			   "spec: {podSelector: {}, policyTypes: [Egress, Ingress]}\n");
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p = kn_compile(s, &o, NULL);
	struct kn_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	tu_pod_addr("x", "a", AF_INET, &pkt.saddr);
	ATF_REQUIRE_EQ(kn_addr_parse("192.168.1.1", &pkt.daddr), 0);
	pkt.proto = 6;
	pkt.dport = 10250;
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_INPUT, NULL), KN_EVAL_ACCEPT);
	/* Routed elsewhere, the same packet is judged. */
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_DROP);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(host_network_and_finished_not_targets);
ATF_TC_BODY(host_network_and_finished_not_targets, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_compile_stats st;
	struct kn_program *p;
	const struct kn_set *m;
	struct kn_addr a;

	tu_load(s, "apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: host, namespace: x}\n"
		   "spec: {nodeName: node1, hostNetwork: true, containers: [{name: c}]}\n"
		   "status: {podIP: 10.9.9.9, podIPs: [{ip: 10.9.9.9}]}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: done, namespace: x}\n"
		   "spec: {nodeName: node1, containers: [{name: c}]}\n"
		   "status: {phase: Succeeded, podIPs: [{ip: 10.9.9.10}]}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: pending, namespace: x}\n"
		   "spec: {nodeName: node1, containers: [{name: c}]}\n");
	p = kn_compile(s, &o, &st);
	m = kn_program_find_set(p, "ingress-v4");
	ATF_REQUIRE(m != NULL);
	ATF_REQUIRE_EQ(kn_addr_parse("10.9.9.9", &a), 0);
	ATF_CHECK(!kn_set_lookup(m, &a, 0, 0, NULL));
	ATF_REQUIRE_EQ(kn_addr_parse("10.9.9.10", &a), 0);
	ATF_CHECK(!kn_set_lookup(m, &a, 0, 0, NULL));
	/* x/a and x/b run on node1; both are isolated. */
	ATF_CHECK_EQ(m->nelems, 2);
	ATF_CHECK_EQ(st.local_pods, 6);
	ATF_CHECK_EQ(st.isolated_ingress, 2);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(only_local_pods_dispatched);
ATF_TC_BODY(only_local_pods_dispatched, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);
	struct kn_compile_opts o = {.node = "node2"};
	struct kn_program *p = kn_compile(s, &o, NULL);
	const struct kn_set *m4 = kn_program_find_set(p, "ingress-v4");
	const struct kn_set *m6 = kn_program_find_set(p, "ingress-v6");
	struct kn_addr a;

	ATF_REQUIRE(m4 && m6);
	ATF_CHECK_EQ(m4->nelems, 1);
	ATF_CHECK_EQ(m6->nelems, 1);
	tu_pod_addr("x", "c", AF_INET, &a);
	ATF_CHECK(kn_set_lookup(m4, &a, 0, 0, NULL));
	ATF_CHECK_STREQ(m4->elems[0].comment, "x/c");
	ATF_CHECK_STREQ(m4->elems[0].target, "pods/x/deny/ingress");
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(groups_shared_and_named);
ATF_TC_BODY(groups_shared_and_named, tc)
{
	/* Pods selected by the same policies share one chain; a chain per
	 * policy carries its rules. */
	struct kn_store *s = model_with(deny_ingress_x);
	struct kn_compile_opts o = {.node = NULL};
	struct kn_program *p;
	const struct kn_chain *g;

	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: web, namespace: x}\n"
		   "spec:\n"
		   "  podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}\n"
		   "  ingress: [{ports: [{port: 80}]}]\n");
	p = kn_compile(s, &o, NULL);
	ATF_CHECK(kn_program_find_chain(p, "np/x/deny/ingress") != NULL);
	ATF_CHECK(kn_program_find_chain(p, "np/x/web/ingress") != NULL);
	ATF_CHECK(kn_program_find_set(p, "np/x/web/ingress/0/ports") != NULL);
	/* x/c: deny only; x/a and x/b: both policies, one shared chain. */
	g = kn_program_find_chain(p, "pods/x/deny/ingress");
	ATF_REQUIRE(g != NULL);
	ATF_CHECK_EQ(g->nrules, 2);
	{
		size_t multi = 0;

		for (size_t i = 0; i < p->nchains; i++)
			if (strncmp(p->chains[i]->name, "pods/x/.", 8) == 0) {
				multi++;
				ATF_CHECK_EQ(p->chains[i]->nrules, 3);
				ATF_CHECK_STREQ(p->chains[i]->rules[0].target, "np/x/deny/ingress");
				ATF_CHECK_STREQ(p->chains[i]->rules[1].target, "np/x/web/ingress");
				ATF_CHECK_EQ(p->chains[i]->rules[2].verdict, KN_VERDICT_DROP);
			}
		ATF_CHECK_EQ(multi, 1);
	}
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(irrelevant_policies_not_compiled);
ATF_TC_BODY(irrelevant_policies_not_compiled, tc)
{
	/* A policy selecting no local pod costs this node nothing. */
	struct kn_store *s = model_with("apiVersion: networking.k8s.io/v1\n"
					"kind: NetworkPolicy\n"
					"metadata: {name: only-c, namespace: x}\n"
					"spec: {podSelector: {matchLabels: {pod: c}}}\n");
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p = kn_compile(s, &o, NULL);

	ATF_CHECK(kn_program_find_chain(p, "np/x/only-c/ingress") == NULL);
	kn_program_free(p);
	o.node = "node2";
	p = kn_compile(s, &o, NULL);
	ATF_CHECK(kn_program_find_chain(p, "np/x/only-c/ingress") != NULL);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(deterministic);
ATF_TC_BODY(deterministic, tc)
{
	struct kn_store *s = model_with(deny_ingress_x);
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p1, *p2;

	p1 = kn_compile(s, &o, NULL);
	p2 = kn_compile(s, &o, NULL);
	ATF_CHECK(kn_program_equal(p1, p2));
	kn_program_free(p2);
	o.node = "node2";
	p2 = kn_compile(s, &o, NULL);
	ATF_CHECK(!kn_program_equal(p1, p2));
	kn_program_free(p1);
	kn_program_free(p2);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(long_names_fit);
ATF_TC_BODY(long_names_fit, tc)
{
	/* A 253-character policy name still yields names within the
	 * kernel's 255-byte limit, and distinct ones. */
	struct kn_store *s = model_with(NULL);
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p;
	struct strbuf sb;
	char name[254];

	/* A DNS subdomain: labels of at most 63 characters. */
	memset(name, 'n', 253);
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	strbuf_init(&sb, 0);
	strbuf_printf(&sb,
		      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		      "metadata: {name: %s, namespace: x}\n"
		      "spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}], "
		      "ports: [{port: 80}, {port: serve-80-tcp}]}]}\n",
		      name);
	name[252] = 'm';
	strbuf_printf(&sb,
		      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		      "metadata: {name: %s, namespace: x}\n"
		      "spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}\n",
		      name);
	tu_load(s, strbuf_str(&sb));
	p = kn_compile(s, &o, NULL);
	for (size_t i = 0; i < p->nsets; i++)
		ATF_CHECK(strlen(p->sets[i]->name) <= KN_NAME_MAX);
	for (size_t i = 0; i < p->nchains; i++) {
		ATF_CHECK(strlen(p->chains[i]->name) <= KN_NAME_MAX);
		for (size_t j = i + 1; j < p->nchains; j++)
			ATF_CHECK(strcmp(p->chains[i]->name, p->chains[j]->name) != 0);
	}
	/* 2 policy chains and 1 group chain. */
	{
		size_t np = 0, groups = 0;

		for (size_t i = 0; i < p->nchains; i++) {
			np += strncmp(p->chains[i]->name, "np/", 3) == 0;
			groups += strncmp(p->chains[i]->name, "pods/", 5) == 0;
		}
		ATF_CHECK_EQ(np, 2);
		ATF_CHECK_EQ(groups, 1);
	}
	strbuf_free(&sb);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, no_policy_allows_all);
	ATF_TP_ADD_TC(tp, policy_without_pods);
	ATF_TP_ADD_TC(tp, default_deny_ingress);
	ATF_TP_ADD_TC(tp, default_deny_egress);
	ATF_TP_ADD_TC(tp, allow_all_ingress);
	ATF_TP_ADD_TC(tp, pod_selector_same_namespace);
	ATF_TP_ADD_TC(tp, namespace_selector_only);
	ATF_TP_ADD_TC(tp, pod_and_namespace_selector);
	ATF_TP_ADD_TC(tp, pod_or_namespace_selector);
	ATF_TP_ADD_TC(tp, match_expressions);
	ATF_TP_ADD_TC(tp, namespace_by_metadata_name);
	ATF_TP_ADD_TC(tp, numeric_port);
	ATF_TP_ADD_TC(tp, named_port_ingress);
	ATF_TP_ADD_TC(tp, named_port_protocol_mismatch);
	ATF_TP_ADD_TC(tp, named_port_egress);
	ATF_TP_ADD_TC(tp, end_port_range);
	ATF_TP_ADD_TC(tp, sctp_and_overlapping_ports);
	ATF_TP_ADD_TC(tp, egress_only_isolates_ingress_too);
	ATF_TP_ADD_TC(tp, egress_policy_type_only);
	ATF_TP_ADD_TC(tp, policies_are_additive);
	ATF_TP_ADD_TC(tp, ip_block_except);
	ATF_TP_ADD_TC(tp, ip_block_host_bits_and_overlap);
	ATF_TP_ADD_TC(tp, peer_sets_interval_only_with_blocks);
	ATF_TP_ADD_TC(tp, other_namespace_unaffected);
	ATF_TP_ADD_TC(tp, established_and_nd_pass);
	ATF_TP_ADD_TC(tp, own_node_always_allowed);
	ATF_TP_ADD_TC(tp, host_network_and_finished_not_targets);
	ATF_TP_ADD_TC(tp, only_local_pods_dispatched);
	ATF_TP_ADD_TC(tp, groups_shared_and_named);
	ATF_TP_ADD_TC(tp, irrelevant_policies_not_compiled);
	ATF_TP_ADD_TC(tp, deterministic);
	ATF_TP_ADD_TC(tp, long_names_fit);
	return atf_no_error();
}
