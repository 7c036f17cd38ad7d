/* YAML to JSON values with libyaml's event parser.
 *
 * The values are the ones kubectl sends to the API server for the same
 * file.  kubectl converts YAML with sigs.k8s.io/yaml, which reads it with
 * go-yaml v2 (YAML 1.1 typing) and then turns the result into JSON, so a
 * file must mean here exactly what it means once applied:
 *
 *  - plain scalars are typed as go-yaml v2 types them: null, ~ and empty
 *    are null; y/yes/on/true (and n/no/off/false, in the three spellings
 *    lower, Capitalised and UPPER) are booleans; integers take Go's base
 *    prefixes (0x, 0o, 0b, and a leading 0 for octal: 0755 is 493) and
 *    may contain '_'; other numbers are floats (so 080 is 80); anything
 *    else, timestamps included, is a string;
 *  - quoted and block scalars are strings, unless tagged !!int, !!bool...;
 *  - a float with an integral value becomes a JSON integer, because
 *    that is how Go writes it into the JSON the API server reads
 *    (port: 80.0 reaches the server as 80); .inf and .nan have no JSON
 *    form and are errors, as they are for kubectl;
 *  - non-string mapping keys become strings as sigs.k8s.io/yaml makes
 *    them (1 -> "1", yes -> "true"); null and collection keys are errors;
 *  - merge keys (<<) follow go-yaml v2: a mapping's entries apply in
 *    order, so keys after the << override merged ones and a << after a
 *    key overrides it; in a sequence of merged maps the earlier wins;
 *  - a key repeated in one mapping is an error.  YAML forbids it,
 *    kubectl's strict validation refuses it, and in a policy it is
 *    nearly always a mistake ("ingress:" twice) that "last one wins"
 *    would turn silently into a different firewall.
 *
 * Numbers are read with strtod, which assumes the "C" locale for the
 * decimal point; no program of the project calls setlocale().
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "manifest.h"
#include "util.h"

/* Nesting depth.  Real objects nest a few tens of levels (CRD schemas
 * are the deepest, well under a hundred).  Reading recurses once per
 * level, and so do jansson's copy, free and dump functions on the
 * result, so this bound is what keeps hostile input from exhausting the
 * stack. */
#define YAML_MAX_DEPTH 512

/* Values created by expanding aliases, per call.  Manifests use aliases
 * rarely and lightly; without a bound a few hundred bytes of nested
 * aliases ("billion laughs") expand to billions of values.  2^20 values
 * cost at most about 100 MiB and a fraction of a second. */
#define YAML_MAX_ALIAS_VALUES (1u << 20)

#define TAG_PREFIX "tag:yaml.org,2002:"

enum scalar_type {
	SC_NULL,
	SC_BOOL,
	SC_INT,	  /* fits int64 */
	SC_UINT,  /* fits uint64 only */
	SC_BIG,	  /* an unsigned integer beyond uint64 */
	SC_FLOAT, /* may be infinite or NaN */
	SC_STR,
};

/* A scalar and the type go-yaml v2 gives it. */
struct scalar {
	enum scalar_type type;
	bool b;
	long long i;
	double d;      /* SC_UINT, SC_BIG and SC_FLOAT */
	const char *s; /* the text, NUL-terminated, may hold NULs */
	size_t len;
};

/* An anchored node, kept for the aliases that follow it in the same
 * document. */
struct anchor {
	json_t *value;	  /* a collection; NULL for a scalar */
	struct scalar sc; /* a scalar; sc.s points to text */
	char *text;
	size_t values; /* what an alias to it costs */
	unsigned height;
	bool scalar;
	bool busy; /* a collection still being read: an alias to it is a cycle */
};

/* A value read, with its size for the alias bounds. */
struct node {
	json_t *v;
	size_t values;
	unsigned height;
};

struct yparse {
	yaml_parser_t parser;
	const char *buf;
	size_t len;
	const char *name;
	struct kn_err *err;
	json_t *anchor_index; /* anchor name -> index in anchors */
	/* One per anchor of the current document: no more than the input
	 * has anchors, so bounded by its size. */
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	size_t alias_values;
};

static int parse_node(struct yparse *y, const yaml_event_t *ev, unsigned depth, struct node *ret);

