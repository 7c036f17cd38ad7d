/* kubeconfig files and the in-cluster configuration. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kubeconf.h"
#include "manifest.h"
#include "util.h"

void
kn_kubeconf_free(struct kn_kubeconf *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->tls_server_name);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	/* Keys and tokens are secrets: do not leave them in freed memory. */
	if (c->key_pem)
		explicit_bzero(c->key_pem, c->key_pem_len);
	free(c->key_pem);
	if (c->token)
		explicit_bzero(c->token, strlen(c->token));
	free(c->token);
	free(c->token_file);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ base64 */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
kn_base64_decode(const char *s, char **ret, size_t *ret_len)
{
	size_t n = strlen(s), len = 0, pad = 0;
	unsigned int acc = 0, bits = 0;
	char *out = xmalloc(n / 4 * 3 + 4);
	int r = -EINVAL;

	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int v;

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad) /* data after padding */
			goto out;
		v = b64_value(c);
		if (v < 0)
			goto out;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* Six leftover bits cannot encode a byte; more than two pads is
	 * not base64. */
	if (bits >= 6 || pad > 2)
		goto out;
	out[len] = '\0';
	*ret = out;
	*ret_len = len;
	out = NULL;
	r = 0;
out:
	free(out);
	return r;
}

/* ------------------------------------------------------------ files */

/* Reads a whole file of at most max bytes.  0 or -errno. */
static int
read_small_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			r = -EMSGSIZE;
			goto out;
		}
	}
	if (!buf)
		buf = xmalloc(1);
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	if (buf)
		explicit_bzero(buf, cap);
	free(buf);
	close(fd);
	return r;
}

