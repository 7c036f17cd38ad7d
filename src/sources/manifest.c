/* Manifest files: JSON or YAML, one or more documents, Lists expanded.
 *
 * Input whose first character (after a byte order mark and white space)
 * is '{' or '[' is JSON: a stream of values, as `kubectl get -o json`
 * writes one and some tools write several.  Anything else is YAML.
 * Either way every document that is null is skipped, every List (kind
 * "List" or any kind ending in "List", with an items array) is replaced
 * by its items, nested Lists too, and everything else must be an object.
 *
 * Positions in callbacks count documents and items from 1, skipping null
 * documents: "state.yaml: document 2, item 5".  On an error the callback
 * may already have seen the objects before it; callers treat the file as
 * a whole and drop them.
 *
 * Duplicate keys are errors in JSON as in YAML (see yaml.c for why).
 *
 * JSON is read as a stream (jsonrd.c): memory holds a window of the file
 * and one item of a List at a time, never the file, and, when the caller
 * asks (kn_manifest_read_file_fields), only the members of each object
 * that decoding reads.  kubectl writes a List's items before its kind:
 * a regular file is then looked through for the kind first, and read
 * again; a pipe cannot be, and its List is built (pruned) whole.  YAML
 * is read whole.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonrd.h"
#include "manifest.h"
#include "util.h"

/* Lists nest (kubectl wraps a PodList in a List at most); the bound stops
 * hostile input from recursing without end and keeps positions short. */
#define LIST_MAX_DEPTH 16

/* A position is the name plus ", item N" per List level. */
#define WHERE_ROOM (32 * (LIST_MAX_DEPTH + 2))

struct reader {
	const char *name;
	kn_manifest_cb cb;
	void *ctx;
	struct kn_err *err;
	struct strbuf where;
	size_t doc;   /* documents seen, null ones excepted */
	bool in_list; /* a List's items are being handed out */
	int stopped;  /* what stopped reading in a List */
};

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* The items of a List, or NULL when obj is not one. */
static json_t *
list_items(json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	json_t *items = json_object_get(obj, "items");
	size_t n;

	if (!kind || !json_is_array(items))
		return NULL;
	n = strlen(kind);
	return n >= 4 && strcmp(kind + n - 4, "List") == 0 ? items : NULL;
}

static void
where_cut(struct reader *rd, size_t len)
{
	if (rd->where.buf && len < rd->where.len) {
		rd->where.len = len;
		rd->where.buf[len] = '\0';
	}
}

static void
where_doc(struct reader *rd)
{
	strbuf_reset(&rd->where);
	rd->doc++;
	strbuf_printf(&rd->where, "%s: document %zu", rd->name, rd->doc);
}

/* Hands obj to the callback, or each of its items if it is a List. */
static int
walk(struct reader *rd, json_t *obj, int depth)
{
	size_t mark = rd->where.len, i;
	json_t *items, *item;
	int r = 0;

	if (!json_is_object(obj)) {
		snprintf(rd->err->msg, sizeof(rd->err->msg), "%s: expected an object, found %s",
			 strbuf_str(&rd->where), json_kind(obj));
		return -EINVAL;
	}
	items = list_items(obj);
	if (!items)
		return rd->cb(rd->ctx, obj, strbuf_str(&rd->where));
	if (depth >= LIST_MAX_DEPTH) {
		snprintf(rd->err->msg, sizeof(rd->err->msg), "%s: Lists nested more than %d deep",
			 strbuf_str(&rd->where), LIST_MAX_DEPTH);
		return -EINVAL;
	}
	json_array_foreach(items, i, item)
	{
		if (json_is_null(item))
			continue;
		strbuf_printf(&rd->where, ", item %zu", i + 1);
		r = walk(rd, item, depth + 1);
		where_cut(rd, mark);
		if (r)
			break;
	}
	return r;
}

/* JSON, through jsonrd.c: the items of a top-level List come one at a
 * time, as they are read. */

static int
json_failed(struct reader *rd, struct kn_jsonrd *j, int r)
{
	const struct kn_jsonrd_error *e = kn_jsonrd_error(j);

	if (r == -EFBIG)
		return kn_errf(rd->err, r, "%s: larger than %u bytes", rd->name,
			       KN_MANIFEST_MAX_BYTES);
	if (r != -EINVAL)
		return kn_errf(rd->err, r, "%s: %s", rd->name, strerror(-r));
	return kn_errf(rd->err, r, "%s: line %d column %d: %s", rd->name, e->line, e->column,
		       e->text);
}

static int
list_item(void *arg, json_t *item, size_t index)
{
	struct reader *rd = arg;
	size_t mark;
	int r;

	if (!rd->in_list) {
		where_doc(rd);
		rd->in_list = true;
	}
	if (json_is_null(item))
		return 0;
	mark = rd->where.len;
	strbuf_printf(&rd->where, ", item %zu", index);
	r = walk(rd, item, 1);
	where_cut(rd, mark);
	rd->stopped = r;
	return r;
}

