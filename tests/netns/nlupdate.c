/* nlupdate: applies a sequence of cluster states as kube-nftd does, the
 * first one in full and each next one as the difference from the one
 * before (kn_nl_commit), and prints what every commit sent.  A test
 * driver for tests/netns/plan_test.sh and for measuring batch sizes.
 *
 *	nlupdate [--node NAME | --all-nodes] [--table NAME] [--from FILE]
 *		 [--fail-at STEP:N] [--recomment STEP:sets|chains|all]
 *		 [--incremental] [--sizes FILE] STATE...
 *
 * Each STATE is a manifest file.  --from FILE: the kernel holds the
 * program of FILE already (applied before, by anyone), so the first step
 * is incremental too.  --fail-at STEP:N: the kernel rejects message N of
 * step STEP's batch (KN_TEST_FAIL_AT, see src/nft/netlink.c).  After a
 * failed step the next one is a full replacement, as in the daemon.
 * --recomment STEP:WHAT: at step STEP, the comments of every set, every
 * chain or both get a suffix, which no manifest change can do: the
 * planner must delete and create again every such object under its name,
 * with the rules and map elements that refer to it.  --incremental: as
 * the daemon does now, one store for every state (each state's objects
 * put into it, the objects it lacks deleted) and the incremental
 * compiler: each commit is the plan of what kn_compiler_update changed
 * (kn_nl_commit_delta), not of the difference between whole programs.
 * --sizes FILE: after each step that committed, FILE lists the size of
 * every set of the program now in the kernel, "NAME SIZE" per line (an
 * incremental compiler's sets keep their size while their elements fit,
 * so these are not always the sizes of a full compile).
 *
 * One line per step on stdout:
 *
 *	step 2 incremental: 5 messages, 612 bytes, 4 ops (elements +2 -2,
 *	sets +0 -0, chains +0 -0, flushed 0, rules +0), 0.40 ms
 *
 * (the time of kn_nl_commit: planning, building, sending, acks).
 *
 * Exit status: 0 when every step committed, 1 when one failed, 2 for
 * usage errors.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"
#include "log.h"
#include "netpol.h"
#include "nft_netlink.h"
#include "store.h"
#include "util.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Loads one manifest file into a fresh store and compiles it. */
static struct kn_program *
load(const char *path, const struct kn_compile_opts *co, struct kn_store **ret_store)
{
	struct kn_load_result res;
	struct kn_store *s = kn_store_new();
	char *paths[1] = {(char *)path};

	if (kn_load_files(s, paths, 1, &res) < 0) {
		kn_store_free(s);
		return NULL;
	}
	*ret_store = s;
	return kn_compile(s, co, NULL);
}

struct keys {
	enum kn_kind kind;
	char **ns, **name;
	size_t n, cap, nscap;
};

static void
key_cb(void *arg, const struct kn_object *obj, const char *ns, const char *name)
{
	struct keys *k = arg;

	(void)obj;
	grow_array((void **)&k->ns, &k->nscap, k->n + 1, sizeof(*k->ns));
	*VEC_PUSH(k->name, k->n, k->cap) = xstrdup(name);
	k->ns[k->n - 1] = ns ? xstrdup(ns) : NULL;
}

/* Makes s hold the objects of path, and only those, as a source that
 * lists again would: every object of path is put (changed or not), the
 * others are deleted.  Returns 0 or -1 (logged). */
