/* The netlink backend: programs a kn_program into the kernel with
 * libnftnl and libmnl, as one nfnetlink batch that the kernel applies
 * all or nothing.  Never touches any table but the program's own. */
#ifndef KN_NFT_NETLINK_H
#define KN_NFT_NETLINK_H

#include <stddef.h>

#include "decode.h"
#include "program.h"

struct kn_nl;

struct kn_nl_stats {
	size_t messages; /* netlink messages in the last batch, BEGIN/END included */
	size_t bytes;	 /* bytes sent for the last batch */
};

/* Opens a NETLINK_NETFILTER socket with extended acks and large buffers.
 * Returns NULL with err set (e.g. EPERM without CAP_NET_ADMIN). */
struct kn_nl *kn_nl_open(struct kn_err *err);
void kn_nl_close(struct kn_nl *nl);

/* Replaces table inet p->table with p in one transaction: creates the
 * table if missing, deletes it and defines it anew, all inside one batch,
 * so packets see either the old ruleset or the new one.  On a kernel
 * error returns -errno with err->msg naming the object that caused it
 * ("set np/default/web/ingress/0/peers-v4: File exists"); the previous
 * ruleset is then still in place.  -ENOBUFS means the outcome is unknown. */
int kn_nl_apply(struct kn_nl *nl, const struct kn_program *p, struct kn_err *err);

/* Deletes table inet NAME.  Returns 0 also when there was none. */
int kn_nl_flush(struct kn_nl *nl, const char *table, struct kn_err *err);

/* Counters of the last transaction. */
void kn_nl_get_stats(const struct kn_nl *nl, struct kn_nl_stats *ret);

#endif
