/* A model of the kernel's nf_tables evaluation loop over a program. */
#include "config.h"

#include <string.h>

#include "explain.h"

/* nf_tables limits the jump stack to 16 levels (NFT_JUMP_STACK_SIZE);
 * our programs use three. */
#define EVAL_STACK_MAX 16

static bool
addr_in(const struct kn_addr *a, const struct kn_addr *lo, const struct kn_addr *hi)
{
	return a->family == lo->family && kn_addr_cmp(a, lo) >= 0 && kn_addr_cmp(a, hi) <= 0;
}

bool
kn_set_lookup(const struct kn_set *s, const struct kn_addr *addr, uint8_t proto, uint16_t port,
	      const struct kn_elem **ret)
{
	for (size_t i = 0; i < s->nelems; i++) {
		const struct kn_elem *e = &s->elems[i];
		bool m = false;

		switch (s->key) {
		case KN_KEY_IPV4:
		case KN_KEY_IPV6:
			m = s->interval ? addr_in(addr, &e->addr, &e->addr_end)
					: kn_addr_cmp(addr, &e->addr) == 0;
			break;
		case KN_KEY_PROTO_PORT:
			m = e->proto == proto &&
			    (s->interval ? port >= e->port && port <= e->port_end
					 : port == e->port);
			break;
		case KN_KEY_IPV4_PROTO_PORT:
		case KN_KEY_IPV6_PROTO_PORT:
			/* Only the port is a range in our concatenations. */
			m = kn_addr_cmp(addr, &e->addr) == 0 && e->proto == proto &&
			    (s->interval ? port >= e->port && port <= e->port_end
					 : port == e->port);
			break;
		}
		if (m) {
			if (ret)
				*ret = e;
			return true;
		}
	}
	return false;
}

static bool
has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 33 || proto == 136;
}

static bool
match_one(const struct kn_program *p, const struct kn_rule *r, const struct kn_match *m,
	  const struct kn_packet *pkt)
{
	const struct kn_set *s = m->set ? kn_program_find_set(p, m->set) : NULL;

	switch (m->type) {
	case KN_MATCH_CT_ESTABLISHED:
		return pkt->established;
	case KN_MATCH_ICMPV6_ND:
		return pkt->saddr.family == AF_INET6 && pkt->proto == 58 && pkt->icmp_type >= 133 &&
		       pkt->icmp_type <= 137;
	case KN_MATCH_SADDR_SET:
		return s && kn_set_lookup(s, &pkt->saddr, 0, 0, NULL);
	case KN_MATCH_DADDR_SET:
		return s && kn_set_lookup(s, &pkt->daddr, 0, 0, NULL);
	case KN_MATCH_PROTO_PORT_SET:
		/* th dport on a protocol without ports reads other header
		 * bytes; no element of ours has such a protocol anyway. */
		return s && has_ports(pkt->proto) &&
		       kn_set_lookup(s, NULL, pkt->proto, pkt->dport, NULL);
	case KN_MATCH_DADDR_PROTO_PORT_SET:
		return s && has_ports(pkt->proto) &&
		       kn_set_lookup(s, &pkt->daddr, pkt->proto, pkt->dport, NULL);
	case KN_MATCH_SADDR_PROTO_SPORT_SET:
		return s && has_ports(pkt->proto) &&
		       kn_set_lookup(s, &pkt->saddr, pkt->proto, pkt->sport, NULL);
	}
	(void)r;
	return false;
}

static bool
rule_matches(const struct kn_program *p, const struct kn_rule *r, const struct kn_packet *pkt)
{
	if (r->family && r->family != pkt->saddr.family)
		return false;
	for (size_t i = 0; i < r->nm; i++)
		if (!match_one(p, r, &r->m[i], pkt))
			return false;
	return true;
}

enum chain_result {
	CHAIN_CONTINUE, /* fell off the end of the base chain: its policy applies */
	CHAIN_ACCEPT,
	CHAIN_DROP,
};

static void
trace_rule(struct strbuf *trace, const struct kn_chain *c, size_t i, const char *what)
{
	const struct kn_rule *r = &c->rules[i];

	if (!trace)
		return;
	strbuf_printf(trace, "  %s: rule %zu%s%s%s: %s\n", c->name, i + 1, r->comment ? " (" : "",
		      r->comment ? r->comment : "", r->comment ? ")" : "", what);
}

