/*
 * api_mirror.c: DELETE of a withdrawn bridge's mirror pod, sent the moment
 * its manifest is gone (api_client_delete_mirror in api_client.h).
 *
 * Why the agent does what the kubelet would do anyway: the kubelet deletes
 * an orphaned mirror pod from its housekeeping (pkg/kubelet/kubelet_pods.go,
 * HandlePodCleanups -> DeleteMirrorPod), once the static pod has finished
 * terminating, synchronously in its sync loop. In a self-hosted control
 * plane the API by then is the returning parent kube-apiserver, which may
 * hold its port without serving while etcd is down: every call then waits
 * out a 10 s TLS handshake and the kubelet starts no container meanwhile,
 * not even etcd's (docs/design.md §2a). Sent right after the file is
 * removed, the DELETE reaches the bridged API while it still serves; the
 * kubelet, which has already dropped the static pod (HandlePodRemoves),
 * then drops the mirror pod too and housekeeping finds nothing to delete.
 *
 * Best effort and never a contact: it is the kubelet's call the agent makes
 * early, with the kubelet's own options (grace 0, the UID as precondition,
 * so only the object the agent saw is deleted). 404 and 409 (the UID
 * changed) mean there is nothing of ours to delete. A failure is logged and
 * left to the kubelet, whose housekeeping deletes it as it always did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_log.h"

#define MIRROR_TIMEOUT_MS 5000

void api_mirror_free(struct api_client *c)
{
	size_t i;

	for (i = 0; i < API_MIRROR_DELETES_MAX; i++) {
		api_request_free(c->mirror_req[i]);
		c->mirror_req[i] = NULL;
	}
}

static void mirror_done(struct api_client *c, struct request *r, CURLcode res)
{
	size_t i;

	for (i = 0; i < API_MIRROR_DELETES_MAX; i++)
		if (c->mirror_req[i] == r)
			c->mirror_req[i] = NULL;
	if (res == CURLE_OK && r->status / 100 == 2) {
		c->stats.mirror_deletes++;
		kc_log(KC_LOG_INFO, "apiserver: %s: HTTP %ld (the bridge's mirror pod is gone)",
		       r->desc, r->status);
	} else if (res == CURLE_OK && (r->status == 404 || r->status == 409)) {
		kc_log(KC_LOG_INFO, "apiserver: %s: HTTP %ld (no mirror pod of ours to delete)",
		       r->desc, r->status);
	} else {
		c->stats.mirror_delete_failures++;
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: %s%s%s (the kubelet deletes the mirror pod itself; not a "
		       "sign of an outage)",
		       r->desc, res != CURLE_OK ? curl_easy_strerror(res) : "HTTP error",
		       res != CURLE_OK && r->errbuf[0] ? ": " : "",
		       res != CURLE_OK ? r->errbuf : "");
	}
}

/* A free slot, or NULL when API_MIRROR_DELETES_MAX are in flight. */
static struct request **free_slot(struct api_client *c)
{
	size_t i;

	for (i = 0; i < API_MIRROR_DELETES_MAX; i++)
		if (c->mirror_req[i] == NULL)
			return &c->mirror_req[i];
	return NULL;
}

kc_code api_client_delete_mirror(struct api_client *c, const char *ns, const char *name,
                                 const char *uid, struct kc_error *err)
{
	char *ens, *ename, *path = NULL, *body = NULL;
	struct request **slot = free_slot(c);
	json_t *options;

	if (slot == NULL)
		return kc_fail(err, KC_EAGAIN, "%d mirror pod deletions are in flight",
		               API_MIRROR_DELETES_MAX);
	ens = curl_easy_escape(NULL, ns, 0);
	ename = curl_easy_escape(NULL, name, 0);
	if (ens == NULL || ename == NULL ||
	    asprintf(&path, "/api/v1/namespaces/%s/pods/%s", ens, ename) < 0)
		path = NULL;
	curl_free(ens);
	curl_free(ename);
	options = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
	                    "gracePeriodSeconds", 0, "preconditions", "uid", uid);
	if (options != NULL)
		body = json_dumps(options, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(options);
	if (path != NULL && body != NULL)
		*slot = api_request_start(c, REQ_POST, "DELETE",
		                          &(struct api_http){.method = "DELETE",
		                                             .path = path,
		                                             .body = body,
		                                             .body_len = strlen(body),
		                                             .timeout_ms = MIRROR_TIMEOUT_MS},
		                          mirror_done);
	free(path);
	free(body);
	if (*slot == NULL)
		return kc_fail(err, KC_ENOMEM, "DELETE pod %s/%s: cannot start the request", ns,
		               name);
	return KC_OK;
}
