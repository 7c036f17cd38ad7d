/* The incremental compiler (netpol.h, kn_compiler).
 *
 * kn_compile builds the whole program from the store: at 10,000 pods,
 * milliseconds for every event, nearly all of it spent on parts that the
 * event did not touch.  kn_compiler keeps its program, and for each part
 * what the part was made from, and after a change rebuilds only what the
 * change touched, with the same functions kn_compile uses (compile.h):
 *
 *  - a policy (a fragment: its chains and sets), compiled again as a
 *    whole when the policy changes, when it starts or stops selecting a
 *    local pod, or when a namespace changes labels in a way that one of
 *    its peers' namespace selectors notices;
 *  - the elements of single addresses in the sets that follow pods (peer
 *    and named-port sets, the dispatch maps, the guard's denied sets).
 *    An element's key holds the address of the pod it comes from, so
 *    the elements of an address are a function of the pods that hold it:
 *    when a pod changes, the elements of its old and new addresses are
 *    computed again from the pods that hold them now (an index by
 *    address), in the sets whose rules select the old or the new version
 *    of the pod;
 *  - the group chain of a local pod, when the pod or a policy of its
 *    namespace changes;
 *  - the guard's sets as a whole, when RBAC objects, the API server's
 *    Service or its EndpointSlices change.
 *
 * What changed comes from the store's journal, with the version each
 * object had at the last update: the old labels and addresses of a pod,
 * the old labels of a namespace.  Every pointer the compiler keeps into
 * the store is to the version of the last update: the journal keeps those
 * alive until the update has moved to the new ones.
 *
 * The program is changed in place.  The update returns a delta
 * (program.h) naming every set and chain it replaced, removed, created or
 * patched, with what went, and the planner compares only those
 * (kn_plan_delta).  The program equals kn_compile's for the same store,
 * object for object and in the same order, but for the sizes of hash
 * sets, which it keeps while their elements fit (size_delta): the unit
 * tests check it after every step of long random sequences of changes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "guard.h"
#include "netpol.h"
#include "rbac.h"
#include "selector.h"
#include "util.h"

#define NONE SIZE_MAX

/* ------------------------------------------------------------ state */

/* How the elements of a set follow the pods. */
enum gen_kind {
	GEN_FIXED,  /* numeric ports: the policy alone */
	GEN_PEERS,  /* a rule's peer pods (np_peer_elems) */
	GEN_NAMED,  /* a rule's named ports (np_named_elems) */
	GEN_MAP,    /* dispatch: local pods to their group chain */
	GEN_DENIED, /* the guard's denied local pods */
};

struct frag;

/* A set of the program, and the addresses whose elements an update must
 * compute again. */
struct gen {
	struct kn_set *set;
	enum gen_kind kind;
	enum dir d;
	size_t rule;	   /* GEN_PEERS, GEN_NAMED: index in the direction's rules */
	struct frag *frag; /* GEN_PEERS, GEN_NAMED */
	struct kn_addr *dirty;
	size_t ndirty, dirty_cap;
};

/* A compiled policy: one that selects a local pod. */
struct frag {
	char *ns, *name;
	const struct kn_netpol *np; /* the store's version */
	struct kn_chain *chains[2]; /* per direction; NULL when it has none */
	struct gen *gens;	    /* its sets, in the order kn_compile makes them */
	size_t ngens, gens_cap;
	size_t nlocal; /* local pods it selects */
	bool rebuild;  /* compile again (or remove) in this update */
	bool removed;
};

/* The local pods that the same policies select, in one direction, share
 * a group chain. */
struct group {
	enum dir d;
	struct frag **pols; /* in store order */
	size_t npols;
	struct kn_chain *chain;
	size_t refs;  /* local pods in it */
	size_t order; /* scratch: position among the group chains */
};

/* A pod that policies would enforce on this node (np_pod_is_local). */
struct lpod {
	const struct kn_pod *pod;
	struct group *group[2];
	bool judged; /* the guard's verdict below is valid */
	struct kn_api_verdict api;
	bool regroup; /* its groups are to be computed again */
};

/* A namespace: with an object, or with pods and no object. */
struct nsent {
	char *name;
	const struct kn_labels *labels; /* the object's, or synth */
	struct kn_labels synth;
	struct kn_label synth_label;
	bool has_obj;
	size_t npods;
};

/* Every address of every pod in the store, with its pod: a multimap
 * with linear probing, at most half full.  A slot names the address by
 * its pod and its index there (16 bytes a slot, not 32). */
struct ai_slot {
	const struct kn_pod *pod; /* NULL: empty */
	uint32_t hash;		  /* addr_hash, whose low bits pick the slot */
	uint32_t ip;		  /* the address: pod->ips[ip] */
};

struct addr_index {
	struct ai_slot *v;
	size_t cap, n;
};

struct kn_compiler {
	struct kn_store *s;
	struct kn_compile_opts opts; /* copied: node, table, guard_servers */
	enum kn_guard_mode guard;
	struct kn_program *p;
	struct kn_delta delta;
	struct kn_compile_stats st;

	struct kn_set *servers[KN_GUARD_SERVER_SETS];
	struct gen denied[2];
	struct kn_chain *guard_chains[3];
	struct gen maps[2][2]; /* [dir][family] */
	struct kn_chain *base[2];
	struct frag **frags; /* sorted by ns, name */
	size_t nfrags, frags_cap;
	struct group **groups;
	size_t ngroups, groups_cap;
	struct lpod *lpods; /* sorted by ns, name */
	size_t nlpods, lpods_cap;
	struct nsent **nss; /* sorted by name */
	size_t nnss, nss_cap;
	struct addr_index ai;

	/* One update's scratch. */
	struct kn_rbac *rbac;
	struct kn_set *tmp[2]; /* contributions, v4 and v6 */
	struct ctx cx;	       /* for np_compile_policy, once prepared */
	struct np_hooks hooks;
	bool cx_ready;
	struct ns_view *cx_nss;
	size_t cx_nss_cap;
	struct kn_compile_stats cx_st;
	struct frag *building;
};

static int
key_cmp(const char *ans, const char *aname, const char *bns, const char *bname)
{
	int c = strcmp(ans, bns);

	return c ? c : strcmp(aname, bname);
}

static int
family_index(const struct kn_addr *a)
{
	return a->family == AF_INET6;
}

/* The family of a set's addresses. */
static int
set_family(const struct kn_set *s)
{
	return s->key == KN_KEY_IPV6 || s->key == KN_KEY_IPV6_PROTO_PORT ? AF_INET6 : AF_INET;
}

/* ------------------------------------------------------------ address index */

/* The address's bytes folded into 64 bits, then mixed: pod addresses
 * differ mostly in their last bytes, which must reach the low bits that
 * pick the slot.  (Byte-wise FNV-1a cost a third of building the index
 * at 10,000 pods.) */
static uint64_t
addr_hash(const struct kn_addr *a)
{
	uint64_t w[2] = {0, 0};

	memcpy(w, a->bytes, (size_t)kn_addr_len(a->family));
	return hash_mix64(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ a->family);
}

static bool
addr_eq(const struct kn_addr *a, const struct kn_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, (size_t)kn_addr_len(a->family)) == 0;
}

static const struct kn_addr *
ai_addr(const struct ai_slot *e)
{
	return &e->pod->ips[e->ip];
}

