/* clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I<builddir> tests/fuzz/manifest_fuzz.c src/sources/manifest.c src/sources/yaml.c src/util/util.c $(pkg-config --cflags --libs jansson yaml-0.1) -lm -o manifest_fuzz */
/* libFuzzer harness for the manifest reader: JSON streams, YAML
 * documents, Lists.  Any input must give 0 or an error with a message,
 * never a crash, a leak, or unbounded time or memory.  Build it with
 * the command above from the top of the tree, <builddir> being a
 * configured build directory (for config.h); run it on a corpus of
 * examples/ and tests/golden/ manifests, e.g.
 * ./manifest_fuzz -max_len=65536 -rss_limit_mb=1024 corpus/ */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
ignore(void *ctx, json_t *obj, const char *where)
{
	(void)ctx;
	(void)obj;
	(void)where;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kn_err err;
	int r;

	err.msg[0] = '\0';
	r = kn_manifest_read_buf((const char *)data, size, "fuzz", ignore, NULL, &err);
	/* Every failure says why. */
	if (r < 0 && err.msg[0] == '\0')
		__builtin_trap();
	return 0;
}
