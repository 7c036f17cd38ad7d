/* Names of model enums, label lookup and the release of model objects.
 *
 * Every object owns all of its strings and arrays, so each _free walks the
 * whole tree.  The _free functions accept NULL and leave embedded members
 * zeroed, so that a second call on the same member is harmless.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

const char *
kn_proto_name(int proto)
{
	switch (proto) {
	case KN_PROTO_TCP:
		return "TCP";
	case KN_PROTO_UDP:
		return "UDP";
	case KN_PROTO_SCTP:
		return "SCTP";
	}
	/* NetworkPolicy knows only these three; anything else is a bug in
	 * the caller, which NULL lets it detect. */
	return NULL;
}

const char *
kn_kind_name(enum kn_kind k)
{
	switch (k) {
	case KN_KIND_OTHER:
		return "Other";
	case KN_KIND_NAMESPACE:
		return "Namespace";
	case KN_KIND_POD:
		return "Pod";
	case KN_KIND_NETPOL:
		return "NetworkPolicy";
	case KN_KIND_SERVICE_ACCOUNT:
		return "ServiceAccount";
	case KN_KIND_ROLE:
		return "Role";
	case KN_KIND_CLUSTER_ROLE:
		return "ClusterRole";
	case KN_KIND_ROLE_BINDING:
		return "RoleBinding";
	case KN_KIND_CLUSTER_ROLE_BINDING:
		return "ClusterRoleBinding";
	case KN_KIND_SERVICE:
		return "Service";
	case KN_KIND_ENDPOINT_SLICE:
		return "EndpointSlice";
	case KN_KIND_MAX:
		break;
	}
	return NULL;
}

bool
kn_kind_cluster_scoped(enum kn_kind k)
{
	return k == KN_KIND_NAMESPACE || k == KN_KIND_CLUSTER_ROLE ||
	       k == KN_KIND_CLUSTER_ROLE_BINDING;
}

const char *
kn_labels_get(const struct kn_labels *l, const char *key)
{
	size_t lo = 0, hi;

	if (!l || !l->v || !key)
		return NULL;
	/* Labels are kept sorted by key (model.h), so a lookup is a
	 * binary search; selectors call this for every pod. */
	hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->v[mid].key);

		if (c == 0)
			return l->v[mid].value;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
kn_labels_free(struct kn_labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
sel_expr_free(struct kn_sel_expr *e)
{
	free(e->key);
	for (size_t i = 0; i < e->nvalues; i++)
		free(e->values[i]);
	free(e->values);
}

void
kn_selector_free(struct kn_selector *s)
{
	if (!s)
		return;
	kn_labels_free(&s->match_labels);
	for (size_t i = 0; i < s->nexprs; i++)
		sel_expr_free(&s->exprs[i]);
	free(s->exprs);
	s->exprs = NULL;
	s->nexprs = 0;
}

void
kn_namespace_free(struct kn_namespace *ns)
{
	if (!ns)
		return;
	free(ns->name);
	kn_labels_free(&ns->labels);
	free(ns);
}

void
kn_pod_free(struct kn_pod *pod)
{
	if (!pod)
		return;
	free(pod->ns);
	free(pod->name);
	free(pod->node);
	free(pod->service_account);
	kn_labels_free(&pod->labels);
	free(pod->ips);
	for (size_t i = 0; i < pod->nports; i++)
		free(pod->ports[i].name);
	free(pod->ports);
	free(pod);
}

/* Peer selectors are heap-allocated because NULL ("not given") and an
 * empty selector ({}) mean different things. */
static void
np_selector_free(struct kn_selector *s)
{
	kn_selector_free(s);
	free(s);
}

static void
np_rules_free(struct kn_np_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct kn_np_rule *r = &rules[i];

		for (size_t j = 0; j < r->npeers; j++) {
			np_selector_free(r->peers[j].pod_sel);
			np_selector_free(r->peers[j].ns_sel);
			free(r->peers[j].except);
		}
		free(r->peers);
		for (size_t j = 0; j < r->nports; j++)
			free(r->ports[j].port_name);
		free(r->ports);
	}
	free(rules);
}

void
kn_netpol_free(struct kn_netpol *np)
{
	if (!np)
		return;
	free(np->ns);
	free(np->name);
	kn_selector_free(&np->pod_sel);
	np_rules_free(np->in_rules, np->nin);
	np_rules_free(np->eg_rules, np->neg);
	free(np);
}

