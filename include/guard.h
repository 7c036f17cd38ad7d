/* The API server guard: local pods whose service account holds no
 * meaningful RBAC permission (rbac.h), or that mount no token, get no
 * packets through to the Kubernetes API server.
 *
 * kn_compile (netpol.h) calls kn_guard_compile first; docs/ruleset.md
 * ("The API server guard") describes what it adds to the program:
 *
 *   sets        api-server-v4/-v6   address . protocol . port of the API
 *                                   server: the ClusterIPs and ports of
 *                                   default/kubernetes, the addresses and
 *                                   ports of its EndpointSlices, extra
 *                                   addresses (filtering sees packets
 *                                   after DNAT, so both forms are needed)
 *               api-denied-v4/-v6   local pods that may not reach it
 *   chains      api-guard           the rules, jumped to from
 *               api-guard-forward   hook forward, priority filter - 1
 *               api-guard-input     hook input, priority filter - 1
 *
 * The base chains run before every NetworkPolicy chain, and a drop is
 * final: no policy can allow what the guard refuses.
 */
#ifndef KN_GUARD_H
#define KN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "program.h"
#include "store.h"

enum kn_guard_mode {
	KN_GUARD_DEFAULT = 0, /* audit, so that a zeroed kn_compile_opts audits */
	KN_GUARD_OFF,	      /* no guard in the program */
	KN_GUARD_AUDIT,	      /* count and log (nflog, rate-limited) what enforce would drop */
	KN_GUARD_ENFORCE,     /* drop */
};

/* "off", "audit", "enforce"; 0 or -EINVAL. */
int kn_guard_mode_parse(const char *s, enum kn_guard_mode *ret);
const char *kn_guard_mode_name(enum kn_guard_mode m);

/* An extra API server address (an external load balancer, say). */
struct kn_guard_addr {
	struct kn_addr addr;
	uint16_t port; /* 0: every TCP port */
};

/* Parses ADDR, ADDR:PORT, [IPV6] or [IPV6]:PORT (a bare IPv6 address has
 * no port); 0 or -EINVAL. */
int kn_guard_addr_parse(const char *s, struct kn_guard_addr *ret);

/* Names of the program's objects. */
#define KN_GUARD_CHAIN	       "api-guard"
#define KN_GUARD_CHAIN_FORWARD "api-guard-forward"
#define KN_GUARD_CHAIN_INPUT   "api-guard-input"
#define KN_GUARD_SERVERS_V4    "api-server-v4"
#define KN_GUARD_SERVERS_V6    "api-server-v6"
/* The API server's addresses alone: which packets go to api-guard. */
#define KN_GUARD_ADDRS_V4 "api-server-addrs-v4"
#define KN_GUARD_ADDRS_V6 "api-server-addrs-v6"
/* kn_guard_add_sets' server sets: api-server-v4, -v6, api-server-addrs-v4,
 * -v6. */
#define KN_GUARD_SERVER_SETS 4
#define KN_GUARD_DENIED_V4   "api-denied-v4"
#define KN_GUARD_DENIED_V6   "api-denied-v6"

/* The nflog group of the guard's log statements, and their rate. */
#define KN_GUARD_NFLOG_GROUP 0
#define KN_GUARD_LOG_RATE    10 /* per minute and rule, burst 5 */

struct kn_compile_opts;
struct kn_compile_stats;

/* Adds the guard to p as opts says (guard mode, extra addresses,
 * bootstrap roles, node) and counts its pods in st (api_*).  Nothing is
 * added when the mode is off.  Never fails. */
void kn_guard_compile(struct kn_program *p, struct kn_store *s, const struct kn_compile_opts *opts,
		      struct kn_compile_stats *st);

/* The parts of kn_guard_compile, for the incremental compiler (netpol.h,
 * kn_compiler), which keeps the guard's sets up to date pod by pod.
 *
 * kn_guard_mode_of: the mode opts ask for (KN_GUARD_DEFAULT is audit).
 * kn_guard_add_sets: the six sets, empty.  kn_guard_fill_servers: the
 * server sets' elements (finalized), returns the number of api-server-v4
 * and -v6's.
 * kn_guard_judge: false when the guard does not judge the pod (not on
 * node, hostNetwork, finished, no address); else the pod's verdict.
 * kn_guard_denied_elems: a judged pod's elements of the denied sets
 * (none when allowed), not finalized.  kn_guard_add_chains: the chains. */
enum kn_guard_mode kn_guard_mode_of(const struct kn_compile_opts *opts);
void kn_guard_add_sets(struct kn_program *p, struct kn_set *servers[KN_GUARD_SERVER_SETS],
		       struct kn_set *denied[2]);
size_t kn_guard_fill_servers(struct kn_store *s, const struct kn_compile_opts *opts,
			     struct kn_set *servers[KN_GUARD_SERVER_SETS]);
struct kn_rbac;
struct kn_api_verdict;
bool kn_guard_judge(struct kn_rbac *rbac, const struct kn_pod *pod, const char *node,
		    struct kn_api_verdict *ret);
void kn_guard_denied_elems(const struct kn_pod *pod, const struct kn_api_verdict *v,
			   struct kn_set *denied[2]);
void kn_guard_add_chains(struct kn_program *p, enum kn_guard_mode mode);

/* The mode a compiled program enforces (off when it has no guard). */
enum kn_guard_mode kn_guard_program_mode(const struct kn_program *p);

/* What the guard's counters count: in enforce mode the packets it
 * dropped, in audit mode those enforce would drop. */
enum kn_guard_dir {
	KN_GUARD_TO_SERVER,   /* pods without API permissions to the API server */
	KN_GUARD_FROM_SERVER, /* the API server to them */
	KN_GUARD_DIRS,
};

/* "to_server", "from_server": the metrics' label values. */
extern const char *const kn_guard_dir_names[KN_GUARD_DIRS];

/* The counters of chain api-guard, IPv4 and IPv6 rules summed
 * (nft_netlink.h, kn_nl_guard_counts reads them). */
struct kn_guard_counts {
	uint64_t packets[KN_GUARD_DIRS];
	uint64_t bytes[KN_GUARD_DIRS];
};

/* The direction a rule of chain api-guard counts, or -1 for a rule
 * without a counter (the log rule). */
int kn_guard_rule_dir(const struct kn_rule *r);

/* An API server destination: address, protocol and port range. */
struct kn_guard_dest {
	struct kn_addr addr;
	uint8_t proto;
	uint16_t port, port_end;
};

/* What a change of program revokes: connections from srcs (pods that
 * lost access) to dsts (the API server). */
struct kn_guard_revocation {
	struct kn_addr *srcs;
	size_t nsrcs;
	struct kn_guard_dest *dsts;
	size_t ndsts;
};

/* Fills ret with the pods that program new denies in enforce mode and old
 * did not (old NULL: every pod new denies), and with the API server
 * destinations of new.  Returns the number of sources; 0 when new does not
 * enforce.  Free ret with kn_guard_revocation_free in any case. */
size_t kn_guard_revoked(const struct kn_program *old, const struct kn_program *new,
			struct kn_guard_revocation *ret);
/* The same for the program p after an incremental compile's delta
 * (program.h, kn_compiler_update): the pods p denies and the program
 * before the delta did not. */
size_t kn_guard_revoked_delta(const struct kn_program *p, const struct kn_delta *d,
			      struct kn_guard_revocation *ret);
void kn_guard_revocation_free(struct kn_guard_revocation *rv);

#endif
