#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "decode.h"
#include "jsonrd.h"
#include "manifest.h"
#include "testutil.h"
#include "util.h"

struct lenient {
	struct kn_store *s;
	size_t invalid;
	char *err;
	size_t errlen;
};

/* obj as kube-nftctl and kube-nftd build a JSON manifest's objects: only
 * the members decoding reads (kn_decode_fields). */
static json_t *
pruned(const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	struct kn_jsonrd *j = kn_jsonrd_new_buf(text, strlen(text), kn_decode_fields);
	json_t *v = NULL;

	ATF_REQUIRE_EQ(kn_jsonrd_next(j, NULL, NULL, &v), 1);
	kn_jsonrd_free(j);
	free(text);
	return v;
}

/* Every object is decoded whole and pruned: both must give the same
 * error, or none; the store gets the pruned one, so that the tests of
 * what the compiler makes of it hold for what the programs read. */
static int
load_cb(void *arg, json_t *obj, const char *where)
{
	struct lenient *l = arg;
	struct kn_object o, whole;
	struct kn_err err, werr;
	json_t *p = pruned(obj);
	int r, wr;

	(void)where;
	wr = kn_decode_object(obj, &whole, &werr);
	r = kn_decode_object(p, &o, &err);
	json_decref(p);
	if (wr == 0)
		kn_object_free(&whole);
	if ((r < 0) != (wr < 0) || (r < 0 && strcmp(err.msg, werr.msg) != 0))
		atf_tc_fail("decoded pruned: %s; whole: %s", r < 0 ? err.msg : "ok",
			    wr < 0 ? werr.msg : "ok");
	if (r < 0) {
		l->invalid++;
		if (l->err)
			snprintf(l->err, l->errlen, "%s", err.msg);
		return 0;
	}
	kn_store_put(l->s, &o);
	return 0;
}

char *
tu_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct strbuf sb;
	char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	strbuf_init(&sb, 0);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_steal(&sb);
}

size_t
tu_load_lenient(struct kn_store *s, const char *text, char *err, size_t errlen)
{
	struct lenient l = {s, 0, err, errlen};
	struct kn_err e;

	if (kn_manifest_read_buf(text, strlen(text), "test", load_cb, &l, &e) < 0)
		atf_tc_fail("manifest: %s", e.msg);
	return l.invalid;
}

void
tu_load(struct kn_store *s, const char *text)
{
	char err[KN_ERR_MAX] = "";

	if (tu_load_lenient(s, text, err, sizeof(err)))
		atf_tc_fail("invalid object: %s", err);
}

static const char *const model_ns[] = {"x", "y", "z"};
static const char *const model_pod[] = {"a", "b", "c"};

static int
idx_of(const char *const *v, const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	atf_tc_fail("no model object %s", s);
	return -1;
}

void
tu_pod_addr(const char *ns, const char *pod, int family, struct kn_addr *ret)
{
	char buf[64];
	int n = idx_of(model_ns, ns) + 1, m = idx_of(model_pod, pod) + 1;

	if (family == AF_INET)
		snprintf(buf, sizeof(buf), "10.0.%d.%d", n, m);
	else
		snprintf(buf, sizeof(buf), "fd00::%d:%d", n, m);
	ATF_REQUIRE_EQ(kn_addr_parse(buf, ret), 0);
}

void
tu_model(struct kn_store *s)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	for (int n = 0; n < 3; n++) {
		strbuf_printf(&sb,
			      "%s{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":"
			      "{\"name\":\"%s\",\"labels\":{\"ns\":\"%s\"}}}",
			      n ? "," : "", model_ns[n], model_ns[n]);
		for (int m = 0; m < 3; m++)
			strbuf_printf(
				&sb,
				",{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
				"\"%s\",\"namespace\":\"%s\",\"labels\":{\"pod\":\"%s\"}},"
				"\"spec\":{\"nodeName\":\"%s\",\"containers\":[{\"name\":\"c\","
				"\"ports\":[{\"name\":\"serve-80-tcp\",\"containerPort\":80},"
				"{\"name\":\"serve-80-udp\",\"containerPort\":80,\"protocol\":"
				"\"UDP\"},{\"name\":\"serve-81-tcp\",\"containerPort\":81},"
				"{\"name\":\"serve-81-udp\",\"containerPort\":81,\"protocol\":"
				"\"UDP\"}]}]},\"status\":{\"phase\":\"Running\",\"podIP\":"
				"\"10.0.%d.%d\",\"podIPs\":[{\"ip\":\"10.0.%d.%d\"},{\"ip\":"
				"\"fd00::%d:%d\"}]}}",
				model_pod[m], model_ns[n], model_pod[m], m < 2 ? "node1" : "node2",
				n + 1, m + 1, n + 1, m + 1, n + 1, m + 1);
	}
	strbuf_puts(&sb, "]}");
	tu_load(s, strbuf_str(&sb));
	strbuf_free(&sb);
}

