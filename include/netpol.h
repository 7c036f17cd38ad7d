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

#endif
