/* The planner: compares the program in the kernel with a new one and
 * lists the smallest change, in the order the kernel needs (plan.h).
 *
 * Objects are matched by name: the compiler names every set and chain
 * after the namespace, policy and rule it comes from, so an object that
 * keeps its name keeps its meaning.  Sets and chains are looked up in
 * hash tables; the elements of a set are compared by a merge of the two
 * lists in key order, which the compiler already produces
 * (kn_set_finalize): linear time and no copy.  A set not in key order is
 * sorted first (a copy of pointers), so the result never depends on the
 * order the elements were built in.
 *
 * Elements are compared by what the kernel holds: the key (the address
 * range of a plain interval set, KEY and KEY_END of a concatenated one)
 * and the payload (map target, comment).  Each element of the program
 * stands for its own kernel elements (a range of a plain interval set is
 * a start and an end element at last + 1, which the backend derives),
 * and distinct program elements never share one, so deleting exactly
 * the old program elements that are not in the new program, and adding
 * the new ones that are not in the old, leaves the kernel holding what a
 * full load of the new program gives.  The one element that belongs to
 * no range, nft's end element at address 0, is tracked separately.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "util.h"

/* Per object of the new program. */
#define ST_MATCHED  0x01 /* old has an object of that name */
#define ST_RECREATE 0x02 /* ...defined differently: deleted and created again */
#define ST_FILL	    0x04 /* chain: its rules are added */

#define NONE SIZE_MAX

/* ---------------------------------------------------------------- names */

/* Open addressing, linear probing, at most half full. */
struct name_tab {
	const char **key;
	size_t *val;
	size_t mask;
};

static void
tab_init(struct name_tab *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	t->key = xcalloc(cap, sizeof(*t->key));
	t->val = xcalloc(cap, sizeof(*t->val));
	t->mask = cap - 1;
}

static void
tab_free(struct name_tab *t)
{
	free(t->key);
	free(t->val);
}

static size_t
tab_slot(const struct name_tab *t, const char *name)
{
	size_t i = (size_t)hash64(name, strlen(name), HASH64_SEED) & t->mask;

	while (t->key[i] != NULL && strcmp(t->key[i], name) != 0)
		i = (i + 1) & t->mask;
	return i;
}

/* Returns false when name is there already. */
static bool
tab_put(struct name_tab *t, const char *name, size_t val)
{
	size_t i = tab_slot(t, name);

	if (t->key[i] != NULL)
		return false;
	t->key[i] = name;
	t->val[i] = val;
	return true;
}

static size_t
tab_get(const struct name_tab *t, const char *name)
{
	size_t i;

	if (name == NULL)
		return NONE;
	i = tab_slot(t, name);
	return t->key[i] != NULL ? t->val[i] : NONE;
}

/* ---------------------------------------------------------------- keys */

static bool
key_has_addr(enum kn_key_type key)
{
	return key != KN_KEY_PROTO_PORT;
}

static bool
key_is_concat(enum kn_key_type key)
{
	return key != KN_KEY_IPV4 && key != KN_KEY_IPV6;
}

/* A plain interval set: the kernel's rbtree, ranges as start and end
 * elements. */
static bool
set_is_rbtree(const struct kn_set *s)
{
	return s->interval && !key_is_concat(s->key);
}

static const struct kn_addr *
elem_last(const struct kn_elem *e)
{
	return e->addr_end.family != 0 ? &e->addr_end : &e->addr;
}

/* The top port of a concatenated range, as the backend encodes KEY_END. */
static uint16_t
elem_port_last(const struct kn_elem *e)
{
	return e->port_end > e->port ? e->port_end : e->port;
}

/* Compares the kernel keys of two elements of a set of type key: the
 * fields that the backend encodes, no others.  Consistent with the order
 * of kn_set_finalize (address, protocol, port, then the ends), so that
 * the compiler's sets need no sorting. */
