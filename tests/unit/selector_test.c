/* Label selector matching and rendering, and the model helpers they use. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "model.h"
#include "selector.h"
#include "util.h"

/* Builds a label set from "k=v" strings, kept sorted as model.h requires. */
static void
labels_set(struct kn_labels *l, const char *const *kv, size_t n)
{
	char **tmp = xcalloc(n, sizeof(*tmp));

	for (size_t i = 0; i < n; i++)
		tmp[i] = xstrdup(kv[i]);
	qsort(tmp, n, sizeof(*tmp), str_cmp_ptr);
	l->v = xcalloc(n, sizeof(*l->v));
	l->n = n;
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(tmp[i], '=');

		ATF_REQUIRE(eq != NULL);
		l->v[i].key = xstrndup(tmp[i], (size_t)(eq - tmp[i]));
		l->v[i].value = xstrdup(eq + 1);
		free(tmp[i]);
	}
	free(tmp);
}

/* Appends an expression; values is a NULL-terminated list. */
static void
sel_expr(struct kn_selector *s, const char *key, enum kn_sel_op op, ...)
{
	struct kn_sel_expr *e;
	const char *v;
	size_t cap = 0;
	va_list ap;

	s->exprs = xreallocarray(s->exprs, s->nexprs + 1, sizeof(*s->exprs));
	e = &s->exprs[s->nexprs++];
	memset(e, 0, sizeof(*e));
	e->key = xstrdup(key);
	e->op = op;
	va_start(ap, op);
	while ((v = va_arg(ap, const char *)) != NULL)
		*VEC_PUSH(e->values, e->nvalues, cap) = xstrdup(v);
	va_end(ap);
}

static const char *
fmt(const struct kn_selector *s)
{
	static char out[512];
	struct strbuf sb;

	strbuf_init(&sb, 0);
	kn_selector_format(s, &sb);
	snprintf(out, sizeof(out), "%s", strbuf_str(&sb));
	strbuf_free(&sb);
	return out;
}

#define LABELS(l, ...)                                                                             \
	do {                                                                                       \
		static const char *const kv_[] = {__VA_ARGS__};                                    \
		labels_set((l), kv_, sizeof(kv_) / sizeof(kv_[0]));                                \
	} while (0)

ATF_TC_WITHOUT_HEAD(labels_get);
ATF_TC_BODY(labels_get, tc)
{
	struct kn_labels l = {0};

	ATF_CHECK(kn_labels_get(&l, "a") == NULL);
	ATF_CHECK(kn_labels_get(NULL, "a") == NULL);
	LABELS(&l, "tier=db", "app=web", "zone=", "b=2", "c=3", "a.example.com/x=y");
	ATF_CHECK_STREQ("web", kn_labels_get(&l, "app"));
	ATF_CHECK_STREQ("db", kn_labels_get(&l, "tier"));
	ATF_CHECK_STREQ("2", kn_labels_get(&l, "b"));
	ATF_CHECK_STREQ("3", kn_labels_get(&l, "c"));
	ATF_CHECK_STREQ("y", kn_labels_get(&l, "a.example.com/x"));
	/* An empty value is present, not absent. */
	ATF_CHECK_STREQ("", kn_labels_get(&l, "zone"));
	ATF_CHECK(kn_labels_get(&l, "ap") == NULL);
	ATF_CHECK(kn_labels_get(&l, "zzz") == NULL);
	ATF_CHECK(kn_labels_get(&l, "0") == NULL);
	kn_labels_free(&l);
	ATF_CHECK_EQ(0, l.n);
	ATF_CHECK(l.v == NULL);
	kn_labels_free(&l);
	kn_labels_free(NULL);
}

