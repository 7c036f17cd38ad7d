/* Address parsing and formatting, CIDRs and range sets. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "netaddr.h"

static struct kn_addr
A(const char *s) {
	struct kn_addr a;

	if (kn_addr_parse(s, &a) != 0)
		atf_tc_fail("cannot parse %s", s);
	return a;
}

static struct kn_cidr
C(const char *s) {
	struct kn_cidr c;

	if (kn_cidr_parse(s, &c) != 0)
		atf_tc_fail("cannot parse %s", s);
	return c;
}

/* Renders a range set as "first-last first-last ..." for comparison. */
static const char *
rs_str(const struct kn_rangeset *rs)
{
	static char out[1024];
	char a[64], b[64];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < rs->n; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s%s-%s", i ? " " : "",
					kn_addr_fmt(&rs->v[i].first, a, sizeof(a)),
					kn_addr_fmt(&rs->v[i].last, b, sizeof(b)));
	return out;
}

static void
rs_add(struct kn_rangeset *rs, const char *first, const char *last)
{
	struct kn_addr f = A(first), l = A(last);

	kn_rangeset_add(rs, &f, &l);
}

static void
rs_remove(struct kn_rangeset *rs, const char *first, const char *last)
{
	struct kn_addr f = A(first), l = A(last);

	kn_rangeset_remove(rs, &f, &l);
}

static void
check_fmt(const char *in, const char *want)
{
	char buf[64];
	struct kn_addr a = A(in);

	ATF_CHECK_STREQ_MSG(want, kn_addr_fmt(&a, buf, sizeof(buf)), "input %s", in);
}

ATF_TC_WITHOUT_HEAD(parse_ipv4);
ATF_TC_BODY(parse_ipv4, tc)
{
	static const uint8_t want[4] = {10, 1, 255, 0};
	struct kn_addr a;

	ATF_REQUIRE_EQ(0, kn_addr_parse("10.1.255.0", &a));
	ATF_CHECK_EQ(AF_INET, a.family);
	ATF_CHECK(memcmp(a.bytes, want, 4) == 0);
	for (int i = 4; i < 16; i++)
		ATF_CHECK_EQ(0, a.bytes[i]);
	check_fmt("0.0.0.0", "0.0.0.0");
	check_fmt("255.255.255.255", "255.255.255.255");
	check_fmt("1.0.0.10", "1.0.0.10");
}

ATF_TC_WITHOUT_HEAD(parse_reject);
ATF_TC_BODY(parse_reject, tc)
{
	static const char *const bad[] = {
		"",
		"1.2.3",      /* inet_aton shorthand */
		"0256.1.1.1", /* decimal 256 */
		"1.2.3.4.5",
		"256.1.1.1",
		"1.2.3.4 ",
		" 1.2.3.4",
		"1.2.3.4/32",
		"0x1.2.3.4",
		"1.2.3.-1",
		"fe80::1%eth0", /* zones are rejected by ParseIP */
		"fe80::1%1",
		":::",
		"1:2:3:4:5:6:7:8:9",
		"12345::",
		"[::1]",
		"g::",
		"1.2.3.4.",
		"a",
		"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x",
	};
	struct kn_addr a;

	memset(&a, 0x5a, sizeof(a));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(-EINVAL, kn_addr_parse(bad[i], &a), "accepted \"%s\"", bad[i]);
	/* ret_ is written only on success. */
	ATF_CHECK_EQ(0x5a, a.family);
	ATF_CHECK_EQ(-EINVAL, kn_addr_parse(NULL, &a));
}

