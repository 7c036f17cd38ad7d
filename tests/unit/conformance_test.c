/* Conformance of the compiler with the Kubernetes NetworkPolicy API, case
 * by case: the upstream e2e tests (test/e2e/network/netpol/
 * network_policy.go, named in the comments as upstream names them), the
 * recipes of ahmetb/kubernetes-network-policy-recipes, and the corners of
 * the API reference that those leave out.
 *
 * Every case runs on the 3x3 model of testutil.h (namespaces x, y, z;
 * pods a, b on node1 and c on node2) and judges the full matrix of new
 * connections, IPv4 and IPv6, through both nodes' compiled programs.
 * Upstream tests create only the pods they need; the model has all
 * nine, so the expectations below extend upstream's to the others. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "decode.h"
#include "netpol.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

static struct kn_store *
model(void)
{
	struct kn_store *s = kn_store_new();

	tu_model(s);
	return s;
}

static char *
np_text(const char *ns, const char *name, const char *spec)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_printf(&sb,
		      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		      "metadata: {name: \"%s\", namespace: \"%s\"}\nspec:\n%s",
		      name, ns, spec);
	return strbuf_steal(&sb);
}

/* Loads (or replaces: same namespace and name) a NetworkPolicy whose
 * spec is the YAML text spec, indented by two spaces. */
static void
np(struct kn_store *s, const char *ns, const char *name, const char *spec)
{
	char *text = np_text(ns, name, spec);

	tu_load(s, text);
	free(text);
}

/* Same, returning the number of objects rejected by validation. */
static size_t
np_lenient(struct kn_store *s, const char *ns, const char *name, const char *spec, char *err,
	   size_t errlen)
{
	char *text = np_text(ns, name, spec);
	size_t n = tu_load_lenient(s, text, err, errlen);

	free(text);
	return n;
}

/* Expected reachability, built as upstream's Reachability is: start with
 * everything allowed (or denied), then set pairs.  A peer is "*" (every
 * pod), "x" (a namespace) or "x/a" (a pod). */
struct reach {
	char m[82];
};

static void
reach_init(struct reach *r, bool ok)
{
	memset(r->m, ok ? 'X' : '.', 81);
	r->m[81] = '\0';
}

static bool
peer_is(const char *peer, int idx)
{
	if (strcmp(peer, "*") == 0)
		return true;
	if (peer[0] - 'x' != idx / 3)
		return false;
	return peer[1] == '\0' || peer[2] - 'a' == idx % 3;
}

static void
expect(struct reach *r, const char *from, const char *to, bool ok)
{
	for (int f = 0; f < 9; f++)
		for (int t = 0; t < 9; t++)
			if (peer_is(from, f) && peer_is(to, t))
				r->m[f * 9 + t] = ok ? 'X' : '.';
}

static void
check(struct kn_store *s, const char *proto, int port, const struct reach *r)
{
	tu_check_matrix(s, proto, port, AF_INET, r->m);
	tu_check_matrix(s, proto, port, AF_INET6, r->m);
}

static void
check_all_allowed(struct kn_store *s, const char *proto, int port)
{
	tu_check_matrix(s, proto, port, AF_INET, TU_ALL_ALLOWED);
	tu_check_matrix(s, proto, port, AF_INET6, TU_ALL_ALLOWED);
}

static const char model_ports[] =
	"[{\"name\":\"serve-80-tcp\",\"containerPort\":80},"
	"{\"name\":\"serve-80-udp\",\"containerPort\":80,\"protocol\":\"UDP\"},"
	"{\"name\":\"serve-81-tcp\",\"containerPort\":81},"
	"{\"name\":\"serve-81-udp\",\"containerPort\":81,\"protocol\":\"UDP\"}]";

/* Replaces model pod ns/pod (same node and addresses) with one carrying
 * the given labels and container ports (JSON text; NULL: the model's),
 * as a label or spec update of the pod would. */
static void
put_pod(struct kn_store *s, const char *ns, const char *pod, const char *labels, const char *ports)
{
	struct strbuf sb;
	int n = ns[0] - 'x' + 1, m = pod[0] - 'a' + 1;

	strbuf_init(&sb, 0);
	strbuf_printf(&sb,
		      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		      "\"namespace\":\"%s\",\"labels\":%s},\"spec\":{\"nodeName\":\"%s\","
		      "\"containers\":[{\"name\":\"c\",\"ports\":%s}]},\"status\":{\"phase\":"
		      "\"Running\",\"podIP\":\"10.0.%d.%d\",\"podIPs\":[{\"ip\":\"10.0.%d.%d\"},"
		      "{\"ip\":\"fd00::%d:%d\"}]}}",
		      pod, ns, labels, m < 3 ? "node1" : "node2", ports ? ports : model_ports, n, m,
		      n, m, n, m);
	tu_load(s, strbuf_str(&sb));
	strbuf_free(&sb);
}

static void
put_ns(struct kn_store *s, const char *ns, const char *labels)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_printf(&sb,
		      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\","
		      "\"labels\":%s}}",
		      ns, labels);
	tu_load(s, strbuf_str(&sb));
	strbuf_free(&sb);
}

static bool
node_accepts(struct kn_store *s, const char *node, const struct kn_packet *pkt)
{
	struct kn_compile_opts o = {.node = node};
	struct kn_program *p = kn_compile(s, &o, NULL);
	enum kn_eval_verdict v = kn_eval(p, pkt, KN_HOOK_FORWARD, NULL);

	kn_program_free(p);
	return v == KN_EVAL_ACCEPT;
}

/* A new connection between any two addresses; a NULL node is outside the
 * cluster and judges nothing. */
static bool
reach_ip(struct kn_store *s, const char *src, const char *snode, const char *dst, const char *dnode,
	 const char *proto, int port)
{
	struct kn_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	ATF_REQUIRE_EQ(kn_addr_parse(src, &pkt.saddr), 0);
	ATF_REQUIRE_EQ(kn_addr_parse(dst, &pkt.daddr), 0);
	pkt.proto = strcmp(proto, "udp") == 0 ? 17 : strcmp(proto, "sctp") == 0 ? 132 : 6;
	pkt.dport = (uint16_t)port;
	if (snode && !node_accepts(s, snode, &pkt))
		return false;
	if (dnode && (!snode || strcmp(snode, dnode) != 0) && !node_accepts(s, dnode, &pkt))
		return false;
	return true;
}

/* ------------------------------------------------------------ upstream */

/* "should support a 'default-deny-ingress' policy", also as the UDP and
 * SCTP contexts run it. */
ATF_TC_WITHOUT_HEAD(default_deny_ingress);
ATF_TC_BODY(default_deny_ingress, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-ingress",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 80, &r);
	check(s, "udp", 80, &r);
	check(s, "sctp", 80, &r);
	kn_store_free(s);
}

