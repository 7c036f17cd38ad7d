/* Decoding and validation of Kubernetes objects.
 *
 * Objects are written with single quotes, which load() turns into double
 * quotes, so that the tables stay readable.  A decoded object is rendered
 * into one line of text by dump() and compared with the expected line:
 * every field the compiler uses appears in it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>
#include <jansson.h>

#include "decode.h"
#include "jsonrd.h"
#include "manifest.h"
#include "model.h"
#include "netaddr.h"
#include "util.h"

static json_t *
load(const char *text)
{
	char *s = xstrdup(text);
	json_error_t jerr;
	json_t *js;

	for (char *p = s; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	js = json_loads(s, JSON_DECODE_ANY, &jerr);
	if (!js)
		atf_tc_fail("bad test JSON (%s): %s", jerr.text, s);
	free(s);
	return js;
}

/* ------------------------------------------------------------ dump */

static void
dump_labels(struct strbuf *sb, const struct kn_labels *l)
{
	for (size_t i = 0; i < l->n; i++)
		strbuf_printf(sb, "%s%s=%s", i ? "," : "", l->v[i].key, l->v[i].value);
}

static const char *
op_name(enum kn_sel_op op)
{
	switch (op) {
	case KN_SEL_IN:
		return "In";
	case KN_SEL_NOT_IN:
		return "NotIn";
	case KN_SEL_EXISTS:
		return "Exists";
	case KN_SEL_DOES_NOT_EXIST:
		return "DoesNotExist";
	}
	return "?";
}

/* {k=v,key In(a,b),key Exists} */
static void
dump_sel(struct strbuf *sb, const struct kn_selector *s)
{
	strbuf_putc(sb, '{');
	dump_labels(sb, &s->match_labels);
	for (size_t i = 0; i < s->nexprs; i++) {
		const struct kn_sel_expr *e = &s->exprs[i];

		strbuf_printf(sb, "%s%s %s", i || s->match_labels.n ? "," : "", e->key,
			      op_name(e->op));
		if (e->op == KN_SEL_IN || e->op == KN_SEL_NOT_IN) {
			strbuf_putc(sb, '(');
			for (size_t j = 0; j < e->nvalues; j++)
				strbuf_printf(sb, "%s%s", j ? "," : "", e->values[j]);
			strbuf_putc(sb, ')');
		}
	}
	strbuf_putc(sb, '}');
}

static void
dump_cidr(struct strbuf *sb, const struct kn_cidr *c)
{
	char buf[64];

	strbuf_printf(sb, "%s/%u", kn_addr_fmt(&c->addr, buf, sizeof(buf)), c->plen);
}

/* pod{..} / ns{..} pod{..} / ip(cidr except a b) */
static void
dump_peer(struct strbuf *sb, const struct kn_np_peer *p)
{
	if (p->ns_sel) {
		strbuf_puts(sb, "ns");
		dump_sel(sb, p->ns_sel);
	}
	if (p->pod_sel) {
		strbuf_puts(sb, p->ns_sel ? " pod" : "pod");
		dump_sel(sb, p->pod_sel);
	}
	if (p->has_ip_block) {
		strbuf_puts(sb, "ip(");
		dump_cidr(sb, &p->cidr);
		if (p->nexcept)
			strbuf_puts(sb, " except");
		for (size_t i = 0; i < p->nexcept; i++) {
			strbuf_putc(sb, ' ');
			dump_cidr(sb, &p->except[i]);
		}
		strbuf_putc(sb, ')');
	}
}

/* TCP, TCP/80, TCP/80-90, UDP/dns */
static void
dump_port(struct strbuf *sb, const struct kn_np_port *p)
{
	strbuf_puts(sb, kn_proto_name(p->proto));
	if (!p->has_port)
		return;
	if (p->port_name)
		strbuf_printf(sb, "/%s", p->port_name);
	else if (p->end_port != p->port)
		strbuf_printf(sb, "/%u-%u", p->port, p->end_port);
	else
		strbuf_printf(sb, "/%u", p->port);
}

/* [{peers=[a|b] ports=[x,y]},...] */
static void
dump_rules(struct strbuf *sb, const struct kn_np_rule *rules, size_t n)
{
	strbuf_putc(sb, '[');
	for (size_t i = 0; i < n; i++) {
		strbuf_puts(sb, i ? ",{peers=[" : "{peers=[");
		for (size_t j = 0; j < rules[i].npeers; j++) {
			if (j)
				strbuf_putc(sb, '|');
			dump_peer(sb, &rules[i].peers[j]);
		}
		strbuf_puts(sb, "] ports=[");
		for (size_t j = 0; j < rules[i].nports; j++) {
			if (j)
				strbuf_putc(sb, ',');
			dump_port(sb, &rules[i].ports[j]);
		}
		strbuf_puts(sb, "]}");
	}
	strbuf_putc(sb, ']');
}

static char *
dump(const struct kn_object *o)
{
	struct strbuf sb;
	char buf[64];

	strbuf_init(&sb, 0);
	switch (o->kind) {
	case KN_KIND_NAMESPACE:
		strbuf_printf(&sb, "Namespace %s labels={", o->u.ns->name);
		dump_labels(&sb, &o->u.ns->labels);
		strbuf_putc(&sb, '}');
		break;
	case KN_KIND_POD: {
		const struct kn_pod *p = o->u.pod;

		strbuf_printf(&sb,
			      "Pod %s/%s node=%s sa=%s automount=%d projected=%d host=%d "
			      "finished=%d labels={",
			      p->ns, p->name, p->node ? p->node : "-", p->service_account,
			      p->automount_token, p->projected_token, p->host_network, p->finished);
		dump_labels(&sb, &p->labels);
		strbuf_puts(&sb, "} ips=[");
		for (size_t i = 0; i < p->nips; i++)
			strbuf_printf(&sb, "%s%s", i ? "," : "",
				      kn_addr_fmt(&p->ips[i], buf, sizeof(buf)));
		strbuf_puts(&sb, "] ports=[");
		for (size_t i = 0; i < p->nports; i++) {
			const struct kn_container_port *cp = &p->ports[i];

			strbuf_printf(&sb, "%s%s%s%u/%s", i ? "," : "", cp->name ? cp->name : "",
				      cp->name ? "/" : "", cp->port, kn_proto_name(cp->proto));
		}
		strbuf_putc(&sb, ']');
		break;
	}
	case KN_KIND_NETPOL: {
		const struct kn_netpol *np = o->u.np;

		strbuf_printf(&sb, "NetworkPolicy %s/%s sel=", np->ns, np->name);
		dump_sel(&sb, &np->pod_sel);
		strbuf_printf(&sb, " ingress=%d egress=%d in=", np->ingress, np->egress);
		dump_rules(&sb, np->in_rules, np->nin);
		strbuf_puts(&sb, " eg=");
		dump_rules(&sb, np->eg_rules, np->neg);
		break;
	}
	default:
		strbuf_puts(&sb, "Other");
		break;
	}
	return strbuf_steal(&sb);
}

/* Decodes js, and returns its dump or its error. */
static char *
dump_decoded(const json_t *js)
{
	struct kn_object o;
	struct kn_err err;
	char *s;
	int r;

	memset(&err, 0, sizeof(err));
	r = kn_decode_object(js, &o, &err);
	if (r != 0)
		return xasprintf("error %d: %s", r, err.msg);
	s = dump(&o);
	kn_object_free(&o);
	return s;
}

/* Decodes text, which must succeed, and returns its dump. */
static char *
decode_dump(const char *text)
{
	json_t *js = load(text);
	char *s = dump_decoded(js);

	json_decref(js);
	return s;
}

/* ------------------------------------------------------------ builders */

