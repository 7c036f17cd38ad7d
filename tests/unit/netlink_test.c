/* The netlink backend's batches, built without a kernel (kn_nl_build).
 *
 * The backend writes element lists straight into the batch with libmnl
 * instead of through one libnftnl object per element.  Their bytes must
 * stay exactly the ones libnftnl writes: every run of element messages
 * of a set is parsed back with libnftnl and rebuilt with its own
 * builder, nftnl_set_elems_nlmsg_build_payload_iter(), which must give
 * the same messages, split at the same elements.  The cases cover the
 * golden manifests, a program with every kind of set and element (long
 * comments, ranges to the top address, verdict maps, lists longer than
 * one message holds) and incremental batches (adds and key-only
 * deletes).  A full sync puts each set's elements right after it and,
 * for kernels that find the sets of a batch by id (6.11+), names the set
 * by id alone; sets already in the kernel are always named. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <atf-c.h>

#include "guard.h"
#include "nft_netlink.h"
#include "testutil.h"
#include "util.h"

/* Larger than any message of a batch: an element list and its header. */
#define MSG_MAX (128 * 1024)

struct counts {
	size_t messages, lists, elem_messages, split;
	size_t named, by_id;   /* lists naming their set, lists with its id only */
	size_t after_newset;   /* lists right after the NEWSET of their set */
	size_t comments, open; /* user data records of elements */
	size_t rules, chains, sets;
	size_t sized;	   /* sets with NFTA_SET_DESC_SIZE */
	uint64_t size_sum; /* and the sum of their sizes */
	char exprs[256];   /* the expressions seen: " meta cmp ... " */
};

static int
note_expr(struct nftnl_expr *e, void *arg)
{
	struct counts *c = arg;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	size_t len = strlen(c->exprs);
	char word[32];

	snprintf(word, sizeof(word), " %s ", name);
	if (strstr(c->exprs, word) == NULL)
		snprintf(c->exprs + len, sizeof(c->exprs) - len, "%s", len > 0 ? word + 1 : word);
	return 0;
}

static uint8_t
msg_type(const struct nlmsghdr *nlh)
{
	return (uint8_t)(nlh->nlmsg_type & 0xff);
}

static bool
is_elem_msg(const struct nlmsghdr *nlh)
{
	return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES &&
	       (msg_type(nlh) == NFT_MSG_NEWSETELEM || msg_type(nlh) == NFT_MSG_DELSETELEM);
}

/* Parses an element message into s (appending its elements).  libnftnl
 * numbers the elements of a list 1, 2, 3... when it builds one but
 * parses only lists whose elements are all numbered NFTA_LIST_ELEM (the
 * kernel looks at neither), so a copy renumbered that way is parsed. */
static int
elems_parse(const struct nlmsghdr *nlh, struct nftnl_set *s)
{
	struct nlmsghdr *copy = xmalloc(nlh->nlmsg_len);
	struct nlattr *attr, *e;
	int ret;

	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(attr, copy, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(attr) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(e, attr)
		{
			e->nla_type = (uint16_t)((e->nla_type & ~NLA_TYPE_MASK) | NFTA_LIST_ELEM);
		}
	}
	ret = nftnl_set_elems_nlmsg_parse(copy, s);
	free(copy);
	return ret;
}

/* The set an element message names: "NAME#ID" (either may be absent),
 * and its id. */
static char *
elem_msg_set(const struct nlmsghdr *nlh, uint32_t *ret_id)
{
	struct nftnl_set *s = nftnl_set_alloc();
	const char *name;
	char *key;

	ATF_REQUIRE(s != NULL);
	ATF_REQUIRE_MSG(elems_parse(nlh, s) == 0, "libnftnl cannot parse message %u",
			nlh->nlmsg_seq);
	name = nftnl_set_is_set(s, NFTNL_SET_NAME) ? nftnl_set_get_str(s, NFTNL_SET_NAME) : "";
	*ret_id = nftnl_set_is_set(s, NFTNL_SET_ID) ? nftnl_set_get_u32(s, NFTNL_SET_ID) : 0;
	key = xasprintf("%s#%u", name, *ret_id);
	nftnl_set_free(s);
	return key;
}

