/* The daemon's building blocks: the epoll loop and its timers, the
 * sd_notify protocol, status and metrics. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atf-c.h>

#include "daemon.h"
#include "evloop.h"

struct tstate {
	struct kn_loop *l;
	int order[8];
	int n;
	int pipe_reads;
};

static void
t1(void *arg)
{
	struct tstate *s = arg;

	s->order[s->n++] = 1;
}

static void
t2(void *arg)
{
	struct tstate *s = arg;

	s->order[s->n++] = 2;
	kn_loop_stop(s->l);
}

ATF_TC_WITHOUT_HEAD(timers_fire_in_order);
ATF_TC_BODY(timers_fire_in_order, tc)
{
	struct tstate s = {0};
	struct kn_timer *a, *b, *c;

	s.l = kn_loop_new();
	ATF_REQUIRE(s.l != NULL);
	a = kn_timer_new(s.l, "a", t1, &s);
	b = kn_timer_new(s.l, "b", t2, &s);
	c = kn_timer_new(s.l, "c", t1, &s);
	ATF_REQUIRE(a && b && c);
	kn_timer_arm(b, 30);
	kn_timer_arm(a, 5);
	kn_timer_arm(c, 10);
	/* Disarmed timers never fire; re-arming moves the deadline. */
	kn_timer_disarm(c);
	ATF_CHECK(!kn_timer_armed(c));
	ATF_CHECK(kn_timer_armed(a));
	ATF_CHECK_EQ(kn_loop_run(s.l), 0);
	ATF_CHECK_EQ(s.n, 2);
	ATF_CHECK_EQ(s.order[0], 1);
	ATF_CHECK_EQ(s.order[1], 2);
	ATF_CHECK(!kn_timer_armed(a));
	kn_timer_free(a);
	kn_timer_free(b);
	kn_timer_free(c);
	kn_loop_free(s.l);
}

static void
on_pipe(void *arg, int fd, uint32_t events)
{
	struct tstate *s = arg;
	char buf[16];

	ATF_CHECK(events & EPOLLIN);
	if (read(fd, buf, sizeof(buf)) > 0)
		s->pipe_reads++;
	/* Removing a slot from inside a callback is safe. */
	kn_loop_del_fd(s->l, fd);
	kn_loop_stop(s->l);
}

ATF_TC_WITHOUT_HEAD(fd_callbacks);
ATF_TC_BODY(fd_callbacks, tc)
{
	struct tstate s = {0};
	int p[2];

	s.l = kn_loop_new();
	ATF_REQUIRE_EQ(pipe2(p, O_NONBLOCK), 0);
	ATF_REQUIRE_EQ(kn_loop_add_fd(s.l, p[0], EPOLLIN, "pipe", on_pipe, &s), 0);
	ATF_CHECK_EQ(kn_loop_add_fd(s.l, p[0], EPOLLIN, "again", on_pipe, &s), -EEXIST);
	ATF_REQUIRE_EQ(write(p[1], "x", 1), 1);
	ATF_CHECK_EQ(kn_loop_run(s.l), 0);
	ATF_CHECK_EQ(s.pipe_reads, 1);
	ATF_CHECK_EQ(kn_loop_mod_fd(s.l, p[0], EPOLLIN), -ENOENT);
	close(p[0]);
	close(p[1]);
	kn_loop_free(s.l);
}

ATF_TC_WITHOUT_HEAD(notify_protocol);
ATF_TC_BODY(notify_protocol, tc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[256], buf[256];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/notify", getcwd(buf, sizeof(buf)));
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	unsetenv("NOTIFY_SOCKET");
	kn_notify("READY=1"); /* no socket: nothing happens */
	setenv("NOTIFY_SOCKET", path, 1);
	kn_notify("READY=1");
	kn_notify("STATUS=enforcing");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ATF_REQUIRE(n > 0);
	buf[n] = '\0';
	ATF_CHECK_STREQ(buf, "READY=1");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ATF_REQUIRE(n > 0);
	buf[n] = '\0';
	ATF_CHECK_STREQ(buf, "STATUS=enforcing");
	close(fd);
}

