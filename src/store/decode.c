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

static size_t path_push(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t
path_push(struct dec *d, const char *fmt, ...)
{
	size_t save = d->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->path + d->len, sizeof(d->path) - d->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->len += (size_t)n;
	/* A path longer than the buffer is cut; the message is cut at
	 * KN_ERR_MAX anyway. */
	if (d->len >= sizeof(d->path))
		d->len = sizeof(d->path) - 1;
	return save;
}

static size_t
path_field(struct dec *d, const char *name)
{
	if (d->len == 0)
		return path_push(d, "%s", name);
	return path_push(d, ".%s", name);
}

static size_t
path_index(struct dec *d, size_t i)
{
	return path_push(d, "[%zu]", i);
}

static size_t
path_key(struct dec *d, const char *key)
{
	return path_push(d, "[\"%s\"]", key);
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
	qsort(l->v, l->n, sizeof(*l->v), label_cmp);
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
	qsort(l->v, l->n, sizeof(*l->v), label_cmp);
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
	qsort(e->values, e->nvalues, sizeof(*e->values), str_cmp_ptr);
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

/* ValidateObjectMeta for the fields kept.  ns is NULL for cluster-scoped
 * kinds; a namespaced object without a namespace lands in "default", as
 * kubectl would place it. */
static int
decode_meta(struct dec *d, const json_t *obj, char **ns, char **name, struct kn_labels *labels)
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
	if (kind == KN_KIND_NAMESPACE)
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

/* Protocol of a ContainerPort: a plain string, so "" is the default. */
static int
container_proto(struct dec *d, const char *s, uint8_t *ret)
{
	if (!nonempty(s) || strcmp(s, "TCP") == 0)
		*ret = KN_PROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*ret = KN_PROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*ret = KN_PROTO_SCTP;
	else
		return fail_field(d, "protocol",
				  "unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", "
				  "\"UDP\"",
				  s);
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
	const char *s;
	int r;

	if ((r = get_str(d, js, "protocol", &s)) < 0)
		return r;
	if (!s || strcmp(s, "TCP") == 0)
		*ret = KN_PROTO_TCP;
	else if (strcmp(s, "UDP") == 0)
		*ret = KN_PROTO_UDP;
	else if (strcmp(s, "SCTP") == 0)
		*ret = KN_PROTO_SCTP;
	else
		return fail_field(d, "protocol",
				  "unsupported value: \"%s\": supported values: \"TCP\", \"UDP\", "
				  "\"SCTP\"",
				  s);
	return 0;
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
	return KN_KIND_OTHER;
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
	default:
		r = 0;
		break;
	}
	if (r < 0)
		return r;
	*ret = o;
	return 0;
}
