/*
 * kubeconfig.c: client-go's clientcmd resolution of a kubeconfig file, cut
 * down to the one context the agent uses (see kubeconfig.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base64.h"
#include "doc.h"
#include "kc_buf.h"
#include "kc_path.h"
#include "kubeconfig.h"

/* User fields that select an authentication method we do not implement. */
static const struct {
	const char *key;
	const char *why;
} unsupported_user_keys[] = {
    {"exec", "exec credential plugins are not supported"},
    {"auth-provider", "auth-provider plugins are not supported"},
    {"username", "basic authentication is not supported"},
    {"password", "basic authentication is not supported"},
    {"as", "impersonation is not supported"},
    {"as-uid", "impersonation is not supported"},
    {"as-groups", "impersonation is not supported"},
    {"as-user-extra", "impersonation is not supported"},
};

/* Parsing state: the file (for relative paths) and the document. */
struct kc_parse {
	const char *path;
	json_t *doc;
};

static void pem_free(struct kubeconfig_pem *p)
{
	free(p->path);
	/* client-key-data is a private key: do not leave it in freed heap. */
	if (p->data != NULL)
		explicit_bzero(p->data, p->len);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

void kubeconfig_free(struct kubeconfig *kc)
{
	if (kc == NULL)
		return;
	free(kc->path);
	free(kc->context);
	free(kc->cluster);
	free(kc->user);
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->proxy_url);
	pem_free(&kc->ca);
	pem_free(&kc->client_cert);
	pem_free(&kc->client_key);
	/* The token is a credential: do not leave it in freed heap. */
	if (kc->token != NULL)
		explicit_bzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	free(kc);
}

