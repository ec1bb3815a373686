/*
 * test_event_queue.c: the bounded, aggregating Event queue: same object,
 * type, reason and message fold into one event with count (as client-go's
 * events_cache.go does), a full queue drops the oldest and counts it, a POST
 * that raced with new occurrences leaves them queued, and the Event body
 * carries what `kubectl describe pod` shows.
 */
#include <string.h>

#include "event_queue.h"
#include "testutil.h"

static const struct evq_object POD_A = {"Pod", "kube-system", "agent-a",
                                        "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"};
static const struct evq_object POD_B = {"Pod", "kube-system", "agent-b",
                                        "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"};
static const struct evq_object NODE = {"Node", NULL, "node-1", NULL};

static void add(struct evq *q, const struct evq_object *o, const char *reason, const char *msg,
                time_t now)
{
	struct kc_error err;

	assert_int_equal(evq_add(q, o, false, reason, msg, now, &err), KC_OK);
}

static void test_aggregates_same_key(void **state)
{
	struct evq q;

	evq_init(&q, 8);
	add(&q, &POD_A, EVQ_CORRUPT, "checksum mismatch", 100);
	add(&q, &POD_A, EVQ_CORRUPT, "checksum mismatch", 105);
	add(&q, &POD_A, EVQ_CORRUPT, "checksum mismatch", 110);
	assert_int_equal(q.n, 1);
	assert_int_equal(evq_head(&q)->count, 3);
	assert_int_equal(evq_head(&q)->first, 100);
	assert_int_equal(evq_head(&q)->last, 110);
	assert_int_equal(q.aggregated, 2);
	/* Any part of the key differing makes another event. */
	add(&q, &POD_A, EVQ_CORRUPT, "truncated", 111);
	add(&q, &POD_B, EVQ_CORRUPT, "checksum mismatch", 111);
	add(&q, &POD_A, EVQ_NOT_CHECKPOINTABLE, "checksum mismatch", 111);
	assert_int_equal(evq_add(&q, &POD_A, true, EVQ_CORRUPT, "checksum mismatch", 112, NULL),
	                 KC_OK);
	assert_int_equal(q.n, 5);
	assert_int_equal(evq_head(&q)->count, 3);
	evq_free(&q);
}

static void test_full_drops_oldest_and_counts(void **state)
{
	struct evq q;
	char msg[32];
	int i;

	evq_init(&q, 4);
	for (i = 0; i < 10; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		add(&q, &POD_A, EVQ_ACTIVATED, msg, 100 + i);
	}
	assert_int_equal(q.n, 4);
	assert_int_equal(q.dropped, 6);
	assert_string_equal(evq_head(&q)->message, "m6");
	/* Aggregating into a held event drops nothing. */
	add(&q, &POD_A, EVQ_ACTIVATED, "m9", 200);
	assert_int_equal(q.dropped, 6);
	assert_int_equal(q.n, 4);
	evq_free(&q);
}

static void test_posted_and_raced(void **state)
{
	struct evq q;
	uint64_t id;
	unsigned count;

	evq_init(&q, 8);
	add(&q, &POD_A, EVQ_ACTIVATED, "x", 100);
	add(&q, &POD_B, EVQ_ACTIVATED, "y", 101);
	id = evq_head(&q)->id;
	count = evq_head(&q)->count;
	/* The same occurs twice while its POST is in flight. */
	add(&q, &POD_A, EVQ_ACTIVATED, "x", 102);
	add(&q, &POD_A, EVQ_ACTIVATED, "x", 103);
	evq_posted(&q, id, count);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.posted, 1);
	/* Still queued, now as a PATCH of the posted Event with the total count. */
	assert_string_equal(evq_head(&q)->name, "agent-a");
	assert_int_equal(evq_head(&q)->count, 3);
	assert_string_equal(evq_head(&q)->patch_name, "agent-a.1");
	assert_true(evq_head(&q)->id != id);
	assert_int_equal(evq_head(&q)->first, 100);
	assert_int_equal(evq_head(&q)->last, 103);
	evq_posted(&q, evq_head(&q)->id, 3);
	assert_string_equal(evq_head(&q)->name, "agent-b");
	/* A stale id (dropped meanwhile) changes nothing. */
	evq_posted(&q, id, 1);
	evq_drop(&q, id);
	assert_int_equal(q.n, 1);
	evq_drop(&q, evq_head(&q)->id);
	assert_int_equal(q.n, 0);
	assert_int_equal(q.rejected, 1);
	assert_null(evq_head(&q));
	evq_free(&q);
}

/* A repeat of a posted Event PATCHes it (count, lastTimestamp), as
 * client-go's recorder does; one whose Event expired is POSTed anew. */
