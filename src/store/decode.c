/* Decoding and validation of Kubernetes objects (decode.h).
 *
 * Each decoder builds into a zeroed temporary and stops at the first
 * error; the temporary is then released with the model's free function,
 * which accepts partially filled objects.  Arrays are allocated at their
 * final size up front (zeroed), so a free at any point sees only NULL or
 * owned pointers.
 *
 * JSON null is treated as an absent field and a null list element as the
 * element's zero value, because that is what the API server's Go decoder
 * does: "ingress: [null]" is stored as "ingress: [{}]".  A string that is
 * empty is likewise the same as an absent string, except where the Go
 * type is a pointer (NetworkPolicyPort.protocol).
 *
 * Validation follows k8s.io/kubernetes pkg/apis/networking/validation,
 * pkg/apis/core/validation and apimachinery's metav1 validation, in the
 * order upstream checks fields, and reports the first error only.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "netaddr.h"
#include "util.h"

/* Decoding context: who names the object ("Pod ns/name"), path is the
 * field being decoded ("spec.ingress[0].ports[1]").  Decoders push path
 * elements on entry and pop them on success; after an error the path is
 * left as it was, since decoding stops there. */
struct dec {
	struct kn_err *err;
	char who[KN_ERR_MAX];
	char path[KN_ERR_MAX];
	size_t len;
};

/* ------------------------------------------------------------ paths */

/* Appends the pieces to the path.  A path longer than the buffer is cut;
 * the message is cut at KN_ERR_MAX anyway.  Paths are built for every
 * field decoded, not only for errors, so this stays clear of printf. */
static size_t
path_push(struct dec *d, const char *pre, const char *s, const char *post)
{
	const char *const parts[] = {pre, s, post};
	size_t save = d->len;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		size_t n = strlen(parts[i]), room = sizeof(d->path) - 1 - d->len;

		if (n > room)
			n = room;
		memcpy(d->path + d->len, parts[i], n);
		d->len += n;
	}
	d->path[d->len] = '\0';
	return save;
}

static size_t
path_field(struct dec *d, const char *name)
{
	return path_push(d, d->len ? "." : "", name, "");
}

static size_t
path_index(struct dec *d, size_t i)
{
	char num[24], *p = num + sizeof(num);

	*--p = '\0';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) > 0);
	return path_push(d, "[", p, "]");
}

static size_t
path_key(struct dec *d, const char *key)
{
	return path_push(d, "[\"", key, "\"]");
}

static void
path_pop(struct dec *d, size_t save)
{
	d->len = save;
	d->path[save] = '\0';
}

/* ------------------------------------------------------------ errors */

/* Names, keys and values in a message come from the object: replace
 * control characters so that one bad object cannot forge log lines. */
static void
sanitize(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
	}
}

