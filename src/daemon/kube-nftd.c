/* kube-nftd: the per-node NetworkPolicy enforcer.
 *
 * One thread, one epoll loop.  Sources change the store; a change arms a
 * short debounce timer (bounded by a maximum delay, so a steady stream
 * of events cannot postpone enforcement forever); when it fires the
 * store is compiled and committed in one transaction.  A failed commit
 * leaves the kernel's previous ruleset in place and is retried with
 * exponential backoff as a full resync.
 *
 * The netlink monitor (nft_monitor.h) reports other processes' changes
 * to the table; they, lost notifications, and a periodic timer all make
 * the kernel's state unknown, and the next commit (after the debounce)
 * replaces the whole table.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"
#include "daemon.h"
#include "dirsrc.h"
#include "evloop.h"
#include "kubeconf.h" /* kube source */
#include "kubesrc.h"  /* kube source */
#include "log.h"
#include "netpol.h"
#include "nft_monitor.h"
#include "nft_netlink.h"
#include "store.h"
#include "util.h"

#ifndef KN_SYSCONFDIR
#define KN_SYSCONFDIR "/etc"
#endif

#define DEFAULT_CONFIG KN_SYSCONFDIR "/kube-nftd/kube-nftd.conf"
#define DEFAULT_SOURCE "dir:" KN_SYSCONFDIR "/kube-nftd/manifests"
/* /run whatever the prefix: systemd creates RuntimeDirectory there. */
#define DEFAULT_CONTROL	 "/run/kube-nftd/control"
#define DEFAULT_DEBOUNCE 10
#define DEFAULT_MAXDELAY 100
/* Retry backoff after a failed commit: from 1 s doubling to 30 s. */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
/* Kernels before 6.2: chains that map elements pointed at are deleted by
 * the commit after the one that emptied them (kn_nl_commit), a second
 * later at most, as kube-proxy waits. */
#define DEFERRED_DELETE_MS 1000
/* The periodic full resync, a safety net under the monitor: every 5
 * minutes by default (a full load of a 10k-pod node takes some 40 ms),
 * at most once a day. */
#define DEFAULT_RESYNC_S 300
#define RESYNC_MAX_S	 86400
/* Tampering warnings: at most this many a minute, so that a process that
 * fights over the table cannot flood the journal; the rest go to debug,
 * and every change still counts in the status and the metrics. */
#define TAMPER_WARN_PER_MIN 10
/* The metrics file is written after each commit, and this often in
 * between: the API server guard's counters change with traffic. */
#define METRICS_INTERVAL_MS 15000

static const char usage_text[] =
	"Usage: kube-nftd [OPTIONS]\n"
	"\n"
	"Enforce Kubernetes NetworkPolicies on this node with nftables.\n"
	"\n"
	"Options (also settable in the configuration file, without the dashes):\n"
	"  -c, --config FILE         configuration file (default " DEFAULT_CONFIG ")\n"
	"  -n, --node NAME           this node's name (default: the host name)\n"
	"  -s, --source SOURCE       where objects come from: dir:PATH, or kube (the\n"
	"                            Kubernetes API); default kube in a pod or with a\n"
	"                            kubeconfig, else " DEFAULT_SOURCE "\n"
	"      --kubeconfig FILE     source kube: the API server and credentials\n"
	"                            (default: in-cluster, else $KUBECONFIG)\n"
	"      --context NAME        source kube: the kubeconfig context (default: current)\n"
	"  -t, --table NAME          name of the inet table (default kube-nftd)\n"
	"      --debounce-ms N       wait N ms for more events before committing (default 10)\n"
	"      --max-delay-ms N      commit at most N ms after the first pending event\n"
	"                            (default 100)\n"
	"      --control-socket PATH status socket (default " DEFAULT_CONTROL ")\n"
	"      --metrics-file PATH   write Prometheus metrics to PATH after each commit\n"
	"                            and every 15 s\n"
	"      --cleanup-on-exit     remove the table when exiting (default: keep it)\n"
	"      --resync-interval S   replace the whole table every S seconds (default 300;\n"
	"                            0: never)\n"
	"      --api-guard MODE      API server guard: off, audit (default) or enforce\n"
	"      --api-server ADDR[:PORT]  another API server address (repeatable)\n"
	"  -v, --verbose             debug messages\n"
	"  -h, --help                show this help\n"
	"  -V, --version             show the version\n"
	"\n"
	"Signals: SIGHUP reloads the configuration and resyncs; SIGTERM and SIGINT exit,\n"
	"leaving the ruleset in place.\n";

struct config {
	char *node;
	char *source;
	char *table;
	char *control;
	char *metrics;
	long debounce_ms;
	long max_delay_ms;
	long resync_s;
	bool cleanup;
	int verbose;
	char *kubeconfig, *context;   /* kube source */
	enum kn_guard_mode api_guard; /* KN_GUARD_DEFAULT: not set */
	struct kn_guard_addr *api_servers;
	size_t napi_servers;
};

struct daemon {
	struct config cfg;
	const char *config_path;
	struct config cli; /* what the command line set; wins over the file */
	struct kn_loop *loop;
	struct kn_store *store;
	struct kn_dirsrc *dir;
	/* NULL with a dir: source */
	struct kn_kubesrc *kube;
	uint64_t start_ms;
	struct kn_nl *nl;
	struct kn_mon *mon; /* NULL: the monitor could not be opened */
	struct kn_timer *debounce, *retry, *watchdog, *resync, *metrics;
	int sigfd, ctlfd;
	uint64_t first_pending_ms; /* 0: nothing pending */
	uint64_t backoff_ms;
	uint64_t retry_due_ms; /* when the retry timer fires */
	bool synced, full_resync;
	enum kn_resync_reason resync_why; /* with full_resync: the first reason */
	/* Tampering, lost notifications: warned about since the last good
	 * commit (once per incident); warnings in the current minute. */
	bool tamper_warned, lost_warned;
	uint64_t warn_minute;
	unsigned warn_count;
	struct kn_daemon_stats st;
	uint64_t watchdog_usec;
	/* The incremental compiler: its program is what the kernel holds
	 * when committed is true (the last commit succeeded).  A commit
	 * brings it up to date with the store's changes and sends only what
	 * changed (kn_nl_commit_delta), unless full_resync; the guard looks
	 * at the same changes to find the pods that lose access.  The
	 * program is never listed back from the kernel. */
	struct kn_compiler *cc;
	bool committed;
};

