/* clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I<builddir> tests/fuzz/manifest_fuzz.c src/sources/manifest.c src/sources/jsonrd.c src/sources/yaml.c src/store/decode.c src/store/model.c src/util/util.c src/util/netaddr.c $(pkg-config --cflags --libs jansson yaml-0.1) -lm -o manifest_fuzz */
/* libFuzzer harness for the manifest reader: JSON streams, YAML
 * documents, Lists.  Any input must give 0 or an error with a message,
 * never a crash, a leak, or unbounded time or memory.  And three
 * readings must agree: the manifest read whole and read pruned to what
 * decoding reads (kn_decode_fields) return the same, with the same
 * message and as many objects; and jsonrd, through a window whose size
 * the input's first byte chooses, takes the first value as jansson does,
 * or refuses it with jansson's message (but for the one NUL byte jansson
 * drops, jsonrd.c).  Build it with the command above from the top of
 * the tree, <builddir> being a configured build directory (for
 * config.h); run it on a corpus of examples/ and tests/golden/
 * manifests, e.g.
 * ./manifest_fuzz -max_len=65536 -rss_limit_mb=1024 corpus/ */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "jsonrd.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count(void *ctx, json_t *obj, const char *where)
{
	(void)obj;
	(void)where;
	++*(size_t *)ctx;
	return 0;
}

static void
manifests_agree(const char *text, size_t size)
{
	struct kn_err e1, e2;
	size_t n1 = 0, n2 = 0;
	int r1, r2;

	e1.msg[0] = e2.msg[0] = '\0';
	r1 = kn_manifest_read_buf(text, size, "fuzz", count, &n1, &e1);
	r2 = kn_manifest_read_buf_fields(text, size, "fuzz", kn_decode_fields, count, &n2, &e2);
	/* Every failure says why. */
	if (r1 < 0 && e1.msg[0] == '\0')
		__builtin_trap();
	if (r1 != r2 || n1 != n2 || strcmp(e1.msg, e2.msg) != 0)
		__builtin_trap();
}

static bool
only_space(const char *text, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
			return false;
	}
	return true;
}

static void
jansson_agrees(const char *text, size_t size, size_t window)
{
	json_t *want, *got = NULL;
	struct kn_jsonrd *j;
	json_error_t jerr;
	int r;

	want = json_loadb(text, size,
			  JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
	j = kn_jsonrd_new_buf(text, size, NULL);
	kn_jsonrd_set_window(j, window);
	r = kn_jsonrd_next(j, NULL, NULL, &got);
	if (want && r == 1) {
		if (!json_equal(want, got))
			__builtin_trap();
	} else if (!want && r < 0) {
		const struct kn_jsonrd_error *e = kn_jsonrd_error(j);

		if (!kn_jsonrd_nul_differs(text, size) &&
		    (e->line != jerr.line || e->column != jerr.column ||
		     strcmp(e->text, jerr.text)))
			__builtin_trap();
	} else if (!(r == 0 && only_space(text, size)) &&
		   !(r < 0 && kn_jsonrd_nul_differs(text, size))) {
		/* Nothing but white space is the end for us, an error for
		 * jansson. */
		__builtin_trap();
	}
	json_decref(want);
	json_decref(got);
	kn_jsonrd_free(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	manifests_agree(text, size);
	if (size > 0)
		jansson_agrees(text + 1, size - 1, 64 + data[0]);
	return 0;
}
