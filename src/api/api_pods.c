/*
 * api_pods.c: the pods channel of the api layer: LIST
 * /api/v1/pods?fieldSelector=spec.nodeName=<node> in pages, then one long
 * WATCH from the list's resourceVersion, resumed when it ends and relisted on
 * 410 Gone (see api_client.h for the protocol and the retry policy).
 *
 * A LIST body is never held: its items are taken one at a time as the bytes
 * arrive (doc_json_list_feed) and only the wanted pods are kept, so any node
 * can be listed in the memory of one pod (issue 19: 48 pods of 1.4 MB bound
 * to a node by any namespace user make a 67 MB LIST).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"

#define LIST_TIMEOUT_MS 120000
#define LIST_META_CAP   (64u * 1024) /* a List's own metadata: resourceVersion, continue */
#define WATCH_SHORT_MS  1000         /* a watch ending sooner without an event is broken */

static void pods_request_done(struct api_client *c, struct request *r, CURLcode res);

/* A watch answered 2xx: the API is up. Not a reset of the backoff (a watch may connect and
 * fail at once, again and again: issue 19, finding 10). */
static void watch_status(struct request *r)
{
	if (r->status / 100 != 2)
		return;
	r->c->healthy = true;
	r->last_event_ms = kc_clock_ms();
	api_report(r->c, API_CONTACT_SUCCESS, "%s: watch connected", r->desc);
}

