/* The netlink backend: renders a kn_program into one nfnetlink batch and
 * sends it over a NETLINK_NETFILTER socket.  Chains, sets, elements and
 * rules, the bulk of a sync, are written straight into the batch buffer
 * in the layout libnftnl gives them (see "attributes" below, and
 * tests/unit/netlink_test.c, which holds the two equal); libnftnl writes
 * the headers, tables and deletes.
 *
 * The batch replaces table inet NAME as a whole:
 *
 *	BATCH_BEGIN
 *	NEWTABLE NAME		create it when missing, so that the delete
 *	DELTABLE NAME		below never fails with ENOENT
 *	NEWTABLE NAME
 *	NEWCHAIN ...		every chain, base chains with their hooks
 *	NEWSET			every set and verdict map, each followed by
 *	NEWSETELEM ...		its elements (after the chains maps jump to)
 *	NEWRULE ...		every rule
 *	BATCH_END
 *
 * The kernel checks every message and commits all of them or none at
 * BATCH_END, so packets see either the old ruleset or the new one.
 *
 * kn_nl_commit sends only the difference from the program the kernel
 * holds (plan.h): the same builders for what is created, and deletes
 * that name their object (DELRULE of a whole chain, DELSETELEM with the
 * keys only, DELSET, DELCHAIN), in the planner's order.  It is one batch
 * all the same, with the same error mapping.
 *
 * The bytecode is the one nft 1.0.6 generates for the syntax that the
 * text backend (nft_text.h) writes for the same program, down to the set
 * user data that nft reads back to print types and ranges, so that
 * `nft list table inet NAME` reads the same whichever backend loaded it.
 * The netns tests (tests/netns/apply_test.sh) hold the two paths equal.
 *
 * Every message is recorded (which set, chain or rule it carries), so
 * that a kernel error can be reported as a sentence naming the object,
 * with what the kernel's extended ack points at ("rule 2 of chain pod-a
 * (np/x): No such file or directory (at expression immediate,
 * "pod-b")").  The kernel acknowledges every failing message; kernels
 * since 6.10 acknowledge BATCH_END when asked to, which tells us that the
 * whole batch went through, so there only END asks for an ack (as nft
 * does).  Older kernels ignore the flag on END: there every message asks
 * for an ack and all must come back.  All acks are queued before
 * sendmsg() returns; we read until END's ack or an empty socket.
 * ENOBUFS while reading means lost acks: the outcome is unknown and the
 * caller must resync.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "nft_netlink.h"
#include "util.h"

/* Older uapi headers lack these; the values are fixed kernel ABI. */
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

/* nft's datatype ids (nftables include/datatype.h).  nft stores them in
 * NFTA_SET_KEY_TYPE, a concatenation as the ids shifted by TYPE_BITS
 * each, first field highest, and reads them back to print elements. */
#define NFT_TYPE_IPADDR	      7
#define NFT_TYPE_IP6ADDR      8
#define NFT_TYPE_INET_PROTO   12
#define NFT_TYPE_INET_SERVICE 13
#define NFT_TYPE_BITS	      6

/* nft's enum byteorder and its expression type of a concatenation
 * (enum expr_types EXPR_CONCAT), as nft writes them into set user data. */
#define NFT_BYTEORDER_INVALID	 0
#define NFT_BYTEORDER_BIG_ENDIAN 2
#define NFT_EXPR_CONCAT		 13

/* The batch is written into one buffer, grown (doubled) before a message
 * starts whenever less than KN_NL_MSG_MAX is left, so that a message never
 * moves while it is written.  That must exceed the largest message:
 * element lists stop short of 64 KiB (the nlattr length is 16 bits), and
 * a rule has at most a few hundred bytes. */
#define KN_NL_MSG_MAX (128 * 1024)

/* The socket keeps its batch buffer from one batch to the next: a fresh
 * buffer for the 820 KiB of a 10k-pod sync meant some 200 page faults
 * each time (glibc maps an allocation that large anew and unmaps it when
 * it is freed), half a millisecond.  A buffer that grew past
 * KN_NL_BUF_KEEP for a larger batch is let go after it. */
#define KN_NL_BUF_KEEP (4u * 1024 * 1024)

/* The kernel takes a batch as one datagram, so the whole batch must fit
 * in the socket's send buffer, and a large cluster makes tens of MiB.
 * 256 MiB is far above any real program and well below what
 * SO_SNDBUFFORCE accepts (INT_MAX / 2). */
#define KN_NL_BATCH_MAX (256u * 1024 * 1024)

/* Socket buffers set at open time; grown per batch when needed. */
#define KN_NL_BUF_DEFAULT (4 * 1024 * 1024)

/* On kernels before 6.10 every message asks for an ack; on any kernel a
 * refused batch is acknowledged per failing message, which may be all of
 * them.  Each ack is an skb of its own, queued on our socket before
 * sendmsg() returns, and the buffer is sized for that worst case: a 36-byte capped ack
 * takes 768 to 896 bytes of receive buffer (skb truesize, measured on
 * 6.18), and an overflowing queue drops acks (ENOBUFS).  We count 1 KiB
 * per ack; the kernel doubles what we ask for. */
#define KN_NL_ACK_COST 1024

/* Receive buffer for one ack: capped acks (NETLINK_CAP_ACK) are small,
 * extended ack messages are at most a few hundred bytes. */
#define KN_NL_RECV_BUF 8192

/* Test hook, see batch_test_corrupt(). */
#define KN_NL_TEST_ENV	      "KN_TEST_FAIL_AT"
#define KN_NL_TEST_TABLE_MARK '~'
/* Test hook: set (to anything) to plan as for kernels before 6.2. */
#define KN_NL_TEST_DEFER_ENV "KN_TEST_DEFER_CHAIN_DELETE"
/* Test hook: set (to anything) to name the sets of element lists, as for
 * kernels before 6.11. */
#define KN_NL_TEST_BY_NAME_ENV "KN_TEST_SETS_BY_NAME"
/* Test hook: set (to anything) to ask for an ack per message, as for
 * kernels before 6.10. */
#define KN_NL_TEST_ACK_ALL_ENV "KN_TEST_ACK_EVERY_MESSAGE"

struct kn_nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	int sndbuf, rcvbuf; /* what we last asked for */
	struct kn_nl_stats stats;
	/* Kernels before 6.2: chains that map elements pointed at are
	 * deleted one commit later (kn_plan_opts).  stale: the chains the
	 * last commit left, empty, in the kernel. */
	bool defer_chain_delete;
	char **stale;
	size_t nstale;
	/* Kernels since 6.11: a full sync's element lists name their set by
	 * id only (batch.sets_by_id). */
	bool sets_by_id;
	/* Kernels since 6.10: only BATCH_END asks for an ack. */
	bool ack_end_only;
	/* The batch buffer, kept between batches (KN_NL_BUF_KEEP). */
	char *buf;
	size_t buf_cap;
};

/* What a message of the batch carries, to name it in errors. */
enum msg_kind {
	MSG_BEGIN,
	MSG_END,
	MSG_TABLE,
	MSG_DELTABLE,
	MSG_CHAIN,
	MSG_SET,
	MSG_ELEMS,
	MSG_RULE,
	/* incremental batches (kn_nl_commit) */
	MSG_FLUSH,    /* delete the rules of a chain */
	MSG_DELCHAIN, /* obj: the chain's name */
	MSG_DELSET,
	MSG_DELELEMS,
};

struct msg_rec {
	enum msg_kind kind;
	const void *obj; /* kn_chain (MSG_CHAIN, MSG_RULE, MSG_FLUSH), kn_set, or a name */
	size_t idx;	 /* MSG_RULE: index of the rule in the chain */
};

/* A set of the program as rules refer to it: name, IR and the batch-local
 * set id that nft also passes along with the name. */
struct set_ref {
	const char *name;
	const struct kn_set *set;
	uint32_t id;
};

struct batch {
	const char *table;
	char *buf;	   /* the messages, back to back */
	size_t bytes, cap; /* written, allocated */
	uint32_t seq0;	   /* sequence number of BATCH_BEGIN */
	struct msg_rec *msgs;
	size_t nmsgs, msgs_cap;
	struct set_ref *sets; /* sorted by name */
	size_t nsets;
	/* The element lists of sets created in this batch name their set
	 * by id only (kernel_finds_new_sets_by_id()). */
	bool sets_by_id;
	/* Only BATCH_END asks for an ack (kernel_acks_batch_end()). */
	bool ack_end_only;
	struct kn_err *err;
};

/* ---------------------------------------------------------------- socket */

/* Grows a socket buffer towards want bytes and returns its size as the
 * kernel reports it (twice what was asked, for its bookkeeping).  With
 * CAP_NET_ADMIN in the initial user namespace the FORCE variant ignores
 * net.core.{w,r}mem_max; otherwise (a rootless container, say) the
 * kernel silently caps the value. */
static int
sock_grow_buf(struct kn_nl *nl, bool snd, size_t want)
{
	int fd = mnl_socket_get_fd(nl->sock);
	int *cur = snd ? &nl->sndbuf : &nl->rcvbuf;
	socklen_t len = sizeof(*cur);
	int val;

	if (want > INT_MAX / 2)
		want = INT_MAX / 2;
	if ((int)want <= *cur)
		return *cur;
	val = (int)want;
	if (setsockopt(fd, SOL_SOCKET, snd ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, &val, sizeof(val)) <
	    0)
		(void)setsockopt(fd, SOL_SOCKET, snd ? SO_SNDBUF : SO_RCVBUF, &val, sizeof(val));
	if (getsockopt(fd, SOL_SOCKET, snd ? SO_SNDBUF : SO_RCVBUF, cur, &len) < 0)
		*cur = 0;
	return *cur;
}

/* True when the running kernel's release is at least want_major.want_minor.
 * A release we cannot read counts as old. */
static bool
kernel_at_least(int want_major, int want_minor)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > want_major || (major == want_major && minor >= want_minor);
}

/* Kernels before 6.2 drop a map element's reference to its chain only
 * some time after the transaction that deleted the element (when the
 * element is freed), so deleting the chain in that transaction fails
 * with EBUSY. */
static bool
kernel_defers_chain_release(void)
{
	return getenv(KN_NL_TEST_DEFER_ENV) != NULL || !kernel_at_least(6, 2);
}

/* The kernel finds the set of an element list by its name, walking the
 * table's list of sets and comparing every name (strlen and memcmp of
 * names of 60 bytes on average at 10k pods), and only when that fails by
 * the batch-local id.  Since 6.11 ("netfilter: nf_tables: store new sets
 * in dedicated list") it looks an id up among the sets of the
 * transaction, newest first: an element list that follows its NEWSET and
 * carries the id alone is found at once.  Before, the id lookup walked
 * the whole transaction (every element and rule of it): there the name
 * is faster. */
static bool
kernel_finds_new_sets_by_id(void)
{
	return getenv(KN_NL_TEST_BY_NAME_ENV) == NULL && kernel_at_least(6, 11);
}

/* Kernels since 6.10 ("netfilter: nfnetlink: Handle ACK flags for batch
 * messages") acknowledge BATCH_BEGIN and BATCH_END when asked to.  An
 * ack is an skb the kernel builds and we read, one per message otherwise
 * (1300 at 10k pods, 5% of a full sync). */
static bool
kernel_acks_batch_end(void)
{
	return getenv(KN_NL_TEST_ACK_ALL_ENV) == NULL && kernel_at_least(6, 10);
}

static void
stale_clear(struct kn_nl *nl)
{
	for (size_t i = 0; i < nl->nstale; i++)
		free(nl->stale[i]);
	free(nl->stale);
	nl->stale = NULL;
	nl->nstale = 0;
}

