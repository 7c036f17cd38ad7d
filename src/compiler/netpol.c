/* The NetworkPolicy compiler.
 *
 * kn_compile() turns the store into a program (program.h) laid out as
 * docs/ruleset.md describes:
 *
 *   base chains      forward-egress  (hook forward, priority filter)
 *                    forward-ingress (hook forward, priority filter + 1)
 *                    (no input chain: traffic between a pod and its own
 *                    node is always allowed, as Kubernetes specifies)
 *   dispatch maps    egress-v4/-v6, ingress-v4/-v6: local pod address ->
 *                    goto the chain of the pod's policy group
 *   group chains     pods/NS/POLICY/DIR (pods selected by one policy) or
 *                    pods/NS/.HASH/DIR (several): jump to each policy's
 *                    chain, then count and drop
 *   policy chains    np/NS/POLICY/DIR: one or more rules per policy rule,
 *                    each accepting on a match
 *   policy sets      np/NS/POLICY/DIR/N/{peers-v4,peers-v6,ports,
 *                    named-v4,named-v6}
 *
 * Why accept works: egress and ingress are checked in two base chains of
 * the same hook.  An accept ends only the base chain it happens in, so a
 * packet that an egress rule accepts still meets the ingress check of the
 * next base chain; a drop anywhere is final.  A pod-to-pod packet on one
 * node thus passes the source's egress and the destination's ingress.
 *
 * Only policies that select at least one local pod are compiled: the
 * program of a node is proportional to what runs on it, not to the
 * cluster.  Peers come from the whole cluster.
 *
 * The compiler is pure: no I/O, no clock, no globals; the same store
 * gives the same program.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "netpol.h"
#include "selector.h"
#include "util.h"

const char *const np_dir_name[2] = {"ingress", "egress"};
#define dir_name np_dir_name

#define POD_LOCAL 1u

static bool
pod_is_peer(const struct kn_pod *pod)
{
	/* Finished pods may have handed their address to a new pod;
	 * hostNetwork pods carry the node's address, not their own. */
	return !pod->finished && !pod->host_network && pod->nips > 0;
}

bool
np_pod_is_peer(const struct kn_pod *pod)
{
	return pod_is_peer(pod);
}

bool
np_pod_is_local(const struct kn_pod *pod, const char *node)
{
	return pod_is_peer(pod) && (!node || (pod->node && strcmp(pod->node, node) == 0));
}

static int
ns_view_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ns_view *)a)->name, ((const struct ns_view *)b)->name);
}

static struct ns_view *
find_ns(const struct ctx *c, const char *name)
{
	struct ns_view key = {.name = name};

	return search_array(&key, c->nss, c->nns, sizeof(*c->nss), ns_view_cmp);
}

static void
build_namespaces(struct ctx *c, struct kn_store *s)
{
	struct kn_namespace *const *objs;
	size_t nobjs = kn_store_namespaces(s, &objs), cap = 0, i;

	for (i = 0; i < nobjs; i++) {
		struct ns_view *v = VEC_PUSH(c->nss, c->nns, cap);

		memset(v, 0, sizeof(*v));
		v->name = objs[i]->name;
		v->labels = &objs[i]->labels;
	}
	/* Pods are sorted by namespace: one pass finds each namespace's
	 * range and the namespaces that have no object.  The first nobjs
	 * entries come sorted from the store; each namespace without an
	 * object is met once and appended. */
	for (i = 0; i < c->npods;) {
		struct ns_view key = {.name = c->pods[i]->ns};
		const char *ns = key.name;
		size_t j = i;
		struct ns_view *v;

		while (j < c->npods && strcmp(c->pods[j]->ns, ns) == 0)
			j++;
		v = search_array(&key, c->nss, nobjs, sizeof(*c->nss), ns_view_cmp);
		if (!v) {
			v = VEC_PUSH(c->nss, c->nns, cap);
			memset(v, 0, sizeof(*v));
			v->name = ns;
		}
		v->pod_first = i;
		v->pod_count = j - i;
		i = j;
	}
	sort_array(c->nss, c->nns, sizeof(*c->nss), ns_view_cmp);
	/* After the sort: the synthesized labels point into the entries. */
	for (i = 0; i < c->nns; i++) {
		struct ns_view *v = &c->nss[i];

		if (v->labels)
			continue;
		v->synth_label.key = (char *)"kubernetes.io/metadata.name";
		v->synth_label.value = (char *)v->name;
		v->synth.v = &v->synth_label;
		v->synth.n = 1;
		v->labels = &v->synth;
	}
}

/* ------------------------------------------------------------ names */

/* Object names are DNS labels and subdomains, which are valid nft
 * identifiers as they are.  Only their length can exceed the kernel's
 * limit; a long policy name is cut and made unique with a hash. */
