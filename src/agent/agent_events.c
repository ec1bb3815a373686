/*
 * agent_events.c: the Kubernetes Events the agent owes the cluster (issue
 * 11), so `kubectl describe pod` and `kubectl get events` show what a bridge
 * did during an outage. The other agent modules raise them as things happen
 * (agent_event_*); they wait in the pure queue of event_queue.h (bounded,
 * aggregated) and are posted one at a time, with the node's own identity,
 * once the API is reachable again. A POST is asynchronous on the API client's
 * multi handle: an Event never delays a pass, an activation or a withdrawal.
 * A POST that fails for the network is retried with backoff; one the API
 * refuses (a 4xx) is dropped, logged and counted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_log.h"

#define EVENT_RETRY_FIRST_MS 5000
#define EVENT_RETRY_MAX_MS   300000

/* printf-like, so that compilers check the callers' formats (clang insists). */
static void vraise(struct agent *a, const struct evq_object *o, bool warning, const char *reason,
                   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vraise(struct agent *a, const struct evq_object *o, bool warning, const char *reason,
                   const char *fmt, va_list ap)
{
	char msg[EVQ_MESSAGE_MAX];
	struct kc_error err;
	uint64_t dropped = a->ev.queue.dropped;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (evq_add(&a->ev.queue, o, warning, reason, msg, time(NULL), &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		return;
	}
	if (a->ev.queue.dropped != dropped && a->ev.queue.dropped % 100 == 1)
		kc_log(KC_LOG_WARNING,
		       "event queue full (%zu): oldest events dropped (%llu so far)",
		       a->ev.queue.cap, (unsigned long long)a->ev.queue.dropped);
	a->dirty = true;
}

void agent_event_pod(struct agent *a, const char *ns, const char *name, const char *uid,
                     bool warning, const char *reason, const char *fmt, ...)
{
	struct evq_object o = {"Pod", ns, name, uid};
	va_list ap;

	/* A pod known only by uid (a corrupt file): the Node carries the event. */
	if (ns == NULL || name == NULL || ns[0] == '\0' || name[0] == '\0') {
		o.kind = "Node";
		o.namespace = NULL;
		o.name = a->cfg->node_name;
		o.uid = NULL;
	}
	va_start(ap, fmt);
	vraise(a, &o, warning, reason, fmt, ap);
	va_end(ap);
}

/* "2h3m4s" style, as kubectl prints ages. */
void agent_event_duration(int64_t s, char *buf, size_t n)
{
	if (s < 0)
		s = 0;
	if (s >= 3600)
		snprintf(buf, n, "%lldh%02lldm%02llds", (long long)(s / 3600),
		         (long long)(s % 3600 / 60), (long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, n, "%llds", (long long)s);
}

static void drop_refused(struct agent *a, uint64_t id, const char *detail)
{
	kc_log(KC_LOG_WARNING, "event dropped, the API refused it: %s", detail);
	evq_drop(&a->ev.queue, id);
	a->ev.failures = 0;
}

void agent_events_posted(struct agent *a, uint64_t id, enum api_post_result res, const char *detail)
{
	int64_t delay;

	if (!a->ev.in_flight || id != a->ev.id)
		return;
	a->ev.in_flight = false;
	switch (res) {
	case API_POST_DONE:
		evq_posted(&a->ev.queue, id, a->ev.count);
		a->ev.failures = 0;
		break;
	case API_POST_NOT_FOUND:
		if (a->ev.patch) { /* the Event expired: POST it anew */
			evq_unpatch(&a->ev.queue, id);
			break;
		}
		drop_refused(a, id, detail); /* a POST into a namespace that is gone */
		break;
	case API_POST_REJECTED:
		drop_refused(a, id, detail);
		break;
	case API_POST_FAILED:
		delay = EVENT_RETRY_FIRST_MS << (a->ev.failures < 6 ? a->ev.failures : 6);
		a->ev.retry_ms =
		    kc_clock_ms() + (delay < EVENT_RETRY_MAX_MS ? delay : EVENT_RETRY_MAX_MS);
		a->ev.failures++;
		break;
	}
	a->dirty = true;
}

int64_t agent_events_turn(struct agent *a, int64_t now)
{
	const struct evq_event *e = evq_head(&a->ev.queue);
	const char *ns;
	struct kc_error err;
	json_t *body;
	char *text;

	/* Only once the API is reachable again (the reachable-after window passed). */
	if (e == NULL || a->ev.in_flight || a->said.reach != REACH_REACHABLE)
		return REACH_NEVER;
	if (now < a->ev.retry_ms)
		return a->ev.retry_ms;
	ns = strcmp(e->kind, "Pod") == 0 ? e->namespace : "default";
	/* A repeat of a posted Event is a PATCH of it, as client-go's recorder does. */
	if ((e->patch_name != NULL ? evq_patch_json(e, &body, &err)
	                           : evq_event_json(e, a->cfg->node_name, &body, &err)) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		return now + EVENT_RETRY_FIRST_MS;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL ||
	    (e->patch_name != NULL
	         ? api_client_patch_event(a->api, ns, e->patch_name, text, e->id, &err)
	         : api_client_post_event(a->api, ns, text, e->id, &err)) != KC_OK) {
		kc_log(KC_LOG_ERR, "posting event %s: %s", e->reason,
		       text == NULL ? "out of memory" : err.msg);
		free(text);
		return now + EVENT_RETRY_FIRST_MS;
	}
	free(text);
	a->ev.in_flight = true;
	a->ev.id = e->id;
	a->ev.count = e->count;
	a->ev.patch = e->patch_name != NULL;
	return REACH_NEVER;
}
