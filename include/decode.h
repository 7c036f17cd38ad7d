/* Decoding and validation of Kubernetes objects from JSON (jansson).
 *
 * Validation follows the API server's rules for the fields kept:
 * label keys and values, selector operators, CIDRs, ports, endPort,
 * protocol names, peers.  An invalid object yields an error naming the
 * object and field, in the form "Kind ns/name: field.path: problem".
 */
#ifndef KN_DECODE_H
#define KN_DECODE_H

#include <jansson.h>

#include "model.h"
#include "util.h"

/* Decodes one object (not a List).  On success fills *ret (kind
 * KN_KIND_OTHER for kinds the compiler ignores) and returns 0.  On a
 * validation error returns -EINVAL with err->msg set; *ret is untouched. */
int kn_decode_object(const json_t *obj, struct kn_object *ret, struct kn_err *err);

/* The members of an object that kn_decode_object reads, as a tree, so
 * that a reader may build only those: most of a pod that `kubectl get -o
 * json` writes (probes, env, resources, status conditions, managedFields)
 * is never read.  A node lists the members of an object to keep, each
 * with the node of its value (NULL: the whole value); members it does not
 * list may be left out.  A node applies to every element of an array and
 * to objects only: a value of any other type is kept as it is, so that
 * decoding still sees a field of the wrong type.  Leaving out what the
 * tree does not list never changes what kn_decode_object returns
 * (tests/unit/decode_test.c checks it). */
struct kn_fields;

struct kn_field {
	const char *name;
	const struct kn_fields *fields; /* NULL: the whole value */
};

struct kn_fields {
	const struct kn_field *v;
	size_t n;
};

/* The tree for an object of this kind ("Pod"), whatever its apiVersion:
 * kinds the decoder ignores get kind and apiVersion only. */
const struct kn_fields *kn_decode_fields(const char *kind);

/* A function like kn_decode_fields, for readers to take. */
typedef const struct kn_fields *(*kn_fields_fn)(const char *kind);

/* Field validators, exposed for tests and for other decoders. */
bool kn_valid_label_key(const char *s);		/* qualified name with optional DNS prefix */
bool kn_valid_label_value(const char *s);	/* <= 63, alnum ends, [-_.] inside, may be empty */
bool kn_valid_dns1123_label(const char *s);	/* namespace names */
bool kn_valid_dns1123_subdomain(const char *s); /* object names */
bool kn_valid_port_name(const char *s);		/* IANA_SVC_NAME */

#endif
