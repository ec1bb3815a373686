/*
 * api_pods.c: the pods channel of the api layer: LIST
 * /api/v1/pods?fieldSelector=spec.nodeName=<node> in pages, then one long
 * WATCH from the list's resourceVersion, resumed when it ends and relisted on
 * 410 Gone (see api_client.h for the protocol and the retry policy).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "pod_spec.h"

#define LIST_TIMEOUT_MS 120000

static void pods_request_done(struct api_client *c, struct request *r, CURLcode res);

/* A watch answered 2xx: the channel is healthy again. */
static void watch_status(struct request *r)
{
	if (r->status / 100 != 2)
		return;
	r->c->healthy = true;
	r->c->failures = 0;
	api_report(r->c, API_CONTACT_SUCCESS, "%s: watch connected", r->desc);
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
	api_report(c, API_CONTACT_SUCCESS, "%s: %s event", r->desc,
	           watch_event_type_name(ev->type));
	if ((ev->type == WATCH_ADDED || ev->type == WATCH_MODIFIED) && c->cb.pod_changed)
		c->cb.pod_changed(c->cb.ctx, ev->object);
	else if (ev->type == WATCH_DELETED && c->cb.pod_deleted)
		c->cb.pod_deleted(c->cb.ctx, ev->object);
	return KC_OK;
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
	c->retry_refused = pace == RETRY_BACKOFF;
	if (pace == RETRY_AT_ONCE && c->failures == 1)
		delay = 0;
	else if (pace != RETRY_BACKOFF && (!c->unreachable || c->awaiting_answer))
		delay = api_jitter(c, API_RETRY_FAST_MS / 2, API_RETRY_FAST_MS);
	else
		delay = api_backoff_ms(c, c->failures, API_RETRY_FAST_MS, API_RETRY_MAX_MS);
	c->pods_next_ms = kc_clock_ms() + delay;
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

	/*
	 * The first page comes from the watch cache (resourceVersion=0, as the
	 * kubelet's reflectors list), unless a 410 said our view is too old;
	 * further pages carry only the continue token (the API refuses both).
	 */
	bool cached = cont == NULL && !c->list_quorum;

	if (node == NULL || (c->list_continue != NULL && cont == NULL) ||
	    asprintf(&path, "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&limit=%d%s%s%s", node,
	             API_LIST_PAGE, cached ? "&resourceVersion=0" : "", cont ? "&continue=" : "",
	             cont ? cont : "") < 0)
		path = NULL;
	curl_free(node);
	curl_free(cont);
	if (path == NULL)
		return false;
	c->pods_req = api_request_start(
	    c, REQ_LIST, "LIST",
	    &(struct api_http){.method = "GET", .path = path, .timeout_ms = LIST_TIMEOUT_MS},
	    pods_request_done);
	free(path);
	if (c->pods_req == NULL)
		return false;
	c->stats.lists++;
	if (!cached)
		c->stats.quorum_reads++;
	c->pods_state = PODS_LISTING;
	return true;
}

static bool start_watch(struct api_client *c)
{
	char *node = curl_easy_escape(NULL, c->node, 0);
	char *rv = curl_easy_escape(NULL, c->rv, 0);
	long timeout_s = (long)api_jitter(c, API_WATCH_MIN_S, API_WATCH_MAX_S);
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
	c->pods_req = api_request_start(
	    c, REQ_WATCH, "WATCH",
	    &(struct api_http){.method = "GET",
	                       .path = path,
	                       .timeout_ms = (timeout_s + API_WATCH_MARGIN_S) * 1000,
	                       .stream = true},
	    pods_request_done);
	free(path);
	if (c->pods_req == NULL)
		return false;
	watch_stream_init(&c->pods_req->ws, 0, on_watch_event, c->pods_req);
	c->pods_req->on_status = watch_status;
	c->stats.watches++;
	c->pods_state = PODS_WATCHING;
	return true;
}

