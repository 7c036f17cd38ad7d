/* The cluster state, indexed by kind, namespace and name.
 *
 * Objects live in one open-addressing hash table (linear probing,
 * backward-shift deletion, so no tombstones accumulate under pod churn).
 * A watch event is one put or delete, O(1) expected.  The compiler wants
 * objects sorted by (namespace, name); those views are rebuilt lazily, per
 * kind, on the first read after a change of that kind, so a burst of
 * events costs one sort per compile rather than one per event.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

/* Smallest table; grows by doubling above 3/4 load and shrinks by halving
 * below 1/8 so that a drained store does not keep a large table. */
#define STORE_MIN_CAP 64

struct entry {
	uint64_t hash;
	struct kn_object obj; /* kind KN_KIND_OTHER: empty slot */
	const char *ns;	      /* point into obj; ns NULL for namespaces */
	const char *name;
};

struct kn_store {
	struct entry *slots;
	size_t cap; /* power of two */
	size_t count;
	size_t nkind[KN_KIND_MAX];
	bool dirty[KN_KIND_MAX];
	uint64_t generation;

	struct kn_namespace **ns_view;
	size_t ns_view_cap;
	struct kn_pod **pod_view;
	size_t pod_view_cap;
	struct kn_netpol **np_view;
	size_t np_view_cap;
};

