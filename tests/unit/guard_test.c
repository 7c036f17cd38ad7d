/* The API server guard: its objects (Service, EndpointSlice), options,
 * the compiled program evaluated with explain (allowed, denied, audit,
 * before NetworkPolicy), revocation and conntrack matching. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <atf-c.h>

#include "conntrack.h"
#include "explain.h"
#include "guard.h"
#include "netpol.h"
#include "nft_text.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

/* The API server: ClusterIP 10.96.0.1 and fd00:96::1 port 443, endpoints
 * 192.168.1.10:6443 and [fd00:1::10]:6443. */
static const char api_server[] =
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\n"
	"spec: {clusterIP: 10.96.0.1, clusterIPs: [10.96.0.1, \"fd00:96::1\"],\n"
	"       ports: [{name: https, port: 443, targetPort: 6443}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: kubernetes, namespace: default,\n"
	"           labels: {kubernetes.io/service-name: kubernetes}}\n"
	"addressType: IPv4\nendpoints: [{addresses: [192.168.1.10]}]\n"
	"ports: [{name: https, port: 6443, protocol: TCP}]\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: kubernetes-6, namespace: default,\n"
	"           labels: {kubernetes.io/service-name: kubernetes}}\n"
	"addressType: IPv6\nendpoints: [{addresses: [\"fd00:1::10\"]}]\n"
	"ports: [{name: https, port: 6443}]\n";

/* On the model of testutil (x, y, z with pods a, b, c; a and b on
 * node1): the accounts of namespace x may read pods, so x's pods keep
 * access; y/b mounts no token; the rest have no bindings. */
static const char rbac[] =
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
	"metadata: {name: pod-reader}\n"
	"rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get, list, watch]}]\n"
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
	"metadata: {name: readers, namespace: x}\n"
	"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}\n"
	"subjects: [{kind: Group, name: \"system:serviceaccounts:x\"}]\n"
	"---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: \"y\"}\n"
	"automountServiceAccountToken: false\n";

static struct kn_store *
cluster(void)
{
	struct kn_store *s = kn_store_new();

	tu_model(s);
	tu_load(s, api_server);
	tu_load(s, rbac);
	return s;
}

static struct kn_program *
compile(struct kn_store *s, enum kn_guard_mode mode, struct kn_compile_stats *st)
{
	struct kn_compile_opts o = {.node = "node1", .guard = mode};

	return kn_compile(s, &o, st);
}

static void
addr(const char *s, struct kn_addr *ret)
{
	ATF_REQUIRE_EQ_MSG(0, kn_addr_parse(s, ret), "bad address %s", s);
}

/* A new TCP connection from pod ns/name (its address of the family of
 * dst) to dst:port, on the given hook of p. */
static bool
passes(const struct kn_program *p, const char *from, const char *dst, uint16_t port,
       enum kn_hook hook, struct strbuf *trace)
{
	char ns[8], pod[8];
	struct kn_packet pkt;

	memset(&pkt, 0, sizeof(pkt));
	ATF_REQUIRE_EQ(2, sscanf(from, "%7[^/]/%7s", ns, pod));
	addr(dst, &pkt.daddr);
	tu_pod_addr(ns, pod, pkt.daddr.family, &pkt.saddr);
	pkt.proto = 6;
	pkt.sport = 40000;
	pkt.dport = port;
	return kn_eval(p, &pkt, hook, trace) == KN_EVAL_ACCEPT;
}

/* ------------------------------------------------------------ objects */

static char *
decode_err(const char *yaml)
{
	struct kn_store *s = kn_store_new();
	char err[KN_ERR_MAX] = "";

	if (tu_load_lenient(s, yaml, err, sizeof(err)) == 0)
		snprintf(err, sizeof(err), "valid");
	kn_store_free(s);
	return xstrdup(err);
}

#define SVC(spec)                                                                                  \
	"apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: "                  \
	"default}\nspec: " spec
