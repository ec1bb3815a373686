/*
 * test_reachability.c: the unreachable/reachable windows, counted from agent
 * start when the API was never reached, with hysteresis so a flapping API
 * never trips them, and 401/403 counting as "up".
 */
#include <stdint.h>

#include "reachability.h"
#include "testutil.h"

#define UA 30000
#define RA 15000

static void test_unknown_then_unreachable_from_start(void **state)
{
	struct reachability r;
	struct reach_view v;

	reachability_init(&r, 1000, UA, RA);
	v = reachability_view(&r, 1000);
	assert_int_equal(v.state, REACH_UNKNOWN);
	assert_int_equal(v.next_change_ms, 1000 + UA);
	/* No answer at all (requests hanging): the window still runs from start. */
	assert_int_equal(reachability_state(&r, 1000 + UA - 1), REACH_UNKNOWN);
	v = reachability_view(&r, 1000 + UA);
	assert_int_equal(v.state, REACH_UNREACHABLE);
	assert_int_equal(v.since_ms, 1000 + UA);
	assert_int_equal(v.next_change_ms, REACH_NEVER);
	/* Failures do not restart the window that is already running. */
	reachability_on_failure(&r, 1000 + 5000);
	assert_int_equal(reachability_state(&r, 1000 + UA), REACH_UNREACHABLE);
}

static void test_reachable_after_window_of_success(void **state)
{
	struct reachability r;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 2000);
	assert_int_equal(reachability_state(&r, 2000), REACH_UNKNOWN);
	assert_int_equal(reachability_next_deadline(&r, 2000), 2000 + RA);
	/* A success run keeps going with no further event (healthy watch). */
	assert_int_equal(reachability_state(&r, 2000 + RA - 1), REACH_UNKNOWN);
	assert_int_equal(reachability_state(&r, 2000 + RA), REACH_REACHABLE);
	assert_int_equal(reachability_view(&r, 99999).since_ms, 2000 + RA);
	assert_int_equal(reachability_next_deadline(&r, 2000 + RA), REACH_NEVER);
}

static void test_reachable_to_unreachable_and_back(void **state)
{
	struct reachability r;
	int64_t t0 = 20000;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	assert_int_equal(reachability_state(&r, t0), REACH_REACHABLE);
	reachability_on_failure(&r, t0);
	reachability_on_failure(&r, t0 + 10000);
	assert_int_equal(reachability_state(&r, t0 + UA - 1), REACH_REACHABLE);
	assert_int_equal(reachability_next_deadline(&r, t0 + 1), t0 + UA);
	assert_int_equal(reachability_state(&r, t0 + UA), REACH_UNREACHABLE);
	/* Back, but fails again before the reachable window: still unreachable. */
	reachability_on_success(&r, t0 + 60000);
	assert_int_equal(reachability_state(&r, t0 + 60000 + RA - 1), REACH_UNREACHABLE);
	reachability_on_failure(&r, t0 + 60000 + RA - 1);
	assert_int_equal(reachability_state(&r, t0 + 60000 + RA + 5000), REACH_UNREACHABLE);
	assert_int_equal(reachability_view(&r, t0 + 90000).since_ms, t0 + UA);
	/* Then a steady success run makes it reachable. */
	reachability_on_success(&r, t0 + 100000);
	assert_int_equal(reachability_state(&r, t0 + 100000 + RA), REACH_REACHABLE);
	assert_int_equal(r.successes, 3);
	assert_int_equal(r.failures, 3);
}

static void test_flapping_never_trips(void **state)
{
	struct reachability r;
	int64_t t;

	/* Reachable, then fail 20 s / succeed 1 s forever: never unreachable. */
	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	for (t = RA; t < 3600 * 1000; t += 21000) {
		reachability_on_failure(&r, t);
		assert_int_equal(reachability_state(&r, t + 20000), REACH_REACHABLE);
		reachability_on_success(&r, t + 20000);
		assert_int_equal(reachability_state(&r, t + 20999), REACH_REACHABLE);
	}
	/* From start, never reached: flapping keeps it unknown, never unreachable. */
	reachability_init(&r, 0, UA, RA);
	for (t = 0; t < 3600 * 1000; t += 21000) {
		reachability_on_success(&r, t + 20000);
		assert_int_not_equal(reachability_state(&r, t + 20000), REACH_UNREACHABLE);
		reachability_on_failure(&r, t + 21000);
		assert_int_equal(reachability_state(&r, t + 21000), REACH_UNKNOWN);
	}
}

