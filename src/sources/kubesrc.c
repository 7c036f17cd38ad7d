/* The Kubernetes API source: list and watch over the curl multi socket
 * interface, in the daemon's epoll loop.
 *
 * Each resource of the table has a watcher, a small state machine:
 *
 *   (start) --rv unknown--> LISTING --last page--> WATCHING --end--> WATCHING
 *              |                 \                   |  410            ^
 *              |                  `--error-->  BACKOFF <--error--'     |
 *              `--streaming lists--> STREAMING --initial-events-end----'
 *
 * A list (paged, or streamed as a watch with sendInitialEvents) collects
 * decoded objects aside and replaces the resource's objects in the store
 * in one go when it is complete, so the store never holds a half-listed
 * resource.  Watch events change the store as they arrive.  The
 * resourceVersion to watch from is the list's, then the last event's or
 * bookmark's; it is an opaque string, compared for nothing.
 *
 * Curl calls back into this file from curl_multi_socket_action only:
 * the write callback parses and applies events but never adds or removes
 * transfers; transfers end in check_multi, outside curl's callbacks,
 * where the next request is started.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "decode.h"
#include "kubesrc.h"
#include "log.h"
#include "util.h"

/* The body of an error response kept for the message: a Status is a
 * few hundred bytes; the bound keeps a proxy's HTML page short. */
#define ERRBODY_MAX (64u * 1024)
/* Objects reported invalid and not reported again while they stay so
 * (a pod whose status changes every few seconds must not fill the log);
 * past the bound the set starts over, which only repeats a report. */
#define INVALID_MAX 65536
/* A watch that ends this soon without an event failed (client-go's rule):
 * a server that closes every watch at once must meet the backoff. */
#define QUICK_CLOSE_MS 1000
/* Retry-After beyond this is not honoured as such: an hour-long wait on
 * a misconfigured proxy's answer would leave the node's rules stale. */
#define RETRY_AFTER_MAX_MS (5u * 60 * 1000)
/* Distinct connection problems remembered between two recoveries. */
#define CONN_KEYS_MAX 8
/* The annotation of the bookmark that ends a streaming list's initial
 * events. */
#define INITIAL_EVENTS_END "k8s.io/initial-events-end"

/* ------------------------------------------------------------ the table */

const struct kn_kube_resource kn_kube_resources[] = {
	{"namespaces", "", "v1", "Namespace", KN_KIND_NAMESPACE, true, NULL, NULL, NULL},
	{"pods", "", "v1", "Pod", KN_KIND_POD, false, NULL, NULL, NULL},
	{"networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", KN_KIND_NETPOL, false, NULL,
	 NULL, NULL},
	{"serviceaccounts", "", "v1", "ServiceAccount", KN_KIND_SERVICE_ACCOUNT, false, NULL, NULL,
	 NULL},
	{"roles", "rbac.authorization.k8s.io", "v1", "Role", KN_KIND_ROLE, false, NULL, NULL, NULL},
	{"clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole", KN_KIND_CLUSTER_ROLE,
	 true, NULL, NULL, NULL},
	{"rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding", KN_KIND_ROLE_BINDING,
	 false, NULL, NULL, NULL},
	{"clusterrolebindings", "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding",
	 KN_KIND_CLUSTER_ROLE_BINDING, true, NULL, NULL, NULL},
	/* The guard needs the API server's Service and its EndpointSlices
	 * only: watching those few objects (and needing the permission in
	 * namespace default only) beats watching every Service. */
	{"services", "", "v1", "Service", KN_KIND_SERVICE, false, "default",
	 "metadata.name=kubernetes", NULL},
	{"endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", KN_KIND_ENDPOINT_SLICE, false,
	 "default", NULL, "kubernetes.io/service-name=kubernetes"},
};
const size_t kn_kube_nresources = ARRAY_SIZE(kn_kube_resources);

/* ------------------------------------------------------------ options */

void
kn_kubesrc_default_opts(struct kn_kubesrc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->watch_min_s = 300;
	o->watch_max_s = 600;
	o->watch_grace_s = 30;
	o->backoff_min_ms = 800;
	o->backoff_max_ms = 30000;
	o->backoff_reset_ms = 120000;
	o->page_limit = 500;
	o->list_stall_s = 60;
	o->connect_timeout_s = 10;
	o->token_reread_s = 60;
	o->streaming_lists = true;
}

static int
parse_uint(const char *s, const char *end, unsigned *ret)
{
	unsigned long v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 100000000)
			return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

/* "A-B" or "A" (then B = A). */
static int
parse_range(const char *s, const char *end, unsigned *a, unsigned *b)
{
	const char *dash = memchr(s, '-', (size_t)(end - s));

	if (!dash) {
		if (parse_uint(s, end, a) < 0)
			return -EINVAL;
		*b = *a;
		return 0;
	}
	if (parse_uint(s, dash, a) < 0 || parse_uint(dash + 1, end, b) < 0 || *b < *a)
		return -EINVAL;
	return 0;
}

int
kn_kubesrc_parse_tuning(const char *spec, struct kn_kubesrc_opts *o, char *err, size_t errlen)
{
	struct kn_kubesrc_opts t = *o;
	const char *p = spec;

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		size_t n;
		int r = 0;

		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		n = eq ? (size_t)(eq - p) : 0;
		if (!eq)
			r = -EINVAL;
		else if (n == 5 && memcmp(p, "watch", 5) == 0)
			r = parse_range(eq + 1, end, &t.watch_min_s, &t.watch_max_s);
		else if (n == 5 && memcmp(p, "grace", 5) == 0)
			r = parse_uint(eq + 1, end, &t.watch_grace_s);
		else if (n == 7 && memcmp(p, "backoff", 7) == 0)
			r = parse_range(eq + 1, end, &t.backoff_min_ms, &t.backoff_max_ms);
		else if (n == 5 && memcmp(p, "reset", 5) == 0)
			r = parse_uint(eq + 1, end, &t.backoff_reset_ms);
		else if (n == 4 && memcmp(p, "page", 4) == 0)
			r = parse_uint(eq + 1, end, &t.page_limit);
		else if (n == 5 && memcmp(p, "stall", 5) == 0)
			r = parse_uint(eq + 1, end, &t.list_stall_s);
		else if (n == 7 && memcmp(p, "connect", 7) == 0)
			r = parse_uint(eq + 1, end, &t.connect_timeout_s);
		else if (n == 5 && memcmp(p, "token", 5) == 0)
			r = parse_uint(eq + 1, end, &t.token_reread_s);
		else if (n == 9 && memcmp(p, "streaming", 9) == 0) {
			unsigned v;

			r = parse_uint(eq + 1, end, &v);
			if (r == 0 && v > 1)
				r = -EINVAL;
			t.streaming_lists = v == 1;
		} else
			r = -EINVAL;
		if (r == 0 && (t.watch_min_s < 1 || t.backoff_min_ms < 1 || t.page_limit < 1 ||
			       t.list_stall_s < 1 || t.connect_timeout_s < 1))
			r = -EINVAL;
		if (r < 0) {
			snprintf(err, errlen, "bad tuning setting '%.*s'", (int)(end - p), p);
			return -EINVAL;
		}
		p = *end ? end + 1 : end;
	}
	*o = t;
	return 0;
}

/* ------------------------------------------------------------ backoff */

uint64_t
kn_backoff_next(struct kn_backoff *b, const struct kn_kubesrc_opts *o, uint64_t now_ms, double rnd)
{
	uint64_t base;

	if (!b->next_ms || now_ms - b->last_fail_ms >= o->backoff_reset_ms)
		b->next_ms = o->backoff_min_ms;
	base = b->next_ms;
	b->next_ms = base * 2 > o->backoff_max_ms ? o->backoff_max_ms : base * 2;
	if (b->next_ms < base)
		b->next_ms = base;
	b->last_fail_ms = now_ms;
	/* Jitter 1.0, as client-go: nodes that lost the server together
	 * do not come back together. */
	return base + (uint64_t)(rnd * (double)base);
}

/* ------------------------------------------------------------ splitter */

/* Grows b to hold one more byte and a NUL. */
static inline void
jb_push(struct kn_jbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = xrealloc(b->p, b->cap);
	}
	b->p[b->len++] = c;
}

