/* The kernel model of the planner's tests (planmodel.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "planmodel.h"
#include "util.h"

static char *
elem_key(const struct kn_set *s, const struct kn_elem *e)
{
	char a[64], b[64];
	const struct kn_addr *last = e->addr_end.family ? &e->addr_end : &e->addr;

	kn_addr_fmt(&e->addr, a, sizeof(a));
	if (!s->interval)
		return xasprintf("%s/%u/%u", s->key == KN_KEY_PROTO_PORT ? "-" : a, e->proto,
				 e->port);
	kn_addr_fmt(last, b, sizeof(b));
	if (s->key == KN_KEY_IPV4 || s->key == KN_KEY_IPV6)
		return xasprintf("%s-%s", a, b);
	return xasprintf("%s/%u/%u-%u", s->key == KN_KEY_PROTO_PORT ? "-" : a, e->proto, e->port,
			 e->port_end > e->port ? e->port_end : e->port);
}

static struct m_set *
m_set(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->ns; i++)
		if (!m->s[i].dead && strcmp(m->s[i].def->name, name) == 0)
			return &m->s[i];
	return NULL;
}

struct m_chain *
m_chain(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nc; i++)
		if (!m->c[i].dead && strcmp(m->c[i].name, name) == 0)
			return &m->c[i];
	return NULL;
}

static void
m_elem_add(struct model *m, struct m_set *ms, const struct kn_elem *e)
{
	char *key = elem_key(ms->def, e);
	struct m_elem *me;

	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->e[i].key, key) == 0)
			atf_tc_fail("set %s: element %s added twice", ms->def->name, key);
	/* The kernel counts the elements deleted earlier in the batch out
	 * (set->ndeact), as this model, which deletes them at once. */
	if (ms->size != 0 && ms->n >= ms->size)
		atf_tc_fail("set %s: element %s beyond the set's size %u (ENFILE)", ms->def->name,
			    key, (unsigned)ms->size);
	if (e->target) {
		struct m_chain *t = m_chain(m, e->target);

		if (!t)
			atf_tc_fail("map %s: element %s points at missing chain %s", ms->def->name,
				    key, e->target);
		t->use++;
	}
	me = VEC_PUSH(ms->e, ms->n, ms->cap);
	me->key = key;
	me->payload = xasprintf("%s|%s", e->target ? e->target : "", e->comment ? e->comment : "");
	me->target = e->target ? xstrdup(e->target) : NULL;
}

static void
m_elem_del(struct model *m, struct m_set *ms, const struct kn_elem *e)
{
	char *key = elem_key(ms->def, e);

	for (size_t i = 0; i < ms->n; i++) {
		if (strcmp(ms->e[i].key, key) != 0)
			continue;
		if (ms->e[i].target)
			m_chain(m, ms->e[i].target)->use--;
		free(ms->e[i].key);
		free(ms->e[i].payload);
		free(ms->e[i].target);
		ms->e[i] = ms->e[--ms->n];
		free(key);
		return;
	}
	atf_tc_fail("set %s: deleting absent element %s", ms->def->name, key);
}

/* The sets and chains a rule refers to gain (d = 1) or lose a user. */
static void
m_rule_refs(struct model *m, const struct kn_chain *c, const struct kn_rule *r, int d)
{
	for (size_t k = 0; k < r->nm; k++) {
		struct m_set *s;

		if (!r->m[k].set)
			continue;
		s = m_set(m, r->m[k].set);
		if (!s)
			atf_tc_fail("chain %s: rule refers to missing set %s", c->name,
				    r->m[k].set);
		s->use += d;
	}
	if (r->verdict == KN_VERDICT_JUMP || r->verdict == KN_VERDICT_GOTO) {
		struct m_chain *t = m_chain(m, r->target);

		if (!t)
			atf_tc_fail("chain %s: jump to missing chain %s", c->name, r->target);
		t->use += d;
	} else if (r->verdict == KN_VERDICT_VMAP_SADDR || r->verdict == KN_VERDICT_VMAP_DADDR) {
		struct m_set *s = m_set(m, r->target);

		if (!s)
			atf_tc_fail("chain %s: vmap of missing map %s", c->name, r->target);
		s->use += d;
	}
}

static void
m_add_set(struct model *m, const struct kn_set *s)
{
	struct m_set *ms;

	if (m_set(m, s->name))
		atf_tc_fail("set %s created twice", s->name);
	ms = VEC_PUSH(m->s, m->ns, m->scap);
	memset(ms, 0, sizeof(*ms));
	ms->def = s;
	ms->size = s->size;
}

void
m_add_chain(struct model *m, const struct kn_chain *c)
{
	struct m_chain *mc;

	if (m_chain(m, c->name))
		atf_tc_fail("chain %s created twice", c->name);
	mc = VEC_PUSH(m->c, m->nc, m->ccap);
	memset(mc, 0, sizeof(*mc));
	mc->def = c;
	mc->name = c->name;
}