#define POLICY_PART_MAX 180

static char *
policy_base(const struct kn_netpol *np)
{
	size_t nlen = strlen(np->ns) + 1 + strlen(np->name);

	if (nlen <= POLICY_PART_MAX)
		return xasprintf("np/%s/%s", np->ns, np->name);
	return xasprintf("np/%s/%.*s~%08llx", np->ns, (int)(POLICY_PART_MAX - strlen(np->ns) - 10),
			 np->name,
			 (unsigned long long)(hash64(np->name, strlen(np->name), HASH64_SEED) &
					      0xffffffffULL));
}

/* ------------------------------------------------------------ selection */

static bool
peer_selects_ns(const struct kn_netpol *np, const struct kn_np_peer *peer,
		const struct ns_view *nsv)
{
	if (peer->has_ip_block)
		return false;
	if (peer->ns_sel)
		return kn_selector_matches(peer->ns_sel, nsv->labels);
	return strcmp(nsv->name, np->ns) == 0;
}

bool
np_rule_selects(const struct kn_netpol *np, const struct kn_np_rule *rule, const struct kn_pod *pod,
		const struct kn_labels *nslabels)
{
	for (size_t k = 0; k < rule->npeers; k++) {
		const struct kn_np_peer *peer = &rule->peers[k];

		if (peer->has_ip_block)
			continue;
		if (peer->ns_sel ? !kn_selector_matches(peer->ns_sel, nslabels)
				 : strcmp(pod->ns, np->ns) != 0)
			continue;
		if (!peer->pod_sel || kn_selector_matches(peer->pod_sel, &pod->labels))
			return true;
	}
	return false;
}

/* Calls fn for every peer-eligible pod selected by one of the rule's
 * pod/namespace peers.  Namespaces are judged once, before their pods,
 * so the cost follows the pods of matching namespaces.  ipBlock peers
 * are handled by the caller. */
static void
for_each_peer_pod(const struct ctx *c, const struct kn_netpol *np, const struct kn_np_rule *rule,
		  void (*fn)(void *arg, const struct kn_pod *pod), void *arg)
{
	bool *ns_ok = xcalloc(rule->npeers ? rule->npeers : 1, sizeof(*ns_ok));

	for (size_t n = 0; n < c->nns; n++) {
		const struct ns_view *nsv = &c->nss[n];
		bool any = false;

		if (nsv->pod_count == 0)
			continue;
		for (size_t k = 0; k < rule->npeers; k++) {
			ns_ok[k] = peer_selects_ns(np, &rule->peers[k], nsv);
			any = any || ns_ok[k];
		}
		if (!any)
			continue;
		for (size_t i = 0; i < nsv->pod_count; i++) {
			const struct kn_pod *pod = c->pods[nsv->pod_first + i];

			if (!pod_is_peer(pod))
				continue;
			for (size_t k = 0; k < rule->npeers; k++) {
				const struct kn_selector *ps = rule->peers[k].pod_sel;

				if (ns_ok[k] && (!ps || kn_selector_matches(ps, &pod->labels))) {
					fn(arg, pod);
					break;
				}
			}
		}
	}
	free(ns_ok);
}

/* ------------------------------------------------------------ sets */

static void
add_addr_elem(struct kn_set *s, const struct kn_addr *first, const struct kn_addr *last,
	      const char *comment)
{
	struct kn_elem *e = kn_set_add_elem(s);

	e->addr = *first;
	e->addr_end = *last;
	if (comment)
		kn_elem_set_comment(e, comment);
}

struct peer_fill {
	struct kn_set *set[2]; /* v4, v6 */
	struct kn_rangeset *blocks[2];
};

static void
peer_fill_pod(void *arg, const struct kn_pod *pod)
{
	struct peer_fill *f = arg;
	char comment[KN_COMMENT_MAX + 1];

	snprintf(comment, sizeof(comment), "%s/%s", pod->ns, pod->name);
	for (size_t i = 0; i < pod->nips; i++) {
		int fi = pod->ips[i].family == AF_INET6;

		/* An address inside an ipBlock is already matched, and the
		 * kernel refuses overlapping intervals. */
		if (kn_rangeset_contains(f->blocks[fi], &pod->ips[i]))
			continue;
		add_addr_elem(f->set[fi], &pod->ips[i], &pod->ips[i], comment);
	}
}

void
np_peer_elems(const struct kn_pod *pod, struct kn_set *v4, struct kn_set *v6)
{
	struct kn_rangeset none[2];
	struct peer_fill f = {{v4, v6}, {&none[0], &none[1]}};

	kn_rangeset_init(&none[0], AF_INET);
	kn_rangeset_init(&none[1], AF_INET6);
	peer_fill_pod(&f, pod);
}

