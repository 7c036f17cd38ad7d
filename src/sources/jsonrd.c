/* The JSON half of the manifest reader (jsonrd.h).
 *
 * Why not jansson: `kubectl get pods -A -o json` of a 10k-pod cluster is
 * about 90 MB, which jansson must hold whole and builds into several
 * times that of values, while decoding reads a few fields of each pod.
 * This parser follows jansson's (load.c) token by token, so that it takes
 * and refuses the same text with the same message at the same place, but
 * it reads through a window and builds only what the caller reads; what
 * it skips it still checks in full: UTF-8, escapes and surrogate pairs,
 * the number grammar and its overflows, nesting depth, duplicate keys.
 *
 * One difference, on purpose: jansson 2.14 drops a NUL byte read just
 * past a number or a word (it puts the byte back where NUL means nothing
 * was put back), so it reads [1<NUL>] as [1], and manifest.c, counting
 * offsets with it, then lost its place and refused the file.  Here that
 * NUL is what a NUL is anywhere else: an invalid token.
 *
 * Positions are counted as jansson counts them: the line, and the column
 * in characters of the last character read (an error found after reading
 * a character reports that character).  Newlines only appear in white
 * space (jansson refuses them in strings), so the line is counted there;
 * the column is counted back from the start of the line when needed, the
 * part of a long line that left the window having been counted as it
 * left.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "jsonrd.h"
#include "util.h"

/* jansson's bound, so that both refuse the same nesting. */
#ifdef JSON_PARSER_MAX_DEPTH
#define MAX_DEPTH JSON_PARSER_MAX_DEPTH
#else
#define MAX_DEPTH 2048
#endif

/* The window: large enough that reads are few, small enough to stay in
 * the cache and to be nothing next to the store.  The window grows only
 * while the whole input is wanted (kn_jsonrd_slurp, and the white space
 * before the first token, which a YAML reader would need). */
#define WINDOW	   (256u * 1024)
#define WINDOW_MIN 64u

/* jansson quotes the token an error is in ("near '...'") when it is at
 * most 20 bytes long; a token's start stays in the window while the token
 * is shorter than TOKEN_KEEP, so that the quote can be made. */
#define CONTEXT_MAX 20
#define TOKEN_KEEP  32

/* An object's keys are compared one by one up to this many, through a
 * hash table past it. */
#define KEYS_LINEAR 8

/* Zero bytes after the window's final NUL, so that a scan may load
 * sixteen bytes at a time wherever it stands. */
#define PAD	16
#define SPACES8 0x2020202020202020ULL

/* Tokens: the structural characters stand for themselves. */
enum {
	T_ERR = -2, /* an error, already recorded */
	T_INVALID = -1,
	T_EOF = 0,
	T_STRING = 256,
	T_INTEGER,
	T_REAL,
	T_TRUE,
	T_FALSE,
	T_NULL,
};

/* The keys of the object open at one nesting depth, to refuse duplicates
 * as jansson does (JSON_REJECT_DUPLICATES), built or skipped alike. */
struct key {
	uint32_t hash;
	uint32_t len;
	size_t off; /* in bytes, NUL-terminated */
};

struct keys {
	struct key *v;
	size_t n, cap;
	char *bytes;
	size_t blen, bcap;
	uint32_t *slot; /* index + 1 into v, 0 empty; used past KEYS_LINEAR */
	size_t nslot, slotcap;
};

struct kn_jsonrd {
	/* The input: a file descriptor, or memory read as if it were one. */
	int fd;
	const char *mem;
	size_t memlen, memoff;
	bool seekable;
	off_t origin; /* the descriptor's offset at the start */
	size_t max;

	/* The window holds input bytes [base, base + len); buf[len] is a NUL
	 * that ends every scan loop. */
	char *buf;
	size_t cap, len, pos;
	uint64_t base;
	bool eof;
	bool pinned; /* keep everything from the input's start */

	/* Position: the line, the offset of its first byte, and the number
	 * of its characters before base when it started before the window. */
	int line;
	uint64_t line_start;
	int line_chars;
	bool count_lines;

	/* The last token: offset of its first byte; whether it is being
	 * read (its start is kept in the window). */
	uint64_t tok;
	bool in_tok;
	/* A string token's value, when decoded, and whether it holds a NUL. */
	char *sv;
	size_t sn, scap;
	bool snul;
	/* A number token's text and value. */
	char *nb;
	size_t nn, ncap;
	json_int_t ival;
	double rval;

	size_t depth;
	struct keys **keys; /* by depth, allocated as first needed */
	size_t nkeys;

	kn_fields_fn fields;
	int failed; /* 0, or the negative errno returned from now on */
	/* The error is bad UTF-8 just past a top-level number or word, which
	 * jansson records and then returns the value all the same (with
	 * JSON_DISABLE_EOF_CHECK): the next value meets it again. */
	bool failed_past_value;
	struct kn_jsonrd_error err;
};

/* ------------------------------------------------------------ the window */

static struct kn_jsonrd *
jsonrd_new(size_t cap, kn_fields_fn fields)
{
	struct kn_jsonrd *j = xcalloc(1, sizeof(*j));

	j->fd = -1;
	j->cap = cap;
	j->buf = xcalloc(1, cap + 1 + PAD);
	j->line = 1;
	j->count_lines = true;
	j->scap = 64;
	j->sv = xmalloc(j->scap);
	j->fields = fields;
	return j;
}

static void
window_resize(struct kn_jsonrd *j, size_t cap)
{
	j->buf = xrealloc(j->buf, cap + 1 + PAD);
	if (cap > j->cap)
		memset(j->buf + j->cap, 0, cap - j->cap + 1 + PAD);
	j->cap = cap;
}

/* Scans go eight bytes at a time where they can: loads of the bytes in
 * memory order, most significant last, and masks with the high bit of
 * every byte found set.  A mask's lowest bit is exact; bits above it
 * may not be (a borrow crosses into the next byte), and are not used. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static uint64_t
load8(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

#ifndef __SSE2__
/* Bytes of w equal to c. */
static uint64_t
bytes_eq(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);

	return (x - ONES) & ~x & HIGHS;
}
#endif

