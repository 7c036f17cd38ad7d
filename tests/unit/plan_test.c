/* The planner: which changes a diff contains, and that its steps, played
 * in order against a model of the kernel's rules (a set or chain in use
 * cannot be deleted, an element cannot be deleted when absent or added
 * twice, a reference needs its object), turn the old program into the
 * new one exactly. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "netpol.h"
#include "plan.h"
#include "planmodel.h"
#include "testutil.h"
#include "util.h"

/* ---------------------------------------------------------------- helpers */

/* Diffs old and new, plays the plan in the model of the kernel loaded
 * with old, and checks that it then holds new. */
static struct kn_plan *
diff_opts(const struct kn_program *old, const struct kn_program *new,
	  const struct kn_plan_opts *opts, const char *const *stale, size_t nstale)
{
	struct kn_chain *sc = xcalloc(nstale + 1, sizeof(*sc));
	struct kn_plan *p = NULL;
	struct kn_err err = {""};
	struct model m;
	int r;

	r = kn_plan_diff(old, new, opts, &p, &err);
	ATF_REQUIRE_MSG(r == 0, "kn_plan_diff: %s (%d)", err.msg, r);
	m_load(&m, old);
	for (size_t i = 0; i < nstale; i++) {
		sc[i].name = (char *)stale[i];
		m_add_chain(&m, &sc[i]);
		m_chain(&m, stale[i])->def = NULL;
	}
	m_play(&m, p);
	m_check(&m, new, p);
	m_free(&m);
	free(sc);
	return p;
}

static struct kn_plan *
diff(const struct kn_program *old, const struct kn_program *new)
{
	return diff_opts(old, new, NULL, NULL, 0);
}

static void
only_elements(const struct kn_plan *p)
{
	ATF_CHECK_EQ(p->st.chains_added, 0);
	ATF_CHECK_EQ(p->st.chains_deleted, 0);
	ATF_CHECK_EQ(p->st.chains_flushed, 0);
	ATF_CHECK_EQ(p->st.sets_added, 0);
	ATF_CHECK_EQ(p->st.sets_deleted, 0);
	ATF_CHECK_EQ(p->st.rules_added, 0);
	ATF_CHECK(p->st.elems_added + p->st.elems_deleted > 0);
}

/* x/web: x/a accepts TCP 80 and the named port serve-81-tcp from pods
 * labelled pod=b in every namespace.  y/deny: no ingress into y.  ("y"
 * is quoted: a plain y is a boolean in YAML 1.1, as kubectl reads it.) */
static const char policies[] = "apiVersion: networking.k8s.io/v1\n"
			       "kind: NetworkPolicy\n"
			       "metadata: {name: web, namespace: x}\n"
			       "spec:\n"
			       "  podSelector: {matchLabels: {pod: a}}\n"
			       "  ingress:\n"
			       "  - from:\n"
			       "    - namespaceSelector: {}\n"
			       "      podSelector: {matchLabels: {pod: b}}\n"
			       "    ports: [{port: 80}, {port: serve-81-tcp}]\n"
			       "---\n"
			       "apiVersion: networking.k8s.io/v1\n"
			       "kind: NetworkPolicy\n"
			       "metadata: {name: deny, namespace: \"y\"}\n"
			       "spec:\n"
			       "  podSelector: {}\n"
			       "  policyTypes: [Ingress]\n";

static struct kn_store *
base_store(void)
{
	struct kn_store *s = kn_store_new();

	tu_model(s);
	tu_load(s, policies);
	return s;
}

/* Without the API server guard, whose sets hold local pods too, so that
 * the counts below are those of the policies; guard_churn_is_elements
 * checks the guard. */
static struct kn_program *
compile(struct kn_store *s)
{
	struct kn_compile_opts o = {.node = "node1", .guard = KN_GUARD_OFF};

	return kn_compile(s, &o, NULL);
}

static const char *
pod_yaml(const char *ns, const char *name, const char *label, const char *node, const char *ip4,
	 const char *ip6)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf),
		 "apiVersion: v1\n"
		 "kind: Pod\n"
		 "metadata: {name: \"%s\", namespace: \"%s\", labels: {pod: \"%s\"}}\n"
		 "spec:\n"
		 "  nodeName: %s\n"
		 "  containers: [{name: c, ports: [{name: serve-81-tcp, containerPort: 81}]}]\n"
		 "status: {phase: Running, podIP: %s, podIPs: [{ip: %s}, {ip: \"%s\"}]}\n",
		 name, ns, label, node, ip4, ip4, ip6);
	return buf;
}