/* The batch-local id of the set a NEWSET message creates, or 0. */
static uint32_t
newset_id(const struct nlmsghdr *nlh)
{
	struct nftnl_set *s;
	uint32_t id = 0;

	if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || msg_type(nlh) != NFT_MSG_NEWSET)
		return 0;
	s = nftnl_set_alloc();
	ATF_REQUIRE(s != NULL);
	ATF_REQUIRE(nftnl_set_nlmsg_parse(nlh, s) == 0);
	if (nftnl_set_is_set(s, NFTNL_SET_ID))
		id = nftnl_set_get_u32(s, NFTNL_SET_ID);
	nftnl_set_free(s);
	return id;
}

/* The user data of an element, which libnftnl passes along as opaque
 * bytes: the comment and the open-interval flag, each encoded as
 * libnftnl's nftnl_udata_put_strz() and nftnl_udata_put_u32() do. */
static int
check_udata(struct nftnl_set_elem *e, void *arg)
{
	struct counts *c = arg;
	struct nftnl_udata_buf *want = nftnl_udata_buf_alloc(256);
	const uint8_t *ud;
	uint32_t len, off = 0;

	ATF_REQUIRE(want != NULL);
	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA))
		goto out;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	while (off + 2 <= len) {
		uint8_t type = ud[off], n = ud[off + 1];
		const uint8_t *v = ud + off + 2;
		uint32_t flags;

		ATF_REQUIRE_MSG(off + 2 + n <= len, "user data record overruns");
		if (type == NFTNL_UDATA_SET_ELEM_COMMENT) {
			ATF_REQUIRE_MSG(n > 0 && v[n - 1] == '\0' &&
						strlen((const char *)v) + 1 == n,
					"comment not a NUL-terminated string");
			ATF_REQUIRE(nftnl_udata_put_strz(want, type, (const char *)v));
			c->comments++;
		} else if (type == NFTNL_UDATA_SET_ELEM_FLAGS) {
			ATF_REQUIRE_EQ(n, sizeof(flags));
			memcpy(&flags, v, sizeof(flags));
			ATF_CHECK_EQ(flags, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
			ATF_REQUIRE(nftnl_udata_put_u32(want, type, flags));
			c->open++;
		} else {
			atf_tc_fail("unexpected user data record type %u", type);
		}
		off += 2u + n;
	}
	ATF_CHECK_EQ(off, len);
	ATF_CHECK_EQ(nftnl_udata_buf_len(want), len);
	ATF_CHECK(memcmp(nftnl_udata_buf_data(want), ud, len) == 0);
out:
	nftnl_udata_buf_free(want);
	return 0;
}

/* Rebuilds the n element messages v[] of one set with libnftnl and
 * compares them byte for byte. */
static void
check_run(struct nlmsghdr *const *v, size_t n, struct counts *c)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	char *out = xmalloc(MSG_MAX);

	ATF_REQUIRE(s != NULL);
	for (size_t i = 0; i < n; i++)
		ATF_REQUIRE(elems_parse(v[i], s) == 0);
	it = nftnl_set_elems_iter_create(s);
	ATF_REQUIRE(it != NULL);
	for (size_t i = 0; i < n; i++) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(v[i]);
		struct nlmsghdr *nlh;
		int more;

		memset(out, 0, MSG_MAX);
		nlh = nftnl_nlmsg_build_hdr(out, msg_type(v[i]), g->nfgen_family, v[i]->nlmsg_flags,
					    v[i]->nlmsg_seq);
		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
		ATF_CHECK_EQ_MSG(more > 0, i + 1 < n,
				 "message %u: libnftnl splits the list elsewhere (%d)",
				 v[i]->nlmsg_seq, more);
		ATF_CHECK_EQ_MSG(nlh->nlmsg_len, v[i]->nlmsg_len,
				 "message %u: %u bytes, libnftnl writes %u", v[i]->nlmsg_seq,
				 v[i]->nlmsg_len, nlh->nlmsg_len);
		if (nlh->nlmsg_len == v[i]->nlmsg_len && memcmp(nlh, v[i], nlh->nlmsg_len) != 0) {
			size_t k = 0;

			while (((const uint8_t *)nlh)[k] == ((const uint8_t *)v[i])[k])
				k++;
			ATF_CHECK_MSG(false,
				      "message %u: byte %zu differs from libnftnl's (%#x, %#x)",
				      v[i]->nlmsg_seq, k, ((const uint8_t *)v[i])[k],
				      ((const uint8_t *)nlh)[k]);
		}
	}
	nftnl_set_elem_foreach(s, check_udata, c);
	if (nftnl_set_is_set(s, NFTNL_SET_NAME))
		c->named++;
	else
		c->by_id++;
	c->lists++;
	c->elem_messages += n;
	if (n > 1)
		c->split++;
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	free(out);
}

