/* The cluster objects as the compiler sees them: only the fields it needs,
 * decoded and validated once (decode.h).  All strings are owned by the
 * object; kn_object_free releases everything.
 */
#ifndef KN_MODEL_H
#define KN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

/* IANA protocol numbers, as nft's meta l4proto sees them. */
enum kn_proto {
	KN_PROTO_TCP = 6,
	KN_PROTO_UDP = 17,
	KN_PROTO_SCTP = 132,
};
const char *kn_proto_name(int proto); /* "TCP", "UDP", "SCTP" */

struct kn_label {
	char *key;
	char *value;
};

/* Sorted by key, keys unique. */
struct kn_labels {
	struct kn_label *v;
	size_t n;
};
/* Returns the value or NULL. */
const char *kn_labels_get(const struct kn_labels *l, const char *key);

enum kn_sel_op {
	KN_SEL_IN,
	KN_SEL_NOT_IN,
	KN_SEL_EXISTS,
	KN_SEL_DOES_NOT_EXIST,
};

struct kn_sel_expr {
	char *key;
	enum kn_sel_op op;
	char **values; /* sorted, for In/NotIn */
	size_t nvalues;
};

/* metav1.LabelSelector.  An empty selector ({}) matches everything. */
struct kn_selector {
	struct kn_labels match_labels;
	struct kn_sel_expr *exprs;
	size_t nexprs;
};

struct kn_namespace {
	char *name;
	/* Always holds kubernetes.io/metadata.name=<name>, which the API
	 * server sets on every namespace; manifests on disk often omit it. */
	struct kn_labels labels;
};

struct kn_container_port {
	char *name; /* NULL when unnamed */
	uint16_t port;
	uint8_t proto;
};

struct kn_pod {
	char *ns;
	char *name;
	char *node;	       /* spec.nodeName, NULL when unscheduled */
	char *service_account; /* spec.serviceAccountName, default "default" */
	int automount_token;   /* spec.automountServiceAccountToken: -1 unset, 0, 1 */
	bool projected_token;  /* a projected volume with a serviceAccountToken source */
	bool host_network;
	bool finished; /* status.phase Succeeded or Failed */
	struct kn_labels labels;
	struct kn_addr *ips; /* status.podIPs (or status.podIP), deduplicated */
	size_t nips;
	struct kn_container_port *ports; /* of all containers (and init containers) */
	size_t nports;
};

struct kn_np_port {
	uint8_t proto;	   /* default TCP */
	bool has_port;	   /* false: every port of proto */
	char *port_name;   /* named port, or NULL when numeric */
	uint16_t port;	   /* numeric port */
	uint16_t end_port; /* == port unless endPort was given */
};

struct kn_np_peer {
	/* At least one of the three is set; ip_block excludes the others.
	 * A NULL selector means "not given", which is not the same as {}. */
	struct kn_selector *pod_sel;
	struct kn_selector *ns_sel;
	bool has_ip_block;
	struct kn_cidr cidr;
	struct kn_cidr *except;
	size_t nexcept;
};

struct kn_np_rule {
	struct kn_np_peer *peers; /* empty: all peers */
	size_t npeers;
	struct kn_np_port *ports; /* empty: all ports and protocols */
	size_t nports;
};

struct kn_netpol {
	char *ns;
	char *name;
	struct kn_selector pod_sel;
	/* policyTypes after defaulting: Ingress always, Egress when the
	 * policy has egress rules (as the API server defaults it). */
	bool ingress;
	bool egress;
	struct kn_np_rule *in_rules;
	size_t nin;
	struct kn_np_rule *eg_rules;
	size_t neg;
};

/* ------------------------------------------------------------ API server guard
 *
 * RBAC objects, ServiceAccounts and the API server's Service and
 * EndpointSlices, with the fields the RBAC evaluation (rbac.h) and the
 * guard (guard.h) need. */

/* v1 ServiceAccount. */
struct kn_service_account {
	char *ns;
	char *name;
	int automount_token; /* automountServiceAccountToken: -1 unset, 0, 1 */
};

/* rbac.authorization.k8s.io/v1 PolicyRule.  Lists are kept as given. */
struct kn_policy_rule {
	char **verbs;
	size_t nverbs;
	char **api_groups;
	size_t napi_groups;
	char **resources;
	size_t nresources;
	char **resource_names;
	size_t nresource_names;
	char **non_resource_urls;
	size_t nnon_resource_urls;
};

