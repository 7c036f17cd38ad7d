/* IP addresses, CIDRs and sorted interval lists (for ipBlock/except). */
#ifndef KN_NETADDR_H
#define KN_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address in network byte order.  AF_INET uses bytes[0..3]. */
struct kn_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct kn_cidr {
	struct kn_addr addr; /* host bits cleared */
	uint8_t plen;
};

static inline int
kn_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Parses a literal IPv4 or IPv6 address; 0 or -EINVAL. */
int kn_addr_parse(const char *s, struct kn_addr *ret);
/* Formats into buf (at least 46 bytes); returns buf. */
const char *kn_addr_fmt(const struct kn_addr *a, char *buf, size_t len);
int kn_addr_cmp(const struct kn_addr *a, const struct kn_addr *b);

/* Parses "a/len"; host bits are masked off (the API server accepts them
 * and treats the block as the masked network).  0 or -EINVAL. */
int kn_cidr_parse(const char *s, struct kn_cidr *ret);
bool kn_cidr_contains(const struct kn_cidr *outer, const struct kn_addr *a);
/* True when inner lies strictly within outer (same family, longer
 * prefix, contained). */
bool kn_cidr_strictly_within(const struct kn_cidr *outer, const struct kn_cidr *inner);
/* First and last address of the block. */
void kn_cidr_range(const struct kn_cidr *c, struct kn_addr *first, struct kn_addr *last);

/* A sorted list of disjoint, non-adjacent inclusive ranges of one family. */
struct kn_range {
	struct kn_addr first, last;
};
struct kn_rangeset {
	int family;
	struct kn_range *v;
	size_t n, cap;
};

void kn_rangeset_init(struct kn_rangeset *rs, int family);
void kn_rangeset_free(struct kn_rangeset *rs);
/* Add [first,last]; merges overlaps and adjacency. */
void kn_rangeset_add(struct kn_rangeset *rs, const struct kn_addr *first,
		     const struct kn_addr *last);
void kn_rangeset_add_cidr(struct kn_rangeset *rs, const struct kn_cidr *c);
/* Remove [first,last]. */
void kn_rangeset_remove(struct kn_rangeset *rs, const struct kn_addr *first,
			const struct kn_addr *last);
bool kn_rangeset_contains(const struct kn_rangeset *rs, const struct kn_addr *a);

#endif
