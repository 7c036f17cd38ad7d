/* The planner: the smallest change that turns the program in the kernel
 * into a new one, as one transaction.
 *
 * The caller keeps the program it last committed (the kernel is never
 * listed back: a listing is as large as the ruleset and its parsing is
 * the cost we avoid).  kn_plan_diff() compares it with the new program
 * by name: pod churn becomes set and map element changes, a policy edit
 * rewrites only that policy's chains and sets.  The netlink backend
 * renders the plan (kn_nl_commit); the plan points into both programs,
 * which must outlive it.
 *
 * The steps, in the order they must reach the kernel so that every
 * message refers only to objects that exist at that point:
 *
 *	1. flush	delete the rules of chains that are rewritten, re-created
 *			or removed (their references to sets and chains go)
 *	2. del elems	element deletes of kept sets and maps (a map element's
 *			reference to its chain goes)
 *	3. del sets	removed and re-created sets (no rule uses them now)
 *	4. del chains	removed and re-created chains (nothing points at them)
 *	5. add chains	new and re-created chains
 *	6. add sets	new and re-created sets
 *	7. add elems	element adds of kept sets; every element of sets of
 *			step 6 (map targets exist since step 5)
 *	8. add rules	rules of chains that are new, re-created or rewritten
 *
 * Deletes come before adds because an element whose payload changes (a
 * map element pointing at another chain, an address now owned by another
 * pod) is the same key deleted and added again, and so is a set or chain
 * re-created under its name; the kernel applies the batch at its end, so
 * packets never see the steps in between.
 */
#ifndef KN_PLAN_H
#define KN_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "decode.h"
#include "program.h"

struct kn_plan_opts {
	/* Kernels before 6.2 release a chain only some time after the
	 * transaction that deleted the last map element pointing at it, so
	 * deleting the chain in that same transaction fails (EBUSY).  When
	 * set, such chains are flushed but kept, and listed in
	 * kn_plan.deferred for the caller to pass back as stale. */
	bool defer_chain_delete;
	/* Chains an earlier plan deferred: in the kernel, empty, no longer
	 * referenced, and not in old.  They are deleted now (and created
	 * again if new has them). */
	const char *const *stale;
	size_t nstale;
};

/* Element changes of a set or map that old and new define alike. */
struct kn_plan_elems {
	/* The set in old (NULL when an incremental compile patched it in
	 * place: kn_plan_delta) and in new. */
	const struct kn_set *old, *set;
	const struct kn_elem **del; /* elements of old, in key order */
	size_t ndel;
	const struct kn_elem **add; /* elements of new, in key order */
	size_t nadd;
	/* Plain interval sets (rbtree): the element that ends a range at
	 * address 0, which nft adds when the first range does not start at
	 * 0, comes and goes with the set's first range. */
	bool del_zero_end, add_zero_end;
};

struct kn_plan_stats {
	size_t chains_added, chains_deleted; /* re-created chains count in both */
	size_t chains_flushed;		     /* rule deletes by chain */
	size_t chains_rewritten;	     /* kept chains whose rules are replaced */
	size_t sets_added, sets_deleted;     /* re-created sets count in both */
	size_t elems_added, elems_deleted;   /* program elements, new sets' included */
	size_t rules_added;
	size_t deferred;
	size_t ops; /* all of the above: objects the transaction touches */
};

struct kn_plan {
	const struct kn_program *old, *new;
	/* 1 */ const struct kn_chain **flush; /* chains of old */
	size_t nflush;
	/* 2, 7 */ struct kn_plan_elems *elems;
	size_t nelems;
	/* 3 */ const struct kn_set **del_sets; /* sets of old */
	size_t ndel_sets;
	/* 4 */ const char **del_chains; /* names of old chains, or stale */
	size_t ndel_chains;
	/* 5 */ const struct kn_chain **add_chains; /* chains of new */
	size_t nadd_chains;
	/* 6 */ const struct kn_set **add_sets; /* sets of new */
	size_t nadd_sets;
	/* 8 */ const struct kn_chain **fill; /* chains of new, in program order */
	size_t nfill;
	/* Chains of old left in the kernel, empty (defer_chain_delete). */
	const struct kn_chain **deferred;
	size_t ndeferred;
	struct kn_plan_stats st;
};

/* Computes the change from old to new, in time linear in the size of both
 * programs.  Returns 0 and sets *ret; -ENOTSUP when the change cannot be
 * made in place and needs a full replacement (another table; with
 * defer_chain_delete, a chain that maps point at re-created); -EINVAL with
 * err->msg naming the object when new is not a valid program (duplicate
 * names or keys, unsorted or overlapping ranges). */
int kn_plan_diff(const struct kn_program *old, const struct kn_program *new,
		 const struct kn_plan_opts *opts, struct kn_plan **ret, struct kn_err *err);

/* The same plan, from what an incremental compile changed (program.h,
 * kn_compiler_update): only the sets and chains the delta names are
 * compared, in time linear in their size, not in the program's.  new is
 * the program after the change; plan->old is NULL (or delta->old when the
 * delta replaced the whole program: then this is kn_plan_diff).  Errors
 * as kn_plan_diff; -ENOTSUP also when a chain is re-created under its
 * name (a definition changed: the table is replaced instead). */
int kn_plan_delta(const struct kn_program *new, const struct kn_delta *delta,
		  const struct kn_plan_opts *opts, struct kn_plan **ret, struct kn_err *err);
void kn_plan_free(struct kn_plan *plan);

/* True when the plan changes nothing. */
bool kn_plan_empty(const struct kn_plan *plan);

#endif
