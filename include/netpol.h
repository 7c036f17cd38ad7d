/* The NetworkPolicy compiler: a pure function from the store to a
 * program.  No I/O, no globals, no clock.  See docs/ruleset.md for the
 * layout it produces. */
#ifndef KN_NETPOL_H
#define KN_NETPOL_H

#include <stddef.h>

#include "guard.h"
#include "program.h"
#include "store.h"

struct kn_compile_opts {
	const char *node;  /* pods with spec.nodeName == node are enforced */
	const char *table; /* default KN_TABLE_NAME */
	/* The API server guard (guard.h). */
	enum kn_guard_mode guard;		   /* KN_GUARD_DEFAULT: audit */
	const struct kn_guard_addr *guard_servers; /* extra API server addresses */
	size_t nguard_servers;
	const char *const *guard_bootstrap; /* NULL: kn_rbac_bootstrap_roles */
	size_t nguard_bootstrap;
};

struct kn_compile_stats {
	size_t local_pods;	 /* pods enforced on this node */
	size_t isolated_ingress; /* local pods isolated for ingress */
	size_t isolated_egress;
	size_t policies;
	size_t sets, chains, rules, elements;
	/* The API server guard. */
	size_t api_allowed; /* local pods that keep access */
	size_t api_denied;  /* local pods denied (or, in audit, that would be) */
	size_t api_servers; /* API server elements (address . protocol . ports) */
};

/* Never fails (allocation failure aborts).  stats may be NULL. */
struct kn_program *kn_compile(struct kn_store *s, const struct kn_compile_opts *opts,
			      struct kn_compile_stats *stats);

/* The incremental compiler: the program of kn_compile, kept up to date
 * with the store at the cost of what changed.
 *
 * kn_compiler_new compiles the whole store, as kn_compile does, and
 * starts the store's journal (store.h); the compiler must be the
 * journal's only reader, and the store must outlive it.
 * kn_compiler_update brings the program up to date with the changes the
 * journal recorded since, recompiling only the policies, group chains and
 * set elements they touch (or everything, when the journal overflowed),
 * and returns what it changed (program.h), valid until the next update.
 * The program is always the one kn_compile would give for the store.
 * opts is copied, except the strings of guard_bootstrap, which must
 * outlive the compiler.  kn_compiler_free leaves the journal running; it
 * keeps at most KN_COMPILER_MAX_CHANGES objects.  kn_compiler_new starts
 * the journal afresh, which frees the old versions an existing compiler
 * points at: from then on that compiler's program may be read (the daemon
 * compares it with the new one), and the compiler freed, but never
 * updated again. */
struct kn_compiler;

/* The most changed objects an update handles one by one: past this, one
 * compile of the whole store is cheaper (about 30 us per changed pod, 5 ms
 * for the whole 10,000-pod benchmark cluster) and the journal stops
 * keeping old versions. */
#define KN_COMPILER_MAX_CHANGES 256

struct kn_compiler *kn_compiler_new(struct kn_store *s, const struct kn_compile_opts *opts,
				    struct kn_compile_stats *stats);
void kn_compiler_free(struct kn_compiler *cc);
const struct kn_delta *kn_compiler_update(struct kn_compiler *cc, struct kn_compile_stats *stats);
/* The program, owned by the compiler and changed by every update. */
const struct kn_program *kn_compiler_program(const struct kn_compiler *cc);

#endif
