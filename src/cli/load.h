/* Loading manifest files into a store, shared by kube-nftctl and the
 * daemon's file sources.  This is an edge: it logs. */
#ifndef KN_CLI_LOAD_H
#define KN_CLI_LOAD_H

#include <stddef.h>

#include "store.h"

struct kn_load_result {
	size_t objects; /* objects the compiler uses */
	size_t ignored; /* other kinds, accepted and ignored */
	size_t invalid; /* rejected by validation, logged and skipped */
};

/* Reads every file ("-" is stdin) into s.  An invalid object is logged as
 * "Kind ns/name: field: problem" and skipped; the rest is loaded.
 * Returns 0, or a negative errno when a file could not be read or parsed
 * (logged); the store then holds what was read before the error. */
int kn_load_files(struct kn_store *s, char *const *paths, size_t npaths,
		  struct kn_load_result *res);

#endif
