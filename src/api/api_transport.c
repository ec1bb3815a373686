/*
 * api_transport.c: URLs, TLS, credentials and the shared connection pool of
 * the api layer (see api_transport.h). Every request of the agent starts in
 * api_transport_easy, so the policy that protects a connection (no TLS
 * session resumption, CA re-read, keepalive, timeouts) lives in one place.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api_client.h"
#include "api_transport.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "kc_names.h"
#include "version.h"

#define MAX_TOKEN_FILE    (64u * 1024)
#define KEEPALIVE_IDLE_S  15
#define KEEPALIVE_INTVL_S 5
#define KEEPALIVE_CNT     3

/* Count every TCP connection libcurl opens (the figure the apiserver pays for). */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct api_transport *t = ud;
	curl_socket_t fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);

	if (fd != CURL_SOCKET_BAD && purpose == CURLSOCKTYPE_IPCXN)
		t->connections++;
	return fd;
}

/*
 * The base URL and, with tls-server-name, the CONNECT_TO mapping: libcurl
 * sends SNI and verifies the certificate against the URL's host name, so the
 * URL carries tls-server-name and CONNECT_TO routes it to the real address.
 */
static kc_code setup_urls(struct api_transport *t, const char *server, const char *tls_name,
                          struct kc_error *err)
{
	char *host = NULL, *port = NULL, *scheme = NULL, *url = NULL, *mapping = NULL;
	CURLU *u = curl_url();
	CURLUcode uc;
	kc_code rc = KC_OK;
	size_t n;

