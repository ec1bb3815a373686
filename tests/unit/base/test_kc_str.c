/*
 * test_kc_str.c: list membership is exact (no prefix, no case folding) and
 * the NULL-keeping copy copies, keeps NULL and leaves *oom alone.
 */
#include <stdlib.h>
#include <string.h>

#include "kc_str.h"
#include "testutil.h"

static void test_in(void **state)
{
	static const char *const kinds[] = {"hostPath", "emptyDir", "nfs"};

	assert_true(KC_STR_IN("hostPath", kinds));
	assert_true(KC_STR_IN("nfs", kinds));
	assert_false(KC_STR_IN("hostpath", kinds));
	assert_false(KC_STR_IN("host", kinds));
	assert_false(KC_STR_IN("nfsx", kinds));
	assert_false(KC_STR_IN("", kinds));
	assert_false(kc_str_in("hostPath", kinds, 0));
	assert_false(kc_str_in("nfs", kinds, 2)); /* only the first n count */
}

static void test_strdup_opt(void **state)
{
	bool oom = false;
	char src[] = "kube-system", *copy = kc_strdup_opt(src, &oom);

	assert_non_null(copy);
	assert_ptr_not_equal(copy, src);
	assert_string_equal(copy, "kube-system");
	free(copy);
	assert_null(kc_strdup_opt(NULL, &oom));
	assert_false(oom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in),
	    cmocka_unit_test(test_strdup_opt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