static int
proto_num(const char *proto)
{
	if (strcmp(proto, "tcp") == 0)
		return 6;
	if (strcmp(proto, "udp") == 0)
		return 17;
	if (strcmp(proto, "sctp") == 0)
		return 132;
	atf_tc_fail("bad proto %s", proto);
	return 0;
}

static bool
reach_node(struct kn_store *s, const char *node, const struct kn_packet *pkt, bool to_node)
{
	struct kn_compile_opts o = {.node = node};
	struct kn_program *p = kn_compile(s, &o, NULL);
	enum kn_eval_verdict v = kn_eval(p, pkt, to_node ? KN_HOOK_INPUT : KN_HOOK_FORWARD, NULL);

	kn_program_free(p);
	return v == KN_EVAL_ACCEPT;
}

static void
split(const char *nspod, char *ns, char *pod)
{
	const char *sl = strchr(nspod, '/');

	ATF_REQUIRE(sl != NULL);
	snprintf(ns, 16, "%.*s", (int)(sl - nspod), nspod);
	snprintf(pod, 16, "%s", sl + 1);
}

bool
tu_reach(struct kn_store *s, const char *from, const char *to, const char *proto, int port,
	 int family)
{
	char fns[16], fpod[16], tns[16], tpod[16];
	const char *fnode, *tnode;
	struct kn_packet pkt;

	split(from, fns, fpod);
	split(to, tns, tpod);
	memset(&pkt, 0, sizeof(pkt));
	tu_pod_addr(fns, fpod, family, &pkt.saddr);
	tu_pod_addr(tns, tpod, family, &pkt.daddr);
	pkt.proto = (uint8_t)proto_num(proto);
	pkt.dport = (uint16_t)port;
	fnode = strcmp(fpod, "c") == 0 ? "node2" : "node1";
	tnode = strcmp(tpod, "c") == 0 ? "node2" : "node1";
	if (!reach_node(s, fnode, &pkt, false))
		return false;
	if (strcmp(fnode, tnode) != 0 && !reach_node(s, tnode, &pkt, false))
		return false;
	return true;
}

void
tu_check_matrix(struct kn_store *s, const char *proto, int port, int family, const char *expected)
{
	char want[81], got[81];
	struct strbuf sb;
	size_t n = 0;
	bool ok = true;

	for (const char *e = expected; *e; e++)
		if (*e == 'X' || *e == '.') {
			ATF_REQUIRE(n < 81);
			want[n++] = *e;
		}
	ATF_REQUIRE_EQ_MSG(n, 81, "expected matrix has %zu cells", n);
	for (int i = 0; i < 81; i++) {
		int fi = i / 9, ti = i % 9;
		char from[8], to[8];

		snprintf(from, sizeof(from), "%s/%s", model_ns[fi / 3], model_pod[fi % 3]);
		snprintf(to, sizeof(to), "%s/%s", model_ns[ti / 3], model_pod[ti % 3]);
		got[i] = fi == ti				      ? want[i]
			 : tu_reach(s, from, to, proto, port, family) ? 'X'
								      : '.';
		if (got[i] != want[i])
			ok = false;
	}
	if (ok)
		return;
	strbuf_init(&sb, 0);
	strbuf_printf(&sb, "%s/%d %s: got (expected)\n       xa  xb  xc  ya  yb  yc  za  zb  zc\n",
		      proto, port, family == AF_INET ? "IPv4" : "IPv6");
	for (int fi = 0; fi < 9; fi++) {
		strbuf_printf(&sb, "%s/%s  ", model_ns[fi / 3], model_pod[fi % 3]);
		for (int ti = 0; ti < 9; ti++) {
			int i = fi * 9 + ti;

			strbuf_printf(&sb, " %c%c%c", got[i], got[i] != want[i] ? '!' : ' ', ' ');
		}
		strbuf_putc(&sb, '\n');
	}
	fprintf(stderr, "%s", strbuf_str(&sb));
	strbuf_free(&sb);
	atf_tc_fail("reachability differs from the expected matrix (see stderr, '!' marks)");
}