/* Fills the peer sets of a rule: ipBlocks (cidr minus except, merged)
 * and the addresses of every selected pod. */
static void
fill_peer_sets(const struct ctx *c, const struct kn_netpol *np, const struct kn_np_rule *rule,
	       struct kn_set *v4, struct kn_set *v6)
{
	struct kn_rangeset blocks[2];
	struct peer_fill f = {{v4, v6}, {&blocks[0], &blocks[1]}};

	kn_rangeset_init(&blocks[0], AF_INET);
	kn_rangeset_init(&blocks[1], AF_INET6);
	for (size_t k = 0; k < rule->npeers; k++) {
		const struct kn_np_peer *peer = &rule->peers[k];
		struct kn_rangeset one;
		int fi;

		if (!peer->has_ip_block)
			continue;
		fi = peer->cidr.addr.family == AF_INET6;
		/* except applies to its own block only, so subtract it
		 * before merging with the other blocks. */
		kn_rangeset_init(&one, peer->cidr.addr.family);
		kn_rangeset_add_cidr(&one, &peer->cidr);
		for (size_t e = 0; e < peer->nexcept; e++) {
			struct kn_addr lo, hi;

			kn_cidr_range(&peer->except[e], &lo, &hi);
			kn_rangeset_remove(&one, &lo, &hi);
		}
		for (size_t r = 0; r < one.n; r++)
			kn_rangeset_add(&blocks[fi], &one.v[r].first, &one.v[r].last);
		kn_rangeset_free(&one);
	}
	for (int fi = 0; fi < 2; fi++)
		for (size_t r = 0; r < blocks[fi].n; r++)
			add_addr_elem(f.set[fi], &blocks[fi].v[r].first, &blocks[fi].v[r].last,
				      NULL);
	for_each_peer_pod(c, np, rule, peer_fill_pod, &f);
	kn_rangeset_free(&blocks[0]);
	kn_rangeset_free(&blocks[1]);
	kn_set_finalize(v4);
	kn_set_finalize(v6);
}

struct port_range {
	uint8_t proto;
	uint16_t lo, hi;
};