static int
key_cmp(enum kn_key_type key, bool interval, const struct kn_elem *a, const struct kn_elem *b)
{
	int r;

	if (key_has_addr(key)) {
		r = kn_addr_cmp(&a->addr, &b->addr);
		if (r != 0)
			return r;
	}
	if (key_is_concat(key)) {
		if (a->proto != b->proto)
			return a->proto < b->proto ? -1 : 1;
		if (a->port != b->port)
			return a->port < b->port ? -1 : 1;
	}
	if (!interval)
		return 0;
	if (!key_is_concat(key))
		return kn_addr_cmp(elem_last(a), elem_last(b));
	if (elem_port_last(a) != elem_port_last(b))
		return elem_port_last(a) < elem_port_last(b) ? -1 : 1;
	return 0;
}

static int
elem_ptr_cmp(const void *a, const void *b, void *arg)
{
	const struct kn_set *s = arg;

	return key_cmp(s->key, s->interval, *(const struct kn_elem *const *)a,
		       *(const struct kn_elem *const *)b);
}

static bool
payload_eq(const struct kn_elem *a, const struct kn_elem *b)
{
	return str_eq(a->target, b->target) && str_eq(a->comment, b->comment);
}

static bool
addr_is_zero(const struct kn_addr *a)
{
	for (int i = 0; i < kn_addr_len(a->family); i++) {
		if (a->bytes[i] != 0)
			return false;
	}
	return true;
}

/* The elements of a set in key order: the set's own array when it is in
 * order already, else a sorted array of pointers. */
struct view {
	const struct kn_set *s;
	const struct kn_elem **sorted;
};

static const struct kn_elem *
view_at(const struct view *v, size_t i)
{
	return v->sorted != NULL ? v->sorted[i] : &v->s->elems[i];
}

/* Puts the elements of s in key order and checks that no two elements
 * share a key and, in plain interval sets, that no ranges overlap: the
 * kernel would refuse the one or merge the other out of our sight. */
static int
view_init(struct view *v, const struct kn_set *s, const char *which, struct kn_err *err)
{
	size_t i;

	v->s = s;
	v->sorted = NULL;
	for (i = 1; i < s->nelems; i++) {
		if (key_cmp(s->key, s->interval, &s->elems[i - 1], &s->elems[i]) >= 0)
			break;
	}
	if (i < s->nelems) {
		v->sorted = xcalloc(s->nelems, sizeof(*v->sorted));
		for (i = 0; i < s->nelems; i++)
			v->sorted[i] = &s->elems[i];
		qsort_r(v->sorted, s->nelems, sizeof(*v->sorted), elem_ptr_cmp, (void *)s);
	}
	for (i = 1; i < s->nelems; i++) {
		const struct kn_elem *p = view_at(v, i - 1), *e = view_at(v, i);

		if (key_cmp(s->key, s->interval, p, e) == 0)
			return kn_errf(err, -EINVAL,
				       "set %s of the %s program: duplicate element %zu", s->name,
				       which, i + 1);
		if (set_is_rbtree(s) && kn_addr_cmp(elem_last(p), &e->addr) >= 0)
			return kn_errf(err, -EINVAL, "set %s of the %s program: ranges overlap",
				       s->name, which);
	}
	return 0;
}

static void
view_free(struct view *v)
{
	free(v->sorted);
}

/* ---------------------------------------------------------------- objects */

static bool
set_def_eq(const struct kn_set *a, const struct kn_set *b)
{
	/* The size too: the kernel fixes it when it makes the set. */
	return a->key == b->key && a->interval == b->interval && a->vmap == b->vmap &&
	       a->size == b->size && str_eq(a->comment, b->comment);
}

static bool
chain_def_eq(const struct kn_chain *a, const struct kn_chain *b)
{
	return a->hook == b->hook && a->prio == b->prio && str_eq(a->comment, b->comment);
}

