/* The JSON reader against jansson: for every text of a corpus (written
 * by hand for the corners of the grammar, and made by mutating valid
 * documents at random), jsonrd accepts exactly what json_loadb accepts,
 * builds the same values, and refuses the rest with the same message at
 * the same line and column (but where jansson drops a NUL byte,
 * kn_jsonrd_nul_differs); reading only the members kn_decode_fields
 * lists changes the values built (to jansson's, pruned) and nothing
 * else.  Then the same of the manifest reader, streaming Lists from files
 * larger than its window. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>

#include "decode.h"
#include "jsonrd.h"
#include "manifest.h"
#include "util.h"

#define JANSSON_FLAGS (JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES)

/* Window sizes: the smallest, odd ones that cut tokens everywhere, and
 * one that holds every text whole. */
static const size_t windows[] = {64, 65, 71, 100, 257, 1 << 20};

/* ------------------------------------------------------------ pruning, as
 * specified */

static json_t *prune(json_t *v, const struct kn_fields *f, bool by_kind);

static const struct kn_fields *
member_fields(const struct kn_fields *f, const char *key, bool *keep)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].name, key) == 0) {
			*keep = true;
			return f->v[i].fields;
		}
	}
	*keep = false;
	return NULL;
}

static bool
is_list_kind(const char *kind)
{
	size_t n = strlen(kind);

	return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* What jsonrd.h promises: members by kind once the kind is known (a
 * List's items by their own kinds), everything before. */
static json_t *
prune_object(json_t *v, const struct kn_fields *f, bool by_kind)
{
	static const struct kn_field list_v[] = {
		{"kind", NULL}, {"apiVersion", NULL}, {"items", NULL}};
	static const struct kn_fields list = {list_v, 3};
	const struct kn_fields *cur = NULL, *sub;
	json_t *out = json_object(), *m;
	const char *key;
	bool keep, known = false;

	json_object_foreach(v, key, m)
	{
		sub = NULL;
		keep = true;
		if (by_kind && known)
			sub = member_fields(cur, key, &keep);
		else if (!by_kind)
			sub = member_fields(f, key, &keep);
		if (by_kind && strcmp(key, "kind") == 0)
			keep = true;
		if (!keep)
			continue;
		if (by_kind && strcmp(key, "items") == 0 && (!known || cur == &list))
			json_object_set_new(out, key, prune(m, NULL, true));
		else if (sub)
			json_object_set_new(out, key, prune(m, sub, false));
		else
			json_object_set(out, key, m);
		if (by_kind && strcmp(key, "kind") == 0) {
			const char *kind = json_string_value(m);

			known = true;
			cur = kind && is_list_kind(kind) ? &list
							 : kn_decode_fields(kind ? kind : "");
		}
	}
	return out;
}

static json_t *
prune(json_t *v, const struct kn_fields *f, bool by_kind)
{
	json_t *out, *e;
	size_t i;

	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, e) json_array_append_new(out, prune(e, f, by_kind));
		return out;
	}
	if (json_is_object(v) && (f || by_kind))
		return prune_object(v, f, by_kind);
	return json_incref(v);
}

/* ------------------------------------------------------------ one text */

struct outcome {
	json_t *v;
	char msg[256];
};