static void
m_add_rules(struct model *m, const struct kn_chain *c)
{
	struct m_chain *mc = m_chain(m, c->name);

	if (!mc)
		atf_tc_fail("rules added to missing chain %s", c->name);
	mc->def = c;
	for (size_t i = 0; i < c->nrules; i++) {
		m_rule_refs(m, c, &c->rules[i], 1);
		*VEC_PUSH(mc->rules, mc->nrules, mc->cap) = &c->rules[i];
	}
}

static bool
addr_zero(const struct kn_addr *a)
{
	for (int i = 0; i < kn_addr_len(a->family); i++)
		if (a->bytes[i])
			return false;
	return true;
}

static bool
set_rbtree(const struct kn_set *s)
{
	return s->interval && (s->key == KN_KEY_IPV4 || s->key == KN_KEY_IPV6);
}

/* nft's end element at 0: present when the lowest range starts above 0. */
static bool
wants_zero_end(const struct kn_set *s)
{
	const struct kn_elem *low = NULL;

	if (!set_rbtree(s))
		return false;
	for (size_t i = 0; i < s->nelems; i++)
		if (!low || kn_addr_cmp(&s->elems[i].addr, &low->addr) < 0)
			low = &s->elems[i];
	return low && !addr_zero(&low->addr);
}

static void
m_fill_set(struct model *m, struct m_set *ms)
{
	for (size_t i = 0; i < ms->def->nelems; i++)
		m_elem_add(m, ms, &ms->def->elems[i]);
	ms->zero_end = wants_zero_end(ms->def);
}

/* The kernel after a full load of p. */
void
m_load(struct model *m, const struct kn_program *p)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < p->nchains; i++)
		m_add_chain(m, p->chains[i]);
	for (size_t i = 0; i < p->nsets; i++) {
		m_add_set(m, p->sets[i]);
		m_fill_set(m, m_set(m, p->sets[i]->name));
	}
	for (size_t i = 0; i < p->nchains; i++)
		m_add_rules(m, p->chains[i]);
}

void
m_free(struct model *m)
{
	for (size_t i = 0; i < m->ns; i++) {
		for (size_t k = 0; k < m->s[i].n; k++) {
			free(m->s[i].e[k].key);
			free(m->s[i].e[k].payload);
			free(m->s[i].e[k].target);
		}
		free(m->s[i].e);
	}
	for (size_t i = 0; i < m->nc; i++)
		free(m->c[i].rules);
	free(m->s);
	free(m->c);
}

static void
m_flush(struct model *m, const struct kn_chain *c)
{
	struct m_chain *mc = m_chain(m, c->name);

	if (!mc)
		atf_tc_fail("flush of missing chain %s", c->name);
	for (size_t i = 0; i < mc->nrules; i++)
		m_rule_refs(m, c, mc->rules[i], -1);
	mc->nrules = 0;
}

/* Plays the plan's steps in their order, as the kernel would check them. */
void
m_play(struct model *m, const struct kn_plan *p)
{
	for (size_t i = 0; i < p->nflush; i++)
		m_flush(m, p->flush[i]);
	for (size_t i = 0; i < p->nelems; i++) {
		const struct kn_plan_elems *d = &p->elems[i];
		struct m_set *ms = m_set(m, d->set->name);

		ATF_REQUIRE(ms != NULL);
		for (size_t k = 0; k < d->ndel; k++)
			m_elem_del(m, ms, d->del[k]);
		if (d->del_zero_end) {
			ATF_REQUIRE_MSG(ms->zero_end, "set %s: no end element at 0 to delete",
					ms->def->name);
			ms->zero_end = false;
		}
	}
	for (size_t i = 0; i < p->ndel_sets; i++) {
		struct m_set *ms = m_set(m, p->del_sets[i]->name);

		ATF_REQUIRE_MSG(ms != NULL, "deleting missing set %s", p->del_sets[i]->name);
		ATF_REQUIRE_MSG(ms->use == 0, "deleting set %s still used by %d rules",
				ms->def->name, ms->use);
		/* The set's elements go with it, and so do their references
		 * (kernels since 6.2; plan.h). */
		for (size_t k = 0; k < ms->n; k++)
			if (ms->e[k].target)
				m_chain(m, ms->e[k].target)->use--;
		ms->dead = true;
	}
	for (size_t i = 0; i < p->ndel_chains; i++) {
		struct m_chain *mc = m_chain(m, p->del_chains[i]);

		ATF_REQUIRE_MSG(mc != NULL, "deleting missing chain %s", p->del_chains[i]);
		ATF_REQUIRE_MSG(mc->nrules == 0, "deleting chain %s with rules (not flushed)",
				mc->name);
		ATF_REQUIRE_MSG(mc->use == 0, "deleting chain %s still referenced %d times",
				mc->name, mc->use);
		mc->dead = true;
	}
	for (size_t i = 0; i < p->nadd_chains; i++)
		m_add_chain(m, p->add_chains[i]);
	for (size_t i = 0; i < p->nadd_sets; i++)
		m_add_set(m, p->add_sets[i]);
	for (size_t i = 0; i < p->nelems; i++) {
		const struct kn_plan_elems *d = &p->elems[i];
		struct m_set *ms = m_set(m, d->set->name);

		for (size_t k = 0; k < d->nadd; k++)
			m_elem_add(m, ms, d->add[k]);
		if (d->add_zero_end) {
			ATF_REQUIRE_MSG(!ms->zero_end, "set %s: end element at 0 added twice",
					ms->def->name);
			ms->zero_end = true;
		}
		ms->def = d->set;
	}
	for (size_t i = 0; i < p->nadd_sets; i++)
		m_fill_set(m, m_set(m, p->add_sets[i]->name));
	for (size_t i = 0; i < p->nfill; i++)
		m_add_rules(m, p->fill[i]);
}