/* Makes room for n entries in all. */
static void
ai_reserve(struct addr_index *ai, size_t n)
{
	struct ai_slot *old = ai->v;
	size_t ocap = ai->cap, cap = ai->cap ? ai->cap : 256;

	while (n * 2 > cap)
		cap *= 2;
	if (cap == ocap)
		return;
	ai->v = xcalloc(cap, sizeof(*ai->v));
	ai->cap = cap;
	for (size_t k = 0; k < ocap; k++) {
		size_t i;

		if (!old[k].pod)
			continue;
		for (i = old[k].hash & (cap - 1); ai->v[i].pod; i = (i + 1) & (cap - 1))
			;
		ai->v[i] = old[k];
	}
	free(old);
}

static void
ai_put(struct addr_index *ai, const struct kn_pod *pod, size_t ip)
{
	uint32_t h = (uint32_t)addr_hash(&pod->ips[ip]);
	size_t i;

	ai_reserve(ai, ai->n + 1);
	for (i = h & (ai->cap - 1); ai->v[i].pod; i = (i + 1) & (ai->cap - 1))
		;
	ai->v[i].pod = pod;
	ai->v[i].hash = h;
	ai->v[i].ip = (uint32_t)ip;
	ai->n++;
}

/* Backward-shift deletion, as in the store's table. */
static void
ai_del(struct addr_index *ai, const struct kn_pod *pod, size_t ip)
{
	size_t mask = ai->cap - 1, i, j;

	if (!ai->cap)
		return;
	for (i = (uint32_t)addr_hash(&pod->ips[ip]) & mask; ai->v[i].pod; i = (i + 1) & mask)
		if (ai->v[i].pod == pod && ai->v[i].ip == ip)
			break;
	if (!ai->v[i].pod)
		return;
	memset(&ai->v[i], 0, sizeof(ai->v[i]));
	ai->n--;
	for (j = i;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!ai->v[j].pod)
			break;
		home = ai->v[j].hash & mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		ai->v[i] = ai->v[j];
		memset(&ai->v[j], 0, sizeof(ai->v[j]));
		i = j;
	}
}

static void
ai_pod(struct addr_index *ai, const struct kn_pod *pod, bool add)
{
	for (size_t i = 0; pod && i < pod->nips; i++) {
		if (add)
			ai_put(ai, pod, i);
		else
			ai_del(ai, pod, i);
	}
}

/* ------------------------------------------------------------ namespaces */

static int
nsent_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct nsent *const *)elem)->name);
}

static struct nsent *
ns_find(const struct kn_compiler *cc, const char *name)
{
	struct nsent **e = search_array(name, cc->nss, cc->nnss, sizeof(*cc->nss), nsent_cmp);

	return e ? *e : NULL;
}

static void
ns_set_object(struct nsent *e, const struct kn_namespace *obj)
{
	e->has_obj = obj != NULL;
	e->labels = obj ? &obj->labels : &e->synth;
}