static uint64_t
key_hash(enum kn_kind kind, const char *ns, const char *name)
{
	uint8_t k = (uint8_t)kind;
	uint64_t h;

	/* The terminating NULs separate namespace and name, so that "ab/c"
	 * and "a/bc" differ. */
	h = hash64(&k, 1, HASH64_SEED);
	if (ns)
		h = hash64(ns, strlen(ns) + 1, h);
	h = hash64(name, strlen(name) + 1, h);
	/* FNV-1a mixes the last bytes poorly into the low bits, which pick
	 * the slot; names like pod-1234 differ only there.  A final
	 * avalanche (murmur3's fmix64) spreads them. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static bool
key_eq(const struct entry *e, uint64_t h, enum kn_kind kind, const char *ns, const char *name)
{
	if (e->hash != h || e->obj.kind != kind || strcmp(e->name, name) != 0)
		return false;
	if (!e->ns || !ns)
		return e->ns == ns;
	return strcmp(e->ns, ns) == 0;
}

/* The slot holding the key, or the empty slot where it would go.  The
 * table is never full, so the probe ends. */
static size_t
find_slot(const struct kn_store *s, uint64_t h, enum kn_kind kind, const char *ns, const char *name)
{
	size_t mask = s->cap - 1, i = h & mask;

	while (s->slots[i].obj.kind != KN_KIND_OTHER) {
		if (key_eq(&s->slots[i], h, kind, ns, name))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void
resize(struct kn_store *s, size_t ncap)
{
	struct entry *old = s->slots;
	size_t ocap = s->cap;

	s->slots = xcalloc(ncap, sizeof(*s->slots));
	s->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (old[i].obj.kind == KN_KIND_OTHER)
			continue;
		j = old[i].hash & (ncap - 1);
		while (s->slots[j].obj.kind != KN_KIND_OTHER)
			j = (j + 1) & (ncap - 1);
		s->slots[j] = old[i];
	}
	free(old);
}

struct kn_store *
kn_store_new(void)
{
	struct kn_store *s = xcalloc(1, sizeof(*s));

	s->cap = STORE_MIN_CAP;
	s->slots = xcalloc(s->cap, sizeof(*s->slots));
	return s;
}

void
kn_store_free(struct kn_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		kn_object_free(&s->slots[i].obj);
	free(s->slots);
	free(s->ns_view);
	free(s->pod_view);
	free(s->np_view);
	free(s);
}

/* The key of an object, or -EINVAL when it has none (decode.c never
 * produces such objects; this guards the table's invariants). */
static int
object_key(const struct kn_object *obj, const char **ret_ns, const char **ret_name)
{
	const char *ns = NULL, *name = NULL;

	switch (obj->kind) {
	case KN_KIND_NAMESPACE:
		if (!obj->u.ns)
			return -EINVAL;
		name = obj->u.ns->name;
		break;
	case KN_KIND_POD:
		if (!obj->u.pod || !obj->u.pod->ns)
			return -EINVAL;
		ns = obj->u.pod->ns;
		name = obj->u.pod->name;
		break;
	case KN_KIND_NETPOL:
		if (!obj->u.np || !obj->u.np->ns)
			return -EINVAL;
		ns = obj->u.np->ns;
		name = obj->u.np->name;
		break;
	default:
		return -EINVAL;
	}
	if (!name)
		return -EINVAL;
	*ret_ns = ns;
	*ret_name = name;
	return 0;
}

/* Ownership is taken in every case, errors included, so the caller never
 * has to guess whether to free. */
int
kn_store_put(struct kn_store *s, struct kn_object *obj)
{
	const char *ns, *name;
	struct entry *e;
	uint64_t h;
	int r;

	if (obj->kind == KN_KIND_OTHER) {
		kn_object_free(obj);
		return 0;
	}
	r = object_key(obj, &ns, &name);
	if (r < 0) {
		kn_object_free(obj);
		goto out;
	}
	if ((s->count + 1) * 4 > s->cap * 3)
		resize(s, s->cap * 2);
	h = key_hash(obj->kind, ns, name);
	e = &s->slots[find_slot(s, h, obj->kind, ns, name)];
	if (e->obj.kind != KN_KIND_OTHER) {
		kn_object_free(&e->obj);
		r = 1;
	} else {
		s->count++;
		s->nkind[obj->kind]++;
		r = 0;
	}
	e->hash = h;
	e->obj = *obj;
	e->ns = ns;
	e->name = name;
	s->dirty[obj->kind] = true;
	s->generation++;
out:
	memset(obj, 0, sizeof(*obj));
	return r;
}

/* Backward-shift deletion: pull later entries of the probe run into the
 * hole unless their home slot lies cyclically in (hole, pos]. */
static void
remove_slot(struct kn_store *s, size_t i)
{
	size_t mask = s->cap - 1, j = i;

	memset(&s->slots[i], 0, sizeof(s->slots[i]));
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (s->slots[j].obj.kind == KN_KIND_OTHER)
			break;
		home = s->slots[j].hash & mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		s->slots[i] = s->slots[j];
		memset(&s->slots[j], 0, sizeof(s->slots[j]));
		i = j;
	}
}

int
kn_store_delete(struct kn_store *s, enum kn_kind kind, const char *ns, const char *name)
{
	uint64_t h;
	size_t i;

	if (!name || kind <= KN_KIND_OTHER || kind >= KN_KIND_MAX)
		return -EINVAL;
	/* Namespaces are cluster-scoped: any ns given is not part of the key. */
	if (kind == KN_KIND_NAMESPACE)
		ns = NULL;
	else if (!ns)
		return -EINVAL;
	h = key_hash(kind, ns, name);
	i = find_slot(s, h, kind, ns, name);
	if (s->slots[i].obj.kind == KN_KIND_OTHER)
		return -ENOENT;
	kn_object_free(&s->slots[i].obj);
	remove_slot(s, i);
	s->count--;
	s->nkind[kind]--;
	s->dirty[kind] = true;
	s->generation++;
	if (s->cap > STORE_MIN_CAP && s->count * 8 < s->cap)
		resize(s, s->cap / 2);
	return 0;
}

static int
name_cmp(const char *ans, const char *aname, const char *bns, const char *bname)
{
	int c = strcmp(ans, bns);

	return c ? c : strcmp(aname, bname);
}

static int
ns_cmp(const void *a, const void *b)
{
	const struct kn_namespace *x = *(struct kn_namespace *const *)a;
	const struct kn_namespace *y = *(struct kn_namespace *const *)b;

	return strcmp(x->name, y->name);
}

static int
pod_cmp(const void *a, const void *b)
{
	const struct kn_pod *x = *(struct kn_pod *const *)a;
	const struct kn_pod *y = *(struct kn_pod *const *)b;

	return name_cmp(x->ns, x->name, y->ns, y->name);
}

static int
np_cmp(const void *a, const void *b)
{
	const struct kn_netpol *x = *(struct kn_netpol *const *)a;
	const struct kn_netpol *y = *(struct kn_netpol *const *)b;

	return name_cmp(x->ns, x->name, y->ns, y->name);
}

/* Keys are unique per kind, so the comparators never return 0 for two
 * objects and qsort's instability cannot change the order. */
size_t
kn_store_namespaces(struct kn_store *s, struct kn_namespace *const **ret)
{
	size_t n = s->nkind[KN_KIND_NAMESPACE];

	if (s->dirty[KN_KIND_NAMESPACE]) {
		size_t k = 0;

		grow_array((void **)&s->ns_view, &s->ns_view_cap, n, sizeof(*s->ns_view));
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].obj.kind == KN_KIND_NAMESPACE)
				s->ns_view[k++] = s->slots[i].obj.u.ns;
		if (n > 1)
			qsort(s->ns_view, n, sizeof(*s->ns_view), ns_cmp);
		s->dirty[KN_KIND_NAMESPACE] = false;
	}
	*ret = s->ns_view;
	return n;
}

