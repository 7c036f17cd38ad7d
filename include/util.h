/* Small helpers: allocation that aborts on OOM, a growable string buffer
 * with a hard maximum, and string utilities.
 */
#ifndef KN_UTIL_H
#define KN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Out of memory is not recoverable for a firewall compiler: a partial
 * program must never be committed.  These abort with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t n);
char *xstrdup(const char *s);
/* Equal strings, or both NULL. */
bool str_eq(const char *a, const char *b);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qsort() and bsearch() of n elements at base, which may be NULL when n
 * is 0 (the C library's own arguments must never be NULL). */
void sort_array(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *));
void *search_array(const void *key, const void *base, size_t n, size_t sz,
		   int (*cmp)(const void *, const void *));

/* Grow *v (of *cap elements of size sz) so that it holds at least n. */
void grow_array(void **v, size_t *cap, size_t n, size_t sz);
#define VEC_PUSH(v, n, cap) (grow_array((void **)&(v), &(cap), (n) + 1, sizeof(*(v))), &(v)[(n)++])

/* A growable string.  Every strbuf has a hard maximum (max, 0 = 256 MiB);
 * appends past it set the overflow flag and are dropped. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	bool overflow;
};

void strbuf_init(struct strbuf *sb, size_t max);
void strbuf_free(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the NUL-terminated contents ("" when empty); owned by sb. */
const char *strbuf_str(struct strbuf *sb);
/* Hands the contents to the caller and resets sb. */
char *strbuf_steal(struct strbuf *sb);

/* 64-bit FNV-1a, used for stable short names. */
uint64_t hash64(const void *data, size_t len, uint64_t seed);
/* murmur3's finalizer (fmix64): every input bit reaches every output
 * bit, so that the low bits of a hash table's slot index depend on all of
 * the key (FNV-1a leaves the last bytes in the high bits). */
uint64_t hash_mix64(uint64_t h);
#define HASH64_SEED 0xcbf29ce484222325ULL

int str_cmp_ptr(const void *a, const void *b); /* qsort of char * */

/* The error of a library function, for the edge that logs it: one line
 * naming the object ("set np/x/web/ingress/0/ports: File exists"). */
#define KN_ERR_MAX 512

struct kn_err {
	char msg[KN_ERR_MAX];
};

/* Fills err->msg (when err is not NULL) and returns ret, for
 * "return kn_errf(err, -EINVAL, ...)". */
int kn_errf(struct kn_err *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
