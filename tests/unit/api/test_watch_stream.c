/*
 * test_watch_stream.c: the watch body parser against every way the network
 * can cut a stream: each single split position, each pair of split positions
 * of a shorter stream, byte-at-a-time, plus the error cases (line cap, bad
 * JSON, unknown type, cut mid-event, callback failure).
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "watch_stream.h"

static const char sample[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"10\"},\"spec\":{\"nodeName\":\"n1\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"11\",\"labels\":{\"x\":\"\\u00e9\\n\"}}}}\r\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":"
    "\"15\"}}}\n"
    "  \n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"16\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\","
    "\"reason\":\"Expired\",\"code\":410}}\n";

static const char short_sample[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"1\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"2\"}}}\n";

/* What the callback saw, one "TYPE rv compact-json" line per event. */
struct seen {
	char log[8192];
	size_t len;
	int fail_at; /* return an error on this event number (1-based); 0 never */
	int count;
};

static kc_code record(void *ctx, const struct watch_event *ev, struct kc_error *err)
{
	struct seen *s = ctx;
	char *js = json_dumps(ev->object, JSON_COMPACT | JSON_SORT_KEYS);
	int n;

	s->count++;
	n = snprintf(s->log + s->len, sizeof(s->log) - s->len, "%s %s %s\n",
	             watch_event_type_name(ev->type),
	             ev->resource_version ? ev->resource_version : "-", js);
	free(js);
	assert_true(n > 0 && (size_t)n < sizeof(s->log) - s->len);
	s->len += (size_t)n;
	if (s->fail_at == s->count)
		return kc_fail(err, KC_EINTERNAL, "callback refused event %d", s->count);
	return KC_OK;
}

/* Feed data cut at the given positions (sorted), then finish. */
static kc_code feed_split(const char *data, size_t len, const size_t *cuts, size_t ncuts,
                          struct seen *s, struct kc_error *err)
{
	struct watch_stream ws;
	size_t from = 0;
	kc_code rc = KC_OK;

	watch_stream_init(&ws, 0, record, s);
	for (size_t i = 0; i <= ncuts && rc == KC_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : len;
		rc = watch_stream_feed(&ws, data + from, to - from, err);
		from = to;
	}
	if (rc == KC_OK)
		rc = watch_stream_finish(&ws, err);
	watch_stream_free(&ws);
	return rc;
}

static void reference(const char *data, size_t len, struct seen *ref)
{
	struct kc_error err;

	memset(ref, 0, sizeof(*ref));
	assert_int_equal(feed_split(data, len, NULL, 0, ref, &err), KC_OK);
}

static void test_whole_stream(void **state)
{
	struct seen ref;

	(void)state;
	reference(sample, sizeof(sample) - 1, &ref);
	assert_int_equal(ref.count, 5);
	assert_non_null(strstr(ref.log, "ADDED 10 "));
	assert_non_null(strstr(ref.log, "MODIFIED 11 "));
	assert_non_null(strstr(ref.log, "BOOKMARK 15 "));
	assert_non_null(strstr(ref.log, "DELETED 16 "));
	assert_non_null(strstr(ref.log, "ERROR - "));
}

static void test_every_single_split(void **state)
{
	size_t len = sizeof(sample) - 1;
	struct seen ref, got;
	struct kc_error err;

	(void)state;
	reference(sample, len, &ref);
	for (size_t cut = 0; cut <= len; cut++) {
		memset(&got, 0, sizeof(got));
		assert_int_equal(feed_split(sample, len, &cut, 1, &got, &err), KC_OK);
		assert_int_equal(got.count, ref.count);
		assert_string_equal(got.log, ref.log);
	}
}

static void test_every_pair_of_splits(void **state)
{
	size_t len = sizeof(short_sample) - 1, cuts[2];
	struct seen ref, got;
	struct kc_error err;

	(void)state;
	reference(short_sample, len, &ref);
	assert_int_equal(ref.count, 2);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++) {
			memset(&got, 0, sizeof(got));
			assert_int_equal(feed_split(short_sample, len, cuts, 2, &got, &err), KC_OK);
			assert_string_equal(got.log, ref.log);
		}
	}
}

static void test_byte_at_a_time(void **state)
{
	size_t len = sizeof(sample) - 1, cuts[sizeof(sample)];
	struct seen ref, got;
	struct kc_error err;

	(void)state;
	reference(sample, len, &ref);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	memset(&got, 0, sizeof(got));
	assert_int_equal(feed_split(sample, len, cuts, len, &got, &err), KC_OK);
	assert_string_equal(got.log, ref.log);
}

static void test_line_over_cap(void **state)
{
	struct watch_stream ws;
	struct seen got;
	struct kc_error err;
	char chunk[100];

	(void)state;
	memset(&got, 0, sizeof(got));
	memset(chunk, 'x', sizeof(chunk));
	watch_stream_init(&ws, 256, record, &got);
	assert_int_equal(watch_stream_feed(&ws, chunk, sizeof(chunk), &err), KC_OK);
	assert_int_equal(watch_stream_feed(&ws, chunk, sizeof(chunk), &err), KC_OK);
	assert_int_equal(watch_stream_feed(&ws, chunk, sizeof(chunk), &err), KC_ETOOBIG);
	assert_non_null(strstr(err.msg, "more than 256 bytes"));
	/* The carry buffer never grew past the cap. */
	assert_true(ws.line.cap <= 512);
	/* Poisoned: later feeds fail too, even valid ones. */
	assert_int_equal(watch_stream_feed(&ws, short_sample, sizeof(short_sample) - 1, &err),
	                 KC_ETOOBIG);
	assert_int_equal(got.count, 0);
	watch_stream_free(&ws);
}