static int __attribute__((format(printf, 3, 4)))
yerr(struct yparse *y, const yaml_mark_t *m, const char *fmt, ...)
{
	size_t n;
	va_list ap;
	int w;

	w = snprintf(y->err->msg, sizeof(y->err->msg), "%s:%zu:%zu: ", y->name, m->line + 1,
		     m->column + 1);
	n = w < 0 ? 0 : (size_t)w < sizeof(y->err->msg) ? (size_t)w : sizeof(y->err->msg) - 1;
	va_start(ap, fmt);
	vsnprintf(y->err->msg + n, sizeof(y->err->msg) - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int
oom(struct yparse *y)
{
	snprintf(y->err->msg, sizeof(y->err->msg), "%s: out of memory", y->name);
	return -ENOMEM;
}

/* libyaml gives reader errors (bad UTF-8, control characters) as a byte
 * offset: turn it into a line and column like the other errors. */
static yaml_mark_t
mark_at(const struct yparse *y, size_t offset)
{
	yaml_mark_t m = {0, 0, 0};

	if (offset > y->len)
		offset = y->len;
	m.index = offset;
	for (size_t i = 0; i < offset; i++) {
		if (y->buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)y->buf[i] & 0xc0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static int
parser_error(struct yparse *y)
{
	const yaml_parser_t *p = &y->parser;
	const char *problem = p->problem ? p->problem : "syntax error";
	yaml_mark_t m;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return oom(y);
	case YAML_READER_ERROR:
		m = mark_at(y, p->problem_offset);
		if (p->problem_value != -1)
			return yerr(y, &m, "%s (0x%X)", problem, (unsigned)p->problem_value);
		return yerr(y, &m, "%s", problem);
	default:
		if (p->context)
			return yerr(y, &p->problem_mark, "%s (%s at line %zu column %zu)", problem,
				    p->context, p->context_mark.line + 1,
				    p->context_mark.column + 1);
		return yerr(y, &p->problem_mark, "%s", problem);
	}
}

static int
next_event(struct yparse *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev))
		return parser_error(y);
	return 0;
}

/* Scalar typing, after go-yaml v2's resolve(). */

static bool
text_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* The spellings go-yaml v2 looks up before trying numbers. */
static bool
resolve_word(const char *s, struct scalar *sc)
{
	static const char *const trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
					    "True", "TRUE", "on",  "On",  "ON"};
	static const char *const falses[] = {"n",     "N",     "no",  "No",  "NO", "false",
					     "False", "FALSE", "off", "Off", "OFF"};
	static const char *const nulls[] = {"~", "null", "Null", "NULL"};
	static const char *const nans[] = {".nan", ".NaN", ".NAN"};
	static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
	static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF"};

	if (text_in(s, trues, ARRAY_SIZE(trues)) || text_in(s, falses, ARRAY_SIZE(falses))) {
		sc->type = SC_BOOL;
		sc->b = text_in(s, trues, ARRAY_SIZE(trues));
	} else if (text_in(s, nulls, ARRAY_SIZE(nulls))) {
		sc->type = SC_NULL;
	} else if (text_in(s, nans, ARRAY_SIZE(nans))) {
		sc->type = SC_FLOAT;
		sc->d = NAN;
	} else if (text_in(s, infs, ARRAY_SIZE(infs)) || text_in(s, ninfs, ARRAY_SIZE(ninfs))) {
		sc->type = SC_FLOAT;
		sc->d = s[0] == '-' ? -INFINITY : INFINITY;
	} else {
		return false;
	}
	return true;
}

/* Go's strconv.ParseUint(s, 0, 64): a 0x, 0o or 0b prefix, or a leading
 * 0 for octal, else decimal.  Returns 0, -ERANGE for valid digits that do
 * not fit (*ret_approx still holds their value), or -EINVAL. */