static int fail(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct dec *d, const char *fmt, ...)
{
	char problem[KN_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	/* The object and the field come first, so a message cut at
	 * KN_ERR_MAX loses only the end of the problem. */
	if (snprintf(d->err->msg, sizeof(d->err->msg), "%s: %s%s%s", d->who, d->path,
		     d->len ? ": " : "", problem) < 0)
		d->err->msg[0] = '\0';
	sanitize(d->err->msg);
	return -EINVAL;
}

/* Reports a problem with the member key of the current path. */
static int fail_field(struct dec *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail_field(struct dec *d, const char *key, const char *fmt, ...)
{
	char problem[KN_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	path_field(d, key);
	return fail(d, "%s", problem);
}

/* ------------------------------------------------------------ validators */

static bool
is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

#define DNS1123_LABEL_MAX     63
#define DNS1123_SUBDOMAIN_MAX 253
#define QUALIFIED_NAME_MAX    63
#define LABEL_VALUE_MAX	      63
#define PORT_NAME_MAX	      15

static const char DNS1123_LABEL_MSG[] =
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
	"'-', and must start and end with an alphanumeric character";
static const char DNS1123_SUBDOMAIN_MSG[] =
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
	"'-' or '.', and must start and end with an alphanumeric character";
static const char NAME_PART_MSG[] =
	"name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
	"and end with an alphanumeric character";
static const char LABEL_VALUE_MSG[] =
	"a valid label must be an empty string or consist of alphanumeric characters, '-', "
	"'_' or '.', and must start and end with an alphanumeric character";

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? of exactly len bytes. */
static bool
dns_label_chars(const char *s, size_t len)
{
	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

static const char *
dns1123_label_problem(const char *s)
{
	size_t len = strlen(s);

	if (len > DNS1123_LABEL_MAX)
		return "must be no more than 63 characters";
	if (!dns_label_chars(s, len))
		return DNS1123_LABEL_MSG;
	return NULL;
}

/* Dot-separated labels; unlike a DNS name, upstream puts no limit on the
 * length of each label, only on the whole. */
static const char *
dns1123_subdomain_problem(const char *s, size_t len)
{
	size_t start = 0;

	if (len > DNS1123_SUBDOMAIN_MAX)
		return "must be no more than 253 characters";
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!dns_label_chars(s + start, i - start))
			return DNS1123_SUBDOMAIN_MSG;
		start = i + 1;
	}
	return NULL;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], without the length check. */
static bool
name_chars(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	}
	return true;
}

/* IsQualifiedName: [prefix/]name. */
static const char *
label_key_problem(const char *s)
{
	const char *slash = strchr(s, '/');
	const char *name = s;

	if (slash) {
		if (strchr(slash + 1, '/'))
			return "a qualified name must consist of an optional DNS subdomain prefix "
			       "and a name separated by a single '/'";
		if (slash == s)
			return "prefix part must be non-empty";
		if (dns1123_subdomain_problem(s, (size_t)(slash - s)))
			return "prefix part must be a lowercase RFC 1123 subdomain of at most 253 "
			       "characters";
		name = slash + 1;
	}
	if (*name == '\0')
		return "name part must be non-empty";
	if (strlen(name) > QUALIFIED_NAME_MAX)
		return "name part must be no more than 63 characters";
	if (!name_chars(name, strlen(name)))
		return NAME_PART_MSG;
	return NULL;
}

static const char *
label_value_problem(const char *s)
{
	size_t len = strlen(s);

	if (len > LABEL_VALUE_MAX)
		return "must be no more than 63 characters";
	if (len > 0 && !name_chars(s, len))
		return LABEL_VALUE_MSG;
	return NULL;
}

/* IsValidPortName (IANA_SVC_NAME, RFC 6335 section 5.1), in upstream's
 * order of checks. */
static const char *
port_name_problem(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (len > PORT_NAME_MAX)
		return "must be no more than 15 characters";
	if (len == 0)
		return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
	for (size_t i = 0; i < len; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return "must contain only alpha-numeric characters (a-z, 0-9), and "
			       "hyphens (-)";
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
	}
	if (!letter)
		return "must contain at least one letter (a-z)";
	if (strstr(s, "--"))
		return "must not contain consecutive hyphens";
	if (s[0] == '-' || s[len - 1] == '-')
		return "must not begin or end with a hyphen";
	return NULL;
}

bool
kn_valid_label_key(const char *s)
{
	return !label_key_problem(s);
}

bool
kn_valid_label_value(const char *s)
{
	return !label_value_problem(s);
}

bool
kn_valid_dns1123_label(const char *s)
{
	return !dns1123_label_problem(s);
}

bool
kn_valid_dns1123_subdomain(const char *s)
{
	return !dns1123_subdomain_problem(s, strlen(s));
}

bool
kn_valid_port_name(const char *s)
{
	return !port_name_problem(s);
}

/* ------------------------------------------------------------ JSON access */

/* The member key of obj, or NULL when obj is NULL or the member is
 * absent or null. */
static json_t *
member(const json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static int
check_string(struct dec *d, const json_t *v)
{
	if (!json_is_string(v))
		return fail(d, "must be a string");
	/* jansson may hold "\u0000"; a C string would silently cut it. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(d, "must not contain NUL characters");
	return 0;
}

/* *ret is NULL when absent or null; "" is returned as is. */
static int
get_str(struct dec *d, const json_t *obj, const char *key, const char **ret)
{
	json_t *v = member(obj, key);
	size_t save;
	int r;

	*ret = NULL;
	if (!v)
		return 0;
	save = path_field(d, key);
	if ((r = check_string(d, v)) < 0)
		return r;
	path_pop(d, save);
	*ret = json_string_value(v);
	return 0;
}

/* A list element that must be a string; null is "" as in Go. */
static int
elem_str(struct dec *d, const json_t *v, const char **ret)
{
	int r;

	if (json_is_null(v)) {
		*ret = "";
		return 0;
	}
	if ((r = check_string(d, v)) < 0)
		return r;
	*ret = json_string_value(v);
	return 0;
}

static int
get_obj(struct dec *d, const json_t *obj, const char *key, json_t **ret)
{
	json_t *v = member(obj, key);

	*ret = NULL;
	if (v && !json_is_object(v))
		return fail_field(d, key, "must be an object");
	*ret = v;
	return 0;
}

/* A list element that must be an object; null is the zero value, which
 * the decoders see as an object without members (NULL). */
static int
elem_obj(struct dec *d, const json_t *v, const json_t **ret)
{
	*ret = NULL;
	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return fail(d, "must be an object");
	*ret = v;
	return 0;
}

/* *n is 0 when absent or null. */
static int
get_arr(struct dec *d, const json_t *obj, const char *key, json_t **ret, size_t *n)
{
	json_t *v = member(obj, key);

	*ret = NULL;
	*n = 0;
	if (v && !json_is_array(v))
		return fail_field(d, key, "must be a list");
	*ret = v;
	*n = v ? json_array_size(v) : 0;
	return 0;
}

/* *ret is -1 when absent or null. */
static int
get_bool(struct dec *d, const json_t *obj, const char *key, int *ret)
{
	json_t *v = member(obj, key);

	*ret = -1;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail_field(d, key, "must be a boolean");
	*ret = json_is_true(v);
	return 0;
}

/* Go rejects 80.0 for an int32 field, so reals are errors too. */
static int
get_int(struct dec *d, const json_t *obj, const char *key, bool *has, json_int_t *ret)
{
	json_t *v = member(obj, key);

	*has = false;
	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return fail_field(d, key, "must be an integer");
	*has = true;
	*ret = json_integer_value(v);
	return 0;
}

static bool
nonempty(const char *s)
{
	return s && *s;
}

/* ------------------------------------------------------------ labels */

static int
label_cmp(const void *a, const void *b)
{
	const struct kn_label *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Decodes a map of labels (metav1 ObjectMeta.labels or a selector's
 * matchLabels) into l, sorted by key.  The caller pushes the path of the
 * map.  Validation runs in key order so that the reported error does not
 * depend on the order of the manifest. */
static int
decode_labels(struct dec *d, const json_t *js, struct kn_labels *l)
{
	const char *key, *problem;
	json_t *v;
	size_t save;
	int r;

	if (!js)
		return 0;
	if (!json_is_object(js))
		return fail(d, "must be an object");
	if (json_object_size(js) == 0)
		return 0;
	l->v = xcalloc(json_object_size(js), sizeof(*l->v));
	json_object_foreach((json_t *)js, key, v)
	{
		/* Go decodes a null map value as "". */
		save = path_key(d, key);
		if (!json_is_null(v) && (r = check_string(d, v)) < 0)
			return r;
		path_pop(d, save);
		l->v[l->n].key = xstrdup(key);
		l->v[l->n].value = xstrdup(json_is_null(v) ? "" : json_string_value(v));
		l->n++;
	}
	sort_array(l->v, l->n, sizeof(*l->v), label_cmp);
	for (size_t i = 0; i < l->n; i++) {
		if ((problem = label_key_problem(l->v[i].key))) {
			path_key(d, l->v[i].key);
			return fail(d, "invalid value: \"%s\": %s", l->v[i].key, problem);
		}
		if ((problem = label_value_problem(l->v[i].value))) {
			path_key(d, l->v[i].key);
			return fail(d, "invalid value: \"%s\": %s", l->v[i].value, problem);
		}
	}
	return 0;
}

/* Sets key=value, replacing an existing value; keeps l sorted. */
static void
labels_set(struct kn_labels *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].key, key) == 0) {
			free(l->v[i].value);
			l->v[i].value = xstrdup(value);
			return;
		}
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = xstrdup(key);
	l->v[l->n].value = xstrdup(value);
	l->n++;
	sort_array(l->v, l->n, sizeof(*l->v), label_cmp);
}

/* ------------------------------------------------------------ selectors */

static int
selector_op(const char *s, enum kn_sel_op *ret)
{
	static const struct {
		const char *name;
		enum kn_sel_op op;
	} ops[] = {
		{"In", KN_SEL_IN},
		{"NotIn", KN_SEL_NOT_IN},
		{"Exists", KN_SEL_EXISTS},
		{"DoesNotExist", KN_SEL_DOES_NOT_EXIST},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(s, ops[i].name) == 0) {
			*ret = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

/* ValidateLabelSelectorRequirement: operator and value count first, then
 * the key, then each value.  Values are kept sorted and unique: a
 * requirement is a set, and a canonical form lets equal selectors
 * compare equal. */
static int
decode_sel_expr(struct dec *d, const json_t *js, struct kn_sel_expr *e)
{
	const char *key, *op, *s, *problem;
	json_t *vals;
	size_t n, save, j;
	int r;

	if ((r = get_str(d, js, "key", &key)) < 0)
		return r;
	if ((r = get_str(d, js, "operator", &op)) < 0)
		return r;
	if ((r = get_arr(d, js, "values", &vals, &n)) < 0)
		return r;
	e->key = xstrdup(key ? key : "");
	if (n > 0) {
		e->values = xcalloc(n, sizeof(*e->values));
		save = path_field(d, "values");
		for (size_t i = 0; i < n; i++) {
			size_t isave = path_index(d, i);

			if ((r = elem_str(d, json_array_get(vals, i), &s)) < 0)
				return r;
			path_pop(d, isave);
			e->values[e->nvalues++] = xstrdup(s);
		}
		path_pop(d, save);
	}

	if (selector_op(op ? op : "", &e->op) < 0)
		return fail_field(d, "operator",
				  "invalid value: \"%s\": not a valid selector operator",
				  op ? op : "");
	if ((e->op == KN_SEL_IN || e->op == KN_SEL_NOT_IN) && n == 0)
		return fail_field(d, "values",
				  "required value: must be specified when `operator` is 'In' or "
				  "'NotIn'");
	if ((e->op == KN_SEL_EXISTS || e->op == KN_SEL_DOES_NOT_EXIST) && n > 0)
		return fail_field(d, "values",
				  "forbidden: may not be specified when `operator` is 'Exists' or "
				  "'DoesNotExist'");
	if ((problem = label_key_problem(e->key)))
		return fail_field(d, "key", "invalid value: \"%s\": %s", e->key, problem);
	for (size_t i = 0; i < e->nvalues; i++) {
		if ((problem = label_value_problem(e->values[i]))) {
			path_field(d, "values");
			path_index(d, i);
			return fail(d, "invalid value: \"%s\": %s", e->values[i], problem);
		}
	}

	if (e->nvalues == 0)
		return 0;
	sort_array(e->values, e->nvalues, sizeof(*e->values), str_cmp_ptr);
	for (size_t i = j = 0; i < e->nvalues; i++) {
		if (j > 0 && strcmp(e->values[j - 1], e->values[i]) == 0)
			free(e->values[i]);
		else
			e->values[j++] = e->values[i];
	}
	e->nvalues = j;
	return 0;
}

/* metav1.LabelSelector.  js NULL is the empty selector. */
static int
decode_selector(struct dec *d, const json_t *js, struct kn_selector *sel)
{
	json_t *ml, *me;
	size_t n, save;
	int r;

	if (js && !json_is_object(js))
		return fail(d, "must be an object");
	if ((r = get_obj(d, js, "matchLabels", &ml)) < 0)
		return r;
	save = path_field(d, "matchLabels");
	if ((r = decode_labels(d, ml, &sel->match_labels)) < 0)
		return r;
	path_pop(d, save);

	if ((r = get_arr(d, js, "matchExpressions", &me, &n)) < 0)
		return r;
	if (n == 0)
		return 0;
	sel->exprs = xcalloc(n, sizeof(*sel->exprs));
	sel->nexprs = n;
	save = path_field(d, "matchExpressions");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *e;

		if ((r = elem_obj(d, json_array_get(me, i), &e)) < 0)
			return r;
		if ((r = decode_sel_expr(d, e, &sel->exprs[i])) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

/* ------------------------------------------------------------ metadata */

static const char *rbac_name_problem(const char *s);

/* ValidateObjectMeta for the fields kept.  ns is NULL for cluster-scoped
 * kinds; a namespaced object without a namespace lands in "default", as
 * kubectl would place it.  RBAC objects have names of their own kind
 * (rbac_name, e.g. "system:basic-user"). */
static int
decode_meta_names(struct dec *d, const json_t *obj, char **ns, char **name,
		  struct kn_labels *labels, bool rbac_name)
{
	const char *s, *problem;
	json_t *meta, *lab;
	size_t save;
	int r;

	if ((r = get_obj(d, obj, "metadata", &meta)) < 0)
		return r;
	save = path_field(d, "metadata");
	if ((r = get_str(d, meta, "name", &s)) < 0)
		return r;
	if (!nonempty(s))
		return fail_field(d, "name", "required value");
	if (rbac_name)
		problem = rbac_name_problem(s);
	else
		problem = ns ? dns1123_subdomain_problem(s, strlen(s)) : dns1123_label_problem(s);
	if (problem)
		return fail_field(d, "name", "invalid value: \"%s\": %s", s, problem);
	*name = xstrdup(s);

	if (ns) {
		if ((r = get_str(d, meta, "namespace", &s)) < 0)
			return r;
		if (!nonempty(s))
			s = "default";
		if ((problem = dns1123_label_problem(s)))
			return fail_field(d, "namespace", "invalid value: \"%s\": %s", s, problem);
		*ns = xstrdup(s);
	}

	lab = member(meta, "labels");
	path_field(d, "labels");
	if ((r = decode_labels(d, lab, labels)) < 0)
		return r;
	path_pop(d, save);
	return 0;
}

static int
decode_meta(struct dec *d, const json_t *obj, char **ns, char **name, struct kn_labels *labels)
{
	return decode_meta_names(d, obj, ns, name, labels, false);
}

/* "Kind ns/name" or "Kind name", from the raw metadata, for messages. */
static void
dec_name(struct dec *d, enum kn_kind kind, const json_t *obj)
{
	const json_t *meta = member(obj, "metadata");
	const char *name = NULL, *ns = NULL;

	if (json_is_object(meta)) {
		name = json_string_value(member(meta, "name"));
		ns = json_string_value(member(meta, "namespace"));
	}
	if (!nonempty(name))
		name = "<unnamed>";
	if (!nonempty(ns))
		ns = "default";
	if (kn_kind_cluster_scoped(kind))
		snprintf(d->who, sizeof(d->who), "%s %s", kn_kind_name(kind), name);
	else
		snprintf(d->who, sizeof(d->who), "%s %s/%s", kn_kind_name(kind), ns, name);
}

/* ------------------------------------------------------------ Namespace */

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

static int
decode_namespace(struct dec *d, const json_t *obj, struct kn_namespace **ret)
{
	struct kn_namespace *ns = xcalloc(1, sizeof(*ns));
	int r;

	if ((r = decode_meta(d, obj, NULL, &ns->name, &ns->labels)) < 0)
		goto out;
	/* The API server sets this label on every namespace and overwrites
	 * any value a client gives; policies select namespaces by it. */
	labels_set(&ns->labels, NS_NAME_LABEL, ns->name);
	*ret = ns;
	ns = NULL;
out:
	kn_namespace_free(ns);
	return r;
}

/* ------------------------------------------------------------ Pod */

/* TCP, UDP or SCTP by their API names; false for anything else. */
static bool
proto_by_name(const char *s, uint8_t *ret)
{
	if (strcmp(s, "TCP") == 0)
		*ret = KN_PROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*ret = KN_PROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*ret = KN_PROTO_SCTP;
	else
		return false;
	return true;
}

/* The upstream messages list the protocols in two orders: networking's
 * validation writes them as declared, core's sorted. */
#define PROTOS_SORTED "supported values: \"SCTP\", \"TCP\", \"UDP\""
#define PROTOS_NP     "supported values: \"TCP\", \"UDP\", \"SCTP\""

/* Protocol of a ContainerPort: a plain string, so "" is the default. */
static int
container_proto(struct dec *d, const char *s, uint8_t *ret)
{
	if (!nonempty(s)) {
		*ret = KN_PROTO_TCP;
		return 0;
	}
	if (!proto_by_name(s, ret))
		return fail_field(d, "protocol", "unsupported value: \"%s\": " PROTOS_SORTED, s);
	return 0;
}

/* A "protocol" field that may be absent (TCP), as in NetworkPolicyPort,
 * ServicePort and EndpointPort; an empty string is not supported. */
static int
decode_proto_field(struct dec *d, const json_t *js, const char *supported, uint8_t *ret)
{
	const char *s;
	int r;

	if ((r = get_str(d, js, "protocol", &s)) < 0)
		return r;
	if (!s) {
		*ret = KN_PROTO_TCP;
		return 0;
	}
	if (!proto_by_name(s, ret))
		return fail_field(d, "protocol", "unsupported value: \"%s\": %s", s, supported);
	return 0;
}

/* validateContainerPorts: names are IANA_SVC_NAMEs unique within the
 * container; containerPort 1..65535. */
static int
decode_container_ports(struct dec *d, const json_t *ctr, struct kn_pod *pod, size_t *cap)
{
	const char *name, *proto, *problem;
	struct kn_container_port *cp;
	size_t n, save, first = pod->nports;
	json_int_t port;
	json_t *ports;
	uint8_t p = KN_PROTO_TCP;
	bool has;
	int r;

	if ((r = get_arr(d, ctr, "ports", &ports, &n)) < 0)
		return r;
	save = path_field(d, "ports");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(ports, i), &js)) < 0)
			return r;
		if ((r = get_str(d, js, "name", &name)) < 0)
			return r;
		if (nonempty(name)) {
			if ((problem = port_name_problem(name)))
				return fail_field(d, "name", "invalid value: \"%s\": %s", name,
						  problem);
			for (size_t j = first; j < pod->nports; j++) {
				if (pod->ports[j].name && strcmp(pod->ports[j].name, name) == 0)
					return fail_field(d, "name", "duplicate value: \"%s\"",
							  name);
			}
		}
		if ((r = get_int(d, js, "containerPort", &has, &port)) < 0)
			return r;
		if (port == 0)
			return fail_field(d, "containerPort", "required value");
		if (port < 1 || port > 65535)
			return fail_field(
				d, "containerPort",
				"invalid value: %lld: must be between 1 and 65535, inclusive",
				(long long)port);
		if ((r = get_str(d, js, "protocol", &proto)) < 0)
			return r;
		if ((r = container_proto(d, proto, &p)) < 0)
			return r;

		grow_array((void **)&pod->ports, cap, pod->nports + 1, sizeof(*pod->ports));
		cp = &pod->ports[pod->nports++];
		cp->name = nonempty(name) ? xstrdup(name) : NULL;
		cp->port = (uint16_t)port;
		cp->proto = p;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_containers(struct dec *d, const json_t *spec, const char *key, struct kn_pod *pod,
		  size_t *cap)
{
	json_t *ctrs;
	size_t n, save;
	int r;

	if ((r = get_arr(d, spec, key, &ctrs, &n)) < 0)
		return r;
	save = path_field(d, key);
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *ctr;

		if ((r = elem_obj(d, json_array_get(ctrs, i), &ctr)) < 0)
			return r;
		if ((r = decode_container_ports(d, ctr, pod, cap)) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

/* A projected volume with a serviceAccountToken source mounts a token
 * whatever automountServiceAccountToken says. */
static int
decode_volumes(struct dec *d, const json_t *spec, struct kn_pod *pod)
{
	json_t *vols, *proj, *srcs, *tok;
	size_t n, nsrc, save;
	int r;

	if ((r = get_arr(d, spec, "volumes", &vols, &n)) < 0)
		return r;
	save = path_field(d, "volumes");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *vol;

		if ((r = elem_obj(d, json_array_get(vols, i), &vol)) < 0)
			return r;
		if ((r = get_obj(d, vol, "projected", &proj)) < 0)
			return r;
		path_field(d, "projected");
		if ((r = get_arr(d, proj, "sources", &srcs, &nsrc)) < 0)
			return r;
		path_field(d, "sources");
		for (size_t j = 0; j < nsrc; j++) {
			size_t jsave = path_index(d, j);
			const json_t *src;

			if ((r = elem_obj(d, json_array_get(srcs, j), &src)) < 0)
				return r;
			if ((r = get_obj(d, src, "serviceAccountToken", &tok)) < 0)
				return r;
			if (tok)
				pod->projected_token = true;
			path_pop(d, jsave);
		}
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_pod_spec(struct dec *d, const json_t *spec, struct kn_pod *pod)
{
	const char *s, *sa_key = "serviceAccountName", *problem;
	size_t cap = 0;
	int b, r;

	if ((r = get_str(d, spec, "nodeName", &s)) < 0)
		return r;
	if (nonempty(s))
		pod->node = xstrdup(s);
	if ((r = get_bool(d, spec, "hostNetwork", &b)) < 0)
		return r;
	pod->host_network = b == 1;

	/* serviceAccount is the deprecated alias; the API server copies it
	 * into serviceAccountName when that is empty. */
	if ((r = get_str(d, spec, sa_key, &s)) < 0)
		return r;
	if (!nonempty(s)) {
		sa_key = "serviceAccount";
		if ((r = get_str(d, spec, sa_key, &s)) < 0)
			return r;
	}
	if (!nonempty(s))
		s = "default";
	if ((problem = dns1123_subdomain_problem(s, strlen(s))))
		return fail_field(d, sa_key, "invalid value: \"%s\": %s", s, problem);
	pod->service_account = xstrdup(s);
	if ((r = get_bool(d, spec, "automountServiceAccountToken", &b)) < 0)
		return r;
	pod->automount_token = b;

	if ((r = decode_volumes(d, spec, pod)) < 0)
		return r;
	if ((r = decode_containers(d, spec, "initContainers", pod, &cap)) < 0)
		return r;
	return decode_containers(d, spec, "containers", pod, &cap);
}

static const char IP_MSG[] = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

static void
pod_add_ip(struct kn_pod *pod, const struct kn_addr *a, size_t *cap)
{
	for (size_t i = 0; i < pod->nips; i++) {
		if (kn_addr_cmp(&pod->ips[i], a) == 0)
			return;
	}
	grow_array((void **)&pod->ips, cap, pod->nips + 1, sizeof(*pod->ips));
	pod->ips[pod->nips++] = *a;
}

/* status.podIPs lists every address (dual stack); status.podIP is the
 * first of them and is only used when podIPs is absent, as older API
 * servers and hand-written manifests may have it alone. */
static int
decode_pod_status(struct dec *d, const json_t *status, struct kn_pod *pod)
{
	const char *s;
	struct kn_addr a;
	json_t *ips;
	size_t n, cap = 0, save;
	int r;

	if ((r = get_str(d, status, "phase", &s)) < 0)
		return r;
	pod->finished = s && (strcmp(s, "Succeeded") == 0 || strcmp(s, "Failed") == 0);

	if ((r = get_arr(d, status, "podIPs", &ips, &n)) < 0)
		return r;
	save = path_field(d, "podIPs");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(ips, i), &js)) < 0)
			return r;
		if ((r = get_str(d, js, "ip", &s)) < 0)
			return r;
		if (!s)
			s = "";
		if (kn_addr_parse(s, &a) < 0)
			return fail_field(d, "ip", "invalid value: \"%s\": %s", s, IP_MSG);
		pod_add_ip(pod, &a, &cap);
		path_pop(d, isave);
	}
	path_pop(d, save);

	if ((r = get_str(d, status, "podIP", &s)) < 0)
		return r;
	if (nonempty(s)) {
		if (kn_addr_parse(s, &a) < 0)
			return fail_field(d, "podIP", "invalid value: \"%s\": %s", s, IP_MSG);
		if (pod->nips == 0)
			pod_add_ip(pod, &a, &cap);
	}
	return 0;
}

static int
decode_pod(struct dec *d, const json_t *obj, struct kn_pod **ret)
{
	struct kn_pod *pod = xcalloc(1, sizeof(*pod));
	json_t *spec, *status;
	size_t save;
	int r;

	pod->automount_token = -1;
	if ((r = decode_meta(d, obj, &pod->ns, &pod->name, &pod->labels)) < 0)
		goto out;
	if ((r = get_obj(d, obj, "spec", &spec)) < 0)
		goto out;
	save = path_field(d, "spec");
	if ((r = decode_pod_spec(d, spec, pod)) < 0)
		goto out;
	path_pop(d, save);
	if ((r = get_obj(d, obj, "status", &status)) < 0)
		goto out;
	save = path_field(d, "status");
	if ((r = decode_pod_status(d, status, pod)) < 0)
		goto out;
	path_pop(d, save);
	*ret = pod;
	pod = NULL;
out:
	kn_pod_free(pod);
	return r;
}

/* ------------------------------------------------------------ NetworkPolicy */

static const char CIDR_MSG[] = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/* ValidateIPBlock. */
static int
decode_ip_block(struct dec *d, const json_t *js, struct kn_np_peer *p)
{
	const char *s;
	json_t *exc;
	size_t n, save;
	int r;

	p->has_ip_block = true;
	if ((r = get_str(d, js, "cidr", &s)) < 0)
		return r;
	if (!nonempty(s))
		return fail_field(d, "cidr", "required value");
	if (kn_cidr_parse(s, &p->cidr) < 0)
		return fail_field(d, "cidr", "invalid value: \"%s\": %s", s, CIDR_MSG);

	if ((r = get_arr(d, js, "except", &exc, &n)) < 0)
		return r;
	if (n == 0)
		return 0;
	p->except = xcalloc(n, sizeof(*p->except));
	save = path_field(d, "except");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);

		if ((r = elem_str(d, json_array_get(exc, i), &s)) < 0)
			return r;
		if (kn_cidr_parse(s, &p->except[i]) < 0)
			return fail(d, "invalid value: \"%s\": %s", s, CIDR_MSG);
		if (!kn_cidr_strictly_within(&p->cidr, &p->except[i]))
			return fail(d, "invalid value: \"%s\": must be a strict subset of `cidr`",
				    s);
		p->nexcept++;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_peer_selector(struct dec *d, const json_t *js, const char *key, struct kn_selector **ret)
{
	json_t *v = member(js, key);
	size_t save;
	int r;

	if (!v)
		return 0;
	save = path_field(d, key);
	*ret = xcalloc(1, sizeof(**ret));
	if ((r = decode_selector(d, v, *ret)) < 0)
		return r;
	path_pop(d, save);
	return 0;
}

/* ValidateNetworkPolicyPeer. */
static int
decode_peer(struct dec *d, const json_t *js, struct kn_np_peer *p)
{
	json_t *ipb;
	size_t save;
	int r;

	if ((r = decode_peer_selector(d, js, "podSelector", &p->pod_sel)) < 0)
		return r;
	if ((r = decode_peer_selector(d, js, "namespaceSelector", &p->ns_sel)) < 0)
		return r;
	if ((r = get_obj(d, js, "ipBlock", &ipb)) < 0)
		return r;
	if (ipb) {
		save = path_field(d, "ipBlock");
		if ((r = decode_ip_block(d, ipb, p)) < 0)
			return r;
		path_pop(d, save);
	}
	if (!p->pod_sel && !p->ns_sel && !p->has_ip_block)
		return fail(d, "required value: must specify a peer");
	if (p->has_ip_block && (p->pod_sel || p->ns_sel))
		return fail(d, "forbidden: may not specify both ipBlock and another peer");
	return 0;
}

/* NetworkPolicyPort.protocol is a pointer: absent means TCP, but an
 * empty string is not supported. */
static int
np_proto(struct dec *d, const json_t *js, uint8_t *ret)
{
	return decode_proto_field(d, js, PROTOS_NP, ret);
}

/* ValidateNetworkPolicyPort.  port is an IntOrString: a JSON number is an
 * integer, a JSON string is always a name, even "80" (which then fails
 * IANA_SVC_NAME validation for want of a letter). */
static int
decode_np_port(struct dec *d, const json_t *js, struct kn_np_port *p)
{
	const char *problem;
	json_int_t port = 0, end;
	json_t *v;
	bool has_end;
	int r;

	if ((r = np_proto(d, js, &p->proto)) < 0)
		return r;
	v = member(js, "port");
	if (v && !json_is_integer(v) && !json_is_string(v))
		return fail_field(d, "port", "must be an integer or a string");
	if (json_is_string(v)) {
		size_t save = path_field(d, "port");

		if ((r = check_string(d, v)) < 0)
			return r;
		path_pop(d, save);
	}
	if ((r = get_int(d, js, "endPort", &has_end, &end)) < 0)
		return r;

	if (json_is_integer(v)) {
		port = json_integer_value(v);
		if (port < 1 || port > 65535)
			return fail_field(
				d, "port",
				"invalid value: %lld: must be between 1 and 65535, inclusive",
				(long long)port);
		if (has_end && end < port)
			return fail_field(d, "endPort",
					  "invalid value: %lld: must be greater than or equal to "
					  "`port`",
					  (long long)end);
		if (has_end && end > 65535)
			return fail_field(
				d, "endPort",
				"invalid value: %lld: must be between 1 and 65535, inclusive",
				(long long)end);
		p->has_port = true;
		p->port = (uint16_t)port;
		p->end_port = has_end ? (uint16_t)end : (uint16_t)port;
	} else if (v) {
		if (has_end)
			return fail_field(
				d, "endPort",
				"invalid value: %lld: may not be specified when `port` is "
				"non-numeric",
				(long long)end);
		if ((problem = port_name_problem(json_string_value(v))))
			return fail_field(d, "port", "invalid value: \"%s\": %s",
					  json_string_value(v), problem);
		p->has_port = true;
		p->port_name = xstrdup(json_string_value(v));
	} else if (has_end) {
		return fail_field(d, "endPort",
				  "invalid value: %lld: may not be specified when `port` is not "
				  "specified",
				  (long long)end);
	}
	return 0;
}

/* One ingress or egress rule: ports first, then peers, as upstream
 * validates them.  peers_key is "from" or "to". */
static int
decode_rule(struct dec *d, const json_t *js, const char *peers_key, struct kn_np_rule *rule)
{
	json_t *ports, *peers;
	size_t n, save;
	int r;

	if ((r = get_arr(d, js, "ports", &ports, &n)) < 0)
		return r;
	if (n > 0) {
		rule->ports = xcalloc(n, sizeof(*rule->ports));
		rule->nports = n;
	}
	save = path_field(d, "ports");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *p;

		if ((r = elem_obj(d, json_array_get(ports, i), &p)) < 0)
			return r;
		if ((r = decode_np_port(d, p, &rule->ports[i])) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);

	if ((r = get_arr(d, js, peers_key, &peers, &n)) < 0)
		return r;
	if (n > 0) {
		rule->peers = xcalloc(n, sizeof(*rule->peers));
		rule->npeers = n;
	}
	save = path_field(d, peers_key);
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *p;

		if ((r = elem_obj(d, json_array_get(peers, i), &p)) < 0)
			return r;
		if ((r = decode_peer(d, p, &rule->peers[i])) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_rules(struct dec *d, const json_t *spec, const char *key, const char *peers_key,
	     struct kn_np_rule **ret, size_t *nret)
{
	json_t *rules;
	size_t n, save;
	int r;

	if ((r = get_arr(d, spec, key, &rules, &n)) < 0)
		return r;
	if (n == 0)
		return 0;
	*ret = xcalloc(n, sizeof(**ret));
	*nret = n;
	save = path_field(d, key);
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *rule;

		if ((r = elem_obj(d, json_array_get(rules, i), &rule)) < 0)
			return r;
		if ((r = decode_rule(d, rule, peers_key, &(*ret)[i])) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

/* Validation of policyTypes, then SetDefaults_NetworkPolicySpec: an
 * empty list means Ingress, plus Egress when there are egress rules.
 * Upstream accepts a repeated type ([Ingress, Ingress]); so do we, since
 * rejecting a policy the API server stores would leave its pods
 * unisolated. */
static int
decode_policy_types(struct dec *d, const json_t *spec, struct kn_netpol *np)
{
	const char *s;
	json_t *types;
	size_t n, save;
	int r;

	if ((r = get_arr(d, spec, "policyTypes", &types, &n)) < 0)
		return r;
	if (n == 0) {
		np->ingress = true;
		np->egress = np->neg > 0;
		return 0;
	}
	save = path_field(d, "policyTypes");
	if (n > 2)
		return fail(d, "may not specify more than two policyTypes");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);

		if ((r = elem_str(d, json_array_get(types, i), &s)) < 0)
			return r;
		if (strcmp(s, "Ingress") == 0)
			np->ingress = true;
		else if (strcmp(s, "Egress") == 0)
			np->egress = true;
		else
			return fail(d,
				    "unsupported value: \"%s\": supported values: \"Ingress\", "
				    "\"Egress\"",
				    s);
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_netpol(struct dec *d, const json_t *obj, struct kn_netpol **ret)
{
	struct kn_netpol *np = xcalloc(1, sizeof(*np));
	struct kn_labels labels = {0};
	json_t *spec, *sel;
	size_t save, sel_save;
	int r;

	/* Labels of the policy are validated but not kept. */
	if ((r = decode_meta(d, obj, &np->ns, &np->name, &labels)) < 0)
		goto out;
	if ((r = get_obj(d, obj, "spec", &spec)) < 0)
		goto out;
	save = path_field(d, "spec");
	/* podSelector is not a pointer in Go: absent is {}, selecting every
	 * pod of the namespace. */
	if ((r = get_obj(d, spec, "podSelector", &sel)) < 0)
		goto out;
	sel_save = path_field(d, "podSelector");
	if ((r = decode_selector(d, sel, &np->pod_sel)) < 0)
		goto out;
	path_pop(d, sel_save);
	if ((r = decode_rules(d, spec, "ingress", "from", &np->in_rules, &np->nin)) < 0)
		goto out;
	if ((r = decode_rules(d, spec, "egress", "to", &np->eg_rules, &np->neg)) < 0)
		goto out;
	if ((r = decode_policy_types(d, spec, np)) < 0)
		goto out;
	path_pop(d, save);
	*ret = np;
	np = NULL;
out:
	kn_labels_free(&labels);
	kn_netpol_free(np);
	return r;
}

/* ------------------------------------------------------------ ServiceAccount */

static int
decode_service_account(struct dec *d, const json_t *obj, struct kn_service_account **ret)
{
	struct kn_service_account *sa = xcalloc(1, sizeof(*sa));
	struct kn_labels labels = {0};
	int r;

	/* ValidateServiceAccountName: a DNS subdomain, as for pods.  Labels
	 * are validated but not kept. */
	if ((r = decode_meta(d, obj, &sa->ns, &sa->name, &labels)) < 0)
		goto out;
	/* A top-level field of the object, not under spec. */
	if ((r = get_bool(d, obj, "automountServiceAccountToken", &sa->automount_token)) < 0)
		goto out;
	*ret = sa;
	sa = NULL;
out:
	kn_labels_free(&labels);
	kn_service_account_free(sa);
	return r;
}

/* ------------------------------------------------------------ RBAC */

#define RBAC_GROUP "rbac.authorization.k8s.io"

/* ValidateRBACName (path.IsValidPathSegmentName): RBAC names are path
 * segments, so "system:basic-user" is a valid name. */
static const char *
rbac_name_problem(const char *s)
{
	if (strcmp(s, ".") == 0)
		return "may not be '.'";
	if (strcmp(s, "..") == 0)
		return "may not be '..'";
	if (strchr(s, '/'))
		return "may not contain '/'";
	if (strchr(s, '%'))
		return "may not contain '%'";
	return NULL;
}

/* A list of strings into *ret (allocated at its final size, so that a
 * free after an error sees only owned pointers); null elements are "" as
 * in Go. */
static int
decode_strv(struct dec *d, const json_t *js, const char *key, char ***ret, size_t *nret)
{
	const char *s;
	json_t *arr;
	size_t n, save;
	int r;

	if ((r = get_arr(d, js, key, &arr, &n)) < 0)
		return r;
	if (n == 0)
		return 0;
	*ret = xcalloc(n, sizeof(**ret));
	save = path_field(d, key);
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);

		if ((r = elem_str(d, json_array_get(arr, i), &s)) < 0)
			return r;
		(*ret)[(*nret)++] = xstrdup(s);
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

/* ValidatePolicyRule: verbs are required; a non-resource rule names no
 * resource and cannot be in a (namespaced) Role; a resource rule needs
 * API groups and resources. */
static int
decode_policy_rule(struct dec *d, const json_t *js, bool namespaced, struct kn_policy_rule *rule)
{
	int r;

	if ((r = decode_strv(d, js, "verbs", &rule->verbs, &rule->nverbs)) < 0 ||
	    (r = decode_strv(d, js, "apiGroups", &rule->api_groups, &rule->napi_groups)) < 0 ||
	    (r = decode_strv(d, js, "resources", &rule->resources, &rule->nresources)) < 0 ||
	    (r = decode_strv(d, js, "resourceNames", &rule->resource_names,
			     &rule->nresource_names)) < 0 ||
	    (r = decode_strv(d, js, "nonResourceURLs", &rule->non_resource_urls,
			     &rule->nnon_resource_urls)) < 0)
		return r;
	if (rule->nverbs == 0)
		return fail_field(d, "verbs",
				  "required value: verbs must contain at least one value");
	if (rule->nnon_resource_urls > 0) {
		if (namespaced)
			return fail_field(d, "nonResourceURLs",
					  "invalid value: \"%s\": namespaced rules cannot apply to "
					  "non-resource URLs",
					  rule->non_resource_urls[0]);
		if (rule->napi_groups > 0 || rule->nresources > 0 || rule->nresource_names > 0)
			return fail_field(
				d, "nonResourceURLs",
				"invalid value: \"%s\": rules cannot apply to both regular "
				"resources and non-resource URLs",
				rule->non_resource_urls[0]);
		return 0;
	}
	if (rule->napi_groups == 0)
		return fail_field(
			d, "apiGroups",
			"required value: resource rules must supply at least one api group");
	if (rule->nresources == 0)
		return fail_field(
			d, "resources",
			"required value: resource rules must supply at least one resource");
	return 0;
}

/* aggregationRule.clusterRoleSelectors: at least one selector once the
 * rule is given.  A null selector is the zero LabelSelector, which
 * selects every ClusterRole. */
static int
decode_aggregation(struct dec *d, const json_t *agg, struct kn_role *role)
{
	json_t *sels;
	size_t n, save;
	int r;

	if ((r = get_arr(d, agg, "clusterRoleSelectors", &sels, &n)) < 0)
		return r;
	if (n == 0)
		return fail_field(d, "clusterRoleSelectors",
				  "required value: at least one clusterRoleSelector required if "
				  "aggregationRule is non-nil");
	role->aggregated = true;
	role->agg_selectors = xcalloc(n, sizeof(*role->agg_selectors));
	role->nagg_selectors = n;
	save = path_field(d, "clusterRoleSelectors");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(sels, i), &js)) < 0)
			return r;
		if ((r = decode_selector(d, js, &role->agg_selectors[i])) < 0)
			return r;
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

/* ValidateRole and ValidateClusterRole.  cluster: a ClusterRole. */
static int
decode_role(struct dec *d, const json_t *obj, bool cluster, struct kn_role **ret)
{
	struct kn_role *role = xcalloc(1, sizeof(*role));
	json_t *rules, *agg;
	size_t n, save;
	int r;

	if ((r = decode_meta_names(d, obj, cluster ? NULL : &role->ns, &role->name, &role->labels,
				   true)) < 0)
		goto out;
	if ((r = get_arr(d, obj, "rules", &rules, &n)) < 0)
		goto out;
	if (n > 0) {
		role->rules = xcalloc(n, sizeof(*role->rules));
		role->nrules = n;
	}
	save = path_field(d, "rules");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(rules, i), &js)) < 0)
			goto out;
		if ((r = decode_policy_rule(d, js, !cluster, &role->rules[i])) < 0)
			goto out;
		path_pop(d, isave);
	}
	path_pop(d, save);
	/* A Role has no aggregationRule; a ClusterRole's may be null. */
	if (cluster) {
		if ((r = get_obj(d, obj, "aggregationRule", &agg)) < 0)
			goto out;
		if (agg) {
			save = path_field(d, "aggregationRule");
			if ((r = decode_aggregation(d, agg, role)) < 0)
				goto out;
			path_pop(d, save);
		}
	}
	*ret = role;
	role = NULL;
out:
	kn_role_free(role);
	return r;
}