ATF_TC_WITHOUT_HEAD(empty_matches_all);
ATF_TC_BODY(empty_matches_all, tc)
{
	struct kn_selector s = {0};
	struct kn_labels none = {0}, some = {0};

	LABELS(&some, "app=web");
	ATF_CHECK(kn_selector_is_empty(&s));
	ATF_CHECK(kn_selector_matches(&s, &none));
	ATF_CHECK(kn_selector_matches(&s, &some));
	ATF_CHECK(kn_selector_matches(&s, NULL));
	ATF_CHECK_STREQ("<all>", fmt(&s));
	kn_labels_free(&some);
}

ATF_TC_WITHOUT_HEAD(match_labels);
ATF_TC_BODY(match_labels, tc)
{
	struct kn_selector s = {0};
	struct kn_labels a = {0}, b = {0}, c = {0}, d = {0};

	LABELS(&s.match_labels, "tier=db", "app=web");
	LABELS(&a, "app=web", "tier=db", "extra=1");
	LABELS(&b, "app=web");
	LABELS(&c, "app=web", "tier=frontend");
	LABELS(&d, "app=Web", "tier=db");
	ATF_CHECK(!kn_selector_is_empty(&s));
	ATF_CHECK(kn_selector_matches(&s, &a));
	ATF_CHECK(!kn_selector_matches(&s, &b));
	ATF_CHECK(!kn_selector_matches(&s, &c));
	/* Values are case-sensitive. */
	ATF_CHECK(!kn_selector_matches(&s, &d));
	ATF_CHECK(!kn_selector_matches(&s, NULL));
	ATF_CHECK_STREQ("app=web,tier=db", fmt(&s));
	kn_selector_free(&s);
	kn_labels_free(&a);
	kn_labels_free(&b);
	kn_labels_free(&c);
	kn_labels_free(&d);
}

ATF_TC_WITHOUT_HEAD(op_in);
ATF_TC_BODY(op_in, tc)
{
	struct kn_selector s = {0};
	struct kn_labels a = {0}, b = {0}, absent = {0};

	sel_expr(&s, "tier", KN_SEL_IN, "a", "b", NULL);
	LABELS(&a, "tier=b");
	LABELS(&b, "tier=c");
	LABELS(&absent, "app=web");
	ATF_CHECK(kn_selector_matches(&s, &a));
	ATF_CHECK(!kn_selector_matches(&s, &b));
	/* In needs the key. */
	ATF_CHECK(!kn_selector_matches(&s, &absent));
	ATF_CHECK_STREQ("tier in (a,b)", fmt(&s));
	kn_selector_free(&s);
	kn_labels_free(&a);
	kn_labels_free(&b);
	kn_labels_free(&absent);
}

ATF_TC_WITHOUT_HEAD(op_not_in);
ATF_TC_BODY(op_not_in, tc)
{
	struct kn_selector s = {0};
	struct kn_labels a = {0}, b = {0}, absent = {0}, empty = {0};

	sel_expr(&s, "env", KN_SEL_NOT_IN, "dev", "test", NULL);
	LABELS(&a, "env=prod");
	LABELS(&b, "env=test");
	LABELS(&absent, "app=web");
	ATF_CHECK(kn_selector_matches(&s, &a));
	ATF_CHECK(!kn_selector_matches(&s, &b));
	/* NotIn matches when the key is absent. */
	ATF_CHECK(kn_selector_matches(&s, &absent));
	ATF_CHECK(kn_selector_matches(&s, &empty));
	ATF_CHECK_STREQ("env notin (dev,test)", fmt(&s));
	kn_selector_free(&s);
	kn_labels_free(&a);
	kn_labels_free(&b);
	kn_labels_free(&absent);
}

