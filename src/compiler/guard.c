/* The API server guard (guard.h).
 *
 * What the kernel matches after DNAT: kube-proxy rewrites a connection to
 * the ClusterIP (10.96.0.1:443) in prerouting, so the forward and input
 * hooks see the endpoint (192.168.1.10:6443).  The server sets hold both
 * forms, the endpoints for DNATed traffic and the ClusterIP for traffic
 * that nobody rewrites (no kube-proxy on this node, or a proxy that works
 * at connect() inside the pod).  `ct original ip daddr` would name the
 * ClusterIP only, and miss pods that connect to an endpoint directly.
 *
 * Direction: the guard drops the pod's packets to the server and the
 * server's packets to the pod, in every conntrack state.  Judging only new
 * connections (like the policies do, after "ct state established accept")
 * would let a connection opened while access was granted live on; the
 * conntrack entries of revoked pods are deleted too (conntrack.h), and the
 * replies are dropped because a connection straight to an endpoint, once
 * its entry is gone, is picked up again by conntrack as new traffic from
 * the server.
 *
 * Which pods: the local pods that would be policy targets (not
 * hostNetwork, not finished, with an address) and that rbac.h says do not
 * need the API server.  A pod that is not in the store yet is not in the
 * set: like NetworkPolicy, the guard is for pods it knows.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "netpol.h"
#include "rbac.h"
#include "util.h"

/* ------------------------------------------------------------ options */

int
kn_guard_mode_parse(const char *s, enum kn_guard_mode *ret)
{
	if (strcmp(s, "off") == 0)
		*ret = KN_GUARD_OFF;
	else if (strcmp(s, "audit") == 0)
		*ret = KN_GUARD_AUDIT;
	else if (strcmp(s, "enforce") == 0)
		*ret = KN_GUARD_ENFORCE;
	else
		return -EINVAL;
	return 0;
}

const char *
kn_guard_mode_name(enum kn_guard_mode m)
{
	switch (m) {
	case KN_GUARD_OFF:
		return "off";
	case KN_GUARD_DEFAULT:
	case KN_GUARD_AUDIT:
		return "audit";
	case KN_GUARD_ENFORCE:
		return "enforce";
	}
	return "?";
}

static int
parse_port(const char *s, uint16_t *ret)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 1 || n > 65535)
		return -EINVAL;
	*ret = (uint16_t)n;
	return 0;
}

int
kn_guard_addr_parse(const char *s, struct kn_guard_addr *ret)
{
	char buf[64];
	const char *colon, *port = NULL;
	struct kn_guard_addr a = {0};
	size_t len;

	if (s[0] == '[') {
		/* [IPV6] or [IPV6]:PORT */
		const char *close = strchr(s, ']');

		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -EINVAL;
		len = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		s++;
	} else if ((colon = strchr(s, ':')) && !strchr(colon + 1, ':')) {
		/* IPV4:PORT */
		len = (size_t)(colon - s);
		port = colon + 1;
	} else {
		/* IPV4, or IPV6 without brackets (and without port) */
		len = strlen(s);
	}
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (kn_addr_parse(buf, &a.addr) < 0)
		return -EINVAL;
	if (port && parse_port(port, &a.port) < 0)
		return -EINVAL;
	*ret = a;
	return 0;
}

/* ------------------------------------------------------------ servers */

struct dest {
	struct kn_guard_dest d;
	const char *comment; /* static or owned by the store */
};

static int
dest_cmp(const void *a, const void *b)
{
	const struct kn_guard_dest *x = &((const struct dest *)a)->d;
	const struct kn_guard_dest *y = &((const struct dest *)b)->d;
	int r = kn_addr_cmp(&x->addr, &y->addr);

	if (r)
		return r;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (x->port_end > y->port_end) - (x->port_end < y->port_end);
}

