/* Manifest files: JSON or YAML, documents and Lists expanded, positions
 * in callbacks and in error messages, bounds, files and stdin. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "manifest.h"
#include "util.h"

#define SEEN_MAX 32

/* What the callback saw: each object as compact JSON, and its position. */
struct seen {
	char *objs[SEEN_MAX];
	char *wheres[SEEN_MAX];
	int n;
};

static int
record(void *ctx, json_t *obj, const char *where)
{
	struct seen *s = ctx;

	ATF_REQUIRE(s->n < SEEN_MAX);
	s->objs[s->n] = json_dumps(obj, JSON_COMPACT);
	s->wheres[s->n] = xstrdup(where);
	s->n++;
	return 0;
}

static void
seen_free(struct seen *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->objs[i]);
		free(s->wheres[i]);
	}
	memset(s, 0, sizeof(*s));
}

static int
read_str(const char *text, struct seen *s, struct kn_err *err)
{
	seen_free(s);
	memset(err, 0, sizeof(*err));
	return kn_manifest_read_buf(text, strlen(text), "m", record, s, err);
}

/* Reads text, which must succeed, and checks the objects and positions:
 * want holds pairs of (where, object JSON). */
static void
check_read(const char *text, const char *const *want, int nwant)
{
	struct seen s = {0};
	struct kn_err err;
	int r;

	r = read_str(text, &s, &err);
	ATF_REQUIRE_EQ_MSG(r, 0, "%s", err.msg);
	ATF_CHECK_EQ_MSG(s.n, nwant, "for: %s", text);
	for (int i = 0; i < s.n && i < nwant; i++) {
		ATF_CHECK_STREQ(s.wheres[i], want[2 * i]);
		ATF_CHECK_STREQ(s.objs[i], want[2 * i + 1]);
	}
	seen_free(&s);
}

/* Reads text, which must fail with r and exactly the message msg. */
static void
check_fail(const char *text, int want_r, const char *msg)
{
	struct seen s = {0};
	struct kn_err err;

	ATF_CHECK_EQ_MSG(read_str(text, &s, &err), want_r, "for: %s", text);
	ATF_CHECK_STREQ_MSG(err.msg, msg, "for: %s", text);
	seen_free(&s);
}

ATF_TC_WITHOUT_HEAD(yaml_documents);
ATF_TC_BODY(yaml_documents, tc)
{
	/* Empty and null documents are skipped and not counted. */
	static const char *const want[] = {
		"m: document 1",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}",
		"m: document 2",
		"{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":80}]}}",
	};

	check_read("# header\n---\n---\nkind: Pod\nmetadata: {name: a}\n---\n# nothing\n---\n"
		   "~\n---\nkind: Service\nspec:\n  ports:\n  - port: 80\n---\n",
		   want, 2);
	check_read("", NULL, 0);
	check_read("# only comments\n---\n", NULL, 0);
}

ATF_TC_WITHOUT_HEAD(kubectl_lists);
ATF_TC_BODY(kubectl_lists, tc)
{
	/* kubectl get -o yaml of several kinds: a List holding items, here
	 * with a PodList inside; null items are skipped but counted. */
	static const char *const want[] = {
		"m: document 1",
		"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\"}}",
		"m: document 2, item 1",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}",
		"m: document 2, item 3, item 1",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\"}}",
		"m: document 2, item 3, item 2",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"d\"}}",
		"m: document 3, item 1",
		"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"e\"}}",
	};

	check_read("kind: Namespace\nmetadata: {name: x}\n---\n"
		   "apiVersion: v1\nkind: List\nitems:\n"
		   "- {kind: Pod, metadata: {name: b}}\n"
		   "- null\n"
		   "- kind: PodList\n  items:\n  - {kind: Pod, metadata: {name: c}}\n"
		   "  - {kind: Pod, metadata: {name: d}}\n"
		   "metadata: {resourceVersion: \"\"}\n---\n"
		   "kind: NetworkPolicyList\nitems: [{kind: NetworkPolicy, metadata: {name: e}}]\n"
		   "---\n"
		   "kind: PodList\nitems: []\n",
		   want, 5);
}

