/* The netlink monitor's parsing: datagrams of nftables notifications, as
 * the kernel sends them, in; changes of our table by other processes out. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <atf-c.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft_monitor.h"

#define TABLE	      "kube-nftd"
#define SELF	      77   /* our command socket's port */
#define NFT	      4100 /* the port of an nft process */
#define NFT_PID	      4242
#define OTHER	      5100
#define DESTROY_TABLE 26 /* NFT_MSG_DESTROYTABLE (kernel 6.3) */

/* A datagram being built. */
struct dgram {
	char buf[16384];
	size_t len;
};

static struct nlmsghdr *
msg_start(struct dgram *d, uint16_t subsys, uint16_t type, uint32_t portid, uint8_t family)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf + d->len);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)(subsys << 8 | type);
	nlh->nlmsg_pid = portid;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

static void
msg_end(struct dgram *d, struct nlmsghdr *nlh)
{
	d->len += MNL_ALIGN(nlh->nlmsg_len);
}

/* An object message about table inet TABLE (or another family or table),
 * as the kernel notifies it: the table's name first, then the object's. */
static void
obj(struct dgram *d, uint16_t type, uint32_t portid, uint8_t family, const char *table)
{
	struct nlmsghdr *nlh = msg_start(d, NFNL_SUBSYS_NFTABLES, type, portid, family);

	mnl_attr_put_strz(nlh, 1, table);
	mnl_attr_put_strz(nlh, 2, "forward-ingress");
	msg_end(d, nlh);
}

static void
ours(struct dgram *d, uint16_t type, uint32_t portid)
{
	obj(d, type, portid, NFPROTO_INET, TABLE);
}

/* NEWGEN, the end of a transaction. */
static void
gen(struct dgram *d, uint32_t portid, uint32_t genid, uint32_t pid, const char *comm)
{
	struct nlmsghdr *nlh = msg_start(d, NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWGEN, portid, 0);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(genid));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
	msg_end(d, nlh);
}

struct seen {
	struct kn_mon_change c[8];
	int n;
};

static void
collect(void *arg, const struct kn_mon_change *c)
{
	struct seen *s = arg;

	ATF_REQUIRE(s->n < 8);
	s->c[s->n++] = *c;
}

static void
feed(struct kn_mon *m, struct dgram *d, struct seen *s)
{
	kn_mon_feed(m, d->buf, d->len, collect, s);
	d->len = 0;
}

static const char *
describe(const struct kn_mon_change *c)
{
	static char buf[256];

	kn_mon_describe(c, buf, sizeof(buf));
	return buf;
}

static const char *
who(const struct kn_mon_change *c)
{
	static char buf[128];

	kn_mon_who(c, buf, sizeof(buf));
	return buf;
}

ATF_TC_WITHOUT_HEAD(foreign_change_reported);
ATF_TC_BODY(foreign_change_reported, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct dgram d = {0};
	struct seen s = {0};

	/* nft flush chain inet kube-nftd forward-ingress */
	for (int i = 0; i < 3; i++)
		ours(&d, NFT_MSG_DELRULE, NFT);
	gen(&d, NFT, 1234, NFT_PID, "nft");
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_EQ(s.c[0].portid, NFT);
	ATF_CHECK_EQ(s.c[0].pid, NFT_PID);
	ATF_CHECK_EQ(s.c[0].genid, 1234);
	ATF_CHECK_STREQ(s.c[0].comm, "nft");
	ATF_CHECK_EQ(s.c[0].deleted[KN_MON_RULE], 3);
	ATF_CHECK_STREQ(describe(&s.c[0]), "deleted 3 rules");
	ATF_CHECK_STREQ(who(&s.c[0]), "nft (pid 4242)");
	kn_mon_close(m);
}

/* Our own transactions are told apart by the sender's port, however late
 * they are read: here in the middle of another's. */
ATF_TC_WITHOUT_HEAD(own_transactions_ignored);
ATF_TC_BODY(own_transactions_ignored, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct kn_mon_stats st;
	struct dgram d = {0};
	struct seen s = {0};

	ours(&d, NFT_MSG_DELTABLE, SELF);
	ours(&d, NFT_MSG_NEWTABLE, SELF);
	ours(&d, NFT_MSG_NEWRULE, SELF);
	gen(&d, SELF, 10, 999, "kube-nftd");
	feed(m, &d, &s);
	ours(&d, NFT_MSG_NEWSETELEM, SELF);
	feed(m, &d, &s);
	gen(&d, SELF, 11, 999, "kube-nftd");
	feed(m, &d, &s);
	ATF_CHECK_EQ(s.n, 0);
	kn_mon_get_stats(m, &st);
	ATF_CHECK_EQ(st.messages, 6);
	ATF_CHECK_EQ(st.own, 6);

	/* Another process's change right after ours is still seen. */
	ours(&d, NFT_MSG_NEWSETELEM, NFT);
	gen(&d, NFT, 12, NFT_PID, "nft");
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_STREQ(describe(&s.c[0]), "added 1 set element");
	kn_mon_close(m);
}

