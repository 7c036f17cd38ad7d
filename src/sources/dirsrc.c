/* A directory of manifests, watched with inotify. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "dirsrc.h"
#include "log.h"
#include "manifest.h"
#include "util.h"

/* Files in the folder: GitOps trees hold hundreds, not millions; the
 * bound keeps a runaway generator from exhausting memory. */
#define DIRSRC_MAX_FILES 100000

struct key {
	enum kn_kind kind;
	char *ns; /* NULL for cluster-scoped kinds */
	char *name;
};

struct file {
	char *name;
	struct key *keys; /* objects this file defined at its last good read */
	size_t nkeys, cap;
	bool failed;
	size_t invalid;
	bool seen; /* rescan bookkeeping */
};

struct kn_dirsrc {
	char *path;
	int ifd;
	int wd;
	struct kn_store *s;
	kn_dirsrc_report report;
	void *arg;
	struct file *files;
	size_t nfiles, cap;
};

static void report(struct kn_dirsrc *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
report(struct kn_dirsrc *d, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!d->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->report(d->arg, level, msg);
}

static bool
wanted(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || name[0] == '#' || n == 0 || name[n - 1] == '~')
		return false;
	if (n > 5 && strcmp(name + n - 5, ".json") == 0)
		return true;
	if (n > 5 && strcmp(name + n - 5, ".yaml") == 0)
		return true;
	return n > 4 && strcmp(name + n - 4, ".yml") == 0;
}

static void
keys_free(struct key *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(k[i].ns);
		free(k[i].name);
	}
	free(k);
}

static bool
key_eq(const struct key *a, const struct key *b)
{
	return a->kind == b->kind && strcmp(a->name, b->name) == 0 &&
	       ((!a->ns && !b->ns) || (a->ns && b->ns && strcmp(a->ns, b->ns) == 0));
}

static struct file *
find_file(struct kn_dirsrc *d, const char *name)
{
	for (size_t i = 0; i < d->nfiles; i++)
		if (strcmp(d->files[i].name, name) == 0)
			return &d->files[i];
	return NULL;
}

/* True when a file other than except still defines the object. */
static bool
defined_elsewhere(struct kn_dirsrc *d, const struct file *except, const struct key *k)
{
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct file *f = &d->files[i];

		if (f == except)
			continue;
		for (size_t j = 0; j < f->nkeys; j++)
			if (key_eq(&f->keys[j], k))
				return true;
	}
	return false;
}

struct read_ctx {
	struct kn_dirsrc *d;
	const char *file;
	struct kn_object *objs;
	size_t nobjs, cap;
	size_t invalid;
};

static int
read_one(void *arg, json_t *json, const char *where)
{
	struct read_ctx *rc = arg;
	struct kn_object obj;
	struct kn_err err;

	if (kn_decode_object(json, &obj, &err) < 0) {
		report(rc->d, LOG_LVL_ERR, "%s (%s)", err.msg, where);
		rc->invalid++;
		return 0;
	}
	if (obj.kind == KN_KIND_OTHER) {
		kn_object_free(&obj);
		return 0;
	}
	*VEC_PUSH(rc->objs, rc->nobjs, rc->cap) = obj;
	return 0;
}

static void
object_key(const struct kn_object *o, struct key *k)
{
	switch (o->kind) {
	case KN_KIND_NAMESPACE:
		k->ns = NULL;
		k->name = xstrdup(o->u.ns->name);
		break;
	case KN_KIND_POD:
		k->ns = xstrdup(o->u.pod->ns);
		k->name = xstrdup(o->u.pod->name);
		break;
	case KN_KIND_NETPOL:
		k->ns = xstrdup(o->u.np->ns);
		k->name = xstrdup(o->u.np->name);
		break;
	default: {
		/* The API server guard's kinds, by the model's key: a file
		 * that stops defining a RoleBinding must revoke it. */
		const char *ns = NULL, *name = "";

		(void)kn_object_key(o, &ns, &name);
		k->ns = ns ? xstrdup(ns) : NULL;
		k->name = xstrdup(name);
		break;
	}
	}
	k->kind = o->kind;
}

/* Removes the file's objects from the store, except those another file
 * still defines. */
static size_t
drop_keys(struct kn_dirsrc *d, struct file *f, const struct key *keep, size_t nkeep)
{
	size_t changes = 0;

	for (size_t i = 0; i < f->nkeys; i++) {
		const struct key *k = &f->keys[i];
		bool kept = false;

		for (size_t j = 0; j < nkeep && !kept; j++)
			kept = key_eq(k, &keep[j]);
		if (kept || defined_elsewhere(d, f, k))
			continue;
		if (kn_store_delete(d->s, k->kind, k->ns, k->name) == 0)
			changes++;
	}
	return changes;
}