/* "should support a 'default-deny-all' policy" */
ATF_TC_WITHOUT_HEAD(default_deny_all);
ATF_TC_BODY(default_deny_all, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-all",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress, Egress]\n"
	   "  ingress: []\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "x", "*", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy to allow traffic from pods within server
 * namespace based on PodSelector" */
ATF_TC_WITHOUT_HEAD(pod_selector_within_namespace);
ATF_TC_BODY(pod_selector_within_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "x-a-allows-x-b",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: b}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy to allow ingress traffic for a target": a
 * namespace-wide deny, and an allow-all for x/a (podSelector {} and
 * namespaceSelector {} in one peer). */
ATF_TC_WITHOUT_HEAD(allow_ingress_for_target);
ATF_TC_BODY(allow_ingress_for_target, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-all",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	np(s, "x", "allow-all-to-a",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector: {}\n"
	   "      namespaceSelector: {}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "*", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy to allow ingress traffic from pods in all
 * namespaces": namespaceSelector {matchLabels: {}} selects every
 * namespace. */
ATF_TC_WITHOUT_HEAD(allow_from_all_namespaces);
ATF_TC_BODY(allow_from_all_namespaces, tc)
{
	struct kn_store *s = model();

	np(s, "x", "allow-from-another-ns",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {}\n");
	check_all_allowed(s, "tcp", 80);
	kn_store_free(s);
}

/* "should enforce policy to allow traffic only from a different
 * namespace, based on NamespaceSelector", and "should enforce policy to
 * allow traffic based on NamespaceSelector with MatchLabels using default
 * ns label" (the same policy under another name). */
ATF_TC_WITHOUT_HEAD(namespace_selector_match_labels);
ATF_TC_BODY(namespace_selector_match_labels, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-ns-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          kubernetes.io/metadata.name: \"y\"\n");
	reach_init(&r, true);
	expect(&r, "x", "x/a", false);
	expect(&r, "z", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on PodSelector with MatchExpressions" */
ATF_TC_WITHOUT_HEAD(pod_selector_match_expressions);
ATF_TC_BODY(pod_selector_match_expressions, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "x-a-allows-x-b",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: pod\n"
	   "          operator: In\n"
	   "          values: [b]\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on NamespaceSelector with
 * MatchExpressions" */
ATF_TC_WITHOUT_HEAD(namespace_selector_match_expressions);
ATF_TC_BODY(namespace_selector_match_expressions, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-match-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: kubernetes.io/metadata.name\n"
	   "          operator: In\n"
	   "          values: [\"y\"]\n");
	reach_init(&r, true);
	expect(&r, "x", "x/a", false);
	expect(&r, "z", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on PodSelector or NamespaceSelector" */
ATF_TC_WITHOUT_HEAD(pod_selector_or_namespace_selector);
ATF_TC_BODY(pod_selector_or_namespace_selector, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-match-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: kubernetes.io/metadata.name\n"
	   "          operator: NotIn\n"
	   "          values: [x]\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: b}\n");
	reach_init(&r, true);
	expect(&r, "x/c", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on PodSelector and NamespaceSelector" */
ATF_TC_WITHOUT_HEAD(pod_selector_and_namespace_selector);
ATF_TC_BODY(pod_selector_and_namespace_selector, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-podselector-and-nsselector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: kubernetes.io/metadata.name\n"
	   "          operator: NotIn\n"
	   "          values: [x]\n"
	   "      podSelector:\n"
	   "        matchLabels: {pod: b}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "y/b", "x/a", true);
	expect(&r, "z/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on Multiple PodSelectors and
 * NamespaceSelectors" */
ATF_TC_WITHOUT_HEAD(multiple_pod_and_namespace_selectors);
ATF_TC_BODY(multiple_pod_and_namespace_selectors, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-z-pod-b-c",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: kubernetes.io/metadata.name\n"
	   "          operator: NotIn\n"
	   "          values: [x]\n"
	   "      podSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: pod\n"
	   "          operator: In\n"
	   "          values: [b, c]\n");
	reach_init(&r, true);
	expect(&r, "x", "x/a", false);
	expect(&r, "y/a", "x/a", false);
	expect(&r, "z/a", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on any PodSelectors" */
ATF_TC_WITHOUT_HEAD(any_pod_selectors);
ATF_TC_BODY(any_pod_selectors, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-x-pod-b-c",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: b}\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: c}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	expect(&r, "x/c", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy to allow traffic only from a pod in a different
 * namespace based on PodSelector and NamespaceSelector", as the TCP, UDP
 * and SCTP contexts run it. */
ATF_TC_WITHOUT_HEAD(pod_in_other_namespace);
ATF_TC_BODY(pod_in_other_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-pod-a-via-namespace-pod-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          kubernetes.io/metadata.name: \"y\"\n"
	   "      podSelector:\n"
	   "        matchLabels: {pod: a}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "y/a", "x/a", true);
	check(s, "tcp", 80, &r);
	check(s, "udp", 80, &r);
	check(s, "sctp", 80, &r);
	kn_store_free(s);
}

/* "should enforce policy based on Ports", as the TCP, UDP and SCTP
 * contexts run it, each with its own protocol in the policy. */
ATF_TC_WITHOUT_HEAD(ports);
ATF_TC_BODY(ports, tc)
{
	static const char *const protos[][2] = {{"tcp", "TCP"}, {"udp", "UDP"}, {"sctp", "SCTP"}};

	for (size_t i = 0; i < 3; i++) {
		struct kn_store *s = model();
		struct reach allow, deny;
		char spec[512];

		snprintf(spec, sizeof(spec),
			 "  podSelector:\n"
			 "    matchLabels: {pod: a}\n"
			 "  policyTypes: [Ingress]\n"
			 "  ingress:\n"
			 "  - from:\n"
			 "    - namespaceSelector:\n"
			 "        matchLabels:\n"
			 "          kubernetes.io/metadata.name: \"y\"\n"
			 "    ports:\n"
			 "    - {port: 81, protocol: %s}\n",
			 protos[i][1]);
		np(s, "x", "allow-client-a-via-ns-selector", spec);
		reach_init(&allow, true);
		expect(&allow, "x", "x/a", false);
		expect(&allow, "z", "x/a", false);
		check(s, protos[i][0], 81, &allow);
		reach_init(&deny, true);
		expect(&deny, "*", "x/a", false);
		check(s, protos[i][0], 80, &deny);
		/* The other protocols on port 81 are not allowed. */
		for (size_t j = 0; j < 3; j++)
			if (j != i)
				check(s, protos[j][0], 81, &deny);
		kn_store_free(s);
	}
}

/* "should enforce multiple, stacked policies with overlapping
 * podSelectors" */
ATF_TC_WITHOUT_HEAD(stacked_policies);
ATF_TC_BODY(stacked_policies, tc)
{
	struct kn_store *s = model();
	struct reach allow, deny;

	np(s, "x", "allow-client-a-via-ns-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          kubernetes.io/metadata.name: \"y\"\n"
	   "    ports: [{port: 81, protocol: TCP}]\n");
	reach_init(&allow, true);
	expect(&allow, "x", "x/a", false);
	expect(&allow, "y", "x/a", true);
	expect(&allow, "z", "x/a", false);
	reach_init(&deny, true);
	expect(&deny, "*", "x/a", false);
	check(s, "tcp", 81, &allow);
	check(s, "tcp", 80, &deny);
	np(s, "x", "allow-client-a-via-ns-selector-80",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          kubernetes.io/metadata.name: \"y\"\n"
	   "    ports: [{port: 80, protocol: TCP}]\n");
	check(s, "tcp", 80, &allow);
	check(s, "tcp", 81, &allow);
	kn_store_free(s);
}

/* "should support allow-all policy" */
ATF_TC_WITHOUT_HEAD(allow_all);
ATF_TC_BODY(allow_all, tc)
{
	struct kn_store *s = model();

	np(s, "x", "allow-all",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 80);
	check_all_allowed(s, "tcp", 81);
	kn_store_free(s);
}

/* "should allow ingress access on one named port" */
ATF_TC_WITHOUT_HEAD(named_port_ingress);
ATF_TC_BODY(named_port_ingress, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-all",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - port: serve-81-tcp\n");
	check_all_allowed(s, "tcp", 81);
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should allow ingress access from namespace on one named port" */
ATF_TC_WITHOUT_HEAD(named_port_ingress_from_namespace);
ATF_TC_BODY(named_port_ingress_from_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-ns-selector-80",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          kubernetes.io/metadata.name: \"y\"\n"
	   "    ports:\n"
	   "    - {port: serve-80-tcp, protocol: TCP}\n");
	reach_init(&r, true);
	expect(&r, "x", "x/a", false);
	expect(&r, "z", "x/a", false);
	check(s, "tcp", 80, &r);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 81, &r);
	kn_store_free(s);
}

/* "should allow egress access on one named port" */
ATF_TC_WITHOUT_HEAD(named_port_egress);
ATF_TC_BODY(named_port_egress, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-egress",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - ports:\n"
	   "    - port: serve-80-tcp\n");
	check_all_allowed(s, "tcp", 80);
	reach_init(&r, true);
	expect(&r, "x", "*", false);
	check(s, "tcp", 81, &r);
	/* serve-80-tcp is TCP: UDP 80 is not the named port. */
	check(s, "udp", 80, &r);
	kn_store_free(s);
}

/* "should enforce updated policy": allow-all, then updated in place to
 * deny-all (ingress: []). */
ATF_TC_WITHOUT_HEAD(updated_policy);
ATF_TC_BODY(updated_policy, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-all-mutate-to-deny-all",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 81);
	np(s, "x", "allow-all-mutate-to-deny-all",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 81, &r);
	kn_store_free(s);
}

/* "should allow ingress access from updated namespace" */
ATF_TC_WITHOUT_HEAD(updated_namespace);
ATF_TC_BODY(updated_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-ns-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {ns2: updated}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	put_ns(s, "y", "{\"ns\":\"y\",\"ns2\":\"updated\"}");
	expect(&r, "y", "*", true);
	check(s, "tcp", 80, &r);
	/* DeleteNamespaceLabel: y loses access again. */
	put_ns(s, "y", "{\"ns\":\"y\"}");
	expect(&r, "y", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should allow ingress access from updated pod" */
ATF_TC_WITHOUT_HEAD(updated_pod);
ATF_TC_BODY(updated_pod, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-pod-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: b, pod2: updated}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	put_pod(s, "x", "b", "{\"pod\":\"b\",\"pod2\":\"updated\"}", NULL);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	/* ResetPodLabels: x/b loses access again. */
	put_pod(s, "x", "b", "{\"pod\":\"b\"}", NULL);
	expect(&r, "x/b", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should deny ingress from pods on other namespaces" */
ATF_TC_WITHOUT_HEAD(deny_other_namespaces);
ATF_TC_BODY(deny_other_namespaces, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-empty-policy",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels: {}\n");
	reach_init(&r, true);
	expect(&r, "y", "x", false);
	expect(&r, "z", "x", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should deny ingress access to updated pod" */
ATF_TC_WITHOUT_HEAD(deny_updated_pod);
ATF_TC_BODY(deny_updated_pod, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-ingress-via-label-selector",
	   "  podSelector:\n"
	   "    matchLabels: {target: isolated}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	check_all_allowed(s, "tcp", 80);
	put_pod(s, "x", "a", "{\"pod\":\"a\",\"target\":\"isolated\"}", NULL);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	/* Relabelled back, x/a is no longer isolated. */
	put_pod(s, "x", "a", "{\"pod\":\"a\"}", NULL);
	check_all_allowed(s, "tcp", 80);
	kn_store_free(s);
}

/* "should deny egress from pods based on PodSelector" */
ATF_TC_WITHOUT_HEAD(deny_egress_pod_selector);
ATF_TC_BODY(deny_egress_pod_selector, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-egress-pod-a",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should deny egress from all pods in a namespace" */
ATF_TC_WITHOUT_HEAD(deny_egress_namespace);
ATF_TC_BODY(deny_egress_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-egress-ns-x",
	   "  podSelector: {}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "x", "*", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should work with Ingress, Egress specified together" */
ATF_TC_WITHOUT_HEAD(ingress_and_egress_together);
ATF_TC_BODY(ingress_and_egress_together, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-pod-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress, Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels: {pod: b}\n"
	   "  egress:\n"
	   "  - ports: [{port: 80}]\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	expect(&r, "x/a", "*", false);
	check(s, "tcp", 81, &r);
	kn_store_free(s);
}

/* "should support denying of egress traffic on the client side (even if
 * the server explicitly allows this traffic)" */
ATF_TC_WITHOUT_HEAD(egress_denied_on_client_side);
ATF_TC_BODY(egress_denied_on_client_side, tc)
{
	static const char ingress_from_xa[] =
		"  policyTypes: [Ingress]\n"
		"  ingress:\n"
		"  - from:\n"
		"    - namespaceSelector:\n"
		"        matchLabels: {kubernetes.io/metadata.name: x}\n"
		"      podSelector:\n"
		"        matchLabels: {pod: a}\n";
	struct kn_store *s = model();
	struct strbuf sb;
	struct reach r;

	np(s, "x", "allow-to-ns-y-pod-a",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {kubernetes.io/metadata.name: \"y\"}\n"
	   "      podSelector:\n"
	   "        matchLabels: {pod: a}\n");
	strbuf_init(&sb, 0);
	strbuf_printf(&sb, "  podSelector: {matchLabels: {pod: a}}\n%s", ingress_from_xa);
	np(s, "y", "allow-from-xa-on-ya-match-selector", strbuf_str(&sb));
	strbuf_reset(&sb);
	strbuf_printf(&sb, "  podSelector: {matchLabels: {pod: b}}\n%s", ingress_from_xa);
	np(s, "y", "allow-from-xa-on-yb-match-selector", strbuf_str(&sb));
	strbuf_free(&sb);
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	expect(&r, "*", "y/a", false);
	expect(&r, "x/a", "y/a", true);
	expect(&r, "*", "y/b", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce egress policy allowing traffic to a server in a
 * different namespace based on PodSelector and NamespaceSelector" */
ATF_TC_WITHOUT_HEAD(egress_pod_and_namespace_selector);
ATF_TC_BODY(egress_pod_and_namespace_selector, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-to-ns-y-pod-a",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {kubernetes.io/metadata.name: \"y\"}\n"
	   "      podSelector:\n"
	   "        matchLabels: {pod: a}\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	expect(&r, "x/a", "y/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should enforce ingress policy allowing any port traffic to a server
 * on a specific protocol": a port entry with a protocol and no port. */
ATF_TC_WITHOUT_HEAD(any_port_on_protocol);
ATF_TC_BODY(any_port_on_protocol, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ingress-by-proto",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - protocol: TCP\n");
	check_all_allowed(s, "tcp", 80);
	check_all_allowed(s, "tcp", 1);
	check_all_allowed(s, "tcp", 65535);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "udp", 80, &r);
	check(s, "sctp", 80, &r);
	kn_store_free(s);
}

/* "should enforce multiple ingress policies with ingress allow-all
 * policy taking precedence" */
ATF_TC_WITHOUT_HEAD(ingress_allow_all_precedence);
ATF_TC_BODY(ingress_allow_all_precedence, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ingress-port-80",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports: [{port: 80}]\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 81, &r);
	check_all_allowed(s, "tcp", 80);
	np(s, "x", "allow-ingress",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 81);
	kn_store_free(s);
}

/* "should enforce multiple egress policies with egress allow-all policy
 * taking precedence" */
ATF_TC_WITHOUT_HEAD(egress_allow_all_precedence);
ATF_TC_BODY(egress_allow_all_precedence, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-egress-port-80",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - ports: [{port: 80}]\n");
	reach_init(&r, true);
	expect(&r, "x", "*", false);
	check(s, "tcp", 81, &r);
	check_all_allowed(s, "tcp", 80);
	np(s, "x", "allow-egress",
	   "  podSelector:\n"
	   "    matchLabels: {}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 81);
	kn_store_free(s);
}

/* "should stop enforcing policies after they are deleted" */
ATF_TC_WITHOUT_HEAD(deleted_policies);
ATF_TC_BODY(deleted_policies, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-all",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress, Egress]\n"
	   "  ingress: []\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "x", "*", false);
	expect(&r, "*", "x", false);
	check(s, "tcp", 80, &r);
	ATF_REQUIRE_EQ(kn_store_delete(s, KN_KIND_NETPOL, "x", "deny-all"), 0);
	check_all_allowed(s, "tcp", 80);
	kn_store_free(s);
}

/* "should allow egress access to server in CIDR block": a /32 (IPv4) or
 * /128 (IPv6) block of y/b.  Upstream clusters are single-stack; for a
 * dual-stack pod the other family stays blocked. */
ATF_TC_WITHOUT_HEAD(egress_cidr_block);
ATF_TC_BODY(egress_cidr_block, tc)
{
	struct kn_store *s = model();
	struct reach r, none;

	np(s, "x", "allow-client-a-via-cidr-egress-rule",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 10.0.2.2/32}\n");
	reach_init(&none, true);
	expect(&none, "x/a", "*", false);
	r = none;
	expect(&r, "x/a", "y/b", true);
	tu_check_matrix(s, "tcp", 80, AF_INET, r.m);
	tu_check_matrix(s, "tcp", 80, AF_INET6, none.m);
	np(s, "x", "allow-client-a-via-cidr-egress-rule",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 'fd00::2:2/128'}\n");
	tu_check_matrix(s, "tcp", 80, AF_INET, none.m);
	tu_check_matrix(s, "tcp", 80, AF_INET6, r.m);
	kn_store_free(s);
}

/* The older form of the same test (GetAllowEgressByCIDR): a second rule
 * with ports and no peers allows DNS to anywhere. */
ATF_TC_WITHOUT_HEAD(egress_cidr_block_with_dns_rule);
ATF_TC_BODY(egress_cidr_block_with_dns_rule, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-cidr-egress-rule",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 10.0.2.2/32}\n"
	   "    - ipBlock: {cidr: 'fd00::2:2/128'}\n"
	   "  - ports:\n"
	   "    - {protocol: UDP, port: 53}\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	expect(&r, "x/a", "y/b", true);
	check(s, "tcp", 80, &r);
	check(s, "udp", 80, &r);
	check_all_allowed(s, "udp", 53);
	/* Outside the cluster: DNS yes, anything else no. */
	ATF_CHECK(reach_ip(s, "10.0.1.1", "node1", "192.0.2.53", NULL, "udp", 53));
	ATF_CHECK(reach_ip(s, "fd00::1:1", "node1", "2001:db8::53", NULL, "udp", 53));
	ATF_CHECK(!reach_ip(s, "10.0.1.1", "node1", "192.0.2.53", NULL, "tcp", 53));
	ATF_CHECK(!reach_ip(s, "10.0.1.1", "node1", "192.0.2.53", NULL, "udp", 54));
	kn_store_free(s);
}

/* "should enforce except clause while egress access to server in CIDR
 * block": makeLargeCIDRForIP gives the /4 around x/b's address (0.0.0.0/4
 * for 10.0.1.2, f000::/4 for fd00::1:2), minus x/b itself. */
static const char except_spec[] = "  podSelector:\n"
				  "    matchLabels: {pod: a}\n"
				  "  policyTypes: [Egress]\n"
				  "  egress:\n"
				  "  - to:\n"
				  "    - ipBlock:\n"
				  "        cidr: 0.0.0.0/4\n"
				  "        except: [10.0.1.2/32]\n"
				  "    - ipBlock:\n"
				  "        cidr: 'f000::/4'\n"
				  "        except: ['fd00::1:2/128']\n";

ATF_TC_WITHOUT_HEAD(egress_cidr_except);
ATF_TC_BODY(egress_cidr_except, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-cidr-egress-rule", except_spec);
	reach_init(&r, true);
	expect(&r, "x/a", "x/b", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except
 * is allowed": upstream replaces the policy (same name, UpdatePolicy) by
 * one allowing x/b's /32 only. */
ATF_TC_WITHOUT_HEAD(cidr_and_except_overlap_update);
ATF_TC_BODY(cidr_and_except_overlap_update, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-client-a-via-cidr-egress-rule", except_spec);
	reach_init(&r, true);
	expect(&r, "x/a", "x/b", false);
	check(s, "tcp", 80, &r);
	np(s, "x", "allow-client-a-via-cidr-egress-rule",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 10.0.1.2/32}\n"
	   "    - ipBlock: {cidr: 'fd00::1:2/128'}\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	expect(&r, "x/a", "x/b", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* The same overlap within one policy: the address an except removes is
 * allowed by another rule, by another peer of the same rule, by a pod
 * peer of the same rule, or by a second policy. */
ATF_TC_WITHOUT_HEAD(except_allowed_elsewhere);
ATF_TC_BODY(except_allowed_elsewhere, tc)
{
	static const char *const variants[] = {
		/* another rule */
		"  - to:\n"
		"    - ipBlock: {cidr: 0.0.0.0/4, except: [10.0.1.2/32]}\n"
		"    - ipBlock: {cidr: 'f000::/4', except: ['fd00::1:2/128']}\n"
		"  - to:\n"
		"    - ipBlock: {cidr: 10.0.1.2/32}\n"
		"    - ipBlock: {cidr: 'fd00::1:2/128'}\n",
		/* another peer of the same rule, listed first */
		"  - to:\n"
		"    - ipBlock: {cidr: 10.0.1.0/24}\n"
		"    - ipBlock: {cidr: 0.0.0.0/4, except: [10.0.1.0/24]}\n"
		"    - ipBlock: {cidr: 'fd00::1:0/112'}\n"
		"    - ipBlock: {cidr: 'f000::/4', except: ['fd00::1:0/112']}\n",
		/* a pod peer of the same rule */
		"  - to:\n"
		"    - ipBlock: {cidr: 0.0.0.0/4, except: [10.0.1.2/32]}\n"
		"    - ipBlock: {cidr: 'f000::/4', except: ['fd00::1:2/128']}\n"
		"    - podSelector: {matchLabels: {pod: b}}\n",
	};

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct kn_store *s = model();
		struct strbuf sb;

		strbuf_init(&sb, 0);
		strbuf_printf(&sb,
			      "  podSelector: {matchLabels: {pod: a}}\n"
			      "  policyTypes: [Egress]\n"
			      "  egress:\n%s",
			      variants[i]);
		np(s, "x", "overlap", strbuf_str(&sb));
		strbuf_free(&sb);
		check_all_allowed(s, "tcp", 80);
		kn_store_free(s);
	}
	{
		struct kn_store *s = model();

		np(s, "x", "except", except_spec);
		np(s, "x", "just-b",
		   "  podSelector: {matchLabels: {pod: a}}\n"
		   "  policyTypes: [Egress]\n"
		   "  egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]\n");
		check_all_allowed(s, "tcp", 80);
		kn_store_free(s);
	}
}

/* "should enforce policies to check ingress and egress policies can be
 * controlled independently based on PodSelector" */
ATF_TC_WITHOUT_HEAD(ingress_egress_independent);
ATF_TC_BODY(ingress_egress_independent, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-egress-for-target",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 80);
	np(s, "x", "deny-ingress-via-label-selector",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even
 * if the plugin doesn't support SCTP" */
ATF_TC_WITHOUT_HEAD(sctp_is_not_tcp);
ATF_TC_BODY(sctp_is_not_tcp, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-ingress",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress: []\n");
	np(s, "x", "allow-only-sctp-ingress-on-port-81",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - {port: 81, protocol: SCTP}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 81, &r);
	check(s, "udp", 81, &r);
	expect(&r, "*", "x/a", true);
	check(s, "sctp", 81, &r);
	kn_store_free(s);
}

/* "should properly isolate pods that are selected by a policy allowing
 * SCTP, even if the plugin doesn't support SCTP" */
ATF_TC_WITHOUT_HEAD(sctp_policy_isolates);
ATF_TC_BODY(sctp_policy_isolates, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-only-sctp-ingress-on-port-80",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - {port: 80, protocol: SCTP}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 81, &r);
	check(s, "tcp", 80, &r);
	check(s, "sctp", 81, &r);
	check_all_allowed(s, "sctp", 80);
	kn_store_free(s);
}

/* "should not allow access by TCP when a policy specifies only UDP" */
ATF_TC_WITHOUT_HEAD(udp_is_not_tcp);
ATF_TC_BODY(udp_is_not_tcp, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-only-udp-ingress-on-port-81",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - {port: 81, protocol: UDP}\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 81, &r);
	check_all_allowed(s, "udp", 81);
	kn_store_free(s);
}

/* "should enforce policy based on NamespaceSelector with MatchExpressions
 * using default ns label": an egress NotIn on the name label. */
ATF_TC_WITHOUT_HEAD(egress_namespace_not_in_default_label);
ATF_TC_BODY(egress_namespace_not_in_default_label, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "allow-ns-y-match-selector-for-immutable-ns-label",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - key: kubernetes.io/metadata.name\n"
	   "          operator: NotIn\n"
	   "          values: [\"y\"]\n");
	reach_init(&r, true);
	expect(&r, "x/a", "y", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* ------------------------------------------------------------ recipes */

/* 01 DENY all traffic to an application (ingress: [], no policyTypes) */
ATF_TC_WITHOUT_HEAD(recipe_01_deny_all_to_application);
ATF_TC_BODY(recipe_01_deny_all_to_application, tc)
{
	struct kn_store *s = model();
	struct reach r;

	tu_load(s, "kind: NetworkPolicy\n"
		   "apiVersion: networking.k8s.io/v1\n"
		   "metadata:\n"
		   "  name: web-deny-all\n"
		   "  namespace: x\n"
		   "spec:\n"
		   "  podSelector:\n"
		   "    matchLabels:\n"
		   "      pod: a\n"
		   "  ingress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	check(s, "udp", 81, &r);
	kn_store_free(s);
}

/* 02 LIMIT traffic to an application */
ATF_TC_WITHOUT_HEAD(recipe_02_limit_traffic_to_application);
ATF_TC_BODY(recipe_02_limit_traffic_to_application, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "api-allow",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "      - podSelector:\n"
	   "          matchLabels:\n"
	   "            pod: b\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 02a ALLOW all traffic to an application, over 01 */
ATF_TC_WITHOUT_HEAD(recipe_02a_allow_all_to_application);
ATF_TC_BODY(recipe_02a_allow_all_to_application, tc)
{
	struct kn_store *s = model();

	np(s, "x", "web-deny-all",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  ingress: []\n");
	np(s, "x", "web-allow-all",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  ingress:\n"
	   "  - {}\n");
	check_all_allowed(s, "tcp", 80);
	kn_store_free(s);
}

/* 03 DENY all non-whitelisted traffic to a namespace */
ATF_TC_WITHOUT_HEAD(recipe_03_deny_all_in_namespace);
ATF_TC_BODY(recipe_03_deny_all_in_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "y", "default-deny-all",
	   "  podSelector: {}\n"
	   "  ingress: []\n");
	reach_init(&r, true);
	expect(&r, "*", "y", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 04 DENY all traffic from other namespaces: a podSelector whose
 * matchLabels is null selects every pod. */
ATF_TC_WITHOUT_HEAD(recipe_04_deny_from_other_namespaces);
ATF_TC_BODY(recipe_04_deny_from_other_namespaces, tc)
{
	struct kn_store *s = model();
	struct reach r;

	tu_load(s, "kind: NetworkPolicy\n"
		   "apiVersion: networking.k8s.io/v1\n"
		   "metadata:\n"
		   "  namespace: \"y\"\n"
		   "  name: deny-from-other-namespaces\n"
		   "spec:\n"
		   "  podSelector:\n"
		   "    matchLabels:\n"
		   "  ingress:\n"
		   "  - from:\n"
		   "    - podSelector: {}\n");
	reach_init(&r, true);
	expect(&r, "x", "y", false);
	expect(&r, "z", "y", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 05 ALLOW traffic to an application from all namespaces */
ATF_TC_WITHOUT_HEAD(recipe_05_allow_from_all_namespaces);
ATF_TC_BODY(recipe_05_allow_from_all_namespaces, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-all",
	   "  podSelector: {}\n"
	   "  ingress: []\n");
	np(s, "x", "web-allow-all-namespaces",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "    - from:\n"
	   "      - namespaceSelector: {}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "*", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 06 ALLOW all traffic from a namespace, by a label of its own */
ATF_TC_WITHOUT_HEAD(recipe_06_allow_from_a_namespace);
ATF_TC_BODY(recipe_06_allow_from_a_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "web-allow-prod",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          purpose: production\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	put_ns(s, "z", "{\"ns\":\"z\",\"purpose\":\"production\"}");
	expect(&r, "z", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 07 ALLOW traffic from some pods in another namespace: AND within one
 * peer, and the OR form (two peers) of its remarks. */
ATF_TC_WITHOUT_HEAD(recipe_07_some_pods_in_another_namespace);
ATF_TC_BODY(recipe_07_some_pods_in_another_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	put_ns(s, "y", "{\"ns\":\"y\",\"team\":\"operations\"}");
	put_pod(s, "y", "b", "{\"pod\":\"b\",\"type\":\"monitoring\"}", NULL);
	put_pod(s, "x", "b", "{\"pod\":\"b\",\"type\":\"monitoring\"}", NULL);
	np(s, "x", "web-allow-all-ns-monitoring",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "    - from:\n"
	   "      - namespaceSelector:\n"
	   "          matchLabels:\n"
	   "            team: operations\n"
	   "        podSelector:\n"
	   "          matchLabels:\n"
	   "            type: monitoring\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "y/b", "x/a", true);
	check(s, "tcp", 80, &r);
	np(s, "x", "web-allow-all-ns-monitoring",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "    - from:\n"
	   "      - namespaceSelector:\n"
	   "          matchLabels:\n"
	   "            team: operations\n"
	   "      - podSelector:\n"
	   "          matchLabels:\n"
	   "            type: monitoring\n");
	expect(&r, "y", "x/a", true);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 08 ALLOW traffic from external clients: ingress: [{}] */
ATF_TC_WITHOUT_HEAD(recipe_08_allow_external);
ATF_TC_BODY(recipe_08_allow_external, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "deny-all",
	   "  podSelector: {}\n"
	   "  ingress: []\n");
	np(s, "x", "web-allow-external",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: c\n"
	   "  ingress:\n"
	   "  - {}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "*", "x/c", true);
	check(s, "tcp", 80, &r);
	ATF_CHECK(reach_ip(s, "192.0.2.1", NULL, "10.0.1.3", "node2", "tcp", 80));
	ATF_CHECK(reach_ip(s, "2001:db8::1", NULL, "fd00::1:3", "node2", "tcp", 80));
	ATF_CHECK(!reach_ip(s, "192.0.2.1", NULL, "10.0.1.1", "node1", "tcp", 80));
	kn_store_free(s);
}

/* 09 ALLOW traffic only to a port of an application */
ATF_TC_WITHOUT_HEAD(recipe_09_allow_only_a_port);
ATF_TC_BODY(recipe_09_allow_only_a_port, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "api-allow-5000",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "  - ports:\n"
	   "    - port: 81\n"
	   "    from:\n"
	   "    - podSelector:\n"
	   "        matchLabels:\n"
	   "          pod: b\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "tcp", 80, &r);
	check(s, "udp", 81, &r);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 81, &r);
	kn_store_free(s);
}

/* 10 ALLOW traffic from apps using multiple selectors (matchLabels with
 * two keys: both must match) */
ATF_TC_WITHOUT_HEAD(recipe_10_multiple_selectors);
ATF_TC_BODY(recipe_10_multiple_selectors, tc)
{
	struct kn_store *s = model();
	struct reach r;

	put_pod(s, "x", "b", "{\"pod\":\"b\",\"app\":\"bookstore\",\"role\":\"search\"}", NULL);
	put_pod(s, "x", "c", "{\"pod\":\"c\",\"app\":\"bookstore\",\"role\":\"web\"}", NULL);
	put_pod(s, "y", "a", "{\"pod\":\"a\",\"app\":\"inventory\",\"role\":\"web\"}", NULL);
	np(s, "x", "redis-allow-services",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - podSelector:\n"
	   "        matchLabels:\n"
	   "          app: bookstore\n"
	   "          role: search\n"
	   "    - podSelector:\n"
	   "        matchLabels:\n"
	   "          app: inventory\n"
	   "          role: web\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 11 DENY egress traffic from an application, then allow DNS only */
ATF_TC_WITHOUT_HEAD(recipe_11_deny_egress_then_allow_dns);
ATF_TC_BODY(recipe_11_deny_egress_then_allow_dns, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "foo-deny-egress",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  policyTypes:\n"
	   "  - Egress\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	check(s, "udp", 53, &r);
	np(s, "x", "foo-deny-egress",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  policyTypes:\n"
	   "  - Egress\n"
	   "  egress:\n"
	   "  - ports:\n"
	   "    - port: 53\n"
	   "      protocol: UDP\n"
	   "    - port: 53\n"
	   "      protocol: TCP\n");
	check_all_allowed(s, "udp", 53);
	check_all_allowed(s, "tcp", 53);
	check(s, "tcp", 80, &r);
	check(s, "sctp", 53, &r);
	ATF_CHECK(reach_ip(s, "10.0.1.1", "node1", "8.8.8.8", NULL, "udp", 53));
	ATF_CHECK(!reach_ip(s, "10.0.1.1", "node1", "93.184.216.34", NULL, "tcp", 80));
	kn_store_free(s);
}

/* 12 DENY all non-whitelisted traffic from a namespace */
ATF_TC_WITHOUT_HEAD(recipe_12_deny_all_egress_from_namespace);
ATF_TC_BODY(recipe_12_deny_all_egress_from_namespace, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "z", "default-deny-all-egress",
	   "  policyTypes:\n"
	   "  - Egress\n"
	   "  podSelector: {}\n"
	   "  egress: []\n");
	reach_init(&r, true);
	expect(&r, "z", "*", false);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* 13 egress to the pods of a namespace and to some pods of another, on
 * the listed ports only */
ATF_TC_WITHOUT_HEAD(recipe_13_egress_to_namespace_via_port);
ATF_TC_BODY(recipe_13_egress_to_namespace_via_port, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "foo-deny-egress",
	   "  egress:\n"
	   "  - ports:\n"
	   "    - port: 53\n"
	   "      protocol: TCP\n"
	   "    - port: 53\n"
	   "      protocol: UDP\n"
	   "    - port: 8080\n"
	   "      protocol: TCP\n"
	   "    to:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          ns: z\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels:\n"
	   "          ns: \"y\"\n"
	   "      podSelector:\n"
	   "        matchLabels:\n"
	   "          pod: b\n"
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  policyTypes:\n"
	   "  - Egress\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	check(s, "tcp", 80, &r);
	expect(&r, "x/a", "z", true);
	expect(&r, "x/a", "y/b", true);
	check(s, "tcp", 8080, &r);
	check(s, "udp", 53, &r);
	kn_store_free(s);
}

/* 14 DENY external egress traffic: DNS anywhere, anything to pods */
ATF_TC_WITHOUT_HEAD(recipe_14_deny_external_egress);
ATF_TC_BODY(recipe_14_deny_external_egress, tc)
{
	struct kn_store *s = model();

	np(s, "x", "foo-deny-external-egress",
	   "  podSelector:\n"
	   "    matchLabels:\n"
	   "      pod: a\n"
	   "  policyTypes:\n"
	   "  - Egress\n"
	   "  egress:\n"
	   "  - ports:\n"
	   "    - port: 53\n"
	   "      protocol: UDP\n"
	   "    - port: 53\n"
	   "      protocol: TCP\n"
	   "  - to:\n"
	   "    - namespaceSelector: {}\n");
	check_all_allowed(s, "tcp", 80);
	check_all_allowed(s, "udp", 4242);
	ATF_CHECK(reach_ip(s, "10.0.1.1", "node1", "192.0.2.1", NULL, "udp", 53));
	ATF_CHECK(reach_ip(s, "fd00::1:1", "node1", "2001:db8::1", NULL, "tcp", 53));
	ATF_CHECK(!reach_ip(s, "10.0.1.1", "node1", "192.0.2.1", NULL, "tcp", 80));
	ATF_CHECK(!reach_ip(s, "fd00::1:1", "node1", "2001:db8::1", NULL, "tcp", 443));
	kn_store_free(s);
}

/* ------------------------------------------ corners of the API reference */

/* "If this field is empty or missing, this rule matches all sources":
 * from: [] and a missing from are the same; ingress: [] allows nothing;
 * ingress: [{}] and a null rule (Go's zero value) allow everything. */
ATF_TC_WITHOUT_HEAD(empty_lists_and_missing_fields);
ATF_TC_BODY(empty_lists_and_missing_fields, tc)
{
	static const struct {
		const char *ingress;
		bool open;
	} cases[] = {
		{"  ingress: [{from: []}]\n", true},
		{"  ingress: [{ports: []}]\n", true},
		{"  ingress: [{from: [], ports: []}]\n", true},
		{"  ingress: [{from: null, ports: null}]\n", true},
		{"  ingress: [{}]\n", true},
		{"  ingress: [null]\n", true},
		{"  ingress: [{ports: [{}]}]\n", true}, /* TCP, every port */
		{"  ingress: []\n", false},
		{"  ingress: null\n", false},
		{"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kn_store *s = model();
		struct strbuf sb;
		struct reach r;

		strbuf_init(&sb, 0);
		strbuf_printf(&sb,
			      "  podSelector: {matchLabels: {pod: a}}\n"
			      "  policyTypes: [Ingress]\n%s",
			      cases[i].ingress);
		np(s, "x", "p", strbuf_str(&sb));
		strbuf_free(&sb);
		reach_init(&r, true);
		expect(&r, "*", "x/a", cases[i].open);
		check(s, "tcp", 80, &r);
		kn_store_free(s);
	}
}

/* policyTypes and its default (SetDefaults_NetworkPolicySpec): Ingress
 * always, Egress when there are egress rules; a listed type is enforced
 * whatever the rules say, a type not listed is not. */
ATF_TC_WITHOUT_HEAD(policy_types_combinations);
ATF_TC_BODY(policy_types_combinations, tc)
{
	static const struct {
		const char *spec;
		bool in_isolated, out_isolated;
	} cases[] = {
		{"  policyTypes: [Ingress]\n  egress: []\n", true, false},
		{"  policyTypes: [Ingress]\n  egress: [{to: [{podSelector: {}}]}]\n", true, false},
		{"  policyTypes: [Egress]\n  ingress: []\n", false, true},
		{"  policyTypes: [Egress]\n  ingress: [{from: [{podSelector: {}}]}]\n", false,
		 true},
		{"  egress: []\n", true, false},
		{"  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}]}]\n", true, true},
		{"  policyTypes: []\n  egress: [{ports: [{port: 9}]}]\n", true, true},
		{"  policyTypes: null\n  ingress: [{}]\n  egress: [{}]\n", false, false},
		{"  policyTypes: [Egress, Egress]\n", false, true},
		{"  policyTypes: [Ingress, Egress]\n", true, true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kn_store *s = model();
		struct strbuf sb;
		struct reach r;

		strbuf_init(&sb, 0);
		strbuf_printf(&sb, "  podSelector: {matchLabels: {pod: a}}\n%s", cases[i].spec);
		np(s, "x", "p", strbuf_str(&sb));
		strbuf_free(&sb);
		reach_init(&r, true);
		expect(&r, "*", "x/a", !cases[i].in_isolated);
		expect(&r, "x/a", "*", !cases[i].out_isolated);
		check(s, "tcp", 80, &r);
		kn_store_free(s);
	}
}

/* namespaceSelector {} (every namespace) against no namespaceSelector
 * (the policy's namespace), with and without a podSelector.  The policy
 * lives in z, so that "the policy's namespace" is not the first one. */
ATF_TC_WITHOUT_HEAD(namespace_selector_empty_vs_absent);
ATF_TC_BODY(namespace_selector_empty_vs_absent, tc)
{
	static const struct {
		const char *peer;
		const char *to[3];
	} cases[] = {
		{"{podSelector: {matchLabels: {pod: b}}}", {"z/b"}},
		{"{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}",
		 {"x/b", "y/b", "z/b"}},
		{"{podSelector: {}}", {"z"}},
		{"{namespaceSelector: {}}", {"*"}},
		{"{namespaceSelector: {matchLabels: {ns: \"y\"}}, podSelector: {}}", {"y"}},
		{"{namespaceSelector: {matchExpressions: [{key: ns, operator: Exists}]}}", {"*"}},
		{"{namespaceSelector: {matchExpressions: [{key: ns, operator: DoesNotExist}]}}",
		 {NULL}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kn_store *s = model();
		struct strbuf sb;
		struct reach r;

		strbuf_init(&sb, 0);
		strbuf_printf(&sb,
			      "  podSelector: {matchLabels: {pod: c}}\n"
			      "  policyTypes: [Egress]\n"
			      "  egress:\n"
			      "  - to:\n"
			      "    - %s\n",
			      cases[i].peer);
		np(s, "z", "p", strbuf_str(&sb));
		strbuf_free(&sb);
		reach_init(&r, true);
		expect(&r, "z/c", "*", false);
		for (int k = 0; k < 3 && cases[i].to[k]; k++)
			expect(&r, "z/c", cases[i].to[k], true);
		check(s, "tcp", 80, &r);
		kn_store_free(s);
	}
}

/* A named port resolves per pod: the same name may be a different
 * number on each pod, another protocol, or missing. */
ATF_TC_WITHOUT_HEAD(named_port_per_pod_number);
ATF_TC_BODY(named_port_per_pod_number, tc)
{
	struct kn_store *s = model();
	struct reach r;

	put_pod(s, "x", "a", "{\"pod\":\"a\"}", "[{\"name\":\"http\",\"containerPort\":80}]");
	put_pod(s, "x", "b", "{\"pod\":\"b\"}", "[{\"name\":\"http\",\"containerPort\":81}]");
	put_pod(s, "y", "c", "{\"pod\":\"c\"}",
		"[{\"name\":\"http\",\"containerPort\":80,\"protocol\":\"UDP\"},"
		"{\"name\":\"web\",\"containerPort\":81}]");
	put_pod(s, "y", "a", "{\"pod\":\"a\"}", "[{\"name\":\"http\",\"containerPort\":81}]");
	np(s, "x", "http",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - ports: [{port: http}]\n");
	np(s, "z", "to-http",
	   "  podSelector: {}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - ports: [{port: http}]\n");
	/* TCP 80: only x/a declares http on 80. */
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "*", "x/a", true);
	expect(&r, "z", "*", false);
	expect(&r, "z", "x/a", true);
	check(s, "tcp", 80, &r);
	/* TCP 81: x/b and y/a. */
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "*", "x/b", true);
	expect(&r, "z", "*", false);
	expect(&r, "z", "x/b", true);
	expect(&r, "z", "y/a", true);
	check(s, "tcp", 81, &r);
	/* y/c's http is UDP: the policies' http (TCP) does not name it. */
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "z", "*", false);
	check(s, "udp", 80, &r);
	kn_store_free(s);
}

/* A named port with ipBlock peers resolves on the pods in the block, and
 * for their addresses in the block only: an IPv4 block says nothing of
 * the pods' IPv6 addresses (NetworkPolicyPeer.ipBlock: "a particular
 * CIDR"; the to list of a rule restricts destinations by address). */
ATF_TC_WITHOUT_HEAD(named_port_egress_ip_block_family);
ATF_TC_BODY(named_port_egress_ip_block_family, tc)
{
	struct kn_store *s = model();
	struct reach v4, v6;

	np(s, "x", "named-cidr",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 10.0.2.0/24}\n"
	   "    ports:\n"
	   "    - port: serve-80-tcp\n");
	reach_init(&v4, true);
	expect(&v4, "x/a", "*", false);
	expect(&v4, "x/a", "y", true);
	reach_init(&v6, true);
	expect(&v6, "x/a", "*", false);
	tu_check_matrix(s, "tcp", 80, AF_INET, v4.m);
	tu_check_matrix(s, "tcp", 80, AF_INET6, v6.m);
	kn_store_free(s);
}

/* Same, with an except: each address of a pod is judged alone. */
ATF_TC_WITHOUT_HEAD(named_port_egress_ip_block_except);
ATF_TC_BODY(named_port_egress_ip_block_except, tc)
{
	struct kn_store *s = model();
	struct reach v4, v6;

	np(s, "x", "named-cidr",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 10.0.2.0/24, except: [10.0.2.2/32]}\n"
	   "    - ipBlock: {cidr: 'fd00::2:2/128'}\n"
	   "    ports:\n"
	   "    - port: serve-80-tcp\n");
	reach_init(&v4, true);
	expect(&v4, "x/a", "*", false);
	expect(&v4, "x/a", "y/a", true);
	expect(&v4, "x/a", "y/c", true);
	reach_init(&v6, true);
	expect(&v6, "x/a", "*", false);
	expect(&v6, "x/a", "y/b", true);
	tu_check_matrix(s, "tcp", 80, AF_INET, v4.m);
	tu_check_matrix(s, "tcp", 80, AF_INET6, v6.m);
	kn_store_free(s);
}

/* Pods of namespaces without a Namespace object: the compiler gives each
 * the kubernetes.io/metadata.name label the API server would set
 * (docs/design.md), whether its name sorts before or after the
 * namespaces that have an object. */
ATF_TC_WITHOUT_HEAD(namespace_without_object);
ATF_TC_BODY(namespace_without_object, tc)
{
	struct kn_store *s = model();

	tu_load(s, "apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: a, namespace: w, labels: {pod: a}}\n"
		   "spec: {nodeName: node2, containers: [{name: c}]}\n"
		   "status: {phase: Running, podIPs: [{ip: 10.0.9.1}, {ip: 'fd00::9:1'}]}\n"
		   "---\n"
		   "apiVersion: v1\nkind: Pod\n"
		   "metadata: {name: a, namespace: zz, labels: {pod: a}}\n"
		   "spec: {nodeName: node2, containers: [{name: c}]}\n"
		   "status: {phase: Running, podIPs: [{ip: 10.0.8.1}, {ip: 'fd00::8:1'}]}\n");
	np(s, "x", "from-w",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {kubernetes.io/metadata.name: w}\n");
	ATF_CHECK(reach_ip(s, "10.0.9.1", "node2", "10.0.1.1", "node1", "tcp", 80));
	ATF_CHECK(reach_ip(s, "fd00::9:1", "node2", "fd00::1:1", "node1", "tcp", 80));
	ATF_CHECK(!reach_ip(s, "10.0.8.1", "node2", "10.0.1.1", "node1", "tcp", 80));
	ATF_CHECK(!reach_ip(s, "10.0.2.1", "node1", "10.0.1.1", "node1", "tcp", 80));
	np(s, "x", "from-w",
	   "  podSelector:\n"
	   "    matchLabels: {pod: a}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {kubernetes.io/metadata.name: zz}\n");
	ATF_CHECK(!reach_ip(s, "10.0.9.1", "node2", "10.0.1.1", "node1", "tcp", 80));
	ATF_CHECK(reach_ip(s, "10.0.8.1", "node2", "10.0.1.1", "node1", "tcp", 80));
	kn_store_free(s);
}

/* Rules are ORed; within a rule, peers and ports must both match. */
ATF_TC_WITHOUT_HEAD(rules_ored_peers_and_ports_anded);
ATF_TC_BODY(rules_ored_peers_and_ports_anded, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "two-rules",
	   "  podSelector: {matchLabels: {pod: a}}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from: [{podSelector: {matchLabels: {pod: b}}}]\n"
	   "    ports: [{port: 80}]\n"
	   "  - from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n"
	   "    ports: [{port: 81}, {port: 80, protocol: UDP}]\n");
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/b", "x/a", true);
	check(s, "tcp", 80, &r);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "y", "x/a", true);
	check(s, "tcp", 81, &r);
	check(s, "udp", 80, &r);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	check(s, "udp", 81, &r);
	kn_store_free(s);
}

/* Numeric and named ports in one rule, and an endPort range. */
ATF_TC_WITHOUT_HEAD(mixed_ports_and_end_port);
ATF_TC_BODY(mixed_ports_and_end_port, tc)
{
	struct kn_store *s = model();
	struct reach open, closed;

	np(s, "x", "mixed",
	   "  podSelector: {matchLabels: {pod: a}}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]\n"
	   "    ports:\n"
	   "    - {port: 80, protocol: UDP}\n"
	   "    - {port: serve-81-tcp}\n"
	   "    - {port: 1000, endPort: 2000, protocol: SCTP}\n");
	reach_init(&open, true);
	expect(&open, "*", "x/a", false);
	expect(&open, "y", "x/a", true);
	reach_init(&closed, true);
	expect(&closed, "*", "x/a", false);
	check(s, "udp", 80, &open);
	check(s, "tcp", 81, &open);
	check(s, "sctp", 1000, &open);
	check(s, "sctp", 2000, &open);
	check(s, "tcp", 80, &closed);
	check(s, "udp", 81, &closed);
	check(s, "sctp", 999, &closed);
	check(s, "sctp", 2001, &closed);
	check(s, "tcp", 1500, &closed);
	kn_store_free(s);
}

/* Ingress from an ipBlock with except, where a pod peer of the same rule
 * is an excepted address; ipBlocks match pod addresses. */
ATF_TC_WITHOUT_HEAD(ingress_ip_block_except_and_pod_peer);
ATF_TC_BODY(ingress_ip_block_except_and_pod_peer, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "cidr",
	   "  podSelector: {matchLabels: {pod: a}}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - ipBlock: {cidr: 10.0.2.0/24, except: [10.0.2.0/30]}\n"
	   "    - namespaceSelector: {matchLabels: {ns: \"y\"}}\n"
	   "      podSelector: {matchLabels: {pod: b}}\n");
	/* 10.0.2.0/30 holds y/a, y/b and y/c (.1 .2 .3): only y/b, by the
	 * pod peer, passes; in IPv6 too. */
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "y/b", "x/a", true);
	check(s, "tcp", 80, &r);
	/* Outside the except, the block admits other addresses. */
	ATF_CHECK(reach_ip(s, "10.0.2.200", NULL, "10.0.1.1", "node1", "tcp", 80));
	ATF_CHECK(!reach_ip(s, "10.0.3.200", NULL, "10.0.1.1", "node1", "tcp", 80));
	kn_store_free(s);
}

/* Egress to the internet only: everything but the cluster's ranges. */
ATF_TC_WITHOUT_HEAD(egress_internet_only);
ATF_TC_BODY(egress_internet_only, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "internet-only",
	   "  podSelector: {matchLabels: {pod: a}}\n"
	   "  policyTypes: [Egress]\n"
	   "  egress:\n"
	   "  - to:\n"
	   "    - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/16]}\n"
	   "    - ipBlock: {cidr: '::/0', except: ['fd00::/64']}\n");
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	check(s, "tcp", 80, &r);
	ATF_CHECK(reach_ip(s, "10.0.1.1", "node1", "192.0.2.1", NULL, "tcp", 443));
	ATF_CHECK(reach_ip(s, "10.0.1.1", "node1", "10.1.0.1", NULL, "tcp", 443));
	ATF_CHECK(reach_ip(s, "fd00::1:1", "node1", "2001:db8::1", NULL, "udp", 443));
	kn_store_free(s);
}

/* Relabelling moves pods in and out of a policy's targets and peers. */
ATF_TC_WITHOUT_HEAD(pods_relabelled);
ATF_TC_BODY(pods_relabelled, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "web",
	   "  podSelector: {matchLabels: {app: web}}\n"
	   "  policyTypes: [Ingress, Egress]\n"
	   "  ingress:\n"
	   "  - from: [{podSelector: {matchLabels: {app: client}}}]\n"
	   "  egress:\n"
	   "  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}]\n");
	check_all_allowed(s, "tcp", 80);
	put_pod(s, "x", "a", "{\"pod\":\"a\",\"app\":\"web\"}", NULL);
	reach_init(&r, true);
	expect(&r, "*", "x/a", false);
	expect(&r, "x/a", "*", false);
	check(s, "tcp", 80, &r);
	/* A client in x, a db in z. */
	put_pod(s, "x", "c", "{\"pod\":\"c\",\"app\":\"client\"}", NULL);
	put_pod(s, "z", "b", "{\"pod\":\"b\",\"app\":\"db\"}", NULL);
	expect(&r, "x/c", "x/a", true);
	expect(&r, "x/a", "z/b", true);
	check(s, "tcp", 80, &r);
	/* A client in y does not count (a podSelector alone selects in the
	 * policy's namespace). */
	put_pod(s, "y", "c", "{\"pod\":\"c\",\"app\":\"client\"}", NULL);
	check(s, "tcp", 80, &r);
	/* x/a becomes a db: no longer a target, now a peer of x/b. */
	put_pod(s, "x", "a", "{\"pod\":\"a\",\"app\":\"db\"}", NULL);
	check_all_allowed(s, "tcp", 80);
	put_pod(s, "x", "b", "{\"pod\":\"b\",\"app\":\"web\"}", NULL);
	reach_init(&r, true);
	expect(&r, "*", "x/b", false);
	expect(&r, "x/b", "*", false);
	expect(&r, "x/c", "x/b", true);
	expect(&r, "x/b", "x/a", true);
	expect(&r, "x/b", "z/b", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* Relabelling namespaces moves their pods in and out of peers; the name
 * label cannot be forged. */
ATF_TC_WITHOUT_HEAD(namespaces_relabelled);
ATF_TC_BODY(namespaces_relabelled, tc)
{
	struct kn_store *s = model();
	struct reach r;

	np(s, "x", "team",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchExpressions:\n"
	   "        - {key: team, operator: In, values: [blue, green]}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	check(s, "tcp", 80, &r);
	put_ns(s, "y", "{\"ns\":\"y\",\"team\":\"blue\"}");
	put_ns(s, "x", "{\"ns\":\"x\",\"team\":\"green\"}");
	expect(&r, "y", "x", true);
	expect(&r, "x", "x", true);
	check(s, "tcp", 80, &r);
	put_ns(s, "y", "{\"ns\":\"y\",\"team\":\"red\"}");
	expect(&r, "y", "x", false);
	check(s, "tcp", 80, &r);
	/* The API server overwrites kubernetes.io/metadata.name. */
	put_ns(s, "z", "{\"ns\":\"z\",\"kubernetes.io/metadata.name\":\"x\"}");
	np(s, "x", "team",
	   "  podSelector: {}\n"
	   "  policyTypes: [Ingress]\n"
	   "  ingress:\n"
	   "  - from:\n"
	   "    - namespaceSelector:\n"
	   "        matchLabels: {kubernetes.io/metadata.name: x}\n");
	reach_init(&r, true);
	expect(&r, "*", "x", false);
	expect(&r, "x", "x", true);
	check(s, "tcp", 80, &r);
	kn_store_free(s);
}

/* ------------------------------------------------------------ decoding */

/* What the API server accepts must not be rejected: a rejected policy is
 * skipped, and its pods lose their isolation. */
ATF_TC_WITHOUT_HEAD(decode_accepts_what_the_api_server_accepts);
ATF_TC_BODY(decode_accepts_what_the_api_server_accepts, tc)
{
	static const char *const ok[] = {
		/* ParseCIDRSloppy: host bits may be set */
		"  egress: [{to: [{ipBlock: {cidr: 10.0.2.7/24, except: [10.0.2.2/32]}}]}]\n",
		/* IPv4-mapped IPv6 */
		"  egress: [{to: [{ipBlock: {cidr: '::ffff:10.0.2.0/120'}}]}]\n",
		/* a protocol-only port and a full port range */
		"  egress: [{ports: [{protocol: SCTP}, {port: 1, endPort: 65535}]}]\n",
		/* nulls */
		"  podSelector: {matchLabels: null, matchExpressions: null}\n",
		"  egress: [{to: null, ports: null}]\n",
		"  egress: [{ports: [null]}]\n",
		"  egress: [{ports: [{port: 80, protocol: null}]}]\n",
		/* several expressions on one key */
		"  egress: [{to: [{podSelector: {matchExpressions: [{key: pod, operator: In, "
		"values: [a, b]}, {key: pod, operator: NotIn, values: [b]}]}}]}]\n",
		/* an empty label value */
		"  egress: [{to: [{podSelector: {matchLabels: {pod: ''}}}]}]\n",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct kn_store *s = kn_store_new();
		char spec[512], err[KN_ERR_MAX] = "";

		snprintf(spec, sizeof(spec), "  policyTypes: [Egress]\n%s", ok[i]);
		ATF_CHECK_EQ_MSG(np_lenient(s, "x", "p", spec, err, sizeof(err)), 0,
				 "case %zu rejected: %s", i, err);
		kn_store_free(s);
	}
}

/* ParseCIDRSloppy, which ValidateIPBlock uses (StrictIPCIDRValidation is
 * alpha, off by default), accepts IPv4 parts with leading zeros and reads
 * them as decimal: 010.000.002.000/24 is 10.0.2.0/24. */
ATF_TC_WITHOUT_HEAD(decode_ip_block_leading_zeros);
ATF_TC_BODY(decode_ip_block_leading_zeros, tc)
{
	struct kn_store *s = model();
	char err[KN_ERR_MAX] = "";
	struct reach r;

	ATF_CHECK_EQ_MSG(np_lenient(s, "x", "zeros",
				    "  podSelector: {matchLabels: {pod: a}}\n"
				    "  policyTypes: [Egress]\n"
				    "  egress:\n"
				    "  - to: [{ipBlock: {cidr: 010.000.002.000/24}}]\n",
				    err, sizeof(err)),
			 0, "rejected: %s", err);
	reach_init(&r, true);
	expect(&r, "x/a", "*", false);
	expect(&r, "x/a", "y", true);
	tu_check_matrix(s, "tcp", 80, AF_INET, r.m);
	kn_store_free(s);
}

/* And what it rejects must be rejected (ValidateNetworkPolicySpec). */
ATF_TC_WITHOUT_HEAD(decode_rejects_what_the_api_server_rejects);
ATF_TC_BODY(decode_rejects_what_the_api_server_rejects, tc)
{
	static const char *const bad[] = {
		"  egress: [{to: [{}]}]\n",
		"  egress: [{to: [null]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}]}]\n",
		"  egress: [{to: [{ipBlock: {}}]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: ['fd00::/64']}}]}]\n",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]\n",
		"  egress: [{ports: [{port: 0}]}]\n",
		"  egress: [{ports: [{port: 65536}]}]\n",
		"  egress: [{ports: [{port: '80'}]}]\n",
		"  egress: [{ports: [{port: 81, endPort: 80}]}]\n",
		"  egress: [{ports: [{port: 80, endPort: 65536}]}]\n",
		"  egress: [{ports: [{port: http, endPort: 81}]}]\n",
		"  egress: [{ports: [{endPort: 81}]}]\n",
		"  egress: [{ports: [{port: 80, protocol: tcp}]}]\n",
		"  egress: [{ports: [{port: 80, protocol: ICMP}]}]\n",
		"  egress: [{ports: [{port: 80, protocol: ''}]}]\n",
		"  policyTypes: [Ingress, Egress, Ingress]\n",
		"  policyTypes: [ingress]\n",
		"  egress: [{to: [{podSelector: {matchExpressions: [{key: pod, operator: "
		"In}]}}]}]\n",
		"  egress: [{to: [{podSelector: {matchExpressions: [{key: pod, operator: Exists, "
		"values: [a]}]}}]}]\n",
		"  egress: [{to: [{podSelector: {matchExpressions: [{key: pod, operator: Equals, "
		"values: [a]}]}}]}]\n",
		"  egress: [{to: [{podSelector: {matchLabels: {pod: '-a'}}}]}]\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kn_store *s = kn_store_new();
		char spec[512];

		snprintf(spec, sizeof(spec), "  podSelector: {}\n%s", bad[i]);
		ATF_CHECK_EQ_MSG(np_lenient(s, "x", "p", spec, NULL, 0), 1, "case %zu accepted: %s",
				 i, bad[i]);
		kn_store_free(s);
	}
}

ATF_TP_ADD_TCS(tp)
{
	/* upstream e2e */
	ATF_TP_ADD_TC(tp, default_deny_ingress);
	ATF_TP_ADD_TC(tp, default_deny_all);
	ATF_TP_ADD_TC(tp, pod_selector_within_namespace);
	ATF_TP_ADD_TC(tp, allow_ingress_for_target);
	ATF_TP_ADD_TC(tp, allow_from_all_namespaces);
	ATF_TP_ADD_TC(tp, namespace_selector_match_labels);
	ATF_TP_ADD_TC(tp, pod_selector_match_expressions);
	ATF_TP_ADD_TC(tp, namespace_selector_match_expressions);
	ATF_TP_ADD_TC(tp, pod_selector_or_namespace_selector);
	ATF_TP_ADD_TC(tp, pod_selector_and_namespace_selector);
	ATF_TP_ADD_TC(tp, multiple_pod_and_namespace_selectors);
	ATF_TP_ADD_TC(tp, any_pod_selectors);
	ATF_TP_ADD_TC(tp, pod_in_other_namespace);
	ATF_TP_ADD_TC(tp, ports);
	ATF_TP_ADD_TC(tp, stacked_policies);
	ATF_TP_ADD_TC(tp, allow_all);
	ATF_TP_ADD_TC(tp, named_port_ingress);
	ATF_TP_ADD_TC(tp, named_port_ingress_from_namespace);
	ATF_TP_ADD_TC(tp, named_port_egress);
	ATF_TP_ADD_TC(tp, updated_policy);
	ATF_TP_ADD_TC(tp, updated_namespace);
	ATF_TP_ADD_TC(tp, updated_pod);
	ATF_TP_ADD_TC(tp, deny_other_namespaces);
	ATF_TP_ADD_TC(tp, deny_updated_pod);
	ATF_TP_ADD_TC(tp, deny_egress_pod_selector);
	ATF_TP_ADD_TC(tp, deny_egress_namespace);
	ATF_TP_ADD_TC(tp, ingress_and_egress_together);
	ATF_TP_ADD_TC(tp, egress_denied_on_client_side);
	ATF_TP_ADD_TC(tp, egress_pod_and_namespace_selector);
	ATF_TP_ADD_TC(tp, any_port_on_protocol);
	ATF_TP_ADD_TC(tp, ingress_allow_all_precedence);
	ATF_TP_ADD_TC(tp, egress_allow_all_precedence);
	ATF_TP_ADD_TC(tp, deleted_policies);
	ATF_TP_ADD_TC(tp, egress_cidr_block);
	ATF_TP_ADD_TC(tp, egress_cidr_block_with_dns_rule);
	ATF_TP_ADD_TC(tp, egress_cidr_except);
	ATF_TP_ADD_TC(tp, cidr_and_except_overlap_update);
	ATF_TP_ADD_TC(tp, except_allowed_elsewhere);
	ATF_TP_ADD_TC(tp, ingress_egress_independent);
	ATF_TP_ADD_TC(tp, sctp_is_not_tcp);
	ATF_TP_ADD_TC(tp, sctp_policy_isolates);
	ATF_TP_ADD_TC(tp, udp_is_not_tcp);
	ATF_TP_ADD_TC(tp, egress_namespace_not_in_default_label);
	/* recipes */
	ATF_TP_ADD_TC(tp, recipe_01_deny_all_to_application);
	ATF_TP_ADD_TC(tp, recipe_02_limit_traffic_to_application);
	ATF_TP_ADD_TC(tp, recipe_02a_allow_all_to_application);
	ATF_TP_ADD_TC(tp, recipe_03_deny_all_in_namespace);
	ATF_TP_ADD_TC(tp, recipe_04_deny_from_other_namespaces);
	ATF_TP_ADD_TC(tp, recipe_05_allow_from_all_namespaces);
	ATF_TP_ADD_TC(tp, recipe_06_allow_from_a_namespace);
	ATF_TP_ADD_TC(tp, recipe_07_some_pods_in_another_namespace);
	ATF_TP_ADD_TC(tp, recipe_08_allow_external);
	ATF_TP_ADD_TC(tp, recipe_09_allow_only_a_port);
	ATF_TP_ADD_TC(tp, recipe_10_multiple_selectors);
	ATF_TP_ADD_TC(tp, recipe_11_deny_egress_then_allow_dns);
	ATF_TP_ADD_TC(tp, recipe_12_deny_all_egress_from_namespace);
	ATF_TP_ADD_TC(tp, recipe_13_egress_to_namespace_via_port);
	ATF_TP_ADD_TC(tp, recipe_14_deny_external_egress);
	/* corners of the API reference */
	ATF_TP_ADD_TC(tp, empty_lists_and_missing_fields);
	ATF_TP_ADD_TC(tp, policy_types_combinations);
	ATF_TP_ADD_TC(tp, namespace_selector_empty_vs_absent);
	ATF_TP_ADD_TC(tp, named_port_per_pod_number);
	ATF_TP_ADD_TC(tp, named_port_egress_ip_block_family);
	ATF_TP_ADD_TC(tp, named_port_egress_ip_block_except);
	ATF_TP_ADD_TC(tp, namespace_without_object);
	ATF_TP_ADD_TC(tp, rules_ored_peers_and_ports_anded);
	ATF_TP_ADD_TC(tp, mixed_ports_and_end_port);
	ATF_TP_ADD_TC(tp, ingress_ip_block_except_and_pod_peer);
	ATF_TP_ADD_TC(tp, egress_internet_only);
	ATF_TP_ADD_TC(tp, pods_relabelled);
	ATF_TP_ADD_TC(tp, namespaces_relabelled);
	/* decoding */
	ATF_TP_ADD_TC(tp, decode_accepts_what_the_api_server_accepts);
	ATF_TP_ADD_TC(tp, decode_ip_block_leading_zeros);
	ATF_TP_ADD_TC(tp, decode_rejects_what_the_api_server_rejects);
	return atf_no_error();
}
