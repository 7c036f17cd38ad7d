/* The Kubernetes API source: list and watch, as client-go's reflector
 * does it, for every resource in the resource table (kn_kube_resources):
 * Namespaces, Pods, NetworkPolicies and the API server guard's kinds.
 *
 * Per resource: a paginated list (limit/continue) whose result replaces
 * the resource's objects in the store as a whole (objects missing from it
 * were deleted while we were away), then a watch from the list's
 * resourceVersion with bookmarks, renewed with a random timeoutSeconds.
 * An expired version (HTTP 410, or an ERROR event carrying a 410 Status)
 * leads to a relist; any other failure to a new watch from the last
 * version, after an exponential backoff with jitter.  Where the server
 * supports streaming lists (sendInitialEvents), one watch request does
 * both; where it rejects them, list+watch it is.
 *
 * Every transfer runs in the caller's epoll loop through the curl multi
 * socket interface: HTTP/2 with all requests on one connection when the
 * server offers it, HTTP/1.1 otherwise.  Responses are parsed as their
 * bytes arrive (kn_jsplit); memory is bounded by one object, never by a
 * response.
 *
 * The source never logs: it reports through a callback, once per
 * distinct problem, and says when a problem is over.
 */
#ifndef KN_KUBESRC_H
#define KN_KUBESRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "kubeconf.h"
#include "model.h"
#include "store.h"
#include "util.h"

/* Largest object (or watch event) accepted.  etcd refuses values over
 * 1.5 MiB by default; 4 MiB leaves room for the event envelope and for
 * servers configured higher, while a runaway object cannot make the
 * daemon's memory grow without bound.  Larger objects are skipped and
 * reported, like invalid ones. */
#define KN_KUBE_OBJECT_MAX (4u * 1024 * 1024)

/* ------------------------------------------------------------ resources */

struct kn_kube_resource {
	const char *name;	    /* "pods": the plural, for messages and status */
	const char *group;	    /* "" for the core group */
	const char *version;	    /* "v1" */
	const char *kind;	    /* "Pod" */
	enum kn_kind kn_kind;	    /* the store's kind */
	bool cluster_scoped;	    /* no namespace in the objects' keys */
	const char *ns;		    /* watch one namespace only, or NULL: all */
	const char *field_selector; /* or NULL */
	const char *label_selector; /* or NULL */
};

/* Every resource the source can watch, in start order. */
extern const struct kn_kube_resource kn_kube_resources[];
extern const size_t kn_kube_nresources;

/* ------------------------------------------------------------ options */

struct kn_kubesrc_opts {
	/* Watches are renewed after a timeoutSeconds drawn uniformly from
	 * [watch_min_s, watch_max_s] (client-go: 5 to 10 minutes), so that
	 * the watches of many nodes do not all end together. */
	unsigned watch_min_s, watch_max_s;
	/* A watch that has not ended grace seconds after its timeoutSeconds
	 * is stalled: it is abandoned and renewed. */
	unsigned watch_grace_s;
	/* Exponential backoff: from backoff_min_ms doubling to
	 * backoff_max_ms, each wait stretched by a random factor in [1, 2)
	 * (jitter 1.0), back to the start after backoff_reset_ms without
	 * failure (client-go: 0.8 s, 30 s, 2 minutes). */
	unsigned backoff_min_ms, backoff_max_ms, backoff_reset_ms;
	unsigned page_limit;	    /* items per list page (500) */
	unsigned list_stall_s;	    /* a list response silent this long is stalled */
	unsigned connect_timeout_s; /* TCP and TLS handshake */
	unsigned token_reread_s;    /* token files are read again after this age */
	bool streaming_lists;	    /* try sendInitialEvents first */
	uint32_t kinds;		    /* bit (1 << kn_kind) per kind to watch; 0: all */
};

void kn_kubesrc_default_opts(struct kn_kubesrc_opts *o);

/* Applies a comma-separated list of name=value settings to o, for tests
 * that cannot wait minutes: watch=MIN-MAX (s), grace=S, backoff=MIN-MAX
 * (ms), reset=MS, page=N, stall=S, connect=S, token=S, streaming=0|1.
 * Returns 0 or -EINVAL with err naming the bad setting. */
int kn_kubesrc_parse_tuning(const char *spec, struct kn_kubesrc_opts *o, char *err, size_t errlen);

/* ------------------------------------------------------------ the source */

struct kn_kubesrc;

/* Messages for the log: level is a log_level, msg one line. */
typedef void (*kn_kubesrc_report)(void *arg, int level, const char *msg);
/* The store changed, or the source became synced: time to commit. */
typedef void (*kn_kubesrc_changed)(void *arg);

/* Starts listing and watching every resource of o->kinds.  conf is
 * copied.  Returns 0 or -errno (curl could not be set up). */
int kn_kubesrc_open(struct kn_loop *l, struct kn_store *s, const struct kn_kubeconf *conf,
		    const struct kn_kubesrc_opts *o, kn_kubesrc_report report,
		    kn_kubesrc_changed changed, void *arg, struct kn_kubesrc **ret);
