/*
 * kubeconfig.h: read a kubeconfig file the way client-go's clientcmd does,
 * for the one thing the agent needs: how to reach and authenticate to the
 * apiserver.
 *
 * current-context -> contexts[name].context -> clusters[cluster].cluster and
 * users[user].user. Supported: server, certificate-authority(-data),
 * insecure-skip-tls-verify, tls-server-name, proxy-url; client-certificate
 * (-data), client-key(-data), token, tokenFile. Relative paths are resolved
 * against the kubeconfig's directory. *-data blobs are base64-decoded into
 * memory and never written to disk. exec and auth-provider users, basic auth
 * and impersonation are rejected with an error saying so. As in client-go's
 * validation, a file and its -data twin both set, a CA with
 * insecure-skip-tls-verify, a certificate without its key (or the reverse)
 * and duplicate names are errors; referenced files must be readable.
 */
#ifndef KC_KUBECONFIG_H
#define KC_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

#define KUBECONFIG_MAX (4u * 1024 * 1024)

/* PEM material: a file to read (path) or in-memory bytes (data), or neither. */
struct kubeconfig_pem {
	char *path;          /* absolute or as written if already absolute; NULL if none */
	unsigned char *data; /* decoded *-data, NUL-terminated for convenience; NULL if none */
	size_t len;          /* bytes of data, without the NUL */
};

struct kubeconfig {
	char *path;    /* the file read */
	char *context; /* names chosen, for logs */
	char *cluster;
	char *user;
	char *server;          /* absolute URL ("https://" added when the scheme is missing),
	                          no trailing '/' */
	char *tls_server_name; /* NULL: use the server's host name */
	char *proxy_url;       /* NULL: none */
	bool insecure_skip_tls_verify;
	struct kubeconfig_pem ca;          /* empty: system trust store */
	struct kubeconfig_pem client_cert; /* set iff client_key is */
	struct kubeconfig_pem client_key;
	char *token;      /* bearer token, or NULL */
	char *token_file; /* bearer token file (re-read by the client, wins over token
	                     as in client-go's rest.Config), or NULL */
};

/* Read and resolve path. Errors name the file and the key ("users[0].user.exec"). */
kc_code kubeconfig_load(const char *path, struct kubeconfig **out, struct kc_error *err);

/* The same from bytes already read; path names them and anchors relative paths. */
kc_code kubeconfig_parse(const char *data, size_t len, const char *path, struct kubeconfig **out,
                         struct kc_error *err);

/* A deep copy of src (for a client that outlives the loaded file). */
kc_code kubeconfig_dup(const struct kubeconfig *src, struct kubeconfig **out, struct kc_error *err);

/*
 * The subject common name of the client certificate (the first CERTIFICATE
 * of the file or -data blob), e.g. "system:node:worker-1". *cn is NULL when
 * there is no client certificate or it has no CN; a file that holds no
 * certificate is KC_EINVAL.
 */
kc_code kubeconfig_client_cn(const struct kubeconfig *kc, char **cn, struct kc_error *err);

void kubeconfig_free(struct kubeconfig *kc); /* wipes the token; NULL is fine */

#endif
