/* The daemon's reporting: systemd notification, the status served on
 * the control socket, and the Prometheus metrics file. */
#ifndef KN_DAEMON_H
#define KN_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "guard.h"
#include "model.h"
#include "util.h"

/* Commit latency histogram buckets, in milliseconds. */
#define KN_LATENCY_BUCKETS 10
extern const double kn_latency_bounds_ms[KN_LATENCY_BUCKETS];

/* Why the whole table was replaced rather than changed: the kernel's
 * state was not known for sure (kube_nftd_resyncs_total{reason}). */
enum kn_resync_reason {
	KN_RESYNC_START,    /* the first commit */
	KN_RESYNC_RELOAD,   /* SIGHUP */
	KN_RESYNC_FAILURE,  /* a commit failed */
	KN_RESYNC_TAMPER,   /* another process changed the table */
	KN_RESYNC_LOST,	    /* netlink notifications were lost */
	KN_RESYNC_PERIODIC, /* resync-interval */
	KN_RESYNC_MAX,
};

/* "start", "reload", "failure", "tamper", "lost-events", "periodic". */
extern const char *const kn_resync_reason_names[KN_RESYNC_MAX];

struct kn_daemon_stats {
	uint64_t commits;
	uint64_t failures;
	double last_commit_ms;
	time_t last_commit_time;
	char last_error[512];
	size_t local_pods;
	size_t policies;
	size_t elements;
	size_t rules;
	size_t last_batch_messages;
	size_t last_batch_bytes;
	size_t objects[KN_KIND_MAX];
	size_t source_files;
	size_t source_failed_files;
	size_t invalid_objects;
	uint64_t latency_counts[KN_LATENCY_BUCKETS + 1]; /* last: +Inf */
	double latency_sum_ms;
	uint64_t failing;     /* failed commits in a row; 0 after a success */
	uint64_t retry_in_ms; /* while failing: the time to the next attempt */
	uint64_t resyncs[KN_RESYNC_MAX];
	unsigned long resync_interval_s; /* 0: no periodic resync */
	uint64_t tampers;		 /* other processes' changes to the table */
	time_t last_tamper_time;
	char last_tamper[320]; /* "nft (pid 12): deleted 4 rules" */
	bool monitor;	       /* the netlink monitor runs */
	uint64_t monitor_messages, monitor_own, monitor_overruns;
	/* The API server guard: the mode of the table, and its counters
	 * when guard_counted (read when the status or the metrics are
	 * asked for), else why they could not be read. */
	enum kn_guard_mode guard_mode;
	bool guard_counted;
	time_t last_full_time; /* the last full replacement: counters start at 0 */
	struct kn_guard_counts guard;
	char guard_error[KN_ERR_MAX];
};

/* Sends one sd_notify(3) message ("READY=1", "STATUS=...") to
 * $NOTIFY_SOCKET; does nothing when it is not set.  The protocol is a
 * datagram on a unix socket (an '@' prefix names an abstract one); no
 * libsystemd needed, and no systemd needed to run. */
void kn_notify(const char *msg);

void kn_daemon_observe_commit(struct kn_daemon_stats *st, double ms);

/* "key: value" lines, as `kube-nftctl status` prints them. */
void kn_daemon_format_status(const struct kn_daemon_stats *st, const char *node, const char *source,
			     const char *table, bool synced, struct strbuf *out);
void kn_daemon_format_metrics(const struct kn_daemon_stats *st, struct strbuf *out);
/* Writes the metrics to path atomically (temporary file + rename), as
 * node_exporter's textfile collector requires.  NULL path: nothing. */
int kn_daemon_write_metrics(const char *path, const struct kn_daemon_stats *st);

#endif