ATF_TC_WITHOUT_HEAD(op_exists);
ATF_TC_BODY(op_exists, tc)
{
	struct kn_selector ex = {0}, dne = {0};
	struct kn_labels has = {0}, hasempty = {0}, lacks = {0};

	sel_expr(&ex, "canary", KN_SEL_EXISTS, NULL);
	sel_expr(&dne, "canary", KN_SEL_DOES_NOT_EXIST, NULL);
	LABELS(&has, "canary=yes");
	LABELS(&hasempty, "canary=");
	LABELS(&lacks, "app=web");
	ATF_CHECK(kn_selector_matches(&ex, &has));
	ATF_CHECK(kn_selector_matches(&ex, &hasempty));
	ATF_CHECK(!kn_selector_matches(&ex, &lacks));
	ATF_CHECK(!kn_selector_matches(&dne, &has));
	ATF_CHECK(!kn_selector_matches(&dne, &hasempty));
	ATF_CHECK(kn_selector_matches(&dne, &lacks));
	ATF_CHECK(kn_selector_matches(&dne, NULL));
	ATF_CHECK_STREQ("canary", fmt(&ex));
	ATF_CHECK_STREQ("!canary", fmt(&dne));
	kn_selector_free(&ex);
	kn_selector_free(&dne);
	kn_labels_free(&has);
	kn_labels_free(&hasempty);
	kn_labels_free(&lacks);
}

ATF_TC_WITHOUT_HEAD(all_must_match);
ATF_TC_BODY(all_must_match, tc)
{
	struct kn_selector s = {0};
	struct kn_labels ok = {0}, bad1 = {0}, bad2 = {0}, bad3 = {0}, bad4 = {0};

	LABELS(&s.match_labels, "app=web");
	sel_expr(&s, "tier", KN_SEL_IN, "a", "b", NULL);
	sel_expr(&s, "x", KN_SEL_DOES_NOT_EXIST, NULL);
	sel_expr(&s, "y", KN_SEL_EXISTS, NULL);
	LABELS(&ok, "app=web", "tier=a", "y=1");
	LABELS(&bad1, "app=db", "tier=a", "y=1");
	LABELS(&bad2, "app=web", "tier=c", "y=1");
	LABELS(&bad3, "app=web", "tier=a", "y=1", "x=1");
	LABELS(&bad4, "app=web", "tier=a");
	ATF_CHECK(kn_selector_matches(&s, &ok));
	ATF_CHECK(!kn_selector_matches(&s, &bad1));
	ATF_CHECK(!kn_selector_matches(&s, &bad2));
	ATF_CHECK(!kn_selector_matches(&s, &bad3));
	ATF_CHECK(!kn_selector_matches(&s, &bad4));
	ATF_CHECK_STREQ("app=web,tier in (a,b),!x,y", fmt(&s));
	kn_selector_free(&s);
	ATF_CHECK(kn_selector_is_empty(&s));
	kn_selector_free(&s);
	kn_selector_free(NULL);
	kn_labels_free(&ok);
	kn_labels_free(&bad1);
	kn_labels_free(&bad2);
	kn_labels_free(&bad3);
	kn_labels_free(&bad4);
}

/* Expressions keep their given order; the rendering appends. */
ATF_TC_WITHOUT_HEAD(format_order_and_append);
ATF_TC_BODY(format_order_and_append, tc)
{
	struct kn_selector s = {0};
	struct strbuf sb;

	sel_expr(&s, "z", KN_SEL_EXISTS, NULL);
	sel_expr(&s, "a", KN_SEL_NOT_IN, "x", NULL);
	LABELS(&s.match_labels, "m=1", "b=2");
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "sel: ");
	kn_selector_format(&s, &sb);
	ATF_CHECK_STREQ("sel: b=2,m=1,z,a notin (x)", strbuf_str(&sb));
	strbuf_free(&sb);
	kn_selector_free(&s);
}

