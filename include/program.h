/* The program: an intermediate representation of one nftables table
 * (sets, verdict maps, chains, rules) produced by the compiler and
 * rendered by the backends (nft_text.h, nft_netlink.h).
 *
 * Rules are built from a small, fixed vocabulary of matches and verdicts
 * so that every backend knows exactly which bytecode and which nft syntax
 * each one stands for.  The program is plain data: building the same
 * program twice gives identical output in every backend.
 */
#ifndef KN_PROGRAM_H
#define KN_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

#define KN_TABLE_NAME "kube-nftd"

/* The kernel's NFT_NAME_MAXLEN is 256 including the NUL. */
#define KN_NAME_MAX 255
/* nft drops comments of 128 bytes or more (NFTNL_UDATA_COMMENT_MAXLEN). */
#define KN_COMMENT_MAX 127

enum kn_key_type {
	KN_KEY_IPV4,		/* ipv4_addr */
	KN_KEY_IPV6,		/* ipv6_addr */
	KN_KEY_PROTO_PORT,	/* inet_proto . inet_service */
	KN_KEY_IPV4_PROTO_PORT, /* ipv4_addr . inet_proto . inet_service */
	KN_KEY_IPV6_PROTO_PORT, /* ipv6_addr . inet_proto . inet_service */
};

/* One element.  Ranges are inclusive: in an interval set of addresses,
 * [addr, addr_end]; in an interval set of KN_KEY_PROTO_PORT, proto and
 * [port, port_end].  Non-interval sets use addr, proto and port only. */
struct kn_elem {
	struct kn_addr addr, addr_end;
	uint8_t proto;
	uint16_t port, port_end;
	char *target;  /* verdict maps: the chain to goto */
	char *comment; /* may be NULL */
};

struct kn_set {
	char *name;
	char *comment;
	enum kn_key_type key;
	bool interval;
	bool vmap; /* a verdict map: key : goto target */
	/* Hash sets and maps: the most elements the kernel's set may hold
	 * (NFTA_SET_DESC_SIZE, nft's "size"); 0: not given.  The kernel
	 * then makes a hash table of fixed size that never grows, much
	 * cheaper to fill than its resizable one, and refuses elements
	 * beyond it: the compilers give every hash set room (kn_set_size_for),
	 * and a set that outgrows it is created again, larger. */
	uint32_t size;
	struct kn_elem *elems;
	size_t nelems, cap;
};

/* The size a hash set is created with for the elements it holds: room
 * for as many again, a power of two, at least KN_SET_SIZE_MIN.  Interval
 * sets are not sized (0): the kernel's interval backends do not grow a
 * table. */
#define KN_SET_SIZE_MIN 16
uint32_t kn_set_size_for(const struct kn_set *s);

enum kn_match_type {
	KN_MATCH_CT_ESTABLISHED,	/* ct state established,related */
	KN_MATCH_ICMPV6_ND,		/* icmpv6 type 133-137 (family must be AF_INET6) */
	KN_MATCH_SADDR_SET,		/* ip saddr @set / ip6 saddr @set */
	KN_MATCH_DADDR_SET,		/* ip daddr @set / ip6 daddr @set */
	KN_MATCH_PROTO_PORT_SET,	/* meta l4proto . th dport @set */
	KN_MATCH_DADDR_PROTO_PORT_SET,	/* ip daddr . meta l4proto . th dport @set */
	KN_MATCH_SADDR_PROTO_SPORT_SET, /* ip saddr . meta l4proto . th sport @set (replies) */
};

struct kn_match {
	enum kn_match_type type;
	char *set; /* for *_SET */
};

enum kn_verdict {
	KN_VERDICT_NONE, /* no verdict (continue) */
	KN_VERDICT_ACCEPT,
	KN_VERDICT_DROP,
	KN_VERDICT_RETURN,
	KN_VERDICT_JUMP,       /* target: chain */
	KN_VERDICT_GOTO,       /* target: chain */
	KN_VERDICT_VMAP_SADDR, /* ip saddr vmap @target (family required) */
	KN_VERDICT_VMAP_DADDR, /* ip daddr vmap @target (family required) */
};

#define KN_RULE_MAX_MATCH 4

struct kn_rule {
	/* 0: both families.  AF_INET / AF_INET6 for rules that load
	 * addresses: the backends emit "meta nfproto" first, as nft does. */
	int family;
	struct kn_match m[KN_RULE_MAX_MATCH];
	size_t nm;
	bool counter;
	/* limit rate RATE/UNIT, burst 5 packets (nft's default, which it
	 * does not list).  Over the rate the rule ends there, so a limit
	 * gates the log and the verdict after it.  0: no limit. */
	uint32_t limit_rate;
	uint32_t limit_unit; /* in seconds: 1, 60, 3600, 86400 or 604800 */
	/* log [prefix "PREFIX"] group N: the packet goes to nflog group N. */
	bool log;
	uint16_t log_group;
	char *log_prefix; /* may be NULL */
	enum kn_verdict verdict;
	char *target;
	char *comment;
};

enum kn_hook {
	KN_HOOK_NONE,
	KN_HOOK_FORWARD,
	KN_HOOK_INPUT,
};

struct kn_chain {
	char *name;
	char *comment;
	enum kn_hook hook; /* KN_HOOK_NONE for regular chains */
	int prio;	   /* filter type, policy accept */
	struct kn_rule *rules;
	size_t nrules, cap;
};

