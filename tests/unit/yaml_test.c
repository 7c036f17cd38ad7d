/* YAML to JSON: scalar typing as kubectl (sigs.k8s.io/yaml, go-yaml v2)
 * applies it, documents, keys, anchors and merge keys, bounds, and error
 * positions. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "manifest.h"
#include "util.h"

/* Parses text, which must hold exactly one document. */
static json_t *
parse1(const char *text)
{
	struct kn_err err;
	json_t *docs, *d;

	docs = kn_yaml_parse(text, strlen(text), "t.yaml", &err);
	ATF_REQUIRE_MSG(docs != NULL, "%s: %s", text, err.msg);
	ATF_REQUIRE_EQ_MSG(json_array_size(docs), 1, "%s", text);
	d = json_incref(json_array_get(docs, 0));
	json_decref(docs);
	return d;
}

/* Expects text to fail with exactly the message msg. */
static void
check_error(const char *text, const char *msg)
{
	struct kn_err err;
	json_t *docs;

	memset(&err, 0, sizeof(err));
	docs = kn_yaml_parse(text, strlen(text), "t.yaml", &err);
	ATF_CHECK_MSG(docs == NULL, "accepted: %s", text);
	json_decref(docs);
	ATF_CHECK_STREQ_MSG(err.msg, msg, "for: %s", text);
}

static void
check_dump(const json_t *v, const char *want)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	ATF_REQUIRE(s != NULL);
	ATF_CHECK_STREQ(s, want);
	free(s);
}

ATF_TC_WITHOUT_HEAD(scalar_typing);
ATF_TC_BODY(scalar_typing, tc)
{
	/* The value of `v: <yaml>` and the JSON kubectl sends for it. */
	static const struct {
		const char *yaml;
		const char *json;
	} cases[] = {
		{"80", "80"},
		{"-3", "-3"},
		{"+80", "80"},
		{"\"80\"", "\"80\""},
		{"'80'", "\"80\""},
		{"0", "0"},
		{"9223372036854775807", "9223372036854775807"},
		{"-9223372036854775808", "-9223372036854775808"},
		/* Go's base prefixes: a leading 0 is octal... */
		{"0755", "493"},
		{"0x1F", "31"},
		{"0o17", "15"},
		{"0b101", "5"},
		{"1_000", "1000"},
		/* ...but 080 is not octal, so it is read as the float 80,
		 * which Go writes as 80. */
		{"080", "80"},
		{"1.5", "1.5"},
		{"-.5", "-0.5"},
		{".5", "0.5"},
		{"1.0", "1"},
		{"1e3", "1000"},
		{"1e400", "\"1e400\""},
		{"9223372036854775808", "9.2233720368547758e+18"},
		/* YAML 1.1 booleans, in go-yaml's spellings only. */
		{"true", "true"},
		{"True", "true"},
		{"TRUE", "true"},
		{"yes", "true"},
		{"Yes", "true"},
		{"y", "true"},
		{"Y", "true"},
		{"on", "true"},
		{"ON", "true"},
		{"false", "false"},
		{"no", "false"},
		{"n", "false"},
		{"off", "false"},
		{"Off", "false"},
		{"yEs", "\"yEs\""},
		{"\"yes\"", "\"yes\""},
		{"'on'", "\"on\""},
		{"null", "null"},
		{"Null", "null"},
		{"NULL", "null"},
		{"~", "null"},
		{"", "null"},
		{"nil", "\"nil\""},
		{"\"\"", "\"\""},
		{"http", "\"http\""},
		{"1.2.3", "\"1.2.3\""},
		{"2001-12-14", "\"2001-12-14\""},
		{"10.0.0.0/8", "\"10.0.0.0/8\""},
		{"0x", "\"0x\""},
		{"<<", "\"<<\""},
		/* Block scalars are strings, whatever their text. */
		{"|\n  80\n", "\"80\\n\""},
		{">-\n  on\n", "\"on\""},
		/* Tags: !!str keeps the text, the typed tags check it, other
		 * tags leave a string. */
		{"!!str 80", "\"80\""},
		{"!!str true", "\"true\""},
		{"!!int \"42\"", "42"},
		{"!!float 3", "3"},
		{"!!bool \"yes\"", "true"},
		{"!!null ''", "null"},
		{"!custom 12", "\"12\""},
		{"! 12", "\"12\""},
		{"\"caf\\u00e9\"", "\"caf\\u00e9\""},
		{"café", "\"caf\\u00e9\""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = xasprintf("v: %s\n", cases[i].yaml);
		json_t *d = parse1(text);
		char *got = json_dumps(json_object_get(d, "v"), JSON_COMPACT | JSON_ENCODE_ANY);
		json_t *want = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);

		ATF_REQUIRE(want != NULL);
		ATF_CHECK_MSG(json_equal(json_object_get(d, "v"), want), "v: %s gave %s, not %s",
			      cases[i].yaml, got, cases[i].json);
		/* json_equal tells 80 from 80.0: check the type too. */
		ATF_CHECK_EQ_MSG(json_typeof(json_object_get(d, "v")), json_typeof(want), "v: %s",
				 cases[i].yaml);
		free(got);
		json_decref(want);
		json_decref(d);
		free(text);
	}
}

