/*
 * api_client.c: the agent's conversation with the Kubernetes API on libcurl's
 * multi interface (see api_client.h for the protocol and the policy).
 *
 * Shape: one "pods channel" (LIST pages, then one long WATCH) and a set of
 * tracked parents whose Secret/ConfigMap references are fetched one GET at a
 * time per parent, a few parents at once. Every request is a struct request
 * owning one easy handle; its completion is handled in api_client_step, never
 * inside a libcurl callback, except watch events, which are delivered as they
 * arrive. Anything a user callback asks for from inside a libcurl callback
 * (relist, untrack) is recorded and carried out by the next step, because
 * libcurl forbids removing handles from within its callbacks.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "version.h"
#include "watch_stream.h"

#define MAX_PARALLEL_FETCHES  4
#define PARENT_RETRY_FIRST_MS 5000
#define PARENT_RETRY_MAX_MS   300000
#define LIST_TIMEOUT_MS       120000
#define GET_TIMEOUT_MS        30000
#define MAX_ERROR_BODY        (1u * 1024 * 1024)
#define MAX_TOKEN_FILE        (64u * 1024)
#define SUCCESS_REPORT_GAP_MS 1000
#define KEEPALIVE_IDLE_S      15
#define KEEPALIVE_INTVL_S     5
#define KEEPALIVE_CNT         3

enum req_kind { REQ_LIST, REQ_WATCH, REQ_GET };

struct parent;

struct request {
	struct api_client *c;
	enum req_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	char *desc;             /* "GET /api/v1/..." for messages */
	struct kc_buf body;     /* LIST/GET body, or a failed watch's Status */
	struct watch_stream ws; /* WATCH with a 2xx status */
	long status;            /* HTTP status once headers are in, else 0 */
	bool headers_done;
	bool gone;        /* watch ERROR event 410 */
	kc_code abort_rc; /* why a callback aborted the transfer */
	struct kc_error abort_err;
	struct parent *parent; /* GET */
	int64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct tracked_ref {
	const char *kind; /* "Secret" / "ConfigMap", static */
	char *name;
	bool optional;
};

struct parent {
	char *uid;
	char *ns;
	struct tracked_ref *refs;
	size_t nrefs;
	int64_t next_fetch_ms; /* when the next fetch (refresh or retry) is due */
	unsigned failures;     /* transient failures since the last complete fetch */
	bool removed;          /* untracked; reaped by the next step */
	bool stale;            /* refs changed while a fetch was running */
	/* The fetch in progress. */
	struct request *req;
	size_t next_ref;
	json_t *objects;
	struct kc_error missing;
	bool have_missing;
};

enum pods_state { PODS_IDLE, PODS_LISTING, PODS_WATCHING };

struct api_client {
	CURLM *multi;
	struct api_callbacks cb;
	char *node;
	char *base_url;                /* server URL, host replaced by tls-server-name if set */
	struct curl_slist *connect_to; /* "name:port:host:port" for tls-server-name */
	struct kubeconfig kc;          /* owned copies of what curl needs */

	/* Token file cache: re-read when the file changes. */
	char *token_cached;
	struct stat token_st;
	bool token_st_valid;

	/* Pods channel. */
	enum pods_state pods_state;
	struct request *pods_req;
	int64_t pods_next_ms;
	bool want_list;
	bool relist_requested;
	char *rv;
	char *list_continue;
	json_t *list_items;
	char *list_rv;
	unsigned failures;
	bool healthy;
	bool unreachable;

	struct parent **parents;
	size_t nparents, parents_cap;

	/* Contact reporting. */
	bool reported_any;
	enum api_contact last_outcome;
	int64_t last_success_report_ms;

	uint64_t rng;
	struct api_stats stats;
};

/* ---- small helpers ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: jitter only, no security role. */
static uint64_t rnd(struct api_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ULL;
}

static int64_t jitter(struct api_client *c, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rnd(c) % (uint64_t)(hi - lo + 1));
}

