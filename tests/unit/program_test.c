/* The program IR: builders, comment limits, element order, equality. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "program.h"
#include "util.h"

ATF_TC_WITHOUT_HEAD(comment_truncated_on_utf8_boundary);
ATF_TC_BODY(comment_truncated_on_utf8_boundary, tc)
{
	char in[300];
	char *c;

	/* 126 ASCII bytes, then a 3-byte character that would straddle
	 * the 127-byte limit. */
	memset(in, 'a', 126);
	strcpy(in + 126, "\xe2\x82\xac tail");
	c = kn_comment_dup(in);
	ATF_CHECK_EQ(strlen(c), 126);
	free(c);
	memset(in, 'b', 200);
	in[200] = '\0';
	c = kn_comment_dup(in);
	ATF_CHECK_EQ(strlen(c), KN_COMMENT_MAX);
	free(c);
	c = kn_comment_dup("say \"hi\"\n");
	ATF_CHECK_STREQ(c, "say 'hi''");
	free(c);
	ATF_CHECK(kn_comment_dup(NULL) == NULL);
}

static struct kn_elem *
add4(struct kn_set *s, const char *a, const char *target, const char *comment)
{
	struct kn_elem *e = kn_set_add_elem(s);

	ATF_REQUIRE_EQ(kn_addr_parse(a, &e->addr), 0);
	e->addr_end = e->addr;
	if (target)
		e->target = xstrdup(target);
	if (comment)
		kn_elem_set_comment(e, comment);
	return e;
}

ATF_TC_WITHOUT_HEAD(finalize_sorts_and_dedups);
ATF_TC_BODY(finalize_sorts_and_dedups, tc)
{
	struct kn_program *p = kn_program_new(NULL);
	struct kn_set *m = kn_program_add_vmap(p, "m", KN_KEY_IPV4, NULL);
	char buf[64];

	/* Two pods claiming one address: the same one must win whatever
	 * the insertion order. */
	add4(m, "10.0.0.9", "zeta", "ns/z");
	add4(m, "10.0.0.1", "alpha", "ns/a");
	add4(m, "10.0.0.9", "beta", "ns/b");
	add4(m, "10.0.0.1", "alpha", "ns/a");
	kn_set_finalize(m);
	ATF_REQUIRE_EQ(m->nelems, 2);
	ATF_CHECK_STREQ(kn_addr_fmt(&m->elems[0].addr, buf, sizeof(buf)), "10.0.0.1");
	ATF_CHECK_STREQ(m->elems[1].target, "beta");
	ATF_CHECK_STREQ(kn_program_find_set(p, "m")->name, "m");
	ATF_CHECK(kn_program_find_set(p, "n") == NULL);
	ATF_CHECK_STREQ(p->table, KN_TABLE_NAME);
	kn_program_free(p);
}

static struct kn_program *
sample(const char *comment)
{
	struct kn_program *p = kn_program_new("t");
	struct kn_set *s = kn_program_add_set(p, "s", KN_KEY_IPV4, true, NULL);
	struct kn_chain *c = kn_program_add_chain(p, "c", NULL);
	struct kn_rule *r;

	add4(s, "10.0.0.1", NULL, NULL);
	r = kn_chain_add_rule(c, AF_INET);
	kn_rule_add_match(r, KN_MATCH_SADDR_SET, "s");
	kn_rule_set_verdict(r, KN_VERDICT_ACCEPT, NULL);
	kn_rule_set_comment(r, comment);
	return p;
}

ATF_TC_WITHOUT_HEAD(equality);
ATF_TC_BODY(equality, tc)
{
	struct kn_program *a = sample("x"), *b = sample("x"), *c = sample("y");

	ATF_CHECK(kn_program_equal(a, b));
	ATF_CHECK(!kn_program_equal(a, c));
	add4(b->sets[0], "10.0.0.2", NULL, NULL);
	ATF_CHECK(!kn_program_equal(a, b));
	ATF_CHECK(kn_program_find_chain(a, "c") == a->chains[0]);
	kn_program_free(a);
	kn_program_free(b);
	kn_program_free(c);
	kn_program_free(NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, comment_truncated_on_utf8_boundary);
	ATF_TP_ADD_TC(tp, finalize_sorts_and_dedups);
	ATF_TP_ADD_TC(tp, equality);
	return atf_no_error();
}