void api_pods_start(struct api_client *c)
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
		api_report_request(c, API_CONTACT_FAILURE, "%s: invalid PodList: %s", r->desc,
		                   list ? "not an object" : jerr.text);
		goto bad;
	}
	if (collect_items(c, list, &err) != KC_OK) {
		api_report_request(c, API_CONTACT_FAILURE, "%s: invalid PodList: %s", r->desc,
		                   err.msg);
		goto bad;
	}
	rv = pod_meta_string(list, "resourceVersion");
	cont = pod_meta_string(list, "continue");
	if (c->list_rv == NULL && rv != NULL && (c->list_rv = strdup(rv)) == NULL)
		goto bad;
	api_report_request(c, API_CONTACT_SUCCESS, "%s: %zu pods", r->desc,
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
		c->pods_next_ms = kc_clock_ms();
		return;
	}
	json_decref(list);
	if (c->list_rv == NULL) {
		api_report(c, API_CONTACT_FAILURE, "%s: PodList without metadata.resourceVersion",
		           r->desc);
		reset_list(c);
		pods_retry_later(c, RETRY_FAST);
		return;
	}
	free(c->rv);
	c->rv = c->list_rv;
	c->list_rv = NULL;
	c->want_list = false;
	c->list_quorum = false;
	if (c->cb.pods_listed != NULL)
		c->cb.pods_listed(c->cb.ctx, c->list_items);
	api_cluster_listed(c);
	reset_list(c);
	/*
	 * A LIST is the one large transient allocation (body text plus a tree
	 * of every pod); glibc keeps freed heap unless asked, so give it back.
	 */
	malloc_trim(0);
	c->pods_state = PODS_IDLE;
	c->pods_next_ms = kc_clock_ms();
	return;
bad:
	json_decref(list);
	reset_list(c);
	pods_retry_later(c, RETRY_FAST);
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
		api_report_request(c, API_CONTACT_SUCCESS, "%s: 410 Gone, relisting", r->desc);
		kc_log(KC_LOG_INFO, "apiserver: %s: resourceVersion expired (410), relisting",
		       r->desc);
		c->want_list = true;
		c->list_quorum = true;
		reset_list(c);
		c->pods_next_ms = kc_clock_ms();
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
			c->pods_next_ms = kc_clock_ms();
			return;
		}
		api_report_request(c, API_CONTACT_FAILURE, "%s: %s", r->desc, err.msg);
		pods_retry_later(c, was_connected ? RETRY_AT_ONCE : RETRY_FAST);
		return;
	}
	outcome = api_report_unusable(c, r, res);
	if (r->kind == REQ_LIST)
		reset_list(c);
	pods_retry_later(c, outcome != API_CONTACT_FAILURE ? RETRY_BACKOFF
	                    : was_connected                ? RETRY_AT_ONCE
	                                                   : RETRY_FAST);
}

/* Deadline of a watch still waiting for its response headers; INT64_MAX if none. */
int64_t api_pods_watch_header_deadline(const struct api_client *c)
{
	const struct request *r = c->pods_req;

	if (r == NULL || r->kind != REQ_WATCH || r->headers_done)
		return INT64_MAX;
	return r->started_ms + API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS;
}

void api_pods_check_watch_deadline(struct api_client *c, int64_t now)
{
	struct request *r = c->pods_req;

	if (now < api_pods_watch_header_deadline(c))
		return;
	api_report_request(c, API_CONTACT_FAILURE, "%s: no response within %d ms", r->desc,
	                   API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS);
	c->pods_req = NULL;
	api_request_free(r);
	pods_retry_later(c, RETRY_FAST);
}

void api_pods_relist_now(struct api_client *c)
{
	api_request_free(c->pods_req);
	c->pods_req = NULL;
	reset_list(c);
	c->want_list = true;
	c->pods_state = PODS_IDLE;
	c->pods_next_ms = kc_clock_ms();
}

void api_pods_free(struct api_client *c)
{
	api_request_free(c->pods_req);
	c->pods_req = NULL;
	free(c->rv);
	c->rv = NULL;
	reset_list(c);
}
