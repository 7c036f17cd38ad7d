/* sd_notify, status and metrics. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

const double kn_latency_bounds_ms[KN_LATENCY_BUCKETS] = {0.5, 1, 2, 5, 10, 20, 50, 100, 500, 1000};

const char *const kn_resync_reason_names[KN_RESYNC_MAX] = {
	[KN_RESYNC_START] = "start",	  [KN_RESYNC_RELOAD] = "reload",
	[KN_RESYNC_FAILURE] = "failure",  [KN_RESYNC_TAMPER] = "tamper",
	[KN_RESYNC_LOST] = "lost-events", [KN_RESYNC_PERIODIC] = "periodic",
};

void
kn_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	/* Best effort, as sd_notify: a lost notification is not fatal. */
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

void
kn_daemon_observe_commit(struct kn_daemon_stats *st, double ms)
{
	size_t i;

	for (i = 0; i < KN_LATENCY_BUCKETS && ms > kn_latency_bounds_ms[i]; i++)
		;
	st->latency_counts[i]++;
	st->latency_sum_ms += ms;
}

static void
format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The resync and tampering lines of the status. */
static void
format_resyncs(const struct kn_daemon_stats *st, struct strbuf *out)
{
	uint64_t total = 0;
	char when[64];

	for (int i = 0; i < KN_RESYNC_MAX; i++)
		total += st->resyncs[i];
	strbuf_printf(out, "resyncs: %llu (", (unsigned long long)total);
	for (int i = 0; i < KN_RESYNC_MAX; i++)
		strbuf_printf(out, "%s%s %llu", i ? ", " : "", kn_resync_reason_names[i],
			      (unsigned long long)st->resyncs[i]);
	if (st->resync_interval_s)
		strbuf_printf(out, "); periodic every %lu s\n", st->resync_interval_s);
	else
		strbuf_puts(out, "); no periodic resync\n");
	if (st->tampers == 0) {
		strbuf_puts(out, "tampering: none seen\n");
	} else {
		format_time(st->last_tamper_time, when, sizeof(when));
		strbuf_printf(out, "tampering: %llu change%s by other processes; last %s by %s\n",
			      (unsigned long long)st->tampers, st->tampers == 1 ? "" : "s", when,
			      st->last_tamper);
	}
	if (st->monitor)
		strbuf_printf(out,
			      "monitor: on; %llu notifications read (%llu of our own), %llu "
			      "overruns\n",
			      (unsigned long long)st->monitor_messages,
			      (unsigned long long)st->monitor_own,
			      (unsigned long long)st->monitor_overruns);
	else
		strbuf_puts(out, "monitor: off; only the periodic resync repairs the table\n");
}

/* "api-guard: audit, would drop 12 packets (840 bytes) to the API
 * server, 3 replies (180 bytes)". */
static void
format_guard(const struct kn_daemon_stats *st, struct strbuf *out)
{
	const uint64_t *pk = st->guard.packets, *by = st->guard.bytes;
	enum kn_guard_mode mode = st->guard_mode;

	strbuf_printf(out, "api-guard: %s", kn_guard_mode_name(mode));
	if (mode == KN_GUARD_OFF)
		strbuf_puts(out, "\n");
	else if (!st->guard_counted)
		strbuf_printf(out, ", counters unavailable: %s\n", st->guard_error);
	else {
		char since[32];

		strbuf_printf(out,
			      ", %s %llu packet%s (%llu bytes) to the API server, %llu repl%s "
			      "(%llu bytes)\n",
			      mode == KN_GUARD_ENFORCE ? "dropped" : "would drop",
			      (unsigned long long)pk[KN_GUARD_TO_SERVER],
			      pk[KN_GUARD_TO_SERVER] == 1 ? "" : "s",
			      (unsigned long long)by[KN_GUARD_TO_SERVER],
			      (unsigned long long)pk[KN_GUARD_FROM_SERVER],
			      pk[KN_GUARD_FROM_SERVER] == 1 ? "y" : "ies",
			      (unsigned long long)by[KN_GUARD_FROM_SERVER]);
		/* A full replacement makes the rules, and their counters,
		 * anew. */
		format_time(st->last_full_time, since, sizeof(since));
		strbuf_printf(out, "api-guard counting since: %s (the last full replacement)\n",
			      since);
	}
}

