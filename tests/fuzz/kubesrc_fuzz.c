/* clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I<builddir> tests/fuzz/kubesrc_fuzz.c src/sources/kubesrc.c src/sources/kubeconf.c src/sources/yaml.c src/sources/manifest.c src/store/*.c src/util/*.c src/daemon/evloop.c $(pkg-config --cflags --libs jansson yaml-0.1 libcurl) -lm -o kubesrc_fuzz */
/* libFuzzer harness for what the Kubernetes API source parses from the
 * network and from disk: response bodies through the incremental
 * splitter (a watch stream and a list, cut into pieces whose size the
 * input chooses), each value through jansson, and kubeconfig files.
 * Any input must end in values or errors, never a crash, a leak, or
 * memory beyond the bounds.  Build it with the command above from the
 * top of the tree, <builddir> being a configured build directory; run
 * it e.g. as ./kubesrc_fuzz -max_len=65536 -rss_limit_mb=1024 corpus/ */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "kubeconf.h"
#include "kubesrc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small limit, so that the oversized path is reached. */
#define FUZZ_MAX 4096

static int
value(void *arg, enum kn_jsplit_what what, const char *buf, size_t len, size_t size)
{
	char name[64];
	json_t *v;

	(void)arg;
	if (len > size || (what == KN_JSPLIT_VALUE && len > FUZZ_MAX) ||
	    (what == KN_JSPLIT_OVERSIZED && len > KN_JSPLIT_PREFIX))
		__builtin_trap();
	if (what == KN_JSPLIT_OVERSIZED) {
		kn_json_prefix_meta(buf, len, "name", name, sizeof(name));
		return 0;
	}
	v = json_loadb(buf, len, 0, NULL);
	json_decref(v);
	return 0;
}

static void
split(enum kn_jsplit_mode mode, const char *p, size_t n, size_t chunk)
{
	struct kn_jsplit j;
	size_t hlen;
	int r = 0;

	kn_jsplit_init(&j, mode, FUZZ_MAX);
	for (size_t i = 0; i < n && r == 0; i += chunk)
		r = kn_jsplit_feed(&j, p + i, n - i < chunk ? n - i : chunk, value, NULL);
	if (r == 0)
		kn_jsplit_finish(&j, value, NULL);
	if (mode == KN_JSPLIT_LIST && kn_jsplit_head(&j, &hlen) && hlen > KN_JSPLIT_HEAD_MAX)
		__builtin_trap();
	kn_jsplit_free(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kn_kubeconf c;
	struct kn_err err;
	size_t chunk;

	if (size < 1)
		return 0;
	/* The first byte picks the chunk size: events must not depend on
	 * where the network cut the body. */
	chunk = (size_t)data[0] % 64 + 1;
	split(KN_JSPLIT_STREAM, (const char *)data + 1, size - 1, chunk);
	split(KN_JSPLIT_LIST, (const char *)data + 1, size - 1, chunk);
	err.msg[0] = '\0';
	if (kn_kubeconf_parse((const char *)data + 1, size - 1, "fuzz", "/d", NULL, &c, &err) == 0)
		kn_kubeconf_free(&c);
	else if (err.msg[0] == '\0')
		__builtin_trap(); /* every failure says why */
	return 0;
}