struct kn_nl *
kn_nl_open(struct kn_err *err)
{
	struct kn_nl *nl;
	int one = 1;
	int fd;

	nl = xcalloc(1, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl->sock == NULL) {
		kn_errf(err, -errno, "netlink socket: %s", strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		kn_errf(err, -errno, "netlink bind: %s", strerror(errno));
		goto fail;
	}
	fd = mnl_socket_get_fd(nl->sock);
	/* Extended acks carry the kernel's message and the offset of the
	 * offending attribute; capped acks do not echo the request back,
	 * which keeps the ack of a 64 KiB element list small. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		kn_errf(err, -errno, "netlink socket options: %s", strerror(errno));
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	/* Start where a previous process is unlikely to have left off, as
	 * nft does; replies are matched by sequence number. */
	nl->seq = (uint32_t)time(NULL);
	nl->defer_chain_delete = kernel_defers_chain_release();
	nl->sets_by_id = kernel_finds_new_sets_by_id();
	nl->ack_end_only = kernel_acks_batch_end();
	sock_grow_buf(nl, true, KN_NL_BUF_DEFAULT);
	sock_grow_buf(nl, false, KN_NL_BUF_DEFAULT);
	return nl;
fail:
	kn_nl_close(nl);
	return NULL;
}

void
kn_nl_close(struct kn_nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	stale_clear(nl);
	free(nl->buf);
	free(nl);
}

void
kn_nl_get_stats(const struct kn_nl *nl, struct kn_nl_stats *ret)
{
	*ret = nl->stats;
}

uint32_t
kn_nl_portid(const struct kn_nl *nl)
{
	return nl->portid;
}

/* ---------------------------------------------------------------- batch */

/* Frees the batch; its buffer goes back to nl for the next batch unless
 * nl is NULL or the buffer grew too large to keep. */
static void
batch_free(struct batch *b, struct kn_nl *nl)
{
	if (nl != NULL && b->buf != NULL && b->cap <= KN_NL_BUF_KEEP) {
		nl->buf = b->buf;
		nl->buf_cap = b->cap;
	} else {
		free(b->buf);
	}
	free(b->msgs);
	free(b->sets);
}

/* The next message's place, with room for the largest message. */
static char *
batch_tail(struct batch *b)
{
	if (b->cap - b->bytes < KN_NL_MSG_MAX) {
		size_t cap = b->cap > 0 ? b->cap : KN_NL_MSG_MAX;

		while (cap - b->bytes < KN_NL_MSG_MAX)
			cap *= 2;
		b->buf = xrealloc(b->buf, cap);
		b->cap = cap;
	}
	return b->buf + b->bytes;
}

static uint32_t
batch_seq(const struct batch *b)
{
	return b->seq0 + (uint32_t)b->nmsgs;
}

/* Starts a message in the batch and records what it carries. */
static struct nlmsghdr *
msg_start(struct batch *b, uint16_t type, uint16_t flags, enum msg_kind kind, const void *obj,
	  size_t idx)
{
	struct msg_rec *m;
	struct nlmsghdr *nlh;

	if (!b->ack_end_only)
		flags |= NLM_F_ACK;
	nlh = nftnl_nlmsg_build_hdr(batch_tail(b), type, NFPROTO_INET, flags, batch_seq(b));
	m = VEC_PUSH(b->msgs, b->nmsgs, b->msgs_cap);
	m->kind = kind;
	m->obj = obj;
	m->idx = idx;
	return nlh;
}

/* Closes the message that nlh started. */
static int
msg_end(struct batch *b, const struct nlmsghdr *nlh)
{
	b->bytes += NLMSG_ALIGN(nlh->nlmsg_len);
	if (b->bytes > KN_NL_BATCH_MAX)
		return kn_errf(b->err, -E2BIG, "batch larger than %u bytes", KN_NL_BATCH_MAX);
	return 0;
}

static int
batch_begin_end(struct batch *b, bool begin)
{
	struct nlmsghdr *nlh;
	struct msg_rec *m;

	if (begin)
		nlh = nftnl_batch_begin(batch_tail(b), batch_seq(b));
	else
		nlh = nftnl_batch_end(batch_tail(b), batch_seq(b));
	/* Kernels since 6.10 acknowledge BEGIN and END when asked to; older
	 * ones ignore the flag.  END's ack tells us the batch is done. */
	if (!begin || !b->ack_end_only)
		nlh->nlmsg_flags |= NLM_F_ACK;
	m = VEC_PUSH(b->msgs, b->nmsgs, b->msgs_cap);
	m->kind = begin ? MSG_BEGIN : MSG_END;
	m->obj = NULL;
	m->idx = 0;
	return msg_end(b, nlh);
}

static void
rule_describe(const struct kn_chain *c, size_t i, char *buf, size_t len)
{
	const struct kn_rule *r = &c->rules[i];

	if (r->comment != NULL)
		snprintf(buf, len, "rule %zu of chain %s (%s)", i + 1, c->name, r->comment);
	else
		snprintf(buf, len, "rule %zu of chain %s", i + 1, c->name);
}

/* Formats what message seq carried: "set NAME", "rule 3 of chain NAME
 * (comment)"... */
static void
msg_describe(const struct batch *b, uint32_t seq, char *buf, size_t len)
{
	const struct msg_rec *m = &b->msgs[seq - b->seq0];

	switch (m->kind) {
	case MSG_BEGIN:
		snprintf(buf, len, "batch begin");
		break;
	case MSG_END:
		snprintf(buf, len, "batch end (commit)");
		break;
	case MSG_TABLE:
		snprintf(buf, len, "table inet %s", b->table);
		break;
	case MSG_DELTABLE:
		snprintf(buf, len, "delete table inet %s", b->table);
		break;
	case MSG_CHAIN:
		snprintf(buf, len, "chain %s", ((const struct kn_chain *)m->obj)->name);
		break;
	case MSG_SET:
		snprintf(buf, len, "%s %s", ((const struct kn_set *)m->obj)->vmap ? "map" : "set",
			 ((const struct kn_set *)m->obj)->name);
		break;
	case MSG_ELEMS:
		snprintf(buf, len, "elements of %s %s",
			 ((const struct kn_set *)m->obj)->vmap ? "map" : "set",
			 ((const struct kn_set *)m->obj)->name);
		break;
	case MSG_RULE:
		rule_describe(m->obj, m->idx, buf, len);
		break;
	case MSG_FLUSH:
		snprintf(buf, len, "flush chain %s", ((const struct kn_chain *)m->obj)->name);
		break;
	case MSG_DELCHAIN:
		snprintf(buf, len, "delete chain %s", (const char *)m->obj);
		break;
	case MSG_DELSET:
		snprintf(buf, len, "delete %s %s",
			 ((const struct kn_set *)m->obj)->vmap ? "map" : "set",
			 ((const struct kn_set *)m->obj)->name);
		break;
	case MSG_DELELEMS:
		snprintf(buf, len, "delete elements of %s %s",
			 ((const struct kn_set *)m->obj)->vmap ? "map" : "set",
			 ((const struct kn_set *)m->obj)->name);
		break;
	}
}

/* Calls fn on every message of the built batch, in order, until it
 * returns true; returns that message or NULL. */
static struct nlmsghdr *
batch_walk(const struct batch *b, bool (*fn)(struct nlmsghdr *, const void *), const void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)b->buf;
	int rem = (int)b->bytes;

	for (; b->buf != NULL && mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		if (fn(nlh, arg))
			return nlh;
	}
	return NULL;
}

static bool
is_seq(struct nlmsghdr *nlh, const void *seq)
{
	return nlh->nlmsg_seq == *(const uint32_t *)seq;
}

/* Finds the message with sequence number seq in the built batch. */
static struct nlmsghdr *
batch_find(const struct batch *b, uint32_t seq)
{
	return batch_walk(b, is_seq, &seq);
}

static bool
clear_ack(struct nlmsghdr *nlh, const void *end_seq)
{
	if (nlh->nlmsg_seq != *(const uint32_t *)end_seq)
		nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	return false;
}

/* Clears NLM_F_ACK on every message but BATCH_END: the kernel then
 * acknowledges only errors (always) and END (since 6.10), which is what
 * nft asks for.  Used when the receive buffer cannot hold one ack per
 * message. */
static void
batch_ack_errors_only(struct batch *b)
{
	uint32_t end_seq = b->seq0 + (uint32_t)b->nmsgs - 1;

	batch_walk(b, clear_ack, &end_seq);
}

/* Test hook: KN_TEST_FAIL_AT=N makes the kernel reject message N of the
 * next batch, so that the netns tests can check that a rejected batch
 * leaves the previous ruleset in place and that the error names the
 * object.  N counts the messages after BATCH_BEGIN from 1 (1 is the first
 * NEWTABLE); a negative N counts back from BATCH_END (-1 is the last
 * rule).  The message's table name is changed so that it names a table
 * that does not exist (ENOENT, with the attribute in the extended ack);
 * a NEWTABLE, which would just create that table, gets a message type the
 * kernel does not know (EINVAL).  Unset or out of range: no effect. */
static void
batch_test_corrupt(struct batch *b)
{
	const char *env = getenv(KN_NL_TEST_ENV);
	struct nlmsghdr *nlh;
	struct nlattr *attr;
	long n;
	char *end;

	if (env == NULL || *env == '\0')
		return;
	n = strtol(env, &end, 10);
	if (*end != '\0' || n == 0)
		return;
	if (n < 0)
		n += (long)b->nmsgs - 1;
	if (n <= 0 || n >= (long)b->nmsgs - 1)
		return;
	nlh = batch_find(b, b->seq0 + (uint32_t)n);
	if (nlh == NULL)
		return;
	if (b->msgs[n].kind == MSG_TABLE) {
		nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_MAX;
		return;
	}
	/* The table name is attribute 1 in every message we send
	 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE,
	 * NFTA_SET_ELEM_LIST_TABLE, NFTA_RULE_TABLE). */
	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) == 1 && mnl_attr_get_payload_len(attr) > 1) {
			*(char *)mnl_attr_get_payload(attr) = KN_NL_TEST_TABLE_MARK;
			return;
		}
	}
}

/* ---------------------------------------------------------------- keys */

/* Length in bytes of a key, every concatenated field taking a multiple of
 * 4 bytes (a 32-bit register each). */
static uint32_t
key_len(enum kn_key_type key)
{
	switch (key) {
	case KN_KEY_IPV4:
		return 4;
	case KN_KEY_IPV6:
		return 16;
	case KN_KEY_PROTO_PORT:
		return 4 + 4;
	case KN_KEY_IPV4_PROTO_PORT:
		return 4 + 4 + 4;
	case KN_KEY_IPV6_PROTO_PORT:
		return 16 + 4 + 4;
	}
	return 0;
}

static uint32_t
key_type(enum kn_key_type key)
{
	const uint32_t pp = NFT_TYPE_INET_PROTO << NFT_TYPE_BITS | NFT_TYPE_INET_SERVICE;

	switch (key) {
	case KN_KEY_IPV4:
		return NFT_TYPE_IPADDR;
	case KN_KEY_IPV6:
		return NFT_TYPE_IP6ADDR;
	case KN_KEY_PROTO_PORT:
		return pp;
	case KN_KEY_IPV4_PROTO_PORT:
		return NFT_TYPE_IPADDR << (2 * NFT_TYPE_BITS) | pp;
	case KN_KEY_IPV6_PROTO_PORT:
		return NFT_TYPE_IP6ADDR << (2 * NFT_TYPE_BITS) | pp;
	}
	return 0;
}

static bool
key_is_concat(enum kn_key_type key)
{
	return key != KN_KEY_IPV4 && key != KN_KEY_IPV6;
}

/* Address family of the key's address field, 0 for none. */
static int
key_family(enum kn_key_type key)
{
	switch (key) {
	case KN_KEY_IPV4:
	case KN_KEY_IPV4_PROTO_PORT:
		return AF_INET;
	case KN_KEY_IPV6:
	case KN_KEY_IPV6_PROTO_PORT:
		return AF_INET6;
	case KN_KEY_PROTO_PORT:
		break;
	}
	return 0;
}

/* Field lengths for NFTA_SET_DESC_CONCAT, in bytes of data (not rounded),
 * zero-terminated. */
static void
key_fields(enum kn_key_type key, uint8_t fields[NFT_REG32_COUNT])
{
	size_t n = 0;

	memset(fields, 0, NFT_REG32_COUNT);
	if (key_family(key) != 0)
		fields[n++] = (uint8_t)kn_addr_len(key_family(key));
	fields[n++] = 1; /* inet_proto */
	fields[n++] = 2; /* inet_service */
}

/* Writes the key of e (or its end, for the KEY_END of a concatenated
 * range) into buf: address bytes, then the protocol and the port in
 * network byte order, each field padded to 4 bytes as nft does.  Only
 * the port is a range in concatenations (the text backend writes
 * "ADDR . PROTO . PORT-END"), so the address is the same in both. */
static uint32_t
key_encode(enum kn_key_type key, const struct kn_elem *e, bool end, uint8_t *buf)
{
	const struct kn_addr *a = &e->addr;
	uint16_t port = end && e->port_end > e->port ? e->port_end : e->port;
	uint32_t off = 0;
	int fam = key_family(key);

	memset(buf, 0, key_len(key));
	if (fam != 0) {
		memcpy(buf, a->bytes, (size_t)kn_addr_len(fam));
		off = (uint32_t)kn_addr_len(fam);
	}
	if (key_is_concat(key)) {
		buf[off] = e->proto;
		buf[off + 4] = (uint8_t)(port >> 8);
		buf[off + 5] = (uint8_t)(port & 0xff);
	}
	return key_len(key);
}

static bool
addr_is_zero(const struct kn_addr *a)
{
	int i;

	for (i = 0; i < kn_addr_len(a->family); i++) {
		if (a->bytes[i] != 0)
			return false;
	}
	return true;
}