static int
go_parse_uint(const char *s, size_t len, unsigned long long *ret, double *ret_approx)
{
	unsigned long long v = 0;
	double approx = 0;
	unsigned base = 10;
	bool range = false;

	if (len == 0)
		return -EINVAL;
	if (s[0] == '0') {
		char p = len >= 3 ? (char)(s[1] | 0x20) : 0;
		size_t skip = 2;

		if (p == 'x') {
			base = 16;
		} else if (p == 'o') {
			base = 8;
		} else if (p == 'b') {
			base = 2;
		} else {
			base = 8;
			skip = 1;
		}
		s += skip;
		len -= skip;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		approx = approx * base + d;
		if (v > (ULLONG_MAX - d) / base)
			range = true;
		else
			v = v * base + d;
	}
	*ret_approx = approx;
	if (range)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Go's strconv.ParseInt(s, 0, 64). */
static int
go_parse_int(const char *s, size_t len, long long *ret)
{
	unsigned long long u;
	bool neg = false;
	double approx;
	int r;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		s++;
		len--;
	}
	r = go_parse_uint(s, len, &u, &approx);
	if (r < 0)
		return r;
	if (u > (unsigned long long)LLONG_MAX + (neg ? 1 : 0))
		return -ERANGE;
	if (neg)
		*ret = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
	else
		*ret = (long long)u;
	return 0;
}

static size_t
skip_digits(const char *s, size_t len, size_t *i)
{
	size_t start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

/* go-yaml v2's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool
float_syntax(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i < len && s[i] == '.') {
		i++;
		if (skip_digits(s, len, &i) == 0)
			return false;
	} else {
		if (skip_digits(s, len, &i) == 0)
			return false;
		if (i < len && s[i] == '.') {
			i++;
			skip_digits(s, len, &i);
		}
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (skip_digits(s, len, &i) == 0)
			return false;
	}
	return i == len;
}

/* Go's ParseFloat on text that has float syntax: out of range is an
 * error there (the scalar stays a string), underflow is not. */
static bool
parse_float(const char *s, double *ret)
{
	double d = strtod(s, NULL);

	if (isinf(d))
		return false;
	*ret = d;
	return true;
}

/* Numbers starting with a digit or a sign, in go-yaml v2's order:
 * int64, uint64, float syntax, then an unsigned integer too big for
 * uint64. */
static void
resolve_number(const char *s, size_t len, struct scalar *sc)
{
	unsigned long long u;
	char *plain = NULL;
	const char *p = s;
	size_t plen = len;
	double approx;
	int r;

	/* go-yaml drops every '_' first ("1_000" is 1000). */
	if (memchr(s, '_', len)) {
		plain = xmalloc(len + 1);
		plen = 0;
		for (size_t i = 0; i < len; i++)
			if (s[i] != '_')
				plain[plen++] = s[i];
		plain[plen] = '\0';
		p = plain;
	}
	if (go_parse_int(p, plen, &sc->i) == 0) {
		sc->type = SC_INT;
		goto out;
	}
	r = go_parse_uint(p, plen, &u, &approx);
	if (r == 0) {
		sc->type = SC_UINT;
		sc->d = (double)u;
		goto out;
	}
	if (float_syntax(p, plen) && parse_float(p, &sc->d)) {
		sc->type = SC_FLOAT;
		goto out;
	}
	if (r == -ERANGE) {
		sc->type = SC_BIG;
		sc->d = approx;
	}
out:
	free(plain);
}

/* Types a plain scalar (or the text of an explicitly tagged one). */
static void
resolve_plain(const char *s, size_t len, struct scalar *sc)
{
	sc->type = SC_STR;
	sc->s = s;
	sc->len = len;
	if (len == 0) {
		sc->type = SC_NULL;
		return;
	}
	/* A NUL can only come from an escape in a quoted scalar. */
	if (memchr(s, '\0', len))
		return;
	/* go-yaml tries a typed reading only for these first characters. */
	if (!strchr("yYnNtTfFoO~.+-0123456789", s[0]))
		return;
	if (resolve_word(s, sc))
		return;
	if (s[0] == '.') {
		if (float_syntax(s, len) && parse_float(s, &sc->d))
			sc->type = SC_FLOAT;
	} else if (s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		resolve_number(s, len, sc);
	}
}

static const char *
type_name(enum scalar_type t)
{
	switch (t) {
	case SC_NULL:
		return "null";
	case SC_BOOL:
		return "bool";
	case SC_INT:
	case SC_UINT:
	case SC_BIG:
		return "int";
	case SC_FLOAT:
		return "float";
	case SC_STR:
		break;
	}
	return "str";
}

/* Types a scalar event as go-yaml v2 does: untagged plain scalars by
 * their text, untagged quoted and block scalars as strings, the standard
 * tags by checking the text against them, other tags as strings. */
static int
resolve_event(struct yparse *y, const yaml_event_t *ev, struct scalar *sc)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *want;

	memset(sc, 0, sizeof(*sc));
	sc->type = SC_STR;
	sc->s = s;
	sc->len = len;
	if (!tag) {
		if (ev->data.scalar.plain_implicit)
			resolve_plain(s, len, sc);
		return 0;
	}
	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return 0;
	want = tag + strlen(TAG_PREFIX);
	if (strcmp(want, "null") != 0 && strcmp(want, "bool") != 0 && strcmp(want, "int") != 0 &&
	    strcmp(want, "float") != 0)
		return 0;
	resolve_plain(s, len, sc);
	if (strcmp(want, "float") == 0 && sc->type == SC_INT) {
		sc->type = SC_FLOAT;
		sc->d = (double)sc->i;
	}
	if (strcmp(want, type_name(sc->type)) != 0)
		return yerr(y, &ev->start_mark, "cannot read '%.64s' as !!%s", s, want);
	return 0;
}

