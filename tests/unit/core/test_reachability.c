/*
 * test_reachability.c: the unreachable/reachable windows, counted from agent
 * start when the API was never reached but ended only by a failed attempt,
 * with hysteresis so a flapping API never trips them, 401/403 for a window
 * counting as "refused" (the kubelet cannot get its pods either), and a
 * property test over random event sequences.
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
	/* No attempt has failed yet: nothing but a failure can end the window. */
	assert_int_equal(v.next_change_ms, REACH_NEVER);
	/* A request that timed out: the window still runs from start. */
	reachability_on_failure(&r, 1000 + UA - 2000);
	assert_int_equal(reachability_state(&r, 1000 + UA - 1), REACH_UNKNOWN);
	assert_int_equal(reachability_next_deadline(&r, 1000 + UA - 1), 1000 + UA);
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

/*
 * Issue 18 defect 4: 401/403 for the window is REFUSED (the kubelet, with
 * the same identity, cannot get its pods), not "up". Failed on the old code,
 * where 401/403 counted as successes and the API turned REACHABLE.
 */
static void test_refused_for_window(void **state)
{
	struct reachability r;
	struct reach_view v;
	int64_t t;

	reachability_init(&r, 0, UA, RA);
	reachability_on_auth_error(&r, 100);
	assert_int_equal(reachability_state(&r, 100 + RA), REACH_UNKNOWN);
	assert_int_equal(reachability_state(&r, UA - 1), REACH_UNKNOWN);
	v = reachability_view(&r, UA);
	assert_int_equal(v.state, REACH_REFUSED);
	assert_true(reach_cannot_get_pods(v.state));
	assert_false(v.answered); /* a refusal is no answer for the hand-off */
	for (t = UA; t < 600 * 1000; t += 5000) {
		reachability_on_auth_error(&r, t);
		assert_int_equal(reachability_state(&r, t + 4999), REACH_REFUSED);
	}
	assert_true(r.auth_errors > 100);
	assert_int_equal(r.successes, 0);
	assert_int_equal(r.failures, 0);
	/* A network failure in the run: unreachable, same outage, same since. */
	reachability_on_failure(&r, t);
	v = reachability_view(&r, t);
	assert_int_equal(v.state, REACH_UNREACHABLE);
	assert_int_equal(v.since_ms, UA);
	reachability_on_auth_error(&r, t + 1000);
	assert_int_equal(reachability_state(&r, t + 1000), REACH_REFUSED);
	/* A real success ends it, after reachable_after. */
	reachability_on_success(&r, t + 2000);
	assert_int_equal(reachability_state(&r, t + 2000 + RA - 1), REACH_REFUSED);
	assert_int_equal(reachability_state(&r, t + 2000 + RA), REACH_REACHABLE);
	assert_string_equal(reach_state_name(REACH_REFUSED), "refused");
	/* A short refusal (a restarted apiserver's Node authorizer) changes nothing. */
	reachability_on_auth_error(&r, t + 100000);
	reachability_on_success(&r, t + 103000);
	assert_int_equal(reachability_state(&r, t + 200000), REACH_REACHABLE);
}

/*
 * Issue 19 finding 2: an agent restarted while it waits out its start-up
 * spread has sent nothing; the window runs from its start but does not end
 * before an attempt has failed. Failed on the old code (UNREACHABLE at
 * start + unreachable_after with no request sent).
 */
static void test_restart_spread_is_no_outage(void **state)
{
	struct reachability r;

	reachability_init(&r, 0, UA, RA);
	assert_int_equal(reachability_state(&r, UA), REACH_UNKNOWN);
	assert_int_equal(reachability_state(&r, 10 * UA), REACH_UNKNOWN);
	assert_int_equal(reachability_next_deadline(&r, 10 * UA), REACH_NEVER);
	/* The first request succeeds: reachable after the window of success. */
	reachability_on_success(&r, 10 * UA);
	assert_int_equal(reachability_state(&r, 10 * UA + RA), REACH_REACHABLE);
	/* Still: the first attempt that fails late in a long spread ends the
	 * window at once (it ran from start). */
	reachability_init(&r, 0, UA, RA);
	reachability_on_failure(&r, 2 * UA);
	assert_int_equal(reachability_state(&r, 2 * UA), REACH_UNREACHABLE);
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
	assert_true(reachability_view(&r, RA).answered); /* reachable: it answers */
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
	/* Reachable again: the API answers. */
	reachability_on_success(&r, out + 200000);
	v = reachability_view(&r, out + 200000 + RA);
	assert_int_equal(v.state, REACH_REACHABLE);
	assert_true(v.answered);
}

