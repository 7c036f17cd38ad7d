/* YAML to JSON: scalar typing as sigs.k8s.io/yaml resolves it,
 * documents, anchors, merge keys and error positions. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "manifest.h"
#include "util.h"

static json_t *
parse1(const char *text)
{
	struct kn_err err;
	json_t *docs = kn_yaml_parse(text, strlen(text), "t.yaml", &err), *d;

	ATF_REQUIRE_MSG(docs != NULL, "%s", err.msg);
	ATF_REQUIRE_EQ(json_array_size(docs), 1);
	d = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return d;
}

ATF_TC_WITHOUT_HEAD(scalar_types);
ATF_TC_BODY(scalar_types, tc)
{
	json_t *d = parse1("i: 80\nneg: -3\nq: \"80\"\nsq: '80'\nname: http\nt: true\n"
			   "y: yes\nOff: off\nn: null\ntilde: ~\nempty:\nf: 1.5\noct: 0755\n"
			   "hex: 0x1F\nver: 1.2.3\nblock: |\n  80\n");

	ATF_CHECK(json_is_integer(json_object_get(d, "i")));
	ATF_CHECK_EQ(json_integer_value(json_object_get(d, "i")), 80);
	ATF_CHECK_EQ(json_integer_value(json_object_get(d, "neg")), -3);
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "q")), "80");
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "sq")), "80");
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "name")), "http");
	ATF_CHECK(json_is_true(json_object_get(d, "t")));
	/* yes/on/y are strings (YAML 1.2), so a namespace "y" stays one. */
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "y")), "yes");
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "Off")), "off");
	ATF_CHECK(json_is_null(json_object_get(d, "n")));
	ATF_CHECK(json_is_null(json_object_get(d, "tilde")));
	ATF_CHECK(json_is_null(json_object_get(d, "empty")));
	ATF_CHECK(json_is_real(json_object_get(d, "f")));
	ATF_CHECK_EQ(json_integer_value(json_object_get(d, "oct")), 755);
	ATF_CHECK_EQ(json_integer_value(json_object_get(d, "hex")), 31);
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "ver")), "1.2.3");
	ATF_CHECK_STREQ(json_string_value(json_object_get(d, "block")), "80\n");
	json_decref(d);
}

ATF_TC_WITHOUT_HEAD(documents);
ATF_TC_BODY(documents, tc)
{
	const char *text = "# only a comment\n---\n---\na: 1\n---\n# empty\n---\nb: [x, y]\n...\n";
	struct kn_err err;
	json_t *docs = kn_yaml_parse(text, strlen(text), "t.yaml", &err);

	ATF_REQUIRE_MSG(docs != NULL, "%s", err.msg);
	ATF_CHECK_EQ(json_array_size(docs), 2);
	ATF_CHECK_EQ(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
	ATF_CHECK_EQ(json_array_size(json_object_get(json_array_get(docs, 1), "b")), 2);
	json_decref(docs);
}

ATF_TC_WITHOUT_HEAD(anchors_and_merge);
ATF_TC_BODY(anchors_and_merge, tc)
{
	json_t *d = parse1("base: &b {app: web, tier: front}\n"
			   "copy: *b\n"
			   "merged:\n  <<: *b\n  tier: back\n");
	json_t *m = json_object_get(d, "merged");

	ATF_CHECK_STREQ(json_string_value(json_object_get(json_object_get(d, "copy"), "app")),
			"web");
	ATF_CHECK_STREQ(json_string_value(json_object_get(m, "app")), "web");
	ATF_CHECK_STREQ(json_string_value(json_object_get(m, "tier")), "back");
	ATF_CHECK(json_object_get(m, "<<") == NULL);
	json_decref(d);
}

ATF_TC_WITHOUT_HEAD(alias_bomb_refused);
ATF_TC_BODY(alias_bomb_refused, tc)
{
	struct strbuf sb;
	struct kn_err err;
	json_t *docs;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 9; i++)
		strbuf_printf(&sb,
			      "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			      "*a%d]\n",
			      i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			      i - 1);
	docs = kn_yaml_parse(sb.buf, sb.len, "bomb.yaml", &err);
	ATF_CHECK(docs == NULL);
	ATF_CHECK(strstr(err.msg, "aliases expand too much") != NULL);
	json_decref(docs);
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(errors_have_positions);
ATF_TC_BODY(errors_have_positions, tc)
{
	const char *bad = "a: 1\nb: [1, 2\nc: 3\n";
	struct kn_err err;

	ATF_CHECK(kn_yaml_parse(bad, strlen(bad), "bad.yaml", &err) == NULL);
	ATF_CHECK_MATCH("^bad.yaml:[0-9]+:[0-9]+: ", err.msg);
	bad = "a: *nope\n";
	ATF_CHECK(kn_yaml_parse(bad, strlen(bad), "bad.yaml", &err) == NULL);
	ATF_CHECK(strstr(err.msg, "unknown alias 'nope'") != NULL);
	bad = "? [a, b]\n: 1\n";
	ATF_CHECK(kn_yaml_parse(bad, strlen(bad), "bad.yaml", &err) == NULL);
	ATF_CHECK(strstr(err.msg, "mapping keys must be scalars") != NULL);
}

ATF_TC_WITHOUT_HEAD(deep_nesting_refused);
ATF_TC_BODY(deep_nesting_refused, tc)
{
	struct strbuf sb;
	struct kn_err err;

	strbuf_init(&sb, 0);
	for (int i = 0; i < 1000; i++)
		strbuf_putc(&sb, '[');
	for (int i = 0; i < 1000; i++)
		strbuf_putc(&sb, ']');
	ATF_CHECK(kn_yaml_parse(sb.buf, sb.len, "deep.yaml", &err) == NULL);
	ATF_CHECK(strstr(err.msg, "nesting too deep") != NULL);
	strbuf_free(&sb);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, scalar_types);
	ATF_TP_ADD_TC(tp, documents);
	ATF_TP_ADD_TC(tp, anchors_and_merge);
	ATF_TP_ADD_TC(tp, alias_bomb_refused);
	ATF_TP_ADD_TC(tp, errors_have_positions);
	ATF_TP_ADD_TC(tp, deep_nesting_refused);
	return atf_no_error();
}
