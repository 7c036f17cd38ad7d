/* Manifest files: JSON or YAML, Lists expanded. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "util.h"

/* Lists nest (a List of Lists is valid input); the bound stops hostile
 * input from recursing without end. */
#define LIST_MAX_DEPTH 16

struct walk {
	const char *name;
	kn_manifest_cb cb;
	void *ctx;
	struct kn_err *err;
};

static bool
is_list(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	size_t n;

	if (!kind || !json_is_array(json_object_get(obj, "items")))
		return false;
	n = strlen(kind);
	return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* Typed lists (PodList, ...) as the API returns them carry kind and
 * apiVersion once, on the list, not on each item: give each item the
 * list's type when it has none, so that the decoder knows what it is. */
static void
type_item(json_t *item, const char *kind, size_t kind_len, const char *api, size_t api_len)
{
	if (!kind || kind_len <= 4 || json_object_get(item, "kind"))
		return;
	json_object_set_new(item, "kind", json_stringn(kind, kind_len - 4));
	if (api && !json_object_get(item, "apiVersion"))
		json_object_set_new(item, "apiVersion", json_stringn(api, api_len));
}

static int
walk(struct walk *w, json_t *obj, const char *where, int depth)
{
	const char *kind, *api;
	char sub[512];
	json_t *item;
	size_t i;
	int r;

	if (!json_is_object(obj)) {
		snprintf(w->err->msg, sizeof(w->err->msg), "%s: not an object", where);
		return -EINVAL;
	}
	if (!is_list(obj))
		return w->cb(w->ctx, obj, where);
	if (depth >= LIST_MAX_DEPTH) {
		snprintf(w->err->msg, sizeof(w->err->msg), "%s: Lists nested too deep", where);
		return -EINVAL;
	}
	kind = json_string_value(json_object_get(obj, "kind"));
	api = json_string_value(json_object_get(obj, "apiVersion"));
	json_array_foreach(json_object_get(obj, "items"), i, item)
	{
		if (json_is_null(item))
			continue;
		if (json_is_object(item))
			type_item(item, kind, strlen(kind), api, api ? strlen(api) : 0);
		snprintf(sub, sizeof(sub), "%s, item %zu", where, i + 1);
		r = walk(w, item, sub, depth + 1);
		if (r)
			return r;
	}
	return 0;
}

static bool
looks_like_json(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
			continue;
		return buf[i] == '{' || buf[i] == '[';
	}
	return false;
}

/* Offset just past the JSON value starting at off (after whitespace), or
 * 0 when the text is malformed: a fast scan that builds nothing, used to
 * find a List's items without parsing everything else. */
static size_t
skip_value(const char *buf, size_t len, size_t off)
{
	size_t depth = 0;

	while (off < len) {
		char c = buf[off];

		if (c == '"') {
			/* memchr to the next quote, then count the backslashes
			 * before it: an odd number escapes it. */
			for (off++;;) {
				const char *q = memchr(buf + off, '"', len - off);
				size_t bs = 0;

				if (!q)
					return 0;
				off = (size_t)(q - buf);
				while (off - bs > 0 && buf[off - bs - 1] == '\\')
					bs++;
				off++;
				if (bs % 2 == 0)
					break;
			}
		} else if (c == '{' || c == '[') {
			depth++;
			off++;
			continue;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			depth--;
			off++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' ||
			   c == ':') {
			if (depth == 0 && (c == ',' || c == ':'))
				return 0;
			off++;
			continue;
		} else {
			/* A number or a literal. */
			while (off < len && !strchr(" \t\n\r,:]}", buf[off]))
				off++;
		}
		if (depth == 0)
			return off;
	}
	return 0;
}

