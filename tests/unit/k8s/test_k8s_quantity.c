/*
 * test_k8s_quantity.c: resource quantities scaled as the API's
 * resource.Quantity does (Value() rounds up), and everything else refused.
 */
#include <stdint.h>

#include "k8s_quantity.h"
#include "testutil.h"

static int64_t q(const char *s, int scale)
{
	int64_t v = -42;

	if (k8s_quantity_scaled(s, scale, &v, NULL) != KC_OK)
		return -1;
	return v;
}

static void test_quantities(void **state)
{
	assert_int_equal(q("1", 0), 1);
	assert_int_equal(q("1", 3), 1000);
	assert_int_equal(q("250m", 3), 250);
	assert_int_equal(q("250m", 0), 1); /* Value() rounds up */
	assert_int_equal(q("1.5", 3), 1500);
	assert_int_equal(q("0.1", 0), 1);
	assert_int_equal(q("128Mi", 0), 134217728);
	assert_int_equal(q("1Gi", 0), 1073741824);
	assert_int_equal(q("1G", 0), 1000000000);
	assert_int_equal(q("2k", 0), 2000);
	assert_int_equal(q("1e3", 0), 1000);
	assert_int_equal(q("1E3", 0), 1000);
	assert_int_equal(q("1.5Ki", 0), 1536);
	assert_int_equal(q("100n", 3), 1);
	assert_int_equal(q("0", 3), 0);
	assert_int_equal(q("+5", 0), 5);
	assert_int_equal(q("-1", 0), -1);
	assert_int_equal(q("", 0), -1);
	assert_int_equal(q("abc", 0), -1);
	assert_int_equal(q("1X", 0), -1);
	assert_int_equal(q("1..2", 0), -1);
	assert_int_equal(q("9Ei", 0), -1); /* past int64 */
	assert_int_equal(q("8Ei", 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quantities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
