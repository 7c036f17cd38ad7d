/* The Kubernetes API source's pure parts: the incremental JSON splitter
 * (any chunking, lists and streams, size limits), the backoff, the
 * tuning string, kubeconfig and in-cluster configuration, token files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atf-c.h>

#include "decode.h"
#include "kubeconf.h"
#include "kubesrc.h"
#include "store.h"
#include "util.h"

/* ------------------------------------------------------------ splitter */

struct got {
	char *v[64];
	size_t n;
	size_t oversized;
	size_t oversized_size;
	char prefix[KN_JSPLIT_PREFIX + 1];
};

static int
collect(void *arg, enum kn_jsplit_what what, const char *buf, size_t len, size_t size)
{
	struct got *g = arg;

	ATF_REQUIRE(g->n < ARRAY_SIZE(g->v));
	if (what == KN_JSPLIT_OVERSIZED) {
		g->oversized++;
		g->oversized_size = size;
		ATF_REQUIRE(len <= KN_JSPLIT_PREFIX);
		memcpy(g->prefix, buf, len);
		g->prefix[len] = '\0';
		g->v[g->n++] = xstrdup("<oversized>");
		return 0;
	}
	ATF_CHECK_EQ(len, size);
	ATF_CHECK_EQ(buf[len], '\0');
	g->v[g->n++] = xstrndup(buf, len);
	return 0;
}

static void
got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	memset(g, 0, sizeof(*g));
}

/* Feeds text in pieces of chunk bytes (0: all at once). */
static int
feed(struct kn_jsplit *j, const char *text, size_t chunk, struct got *g)
{
	size_t len = strlen(text);
	int r;

	if (!chunk)
		chunk = len ? len : 1;
	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		r = kn_jsplit_feed(j, text + i, n, collect, g);
		if (r)
			return r;
	}
	return kn_jsplit_finish(j, collect, g);
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a}\\\"{[\"}}}\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}"
	"  {\"type\":\"DELETED\",\"object\":{\"a\":[1,2,{\"b\":\"\\\\\"}]}}\r\n";

/* Every chunking, down to one byte at a time, gives the same events:
 * an event is never assumed to fill a chunk or a line. */
ATF_TC_WITHOUT_HEAD(stream_any_chunking);
ATF_TC_BODY(stream_any_chunking, tc)
{
	for (size_t chunk = 0; chunk <= strlen(stream); chunk++) {
		struct kn_jsplit j;
		struct got g = {0};

		kn_jsplit_init(&j, KN_JSPLIT_STREAM, 1024);
		ATF_REQUIRE_EQ(feed(&j, stream, chunk, &g), 0);
		ATF_REQUIRE_EQ(g.n, 3);
		ATF_CHECK_STREQ(
			g.v[0],
			"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a}\\\"{[\"}}}");
		ATF_CHECK_STREQ(g.v[1], "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{"
					"\"resourceVersion\":\"7\"}}}");
		ATF_CHECK_STREQ(g.v[2],
				"{\"type\":\"DELETED\",\"object\":{\"a\":[1,2,{\"b\":\"\\\\\"}]}}");
		got_free(&g);
		kn_jsplit_free(&j);
	}
}

static const char list[] = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
			   "{\"resourceVersion\":\"42\",\"continue\":\"abc\"},\"items\":"
			   "[{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"items\":[\"x\"]}},\n"
			   " {\"metadata\":{\"name\":\"p]2\"}} ,{}]}";

ATF_TC_WITHOUT_HEAD(list_items_and_head);
ATF_TC_BODY(list_items_and_head, tc)
{
	for (size_t chunk = 0; chunk <= strlen(list); chunk++) {
		struct kn_jsplit j;
		struct got g = {0};
		const char *head;
		size_t len;

		kn_jsplit_init(&j, KN_JSPLIT_LIST, 1024);
		ATF_REQUIRE_EQ(feed(&j, list, chunk, &g), 0);
		ATF_REQUIRE_EQ(g.n, 3);
		ATF_CHECK_STREQ(g.v[0],
				"{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"items\":[\"x\"]}}");
		ATF_CHECK_STREQ(g.v[1], "{\"metadata\":{\"name\":\"p]2\"}}");
		ATF_CHECK_STREQ(g.v[2], "{}");
		head = kn_jsplit_head(&j, &len);
		ATF_CHECK_STREQ(head,
				"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":"
				"{\"resourceVersion\":\"42\",\"continue\":\"abc\"},\"items\":[]}");
		ATF_CHECK_EQ(len, strlen(head));
		got_free(&g);
		kn_jsplit_free(&j);
	}
}