void kn_kubesrc_close(struct kn_kubesrc *k);

/* True once every resource has completed its first list: until then the
 * store holds a partial cluster and nothing must be committed. */
bool kn_kubesrc_synced(const struct kn_kubesrc *k);
/* Milliseconds from open to synced (0 until then). */
uint64_t kn_kubesrc_sync_ms(const struct kn_kubesrc *k);

/* Lists every resource again (SIGHUP); the token file is read again. */
void kn_kubesrc_relist(struct kn_kubesrc *k);

/* "key: value" lines for `kube-nftctl status`: the server, and per
 * resource its state, resourceVersion, last event and last error. */
void kn_kubesrc_format_status(const struct kn_kubesrc *k, struct strbuf *out);

/* ------------------------------------------------------------ pure parts
 *
 * Exposed for the unit tests. */

/* Splits a byte stream into complete JSON values as bytes arrive,
 * whatever the chunking, without parsing them: it tracks strings, escapes
 * and bracket depth only; jansson parses each value once it is whole.
 *
 * KN_JSPLIT_STREAM: a watch body, a sequence of values (newline-delimited
 * in practice, which is not required); each top-level value is emitted.
 * KN_JSPLIT_LIST: a list body, one object; each element of its top-level
 * "items" array is emitted as it completes, and the rest of the object
 * (kind, metadata, "items":[]) is kept as the head, for kn_jsplit_head
 * once the body ended.
 *
 * A value larger than max is not kept: its first KN_JSPLIT_PREFIX bytes
 * are emitted with KN_JSPLIT_OVERSIZED and its size, so that the caller
 * can name it. */
#define KN_JSPLIT_PREFIX 4096
/* The list's head: kind, apiVersion and metadata (resourceVersion, a
 * continue token of a few hundred bytes, remainingItemCount). */
#define KN_JSPLIT_HEAD_MAX (64u * 1024)

enum kn_jsplit_mode {
	KN_JSPLIT_STREAM,
	KN_JSPLIT_LIST,
};

enum kn_jsplit_what {
	KN_JSPLIT_VALUE,
	KN_JSPLIT_OVERSIZED,
};

struct kn_jbuf {
	char *p;
	size_t len, cap;
};

struct kn_jsplit {
	enum kn_jsplit_mode mode;
	size_t max;
	struct kn_jbuf val;  /* the value being collected */
	struct kn_jbuf head; /* list mode: everything but the items */
	unsigned depth;	     /* open brackets */
	bool in_str, esc;
	bool collecting; /* inside a value to emit */
	bool scalar;	 /* ... a bare scalar, ended by a delimiter */
	bool oversized;	 /* ... larger than max: only its prefix is kept */
	unsigned val_depth;
	size_t val_size;
	bool in_items; /* list mode: inside the top-level "items" array */
	char key[8];   /* list mode: the last string at depth 1 */
	size_t keylen;
	bool key_long, key_str;
	uint64_t offset; /* bytes consumed, for messages */
};

/* Called per complete value.  buf is valid during the call only.  A
 * non-zero return stops kn_jsplit_feed, which returns it. */
typedef int (*kn_jsplit_cb)(void *arg, enum kn_jsplit_what what, const char *buf, size_t len,
			    size_t size);

void kn_jsplit_init(struct kn_jsplit *j, enum kn_jsplit_mode mode, size_t max);
void kn_jsplit_reset(struct kn_jsplit *j); /* for a new body, keeping buffers */
void kn_jsplit_free(struct kn_jsplit *j);
/* Returns 0, a callback's non-zero value, -EBADMSG on unbalanced
 * brackets, or -EMSGSIZE when a list's head exceeds KN_JSPLIT_HEAD_MAX. */
int kn_jsplit_feed(struct kn_jsplit *j, const char *data, size_t len, kn_jsplit_cb cb, void *arg);
/* At the end of the body: 0 when no value is left half-read (a bare
 * scalar at the very end is emitted), else -EBADMSG (a truncated body). */
int kn_jsplit_finish(struct kn_jsplit *j, kn_jsplit_cb cb, void *arg);
/* List mode, after kn_jsplit_finish: the head, NUL-terminated. */
const char *kn_jsplit_head(struct kn_jsplit *j, size_t *ret_len);

/* Finds "field":"value" inside the "metadata" object of a (possibly
 * truncated) JSON text: how an oversized object is named.  Returns
 * false when it is not found. */
bool kn_json_prefix_meta(const char *buf, size_t len, const char *field, char *ret, size_t retlen);

/* The exponential backoff, separate from the clock and the random
 * source so that tests can drive it. */
struct kn_backoff {
	uint64_t next_ms;      /* base of the next wait; 0: not started */
	uint64_t last_fail_ms; /* when the last wait was computed */
};
/* The wait after a failure at now_ms; rnd is uniform in [0, 1).  The
 * base starts again from backoff_min_ms when the previous failure is
 * backoff_reset_ms old (the source was healthy meanwhile). */
uint64_t kn_backoff_next(struct kn_backoff *b, const struct kn_kubesrc_opts *o, uint64_t now_ms,
			 double rnd);

#endif