static void
config_free(struct config *c)
{
	free(c->node);
	free(c->source);
	free(c->table);
	free(c->control);
	free(c->metrics);
	free(c->kubeconfig);  /* kube source */
	free(c->context);     /* kube source */
	free(c->api_servers); /* api-guard */
	memset(c, 0, sizeof(*c));
}

/* "api-server = ADDR[:PORT][, ...]" adds addresses; the
 * list is bounded like kube-nftctl's (a few load balancers). */
#define API_SERVERS_MAX 64

static int
config_api_servers(struct config *c, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *save = NULL;
	int r = 0;

	for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		struct kn_guard_addr a;

		if (kn_guard_addr_parse(tok, &a) < 0) {
			snprintf(err, errlen,
				 "api-server: '%s' is not ADDR, ADDR:PORT or [ADDR]:PORT", tok);
			r = -EINVAL;
			break;
		}
		if (c->napi_servers == API_SERVERS_MAX) {
			snprintf(err, errlen, "api-server: at most %d addresses", API_SERVERS_MAX);
			r = -EINVAL;
			break;
		}
		c->api_servers =
			xreallocarray(c->api_servers, c->napi_servers + 1, sizeof(*c->api_servers));
		c->api_servers[c->napi_servers++] = a;
	}
	free(copy);
	return r;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* Parses an integer option from 0 to max; -EINVAL when it is not one. */
static int
parse_long(const char *v, long max, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > max)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* Applies "name = value" to c.  Used by the config file and (through
 * the long option names) the command line, so both share names. */
static int
config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
	if (strcmp(name, "node") == 0)
		set_str(&c->node, value);
	else if (strcmp(name, "source") == 0)
		set_str(&c->source, value);
	else if (strcmp(name, "table") == 0)
		set_str(&c->table, value);
	else if (strcmp(name, "control-socket") == 0)
		set_str(&c->control, value);
	else if (strcmp(name, "metrics-file") == 0)
		set_str(&c->metrics, value);
	else if (strcmp(name, "kubeconfig") == 0) /* kube source */
		set_str(&c->kubeconfig, value);
	else if (strcmp(name, "context") == 0) /* kube source */
		set_str(&c->context, value);
	else if (strcmp(name, "debounce-ms") == 0 || strcmp(name, "max-delay-ms") == 0) {
		long *dst = name[0] == 'd' ? &c->debounce_ms : &c->max_delay_ms;

		if (parse_long(value, 60000, dst) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a number of milliseconds (0-60000)",
				 name, value);
			return -EINVAL;
		}
	} else if (strcmp(name, "resync-interval") == 0) {
		if (parse_long(value, RESYNC_MAX_S, &c->resync_s) < 0) {
			snprintf(err, errlen, "%s: '%s' is not a number of seconds (0-%d)", name,
				 value, RESYNC_MAX_S);
			return -EINVAL;
		}
	} else if (strcmp(name, "cleanup-on-exit") == 0) {
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0)
			c->cleanup = true;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0)
			c->cleanup = false;
		else {
			snprintf(err, errlen, "%s: '%s' is not yes or no", name, value);
			return -EINVAL;
		}
	} else if (strcmp(name, "verbose") == 0) {
		c->verbose = strcmp(value, "yes") == 0 || strcmp(value, "true") == 0;
	} else if (strcmp(name, "api-guard") == 0) {
		if (kn_guard_mode_parse(value, &c->api_guard) < 0) {
			snprintf(err, errlen, "%s: '%s' is not off, audit or enforce", name, value);
			return -EINVAL;
		}
	} else if (strcmp(name, "api-server") == 0) {
		return config_api_servers(c, value, err, errlen);
	} else {
		snprintf(err, errlen, "unknown setting '%s'", name);
		return -EINVAL;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Reads the config file into c.  A missing file is fine when it is the
 * default one.  Returns 0 or -errno (logged). */
static int
config_load(const char *path, bool must_exist, struct config *c)
{
	FILE *f = fopen(path, "r");
	char line[4096], err[256];
	int lineno = 0, r = 0;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		log_err("%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			log_err("%s:%d: expected 'name = value'", path, lineno);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		if (config_set(c, trim(s), trim(eq + 1), err, sizeof(err)) < 0) {
			log_err("%s:%d: %s", path, lineno, err);
			r = -EINVAL;
			break;
		}
	}
	fclose(f);
	return r;
}

/* The command line wins over the file, which wins over the default. */
static void
pick(char **dst, const char *cli, const char *def)
{
	if (cli)
		set_str(dst, cli);
	else if (!*dst && def)
		*dst = xstrdup(def);
}

