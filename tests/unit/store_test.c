/* The object store: ownership, replacement, deletion, sorted views, scale. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "model.h"
#include "store.h"
#include "util.h"

static struct kn_object
mk_ns(const char *name)
{
	struct kn_object o = {.kind = KN_KIND_NAMESPACE};

	o.u.ns = xcalloc(1, sizeof(*o.u.ns));
	o.u.ns->name = xstrdup(name);
	return o;
}

static struct kn_object
mk_pod(const char *ns, const char *name, const char *node)
{
	struct kn_object o = {.kind = KN_KIND_POD};

	o.u.pod = xcalloc(1, sizeof(*o.u.pod));
	o.u.pod->ns = xstrdup(ns);
	o.u.pod->name = xstrdup(name);
	if (node)
		o.u.pod->node = xstrdup(node);
	o.u.pod->labels.v = xcalloc(1, sizeof(struct kn_label));
	o.u.pod->labels.n = 1;
	o.u.pod->labels.v[0].key = xstrdup("app");
	o.u.pod->labels.v[0].value = xstrdup(name);
	return o;
}

static struct kn_object
mk_np(const char *ns, const char *name)
{
	struct kn_object o = {.kind = KN_KIND_NETPOL};

	o.u.np = xcalloc(1, sizeof(*o.u.np));
	o.u.np->ns = xstrdup(ns);
	o.u.np->name = xstrdup(name);
	o.u.np->ingress = true;
	return o;
}

static int
put(struct kn_store *s, struct kn_object o)
{
	int r = kn_store_put(s, &o);

	/* The store took the contents and zeroed the caller's object. */
	ATF_CHECK_EQ(KN_KIND_OTHER, o.kind);
	ATF_CHECK(o.u.pod == NULL);
	return r;
}

ATF_TC_WITHOUT_HEAD(put_get);
ATF_TC_BODY(put_get, tc)
{
	struct kn_store *s = kn_store_new();
	const struct kn_pod *p;
	const struct kn_namespace *n;
	const struct kn_netpol *np;

	ATF_CHECK_EQ(0, put(s, mk_ns("default")));
	ATF_CHECK_EQ(0, put(s, mk_pod("default", "web", "node1")));
	ATF_CHECK_EQ(0, put(s, mk_np("default", "deny")));
	n = kn_store_get_namespace(s, "default");
	ATF_REQUIRE(n != NULL);
	ATF_CHECK_STREQ("default", n->name);
	p = kn_store_get_pod(s, "default", "web");
	ATF_REQUIRE(p != NULL);
	ATF_CHECK_STREQ("node1", p->node);
	np = kn_store_get_netpol(s, "default", "deny");
	ATF_REQUIRE(np != NULL);
	ATF_CHECK(np->ingress);

	/* Same name, other kind or other namespace: a different object. */
	ATF_CHECK(kn_store_get_pod(s, "default", "deny") == NULL);
	ATF_CHECK(kn_store_get_netpol(s, "default", "web") == NULL);
	ATF_CHECK(kn_store_get_pod(s, "kube-system", "web") == NULL);
	ATF_CHECK(kn_store_get_namespace(s, "web") == NULL);
	ATF_CHECK(kn_store_get_pod(s, NULL, "web") == NULL);
	ATF_CHECK(kn_store_get_pod(s, "default", NULL) == NULL);
	/* Namespace and name are separate parts of the key. */
	ATF_CHECK_EQ(0, put(s, mk_pod("a", "bc", NULL)));
	ATF_CHECK_EQ(0, put(s, mk_pod("ab", "c", NULL)));
	ATF_CHECK_STREQ("bc", kn_store_get_pod(s, "a", "bc")->name);
	ATF_CHECK_STREQ("c", kn_store_get_pod(s, "ab", "c")->name);
	ATF_CHECK(kn_store_get_pod(s, "a", "b") == NULL);
	kn_store_free(s);
	kn_store_free(NULL);
}

