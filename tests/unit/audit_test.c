/* kube-nftctl audit: each kind of finding, and silence on a clean
 * cluster. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "audit.h"
#include "testutil.h"

static char *
run_audit(struct kn_store *s, const char *node, size_t *ret_n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ATF_REQUIRE(f != NULL);
	*ret_n = kn_audit(s, node, f);
	fclose(f);
	return buf;
}

static const char deny_all[] = "apiVersion: networking.k8s.io/v1\n"
			       "kind: NetworkPolicy\n"
			       "metadata: {name: deny, namespace: \"%s\"}\n"
			       "spec: {podSelector: {}, policyTypes: [Ingress, Egress],\n"
			       "       egress: [{ports: [{port: 53, protocol: UDP}]}]}\n";

ATF_TC_WITHOUT_HEAD(clean_cluster);
ATF_TC_BODY(clean_cluster, tc)
{
	struct kn_store *s = kn_store_new();
	char buf[512];
	size_t n;
	char *out;

	tu_model(s);
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), deny_all, i == 0 ? "x" : i == 1 ? "y" : "z");
		tu_load(s, buf);
	}
	out = run_audit(s, NULL, &n);
	ATF_CHECK_EQ_MSG(n, 0, "%s", out);
	free(out);
	kn_store_free(s);
}

ATF_TC_WITHOUT_HEAD(findings);
ATF_TC_BODY(findings, tc)
{
	struct kn_store *s = kn_store_new();
	size_t n;
	char *out;

	tu_model(s);
	tu_load(s, "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: typo, namespace: x}\n"
		   "spec:\n"
		   "  podSelector: {matchLabels: {pod: aa}}\n"
		   "---\n"
		   "apiVersion: networking.k8s.io/v1\n"
		   "kind: NetworkPolicy\n"
		   "metadata: {name: web, namespace: \"y\"}\n"
		   "spec:\n"
		   "  podSelector: {}\n"
		   "  policyTypes: [Ingress, Egress]\n"
		   "  ingress:\n"
		   "  - from: [{namespaceSelector: {matchLabels: {ns: nope}}}]\n"
		   "    ports: [{port: http}]\n"
		   "  egress: [{ports: [{port: 443}]}]\n");
	out = run_audit(s, NULL, &n);
	ATF_CHECK(strstr(out, "NetworkPolicy x/typo: spec.podSelector: selects no pod\n") != NULL);
	ATF_CHECK(strstr(out, "NetworkPolicy y/web: spec.ingress[0].from[0]: selects no pod") !=
		  NULL);
	ATF_CHECK(strstr(out, "NetworkPolicy y/web: spec.ingress[0].ports[0]: named port http/TCP "
			      "is declared by no selected pod") != NULL);
	ATF_CHECK(strstr(out, "Pod y/a: egress is isolated and no rule allows port 53") != NULL);
	ATF_CHECK(strstr(out, "Pod x/a: no NetworkPolicy isolates its ingress") != NULL);
	ATF_CHECK(strstr(out, "Pod y/a: no NetworkPolicy isolates its ingress") == NULL);
	/* x and z: 6 open pods; y: 3 pods without DNS; 4 policy findings. */
	ATF_CHECK_EQ_MSG(n, 12, "%s", out);
	free(out);
	/* Per node: only node2's pods (x/c, y/c, z/c) are judged. */
	out = run_audit(s, "node2", &n);
	ATF_CHECK(strstr(out, "Pod x/a:") == NULL);
	ATF_CHECK(strstr(out, "Pod x/c: no NetworkPolicy isolates its ingress") != NULL);
	free(out);
	kn_store_free(s);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, clean_cluster);
	ATF_TP_ADD_TC(tp, findings);
	return atf_no_error();
}
