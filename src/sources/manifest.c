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
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "util.h"

/* Lists nest (kubectl wraps a PodList in a List at most); the bound stops
 * hostile input from recursing without end and keeps positions short. */
#define LIST_MAX_DEPTH 16

/* A position is the name plus ", item N" per List level. */
#define WHERE_ROOM (32 * (LIST_MAX_DEPTH + 2))

#define JSON_FLAGS (JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

struct reader {
	const char *buf;
	size_t len;
	const char *name;
	kn_manifest_cb cb;
	void *ctx;
	struct kn_err *err;
	struct strbuf where;
	size_t doc; /* documents seen, null ones excepted */
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

/* JSON. */

static size_t
skip_ws(const struct reader *rd, size_t off)
{
	while (off < rd->len && strchr(" \t\n\r", rd->buf[off]) && rd->buf[off])
		off++;
	return off;
}

/* Line and column (from 1, in characters) of offset off. */
static void
position(const struct reader *rd, size_t off, int *ret_line, int *ret_col)
{
	int line = 1, col = 1;

	for (size_t i = 0; i < off && i < rd->len; i++) {
		if (rd->buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)rd->buf[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

/* jansson counts lines and columns from the start of the piece it read,
 * which began at offset base. */
static int
json_error_at(struct reader *rd, size_t base, const json_error_t *jerr)
{
	int line, col;

	position(rd, base, &line, &col);
	if (jerr->line > 1) {
		line += jerr->line - 1;
		col = jerr->column;
	} else {
		col += jerr->column - 1;
	}
	snprintf(rd->err->msg, sizeof(rd->err->msg), "%s: line %d column %d: %s", rd->name, line,
		 col, jerr->text);
	return -EINVAL;
}

static int
error_at(struct reader *rd, size_t off, const char *what)
{
	int line, col;

	position(rd, off, &line, &col);
	snprintf(rd->err->msg, sizeof(rd->err->msg), "%s: line %d column %d: %s", rd->name, line,
		 col, what);
	return -EINVAL;
}

/* Offset just past the JSON array or object at off, or 0 when the text
 * ends first.  A scan that builds nothing: it only has to agree with
 * jansson on well-formed text, since every item it skips is then read by
 * jansson, which reports what is malformed. */
static size_t
skip_value(const struct reader *rd, size_t off)
{
	const char *buf = rd->buf;
	size_t len = rd->len, depth = 0;

	while (off < len) {
		char c = buf[off];

		if (c == '"') {
			/* The next quote not escaped: one preceded by an even
			 * number of backslashes. */
			for (off++;;) {
				const char *q = memchr(buf + off, '"', len - off);
				size_t bs = 0;

				if (!q)
					return 0;
				off = (size_t)(q - buf);
				while (buf[off - bs - 1] == '\\')
					bs++;
				off++;
				if (bs % 2 == 0)
					break;
			}
			continue;
		}
		off++;
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return off;
		}
	}
	return 0;
}

/* Reads one JSON value at *off with jansson and moves *off past it;
 * NULL on a syntax error (jerr set). */
static json_t *
load_at(const struct reader *rd, size_t *off, size_t end, json_error_t *jerr)
{
	json_t *v = json_loadb(rd->buf + *off, end - *off, JSON_FLAGS, jerr);

	if (v)
		*off += (size_t)jerr->position;
	return v;
}

/* A List of a big cluster (`kubectl get pods -A -o json`, 10k pods) is
 * about 100 MB of text, and several times that as jansson values.  So the
 * top-level object is first looked at without building its items: when it
 * is a List, its items are then read and handed out one at a time.
 *
 * Returns 1 with the offsets of the items array, of its end and of the
 * object's end when the object at off is a List; 0 when it is not, or
 * when anything is unusual (not an object, a duplicate key, a syntax
 * error): the caller then reads it whole, and jansson reports errors. */
static int
scan_list(const struct reader *rd, size_t off, size_t *ret_items, size_t *ret_items_end,
	  size_t *ret_end)
{
	json_t *seen = json_object(), *k = NULL, *v = NULL;
	size_t items = 0, items_end = 0;
	bool list_kind = false;
	json_error_t jerr;
	int r = 0;

	if (!seen || off >= rd->len || rd->buf[off] != '{')
		goto out;
	off = skip_ws(rd, off + 1);
	while (off < rd->len && rd->buf[off] == '"') {
		const char *key;

		k = load_at(rd, &off, rd->len, &jerr);
		if (!json_is_string(k))
			goto out;
		key = json_string_value(k);
		if (json_object_get(seen, key) || json_object_set(seen, key, json_null()) < 0)
			goto out;
		off = skip_ws(rd, off);
		if (off >= rd->len || rd->buf[off] != ':')
			goto out;
		off = skip_ws(rd, off + 1);
		if (strcmp(key, "items") == 0 && off < rd->len && rd->buf[off] == '[') {
			items = off;
			off = items_end = skip_value(rd, off);
			if (!off)
				goto out;
		} else {
			v = load_at(rd, &off, rd->len, &jerr);
			if (!v)
				goto out;
			if (strcmp(key, "kind") == 0) {
				const char *kind = json_string_value(v);
				size_t n = kind ? strlen(kind) : 0;

				/* Any other kind: stop scanning, read it whole. */
				list_kind = n >= 4 && strcmp(kind + n - 4, "List") == 0;
				if (!list_kind)
					goto out;
			}
			json_decref(v);
			v = NULL;
		}
		json_decref(k);
		k = NULL;
		off = skip_ws(rd, off);
		if (off < rd->len && rd->buf[off] == ',') {
			off = skip_ws(rd, off + 1);
			continue;
		}
		if (off < rd->len && rd->buf[off] == '}' && list_kind && items) {
			*ret_items = items;
			*ret_items_end = items_end;
			*ret_end = off + 1;
			r = 1;
		}
		break;
	}
out:
	json_decref(v);
	json_decref(k);
	json_decref(seen);
	return r;
}

static int
stream_items(struct reader *rd, size_t off, size_t items_end)
{
	size_t mark = rd->where.len, n = 0;
	json_error_t jerr;
	json_t *item;
	int r = 0;

	off = skip_ws(rd, off + 1); /* past '[' */
	if (off < items_end && rd->buf[off] == ']')
		goto end;
	for (;;) {
		item = load_at(rd, &off, items_end, &jerr);
		if (!item)
			return json_error_at(rd, off, &jerr);
		n++;
		if (!json_is_null(item)) {
			strbuf_printf(&rd->where, ", item %zu", n);
			r = walk(rd, item, 1);
			where_cut(rd, mark);
		}
		json_decref(item);
		if (r)
			return r;
		off = skip_ws(rd, off);
		if (off < items_end && rd->buf[off] == ',') {
			off = skip_ws(rd, off + 1);
			continue;
		}
		break;
	}
end:
	/* The scan and jansson must agree on where the items end. */
	if (off + 1 != items_end || rd->buf[off] != ']')
		return error_at(rd, off, "expected ',' or ']' after an item");
	return 0;
}

static int
read_json(struct reader *rd, size_t off)
{
	size_t items, items_end, end;
	json_error_t jerr;
	json_t *v;
	int r;

	for (off = skip_ws(rd, off); off < rd->len; off = skip_ws(rd, off)) {
		if (scan_list(rd, off, &items, &items_end, &end) == 1) {
			where_doc(rd);
			r = stream_items(rd, items, items_end);
			if (r)
				return r;
			off = end;
			continue;
		}
		v = load_at(rd, &off, rd->len, &jerr);
		if (!v)
			return json_error_at(rd, off, &jerr);
		r = 0;
		if (!json_is_null(v)) {
			where_doc(rd);
			r = walk(rd, v, 0);
		}
		json_decref(v);
		if (r)
			return r;
	}
	return 0;
}

static int
read_yaml(struct reader *rd)
{
	json_t *docs, *doc;
	size_t i;
	int r = 0;

	docs = kn_yaml_parse(rd->buf, rd->len, rd->name, rd->err);
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

int
kn_manifest_read_buf(const char *buf, size_t len, const char *name, kn_manifest_cb cb, void *ctx,
		     struct kn_err *err)
{
	struct reader rd = {.buf = buf ? buf : "",
			    .len = buf ? len : 0,
			    .name = name,
			    .cb = cb,
			    .ctx = ctx,
			    .err = err};
	size_t off = 0;
	int r;

	if (len > KN_MANIFEST_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "%s: larger than %u bytes", name,
			 KN_MANIFEST_MAX_BYTES);
		return -EFBIG;
	}
	strbuf_init(&rd.where, strlen(name) + WHERE_ROOM);
	/* A UTF-8 byte order mark: libyaml skips it, jansson does not. */
	if (rd.len >= 3 && memcmp(rd.buf, "\xef\xbb\xbf", 3) == 0)
		off = 3;
	off = skip_ws(&rd, off);
	if (off < rd.len && (rd.buf[off] == '{' || rd.buf[off] == '['))
		r = read_json(&rd, off);
	else
		r = read_yaml(&rd);
	strbuf_free(&rd.where);
	return r;
}

/* Reads fd to its end into *ret_buf.  The file is read, not mapped: the
 * directory source reads files that editors may truncate while we read,
 * and a mapped page past the new end kills the process with SIGBUS. */
static int
read_all(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 65536;
	struct stat st;
	char *buf;
	ssize_t n;
	int r = 0;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > KN_MANIFEST_MAX_BYTES)
			return -EFBIG;
		/* One more byte than the size, to see the end in one read. */
		cap = (size_t)st.st_size + 1;
	}
	buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			/* Bounded: one byte past the maximum proves too much. */
			if (len > KN_MANIFEST_MAX_BYTES) {
				r = -EFBIG;
				goto out;
			}
			cap = cap < KN_MANIFEST_MAX_BYTES / 2 ? cap * 2 : KN_MANIFEST_MAX_BYTES + 1;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > KN_MANIFEST_MAX_BYTES) {
		r = -EFBIG;
		goto out;
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	return r;
}

int
kn_manifest_read_file(const char *path, kn_manifest_cb cb, void *ctx, struct kn_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, strerror(-r));
		goto out;
	}
	r = read_all(fd, &buf, &len);
	if (r == -EFBIG) {
		snprintf(err->msg, sizeof(err->msg), "%s: larger than %u bytes", name,
			 KN_MANIFEST_MAX_BYTES);
		goto out;
	}
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, strerror(-r));
		goto out;
	}
	r = kn_manifest_read_buf(buf, len, name, cb, ctx, err);
out:
	if (fd >= 0 && !is_stdin)
		close(fd);
	free(buf);
	return r;
}