ATF_TC_WITHOUT_HEAD(replace);
ATF_TC_BODY(replace, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_pod *const *pods;
	uint64_t g;

	ATF_CHECK_EQ(0, put(s, mk_pod("ns", "web", "node1")));
	g = kn_store_generation(s);
	ATF_CHECK_EQ(1, put(s, mk_pod("ns", "web", "node2")));
	ATF_CHECK(kn_store_generation(s) > g);
	ATF_CHECK_STREQ("node2", kn_store_get_pod(s, "ns", "web")->node);
	ATF_REQUIRE_EQ(1, kn_store_pods(s, &pods));
	ATF_CHECK_STREQ("node2", pods[0]->node);
	/* A replacement without a node drops the old one. */
	ATF_CHECK_EQ(1, put(s, mk_pod("ns", "web", NULL)));
	ATF_CHECK(kn_store_get_pod(s, "ns", "web")->node == NULL);
	ATF_CHECK_EQ(0, put(s, mk_ns("ns")));
	ATF_CHECK_EQ(1, put(s, mk_ns("ns")));
	ATF_CHECK_EQ(0, put(s, mk_np("ns", "web")));
	ATF_CHECK_EQ(1, put(s, mk_np("ns", "web")));
	ATF_REQUIRE_EQ(1, kn_store_pods(s, &pods));
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(delete);
ATF_TC_BODY(delete, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_namespace *const *nss;
	uint64_t g;

	ATF_CHECK_EQ(0, put(s, mk_ns("a")));
	ATF_CHECK_EQ(0, put(s, mk_pod("a", "p", NULL)));
	g = kn_store_generation(s);
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_POD, "a", "q"));
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_POD, "b", "p"));
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_NETPOL, "a", "p"));
	/* Nothing changed, so nothing needs recompiling. */
	ATF_CHECK_EQ(g, kn_store_generation(s));
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_POD, "a", "p"));
	ATF_CHECK(kn_store_generation(s) > g);
	ATF_CHECK(kn_store_get_pod(s, "a", "p") == NULL);
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_POD, "a", "p"));
	/* Namespaces are cluster-scoped: a namespace given is ignored. */
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_NAMESPACE, "whatever", "a"));
	ATF_CHECK_EQ(0, kn_store_namespaces(s, &nss));
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_NAMESPACE, NULL, "a"));
	ATF_CHECK_EQ(-EINVAL, kn_store_delete(s, KN_KIND_POD, NULL, "p"));
	ATF_CHECK_EQ(-EINVAL, kn_store_delete(s, KN_KIND_OTHER, "a", "p"));
	ATF_CHECK_EQ(-EINVAL, kn_store_delete(s, KN_KIND_POD, "a", NULL));
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(other_and_invalid);
ATF_TC_BODY(other_and_invalid, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_object o = {.kind = KN_KIND_OTHER};
	struct kn_pod *const *pods;
	uint64_t g = kn_store_generation(s);

	ATF_CHECK_EQ(0, kn_store_put(s, &o));
	ATF_CHECK_EQ(g, kn_store_generation(s));
	/* An object without its key is refused, and still released (the
	 * sanitizer build checks for the leak). */
	o = mk_pod("ns", "p", "n");
	free(o.u.pod->ns);
	o.u.pod->ns = NULL;
	ATF_CHECK_EQ(-EINVAL, kn_store_put(s, &o));
	ATF_CHECK_EQ(KN_KIND_OTHER, o.kind);
	o = mk_ns("x");
	free(o.u.ns->name);
	o.u.ns->name = NULL;
	ATF_CHECK_EQ(-EINVAL, kn_store_put(s, &o));
	o.kind = KN_KIND_POD;
	o.u.pod = NULL;
	ATF_CHECK_EQ(-EINVAL, kn_store_put(s, &o));
	ATF_CHECK_EQ(0, kn_store_pods(s, &pods));
	ATF_CHECK_EQ(g, kn_store_generation(s));
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(views_sorted);
ATF_TC_BODY(views_sorted, tc)
{
	static const char *const want[][2] = {
		{"a", "x"}, {"a", "z"}, {"a-b", "a"}, {"ab", "a"}, {"b", "a"}, {"b", "b"},
	};
	struct kn_store *s = kn_store_new();
	struct kn_pod *const *pods, *const *again;
	struct kn_netpol *const *nps;
	struct kn_namespace *const *nss;
	size_t n;

	/* Inserted out of order.  Sorting by namespace first puts "a" before
	 * "a-b" even though "a-b/a" < "a/z" as joined strings. */
	put(s, mk_pod("b", "b", NULL));
	put(s, mk_pod("a-b", "a", NULL));
	put(s, mk_pod("a", "z", NULL));
	put(s, mk_pod("ab", "a", NULL));
	put(s, mk_pod("b", "a", NULL));
	put(s, mk_pod("a", "x", NULL));
	n = kn_store_pods(s, &pods);
	ATF_REQUIRE_EQ(ARRAY_SIZE(want), n);
	for (size_t i = 0; i < n; i++) {
		ATF_CHECK_STREQ(want[i][0], pods[i]->ns);
		ATF_CHECK_STREQ(want[i][1], pods[i]->name);
	}
	/* No change: the same view, not rebuilt. */
	ATF_CHECK_EQ(n, kn_store_pods(s, &again));
	ATF_CHECK(again == pods);
	/* A change of another kind leaves the pod view as it was. */
	put(s, mk_np("z", "p2"));
	put(s, mk_np("a", "p1"));
	put(s, mk_np("z", "p1"));
	ATF_REQUIRE_EQ(n, kn_store_pods(s, &again));
	ATF_CHECK_STREQ("a", again[0]->ns);
	ATF_REQUIRE_EQ(3, kn_store_netpols(s, &nps));
	ATF_CHECK_STREQ("a", nps[0]->ns);
	ATF_CHECK_STREQ("p1", nps[1]->name);
	ATF_CHECK_STREQ("z", nps[1]->ns);
	ATF_CHECK_STREQ("p2", nps[2]->name);

	put(s, mk_ns("kube-system"));
	put(s, mk_ns("default"));
	put(s, mk_ns("app"));
	ATF_REQUIRE_EQ(3, kn_store_namespaces(s, &nss));
	ATF_CHECK_STREQ("app", nss[0]->name);
	ATF_CHECK_STREQ("default", nss[1]->name);
	ATF_CHECK_STREQ("kube-system", nss[2]->name);

	/* Deletion and insertion are reflected in the next view. */
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_POD, "a", "z"));
	put(s, mk_pod("0", "0", NULL));
	ATF_REQUIRE_EQ(n, kn_store_pods(s, &pods));
	ATF_CHECK_STREQ("0", pods[0]->ns);
	ATF_CHECK_STREQ("x", pods[1]->name);
	ATF_CHECK_STREQ("a-b", pods[2]->ns);
	kn_store_free(s);
}

