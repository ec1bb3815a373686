/*
 * api_events.c: POST /api/v1/namespaces/<ns>/events, one Event at a time
 * (api_client_post_event in api_client.h). The agent queues and aggregates;
 * this file only carries one body to the apiserver and says how it went.
 *
 * A node may create Events: the Node authorizer leaves them to RBAC, whose
 * system:node role grants create/patch/update on core events. A 401/403
 * here is therefore reported as a refusal of this Event, not as an API that
 * refuses our credentials (that is the pods channel's business).
 *
 * The outcome of an Event never feeds reachability (issue 19, finding 9): the
 * EventRateLimit admission plugin answers 429, a failing webhook 5xx, and a
 * busy apiserver may let a POST time out while the pods watch is healthy.
 * None of that says whether the kubelet can get its pods, so a failed Event
 * is logged and counted here and retried by the agent with its own backoff
 * (agent_events.c); it is never reported as a contact.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"
#include "kc_log.h"

#define EVENT_TIMEOUT_MS 10000

void api_events_free(struct api_client *c)
{
	api_request_free(c->event_req);
	c->event_req = NULL;
}

static void event_done(struct api_client *c, struct request *r, CURLcode res)
{
	enum api_post_result out;
	char detail[512];

	c->event_req = NULL;
	snprintf(detail, sizeof(detail), "%s: HTTP %ld", r->desc, r->status);
	if (res == CURLE_OK && r->status / 100 == 2) {
		c->stats.requests_ok++;
		out = API_POST_DONE;
	} else if (res == CURLE_OK && r->status == 404) {
		c->stats.requests_ok++;
		out = API_POST_NOT_FOUND;
	} else if (res == CURLE_OK && r->status / 100 == 4 && r->status != 429) {
		/* The API is up and answered: it refused this Event. */
		c->stats.requests_ok++;
		snprintf(detail, sizeof(detail), "%s: HTTP %ld: %.300s", r->desc, r->status,
		         r->body.data != NULL ? r->body.data : "");
		out = API_POST_REJECTED;
	} else {
		if (res != CURLE_OK)
			snprintf(detail, sizeof(detail), "%s: %s%s%s", r->desc,
			         curl_easy_strerror(res), r->errbuf[0] ? ": " : "", r->errbuf);
		c->stats.event_failures++;
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s (Event not recorded, retried later; not a "
		       "sign of an outage)",
		       detail);
		out = API_POST_FAILED;
	}
	if (c->cb.event_posted != NULL)
		c->cb.event_posted(c->cb.ctx, c->event_id, out, detail);
}

static kc_code start_event(struct api_client *c, const char *method, const char *ns,
                           const char *name, const char *body, const char *type, uint64_t id,
                           struct kc_error *err)
{
	char *path;
	kc_code rc = KC_OK;

	if (c->event_req != NULL)
		return kc_fail(err, KC_EAGAIN, "an Event request is already in flight");
	if ((path = api_object_path(ns, "events", name, "")) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	c->event_req = api_request_start(c, REQ_POST, method,
	                                 &(struct api_http){.method = method,
	                                                    .path = path,
	                                                    .body = body,
	                                                    .body_len = strlen(body),
	                                                    .content_type = type,
	                                                    .timeout_ms = EVENT_TIMEOUT_MS},
	                                 event_done);
	if (c->event_req == NULL)
		rc = kc_fail(err, KC_ENOMEM, "%s %s: cannot start the request", method, path);
	else
		c->event_id = id;
	free(path);
	return rc;
}

kc_code api_client_post_event(struct api_client *c, const char *ns, const char *body, uint64_t id,
                              struct kc_error *err)
{
	return start_event(c, "POST", ns, NULL, body, NULL, id, err);
}

kc_code api_client_patch_event(struct api_client *c, const char *ns, const char *name,
                               const char *body, uint64_t id, struct kc_error *err)
{
	return start_event(c, "PATCH", ns, name, body, "application/merge-patch+json", id, err);
}