static bool
has_prefix(const char *name, const char *pfx)
{
	return pfx != NULL && strncmp(name, pfx, strlen(pfx)) == 0;
}

/* Checks that a plan touches only objects whose names start with one of
 * the prefixes (NULL: none). */
static void
only_named(const struct kn_plan *p, const char *pfx1, const char *pfx2, const char *pfx3)
{
#define OK(n) (has_prefix((n), pfx1) || has_prefix((n), pfx2) || has_prefix((n), pfx3))
	for (size_t i = 0; i < p->nflush; i++)
		ATF_CHECK_MSG(OK(p->flush[i]->name), "flushes %s", p->flush[i]->name);
	for (size_t i = 0; i < p->nfill; i++)
		ATF_CHECK_MSG(OK(p->fill[i]->name), "fills %s", p->fill[i]->name);
	for (size_t i = 0; i < p->nadd_chains; i++)
		ATF_CHECK_MSG(OK(p->add_chains[i]->name), "adds %s", p->add_chains[i]->name);
	for (size_t i = 0; i < p->ndel_chains; i++)
		ATF_CHECK_MSG(OK(p->del_chains[i]), "deletes %s", p->del_chains[i]);
	for (size_t i = 0; i < p->nadd_sets; i++)
		ATF_CHECK_MSG(OK(p->add_sets[i]->name), "adds %s", p->add_sets[i]->name);
	for (size_t i = 0; i < p->ndel_sets; i++)
		ATF_CHECK_MSG(OK(p->del_sets[i]->name), "deletes %s", p->del_sets[i]->name);
	for (size_t i = 0; i < p->nelems; i++)
		ATF_CHECK_MSG(OK(p->elems[i].set->name), "elements of %s", p->elems[i].set->name);
#undef OK
}

static bool
touches_set(const struct kn_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nelems; i++)
		if (strcmp(p->elems[i].set->name, name) == 0)
			return true;
	return false;
}

static struct kn_elem *
add4(struct kn_set *s, const char *a, const char *last, const char *target, const char *comment)
{
	struct kn_elem *e = kn_set_add_elem(s);

	ATF_REQUIRE_EQ(kn_addr_parse(a, &e->addr), 0);
	ATF_REQUIRE_EQ(kn_addr_parse(last ? last : a, &e->addr_end), 0);
	if (target)
		e->target = xstrdup(target);
	if (comment)
		kn_elem_set_comment(e, comment);
	return e;
}

/* A hand-made table: map m (address -> goto), base chain "in" with
 * "ip daddr vmap @m", chains that the map points at. */
static struct kn_program *
vmap_prog(void)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_chain *in;
	struct kn_rule *r;

	kn_program_add_vmap(p, "m", KN_KEY_IPV4, "dispatch");
	in = kn_program_add_base_chain(p, "in", KN_HOOK_FORWARD, 0, NULL);
	r = kn_chain_add_rule(in, AF_INET);
	kn_rule_set_verdict(r, KN_VERDICT_VMAP_DADDR, "m");
	return p;
}

static struct kn_chain *
drop_chain(struct kn_program *p, const char *name, const char *jump)
{
	struct kn_chain *c = kn_program_add_chain(p, name, NULL);
	struct kn_rule *r;

	if (jump) {
		r = kn_chain_add_rule(c, 0);
		kn_rule_set_verdict(r, KN_VERDICT_JUMP, jump);
	}
	r = kn_chain_add_rule(c, 0);
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);
	return c;
}

/* ---------------------------------------------------------------- cases */

ATF_TC_WITHOUT_HEAD(identical_is_empty);
ATF_TC_BODY(identical_is_empty, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b = compile(s);
	struct kn_plan *p = diff(a, b);

	ATF_CHECK(kn_plan_empty(p));
	ATF_CHECK_EQ(p->st.ops, 0);
	ATF_CHECK_EQ(p->nelems + p->nflush + p->nfill + p->nadd_sets + p->ndel_sets, 0);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_add_is_elements);
