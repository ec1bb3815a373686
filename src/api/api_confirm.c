/*
 * api_confirm.c: the quorum reads the decision asks for before it withdraws
 * a bridge (decision.h W3) or collects a checkpoint: GET the parent pod with
 * no resourceVersion (etcd, not the watch cache) and GET nodes/<self>. One
 * read at a time and only when the agent asks: an idle node makes none.
 *
 * Pod: 404, a pod with another UID, or an ineligible one (the caller judges
 * eligibility) = gone; the pod itself otherwise. Node: 200 present, 404
 * missing. Anything else (network, 5xx, 401/403, garbage) is "unknown" and
 * the caller may ask again later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define CONFIRM_TIMEOUT_MS 10000

void api_confirm_free(struct api_client *c)
{
	api_request_free(c->confirm_req);
	c->confirm_req = NULL;
	free(c->confirm_uid);
	c->confirm_uid = NULL;
}

static void confirm_done(struct api_client *c, struct request *r, CURLcode res)
{
	enum api_confirm_result out = API_CONFIRM_UNKNOWN;
	json_t *obj = NULL;
	char *uid = c->confirm_uid;

	c->confirm_req = NULL;
	c->confirm_uid = NULL;
	if (res == CURLE_OK && r->status == 404) {
		api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP 404", r->desc);
		out = API_CONFIRM_ABSENT;
	} else if (res == CURLE_OK && r->status / 100 == 2) {
		obj = json_loadb(r->body.data ? r->body.data : "", r->body.len,
		                 JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(obj)) {
			api_report_request(c, API_CONTACT_SUCCESS, "%s: HTTP %ld", r->desc,
			                   r->status);
			out = API_CONFIRM_PRESENT;
		}
	} else {
		api_report_unusable(c, r, res);
	}
	if (uid == NULL) {
		if (c->cb.node_confirmed != NULL)
			c->cb.node_confirmed(c->cb.ctx, out);
	} else if (c->cb.pod_confirmed != NULL) {
		c->cb.pod_confirmed(c->cb.ctx, uid, out, out == API_CONFIRM_PRESENT ? obj : NULL);
	}
	json_decref(obj);
	free(uid);
}

/* A quorum GET of one object (ns NULL: cluster-scoped); uid NULL: the Node. */
static kc_code confirm_start(struct api_client *c, const char *ns, const char *resource,
                             const char *name, const char *uid, struct kc_error *err)
{
	char *path;
	kc_code rc = KC_OK;

	if (c->confirm_req != NULL)
		return kc_fail(err, KC_EAGAIN, "a quorum read is in flight");
	if ((path = api_object_path(ns, resource, name, "")) == NULL ||
	    (uid != NULL && (c->confirm_uid = strdup(uid)) == NULL)) {
		free(path);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	c->confirm_req = api_request_start(
	    c, REQ_GET, "GET",
	    &(struct api_http){.method = "GET", .path = path, .timeout_ms = CONFIRM_TIMEOUT_MS},
	    confirm_done);
	if (c->confirm_req == NULL) {
		free(c->confirm_uid);
		c->confirm_uid = NULL;
		rc = kc_fail(err, KC_ENOMEM, "GET %s: cannot start", path);
	} else {
		c->stats.gets++;
		c->stats.quorum_reads++;
	}
	free(path);
	return rc;
}

kc_code api_client_confirm_pod(struct api_client *c, const char *ns, const char *name,
                               const char *uid, struct kc_error *err)
{
	return confirm_start(c, ns, "pods", name, uid, err);
}

kc_code api_client_confirm_node(struct api_client *c, struct kc_error *err)
{
	return confirm_start(c, NULL, "nodes", c->node, NULL, err);
}
