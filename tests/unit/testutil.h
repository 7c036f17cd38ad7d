/* Helpers for the compiler's unit tests: stores from inline manifests,
 * the standard 3 namespaces x 3 pods model, and reachability through
 * compiled programs (evaluated with explain.h, no root needed). */
#ifndef KN_TESTUTIL_H
#define KN_TESTUTIL_H

#include <stdbool.h>

#include "explain.h"
#include "netpol.h"
#include "store.h"

/* Loads YAML or JSON text into s; fails the test case on any read or
 * validation error. */
void tu_load(struct kn_store *s, const char *text);
/* Same, returning the number of objects rejected by validation and the
 * last error message in err (may be NULL). */
size_t tu_load_lenient(struct kn_store *s, const char *text, char *err, size_t errlen);

/* The contents of a file, NUL-terminated (free() it), or NULL. */
char *tu_read_file(const char *path);

/* The model: namespaces x, y, z (label ns=<name>), pods a, b, c in each
 * (label pod=<name>), containers ports serve-80-tcp, serve-80-udp,
 * serve-81-tcp, serve-81-udp.  Pods a and b run on node1, c on node2.
 * Addresses 10.0.N.M and fd00::N:M with N = 1,2,3 for x,y,z and
 * M = 1,2,3 for a,b,c. */
void tu_model(struct kn_store *s);
void tu_pod_addr(const char *ns, const char *pod, int family, struct kn_addr *ret);

/* True when a new connection from pod ns1/p1 to ns2/p2 passes both
 * nodes' programs (the source's node sees its egress, the destination's
 * node its ingress).  proto is "tcp", "udp" or "sctp". */
bool tu_reach(struct kn_store *s, const char *from, const char *to, const char *proto, int port,
	      int family);
/* Compares the full 9x9 matrix for one protocol/port/family against
 * expected, a string of 9 rows of 9 characters ('X' allowed, '.'
 * blocked; rows are sources x/a x/b x/c y/a ... z/c, columns the same
 * destinations; whitespace ignored).  The diagonal is not judged.
 * Fails the test with a printed matrix on mismatch. */
void tu_check_matrix(struct kn_store *s, const char *proto, int port, int family,
		     const char *expected);

#define TU_ALL_ALLOWED                                                                             \
	"XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX XXXXXXXXX "         \
	"XXXXXXXXX"

#endif