/* The head is whatever surrounds the items, wherever they are. */
ATF_TC_WITHOUT_HEAD(list_items_first_or_null);
ATF_TC_BODY(list_items_first_or_null, tc)
{
	struct kn_jsplit j;
	struct got g = {0};
	size_t len;

	kn_jsplit_init(&j, KN_JSPLIT_LIST, 1024);
	ATF_REQUIRE_EQ(
		feed(&j, "{\"items\":[{\"a\":1}],\"metadata\":{\"resourceVersion\":\"1\"}}", 3, &g),
		0);
	ATF_CHECK_EQ(g.n, 1);
	ATF_CHECK_STREQ(kn_jsplit_head(&j, &len),
			"{\"items\":[],\"metadata\":{\"resourceVersion\":\"1\"}}");
	got_free(&g);
	kn_jsplit_reset(&j);
	ATF_REQUIRE_EQ(feed(&j, "{\"items\":null,\"metadata\":{\"items\":[{}]}}", 0, &g), 0);
	ATF_CHECK_EQ(g.n, 0); /* only the top-level items are items */
	ATF_CHECK_STREQ(kn_jsplit_head(&j, &len), "{\"items\":null,\"metadata\":{\"items\":[{}]}}");
	got_free(&g);
	kn_jsplit_free(&j);
}

/* An oversized value is skipped, its beginning kept to name it, and the
 * values after it are whole. */
ATF_TC_WITHOUT_HEAD(oversized_value);
ATF_TC_BODY(oversized_value, tc)
{
	struct kn_jsplit j;
	struct got g = {0};
	struct strbuf sb;
	size_t big = 3 * KN_JSPLIT_PREFIX;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb,
		    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"huge\","
		    "\"namespace\":\"ns\",\"resourceVersion\":\"9\",\"annotations\":{\"a\":\"");
	for (size_t i = 0; i < big; i++)
		strbuf_putc(&sb, 'x');
	strbuf_puts(&sb, "\"}}}}\n{\"type\":\"ADDED\",\"object\":{}}\n");
	for (size_t chunk = 1; chunk < 5000; chunk += 997) {
		kn_jsplit_init(&j, KN_JSPLIT_STREAM, 2 * KN_JSPLIT_PREFIX);
		ATF_REQUIRE_EQ(feed(&j, strbuf_str(&sb), chunk, &g), 0);
		ATF_REQUIRE_EQ(g.n, 2);
		ATF_CHECK_EQ(g.oversized, 1);
		ATF_CHECK_EQ(g.oversized_size, strchr(strbuf_str(&sb), '\n') - strbuf_str(&sb));
		ATF_CHECK_EQ(strlen(g.prefix), KN_JSPLIT_PREFIX);
		ATF_CHECK_STREQ(g.v[1], "{\"type\":\"ADDED\",\"object\":{}}");
		{
			char v[64];

			ATF_CHECK(kn_json_prefix_meta(g.prefix, strlen(g.prefix), "name", v,
						      sizeof(v)));
			ATF_CHECK_STREQ(v, "huge");
			ATF_CHECK(kn_json_prefix_meta(g.prefix, strlen(g.prefix), "namespace", v,
						      sizeof(v)));
			ATF_CHECK_STREQ(v, "ns");
			ATF_CHECK(kn_json_prefix_meta(g.prefix, strlen(g.prefix), "resourceVersion",
						      v, sizeof(v)));
			ATF_CHECK_STREQ(v, "9");
			ATF_CHECK(!kn_json_prefix_meta(g.prefix, strlen(g.prefix), "uid", v,
						       sizeof(v)));
		}
		got_free(&g);
		kn_jsplit_free(&j);
	}
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(malformed);
ATF_TC_BODY(malformed, tc)
{
	struct kn_jsplit j;
	struct got g = {0};
	struct strbuf sb;

	/* A closing bracket with nothing open. */
	kn_jsplit_init(&j, KN_JSPLIT_STREAM, 1024);
	ATF_CHECK_EQ(feed(&j, "{}\n}\n", 1, &g), -EBADMSG);
	ATF_CHECK_EQ(g.n, 1);
	got_free(&g);
	/* A body that ends inside a value is truncated. */
	kn_jsplit_reset(&j);
	ATF_CHECK_EQ(feed(&j, "{\"type\":\"ADDED\",\"object\":{", 0, &g), -EBADMSG);
	ATF_CHECK_EQ(g.n, 0);
	kn_jsplit_reset(&j);
	ATF_CHECK_EQ(feed(&j, "{\"a\":\"unterminated}", 0, &g), -EBADMSG);
	/* Garbage between values is handed over (jansson refuses it), and
	 * a bare scalar at the end is emitted. */
	kn_jsplit_reset(&j);
	ATF_CHECK_EQ(feed(&j, "{}garbage\n{} 12", 0, &g), 0);
	ATF_REQUIRE_EQ(g.n, 4);
	ATF_CHECK_STREQ(g.v[1], "garbage");
	ATF_CHECK_STREQ(g.v[3], "12");
	got_free(&g);
	kn_jsplit_free(&j);
	/* A list whose metadata exceeds its bound. */
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "{\"metadata\":{\"continue\":\"");
	for (size_t i = 0; i < KN_JSPLIT_HEAD_MAX; i++)
		strbuf_putc(&sb, 'c');
	strbuf_puts(&sb, "\"},\"items\":[]}");
	kn_jsplit_init(&j, KN_JSPLIT_LIST, 1024);
	ATF_CHECK_EQ(feed(&j, strbuf_str(&sb), 4096, &g), -EMSGSIZE);
	kn_jsplit_free(&j);
	strbuf_free(&sb);
}