/* ValidateRoleBindingSubject, after v1's defaulting (SetDefaults_Subject:
 * an empty apiGroup of a User or Group is rbac.authorization.k8s.io).
 * namespaced: the subject of a RoleBinding, where a ServiceAccount
 * without namespace means the binding's. */
static int
decode_subject(struct dec *d, const json_t *js, bool namespaced, struct kn_subject *sub)
{
	const char *kind, *group, *name, *ns, *problem;
	int r;

	if ((r = get_str(d, js, "kind", &kind)) < 0 ||
	    (r = get_str(d, js, "apiGroup", &group)) < 0 ||
	    (r = get_str(d, js, "name", &name)) < 0 || (r = get_str(d, js, "namespace", &ns)) < 0)
		return r;
	if (!nonempty(name))
		return fail_field(d, "name", "required value");
	if (kind && strcmp(kind, "ServiceAccount") == 0) {
		sub->kind = KN_SUBJECT_SERVICE_ACCOUNT;
		if ((problem = dns1123_subdomain_problem(name, strlen(name))))
			return fail_field(d, "name", "invalid value: \"%s\": %s", name, problem);
		if (nonempty(group))
			return fail_field(d, "apiGroup",
					  "unsupported value: \"%s\": supported values: \"\"",
					  group);
		if (!namespaced && !nonempty(ns))
			return fail_field(d, "namespace", "required value");
		if (nonempty(ns))
			sub->ns = xstrdup(ns);
	} else if (kind && (strcmp(kind, "User") == 0 || strcmp(kind, "Group") == 0)) {
		sub->kind = kind[0] == 'U' ? KN_SUBJECT_USER : KN_SUBJECT_GROUP;
		if (nonempty(group) && strcmp(group, RBAC_GROUP) != 0)
			return fail_field(
				d, "apiGroup",
				"unsupported value: \"%s\": supported values: \"" RBAC_GROUP "\"",
				group);
	} else {
		return fail_field(
			d, "kind",
			"unsupported value: \"%s\": supported values: \"ServiceAccount\", "
			"\"User\", \"Group\"",
			kind ? kind : "");
	}
	sub->name = xstrdup(name);
	return 0;
}

