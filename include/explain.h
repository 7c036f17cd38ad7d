/* Explain: evaluates a packet against a program the way the kernel walks
 * the ruleset (base chains by priority, jump/goto/return, verdict maps,
 * set lookups), and tells why it is accepted or dropped.
 *
 * It serves `kube-nftctl explain` and lets unit tests check the
 * semantics of a compiled program without root. */
#ifndef KN_EXPLAIN_H
#define KN_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "netaddr.h"
#include "program.h"
#include "util.h"

struct kn_packet {
	struct kn_addr saddr, daddr; /* same family */
	uint8_t proto;		     /* IANA number: 6 tcp, 17 udp, 132 sctp, 1/58 icmp */
	uint16_t dport;		     /* transport destination port (tcp/udp/sctp) */
	uint16_t sport;		     /* transport source port */
	uint8_t icmp_type;	     /* for icmp/icmpv6 */
	bool established;	     /* conntrack state established or related */
};

enum kn_eval_verdict {
	KN_EVAL_ACCEPT,
	KN_EVAL_DROP,
};

/* Runs pkt through every base chain of the hook in priority order.  A
 * drop is final; an accept ends only its base chain.  When trace is not
 * NULL, one line per chain entered and rule matched is appended. */
enum kn_eval_verdict kn_eval(const struct kn_program *p, const struct kn_packet *pkt,
			     enum kn_hook hook, struct strbuf *trace);

/* Set membership as the kernel's lookup expression sees it. */
bool kn_set_lookup(const struct kn_set *s, const struct kn_addr *addr, uint8_t proto, uint16_t port,
		   const struct kn_elem **ret);

#endif