ATF_TC_WITHOUT_HEAD(scalar_errors);
ATF_TC_BODY(scalar_errors, tc)
{
	/* JSON has no infinities or NaN; kubectl fails on them too. */
	check_error("v: .inf\n", "t.yaml:1:4: .inf has no JSON form");
	check_error("v: -.Inf\n", "t.yaml:1:4: -.Inf has no JSON form");
	check_error("a: 1\nv: .nan\n", "t.yaml:2:4: .nan has no JSON form");
	check_error("v: !!int abc\n", "t.yaml:1:4: cannot read 'abc' as !!int");
	check_error("v: !!bool 1\n", "t.yaml:1:4: cannot read '1' as !!bool");
	check_error("v: !!int 1.5\n", "t.yaml:1:4: cannot read '1.5' as !!int");
	/* A NUL would cut the string short for C readers downstream. */
	check_error("v: \"web\\0evil\"\n", "t.yaml:1:4: string contains a NUL character");
}

ATF_TC_WITHOUT_HEAD(keys);
ATF_TC_BODY(keys, tc)
{
	json_t *d;

	/* Keys become strings as sigs.k8s.io/yaml makes them. */
	d = parse1("1: a\nyes: b\n1.5: c\n1e6: d\n0x10: e\n\"k\": f\n'2': g\n");
	check_dump(d, "{\"1\":\"a\",\"true\":\"b\",\"1.5\":\"c\",\"1e+06\":\"d\",\"16\":\"e\","
		      "\"k\":\"f\",\"2\":\"g\"}");
	json_decref(d);
	d = parse1("? |\n  multi\n: 1\n");
	check_dump(d, "{\"multi\\n\":1}");
	json_decref(d);
	check_error("~: x\n", "t.yaml:1:1: a mapping key cannot be null");
	check_error("a: 1\n? \n: x\n", "t.yaml:2:2: a mapping key cannot be null");
	check_error("? [a, b]\n: 1\n", "t.yaml:1:3: mapping keys must be scalars");
	check_error("{a: 1}: x\n", "t.yaml:1:1: mapping keys must be scalars");
	check_error("18446744073709551615: x\n",
		    "t.yaml:1:1: mapping key 18446744073709551615 is out of range");
	check_error("0x10000000000000000: x\n",
		    "t.yaml:1:1: mapping key 0x10000000000000000 is out of range");
	/* Out of uint64's range, decimal digits are a float to go-yaml. */
	d = parse1("18446744073709551616: x\n");
	check_dump(d, "{\"1.8446744e+19\":\"x\"}");
	json_decref(d);
}

ATF_TC_WITHOUT_HEAD(duplicate_keys);
ATF_TC_BODY(duplicate_keys, tc)
{
	json_t *d;

	check_error("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key 'a'");
	check_error("m: {a: 1, a: 2}\n", "t.yaml:1:11: duplicate key 'a'");
	/* Different YAML, the same JSON key. */
	check_error("1: x\n\"1\": y\n", "t.yaml:2:1: duplicate key '1'");
	check_error("yes: x\non: y\n", "t.yaml:2:1: duplicate key 'true'");
	/* The same key in two mappings is no duplicate. */
	d = parse1("a: {k: 1}\nb: {k: 2}\n");
	check_dump(d, "{\"a\":{\"k\":1},\"b\":{\"k\":2}}");
	json_decref(d);
}

ATF_TC_WITHOUT_HEAD(documents);
ATF_TC_BODY(documents, tc)
{
	const char *text = "# only a comment\n---\n---\na: 1\n---\n# empty\n---\nnull\n---\n~\n"
			   "---\nb: [x, z]\n...\n---\n- 1\n";
	struct kn_err err;
	json_t *docs;

	docs = kn_yaml_parse(text, strlen(text), "t.yaml", &err);
	ATF_REQUIRE_MSG(docs != NULL, "%s", err.msg);
	/* Empty and null documents are skipped; others keep their order,
	 * whatever their type. */
	check_dump(docs, "[{\"a\":1},{\"b\":[\"x\",\"z\"]},[1]]");
	json_decref(docs);
	docs = kn_yaml_parse("", 0, "t.yaml", &err);
	ATF_REQUIRE(docs != NULL);
	ATF_CHECK_EQ(json_array_size(docs), 0);
	json_decref(docs);
	docs = kn_yaml_parse(NULL, 0, "t.yaml", &err);
	ATF_REQUIRE(docs != NULL);
	ATF_CHECK_EQ(json_array_size(docs), 0);
	json_decref(docs);
	/* A byte order mark is skipped. */
	docs = kn_yaml_parse("\xef\xbb\xbf"
			     "a: 1\n",
			     8, "t.yaml", &err);
	ATF_REQUIRE_MSG(docs != NULL, "%s", err.msg);
	check_dump(docs, "[{\"a\":1}]");
	json_decref(docs);
}

