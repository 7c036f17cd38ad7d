/* The cluster state, indexed by kind, namespace and name.
 *
 * Objects live in one open-addressing hash table (linear probing,
 * backward-shift deletion, so no tombstones accumulate under pod churn).
 * A watch event is one put or delete, O(1) expected.  The compiler wants
 * objects sorted by (namespace, name).  Once read, the views of
 * namespaces, pods and policies are kept sorted through puts and deletes
 * (a binary search and a memmove: a pod event at 10,000 pods no longer
 * pays a 3 ms sort on the next compile); a view that was never read, or
 * that more than VIEW_MAX_EDITS changes reached before it was read
 * again (a bulk load, a resync), is rebuilt with one sort on the next
 * read instead.
 *
 * The journal (kn_store_journal_start) keeps the versions that puts and
 * deletes replace, one per key, instead of freeing them; a second table
 * of the same kind finds a key already recorded.
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

/* Changes applied one by one to a sorted view between two reads; past
 * this, one sort at the next read is cheaper. */
#define VIEW_MAX_EDITS 64

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
	bool dirty[KN_KIND_MAX];	/* the view must be rebuilt */
	size_t view_edits[KN_KIND_MAX]; /* changes applied to it since read */
	uint64_t generation;

	struct kn_namespace **ns_view;
	size_t ns_view_cap;
	struct kn_pod **pod_view;
	size_t pod_view_cap;
	struct kn_netpol **np_view;
	size_t np_view_cap;
	/* Sorted views of the API server guard's kinds, indexed by kind. */
	void **kview[KN_KIND_MAX];
	size_t kview_cap[KN_KIND_MAX];

	/* The journal: 0 jmax means off. */
	size_t jmax;
	struct kn_store_change *jv;
	size_t jn, jcap;
	bool joverflow;
	struct jslot *jtab; /* power-of-two capacity, at most half full */
	size_t jtab_cap;
};