static int
read_json(struct reader *rd, struct kn_jsonrd *j)
{
	json_t *v;
	int r;

	for (;;) {
		rd->in_list = false;
		r = kn_jsonrd_next(j, list_item, rd, &v);
		if (r == KN_JSONRD_STOPPED)
			return rd->stopped;
		if (r <= 0)
			return r < 0 ? json_failed(rd, j, r) : 0;
		if (!v) {
			/* A List, its items handed out already. */
			if (!rd->in_list)
				where_doc(rd);
			continue;
		}
		r = 0;
		if (!json_is_null(v)) {
			where_doc(rd);
			r = walk(rd, v, 0);
		}
		json_decref(v);
		if (r)
			return r;
	}
}

/* YAML is read whole: libyaml could stream it, but manifests written in
 * YAML are written by hand, and small. */
static int
read_yaml(struct reader *rd, const char *buf, size_t len)
{
	json_t *docs, *doc;
	size_t i;
	int r = 0;

	docs = kn_yaml_parse(buf, len, rd->name, rd->err);
	if (!docs)
		return -EINVAL;
	json_array_foreach(docs, i, doc)
	{
		where_doc(rd);
		r = walk(rd, doc, 0);
		if (r)
			break;
	}
	json_decref(docs);
	return r;
}

/* Reads j, JSON or YAML; buf is the whole input when the caller has it. */
static int
read_any(struct reader *rd, struct kn_jsonrd *j, const char *buf, size_t len)
{
	int c, r;

	r = kn_jsonrd_start(j, &c);
	if (r < 0)
		return json_failed(rd, j, r);
	if (c == '{' || c == '[')
		return read_json(rd, j);
	if (!buf) {
		r = kn_jsonrd_slurp(j, &buf, &len);
		if (r < 0)
			return json_failed(rd, j, r);
	}
	return read_yaml(rd, buf, len);
}

int
kn_manifest_read_buf_fields(const char *buf, size_t len, const char *name, kn_fields_fn fields,
			    kn_manifest_cb cb, void *ctx, struct kn_err *err)
{
	struct reader rd = {.name = name, .cb = cb, .ctx = ctx, .err = err};
	struct kn_jsonrd *j;
	int r;

	if (len > KN_MANIFEST_MAX_BYTES)
		return kn_errf(err, -EFBIG, "%s: larger than %u bytes", name,
			       KN_MANIFEST_MAX_BYTES);
	if (!buf) {
		buf = "";
		len = 0;
	}
	strbuf_init(&rd.where, strlen(name) + WHERE_ROOM);
	j = kn_jsonrd_new_buf(buf, len, fields);
	r = read_any(&rd, j, buf, len);
	kn_jsonrd_free(j);
	strbuf_free(&rd.where);
	return r;
}

int
kn_manifest_read_buf(const char *buf, size_t len, const char *name, kn_manifest_cb cb, void *ctx,
		     struct kn_err *err)
{
	return kn_manifest_read_buf_fields(buf, len, name, NULL, cb, ctx, err);
}

/* The file is read, not mapped: the directory source reads files that
 * editors may truncate while we read, and a mapped page past the new end
 * kills the process with SIGBUS.  It is read in pieces, through jsonrd's
 * window, a regular file twice over for a List whose kind comes after its
 * items. */
int
kn_manifest_read_file_fields(const char *path, kn_fields_fn fields, kn_manifest_cb cb, void *ctx,
			     struct kn_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	struct reader rd = {.name = is_stdin ? "<stdin>" : path, .cb = cb, .ctx = ctx, .err = err};
	struct kn_jsonrd *j;
	struct stat st;
	int fd, r;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		return kn_errf(err, r, "%s: %s", rd.name, strerror(-r));
	}
	/* Refused from its size, before a byte is read. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > KN_MANIFEST_MAX_BYTES) {
		r = kn_errf(err, -EFBIG, "%s: larger than %u bytes", rd.name,
			    KN_MANIFEST_MAX_BYTES);
		goto out;
	}
	strbuf_init(&rd.where, strlen(rd.name) + WHERE_ROOM);
	j = kn_jsonrd_new_fd(fd, KN_MANIFEST_MAX_BYTES, fields);
	r = read_any(&rd, j, NULL, 0);
	kn_jsonrd_free(j);
	strbuf_free(&rd.where);
out:
	if (!is_stdin)
		close(fd);
	return r;
}

int
kn_manifest_read_file(const char *path, kn_manifest_cb cb, void *ctx, struct kn_err *err)
{
	return kn_manifest_read_file_fields(path, NULL, cb, ctx, err);
}