ATF_TC_WITHOUT_HEAD(parse_sloppy_leading_zeros);
ATF_TC_BODY(parse_sloppy_leading_zeros, tc)
{
	/* The API server reads these legacy fields with ParseIPSloppy and
	 * ParseCIDRSloppy: a leading zero is decimal, never octal. */
	struct kn_addr a;
	struct kn_cidr c;
	char buf[64];

	ATF_REQUIRE_EQ(kn_addr_parse("010.001.002.0000", &a), 0);
	ATF_CHECK_STREQ(kn_addr_fmt(&a, buf, sizeof(buf)), "10.1.2.0");
	ATF_REQUIRE_EQ(kn_addr_parse("::ffff:01.2.3.04", &a), 0);
	ATF_CHECK_EQ(a.family, AF_INET);
	ATF_CHECK_STREQ(kn_addr_fmt(&a, buf, sizeof(buf)), "1.2.3.4");
	ATF_REQUIRE_EQ(kn_cidr_parse("010.000.002.000/24", &c), 0);
	ATF_CHECK_STREQ(kn_addr_fmt(&c.addr, buf, sizeof(buf)), "10.0.2.0");
	ATF_CHECK_EQ(c.plen, 24);
}

ATF_TC_WITHOUT_HEAD(parse_ipv6);
ATF_TC_BODY(parse_ipv6, tc)
{
	struct kn_addr a;

	ATF_REQUIRE_EQ(0, kn_addr_parse("2001:DB8::1", &a));
	ATF_CHECK_EQ(AF_INET6, a.family);
	ATF_CHECK_EQ(0x20, a.bytes[0]);
	ATF_CHECK_EQ(0x01, a.bytes[1]);
	ATF_CHECK_EQ(0x0d, a.bytes[2]);
	ATF_CHECK_EQ(0xb8, a.bytes[3]);
	ATF_CHECK_EQ(0x01, a.bytes[15]);

	/* RFC 5952: lower case, longest zero run, first of equal runs,
	 * no "::" for a single zero group. */
	check_fmt("::", "::");
	check_fmt("::1", "::1");
	check_fmt("1::", "1::");
	check_fmt("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	check_fmt("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	check_fmt("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	check_fmt("1:0:0:2:0:0:0:3", "1:0:0:2::3");
	check_fmt("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	/* Not IPv4-mapped: stays IPv6, printed in hex as Go does. */
	check_fmt("::1.2.3.4", "::102:304");
	check_fmt("64:ff9b::192.0.2.1", "64:ff9b::c000:201");
	/* One elided group is accepted on input, as Go does. */
	check_fmt("1::2:3:4:5:6:7", "1:0:2:3:4:5:6:7");
}

ATF_TC_WITHOUT_HEAD(parse_v4_mapped);
ATF_TC_BODY(parse_v4_mapped, tc)
{
	struct kn_addr a, b;

	ATF_REQUIRE_EQ(0, kn_addr_parse("::ffff:1.2.3.4", &a));
	ATF_REQUIRE_EQ(0, kn_addr_parse("1.2.3.4", &b));
	ATF_CHECK_EQ(AF_INET, a.family);
	ATF_CHECK_EQ(0, kn_addr_cmp(&a, &b));
	ATF_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	/* Any spelling of the mapped prefix. */
	ATF_REQUIRE_EQ(0, kn_addr_parse("0:0:0:0:0:FFFF:0102:0304", &a));
	ATF_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	check_fmt("::ffff:0.0.0.0", "0.0.0.0");
	/* ::fffe:... and ::1:ffff:... are not mapped. */
	check_fmt("::fffe:1.2.3.4", "::fffe:102:304");
	check_fmt("::1:ffff:1.2.3.4", "::1:ffff:102:304");
}

ATF_TC_WITHOUT_HEAD(fmt_small_buffer);
ATF_TC_BODY(fmt_small_buffer, tc)
{
	char buf[8];
	struct kn_addr a = A("2001:db8::1");

	ATF_CHECK_STREQ("2001:db", kn_addr_fmt(&a, buf, sizeof(buf)));
	a = A("192.168.100.200");
	ATF_CHECK_STREQ("192.168", kn_addr_fmt(&a, buf, sizeof(buf)));
}

ATF_TC_WITHOUT_HEAD(cmp);
ATF_TC_BODY(cmp, tc)
{
	struct kn_addr a = A("10.0.0.1"), b = A("10.0.0.2"), c = A("::"), d = A("::1");

	ATF_CHECK(kn_addr_cmp(&a, &b) < 0);
	ATF_CHECK(kn_addr_cmp(&b, &a) > 0);
	ATF_CHECK_EQ(0, kn_addr_cmp(&a, &a));
	/* IPv4 sorts before IPv6, even before ::. */
	ATF_CHECK(kn_addr_cmp(&b, &c) < 0);
	ATF_CHECK(kn_addr_cmp(&c, &a) > 0);
	ATF_CHECK(kn_addr_cmp(&c, &d) < 0);
	a = A("9.255.255.255");
	b = A("10.0.0.0");
	ATF_CHECK(kn_addr_cmp(&a, &b) < 0);
}

ATF_TC_WITHOUT_HEAD(cidr_parse);
ATF_TC_BODY(cidr_parse, tc)
{
	char buf[64];
	struct kn_cidr c;

	c = C("10.1.2.3/8");
	ATF_CHECK_EQ(AF_INET, c.addr.family);
	ATF_CHECK_EQ(8, c.plen);
	ATF_CHECK_STREQ("10.0.0.0", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	c = C("192.168.1.255/23");
	ATF_CHECK_STREQ("192.168.0.0", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	ATF_CHECK_EQ(23, c.plen);
	c = C("1.2.3.4/32");
	ATF_CHECK_STREQ("1.2.3.4", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	c = C("255.255.255.255/0");
	ATF_CHECK_STREQ("0.0.0.0", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	ATF_CHECK_EQ(0, c.plen);
	c = C("2001:db8:abcd:12ff::1/52");
	ATF_CHECK_EQ(AF_INET6, c.addr.family);
	ATF_CHECK_STREQ("2001:db8:abcd:1000::", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	c = C("::/0");
	ATF_CHECK_EQ(0, c.plen);
	c = C("fe80::1/128");
	ATF_CHECK_EQ(128, c.plen);
	ATF_CHECK_STREQ("fe80::1", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
	/* Go's ParseCIDR accepts leading zeros in the length. */
	c = C("10.0.0.0/08");
	ATF_CHECK_EQ(8, c.plen);
	/* IPv4-mapped: the length counts from bit 96. */
	c = C("::ffff:10.1.2.3/104");
	ATF_CHECK_EQ(AF_INET, c.addr.family);
	ATF_CHECK_EQ(8, c.plen);
	ATF_CHECK_STREQ("10.0.0.0", kn_addr_fmt(&c.addr, buf, sizeof(buf)));
}

ATF_TC_WITHOUT_HEAD(cidr_reject);
ATF_TC_BODY(cidr_reject, tc)
{
	static const char *const bad[] = {
		"10.0.0.0",
		"10.0.0.0/",
		"/8",
		"10.0.0.0/33",
		"::/129",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/8 ",
		"10.0.0.0/8/8",
		"10.0.0.0/a",
		"fe80::%1/64",
		"::ffff:1.2.3.4/95",
		"::ffff:1.2.3.4/129",
		"10.0.0.0/99999999999999999999",
	};
	struct kn_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_EQ_MSG(-EINVAL, kn_cidr_parse(bad[i], &c), "accepted \"%s\"", bad[i]);
	ATF_CHECK_EQ(-EINVAL, kn_cidr_parse(NULL, &c));
}

ATF_TC_WITHOUT_HEAD(cidr_contains);
ATF_TC_BODY(cidr_contains, tc)
{
	struct kn_cidr c = C("10.1.0.0/16"), all4 = C("0.0.0.0/0"), c6 = C("2001:db8::/33");
	struct kn_addr in = A("10.1.255.255"), out = A("10.2.0.0"), v6 = A("::ffff:10.1.0.1");
	struct kn_addr v6in = A("2001:db8:7fff::1"), v6out = A("2001:db8:8000::");

	ATF_CHECK(kn_cidr_contains(&c, &in));
	ATF_CHECK(!kn_cidr_contains(&c, &out));
	/* The mapped address was normalised to IPv4. */
	ATF_CHECK(kn_cidr_contains(&c, &v6));
	ATF_CHECK(kn_cidr_contains(&all4, &out));
	/* 0.0.0.0/0 covers no IPv6 traffic. */
	ATF_CHECK(!kn_cidr_contains(&all4, &v6in));
	ATF_CHECK(kn_cidr_contains(&c6, &v6in));
	ATF_CHECK(!kn_cidr_contains(&c6, &v6out));
}

ATF_TC_WITHOUT_HEAD(cidr_strictly_within);
ATF_TC_BODY(cidr_strictly_within, tc)
{
	struct kn_cidr outer = C("10.0.0.0/8"), same = C("10.9.9.9/8");
	struct kn_cidr inner = C("10.200.0.0/16"), host = C("10.255.255.255/32");
	struct kn_cidr other = C("11.0.0.0/16"), wider = C("0.0.0.0/0");
	struct kn_cidr v6 = C("::/0"), v6in = C("2001:db8::/32");

	ATF_CHECK(kn_cidr_strictly_within(&outer, &inner));
	ATF_CHECK(kn_cidr_strictly_within(&outer, &host));
	ATF_CHECK(!kn_cidr_strictly_within(&outer, &same));
	ATF_CHECK(!kn_cidr_strictly_within(&outer, &outer));
	ATF_CHECK(!kn_cidr_strictly_within(&outer, &other));
	ATF_CHECK(!kn_cidr_strictly_within(&outer, &wider));
	ATF_CHECK(kn_cidr_strictly_within(&wider, &outer));
	ATF_CHECK(!kn_cidr_strictly_within(&wider, &v6in));
	ATF_CHECK(kn_cidr_strictly_within(&v6, &v6in));
}

ATF_TC_WITHOUT_HEAD(cidr_range);
ATF_TC_BODY(cidr_range, tc)
{
	struct kn_addr f, l;
	struct kn_cidr c;
	char a[64], b[64];

	c = C("10.1.2.3/23");
	kn_cidr_range(&c, &f, &l);
	ATF_CHECK_STREQ("10.1.2.0", kn_addr_fmt(&f, a, sizeof(a)));
	ATF_CHECK_STREQ("10.1.3.255", kn_addr_fmt(&l, b, sizeof(b)));
	c = C("0.0.0.0/0");
	kn_cidr_range(&c, &f, &l);
	ATF_CHECK_STREQ("0.0.0.0", kn_addr_fmt(&f, a, sizeof(a)));
	ATF_CHECK_STREQ("255.255.255.255", kn_addr_fmt(&l, b, sizeof(b)));
	/* An IPv4 range leaves the unused bytes zero. */
	for (int i = 4; i < 16; i++)
		ATF_CHECK_EQ(0, l.bytes[i]);
	c = C("1.2.3.4/32");
	kn_cidr_range(&c, &f, &l);
	ATF_CHECK_EQ(0, kn_addr_cmp(&f, &l));
	c = C("2001:db8::/63");
	kn_cidr_range(&c, &f, &l);
	ATF_CHECK_STREQ("2001:db8::", kn_addr_fmt(&f, a, sizeof(a)));
	ATF_CHECK_STREQ("2001:db8:0:1:ffff:ffff:ffff:ffff", kn_addr_fmt(&l, b, sizeof(b)));
	c = C("::/0");
	kn_cidr_range(&c, &f, &l);
	ATF_CHECK_STREQ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", kn_addr_fmt(&l, b, sizeof(b)));
}

ATF_TC_WITHOUT_HEAD(rangeset_add_merge);
ATF_TC_BODY(rangeset_add_merge, tc)
{
	struct kn_rangeset rs;

	kn_rangeset_init(&rs, AF_INET);
	rs_add(&rs, "10.0.0.10", "10.0.0.20");
	rs_add(&rs, "10.0.0.30", "10.0.0.40");
	rs_add(&rs, "10.0.0.0", "10.0.0.5");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.5 10.0.0.10-10.0.0.20 10.0.0.30-10.0.0.40", rs_str(&rs));
	/* Adjacent on the left and on the right: 21 touches 20, 29 touches 30. */
	rs_add(&rs, "10.0.0.21", "10.0.0.29");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.5 10.0.0.10-10.0.0.40", rs_str(&rs));
	/* Adjacent only: 6..9 closes the last gap. */
	rs_add(&rs, "10.0.0.6", "10.0.0.9");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.40", rs_str(&rs));
	/* Contained: no change. */
	rs_add(&rs, "10.0.0.3", "10.0.0.4");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.40", rs_str(&rs));
	/* A gap of one address stays a gap. */
	rs_add(&rs, "10.0.0.42", "10.0.0.50");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.40 10.0.0.42-10.0.0.50", rs_str(&rs));
	/* Spanning several ranges, overlapping both ends. */
	rs_add(&rs, "10.0.0.100", "10.0.0.110");
	rs_add(&rs, "10.0.0.30", "10.0.0.105");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.110", rs_str(&rs));
	/* Adjacency across an octet boundary. */
	rs_add(&rs, "10.0.1.0", "10.0.1.0");
	rs_add(&rs, "10.0.0.112", "10.0.0.255");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.110 10.0.0.112-10.0.1.0", rs_str(&rs));
	/* Reversed and wrong-family ranges change nothing. */
	rs_add(&rs, "10.0.0.111", "10.0.0.100");
	rs_add(&rs, "::", "::1");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.110 10.0.0.112-10.0.1.0", rs_str(&rs));
	rs_add(&rs, "10.0.0.111", "10.0.0.111");
	ATF_CHECK_STREQ("10.0.0.0-10.0.1.0", rs_str(&rs));
	ATF_CHECK_EQ(1, rs.n);
	kn_rangeset_free(&rs);
	ATF_CHECK_EQ(0, rs.n);
	ATF_CHECK(rs.v == NULL);
}

ATF_TC_WITHOUT_HEAD(rangeset_edges);
ATF_TC_BODY(rangeset_edges, tc)
{
	struct kn_rangeset rs;

	kn_rangeset_init(&rs, AF_INET);
	/* Touching the top address must not wrap around to 0. */
	rs_add(&rs, "255.255.255.255", "255.255.255.255");
	rs_add(&rs, "0.0.0.0", "0.0.0.0");
	ATF_CHECK_STREQ("0.0.0.0-0.0.0.0 255.255.255.255-255.255.255.255", rs_str(&rs));
	rs_add(&rs, "255.255.255.0", "255.255.255.254");
	ATF_CHECK_STREQ("0.0.0.0-0.0.0.0 255.255.255.0-255.255.255.255", rs_str(&rs));
	rs_add(&rs, "0.0.0.1", "0.0.0.1");
	ATF_CHECK_STREQ("0.0.0.0-0.0.0.1 255.255.255.0-255.255.255.255", rs_str(&rs));
	rs_add(&rs, "0.0.0.2", "255.255.254.255");
	ATF_CHECK_STREQ("0.0.0.0-255.255.255.255", rs_str(&rs));
	/* Removing the ends of the whole space. */
	rs_remove(&rs, "255.255.255.255", "255.255.255.255");
	rs_remove(&rs, "0.0.0.0", "0.0.0.0");
	ATF_CHECK_STREQ("0.0.0.1-255.255.255.254", rs_str(&rs));
	rs_remove(&rs, "0.0.0.0", "255.255.255.255");
	ATF_CHECK_EQ(0, rs.n);
	kn_rangeset_free(&rs);
}

ATF_TC_WITHOUT_HEAD(rangeset_remove_split);
ATF_TC_BODY(rangeset_remove_split, tc)
{
	struct kn_rangeset rs;
	struct kn_cidr c = C("10.0.0.0/8"), e1 = C("10.1.0.0/16"), e2 = C("10.2.0.0/16");
	struct kn_addr f, l;

	kn_rangeset_init(&rs, AF_INET);
	kn_rangeset_add_cidr(&rs, &c);
	/* ipBlock 10.0.0.0/8 except 10.1.0.0/16: the removal splits. */
	kn_cidr_range(&e1, &f, &l);
	kn_rangeset_remove(&rs, &f, &l);
	ATF_CHECK_STREQ("10.0.0.0-10.0.255.255 10.2.0.0-10.255.255.255", rs_str(&rs));
	kn_cidr_range(&e2, &f, &l);
	kn_rangeset_remove(&rs, &f, &l);
	ATF_CHECK_STREQ("10.0.0.0-10.0.255.255 10.3.0.0-10.255.255.255", rs_str(&rs));
	/* Removing what is absent changes nothing. */
	rs_remove(&rs, "10.1.0.0", "10.2.255.255");
	rs_remove(&rs, "9.0.0.0", "9.255.255.255");
	ATF_CHECK_STREQ("10.0.0.0-10.0.255.255 10.3.0.0-10.255.255.255", rs_str(&rs));
	/* Trimming the left end of one range and the right end of the other
	 * in a single removal. */
	rs_remove(&rs, "10.0.255.0", "10.3.0.255");
	ATF_CHECK_STREQ("10.0.0.0-10.0.254.255 10.3.1.0-10.255.255.255", rs_str(&rs));
	/* Exact range removal, then a removal covering several ranges. */
	rs_add(&rs, "11.0.0.1", "11.0.0.1");
	rs_add(&rs, "11.0.0.3", "11.0.0.3");
	rs_remove(&rs, "11.0.0.1", "11.0.0.1");
	ATF_CHECK_STREQ("10.0.0.0-10.0.254.255 10.3.1.0-10.255.255.255 11.0.0.3-11.0.0.3",
			rs_str(&rs));
	rs_remove(&rs, "10.0.0.1", "11.0.0.2");
	ATF_CHECK_STREQ("10.0.0.0-10.0.0.0 11.0.0.3-11.0.0.3", rs_str(&rs));

	f = A("10.0.0.0");
	ATF_CHECK(kn_rangeset_contains(&rs, &f));
	f = A("10.0.0.1");
	ATF_CHECK(!kn_rangeset_contains(&rs, &f));
	f = A("11.0.0.3");
	ATF_CHECK(kn_rangeset_contains(&rs, &f));
	f = A("255.255.255.255");
	ATF_CHECK(!kn_rangeset_contains(&rs, &f));
	f = A("::");
	ATF_CHECK(!kn_rangeset_contains(&rs, &f));
	kn_rangeset_free(&rs);
}

ATF_TC_WITHOUT_HEAD(rangeset_v6);
ATF_TC_BODY(rangeset_v6, tc)
{
	struct kn_rangeset rs;
	struct kn_cidr all = C("::/0"), e = C("2001:db8::/32");
	struct kn_addr f, l;

	kn_rangeset_init(&rs, AF_INET6);
	kn_rangeset_add_cidr(&rs, &all);
	kn_cidr_range(&e, &f, &l);
	kn_rangeset_remove(&rs, &f, &l);
	ATF_CHECK_STREQ("::-2001:db7:ffff:ffff:ffff:ffff:ffff:ffff "
			"2001:db9::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			rs_str(&rs));
	/* Filling the hole merges back into the whole space. */
	kn_rangeset_add(&rs, &f, &l);
	ATF_CHECK_STREQ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", rs_str(&rs));
	kn_rangeset_free(&rs);

	kn_rangeset_init(&rs, AF_INET6);
	/* Adjacency carried across 64-bit halves. */
	rs_add(&rs, "2001:db8::", "2001:db8:0:0:ffff:ffff:ffff:ffff");
	rs_add(&rs, "2001:db8:0:1::", "2001:db8:0:1::");
	ATF_CHECK_STREQ("2001:db8::-2001:db8:0:1::", rs_str(&rs));
	rs_add(&rs, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	rs_add(&rs, "::", "::");
	ATF_CHECK_EQ(3, rs.n);
	rs_remove(&rs, "2001:db8::1", "2001:db8::1");
	ATF_CHECK_STREQ(
		"::-:: 2001:db8::-2001:db8:: 2001:db8::2-2001:db8:0:1:: "
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
		"ffff",
		rs_str(&rs));
	f = A("2001:db8::1");
	ATF_CHECK(!kn_rangeset_contains(&rs, &f));
	f = A("2001:db8::ffff");
	ATF_CHECK(kn_rangeset_contains(&rs, &f));
	f = A("0.0.0.0");
	ATF_CHECK(!kn_rangeset_contains(&rs, &f));
	kn_rangeset_free(&rs);
}

/* Checks the set against a bitmap model over a small address window, with
 * random adds and removes, including the ends of the window. */
ATF_TC_WITHOUT_HEAD(rangeset_model);
ATF_TC_BODY(rangeset_model, tc)
{
	enum { N = 64 };
	bool model[N];
	struct kn_rangeset rs;
	unsigned seed = 12345;

	memset(model, 0, sizeof(model));
	kn_rangeset_init(&rs, AF_INET);
	for (int iter = 0; iter < 4000; iter++) {
		struct kn_addr f = {.family = AF_INET}, l = {.family = AF_INET};
		unsigned x, y;

		seed = seed * 1103515245 + 12345;
		x = (seed >> 8) % N;
		seed = seed * 1103515245 + 12345;
		y = (seed >> 8) % N;
		if (x > y) {
			unsigned t = x;

			x = y;
			y = t;
		}
		f.bytes[3] = (uint8_t)x;
		l.bytes[3] = (uint8_t)y;
		seed = seed * 1103515245 + 12345;
		if ((seed >> 16) & 1)
			kn_rangeset_add(&rs, &f, &l);
		else
			kn_rangeset_remove(&rs, &f, &l);
		for (unsigned i = x; i <= y; i++)
			model[i] = (seed >> 16) & 1;

		/* Invariants: sorted, disjoint, non-adjacent. */
		for (size_t i = 0; i < rs.n; i++) {
			ATF_REQUIRE(rs.v[i].first.bytes[3] <= rs.v[i].last.bytes[3]);
			if (i > 0)
				ATF_REQUIRE(rs.v[i - 1].last.bytes[3] + 1 < rs.v[i].first.bytes[3]);
		}
		for (unsigned i = 0; i < N; i++) {
			struct kn_addr a = {.family = AF_INET};

			a.bytes[3] = (uint8_t)i;
			ATF_REQUIRE_EQ_MSG(model[i], kn_rangeset_contains(&rs, &a),
					   "iteration %d address %u", iter, i);
		}
	}
	kn_rangeset_free(&rs);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, parse_ipv4);
	ATF_TP_ADD_TC(tp, parse_reject);
	ATF_TP_ADD_TC(tp, parse_sloppy_leading_zeros);
	ATF_TP_ADD_TC(tp, parse_ipv6);
	ATF_TP_ADD_TC(tp, parse_v4_mapped);
	ATF_TP_ADD_TC(tp, fmt_small_buffer);
	ATF_TP_ADD_TC(tp, cmp);
	ATF_TP_ADD_TC(tp, cidr_parse);
	ATF_TP_ADD_TC(tp, cidr_reject);
	ATF_TP_ADD_TC(tp, cidr_contains);
	ATF_TP_ADD_TC(tp, cidr_strictly_within);
	ATF_TP_ADD_TC(tp, cidr_range);
	ATF_TP_ADD_TC(tp, rangeset_add_merge);
	ATF_TP_ADD_TC(tp, rangeset_edges);
	ATF_TP_ADD_TC(tp, rangeset_remove_split);
	ATF_TP_ADD_TC(tp, rangeset_v6);
	ATF_TP_ADD_TC(tp, rangeset_model);
	return atf_no_error();
}