/* Merges defaults, the file and the command line (which wins). */
static int
config_build(struct daemon *d, struct config *out)
{
	char host[HOST_NAME_MAX + 1];

	memset(out, 0, sizeof(*out));
	out->debounce_ms = -1;
	out->max_delay_ms = -1;
	out->resync_s = -1;
	if (config_load(d->config_path ? d->config_path : DEFAULT_CONFIG, d->config_path != NULL,
			out) < 0) {
		config_free(out);
		return -EINVAL;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	pick(&out->node, d->cli.node, host[0] ? host : NULL);
	/* The default source is the API server in a pod
	 * (the DaemonSet) or when a kubeconfig is configured; the manifest
	 * folder otherwise (a bare-metal or GitOps node) */
	pick(&out->kubeconfig, d->cli.kubeconfig, NULL);
	pick(&out->context, d->cli.context, NULL);
	pick(&out->source, d->cli.source,
	     out->kubeconfig || getenv("KUBERNETES_SERVICE_HOST") ? "kube" : DEFAULT_SOURCE);
	pick(&out->table, d->cli.table, KN_TABLE_NAME);
	pick(&out->control, d->cli.control, DEFAULT_CONTROL);
	pick(&out->metrics, d->cli.metrics, NULL);
	if (d->cli.debounce_ms >= 0)
		out->debounce_ms = d->cli.debounce_ms;
	if (out->debounce_ms < 0)
		out->debounce_ms = DEFAULT_DEBOUNCE;
	if (d->cli.max_delay_ms >= 0)
		out->max_delay_ms = d->cli.max_delay_ms;
	if (out->max_delay_ms < 0)
		out->max_delay_ms = DEFAULT_MAXDELAY;
	if (out->max_delay_ms < out->debounce_ms)
		out->max_delay_ms = out->debounce_ms;
	if (d->cli.resync_s >= 0)
		out->resync_s = d->cli.resync_s;
	if (out->resync_s < 0)
		out->resync_s = DEFAULT_RESYNC_S;
	out->cleanup = out->cleanup || d->cli.cleanup;
	out->verbose = out->verbose || d->cli.verbose;
	/* The command line wins, addresses as a whole */
	if (d->cli.api_guard != KN_GUARD_DEFAULT)
		out->api_guard = d->cli.api_guard;
	if (d->cli.napi_servers) {
		free(out->api_servers);
		out->api_servers =
			xreallocarray(NULL, d->cli.napi_servers, sizeof(*out->api_servers));
		memcpy(out->api_servers, d->cli.api_servers,
		       d->cli.napi_servers * sizeof(*out->api_servers));
		out->napi_servers = d->cli.napi_servers;
	}
	if (!out->node) {
		log_err("cannot determine the host name; set node");
		config_free(out);
		return -EINVAL;
	}
	if (strncmp(out->source, "dir:", 4) != 0 && strcmp(out->source, "kube") != 0) {
		log_err("source '%s': expected dir:PATH or kube", out->source);
		config_free(out);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------ commit */

static void
update_status(struct daemon *d)
{
	char status[256];

	if (!d->synced)
		snprintf(status, sizeof(status), "STATUS=waiting for the first sync%s",
			 d->st.last_error[0] ? " (last commit failed)" : "");
	else if (d->st.failing)
		snprintf(status, sizeof(status),
			 "STATUS=enforcing the last good ruleset; %llu commits in a row refused, "
			 "retrying",
			 (unsigned long long)d->st.failing);
	else
		snprintf(status, sizeof(status),
			 "STATUS=enforcing %zu pods, %zu policies; %llu commits, last %.1f ms",
			 d->st.local_pods, d->st.policies, (unsigned long long)d->st.commits,
			 d->st.last_commit_ms);
	kn_notify(status);
}

static void commit_now(struct daemon *d);
static void count_objects(struct daemon *d);
static void stats_refresh(struct daemon *d);
static void metrics_write(struct daemon *d);

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
debounce_fired(void *arg)
{
	commit_now(arg);
}

/* The kernel's state is not known for sure: the next commit replaces the
 * whole table.  The first reason since the last good commit counts. */
static void
resync_needed(struct daemon *d, enum kn_resync_reason why)
{
	if (!d->full_resync)
		d->resync_why = why;
	d->full_resync = true;
}

static void
retry_fired(void *arg)
{
	struct daemon *d = arg;

	resync_needed(d, KN_RESYNC_FAILURE);
	commit_now(d);
}

/* A change in the store: commit after the debounce, but never later
 * than max_delay after the first pending change. */
static void
schedule(struct daemon *d)
{
	uint64_t now = kn_now_ms(), wait = (uint64_t)d->cfg.debounce_ms;

	if (kn_timer_armed(d->retry))
		return; /* the retry will commit the latest state */
	if (!d->first_pending_ms)
		d->first_pending_ms = now;
	if (now + wait > d->first_pending_ms + (uint64_t)d->cfg.max_delay_ms)
		wait = d->first_pending_ms + (uint64_t)d->cfg.max_delay_ms > now
			       ? d->first_pending_ms + (uint64_t)d->cfg.max_delay_ms - now
			       : 0;
	kn_timer_arm(d->debounce, wait);
}

/* The periodic resync: a safety net for what the monitor cannot see (it
 * could not be opened, or a kernel that does not notify a change). */
static void
resync_fired(void *arg)
{
	struct daemon *d = arg;

	log_debug("periodic resync: replacing table inet %s", d->cfg.table);
	resync_needed(d, KN_RESYNC_PERIODIC);
	schedule(d);
}

/* Words for the commit log line: why the table was replaced. */
static const char *
resync_words(enum kn_resync_reason why)
{
	switch (why) {
	case KN_RESYNC_RELOAD:
		return ", on SIGHUP";
	case KN_RESYNC_FAILURE:
		return ", after a failed commit";
	case KN_RESYNC_TAMPER:
		return ", restored after another process changed it";
	case KN_RESYNC_LOST:
		return ", after lost notifications";
	case KN_RESYNC_PERIODIC:
		return ", periodic resync";
	default:
		return "";
	}
}

/* After a commit, deletes the conntrack entries of pods
 * that the new program denies the API server and the old one did not, so
 * that a watch opened while they had access ends now.  A failure leaves
 * the ruleset committed (the guard drops their packets anyway) and is
 * logged; the next revocation tries again for the pods it revokes. */
static void
guard_revoke(const struct kn_program *old, const struct kn_program *new,
	     const struct kn_delta *delta)
{
	struct kn_guard_revocation rv;
	struct kn_ct_stats cst;
	struct kn_err err;
	size_t n =
		delta ? kn_guard_revoked_delta(new, delta, &rv) : kn_guard_revoked(old, new, &rv);

	if (n > 0) {
		if (kn_ct_revoke(&rv, &cst, &err) < 0)
			log_warn(
				"api-guard: %zu pod%s lost access, open connections may remain: %s",
				rv.nsrcs, rv.nsrcs == 1 ? "" : "s", err.msg);
		else
			log_info("api-guard: %zu pod address%s lost access to the API server; "
				 "%zu open connection%s cut",
				 rv.nsrcs, rv.nsrcs == 1 ? "" : "es", cst.deleted,
				 cst.deleted == 1 ? "" : "s");
	}
	kn_guard_revocation_free(&rv);
}

static void
commit_now(struct daemon *d)
{
	struct kn_compile_opts copts = {.node = d->cfg.node, .table = d->cfg.table};
	struct kn_compile_stats cst;
	struct kn_nl_stats nst;
	const struct kn_program *p;
	struct kn_err err;
	double t0 = now_ms(), ms;
	struct timespec rt0, rt1; /* realtime, for the benchmarks (-v) */
	enum kn_resync_reason why;
	bool full;
	int r;

	/* A half-listed cluster must not open or close traffic: nothing is
	 * committed before the source has listed every resource once (it
	 * calls schedule() then). */
	if (d->kube && !kn_kubesrc_synced(d->kube)) {
		kn_timer_disarm(d->debounce);
		d->first_pending_ms = 0;
		return;
	}
	copts.guard = d->cfg.api_guard;
	copts.guard_servers = d->cfg.api_servers;
	copts.nguard_servers = d->cfg.napi_servers;
	kn_timer_disarm(d->debounce);
	d->first_pending_ms = 0;
	clock_gettime(CLOCK_REALTIME, &rt0);
	/* A full compile and a full replacement when the kernel's state is
	 * not known for sure (resync_needed); otherwise only what changed
	 * since the last commit is compiled and sent. */
	full = d->full_resync || !d->cc;
	why = d->resync_why;
	if (full) {
		struct kn_compiler *cc = kn_compiler_new(d->store, &copts, &cst);

		p = kn_compiler_program(cc);
		r = kn_nl_apply(d->nl, p, &err);
		/* Pods that lost API access lose their open connections:
		 * compared with the program committed last, or, when the
		 * kernel's is unknown, every pod the guard denies. */
		if (r == 0)
			guard_revoke(d->cc && d->committed ? kn_compiler_program(d->cc) : NULL, p,
				     NULL);
		kn_compiler_free(d->cc);
		d->cc = cc;
	} else {
		const struct kn_delta *delta = kn_compiler_update(d->cc, &cst);

		p = kn_compiler_program(d->cc);
		r = kn_nl_commit_delta(d->nl, p, delta, &err);
		if (r == 0)
			guard_revoke(NULL, p, delta);
	}
	clock_gettime(CLOCK_REALTIME, &rt1);
	d->committed = r == 0;
	if (r < 0)
		resync_needed(d, KN_RESYNC_FAILURE);
	ms = now_ms() - t0;
	if (r < 0) {
		d->st.failures++;
		d->st.failing++;
		snprintf(d->st.last_error, sizeof(d->st.last_error), "%s", err.msg);
		d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : BACKOFF_MIN_MS;
		if (d->backoff_ms > BACKOFF_MAX_MS)
			d->backoff_ms = BACKOFF_MAX_MS;
		log_err("commit failed: %s; the previous ruleset stays in place, retrying in %llu "
			"ms",
			err.msg, (unsigned long long)d->backoff_ms);
		kn_timer_arm(d->retry, d->backoff_ms);
		d->retry_due_ms = kn_now_ms() + d->backoff_ms;
		update_status(d);
		metrics_write(d);
		return;
	}
	kn_nl_get_stats(d->nl, &nst);
	if (d->st.failing)
		log_notice("commit succeeded after %llu failed attempt%s",
			   (unsigned long long)d->st.failing, d->st.failing == 1 ? "" : "s");
	d->st.failing = 0;
	/* A commit that succeeded while a retry was pending (a SIGHUP)
	 * ends the backoff: the retry would hold every change back and
	 * replace the table once more. */
	kn_timer_disarm(d->retry);
	d->backoff_ms = 0;
	d->full_resync = false;
	d->tamper_warned = d->lost_warned = false;
	if (full) {
		d->st.resyncs[why]++;
		d->st.last_full_time = time(NULL);
		/* The next periodic resync counts from this one. */
		if (d->cfg.resync_s > 0)
			kn_timer_arm(d->resync, (uint64_t)d->cfg.resync_s * 1000);
		else
			kn_timer_disarm(d->resync);
	}
	d->st.commits++;
	d->st.last_commit_ms = ms;
	d->st.last_commit_time = time(NULL);
	d->st.last_error[0] = '\0';
	d->st.local_pods = cst.local_pods;
	d->st.policies = cst.policies;
	d->st.elements = cst.elements;
	d->st.rules = cst.rules;
	d->st.last_batch_messages = nst.messages;
	d->st.last_batch_bytes = nst.bytes;
	kn_daemon_observe_commit(&d->st, ms);
	/* A commit of their own for chains left for later */
	if (nst.plan.deferred > 0 && !kn_timer_armed(d->debounce))
		kn_timer_arm(d->debounce, DEFERRED_DELETE_MS);
	count_objects(d);
	log_info("committed table inet %s: %zu local pods, %zu policies, %zu elements, "
		 "%zu messages (%s), %.1f ms%s",
		 d->cfg.table, cst.local_pods, cst.policies, cst.elements, nst.messages,
		 nst.incremental ? "changes only" : "full", ms, full ? resync_words(why) : "");
	log_debug("commit started at %lld.%06ld, acknowledged at %lld.%06ld (realtime)",
		  (long long)rt0.tv_sec, rt0.tv_nsec / 1000, (long long)rt1.tv_sec,
		  rt1.tv_nsec / 1000);
	if (!d->synced) {
		d->synced = true;
		/* kube source: the time to first enforcement, for benchmarks */
		log_info("first commit %llu ms after start%s",
			 (unsigned long long)(kn_now_ms() - d->start_ms),
			 d->kube ? " (every API resource listed first)" : "");
		kn_notify("READY=1");
	}
	update_status(d);
	metrics_write(d);
}

/* ------------------------------------------------------------ sources */

static void
dir_report(void *arg, int level, const char *msg)
{
	(void)arg;
	log_msg((enum log_level)level, "%s", msg);
}

static void
dir_event(void *arg, int fd, uint32_t events)
{
	struct daemon *d = arg;

	(void)fd;
	(void)events;
	if (kn_dirsrc_dispatch(d->dir) > 0)
		schedule(d);
}

static void
count_objects(struct daemon *d)
{
	struct kn_namespace *const *n;
	struct kn_pod *const *p;
	struct kn_netpol *const *np;

	d->st.objects[KN_KIND_NAMESPACE] = kn_store_namespaces(d->store, &n);
	d->st.objects[KN_KIND_POD] = kn_store_pods(d->store, &p);
	d->st.objects[KN_KIND_NETPOL] = kn_store_netpols(d->store, &np);
}

static void
kube_report(void *arg, int level, const char *msg)
{
	(void)arg;
	log_msg((enum log_level)level, "%s", msg);
}

static void
kube_changed(void *arg)
{
	schedule(arg);
}

/* Where the API server is: --kubeconfig, else the pod's in-cluster
 * configuration, else the first file of $KUBECONFIG (kubectl merges
 * several; a daemon should name one). */
static int
kube_conf(struct daemon *d, struct kn_kubeconf *c)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *env = getenv("KUBECONFIG");
	/* Test setups point this at their own token and CA. */
	const char *sadir = getenv("KUBE_NFTD_SERVICEACCOUNT_DIR");
	struct kn_err err;
	char *first;
	int r;

	if (d->cfg.kubeconfig)
		r = kn_kubeconf_load(d->cfg.kubeconfig, d->cfg.context, c, &err);
	else if (host && *host)
		r = kn_kubeconf_incluster(host, getenv("KUBERNETES_SERVICE_PORT"),
					  sadir ? sadir : KN_SERVICEACCOUNT_DIR, c, &err);
	else if (env && *env) {
		first = xstrndup(env, strcspn(env, ":"));
		r = kn_kubeconf_load(first, d->cfg.context, c, &err);
		free(first);
	} else {
		snprintf(err.msg, sizeof(err.msg),
			 "no kubeconfig (--kubeconfig or $KUBECONFIG) and not in a pod "
			 "(KUBERNETES_SERVICE_HOST is not set)");
		r = -ENOENT;
	}
	if (r < 0) {
		log_err("source kube: %s", err.msg);
		return r;
	}
	if (c->insecure)
		log_warn("source kube: TLS verification of the API server %s is disabled "
			 "(insecure-skip-tls-verify in %s)",
			 c->server, c->origin);
	else if (strncmp(c->server, "http://", 7) == 0)
		log_warn("source kube: %s is plain HTTP: the cluster's state is not authenticated",
			 c->server);
	return 0;
}

static int
open_kube(struct daemon *d)
{
	/* Hidden, for tests that cannot wait minutes: short watches and
	 * backoffs (see kn_kubesrc_parse_tuning). */
	const char *tuning = getenv("KUBE_NFTD_KUBE_TUNING");
	struct kn_kubesrc_opts o;
	struct kn_kubeconf c;
	char err[128];
	int r;

	kn_kubesrc_default_opts(&o);
	if (tuning && kn_kubesrc_parse_tuning(tuning, &o, err, sizeof(err)) < 0) {
		log_err("KUBE_NFTD_KUBE_TUNING: %s", err);
		return -EINVAL;
	}
	/* Without the guard, the RBAC objects, the Service and its
	 * EndpointSlices are not needed: do not ask for the permission. */
	if (d->cfg.api_guard == KN_GUARD_OFF)
		o.kinds = 1u << KN_KIND_NAMESPACE | 1u << KN_KIND_POD | 1u << KN_KIND_NETPOL;
	if ((r = kube_conf(d, &c)) < 0)
		return r;
	log_info("source kube: API server %s (%s)", c.server, c.origin);
	r = kn_kubesrc_open(d->loop, d->store, &c, &o, kube_report, kube_changed, d, &d->kube);
	kn_kubeconf_free(&c);
	if (r < 0)
		log_err("source kube: %s", strerror(-r));
	return r;
}

static int
open_source(struct daemon *d)
{
	const char *path = d->cfg.source + 4;
	int r;

	if (strcmp(d->cfg.source, "kube") == 0) /* kube source */
		return open_kube(d);
	r = kn_dirsrc_open(path, d->store, dir_report, d, &d->dir);
	if (r < 0) {
		log_err("source %s: %s", d->cfg.source, strerror(-r));
		return r;
	}
	r = kn_loop_add_fd(d->loop, kn_dirsrc_fd(d->dir), EPOLLIN, "inotify", dir_event, d);
	if (r < 0) {
		log_err("epoll: %s", strerror(-r));
		return r;
	}
	kn_dirsrc_rescan(d->dir);
	return 0;
}

/* ------------------------------------------------------------ monitor */

/* Whether one more warning fits in this minute's budget
 * (TAMPER_WARN_PER_MIN); the last one that fits says so. */
static bool
warn_allowed(struct daemon *d, bool *ret_last)
{
	uint64_t minute = kn_now_ms() / 60000;

	if (minute != d->warn_minute) {
		d->warn_minute = minute;
		d->warn_count = 0;
	}
	if (d->warn_count >= TAMPER_WARN_PER_MIN)
		return false;
	*ret_last = ++d->warn_count == TAMPER_WARN_PER_MIN;
	return true;
}

/* Another process changed the table: say who and what, once until the
 * table is back, and replace the whole table after the debounce.  An
 * operator's `kube-nftctl apply` is such a change too: the daemon owns
 * the table while it runs. */
static void
tamper_seen(void *arg, const struct kn_mon_change *c)
{
	struct daemon *d = arg;
	char who[96], what[160];
	bool last = false;

	kn_mon_who(c, who, sizeof(who));
	kn_mon_describe(c, what, sizeof(what));
	d->st.tampers++;
	d->st.last_tamper_time = time(NULL);
	snprintf(d->st.last_tamper, sizeof(d->st.last_tamper), "%s: %s", who, what);
	if (!d->tamper_warned && warn_allowed(d, &last))
		log_warn("table inet %s was changed by another process, %s: %s; replacing the "
			 "whole table%s",
			 d->cfg.table, who, what,
			 last ? " (more such warnings this minute are logged at debug level)" : "");
	else
		log_debug("table inet %s changed again by %s: %s", d->cfg.table, who, what);
	d->tamper_warned = true;
	resync_needed(d, KN_RESYNC_TAMPER);
	schedule(d);
}

static void
monitor_event(void *arg, int fd, uint32_t events)
{
	struct daemon *d = arg;
	struct kn_mon_stats ms;
	bool last = false;
	int r;

	(void)fd;
	(void)events;
	r = kn_mon_read(d->mon, tamper_seen, d);
	if (r == 0)
		return;
	/* Lost notifications may have been anyone's: what the kernel holds
	 * is unknown, so the table is replaced, as after tampering. */
	kn_mon_get_stats(d->mon, &ms);
	if (d->lost_warned || !warn_allowed(d, &last))
		log_debug("netlink monitor: %s", strerror(-r));
	else if (r == -ENOBUFS)
		log_warn("netlink monitor: nftables notifications were lost (receive buffer "
			 "overrun, now %d KiB); replacing the whole table to be safe%s",
			 ms.rcvbuf / 1024,
			 last ? " (more such warnings this minute are logged at debug level)" : "");
	else
		log_err("netlink monitor: %s; replacing the whole table to be safe", strerror(-r));
	d->lost_warned = true;
	resync_needed(d, KN_RESYNC_LOST);
	schedule(d);
}

/* Subscribes to the kernel's nftables notifications.  Without them the
 * daemon still enforces; only the periodic resync then repairs a table
 * that others change, so this is a warning, not a reason to leave the
 * node unprotected. */
static void
open_monitor(struct daemon *d)
{
	struct kn_mon_stats ms;
	struct kn_err err;
	int r;

	d->mon = kn_mon_open(d->cfg.table, kn_nl_portid(d->nl), &err);
	if (d->mon != NULL && (r = kn_loop_add_fd(d->loop, kn_mon_fd(d->mon), EPOLLIN, "monitor",
						  monitor_event, d)) < 0) {
		kn_errf(&err, r, "netlink monitor: epoll: %s", strerror(-r));
		kn_mon_close(d->mon);
		d->mon = NULL;
	}
	if (d->mon == NULL) {
		log_warn("%s; changes to the table by other processes are repaired by the "
			 "periodic resync only",
			 err.msg);
		return;
	}
	d->st.monitor = true;
	kn_mon_get_stats(d->mon, &ms);
	log_debug("netlink monitor: receive buffer %d KiB, own notifications %s", ms.rcvbuf / 1024,
		  ms.filtered ? "dropped by a socket filter" : "told apart when read");
}

/* ------------------------------------------------------------ signals */

static void
reload(struct daemon *d)
{
	struct config c;

	log_notice("SIGHUP: reloading the configuration and resyncing");
	kn_notify("RELOADING=1");
	if (config_build(d, &c) < 0) {
		log_err("configuration not reloaded; keeping the current one");
	} else {
		if (strcmp(c.source, d->cfg.source) != 0)
			log_warn("source changes need a restart; keeping %s", d->cfg.source);
		set_str(&c.source, d->cfg.source);
		/* kube source: the connection is set up once, like the source */
		free(c.kubeconfig);
		c.kubeconfig = d->cfg.kubeconfig ? xstrdup(d->cfg.kubeconfig) : NULL;
		free(c.context);
		c.context = d->cfg.context ? xstrdup(d->cfg.context) : NULL;
		config_free(&d->cfg);
		d->cfg = c;
		log_init("kube-nftd", d->cfg.verbose);
		if (d->mon)
			kn_mon_set_table(d->mon, d->cfg.table);
	}
	if (d->dir)
		kn_dirsrc_rescan(d->dir);
	if (d->kube) /* kube source: list again; commits once listed */
		kn_kubesrc_relist(d->kube);
	resync_needed(d, KN_RESYNC_RELOAD);
	commit_now(d);
	kn_notify("READY=1");
}

static void
signal_event(void *arg, int fd, uint32_t events)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			log_notice("%s: exiting", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			kn_notify("STOPPING=1");
			kn_loop_stop(d->loop);
			break;
		default:
			break;
		}
	}
}