int
kn_token_read(const char *path, char **ret)
{
	char *buf, *s, *e;
	size_t len;
	int r;

	r = read_small_file(path, KN_TOKEN_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	s = buf;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	e = buf + len;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (e == s) {
		free(buf);
		return -ENODATA;
	}
	*ret = xstrndup(s, (size_t)(e - s));
	explicit_bzero(buf, len);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------ kubeconfig */

struct kc {
	const char *name; /* the file, for messages */
	const char *dir;
	struct kn_err *err;
};

/* Finds the element of a named list (clusters, contexts, users) called
 * name; *ret is its member (NULL when absent: jansson's getters take NULL
 * as an empty object, so "cluster: {}" and no cluster mean the same).
 * Returns false when there is no such element. */
static bool
named(json_t *root, const char *list, const char *name, const char *member, json_t **ret)
{
	json_t *arr = json_object_get(root, list), *e;
	size_t i;

	if (!json_is_array(arr))
		return false;
	json_array_foreach(arr, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && strcmp(n, name) == 0) {
			json_t *m = json_object_get(e, member);

			*ret = json_is_object(m) ? m : NULL;
			return true;
		}
	}
	return false;
}

/* A string field: 0 with *ret set (NULL when absent or empty), or
 * -EINVAL when it is not a string. */
static int
str_field(struct kc *k, json_t *obj, const char *where, const char *field, const char **ret)
{
	json_t *v = json_object_get(obj, field);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return kn_errf(k->err, -EINVAL, "%s: %s.%s: expected a string", k->name, where,
			       field);
	if (json_string_length(v))
		*ret = json_string_value(v);
	return 0;
}

/* Go's YAML reader (YAML 1.1) writes booleans as true/false but also
 * reads yes/no/on/off; accept what kubectl accepts. */
static int
bool_field(struct kc *k, json_t *obj, const char *where, const char *field, bool *ret)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
					  "on",	  "On",	  "ON",	  "y",	 "Y"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
					 "off",	  "Off",   "OFF",   "n",  "N"};
	json_t *v = json_object_get(obj, field);
	const char *s;

	*ret = false;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*ret = json_is_true(v);
		return 0;
	}
	s = json_string_value(v);
	for (size_t i = 0; s && i < ARRAY_SIZE(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return kn_errf(k->err, -EINVAL, "%s: %s.%s: expected true or false", k->name, where, field);
}

/* A path field, made absolute relative to the kubeconfig's folder. */
static char *
resolve(struct kc *k, const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/' || !k->dir)
		return xstrdup(path);
	return xasprintf("%s/%s", k->dir, path);
}

static int
data_field(struct kc *k, json_t *obj, const char *where, const char *field, char **ret,
	   size_t *ret_len)
{
	const char *s;
	int r;

	r = str_field(k, obj, where, field, &s);
	if (r < 0 || !s)
		return r;
	if (kn_base64_decode(s, ret, ret_len) < 0)
		return kn_errf(k->err, -EINVAL, "%s: %s.%s: not valid base64", k->name, where,
			       field);
	return 0;
}

static int
parse_server(struct kc *k, const char *where, const char *server, struct kn_kubeconf *c)
{
	size_t n;

	if (!server)
		return kn_errf(k->err, -EINVAL, "%s: %s.server: required value", k->name, where);
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return kn_errf(k->err, -EINVAL, "%s: %s.server: '%s' is not an http(s) URL",
			       k->name, where, server);
	c->server = xstrdup(server);
	/* Request paths are appended: "https://h:6443/" + "/api/v1/pods". */
	n = strlen(c->server);
	while (n > 0 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	return 0;
}

static int
parse_cluster(struct kc *k, json_t *cl, const char *where, struct kn_kubeconf *c)
{
	const char *server, *ca, *sni;
	int r;

	if ((r = str_field(k, cl, where, "server", &server)) < 0 ||
	    (r = parse_server(k, where, server, c)) < 0 ||
	    (r = str_field(k, cl, where, "certificate-authority", &ca)) < 0 ||
	    (r = data_field(k, cl, where, "certificate-authority-data", &c->ca_pem,
			    &c->ca_pem_len)) < 0 ||
	    (r = str_field(k, cl, where, "tls-server-name", &sni)) < 0 ||
	    (r = bool_field(k, cl, where, "insecure-skip-tls-verify", &c->insecure)) < 0)
		return r;
	/* certificate-authority-data wins over the file, as in client-go. */
	if (!c->ca_pem)
		c->ca_file = resolve(k, ca);
	if (sni)
		c->tls_server_name = xstrdup(sni);
	if (c->insecure && (c->ca_file || c->ca_pem))
		return kn_errf(k->err, -EINVAL,
			       "%s: %s: certificate-authority and insecure-skip-tls-verify "
			       "exclude each other",
			       k->name, where);
	return 0;
}

static int
parse_user(struct kc *k, json_t *u, const char *where, struct kn_kubeconf *c)
{
	const char *token, *token_file, *cert, *key, *s;
	int r;

	if (json_object_get(u, "exec") && !json_is_null(json_object_get(u, "exec")))
		return kn_errf(k->err, -ENOTSUP,
			       "%s: %s.exec: credential plugins are not supported; give the user a "
			       "token, tokenFile or client certificate",
			       k->name, where);
	if (json_object_get(u, "auth-provider") &&
	    !json_is_null(json_object_get(u, "auth-provider")))
		return kn_errf(
			k->err, -ENOTSUP,
			"%s: %s.auth-provider: auth provider plugins are not supported; give "
			"the user a token, tokenFile or client certificate",
			k->name, where);
	if ((r = str_field(k, u, where, "username", &s)) < 0)
		return r;
	if (s)
		return kn_errf(k->err, -ENOTSUP,
			       "%s: %s.username: basic authentication is not supported (Kubernetes "
			       "removed it in 1.19)",
			       k->name, where);
	if ((r = str_field(k, u, where, "token", &token)) < 0 ||
	    (r = str_field(k, u, where, "tokenFile", &token_file)) < 0 ||
	    (r = str_field(k, u, where, "client-certificate", &cert)) < 0 ||
	    (r = str_field(k, u, where, "client-key", &key)) < 0 ||
	    (r = data_field(k, u, where, "client-certificate-data", &c->cert_pem,
			    &c->cert_pem_len)) < 0 ||
	    (r = data_field(k, u, where, "client-key-data", &c->key_pem, &c->key_pem_len)) < 0)
		return r;
	if (token)
		c->token = xstrdup(token);
	c->token_file = resolve(k, token_file);
	/* The -data fields win over the files, as in client-go. */
	if (!c->cert_pem)
		c->cert_file = resolve(k, cert);
	if (!c->key_pem)
		c->key_file = resolve(k, key);
	if (!!(c->cert_file || c->cert_pem) != !!(c->key_file || c->key_pem))
		return kn_errf(
			k->err, -EINVAL,
			"%s: %s: a client certificate needs its key, and a key its certificate",
			k->name, where);
	return 0;
}

int
kn_kubeconf_parse(const char *buf, size_t len, const char *name, const char *dir,
		  const char *context, struct kn_kubeconf *ret, struct kn_err *err)
{
	struct kc k = {.name = name, .dir = dir, .err = err};
	struct kn_kubeconf c;
	json_t *docs, *root, *ctx, *cl, *u;
	const char *ctxname = context, *clname, *uname;
	char where[300];
	int r = -EINVAL;

	memset(&c, 0, sizeof(c));
	docs = kn_yaml_parse(buf, len, name, err);
	if (!docs)
		return -EINVAL;
	root = json_array_get(docs, 0);
	if (!json_is_object(root)) {
		kn_errf(err, -EINVAL, "%s: not a kubeconfig (expected a mapping)", name);
		goto out;
	}
	if (!ctxname)
		ctxname = json_string_value(json_object_get(root, "current-context"));
	if (!ctxname || !*ctxname) {
		kn_errf(err, -EINVAL, "%s: no current-context; name one with --context", name);
		goto out;
	}
	if (!named(root, "contexts", ctxname, "context", &ctx)) {
		kn_errf(err, -ENOENT, "%s: context '%s' not found", name, ctxname);
		r = -ENOENT;
		goto out;
	}
	snprintf(where, sizeof(where), "contexts[%s].context", ctxname);
	if ((r = str_field(&k, ctx, where, "cluster", &clname)) < 0 ||
	    (r = str_field(&k, ctx, where, "user", &uname)) < 0)
		goto out;
	r = -EINVAL;
	if (!clname) {
		kn_errf(err, -EINVAL, "%s: %s.cluster: required value", name, where);
		goto out;
	}
	if (!named(root, "clusters", clname, "cluster", &cl)) {
		kn_errf(err, -ENOENT, "%s: cluster '%s' (of context '%s') not found", name, clname,
			ctxname);
		r = -ENOENT;
		goto out;
	}
	snprintf(where, sizeof(where), "clusters[%s].cluster", clname);
	if ((r = parse_cluster(&k, cl, where, &c)) < 0)
		goto out;
	/* No user: anonymous, as with kubectl proxy on localhost. */
	if (uname) {
		if (!named(root, "users", uname, "user", &u)) {
			kn_errf(err, -ENOENT, "%s: user '%s' (of context '%s') not found", name,
				uname, ctxname);
			r = -ENOENT;
			goto out;
		}
		snprintf(where, sizeof(where), "users[%s].user", uname);
		if ((r = parse_user(&k, u, where, &c)) < 0)
			goto out;
	}
	c.origin = xasprintf("kubeconfig %s, context %s", name, ctxname);
	*ret = c;
	memset(&c, 0, sizeof(c));
	r = 0;
out:
	kn_kubeconf_free(&c);
	json_decref(docs);
	return r;
}

int
kn_kubeconf_load(const char *path, const char *context, struct kn_kubeconf *ret, struct kn_err *err)
{
	char *buf = NULL, *dir = NULL, *slash;
	size_t len;
	int r;

	r = read_small_file(path, KN_KUBECONF_MAX_BYTES, &buf, &len);
	if (r < 0)
		return kn_errf(err, r, "%s: %s", path,
			       r == -EMSGSIZE ? "larger than 4 MiB" : strerror(-r));
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	r = kn_kubeconf_parse(buf, len, path, dir, context, ret, err);
	/* Embedded keys and tokens: do not leave them in freed memory. */
	explicit_bzero(buf, len);
	free(buf);
	free(dir);
	return r;
}

int
kn_kubeconf_incluster(const char *host, const char *port, const char *sadir,
		      struct kn_kubeconf *ret, struct kn_err *err)
{
	struct kn_kubeconf c;
	char *token = NULL, *ca;
	char *end;
	long p;
	int r;

	if (!host || !*host)
		return kn_errf(err, -ENOENT, "KUBERNETES_SERVICE_HOST is not set: not in a pod");
	errno = 0;
	p = port ? strtol(port, &end, 10) : -1;
	if (!port || errno || end == port || *end || p < 1 || p > 65535)
		return kn_errf(err, -EINVAL, "KUBERNETES_SERVICE_PORT '%s' is not a port number",
			       port ? port : "");
	memset(&c, 0, sizeof(c));
	c.token_file = xasprintf("%s/token", sadir);
	r = kn_token_read(c.token_file, &token);
	if (r < 0) {
		kn_errf(err, r, "in-cluster: %s: %s", c.token_file,
			r == -ENODATA ? "empty" : strerror(-r));
		kn_kubeconf_free(&c);
		return r;
	}
	explicit_bzero(token, strlen(token));
	free(token);
	/* An IPv6 address needs brackets in a URL. */
	c.server = xasprintf(strchr(host, ':') ? "https://[%s]:%ld" : "https://%s:%ld", host, p);
	ca = xasprintf("%s/ca.crt", sadir);
	/* Without the CA, verification against the system's roots fails
	 * with a clear TLS error, as client-go's does. */
	if (access(ca, R_OK) == 0)
		c.ca_file = ca;
	else
		free(ca);
	c.origin = xstrdup("in-cluster configuration");
	*ret = c;
	return 0;
}