/* The sizes the store must handle: 10,000 pods in 500 namespaces and
 * 2,000 policies; then everything is deleted again. */
ATF_TC_WITHOUT_HEAD(scale);
ATF_TC_BODY(scale, tc)
{
	enum { NNS = 500, NPODS = 10000, NNP = 2000 };
	struct kn_store *s = kn_store_new();
	struct kn_namespace *const *nss;
	struct kn_pod *const *pods;
	struct kn_netpol *const *nps;
	char ns[32], name[32];

	for (int i = 0; i < NNS; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i);
		ATF_REQUIRE_EQ(0, put(s, mk_ns(ns)));
	}
	/* Spread pods over namespaces in an order unrelated to the sort. */
	for (int i = 0; i < NPODS; i++) {
		int k = (i * 7919) % NPODS;

		snprintf(ns, sizeof(ns), "ns-%d", k % NNS);
		snprintf(name, sizeof(name), "pod-%d", k);
		ATF_REQUIRE_EQ(0, put(s, mk_pod(ns, name, "node")));
	}
	for (int i = 0; i < NNP; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i % NNS);
		snprintf(name, sizeof(name), "np-%d", i);
		ATF_REQUIRE_EQ(0, put(s, mk_np(ns, name)));
	}
	ATF_REQUIRE_EQ(NNS, kn_store_namespaces(s, &nss));
	ATF_REQUIRE_EQ(NPODS, kn_store_pods(s, &pods));
	ATF_REQUIRE_EQ(NNP, kn_store_netpols(s, &nps));
	for (size_t i = 1; i < NPODS; i++) {
		int c = strcmp(pods[i - 1]->ns, pods[i]->ns);

		ATF_REQUIRE(c < 0 || (c == 0 && strcmp(pods[i - 1]->name, pods[i]->name) < 0));
	}
	for (size_t i = 1; i < NNS; i++)
		ATF_REQUIRE(strcmp(nss[i - 1]->name, nss[i]->name) < 0);
	for (int i = 0; i < NPODS; i++) {
		const struct kn_pod *p;

		snprintf(ns, sizeof(ns), "ns-%d", i % NNS);
		snprintf(name, sizeof(name), "pod-%d", i);
		p = kn_store_get_pod(s, ns, name);
		ATF_REQUIRE(p != NULL);
		ATF_REQUIRE_STREQ(name, p->labels.v[0].value);
	}
	/* Replacing every pod keeps the count. */
	for (int i = 0; i < NPODS; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i % NNS);
		snprintf(name, sizeof(name), "pod-%d", i);
		ATF_REQUIRE_EQ(1, put(s, mk_pod(ns, name, "node2")));
	}
	ATF_REQUIRE_EQ(NPODS, kn_store_pods(s, &pods));

	for (int i = 0; i < NPODS; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i % NNS);
		snprintf(name, sizeof(name), "pod-%d", i);
		ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_POD, ns, name));
	}
	for (int i = 0; i < NNP; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i % NNS);
		snprintf(name, sizeof(name), "np-%d", i);
		ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_NETPOL, ns, name));
	}
	for (int i = 0; i < NNS; i++) {
		snprintf(ns, sizeof(ns), "ns-%d", i);
		ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_NAMESPACE, NULL, ns));
	}
	ATF_CHECK_EQ(0, kn_store_namespaces(s, &nss));
	ATF_CHECK_EQ(0, kn_store_pods(s, &pods));
	ATF_CHECK_EQ(0, kn_store_netpols(s, &nps));
	ATF_CHECK(kn_store_get_pod(s, "ns-0", "pod-0") == NULL);
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_POD, "ns-0", "pod-0"));
	/* The drained store is usable again. */
	ATF_CHECK_EQ(0, put(s, mk_pod("ns-0", "pod-0", NULL)));
	ATF_CHECK_EQ(1, kn_store_pods(s, &pods));
	kn_store_free(s);
}