static void
watchdog_fired(void *arg)
{
	struct daemon *d = arg;

	kn_notify("WATCHDOG=1");
	kn_timer_arm(d->watchdog, d->watchdog_usec / 2000);
}

/* ------------------------------------------------------------ control */

/* The figures the status shows that live elsewhere than in d->st. */
static void
stats_refresh(struct daemon *d)
{
	uint64_t now = kn_now_ms();

	if (d->mon) {
		struct kn_mon_stats ms;

		kn_mon_get_stats(d->mon, &ms);
		d->st.monitor_messages = ms.messages;
		d->st.monitor_own = ms.own;
		d->st.monitor_overruns = ms.overruns;
	}
	d->st.retry_in_ms =
		kn_timer_armed(d->retry) && d->retry_due_ms > now ? d->retry_due_ms - now : 0;
	d->st.resync_interval_s = (unsigned long)d->cfg.resync_s;
}

/* Reads the API server guard's counters into d->st: one dump of chain
 * api-guard, checked against the program that wrote it.  A failure
 * (no table, no permission) changes nothing but the status, which says
 * why, and the metrics, which leave the counters out. */
static void
guard_refresh(struct daemon *d)
{
	const struct kn_program *p = d->cc ? kn_compiler_program(d->cc) : NULL;
	const struct kn_chain *ch = p ? kn_program_find_chain(p, KN_GUARD_CHAIN) : NULL;
	struct kn_err err;

	d->st.guard_counted = false;
	if (p)
		d->st.guard_mode = kn_guard_program_mode(p);
	else
		d->st.guard_mode =
			kn_guard_mode_of(&(struct kn_compile_opts){.guard = d->cfg.api_guard});
	if (d->st.guard_mode == KN_GUARD_OFF)
		return;
	if (!ch) {
		snprintf(d->st.guard_error, sizeof(d->st.guard_error), "nothing compiled yet");
		return;
	}
	if (kn_nl_guard_counts(d->nl, d->cfg.table, ch, &d->st.guard, &err) < 0) {
		snprintf(d->st.guard_error, sizeof(d->st.guard_error), "%s", err.msg);
		log_debug("api-guard: counters unavailable: %s", err.msg);
		return;
	}
	d->st.guard_counted = true;
}