/* The index of the first byte a non-zero mask marks. */
static size_t
first_marked(uint64_t m)
{
	return (size_t)__builtin_ctzll(m) >> 3;
}

/* How far the spaces at p go, up to eight (at least one, p being one). */
static size_t
spaces_at(const unsigned char *p)
{
	uint64_t x = load8(p) ^ SPACES8;

	return x ? first_marked(x) : 8;
}

struct kn_jsonrd *
kn_jsonrd_new_fd(int fd, size_t max, kn_fields_fn fields)
{
	size_t cap = WINDOW;
	struct kn_jsonrd *j;
	struct stat st;
	off_t at = -1;

	/* Regular files can be read twice (prescan); a small one needs no
	 * more window than its size. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		at = lseek(fd, 0, SEEK_CUR);
		if ((unsigned long long)st.st_size < cap)
			cap = st.st_size < WINDOW_MIN ? WINDOW_MIN : (size_t)st.st_size + 1;
	}
	j = jsonrd_new(cap, fields);
	j->fd = fd;
	j->max = max;
	j->seekable = at >= 0;
	j->origin = at;
	return j;
}

struct kn_jsonrd *
kn_jsonrd_new_buf(const char *buf, size_t len, kn_fields_fn fields)
{
	struct kn_jsonrd *j = jsonrd_new(len < WINDOW ? len + WINDOW_MIN : WINDOW, fields);

	j->mem = buf;
	j->memlen = len;
	j->max = len;
	j->seekable = true;
	return j;
}

void
kn_jsonrd_set_window(struct kn_jsonrd *j, size_t size)
{
	if (size < WINDOW_MIN)
		size = WINDOW_MIN;
	if (size <= j->len)
		return;
	window_resize(j, size);
}

void
kn_jsonrd_free(struct kn_jsonrd *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nkeys; i++) {
		if (!j->keys[i])
			continue;
		free(j->keys[i]->v);
		free(j->keys[i]->bytes);
		free(j->keys[i]->slot);
		free(j->keys[i]);
	}
	free(j->keys);
	free(j->sv);
	free(j->nb);
	free(j->buf);
	free(j);
}

/* Characters in n bytes: those that do not continue a UTF-8 sequence. */
static int
count_chars(const char *s, size_t n)
{
	int c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Drops the first n bytes of the window, counting those of the current
 * line. */
static void
drop(struct kn_jsonrd *j, size_t n)
{
	if (j->count_lines && j->line_start < j->base + n) {
		size_t from = j->line_start > j->base ? (size_t)(j->line_start - j->base) : 0;

		if (j->line_start >= j->base)
			j->line_chars = 0;
		j->line_chars += count_chars(j->buf + from, n - from);
	}
	memmove(j->buf, j->buf + n, j->len - n);
	j->base += n;
	j->len -= n;
	j->pos -= n;
}

static ssize_t
source_read(struct kn_jsonrd *j, char *dst, size_t n)
{
	ssize_t r;

	if (!j->mem) {
		do
			r = read(j->fd, dst, n);
		while (r < 0 && errno == EINTR);
		return r < 0 ? -errno : r;
	}
	if (n > j->memlen - j->memoff)
		n = j->memlen - j->memoff;
	memcpy(dst, j->mem + j->memoff, n);
	j->memoff += n;
	return (ssize_t)n;
}

/* Makes n bytes available from pos, unless the input ends first: moves
 * what is still needed to the front of the window (from pos, or from
 * the start of a short token being read) and reads more.  Returns 0 or a
 * negative errno. */
static int
fill(struct kn_jsonrd *j, size_t n)
{
	size_t keep = j->pos;
	ssize_t r;

	if (j->pinned)
		keep = 0;
	else if (j->in_tok && j->tok >= j->base && j->pos - (j->tok - j->base) <= TOKEN_KEEP)
		keep = (size_t)(j->tok - j->base);
	if (keep)
		drop(j, keep);
	while (j->len - j->pos < n && !j->eof) {
		if (j->len == j->cap) {
			/* Only a pinned window fills up: grow it, bounded by the
			 * input's maximum. */
			window_resize(j, j->cap < j->max / 2 ? j->cap * 2 : j->max + 1);
		}
		r = source_read(j, j->buf + j->len, j->cap - j->len);
		if (r < 0)
			return (int)r;
		if (r == 0)
			j->eof = true;
		j->len += (size_t)r;
		/* One byte past the maximum proves the input too large. */
		if (j->base + j->len > j->max)
			return -EFBIG;
	}
	j->buf[j->len] = '\0';
	return 0;
}

static void
io_fail(struct kn_jsonrd *j, int r)
{
	if (!j->failed)
		j->failed = r;
}

/* Makes n bytes available at window index *i (which follows the window);
 * returns the byte at *i, -1 at the end of the input, T_ERR on error. */
static int
more(struct kn_jsonrd *j, size_t *i, size_t n)
{
	int r;

	j->pos = *i;
	r = fill(j, n);
	*i = j->pos;
	if (r < 0) {
		io_fail(j, r);
		return T_ERR;
	}
	return *i < j->len ? (unsigned char)j->buf[*i] : -1;
}

static int
byte_at(struct kn_jsonrd *j, size_t *i)
{
	if (*i < j->len)
		return (unsigned char)j->buf[*i];
	return more(j, i, 1);
}

/* Back to input offset at, for a second reading. */
static int
seek_to(struct kn_jsonrd *j, uint64_t at)
{
	if (at >= j->base && at <= j->base + j->len) {
		j->pos = (size_t)(at - j->base);
		return 0;
	}
	if (j->mem) {
		j->memoff = (size_t)at;
	} else if (lseek(j->fd, j->origin + (off_t)at, SEEK_SET) < 0) {
		io_fail(j, -errno);
		return -1;
	}
	j->base = at;
	j->len = j->pos = 0;
	j->eof = false;
	j->buf[0] = '\0';
	return 0;
}

/* ------------------------------------------------------------ errors */

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Line and column of input offset at, within the window and not before
 * the current line. */
static void
position(const struct kn_jsonrd *j, uint64_t at, int *ret_line, int *ret_col)
{
	uint64_t from = j->line_start > j->base ? j->line_start : j->base;
	int line = j->line, col = j->line_start < j->base ? j->line_chars : 0;

	/* A newline read after a backslash is read inside a string. */
	for (uint64_t o = from; o < at; o++) {
		unsigned char c = (unsigned char)j->buf[o - j->base];

		if (c == '\n') {
			line++;
			col = 0;
		} else if ((c & 0xc0) != 0x80) {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

/* Records the first error, as jansson's error_set words it: the text of
 * the token read so far (from tok to at) quoted when short, "near end of
 * file" when there is none, except after bad UTF-8.  Returns T_ERR. */
static int fail_at(struct kn_jsonrd *j, uint64_t at, bool utf8, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail_at(struct kn_jsonrd *j, uint64_t at, bool utf8, const char *fmt, ...)
{
	char msg[JSON_ERROR_TEXT_LENGTH], saved[CONTEXT_MAX + 1];
	size_t n = at > j->tok ? (size_t)(at - j->tok) : 0;
	struct kn_jsonrd_error *e = &j->err;
	va_list ap;

	if (j->failed)
		return T_ERR;
	j->failed = -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Cut at jansson's length, as jansson cuts. */
	if (n > 0 && (j->tok < j->base || j->buf[j->tok - j->base] != '\0')) {
		if (n <= CONTEXT_MAX && j->tok >= j->base) {
			memcpy(saved, j->buf + (j->tok - j->base), n);
			saved[n] = '\0';
			if (snprintf(e->text, sizeof(e->text), "%s near '%s'", msg, saved) < 0)
				e->text[0] = '\0';
		} else {
			snprintf(e->text, sizeof(e->text), "%s", msg);
		}
	} else if (utf8) {
		snprintf(e->text, sizeof(e->text), "%s", msg);
	} else if (snprintf(e->text, sizeof(e->text), "%s near end of file", msg) < 0) {
		e->text[0] = '\0';
	}
	position(j, at, &e->line, &e->column);
	return T_ERR;
}

/* An error about the last token, found once it was read. */
static int
fail_tok(struct kn_jsonrd *j, const char *msg)
{
	fail_at(j, j->base + j->pos, false, "%s", msg);
	return -1;
}

/* An error of our own at the next character (at pos), unquoted. */
static int
fail_here(struct kn_jsonrd *j, const char *msg)
{
	if (!j->failed) {
		j->failed = -EINVAL;
		snprintf(j->err.text, sizeof(j->err.text), "%s", msg);
		position(j, j->base + j->pos + 1, &j->err.line, &j->err.column);
	}
	return -1;
}

static int
fail_utf8(struct kn_jsonrd *j, size_t i)
{
	return fail_at(j, j->base + i, true, "unable to decode byte 0x%x",
		       (unsigned char)j->buf[i]);
}

const struct kn_jsonrd_error *
kn_jsonrd_error(const struct kn_jsonrd *j)
{
	return &j->err;
}

bool
kn_jsonrd_nul_differs(const char *text, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (text[i] == '\0' && (is_digit(text[i - 1]) || is_alpha(text[i - 1])))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ the lexer */

/* Where a run of plain string characters ends: at a control character
 * (the window's final NUL is one), the quote, the backslash, or a UTF-8
 * sequence (checked). */
static const unsigned char *
str_run(const unsigned char *p)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);

	for (;; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
		unsigned bits;

		/* Controls: max(v, 0x1f) == 0x1f; UTF-8: the high bit. */
		m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl));
		bits = (unsigned)_mm_movemask_epi8(m) | (unsigned)_mm_movemask_epi8(v);
		if (bits)
			return p + __builtin_ctz(bits);
	}
#else
	for (;; p += 8) {
		uint64_t w = load8(p);
		uint64_t m = ((w - ONES * 0x20) & ~w & HIGHS) | (w & HIGHS) | bytes_eq(w, '"') |
			     bytes_eq(w, '\\');

		if (m)
			return p + first_marked(m);
	}
#endif
}

static int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the UTF-8 character at s (n bytes available), 0 when
 * it is not one, as jansson's utf8_check_first and utf8_check_full
 * decide. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80   ? 1
		     : s[0] < 0xc2 ? 0
		     : s[0] < 0xe0 ? 2
		     : s[0] < 0xf0 ? 3
		     : s[0] < 0xf5 ? 4
				   : 0;
	uint32_t v;

	if (len < 2)
		return len;
	if (n < len)
		return 0;
	v = s[0] & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[k] & 0x3f);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) || (len == 3 && v < 0x800) ||
	    (len == 4 && v < 0x10000))
		return 0;
	return len;
}