/* ------------------------------------------------------------ backoff */

ATF_TC_WITHOUT_HEAD(backoff_doubles_caps_resets);
ATF_TC_BODY(backoff_doubles_caps_resets, tc)
{
	static const uint64_t want[] = {800, 1600, 3200, 6400, 12800, 25600, 30000, 30000};
	struct kn_kubesrc_opts o;
	struct kn_backoff b = {0};
	uint64_t now = 1000000;

	kn_kubesrc_default_opts(&o);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		ATF_CHECK_EQ(kn_backoff_next(&b, &o, now, 0.0), want[i]);
		now += 1000;
	}
	/* Jitter 1.0: up to twice the base. */
	ATF_CHECK_EQ(kn_backoff_next(&b, &o, now, 0.5), 45000);
	/* Two healthy minutes: from the start again. */
	now += 120000;
	ATF_CHECK_EQ(kn_backoff_next(&b, &o, now, 0.0), 800);
	ATF_CHECK_EQ(kn_backoff_next(&b, &o, now + 119999, 0.999), 1600 + 1598);
}

ATF_TC_WITHOUT_HEAD(tuning);
ATF_TC_BODY(tuning, tc)
{
	struct kn_kubesrc_opts o;
	char err[128];

	kn_kubesrc_default_opts(&o);
	ATF_CHECK_EQ(o.watch_min_s, 300);
	ATF_CHECK_EQ(o.watch_max_s, 600);
	ATF_CHECK_EQ(o.page_limit, 500);
	ATF_CHECK(o.streaming_lists);
	ATF_REQUIRE_EQ(kn_kubesrc_parse_tuning("watch=2-4,grace=1,backoff=100-1000,reset=5000,"
					       "page=3,stall=2,connect=1,token=1,streaming=0",
					       &o, err, sizeof(err)),
		       0);
	ATF_CHECK_EQ(o.watch_min_s, 2);
	ATF_CHECK_EQ(o.watch_max_s, 4);
	ATF_CHECK_EQ(o.watch_grace_s, 1);
	ATF_CHECK_EQ(o.backoff_min_ms, 100);
	ATF_CHECK_EQ(o.backoff_max_ms, 1000);
	ATF_CHECK_EQ(o.backoff_reset_ms, 5000);
	ATF_CHECK_EQ(o.page_limit, 3);
	ATF_CHECK_EQ(o.list_stall_s, 2);
	ATF_CHECK_EQ(o.connect_timeout_s, 1);
	ATF_CHECK_EQ(o.token_reread_s, 1);
	ATF_CHECK(!o.streaming_lists);
	ATF_REQUIRE_EQ(kn_kubesrc_parse_tuning("watch=7", &o, err, sizeof(err)), 0);
	ATF_CHECK_EQ(o.watch_min_s, 7);
	ATF_CHECK_EQ(o.watch_max_s, 7);
	/* Errors leave o as it was and name the setting. */
	ATF_CHECK_EQ(kn_kubesrc_parse_tuning("page=2,watch=4-2", &o, err, sizeof(err)), -EINVAL);
	ATF_CHECK(strstr(err, "watch=4-2") != NULL);
	ATF_CHECK_EQ(o.page_limit, 3);
	ATF_CHECK_EQ(kn_kubesrc_parse_tuning("bogus=1", &o, err, sizeof(err)), -EINVAL);
	ATF_CHECK_EQ(kn_kubesrc_parse_tuning("page=0", &o, err, sizeof(err)), -EINVAL);
	ATF_CHECK_EQ(kn_kubesrc_parse_tuning("page", &o, err, sizeof(err)), -EINVAL);
	ATF_CHECK_EQ(kn_kubesrc_parse_tuning("streaming=2", &o, err, sizeof(err)), -EINVAL);
}