static void
jb_free(struct kn_jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
kn_jsplit_init(struct kn_jsplit *j, enum kn_jsplit_mode mode, size_t max)
{
	memset(j, 0, sizeof(*j));
	j->mode = mode;
	j->max = max;
}

void
kn_jsplit_reset(struct kn_jsplit *j)
{
	struct kn_jbuf val = j->val, head = j->head;
	enum kn_jsplit_mode mode = j->mode;
	size_t max = j->max;

	memset(j, 0, sizeof(*j));
	j->val = val;
	j->head = head;
	j->val.len = j->head.len = 0;
	j->mode = mode;
	j->max = max;
}

void
kn_jsplit_free(struct kn_jsplit *j)
{
	jb_free(&j->val);
	jb_free(&j->head);
}

static inline void
val_push(struct kn_jsplit *j, char c)
{
	j->val_size++;
	if (j->oversized)
		return;
	if (j->val.len >= j->max) {
		/* Keep the beginning only: it names the object. */
		j->oversized = true;
		if (j->val.len > KN_JSPLIT_PREFIX)
			j->val.len = KN_JSPLIT_PREFIX;
		return;
	}
	jb_push(&j->val, c);
}

static inline int
head_push(struct kn_jsplit *j, char c)
{
	if (j->head.len >= KN_JSPLIT_HEAD_MAX)
		return -EMSGSIZE;
	jb_push(&j->head, c);
	return 0;
}

static void
start_value(struct kn_jsplit *j, bool scalar)
{
	j->collecting = true;
	j->scalar = scalar;
	j->oversized = false;
	j->val_depth = j->depth;
	j->val.len = 0;
	j->val_size = 0;
}

static int
emit(struct kn_jsplit *j, kn_jsplit_cb cb, void *arg)
{
	int r;

	if (!j->val.p)
		jb_push(&j->val, '\0'), j->val.len = 0;
	j->val.p[j->val.len] = '\0';
	r = cb(arg, j->oversized ? KN_JSPLIT_OVERSIZED : KN_JSPLIT_VALUE, j->val.p, j->val.len,
	       j->val_size);
	j->collecting = j->scalar = j->oversized = false;
	j->val.len = 0;
	j->val_size = 0;
	/* A big object passed: do not keep its buffer for the small ones. */
	if (j->val.cap > 1024 * 1024)
		jb_free(&j->val);
	return r;
}

/* Where values start: top level for a stream, the items array's
 * elements for a list. */
static inline bool
at_capture(const struct kn_jsplit *j)
{
	if (j->mode == KN_JSPLIT_STREAM)
		return j->depth == 0;
	return j->in_items && j->depth == 2;
}

static inline bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
kn_jsplit_feed(struct kn_jsplit *j, const char *data, size_t len, kn_jsplit_cb cb, void *arg)
{
	bool list = j->mode == KN_JSPLIT_LIST;
	int r;

	for (size_t i = 0; i < len; i++) {
		char c = data[i];

		j->offset++;
		if (j->in_str) {
			bool closing = !j->esc && c == '"';

			if (j->collecting)
				val_push(j, c);
			else if (list && (r = head_push(j, c)) < 0)
				return r;
			if (j->key_str && !closing) {
				if (j->keylen + 1 < sizeof(j->key))
					j->key[j->keylen++] = c;
				else
					j->key_long = true;
			}
			if (j->esc)
				j->esc = false;
			else if (c == '\\')
				j->esc = true;
			else if (closing) {
				j->in_str = false;
				j->key_str = false;
				if (j->collecting && j->scalar && (r = emit(j, cb, arg)) != 0)
					return r;
			}
			continue;
		}
		if (j->collecting && j->scalar) {
			/* A bare number or literal ends at a delimiter,
			 * which is then read as usual. */
			if (!is_space(c) && c != ',' && c != ']' && c != '}') {
				val_push(j, c);
				continue;
			}
			if ((r = emit(j, cb, arg)) != 0)
				return r;
		}
		switch (c) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			if (j->collecting)
				val_push(j, c);
			break;
		case '"':
			if (!j->collecting && at_capture(j))
				start_value(j, true);
			j->in_str = true;
			if (j->collecting) {
				val_push(j, c);
			} else if (list) {
				if ((r = head_push(j, c)) < 0)
					return r;
				if (j->depth == 1) {
					j->key_str = true;
					j->keylen = 0;
					j->key_long = false;
				}
			}
			break;
		case '{':
		case '[':
			if (!j->collecting && at_capture(j))
				start_value(j, false);
			j->depth++;
			if (j->collecting) {
				val_push(j, c);
			} else if (list) {
				if ((r = head_push(j, c)) < 0)
					return r;
				if (c == '[' && j->depth == 2 && !j->key_long && j->keylen == 5 &&
				    memcmp(j->key, "items", 5) == 0)
					j->in_items = true;
			}
			break;
		case '}':
		case ']':
			if (j->depth == 0)
				return -EBADMSG;
			j->depth--;
			if (j->collecting) {
				val_push(j, c);
				if (j->depth == j->val_depth && (r = emit(j, cb, arg)) != 0)
					return r;
			} else if (list) {
				if (j->in_items && j->depth == 1)
					j->in_items = false;
				if ((r = head_push(j, c)) < 0)
					return r;
			}
			break;
		default:
			if (j->collecting) {
				val_push(j, c);
			} else if (at_capture(j)) {
				/* Separators between values are dropped, so
				 * that the head reads "items":[]. */
				if (c != ',') {
					start_value(j, true);
					val_push(j, c);
				}
			} else if (list && (r = head_push(j, c)) < 0) {
				return r;
			}
			break;
		}
	}
	return 0;
}

int
kn_jsplit_finish(struct kn_jsplit *j, kn_jsplit_cb cb, void *arg)
{
	int r;

	if (j->collecting && j->scalar && !j->in_str && (r = emit(j, cb, arg)) != 0)
		return r;
	if (j->collecting || j->in_str || j->depth)
		return -EBADMSG;
	return 0;
}

const char *
kn_jsplit_head(struct kn_jsplit *j, size_t *ret_len)
{
	if (!j->head.p)
		jb_push(&j->head, '\0'), j->head.len = 0;
	j->head.p[j->head.len] = '\0';
	*ret_len = j->head.len;
	return j->head.p;
}

/* Copies the string value after pattern (a key and its colon) found in
 * [p, end); false when absent, not closed before end, or too long. */
static bool
find_str_value(const char *p, const char *end, const char *pattern, char *ret, size_t retlen)
{
	size_t plen = strlen(pattern);

	for (; p + plen < end; p++) {
		const char *v, *q;

		if (*p != '"' || memcmp(p, pattern, plen) != 0)
			continue;
		v = p + plen;
		while (v < end && is_space(*v))
			v++;
		if (v >= end || *v != '"')
			return false;
		v++;
		for (q = v; q < end && *q != '"' && *q != '\\'; q++)
			;
		if (q >= end || *q != '"' || (size_t)(q - v) >= retlen)
			return false;
		memcpy(ret, v, (size_t)(q - v));
		ret[q - v] = '\0';
		return true;
	}
	return false;
}

bool
kn_json_prefix_meta(const char *buf, size_t len, const char *field, char *ret, size_t retlen)
{
	const char *end = buf + len, *meta = NULL;
	char pattern[64];

	for (const char *p = buf; p + 11 < end; p++)
		if (memcmp(p, "\"metadata\"", 10) == 0) {
			meta = p + 10;
			break;
		}
	if (!meta || strlen(field) + 4 > sizeof(pattern))
		return false;
	/* The API server writes metadata's scalar fields (name, namespace,
	 * resourceVersion) before its maps (labels, annotations), and the
	 * key with its quotes cannot match "generateName". */
	snprintf(pattern, sizeof(pattern), "\"%s\":", field);
	return find_str_value(meta, end, pattern, ret, retlen);
}

/* ------------------------------------------------------------ the source */

enum wstate {
	W_IDLE,
	W_BACKOFF,
	W_LISTING,
	W_STREAMING, /* a streaming list, before its initial-events-end bookmark */
	W_WATCHING,
};

enum req_kind {
	REQ_LIST,
	REQ_WATCH,
	REQ_STREAM,
};

/* Why the write callback stopped a transfer. */
enum abort_reason {
	AB_NONE,
	AB_EXPIRED,	/* an ERROR event with a 410 Status */
	AB_ERROR_EVENT, /* an ERROR event with another Status */
	AB_MALFORMED,	/* not JSON, or not a watch event */
	AB_RELIST,	/* an event was lost (an oversized one that cannot be named) */
};

/* An object of a list in progress. */
struct pend {
	char *ns; /* NULL for cluster-scoped kinds */
	char *name;
	size_t seq; /* arrival order: the last of duplicates wins */
	struct kn_object obj;
};

struct watcher {
	struct kn_kubesrc *k;
	const struct kn_kube_resource *res;
	CURL *easy;
	struct curl_slist *headers;
	bool active; /* easy is in the multi handle */
	struct kn_timer *timer;
	enum wstate state;
	enum req_kind req;
	char *rv;	 /* where to watch from; NULL: list first */
	char *cont;	 /* the next page's continue token */
	bool consistent; /* list from etcd, not the cache (after a 410) */
	struct pend *pend;
	size_t npend, pendcap, seq;
	size_t pages;
	uint64_t list_start_ms;
	struct kn_jsplit js;
	long status; /* HTTP status of the response; 0 before its headers */
	struct kn_jbuf errbody;
	enum abort_reason abort;
	char abort_msg[KN_ERR_MAX];
	uint64_t req_start_ms;
	unsigned req_timeout_s;
	size_t req_events;
	char unknown_type[32]; /* the last unknown event type reported */
	bool synced;
	bool failing;	   /* a failure was reported; the next success says so */
	bool failing_conn; /* ... a connection failure: "reachable again" says it */
	char fail_key[64]; /* what the last report was about */
	uint64_t *invalid; /* hashes of the objects reported invalid */
	size_t ninvalid, invalid_cap;
	struct kn_backoff bo;
	char errbuf[CURL_ERROR_SIZE];
	/* For status. */
	char last_error[KN_ERR_MAX];
	time_t last_error_time, last_event_time;
	uint64_t retry_at_ms;
	uint64_t lists, watches, events, errors, invalid_objects, oversized;
};

