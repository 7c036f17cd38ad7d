/* Conntrack: cutting the connections of pods that lost access to the API
 * server.  The guard's drop stops their packets, but a conntrack entry
 * keeps a DNATed connection's translation alive and lets a long-lived
 * watch go on receiving; deleting the entries ends such connections at
 * once.
 *
 * Entries are read with a ctnetlink dump (NETLINK_NETFILTER,
 * IPCTNL_MSG_CT_GET) per address family and deleted one by one
 * (IPCTNL_MSG_CT_DELETE with the original tuple and zone): the kernel's
 * filtered flush knows marks, not tuples. */
#ifndef KN_CONNTRACK_H
#define KN_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "guard.h"
#include "netaddr.h"

/* One conntrack entry as far as revocation cares. */
struct kn_ct_flow {
	uint8_t proto;
	struct kn_addr src, dst; /* original direction: what the client sent */
	uint16_t sport, dport;
	struct kn_addr reply_src; /* the real server, after DNAT */
	uint16_t reply_sport;
};

/* True when rv revokes flow: its client is one of rv's sources and its
 * server (the original destination, or the reply's source after DNAT)
 * one of rv's destinations. */
bool kn_ct_flow_revoked(const struct kn_guard_revocation *rv, const struct kn_ct_flow *flow);

struct kn_ct_stats {
	size_t scanned; /* entries read */
	size_t deleted; /* entries deleted */
};

/* Deletes every conntrack entry that rv revokes, in the caller's network
 * namespace.  Needs CAP_NET_ADMIN.  Returns 0, or -errno with err set;
 * stats (may be NULL) counts what was done either way.  An entry that
 * expires between the dump and its delete is not an error. */
int kn_ct_revoke(const struct kn_guard_revocation *rv, struct kn_ct_stats *stats,
		 struct kn_err *err);

#endif