ATF_TC_WITHOUT_HEAD(not_lists);
ATF_TC_BODY(not_lists, tc)
{
	/* Only a kind ending in List with an items array is a List. */
	static const char *const want[] = {
		"m: document 1", "{\"kind\":\"Widget\",\"items\":[1]}",
		"m: document 2", "{\"kind\":\"List\"}",
		"m: document 3", "{\"kind\":\"List\",\"items\":null}",
		"m: document 4", "{\"items\":[2]}",
	};

	check_read("kind: Widget\nitems: [1]\n---\nkind: List\n---\nkind: List\nitems:\n---\n"
		   "items: [2]\n",
		   want, 4);
}

ATF_TC_WITHOUT_HEAD(not_objects);
ATF_TC_BODY(not_objects, tc)
{
	check_fail("- 1\n- 2\n", -EINVAL, "m: document 1: expected an object, found an array");
	check_fail("kind: Pod\n---\njust text\n", -EINVAL,
		   "m: document 2: expected an object, found a string");
	check_fail("kind: List\nitems: [{kind: Pod}, 42]\n", -EINVAL,
		   "m: document 1, item 2: expected an object, found a number");
	check_fail("{\"kind\": \"Pod\"}\ntrue\n", -EINVAL,
		   "m: document 2: expected an object, found a boolean");
	check_fail("[{\"kind\": \"Pod\"}]", -EINVAL,
		   "m: document 1: expected an object, found an array");
	check_fail("{\"kind\": \"List\", \"items\": [\"x\"]}", -EINVAL,
		   "m: document 1, item 1: expected an object, found a string");
}

ATF_TC_WITHOUT_HEAD(list_depth_bound);
ATF_TC_BODY(list_depth_bound, tc)
{
	struct strbuf sb;

	/* 16 Lists deep are read; 17 are not. */
	for (int depth = 16; depth <= 17; depth++) {
		struct seen s = {0};
		struct kn_err err;
		int r;

		strbuf_init(&sb, 0);
		for (int i = 0; i < depth; i++)
			strbuf_puts(&sb, "{\"kind\": \"List\", \"items\": [");
		strbuf_puts(&sb, "{\"kind\": \"Pod\"}");
		for (int i = 0; i < depth; i++)
			strbuf_puts(&sb, "]}");
		r = read_str(sb.buf, &s, &err);
		if (depth == 16) {
			ATF_CHECK_EQ_MSG(r, 0, "%s", err.msg);
			ATF_CHECK_EQ(s.n, 1);
		} else {
			ATF_CHECK_EQ(r, -EINVAL);
			ATF_CHECK_MATCH("^m: document 1(, item 1){16}: Lists nested more than 16 "
					"deep$",
					err.msg);
		}
		seen_free(&s);
		strbuf_free(&sb);
	}
}

ATF_TC_WITHOUT_HEAD(json_stream);
ATF_TC_BODY(json_stream, tc)
{
	/* Several values, separated by white space or by nothing; nulls
	 * skipped. */
	static const char *const want[] = {
		"m: document 1",	 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}",
		"m: document 2",	 "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}",
		"m: document 3, item 1", "{\"kind\":\"NetworkPolicy\"}",
		"m: document 4",	 "{\"kind\":\"Pod\"}",
	};
	static const char *const want_bom[] = {"m: document 1", "{\"kind\":\"Pod\"}"};

	check_read("  {\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n"
		   "null\n"
		   "{\"kind\":\"Pod\",\r\n\t\"metadata\":{\"name\":\"b\"}}"
		   "{\"kind\":\"NetworkPolicyList\",\"items\":[{\"kind\":\"NetworkPolicy\"}]}"
		   "{\"kind\":\"Pod\"}\n\n",
		   want, 4);
	/* A byte order mark before JSON. */
	check_read("\xef\xbb\xbf{\"kind\":\"Pod\"}", want_bom, 1);
}