static void
dest_add(struct dest **v, size_t *n, size_t *cap, const struct kn_addr *a, uint8_t proto,
	 uint16_t lo, uint16_t hi, const char *comment)
{
	struct dest *d = VEC_PUSH(*v, *n, *cap);

	d->d.addr = *a;
	d->d.proto = proto;
	d->d.port = lo;
	d->d.port_end = hi;
	d->comment = comment;
}

/* Collects the API server's destinations: Service default/kubernetes,
 * its EndpointSlices, the configured extra addresses.  Comments point
 * into the store, which outlives the compile. */
static size_t
collect_servers(struct kn_store *s, const struct kn_compile_opts *o, struct dest **ret)
{
	struct kn_endpoint_slice *const *eps;
	const struct kn_service *svc;
	struct dest *v = NULL;
	size_t n = 0, cap = 0, neps;

	svc = kn_store_get_service(s, KN_API_SERVICE_NAMESPACE, KN_API_SERVICE_NAME);
	for (size_t i = 0; svc && i < svc->ncluster_ips; i++)
		for (size_t j = 0; j < svc->nports; j++)
			dest_add(&v, &n, &cap, &svc->cluster_ips[i], svc->ports[j].proto,
				 svc->ports[j].port, svc->ports[j].port,
				 "Service " KN_API_SERVICE_NAMESPACE "/" KN_API_SERVICE_NAME);
	/* A slice port without a number does not restrict the port; a slice
	 * without ports defines none, and its addresses (often a node's)
	 * are not guarded as a whole. */
	neps = kn_store_endpoint_slices(s, &eps);
	for (size_t k = 0; k < neps; k++) {
		const struct kn_endpoint_slice *e = eps[k];

		if (strcmp(e->ns, KN_API_SERVICE_NAMESPACE) != 0 || !e->service ||
		    strcmp(e->service, KN_API_SERVICE_NAME) != 0)
			continue;
		for (size_t i = 0; i < e->naddrs; i++)
			for (size_t j = 0; j < e->nports; j++)
				dest_add(&v, &n, &cap, &e->addrs[i], e->ports[j].proto,
					 e->ports[j].has_port ? e->ports[j].port : 0,
					 e->ports[j].has_port ? e->ports[j].port : 65535,
					 "EndpointSlice " KN_API_SERVICE_NAMESPACE
					 "/" KN_API_SERVICE_NAME);
	}
	/* Extra addresses: TCP, the API server's protocol. */
	for (size_t i = 0; i < o->nguard_servers; i++) {
		const struct kn_guard_addr *a = &o->guard_servers[i];

		dest_add(&v, &n, &cap, &a->addr, KN_PROTO_TCP, a->port, a->port ? a->port : 65535,
			 "--api-server");
	}
	*ret = v;
	return n;
}

/* Fills the server sets.  The kernel refuses overlapping elements in a
 * concatenated interval set, so the port ranges of one address and
 * protocol are merged (an extra address given without a port covers the
 * endpoint's port, say); the first source names the element. */
size_t
kn_guard_fill_servers(struct kn_store *s, const struct kn_compile_opts *o,
		      struct kn_set *sets[KN_GUARD_SERVER_SETS])
{
	struct dest *v = NULL;
	size_t n = collect_servers(s, o, &v), nelems = 0;

	sort_array(v, n, sizeof(*v), dest_cmp);
	for (size_t i = 0; i < n;) {
		struct dest cur = v[i++];
		struct kn_elem *e;

		while (i < n && kn_addr_cmp(&v[i].d.addr, &cur.d.addr) == 0 &&
		       v[i].d.proto == cur.d.proto &&
		       (uint32_t)v[i].d.port <= (uint32_t)cur.d.port_end + 1) {
			if (v[i].d.port_end > cur.d.port_end)
				cur.d.port_end = v[i].d.port_end;
			i++;
		}
		e = kn_set_add_elem(sets[cur.d.addr.family == AF_INET6]);
		e->addr = cur.d.addr;
		e->addr_end = cur.d.addr;
		e->proto = cur.d.proto;
		e->port = cur.d.port;
		e->port_end = cur.d.port_end;
		kn_elem_set_comment(e, cur.comment);
		nelems++;
		/* The address alone (kn_set_finalize drops repeats). */
		e = kn_set_add_elem(sets[2 + (cur.d.addr.family == AF_INET6)]);
		e->addr = cur.d.addr;
		kn_elem_set_comment(e, cur.comment);
	}
	free(v);
	for (int i = 0; i < KN_GUARD_SERVER_SETS; i++)
		kn_set_finalize(sets[i]);
	return nelems;
}

