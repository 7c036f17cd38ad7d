/* kube-nftctl: the operator's tool.  Compiles Kubernetes manifests into
 * the kube-nftd ruleset, prints it, programs it, or removes it. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdnoreturn.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "conntrack.h"
#include "explain.h"
#include "load.h"
#include "log.h"
#include "netpol.h"
#include "nft_netlink.h"
#include "nft_text.h"
#include "rbac.h"
#include "store.h"
#include "util.h"

/* Exit statuses, documented in kube-nftctl(8). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1, /* nothing was applied */
	EXIT_USAGE = 2,
	EXIT_SKIPPED = 3, /* done, but invalid objects were skipped */
	EXIT_DENIED = 4,  /* explain: the connection is denied; audit: findings */
};

static const char usage_text[] =
	"Usage: kube-nftctl [-v] COMMAND [OPTIONS] [FILE...]\n"
	"\n"
	"Compile Kubernetes NetworkPolicies into an nftables ruleset and manage it.\n"
	"\n"
	"Commands:\n"
	"  compile [--node NAME | --all-nodes] FILE...  print the ruleset as an nft -f script\n"
	"  apply [--node NAME | --all-nodes] FILE...    program the ruleset in one transaction\n"
	"  flush                                         remove the ruleset (table inet "
	"kube-nftd)\n"
	"  explain --from SRC --to DST [--proto P] [--port N] FILE...\n"
	"                                                tell whether a new connection is "
	"allowed,\n"
	"                                                and by which rules\n"
	"  audit [--node NAME | --all-nodes] FILE...    report likely mistakes in the policies\n"
	"  api-access [--node NAME | --all-nodes] FILE...\n"
	"                                                list local pods and whether they may\n"
	"                                                reach the API server, and why\n"
	"  status [--control-socket PATH]               show the state of the running kube-nftd\n"
	"  version                                       print the version\n"
	"\n"
	"FILE is JSON or YAML (several documents allowed), single objects or Lists,\n"
	"as written by kubectl get -o json|yaml; \"-\" reads standard input.\n"
	"\n"
	"Options:\n"
	"  -n, --node NAME    enforce the pods whose spec.nodeName is NAME\n"
	"                     (default: this host's name)\n"
	"  -A, --all-nodes    enforce every pod, whatever its node (for review and CI)\n"
	"  -t, --table NAME   name of the inet table (default kube-nftd)\n"
	"  -f, --from SRC     explain: source, a pod (NAMESPACE/NAME) or an address\n"
	"  -d, --to DST       explain: destination, a pod or an address\n"
	"  -p, --proto P      explain: tcp (default), udp or sctp\n"
	"  -P, --port N       explain: destination port (default 80)\n"
	"  -S, --control-socket PATH  status: the daemon's socket\n"
	"                     (default /run/kube-nftd/control)\n"
	"      --api-guard=off|audit|enforce\n"
	"                     the API server guard (default audit: count and log only)\n"
	"      --api-server ADDR[:PORT]\n"
	"                     another address of the API server (repeatable; IPv6 as\n"
	"                     [ADDR]:PORT; without PORT every TCP port)\n"
	"  -v, --verbose      more messages\n"
	"  -h, --help         show this help\n"
	"  -V, --version      show the version\n"
	"\n"
	"Exit status: 0 success; 1 failure, nothing applied; 2 usage error;\n"
	"3 done, but invalid objects were reported and skipped;\n"
	"explain: 0 allowed, 4 denied; audit: 0 nothing found, 4 findings.\n";

struct opts {
	const char *node;
	bool all_nodes;
	const char *table;
	int verbose;
	const char *from, *to, *proto;
	const char *control;
	bool node_given;
	long port;
	char hostname[HOST_NAME_MAX + 1];
	/* The API server guard.  --api-server is bounded: a handful of load
	 * balancer addresses, not a list of nodes. */
	enum kn_guard_mode guard;
	struct kn_guard_addr servers[64];
	size_t nservers;
};

/* The compile options the command line sets. */
static void
compile_opts(const struct opts *o, const char *node, struct kn_compile_opts *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->node = node;
	ret->table = o->table;
	ret->guard = o->guard;
	ret->guard_servers = o->servers;
	ret->nguard_servers = o->nservers;
}

static noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kube-nftctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'kube-nftctl --help' for more information.\n");
	exit(EXIT_USAGE);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *
default_node(struct opts *o)
{
	if (gethostname(o->hostname, sizeof(o->hostname) - 1) < 0)
		return NULL;
	return o->hostname;
}

/* Loads the files and compiles them.  Returns the program or NULL (a
 * read or parse error, already logged); *skipped is set when invalid
 * objects were left out. */
static struct kn_program *
load_and_compile(struct opts *o, char **files, int nfiles, bool *skipped,
		 struct kn_compile_stats *st)
{
	struct kn_store *s = kn_store_new();
	struct kn_load_result res;
	struct kn_compile_opts copts;
	struct kn_program *p = NULL;

	if (kn_load_files(s, files, (size_t)nfiles, &res) < 0)
		goto out;
	*skipped = res.invalid > 0;
	if (res.invalid)
		log_warn("%zu invalid object%s skipped; everything else is enforced", res.invalid,
			 res.invalid == 1 ? "" : "s");
	compile_opts(o, o->all_nodes ? NULL : o->node, &copts);
	p = kn_compile(s, &copts, st);
	log_debug("%zu objects read, %zu ignored; %zu local pods, %zu policies, %zu sets, "
		  "%zu chains, %zu rules, %zu elements",
		  res.objects, res.ignored, st->local_pods, st->policies, st->sets, st->chains,
		  st->rules, st->elements);
out:
	kn_store_free(s);
	return p;
}

static int
cmd_compile(struct opts *o, char **files, int nfiles)
{
	struct kn_compile_stats st;
	struct kn_program *p;
	struct strbuf sb;
	bool skipped = false;
	int rc = EXIT_FAIL;

	p = load_and_compile(o, files, nfiles, &skipped, &st);
	if (!p)
		return EXIT_FAIL;
	strbuf_init(&sb, 0);
	kn_text_render(p, &sb);
	if (sb.overflow) {
		log_err("the rendered ruleset exceeds the output limit");
		goto out;
	}
	if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len || fflush(stdout) != 0) {
		log_err("writing the ruleset: %s", strerror(errno));
		goto out;
	}
	rc = skipped ? EXIT_SKIPPED : EXIT_OK;
out:
	strbuf_free(&sb);
	kn_program_free(p);
	return rc;
}

/* After an apply: the guard now drops the packets of denied pods, and
 * their open connections to the API server are cut by deleting their
 * conntrack entries.  kube-nftctl does not know what the previous ruleset
 * allowed, so in enforce mode every denied pod's entries go; a failure
 * leaves the ruleset applied and is reported. */
static void
revoke_connections(const struct kn_program *p, const struct kn_compile_stats *st)
{
	struct kn_guard_revocation rv;
	struct kn_ct_stats cst;
	struct kn_err err;

	if (kn_guard_program_mode(p) != KN_GUARD_ENFORCE) {
		if (st->api_denied)
			log_info("api-guard audit: %zu local pod%s would be denied the API server",
				 st->api_denied, st->api_denied == 1 ? "" : "s");
		return;
	}
	if (kn_guard_revoked(NULL, p, &rv) > 0) {
		if (kn_ct_revoke(&rv, &cst, &err) < 0)
			log_warn("api-guard: open connections may remain: %s", err.msg);
		else
			log_info("api-guard: %zu local pod%s denied the API server; %zu open "
				 "connection%s cut",
				 st->api_denied, st->api_denied == 1 ? "" : "s", cst.deleted,
				 cst.deleted == 1 ? "" : "s");
	}
	kn_guard_revocation_free(&rv);
}

