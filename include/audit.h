/* Policy audit: likely mistakes in a cluster's policies (selectors that
 * select nothing, named ports no pod declares, pods left open, egress
 * without DNS).  Used by `kube-nftctl audit`. */
#ifndef KN_AUDIT_H
#define KN_AUDIT_H

#include <stdio.h>

#include "store.h"

/* Writes one line per finding to out ("Kind ns/name: field: what");
 * node NULL audits every pod.  Returns the number of findings. */
size_t kn_audit(struct kn_store *s, const char *node, FILE *out);

#endif