/* ------------------------------------------------------------ pods */

/* The pods the guard judges: those the policies would enforce on this
 * node.  hostNetwork pods carry the node's address, which the guard must
 * not block; finished pods may have handed theirs to a new pod. */
static bool
guarded(const struct kn_pod *pod, const char *node)
{
	if (pod->finished || pod->host_network || pod->nips == 0)
		return false;
	return !node || (pod->node && strcmp(pod->node, node) == 0);
}

bool
kn_guard_judge(struct kn_rbac *rbac, const struct kn_pod *pod, const char *node,
	       struct kn_api_verdict *ret)
{
	if (!guarded(pod, node))
		return false;
	kn_rbac_pod(rbac, pod, ret);
	return true;
}

void
kn_guard_denied_elems(const struct kn_pod *pod, const struct kn_api_verdict *v,
		      struct kn_set *sets[2])
{
	char *comment;

	if (v->allowed)
		return;
	/* "shop/web-1: account has no bindings", cut to fit */
	comment = xasprintf("%s/%s: %s", pod->ns, pod->name, v->why);
	for (size_t a = 0; a < pod->nips; a++) {
		struct kn_elem *e = kn_set_add_elem(sets[pod->ips[a].family == AF_INET6]);

		e->addr = pod->ips[a];
		e->addr_end = pod->ips[a];
		kn_elem_set_comment(e, comment);
	}
	free(comment);
}

static void
fill_denied(struct kn_store *s, const struct kn_compile_opts *o, struct kn_set *sets[2],
	    struct kn_compile_stats *st)
{
	struct kn_rbac *rbac = kn_rbac_new(s, o->guard_bootstrap, o->nguard_bootstrap);
	struct kn_pod *const *pods;
	size_t npods = kn_store_pods(s, &pods);

	for (size_t i = 0; i < npods; i++) {
		struct kn_api_verdict v;

		if (!kn_guard_judge(rbac, pods[i], o->node, &v))
			continue;
		if (v.allowed)
			st->api_allowed++;
		else
			st->api_denied++;
		kn_guard_denied_elems(pods[i], &v, sets);
	}
	kn_set_finalize(sets[0]);
	kn_set_finalize(sets[1]);
	kn_rbac_free(rbac);
}

/* ------------------------------------------------------------ rules */

/* The rules of one family in chain api-guard; audit counts and logs, and
 * enforce drops too:
 *
 *   ip saddr @api-denied-v4 ip daddr . meta l4proto . th dport @api-server-v4
 *	limit rate 10/minute log prefix "kube-nftd api-guard drop: " group 0
 *   ip saddr @api-denied-v4 ip daddr . meta l4proto . th dport @api-server-v4
 *	counter drop
 *   ip daddr @api-denied-v4 ip saddr . meta l4proto . th sport @api-server-v4
 *	counter drop
 *
 * The log comes first and alone: a limit over its rate ends the rule,
 * and must never spare a packet the drop. */