#define EPS(body)                                                                                  \
	"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: k, labels: "       \
	"{kubernetes.io/service-name: kubernetes}}\n" body

static const struct {
	const char *yaml;
	const char *err;
} object_errors[] = {
	{SVC("{clusterIP: 10.96.0.300}"),
	 "Service default/kubernetes: spec.clusterIP: invalid value: \"10.96.0.300\": must be a "
	 "valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"},
	{SVC("{clusterIP: 10.96.0.1, clusterIPs: [10.96.0.2]}"),
	 "Service default/kubernetes: spec.clusterIPs[0]: invalid value: \"10.96.0.2\": must match "
	 "`clusterIP` when both are specified"},
	{SVC("{clusterIPs: [10.96.0.1, 10.96.0.2]}"),
	 "Service default/kubernetes: spec.clusterIPs[1]: invalid value: \"10.96.0.2\": may "
	 "specify no more than one IP for each IP family"},
	{SVC("{clusterIPs: [a, b, c]}"),
	 "Service default/kubernetes: spec.clusterIPs: too many: 3: must have at most 2 items"},
	{SVC("{clusterIP: 10.96.0.1, ports: [{port: 0}]}"),
	 "Service default/kubernetes: spec.ports[0].port: invalid value: 0: must be between 1 and "
	 "65535, inclusive"},
	{SVC("{ports: [{name: a, port: 1}, {port: 2}]}"),
	 "Service default/kubernetes: spec.ports[1].name: required value"},
	{SVC("{ports: [{name: a, port: 1}, {name: a, port: 2}]}"),
	 "Service default/kubernetes: spec.ports[1].name: duplicate value: \"a\""},
	{SVC("{ports: [{port: 443, protocol: ICMP}]}"),
	 "Service default/kubernetes: spec.ports[0].protocol: unsupported value: \"ICMP\": "
	 "supported values: \"SCTP\", \"TCP\", \"UDP\""},
	{EPS("addressType: IPv5\n"),
	 "EndpointSlice default/k: addressType: unsupported value: \"IPv5\": supported values: "
	 "\"FQDN\", \"IPv4\", \"IPv6\""},
	{EPS("endpoints: []\n"), "EndpointSlice default/k: addressType: required value"},
	{EPS("addressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}]\n"),
	 "EndpointSlice default/k: endpoints[0].addresses[0]: invalid value: \"fd00::1\": must be "
	 "a "
	 "valid IPv4 address"},
	{EPS("addressType: IPv4\nendpoints: [{addresses: []}]\n"),
	 "EndpointSlice default/k: endpoints[0].addresses: required value: must contain at least 1 "
	 "address"},
	{EPS("addressType: IPv4\nports: [{port: 70000}]\n"),
	 "EndpointSlice default/k: ports[0].port: invalid value: 70000: must be between 1 and "
	 "65535, inclusive"},
	{EPS("addressType: IPv4\nports: [{port: 1}, {port: 2}]\n"),
	 "EndpointSlice default/k: ports[1].name: duplicate value: \"\""},
	{EPS("addressType: FQDN\nendpoints: [{addresses: [\"Not A Name\"]}]\n"),
	 "EndpointSlice default/k: endpoints[0].addresses[0]: invalid value: \"Not A Name\": a "
	 "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
	 "'.', and must start and end with an alphanumeric character"},
	/* Other Services and EndpointSlices are not the API server's: they
	 * are ignored, not validated. */
	{"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
	 "spec: {clusterIP: bad}\n",
	 "valid"},
	{"apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: other}\n"
	 "spec: {clusterIP: bad}\n",
	 "valid"},
	{"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: k}\n"
	 "addressType: bad\n",
	 "valid"},
};