/* Compares message nlh with the one libnftnl builds (into re) from what
 * it parsed of it. */
static void
check_same(const struct nlmsghdr *nlh, const struct nlmsghdr *re, const char *what)
{
	ATF_CHECK_EQ_MSG(re->nlmsg_len, nlh->nlmsg_len, "%s %u: %u bytes, libnftnl writes %u", what,
			 nlh->nlmsg_seq, nlh->nlmsg_len, re->nlmsg_len);
	if (re->nlmsg_len == nlh->nlmsg_len && memcmp(re, nlh, re->nlmsg_len) != 0) {
		size_t k = 0;

		while (((const uint8_t *)re)[k] == ((const uint8_t *)nlh)[k])
			k++;
		ATF_CHECK_MSG(false, "%s %u: byte %zu differs from libnftnl's (%#x, %#x)", what,
			      nlh->nlmsg_seq, k, ((const uint8_t *)nlh)[k],
			      ((const uint8_t *)re)[k]);
	}
}

/* A rule, chain or set, parsed back with libnftnl and rebuilt by it,
 * must be the same bytes. */
static void
check_object(const struct nlmsghdr *nlh, struct counts *c)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	char *out = xcalloc(1, MSG_MAX);
	struct nlmsghdr *re = nftnl_nlmsg_build_hdr(out, msg_type(nlh), g->nfgen_family,
						    nlh->nlmsg_flags, nlh->nlmsg_seq);

	if (msg_type(nlh) == NFT_MSG_NEWRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();

		ATF_REQUIRE(r != NULL && nftnl_rule_nlmsg_parse(nlh, r) == 0);
		nftnl_rule_nlmsg_build_payload(re, r);
		check_same(nlh, re, "rule");
		nftnl_expr_foreach(r, note_expr, c);
		nftnl_rule_free(r);
		c->rules++;
	} else if (msg_type(nlh) == NFT_MSG_NEWCHAIN) {
		struct nftnl_chain *ch = nftnl_chain_alloc();

		ATF_REQUIRE(ch != NULL && nftnl_chain_nlmsg_parse(nlh, ch) == 0);
		nftnl_chain_nlmsg_build_payload(re, ch);
		check_same(nlh, re, "chain");
		nftnl_chain_free(ch);
		c->chains++;
	} else if (msg_type(nlh) == NFT_MSG_NEWSET) {
		struct nftnl_set *s = nftnl_set_alloc();

		ATF_REQUIRE(s != NULL && nftnl_set_nlmsg_parse(nlh, s) == 0);
		nftnl_set_nlmsg_build_payload(re, s);
		check_same(nlh, re, "set");
		if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE)) {
			c->sized++;
			c->size_sum += nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE);
		}
		nftnl_set_free(s);
		c->sets++;
	}
	free(out);
}

/* Checks every element list and rule of the batch; returns what it
 * saw. */
