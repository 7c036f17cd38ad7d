/* Conntrack entry deletion over ctnetlink (conntrack.h).
 *
 * Two sockets: one reads the dump, the other deletes the entries that
 * match while the dump goes on.  The kernel resumes a dump from the last
 * entry it sent, so deleting entries under it is safe; deleting from the
 * callback also means no list of entries is ever kept, whatever the size
 * of the table.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "util.h"

/* A dump message holds one entry of a few hundred bytes; the kernel fills
 * a buffer of up to 32 KiB per read.  64 KiB is always enough. */
#define CT_RECV_BUF (64 * 1024)

struct ct_ctx {
	const struct kn_guard_revocation *rv;
	struct mnl_socket *del;
	uint32_t del_seq;
	struct kn_ct_stats st;
	int del_err; /* first delete error other than ENOENT */
};

/* ------------------------------------------------------------ matching */

static bool
dest_has(const struct kn_guard_revocation *rv, const struct kn_addr *a, uint8_t proto,
	 uint16_t port)
{
	for (size_t i = 0; i < rv->ndsts; i++) {
		const struct kn_guard_dest *d = &rv->dsts[i];

		if (d->proto == proto && port >= d->port && port <= d->port_end &&
		    kn_addr_cmp(&d->addr, a) == 0)
			return true;
	}
	return false;
}

bool
kn_ct_flow_revoked(const struct kn_guard_revocation *rv, const struct kn_ct_flow *f)
{
	bool src = false;

	for (size_t i = 0; i < rv->nsrcs && !src; i++)
		src = kn_addr_cmp(&rv->srcs[i], &f->src) == 0;
	if (!src)
		return false;
	return dest_has(rv, &f->dst, f->proto, f->dport) ||
	       (f->reply_src.family && dest_has(rv, &f->reply_src, f->proto, f->reply_sport));
}

/* ------------------------------------------------------------ parsing */

static struct nlmsghdr *
ct_msg(char *buf, uint16_t type, uint16_t flags, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Collects the attributes of one nest level, by type, ignoring types
 * beyond max (newer kernels add some). */
struct attrs {
	const struct nlattr **tb;
	uint16_t max;
};

static int
attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static int
nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max)
{
	struct attrs a = {tb, max};

	memset(tb, 0, (max + 1u) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, attr_cb, &a) < 0 ? -EINVAL : 0;
}

static bool
attr_addr(const struct nlattr *attr, int family, struct kn_addr *ret)
{
	size_t len = (size_t)kn_addr_len(family);

	if (!attr || mnl_attr_get_payload_len(attr) != len)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->family = (uint8_t)family;
	memcpy(ret->bytes, mnl_attr_get_payload(attr), len);
	return true;
}

/* One tuple: addresses, protocol and ports (network byte order in the
 * attributes). */
static bool
parse_tuple(const struct nlattr *nest, int family, struct kn_addr *src, struct kn_addr *dst,
	    uint8_t *proto, uint16_t *sport, uint16_t *dport)
{
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *p[CTA_PROTO_MAX + 1];
	bool v4 = family == AF_INET;

	if (!nest || nested(nest, t, CTA_TUPLE_MAX) < 0 || !t[CTA_TUPLE_IP] ||
	    !t[CTA_TUPLE_PROTO] || nested(t[CTA_TUPLE_IP], ip, CTA_IP_MAX) < 0 ||
	    nested(t[CTA_TUPLE_PROTO], p, CTA_PROTO_MAX) < 0)
		return false;
	if (!attr_addr(ip[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC], family, src) ||
	    !attr_addr(ip[v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST], family, dst))
		return false;
	if (!p[CTA_PROTO_NUM] || !p[CTA_PROTO_SRC_PORT] || !p[CTA_PROTO_DST_PORT])
		return false; /* a protocol without ports: never the API server */
	*proto = mnl_attr_get_u8(p[CTA_PROTO_NUM]);
	*sport = ntohs(mnl_attr_get_u16(p[CTA_PROTO_SRC_PORT]));
	*dport = ntohs(mnl_attr_get_u16(p[CTA_PROTO_DST_PORT]));
	return true;
}

/* ------------------------------------------------------------ delete */

/*	IPCTNL_MSG_CT_DELETE
 *	  CTA_TUPLE_ORIG { CTA_TUPLE_IP { SRC, DST }, CTA_TUPLE_PROTO { NUM, SPORT, DPORT } }
 *	  CTA_ZONE (when not 0)
 * and its ack. */