ATF_TC_WITHOUT_HEAD(anchors);
ATF_TC_BODY(anchors, tc)
{
	json_t *d, *orig, *copy;

	d = parse1("base: &b {app: web, tier: [front]}\ncopy: *b\nnum: &n 0755\nm: *n\n"
		   "&k key: 1\nother: {*k : 2}\n");
	check_dump(d, "{\"base\":{\"app\":\"web\",\"tier\":[\"front\"]},"
		      "\"copy\":{\"app\":\"web\",\"tier\":[\"front\"]},\"num\":493,\"m\":493,"
		      "\"key\":1,\"other\":{\"key\":2}}");
	/* An alias is a copy: changing it leaves the anchored value. */
	orig = json_object_get(d, "base");
	copy = json_object_get(d, "copy");
	ATF_CHECK(orig != copy);
	ATF_CHECK(json_object_get(orig, "tier") != json_object_get(copy, "tier"));
	json_object_set_new(copy, "app", json_string("db"));
	ATF_CHECK_STREQ(json_string_value(json_object_get(orig, "app")), "web");
	json_decref(d);

	/* A later anchor of the same name hides the earlier one. */
	d = parse1("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
	check_dump(d, "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}");
	json_decref(d);

	check_error("a: *nope\n", "t.yaml:1:4: unknown anchor 'nope' for alias");
	/* Anchors do not reach across documents. */
	check_error("a: &x 1\n---\nb: *x\n", "t.yaml:3:4: unknown anchor 'x' for alias");
	check_error("a: &x [1, *x]\n", "t.yaml:1:11: alias 'x' refers to a node that contains it");
	check_error("a: &x [1]\nb: {*x : 1}\n", "t.yaml:2:5: mapping keys must be scalars");
}

ATF_TC_WITHOUT_HEAD(merge_keys);
ATF_TC_BODY(merge_keys, tc)
{
	json_t *d;

	d = parse1("b: &b {app: web, tier: front}\n"
		   "after:\n  <<: *b\n  tier: back\n"
		   "inline:\n  <<: {x: 1}\n  z: 2\n"
		   "seq:\n  <<: [{a: 1}, {a: 2, b: 2}]\n"
		   "quoted:\n  \"<<\": 1\n"
		   "tagged:\n  !!merge <<: *b\n");
	check_dump(json_object_get(d, "after"), "{\"app\":\"web\",\"tier\":\"back\"}");
	check_dump(json_object_get(d, "inline"), "{\"x\":1,\"z\":2}");
	/* In a sequence the earlier mapping wins. */
	check_dump(json_object_get(d, "seq"), "{\"a\":1,\"b\":2}");
	check_dump(json_object_get(d, "quoted"), "{\"<<\":1}");
	check_dump(json_object_get(d, "tagged"), "{\"app\":\"web\",\"tier\":\"front\"}");
	json_decref(d);

	/* As in go-yaml v2, which kubectl uses: a merge after a key
	 * overrides it (the YAML merge draft would keep "back"). */
	d = parse1("b: &b {app: web, tier: front}\nm:\n  tier: back\n  <<: *b\n");
	check_dump(json_object_get(d, "m"), "{\"tier\":\"front\",\"app\":\"web\"}");
	json_decref(d);

	/* Overriding a merged key is no duplicate, repeating one's own is. */
	check_error("b: &b {x: 1}\nm:\n  k: 1\n  <<: *b\n  x: 2\n  k: 3\n",
		    "t.yaml:6:3: duplicate key 'k'");
	check_error("m:\n  <<: [1]\n",
		    "t.yaml:2:3: a merge key (<<) needs a mapping or a sequence of mappings");
	check_error("m:\n  <<: x\n",
		    "t.yaml:2:3: a merge key (<<) needs a mapping or a sequence of mappings");
}

ATF_TC_WITHOUT_HEAD(alias_bomb_refused);
ATF_TC_BODY(alias_bomb_refused, tc)
{
	struct strbuf sb;
	struct kn_err err;
	json_t *docs;

	/* "Billion laughs": 10^9 values from 9 lines. */
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int i = 1; i < 10; i++) {
		strbuf_printf(&sb, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			strbuf_printf(&sb, "%s*a%d", j ? ", " : "", i - 1);
		strbuf_puts(&sb, "]\n");
	}
	docs = kn_yaml_parse(sb.buf, sb.len, "bomb.yaml", &err);
	ATF_CHECK(docs == NULL);
	ATF_CHECK_MATCH("^bomb.yaml:[0-9]+:[0-9]+: aliases expand to more than 1048576 values$",
			err.msg);
	json_decref(docs);
	strbuf_free(&sb);

	/* Three levels (a thousand values) are fine. */
	docs = kn_yaml_parse("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
			     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			     "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
			     strlen("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
				    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				    "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"),
			     "ok.yaml", &err);
	ATF_REQUIRE_MSG(docs != NULL, "%s", err.msg);
	ATF_CHECK_EQ(
		json_array_size(json_array_get(json_object_get(json_array_get(docs, 0), "c"), 9)),
		10);
	json_decref(docs);
}

ATF_TC_WITHOUT_HEAD(deep_nesting_refused);
ATF_TC_BODY(deep_nesting_refused, tc)
{
	struct strbuf sb;
	struct kn_err err;
	json_t *docs;

	strbuf_init(&sb, 0);
	for (int i = 0; i < 100000; i++)
		strbuf_putc(&sb, '[');
	docs = kn_yaml_parse(sb.buf, sb.len, "deep.yaml", &err);
	ATF_CHECK(docs == NULL);
	ATF_CHECK_STREQ(err.msg, "deep.yaml:1:513: nesting deeper than 512 levels");
	strbuf_free(&sb);

	/* 512 levels are fine. */
	strbuf_init(&sb, 0);
	for (int i = 0; i < 512; i++)
		strbuf_putc(&sb, '[');
	for (int i = 0; i < 512; i++)
		strbuf_putc(&sb, ']');
	docs = kn_yaml_parse(sb.buf, sb.len, "deep.yaml", &err);
	ATF_CHECK_MSG(docs != NULL, "%s", err.msg);
	json_decref(docs);
	strbuf_free(&sb);

	/* Aliases must not stack nesting past the bound either: each line
	 * nests the previous one 300 levels deeper. */
	strbuf_init(&sb, 0);
	strbuf_puts(&sb, "- &a0 1\n");
	for (int i = 1; i < 3; i++) {
		strbuf_printf(&sb, "- &a%d ", i);
		for (int j = 0; j < 300; j++)
			strbuf_putc(&sb, '[');
		strbuf_printf(&sb, "*a%d", i - 1);
		for (int j = 0; j < 300; j++)
			strbuf_putc(&sb, ']');
		strbuf_putc(&sb, '\n');
	}
	docs = kn_yaml_parse(sb.buf, sb.len, "deep.yaml", &err);
	ATF_CHECK(docs == NULL);
	ATF_CHECK_MATCH("^deep.yaml:3:[0-9]+: alias nests deeper than 512 levels$", err.msg);
	strbuf_free(&sb);
}

ATF_TC_WITHOUT_HEAD(syntax_errors);
ATF_TC_BODY(syntax_errors, tc)
{
	check_error("a: 1\nb\nc: 2\n", "t.yaml:3:1: could not find expected ':' (while "
				       "scanning a simple key at line 2 column 1)");
	check_error("a: 1\nb: [1, 2\nc: 3\n",
		    "t.yaml:3:2: did not find expected ',' or ']' (while parsing a flow "
		    "sequence at line 2 column 4)");
	check_error("a:\n\t- 1\n", "t.yaml:2:1: found character that cannot start any token "
				   "(while scanning for the next token at line 2 column 1)");
	check_error("a: 1\n  b: 2\n", "t.yaml:2:4: mapping values are not allowed in this context");
	/* Reader errors come as a byte offset; they get a line too. */
	check_error("a: ok\nb: \xff\n", "t.yaml:2:4: invalid leading UTF-8 octet (0xFF)");
	check_error("a: \"\x01\"\n", "t.yaml:1:5: control characters are not allowed (0x1)");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, scalar_typing);
	ATF_TP_ADD_TC(tp, scalar_errors);
	ATF_TP_ADD_TC(tp, keys);
	ATF_TP_ADD_TC(tp, duplicate_keys);
	ATF_TP_ADD_TC(tp, documents);
	ATF_TP_ADD_TC(tp, anchors);
	ATF_TP_ADD_TC(tp, merge_keys);
	ATF_TP_ADD_TC(tp, alias_bomb_refused);
	ATF_TP_ADD_TC(tp, deep_nesting_refused);
	ATF_TP_ADD_TC(tp, syntax_errors);
	return atf_no_error();
}
