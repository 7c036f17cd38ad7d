/* The netlink monitor (nft_monitor.h): nftables notifications in,
 * changes of our table by other processes out.
 *
 * A transaction's notifications arrive in the order the kernel commits:
 * one message per object created or deleted, then one NEWGEN naming the
 * process.  Transactions never interleave (the kernel commits them one at
 * a time under its commit mutex, and one socket receives in order), so a
 * change is accumulated from the object messages about our table and
 * reported at the NEWGEN of the same sender.  Every message carries the
 * sender's netlink port as nlmsg_pid; ours is the port of the command
 * socket, so our own transactions are recognised however late they are
 * read, while a commit is still being acknowledged or long after.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nft_monitor.h"

/* Debian 12's uapi headers stop at NFT_MSG_DELFLOWTABLE; the values are
 * fixed kernel ABI (6.3 added the DESTROY messages, which the kernel
 * also notifies under their own type). */
#define KN_NFT_MSG_DESTROYTABLE	    26
#define KN_NFT_MSG_DESTROYCHAIN	    27
#define KN_NFT_MSG_DESTROYRULE	    28
#define KN_NFT_MSG_DESTROYSET	    29
#define KN_NFT_MSG_DESTROYSETELEM   30
#define KN_NFT_MSG_DESTROYOBJ	    31
#define KN_NFT_MSG_DESTROYFLOWTABLE 32

/* The table's name is attribute 1 of every object message
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE). */
#define KN_MON_ATTR_TABLE 1

/* The receive buffer.  Others' transactions are queued here until the
 * loop reads them; a full replacement of a 10k-pod table by another
 * process (an operator's kube-nftctl apply) is some 8,000 notifications
 * of about 100 bytes, coalesced by the kernel into skbs of one page: a
 * few MiB with the kernel's bookkeeping.  Our own transactions never
 * reach it (socket filter).  Each overrun doubles it, up to the maximum,
 * so that a node whose other users (kube-proxy) churn a lot stops losing
 * events after a few resyncs; 64 MiB is what a 50k-pod full replacement
 * takes, with room to spare. */
#define KN_MON_BUF_DEFAULT (4 * 1024 * 1024)
#define KN_MON_BUF_MAX	   (64 * 1024 * 1024)
/* Test hook: the receive buffer to start with, in bytes (SO_RCVBUF, so
 * the kernel's minimum applies), to make overruns happen. */
#define KN_MON_TEST_RCVBUF_ENV "KN_TEST_MONITOR_RCVBUF"

/* One datagram: the kernel coalesces notifications into skbs of at most
 * NLMSG_GOODSIZE (a page, 8 KiB at most); a larger datagram would be
 * truncated, which counts as lost notifications. */
#define KN_MON_RECV_BUF (64 * 1024)
/* Datagrams read per kn_mon_read: a process that floods the socket gets
 * the loop back between rounds (epoll is level-triggered). */
#define KN_MON_READ_MAX 256

struct kn_mon {
	struct mnl_socket *sock; /* NULL for kn_mon_new */
	char *table;
	uint32_t self;
	char *buf;
	bool pending; /* cur holds a transaction awaiting its NEWGEN */
	struct kn_mon_change cur;
	struct kn_mon_stats st;
};

struct kn_mon *
kn_mon_new(const char *table, uint32_t self_portid)
{
	struct kn_mon *m = xcalloc(1, sizeof(*m));

	m->table = xstrdup(table);
	m->self = self_portid;
	return m;
}

void
kn_mon_close(struct kn_mon *m)
{
	if (m == NULL)
		return;
	if (m->sock != NULL)
		mnl_socket_close(m->sock);
	free(m->buf);
	free(m->table);
	free(m);
}

int
kn_mon_fd(const struct kn_mon *m)
{
	return m->sock != NULL ? mnl_socket_get_fd(m->sock) : -1;
}

void
kn_mon_set_table(struct kn_mon *m, const char *table)
{
	free(m->table);
	m->table = xstrdup(table);
	m->pending = false;
}