/* The entry of a namespace, created when missing. */
static struct nsent *
ns_get(struct kn_compiler *cc, const char *name)
{
	size_t lo = 0, hi = cc->nnss;
	struct nsent *e;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(cc->nss[mid]->name, name);

		if (c == 0)
			return cc->nss[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->synth_label.key = (char *)"kubernetes.io/metadata.name";
	e->synth_label.value = e->name;
	e->synth.v = &e->synth_label;
	e->synth.n = 1;
	e->labels = &e->synth;
	grow_array((void **)&cc->nss, &cc->nss_cap, cc->nnss + 1, sizeof(*cc->nss));
	memmove(&cc->nss[lo + 1], &cc->nss[lo], (cc->nnss - lo) * sizeof(*cc->nss));
	cc->nss[lo] = e;
	cc->nnss++;
	return e;
}

/* Drops the entries that have neither object nor pods. */
static void
ns_trim(struct kn_compiler *cc)
{
	size_t n = 0;

	for (size_t i = 0; i < cc->nnss; i++) {
		struct nsent *e = cc->nss[i];

		if (e->has_obj || e->npods) {
			cc->nss[n++] = e;
			continue;
		}
		free(e->name);
		free(e);
	}
	cc->nnss = n;
}

static const struct kn_labels *
ns_labels(const struct kn_compiler *cc, const char *name)
{
	const struct nsent *e = ns_find(cc, name);

	return e ? e->labels : NULL;
}

/* ------------------------------------------------------------ local pods */

/* The first local pod at or after ns/name. */
static size_t
lpod_lower(const struct kn_compiler *cc, const char *ns, const char *name)
{
	size_t lo = 0, hi = cc->nlpods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct kn_pod *p = cc->lpods[mid].pod;

		if (key_cmp(p->ns, p->name, ns, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct lpod *
lpod_find(const struct kn_compiler *cc, const char *ns, const char *name)
{
	size_t i = lpod_lower(cc, ns, name);

	if (i < cc->nlpods && key_cmp(cc->lpods[i].pod->ns, cc->lpods[i].pod->name, ns, name) == 0)
		return &cc->lpods[i];
	return NULL;
}

/* The local pod record of a pod of the store, when it is local. */
static const struct lpod *
lpod_of(const struct kn_compiler *cc, const struct kn_pod *pod)
{
	const struct lpod *lp = lpod_find(cc, pod->ns, pod->name);

	return lp && lp->pod == pod ? lp : NULL;
}

/* The range of the local pods of namespace ns. */
static void
lpod_range(const struct kn_compiler *cc, const char *ns, size_t *first, size_t *end)
{
	size_t i = lpod_lower(cc, ns, "");

	*first = i;
	while (i < cc->nlpods && strcmp(cc->lpods[i].pod->ns, ns) == 0)
		i++;
	*end = i;
}

/* ------------------------------------------------------------ policies */

static size_t
frag_lower(const struct kn_compiler *cc, const char *ns, const char *name)
{
	size_t lo = 0, hi = cc->nfrags;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(cc->frags[mid]->ns, cc->frags[mid]->name, ns, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct frag *
frag_find(const struct kn_compiler *cc, const char *ns, const char *name)
{
	size_t i = frag_lower(cc, ns, name);

	if (i < cc->nfrags && key_cmp(cc->frags[i]->ns, cc->frags[i]->name, ns, name) == 0)
		return cc->frags[i];
	return NULL;
}

/* The fragment of policy ns/name, an empty one to compile when missing. */
static struct frag *
frag_get(struct kn_compiler *cc, const char *ns, const char *name)
{
	size_t i = frag_lower(cc, ns, name);
	struct frag *f;

	if (i < cc->nfrags && key_cmp(cc->frags[i]->ns, cc->frags[i]->name, ns, name) == 0)
		return cc->frags[i];
	f = xcalloc(1, sizeof(*f));
	f->ns = xstrdup(ns);
	f->name = xstrdup(name);
	f->rebuild = true;
	grow_array((void **)&cc->frags, &cc->frags_cap, cc->nfrags + 1, sizeof(*cc->frags));
	memmove(&cc->frags[i + 1], &cc->frags[i], (cc->nfrags - i) * sizeof(*cc->frags));
	cc->frags[i] = f;
	cc->nfrags++;
	return f;
}

static void
gen_free(struct gen *g)
{
	free(g->dirty);
	g->dirty = NULL;
	g->ndirty = g->dirty_cap = 0;
}

static void
frag_free(struct frag *f)
{
	for (size_t i = 0; i < f->ngens; i++)
		gen_free(&f->gens[i]);
	free(f->gens);
	free(f->ns);
	free(f->name);
	free(f);
}

/* The store's policies of namespace ns: a range of its sorted view. */
static size_t
store_policies(struct kn_store *s, const char *ns, struct kn_netpol *const **ret)
{
	struct kn_netpol *const *v;
	size_t n = kn_store_netpols(s, &v), lo = 0, hi = n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid]->ns, ns) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < n && strcmp(v[end]->ns, ns) == 0; end++)
		;
	*ret = v + lo;
	return end - lo;
}

static bool
has_dir(const struct kn_netpol *np, enum dir d)
{
	return d == DIR_INGRESS ? np->ingress : np->egress;
}

static const struct kn_np_rule *
frag_rule(const struct gen *g)
{
	const struct kn_netpol *np = g->frag->np;

	return g->d == DIR_INGRESS ? &np->in_rules[g->rule] : &np->eg_rules[g->rule];
}

/* ------------------------------------------------------------ delta */

static struct kn_set_change *
delta_set(struct kn_compiler *cc, struct kn_set *old, const struct kn_set *set)
{
	struct kn_set_change *c = VEC_PUSH(cc->delta.sets, cc->delta.nsets, cc->delta.sets_cap);

	memset(c, 0, sizeof(*c));
	c->old = old;
	c->set = set;
	return c;
}

static void
delta_chain(struct kn_compiler *cc, struct kn_chain *old, const struct kn_chain *chain)
{
	struct kn_chain_change *c =
		VEC_PUSH(cc->delta.chains, cc->delta.nchains, cc->delta.chains_cap);

	c->old = old;
	c->chain = chain;
}

/* ------------------------------------------------------------ compiling policies */

static void
hook_chain(void *arg, struct kn_chain *ch, enum dir d)
{
	struct kn_compiler *cc = arg;

	cc->building->chains[d] = ch;
}

static void
hook_set(void *arg, struct kn_set *s, enum np_set_role role, enum dir d, size_t rule)
{
	struct kn_compiler *cc = arg;
	struct frag *f = cc->building;
	struct gen *g = VEC_PUSH(f->gens, f->ngens, f->gens_cap);

	memset(g, 0, sizeof(*g));
	g->set = s;
	g->kind = role == NP_SET_PEERS ? GEN_PEERS : role == NP_SET_NAMED ? GEN_NAMED : GEN_FIXED;
	g->d = d;
	g->rule = rule;
	g->frag = f;
}

static const struct np_hooks frag_hooks = {hook_chain, hook_set, NULL};

/* The context np_compile_policy needs: the store's pods, and the
 * namespaces with the range of their pods in them.  The ranges follow
 * from the pod counts, since the pods are sorted by namespace; a count
 * that disagrees with the store is a bug of this file. */
static struct ctx *
ctx_prepare(struct kn_compiler *cc)
{
	struct ctx *c = &cc->cx;
	size_t first = 0;

	if (cc->cx_ready)
		return c;
	memset(c, 0, sizeof(*c));
	c->opts = &cc->opts;
	c->st = &cc->cx_st;
	c->npods = kn_store_pods(cc->s, &c->pods);
	grow_array((void **)&cc->cx_nss, &cc->cx_nss_cap, cc->nnss ? cc->nnss : 1,
		   sizeof(*cc->cx_nss));
	for (size_t i = 0; i < cc->nnss; i++) {
		const struct nsent *e = cc->nss[i];
		struct ns_view *v = &cc->cx_nss[i];

		memset(v, 0, sizeof(*v));
		v->name = e->name;
		v->labels = e->labels;
		v->pod_first = first;
		v->pod_count = e->npods;
		if (e->npods &&
		    (first + e->npods > c->npods || strcmp(c->pods[first]->ns, e->name) != 0 ||
		     strcmp(c->pods[first + e->npods - 1]->ns, e->name) != 0))
			abort();
		first += e->npods;
	}
	if (first != c->npods)
		abort();
	c->nss = cc->cx_nss;
	c->nns = cc->nnss;
	cc->hooks = frag_hooks;
	cc->hooks.arg = cc;
	c->hooks = &cc->hooks;
	cc->cx_ready = true;
	return c;
}

/* Compiles policy np, which selects the local pods sel, into f. */
static void
frag_compile(struct kn_compiler *cc, struct frag *f, const struct kn_netpol *np,
	     const struct kn_pod **sel, size_t nsel)
{
	struct ctx *c = ctx_prepare(cc);
	struct kn_program *scratch = kn_program_new(cc->p->table);

	f->np = np;
	f->chains[0] = f->chains[1] = NULL;
	f->ngens = 0;
	f->nlocal = nsel;
	cc->building = f;
	c->p = scratch;
	np_compile_policy(c, np, sel, nsel);
	c->p = NULL;
	cc->building = NULL;
	/* The objects now belong to f (and, once assembled, to the
	 * program). */
	scratch->nsets = scratch->nchains = 0;
	kn_program_free(scratch);
}

/* The local pods that policy np selects. */
static size_t
select_local(const struct kn_compiler *cc, const struct kn_netpol *np, const struct kn_pod ***ret)
{
	size_t first, end, n = 0;
	const struct kn_pod **sel;

	lpod_range(cc, np->ns, &first, &end);
	sel = xcalloc(end - first + 1, sizeof(*sel));
	for (size_t i = first; i < end; i++)
		if (kn_selector_matches(&np->pod_sel, &cc->lpods[i].pod->labels))
			sel[n++] = cc->lpods[i].pod;
	*ret = sel;
	return n;
}

static int
set_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct kn_set *const *)a)->name, (*(struct kn_set *const *)b)->name);
}

/* Records in the delta what became of the old sets and chains of a
 * policy compiled again: replaced when a set or chain of the same name
 * is there now, removed otherwise; and the new ones. */
static void
frag_delta(struct kn_compiler *cc, struct frag *f, struct gen *old, size_t nold,
	   struct kn_chain *const oldch[2])
{
	size_t nnew = f->removed ? 0 : f->ngens, i = 0, j = 0;
	struct kn_set **a = xcalloc(nold + 1, sizeof(*a)), **b = xcalloc(nnew + 1, sizeof(*b));

	for (size_t k = 0; k < nold; k++)
		a[k] = old[k].set;
	for (size_t k = 0; k < nnew; k++)
		b[k] = f->gens[k].set;
	sort_array(a, nold, sizeof(*a), set_name_cmp);
	sort_array(b, nnew, sizeof(*b), set_name_cmp);
	while (i < nold || j < nnew) {
		int r = i == nold ? 1 : j == nnew ? -1 : strcmp(a[i]->name, b[j]->name);

		if (r == 0)
			delta_set(cc, a[i++], b[j++]);
		else if (r < 0)
			delta_set(cc, a[i++], NULL);
		else
			delta_set(cc, NULL, b[j++]);
	}
	free(a);
	free(b);
	for (int d = 0; d < 2; d++) {
		const struct kn_chain *now = f->removed ? NULL : f->chains[d];

		if (oldch[d] || now)
			delta_chain(cc, oldch[d], now);
	}
}

/* Compiles a policy marked for it again, or removes it when it no longer
 * exists or selects no local pod. */
