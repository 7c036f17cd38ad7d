/* Manifest files: JSON or YAML, Lists expanded, positions in messages. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "manifest.h"

struct seen {
	char names[32][64];
	char wheres[32][128];
	int n;
};

static int
record(void *ctx, json_t *obj, const char *where)
{
	struct seen *s = ctx;
	const char *name =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));

	ATF_REQUIRE(s->n < 32);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name ? name : "?");
	snprintf(s->wheres[s->n], sizeof(s->wheres[0]), "%s", where);
	s->n++;
	return 0;
}

static int
read_str(const char *text, struct seen *s, struct kn_err *err)
{
	memset(s, 0, sizeof(*s));
	return kn_manifest_read_buf(text, strlen(text), "m", record, s, err);
}

ATF_TC_WITHOUT_HEAD(yaml_lists_expanded);
ATF_TC_BODY(yaml_lists_expanded, tc)
{
	struct seen s;
	struct kn_err err;

	ATF_REQUIRE_EQ(read_str("kind: Pod\nmetadata: {name: a}\n---\n"
				"apiVersion: v1\nkind: List\nitems:\n"
				"- {kind: Pod, metadata: {name: b}}\n"
				"- {kind: PodList, items: [{kind: Pod, metadata: {name: c}}]}\n",
				&s, &err),
		       0);
	ATF_REQUIRE_EQ(s.n, 3);
	ATF_CHECK_STREQ(s.names[0], "a");
	ATF_CHECK_STREQ(s.names[1], "b");
	ATF_CHECK_STREQ(s.names[2], "c");
	ATF_CHECK_STREQ(s.wheres[0], "m: document 1");
	ATF_CHECK_STREQ(s.wheres[2], "m: document 2, item 2, item 1");
}

ATF_TC_WITHOUT_HEAD(json_stream);
ATF_TC_BODY(json_stream, tc)
{
	struct seen s;
	struct kn_err err;

	ATF_REQUIRE_EQ(read_str("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}\n"
				"{\"kind\":\"NetworkPolicyList\",\"items\":[{\"kind\":"
				"\"NetworkPolicy\",\"metadata\":{\"name\":\"b\"}}]}",
				&s, &err),
		       0);
	ATF_REQUIRE_EQ(s.n, 2);
	ATF_CHECK_STREQ(s.names[1], "b");
	ATF_CHECK_STREQ(s.wheres[1], "m: document 2, item 1");
}

ATF_TC_WITHOUT_HEAD(json_list_streamed);
ATF_TC_BODY(json_list_streamed, tc)
{
	struct seen s;
	struct kn_err err;

	/* kubectl's key order: items before kind; escaped quotes in strings;
	 * a nested List; null items skipped. */
	ATF_REQUIRE_EQ(
		read_str("{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n"
			 "    {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", "
			 "\"annotations\": {\"x\": \"q\\\"}]\\\\\"}}},\n"
			 "    null,\n"
			 "    {\"kind\": \"PodList\", \"items\": [{\"kind\": \"Pod\", "
			 "\"metadata\": {\"name\": \"b\"}}]}\n  ],\n"
			 "  \"kind\": \"List\",\n  \"metadata\": {\"resourceVersion\": \"\"}\n}\n",
			 &s, &err),
		0);
	ATF_REQUIRE_EQ_MSG(s.n, 2, "%s", err.msg);
	ATF_CHECK_STREQ(s.names[0], "a");
	ATF_CHECK_STREQ(s.wheres[0], "m: document 1, item 1");
	ATF_CHECK_STREQ(s.names[1], "b");
	ATF_CHECK_STREQ(s.wheres[1], "m: document 1, item 3, item 1");
	/* An error inside a streamed item names the line of the file. */
	ATF_CHECK_EQ(read_str("{\"kind\": \"List\",\n\"items\": [\n{\"kind\": \"Pod\"},\n"
			      "{\"kind\": }\n]}",
			      &s, &err),
		     -EINVAL);
	ATF_CHECK_MATCH("^m: line 4 column [0-9]+: ", err.msg);
	/* Not a List (kind missing): parsed as one object. */
	ATF_REQUIRE_EQ(read_str("{\"items\": [1], \"metadata\": {\"name\": \"c\"}}", &s, &err), 0);
	ATF_CHECK_EQ(s.n, 1);
	ATF_CHECK_STREQ(s.names[0], "c");
}

