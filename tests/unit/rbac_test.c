/* RBAC objects (decoding, validation, store views) and the evaluation
 * the API server guard rests on (rbac.h): subjects, RoleBinding scoping,
 * aggregation, bootstrap roles, missing roles, token mounting. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atf-c.h>

#include "decode.h"
#include "dirsrc.h"
#include "manifest.h"
#include "rbac.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define CR(name, rules)                                                                            \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " name \
	"}\nrules: " rules "\n"
#define ROLE(ns, name, rules)                                                                      \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: " name        \
	", namespace: " ns "}\nrules: " rules "\n"
#define RB(ns, name, kind, role, subjects)                                                         \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: " name \
	", namespace: " ns "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: " kind         \
	", name: " role "}\nsubjects: " subjects "\n"
#define CRB(name, role, subjects)                                                                  \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: "      \
	"{name: " name                                                                             \
	"}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: " role         \
	"}\nsubjects: " subjects "\n"
#define SA(ns, name) "[{kind: ServiceAccount, name: " name ", namespace: " ns "}]"

#define PODS_RULE  "[{apiGroups: [\"\"], resources: [pods], verbs: [get, list]}]"
#define NODES_RULE "[{apiGroups: [\"\"], resources: [nodes], verbs: [get]}]"
#define URL_RULE   "[{nonResourceURLs: [/metrics], verbs: [get]}]"

/* The verdict of account ns/name in the store's RBAC. */
static struct kn_api_verdict
account(struct kn_store *s, const char *ns, const char *name)
{
	struct kn_rbac *r = kn_rbac_new(s, NULL, 0);
	struct kn_api_verdict v;

	kn_rbac_account(r, ns, name, &v);
	kn_rbac_free(r);
	return v;
}

static void
check_account(const char *yaml, const char *ns, const char *name, bool allowed, const char *why)
{
	struct kn_store *s = kn_store_new();
	struct kn_api_verdict v;

	tu_load(s, yaml);
	v = account(s, ns, name);
	ATF_CHECK_MSG(v.allowed == allowed, "%s/%s: %s (%s)", ns, name,
		      v.allowed ? "allowed" : "denied", v.why);
	if (why)
		ATF_CHECK_STREQ(why, v.why);
	kn_store_free(s);
}

/* ------------------------------------------------------------ decoding */

static char *
decode_err(const char *yaml)
{
	struct kn_store *s = kn_store_new();
	char err[KN_ERR_MAX] = "";

	if (tu_load_lenient(s, yaml, err, sizeof(err)) == 0)
		snprintf(err, sizeof(err), "valid");
	kn_store_free(s);
	return xstrdup(err);
}