static void
by_jansson(const char *text, size_t len, struct outcome *o)
{
	json_error_t jerr;

	memset(o, 0, sizeof(*o));
	o->v = json_loadb(text, len, JANSSON_FLAGS, &jerr);
	if (!o->v)
		snprintf(o->msg, sizeof(o->msg), "line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
}

static void
by_jsonrd(const char *text, size_t len, size_t window, kn_fields_fn fields, struct outcome *o)
{
	struct kn_jsonrd *j = kn_jsonrd_new_buf(text, len, fields);
	int r;

	memset(o, 0, sizeof(*o));
	kn_jsonrd_set_window(j, window);
	r = kn_jsonrd_next(j, NULL, NULL, &o->v);
	if (r < 0) {
		const struct kn_jsonrd_error *e = kn_jsonrd_error(j);

		ATF_CHECK_EQ(r, -EINVAL);
		snprintf(o->msg, sizeof(o->msg), "line %d column %d: %s", e->line, e->column,
			 e->text);
	} else if (r == 0) {
		/* jansson reads nothing as an error at the end. */
		snprintf(o->msg, sizeof(o->msg), "(end of input)");
	}
	kn_jsonrd_free(j);
}

static char *
printable(const char *text, size_t len)
{
	struct strbuf sb;

	strbuf_init(&sb, 0);
	for (size_t i = 0; i < len && i < 200; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			strbuf_printf(&sb, "\\x%02x", c);
		else
			strbuf_putc(&sb, (char)c);
	}
	return strbuf_steal(&sb);
}

static size_t failures;

/* jsonrd, whole and pruned, at every window size, against jansson. */
static void
check_text(const char *text, size_t len)
{
	struct outcome want, got;
	json_t *pruned;
	bool quirk;
	char *show;

	by_jansson(text, len, &want);
	/* jansson reads an empty input as "near end of file", we as its end. */
	if (!want.v && strstr(want.msg, "near end of file") && strspn(text, " \t\r\n") == len) {
		json_decref(want.v);
		return;
	}
	pruned = want.v ? prune(want.v, NULL, true) : NULL;
	quirk = kn_jsonrd_nul_differs(text, len);
	for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
		for (int mode = 0; mode < 2; mode++) {
			bool ok;

			by_jsonrd(text, len, windows[w], mode ? kn_decode_fields : NULL, &got);
			if (want.v)
				ok = got.v && json_equal(got.v, mode ? pruned : want.v);
			else
				ok = !got.v && strcmp(want.msg, got.msg) == 0;
			if (!ok && quirk && !got.v)
				ok = strstr(got.msg, "near end of file") != NULL;
			if (!ok && failures++ < 20) {
				char *a = want.v ? json_dumps(want.v, JSON_ENCODE_ANY) : NULL;
				char *b = got.v ? json_dumps(got.v, JSON_ENCODE_ANY) : NULL;

				show = printable(text, len);
				ATF_CHECK_MSG(
					ok, "window %zu, %s: \"%s\"\n  jansson: %s\n  jsonrd:  %s",
					windows[w], mode ? "pruned" : "whole", show,
					a ? a : want.msg, b ? b : got.msg);
				free(show);
				free(a);
				free(b);
			}
			json_decref(got.v);
		}
	}
	json_decref(pruned);
	json_decref(want.v);
}

static void
check_str(const char *text)
{
	check_text(text, strlen(text));
}

/* ------------------------------------------------------------ by hand */