static void
add_family_rules(struct kn_chain *ch, int family, bool enforce)
{
	const char *denied = family == AF_INET ? KN_GUARD_DENIED_V4 : KN_GUARD_DENIED_V6;
	const char *servers = family == AF_INET ? KN_GUARD_SERVERS_V4 : KN_GUARD_SERVERS_V6;
	enum kn_verdict v = enforce ? KN_VERDICT_DROP : KN_VERDICT_NONE;
	struct kn_rule *r;

	r = kn_chain_add_rule(ch, family);
	kn_rule_add_match(r, KN_MATCH_SADDR_SET, denied);
	kn_rule_add_match(r, KN_MATCH_DADDR_PROTO_PORT_SET, servers);
	kn_rule_set_limit(r, KN_GUARD_LOG_RATE, 60);
	kn_rule_set_log(r, KN_GUARD_NFLOG_GROUP,
			enforce ? "kube-nftd api-guard drop: " : "kube-nftd api-guard audit: ");
	kn_rule_set_comment(r, "log pods without API permissions reaching the API server");

	r = kn_chain_add_rule(ch, family);
	kn_rule_add_match(r, KN_MATCH_SADDR_SET, denied);
	kn_rule_add_match(r, KN_MATCH_DADDR_PROTO_PORT_SET, servers);
	r->counter = true;
	kn_rule_set_verdict(r, v, NULL);
	kn_rule_set_comment(r, enforce ? "pods without API permissions to the API server"
				       : "audit: enforce would drop these pods' packets");

	r = kn_chain_add_rule(ch, family);
	kn_rule_add_match(r, KN_MATCH_DADDR_SET, denied);
	kn_rule_add_match(r, KN_MATCH_SADDR_PROTO_SPORT_SET, servers);
	r->counter = true;
	kn_rule_set_verdict(r, v, NULL);
	kn_rule_set_comment(r, enforce ? "the API server to pods without API permissions"
				       : "audit: enforce would drop these replies");
}

/* A base chain that runs the guard for the packets to and from the API
 * server only:
 *
 *   chain api-guard-forward {
 *	type filter hook forward priority filter - 1; policy accept;
 *	ip daddr @api-server-addrs-v4 goto api-guard
 *	ip saddr @api-server-addrs-v4 goto api-guard
 *	ip6 daddr @api-server-addrs-v6 goto api-guard
 *	ip6 saddr @api-server-addrs-v6 goto api-guard
 *   }
 *
 * Every rule of api-guard matches the server's address in one of these
 * directions itself: the dispatch changes no verdict, and spares every
 * other packet the guard's lookups (two lookups in a small hash set
 * instead of three to six, half of them in the server's concatenated
 * interval set).  goto: a packet goes through api-guard once, and what
 * it lets through ends with the base chain's policy, as before. */
static void
add_base(struct kn_program *p, const char *name, enum kn_hook hook, const char *comment)
{
	struct kn_chain *ch = kn_program_add_base_chain(p, name, hook, -1, comment);

	for (int f = 0; f < 2; f++) {
		const char *addrs = f ? KN_GUARD_ADDRS_V6 : KN_GUARD_ADDRS_V4;
		struct kn_rule *r = kn_chain_add_rule(ch, f ? AF_INET6 : AF_INET);

		kn_rule_add_match(r, KN_MATCH_DADDR_SET, addrs);
		kn_rule_set_verdict(r, KN_VERDICT_GOTO, KN_GUARD_CHAIN);
		kn_rule_set_comment(r, "to the API server");
		r = kn_chain_add_rule(ch, f ? AF_INET6 : AF_INET);
		kn_rule_add_match(r, KN_MATCH_SADDR_SET, addrs);
		kn_rule_set_verdict(r, KN_VERDICT_GOTO, KN_GUARD_CHAIN);
		kn_rule_set_comment(r, "from the API server");
	}
}

enum kn_guard_mode
kn_guard_mode_of(const struct kn_compile_opts *o)
{
	return o->guard == KN_GUARD_DEFAULT ? KN_GUARD_AUDIT : o->guard;
}

void
kn_guard_add_sets(struct kn_program *p, struct kn_set *servers[KN_GUARD_SERVER_SETS],
		  struct kn_set *denied[2])
{
	char *comment;

