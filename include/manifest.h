/* Reading Kubernetes objects from manifest files: JSON or YAML (several
 * documents), single objects or List / *List with items, exactly what
 * `kubectl get -o json|yaml` writes.  YAML is read with libyaml and turned
 * into the same jansson values that JSON input gives, so nothing
 * downstream knows which syntax a file used.
 */
#ifndef KN_MANIFEST_H
#define KN_MANIFEST_H

#include <stddef.h>

#include <jansson.h>

#include "decode.h"

/* Largest manifest file accepted.  Big clusters dumped with kubectl get
 * -o json stay well below this (10k pods is about 60 MiB of JSON). */
#define KN_MANIFEST_MAX_BYTES (512u * 1024 * 1024)

/* Called once per object, in file order, Lists expanded.  obj is borrowed.
 * where names the position for messages ("file.yaml: document 2, item 5").
 * A non-zero return stops reading and is returned by the reader. */
typedef int (*kn_manifest_cb)(void *ctx, json_t *obj, const char *where);

/* path "-" reads stdin.  Returns 0, a callback's non-zero value, or a
 * negative errno with err->msg set ("file.yaml:12:3: mapping values are
 * not allowed here") for I/O and syntax errors. */
int kn_manifest_read_file(const char *path, kn_manifest_cb cb, void *ctx, struct kn_err *err);
int kn_manifest_read_buf(const char *buf, size_t len, const char *name, kn_manifest_cb cb,
			 void *ctx, struct kn_err *err);

/* The same, building of each JSON object only the members fields(kind)
 * lists (kn_decode_fields: what decoding reads), so that the objects
 * handed out are what kn_decode_object needs and no more.  Reading costs
 * little more than for the members kept; the others are still checked
 * in full, and a file refused by one reader is refused by the other with
 * the same message.  YAML objects come whole. */
int kn_manifest_read_file_fields(const char *path, kn_fields_fn fields, kn_manifest_cb cb,
				 void *ctx, struct kn_err *err);
int kn_manifest_read_buf_fields(const char *buf, size_t len, const char *name, kn_fields_fn fields,
				kn_manifest_cb cb, void *ctx, struct kn_err *err);

/* Parses all YAML documents in buf into a JSON array of documents (empty
 * documents are skipped).  Values are typed as kubectl types them
 * (sigs.k8s.io/yaml, YAML 1.1): null/~/empty -> null; true/yes/on/y and
 * their opposites -> boolean; decimal, 0x, 0o, 0b and leading-zero octal
 * integers -> integer; floats -> real; quoted and block scalars are
 * always strings, so write namespace: "y" to name a namespace y.
 * Aliases are expanded (bounded); merge keys (<<) apply as go-yaml does;
 * a duplicate key is an error, with its position.  Returns NULL with err
 * set. */
json_t *kn_yaml_parse(const char *buf, size_t len, const char *name, struct kn_err *err);

#endif