/* Role (ns set) or ClusterRole (ns NULL). */
struct kn_role {
	char *ns;
	char *name;
	struct kn_labels labels; /* aggregation selects ClusterRoles by label */
	struct kn_policy_rule *rules;
	size_t nrules;
	/* aggregationRule: the rules are those of the ClusterRoles matching
	 * any selector, as the aggregation controller writes them. */
	bool aggregated;
	struct kn_selector *agg_selectors;
	size_t nagg_selectors;
};

enum kn_subject_kind {
	KN_SUBJECT_USER,
	KN_SUBJECT_GROUP,
	KN_SUBJECT_SERVICE_ACCOUNT,
};

struct kn_subject {
	enum kn_subject_kind kind;
	char *name;
	char *ns; /* ServiceAccount only; NULL: the binding's namespace */
};

/* RoleBinding (ns set) or ClusterRoleBinding (ns NULL). */
struct kn_binding {
	char *ns;
	char *name;
	bool role_is_cluster; /* roleRef.kind: ClusterRole, else Role */
	char *role_name;      /* roleRef.name */
	struct kn_subject *subjects;
	size_t nsubjects;
};

struct kn_service_port {
	uint8_t proto; /* default TCP */
	uint16_t port;
};

/* The API server's Service, and the label that ties EndpointSlices to
 * their Service. */
#define KN_API_SERVICE_NAMESPACE "default"
#define KN_API_SERVICE_NAME	 "kubernetes"
#define KN_SERVICE_NAME_LABEL	 "kubernetes.io/service-name"

/* v1 Service: only default/kubernetes is decoded (the API server). */
struct kn_service {
	char *ns;
	char *name;
	struct kn_addr *cluster_ips; /* spec.clusterIPs (or clusterIP); none when headless */
	size_t ncluster_ips;
	struct kn_service_port *ports;
	size_t nports;
};

struct kn_slice_port {
	uint8_t proto; /* default TCP */
	bool has_port; /* false: the port is not restricted */
	uint16_t port;
};

/* discovery.k8s.io/v1 EndpointSlice: only those of default/kubernetes
 * (label kubernetes.io/service-name) are decoded. */
struct kn_endpoint_slice {
	char *ns;
	char *name;
	char *service;	       /* label kubernetes.io/service-name */
	int family;	       /* addressType: AF_INET, AF_INET6, or 0 for FQDN */
	struct kn_addr *addrs; /* of every endpoint, deduplicated; none for FQDN */
	size_t naddrs;
	struct kn_slice_port *ports;
	size_t nports;
};

enum kn_kind {
	KN_KIND_OTHER = 0, /* accepted and ignored */
	KN_KIND_NAMESPACE,
	KN_KIND_POD,
	KN_KIND_NETPOL,
	/* The API server guard (rbac.h, guard.h). */
	KN_KIND_SERVICE_ACCOUNT,
	KN_KIND_ROLE,
	KN_KIND_CLUSTER_ROLE,
	KN_KIND_ROLE_BINDING,
	KN_KIND_CLUSTER_ROLE_BINDING,
	KN_KIND_SERVICE,	/* only default/kubernetes is kept */
	KN_KIND_ENDPOINT_SLICE, /* only those of default/kubernetes are kept */
	KN_KIND_MAX,
};
/* Cluster-scoped kinds have no namespace in their key. */
bool kn_kind_cluster_scoped(enum kn_kind k);
const char *kn_kind_name(enum kn_kind k); /* "Pod", ... */

struct kn_object {
	enum kn_kind kind;
	union {
		struct kn_namespace *ns;
		struct kn_pod *pod;
		struct kn_netpol *np;
		struct kn_service_account *sa;
		struct kn_role *role;	    /* Role and ClusterRole */
		struct kn_binding *binding; /* RoleBinding and ClusterRoleBinding */
		struct kn_service *svc;
		struct kn_endpoint_slice *eps;
	} u;
};

void kn_labels_free(struct kn_labels *l);
void kn_selector_free(struct kn_selector *s); /* frees members, not s */
void kn_namespace_free(struct kn_namespace *ns);
void kn_pod_free(struct kn_pod *pod);
void kn_netpol_free(struct kn_netpol *np);
void kn_service_account_free(struct kn_service_account *sa);
void kn_role_free(struct kn_role *role);
void kn_binding_free(struct kn_binding *b);
void kn_service_free(struct kn_service *svc);
void kn_endpoint_slice_free(struct kn_endpoint_slice *eps);
void kn_object_free(struct kn_object *obj); /* frees members, not obj */

/* The key of an object of any kind: its namespace (NULL for cluster-scoped
 * kinds) and name, pointing into the object.  -EINVAL when it has none. */
int kn_object_key(const struct kn_object *obj, const char **ret_ns, const char **ret_name);

#endif