ATF_TC_WITHOUT_HEAD(decode_rbac);
ATF_TC_BODY(decode_rbac, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_role *const *roles;
	struct kn_binding *const *bs;
	const struct kn_role *role;
	const struct kn_service_account *sa;

	tu_load(s, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
		   "metadata: {name: \"system:aggregate-to-view\",\n"
		   "           labels: {rbac.example/aggregate: \"true\"}}\n"
		   "rules: " PODS_RULE "\n"
		   "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
		   "metadata: {name: view}\n"
		   "aggregationRule:\n"
		   "  clusterRoleSelectors: [{matchLabels: {rbac.example/aggregate: \"true\"}}]\n"
		   "rules: []\n" ROLE(
			   "shop", "reader",
			   PODS_RULE) "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: "
				      "RoleBinding\n"
				      "metadata: {name: b, namespace: shop}\n"
				      "roleRef: {kind: ClusterRole, name: view}\n"
				      "subjects:\n"
				      "- {kind: ServiceAccount, name: web}\n"
				      "- {kind: User, name: \"system:serviceaccount:shop:web\"}\n"
				      "- {kind: Group, name: \"system:serviceaccounts:shop\", "
				      "apiGroup: "
				      "rbac.authorization.k8s.io}\n"
				      "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: "
				      "web, namespace: shop}\n"
				      "automountServiceAccountToken: false\n");
	ATF_REQUIRE_EQ(2, kn_store_cluster_roles(s, &roles));
	ATF_CHECK_STREQ("system:aggregate-to-view", roles[0]->name);
	ATF_CHECK(roles[0]->ns == NULL);
	ATF_CHECK_EQ(1, roles[0]->nrules);
	ATF_CHECK_STREQ("pods", roles[0]->rules[0].resources[0]);
	ATF_CHECK_EQ(2, roles[0]->rules[0].nverbs);
	ATF_CHECK(roles[1]->aggregated);
	ATF_CHECK_EQ(1, roles[1]->nagg_selectors);
	ATF_REQUIRE_EQ(1, kn_store_roles(s, &roles));
	ATF_CHECK_STREQ("shop", roles[0]->ns);
	role = kn_store_get_role(s, NULL, "view");
	ATF_CHECK(role != NULL && role->aggregated);
	ATF_CHECK(kn_store_get_role(s, "shop", "view") == NULL);
	ATF_CHECK(kn_store_get_role(s, "shop", "reader") != NULL);
	ATF_REQUIRE_EQ(1, kn_store_role_bindings(s, &bs));
	ATF_CHECK(bs[0]->role_is_cluster);
	ATF_CHECK_STREQ("view", bs[0]->role_name);
	ATF_REQUIRE_EQ(3, bs[0]->nsubjects);
	ATF_CHECK_EQ(KN_SUBJECT_SERVICE_ACCOUNT, bs[0]->subjects[0].kind);
	ATF_CHECK(bs[0]->subjects[0].ns == NULL);
	ATF_CHECK_EQ(KN_SUBJECT_USER, bs[0]->subjects[1].kind);
	ATF_CHECK_EQ(KN_SUBJECT_GROUP, bs[0]->subjects[2].kind);
	sa = kn_store_get_service_account(s, "shop", "web");
	ATF_REQUIRE(sa != NULL);
	ATF_CHECK_EQ(0, sa->automount_token);
	ATF_CHECK_EQ(0, kn_store_cluster_role_bindings(s, &bs));

	/* Cluster-scoped kinds: the namespace is not part of the key. */
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_CLUSTER_ROLE, "whatever", "view"));
	ATF_CHECK(kn_store_get_role(s, NULL, "view") == NULL);
	ATF_CHECK_EQ(-ENOENT, kn_store_delete(s, KN_KIND_ROLE, "other", "reader"));
	ATF_CHECK_EQ(0, kn_store_delete(s, KN_KIND_ROLE, "shop", "reader"));
	ATF_CHECK_STREQ("ClusterRoleBinding", kn_kind_name(KN_KIND_CLUSTER_ROLE_BINDING));
	kn_store_free(s);
}