void
kn_service_account_free(struct kn_service_account *sa)
{
	if (!sa)
		return;
	free(sa->ns);
	free(sa->name);
	free(sa);
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
kn_role_free(struct kn_role *role)
{
	if (!role)
		return;
	free(role->ns);
	free(role->name);
	kn_labels_free(&role->labels);
	for (size_t i = 0; i < role->nrules; i++) {
		struct kn_policy_rule *r = &role->rules[i];

		strv_free(r->verbs, r->nverbs);
		strv_free(r->api_groups, r->napi_groups);
		strv_free(r->resources, r->nresources);
		strv_free(r->resource_names, r->nresource_names);
		strv_free(r->non_resource_urls, r->nnon_resource_urls);
	}
	free(role->rules);
	for (size_t i = 0; i < role->nagg_selectors; i++)
		kn_selector_free(&role->agg_selectors[i]);
	free(role->agg_selectors);
	free(role);
}

void
kn_binding_free(struct kn_binding *b)
{
	if (!b)
		return;
	free(b->ns);
	free(b->name);
	free(b->role_name);
	for (size_t i = 0; i < b->nsubjects; i++) {
		free(b->subjects[i].name);
		free(b->subjects[i].ns);
	}
	free(b->subjects);
	free(b);
}

void
kn_service_free(struct kn_service *svc)
{
	if (!svc)
		return;
	free(svc->ns);
	free(svc->name);
	free(svc->cluster_ips);
	free(svc->ports);
	free(svc);
}

void
kn_endpoint_slice_free(struct kn_endpoint_slice *eps)
{
	if (!eps)
		return;
	free(eps->ns);
	free(eps->name);
	free(eps->service);
	free(eps->addrs);
	free(eps->ports);
	free(eps);
}

void
kn_object_free(struct kn_object *obj)
{
	if (!obj)
		return;
	switch (obj->kind) {
	case KN_KIND_NAMESPACE:
		kn_namespace_free(obj->u.ns);
		break;
	case KN_KIND_POD:
		kn_pod_free(obj->u.pod);
		break;
	case KN_KIND_NETPOL:
		kn_netpol_free(obj->u.np);
		break;
	case KN_KIND_SERVICE_ACCOUNT:
		kn_service_account_free(obj->u.sa);
		break;
	case KN_KIND_ROLE:
	case KN_KIND_CLUSTER_ROLE:
		kn_role_free(obj->u.role);
		break;
	case KN_KIND_ROLE_BINDING:
	case KN_KIND_CLUSTER_ROLE_BINDING:
		kn_binding_free(obj->u.binding);
		break;
	case KN_KIND_SERVICE:
		kn_service_free(obj->u.svc);
		break;
	case KN_KIND_ENDPOINT_SLICE:
		kn_endpoint_slice_free(obj->u.eps);
		break;
	case KN_KIND_OTHER:
	case KN_KIND_MAX:
		break;
	}
	memset(obj, 0, sizeof(*obj));
}

int
kn_object_key(const struct kn_object *obj, const char **ret_ns, const char **ret_name)
{
	const char *ns = NULL, *name = NULL;

	switch (obj->kind) {
	case KN_KIND_NAMESPACE:
		name = obj->u.ns ? obj->u.ns->name : NULL;
		break;
	case KN_KIND_POD:
		if (obj->u.pod) {
			ns = obj->u.pod->ns;
			name = obj->u.pod->name;
		}
		break;
	case KN_KIND_NETPOL:
		if (obj->u.np) {
			ns = obj->u.np->ns;
			name = obj->u.np->name;
		}
		break;
	case KN_KIND_SERVICE_ACCOUNT:
		if (obj->u.sa) {
			ns = obj->u.sa->ns;
			name = obj->u.sa->name;
		}
		break;
	case KN_KIND_ROLE:
	case KN_KIND_CLUSTER_ROLE:
		if (obj->u.role) {
			ns = obj->u.role->ns;
			name = obj->u.role->name;
		}
		break;
	case KN_KIND_ROLE_BINDING:
	case KN_KIND_CLUSTER_ROLE_BINDING:
		if (obj->u.binding) {
			ns = obj->u.binding->ns;
			name = obj->u.binding->name;
		}
		break;
	case KN_KIND_SERVICE:
		if (obj->u.svc) {
			ns = obj->u.svc->ns;
			name = obj->u.svc->name;
		}
		break;
	case KN_KIND_ENDPOINT_SLICE:
		if (obj->u.eps) {
			ns = obj->u.eps->ns;
			name = obj->u.eps->name;
		}
		break;
	case KN_KIND_OTHER:
	case KN_KIND_MAX:
		break;
	}
	/* Namespaced kinds have a namespace, cluster-scoped ones none. */
	if (!name || !ns != kn_kind_cluster_scoped(obj->kind))
		return -EINVAL;
	*ret_ns = ns;
	*ret_name = name;
	return 0;
}
