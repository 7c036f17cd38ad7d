/* Allocation, growable strings and small helpers. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void
oom(void)
{
	fputs("out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t n)
{
	if (n && nmemb > SIZE_MAX / n)
		oom();
	return xrealloc(p, nmemb * n);
}

bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

void
sort_array(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, sz, cmp);
}

void *
search_array(const void *key, const void *base, size_t n, size_t sz,
	     int (*cmp)(const void *, const void *))
{
	return n > 0 ? bsearch(key, base, n, sz, cmp) : NULL;
}

void
grow_array(void **v, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;

	if (n <= *cap)
		return;
	ncap = *cap ? *cap : 4;
	while (ncap < n)
		ncap *= 2;
	*v = xreallocarray(*v, ncap, sz);
	*cap = ncap;
}

/* Default hard maximum of a strbuf: a rendered ruleset for a 50k-pod
 * cluster is a few tens of MiB; anything near this bound is a bug. */
#define STRBUF_DEFAULT_MAX (256u * 1024 * 1024)

void
strbuf_init(struct strbuf *sb, size_t max)
{
	memset(sb, 0, sizeof(*sb));
	sb->max = max ? max : STRBUF_DEFAULT_MAX;
}

void
strbuf_free(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

void
strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->overflow = false;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void
strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (sb->overflow || len > sb->max - sb->len) {
		sb->overflow = true;
		return;
	}
	grow_array((void **)&sb->buf, &sb->cap, sb->len + len + 1, 1);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void
strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void
strbuf_putc(struct strbuf *sb, char c)
{
	strbuf_add(sb, &c, 1);
}

void
strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		strbuf_add(sb, small, (size_t)n);
		return;
	}
	{
		char *big = xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		strbuf_add(sb, big, (size_t)n);
		free(big);
	}
}

const char *
strbuf_str(struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

char *
strbuf_steal(struct strbuf *sb)
{
	char *p = sb->buf ? sb->buf : xstrdup("");

	sb->buf = NULL;
	sb->len = sb->cap = 0;
	sb->overflow = false;
	return p;
}

uint64_t
hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t
hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int
str_cmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
kn_errf(struct kn_err *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}
