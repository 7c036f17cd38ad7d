/* The program IR: construction, lookup, ordering and comparison. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "program.h"
#include "util.h"

struct kn_program *
kn_program_new(const char *table)
{
	struct kn_program *p = xcalloc(1, sizeof(*p));

	p->table = xstrdup(table ? table : KN_TABLE_NAME);
	return p;
}

static void
elem_free(struct kn_elem *e)
{
	free(e->target);
	free(e->comment);
}

void
kn_set_free(struct kn_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nelems; i++)
		elem_free(&s->elems[i]);
	free(s->elems);
	free(s->name);
	free(s->comment);
	free(s);
}

static void
rule_free(struct kn_rule *r)
{
	for (size_t i = 0; i < r->nm; i++)
		free(r->m[i].set);
	free(r->target);
	free(r->comment);
	free(r->log_prefix);
}

void
kn_chain_free(struct kn_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	free(c->name);
	free(c->comment);
	free(c);
}

void
kn_program_free(struct kn_program *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsets; i++)
		kn_set_free(p->sets[i]);
	for (size_t i = 0; i < p->nchains; i++)
		kn_chain_free(p->chains[i]);
	free(p->sets);
	free(p->chains);
	free(p->table);
	free(p);
}

char *
kn_comment_dup(const char *s)
{
	size_t n;
	char *c;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n > KN_COMMENT_MAX) {
		/* Cutting before a UTF-8 continuation byte never lands in the
		 * middle of a character. */
		n = KN_COMMENT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	c = xstrndup(s, n);
	/* nft's string syntax has no escapes: a double quote (or a control
	 * character) would end or corrupt the comment in the text backend,
	 * and both backends must program the same bytes. */
	for (char *q = c; *q; q++)
		if (*q == '"' || (unsigned char)*q < 0x20)
			*q = '\'';
	return c;
}

static struct kn_set *
add_set(struct kn_program *p, const char *name, enum kn_key_type key, bool interval, bool vmap,
	const char *comment)
{
	struct kn_set *s = xcalloc(1, sizeof(*s));

	s->name = xstrndup(name, KN_NAME_MAX);
	s->comment = kn_comment_dup(comment);
	s->key = key;
	s->interval = interval;
	s->vmap = vmap;
	*VEC_PUSH(p->sets, p->nsets, p->sets_cap) = s;
	return s;
}

struct kn_set *
kn_program_add_set(struct kn_program *p, const char *name, enum kn_key_type key, bool interval,
		   const char *comment)
{
	return add_set(p, name, key, interval, false, comment);
}

struct kn_set *
kn_program_add_vmap(struct kn_program *p, const char *name, enum kn_key_type key,
		    const char *comment)
{
	return add_set(p, name, key, false, true, comment);
}

static struct kn_chain *
add_chain(struct kn_program *p, const char *name, enum kn_hook hook, int prio, const char *comment)
{
	struct kn_chain *c = xcalloc(1, sizeof(*c));

	c->name = xstrndup(name, KN_NAME_MAX);
	c->comment = kn_comment_dup(comment);
	c->hook = hook;
	c->prio = prio;
	*VEC_PUSH(p->chains, p->nchains, p->chains_cap) = c;
	return c;
}

struct kn_chain *
kn_program_add_chain(struct kn_program *p, const char *name, const char *comment)
{
	return add_chain(p, name, KN_HOOK_NONE, 0, comment);
}

struct kn_chain *
kn_program_add_base_chain(struct kn_program *p, const char *name, enum kn_hook hook, int prio,
			  const char *comment)
{
	return add_chain(p, name, hook, prio, comment);
}

struct kn_set *
kn_program_find_set(const struct kn_program *p, const char *name)
{
	for (size_t i = 0; i < p->nsets; i++)
		if (strcmp(p->sets[i]->name, name) == 0)
			return p->sets[i];
	return NULL;
}

struct kn_chain *
kn_program_find_chain(const struct kn_program *p, const char *name)
{
	for (size_t i = 0; i < p->nchains; i++)
		if (strcmp(p->chains[i]->name, name) == 0)
			return p->chains[i];
	return NULL;
}

struct kn_elem *
kn_set_add_elem(struct kn_set *s)
{
	struct kn_elem *e = VEC_PUSH(s->elems, s->nelems, s->cap);

	memset(e, 0, sizeof(*e));
	return e;
}

void
kn_elem_set_comment(struct kn_elem *e, const char *comment)
{
	free(e->comment);
	e->comment = kn_comment_dup(comment);
}

static int
elem_cmp(const void *a, const void *b)
{
	const struct kn_elem *x = a, *y = b;
	int r;

	r = kn_addr_cmp(&x->addr, &y->addr);
	if (r)
		return r;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	r = kn_addr_cmp(&x->addr_end, &y->addr_end);
	if (r)
		return r;
	if (x->port_end != y->port_end)
		return x->port_end < y->port_end ? -1 : 1;
	return 0;
}

int
kn_elem_cmp(const struct kn_elem *a, const struct kn_elem *b)
{
	return elem_cmp(a, b);
}

static int
str_cmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return a ? 1 : b ? -1 : 0;
	return strcmp(a, b);
}

/* Key order, then target and comment: a total order, so that the
 * element kept among duplicates of a key does not depend on qsort. */
static int
elem_cmp_total(const void *a, const void *b)
{
	const struct kn_elem *x = a, *y = b;
	int r = elem_cmp(a, b);

	if (r)
		return r;
	r = str_cmp_null(x->target, y->target);
	if (r)
		return r;
	return str_cmp_null(x->comment, y->comment);
}

