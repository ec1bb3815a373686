/*
 * test_bridge_name.c: the bridge manifest's file name: our prefix, the
 * apiserver's name rules, and the file system's length limit.
 */
#include <string.h>

#include "bridge_name.h"
#include "testutil.h"

static void test_manifest_name(void **state)
{
	char name[512];
	struct kc_error err;

	assert_int_equal(
	    bridge_manifest_name("kube-system", "kube-proxy-8jj5r", name, sizeof(name), &err),
	    KC_OK);
	assert_string_equal(name, "kubelet-checkpoint_kube-system_kube-proxy-8jj5r.yaml");
	assert_int_equal(bridge_manifest_name("kube-system", "../x", name, sizeof(name), &err),
	                 KC_EINVAL);
	assert_int_equal(bridge_manifest_name("a_b", "x", name, sizeof(name), &err), KC_EINVAL);
	assert_int_equal(bridge_manifest_name("ns", "x", name, 10, &err), KC_ETOOBIG);
	/* A legal name whose file name is over what the file system takes: not checkpointable. */
	{
		char longname[231], big[512];

		/* A DNS subdomain: labels of at most 63, so a dot every 60. */
		memset(longname, 'a', 230);
		longname[60] = longname[121] = longname[182] = '.';
		longname[230] = '\0';
		assert_int_equal(
		    bridge_manifest_name("kube-system", longname, big, sizeof(big), &err),
		    KC_ENOTCHECKPOINTABLE);
		if (strstr(err.msg, "would be 266 bytes, over the 250") == NULL)
			fail_msg("message %s lacks the length", err.msg);
		longname[250 - 36] = '\0'; /* exactly 250 */
		assert_int_equal(
		    bridge_manifest_name("kube-system", longname, big, sizeof(big), &err), KC_OK);
		assert_int_equal(strlen(big), 250);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