struct kn_kubesrc {
	struct kn_loop *l;
	struct kn_store *s;
	struct kn_kubeconf conf;
	struct kn_kubesrc_opts o;
	kn_kubesrc_report report;
	kn_kubesrc_changed changed;
	void *arg;
	CURLM *multi;
	struct kn_timer *curl_timer;
	struct curl_slist *connect_to;
	char *base; /* the server URL requests start with */
	int ca_fd;  /* certificate-authority-data for curl without CAINFO_BLOB */
	struct watcher *w;
	size_t nw;
	char *token;
	uint64_t token_read_ms;
	bool token_failing;
	bool stream_unsupported;
	bool synced;
	uint64_t open_ms, sync_ms;
	bool curl_inited;
	size_t changes;
	long http_version;
	/* Connection problems reported since the server was last reachable:
	 * several may alternate (a cut stream, then a 401) and each is said
	 * once; past CONN_KEYS_MAX the oldest is forgotten. */
	char conn_keys[CONN_KEYS_MAX][64];
	size_t nconn_keys;
	uint64_t conn_fail_ms; /* when one was last seen */
	uint64_t rnd;
};

static void report(struct kn_kubesrc *k, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
report(struct kn_kubesrc *k, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!k->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k->report(k->arg, level, msg);
}

/* xorshift64*: jitter only, no secrets. */
static double
rnd01(struct kn_kubesrc *k)
{
	k->rnd ^= k->rnd >> 12;
	k->rnd ^= k->rnd << 25;
	k->rnd ^= k->rnd >> 27;
	return (double)((k->rnd * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static void start(struct watcher *w);

/* ------------------------------------------------------------ pending */

static void
pend_clear(struct watcher *w)
{
	for (size_t i = 0; i < w->npend; i++) {
		free(w->pend[i].ns);
		free(w->pend[i].name);
		kn_object_free(&w->pend[i].obj);
	}
	w->npend = 0;
	w->seq = 0;
	if (w->pendcap > 1024) {
		free(w->pend);
		w->pend = NULL;
		w->pendcap = 0;
	}
}

static int
key_cmp(const char *ans, const char *aname, const char *bns, const char *bname)
{
	int c = strcmp(ans ? ans : "", bns ? bns : "");

	return c ? c : strcmp(aname, bname);
}

static int
pend_cmp(const void *a, const void *b)
{
	const struct pend *x = a, *y = b;
	int c = key_cmp(x->ns, x->name, y->ns, y->name);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct key {
	char *ns;
	char *name;
};

struct stale {
	struct watcher *w;
	struct key *keys;
	size_t n, cap;
};

static void
collect_stale(void *arg, const struct kn_object *obj, const char *ns, const char *name)
{
	struct stale *st = arg;
	struct watcher *w = st->w;
	size_t lo = 0, hi = w->npend;
	struct key *k;

	(void)obj;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(w->pend[mid].ns, w->pend[mid].name, ns, name);

		if (c == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	k = VEC_PUSH(st->keys, st->n, st->cap);
	k->ns = ns ? xstrdup(ns) : NULL;
	k->name = xstrdup(name);
}

/* The list is the whole truth for the resource: its objects replace the
 * store's, and those it lacks were deleted while we were away. */
static size_t
replace(struct watcher *w)
{
	struct kn_kubesrc *k = w->k;
	struct stale st = {.w = w};
	size_t j = 0, changes = 0;

	sort_array(w->pend, w->npend, sizeof(*w->pend), pend_cmp);
	/* Of duplicates (a streaming list may send an object twice), the
	 * last one wins. */
	for (size_t i = 0; i < w->npend; i++) {
		if (i + 1 < w->npend && key_cmp(w->pend[i].ns, w->pend[i].name, w->pend[i + 1].ns,
						w->pend[i + 1].name) == 0) {
			free(w->pend[i].ns);
			free(w->pend[i].name);
			kn_object_free(&w->pend[i].obj);
			continue;
		}
		w->pend[j++] = w->pend[i];
	}
	w->npend = j;
	kn_store_foreach(k->s, w->res->kn_kind, collect_stale, &st);
	/* Deleted after the walk: a delete moves entries of the table. */
	for (size_t i = 0; i < st.n; i++) {
		if (kn_store_delete(k->s, w->res->kn_kind, st.keys[i].ns, st.keys[i].name) == 0)
			changes++;
		free(st.keys[i].ns);
		free(st.keys[i].name);
	}
	free(st.keys);
	for (size_t i = 0; i < w->npend; i++) {
		free(w->pend[i].ns);
		free(w->pend[i].name);
		kn_store_put(k->s, &w->pend[i].obj);
		changes++;
	}
	w->npend = 0;
	w->seq = 0;
	pend_clear(w);
	return changes;
}

/* ------------------------------------------------------------ objects */

static uint64_t
key_hash(const char *ns, const char *name)
{
	uint64_t h = hash64(ns ? ns : "", ns ? strlen(ns) + 1 : 1, HASH64_SEED);

	h = hash64(name, strlen(name), h);
	return h ? h : 1;
}

/* The set of objects reported invalid: open addressing on the key's
 * hash (never 0, which marks a free slot), linear probing, backward-shift
 * deletion; at most half full. */
static size_t
invalid_slot(const struct watcher *w, uint64_t h)
{
	size_t mask = w->invalid_cap - 1, i = h & mask;

	while (w->invalid[i] && w->invalid[i] != h)
		i = (i + 1) & mask;
	return i;
}

/* Returns true when the object was not already known invalid. */
static bool
invalid_add(struct watcher *w, uint64_t h)
{
	size_t i;

	if (w->invalid_cap && w->invalid[invalid_slot(w, h)] == h)
		return false;
	if ((w->ninvalid + 1) * 2 > w->invalid_cap) {
		uint64_t *old = w->invalid;
		size_t ocap = w->invalid_cap;

		if (ocap * 2 > INVALID_MAX) {
			/* Full: start over (reports repeat, memory does not
			 * grow). */
			memset(w->invalid, 0, ocap * sizeof(*w->invalid));
			w->ninvalid = 0;
		} else {
			w->invalid_cap = ocap ? ocap * 2 : 64;
			w->invalid = xcalloc(w->invalid_cap, sizeof(*w->invalid));
			w->ninvalid = 0;
			for (size_t j = 0; j < ocap; j++)
				if (old[j]) {
					w->invalid[invalid_slot(w, old[j])] = old[j];
					w->ninvalid++;
				}
			free(old);
		}
	}
	i = invalid_slot(w, h);
	w->invalid[i] = h;
	w->ninvalid++;
	return true;
}

static void
invalid_forget(struct watcher *w, uint64_t h)
{
	size_t mask, i, j;

	if (!w->ninvalid)
		return;
	mask = w->invalid_cap - 1;
	i = invalid_slot(w, h);
	if (!w->invalid[i])
		return;
	w->invalid[i] = 0;
	w->ninvalid--;
	for (j = (i + 1) & mask; w->invalid[j]; j = (j + 1) & mask) {
		size_t home = w->invalid[j] & mask;

		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		w->invalid[i] = w->invalid[j];
		w->invalid[j] = 0;
		i = j;
	}
}

/* The object's key from its metadata: 0, or -EINVAL without a name. */
static int
meta_key(const struct watcher *w, json_t *obj, const char **ret_ns, const char **ret_name)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));

	if (!name || !*name)
		return -EINVAL;
	if (w->res->cluster_scoped)
		ns = NULL;
	else if (!ns || !*ns)
		ns = "default"; /* as decode.c places it */
	*ret_ns = ns;
	*ret_name = name;
	return 0;
}

static const char *
meta_rv(json_t *obj)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));

	return rv && *rv ? rv : NULL;
}

static void
set_rv(struct watcher *w, const char *rv)
{
	if (!rv || (w->rv && strcmp(w->rv, rv) == 0))
		return;
	free(w->rv);
	w->rv = xstrdup(rv);
}

/* Items of a list carry no kind (the list does); events do. */
static void
fill_kind(const struct watcher *w, json_t *obj)
{
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(w->res->kind));
	if (!json_object_get(obj, "apiVersion")) {
		char av[128];

		if (*w->res->group)
			snprintf(av, sizeof(av), "%s/%s", w->res->group, w->res->version);
		else
			snprintf(av, sizeof(av), "%s", w->res->version);
		json_object_set_new(obj, "apiVersion", json_string(av));
	}
}

/* Decodes obj.  Returns 1 with *ret filled, 0 when it is to be left out
 * (invalid, reported once; or a kind the decoder ignores). */
static int
decode(struct watcher *w, json_t *obj, const char *ns, const char *name, struct kn_object *ret)
{
	struct kn_kubesrc *k = w->k;
	struct kn_object o;
	struct kn_err err;
	uint64_t h = key_hash(ns, name);

	fill_kind(w, obj);
	if (kn_decode_object(obj, &o, &err) < 0) {
		w->invalid_objects++;
		if (invalid_add(w, h))
			report(k, LOG_LVL_ERR, "%s: %s; skipped", w->res->name, err.msg);
		return 0;
	}
	invalid_forget(w, h);
	if (o.kind == KN_KIND_OTHER)
		return 0;
	if (o.kind != w->res->kn_kind) {
		w->invalid_objects++;
		if (invalid_add(w, h))
			report(k, LOG_LVL_ERR, "%s: %s %s%s%s is a %s; skipped", w->res->name,
			       w->res->kind, ns ? ns : "", ns ? "/" : "", name,
			       kn_kind_name(o.kind));
		kn_object_free(&o);
		return 0;
	}
	*ret = o;
	return 1;
}