static size_t
read_file(struct kn_dirsrc *d, const char *name)
{
	struct read_ctx rc = {.d = d, .file = name};
	struct kn_err err;
	struct file *f;
	struct key *keys;
	char *path;
	size_t changes = 0;
	int r;

	path = xasprintf("%s/%s", d->path, name);
	r = kn_manifest_read_file_fields(path, kn_decode_fields, read_one, &rc, &err);
	free(path);
	f = find_file(d, name);
	if (r < 0) {
		/* A file that does not parse keeps its previous objects: an
		 * editor's half-saved file must not open or close traffic. */
		report(d, LOG_LVL_ERR, "%s; keeping its previous objects", err.msg);
		for (size_t i = 0; i < rc.nobjs; i++)
			kn_object_free(&rc.objs[i]);
		free(rc.objs);
		if (!f && d->nfiles < DIRSRC_MAX_FILES) {
			/* Remembered with no objects, so that status counts it
			 * as failing until a good write replaces it. */
			f = VEC_PUSH(d->files, d->nfiles, d->cap);
			memset(f, 0, sizeof(*f));
			f->name = xstrdup(name);
		}
		if (f)
			f->failed = true;
		return 0;
	}
	if (!f) {
		if (d->nfiles >= DIRSRC_MAX_FILES) {
			report(d, LOG_LVL_ERR, "%s: more than %d files in %s; ignored", name,
			       DIRSRC_MAX_FILES, d->path);
			for (size_t i = 0; i < rc.nobjs; i++)
				kn_object_free(&rc.objs[i]);
			free(rc.objs);
			return 0;
		}
		f = VEC_PUSH(d->files, d->nfiles, d->cap);
		memset(f, 0, sizeof(*f));
		f->name = xstrdup(name);
	}
	keys = xcalloc(rc.nobjs ? rc.nobjs : 1, sizeof(*keys));
	for (size_t i = 0; i < rc.nobjs; i++)
		object_key(&rc.objs[i], &keys[i]);
	changes += drop_keys(d, f, keys, rc.nobjs);
	for (size_t i = 0; i < rc.nobjs; i++) {
		kn_store_put(d->s, &rc.objs[i]);
		changes++;
	}
	keys_free(f->keys, f->nkeys);
	f->keys = keys;
	f->nkeys = f->cap = rc.nobjs;
	f->failed = false;
	f->invalid = rc.invalid;
	free(rc.objs);
	return changes;
}

static size_t
remove_file(struct kn_dirsrc *d, const char *name)
{
	struct file *f = find_file(d, name);
	size_t changes;

	if (!f)
		return 0;
	changes = drop_keys(d, f, NULL, 0);
	keys_free(f->keys, f->nkeys);
	free(f->name);
	*f = d->files[--d->nfiles];
	return changes;
}

int
kn_dirsrc_open(const char *path, struct kn_store *s, kn_dirsrc_report rep, void *arg,
	       struct kn_dirsrc **ret)
{
	struct kn_dirsrc *d = xcalloc(1, sizeof(*d));
	struct stat st;
	int r;

	if (stat(path, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		r = -ENOTDIR;
		goto fail;
	}
	d->path = xstrdup(path);
	d->s = s;
	d->report = rep;
	d->arg = arg;
	d->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->ifd < 0) {
		r = -errno;
		goto fail;
	}
	d->wd = inotify_add_watch(d->ifd, path,
				  IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
					  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (d->wd < 0) {
		r = -errno;
		goto fail;
	}
	*ret = d;
	return 0;
fail:
	if (d->ifd > 0)
		close(d->ifd);
	free(d->path);
	free(d);
	return r;
}

void
kn_dirsrc_close(struct kn_dirsrc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfiles; i++) {
		keys_free(d->files[i].keys, d->files[i].nkeys);
		free(d->files[i].name);
	}
	free(d->files);
	close(d->ifd);
	free(d->path);
	free(d);
}

int
kn_dirsrc_fd(const struct kn_dirsrc *d)
{
	return d->ifd;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
kn_dirsrc_rescan(struct kn_dirsrc *d)
{
	DIR *dir = opendir(d->path);
	char **names = NULL;
	size_t n = 0, cap = 0, failed = 0;
	struct dirent *de;

	if (!dir) {
		report(d, LOG_LVL_ERR, "%s: %s; keeping the objects read so far", d->path,
		       strerror(errno));
		return 1;
	}
	while ((de = readdir(dir)) != NULL)
		if (wanted(de->d_name))
			*VEC_PUSH(names, n, cap) = xstrdup(de->d_name);
	closedir(dir);
	/* Files in name order, so that an object defined twice resolves the
	 * same way on every start. */
	sort_array(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < d->nfiles; i++)
		d->files[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		struct file *f;

		read_file(d, names[i]);
		f = find_file(d, names[i]);
		if (f) {
			f->seen = true;
			failed += f->failed;
		} else {
			failed++;
		}
	}
	for (size_t i = 0; i < d->nfiles;) {
		if (!d->files[i].seen) {
			char *gone = xstrdup(d->files[i].name);

			remove_file(d, gone);
			free(gone);
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return failed;
}

size_t
kn_dirsrc_dispatch(struct kn_dirsrc *d)
{
	char buf[16 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t changes = 0;
	bool rescan = false;
	ssize_t len;

	while ((len = read(d->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: only a full read is a safe
				 * answer. */
				rescan = true;
				continue;
			}
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				report(d, LOG_LVL_ERR,
				       "%s was removed or moved; keeping the objects read so far",
				       d->path);
				continue;
			}
			if (!ev->len || !wanted(ev->name))
				continue;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				report(d, LOG_LVL_INFO, "%s/%s changed", d->path, ev->name);
				changes += read_file(d, ev->name);
			} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				report(d, LOG_LVL_INFO, "%s/%s removed", d->path, ev->name);
				changes += remove_file(d, ev->name);
			}
		}
	}
	if (rescan) {
		report(d, LOG_LVL_WARNING, "inotify queue overflow on %s: reading every file",
		       d->path);
		kn_dirsrc_rescan(d);
		changes++;
	}
	return changes;
}

void
kn_dirsrc_get_stats(const struct kn_dirsrc *d, struct kn_dirsrc_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < d->nfiles; i++) {
		ret->files += !d->files[i].failed;
		ret->failed_files += d->files[i].failed;
		ret->invalid += d->files[i].invalid;
	}
}
