/* The incremental compiler against the full one: long random sequences
 * of cluster changes (pods added, deleted, relabelled, moved between
 * nodes, given other addresses, addresses handed to pods of other
 * namespaces; namespaces relabelled and deleted; policies added, edited
 * and deleted; RBAC objects, the API server's Service and EndpointSlices).
 * After every step the incremental program must equal kn_compile of the
 * same store (kn_program_equal, the same nft text, the same counts), and
 * the plan of its delta, played against a model of the kernel loaded
 * with the previous program, must leave exactly the new one. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "guard.h"
#include "netpol.h"
#include "nft_text.h"
#include "plan.h"
#include "planmodel.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

/* ---------------------------------------------------------------- random */

struct rng {
	uint64_t s;
};

static uint64_t
rnd(struct rng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

/* 0 .. n-1 */
static int
pick(struct rng *r, int n)
{
	return (int)(rnd(r) % (uint64_t)n);
}

static bool
chance(struct rng *r, int percent)
{
	return pick(r, 100) < percent;
}

/* ---------------------------------------------------------------- objects */

/* The universe is small on purpose, so that keys, labels and addresses
 * collide often: 5 namespaces, 8 pod names and 4 policy names in each,
 * 24 addresses per family for about 30 pods. */
#define NNS   5
#define NPODS 8
#define NPOLS 4
#define NIPS  24

static const char *const app[] = {"a", "b", "c"};

static void
labels(struct rng *r, struct strbuf *sb, const char *k1, const char *const *v1, int n1,
       const char *k2, const char *const *v2, int n2)
{
	bool first = true;

	strbuf_puts(sb, "\"labels\":{");
	if (chance(r, 80)) {
		strbuf_printf(sb, "\"%s\":\"%s\"", k1, v1[pick(r, n1)]);
		first = false;
	}
	if (chance(r, 50))
		strbuf_printf(sb, "%s\"%s\":\"%s\"", first ? "" : ",", k2, v2[pick(r, n2)]);
	strbuf_puts(sb, "}");
}

static void
gen_namespace(struct rng *r, struct strbuf *sb, int ns)
{
	static const char *const team[] = {"a", "b"}, *const env[] = {"p", "q"};

	strbuf_printf(sb,
		      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{"
		      "\"name\":\"n%d\",",
		      ns);
	labels(r, sb, "team", team, 2, "env", env, 2);
	strbuf_puts(sb, "}}");
}

static void
gen_pod(struct rng *r, struct strbuf *sb, int ns, int pod)
{
	static const char *const tier[] = {"x", "y"};
	static const char *const pname[] = {"http", "dns", "metrics"};
	static const int pnum[] = {80, 53, 8080, 9090};
	int nips = pick(r, 10), ip = pick(r, NIPS) + 1, nports = pick(r, 4), port0 = pick(r, 3);

	strbuf_printf(sb,
		      "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p%d\","
		      "\"namespace\":\"n%d\",",
		      pod, ns);
	labels(r, sb, "app", app, 3, "tier", tier, 2);
	strbuf_printf(sb, "},\"spec\":{\"nodeName\":\"node%d\"", chance(r, 55) ? 1 : 2);
	if (chance(r, 5))
		strbuf_puts(sb, ",\"hostNetwork\":true");
	if (chance(r, 50))
		strbuf_printf(sb, ",\"serviceAccountName\":\"%s\"",
			      chance(r, 50) ? "sa1" : "default");
	if (chance(r, 30))
		strbuf_printf(sb, ",\"automountServiceAccountToken\":%s",
			      chance(r, 50) ? "true" : "false");
	if (chance(r, 20))
		strbuf_puts(sb, ",\"volumes\":[{\"name\":\"t\",\"projected\":{\"sources\":["
				"{\"serviceAccountToken\":{\"path\":\"token\"}}]}}]");
	strbuf_puts(sb, ",\"containers\":[{\"name\":\"c\",\"ports\":[");
	for (int i = 0; i < nports; i++) {
		/* Names are unique in a pod; numbers and protocols are not. */
		int n = (port0 + i) % 3;

		strbuf_printf(sb, "%s{\"containerPort\":%d,\"protocol\":\"%s\"", i ? "," : "",
			      pnum[pick(r, 4)], chance(r, 70) ? "TCP" : "UDP");
		if (chance(r, 85))
			strbuf_printf(sb, ",\"name\":\"%s\"", pname[n]);
		strbuf_puts(sb, "}");
	}
	strbuf_printf(sb, "]}]},\"status\":{\"phase\":\"%s\",\"podIPs\":[",
		      chance(r, 10) ? "Succeeded" : "Running");
	/* 0-1: none (pending), 2-4: IPv4, 5-6: IPv6, 7-9: both. */
	if (nips >= 2 && nips <= 4)
		strbuf_printf(sb, "{\"ip\":\"10.0.0.%d\"}", ip);
	else if (nips >= 5 && nips <= 6)
		strbuf_printf(sb, "{\"ip\":\"fd00::%x\"}", ip);
	else if (nips >= 7)
		strbuf_printf(sb, "{\"ip\":\"10.0.0.%d\"},{\"ip\":\"fd00::%x\"}", ip,
			      chance(r, 80) ? ip : pick(r, NIPS) + 1);
	strbuf_puts(sb, "]}}");
}

static void
pod_selector(struct rng *r, struct strbuf *sb)
{
	switch (pick(r, 5)) {
	case 0:
		strbuf_puts(sb, "{}");
		break;
	case 1:
	case 2:
		strbuf_printf(sb, "{\"matchLabels\":{\"app\":\"%s\"}}", app[pick(r, 3)]);
		break;
	case 3:
		strbuf_printf(sb,
			      "{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\","
			      "\"values\":[\"%s\"]}]}",
			      chance(r, 50) ? "x" : "y");
		break;
	default:
		strbuf_puts(sb, "{\"matchExpressions\":[{\"key\":\"app\",\"operator\":"
				"\"DoesNotExist\"}]}");
		break;
	}
}

static void
ns_selector(struct rng *r, struct strbuf *sb)
{
	switch (pick(r, 4)) {
	case 0:
		strbuf_puts(sb, "{}");
		break;
	case 1:
		strbuf_printf(sb, "{\"matchLabels\":{\"team\":\"%s\"}}", chance(r, 50) ? "a" : "b");
		break;
	case 2:
		strbuf_puts(sb,
			    "{\"matchExpressions\":[{\"key\":\"env\",\"operator\":\"Exists\"}]}");
		break;
	default:
		strbuf_printf(sb, "{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"n%d\"}}",
			      pick(r, NNS));
		break;
	}
}

static void
peer(struct rng *r, struct strbuf *sb)
{
	static const char *const blocks[] = {
		"{\"cidr\":\"10.0.0.0/28\",\"except\":[\"10.0.0.4/30\"]}",
		"{\"cidr\":\"10.0.0.16/29\"}",
		"{\"cidr\":\"fd00::/124\",\"except\":[\"fd00::8/126\"]}",
		"{\"cidr\":\"10.0.0.7/32\"}",
	};

	switch (pick(r, 5)) {
	case 0:
		strbuf_puts(sb, "{\"podSelector\":");
		pod_selector(r, sb);
		break;
	case 1:
		strbuf_puts(sb, "{\"namespaceSelector\":");
		ns_selector(r, sb);
		break;
	case 2:
	case 3:
		strbuf_puts(sb, "{\"namespaceSelector\":");
		ns_selector(r, sb);
		strbuf_puts(sb, ",\"podSelector\":");
		pod_selector(r, sb);
		break;
	default:
		strbuf_printf(sb, "{\"ipBlock\":%s", blocks[pick(r, 4)]);
		break;
	}
	strbuf_puts(sb, "}");
}

static void
gen_rule(struct rng *r, struct strbuf *sb, const char *peers_key)
{
	static const char *const ports[] = {
		"{\"port\":80}",	   "{\"port\":53,\"protocol\":\"UDP\"}",
		"{\"port\":\"http\"}",	   "{\"port\":\"dns\",\"protocol\":\"UDP\"}",
		"{\"port\":\"metrics\"}",  "{\"port\":8000,\"endPort\":8100}",
		"{\"protocol\":\"SCTP\"}",
	};
	int npeers = pick(r, 4), nports = pick(r, 3);
	bool comma = false;

	strbuf_puts(sb, "{");
	if (npeers) {
		strbuf_printf(sb, "\"%s\":[", peers_key);
		for (int i = 0; i < npeers - 1 + (npeers == 1); i++) {
			if (i)
				strbuf_puts(sb, ",");
			peer(r, sb);
		}
		strbuf_puts(sb, "]");
		comma = true;
	}
	if (nports) {
		strbuf_printf(sb, "%s\"ports\":[", comma ? "," : "");
		for (int i = 0; i < nports; i++)
			strbuf_printf(sb, "%s%s", i ? "," : "", ports[pick(r, 7)]);
		strbuf_puts(sb, "]");
	}
	strbuf_puts(sb, "}");
}

static void
gen_policy(struct rng *r, struct strbuf *sb, int ns, int pol)
{
	int types = pick(r, 4), nin = pick(r, 3), neg = pick(r, 3);

	strbuf_printf(sb,
		      "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
		      "\"metadata\":{\"name\":\"np%d\",\"namespace\":\"n%d\"},\"spec\":{"
		      "\"podSelector\":",
		      pol, ns);
	pod_selector(r, sb);
	if (types == 1)
		strbuf_puts(sb, ",\"policyTypes\":[\"Ingress\"]");
	else if (types == 2)
		strbuf_puts(sb, ",\"policyTypes\":[\"Egress\"]");
	else if (types == 3)
		strbuf_puts(sb, ",\"policyTypes\":[\"Ingress\",\"Egress\"]");
	if (nin) {
		strbuf_puts(sb, ",\"ingress\":[");
		for (int i = 0; i < nin; i++) {
			if (i)
				strbuf_puts(sb, ",");
			gen_rule(r, sb, "from");
		}
		strbuf_puts(sb, "]");
	}
	if (neg) {
		strbuf_puts(sb, ",\"egress\":[");
		for (int i = 0; i < neg; i++) {
			if (i)
				strbuf_puts(sb, ",");
			gen_rule(r, sb, "to");
		}
		strbuf_puts(sb, "]");
	}
	strbuf_puts(sb, "}}");
}

/* The guard's kinds: which object, by number, and its key. */
enum gkind {
	G_SA,
	G_ROLE,
	G_CROLE,
	G_RB,
	G_CRB,
	G_SVC,
	G_EPS,
	G_MAX,
};

static void
gen_guard(struct rng *r, struct strbuf *sb, enum gkind k, int i)
{
	static const char *const rules[] = {
		"[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]}]",
		"[{\"apiGroups\":[\"\"],\"resources\":[\"nodes\"],\"verbs\":[\"get\"]}]",
		"[]",
	};
	static const char *const croles[] = {"reader", "nodes", "agg", "system:discovery"};
	const char *rbac = "\"apiVersion\":\"rbac.authorization.k8s.io/v1\"";

	switch (k) {
	case G_SA:
		strbuf_printf(sb,
			      "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{"
			      "\"name\":\"%s\",\"namespace\":\"n%d\"}%s}",
			      i % 2 ? "sa1" : "default", i / 2 % NNS,
			      chance(r, 50) ? ",\"automountServiceAccountToken\":false" : "");
		break;
	case G_ROLE:
		strbuf_printf(sb,
			      "{%s,\"kind\":\"Role\",\"metadata\":{\"name\":\"r\","
			      "\"namespace\":\"n%d\"},\"rules\":%s}",
			      rbac, i % NNS, rules[pick(r, 3)]);
		break;
	case G_CROLE:
		if (i % 4 == 2) {
			strbuf_printf(
				sb,
				"{%s,\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"agg\"},"
				"\"aggregationRule\":{\"clusterRoleSelectors\":[{"
				"\"matchLabels\":{\"agg\":\"yes\"}}]}}",
				rbac);
			break;
		}
		strbuf_printf(sb,
			      "{%s,\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"%s\","
			      "\"labels\":{\"agg\":\"%s\"}},\"rules\":%s}",
			      rbac, croles[i % 4], chance(r, 50) ? "yes" : "no", rules[pick(r, 3)]);
		break;
	case G_RB:
		strbuf_printf(sb,
			      "{%s,\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"b\","
			      "\"namespace\":\"n%d\"},\"roleRef\":{\"apiGroup\":"
			      "\"rbac.authorization.k8s.io\",\"kind\":\"%s\",\"name\":\"%s\"},"
			      "\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"%s\"}]}",
			      rbac, i % NNS, chance(r, 50) ? "Role" : "ClusterRole",
			      chance(r, 50) ? "r" : croles[pick(r, 4)],
			      chance(r, 50) ? "default" : "sa1");
		break;
	case G_CRB:
		strbuf_printf(
			sb,
			"{%s,\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"cb%d\"},"
			"\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"
			"\"ClusterRole\",\"name\":\"%s\"},\"subjects\":[{\"kind\":\"Group\","
			"\"name\":\"system:serviceaccounts:n%d\"}]}",
			rbac, i % 2, croles[pick(r, 4)], pick(r, NNS));
		break;
	case G_SVC:
		strbuf_printf(sb,
			      "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
			      "\"kubernetes\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":"
			      "\"10.96.0.%d\",\"ports\":[{\"port\":443}]}}",
			      pick(r, 2) + 1);
		break;
	case G_EPS:
		strbuf_printf(sb,
			      "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
			      "\"metadata\":{\"name\":\"kubernetes-%d\",\"namespace\":\"default\","
			      "\"labels\":{\"kubernetes.io/service-name\":\"kubernetes\"}},"
			      "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":"
			      "[\"192.168.1.%d\"]}],\"ports\":[{\"port\":%d}]}",
			      i % 2, pick(r, 3) + 1, chance(r, 50) ? 6443 : 443);
		break;
	case G_MAX:
		break;
	}
}

static void
guard_key(enum gkind k, int i, enum kn_kind *kind, char *ns, char *name)
{
	static const char *const croles[] = {"reader", "nodes", "agg", "system:discovery"};

	ns[0] = '\0';
	switch (k) {
	case G_SA:
		*kind = KN_KIND_SERVICE_ACCOUNT;
		sprintf(ns, "n%d", i / 2 % NNS);
		strcpy(name, i % 2 ? "sa1" : "default");
		break;
	case G_ROLE:
		*kind = KN_KIND_ROLE;
		sprintf(ns, "n%d", i % NNS);
		strcpy(name, "r");
		break;
	case G_CROLE:
		*kind = KN_KIND_CLUSTER_ROLE;
		strcpy(name, croles[i % 4]);
		break;
	case G_RB:
		*kind = KN_KIND_ROLE_BINDING;
		sprintf(ns, "n%d", i % NNS);
		strcpy(name, "b");
		break;
	case G_CRB:
		*kind = KN_KIND_CLUSTER_ROLE_BINDING;
		sprintf(name, "cb%d", i % 2);
		break;
	case G_SVC:
		*kind = KN_KIND_SERVICE;
		strcpy(ns, "default");
		strcpy(name, "kubernetes");
		break;
	default:
		*kind = KN_KIND_ENDPOINT_SLICE;
		strcpy(ns, "default");
		sprintf(name, "kubernetes-%d", i % 2);
		break;
	}
}

/* One random change to the store. */
static void
change(struct rng *r, struct kn_store *s, bool guard)
{
	struct strbuf sb;
	char ns[32], name[64];
	enum kn_kind kind;
	int w = pick(r, 100), n = pick(r, NNS);

	strbuf_init(&sb, 0);
	snprintf(ns, sizeof(ns), "n%d", n);
	if (w < 40) {
		gen_pod(r, &sb, n, pick(r, NPODS));
	} else if (w < 52) {
		snprintf(name, sizeof(name), "p%d", pick(r, NPODS));
		kn_store_delete(s, KN_KIND_POD, ns, name);
	} else if (w < 58) {
		gen_namespace(r, &sb, n);
	} else if (w < 61) {
		kn_store_delete(s, KN_KIND_NAMESPACE, NULL, ns);
	} else if (w < 76) {
		gen_policy(r, &sb, n, pick(r, NPOLS));
	} else if (w < 82) {
		snprintf(name, sizeof(name), "np%d", pick(r, NPOLS));
		kn_store_delete(s, KN_KIND_NETPOL, ns, name);
	} else if (guard && w < 95) {
		gen_guard(r, &sb, (enum gkind)pick(r, G_MAX), pick(r, 10));
	} else if (guard) {
		guard_key((enum gkind)pick(r, G_MAX), pick(r, 10), &kind, ns, name);
		kn_store_delete(s, kind, ns[0] ? ns : NULL, name);
	} else {
		gen_pod(r, &sb, n, pick(r, NPODS));
	}
	if (sb.len)
		tu_load(s, strbuf_str(&sb));
	strbuf_free(&sb);
}

/* ---------------------------------------------------------------- checks */

/* The first line where two texts differ, for the failure message. */
static void
first_diff(const char *a, const char *b, char *buf, size_t len)
{
	size_t line = 1, i = 0, start = 0;

	while (a[i] && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	snprintf(buf, len, "line %zu: full \"%.100s\" / incremental \"%.100s\"", line, a + start,
		 b + start);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = '|';
}

/* The sizes of got's sets (program.h) depend on its history: a set
 * keeps its size while its elements fit, where a whole compile sizes it
 * for what it holds now.  Each must hold its elements; want takes them
 * over, and the kernel model (m_check) proves that they are the sizes
 * the kernel's sets were made with. */
static void
adopt_sizes(struct kn_program *want, const struct kn_program *got, const char *where)
{
	for (size_t i = 0; i < got->nsets; i++) {
		const struct kn_set *g = got->sets[i];

		if (g->interval)
			ATF_CHECK_EQ_MSG(g->size, 0, "%s: interval set %s has size %u", where,
					 g->name, (unsigned)g->size);
		else
			ATF_CHECK_MSG(g->size >= KN_SET_SIZE_MIN && g->size >= g->nelems &&
					      (g->size & (g->size - 1)) == 0,
				      "%s: set %s of %zu elements has size %u", where, g->name,
				      g->nelems, (unsigned)g->size);
		if (i < want->nsets && strcmp(want->sets[i]->name, g->name) == 0)
			want->sets[i]->size = g->size;
	}
}

static void
check_equal(struct kn_program *want, const struct kn_program *got,
	    const struct kn_compile_stats *wst, const struct kn_compile_stats *gst,
	    const char *where)
{
	struct strbuf a, b;
	char diff[512];

	adopt_sizes(want, got, where);
	strbuf_init(&a, 0);
	strbuf_init(&b, 0);
	kn_text_render(want, &a);
	kn_text_render(got, &b);
	if (strcmp(strbuf_str(&a), strbuf_str(&b)) != 0) {
		first_diff(strbuf_str(&a), strbuf_str(&b), diff, sizeof(diff));
		atf_tc_fail("%s: the programs differ at %s", where, diff);
	}
	if (!kn_program_equal(want, got))
		atf_tc_fail("%s: same text, yet kn_program_equal says they differ", where);
	if (memcmp(wst, gst, sizeof(*wst)) != 0)
		atf_tc_fail("%s: the counts differ (policies %zu/%zu, elements %zu/%zu, "
			    "isolated %zu/%zu, api denied %zu/%zu)",
			    where, wst->policies, gst->policies, wst->elements, gst->elements,
			    wst->isolated_ingress, gst->isolated_ingress, wst->api_denied,
			    gst->api_denied);
	strbuf_free(&a);
	strbuf_free(&b);
}

static int
addr_cmp_void(const void *a, const void *b)
{
	return kn_addr_cmp(a, b);
}

/* The pods that lose API access: the same from the delta as from the
 * two programs. */
static void
check_revoked(const struct kn_program *old, const struct kn_program *new, const struct kn_delta *d,
	      const char *where)
{
	struct kn_guard_revocation a, b;

	kn_guard_revoked(old, new, &a);
	kn_guard_revoked_delta(new, d, &b);
	if (a.nsrcs > 1)
		qsort(a.srcs, a.nsrcs, sizeof(*a.srcs), addr_cmp_void);
	if (b.nsrcs > 1)
		qsort(b.srcs, b.nsrcs, sizeof(*b.srcs), addr_cmp_void);
	ATF_CHECK_EQ_MSG(a.nsrcs, b.nsrcs, "%s: %zu pods lose API access, the delta says %zu",
			 where, a.nsrcs, b.nsrcs);
	for (size_t i = 0; i < a.nsrcs && i < b.nsrcs; i++)
		ATF_CHECK_MSG(kn_addr_cmp(&a.srcs[i], &b.srcs[i]) == 0,
			      "%s: other pods lose API access", where);
	ATF_CHECK_EQ(a.ndsts, b.ndsts);
	kn_guard_revocation_free(&a);
	kn_guard_revocation_free(&b);
}

/* Kernels before 6.2: a chain is never deleted in the transaction that
 * deletes a map element pointing at it. */
static void
check_deferral(const struct kn_plan *p, const char *where)
{
	for (size_t i = 0; i < p->ndel_chains; i++)
		for (size_t k = 0; k < p->nelems; k++)
			for (size_t e = 0; e < p->elems[k].ndel; e++) {
				const char *t = p->elems[k].del[e]->target;

				ATF_CHECK_MSG(!t || strcmp(t, p->del_chains[i]) != 0,
					      "%s: chain %s deleted with a map element that "
					      "points at it",
					      where, t);
			}
}

struct run {
	struct kn_store *s;
	struct kn_compiler *cc;
	struct kn_compile_opts o;
	struct kn_plan_opts po;
	struct kn_program *prev; /* what the kernel holds: the last full compile */
	char **stale;		 /* chains the last plan deferred */
	size_t nstale;
	size_t ops, nonempty;
};

/* Brings the compiler up to date and checks it, and its plan. */
static void
step(struct run *x, const char *where)
{
	struct kn_compile_stats wst, gst;
	struct kn_program *want;
	const struct kn_delta *d;
	struct kn_chain *sc;
	struct kn_plan *p = NULL;
	struct kn_err err = {""};
	struct model m;
	int r;

	d = kn_compiler_update(x->cc, &gst);
	want = kn_compile(x->s, &x->o, &wst);
	check_equal(want, kn_compiler_program(x->cc), &wst, &gst, where);

	x->po.stale = (const char *const *)x->stale;
	x->po.nstale = x->nstale;
	r = kn_plan_delta(kn_compiler_program(x->cc), d, &x->po, &p, &err);
	ATF_REQUIRE_MSG(r == 0, "%s: kn_plan_delta: %s (%d)", where, err.msg, r);
	m_load(&m, x->prev);
	sc = xcalloc(x->nstale + 1, sizeof(*sc));
	for (size_t i = 0; i < x->nstale; i++) {
		sc[i].name = x->stale[i];
		m_add_chain(&m, &sc[i]);
		m_chain(&m, x->stale[i])->def = NULL;
	}
	m_play(&m, p);
	m_check(&m, want, p);
	check_revoked(x->prev, want, d, where);
	if (x->po.defer_chain_delete)
		check_deferral(p, where);
	m_free(&m);
	free(sc);
	x->ops += p->st.ops;
	x->nonempty += !kn_plan_empty(p);

	for (size_t i = 0; i < x->nstale; i++)
		free(x->stale[i]);
	free(x->stale);
	x->stale = xcalloc(p->ndeferred + 1, sizeof(*x->stale));
	x->nstale = p->ndeferred;
	for (size_t i = 0; i < p->ndeferred; i++)
		x->stale[i] = xstrdup(p->deferred[i]->name);
	kn_plan_free(p);
	kn_program_free(x->prev);
	x->prev = want;
}

static void
run(uint64_t seed, int steps, const char *node, enum kn_guard_mode guard, bool defer)
{
	struct rng r = {seed * 0x9e3779b97f4a7c15ULL + 1};
	struct kn_compile_stats st;
	struct run x;
	char where[128];

	memset(&x, 0, sizeof(x));
	x.o.node = node;
	x.o.guard = guard;
	x.po.defer_chain_delete = defer;
	x.s = kn_store_new();
	/* A start: some of everything. */
	for (int i = 0; i < 200; i++)
		change(&r, x.s, guard != KN_GUARD_OFF);
	x.cc = kn_compiler_new(x.s, &x.o, &st);
	x.prev = kn_compile(x.s, &x.o, NULL);
	check_equal(x.prev, kn_compiler_program(x.cc), &st, &st, "start");

	for (int i = 0; i < steps; i++) {
		int n = chance(&r, 75) ? 1 : 2 + pick(&r, 6);

		/* Now and then a burst larger than the journal keeps: the
		 * whole program is compiled anew. */
		if (i == steps / 2)
			n = KN_COMPILER_MAX_CHANGES + 40;
		for (int k = 0; k < n; k++)
			change(&r, x.s, guard != KN_GUARD_OFF);
		snprintf(where, sizeof(where), "seed %llu step %d (%d changes)",
			 (unsigned long long)seed, i, n);
		step(&x, where);
	}
	/* The sequences must exercise the planner, not only compare empty
	 * programs. */
	ATF_CHECK_MSG(x.nonempty > (size_t)steps / 3, "seed %llu: only %zu plans changed anything",
		      (unsigned long long)seed, x.nonempty);
	for (size_t i = 0; i < x.nstale; i++)
		free(x.stale[i]);
	free(x.stale);
	kn_program_free(x.prev);
	kn_compiler_free(x.cc);
	kn_store_free(x.s);
}

ATF_TC_WITHOUT_HEAD(random_audit);
ATF_TC_BODY(random_audit, tc)
{
	for (uint64_t seed = 1; seed <= 6; seed++)
		run(seed, 300, "node1", KN_GUARD_DEFAULT, false);
}

ATF_TC_WITHOUT_HEAD(random_enforce);
ATF_TC_BODY(random_enforce, tc)
{
	for (uint64_t seed = 11; seed <= 14; seed++)
		run(seed, 300, "node1", KN_GUARD_ENFORCE, false);
}

ATF_TC_WITHOUT_HEAD(random_no_guard);
ATF_TC_BODY(random_no_guard, tc)
{
	for (uint64_t seed = 21; seed <= 24; seed++)
		run(seed, 300, "node2", KN_GUARD_OFF, false);
}

/* Every node's pods are local: the all-nodes program of kube-nftctl. */
ATF_TC_WITHOUT_HEAD(random_all_nodes);
ATF_TC_BODY(random_all_nodes, tc)
{
	for (uint64_t seed = 31; seed <= 33; seed++)
		run(seed, 300, NULL, KN_GUARD_AUDIT, false);
}

/* Kernels before 6.2: chains that map elements pointed at are emptied
 * and deleted by the next commit. */
ATF_TC_WITHOUT_HEAD(random_deferred);
ATF_TC_BODY(random_deferred, tc)
{
	for (uint64_t seed = 41; seed <= 43; seed++)
		run(seed, 300, "node1", KN_GUARD_AUDIT, true);
}

/* ---------------------------------------------------------------- sizes */

static void
load_pod(struct kn_store *s, const char *name, const char *app_label, const char *node, int ip)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
		 "\"namespace\":\"a\",\"labels\":{\"app\":\"%s\"}},\"spec\":{\"nodeName\":"
		 "\"%s\"},\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.1.%d.%d\"}]}}",
		 name, app_label, node, ip / 250, ip % 250 + 1);
	tu_load(s, buf);
}

static void
load_policy(struct kn_store *s, int port)
{
	char buf[512];

	snprintf(buf, sizeof(buf),
		 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
		 "\"metadata\":{\"name\":\"web\",\"namespace\":\"a\"},\"spec\":{"
		 "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":"
		 "[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}}],\"ports\":"
		 "[{\"port\":%d}]}]}}",
		 port);
	tu_load(s, buf);
}

/* The plan of the compiler's next update, played against the model of
 * the kernel (which holds *prev and refuses elements beyond a set's
 * size); *prev becomes the program now. */
static struct kn_plan *
sized_step(struct kn_compiler *cc, struct kn_store *s, const struct kn_compile_opts *o,
	   struct kn_program **prev, const char *where)
{
	struct kn_err err = {""};
	struct kn_plan *p = NULL;
	struct kn_program *want;
	const struct kn_delta *d = kn_compiler_update(cc, NULL);
	struct model m;

	want = kn_compile(s, o, NULL);
	adopt_sizes(want, kn_compiler_program(cc), where);
	ATF_REQUIRE_MSG(kn_program_equal(want, kn_compiler_program(cc)), "%s: programs differ",
			where);
	ATF_REQUIRE_MSG(kn_plan_delta(kn_compiler_program(cc), d, NULL, &p, &err) == 0,
			"%s: kn_plan_delta: %s", where, err.msg);
	m_load(&m, *prev);
	m_play(&m, p);
	m_check(&m, want, p);
	m_free(&m);
	kn_program_free(*prev);
	*prev = want;
	return p;
}

/* A peer set is made with room for twice its elements (kn_set_size_for),
 * takes pods as elements while they fit, is re-created larger (and the
 * rule using it rewritten) when they no longer do, keeps its size when
 * it shrinks or its policy is edited, and a whole compile sizes it
 * anew. */
ATF_TC_WITHOUT_HEAD(set_sizes);
ATF_TC_BODY(set_sizes, tc)
{
	const char *peers = "np/a/web/ingress/0/peers-v4";
	struct kn_compile_opts o = {.node = "node1", .guard = KN_GUARD_OFF};
	struct kn_store *s = kn_store_new();
	struct kn_program *prev, *fresh;
	struct kn_compiler *cc;
	struct kn_plan *p;
	const struct kn_set *set;
	char name[32], where[64];
	int n;

	tu_load(s, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}");
	load_policy(s, 80);
	load_pod(s, "web", "web", "node1", 0);
	for (n = 1; n <= 8; n++) {
		snprintf(name, sizeof(name), "c%d", n);
		load_pod(s, name, "client", "node2", n);
	}
	cc = kn_compiler_new(s, &o, NULL);
	prev = kn_compile(s, &o, NULL);
	set = kn_program_find_set(kn_compiler_program(cc), peers);
	ATF_REQUIRE_MSG(set != NULL, "no set %s", peers);
	ATF_REQUIRE_EQ(set->nelems, 8);
	ATF_REQUIRE_EQ(set->size, 16);

	/* Clients 9 to 16 fit: elements only. */
	for (n = 9; n <= 17; n++) {
		snprintf(name, sizeof(name), "c%d", n);
		snprintf(where, sizeof(where), "client %d", n);
		load_pod(s, name, "client", "node2", n);
		p = sized_step(cc, s, &o, &prev, where);
		set = kn_program_find_set(kn_compiler_program(cc), peers);
		ATF_REQUIRE_EQ(set->nelems, (size_t)n);
		if (n <= 16) {
			ATF_CHECK_EQ_MSG(set->size, 16, "%s: size %u", where, (unsigned)set->size);
			ATF_CHECK_EQ_MSG(p->nadd_sets + p->ndel_sets + p->nfill, 0,
					 "%s: sets or rules changed", where);
			ATF_CHECK_EQ(p->st.elems_added, 1);
		} else {
			/* 17 > 16: made again for 2 x 17, rounded up. */
			ATF_CHECK_EQ(set->size, 64);
			ATF_REQUIRE_EQ(p->ndel_sets, 1);
			ATF_REQUIRE_EQ(p->nadd_sets, 1);
			ATF_CHECK_STREQ(p->del_sets[0]->name, peers);
			ATF_CHECK_STREQ(p->add_sets[0]->name, peers);
			ATF_CHECK_EQ(p->nfill, 1);
			ATF_CHECK_EQ(p->st.elems_added, 17);
		}
		kn_plan_free(p);
	}

	/* Down to 10 clients: the set keeps its size. */
	for (n = 17; n > 10; n--) {
		snprintf(name, sizeof(name), "c%d", n);
		kn_store_delete(s, KN_KIND_POD, "a", name);
	}
	p = sized_step(cc, s, &o, &prev, "7 clients deleted");
	set = kn_program_find_set(kn_compiler_program(cc), peers);
	ATF_CHECK_EQ(set->nelems, 10);
	ATF_CHECK_EQ(set->size, 64);
	ATF_CHECK_EQ(p->nadd_sets + p->ndel_sets, 0);
	kn_plan_free(p);

	/* The policy edited: compiled again, its set keeps the kernel's
	 * size and its elements, where a fresh compile would size it 32. */
	load_policy(s, 8080);
	p = sized_step(cc, s, &o, &prev, "policy edited");
	set = kn_program_find_set(kn_compiler_program(cc), peers);
	ATF_CHECK_EQ(set->size, 64);
	ATF_CHECK_EQ(p->nadd_sets + p->ndel_sets, 0);
	for (size_t i = 0; i < p->nelems; i++)
		ATF_CHECK_MSG(strcmp(p->elems[i].set->name, peers) != 0, "%s: elements changed",
			      peers);
	ATF_CHECK_MSG(p->nelems > 0, "the port set did not change");
	kn_plan_free(p);
	fresh = kn_compile(s, &o, NULL);
	ATF_CHECK_EQ(kn_program_find_set(fresh, peers)->size, 32);

	kn_program_free(fresh);
	kn_program_free(prev);
	kn_compiler_free(cc);
	kn_store_free(s);
}

/* True when the plan deletes the set or map of that name. */
static bool
plan_deletes(const struct kn_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ndel_sets; i++)
		if (strcmp(p->del_sets[i]->name, name) == 0)
			return true;
	return false;
}

