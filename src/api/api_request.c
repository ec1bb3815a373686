/*
 * api_request.c: one request's life in the api layer: started on the shared
 * transport, bytes collected (or fed to the watch decoder) inside libcurl's
 * callbacks, and the outcome classified and reported for the caller's
 * reachability tracker. What a completed request means is decided by its
 * done function (api_pods.c, api_refs.c), called from api_client_step.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"

#define MAX_ERROR_BODY        (1u * 1024 * 1024)
#define SUCCESS_REPORT_GAP_MS 1000

/* xorshift64*: jitter only, no security role. */
static uint64_t rnd(struct api_client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 2685821657736338717ULL;
}

int64_t api_jitter(struct api_client *c, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rnd(c) % (uint64_t)(hi - lo + 1));
}

int64_t api_backoff_ms(struct api_client *c, unsigned failures, int64_t first, int64_t cap)
{
	int64_t d = first;

	for (unsigned i = 1; i < failures && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return api_jitter(c, d / 2, d);
}

int64_t api_answer_backoff_ms(struct api_client *c, unsigned failures)
{
	int64_t d = API_BACKOFF_FIRST_MS;

	for (unsigned i = 1; i < failures && d < API_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > API_BACKOFF_MAX_MS)
		d = API_BACKOFF_MAX_MS;
	return api_jitter(c, d, 2 * d);
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
	int64_t now = kc_clock_ms();

	vsnprintf(detail, sizeof(detail), fmt, ap);
	if (outcome == API_CONTACT_SUCCESS) {
		if (!changed && now - c->last_success_report_ms < SUCCESS_REPORT_GAP_MS)
			return;
		c->last_success_report_ms = now;
		if (changed && c->reported_any)
			kc_log(KC_LOG_NOTICE, "apiserver: contact restored: %s", detail);
	} else {
		copy_truncated(c->stats.last_error, sizeof(c->stats.last_error), detail);
		/* What a refusal means for the bridge is the caller's (agent_sync.c) to say. */
		if (changed)
			kc_log(KC_LOG_WARNING, "apiserver: %s%s", detail,
			       outcome == API_CONTACT_AUTH_ERROR
			           ? " (the API is up but refuses our credentials)"
			           : "");
	}
	c->reported_any = true;
	c->last_outcome = outcome;
	if (c->cb.contact != NULL)
		c->cb.contact(c->cb.ctx, outcome, detail);
}

void api_report(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, outcome, fmt, ap);
	va_end(ap);
}

void api_report_request(struct api_client *c, enum api_contact outcome, const char *fmt, ...)
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

void api_sync_error(struct api_client *c, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	c->stats.sync_errors++;
	/* Every time: each is a retry at backoff pace, never more than about one a second. */
	kc_log(KC_LOG_ERR,
	       "apiserver: %s: the API is up but this node cannot sync with its answer "
	       "(never treated as an outage; retried with backoff)",
	       detail);
	copy_truncated(c->stats.sync_error, sizeof(c->stats.sync_error), detail);
	/* It goes into the status file (JSON): no byte a cut could make invalid UTF-8. */
	for (char *q = c->stats.sync_error; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
			*q = '?';
	/* The API answered: for reachability that is a success. */
	api_report(c, API_CONTACT_SUCCESS, "%s", detail);
	if (c->cb.sync_error != NULL)
		c->cb.sync_error(c->cb.ctx, detail);
}

void api_sync_ok(struct api_client *c)
{
	if (c->stats.sync_error[0] == '\0')
		return;
	kc_log(KC_LOG_NOTICE, "apiserver: in sync again (was: %s)", c->stats.sync_error);
	c->stats.sync_error[0] = '\0';
	if (c->cb.sync_error != NULL)
		c->cb.sync_error(c->cb.ctx, NULL);
}

char *api_object_path(const char *ns, const char *resource, const char *name, const char *query)
{
	char *ens = ns != NULL ? curl_easy_escape(NULL, ns, 0) : NULL;
	char *ename = name != NULL ? curl_easy_escape(NULL, name, 0) : NULL;
	char *path = NULL;

	if ((ns != NULL && ens == NULL) || (name != NULL && ename == NULL) ||
	    asprintf(&path, "/api/v1/%s%s%s%s%s%s%s", ns ? "namespaces/" : "", ns ? ens : "",
	             ns ? "/" : "", resource, name ? "/" : "", name ? ename : "", query) < 0)
		path = NULL;
	curl_free(ens);
	curl_free(ename);
	return path;
}

/* ---- one request ---- */

void api_request_free(struct request *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->c->t.multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	api_transport_free_headers(r->headers);
	free(r->desc);
	kc_buf_free(&r->body);
	if (r->kind == REQ_WATCH)
		watch_stream_free(&r->ws);
	if (r->kind == REQ_LIST)
		doc_json_list_feed_free(&r->lf);
	free(r);
}

/*
 * The answer's headers are in: which HTTP version carried it, and whether a
 * new connection (so a TLS handshake, which costs the apiserver more than a
 * GET) was opened for it; each is counted and logged.
 */
static void note_connection(struct request *r)
{
	long version = 0, fresh = 0;

	if (curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK)
		r->c->t.multiplexed = version == CURL_HTTP_VERSION_2_0;
	if (!r->c->t.tls || curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &fresh) != CURLE_OK ||
	    fresh <= 0)
		return;
	r->c->stats.tls_handshakes++;
	kc_log(KC_LOG_INFO, "apiserver: new TLS connection (%s), %llu since start",
	       r->c->t.multiplexed ? "HTTP/2, shared by every request" : "HTTP/1.1",
	       r->c->stats.tls_handshakes);
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
			note_connection(r);
			if (status == 401 || status == 403)
				api_transport_auth_failed(&r->c->t);
			if (r->on_status != NULL)
				r->on_status(r);
		}
	}
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct request *r = ud;
	size_t len = size * n;
	kc_code rc;

	if (r->kind == REQ_WATCH && r->status / 100 == 2)
		rc = watch_stream_feed(&r->ws, p, len, &r->abort_err);
	else if (r->kind == REQ_LIST && r->status / 100 == 2)
		rc = doc_json_list_feed_bytes(&r->lf, p, len, &r->abort_err) == KC_OK
		         ? KC_OK
		         : kc_error_prefix(&r->abort_err, "invalid PodList");
	else
		rc = kc_buf_append(&r->body, p, len, &r->abort_err);
	if (rc != KC_OK) {
		r->abort_rc = rc;
		return 0; /* CURLE_WRITE_ERROR ends the transfer */
	}
	return len;
}

