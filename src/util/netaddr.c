/* IP addresses, CIDR blocks and sorted interval lists.
 *
 * Parsing follows what the API server accepts for pod IPs and ipBlocks:
 * netutils.ParseIPSloppy / ParseCIDRSloppy (leading zeros in IPv4 parts
 * are decimal, no zones, IPv4-mapped IPv6 taken as IPv4).  Formatting is
 * RFC 5952, which is also what Go and kubectl print, so that names and
 * comments in the ruleset read like the manifests.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "util.h"

/* The longest IPv6 literal is 45 characters
 * ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"); anything longer is
 * not an address and is rejected before it is copied. */
#define ADDR_STR_MAX 46

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The API server reads addresses with netutils.ParseIPSloppy (and CIDRs
 * with ParseCIDRSloppy) for these legacy fields: a leading zero in an
 * IPv4 part is decimal ("010.001.002.003" is 10.1.2.3), not octal as
 * inet_aton would have it, and not an error as Go's net.ParseIP since
 * 1.17 makes it.  Rewrite such parts without their zeros before
 * inet_pton, which rejects them (and still checks every value). */
static bool
strip_dotted_zeros(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = s; *p;) {
		if (*p >= '0' && *p <= '9') {
			const char *start = p;

			while (*p >= '0' && *p <= '9')
				p++;
			while (p - start > 1 && *start == '0')
				start++;
			if (o + (size_t)(p - start) >= outlen)
				return false;
			memcpy(out + o, start, (size_t)(p - start));
			o += (size_t)(p - start);
			continue;
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return true;
}

/* Parses an address; *mapped tells whether it was written as IPv4-mapped
 * IPv6, which kn_cidr_parse needs to shift the prefix length. */
static int
addr_parse(const char *s, struct kn_addr *ret, bool *mapped)
{
	char norm[ADDR_STR_MAX];
	struct kn_addr a;
	const char *colon;

	if (!s || !*s || strlen(s) >= ADDR_STR_MAX)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	*mapped = false;
	colon = strrchr(s, ':');
	if (!colon) {
		if (!strip_dotted_zeros(s, norm, sizeof(norm)) ||
		    inet_pton(AF_INET, norm, a.bytes) != 1)
			return -EINVAL;
		a.family = AF_INET;
		*ret = a;
		return 0;
	}
	/* An embedded IPv4 tail obeys the same rule as plain IPv4. */
	if (strchr(colon, '.')) {
		size_t head = (size_t)(colon + 1 - s);

		memcpy(norm, s, head);
		if (!strip_dotted_zeros(colon + 1, norm + head, sizeof(norm) - head))
			return -EINVAL;
	} else {
		strcpy(norm, s);
	}
	/* inet_pton rejects zones ("fe80::1%eth0") as Go's ParseIP does. */
	if (inet_pton(AF_INET6, norm, a.bytes) != 1)
		return -EINVAL;
	a.family = AF_INET6;
	if (memcmp(a.bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		/* Go returns a 4-byte address for ::ffff:a.b.c.d (in any
		 * spelling), and the kernel sees such traffic as IPv4. */
		memmove(a.bytes, a.bytes + 12, 4);
		memset(a.bytes + 4, 0, 12);
		a.family = AF_INET;
		*mapped = true;
	}
	*ret = a;
	return 0;
}

int
kn_addr_parse(const char *s, struct kn_addr *ret)
{
	bool mapped;

	return addr_parse(s, ret, &mapped);
}

static void
fmt6(const uint8_t *b, char *buf, size_t len)
{
	char tmp[ADDR_STR_MAX];
	uint16_t w[8];
	int best = -1, bestlen = 0, cur = -1, curlen = 0;
	size_t off = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
		if (w[i] != 0) {
			cur = -1;
			continue;
		}
		if (cur < 0) {
			cur = i;
			curlen = 0;
		}
		curlen++;
		/* RFC 5952 4.2.3: the first of equally long runs. */
		if (curlen > bestlen) {
			best = cur;
			bestlen = curlen;
		}
	}
	/* RFC 5952 4.2.2: a single zero group is not shortened. */
	if (bestlen < 2) {
		best = -1;
		bestlen = 0;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "::");
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && i != best + bestlen)
			tmp[off++] = ':';
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%x", w[i]);
	}
	tmp[off] = '\0';
	snprintf(buf, len, "%s", tmp);
}