/* ValidateRoleBinding and ValidateClusterRoleBinding, after v1's
 * defaulting of an empty roleRef.apiGroup.  cluster: a
 * ClusterRoleBinding, which can only refer to a ClusterRole. */
static int
decode_binding(struct dec *d, const json_t *obj, bool cluster, struct kn_binding **ret)
{
	struct kn_binding *b = xcalloc(1, sizeof(*b));
	struct kn_labels labels = {0};
	const char *group, *kind, *name, *problem;
	json_t *ref, *subs;
	size_t n, save;
	int r;

	if ((r = decode_meta_names(d, obj, cluster ? NULL : &b->ns, &b->name, &labels, true)) < 0)
		goto out;
	if ((r = get_obj(d, obj, "roleRef", &ref)) < 0)
		goto out;
	save = path_field(d, "roleRef");
	if ((r = get_str(d, ref, "apiGroup", &group)) < 0 ||
	    (r = get_str(d, ref, "kind", &kind)) < 0 || (r = get_str(d, ref, "name", &name)) < 0)
		goto out;
	if (nonempty(group) && strcmp(group, RBAC_GROUP) != 0) {
		r = fail_field(d, "apiGroup",
			       "unsupported value: \"%s\": supported values: \"" RBAC_GROUP "\"",
			       group);
		goto out;
	}
	if (kind && strcmp(kind, "ClusterRole") == 0) {
		b->role_is_cluster = true;
	} else if (cluster || !kind || strcmp(kind, "Role") != 0) {
		r = fail_field(d, "kind", "unsupported value: \"%s\": supported values: %s",
			       kind ? kind : "",
			       cluster ? "\"ClusterRole\"" : "\"Role\", \"ClusterRole\"");
		goto out;
	}
	if (!nonempty(name)) {
		r = fail_field(d, "name", "required value");
		goto out;
	}
	if ((problem = rbac_name_problem(name))) {
		r = fail_field(d, "name", "invalid value: \"%s\": %s", name, problem);
		goto out;
	}
	b->role_name = xstrdup(name);
	path_pop(d, save);

	if ((r = get_arr(d, obj, "subjects", &subs, &n)) < 0)
		goto out;
	if (n > 0) {
		b->subjects = xcalloc(n, sizeof(*b->subjects));
		b->nsubjects = n;
	}
	save = path_field(d, "subjects");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(subs, i), &js)) < 0)
			goto out;
		if ((r = decode_subject(d, js, !cluster, &b->subjects[i])) < 0)
			goto out;
		path_pop(d, isave);
	}
	path_pop(d, save);
	*ret = b;
	b = NULL;