struct request *api_request_start(struct api_client *c, enum req_kind kind, const char *verb,
                                  const struct api_http *http, request_done_fn done)
{
	struct kc_error err;
	struct request *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->c = c;
	r->kind = kind;
	r->done = done;
	r->started_ms = kc_clock_ms();
	r->error_event = -1;
	kc_buf_init(&r->body, kind == REQ_GET ? API_MAX_OBJECT_BODY : MAX_ERROR_BODY);
	if (asprintf(&r->desc, "%s %s", verb, http->path) < 0) {
		r->desc = NULL;
		goto fail;
	}
	if (api_transport_easy(&c->t, http, &r->easy, &r->headers, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "apiserver: %s: %s", r->desc, err.msg);
		goto fail;
	}
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	if (curl_multi_add_handle(c->t.multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		goto fail;
	}
	kc_log(KC_LOG_DEBUG, "apiserver: %s", r->desc);
	return r;
fail:
	api_request_free(r);
	return NULL;
}

/*
 * Classify a finished transfer that did not end in a usable answer. Returns
 * the outcome and writes the detail; *unreadable: the API answered and the
 * answer cannot be used (a body over its cap or malformed, which aborted the
 * transfer from our side, or a 4xx other than 401/403).
 */
static enum api_contact classify(const struct request *r, CURLcode res, char *detail, size_t n,
                                 bool *unreadable)
{
	*unreadable = false;
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && r->abort_rc != KC_OK)) {
		snprintf(detail, n, "%s: %s%s%s", r->desc, curl_easy_strerror(res),
		         r->errbuf[0] ? ": " : "", r->errbuf);
		return API_CONTACT_FAILURE;
	}
	if (res != CURLE_OK) {
		snprintf(detail, n, "%.200s: %.300s", r->desc, r->abort_err.msg);
		*unreadable = true;
		return API_CONTACT_SUCCESS;
	}
	snprintf(detail, n, "%s: HTTP %ld", r->desc, r->status);
	if (r->status == 401 || r->status == 403)
		return API_CONTACT_AUTH_ERROR;
	if (r->status >= 500 || r->status == 429 || r->status < 200)
		return API_CONTACT_FAILURE;
	*unreadable = true;
	return API_CONTACT_SUCCESS;
}

enum api_contact api_report_unusable(struct api_client *c, const struct request *r, CURLcode res)
{
	char detail[512];
	bool unreadable;
	enum api_contact outcome = classify(r, res, detail, sizeof(detail), &unreadable);

	if (unreadable) {
		c->stats.requests_ok++;
		api_sync_error(c, "%s", detail);
		return outcome;
	}
	api_report_request(c, outcome, "%s", detail);
	return outcome;
}
