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

void
kn_daemon_format_status(const struct kn_daemon_stats *st, const char *node, const char *source,
			const char *table, bool synced, struct strbuf *out)
{
	char when[64] = "never";

	if (st->last_commit_time) {
		struct tm tm;

		gmtime_r(&st->last_commit_time, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	strbuf_printf(out, "node: %s\n", node);
	strbuf_printf(out, "source: %s\n", source);
	strbuf_printf(out, "table: inet %s\n", table);
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
}

void
kn_daemon_format_metrics(const struct kn_daemon_stats *st, struct strbuf *out)
{
	uint64_t cum = 0;

	strbuf_puts(out, "# HELP kube_nftd_commits_total Transactions committed to the kernel.\n"
			 "# TYPE kube_nftd_commits_total counter\n");
	strbuf_printf(out, "kube_nftd_commits_total %llu\n", (unsigned long long)st->commits);
	strbuf_puts(out, "# HELP kube_nftd_commit_failures_total Transactions the kernel refused "
			 "or that could not be sent.\n"
			 "# TYPE kube_nftd_commit_failures_total counter\n");
	strbuf_printf(out, "kube_nftd_commit_failures_total %llu\n",
		      (unsigned long long)st->failures);
	strbuf_puts(out, "# HELP kube_nftd_commit_duration_seconds Compile and commit time.\n"
			 "# TYPE kube_nftd_commit_duration_seconds histogram\n");
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
	strbuf_puts(out, "# HELP kube_nftd_objects Objects in the daemon's store.\n"
			 "# TYPE kube_nftd_objects gauge\n");
	strbuf_printf(out, "kube_nftd_objects{kind=\"Namespace\"} %zu\n",
		      st->objects[KN_KIND_NAMESPACE]);
	strbuf_printf(out, "kube_nftd_objects{kind=\"Pod\"} %zu\n", st->objects[KN_KIND_POD]);
	strbuf_printf(out, "kube_nftd_objects{kind=\"NetworkPolicy\"} %zu\n",
		      st->objects[KN_KIND_NETPOL]);
	strbuf_puts(out, "# HELP kube_nftd_local_pods Pods of this node enforced.\n"
			 "# TYPE kube_nftd_local_pods gauge\n");
	strbuf_printf(out, "kube_nftd_local_pods %zu\n", st->local_pods);
	strbuf_puts(out, "# HELP kube_nftd_set_elements Elements in the table's sets and maps.\n"
			 "# TYPE kube_nftd_set_elements gauge\n");
	strbuf_printf(out, "kube_nftd_set_elements %zu\n", st->elements);
	strbuf_puts(out, "# HELP kube_nftd_last_commit_timestamp_seconds Time of the last "
			 "successful commit.\n"
			 "# TYPE kube_nftd_last_commit_timestamp_seconds gauge\n");
	strbuf_printf(out, "kube_nftd_last_commit_timestamp_seconds %lld\n",
		      (long long)st->last_commit_time);
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