static void
pend_add(struct watcher *w, json_t *obj)
{
	const char *ns, *name;
	struct kn_object o;
	struct pend *p;

	if (meta_key(w, obj, &ns, &name) < 0) {
		w->invalid_objects++;
		report(w->k, LOG_LVL_ERR, "%s: an object without metadata.name; skipped",
		       w->res->name);
		return;
	}
	if (!decode(w, obj, ns, name, &o))
		return;
	p = VEC_PUSH(w->pend, w->npend, w->pendcap);
	p->ns = ns ? xstrdup(ns) : NULL;
	p->name = xstrdup(name);
	p->seq = w->seq++;
	p->obj = o;
}

/* A DELETED event during a streaming list's initial events. */
static void
pend_remove(struct watcher *w, const char *ns, const char *name)
{
	for (size_t i = 0; i < w->npend;) {
		struct pend *p = &w->pend[i];

		if (key_cmp(p->ns, p->name, ns, name) != 0) {
			i++;
			continue;
		}
		free(p->ns);
		free(p->name);
		kn_object_free(&p->obj);
		*p = w->pend[--w->npend];
	}
}

static void
store_delete(struct watcher *w, const char *ns, const char *name)
{
	if (kn_store_delete(w->k->s, w->res->kn_kind, ns, name) == 0)
		w->k->changes++;
}

/* ADDED, MODIFIED or DELETED after the list: straight into the store. */
static void
apply(struct watcher *w, const char *type, json_t *obj)
{
	const char *ns, *name;
	struct kn_object o;

	if (meta_key(w, obj, &ns, &name) < 0) {
		w->invalid_objects++;
		report(w->k, LOG_LVL_ERR, "%s: a %s event without metadata.name; ignored",
		       w->res->name, type);
		return;
	}
	if (strcmp(type, "DELETED") == 0) {
		invalid_forget(w, key_hash(ns, name));
		store_delete(w, ns, name);
		return;
	}
	/* An object that became invalid leaves the store, as a relist
	 * would leave it out. */
	if (!decode(w, obj, ns, name, &o)) {
		store_delete(w, ns, name);
		return;
	}
	kn_store_put(w->k->s, &o);
	w->k->changes++;
}

/* ------------------------------------------------------------ sync */

static bool
all_synced(const struct kn_kubesrc *k)
{
	for (size_t i = 0; i < k->nw; i++)
		if (!k->w[i].synced)
			return false;
	return true;
}

/* A problem is over: say so once. */
static void
recovered(struct watcher *w)
{
	if (!w->failing)
		return;
	w->failing = false;
	w->fail_key[0] = '\0';
	if (w->failing_conn)
		return;
	report(w->k, LOG_LVL_NOTICE, "%s: recovered, %s", w->res->name,
	       w->state == W_WATCHING ? "watching again" : "listing again");
}

static void
list_done(struct watcher *w, const char *rv)
{
	struct kn_kubesrc *k = w->k;
	size_t n = w->npend;
	uint64_t ms = kn_now_ms() - w->list_start_ms;

	k->changes += replace(w) + 1;
	set_rv(w, rv);
	free(w->cont);
	w->cont = NULL;
	w->consistent = false;
	report(k, LOG_LVL_INFO,
	       "%s: listed %zu object%s at resourceVersion %s (%s%zu page%s, %llu ms)",
	       w->res->name, n, n == 1 ? "" : "s", rv, w->req == REQ_STREAM ? "streamed, " : "",
	       w->pages, w->pages == 1 ? "" : "s", (unsigned long long)ms);
	w->lists++;
	w->state = W_WATCHING;
	recovered(w);
	if (!w->synced) {
		w->synced = true;
		if (!k->synced && all_synced(k)) {
			k->synced = true;
			k->sync_ms = kn_now_ms() - k->open_ms;
			if (!k->sync_ms)
				k->sync_ms = 1;
			report(k, LOG_LVL_INFO, "all %zu resources listed in %llu ms", k->nw,
			       (unsigned long long)k->sync_ms);
		}
	}
}

/* ------------------------------------------------------------ values */

static void abort_with(struct watcher *w, enum abort_reason why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
abort_with(struct watcher *w, enum abort_reason why, const char *fmt, ...)
{
	va_list ap;

	if (w->abort != AB_NONE)
		return;
	w->abort = why;
	va_start(ap, fmt);
	vsnprintf(w->abort_msg, sizeof(w->abort_msg), fmt, ap);
	va_end(ap);
}

static void
oversized_msg(struct watcher *w, const char *buf, size_t len, size_t size, const char *what)
{
	char ns[256] = "", name[256] = "?";

	kn_json_prefix_meta(buf, len, "name", name, sizeof(name));
	if (!w->res->cluster_scoped)
		kn_json_prefix_meta(buf, len, "namespace", ns, sizeof(ns));
	w->oversized++;
	report(w->k, LOG_LVL_ERR, "%s: %s %s%s%s: %zu bytes, over the %u MiB limit; %s",
	       w->res->name, w->res->kind, ns, *ns ? "/" : "", name, size, KN_KUBE_OBJECT_MAX >> 20,
	       what);
}

static int
list_value(void *arg, enum kn_jsplit_what what, const char *buf, size_t len, size_t size)
{
	struct watcher *w = arg;
	json_error_t jerr;
	json_t *obj;

	if (what == KN_JSPLIT_OVERSIZED) {
		/* Left out, like an invalid object: the relist deletes an
		 * older version the store may hold. */
		oversized_msg(w, buf, len, size, "skipped");
		return 0;
	}
	obj = json_loadb(buf, len, 0, &jerr);
	if (!json_is_object(obj)) {
		abort_with(w, AB_MALFORMED, "malformed list item: %s",
			   obj ? "not an object" : jerr.text);
		json_decref(obj);
		return -EBADMSG;
	}
	pend_add(w, obj);
	json_decref(obj);
	return 0;
}

/* An event too large to keep.  Named from its beginning, it is handled
 * as an invalid object; unnamed, it is a lost event: relist. */
static int
watch_oversized(struct watcher *w, const char *buf, size_t len, size_t size)
{
	char type[16] = "", ns[256] = "", name[256] = "", rv[256] = "";
	const char *end = buf + (len < 64 ? len : 64);

	w->events++;
	if (!find_str_value(buf, end, "\"type\":", type, sizeof(type)) ||
	    !kn_json_prefix_meta(buf, len, "name", name, sizeof(name)) ||
	    (!w->res->cluster_scoped &&
	     !kn_json_prefix_meta(buf, len, "namespace", ns, sizeof(ns)))) {
		w->oversized++;
		abort_with(w, AB_RELIST,
			   "a watch event of %zu bytes, over the %u MiB limit, that cannot be "
			   "named",
			   size, KN_KUBE_OBJECT_MAX >> 20);
		return -EMSGSIZE;
	}
	oversized_msg(w, buf, len, size,
		      strcmp(type, "DELETED") == 0 ? "deleted" : "left out until it shrinks");
	if (w->state == W_STREAMING)
		pend_remove(w, w->res->cluster_scoped ? NULL : ns, name);
	else
		store_delete(w, w->res->cluster_scoped ? NULL : ns, name);
	if (w->state != W_STREAMING &&
	    kn_json_prefix_meta(buf, len, "resourceVersion", rv, sizeof(rv)))
		set_rv(w, rv);
	return 0;
}

static void
error_event(struct watcher *w, json_t *status)
{
	json_int_t code = json_integer_value(json_object_get(status, "code"));
	const char *reason = json_string_value(json_object_get(status, "reason"));
	const char *msg = json_string_value(json_object_get(status, "message"));

	if (code == 410)
		abort_with(w, AB_EXPIRED, "%s", msg ? msg : "resource version expired");
	else
		abort_with(w, AB_ERROR_EVENT, "ERROR event: %lld %s: %s", (long long)code,
			   reason ? reason : "", msg ? msg : "(no message)");
}

static int
watch_value(void *arg, enum kn_jsplit_what what, const char *buf, size_t len, size_t size)
{
	struct watcher *w = arg;
	const char *type, *rv;
	json_error_t jerr;
	json_t *ev, *obj;

	if (what == KN_JSPLIT_OVERSIZED)
		return watch_oversized(w, buf, len, size);
	ev = json_loadb(buf, len, 0, &jerr);
	type = json_string_value(json_object_get(ev, "type"));
	obj = json_object_get(ev, "object");
	if (!ev || !type || !json_is_object(obj)) {
		abort_with(w, AB_MALFORMED, "malformed watch event: %s",
			   !ev ? jerr.text : "not an object with type and object");
		json_decref(ev);
		return -EBADMSG;
	}
	w->events++;
	w->req_events++;
	w->last_event_time = time(NULL);
	rv = meta_rv(obj);
	if (strcmp(type, "BOOKMARK") == 0) {
		json_t *ann = json_object_get(json_object_get(obj, "metadata"), "annotations");
		const char *end = json_string_value(json_object_get(ann, INITIAL_EVENTS_END));

		if (w->state == W_STREAMING) {
			/* Versions inside the initial events are not a
			 * point to resume from: only the end is. */
			if (end && strcmp(end, "true") == 0 && rv)
				list_done(w, rv);
		} else {
			set_rv(w, rv);
			recovered(w);
		}
	} else if (strcmp(type, "ERROR") == 0) {
		error_event(w, obj);
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
		   strcmp(type, "DELETED") == 0) {
		if (w->state == W_STREAMING) {
			const char *ns, *name;

			if (type[0] != 'D')
				pend_add(w, obj);
			else if (meta_key(w, obj, &ns, &name) == 0)
				pend_remove(w, ns, name);
		} else {
			apply(w, type, obj);
			set_rv(w, rv);
			recovered(w);
		}
	} else {
		/* client-go logs and goes on; so do we, once per type. */
		if (strncmp(w->unknown_type, type, sizeof(w->unknown_type) - 1) != 0) {
			snprintf(w->unknown_type, sizeof(w->unknown_type), "%s", type);
			report(w->k, LOG_LVL_WARNING,
			       "%s: unknown watch event type '%.32s' ignored", w->res->name, type);
		}
	}
	json_decref(ev);
	return w->abort != AB_NONE ? -ECANCELED : 0;
}

/* ------------------------------------------------------------ requests */

static void
append_escaped(struct strbuf *sb, CURL *e, const char *s)
{
	char *x = curl_easy_escape(e, s, 0);

	strbuf_puts(sb, x ? x : "");
	curl_free(x);
}

static char *
build_url(struct watcher *w, enum req_kind req, unsigned timeout_s)
{
	const struct kn_kube_resource *r = w->res;
	struct kn_kubesrc *k = w->k;
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, k->base);
	if (*r->group)
		strbuf_printf(&sb, "/apis/%s/%s", r->group, r->version);
	else
		strbuf_printf(&sb, "/api/%s", r->version);
	if (r->ns)
		strbuf_printf(&sb, "/namespaces/%s", r->ns);
	strbuf_printf(&sb, "/%s?", r->name);
	switch (req) {
	case REQ_LIST:
		strbuf_printf(&sb, "limit=%u", k->o.page_limit);
		if (w->cont) {
			strbuf_puts(&sb, "&continue=");
			append_escaped(&sb, w->easy, w->cont);
		} else if (!w->consistent) {
			/* Served from the API server's cache: cheap at
			 * scale.  After a 410, read from etcd: the cache may
			 * be older than what we had. */
			strbuf_puts(&sb, "&resourceVersion=0");
		}
		break;
	case REQ_STREAM:
		/* No resourceVersion: the initial events are as fresh as a
		 * consistent read. */
		strbuf_printf(&sb,
			      "watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
			      "&allowWatchBookmarks=true&timeoutSeconds=%u",
			      timeout_s);
		break;
	case REQ_WATCH:
		strbuf_puts(&sb, "watch=1&allowWatchBookmarks=true&resourceVersion=");
		append_escaped(&sb, w->easy, w->rv);
		strbuf_printf(&sb, "&timeoutSeconds=%u", timeout_s);
		break;
	}
	if (r->field_selector) {
		strbuf_puts(&sb, "&fieldSelector=");
		append_escaped(&sb, w->easy, r->field_selector);
	}
	if (r->label_selector) {
		strbuf_puts(&sb, "&labelSelector=");
		append_escaped(&sb, w->easy, r->label_selector);
	}
	return strbuf_steal(&sb);
}