/*
 * Issue 18 defect 6: at start, before any state is reached, the first real
 * answer is "answered" already (a stale host-port bridge goes before the
 * kubelet relists). Failed on the old code (answered only while UNREACHABLE).
 */
static void test_answered_from_unknown(void **state)
{
	struct reachability r;
	struct reach_view v;

	reachability_init(&r, 0, UA, RA);
	assert_false(reachability_view(&r, 0).answered);
	reachability_on_auth_error(&r, 500);
	assert_false(reachability_view(&r, 500).answered);
	reachability_on_success(&r, 1000);
	v = reachability_view(&r, 1000);
	assert_int_equal(v.state, REACH_UNKNOWN);
	assert_true(v.answered);
}

/* xorshift32: failures reproduce. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random event sequences (one event or none per second) checked against the
 * definitions: a state turns down only after a failed attempt and a whole
 * window with no real success; REFUSED only when the last failed attempt was
 * a 401/403; REACHABLE only after a whole window of real success; and
 * next_change_ms is honest (nothing changes before it without an event).
 */
static void test_random_sequences(void **state)
{
	uint32_t seed = 4242;
	int iter;

	for (iter = 0; iter < 400; iter++) {
		struct reachability r;
		int64_t t, last_ok = -1, last_bad = -1, first_bad_after_ok = -1;
		bool last_bad_auth = false;
		enum reach_state prev = REACH_UNKNOWN;
		struct reach_view pv = {REACH_UNKNOWN, 0, REACH_NEVER, false};
		uint32_t mode = next_rand(&seed) % 4;

		reachability_init(&r, 0, UA, RA);
		for (t = 0; t < 400 * 1000; t += 1000) {
			struct reach_view before = reachability_view(&r, t), v;
			uint32_t k = next_rand(&seed) % (4 + mode);

			/* Nothing changes before the announced instant without an event. */
			if (t > 0 && pv.next_change_ms > t) {
				assert_int_equal(before.state, pv.state);
				assert_int_equal(before.answered, pv.answered);
			}

			if (k == 1 || (k >= 4 && mode == 1)) {
				reachability_on_success(&r, t);
				last_ok = t;
				first_bad_after_ok = -1;
			} else if (k == 2 || (k >= 4 && mode == 2)) {
				reachability_on_failure(&r, t);
				last_bad = t;
				last_bad_auth = false;
				if (first_bad_after_ok < 0)
					first_bad_after_ok = t;
			} else if (k == 3 || (k >= 4 && mode == 3)) {
				reachability_on_auth_error(&r, t);
				last_bad = t;
				last_bad_auth = true;
				if (first_bad_after_ok < 0)
					first_bad_after_ok = t;
			}
			v = reachability_view(&r, t);
			if (reach_cannot_get_pods(v.state)) {
				assert_true(last_bad >= 0);
				assert_int_equal(v.state == REACH_REFUSED, last_bad_auth);
			}
			/* A window that ends at the instant of a success is earned first
			 * (events commit the state earned up to their instant). */
			if (reach_cannot_get_pods(v.state) && !reach_cannot_get_pods(prev) &&
			    last_ok != t) {
				/* just turned down: a failed attempt, no success for a window */
				assert_true(last_ok < 0 || t - last_ok >= UA);
				assert_true(first_bad_after_ok >= 0);
				if (last_ok >= 0)
					assert_true(t - first_bad_after_ok >= UA);
				else
					assert_true(t >= UA);
			}
			if (v.state == REACH_REACHABLE && prev != REACH_REACHABLE &&
			    last_bad != t) {
				assert_true(last_ok >= 0);
				assert_true(last_bad < 0 || t - last_bad >= RA);
			}
			if (v.answered)
				assert_true(last_ok >= 0);
			assert_true(v.next_change_ms > t);
			prev = v.state;
			pv = v;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_then_unreachable_from_start),
	    cmocka_unit_test(test_reachable_after_window_of_success),
	    cmocka_unit_test(test_reachable_to_unreachable_and_back),
	    cmocka_unit_test(test_flapping_never_trips),
	    cmocka_unit_test(test_refused_for_window),
	    cmocka_unit_test(test_restart_spread_is_no_outage),
	    cmocka_unit_test(test_answered_from_unknown),
	    cmocka_unit_test(test_random_sequences),
	    cmocka_unit_test(test_time_going_backwards_is_clamped),
	    cmocka_unit_test(test_answered_during_outage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