/* Makes n bytes available at window index *i; returns how many are, or
 * -1 on error. */
static ssize_t
avail(struct kn_jsonrd *j, size_t *i, size_t n)
{
	if (j->len - *i < n && more(j, i, n) == T_ERR)
		return -1;
	return (ssize_t)(j->len - *i);
}

/* The length of the UTF-8 character at window index *i (a byte of 0x80
 * or more), 0 with the error recorded when it is not one, -1 on I/O
 * error. */
static ssize_t
utf8_at(struct kn_jsonrd *j, size_t *i)
{
	ssize_t n = avail(j, i, 4);
	size_t len;

	if (n < 0)
		return -1;
	len = utf8_len((const unsigned char *)j->buf + *i, (size_t)n);
	if (!len)
		fail_utf8(j, *i);
	return (ssize_t)len;
}

/* Skips white space, counting lines; returns the next byte, -1 at the
 * end of the input, T_ERR on error. */
static int
skip_ws(struct kn_jsonrd *j)
{
	size_t i = j->pos;
	int c;

	for (;;) {
		const unsigned char *p = (const unsigned char *)j->buf + i;

		for (;;) {
			c = *p;
			if (c == ' ') {
				p += spaces_at(p);
			} else if (c == '\t' || c == '\r') {
				p++;
			} else if (c == '\n') {
				p++;
				j->line++;
				j->line_start =
					j->base + (size_t)(p - (const unsigned char *)j->buf);
				j->line_chars = 0;
			} else {
				break;
			}
		}
		i = (size_t)(p - (const unsigned char *)j->buf);
		if (c != '\0' || i < j->len)
			break;
		c = more(j, &i, 1);
		if (c < 0)
			break;
	}
	j->pos = i;
	return c;
}