/* Random puts and deletes over a small key space, checked against a
 * plain array; this walks the table through growth, shrinking and
 * deletions in the middle of probe runs. */
ATF_TC_WITHOUT_HEAD(churn_model);
ATF_TC_BODY(churn_model, tc)
{
	enum { KEYS = 700 };
	int gen[KEYS];
	struct kn_store *s = kn_store_new();
	struct kn_pod *const *pods;
	unsigned seed = 42;
	size_t live = 0;
	char ns[16], name[16], node[16];

	memset(gen, 0, sizeof(gen));
	for (int iter = 0; iter < 60000; iter++) {
		int k, r;

		seed = seed * 1103515245 + 12345;
		k = (int)((seed >> 8) % KEYS);
		snprintf(ns, sizeof(ns), "n%d", k % 7);
		snprintf(name, sizeof(name), "p%d", k);
		seed = seed * 1103515245 + 12345;
		/* Phases biased to fill and to drain the table. */
		if (((seed >> 10) % 100) < ((iter / 5000) % 2 ? 30u : 70u)) {
			snprintf(node, sizeof(node), "%d", iter);
			r = put(s, mk_pod(ns, name, node));
			ATF_REQUIRE_EQ(gen[k] ? 1 : 0, r);
			if (!gen[k])
				live++;
			gen[k] = iter + 1;
		} else {
			r = kn_store_delete(s, KN_KIND_POD, ns, name);
			ATF_REQUIRE_EQ(gen[k] ? 0 : -ENOENT, r);
			if (gen[k])
				live--;
			gen[k] = 0;
		}
		if (iter % 997 == 0) {
			for (int j = 0; j < KEYS; j++) {
				const struct kn_pod *p;

				snprintf(ns, sizeof(ns), "n%d", j % 7);
				snprintf(name, sizeof(name), "p%d", j);
				p = kn_store_get_pod(s, ns, name);
				if (!gen[j]) {
					ATF_REQUIRE(p == NULL);
					continue;
				}
				ATF_REQUIRE(p != NULL);
				snprintf(node, sizeof(node), "%d", gen[j] - 1);
				ATF_REQUIRE_STREQ(node, p->node);
			}
			ATF_REQUIRE_EQ(live, kn_store_pods(s, &pods));
		}
	}
	kn_store_free(s);
}