static void
frag_rebuild(struct kn_compiler *cc, struct frag *f)
{
	const struct kn_netpol *np = kn_store_get_netpol(cc->s, f->ns, f->name);
	struct gen *old = f->gens;
	size_t nold = f->ngens, nsel = 0;
	struct kn_chain *oldch[2] = {f->chains[0], f->chains[1]};
	const struct kn_pod **sel = NULL;

	if (np)
		nsel = select_local(cc, np, &sel);
	f->gens = NULL;
	f->ngens = f->gens_cap = 0;
	f->chains[0] = f->chains[1] = NULL;
	if (nsel > 0)
		frag_compile(cc, f, np, sel, nsel);
	else
		f->removed = true;
	frag_delta(cc, f, old, nold, oldch);
	for (size_t k = 0; k < nold; k++)
		gen_free(&old[k]);
	free(old);
	free(sel);
}

/* ------------------------------------------------------------ groups */

static struct group *
group_find(struct kn_compiler *cc, enum dir d, struct frag **pols, size_t n)
{
	const struct kn_netpol **nps;
	struct kn_program *scratch;
	struct group *g;

	for (size_t i = 0; i < cc->ngroups; i++) {
		g = cc->groups[i];
		if (g->d == d && g->npols == n && memcmp(g->pols, pols, n * sizeof(*pols)) == 0)
			return g;
	}
	g = xcalloc(1, sizeof(*g));
	g->d = d;
	g->pols = xcalloc(n, sizeof(*g->pols));
	memcpy(g->pols, pols, n * sizeof(*pols));
	g->npols = n;
	nps = xcalloc(n, sizeof(*nps));
	for (size_t i = 0; i < n; i++)
		nps[i] = pols[i]->np;
	scratch = kn_program_new(cc->p->table);
	g->chain = np_add_group_chain(scratch, d, nps, n);
	scratch->nchains = 0;
	kn_program_free(scratch);
	free(nps);
	*VEC_PUSH(cc->groups, cc->ngroups, cc->groups_cap) = g;
	delta_chain(cc, NULL, g->chain);
	return g;
}

static void
group_unref(struct group *g)
{
	if (g)
		g->refs--;
}

/* Computes the groups of a local pod again; true when one changed. */
static bool
lpod_regroup(struct kn_compiler *cc, struct lpod *lp)
{
	const struct kn_pod *pod = lp->pod;
	size_t first = frag_lower(cc, pod->ns, ""), n;
	struct frag **pols = xcalloc(cc->nfrags + 1, sizeof(*pols));
	bool changed = false;

	for (int d = 0; d < 2; d++) {
		struct group *g = NULL;

		n = 0;
		for (size_t i = first; i < cc->nfrags && strcmp(cc->frags[i]->ns, pod->ns) == 0;
		     i++) {
			struct frag *f = cc->frags[i];

			if (f->removed || !f->np || !has_dir(f->np, (enum dir)d))
				continue;
			if (kn_selector_matches(&f->np->pod_sel, &pod->labels))
				pols[n++] = f;
		}
		if (n)
			g = group_find(cc, (enum dir)d, pols, n);
		if (g == lp->group[d])
			continue;
		group_unref(lp->group[d]);
		if (g)
			g->refs++;
		lp->group[d] = g;
		changed = true;
	}
	free(pols);
	return changed;
}

/* Drops the groups no local pod is in. */
static void
groups_collect(struct kn_compiler *cc)
{
	size_t n = 0;

	for (size_t i = 0; i < cc->ngroups; i++) {
		struct group *g = cc->groups[i];

		if (g->refs) {
			cc->groups[n++] = g;
			continue;
		}
		delta_chain(cc, g->chain, NULL);
		free(g->pols);
		free(g);
	}
	cc->ngroups = n;
}

/* ------------------------------------------------------------ patching */

static void
gen_init(struct gen *g, struct kn_set *s, enum gen_kind kind, enum dir d)
{
	memset(g, 0, sizeof(*g));
	g->set = s;
	g->kind = kind;
	g->d = d;
}

/* The elements of pod's addresses in g are to be computed again. */
static void
gen_dirty(struct gen *g, const struct kn_pod *pod)
{
	int family = set_family(g->set);

	for (size_t i = 0; pod && i < pod->nips; i++)
		if (pod->ips[i].family == family)
			*VEC_PUSH(g->dirty, g->ndirty, g->dirty_cap) = pod->ips[i];
}

/* What pod contributes to g, into cc->tmp (v4, v6): the elements the
 * full compile would make for it. */
static void
contribute(struct kn_compiler *cc, const struct gen *g, const struct kn_pod *pod)
{
	const struct kn_np_rule *rule;
	const struct kn_netpol *np;
	const struct lpod *lp;

	switch (g->kind) {
	case GEN_FIXED:
		return;
	case GEN_PEERS:
		rule = frag_rule(g);
		if (np_pod_is_peer(pod) &&
		    np_rule_selects(g->frag->np, rule, pod, ns_labels(cc, pod->ns)))
			np_peer_elems(pod, cc->tmp[0], cc->tmp[1]);
		return;
	case GEN_NAMED:
		rule = frag_rule(g);
		np = g->frag->np;
		if (g->d == DIR_INGRESS) {
			/* Resolved on the selected local pods. */
			if (strcmp(pod->ns, np->ns) == 0 && lpod_of(cc, pod) &&
			    kn_selector_matches(&np->pod_sel, &pod->labels))
				np_named_elems(rule, pod, cc->tmp[0], cc->tmp[1], false);
			return;
		}
		if (!np_pod_is_peer(pod))
			return;
		if (rule->npeers == 0 || np_rule_selects(np, rule, pod, ns_labels(cc, pod->ns)))
			np_named_elems(rule, pod, cc->tmp[0], cc->tmp[1], false);
		if (np_rule_has_ip_block(rule))
			np_named_elems(rule, pod, cc->tmp[0], cc->tmp[1], true);
		return;
	case GEN_MAP:
		lp = lpod_of(cc, pod);
		if (lp && lp->group[g->d])
			np_map_elems(pod, lp->group[g->d]->chain->name, cc->tmp);
		return;
	case GEN_DENIED:
		lp = lpod_of(cc, pod);
		if (lp && lp->judged)
			kn_guard_denied_elems(pod, &lp->api, cc->tmp);
		return;
	}
}

static void
tmp_clear(struct kn_compiler *cc)
{
	for (int f = 0; f < 2; f++) {
		struct kn_set *t = cc->tmp[f];

		for (size_t i = 0; i < t->nelems; i++) {
			free(t->elems[i].target);
			free(t->elems[i].comment);
		}
		t->nelems = 0;
	}
}