static void
sv_add(struct kn_jsonrd *j, const void *s, size_t n)
{
	if (j->sn + n > j->scap)
		grow_array((void **)&j->sv, &j->scap, j->sn + n, 1);
	memcpy(j->sv + j->sn, s, n);
	j->sn += n;
}

static void
sv_add_utf8(struct kn_jsonrd *j, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sv_add(j, b, n);
}

/* jansson checks surrogates once the string is read, and reports the
 * first that is not half of a pair. */
static void
surrogate_alone(char *bad, size_t size, uint32_t *hi)
{
	if (!bad[0])
		snprintf(bad, size, "invalid Unicode '\\u%04X'", (unsigned)*hi);
	*hi = 0;
}

/* One escape at window index *i (its backslash), moving *i past it;
 * *hi holds a high surrogate waiting for its low half.  Returns 0 or
 * T_ERR. */
static int
lex_escape(struct kn_jsonrd *j, size_t *i, bool decode, uint32_t *hi, char *bad, size_t size)
{
	static const char simple[] = "\"\\/bfnrt", value[] = "\"\\/\b\f\n\r\t";
	const unsigned char *s;
	ssize_t n = avail(j, i, 12);
	uint32_t v = 0;
	const char *e;
	size_t k;

	if (n < 0)
		return T_ERR;
	s = (const unsigned char *)j->buf + *i;
	if (n < 2)
		return fail_at(j, j->base + *i + (size_t)n, false, "invalid escape");
	if (s[1] != 'u') {
		e = s[1] ? strchr(simple, s[1]) : NULL;
		if (!e) {
			/* jansson reads the character, then refuses it. */
			if (s[1] >= 0x80 && !utf8_len(s + 1, (size_t)n - 1))
				return fail_utf8(j, *i + 1);
			return fail_at(j, j->base + *i + 2, false, "invalid escape");
		}
		if (*hi)
			surrogate_alone(bad, size, hi);
		if (decode)
			sv_add(j, &value[e - simple], 1);
		*i += 2;
		return 0;
	}
	for (k = 2; k < 6; k++) {
		int d;

		if (k >= (size_t)n)
			return fail_at(j, j->base + *i + (size_t)n, false, "invalid escape");
		if (s[k] >= 0x80 && !utf8_len(s + k, (size_t)n - k))
			return fail_utf8(j, *i + k);
		d = hex_value(s[k]);
		if (d < 0)
			return fail_at(j, j->base + *i + k + 1, false, "invalid escape");
		v = v << 4 | (uint32_t)d;
	}
	*i += 6;
	if (*hi) {
		if (v >= 0xdc00 && v <= 0xdfff) {
			if (decode)
				sv_add_utf8(j, 0x10000 + ((*hi - 0xd800) << 10) + (v - 0xdc00));
		} else if (!bad[0]) {
			snprintf(bad, size, "invalid Unicode '\\u%04X\\u%04X'", (unsigned)*hi,
				 (unsigned)v);
		}
		*hi = 0;
	} else if (v >= 0xd800 && v <= 0xdbff) {
		*hi = v;
	} else if (v >= 0xdc00 && v <= 0xdfff) {
		surrogate_alone(bad, size, &v);
	} else {
		j->snul |= v == 0;
		if (decode)
			sv_add_utf8(j, v);
	}
	return 0;
}

/* A string at pos (its opening quote).  decode: its value into sv. */
static int
lex_string(struct kn_jsonrd *j, bool decode)
{
	size_t i = j->pos + 1;
	char bad[64] = "";
	uint32_t hi = 0;
	ssize_t n;
	int c;

	j->in_tok = true;
	j->sn = 0;
	j->snul = false;
	for (;;) {
		const unsigned char *p = (const unsigned char *)j->buf + i, *q = str_run(p);

		if (q > p) {
			if (hi)
				surrogate_alone(bad, sizeof(bad), &hi);
			if (decode)
				sv_add(j, p, (size_t)(q - p));
			i += (size_t)(q - p);
		}
		c = *q;
		if (c == '"')
			break;
		if (c == '\\') {
			if (lex_escape(j, &i, decode, &hi, bad, sizeof(bad)) < 0)
				return T_ERR;
			continue;
		}
		if (c == '\0' && i == j->len) {
			c = more(j, &i, 1);
			if (c == T_ERR)
				return T_ERR;
			if (c < 0)
				return fail_at(j, j->base + i, false, "premature end of input");
			continue;
		}
		if (c < 0x20) {
			if (c == '\n')
				return fail_at(j, j->base + i, false, "unexpected newline");
			return fail_at(j, j->base + i, false, "control character 0x%x", c);
		}
		n = utf8_at(j, &i);
		if (n <= 0)
			return T_ERR;
		if (hi)
			surrogate_alone(bad, sizeof(bad), &hi);
		if (decode)
			sv_add(j, j->buf + i, (size_t)n);
		i += (size_t)n;
	}
	i++;
	j->pos = i;
	if (hi)
		surrogate_alone(bad, sizeof(bad), &hi);
	if (bad[0])
		return fail_at(j, j->base + i, false, "%s", bad);
	j->in_tok = false;
	return T_STRING;
}

static void
nb_add(struct kn_jsonrd *j, int c)
{
	if (j->nn + 2 > j->ncap)
		grow_array((void **)&j->nb, &j->ncap, j->nn + 2, 1);
	j->nb[j->nn++] = (char)c;
	j->nb[j->nn] = '\0';
}

/* The next byte of a number or a word at *i: -1 at the end, T_ERR on
 * error (bad UTF-8 is found as jansson reads the character). */