void
kn_daemon_format_status(const struct kn_daemon_stats *st, const char *node, const char *source,
			const char *table, bool synced, struct strbuf *out)
{
	char when[64];

	format_time(st->last_commit_time, when, sizeof(when));
	strbuf_printf(out, "node: %s\n", node);
	strbuf_printf(out, "source: %s\n", source);
	strbuf_printf(out, "table: inet %s\n", table);
	if (st->failing)
		strbuf_printf(out,
			      "state: failing: %llu commit%s in a row refused, next attempt in "
			      "%.1f s%s\n",
			      (unsigned long long)st->failing, st->failing == 1 ? "" : "s",
			      (double)st->retry_in_ms / 1000,
			      synced ? "; the last good ruleset stays in place" : "");
	else
		strbuf_printf(out, "state: %s\n", synced ? "synced" : "waiting for the first sync");
	strbuf_printf(out, "last commit: %s (%.1f ms, %zu messages, %zu bytes)\n", when,
		      st->last_commit_ms, st->last_batch_messages, st->last_batch_bytes);
	strbuf_printf(out, "commits: %llu\nfailures: %llu\n", (unsigned long long)st->commits,
		      (unsigned long long)st->failures);
	strbuf_printf(out, "objects: %zu namespaces, %zu pods, %zu networkpolicies\n",
		      st->objects[KN_KIND_NAMESPACE], st->objects[KN_KIND_POD],
		      st->objects[KN_KIND_NETPOL]);
	strbuf_printf(out, "enforced: %zu local pods, %zu policies, %zu rules, %zu set elements\n",
		      st->local_pods, st->policies, st->rules, st->elements);
	strbuf_printf(out, "source files: %zu (%zu failing), %zu invalid objects skipped\n",
		      st->source_files, st->source_failed_files, st->invalid_objects);
	strbuf_printf(out, "last error: %s\n", st->last_error[0] ? st->last_error : "none");
	format_resyncs(st, out);
	format_guard(st, out);
}

