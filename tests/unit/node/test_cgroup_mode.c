/*
 * test_cgroup_mode.c: cgroup v1/v2 as the kubelet tells them, and when the
 * agent warns that a 1.35+ kubelet refuses the host (issue 19, finding 14d).
 */
#include <stdlib.h>
#include <string.h>

#include "cgroup_mode.h"
#include "testutil.h"

static void test_classify(void **state)
{
	assert_int_equal(cgroup_mode_classify(0x63677270UL, false), CGROUP_MODE_V2);
	/* v1 and hybrid: tmpfs with v1 hierarchies under it. */
	assert_int_equal(cgroup_mode_classify(0x01021994UL, true), CGROUP_MODE_V1);
	/* A tmpfs or ext4 test tree, without v1 hierarchies: not known. */
	assert_int_equal(cgroup_mode_classify(0x01021994UL, false), CGROUP_MODE_UNKNOWN);
	assert_int_equal(cgroup_mode_classify(0xEF53UL, true), CGROUP_MODE_UNKNOWN);
}

static void test_probe(void **state)
{
	char *dir = tu_mkdtemp();

	assert_int_equal(cgroup_mode_probe("/nonexistent/cgroup"), CGROUP_MODE_UNKNOWN);
	assert_int_equal(cgroup_mode_probe(dir), CGROUP_MODE_UNKNOWN);
	tu_rmrf(dir);
	free(dir);
	/* The machine's own: whatever it is, never a crash. */
	assert_true(cgroup_mode_probe("/sys/fs/cgroup") <= CGROUP_MODE_V2);
}

static void test_refusal(void **state)
{
	char buf[512];

	assert_true(cgroup_v1_refusal(CGROUP_MODE_V1, -1, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "does not set failCgroupV1"));
	assert_non_null(strstr(buf, "1.35 or newer refuses to start"));
	assert_non_null(strstr(buf, "validateKubeletOSConfiguration"));
	assert_true(cgroup_v1_refusal(CGROUP_MODE_V1, 1, buf, sizeof(buf)));
	assert_non_null(strstr(buf, "configuration sets failCgroupV1"));
	assert_false(cgroup_v1_refusal(CGROUP_MODE_V1, 0, buf, sizeof(buf)));
	assert_false(cgroup_v1_refusal(CGROUP_MODE_V2, -1, buf, sizeof(buf)));
	assert_false(cgroup_v1_refusal(CGROUP_MODE_UNKNOWN, 1, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
