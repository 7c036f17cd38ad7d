/* The text backend: a program rendered as an `nft -f` script.
 *
 * The layout follows `nft list table`: sets and maps first, then chains,
 * one rule per line, so that the script reads like the listing an
 * operator will later see.  nft resolves references inside one table
 * block, so a map may name a chain defined further down.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "nft_text.h"

static const char *
key_type_str(enum kn_key_type k)
{
	switch (k) {
	case KN_KEY_IPV4:
		return "ipv4_addr";
	case KN_KEY_IPV6:
		return "ipv6_addr";
	case KN_KEY_PROTO_PORT:
		return "inet_proto . inet_service";
	case KN_KEY_IPV4_PROTO_PORT:
		return "ipv4_addr . inet_proto . inet_service";
	case KN_KEY_IPV6_PROTO_PORT:
		return "ipv6_addr . inet_proto . inet_service";
	}
	return "?";
}

static void
put_proto(struct strbuf *out, uint8_t proto)
{
	switch (proto) {
	case 6:
		strbuf_puts(out, "tcp");
		break;
	case 17:
		strbuf_puts(out, "udp");
		break;
	case 132:
		strbuf_puts(out, "sctp");
		break;
	default:
		strbuf_printf(out, "%u", proto);
		break;
	}
}

static void
put_addr(struct strbuf *out, const struct kn_addr *a)
{
	char buf[64];

	strbuf_puts(out, kn_addr_fmt(a, buf, sizeof(buf)));
}

/* Prefix length when [first, last] is exactly one CIDR block, else -1. */
static int
range_prefix(const struct kn_addr *first, const struct kn_addr *last)
{
	int len = kn_addr_len(first->family), plen = 0, i;

	for (i = 0; i < len && first->bytes[i] == last->bytes[i]; i++)
		plen += 8;
	if (i < len) {
		uint8_t x = first->bytes[i], y = last->bytes[i];
		int bit;

		for (bit = 7; bit >= 0 && ((x >> bit) & 1) == ((y >> bit) & 1); bit--)
			plen++;
		/* The rest of first must be zeros and of last ones. */
		for (; bit >= 0; bit--)
			if (((x >> bit) & 1) != 0 || ((y >> bit) & 1) != 1)
				return -1;
		for (i++; i < len; i++)
			if (first->bytes[i] != 0 || last->bytes[i] != 0xff)
				return -1;
	}
	return plen;
}

static void
put_addr_range(struct strbuf *out, const struct kn_addr *first, const struct kn_addr *last)
{
	int plen;

	if (kn_addr_cmp(first, last) == 0) {
		put_addr(out, first);
		return;
	}
	put_addr(out, first);
	plen = range_prefix(first, last);
	if (plen >= 0) {
		strbuf_printf(out, "/%d", plen);
		return;
	}
	strbuf_putc(out, '-');
	put_addr(out, last);
}

static void
put_port_range(struct strbuf *out, uint16_t port, uint16_t end, bool interval)
{
	if (interval && end != port)
		strbuf_printf(out, "%u-%u", port, end);
	else
		strbuf_printf(out, "%u", port);
}

static void
put_elem(struct strbuf *out, const struct kn_set *s, const struct kn_elem *e)
{
	switch (s->key) {
	case KN_KEY_IPV4:
	case KN_KEY_IPV6:
		if (s->interval)
			put_addr_range(out, &e->addr, &e->addr_end);
		else
			put_addr(out, &e->addr);
		break;
	case KN_KEY_PROTO_PORT:
		put_proto(out, e->proto);
		strbuf_puts(out, " . ");
		put_port_range(out, e->port, e->port_end, s->interval);
		break;
	case KN_KEY_IPV4_PROTO_PORT:
	case KN_KEY_IPV6_PROTO_PORT:
		put_addr(out, &e->addr);
		strbuf_puts(out, " . ");
		put_proto(out, e->proto);
		strbuf_puts(out, " . ");
		put_port_range(out, e->port, e->port_end, s->interval);
		break;
	}
	if (e->comment)
		strbuf_printf(out, " comment \"%s\"", e->comment);
	if (s->vmap && e->target)
		strbuf_printf(out, " : goto %s", e->target);
}