/* The resource table: every kind the store knows, each once. */
ATF_TC_WITHOUT_HEAD(resource_table);
ATF_TC_BODY(resource_table, tc)
{
	bool seen[KN_KIND_MAX] = {false};

	ATF_CHECK_EQ(kn_kube_nresources, KN_KIND_MAX - 1);
	for (size_t i = 0; i < kn_kube_nresources; i++) {
		const struct kn_kube_resource *r = &kn_kube_resources[i];

		ATF_REQUIRE(r->kn_kind > KN_KIND_OTHER && r->kn_kind < KN_KIND_MAX);
		ATF_CHECK(!seen[r->kn_kind]);
		seen[r->kn_kind] = true;
		ATF_CHECK_EQ(r->cluster_scoped, kn_kind_cluster_scoped(r->kn_kind));
		ATF_CHECK_STREQ(r->kind, kn_kind_name(r->kn_kind));
	}
}

/* ------------------------------------------------------------ store */

static void
put_json(struct kn_store *s, const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	struct kn_object o;
	struct kn_err err;

	ATF_REQUIRE(j != NULL);
	ATF_REQUIRE_EQ(kn_decode_object(j, &o, &err), 0);
	kn_store_put(s, &o);
	json_decref(j);
}

struct seen {
	char keys[8][64];
	size_t n;
};

static void
visit(void *arg, const struct kn_object *obj, const char *ns, const char *name)
{
	struct seen *v = arg;

	ATF_REQUIRE(v->n < 8);
	snprintf(v->keys[v->n++], sizeof(v->keys[0]), "%d %s/%s", (int)obj->kind, ns ? ns : "-",
		 name);
}

static int
key_order(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A relist enumerates one kind's keys to find what the list lacks. */
ATF_TC_WITHOUT_HEAD(store_foreach);
ATF_TC_BODY(store_foreach, tc)
{
	struct kn_store *s = kn_store_new();
	struct seen v = {0};
	char want[64];

	put_json(s, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}");
	put_json(s, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\","
		    "\"namespace\":\"x\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	put_json(s, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
		    "\"namespace\":\"y\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_POD, visit, &v), 2);
	ATF_REQUIRE_EQ(v.n, 2);
	qsort(v.keys, v.n, sizeof(v.keys[0]), key_order);
	snprintf(want, sizeof(want), "%d x/b", (int)KN_KIND_POD);
	ATF_CHECK_STREQ(v.keys[0], want);
	snprintf(want, sizeof(want), "%d y/a", (int)KN_KIND_POD);
	ATF_CHECK_STREQ(v.keys[1], want);
	v.n = 0;
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_NAMESPACE, visit, &v), 1);
	snprintf(want, sizeof(want), "%d -/x", (int)KN_KIND_NAMESPACE);
	ATF_CHECK_STREQ(v.keys[0], want);
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_NETPOL, NULL, NULL), 0);
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_OTHER, NULL, NULL), 0);
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_MAX, NULL, NULL), 0);
	ATF_CHECK_EQ(kn_store_delete(s, KN_KIND_POD, "x", "b"), 0);
	ATF_CHECK_EQ(kn_store_foreach(s, KN_KIND_POD, NULL, NULL), 1);
	kn_store_free(s);
}

