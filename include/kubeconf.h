/* Where the API server is and how to authenticate to it, as kubectl
 * finds out: a kubeconfig file (current-context or a named context), or
 * the in-cluster configuration of a pod (KUBERNETES_SERVICE_HOST/PORT
 * and the mounted service account token and CA).
 *
 * Only what a watcher needs is kept: the server URL, the TLS material
 * (files by path, so that rotated files are read again by the next
 * connection, or PEM data from the *-data fields) and the bearer token
 * (static, or a file read again about once a minute and after a 401).
 * exec and auth-provider plugins are refused with a clear error.
 */
#ifndef KN_KUBECONF_H
#define KN_KUBECONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Largest kubeconfig accepted: real ones are a few KiB, with embedded
 * certificates a few tens; the bound keeps a wrong path (a log file)
 * from being read whole. */
#define KN_KUBECONF_MAX_BYTES (4u * 1024 * 1024)
/* Largest token file: service account tokens are JWTs of 1-2 KiB. */
#define KN_TOKEN_MAX_BYTES (64u * 1024)

/* Where a pod finds its service account's credentials. */
#define KN_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kn_kubeconf {
	char *server;	       /* scheme://host[:port][/prefix], no trailing '/' */
	char *tls_server_name; /* name to verify (and send as SNI), or NULL */
	char *ca_file;	       /* NULL: ca_pem, or the system's roots */
	char *ca_pem;	       /* certificate-authority-data, decoded */
	size_t ca_pem_len;
	char *cert_file, *key_file; /* client certificate and key, by path */
	char *cert_pem, *key_pem;   /* ... or as data */
	size_t cert_pem_len, key_pem_len;
	char *token;	  /* static bearer token */
	char *token_file; /* read again periodically; wins over token */
	bool insecure;	  /* insecure-skip-tls-verify: true */
	char *origin;	  /* for messages: "kubeconfig FILE, context NAME" or "in-cluster" */
};

void kn_kubeconf_free(struct kn_kubeconf *c); /* members, not c; NULL-safe */

/* Reads a kubeconfig (YAML or JSON).  context NULL: current-context.
 * Relative paths are taken relative to the file's folder.  Returns 0 or
 * -errno with err->msg naming the file and the field. */
int kn_kubeconf_load(const char *path, const char *context, struct kn_kubeconf *ret,
		     struct kn_err *err);
/* The same from a buffer; dir is the folder relative paths start from. */
int kn_kubeconf_parse(const char *buf, size_t len, const char *name, const char *dir,
		      const char *context, struct kn_kubeconf *ret, struct kn_err *err);

/* In-cluster configuration from host and port (the values of
 * KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; an IPv6 address
 * is put in brackets) and the service account folder sadir (token,
 * ca.crt).  Returns 0, -ENOENT when host is NULL or empty, or -errno with
 * err->msg set. */
int kn_kubeconf_incluster(const char *host, const char *port, const char *sadir,
			  struct kn_kubeconf *ret, struct kn_err *err);

/* Reads a token file: the whole file minus surrounding white space,
 * bounded by KN_TOKEN_MAX_BYTES.  Returns 0 with *ret allocated, or
 * -errno (-EMSGSIZE when too large, -ENODATA when empty). */
int kn_token_read(const char *path, char **ret);

/* Decodes standard base64 (padding optional, white space ignored).
 * Returns 0 with *ret allocated and NUL-terminated, or -EINVAL. */
int kn_base64_decode(const char *s, char **ret, size_t *ret_len);

#endif