ATF_TC_WITHOUT_HEAD(grammar);
ATF_TC_BODY(grammar, tc)
{
	static const char *const texts[] = {
		/* values */
		"{}",
		"[]",
		"null",
		"true",
		"false",
		"0",
		"-0",
		"1",
		"-1",
		"123456789012345678",
		"9223372036854775807",
		"-9223372036854775808",
		"9223372036854775808",
		"-9223372036854775809",
		"99999999999999999999999",
		"1.5",
		"-0.0",
		"1e5",
		"1E+5",
		"1e-5",
		"1e999",
		"-1e999",
		"1e-999",
		"0.000001e-400",
		"1.7976931348623157e308",
		"1.8e308",
		"\"\"",
		"\"a\"",
		"[1,2,3]",
		"{\"a\":{\"b\":[{}]}}",
		" \t\r\n {} ",
		/* numbers that are not */
		"01",
		"-01",
		"00",
		"-",
		"-a",
		"1.",
		"1.e5",
		".5",
		"+1",
		"1e",
		"1e+",
		"1E-x",
		"0x10",
		"1.5.",
		"[01]",
		"[1.]",
		"[-]",
		"1x",
		"[1x]",
		"[1 2]",
		"--1",
		"-.5",
		"[1e]",
		/* words */
		"tru",
		"truex",
		"nul",
		"nulll",
		"True",
		"NULL",
		"[true false]",
		"[t]",
		"fals",
		"abcdefghijklmnopqrstuvwxyzab",
		/* strings and escapes */
		"\"\\n\\t\\r\\b\\f\\/\\\\\\\"\"",
		"\"\\u0041\\u00e9\\u20ac\"",
		"\"\\uD834\\uDD1E\"",
		"\"\\ud834\\udd1e\"",
		"\"\\uD800\"",
		"\"\\uDC00\"",
		"\"\\uD800\\u0041\"",
		"\"\\uD800\\uD800\"",
		"\"\\uD800x\"",
		"\"\\uD800\\n\"",
		"\"\\uDBFF\\uDFFF\"",
		"\"\\u0000\"",
		"{\"\\u0000\":1}",
		"{\"a\\u0000b\":1}",
		"[\"a\\u0000\"]",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12G4\"",
		"\"\\u\"",
		"\"\\",
		"\"\\u00",
		"\"abc",
		"\"",
		"\"a\nb\"",
		"\"a\tb\"",
		"\"a\x01\"",
		"\"a\x7f\"",
		"\"\\uD800\\uDC00\\uD800\"",
		"\"\\uD800\\x\"",
		"\"\\uDC00\\x\"",
		"\"x\\\n\"",
		"\"\\u12\n\"",
		"\"a very long string that is longer than twenty bytes\\q\"",
		"\"a very long string with a bad surrogate \\uD800 in it\"",
		"\"\\uD800 then an escape error \\q\"",
		"\"\\uD800\\uD801\\uDC00\"",
		/* UTF-8 */
		"\"\xc3\xa9\"",
		"\"\xe2\x82\xac\"",
		"\"\xf0\x9d\x84\x9e\"",
		"\"\xc3\"",
		"\"\xc3x\"",
		"\"\x80\"",
		"\"\xbf\"",
		"\"\xc0\x80\"",
		"\"\xc1\xbf\"",
		"\"\xe0\x80\x80\"",
		"\"\xe0\x9f\xbf\"",
		"\"\xed\xa0\x80\"",
		"\"\xed\xbf\xbf\"",
		"\"\xf4\x90\x80\x80\"",
		"\"\xf5\x80\x80\x80\"",
		"\"\xff\"",
		"\"\xfe\"",
		"\xc3\xa9",
		"[\xc3\xa9]",
		"\xff",
		"[1\xff]",
		"[1\xc3\xa9]",
		"[tr\xff]",
		"[-\xff]",
		"[1.\xff]",
		"[1e\xff]",
		"{\"a\":1}\xff",
		"{\"\xc3\xa9\":1}",
		"\"\\\xc3\xa9\"",
		"\"\\\xff\"",
		"\"\\u12\xc3\xa9\"",
		"\"\\u12\xff\"",
		"\"abc\xe2\x82\"",
		"[\"\xe2\x82\"]",
		"[\xe2\x82\xac]",
		"{\"a\":\xc3\xa9}",
		" \xef\xbb\xbf{}",
		/* past a top-level value, jansson takes the value */
		"1\xff",
		"0.2\xd9i",
		"true\xc3(",
		"null\x80",
		"-\xff",
		"1.\xff",
		"1e\xff",
		"99999999999999999999\xff",
		"\"s\"\xff",
		"{}\xff",
		/* NUL bytes */
		"[\x00]",
		"\x00",
		"\"a\x00\"",
		"[1\x00]",
		"{\"a\x00\":1}",
		/* structure */
		"{",
		"[",
		"}",
		"]",
		":",
		",",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\" 1}",
		"{\"a\":1,}",
		"{,}",
		"{1:2}",
		"{\"a\":1 \"b\":2}",
		"[1,]",
		"[,1]",
		"[1,,2]",
		"{\"a\":1]",
		"[1}",
		"{\"a\"::1}",
		"{\"a\":1,\"a\":2}",
		"{\"a\":{\"b\":1,\"b\":2}}",
		"{\"a\":1,\"\\u0061\":2}",
		"{\"a\":[{\"x\":1,\"x\":1}]}",
		"{\"k\":1,\"a\":2,\"b\":3,\"c\":4,\"d\":5,\"e\":6,\"f\":7,\"g\":8,\"h\":"
		"9,\"i\":10,"
		"\"j\":11,\"k2\":12,\"a\":13}",
		"{\"aaaaaaaaaaaaaaaaaaaaaaaaa\":1,\"aaaaaaaaaaaaaaaaaaaaaaaaa\":2}",
		"[\n1,\n2\n",
		"{\"a\":\n",
		"\n\n  [1,\n   x]",
		"{\"a\":1}\n{",
		"\r\n[\r\n1 2]",
		/* Kubernetes shapes, pruned by kind */
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":"
		"\"y\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"ports\":[{"
		"\"containerPort\":80,\"hostPort\":8080}]}],\"volumes\":[{\"name\":\"v\","
		"\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"path\":\"t\"}}]}"
		"}]},"
		"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\"}],"
		"\"podIPs\":[{\"ip\":\"10.0.0.1\",\"x\":1}]}}",
		"{\"metadata\":{\"name\":\"a\",\"managedFields\":[{\"f\":1}]},\"kind\":"
		"\"Pod\","
		"\"spec\":{\"dnsPolicy\":\"x\"}}",
		"{\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"Pod\",\"spec\":{\"x\":1}},"
		"null,1,"
		"{\"kind\":\"PodList\",\"items\":[{\"kind\":\"Pod\",\"status\":{\"x\":2}}"
		"]}],"
		"\"kind\":\"List\",\"metadata\":{}}",
		"{\"kind\":\"Widget\",\"items\":[{\"kind\":\"Pod\",\"spec\":{\"x\":1}}],"
		"\"spec\":"
		"1}",
		"{\"kind\":5,\"spec\":{},\"metadata\":{\"name\":\"a\"}}",
		"{\"kind\":\"Pod\",\"spec\":[{\"containers\":1}],\"status\":\"x\"}",
		"{\"kind\":\"Pod\",\"spec\":{\"dnsPolicy\":\"a\",\"dnsPolicy\":\"b\"}}",
		"{\"kind\":\"Pod\",\"spec\":{\"dnsPolicy\":\"\\uD800\"}}",
		"{\"kind\":\"Pod\",\"spec\":{\"dnsPolicy\":\"\\u0000\"}}",
		"{\"kind\":\"Pod\",\"spec\":{\"priority\":99999999999999999999}}",
		"{\"kind\":\"Pod\",\"spec\":{\"x\":1e999}}",
		"{\"kind\":\"Pod\",\"spec\":{\"x\":01}}",
		"{\"kind\":\"Pod\",\"spec\":{\"x\":\"\xc0\"}}",
		"[{\"kind\":\"Service\",\"spec\":{\"ports\":[{\"port\":1,\"targetPort\":"
		"2}],"
		"\"type\":\"x\"}}]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		check_str(texts[i]);
	/* Texts with NUL bytes, whole; the last ones jansson reads as [1]
   * and 1, jsonrd refuses. */
	check_text("[1,\0]", 5);
	check_text("\"a\0b\"", 5);
	check_text("{\"a\":\0}", 7);
	check_text("\0", 1);
	check_text("[\"x\"\0]", 6);
	check_text("[1\0]", 4);
	check_text("{\"a\":true\0}", 11);
}

/* At and past jansson's bound on nesting, built and skipped. */
ATF_TC_WITHOUT_HEAD(depth);
ATF_TC_BODY(depth, tc)
{
	static const char *const inner[] = {"1", "\"s\"", "[]", "{}", "x"};
	struct strbuf sb;

	for (int n = JSON_PARSER_MAX_DEPTH - 2; n <= JSON_PARSER_MAX_DEPTH + 1; n++) {
		for (size_t k = 0; k < ARRAY_SIZE(inner); k++) {
			for (int shape = 0; shape < 3; shape++) {
				strbuf_init(&sb, 0);
				for (int i = 0; i < n; i++)
					strbuf_puts(&sb, shape == 0   ? "["
							 : shape == 1 ? "{\"a\":"
							 : i % 2      ? "["
								 : "{\"kind\":\"Pod\",\"spec\":");
				strbuf_puts(&sb, inner[k]);
				for (int i = n - 1; i >= 0; i--)
					strbuf_puts(&sb, shape == 0 || (shape == 2 && i % 2) ? "]"
											     : "}");
				check_text(sb.buf, sb.len);
				strbuf_free(&sb);
			}
		}
	}
}

/* ------------------------------------------------------------ at random */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static const char *const seeds[] = {
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\","
	"\"namespace\":"
	"\"prod\",\"labels\":{\"app\":\"web\",\"tier\":\"\\u0066ront\"},"
	"\"annotations\":{\"a\":"
	"\"q\\\"]}\\\\\\u00e9\\uD83D\\uDE00\"}},\"spec\":{\"nodeName\":\"node-0\","
	"\"containers\":"
	"[{\"name\":\"c\",\"ports\":[{\"containerPort\":8080,\"protocol\":\"TCP\"}]"
	",\"env\":[{"
	"\"name\":\"X\",\"value\":\"1.5e3\"}],\"resources\":{\"limits\":{\"cpu\":0."
	"5}}}]},"
	"\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.0.0.1\"}],"
	"\"conditions\":[{"
	"\"type\":\"Ready\",\"status\":true,\"x\":null,\"n\":-12}]}}",
	"{\"apiVersion\":\"v1\",\"items\":[{\"kind\":\"Namespace\",\"metadata\":{"
	"\"name\":\"a\"}},"
	"{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/"
	"v1\",\"spec\":{"
	"\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0."
	"0.0/8\","
	"\"except\":[\"10.1.0.0/"
	"16\"]}}]}]}}],\"kind\":\"List\",\"metadata\":{\"rv\":\"\"}}",
	"[1, -2.5e-3, true, false, null, \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", "
	"{\"a\": [[], "
	"{}]}, "
	"\"\\b\\f\\n\\r\\t\\/\"]",
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"kubernetes\",\"namespace\":"
	"\"default\"},"
	"\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"https\","
	"\"port\":443,"
	"\"targetPort\":6443}],\"sessionAffinity\":\"None\"}}",
};

/* Bytes and pieces that mutations insert: structure, escapes, numbers
 * and words, and UTF-8 right and wrong. */
static const char *const pieces[] = {
	"{",
	"}",
	"[",
	"]",
	",",
	":",
	"\"",
	"\\",
	"\\u",
	"\\uD800",
	"\\uDC00",
	"\\u0000",
	"0",
	"1",
	"9",
	"-",
	"+",
	".",
	"e",
	"E",
	"01",
	"1e999",
	"99999999999999999999",
	"t",
	"true",
	"n",
	"null",
	"x",
	" ",
	"\n",
	"\t",
	"\r",
	"\x01",
	"\x7f",
	"\x80",
	"\xbf",
	"\xc0",
	"\xc3",
	"\xc3\xa9",
	"\xe2\x82",
	"\xed\xa0\x80",
	"\xf0\x9f\x98\x80",
	"\xf4\x90\x80\x80",
	"\xf5",
	"\xff",
	"\"kind\":\"Pod\",",
	"\"a\":1,",
	"\"kind\":\"List\",",
	"\"items\":[",
};

static size_t
mutate(const char *seed, char *out, size_t cap)
{
	size_t len = strlen(seed), edits = 1 + next_rand() % 3;

	memcpy(out, seed, len);
	for (size_t e = 0; e < edits; e++) {
		size_t at = len ? next_rand() % (len + 1) : 0, n;
		const char *p;

		switch (next_rand() % 4) {
		case 0: /* delete */
			n = 1 + next_rand() % 4;
			if (at + n > len)
				n = len - at;
			memmove(out + at, out + at + n, len - at - n);
			len -= n;
			break;
		case 1: /* replace a byte */
		case 2: /* insert */
			p = pieces[next_rand() % ARRAY_SIZE(pieces)];
			n = strlen(p);
			if (len + n >= cap)
				break;
			if (at < len && next_rand() % 2) {
				out[at] = p[0];
				break;
			}
			memmove(out + at + n, out + at, len - at);
			memcpy(out + at, p, n);
			len += n;
			break;
		default: /* a NUL byte */
			if (at < len)
				out[at] = '\0';
			break;
		}
	}
	return len;
}

ATF_TC_WITHOUT_HEAD(mutations);
ATF_TC_BODY(mutations, tc)
{
	char buf[4096];

	for (size_t s = 0; s < ARRAY_SIZE(seeds); s++)
		check_str(seeds[s]);
	for (int i = 0; i < 20000; i++) {
		size_t len = mutate(seeds[i % ARRAY_SIZE(seeds)], buf, sizeof(buf));

		check_text(buf, len);
	}
}

/* ------------------------------------------------------------ manifests */

struct seen {
	struct strbuf log; /* where and object, one per line */
};

static int
record(void *ctx, json_t *obj, const char *where)
{
	struct seen *s = ctx;
	char *d = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	const char *doc = strstr(where, ": document");

	/* The file's name left out: its contents are read from several. */
	strbuf_printf(&s->log, "%s: %s\n", doc ? doc : where, d);
	free(d);
	return 0;
}

/* The same callbacks from a whole and a pruned reading, and errors. */
static int
prune_record(void *ctx, json_t *obj, const char *where)
{
	json_t *p = prune(obj, NULL, true);
	int r = record(ctx, p, where);

	json_decref(p);
	return r;
}

/* The same lines; the first that differs is shown. */
static void
check_logs(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] && a[n] == b[n])
		n++;
	if (!a[n] && !b[n])
		return;
	while (n > 0 && a[n - 1] != '\n')
		n--;
	ATF_CHECK_MSG(false, "differ at:\n  %.300s\n  %.300s", a + n, b + n);
}