ATF_TC_BODY(pod_add_is_elements, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b, *c;
	struct kn_plan *p;

	/* A peer on the other node: its addresses join the peer sets. */
	tu_load(s, pod_yaml("z", "d", "b", "node2", "10.0.3.4", "fd00::3:4"));
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_deleted, 0);
	ATF_CHECK_EQ(p->st.elems_added, 2);
	ATF_CHECK(touches_set(p, "np/x/web/ingress/0/peers-v4"));
	ATF_CHECK(touches_set(p, "np/x/web/ingress/0/peers-v6"));
	kn_plan_free(p);

	/* A local pod selected by x/web: dispatch map elements and its
	 * named port. */
	tu_load(s, pod_yaml("x", "e", "a", "node1", "10.0.1.5", "fd00::1:5"));
	c = compile(s);
	p = diff(b, c);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_deleted, 0);
	ATF_CHECK(touches_set(p, "ingress-v4"));
	ATF_CHECK(touches_set(p, "ingress-v6"));
	ATF_CHECK(touches_set(p, "np/x/web/ingress/0/named-v4"));
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_program_free(c);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_delete_is_elements);
ATF_TC_BODY(pod_delete_is_elements, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b;
	struct kn_plan *p;

	/* y/b is a peer of x/web, and a local pod that y/deny isolates. */
	ATF_REQUIRE_EQ(kn_store_delete(s, KN_KIND_POD, "y", "b"), 0);
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_added, 0);
	ATF_CHECK_EQ(p->st.elems_deleted, 4);
	ATF_CHECK(touches_set(p, "ingress-v4"));
	ATF_CHECK(touches_set(p, "np/x/web/ingress/0/peers-v6"));
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_relabel_is_elements);
ATF_TC_BODY(pod_relabel_is_elements, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b;
	struct kn_plan *p;

	/* z/c becomes a peer of x/web. */
	tu_load(s, pod_yaml("z", "c", "b", "node2", "10.0.3.3", "fd00::3:3"));
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_added, 2);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_ip_change_is_elements);
ATF_TC_BODY(pod_ip_change_is_elements, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b;
	struct kn_plan *p;

	/* x/b, a local peer of x/web, gets a new IPv4 address. */
	tu_load(s, pod_yaml("x", "b", "b", "node1", "10.0.1.200", "fd00::1:2"));
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_added, 1);
	ATF_CHECK_EQ(p->st.elems_deleted, 1);
	ATF_CHECK(touches_set(p, "np/x/web/ingress/0/peers-v4"));
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(pod_address_reused);
ATF_TC_BODY(pod_address_reused, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b;
	struct kn_plan *p;

	/* z/b goes and z/n takes its addresses: the same keys with another
	 * comment, deleted and added again. */
	ATF_REQUIRE_EQ(kn_store_delete(s, KN_KIND_POD, "z", "b"), 0);
	tu_load(s, pod_yaml("z", "n", "b", "node2", "10.0.3.2", "fd00::3:2"));
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_added, 2);
	ATF_CHECK_EQ(p->st.elems_deleted, 2);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(guard_churn_is_elements);
ATF_TC_BODY(guard_churn_is_elements, tc)
{
	struct kn_compile_opts o = {.node = "node1", .guard = KN_GUARD_ENFORCE};
	struct kn_store *s = base_store();
	struct kn_program *a = kn_compile(s, &o, NULL), *b, *c;
	struct kn_plan *p;

	tu_load(s, pod_yaml("x", "e", "a", "node1", "10.0.1.5", "fd00::1:5"));
	b = kn_compile(s, &o, NULL);
	p = diff(a, b);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_deleted, 0);
	kn_plan_free(p);
	ATF_REQUIRE_EQ(kn_store_delete(s, KN_KIND_POD, "x", "b"), 0);
	c = kn_compile(s, &o, NULL);
	p = diff(b, c);
	only_elements(p);
	ATF_CHECK_EQ(p->st.elems_added, 0);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_program_free(c);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(policy_edit_touches_only_it);