static int
port_range_cmp(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

/* True when one of the rule's numeric ports is a range: an endPort, or
 * a protocol without port (0-65535). */
static bool
rule_has_port_range(const struct kn_np_rule *rule)
{
	for (size_t i = 0; i < rule->nports; i++) {
		const struct kn_np_port *pt = &rule->ports[i];

		if (!pt->port_name && (!pt->has_port || pt->end_port != pt->port))
			return true;
	}
	return false;
}

/* Numeric ports and protocol-only entries.  In an interval set they are
 * merged per protocol: the kernel's concatenated interval sets refuse
 * overlapping elements.  A plain set holds single ports as they are. */
static void
fill_port_set(const struct kn_np_rule *rule, struct kn_set *s)
{
	struct port_range *v = xcalloc(rule->nports, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < rule->nports; i++) {
		const struct kn_np_port *pt = &rule->ports[i];

		if (pt->port_name)
			continue;
		v[n].proto = pt->proto;
		v[n].lo = pt->has_port ? pt->port : 0;
		v[n].hi = pt->has_port ? pt->end_port : 65535;
		n++;
	}
	sort_array(v, n, sizeof(*v), port_range_cmp);
	for (size_t i = 0; i < n;) {
		struct port_range cur = v[i++];
		struct kn_elem *e;

		while (s->interval && i < n && v[i].proto == cur.proto &&
		       (uint32_t)v[i].lo <= (uint32_t)cur.hi + 1) {
			if (v[i].hi > cur.hi)
				cur.hi = v[i].hi;
			i++;
		}
		e = kn_set_add_elem(s);
		e->proto = cur.proto;
		e->port = cur.lo;
		e->port_end = cur.hi;
	}
	free(v);
}

/* True when the rule has an ipBlock of that address family (0: of
 * either). */
static bool
rule_has_ip_block(const struct kn_np_rule *rule, int family)
{
	for (size_t k = 0; k < rule->npeers; k++) {
		const struct kn_np_peer *peer = &rule->peers[k];

		if (peer->has_ip_block && (family == 0 || peer->cidr.addr.family == family))
			return true;
	}
	return false;
}

/* True when the address lies in one of the rule's ipBlocks, outside
 * that block's except entries. */
static bool
addr_in_blocks(const struct kn_np_rule *rule, const struct kn_addr *addr)
{
	for (size_t k = 0; k < rule->npeers; k++) {
		const struct kn_np_peer *peer = &rule->peers[k];
		bool in;

		if (!peer->has_ip_block)
			continue;
		in = kn_cidr_contains(&peer->cidr, addr);
		for (size_t e = 0; in && e < peer->nexcept; e++)
			if (kn_cidr_contains(&peer->except[e], addr))
				in = false;
		if (in)
			return true;
	}
	return false;
}

/* Adds (address . proto . port) for each of the rule's named ports that
 * the pod declares, by name and protocol.  With only_blocks, only the
 * pod's addresses inside the rule's ipBlocks: a block names addresses,
 * not pods, so a pod's IPv6 address is not allowed because its IPv4
 * one lies in an IPv4 block. */
static void
add_named_for_pod(const struct kn_np_rule *rule, const struct kn_pod *pod, struct kn_set *v4,
		  struct kn_set *v6, bool only_blocks)
{
	char comment[KN_COMMENT_MAX + 1];

	for (size_t i = 0; i < rule->nports; i++) {
		const struct kn_np_port *pt = &rule->ports[i];

		if (!pt->port_name)
			continue;
		for (size_t j = 0; j < pod->nports; j++) {
			const struct kn_container_port *cp = &pod->ports[j];

			if (!cp->name || cp->proto != pt->proto || strcmp(cp->name, pt->port_name))
				continue;
			snprintf(comment, sizeof(comment), "%s/%s %s", pod->ns, pod->name,
				 cp->name);
			for (size_t a = 0; a < pod->nips; a++) {
				struct kn_set *s = pod->ips[a].family == AF_INET6 ? v6 : v4;
				struct kn_elem *e;

				if (only_blocks && !addr_in_blocks(rule, &pod->ips[a]))
					continue;
				e = kn_set_add_elem(s);

				e->addr = pod->ips[a];
				e->proto = cp->proto;
				e->port = e->port_end = cp->port;
				kn_elem_set_comment(e, comment);
			}
			break;
		}
	}
}

bool
np_rule_has_ip_block(const struct kn_np_rule *rule)
{
	return rule_has_ip_block(rule, 0);
}

bool
np_addr_in_blocks(const struct kn_np_rule *rule, const struct kn_addr *addr)
{
	return addr_in_blocks(rule, addr);
}

void
np_named_elems(const struct kn_np_rule *rule, const struct kn_pod *pod, struct kn_set *v4,
	       struct kn_set *v6, bool only_blocks)
{
	add_named_for_pod(rule, pod, v4, v6, only_blocks);
}

struct named_fill {
	const struct kn_np_rule *rule;
	struct kn_set *v4, *v6;
};

static void
named_fill_pod(void *arg, const struct kn_pod *pod)
{
	struct named_fill *f = arg;

	add_named_for_pod(f->rule, pod, f->v4, f->v6, false);
}

/* ------------------------------------------------------------ rules */

static bool
rule_has(const struct kn_np_rule *rule, bool named)
{
	for (size_t i = 0; i < rule->nports; i++)
		if ((rule->ports[i].port_name != NULL) == named)
			return true;
	return false;
}

/* Pseudo match type: no match in that slot. */
#define KN_MATCH_NONE ((enum kn_match_type) - 1)

static void
add_accept(struct kn_chain *chain, int family, const char *comment, enum kn_match_type t1,
	   const char *set1, enum kn_match_type t2, const char *set2)
{
	struct kn_rule *r = kn_chain_add_rule(chain, family);

	if (t1 != KN_MATCH_NONE)
		kn_rule_add_match(r, t1, set1);
	if (t2 != KN_MATCH_NONE)
		kn_rule_add_match(r, t2, set2);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	kn_rule_set_comment(r, comment);
}

static void
note_set(const struct ctx *c, struct kn_set *s, enum np_set_role role, enum dir d, size_t idx)
{
	if (c->hooks && c->hooks->set)
		c->hooks->set(c->hooks->arg, s, role, d, idx);
}

/* Compiles rule idx of one direction of a policy into its chain. */
static void
compile_rule(struct ctx *c, const struct kn_netpol *np, enum dir d, size_t idx,
	     const struct kn_np_rule *rule, const char *base, struct kn_chain *chain,
	     const struct kn_pod *const *local_sel, size_t nlocal_sel)
{
	static const enum kn_key_type named_key[2] = {KN_KEY_IPV4_PROTO_PORT,
						      KN_KEY_IPV6_PROTO_PORT};
	static const int fam[2] = {AF_INET, AF_INET6};
	static const char *const fam_sfx[2] = {"v4", "v6"};
	enum kn_match_type peer_match = d == DIR_INGRESS ? KN_MATCH_SADDR_SET : KN_MATCH_DADDR_SET;
	bool has_peers = rule->npeers > 0, all_ports = rule->nports == 0;
	bool numeric = rule_has(rule, false), named = rule_has(rule, true);
	char *what = xasprintf("%s/%s %s[%zu]", np->ns, np->name, dir_name[d], idx);
	char *peers[2] = {NULL, NULL}, *named_sets[2] = {NULL, NULL}, *ports = NULL;

	/* Egress named-port rules fold the peers into their named sets, so
	 * they need no peer set of their own. */
	if (has_peers && (all_ports || numeric || d == DIR_INGRESS)) {
		struct kn_set *ps[2];

		for (int f = 0; f < 2; f++) {
			char *comment = xasprintf("%s %s", what, d == DIR_INGRESS ? "from" : "to");

			peers[f] =
				xasprintf("%s/%s/%zu/peers-%s", base, dir_name[d], idx, fam_sfx[f]);
			/* Pods are single addresses: only an ipBlock of the
			 * family brings ranges.  A plain hash set costs the
			 * kernel far less to fill than an interval set (an
			 * rbtree holding a start and an end element per
			 * address), and a full sync is mostly such elements. */
			ps[f] = kn_program_add_set(c->p, peers[f], f ? KN_KEY_IPV6 : KN_KEY_IPV4,
						   rule_has_ip_block(rule, fam[f]), comment);
			free(comment);
			note_set(c, ps[f], NP_SET_PEERS, d, idx);
		}
		fill_peer_sets(c, np, rule, ps[0], ps[1]);
	}
	if (numeric) {
		char *comment = xasprintf("%s ports", what);
		struct kn_set *s;

		ports = xasprintf("%s/%s/%zu/ports", base, dir_name[d], idx);
		/* As for peers: an interval set (pipapo, in the kernel) only
		 * when a range needs one. */
		s = kn_program_add_set(c->p, ports, KN_KEY_PROTO_PORT, rule_has_port_range(rule),
				       comment);
		note_set(c, s, NP_SET_PORTS, d, idx);
		fill_port_set(rule, s);
		kn_set_finalize(s);
		free(comment);
	}
	if (named) {
		struct kn_set *ns[2];

		for (int f = 0; f < 2; f++) {
			char *comment = xasprintf("%s named ports", what);

			named_sets[f] =
				xasprintf("%s/%s/%zu/named-%s", base, dir_name[d], idx, fam_sfx[f]);
			ns[f] = kn_program_add_set(c->p, named_sets[f], named_key[f], false,
						   comment);
			free(comment);
			note_set(c, ns[f], NP_SET_NAMED, d, idx);
		}
		if (d == DIR_INGRESS) {
			/* Ingress: a named port is resolved on the selected
			 * (destination) pod; only local ones are dispatched
			 * to this chain. */
			for (size_t i = 0; i < nlocal_sel; i++)
				add_named_for_pod(rule, local_sel[i], ns[0], ns[1], false);
		} else if (!has_peers) {
			/* Egress to anywhere: any pod that declares the port. */
			for (size_t i = 0; i < c->npods; i++)
				if (pod_is_peer(c->pods[i]))
					add_named_for_pod(rule, c->pods[i], ns[0], ns[1], false);
		} else {
			/* Egress: resolved on the destination, which must be a
			 * selected pod or a pod inside one of the ipBlocks;
			 * other destinations have no named ports. */
			struct named_fill f = {rule, ns[0], ns[1]};

			for_each_peer_pod(c, np, rule, named_fill_pod, &f);
			/* Every pod is a candidate only when there are blocks. */
			if (rule_has_ip_block(rule, 0)) {
				for (size_t i = 0; i < c->npods; i++)
					if (pod_is_peer(c->pods[i]))
						add_named_for_pod(rule, c->pods[i], ns[0], ns[1],
								  true);
			}
		}
		kn_set_finalize(ns[0]);
		kn_set_finalize(ns[1]);
	}

	/* One accepting rule per family when addresses are matched, one for
	 * both otherwise:
	 *   all ports:  [ip saddr @.../peers-v4] accept
	 *   numeric:    [ip saddr @.../peers-v4] meta l4proto . th dport @.../ports accept
	 *   named:      ingress: [ip saddr @.../peers-v4]
	 *                        ip daddr . meta l4proto . th dport @.../named-v4 accept
	 *               egress:  ip daddr . meta l4proto . th dport @.../named-v4 accept
	 *                        (the set holds only the selected peers) */
	if (all_ports || numeric) {
		for (int f = 0; f < (has_peers ? 2 : 1); f++)
			add_accept(chain, has_peers ? fam[f] : 0, what,
				   has_peers ? peer_match : KN_MATCH_NONE, peers[f],
				   numeric ? KN_MATCH_PROTO_PORT_SET : KN_MATCH_NONE, ports);
	}
	if (named) {
		bool with_peers = has_peers && d == DIR_INGRESS;

		for (int f = 0; f < 2; f++)
			add_accept(chain, fam[f], what,
				   with_peers ? KN_MATCH_SADDR_SET : KN_MATCH_NONE, peers[f],
				   KN_MATCH_DADDR_PROTO_PORT_SET, named_sets[f]);
	}
	for (int f = 0; f < 2; f++) {
		free(peers[f]);
		free(named_sets[f]);
	}
	free(ports);
	free(what);
}

/* ------------------------------------------------------------ policies */

static bool
policy_has_dir(const struct kn_netpol *np, enum dir d)
{
	return d == DIR_INGRESS ? np->ingress : np->egress;
}

void
np_compile_policy(struct ctx *c, const struct kn_netpol *np, const struct kn_pod *const *sel,
		  size_t nsel)
{
	char *base = policy_base(np);

	c->st->policies++;
	for (int d = DIR_INGRESS; d <= DIR_EGRESS; d++) {
		const struct kn_np_rule *rules = d == DIR_INGRESS ? np->in_rules : np->eg_rules;
		size_t nrules = d == DIR_INGRESS ? np->nin : np->neg;
		struct kn_chain *chain;
		char *name, *comment;

		if (!policy_has_dir(np, (enum dir)d))
			continue;
		name = xasprintf("%s/%s", base, dir_name[d]);
		comment = xasprintf("NetworkPolicy %s/%s %s rules", np->ns, np->name, dir_name[d]);
		chain = kn_program_add_chain(c->p, name, comment);
		if (c->hooks && c->hooks->chain)
			c->hooks->chain(c->hooks->arg, chain, (enum dir)d);
		for (size_t r = 0; r < nrules; r++)
			compile_rule(c, np, (enum dir)d, r, &rules[r], base, chain, sel, nsel);
		free(name);
		free(comment);
	}
	free(base);
}

/* Compiles every policy that selects a local pod, and records for each
 * local pod which policies select it. */
static void
compile_policies(struct ctx *c)
{
	size_t *sel = xcalloc(c->npods ? c->npods : 1, sizeof(*sel));
	const struct kn_pod **selp = xcalloc(c->npods ? c->npods : 1, sizeof(*selp));

	for (size_t pi = 0; pi < c->nnps; pi++) {
		const struct kn_netpol *np = c->nps[pi];
		const struct ns_view *nsv = find_ns(c, np->ns);
		size_t nsel = 0;

		if (!nsv)
			continue;
		for (size_t i = 0; i < nsv->pod_count; i++) {
			size_t k = nsv->pod_first + i;

			if ((c->pod_flags[k] & POD_LOCAL) &&
			    kn_selector_matches(&np->pod_sel, &c->pods[k]->labels))
				sel[nsel++] = k;
		}
		if (nsel == 0)
			continue;
		for (size_t i = 0; i < nsel; i++)
			selp[i] = c->pods[sel[i]];
		np_compile_policy(c, np, selp, nsel);
		for (int d = DIR_INGRESS; d <= DIR_EGRESS; d++) {
			if (!policy_has_dir(np, (enum dir)d))
				continue;
			for (size_t i = 0; i < nsel; i++) {
				size_t k = sel[i];

				c->pod_pols[d][k] = xreallocarray(
					c->pod_pols[d][k], c->pod_npols[d][k] + 1, sizeof(size_t));
				c->pod_pols[d][k][c->pod_npols[d][k]++] = pi;
			}
		}
	}
	free(sel);
	free(selp);
}

/* ------------------------------------------------------------ groups */

struct group {
	enum dir d;
	const size_t *pols; /* policy indexes, ascending */
	size_t npols;
	const char *chain;
};

static bool
same_pols(const struct group *g, enum dir d, const size_t *pols, size_t n)
{
	return g->d == d && g->npols == n && memcmp(g->pols, pols, n * sizeof(*pols)) == 0;
}

static char *
group_chain_name(enum dir d, const struct kn_netpol *const *pols, size_t n)
{
	const struct kn_netpol *first = pols[0];
	uint64_t h = HASH64_SEED;
	char *base, *name;

	if (n == 1) {
		/* pods/NS/POLICY/DIR */
		base = policy_base(first);
		name = xasprintf("pods/%s/%s", base + 3, dir_name[d]);
		free(base);
		return name;
	}
	/* pods/NS/.HASH/DIR: a policy name never starts with '.', so this
	 * cannot clash with the single-policy form. */
	for (size_t i = 0; i < n; i++)
		h = hash64(pols[i]->name, strlen(pols[i]->name) + 1, h);
	return xasprintf("pods/%s/.%012llx/%s", first->ns,
			 (unsigned long long)(h & 0xffffffffffffULL), dir_name[d]);
}

static char *
group_comment(enum dir d, const struct kn_netpol *const *pols, size_t n)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_printf(&sb, "%s of pods in %s selected by ", dir_name[d], pols[0]->ns);
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&sb, "%s%s", i ? ", " : "", pols[i]->name);
	return strbuf_steal(&sb);
}