static int
sync_store(struct kn_store *s, const char *path)
{
	struct kn_store *want = kn_store_new();
	struct kn_load_result res;
	char *paths[1] = {(char *)path};
	int r = 0;

	if (kn_load_files(want, paths, 1, &res) < 0 || kn_load_files(s, paths, 1, &res) < 0) {
		r = -1;
		goto out;
	}
	for (int kind = KN_KIND_OTHER + 1; kind < KN_KIND_MAX; kind++) {
		struct keys k = {.kind = (enum kn_kind)kind};

		kn_store_foreach(s, k.kind, key_cb, &k);
		for (size_t i = 0; i < k.n; i++) {
			bool keep;

			switch (k.kind) {
			case KN_KIND_NAMESPACE:
				keep = kn_store_get_namespace(want, k.name[i]);
				break;
			case KN_KIND_POD:
				keep = kn_store_get_pod(want, k.ns[i], k.name[i]);
				break;
			case KN_KIND_NETPOL:
				keep = kn_store_get_netpol(want, k.ns[i], k.name[i]);
				break;
			default:
				/* The plan tests' states hold no guard objects:
				 * kept as loaded. */
				keep = true;
				break;
			}
			if (!keep)
				kn_store_delete(s, k.kind, k.ns[i], k.name[i]);
			free(k.ns[i]);
			free(k.name[i]);
		}
		free(k.ns);
		free(k.name);
	}
out:
	kn_store_free(want);
	return r;
}

/* Changes the definition of every set and/or chain of p. */
static void
recomment(struct kn_program *p, const char *what)
{
	bool sets = strcmp(what, "sets") == 0 || strcmp(what, "all") == 0;
	bool chains = strcmp(what, "chains") == 0 || strcmp(what, "all") == 0;
	char buf[KN_COMMENT_MAX + 1];

	for (size_t i = 0; sets && i < p->nsets; i++) {
		snprintf(buf, sizeof(buf), "v2 %s", p->sets[i]->comment ? p->sets[i]->comment : "");
		free(p->sets[i]->comment);
		p->sets[i]->comment = kn_comment_dup(buf);
	}
	for (size_t i = 0; chains && i < p->nchains; i++) {
		snprintf(buf, sizeof(buf), "v2 %s",
			 p->chains[i]->comment ? p->chains[i]->comment : "");
		free(p->chains[i]->comment);
		p->chains[i]->comment = kn_comment_dup(buf);
	}
}

/* One line per step (see the top of this file). */
static void
report(long step, const struct kn_nl_stats *st, double ms)
{
	if (st->incremental)
		printf("step %ld incremental: %zu messages, %zu bytes, %zu ops (elements "
		       "+%zu -%zu, sets +%zu -%zu, chains +%zu -%zu, flushed %zu, rules "
		       "+%zu), %.2f ms\n",
		       step, st->messages, st->bytes, st->plan.ops, st->plan.elems_added,
		       st->plan.elems_deleted, st->plan.sets_added, st->plan.sets_deleted,
		       st->plan.chains_added, st->plan.chains_deleted, st->plan.chains_flushed,
		       st->plan.rules_added, ms);
	else
		printf("step %ld full: %zu messages, %zu bytes, %.2f ms\n", step, st->messages,
		       st->bytes, ms);
	fflush(stdout);
}