static struct counts
check_batch(void *buf, size_t len)
{
	struct counts c = {0};
	struct nlmsghdr **v = NULL;
	struct nlmsghdr *nlh = buf;
	size_t n = 0, cap = 0;
	char *run = NULL;
	uint32_t prev_newset = 0, id = 0;
	int rem = (int)len;

	ATF_REQUIRE(len > 0);
	for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		char *set = is_elem_msg(nlh) ? elem_msg_set(nlh, &id) : NULL;

		c.messages++;
		if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES)
			check_object(nlh, &c);
		if (set != NULL && prev_newset != 0 && id == prev_newset)
			c.after_newset++;
		prev_newset = newset_id(nlh);
		/* A run: consecutive messages of one type for one set. */
		if (n > 0 &&
		    (set == NULL || msg_type(nlh) != msg_type(v[0]) || strcmp(set, run) != 0)) {
			check_run(v, n, &c);
			n = 0;
		}
		if (set != NULL) {
			free(run);
			run = set;
			*VEC_PUSH(v, n, cap) = nlh;
		}
	}
	ATF_CHECK_EQ_MSG(rem, 0, "%d bytes after the last message", rem);
	if (n > 0)
		check_run(v, n, &c);
	free(run);
	free(v);
	return c;
}

/* Checks the batch from old to new; with by_id, that of a kernel that
 * finds new sets by id (6.11+). */
static struct counts
check_build(const struct kn_program *old, const struct kn_program *new, bool by_id)
{
	struct kn_err err;
	struct counts c;
	void *buf = NULL;
	size_t len = 0;

	ATF_REQUIRE_MSG(kn_nl_build(old, new, 1000, by_id, &buf, &len, &err) == 0, "%s", err.msg);
	c = check_batch(buf, len);
	free(buf);
	return c;
}

/* A full sync: each set's elements follow it, by id when the kernel finds
 * new sets by id, by name otherwise. */
static struct counts
check_full(const struct kn_program *p)
{
	struct counts c = check_build(NULL, p, false), d = check_build(NULL, p, true);

	ATF_CHECK_EQ(c.after_newset, c.lists);
	ATF_CHECK_EQ(c.named, c.lists);
	ATF_CHECK_EQ(d.after_newset, d.lists);
	ATF_CHECK_EQ(d.by_id, d.lists);
	ATF_CHECK_EQ(c.lists, d.lists);
	return d;
}

ATF_TC_WITHOUT_HEAD(golden_element_lists);
ATF_TC_BODY(golden_element_lists, tc)
{
	static const char *const names[] = {"basic", "full", "guard"};
	static const char *const kinds[] = {"meta",	 "cmp",	      "payload", "lookup",
					    "byteorder", "immediate", "counter", "ct",
					    "bitwise",	 "limit",     "log"};
	char seen[1024] = "";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct kn_compile_opts o = {.node = "node1", .guard = KN_GUARD_ENFORCE};
		struct kn_store *s = kn_store_new();
		struct kn_program *p;
		struct counts c;
		char path[512], *text;
		size_t hashed = 0;
		uint64_t sizes = 0;

		snprintf(path, sizeof(path), "%s/tests/golden/%s.yaml", KN_TOP_SRCDIR, names[i]);
		text = tu_read_file(path);
		ATF_REQUIRE_MSG(text != NULL, "cannot read %s", path);
		tu_load(s, text);
		free(text);
		p = kn_compile(s, &o, NULL);
		c = check_full(p);
		printf("%s: %zu messages, %zu chains, %zu sets, %zu element lists, %zu rules\n",
		       names[i], c.messages, c.chains, c.sets, c.lists, c.rules);
		ATF_CHECK(c.lists > 0);
		ATF_CHECK(c.rules > 0);
		ATF_CHECK_EQ(c.chains, p->nchains);
		ATF_CHECK_EQ(c.sets, p->nsets);
		/* Every hash set carries its size, no interval set does. */
		for (size_t k = 0; k < p->nsets; k++) {
			hashed += !p->sets[k]->interval;
			sizes += p->sets[k]->size;
		}
		ATF_CHECK(hashed > 0 && hashed < p->nsets);
		ATF_CHECK_EQ(c.sized, hashed);
		ATF_CHECK_EQ(c.size_sum, sizes);
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s", c.exprs);
		kn_program_free(p);
		kn_store_free(s);
	}
	/* Every kind of expression the backend writes was checked. */
	printf("expressions:%s\n", seen);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		char word[32];

		snprintf(word, sizeof(word), " %s ", kinds[i]);
		ATF_CHECK_MSG(strstr(seen, word) != NULL, "no %s expression checked", kinds[i]);
	}
}

