/* The netlink monitor: tells the changes that other processes make to
 * our table from the kernel's nftables notifications (NFNLGRP_NFTABLES),
 * so that the daemon can put its ruleset back.
 *
 * The kernel sends, for every committed transaction, one message per
 * object it created or deleted (NEWRULE, DELSETELEM, ...) and then a
 * NEWGEN that names the process (NFTA_GEN_PROC_PID, NFTA_GEN_PROC_NAME).
 * Every message carries, as its nlmsg_pid, the netlink port of the socket
 * that sent the transaction: our own transactions are told apart by the
 * port of our command socket (kn_nl_portid), whenever they are read. */
#ifndef KN_NFT_MONITOR_H
#define KN_NFT_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The kinds of objects a notification is about. */
enum kn_mon_obj {
	KN_MON_TABLE,
	KN_MON_CHAIN,
	KN_MON_RULE,
	KN_MON_SET,
	KN_MON_ELEM,
	KN_MON_OBJECT, /* stateful objects: counters, quotas, ... */
	KN_MON_FLOWTABLE,
	KN_MON_NOBJ,
};

/* What one transaction of another process did to the table. */
struct kn_mon_change {
	uint32_t portid; /* the sender's netlink port */
	uint32_t genid;	 /* the ruleset generation it made; 0 if unknown */
	int32_t pid;	 /* the sender's process; -1 if unknown */
	char comm[32];	 /* its name (16 bytes in the kernel); "" if unknown */
	uint32_t added[KN_MON_NOBJ];
	uint32_t deleted[KN_MON_NOBJ];
};

/* Called once per transaction of another process that changed the
 * table, when its NEWGEN arrives. */
typedef void (*kn_mon_cb)(void *arg, const struct kn_mon_change *c);

struct kn_mon_stats {
	uint64_t messages; /* nf_tables notifications read */
	uint64_t own;	   /* of which ours (none when the kernel filters them) */
	uint64_t overruns; /* times notifications were lost (ENOBUFS) */
	bool filtered;	   /* our own notifications are dropped in the kernel */
	int rcvbuf;	   /* the receive buffer, as the kernel reports it */
};

struct kn_mon;

/* A monitor without a socket, for feeding datagrams by hand (tests).
 * self_portid: the port of our command socket, 0 if none. */
struct kn_mon *kn_mon_new(const char *table, uint32_t self_portid);

/* Opens a NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTABLES, with a
 * socket filter that drops our own transactions' notifications in the
 * kernel: a full replacement of a large table sends one notification per
 * element, and must not fill the buffer that others' changes need.  Needs
 * CAP_NET_ADMIN.  Returns NULL with err set. */
struct kn_mon *kn_mon_open(const char *table, uint32_t self_portid, struct kn_err *err);
void kn_mon_close(struct kn_mon *m);

/* The socket, for epoll (EPOLLIN); -1 for kn_mon_new's. */
int kn_mon_fd(const struct kn_mon *m);

/* The table to watch, after a reload changed it. */
void kn_mon_set_table(struct kn_mon *m, const char *table);

/* Parses one datagram of notifications; calls cb for each transaction of
 * another process that changed table inet TABLE.  Messages of other
 * families, other tables and other subsystems are ignored, and so are
 * malformed ones. */
void kn_mon_feed(struct kn_mon *m, const void *buf, size_t len, kn_mon_cb cb, void *arg);

/* Reads every notification queued on the socket (kn_mon_feed each).
 * Returns 0; -ENOBUFS when notifications were lost (the receive buffer
 * overran, or the kernel could not allocate one): what changed is then
 * unknown, the caller must replace the table, and the buffer has been
 * doubled (up to a maximum) so that it does not happen again; or another
 * -errno. */
int kn_mon_read(struct kn_mon *m, kn_mon_cb cb, void *arg);

/* "nft (pid 1234)", or "an unknown process (netlink port 5678)". */
void kn_mon_who(const struct kn_mon_change *c, char *buf, size_t len);

/* What the change did: "deleted 4 rules", "added 1 set element",
 * "deleted the table", "replaced the table". */
void kn_mon_describe(const struct kn_mon_change *c, char *buf, size_t len);

void kn_mon_get_stats(const struct kn_mon *m, struct kn_mon_stats *ret);

#endif