/* The bearer token: a file is read again when older than token_reread_s
 * (bound tokens rotate hourly; the kubelet swaps the file atomically, so
 * it is opened by path each time) or when forced, after a 401. */
static void
refresh_token(struct kn_kubesrc *k, bool force)
{
	uint64_t now = kn_now_ms();
	char *t;
	int r;

	if (!k->conf.token_file) {
		if (!k->token && k->conf.token)
			k->token = xstrdup(k->conf.token);
		return;
	}
	if (!force && k->token && now - k->token_read_ms < (uint64_t)k->o.token_reread_s * 1000)
		return;
	k->token_read_ms = now;
	r = kn_token_read(k->conf.token_file, &t);
	if (r < 0) {
		if (!k->token_failing)
			report(k, LOG_LVL_ERR, "token file %s: %s; %s", k->conf.token_file,
			       r == -ENODATA	? "empty"
			       : r == -EMSGSIZE ? "larger than 64 KiB"
						: strerror(-r),
			       k->token ? "keeping the token read before" : "sending no token");
		k->token_failing = true;
		return;
	}
	if (k->token_failing)
		report(k, LOG_LVL_NOTICE, "token file %s readable again", k->conf.token_file);
	k->token_failing = false;
	if (k->token && strcmp(k->token, t) == 0) {
		explicit_bzero(t, strlen(t));
		free(t);
		return;
	}
	if (k->token) {
		report(k, LOG_LVL_INFO, "token file %s changed: using the new token",
		       k->conf.token_file);
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	k->token = t;
}

static void
set_headers(struct watcher *w)
{
	struct kn_kubesrc *k = w->k;

	curl_slist_free_all(w->headers);
	w->headers = NULL;
	/* JSON, not protobuf: the decoder reads JSON. */
	w->headers = curl_slist_append(w->headers, "Accept: application/json");
	w->headers = curl_slist_append(w->headers, "User-Agent: kube-nftd/" PACKAGE_VERSION);
	if (k->token) {
		char *h = xasprintf("Authorization: Bearer %s", k->token);

		w->headers = curl_slist_append(w->headers, h);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
}

static const char *
req_name(enum req_kind req)
{
	return req == REQ_LIST ? "list" : req == REQ_WATCH ? "watch" : "streaming list";
}

static void
request(struct watcher *w, enum req_kind req)
{
	struct kn_kubesrc *k = w->k;
	unsigned timeout_s = 0;
	CURLMcode mc;
	char *url;

	w->req = req;
	w->status = 0;
	w->abort = AB_NONE;
	w->abort_msg[0] = '\0';
	w->errbuf[0] = '\0';
	w->errbody.len = 0;
	w->req_events = 0;
	w->req_start_ms = kn_now_ms();
	kn_jsplit_free(&w->js);
	kn_jsplit_init(&w->js, req == REQ_LIST ? KN_JSPLIT_LIST : KN_JSPLIT_STREAM,
		       KN_KUBE_OBJECT_MAX);
	if (req != REQ_LIST) {
		unsigned span = k->o.watch_max_s - k->o.watch_min_s + 1;

		timeout_s = k->o.watch_min_s + (unsigned)(rnd01(k) * span);
		if (timeout_s > k->o.watch_max_s)
			timeout_s = k->o.watch_max_s;
	}
	w->req_timeout_s = timeout_s;
	/* A new list, unless this is the next page (or a page again). */
	if (req == REQ_STREAM || (req == REQ_LIST && !w->cont)) {
		pend_clear(w);
		w->list_start_ms = kn_now_ms();
		w->pages = 0;
	}
	if (req != REQ_WATCH)
		w->pages++;
	w->state = req == REQ_LIST ? W_LISTING : req == REQ_STREAM ? W_STREAMING : W_WATCHING;
	if (req == REQ_WATCH)
		w->watches++;
	refresh_token(k, false);
	set_headers(w);
	url = build_url(w, req, timeout_s);
	curl_easy_setopt(w->easy, CURLOPT_URL, url);
	free(url);
	if (req == REQ_LIST) {
		/* A list streams steadily; silence means a stall. */
		curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, 0L);
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, (long)k->o.list_stall_s);
		/* The API server compresses large lists for clients that
		 * accept it. */
		curl_easy_setopt(w->easy, CURLOPT_ACCEPT_ENCODING, "");
	} else {
		/* A quiet watch sends nothing for minutes (bookmarks may
		 * never come), but the server ends it at timeoutSeconds: a
		 * watch still open well after that is stalled. */
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_LIMIT, 0L);
		curl_easy_setopt(w->easy, CURLOPT_LOW_SPEED_TIME, 0L);
		curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS,
				 (long)(timeout_s + k->o.watch_grace_s) * 1000L);
		curl_easy_setopt(w->easy, CURLOPT_ACCEPT_ENCODING, NULL);
	}
	mc = curl_multi_add_handle(k->multi, w->easy);
	if (mc != CURLM_OK) {
		/* Only out of memory or misuse: try again later. */
		report(k, LOG_LVL_ERR, "%s: cannot start the %s: %s", w->res->name, req_name(req),
		       curl_multi_strerror(mc));
		w->state = W_BACKOFF;
		kn_timer_arm(w->timer, kn_backoff_next(&w->bo, &k->o, kn_now_ms(), rnd01(k)));
		return;
	}
	w->active = true;
}

/* What to do next, from what the watcher knows. */
static void
start(struct watcher *w)
{
	struct kn_kubesrc *k = w->k;

	if (w->rv)
		request(w, REQ_WATCH);
	else if (k->o.streaming_lists && !k->stream_unsupported && !w->cont)
		request(w, REQ_STREAM);
	else
		request(w, REQ_LIST);
}

static void
timer_fired(void *arg)
{
	struct watcher *w = arg;

	start(w);
}

/* ------------------------------------------------------------ failures */

enum fail_scope {
	FAIL_RESOURCE,	 /* this resource's problem */
	FAIL_CONNECTION, /* the server's or the network's: said once for all */
};

