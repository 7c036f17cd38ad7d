/* The text backend: golden rulesets for the manifests in tests/golden/,
 * and the rendering of each element and rule form.
 *
 * To refresh the golden files after an intended change, run the test
 * with KN_UPDATE_GOLDEN=1 and review the diff. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "manifest.h"
#include "nft_text.h"
#include "testutil.h"

static void
check_golden(const char *name)
{
	char in[512], out[512];
	struct kn_store *s = kn_store_new();
	struct kn_compile_opts o = {.node = "node1"};
	struct kn_program *p;
	struct strbuf sb;
	char *text, *want;

	snprintf(in, sizeof(in), "%s/tests/golden/%s.yaml", KN_TOP_SRCDIR, name);
	snprintf(out, sizeof(out), "%s/tests/golden/%s.nft", KN_TOP_SRCDIR, name);
	text = tu_read_file(in);
	ATF_REQUIRE_MSG(text != NULL, "cannot read %s", in);
	tu_load(s, text);
	free(text);
	p = kn_compile(s, &o, NULL);
	strbuf_init(&sb, 0);
	kn_text_render(p, &sb);
	if (getenv("KN_UPDATE_GOLDEN")) {
		FILE *f = fopen(out, "w");

		ATF_REQUIRE(f != NULL);
		fputs(strbuf_str(&sb), f);
		fclose(f);
	}
	want = tu_read_file(out);
	ATF_REQUIRE_MSG(want != NULL, "cannot read %s (KN_UPDATE_GOLDEN=1 creates it)", out);
	if (strcmp(want, strbuf_str(&sb)) != 0) {
		fprintf(stderr, "--- got:\n%s", strbuf_str(&sb));
		atf_tc_fail("%s differs from the compiled ruleset", out);
	}
	free(want);
	strbuf_free(&sb);
	kn_program_free(p);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(golden_empty);
ATF_TC_BODY(golden_empty, tc)
{
	check_golden("empty");
}

ATF_TC_WITHOUT_HEAD(golden_basic);
ATF_TC_BODY(golden_basic, tc)
{
	check_golden("basic");
}

ATF_TC_WITHOUT_HEAD(golden_full);
ATF_TC_BODY(golden_full, tc)
{
	check_golden("full");
}

ATF_TC_WITHOUT_HEAD(golden_guard);
ATF_TC_BODY(golden_guard, tc)
{
	check_golden("guard");
}

static void
addr(const char *s, struct kn_addr *a)
{
	ATF_REQUIRE_EQ(kn_addr_parse(s, a), 0);
}

ATF_TC_WITHOUT_HEAD(elements);
ATF_TC_BODY(elements, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_set *s4 = kn_program_add_set(p, "a", KN_KEY_IPV4, true, "c\"q");
	struct kn_set *s6 = kn_program_add_set(p, "b", KN_KEY_IPV6, true, NULL);
	struct kn_set *pp = kn_program_add_set(p, "c", KN_KEY_PROTO_PORT, true, NULL);
	struct kn_set *np = kn_program_add_set(p, "d", KN_KEY_IPV6_PROTO_PORT, false, NULL);
	struct kn_set *m = kn_program_add_vmap(p, "e", KN_KEY_IPV4, NULL);
	struct kn_elem *e;
	struct strbuf sb;

	e = kn_set_add_elem(s4);
	addr("10.0.0.0", &e->addr);
	addr("10.0.255.255", &e->addr_end);
	e = kn_set_add_elem(s4);
	addr("10.1.0.1", &e->addr);
	addr("10.1.0.6", &e->addr_end);
	e = kn_set_add_elem(s4);
	addr("10.2.0.1", &e->addr);
	addr("10.2.0.1", &e->addr_end);
	kn_elem_set_comment(e, "ns/pod");
	e = kn_set_add_elem(s6);
	addr("::", &e->addr);
	addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &e->addr_end);
	e = kn_set_add_elem(pp);
	e->proto = 6;
	e->port = 80;
	e->port_end = 81;
	e = kn_set_add_elem(pp);
	e->proto = 132;
	e->port = e->port_end = 7000;
	e = kn_set_add_elem(np);
	addr("fd00::1", &e->addr);
	e->proto = 17;
	e->port = 53;
	e = kn_set_add_elem(m);
	addr("10.2.0.1", &e->addr);
	e->target = xstrdup("chain-x");
	kn_elem_set_comment(e, "ns/pod");

	strbuf_init(&sb, 0);
	kn_text_render_table(p, &sb);
	ATF_CHECK(strstr(strbuf_str(&sb), "comment \"c'q\"") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "elements = { 10.0.0.0/16,") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "10.1.0.1-10.1.0.6,") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "10.2.0.1 comment \"ns/pod\" }") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "elements = { ::/0 }") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "elements = { tcp . 80-81,") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "sctp . 7000 }") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb), "elements = { fd00::1 . udp . 53 }") != NULL);
	ATF_CHECK(strstr(strbuf_str(&sb),
			 "map e {\n\t\ttype ipv4_addr : verdict\n\t\telements = { 10.2.0.1 "
			 "comment \"ns/pod\" : goto chain-x }") != NULL);
	strbuf_free(&sb);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(rules);
ATF_TC_BODY(rules, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_chain *c = kn_program_add_base_chain(p, "base", KN_HOOK_INPUT, -5, "why");
	struct kn_rule *r;
	struct strbuf sb;
	const char *want = "\tchain base {\n"
			   "\t\tcomment \"why\"\n"
			   "\t\ttype filter hook input priority filter - 5; policy accept;\n"
			   "\t\tct state established,related accept\n"
			   "\t\ticmpv6 type 133-137 accept\n"
			   "\t\tmeta nfproto ipv6 meta l4proto . th dport @pp counter drop\n"
			   "\t\tip6 saddr @s ip6 daddr . meta l4proto . th dport @n accept "
			   "comment \"x\"\n"
			   "\t\tip daddr vmap @m\n"
			   "\t\tjump other\n"
			   "\t}\n";

	r = kn_chain_add_rule(c, 0);
	kn_rule_add_match(r, KN_MATCH_CT_ESTABLISHED, NULL);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	r = kn_chain_add_rule(c, AF_INET6);
	kn_rule_add_match(r, KN_MATCH_ICMPV6_ND, NULL);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	r = kn_chain_add_rule(c, AF_INET6);
	kn_rule_add_match(r, KN_MATCH_PROTO_PORT_SET, "pp");
	r->counter = true;
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);
	r = kn_chain_add_rule(c, AF_INET6);
	kn_rule_add_match(r, KN_MATCH_SADDR_SET, "s");
	kn_rule_add_match(r, KN_MATCH_DADDR_PROTO_PORT_SET, "n");
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	kn_rule_set_comment(r, "x");
	r = kn_chain_add_rule(c, AF_INET);
	kn_rule_set_verdict(r, KN_VERDICT_VMAP_DADDR, "m");
	r = kn_chain_add_rule(c, 0);
	kn_rule_set_verdict(r, KN_VERDICT_JUMP, "other");

	strbuf_init(&sb, 0);
	kn_text_render_table(p, &sb);
	if (!strstr(strbuf_str(&sb), want)) {
		fprintf(stderr, "%s", strbuf_str(&sb));
		atf_tc_fail("rule rendering differs");
	}
	strbuf_free(&sb);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(script_replaces_table);
ATF_TC_BODY(script_replaces_table, tc)
{
	struct kn_program *p = kn_program_new("kube-nftd");
	struct strbuf sb;

	strbuf_init(&sb, 0);
	kn_text_render(p, &sb);
	ATF_CHECK_STREQ(strbuf_str(&sb), "#!/usr/sbin/nft -f\n"
					 "table inet kube-nftd\n"
					 "delete table inet kube-nftd\n"
					 "table inet kube-nftd {\n"
					 "}\n");
	strbuf_free(&sb);
	kn_program_free(p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, golden_empty);
	ATF_TP_ADD_TC(tp, golden_basic);
	ATF_TP_ADD_TC(tp, golden_full);
	ATF_TP_ADD_TC(tp, golden_guard);
	ATF_TP_ADD_TC(tp, elements);
	ATF_TP_ADD_TC(tp, rules);
	ATF_TP_ADD_TC(tp, script_replaces_table);
	return atf_no_error();
}