struct kn_chain *
np_add_group_chain(struct kn_program *p, enum dir d, const struct kn_netpol *const *pols, size_t n)
{
	char *name = group_chain_name(d, pols, n), *comment = group_comment(d, pols, n), *dc;
	struct kn_chain *chain = kn_program_add_chain(p, name, comment);
	struct kn_rule *r;

	for (size_t i = 0; i < n; i++) {
		/* jump np/NS/POLICY/DIR */
		char *b = policy_base(pols[i]);
		char *target = xasprintf("%s/%s", b, dir_name[d]);

		r = kn_chain_add_rule(chain, 0);
		kn_rule_set_verdict(r, KN_VERDICT_JUMP, target);
		free(target);
		free(b);
	}
	/* counter drop comment "no ingress rule of these policies allows it" */
	r = kn_chain_add_rule(chain, 0);
	r->counter = true;
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);
	dc = xasprintf("no %s rule of these policies allows it", dir_name[d]);
	kn_rule_set_comment(r, dc);
	free(dc);
	free(name);
	free(comment);
	return chain;
}

void
np_map_elems(const struct kn_pod *pod, const char *target, struct kn_set *maps[2])
{
	char comment[KN_COMMENT_MAX + 1];

	snprintf(comment, sizeof(comment), "%s/%s", pod->ns, pod->name);
	for (size_t a = 0; a < pod->nips; a++) {
		int fi = pod->ips[a].family == AF_INET6;
		struct kn_elem *e = kn_set_add_elem(maps[fi]);

		e->addr = pod->ips[a];
		e->addr_end = pod->ips[a];
		e->target = xstrdup(target);
		kn_elem_set_comment(e, comment);
	}
}