ATF_TC_WITHOUT_HEAD(json_list_streamed);
ATF_TC_BODY(json_list_streamed, tc)
{
	/* kubectl's key order (items before kind); strings with escaped
	 * quotes and brackets; a nested List; a null item counted. */
	static const char *const want[] = {
		"m: document 1, item 1",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"annotations\":"
		"{\"x\":\"q\\\"}]\\\\\"}}}",
		"m: document 1, item 3, item 1",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\"}}",
		"m: document 2",
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\"}}",
	};

	check_read("{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n"
		   "    {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", "
		   "\"annotations\": {\"x\": \"q\\\"}]\\\\\"}}},\n"
		   "    null,\n"
		   "    {\"kind\": \"PodList\", \"items\": [{\"kind\": \"Pod\", "
		   "\"metadata\": {\"name\": \"b\"}}]}\n  ],\n"
		   "  \"kind\": \"List\",\n  \"metadata\": {\"resourceVersion\": \"\"}\n}\n"
		   "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"c\"}}\n",
		   want, 3);
}

ATF_TC_WITHOUT_HEAD(json_errors);
ATF_TC_BODY(json_errors, tc)
{
	check_fail("{\"kind\": \"Pod\",\n \"x\": }", -EINVAL,
		   "m: line 2 column 7: unexpected token near '}'");
	/* Positions count from the start of the file, past earlier values. */
	check_fail("{\"kind\": \"Pod\"}\n{\"kind\": \"Pod\",\n  \"x\": ]}", -EINVAL,
		   "m: line 3 column 8: unexpected token near ']'");
	check_fail("{\"kind\": \"Pod\"} {\"a\": tru}", -EINVAL,
		   "m: line 1 column 25: invalid token near 'tru'");
	check_fail("{\"kind\": \"Pod\"}\ngarbage", -EINVAL,
		   "m: line 2 column 7: invalid token near 'garbage'");
	check_fail("{\"a\": 1, \"a\": 2}", -EINVAL,
		   "m: line 1 column 12: duplicate object key near '\"a\"'");
	/* Inside a streamed List: the line in the file, not in the item. */
	check_fail("{\"kind\": \"List\",\n\"items\": [\n{\"kind\": \"Pod\"},\n{\"kind\": }\n]}",
		   -EINVAL, "m: line 4 column 10: unexpected token near '}'");
	check_fail("{\"kind\": \"List\", \"items\": [{\"a\": 1} {\"b\": 2}]}", -EINVAL,
		   "m: line 1 column 37: expected ',' or ']' after an item");
	/* A List with a duplicate key is read whole, and refused. */
	check_fail("{\"kind\": \"List\", \"items\": [], \"kind\": \"List\"}", -EINVAL,
		   "m: line 1 column 36: duplicate object key near '\"kind\"'");
	check_fail("{\"kind\": \"List\", \"items\": [{}", -EINVAL,
		   "m: line 1 column 29: ']' expected near end of file");
}

ATF_TC_WITHOUT_HEAD(yaml_errors);
ATF_TC_BODY(yaml_errors, tc)
{
	check_fail("kind: Pod\nmetadata\n  name: a\n", -EINVAL,
		   "m:3:7: could not find expected ':' (while scanning a simple key at line 2 "
		   "column 1)");
	check_fail("kind: Pod\nmetadata: {name: a\n", -EINVAL,
		   "m:3:1: did not find expected ',' or '}' (while parsing a flow mapping at "
		   "line 2 column 11)");
	check_fail("kind: Pod\nkind: Service\n", -EINVAL, "m:2:1: duplicate key 'kind'");
}