static const struct {
	const char *yaml;
	const char *err;
} rbac_errors[] = {
	{CR("r", "[{apiGroups: [\"\"], resources: [pods]}]"),
	 "ClusterRole r: rules[0].verbs: required value: verbs must contain at least one value"},
	{ROLE("ns1", "r", URL_RULE),
	 "Role ns1/r: rules[0].nonResourceURLs: invalid value: \"/metrics\": namespaced rules "
	 "cannot apply to non-resource URLs"},
	{CR("r", "[{nonResourceURLs: [/x], resources: [pods], verbs: [get]}]"),
	 "ClusterRole r: rules[0].nonResourceURLs: invalid value: \"/x\": rules cannot apply to "
	 "both regular resources and non-resource URLs"},
	{CR("r", "[{resources: [pods], verbs: [get]}]"),
	 "ClusterRole r: rules[0].apiGroups: required value: resource rules must supply at least "
	 "one api group"},
	{CR("r", "[{apiGroups: [\"\"], verbs: [get]}]"),
	 "ClusterRole r: rules[0].resources: required value: resource rules must supply at least "
	 "one resource"},
	{CR("r", "[{apiGroups: [\"\"], resources: [pods], verbs: get}]"),
	 "ClusterRole r: rules[0].verbs: must be a list"},
	{"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: agg}\n"
	 "aggregationRule: {}\n",
	 "ClusterRole agg: aggregationRule.clusterRoleSelectors: required value: at least one "
	 "clusterRoleSelector required if aggregationRule is non-nil"},
	{"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: agg}\n"
	 "aggregationRule: {clusterRoleSelectors: [{matchLabels: {'a b': c}}]}\n",
	 "ClusterRole agg: aggregationRule.clusterRoleSelectors[0].matchLabels[\"a b\"]: invalid "
	 "value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and "
	 "must start and end with an alphanumeric character"},
	{CR("\"..\"", "[]"),
	 "ClusterRole ..: metadata.name: invalid value: \"..\": may not be '..'"},
	{CR("a%b", "[]"), "ClusterRole a%b: metadata.name: invalid value: \"a%b\": may not "
			  "contain '%'"},
	{RB("ns1", "b", "Foo", "r", "[]"),
	 "RoleBinding ns1/b: roleRef.kind: unsupported value: \"Foo\": supported values: \"Role\", "
	 "\"ClusterRole\""},
	{"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\n"
	 "roleRef: {kind: Role, name: r}\n",
	 "ClusterRoleBinding b: roleRef.kind: unsupported value: \"Role\": supported values: "
	 "\"ClusterRole\""},
	{"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\n"
	 "roleRef: {apiGroup: example.com, kind: Role, name: r}\n",
	 "RoleBinding default/b: roleRef.apiGroup: unsupported value: \"example.com\": supported "
	 "values: \"rbac.authorization.k8s.io\""},
	{RB("ns1", "b", "Role", "a/b", "[]"),
	 "RoleBinding ns1/b: roleRef.name: invalid value: \"a/b\": may not contain '/'"},
	{RB("ns1", "b", "Role", "\"\"", "[]"), "RoleBinding ns1/b: roleRef.name: required value"},
	{CRB("b", "r", "[{kind: ServiceAccount, name: web}]"),
	 "ClusterRoleBinding b: subjects[0].namespace: required value"},
	{RB("ns1", "b", "Role", "r", "[{kind: Robot, name: x}]"),
	 "RoleBinding ns1/b: subjects[0].kind: unsupported value: \"Robot\": supported values: "
	 "\"ServiceAccount\", \"User\", \"Group\""},
	{RB("ns1", "b", "Role", "r", "[{kind: ServiceAccount, name: Web}]"),
	 "RoleBinding ns1/b: subjects[0].name: invalid value: \"Web\": a lowercase RFC 1123 "
	 "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
	 "and end with an alphanumeric character"},
	{RB("ns1", "b", "Role", "r",
	    "[{kind: ServiceAccount, name: web, apiGroup: rbac.authorization.k8s.io}]"),
	 "RoleBinding ns1/b: subjects[0].apiGroup: unsupported value: "
	 "\"rbac.authorization.k8s.io\": "
	 "supported values: \"\""},
	{RB("ns1", "b", "Role", "r", "[{kind: User, name: alice, apiGroup: v1}]"),
	 "RoleBinding ns1/b: subjects[0].apiGroup: unsupported value: \"v1\": supported values: "
	 "\"rbac.authorization.k8s.io\""},
	{RB("ns1", "b", "Role", "r", "[{kind: Group}]"),
	 "RoleBinding ns1/b: subjects[0].name: required value"},
	{"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: x}\n"
	 "automountServiceAccountToken: \"no\"\n",
	 "ServiceAccount x/a: automountServiceAccountToken: must be a boolean"},
	{"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: A, namespace: x}\n",
	 "ServiceAccount x/A: metadata.name: invalid value: \"A\": a lowercase RFC 1123 subdomain "
	 "must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
	 "with an alphanumeric character"},
};

ATF_TC_WITHOUT_HEAD(decode_rbac_errors);
ATF_TC_BODY(decode_rbac_errors, tc)
{
	for (size_t i = 0; i < ARRAY_SIZE(rbac_errors); i++) {
		char *got = decode_err(rbac_errors[i].yaml);

		ATF_CHECK_MSG(strcmp(got, rbac_errors[i].err) == 0, "case %zu:\n got %s\nwant %s",
			      i, got, rbac_errors[i].err);
		free(got);
	}
}

/* ------------------------------------------------------------ subjects */