static bool
chain_same_def(const struct kn_chain *a, const struct kn_chain *b)
{
	return a->hook == b->hook && a->prio == b->prio &&
	       ((!a->comment && !b->comment) ||
		(a->comment && b->comment && strcmp(a->comment, b->comment) == 0));
}

static int
str_cmp(const void *a, const void *b)
{
	const struct m_elem *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* The model must now hold exactly what a full load of want gives, plus
 * the deferred chains, empty. */
void
m_check(struct model *m, const struct kn_program *want, const struct kn_plan *p)
{
	struct model w;
	size_t nsets = 0, nchains = 0;

	m_load(&w, want);
	for (size_t i = 0; i < w.ns; i++) {
		struct m_set *a = m_set(m, w.s[i].def->name), *b = &w.s[i];

		ATF_REQUIRE_MSG(a != NULL, "set %s missing", b->def->name);
		ATF_CHECK_EQ_MSG(a->n, b->n, "set %s: %zu elements, want %zu", b->def->name, a->n,
				 b->n);
		ATF_CHECK_MSG(a->zero_end == b->zero_end, "set %s: end element at 0 is %d",
			      b->def->name, a->zero_end);
		ATF_CHECK_MSG(a->def->key == b->def->key && a->def->interval == b->def->interval &&
				      a->def->vmap == b->def->vmap,
			      "set %s: other definition", b->def->name);
		ATF_CHECK_MSG(a->size == b->size,
			      "set %s: the kernel's is of size %u, the program says %u",
			      b->def->name, (unsigned)a->size, (unsigned)b->size);
		if (a->n != b->n || a->n == 0)
			continue;
		qsort(a->e, a->n, sizeof(*a->e), str_cmp);
		qsort(b->e, b->n, sizeof(*b->e), str_cmp);
		for (size_t k = 0; k < a->n; k++) {
			ATF_CHECK_STREQ(a->e[k].key, b->e[k].key);
			ATF_CHECK_STREQ(a->e[k].payload, b->e[k].payload);
		}
	}
	for (size_t i = 0; i < m->ns; i++)
		nsets += !m->s[i].dead;
	ATF_CHECK_EQ(nsets, w.ns);
	for (size_t i = 0; i < w.nc; i++) {
		struct m_chain *a = m_chain(m, w.c[i].name), *b = &w.c[i];

		ATF_REQUIRE_MSG(a != NULL, "chain %s missing", b->name);
		ATF_CHECK_EQ_MSG(a->nrules, b->nrules, "chain %s: %zu rules, want %zu", b->name,
				 a->nrules, b->nrules);
		for (size_t k = 0; k < a->nrules && k < b->nrules; k++) {
			const struct kn_rule *x = a->rules[k], *y = b->rules[k];

			ATF_CHECK_MSG(x->verdict == y->verdict && x->nm == y->nm &&
					      x->family == y->family,
				      "chain %s: rule %zu differs", b->name, k);
			if ((x->comment || y->comment) &&
			    (!x->comment || !y->comment || strcmp(x->comment, y->comment)))
				atf_tc_fail_nonfatal("chain %s: rule %zu comment differs", b->name,
						     k);
		}
		ATF_CHECK_MSG(a->def && chain_same_def(a->def, b->def),
			      "chain %s: other definition", b->name);
	}
	for (size_t i = 0; i < m->nc; i++)
		nchains += !m->c[i].dead;
	ATF_CHECK_EQ(nchains, w.nc + p->ndeferred);
	for (size_t i = 0; i < p->ndeferred; i++) {
		struct m_chain *a = m_chain(m, p->deferred[i]->name);

		ATF_REQUIRE_MSG(a != NULL && a->nrules == 0, "deferred chain %s not empty",
				p->deferred[i]->name);
	}
	m_free(&w);
}