/* Maps and the guard's sets outgrow their size too: the dispatch map
 * of the local pods isolated for ingress and the guard's set of local
 * pods without API permissions are made again, the base chain and guard
 * rules that use them rewritten around them (the kernel model refuses
 * to delete a set a rule still uses). */
ATF_TC_WITHOUT_HEAD(map_sizes);
ATF_TC_BODY(map_sizes, tc)
{
	struct kn_compile_opts o = {.node = "node1", .guard = KN_GUARD_ENFORCE};
	struct kn_store *s = kn_store_new();
	struct kn_program *prev;
	struct kn_compiler *cc;
	struct kn_plan *p;
	char name[32], where[64];
	int n;

	tu_load(s, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}");
	load_policy(s, 80);
	for (n = 1; n <= 16; n++) {
		snprintf(name, sizeof(name), "w%d", n);
		load_pod(s, name, "web", "node1", n);
	}
	cc = kn_compiler_new(s, &o, NULL);
	prev = kn_compile(s, &o, NULL);
	ATF_REQUIRE_EQ(kn_program_find_set(prev, "ingress-v4")->nelems, 16);
	ATF_REQUIRE_EQ(kn_program_find_set(prev, "ingress-v4")->size, 32);
	ATF_REQUIRE_EQ(kn_program_find_set(prev, "api-denied-v4")->nelems, 16);
	for (n = 17; n <= 33; n++) {
		snprintf(name, sizeof(name), "w%d", n);
		snprintf(where, sizeof(where), "local pod %d", n);
		load_pod(s, name, "web", "node1", n);
		p = sized_step(cc, s, &o, &prev, where);
		ATF_CHECK_EQ_MSG(plan_deletes(p, "ingress-v4"), n == 33, "%s: map", where);
		ATF_CHECK_EQ_MSG(plan_deletes(p, "api-denied-v4"), n == 33, "%s: guard set", where);
		ATF_CHECK_EQ_MSG(p->nfill > 0, n == 33, "%s: rules rewritten", where);
		kn_plan_free(p);
	}
	ATF_CHECK_EQ(kn_program_find_set(kn_compiler_program(cc), "ingress-v4")->size, 128);
	ATF_CHECK_EQ(kn_program_find_set(kn_compiler_program(cc), "api-denied-v4")->size, 128);

	kn_program_free(prev);
	kn_compiler_free(cc);
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, set_sizes);
	ATF_TP_ADD_TC(tp, map_sizes);
	ATF_TP_ADD_TC(tp, random_audit);
	ATF_TP_ADD_TC(tp, random_enforce);
	ATF_TP_ADD_TC(tp, random_no_guard);
	ATF_TP_ADD_TC(tp, random_all_nodes);
	ATF_TP_ADD_TC(tp, random_deferred);
	return atf_no_error();
}