static int
cmd_apply(struct opts *o, char **files, int nfiles)
{
	struct kn_compile_stats st;
	struct kn_nl_stats nst;
	struct kn_program *p;
	struct kn_nl *nl = NULL;
	struct kn_err err;
	bool skipped = false;
	double t0;
	int rc = EXIT_FAIL, r;

	p = load_and_compile(o, files, nfiles, &skipped, &st);
	if (!p)
		return EXIT_FAIL;
	nl = kn_nl_open(&err);
	if (!nl) {
		log_err("%s", err.msg);
		goto out;
	}
	t0 = now_ms();
	r = kn_nl_apply(nl, p, &err);
	if (r < 0) {
		log_err("%s", err.msg);
		if (r == -ENOBUFS)
			log_err("the kernel's answer was lost: the ruleset may or may not have "
				"been replaced; apply again");
		else
			log_err("nothing was applied; the previous ruleset is unchanged");
		goto out;
	}
	kn_nl_get_stats(nl, &nst);
	log_info("table inet %s applied: %zu local pods (%zu isolated for ingress, %zu for "
		 "egress), %zu policies, %zu sets, %zu chains, %zu rules, %zu elements; "
		 "%zu messages, %zu bytes, %.1f ms",
		 p->table, st.local_pods, st.isolated_ingress, st.isolated_egress, st.policies,
		 st.sets, st.chains, st.rules, st.elements, nst.messages, nst.bytes, now_ms() - t0);
	revoke_connections(p, &st);
	rc = skipped ? EXIT_SKIPPED : EXIT_OK;
out:
	kn_nl_close(nl);
	kn_program_free(p);
	return rc;
}

static int
cmd_flush(struct opts *o)
{
	struct kn_nl *nl;
	struct kn_err err;
	int rc = EXIT_OK;

	nl = kn_nl_open(&err);
	if (!nl) {
		log_err("%s", err.msg);
		return EXIT_FAIL;
	}
	if (kn_nl_flush(nl, o->table ? o->table : KN_TABLE_NAME, &err) < 0) {
		log_err("%s", err.msg);
		rc = EXIT_FAIL;
	}
	kn_nl_close(nl);
	return rc;
}

/* An endpoint of explain: a pod of the store, or a bare address. */
struct endpoint {
	const char *spec;
	const struct kn_pod *pod;
	struct kn_addr addr;
};

static int
resolve_endpoint(struct kn_store *s, const char *spec, struct endpoint *ret)
{
	const char *slash = strchr(spec, '/');

	memset(ret, 0, sizeof(*ret));
	ret->spec = spec;
	if (kn_addr_parse(spec, &ret->addr) == 0)
		return 0;
	if (slash) {
		char ns[256];

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - spec), spec);
		ret->pod = kn_store_get_pod(s, ns, slash + 1);
	}
	if (!ret->pod) {
		log_err("%s: neither an address nor a pod (NAMESPACE/NAME) of the input", spec);
		return -ENOENT;
	}
	return 0;
}

/* The endpoint's address of the family, or NULL. */
static const struct kn_addr *
endpoint_addr(const struct endpoint *e, int family)
{
	if (!e->pod)
		return e->addr.family == family ? &e->addr : NULL;
	for (size_t i = 0; i < e->pod->nips; i++)
		if (e->pod->ips[i].family == family)
			return &e->pod->ips[i];
	return NULL;
}

/* Evaluates pkt on the program of one node, printing the trace. */
static bool
explain_on(struct opts *o, struct kn_store *s, const char *node, const char *why,
	   const struct kn_packet *pkt, enum kn_hook hook)
{
	struct kn_compile_opts copts;
	struct kn_program *p;
	struct strbuf tr;
	enum kn_eval_verdict v;

	compile_opts(o, node, &copts);
	p = kn_compile(s, &copts, NULL);

	strbuf_init(&tr, 0);
	v = kn_eval(p, pkt, hook, &tr);
	printf("  on node %s (%s):\n", node ? node : "(all)", why);
	for (const char *l = strbuf_str(&tr); *l;) {
		const char *nl = strchr(l, '\n');
		int len = nl ? (int)(nl - l) : (int)strlen(l);

		printf("    %.*s\n", len, l);
		l += len + (nl ? 1 : 0);
	}
	strbuf_free(&tr);
	kn_program_free(p);
	return v == KN_EVAL_ACCEPT;
}

