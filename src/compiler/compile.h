/* Internal to src/compiler: the parts of the NetworkPolicy compiler
 * (netpol.c) that the incremental compiler (incr.c) reuses, so that both
 * build every set, element and chain with the same code.  Not a public
 * interface: other modules use netpol.h.
 */
#ifndef KN_COMPILE_H
#define KN_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "netpol.h"

enum dir {
	DIR_INGRESS,
	DIR_EGRESS,
};

extern const char *const np_dir_name[2]; /* "ingress", "egress" */

/* A namespace as the compiler sees it: from a Namespace object, or
 * synthesized for pods whose Namespace is not in the input (offline
 * manifests often omit it); a synthesized one carries only the
 * kubernetes.io/metadata.name label that the API server would set. */
struct ns_view {
	const char *name;
	const struct kn_labels *labels;
	struct kn_labels synth;
	struct kn_label synth_label;
	size_t pod_first, pod_count; /* range in ctx.pods */
};

/* What a policy's set holds, for the incremental compiler. */
enum np_set_role {
	NP_SET_PORTS, /* numeric ports: the policy alone */
	NP_SET_PEERS, /* ipBlocks and peer pods' addresses */
	NP_SET_NAMED, /* named ports of pods */
};

/* Called for every chain and set np_compile_policy creates, in order. */
struct np_hooks {
	void (*chain)(void *arg, struct kn_chain *ch, enum dir d);
	void (*set)(void *arg, struct kn_set *s, enum np_set_role role, enum dir d, size_t rule);
	void *arg;
};

struct ctx {
	const struct kn_compile_opts *opts;
	struct kn_program *p; /* where chains and sets are created */
	struct kn_compile_stats *st;
	struct kn_pod *const *pods; /* sorted by ns, name */
	size_t npods;
	struct ns_view *nss; /* sorted by name */
	size_t nns;
	const struct np_hooks *hooks; /* may be NULL */
	/* The full compile only (kn_compile): */
	struct kn_netpol *const *nps;
	size_t nnps;
	/* per pod: bit 0 local */
	unsigned char *pod_flags;
	/* per local pod: the policies selecting it, per direction */
	size_t **pod_pols[2];
	size_t *pod_npols[2];
};

/* Pods that are policy peers (and, on their node, targets): not finished
 * (their address may belong to a new pod), not hostNetwork (the node's
 * address), with an address. */
bool np_pod_is_peer(const struct kn_pod *pod);
/* A peer that runs on the node (any node when node is NULL). */
bool np_pod_is_local(const struct kn_pod *pod, const char *node);

/* Compiles policy np, which selects the local pods sel (sorted), into
 * c->p: its chains and, per rule, its sets. */
void np_compile_policy(struct ctx *c, const struct kn_netpol *np, const struct kn_pod *const *sel,
		       size_t nsel);

/* True when one of the rule's pod or namespace peers selects pod, whose
 * namespace has the labels nslabels (ipBlocks aside). */
bool np_rule_selects(const struct kn_netpol *np, const struct kn_np_rule *rule,
		     const struct kn_pod *pod, const struct kn_labels *nslabels);
bool np_rule_has_ip_block(const struct kn_np_rule *rule);
/* True when the address lies in one of the rule's ipBlocks, outside
 * that block's except entries. */
bool np_addr_in_blocks(const struct kn_np_rule *rule, const struct kn_addr *addr);
/* The elements a selected peer pod adds to a rule's peer sets, v4 and v6,
 * for every address (the caller leaves out those inside the blocks). */
void np_peer_elems(const struct kn_pod *pod, struct kn_set *v4, struct kn_set *v6);
/* The elements a pod adds to a rule's named-port sets; with only_blocks,
 * for its addresses inside the rule's blocks only. */
void np_named_elems(const struct kn_np_rule *rule, const struct kn_pod *pod, struct kn_set *v4,
		    struct kn_set *v6, bool only_blocks);

/* The group chain of the local pods that the policies pols (in store
 * order) select in direction d: jumps to each policy's chain, then a
 * counted drop. */
struct kn_chain *np_add_group_chain(struct kn_program *p, enum dir d,
				    const struct kn_netpol *const *pols, size_t n);
/* A local pod's elements of the dispatch maps of one direction (v4, v6):
 * its addresses, going to its group chain. */
void np_map_elems(const struct kn_pod *pod, const char *target, struct kn_set *maps[2]);
/* The dispatch maps (maps[dir][family], empty) and the two base chains
 * that look them up. */
void np_add_dispatch(struct kn_program *p, struct kn_set *maps[2][2]);

#endif