ATF_TC_WITHOUT_HEAD(yaml_and_json_agree);
ATF_TC_BODY(yaml_and_json_agree, tc)
{
	/* The same policy, as kubectl would write it in YAML and JSON. */
	const char *yaml = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			   "metadata:\n  name: web\n  namespace: \"y\"\n"
			   "  labels: {enabled: \"yes\", tier: \"80\"}\n"
			   "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
			   "  ingress:\n  - ports:\n    - {port: 80, endPort: 0x1F90}\n"
			   "    - port: http\n      protocol: UDP\n";
	const char *json = "{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"NetworkPolicy\","
			   " \"metadata\": {\"name\": \"web\", \"namespace\": \"y\", \"labels\": "
			   "{\"enabled\": \"yes\", \"tier\": \"80\"}}, \"spec\": {\"podSelector\": "
			   "{}, \"policyTypes\": [\"Ingress\"], \"ingress\": [{\"ports\": ["
			   "{\"port\": 80, \"endPort\": 8080}, {\"port\": \"http\", \"protocol\": "
			   "\"UDP\"}]}]}}";
	struct seen a = {0}, b = {0};
	struct kn_err err;
	json_t *va, *vb;

	ATF_REQUIRE_EQ_MSG(read_str(yaml, &a, &err), 0, "%s", err.msg);
	ATF_REQUIRE_EQ_MSG(read_str(json, &b, &err), 0, "%s", err.msg);
	ATF_REQUIRE_EQ(a.n, 1);
	ATF_REQUIRE_EQ(b.n, 1);
	va = json_loads(a.objs[0], 0, NULL);
	vb = json_loads(b.objs[0], 0, NULL);
	ATF_CHECK_MSG(json_equal(va, vb), "%s\n%s", a.objs[0], b.objs[0]);
	json_decref(va);
	json_decref(vb);
	seen_free(&a);
	seen_free(&b);
}

static int
stop_at_second(void *ctx, json_t *obj, const char *where)
{
	int *n = ctx;

	(void)obj;
	(void)where;
	return ++*n == 2 ? 42 : 0;
}

ATF_TC_WITHOUT_HEAD(callback_stops);
ATF_TC_BODY(callback_stops, tc)
{
	static const char *const texts[] = {
		"kind: A\n---\nkind: B\n---\nkind: C\n",
		"{\"kind\": \"A\"} {\"kind\": \"B\"} {\"kind\": \"C\"}",
		"{\"kind\": \"List\", \"items\": [{\"kind\": \"A\"}, {\"kind\": \"B\"}, {}]}",
		"kind: List\nitems: [{kind: A}, {kind: List, items: [{kind: B}, {}]}]\n",
	};
	struct kn_err err;

	/* The callback's value comes back, and nothing after it is read. */
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		int n = 0;

		ATF_CHECK_EQ(kn_manifest_read_buf(texts[i], strlen(texts[i]), "m", stop_at_second,
						  &n, &err),
			     42);
		ATF_CHECK_EQ(n, 2);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ATF_REQUIRE(f != NULL);
	ATF_REQUIRE(fputs(text, f) >= 0);
	ATF_REQUIRE_EQ(fclose(f), 0);
}

ATF_TC_WITHOUT_HEAD(read_file);
ATF_TC_BODY(read_file, tc)
{
	struct seen s = {0};
	struct kn_err err;

	write_file("m.yaml", "kind: Pod\nmetadata: {name: from-file}\n");
	ATF_REQUIRE_EQ_MSG(kn_manifest_read_file("m.yaml", record, &s, &err), 0, "%s", err.msg);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_STREQ(s.wheres[0], "m.yaml: document 1");
	ATF_CHECK_STREQ(s.objs[0], "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"from-file\"}}");
	seen_free(&s);

	write_file("empty.json", "");
	ATF_CHECK_EQ(kn_manifest_read_file("empty.json", record, &s, &err), 0);
	ATF_CHECK_EQ(s.n, 0);

	write_file("bad.yaml", "a: 1\nb\nc: 2\n");
	ATF_CHECK_EQ(kn_manifest_read_file("bad.yaml", record, &s, &err), -EINVAL);
	ATF_CHECK_MATCH("^bad.yaml:3:1: could not find expected ':'", err.msg);

	ATF_CHECK_EQ(kn_manifest_read_file("missing.yaml", record, &s, &err), -ENOENT);
	ATF_CHECK_STREQ(err.msg, "missing.yaml: No such file or directory");
	ATF_CHECK_EQ(kn_manifest_read_file(".", record, &s, &err), -EISDIR);
	ATF_CHECK_STREQ(err.msg, ".: Is a directory");
	seen_free(&s);
}