void
kn_mon_get_stats(const struct kn_mon *m, struct kn_mon_stats *ret)
{
	*ret = m->st;
}

/* ---------------------------------------------------------------- socket */

/* Sets the receive buffer to want bytes (FORCE: above rmem_max, which
 * CAP_NET_ADMIN allows) and records what the kernel granted. */
static void
rcvbuf_set(struct kn_mon *m, int want, bool force)
{
	int fd = mnl_socket_get_fd(m->sock);
	socklen_t len = sizeof(m->st.rcvbuf);

	if (!force || setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &m->st.rcvbuf, &len) < 0)
		m->st.rcvbuf = 0;
}

/* Drops, in the kernel, every datagram whose first message comes from
 * our own port: all the notifications of one transaction come from its
 * sender, and the kernel coalesces only those of one transaction into a
 * datagram, so the first message speaks for the whole.  Classic BPF loads
 * words in network byte order and nlmsg_pid is in host order, hence the
 * ntohl of the constant.
 *
 *	ld [12]			nlmsg_pid
 *	jeq #ntohl(self), drop
 *	ret #-1			keep the whole datagram
 *	drop: ret #0
 */
static int
filter_own(struct kn_mon *m)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_pid)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(m->self), 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = ARRAY_SIZE(code), .filter = code};

	if (setsockopt(mnl_socket_get_fd(m->sock), SOL_SOCKET, SO_ATTACH_FILTER, &prog,
		       sizeof(prog)) < 0)
		return -errno;
	return 0;
}

struct kn_mon *
kn_mon_open(const char *table, uint32_t self_portid, struct kn_err *err)
{
	const char *test_buf = getenv(KN_MON_TEST_RCVBUF_ENV);
	struct kn_mon *m = kn_mon_new(table, self_portid);
	int fd;

	m->buf = xmalloc(KN_MON_RECV_BUF);
	m->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (m->sock == NULL) {
		kn_errf(err, -errno, "netlink monitor socket: %s", strerror(errno));
		goto fail;
	}
	fd = mnl_socket_get_fd(m->sock);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		kn_errf(err, -errno, "netlink monitor socket: %s", strerror(errno));
		goto fail;
	}
	/* The filter goes on before the subscription, so that no
	 * notification of ours is ever queued.  Without it (a kernel or a
	 * seccomp policy that refuses it) ours are told apart when read. */
	m->st.filtered = self_portid != 0 && filter_own(m) == 0;
	if (test_buf != NULL && *test_buf != '\0')
		rcvbuf_set(m, atoi(test_buf), false);
	else
		rcvbuf_set(m, KN_MON_BUF_DEFAULT, true);
	if (mnl_socket_bind(m->sock, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		kn_errf(err, -errno, "netlink monitor: subscribing to nf_tables events: %s",
			strerror(errno));
		goto fail;
	}
	return m;
fail:
	kn_mon_close(m);
	return NULL;
}

/* ---------------------------------------------------------------- parsing */

/* The object a message is about and whether it was added; -1 for
 * messages that change nothing (GET*, NEWGEN, TRACE, the RESET dumps). */