/* The first element of s at or after address a. */
static size_t
elem_lower(const struct kn_set *s, const struct kn_addr *a)
{
	size_t lo = 0, hi = s->nelems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kn_addr_cmp(&s->elems[mid].addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
addr_cmp_void(const void *a, const void *b)
{
	return kn_addr_cmp(a, b);
}

/* Computes the elements of address a in g's set again, from the pods
 * that hold a now, and puts in the set what differs (recorded in ch). */
static void
patch_addr(struct kn_compiler *cc, struct gen *g, const struct kn_addr *a, struct kn_set_change *ch,
	   struct kn_elem **added, size_t *nadded, size_t *added_cap)
{
	struct kn_set *s = g->set, *t = cc->tmp[family_index(a)];
	size_t lo, hi, n = 0, i, j, mask = cc->ai.cap ? cc->ai.cap - 1 : 0;
	struct kn_elem *seg;
	uint32_t h;

	/* An address inside an ipBlock is never a pod's element: the
	 * block's range holds it. */
	if (g->kind == GEN_PEERS && np_addr_in_blocks(frag_rule(g), a))
		return;
	tmp_clear(cc);
	h = (uint32_t)addr_hash(a);
	for (i = h & mask; cc->ai.cap && cc->ai.v[i].pod; i = (i + 1) & mask)
		if (cc->ai.v[i].hash == h && addr_eq(ai_addr(&cc->ai.v[i]), a))
			contribute(cc, g, cc->ai.v[i].pod);
	/* Only the elements of a; a pod's other addresses have their own
	 * turn when they are dirty. */
	for (i = 0; i < t->nelems; i++) {
		if (kn_addr_cmp(&t->elems[i].addr, a) == 0) {
			t->elems[n++] = t->elems[i];
			continue;
		}
		free(t->elems[i].target);
		free(t->elems[i].comment);
	}
	t->nelems = n;
	kn_set_finalize(t);

	lo = elem_lower(s, a);
	for (hi = lo; hi < s->nelems && kn_addr_cmp(&s->elems[hi].addr, a) == 0; hi++)
		;
	/* Merge the old elements of a with the new ones, both in key
	 * order: the same element stays, the others go and come. */
	seg = xcalloc(t->nelems + (hi - lo) + 1, sizeof(*seg));
	n = 0;
	for (i = lo, j = 0; i < hi || j < t->nelems;) {
		struct kn_elem *o = i < hi ? &s->elems[i] : NULL;
		struct kn_elem *e = j < t->nelems ? &t->elems[j] : NULL;
		int r = !o ? 1 : !e ? -1 : kn_elem_cmp(o, e);

		if (r == 0 && str_eq(o->target, e->target) && str_eq(o->comment, e->comment)) {
			seg[n++] = *o;
			free(e->target);
			free(e->comment);
			i++;
			j++;
			continue;
		}
		if (r <= 0) {
			*VEC_PUSH(ch->removed, ch->nremoved, ch->removed_cap) = *o;
			i++;
		}
		if (r >= 0) {
			struct kn_elem *k = VEC_PUSH(*added, *nadded, *added_cap);

			*k = *e;
			k->target = k->comment = NULL;
			seg[n++] = *e;
			j++;
		}
	}
	t->nelems = 0;
	if (n == 0 && hi == lo) {
		free(seg);
		return;
	}
	if (n != hi - lo)
		grow_array((void **)&s->elems, &s->cap, s->nelems - (hi - lo) + n,
			   sizeof(*s->elems));
	memmove(&s->elems[lo + n], &s->elems[hi], (s->nelems - hi) * sizeof(*s->elems));
	memcpy(&s->elems[lo], seg, n * sizeof(*seg));
	s->nelems = s->nelems - (hi - lo) + n;
	free(seg);
}

static int
elem_cmp_void(const void *a, const void *b)
{
	return kn_elem_cmp(a, b);
}

/* Computes the dirty addresses of g's set again. */
static void
gen_patch(struct kn_compiler *cc, struct gen *g)
{
	struct kn_elem *added = NULL;
	size_t nadded = 0, cap = 0, n = 0;
	struct kn_set_change *ch;

	if (g->ndirty == 0)
		return;
	sort_array(g->dirty, g->ndirty, sizeof(*g->dirty), addr_cmp_void);
	for (size_t i = 0; i < g->ndirty; i++)
		if (n == 0 || kn_addr_cmp(&g->dirty[n - 1], &g->dirty[i]) != 0)
			g->dirty[n++] = g->dirty[i];
	ch = delta_set(cc, NULL, g->set);
	ch->patched = true;
	for (size_t i = 0; i < n; i++)
		patch_addr(cc, g, &g->dirty[i], ch, &added, &nadded, &cap);
	g->ndirty = 0;
	/* The added elements, found again now that the set is complete. */
	ch->added = xcalloc(nadded + 1, sizeof(*ch->added));
	for (size_t i = 0; i < nadded; i++) {
		const struct kn_elem *e = search_array(&added[i], g->set->elems, g->set->nelems,
						       sizeof(*g->set->elems), elem_cmp_void);

		if (!e)
			abort(); /* just put in */
		ch->added[ch->nadded++] = e;
	}
	free(added);
	if (ch->nremoved == 0 && ch->nadded == 0) {
		free(ch->removed);
		free(ch->added);
		cc->delta.nsets--;
	}
}

/* ------------------------------------------------------------ the guard */

static struct kn_rbac *
rbac_get(struct kn_compiler *cc)
{
	if (!cc->rbac)
		cc->rbac = kn_rbac_new(cc->s, cc->opts.guard_bootstrap, cc->opts.nguard_bootstrap);
	return cc->rbac;
}

static void
lpod_judge(struct kn_compiler *cc, struct lpod *lp)
{
	lp->judged = cc->guard != KN_GUARD_OFF &&
		     kn_guard_judge(rbac_get(cc), lp->pod, cc->opts.node, &lp->api);
}

/* Makes the guard's sets anew: the servers, or the denied pods (judged
 * again), or both.  Replaced in the program when it has them already. */
static void
guard_sets(struct kn_compiler *cc, bool servers, bool denied)
{
	struct kn_program *scratch = kn_program_new(cc->p->table);
	struct kn_set *sv[KN_GUARD_SERVER_SETS], *dn[2];

	kn_guard_add_sets(scratch, sv, dn);
	scratch->nsets = 0;
	kn_program_free(scratch);
	if (servers)
		kn_guard_fill_servers(cc->s, &cc->opts, sv);
	for (size_t i = 0; denied && i < cc->nlpods; i++) {
		lpod_judge(cc, &cc->lpods[i]);
		if (cc->lpods[i].judged)
			kn_guard_denied_elems(cc->lpods[i].pod, &cc->lpods[i].api, dn);
	}
	for (int k = 0; k < KN_GUARD_SERVER_SETS; k++) {
		if (servers) {
			if (cc->servers[k])
				delta_set(cc, cc->servers[k], sv[k]);
			cc->servers[k] = sv[k];
		} else {
			kn_set_free(sv[k]);
		}
	}
	for (int f = 0; f < 2; f++) {
		if (denied) {
			kn_set_finalize(dn[f]);
			if (cc->denied[f].set)
				delta_set(cc, cc->denied[f].set, dn[f]);
			gen_free(&cc->denied[f]);
			gen_init(&cc->denied[f], dn[f], GEN_DENIED, DIR_INGRESS);
		} else {
			kn_set_free(dn[f]);
		}
	}
}

/* ------------------------------------------------------------ assembly */

/* Lays the parts out in the order kn_compile makes them: the guard's
 * sets, the dispatch maps, the policies' sets in store order; the guard's
 * chains, the base chains, the group chains in the order of their first
 * local pod (ingress first), the policies' chains. */
static void
assemble(struct kn_compiler *cc)
{
	struct kn_program *p = cc->p;
	size_t order = 0;

	p->nsets = 0;
	p->nchains = 0;
	if (cc->guard != KN_GUARD_OFF) {
		for (int k = 0; k < KN_GUARD_SERVER_SETS; k++)
			*VEC_PUSH(p->sets, p->nsets, p->sets_cap) = cc->servers[k];
		for (int f = 0; f < 2; f++)
			*VEC_PUSH(p->sets, p->nsets, p->sets_cap) = cc->denied[f].set;
		for (int i = 0; i < 3; i++)
			*VEC_PUSH(p->chains, p->nchains, p->chains_cap) = cc->guard_chains[i];
	}
	for (int d = DIR_EGRESS; d >= DIR_INGRESS; d--)
		for (int f = 0; f < 2; f++)
			*VEC_PUSH(p->sets, p->nsets, p->sets_cap) = cc->maps[d][f].set;
	for (int i = 0; i < 2; i++)
		*VEC_PUSH(p->chains, p->nchains, p->chains_cap) = cc->base[i];
	for (size_t i = 0; i < cc->ngroups; i++)
		cc->groups[i]->order = NONE;
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < cc->nlpods; i++) {
			struct group *g = cc->lpods[i].group[d];

			if (g && g->order == NONE) {
				g->order = order++;
				*VEC_PUSH(p->chains, p->nchains, p->chains_cap) = g->chain;
			}
		}
	}
	for (size_t i = 0; i < cc->nfrags; i++) {
		const struct frag *fr = cc->frags[i];

		for (size_t k = 0; k < fr->ngens; k++)
			*VEC_PUSH(p->sets, p->nsets, p->sets_cap) = fr->gens[k].set;
		for (int d = 0; d < 2; d++)
			if (fr->chains[d])
				*VEC_PUSH(p->chains, p->nchains, p->chains_cap) = fr->chains[d];
	}
}