static void
compile_groups(struct ctx *c, struct kn_set *maps[2][2])
{
	struct group *groups = NULL;
	size_t ngroups = 0, cap = 0;
	const struct kn_netpol **nps = xcalloc(c->nnps ? c->nnps : 1, sizeof(*nps));

	for (int d = DIR_INGRESS; d <= DIR_EGRESS; d++) {
		for (size_t k = 0; k < c->npods; k++) {
			const size_t *pols = c->pod_pols[d][k];
			size_t n = c->pod_npols[d][k], g;

			if (n == 0)
				continue;
			for (g = 0; g < ngroups; g++)
				if (same_pols(&groups[g], (enum dir)d, pols, n))
					break;
			if (g == ngroups) {
				struct group *ng = VEC_PUSH(groups, ngroups, cap);

				for (size_t i = 0; i < n; i++)
					nps[i] = c->nps[pols[i]];
				ng->d = (enum dir)d;
				ng->pols = pols;
				ng->npols = n;
				ng->chain = np_add_group_chain(c->p, (enum dir)d, nps, n)->name;
			}
			if (d == DIR_INGRESS)
				c->st->isolated_ingress++;
			else
				c->st->isolated_egress++;
			np_map_elems(c->pods[k], groups[g].chain, maps[d]);
		}
	}
	free(groups);
	free(nps);
}

