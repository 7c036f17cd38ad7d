/* YAML to JSON values with libyaml's event parser.
 *
 * Plain scalars are typed as the YAML 1.2 core schema types them, so
 * that `port: 80` is a number and `port: "80"` a string, as the API
 * server would see them; quoted and block scalars are always strings.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "manifest.h"
#include "util.h"

/* Nesting depth and alias expansion bounds: real manifests nest a few
 * tens of levels and use aliases rarely; the bounds stop hostile input
 * (deep nesting, "billion laughs") from exhausting the stack or memory. */
#define YAML_MAX_DEPTH	     256
#define YAML_MAX_ALIAS_NODES 1000000

struct anchor {
	char *name;
	json_t *value;
};

struct yctx {
	yaml_parser_t parser;
	const char *name;
	struct kn_err *err;
	struct anchor *anchors;
	size_t nanchors, cap;
	size_t alias_nodes;
	int depth;
};

static void
set_err(struct yctx *y, const yaml_mark_t *mark, const char *what)
{
	snprintf(y->err->msg, sizeof(y->err->msg), "%s:%zu:%zu: %s", y->name,
		 mark ? mark->line + 1 : 0, mark ? mark->column + 1 : 0, what);
}

static void
parser_err(struct yctx *y)
{
	char what[256];

	snprintf(what, sizeof(what), "%s%s%s",
		 y->parser.problem ? y->parser.problem : "syntax error",
		 y->parser.context ? " " : "", y->parser.context ? y->parser.context : "");
	set_err(y, &y->parser.problem_mark, what);
}

static bool
next_event(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev)) {
		parser_err(y);
		return false;
	}
	return true;
}

static size_t
count_nodes(const json_t *v)
{
	size_t n = 1;
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) n += count_nodes(c);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) n += count_nodes(c);
	}
	return n;
}

static void
remember(struct yctx *y, const yaml_char_t *anchor, json_t *v)
{
	struct anchor *a;

	if (!anchor)
		return;
	/* A later anchor of the same name shadows the earlier one. */
	a = VEC_PUSH(y->anchors, y->nanchors, y->cap);
	a->name = xstrdup((const char *)anchor);
	a->value = json_incref(v);
}