/* The JSON form of a number that Go holds as a float64: json.Marshal
 * writes integral values without a fraction, and that is what the API
 * server reads. */
static json_t *
float_json(double d)
{
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

static int
scalar_json(struct yparse *y, const struct scalar *sc, const yaml_mark_t *m, json_t **ret)
{
	json_t *v = NULL;

	switch (sc->type) {
	case SC_NULL:
		v = json_null();
		break;
	case SC_BOOL:
		v = json_boolean(sc->b);
		break;
	case SC_INT:
		v = json_integer(sc->i);
		break;
	case SC_UINT:
	case SC_BIG:
	case SC_FLOAT:
		if (!isfinite(sc->d))
			return yerr(y, m, "%s has no JSON form", sc->s);
		v = float_json(sc->d);
		break;
	case SC_STR:
		/* jansson's strings are NUL-terminated for most users: a NUL
		 * would cut "web\0x" to "web" downstream, so refuse it, as
		 * jansson's JSON reader does. */
		if (memchr(sc->s, '\0', sc->len))
			return yerr(y, m, "string contains a NUL character");
		v = json_stringn(sc->s, sc->len);
		if (!v)
			return yerr(y, m, "string is not valid UTF-8");
		break;
	}
	if (!v)
		return oom(y);
	*ret = v;
	return 0;
}

/* strconv.FormatFloat(d, 'g', -1, 32), which sigs.k8s.io/yaml uses for
 * float keys: the shortest digits that give back the same float32, in
 * exponent form when the exponent is below -4 or at least 6. */
static void
go_float32_key(double d, char *buf, size_t n)
{
	float f = (float)d;
	char e[32];
	int prec, exp;

	if (isnan(f)) {
		snprintf(buf, n, ".nan");
		return;
	}
	if (isinf(f)) {
		snprintf(buf, n, "%s", f < 0 ? "-.inf" : ".inf");
		return;
	}
	for (prec = 1; prec < 9; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, (double)f);
		if (strtof(e, NULL) == f)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", prec - 1, (double)f);
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6)
		snprintf(buf, n, "%s", e);
	else
		snprintf(buf, n, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, (double)f);
}

/* The string a scalar key becomes, as sigs.k8s.io/yaml converts keys. */
static int
scalar_key(struct yparse *y, const struct scalar *sc, const yaml_mark_t *m, char **ret)
{
	char buf[64];

	switch (sc->type) {
	case SC_NULL:
		return yerr(y, m, "a mapping key cannot be null");
	case SC_BOOL:
		snprintf(buf, sizeof(buf), "%s", sc->b ? "true" : "false");
		break;
	case SC_INT:
		snprintf(buf, sizeof(buf), "%lld", sc->i);
		break;
	case SC_UINT:
	case SC_BIG:
		return yerr(y, m, "mapping key %.64s is out of range", sc->s);
	case SC_FLOAT:
		go_float32_key(sc->d, buf, sizeof(buf));
		break;
	case SC_STR:
		if (memchr(sc->s, '\0', sc->len))
			return yerr(y, m, "string contains a NUL character");
		*ret = xstrdup(sc->s);
		return 0;
	}
	*ret = xstrdup(buf);
	return 0;
}

