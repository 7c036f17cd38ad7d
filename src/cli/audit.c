/* kube-nftctl audit: findings an operator wants before policies reach a
 * cluster.  Each is a likely mistake, not an error: the compiler
 * enforces all of these exactly as written. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "selector.h"

struct audit {
	struct kn_store *s;
	const char *node;
	FILE *out;
	size_t findings;
	struct kn_pod *const *pods;
	size_t npods;
};

static void finding(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
finding(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(a->out, fmt, ap);
	va_end(ap);
	fputc('\n', a->out);
	a->findings++;
}

static bool
pod_counts(const struct audit *a, const struct kn_pod *pod)
{
	if (pod->finished || pod->host_network)
		return false;
	return !a->node || (pod->node && strcmp(pod->node, a->node) == 0);
}

static const struct kn_labels *
ns_labels(struct audit *a, const char *ns, struct kn_labels *synth, struct kn_label *lbl)
{
	const struct kn_namespace *n = kn_store_get_namespace(a->s, ns);

	if (n)
		return &n->labels;
	lbl->key = (char *)"kubernetes.io/metadata.name";
	lbl->value = (char *)ns;
	synth->v = lbl;
	synth->n = 1;
	return synth;
}

static bool
peer_selects(struct audit *a, const struct kn_netpol *np, const struct kn_np_peer *peer,
	     const struct kn_pod *pod)
{
	struct kn_labels synth;
	struct kn_label lbl;

	if (peer->has_ip_block)
		return false;
	if (peer->ns_sel) {
		if (!kn_selector_matches(peer->ns_sel, ns_labels(a, pod->ns, &synth, &lbl)))
			return false;
	} else if (strcmp(pod->ns, np->ns) != 0) {
		return false;
	}
	return !peer->pod_sel || kn_selector_matches(peer->pod_sel, &pod->labels);
}

static bool
selects(const struct kn_netpol *np, const struct kn_pod *pod)
{
	return strcmp(np->ns, pod->ns) == 0 && !pod->host_network && !pod->finished &&
	       kn_selector_matches(&np->pod_sel, &pod->labels);
}

static bool
has_named_port(const struct kn_pod *pod, const struct kn_np_port *pt)
{
	for (size_t i = 0; i < pod->nports; i++)
		if (pod->ports[i].name && pod->ports[i].proto == pt->proto &&
		    strcmp(pod->ports[i].name, pt->port_name) == 0)
			return true;
	return false;
}

static void
audit_rules(struct audit *a, const struct kn_netpol *np, bool ingress)
{
	const struct kn_np_rule *rules = ingress ? np->in_rules : np->eg_rules;
	size_t nrules = ingress ? np->nin : np->neg;
	const char *dir = ingress ? "ingress" : "egress";

	for (size_t r = 0; r < nrules; r++) {
		const struct kn_np_rule *rule = &rules[r];

		for (size_t k = 0; k < rule->npeers; k++) {
			const struct kn_np_peer *peer = &rule->peers[k];
			bool any = false;

			if (peer->has_ip_block)
				continue;
			for (size_t i = 0; i < a->npods && !any; i++)
				any = peer_selects(a, np, peer, a->pods[i]);
			if (!any)
				finding(a,
					"NetworkPolicy %s/%s: spec.%s[%zu].%s[%zu]: selects no pod "
					"(a typo in a label?)",
					np->ns, np->name, dir, r, ingress ? "from" : "to", k);
		}
		for (size_t p = 0; p < rule->nports; p++) {
			const struct kn_np_port *pt = &rule->ports[p];
			bool any = false;

			if (!pt->port_name)
				continue;
			/* Ingress resolves on the selected pods, egress on
			 * any destination pod. */
			for (size_t i = 0; i < a->npods && !any; i++) {
				const struct kn_pod *pod = a->pods[i];

				if (ingress && !selects(np, pod))
					continue;
				any = has_named_port(pod, pt);
			}
			if (!any)
				finding(a,
					"NetworkPolicy %s/%s: spec.%s[%zu].ports[%zu]: named port "
					"%s/%s is declared by no %s pod",
					np->ns, np->name, dir, r, p, pt->port_name,
					kn_proto_name(pt->proto),
					ingress ? "selected" : "destination");
		}
	}
}

/* Whether an egress rule lets DNS (port 53) out, to anything. */
static bool
allows_dns(const struct kn_netpol *np)
{
	for (size_t r = 0; r < np->neg; r++) {
		const struct kn_np_rule *rule = &np->eg_rules[r];

		if (rule->nports == 0)
			return true;
		for (size_t p = 0; p < rule->nports; p++) {
			const struct kn_np_port *pt = &rule->ports[p];

			if (pt->port_name)
				continue;
			if (!pt->has_port || (pt->port <= 53 && pt->end_port >= 53))
				return true;
		}
	}
	return false;
}

size_t
kn_audit(struct kn_store *s, const char *node, FILE *out)
{
	struct audit a = {.s = s, .node = node, .out = out};
	struct kn_netpol *const *nps;
	size_t nnps = kn_store_netpols(s, &nps);
	bool *in_iso, *eg_iso, *eg_dns;

	a.npods = kn_store_pods(s, &a.pods);
	in_iso = calloc(a.npods + 1, sizeof(bool));
	eg_iso = calloc(a.npods + 1, sizeof(bool));
	eg_dns = calloc(a.npods + 1, sizeof(bool));
	if (!in_iso || !eg_iso || !eg_dns)
		abort();
	for (size_t p = 0; p < nnps; p++) {
		const struct kn_netpol *np = nps[p];
		bool any = false, dns = np->egress && allows_dns(np);

		for (size_t i = 0; i < a.npods; i++) {
			if (!selects(np, a.pods[i]))
				continue;
			any = true;
			in_iso[i] = in_iso[i] || np->ingress;
			eg_iso[i] = eg_iso[i] || np->egress;
			eg_dns[i] = eg_dns[i] || dns;
		}
		if (!any)
			finding(&a, "NetworkPolicy %s/%s: spec.podSelector: selects no pod", np->ns,
				np->name);
		if (np->ingress)
			audit_rules(&a, np, true);
		if (np->egress)
			audit_rules(&a, np, false);
	}
	for (size_t i = 0; i < a.npods; i++) {
		const struct kn_pod *pod = a.pods[i];

		if (!pod_counts(&a, pod))
			continue;
		if (!in_iso[i])
			finding(&a,
				"Pod %s/%s: no NetworkPolicy isolates its ingress: it accepts "
				"connections from anywhere",
				pod->ns, pod->name);
		if (eg_iso[i] && !eg_dns[i])
			finding(&a,
				"Pod %s/%s: egress is isolated and no rule allows port 53: "
				"name resolution will fail",
				pod->ns, pod->name);
	}
	free(in_iso);
	free(eg_iso);
	free(eg_dns);
	return a.findings;
}