static int
look(struct kn_jsonrd *j, size_t *i)
{
	int c = byte_at(j, i);
	ssize_t n;

	if (c < 0x80)
		return c;
	n = avail(j, i, 4);
	if (n < 0)
		return T_ERR;
	if (!utf8_len((const unsigned char *)j->buf + *i, (size_t)n)) {
		fail_utf8(j, *i);
		if (j->depth > 0)
			return T_ERR;
		/* A byte that ends the token all the same. */
		j->failed_past_value = true;
	}
	return c;
}

/* Adds c to a number's text and reads the byte after it. */
static int
take(struct kn_jsonrd *j, size_t *i, int c)
{
	nb_add(j, c);
	(*i)++;
	return look(j, i);
}

/* The digits from c, a digit, on; returns the byte after them. */
static int
take_digits(struct kn_jsonrd *j, size_t *i, int c)
{
	do
		c = take(j, i, c);
	while (is_digit(c));
	return c;
}

/* A number at pos, by jansson's grammar: a leading zero stands alone,
 * a fraction and an exponent need digits; integers overflow as strtoll
 * does, reals as strtod does (an underflow is 0 or a subnormal). */
static int
lex_number(struct kn_jsonrd *j)
{
	size_t i = j->pos, digits = 0;
	uint64_t v = 0;
	bool neg = false;
	int c = (unsigned char)j->buf[i];

	j->in_tok = true;
	j->nn = 0;
	if (c == '-') {
		neg = true;
		c = take(j, &i, c);
	}
	if (c == '0') {
		digits = 1;
		c = take(j, &i, c);
		if (is_digit(c))
			goto invalid;
	} else if (is_digit(c)) {
		do {
			v = v * 10 + (uint64_t)(c - '0');
			digits++;
			c = take(j, &i, c);
		} while (is_digit(c));
	} else {
		goto invalid;
	}
	if (c == T_ERR)
		return T_ERR;
	if (c != '.' && c != 'e' && c != 'E') {
		j->pos = i;
		if (digits <= 18) {
			j->ival = neg ? -(json_int_t)v : (json_int_t)v;
		} else {
			errno = 0;
			j->ival = strtoll(j->nb, NULL, 10);
			if (errno == ERANGE)
				return fail_at(j, j->base + i, false, "%s",
					       neg ? "too big negative integer"
						   : "too big integer");
		}
		j->in_tok = false;
		return T_INTEGER;
	}
	if (c == '.') {
		c = take(j, &i, c);
		if (!is_digit(c))
			goto invalid;
		c = take_digits(j, &i, c);
	}
	if (c == 'e' || c == 'E') {
		c = take(j, &i, c);
		if (c == '+' || c == '-')
			c = take(j, &i, c);
		if (!is_digit(c))
			goto invalid;
		c = take_digits(j, &i, c);
	}
	if (c == T_ERR)
		return T_ERR;
	j->pos = i;
	/* No program of the project calls setlocale(): strtod reads '.'. */
	errno = 0;
	j->rval = strtod(j->nb, NULL);
	if (errno == ERANGE && (j->rval == HUGE_VAL || j->rval == -HUGE_VAL))
		return fail_at(j, j->base + i, false, "real number overflow");
	j->in_tok = false;
	return T_REAL;
invalid:
	if (c == T_ERR)
		return T_ERR;
	j->pos = i;
	j->in_tok = false;
	return T_INVALID;
}

/* true, false, null, or an invalid word, read whole for the message. */
static int
lex_word(struct kn_jsonrd *j)
{
	size_t i = j->pos, n;
	const char *w;
	int c;

	j->in_tok = true;
	do {
		i++;
		if ((c = look(j, &i)) == T_ERR)
			return T_ERR;
	} while (is_alpha(c));
	j->pos = i;
	j->in_tok = false;
	/* A longer word may have left the window: it is no keyword. */
	n = (size_t)(j->base + i - j->tok);
	if (n > 5)
		return T_INVALID;
	w = j->buf + (j->tok - j->base);
	if (n == 4 && memcmp(w, "true", 4) == 0)
		return T_TRUE;
	if (n == 5 && memcmp(w, "false", 5) == 0)
		return T_FALSE;
	if (n == 4 && memcmp(w, "null", 4) == 0)
		return T_NULL;
	return T_INVALID;
}

/* The next token.  decode: a string's value into sv (else it is only
 * checked). */
static int
lex(struct kn_jsonrd *j, bool decode)
{
	int c = (unsigned char)j->buf[j->pos];
	ssize_t n;

	/* kubectl writes half its tokens right after the one before. */
	if (c <= ' ')
		c = skip_ws(j);

	j->in_tok = false;
	j->tok = j->base + j->pos;
	if (c < 0)
		return c == T_ERR ? T_ERR : T_EOF;
	switch (c) {
	case '{':
	case '}':
	case '[':
	case ']':
	case ':':
	case ',':
		j->pos++;
		return c;
	case '"':
		return lex_string(j, decode);
	default:
		break;
	}
	if (c == '-' || is_digit(c))
		return lex_number(j);
	if (is_alpha(c))
		return lex_word(j);
	if (c >= 0x80) {
		/* Invalid, after the whole character (jansson quotes it). */
		n = utf8_at(j, &j->pos);
		if (n <= 0)
			return T_ERR;
		j->pos += (size_t)n;
		return T_INVALID;
	}
	j->pos++;
	return T_INVALID;
}

/* The next byte after white space, not taken. */
static int
peek(struct kn_jsonrd *j)
{
	return skip_ws(j);
}

/* ------------------------------------------------------------ keys */

static uint32_t
key_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct keys *
keys_open(struct kn_jsonrd *j)
{
	struct keys *ks;

	if (j->depth >= j->nkeys) {
		size_t n = j->nkeys;

		grow_array((void **)&j->keys, &j->nkeys, j->depth + 1, sizeof(*j->keys));
		memset(j->keys + n, 0, (j->nkeys - n) * sizeof(*j->keys));
	}
	if (!j->keys[j->depth])
		j->keys[j->depth] = xcalloc(1, sizeof(struct keys));
	ks = j->keys[j->depth];
	ks->n = 0;
	ks->blen = 0;
	ks->nslot = 0;
	return ks;
}