static void
addr(struct kn_addr *a, const char *s)
{
	ATF_REQUIRE_MSG(kn_addr_parse(s, a) == 0, "bad address %s", s);
}

/* A comment of the maximum length, so that lists fill up fast. */
static void
long_comment(struct kn_elem *e, const char *what, size_t i)
{
	char c[KN_COMMENT_MAX + 1], head[64];
	int n = snprintf(head, sizeof(head), "%s-%zu-", what, i);

	memset(c, 'c', KN_COMMENT_MAX);
	c[KN_COMMENT_MAX] = '\0';
	memcpy(c, head, (size_t)n);
	kn_elem_set_comment(e, c);
}

/* Every kind of set the backend writes; scale: how many elements the
 * large ones get, skip: leave out every skip-th element (0: none),
 * target: the map's chain. */
static struct kn_program *
synthetic(size_t scale, size_t skip, const char *target)
{
	struct kn_program *p = kn_program_new(NULL);
	struct kn_set *s;
	struct kn_elem *e;
	size_t i;

	kn_program_add_chain(p, "one", "a chain");
	kn_program_add_chain(p, "another-chain-with-a-rather-long-name-for-the-verdicts", NULL);

	/* Interval IPv4: many single addresses, a CIDR, a range up to
	 * 255.255.255.255 (no end element, nft's open flag). */
	s = kn_program_add_set(p, "v4-interval", KN_KEY_IPV4, true, "interval");
	for (i = 0; i < scale; i++) {
		if (skip && i % skip == 0)
			continue;
		e = kn_set_add_elem(s);
		e->addr.family = e->addr_end.family = AF_INET;
		e->addr.bytes[0] = 10;
		e->addr.bytes[1] = (uint8_t)(i >> 7);
		e->addr.bytes[2] = (uint8_t)(i & 0x7f) * 2;
		e->addr_end = e->addr;
		long_comment(e, "pod", i);
	}
	e = kn_set_add_elem(s);
	addr(&e->addr, "172.16.0.0");
	addr(&e->addr_end, "172.31.255.255");
	e = kn_set_add_elem(s);
	addr(&e->addr, "240.0.0.0");
	addr(&e->addr_end, "255.255.255.255");
	kn_set_finalize(s);

	/* Interval IPv6 starting at :: (no end element at zero). */
	s = kn_program_add_set(p, "v6-interval", KN_KEY_IPV6, true, NULL);
	e = kn_set_add_elem(s);
	addr(&e->addr, "::");
	addr(&e->addr_end, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	e = kn_set_add_elem(s);
	addr(&e->addr, "fd00::1");
	addr(&e->addr_end, "fd00::1");
	kn_elem_set_comment(e, "ns/pod");
	kn_set_finalize(s);

	/* Plain IPv6, without and with comments. */
	s = kn_program_add_set(p, "v6-plain", KN_KEY_IPV6, false, "plain");
	for (i = 0; i < scale; i++) {
		if (skip && i % skip == 1)
			continue;
		e = kn_set_add_elem(s);
		addr(&e->addr, "fd00::");
		e->addr.bytes[14] = (uint8_t)(i >> 8);
		e->addr.bytes[15] = (uint8_t)i;
		e->addr_end = e->addr;
		if (i % 3)
			long_comment(e, "v6", i);
	}
	kn_set_finalize(s);

	/* Concatenated: ranges (pipapo, KEY and KEY_END) and plain. */
	s = kn_program_add_set(p, "ports", KN_KEY_PROTO_PORT, true, NULL);
	for (i = 0; i < 40; i++) {
		e = kn_set_add_elem(s);
		e->proto = i % 2 ? 17 : 6;
		e->port = (uint16_t)(1000 + 10 * i);
		e->port_end = (uint16_t)(e->port + (i % 4));
	}
	kn_set_finalize(s);
	s = kn_program_add_set(p, "named-v4", KN_KEY_IPV4_PROTO_PORT, false, "named");
	for (i = 0; i < scale / 2; i++) {
		e = kn_set_add_elem(s);
		addr(&e->addr, "10.9.0.0");
		e->addr.bytes[2] = (uint8_t)(i >> 8);
		e->addr.bytes[3] = (uint8_t)i;
		e->proto = 132;
		e->port = e->port_end = 8080;
		long_comment(e, "named", i);
	}
	kn_set_finalize(s);

	/* A verdict map with long chain names and comments. */
	s = kn_program_add_vmap(p, "dispatch-v4", KN_KEY_IPV4, "map");
	for (i = 0; i < scale; i++) {
		if (skip && i % skip == 2)
			continue;
		e = kn_set_add_elem(s);
		addr(&e->addr, "10.200.0.0");
		e->addr.bytes[2] = (uint8_t)(i >> 8);
		e->addr.bytes[3] = (uint8_t)i;
		e->addr_end = e->addr;
		e->target = xstrdup(i % 7 ? target : "one");
		long_comment(e, "local", i);
	}
	kn_set_finalize(s);

	kn_program_add_set(p, "empty", KN_KEY_IPV4, false, NULL);
	return p;
}

ATF_TC_WITHOUT_HEAD(synthetic_element_lists);
ATF_TC_BODY(synthetic_element_lists, tc)
{
	struct kn_program *p =
		synthetic(3000, 0, "another-chain-with-a-rather-long-name-for-the-verdicts");
	struct counts c = check_full(p);

	printf("%zu messages, %zu element lists in %zu messages, %zu split\n", c.messages, c.lists,
	       c.elem_messages, c.split);
	/* Six sets with elements; the large ones do not fit one message. */
	ATF_CHECK_EQ(c.lists, 6);
	ATF_CHECK(c.split >= 4);
	ATF_CHECK(c.comments > 3000);
	ATF_CHECK_EQ(c.open, 1);
	kn_program_free(p);

	/* Small: every list in one message. */
	p = synthetic(10, 0, "one");
	c = check_full(p);
	ATF_CHECK_EQ(c.lists, 6);
	ATF_CHECK_EQ(c.split, 0);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(incremental_element_lists);
ATF_TC_BODY(incremental_element_lists, tc)
{
	/* Elements deleted (keys only, ranges as start and end), added,
	 * map elements pointing elsewhere (deleted and added again), in
	 * lists long enough to split. */
	struct kn_program *a = synthetic(3000, 0, "one");
	struct kn_program *b =
		synthetic(3000, 5, "another-chain-with-a-rather-long-name-for-the-verdicts");
	struct counts c = check_build(a, b, true);

	printf("a to b: %zu messages, %zu element lists, %zu split\n", c.messages, c.lists,
	       c.split);
	ATF_CHECK(c.lists >= 4);
	ATF_CHECK(c.split >= 1);
	/* The sets are in the kernel already: their names it is. */
	ATF_CHECK_EQ(c.named, c.lists);
	c = check_build(b, a, false);
	printf("b to a: %zu messages, %zu element lists, %zu split\n", c.messages, c.lists,
	       c.split);
	ATF_CHECK(c.lists >= 4);
	kn_program_free(a);
	kn_program_free(b);
}

ATF_TC_WITHOUT_HEAD(nothing_to_change);
ATF_TC_BODY(nothing_to_change, tc)
{
	struct kn_program *a = synthetic(10, 0, "one"), *b = synthetic(10, 0, "one");
	struct kn_err err;
	void *buf = (void *)&err;
	size_t len = 1;

	ATF_REQUIRE(kn_nl_build(a, b, 1, true, &buf, &len, &err) == 0);
	ATF_CHECK(buf == NULL);
	ATF_CHECK_EQ(len, 0);
	kn_program_free(a);
	kn_program_free(b);
}

/* ---------------------------------------------------------------- counters */

/* A program with the API server guard alone, in mode m. */
static struct kn_program *
guard_program(enum kn_guard_mode m)
{
	struct kn_program *p = kn_program_new("kube-nftd");
	struct kn_set *servers[KN_GUARD_SERVER_SETS], *denied[2];

	kn_guard_add_sets(p, servers, denied);
	for (int i = 0; i < KN_GUARD_SERVER_SETS; i++)
		kn_set_finalize(servers[i]);
	kn_set_finalize(denied[0]);
	kn_set_finalize(denied[1]);
	kn_guard_add_chains(p, m);
	return p;
}

/* The counts a rule gets in guard_dump: by its comment (which says the
 * direction) and its family (the IPv4 rule comes first). */
struct dump_state {
	unsigned seen[2];
};

static int
comment_of(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return MNL_CB_OK;
}

static void
set_counter(struct nftnl_rule *r, uint64_t packets, uint64_t bytes)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr *e;

	ATF_REQUIRE(it != NULL);
	while ((e = nftnl_expr_iter_next(it)) != NULL)
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, packets);
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, bytes);
		}
	nftnl_expr_iter_destroy(it);
}