ATF_TC_WITHOUT_HEAD(names);
ATF_TC_BODY(names, tc)
{
	ATF_CHECK_STREQ("TCP", kn_proto_name(KN_PROTO_TCP));
	ATF_CHECK_STREQ("UDP", kn_proto_name(KN_PROTO_UDP));
	ATF_CHECK_STREQ("SCTP", kn_proto_name(KN_PROTO_SCTP));
	ATF_CHECK(kn_proto_name(1) == NULL);
	ATF_CHECK_STREQ("Namespace", kn_kind_name(KN_KIND_NAMESPACE));
	ATF_CHECK_STREQ("Pod", kn_kind_name(KN_KIND_POD));
	ATF_CHECK_STREQ("NetworkPolicy", kn_kind_name(KN_KIND_NETPOL));
	ATF_CHECK_STREQ("Other", kn_kind_name(KN_KIND_OTHER));
	ATF_CHECK(kn_kind_name(KN_KIND_MAX) == NULL);
}

/* A fully populated policy and pod are released without leaks (checked
 * by the sanitizer build). */
ATF_TC_WITHOUT_HEAD(free_objects);
ATF_TC_BODY(free_objects, tc)
{
	struct kn_object o = {0};
	struct kn_netpol *np = xcalloc(1, sizeof(*np));
	struct kn_pod *pod = xcalloc(1, sizeof(*pod));
	struct kn_np_rule *r;

	np->ns = xstrdup("ns");
	np->name = xstrdup("p");
	LABELS(&np->pod_sel.match_labels, "app=web");
	sel_expr(&np->pod_sel, "tier", KN_SEL_IN, "a", NULL);
	np->in_rules = xcalloc(1, sizeof(*np->in_rules));
	np->nin = 1;
	r = &np->in_rules[0];
	r->peers = xcalloc(2, sizeof(*r->peers));
	r->npeers = 2;
	r->peers[0].pod_sel = xcalloc(1, sizeof(struct kn_selector));
	r->peers[0].ns_sel = xcalloc(1, sizeof(struct kn_selector));
	LABELS(&r->peers[0].ns_sel->match_labels, "team=a");
	r->peers[1].has_ip_block = true;
	r->peers[1].except = xcalloc(2, sizeof(struct kn_cidr));
	r->peers[1].nexcept = 2;
	r->ports = xcalloc(2, sizeof(*r->ports));
	r->nports = 2;
	r->ports[0].port_name = xstrdup("http");
	np->eg_rules = xcalloc(1, sizeof(*np->eg_rules));
	np->neg = 1;
	o.kind = KN_KIND_NETPOL;
	o.u.np = np;
	kn_object_free(&o);
	ATF_CHECK_EQ(KN_KIND_OTHER, o.kind);
	ATF_CHECK(o.u.np == NULL);

	pod->ns = xstrdup("ns");
	pod->name = xstrdup("pod");
	pod->node = xstrdup("node");
	pod->service_account = xstrdup("default");
	LABELS(&pod->labels, "app=web");
	pod->ips = xcalloc(2, sizeof(*pod->ips));
	pod->nips = 2;
	pod->ports = xcalloc(2, sizeof(*pod->ports));
	pod->nports = 2;
	pod->ports[1].name = xstrdup("dns");
	o.kind = KN_KIND_POD;
	o.u.pod = pod;
	kn_object_free(&o);

	kn_object_free(NULL);
	kn_pod_free(NULL);
	kn_netpol_free(NULL);
	kn_namespace_free(NULL);
	o.kind = KN_KIND_NAMESPACE;
	o.u.ns = NULL;
	kn_object_free(&o);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, labels_get);
	ATF_TP_ADD_TC(tp, empty_matches_all);
	ATF_TP_ADD_TC(tp, match_labels);
	ATF_TP_ADD_TC(tp, op_in);
	ATF_TP_ADD_TC(tp, op_not_in);
	ATF_TP_ADD_TC(tp, op_exists);
	ATF_TP_ADD_TC(tp, all_must_match);
	ATF_TP_ADD_TC(tp, format_order_and_append);
	ATF_TP_ADD_TC(tp, names);
	ATF_TP_ADD_TC(tp, free_objects);
	return atf_no_error();
}
