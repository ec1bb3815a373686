/*
 * test_bridge_run.c: the started-or-not state machine of a bridge, every
 * input combination at every phase, and the "said once per activation" rule.
 */
#include "bridge_run.h"
#include "testutil.h"

#define T 60000

static void test_lifecycle(void **state)
{
	struct bridge_run b = {0};
	int64_t next = INT64_MAX;

	/* Not on disk: nothing. */
	assert_false(bridge_run_step(&b, false, true, false, 0, T, &next));
	assert_int_equal(b.state, BRIDGE_RUN_NONE);
	/* Written at 1000: starting until 1000 + T, and the loop is told when. */
	assert_false(bridge_run_step(&b, true, true, false, 1000, T, &next));
	assert_int_equal(b.state, BRIDGE_RUN_STARTING);
	assert_int_equal(next, 1000 + T);
	assert_false(bridge_run_step(&b, true, true, false, 1000 + T - 1, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_STARTING);
	/* Not started in time: said once. */
	assert_true(bridge_run_step(&b, true, true, false, 1000 + T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_NOT_RUNNING);
	assert_false(bridge_run_step(&b, true, true, false, 1000 + 2 * T, T, NULL));
	/* It comes up late: running. */
	assert_false(bridge_run_step(&b, true, true, true, 1000 + 3 * T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_RUNNING);
	/* And stops: not running at once (long past the timeout), not said again. */
	assert_false(bridge_run_step(&b, true, true, false, 1000 + 4 * T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_NOT_RUNNING);
	/* No runtime answer: unknown, never "not running". */
	assert_false(bridge_run_step(&b, true, false, false, 1000 + 5 * T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_UNKNOWN);
	/* Withdrawn, then a new activation: a fresh timer, said again if needed. */
	assert_false(bridge_run_step(&b, false, true, false, 1000 + 6 * T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_NONE);
	assert_false(bridge_run_step(&b, true, true, false, 1000 + 7 * T, T, NULL));
	assert_int_equal(b.state, BRIDGE_RUN_STARTING);
	assert_true(bridge_run_step(&b, true, true, false, 1000 + 8 * T, T, NULL));
	assert_string_equal(bridge_run_name(BRIDGE_RUN_NOT_RUNNING), "not-running");
	assert_string_equal(bridge_run_name((enum bridge_run_state)42), "none");
}

/* Every input at every state: the state follows the inputs, the report is once. */
static void test_all_combinations(void **state)
{
	int start, disk, known, ready, late;

	for (start = 0; start <= BRIDGE_RUN_UNKNOWN; start++)
		for (disk = 0; disk < 2; disk++)
			for (known = 0; known < 2; known++)
				for (ready = 0; ready < 2; ready++)
					for (late = 0; late < 2; late++) {
						struct bridge_run b = {(enum bridge_run_state)start,
						                       0, false};
						int64_t now = late ? T : T - 1;
						bool said = bridge_run_step(&b, disk, known, ready,
						                            now, T, NULL);

						if (start == BRIDGE_RUN_NONE && disk)
							assert_int_equal(b.written_ms, now);
						if (!disk)
							assert_int_equal(b.state, BRIDGE_RUN_NONE);
						else if (!known)
							assert_int_equal(b.state,
							                 BRIDGE_RUN_UNKNOWN);
						else if (ready)
							assert_int_equal(b.state,
							                 BRIDGE_RUN_RUNNING);
						else if (start != BRIDGE_RUN_NONE && late)
							assert_int_equal(b.state,
							                 BRIDGE_RUN_NOT_RUNNING);
						else
							assert_int_equal(b.state,
							                 BRIDGE_RUN_STARTING);
						assert_int_equal(said,
						                 b.state == BRIDGE_RUN_NOT_RUNNING);
						/* Never twice. */
						assert_false(bridge_run_step(&b, disk, known, ready,
						                             now, T, NULL));
					}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_all_combinations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