#define NP_HEAD	      "{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy',"
#define NP(spec)      NP_HEAD "'metadata':{'name':'x','namespace':'default'},'spec':" spec "}"
#define POD_HEAD      "{'apiVersion':'v1','kind':'Pod',"
#define POD(spec)     POD_HEAD "'metadata':{'name':'p','namespace':'ns1'},'spec':" spec "}"
#define POD_ST(st)    POD_HEAD "'metadata':{'name':'p','namespace':'ns1'},'status':" st "}"
#define POD_META(m)   POD_HEAD "'metadata':" m "}"
#define NS_META(m)    "{'apiVersion':'v1','kind':'Namespace','metadata':" m "}"
#define CTR_PORTS(p)  POD("{'containers':[{'name':'c','ports':[" p "]}]}")
#define IN_PORTS(p)   NP("{'ingress':[{'ports':[" p "]}]}")
#define IN_FROM(p)    NP("{'ingress':[{'from':[" p "]}]}")
#define SEL_EXPR(e)   NP("{'podSelector':{'matchExpressions':[" e "]}}")
#define IPB(b)	      IN_FROM("{'ipBlock':" b "}")
#define NP_ERR	      "NetworkPolicy default/x: "
#define POD_ERR	      "Pod ns1/p: "
#define POD_PREFIX    "Pod ns1/p labels={} "
#define POD_DEFAULTS  "node=- sa=default automount=-1 projected=0 host=0 finished=0 labels={}"
#define NP_DUMP(rest) "NetworkPolicy default/x sel={} " rest

/* Upstream's messages, as decode.c reproduces them. */
#define DNS_LABEL_MSG                                                                              \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "        \
	"'-', and must start and end with an alphanumeric character"
#define DNS_SUBDOMAIN_MSG                                                                          \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "      \
	"'-' or '.', and must start and end with an alphanumeric character"
#define NAME_PART_MSG                                                                              \
	"name part must consist of alphanumeric characters, '-', '_' or '.', and must start "      \
	"and end with an alphanumeric character"
#define LABEL_VALUE_MSG                                                                            \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', "       \
	"'_' or '.', and must start and end with an alphanumeric character"
#define PORT_CHARS_MSG "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
#define PORT_RANGE_MSG "must be between 1 and 65535, inclusive"
#define IP_MSG	       "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
#define CIDR_MSG       "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
#define SUBSET_MSG     "must be a strict subset of `cidr`"

#define S63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define S64 S63 "4"

/* ------------------------------------------------------------ valid */

struct valid_case {
	const char *json;
	const char *dump;
};