/* *a += 1; returns false when a was the top address (no successor). */
static bool
addr_next(struct kn_addr *a)
{
	int i;

	for (i = kn_addr_len(a->family) - 1; i >= 0; i--) {
		if (++a->bytes[i] != 0)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- user data */

/* User data is a list of {u8 type, u8 len, value} records; 256 bytes
 * holds any of ours (a comment is at most 128 bytes). */
#define KN_UDATA_MAX 256

static int
comment_check(const char *comment)
{
	return comment != NULL && strlen(comment) >= NFTNL_UDATA_COMMENT_MAXLEN ? -EINVAL : 0;
}

/* Appends a user data record {type, length, value} to ud (nftnl_udata's
 * layout); ud has room for a comment and a flag (comment_check). */
static void
udata_put(uint8_t *ud, size_t *len, uint8_t type, const void *value, uint8_t n)
{
	ud[(*len)++] = type;
	ud[(*len)++] = n;
	memcpy(ud + *len, value, n);
	*len += n;
}

/* ---------------------------------------------------------------- attributes */

/* The attribute writers of libmnl, inline: a 10k-pod sync writes some
 * 45,000 attributes, and libmnl's are calls through the PLT, each calling
 * more of them. */
static inline struct nlattr *
attr_tail(const struct nlmsghdr *nlh)
{
	return (struct nlattr *)((char *)nlh + MNL_ALIGN(nlh->nlmsg_len));
}

/* mnl_attr_put(), padding included: libmnl 1.0.4 leaves the padding
 * bytes as the buffer had them, and the batch's pages are reused heap
 * memory.  The kernel ignores them; we send zeros all the same. */
static inline void
attr_put(struct nlmsghdr *nlh, uint16_t type, size_t len, const void *data)
{
	struct nlattr *attr = attr_tail(nlh);
	char *v = (char *)attr + MNL_ATTR_HDRLEN;

	attr->nla_type = type;
	attr->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + len);
	/* The last word first, so that its padding ends up zero. */
	if (len % 4 != 0)
		memset(v + (len & ~(size_t)3), 0, 4);
	memcpy(v, data, len);
	nlh->nlmsg_len += MNL_ALIGN(attr->nla_len);
}

/* mnl_attr_nest_start() and mnl_attr_nest_end(). */
static inline struct nlattr *
nest_start(struct nlmsghdr *nlh, uint16_t type)
{
	struct nlattr *attr = attr_tail(nlh);

	attr->nla_type = NLA_F_NESTED | type;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(struct nlattr));
	return attr;
}

static inline void
nest_end(struct nlmsghdr *nlh, struct nlattr *start)
{
	start->nla_len = (uint16_t)((char *)attr_tail(nlh) - (char *)start);
}

static inline void
attr_put_u32(struct nlmsghdr *nlh, uint16_t type, uint32_t v)
{
	attr_put(nlh, type, sizeof(v), &v);
}

static inline void
attr_put_strz(struct nlmsghdr *nlh, uint16_t type, const char *s)
{
	attr_put(nlh, type, strlen(s) + 1, s);
}

/* ---------------------------------------------------------------- table, chains */

static int
put_table(struct batch *b, uint16_t type, enum msg_kind kind)
{
	struct nftnl_table *t;
	struct nlmsghdr *nlh;
	int ret;

	t = nftnl_table_alloc();
	if (t == NULL)
		return kn_errf(b->err, -ENOMEM, "table: out of memory");
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0) {
		ret = kn_errf(b->err, -ENOMEM, "table: out of memory");
		goto out;
	}
	/* No NFT_TABLE_F_OWNER: kube-nftctl is short-lived and an owned
	 * table goes away with its socket. */
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	nlh = msg_start(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, kind, NULL, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	ret = msg_end(b, nlh);
out:
	nftnl_table_free(t);
	return ret;
}

/*	chain NAME {
 *		comment "..."
 *		type filter hook forward priority P; policy accept;
 *	}
 * written as nftnl_chain_nlmsg_build_payload() writes it: TABLE, NAME,
 * HOOK { HOOKNUM, PRIORITY }, POLICY, TYPE, USERDATA.
 */
static int
put_chain(struct batch *b, const struct kn_chain *c)
{
	uint8_t ud[KN_UDATA_MAX];
	size_t udlen = 0;
	struct nlmsghdr *nlh;
	struct nlattr *hook;

	if (comment_check(c->comment) < 0)
		return kn_errf(b->err, -EINVAL, "chain %s: comment too long", c->name);
	/* EXCL: two chains of one name in a program are a compiler bug. */
	nlh = msg_start(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, MSG_CHAIN, c, 0);
	attr_put_strz(nlh, NFTA_CHAIN_TABLE, b->table);
	attr_put_strz(nlh, NFTA_CHAIN_NAME, c->name);
	if (c->hook != KN_HOOK_NONE) {
		hook = nest_start(nlh, NFTA_CHAIN_HOOK);
		attr_put_u32(
			nlh, NFTA_HOOK_HOOKNUM,
			htonl(c->hook == KN_HOOK_FORWARD ? NF_INET_FORWARD : NF_INET_LOCAL_IN));
		attr_put_u32(nlh, NFTA_HOOK_PRIORITY, htonl((uint32_t)c->prio));
		nest_end(nlh, hook);
		attr_put_u32(nlh, NFTA_CHAIN_POLICY, htonl(NF_ACCEPT));
		attr_put_strz(nlh, NFTA_CHAIN_TYPE, "filter");
	}
	if (c->comment != NULL) {
		udata_put(ud, &udlen, NFTNL_UDATA_CHAIN_COMMENT, c->comment,
			  (uint8_t)(strlen(c->comment) + 1));
		attr_put(nlh, NFTA_CHAIN_USERDATA, udlen, ud);
	}
	return msg_end(b, nlh);
}

/* ---------------------------------------------------------------- sets */

/* A user data record that holds records (nftnl_udata_nest_start()): its
 * length is set by udata_nest_end(). */
static size_t
udata_nest_start(uint8_t *ud, size_t *len, uint8_t type)
{
	size_t start = *len;

	ud[(*len)++] = type;
	ud[(*len)++] = 0;
	return start;
}

static void
udata_nest_end(uint8_t *ud, size_t len, size_t start)
{
	ud[start + 1] = (uint8_t)(len - start - 2);
}

static void
udata_put_u32(uint8_t *ud, size_t *len, uint8_t type, uint32_t v)
{
	udata_put(ud, len, type, &v, sizeof(v));
}

/* The set's user data as nft 1.0.6 writes it (mnl_nft_set_add): key byte
 * order, for maps the data byte order, for concatenations a "typeof"
 * record holding an empty concatenation, for maps whether the data is an
 * interval, and the comment.  nft reads these back to print the key and
 * ranges ("10.0.0.0/8" rather than "10.0.0.0-10.255.255.255").  Returns
 * its length. */
static size_t
set_udata(const struct kn_set *s, uint8_t *ud)
{
	bool concat = key_is_concat(s->key);
	size_t len = 0, n1, n2;

	udata_put_u32(ud, &len, NFTNL_UDATA_SET_KEYBYTEORDER,
		      concat ? NFT_BYTEORDER_INVALID : NFT_BYTEORDER_BIG_ENDIAN);
	if (s->vmap)
		udata_put_u32(ud, &len, NFTNL_UDATA_SET_DATABYTEORDER, NFT_BYTEORDER_INVALID);
	if (concat) {
		n1 = udata_nest_start(ud, &len, NFTNL_UDATA_SET_KEY_TYPEOF);
		udata_put_u32(ud, &len, NFTNL_UDATA_SET_TYPEOF_EXPR, NFT_EXPR_CONCAT);
		n2 = udata_nest_start(ud, &len, NFTNL_UDATA_SET_TYPEOF_DATA);
		udata_nest_end(ud, len, n2);
		udata_nest_end(ud, len, n1);
	}
	if (s->vmap)
		udata_put_u32(ud, &len, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	if (s->comment != NULL)
		udata_put(ud, &len, NFTNL_UDATA_SET_COMMENT, s->comment,
			  (uint8_t)(strlen(s->comment) + 1));
	return len;
}

/*	set NAME {
 *		type ipv4_addr . inet_proto . inet_service
 *		size 64				(hash sets)
 *		flags interval			(interval sets)
 *		comment "..."
 *	}
 * or
 *	map NAME {
 *		type ipv4_addr : verdict
 *		comment "..."
 *	}
 * written as nftnl_set_nlmsg_build_payload() writes it: TABLE, NAME,
 * FLAGS, KEY_TYPE, KEY_LEN, DATA_TYPE, DATA_LEN, ID, DESC { SIZE, CONCAT {
 * field lengths } }, USERDATA.
 */
static int
put_set(struct batch *b, const struct kn_set *s, uint32_t id)
{
	uint8_t fields[NFT_REG32_COUNT];
	uint8_t ud[KN_UDATA_MAX];
	struct nlattr *desc, *concat, *field;
	struct nlmsghdr *nlh;
	uint32_t flags = 0;
	size_t udlen;

	if (key_len(s->key) == 0)
		return kn_errf(b->err, -EINVAL, "set %s: unknown key type %d", s->name,
			       (int)s->key);
	if (s->vmap && s->interval)
		return kn_errf(b->err, -EINVAL, "map %s: interval verdict maps are not supported",
			       s->name);
	if (comment_check(s->comment) < 0)
		return kn_errf(b->err, -EINVAL, "set %s: comment too long", s->name);
	if (s->interval)
		flags |= NFT_SET_INTERVAL;
	/* Concatenated ranges (the pipapo backend) need the field layout. */
	if (s->interval && key_is_concat(s->key))
		flags |= NFT_SET_CONCAT;
	if (s->vmap)
		flags |= NFT_SET_MAP;
	nlh = msg_start(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, MSG_SET, s, 0);
	attr_put_strz(nlh, NFTA_SET_TABLE, b->table);
	attr_put_strz(nlh, NFTA_SET_NAME, s->name);
	attr_put_u32(nlh, NFTA_SET_FLAGS, htonl(flags));
	attr_put_u32(nlh, NFTA_SET_KEY_TYPE, htonl(key_type(s->key)));
	attr_put_u32(nlh, NFTA_SET_KEY_LEN, htonl(key_len(s->key)));
	if (s->vmap) {
		attr_put_u32(nlh, NFTA_SET_DATA_TYPE, htonl(NFT_DATA_VERDICT));
		attr_put_u32(nlh, NFTA_SET_DATA_LEN, htonl(0));
	}
	attr_put_u32(nlh, NFTA_SET_ID, htonl(id));
	if (s->size && !s->interval) {
		/* A size makes the kernel choose its fixed-size hash, which
		 * an interval set cannot use (program.h). */
		desc = nest_start(nlh, NFTA_SET_DESC);
		attr_put_u32(nlh, NFTA_SET_DESC_SIZE, htonl(s->size));
		nest_end(nlh, desc);
	} else if (flags & NFT_SET_CONCAT) {
		key_fields(s->key, fields);
		desc = nest_start(nlh, NFTA_SET_DESC);
		concat = nest_start(nlh, NFTA_SET_DESC_CONCAT);
		for (size_t i = 0; i < NFT_REG32_COUNT && fields[i] != 0; i++) {
			field = nest_start(nlh, NFTA_LIST_ELEM);
			attr_put_u32(nlh, NFTA_SET_FIELD_LEN, htonl(fields[i]));
			nest_end(nlh, field);
		}
		nest_end(nlh, concat);
		nest_end(nlh, desc);
	}
	udlen = set_udata(s, ud);
	attr_put(nlh, NFTA_SET_USERDATA, udlen, ud);
	return msg_end(b, nlh);
}

/* ---------------------------------------------------------------- elements */

/* Element lists are written straight into the batch: a full sync
 * carries thousands of elements, and a libnftnl object for each
 * (allocated, filled, copied into the message and freed) was most of
 * the time spent building the batch.  The bytes are the ones
 * nftnl_set_elems_nlmsg_build_payload_iter() of libnftnl 1.2.4 writes
 * (tests/unit/netlink_test.c rebuilds every element list with it and
 * compares), but for zeros in the padding (attr_put):
 *
 *	NFTA_SET_ELEM_LIST_SET		the set's name (not for sets new
 *					in this batch, kernels since 6.11)
 *	NFTA_SET_ELEM_LIST_SET_ID	its batch-local id
 *	NFTA_SET_ELEM_LIST_TABLE
 *	NFTA_SET_ELEM_LIST_ELEMENTS	nest of elements, numbered from 1:
 *		NFTA_SET_ELEM_FLAGS	NFT_SET_ELEM_INTERVAL_END
 *		NFTA_SET_ELEM_KEY	{ NFTA_DATA_VALUE }
 *		NFTA_SET_ELEM_KEY_END	{ NFTA_DATA_VALUE }
 *		NFTA_SET_ELEM_DATA	{ NFTA_DATA_VERDICT { CODE, CHAIN } }
 *		NFTA_SET_ELEM_USERDATA	comment, nft's open-interval flag
 *
 * An attribute's length is 16 bits, so a list stops short of 64 KiB: the
 * element that does not fit any more is taken back and opens the next
 * message, as libnftnl does. */
struct elem_list {
	struct batch *b;
	const struct kn_set *s;
	uint32_t id;
	uint16_t type, flags; /* message type and flags */
	enum msg_kind kind;
	bool by_id;	      /* the set is new in this batch: its id alone */
	struct nlmsghdr *nlh; /* the message being written, or NULL */
	struct nlattr *list;  /* its NFTA_SET_ELEM_LIST_ELEMENTS */
	uint16_t n;	      /* elements in it */
};

static void
elem_list_init(struct elem_list *el, struct batch *b, const struct kn_set *s, uint32_t id,
	       uint16_t type, uint16_t flags, enum msg_kind kind)
{
	memset(el, 0, sizeof(*el));
	el->b = b;
	el->s = s;
	el->id = id;
	el->type = type;
	el->flags = flags;
	el->kind = kind;
}

static void
elem_list_open(struct elem_list *el)
{
	el->nlh = msg_start(el->b, el->type, el->flags, el->kind, el->s, 0);
	if (!el->by_id)
		attr_put_strz(el->nlh, NFTA_SET_ELEM_LIST_SET, el->s->name);
	attr_put_u32(el->nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(el->id));
	attr_put_strz(el->nlh, NFTA_SET_ELEM_LIST_TABLE, el->b->table);
	el->list = nest_start(el->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	el->n = 0;
}

/* Ends the message being written, if any. */
static int
elem_list_close(struct elem_list *el)
{
	struct nlmsghdr *nlh = el->nlh;

	if (nlh == NULL)
		return 0;
	el->nlh = NULL;
	nest_end(nlh, el->list);
	return msg_end(el->b, nlh);
}

/* Writes the attributes of one element (see above). */
static void
elem_payload(struct nlmsghdr *nlh, const uint8_t *key, const uint8_t *key_end, uint32_t len,
	     uint32_t flags, bool open, const char *comment, const char *target)
{
	struct nlattr *n1, *n2;
	uint8_t ud[KN_UDATA_MAX];
	size_t udlen = 0;

	if (flags != 0)
		attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
	n1 = nest_start(nlh, NFTA_SET_ELEM_KEY);
	attr_put(nlh, NFTA_DATA_VALUE, len, key);
	nest_end(nlh, n1);
	if (key_end != NULL) {
		n1 = nest_start(nlh, NFTA_SET_ELEM_KEY_END);
		attr_put(nlh, NFTA_DATA_VALUE, len, key_end);
		nest_end(nlh, n1);
	}
	if (target != NULL) {
		n1 = nest_start(nlh, NFTA_SET_ELEM_DATA);
		n2 = nest_start(nlh, NFTA_DATA_VERDICT);
		attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)NFT_GOTO));
		attr_put_strz(nlh, NFTA_VERDICT_CHAIN, target);
		nest_end(nlh, n2);
		nest_end(nlh, n1);
	}
	if (comment != NULL)
		udata_put(ud, &udlen, NFTNL_UDATA_SET_ELEM_COMMENT, comment,
			  (uint8_t)(strlen(comment) + 1));
	if (open) {
		uint32_t f = NFTNL_SET_ELEM_F_INTERVAL_OPEN;

		udata_put(ud, &udlen, NFTNL_UDATA_SET_ELEM_FLAGS, &f, sizeof(f));
	}
	if (udlen > 0)
		attr_put(nlh, NFTA_SET_ELEM_USERDATA, udlen, ud);
}