static void
check_manifest(const char *text, size_t len, const char *path)
{
	struct seen whole, pruned;
	struct kn_err e1, e2;
	bool yaml;
	int r1, r2;

	strbuf_init(&whole.log, 0);
	strbuf_init(&pruned.log, 0);
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	/* YAML comes whole either way. */
	yaml = len <= strspn(text, " \t\r\n") || !strchr("{[", text[strspn(text, " \t\r\n")]);
	r1 = kn_manifest_read_buf(text, len, path ? path : "m", yaml ? record : prune_record,
				  &whole, &e1);
	if (path)
		r2 = kn_manifest_read_file_fields(path, kn_decode_fields, record, &pruned, &e2);
	else
		r2 = kn_manifest_read_buf_fields(text, len, "m", kn_decode_fields, record, &pruned,
						 &e2);
	ATF_CHECK_EQ(r1, r2);
	ATF_CHECK_STREQ(e1.msg, e2.msg);
	check_logs(strbuf_str(&whole.log), strbuf_str(&pruned.log));
	strbuf_free(&whole.log);
	strbuf_free(&pruned.log);
}

ATF_TC_WITHOUT_HEAD(manifest_mutations);
ATF_TC_BODY(manifest_mutations, tc)
{
	char buf[4096];

	for (int i = 0; i < 5000; i++) {
		size_t len = mutate(seeds[i % ARRAY_SIZE(seeds)], buf, sizeof(buf));

		check_manifest(buf, len, NULL);
	}
}

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ATF_REQUIRE(fd >= 0);
	ATF_REQUIRE_EQ(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* kubectl's List of many pods, items before kind, in a file larger than
 * the reader's window: read in pieces, twice over (the kind is looked
 * for ahead), and from a pipe, where it cannot be. */
