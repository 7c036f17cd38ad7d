/* Manifest files: JSON or YAML, Lists expanded. */
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

static int
walk(struct walk *w, json_t *obj, const char *where, int depth)
{
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
	json_array_foreach(json_object_get(obj, "items"), i, item)
	{
		if (json_is_null(item))
			continue;
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

		while (off < len && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' ||
				     buf[off] == '\r'))
			off++;
		if (off >= len)
			break;
		v = json_loadb(buf + off, len - off,
			       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
		if (!v) {
			snprintf(w->err->msg, sizeof(w->err->msg), "%s: line %d column %d: %s",
				 w->name, jerr.line, jerr.column, jerr.text);
			return -EINVAL;
		}
		off += jerr.position;
		doc++;
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
	int fd, r;

	fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "%s: %s", name, strerror(-r));
		return r;
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