/* Adds one element.  key_end: the KEY_END of a concatenated range, or
 * NULL.  flags: NFT_SET_ELEM_INTERVAL_END or 0.  open: the element starts
 * a range that runs to the top address (nft's half-open flag).  target:
 * for maps, the chain to goto. */
static int
elem_add(struct elem_list *el, const uint8_t *key, const uint8_t *key_end, uint32_t len,
	 uint32_t flags, bool open, const char *comment, const char *target)
{
	struct nlattr *nest;
	int ret;

	if (el->nlh == NULL)
		elem_list_open(el);
	nest = nest_start(el->nlh, ++el->n);
	elem_payload(el->nlh, key, key_end, len, flags, open, comment, target);
	nest_end(el->nlh, nest);
	if ((const char *)nest + nest->nla_len - (const char *)el->list <= UINT16_MAX)
		return 0;
	/* The list would overflow: take the element back, end the message
	 * and start the next one with it. */
	el->nlh->nlmsg_len -= nest->nla_len;
	if ((ret = elem_list_close(el)) < 0)
		return ret;
	elem_list_open(el);
	nest = nest_start(el->nlh, ++el->n);
	elem_payload(el->nlh, key, key_end, len, flags, open, comment, target);
	nest_end(el->nlh, nest);
	return 0;
}

/* Checks one element against its set. */
static const char *
elem_check(const struct kn_set *s, const struct kn_elem *e)
{
	int fam = key_family(s->key);

	if (fam != 0 && e->addr.family != fam)
		return "address family does not match the set";
	if (fam != 0 && e->addr_end.family != 0 && e->addr_end.family != fam)
		return "address family does not match the set";
	if (s->interval && e->addr_end.family != 0 && kn_addr_cmp(&e->addr_end, &e->addr) < 0)
		return "range ends before it starts";
	if (s->vmap && e->target == NULL)
		return "map element without a target chain";
	if (comment_check(e->comment) < 0)
		return "comment too long";
	return NULL;
}

/* Plain interval sets (the rbtree backend) hold a range [first, last] as
 * a start element at first and an end element (NFT_SET_ELEM_INTERVAL_END)
 * at last + 1.  As nft 1.0.6 does:
 *  - a range that ends at the top address has no end element, and its
 *    start element carries nft's "open interval" user data flag, which
 *    nft needs to print it as a prefix ("255.255.255.0/24");
 *  - when the first range does not start at 0, an end element at 0
 *    comes first.
 * Ranges must be sorted and disjoint. */