out:
	kn_labels_free(&labels);
	kn_binding_free(b);
	return r;
}

/* ------------------------------------------------------------ Service, EndpointSlice */

static void
addr_add_unique(struct kn_addr **v, size_t *n, size_t *cap, const struct kn_addr *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (kn_addr_cmp(&(*v)[i], a) == 0)
			return;
	}
	grow_array((void **)v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *a;
}

/* The protocol of a Service or EndpointSlice port: absent means TCP, as
 * v1's defaulting sets it for both. */
static int
port_proto(struct dec *d, const json_t *js, uint8_t *ret)
{
	return decode_proto_field(d, js, PROTOS_SORTED, ret);
}

/* Port names must be unique within the object; "" is a name too. */
static int
port_name(struct dec *d, const json_t *js, bool required, char ***names, size_t *nnames)
{
	const char *s, *problem;
	int r;

	if ((r = get_str(d, js, "name", &s)) < 0)
		return r;
	if (!s)
		s = "";
	if (required && !*s)
		return fail_field(d, "name", "required value");
	if (*s && (problem = dns1123_label_problem(s)))
		return fail_field(d, "name", "invalid value: \"%s\": %s", s, problem);
	for (size_t i = 0; i < *nnames; i++) {
		if (strcmp((*names)[i], s) == 0)
			return fail_field(d, "name", "duplicate value: \"%s\"", s);
	}
	(*names)[(*nnames)++] = xstrdup(s);
	return 0;
}