/* ------------------------------------------------------------ base */

static struct kn_chain *
add_base(struct kn_program *p, const char *name, enum kn_hook hook, int prio, const char *comment)
{
	struct kn_chain *ch = kn_program_add_base_chain(p, name, hook, prio, comment);
	struct kn_rule *r;

	/* ct state established,related accept: replies to allowed
	 * connections, and ICMP errors about them, always pass. */
	r = kn_chain_add_rule(ch, 0);
	kn_rule_add_match(r, KN_MATCH_CT_ESTABLISHED, NULL);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	/* icmpv6 type 133-137 accept: neighbour discovery is never blocked,
	 * or pods would lose their neighbours. */
	r = kn_chain_add_rule(ch, AF_INET6);
	kn_rule_add_match(r, KN_MATCH_ICMPV6_ND, NULL);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	return ch;
}

static void
add_dispatch(struct kn_chain *ch, enum kn_verdict v, const char *v4, const char *v6)
{
	/* ip saddr vmap @egress-v4 (or daddr, ingress) */
	struct kn_rule *r = kn_chain_add_rule(ch, AF_INET);

	kn_rule_set_verdict(r, v, v4);
	r = kn_chain_add_rule(ch, AF_INET6);
	kn_rule_set_verdict(r, v, v6);
}