static int
cmd_explain(struct opts *o, char **files, int nfiles)
{
	struct kn_store *s = kn_store_new();
	struct kn_load_result res;
	struct endpoint from, to;
	int proto = 6, rc = EXIT_FAIL, families = 0;
	bool all_allowed = true;

	if (o->proto) {
		if (strcasecmp(o->proto, "tcp") == 0)
			proto = 6;
		else if (strcasecmp(o->proto, "udp") == 0)
			proto = 17;
		else if (strcasecmp(o->proto, "sctp") == 0)
			proto = 132;
		else
			usage_error("invalid protocol '%s' (tcp, udp or sctp)", o->proto);
	}
	if (kn_load_files(s, files, (size_t)nfiles, &res) < 0)
		goto out;
	if (resolve_endpoint(s, o->from, &from) < 0 || resolve_endpoint(s, o->to, &to) < 0)
		goto out;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		const struct kn_addr *sa = endpoint_addr(&from, family);
		const struct kn_addr *da = endpoint_addr(&to, family);
		const char *snode = from.pod ? from.pod->node : NULL;
		const char *dnode = to.pod ? to.pod->node : NULL;
		struct kn_packet pkt;
		char sbuf[64], dbuf[64];
		bool ok = true;

		if (!sa || !da)
			continue;
		families++;
		memset(&pkt, 0, sizeof(pkt));
		pkt.saddr = *sa;
		pkt.daddr = *da;
		pkt.proto = (uint8_t)proto;
		pkt.dport = (uint16_t)(o->port ? o->port : 80);
		printf("%s (%s) -> %s (%s) %s/%u:\n", o->from, kn_addr_fmt(sa, sbuf, sizeof(sbuf)),
		       o->to, kn_addr_fmt(da, dbuf, sizeof(dbuf)), kn_proto_name(proto), pkt.dport);
		/* The source's node judges its egress, the destination's node
		 * its ingress; one node judges both when they share it. */
		if (snode)
			ok = explain_on(o, s, snode, "egress of the source", &pkt, KN_HOOK_FORWARD);
		if (dnode && (!snode || strcmp(snode, dnode) != 0))
			ok = explain_on(o, s, dnode, "ingress of the destination", &pkt,
					KN_HOOK_FORWARD) &&
			     ok;
		printf("  => %s\n", ok ? "allowed" : "denied");
		all_allowed = all_allowed && ok;
	}
	if (families == 0) {
		log_err("%s and %s have no address family in common", o->from, o->to);
		goto out;
	}
	rc = all_allowed ? EXIT_OK : EXIT_DENIED;
out:
	kn_store_free(s);
	return rc;
}

static int
cmd_audit(struct opts *o, char **files, int nfiles)
{
	struct kn_store *s = kn_store_new();
	struct kn_load_result res;
	size_t n;
	int rc = EXIT_FAIL;

	if (kn_load_files(s, files, (size_t)nfiles, &res) < 0)
		goto out;
	/* Without --node, audit the whole cluster: CI has no node. */
	n = kn_audit(s, o->node_given ? o->node : NULL, stdout);
	if (res.invalid)
		log_warn("%zu invalid object%s skipped (see above)", res.invalid,
			 res.invalid == 1 ? "" : "s");
	rc = n || res.invalid ? EXIT_DENIED : EXIT_OK;
out:
	kn_store_free(s);
	return rc;
}

/* One line of api-access. */
struct access_row {
	char *pod, *account;
	const char *verdict;
	char *why;
};

/* Lists the local pods, whether the guard lets them reach the API server
 * and why, then the API server's addresses as the guard matches them. */