static void test_auth_errors_mean_up(void **state)
{
	struct reachability r;
	int64_t t;

	reachability_init(&r, 0, UA, RA);
	reachability_on_auth_error(&r, 100);
	assert_int_equal(reachability_state(&r, 100 + RA), REACH_REACHABLE);
	for (t = 100 + RA; t < 600 * 1000; t += 5000) {
		reachability_on_auth_error(&r, t);
		assert_int_equal(reachability_state(&r, t + 4999), REACH_REACHABLE);
	}
	assert_true(r.auth_errors > 100);
	assert_int_equal(r.successes, 0);
	assert_int_equal(r.failures, 0);
}

static void test_time_going_backwards_is_clamped(void **state)
{
	struct reachability r;

	reachability_init(&r, 5000, UA, RA);
	reachability_on_success(&r, 1000); /* before start: counts as start */
	assert_int_equal(r.ok_since_ms, 5000);
	assert_int_equal(reachability_state(&r, 5000 + RA), REACH_REACHABLE);
	assert_string_equal(reach_state_name(REACH_REACHABLE), "reachable");
	assert_string_equal(reach_state_name(REACH_UNREACHABLE), "unreachable");
	assert_string_equal(reach_state_name(REACH_UNKNOWN), "unknown");
}

/* "answered": a real success during an outage, until a whole failure window after it. */
static void test_answered_during_outage(void **state)
{
	struct reachability r;
	struct reach_view v;
	int64_t t0 = 100000, out = t0 + UA;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	assert_false(reachability_view(&r, 1).answered); /* reachable: not an outage */
	reachability_on_failure(&r, t0);
	v = reachability_view(&r, out);
	assert_int_equal(v.state, REACH_UNREACHABLE);
	assert_false(v.answered);
	/* 401/403 do not count. */
	reachability_on_auth_error(&r, out + 1000);
	assert_false(reachability_view(&r, out + 1000).answered);
	reachability_on_failure(&r, out + 2000);
	/* A success: answered at once, while still unreachable (RA not passed). */
	reachability_on_success(&r, out + 3000);
	v = reachability_view(&r, out + 3000);
	assert_int_equal(v.state, REACH_UNREACHABLE);
	assert_true(v.answered);
	assert_int_equal(v.next_change_ms, out + 3000 + RA); /* reachable then */
	/* Failing again: still answered until a whole window of failure. */
	reachability_on_failure(&r, out + 4000);
	v = reachability_view(&r, out + 4000 + UA - 1);
	assert_true(v.answered);
	assert_int_equal(v.next_change_ms, out + 4000 + UA);
	v = reachability_view(&r, out + 4000 + UA);
	assert_false(v.answered);
	assert_int_equal(v.state, REACH_UNREACHABLE);
	assert_int_equal(v.next_change_ms, REACH_NEVER);
	/* Reachable again: the outage is over, answered is false. */
	reachability_on_success(&r, out + 200000);
	v = reachability_view(&r, out + 200000 + RA);
	assert_int_equal(v.state, REACH_REACHABLE);
	assert_false(v.answered);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_then_unreachable_from_start),
	    cmocka_unit_test(test_reachable_after_window_of_success),
	    cmocka_unit_test(test_reachable_to_unreachable_and_back),
	    cmocka_unit_test(test_flapping_never_trips),
	    cmocka_unit_test(test_auth_errors_mean_up),
	    cmocka_unit_test(test_time_going_backwards_is_clamped),
	    cmocka_unit_test(test_answered_during_outage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