static bool
key_eq(const struct keys *ks, const struct key *k, const char *s, size_t n)
{
	return k->len == n && memcmp(ks->bytes + k->off, s, n) == 0;
}

static void
slot_put(struct keys *ks, size_t idx)
{
	size_t mask = ks->nslot - 1, s = ks->v[idx].hash & mask;

	while (ks->slot[s])
		s = (s + 1) & mask;
	ks->slot[s] = (uint32_t)idx + 1;
}

static void
slots_build(struct keys *ks, size_t nslot)
{
	if (nslot > ks->slotcap) {
		free(ks->slot);
		ks->slot = xcalloc(nslot, sizeof(*ks->slot));
		ks->slotcap = nslot;
	} else {
		memset(ks->slot, 0, nslot * sizeof(*ks->slot));
	}
	ks->nslot = nslot;
	for (size_t i = 0; i < ks->n; i++) {
		ks->v[i].hash = key_hash(ks->bytes + ks->v[i].off, ks->v[i].len);
		slot_put(ks, i);
	}
}

/* Adds the key in sv; returns its NUL-terminated copy, or NULL when the
 * object already has it. */
static const char *
keys_add(struct kn_jsonrd *j, struct keys *ks)
{
	uint32_t h = 0;
	struct key *k;

	/* Most objects have a few keys: hashed only past KEYS_LINEAR. */
	if (ks->nslot) {
		size_t mask = ks->nslot - 1;

		h = key_hash(j->sv, j->sn);
		for (size_t s = h & mask; ks->slot[s]; s = (s + 1) & mask) {
			const struct key *o = &ks->v[ks->slot[s] - 1];

			if (o->hash == h && key_eq(ks, o, j->sv, j->sn))
				return NULL;
		}
	} else {
		for (size_t i = 0; i < ks->n; i++) {
			if (key_eq(ks, &ks->v[i], j->sv, j->sn))
				return NULL;
		}
	}
	if (ks->blen + j->sn + 1 > ks->bcap)
		grow_array((void **)&ks->bytes, &ks->bcap, ks->blen + j->sn + 1, 1);
	k = VEC_PUSH(ks->v, ks->n, ks->cap);
	k->hash = h;
	k->len = (uint32_t)j->sn;
	k->off = ks->blen;
	memcpy(ks->bytes + ks->blen, j->sv, j->sn);
	ks->bytes[ks->blen + j->sn] = '\0';
	ks->blen += j->sn + 1;
	if (ks->n == KEYS_LINEAR + 1 || (ks->nslot && ks->n * 2 > ks->nslot))
		slots_build(ks, ks->nslot ? ks->nslot * 2 : 4 * KEYS_LINEAR);
	else if (ks->nslot)
		slot_put(ks, ks->n - 1);
	return ks->bytes + k->off;
}

/* ------------------------------------------------------------ kinds */

/* Objects here choose their members by their own kind; before the kind
 * is known, every member is built (the items of a List by their kinds). */
static const struct kn_fields by_kind;
static const struct kn_fields kind_unknown;

static const struct kn_field list_v[] = {
	{"kind", NULL},
	{"apiVersion", NULL},
	{"items", &by_kind},
};
static const struct kn_fields list_fields = {list_v, ARRAY_SIZE(list_v)};