ATF_TC_WITHOUT_HEAD(api_server_objects);
ATF_TC_BODY(api_server_objects, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_endpoint_slice *const *eps;
	struct kn_service *const *svcs;
	const struct kn_service *svc;
	char buf[64];

	tu_load(s, api_server);
	tu_load(s, "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n"
		   "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		   "metadata: {name: web, labels: {kubernetes.io/service-name: web}}\n"
		   "addressType: IPv4\n");
	ATF_REQUIRE_EQ(1, kn_store_services(s, &svcs));
	svc = kn_store_get_service(s, "default", "kubernetes");
	ATF_REQUIRE(svc == svcs[0]);
	ATF_REQUIRE_EQ(2, svc->ncluster_ips);
	ATF_CHECK_STREQ("10.96.0.1", kn_addr_fmt(&svc->cluster_ips[0], buf, sizeof(buf)));
	ATF_CHECK_STREQ("fd00:96::1", kn_addr_fmt(&svc->cluster_ips[1], buf, sizeof(buf)));
	ATF_REQUIRE_EQ(1, svc->nports);
	ATF_CHECK_EQ(443, svc->ports[0].port);
	ATF_CHECK_EQ(KN_PROTO_TCP, svc->ports[0].proto);
	ATF_REQUIRE_EQ(2, kn_store_endpoint_slices(s, &eps));
	ATF_CHECK_STREQ("kubernetes", eps[0]->name);
	ATF_CHECK_STREQ("kubernetes", eps[0]->service);
	ATF_CHECK_EQ(AF_INET, eps[0]->family);
	ATF_REQUIRE_EQ(1, eps[0]->naddrs);
	ATF_REQUIRE_EQ(1, eps[0]->nports);
	ATF_CHECK(eps[0]->ports[0].has_port);
	ATF_CHECK_EQ(6443, eps[0]->ports[0].port);
	ATF_CHECK_EQ(AF_INET6, eps[1]->family);
	kn_store_free(s);

	for (size_t i = 0; i < ARRAY_SIZE(object_errors); i++) {
		char *got = decode_err(object_errors[i].yaml);

		ATF_CHECK_MSG(strcmp(got, object_errors[i].err) == 0, "case %zu:\n got %s\nwant %s",
			      i, got, object_errors[i].err);
		free(got);
	}
}

ATF_TC_WITHOUT_HEAD(options);
ATF_TC_BODY(options, tc)
{
	static const struct {
		const char *s, *addr;
		int port; /* -1: invalid */
	} cases[] = {
		{"10.0.0.1", "10.0.0.1", 0},	   {"10.0.0.1:6443", "10.0.0.1", 6443},
		{"fd00::1", "fd00::1", 0},	   {"[fd00::1]", "fd00::1", 0},
		{"[fd00::1]:443", "fd00::1", 443}, {"10.0.0.1:0", NULL, -1},
		{"10.0.0.1:65536", NULL, -1},	   {"10.0.0.1:", NULL, -1},
		{"10.0.0.1:+4", NULL, -1},	   {"[fd00::1", NULL, -1},
		{"[fd00::1]x", NULL, -1},	   {"[10.0.0.1]:443", "10.0.0.1", 443},
		{"api.example.com:443", NULL, -1}, {"", NULL, -1},
		{"10.0.0.0/8", NULL, -1},
	};
	enum kn_guard_mode m;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kn_guard_addr a;
		int r = kn_guard_addr_parse(cases[i].s, &a);
		char buf[64];

		if (cases[i].port < 0) {
			ATF_CHECK_MSG(r < 0, "'%s' accepted", cases[i].s);
			continue;
		}
		ATF_CHECK_MSG(r == 0, "'%s' refused", cases[i].s);
		if (r == 0) {
			ATF_CHECK_STREQ(cases[i].addr, kn_addr_fmt(&a.addr, buf, sizeof(buf)));
			ATF_CHECK_EQ(cases[i].port, a.port);
		}
	}
	ATF_CHECK(kn_guard_mode_parse("enforce", &m) == 0 && m == KN_GUARD_ENFORCE);
	ATF_CHECK(kn_guard_mode_parse("audit", &m) == 0 && m == KN_GUARD_AUDIT);
	ATF_CHECK(kn_guard_mode_parse("off", &m) == 0 && m == KN_GUARD_OFF);
	ATF_CHECK(kn_guard_mode_parse("Enforce", &m) < 0);
	ATF_CHECK_STREQ("audit", kn_guard_mode_name(KN_GUARD_DEFAULT));
}

