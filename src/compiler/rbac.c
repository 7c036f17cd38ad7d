/* RBAC evaluation for the API server guard (rbac.h).
 *
 * The question is narrower than the authorizer's: not "may this account
 * do X" but "may it do anything that matters", so we never expand rules
 * into verbs and resources.  Per binding, the role either grants some rule
 * that applies where the binding applies, or it does not:
 *
 *  - under a ClusterRoleBinding every rule applies (resources in every
 *    namespace, cluster-scoped resources, non-resource URLs);
 *  - under a RoleBinding only rules on namespaced resources do: the API
 *    server consults a RoleBinding only for requests in its namespace, and
 *    requests for nodes, ClusterRoles or /healthz carry no namespace.
 *
 * A resource counts as cluster-scoped only when it is a built-in
 * cluster-scoped resource of every API group the rule names; anything
 * else ("*", a custom resource) is taken as namespaced.  Erring that way
 * keeps access: the guard must never cut a workload off because we could
 * not know the scope of its custom resources.
 *
 * Aggregated ClusterRoles hold the rules of the ClusterRoles their
 * selectors match (other than themselves), as the aggregation controller
 * writes them; an aggregated role's own rules are what the controller
 * wrote last, so they are ignored and computed instead.  Since matched
 * roles may be aggregated too, the rules are those of every non-aggregated
 * ClusterRole reachable through aggregated ones: a walk with a visited
 * set, which ends on cycles.  Rules reached through a bootstrap role do
 * not count, like a binding to it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "rbac.h"
#include "selector.h"
#include "util.h"

const char *const kn_rbac_bootstrap_roles[] = {
	"system:basic-user",
	"system:discovery",
	"system:public-info-viewer",
	"system:service-account-issuer-discovery",
};
const size_t kn_rbac_nbootstrap_roles = ARRAY_SIZE(kn_rbac_bootstrap_roles);

/* Where a role's rules grant something. */
#define SCOPE_CLUSTER 1u /* under a ClusterRoleBinding */
#define SCOPE_NS      2u /* under a RoleBinding */
#define SCOPE_DONE    4u /* memo: computed */

/* Per-account verdicts: many pods share an account. */
struct account {
	char *ns, *name; /* NULL: empty slot */
	uint64_t hash;
	struct kn_api_verdict v;
};

struct kn_rbac {
	struct kn_store *s;
	const char *const *boot;
	size_t nboot;
	struct kn_role *const *croles; /* ClusterRoles, sorted by name */
	size_t ncroles;
	struct kn_binding *const *crbs; /* ClusterRoleBindings, by name */
	size_t ncrbs;
	struct kn_binding *const *rbs; /* RoleBindings, by namespace and name */
	size_t nrbs;
	unsigned char *scopes; /* per ClusterRole: SCOPE_* memo */
	bool *boot_role;       /* per ClusterRole: one of the bootstrap roles */
	size_t *stack;	       /* walk scratch, per ClusterRole */
	bool *seen;
	struct account *acc; /* open addressing, power-of-two capacity */
	size_t nacc, acc_cap;
};

/* ------------------------------------------------------------ resources */

/* Built-in cluster-scoped resources (kubectl api-resources --namespaced=false),
 * by API group.  A RoleBinding's rules on them grant nothing. */