static kc_code on_watch_event(void *ctx, const struct watch_event *ev, struct kc_error *err)
{
	struct request *r = ctx;
	struct api_client *c = r->c;
	const char *msg;
	long code;

	c->stats.watch_events++;
	r->last_event_ms = kc_clock_ms();
	if (ev->type == WATCH_ERROR) {
		code = watch_status_code(ev->object);
		if (code == 410) {
			r->gone = true;
			return kc_fail(err, KC_EAGAIN, "watch: resourceVersion too old (410 Gone)");
		}
		r->error_event = code;
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
	api_sync_ok(c);
	api_report(c, API_CONTACT_SUCCESS, "%s: %s event", r->desc,
	           watch_event_type_name(ev->type));
	if ((ev->type == WATCH_ADDED || ev->type == WATCH_MODIFIED) && c->cb.pod_changed)
		c->cb.pod_changed(c->cb.ctx, ev->object);
	else if (ev->type == WATCH_DELETED && c->cb.pod_deleted)
		c->cb.pod_deleted(c->cb.ctx, ev->object);
	return KC_OK;
}

enum retry_pace {
	RETRY_AT_ONCE, /* a watch broke after a calm while: reconnect now (once) */
	RETRY_FAST,    /* network failure: within a second until declared unreachable */
	RETRY_BACKOFF, /* the API answered but the answer cannot be used: client-go's backoff */
};

static void pods_retry_later(struct api_client *c, enum retry_pace pace)
{
	int64_t now = kc_clock_ms(), delay;

	c->pods_state = PODS_IDLE;
	c->healthy = false;
	/* client-go starts its backoff over only after a calm while (api_client.h). */
	if (c->failures > 0 && now - c->last_retry_ms >= API_BACKOFF_RESET_MS)
		c->failures = 0;
	c->last_retry_ms = now;
	c->failures++;
	c->retry_answered = pace == RETRY_BACKOFF;
	if (pace == RETRY_AT_ONCE && c->failures == 1)
		delay = 0;
	else if (pace == RETRY_BACKOFF)
		delay = api_answer_backoff_ms(c, c->failures);
	else if (!c->unreachable || c->awaiting_answer)
		delay = api_jitter(c, API_RETRY_FAST_MS / 2, API_RETRY_FAST_MS);
	else
		delay = api_backoff_ms(c, c->failures, API_RETRY_FAST_MS, API_RETRY_MAX_MS);
	c->pods_next_ms = now + delay;
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

/*
 * A listed pod over API_MAX_LIST_ITEM bytes: only the start of it was kept.
 * It is named from the metadata found there and handed on as a stub marked
 * API_POD_UNREADABLE (name, namespace and uid only: nothing else is trusted
 * from a cut object), so the caller knows it exists and why it cannot be
 * checkpointed. It costs no more memory than the cap.
 */
static kc_code list_item_too_big(struct request *r, const char *item, size_t len, size_t full_len,
                                 struct kc_error *err)
{
	struct api_client *c = r->c;
	json_t *md = NULL, *stub, *keep;
	const char *v, *uid, *ns, *name;
	char why[256];
	size_t vlen;

	if (doc_json_prefix_member(item, len, "metadata", &v, &vlen))
		md = json_loadb(v, vlen, JSON_REJECT_DUPLICATES, NULL);
	uid = json_string_value(json_object_get(md, "uid"));
	ns = json_string_value(json_object_get(md, "namespace"));
	name = json_string_value(json_object_get(md, "name"));
	snprintf(why, sizeof(why),
	         "the pod is %zu bytes in the API, over the %u-byte cap of one "
	         "object",
	         full_len, (unsigned)API_MAX_LIST_ITEM);
	c->stats.pods_too_big++;
	kc_log(KC_LOG_ERR,
	       "apiserver: %s: items[%zu], pod %.63s/%.253s (%.40s): %s: not "
	       "checkpointable",
	       r->desc, r->lf.index, ns ? ns : "?", name ? name : "?", uid ? uid : "no uid", why);
	if (uid == NULL || ns == NULL || name == NULL) {
		json_decref(md);
		return KC_OK; /* nothing to name it by: the log line is all */
	}
	keep = json_pack("{s:s, s:s, s:s}", "uid", uid, "namespace", ns, "name", name);
	json_decref(md);
	stub = keep == NULL ? NULL
	                    : json_pack("{s:s, s:s, s:o, s:s}", "kind", "Pod", "apiVersion", "v1",
	                                "metadata", keep, API_POD_UNREADABLE, why);
	if (stub == NULL || json_array_append_new(c->list_items, stub) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
}

/*
 * One item of the LIST being read: parsed, offered to pod_wanted, and kept
 * (with the kind and apiVersion a List's items lack) or dropped at once.
 */
static kc_code on_list_item(void *ctx, const char *item, size_t len, size_t full_len,
                            struct kc_error *err)
{
	struct request *r = ctx;
	struct api_client *c = r->c;
	json_error_t jerr;
	json_t *pod;

	if (c->list_items == NULL && (c->list_items = json_array()) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	if (len < full_len)
		return list_item_too_big(r, item, len, full_len, err);
	pod = json_loadb(item, len, JSON_REJECT_DUPLICATES, &jerr);
	if (pod == NULL || !json_is_object(pod)) {
		json_decref(pod);
		return kc_fail(err, KC_EINVAL, "items[%zu]: %s", r->lf.index,
		               pod ? "not an object" : jerr.text);
	}
	if (c->cb.pod_wanted != NULL && !c->cb.pod_wanted(c->cb.ctx, pod)) {
		json_decref(pod);
		return KC_OK;
	}
	if (json_object_get(pod, "kind") == NULL)
		json_object_set_new(pod, "kind", json_string("Pod"));
	if (json_object_get(pod, "apiVersion") == NULL)
		json_object_set_new(pod, "apiVersion", json_string("v1"));
	if (json_array_append_new(c->list_items, pod) != 0)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	return KC_OK;
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
	doc_json_list_feed_init(&c->pods_req->lf, API_MAX_LIST_ITEM, LIST_META_CAP, on_list_item,
	                        c->pods_req);
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

/* A LIST page arrived whole with 2xx (its items already taken): page on or start watching. */
static void list_page_done(struct api_client *c, struct request *r)
{
	struct kc_error err;
	const char *rv, *cont;
	json_t *meta = NULL;

	if (doc_json_list_feed_finish(&r->lf, &err) != KC_OK) {
		c->stats.requests_ok++;
		api_sync_error(c, "%s: invalid PodList: %s", r->desc, err.msg);
		goto bad;
	}
	if (r->lf.meta.len > 0)
		meta = json_loadb(r->lf.meta.data, r->lf.meta.len, JSON_REJECT_DUPLICATES, NULL);
	rv = json_string_value(json_object_get(meta, "resourceVersion"));
	cont = json_string_value(json_object_get(meta, "continue"));
	if (c->list_rv == NULL && rv != NULL && (c->list_rv = strdup(rv)) == NULL)
		goto oom;
	api_report_request(c, API_CONTACT_SUCCESS, "%s: %zu pods", r->desc, r->lf.index);
	c->healthy = true;
	free(c->list_continue);
	c->list_continue = NULL;
	if (cont != NULL && cont[0] != '\0') {
		if ((c->list_continue = strdup(cont)) == NULL)
			goto oom;
		json_decref(meta);
		c->pods_state = PODS_IDLE;
		c->pods_next_ms = kc_clock_ms();
		return;
	}
	json_decref(meta);
	meta = NULL;
	if (c->list_rv == NULL) {
		api_sync_error(c, "%s: PodList without metadata.resourceVersion", r->desc);
		goto bad;
	}
	free(c->rv);
	c->rv = c->list_rv;
	c->list_rv = NULL;
	c->want_list = false;
	c->list_quorum = false;
	api_sync_ok(c);
	if (c->list_items == NULL)
		c->list_items = json_array();
	if (c->cb.pods_listed != NULL && c->list_items != NULL)
		c->cb.pods_listed(c->cb.ctx, c->list_items);
	api_cluster_listed(c);
	reset_list(c);
	/*
	 * The wanted pods of a LIST are its one large transient allocation;
	 * glibc keeps freed heap unless asked, so give it back.
	 */
	malloc_trim(0);
	c->pods_state = PODS_IDLE;
	c->pods_next_ms = kc_clock_ms();
	return;
oom:
	kc_log(KC_LOG_ERR, "apiserver: %s: out of memory", r->desc);
bad:
	json_decref(meta);
	reset_list(c);
	pods_retry_later(c, RETRY_BACKOFF);
}

/*
 * A connected watch sent an ERROR event (other than 410): 5xx and 429 are
 * failures, 401/403 refusals, anything else an answer this node cannot use.
 * Whichever, the watch failed at once: back off (issue 19, finding 10).
 */
static void watch_error_event(struct api_client *c, struct request *r)
{
	long code = r->error_event;

	if (code == 401 || code == 403) {
		api_report_request(c, API_CONTACT_AUTH_ERROR, "%s: %s", r->desc, r->abort_err.msg);
	} else if (code >= 500 || code == 429) {
		api_report_request(c, API_CONTACT_FAILURE, "%s: %s", r->desc, r->abort_err.msg);
	} else {
		c->stats.requests_ok++;
		api_sync_error(c, "%s: %s", r->desc, r->abort_err.msg);
	}
	pods_retry_later(c, RETRY_BACKOFF);
}

/*
 * A watch ended cleanly. At timeoutSeconds that is routine: watch again from
 * the last resourceVersion. A watch that ends within a second without an
 * event is broken (client-go's watchHandler: "very short watch"): back off.
 */
static void watch_ended(struct api_client *c, struct request *r)
{
	struct kc_error err;
	int64_t now = kc_clock_ms();

	if (watch_stream_finish(&r->ws, &err) != KC_OK) {
		api_report_request(c, API_CONTACT_FAILURE, "%s: %s", r->desc, err.msg);
		pods_retry_later(c, RETRY_AT_ONCE);
		return;
	}
	c->stats.requests_ok++;
	if (r->ws.events == 0 && now - r->started_ms < WATCH_SHORT_MS) {
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: ended within %d ms without an event; backing off", r->desc,
		       WATCH_SHORT_MS);
		pods_retry_later(c, RETRY_BACKOFF);
		return;
	}
	kc_log(KC_LOG_DEBUG, "apiserver: %s: ended, re-watching", r->desc);
	c->pods_next_ms = now;
}

static void pods_request_done(struct api_client *c, struct request *r, CURLcode res)
{
	enum api_contact outcome;
	bool was_connected = r->kind == REQ_WATCH && r->headers_done && r->status / 100 == 2;

	c->pods_req = NULL;
	c->pods_state = PODS_IDLE;
	if (r->gone || r->status == 410) {
		/* The API answered: our resourceVersion is too old. Relist, with backoff. */
		api_report_request(c, API_CONTACT_SUCCESS, "%s: 410 Gone, relisting", r->desc);
		kc_log(KC_LOG_INFO, "apiserver: %s: resourceVersion expired (410), relisting",
		       r->desc);
		c->want_list = true;
		c->list_quorum = true;
		reset_list(c);
		pods_retry_later(c, RETRY_BACKOFF);
		return;
	}
	if (r->kind == REQ_WATCH && r->error_event >= 0) {
		watch_error_event(c, r);
		return;
	}
	if (res == CURLE_OK && r->status / 100 == 2) {
		if (r->kind == REQ_LIST)
			list_page_done(c, r);
		else
			watch_ended(c, r);
		return;
	}
	outcome = api_report_unusable(c, r, res);
	if (r->kind == REQ_LIST)
		reset_list(c);
	pods_retry_later(c, outcome != API_CONTACT_FAILURE ? RETRY_BACKOFF
	                    : was_connected                ? RETRY_AT_ONCE
	                                                   : RETRY_FAST);
}

int64_t api_pods_watch_header_deadline(const struct api_client *c)
{
	const struct request *r = c->pods_req;

	if (r == NULL || r->kind != REQ_WATCH)
		return INT64_MAX;
	if (r->headers_done)
		return r->last_event_ms + c->watch_silence_ms;
	return r->started_ms + API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS;
}

void api_pods_check_watch_deadline(struct api_client *c, int64_t now)
{
	struct request *r = c->pods_req;
	bool connected;

	if (now < api_pods_watch_header_deadline(c))
		return;
	connected = r->headers_done;
	if (connected)
		api_report_request(c, API_CONTACT_FAILURE,
		                   "%s: no event and no bookmark for %lld s (a dead apiserver "
		                   "behind a connection kept open?)",
		                   r->desc, (long long)(c->watch_silence_ms / 1000));
	else
		api_report_request(c, API_CONTACT_FAILURE, "%s: no response within %d ms", r->desc,
		                   API_CONNECT_TIMEOUT_MS + API_RESPONSE_TIMEOUT_MS);
	c->pods_req = NULL;
	api_request_free(r);
	pods_retry_later(c, connected ? RETRY_AT_ONCE : RETRY_FAST);
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