static void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ValidateServicePort for the fields kept: a name when there are several
 * ports, unique; the port; the protocol. */
static int
decode_service_ports(struct dec *d, const json_t *spec, struct kn_service *svc)
{
	char **names = NULL;
	size_t n, nnames = 0, save;
	json_int_t port;
	json_t *ports;
	bool has;
	int r;

	if ((r = get_arr(d, spec, "ports", &ports, &n)) < 0)
		return r;
	if (n == 0)
		return 0;
	svc->ports = xcalloc(n, sizeof(*svc->ports));
	names = xcalloc(n, sizeof(*names));
	save = path_field(d, "ports");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(ports, i), &js)) < 0)
			goto out;
		if ((r = port_name(d, js, n > 1, &names, &nnames)) < 0)
			goto out;
		if ((r = get_int(d, js, "port", &has, &port)) < 0)
			goto out;
		if (port < 1 || port > 65535) {
			r = fail_field(
				d, "port",
				"invalid value: %lld: must be between 1 and 65535, inclusive",
				(long long)port);
			goto out;
		}
		if ((r = port_proto(d, js, &svc->ports[i].proto)) < 0)
			goto out;
		svc->ports[i].port = (uint16_t)port;
		svc->nports++;
		path_pop(d, isave);
	}
	path_pop(d, save);
out:
	names_free(names, nnames);
	return r;
}

/* clusterIP and clusterIPs: "None" (headless) or addresses; clusterIPs[0]
 * is clusterIP, and dual-stack services have one address per family. */