/* Anchors. */

static void
anchors_clear(struct yparse *y)
{
	for (size_t i = 0; i < y->nanchors; i++) {
		json_decref(y->anchors[i].value);
		free(y->anchors[i].text);
	}
	y->nanchors = 0;
	json_object_clear(y->anchor_index);
}

/* Records a new anchor under name; a later anchor of the same name
 * hides an earlier one for the aliases after it. */
static int
anchor_add(struct yparse *y, const yaml_event_t *ev, const yaml_char_t *name, struct anchor **ret)
{
	struct anchor *a;
	json_t *idx;

	idx = json_integer((json_int_t)y->nanchors);
	if (!idx)
		return oom(y);
	if (json_object_set_new(y->anchor_index, (const char *)name, idx) < 0)
		return yerr(y, &ev->start_mark, "anchor name is not valid UTF-8");
	a = VEC_PUSH(y->anchors, y->nanchors, y->anchors_cap);
	memset(a, 0, sizeof(*a));
	*ret = a;
	return 0;
}

static int
anchor_find(struct yparse *y, const yaml_event_t *ev, struct anchor **ret)
{
	const char *name = (const char *)ev->data.alias.anchor;
	json_t *idx = json_object_get(y->anchor_index, name);
	struct anchor *a;

	if (!idx)
		return yerr(y, &ev->start_mark, "unknown anchor '%s' for alias", name);
	a = &y->anchors[json_integer_value(idx)];
	if (a->busy)
		return yerr(y, &ev->start_mark, "alias '%s' refers to a node that contains it",
			    name);
	*ret = a;
	return 0;
}

static int
anchor_scalar(struct yparse *y, const yaml_event_t *ev, const struct scalar *sc)
{
	struct anchor *a;
	int r;

	if (!ev->data.scalar.anchor)
		return 0;
	r = anchor_add(y, ev, ev->data.scalar.anchor, &a);
	if (r < 0)
		return r;
	a->scalar = true;
	a->text = xmalloc(sc->len + 1);
	memcpy(a->text, sc->s, sc->len);
	a->text[sc->len] = '\0';
	a->sc = *sc;
	a->sc.s = a->text;
	a->values = 1;
	a->height = 1;
	return 0;
}

/* Expands an alias: a deep copy, so that no two places of the result
 * share a value and a caller may change one without changing the other. */
static int
parse_alias(struct yparse *y, const yaml_event_t *ev, unsigned depth, struct node *ret)
{
	struct anchor *a;
	json_t *v;
	int r;

	r = anchor_find(y, ev, &a);
	if (r < 0)
		return r;
	if (a->values > YAML_MAX_ALIAS_VALUES - y->alias_values)
		return yerr(y, &ev->start_mark, "aliases expand to more than %u values",
			    YAML_MAX_ALIAS_VALUES);
	if (depth - 1 + a->height > YAML_MAX_DEPTH)
		return yerr(y, &ev->start_mark, "alias nests deeper than %d levels",
			    YAML_MAX_DEPTH);
	y->alias_values += a->values;
	if (a->scalar) {
		r = scalar_json(y, &a->sc, &ev->start_mark, &v);
		if (r < 0)
			return r;
	} else {
		v = json_deep_copy(a->value);
		if (!v)
			return oom(y);
	}
	ret->v = v;
	ret->values = a->values;
	ret->height = a->height;
	return 0;
}

/* Mapping keys. */

/* go-yaml v2 takes a plain, untagged << (or one tagged !!merge) as a
 * merge key; a quoted "<<" is an ordinary key. */
static bool
is_merge_key(const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	if (strcmp((const char *)ev->data.scalar.value, "<<") != 0)
		return false;
	if (tag)
		return strcmp(tag, TAG_PREFIX "merge") == 0;
	return ev->data.scalar.plain_implicit;
}

/* Reads a key: *ret_key is the key as a string, or NULL with *ret_merge
 * set for a merge key. */