ATF_TC_WITHOUT_HEAD(subject_matching);
ATF_TC_BODY(subject_matching, tc)
{
	static const struct {
		enum kn_subject_kind kind;
		const char *name, *ns, *binding_ns;
		bool match;
	} cases[] = {
		/* ServiceAccount: namespace given, or the binding's. */
		{KN_SUBJECT_SERVICE_ACCOUNT, "web", "shop", NULL, true},
		{KN_SUBJECT_SERVICE_ACCOUNT, "web", NULL, "shop", true},
		{KN_SUBJECT_SERVICE_ACCOUNT, "web", "shop", "other", true},
		{KN_SUBJECT_SERVICE_ACCOUNT, "web", NULL, "other", false},
		{KN_SUBJECT_SERVICE_ACCOUNT, "web", NULL, NULL, false},
		{KN_SUBJECT_SERVICE_ACCOUNT, "db", "shop", NULL, false},
		/* The user an account authenticates as. */
		{KN_SUBJECT_USER, "system:serviceaccount:shop:web", NULL, NULL, true},
		{KN_SUBJECT_USER, "system:serviceaccount:shop:web", NULL, "other", true},
		{KN_SUBJECT_USER, "system:serviceaccount:shop:webx", NULL, NULL, false},
		{KN_SUBJECT_USER, "system:serviceaccount:sho:p:web", NULL, NULL, false},
		{KN_SUBJECT_USER, "system:serviceaccount:shop", NULL, NULL, false},
		{KN_SUBJECT_USER, "web", NULL, "shop", false},
		/* Its groups. */
		{KN_SUBJECT_GROUP, "system:serviceaccounts", NULL, NULL, true},
		{KN_SUBJECT_GROUP, "system:serviceaccounts:shop", NULL, NULL, true},
		{KN_SUBJECT_GROUP, "system:serviceaccounts:other", NULL, NULL, false},
		{KN_SUBJECT_GROUP, "system:authenticated", NULL, NULL, true},
		{KN_SUBJECT_GROUP, "system:unauthenticated", NULL, NULL, false},
		{KN_SUBJECT_GROUP, "system:masters", NULL, NULL, false},
		/* A ServiceAccount subject is not a group name. */
		{KN_SUBJECT_GROUP, "system:serviceaccount:shop:web", NULL, NULL, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kn_subject sub = {cases[i].kind, (char *)cases[i].name, (char *)cases[i].ns};

		ATF_CHECK_EQ_MSG(cases[i].match,
				 kn_rbac_subject_matches(&sub, cases[i].binding_ns, "shop", "web"),
				 "case %zu (%s)", i, cases[i].name);
	}
}

ATF_TC_WITHOUT_HEAD(subjects_in_bindings);
ATF_TC_BODY(subjects_in_bindings, tc)
{
	/* A RoleBinding in another namespace may name the account, and
	 * grants there. */
	check_account(ROLE("other", "r", PODS_RULE)
			      RB("other", "b", "Role", "r", SA("shop", "web")),
		      "shop", "web", true, "bound to Role r by RoleBinding other/b");
	/* Without namespace the subject is the binding's namespace's
	 * account. */
	check_account(ROLE("other", "r", PODS_RULE)
			      RB("other", "b", "Role", "r", "[{kind: ServiceAccount, name: web}]"),
		      "shop", "web", false, "account has no bindings");
	check_account(CR("c", PODS_RULE) CRB("b", "c",
					     "[{kind: Group, name: "
					     "\"system:serviceaccounts\"}]"),
		      "shop", "web", true, "bound to ClusterRole c by ClusterRoleBinding b");
	check_account(CR("c", PODS_RULE) CRB(
			      "b", "c", "[{kind: User, name: \"system:serviceaccount:shop:web\"}]"),
		      "shop", "web", true, NULL);
	check_account(CR("c", PODS_RULE) CRB(
			      "b", "c", "[{kind: Group, name: \"system:serviceaccounts:shop\"}]"),
		      "shop", "db", true, NULL);
	check_account(CR("c", PODS_RULE) CRB("b", "c", "[{kind: User, name: alice}]"), "shop",
		      "web", false, "account has no bindings");
	/* ClusterRoleBindings are reported first, then RoleBindings, by
	 * name. */
	check_account(CR("c", PODS_RULE) ROLE("shop", "r", PODS_RULE)
			      RB("shop", "a", "Role", "r", SA("shop", "web"))
				      CRB("z", "c", SA("shop", "web")),
		      "shop", "web", true, "bound to ClusterRole c by ClusterRoleBinding z");
}

/* ------------------------------------------------------------ scoping */

ATF_TC_WITHOUT_HEAD(rolebinding_scopes_clusterrole);
ATF_TC_BODY(rolebinding_scopes_clusterrole, tc)
{
	/* Rules on namespaced resources apply in the binding's namespace. */
	check_account(CR("c", PODS_RULE) RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", true, "bound to ClusterRole c by RoleBinding shop/b");
	/* Cluster-scoped resources and non-resource URLs grant nothing
	 * there... */
	check_account(CR("c", NODES_RULE) RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", false,
		      "no permission: ClusterRole c (RoleBinding shop/b) has only cluster-wide "
		      "rules");
	check_account(CR("c", URL_RULE) RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", false, NULL);
	check_account(CR("c", "[{apiGroups: [\"\"], resources: [nodes/status, persistentvolumes], "
			      "verbs: [get]}, {apiGroups: [rbac.authorization.k8s.io], "
			      "resources: [clusterroles], verbs: [get]}]")
			      RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", false, NULL);
	/* ...but everything does under a ClusterRoleBinding. */
	check_account(CR("c", NODES_RULE) CRB("b", "c", SA("shop", "web")), "shop", "web", true,
		      NULL);
	check_account(CR("c", URL_RULE) CRB("b", "c", SA("shop", "web")), "shop", "web", true,
		      NULL);
	/* A Role's rule on a cluster-scoped resource grants nothing. */
	check_account(
		ROLE("shop", "r", NODES_RULE) RB("shop", "b", "Role", "r", SA("shop", "web")),
		"shop", "web", false,
		"no permission: Role shop/r (RoleBinding shop/b) has only cluster-wide rules");
	/* When the scope cannot be known ("*", a group we do not know, a
	 * custom resource) the rule counts: the guard keeps access then. */
	check_account(CR("c", "[{apiGroups: [\"*\"], resources: [nodes], verbs: [get]}]")
			      RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", true, NULL);
	check_account(CR("c", "[{apiGroups: [\"\"], resources: [\"*\"], verbs: [get]}]")
			      RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", true, NULL);
	check_account(CR("c", "[{apiGroups: [example.com], resources: [widgets], verbs: [get]}]")
			      RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", true, NULL);
	/* A RoleBinding may grant an account its own namespace object. */
	check_account(CR("c", "[{apiGroups: [\"\"], resources: [namespaces], verbs: [get]}]")
			      RB("shop", "b", "ClusterRole", "c", SA("shop", "web")),
		      "shop", "web", true, NULL);
}

/* ------------------------------------------------------------ aggregation */

#define AGG(name, selector)                                                                        \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " name \
	"}\naggregationRule: {clusterRoleSelectors: [" selector "]}\n"
#define AGG_L(name, labels, selector)                                                              \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " name \
	", labels: " labels "}\naggregationRule: {clusterRoleSelectors: [" selector "]}\n"
#define LABELED(name, labels, rules)                                                               \
	"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: " name \
	", labels: " labels "}\nrules: " rules "\n"

ATF_TC_WITHOUT_HEAD(aggregation);
ATF_TC_BODY(aggregation, tc)
{
	/* The aggregated role holds the rules of the roles it selects. */
	check_account(AGG("view", "{matchLabels: {agg: view}}")
			      LABELED("view-pods", "{agg: view}", PODS_RULE)
				      CRB("b", "view", SA("shop", "web")),
		      "shop", "web", true, "bound to ClusterRole view by ClusterRoleBinding b");
	/* Its own rules are what the controller wrote last: computed
	 * instead, and with nothing selected they are none. */
	check_account(AGG("view", "{matchLabels: {agg: view}}") "rules: " PODS_RULE "\n" CRB(
			      "b", "view", SA("shop", "web")),
		      "shop", "web", false,
		      "no permission: ClusterRole view (ClusterRoleBinding b) aggregates no rules");
	/* Through aggregated roles, transitively, scoped by the binding. */
	check_account(AGG("admin", "{matchLabels: {agg: admin}}")
			      AGG_L("edit", "{agg: admin}", "{matchLabels: {agg: edit}}") LABELED(
				      "edit-pods", "{agg: edit}", PODS_RULE)
				      RB("shop", "b", "ClusterRole", "admin", SA("shop", "web")),
		      "shop", "web", true, NULL);
	check_account(AGG("admin", "{matchLabels: {agg: admin}}")
			      LABELED("admin-nodes", "{agg: admin}", NODES_RULE)
				      RB("shop", "b", "ClusterRole", "admin", SA("shop", "web")),
		      "shop", "web", false, NULL);
	/* matchExpressions work like anywhere else. */
	check_account(AGG("view", "{matchExpressions: [{key: agg, operator: In, values: [v, w]}]}")
			      LABELED("w", "{agg: w}", PODS_RULE)
				      CRB("b", "view", SA("shop", "web")),
		      "shop", "web", true, NULL);
	/* Rules of bootstrap roles do not count, aggregated or not. */
	check_account(AGG("view", "{matchLabels: {agg: view}}")
			      LABELED("\"system:discovery\"", "{agg: view}", URL_RULE)
				      CRB("b", "view", SA("shop", "web")),
		      "shop", "web", false, NULL);
}

ATF_TC_WITHOUT_HEAD(aggregation_cycles);
ATF_TC_BODY(aggregation_cycles, tc)
{
	/* a selects b, b selects a: the walk ends, nothing is granted. */
	const char *cycle = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
			    "metadata: {name: a, labels: {x: a}}\n"
			    "aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: b}}]}\n"
			    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
			    "metadata: {name: b, labels: {x: b}}\n"
			    "aggregationRule: {clusterRoleSelectors: [{matchLabels: {x: a}}]}\n";
	char *yaml;

	yaml = xasprintf("%s%s", cycle, CRB("bind", "a", SA("shop", "web")));
	check_account(yaml, "shop", "web", false,
		      "no permission: ClusterRole a (ClusterRoleBinding bind) aggregates no rules");
	free(yaml);
	/* A cycle that also reaches a role with rules grants them, from
	 * either end. */
	yaml = xasprintf("%s%s%s", cycle, LABELED("leaf", "{x: a}", PODS_RULE),
			 CRB("bind", "b", SA("shop", "web")));
	check_account(yaml, "shop", "web", true, NULL);
	free(yaml);
	/* A role that selects itself ({} selects every ClusterRole). */
	check_account(AGG("all", "{}") CRB("bind", "all", SA("shop", "web")), "shop", "web", false,
		      NULL);
	check_account(AGG("all", "{}") LABELED("leaf", "{y: z}", PODS_RULE)
			      CRB("bind", "all", SA("shop", "web")),
		      "shop", "web", true, NULL);
}

/* ------------------------------------------------------------ bootstrap, missing */

ATF_TC_WITHOUT_HEAD(bootstrap_roles);
ATF_TC_BODY(bootstrap_roles, tc)
{
	/* What every cluster has: bindings of the bootstrap roles to the
	 * groups of every account. */
	const char *boot = CR("\"system:discovery\"",
			      "[{nonResourceURLs: [/api, /apis], verbs: [get]}]")
		CR("\"system:basic-user\"", "[{apiGroups: [authorization.k8s.io], resources: "
					    "[selfsubjectaccessreviews], verbs: [create]}]")
			CRB("\"system:discovery\"", "\"system:discovery\"",
			    "[{kind: Group, name: \"system:authenticated\"}]")
				CRB("\"system:basic-user\"", "\"system:basic-user\"",
				    "[{kind: Group, name: \"system:authenticated\"}]")
					CRB("sa-issuer",
					    "\"system:service-account-issuer-discovery\"",
					    "[{kind: Group, name: "
					    "\"system:serviceaccounts\"}]");
	struct kn_store *s = kn_store_new();
	const char *custom[] = {"view"};
	struct kn_api_verdict v;
	struct kn_rbac *r;

	check_account(boot, "shop", "web", false, "account has no bindings");
	tu_load(s, boot);
	tu_load(s, CR("view", PODS_RULE) RB("shop", "b", "ClusterRole", "view", SA("shop", "web")));
	v = account(s, "shop", "web");
	ATF_CHECK(v.allowed);
	ATF_CHECK_STREQ("bound to ClusterRole view by RoleBinding shop/b", v.why);
	/* The list is configurable; it replaces the default one: view no
	 * longer counts, the bootstrap roles do. */
	r = kn_rbac_new(s, custom, 1);
	kn_rbac_account(r, "shop", "web", &v);
	ATF_CHECK(v.allowed);
	ATF_CHECK_STREQ("bound to ClusterRole system:basic-user by ClusterRoleBinding "
			"system:basic-user",
			v.why);
	kn_rbac_free(r);
	ATF_REQUIRE_EQ(0,
		       kn_store_delete(s, KN_KIND_CLUSTER_ROLE_BINDING, NULL, "system:basic-user"));
	ATF_REQUIRE_EQ(0,
		       kn_store_delete(s, KN_KIND_CLUSTER_ROLE_BINDING, NULL, "system:discovery"));
	r = kn_rbac_new(s, custom, 1);
	kn_rbac_account(r, "shop", "web", &v);
	ATF_CHECK(!v.allowed);
	/* sa-issuer binds a role that does not exist. */
	ATF_CHECK_EQ(KN_API_NO_PERMISSION, v.reason);
	kn_rbac_free(r);
	ATF_REQUIRE_EQ(0, kn_store_delete(s, KN_KIND_CLUSTER_ROLE_BINDING, NULL, "sa-issuer"));
	r = kn_rbac_new(s, custom, 1);
	kn_rbac_account(r, "shop", "web", &v);
	ATF_CHECK_EQ(KN_API_NO_BINDINGS, v.reason);
	kn_rbac_free(r);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(missing_roles);
ATF_TC_BODY(missing_roles, tc)
{
	struct kn_store *s = kn_store_new();
	struct kn_api_verdict v;

	tu_load(s, RB("shop", "b", "Role", "reader", SA("shop", "web"))
			   CRB("c", "gone", SA("shop", "web")));
	v = account(s, "shop", "web");
	ATF_CHECK(!v.allowed);
	ATF_CHECK_EQ(KN_API_NO_PERMISSION, v.reason);
	ATF_CHECK_STREQ(
		"no permission: ClusterRole gone (ClusterRoleBinding c) does not exist (and "
		"1 more bindings)",
		v.why);
	/* The role appears: the next evaluation grants. */
	tu_load(s, ROLE("shop", "reader", PODS_RULE));
	v = account(s, "shop", "web");
	ATF_CHECK(v.allowed);
	ATF_CHECK_STREQ("bound to Role reader by RoleBinding shop/b", v.why);
	/* A Role of another namespace is not the binding's. */
	check_account(ROLE("other", "reader", PODS_RULE)
			      RB("shop", "b", "Role", "reader", SA("shop", "web")),
		      "shop", "web", false,
		      "no permission: Role shop/reader (RoleBinding shop/b) does not exist");
	/* A ClusterRole is not a Role of that name. */
	check_account(CR("reader", PODS_RULE) RB("shop", "b", "Role", "reader", SA("shop", "web")),
		      "shop", "web", false, NULL);
	kn_store_free(s);
}

/* ------------------------------------------------------------ tokens */

#define POD(spec)                                                                                  \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: " spec        \
	"\nstatus: {podIP: 10.0.0.1}\n"
#define SVCACCT(automount)                                                                         \
	"---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n"      \
	"automountServiceAccountToken: " automount "\n"
#define GRANT CR("c", PODS_RULE) CRB("b", "c", SA("shop", "web"))

static struct kn_api_verdict
pod_verdict(const char *yaml)
{
	struct kn_store *s = kn_store_new();
	struct kn_api_verdict v;
	struct kn_rbac *r;

	tu_load(s, yaml);
	r = kn_rbac_new(s, NULL, 0);
	kn_rbac_pod(r, kn_store_get_pod(s, "shop", "p"), &v);
	kn_rbac_free(r);
	kn_store_free(s);
	return v;
}

ATF_TC_WITHOUT_HEAD(automount_precedence);
ATF_TC_BODY(automount_precedence, tc)
{
	struct kn_api_verdict v;

	/* Default: a token is mounted. */
	v = pod_verdict(GRANT POD("{serviceAccountName: web, containers: [{name: c}]}"));
	ATF_CHECK(v.allowed);
	/* The pod's setting wins over the account's, either way. */
	v = pod_verdict(GRANT SVCACCT("true") POD(
		"{serviceAccountName: web, automountServiceAccountToken: false}"));
	ATF_CHECK(!v.allowed);
	ATF_CHECK_EQ(KN_API_NO_TOKEN, v.reason);
	ATF_CHECK_STREQ("token not mounted (the pod sets automountServiceAccountToken: false)",
			v.why);
	v = pod_verdict(GRANT SVCACCT("false") POD(
		"{serviceAccountName: web, automountServiceAccountToken: true}"));
	ATF_CHECK(v.allowed);
	/* Unset on the pod: the account's. */
	v = pod_verdict(GRANT SVCACCT("false") POD("{serviceAccountName: web}"));
	ATF_CHECK(!v.allowed);
	ATF_CHECK_STREQ("token not mounted (ServiceAccount shop/web sets "
			"automountServiceAccountToken: false)",
			v.why);
	v = pod_verdict(GRANT SVCACCT("true") POD("{serviceAccountName: web}"));
	ATF_CHECK(v.allowed);
	/* A token but no permission. */
	v = pod_verdict(GRANT POD("{serviceAccountName: other}"));
	ATF_CHECK(!v.allowed);
	ATF_CHECK_EQ(KN_API_NO_BINDINGS, v.reason);
	/* No permission and no token: the token is the reason. */
	v = pod_verdict(POD("{automountServiceAccountToken: false}"));
	ATF_CHECK_EQ(KN_API_NO_TOKEN, v.reason);
	/* The deprecated serviceAccount field names the account too. */
	v = pod_verdict(GRANT POD("{serviceAccount: web}"));
	ATF_CHECK(v.allowed);
}

ATF_TC_WITHOUT_HEAD(projected_tokens);
ATF_TC_BODY(projected_tokens, tc)
{
	struct kn_api_verdict v;

	/* A projected serviceAccountToken volume mounts a token whatever
	 * automountServiceAccountToken says, on the pod or the account. */
	v = pod_verdict(GRANT SVCACCT("false")
				POD("{serviceAccountName: web, automountServiceAccountToken: "
				    "false, volumes: [{name: t, "
				    "projected: {sources: [{serviceAccountToken: {path: token, "
				    "audience: vault}}]}}]}"));
	ATF_CHECK(v.allowed);
	/* Other projected sources do not. */
	v = pod_verdict(GRANT POD("{serviceAccountName: web, automountServiceAccountToken: false, "
				  "volumes: [{name: t, projected: {sources: [{configMap: {name: "
				  "x}}]}}]}"));
	ATF_CHECK(!v.allowed);
	/* A mounted token without permissions: denied all the same. */
	v = pod_verdict(POD("{volumes: [{name: t, projected: {sources: [{serviceAccountToken: "
			    "{path: token}}]}}]}"));
	ATF_CHECK(!v.allowed);
	ATF_CHECK_EQ(KN_API_NO_BINDINGS, v.reason);
}

ATF_TC_WITHOUT_HEAD(account_cache);
ATF_TC_BODY(account_cache, tc)
{
	/* Many accounts through one context: each evaluated once and
	 * remembered, across the cache's growth. */
	struct kn_store *s = kn_store_new();
	struct kn_api_verdict v;
	struct kn_rbac *r;
	char name[32];

	tu_load(s, CR("c", PODS_RULE) CRB("b", "c",
					  "[{kind: Group, name: "
					  "\"system:serviceaccounts:even\"}]"));
	r = kn_rbac_new(s, NULL, 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(name, sizeof(name), "sa-%d", i);
			kn_rbac_account(r, i % 2 ? "odd" : "even", name, &v);
			ATF_CHECK_EQ(i % 2 == 0, v.allowed);
		}
	kn_rbac_free(r);
	kn_store_free(s);
}

static void
report(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

ATF_TC_WITHOUT_HEAD(directory_source);
ATF_TC_BODY(directory_source, tc)
{
	/* The daemon's directory source keeps RBAC objects by their keys: a
	 * binding whose file goes is revoked, a ClusterRole (no namespace)
	 * too. */
	struct kn_store *s = kn_store_new();
	struct kn_dirsrc *d;
	FILE *f;

	ATF_REQUIRE_EQ(0, mkdir("m", 0700));
	ATF_REQUIRE((f = fopen("m/role.yaml", "w")) != NULL);
	fputs(CR("c", PODS_RULE), f);
	fclose(f);
	ATF_REQUIRE((f = fopen("m/binding.yaml", "w")) != NULL);
	fputs(CRB("b", "c", SA("shop", "web")), f);
	fclose(f);
	ATF_REQUIRE_EQ(0, kn_dirsrc_open("m", s, report, NULL, &d));
	ATF_CHECK_EQ(0, kn_dirsrc_rescan(d));
	ATF_CHECK(account(s, "shop", "web").allowed);
	ATF_REQUIRE_EQ(0, unlink("m/binding.yaml"));
	kn_dirsrc_rescan(d);
	ATF_CHECK(!account(s, "shop", "web").allowed);
	ATF_REQUIRE_EQ(0, unlink("m/role.yaml"));
	kn_dirsrc_rescan(d);
	ATF_CHECK(kn_store_get_role(s, NULL, "c") == NULL);
	kn_dirsrc_close(d);
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, decode_rbac);
	ATF_TP_ADD_TC(tp, decode_rbac_errors);
	ATF_TP_ADD_TC(tp, subject_matching);
	ATF_TP_ADD_TC(tp, subjects_in_bindings);
	ATF_TP_ADD_TC(tp, rolebinding_scopes_clusterrole);
	ATF_TP_ADD_TC(tp, aggregation);
	ATF_TP_ADD_TC(tp, aggregation_cycles);
	ATF_TP_ADD_TC(tp, bootstrap_roles);
	ATF_TP_ADD_TC(tp, missing_roles);
	ATF_TP_ADD_TC(tp, automount_precedence);
	ATF_TP_ADD_TC(tp, projected_tokens);
	ATF_TP_ADD_TC(tp, account_cache);
	ATF_TP_ADD_TC(tp, directory_source);
	return atf_no_error();
}
