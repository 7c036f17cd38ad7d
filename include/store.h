/* The cluster state: every object the compiler needs, indexed by kind and
 * ns/name.  The store owns all object memory.  Views are sorted by
 * (namespace, name) so that the compiler's output is deterministic.
 */
#ifndef KN_STORE_H
#define KN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct kn_store;

struct kn_store *kn_store_new(void);
void kn_store_free(struct kn_store *s);

/* Takes ownership of obj's contents (obj itself is not freed and is
 * zeroed) and replaces any object of the same kind, namespace and name.
 * KN_KIND_OTHER objects are released and ignored.  Returns 1 when an
 * object was replaced, 0 when added. */
int kn_store_put(struct kn_store *s, struct kn_object *obj);
/* Returns 0, or -ENOENT when there was no such object.  ns is NULL for
 * cluster-scoped kinds. */
int kn_store_delete(struct kn_store *s, enum kn_kind kind, const char *ns, const char *name);

/* Sorted views, valid until the next put/delete. */
size_t kn_store_namespaces(struct kn_store *s, struct kn_namespace *const **ret);
size_t kn_store_pods(struct kn_store *s, struct kn_pod *const **ret);
size_t kn_store_netpols(struct kn_store *s, struct kn_netpol *const **ret);

const struct kn_namespace *kn_store_get_namespace(const struct kn_store *s, const char *name);
const struct kn_pod *kn_store_get_pod(const struct kn_store *s, const char *ns, const char *name);
const struct kn_netpol *kn_store_get_netpol(const struct kn_store *s, const char *ns,
					    const char *name);

/* Views and lookups of the API server guard's kinds (rbac.h, guard.h),
 * sorted and valid like the views above.  Roles and RoleBindings are
 * namespaced, ClusterRoles and ClusterRoleBindings are not.
 * kn_store_get_role finds a ClusterRole when ns is NULL. */
size_t kn_store_service_accounts(struct kn_store *s, struct kn_service_account *const **ret);
size_t kn_store_roles(struct kn_store *s, struct kn_role *const **ret);
size_t kn_store_cluster_roles(struct kn_store *s, struct kn_role *const **ret);
size_t kn_store_role_bindings(struct kn_store *s, struct kn_binding *const **ret);
size_t kn_store_cluster_role_bindings(struct kn_store *s, struct kn_binding *const **ret);
size_t kn_store_services(struct kn_store *s, struct kn_service *const **ret);
size_t kn_store_endpoint_slices(struct kn_store *s, struct kn_endpoint_slice *const **ret);
const struct kn_service_account *kn_store_get_service_account(const struct kn_store *s,
							      const char *ns, const char *name);
const struct kn_role *kn_store_get_role(const struct kn_store *s, const char *ns, const char *name);
const struct kn_service *kn_store_get_service(const struct kn_store *s, const char *ns,
					      const char *name);

/* Bumped by every put and delete. */
uint64_t kn_store_generation(const struct kn_store *s);

/* Calls cb for every object of one kind, in no particular order, with
 * its key (ns NULL for cluster-scoped kinds); cb must not change the
 * store.  cb may be NULL.  Returns the number of objects visited.  Used
 * by sources that replace a kind as a whole (a relist). */
typedef void (*kn_store_visit_cb)(void *arg, const struct kn_object *obj, const char *ns,
				  const char *name);
size_t kn_store_foreach(const struct kn_store *s, enum kn_kind kind, kn_store_visit_cb cb,
			void *arg);

/* The journal: what changed since it was last taken.  For every object
 * put or deleted, the store keeps the version it had then (none when the
 * object did not exist) instead of freeing it, so that an incremental
 * compile (netpol.h, kn_compiler) knows what a change affected: a pod's
 * old labels and addresses, a namespace's old labels.  A key changed many
 * times is recorded once, with its oldest version.
 *
 * The journal is bounded: past max changed objects it drops what it holds
 * and only says that it overflowed, and its reader starts over from the
 * whole store (a load or a relist changes everything anyway, and one
 * full compile is then cheaper than thousands of small ones). */
struct kn_store_change {
	enum kn_kind kind;
	char *ns, *name;      /* the key; ns NULL for cluster-scoped kinds */
	struct kn_object old; /* kind KN_KIND_OTHER: the object did not exist */
};

struct kn_store_journal {
	struct kn_store_change *v; /* in the order the keys first changed */
	size_t n;
	bool overflow; /* more than max objects changed: v is empty */
};

/* Starts recording, at most max objects (0 stops and drops the
 * journal).  Whatever was recorded before is dropped. */
void kn_store_journal_start(struct kn_store *s, size_t max);
/* Hands the journal over and starts a new one.  Release it with
 * kn_store_journal_release once the old versions are no longer needed;
 * the store does not use them. */
void kn_store_journal_take(struct kn_store *s, struct kn_store_journal *ret);
void kn_store_journal_release(struct kn_store_journal *j);

#endif