static bool
rules_eq(const struct kn_chain *a, const struct kn_chain *b)
{
	if (a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nrules; i++) {
		/* kn_rule_equal knows every field of a rule, present and
		 * future: a rule that differs in any way is rewritten. */
		if (!kn_rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- plan */

struct ctx {
	const struct kn_program *old, *new;
	const struct kn_plan_opts *opts;
	struct kn_plan *p;
	struct kn_err *err;
	struct name_tab new_sets, new_chains, old_chains, targets;
	unsigned char *set_st, *chain_st; /* per object of new */
	size_t *set_old;		  /* per set of new: index in old, or NONE */
	size_t nrecreated;
	size_t flush_cap, elems_cap, del_sets_cap, del_chains_cap, add_chains_cap, add_sets_cap,
		fill_cap, deferred_cap;
};

/* True when a rule of c refers to a set or chain that is re-created:
 * the kernel holds the reference to the old object, so the rule must go
 * before that object goes, and come back after the new one exists. */
static bool
refers_recreated(const struct ctx *x, const struct kn_chain *c)
{
	size_t i, k, j;

	if (x->nrecreated == 0)
		return false;
	for (i = 0; i < c->nrules; i++) {
		const struct kn_rule *r = &c->rules[i];

		for (k = 0; k < r->nm; k++) {
			j = tab_get(&x->new_sets, r->m[k].set);
			if (j != NONE && (x->set_st[j] & ST_RECREATE))
				return true;
		}
		switch (r->verdict) {
		case KN_VERDICT_JUMP:
		case KN_VERDICT_GOTO:
			j = tab_get(&x->new_chains, r->target);
			if (j != NONE && (x->chain_st[j] & ST_RECREATE))
				return true;
			break;
		case KN_VERDICT_VMAP_SADDR:
		case KN_VERDICT_VMAP_DADDR:
			j = tab_get(&x->new_sets, r->target);
			if (j != NONE && (x->set_st[j] & ST_RECREATE))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

static int
index_new(struct ctx *x)
{
	const struct kn_program *n = x->new;
	size_t i;

	tab_init(&x->new_sets, n->nsets);
	tab_init(&x->new_chains, n->nchains);
	tab_init(&x->old_chains, x->old->nchains);
	x->set_st = xcalloc(n->nsets + 1, 1);
	x->chain_st = xcalloc(n->nchains + 1, 1);
	x->set_old = xcalloc(n->nsets + 1, sizeof(*x->set_old));
	for (i = 0; i < n->nsets; i++) {
		x->set_old[i] = NONE;
		if (!tab_put(&x->new_sets, n->sets[i]->name, i))
			return kn_errf(x->err, -EINVAL, "set %s: defined twice", n->sets[i]->name);
	}
	for (i = 0; i < n->nchains; i++) {
		if (!tab_put(&x->new_chains, n->chains[i]->name, i))
			return kn_errf(x->err, -EINVAL, "chain %s: defined twice",
				       n->chains[i]->name);
	}
	for (i = 0; i < x->old->nchains; i++)
		tab_put(&x->old_chains, x->old->chains[i]->name, i);
	return 0;
}

/* Sets: kept when defined alike (their elements are compared later),
 * deleted, or deleted and created again under the same name. */
static void
match_sets(struct ctx *x)
{
	struct kn_plan *p = x->p;
	size_t i, j;

	for (i = 0; i < x->old->nsets; i++) {
		const struct kn_set *os = x->old->sets[i];

		j = tab_get(&x->new_sets, os->name);
		if (j != NONE && (x->set_st[j] & ST_MATCHED))
			j = NONE; /* a name twice in old: the first one counts */
		if (j == NONE) {
			*VEC_PUSH(p->del_sets, p->ndel_sets, x->del_sets_cap) = os;
			continue;
		}
		x->set_st[j] |= ST_MATCHED;
		x->set_old[j] = i;
		if (!set_def_eq(os, x->new->sets[j])) {
			x->set_st[j] |= ST_RECREATE;
			x->nrecreated++;
			*VEC_PUSH(p->del_sets, p->ndel_sets, x->del_sets_cap) = os;
		}
	}
	for (j = 0; j < x->new->nsets; j++) {
		if ((x->set_st[j] & (ST_MATCHED | ST_RECREATE)) != ST_MATCHED)
			*VEC_PUSH(p->add_sets, p->nadd_sets, x->add_sets_cap) = x->new->sets[j];
	}
}

/* The chains that elements of old's maps point at: on old kernels they
 * outlive the elements for a while. */
static void
index_targets(struct ctx *x)
{
	size_t n = 0;

	for (size_t i = 0; i < x->old->nsets; i++) {
		if (x->old->sets[i]->vmap)
			n += x->old->sets[i]->nelems;
	}
	tab_init(&x->targets, n);
	for (size_t i = 0; i < x->old->nsets; i++) {
		const struct kn_set *s = x->old->sets[i];

		if (!s->vmap)
			continue;
		for (size_t k = 0; k < s->nelems; k++) {
			if (s->elems[k].target != NULL)
				tab_put(&x->targets, s->elems[k].target, 0);
		}
	}
}

static void
flush_chain(struct ctx *x, const struct kn_chain *oc)
{
	/* An empty chain holds no references: nothing to flush. */
	if (oc->nrules > 0)
		*VEC_PUSH(x->p->flush, x->p->nflush, x->flush_cap) = oc;
}

static void
del_chain(struct ctx *x, const char *name)
{
	*VEC_PUSH(x->p->del_chains, x->p->ndel_chains, x->del_chains_cap) = name;
}

/* Chains: kept (rewritten when their rules differ), deleted, or deleted
 * and created again.  Two passes: whether a kept chain is rewritten
 * depends on which chains and sets are re-created. */
static int
match_chains(struct ctx *x)
{
	struct kn_plan *p = x->p;
	bool defer = x->opts != NULL && x->opts->defer_chain_delete;
	size_t i, j;

	if (defer)
		index_targets(x);
	for (i = 0; i < x->old->nchains; i++) {
		const struct kn_chain *oc = x->old->chains[i];

		j = tab_get(&x->new_chains, oc->name);
		if (j != NONE && (x->chain_st[j] & ST_MATCHED))
			j = NONE;
		if (j != NONE) {
			x->chain_st[j] |= ST_MATCHED;
			if (chain_def_eq(oc, x->new->chains[j]))
				continue;
			if (defer && tab_get(&x->targets, oc->name) != NONE)
				return kn_errf(x->err, -ENOTSUP,
					       "chain %s: a map points at it and its definition "
					       "changed",
					       oc->name);
			x->chain_st[j] |= ST_RECREATE | ST_FILL;
			x->nrecreated++;
			flush_chain(x, oc);
			del_chain(x, oc->name);
			continue;
		}
		flush_chain(x, oc);
		if (defer && tab_get(&x->targets, oc->name) != NONE)
			*VEC_PUSH(p->deferred, p->ndeferred, x->deferred_cap) = oc;
		else
			del_chain(x, oc->name);
	}
	/* Stale chains of an earlier plan: empty and unreferenced, so they
	 * can go first and be created anew if new has them. */
	for (i = 0; x->opts != NULL && i < x->opts->nstale; i++) {
		const char *name = x->opts->stale[i];

		if (tab_get(&x->old_chains, name) != NONE)
			continue; /* old describes it: handled above */
		del_chain(x, name);
	}
	/* Kept chains: rewritten when their rules differ or refer to a
	 * re-created object. */
	for (i = 0; i < x->old->nchains; i++) {
		const struct kn_chain *oc = x->old->chains[i];

		j = tab_get(&x->new_chains, oc->name);
		if (j == NONE || (x->chain_st[j] & (ST_RECREATE | ST_FILL)))
			continue;
		if (rules_eq(oc, x->new->chains[j]) && !refers_recreated(x, oc))
			continue;
		x->chain_st[j] |= ST_FILL;
		p->st.chains_rewritten++;
		flush_chain(x, oc);
	}
	for (j = 0; j < x->new->nchains; j++) {
		const struct kn_chain *nc = x->new->chains[j];

		if ((x->chain_st[j] & (ST_MATCHED | ST_RECREATE)) != ST_MATCHED) {
			*VEC_PUSH(p->add_chains, p->nadd_chains, x->add_chains_cap) = nc;
			x->chain_st[j] |= ST_FILL;
		}
		if ((x->chain_st[j] & ST_FILL) && nc->nrules > 0)
			*VEC_PUSH(p->fill, p->nfill, x->fill_cap) = nc;
	}
	return 0;
}

/* A map element must be deleted and added again when its chain is
 * re-created: the kernel holds the old chain through it. */
static bool
target_recreated(const struct ctx *x, const struct kn_elem *e)
{
	size_t j;

	if (x->nrecreated == 0 || e->target == NULL)
		return false;
	j = tab_get(&x->new_chains, e->target);
	return j != NONE && (x->chain_st[j] & ST_RECREATE);
}

/* The element changes of a set that old and new define alike: a merge
 * of both lists in key order. */
static int
diff_elems(struct ctx *x, const struct kn_set *os, const struct kn_set *ns)
{
	struct kn_plan_elems d = {.old = os, .set = ns};
	size_t del_cap = 0, add_cap = 0, i = 0, j = 0;
	struct view vo, vn;
	int ret;

	memset(&vo, 0, sizeof(vo));
	memset(&vn, 0, sizeof(vn));
	if ((ret = view_init(&vo, os, "running", x->err)) < 0 ||
	    (ret = view_init(&vn, ns, "new", x->err)) < 0)
		goto out;
	while (i < os->nelems || j < ns->nelems) {
		const struct kn_elem *a = i < os->nelems ? view_at(&vo, i) : NULL;
		const struct kn_elem *b = j < ns->nelems ? view_at(&vn, j) : NULL;
		int r = a == NULL ? 1 : b == NULL ? -1 : key_cmp(ns->key, ns->interval, a, b);

		if (r == 0 && payload_eq(a, b) && !target_recreated(x, a)) {
			i++;
			j++;
			continue;
		}
		if (r <= 0) {
			*VEC_PUSH(d.del, d.ndel, del_cap) = a;
			i++;
		}
		if (r >= 0) {
			*VEC_PUSH(d.add, d.nadd, add_cap) = b;
			j++;
		}
	}
	if (set_is_rbtree(ns)) {
		bool had = os->nelems > 0 && !addr_is_zero(&view_at(&vo, 0)->addr);
		bool has = ns->nelems > 0 && !addr_is_zero(&view_at(&vn, 0)->addr);

		d.del_zero_end = had && !has;
		d.add_zero_end = has && !had;
	}
	if (d.ndel > 0 || d.nadd > 0 || d.del_zero_end || d.add_zero_end) {
		*VEC_PUSH(x->p->elems, x->p->nelems, x->elems_cap) = d;
		x->p->st.elems_added += d.nadd;
		x->p->st.elems_deleted += d.ndel;
		memset(&d, 0, sizeof(d));
	}
	ret = 0;
out:
	free(d.del);
	free(d.add);
	view_free(&vo);
	view_free(&vn);
	return ret;
}

static int
match_elems(struct ctx *x)
{
	size_t j;
	int ret;

	for (j = 0; j < x->new->nsets; j++) {
		const struct kn_set *ns = x->new->sets[j];
		struct view v;

		if ((x->set_st[j] & (ST_MATCHED | ST_RECREATE)) != ST_MATCHED) {
			/* Created with all its elements: check them as a
			 * kept set's are checked. */
			ret = view_init(&v, ns, "new", x->err);
			view_free(&v);
			if (ret < 0)
				return ret;
			x->p->st.elems_added += ns->nelems;
			continue;
		}
		ret = diff_elems(x, x->old->sets[x->set_old[j]], ns);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void
count(struct kn_plan *p)
{
	struct kn_plan_stats *st = &p->st;

	st->chains_added = p->nadd_chains;
	st->chains_deleted = p->ndel_chains;
	st->chains_flushed = p->nflush;
	st->sets_added = p->nadd_sets;
	st->sets_deleted = p->ndel_sets;
	st->deferred = p->ndeferred;
	for (size_t i = 0; i < p->nfill; i++)
		st->rules_added += p->fill[i]->nrules;
	st->ops = st->chains_added + st->chains_deleted + st->chains_flushed + st->sets_added +
		  st->sets_deleted + st->elems_added + st->elems_deleted + st->rules_added;
	for (size_t i = 0; i < p->nelems; i++)
		st->ops += p->elems[i].del_zero_end + p->elems[i].add_zero_end;
}

int
kn_plan_diff(const struct kn_program *old, const struct kn_program *new,
	     const struct kn_plan_opts *opts, struct kn_plan **ret, struct kn_err *err)
{
	struct ctx x;
	int r;

	if (!str_eq(old->table, new->table))
		return kn_errf(err, -ENOTSUP, "table %s replaces table %s", new->table, old->table);
	memset(&x, 0, sizeof(x));
	x.old = old;
	x.new = new;
	x.opts = opts;
	x.err = err;
	x.p = xcalloc(1, sizeof(*x.p));
	x.p->old = old;
	x.p->new = new;
	if ((r = index_new(&x)) < 0)
		goto out;
	match_sets(&x);
	if ((r = match_chains(&x)) < 0 || (r = match_elems(&x)) < 0)
		goto out;
	count(x.p);
	*ret = x.p;
	x.p = NULL;
	r = 0;
out:
	kn_plan_free(x.p);
	tab_free(&x.new_sets);
	tab_free(&x.new_chains);
	tab_free(&x.old_chains);
	tab_free(&x.targets);
	free(x.set_st);
	free(x.chain_st);
	free(x.set_old);
	return r;
}

/* ---------------------------------------------------------------- deltas */

/* The elements a patch put into a set are in key order and unique among
 * their neighbours: the same checks view_init makes, around each added
 * element only. */
static int
check_added(const struct kn_set_change *c, struct kn_err *err)
{
	const struct kn_set *s = c->set;

	for (size_t i = 0; i < c->nadded; i++) {
		size_t k = (size_t)(c->added[i] - s->elems);

		for (size_t j = k; j <= k + 1; j++) {
			const struct kn_elem *p, *e;

			if (j == 0 || j >= s->nelems)
				continue;
			p = &s->elems[j - 1];
			e = &s->elems[j];
			if (key_cmp(s->key, s->interval, p, e) >= 0)
				return kn_errf(
					err, -EINVAL,
					"set %s of the new program: elements out of order or "
					"duplicate",
					s->name);
			if (set_is_rbtree(s) && kn_addr_cmp(elem_last(p), &e->addr) >= 0)
				return kn_errf(err, -EINVAL,
					       "set %s of the new program: ranges overlap",
					       s->name);
		}
	}
	return 0;
}

/* The lowest address of a patched set before the patch: the lower of its
 * first removed element and its first element that the patch did not
 * add (added is in the set's order). */
static const struct kn_addr *
patched_old_low(const struct kn_set_change *c)
{
	const struct kn_set *s = c->set;
	const struct kn_addr *low = c->nremoved ? &c->removed[0].addr : NULL;
	size_t k = 0;

	for (size_t i = 0; i < s->nelems; i++) {
		if (k < c->nadded && c->added[k] == &s->elems[i]) {
			k++;
			continue;
		}
		if (!low || kn_addr_cmp(&s->elems[i].addr, low) < 0)
			low = &s->elems[i].addr;
		break;
	}
	return low;
}

static void
plan_patched(struct ctx *x, const struct kn_set_change *c)
{
	struct kn_plan_elems d = {.old = NULL, .set = c->set};

	d.del = xcalloc(c->nremoved + 1, sizeof(*d.del));
	for (size_t i = 0; i < c->nremoved; i++)
		d.del[d.ndel++] = &c->removed[i];
	d.add = xcalloc(c->nadded + 1, sizeof(*d.add));
	memcpy(d.add, c->added, c->nadded * sizeof(*d.add));
	d.nadd = c->nadded;
	if (set_is_rbtree(c->set)) {
		const struct kn_addr *was = patched_old_low(c);
		bool had = was && !addr_is_zero(was);
		bool has = c->set->nelems > 0 && !addr_is_zero(&c->set->elems[0].addr);

		d.del_zero_end = had && !has;
		d.add_zero_end = has && !had;
	}
	if (d.ndel == 0 && d.nadd == 0 && !d.del_zero_end && !d.add_zero_end) {
		free(d.del);
		free(d.add);
		return;
	}
	x->p->st.elems_added += d.nadd;
	x->p->st.elems_deleted += d.ndel;
	*VEC_PUSH(x->p->elems, x->p->nelems, x->elems_cap) = d;
}

/* True when a rule of c refers to a set named in tab. */
static bool
refers_sets(const struct name_tab *tab, const struct kn_chain *c)
{
	for (size_t i = 0; i < c->nrules; i++) {
		const struct kn_rule *r = &c->rules[i];

		for (size_t k = 0; k < r->nm; k++)
			if (tab_get(tab, r->m[k].set) != NONE)
				return true;
		if ((r->verdict == KN_VERDICT_VMAP_SADDR || r->verdict == KN_VERDICT_VMAP_DADDR) &&
		    tab_get(tab, r->target) != NONE)
			return true;
	}
	return false;
}

/* The chains that map elements of the old program pointed at and that
 * the delta removes: the elements that pointed at them are gone with the
 * delta too. */
static void
delta_targets(struct ctx *x, const struct kn_delta *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nsets; i++)
		n += d->sets[i].nremoved + (d->sets[i].old ? d->sets[i].old->nelems : 0);
	tab_init(&x->targets, n);
	for (size_t i = 0; i < d->nsets; i++) {
		const struct kn_set_change *c = &d->sets[i];

		for (size_t k = 0; k < c->nremoved; k++)
			if (c->removed[k].target)
				tab_put(&x->targets, c->removed[k].target, 0);
		for (size_t k = 0; c->old && k < c->old->nelems; k++)
			if (c->old->elems[k].target)
				tab_put(&x->targets, c->old->elems[k].target, 0);
	}
}

/* Whether the old program had a chain of that name: one the delta
 * removed or replaced, or one of the new program the delta did not
 * create. */
static bool
old_has_chain(struct ctx *x, const struct kn_delta *d, const char *name)
{
	size_t j;

	for (size_t i = 0; i < d->nchains; i++) {
		const struct kn_chain_change *c = &d->chains[i];

		if (c->old && strcmp(c->old->name, name) == 0)
			return true;
		if (!c->old && strcmp(c->chain->name, name) == 0)
			return false;
	}
	if (x->new_chains.key == NULL) {
		tab_init(&x->new_chains, x->new->nchains);
		for (j = 0; j < x->new->nchains; j++)
			tab_put(&x->new_chains, x->new->chains[j]->name, j);
	}
	return tab_get(&x->new_chains, name) != NONE;
}

static int
delta_chains(struct ctx *x, const struct kn_delta *d, struct name_tab *filled)
{
	struct kn_plan *p = x->p;
	bool defer = x->opts != NULL && x->opts->defer_chain_delete;

	if (defer)
		delta_targets(x, d);
	for (size_t i = 0; i < d->nchains; i++) {
		const struct kn_chain_change *c = &d->chains[i];

		if (!c->chain) {
			flush_chain(x, c->old);
			if (defer && tab_get(&x->targets, c->old->name) != NONE)
				*VEC_PUSH(p->deferred, p->ndeferred, x->deferred_cap) = c->old;
			else
				del_chain(x, c->old->name);
			continue;
		}
		if (c->old && !chain_def_eq(c->old, c->chain))
			return kn_errf(x->err, -ENOTSUP, "chain %s: its definition changed",
				       c->chain->name);
		if (!c->old) {
			*VEC_PUSH(p->add_chains, p->nadd_chains, x->add_chains_cap) = c->chain;
		} else if (rules_eq(c->old, c->chain)) {
			continue;
		} else {
			p->st.chains_rewritten++;
			flush_chain(x, c->old);
		}
		tab_put(filled, c->chain->name, i);
		if (c->chain->nrules > 0)
			*VEC_PUSH(p->fill, p->nfill, x->fill_cap) = c->chain;
	}
	for (size_t i = 0; x->opts != NULL && i < x->opts->nstale; i++) {
		if (!old_has_chain(x, d, x->opts->stale[i]))
			del_chain(x, x->opts->stale[i]);
	}
	return 0;
}

int
kn_plan_delta(const struct kn_program *new, const struct kn_delta *d,
	      const struct kn_plan_opts *opts, struct kn_plan **ret, struct kn_err *err)
{
	struct name_tab recreated, filled;
	size_t nrecreated = 0;
	struct ctx x;
	struct view v;
	int r;

	if (d->old)
		return kn_plan_diff(d->old, new, opts, ret, err);
	memset(&x, 0, sizeof(x));
	x.old = NULL;
	x.new = new;
	x.opts = opts;
	x.err = err;
	x.p = xcalloc(1, sizeof(*x.p));
	x.p->new = new;
	tab_init(&recreated, d->nsets);
	tab_init(&filled, d->nchains);

	/* Sets: removed, created, re-created when their definition changed
	 * (the rules that use them are rewritten below), or kept. */
	for (size_t i = 0; i < d->nsets; i++) {
		const struct kn_set_change *c = &d->sets[i];

		if (c->patched && c->resized_from) {
			/* Outgrew its size: deleted (by name, which is all a
			 * delete says) and created again with every element. */
			*VEC_PUSH(x.p->del_sets, x.p->ndel_sets, x.del_sets_cap) = c->set;
			*VEC_PUSH(x.p->add_sets, x.p->nadd_sets, x.add_sets_cap) = c->set;
			tab_put(&recreated, c->set->name, i);
			nrecreated++;
			r = view_init(&v, c->set, "new", err);
			view_free(&v);
			if (r < 0)
				goto out;
			x.p->st.elems_added += c->set->nelems;
			continue;
		}
		if (c->patched)
			continue;
		if (c->old && (!c->set || !set_def_eq(c->old, c->set))) {
			*VEC_PUSH(x.p->del_sets, x.p->ndel_sets, x.del_sets_cap) = c->old;
			if (c->set) {
				tab_put(&recreated, c->set->name, i);
				nrecreated++;
			}
		}
		if (c->set && (!c->old || !set_def_eq(c->old, c->set))) {
			*VEC_PUSH(x.p->add_sets, x.p->nadd_sets, x.add_sets_cap) = c->set;
			r = view_init(&v, c->set, "new", err);
			view_free(&v);
			if (r < 0)
				goto out;
			x.p->st.elems_added += c->set->nelems;
		}
	}
	if ((r = delta_chains(&x, d, &filled)) < 0)
		goto out;
	/* The kernel holds a re-created set through the rules that use it:
	 * they go before it and come back after.  Rare (a set changes type
	 * under its name, or outgrows its size, which doubles), so every
	 * chain is looked at. */
	for (size_t i = 0; nrecreated > 0 && i < new->nchains; i++) {
		const struct kn_chain *c = new->chains[i];
		size_t k = tab_get(&filled, c->name);

		if (!refers_sets(&recreated, c))
			continue;
		if (k != NONE) {
			/* Created or rewritten already: it was flushed, unless
			 * new (nothing to flush). */
			continue;
		}
		x.p->st.chains_rewritten++;
		/* Not in the delta with other rules: the old chain had the
		 * same ones, so the new object stands for it. */
		for (k = 0; k < d->nchains; k++)
			if (d->chains[k].chain == c)
				break;
		flush_chain(&x, k < d->nchains && d->chains[k].old ? d->chains[k].old : c);
		if (c->nrules > 0)
			*VEC_PUSH(x.p->fill, x.p->nfill, x.fill_cap) = c;
	}
	/* Elements of the sets kept. */
	for (size_t i = 0; i < d->nsets; i++) {
		const struct kn_set_change *c = &d->sets[i];

		if (c->patched && c->resized_from) {
			continue;
		} else if (c->patched) {
			if ((r = check_added(c, err)) < 0)
				goto out;
			plan_patched(&x, c);
		} else if (c->old && c->set && set_def_eq(c->old, c->set)) {
			if ((r = diff_elems(&x, c->old, c->set)) < 0)
				goto out;
		}
	}
	count(x.p);
	*ret = x.p;
	x.p = NULL;
	r = 0;
out:
	kn_plan_free(x.p);
	tab_free(&recreated);
	tab_free(&filled);
	tab_free(&x.new_chains);
	tab_free(&x.targets);
	return r;
}

void
kn_plan_free(struct kn_plan *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nelems; i++) {
		free(p->elems[i].del);
		free(p->elems[i].add);
	}
	free(p->flush);
	free(p->elems);
	free(p->del_sets);
	free(p->del_chains);
	free(p->add_chains);
	free(p->add_sets);
	free(p->fill);
	free(p->deferred);
	free(p);
}

bool
kn_plan_empty(const struct kn_plan *p)
{
	return p->st.ops == 0 && p->ndeferred == 0;
}