static void test_repeat_after_post_patches(void **state)
{
	struct kc_error err;
	json_t *p, *ev;
	struct evq q;

	evq_init(&q, 8);
	add(&q, &POD_A, EVQ_NOT_RUNNING, "not started", 1767225600);
	evq_posted(&q, evq_head(&q)->id, 1);
	assert_int_equal(q.n, 0);
	assert_int_equal(q.ndone, 1);
	add(&q, &POD_A, EVQ_NOT_RUNNING, "not started", 1767225660);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.ndone, 0);
	assert_string_equal(evq_head(&q)->patch_name, "agent-a.1");
	assert_int_equal(evq_head(&q)->count, 2);
	assert_int_equal(evq_patch_json(evq_head(&q), &p, &err), KC_OK);
	assert_int_equal(json_integer_value(json_object_get(p, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(p, "lastTimestamp")),
	                    "2026-01-01T00:01:00Z");
	assert_string_equal(json_string_value(json_object_get(p, "message")), "not started");
	json_decref(p);
	/* The full Event (for a POST) keeps the posted name and first time. */
	assert_int_equal(evq_event_json(evq_head(&q), "node-1", &ev, &err), KC_OK);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(ev, "metadata"), "name")),
	    "agent-a.1");
	assert_string_equal(json_string_value(json_object_get(ev, "firstTimestamp")),
	                    "2026-01-01T00:00:00Z");
	json_decref(ev);
	/* Patched: remembered again; a third time patches the same Event. */
	evq_posted(&q, evq_head(&q)->id, 2);
	add(&q, &POD_A, EVQ_NOT_RUNNING, "not started", 1767225720);
	assert_int_equal(evq_head(&q)->count, 3);
	assert_string_equal(evq_head(&q)->patch_name, "agent-a.1");
	/* Expired from the API (404): POSTed as a new Event, count kept. */
	evq_unpatch(&q, evq_head(&q)->id);
	assert_null(evq_head(&q)->patch_name);
	assert_int_equal(evq_head(&q)->count, 3);
	assert_int_equal(evq_event_json(evq_head(&q), "node-1", &ev, &err), KC_OK);
	assert_string_not_equal(
	    json_string_value(json_object_get(json_object_get(ev, "metadata"), "name")),
	    "agent-a.1");
	json_decref(ev);
	/* Other messages are other Events; the cache is bounded. */
	for (unsigned i = 0; i < EVQ_POSTED_CACHE + 10; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "m%u", i);
		add(&q, &POD_B, EVQ_CORRUPT, msg, 1);
		evq_posted(&q, q.v[q.n - 1].id, 1);
	}
	assert_int_equal(q.ndone, EVQ_POSTED_CACHE);
	add(&q, &POD_B, EVQ_CORRUPT, "m0", 2); /* forgotten: a new Event */
	assert_null(q.v[q.n - 1].patch_name);
	add(&q, &POD_B, EVQ_CORRUPT, "m100", 2); /* remembered: a PATCH */
	assert_non_null(q.v[q.n - 1].patch_name);
	evq_free(&q);
}

static void test_bad_objects(void **state)
{
	static const struct evq_object no_ns = {"Pod", NULL, "x", NULL};
	static const struct evq_object no_name = {"Pod", "ns", "", NULL};
	struct kc_error err;
	struct evq q;

	evq_init(&q, 2);
	assert_int_equal(evq_add(&q, &no_ns, false, EVQ_CORRUPT, "m", 1, &err), KC_EINVAL);
	assert_int_equal(evq_add(&q, &no_name, false, EVQ_CORRUPT, "m", 1, &err), KC_EINVAL);
	assert_int_equal(evq_add(&q, NULL, false, EVQ_CORRUPT, "m", 1, &err), KC_EINVAL);
	assert_int_equal(evq_add(&q, &POD_A, false, "", "m", 1, &err), KC_EINVAL);
	assert_int_equal(q.n, 0);
	evq_free(&q);
}

static void test_long_message_cut(void **state)
{
	char big[4000];
	struct evq q;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	evq_init(&q, 2);
	add(&q, &POD_A, EVQ_NOT_CHECKPOINTABLE, big, 1);
	assert_int_equal(strlen(evq_head(&q)->message), EVQ_MESSAGE_MAX - 1);
	/* The same long text again aggregates (compared after the cut). */
	add(&q, &POD_A, EVQ_NOT_CHECKPOINTABLE, big, 2);
	assert_int_equal(q.n, 1);
	evq_free(&q);
}

static const char *str_at(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	return json_string_value(k2 != NULL ? json_object_get(v, k2) : v);
}