/* The journal keeps, per key changed since it was taken, the version the
 * key had then; a key changed twice keeps its oldest version, and a key
 * that did not exist has none. */
ATF_TC_WITHOUT_HEAD(journal);
ATF_TC_BODY(journal, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_store_journal j;

	put(s, mk_pod("ns", "before", "node1"));
	kn_store_journal_start(s, 16);
	put(s, mk_pod("ns", "before", "node2"));
	put(s, mk_pod("ns", "before", "node3"));
	put(s, mk_pod("ns", "new", "node1"));
	put(s, mk_ns("ns"));
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_NAMESPACE, "ignored", "ns"));
	kn_store_journal_take(s, &j);
	ATF_REQUIRE_EQ(3, j.n);
	ATF_CHECK(!j.overflow);
	ATF_CHECK_EQ(KN_KIND_POD, j.v[0].kind);
	ATF_CHECK_STREQ("ns", j.v[0].ns);
	ATF_CHECK_STREQ("before", j.v[0].name);
	ATF_REQUIRE_EQ(KN_KIND_POD, j.v[0].old.kind);
	ATF_CHECK_STREQ("node1", j.v[0].old.u.pod->node);
	ATF_CHECK_STREQ("new", j.v[1].name);
	ATF_CHECK_EQ(KN_KIND_OTHER, j.v[1].old.kind);
	/* Added and deleted again: recorded, with no old version. */
	ATF_CHECK_EQ(KN_KIND_NAMESPACE, j.v[2].kind);
	ATF_CHECK(j.v[2].ns == NULL);
	ATF_CHECK_EQ(KN_KIND_OTHER, j.v[2].old.kind);
	ATF_CHECK_STREQ("node3", kn_store_get_pod(s, "ns", "before")->node);
	kn_store_journal_release(&j);

	/* Taken: a new journal starts; the versions it keeps are those of
	 * the take. */
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_POD, "ns", "before"));
	kn_store_journal_take(s, &j);
	ATF_REQUIRE_EQ(1, j.n);
	ATF_CHECK_STREQ("node3", j.v[0].old.u.pod->node);
	kn_store_journal_release(&j);

	/* Past its bound, the journal only says it overflowed, until taken. */
	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		put(s, mk_pod("ns", name, NULL));
	}
	kn_store_journal_take(s, &j);
	ATF_CHECK(j.overflow);
	ATF_CHECK_EQ(0, j.n);
	kn_store_journal_release(&j);
	put(s, mk_pod("ns", "p0", "node1"));
	kn_store_journal_take(s, &j);
	ATF_CHECK(!j.overflow);
	ATF_CHECK_EQ(1, j.n);
	kn_store_journal_release(&j);

	/* Stopped: nothing is kept; a pending journal goes with the store. */
	kn_store_journal_start(s, 0);
	put(s, mk_pod("ns", "p1", "node1"));
	kn_store_journal_take(s, &j);
	ATF_CHECK_EQ(0, j.n);
	kn_store_journal_release(&j);
	kn_store_journal_start(s, 4);
	put(s, mk_pod("ns", "p1", "node2"));
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, put_get);
	ATF_TP_ADD_TC(tp, replace);
	ATF_TP_ADD_TC(tp, delete);
	ATF_TP_ADD_TC(tp, other_and_invalid);
	ATF_TP_ADD_TC(tp, views_sorted);
	ATF_TP_ADD_TC(tp, scale);
	ATF_TP_ADD_TC(tp, churn_model);
	ATF_TP_ADD_TC(tp, journal);
	return atf_no_error();
}