static void
count(struct kn_compiler *cc, struct kn_compile_stats *ret)
{
	struct kn_compile_stats *st = &cc->st;
	const struct kn_program *p = cc->p;

	memset(st, 0, sizeof(*st));
	st->local_pods = cc->nlpods;
	st->policies = cc->nfrags;
	for (size_t i = 0; i < cc->nlpods; i++) {
		const struct lpod *lp = &cc->lpods[i];

		st->isolated_ingress += lp->group[DIR_INGRESS] != NULL;
		st->isolated_egress += lp->group[DIR_EGRESS] != NULL;
		if (lp->judged && lp->api.allowed)
			st->api_allowed++;
		else if (lp->judged)
			st->api_denied++;
	}
	if (cc->guard != KN_GUARD_OFF)
		st->api_servers = cc->servers[0]->nelems + cc->servers[1]->nelems;
	st->sets = p->nsets;
	st->chains = p->nchains;
	for (size_t i = 0; i < p->nsets; i++)
		st->elements += p->sets[i]->nelems;
	for (size_t i = 0; i < p->nchains; i++)
		st->rules += p->chains[i]->nrules;
	if (ret)
		*ret = *st;
}

/* ------------------------------------------------------------ whole */

/* Drops everything but the program and the options.  Pointers into the
 * store are not followed: after an overflow they may be stale. */
static void
state_clear(struct kn_compiler *cc)
{
	for (size_t i = 0; i < cc->nfrags; i++)
		frag_free(cc->frags[i]);
	for (size_t i = 0; i < cc->ngroups; i++) {
		free(cc->groups[i]->pols);
		free(cc->groups[i]);
	}
	for (size_t i = 0; i < cc->nnss; i++) {
		free(cc->nss[i]->name);
		free(cc->nss[i]);
	}
	for (int f = 0; f < 2; f++) {
		gen_free(&cc->denied[f]);
		for (int d = 0; d < 2; d++)
			gen_free(&cc->maps[d][f]);
	}
	free(cc->ai.v);
	memset(&cc->ai, 0, sizeof(cc->ai));
	cc->nfrags = cc->ngroups = cc->nnss = cc->nlpods = 0;
	memset(cc->servers, 0, sizeof(cc->servers));
	memset(cc->denied, 0, sizeof(cc->denied));
	memset(cc->maps, 0, sizeof(cc->maps));
	memset(cc->guard_chains, 0, sizeof(cc->guard_chains));
	memset(cc->base, 0, sizeof(cc->base));
}

/* Compiles the whole store into a new program, and the state with it. */
static void
build(struct kn_compiler *cc)
{
	struct kn_namespace *const *nsv;
	struct kn_netpol *const *nps;
	struct kn_pod *const *pods;
	size_t nns = kn_store_namespaces(cc->s, &nsv), npods = kn_store_pods(cc->s, &pods);
	size_t nnps = kn_store_netpols(cc->s, &nps);
	struct kn_set *maps[2][2];
	struct nsent *cur = NULL;

	cc->p = kn_program_new(cc->opts.table ? cc->opts.table : KN_TABLE_NAME);
	/* Most pods have an address or two. */
	ai_reserve(&cc->ai, 2 * npods);
	for (size_t i = 0; i < nns; i++)
		ns_set_object(ns_get(cc, nsv[i]->name), nsv[i]);
	for (size_t i = 0; i < npods; i++) {
		const struct kn_pod *pod = pods[i];
		struct lpod *lp;

		/* The pods come sorted by namespace. */
		if (!cur || strcmp(cur->name, pod->ns) != 0)
			cur = ns_get(cc, pod->ns);
		cur->npods++;
		ai_pod(&cc->ai, pod, true);
		if (!np_pod_is_local(pod, cc->opts.node))
			continue;
		lp = VEC_PUSH(cc->lpods, cc->nlpods, cc->lpods_cap);
		memset(lp, 0, sizeof(*lp));
		lp->pod = pod;
	}

	if (cc->guard != KN_GUARD_OFF) {
		struct kn_set *dn[2];

		kn_guard_add_sets(cc->p, cc->servers, dn);
		kn_guard_fill_servers(cc->s, &cc->opts, cc->servers);
		for (int f = 0; f < 2; f++)
			gen_init(&cc->denied[f], dn[f], GEN_DENIED, DIR_INGRESS);
		for (size_t i = 0; i < cc->nlpods; i++) {
			lpod_judge(cc, &cc->lpods[i]);
			if (cc->lpods[i].judged)
				kn_guard_denied_elems(cc->lpods[i].pod, &cc->lpods[i].api, dn);
		}
		kn_set_finalize(dn[0]);
		kn_set_finalize(dn[1]);
		kn_guard_add_chains(cc->p, cc->guard);
		for (int i = 0; i < 3; i++)
			cc->guard_chains[i] = cc->p->chains[i];
	}
	np_add_dispatch(cc->p, maps);
	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			gen_init(&cc->maps[d][f], maps[d][f], GEN_MAP, (enum dir)d);
	cc->base[0] = cc->p->chains[cc->p->nchains - 2];
	cc->base[1] = cc->p->chains[cc->p->nchains - 1];

	for (size_t i = 0; i < nnps; i++) {
		const struct kn_pod **sel;
		size_t nsel = select_local(cc, nps[i], &sel);

		if (nsel)
			frag_compile(cc, frag_get(cc, nps[i]->ns, nps[i]->name), nps[i], sel, nsel);
		free(sel);
	}
	for (size_t i = 0; i < cc->nfrags; i++)
		cc->frags[i]->rebuild = false;
	for (size_t i = 0; i < cc->nlpods; i++) {
		struct lpod *lp = &cc->lpods[i];

		lpod_regroup(cc, lp);
		for (int d = 0; d < 2; d++)
			if (lp->group[d])
				np_map_elems(lp->pod, lp->group[d]->chain->name, maps[d]);
	}
	for (int d = 0; d < 2; d++)
		for (int f = 0; f < 2; f++)
			kn_set_finalize(maps[d][f]);
	/* The groups were just made: nothing to report. */
	cc->delta.nchains = 0;
	assemble(cc);
	kn_program_size_sets(cc->p);
}

/* True when the kernel's set old can stand for s: the same definition,
 * and room for s's elements. */
static bool
size_fits(const struct kn_set *old, const struct kn_set *s)
{
	return old->size >= s->nelems && old->key == s->key && old->interval == s->interval &&
	       old->vmap == s->vmap;
}