/* What the kernel answers to a dump of chain api-guard of the program
 * from: its rules as kn_nl_build writes them, with counters (to the
 * server: IPv4 10 packets, 1000 bytes, IPv6 2 and 200; from it: 3 and
 * 300, 1 and 100), the first nrules of them, then NLMSG_DONE. */
static size_t
guard_dump(const struct kn_program *from, size_t nrules, char *out, size_t cap)
{
	static const uint64_t to[2] = {10, 2}, back[2] = {3, 1};
	struct dump_state ds = {{0}};
	struct kn_err err;
	struct nlmsghdr *nlh;
	size_t len, n = 0, rules = 0;
	void *buf;
	int rem;

	ATF_REQUIRE_MSG(kn_nl_build(NULL, from, 1, true, &buf, &len, &err) == 0, "%s", err.msg);
	rem = (int)len;
	for (nlh = buf; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		struct nftnl_rule *r;
		const char *comment;
		const void *ud;
		uint32_t udlen;
		struct nlmsghdr *re;

		if (msg_type(nlh) != NFT_MSG_NEWRULE || rules == nrules)
			continue;
		r = nftnl_rule_alloc();
		ATF_REQUIRE(r != NULL && nftnl_rule_nlmsg_parse(nlh, r) == 0);
		if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), KN_GUARD_CHAIN) != 0) {
			nftnl_rule_free(r);
			continue;
		}
		comment = NULL;
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
		ATF_REQUIRE(nftnl_udata_parse(ud, udlen, comment_of, &comment) >= 0);
		ATF_REQUIRE(comment != NULL);
		if (strstr(comment, "replies") || strstr(comment, "the API server to")) {
			set_counter(r, back[ds.seen[1]], back[ds.seen[1]] * 100);
			ds.seen[1]++;
		} else if (strstr(comment, "log ") == NULL) {
			set_counter(r, to[ds.seen[0]], to[ds.seen[0]] * 100);
			ds.seen[0]++;
		}
		ATF_REQUIRE(n + MSG_MAX <= cap);
		re = nftnl_nlmsg_build_hdr(out + n, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_MULTI,
					   4242);
		nftnl_rule_nlmsg_build_payload(re, r);
		n += re->nlmsg_len;
		nftnl_rule_free(r);
		rules++;
	}
	free(buf);
	nlh = mnl_nlmsg_put_header(out + n);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	mnl_nlmsg_put_extra_header(nlh, sizeof(int));
	return n + nlh->nlmsg_len;
}