ATF_TC_WITHOUT_HEAD(read_stdin);
ATF_TC_BODY(read_stdin, tc)
{
	struct seen s = {0};
	struct kn_err err;
	int fd;

	write_file("in.json", "{\"kind\": \"Pod\"}\n{\"kind\": \"Service\"}\n");
	fd = open("in.json", O_RDONLY);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE(dup2(fd, STDIN_FILENO) == STDIN_FILENO);
	close(fd);
	ATF_REQUIRE_EQ_MSG(kn_manifest_read_file("-", record, &s, &err), 0, "%s", err.msg);
	ATF_REQUIRE_EQ(s.n, 2);
	ATF_CHECK_STREQ(s.wheres[1], "<stdin>: document 2");
	ATF_CHECK_STREQ(s.objs[1], "{\"kind\":\"Service\"}");
	seen_free(&s);
	/* A pipe has no size to read ahead with. */
	{
		int p[2];

		ATF_REQUIRE_EQ(pipe(p), 0);
		ATF_REQUIRE_EQ(write(p[1], "kind: Pod\n", 10), 10);
		close(p[1]);
		ATF_REQUIRE(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
		close(p[0]);
		ATF_REQUIRE_EQ_MSG(kn_manifest_read_file("-", record, &s, &err), 0, "%s", err.msg);
		ATF_CHECK_EQ(s.n, 1);
		ATF_CHECK_STREQ(s.wheres[0], "<stdin>: document 1");
		seen_free(&s);
	}
}

ATF_TC_WITHOUT_HEAD(size_limit);
ATF_TC_BODY(size_limit, tc)
{
	struct kn_err err;
	int fd;

	/* Refused before a byte is read. */
	ATF_CHECK_EQ(kn_manifest_read_buf("", (size_t)KN_MANIFEST_MAX_BYTES + 1, "big", record,
					  NULL, &err),
		     -EFBIG);
	ATF_CHECK_STREQ(err.msg, "big: larger than 536870912 bytes");
	/* A sparse file one byte too big: refused from its size. */
	fd = open("big.yaml", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE_EQ(ftruncate(fd, (off_t)KN_MANIFEST_MAX_BYTES + 1), 0);
	close(fd);
	ATF_CHECK_EQ(kn_manifest_read_file("big.yaml", record, NULL, &err), -EFBIG);
	ATF_CHECK_STREQ(err.msg, "big.yaml: larger than 536870912 bytes");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, yaml_documents);
	ATF_TP_ADD_TC(tp, kubectl_lists);
	ATF_TP_ADD_TC(tp, not_lists);
	ATF_TP_ADD_TC(tp, not_objects);
	ATF_TP_ADD_TC(tp, list_depth_bound);
	ATF_TP_ADD_TC(tp, json_stream);
	ATF_TP_ADD_TC(tp, json_list_streamed);
	ATF_TP_ADD_TC(tp, json_errors);
	ATF_TP_ADD_TC(tp, yaml_errors);
	ATF_TP_ADD_TC(tp, yaml_and_json_agree);
	ATF_TP_ADD_TC(tp, callback_stops);
	ATF_TP_ADD_TC(tp, read_file);
	ATF_TP_ADD_TC(tp, read_stdin);
	ATF_TP_ADD_TC(tp, size_limit);
	return atf_no_error();
}