static void
big_list(struct strbuf *sb, int pods, const char *kind, const char *tail)
{
	strbuf_puts(sb, "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
	for (int i = 0; i < pods; i++)
		strbuf_printf(sb,
			      "%s        {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
			      "{\"name\": \"p%d\", \"namespace\": \"ns\", \"annotations\": "
			      "{\"note\": \"%0200d\"}}, \"spec\": {\"nodeName\": \"node-0\", "
			      "\"containers\": [{\"name\": \"c\", \"env\": [{\"name\": \"A\", "
			      "\"value\": \"\\u00e9\\\"]\"}], \"ports\": [{\"containerPort\": "
			      "%d}]}]}, "
			      "\"status\": {\"phase\": \"Running\", \"podIP\": \"10.0.%d.%d\"}}",
			      i ? ",\n" : "", i, i, 1 + i % 60000, i / 250 % 250, i % 250);
	strbuf_printf(sb, "\n    ],\n    \"kind\": \"%s\",\n    \"metadata\": {\"x\": 1}%s\n}\n",
		      kind, tail);
}

ATF_TC_WITHOUT_HEAD(manifest_streams);
ATF_TC_BODY(manifest_streams, tc)
{
	static const struct {
		const char *kind, *tail;
	} cases[] = {
		{"List", ""},
		{"PodList", ", \"more\": [1, 2]"},
		{"Widget", ""},		       /* not a List: one object */
		{"List", ", \"kind\": \"x\""}, /* refused: a duplicate key, at the end */
		{"List", ", \"x\": tru"},      /* refused: syntax, at the end */
		{"List\\u0000", ""},	       /* refused: NUL in a string */
	};
	struct strbuf sb;

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		strbuf_init(&sb, 0);
		big_list(&sb, 2000, cases[c].kind, cases[c].tail);
		ATF_REQUIRE(sb.len > 600 * 1024);
		write_file("big.json", sb.buf, sb.len);
		check_manifest(sb.buf, sb.len, "big.json");
		/* From a pipe: read as it comes, the List built whole. */
		{
			struct seen a, b;
			struct kn_err e1, e2;
			int p[2], fd, r1, r2;

			strbuf_init(&a.log, 0);
			strbuf_init(&b.log, 0);
			memset(&e1, 0, sizeof(e1));
			memset(&e2, 0, sizeof(e2));
			r1 = kn_manifest_read_file_fields("big.json", kn_decode_fields, record, &a,
							  &e1);
			ATF_REQUIRE_EQ(pipe(p), 0);
			if (fork() == 0) {
				close(p[0]);
				(void)!write(p[1], sb.buf, sb.len);
				_exit(0);
			}
			close(p[1]);
			fd = dup(STDIN_FILENO);
			ATF_REQUIRE(dup2(p[0], STDIN_FILENO) == STDIN_FILENO);
			close(p[0]);
			r2 = kn_manifest_read_file_fields("-", kn_decode_fields, record, &b, &e2);
			ATF_REQUIRE(dup2(fd, STDIN_FILENO) == STDIN_FILENO);
			close(fd);
			ATF_CHECK_EQ(r1, r2);
			ATF_CHECK_STREQ(e1.msg + strlen("big.json"), e2.msg + strlen("<stdin>"));
			/* The pipe reports a List's objects only once whole. */
			if (r1 == 0)
				check_logs(strbuf_str(&a.log), strbuf_str(&b.log));
			strbuf_free(&a.log);
			strbuf_free(&b.log);
		}
		strbuf_free(&sb);
	}
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, grammar);
	ATF_TP_ADD_TC(tp, depth);
	ATF_TP_ADD_TC(tp, mutations);
	ATF_TP_ADD_TC(tp, manifest_mutations);
	ATF_TP_ADD_TC(tp, manifest_streams);
	return atf_no_error();
}