/* ------------------------------------------------------------ kubeconfig */

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ATF_REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
}

static const char kubeconfig[] =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: prod\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority: pki/ca.crt\n"
	"    tls-server-name: kubernetes.default\n"
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://[fd00::1]:443\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==\n"
	"- name: c3\n"
	"  cluster: {server: 'http://127.0.0.1:8001', insecure-skip-tls-verify: true}\n"
	"contexts:\n"
	"- name: prod\n"
	"  context: {cluster: c1, user: u1, namespace: kube-system}\n"
	"- name: dev\n"
	"  context: {cluster: c2, user: u2}\n"
	"- name: proxy\n"
	"  context: {cluster: c3}\n"
	"- name: plugin\n"
	"  context: {cluster: c1, user: u3}\n"
	"- name: lonely\n"
	"  context: {cluster: nowhere, user: u1}\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: static-token\n"
	"    tokenFile: /var/run/token\n"
	"    client-certificate: u1.crt\n"
	"    client-key: /abs/u1.key\n"
	"- name: u2\n"
	"  user:\n"
	"    client-certificate-data: aGVsbG8=\n"
	"    client-key-data: a2V5\n"
	"- name: u3\n"
	"  user:\n"
	"    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}\n";

ATF_TC_WITHOUT_HEAD(kubeconfig_contexts);
ATF_TC_BODY(kubeconfig_contexts, tc)
{
	struct kn_kubeconf c;
	struct kn_err err;
	size_t n = strlen(kubeconfig);

	/* current-context; relative paths from the file's folder. */
	ATF_REQUIRE_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", "/etc/kn", NULL, &c, &err), 0);
	ATF_CHECK_STREQ(c.server, "https://10.0.0.1:6443");
	ATF_CHECK_STREQ(c.ca_file, "/etc/kn/pki/ca.crt");
	ATF_CHECK_STREQ(c.tls_server_name, "kubernetes.default");
	ATF_CHECK_STREQ(c.token, "static-token");
	ATF_CHECK_STREQ(c.token_file, "/var/run/token");
	ATF_CHECK_STREQ(c.cert_file, "/etc/kn/u1.crt");
	ATF_CHECK_STREQ(c.key_file, "/abs/u1.key");
	ATF_CHECK(!c.insecure);
	ATF_CHECK_STREQ(c.origin, "kubeconfig kc.yaml, context prod");
	kn_kubeconf_free(&c);
	kn_kubeconf_free(&c); /* members cleared: twice is harmless */

	/* A named context; data fields decoded. */
	ATF_REQUIRE_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", "/etc/kn", "dev", &c, &err), 0);
	ATF_CHECK_STREQ(c.server, "https://[fd00::1]:443");
	ATF_CHECK(c.ca_file == NULL);
	ATF_REQUIRE(c.ca_pem != NULL);
	ATF_CHECK_STREQ(c.ca_pem, "-----BEGIN CERTIFICATE-----\n");
	ATF_CHECK_EQ(c.cert_pem_len, 5);
	ATF_CHECK_STREQ(c.cert_pem, "hello");
	ATF_CHECK_STREQ(c.key_pem, "key");
	ATF_CHECK(c.cert_file == NULL && c.token == NULL);
	kn_kubeconf_free(&c);

	/* No user: anonymous; insecure is read. */
	ATF_REQUIRE_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", ".", "proxy", &c, &err), 0);
	ATF_CHECK_STREQ(c.server, "http://127.0.0.1:8001");
	ATF_CHECK(c.insecure);
	ATF_CHECK(c.token == NULL && c.cert_file == NULL);
	kn_kubeconf_free(&c);

	/* Refusals name what is wrong. */
	ATF_CHECK_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", ".", "plugin", &c, &err),
		     -ENOTSUP);
	ATF_CHECK(strstr(err.msg, "users[u3].user.exec") != NULL);
	ATF_CHECK_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", ".", "lonely", &c, &err), -ENOENT);
	ATF_CHECK(strstr(err.msg, "cluster 'nowhere'") != NULL);
	ATF_CHECK_EQ(kn_kubeconf_parse(kubeconfig, n, "kc.yaml", ".", "nope", &c, &err), -ENOENT);
	ATF_CHECK(strstr(err.msg, "context 'nope' not found") != NULL);
}