static int
cmd_api_access(struct opts *o, char **files, int nfiles)
{
	struct kn_store *s = kn_store_new();
	struct kn_compile_opts copts;
	struct kn_compile_stats st;
	struct kn_load_result res;
	struct kn_pod *const *pods;
	struct access_row *rows = NULL;
	struct kn_program *p = NULL;
	struct kn_rbac *rbac = NULL;
	size_t npods, nrows = 0, cap = 0, wpod = 3, wacc = 7;
	const char *node = o->all_nodes ? NULL : o->node;
	int rc = EXIT_FAIL;

	if (kn_load_files(s, files, (size_t)nfiles, &res) < 0)
		goto out;
	compile_opts(o, node, &copts);
	p = kn_compile(s, &copts, &st);
	rbac = kn_rbac_new(s, NULL, 0);
	npods = kn_store_pods(s, &pods);
	for (size_t i = 0; i < npods; i++) {
		const struct kn_pod *pod = pods[i];
		struct kn_api_verdict v;
		struct access_row *row;

		if (pod->finished || (node && (!pod->node || strcmp(pod->node, node) != 0)))
			continue;
		row = VEC_PUSH(rows, nrows, cap);
		row->pod = xasprintf("%s/%s", pod->ns, pod->name);
		row->account = xasprintf("%s/%s", pod->ns, pod->service_account);
		if (pod->host_network) {
			row->verdict = "-";
			row->why = xstrdup("not guarded: a hostNetwork pod has the node's address");
		} else if (pod->nips == 0) {
			row->verdict = "-";
			row->why = xstrdup("not guarded: no address yet");
		} else {
			kn_rbac_pod(rbac, pod, &v);
			row->verdict = v.allowed ? "allowed" : "denied";
			row->why = xstrdup(v.why);
		}
		if (strlen(row->pod) > wpod)
			wpod = strlen(row->pod);
		if (strlen(row->account) > wacc)
			wacc = strlen(row->account);
	}
	printf("%-*s  %-*s  %-7s  %s\n", (int)wpod, "POD", (int)wacc, "ACCOUNT", "VERDICT",
	       "REASON");
	for (size_t i = 0; i < nrows; i++)
		printf("%-*s  %-*s  %-7s  %s\n", (int)wpod, rows[i].pod, (int)wacc, rows[i].account,
		       rows[i].verdict, rows[i].why);
	printf("\napi-guard %s: %zu pod%s allowed, %zu denied%s\n", kn_guard_mode_name(o->guard),
	       st.api_allowed, st.api_allowed == 1 ? "" : "s", st.api_denied,
	       o->guard == KN_GUARD_ENFORCE ? ""
	       : o->guard == KN_GUARD_OFF   ? " (the guard is off)"
					    : " (audit: counted and logged, not dropped)");
	printf("API server:%s\n", st.api_servers ? ""
						 : " none found (no Service default/kubernetes, "
						   "EndpointSlice or --api-server)");
	for (int f = 0; p && f < 2; f++) {
		const struct kn_set *set =
			kn_program_find_set(p, f ? KN_GUARD_SERVERS_V6 : KN_GUARD_SERVERS_V4);
		char buf[64];

		for (size_t i = 0; set && i < set->nelems; i++) {
			const struct kn_elem *e = &set->elems[i];

			printf("  %s%s%s:", f ? "[" : "", kn_addr_fmt(&e->addr, buf, sizeof(buf)),
			       f ? "]" : "");
			if (e->port == e->port_end)
				printf("%u", e->port);
			else
				printf("%u-%u", e->port, e->port_end);
			printf("/%s  (%s)\n",
			       kn_proto_name(e->proto) ? kn_proto_name(e->proto) : "?",
			       e->comment ? e->comment : "");
		}
	}
	rc = res.invalid ? EXIT_SKIPPED : EXIT_OK;
out:
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].pod);
		free(rows[i].account);
		free(rows[i].why);
	}
	free(rows);
	kn_rbac_free(rbac);
	kn_program_free(p);
	kn_store_free(s);
	return rc;
}