/* Writes "NAME SIZE" for every set of p to path. */
static int
write_sizes(const char *path, const struct kn_program *p)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < p->nsets; i++)
		fprintf(f, "%s %u\n", p->sets[i]->name, (unsigned)p->sets[i]->size);
	if (fclose(f) != 0) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: nlupdate [--node NAME | --all-nodes] [--table NAME] "
			"[--from FILE] [--fail-at STEP:N] [--recomment STEP:WHAT] "
			"[--incremental] [--sizes FILE] STATE...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"node", required_argument, NULL, 'n'},
		{"all-nodes", no_argument, NULL, 'a'},
		{"table", required_argument, NULL, 't'},
		{"from", required_argument, NULL, 'f'},
		{"fail-at", required_argument, NULL, 'F'},
		{"recomment", required_argument, NULL, 'R'},
		{"incremental", no_argument, NULL, 'I'},
		{"sizes", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	struct kn_compile_opts co = {.node = NULL};
	struct kn_program *running = NULL;
	struct kn_store *store = NULL, *kept = NULL;
	struct kn_compiler *cc = NULL;
	bool incremental = false;
	const char *from = NULL, *fail_n = NULL, *recomment_what = NULL, *sizes = NULL;
	struct kn_nl *nl;
	struct kn_err err;
	long fail_step = 0, recomment_step = 0;
	int c, rc = 0;
	char *colon;

	log_init("nlupdate", 0);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			co.node = optarg;
			break;
		case 'a':
			co.node = NULL;
			break;
		case 't':
			co.table = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'F':
			colon = strchr(optarg, ':');
			if (colon == NULL)
				usage();
			*colon = '\0';
			fail_step = strtol(optarg, NULL, 10);
			fail_n = colon + 1;
			break;
		case 'R':
			colon = strchr(optarg, ':');
			if (colon == NULL)
				usage();
			*colon = '\0';
			recomment_step = strtol(optarg, NULL, 10);
			recomment_what = colon + 1;
			break;
		case 'I':
			incremental = true;
			break;
		case 'S':
			sizes = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || (incremental && recomment_what))
		usage();
	nl = kn_nl_open(&err);
	if (nl == NULL) {
		log_err("%s", err.msg);
		return 1;
	}
	if (incremental) {
		kept = kn_store_new();
		if (from != NULL && sync_store(kept, from) < 0) {
			kn_store_free(kept);
			kn_nl_close(nl);
			return 1;
		}
		if (from != NULL)
			cc = kn_compiler_new(kept, &co, NULL);
	} else if (from != NULL) {
		running = load(from, &co, &store);
		kn_store_free(store);
		if (running == NULL) {
			kn_nl_close(nl);
			return 1;
		}
	}
	for (int i = optind; i < argc; i++) {
		long step = i - optind + 1;
		struct kn_nl_stats st;
		struct kn_program *p;
		double t0;
		int r;

		if (incremental) {
			const struct kn_delta *d;
			bool was = cc != NULL;

			if (sync_store(kept, argv[i]) < 0) {
				rc = 1;
				break;
			}
			if (step == fail_step)
				setenv("KN_TEST_FAIL_AT", fail_n, 1);
			t0 = now_ms();
			if (cc) {
				d = kn_compiler_update(cc, NULL);
				r = kn_nl_commit_delta(nl, kn_compiler_program(cc), d, &err);
			} else {
				cc = kn_compiler_new(kept, &co, NULL);
				r = kn_nl_apply(nl, kn_compiler_program(cc), &err);
			}
			t0 = now_ms() - t0;
			unsetenv("KN_TEST_FAIL_AT");
			if (r < 0) {
				printf("step %ld %s: failed: %s\n", step,
				       was ? "incremental" : "full", err.msg);
				/* The kernel state is no longer known: resync. */
				kn_compiler_free(cc);
				cc = NULL;
				rc = 1;
				continue;
			}
			kn_nl_get_stats(nl, &st);
			report(step, &st, t0);
			if (sizes && write_sizes(sizes, kn_compiler_program(cc)) < 0)
				rc = 1;
			continue;
		}
		p = load(argv[i], &co, &store);
		if (p == NULL) {
			rc = 1;
			break;
		}
		if (step == recomment_step)
			recomment(p, recomment_what);
		if (step == fail_step)
			setenv("KN_TEST_FAIL_AT", fail_n, 1);
		t0 = now_ms();
		r = kn_nl_commit(nl, running, p, &err);
		t0 = now_ms() - t0;
		unsetenv("KN_TEST_FAIL_AT");
		kn_store_free(store);
		kn_nl_get_stats(nl, &st);
		if (r < 0) {
			printf("step %ld %s: failed: %s\n", step, running ? "incremental" : "full",
			       err.msg);
			kn_program_free(p);
			/* The kernel state is no longer known: resync. */
			kn_program_free(running);
			running = NULL;
			rc = 1;
			continue;
		}
		report(step, &st, t0);
		kn_program_free(running);
		running = p;
		if (sizes && write_sizes(sizes, running) < 0)
			rc = 1;
	}
	kn_program_free(running);
	kn_compiler_free(cc);
	kn_store_free(kept);
	kn_nl_close(nl);
	return rc;
}