static int
parse_key(struct yparse *y, const yaml_event_t *ev, char **ret_key, bool *ret_merge)
{
	struct scalar sc;
	struct anchor *a;
	int r;

	*ret_merge = false;
	*ret_key = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (is_merge_key(ev)) {
			*ret_merge = true;
			return 0;
		}
		r = resolve_event(y, ev, &sc);
		if (r < 0)
			return r;
		r = anchor_scalar(y, ev, &sc);
		if (r < 0)
			return r;
		return scalar_key(y, &sc, &ev->start_mark, ret_key);
	case YAML_ALIAS_EVENT:
		r = anchor_find(y, ev, &a);
		if (r < 0)
			return r;
		if (!a->scalar)
			break;
		return scalar_key(y, &a->sc, &ev->start_mark, ret_key);
	default:
		break;
	}
	return yerr(y, &ev->start_mark, "mapping keys must be scalars");
}

/* Collections. */

static int
parse_sequence(struct yparse *y, unsigned depth, struct node *ret)
{
	struct node n = {json_array(), 1, 1}, child;
	yaml_event_t ev;
	int r;

	if (!n.v)
		return oom(y);
	for (;;) {
		r = next_event(y, &ev);
		if (r < 0)
			goto out;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		r = parse_node(y, &ev, depth + 1, &child);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		if (json_array_append_new(n.v, child.v) < 0) {
			r = oom(y);
			goto out;
		}
		n.values += child.values;
		if (child.height + 1 > n.height)
			n.height = child.height + 1;
	}
	*ret = n;
	n.v = NULL;
	r = 0;
out:
	json_decref(n.v);
	return r;
}

/* Applies the value of a merge key to obj.  explicit is the set of the
 * keys obj got from its own entries, kept from the first merge on so that
 * a key repeated across a merge is an override and not a duplicate. */
static int
merge_into(struct yparse *y, json_t *obj, json_t *src, const yaml_mark_t *m, json_t **explicit)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(src) && !json_is_array(src))
		goto bad;
	json_array_foreach(src, i, v)
	{
		if (!json_is_object(v))
			goto bad;
	}
	if (!*explicit) {
		*explicit = json_object();
		if (!*explicit)
			return oom(y);
		json_object_foreach(obj, k, v)
		{
			if (json_object_set(*explicit, k, json_null()) < 0)
				return oom(y);
		}
	}
	if (json_is_object(src))
		return json_object_update(obj, src) < 0 ? oom(y) : 0;
	/* Earlier maps of the sequence win: apply them last. */
	for (i = json_array_size(src); i-- > 0;)
		if (json_object_update(obj, json_array_get(src, i)) < 0)
			return oom(y);
	return 0;
bad:
	return yerr(y, m, "a merge key (<<) needs a mapping or a sequence of mappings");
}

static int
set_key(struct yparse *y, json_t *obj, const char *key, json_t *v, const yaml_mark_t *m,
	json_t *explicit)
{
	if (json_object_get(explicit ? explicit : obj, key))
		return yerr(y, m, "duplicate key '%s'", key);
	if (explicit && json_object_set(explicit, key, json_null()) < 0)
		return oom(y);
	if (json_object_set(obj, key, v) < 0)
		return oom(y);
	return 0;
}

static int
parse_mapping(struct yparse *y, unsigned depth, struct node *ret)
{
	struct node n = {json_object(), 1, 1}, val = {NULL, 0, 0};
	json_t *explicit = NULL;
	yaml_mark_t key_mark;
	yaml_event_t ev;
	char *key = NULL;
	bool merge;
	int r;

	if (!n.v)
		return oom(y);
	for (;;) {
		r = next_event(y, &ev);
		if (r < 0)
			goto out;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		key_mark = ev.start_mark;
		r = parse_key(y, &ev, &key, &merge);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		r = next_event(y, &ev);
		if (r < 0)
			goto out;
		r = parse_node(y, &ev, depth + 1, &val);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		/* Counted before merging: what a later alias to this
		 * mapping costs can only be overestimated. */
		n.values += val.values + 1;
		if (val.height + 1 > n.height)
			n.height = val.height + 1;
		if (merge)
			r = merge_into(y, n.v, val.v, &key_mark, &explicit);
		else
			r = set_key(y, n.v, key, val.v, &key_mark, explicit);
		json_decref(val.v);
		val.v = NULL;
		free(key);
		key = NULL;
		if (r < 0)
			goto out;
	}
	*ret = n;
	n.v = NULL;
	r = 0;
out:
	free(key);
	json_decref(val.v);
	json_decref(explicit);
	json_decref(n.v);
	return r;
}