/* After a whole compile that replaces old (the journal overflowed), the
 * sets of p take the size of old's set of the same name where it fits,
 * so that the plan (kn_plan_diff) patches them rather than creating them
 * again, with the rules that use them. */
static void
keep_sizes(struct kn_program *p, const struct kn_program *old)
{
	const struct kn_set **v = xcalloc(old->nsets + 1, sizeof(*v));

	for (size_t i = 0; i < old->nsets; i++)
		v[i] = old->sets[i];
	sort_array(v, old->nsets, sizeof(*v), set_name_cmp);
	for (size_t i = 0; i < p->nsets; i++) {
		struct kn_set *s = p->sets[i];
		const struct kn_set *const *o =
			search_array(&s, v, old->nsets, sizeof(*v), set_name_cmp);

		if (o && !s->interval && size_fits(*o, s))
			s->size = (*o)->size;
	}
	free(v);
}

/* The sizes of the sets the delta names (program.h): a set compiled anew
 * keeps the size of the one it replaces while its elements fit, so that
 * an edit does not re-create it; a patched set that outgrew its size is
 * re-created larger (resized_from), every other set gets the size of a
 * fresh compile.  The kernel's limit counts the elements of the set, so
 * this runs once they are all in. */
static void
size_delta(struct kn_compiler *cc)
{
	for (size_t i = 0; i < cc->delta.nsets; i++) {
		struct kn_set_change *c = &cc->delta.sets[i];
		struct kn_set *s = (struct kn_set *)c->set; /* ours: in cc->p */

		if (!s || s->interval)
			continue;
		if (c->patched) {
			if (s->size != 0 && s->nelems > s->size) {
				c->resized_from = s->size;
				s->size = kn_set_size_for(s);
			}
		} else if (c->old && size_fits(c->old, s)) {
			s->size = c->old->size;
		} else {
			s->size = kn_set_size_for(s);
		}
	}
}

struct kn_compiler *
kn_compiler_new(struct kn_store *s, const struct kn_compile_opts *opts,
		struct kn_compile_stats *stats)
{
	struct kn_compiler *cc = xcalloc(1, sizeof(*cc));

	cc->s = s;
	cc->opts = *opts;
	cc->opts.node = opts->node ? xstrdup(opts->node) : NULL;
	cc->opts.table = opts->table ? xstrdup(opts->table) : NULL;
	if (opts->nguard_servers) {
		struct kn_guard_addr *v = xcalloc(opts->nguard_servers, sizeof(*v));

		memcpy(v, opts->guard_servers, opts->nguard_servers * sizeof(*v));
		cc->opts.guard_servers = v;
	}
	cc->guard = kn_guard_mode_of(opts);
	for (int f = 0; f < 2; f++)
		cc->tmp[f] = xcalloc(1, sizeof(*cc->tmp[f]));
	kn_store_journal_start(s, KN_COMPILER_MAX_CHANGES);
	build(cc);
	kn_rbac_free(cc->rbac);
	cc->rbac = NULL;
	cc->cx_ready = false;
	count(cc, stats);
	return cc;
}

void
kn_compiler_free(struct kn_compiler *cc)
{
	if (!cc)
		return;
	state_clear(cc);
	kn_delta_free(&cc->delta);
	kn_program_free(cc->p);
	kn_rbac_free(cc->rbac);
	for (int f = 0; f < 2; f++)
		kn_set_free(cc->tmp[f]);
	free(cc->lpods);
	free(cc->frags);
	free(cc->groups);
	free(cc->nss);
	free(cc->cx_nss);
	free((char *)cc->opts.node);
	free((char *)cc->opts.table);
	free((struct kn_guard_addr *)cc->opts.guard_servers);
	free(cc);
}

const struct kn_program *
kn_compiler_program(const struct kn_compiler *cc)
{
	return cc->p;
}

/* ------------------------------------------------------------ updates */

/* A namespace's labels changed from was to now: a policy is compiled
 * again when one of its peers' namespace selectors tells them apart (its
 * peers gain or lose every pod of the namespace). */
static void
ns_relabelled(struct kn_compiler *cc, const struct kn_labels *was, const struct kn_labels *now)
{
	for (size_t i = 0; i < cc->nfrags; i++) {
		struct frag *f = cc->frags[i];

		for (int d = 0; d < 2 && !f->rebuild; d++) {
			const struct kn_np_rule *rules = d ? f->np->eg_rules : f->np->in_rules;
			size_t nrules = d ? f->np->neg : f->np->nin;

			for (size_t r = 0; r < nrules && !f->rebuild; r++) {
				for (size_t k = 0; k < rules[r].npeers; k++) {
					const struct kn_selector *sel = rules[r].peers[k].ns_sel;

					if (sel && kn_selector_matches(sel, was) !=
							   kn_selector_matches(sel, now)) {
						f->rebuild = true;
						break;
					}
				}
			}
		}
	}
}

static void
lpods_regroup_ns(struct kn_compiler *cc, const char *ns)
{
	size_t first, end;

	lpod_range(cc, ns, &first, &end);
	for (size_t i = first; i < end; i++)
		cc->lpods[i].regroup = true;
}

/* Marks the sets of policies that are not compiled again whose rules
 * select pod (as a peer, or as a destination whose named ports count):
 * the elements of its addresses are computed again. */
static void
peers_dirty(struct kn_compiler *cc, const struct kn_pod *pod)
{
	const struct kn_labels *labels;

	if (!pod || !np_pod_is_peer(pod))
		return;
	labels = ns_labels(cc, pod->ns);
	for (size_t i = 0; i < cc->nfrags; i++) {
		struct frag *f = cc->frags[i];
		const struct kn_np_rule *rule = NULL;
		bool sel = false;

		if (f->rebuild)
			continue;
		for (size_t k = 0; k < f->ngens; k++) {
			struct gen *g = &f->gens[k];

			if (g->kind != GEN_PEERS && (g->kind != GEN_NAMED || g->d == DIR_INGRESS))
				continue;
			/* A rule's sets come one after the other. */
			if (frag_rule(g) != rule) {
				rule = frag_rule(g);
				sel = np_rule_selects(f->np, rule, pod, labels);
			}
			if (sel || (g->kind == GEN_NAMED &&
				    (rule->npeers == 0 || np_rule_has_ip_block(rule))))
				gen_dirty(g, pod);
		}
	}
}

/* A local pod came, went or changed: the policies of its namespace that
 * select it (before or after) count it, and their ingress named-port
 * sets follow its ports; a policy that no longer selects a local pod
 * goes, one that starts to is compiled. */
static void
local_selection(struct kn_compiler *cc, const struct kn_pod *old, const struct kn_pod *new)
{
	const struct kn_pod *any = new ? new : old;
	struct kn_netpol *const *nps;
	size_t n = store_policies(cc->s, any->ns, &nps);

	for (size_t i = 0; i < n; i++) {
		const struct kn_netpol *np = nps[i];
		struct frag *f = frag_find(cc, np->ns, np->name);
		bool was = old && kn_selector_matches(&np->pod_sel, &old->labels);
		bool is = new &&kn_selector_matches(&np->pod_sel, &new->labels);

		if (f && f->rebuild)
			continue;
		if (!was && !is)
			continue;
		if (!f) {
			frag_get(cc, np->ns, np->name);
			continue;
		}
		f->nlocal = f->nlocal + is - was;
		if (f->nlocal == 0) {
			f->rebuild = true;
			continue;
		}
		for (size_t k = 0; k < f->ngens; k++) {
			if (f->gens[k].kind == GEN_NAMED && f->gens[k].d == DIR_INGRESS) {
				gen_dirty(&f->gens[k], old);
				gen_dirty(&f->gens[k], new);
			}
		}
	}
}