static void
render_set(const struct kn_set *s, struct strbuf *out)
{
	strbuf_printf(out, "\t%s %s {\n", s->vmap ? "map" : "set", s->name);
	strbuf_printf(out, "\t\ttype %s%s\n", key_type_str(s->key), s->vmap ? " : verdict" : "");
	if (s->size && !s->interval)
		strbuf_printf(out, "\t\tsize %u\n", (unsigned)s->size);
	if (s->interval)
		strbuf_puts(out, "\t\tflags interval\n");
	if (s->comment)
		strbuf_printf(out, "\t\tcomment \"%s\"\n", s->comment);
	if (s->nelems) {
		strbuf_puts(out, "\t\telements = { ");
		for (size_t i = 0; i < s->nelems; i++) {
			if (i)
				strbuf_puts(out, ",\n\t\t\t     ");
			put_elem(out, s, &s->elems[i]);
		}
		strbuf_puts(out, " }\n");
	}
	strbuf_puts(out, "\t}\n");
}

static const char *
family_kw(int family)
{
	return family == AF_INET6 ? "ip6" : "ip";
}

/* True when one of the rule's matches makes nft derive the family itself,
 * so that an explicit "meta nfproto" would be redundant. */
static bool
family_implied(const struct kn_rule *r)
{
	if (r->verdict == KN_VERDICT_VMAP_SADDR || r->verdict == KN_VERDICT_VMAP_DADDR)
		return true;
	for (size_t i = 0; i < r->nm; i++) {
		switch (r->m[i].type) {
		case KN_MATCH_ICMPV6_ND:
		case KN_MATCH_SADDR_SET:
		case KN_MATCH_DADDR_SET:
		case KN_MATCH_DADDR_PROTO_PORT_SET:
		case KN_MATCH_SADDR_PROTO_SPORT_SET:
			return true;
		case KN_MATCH_CT_ESTABLISHED:
		case KN_MATCH_PROTO_PORT_SET:
			break;
		}
	}
	return false;
}

/* nft's names of the limit units, which are what it lists. */
static const char *
limit_unit_str(uint32_t unit)
{
	switch (unit) {
	case 1:
		return "second";
	case 60:
		return "minute";
	case 3600:
		return "hour";
	case 86400:
		return "day";
	case 604800:
		return "week";
	}
	return "?"; /* not a unit of the IR: a compiler bug that nft will reject */
}