/* Reads the daemon's status from its control socket and prints it. */
static int
cmd_status(struct opts *o)
{
	const char *path = o->control ? o->control : "/run/kube-nftd/control";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[4096];
	ssize_t n;
	int fd, rc = EXIT_FAIL;

	if (strlen(path) >= sizeof(sa.sun_path))
		usage_error("control socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_err("%s: %s (is kube-nftd running?)", path, strerror(errno));
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			goto out;
	if (n < 0) {
		log_err("%s: %s", path, strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
parse_opts(int argc, char **argv, const char *optstring, struct opts *o)
{
	enum { OPT_API_GUARD = 256, OPT_API_SERVER };
	static const struct option longopts[] = {
		{"api-guard", required_argument, NULL, OPT_API_GUARD},
		{"api-server", required_argument, NULL, OPT_API_SERVER},
		{"node", required_argument, NULL, 'n'},
		{"all-nodes", no_argument, NULL, 'A'},
		{"table", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 'd'},
		{"proto", required_argument, NULL, 'p'},
		{"port", required_argument, NULL, 'P'},
		{"control-socket", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->node = optarg;
			o->node_given = true;
			break;
		case 'A':
			o->all_nodes = true;
			break;
		case 't':
			o->table = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'f':
			o->from = optarg;
			break;
		case 'S':
			o->control = optarg;
			break;
		case 'd':
			o->to = optarg;
			break;
		case 'p':
			o->proto = optarg;
			break;
		case 'P': {
			char *end;

			errno = 0;
			o->port = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->port < 0 || o->port > 65535)
				usage_error("invalid port '%s'", optarg);
			break;
		}
		case OPT_API_GUARD:
			if (kn_guard_mode_parse(optarg, &o->guard) < 0)
				usage_error("invalid --api-guard '%s' (off, audit or enforce)",
					    optarg);
			break;
		case OPT_API_SERVER:
			if (o->nservers == ARRAY_SIZE(o->servers))
				usage_error("at most %zu --api-server", ARRAY_SIZE(o->servers));
			if (kn_guard_addr_parse(optarg, &o->servers[o->nservers]) < 0)
				usage_error("invalid --api-server '%s' (ADDR, ADDR:PORT or "
					    "[ADDR]:PORT)",
					    optarg);
			o->nservers++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_OK);
		case 'V':
			printf("kube-nftctl %s\n", PACKAGE_VERSION);
			exit(EXIT_OK);
		default:
			fprintf(stderr, "Try 'kube-nftctl --help' for more information.\n");
			exit(EXIT_USAGE);
		}
	}
	return optind;
}

int
main(int argc, char **argv)
{
	struct opts o;
	const char *cmd;
	char **files;
	int nfiles, sub_argc;
	char **sub_argv;

	memset(&o, 0, sizeof(o));
	/* Options may come before the command ("+" stops there) and after
	 * it, mixed with the file names. */
	parse_opts(argc, argv, "+n:At:vf:d:p:P:S:hV", &o);
	if (optind >= argc)
		usage_error("missing command");
	cmd = argv[optind];
	sub_argc = argc - optind;
	sub_argv = argv + optind;
	optind = 0; /* glibc: a full reset of getopt's state */
	parse_opts(sub_argc, sub_argv, "n:At:vf:d:p:P:S:hV", &o);
	files = sub_argv + optind;
	nfiles = sub_argc - optind;

	log_init("kube-nftctl", o.verbose);
	if (o.table && (strlen(o.table) == 0 || strlen(o.table) > KN_NAME_MAX))
		usage_error("invalid table name '%s'", o.table);
	if (o.node && o.all_nodes)
		usage_error("--node and --all-nodes exclude each other");
	if (!o.node && !o.all_nodes && (o.node = default_node(&o)) == NULL)
		usage_error("cannot determine the host name; use --node");

	if (strcmp(cmd, "compile") == 0 || strcmp(cmd, "apply") == 0) {
		if (nfiles == 0)
			usage_error("%s: at least one FILE (or -) is required", cmd);
		return cmd[0] == 'c' ? cmd_compile(&o, files, nfiles)
				     : cmd_apply(&o, files, nfiles);
	}
	if (strcmp(cmd, "explain") == 0) {
		if (nfiles == 0)
			usage_error("explain: at least one FILE (or -) is required");
		if (!o.from || !o.to)
			usage_error("explain: --from and --to are required");
		return cmd_explain(&o, files, nfiles);
	}
	if (strcmp(cmd, "flush") == 0) {
		if (nfiles)
			usage_error("flush takes no FILE");
		return cmd_flush(&o);
	}
	if (strcmp(cmd, "audit") == 0) {
		if (nfiles == 0)
			usage_error("audit: at least one FILE (or -) is required");
		return cmd_audit(&o, files, nfiles);
	}
	if (strcmp(cmd, "api-access") == 0) {
		if (nfiles == 0)
			usage_error("api-access: at least one FILE (or -) is required");
		return cmd_api_access(&o, files, nfiles);
	}
	if (strcmp(cmd, "status") == 0) {
		if (nfiles)
			usage_error("status takes no FILE");
		return cmd_status(&o);
	}
	if (strcmp(cmd, "version") == 0) {
		printf("kube-nftctl %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	usage_error("unknown command '%s'", cmd);
}