size_t
kn_store_pods(struct kn_store *s, struct kn_pod *const **ret)
{
	size_t n = s->nkind[KN_KIND_POD];

	if (s->dirty[KN_KIND_POD]) {
		size_t k = 0;

		grow_array((void **)&s->pod_view, &s->pod_view_cap, n, sizeof(*s->pod_view));
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].obj.kind == KN_KIND_POD)
				s->pod_view[k++] = s->slots[i].obj.u.pod;
		if (n > 1)
			qsort(s->pod_view, n, sizeof(*s->pod_view), pod_cmp);
		s->dirty[KN_KIND_POD] = false;
	}
	*ret = s->pod_view;
	return n;
}

size_t
kn_store_netpols(struct kn_store *s, struct kn_netpol *const **ret)
{
	size_t n = s->nkind[KN_KIND_NETPOL];

	if (s->dirty[KN_KIND_NETPOL]) {
		size_t k = 0;

		grow_array((void **)&s->np_view, &s->np_view_cap, n, sizeof(*s->np_view));
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].obj.kind == KN_KIND_NETPOL)
				s->np_view[k++] = s->slots[i].obj.u.np;
		if (n > 1)
			qsort(s->np_view, n, sizeof(*s->np_view), np_cmp);
		s->dirty[KN_KIND_NETPOL] = false;
	}
	*ret = s->np_view;
	return n;
}

static const struct kn_object *
get(const struct kn_store *s, enum kn_kind kind, const char *ns, const char *name)
{
	size_t i;

	if (!name || (kind != KN_KIND_NAMESPACE && !ns))
		return NULL;
	i = find_slot(s, key_hash(kind, ns, name), kind, ns, name);
	if (s->slots[i].obj.kind == KN_KIND_OTHER)
		return NULL;
	return &s->slots[i].obj;
}

const struct kn_namespace *
kn_store_get_namespace(const struct kn_store *s, const char *name)
{
	const struct kn_object *o = get(s, KN_KIND_NAMESPACE, NULL, name);

	return o ? o->u.ns : NULL;
}

const struct kn_pod *
kn_store_get_pod(const struct kn_store *s, const char *ns, const char *name)
{
	const struct kn_object *o = get(s, KN_KIND_POD, ns, name);

	return o ? o->u.pod : NULL;
}

const struct kn_netpol *
kn_store_get_netpol(const struct kn_store *s, const char *ns, const char *name)
{
	const struct kn_object *o = get(s, KN_KIND_NETPOL, ns, name);

	return o ? o->u.np : NULL;
}

uint64_t
kn_store_generation(const struct kn_store *s)
{
	return s->generation;
}
