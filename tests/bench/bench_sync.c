/* bench_sync: the cost of a sync, with the cluster state already parsed.
 *
 *	bench_sync [-n NODE] [-r REPEATS] [-w WARMUP] [-N NFTFILE]
 *		   [-e DIR] [-E REPEATS] [-F] FILE...
 *
 * Loads the manifests into a store once, as kube-nftctl does (only the
 * fields decoding reads; timed, reported as "load"),
 * then measures REPEATS full syncs: kn_compile() and kn_nl_apply() up to
 * the kernel's acknowledgement of the commit, each also on its own.
 * With -N, each full sync is followed by `nft -f NFTFILE` (the same
 * ruleset, as `kube-nftctl compile` writes it), timed as a whole process,
 * so that the two paths are measured side by side under the same load.
 * With -e, replays the single events that tests/bench/gen.py --events
 * wrote into DIR on the synced state: each repeat applies the event to
 * the store, compiles and commits it (timed), then reverts it (untimed).
 *
 * Every result is one line of "key=value" words, the first word naming
 * the measurement, for scripts/bench to read:
 *
 *	load ms=812.4 objects=12500 invalid=0
 *	program local_pods=105 ... policies=163 sets=250 chains=304 rules=503 elements=6907
 *	full_sync n=40 median_ms=26.1 p99_ms=29.1 min_ms=24.4 max_ms=29.1 messages=1291
 *		  bytes=1002216 cpu_user_ms=7.8 cpu_sys_ms=14.4
 *	compile n=40 median_ms=...
 *	netlink n=40 median_ms=... cpu_user_ms=... cpu_sys_ms=...
 *	nft n=40 median_ms=... cpu_user_ms=... cpu_sys_ms=...
 *	event n=200 median_ms=... p99_ms=... name=pod-add mode=plan messages=8 bytes=1196
 *	      changed=1 compile_median_ms=... plan_median_ms=...
 *	rss peak_kb=... after_load_kb=... now_kb=...
 *
 * The kernel work must happen in a throw-away network namespace:
 * bench_sync runs only in one that `ip netns add` made (or, when PID 1's
 * can be read, in any other than PID 1's), never in the machine's own,
 * whose ruleset it would replace, unless --allow-init-netns is given.
 *
 * Syncs and events take the daemon's path: a full sync is kn_compiler_new
 * (a whole compile) and kn_nl_apply; an event is kn_compiler_update (the
 * incremental compile, reported as compile) and kn_nl_commit_delta (the
 * plan of what changed, reported apart as plan, and its commit), with
 * mode=plan.  With -F, the path before the incremental compiler, for
 * comparison in one run: kn_compile of the whole store, and kn_nl_commit
 * of the difference between whole programs.  A commit that fell back to
 * a full replacement gives mode=full.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "decode.h"
#include "manifest.h"
#include "netpol.h"
#include "nft_netlink.h"
#include "program.h"
#include "store.h"
#include "util.h"

#define DEFAULT_REPEATS	      30
#define DEFAULT_WARMUP	      3
#define DEFAULT_EVENT_REPEATS 100

static const char *const event_order[] = {
	"pod-add", "pod-add-remote", "pod-delete", "label-change", "policy-add", "policy-edit",
};

struct samples {
	double *v;
	size_t n, cap;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
tv_ms(const struct timeval *a, const struct timeval *b)
{
	return (double)(a->tv_sec - b->tv_sec) * 1e3 + (double)(a->tv_usec - b->tv_usec) / 1e3;
}

static void
samples_add(struct samples *s, double v)
{
	*VEC_PUSH(s->v, s->n, s->cap) = v;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples. */