static const struct {
	const char *group;
	const char *resource;
} cluster_scoped[] = {
	{"", "componentstatuses"},
	{"", "nodes"},
	{"", "persistentvolumes"},
	{"admissionregistration.k8s.io", "mutatingadmissionpolicies"},
	{"admissionregistration.k8s.io", "mutatingadmissionpolicybindings"},
	{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"},
	{"admissionregistration.k8s.io", "validatingadmissionpolicies"},
	{"admissionregistration.k8s.io", "validatingadmissionpolicybindings"},
	{"admissionregistration.k8s.io", "validatingwebhookconfigurations"},
	{"apiextensions.k8s.io", "customresourcedefinitions"},
	{"apiregistration.k8s.io", "apiservices"},
	{"authentication.k8s.io", "selfsubjectreviews"},
	{"authentication.k8s.io", "tokenreviews"},
	{"authorization.k8s.io", "selfsubjectaccessreviews"},
	{"authorization.k8s.io", "selfsubjectrulesreviews"},
	{"authorization.k8s.io", "subjectaccessreviews"},
	{"certificates.k8s.io", "certificatesigningrequests"},
	{"certificates.k8s.io", "clustertrustbundles"},
	{"flowcontrol.apiserver.k8s.io", "flowschemas"},
	{"flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"},
	{"internal.apiserver.k8s.io", "storageversions"},
	{"networking.k8s.io", "ingressclasses"},
	{"networking.k8s.io", "ipaddresses"},
	{"networking.k8s.io", "servicecidrs"},
	{"node.k8s.io", "runtimeclasses"},
	{"policy", "podsecuritypolicies"},
	{"rbac.authorization.k8s.io", "clusterrolebindings"},
	{"rbac.authorization.k8s.io", "clusterroles"},
	{"resource.k8s.io", "deviceclasses"},
	{"scheduling.k8s.io", "priorityclasses"},
	{"storage.k8s.io", "csidrivers"},
	{"storage.k8s.io", "csinodes"},
	{"storage.k8s.io", "storageclasses"},
	{"storage.k8s.io", "volumeattachments"},
	{"storage.k8s.io", "volumeattributesclasses"},
	{"storagemigration.k8s.io", "storageversionmigrations"},
};

/* res may name a subresource ("nodes/status"): the scope is the
 * resource's. */
static bool
is_cluster_scoped(const char *group, const char *res)
{
	size_t len = strcspn(res, "/");

	for (size_t i = 0; i < ARRAY_SIZE(cluster_scoped); i++) {
		if (strcmp(cluster_scoped[i].group, group) == 0 &&
		    strlen(cluster_scoped[i].resource) == len &&
		    strncmp(cluster_scoped[i].resource, res, len) == 0)
			return true;
	}
	return false;
}

/* Where one rule grants something (SCOPE_*). */
static unsigned
rule_scopes(const struct kn_policy_rule *rule)
{
	if (rule->nverbs == 0)
		return 0;
	if (rule->nnon_resource_urls > 0)
		return SCOPE_CLUSTER;
	if (rule->nresources == 0 || rule->napi_groups == 0)
		return 0;
	for (size_t i = 0; i < rule->nresources; i++) {
		bool cluster = true;

		for (size_t g = 0; g < rule->napi_groups && cluster; g++)
			cluster = is_cluster_scoped(rule->api_groups[g], rule->resources[i]);
		if (!cluster)
			return SCOPE_CLUSTER | SCOPE_NS;
	}
	return SCOPE_CLUSTER;
}

/* Where a role's own rules grant something. */
static unsigned
own_scopes(const struct kn_role *role)
{
	unsigned sc = 0;

	for (size_t i = 0; i < role->nrules && sc != (SCOPE_CLUSTER | SCOPE_NS); i++)
		sc |= rule_scopes(&role->rules[i]);
	return sc;
}

/* ------------------------------------------------------------ roles */

static bool
is_bootstrap(const struct kn_rbac *r, const char *name)
{
	for (size_t i = 0; i < r->nboot; i++)
		if (strcmp(r->boot[i], name) == 0)
			return true;
	return false;
}

static int
crole_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct kn_role *const *)elem)->name);
}

/* The index of ClusterRole name, or -1. */
static ssize_t
crole_find(const struct kn_rbac *r, const char *name)
{
	struct kn_role *const *p =
		search_array(name, r->croles, r->ncroles, sizeof(*r->croles), crole_cmp);

	return p ? p - r->croles : -1;
}

static bool
aggregates(const struct kn_role *agg, const struct kn_role *role)
{
	for (size_t i = 0; i < agg->nagg_selectors; i++)
		if (kn_selector_matches(&agg->agg_selectors[i], &role->labels))
			return true;
	return false;
}

/* Where ClusterRole idx grants something, aggregation included.  The walk
 * visits every ClusterRole reachable through aggregated ones once. */