static int
elems_interval(const struct kn_set *s, struct elem_list *el, const char **why)
{
	uint8_t key[16];
	struct kn_addr first, next;
	uint32_t len = key_len(s->key);
	size_t i;
	int ret;

	if (s->nelems > 0 && !addr_is_zero(&s->elems[0].addr)) {
		memset(key, 0, sizeof(key));
		ret = elem_add(el, key, NULL, len, NFT_SET_ELEM_INTERVAL_END, false, NULL, NULL);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < s->nelems; i++) {
		const struct kn_elem *e = &s->elems[i];
		bool open;

		first = e->addr;
		next = e->addr_end.family != 0 ? e->addr_end : e->addr;
		if (i > 0) {
			const struct kn_elem *p = &s->elems[i - 1];
			const struct kn_addr *plast =
				p->addr_end.family != 0 ? &p->addr_end : &p->addr;

			if (kn_addr_cmp(plast, &first) >= 0) {
				*why = "ranges overlap or are not sorted";
				return -EINVAL;
			}
		}
		open = !addr_next(&next);
		ret = elem_add(el, first.bytes, NULL, len, 0, open, e->comment, NULL);
		if (ret < 0)
			return ret;
		if (open) {
			if (i + 1 < s->nelems) {
				*why = "ranges overlap or are not sorted";
				return -EINVAL;
			}
			break;
		}
		ret = elem_add(el, next.bytes, NULL, len, NFT_SET_ELEM_INTERVAL_END, false, NULL,
			       NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Every other set: one element per IR element; concatenated interval
 * sets (pipapo) with KEY and KEY_END, both inclusive. */
static int
elems_plain(const struct kn_set *s, struct elem_list *el)
{
	uint8_t key[NFT_DATA_VALUE_MAXLEN], key_end[NFT_DATA_VALUE_MAXLEN];
	size_t i;
	int ret;

	for (i = 0; i < s->nelems; i++) {
		const struct kn_elem *e = &s->elems[i];
		uint32_t len = key_encode(s->key, e, false, key);

		if (s->interval)
			key_encode(s->key, e, true, key_end);
		ret = elem_add(el, key, s->interval ? key_end : NULL, len, 0, false, e->comment,
			       s->vmap ? e->target : NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*	elements = { 10.0.0.0/8 comment "...", tcp . 80-90, 10.1.2.3 : goto CHAIN }
 *
 * As many NEWSETELEM messages as needed: an element list holds at most
 * 64 KiB. */
static int
put_elems(struct batch *b, const struct kn_set *s, uint32_t id)
{
	struct elem_list el;
	const char *why = NULL;
	size_t i;
	int ret;

	if (s->nelems == 0)
		return 0;
	for (i = 0; i < s->nelems; i++) {
		why = elem_check(s, &s->elems[i]);
		if (why != NULL)
			return kn_errf(b->err, -EINVAL, "element %zu of set %s: %s", i + 1, s->name,
				       why);
	}
	/* EXCL: a duplicate element is a compiler bug (kn_set_finalize
	 * removes them), and the kernel would take it silently. */
	elem_list_init(&el, b, s, id, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, MSG_ELEMS);
	/* s is new in this batch (a full sync, or a set the plan creates). */
	el.by_id = b->sets_by_id;
	if (s->interval && !key_is_concat(s->key))
		ret = elems_interval(s, &el, &why);
	else
		ret = elems_plain(s, &el);
	if (ret == 0)
		ret = elem_list_close(&el);
	if (ret == -EINVAL && why != NULL)
		kn_errf(b->err, ret, "elements of set %s: %s", s->name, why);
	return ret;
}

/* Element changes of an incremental batch (kn_nl_commit): the kernel
 * elements of the program elements v[0..n), one by one, as
 * elems_interval() and elems_plain() make them, and nft's end element at
 * 0 when zero_end is set.  A delete carries only what identifies an
 * element (KEY, KEY_END, the interval end flag), as nft sends it. */
static int
elems_ops(const struct kn_set *s, struct elem_list *el, const struct kn_elem *const *v, size_t n,
	  bool zero_end, bool del)
{
	uint8_t key[NFT_DATA_VALUE_MAXLEN], key_end[NFT_DATA_VALUE_MAXLEN];
	uint32_t len = key_len(s->key);
	bool rbtree = s->interval && !key_is_concat(s->key);
	size_t i;
	int ret = 0;

	if (zero_end) {
		memset(key, 0, sizeof(key));
		ret = elem_add(el, key, NULL, len, NFT_SET_ELEM_INTERVAL_END, false, NULL, NULL);
	}
	for (i = 0; i < n && ret == 0; i++) {
		const struct kn_elem *e = v[i];
		const char *comment = del ? NULL : e->comment;

		if (rbtree) {
			/* [first, last]: start at first, end at last + 1,
			 * none when last is the top address. */
			struct kn_addr next = e->addr_end.family != 0 ? e->addr_end : e->addr;
			bool open = !addr_next(&next);

			ret = elem_add(el, e->addr.bytes, NULL, len, 0, open && !del, comment,
				       NULL);
			if (ret == 0 && !open)
				ret = elem_add(el, next.bytes, NULL, len, NFT_SET_ELEM_INTERVAL_END,
					       false, NULL, NULL);
			continue;
		}
		key_encode(s->key, e, false, key);
		if (s->interval)
			key_encode(s->key, e, true, key_end);
		ret = elem_add(el, key, s->interval ? key_end : NULL, len, 0, false, comment,
			       s->vmap && !del ? e->target : NULL);
	}
	return ret;
}

/*	add element SET { ... }  /  delete element SET { ... } */
static int
put_elem_ops(struct batch *b, const struct kn_set *s, uint32_t id, const struct kn_elem *const *v,
	     size_t n, bool zero_end, bool del)
{
	struct elem_list el;
	const char *why = NULL;
	size_t i;
	int ret;

	for (i = 0; i < n && !del; i++) {
		why = elem_check(s, v[i]);
		if (why != NULL)
			return kn_errf(b->err, -EINVAL, "element %zu of set %s: %s",
				       (size_t)(v[i] - s->elems) + 1, s->name, why);
	}
	if (del)
		elem_list_init(&el, b, s, id, NFT_MSG_DELSETELEM, 0, MSG_DELELEMS);
	else
		elem_list_init(&el, b, s, id, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL,
			       MSG_ELEMS);
	ret = elems_ops(s, &el, v, n, zero_end, del);
	if (ret == 0)
		ret = elem_list_close(&el);
	return ret;
}

/* ---------------------------------------------------------------- rules */

/* Rules, like element lists, are written straight into the batch: the
 * bytes of nftnl_rule_nlmsg_build_payload() of libnftnl 1.2.4 for the
 * same expressions (tests/unit/netlink_test.c parses every rule back
 * with libnftnl, rebuilds it and compares), without a libnftnl object
 * per rule and per expression:
 *
 *	NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_USERDATA (the comment)
 *	NFTA_RULE_EXPRESSIONS	{ NFTA_LIST_ELEM { NFTA_EXPR_NAME,
 *				  NFTA_EXPR_DATA { attributes } } ... }
 *
 * The attributes of each expression come in the order libnftnl writes
 * them. */

/* nft numbers registers in 32-bit words from NFT_REG_1 and names a word
 * that starts a 16-byte register by that register's number ("reg 1",
 * "reg 2"), any other by its 32-bit number ("reg 9"), for compatibility
 * with kernels that only know the 16-byte registers.  We do the same so
 * that the bytecode is nft's, byte for byte. */
static uint32_t
reg32(unsigned int word)
{
	if (word % (NFT_REG_SIZE / NFT_REG32_SIZE) == 0)
		return NFT_REG_1 + word / (NFT_REG_SIZE / NFT_REG32_SIZE);
	return NFT_REG32_00 + word;
}

/* An expression: { NFTA_EXPR_NAME, NFTA_EXPR_DATA { ... } }.  Returns its
 * nest; the attributes go between expr_start() and expr_end(). */
static struct nlattr *
expr_start(struct nlmsghdr *nlh, const char *name, struct nlattr **ret_data)
{
	struct nlattr *e = nest_start(nlh, NFTA_LIST_ELEM);

	attr_put_strz(nlh, NFTA_EXPR_NAME, name);
	*ret_data = nest_start(nlh, NFTA_EXPR_DATA);
	return e;
}

static void
expr_end(struct nlmsghdr *nlh, struct nlattr *e, struct nlattr *data)
{
	nest_end(nlh, data);
	nest_end(nlh, e);
}

/* An attribute holding one NFTA_DATA_VALUE. */
static void
attr_put_value(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len)
{
	struct nlattr *n = nest_start(nlh, type);

	attr_put(nlh, NFTA_DATA_VALUE, len, v);
	nest_end(nlh, n);
}

/* [ meta load KEY => reg DREG ] */
static void
put_meta(struct nlmsghdr *nlh, uint32_t key, uint32_t dreg)
{
	struct nlattr *e, *d;

	e = expr_start(nlh, "meta", &d);
	attr_put_u32(nlh, NFTA_META_KEY, htonl(key));
	attr_put_u32(nlh, NFTA_META_DREG, htonl(dreg));
	expr_end(nlh, e, d);
}

/* [ cmp OP reg 1 VALUE ] */
static void
put_cmp(struct nlmsghdr *nlh, uint32_t op, const void *v, size_t len)
{
	struct nlattr *e, *d;

	e = expr_start(nlh, "cmp", &d);
	attr_put_u32(nlh, NFTA_CMP_SREG, htonl(NFT_REG_1));
	attr_put_u32(nlh, NFTA_CMP_OP, htonl(op));
	attr_put_value(nlh, NFTA_CMP_DATA, v, len);
	expr_end(nlh, e, d);
}

/* [ cmp OP reg 1 VALUE ] on a one-byte value */
static void
put_cmp8(struct nlmsghdr *nlh, uint32_t op, uint8_t v)
{
	put_cmp(nlh, op, &v, sizeof(v));
}

/* [ payload load LEN @ BASE header + OFF => reg DREG ] */
static void
put_payload(struct nlmsghdr *nlh, uint32_t base, uint32_t off, uint32_t len, uint32_t dreg)
{
	struct nlattr *e, *d;

	e = expr_start(nlh, "payload", &d);
	attr_put_u32(nlh, NFTA_PAYLOAD_DREG, htonl(dreg));
	attr_put_u32(nlh, NFTA_PAYLOAD_BASE, htonl(base));
	attr_put_u32(nlh, NFTA_PAYLOAD_OFFSET, htonl(off));
	attr_put_u32(nlh, NFTA_PAYLOAD_LEN, htonl(len));
	expr_end(nlh, e, d);
}

/* [ lookup reg 1 set NAME ] or, for a verdict map, [ ... dreg 0 ] */
static void
put_lookup(struct nlmsghdr *nlh, const struct set_ref *set, bool vmap)
{
	struct nlattr *e, *d;

	e = expr_start(nlh, "lookup", &d);
	attr_put_u32(nlh, NFTA_LOOKUP_SREG, htonl(NFT_REG_1));
	if (vmap)
		attr_put_u32(nlh, NFTA_LOOKUP_DREG, htonl(NFT_REG_VERDICT));
	attr_put_strz(nlh, NFTA_LOOKUP_SET, set->name);
	attr_put_u32(nlh, NFTA_LOOKUP_SET_ID, htonl(set->id));
	expr_end(nlh, e, d);
}

/* meta nfproto ipv4|ipv6
 *	[ meta load nfproto => reg 1 ]
 *	[ cmp eq reg 1 0x02|0x0a ]
 * nft emits this before anything that loads network header fields in an
 * inet table (its payload dependency), and removes it again on listing. */
static void
put_nfproto(struct nlmsghdr *nlh, int family)
{
	put_meta(nlh, NFT_META_NFPROTO, NFT_REG_1);
	put_cmp8(nlh, NFT_CMP_EQ,
		 family == AF_INET ? (uint8_t)NFPROTO_IPV4 : (uint8_t)NFPROTO_IPV6);
}

/* ip saddr / ip daddr / ip6 saddr / ip6 daddr => reg 1..4 from word 0 */
static void
put_addr(struct nlmsghdr *nlh, int family, bool daddr, unsigned int word)
{
	uint32_t off, len;

	if (family == AF_INET) {
		off = daddr ? 16 : 12; /* struct iphdr */
		len = 4;
	} else {
		off = daddr ? 24 : 8; /* struct ipv6hdr */
		len = 16;
	}
	put_payload(nlh, NFT_PAYLOAD_NETWORK_HEADER, off, len, reg32(word));
}

/* meta l4proto . th dport (th_off 2) or th sport (th_off 0), from 32-bit
 * word `word` on.  In a lookup in an interval set nft converts the
 * protocol to network byte order first, a conversion of a one-byte value
 * that the kernel runs as a no-op; we emit it all the same, since it is
 * part of what nft lists back. */
static void
put_proto_port(struct nlmsghdr *nlh, unsigned int word, bool interval, uint32_t th_off)
{
	struct nlattr *e, *d;

	put_meta(nlh, NFT_META_L4PROTO, reg32(word));
	if (interval) {
		/* [ byteorder reg W = hton(reg W, 2, 1) ] */
		e = expr_start(nlh, "byteorder", &d);
		attr_put_u32(nlh, NFTA_BYTEORDER_SREG, htonl(reg32(word)));
		attr_put_u32(nlh, NFTA_BYTEORDER_DREG, htonl(reg32(word)));
		attr_put_u32(nlh, NFTA_BYTEORDER_OP, htonl(NFT_BYTEORDER_HTON));
		attr_put_u32(nlh, NFTA_BYTEORDER_LEN, htonl(1));
		attr_put_u32(nlh, NFTA_BYTEORDER_SIZE, htonl(2));
		expr_end(nlh, e, d);
	}
	/* th dport: bytes 2-3 of the TCP, UDP or SCTP header; th sport: 0-1 */
	put_payload(nlh, NFT_PAYLOAD_TRANSPORT_HEADER, th_off, 2, reg32(word + 1));
}

/* counter
 *	[ counter pkts 0 bytes 0 ] */
static void
put_counter(struct nlmsghdr *nlh)
{
	struct nlattr *e, *d;

	e = expr_start(nlh, "counter", &d);
	expr_end(nlh, e, d);
}

/* limit rate RATE/UNIT, with nft's default burst
 *	[ limit rate RATE/UNIT burst 5 type packets flags 0x0 ] */
static void
put_limit(struct nlmsghdr *nlh, uint32_t rate, uint32_t unit)
{
	struct nlattr *e, *d;
	uint64_t v;

	e = expr_start(nlh, "limit", &d);
	v = htobe64(rate);
	attr_put(nlh, NFTA_LIMIT_RATE, sizeof(v), &v);
	v = htobe64(unit);
	attr_put(nlh, NFTA_LIMIT_UNIT, sizeof(v), &v);
	attr_put_u32(nlh, NFTA_LIMIT_BURST, htonl(5));
	attr_put_u32(nlh, NFTA_LIMIT_TYPE, htonl(NFT_LIMIT_PKTS));
	attr_put_u32(nlh, NFTA_LIMIT_FLAGS, htonl(0));
	expr_end(nlh, e, d);
}

/* log prefix "PREFIX" group N (nflog)
 *	[ log prefix PREFIX group N snaplen 0 qthreshold 0 ]
 * nft sets only the prefix and the group; the listing shows the rest as
 * zeros. */
static void
put_log(struct nlmsghdr *nlh, uint16_t group, const char *prefix)
{
	struct nlattr *e, *d;
	uint16_t g = htons(group);

	e = expr_start(nlh, "log", &d);
	if (prefix != NULL)
		attr_put_strz(nlh, NFTA_LOG_PREFIX, prefix);
	attr_put(nlh, NFTA_LOG_GROUP, sizeof(g), &g);
	expr_end(nlh, e, d);
}

/* ct state established,related
 *	[ ct load state => reg 1 ]
 *	[ bitwise reg 1 = ( reg 1 & 0x06 ) ^ 0 ]
 *	[ cmp neq reg 1 0 ]
 */
static void
put_ct_established(struct nlmsghdr *nlh)
{
	uint32_t mask = NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED);
	uint32_t zero = 0;
	struct nlattr *e, *d;

	e = expr_start(nlh, "ct", &d);
	attr_put_u32(nlh, NFTA_CT_KEY, htonl(NFT_CT_STATE));
	attr_put_u32(nlh, NFTA_CT_DREG, htonl(NFT_REG_1));
	expr_end(nlh, e, d);
	e = expr_start(nlh, "bitwise", &d);
	attr_put_u32(nlh, NFTA_BITWISE_SREG, htonl(NFT_REG_1));
	attr_put_u32(nlh, NFTA_BITWISE_DREG, htonl(NFT_REG_1));
	attr_put_u32(nlh, NFTA_BITWISE_LEN, htonl(sizeof(mask)));
	attr_put_value(nlh, NFTA_BITWISE_MASK, &mask, sizeof(mask));
	attr_put_value(nlh, NFTA_BITWISE_XOR, &zero, sizeof(zero));
	expr_end(nlh, e, d);
	put_cmp(nlh, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* icmpv6 type 133-137 (router solicitation .. redirect: neighbour
 * discovery, which must never be dropped)
 *	[ meta load l4proto => reg 1 ]
 *	[ cmp eq reg 1 0x3a ]
 *	[ payload load 1b @ transport header + 0 => reg 1 ]
 *	[ cmp gte reg 1 0x85 ]
 *	[ cmp lte reg 1 0x89 ]
 * after the meta nfproto ipv6 check. */
static void
put_icmpv6_nd(struct nlmsghdr *nlh)
{
	put_meta(nlh, NFT_META_L4PROTO, NFT_REG_1);
	put_cmp8(nlh, NFT_CMP_EQ, IPPROTO_ICMPV6);
	put_payload(nlh, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
	put_cmp8(nlh, NFT_CMP_GTE, 133);
	put_cmp8(nlh, NFT_CMP_LTE, 137);
}

/* accept | drop | return | jump CHAIN | goto CHAIN
 *	[ immediate reg 0 VERDICT [-> CHAIN] ]
 */
static void
put_verdict(struct nlmsghdr *nlh, int32_t code, const char *chain)
{
	struct nlattr *e, *d, *n1, *n2;

	e = expr_start(nlh, "immediate", &d);
	attr_put_u32(nlh, NFTA_IMMEDIATE_DREG, htonl(NFT_REG_VERDICT));
	n1 = nest_start(nlh, NFTA_IMMEDIATE_DATA);
	n2 = nest_start(nlh, NFTA_DATA_VERDICT);
	attr_put_u32(nlh, NFTA_VERDICT_CODE, htonl((uint32_t)code));
	if (chain != NULL)
		attr_put_strz(nlh, NFTA_VERDICT_CHAIN, chain);
	nest_end(nlh, n2);
	nest_end(nlh, n1);
	expr_end(nlh, e, d);
}

static int
set_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct set_ref *)a)->name, ((const struct set_ref *)b)->name);
}

static const struct set_ref *
set_lookup(const struct batch *b, const char *name)
{
	struct set_ref key = {.name = name};

	if (name == NULL)
		return NULL;
	return search_array(&key, b->sets, b->nsets, sizeof(*b->sets), set_ref_cmp);
}

/* Finds the set that match m (or a vmap verdict) refers to and checks
 * that its key is the one the match loads: the kernel only checks the
 * key length, so a mix-up of families or keys would match garbage. */
static const char *
rule_set_check(const struct batch *b, const char *name, int want_key, bool vmap,
	       const struct set_ref **ret)
{
	const struct set_ref *ref = set_lookup(b, name);

	if (ref == NULL)
		return "refers to a set that is not in the program";
	if (ref->set->vmap != vmap)
		return vmap ? "vmap refers to a set that is not a verdict map"
			    : "match refers to a verdict map";
	if ((int)ref->set->key != want_key)
		return "set key does not fit the match (or the rule's family)";
	*ret = ref;
	return NULL;
}

/* The matches that load a network header field need nft's "meta
 * nfproto" check first. */
static bool
match_needs_family(enum kn_match_type t)
{
	return t == KN_MATCH_SADDR_SET || t == KN_MATCH_DADDR_SET ||
	       t == KN_MATCH_DADDR_PROTO_PORT_SET || t == KN_MATCH_SADDR_PROTO_SPORT_SET ||
	       t == KN_MATCH_ICMPV6_ND;
}

static bool
rule_family_implied(const struct kn_rule *r)
{
	size_t i;

	if (r->verdict == KN_VERDICT_VMAP_SADDR || r->verdict == KN_VERDICT_VMAP_DADDR)
		return true;
	for (i = 0; i < r->nm; i++) {
		if (match_needs_family(r->m[i].type))
			return true;
	}
	return false;
}

/* Emits the rule's one "meta nfproto" check unless done already.  nft
 * puts it right before the first expression that depends on it (so
 * "meta l4proto . th dport @s ip saddr @a" checks the family after the
 * first lookup), or at the start when the text names the family
 * explicitly because nothing in the rule implies it. */
static void
nfproto_once(struct nlmsghdr *nlh, int family, bool *done)
{
	if (*done)
		return;
	*done = true;
	put_nfproto(nlh, family);
}

/* Writes the expressions of rule r; *why explains an invalid rule (the
 * message is then left half written, and the caller gives up the
 * batch). */
static int
rule_build(const struct batch *b, const struct kn_rule *r, struct nlmsghdr *nlh, const char **why)
{
	const struct set_ref *ref = NULL;
	bool v4 = r->family == AF_INET;
	bool checked = false;
	int32_t code = 0;
	size_t i;

	if (r->family != 0 && r->family != AF_INET && r->family != AF_INET6) {
		*why = "unknown family";
		return -EINVAL;
	}
	if (r->nm > KN_RULE_MAX_MATCH) {
		*why = "too many matches";
		return -EINVAL;
	}
	if (r->family != 0 && !rule_family_implied(r))
		nfproto_once(nlh, r->family, &checked);
	for (i = 0; i < r->nm; i++) {
		const struct kn_match *m = &r->m[i];

		if (m->type == KN_MATCH_ICMPV6_ND) {
			if (r->family == AF_INET) {
				*why = "icmpv6 match in an IPv4 rule";
				return -EINVAL;
			}
			nfproto_once(nlh, AF_INET6, &checked);
		} else if (match_needs_family(m->type)) {
			if (r->family == 0) {
				*why = "address match in a rule without a family";
				return -EINVAL;
			}
			nfproto_once(nlh, r->family, &checked);
		}
		switch (m->type) {
		case KN_MATCH_CT_ESTABLISHED:
			put_ct_established(nlh);
			break;
		case KN_MATCH_ICMPV6_ND:
			put_icmpv6_nd(nlh);
			break;
		case KN_MATCH_SADDR_SET:
		case KN_MATCH_DADDR_SET:
			/* ip saddr @set: [ payload load 4b @ network header + 12 => reg 1 ]
			 *		  [ lookup reg 1 set NAME ] */
			*why = rule_set_check(b, m->set, v4 ? KN_KEY_IPV4 : KN_KEY_IPV6, false,
					      &ref);
			if (*why != NULL)
				return -EINVAL;
			put_addr(nlh, r->family, m->type == KN_MATCH_DADDR_SET, 0);
			put_lookup(nlh, ref, false);
			break;
		case KN_MATCH_PROTO_PORT_SET:
			/* meta l4proto . th dport @set:
			 *	[ meta load l4proto => reg 1 ]
			 *	[ byteorder reg 1 = hton(reg 1, 2, 1) ]   (interval sets)
			 *	[ payload load 2b @ transport header + 2 => reg 9 ]
			 *	[ lookup reg 1 set NAME ] */
			*why = rule_set_check(b, m->set, KN_KEY_PROTO_PORT, false, &ref);
			if (*why != NULL)
				return -EINVAL;
			put_proto_port(nlh, 0, ref->set->interval, 2);
			put_lookup(nlh, ref, false);
			break;
		case KN_MATCH_DADDR_PROTO_PORT_SET:
			/* ip daddr . meta l4proto . th dport @set:
			 *	[ payload load 4b @ network header + 16 => reg 1 ]
			 *	[ meta load l4proto => reg 9 ]
			 *	[ payload load 2b @ transport header + 2 => reg 10 ]
			 *	[ lookup reg 1 set NAME ]
			 * ip6: the address fills reg 1 (words 0-3), l4proto goes
			 * to reg 2 (word 4, listed as "reg 2"), dport to reg 13. */
			*why = rule_set_check(b, m->set,
					      v4 ? KN_KEY_IPV4_PROTO_PORT : KN_KEY_IPV6_PROTO_PORT,
					      false, &ref);
			if (*why != NULL)
				return -EINVAL;
			put_addr(nlh, r->family, true, 0);
			put_proto_port(nlh, v4 ? 1 : 4, ref->set->interval, 2);
			put_lookup(nlh, ref, false);
			break;
		case KN_MATCH_SADDR_PROTO_SPORT_SET:
			/* ip saddr . meta l4proto . th sport @set:
			 *	[ payload load 4b @ network header + 12 => reg 1 ]
			 *	[ meta load l4proto => reg 9 ]
			 *	[ byteorder reg 9 = hton(reg 9, 2, 1) ]   (interval sets)
			 *	[ payload load 2b @ transport header + 0 => reg 10 ]
			 *	[ lookup reg 1 set NAME ]
			 * ip6 as for daddr: reg 1, reg 2, reg 13. */
			*why = rule_set_check(b, m->set,
					      v4 ? KN_KEY_IPV4_PROTO_PORT : KN_KEY_IPV6_PROTO_PORT,
					      false, &ref);
			if (*why != NULL)
				return -EINVAL;
			put_addr(nlh, r->family, false, 0);
			put_proto_port(nlh, v4 ? 1 : 4, ref->set->interval, 0);
			put_lookup(nlh, ref, false);
			break;
		default:
			*why = "unknown match";
			return -EINVAL;
		}
	}
	if (r->counter)
		put_counter(nlh);
	/* Then limit and log, in the order the text backend writes them. */
	if (r->limit_rate != 0)
		put_limit(nlh, r->limit_rate, r->limit_unit);
	if (r->log)
		put_log(nlh, r->log_group, r->log_prefix);
	switch (r->verdict) {
	case KN_VERDICT_NONE:
		return 0;
	case KN_VERDICT_ACCEPT:
		put_verdict(nlh, NF_ACCEPT, NULL);
		return 0;
	case KN_VERDICT_DROP:
		put_verdict(nlh, NF_DROP, NULL);
		return 0;
	case KN_VERDICT_RETURN:
		put_verdict(nlh, NFT_RETURN, NULL);
		return 0;
	case KN_VERDICT_JUMP:
		code = NFT_JUMP;
		break;
	case KN_VERDICT_GOTO:
		code = NFT_GOTO;
		break;
	case KN_VERDICT_VMAP_SADDR:
	case KN_VERDICT_VMAP_DADDR:
		/* ip saddr vmap @map:
		 *	[ payload load 4b @ network header + 12 => reg 1 ]
		 *	[ lookup reg 1 set MAP dreg 0 ] */
		if (r->family == 0) {
			*why = "vmap in a rule without a family";
			return -EINVAL;
		}
		*why = rule_set_check(b, r->target, v4 ? KN_KEY_IPV4 : KN_KEY_IPV6, true, &ref);
		if (*why != NULL)
			return -EINVAL;
		nfproto_once(nlh, r->family, &checked);
		put_addr(nlh, r->family, r->verdict == KN_VERDICT_VMAP_DADDR, 0);
		put_lookup(nlh, ref, true);
		return 0;
	default:
		*why = "unknown verdict";
		return -EINVAL;
	}
	if (r->target == NULL) {
		*why = "jump or goto without a target";
		return -EINVAL;
	}
	put_verdict(nlh, code, r->target);
	return 0;
}

/*	chain NAME {
 *		RULE comment "..."
 *	}
 */
static int
put_rule(struct batch *b, const struct kn_chain *c, size_t i)
{
	const struct kn_rule *r = &c->rules[i];
	struct nlmsghdr *nlh;
	struct nlattr *exprs;
	const char *why = NULL;
	char what[KN_ERR_MAX / 2];
	uint8_t ud[KN_UDATA_MAX];
	size_t udlen = 0;
	int ret;

	if (comment_check(r->comment) < 0) {
		why = "comment too long";
		ret = -EINVAL;
		goto out;
	}
	nlh = msg_start(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, MSG_RULE, c, i);
	attr_put_strz(nlh, NFTA_RULE_TABLE, b->table);
	attr_put_strz(nlh, NFTA_RULE_CHAIN, c->name);
	if (r->comment != NULL) {
		udata_put(ud, &udlen, NFTNL_UDATA_RULE_COMMENT, r->comment,
			  (uint8_t)(strlen(r->comment) + 1));
		attr_put(nlh, NFTA_RULE_USERDATA, udlen, ud);
	}
	exprs = nest_start(nlh, NFTA_RULE_EXPRESSIONS);
	if ((ret = rule_build(b, r, nlh, &why)) < 0)
		goto out;
	/* libnftnl writes no expression list for a rule without any. */
	if ((char *)attr_tail(nlh) == (char *)exprs + MNL_ATTR_HDRLEN)
		nlh->nlmsg_len -= MNL_ATTR_HDRLEN;
	else
		nest_end(nlh, exprs);
	ret = msg_end(b, nlh);
out:
	if (ret == -EINVAL && why != NULL) {
		rule_describe(c, i, what, sizeof(what));
		kn_errf(b->err, ret, "%s: %s", what, why);
	}
	return ret;
}

/* ---------------------------------------------------------------- send, acks */

/* Starts a batch whose BATCH_BEGIN will have sequence number seq0, in
 * nl's buffer if there is one (nl may be NULL). */
static void
batch_init(struct batch *b, struct kn_nl *nl, const char *table, uint32_t seq0, struct kn_err *err)
{
	memset(b, 0, sizeof(*b));
	b->table = table;
	b->err = err;
	b->seq0 = seq0;
	if (nl != NULL) {
		b->buf = nl->buf;
		b->cap = nl->buf_cap;
		nl->buf = NULL;
		nl->buf_cap = 0;
	}
}

struct ack_state {
	const struct batch *b;
	int first_err; /* errno of the lowest failing sequence number */
	uint32_t first_seq;
	size_t nerr;
	size_t nacks;
	bool end_acked;
	char ext[KN_ERR_MAX / 2]; /* the kernel's extended ack for first_seq */
};

static void bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Appends to buf, which always stays NUL-terminated. */
static void
bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n;
}

/* True when attr holds a printable NUL-terminated string: a name. */
static bool
attr_is_name(const struct nlattr *attr)
{
	const unsigned char *s = mnl_attr_get_payload(attr);
	uint16_t n = mnl_attr_get_payload_len(attr);
	uint16_t i;

	if (n < 2 || s[n - 1] != '\0')
		return false;
	for (i = 0; i + 1 < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

/* Appends the names in attr and in its nests (the chain a verdict jumps
 * to, the set a lookup uses), at most three. */
static void
attr_names(const struct nlattr *attr, char *buf, size_t size, size_t *len, int *n, int depth)
{
	const struct nlattr *a;

	if (*n >= 3 || depth > 8)
		return;
	if (!(attr->nla_type & NLA_F_NESTED)) {
		if (attr_is_name(attr)) {
			bufcat(buf, size, len, "%s\"%s\"", *n > 0 ? ", " : "",
			       mnl_attr_get_str(attr));
			(*n)++;
		}
		return;
	}
	mnl_attr_for_each_nested(a, attr)
	{
		attr_names(a, buf, size, len, n, depth + 1);
	}
}

static const char *
proto_name(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_SCTP:
		return "sctp";
	}
	snprintf(buf, size, "%u", proto);
	return buf;
}

/* Formats the key of an element as nft prints it: "10.0.0.1 . tcp . 80". */
static void
key_format(enum kn_key_type key, const uint8_t *k, char *buf, size_t size, size_t *len)
{
	struct kn_addr a = {0};
	char tmp[64];
	uint32_t off = 0;
	int fam = key_family(key);

	if (fam != 0) {
		a.family = (uint8_t)fam;
		memcpy(a.bytes, k, (size_t)kn_addr_len(fam));
		bufcat(buf, size, len, "%s", kn_addr_fmt(&a, tmp, sizeof(tmp)));
		off = (uint32_t)kn_addr_len(fam);
	}
	if (key_is_concat(key))
		bufcat(buf, size, len, "%s%s . %u", fam != 0 ? " . " : "",
		       proto_name(k[off], tmp, sizeof(tmp)),
		       (unsigned int)(k[off + 4] << 8 | k[off + 5]));
}

/* Describes the attribute that an extended ack points at: an element
 * of a set by its key, an expression of a rule by its name, and the
 * names they hold ("element 10.0.0.9, \"pod-x\"", "expression
 * immediate, \"pod-x\""). */
static void
bad_attr_describe(const struct msg_rec *m, const struct nlattr *attr, char *buf, size_t size,
		  size_t *len)
{
	const struct nlattr *a, *v;
	int n = 0;

	bufcat(buf, size, len, " (at ");
	if ((m->kind == MSG_ELEMS || m->kind == MSG_DELELEMS) && (attr->nla_type & NLA_F_NESTED)) {
		const struct kn_set *s = m->obj;

		mnl_attr_for_each_nested(a, attr)
		{
			if (mnl_attr_get_type(a) != NFTA_SET_ELEM_KEY)
				continue;
			mnl_attr_for_each_nested(v, a)
			{
				if (mnl_attr_get_type(v) == NFTA_DATA_VALUE &&
				    mnl_attr_get_payload_len(v) == key_len(s->key)) {
					bufcat(buf, size, len, "element ");
					key_format(s->key, mnl_attr_get_payload(v), buf, size, len);
					n++;
				}
			}
		}
	} else if (m->kind == MSG_RULE && (attr->nla_type & NLA_F_NESTED)) {
		mnl_attr_for_each_nested(a, attr)
		{
			if (mnl_attr_get_type(a) == NFTA_EXPR_NAME && attr_is_name(a)) {
				bufcat(buf, size, len, "expression %s", mnl_attr_get_str(a));
				n++;
			}
		}
	}
	if (n > 0) {
		/* The names inside: the expression or element name came first. */
		size_t mark = *len;
		int names = 0;

		bufcat(buf, size, len, ", ");
		mnl_attr_for_each_nested(a, attr)
		{
			if (m->kind != MSG_RULE || mnl_attr_get_type(a) != NFTA_EXPR_NAME)
				attr_names(a, buf, size, len, &names, 1);
		}
		if (names == 0) {
			*len = mark;
			buf[mark < size ? mark : size - 1] = '\0';
		}
	} else {
		attr_names(attr, buf, size, len, &n, 0);
		if (n == 0)
			bufcat(buf, size, len, "attribute %u",
			       (unsigned int)mnl_attr_get_type(attr));
	}
	bufcat(buf, size, len, ")");
}

/* Keeps what the extended ack says: the kernel's message, if any, and
 * what the attribute it points at in our message holds. */
static void
ack_extack(struct ack_state *st, const struct nlmsghdr *nlh, const struct nlmsgerr *e)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {NULL};
	const struct nlattr *attr;
	const struct nlmsghdr *orig;
	size_t off = sizeof(*e);
	size_t len = 0;

	st->ext[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (NLMSG_HDRLEN + off > nlh->nlmsg_len)
		return;
	mnl_attr_for_each(attr, nlh, off)
	{
		uint16_t type = mnl_attr_get_type(attr);

		if (type <= NLMSGERR_ATTR_MAX)
			tb[type] = attr;
	}
	if (tb[NLMSGERR_ATTR_MSG] != NULL &&
	    mnl_attr_validate(tb[NLMSGERR_ATTR_MSG], MNL_TYPE_NUL_STRING) == 0)
		bufcat(st->ext, sizeof(st->ext), &len, ": %s",
		       mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS] == NULL ||
	    mnl_attr_validate(tb[NLMSGERR_ATTR_OFFS], MNL_TYPE_U32) < 0)
		return;
	/* The offset counts from the start of our message. */
	orig = batch_find(st->b, e->msg.nlmsg_seq);
	off = mnl_attr_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	if (orig == NULL || off + sizeof(struct nlattr) > orig->nlmsg_len)
		return;
	attr = (const struct nlattr *)((const char *)orig + off);
	if (attr->nla_len < sizeof(struct nlattr) || off + attr->nla_len > orig->nlmsg_len)
		return;
	bad_attr_describe(&st->b->msgs[e->msg.nlmsg_seq - st->b->seq0], attr, st->ext,
			  sizeof(st->ext), &len);
}

static void
ack_one(struct ack_state *st, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;
	uint32_t seq;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr))
		return;
	e = mnl_nlmsg_get_payload(nlh);
	seq = e->msg.nlmsg_seq;
	/* Replies to an earlier batch whose acks we could not read. */
	if (seq - st->b->seq0 >= st->b->nmsgs)
		return;
	st->nacks++;
	if (seq - st->b->seq0 == st->b->nmsgs - 1)
		st->end_acked = true;
	if (e->error == 0)
		return;
	if (st->nerr++ == 0 || seq - st->b->seq0 < st->first_seq - st->b->seq0) {
		st->first_err = e->error;
		st->first_seq = seq;
		ack_extack(st, nlh, e);
	}
}

/* Reads every ack of the batch.  The kernel handles the whole batch
 * inside sendmsg(), so every reply is queued by then: read until the
 * socket is empty or END's ack arrived.  Returns 0, or -ENOBUFS when
 * acks were lost (the outcome is unknown). */
static int
acks_read(struct kn_nl *nl, struct ack_state *st)
{
	char *buf = xmalloc(KN_NL_RECV_BUF);
	int fd = mnl_socket_get_fd(nl->sock);
	bool lost = false;
	int ret = 0;

	while (!st->end_acked || lost) {
		const struct nlmsghdr *nlh;
		ssize_t n;
		int rem;

		n = recv(fd, buf, KN_NL_RECV_BUF, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			/* The queue overflowed: keep draining so that the
			 * next batch starts clean, then report. */
			lost = true;
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -errno;
			break;
		}
		nlh = (const struct nlmsghdr *)buf;
		rem = (int)n;
		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_pid == nl->portid || nlh->nlmsg_pid == 0)
				ack_one(st, nlh);
		}
	}
	free(buf);
	return lost ? -ENOBUFS : ret;
}