	for (int f = 0; f < 2; f++) {
		comment = xasprintf("the API server (IPv%c): default/kubernetes, its endpoints, "
				    "--api-server",
				    f ? '6' : '4');
		servers[f] = kn_program_add_set(p, f ? KN_GUARD_SERVERS_V6 : KN_GUARD_SERVERS_V4,
						f ? KN_KEY_IPV6_PROTO_PORT : KN_KEY_IPV4_PROTO_PORT,
						true, comment);
		free(comment);
	}
	for (int f = 0; f < 2; f++) {
		comment = xasprintf("the API server's addresses (IPv%c): the packets api-guard "
				    "judges",
				    f ? '6' : '4');
		servers[2 + f] = kn_program_add_set(p, f ? KN_GUARD_ADDRS_V6 : KN_GUARD_ADDRS_V4,
						    f ? KN_KEY_IPV6 : KN_KEY_IPV4, false, comment);
		free(comment);
	}
	for (int f = 0; f < 2; f++)
		denied[f] = kn_program_add_set(p, f ? KN_GUARD_DENIED_V6 : KN_GUARD_DENIED_V4,
					       f ? KN_KEY_IPV6 : KN_KEY_IPV4, false,
					       "local pods without API permissions (or token)");
}

void
kn_guard_add_chains(struct kn_program *p, enum kn_guard_mode mode)
{
	struct kn_chain *ch;
	char *comment;

	comment = xasprintf("API server guard (%s): pods without API permissions",
			    kn_guard_mode_name(mode));
	ch = kn_program_add_chain(p, KN_GUARD_CHAIN, comment);
	free(comment);
	for (int f = 0; f < 2; f++)
		add_family_rules(ch, f ? AF_INET6 : AF_INET, mode == KN_GUARD_ENFORCE);
	add_base(p, KN_GUARD_CHAIN_FORWARD, KN_HOOK_FORWARD,
		 "API server guard, routed traffic; before the policies");
	add_base(p, KN_GUARD_CHAIN_INPUT, KN_HOOK_INPUT,
		 "API server guard, traffic to this node; before the policies");
}

void
kn_guard_compile(struct kn_program *p, struct kn_store *s, const struct kn_compile_opts *o,
		 struct kn_compile_stats *st)
{
	enum kn_guard_mode mode = kn_guard_mode_of(o);
	struct kn_set *servers[KN_GUARD_SERVER_SETS], *denied[2];

	if (mode == KN_GUARD_OFF)
		return;
	kn_guard_add_sets(p, servers, denied);
	st->api_servers = kn_guard_fill_servers(s, o, servers);
	fill_denied(s, o, denied, st);
	kn_guard_add_chains(p, mode);
}

/* ------------------------------------------------------------ revocation */

enum kn_guard_mode
kn_guard_program_mode(const struct kn_program *p)
{
	const struct kn_chain *ch = p ? kn_program_find_chain(p, KN_GUARD_CHAIN) : NULL;

	if (!ch)
		return KN_GUARD_OFF;
	for (size_t i = 0; i < ch->nrules; i++)
		if (ch->rules[i].verdict == KN_VERDICT_DROP)
			return KN_GUARD_ENFORCE;
	return KN_GUARD_AUDIT;
}

/* ------------------------------------------------------------ counters */

const char *const kn_guard_dir_names[KN_GUARD_DIRS] = {
	[KN_GUARD_TO_SERVER] = "to_server",
	[KN_GUARD_FROM_SERVER] = "from_server",
};

/* add_family_rules: the rule that matches the server as destination
 * counts the pods' packets, the one that matches it as source (with its
 * port) the replies. */
int
kn_guard_rule_dir(const struct kn_rule *r)
{
	if (!r->counter)
		return -1;
	for (size_t i = 0; i < r->nm; i++) {
		if (r->m[i].type == KN_MATCH_DADDR_PROTO_PORT_SET)
			return KN_GUARD_TO_SERVER;
		if (r->m[i].type == KN_MATCH_SADDR_PROTO_SPORT_SET)
			return KN_GUARD_FROM_SERVER;
	}
	return -1;
}

static int
elem_addr_cmp(const void *key, const void *elem)
{
	return kn_addr_cmp(key, &((const struct kn_elem *)elem)->addr);
}