static int
ct_delete(struct ct_ctx *c, int family, const struct kn_ct_flow *f, const struct nlattr *zone)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlattr *tuple, *nest;
	struct nlmsghdr *nlh;
	bool v4 = family == AF_INET;
	size_t len = (size_t)kn_addr_len(family);
	uint32_t seq = ++c->del_seq;
	ssize_t n;

	nlh = ct_msg(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, (uint8_t)family, seq);
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, len, f->src.bytes);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, len, f->dst.bytes);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, f->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(f->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(f->dport));
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_nest_end(nlh, tuple);
	if (zone && mnl_attr_get_payload_len(zone) == sizeof(uint16_t) && mnl_attr_get_u16(zone))
		mnl_attr_put_u16(nlh, CTA_ZONE, mnl_attr_get_u16(zone));
	if (mnl_socket_sendto(c->del, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(c->del, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	/* The ack: 0, or the error; a missing entry has expired since. */
	if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(c->del), NULL, NULL) < 0)
		return errno == ENOENT ? 0 : -errno;
	c->st.deleted++;
	return 0;
}

static int
dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTA_MAX + 1];
	struct ct_ctx *c = data;
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct attrs a = {tb, CTA_MAX};
	struct kn_addr rdst;
	struct kn_ct_flow f;
	uint8_t rproto;
	uint16_t rdport;
	int family = nfg->nfgen_family, r;

	memset(tb, 0, sizeof(tb));
	c->st.scanned++;
	if ((family != AF_INET && family != AF_INET6) ||
	    mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, &a) < 0)
		return MNL_CB_OK;
	memset(&f, 0, sizeof(f));
	if (!parse_tuple(tb[CTA_TUPLE_ORIG], family, &f.src, &f.dst, &f.proto, &f.sport, &f.dport))
		return MNL_CB_OK;
	if (!parse_tuple(tb[CTA_TUPLE_REPLY], family, &f.reply_src, &rdst, &rproto, &f.reply_sport,
			 &rdport))
		memset(&f.reply_src, 0, sizeof(f.reply_src));
	if (!kn_ct_flow_revoked(c->rv, &f))
		return MNL_CB_OK;
	r = ct_delete(c, family, &f, tb[CTA_ZONE]);
	if (r < 0 && c->del_err == 0)
		c->del_err = r;
	return MNL_CB_OK;
}

/* Dumps the conntrack table of one family and deletes what matches. */
static int
dump_family(struct ct_ctx *c, struct mnl_socket *dump, int family, struct kn_err *err)
{
	char *buf = xmalloc(CT_RECV_BUF);
	uint32_t seq = (uint32_t)time(NULL), portid = mnl_socket_get_portid(dump);
	struct nlmsghdr *nlh;
	ssize_t n;
	int r;

	nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, (uint8_t)family, seq);
	if (mnl_socket_sendto(dump, nlh, nlh->nlmsg_len) < 0) {
		r = kn_errf(err, -errno, "conntrack dump: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(dump, buf, CT_RECV_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* ENOBUFS: the dump lost messages; entries may remain.
			 * The caller reports it; the next revocation retries. */
			r = kn_errf(err, -errno, "conntrack dump: %s", strerror(errno));
			goto out;
		}
		r = mnl_cb_run(buf, (size_t)n, seq, portid, dump_cb, c);
		if (r < 0) {
			r = kn_errf(err, -errno, "conntrack dump: %s", strerror(errno));
			goto out;
		}
		if (r == MNL_CB_STOP)
			break;
	}
	r = 0;
out:
	free(buf);
	return r;
}

static bool
has_family(const struct kn_guard_revocation *rv, int family)
{
	for (size_t i = 0; i < rv->nsrcs; i++)
		if (rv->srcs[i].family == family)
			return true;
	return false;
}

int
kn_ct_revoke(const struct kn_guard_revocation *rv, struct kn_ct_stats *stats, struct kn_err *err)
{
	struct ct_ctx c = {.rv = rv};
	struct mnl_socket *dump = NULL;
	int r = 0;

	if (rv->nsrcs == 0 || rv->ndsts == 0)
		goto out;
	dump = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	c.del = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!dump || !c.del || mnl_socket_bind(dump, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(c.del, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = kn_errf(err, -errno, "conntrack socket: %s", strerror(errno));
		goto out;
	}
	c.del_seq = (uint32_t)time(NULL);
	for (int f = 0; f < 2 && r == 0; f++) {
		int family = f ? AF_INET6 : AF_INET;

		if (has_family(rv, family))
			r = dump_family(&c, dump, family, err);
	}
	if (r == 0 && c.del_err < 0)
		r = kn_errf(err, c.del_err, "conntrack delete: %s", strerror(-c.del_err));
out:
	if (dump)
		mnl_socket_close(dump);
	if (c.del)
		mnl_socket_close(c.del);
	if (stats)
		*stats = c.st;
	return r;
}
