/* Manifest files into the store, with one log line per rejected object. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "decode.h"
#include "load.h"
#include "log.h"
#include "manifest.h"

struct load_ctx {
	struct kn_store *s;
	struct kn_load_result *res;
};

static int
load_one(void *arg, json_t *json, const char *where)
{
	struct load_ctx *lc = arg;
	struct kn_object obj;
	struct kn_err err;

	if (kn_decode_object(json, &obj, &err) < 0) {
		log_err("%s (%s)", err.msg, where);
		lc->res->invalid++;
		return 0;
	}
	if (obj.kind == KN_KIND_OTHER) {
		lc->res->ignored++;
		kn_object_free(&obj);
		return 0;
	}
	lc->res->objects++;
	kn_store_put(lc->s, &obj);
	return 0;
}

int
kn_load_files(struct kn_store *s, char *const *paths, size_t npaths, struct kn_load_result *res)
{
	struct load_ctx lc = {s, res};
	struct kn_err err;
	int r;

	memset(res, 0, sizeof(*res));
	for (size_t i = 0; i < npaths; i++) {
		r = kn_manifest_read_file_fields(paths[i], kn_decode_fields, load_one, &lc, &err);
		if (r < 0) {
			log_err("%s", err.msg);
			return r;
		}
	}
	return 0;
}