static int
parse_str(const char *text, struct kn_kubeconf *c, struct kn_err *err)
{
	return kn_kubeconf_parse(text, strlen(text), "t.yaml", "/d", NULL, c, err);
}

ATF_TC_WITHOUT_HEAD(kubeconfig_errors);
ATF_TC_BODY(kubeconfig_errors, tc)
{
	struct kn_kubeconf c;
	struct kn_err err;

	ATF_CHECK_EQ(parse_str("clusters: []\n", &c, &err), -EINVAL);
	ATF_CHECK(strstr(err.msg, "no current-context") != NULL);
	ATF_CHECK_EQ(parse_str("- a\n", &c, &err), -EINVAL);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
			       "clusters: [{name: c, cluster: {server: ftp://h}}]\n",
			       &c, &err),
		     -EINVAL);
	ATF_CHECK(strstr(err.msg, "clusters[c].cluster.server") != NULL);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
			       "clusters: [{name: c, cluster: {}}]\n",
			       &c, &err),
		     -EINVAL);
	ATF_CHECK(strstr(err.msg, "server: required") != NULL);
	/* client-go refuses a CA with insecure-skip-tls-verify. */
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
			       "clusters: [{name: c, cluster: {server: 'https://h', "
			       "insecure-skip-tls-verify: true, certificate-authority: ca}}]\n",
			       &c, &err),
		     -EINVAL);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c, "
			       "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			       "users: [{name: u, user: {client-certificate: a.crt}}]\n",
			       &c, &err),
		     -EINVAL);
	ATF_CHECK(strstr(err.msg, "needs its key") != NULL);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c, "
			       "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
			       "users: [{name: u, user: {username: a, password: b}}]\n",
			       &c, &err),
		     -ENOTSUP);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
			       "clusters: [{name: c, cluster: {server: 'https://h', "
			       "certificate-authority-data: '!!'}}]\n",
			       &c, &err),
		     -EINVAL);
	ATF_CHECK(strstr(err.msg, "not valid base64") != NULL);
	ATF_CHECK_EQ(parse_str("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
			       "clusters: [{name: c, cluster: {server: 'https://h', "
			       "insecure-skip-tls-verify: maybe}}]\n",
			       &c, &err),
		     -EINVAL);
	/* JSON is YAML; Go's YAML 1.1 booleans are accepted. */
	ATF_REQUIRE_EQ(parse_str("{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\","
				 "\"context\":{\"cluster\":\"c\"}}],\"clusters\":[{\"name\":\"c\","
				 "\"cluster\":{\"server\":\"https://h\","
				 "\"insecure-skip-tls-verify\":\"yes\"}}]}",
				 &c, &err),
		       0);
	ATF_CHECK(c.insecure);
	kn_kubeconf_free(&c);
}

ATF_TC_WITHOUT_HEAD(kubeconfig_file);
ATF_TC_BODY(kubeconfig_file, tc)
{
	struct kn_kubeconf c;
	struct kn_err err;

	ATF_REQUIRE_EQ(mkdir("cfg", 0700), 0);
	write_file("cfg/kc", "current-context: x\ncontexts: [{name: x, context: {cluster: c, "
			     "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h', "
			     "certificate-authority: ca.crt}}]\nusers: [{name: u, user: "
			     "{tokenFile: tok}}]\n");
	ATF_REQUIRE_EQ(kn_kubeconf_load("cfg/kc", NULL, &c, &err), 0);
	ATF_CHECK_STREQ(c.ca_file, "cfg/ca.crt");
	ATF_CHECK_STREQ(c.token_file, "cfg/tok");
	kn_kubeconf_free(&c);
	ATF_CHECK_EQ(kn_kubeconf_load("cfg/missing", NULL, &c, &err), -ENOENT);
	ATF_CHECK(strstr(err.msg, "cfg/missing") != NULL);
}

/* ------------------------------------------------------------ in-cluster */