static bool
all_digits(const char *s, size_t start)
{
	if (!s[start])
		return false;
	for (size_t i = start; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* YAML 1.1 resolution of a plain scalar. */
static json_t *
plain_scalar(const char *s, size_t len)
{
	/* Only true/false are booleans (YAML 1.2 core schema).  YAML 1.1
	 * also made y/n/yes/no/on/off booleans, which turns a namespace
	 * called "y" or a label "enabled: yes" into a type error; for
	 * typed fields the API server's decoder converts such scalars back
	 * to their text anyway. */
	static const char *const trues[] = {"true", "True", "TRUE"};
	static const char *const falses[] = {"false", "False", "FALSE"};
	char *end;

	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return json_null();
	for (size_t i = 0; i < ARRAY_SIZE(trues); i++)
		if (strcmp(s, trues[i]) == 0)
			return json_true();
	for (size_t i = 0; i < ARRAY_SIZE(falses); i++)
		if (strcmp(s, falses[i]) == 0)
			return json_false();
	if (all_digits(s, (s[0] == '-' || s[0] == '+') ? 1 : 0)) {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
	}
	if (strncmp(s, "0x", 2) == 0 && s[2]) {
		long long v;

		errno = 0;
		v = strtoll(s + 2, &end, 16);
		if (!errno && !*end)
			return json_integer(v);
	}
	{
		const char *p = s + ((s[0] == '-' || s[0] == '+') ? 1 : 0);
		bool digit = false, dot = false, bad = false;

		for (; *p && !bad; p++) {
			if (*p >= '0' && *p <= '9')
				digit = true;
			else if (*p == '.' && !dot)
				dot = true;
			else if ((*p == 'e' || *p == 'E') && digit)
				break;
			else
				bad = true;
		}
		if (digit && dot && !bad) {
			double v;

			errno = 0;
			v = strtod(s, &end);
			if (!errno && !*end)
				return json_real(v);
		}
	}
	return json_stringn(s, len);
}

static json_t *parse_node(struct yctx *y, yaml_event_t *ev);

static char *
key_string(const json_t *k)
{
	char buf[64];

	if (json_is_string(k))
		return xstrdup(json_string_value(k));
	if (json_is_integer(k)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(k));
		return xstrdup(buf);
	}
	if (json_is_true(k))
		return xstrdup("true");
	if (json_is_false(k))
		return xstrdup("false");
	if (json_is_null(k))
		return xstrdup("null");
	if (json_is_real(k)) {
		snprintf(buf, sizeof(buf), "%g", json_real_value(k));
		return xstrdup(buf);
	}
	return NULL;
}

static json_t *
parse_mapping(struct yctx *y, const yaml_event_t *start)
{
	json_t *obj = json_object(), *merge = NULL;
	yaml_event_t ev;

	remember(y, start->data.mapping_start.anchor, obj);
	for (;;) {
		json_t *k, *v;
		char *ks;

		if (!next_event(y, &ev))
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		k = parse_node(y, &ev);
		if (!k)
			goto fail;
		ks = key_string(k);
		json_decref(k);
		if (!ks) {
			set_err(y, &start->start_mark, "mapping keys must be scalars");
			goto fail;
		}
		if (!next_event(y, &ev)) {
			free(ks);
			goto fail;
		}
		v = parse_node(y, &ev);
		if (!v) {
			free(ks);
			goto fail;
		}
		if (strcmp(ks, "<<") == 0) {
			/* Merge keys: keys of this mapping win over merged ones,
			 * so merge after the loop. */
			if (!merge)
				merge = json_array();
			if (json_is_array(v))
				json_array_extend(merge, v);
			else
				json_array_append(merge, v);
			json_decref(v);
		} else {
			/* Duplicate keys: the last one wins, as in Go's decoder. */
			json_object_set_new(obj, ks, v);
		}
		free(ks);
	}
	if (merge) {
		size_t i;
		json_t *m;

		json_array_foreach(merge, i, m) if (json_is_object(m))
			json_object_update_missing(obj, m);
		json_decref(merge);
	}
	return obj;
fail:
	json_decref(merge);
	json_decref(obj);
	return NULL;
}

static json_t *
parse_sequence(struct yctx *y, const yaml_event_t *start)
{
	json_t *arr = json_array();
	yaml_event_t ev;

	remember(y, start->data.sequence_start.anchor, arr);
	for (;;) {
		json_t *v;

		if (!next_event(y, &ev))
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		v = parse_node(y, &ev);
		if (!v)
			goto fail;
		json_array_append_new(arr, v);
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

/* Consumes ev (and the events of its children).  Returns a new value, or
 * NULL with the error set. */
static json_t *
parse_node(struct yctx *y, yaml_event_t *ev)
{
	json_t *v = NULL;

	if (++y->depth > YAML_MAX_DEPTH) {
		set_err(y, &ev->start_mark, "nesting too deep");
		goto out;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;

		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag)
			v = plain_scalar(s, len);
		else if (ev->data.scalar.tag &&
			 strcmp((const char *)ev->data.scalar.tag, YAML_INT_TAG) == 0)
			v = plain_scalar(s, len);
		else
			v = json_stringn(s, len);
		if (!v) {
			set_err(y, &ev->start_mark, "invalid UTF-8 in a string");
			goto out;
		}
		remember(y, ev->data.scalar.anchor, v);
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		v = parse_sequence(y, ev);
		break;
	case YAML_MAPPING_START_EVENT:
		v = parse_mapping(y, ev);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;

		for (size_t i = y->nanchors; i-- > 0;) {
			if (strcmp(y->anchors[i].name, name) == 0) {
				y->alias_nodes += count_nodes(y->anchors[i].value);
				if (y->alias_nodes > YAML_MAX_ALIAS_NODES) {
					set_err(y, &ev->start_mark, "aliases expand too much");
					goto out;
				}
				/* A deep copy: the alias may be modified by a
				 * merge while the anchor is not. */
				v = json_deep_copy(y->anchors[i].value);
				break;
			}
		}
		if (!v) {
			char what[128];

			snprintf(what, sizeof(what), "unknown alias '%s'", name);
			set_err(y, &ev->start_mark, what);
		}
		break;
	}
	default:
		set_err(y, &ev->start_mark, "unexpected event");
		break;
	}
out:
	y->depth--;
	yaml_event_delete(ev);
	return v;
}

json_t *
kn_yaml_parse(const char *buf, size_t len, const char *name, struct kn_err *err)
{
	struct yctx y;
	json_t *docs = json_array();
	yaml_event_t ev;
	bool ok = false;

	memset(&y, 0, sizeof(y));
	y.name = name;
	y.err = err;
	if (!yaml_parser_initialize(&y.parser)) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		json_decref(docs);
		return NULL;
	}
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!next_event(&y, &ev))
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			json_t *doc = NULL;

			yaml_event_delete(&ev);
			if (!next_event(&y, &ev))
				goto out;
			if (ev.type != YAML_DOCUMENT_END_EVENT) {
				doc = parse_node(&y, &ev);
				if (!doc)
					goto out;
				if (!next_event(&y, &ev)) {
					json_decref(doc);
					goto out;
				}
			}
			yaml_event_delete(&ev);
			/* Anchors do not cross documents. */
			for (size_t i = 0; i < y.nanchors; i++) {
				free(y.anchors[i].name);
				json_decref(y.anchors[i].value);
			}
			y.nanchors = 0;
			/* Empty documents (only comments, or "---" alone) are
			 * skipped, as kubectl skips them. */
			if (doc && !json_is_null(doc))
				json_array_append(docs, doc);
			json_decref(doc);
			continue;
		}
		yaml_event_delete(&ev);
	}
	ok = true;
out:
	for (size_t i = 0; i < y.nanchors; i++) {
		free(y.anchors[i].name);
		json_decref(y.anchors[i].value);
	}
	free(y.anchors);
	yaml_parser_delete(&y.parser);
	if (!ok) {
		json_decref(docs);
		return NULL;
	}
	return docs;
}