static void test_long_line_in_one_feed_over_cap(void **state)
{
	/* The cap holds for a line parsed in place as for a carried one. */
	struct seen got;
	struct kc_error err;
	struct watch_stream ws;
	size_t len = sizeof(short_sample) - 1;

	(void)state;
	memset(&got, 0, sizeof(got));
	watch_stream_init(&ws, 16, record, &got);
	assert_int_equal(watch_stream_feed(&ws, short_sample, len, &err), KC_ETOOBIG);
	assert_int_equal(got.count, 0);
	watch_stream_free(&ws);
	memset(&got, 0, sizeof(got));
	watch_stream_init(&ws, 16, record, &got);
	assert_int_equal(watch_stream_feed(&ws, short_sample, 10, &err), KC_OK);
	assert_int_equal(watch_stream_feed(&ws, short_sample + 10, len - 10, &err), KC_ETOOBIG);
	watch_stream_free(&ws);
}

static void expect_error(const char *data, kc_code code, const char *needle)
{
	struct seen got;
	struct kc_error err;

	memset(&got, 0, sizeof(got));
	assert_int_equal(feed_split(data, strlen(data), NULL, 0, &got, &err), code);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, needle);
}

static void test_bad_events(void **state)
{
	(void)state;
	expect_error("{\"type\":\"ADDED\",\"object\":{}\n", KC_EINVAL, "event 1: invalid JSON");
	expect_error("[1,2]\n", KC_EINVAL, "event 1: not a JSON object");
	expect_error("{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"RENAMED\",\"object\":{}}\n",
	             KC_EINVAL, "event 2: unknown event type \"RENAMED\"");
	expect_error("{\"type\":3,\"object\":{}}\n", KC_EINVAL, "\"type\" is missing");
	expect_error("{\"type\":\"ADDED\"}\n", KC_EINVAL, "\"object\" is missing");
	expect_error("{\"type\":\"ADDED\",\"object\":[]}\n", KC_EINVAL, "not an object");
	expect_error("{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}\n", KC_EINVAL,
	             "duplicate");
}

static void test_cut_mid_event(void **state)
{
	struct seen got;
	struct kc_error err;
	size_t len = sizeof(short_sample) - 1;

	(void)state;
	/* Every cut that is not at an event boundary is reported as such. */
	for (size_t cut = 1; cut < len; cut++) {
		memset(&got, 0, sizeof(got));
		kc_code rc = feed_split(short_sample, cut, NULL, 0, &got, &err);
		if (short_sample[cut - 1] == '\n' || short_sample[cut] == '\n') {
			/* At a boundary (or just before the newline): complete events. */
			assert_int_equal(rc, KC_OK);
		} else {
			assert_int_equal(rc, KC_EIO);
			assert_non_null(strstr(err.msg, "ended inside an event"));
		}
	}
}

static void test_tail_without_newline(void **state)
{
	struct seen got;
	struct kc_error err;
	const char *data = "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
	                   "\"7\"}}}";

	(void)state;
	memset(&got, 0, sizeof(got));
	assert_int_equal(feed_split(data, strlen(data), NULL, 0, &got, &err), KC_OK);
	assert_int_equal(got.count, 1);
	assert_non_null(strstr(got.log, "BOOKMARK 7 "));
}

static void test_callback_error_stops(void **state)
{
	struct seen got;
	struct kc_error err;

	(void)state;
	memset(&got, 0, sizeof(got));
	got.fail_at = 2;
	assert_int_equal(feed_split(sample, sizeof(sample) - 1, NULL, 0, &got, &err), KC_EINTERNAL);
	assert_int_equal(got.count, 2);
	assert_non_null(strstr(err.msg, "refused event 2"));
}

static void test_status_code(void **state)
{
	json_t *st = json_pack("{s:s, s:i}", "kind", "Status", "code", 410);

	(void)state;
	assert_int_equal(watch_status_code(st), 410);
	json_object_set_new(st, "code", json_string("410"));
	assert_int_equal(watch_status_code(st), 0);
	assert_int_equal(watch_status_code(NULL), 0);
	json_decref(st);
	assert_string_equal(watch_event_type_name(WATCH_BOOKMARK), "BOOKMARK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_stream),
	    cmocka_unit_test(test_every_single_split),
	    cmocka_unit_test(test_every_pair_of_splits),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_line_over_cap),
	    cmocka_unit_test(test_long_line_in_one_feed_over_cap),
	    cmocka_unit_test(test_bad_events),
	    cmocka_unit_test(test_cut_mid_event),
	    cmocka_unit_test(test_tail_without_newline),
	    cmocka_unit_test(test_callback_error_stops),
	    cmocka_unit_test(test_status_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