static int
msg_obj(uint16_t type, bool *ret_added)
{
	static const struct {
		uint16_t type;
		enum kn_mon_obj obj;
		bool added;
	} map[] = {
		{NFT_MSG_NEWTABLE, KN_MON_TABLE, true},
		{NFT_MSG_DELTABLE, KN_MON_TABLE, false},
		{KN_NFT_MSG_DESTROYTABLE, KN_MON_TABLE, false},
		{NFT_MSG_NEWCHAIN, KN_MON_CHAIN, true},
		{NFT_MSG_DELCHAIN, KN_MON_CHAIN, false},
		{KN_NFT_MSG_DESTROYCHAIN, KN_MON_CHAIN, false},
		{NFT_MSG_NEWRULE, KN_MON_RULE, true},
		{NFT_MSG_DELRULE, KN_MON_RULE, false},
		{KN_NFT_MSG_DESTROYRULE, KN_MON_RULE, false},
		{NFT_MSG_NEWSET, KN_MON_SET, true},
		{NFT_MSG_DELSET, KN_MON_SET, false},
		{KN_NFT_MSG_DESTROYSET, KN_MON_SET, false},
		{NFT_MSG_NEWSETELEM, KN_MON_ELEM, true},
		{NFT_MSG_DELSETELEM, KN_MON_ELEM, false},
		{KN_NFT_MSG_DESTROYSETELEM, KN_MON_ELEM, false},
		{NFT_MSG_NEWOBJ, KN_MON_OBJECT, true},
		{NFT_MSG_DELOBJ, KN_MON_OBJECT, false},
		{KN_NFT_MSG_DESTROYOBJ, KN_MON_OBJECT, false},
		{NFT_MSG_NEWFLOWTABLE, KN_MON_FLOWTABLE, true},
		{NFT_MSG_DELFLOWTABLE, KN_MON_FLOWTABLE, false},
		{KN_NFT_MSG_DESTROYFLOWTABLE, KN_MON_FLOWTABLE, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (map[i].type == type) {
			*ret_added = map[i].added;
			return (int)map[i].obj;
		}
	}
	return -1;
}

/* Whether an object message is about table inet m->table. */
static bool
msg_is_ours(const struct kn_mon *m, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *nfg;
	const struct nlattr *attr;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != NFPROTO_INET)
		return false;
	mnl_attr_for_each(attr, nlh, sizeof(*nfg))
	{
		if (mnl_attr_get_type(attr) != KN_MON_ATTR_TABLE)
			continue;
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return false;
		return strcmp(mnl_attr_get_str(attr), m->table) == 0;
	}
	return false;
}

static void
counter_inc(uint32_t *c)
{
	if (*c < UINT32_MAX)
		(*c)++;
}

/* Reports the pending change, whatever process information it has. */
static void
pending_flush(struct kn_mon *m, kn_mon_cb cb, void *arg)
{
	if (!m->pending)
		return;
	m->pending = false;
	cb(arg, &m->cur);
}

/* NEWGEN: the end of a transaction.  Ours, or one that did not touch the
 * table, just ends; another process's that did is reported. */
static void
gen_end(struct kn_mon *m, const struct nlmsghdr *nlh, kn_mon_cb cb, void *arg)
{
	const struct nlattr *attr;

	if (!m->pending)
		return;
	/* A NEWGEN from another sender: the one that closed the pending
	 * change was lost.  Report it without a name. */
	if (nlh->nlmsg_pid != m->cur.portid) {
		pending_flush(m, cb, arg);
		return;
	}
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct nfgenmsg)) {
		mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
		{
			switch (mnl_attr_get_type(attr)) {
			case NFTA_GEN_ID:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
					m->cur.genid = ntohl(mnl_attr_get_u32(attr));
				break;
			case NFTA_GEN_PROC_PID:
				if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0 &&
				    ntohl(mnl_attr_get_u32(attr)) <= INT32_MAX)
					m->cur.pid = (int32_t)ntohl(mnl_attr_get_u32(attr));
				break;
			case NFTA_GEN_PROC_NAME:
				if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
					snprintf(m->cur.comm, sizeof(m->cur.comm), "%s",
						 mnl_attr_get_str(attr));
				break;
			default:
				break;
			}
		}
	}
	pending_flush(m, cb, arg);
}

static void
msg_one(struct kn_mon *m, const struct nlmsghdr *nlh, kn_mon_cb cb, void *arg)
{
	bool added;
	int obj;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return;
	m->st.messages++;
	if (m->self != 0 && nlh->nlmsg_pid == m->self) {
		m->st.own++;
		/* Transactions do not interleave: a change still pending
		 * lost its NEWGEN. */
		pending_flush(m, cb, arg);
		return;
	}
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN) {
		gen_end(m, nlh, cb, arg);
		return;
	}
	obj = msg_obj(NFNL_MSG_TYPE(nlh->nlmsg_type), &added);
	if (obj < 0 || !msg_is_ours(m, nlh))
		return;
	if (m->pending && m->cur.portid != nlh->nlmsg_pid)
		pending_flush(m, cb, arg);
	if (!m->pending) {
		memset(&m->cur, 0, sizeof(m->cur));
		m->cur.portid = nlh->nlmsg_pid;
		m->cur.pid = -1;
		m->pending = true;
	}
	counter_inc(added ? &m->cur.added[obj] : &m->cur.deleted[obj]);
}