/* Sends the batch in one datagram, reads the acks, turns an error into a
 * sentence. */
static int
batch_send(struct kn_nl *nl, struct batch *b)
{
	struct sockaddr_nl snl = {.nl_family = AF_NETLINK};
	struct ack_state st = {.b = b};
	struct iovec iov = {.iov_base = b->buf, .iov_len = b->bytes};
	struct msghdr msg = {0};
	char what[KN_ERR_MAX / 2];
	size_t need;
	ssize_t sent;
	bool ack_all;
	int ret, sndbuf;

	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;

	/* The kernel refuses a datagram larger than the send buffer. */
	sndbuf = sock_grow_buf(nl, true, b->bytes + 4096);
	/* Without CAP_NET_ADMIN in the initial user namespace the buffers
	 * stay capped by net.core.rmem_max (some 500 acks with the default
	 * 208 KiB): then only errors and END are acknowledged, as nft does.
	 * The buffer grows all the same when only END asks for an ack: a
	 * batch the kernel refuses may fail at many messages. */
	need = b->nmsgs * KN_NL_ACK_COST + 65536;
	ack_all = (size_t)sock_grow_buf(nl, false, need) >= need && !b->ack_end_only;
	if (!ack_all && !b->ack_end_only)
		batch_ack_errors_only(b);
	nl->seq += (uint32_t)b->nmsgs;
	nl->stats.messages = b->nmsgs;
	nl->stats.bytes = 0;

	sent = sendmsg(mnl_socket_get_fd(nl->sock), &msg, 0);
	if (sent < 0) {
		ret = -errno;
		if (ret == -EMSGSIZE)
			kn_errf(b->err, ret,
				"sending batch of %zu bytes: %s (send buffer: %d bytes; raise "
				"net.core.wmem_max or grant CAP_NET_ADMIN)",
				b->bytes, strerror(-ret), sndbuf);
		else
			kn_errf(b->err, ret, "sending batch of %zu bytes: %s", b->bytes,
				strerror(-ret));
		goto out;
	}
	nl->stats.bytes = (size_t)sent;
	ret = acks_read(nl, &st);
	if (ret == -ENOBUFS) {
		kn_errf(b->err, ret, "reading acks: %s: outcome of the batch unknown",
			strerror(ENOBUFS));
		goto out;
	}
	if (ret < 0) {
		kn_errf(b->err, ret, "reading acks: %s", strerror(-ret));
		goto out;
	}
	if (st.nerr > 0) {
		char why[2 * KN_NAME_MAX + 96] = "";

		msg_describe(b, st.first_seq, what, sizeof(what));
		ret = st.first_err;
		/* EPERM on a message about the table, rather than on the batch
		 * as a whole (which is what a missing CAP_NET_ADMIN gives):
		 * another netlink socket owns the table (NFT_TABLE_F_OWNER). */
		if (ret == -EPERM && b->msgs[st.first_seq - b->seq0].kind != MSG_BEGIN)
			snprintf(why, sizeof(why),
				 "; another process owns table inet %s (nft list table inet %s "
				 "names it)",
				 b->table, b->table);
		if (st.nerr > 1)
			kn_errf(b->err, ret, "%s: %s%s (and %zu more errors)%s", what,
				strerror(-ret), st.ext, st.nerr - 1, why);
		else
			kn_errf(b->err, ret, "%s: %s%s%s", what, strerror(-ret), st.ext, why);
		goto out;
	}
	/* Without errors every message but BEGIN and END (acked since 6.10
	 * only) must have been acknowledged; or END, when only it asked. */
	if (ack_all && st.nacks + 2 < b->nmsgs) {
		ret = kn_errf(b->err, -EPROTO, "kernel acknowledged %zu of %zu messages", st.nacks,
			      b->nmsgs);
		goto out;
	}
	if (b->ack_end_only && !st.end_acked) {
		ret = kn_errf(b->err, -EPROTO,
			      "kernel did not acknowledge the end of the batch: outcome unknown");
		goto out;
	}
	ret = 0;
out:
	return ret;
}