static int
decode_cluster_ips(struct dec *d, const json_t *spec, struct kn_service *svc)
{
	const char *ip, *s;
	struct kn_addr a;
	json_t *ips;
	size_t n, cap = 0, save;
	bool headless = false;
	int r;

	if ((r = get_str(d, spec, "clusterIP", &ip)) < 0)
		return r;
	if ((r = get_arr(d, spec, "clusterIPs", &ips, &n)) < 0)
		return r;
	if (n > 2)
		return fail_field(d, "clusterIPs", "too many: %zu: must have at most 2 items", n);
	save = path_field(d, "clusterIPs");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);

		if ((r = elem_str(d, json_array_get(ips, i), &s)) < 0)
			return r;
		if (i == 0 && nonempty(ip) && strcmp(ip, s) != 0)
			return fail(d,
				    "invalid value: \"%s\": must match `clusterIP` when both are "
				    "specified",
				    s);
		if (strcmp(s, "None") == 0 && i == 0) {
			headless = true;
		} else if (headless || kn_addr_parse(s, &a) < 0) {
			return fail(d, "invalid value: \"%s\": %s", s, IP_MSG);
		} else {
			if (svc->ncluster_ips == 1 && svc->cluster_ips[0].family == a.family)
				return fail(d,
					    "invalid value: \"%s\": may specify no more than one "
					    "IP for each IP family",
					    s);
			addr_add_unique(&svc->cluster_ips, &svc->ncluster_ips, &cap, &a);
		}
		path_pop(d, isave);
	}
	path_pop(d, save);
	if (n == 0 && nonempty(ip) && strcmp(ip, "None") != 0) {
		if (kn_addr_parse(ip, &a) < 0)
			return fail_field(d, "clusterIP", "invalid value: \"%s\": %s", ip, IP_MSG);
		addr_add_unique(&svc->cluster_ips, &svc->ncluster_ips, &cap, &a);
	}
	return 0;
}

/* The API server's Service, default/kubernetes (see is_api_object). */
static int
decode_service(struct dec *d, const json_t *obj, struct kn_service **ret)
{
	struct kn_service *svc = xcalloc(1, sizeof(*svc));
	struct kn_labels labels = {0};
	json_t *spec;
	size_t save;
	int r;

	if ((r = decode_meta(d, obj, &svc->ns, &svc->name, &labels)) < 0)
		goto out;
	if ((r = get_obj(d, obj, "spec", &spec)) < 0)
		goto out;
	save = path_field(d, "spec");
	if ((r = decode_cluster_ips(d, spec, svc)) < 0 ||
	    (r = decode_service_ports(d, spec, svc)) < 0)
		goto out;
	path_pop(d, save);
	*ret = svc;
	svc = NULL;
out:
	kn_labels_free(&labels);
	kn_service_free(svc);
	return r;
}

/* Bounds of discovery.k8s.io/v1 validation. */
#define SLICE_MAX_ENDPOINTS 1000
#define SLICE_MAX_ADDRESSES 100
#define SLICE_MAX_PORTS	    20000

/* One endpoint's addresses, validated for the slice's addressType. */
static int
decode_slice_endpoint(struct dec *d, const json_t *js, struct kn_endpoint_slice *eps,
		      const char *type, size_t *cap)
{
	const char *s, *problem;
	struct kn_addr a;
	json_t *addrs;
	size_t n, save;
	int r;

	if ((r = get_arr(d, js, "addresses", &addrs, &n)) < 0)
		return r;
	if (n == 0)
		return fail_field(d, "addresses",
				  "required value: must contain at least 1 address");
	if (n > SLICE_MAX_ADDRESSES)
		return fail_field(d, "addresses", "too many: %zu: must have at most %d items", n,
				  SLICE_MAX_ADDRESSES);
	save = path_field(d, "addresses");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);

		if ((r = elem_str(d, json_array_get(addrs, i), &s)) < 0)
			return r;
		if (eps->family == 0) {
			if ((problem = dns1123_subdomain_problem(s, strlen(s))))
				return fail(d, "invalid value: \"%s\": %s", s, problem);
		} else if (kn_addr_parse(s, &a) < 0 || a.family != eps->family) {
			return fail(d, "invalid value: \"%s\": must be a valid %s address", s,
				    type);
		} else {
			addr_add_unique(&eps->addrs, &eps->naddrs, cap, &a);
		}
		path_pop(d, isave);
	}
	path_pop(d, save);
	return 0;
}

static int
decode_slice_ports(struct dec *d, const json_t *obj, struct kn_endpoint_slice *eps)
{
	char **names = NULL;
	size_t n, nnames = 0, save;
	json_int_t port;
	json_t *ports;
	int r;

	if ((r = get_arr(d, obj, "ports", &ports, &n)) < 0)
		return r;
	if (n > SLICE_MAX_PORTS)
		return fail_field(d, "ports", "too many: %zu: must have at most %d items", n,
				  SLICE_MAX_PORTS);
	if (n == 0)
		return 0;
	eps->ports = xcalloc(n, sizeof(*eps->ports));
	names = xcalloc(n, sizeof(*names));
	save = path_field(d, "ports");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		struct kn_slice_port *p = &eps->ports[i];
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(ports, i), &js)) < 0)
			goto out;
		if ((r = port_name(d, js, false, &names, &nnames)) < 0)
			goto out;
		if ((r = port_proto(d, js, &p->proto)) < 0)
			goto out;
		/* port is a pointer: absent means the port is not
		 * restricted. */
		if ((r = get_int(d, js, "port", &p->has_port, &port)) < 0)
			goto out;
		if (p->has_port && (port < 1 || port > 65535)) {
			r = fail_field(
				d, "port",
				"invalid value: %lld: must be between 1 and 65535, inclusive",
				(long long)port);
			goto out;
		}
		p->port = (uint16_t)port;
		eps->nports++;
		path_pop(d, isave);
	}
	path_pop(d, save);
out:
	names_free(names, nnames);
	return r;
}

/* An EndpointSlice of the API server's Service (see is_api_object):
 * addressType, every endpoint's addresses and the ports.  Conditions
 * (ready, serving) are not kept: an API server that is not ready is
 * still an API server to guard. */
static int
decode_endpoint_slice(struct dec *d, const json_t *obj, struct kn_endpoint_slice **ret)
{
	struct kn_endpoint_slice *eps = xcalloc(1, sizeof(*eps));
	struct kn_labels labels = {0};
	const char *type, *svc;
	json_t *eds;
	size_t n, cap = 0, save;
	int r;

	if ((r = decode_meta(d, obj, &eps->ns, &eps->name, &labels)) < 0)
		goto out;
	if ((svc = kn_labels_get(&labels, KN_SERVICE_NAME_LABEL)))
		eps->service = xstrdup(svc);
	if ((r = get_str(d, obj, "addressType", &type)) < 0)
		goto out;
	if (!nonempty(type)) {
		r = fail_field(d, "addressType", "required value");
		goto out;
	}
	if (strcmp(type, "IPv4") == 0)
		eps->family = AF_INET;
	else if (strcmp(type, "IPv6") == 0)
		eps->family = AF_INET6;
	else if (strcmp(type, "FQDN") != 0) {
		r = fail_field(d, "addressType",
			       "unsupported value: \"%s\": supported values: \"FQDN\", \"IPv4\", "
			       "\"IPv6\"",
			       type);
		goto out;
	}
	if ((r = get_arr(d, obj, "endpoints", &eds, &n)) < 0)
		goto out;
	if (n > SLICE_MAX_ENDPOINTS) {
		r = fail_field(d, "endpoints", "too many: %zu: must have at most %d items", n,
			       SLICE_MAX_ENDPOINTS);
		goto out;
	}
	save = path_field(d, "endpoints");
	for (size_t i = 0; i < n; i++) {
		size_t isave = path_index(d, i);
		const json_t *js;

		if ((r = elem_obj(d, json_array_get(eds, i), &js)) < 0)
			goto out;
		if ((r = decode_slice_endpoint(d, js, eps, type, &cap)) < 0)
			goto out;
		path_pop(d, isave);
	}
	path_pop(d, save);
	if ((r = decode_slice_ports(d, obj, eps)) < 0)
		goto out;
	*ret = eps;
	eps = NULL;
out:
	kn_labels_free(&labels);
	kn_endpoint_slice_free(eps);
	return r;
}

/* ------------------------------------------------------------ objects */

/* The group matters: a "Pod" of another API group is another resource
 * (a CRD, say), which the compiler must not mistake for a core pod. */
static enum kn_kind
kind_of(const char *kind, const char *api_version)
{
	if (strcmp(api_version, "v1") == 0) {
		if (strcmp(kind, "Namespace") == 0)
			return KN_KIND_NAMESPACE;
		if (strcmp(kind, "Pod") == 0)
			return KN_KIND_POD;
	} else if (strcmp(api_version, "networking.k8s.io/v1") == 0) {
		if (strcmp(kind, "NetworkPolicy") == 0)
			return KN_KIND_NETPOL;
	}
	if (strcmp(api_version, "v1") == 0) {
		if (strcmp(kind, "ServiceAccount") == 0)
			return KN_KIND_SERVICE_ACCOUNT;
		if (strcmp(kind, "Service") == 0)
			return KN_KIND_SERVICE;
	} else if (strcmp(api_version, RBAC_GROUP "/v1") == 0) {
		if (strcmp(kind, "Role") == 0)
			return KN_KIND_ROLE;
		if (strcmp(kind, "ClusterRole") == 0)
			return KN_KIND_CLUSTER_ROLE;
		if (strcmp(kind, "RoleBinding") == 0)
			return KN_KIND_ROLE_BINDING;
		if (strcmp(kind, "ClusterRoleBinding") == 0)
			return KN_KIND_CLUSTER_ROLE_BINDING;
	} else if (strcmp(api_version, "discovery.k8s.io/v1") == 0) {
		if (strcmp(kind, "EndpointSlice") == 0)
			return KN_KIND_ENDPOINT_SLICE;
	}
	return KN_KIND_OTHER;
}