void
kn_mon_feed(struct kn_mon *m, const void *buf, size_t len, kn_mon_cb cb, void *arg)
{
	const struct nlmsghdr *nlh = buf;
	int rem = len > INT_MAX ? INT_MAX : (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem))
		msg_one(m, nlh, cb, arg);
}

int
kn_mon_read(struct kn_mon *m, kn_mon_cb cb, void *arg)
{
	int fd = mnl_socket_get_fd(m->sock);
	bool lost = false;
	int ret = 0;

	for (int i = 0; i < KN_MON_READ_MAX; i++) {
		ssize_t n = recv(fd, m->buf, KN_MON_RECV_BUF, MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* Reported once per overrun; what follows in the
			 * queue is readable, and read so the queue empties. */
			lost = true;
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -errno;
			break;
		}
		if ((size_t)n > KN_MON_RECV_BUF) {
			lost = true;
			continue;
		}
		kn_mon_feed(m, m->buf, (size_t)n, cb, arg);
	}
	if (lost) {
		/* A transaction cut in the middle is not reported: the
		 * caller replaces the table anyway. */
		m->pending = false;
		m->st.overruns++;
		/* The kernel reports twice what was asked: asking for
		 * what it reports doubles the buffer. */
		if (m->st.rcvbuf < KN_MON_BUF_MAX)
			rcvbuf_set(m,
				   m->st.rcvbuf < KN_MON_BUF_MAX / 2 ? m->st.rcvbuf
								     : KN_MON_BUF_MAX / 2,
				   true);
		return -ENOBUFS;
	}
	return ret;
}

/* ---------------------------------------------------------------- words */

void
kn_mon_who(const struct kn_mon_change *c, char *buf, size_t len)
{
	if (c->comm[0] != '\0' && c->pid >= 0)
		snprintf(buf, len, "%s (pid %d)", c->comm, (int)c->pid);
	else if (c->pid >= 0)
		snprintf(buf, len, "pid %d", (int)c->pid);
	else
		snprintf(buf, len, "an unknown process (netlink port %u)", c->portid);
}

void
kn_mon_describe(const struct kn_mon_change *c, char *buf, size_t len)
{
	static const char *const names[KN_MON_NOBJ][2] = {
		[KN_MON_TABLE] = {"table", "tables"},
		[KN_MON_CHAIN] = {"chain", "chains"},
		[KN_MON_RULE] = {"rule", "rules"},
		[KN_MON_SET] = {"set", "sets"},
		[KN_MON_ELEM] = {"set element", "set elements"},
		[KN_MON_OBJECT] = {"stateful object", "stateful objects"},
		[KN_MON_FLOWTABLE] = {"flowtable", "flowtables"},
	};
	size_t used = 0;

	buf[0] = '\0';
	/* A deleted table takes everything in it along: the objects are
	 * notified one by one, but the table says it all. */
	if (c->deleted[KN_MON_TABLE] > 0) {
		snprintf(buf, len, "%s the table",
			 c->added[KN_MON_TABLE] > 0 ? "replaced" : "deleted");
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		const uint32_t *n = pass == 0 ? c->deleted : c->added;

		for (int o = 0; o < KN_MON_NOBJ; o++) {
			int w;

			if (n[o] == 0)
				continue;
			if (o == KN_MON_TABLE)
				w = snprintf(buf + used, len - used, "%screated the table",
					     used ? ", " : "");
			else
				w = snprintf(buf + used, len - used, "%s%s %u %s", used ? ", " : "",
					     pass == 0 ? "deleted" : "added", n[o],
					     names[o][n[o] != 1]);
			if (w < 0 || (size_t)w >= len - used)
				return;
			used += (size_t)w;
		}
	}
	if (used == 0)
		snprintf(buf, len, "changed it");
}