/* ---------------------------------------------------------------- deletes */

/* The deletes of an incremental batch name their object only. */

/*	flush chain NAME */
static int
put_flush(struct batch *b, const struct kn_chain *c)
{
	struct nftnl_rule *nr;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	nr = nftnl_rule_alloc();
	if (nr == NULL)
		goto out;
	if (nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, b->table) < 0 ||
	    nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, c->name) < 0)
		goto out;
	/* A DELRULE with a chain and no handle deletes every rule of it. */
	nlh = msg_start(b, NFT_MSG_DELRULE, 0, MSG_FLUSH, c, 0);
	nftnl_rule_nlmsg_build_payload(nlh, nr);
	ret = msg_end(b, nlh);
out:
	if (ret == -ENOMEM)
		kn_errf(b->err, ret, "flush chain %s: out of memory", c->name);
	if (nr != NULL)
		nftnl_rule_free(nr);
	return ret;
}

/*	delete chain NAME */
static int
put_delchain(struct batch *b, const char *name)
{
	struct nftnl_chain *nc;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	nc = nftnl_chain_alloc();
	if (nc == NULL)
		goto out;
	if (nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, b->table) < 0 ||
	    nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, name) < 0)
		goto out;
	nlh = msg_start(b, NFT_MSG_DELCHAIN, 0, MSG_DELCHAIN, name, 0);
	nftnl_chain_nlmsg_build_payload(nlh, nc);
	ret = msg_end(b, nlh);
out:
	if (ret == -ENOMEM)
		kn_errf(b->err, ret, "delete chain %s: out of memory", name);
	if (nc != NULL)
		nftnl_chain_free(nc);
	return ret;
}

/*	delete set NAME */
static int
put_delset(struct batch *b, const struct kn_set *s)
{
	struct nftnl_set *ns;
	struct nlmsghdr *nlh;
	int ret = -ENOMEM;

	ns = nftnl_set_alloc();
	if (ns == NULL)
		goto out;
	if (nftnl_set_set_str(ns, NFTNL_SET_TABLE, b->table) < 0 ||
	    nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name) < 0)
		goto out;
	nlh = msg_start(b, NFT_MSG_DELSET, 0, MSG_DELSET, s, 0);
	nftnl_set_nlmsg_build_payload(nlh, ns);
	ret = msg_end(b, nlh);
out:
	if (ret == -ENOMEM)
		kn_errf(b->err, ret, "delete set %s: out of memory", s->name);
	if (ns != NULL)
		nftnl_set_free(ns);
	return ret;
}

/* ---------------------------------------------------------------- API */

/* The sets of p as rules refer to them, with batch-local ids (p's order
 * from 1), sorted by name. */
static void
batch_sets(struct batch *b, const struct kn_program *p)
{
	size_t i;

	b->nsets = p->nsets;
	b->sets = xcalloc(p->nsets > 0 ? p->nsets : 1, sizeof(*b->sets));
	for (i = 0; i < p->nsets; i++) {
		b->sets[i].name = p->sets[i]->name;
		b->sets[i].set = p->sets[i];
		b->sets[i].id = (uint32_t)i + 1;
	}
	sort_array(b->sets, b->nsets, sizeof(*b->sets), set_ref_cmp);
}

/* Builds the full replacement of table p->table by p, as the top of this
 * file shows it. */
static int
batch_build_full(struct batch *b, const struct kn_program *p)
{
	size_t i, j;
	int ret;

	batch_sets(b, p);
	if ((ret = batch_begin_end(b, true)) < 0 ||
	    (ret = put_table(b, NFT_MSG_NEWTABLE, MSG_TABLE)) < 0 ||
	    (ret = put_table(b, NFT_MSG_DELTABLE, MSG_DELTABLE)) < 0 ||
	    (ret = put_table(b, NFT_MSG_NEWTABLE, MSG_TABLE)) < 0)
		return ret;
	for (i = 0; i < p->nchains; i++) {
		if ((ret = put_chain(b, p->chains[i])) < 0)
			return ret;
	}
	/* Each set's elements right after it: the kernel finds a set by id
	 * newest first (kernel_finds_new_sets_by_id()). */
	for (i = 0; i < p->nsets; i++) {
		if ((ret = put_set(b, p->sets[i], (uint32_t)i + 1)) < 0 ||
		    (ret = put_elems(b, p->sets[i], (uint32_t)i + 1)) < 0)
			return ret;
	}
	for (i = 0; i < p->nchains; i++) {
		for (j = 0; j < p->chains[i]->nrules; j++) {
			if ((ret = put_rule(b, p->chains[i], j)) < 0)
				return ret;
		}
	}
	return batch_begin_end(b, false);
}

int
kn_nl_apply(struct kn_nl *nl, const struct kn_program *p, struct kn_err *err)
{
	struct batch b;
	int ret;

	memset(&nl->stats, 0, sizeof(nl->stats));
	batch_init(&b, nl, p->table, nl->seq, err);
	b.sets_by_id = nl->sets_by_id;
	b.ack_end_only = nl->ack_end_only;
	if ((ret = batch_build_full(&b, p)) < 0)
		goto out;
	batch_test_corrupt(&b);
	ret = batch_send(nl, &b);
	/* The table was replaced as a whole: no chain is left over. */
	if (ret == 0)
		stale_clear(nl);
out:
	batch_free(&b, nl);
	return ret;
}