void
np_add_dispatch(struct kn_program *p, struct kn_set *maps[2][2])
{
	struct kn_chain *fe, *fi;

	maps[DIR_EGRESS][0] =
		kn_program_add_vmap(p, "egress-v4", KN_KEY_IPV4, "local pods isolated for egress");
	maps[DIR_EGRESS][1] =
		kn_program_add_vmap(p, "egress-v6", KN_KEY_IPV6, "local pods isolated for egress");
	maps[DIR_INGRESS][0] = kn_program_add_vmap(p, "ingress-v4", KN_KEY_IPV4,
						   "local pods isolated for ingress");
	maps[DIR_INGRESS][1] = kn_program_add_vmap(p, "ingress-v6", KN_KEY_IPV6,
						   "local pods isolated for ingress");
	fe = add_base(p, "forward-egress", KN_HOOK_FORWARD, 0,
		      "egress policies of local pods, routed traffic");
	fi = add_base(p, "forward-ingress", KN_HOOK_FORWARD, 1, "ingress policies of local pods");
	add_dispatch(fe, KN_VERDICT_VMAP_SADDR, "egress-v4", "egress-v6");
	add_dispatch(fi, KN_VERDICT_VMAP_DADDR, "ingress-v4", "ingress-v6");
}

struct kn_program *
kn_compile(struct kn_store *s, const struct kn_compile_opts *opts, struct kn_compile_stats *stats)
{
	struct kn_compile_stats st_local;
	struct ctx c;
	struct kn_set *maps[2][2];
	size_t nguard;

	memset(&c, 0, sizeof(c));
	memset(&st_local, 0, sizeof(st_local));
	c.opts = opts;
	c.st = stats ? stats : &st_local;
	memset(c.st, 0, sizeof(*c.st));
	c.p = kn_program_new(opts->table ? opts->table : KN_TABLE_NAME);
	c.npods = kn_store_pods(s, &c.pods);
	c.nnps = kn_store_netpols(s, &c.nps);
	build_namespaces(&c, s);

	c.pod_flags = xcalloc(c.npods ? c.npods : 1, 1);
	for (int d = 0; d < 2; d++) {
		c.pod_pols[d] = xcalloc(c.npods ? c.npods : 1, sizeof(*c.pod_pols[d]));
		c.pod_npols[d] = xcalloc(c.npods ? c.npods : 1, sizeof(*c.pod_npols[d]));
	}
	for (size_t i = 0; i < c.npods; i++) {
		if (np_pod_is_local(c.pods[i], opts->node)) {
			c.pod_flags[i] |= POD_LOCAL;
			c.st->local_pods++;
		}
	}

	/* The API server guard comes first: it runs before the policies
	 * (priority filter - 1), and reads so in the listing. */
	kn_guard_compile(c.p, s, opts, c.st);
	nguard = c.p->nchains;

	/* The dispatch maps come first so that they lead the listing. */
	np_add_dispatch(c.p, maps);

	compile_policies(&c);
	compile_groups(&c, maps);
	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			kn_set_finalize(maps[d][f]);

	/* Group chains are created after the policy chains they jump to;
	 * list them before the policies, as an operator reads top-down. */
	{
		size_t first_group = nguard + 2, npolchains = 0;

		for (size_t i = first_group; i < c.p->nchains; i++)
			if (strncmp(c.p->chains[i]->name, "np/", 3) == 0)
				npolchains++;
		if (npolchains && npolchains < c.p->nchains - first_group) {
			struct kn_chain **tmp = xcalloc(c.p->nchains, sizeof(*tmp));
			size_t n = 0;

			for (size_t i = 0; i < first_group; i++)
				tmp[n++] = c.p->chains[i];
			for (size_t i = first_group; i < c.p->nchains; i++)
				if (strncmp(c.p->chains[i]->name, "np/", 3) != 0)
					tmp[n++] = c.p->chains[i];
			for (size_t i = first_group; i < c.p->nchains; i++)
				if (strncmp(c.p->chains[i]->name, "np/", 3) == 0)
					tmp[n++] = c.p->chains[i];
			memcpy(c.p->chains, tmp, n * sizeof(*tmp));
			free(tmp);
		}
	}

	kn_program_size_sets(c.p);
	c.st->sets = c.p->nsets;
	c.st->chains = c.p->nchains;
	for (size_t i = 0; i < c.p->nsets; i++)
		c.st->elements += c.p->sets[i]->nelems;
	for (size_t i = 0; i < c.p->nchains; i++)
		c.st->rules += c.p->chains[i]->nrules;

	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < c.npods; i++)
			free(c.pod_pols[d][i]);
		free(c.pod_pols[d]);
		free(c.pod_npols[d]);
	}
	free(c.pod_flags);
	free(c.nss);
	return c.p;
}
