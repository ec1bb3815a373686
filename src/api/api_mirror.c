/*
 * api_mirror.c: DELETE of the mirror pods of bridges about to be withdrawn,
 * sent and awaited (a bounded time) just before their manifests are removed
 * (api_client_delete_mirrors in api_client.h).
 *
 * Why the agent does what the kubelet would do anyway: the kubelet deletes
 * an orphaned mirror pod from its housekeeping (pkg/kubelet/kubelet_pods.go,
 * HandlePodCleanups -> DeleteMirrorPod), once the static pod has finished
 * terminating, synchronously in its sync loop. In a self-hosted control
 * plane the API by then is the returning parent kube-apiserver, which may
 * hold its port without serving while etcd is down: every call then waits
 * out a 10 s TLS handshake and the kubelet starts no container meanwhile,
 * not even etcd's (docs/design.md §2a). Before the withdrawal the bridged
 * API still serves. The manifest goes right after the answer, so the
 * kubelet sees the file removed (inotify, at once) before the watch brings
 * it the deletion (milliseconds later): it has dropped the static pod
 * (HandlePodRemoves) and drops the mirror pod without recreating it, and
 * housekeeping finds nothing to delete. Sent after the removal instead, the
 * DELETE races the bridges' SIGTERM and lost it in a measured reboot.
 *
 * Its own multi handle, so that awaiting it runs no other request's
 * callback in the middle of the agent's pass. Best effort and never a
 * contact: the kubelet's own call (grace 0, the UID as precondition, so only
 * the object the agent saw is deleted); 404 and 409 (the UID changed) mean
 * nothing of ours is left; a failure is logged and left to the kubelet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"

/* One DELETE of the batch. */
struct mirror_delete {
	CURL *easy;
	struct curl_slist *headers;
	char desc[600];
	char errbuf[CURL_ERROR_SIZE];
	bool done;
	CURLcode res;
};

/* The answer's body says nothing the agent needs: it is not kept. */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static kc_code start_one(struct api_client *c, CURLM *m, const struct api_mirror_ref *ref,
                         long timeout_ms, struct mirror_delete *d, struct kc_error *err)
{
	char *path = api_object_path(ref->ns, "pods", ref->name, ""), *body = NULL;
	json_t *options =
	    json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion", "v1",
	              "gracePeriodSeconds", 0, "preconditions", "uid", ref->uid);
	/* A private multi handle opens its own connection: the pool's "fresh
	 * connection next" (after a 401/403) is for the pool's next request. */
	bool fresh_next = c->t.fresh_next;
	kc_code rc = KC_ENOMEM;

	if (path != NULL && options != NULL)
		body = json_dumps(options, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(d->desc, sizeof(d->desc), "DELETE pod %s/%s", ref->ns, ref->name);
	if (body != NULL)
		rc = api_transport_easy(&c->t,
		                        &(struct api_http){.method = "DELETE",
		                                           .path = path,
		                                           .body = body,
		                                           .body_len = strlen(body),
		                                           .timeout_ms = timeout_ms},
		                        &d->easy, &d->headers, err);
	else
		kc_fail(err, KC_ENOMEM, "%s: out of memory", d->desc);
	c->t.fresh_next = fresh_next;
	json_decref(options);
	free(path);
	free(body);
	if (rc != KC_OK)
		return rc;
	curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->easy, CURLOPT_PRIVATE, (char *)d);
	if (curl_multi_add_handle(m, d->easy) != CURLM_OK)
		return kc_fail(err, KC_ENOMEM, "%s: cannot start the request", d->desc);
	return KC_OK;
}

static void report_one(struct api_client *c, struct mirror_delete *d)
{
	long status = 0;

	if (d->easy != NULL)
		curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	if (d->done && d->res == CURLE_OK && status / 100 == 2) {
		c->stats.mirror_deletes++;
		kc_log(KC_LOG_INFO, "apiserver: %s: HTTP %ld (the bridge's mirror pod is gone)",
		       d->desc, status);
	} else if (d->done && d->res == CURLE_OK && (status == 404 || status == 409)) {
		kc_log(KC_LOG_INFO, "apiserver: %s: HTTP %ld (no mirror pod of ours to delete)",
		       d->desc, status);
	} else {
		char why[CURL_ERROR_SIZE + 64];

		if (!d->done)
			snprintf(why, sizeof(why), "no answer in time");
		else if (d->res != CURLE_OK)
			snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(d->res),
			         d->errbuf[0] ? ": " : "", d->errbuf);
		else
			snprintf(why, sizeof(why), "HTTP %ld", status);
		c->stats.mirror_delete_failures++;
		kc_log(KC_LOG_WARNING,
		       "apiserver: %s: %s (the kubelet deletes the mirror pod itself; not a sign "
		       "of an outage)",
		       d->desc, why);
	}
}

/* Drive m until every transfer is done or deadline_ms (kc_clock) passes. */
static void await_all(CURLM *m, int64_t deadline_ms)
{
	int running = 1, left;
	CURLMsg *msg;
	int64_t now;

	while (running > 0 && (now = kc_clock_ms()) < deadline_ms) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct mirror_delete *d = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&d);
			d->done = true;
			d->res = msg->data.result;
		}
		if (running > 0)
			curl_multi_poll(m, NULL, 0, (int)(deadline_ms - now), NULL);
	}
}

kc_code api_client_delete_mirrors(struct api_client *c, const struct api_mirror_ref *refs, size_t n,
                                  long timeout_ms, struct kc_error *err)
{
	struct mirror_delete *d;
	CURLM *m;
	kc_code rc = KC_OK;
	size_t i;

	if (n == 0)
		return KC_OK;
	d = calloc(n, sizeof(*d));
	m = curl_multi_init();
	if (d == NULL || m == NULL) {
		free(d);
		if (m != NULL)
			curl_multi_cleanup(m);
		return kc_fail(err, KC_ENOMEM, "mirror pod deletion: out of memory");
	}
	for (i = 0; i < n && rc == KC_OK; i++)
		rc = start_one(c, m, &refs[i], timeout_ms, &d[i], err);
	if (rc == KC_OK)
		await_all(m, kc_clock_ms() + timeout_ms);
	for (i = 0; i < n; i++) {
		if (rc == KC_OK)
			report_one(c, &d[i]);
		if (d[i].easy != NULL) {
			curl_multi_remove_handle(m, d[i].easy);
			curl_easy_cleanup(d[i].easy);
		}
		api_transport_free_headers(d[i].headers);
	}
	curl_multi_cleanup(m);
	free(d);
	return rc;
}