static double
percentile(const struct samples *s, double pct)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	rank = (size_t)((pct / 100.0) * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

static double
median(const struct samples *s)
{
	if (s->n == 0)
		return 0;
	if (s->n % 2)
		return s->v[s->n / 2];
	return (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/* Prints "NAME n=.. median_ms=.. p99_ms=.. min_ms=.. max_ms=.." without
 * the newline, so that the caller can add words. */
static void
samples_print(struct samples *s, const char *name)
{
	qsort(s->v, s->n, sizeof(*s->v), dbl_cmp);
	printf("%s n=%zu median_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f", name, s->n, median(s),
	       percentile(s, 99), s->n ? s->v[0] : 0, s->n ? s->v[s->n - 1] : 0);
}

static void
samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* VmHWM and VmRSS of this process, in KiB. */
static void
rss_kb(long *hwm, long *rss)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*hwm = *rss = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* True when this process runs in a network namespace that is not the
 * initial one: one that `ip netns add` made (bound under /run/netns), or
 * one that differs from PID 1's when that can be read. */
static bool
in_throwaway_netns(void)
{
	struct stat self, other;
	struct dirent *de;
	bool found = false;
	DIR *dir;

	if (stat("/proc/self/ns/net", &self) < 0)
		return false;
	if (stat("/proc/1/ns/net", &other) == 0)
		return self.st_ino != other.st_ino || self.st_dev != other.st_dev;
	dir = opendir("/run/netns");
	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		char path[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &other) == 0 && other.st_ino == self.st_ino &&
		    other.st_dev == self.st_dev)
			found = true;
	}
	closedir(dir);
	return found;
}

/* Runs `nft -f path` with its output discarded; returns its wall time in
 * ms, or a negative value when it could not run or failed. */
static double
run_nft(const char *path)
{
	char *argv[] = {(char *)"nft", (char *)"-f", (char *)path, NULL};
	posix_spawn_file_actions_t fa;
	extern char **environ;
	double t0 = now_ms();
	int status, r;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "nft", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return now_ms() - t0;
}

/* ------------------------------------------------------------ loading */

struct load {
	struct kn_store *s;
	size_t objects, invalid;
};

static int
load_one(void *arg, json_t *json, const char *where)
{
	struct load *l = arg;
	struct kn_object obj;
	struct kn_err err;

	if (kn_decode_object(json, &obj, &err) < 0) {
		fprintf(stderr, "bench_sync: %s (%s)\n", err.msg, where);
		l->invalid++;
		return 0;
	}
	if (obj.kind != KN_KIND_OTHER)
		l->objects++;
	kn_store_put(l->s, &obj);
	return 0;
}

/* ------------------------------------------------------------ syncing */

struct bench {
	struct kn_store *s;
	struct kn_nl *nl;
	struct kn_compile_opts copts;
	bool whole;		      /* -F: compile whole programs */
	struct kn_compiler *cc;	      /* its program is in the kernel */
	struct kn_program *cur;	      /* with -F: the program in the kernel */
	const struct kn_delta *delta; /* of the last event_commit */
};

/* The program in the kernel. */
static const struct kn_program *
cur(const struct bench *b)
{
	return b->cc ? kn_compiler_program(b->cc) : b->cur;
}

/* Compiles the whole store and replaces the table with it, as the daemon
 * does at start.  *compile_ms gets the compile's share; nl_cpu, unless
 * NULL, accumulates the user and system CPU time of kn_nl_apply. */
static int
full_sync(struct bench *b, double *compile_ms, double nl_cpu[2], struct kn_compile_stats *st)
{
	struct kn_compiler *cc = NULL;
	struct kn_program *p = NULL;
	struct rusage ru0, ru1;
	struct kn_err err;
	double t0;
	int r;

	t0 = now_ms();
	if (b->whole)
		p = kn_compile(b->s, &b->copts, st);
	else
		cc = kn_compiler_new(b->s, &b->copts, st);
	if (compile_ms)
		*compile_ms = now_ms() - t0;
	getrusage(RUSAGE_SELF, &ru0);
	r = kn_nl_apply(b->nl, cc ? kn_compiler_program(cc) : p, &err);
	getrusage(RUSAGE_SELF, &ru1);
	if (nl_cpu) {
		nl_cpu[0] += tv_ms(&ru1.ru_utime, &ru0.ru_utime);
		nl_cpu[1] += tv_ms(&ru1.ru_stime, &ru0.ru_stime);
	}
	if (r < 0) {
		fprintf(stderr, "bench_sync: apply: %s\n", err.msg);
		kn_compiler_free(cc);
		kn_program_free(p);
		return r;
	}
	kn_compiler_free(b->cc);
	kn_program_free(b->cur);
	b->cc = cc;
	b->cur = p;
	return 0;
}

/* Brings the kernel to the state of the store after an event: compile
 * (what changed), plan the difference, commit it.  *compile_ms gets the
 * compile's share. */
static int
event_commit(struct bench *b, double *compile_ms)
{
	struct kn_program *p;
	struct kn_err err;
	double t0;
	int r;

	if (b->cc) {
		t0 = now_ms();
		b->delta = kn_compiler_update(b->cc, NULL);
		if (compile_ms)
			*compile_ms = now_ms() - t0;
		r = kn_nl_commit_delta(b->nl, kn_compiler_program(b->cc), b->delta, &err);
		if (r < 0)
			fprintf(stderr, "bench_sync: commit: %s\n", err.msg);
		return r;
	}
	t0 = now_ms();
	p = kn_compile(b->s, &b->copts, NULL);
	if (compile_ms)
		*compile_ms = now_ms() - t0;
	r = kn_nl_commit(b->nl, b->cur, p, &err);
	if (r < 0) {
		fprintf(stderr, "bench_sync: commit: %s\n", err.msg);
		kn_program_free(p);
		return r;
	}
	kn_program_free(b->cur);
	b->cur = p;
	return 0;
}

/* ------------------------------------------------------------ events */

struct op_list {
	json_t *put;	/* array of objects */
	json_t *delete; /* array of {kind, namespace, name} */
};

static enum kn_kind
kind_of(const char *s)
{
	if (!s)
		return KN_KIND_OTHER;
	if (strcmp(s, "Pod") == 0)
		return KN_KIND_POD;
	if (strcmp(s, "NetworkPolicy") == 0)
		return KN_KIND_NETPOL;
	if (strcmp(s, "Namespace") == 0)
		return KN_KIND_NAMESPACE;
	return KN_KIND_OTHER;
}

/* Decoded objects of one op list, ready to be put (the store takes them
 * over, so each application needs its own). */
struct decoded {
	struct kn_object *objs;
	size_t n;
};

static int
ops_decode(const struct op_list *ops, struct decoded *d)
{
	struct kn_err err;
	size_t i;
	json_t *o;

	d->n = json_array_size(ops->put);
	d->objs = xcalloc(d->n ? d->n : 1, sizeof(*d->objs));
	json_array_foreach(ops->put, i, o)
	{
		if (kn_decode_object(o, &d->objs[i], &err) < 0) {
			fprintf(stderr, "bench_sync: event object: %s\n", err.msg);
			for (size_t j = 0; j < i; j++)
				kn_object_free(&d->objs[j]);
			free(d->objs);
			return -EINVAL;
		}
	}
	return 0;
}

/* Applies decoded puts (consumed) and the deletes to the store. */
static void
ops_apply(struct kn_store *s, const struct op_list *ops, struct decoded *d)
{
	size_t i;
	json_t *o;

	json_array_foreach(ops->delete, i, o)
	{
		kn_store_delete(s, kind_of(json_string_value(json_object_get(o, "kind"))),
				json_string_value(json_object_get(o, "namespace")),
				json_string_value(json_object_get(o, "name")));
	}
	for (i = 0; i < d->n; i++)
		kn_store_put(s, &d->objs[i]);
	free(d->objs);
	d->objs = NULL;
}

static int
ops_get(json_t *ev, const char *which, struct op_list *ops)
{
	json_t *o = json_object_get(ev, which);

	ops->put = json_object_get(o, "put");
	ops->delete = json_object_get(o, "delete");
	if (!json_is_array(ops->put) || !json_is_array(ops->delete))
		return -EINVAL;
	return 0;
}

/* Runs one event file: repeats x (apply, commit: timed; revert, commit:
 * untimed).  Prints one "event" line. */
static int
run_event(struct bench *b, const char *path, const char *name, int repeats)
{
	struct samples total = {0}, comp = {0}, plan = {0};
	struct op_list fwd, back;
	struct kn_nl_stats ns = {0};
	struct kn_program *base = NULL;
	json_error_t jerr;
	bool changed = false;
	json_t *ev;
	int r = 0;

	ev = json_load_file(path, 0, &jerr);
	if (!ev) {
		fprintf(stderr, "bench_sync: %s:%d: %s\n", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	if (ops_get(ev, "apply", &fwd) < 0 || ops_get(ev, "revert", &back) < 0) {
		fprintf(stderr, "bench_sync: %s: not a BenchEvent\n", path);
		json_decref(ev);
		return -EINVAL;
	}
	/* The synced base program, to tell whether the event changes it. */
	base = kn_compile(b->s, &b->copts, NULL);
	for (int i = 0; i < repeats; i++) {
		struct decoded d;
		double t0, cms;

		if ((r = ops_decode(&fwd, &d)) < 0)
			break;
		t0 = now_ms();
		ops_apply(b->s, &fwd, &d);
		if ((r = event_commit(b, &cms)) < 0)
			break;
		samples_add(&total, now_ms() - t0);
		samples_add(&comp, cms);
		kn_nl_get_stats(b->nl, &ns);
		if (i == 0)
			changed = !kn_program_equal(cur(b), base);
		/* The planner's share, measured apart: the same plan again. */
		if (b->cc) {
			struct kn_plan *pl = NULL;
			struct kn_err err;

			t0 = now_ms();
			if (kn_plan_delta(cur(b), b->delta, NULL, &pl, &err) == 0)
				samples_add(&plan, now_ms() - t0);
			kn_plan_free(pl);
		} else {
			struct kn_plan *pl = NULL;
			struct kn_err err;

			t0 = now_ms();
			if (kn_plan_diff(base, cur(b), NULL, &pl, &err) == 0)
				samples_add(&plan, now_ms() - t0);
			kn_plan_free(pl);
		}

		if ((r = ops_decode(&back, &d)) < 0)
			break;
		ops_apply(b->s, &back, &d);
		if ((r = event_commit(b, NULL)) < 0)
			break;
	}
	if (r == 0) {
		samples_print(&total, "event");
		printf(" name=%s mode=%s messages=%zu bytes=%zu changed=%d", name,
		       ns.incremental ? "plan" : "full", ns.messages, ns.bytes, changed);
		qsort(comp.v, comp.n, sizeof(*comp.v), dbl_cmp);
		qsort(plan.v, plan.n, sizeof(*plan.v), dbl_cmp);
		printf(" compile_median_ms=%.4f plan_median_ms=%.4f\n", median(&comp),
		       median(&plan));
		fflush(stdout);
	}
	kn_program_free(base);
	samples_free(&total);
	samples_free(&comp);
	samples_free(&plan);
	json_decref(ev);
	return r;
}

static int
run_events(struct bench *b, const char *dir, int repeats)
{
	char path[4096];
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(event_order); i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s.json", dir, event_order[i]);
		if (stat(path, &st) < 0)
			continue;
		if ((r = run_event(b, path, event_order[i], repeats)) < 0)
			break;
	}
	return r;
}

/* ------------------------------------------------------------ main */

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: bench_sync [-n NODE] [-r REPEATS] [-w WARMUP] [-N NFTFILE] [-e DIR]\n"
		"                  [-E REPEATS] [-F] [--allow-init-netns] FILE...\n"
		"  -n, --node NAME      the node under test (default node-0)\n"
		"  -r, --repeats N      full syncs to measure (default 30)\n"
		"  -w, --warmup N       full syncs before measuring (default 3)\n"
		"  -N, --nft FILE       also time `nft -f FILE` after each full sync\n"
		"  -e, --events DIR     replay the events of gen.py --events DIR\n"
		"  -E, --event-repeats N  repeats per event (default 100)\n"
		"  -F, --full-compile   compile whole programs and diff them, as before the\n"
		"                       incremental compiler (for comparison)\n"
		"  -S, --no-sync        skip the full sync measurement (one sync is still done)\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"node", required_argument, NULL, 'n'},
		{"repeats", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"nft", required_argument, NULL, 'N'},
		{"events", required_argument, NULL, 'e'},
		{"event-repeats", required_argument, NULL, 'E'},
		{"no-sync", no_argument, NULL, 'S'},
		{"full-compile", no_argument, NULL, 'F'},
		{"allow-init-netns", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench b = {0};
	struct load l = {0};
	struct kn_compile_stats st;
	struct kn_nl_stats ns;
	struct samples full = {0}, comp = {0}, nl = {0}, nft = {0};
	double cpu[2] = {0, 0}, nft_cpu[2] = {0, 0}, nl_cpu[2] = {0, 0}; /* user, sys */
	struct kn_err err;
	const char *events = NULL, *nft_file = NULL;
	int repeats = DEFAULT_REPEATS, warmup = DEFAULT_WARMUP, ev_repeats = DEFAULT_EVENT_REPEATS;
	bool allow_init = false, sync_bench = true;
	long hwm, rss, load_rss;
	double t0;
	int c, r;

	b.copts.node = "node-0";
	while ((c = getopt_long(argc, argv, "n:r:w:N:e:E:SFh", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			b.copts.node = optarg;
			break;
		case 'r':
			repeats = atoi(optarg);
			break;
		case 'w':
			warmup = atoi(optarg);
			break;
		case 'N':
			nft_file = optarg;
			break;
		case 'e':
			events = optarg;
			break;
		case 'E':
			ev_repeats = atoi(optarg);
			break;
		case 'S':
			sync_bench = false;
			break;
		case 'F':
			b.whole = true;
			break;
		case 'I':
			allow_init = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || repeats < 1 || warmup < 0 || ev_repeats < 1) {
		usage(stderr);
		return 2;
	}
	if (!allow_init && !in_throwaway_netns()) {
		fprintf(stderr,
			"bench_sync: refusing to replace the ruleset of the initial network "
			"namespace; run me in a throw-away one (ip netns exec), as "
			"scripts/bench does\n");
		return 1;
	}

	b.s = kn_store_new();
	l.s = b.s;
	t0 = now_ms();
	for (int i = optind; i < argc; i++) {
		r = kn_manifest_read_file_fields(argv[i], kn_decode_fields, load_one, &l, &err);
		if (r < 0) {
			fprintf(stderr, "bench_sync: %s\n", err.msg);
			return 1;
		}
	}
	printf("load ms=%.1f objects=%zu invalid=%zu\n", now_ms() - t0, l.objects, l.invalid);
	rss_kb(&hwm, &load_rss);

	b.nl = kn_nl_open(&err);
	if (!b.nl) {
		fprintf(stderr, "bench_sync: %s\n", err.msg);
		return 1;
	}
	if (full_sync(&b, NULL, NULL, &st) < 0)
		return 1;
	kn_nl_get_stats(b.nl, &ns);
	printf("program local_pods=%zu isolated_ingress=%zu isolated_egress=%zu policies=%zu "
	       "sets=%zu chains=%zu rules=%zu elements=%zu messages=%zu bytes=%zu\n",
	       st.local_pods, st.isolated_ingress, st.isolated_egress, st.policies, st.sets,
	       st.chains, st.rules, st.elements, ns.messages, ns.bytes);
	fflush(stdout);

	for (int i = 0; sync_bench && i < warmup + repeats; i++) {
		double cms, ms;

		struct rusage ru0, ru1;

		getrusage(RUSAGE_SELF, &ru0);
		t0 = now_ms();
		if (full_sync(&b, &cms, i >= warmup ? nl_cpu : NULL, NULL) < 0)
			return 1;
		ms = now_ms() - t0;
		getrusage(RUSAGE_SELF, &ru1);
		if (i >= warmup) {
			samples_add(&full, ms);
			samples_add(&comp, cms);
			samples_add(&nl, ms - cms);
			cpu[0] += tv_ms(&ru1.ru_utime, &ru0.ru_utime);
			cpu[1] += tv_ms(&ru1.ru_stime, &ru0.ru_stime);
		}
		if (!nft_file)
			continue;
		getrusage(RUSAGE_CHILDREN, &ru0);
		ms = run_nft(nft_file);
		getrusage(RUSAGE_CHILDREN, &ru1);
		if (ms < 0) {
			fprintf(stderr, "bench_sync: nft -f %s failed\n", nft_file);
			return 1;
		}
		if (i >= warmup) {
			samples_add(&nft, ms);
			nft_cpu[0] += tv_ms(&ru1.ru_utime, &ru0.ru_utime);
			nft_cpu[1] += tv_ms(&ru1.ru_stime, &ru0.ru_stime);
		}
	}
	if (sync_bench) {
		samples_print(&full, "full_sync");
		/* CPU time per sync, in this process and in the kernel on its
		 * behalf (sendmsg runs the whole transaction): less sensitive
		 * than wall time to other load on the machine. */
		printf(" messages=%zu bytes=%zu cpu_user_ms=%.3f cpu_sys_ms=%.3f\n", ns.messages,
		       ns.bytes, cpu[0] / repeats, cpu[1] / repeats);
		samples_print(&comp, "compile");
		printf("\n");
		samples_print(&nl, "netlink");
		/* kn_nl_apply alone: building the batch (user) and the
		 * kernel's transaction (sys). */
		printf(" cpu_user_ms=%.3f cpu_sys_ms=%.3f\n", nl_cpu[0] / repeats,
		       nl_cpu[1] / repeats);
		if (nft_file) {
			samples_print(&nft, "nft");
			printf(" cpu_user_ms=%.3f cpu_sys_ms=%.3f\n", nft_cpu[0] / repeats,
			       nft_cpu[1] / repeats);
		}
		fflush(stdout);
	}

	if (events && run_events(&b, events, ev_repeats) < 0)
		return 1;

	rss_kb(&hwm, &rss);
	printf("rss peak_kb=%ld after_load_kb=%ld now_kb=%ld\n", hwm, load_rss, rss);

	r = kn_nl_flush(b.nl, cur(&b)->table, &err);
	if (r < 0)
		fprintf(stderr, "bench_sync: flush: %s\n", err.msg);
	kn_compiler_free(b.cc);
	kn_program_free(b.cur);
	kn_nl_close(b.nl);
	kn_store_free(b.s);
	samples_free(&full);
	samples_free(&comp);
	samples_free(&nl);
	samples_free(&nft);
	return r < 0;
}