/* Waits for the backoff (or Retry-After, when longer), then starts
 * again. */
static void
retry_later(struct watcher *w, uint64_t retry_after_ms)
{
	struct kn_kubesrc *k = w->k;
	uint64_t now = kn_now_ms(), wait = kn_backoff_next(&w->bo, &k->o, now, rnd01(k));

	if (retry_after_ms > RETRY_AFTER_MAX_MS)
		retry_after_ms = RETRY_AFTER_MAX_MS;
	if (retry_after_ms > wait)
		wait = retry_after_ms;
	w->state = W_BACKOFF;
	w->retry_at_ms = now + wait;
	kn_timer_arm(w->timer, wait);
}

/* Reports a failure once (per resource, or per source for connection
 * problems), then waits: the backoff, or Retry-After when longer. */
static void fail(struct watcher *w, enum fail_scope scope, const char *key, int level,
		 uint64_t retry_after_ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static void
fail(struct watcher *w, enum fail_scope scope, const char *key, int level, uint64_t retry_after_ms,
     const char *fmt, ...)
{
	struct kn_kubesrc *k = w->k;
	char msg[KN_ERR_MAX];
	va_list ap;
	bool said;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	retry_later(w, retry_after_ms);
	w->errors++;
	snprintf(w->last_error, sizeof(w->last_error), "%s", msg);
	w->last_error_time = time(NULL);
	if (scope == FAIL_CONNECTION) {
		said = false;
		for (size_t i = 0; i < k->nconn_keys && !said; i++)
			said = strcmp(k->conn_keys[i], key) == 0;
		if (!said) {
			if (k->nconn_keys == CONN_KEYS_MAX) {
				memmove(k->conn_keys[0], k->conn_keys[1],
					sizeof(k->conn_keys[0]) * (CONN_KEYS_MAX - 1));
				k->nconn_keys--;
			}
			snprintf(k->conn_keys[k->nconn_keys++], sizeof(k->conn_keys[0]), "%s", key);
		}
		k->conn_fail_ms = kn_now_ms();
	} else {
		said = strcmp(w->fail_key, key) == 0;
	}
	snprintf(w->fail_key, sizeof(w->fail_key), "%s", key);
	w->failing = true;
	w->failing_conn = scope == FAIL_CONNECTION;
	if (!said)
		report(k, level, "%s; retrying with backoff", msg);
	else
		report(k, LOG_LVL_DEBUG, "%s: failed again: %s (retry in %llu ms)", w->res->name,
		       msg, (unsigned long long)(w->retry_at_ms - kn_now_ms()));
}

/* Forgets the version: the next start lists. */
static void
need_relist(struct watcher *w, bool consistent)
{
	free(w->rv);
	w->rv = NULL;
	free(w->cont);
	w->cont = NULL;
	pend_clear(w);
	w->consistent = consistent;
}

/* The message of an error response: the Status's, or the body's first
 * line. */
static void
status_message(struct watcher *w, char *reason, size_t rlen, char *msg, size_t mlen)
{
	json_t *st = NULL;
	const char *m = NULL, *r = NULL;

	reason[0] = msg[0] = '\0';
	if (w->errbody.len) {
		st = json_loadb(w->errbody.p, w->errbody.len, 0, NULL);
		m = json_string_value(json_object_get(st, "message"));
		r = json_string_value(json_object_get(st, "reason"));
	}
	if (r)
		snprintf(reason, rlen, "%s", r);
	if (m) {
		snprintf(msg, mlen, "%s", m);
	} else if (w->errbody.len) {
		size_t n = 0;

		while (n < w->errbody.len && n < 200 && w->errbody.p[n] != '\n' &&
		       w->errbody.p[n] != '\r')
			n++;
		snprintf(msg, mlen, "%.*s", (int)n, w->errbody.p);
	}
	json_decref(st);
}

static void
http_failed(struct watcher *w)
{
	struct kn_kubesrc *k = w->k;
	const struct kn_kube_resource *r = w->res;
	char reason[64], msg[600], key[64], scope[128];
	curl_off_t ra = 0;
	long code = w->status;

	status_message(w, reason, sizeof(reason), msg, sizeof(msg));
	curl_easy_getinfo(w->easy, CURLINFO_RETRY_AFTER, &ra);
	snprintf(key, sizeof(key), "http %ld", code);
	if (r->ns)
		snprintf(scope, sizeof(scope), "in namespace %s", r->ns);
	else
		snprintf(scope, sizeof(scope), "%s", "cluster-wide");
	if (code == 410) {
		/* An expired continue token, or an expired version. */
		report(k, LOG_LVL_INFO, "%s: %s: 410 %s: %s; listing again", r->name,
		       req_name(w->req), reason[0] ? reason : "Gone", msg);
		need_relist(w, true);
		retry_later(w, 0);
		return;
	}
	if (w->req == REQ_STREAM && (code == 400 || code == 422)) {
		/* Streaming lists off (1.33) or unknown (before 1.27):
		 * the server says so with Invalid or BadRequest. */
		if (!k->stream_unsupported)
			report(k, LOG_LVL_INFO,
			       "the API server does not serve streaming lists (%ld %s: %s); using "
			       "list and watch",
			       code, reason, msg);
		k->stream_unsupported = true;
		request(w, REQ_LIST);
		return;
	}
	if (code == 401) {
		/* The token may have rotated: read it now. */
		refresh_token(k, true);
		fail(w, FAIL_CONNECTION, key, LOG_LVL_ERR, 0,
		     "API server %s: 401 Unauthorized: %s (credentials from %s%s%s)",
		     k->conf.server, msg[0] ? msg : "the credentials were refused", k->conf.origin,
		     k->conf.token_file ? ", token file " : "",
		     k->conf.token_file ? k->conf.token_file : "");
		return;
	}
	if (code == 403) {
		fail(w, FAIL_RESOURCE, key, LOG_LVL_ERR, 0,
		     "%s: 403 Forbidden: %s; kube-nftd needs permission to list and watch %s "
		     "(API group \"%s\") %s",
		     r->name, msg[0] ? msg : "(no message)", r->name, r->group, scope);
		return;
	}
	if (ra > 0)
		snprintf(scope, sizeof(scope), " (Retry-After %lld s)", (long long)ra);
	else
		scope[0] = '\0';
	/* Reported once per status code: the key, not the text, says
	 * whether it is new. */
	fail(w, FAIL_RESOURCE, key, LOG_LVL_ERR, ra > 0 ? (uint64_t)ra * 1000 : 0,
	     "%s: %s: HTTP %ld%s%s%s%s%s", r->name, req_name(w->req), code, reason[0] ? " " : "",
	     reason, msg[0] ? ": " : "", msg, scope);
}

static bool
connection_error(CURLcode res)
{
	switch (res) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static void
transport_failed(struct watcher *w, CURLcode res)
{
	struct kn_kubesrc *k = w->k;
	const char *detail = w->errbuf[0] ? w->errbuf : curl_easy_strerror(res);
	char key[64];

	snprintf(key, sizeof(key), "curl %d", (int)res);
	if (res == CURLE_PEER_FAILED_VERIFICATION || res == CURLE_SSL_CACERT_BADFILE) {
		fail(w, FAIL_CONNECTION, key, LOG_LVL_ERR, 0,
		     "API server %s: TLS: the server's certificate does not verify against %s%s "
		     "(%s); refusing to connect",
		     k->conf.server, k->conf.ca_file ? "CA file " : "",
		     k->conf.ca_file  ? k->conf.ca_file
		     : k->conf.ca_pem ? "certificate-authority-data"
				      : "the system's CA certificates",
		     detail);
		return;
	}
	if (res == CURLE_OPERATION_TIMEDOUT && w->status == 200) {
		if (w->req == REQ_LIST)
			fail(w, FAIL_RESOURCE, "list stalled", LOG_LVL_WARNING, 0,
			     "%s: list stalled: no data for %u s", w->res->name, k->o.list_stall_s);
		else
			fail(w, FAIL_RESOURCE, "watch stalled", LOG_LVL_WARNING, 0,
			     "%s: watch stalled: still open %u s after its timeoutSeconds=%u",
			     w->res->name, k->o.watch_grace_s, w->req_timeout_s);
		return;
	}
	if (connection_error(res) || res == CURLE_OPERATION_TIMEDOUT) {
		fail(w, FAIL_CONNECTION, key, LOG_LVL_ERR, 0, "API server %s: %s: %s",
		     k->conf.server, w->status == 200 ? "connection lost" : "cannot connect",
		     detail);
		return;
	}
	fail(w, FAIL_RESOURCE, key, LOG_LVL_ERR, 0, "%s: %s: %s", w->res->name, req_name(w->req),
	     detail);
}

/* The writer stopped the transfer. */
static void
aborted(struct watcher *w)
{
	const char *name = w->res->name;

	switch (w->abort) {
	case AB_EXPIRED:
		report(w->k, LOG_LVL_INFO, "%s: resourceVersion %s expired (%s); listing again",
		       name, w->rv ? w->rv : "?", w->abort_msg);
		need_relist(w, true);
		retry_later(w, 0);
		break;
	case AB_ERROR_EVENT:
		fail(w, FAIL_RESOURCE, "error event", LOG_LVL_ERR, 0, "%s: %s: %s", name,
		     req_name(w->req), w->abort_msg);
		break;
	case AB_MALFORMED:
		/* The bad event is not consumed: the next watch from the last
		 * good version sends it again, or its correction. */
		fail(w, FAIL_RESOURCE, "malformed", LOG_LVL_ERR, 0, "%s: %s: %s", name,
		     req_name(w->req), w->abort_msg);
		break;
	case AB_RELIST:
		need_relist(w, true);
		fail(w, FAIL_RESOURCE, "lost event", LOG_LVL_ERR, 0, "%s: %s; listing again", name,
		     w->abort_msg);
		break;
	case AB_NONE:
		break;
	}
}

static void
list_page_done(struct watcher *w)
{
	const char *head, *rv, *cont;
	json_t *h, *meta;
	size_t len;
	int r;

	r = kn_jsplit_finish(&w->js, list_value, w);
	if (w->abort != AB_NONE) {
		aborted(w);
		return;
	}
	head = kn_jsplit_head(&w->js, &len);
	h = r == 0 ? json_loadb(head, len, 0, NULL) : NULL;
	meta = json_object_get(h, "metadata");
	rv = json_string_value(json_object_get(meta, "resourceVersion"));
	cont = json_string_value(json_object_get(meta, "continue"));
	if (!rv || !*rv) {
		abort_with(w, AB_MALFORMED, "%s",
			   r < 0 ? "truncated list response" : "a list without resourceVersion");
		aborted(w);
	} else if (cont && *cont) {
		/* Pages of one list; a page may be empty and still go on. */
		free(w->cont);
		w->cont = xstrdup(cont);
		request(w, REQ_LIST);
	} else {
		list_done(w, rv);
		request(w, REQ_WATCH);
	}
	json_decref(h);
}

static void
watch_done(struct watcher *w)
{
	uint64_t ms = kn_now_ms() - w->req_start_ms;

	if (w->state == W_STREAMING) {
		/* Ended before its initial-events-end bookmark: a server
		 * that ignored sendInitialEvents. */
		w->k->stream_unsupported = true;
		report(w->k, LOG_LVL_WARNING,
		       "%s: the streaming list ended without its initial-events-end bookmark; "
		       "using list and watch",
		       w->res->name);
		need_relist(w, true);
		request(w, REQ_LIST);
		return;
	}
	if (kn_jsplit_finish(&w->js, watch_value, w) < 0 && w->abort == AB_NONE)
		abort_with(w, AB_MALFORMED, "the watch ended inside an event");
	if (w->abort != AB_NONE) {
		aborted(w);
		return;
	}
	if (ms < QUICK_CLOSE_MS && w->req_events == 0) {
		/* The server's doing (shutting down, a proxy's idle limit):
		 * every watch meets it, said once. */
		fail(w, FAIL_CONNECTION, "quick close", LOG_LVL_WARNING, 0,
		     "API server %s: watches end at once without events (%s after %llu ms)",
		     w->k->conf.server, w->res->name, (unsigned long long)ms);
		return;
	}
	/* timeoutSeconds reached: renew from the last version. */
	recovered(w);
	request(w, REQ_WATCH);
}

static void
done(struct watcher *w, CURLcode res)
{
	long v = 0;

	if (curl_easy_getinfo(w->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK && v)
		w->k->http_version = v;
	/* Headers without a body byte (a stalled watch) set no status in
	 * on_write. */
	if (!w->status)
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->abort != AB_NONE && (res == CURLE_WRITE_ERROR || res == CURLE_OK)) {
		aborted(w);
		return;
	}
	if (res != CURLE_OK) {
		transport_failed(w, res);
		return;
	}
	if (w->status != 200) {
		http_failed(w);
		return;
	}
	if (w->req == REQ_LIST)
		list_page_done(w);
	else
		watch_done(w);
}

/* ------------------------------------------------------------ curl */

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct watcher *w = arg;
	struct kn_kubesrc *k = w->k;
	size_t len = size * nmemb;
	int r;

	if (!w->status) {
		curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &w->status);
		/* Only a request made since the failure proves it over: a
		 * watch opened before may still be streaming. */
		if (w->status == 200 && k->nconn_keys && w->req_start_ms >= k->conn_fail_ms) {
			k->nconn_keys = 0;
			report(k, LOG_LVL_NOTICE, "API server %s: reachable again", k->conf.server);
		}
	}
	if (w->status != 200) {
		for (size_t i = 0; i < len && w->errbody.len < ERRBODY_MAX; i++)
			jb_push(&w->errbody, data[i]);
		return len;
	}
	r = kn_jsplit_feed(&w->js, data, len, w->req == REQ_LIST ? list_value : watch_value, w);
	if (r == 0)
		return len;
	if (r == -EBADMSG)
		abort_with(w, AB_MALFORMED, "malformed JSON: unbalanced brackets");
	else if (r == -EMSGSIZE)
		abort_with(w, AB_MALFORMED, "the list's metadata is larger than %u KiB",
			   KN_JSPLIT_HEAD_MAX >> 10);
	/* Ends the transfer with CURLE_WRITE_ERROR; done() sees why. */
	return 0;
}