struct kn_program {
	char *table; /* family inet */
	struct kn_set **sets;
	size_t nsets, sets_cap;
	struct kn_chain **chains;
	size_t nchains, chains_cap;
};

struct kn_program *kn_program_new(const char *table);
void kn_program_free(struct kn_program *p);
/* Gives every set of p the size kn_set_size_for() its elements. */
void kn_program_size_sets(struct kn_program *p);

/* Names are copied (and must be valid, at most KN_NAME_MAX bytes);
 * comments are copied and truncated to KN_COMMENT_MAX bytes on a UTF-8
 * boundary.  Sets and chains keep the order of creation. */
struct kn_set *kn_program_add_set(struct kn_program *p, const char *name, enum kn_key_type key,
				  bool interval, const char *comment);
struct kn_set *kn_program_add_vmap(struct kn_program *p, const char *name, enum kn_key_type key,
				   const char *comment);
struct kn_chain *kn_program_add_chain(struct kn_program *p, const char *name, const char *comment);
struct kn_chain *kn_program_add_base_chain(struct kn_program *p, const char *name,
					   enum kn_hook hook, int prio, const char *comment);

struct kn_set *kn_program_find_set(const struct kn_program *p, const char *name);
struct kn_chain *kn_program_find_chain(const struct kn_program *p, const char *name);

/* Returns a zeroed element to fill in. */
struct kn_elem *kn_set_add_elem(struct kn_set *s);
void kn_elem_set_comment(struct kn_elem *e, const char *comment);
/* Sorts elements into key order and removes exact duplicates (keeping the
 * first comment).  Interval address sets must already hold disjoint,
 * non-adjacent ranges (use kn_rangeset). */
void kn_set_finalize(struct kn_set *s);

/* Returns a zeroed rule appended to the chain. */
struct kn_rule *kn_chain_add_rule(struct kn_chain *c, int family);
void kn_rule_add_match(struct kn_rule *r, enum kn_match_type type, const char *set);
void kn_rule_set_verdict(struct kn_rule *r, enum kn_verdict v, const char *target);
void kn_rule_set_comment(struct kn_rule *r, const char *comment);
/* Statements run in this order after the matches: counter, limit, log,
 * then the verdict.  prefix is copied (at most KN_LOG_PREFIX_MAX bytes). */
void kn_rule_set_limit(struct kn_rule *r, uint32_t rate, uint32_t unit);
void kn_rule_set_log(struct kn_rule *r, uint16_t group, const char *prefix);
/* The kernel's NF_LOG_PREFIXLEN is 128 including the NUL. */
#define KN_LOG_PREFIX_MAX 127

/* True when the two rules are the same rule (matches, statements,
 * verdict and comment). */
bool kn_rule_equal(const struct kn_rule *a, const struct kn_rule *b);

/* Compares two programs element by element; true when equal. */
bool kn_program_equal(const struct kn_program *a, const struct kn_program *b);

/* Truncate a UTF-8 string copy to max bytes without splitting a
 * character. */
char *kn_comment_dup(const char *s);

/* The order kn_set_finalize sorts elements in (by key: address, protocol,
 * port, then the ends of ranges); 0 for elements of the same key. */
int kn_elem_cmp(const struct kn_elem *a, const struct kn_elem *b);

/* ------------------------------------------------------------ deltas
 *
 * What an incremental compile changed in its program (netpol.h,
 * kn_compiler_update), so that the planner compares only that (plan.h,
 * kn_plan_delta).  A set or chain of the program that no change names is
 * the very object it was before, untouched.  What went (old sets and
 * chains, elements taken out of a set) belongs to the delta, so that the
 * planner can still name what the kernel holds.
 */
struct kn_set_change {
	struct kn_set *old;	  /* the set before (owned); NULL: created, or patched */
	const struct kn_set *set; /* the set now, in the program; NULL: removed */
	/* Patched: the set object stayed (old is NULL) and only these
	 * elements changed.  removed: taken out (owned), in key order;
	 * added: now in set->elems, in key order. */
	bool patched;
	/* Patched, and the set outgrew its size: the kernel's set (of this
	 * size) is replaced by set, of set->size, with all its elements. */
	uint32_t resized_from;
	struct kn_elem *removed;
	size_t nremoved, removed_cap;
	const struct kn_elem **added;
	size_t nadded;
};

struct kn_chain_change {
	struct kn_chain *old;	      /* the chain before (owned); NULL: created */
	const struct kn_chain *chain; /* the chain now, in the program; NULL: removed */
};

struct kn_delta {
	/* Not NULL: the program was compiled anew as a whole, and this is
	 * the one it replaces (owned); the lists below are then empty. */
	struct kn_program *old;
	struct kn_set_change *sets;
	size_t nsets, sets_cap;
	struct kn_chain_change *chains;
	size_t nchains, chains_cap;
};

/* Frees what the delta owns and empties it (the arrays are kept). */
void kn_delta_clear(struct kn_delta *d);
/* Frees the arrays too. */
void kn_delta_free(struct kn_delta *d);
/* A set or chain that belongs to no program (kn_delta_clear frees those
 * of a delta). */
void kn_set_free(struct kn_set *s);
void kn_chain_free(struct kn_chain *c);

#endif