ATF_TC_WITHOUT_HEAD(guard_counters);
ATF_TC_BODY(guard_counters, tc)
{
	static const enum kn_guard_mode modes[] = {KN_GUARD_AUDIT, KN_GUARD_ENFORCE};
	char *out = xmalloc(4 * MSG_MAX);

	for (size_t i = 0; i < 2; i++) {
		struct kn_program *p = guard_program(modes[i]);
		const struct kn_chain *ch = kn_program_find_chain(p, KN_GUARD_CHAIN);
		struct kn_guard_counts c;
		struct kn_err err;
		size_t len = guard_dump(p, SIZE_MAX, out, 4 * MSG_MAX);

		ATF_REQUIRE(ch != NULL);
		/* Six rules: per family the log (no counter), to and from. */
		ATF_CHECK_EQ(ch->nrules, 6);
		ATF_REQUIRE_MSG(kn_nl_guard_counts_parse(out, len, "kube-nftd", ch, &c, &err) == 0,
				"%s", err.msg);
		ATF_CHECK_EQ(c.packets[KN_GUARD_TO_SERVER], 12);
		ATF_CHECK_EQ(c.bytes[KN_GUARD_TO_SERVER], 1200);
		ATF_CHECK_EQ(c.packets[KN_GUARD_FROM_SERVER], 4);
		ATF_CHECK_EQ(c.bytes[KN_GUARD_FROM_SERVER], 400);
		kn_program_free(p);
	}
	free(out);
}

