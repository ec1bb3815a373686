/*
 * test_kc_clock.c: the monotonic clock never goes back, advances with real
 * time, and its two units agree.
 */
#include <time.h>

#include "kc_clock.h"
#include "testutil.h"

static void test_advances(void **state)
{
	struct timespec ten_ms = {0, 10 * 1000 * 1000};
	int64_t t0 = kc_clock_ms(), t1;

	nanosleep(&ten_ms, NULL);
	t1 = kc_clock_ms();
	assert_true(t1 >= t0 + 10);
	assert_true(t1 < t0 + 10000);
}

static void test_units_agree(void **state)
{
	int64_t ms0 = kc_clock_ms();
	uint64_t us = kc_clock_us();
	int64_t ms1 = kc_clock_ms();

	/* The microsecond reading lies between the two millisecond readings. */
	assert_true((int64_t)(us / 1000) >= ms0);
	assert_true((int64_t)(us / 1000) <= ms1);
}

static void test_never_back(void **state)
{
	int64_t last = kc_clock_ms(), now;
	int i;

	for (i = 0; i < 100000; i++) {
		now = kc_clock_ms();
		assert_true(now >= last);
		last = now;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_advances),
	    cmocka_unit_test(test_units_agree),
	    cmocka_unit_test(test_never_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
