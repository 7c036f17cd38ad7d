/* yaml2json: prints the Kubernetes objects of manifest files as one JSON
 * array, read exactly as kube-nftd reads its manifests (libyaml through
 * the project's reader, Lists expanded).  The packaging tests use it to
 * check the Kubernetes manifests shipped in packaging/kubernetes/, since
 * Python has no YAML parser in its standard library.
 *
 * Exit status: 0, or 1 when a file cannot be read or parsed. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "manifest.h"

static int
add_object(void *ctx, json_t *obj, const char *where)
{
	(void)where;
	return json_array_append(ctx, obj) < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	json_t *all = json_array();
	struct kn_err err;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: yaml2json FILE...\n");
		return 2;
	}
	for (i = 1; i < argc && rc == 0; i++) {
		if (kn_manifest_read_file(argv[i], add_object, all, &err) != 0) {
			fprintf(stderr, "yaml2json: %s\n", err.msg);
			rc = 1;
		}
	}
	if (rc == 0) {
		if (json_dumpf(all, stdout, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
			rc = 1;
		putchar('\n');
	}
	json_decref(all);
	return rc;
}