/* ------------------------------------------------------------ sets */

static const struct kn_elem *
elem(const struct kn_program *p, const char *set, size_t i)
{
	const struct kn_set *s = kn_program_find_set(p, set);

	ATF_REQUIRE_MSG(s != NULL, "no set %s", set);
	ATF_REQUIRE_MSG(i < s->nelems, "set %s has %zu elements", set, s->nelems);
	return &s->elems[i];
}

static size_t
nelems(const struct kn_program *p, const char *set)
{
	const struct kn_set *s = kn_program_find_set(p, set);

	ATF_REQUIRE_MSG(s != NULL, "no set %s", set);
	return s->nelems;
}

ATF_TC_WITHOUT_HEAD(server_sets);
ATF_TC_BODY(server_sets, tc)
{
	struct kn_store *s = cluster();
	struct kn_guard_addr extra[3];
	struct kn_compile_opts o = {.node = "node1", .guard_servers = extra, .nguard_servers = 3};
	struct kn_compile_stats st;
	struct kn_program *p;
	const struct kn_elem *e;
	char buf[64];

	/* An extra address without port covers the endpoint's port: the
	 * ranges merge (the kernel refuses overlaps). */
	ATF_REQUIRE_EQ(0, kn_guard_addr_parse("192.168.1.10", &extra[0]));
	ATF_REQUIRE_EQ(0, kn_guard_addr_parse("203.0.113.5:8443", &extra[1]));
	ATF_REQUIRE_EQ(0, kn_guard_addr_parse("[2001:db8::5]:443", &extra[2]));
	/* A slice port without number is every port; a slice without ports
	 * and an FQDN slice add nothing. */
	tu_load(s, "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		   "metadata: {name: k2, labels: {kubernetes.io/service-name: kubernetes}}\n"
		   "addressType: IPv4\nendpoints: [{addresses: [192.168.1.11, 192.168.1.12]}]\n"
		   "ports: [{name: a, protocol: TCP}]\n"
		   "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		   "metadata: {name: k3, labels: {kubernetes.io/service-name: kubernetes}}\n"
		   "addressType: IPv4\nendpoints: [{addresses: [192.168.1.13]}]\n"
		   "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		   "metadata: {name: k4, labels: {kubernetes.io/service-name: kubernetes}}\n"
		   "addressType: FQDN\nendpoints: [{addresses: [api.example.com]}]\n"
		   "ports: [{port: 443}]\n");
	p = kn_compile(s, &o, &st);
	ATF_REQUIRE_EQ(5, nelems(p, KN_GUARD_SERVERS_V4));
	e = elem(p, KN_GUARD_SERVERS_V4, 0);
	ATF_CHECK_STREQ("10.96.0.1", kn_addr_fmt(&e->addr, buf, sizeof(buf)));
	ATF_CHECK(e->proto == 6 && e->port == 443 && e->port_end == 443);
	ATF_CHECK_STREQ("Service default/kubernetes", e->comment);
	e = elem(p, KN_GUARD_SERVERS_V4, 1);
	ATF_CHECK_STREQ("192.168.1.10", kn_addr_fmt(&e->addr, buf, sizeof(buf)));
	ATF_CHECK(e->port == 0 && e->port_end == 65535);
	e = elem(p, KN_GUARD_SERVERS_V4, 2);
	ATF_CHECK_STREQ("192.168.1.11", kn_addr_fmt(&e->addr, buf, sizeof(buf)));
	ATF_CHECK(e->port == 0 && e->port_end == 65535);
	ATF_CHECK_STREQ("EndpointSlice default/kubernetes", e->comment);
	e = elem(p, KN_GUARD_SERVERS_V4, 4);
	ATF_CHECK_STREQ("203.0.113.5", kn_addr_fmt(&e->addr, buf, sizeof(buf)));
	ATF_CHECK(e->port == 8443 && e->port_end == 8443);
	ATF_CHECK_STREQ("--api-server", e->comment);
	ATF_REQUIRE_EQ(3, nelems(p, KN_GUARD_SERVERS_V6));
	ATF_CHECK_EQ(8, st.api_servers);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(denied_set);
ATF_TC_BODY(denied_set, tc)
{
	struct kn_store *s = cluster();
	struct kn_compile_stats st;
	struct kn_program *p;
	const struct kn_elem *e;
	char buf[64];

	/* node1 runs x/a x/b y/a y/b z/a z/b; x keeps access. */
	p = compile(s, KN_GUARD_ENFORCE, &st);
	ATF_CHECK_EQ(2, st.api_allowed);
	ATF_CHECK_EQ(4, st.api_denied);
	ATF_REQUIRE_EQ(4, nelems(p, KN_GUARD_DENIED_V4));
	ATF_REQUIRE_EQ(4, nelems(p, KN_GUARD_DENIED_V6));
	e = elem(p, KN_GUARD_DENIED_V4, 0);
	ATF_CHECK_STREQ("10.0.2.1", kn_addr_fmt(&e->addr, buf, sizeof(buf)));
	ATF_CHECK_STREQ("y/a: token not mounted (ServiceAccount y/default sets "
			"automountServiceAccountToken: false)",
			e->comment);
	e = elem(p, KN_GUARD_DENIED_V4, 2);
	ATF_CHECK_STREQ("z/a: account has no bindings", e->comment);
	kn_program_free(p);

	/* hostNetwork and finished pods are never in the set. */
	tu_load(s, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: h, namespace: z}\n"
		   "spec: {nodeName: node1, hostNetwork: true}\n"
		   "status: {phase: Running, podIP: 192.168.100.1}\n"
		   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: f, namespace: z}\n"
		   "spec: {nodeName: node1}\nstatus: {phase: Succeeded, podIP: 10.0.3.9}\n"
		   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: \"n\", namespace: z}\n"
		   "spec: {nodeName: node1}\n");
	p = compile(s, KN_GUARD_AUDIT, &st);
	ATF_CHECK_EQ(4, st.api_denied);
	ATF_CHECK_EQ(4, nelems(p, KN_GUARD_DENIED_V4));
	kn_program_free(p);

	/* Without a node, every pod of the cluster. */
	{
		struct kn_compile_opts o = {.guard = KN_GUARD_ENFORCE};

		p = kn_compile(s, &o, &st);
		ATF_CHECK_EQ(6, st.api_denied);
		ATF_CHECK_EQ(3, st.api_allowed);
		kn_program_free(p);
	}
	kn_store_free(s);
}