ATF_TC_BODY(policy_edit_touches_only_it, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b, *c;
	struct kn_plan *p;

	/* Another port: the policy's port set changes, nothing else. */
	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: web, namespace: x}\n"
		   "spec:\n"
		   "  podSelector: {matchLabels: {pod: a}}\n"
		   "  ingress:\n"
		   "  - from:\n"
		   "    - namespaceSelector: {}\n"
		   "      podSelector: {matchLabels: {pod: b}}\n"
		   "    ports: [{port: 8080}, {port: serve-81-tcp}]\n");
	b = compile(s);
	p = diff(a, b);
	only_elements(p);
	only_named(p, "np/x/web/", NULL, NULL);
	kn_plan_free(p);

	/* A second rule: new sets, the policy's chain rewritten. */
	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: web, namespace: x}\n"
		   "spec:\n"
		   "  podSelector: {matchLabels: {pod: a}}\n"
		   "  ingress:\n"
		   "  - from:\n"
		   "    - namespaceSelector: {}\n"
		   "      podSelector: {matchLabels: {pod: b}}\n"
		   "    ports: [{port: 8080}, {port: serve-81-tcp}]\n"
		   "  - from: [{ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}}]\n");
	c = compile(s);
	p = diff(b, c);
	only_named(p, "np/x/web/", NULL, NULL);
	ATF_CHECK_EQ(p->st.chains_rewritten, 1);
	ATF_CHECK_EQ(p->nfill, 1);
	ATF_CHECK_STREQ(p->fill[0]->name, "np/x/web/ingress");
	ATF_CHECK_EQ(p->st.sets_added, 2);
	ATF_CHECK_EQ(p->st.sets_deleted, 0);
	ATF_CHECK_EQ(p->st.chains_added + p->st.chains_deleted, 0);
	kn_plan_free(p);

	/* And back: the sets go, the chain is rewritten again. */
	p = diff(c, b);
	only_named(p, "np/x/web/", NULL, NULL);
	ATF_CHECK_EQ(p->st.sets_deleted, 2);
	ATF_CHECK_EQ(p->st.sets_added, 0);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_program_free(c);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(policy_add_and_delete);
ATF_TC_BODY(policy_add_and_delete, tc)
{
	struct kn_store *s = base_store();
	struct kn_program *a = compile(s), *b, *c;
	struct kn_plan *p;

	/* y/a-open selects y/a with y/deny: y/a moves to a group chain of
	 * its own, and its dispatch elements point there now. */
	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: a-open, namespace: \"y\"}\n"
		   "spec:\n"
		   "  podSelector: {matchLabels: {pod: a}}\n"
		   "  ingress: [{}]\n");
	b = compile(s);
	p = diff(a, b);
	ATF_CHECK_EQ(p->st.chains_deleted, 0);
	ATF_CHECK_EQ(p->st.chains_added, 2); /* np/y/a-open/ingress, the group */
	ATF_CHECK_EQ(p->st.chains_flushed, 0);
	ATF_CHECK_EQ(p->st.elems_deleted, 2); /* y/a in ingress-v4, -v6 */
	ATF_CHECK_EQ(p->st.elems_added, 2);
	only_named(p, "np/y/", "pods/y/", "ingress-v");
	kn_plan_free(p);

	/* Deleted again: the map elements go back to pods/y/deny before the
	 * group chain and the policy's chain are deleted (the model checks
	 * the order). */
	ATF_REQUIRE_EQ(kn_store_delete(s, KN_KIND_NETPOL, "y", "a-open"), 0);
	c = compile(s);
	p = diff(b, c);
	ATF_CHECK_EQ(p->st.chains_deleted, 2);
	ATF_CHECK_EQ(p->st.chains_added, 0);
	ATF_CHECK(kn_program_equal(a, c));
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
	kn_program_free(c);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(vmap_target_change);