ATF_TC_WITHOUT_HEAD(other_tables_ignored);
ATF_TC_BODY(other_tables_ignored, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct kn_mon_stats st;
	struct dgram d = {0};
	struct seen s = {0};
	struct nlmsghdr *nlh;

	/* kube-proxy's table, a table of ours in another family, a table
	 * whose name starts like ours, a conntrack event. */
	obj(&d, NFT_MSG_NEWSETELEM, OTHER, NFPROTO_INET, "kube-proxy");
	obj(&d, NFT_MSG_DELRULE, OTHER, NFPROTO_IPV4, TABLE);
	obj(&d, NFT_MSG_DELRULE, OTHER, NFPROTO_INET, TABLE "-old");
	nlh = msg_start(&d, NFNL_SUBSYS_CTNETLINK, 0, OTHER, NFPROTO_IPV4);
	msg_end(&d, nlh);
	gen(&d, OTHER, 5, 300, "kube-proxy");
	/* Reads of our table change nothing. */
	ours(&d, NFT_MSG_GETRULE, OTHER);
	ours(&d, NFT_MSG_GETSETELEM, OTHER);
	gen(&d, OTHER, 6, 300, "kube-proxy");
	feed(m, &d, &s);
	ATF_CHECK_EQ(s.n, 0);
	kn_mon_get_stats(m, &st);
	ATF_CHECK_EQ(st.messages, 7); /* the conntrack event is not ours to count */
	ATF_CHECK_EQ(st.own, 0);

	/* After a reload names another table, that one is watched. */
	kn_mon_set_table(m, TABLE "-old");
	obj(&d, NFT_MSG_DELRULE, OTHER, NFPROTO_INET, TABLE "-old");
	ours(&d, NFT_MSG_DELRULE, OTHER);
	gen(&d, OTHER, 7, 300, "nft");
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_STREQ(describe(&s.c[0]), "deleted 1 rule");
	kn_mon_close(m);
}

/* The kernel may split one transaction over several datagrams. */
ATF_TC_WITHOUT_HEAD(transaction_across_datagrams);
ATF_TC_BODY(transaction_across_datagrams, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct dgram d = {0};
	struct seen s = {0};

	ours(&d, NFT_MSG_DELRULE, NFT);
	feed(m, &d, &s);
	ours(&d, NFT_MSG_NEWRULE, NFT);
	feed(m, &d, &s);
	ATF_CHECK_EQ(s.n, 0);
	gen(&d, NFT, 9, NFT_PID, "nft");
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_STREQ(describe(&s.c[0]), "deleted 1 rule, added 1 rule");
	kn_mon_close(m);
}

ATF_TC_WITHOUT_HEAD(table_deleted_or_replaced);
ATF_TC_BODY(table_deleted_or_replaced, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct dgram d = {0};
	struct seen s = {0};

	/* nft delete table: every object, then the table. */
	ours(&d, NFT_MSG_DELRULE, NFT);
	ours(&d, NFT_MSG_DELSET, NFT);
	ours(&d, NFT_MSG_DELCHAIN, NFT);
	ours(&d, NFT_MSG_DELTABLE, NFT);
	gen(&d, NFT, 1, NFT_PID, "nft");
	/* kube-nftctl apply: the table deleted and defined anew. */
	ours(&d, NFT_MSG_DELTABLE, OTHER);
	ours(&d, NFT_MSG_NEWTABLE, OTHER);
	ours(&d, NFT_MSG_NEWCHAIN, OTHER);
	gen(&d, OTHER, 2, 77777, "kube-nftctl");
	/* nft destroy table (kernel 6.3+ notifies its own type). */
	ours(&d, DESTROY_TABLE, NFT);
	gen(&d, NFT, 3, NFT_PID, "nft");
	/* The table created after it was gone. */
	ours(&d, NFT_MSG_NEWTABLE, NFT);
	gen(&d, NFT, 4, NFT_PID, "nft");
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 4);
	ATF_CHECK_STREQ(describe(&s.c[0]), "deleted the table");
	ATF_CHECK_STREQ(describe(&s.c[1]), "replaced the table");
	ATF_CHECK_STREQ(who(&s.c[1]), "kube-nftctl (pid 77777)");
	ATF_CHECK_STREQ(describe(&s.c[2]), "deleted the table");
	ATF_CHECK_STREQ(describe(&s.c[3]), "created the table");
	kn_mon_close(m);
}

/* A NEWGEN lost (or never sent): the change is reported all the same,
 * without the process's name, when the next transaction shows up. */
