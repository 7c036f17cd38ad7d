/* RBAC evaluation for the API server guard: does a pod need the API
 * server?  It does when it mounts a service account token and its account
 * holds a meaningful permission, evaluated as the API server's RBAC
 * authorizer grants it:
 *
 *  - the account authenticates as user system:serviceaccount:NS:NAME with
 *    groups system:serviceaccounts, system:serviceaccounts:NS and
 *    system:authenticated; a binding's subject names it by ServiceAccount
 *    (without namespace: the binding's), by that user or by those groups;
 *  - a ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding
 *    grants its Role, or its ClusterRole's rules, in its own namespace
 *    only, where rules on cluster-scoped resources and non-resource URLs
 *    grant nothing;
 *  - a ClusterRole with an aggregationRule holds the rules of the
 *    ClusterRoles its selectors match (computed, as the aggregation
 *    controller does; cycles end); a missing role grants nothing;
 *  - "meaningful" means at least one rule from a binding to a role other
 *    than the bootstrap roles every identity holds.
 *
 * Pure: reads the store, no I/O, no clock.  An RBAC verdict is a lower
 * bound of what an account may do: other authorizers (Node, webhooks) are
 * invisible here.
 */
#ifndef KN_RBAC_H
#define KN_RBAC_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "store.h"

/* system:basic-user, system:discovery, system:public-info-viewer and
 * system:service-account-issuer-discovery: the ClusterRoles that the
 * bootstrap bindings give every authenticated identity (the last one
 * every service account). */
extern const char *const kn_rbac_bootstrap_roles[];
extern const size_t kn_rbac_nbootstrap_roles;

struct kn_rbac;

/* Builds the evaluation context: roles and bindings are indexed once,
 * results are cached per ClusterRole and per account.  bootstrap NULL
 * means kn_rbac_bootstrap_roles; the strings must outlive r, and the store
 * must not change while r lives. */
struct kn_rbac *kn_rbac_new(struct kn_store *s, const char *const *bootstrap, size_t nbootstrap);
void kn_rbac_free(struct kn_rbac *r);

enum kn_api_reason {
	KN_API_BOUND,	      /* allowed: a binding grants a meaningful rule */
	KN_API_NO_TOKEN,      /* denied: the pod mounts no token */
	KN_API_NO_BINDINGS,   /* denied: no binding but the bootstrap ones names the account */
	KN_API_NO_PERMISSION, /* denied: the account's bindings grant nothing meaningful */
};

#define KN_API_WHY_MAX 256

struct kn_api_verdict {
	bool allowed;
	enum kn_api_reason reason;
	/* For people: "bound to ClusterRole view by RoleBinding shop/view",
	 * "token not mounted (...)", "account has no bindings". */
	char why[KN_API_WHY_MAX];
};

/* The verdict of service account ns/name, which need not exist: offline
 * manifests often leave ServiceAccounts out, and RBAC does not look at
 * them. */
void kn_rbac_account(struct kn_rbac *r, const char *ns, const char *name,
		     struct kn_api_verdict *ret);

/* The verdict of a pod: KN_API_NO_TOKEN unless it mounts a token (a
 * projected serviceAccountToken volume; else automountServiceAccountToken
 * of the pod, else of its ServiceAccount, else true), otherwise its
 * account's verdict. */
void kn_rbac_pod(struct kn_rbac *r, const struct kn_pod *pod, struct kn_api_verdict *ret);

/* True when sub, a subject of a binding in namespace binding_ns (NULL for
 * a ClusterRoleBinding), names service account ns/name. */
bool kn_rbac_subject_matches(const struct kn_subject *sub, const char *binding_ns, const char *ns,
			     const char *name);

#endif