/* Reads the node that starts with ev (and, for a collection, the events
 * up to its end).  The caller keeps ownership of ev. */
static int
parse_node(struct yparse *y, const yaml_event_t *ev, unsigned depth, struct node *ret)
{
	const yaml_char_t *anchor = NULL;
	struct anchor *a = NULL;
	size_t ai = 0;
	struct scalar sc;
	int r;

	if (depth > YAML_MAX_DEPTH)
		return yerr(y, &ev->start_mark, "nesting deeper than %d levels", YAML_MAX_DEPTH);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		r = resolve_event(y, ev, &sc);
		if (r < 0)
			return r;
		r = anchor_scalar(y, ev, &sc);
		if (r < 0)
			return r;
		ret->values = 1;
		ret->height = 1;
		return scalar_json(y, &sc, &ev->start_mark, &ret->v);
	case YAML_ALIAS_EVENT:
		return parse_alias(y, ev, depth, ret);
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		break;
	default:
		return yerr(y, &ev->start_mark, "unexpected YAML event %d", (int)ev->type);
	}
	if (anchor) {
		r = anchor_add(y, ev, anchor, &a);
		if (r < 0)
			return r;
		a->busy = true;
		/* The vector may move while the collection is read. */
		ai = (size_t)(a - y->anchors);
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT)
		r = parse_sequence(y, depth, ret);
	else
		r = parse_mapping(y, depth, ret);
	if (r < 0 || !anchor)
		return r;
	a = &y->anchors[ai];
	a->value = json_incref(ret->v);
	a->values = ret->values;
	a->height = ret->height;
	a->busy = false;
	return 0;
}

/* Reads one document after its DOCUMENT-START event; appends it to docs
 * unless it is empty (or null). */
static int
parse_document(struct yparse *y, json_t *docs)
{
	struct node root = {NULL, 0, 0};
	yaml_event_t ev;
	int r;

	r = next_event(y, &ev);
	if (r < 0)
		goto out;
	r = parse_node(y, &ev, 1, &root);
	yaml_event_delete(&ev);
	if (r < 0)
		goto out;
	r = next_event(y, &ev);
	if (r < 0)
		goto out;
	if (ev.type != YAML_DOCUMENT_END_EVENT)
		r = yerr(y, &ev.start_mark, "expected the end of the document");
	yaml_event_delete(&ev);
	if (r < 0)
		goto out;
	/* Anchors do not reach across documents. */
	anchors_clear(y);
	if (!json_is_null(root.v) && json_array_append(docs, root.v) < 0)
		r = oom(y);
out:
	json_decref(root.v);
	return r;
}

json_t *
kn_yaml_parse(const char *buf, size_t len, const char *name, struct kn_err *err)
{
	struct yparse y;
	json_t *docs = NULL, *ret = NULL;
	yaml_event_t ev;
	bool done = false;
	int r;

	memset(&y, 0, sizeof(y));
	y.buf = buf ? buf : "";
	y.len = buf ? len : 0;
	y.name = name;
	y.err = err;
	if (!yaml_parser_initialize(&y.parser)) {
		oom(&y);
		return NULL;
	}
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)y.buf, y.len);
	docs = json_array();
	y.anchor_index = json_object();
	if (!docs || !y.anchor_index) {
		oom(&y);
		goto out;
	}
	while (!done) {
		r = next_event(&y, &ev);
		if (r < 0)
			goto out;
		done = ev.type == YAML_STREAM_END_EVENT;
		r = ev.type == YAML_DOCUMENT_START_EVENT ? parse_document(&y, docs) : 0;
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
	}
	ret = docs;
	docs = NULL;
out:
	anchors_clear(&y);
	free(y.anchors);
	json_decref(y.anchor_index);
	json_decref(docs);
	yaml_parser_delete(&y.parser);
	return ret;
}