static void
render_rule(const struct kn_rule *r, struct strbuf *out)
{
	bool sp = false;

#define SEP() (sp ? strbuf_putc(out, ' ') : (void)0, sp = true)
	strbuf_puts(out, "\t\t");
	if (r->family && !family_implied(r)) {
		SEP();
		strbuf_printf(out, "meta nfproto %s", r->family == AF_INET6 ? "ipv6" : "ipv4");
	}
	for (size_t i = 0; i < r->nm; i++) {
		const struct kn_match *m = &r->m[i];

		SEP();
		switch (m->type) {
		case KN_MATCH_CT_ESTABLISHED:
			strbuf_puts(out, "ct state established,related");
			break;
		case KN_MATCH_ICMPV6_ND:
			strbuf_puts(out, "icmpv6 type 133-137");
			break;
		case KN_MATCH_SADDR_SET:
			strbuf_printf(out, "%s saddr @%s", family_kw(r->family), m->set);
			break;
		case KN_MATCH_DADDR_SET:
			strbuf_printf(out, "%s daddr @%s", family_kw(r->family), m->set);
			break;
		case KN_MATCH_PROTO_PORT_SET:
			strbuf_printf(out, "meta l4proto . th dport @%s", m->set);
			break;
		case KN_MATCH_DADDR_PROTO_PORT_SET:
			strbuf_printf(out, "%s daddr . meta l4proto . th dport @%s",
				      family_kw(r->family), m->set);
			break;
		case KN_MATCH_SADDR_PROTO_SPORT_SET:
			strbuf_printf(out, "%s saddr . meta l4proto . th sport @%s",
				      family_kw(r->family), m->set);
			break;
		}
	}
	if (r->counter) {
		SEP();
		strbuf_puts(out, "counter");
	}
	if (r->limit_rate) {
		SEP();
		strbuf_printf(out, "limit rate %u/%s", r->limit_rate,
			      limit_unit_str(r->limit_unit));
	}
	if (r->log) {
		SEP();
		strbuf_puts(out, "log");
		if (r->log_prefix)
			strbuf_printf(out, " prefix \"%s\"", r->log_prefix);
		strbuf_printf(out, " group %u", r->log_group);
	}
	switch (r->verdict) {
	case KN_VERDICT_NONE:
		break;
	case KN_VERDICT_ACCEPT:
		SEP();
		strbuf_puts(out, "accept");
		break;
	case KN_VERDICT_DROP:
		SEP();
		strbuf_puts(out, "drop");
		break;
	case KN_VERDICT_RETURN:
		SEP();
		strbuf_puts(out, "return");
		break;
	case KN_VERDICT_JUMP:
		SEP();
		strbuf_printf(out, "jump %s", r->target);
		break;
	case KN_VERDICT_GOTO:
		SEP();
		strbuf_printf(out, "goto %s", r->target);
		break;
	case KN_VERDICT_VMAP_SADDR:
		SEP();
		strbuf_printf(out, "%s saddr vmap @%s", family_kw(r->family), r->target);
		break;
	case KN_VERDICT_VMAP_DADDR:
		SEP();
		strbuf_printf(out, "%s daddr vmap @%s", family_kw(r->family), r->target);
		break;
	}
	if (r->comment) {
		SEP();
		strbuf_printf(out, "comment \"%s\"", r->comment);
	}
#undef SEP
	strbuf_putc(out, '\n');
}

static const char *
hook_str(enum kn_hook h)
{
	return h == KN_HOOK_INPUT ? "input" : "forward";
}

static void
render_chain(const struct kn_chain *c, struct strbuf *out)
{
	strbuf_printf(out, "\tchain %s {\n", c->name);
	if (c->comment)
		strbuf_printf(out, "\t\tcomment \"%s\"\n", c->comment);
	if (c->hook != KN_HOOK_NONE) {
		strbuf_printf(out, "\t\ttype filter hook %s priority filter", hook_str(c->hook));
		if (c->prio > 0)
			strbuf_printf(out, " + %d", c->prio);
		else if (c->prio < 0)
			strbuf_printf(out, " - %d", -c->prio);
		strbuf_puts(out, "; policy accept;\n");
	}
	for (size_t i = 0; i < c->nrules; i++)
		render_rule(&c->rules[i], out);
	strbuf_puts(out, "\t}\n");
}

void
kn_text_render_table(const struct kn_program *p, struct strbuf *out)
{
	bool first = true;

	strbuf_printf(out, "table inet %s {\n", p->table);
	for (size_t i = 0; i < p->nsets; i++) {
		if (!first)
			strbuf_putc(out, '\n');
		first = false;
		render_set(p->sets[i], out);
	}
	for (size_t i = 0; i < p->nchains; i++) {
		if (!first)
			strbuf_putc(out, '\n');
		first = false;
		render_chain(p->chains[i], out);
	}
	strbuf_puts(out, "}\n");
}

void
kn_text_render(const struct kn_program *p, struct strbuf *out)
{
	/* "table X" creates the table when missing so that "delete table X"
	 * cannot fail; nft -f loads the whole file as one transaction, so
	 * the old table is replaced atomically. */
	strbuf_puts(out, "#!/usr/sbin/nft -f\n");
	strbuf_printf(out, "table inet %s\n", p->table);
	strbuf_printf(out, "delete table inet %s\n", p->table);
	kn_text_render_table(p, out);
}