	if (u == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if ((uc = curl_url_set(u, CURLUPART_URL, server, 0)) != CURLUE_OK) {
		rc = kc_fail(err, KC_EINVAL, "server \"%s\": %s", server, curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
		rc = kc_fail(err, KC_EINVAL, "server \"%s\": scheme must be https or http", server);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &url, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &url, 0) == CURLUE_OK) {
		rc = kc_fail(err, KC_EINVAL, "server \"%s\": must not carry a query or fragment",
		             server);
		goto out;
	}
	if (tls_name != NULL && tls_name[0] != '\0') {
		if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
		    curl_url_set(u, CURLUPART_HOST, tls_name, 0) != CURLUE_OK) {
			rc = kc_fail(err, KC_EINVAL, "tls-server-name \"%s\" is not a valid host",
			             tls_name);
			goto out;
		}
		if (asprintf(&mapping, "%s:%s:%s:%s", tls_name, port, host, port) < 0) {
			mapping = NULL;
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			goto out;
		}
		if ((t->connect_to = curl_slist_append(NULL, mapping)) == NULL) {
			rc = kc_fail(err, KC_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		rc = kc_fail(err, KC_EINVAL, "server \"%s\": cannot be rebuilt", server);
		goto out;
	}
	/* Paths are appended to the base; drop the trailing '/'. */
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	if ((t->base_url = strdup(url)) == NULL)
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
out:
	free(mapping);
	curl_free(host);
	curl_free(port);
	curl_free(scheme);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

kc_code api_transport_init(struct api_transport *t, const struct kubeconfig *kc,
                           struct kc_error *err)
{
	kc_code rc;

	memset(t, 0, sizeof(*t));
	if ((rc = setup_urls(t, kc->server, kc->tls_server_name, err)) != KC_OK ||
	    (rc = kubeconfig_dup(kc, &t->kc, err)) != KC_OK)
		goto fail;
	if ((t->multi = curl_multi_init()) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "curl_multi_init failed");
		goto fail;
	}
	curl_multi_setopt(t->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	t->tls = strncmp(t->base_url, "https:", 6) == 0;
	if (kc->insecure_skip_tls_verify)
		kc_log(KC_LOG_WARNING,
		       "kubeconfig: insecure-skip-tls-verify is set: the apiserver's certificate "
		       "is NOT verified; anyone on the path can impersonate it");
	return KC_OK;
fail:
	api_transport_cleanup(t);
	return rc;
}

void api_transport_cleanup(struct api_transport *t)
{
	if (t->multi != NULL)
		curl_multi_cleanup(t->multi);
	curl_slist_free_all(t->connect_to);
	free(t->base_url);
	if (t->token_cached != NULL)
		explicit_bzero(t->token_cached, strlen(t->token_cached));
	free(t->token_cached);
	kubeconfig_free(t->kc);
	memset(t, 0, sizeof(*t));
}

/* A buffer that may hold a token: cleared, then freed. */
static void wipe_buf(struct kc_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	kc_buf_free(b);
}

/* The bearer token: tokenFile (re-read when it changes) wins over token. */
static const char *current_token(struct api_transport *t)
{
	struct kc_error err;
	struct kc_buf b;
	struct stat st;
	size_t n;

	if (t->kc->token_file == NULL)
		return t->kc->token;
	if (stat(t->kc->token_file, &st) != 0) {
		kc_log(KC_LOG_WARNING, "%s: %s (using the last token read)", t->kc->token_file,
		       strerror(errno));
		return t->token_cached;
	}
	if (t->token_st_valid && st.st_ino == t->token_st.st_ino &&
	    st.st_dev == t->token_st.st_dev && st.st_size == t->token_st.st_size &&
	    st.st_mtim.tv_sec == t->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == t->token_st.st_mtim.tv_nsec)
		return t->token_cached;
	kc_buf_init(&b, MAX_TOKEN_FILE);
	if (kc_buf_read_file(&b, t->kc->token_file, &err) != KC_OK) {
		kc_log(KC_LOG_WARNING, "token file: %s (using the last token read)", err.msg);
		wipe_buf(&b);
		return t->token_cached;
	}
	n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' '))
		b.data[--n] = '\0';
	/*
	 * What is left goes into a header line: a CR or LF would end it and
	 * start another header (or request) of the file's choosing, a NUL would
	 * cut the token. The inline token is refused for the same reason
	 * (kubeconfig.c). The file is not used.
	 */
	if (n > 0 && (memchr(b.data, '\r', n) != NULL || memchr(b.data, '\n', n) != NULL ||
	              memchr(b.data, '\0', n) != NULL)) {
		kc_log(KC_LOG_ERR,
		       "token file %s: holds a line break or NUL inside the token: not sent "
		       "(using the last token read)",
		       t->kc->token_file);
		wipe_buf(&b);
		return t->token_cached;
	}
	if (t->token_cached != NULL)
		explicit_bzero(t->token_cached, strlen(t->token_cached));
	free(t->token_cached);
	t->token_cached = b.data; /* ownership moves */
	t->token_st = st;
	t->token_st_valid = true;
	return t->token_cached;
}

static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = KEEPALIVE_CNT;

	/* libcurl 7.88 sets idle and interval but not the probe count. */
	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static void set_blob(CURL *e, CURLoption opt, const struct kubeconfig_pem *pem)
{
	struct curl_blob blob = {.data = pem->data, .len = pem->len, .flags = CURL_BLOB_COPY};

	curl_easy_setopt(e, opt, &blob);
}

static void setup_tls(const struct api_transport *t, CURL *e)
{
	const struct kubeconfig *kc = t->kc;

	if (kc->ca.data != NULL)
		set_blob(e, CURLOPT_CAINFO_BLOB, &kc->ca);
	else if (kc->ca.path != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca.path);
	if (kc->client_cert.data != NULL) {
		set_blob(e, CURLOPT_SSLCERT_BLOB, &kc->client_cert);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (kc->client_cert.path != NULL) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, kc->client_cert.path);
	}
	if (kc->client_key.data != NULL) {
		set_blob(e, CURLOPT_SSLKEY_BLOB, &kc->client_key);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (kc->client_key.path != NULL) {
		curl_easy_setopt(e, CURLOPT_SSLKEY, kc->client_key.path);
	}
	if (kc->insecure_skip_tls_verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (t->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to);
	/*
	 * No TLS session resumption: a resumed session would keep presenting
	 * the client certificate the kubelet has since rotated away.
	 */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Re-read the CA file on each connection so a rotated CA takes effect. */
	curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
}

/* Append "name: prefix value"; the line may carry the token, so it is wiped. */
/* How a request shares the pool (see api_transport.h). */
static void setup_connection(struct api_transport *t, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, (long)API_CONN_MAX_LIFE_S);
#endif
	/*
	 * libcurl closes a connection idle for 118 s (its default): over
	 * HTTP/1.1 each refresh GET, minutes or hours after the last, then costs
	 * a TLS handshake. An idle connection is kept as long as it may live; one
	 * the server closed meanwhile is found dead before reuse and replaced
	 * (and a request lost to a close in flight is retried on a new one).
	 */
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, (long)API_CONN_MAX_LIFE_S);
	if (t->fresh_next) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		t->fresh_next = false;
	}
}