/* A restarted agent names its Events anew (the kubelet's <name>.<unixnano hex>). */
static void test_seeded_names_differ_across_restarts(void **state)
{
	struct kc_error err;
	json_t *ev1, *ev2;
	struct evq q1, q2;

	evq_init(&q1, 4);
	evq_seed(&q1, 0x187a1b2c3d4e5f00ULL);
	evq_init(&q2, 4);
	evq_seed(&q2, 0x187a1b2c3d4e5f00ULL + 1000000000ULL);
	add(&q1, &POD_A, EVQ_ACTIVATED, "bridge written", 100);
	add(&q2, &POD_A, EVQ_ACTIVATED, "bridge written", 100);
	assert_int_equal(evq_event_json(evq_head(&q1), "node-1", &ev1, &err), KC_OK);
	assert_int_equal(evq_event_json(evq_head(&q2), "node-1", &ev2, &err), KC_OK);
	assert_string_equal(str_at(ev1, "metadata", "name"), "agent-a.187a1b2c3d4e5f00");
	assert_string_not_equal(str_at(ev1, "metadata", "name"), str_at(ev2, "metadata", "name"));
	json_decref(ev1);
	json_decref(ev2);
	evq_free(&q1);
	evq_free(&q2);
}

static void test_event_json(void **state)
{
	struct kc_error err;
	json_t *ev;
	struct evq q;

	evq_init(&q, 4);
	add(&q, &POD_A, EVQ_ACTIVATED, "bridge written", 1767225600);
	add(&q, &POD_A, EVQ_ACTIVATED, "bridge written", 1767225660);
	assert_int_equal(evq_event_json(evq_head(&q), "node-1", &ev, &err), KC_OK);
	assert_string_equal(str_at(ev, "apiVersion", NULL), "v1");
	assert_string_equal(str_at(ev, "kind", NULL), "Event");
	assert_string_equal(str_at(ev, "metadata", "namespace"), "kube-system");
	assert_string_equal(str_at(ev, "metadata", "name"), "agent-a.1");
	assert_string_equal(str_at(ev, "involvedObject", "kind"), "Pod");
	assert_string_equal(str_at(ev, "involvedObject", "namespace"), "kube-system");
	assert_string_equal(str_at(ev, "involvedObject", "name"), "agent-a");
	assert_string_equal(str_at(ev, "involvedObject", "uid"), POD_A.uid);
	assert_string_equal(str_at(ev, "reason", NULL), EVQ_ACTIVATED);
	assert_string_equal(str_at(ev, "type", NULL), "Normal");
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 2);
	assert_string_equal(str_at(ev, "firstTimestamp", NULL), "2026-01-01T00:00:00Z");
	assert_string_equal(str_at(ev, "lastTimestamp", NULL), "2026-01-01T00:01:00Z");
	assert_string_equal(str_at(ev, "source", "component"), "kubelet-checkpoint");
	assert_string_equal(str_at(ev, "source", "host"), "node-1");
	assert_string_equal(str_at(ev, "reportingInstance", NULL), "node-1");
	json_decref(ev);
	evq_free(&q);
	/* A Node event lives in "default" and names no namespace in its object. */
	evq_init(&q, 4);
	assert_int_equal(evq_add(&q, &NODE, true, EVQ_CORRUPT, "file x", 5, &err), KC_OK);
	assert_int_equal(evq_event_json(evq_head(&q), "node-1", &ev, &err), KC_OK);
	assert_string_equal(str_at(ev, "metadata", "namespace"), "default");
	assert_string_equal(str_at(ev, "type", NULL), "Warning");
	assert_null(json_object_get(json_object_get(ev, "involvedObject"), "namespace"));
	assert_null(json_object_get(json_object_get(ev, "involvedObject"), "uid"));
	json_decref(ev);
	evq_free(&q);
}

static void test_event_name_fits(void **state)
{
	char name[254];
	struct evq_object o = {"Pod", "ns", name, NULL};
	struct kc_error err;
	const char *got;
	json_t *ev;
	struct evq q;

	memset(name, 'a', 253);
	name[253] = '\0';
	evq_init(&q, 2);
	add(&q, &o, EVQ_ACTIVATED, "m", 1);
	assert_int_equal(evq_event_json(evq_head(&q), "n", &ev, &err), KC_OK);
	got = str_at(ev, "metadata", "name");
	assert_int_equal(strlen(got), 253);
	assert_string_equal(got + 251, ".1");
	json_decref(ev);
	evq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregates_same_key),
	    cmocka_unit_test(test_full_drops_oldest_and_counts),
	    cmocka_unit_test(test_posted_and_raced),
	    cmocka_unit_test(test_repeat_after_post_patches),
	    cmocka_unit_test(test_bad_objects),
	    cmocka_unit_test(test_long_message_cut),
	    cmocka_unit_test(test_event_json),
	    cmocka_unit_test(test_seeded_names_differ_across_restarts),
	    cmocka_unit_test(test_event_name_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