/* Elements of the denied sets are single addresses, sorted by
 * kn_set_finalize. */
static bool
set_has(const struct kn_set *s, const struct kn_addr *a)
{
	return s && search_array(a, s->elems, s->nelems, sizeof(*s->elems), elem_addr_cmp);
}

size_t
kn_guard_revoked(const struct kn_program *old, const struct kn_program *new,
		 struct kn_guard_revocation *ret)
{
	static const char *const denied_names[2] = {KN_GUARD_DENIED_V4, KN_GUARD_DENIED_V6};
	static const char *const server_names[2] = {KN_GUARD_SERVERS_V4, KN_GUARD_SERVERS_V6};
	bool old_enforced = old && kn_guard_program_mode(old) == KN_GUARD_ENFORCE;
	size_t scap = 0, dcap = 0;

	memset(ret, 0, sizeof(*ret));
	if (kn_guard_program_mode(new) != KN_GUARD_ENFORCE)
		return 0;
	for (int f = 0; f < 2; f++) {
		const struct kn_set *nd = kn_program_find_set(new, denied_names[f]);
		const struct kn_set *od =
			old_enforced ? kn_program_find_set(old, denied_names[f]) : NULL;
		const struct kn_set *sv = kn_program_find_set(new, server_names[f]);

		for (size_t i = 0; nd && i < nd->nelems; i++)
			if (!od || !set_has(od, &nd->elems[i].addr))
				*VEC_PUSH(ret->srcs, ret->nsrcs, scap) = nd->elems[i].addr;
		for (size_t i = 0; sv && i < sv->nelems; i++) {
			struct kn_guard_dest *d = VEC_PUSH(ret->dsts, ret->ndsts, dcap);

			d->addr = sv->elems[i].addr;
			d->proto = sv->elems[i].proto;
			d->port = sv->elems[i].port;
			d->port_end = sv->elems[i].port_end;
		}
	}
	return ret->nsrcs;
}

static int
elem_cmp_addr(const void *a, const void *b)
{
	return kn_addr_cmp(&((const struct kn_elem *)a)->addr, &((const struct kn_elem *)b)->addr);
}

size_t
kn_guard_revoked_delta(const struct kn_program *p, const struct kn_delta *d,
		       struct kn_guard_revocation *ret)
{
	size_t scap = 0;

	if (d->old)
		return kn_guard_revoked(d->old, p, ret);
	/* The guard's chains are the same before and after a delta (its
	 * mode is an option, and a new option compiles anew): the servers
	 * are new's, and only the addresses the delta denies are new. */
	if (kn_guard_revoked(NULL, p, ret) == 0)
		return 0;
	free(ret->srcs);
	ret->srcs = NULL;
	ret->nsrcs = 0;
	for (size_t i = 0; i < d->nsets; i++) {
		const struct kn_set_change *c = &d->sets[i];

		if (!c->set || (strcmp(c->set->name, KN_GUARD_DENIED_V4) != 0 &&
				strcmp(c->set->name, KN_GUARD_DENIED_V6) != 0))
			continue;
		if (c->patched) {
			for (size_t k = 0; k < c->nadded; k++)
				if (!search_array(c->added[k], c->removed, c->nremoved,
						  sizeof(*c->removed), elem_cmp_addr))
					*VEC_PUSH(ret->srcs, ret->nsrcs, scap) = c->added[k]->addr;
			continue;
		}
		for (size_t k = 0; k < c->set->nelems; k++)
			if (!set_has(c->old, &c->set->elems[k].addr))
				*VEC_PUSH(ret->srcs, ret->nsrcs, scap) = c->set->elems[k].addr;
	}
	return ret->nsrcs;
}

void
kn_guard_revocation_free(struct kn_guard_revocation *rv)
{
	if (!rv)
		return;
	free(rv->srcs);
	free(rv->dsts);
	memset(rv, 0, sizeof(*rv));
}