static const struct valid_case valid_cases[] = {
	/* Namespaces: the metadata.name label is always there and wins. */
	{NS_META("{'name':'prod','labels':{'team':'a','env':'prod'}}"),
	 "Namespace prod labels={env=prod,kubernetes.io/metadata.name=prod,team=a}"},
	{NS_META("{'name':'prod','labels':{'kubernetes.io/metadata.name':'other'}}"),
	 "Namespace prod labels={kubernetes.io/metadata.name=prod}"},
	{NS_META("{'name':'a'}"), "Namespace a labels={kubernetes.io/metadata.name=a}"},
	{NS_META("{'name':'" S63 "','labels':null}"),
	 "Namespace " S63 " labels={kubernetes.io/metadata.name=" S63 "}"},
	{NS_META("{'name':'zz','labels':{'z':'1','a.b/c':'','A':null}}"),
	 "Namespace zz labels={A=,a.b/c=,kubernetes.io/metadata.name=zz,z=1}"},

	/* Pods. */
	{POD_META("{'name':'p'}"), "Pod default/p " POD_DEFAULTS " ips=[] ports=[]"},
	{POD_META("{'name':'p','namespace':''}"), "Pod default/p " POD_DEFAULTS " ips=[] ports=[]"},
	{POD_HEAD "'metadata':{'name':'web-0','namespace':'shop','labels':{'tier':'web',"
		  "'app.kubernetes.io/name':'shop'}},"
		  "'spec':{'nodeName':'n1','serviceAccountName':'shop-sa',"
		  "'automountServiceAccountToken':false,"
		  "'volumes':[{'name':'v','configMap':{'name':'c'}},{'name':'t','projected':"
		  "{'sources':[{'configMap':{}},{'serviceAccountToken':{'path':'token'}}]}}],"
		  "'initContainers':[{'name':'i','ports':[{'containerPort':9000}]}],"
		  "'containers':[{'name':'a','ports':[{'name':'http','containerPort':8080},"
		  "{'containerPort':53,'protocol':'UDP'},{'name':'s','containerPort':5000,"
		  "'protocol':'SCTP','hostPort':5000}]},{'name':'b','ports':[{'name':'http',"
		  "'containerPort':8081,'protocol':''}]},{'name':'c'}]},"
		  "'status':{'phase':'Running','podIP':'10.1.0.5',"
		  "'podIPs':[{'ip':'10.1.0.5'},{'ip':'fd00::5'}]}}",
	 "Pod shop/web-0 node=n1 sa=shop-sa automount=0 projected=1 host=0 finished=0 "
	 "labels={app.kubernetes.io/name=shop,tier=web} ips=[10.1.0.5,fd00::5] "
	 "ports=[9000/TCP,http/8080/TCP,53/UDP,s/5000/SCTP,http/8081/TCP]"},
	{POD("{'serviceAccount':'legacy','automountServiceAccountToken':true}"),
	 "Pod ns1/p node=- sa=legacy automount=1 projected=0 host=0 finished=0 labels={} "
	 "ips=[] ports=[]"},
	{POD("{'serviceAccountName':'','serviceAccount':'legacy'}"),
	 "Pod ns1/p node=- sa=legacy automount=-1 projected=0 host=0 finished=0 labels={} "
	 "ips=[] ports=[]"},
	{POD("{'serviceAccountName':'new','serviceAccount':'legacy'}"),
	 "Pod ns1/p node=- sa=new automount=-1 projected=0 host=0 finished=0 labels={} "
	 "ips=[] ports=[]"},
	{POD("{'hostNetwork':true,'nodeName':''}"),
	 "Pod ns1/p node=- sa=default automount=-1 projected=0 host=1 finished=0 labels={} "
	 "ips=[] ports=[]"},
	{POD("{'hostNetwork':false,'volumes':null,'containers':null}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[]"},
	/* Unknown fields are ignored, as the API server drops them. */
	{POD("{'futureField':{'x':1},'containers':[{'ports':[{'containerPort':1,"
	     "'unknown':[]}]}]}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[1/TCP]"},
	/* Pod IP sources. */
	{POD_ST("{'podIP':'10.0.0.1'}"), "Pod ns1/p " POD_DEFAULTS " ips=[10.0.0.1] ports=[]"},
	{POD_ST("{'podIP':'','podIPs':[]}"), "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[]"},
	{POD_ST("{'podIP':'10.0.0.1','podIPs':[{'ip':'10.0.0.2'},{'ip':'2001:db8::1'}]}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[10.0.0.2,2001:db8::1] ports=[]"},
	{POD_ST("{'podIPs':[{'ip':'2001:db8::1'},{'ip':'10.0.0.2'}]}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[2001:db8::1,10.0.0.2] ports=[]"},
	{POD_ST("{'podIPs':[{'ip':'10.0.0.2'},{'ip':'10.0.0.2'},{'ip':'2001:db8:0::1'},"
		"{'ip':'2001:db8::1'}]}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[10.0.0.2,2001:db8::1] ports=[]"},
	{POD_ST("{'podIP':'::ffff:10.0.0.3'}"),
	 "Pod ns1/p " POD_DEFAULTS " ips=[10.0.0.3] ports=[]"},
	/* Finished phases. */
	{POD_ST("{'phase':'Succeeded','podIP':'10.0.0.1'}"),
	 "Pod ns1/p node=- sa=default automount=-1 projected=0 host=0 finished=1 labels={} "
	 "ips=[10.0.0.1] ports=[]"},
	{POD_ST("{'phase':'Failed'}"),
	 "Pod ns1/p node=- sa=default automount=-1 projected=0 host=0 finished=1 labels={} "
	 "ips=[] ports=[]"},
	{POD_ST("{'phase':'Pending'}"), "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[]"},
	{POD_ST("{'phase':'Unknown'}"), "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[]"},
	{POD_ST("{'phase':'succeeded'}"), "Pod ns1/p " POD_DEFAULTS " ips=[] ports=[]"},

	/* NetworkPolicies. */
	{NP_HEAD "'metadata':{'name':'x'}}",
	 "NetworkPolicy default/x sel={} ingress=1 egress=0 in=[] eg=[]"},
	{NP("{}"), NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},
	{NP("{'podSelector':{'matchLabels':{'role':'db','app':'x'},'matchExpressions':["
	    "{'key':'env','operator':'In','values':['prod','dev','prod']},"
	    "{'key':'tier','operator':'NotIn','values':['b','a']},"
	    "{'key':'x.io/y','operator':'Exists'},"
	    "{'key':'z','operator':'DoesNotExist','values':[]}]},"
	    "'ingress':[{'from':[{'podSelector':{}},{'namespaceSelector':{}},"
	    "{'namespaceSelector':{'matchLabels':{'team':'a'}},'podSelector':"
	    "{'matchLabels':{'app':'b'}}},{'ipBlock':{'cidr':'10.1.2.3/16','except':"
	    "['10.1.128.0/17','10.1.0.0/24']}}],'ports':[{'port':80},{'port':'http',"
	    "'protocol':'TCP'},{'protocol':'UDP','port':5000,'endPort':5100},"
	    "{'protocol':'SCTP'},{'port':443,'endPort':443}]}],"
	    "'egress':[{'to':[{'ipBlock':{'cidr':'2001:db8::/32','except':['2001:db8:1::/48']}}]},"
	    "{}],'policyTypes':['Ingress','Egress']}"),
	 "NetworkPolicy default/x sel={app=x,role=db,env In(dev,prod),tier NotIn(a,b),"
	 "x.io/y Exists,z DoesNotExist} ingress=1 egress=1 "
	 "in=[{peers=[pod{}|ns{}|ns{team=a} pod{app=b}|ip(10.1.0.0/16 except "
	 "10.1.128.0/17 10.1.0.0/24)] ports=[TCP/80,TCP/http,UDP/5000-5100,SCTP,TCP/443]}] "
	 "eg=[{peers=[ip(2001:db8::/32 except 2001:db8:1::/48)] ports=[]},{peers=[] ports=[]}]"},
	/* null and [] mean "no restriction" for from/to and ports; a null
	 * rule is the empty rule, as Go decodes it. */
	{NP("{'ingress':[{'from':[],'ports':null},{'from':null,'ports':[]},null]}"),
	 NP_DUMP("ingress=1 egress=0 in=[{peers=[] ports=[]},{peers=[] ports=[]},"
		 "{peers=[] ports=[]}] eg=[]")},
	{NP("{'ingress':null,'egress':null}"), NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},
	{NP("{'ingress':[{'from':[{'ipBlock':{'cidr':'10.0.0.7/32'}}]}]}"),
	 NP_DUMP("ingress=1 egress=0 in=[{peers=[ip(10.0.0.7/32)] ports=[]}] eg=[]")},
	{NP("{'ingress':[{'from':[{'ipBlock':{'cidr':'0.0.0.0/0','except':null}}]}]}"),
	 NP_DUMP("ingress=1 egress=0 in=[{peers=[ip(0.0.0.0/0)] ports=[]}] eg=[]")},
	{NP("{'ingress':[{'ports':[{'port':65535,'endPort':65535},{'port':1}]}]}"),
	 NP_DUMP("ingress=1 egress=0 in=[{peers=[] ports=[TCP/65535,TCP/1]}] eg=[]")},
	{NP("{'ingress':[{'ports':[{'port':'a-1','protocol':null},{'port':null,'endPort':null}]}]"
	    "}"),
	 NP_DUMP("ingress=1 egress=0 in=[{peers=[] ports=[TCP/a-1,TCP]}] eg=[]")},
	{NP("{'podSelector':{'matchLabels':null,'matchExpressions':null}}"),
	 NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},
	/* Policy labels are validated, not kept. */
	{NP_HEAD "'metadata':{'name':'x','namespace':'default','labels':{'a':'b'}}}",
	 NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},

	/* policyTypes defaulting (SetDefaults_NetworkPolicySpec). */
	{NP("{'egress':[{}]}"), NP_DUMP("ingress=1 egress=1 in=[] eg=[{peers=[] ports=[]}]")},
	{NP("{'egress':[]}"), NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},
	{NP("{'ingress':[{}]}"), NP_DUMP("ingress=1 egress=0 in=[{peers=[] ports=[]}] eg=[]")},
	{NP("{'policyTypes':[]}"), NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},
	{NP("{'policyTypes':null,'egress':[{}]}"),
	 NP_DUMP("ingress=1 egress=1 in=[] eg=[{peers=[] ports=[]}]")},
	{NP("{'policyTypes':['Egress']}"), NP_DUMP("ingress=0 egress=1 in=[] eg=[]")},
	{NP("{'policyTypes':['Egress'],'ingress':[{}]}"),
	 NP_DUMP("ingress=0 egress=1 in=[{peers=[] ports=[]}] eg=[]")},
	{NP("{'policyTypes':['Ingress'],'egress':[{}]}"),
	 NP_DUMP("ingress=1 egress=0 in=[] eg=[{peers=[] ports=[]}]")},
	{NP("{'policyTypes':['Egress','Ingress']}"), NP_DUMP("ingress=1 egress=1 in=[] eg=[]")},
	/* Upstream accepts a repeated type. */
	{NP("{'policyTypes':['Ingress','Ingress']}"), NP_DUMP("ingress=1 egress=0 in=[] eg=[]")},

	/* Other kinds, and these kinds in other groups, are ignored. */
	{"{'apiVersion':'v1','kind':'ConfigMap','data':{'a':'b'}}", "Other"},
	{"{'apiVersion':'v1','kind':'Service','metadata':{'name':'Bad Name'}}", "Other"},
	{"{'apiVersion':'foo/v1','kind':'Pod','metadata':{}}", "Other"},
	{"{'apiVersion':'v1','kind':'NetworkPolicy','spec':7}", "Other"},
	{"{'apiVersion':'extensions/v1beta1','kind':'NetworkPolicy'}", "Other"},
	{"{'apiVersion':'networking.k8s.io/v1beta1','kind':'NetworkPolicy'}", "Other"},
	{"{'apiVersion':'crd.example/v1','kind':'Namespace'}", "Other"},
	{"{'apiVersion':'v1','kind':'pod','spec':[]}", "Other"},
	{"{'apiVersion':'v1','kind':'PodList','items':[]}", "Other"},
};

ATF_TC_WITHOUT_HEAD(valid_objects);
ATF_TC_BODY(valid_objects, tc)
{
	for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		char *got = decode_dump(valid_cases[i].json);

		ATF_CHECK_MSG(strcmp(got, valid_cases[i].dump) == 0,
			      "case %zu: %s\n  want: %s\n  got:  %s", i, valid_cases[i].json,
			      valid_cases[i].dump, got);
		free(got);
	}
}

/* ------------------------------------------------------------ invalid */

struct invalid_case {
	const char *json;
	const char *msg;
};

static const struct invalid_case invalid_cases[] = {
	/* The object itself. */
	{"[]", "object: must be an object"},
	{"{'apiVersion':'v1'}", "object: kind: required value"},
	{"{'apiVersion':'v1','kind':''}", "object: kind: required value"},
	{"{'apiVersion':'v1','kind':null}", "object: kind: required value"},
	{"{'apiVersion':'v1','kind':5}", "object: kind: must be a string"},
	{"{'kind':'Pod'}", "object: apiVersion: required value"},
	{"{'kind':'Pod','apiVersion':['v1']}", "object: apiVersion: must be a string"},

	/* Metadata. */
	{POD_HEAD "'metadata':{'namespace':'ns1'}}",
	 "Pod ns1/<unnamed>: metadata.name: required value"},
	{POD_HEAD "'metadata':{'name':'','namespace':'ns1'}}",
	 "Pod ns1/<unnamed>: metadata.name: required value"},
	{POD_HEAD "'spec':{}}", "Pod default/<unnamed>: metadata.name: required value"},
	{POD_HEAD "'metadata':[]}", "Pod default/<unnamed>: metadata: must be an object"},
	{POD_HEAD "'metadata':{'name':7}}",
	 "Pod default/<unnamed>: metadata.name: must be a string"},
	{NS_META("{}"), "Namespace <unnamed>: metadata.name: required value"},
	{NP_HEAD "'metadata':{'namespace':'ns1'}}",
	 "NetworkPolicy ns1/<unnamed>: metadata.name: required value"},
	{POD_META("{'name':'Web','namespace':'ns1'}"),
	 "Pod ns1/Web: metadata.name: invalid value: \"Web\": " DNS_SUBDOMAIN_MSG},
	{POD_META("{'name':'a..b','namespace':'ns1'}"),
	 "Pod ns1/a..b: metadata.name: invalid value: \"a..b\": " DNS_SUBDOMAIN_MSG},
	{NP_HEAD "'metadata':{'name':'x_y'}}",
	 "NetworkPolicy default/x_y: metadata.name: invalid value: \"x_y\": " DNS_SUBDOMAIN_MSG},
	{NS_META("{'name':'a.b'}"),
	 "Namespace a.b: metadata.name: invalid value: \"a.b\": " DNS_LABEL_MSG},
	{NS_META("{'name':'" S64 "'}"), "Namespace " S64 ": metadata.name: invalid value: \"" S64
					"\": must be no more than 63 characters"},
	{POD_META("{'name':'p','namespace':'Bad_NS'}"),
	 "Pod Bad_NS/p: metadata.namespace: invalid value: \"Bad_NS\": " DNS_LABEL_MSG},
	{POD_META("{'name':'p','namespace':['a']}"),
	 "Pod default/p: metadata.namespace: must be a string"},
	/* Control characters from the object do not reach the log. */
	{POD_META("{'name':'a\\nb','namespace':'ns1'}"),
	 "Pod ns1/a?b: metadata.name: invalid value: \"a?b\": " DNS_SUBDOMAIN_MSG},

	/* Labels: keys are qualified names, values label values. */
	{POD_META("{'name':'p','namespace':'ns1','labels':{'a b':'x'}}"),
	 POD_ERR "metadata.labels[\"a b\"]: invalid value: \"a b\": " NAME_PART_MSG},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'Example.com/a':'x'}}"),
	 POD_ERR "metadata.labels[\"Example.com/a\"]: invalid value: \"Example.com/a\": "
		 "prefix part must be a lowercase RFC 1123 subdomain of at most 253 characters"},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'a/b/c':'x'}}"),
	 POD_ERR "metadata.labels[\"a/b/c\"]: invalid value: \"a/b/c\": a qualified name must "
		 "consist of an optional DNS subdomain prefix and a name separated by a single "
		 "'/'"},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'/a':'x'}}"),
	 POD_ERR "metadata.labels[\"/a\"]: invalid value: \"/a\": prefix part must be non-empty"},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'example.com/':'x'}}"),
	 POD_ERR "metadata.labels[\"example.com/\"]: invalid value: \"example.com/\": name part "
		 "must be non-empty"},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'':'x'}}"),
	 POD_ERR "metadata.labels[\"\"]: invalid value: \"\": name part must be non-empty"},
	{POD_META("{'name':'p','namespace':'ns1','labels':{'" S64 "':'x'}}"),
	 POD_ERR "metadata.labels[\"" S64 "\"]: invalid value: \"" S64 "\": name part must be "
		 "no more than 63 characters"},
	{NS_META("{'name':'n','labels':{'app':'-x'}}"),
	 "Namespace n: metadata.labels[\"app\"]: invalid value: \"-x\": " LABEL_VALUE_MSG},
	{NS_META("{'name':'n','labels':{'app':'" S64 "'}}"),
	 "Namespace n: metadata.labels[\"app\"]: invalid value: \"" S64
	 "\": must be no more than 63 characters"},
	{NS_META("{'name':'n','labels':{'app':1}}"),
	 "Namespace n: metadata.labels[\"app\"]: must be a string"},
	{NS_META("{'name':'n','labels':['app']}"),
	 "Namespace n: metadata.labels: must be an object"},
	/* Errors are reported in key order, whatever the manifest's order. */
	{NS_META("{'name':'n','labels':{'z':'-','a':'-'}}"),
	 "Namespace n: metadata.labels[\"a\"]: invalid value: \"-\": " LABEL_VALUE_MSG},
	{NP_HEAD "'metadata':{'name':'x','namespace':'default','labels':{'a':'b c'}}}",
	 NP_ERR "metadata.labels[\"a\"]: invalid value: \"b c\": " LABEL_VALUE_MSG},

	/* Pod spec. */
	{POD_HEAD "'metadata':{'name':'p','namespace':'ns1'},'spec':[]}",
	 POD_ERR "spec: must be an object"},
	{POD_HEAD "'metadata':{'name':'p','namespace':'ns1'},'status':'Running'}",
	 POD_ERR "status: must be an object"},
	{POD("{'hostNetwork':'true'}"), POD_ERR "spec.hostNetwork: must be a boolean"},
	{POD("{'automountServiceAccountToken':1}"),
	 POD_ERR "spec.automountServiceAccountToken: must be a boolean"},
	{POD("{'nodeName':1}"), POD_ERR "spec.nodeName: must be a string"},
	{POD("{'serviceAccountName':'Admin'}"),
	 POD_ERR "spec.serviceAccountName: invalid value: \"Admin\": " DNS_SUBDOMAIN_MSG},
	{POD("{'serviceAccount':'a_b'}"),
	 POD_ERR "spec.serviceAccount: invalid value: \"a_b\": " DNS_SUBDOMAIN_MSG},
	{POD("{'containers':{}}"), POD_ERR "spec.containers: must be a list"},
	{POD("{'containers':['c']}"), POD_ERR "spec.containers[0]: must be an object"},
	{POD("{'containers':[{'ports':{}}]}"), POD_ERR "spec.containers[0].ports: must be a list"},
	{POD("{'volumes':[{'projected':{'sources':{}}}]}"),
	 POD_ERR "spec.volumes[0].projected.sources: must be a list"},
	{POD("{'volumes':[{'projected':{'sources':[{},{'serviceAccountToken':true}]}}]}"),
	 POD_ERR "spec.volumes[0].projected.sources[1].serviceAccountToken: must be an object"},

	/* Container ports. */
	{CTR_PORTS("{'containerPort':0}"), POD_ERR "spec.containers[0].ports[0].containerPort: "
						   "required value"},
	{CTR_PORTS("{'name':'a'}"), POD_ERR "spec.containers[0].ports[0].containerPort: "
					    "required value"},
	{CTR_PORTS("{'containerPort':80},{'containerPort':70000}"), POD_ERR
	 "spec.containers[0].ports[1].containerPort: invalid value: 70000: " PORT_RANGE_MSG},
	{CTR_PORTS("{'containerPort':-1}"),
	 POD_ERR "spec.containers[0].ports[0].containerPort: invalid value: -1: " PORT_RANGE_MSG},
	{CTR_PORTS("{'containerPort':'80'}"),
	 POD_ERR "spec.containers[0].ports[0].containerPort: must be an integer"},
	{CTR_PORTS("{'containerPort':80.0}"),
	 POD_ERR "spec.containers[0].ports[0].containerPort: must be an integer"},
	{CTR_PORTS("{'containerPort':80,'protocol':'tcp'}"),
	 POD_ERR "spec.containers[0].ports[0].protocol: unsupported value: \"tcp\": supported "
		 "values: \"SCTP\", \"TCP\", \"UDP\""},
	{CTR_PORTS("{'containerPort':80,'name':'HTTP'}"),
	 POD_ERR "spec.containers[0].ports[0].name: invalid value: \"HTTP\": " PORT_CHARS_MSG},
	{CTR_PORTS("{'containerPort':80,'name':'8080'}"),
	 POD_ERR "spec.containers[0].ports[0].name: invalid value: \"8080\": must contain at "
		 "least one letter (a-z)"},
	{CTR_PORTS("{'containerPort':80,'name':'a--b'}"),
	 POD_ERR "spec.containers[0].ports[0].name: invalid value: \"a--b\": must not contain "
		 "consecutive hyphens"},
	{CTR_PORTS("{'containerPort':80,'name':'-ab'}"),
	 POD_ERR "spec.containers[0].ports[0].name: invalid value: \"-ab\": must not begin or "
		 "end with a hyphen"},
	{CTR_PORTS("{'containerPort':80,'name':'abcdefghijklmnop'}"),
	 POD_ERR "spec.containers[0].ports[0].name: invalid value: \"abcdefghijklmnop\": must be "
		 "no more than 15 characters"},
	{CTR_PORTS("{'containerPort':80,'name':'web'},{'containerPort':81,'name':'web'}"),
	 POD_ERR "spec.containers[0].ports[1].name: duplicate value: \"web\""},
	{POD("{'initContainers':[{'ports':[{'containerPort':80}]},{'ports':[{'containerPort':"
	     "80,'name':'a_b'}]}]}"),
	 POD_ERR "spec.initContainers[1].ports[0].name: invalid value: \"a_b\": " PORT_CHARS_MSG},

	/* Pod status. */
	{POD_ST("{'podIPs':{}}"), POD_ERR "status.podIPs: must be a list"},
	{POD_ST("{'podIPs':[{'ip':'10.0.0.1'},{'ip':'10.0.0.300'}]}"),
	 POD_ERR "status.podIPs[1].ip: invalid value: \"10.0.0.300\": " IP_MSG},
	{POD_ST("{'podIPs':[{}]}"), POD_ERR "status.podIPs[0].ip: invalid value: \"\": " IP_MSG},
	{POD_ST("{'podIPs':[{'ip':'0300.0.0.1'}]}"),
	 POD_ERR "status.podIPs[0].ip: invalid value: \"0300.0.0.1\": " IP_MSG},
	{POD_ST("{'podIPs':['10.0.0.1']}"), POD_ERR "status.podIPs[0]: must be an object"},
	{POD_ST("{'podIP':'fe80::1%eth0'}"),
	 POD_ERR "status.podIP: invalid value: \"fe80::1%eth0\": " IP_MSG},
	{POD_ST("{'podIP':'10.0.0.0/8'}"),
	 POD_ERR "status.podIP: invalid value: \"10.0.0.0/8\": " IP_MSG},
	{POD_ST("{'phase':1}"), POD_ERR "status.phase: must be a string"},

	/* Label selectors. */
	{NP("{'podSelector':[]}"), NP_ERR "spec.podSelector: must be an object"},
	{NP("{'podSelector':{'matchLabels':{'a b':'x'}}}"),
	 NP_ERR "spec.podSelector.matchLabels[\"a b\"]: invalid value: \"a b\": " NAME_PART_MSG},
	{NP("{'podSelector':{'matchLabels':{'app':'x y'}}}"),
	 NP_ERR "spec.podSelector.matchLabels[\"app\"]: invalid value: \"x y\": " LABEL_VALUE_MSG},
	{NP("{'podSelector':{'matchExpressions':{}}}"),
	 NP_ERR "spec.podSelector.matchExpressions: must be a list"},
	{SEL_EXPR("{'key':'a','operator':'in','values':['x']}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].operator: invalid value: \"in\": not a "
		"valid selector operator"},
	{SEL_EXPR("{'key':'a'}"), NP_ERR "spec.podSelector.matchExpressions[0].operator: invalid "
					 "value: \"\": not a valid selector operator"},
	{SEL_EXPR("{'key':'a','operator':'Exists'},{'key':'a','operator':'In'}"),
	 NP_ERR "spec.podSelector.matchExpressions[1].values: required value: must be specified "
		"when `operator` is 'In' or 'NotIn'"},
	{SEL_EXPR("{'key':'a','operator':'NotIn','values':[]}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values: required value: must be specified "
		"when `operator` is 'In' or 'NotIn'"},
	{SEL_EXPR("{'key':'a','operator':'Exists','values':['x']}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values: forbidden: may not be specified "
		"when `operator` is 'Exists' or 'DoesNotExist'"},
	{SEL_EXPR("{'key':'a','operator':'DoesNotExist','values':['']}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values: forbidden: may not be specified "
		"when `operator` is 'Exists' or 'DoesNotExist'"},
	{SEL_EXPR("{'key':'-a','operator':'Exists'}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].key: invalid value: \"-a\": " NAME_PART_MSG},
	{SEL_EXPR("{'operator':'Exists'}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].key: "
		"invalid value: \"\": name part must be non-empty"},
	{SEL_EXPR("{'key':'a','operator':'In','values':['ok','a b']}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values[1]: invalid value: \"a "
		"b\": " LABEL_VALUE_MSG},
	{SEL_EXPR("{'key':'a','operator':'In','values':['ok',1]}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values[1]: must be a string"},
	{SEL_EXPR("{'key':'a','operator':'In','values':'x'}"),
	 NP_ERR "spec.podSelector.matchExpressions[0].values: must be a list"},
	{SEL_EXPR("7"), NP_ERR "spec.podSelector.matchExpressions[0]: must be an object"},

	/* Rules and peers. */
	{NP("{'ingress':{}}"), NP_ERR "spec.ingress: must be a list"},
	{NP("{'egress':['x']}"), NP_ERR "spec.egress[0]: must be an object"},
	{NP("{'ingress':[{'from':{}}]}"), NP_ERR "spec.ingress[0].from: must be a list"},
	{IN_FROM("{'podSelector':{}},{}"),
	 NP_ERR "spec.ingress[0].from[1]: required value: must specify a peer"},
	{IN_FROM("null"), NP_ERR "spec.ingress[0].from[0]: required value: must specify a peer"},
	{IN_FROM("{'podSelector':null,'ipBlock':null}"),
	 NP_ERR "spec.ingress[0].from[0]: required value: must specify a peer"},
	{IN_FROM("{'ipBlock':{'cidr':'10.0.0.0/8'},'podSelector':{}}"),
	 NP_ERR "spec.ingress[0].from[0]: forbidden: may not specify both ipBlock and another "
		"peer"},
	{NP("{'egress':[{},{'to':[{'ipBlock':{'cidr':'10.0.0.0/8'},'namespaceSelector':{}}]}]}"),
	 NP_ERR "spec.egress[1].to[0]: forbidden: may not specify both ipBlock and another peer"},
	{IN_FROM("{'namespaceSelector':{'matchExpressions':[{'key':'a','operator':'Exists',"
		 "'values':['b']}]}}"),
	 NP_ERR "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: "
		"forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"},
	{IN_FROM("{'podSelector':'app=web'}"),
	 NP_ERR "spec.ingress[0].from[0].podSelector: must be an object"},

	/* ipBlock. */
	{IPB("{}"), NP_ERR "spec.ingress[0].from[0].ipBlock.cidr: required value"},
	{IPB("{'cidr':''}"), NP_ERR "spec.ingress[0].from[0].ipBlock.cidr: required value"},
	{IPB("[]"), NP_ERR "spec.ingress[0].from[0].ipBlock: must be an object"},
	{IPB("{'cidr':'10.0.0.0/33'}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.cidr: invalid value: \"10.0.0.0/33\": " CIDR_MSG},
	{IPB("{'cidr':'10.0.0.1'}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.cidr: invalid value: \"10.0.0.1\": " CIDR_MSG},
	{IPB("{'cidr':'2001:db8::/129'}"), NP_ERR
	 "spec.ingress[0].from[0].ipBlock.cidr: invalid value: \"2001:db8::/129\": " CIDR_MSG},
	{IPB("{'cidr':10}"), NP_ERR "spec.ingress[0].from[0].ipBlock.cidr: must be a string"},
	{IPB("{'cidr':'10.0.0.0/8','except':['10.1.0.0/16','192.168.0.0/24']}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.except[1]: invalid value: "
		"\"192.168.0.0/24\": " SUBSET_MSG},
	{IPB("{'cidr':'10.0.0.0/8','except':['10.0.0.0/8']}"), NP_ERR
	 "spec.ingress[0].from[0].ipBlock.except[0]: invalid value: \"10.0.0.0/8\": " SUBSET_MSG},
	{IPB("{'cidr':'10.0.0.0/16','except':['10.0.0.0/8']}"), NP_ERR
	 "spec.ingress[0].from[0].ipBlock.except[0]: invalid value: \"10.0.0.0/8\": " SUBSET_MSG},
	{IPB("{'cidr':'0.0.0.0/0','except':['::/1']}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.except[0]: invalid value: \"::/1\": " SUBSET_MSG},
	{IPB("{'cidr':'10.0.0.0/8','except':['10.1.0.0']}"), NP_ERR
	 "spec.ingress[0].from[0].ipBlock.except[0]: invalid value: \"10.1.0.0\": " CIDR_MSG},
	{IPB("{'cidr':'10.0.0.0/8','except':[null]}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.except[0]: invalid value: \"\": " CIDR_MSG},
	{IPB("{'cidr':'10.0.0.0/8','except':'10.1.0.0/16'}"),
	 NP_ERR "spec.ingress[0].from[0].ipBlock.except: must be a list"},

	/* Ports. */
	{IN_PORTS("{'protocol':'tcp','port':80}"),
	 NP_ERR "spec.ingress[0].ports[0].protocol: unsupported value: \"tcp\": supported values: "
		"\"TCP\", \"UDP\", \"SCTP\""},
	{IN_PORTS("{'protocol':''}"),
	 NP_ERR "spec.ingress[0].ports[0].protocol: unsupported value: \"\": supported values: "
		"\"TCP\", \"UDP\", \"SCTP\""},
	{IN_PORTS("{'protocol':'ICMP'}"),
	 NP_ERR "spec.ingress[0].ports[0].protocol: unsupported value: \"ICMP\": supported "
		"values: \"TCP\", \"UDP\", \"SCTP\""},
	{IN_PORTS("{'protocol':6}"), NP_ERR "spec.ingress[0].ports[0].protocol: must be a string"},
	{IN_PORTS("{'port':0}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: 0: " PORT_RANGE_MSG},
	{IN_PORTS("{'port':80},{'port':65536}"),
	 NP_ERR "spec.ingress[0].ports[1].port: invalid value: 65536: " PORT_RANGE_MSG},
	{IN_PORTS("{'port':-80}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: -80: " PORT_RANGE_MSG},
	/* IntOrString: a JSON string stays a name, even when all digits. */
	{IN_PORTS("{'port':'80'}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: \"80\": must contain at least one "
		"letter (a-z)"},
	{IN_PORTS("{'port':''}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: \"\": " PORT_CHARS_MSG},
	{IN_PORTS("{'port':'Http'}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: \"Http\": " PORT_CHARS_MSG},
	{IN_PORTS("{'port':'web-'}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: \"web-\": must not begin or end "
		"with a hyphen"},
	{IN_PORTS("{'port':{}}"),
	 NP_ERR "spec.ingress[0].ports[0].port: must be an integer or a string"},
	{IN_PORTS("{'port':true}"),
	 NP_ERR "spec.ingress[0].ports[0].port: must be an integer or a string"},
	{IN_PORTS("{'port':80.0}"),
	 NP_ERR "spec.ingress[0].ports[0].port: must be an integer or a string"},
	{IN_PORTS("{'port':80,'endPort':79}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: invalid value: 79: must be greater than or "
		"equal to `port`"},
	{IN_PORTS("{'port':80,'endPort':0}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: invalid value: 0: must be greater than or "
		"equal to `port`"},
	{IN_PORTS("{'port':80,'endPort':65536}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: invalid value: 65536: " PORT_RANGE_MSG},
	{IN_PORTS("{'port':'http','endPort':90}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: invalid value: 90: may not be specified when "
		"`port` is non-numeric"},
	{IN_PORTS("{'endPort':90}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: invalid value: 90: may not be specified when "
		"`port` is not specified"},
	{IN_PORTS("{'port':80,'endPort':'90'}"),
	 NP_ERR "spec.ingress[0].ports[0].endPort: must be an integer"},
	{IN_PORTS("'80'"), NP_ERR "spec.ingress[0].ports[0]: must be an object"},
	{NP("{'ingress':[{'ports':{'port':80}}]}"), NP_ERR "spec.ingress[0].ports: must be a list"},
	{NP("{'ingress':[{}],'egress':[{},{'ports':[{}, {'port':'a_b'}]}]}"),
	 NP_ERR "spec.egress[1].ports[1].port: invalid value: \"a_b\": " PORT_CHARS_MSG},
	/* Ports are checked before peers within a rule, as upstream does. */
	{NP("{'ingress':[{'from':[{}],'ports':[{'port':0}]}]}"),
	 NP_ERR "spec.ingress[0].ports[0].port: invalid value: 0: " PORT_RANGE_MSG},

	/* policyTypes. */
	{NP("{'policyTypes':['Ingress','Egress','Ingress']}"),
	 NP_ERR "spec.policyTypes: may not specify more than two policyTypes"},
	{NP("{'policyTypes':['ingress']}"),
	 NP_ERR "spec.policyTypes[0]: unsupported value: \"ingress\": supported values: "
		"\"Ingress\", \"Egress\""},
	{NP("{'policyTypes':['Egress','']}"),
	 NP_ERR "spec.policyTypes[1]: unsupported value: \"\": supported values: \"Ingress\", "
		"\"Egress\""},
	{NP("{'policyTypes':'Ingress'}"), NP_ERR "spec.policyTypes: must be a list"},
	{NP("{'policyTypes':[1]}"), NP_ERR "spec.policyTypes[0]: must be a string"},
	{NP_HEAD "'metadata':{'name':'x','namespace':'default'},'spec':'all'}",
	 NP_ERR "spec: must be an object"},
};

ATF_TC_WITHOUT_HEAD(invalid_objects);
ATF_TC_BODY(invalid_objects, tc)
{
	for (size_t i = 0; i < ARRAY_SIZE(invalid_cases); i++) {
		struct kn_object o;
		struct kn_err err;
		json_t *js = load(invalid_cases[i].json);
		int r;

		memset(&err, 0, sizeof(err));
		memset(&o, 0xa5, sizeof(o));
		r = kn_decode_object(js, &o, &err);
		json_decref(js);
		ATF_CHECK_MSG(r == -EINVAL, "case %zu: %s: returned %d", i, invalid_cases[i].json,
			      r);
		if (r == 0) {
			kn_object_free(&o);
			continue;
		}
		ATF_CHECK_MSG(strcmp(err.msg, invalid_cases[i].msg) == 0,
			      "case %zu: %s\n  want: %s\n  got:  %s", i, invalid_cases[i].json,
			      invalid_cases[i].msg, err.msg);
	}
}

/* *ret is written only on success. */
ATF_TC_WITHOUT_HEAD(ret_untouched_on_error);
ATF_TC_BODY(ret_untouched_on_error, tc)
{
	static const char *const texts[] = {
		IN_PORTS("{'port':80},{'port':0}"),
		POD_ST("{'podIPs':[{'ip':'10.0.0.1'},{'ip':'x'}]}"),
		NS_META("{'name':'n','labels':{'a':'b','c':'-'}}"),
	};

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		struct kn_object o, before;
		struct kn_err err;
		json_t *js = load(texts[i]);

		memset(&o, 0x5a, sizeof(o));
		before = o;
		ATF_CHECK_EQ(kn_decode_object(js, &o, &err), -EINVAL);
		ATF_CHECK(memcmp(&o, &before, sizeof(o)) == 0);
		json_decref(js);
	}
}

/* The fields the compiler reads, checked directly rather than through
 * dump(): label lookup works on the sorted result. */
ATF_TC_WITHOUT_HEAD(namespace_label);
ATF_TC_BODY(namespace_label, tc)
{
	json_t *js = load(NS_META("{'name':'kube-system','labels':{'z':'1','b':'2'}}"));
	struct kn_object o;
	struct kn_err err;

	ATF_REQUIRE_EQ(kn_decode_object(js, &o, &err), 0);
	ATF_REQUIRE_EQ(o.kind, KN_KIND_NAMESPACE);
	ATF_CHECK_STREQ(o.u.ns->name, "kube-system");
	ATF_CHECK_EQ(o.u.ns->labels.n, 3);
	ATF_CHECK_STREQ(kn_labels_get(&o.u.ns->labels, "kubernetes.io/metadata.name"),
			"kube-system");
	ATF_CHECK_STREQ(kn_labels_get(&o.u.ns->labels, "z"), "1");
	ATF_CHECK_STREQ(kn_labels_get(&o.u.ns->labels, "b"), "2");
	for (size_t i = 1; i < o.u.ns->labels.n; i++)
		ATF_CHECK(strcmp(o.u.ns->labels.v[i - 1].key, o.u.ns->labels.v[i].key) < 0);
	kn_object_free(&o);
	json_decref(js);
}

ATF_TC_WITHOUT_HEAD(pod_fields);
ATF_TC_BODY(pod_fields, tc)
{
	json_t *js = load(POD_HEAD "'metadata':{'name':'p','namespace':'ns1'},'spec':{"
				   "'hostNetwork':true,'nodeName':'n1','containers':[{'ports':"
				   "[{'name':'dns','containerPort':53,'protocol':'UDP'}]}]},"
				   "'status':{'phase':'Failed','podIPs':[{'ip':'192.0.2.1'},"
				   "{'ip':'2001:db8::1'},{'ip':'192.0.2.1'}]}}");
	struct kn_addr a4, a6;
	struct kn_object o;
	struct kn_err err;
	struct kn_pod *p;

	ATF_REQUIRE_EQ(kn_addr_parse("192.0.2.1", &a4), 0);
	ATF_REQUIRE_EQ(kn_addr_parse("2001:db8::1", &a6), 0);
	ATF_REQUIRE_EQ(kn_decode_object(js, &o, &err), 0);
	ATF_REQUIRE_EQ(o.kind, KN_KIND_POD);
	p = o.u.pod;
	ATF_CHECK(p->host_network);
	ATF_CHECK(p->finished);
	ATF_CHECK_STREQ(p->node, "n1");
	ATF_REQUIRE_EQ(p->nips, 2);
	ATF_CHECK_EQ(kn_addr_cmp(&p->ips[0], &a4), 0);
	ATF_CHECK_EQ(kn_addr_cmp(&p->ips[1], &a6), 0);
	ATF_REQUIRE_EQ(p->nports, 1);
	ATF_CHECK_STREQ(p->ports[0].name, "dns");
	ATF_CHECK_EQ(p->ports[0].port, 53);
	ATF_CHECK_EQ(p->ports[0].proto, KN_PROTO_UDP);
	kn_object_free(&o);
	json_decref(js);
}

ATF_TC_WITHOUT_HEAD(netpol_fields);
ATF_TC_BODY(netpol_fields, tc)
{
	json_t *js = load(NP("{'ingress':[{'from':[{'namespaceSelector':{}}],'ports':[{'port':"
			     "8080,'endPort':8090,'protocol':'UDP'},{'port':'http'}]}]}"));
	struct kn_object o;
	struct kn_err err;
	struct kn_netpol *np;

	ATF_REQUIRE_EQ(kn_decode_object(js, &o, &err), 0);
	ATF_REQUIRE_EQ(o.kind, KN_KIND_NETPOL);
	np = o.u.np;
	ATF_CHECK_STREQ(np->ns, "default");
	ATF_CHECK_STREQ(np->name, "x");
	ATF_CHECK(np->ingress && !np->egress);
	ATF_REQUIRE_EQ(np->nin, 1);
	ATF_CHECK_EQ(np->neg, 0);
	ATF_REQUIRE_EQ(np->in_rules[0].npeers, 1);
	/* Given but empty ({}) is not the same as not given (NULL). */
	ATF_CHECK(np->in_rules[0].peers[0].ns_sel != NULL);
	ATF_CHECK(np->in_rules[0].peers[0].pod_sel == NULL);
	ATF_CHECK(!np->in_rules[0].peers[0].has_ip_block);
	ATF_REQUIRE_EQ(np->in_rules[0].nports, 2);
	ATF_CHECK_EQ(np->in_rules[0].ports[0].proto, KN_PROTO_UDP);
	ATF_CHECK(np->in_rules[0].ports[0].has_port);
	ATF_CHECK(np->in_rules[0].ports[0].port_name == NULL);
	ATF_CHECK_EQ(np->in_rules[0].ports[0].port, 8080);
	ATF_CHECK_EQ(np->in_rules[0].ports[0].end_port, 8090);
	ATF_CHECK_EQ(np->in_rules[0].ports[1].proto, KN_PROTO_TCP);
	ATF_CHECK_STREQ(np->in_rules[0].ports[1].port_name, "http");
	kn_object_free(&o);
	json_decref(js);
}

/* A message never overflows its buffer, however long the names. */
ATF_TC_WITHOUT_HEAD(long_message);
ATF_TC_BODY(long_message, tc)
{
	struct strbuf sb;
	struct kn_object o;
	struct kn_err err;
	json_t *js;

	strbuf_init(&sb, 0);
	strbuf_puts(&sb, POD_HEAD "'metadata':{'name':'");
	for (int i = 0; i < 600; i++)
		strbuf_putc(&sb, 'a');
	strbuf_puts(&sb, "','labels':{'");
	for (int i = 0; i < 600; i++)
		strbuf_putc(&sb, 'b');
	strbuf_puts(&sb, "':'x'}}}");
	js = load(strbuf_str(&sb));
	ATF_CHECK_EQ(kn_decode_object(js, &o, &err), -EINVAL);
	ATF_CHECK_EQ(strlen(err.msg), KN_ERR_MAX - 1);
	ATF_CHECK(strncmp(err.msg, "Pod default/aaa", 15) == 0);
	json_decref(js);
	strbuf_free(&sb);
}

/* ------------------------------------------------------------ fields read */

/* Decodes js whole, and as the manifest reader builds it with only the
 * members kn_decode_fields lists: both must give the same. */
static void
check_fields(const json_t *js, const char *what)
{
	char *text = json_dumps(js, JSON_COMPACT | JSON_ENCODE_ANY), *whole, *pruned;
	struct kn_jsonrd *j = kn_jsonrd_new_buf(text, strlen(text), kn_decode_fields);
	json_t *v = NULL;

	ATF_REQUIRE_EQ_MSG(kn_jsonrd_next(j, NULL, NULL, &v), 1, "%s", what);
	whole = dump_decoded(js);
	pruned = dump_decoded(v);
	ATF_CHECK_MSG(strcmp(whole, pruned) == 0, "%s: %s\n  whole:  %s\n  pruned: %s", what, text,
		      whole, pruned);
	free(whole);
	free(pruned);
	json_decref(v);
	kn_jsonrd_free(j);
	free(text);
}

static int
check_fields_cb(void *ctx, json_t *obj, const char *where)
{
	(void)ctx;
	check_fields(obj, where);
	return 0;
}

/* Every case above, and the examples and golden manifests. */
ATF_TC_WITHOUT_HEAD(fields_suffice);
ATF_TC_BODY(fields_suffice, tc)
{
	static const char *const files[] = {
		"examples/00-default-deny.yaml", "examples/10-allow-dns.yaml",
		"examples/20-frontend.yaml",	 "examples/30-backend.yaml",
		"examples/40-db.yaml",		 "examples/cluster.yaml",
		"tests/golden/basic.yaml",	 "tests/golden/full.yaml",
		"tests/golden/guard.yaml",	 "tests/golden/empty.yaml",
	};
	/* The kind first: members after it are chosen by it. */
	static const char *const kind_first[] = {
		"{'kind':'Deployment','apiVersion':'apps/v1','metadata':{'name':'d'}}",
		"{'kind':'Deployment','metadata':{'name':'d'}}",
		"{'kind':'Pod','apiVersion':'v1','metadata':{'name':'p'},'spec':{'nodeName':'n'}}",
		"{'kind':'Pod','apiVersion':'v2','metadata':{'name':'p'}}",
		"{'kind':'Service','metadata':{'name':'kubernetes','namespace':'default'},"
		"'apiVersion':'v1','spec':{'clusterIP':'10.96.0.1','ports':[{'port':443}]}}",
		"{'kind':'PodList','apiVersion':'v1','items':[]}",
	};
	struct kn_err err;

	for (size_t i = 0; i < ARRAY_SIZE(kind_first); i++) {
		json_t *js = load(kind_first[i]);

		check_fields(js, "kind first");
		json_decref(js);
	}
	for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		json_t *js = load(valid_cases[i].json);

		check_fields(js, "valid case");
		json_decref(js);
	}
	for (size_t i = 0; i < ARRAY_SIZE(invalid_cases); i++) {
		json_t *js = load(invalid_cases[i].json);

		check_fields(js, "invalid case");
		json_decref(js);
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *path = xasprintf("%s/%s", KN_TOP_SRCDIR, files[i]);

		ATF_CHECK_EQ_MSG(kn_manifest_read_file(path, check_fields_cb, NULL, &err), 0, "%s",
				 err.msg);
		free(path);
	}
}

/* ------------------------------------------------------------ validators */

ATF_TC_WITHOUT_HEAD(validators);
ATF_TC_BODY(validators, tc)
{
	static const char *const good_keys[] = {
		"a",   "A", "app",	 "a.b_c-d", "example.com/a", "kubernetes.io/metadata.name",
		"a/b", "1", "x-y.z/Q_1", S63,
	};
	static const char *const bad_keys[] = {
		"",	    "-a", "a-",	    "a b",	     "_a",
		"/a",	    "a/", "a/b/c",  "Example.com/a", "a_b.com/c",
		"-a.com/b", S64,  "a..b/c", "a/" S64,
	};
	static const char *const good_values[] = {"", "a", "A-b_c.d", "1", S63};
	static const char *const bad_values[] = {"-", "a-", ".a", "a b", "a/b", S64};
	static const char *const good_labels[] = {"a", "a-b", "0", "9a", S63};
	static const char *const bad_labels[] = {"", "A", "a.b", "-a", "a-", "a_b", S64};
	static const char *const good_subdomains[] = {"a", "a.b", "a-b.c-d", "0.1", S63 "4.b"};
	static const char *const bad_subdomains[] = {"",   "A",	  "a..b", ".a",
						     "a.", "a_b", "-a.b", "a.-b"};
	static const char *const good_ports[] = {"http",   "a",	    "h2c",
						 "web-80", "a-b-c", "abcdefghijklmno"};
	static const char *const bad_ports[] = {
		"", "80", "HTTP", "a--b", "-a", "a-", "a_b", "abcdefghijklmnop", "a.b", "-"};
	char big[300];

	for (size_t i = 0; i < ARRAY_SIZE(good_keys); i++)
		ATF_CHECK_MSG(kn_valid_label_key(good_keys[i]), "key %s", good_keys[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_keys); i++)
		ATF_CHECK_MSG(!kn_valid_label_key(bad_keys[i]), "key %s", bad_keys[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good_values); i++)
		ATF_CHECK_MSG(kn_valid_label_value(good_values[i]), "value %s", good_values[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++)
		ATF_CHECK_MSG(!kn_valid_label_value(bad_values[i]), "value %s", bad_values[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good_labels); i++)
		ATF_CHECK_MSG(kn_valid_dns1123_label(good_labels[i]), "label %s", good_labels[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_labels); i++)
		ATF_CHECK_MSG(!kn_valid_dns1123_label(bad_labels[i]), "label %s", bad_labels[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good_subdomains); i++)
		ATF_CHECK_MSG(kn_valid_dns1123_subdomain(good_subdomains[i]), "subdomain %s",
			      good_subdomains[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_subdomains); i++)
		ATF_CHECK_MSG(!kn_valid_dns1123_subdomain(bad_subdomains[i]), "subdomain %s",
			      bad_subdomains[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good_ports); i++)
		ATF_CHECK_MSG(kn_valid_port_name(good_ports[i]), "port %s", good_ports[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad_ports); i++)
		ATF_CHECK_MSG(!kn_valid_port_name(bad_ports[i]), "port %s", bad_ports[i]);

	/* Length bounds: a subdomain of 253 characters, and a label key
	 * with a 253-character prefix, are the longest valid ones. */
	memset(big, 'a', sizeof(big));
	for (size_t i = 63; i < 253; i += 64)
		big[i] = '.';
	big[253] = '\0';
	ATF_CHECK(kn_valid_dns1123_subdomain(big));
	big[253] = '/';
	big[254] = 'k';
	big[255] = '\0';
	ATF_CHECK(kn_valid_label_key(big));
	big[253] = 'a';
	big[254] = '\0';
	ATF_CHECK(!kn_valid_dns1123_subdomain(big));
	big[254] = '/';
	big[255] = 'k';
	big[256] = '\0';
	ATF_CHECK(!kn_valid_label_key(big));
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, valid_objects);
	ATF_TP_ADD_TC(tp, invalid_objects);
	ATF_TP_ADD_TC(tp, ret_untouched_on_error);
	ATF_TP_ADD_TC(tp, namespace_label);
	ATF_TP_ADD_TC(tp, pod_fields);
	ATF_TP_ADD_TC(tp, netpol_fields);
	ATF_TP_ADD_TC(tp, long_message);
	ATF_TP_ADD_TC(tp, validators);
	ATF_TP_ADD_TC(tp, fields_suffice);
	return atf_no_error();
}