ATF_TC_WITHOUT_HEAD(guard_counters_refused);
ATF_TC_BODY(guard_counters_refused, tc)
{
	struct kn_program *audit = guard_program(KN_GUARD_AUDIT);
	struct kn_program *enforce = guard_program(KN_GUARD_ENFORCE);
	const struct kn_chain *ch = kn_program_find_chain(audit, KN_GUARD_CHAIN);
	char *out = xmalloc(4 * MSG_MAX);
	struct kn_guard_counts c;
	struct kn_err err;
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	size_t len;

	memset(&c, 0, sizeof(c));
	/* The chain of another mode: its comments are not the program's. */
	len = guard_dump(enforce, SIZE_MAX, out, 4 * MSG_MAX);
	ATF_CHECK_EQ(kn_nl_guard_counts_parse(out, len, "kube-nftd", ch, &c, &err), -EPROTO);
	ATF_CHECK_MSG(strstr(err.msg, "rule 1 of chain api-guard is not the one kube-nftd wrote"),
		      "%s", err.msg);
	/* Rules missing at the end. */
	len = guard_dump(audit, 4, out, 4 * MSG_MAX);
	ATF_CHECK_EQ(kn_nl_guard_counts_parse(out, len, "kube-nftd", ch, &c, &err), -EPROTO);
	ATF_CHECK_STREQ(err.msg, "chain api-guard has 4 rules, kube-nftd wrote 6");
	/* Another table's rules. */
	len = guard_dump(audit, SIZE_MAX, out, 4 * MSG_MAX);
	ATF_CHECK_EQ(kn_nl_guard_counts_parse(out, len, "other", ch, &c, &err), -EPROTO);
	/* No rules: no such chain (the kernel's dump is empty). */
	len = guard_dump(audit, 0, out, 4 * MSG_MAX);
	ATF_CHECK_EQ(kn_nl_guard_counts_parse(out, len, "kube-nftd", ch, &c, &err), -ENOENT);
	ATF_CHECK_STREQ(err.msg, "no chain api-guard in table inet kube-nftd");
	/* The kernel's refusal. */
	nlh = mnl_nlmsg_put_header(out);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -EPERM;
	ATF_CHECK_EQ(kn_nl_guard_counts_parse(out, nlh->nlmsg_len, "kube-nftd", ch, &c, &err),
		     -EPERM);
	ATF_CHECK_STREQ(err.msg, "listing chain api-guard: Operation not permitted");
	/* Nothing was counted. */
	ATF_CHECK_EQ(c.packets[KN_GUARD_TO_SERVER], 0);
	free(out);
	kn_program_free(audit);
	kn_program_free(enforce);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, golden_element_lists);
	ATF_TP_ADD_TC(tp, synthetic_element_lists);
	ATF_TP_ADD_TC(tp, incremental_element_lists);
	ATF_TP_ADD_TC(tp, nothing_to_change);
	ATF_TP_ADD_TC(tp, guard_counters);
	ATF_TP_ADD_TC(tp, guard_counters_refused);
	return atf_no_error();
}