static unsigned
crole_scopes(struct kn_rbac *r, size_t idx)
{
	const struct kn_role *root = r->croles[idx];
	unsigned sc = 0;
	size_t top = 0;

	if (r->scopes[idx] & SCOPE_DONE)
		return r->scopes[idx] & ~SCOPE_DONE;
	if (!root->aggregated) {
		sc = own_scopes(root);
		r->scopes[idx] = (unsigned char)(sc | SCOPE_DONE);
		return sc;
	}
	memset(r->seen, 0, r->ncroles * sizeof(*r->seen));
	r->seen[idx] = true;
	r->stack[top++] = idx;
	while (top > 0 && sc != (SCOPE_CLUSTER | SCOPE_NS)) {
		const struct kn_role *agg = r->croles[r->stack[--top]];

		for (size_t j = 0; j < r->ncroles; j++) {
			const struct kn_role *m = r->croles[j];

			if (r->seen[j] || r->boot_role[j] || !aggregates(agg, m))
				continue;
			r->seen[j] = true;
			if (m->aggregated)
				r->stack[top++] = j;
			else
				sc |= own_scopes(m);
		}
	}
	r->scopes[idx] = (unsigned char)(sc | SCOPE_DONE);
	return sc;
}

/* ------------------------------------------------------------ subjects */

#define SA_USER_PREFIX	"system:serviceaccount:"
#define SA_GROUP_ALL	"system:serviceaccounts"
#define SA_GROUP_PREFIX "system:serviceaccounts:"
#define AUTHENTICATED	"system:authenticated"

bool
kn_rbac_subject_matches(const struct kn_subject *sub, const char *binding_ns, const char *ns,
			const char *name)
{
	size_t nslen = strlen(ns);
	const char *sns, *u;

	switch (sub->kind) {
	case KN_SUBJECT_SERVICE_ACCOUNT:
		/* Without namespace: the binding's; a ClusterRoleBinding has
		 * none to lend, and its subjects must name one. */
		sns = sub->ns ? sub->ns : binding_ns;
		return sns && strcmp(sns, ns) == 0 && strcmp(sub->name, name) == 0;
	case KN_SUBJECT_USER:
		/* system:serviceaccount:NS:NAME */
		u = sub->name;
		if (strncmp(u, SA_USER_PREFIX, strlen(SA_USER_PREFIX)) != 0)
			return false;
		u += strlen(SA_USER_PREFIX);
		return strncmp(u, ns, nslen) == 0 && u[nslen] == ':' &&
		       strcmp(u + nslen + 1, name) == 0;
	case KN_SUBJECT_GROUP:
		if (strcmp(sub->name, SA_GROUP_ALL) == 0 || strcmp(sub->name, AUTHENTICATED) == 0)
			return true;
		return strncmp(sub->name, SA_GROUP_PREFIX, strlen(SA_GROUP_PREFIX)) == 0 &&
		       strcmp(sub->name + strlen(SA_GROUP_PREFIX), ns) == 0;
	}
	return false;
}

static bool
binding_names(const struct kn_binding *b, const char *ns, const char *name)
{
	for (size_t i = 0; i < b->nsubjects; i++)
		if (kn_rbac_subject_matches(&b->subjects[i], b->ns, ns, name))
			return true;
	return false;
}

/* ------------------------------------------------------------ bindings */

static void
describe_binding(const struct kn_binding *b, char *buf, size_t len)
{
	if (b->ns)
		snprintf(buf, len, "RoleBinding %s/%s", b->ns, b->name);
	else
		snprintf(buf, len, "ClusterRoleBinding %s", b->name);
}

/* True when binding b grants a meaningful rule; otherwise why says what
 * it lacks. */
