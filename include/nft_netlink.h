/* The netlink backend: programs a kn_program into the kernel with
 * libnftnl and libmnl, as one nfnetlink batch that the kernel applies
 * all or nothing.  Never touches any table but the program's own. */
#ifndef KN_NFT_NETLINK_H
#define KN_NFT_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "guard.h"
#include "plan.h"
#include "program.h"

struct kn_nl;

struct kn_nl_stats {
	size_t messages;	   /* netlink messages in the last batch, BEGIN/END included */
	size_t bytes;		   /* bytes sent for the last batch */
	bool incremental;	   /* kn_nl_commit sent a plan, not the whole table */
	struct kn_plan_stats plan; /* what the plan changed (incremental only) */
};

/* Opens a NETLINK_NETFILTER socket with extended acks and large buffers.
 * Returns NULL with err set (e.g. EPERM without CAP_NET_ADMIN).  It keeps
 * the memory of its last batch, up to 4 MiB, for the next one. */
struct kn_nl *kn_nl_open(struct kn_err *err);
void kn_nl_close(struct kn_nl *nl);

/* Replaces table inet p->table with p in one transaction: creates the
 * table if missing, deletes it and defines it anew, all inside one batch,
 * so packets see either the old ruleset or the new one.  On a kernel
 * error returns -errno with err->msg naming the object that caused it
 * ("set np/default/web/ingress/0/peers-v4: File exists"); the previous
 * ruleset is then still in place.  -ENOBUFS means the outcome is unknown. */
int kn_nl_apply(struct kn_nl *nl, const struct kn_program *p, struct kn_err *err);

/* Changes the table from old, the program the last successful commit
 * left in the kernel, to new, in one transaction that carries only the
 * difference (plan.h).  old NULL, or old for another table, means a full
 * replacement (kn_nl_apply).  Nothing is sent when the programs are
 * equal.  Errors as kn_nl_apply: after any error the kernel holds old
 * (or, for -ENOBUFS, an unknown state) and the next commit must be a full
 * one (old NULL).
 *
 * On kernels before 6.2 (chains outlive the map elements that pointed at
 * them) a chain that map elements pointed at is emptied but kept, and
 * deleted by the next commit; nl remembers it. */
int kn_nl_commit(struct kn_nl *nl, const struct kn_program *old, const struct kn_program *new,
		 struct kn_err *err);

/* The same, from what an incremental compile changed (netpol.h,
 * kn_compiler_update): the kernel holds the program as it was before the
 * delta, p is the program after it.  Only the objects the delta names
 * are compared (kn_plan_delta).  Errors as kn_nl_commit. */
int kn_nl_commit_delta(struct kn_nl *nl, const struct kn_program *p, const struct kn_delta *delta,
		       struct kn_err *err);

/* Builds the batch that kn_nl_commit would send to change the table from
 * old to new (old NULL: kn_nl_apply's full replacement), without a
 * socket, its first sequence number seq: for tests that check its bytes.
 * sets_by_id: as for kernels since 6.11, the element lists of sets the
 * batch creates name them by id only.  On success *ret_buf (free() it)
 * holds the messages back to back, from BATCH_BEGIN to BATCH_END, and
 * *ret_len their length; both are NULL and 0 when there is nothing to
 * change. */
int kn_nl_build(const struct kn_program *old, const struct kn_program *new, uint32_t seq,
		bool sets_by_id, void **ret_buf, size_t *ret_len, struct kn_err *err);

/* Deletes table inet NAME.  Returns 0 also when there was none. */
int kn_nl_flush(struct kn_nl *nl, const char *table, struct kn_err *err);

/* Reads the API server guard's counters with one dump of chain
 * api-guard of table inet TABLE, and of nothing else.  ch is the chain
 * of the program the kernel holds: each rule of the dump must be ch's
 * rule at the same position, with the same comment, so that a chain
 * that is not the program's is never read as one; the counters of ch's
 * counting rules (kn_guard_rule_dir) are summed by direction, IPv4 and
 * IPv6 together.  Returns 0, or -errno with err saying why (-ENOENT: no
 * such chain; -EPROTO: the chain is not ch).  Sends no batch and changes
 * nothing. */
int kn_nl_guard_counts(struct kn_nl *nl, const char *table, const struct kn_chain *ch,
		       struct kn_guard_counts *ret, struct kn_err *err);

/* The same from the dump's messages (back to back, NLMSG_DONE or not),
 * without a socket: for tests. */
int kn_nl_guard_counts_parse(const void *buf, size_t len, const char *table,
			     const struct kn_chain *ch, struct kn_guard_counts *ret,
			     struct kn_err *err);

/* Counters of the last transaction. */
void kn_nl_get_stats(const struct kn_nl *nl, struct kn_nl_stats *ret);

/* The netlink port of nl's socket, fixed for its life: the kernel's
 * notifications of our transactions carry it as their nlmsg_pid, which
 * tells them from other processes' (nft_monitor.h). */
uint32_t kn_nl_portid(const struct kn_nl *nl);

#endif