/* Writes the metrics file (--metrics-file), the guard's counters read
 * now, and arms the next periodic write. */
static void
metrics_write(struct daemon *d)
{
	int r;

	if (!d->cfg.metrics) {
		kn_timer_disarm(d->metrics);
		return;
	}
	stats_refresh(d);
	guard_refresh(d);
	if ((r = kn_daemon_write_metrics(d->cfg.metrics, &d->st)) < 0)
		log_debug("%s: %s", d->cfg.metrics, strerror(-r));
	kn_timer_arm(d->metrics, METRICS_INTERVAL_MS);
}

static void
metrics_fired(void *arg)
{
	metrics_write(arg);
}

static void
control_event(void *arg, int fd, uint32_t events)
{
	struct daemon *d = arg;
	struct strbuf sb;
	int c;

	(void)events;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return;
	count_objects(d);
	stats_refresh(d);
	guard_refresh(d);
	strbuf_init(&sb, 64 * 1024);
	if (d->dir) {
		struct kn_dirsrc_stats ds;

		kn_dirsrc_get_stats(d->dir, &ds);
		d->st.source_files = ds.files;
		d->st.source_failed_files = ds.failed_files;
		d->st.invalid_objects = ds.invalid;
	}
	kn_daemon_format_status(&d->st, d->cfg.node, d->cfg.source, d->cfg.table, d->synced, &sb);
	if (d->kube) /* kube source: per resource */
		kn_kubesrc_format_status(d->kube, &sb);
	/* The status is small; a client that does not read it in one go
	 * loses the rest rather than stalling the loop. */
	if (write(c, sb.buf, sb.len) < 0)
		log_debug("control: %s", strerror(errno));
	close(c);
	strbuf_free(&sb);
}