static bool
binding_grants(struct kn_rbac *r, const struct kn_binding *b, char *why, size_t len)
{
	unsigned need = b->ns ? SCOPE_NS : SCOPE_CLUSTER, sc;
	char by[KN_API_WHY_MAX / 2];
	ssize_t idx;

	describe_binding(b, by, sizeof(by));
	if (!b->role_is_cluster) {
		/* A Role lives in the binding's namespace; its rules are
		 * namespaced by construction, but may name cluster-scoped
		 * resources, which grants nothing. */
		const struct kn_role *role = kn_store_get_role(r->s, b->ns, b->role_name);

		if (!role) {
			snprintf(why, len, "Role %s/%s (%s) does not exist", b->ns, b->role_name,
				 by);
			return false;
		}
		if (own_scopes(role) & SCOPE_NS)
			return true;
		snprintf(why, len, "Role %s/%s (%s) has %s", b->ns, b->role_name, by,
			 own_scopes(role) ? "only cluster-wide rules" : "no rules");
		return false;
	}
	idx = crole_find(r, b->role_name);
	if (idx < 0) {
		snprintf(why, len, "ClusterRole %s (%s) does not exist", b->role_name, by);
		return false;
	}
	sc = crole_scopes(r, (size_t)idx);
	if (sc & need)
		return true;
	/* Only a RoleBinding can miss rules the role has: cluster-wide ones. */
	if (sc)
		snprintf(why, len, "ClusterRole %s (%s) has only cluster-wide rules", b->role_name,
			 by);
	else if (r->croles[idx]->aggregated)
		snprintf(why, len, "ClusterRole %s (%s) aggregates no rules", b->role_name, by);
	else
		snprintf(why, len, "ClusterRole %s (%s) has no rules", b->role_name, by);
	return false;
}

/* Bindings to bootstrap ClusterRoles say nothing: every identity holds
 * those roles, and the cluster's own bindings of them name the groups
 * every account is in. */
static bool
binding_counts(const struct kn_rbac *r, const struct kn_binding *b)
{
	return !(b->role_is_cluster && is_bootstrap(r, b->role_name));
}

static void
evaluate(struct kn_rbac *r, const char *ns, const char *name, struct kn_api_verdict *v)
{
	/* first leaves room for the words around it in v->why. */
	char first[KN_API_WHY_MAX - 64], by[KN_API_WHY_MAX / 2];
	size_t nbound = 0;

	memset(v, 0, sizeof(*v));
	first[0] = '\0';
	/* ClusterRoleBindings first, then RoleBindings, each in name order:
	 * the reason given is the first binding that grants. */
	for (size_t pass = 0; pass < 2; pass++) {
		struct kn_binding *const *bs = pass ? r->rbs : r->crbs;
		size_t n = pass ? r->nrbs : r->ncrbs;

		for (size_t i = 0; i < n; i++) {
			const struct kn_binding *b = bs[i];

			if (!binding_counts(r, b) || !binding_names(b, ns, name))
				continue;
			nbound++;
			if (binding_grants(r, b, nbound == 1 ? first : by,
					   nbound == 1 ? sizeof(first) : sizeof(by))) {
				describe_binding(b, by, sizeof(by));
				v->allowed = true;
				v->reason = KN_API_BOUND;
				snprintf(v->why, sizeof(v->why), "bound to %s %s by %s",
					 b->role_is_cluster ? "ClusterRole" : "Role", b->role_name,
					 by);
				return;
			}
		}
	}
	if (nbound == 0) {
		v->reason = KN_API_NO_BINDINGS;
		snprintf(v->why, sizeof(v->why), "account has no bindings");
	} else {
		v->reason = KN_API_NO_PERMISSION;
		if (nbound == 1)
			snprintf(v->why, sizeof(v->why), "no permission: %s", first);
		else
			snprintf(v->why, sizeof(v->why),
				 "no permission: %s (and %zu more bindings)", first, nbound - 1);
	}
}

/* ------------------------------------------------------------ accounts */

static uint64_t
account_hash(const char *ns, const char *name)
{
	uint64_t h = hash64(ns, strlen(ns) + 1, HASH64_SEED);

	return hash64(name, strlen(name) + 1, h);
}