static size_t
skip_ws(const char *buf, size_t len, size_t off)
{
	while (off < len &&
	       (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
		off++;
	return off;
}

/* Finds, in the top-level object at off, the raw "kind" string and where
 * the "items" array starts.  Returns false when the object is not a List
 * (or the scan fails: the full parser then reports the error). */
struct list_info {
	size_t items, end;	/* offsets of the items array and past the List */
	const char *kind, *api; /* raw strings in the buffer */
	size_t kind_len, api_len;
};

static bool
find_list_items(const char *buf, size_t len, size_t off, struct list_info *ret)
{
	const char *kind = NULL, *api = NULL;
	size_t kind_len = 0, api_len = 0, items = 0;

	off = skip_ws(buf, len, off);
	if (off >= len || buf[off] != '{')
		return false;
	off = skip_ws(buf, len, off + 1);
	while (off < len && buf[off] == '"') {
		size_t kstart = off + 1, kend, vstart, vend;

		kend = skip_value(buf, len, off);
		if (!kend)
			return false;
		off = skip_ws(buf, len, kend);
		if (off >= len || buf[off] != ':')
			return false;
		vstart = skip_ws(buf, len, off + 1);
		vend = skip_value(buf, len, vstart);
		if (!vend)
			return false;
		if (kend - 1 - kstart == 4 && memcmp(buf + kstart, "kind", 4) == 0 &&
		    buf[vstart] == '"') {
			kind = buf + vstart + 1;
			kind_len = vend - vstart - 2;
		} else if (kend - 1 - kstart == 5 && memcmp(buf + kstart, "items", 5) == 0 &&
			   buf[vstart] == '[') {
			items = vstart;
		} else if (kend - 1 - kstart == 10 && memcmp(buf + kstart, "apiVersion", 10) == 0 &&
			   buf[vstart] == '"' &&
			   !memchr(buf + vstart + 1, '\\', vend - vstart - 2)) {
			api = buf + vstart + 1;
			api_len = vend - vstart - 2;
		}
		off = skip_ws(buf, len, vend);
		if (off < len && buf[off] == ',')
			off = skip_ws(buf, len, off + 1);
	}
	if (off >= len || buf[off] != '}')
		return false;
	if (!kind || !items || kind_len < 4 || memcmp(kind + kind_len - 4, "List", 4) != 0)
		return false;
	/* A kind with escapes cannot name a typed list we know. */
	if (memchr(kind, '\\', kind_len))
		return false;
	ret->items = items;
	ret->end = off + 1;
	ret->kind = kind;
	ret->kind_len = kind_len;
	ret->api = api;
	ret->api_len = api_len;
	return true;
}

static void
json_error_at(struct walk *w, const char *buf, size_t base, const json_error_t *jerr)
{
	int line = 1, col = 0;

	/* jansson counts from the start of the piece it parsed. */
	for (size_t i = 0; i < base; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 0;
		} else {
			col++;
		}
	}
	snprintf(w->err->msg, sizeof(w->err->msg), "%s: line %d column %d: %s", w->name,
		 line + jerr->line - 1, jerr->line == 1 ? col + jerr->column : jerr->column,
		 jerr->text);
}

/* Parses a List's items one at a time: a 10k-pod `kubectl get -o json`
 * is about 100 MB, and holding it whole as JSON values would take
 * several times that in memory and most of the time in the allocator. */
static int
stream_items(struct walk *w, const char *buf, const struct list_info *li, int doc)
{
	size_t len = li->end, off = li->items;
	size_t n = 0;
	int r;

	off = skip_ws(buf, len, off + 1); /* past '[' */
	while (off < len && buf[off] != ']') {
		json_error_t jerr;
		char where[512];
		json_t *item;

		item = json_loadb(buf + off, len - off,
				  JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
				  &jerr);
		if (!item) {
			json_error_at(w, buf, off, &jerr);
			return -EINVAL;
		}
		off += jerr.position;
		n++;
		snprintf(where, sizeof(where), "%s: document %d, item %zu", w->name, doc, n);
		if (json_is_object(item))
			type_item(item, li->kind, li->kind_len, li->api, li->api_len);
		r = json_is_null(item) ? 0 : walk(w, item, where, 1);
		json_decref(item);
		if (r)
			return r;
		off = skip_ws(buf, len, off);
		if (off < len && buf[off] == ',')
			off = skip_ws(buf, len, off + 1);
		else if (off >= len || buf[off] != ']')
			break;
	}
	if (off >= len || buf[off] != ']') {
		json_error_t jerr = {.line = 1, .column = 1};

		snprintf(jerr.text, sizeof(jerr.text), "',' or ']' expected in items");
		json_error_at(w, buf, off < len ? off : len, &jerr);
		return -EINVAL;
	}
	return 0;
}

static int
read_json(struct walk *w, const char *buf, size_t len)
{
	size_t off = 0;
	int doc = 0, r;

	/* Several concatenated values are accepted, as kubectl emits one
	 * per object with some flags. */
	while (off < len) {
		json_error_t jerr;
		json_t *v;
		char where[512];
		struct list_info li;

		off = skip_ws(buf, len, off);
		if (off >= len)
			break;
		doc++;
		if (find_list_items(buf, len, off, &li)) {
			/* The fast scan found the List's end; its items are
			 * parsed and handed out one by one. */
			r = stream_items(w, buf, &li, doc);
			if (r)
				return r;
			off = li.end;
			continue;
		}
		v = json_loadb(buf + off, len - off,
			       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
		if (!v) {
			json_error_at(w, buf, off, &jerr);
			return -EINVAL;
		}
		off += jerr.position;
		if (json_is_array(v)) {
			json_t *item;
			size_t i;

			json_array_foreach(v, i, item)
			{
				snprintf(where, sizeof(where), "%s: document %d, item %zu", w->name,
					 doc, i + 1);
				r = walk(w, item, where, 0);
				if (r) {
					json_decref(v);
					return r;
				}
			}
			json_decref(v);
			continue;
		}
		snprintf(where, sizeof(where), "%s: document %d", w->name, doc);
		r = json_is_null(v) ? 0 : walk(w, v, where, 0);
		json_decref(v);
		if (r)
			return r;
	}
	return 0;
}

int
kn_manifest_read_buf(const char *buf, size_t len, const char *name, kn_manifest_cb cb, void *ctx,
		     struct kn_err *err)
{
	struct walk w = {name, cb, ctx, err};
	json_t *docs, *doc;
	size_t i;
	int r = 0;

	if (len > KN_MANIFEST_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "%s: larger than %u bytes", name,
			 KN_MANIFEST_MAX_BYTES);
		return -EFBIG;
	}
	if (looks_like_json(buf, len))
		return read_json(&w, buf, len);
	docs = kn_yaml_parse(buf, len, name, err);
	if (!docs)
		return -EINVAL;
	json_array_foreach(docs, i, doc)
	{
		char where[512];

		snprintf(where, sizeof(where), "%s: document %zu", name, i + 1);
		r = walk(&w, doc, where, 0);
		if (r)
			break;
	}
	json_decref(docs);
	return r;
}

/* Reads fd to the end, up to the maximum size. */
static int
slurp(int fd, struct strbuf *sb)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (sb->len + (size_t)n > KN_MANIFEST_MAX_BYTES)
			return -EFBIG;
		strbuf_add(sb, buf, (size_t)n);
	}
	return 0;
}

int
kn_manifest_read_file(const char *path, kn_manifest_cb cb, void *ctx, struct kn_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "<stdin>" : path;
	struct strbuf sb;
	struct stat st;
	int fd, r;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, strerror(-r));
		return r;
	}
	/* A regular file is mapped, not copied: big clusters' dumps are
	 * hundreds of megabytes. */
	if (!is_stdin && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *map;

		if ((uint64_t)st.st_size > KN_MANIFEST_MAX_BYTES) {
			close(fd);
			snprintf(err->msg, sizeof(err->msg), "%s: file too large", name);
			return -EFBIG;
		}
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map != MAP_FAILED) {
			close(fd);
			r = kn_manifest_read_buf(map, (size_t)st.st_size, name, cb, ctx, err);
			munmap(map, (size_t)st.st_size);
			return r;
		}
	}
	strbuf_init(&sb, KN_MANIFEST_MAX_BYTES);
	r = slurp(fd, &sb);
	if (!is_stdin)
		close(fd);
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name,
			 r == -EFBIG ? "file too large" : strerror(-r));
		goto out;
	}
	r = kn_manifest_read_buf(sb.buf ? sb.buf : "", sb.len, name, cb, ctx, err);
out:
	strbuf_free(&sb);
	return r;
}