static char *xstrdup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static unsigned char *xmemdup(const unsigned char *p, size_t n)
{
	unsigned char *q;

	if (p == NULL)
		return NULL;
	if ((q = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

const char *api_contact_name(enum api_contact outcome)
{
	switch (outcome) {
	case API_CONTACT_SUCCESS:
		return "success";
	case API_CONTACT_FAILURE:
		return "failure";
	case API_CONTACT_AUTH_ERROR:
		return "auth_error";
	}
	return "?";
}

static void copy_truncated(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * Classify and report one contact. Repeated successes are coalesced (at most
 * one a second); failures are logged when the outcome changes so an outage
 * does not write a line per retry.
 */
static void vreport(struct api_client *c, enum api_contact outcome, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vreport(struct api_client *c, enum api_contact outcome, const char *fmt, va_list ap)
{
	char detail[512];
	bool changed = !c->reported_any || c->last_outcome != outcome;
	int64_t now = now_ms();

	vsnprintf(detail, sizeof(detail), fmt, ap);
	if (outcome == API_CONTACT_SUCCESS) {
		if (!changed && now - c->last_success_report_ms < SUCCESS_REPORT_GAP_MS)
			return;
		c->last_success_report_ms = now;
		if (changed && c->reported_any)
			kc_log(KC_LOG_NOTICE, "apiserver: contact restored: %s", detail);
	} else {
		copy_truncated(c->stats.last_error, sizeof(c->stats.last_error), detail);
		if (changed)
			kc_log(outcome == API_CONTACT_AUTH_ERROR ? KC_LOG_ERR : KC_LOG_WARNING,
			       "apiserver: %s%s", detail,
			       outcome == API_CONTACT_AUTH_ERROR
			           ? " (the API is up but refuses our credentials; never treated "
			             "as an outage)"
			           : "");
	}
	c->reported_any = true;
	c->last_outcome = outcome;
	if (c->cb.contact != NULL)
		c->cb.contact(c->cb.ctx, outcome, detail);
}

/* A contact that is not a finished request: a watch connecting, an event. */
static void report(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, outcome, fmt, ap);
	va_end(ap);
}

/* The outcome of a finished request: counted for metrics, then reported. */
static void report_request(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report_request(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
{
	va_list ap;

	if (outcome == API_CONTACT_SUCCESS)
		c->stats.requests_ok++;
	else if (outcome == API_CONTACT_FAILURE)
		c->stats.requests_failure++;
	else
		c->stats.requests_auth_error++;
	va_start(ap, fmt);
	vreport(c, outcome, fmt, ap);
	va_end(ap);
}

/* ---- configuration ---- */

void api_client_get_stats(const struct api_client *c, struct api_stats *out)
{
	*out = c->stats;
}

static kc_code copy_pem(struct kubeconfig_pem *dst, const struct kubeconfig_pem *src,
                        struct kc_error *err)
{
	dst->path = xstrdup(src->path);
	dst->data = xmemdup(src->data, src->len);
	dst->len = src->len;
	if ((src->path != NULL && dst->path == NULL) || (src->data != NULL && dst->data == NULL))
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

static void free_pem(struct kubeconfig_pem *p)
{
	free(p->path);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/*
 * The base URL and, with tls-server-name, the CONNECT_TO mapping: libcurl
 * sends SNI and verifies the certificate against the URL's host name, so the
 * URL carries tls-server-name and CONNECT_TO routes it to the real address.
 */
static kc_code setup_urls(struct api_client *c, const char *server, const char *tls_name,
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
		if ((c->connect_to = curl_slist_append(NULL, mapping)) == NULL) {
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
	if ((c->base_url = strdup(url)) == NULL)
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

static kc_code copy_kubeconfig(struct kubeconfig *dst, const struct kubeconfig *src,
                               struct kc_error *err)
{
	memset(dst, 0, sizeof(*dst));
	dst->proxy_url = xstrdup(src->proxy_url);
	dst->token = xstrdup(src->token);
	dst->token_file = xstrdup(src->token_file);
	dst->insecure_skip_tls_verify = src->insecure_skip_tls_verify;
	if ((src->proxy_url != NULL && dst->proxy_url == NULL) ||
	    (src->token != NULL && dst->token == NULL) ||
	    (src->token_file != NULL && dst->token_file == NULL))
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (copy_pem(&dst->ca, &src->ca, err) != KC_OK ||
	    copy_pem(&dst->client_cert, &src->client_cert, err) != KC_OK ||
	    copy_pem(&dst->client_key, &src->client_key, err) != KC_OK)
		return err != NULL ? err->code : KC_ENOMEM;
	return KC_OK;
}

static void free_kubeconfig_copy(struct kubeconfig *kc)
{
	free(kc->proxy_url);
	if (kc->token != NULL)
		explicit_bzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc->token_file);
	free_pem(&kc->ca);
	free_pem(&kc->client_cert);
	free_pem(&kc->client_key);
}

kc_code api_client_new(const struct kubeconfig *kc, const char *node,
                       const struct api_callbacks *cb, struct api_client **out,
                       struct kc_error *err)
{
	struct api_client *c;
	kc_code rc;

	*out = NULL;
	if (kc == NULL || kc->server == NULL || kc->server[0] == '\0')
		return kc_fail(err, KC_EINVAL, "kubeconfig: no server URL");
	if (node == NULL || node[0] == '\0')
		return kc_fail(err, KC_EINVAL, "api client: empty node name");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (cb != NULL)
		c->cb = *cb;
	c->want_list = true;
	if ((c->node = strdup(node)) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = setup_urls(c, kc->server, kc->tls_server_name, err)) != KC_OK ||
	    (rc = copy_kubeconfig(&c->kc, kc, err)) != KC_OK)
		goto fail;
	if ((c->multi = curl_multi_init()) == NULL) {
		rc = kc_fail(err, KC_ENOMEM, "curl_multi_init failed");
		goto fail;
	}
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != (ssize_t)sizeof(c->rng))
		c->rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
	c->rng |= 1;
	if (kc->insecure_skip_tls_verify)
		kc_log(KC_LOG_WARNING,
		       "kubeconfig: insecure-skip-tls-verify is set: the apiserver's certificate "
		       "is NOT verified; anyone on the path can impersonate it");
	*out = c;
	return KC_OK;
fail:
	api_client_free(c);
	return rc;
}

/* ---- requests ---- */

static void request_free(struct request *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->c->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	curl_slist_free_all(r->headers);
	free(r->desc);
	kc_buf_free(&r->body);
	if (r->kind == REQ_WATCH)
		watch_stream_free(&r->ws);
	free(r);
}

static void parent_free(struct parent *p)
{
	request_free(p->req);
	for (size_t i = 0; i < p->nrefs; i++)
		free(p->refs[i].name);
	free(p->refs);
	free(p->uid);
	free(p->ns);
	json_decref(p->objects);
	free(p);
}

void api_client_free(struct api_client *c)
{
	if (c == NULL)
		return;
	request_free(c->pods_req);
	for (size_t i = 0; i < c->nparents; i++)
		parent_free(c->parents[i]);
	free(c->parents);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->connect_to);
	free(c->base_url);
	free(c->node);
	free(c->rv);
	free(c->list_continue);
	free(c->list_rv);
	json_decref(c->list_items);
	if (c->token_cached != NULL)
		explicit_bzero(c->token_cached, strlen(c->token_cached));
	free(c->token_cached);
	free_kubeconfig_copy(&c->kc);
	free(c);
}

/* The bearer token: tokenFile (re-read when it changes) wins over token. */
static const char *current_token(struct api_client *c)
{
	struct kc_error err;
	struct kc_buf b;
	struct stat st;
	size_t n;

	if (c->kc.token_file == NULL)
		return c->kc.token;
	if (stat(c->kc.token_file, &st) != 0) {
		kc_log(KC_LOG_WARNING, "%s: %s (using the last token read)", c->kc.token_file,
		       strerror(errno));
		return c->token_cached;
	}
	if (c->token_st_valid && st.st_ino == c->token_st.st_ino &&
	    st.st_dev == c->token_st.st_dev && st.st_size == c->token_st.st_size &&
	    st.st_mtim.tv_sec == c->token_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == c->token_st.st_mtim.tv_nsec)
		return c->token_cached;
	kc_buf_init(&b, MAX_TOKEN_FILE);
	if (kc_buf_read_file(&b, c->kc.token_file, &err) != KC_OK) {
		kc_log(KC_LOG_WARNING, "token file: %s (using the last token read)", err.msg);
		kc_buf_free(&b);
		return c->token_cached;
	}
	n = b.len;
	while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' || b.data[n - 1] == ' '))
		b.data[--n] = '\0';
	free(c->token_cached);
	c->token_cached = b.data; /* ownership moves */
	c->token_st = st;
	c->token_st_valid = true;
	return c->token_cached;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct request *r = ud;
	size_t len = size * n;

	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200) { /* not a 1xx interim response */
			r->status = status;
			r->headers_done = true;
			if (r->kind == REQ_WATCH && status / 100 == 2) {
				r->c->healthy = true;
				r->c->failures = 0;
				report(r->c, API_CONTACT_SUCCESS, "%s: watch connected", r->desc);
			}
		}
	}
	return len;
}

static kc_code on_watch_event(void *ctx, const struct watch_event *ev, struct kc_error *err)
{
	struct request *r = ctx;
	struct api_client *c = r->c;
	const char *msg;
	long code;

	c->stats.watch_events++;
	if (ev->type == WATCH_ERROR) {
		code = watch_status_code(ev->object);
		if (code == 410) {
			r->gone = true;
			return kc_fail(err, KC_EAGAIN, "watch: resourceVersion too old (410 Gone)");
		}
		msg = json_string_value(json_object_get(ev->object, "message"));
		return kc_fail(err, KC_EIO, "watch: ERROR event, status %ld: %.200s", code,
		               msg != NULL ? msg : "");
	}
	if (ev->resource_version != NULL) {
		char *rv = strdup(ev->resource_version);

		if (rv == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		free(c->rv);
		c->rv = rv;
	}
	report(c, API_CONTACT_SUCCESS, "%s: %s event", r->desc, watch_event_type_name(ev->type));
	if ((ev->type == WATCH_ADDED || ev->type == WATCH_MODIFIED) && c->cb.pod_changed)
		c->cb.pod_changed(c->cb.ctx, ev->object);
	else if (ev->type == WATCH_DELETED && c->cb.pod_deleted)
		c->cb.pod_deleted(c->cb.ctx, ev->object);
	return KC_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct request *r = ud;
	size_t len = size * n;
	kc_code rc;

	if (r->kind == REQ_WATCH && r->status / 100 == 2)
		rc = watch_stream_feed(&r->ws, p, len, &r->abort_err);
	else
		rc = kc_buf_append(&r->body, p, len, &r->abort_err);
	if (rc != KC_OK) {
		r->abort_rc = rc;
		return 0; /* CURLE_WRITE_ERROR ends the transfer */
	}
	return len;
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

static void setup_tls(struct api_client *c, CURL *e)
{
	const struct kubeconfig *kc = &c->kc;

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
	if (c->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
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

/* Create, configure and start a request for path (already escaped). */
static struct request *request_start(struct api_client *c, enum req_kind kind, const char *verb,
                                     const char *path, long timeout_ms)
{
	const char *token = current_token(c);
	struct request *r;
	char *url = NULL, *auth = NULL;
	CURL *e;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	r->kind = kind;
	r->started_ms = now_ms();
	kc_buf_init(&r->body, kind == REQ_LIST  ? API_MAX_LIST_BODY
	                      : kind == REQ_GET ? API_MAX_OBJECT_BODY
	                                        : MAX_ERROR_BODY);
	if (kind == REQ_WATCH)
		watch_stream_init(&r->ws, 0, on_watch_event, r);
	if (asprintf(&r->desc, "%s %s", verb, path) < 0 ||
	    asprintf(&url, "%s%s", c->base_url, path) < 0 ||
	    (r->easy = e = curl_easy_init()) == NULL)
		goto fail;
	r->headers = curl_slist_append(NULL, "Accept: application/json");
	if (r->headers == NULL)
		goto fail;
	if (token != NULL && token[0] != '\0') {
		struct curl_slist *h;

		if (asprintf(&auth, "Authorization: Bearer %s", token) < 0)
			goto fail;
		if ((h = curl_slist_append(r->headers, auth)) == NULL)
			goto fail;
		r->headers = h;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kubelet-checkpoint/" KC_VERSION);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)API_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)KEEPALIVE_IDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)KEEPALIVE_INTVL_S);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	if (kind != REQ_WATCH) {
		/* Accepted but silent (a hung apiserver) fails within seconds. */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(API_RESPONSE_TIMEOUT_MS / 1000));
	}
	if (c->kc.proxy_url != NULL)
		curl_easy_setopt(e, CURLOPT_PROXY, c->kc.proxy_url);
	setup_tls(c, e);
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		goto fail;
	free(url);
	free(auth);
	kc_log(KC_LOG_DEBUG, "apiserver: %s", r->desc);
	return r;
fail:
	free(url);
	free(auth);
	request_free(r);
	return NULL;
}

/* ---- pods channel ---- */

/* Delay before retry number `failures`: first, doubling up to cap, jittered in [d/2, d]. */
static int64_t backoff_ms(struct api_client *c, unsigned failures, int64_t first, int64_t cap)
{
	int64_t d = first;

	for (unsigned i = 1; i < failures && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return jitter(c, d / 2, d);
}

enum retry_pace {
	RETRY_AT_ONCE, /* a healthy watch broke: reconnect now (once) */
	RETRY_FAST,    /* network failure: within a second until declared unreachable */
	RETRY_BACKOFF, /* the API answered but refused (401/403/4xx): no point hurrying */
};

static void pods_retry_later(struct api_client *c, enum retry_pace pace)
{
	int64_t delay;

	c->pods_state = PODS_IDLE;
	c->healthy = false;
	c->failures++;
	if (pace == RETRY_AT_ONCE && c->failures == 1)
		delay = 0;
	else if (pace != RETRY_BACKOFF && !c->unreachable)
		delay = jitter(c, API_RETRY_FAST_MS / 2, API_RETRY_FAST_MS);
	else
		delay = backoff_ms(c, c->failures, API_RETRY_FAST_MS, API_RETRY_MAX_MS);
	c->pods_next_ms = now_ms() + delay;
}

static void reset_list(struct api_client *c)
{
	free(c->list_continue);
	c->list_continue = NULL;
	free(c->list_rv);
	c->list_rv = NULL;
	json_decref(c->list_items);
	c->list_items = NULL;
}

static bool start_list(struct api_client *c)
{
	char *node = curl_easy_escape(NULL, c->node, 0);
	char *cont = c->list_continue ? curl_easy_escape(NULL, c->list_continue, 0) : NULL;
	char *path = NULL;

	if (node == NULL || (c->list_continue != NULL && cont == NULL) ||
	    asprintf(&path, "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&limit=%d%s%s", node,
	             API_LIST_PAGE, cont ? "&continue=" : "", cont ? cont : "") < 0)
		path = NULL;
	curl_free(node);
	curl_free(cont);
	if (path == NULL)
		return false;
	c->pods_req = request_start(c, REQ_LIST, "LIST", path, LIST_TIMEOUT_MS);
	free(path);
	if (c->pods_req == NULL)
		return false;
	c->stats.lists++;
	c->pods_state = PODS_LISTING;
	return true;
}

static bool start_watch(struct api_client *c)
{
	char *node = curl_easy_escape(NULL, c->node, 0);
	char *rv = curl_easy_escape(NULL, c->rv, 0);
	long timeout_s = (long)jitter(c, API_WATCH_MIN_S, API_WATCH_MAX_S);
	char *path = NULL;

	if (node == NULL || rv == NULL ||
	    asprintf(&path,
	             "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&watch=1"
	             "&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
	             node, rv, timeout_s) < 0)
		path = NULL;
	curl_free(node);
	curl_free(rv);
	if (path == NULL)
		return false;
	c->pods_req =
	    request_start(c, REQ_WATCH, "WATCH", path, (timeout_s + API_WATCH_MARGIN_S) * 1000);
	free(path);
	if (c->pods_req == NULL)
		return false;
	c->stats.watches++;
	c->pods_state = PODS_WATCHING;
	return true;
}

static void start_pods(struct api_client *c)
{
	bool ok;

	if (c->want_list || c->rv == NULL) {
		c->want_list = true;
		ok = start_list(c);
	} else {
		ok = start_watch(c);
	}
	if (!ok) {
		kc_log(KC_LOG_ERR, "apiserver: cannot start a request (out of memory?)");
		pods_retry_later(c, RETRY_FAST);
	}
}

/* Items of a LIST lack kind/apiVersion; give them back so pods stand alone. */
static kc_code collect_items(struct api_client *c, json_t *list, struct kc_error *err)
{
	json_t *items = json_object_get(list, "items"), *pod;
	size_t i;

	if (!json_is_array(items) && !json_is_null(items) && items != NULL)
		return kc_fail(err, KC_EINVAL, "\"items\" is not an array");
	if (c->list_items == NULL && (c->list_items = json_array()) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(items, i, pod)
	{
		if (!json_is_object(pod))
			return kc_fail(err, KC_EINVAL, "items[%zu] is not an object", i);
		if (c->cb.pod_wanted != NULL && !c->cb.pod_wanted(c->cb.ctx, pod))
			continue;
		if (json_object_get(pod, "kind") == NULL)
			json_object_set_new(pod, "kind", json_string("Pod"));
		if (json_object_get(pod, "apiVersion") == NULL)
			json_object_set_new(pod, "apiVersion", json_string("v1"));
		if (json_array_append(c->list_items, pod) != 0)
			return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	return KC_OK;
}

static const char *meta_string(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* A LIST page arrived with 2xx: collect it, then page on or start watching. */
static void list_page_done(struct api_client *c, struct request *r)
{
	struct kc_error err;
	json_error_t jerr;
	const char *rv, *cont;
	json_t *list;

	list = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_REJECT_DUPLICATES,
	                  &jerr);
	/* The text is not needed once parsed; do not hold both through the callback. */
	kc_buf_free(&r->body);
	if (list == NULL || !json_is_object(list)) {
		report_request(c, API_CONTACT_FAILURE, "%s: invalid PodList: %s", r->desc,
		               list ? "not an object" : jerr.text);
		goto bad;
	}
	if (collect_items(c, list, &err) != KC_OK) {
		report_request(c, API_CONTACT_FAILURE, "%s: invalid PodList: %s", r->desc, err.msg);
		goto bad;
	}
	rv = meta_string(list, "resourceVersion");
	cont = meta_string(list, "continue");
	if (c->list_rv == NULL && rv != NULL && (c->list_rv = strdup(rv)) == NULL)
		goto bad;
	report_request(c, API_CONTACT_SUCCESS, "%s: %zu pods", r->desc,
	               json_array_size(json_object_get(list, "items")));
	c->healthy = true;
	c->failures = 0;
	free(c->list_continue);
	c->list_continue = NULL;
	if (cont != NULL && cont[0] != '\0') {
		if ((c->list_continue = strdup(cont)) == NULL)
			goto bad;
		json_decref(list);
		c->pods_state = PODS_IDLE;
		c->pods_next_ms = now_ms();
		return;
	}
	json_decref(list);
	if (c->list_rv == NULL) {
		report(c, API_CONTACT_FAILURE, "%s: PodList without metadata.resourceVersion",
		       r->desc);
		reset_list(c);
		pods_retry_later(c, RETRY_FAST);
		return;
	}
	free(c->rv);
	c->rv = c->list_rv;
	c->list_rv = NULL;
	c->want_list = false;
	if (c->cb.pods_listed != NULL)
		c->cb.pods_listed(c->cb.ctx, c->list_items);
	reset_list(c);
	/*
	 * A LIST is the one large transient allocation (body text plus a tree
	 * of every pod); glibc keeps freed heap unless asked, so give it back.
	 */
	malloc_trim(0);
	c->pods_state = PODS_IDLE;
	c->pods_next_ms = now_ms();
	return;
bad:
	json_decref(list);
	reset_list(c);
	pods_retry_later(c, RETRY_FAST);
}

/*
 * Classify a finished transfer that did not end in a usable answer. Returns
 * the outcome and writes the detail. Other 4xx are answers, not failures: the
 * API is up, it rejected this request.
 */
static enum api_contact classify(const struct request *r, CURLcode res, char *detail, size_t n)
{
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && r->abort_rc != KC_OK)) {
		snprintf(detail, n, "%s: %s%s%s", r->desc, curl_easy_strerror(res),
		         r->errbuf[0] ? ": " : "", r->errbuf);
		return API_CONTACT_FAILURE;
	}
	if (res != CURLE_OK) {
		snprintf(detail, n, "%.200s: %.300s", r->desc, r->abort_err.msg);
		return API_CONTACT_FAILURE;
	}
	snprintf(detail, n, "%s: HTTP %ld", r->desc, r->status);
	if (r->status == 401 || r->status == 403)
		return API_CONTACT_AUTH_ERROR;
	if (r->status >= 500 || r->status == 429 || r->status < 200)
		return API_CONTACT_FAILURE;
	return API_CONTACT_SUCCESS;
}

/* Classify, log and report a request that brought nothing usable. */
static enum api_contact report_unusable(struct api_client *c, const struct request *r, CURLcode res)
{
	char detail[512];
	enum api_contact outcome = classify(r, res, detail, sizeof(detail));

	if (outcome == API_CONTACT_SUCCESS)
		kc_log(KC_LOG_ERR, "apiserver: %s (request rejected)", detail);
	report_request(c, outcome, "%s", detail);
	return outcome;
}

static void pods_request_done(struct api_client *c, struct request *r, CURLcode res)
{
	enum api_contact outcome;
	bool was_connected = r->kind == REQ_WATCH && r->headers_done && r->status / 100 == 2;
	struct kc_error err;

	c->pods_req = NULL;
	c->pods_state = PODS_IDLE;
	if (r->gone || r->status == 410) {
		/* The API answered: our resourceVersion is too old. Start over. */
		report_request(c, API_CONTACT_SUCCESS, "%s: 410 Gone, relisting", r->desc);
		kc_log(KC_LOG_INFO, "apiserver: %s: resourceVersion expired (410), relisting",
		       r->desc);
		c->want_list = true;
		reset_list(c);
		c->pods_next_ms = now_ms();
		return;
	}
	if (res == CURLE_OK && r->status / 100 == 2) {
		if (r->kind == REQ_LIST) {
			list_page_done(c, r);
			return;
		}
		/* A watch ended; a clean end at timeoutSeconds is routine. */
		if (watch_stream_finish(&r->ws, &err) == KC_OK) {
			c->stats.requests_ok++;
			kc_log(KC_LOG_DEBUG, "apiserver: %s: ended, re-watching", r->desc);
			c->pods_next_ms = now_ms();
			return;
		}
		report_request(c, API_CONTACT_FAILURE, "%s: %s", r->desc, err.msg);
		pods_retry_later(c, was_connected ? RETRY_AT_ONCE : RETRY_FAST);
		return;
	}
	outcome = report_unusable(c, r, res);
	if (r->kind == REQ_LIST)
		reset_list(c);
	pods_retry_later(c, outcome != API_CONTACT_FAILURE ? RETRY_BACKOFF
	                    : was_connected                ? RETRY_AT_ONCE
	                                                   : RETRY_FAST);
}

/* ---- references ---- */

static struct parent *find_parent(struct api_client *c, const char *uid)
{
	for (size_t i = 0; i < c->nparents; i++)
		if (!c->parents[i]->removed && strcmp(c->parents[i]->uid, uid) == 0)
			return c->parents[i];
	return NULL;
}

static void parent_reset_fetch(struct parent *p)
{
	p->next_ref = 0;
	json_decref(p->objects);
	p->objects = NULL;
	p->have_missing = false;
	kc_error_clear(&p->missing);
}

static bool has_kind(const json_t *obj, const char *kind)
{
	const char *k = json_string_value(json_object_get(obj, "kind"));

	return k != NULL && strcmp(k, kind) == 0;
}

static const char *ref_resource(const struct tracked_ref *ref)
{
	return strcmp(ref->kind, "Secret") == 0 ? "secrets" : "configmaps";
}

static bool start_get(struct api_client *c, struct parent *p)
{
	const struct tracked_ref *ref = &p->refs[p->next_ref];
	char *ns = curl_easy_escape(NULL, p->ns, 0), *name = curl_easy_escape(NULL, ref->name, 0);
	char *path = NULL;

	if (ns == NULL || name == NULL ||
	    asprintf(&path, "/api/v1/namespaces/%s/%s/%s", ns, ref_resource(ref), name) < 0)
		path = NULL;
	curl_free(ns);
	curl_free(name);
	if (path == NULL)
		return false;
	p->req = request_start(c, REQ_GET, "GET", path, GET_TIMEOUT_MS);
	free(path);
	if (p->req == NULL)
		return false;
	p->req->parent = p;
	c->stats.gets++;
	return true;
}

/* A transient failure (network, 5xx, 401/403): try again, slower each time. */
static void parent_retry_later(struct api_client *c, struct parent *p)
{
	parent_reset_fetch(p);
	p->failures++;
	p->next_fetch_ms =
	    now_ms() + backoff_ms(c, p->failures, PARENT_RETRY_FIRST_MS, PARENT_RETRY_MAX_MS);
}

/* Every reference of p has an answer: report and schedule the refresh. */
static void parent_fetch_complete(struct api_client *c, struct parent *p)
{
	json_t *objects = p->objects ? json_incref(p->objects) : json_array();
	struct kc_error missing = p->missing;
	bool have_missing = p->have_missing;
	char *uid = strdup(p->uid);

	parent_reset_fetch(p);
	p->failures = 0;
	p->next_fetch_ms = now_ms() + jitter(c, (int64_t)API_REFS_REFRESH_MIN_S * 1000,
	                                     (int64_t)API_REFS_REFRESH_MAX_S * 1000);
	/* Last: the callback may untrack or retrack p. */
	if (uid != NULL && objects != NULL && c->cb.refs_fetched != NULL)
		c->cb.refs_fetched(c->cb.ctx, uid, objects, have_missing ? &missing : NULL);
	json_decref(objects);
	free(uid);
}

/* Answer for the current ref arrived; go on to the next one (or finish). */
static void parent_advance(struct api_client *c, struct parent *p)
{
	p->next_ref++;
	if (p->next_ref < p->nrefs) {
		if (!start_get(c, p))
			parent_retry_later(c, p);
		return;
	}
	parent_fetch_complete(c, p);
}

static void get_done(struct api_client *c, struct request *r, CURLcode res)
{
	struct parent *p = r->parent;
	const struct tracked_ref *ref;
	json_error_t jerr;
	json_t *obj;

	p->req = NULL;
	if (p->removed)
		return;
	if (p->stale) {
		/* The reference set changed under us: start over with the new one. */
		p->stale = false;
		parent_reset_fetch(p);
		p->next_fetch_ms = now_ms();
		return;
	}
	ref = &p->refs[p->next_ref];
	if (res == CURLE_OK && r->status == 404) {
		report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 404", r->desc);
		if (!ref->optional && !p->have_missing) {
			kc_fail(&p->missing, KC_ENOTFOUND, "%s %s/%s: not found", ref->kind, p->ns,
			        ref->name);
			p->have_missing = true;
		}
		parent_advance(c, p);
		return;
	}
	if (res == CURLE_OK && r->status / 100 == 2) {
		obj = json_loadb(r->body.data ? r->body.data : "", r->body.len,
		                 JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL || !json_is_object(obj) || !has_kind(obj, ref->kind)) {
			report_request(c, API_CONTACT_FAILURE, "%s: not a %s object%s%s", r->desc,
			               ref->kind, obj ? "" : ": ", obj ? "" : jerr.text);
			json_decref(obj);
			parent_retry_later(c, p);
			return;
		}
		report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc, r->status);
		if (p->objects == NULL)
			p->objects = json_array();
		if (p->objects == NULL || json_array_append_new(p->objects, obj) != 0) {
			parent_retry_later(c, p);
			return;
		}
		parent_advance(c, p);
		return;
	}
	report_unusable(c, r, res);
	parent_retry_later(c, p);
}

static size_t fetches_running(const struct api_client *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nparents; i++)
		n += c->parents[i]->req != NULL;
	return n;
}

static void start_due_fetches(struct api_client *c, int64_t now)
{
	size_t running = fetches_running(c);

	/* While the pods channel fails, one failing connection per retry is enough. */
	if (!c->healthy)
		return;
	for (size_t i = 0; i < c->nparents && running < MAX_PARALLEL_FETCHES; i++) {
		struct parent *p = c->parents[i];

		if (p->removed || p->req != NULL || p->next_fetch_ms > now)
			continue;
		parent_reset_fetch(p);
		if (p->nrefs == 0) {
			parent_fetch_complete(c, p);
			continue;
		}
		if (!start_get(c, p)) {
			parent_retry_later(c, p);
			continue;
		}
		running++;
	}
}

static kc_code copy_refs(struct parent *p, const struct pod_refs *refs, struct kc_error *err)
{
	struct tracked_ref *copy = NULL;
	char *ns;

	if (refs->namespace == NULL || refs->namespace[0] == '\0')
		return kc_fail(err, KC_EINVAL, "references without a namespace");
	if ((ns = strdup(refs->namespace)) == NULL ||
	    (refs->count > 0 && (copy = calloc(refs->count, sizeof(*copy))) == NULL)) {
		free(ns);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < refs->count; i++) {
		const char *kind = refs->refs[i].kind;

		copy[i].kind = kind && strcmp(kind, "Secret") == 0      ? "Secret"
		               : kind && strcmp(kind, "ConfigMap") == 0 ? "ConfigMap"
		                                                        : NULL;
		copy[i].optional = refs->refs[i].optional;
		copy[i].name = refs->refs[i].name ? strdup(refs->refs[i].name) : NULL;
		if (copy[i].kind == NULL || copy[i].name == NULL) {
			for (size_t j = 0; j <= i; j++)
				free(copy[j].name);
			free(copy);
			free(ns);
			return kc_fail(err, KC_EINVAL, "reference %zu: bad kind or name", i);
		}
	}
	for (size_t i = 0; i < p->nrefs; i++)
		free(p->refs[i].name);
	free(p->refs);
	free(p->ns);
	p->refs = copy;
	p->nrefs = refs->count;
	p->ns = ns;
	return KC_OK;
}

static bool same_refs(const struct parent *p, const struct pod_refs *refs)
{
	if (p->ns == NULL || refs->namespace == NULL || strcmp(p->ns, refs->namespace) != 0 ||
	    p->nrefs != refs->count)
		return false;
	for (size_t i = 0; i < p->nrefs; i++) {
		const struct pod_ref *r = &refs->refs[i];

		if (r->kind == NULL || r->name == NULL || strcmp(p->refs[i].kind, r->kind) != 0 ||
		    strcmp(p->refs[i].name, r->name) != 0 || p->refs[i].optional != r->optional)
			return false;
	}
	return true;
}

kc_code api_client_track_refs(struct api_client *c, const char *uid, const struct pod_refs *refs,
                              struct kc_error *err)
{
	struct parent *p = find_parent(c, uid), **grown;
	kc_code rc;

	if (p != NULL) {
		if (same_refs(p, refs))
			return KC_OK; /* the refresh timer covers it */
		if ((rc = copy_refs(p, refs, err)) != KC_OK)
			return kc_error_prefix(err, "pod %s", uid);
		p->stale = p->req != NULL;
		p->next_fetch_ms = now_ms();
		return KC_OK;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->uid = strdup(uid)) == NULL) {
		free(p);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	if ((rc = copy_refs(p, refs, err)) != KC_OK) {
		parent_free(p);
		return kc_error_prefix(err, "pod %s", uid);
	}
	if (c->nparents == c->parents_cap) {
		size_t ncap = c->parents_cap ? c->parents_cap * 2 : 16;

		if ((grown = realloc(c->parents, ncap * sizeof(*grown))) == NULL) {
			parent_free(p);
			return kc_fail(err, KC_ENOMEM, "out of memory");
		}
		c->parents = grown;
		c->parents_cap = ncap;
	}
	p->next_fetch_ms = now_ms();
	c->parents[c->nparents++] = p;
	return KC_OK;
}

kc_code api_client_refresh_refs(struct api_client *c, const char *uid, struct kc_error *err)
{
	struct parent *p = find_parent(c, uid);

	if (p == NULL)
		return kc_fail(err, KC_ENOTFOUND, "pod %s: references not tracked", uid);
	if (p->req == NULL)
		p->next_fetch_ms = now_ms();
	return KC_OK;
}

void api_client_untrack_refs(struct api_client *c, const char *uid)
{
	struct parent *p = find_parent(c, uid);

	if (p != NULL)
		p->removed = true; /* reaped outside libcurl callbacks */
}

static void reap_parents(struct api_client *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->nparents; i++) {
		if (c->parents[i]->removed)
			parent_free(c->parents[i]);
		else
			c->parents[kept++] = c->parents[i];
	}
	c->nparents = kept;
}

/* ---- the loop ---- */

void api_client_set_unreachable(struct api_client *c, bool unreachable)
{
	c->unreachable = unreachable;
}

void api_client_relist(struct api_client *c)
{
	c->relist_requested = true;
}

/* Deadline of a watch still waiting for its response headers; INT64_MAX if none. */
static int64_t watch_header_deadline(const struct api_client *c)
{
	const struct request *r = c->pods_req;

	if (r == NULL || r->kind != REQ_WATCH || r->headers_done)
		return INT64_MAX;
	return r->started_ms + API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS;
}

long api_client_timeout_ms(struct api_client *c)
{
	int64_t now = now_ms(), due = now + 60000, t;
	long curl_ms = -1;

	if (c->relist_requested)
		return 0;
	curl_multi_timeout(c->multi, &curl_ms);
	if (curl_ms >= 0 && now + curl_ms < due)
		due = now + curl_ms;
	if (c->pods_state == PODS_IDLE && c->pods_next_ms < due)
		due = c->pods_next_ms;
	if ((t = watch_header_deadline(c)) < due)
		due = t;
	if (c->healthy && fetches_running(c) < MAX_PARALLEL_FETCHES)
		for (size_t i = 0; i < c->nparents; i++)
			if (!c->parents[i]->removed && c->parents[i]->req == NULL &&
			    c->parents[i]->next_fetch_ms < due)
				due = c->parents[i]->next_fetch_ms;
	for (size_t i = 0; i < c->nparents; i++)
		if (c->parents[i]->removed)
			return 0;
	return due <= now ? 0 : (long)(due - now);
}

kc_code api_client_wait(struct api_client *c, struct curl_waitfd *extra, unsigned nextra,
                        int max_ms, struct kc_error *err)
{
	long timeout = api_client_timeout_ms(c);
	CURLMcode mc;

	if (max_ms >= 0 && max_ms < timeout)
		timeout = max_ms;
	for (unsigned i = 0; i < nextra; i++)
		extra[i].revents = 0;
	mc = curl_multi_poll(c->multi, extra, nextra, (int)timeout, NULL);
	if (mc != CURLM_OK)
		return kc_fail(err, KC_EINTERNAL, "curl_multi_poll: %s", curl_multi_strerror(mc));
	return KC_OK;
}

void api_client_wakeup(struct api_client *c)
{
	curl_multi_wakeup(c->multi);
}

static void handle_done(struct api_client *c, CURL *e, CURLcode res)
{
	struct request *r = NULL;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
	if (r == NULL)
		return;
	if (!r->headers_done)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->kind == REQ_GET)
		get_done(c, r, res);
	else
		pods_request_done(c, r, res);
	request_free(r);
}

static void check_watch_deadline(struct api_client *c, int64_t now)
{
	struct request *r = c->pods_req;

	if (now < watch_header_deadline(c))
		return;
	report_request(c, API_CONTACT_FAILURE, "%s: no response within %d ms", r->desc,
	               API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS);
	c->pods_req = NULL;
	request_free(r);
	pods_retry_later(c, RETRY_FAST);
}

static kc_code perform(struct api_client *c, struct kc_error *err)
{
	CURLMcode mc;
	CURLMsg *msg;
	int running, left;

	if ((mc = curl_multi_perform(c->multi, &running)) != CURLM_OK)
		return kc_fail(err, KC_EINTERNAL, "curl_multi_perform: %s",
		               curl_multi_strerror(mc));
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			handle_done(c, msg->easy_handle, msg->data.result);
	return KC_OK;
}

kc_code api_client_step(struct api_client *c, struct kc_error *err)
{
	int64_t now;
	kc_code rc;

	if ((rc = perform(c, err)) != KC_OK)
		return rc;
	if (c->relist_requested) {
		c->relist_requested = false;
		request_free(c->pods_req);
		c->pods_req = NULL;
		reset_list(c);
		c->want_list = true;
		c->pods_state = PODS_IDLE;
		c->pods_next_ms = now_ms();
	}
	reap_parents(c);
	now = now_ms();
	check_watch_deadline(c, now);
	if (c->pods_state == PODS_IDLE && c->pods_next_ms <= now)
		start_pods(c);
	start_due_fetches(c, now);
	reap_parents(c);
	/* Kick off what was just added. */
	return perform(c, err);
}