/* Of Services and EndpointSlices only the API server's matter (the
 * guard's); the others are ignored like any other kind, before
 * validation, so that the store holds what the compiler uses and an odd
 * Service elsewhere is no error of ours. */
static bool
is_api_object(enum kn_kind kind, const json_t *obj)
{
	const json_t *meta = member(obj, "metadata");
	const char *ns = NULL, *name = NULL, *svc = NULL;

	if (kind != KN_KIND_SERVICE && kind != KN_KIND_ENDPOINT_SLICE)
		return true;
	if (json_is_object(meta)) {
		ns = json_string_value(member(meta, "namespace"));
		name = json_string_value(member(meta, "name"));
		svc = json_string_value(member(member(meta, "labels"), KN_SERVICE_NAME_LABEL));
	}
	if (nonempty(ns) && strcmp(ns, KN_API_SERVICE_NAMESPACE) != 0)
		return false;
	if (kind == KN_KIND_SERVICE)
		return name && strcmp(name, KN_API_SERVICE_NAME) == 0;
	return svc && strcmp(svc, KN_API_SERVICE_NAME) == 0;
}

int
kn_decode_object(const json_t *obj, struct kn_object *ret, struct kn_err *err)
{
	struct kn_object o = {0};
	const char *kind, *api;
	struct dec d = {.err = err};
	int r;

	snprintf(d.who, sizeof(d.who), "object");
	if (!json_is_object(obj))
		return fail(&d, "must be an object");
	if ((r = get_str(&d, obj, "kind", &kind)) < 0)
		return r;
	if (!nonempty(kind))
		return fail_field(&d, "kind", "required value");
	if ((r = get_str(&d, obj, "apiVersion", &api)) < 0)
		return r;
	if (!nonempty(api))
		return fail_field(&d, "apiVersion", "required value");

	o.kind = kind_of(kind, api);
	if (!is_api_object(o.kind, obj))
		o.kind = KN_KIND_OTHER;
	if (o.kind != KN_KIND_OTHER)
		dec_name(&d, o.kind, obj);
	switch (o.kind) {
	case KN_KIND_NAMESPACE:
		r = decode_namespace(&d, obj, &o.u.ns);
		break;
	case KN_KIND_POD:
		r = decode_pod(&d, obj, &o.u.pod);
		break;
	case KN_KIND_NETPOL:
		r = decode_netpol(&d, obj, &o.u.np);
		break;
	case KN_KIND_SERVICE_ACCOUNT:
		r = decode_service_account(&d, obj, &o.u.sa);
		break;
	case KN_KIND_ROLE:
	case KN_KIND_CLUSTER_ROLE:
		r = decode_role(&d, obj, o.kind == KN_KIND_CLUSTER_ROLE, &o.u.role);
		break;
	case KN_KIND_ROLE_BINDING:
	case KN_KIND_CLUSTER_ROLE_BINDING:
		r = decode_binding(&d, obj, o.kind == KN_KIND_CLUSTER_ROLE_BINDING, &o.u.binding);
		break;
	case KN_KIND_SERVICE:
		r = decode_service(&d, obj, &o.u.svc);
		break;
	case KN_KIND_ENDPOINT_SLICE:
		r = decode_endpoint_slice(&d, obj, &o.u.eps);
		break;
	default:
		r = 0;
		break;
	}
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}

/* ------------------------------------------------------------ fields read
 *
 * What the decoders above read, per kind (decode.h).  A decoder that
 * starts reading a field must list it here; the fields_suffice test of
 * decode_test decodes its corpus whole and pruned to these trees and
 * fails on any difference. */

#define FIELDS(a)                                                                                  \
	{                                                                                          \
		a, ARRAY_SIZE(a)                                                                   \
	}

/* An object whose members are never read, only its presence. */
static const struct kn_fields no_members = {NULL, 0};

/* kn_decode_object, dec_name, decode_meta_names and is_api_object. */
static const struct kn_field meta_v[] = {{"name", NULL}, {"namespace", NULL}, {"labels", NULL}};
static const struct kn_fields meta = FIELDS(meta_v);
#define HEAD                                                                                       \
	{"kind", NULL}, {"apiVersion", NULL},                                                      \
	{                                                                                          \
		"metadata", &meta                                                                  \
	}

static const struct kn_field other_v[] = {{"kind", NULL}, {"apiVersion", NULL}};
static const struct kn_field namespace_v[] = {HEAD};

/* decode_pod, decode_pod_spec, decode_volumes, decode_containers,
 * decode_container_ports, decode_pod_status. */
static const struct kn_field ctr_port_v[] = {
	{"name", NULL}, {"containerPort", NULL}, {"protocol", NULL}};
static const struct kn_fields ctr_port = FIELDS(ctr_port_v);
static const struct kn_field ctr_v[] = {{"ports", &ctr_port}};
static const struct kn_fields ctr = FIELDS(ctr_v);
static const struct kn_field vol_source_v[] = {{"serviceAccountToken", &no_members}};
static const struct kn_fields vol_source = FIELDS(vol_source_v);
static const struct kn_field projected_v[] = {{"sources", &vol_source}};
static const struct kn_fields projected = FIELDS(projected_v);
static const struct kn_field volume_v[] = {{"projected", &projected}};
static const struct kn_fields volume = FIELDS(volume_v);
static const struct kn_field pod_spec_v[] = {
	{"nodeName", NULL},
	{"hostNetwork", NULL},
	{"serviceAccountName", NULL},
	{"serviceAccount", NULL},
	{"automountServiceAccountToken", NULL},
	{"volumes", &volume},
	{"initContainers", &ctr},
	{"containers", &ctr},
};
static const struct kn_fields pod_spec = FIELDS(pod_spec_v);
static const struct kn_field pod_ip_v[] = {{"ip", NULL}};
static const struct kn_fields pod_ip = FIELDS(pod_ip_v);
static const struct kn_field pod_status_v[] = {
	{"phase", NULL}, {"podIPs", &pod_ip}, {"podIP", NULL}};
static const struct kn_fields pod_status = FIELDS(pod_status_v);
static const struct kn_field pod_v[] = {HEAD, {"spec", &pod_spec}, {"status", &pod_status}};

/* decode_netpol: the whole spec but for fields of other kinds. */
static const struct kn_field netpol_spec_v[] = {
	{"podSelector", NULL}, {"ingress", NULL}, {"egress", NULL}, {"policyTypes", NULL}};
static const struct kn_fields netpol_spec = FIELDS(netpol_spec_v);
static const struct kn_field netpol_v[] = {HEAD, {"spec", &netpol_spec}};

/* decode_service_account, decode_role, decode_binding. */
static const struct kn_field sa_v[] = {HEAD, {"automountServiceAccountToken", NULL}};
static const struct kn_field role_v[] = {HEAD, {"rules", NULL}};
static const struct kn_field cluster_role_v[] = {HEAD, {"rules", NULL}, {"aggregationRule", NULL}};
static const struct kn_field binding_v[] = {HEAD, {"roleRef", NULL}, {"subjects", NULL}};

/* decode_service, decode_cluster_ips, decode_service_ports; the ports of
 * an EndpointSlice (decode_slice_ports) have the same three fields. */
static const struct kn_field port_v[] = {{"name", NULL}, {"port", NULL}, {"protocol", NULL}};
static const struct kn_fields port = FIELDS(port_v);
static const struct kn_field svc_spec_v[] = {
	{"clusterIP", NULL}, {"clusterIPs", NULL}, {"ports", &port}};
static const struct kn_fields svc_spec = FIELDS(svc_spec_v);
static const struct kn_field svc_v[] = {HEAD, {"spec", &svc_spec}};

/* decode_endpoint_slice, decode_slice_endpoint. */
static const struct kn_field endpoint_v[] = {{"addresses", NULL}};
static const struct kn_fields endpoint = FIELDS(endpoint_v);
static const struct kn_field slice_v[] = {
	HEAD, {"addressType", NULL}, {"endpoints", &endpoint}, {"ports", &port}};

const struct kn_fields *
kn_decode_fields(const char *kind)
{
	static const struct {
		const char *kind;
		struct kn_fields fields;
	} kinds[] = {
		{"Namespace", FIELDS(namespace_v)},
		{"Pod", FIELDS(pod_v)},
		{"NetworkPolicy", FIELDS(netpol_v)},
		{"ServiceAccount", FIELDS(sa_v)},
		{"Role", FIELDS(role_v)},
		{"ClusterRole", FIELDS(cluster_role_v)},
		{"RoleBinding", FIELDS(binding_v)},
		{"ClusterRoleBinding", FIELDS(binding_v)},
		{"Service", FIELDS(svc_v)},
		{"EndpointSlice", FIELDS(slice_v)},
	};
	static const struct kn_fields other = FIELDS(other_v);

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i].fields;
	}
	return &other;
}