/* A List, as manifest.c expands it: a kind ending in "List". */
static bool
list_kind(const char *kind)
{
	size_t n = strlen(kind);

	return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

static const struct kn_fields *
kind_fields(const struct kn_jsonrd *j, const char *kind)
{
	if (!kind)
		return &kind_unknown;
	if (list_kind(kind))
		return &list_fields;
	return j->fields(kind);
}

/* Whether to build member key of an object read with f, and with what. */
static bool
member(const struct kn_fields *f, const char *key, const struct kn_fields **ret)
{
	*ret = NULL;
	if (!f)
		return true;
	if (f == &kind_unknown) {
		if (strcmp(key, "items") == 0)
			*ret = &by_kind;
		return true;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].name, key) == 0) {
			*ret = f->v[i].fields;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ the parser */

/* The top-level object of a document, whose List items may be handed out
 * as they are read. */
struct doc {
	kn_jsonrd_item_cb item;
	void *ctx;
	bool streamed;
};

static int parse_value(struct kn_jsonrd *j, int t, const struct kn_fields *f, json_t **ret,
		       struct doc *doc);

static int
oom(struct kn_jsonrd *j)
{
	io_fail(j, -ENOMEM);
	return -1;
}

/* Before kind: looks ahead for it through the rest of the object, when
 * the input can be read again (kubectl writes items before kind).  The
 * look is loose, as it only has to agree with the parser on well-formed
 * text: on anything else the parser, reading it again, finds the error.
 * Returns true for a List. */
static bool prescan(struct kn_jsonrd *j);

static int
stream_items(struct kn_jsonrd *j, struct doc *doc)
{
	const struct kn_fields *f = j->fields ? &by_kind : NULL;
	size_t index = 0;
	json_t *item;
	int t, c, r;

	(void)lex(j, false); /* the '[' peeked at */
	if (++j->depth > MAX_DEPTH)
		return fail_tok(j, "maximum parsing depth reached");
	t = lex(j, true);
	if (t == ']')
		goto out;
	while (t != T_EOF) {
		index++;
		r = parse_value(j, t, f, &item, NULL);
		if (r)
			return r;
		r = doc->item(doc->ctx, item, index);
		json_decref(item);
		if (r)
			return 1;
		c = peek(j);
		if (c == T_ERR)
			return -1;
		if (c >= 0 && c != ',' && c != ']') {
			/* Said so since streaming Lists began; jansson would say
			 * "']' expected near" the token. */
			return fail_here(j, "expected ',' or ']' after an item");
		}
		t = lex(j, false);
		if (t != ',')
			break;
		t = lex(j, true);
	}
	if (t != ']')
		return t == T_ERR ? -1 : fail_tok(j, "']' expected");
out:
	j->depth--;
	return 0;
}

/* Returns 0, -1 on error, 1 when an item callback stopped. */
static int
parse_object(struct kn_jsonrd *j, const struct kn_fields *f, json_t **ret, struct doc *doc)
{
	bool kinded = f == &by_kind, kind_seen = false, is_list = false;
	const struct kn_fields *cur = kinded ? kind_fields(j, NULL) : f, *sub = NULL;
	struct keys *ks = keys_open(j);
	json_t *obj = NULL, *v;
	const char *key;
	bool keep;
	int t, r = -1;

	if (ret && !(obj = json_object()))
		return oom(j);
	t = lex(j, true);
	if (t == '}')
		goto done;
	for (;;) {
		if (t != T_STRING) {
			if (t != T_ERR)
				fail_tok(j, "string or '}' expected");
			goto out;
		}
		if (j->snul) {
			fail_tok(j, "NUL byte in object key not supported");
			goto out;
		}
		if (!(key = keys_add(j, ks))) {
			fail_tok(j, "duplicate object key");
			goto out;
		}
		t = lex(j, false);
		if (t != ':') {
			if (t != T_ERR)
				fail_tok(j, "':' expected");
			goto out;
		}
		if (doc && !doc->streamed && strcmp(key, "items") == 0 && peek(j) == '[' &&
		    (kind_seen ? is_list : prescan(j))) {
			r = stream_items(j, doc);
			if (r)
				goto out;
			doc->streamed = true;
			r = -1;
			goto next;
		}
		keep = obj && (member(cur, key, &sub) || (kinded && strcmp(key, "kind") == 0));
		t = lex(j, keep);
		if (parse_value(j, t, sub, keep ? &v : NULL, NULL) < 0)
			goto out;
		if (keep && json_object_set_new_nocheck(obj, key, v) < 0) {
			oom(j);
			goto out;
		}
		if (keep && (kinded || doc) && strcmp(key, "kind") == 0) {
			const char *kind = json_string_value(v);

			kind_seen = true;
			is_list = kind && list_kind(kind);
			if (kinded)
				cur = kind_fields(j, kind ? kind : "");
		}
	next:
		t = lex(j, false);
		if (t != ',')
			break;
		t = lex(j, true);
	}
	if (t != '}') {
		if (t != T_ERR)
			fail_tok(j, "'}' expected");
		goto out;
	}
done:
	if (doc && doc->streamed && !is_list) {
		/* The look ahead saw a List here; the file changed since. */
		fail_tok(j, "changed while being read");
		goto out;
	}
	r = 0;
out:
	if (r == 0 && ret)
		*ret = obj;
	else
		json_decref(obj);
	return r;
}

static int
parse_array(struct kn_jsonrd *j, const struct kn_fields *f, json_t **ret)
{
	json_t *arr = NULL, *v;
	int t;

	if (ret && !(arr = json_array()))
		return oom(j);
	t = lex(j, ret != NULL);
	if (t == ']')
		goto done;
	while (t != T_EOF) {
		if (parse_value(j, t, f, ret ? &v : NULL, NULL) < 0)
			goto fail;
		if (ret && json_array_append_new(arr, v) < 0) {
			oom(j);
			goto fail;
		}
		t = lex(j, false);
		if (t != ',')
			break;
		t = lex(j, ret != NULL);
	}
	if (t != ']') {
		if (t != T_ERR)
			fail_tok(j, "']' expected");
		goto fail;
	}
done:
	if (ret)
		*ret = arr;
	return 0;
fail:
	json_decref(arr);
	return -1;
}

/* The value whose first token t was just read, built into *ret (NULL:
 * checked only) with the members f asks for.  Returns 0, -1 on error, 1
 * when an item callback stopped. */
static int
parse_value(struct kn_jsonrd *j, int t, const struct kn_fields *f, json_t **ret, struct doc *doc)
{
	json_t *v = NULL;
	int r = 0;

	if (++j->depth > MAX_DEPTH)
		return fail_tok(j, "maximum parsing depth reached");
	switch (t) {
	case T_STRING:
		if (j->snul)
			return fail_tok(j, "\\u0000 is not allowed without JSON_ALLOW_NUL");
		if (ret)
			v = json_stringn_nocheck(j->sv, j->sn);
		break;
	case T_INTEGER:
		if (ret)
			v = json_integer(j->ival);
		break;
	case T_REAL:
		if (ret)
			v = json_real(j->rval);
		break;
	case T_TRUE:
		v = json_true();
		break;
	case T_FALSE:
		v = json_false();
		break;
	case T_NULL:
		v = json_null();
		break;
	case '{':
		r = parse_object(j, f, ret ? &v : NULL, doc);
		break;
	case '[':
		r = parse_array(j, f, ret ? &v : NULL);
		break;
	case T_ERR:
		return -1;
	case T_INVALID:
		return fail_tok(j, "invalid token");
	default:
		return fail_tok(j, "unexpected token");
	}
	if (r)
		return r;
	if (ret && !v)
		return oom(j);
	j->depth--;
	if (ret)
		*ret = v;
	return 0;
}

/* ------------------------------------------------------------ look ahead */

/* Where the loose scan stops in a string: a quote, a backslash, or a NUL
 * (the window's final one). */
static const unsigned char *
scan_in(const unsigned char *p)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i zero = _mm_setzero_si128();

	for (;; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
		unsigned bits =
			(unsigned)_mm_movemask_epi8(_mm_or_si128(m, _mm_cmpeq_epi8(v, zero)));

		if (bits)
			return p + __builtin_ctz(bits);
	}
#else
	for (;; p += 8) {
		uint64_t w = load8(p);
		uint64_t m = bytes_eq(w, '"') | bytes_eq(w, '\\') | bytes_eq(w, 0);

		if (m)
			return p + first_marked(m);
	}
#endif
}