/* Renders the plan in its order (plan.h). */
static int
plan_build(struct batch *b, const struct kn_plan *plan)
{
	const struct kn_set *s;
	size_t i, j;
	int ret;

	for (i = 0; i < plan->nflush; i++) {
		if ((ret = put_flush(b, plan->flush[i])) < 0)
			return ret;
	}
	for (i = 0; i < plan->nelems; i++) {
		const struct kn_plan_elems *d = &plan->elems[i];

		if (d->ndel == 0 && !d->del_zero_end)
			continue;
		ret = put_elem_ops(b, d->set, set_lookup(b, d->set->name)->id, d->del, d->ndel,
				   d->del_zero_end, true);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < plan->ndel_sets; i++) {
		if ((ret = put_delset(b, plan->del_sets[i])) < 0)
			return ret;
	}
	for (i = 0; i < plan->ndel_chains; i++) {
		if ((ret = put_delchain(b, plan->del_chains[i])) < 0)
			return ret;
	}
	for (i = 0; i < plan->nadd_chains; i++) {
		if ((ret = put_chain(b, plan->add_chains[i])) < 0)
			return ret;
	}
	for (i = 0; i < plan->nadd_sets; i++) {
		s = plan->add_sets[i];
		if ((ret = put_set(b, s, set_lookup(b, s->name)->id)) < 0)
			return ret;
	}
	for (i = 0; i < plan->nelems; i++) {
		const struct kn_plan_elems *d = &plan->elems[i];

		if (d->nadd == 0 && !d->add_zero_end)
			continue;
		ret = put_elem_ops(b, d->set, set_lookup(b, d->set->name)->id, d->add, d->nadd,
				   d->add_zero_end, false);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < plan->nadd_sets; i++) {
		s = plan->add_sets[i];
		if ((ret = put_elems(b, s, set_lookup(b, s->name)->id)) < 0)
			return ret;
	}
	for (i = 0; i < plan->nfill; i++) {
		for (j = 0; j < plan->fill[i]->nrules; j++) {
			if ((ret = put_rule(b, plan->fill[i], j)) < 0)
				return ret;
		}
	}
	return 0;
}

/* Builds the batch of a plan that changes something. */
static int
batch_build_plan(struct batch *b, const struct kn_plan *plan)
{
	int ret;

	batch_sets(b, plan->new);
	if ((ret = batch_begin_end(b, true)) < 0 || (ret = plan_build(b, plan)) < 0)
		return ret;
	return batch_begin_end(b, false);
}

/* Sends a plan from the program in the kernel to new. */
static int
commit_plan(struct kn_nl *nl, const struct kn_program *new, const struct kn_plan *plan,
	    struct kn_err *err)
{
	struct batch b;
	int ret = 0;

	memset(&nl->stats, 0, sizeof(nl->stats));
	batch_init(&b, nl, new->table, nl->seq, err);
	b.sets_by_id = nl->sets_by_id;
	b.ack_end_only = nl->ack_end_only;
	/* Nothing changed: nothing to send. */
	if (kn_plan_empty(plan))
		goto out;
	if ((ret = batch_build_plan(&b, plan)) < 0)
		goto out;
	batch_test_corrupt(&b);
	ret = batch_send(nl, &b);
	if (ret < 0)
		goto out;
	/* The chains deleted now are gone; the deferred ones are next. */
	stale_clear(nl);
	nl->stale = xcalloc(plan->ndeferred + 1, sizeof(*nl->stale));
	for (size_t i = 0; i < plan->ndeferred; i++)
		nl->stale[nl->nstale++] = xstrdup(plan->deferred[i]->name);
out:
	if (ret == 0) {
		nl->stats.incremental = true;
		nl->stats.plan = plan->st;
	}
	batch_free(&b, nl);
	return ret;
}

static void
plan_opts(const struct kn_nl *nl, struct kn_plan_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->defer_chain_delete = nl->defer_chain_delete;
	opts->stale = (const char *const *)nl->stale;
	opts->nstale = nl->nstale;
}

int
kn_nl_commit(struct kn_nl *nl, const struct kn_program *old, const struct kn_program *new,
	     struct kn_err *err)
{
	struct kn_plan_opts opts;
	struct kn_plan *plan = NULL;
	int ret;

	if (old == NULL)
		return kn_nl_apply(nl, new, err);
	plan_opts(nl, &opts);
	ret = kn_plan_diff(old, new, &opts, &plan, err);
	if (ret == -ENOTSUP)
		return kn_nl_apply(nl, new, err);
	if (ret == 0)
		ret = commit_plan(nl, new, plan, err);
	kn_plan_free(plan);
	return ret;
}

int
kn_nl_commit_delta(struct kn_nl *nl, const struct kn_program *p, const struct kn_delta *delta,
		   struct kn_err *err)
{
	struct kn_plan_opts opts;
	struct kn_plan *plan = NULL;
	int ret;

	plan_opts(nl, &opts);
	ret = kn_plan_delta(p, delta, &opts, &plan, err);
	if (ret == -ENOTSUP)
		return kn_nl_apply(nl, p, err);
	if (ret == 0)
		ret = commit_plan(nl, p, plan, err);
	kn_plan_free(plan);
	return ret;
}

int
kn_nl_build(const struct kn_program *old, const struct kn_program *new, uint32_t seq,
	    bool sets_by_id, void **ret_buf, size_t *ret_len, struct kn_err *err)
{
	struct kn_plan *plan = NULL;
	struct batch b;
	int ret = 0;

	batch_init(&b, NULL, new->table, seq, err);
	b.sets_by_id = sets_by_id;
	if (old != NULL) {
		ret = kn_plan_diff(old, new, NULL, &plan, err);
		if (ret == -ENOTSUP)
			old = NULL;
		else if (ret < 0 || kn_plan_empty(plan))
			goto out;
	}
	ret = old == NULL ? batch_build_full(&b, new) : batch_build_plan(&b, plan);
out:
	if (ret == 0) {
		/* The caller takes the buffer. */
		*ret_buf = b.buf;
		*ret_len = b.bytes;
		b.buf = NULL;
	}
	batch_free(&b, NULL);
	kn_plan_free(plan);
	return ret;
}

int
kn_nl_flush(struct kn_nl *nl, const char *table, struct kn_err *err)
{
	struct batch b;
	int ret;

	memset(&nl->stats, 0, sizeof(nl->stats));
	batch_init(&b, nl, table, nl->seq, err);
	b.ack_end_only = nl->ack_end_only;
	if ((ret = batch_begin_end(&b, true)) < 0 ||
	    (ret = put_table(&b, NFT_MSG_DELTABLE, MSG_DELTABLE)) < 0 ||
	    (ret = batch_begin_end(&b, false)) < 0)
		goto out;
	ret = batch_send(nl, &b);
	if (ret == -ENOENT)
		ret = 0;
out:
	batch_free(&b, nl);
	return ret;
}

/* ---------------------------------------------------------------- counters */

/* The kernel answers a dump at once; this only bounds a lost answer, so
 * that the loop never waits for one. */
#define KN_NL_DUMP_TIMEOUT_MS 1000
/* The largest datagram of a dump we read (libmnl's MNL_SOCKET_DUMP_SIZE,
 * which older libmnl lack): the kernel fills up to what we read. */
#define KN_NL_DUMP_BUF 32768

/* A dump of chain api-guard being read. */
struct counts_state {
	const char *table;
	const struct kn_chain *ch;
	size_t next; /* the position of the next rule */
	struct kn_guard_counts c;
	int ret; /* the first error; the rest of the dump is read all the same */
	struct kn_err *err;
};

static int
comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char *v = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 && v[len - 1] == '\0')
		*(const char **)data = v;
	return MNL_CB_OK;
}

/* The comment of a parsed rule, or NULL. */
static const char *
rule_comment(const struct nftnl_rule *r)
{
	const char *comment = NULL;
	const void *ud;
	uint32_t len;

	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return NULL;
	ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	if (nftnl_udata_parse(ud, len, comment_cb, &comment) < 0)
		return NULL;
	return comment;
}

/* Adds the counter expressions of r to the direction dir counts (-1:
 * none); returns how many r has. */
static int
counts_add(struct counts_state *st, struct nftnl_rule *r, int dir)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;
	int n = 0;

	if (!it)
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") != 0)
			continue;
		if (dir >= 0) {
			st->c.packets[dir] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
			st->c.bytes[dir] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		}
		n++;
	}
	nftnl_expr_iter_destroy(it);
	return n;
}

/* One rule of the dump: it must be the program's rule at its position;
 * its counter counts for the direction of that rule. */
static int
counts_rule(struct counts_state *st, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	const struct kn_rule *want;
	const char *comment;
	int dir, n, ret = 0;

	if (!r)
		return kn_errf(st->err, -ENOMEM, "chain %s: %s", st->ch->name, strerror(ENOMEM));
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		ret = kn_errf(st->err, -EPROTO, "chain %s: rule %zu does not parse", st->ch->name,
			      st->next);
		goto out;
	}
	if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), st->table) != 0 ||
	    strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), st->ch->name) != 0) {
		ret = kn_errf(st->err, -EPROTO, "the kernel listed chain %s of table %s",
			      nftnl_rule_get_str(r, NFTNL_RULE_CHAIN),
			      nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
		goto out;
	}
	if (st->next >= st->ch->nrules) {
		ret = kn_errf(st->err, -EPROTO,
			      "chain %s has more than the %zu rules kube-nftd wrote", st->ch->name,
			      st->ch->nrules);
		goto out;
	}
	want = &st->ch->rules[st->next];
	comment = rule_comment(r);
	if ((comment == NULL) != (want->comment == NULL) ||
	    (comment && strcmp(comment, want->comment) != 0)) {
		ret = kn_errf(
			st->err, -EPROTO,
			"rule %zu of chain %s is not the one kube-nftd wrote (comment \"%s\")",
			st->next, st->ch->name, comment ? comment : "");
		goto out;
	}
	dir = kn_guard_rule_dir(want);
	n = counts_add(st, r, dir);
	if (n < 0)
		ret = kn_errf(st->err, n, "chain %s: %s", st->ch->name, strerror(-n));
	else if ((n == 1) != (dir >= 0))
		ret = kn_errf(st->err, -EPROTO,
			      "rule %zu of chain %s has %d counters, kube-nftd wrote %d", st->next,
			      st->ch->name, n, dir >= 0);
	st->next++;
out:
	nftnl_rule_free(r);
	return ret;
}

/* The messages of one datagram of the dump; seq 0 takes any (a dump
 * read from a buffer).  Messages of other requests (acks of an earlier
 * batch) are skipped.  Returns true once the dump ended (NLMSG_DONE, or
 * the kernel's error). */
static bool
counts_msgs(struct counts_state *st, const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		int r;

		if (seq && (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid))
			continue;
		if (nlh->nlmsg_type == NLMSG_DONE)
			return true;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			r = mnl_nlmsg_get_payload_len(nlh) < sizeof(*e) ? -EPROTO : e->error;
			if (r < 0 && st->ret == 0)
				st->ret = kn_errf(st->err, r, "listing chain %s: %s", st->ch->name,
						  strerror(-r));
			return true;
		}
		if (st->ret == 0 && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE &&
		    (r = counts_rule(st, nlh)) < 0)
			st->ret = r;
	}
	return false;
}

static int
counts_finish(struct counts_state *st, struct kn_guard_counts *ret)
{
	if (st->ret < 0)
		return st->ret;
	if (st->next == 0)
		return kn_errf(st->err, -ENOENT, "no chain %s in table inet %s", st->ch->name,
			       st->table);
	if (st->next < st->ch->nrules)
		return kn_errf(st->err, -EPROTO, "chain %s has %zu rules, kube-nftd wrote %zu",
			       st->ch->name, st->next, st->ch->nrules);
	*ret = st->c;
	return 0;
}

int
kn_nl_guard_counts_parse(const void *buf, size_t len, const char *table, const struct kn_chain *ch,
			 struct kn_guard_counts *ret, struct kn_err *err)
{
	struct counts_state st = {.table = table, .ch = ch, .err = err};

	counts_msgs(&st, buf, len, 0, 0);
	return counts_finish(&st, ret);
}

/* Sends the request: list the rules of chain ch of table inet TABLE. */
static int
counts_request(struct kn_nl *nl, const char *table, const struct kn_chain *ch, uint32_t seq)
{
	char req[1024];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;

	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, ch->name) < 0) {
		nftnl_rule_free(r);
		return -ENOMEM;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

int
kn_nl_guard_counts(struct kn_nl *nl, const char *table, const struct kn_chain *ch,
		   struct kn_guard_counts *ret, struct kn_err *err)
{
	struct counts_state st = {.table = table, .ch = ch, .err = err};
	int fd = mnl_socket_get_fd(nl->sock);
	uint32_t seq = nl->seq++;
	char *buf;
	int r;

	if ((r = counts_request(nl, table, ch, seq)) < 0)
		return kn_errf(err, r, "listing chain %s: %s", ch->name, strerror(-r));
	buf = xmalloc(KN_NL_DUMP_BUF);
	/* Read to the end even after an error: a dump left half read
	 * would make the socket refuse the next one (EBUSY). */
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		r = poll(&pfd, 1, KN_NL_DUMP_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			r = r == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		n = recv(fd, buf, KN_NL_DUMP_BUF, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (counts_msgs(&st, buf, (size_t)n, seq, nl->portid)) {
			r = 0;
			break;
		}
	}
	if (r < 0 && st.ret == 0)
		st.ret = kn_errf(err, r, "listing chain %s: %s", ch->name, strerror(-r));
	free(buf);
	return counts_finish(&st, ret);
}