ATF_TC_WITHOUT_HEAD(incluster);
ATF_TC_BODY(incluster, tc)
{
	struct kn_kubeconf c;
	struct kn_err err;

	ATF_REQUIRE_EQ(mkdir("sa", 0700), 0);
	ATF_CHECK_EQ(kn_kubeconf_incluster(NULL, "443", "sa", &c, &err), -ENOENT);
	ATF_CHECK_EQ(kn_kubeconf_incluster("10.96.0.1", "443", "sa", &c, &err), -ENOENT);
	ATF_CHECK(strstr(err.msg, "sa/token") != NULL);
	write_file("sa/token", "  jwt.token.here\n");
	ATF_CHECK_EQ(kn_kubeconf_incluster("10.96.0.1", "https", "sa", &c, &err), -EINVAL);
	ATF_CHECK_EQ(kn_kubeconf_incluster("10.96.0.1", "70000", "sa", &c, &err), -EINVAL);
	ATF_REQUIRE_EQ(kn_kubeconf_incluster("10.96.0.1", "443", "sa", &c, &err), 0);
	ATF_CHECK_STREQ(c.server, "https://10.96.0.1:443");
	ATF_CHECK_STREQ(c.token_file, "sa/token");
	ATF_CHECK(c.ca_file == NULL); /* no ca.crt: the system's roots */
	ATF_CHECK(c.token == NULL);
	kn_kubeconf_free(&c);
	write_file("sa/ca.crt", "pem");
	ATF_REQUIRE_EQ(kn_kubeconf_incluster("fd00:10:96::1", "6443", "sa", &c, &err), 0);
	ATF_CHECK_STREQ(c.server, "https://[fd00:10:96::1]:6443");
	ATF_CHECK_STREQ(c.ca_file, "sa/ca.crt");
	kn_kubeconf_free(&c);
}

ATF_TC_WITHOUT_HEAD(token_file);
ATF_TC_BODY(token_file, tc)
{
	char *t = NULL;
	FILE *f;

	write_file("tok", "\n\t abc.def \r\n");
	ATF_REQUIRE_EQ(kn_token_read("tok", &t), 0);
	ATF_CHECK_STREQ(t, "abc.def");
	free(t);
	write_file("tok", " \n");
	ATF_CHECK_EQ(kn_token_read("tok", &t), -ENODATA);
	ATF_CHECK_EQ(kn_token_read("nope", &t), -ENOENT);
	f = fopen("tok", "w");
	ATF_REQUIRE(f != NULL);
	for (size_t i = 0; i <= KN_TOKEN_MAX_BYTES; i++)
		fputc('a', f);
	fclose(f);
	ATF_CHECK_EQ(kn_token_read("tok", &t), -EMSGSIZE);
}

ATF_TC_WITHOUT_HEAD(base64);
ATF_TC_BODY(base64, tc)
{
	char *out;
	size_t len;

	ATF_REQUIRE_EQ(kn_base64_decode("aGVsbG8gd29ybGQ=", &out, &len), 0);
	ATF_CHECK_STREQ(out, "hello world");
	ATF_CHECK_EQ(len, 11);
	free(out);
	ATF_REQUIRE_EQ(kn_base64_decode("aGVs\nbG8", &out, &len), 0); /* no padding, lines */
	ATF_CHECK_STREQ(out, "hello");
	free(out);
	ATF_REQUIRE_EQ(kn_base64_decode("", &out, &len), 0);
	ATF_CHECK_EQ(len, 0);
	free(out);
	ATF_CHECK_EQ(kn_base64_decode("a", &out, &len), -EINVAL);
	ATF_CHECK_EQ(kn_base64_decode("aGVs*G8=", &out, &len), -EINVAL);
	ATF_CHECK_EQ(kn_base64_decode("aG==Vs", &out, &len), -EINVAL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, stream_any_chunking);
	ATF_TP_ADD_TC(tp, list_items_and_head);
	ATF_TP_ADD_TC(tp, list_items_first_or_null);
	ATF_TP_ADD_TC(tp, oversized_value);
	ATF_TP_ADD_TC(tp, malformed);
	ATF_TP_ADD_TC(tp, backoff_doubles_caps_resets);
	ATF_TP_ADD_TC(tp, tuning);
	ATF_TP_ADD_TC(tp, resource_table);
	ATF_TP_ADD_TC(tp, store_foreach);
	ATF_TP_ADD_TC(tp, kubeconfig_contexts);
	ATF_TP_ADD_TC(tp, kubeconfig_errors);
	ATF_TP_ADD_TC(tp, kubeconfig_file);
	ATF_TP_ADD_TC(tp, incluster);
	ATF_TP_ADD_TC(tp, token_file);
	ATF_TP_ADD_TC(tp, base64);
	return atf_no_error();
}