static enum chain_result
run_base(const struct kn_program *p, const struct kn_chain *base, const struct kn_packet *pkt,
	 struct strbuf *trace)
{
	struct {
		const struct kn_chain *c;
		size_t next;
	} stack[EVAL_STACK_MAX];
	size_t depth = 0;
	const struct kn_chain *c = base;
	size_t i = 0;

	if (trace)
		strbuf_printf(trace, "%s (base chain)\n", base->name);
	for (;;) {
		const struct kn_rule *r;
		const struct kn_chain *target = NULL;
		enum kn_verdict v;

		if (i >= c->nrules) {
			if (depth == 0)
				return CHAIN_CONTINUE;
			depth--;
			c = stack[depth].c;
			i = stack[depth].next;
			continue;
		}
		r = &c->rules[i];
		if (!rule_matches(p, r, pkt)) {
			i++;
			continue;
		}
		v = r->verdict;
		if (v == KN_VERDICT_VMAP_SADDR || v == KN_VERDICT_VMAP_DADDR) {
			const struct kn_set *m = kn_program_find_set(p, r->target);
			const struct kn_elem *e = NULL;
			const struct kn_addr *a =
				v == KN_VERDICT_VMAP_SADDR ? &pkt->saddr : &pkt->daddr;

			if (!m || !kn_set_lookup(m, a, 0, 0, &e) || !e->target) {
				i++;
				continue;
			}
			trace_rule(trace, c, i, "");
			if (trace)
				strbuf_printf(trace, "    @%s: %s%s%s -> goto %s\n", r->target,
					      e->comment ? e->comment : "", e->comment ? " " : "",
					      "matched", e->target);
			v = KN_VERDICT_GOTO;
			target = kn_program_find_chain(p, e->target);
		} else if (v == KN_VERDICT_JUMP || v == KN_VERDICT_GOTO) {
			target = kn_program_find_chain(p, r->target);
		}
		switch (v) {
		case KN_VERDICT_NONE:
			/* A rule of statements only (counter, log): the packet
			 * goes on.  A limit is taken to be under its rate. */
			if (r->log)
				trace_rule(trace, c, i, "log, continue");
			else if (r->counter)
				trace_rule(trace, c, i, "counted, continue");
			i++;
			continue;
		case KN_VERDICT_ACCEPT:
			trace_rule(trace, c, i, "accept");
			return CHAIN_ACCEPT;
		case KN_VERDICT_DROP:
			trace_rule(trace, c, i, "drop");
			return CHAIN_DROP;
		case KN_VERDICT_RETURN:
			trace_rule(trace, c, i, "return");
			i = c->nrules;
			continue;
		case KN_VERDICT_JUMP:
			if (!target || depth >= EVAL_STACK_MAX)
				return CHAIN_DROP; /* the kernel would refuse such a ruleset */
			if (r->target)
				trace_rule(trace, c, i, "jump");
			stack[depth].c = c;
			stack[depth].next = i + 1;
			depth++;
			c = target;
			i = 0;
			continue;
		case KN_VERDICT_GOTO:
		case KN_VERDICT_VMAP_SADDR:
		case KN_VERDICT_VMAP_DADDR:
			if (!target)
				return CHAIN_DROP;
			if (r->verdict == KN_VERDICT_GOTO)
				trace_rule(trace, c, i, "goto");
			c = target;
			i = 0;
			continue;
		}
	}
}

enum kn_eval_verdict
kn_eval(const struct kn_program *p, const struct kn_packet *pkt, enum kn_hook hook,
	struct strbuf *trace)
{
	const struct kn_chain *bases[16];
	size_t n = 0;

	for (size_t i = 0; i < p->nchains && n < ARRAY_SIZE(bases); i++)
		if (p->chains[i]->hook == hook)
			bases[n++] = p->chains[i];
	/* Base chains run in priority order; equal priorities in an
	 * unspecified order, which our programs never rely on. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && bases[j - 1]->prio > bases[j]->prio; j--) {
			const struct kn_chain *t = bases[j];

			bases[j] = bases[j - 1];
			bases[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		enum chain_result r = run_base(p, bases[i], pkt, trace);

		if (r == CHAIN_DROP)
			return KN_EVAL_DROP;
		if (trace && r == CHAIN_CONTINUE)
			strbuf_printf(trace, "  %s: end of chain, policy accept\n", bases[i]->name);
	}
	return KN_EVAL_ACCEPT;
}