static void
check_multi(struct kn_kubesrc *k)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(k->multi, &left)) != NULL) {
		struct watcher *w;
		char *priv = NULL;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		w = (struct watcher *)(void *)priv;
		curl_multi_remove_handle(k->multi, m->easy_handle);
		w->active = false;
		done(w, res);
	}
	if (k->changes) {
		k->changes = 0;
		if (k->changed)
			k->changed(k->arg);
	}
}

static void
fd_event(void *arg, int fd, uint32_t events)
{
	struct kn_kubesrc *k = arg;
	int action = 0, running;

	if (events & EPOLLIN)
		action |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		action |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		action |= CURL_CSELECT_ERR;
	curl_multi_socket_action(k->multi, fd, action, &running);
	check_multi(k);
}

static void
curl_timer_fired(void *arg)
{
	struct kn_kubesrc *k = arg;
	int running;

	curl_multi_socket_action(k->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi(k);
}

static int
on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kn_kubesrc *k = userp;
	uint32_t ev = 0;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (socketp) {
			kn_loop_del_fd(k->l, s);
			curl_multi_assign(k->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (socketp)
		return kn_loop_mod_fd(k->l, s, ev) < 0 ? -1 : 0;
	if (kn_loop_add_fd(k->l, s, ev, "curl", fd_event, k) < 0)
		return -1;
	/* Any non-NULL pointer: the socket is in the loop. */
	curl_multi_assign(k->multi, s, k);
	return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct kn_kubesrc *k = userp;

	(void)multi;
	if (timeout_ms < 0)
		kn_timer_disarm(k->curl_timer);
	else
		kn_timer_arm(k->curl_timer, (uint64_t)timeout_ms);
	return 0;
}

/* Splits scheme://host[:port][/path] for tls-server-name. */
static int
split_server(const char *server, char **scheme, char **host, char **port, char **path)
{
	const char *p = strstr(server, "://"), *h, *e, *slash;

	if (!p)
		return -EINVAL;
	*scheme = xstrndup(server, (size_t)(p - server));
	h = p + 3;
	slash = strchr(h, '/');
	e = slash ? slash : h + strlen(h);
	*path = xstrdup(slash ? slash : "");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (!rb)
			return -EINVAL;
		*host = xstrndup(h, (size_t)(rb + 1 - h));
		*port = rb[1] == ':' ? xstrndup(rb + 2, (size_t)(e - rb - 2)) : NULL;
	} else {
		const char *colon = memchr(h, ':', (size_t)(e - h));

		*host = xstrndup(h, (size_t)((colon ? colon : e) - h));
		*port = colon ? xstrndup(colon + 1, (size_t)(e - colon - 1)) : NULL;
	}
	if (!*port)
		*port = xstrdup(strcmp(*scheme, "https") == 0 ? "443" : "80");
	return 0;
}

/* The URL base and, with tls-server-name, a CONNECT_TO rule: requests
 * name the TLS server name (verified and sent as SNI) and connect to the
 * configured address. */
static int
setup_base(struct kn_kubesrc *k)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *rule;
	int r = 0;

	if (!k->conf.tls_server_name) {
		k->base = xstrdup(k->conf.server);
		return 0;
	}
	if (split_server(k->conf.server, &scheme, &host, &port, &path) < 0) {
		r = -EINVAL;
		goto out;
	}
	k->base = xasprintf("%s://%s:%s%s", scheme, k->conf.tls_server_name, port, path);
	rule = xasprintf("%s:%s:%s:%s", k->conf.tls_server_name, port, host, port);
	k->connect_to = curl_slist_append(NULL, rule);
	free(rule);
out:
	free(scheme);
	free(host);
	free(port);
	free(path);
	return r;
}

/* certificate-authority-data for curl before 7.77 (no CAINFO_BLOB): a
 * memfd named by its /proc path. */
static int
ca_memfd(struct kn_kubesrc *k)
{
	int fd = memfd_create("kube-ca", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, k->conf.ca_pem, k->conf.ca_pem_len) != (ssize_t)k->conf.ca_pem_len) {
		close(fd);
		return -EIO;
	}
	k->ca_fd = fd;
	return 0;
}