static kc_code dup_into(char **slot, const char *s, struct kc_error *err)
{
	if ((*slot = strdup(s)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

static kc_code dup_opt(char **slot, const char *s, struct kc_error *err)
{
	*slot = NULL;
	return s != NULL ? dup_into(slot, s, err) : KC_OK;
}

static kc_code pem_dup(struct kubeconfig_pem *dst, const struct kubeconfig_pem *src,
                       struct kc_error *err)
{
	kc_code rc;

	if ((rc = dup_opt(&dst->path, src->path, err)) != KC_OK)
		return rc;
	dst->len = src->len;
	if (src->data == NULL)
		return KC_OK;
	if ((dst->data = malloc(src->len + 1)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	memcpy(dst->data, src->data, src->len);
	dst->data[src->len] = '\0';
	return KC_OK;
}

kc_code kubeconfig_dup(const struct kubeconfig *src, struct kubeconfig **out, struct kc_error *err)
{
	struct kubeconfig *kc;
	kc_code rc;

	if ((*out = kc = calloc(1, sizeof(*kc))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	kc->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
	if ((rc = dup_opt(&kc->path, src->path, err)) != KC_OK ||
	    (rc = dup_opt(&kc->context, src->context, err)) != KC_OK ||
	    (rc = dup_opt(&kc->cluster, src->cluster, err)) != KC_OK ||
	    (rc = dup_opt(&kc->user, src->user, err)) != KC_OK ||
	    (rc = dup_opt(&kc->server, src->server, err)) != KC_OK ||
	    (rc = dup_opt(&kc->tls_server_name, src->tls_server_name, err)) != KC_OK ||
	    (rc = dup_opt(&kc->proxy_url, src->proxy_url, err)) != KC_OK ||
	    (rc = pem_dup(&kc->ca, &src->ca, err)) != KC_OK ||
	    (rc = pem_dup(&kc->client_cert, &src->client_cert, err)) != KC_OK ||
	    (rc = pem_dup(&kc->client_key, &src->client_key, err)) != KC_OK ||
	    (rc = dup_opt(&kc->token, src->token, err)) != KC_OK ||
	    (rc = dup_opt(&kc->token_file, src->token_file, err)) != KC_OK) {
		kubeconfig_free(kc);
		*out = NULL;
		return rc;
	}
	return KC_OK;
}

/*
 * *out = the string at obj[key], NULL when absent, null or "" (client-go
 * treats an empty value as unset). where names obj for errors ("" at the top).
 */
static kc_code opt_string(json_t *obj, const char *where, const char *key, const char **out,
                          struct kc_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *dot = where[0] != '\0' ? "." : "";

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return KC_OK;
	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "%s%s%s: expected a string", where, dot, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return kc_fail(err, KC_EINVAL, "%s%s%s: contains a NUL byte", where, dot, key);
	if (json_string_length(v) > 0)
		*out = json_string_value(v);
	return KC_OK;
}

static kc_code opt_bool(json_t *obj, const char *where, const char *key, bool *out,
                        struct kc_error *err)
{
	json_t *v = json_object_get(obj, key);

	*out = false;
	if (v == NULL || json_is_null(v))
		return KC_OK;
	if (!json_is_boolean(v))
		return kc_fail(err, KC_EINVAL, "%s.%s: expected true or false", where, key);
	*out = json_is_true(v);
	return KC_OK;
}

/*
 * Find the entry called name in the named list (clusters, contexts, users:
 * [{name, <inner>: {...}}]) and return its inner mapping and the path naming
 * it ("users[2].user"). Every entry is checked: a nameless entry or a
 * duplicate name is an error, as in client-go's conversion.
 */
static kc_code find_named(json_t *doc, const char *list, const char *inner, const char *name,
                          json_t **out, char *where, size_t wheresz, struct kc_error *err)
{
	json_t *arr = json_object_get(doc, list), *entry, *nm, *other;
	size_t i, j, found = 0;
	bool have = false;

	if (arr != NULL && !json_is_null(arr) && !json_is_array(arr))
		return kc_fail(err, KC_EINVAL, "%s: expected a list", list);
	json_array_foreach(arr, i, entry)
	{
		nm = json_is_object(entry) ? json_object_get(entry, "name") : NULL;
		if (!json_is_string(nm))
			return kc_fail(err, KC_EINVAL, "%s[%zu].name: expected a string", list, i);
		for (j = 0; j < i; j++) {
			other = json_object_get(json_array_get(arr, j), "name");
			if (strcmp(json_string_value(other), json_string_value(nm)) == 0)
				return kc_fail(err, KC_EINVAL,
				               "%s[%zu].name: duplicate name \"%s\" (also %s[%zu])",
				               list, i, json_string_value(nm), list, j);
		}
		if (strcmp(json_string_value(nm), name) == 0) {
			found = i;
			have = true;
		}
	}
	if (!have)
		return kc_fail(err, KC_EINVAL, "%s: no entry named \"%s\"", list, name);
	snprintf(where, wheresz, "%s[%zu].%s", list, found, inner);
	*out = json_object_get(json_array_get(arr, found), inner);
	if (!json_is_object(*out))
		return kc_fail(err, KC_EINVAL, "%s: expected a mapping", where);
	return KC_OK;
}

/* A file a credential points at must be readable now, as client-go checks. */
static kc_code check_readable(const char *where, const char *key, const char *path,
                              struct kc_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno,
		                     "%s.%s: %s", where, key, path);
	close(fd);
	return KC_OK;
}

/* A path field: made absolute against the kubeconfig's directory and checked. */
static kc_code resolve_file(const struct kc_parse *p, const char *where, const char *key,
                            const char *value, char **out, struct kc_error *err)
{
	kc_code rc;

	if ((rc = kc_path_beside(p->path, value, out, err)) != KC_OK)
		return rc;
	if ((rc = check_readable(where, key, *out, err)) != KC_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * PEM material from "<file_key>" or "<file_key>-data": at most one of them,
 * as client-go's validation demands. *-data is decoded in memory.
 */
static kc_code read_pem(const struct kc_parse *p, json_t *obj, const char *where,
                        const char *file_key, struct kubeconfig_pem *out, struct kc_error *err)
{
	char data_key[64];
	const char *file, *data;
	kc_code rc;

	snprintf(data_key, sizeof(data_key), "%s-data", file_key);
	if ((rc = opt_string(obj, where, file_key, &file, err)) != KC_OK ||
	    (rc = opt_string(obj, where, data_key, &data, err)) != KC_OK)
		return rc;
	if (file != NULL && data != NULL)
		return kc_fail(err, KC_EINVAL, "%s: both %s and %s are set; give one", where,
		               file_key, data_key);
	if (file != NULL)
		return resolve_file(p, where, file_key, file, &out->path, err);
	if (data == NULL)
		return KC_OK;
	if ((rc = base64_decode(data, strlen(data), &out->data, &out->len, err)) != KC_OK)
		return kc_error_prefix(err, "%s.%s", where, data_key);
	/* A common mistake is base64 applied twice; catch it here, not in a TLS error. */
	if (memmem(out->data, out->len, "-----BEGIN ", strlen("-----BEGIN ")) == NULL) {
		pem_free(out);
		return kc_fail(err, KC_EINVAL, "%s.%s: does not decode to PEM data", where,
		               data_key);
	}
	return KC_OK;
}

/* server as client-go defaults it: a bare host:port means https. */
static kc_code normalise_server(const char *where, const char *server, char **out,
                                struct kc_error *err)
{
	const char *sep = strstr(server, "://"), *host;
	size_t len;

	if (sep == NULL) {
		if (asprintf(out, "https://%s", server) < 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	} else if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
		return kc_fail(err, KC_EINVAL, "%s.server: %s: scheme must be https or http", where,
		               server);
	} else if ((*out = strdup(server)) == NULL) {
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	/* *out starts with "http://" or "https://"; the host follows the scheme. */
	host = strstr(*out, "://") + 3;
	len = strlen(*out);
	while (len > (size_t)(host - *out) && (*out)[len - 1] == '/')
		(*out)[--len] = '\0';
	if (*host == '\0' || *host == '/' || strpbrk(*out, " \t\r\n") != NULL) {
		free(*out);
		*out = NULL;
		return kc_fail(err, KC_EINVAL, "%s.server: %s: not a valid URL", where, server);
	}
	return KC_OK;
}

static kc_code read_cluster(const struct kc_parse *p, const char *name, struct kubeconfig *kc,
                            struct kc_error *err)
{
	char where[128];
	const char *server, *tls_name, *proxy;
	json_t *cl;
	kc_code rc;

	if ((rc = find_named(p->doc, "clusters", "cluster", name, &cl, where, sizeof(where),
	                     err)) != KC_OK)
		return rc;
	if ((rc = opt_string(cl, where, "server", &server, err)) != KC_OK ||
	    (rc = opt_string(cl, where, "tls-server-name", &tls_name, err)) != KC_OK ||
	    (rc = opt_string(cl, where, "proxy-url", &proxy, err)) != KC_OK ||
	    (rc = opt_bool(cl, where, "insecure-skip-tls-verify", &kc->insecure_skip_tls_verify,
	                   err)) != KC_OK)
		return rc;
	if (server == NULL)
		return kc_fail(err, KC_EINVAL, "%s.server: not set", where);
	if ((rc = normalise_server(where, server, &kc->server, err)) != KC_OK)
		return rc;
	if (tls_name != NULL && (rc = dup_into(&kc->tls_server_name, tls_name, err)) != KC_OK)
		return rc;
	if (proxy != NULL && (rc = dup_into(&kc->proxy_url, proxy, err)) != KC_OK)
		return rc;
	if ((rc = read_pem(p, cl, where, "certificate-authority", &kc->ca, err)) != KC_OK)
		return rc;
	if (kc->insecure_skip_tls_verify && (kc->ca.path != NULL || kc->ca.data != NULL))
		return kc_fail(err, KC_EINVAL,
		               "%s: insecure-skip-tls-verify and a certificate authority are both "
		               "set; give one",
		               where);
	return KC_OK;
}

static kc_code read_user(const struct kc_parse *p, const char *name, struct kubeconfig *kc,
                         struct kc_error *err)
{
	char where[128];
	const char *token, *token_file;
	json_t *u;
	size_t i;
	kc_code rc;

	if ((rc = find_named(p->doc, "users", "user", name, &u, where, sizeof(where), err)) !=
	    KC_OK)
		return rc;
	for (i = 0; i < sizeof(unsupported_user_keys) / sizeof(unsupported_user_keys[0]); i++) {
		json_t *v = json_object_get(u, unsupported_user_keys[i].key);

		if (v != NULL && !json_is_null(v))
			return kc_fail(err, KC_EINVAL,
			               "%s.%s: %s; use a client certificate, a token or a "
			               "tokenFile",
			               where, unsupported_user_keys[i].key,
			               unsupported_user_keys[i].why);
	}
	if ((rc = read_pem(p, u, where, "client-certificate", &kc->client_cert, err)) != KC_OK ||
	    (rc = read_pem(p, u, where, "client-key", &kc->client_key, err)) != KC_OK)
		return rc;
	if ((kc->client_cert.path || kc->client_cert.data) !=
	    (kc->client_key.path || kc->client_key.data))
		return kc_fail(err, KC_EINVAL, "%s: %s is set but %s is not", where,
		               kc->client_key.path || kc->client_key.data ? "client-key"
		                                                          : "client-certificate",
		               kc->client_key.path || kc->client_key.data ? "client-certificate"
		                                                          : "client-key");
	if ((rc = opt_string(u, where, "token", &token, err)) != KC_OK ||
	    (rc = opt_string(u, where, "tokenFile", &token_file, err)) != KC_OK)
		return rc;
	if (token != NULL) {
		if (strpbrk(token, "\r\n") != NULL)
			return kc_fail(err, KC_EINVAL, "%s.token: contains a line break", where);
		if ((rc = dup_into(&kc->token, token, err)) != KC_OK)
			return rc;
	}
	if (token_file != NULL &&
	    (rc = resolve_file(p, where, "tokenFile", token_file, &kc->token_file, err)) != KC_OK)
		return rc;
	return KC_OK;
}

static kc_code read_context(const struct kc_parse *p, struct kubeconfig *kc, struct kc_error *err)
{
	char where[128];
	const char *current, *cluster, *user;
	json_t *ctx;
	kc_code rc;

	if ((rc = opt_string(p->doc, "", "current-context", &current, err)) != KC_OK)
		return rc;
	if (current == NULL)
		return kc_fail(err, KC_EINVAL, "current-context: not set");
	if ((rc = dup_into(&kc->context, current, err)) != KC_OK)
		return rc;
	if ((rc = find_named(p->doc, "contexts", "context", current, &ctx, where, sizeof(where),
	                     err)) != KC_OK)
		return rc;
	if ((rc = opt_string(ctx, where, "cluster", &cluster, err)) != KC_OK ||
	    (rc = opt_string(ctx, where, "user", &user, err)) != KC_OK)
		return rc;
	if (cluster == NULL)
		return kc_fail(err, KC_EINVAL, "%s.cluster: not set", where);
	if ((rc = dup_into(&kc->cluster, cluster, err)) != KC_OK ||
	    (rc = read_cluster(p, cluster, kc, err)) != KC_OK)
		return rc;
	/* A context without a user is anonymous access; client-go allows it. */
	if (user == NULL)
		return KC_OK;
	if ((rc = dup_into(&kc->user, user, err)) != KC_OK)
		return rc;
	return read_user(p, user, kc, err);
}

kc_code kubeconfig_parse(const char *data, size_t len, const char *path, struct kubeconfig **out,
                         struct kc_error *err)
{
	struct kc_parse p = {.path = path};
	struct kubeconfig *kc;
	json_t *docs = NULL, *kind;
	kc_code rc;

	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if ((rc = dup_into(&kc->path, path, err)) != KC_OK)
		goto fail;
	if ((rc = doc_parse(data, len, path, &docs, err)) != KC_OK)
		goto fail; /* the codec names the file already */
	if (json_array_size(docs) != 1 || !json_is_object(json_array_get(docs, 0))) {
		rc = kc_fail(err, KC_EINVAL, "expected one kubeconfig mapping");
		goto fail_named;
	}
	p.doc = json_array_get(docs, 0);
	kind = json_object_get(p.doc, "kind");
	if (kind != NULL && (!json_is_string(kind) || strcmp(json_string_value(kind), "Config"))) {
		rc = kc_fail(err, KC_EINVAL, "kind: expected Config");
		goto fail_named;
	}
	if ((rc = read_context(&p, kc, err)) != KC_OK)
		goto fail_named;
	json_decref(docs);
	*out = kc;
	return KC_OK;
fail_named:
	kc_error_prefix(err, "%s", path);
fail:
	json_decref(docs);
	kubeconfig_free(kc);
	return rc;
}

kc_code kubeconfig_load(const char *path, struct kubeconfig **out, struct kc_error *err)
{
	struct kc_buf buf;
	kc_code rc;

	kc_buf_init(&buf, KUBECONFIG_MAX);
	if ((rc = kc_buf_read_file(&buf, path, err)) == KC_OK)
		rc = kubeconfig_parse(buf.data != NULL ? buf.data : "", buf.len, path, out, err);
	else
		kc_error_prefix(err, "kubeconfig");
	/* The file may hold a token or a private key. */
	if (buf.data != NULL)
		explicit_bzero(buf.data, buf.len);
	kc_buf_free(&buf);
	return rc;
}

kc_code kubeconfig_client_cn(const struct kubeconfig *kc, char **cn, struct kc_error *err)
{
	const char *what =
	    kc->client_cert.path != NULL ? kc->client_cert.path : "client-certificate-data";
	unsigned char *utf8 = NULL;
	X509_NAME_ENTRY *entry;
	X509 *cert = NULL;
	BIO *bio;
	int idx, len;
	kc_code rc = KC_OK;

	*cn = NULL;
	if (kc->client_cert.path == NULL && kc->client_cert.data == NULL)
		return KC_OK;
	bio = kc->client_cert.data != NULL
	          ? BIO_new_mem_buf(kc->client_cert.data, (int)kc->client_cert.len)
	          : BIO_new_file(kc->client_cert.path, "r");
	if (bio == NULL)
		return kc_fail(err, KC_EIO, "%s: cannot be read", what);
	/* The first CERTIFICATE block: the leaf, also in a cert+key bundle. */
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		rc = kc_fail(err, KC_EINVAL, "%s: no PEM certificate", what);
		goto out;
	}
	idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert), NID_commonName, -1);
	if (idx < 0)
		goto out; /* no CN: *cn stays NULL */
	entry = X509_NAME_get_entry(X509_get_subject_name(cert), idx);
	if ((len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry))) < 0) {
		rc = kc_fail(err, KC_EINVAL, "%s: subject CN is not text", what);
		goto out;
	}
	if (memchr(utf8, '\0', (size_t)len) != NULL)
		rc = kc_fail(err, KC_EINVAL, "%s: subject CN holds a NUL byte", what);
	else if ((*cn = strndup((const char *)utf8, (size_t)len)) == NULL)
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
out:
	OPENSSL_free(utf8);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}