ATF_TC_WITHOUT_HEAD(metrics);
ATF_TC_BODY(metrics, tc)
{
	struct kn_daemon_stats st;
	struct strbuf sb;
	char buf[8192];
	FILE *f;
	size_t n;

	memset(&st, 0, sizeof(st));
	st.commits = 3;
	st.failures = 1;
	kn_daemon_observe_commit(&st, 0.3);
	kn_daemon_observe_commit(&st, 4);
	kn_daemon_observe_commit(&st, 5000);
	st.objects[KN_KIND_POD] = 7;
	strbuf_init(&sb, 0);
	kn_daemon_format_metrics(&st, &sb);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_commits_total 3\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_commit_failures_total 1\n") != NULL);
	/* Buckets are cumulative. */
	ATF_CHECK(strstr(sb.buf, "_bucket{le=\"0.0005\"} 1\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "_bucket{le=\"0.005\"} 2\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "_bucket{le=\"1\"} 2\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "_bucket{le=\"+Inf\"} 3\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_objects{kind=\"Pod\"} 7\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_tamper_total 0\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_resyncs_total{reason=\"lost-events\"} 0\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_commits_failing 0\n") != NULL);
	strbuf_reset(&sb);
	st.tampers = 2;
	st.resyncs[KN_RESYNC_START] = 1;
	st.resyncs[KN_RESYNC_TAMPER] = 2;
	st.monitor_overruns = 3;
	st.failing = 4;
	kn_daemon_format_metrics(&st, &sb);
	ATF_CHECK(strstr(sb.buf,
			 "# TYPE kube_nftd_tamper_total counter\nkube_nftd_tamper_total 2\n") !=
		  NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_resyncs_total{reason=\"start\"} 1\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_resyncs_total{reason=\"tamper\"} 2\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_resyncs_total{reason=\"periodic\"} 0\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_monitor_overruns_total 3\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_commits_failing 4\n") != NULL);
	ATF_REQUIRE_EQ(kn_daemon_write_metrics("m.prom", &st), 0);
	f = fopen("m.prom", "r");
	ATF_REQUIRE(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ATF_CHECK_STREQ(buf, sb.buf);
	ATF_CHECK(access("m.prom.tmp", F_OK) != 0);
	ATF_CHECK_EQ(kn_daemon_write_metrics("/nonexistent/m.prom", &st), -ENOENT);
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(status);
ATF_TC_BODY(status, tc)
{
	struct kn_daemon_stats st;
	struct strbuf sb;

	memset(&st, 0, sizeof(st));
	strbuf_init(&sb, 0);
	kn_daemon_format_status(&st, "n1", "dir:/m", "kube-nftd", false, &sb);
	ATF_CHECK(strstr(sb.buf, "node: n1\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "state: waiting for the first sync\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "last commit: never") != NULL);
	ATF_CHECK(strstr(sb.buf, "last error: none\n") != NULL);
	strbuf_reset(&sb);
	st.last_commit_time = 86400;
	snprintf(st.last_error, sizeof(st.last_error), "boom");
	kn_daemon_format_status(&st, "n1", "dir:/m", "kube-nftd", true, &sb);
	ATF_CHECK(strstr(sb.buf, "last commit: 1970-01-02T00:00:00Z") != NULL);
	ATF_CHECK(strstr(sb.buf, "last error: boom\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "resyncs: 0 (start 0, reload 0, failure 0, tamper 0, "
				 "lost-events 0, periodic 0); no periodic resync\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "tampering: none seen\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "monitor: off;") != NULL);

	/* Failing commits, tampering, the monitor. */
	strbuf_reset(&sb);
	st.failing = 3;
	st.retry_in_ms = 3500;
	st.resyncs[KN_RESYNC_START] = 1;
	st.resyncs[KN_RESYNC_TAMPER] = 1;
	st.resync_interval_s = 300;
	st.tampers = 1;
	st.last_tamper_time = 2 * 86400;
	snprintf(st.last_tamper, sizeof(st.last_tamper), "nft (pid 12): deleted 4 rules");
	st.monitor = true;
	st.monitor_messages = 40;
	kn_daemon_format_status(&st, "n1", "dir:/m", "kube-nftd", true, &sb);
	ATF_CHECK(strstr(sb.buf,
			 "state: failing: 3 commits in a row refused, next attempt in 3.5 s; "
			 "the last good ruleset stays in place\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "resyncs: 2 (start 1, reload 0, failure 0, tamper 1, "
				 "lost-events 0, periodic 0); periodic every 300 s\n") != NULL);
	ATF_CHECK(strstr(sb.buf,
			 "tampering: 1 change by other processes; last "
			 "1970-01-03T00:00:00Z by nft (pid 12): deleted 4 rules\n") != NULL);
	ATF_CHECK(
		strstr(sb.buf, "monitor: on; 40 notifications read (0 of our own), 0 overruns\n") !=
		NULL);
	strbuf_free(&sb);
}

/* The status (synced) or the metrics of st, anew in sb. */
static const char *
format_of(const struct kn_daemon_stats *st, bool metrics, struct strbuf *sb)
{
	strbuf_reset(sb);
	if (metrics)
		kn_daemon_format_metrics(st, sb);
	else
		kn_daemon_format_status(st, "n1", "dir:/m", "kube-nftd", true, sb);
	return sb->buf;
}

ATF_TC_WITHOUT_HEAD(guard_counters);
ATF_TC_BODY(guard_counters, tc)
{
	struct kn_daemon_stats st = {
		.guard_mode = KN_GUARD_AUDIT,
		.guard_counted = true,
		.guard = {.packets = {12, 3}, .bytes = {840, 180}},
		.last_full_time = 1795942680, /* 2026-11-29T08:58:00Z */
	};
	struct strbuf sb;

	strbuf_init(&sb, 0);
	ATF_CHECK_MSG(
		strstr(format_of(&st, false, &sb),
		       "\napi-guard: audit, would drop 12 packets (840 bytes) to the API server, "
		       "3 replies (180 bytes)\n"
		       "api-guard counting since: 2026-11-29T08:58:00Z (the last full "
		       "replacement)\n") != NULL,
		"%s", sb.buf);
	format_of(&st, true, &sb);
	ATF_CHECK(strstr(sb.buf, "# TYPE kube_nftd_api_guard_mode gauge\n"
				 "kube_nftd_api_guard_mode{mode=\"off\"} 0\n"
				 "kube_nftd_api_guard_mode{mode=\"audit\"} 1\n"
				 "kube_nftd_api_guard_mode{mode=\"enforce\"} 0\n") != NULL);
	ATF_CHECK(strstr(sb.buf,
			 "# TYPE kube_nftd_api_guard_packets_total counter\n"
			 "kube_nftd_api_guard_packets_total{direction=\"to_server\"} 12\n"
			 "kube_nftd_api_guard_packets_total{direction=\"from_server\"} 3\n") !=
		  NULL);
	ATF_CHECK(strstr(sb.buf,
			 "# TYPE kube_nftd_api_guard_bytes_total counter\n"
			 "kube_nftd_api_guard_bytes_total{direction=\"to_server\"} 840\n"
			 "kube_nftd_api_guard_bytes_total{direction=\"from_server\"} 180\n") !=
		  NULL);

	/* Enforce: dropped; one of each. */
	st.guard_mode = KN_GUARD_ENFORCE;
	st.guard.packets[KN_GUARD_TO_SERVER] = 1;
	st.guard.packets[KN_GUARD_FROM_SERVER] = 1;
	ATF_CHECK_MSG(
		strstr(format_of(&st, false, &sb),
		       "\napi-guard: enforce, dropped 1 packet (840 bytes) to the API server, "
		       "1 reply (180 bytes)\n") != NULL,
		"%s", sb.buf);

	/* Counters that could not be read: the status says why, the
	 * metrics leave them out but keep the mode. */
	st.guard_counted = false;
	snprintf(st.guard_error, sizeof(st.guard_error), "listing chain api-guard: boom");
	ATF_CHECK_MSG(strstr(format_of(&st, false, &sb),
			     "\napi-guard: enforce, counters unavailable: listing chain api-guard: "
			     "boom\n") != NULL,
		      "%s", sb.buf);
	format_of(&st, true, &sb);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_api_guard_mode{mode=\"enforce\"} 1\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_api_guard_packets_total") == NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_api_guard_bytes_total") == NULL);

	/* Off: no counters at all. */
	st.guard_mode = KN_GUARD_OFF;
	st.guard_counted = true;
	ATF_CHECK_MSG(strstr(format_of(&st, false, &sb), "\napi-guard: off\n") != NULL, "%s",
		      sb.buf);
	format_of(&st, true, &sb);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_api_guard_mode{mode=\"off\"} 1\n") != NULL);
	ATF_CHECK(strstr(sb.buf, "kube_nftd_api_guard_packets_total") == NULL);
	strbuf_free(&sb);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, timers_fire_in_order);
	ATF_TP_ADD_TC(tp, fd_callbacks);
	ATF_TP_ADD_TC(tp, notify_protocol);
	ATF_TP_ADD_TC(tp, metrics);
	ATF_TP_ADD_TC(tp, status);
	ATF_TP_ADD_TC(tp, guard_counters);
	return atf_no_error();
}
