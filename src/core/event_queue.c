/*
 * event_queue.c: the bounded, aggregating queue of Kubernetes Events (see
 * event_queue.h). Pure: no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_queue.h"
#include "kc_str.h"

void evq_init(struct evq *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap > 0 ? cap : 1;
	q->next_id = 1;
}

void evq_seed(struct evq *q, uint64_t first_id)
{
	q->next_id = first_id > 0 ? first_id : 1;
}

static void ev_free(struct evq_event *e)
{
	free(e->kind);
	free(e->namespace);
	free(e->name);
	free(e->uid);
	free(e->reason);
	free(e->message);
	free(e->patch_name);
}

void evq_free(struct evq *q)
{
	for (size_t i = 0; i < q->n; i++)
		ev_free(&q->v[i]);
	for (size_t i = 0; i < q->ndone; i++)
		ev_free(&q->done[i]);
	free(q->v);
	free(q->done);
	q->v = q->done = NULL;
	q->n = q->ndone = 0;
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The key of events_cache.go's getEventKey, minus what is constant for us (source). */
static bool same_key(const struct evq_event *e, const struct evq_object *o, bool warning,
                     const char *reason, const char *message)
{
	return e->warning == warning && same(e->kind, o->kind) &&
	       same(e->namespace, o->namespace) && same(e->name, o->name) && same(e->uid, o->uid) &&
	       strcmp(e->reason, reason) == 0 && strcmp(e->message, message) == 0;
}

/* Take entry i out of arr (its strings now belong to the caller). */
static struct evq_event take_at(struct evq_event *arr, size_t *n, size_t i)
{
	struct evq_event e = arr[i];

	memmove(&arr[i], &arr[i + 1], (*n - i - 1) * sizeof(arr[0]));
	(*n)--;
	return e;
}

static void remove_at(struct evq *q, size_t i)
{
	struct evq_event e = take_at(q->v, &q->n, i);

	ev_free(&e);
}

/* Append e to the queue, dropping (and counting) the oldest when full. */
static void push(struct evq *q, struct evq_event *e)
{
	if (q->n == q->cap) {
		remove_at(q, 0);
		q->dropped++;
	}
	q->v[q->n++] = *e;
}

kc_code evq_add(struct evq *q, const struct evq_object *obj, bool warning, const char *reason,
                const char *message, time_t now, struct kc_error *err)
{
	char msg[EVQ_MESSAGE_MAX];
	struct evq_event e;
	bool oom = false;
	size_t i;

	if (obj == NULL || obj->kind == NULL || obj->name == NULL || obj->name[0] == '\0' ||
	    (strcmp(obj->kind, "Pod") == 0 &&
	     (obj->namespace == NULL || obj->namespace[0] == '\0')))
		return kc_fail(err, KC_EINVAL, "event %s: no object to put it on",
		               reason != NULL ? reason : "?");
	if (reason == NULL || reason[0] == '\0')
		return kc_fail(err, KC_EINVAL, "event: no reason");
	snprintf(msg, sizeof(msg), "%s", message != NULL ? message : "");
	q->added++;
	for (i = 0; i < q->n; i++) {
		if (same_key(&q->v[i], obj, warning, reason, msg)) {
			q->v[i].count++;
			q->v[i].last = now;
			q->aggregated++;
			return KC_OK;
		}
	}
	if (q->v == NULL && (q->v = calloc(q->cap, sizeof(q->v[0]))) == NULL)
		return kc_fail(err, KC_ENOMEM, "event %s: out of memory", reason);
	for (i = 0; i < q->ndone; i++) {
		if (same_key(&q->done[i], obj, warning, reason, msg)) {
			/* Posted before: a PATCH of that Event, with the total count. */
			e = take_at(q->done, &q->ndone, i);
			e.count++;
			e.last = now;
			e.id = q->next_id++;
			q->aggregated++;
			push(q, &e);
			return KC_OK;
		}
	}
	memset(&e, 0, sizeof(e));
	e.kind = kc_strdup_opt(obj->kind, &oom);
	e.namespace = kc_strdup_opt(obj->namespace, &oom);
	e.name = kc_strdup_opt(obj->name, &oom);
	e.uid = kc_strdup_opt(obj->uid, &oom);
	e.reason = kc_strdup_opt(reason, &oom);
	e.message = kc_strdup_opt(msg, &oom);
	if (oom) {
		ev_free(&e);
		return kc_fail(err, KC_ENOMEM, "event %s: out of memory", reason);
	}
	e.warning = warning;
	e.first = e.last = now;
	e.count = 1;
	e.id = q->next_id++;
	push(q, &e);
	return KC_OK;
}