static int
record_kind(void *ctx, json_t *obj, const char *where)
{
	struct seen *s = ctx;

	(void)where;
	ATF_REQUIRE(s->n < 32);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s %s",
		 json_string_value(json_object_get(obj, "apiVersion")),
		 json_string_value(json_object_get(obj, "kind")));
	s->n++;
	return 0;
}

ATF_TC_WITHOUT_HEAD(typed_lists);
ATF_TC_BODY(typed_lists, tc)
{
	/* The API returns PodList items without kind and apiVersion. */
	const char *json = "{\"apiVersion\": \"v1\", \"items\": [{\"metadata\": {}}, "
			   "{\"kind\": \"Pod\", \"apiVersion\": \"v1\"}], \"kind\": \"PodList\"}";
	const char *yaml = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\n"
			   "items:\n- metadata: {name: a}\n";
	struct seen s;
	struct kn_err err;

	memset(&s, 0, sizeof(s));
	ATF_REQUIRE_EQ(kn_manifest_read_buf(json, strlen(json), "m", record_kind, &s, &err), 0);
	ATF_REQUIRE_EQ(s.n, 2);
	ATF_CHECK_STREQ(s.names[0], "v1 Pod");
	ATF_CHECK_STREQ(s.names[1], "v1 Pod");
	memset(&s, 0, sizeof(s));
	ATF_REQUIRE_EQ(kn_manifest_read_buf(yaml, strlen(yaml), "m", record_kind, &s, &err), 0);
	ATF_REQUIRE_EQ(s.n, 1);
	ATF_CHECK_STREQ(s.names[0], "networking.k8s.io/v1 NetworkPolicy");
}

ATF_TC_WITHOUT_HEAD(errors);
ATF_TC_BODY(errors, tc)
{
	struct seen s;
	struct kn_err err;

	ATF_CHECK_EQ(read_str("{\"kind\": \"Pod\",\n \"x\": }", &s, &err), -EINVAL);
	ATF_CHECK_MATCH("^m: line 2 column [0-9]+: ", err.msg);
	ATF_CHECK_EQ(read_str("- 1\n- 2\n", &s, &err), -EINVAL);
	ATF_CHECK_STREQ(err.msg, "m: document 1: not an object");
	ATF_CHECK_EQ(read_str("{\"a\":1,\"a\":2}", &s, &err), -EINVAL);
	ATF_CHECK_EQ(kn_manifest_read_file("/nonexistent/x.yaml", record, &s, &err), -ENOENT);
	ATF_CHECK_STREQ(err.msg, "/nonexistent/x.yaml: No such file or directory");
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
	const char *text = "kind: A\n---\nkind: B\n---\nkind: C\n";
	struct kn_err err;
	int n = 0;

	ATF_CHECK_EQ(kn_manifest_read_buf(text, strlen(text), "m", stop_at_second, &n, &err), 42);
	ATF_CHECK_EQ(n, 2);
}

ATF_TC_WITHOUT_HEAD(read_file);
ATF_TC_BODY(read_file, tc)
{
	struct seen s;
	struct kn_err err;
	FILE *f = fopen("m.yaml", "w");

	ATF_REQUIRE(f != NULL);
	fputs("kind: Pod\nmetadata: {name: from-file}\n", f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	ATF_REQUIRE_EQ(kn_manifest_read_file("m.yaml", record, &s, &err), 0);
	ATF_CHECK_EQ(s.n, 1);
	ATF_CHECK_STREQ(s.wheres[0], "m.yaml: document 1");
}

ATF_TC_WITHOUT_HEAD(size_limit);
ATF_TC_BODY(size_limit, tc)
{
	struct kn_err err;

	ATF_CHECK_EQ(kn_manifest_read_buf("", (size_t)KN_MANIFEST_MAX_BYTES + 1, "big", record,
					  NULL, &err),
		     -EFBIG);
	ATF_CHECK(strstr(err.msg, "big: larger than") != NULL);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, yaml_lists_expanded);
	ATF_TP_ADD_TC(tp, json_stream);
	ATF_TP_ADD_TC(tp, json_list_streamed);
	ATF_TP_ADD_TC(tp, typed_lists);
	ATF_TP_ADD_TC(tp, errors);
	ATF_TP_ADD_TC(tp, callback_stops);
	ATF_TP_ADD_TC(tp, read_file);
	ATF_TP_ADD_TC(tp, size_limit);
	return atf_no_error();
}