/* A recorded key: its hash, and its position in jv plus one (0: empty). */
struct jslot {
	uint64_t hash;
	size_t pos;
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
	 * avalanche spreads them. */
	return hash_mix64(h);
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
	for (size_t k = 0; k < KN_KIND_MAX; k++)
		free(s->kview[k]);
	kn_store_journal_start(s, 0);
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
	case KN_KIND_SERVICE_ACCOUNT:
		if (!obj->u.sa || !obj->u.sa->ns)
			return -EINVAL;
		ns = obj->u.sa->ns;
		name = obj->u.sa->name;
		break;
	case KN_KIND_ROLE:
	case KN_KIND_CLUSTER_ROLE:
		/* A Role has a namespace, a ClusterRole none. */
		if (!obj->u.role || !obj->u.role->ns != (obj->kind == KN_KIND_CLUSTER_ROLE))
			return -EINVAL;
		ns = obj->u.role->ns;
		name = obj->u.role->name;
		break;
	case KN_KIND_ROLE_BINDING:
	case KN_KIND_CLUSTER_ROLE_BINDING:
		if (!obj->u.binding ||
		    !obj->u.binding->ns != (obj->kind == KN_KIND_CLUSTER_ROLE_BINDING))
			return -EINVAL;
		ns = obj->u.binding->ns;
		name = obj->u.binding->name;
		break;
	case KN_KIND_SERVICE:
		if (!obj->u.svc || !obj->u.svc->ns)
			return -EINVAL;
		ns = obj->u.svc->ns;
		name = obj->u.svc->name;
		break;
	case KN_KIND_ENDPOINT_SLICE:
		if (!obj->u.eps || !obj->u.eps->ns)
			return -EINVAL;
		ns = obj->u.eps->ns;
		name = obj->u.eps->name;
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

enum view_op {
	VIEW_ADD,
	VIEW_REPLACE,
	VIEW_DELETE,
};

static void view_edit(struct kn_store *s, const struct kn_object *obj, const char *ns,
		      const char *name, enum view_op op);
static void journal_note(struct kn_store *s, enum kn_kind kind, const char *ns, const char *name,
			 uint64_t h, struct kn_object *old);

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
	/* The view is searched while the replaced object is still alive. */
	if (e->obj.kind != KN_KIND_OTHER) {
		view_edit(s, obj, ns, name, VIEW_REPLACE);
		journal_note(s, obj->kind, ns, name, h, &e->obj);
		r = 1;
	} else {
		view_edit(s, obj, ns, name, VIEW_ADD);
		journal_note(s, obj->kind, ns, name, h, NULL);
		s->count++;
		s->nkind[obj->kind]++;
		r = 0;
	}
	e->hash = h;
	e->obj = *obj;
	e->ns = ns;
	e->name = name;
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
	if (kn_kind_cluster_scoped(kind))
		ns = NULL;
	else if (!ns)
		return -EINVAL;
	h = key_hash(kind, ns, name);
	i = find_slot(s, h, kind, ns, name);
	if (s->slots[i].obj.kind == KN_KIND_OTHER)
		return -ENOENT;
	view_edit(s, &s->slots[i].obj, ns, name, VIEW_DELETE);
	journal_note(s, kind, ns, name, h, &s->slots[i].obj);
	remove_slot(s, i);
	s->count--;
	s->nkind[kind]--;
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

/* The kinds whose views are kept sorted through changes: the array and
 * its capacity, and the object as the view holds it. */
static void ***
view_array(struct kn_store *s, enum kn_kind kind, size_t **cap)
{
	switch (kind) {
	case KN_KIND_NAMESPACE:
		*cap = &s->ns_view_cap;
		return (void ***)&s->ns_view;
	case KN_KIND_POD:
		*cap = &s->pod_view_cap;
		return (void ***)&s->pod_view;
	case KN_KIND_NETPOL:
		*cap = &s->np_view_cap;
		return (void ***)&s->np_view;
	default:
		return NULL;
	}
}

static void *
view_obj(const struct kn_object *obj)
{
	switch (obj->kind) {
	case KN_KIND_NAMESPACE:
		return obj->u.ns;
	case KN_KIND_POD:
		return obj->u.pod;
	case KN_KIND_NETPOL:
		return obj->u.np;
	default:
		return NULL;
	}
}

/* Compares a view's object with the key ns/name, in the views' order. */
static int
view_key_cmp(enum kn_kind kind, const void *o, const char *ns, const char *name)
{
	switch (kind) {
	case KN_KIND_NAMESPACE:
		return strcmp(((const struct kn_namespace *)o)->name, name);
	case KN_KIND_POD:
		return name_cmp(((const struct kn_pod *)o)->ns, ((const struct kn_pod *)o)->name,
				ns, name);
	default:
		return name_cmp(((const struct kn_netpol *)o)->ns,
				((const struct kn_netpol *)o)->name, ns, name);
	}
}

/* Keeps a valid view sorted through one change of obj's kind: obj is the
 * object that comes (VIEW_ADD, VIEW_REPLACE) or goes (VIEW_DELETE), with
 * key ns/name; called before nkind changes and before a replaced or
 * deleted object is freed.  Anything unexpected, or too many changes
 * since the last read, leaves the view to be rebuilt. */
static void
view_edit(struct kn_store *s, const struct kn_object *obj, const char *ns, const char *name,
	  enum view_op op)
{
	enum kn_kind kind = obj->kind;
	size_t n = s->nkind[kind], lo = 0, hi = n, *cap;
	void ***v = view_array(s, kind, &cap);