static int
open_control(struct daemon *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	char *slash;
	mode_t old;
	int fd;

	if (strlen(d->cfg.control) >= sizeof(sa.sun_path)) {
		log_err("control socket path too long: %s", d->cfg.control);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, d->cfg.control);
	strcpy(dir, d->cfg.control);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			log_err("%s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Root only: the status names every pod and policy. */
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int r = -errno;

		umask(old);
		log_err("control socket %s: %s", d->cfg.control, strerror(-r));
		close(fd);
		return r;
	}
	umask(old);
	d->ctlfd = fd;
	return kn_loop_add_fd(d->loop, fd, EPOLLIN, "control", control_event, d);
}

/* ------------------------------------------------------------ main */

static void
parse_args(struct daemon *d, int argc, char **argv)
{
	enum {
		OPT_DEBOUNCE = 256,
		OPT_MAXDELAY,
		OPT_CONTROL,
		OPT_METRICS,
		OPT_CLEANUP,
		OPT_RESYNC,
		OPT_API_GUARD,
		OPT_API_SERVER, /* api-guard */
		OPT_KUBECONFIG, /* kube source */
		OPT_CONTEXT,	/* kube source */
	};
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"node", required_argument, NULL, 'n'},
		{"source", required_argument, NULL, 's'},
		{"table", required_argument, NULL, 't'},
		{"debounce-ms", required_argument, NULL, OPT_DEBOUNCE},
		{"max-delay-ms", required_argument, NULL, OPT_MAXDELAY},
		{"control-socket", required_argument, NULL, OPT_CONTROL},
		{"metrics-file", required_argument, NULL, OPT_METRICS},
		{"cleanup-on-exit", no_argument, NULL, OPT_CLEANUP},
		{"resync-interval", required_argument, NULL, OPT_RESYNC},
		{"api-guard", required_argument, NULL, OPT_API_GUARD},	 /* api-guard */
		{"api-server", required_argument, NULL, OPT_API_SERVER}, /* api-guard */
		{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG}, /* kube source */
		{"context", required_argument, NULL, OPT_CONTEXT},	 /* kube source */
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	char err[256];
	int c;

	d->cli.debounce_ms = d->cli.max_delay_ms = d->cli.resync_s = -1;
	while ((c = getopt_long(argc, argv, "c:n:s:t:vhV", longopts, NULL)) != -1) {
		const char *name = NULL;

		switch (c) {
		case 'c':
			d->config_path = optarg;
			continue;
		case 'n':
			name = "node";
			break;
		case 's':
			name = "source";
			break;
		case 't':
			name = "table";
			break;
		case OPT_DEBOUNCE:
			name = "debounce-ms";
			break;
		case OPT_MAXDELAY:
			name = "max-delay-ms";
			break;
		case OPT_CONTROL:
			name = "control-socket";
			break;
		case OPT_METRICS:
			name = "metrics-file";
			break;
		case OPT_CLEANUP:
			d->cli.cleanup = true;
			continue;
		case OPT_RESYNC:
			name = "resync-interval";
			break;
		case OPT_API_GUARD: /* api-guard */
			name = "api-guard";
			break;
		case OPT_API_SERVER: /* api-guard */
			name = "api-server";
			break;
		case OPT_KUBECONFIG: /* kube source */
			name = "kubeconfig";
			break;
		case OPT_CONTEXT: /* kube source */
			name = "context";
			break;
		case 'v':
			d->cli.verbose = 1;
			continue;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("kube-nftd %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "Try 'kube-nftd --help' for more information.\n");
			exit(2);
		}
		if (config_set(&d->cli, name, optarg, err, sizeof(err)) < 0) {
			fprintf(stderr, "kube-nftd: %s\n", err);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kube-nftd: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct daemon d;
	struct kn_err err;
	sigset_t mask;
	const char *wd;
	int rc = 1;

	memset(&d, 0, sizeof(d));
	d.sigfd = d.ctlfd = -1;
	d.start_ms = kn_now_ms(); /* kube source: time to first commit */
	parse_args(&d, argc, argv);
	log_init("kube-nftd", d.cli.verbose);
	if (config_build(&d, &d.cfg) < 0) {
		config_free(&d.cli);
		return 1;
	}
	log_init("kube-nftd", d.cfg.verbose);

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	d.loop = kn_loop_new();
	d.store = kn_store_new();
	if (!d.loop)
		fatal("epoll: %s", strerror(errno));
	d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d.sigfd < 0 || kn_loop_add_fd(d.loop, d.sigfd, EPOLLIN, "signals", signal_event, &d))
		fatal("signalfd: %s", strerror(errno));
	d.debounce = kn_timer_new(d.loop, "debounce", debounce_fired, &d);
	d.retry = kn_timer_new(d.loop, "retry", retry_fired, &d);
	d.watchdog = kn_timer_new(d.loop, "watchdog", watchdog_fired, &d);
	d.resync = kn_timer_new(d.loop, "resync", resync_fired, &d);
	d.metrics = kn_timer_new(d.loop, "metrics", metrics_fired, &d);
	if (!d.debounce || !d.retry || !d.watchdog || !d.resync || !d.metrics)
		fatal("timerfd: %s", strerror(errno));
	d.nl = kn_nl_open(&err);
	if (!d.nl)
		fatal("%s", err.msg);
	if (open_control(&d) < 0)
		fatal("cannot open the control socket %s", d.cfg.control);
	if (open_source(&d) < 0)
		goto out;
	wd = getenv("WATCHDOG_USEC");
	if (wd && (d.watchdog_usec = strtoull(wd, NULL, 10)) > 0)
		kn_timer_arm(d.watchdog, d.watchdog_usec / 2000);
	log_info("kube-nftd %s starting: node %s, source %s, table inet %s", PACKAGE_VERSION,
		 d.cfg.node, d.cfg.source, d.cfg.table);
	/* Before the first commit: every change after it is seen. */
	open_monitor(&d);
	resync_needed(&d, KN_RESYNC_START);
	commit_now(&d);
	if (kn_loop_run(d.loop) < 0)
		log_err("epoll: %s", strerror(errno));
	if (d.cfg.cleanup) {
		if (kn_nl_flush(d.nl, d.cfg.table, &err) < 0)
			log_err("cleanup: %s", err.msg);
		else
			log_info("removed table inet %s", d.cfg.table);
	} else {
		log_info("leaving table inet %s in place", d.cfg.table);
	}
	rc = 0;
out:
	if (d.ctlfd >= 0) {
		close(d.ctlfd);
		unlink(d.cfg.control);
	}
	kn_dirsrc_close(d.dir);
	kn_kubesrc_close(d.kube); /* kube source: before the loop it uses */
	kn_timer_free(d.debounce);
	kn_timer_free(d.retry);
	kn_timer_free(d.watchdog);
	kn_timer_free(d.resync);
	kn_timer_free(d.metrics);
	if (d.mon)
		kn_loop_del_fd(d.loop, kn_mon_fd(d.mon));
	kn_mon_close(d.mon);
	kn_nl_close(d.nl);
	kn_compiler_free(d.cc);
	kn_store_free(d.store);
	if (d.sigfd >= 0)
		close(d.sigfd);
	kn_loop_free(d.loop);
	config_free(&d.cfg);
	config_free(&d.cli);
	return rc;
}