/* ------------------------------------------------------------ evaluation */

ATF_TC_WITHOUT_HEAD(enforce);
ATF_TC_BODY(enforce, tc)
{
	struct kn_store *s = cluster();
	struct kn_program *p = compile(s, KN_GUARD_ENFORCE, NULL);
	struct kn_packet pkt;

	/* Denied pods reach neither the ClusterIP (no DNAT on this path)
	 * nor the endpoint (after DNAT), over IPv4 or IPv6. */
	ATF_CHECK(!passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(!passes(p, "z/a", "192.168.1.10", 6443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(!passes(p, "z/a", "fd00:96::1", 443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(!passes(p, "z/a", "fd00:1::10", 6443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(!passes(p, "y/b", "192.168.1.10", 6443, KN_HOOK_FORWARD, NULL));
	/* An API server on this node: the input hook. */
	ATF_CHECK(!passes(p, "z/a", "192.168.1.10", 6443, KN_HOOK_INPUT, NULL));
	/* Other ports of the API server's host, other hosts: untouched. */
	ATF_CHECK(passes(p, "z/a", "192.168.1.10", 22, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(passes(p, "z/a", "10.96.0.1", 6443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(passes(p, "z/a", "10.0.1.1", 443, KN_HOOK_FORWARD, NULL));
	/* Pods with permissions keep access. */
	ATF_CHECK(passes(p, "x/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(passes(p, "x/b", "192.168.1.10", 6443, KN_HOOK_INPUT, NULL));
	ATF_CHECK(passes(p, "x/a", "fd00:1::10", 6443, KN_HOOK_FORWARD, NULL));
	/* Pods of other nodes are that node's business. */
	ATF_CHECK(passes(p, "z/c", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));

	/* Established connections too, and the server's replies. */
	memset(&pkt, 0, sizeof(pkt));
	tu_pod_addr("z", "a", AF_INET, &pkt.saddr);
	addr("192.168.1.10", &pkt.daddr);
	pkt.proto = 6;
	pkt.sport = 40000;
	pkt.dport = 6443;
	pkt.established = true;
	ATF_CHECK_EQ(KN_EVAL_DROP, kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL));
	memset(&pkt, 0, sizeof(pkt));
	addr("192.168.1.10", &pkt.saddr);
	tu_pod_addr("z", "a", AF_INET, &pkt.daddr);
	pkt.proto = 6;
	pkt.sport = 6443;
	pkt.dport = 40000;
	pkt.established = true;
	ATF_CHECK_EQ(KN_EVAL_DROP, kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL));
	tu_pod_addr("x", "a", AF_INET, &pkt.daddr);
	ATF_CHECK_EQ(KN_EVAL_ACCEPT, kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL));
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(before_networkpolicy);
ATF_TC_BODY(before_networkpolicy, tc)
{
	struct kn_store *s = cluster();
	struct kn_program *p;
	struct strbuf tr;

	/* A policy that allows z's pods every egress does not open the API
	 * server to them. */
	tu_load(s, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: allow-all, namespace: z}\n"
		   "spec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}\n"
		   "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		   "metadata: {name: deny-all, namespace: x}\n"
		   "spec: {podSelector: {}, policyTypes: [Egress]}\n");
	p = compile(s, KN_GUARD_ENFORCE, NULL);
	strbuf_init(&tr, 0);
	ATF_CHECK(!passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, &tr));
	ATF_CHECK_MSG(strstr(strbuf_str(&tr), "api-guard-forward (base chain)") == strbuf_str(&tr),
		      "the guard runs first:\n%s", strbuf_str(&tr));
	ATF_CHECK(strstr(strbuf_str(&tr), "pods without API permissions to the API server): drop"));
	ATF_CHECK(strstr(strbuf_str(&tr), "forward-egress") == NULL);
	/* The guard never accepts: a policy still denies pods that have
	 * API permissions. */
	ATF_CHECK(!passes(p, "x/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(passes(p, "z/a", "10.0.1.1", 80, KN_HOOK_FORWARD, NULL));
	strbuf_free(&tr);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(audit);
ATF_TC_BODY(audit, tc)
{
	struct kn_store *s = cluster();
	struct kn_program *p = compile(s, KN_GUARD_DEFAULT, NULL);
	struct strbuf tr, text;

	/* Audit drops nothing, counts and logs what enforce would drop. */
	strbuf_init(&tr, 0);
	ATF_CHECK(passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, &tr));
	ATF_CHECK_MSG(strstr(strbuf_str(&tr), "log, continue") != NULL, "%s", strbuf_str(&tr));
	ATF_CHECK(strstr(strbuf_str(&tr), "counted, continue") != NULL);
	strbuf_reset(&tr);
	ATF_CHECK(passes(p, "x/a", "10.96.0.1", 443, KN_HOOK_FORWARD, &tr));
	ATF_CHECK(strstr(strbuf_str(&tr), "log") == NULL);
	strbuf_init(&text, 0);
	kn_text_render_table(p, &text);
	ATF_CHECK(strstr(strbuf_str(&text), "limit rate 10/minute log prefix \"kube-nftd api-guard "
					    "audit: \" group 0") != NULL);
	ATF_CHECK(strstr(strbuf_str(&text), "type filter hook forward priority filter - 1;") !=
		  NULL);
	ATF_CHECK(strstr(strbuf_str(&text), "type filter hook input priority filter - 1;") != NULL);
	ATF_CHECK(strstr(strbuf_str(&text), "counter drop") == NULL);
	ATF_CHECK_EQ(KN_GUARD_AUDIT, kn_guard_program_mode(p));
	strbuf_free(&text);
	strbuf_free(&tr);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(off);
ATF_TC_BODY(off, tc)
{
	struct kn_store *s = cluster();
	struct kn_program *p = compile(s, KN_GUARD_OFF, NULL);

	ATF_CHECK(kn_program_find_chain(p, KN_GUARD_CHAIN) == NULL);
	ATF_CHECK(kn_program_find_set(p, KN_GUARD_DENIED_V4) == NULL);
	for (size_t i = 0; i < p->nchains; i++)
		ATF_CHECK(strncmp(p->chains[i]->name, "api-", 4) != 0);
	for (size_t i = 0; i < p->nsets; i++)
		ATF_CHECK(strncmp(p->sets[i]->name, "api-", 4) != 0);
	ATF_CHECK_EQ(KN_GUARD_OFF, kn_guard_program_mode(p));
	ATF_CHECK(passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(grant_and_revoke);
ATF_TC_BODY(grant_and_revoke, tc)
{
	/* RBAC changes flip access at the next compile. */
	struct kn_store *s = cluster();
	struct kn_program *p;

	p = compile(s, KN_GUARD_ENFORCE, NULL);
	ATF_CHECK(!passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	kn_program_free(p);
	tu_load(s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
		   "metadata: {name: readers, namespace: z}\n"
		   "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
		   "pod-reader}\n"
		   "subjects: [{kind: ServiceAccount, name: default}]\n");
	p = compile(s, KN_GUARD_ENFORCE, NULL);
	ATF_CHECK(passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	kn_program_free(p);
	ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_CLUSTER_ROLE, NULL, "pod-reader"));
	p = compile(s, KN_GUARD_ENFORCE, NULL);
	ATF_CHECK(!passes(p, "z/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	ATF_CHECK(!passes(p, "x/a", "10.96.0.1", 443, KN_HOOK_FORWARD, NULL));
	kn_program_free(p);
	kn_store_free(s);
}

/* ------------------------------------------------------------ revocation */

ATF_TC_WITHOUT_HEAD(revocation);
ATF_TC_BODY(revocation, tc)
{
	struct kn_store *s = cluster();
	struct kn_program *audit = compile(s, KN_GUARD_AUDIT, NULL);
	struct kn_program *before = compile(s, KN_GUARD_ENFORCE, NULL), *after;
	struct kn_guard_revocation rv;
	char buf[64];

	/* Audit revokes nothing. */
	ATF_CHECK_EQ(0, kn_guard_revoked(NULL, audit, &rv));
	kn_guard_revocation_free(&rv);
	/* A first enforcing program revokes every denied pod (4 pods, two
	 * addresses each), towards every API server destination. */
	ATF_CHECK_EQ(8, kn_guard_revoked(NULL, before, &rv));
	ATF_CHECK_EQ(4, rv.ndsts);
	kn_guard_revocation_free(&rv);
	ATF_CHECK_EQ(8, kn_guard_revoked(audit, before, &rv));
	kn_guard_revocation_free(&rv);
	/* Unchanged: nothing. */
	ATF_CHECK_EQ(0, kn_guard_revoked(before, before, &rv));
	kn_guard_revocation_free(&rv);
	/* x loses its binding: x's two local pods lose access. */
	ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_ROLE_BINDING, "x", "readers"));
	after = compile(s, KN_GUARD_ENFORCE, NULL);
	ATF_REQUIRE_EQ(4, kn_guard_revoked(before, after, &rv));
	ATF_CHECK_STREQ("10.0.1.1", kn_addr_fmt(&rv.srcs[0], buf, sizeof(buf)));
	ATF_CHECK_STREQ("10.0.1.2", kn_addr_fmt(&rv.srcs[1], buf, sizeof(buf)));
	ATF_CHECK_STREQ("fd00::1:1", kn_addr_fmt(&rv.srcs[2], buf, sizeof(buf)));
	kn_guard_revocation_free(&rv);
	/* Back to audit: nothing to cut. */
	ATF_CHECK_EQ(0, kn_guard_revoked(after, audit, &rv));
	kn_guard_revocation_free(&rv);
	kn_program_free(after);
	kn_program_free(before);
	kn_program_free(audit);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(conntrack_match);
ATF_TC_BODY(conntrack_match, tc)
{
	struct kn_addr srcs[1];
	struct kn_guard_dest dsts[2] = {
		{.proto = 6, .port = 443, .port_end = 443},
		{.proto = 6, .port = 6443, .port_end = 6443},
	};
	struct kn_guard_revocation rv = {srcs, 1, dsts, 2};
	struct kn_ct_flow f;

	addr("10.0.3.1", &srcs[0]);
	addr("10.96.0.1", &dsts[0].addr);
	addr("192.168.1.10", &dsts[1].addr);
	memset(&f, 0, sizeof(f));
	f.proto = 6;
	addr("10.0.3.1", &f.src);
	f.sport = 40000;
	/* To the ClusterIP, DNATed to the endpoint. */
	addr("10.96.0.1", &f.dst);
	f.dport = 443;
	addr("192.168.1.10", &f.reply_src);
	f.reply_sport = 6443;
	ATF_CHECK(kn_ct_flow_revoked(&rv, &f));
	/* Straight to the endpoint. */
	addr("192.168.1.10", &f.dst);
	f.dport = 6443;
	ATF_CHECK(kn_ct_flow_revoked(&rv, &f));
	/* To a ClusterIP that kube-proxy sends to the API server's address
	 * (the reply's source tells). */
	addr("10.96.0.99", &f.dst);
	f.dport = 8443;
	ATF_CHECK(kn_ct_flow_revoked(&rv, &f));
	/* Another port, another protocol, another client. */
	memset(&f.reply_src, 0, sizeof(f.reply_src));
	addr("192.168.1.10", &f.dst);
	f.dport = 22;
	ATF_CHECK(!kn_ct_flow_revoked(&rv, &f));
	f.dport = 6443;
	f.proto = 17;
	ATF_CHECK(!kn_ct_flow_revoked(&rv, &f));
	f.proto = 6;
	addr("10.0.3.2", &f.src);
	ATF_CHECK(!kn_ct_flow_revoked(&rv, &f));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, api_server_objects);
	ATF_TP_ADD_TC(tp, options);
	ATF_TP_ADD_TC(tp, server_sets);
	ATF_TP_ADD_TC(tp, denied_set);
	ATF_TP_ADD_TC(tp, enforce);
	ATF_TP_ADD_TC(tp, before_networkpolicy);
	ATF_TP_ADD_TC(tp, audit);
	ATF_TP_ADD_TC(tp, off);
	ATF_TP_ADD_TC(tp, grant_and_revoke);
	ATF_TP_ADD_TC(tp, revocation);
	ATF_TP_ADD_TC(tp, conntrack_match);
	return atf_no_error();
}