const char *
kn_addr_fmt(const struct kn_addr *a, char *buf, size_t len)
{
	if (!buf || len == 0)
		return buf;
	if (a->family == AF_INET)
		snprintf(buf, len, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2],
			 a->bytes[3]);
	else if (a->family == AF_INET6)
		fmt6(a->bytes, buf, len);
	else
		snprintf(buf, len, "?");
	return buf;
}

int
kn_addr_cmp(const struct kn_addr *a, const struct kn_addr *b)
{
	int c;

	/* IPv4 (AF_INET) sorts before IPv6 (AF_INET6). */
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->bytes, b->bytes, (size_t)kn_addr_len(a->family));
	return (c > 0) - (c < 0);
}

/* Same family assumed; compares only the address's own bytes. */
static int
acmp(const struct kn_addr *a, const struct kn_addr *b)
{
	return memcmp(a->bytes, b->bytes, (size_t)kn_addr_len(a->family));
}

/* Sets the host bits (after plen) to zero or to one. */
static void
set_host_bits(struct kn_addr *a, unsigned plen, bool ones)
{
	unsigned len = (unsigned)kn_addr_len(a->family);

	for (unsigned i = 0; i < len; i++) {
		unsigned bit = i * 8;
		uint8_t host;

		if (bit + 8 <= plen)
			continue;
		host = bit >= plen ? 0xff : (uint8_t)(0xff >> (plen - bit));
		if (ones)
			a->bytes[i] |= host;
		else
			a->bytes[i] &= (uint8_t)~host;
	}
}

int
kn_cidr_parse(const char *s, struct kn_cidr *ret)
{
	char abuf[ADDR_STR_MAX];
	struct kn_cidr c;
	const char *slash, *p;
	unsigned long plen = 0;
	size_t alen;
	bool mapped;
	int r;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash)
		return -EINVAL;
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(abuf))
		return -EINVAL;
	memcpy(abuf, s, alen);
	abuf[alen] = '\0';
	memset(&c, 0, sizeof(c));
	r = addr_parse(abuf, &c.addr, &mapped);
	if (r < 0)
		return r;
	/* Digits only, as Go's ParseCIDR; it does accept leading zeros in
	 * the length ("/08"), which are not ambiguous there.  The bound
	 * keeps the accumulator from overflowing on absurd input. */
	p = slash + 1;
	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		plen = plen * 10 + (unsigned long)(*p - '0');
		if (plen > 1000)
			return -EINVAL;
	}
	if (mapped) {
		/* "::ffff:10.0.0.0/104" is 10.0.0.0/8 to Go's Contains; a
		 * shorter prefix would reach outside the mapped space and
		 * has no IPv4 meaning. */
		if (plen < 96 || plen > 128)
			return -EINVAL;
		plen -= 96;
	}
	if (plen > (unsigned long)kn_addr_len(c.addr.family) * 8)
		return -EINVAL;
	c.plen = (uint8_t)plen;
	set_host_bits(&c.addr, c.plen, false);
	*ret = c;
	return 0;
}

