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

/* Field validators, exposed for tests and for other decoders. */
bool kn_valid_label_key(const char *s);		/* qualified name with optional DNS prefix */
bool kn_valid_label_value(const char *s);	/* <= 63, alnum ends, [-_.] inside, may be empty */
bool kn_valid_dns1123_label(const char *s);	/* namespace names */
bool kn_valid_dns1123_subdomain(const char *s); /* object names */
bool kn_valid_port_name(const char *s);		/* IANA_SVC_NAME */

#endif