static int
setup_easy(struct kn_kubesrc *k, struct watcher *w)
{
	const struct kn_kubeconf *c = &k->conf;
	CURL *e = curl_easy_init();

	if (!e)
		return -ENOMEM;
	w->easy = e;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)w);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
#endif
	/* HTTP/2 over TLS when the server offers it (ALPN), HTTP/1.1
	 * otherwise; wait for the first connection to know, so that all
	 * watches share it. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)k->o.connect_timeout_s * 1000L);
	/* A peer that vanished (a node rebooted, a NAT entry expired)
	 * is noticed within a minute even on a quiet watch. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	if (k->connect_to)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, k->connect_to);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (c->ca_pem) {
#if LIBCURL_VERSION_NUM >= 0x074d00
		struct curl_blob b = {c->ca_pem, c->ca_pem_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
#else
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/fd/%d", k->ca_fd);
		curl_easy_setopt(e, CURLOPT_CAINFO, path);
#endif
	} else if (c->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	}
	if (c->cert_pem) {
		struct curl_blob b = {c->cert_pem, c->cert_pem_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
	} else if (c->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	}
	curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	if (c->key_pem) {
		struct curl_blob b = {c->key_pem, c->key_pem_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
	} else if (c->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	}
	curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static char *
dup_mem(const char *p, size_t n)
{
	char *d;

	if (!p)
		return NULL;
	d = xmalloc(n + 1);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void
conf_copy(struct kn_kubeconf *d, const struct kn_kubeconf *s)
{
	memset(d, 0, sizeof(*d));
	d->server = dup_or_null(s->server);
	d->tls_server_name = dup_or_null(s->tls_server_name);
	d->ca_file = dup_or_null(s->ca_file);
	d->ca_pem = dup_mem(s->ca_pem, s->ca_pem_len);
	d->ca_pem_len = s->ca_pem_len;
	d->cert_file = dup_or_null(s->cert_file);
	d->key_file = dup_or_null(s->key_file);
	d->cert_pem = dup_mem(s->cert_pem, s->cert_pem_len);
	d->cert_pem_len = s->cert_pem_len;
	d->key_pem = dup_mem(s->key_pem, s->key_pem_len);
	d->key_pem_len = s->key_pem_len;
	d->token = dup_or_null(s->token);
	d->token_file = dup_or_null(s->token_file);
	d->insecure = s->insecure;
	d->origin = dup_or_null(s->origin ? s->origin : "configuration");
}

static void
watcher_free(struct watcher *w)
{
	if (w->easy) {
		if (w->active)
			curl_multi_remove_handle(w->k->multi, w->easy);
		curl_easy_cleanup(w->easy);
	}
	curl_slist_free_all(w->headers);
	kn_timer_free(w->timer);
	free(w->rv);
	free(w->cont);
	pend_clear(w);
	free(w->pend);
	kn_jsplit_free(&w->js);
	jb_free(&w->errbody);
	free(w->invalid);
}

int
kn_kubesrc_open(struct kn_loop *l, struct kn_store *s, const struct kn_kubeconf *conf,
		const struct kn_kubesrc_opts *o, kn_kubesrc_report rep, kn_kubesrc_changed changed,
		void *arg, struct kn_kubesrc **ret)
{
	struct kn_kubesrc *k = xcalloc(1, sizeof(*k));
	size_t n = 0;
	int r;

	k->l = l;
	k->s = s;
	k->o = *o;
	k->report = rep;
	k->changed = changed;
	k->arg = arg;
	k->ca_fd = -1;
	k->open_ms = kn_now_ms();
	conf_copy(&k->conf, conf);
	if (getrandom(&k->rnd, sizeof(k->rnd), GRND_NONBLOCK) != sizeof(k->rnd))
		k->rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	k->rnd |= 1;
	if (k->o.watch_max_s < k->o.watch_min_s)
		k->o.watch_max_s = k->o.watch_min_s;
	if ((r = setup_base(k)) < 0)
		goto fail;
#if LIBCURL_VERSION_NUM < 0x074d00
	if (k->conf.ca_pem && (r = ca_memfd(k)) < 0)
		goto fail;
#else
	(void)ca_memfd;
#endif
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = -ENOMEM;
		goto fail;
	}
	k->curl_inited = true;
	k->multi = curl_multi_init();
	k->curl_timer = kn_timer_new(l, "curl", curl_timer_fired, k);
	if (!k->multi || !k->curl_timer) {
		r = -ENOMEM;
		goto fail;
	}
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(k->multi, CURLMOPT_SOCKETDATA, k);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(k->multi, CURLMOPT_TIMERDATA, k);
	/* All watches on one HTTP/2 connection when possible. */
	curl_multi_setopt(k->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	for (size_t i = 0; i < kn_kube_nresources; i++)
		if (!o->kinds || (o->kinds & (1u << kn_kube_resources[i].kn_kind)))
			n++;
	k->w = xcalloc(n ? n : 1, sizeof(*k->w));
	for (size_t i = 0; i < kn_kube_nresources; i++) {
		struct watcher *w;

		if (o->kinds && !(o->kinds & (1u << kn_kube_resources[i].kn_kind)))
			continue;
		w = &k->w[k->nw++];
		w->k = k;
		w->res = &kn_kube_resources[i];
		kn_jsplit_init(&w->js, KN_JSPLIT_STREAM, KN_KUBE_OBJECT_MAX);
		w->timer = kn_timer_new(l, w->res->name, timer_fired, w);
		if (!w->timer) {
			r = -ENOMEM;
			goto fail;
		}
		if ((r = setup_easy(k, w)) < 0)
			goto fail;
	}
	refresh_token(k, true);
	for (size_t i = 0; i < k->nw; i++)
		start(&k->w[i]);
	*ret = k;
	return 0;
fail:
	kn_kubesrc_close(k);
	return r;
}

void
kn_kubesrc_close(struct kn_kubesrc *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nw; i++)
		watcher_free(&k->w[i]);
	free(k->w);
	if (k->multi)
		curl_multi_cleanup(k->multi);
	kn_timer_free(k->curl_timer);
	curl_slist_free_all(k->connect_to);
	if (k->ca_fd >= 0)
		close(k->ca_fd);
	free(k->base);
	if (k->token) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	kn_kubeconf_free(&k->conf);
	if (k->curl_inited)
		curl_global_cleanup();
	free(k);
}

bool
kn_kubesrc_synced(const struct kn_kubesrc *k)
{
	return k && k->synced;
}

uint64_t
kn_kubesrc_sync_ms(const struct kn_kubesrc *k)
{
	return k ? k->sync_ms : 0;
}

void
kn_kubesrc_relist(struct kn_kubesrc *k)
{
	refresh_token(k, true);
	for (size_t i = 0; i < k->nw; i++) {
		struct watcher *w = &k->w[i];

		if (w->active) {
			curl_multi_remove_handle(k->multi, w->easy);
			w->active = false;
		}
		kn_timer_disarm(w->timer);
		need_relist(w, true);
		start(w);
	}
}

static const char *
state_name(enum wstate s)
{
	switch (s) {
	case W_IDLE:
		return "starting";
	case W_BACKOFF:
		return "waiting to retry";
	case W_LISTING:
		return "listing";
	case W_STREAMING:
		return "streaming the initial list";
	case W_WATCHING:
		return "watching";
	}
	return "?";
}

static void
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!t) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
kn_kubesrc_format_status(const struct kn_kubesrc *k, struct strbuf *out)
{
	uint64_t now = kn_now_ms();

	strbuf_printf(out, "api server: %s (%s, %s)\n", k->conf.server, k->conf.origin,
		      k->http_version >= CURL_HTTP_VERSION_2_0 ? "HTTP/2"
		      : k->http_version			       ? "HTTP/1.1"
							       : "not connected yet");
	if (k->synced)
		strbuf_printf(out, "api sync: every resource listed, %llu ms after start\n",
			      (unsigned long long)k->sync_ms);
	else
		strbuf_puts(out, "api sync: waiting for the first list of every resource\n");
	for (size_t i = 0; i < k->nw; i++) {
		const struct watcher *w = &k->w[i];
		char ev[32], et[32];

		fmt_time(w->last_event_time, ev, sizeof(ev));
		fmt_time(w->last_error_time, et, sizeof(et));
		strbuf_printf(out, "resource %s: %s", w->res->name, state_name(w->state));
		if (w->state == W_BACKOFF)
			strbuf_printf(out, " (in %llu ms)",
				      (unsigned long long)(w->retry_at_ms > now
								   ? w->retry_at_ms - now
								   : 0));
		strbuf_printf(out,
			      "; resourceVersion %s; objects %zu; last event %s; lists %llu, "
			      "watches %llu, events %llu, errors %llu",
			      w->rv ? w->rv : "none",
			      kn_store_foreach(k->s, w->res->kn_kind, NULL, NULL), ev,
			      (unsigned long long)w->lists, (unsigned long long)w->watches,
			      (unsigned long long)w->events, (unsigned long long)w->errors);
		if (w->invalid_objects || w->oversized)
			strbuf_printf(out, ", invalid %llu, oversized %llu",
				      (unsigned long long)w->invalid_objects,
				      (unsigned long long)w->oversized);
		if (w->last_error[0])
			strbuf_printf(out, "; last error %s: %s\n", et, w->last_error);
		else
			strbuf_puts(out, "; last error: none\n");
	}
}