/* True when the first plen bits of a and b are equal. */
static bool
prefix_equal(const struct kn_addr *a, const struct kn_addr *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a->bytes, b->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->bytes[full] ^ b->bytes[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
kn_cidr_contains(const struct kn_cidr *outer, const struct kn_addr *a)
{
	if (outer->addr.family != a->family)
		return false;
	return prefix_equal(&outer->addr, a, outer->plen);
}

bool
kn_cidr_strictly_within(const struct kn_cidr *outer, const struct kn_cidr *inner)
{
	if (outer->addr.family != inner->addr.family || inner->plen <= outer->plen)
		return false;
	return prefix_equal(&outer->addr, &inner->addr, outer->plen);
}

void
kn_cidr_range(const struct kn_cidr *c, struct kn_addr *first, struct kn_addr *last)
{
	*first = c->addr;
	set_host_bits(first, c->plen, false);
	*last = c->addr;
	set_host_bits(last, c->plen, true);
}

/* a + 1; false (and a unchanged) when a is the top address. */
static bool
addr_inc(struct kn_addr *a)
{
	struct kn_addr t = *a;

	for (int i = kn_addr_len(t.family) - 1; i >= 0; i--) {
		if (++t.bytes[i] != 0) {
			*a = t;
			return true;
		}
	}
	return false;
}

/* a - 1; false (and a unchanged) when a is zero. */
static bool
addr_dec(struct kn_addr *a)
{
	struct kn_addr t = *a;

	for (int i = kn_addr_len(t.family) - 1; i >= 0; i--) {
		if (t.bytes[i]-- != 0) {
			*a = t;
			return true;
		}
	}
	return false;
}

void
kn_rangeset_init(struct kn_rangeset *rs, int family)
{
	memset(rs, 0, sizeof(*rs));
	rs->family = family;
}

void
kn_rangeset_free(struct kn_rangeset *rs)
{
	if (!rs)
		return;
	free(rs->v);
	rs->v = NULL;
	rs->n = rs->cap = 0;
}

/* Index of the first range whose last address is >= a. */
static size_t
lower_bound_last(const struct kn_rangeset *rs, const struct kn_addr *a)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (acmp(&rs->v[mid].last, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first range whose first address is > a. */
static size_t
upper_bound_first(const struct kn_rangeset *rs, const struct kn_addr *a)
{
	size_t lo = 0, hi = rs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (acmp(&rs->v[mid].first, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Replaces v[i..j) by the nrepl ranges of repl. */
static void
splice(struct kn_rangeset *rs, size_t i, size_t j, const struct kn_range *repl, size_t nrepl)
{
	size_t tail = rs->n - j;

	grow_array((void **)&rs->v, &rs->cap, rs->n - (j - i) + nrepl, sizeof(*rs->v));
	memmove(&rs->v[i + nrepl], &rs->v[j], tail * sizeof(*rs->v));
	if (nrepl)
		memcpy(&rs->v[i], repl, nrepl * sizeof(*repl));
	rs->n = i + nrepl + tail;
}

static bool
range_ok(const struct kn_rangeset *rs, const struct kn_addr *first, const struct kn_addr *last)
{
	/* A range of the wrong family or reversed is a caller bug; these
	 * functions cannot fail, so it changes nothing. */
	return first->family == rs->family && last->family == rs->family && acmp(first, last) <= 0;
}

void
kn_rangeset_add(struct kn_rangeset *rs, const struct kn_addr *first, const struct kn_addr *last)
{
	struct kn_range r;
	struct kn_addr before = *first, after = *last;
	size_t i, j;

	if (!range_ok(rs, first, last))
		return;
	/* Ranges that end at first-1 or later, and start at last+1 or
	 * earlier, overlap or touch the new one and merge with it.  At 0
	 * and at the top address there is no neighbour to touch. */
	i = addr_dec(&before) ? lower_bound_last(rs, &before) : 0;
	j = addr_inc(&after) ? upper_bound_first(rs, &after) : rs->n;
	r.first = *first;
	r.last = *last;
	if (i < j) {
		if (acmp(&rs->v[i].first, &r.first) < 0)
			r.first = rs->v[i].first;
		if (acmp(&rs->v[j - 1].last, &r.last) > 0)
			r.last = rs->v[j - 1].last;
	}
	splice(rs, i, j, &r, 1);
}

void
kn_rangeset_add_cidr(struct kn_rangeset *rs, const struct kn_cidr *c)
{
	struct kn_addr first, last;

	kn_cidr_range(c, &first, &last);
	kn_rangeset_add(rs, &first, &last);
}

void
kn_rangeset_remove(struct kn_rangeset *rs, const struct kn_addr *first, const struct kn_addr *last)
{
	struct kn_range keep[2];
	size_t i, j, n = 0;

	if (!range_ok(rs, first, last))
		return;
	i = lower_bound_last(rs, first);
	j = upper_bound_first(rs, last);
	if (i >= j)
		return;
	/* Only the outer two ranges can stick out of [first,last]; the
	 * decrement and increment cannot wrap because they do. */
	if (acmp(&rs->v[i].first, first) < 0) {
		keep[n].first = rs->v[i].first;
		keep[n].last = *first;
		addr_dec(&keep[n].last);
		n++;
	}
	if (acmp(&rs->v[j - 1].last, last) > 0) {
		keep[n].first = *last;
		addr_inc(&keep[n].first);
		keep[n].last = rs->v[j - 1].last;
		n++;
	}
	splice(rs, i, j, keep, n);
}

bool
kn_rangeset_contains(const struct kn_rangeset *rs, const struct kn_addr *a)
{
	size_t i;

	if (a->family != rs->family)
		return false;
	i = lower_bound_last(rs, a);
	return i < rs->n && acmp(&rs->v[i].first, a) <= 0;
}