	if (!v || s->dirty[kind] || ++s->view_edits[kind] > VIEW_MAX_EDITS) {
		s->dirty[kind] = true;
		return;
	}
	/* The first position whose key is not below ns/name. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (view_key_cmp(kind, (*v)[mid], ns, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (op != VIEW_ADD && (lo == n || view_key_cmp(kind, (*v)[lo], ns, name) != 0)) {
		s->dirty[kind] = true;
		return;
	}
	switch (op) {
	case VIEW_ADD:
		grow_array((void **)v, cap, n + 1, sizeof(**v));
		memmove(&(*v)[lo + 1], &(*v)[lo], (n - lo) * sizeof(**v));
		(*v)[lo] = view_obj(obj);
		break;
	case VIEW_REPLACE:
		(*v)[lo] = view_obj(obj);
		break;
	case VIEW_DELETE:
		memmove(&(*v)[lo], &(*v)[lo + 1], (n - lo - 1) * sizeof(**v));
		break;
	}
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
		sort_array(s->ns_view, n, sizeof(*s->ns_view), ns_cmp);
		s->dirty[KN_KIND_NAMESPACE] = false;
	}
	s->view_edits[KN_KIND_NAMESPACE] = 0;
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
		sort_array(s->pod_view, n, sizeof(*s->pod_view), pod_cmp);
		s->dirty[KN_KIND_POD] = false;
	}
	s->view_edits[KN_KIND_POD] = 0;
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
		sort_array(s->np_view, n, sizeof(*s->np_view), np_cmp);
		s->dirty[KN_KIND_NETPOL] = false;
	}
	s->view_edits[KN_KIND_NETPOL] = 0;
	*ret = s->np_view;
	return n;
}

static const struct kn_object *
get(const struct kn_store *s, enum kn_kind kind, const char *ns, const char *name)
{
	size_t i;

	if (!name || (!kn_kind_cluster_scoped(kind) && !ns))
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

/* ------------------------------------------------------------ guard kinds */

/* The object of an entry as a plain pointer; the views of the guard's
 * kinds are built alike whatever the type. */
static void *
entry_obj(const struct entry *e)
{
	switch (e->obj.kind) {
	case KN_KIND_SERVICE_ACCOUNT:
		return e->obj.u.sa;
	case KN_KIND_ROLE:
	case KN_KIND_CLUSTER_ROLE:
		return e->obj.u.role;
	case KN_KIND_ROLE_BINDING:
	case KN_KIND_CLUSTER_ROLE_BINDING:
		return e->obj.u.binding;
	case KN_KIND_SERVICE:
		return e->obj.u.svc;
	case KN_KIND_ENDPOINT_SLICE:
		return e->obj.u.eps;
	default:
		return NULL;
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	/* Cluster-scoped kinds have no namespace; one view never mixes. */
	return name_cmp(x->ns ? x->ns : "", x->name, y->ns ? y->ns : "", y->name);
}

/* The sorted view of kind, rebuilt when the kind changed since the last
 * read, like the views above. */
static size_t
kind_view(struct kn_store *s, enum kn_kind kind, void *const **ret)
{
	size_t n = s->nkind[kind];

	if (s->dirty[kind] || !s->kview[kind]) {
		const struct entry **tmp = xcalloc(n ? n : 1, sizeof(*tmp));
		size_t k = 0;

		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i].obj.kind == kind)
				tmp[k++] = &s->slots[i];
		sort_array(tmp, n, sizeof(*tmp), entry_cmp);
		grow_array((void **)&s->kview[kind], &s->kview_cap[kind], n ? n : 1,
			   sizeof(*s->kview[kind]));
		for (size_t i = 0; i < n; i++)
			s->kview[kind][i] = entry_obj(tmp[i]);
		free(tmp);
		s->dirty[kind] = false;
	}
	*ret = s->kview[kind];
	return n;
}

size_t
kn_store_service_accounts(struct kn_store *s, struct kn_service_account *const **ret)
{
	return kind_view(s, KN_KIND_SERVICE_ACCOUNT, (void *const **)ret);
}

size_t
kn_store_roles(struct kn_store *s, struct kn_role *const **ret)
{
	return kind_view(s, KN_KIND_ROLE, (void *const **)ret);
}

size_t
kn_store_cluster_roles(struct kn_store *s, struct kn_role *const **ret)
{
	return kind_view(s, KN_KIND_CLUSTER_ROLE, (void *const **)ret);
}

size_t
kn_store_role_bindings(struct kn_store *s, struct kn_binding *const **ret)
{
	return kind_view(s, KN_KIND_ROLE_BINDING, (void *const **)ret);
}

size_t
kn_store_cluster_role_bindings(struct kn_store *s, struct kn_binding *const **ret)
{
	return kind_view(s, KN_KIND_CLUSTER_ROLE_BINDING, (void *const **)ret);
}

size_t
kn_store_services(struct kn_store *s, struct kn_service *const **ret)
{
	return kind_view(s, KN_KIND_SERVICE, (void *const **)ret);
}

size_t
kn_store_endpoint_slices(struct kn_store *s, struct kn_endpoint_slice *const **ret)
{
	return kind_view(s, KN_KIND_ENDPOINT_SLICE, (void *const **)ret);
}

const struct kn_service_account *
kn_store_get_service_account(const struct kn_store *s, const char *ns, const char *name)
{
	const struct kn_object *o = get(s, KN_KIND_SERVICE_ACCOUNT, ns, name);

	return o ? o->u.sa : NULL;
}

const struct kn_role *
kn_store_get_role(const struct kn_store *s, const char *ns, const char *name)
{
	const struct kn_object *o = get(s, ns ? KN_KIND_ROLE : KN_KIND_CLUSTER_ROLE, ns, name);

	return o ? o->u.role : NULL;
}

const struct kn_service *
kn_store_get_service(const struct kn_store *s, const char *ns, const char *name)
{
	const struct kn_object *o = get(s, KN_KIND_SERVICE, ns, name);

	return o ? o->u.svc : NULL;
}

size_t
kn_store_foreach(const struct kn_store *s, enum kn_kind kind, kn_store_visit_cb cb, void *arg)
{
	size_t n = 0;

	if (kind <= KN_KIND_OTHER || kind >= KN_KIND_MAX)
		return 0;
	for (size_t i = 0; i < s->cap && n < s->nkind[kind]; i++) {
		const struct entry *e = &s->slots[i];

		if (e->obj.kind != kind)
			continue;
		if (cb)
			cb(arg, &e->obj, e->ns, e->name);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ journal */

static void
journal_drop(struct kn_store *s)
{
	for (size_t i = 0; i < s->jn; i++) {
		free(s->jv[i].ns);
		free(s->jv[i].name);
		kn_object_free(&s->jv[i].old);
	}
	free(s->jv);
	free(s->jtab);
	s->jv = NULL;
	s->jn = s->jcap = 0;
	s->jtab = NULL;
	s->jtab_cap = 0;
	s->joverflow = false;
}

void
kn_store_journal_start(struct kn_store *s, size_t max)
{
	journal_drop(s);
	s->jmax = max;
}

/* The slot of the key in jtab, or the empty slot where it goes. */
static struct jslot *
journal_slot(const struct kn_store *s, uint64_t h, enum kn_kind kind, const char *ns,
	     const char *name)
{
	size_t mask = s->jtab_cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		const struct jslot *js = &s->jtab[i];
		const struct kn_store_change *c;

		if (js->pos == 0)
			break;
		c = &s->jv[js->pos - 1];
		if (js->hash == h && c->kind == kind && strcmp(c->name, name) == 0 &&
		    (c->ns && ns ? strcmp(c->ns, ns) == 0 : c->ns == ns))
			break;
	}
	return &s->jtab[i];
}

static void
journal_grow(struct kn_store *s)
{
	struct jslot *old = s->jtab;
	size_t ocap = s->jtab_cap;

	s->jtab_cap = ocap ? ocap * 2 : 64;
	s->jtab = xcalloc(s->jtab_cap, sizeof(*s->jtab));
	for (size_t i = 0; i < ocap; i++) {
		size_t j = old[i].hash & (s->jtab_cap - 1);

		if (old[i].pos == 0)
			continue;
		while (s->jtab[j].pos != 0)
			j = (j + 1) & (s->jtab_cap - 1);
		s->jtab[j] = old[i];
	}
	free(old);
}

/* An object of key kind/ns/name (hash h) is about to change: old, the
 * version that goes (NULL when the key is new), moves into the journal
 * when the key is not there yet, and is freed otherwise. */
static void
journal_note(struct kn_store *s, enum kn_kind kind, const char *ns, const char *name, uint64_t h,
	     struct kn_object *old)
{
	struct kn_store_change *c;
	struct jslot *js;

	if (s->jmax == 0 || s->joverflow)
		goto drop;
	if ((s->jn + 1) * 2 > s->jtab_cap)
		journal_grow(s);
	js = journal_slot(s, h, kind, ns, name);
	if (js->pos != 0)
		goto drop; /* the oldest version is recorded already */
	if (s->jn == s->jmax) {
		journal_drop(s);
		s->joverflow = true;
		goto drop;
	}
	js->hash = h;
	js->pos = s->jn + 1;
	c = VEC_PUSH(s->jv, s->jn, s->jcap);
	c->kind = kind;
	c->ns = ns ? xstrdup(ns) : NULL;
	c->name = xstrdup(name);
	memset(&c->old, 0, sizeof(c->old));
	if (old) {
		c->old = *old;
		memset(old, 0, sizeof(*old));
	}
	return;
drop:
	if (old)
		kn_object_free(old);
}

void
kn_store_journal_take(struct kn_store *s, struct kn_store_journal *ret)
{
	ret->v = s->jv;
	ret->n = s->jn;
	ret->overflow = s->joverflow;
	s->jv = NULL;
	s->jn = s->jcap = 0;
	s->joverflow = false;
	free(s->jtab);
	s->jtab = NULL;
	s->jtab_cap = 0;
}

void
kn_store_journal_release(struct kn_store_journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++) {
		free(j->v[i].ns);
		free(j->v[i].name);
		kn_object_free(&j->v[i].old);
	}
	free(j->v);
	memset(j, 0, sizeof(*j));
}