/* Where it stops outside strings: a quote, a bracket, a comma, or a NUL. */
static const unsigned char *
scan_out(const unsigned char *p)
{
#ifdef __SSE2__
	/* '[' and ']' are '{' and '}' but for bit 0x20. */
	const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
	const __m128i quote = _mm_set1_epi8('"'), comma = _mm_set1_epi8(',');
	const __m128i b20 = _mm_set1_epi8(0x20), zero = _mm_setzero_si128();

	for (;; p += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)p), l = _mm_or_si128(v, b20);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(l, open), _mm_cmpeq_epi8(l, close));
		unsigned bits;

		m = _mm_or_si128(m,
				 _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, comma)));
		bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(m, _mm_cmpeq_epi8(v, zero)));
		if (bits)
			return p + __builtin_ctz(bits);
	}
#else
	static const unsigned char stop[256] = {
		[0] = 1, ['"'] = 1, [','] = 1, ['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1,
	};

	for (;;) {
		int c = *p;

		if (stop[c])
			return p;
		p += c == ' ' ? spaces_at(p) : 1;
	}
#endif
}

/* Past the string at window index *i; false at the end of the input. */
static bool
scan_string(struct kn_jsonrd *j, size_t *i)
{
	int c;

	for ((*i)++;;) {
		const unsigned char *p = (const unsigned char *)j->buf + *i;

		p = scan_in(p);
		*i = (size_t)(p - (const unsigned char *)j->buf);
		c = *p;
		if (c == '"') {
			(*i)++;
			return true;
		}
		if (c == '\\') {
			(*i)++;
			if (byte_at(j, i) < 0)
				return false;
			(*i)++;
		} else if (*i < j->len) {
			(*i)++;
		} else if (more(j, i, 1) < 0) {
			return false;
		}
	}
}

/* A member of the object at depth 1, its key at window index *i: 1 and
 * *ret_list when it is kind, 0 for another member, -1 when the text is
 * not as expected. */
static int
scan_member(struct kn_jsonrd *j, size_t *i, bool *ret_list)
{
	bool kind;

	j->pos = *i;
	j->tok = j->base + *i;
	if (lex_string(j, true) != T_STRING)
		return -1;
	kind = !j->snul && j->sn == 4 && memcmp(j->sv, "kind", 4) == 0;
	if (kind) {
		if (skip_ws(j) != ':')
			return -1;
		j->pos++;
		if (skip_ws(j) == '"') {
			j->tok = j->base + j->pos;
			if (lex_string(j, true) != T_STRING)
				return -1;
			sv_add(j, "", 1);
			*ret_list = !j->snul && list_kind(j->sv);
		} else {
			*ret_list = false;
		}
	}
	*i = j->pos;
	return kind;
}

static bool
prescan(struct kn_jsonrd *j)
{
	uint64_t at = j->base + j->pos, tok = j->tok, line_start = j->line_start;
	int line = j->line, line_chars, depth = 1, c, r;
	bool key = false, list = false;
	size_t i = j->pos;

	if (!j->seekable)
		return false;
	/* The characters of the line before at, which the window may have
	 * left when back there. */
	position(j, at, &line, &line_chars);
	line = j->line;
	j->count_lines = false;
	for (;;) {
		const unsigned char *p = scan_out((const unsigned char *)j->buf + i);

		i = (size_t)(p - (const unsigned char *)j->buf);
		c = *p;
		if (c == '\0') {
			if (i < j->len)
				i++;
			else if (more(j, &i, 1) < 0)
				break;
			continue;
		}
		if (c == '"') {
			if (depth == 1 && key) {
				key = false;
				r = scan_member(j, &i, &list);
				if (r != 0)
					break;
			} else if (!scan_string(j, &i)) {
				break;
			}
			continue;
		}
		i++;
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0)
				break;
		} else {
			key = depth == 1;
		}
	}
	/* Back to where the parser was, as if nothing was read. */
	j->failed = 0;
	j->in_tok = false;
	j->count_lines = true;
	j->line = line;
	j->line_start = line_start;
	j->tok = tok;
	if (seek_to(j, at) < 0)
		return false;
	j->line_chars = line_start < j->base ? line_chars - count_chars(j->buf, j->pos) : 0;
	return list;
}

/* ------------------------------------------------------------ the API */

int
kn_jsonrd_start(struct kn_jsonrd *j, int *ret_byte)
{
	int c, r;

	j->pinned = true;
	r = fill(j, 3);
	if (r < 0)
		return r;
	/* A UTF-8 byte order mark: libyaml skips it, jansson does not. */
	if (j->len >= 3 && memcmp(j->buf, "\xef\xbb\xbf", 3) == 0)
		j->pos = 3;
	c = skip_ws(j);
	j->pinned = false;
	if (c == T_ERR)
		return j->failed;
	*ret_byte = c;
	return 0;
}

int
kn_jsonrd_slurp(struct kn_jsonrd *j, const char **ret_buf, size_t *ret_len)
{
	int r = 0;

	if (j->base != 0)
		return -EINVAL;
	j->pinned = true;
	while (!j->eof && r == 0) {
		j->pos = j->len;
		r = fill(j, 1);
	}
	j->pinned = false;
	if (r < 0)
		return r;
	*ret_buf = j->buf;
	*ret_len = j->len;
	return 0;
}

int
kn_jsonrd_next(struct kn_jsonrd *j, kn_jsonrd_item_cb item, void *ctx, json_t **ret)
{
	struct doc doc = {item, ctx, false};
	json_t *v = NULL;
	int t, r;

	*ret = NULL;
	if (j->failed)
		return j->failed;
	j->depth = 0;
	t = lex(j, true);
	if (t == T_EOF)
		return 0;
	r = parse_value(j, t, j->fields ? &by_kind : NULL, &v, item ? &doc : NULL);
	if (r > 0)
		return KN_JSONRD_STOPPED;
	if (r < 0)
		return j->failed;
	if (j->failed_past_value) {
		j->failed = 0;
		j->failed_past_value = false;
	}
	if (doc.streamed) {
		json_decref(v);
		v = NULL;
	}
	*ret = v;
	return 1;
}