ATF_TC_BODY(vmap_target_change, tc)
{
	struct kn_program *a = vmap_prog(), *b = vmap_prog();
	struct kn_plan *p;

	drop_chain(a, "one", NULL);
	add4(kn_program_find_set(a, "m"), "10.0.0.1", NULL, "one", "ns/p");
	add4(kn_program_find_set(a, "m"), "10.0.0.2", NULL, "one", "ns/q");
	drop_chain(b, "two", NULL);
	add4(kn_program_find_set(b, "m"), "10.0.0.1", NULL, "two", "ns/p");
	add4(kn_program_find_set(b, "m"), "10.0.0.2", NULL, "two", "ns/q");
	p = diff(a, b);
	/* Same keys, other targets: deleted and added again, "two" created
	 * before, "one" deleted after (the model checks). */
	ATF_CHECK_EQ(p->st.elems_deleted, 2);
	ATF_CHECK_EQ(p->st.elems_added, 2);
	ATF_REQUIRE_EQ(p->nadd_chains, 1);
	ATF_CHECK_STREQ(p->add_chains[0]->name, "two");
	ATF_REQUIRE_EQ(p->ndel_chains, 1);
	ATF_CHECK_STREQ(p->del_chains[0], "one");
	ATF_CHECK_EQ(p->nflush, 1); /* "one" has a rule: flushed first */
	ATF_CHECK_EQ(p->st.rules_added, 1);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(deferred_chain_delete);
ATF_TC_BODY(deferred_chain_delete, tc)
{
	struct kn_plan_opts opts = {.defer_chain_delete = true};
	struct kn_program *a = vmap_prog(), *b = vmap_prog();
	const char *stale[] = {"one"};
	struct kn_plan *p;

	drop_chain(a, "one", "policy");
	drop_chain(a, "policy", NULL);
	add4(kn_program_find_set(a, "m"), "10.0.0.1", NULL, "one", "ns/p");
	p = diff_opts(a, b, &opts, NULL, 0);
	/* "one" was a map target: emptied, kept for the next commit;
	 * "policy" was only jumped to: deleted now. */
	ATF_REQUIRE_EQ(p->ndeferred, 1);
	ATF_CHECK_STREQ(p->deferred[0]->name, "one");
	ATF_REQUIRE_EQ(p->ndel_chains, 1);
	ATF_CHECK_STREQ(p->del_chains[0], "policy");
	kn_plan_free(p);

	/* The next commit deletes it, even with nothing else to do. */
	opts.stale = stale;
	opts.nstale = 1;
	p = diff_opts(b, b, &opts, stale, 1);
	ATF_CHECK(!kn_plan_empty(p));
	ATF_REQUIRE_EQ(p->ndel_chains, 1);
	ATF_CHECK_STREQ(p->del_chains[0], "one");
	ATF_CHECK_EQ(p->ndeferred, 0);
	kn_plan_free(p);

	/* Or deletes it and creates it again when the new program has it. */
	kn_program_free(a);
	a = vmap_prog();
	drop_chain(b, "one", NULL);
	p = diff_opts(a, b, &opts, stale, 1);
	ATF_REQUIRE_EQ(p->ndel_chains, 1);
	ATF_REQUIRE_EQ(p->nadd_chains, 1);
	ATF_CHECK_STREQ(p->add_chains[0]->name, "one");
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(set_definition_change);
ATF_TC_BODY(set_definition_change, tc)
{
	struct kn_program *p[2];
	struct kn_plan *plan;

	for (int i = 0; i < 2; i++) {
		struct kn_chain *c, *o;
		struct kn_rule *r;
		struct kn_set *s;

		p[i] = kn_program_new("t");
		s = kn_program_add_set(p[i], "s", KN_KEY_IPV4, true, i ? "two" : "one");
		add4(s, "10.0.0.1", NULL, NULL, "ns/a");
		kn_program_add_set(p[i], "other", KN_KEY_IPV4, true, NULL);
		c = kn_program_add_base_chain(p[i], "in", KN_HOOK_INPUT, 0, NULL);
		r = kn_chain_add_rule(c, AF_INET);
		kn_rule_add_match(r, KN_MATCH_SADDR_SET, "s");
		kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
		o = kn_program_add_chain(p[i], "unrelated", NULL);
		r = kn_chain_add_rule(o, AF_INET);
		kn_rule_add_match(r, KN_MATCH_SADDR_SET, "other");
		kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	}
	plan = diff(p[0], p[1]);
	/* Deleted and created again, with its elements; the rule that uses
	 * it goes before and comes back after, although it is the same. */
	ATF_REQUIRE_EQ(plan->ndel_sets, 1);
	ATF_REQUIRE_EQ(plan->nadd_sets, 1);
	ATF_CHECK_STREQ(plan->add_sets[0]->comment, "two");
	ATF_REQUIRE_EQ(plan->nflush, 1);
	ATF_CHECK_STREQ(plan->flush[0]->name, "in");
	ATF_REQUIRE_EQ(plan->nfill, 1);
	ATF_CHECK_STREQ(plan->fill[0]->name, "in");
	ATF_CHECK_EQ(plan->st.elems_added, 1);
	ATF_CHECK_EQ(plan->nelems, 0);
	kn_plan_free(plan);
	kn_program_free(p[0]);
	kn_program_free(p[1]);
}

ATF_TC_WITHOUT_HEAD(chain_definition_change);
ATF_TC_BODY(chain_definition_change, tc)
{
	struct kn_plan_opts opts = {.defer_chain_delete = true};
	struct kn_program *a = vmap_prog(), *b = vmap_prog();
	struct kn_plan *plan = NULL;
	struct kn_err err;

	kn_program_add_chain(a, "target", "old comment");
	drop_chain(a, "group", "target");
	add4(kn_program_find_set(a, "m"), "10.0.0.1", NULL, "target", NULL);
	kn_program_add_chain(b, "target", "new comment");
	drop_chain(b, "group", "target");
	add4(kn_program_find_set(b, "m"), "10.0.0.1", NULL, "target", NULL);
	plan = diff(a, b);
	/* Re-created: the jump to it and the map element pointing at it go
	 * first and come back after. */
	ATF_CHECK_EQ(plan->st.chains_deleted, 1);
	ATF_CHECK_EQ(plan->st.chains_added, 1);
	ATF_CHECK_EQ(plan->st.elems_deleted, 1);
	ATF_CHECK_EQ(plan->st.elems_added, 1);
	ATF_REQUIRE_EQ(plan->nfill, 1);
	ATF_CHECK_STREQ(plan->fill[0]->name, "group");
	kn_plan_free(plan);
	plan = NULL;

	/* Old kernels cannot: a full replacement is needed. */
	ATF_CHECK_EQ(kn_plan_diff(a, b, &opts, &plan, &err), -ENOTSUP);
	ATF_CHECK(plan == NULL);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(chain_removal_order);
ATF_TC_BODY(chain_removal_order, tc)
{
	struct kn_program *a = vmap_prog(), *b = vmap_prog();
	struct kn_plan *p;

	/* m -> group -> policy, all of it removed; a kept chain that
	 * jumped to the policy is rewritten without the jump. */
	drop_chain(a, "policy", NULL);
	drop_chain(a, "group", "policy");
	drop_chain(a, "kept", "policy");
	add4(kn_program_find_set(a, "m"), "10.0.0.1", NULL, "group", NULL);
	drop_chain(b, "kept", NULL);
	p = diff(a, b);
	ATF_CHECK_EQ(p->st.chains_deleted, 2);
	ATF_CHECK_EQ(p->st.chains_rewritten, 1);
	ATF_CHECK_EQ(p->st.elems_deleted, 1);
	kn_plan_free(p);

	/* And the way back. */
	p = diff(b, a);
	ATF_CHECK_EQ(p->st.chains_added, 2);
	ATF_CHECK_EQ(p->st.elems_added, 1);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(interval_end_at_zero);
ATF_TC_BODY(interval_end_at_zero, tc)
{
	struct kn_program *a = kn_program_new("t"), *b = kn_program_new("t");
	struct kn_set *sa = kn_program_add_set(a, "s", KN_KEY_IPV4, true, NULL);
	struct kn_set *sb = kn_program_add_set(b, "s", KN_KEY_IPV4, true, NULL);
	struct kn_plan *p;

	add4(sa, "10.0.0.1", NULL, NULL, "ns/a");
	add4(sb, "0.0.0.0", "9.255.255.255", NULL, NULL);
	add4(sb, "10.0.0.1", NULL, NULL, "ns/a");
	add4(sb, "11.0.0.0", "255.255.255.255", NULL, NULL);
	p = diff(a, b);
	ATF_REQUIRE_EQ(p->nelems, 1);
	ATF_CHECK_EQ(p->elems[0].nadd, 2);
	ATF_CHECK_EQ(p->elems[0].ndel, 0);
	ATF_CHECK(p->elems[0].del_zero_end);
	ATF_CHECK(!p->elems[0].add_zero_end);
	kn_plan_free(p);
	p = diff(b, a);
	ATF_REQUIRE_EQ(p->nelems, 1);
	ATF_CHECK(p->elems[0].add_zero_end);
	ATF_CHECK_EQ(p->elems[0].ndel, 2);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(unsorted_and_invalid);
ATF_TC_BODY(unsorted_and_invalid, tc)
{
	struct kn_program *a = kn_program_new("t"), *b = kn_program_new("t");
	struct kn_set *sa = kn_program_add_set(a, "s", KN_KEY_IPV4, true, NULL);
	struct kn_set *sb = kn_program_add_set(b, "s", KN_KEY_IPV4, true, NULL);
	struct kn_plan *p = NULL;
	struct kn_err err;

	/* Not in key order: the same result as sorted. */
	add4(sa, "10.0.0.9", NULL, NULL, NULL);
	add4(sa, "10.0.0.1", NULL, NULL, NULL);
	add4(sa, "10.0.0.5", NULL, NULL, NULL);
	add4(sb, "10.0.0.5", NULL, NULL, NULL);
	add4(sb, "10.0.0.7", NULL, NULL, NULL);
	add4(sb, "10.0.0.1", NULL, NULL, NULL);
	p = diff(a, b);
	ATF_CHECK_EQ(p->st.elems_added, 1);
	ATF_CHECK_EQ(p->st.elems_deleted, 1);
	kn_plan_free(p);
	p = NULL;

	/* Overlapping ranges and duplicate keys are refused. */
	add4(sb, "10.0.0.0", "10.0.0.6", NULL, NULL);
	ATF_CHECK_EQ(kn_plan_diff(a, b, NULL, &p, &err), -EINVAL);
	ATF_CHECK(strstr(err.msg, "set s of the new program") != NULL);
	ATF_CHECK(p == NULL);
	kn_program_free(b);
	b = kn_program_new("t");
	sb = kn_program_add_vmap(b, "s", KN_KEY_IPV4, NULL);
	add4(sb, "10.0.0.5", NULL, "x", NULL);
	add4(sb, "10.0.0.5", NULL, "y", NULL);
	ATF_CHECK_EQ(kn_plan_diff(a, b, NULL, &p, &err), -EINVAL);
	kn_program_free(b);

	/* Another table: not a change in place. */
	b = kn_program_new("other");
	ATF_CHECK_EQ(kn_plan_diff(a, b, NULL, &p, &err), -ENOTSUP);
	kn_program_free(b);
	/* A name twice. */
	b = kn_program_new("t");
	kn_program_add_chain(b, "c", NULL);
	kn_program_add_chain(b, "c", NULL);
	ATF_CHECK_EQ(kn_plan_diff(a, b, NULL, &p, &err), -EINVAL);
	ATF_CHECK(strstr(err.msg, "chain c") != NULL);
	kn_program_free(b);
	kn_program_free(a);
}

ATF_TC_WITHOUT_HEAD(large_set_one_change);
ATF_TC_BODY(large_set_one_change, tc)
{
	struct kn_program *a = kn_program_new("t"), *b = kn_program_new("t");
	struct kn_set *sa = kn_program_add_set(a, "s", KN_KEY_IPV6_PROTO_PORT, false, NULL);
	struct kn_set *sb = kn_program_add_set(b, "s", KN_KEY_IPV6_PROTO_PORT, false, NULL);
	struct kn_plan *p;
	char buf[64];

	for (int i = 0; i < 50000; i++) {
		struct kn_elem *e;

		snprintf(buf, sizeof(buf), "fd00::%x:%x", i >> 16, i & 0xffff);
		e = kn_set_add_elem(sa);
		ATF_REQUIRE_EQ(kn_addr_parse(buf, &e->addr), 0);
		e->proto = 6;
		e->port = e->port_end = 80;
		if (i == 777)
			continue;
		e = kn_set_add_elem(sb);
		ATF_REQUIRE_EQ(kn_addr_parse(buf, &e->addr), 0);
		e->proto = 6;
		e->port = e->port_end = i == 4242 ? 81 : 80;
	}
	kn_set_finalize(sa);
	kn_set_finalize(sb);
	p = diff(a, b);
	ATF_CHECK_EQ(p->st.elems_deleted, 2);
	ATF_CHECK_EQ(p->st.elems_added, 1);
	ATF_CHECK_EQ(p->st.ops, 3);
	kn_plan_free(p);
	kn_program_free(a);
	kn_program_free(b);
}

/* A delta that names a set re-created under its name (here its type
 * changes): the rules that use it are rewritten though their chain is
 * not in the delta; the kernel model checks the order. */
ATF_TC_WITHOUT_HEAD(delta_set_recreated);
ATF_TC_BODY(delta_set_recreated, tc)
{
	struct kn_set_change sc;
	struct kn_delta d;
	struct kn_program *p[2];
	struct kn_plan *plan = NULL;
	struct kn_err err = {""};
	struct model m;

	for (int i = 0; i < 2; i++) {
		struct kn_chain *c, *o;
		struct kn_rule *r;
		struct kn_set *s;

		p[i] = kn_program_new("t");
		s = kn_program_add_set(p[i], "s", KN_KEY_IPV4, i == 0, "peers");
		add4(s, "10.0.0.1", NULL, NULL, "ns/a");
		kn_program_add_set(p[i], "other", KN_KEY_IPV4, true, NULL);
		c = kn_program_add_base_chain(p[i], "in", KN_HOOK_INPUT, 0, NULL);
		r = kn_chain_add_rule(c, AF_INET);
		kn_rule_add_match(r, KN_MATCH_SADDR_SET, "s");
		kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
		o = kn_program_add_chain(p[i], "unrelated", NULL);
		r = kn_chain_add_rule(o, AF_INET);
		kn_rule_add_match(r, KN_MATCH_SADDR_SET, "other");
		kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	}
	memset(&d, 0, sizeof(d));
	memset(&sc, 0, sizeof(sc));
	sc.old = p[0]->sets[0];
	sc.set = p[1]->sets[0];
	d.sets = &sc;
	d.nsets = 1;
	ATF_REQUIRE_EQ_MSG(kn_plan_delta(p[1], &d, NULL, &plan, &err), 0, "%s", err.msg);
	ATF_REQUIRE_EQ(plan->ndel_sets, 1);
	ATF_REQUIRE_EQ(plan->nadd_sets, 1);
	ATF_REQUIRE_EQ(plan->nflush, 1);
	ATF_CHECK_STREQ(plan->flush[0]->name, "in");
	ATF_REQUIRE_EQ(plan->nfill, 1);
	ATF_CHECK_STREQ(plan->fill[0]->name, "in");
	m_load(&m, p[0]);
	m_play(&m, plan);
	m_check(&m, p[1], plan);
	m_free(&m);
	kn_plan_free(plan);
	kn_program_free(p[0]);
	kn_program_free(p[1]);
}

/* A chain re-created under its name cannot come from a delta without
 * every map element and jump that points at it: the table is replaced
 * instead. */
ATF_TC_WITHOUT_HEAD(delta_chain_recreated);
ATF_TC_BODY(delta_chain_recreated, tc)
{
	struct kn_program *a = vmap_prog(), *b = vmap_prog();
	struct kn_chain_change cc;
	struct kn_delta d;
	struct kn_plan *plan = NULL;
	struct kn_err err = {""};

	add4(a->sets[0], "10.0.0.1", NULL, "g", "ns/a");
	add4(b->sets[0], "10.0.0.1", NULL, "g", "ns/a");
	drop_chain(a, "g", NULL);
	kn_program_add_chain(b, "g", "another comment");
	memset(&d, 0, sizeof(d));
	cc.old = a->chains[1];
	cc.chain = b->chains[1];
	d.chains = &cc;
	d.nchains = 1;
	ATF_CHECK_EQ(kn_plan_delta(b, &d, NULL, &plan, &err), -ENOTSUP);
	ATF_CHECK(strstr(err.msg, "chain g") != NULL);
	ATF_CHECK(plan == NULL);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, identical_is_empty);
	ATF_TP_ADD_TC(tp, pod_add_is_elements);
	ATF_TP_ADD_TC(tp, pod_delete_is_elements);
	ATF_TP_ADD_TC(tp, pod_relabel_is_elements);
	ATF_TP_ADD_TC(tp, pod_ip_change_is_elements);
	ATF_TP_ADD_TC(tp, pod_address_reused);
	ATF_TP_ADD_TC(tp, guard_churn_is_elements);
	ATF_TP_ADD_TC(tp, policy_edit_touches_only_it);
	ATF_TP_ADD_TC(tp, policy_add_and_delete);
	ATF_TP_ADD_TC(tp, vmap_target_change);
	ATF_TP_ADD_TC(tp, deferred_chain_delete);
	ATF_TP_ADD_TC(tp, set_definition_change);
	ATF_TP_ADD_TC(tp, chain_definition_change);
	ATF_TP_ADD_TC(tp, chain_removal_order);
	ATF_TP_ADD_TC(tp, interval_end_at_zero);
	ATF_TP_ADD_TC(tp, unsorted_and_invalid);
	ATF_TP_ADD_TC(tp, large_set_one_change);
	ATF_TP_ADD_TC(tp, delta_set_recreated);
	ATF_TP_ADD_TC(tp, delta_chain_recreated);
	return atf_no_error();
}
