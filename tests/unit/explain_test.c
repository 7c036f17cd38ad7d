/* The evaluator must walk a ruleset as nf_tables does: these cases pin
 * the verdict semantics the compiler's layout relies on. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "explain.h"

static void
pkt4(struct kn_packet *pkt, const char *s, const char *d, uint8_t proto, uint16_t port)
{
	memset(pkt, 0, sizeof(*pkt));
	ATF_REQUIRE_EQ(kn_addr_parse(s, &pkt->saddr), 0);
	ATF_REQUIRE_EQ(kn_addr_parse(d, &pkt->daddr), 0);
	pkt->proto = proto;
	pkt->dport = port;
}

static struct kn_set *
set4(struct kn_program *p, const char *name, const char *lo, const char *hi)
{
	struct kn_set *s = kn_program_add_set(p, name, KN_KEY_IPV4, true, NULL);
	struct kn_elem *e = kn_set_add_elem(s);

	ATF_REQUIRE_EQ(kn_addr_parse(lo, &e->addr), 0);
	ATF_REQUIRE_EQ(kn_addr_parse(hi, &e->addr_end), 0);
	return s;
}

ATF_TC_WITHOUT_HEAD(accept_ends_only_its_base_chain);
ATF_TC_BODY(accept_ends_only_its_base_chain, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_chain *b1 = kn_program_add_base_chain(p, "first", KN_HOOK_FORWARD, 0, NULL);
	struct kn_chain *b2 = kn_program_add_base_chain(p, "second", KN_HOOK_FORWARD, 1, NULL);
	struct kn_rule *r;
	struct kn_packet pkt;
	struct strbuf tr;

	set4(p, "bad", "10.0.0.9", "10.0.0.9");
	r = kn_chain_add_rule(b1, 0);
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	r = kn_chain_add_rule(b2, AF_INET);
	kn_rule_add_match(r, KN_MATCH_DADDR_SET, "bad");
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);

	pkt4(&pkt, "10.0.0.1", "10.0.0.9", 6, 80);
	strbuf_init(&tr, 0);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, &tr), KN_EVAL_DROP);
	ATF_CHECK(strstr(strbuf_str(&tr), "second: rule 1: drop") != NULL);
	strbuf_free(&tr);
	pkt4(&pkt, "10.0.0.1", "10.0.0.8", 6, 80);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	/* No base chain on input: policy accept. */
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_INPUT, NULL), KN_EVAL_ACCEPT);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(jump_returns_goto_does_not);
ATF_TC_BODY(jump_returns_goto_does_not, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_chain *b = kn_program_add_base_chain(p, "b", KN_HOOK_FORWARD, 0, NULL);
	struct kn_chain *j = kn_program_add_chain(p, "j", NULL);
	struct kn_chain *g = kn_program_add_chain(p, "g", NULL);
	struct kn_rule *r;
	struct kn_packet pkt;

	/* b: jump j; drop.  j: return.  => drop */
	r = kn_chain_add_rule(b, 0);
	kn_rule_set_verdict(r, KN_VERDICT_JUMP, "j");
	r = kn_chain_add_rule(b, 0);
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);
	r = kn_chain_add_rule(j, 0);
	kn_rule_set_verdict(r, KN_VERDICT_RETURN, NULL);
	pkt4(&pkt, "10.0.0.1", "10.0.0.2", 17, 53);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_DROP);
	/* b: goto g first; g ends without verdict: back to b's caller,
	 * i.e. the base chain's policy (accept), skipping the drop. */
	b->rules[0].verdict = KN_VERDICT_GOTO;
	free(b->rules[0].target);
	b->rules[0].target = xstrdup("g");
	(void)g;
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(vmap_miss_continues);
ATF_TC_BODY(vmap_miss_continues, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_chain *b = kn_program_add_base_chain(p, "b", KN_HOOK_FORWARD, 0, NULL);
	struct kn_chain *d = kn_program_add_chain(p, "deny", NULL);
	struct kn_set *m = kn_program_add_vmap(p, "m", KN_KEY_IPV4, NULL);
	struct kn_elem *e = kn_set_add_elem(m);
	struct kn_rule *r;
	struct kn_packet pkt;

	ATF_REQUIRE_EQ(kn_addr_parse("10.0.0.2", &e->addr), 0);
	e->target = xstrdup("deny");
	r = kn_chain_add_rule(b, AF_INET);
	kn_rule_set_verdict(r, KN_VERDICT_VMAP_DADDR, "m");
	r = kn_chain_add_rule(d, 0);
	kn_rule_set_verdict(r, KN_VERDICT_DROP, NULL);
	pkt4(&pkt, "10.0.0.1", "10.0.0.2", 6, 1);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_DROP);
	pkt4(&pkt, "10.0.0.1", "10.0.0.3", 6, 1);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	/* IPv6 packets never match an IPv4 rule. */
	memset(&pkt, 0, sizeof(pkt));
	ATF_REQUIRE_EQ(kn_addr_parse("fd00::1", &pkt.saddr), 0);
	ATF_REQUIRE_EQ(kn_addr_parse("fd00::2", &pkt.daddr), 0);
	ATF_CHECK_EQ(kn_eval(p, &pkt, KN_HOOK_FORWARD, NULL), KN_EVAL_ACCEPT);
	kn_program_free(p);
}

ATF_TC_WITHOUT_HEAD(set_lookups);
ATF_TC_BODY(set_lookups, tc)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_set *pp = kn_program_add_set(p, "pp", KN_KEY_PROTO_PORT, true, NULL);
	struct kn_set *r4 = set4(p, "r", "10.0.0.0", "10.0.0.255");
	struct kn_elem *e = kn_set_add_elem(pp);
	struct kn_addr a;

	e->proto = 6;
	e->port = 80;
	e->port_end = 90;
	ATF_CHECK(kn_set_lookup(pp, NULL, 6, 85, NULL));
	ATF_CHECK(!kn_set_lookup(pp, NULL, 17, 85, NULL));
	ATF_CHECK(!kn_set_lookup(pp, NULL, 6, 91, NULL));
	ATF_REQUIRE_EQ(kn_addr_parse("10.0.0.255", &a), 0);
	ATF_CHECK(kn_set_lookup(r4, &a, 0, 0, NULL));
	ATF_REQUIRE_EQ(kn_addr_parse("10.0.1.0", &a), 0);
	ATF_CHECK(!kn_set_lookup(r4, &a, 0, 0, NULL));
	kn_program_free(p);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, accept_ends_only_its_base_chain);
	ATF_TP_ADD_TC(tp, jump_returns_goto_does_not);
	ATF_TP_ADD_TC(tp, vmap_miss_continues);
	ATF_TP_ADD_TC(tp, set_lookups);
	return atf_no_error();
}
