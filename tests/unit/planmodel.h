/* A model of the kernel's nf_tables for the planner's tests: the sets,
 * elements, chains and rules of one table, with the kernel's rules on
 * references (a set or chain in use cannot be deleted, an element cannot
 * be deleted when absent or added twice, a reference needs its object)
 * and on sizes (a set keeps the size it was made with, and takes no
 * element beyond it).
 * A plan played against the model loaded with the old program must leave
 * exactly what a full load of the new program gives. */
#ifndef KN_PLANMODEL_H
#define KN_PLANMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "program.h"

struct m_elem {
	char *key, *payload;
	char *target; /* map element: the chain it holds */
};

struct m_set {
	const struct kn_set *def;
	uint32_t size; /* def->size when the set was made: fixed */
	struct m_elem *e;
	size_t n, cap;
	bool zero_end;
	int use; /* rules that refer to it */
	bool dead;
};

struct m_chain {
	const struct kn_chain *def; /* NULL: a stale chain, empty */
	const char *name;
	const struct kn_rule **rules;
	size_t nrules, cap;
	int use; /* rules and map elements that refer to it */
	bool dead;
};

struct model {
	struct m_set *s;
	size_t ns, scap;
	struct m_chain *c;
	size_t nc, ccap;
};

/* The kernel after a full load of p. */
void m_load(struct model *m, const struct kn_program *p);
void m_free(struct model *m);
struct m_chain *m_chain(struct model *m, const char *name);
void m_add_chain(struct model *m, const struct kn_chain *c);
/* Plays the plan's steps in their order, as the kernel would check them;
 * fails the test case at the first step the kernel would refuse. */
void m_play(struct model *m, const struct kn_plan *p);
/* The model must now hold exactly what a full load of want gives, plus
 * the deferred chains of p, empty. */
void m_check(struct model *m, const struct kn_program *want, const struct kn_plan *p);

#endif