void
kn_set_finalize(struct kn_set *s)
{
	size_t i, j;

	if (s->nelems < 2)
		return;
	/* Duplicate keys (a pod address in two peers, or two pods claiming
	 * one address) keep the smallest target and comment: deterministic,
	 * and the kernel rejects duplicate keys in one batch. */
	sort_array(s->elems, s->nelems, sizeof(*s->elems), elem_cmp_total);
	for (i = 0, j = 1; j < s->nelems; j++) {
		if (elem_cmp(&s->elems[i], &s->elems[j]) == 0) {
			elem_free(&s->elems[j]);
			continue;
		}
		s->elems[++i] = s->elems[j];
	}
	s->nelems = i + 1;
}

uint32_t
kn_set_size_for(const struct kn_set *s)
{
	uint32_t size = KN_SET_SIZE_MIN;
	size_t nelems = s->nelems;

	if (s->interval)
		return 0;
	/* The kernel's size is 32 bits: beyond 2^30 elements, no size. */
	if (nelems > UINT32_MAX / 4)
		return 0;
	while (size < 2 * nelems)
		size <<= 1;
	return size;
}

void
kn_program_size_sets(struct kn_program *p)
{
	for (size_t i = 0; i < p->nsets; i++)
		p->sets[i]->size = kn_set_size_for(p->sets[i]);
}

struct kn_rule *
kn_chain_add_rule(struct kn_chain *c, int family)
{
	struct kn_rule *r = VEC_PUSH(c->rules, c->nrules, c->cap);

	memset(r, 0, sizeof(*r));
	r->family = family;
	return r;
}

void
kn_rule_add_match(struct kn_rule *r, enum kn_match_type type, const char *set)
{
	if (r->nm >= KN_RULE_MAX_MATCH)
		abort(); /* a compiler bug, not an input problem */
	r->m[r->nm].type = type;
	r->m[r->nm].set = set ? xstrdup(set) : NULL;
	r->nm++;
}

void
kn_rule_set_verdict(struct kn_rule *r, enum kn_verdict v, const char *target)
{
	r->verdict = v;
	free(r->target);
	r->target = target ? xstrdup(target) : NULL;
}

void
kn_rule_set_comment(struct kn_rule *r, const char *comment)
{
	free(r->comment);
	r->comment = kn_comment_dup(comment);
}

void
kn_rule_set_limit(struct kn_rule *r, uint32_t rate, uint32_t unit)
{
	r->limit_rate = rate;
	r->limit_unit = unit;
}

void
kn_rule_set_log(struct kn_rule *r, uint16_t group, const char *prefix)
{
	r->log = true;
	r->log_group = group;
	free(r->log_prefix);
	r->log_prefix = NULL;
	/* The same cleaning and bound as comments (KN_COMMENT_MAX is
	 * KN_LOG_PREFIX_MAX): nft's strings have no escapes. */
	if (prefix)
		r->log_prefix = kn_comment_dup(prefix);
}

static bool
set_equal(const struct kn_set *a, const struct kn_set *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->comment, b->comment) || a->key != b->key ||
	    a->interval != b->interval || a->vmap != b->vmap || a->size != b->size ||
	    a->nelems != b->nelems)
		return false;
	for (size_t i = 0; i < a->nelems; i++) {
		const struct kn_elem *x = &a->elems[i], *y = &b->elems[i];

		if (elem_cmp(x, y) || !str_eq(x->target, y->target) ||
		    !str_eq(x->comment, y->comment))
			return false;
	}
	return true;
}

bool
kn_rule_equal(const struct kn_rule *a, const struct kn_rule *b)
{
	if (a->family != b->family || a->nm != b->nm || a->counter != b->counter ||
	    a->verdict != b->verdict || !str_eq(a->target, b->target) ||
	    !str_eq(a->comment, b->comment))
		return false;
	if (a->limit_rate != b->limit_rate || a->limit_unit != b->limit_unit || a->log != b->log ||
	    a->log_group != b->log_group || !str_eq(a->log_prefix, b->log_prefix))
		return false;
	for (size_t i = 0; i < a->nm; i++)
		if (a->m[i].type != b->m[i].type || !str_eq(a->m[i].set, b->m[i].set))
			return false;
	return true;
}

static bool
chain_equal(const struct kn_chain *a, const struct kn_chain *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->comment, b->comment) || a->hook != b->hook ||
	    a->prio != b->prio || a->nrules != b->nrules)
		return false;
	for (size_t i = 0; i < a->nrules; i++)
		if (!kn_rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}

bool
kn_program_equal(const struct kn_program *a, const struct kn_program *b)
{
	if (!str_eq(a->table, b->table) || a->nsets != b->nsets || a->nchains != b->nchains)
		return false;
	for (size_t i = 0; i < a->nsets; i++)
		if (!set_equal(a->sets[i], b->sets[i]))
			return false;
	for (size_t i = 0; i < a->nchains; i++)
		if (!chain_equal(a->chains[i], b->chains[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------ deltas */

void
kn_delta_clear(struct kn_delta *d)
{
	for (size_t i = 0; i < d->nsets; i++) {
		struct kn_set_change *c = &d->sets[i];

		kn_set_free(c->old);
		for (size_t k = 0; k < c->nremoved; k++)
			elem_free(&c->removed[k]);
		free(c->removed);
		free(c->added);
	}
	for (size_t i = 0; i < d->nchains; i++)
		kn_chain_free(d->chains[i].old);
	kn_program_free(d->old);
	d->old = NULL;
	d->nsets = 0;
	d->nchains = 0;
}

void
kn_delta_free(struct kn_delta *d)
{
	if (!d)
		return;
	kn_delta_clear(d);
	free(d->sets);
	free(d->chains);
	memset(d, 0, sizeof(*d));
}