/* A pod changed from old to new (NULL: it did not exist, or no longer
 * does). */
static void
pod_changed(struct kn_compiler *cc, const struct kn_pod *old, const struct kn_pod *new)
{
	const struct kn_pod *any = new ? new : old;
	bool was = old && np_pod_is_local(old, cc->opts.node);
	bool is = new &&np_pod_is_local(new, cc->opts.node);
	struct lpod *lp;

	ai_pod(&cc->ai, old, false);
	ai_pod(&cc->ai, new, true);
	if (!old)
		ns_get(cc, new->ns)->npods++;
	else if (!new)
		ns_find(cc, old->ns)->npods--;

	lp = lpod_find(cc, any->ns, any->name);
	if ((lp != NULL) != was)
		abort(); /* the local pods do not follow the store: a bug here */
	if (was && !is) {
		size_t i = (size_t)(lp - cc->lpods);

		group_unref(lp->group[0]);
		group_unref(lp->group[1]);
		memmove(lp, lp + 1, (cc->nlpods - i - 1) * sizeof(*lp));
		cc->nlpods--;
	} else if (!was && is) {
		size_t i = lpod_lower(cc, any->ns, any->name);

		grow_array((void **)&cc->lpods, &cc->lpods_cap, cc->nlpods + 1, sizeof(*cc->lpods));
		memmove(&cc->lpods[i + 1], &cc->lpods[i], (cc->nlpods - i) * sizeof(*cc->lpods));
		cc->nlpods++;
		lp = &cc->lpods[i];
		memset(lp, 0, sizeof(*lp));
	}
	if (is) {
		lp->pod = new;
		lp->regroup = true;
		lpod_judge(cc, lp);
	}
	if (was || is) {
		for (int f = 0; f < 2; f++) {
			for (int d = 0; d < 2; d++) {
				gen_dirty(&cc->maps[d][f], old);
				gen_dirty(&cc->maps[d][f], new);
			}
			if (cc->guard != KN_GUARD_OFF) {
				gen_dirty(&cc->denied[f], old);
				gen_dirty(&cc->denied[f], new);
			}
		}
		local_selection(cc, was ? old : NULL, is ? new : NULL);
	}
	peers_dirty(cc, old);
	peers_dirty(cc, new);
}

static bool
guard_kind(enum kn_kind k)
{
	return k == KN_KIND_SERVICE_ACCOUNT || k == KN_KIND_ROLE || k == KN_KIND_CLUSTER_ROLE ||
	       k == KN_KIND_ROLE_BINDING || k == KN_KIND_CLUSTER_ROLE_BINDING;
}

const struct kn_delta *
kn_compiler_update(struct kn_compiler *cc, struct kn_compile_stats *stats)
{
	struct kn_store_journal j;
	struct kn_pod *const *pods;
	struct kn_netpol *const *nps;
	bool rbac = false, servers = false;
	size_t n;

	kn_delta_clear(&cc->delta);
	kn_store_journal_take(cc->s, &j);
	if (j.overflow) {
		struct kn_program *old = cc->p;

		state_clear(cc);
		build(cc);
		keep_sizes(cc->p, old);
		cc->delta.old = old;
		goto out;
	}

	/* Namespaces first: the labels every later step reads. */
	for (size_t i = 0; i < j.n; i++) {
		const struct kn_store_change *c = &j.v[i];
		const struct kn_namespace *now;
		const struct kn_labels *was;
		struct nsent *e;

		if (c->kind != KN_KIND_NAMESPACE)
			continue;
		now = kn_store_get_namespace(cc->s, c->name);
		if (c->old.kind == KN_KIND_OTHER && !now)
			continue;
		e = ns_get(cc, c->name);
		was = c->old.kind != KN_KIND_OTHER ? &c->old.u.ns->labels : &e->synth;
		ns_set_object(e, now);
		if (e->npods)
			ns_relabelled(cc, was, e->labels);
	}
	/* Policies: compiled again (or for the first time, or removed); the
	 * local pods of their namespace are grouped again below. */
	for (size_t i = 0; i < j.n; i++) {
		const struct kn_store_change *c = &j.v[i];
		struct frag *f;

		if (c->kind != KN_KIND_NETPOL)
			continue;
		f = frag_find(cc, c->ns, c->name);
		if (f)
			f->rebuild = true;
		else if (kn_store_get_netpol(cc->s, c->ns, c->name))
			frag_get(cc, c->ns, c->name);
	}
	for (size_t i = 0; i < j.n; i++) {
		const struct kn_store_change *c = &j.v[i];
		const struct kn_pod *old = c->old.kind != KN_KIND_OTHER ? c->old.u.pod : NULL;
		const struct kn_pod *new;

		if (c->kind == KN_KIND_SERVICE || c->kind == KN_KIND_ENDPOINT_SLICE)
			servers = true;
		rbac = rbac || guard_kind(c->kind);
		if (c->kind != KN_KIND_POD)
			continue;
		new = kn_store_get_pod(cc->s, c->ns, c->name);
		if (old || new)
			pod_changed(cc, old, new);
	}

	for (size_t i = 0; i < cc->nfrags; i++) {
		struct frag *f = cc->frags[i];

		if (!f->rebuild)
			continue;
		frag_rebuild(cc, f);
		f->rebuild = false;
		lpods_regroup_ns(cc, f->ns);
	}
	for (size_t i = 0; i < cc->nlpods; i++) {
		struct lpod *lp = &cc->lpods[i];

		if (!lp->regroup)
			continue;
		lp->regroup = false;
		if (!lpod_regroup(cc, lp))
			continue;
		for (int d = 0; d < 2; d++)
			for (int f = 0; f < 2; f++)
				gen_dirty(&cc->maps[d][f], lp->pod);
	}
	groups_collect(cc);
	if (cc->guard != KN_GUARD_OFF && (rbac || servers))
		guard_sets(cc, servers, rbac);

	for (int f = 0; f < 2; f++) {
		for (int d = 0; d < 2; d++)
			gen_patch(cc, &cc->maps[d][f]);
		if (cc->guard != KN_GUARD_OFF)
			gen_patch(cc, &cc->denied[f]);
	}
	n = 0;
	for (size_t i = 0; i < cc->nfrags; i++) {
		struct frag *f = cc->frags[i];

		if (f->removed) {
			frag_free(f);
			continue;
		}
		for (size_t k = 0; k < f->ngens; k++)
			gen_patch(cc, &f->gens[k]);
		cc->frags[n++] = f;
	}
	cc->nfrags = n;
	ns_trim(cc);
	assemble(cc);
	size_delta(cc);
out:
	kn_store_journal_release(&j);
	/* The store keeps its sorted views sorted through changes as long
	 * as they are read between bursts (store.c); this compiler may go
	 * many updates without reading them, and a view left to be sorted
	 * anew costs milliseconds at 10,000 pods the next time a policy is
	 * compiled. */
	kn_store_pods(cc->s, &pods);
	kn_store_netpols(cc->s, &nps);
	kn_rbac_free(cc->rbac);
	cc->rbac = NULL;
	cc->cx_ready = false;
	count(cc, stats);
	return &cc->delta;
}
