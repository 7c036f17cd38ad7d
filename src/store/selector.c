/* Label selectors with metav1.LabelSelector semantics.
 *
 * Every matchLabels entry and every expression must hold.  The selector
 * and the label set come decoded and validated (decode.h), so matching
 * cannot fail.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "selector.h"

/* Value lists are a handful of entries; a linear scan keeps matching
 * correct even if a caller forgot to sort them. */
static bool
value_in(const struct kn_sel_expr *e, const char *v)
{
	for (size_t i = 0; i < e->nvalues; i++)
		if (strcmp(e->values[i], v) == 0)
			return true;
	return false;
}

static bool
expr_matches(const struct kn_sel_expr *e, const struct kn_labels *labels)
{
	const char *v = kn_labels_get(labels, e->key);

	switch (e->op) {
	case KN_SEL_IN:
		return v && value_in(e, v);
	case KN_SEL_NOT_IN:
		/* As in Kubernetes: an absent key is "not in" any list. */
		return !v || !value_in(e, v);
	case KN_SEL_EXISTS:
		return v != NULL;
	case KN_SEL_DOES_NOT_EXIST:
		return v == NULL;
	}
	/* An unknown operator must not widen a policy's reach. */
	return false;
}

bool
kn_selector_matches(const struct kn_selector *sel, const struct kn_labels *labels)
{
	static const struct kn_labels none;

	/* NULL is treated as {}: callers distinguish "not given" before
	 * asking whether a selector matches. */
	if (!sel)
		return true;
	if (!labels)
		labels = &none;
	for (size_t i = 0; i < sel->match_labels.n; i++) {
		const struct kn_label *l = &sel->match_labels.v[i];
		const char *v = kn_labels_get(labels, l->key);

		if (!v || strcmp(v, l->value) != 0)
			return false;
	}
	for (size_t i = 0; i < sel->nexprs; i++)
		if (!expr_matches(&sel->exprs[i], labels))
			return false;
	return true;
}

bool
kn_selector_is_empty(const struct kn_selector *sel)
{
	return !sel || (sel->match_labels.n == 0 && sel->nexprs == 0);
}

static void
put_values(struct strbuf *out, const struct kn_sel_expr *e)
{
	strbuf_puts(out, " (");
	for (size_t i = 0; i < e->nvalues; i++) {
		if (i > 0)
			strbuf_putc(out, ',');
		strbuf_puts(out, e->values[i]);
	}
	strbuf_putc(out, ')');
}

void
kn_selector_format(const struct kn_selector *sel, struct strbuf *out)
{
	bool first = true;

	if (kn_selector_is_empty(sel)) {
		strbuf_puts(out, "<all>");
		return;
	}
	/* matchLabels are kept sorted by key (model.h), which gives the
	 * canonical order kubectl prints. */
	for (size_t i = 0; i < sel->match_labels.n; i++) {
		const struct kn_label *l = &sel->match_labels.v[i];

		strbuf_printf(out, "%s%s=%s", first ? "" : ",", l->key, l->value);
		first = false;
	}
	for (size_t i = 0; i < sel->nexprs; i++) {
		const struct kn_sel_expr *e = &sel->exprs[i];

		if (!first)
			strbuf_putc(out, ',');
		first = false;
		switch (e->op) {
		case KN_SEL_IN:
			strbuf_printf(out, "%s in", e->key);
			put_values(out, e);
			break;
		case KN_SEL_NOT_IN:
			strbuf_printf(out, "%s notin", e->key);
			put_values(out, e);
			break;
		case KN_SEL_EXISTS:
			strbuf_puts(out, e->key);
			break;
		case KN_SEL_DOES_NOT_EXIST:
			strbuf_printf(out, "!%s", e->key);
			break;
		}
	}
}