/* The head of one metric: "# HELP name help" and "# TYPE name type". */
static void
metric_head(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one value and no labels. */
static void
metric_one(struct strbuf *out, const char *name, const char *type, const char *help,
	   unsigned long long v)
{
	metric_head(out, name, type, help);
	strbuf_printf(out, "%s %llu\n", name, v);
}

/* The guard's mode, one series per mode (1: the one in force), and its
 * counters when they could be read. */
static void
format_guard_metrics(const struct kn_daemon_stats *st, struct strbuf *out)
{
	static const enum kn_guard_mode modes[] = {KN_GUARD_OFF, KN_GUARD_AUDIT, KN_GUARD_ENFORCE};
	static const char *const help[2] = {
		"Packets of pods without API permissions to the API server and of its replies "
		"to them: dropped (enforce) or that enforce would drop (audit).",
		"Bytes of those packets.",
	};
	static const char *const names[2] = {"kube_nftd_api_guard_packets_total",
					     "kube_nftd_api_guard_bytes_total"};
	enum kn_guard_mode mode =
		st->guard_mode == KN_GUARD_DEFAULT ? KN_GUARD_AUDIT : st->guard_mode;

	metric_head(out, "kube_nftd_api_guard_mode", "gauge",
		    "The API server guard's mode: 1 for the one in force.");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		strbuf_printf(out, "kube_nftd_api_guard_mode{mode=\"%s\"} %d\n",
			      kn_guard_mode_name(modes[i]), modes[i] == mode);
	if (!st->guard_counted || mode == KN_GUARD_OFF)
		return;
	for (int k = 0; k < 2; k++) {
		metric_head(out, names[k], "counter", help[k]);
		for (int dir = 0; dir < KN_GUARD_DIRS; dir++)
			strbuf_printf(out, "%s{direction=\"%s\"} %llu\n", names[k],
				      kn_guard_dir_names[dir],
				      (unsigned long long)(k ? st->guard.bytes[dir]
							     : st->guard.packets[dir]));
	}
}

void
kn_daemon_format_metrics(const struct kn_daemon_stats *st, struct strbuf *out)
{
	uint64_t cum = 0;

	metric_one(out, "kube_nftd_commits_total", "counter",
		   "Transactions committed to the kernel.", st->commits);
	metric_one(out, "kube_nftd_commit_failures_total", "counter",
		   "Transactions the kernel refused or that could not be sent.", st->failures);
	metric_head(out, "kube_nftd_commit_duration_seconds", "histogram",
		    "Compile and commit time.");
	for (size_t i = 0; i < KN_LATENCY_BUCKETS; i++) {
		cum += st->latency_counts[i];
		strbuf_printf(out, "kube_nftd_commit_duration_seconds_bucket{le=\"%g\"} %llu\n",
			      kn_latency_bounds_ms[i] / 1000, (unsigned long long)cum);
	}
	cum += st->latency_counts[KN_LATENCY_BUCKETS];
	strbuf_printf(out, "kube_nftd_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		      (unsigned long long)cum);
	strbuf_printf(out, "kube_nftd_commit_duration_seconds_sum %g\n", st->latency_sum_ms / 1000);
	strbuf_printf(out, "kube_nftd_commit_duration_seconds_count %llu\n",
		      (unsigned long long)cum);
	metric_head(out, "kube_nftd_objects", "gauge", "Objects in the daemon's store.");
	strbuf_printf(out, "kube_nftd_objects{kind=\"Namespace\"} %zu\n",
		      st->objects[KN_KIND_NAMESPACE]);
	strbuf_printf(out, "kube_nftd_objects{kind=\"Pod\"} %zu\n", st->objects[KN_KIND_POD]);
	strbuf_printf(out, "kube_nftd_objects{kind=\"NetworkPolicy\"} %zu\n",
		      st->objects[KN_KIND_NETPOL]);
	metric_one(out, "kube_nftd_local_pods", "gauge", "Pods of this node enforced.",
		   st->local_pods);
	metric_one(out, "kube_nftd_set_elements", "gauge", "Elements in the table's sets and maps.",
		   st->elements);
	metric_one(out, "kube_nftd_last_commit_timestamp_seconds", "gauge",
		   "Time of the last successful commit.", (unsigned long long)st->last_commit_time);
	metric_one(out, "kube_nftd_commits_failing", "gauge",
		   "Failed commits in a row (0: the last one succeeded).", st->failing);
	metric_head(out, "kube_nftd_resyncs_total", "counter",
		    "Full replacements of the table, by why the kernel's state was in doubt.");
	for (int i = 0; i < KN_RESYNC_MAX; i++)
		strbuf_printf(out, "kube_nftd_resyncs_total{reason=\"%s\"} %llu\n",
			      kn_resync_reason_names[i], (unsigned long long)st->resyncs[i]);
	metric_one(out, "kube_nftd_tamper_total", "counter",
		   "Transactions of other processes that changed the table.", st->tampers);
	metric_one(out, "kube_nftd_monitor_overruns_total", "counter",
		   "Times nftables notifications were lost.", st->monitor_overruns);
	format_guard_metrics(st, out);
}

int
kn_daemon_write_metrics(const char *path, const struct kn_daemon_stats *st)
{
	struct strbuf sb;
	char *tmp;
	int fd, r = 0;

	if (!path)
		return 0;
	strbuf_init(&sb, 0);
	kn_daemon_format_metrics(st, &sb);
	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, sb.buf, sb.len) != (ssize_t)sb.len || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	strbuf_free(&sb);
	return r;
}