void api_transport_auth_failed(struct api_transport *t)
{
	t->fresh_next = true;
}

static kc_code add_header(struct curl_slist **list, const char *name, const char *prefix,
                          const char *value, struct kc_error *err)
{
	struct curl_slist *grown;
	char *line;

	if (asprintf(&line, "%s: %s%s", name, prefix, value) < 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	grown = curl_slist_append(*list, line);
	explicit_bzero(line, strlen(line));
	free(line);
	if (grown == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	*list = grown;
	return KC_OK;
}

static kc_code build_headers(struct api_transport *t, const struct api_http *req,
                             struct curl_slist **headers, struct kc_error *err)
{
	const char *token = current_token(t);
	kc_code rc;

	*headers = NULL;
	if ((rc = add_header(headers, "Accept", "", "application/json", err)) != KC_OK)
		return rc;
	if (token != NULL && token[0] != '\0' &&
	    (rc = add_header(headers, "Authorization", "Bearer ", token, err)) != KC_OK)
		return rc;
	if (req->body != NULL &&
	    (rc = add_header(headers, "Content-Type", "",
	                     req->content_type ? req->content_type : "application/json", err)) !=
	        KC_OK)
		return rc;
	return KC_OK;
}

static void set_method(CURL *e, const struct api_http *req)
{
	if (req->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body);
	}
	/* POST is what a body implies; anything else is named. */
	if (strcmp(req->method, "GET") != 0 &&
	    !(req->body != NULL && strcmp(req->method, "POST") == 0))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
}

kc_code api_transport_easy(struct api_transport *t, const struct api_http *req, CURL **easy,
                           struct curl_slist **headers, struct kc_error *err)
{
	char *url = NULL;
	kc_code rc;
	CURL *e;

	*easy = NULL;
	*headers = NULL;
	if ((rc = build_headers(t, req, headers, err)) != KC_OK)
		goto fail;
	if (asprintf(&url, "%s%s", t->base_url, req->path) < 0) {
		url = NULL;
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((e = curl_easy_init()) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "curl_easy_init failed");
		goto fail;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
	set_method(e, req);
	curl_easy_setopt(e, CURLOPT_USERAGENT, KC_USER_AGENT_NAME KC_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)API_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTVL_S);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	if (!req->stream) {
		/* Accepted but silent (a hung apiserver) fails within seconds. */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(API_RESPONSE_TIMEOUT_MS / 1000));
	}
	if (t->kc->proxy_url != NULL)
		curl_easy_setopt(e, CURLOPT_PROXY, t->kc->proxy_url);
	setup_tls(t, e);
	setup_connection(t, e);
	*easy = e;
	return KC_OK;
fail:
	free(url);
	api_transport_free_headers(*headers);
	*headers = NULL;
	return rc;
}

void api_transport_free_headers(struct curl_slist *headers)
{
	struct curl_slist *h;

	for (h = headers; h != NULL; h = h->next)
		if (h->data != NULL)
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(headers);
}
