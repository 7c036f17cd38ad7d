/* Label selector evaluation (metav1.LabelSelector semantics). */
#ifndef KN_SELECTOR_H
#define KN_SELECTOR_H

#include <stdbool.h>

#include "model.h"
#include "util.h"

/* An empty selector matches every label set.  NotIn and DoesNotExist
 * match when the key is absent. */
bool kn_selector_matches(const struct kn_selector *sel, const struct kn_labels *labels);
bool kn_selector_is_empty(const struct kn_selector *sel);
/* Appends a canonical one-line rendering ("app=web,tier in (a,b)") for
 * comments and explanations. */
void kn_selector_format(const struct kn_selector *sel, struct strbuf *out);

#endif