/* The cached slot of ns/name, or the empty slot where it goes. */
static struct account *
account_slot(struct kn_rbac *r, const char *ns, const char *name, uint64_t h)
{
	size_t mask = r->acc_cap - 1, i = h & mask;

	while (r->acc[i].ns) {
		if (r->acc[i].hash == h && strcmp(r->acc[i].ns, ns) == 0 &&
		    strcmp(r->acc[i].name, name) == 0)
			break;
		i = (i + 1) & mask;
	}
	return &r->acc[i];
}

static void
account_grow(struct kn_rbac *r)
{
	struct account *old = r->acc;
	size_t ocap = r->acc_cap;

	r->acc_cap = ocap ? ocap * 2 : 64;
	r->acc = xcalloc(r->acc_cap, sizeof(*r->acc));
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].ns)
			*account_slot(r, old[i].ns, old[i].name, old[i].hash) = old[i];
	}
	free(old);
}

void
kn_rbac_account(struct kn_rbac *r, const char *ns, const char *name, struct kn_api_verdict *ret)
{
	uint64_t h = account_hash(ns, name);
	struct account *a;

	if ((r->nacc + 1) * 2 > r->acc_cap)
		account_grow(r);
	a = account_slot(r, ns, name, h);
	if (!a->ns) {
		evaluate(r, ns, name, &a->v);
		a->ns = xstrdup(ns);
		a->name = xstrdup(name);
		a->hash = h;
		r->nacc++;
	}
	*ret = a->v;
}

void
kn_rbac_pod(struct kn_rbac *r, const struct kn_pod *pod, struct kn_api_verdict *ret)
{
	const struct kn_service_account *sa;
	const char *sa_name = pod->service_account ? pod->service_account : "default";

	/* A projected serviceAccountToken volume mounts a token whatever
	 * automountServiceAccountToken says; in a live cluster it is also
	 * how the admission plugin mounts the automatic one. */
	if (!pod->projected_token) {
		if (pod->automount_token == 0) {
			memset(ret, 0, sizeof(*ret));
			ret->reason = KN_API_NO_TOKEN;
			snprintf(ret->why, sizeof(ret->why),
				 "token not mounted (the pod sets automountServiceAccountToken: "
				 "false)");
			return;
		}
		sa = kn_store_get_service_account(r->s, pod->ns, sa_name);
		if (pod->automount_token < 0 && sa && sa->automount_token == 0) {
			memset(ret, 0, sizeof(*ret));
			ret->reason = KN_API_NO_TOKEN;
			snprintf(ret->why, sizeof(ret->why),
				 "token not mounted (ServiceAccount %s/%s sets "
				 "automountServiceAccountToken: false)",
				 pod->ns, sa_name);
			return;
		}
	}
	kn_rbac_account(r, pod->ns, sa_name, ret);
}

/* ------------------------------------------------------------ context */

struct kn_rbac *
kn_rbac_new(struct kn_store *s, const char *const *bootstrap, size_t nbootstrap)
{
	struct kn_rbac *r = xcalloc(1, sizeof(*r));
	size_t n;

	r->s = s;
	r->boot = bootstrap ? bootstrap : kn_rbac_bootstrap_roles;
	r->nboot = bootstrap ? nbootstrap : kn_rbac_nbootstrap_roles;
	r->ncroles = kn_store_cluster_roles(s, &r->croles);
	r->ncrbs = kn_store_cluster_role_bindings(s, &r->crbs);
	r->nrbs = kn_store_role_bindings(s, &r->rbs);
	n = r->ncroles ? r->ncroles : 1;
	r->scopes = xcalloc(n, sizeof(*r->scopes));
	r->boot_role = xcalloc(n, sizeof(*r->boot_role));
	r->stack = xcalloc(n, sizeof(*r->stack));
	r->seen = xcalloc(n, sizeof(*r->seen));
	for (size_t i = 0; i < r->ncroles; i++)
		r->boot_role[i] = is_bootstrap(r, r->croles[i]->name);
	return r;
}

void
kn_rbac_free(struct kn_rbac *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->acc_cap; i++) {
		free(r->acc[i].ns);
		free(r->acc[i].name);
	}
	free(r->acc);
	free(r->scopes);
	free(r->boot_role);
	free(r->stack);
	free(r->seen);
	free(r);
}