ATF_TC_WITHOUT_HEAD(lost_newgen);
ATF_TC_BODY(lost_newgen, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct dgram d = {0};
	struct seen s = {0};

	ours(&d, NFT_MSG_DELRULE, NFT);
	gen(&d, OTHER, 5, 300, "kube-proxy");
	ours(&d, NFT_MSG_NEWSETELEM, NFT);
	ours(&d, NFT_MSG_NEWSETELEM, OTHER);
	gen(&d, OTHER, 6, 300, "kube-proxy");
	ours(&d, NFT_MSG_NEWCHAIN, NFT);
	ours(&d, NFT_MSG_NEWRULE, SELF);
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 4);
	ATF_CHECK_EQ(s.c[0].pid, -1);
	ATF_CHECK_STREQ(s.c[0].comm, "");
	ATF_CHECK_STREQ(who(&s.c[0]), "an unknown process (netlink port 4100)");
	ATF_CHECK_STREQ(describe(&s.c[0]), "deleted 1 rule");
	ATF_CHECK_STREQ(who(&s.c[1]), "an unknown process (netlink port 4100)");
	ATF_CHECK_STREQ(describe(&s.c[1]), "added 1 set element");
	ATF_CHECK_STREQ(who(&s.c[2]), "kube-proxy (pid 300)");
	ATF_CHECK_STREQ(describe(&s.c[3]), "added 1 chain");
	kn_mon_close(m);
}

ATF_TC_WITHOUT_HEAD(malformed_messages);
ATF_TC_BODY(malformed_messages, tc)
{
	struct kn_mon *m = kn_mon_new(TABLE, SELF);
	struct dgram d = {0};
	struct seen s = {0};
	struct nlmsghdr *nlh;
	struct nlattr *attr;
	char junk[512];

	/* No nfgenmsg. */
	nlh = mnl_nlmsg_put_header(d.buf);
	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE;
	nlh->nlmsg_pid = NFT;
	msg_end(&d, nlh);
	/* A table name without its NUL. */
	nlh = msg_start(&d, NFNL_SUBSYS_NFTABLES, NFT_MSG_DELRULE, NFT, NFPROTO_INET);
	attr = (struct nlattr *)((char *)nlh + nlh->nlmsg_len);
	attr->nla_type = 1;
	attr->nla_len = (uint16_t)(sizeof(*attr) + strlen(TABLE));
	memcpy(attr + 1, TABLE, strlen(TABLE));
	nlh->nlmsg_len += MNL_ALIGN(attr->nla_len);
	msg_end(&d, nlh);
	/* A NEWGEN whose attributes have the wrong sizes. */
	ours(&d, NFT_MSG_DELRULE, NFT);
	nlh = msg_start(&d, NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWGEN, NFT, 0);
	mnl_attr_put_u16(nlh, NFTA_GEN_PROC_PID, 5);
	mnl_attr_put(nlh, NFTA_GEN_PROC_NAME, 3, "nft"); /* no NUL */
	msg_end(&d, nlh);
	feed(m, &d, &s);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_EQ(s.c[0].pid, -1);
	ATF_CHECK_STREQ(s.c[0].comm, "");

	/* A truncated datagram, and garbage: nothing, and no crash. */
	ours(&d, NFT_MSG_DELRULE, NFT);
	kn_mon_feed(m, d.buf, d.len - 8, collect, &s);
	d.len = 0;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 37 + 11);
	kn_mon_feed(m, junk, sizeof(junk), collect, &s);
	kn_mon_feed(m, junk, 3, collect, &s);
	ATF_CHECK_EQ(s.n, 1);
	kn_mon_close(m);
}

ATF_TC_WITHOUT_HEAD(describe_bounded);
ATF_TC_BODY(describe_bounded, tc)
{
	struct kn_mon_change c;
	char small[12];

	memset(&c, 0, sizeof(c));
	c.pid = -1;
	ATF_CHECK_STREQ(describe(&c), "changed it");
	for (int o = 0; o < KN_MON_NOBJ; o++) {
		c.deleted[o] = o == KN_MON_TABLE ? 0 : 2;
		c.added[o] = 1;
	}
	ATF_CHECK_STREQ(
		describe(&c),
		"deleted 2 chains, deleted 2 rules, deleted 2 sets, deleted 2 set elements, "
		"deleted 2 stateful objects, deleted 2 flowtables, created the table, "
		"added 1 chain, added 1 rule, added 1 set, added 1 set element, "
		"added 1 stateful object, added 1 flowtable");
	kn_mon_describe(&c, small, sizeof(small));
	ATF_CHECK(strlen(small) < sizeof(small));
	c.pid = 12;
	kn_mon_who(&c, small, sizeof(small));
	ATF_CHECK_STREQ(small, "pid 12");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, foreign_change_reported);
	ATF_TP_ADD_TC(tp, own_transactions_ignored);
	ATF_TP_ADD_TC(tp, other_tables_ignored);
	ATF_TP_ADD_TC(tp, transaction_across_datagrams);
	ATF_TP_ADD_TC(tp, table_deleted_or_replaced);
	ATF_TP_ADD_TC(tp, lost_newgen);
	ATF_TP_ADD_TC(tp, malformed_messages);
	ATF_TP_ADD_TC(tp, describe_bounded);
	return atf_no_error();
}
