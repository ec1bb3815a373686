/*
 * api_client.c: the public face of the api layer (see api_client.h for the
 * protocol and the policy): creating and freeing the client, the loop's
 * timers and wait, and each step: drive transfers, hand finished requests to
 * their done functions, start what is due. The work itself lives beside it
 * (api_int.h lists the files: transport, request, pods channel, references).
 *
 * Every request owns one easy handle; its completion is handled in
 * api_client_step, never inside a libcurl callback, except watch events,
 * which are delivered as they arrive. Anything a user callback asks for from
 * inside a libcurl callback (relist, untrack) is recorded and carried out by
 * the next step, because libcurl forbids removing handles from within its
 * callbacks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "api_int.h"
#include "kc_clock.h"
#include "kc_log.h"

void api_client_get_stats(const struct api_client *c, struct api_stats *out)
{
	*out = c->stats;
	out->connections = c->t.connections;
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
	c->watch_silence_ms = API_WATCH_SILENCE_MS;
	if ((rc = api_transport_init(&c->t, kc, err)) != KC_OK) {
		free(c);
		return rc;
	}
	if ((c->node = strdup(node)) == NULL) {
		api_client_free(c);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != (ssize_t)sizeof(c->rng))
		c->rng = (uint64_t)kc_clock_ms() ^ ((uint64_t)getpid() << 32);
	c->rng |= 1;
	*out = c;
	return KC_OK;
}

void api_client_spread_start(struct api_client *c, long spread_ms)
{
	int64_t delay;

	if (spread_ms <= 0 || c->stats.lists > 0 || c->pods_state != PODS_IDLE)
		return;
	delay = api_jitter(c, 0, spread_ms);
	c->pods_next_ms = kc_clock_ms() + delay;
	kc_log(KC_LOG_INFO, "apiserver: first request in %lld ms (start-up spread %ld s)",
	       (long long)delay, spread_ms / 1000);
}

void api_client_free(struct api_client *c)
{
	if (c == NULL)
		return;
	/* Requests first: their easy handles leave the multi handle. */
	api_pods_free(c);
	api_refs_free(c);
	api_events_free(c);
	api_confirm_free(c);
	api_cluster_free(c);
	api_transport_cleanup(&c->t);
	free(c->node);
	free(c);
}

/* ---- the loop ---- */

void api_client_set_unreachable(struct api_client *c, bool unreachable)
{
	c->unreachable = unreachable;
}

/*
 * A retry already scheduled at the outage ceiling is brought forward: the
 * point is to answer before the kubelet's reflector does. A retry after an
 * answer (a refusal, an answer this node cannot use) keeps its backoff: the
 * API is up, asking every second would only load it (issue 19, finding 1).
 */
void api_client_set_awaiting_answer(struct api_client *c, bool awaiting)
{
	int64_t soon;

	if (awaiting == c->awaiting_answer)
		return;
	c->awaiting_answer = awaiting;
	if (!awaiting || c->pods_state != PODS_IDLE || c->retry_answered)
		return;
	soon = kc_clock_ms() + api_jitter(c, API_RETRY_FAST_MS / 2, API_RETRY_FAST_MS);
	if (c->pods_next_ms > soon)
		c->pods_next_ms = soon;
}

void api_client_set_watch_silence(struct api_client *c, long silence_ms)
{
	c->watch_silence_ms = silence_ms > 0 ? silence_ms : API_WATCH_SILENCE_MS;
}

void api_client_relist(struct api_client *c)
{
	c->relist_requested = true;
}

long api_client_timeout_ms(struct api_client *c)
{
	int64_t now = kc_clock_ms(), due = now + 60000, t;
	long curl_ms = -1;

	if (c->relist_requested)
		return 0;
	curl_multi_timeout(c->t.multi, &curl_ms);
	if (curl_ms >= 0 && now + curl_ms < due)
		due = now + curl_ms;
	if (c->pods_state == PODS_IDLE && c->pods_next_ms < due)
		due = c->pods_next_ms;
	if ((t = api_pods_watch_header_deadline(c)) < due)
		due = t;
	api_cluster_next_due(c, &due);
	if (api_refs_next_due(c, &due))
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
	mc = curl_multi_poll(c->t.multi, extra, nextra, (int)timeout, NULL);
	if (mc != CURLM_OK)
		return kc_fail(err, KC_EINTERNAL, "curl_multi_poll: %s", curl_multi_strerror(mc));
	return KC_OK;
}

void api_client_wakeup(struct api_client *c)
{
	curl_multi_wakeup(c->t.multi);
}

static void handle_done(struct api_client *c, CURL *e, CURLcode res)
{
	struct request *r = NULL;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
	if (r == NULL)
		return;
	if (!r->headers_done)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	r->done(c, r, res);
	api_request_free(r);
}

static kc_code perform(struct api_client *c, struct kc_error *err)
{
	CURLMcode mc;
	CURLMsg *msg;
	int running, left;

	if ((mc = curl_multi_perform(c->t.multi, &running)) != CURLM_OK)
		return kc_fail(err, KC_EINTERNAL, "curl_multi_perform: %s",
		               curl_multi_strerror(mc));
	while ((msg = curl_multi_info_read(c->t.multi, &left)) != NULL)
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
		api_pods_relist_now(c);
	}
	api_refs_reap(c);
	now = kc_clock_ms();
	api_pods_check_watch_deadline(c, now);
	if (c->pods_state == PODS_IDLE && c->pods_next_ms <= now)
		api_pods_start(c);
	api_cluster_start_due(c, now); /* first: it shares the fetches' connections */
	api_refs_start_due(c, now);
	api_refs_reap(c);
	/* Kick off what was just added. */
	return perform(c, err);
}