const struct evq_event *evq_head(const struct evq *q)
{
	return q->n > 0 ? &q->v[0] : NULL;
}

static size_t find(const struct evq *q, uint64_t id)
{
	size_t i;

	for (i = 0; i < q->n && q->v[i].id != id; i++)
		;
	return i;
}

/* "<object>.<id>": the kubelet's "<name>.<unixnano hex>", kept within 253 bytes. */
static void event_name(const struct evq_event *e, char *out, size_t outsz)
{
	int len;

	if (e->patch_name != NULL) {
		snprintf(out, outsz, "%s", e->patch_name);
		return;
	}
	len = snprintf(out, outsz, ".%llx", (unsigned long long)e->id);
	snprintf(out, outsz, "%.*s.%llx", 253 - len, e->name, (unsigned long long)e->id);
}

void evq_posted(struct evq *q, uint64_t id, unsigned count_posted)
{
	char name[254];
	struct evq_event e;
	size_t i = find(q, id);

	if (i == q->n)
		return;
	q->posted++;
	if (q->v[i].patch_name == NULL) {
		event_name(&q->v[i], name, sizeof(name));
		if ((q->v[i].patch_name = strdup(name)) == NULL) {
			remove_at(q, i); /* cannot name it again: forget it */
			return;
		}
	}
	if (q->v[i].count > count_posted) {
		/* Occurred again while in flight: PATCH the new total next. */
		q->v[i].id = q->next_id++;
		return;
	}
	e = take_at(q->v, &q->n, i);
	if (q->done == NULL && (q->done = calloc(EVQ_POSTED_CACHE, sizeof(q->done[0]))) == NULL) {
		ev_free(&e);
		return;
	}
	if (q->ndone == EVQ_POSTED_CACHE) { /* the least recently posted is forgotten */
		struct evq_event old = take_at(q->done, &q->ndone, 0);

		ev_free(&old);
	}
	q->done[q->ndone++] = e;
}

void evq_unpatch(struct evq *q, uint64_t id)
{
	size_t i = find(q, id);

	if (i == q->n)
		return;
	free(q->v[i].patch_name);
	q->v[i].patch_name = NULL;
	q->v[i].id = q->next_id++;
}

void evq_drop(struct evq *q, uint64_t id)
{
	size_t i = find(q, id);

	if (i == q->n)
		return;
	remove_at(q, i);
	q->rejected++;
}

static int set_time(json_t *o, const char *key, time_t t)
{
	char buf[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_object_set_new(o, key, json_null());
	return json_object_set_new(o, key, json_string(buf));
}

kc_code evq_event_json(const struct evq_event *e, const char *node, json_t **out,
                       struct kc_error *err)
{
	char name[254];
	bool pod = strcmp(e->kind, "Pod") == 0;
	const char *ns = pod ? e->namespace : "default";
	json_t *ev, *obj;

	event_name(e, name, sizeof(name));
	*out = NULL;
	obj = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", e->kind, "name", e->name);
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:I, s:{s:s, s:s}, s:s, s:s}",
	               "apiVersion", "v1", "kind", "Event", "metadata", "name", name, "namespace",
	               ns, "involvedObject", obj, "reason", e->reason, "message", e->message,
	               "type", e->warning ? "Warning" : "Normal", "count", (json_int_t)e->count,
	               "source", "component", EVQ_COMPONENT, "host", node, "reportingComponent",
	               EVQ_COMPONENT, "reportingInstance", node);
	if (ev == NULL || (pod && json_object_set_new(obj, "namespace", json_string(ns)) != 0) ||
	    (e->uid != NULL && json_object_set_new(obj, "uid", json_string(e->uid)) != 0) ||
	    set_time(ev, "firstTimestamp", e->first) != 0 ||
	    set_time(ev, "lastTimestamp", e->last) != 0) {
		json_decref(ev);
		return kc_fail(err, KC_ENOMEM, "event %s: out of memory", e->reason);
	}
	*out = ev;
	return KC_OK;
}

kc_code evq_patch_json(const struct evq_event *e, json_t **out, struct kc_error *err)
{
	json_t *p = json_pack("{s:I, s:s}", "count", (json_int_t)e->count, "message", e->message);

	*out = NULL;
	if (p == NULL || set_time(p, "lastTimestamp", e->last) != 0) {
		json_decref(p);
		return kc_fail(err, KC_ENOMEM, "event %s: out of memory", e->reason);
	}
	*out = p;
	return KC_OK;
}
