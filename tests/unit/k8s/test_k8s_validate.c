/*
 * test_k8s_validate.c: the apiserver's name rules as k8s_validate applies
 * them: DNS labels and subdomains, the one UUID rule (lowercase, as the
 * apiserver writes metadata.uid), data keys, relative paths, env var names.
 */
#include <string.h>

#include "k8s_validate.h"
#include "testutil.h"

static void test_dns_label(void **state)
{
	char s[80];

	assert_int_equal(k8s_check_dns_label("kube-system", NULL), KC_OK);
	assert_int_equal(k8s_check_dns_label("a", NULL), KC_OK);
	assert_int_equal(k8s_check_dns_label("0a9", NULL), KC_OK);
	assert_int_equal(k8s_check_dns_label("", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("-a", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("a-", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("A", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("a.b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("a_b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_label("..", NULL), KC_EINVAL);
	memset(s, 'a', 63);
	s[63] = '\0';
	assert_int_equal(k8s_check_dns_label(s, NULL), KC_OK);
	s[63] = 'a';
	s[64] = '\0';
	assert_int_equal(k8s_check_dns_label(s, NULL), KC_EINVAL);
}

static void test_dns_subdomain(void **state)
{
	char s[300];
	size_t i;

	assert_int_equal(k8s_check_dns_subdomain("kube-proxy-8jj5r", NULL), KC_OK);
	assert_int_equal(k8s_check_dns_subdomain("a.b-c.d", NULL), KC_OK);
	assert_int_equal(k8s_check_dns_subdomain("a..b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_subdomain(".a", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_subdomain("a.", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_subdomain("../x", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_subdomain("a/b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_dns_subdomain("", NULL), KC_EINVAL);
	for (i = 0; i < 253; i++)
		s[i] = (i % 50 == 49) ? '.' : 'a';
	s[253] = '\0';
	assert_int_equal(k8s_check_dns_subdomain(s, NULL), KC_OK);
	s[253] = 'a';
	s[254] = '\0';
	assert_int_equal(k8s_check_dns_subdomain(s, NULL), KC_EINVAL);
	assert_int_equal(k8s_check_static_pod_name(s + 10, "n", NULL), KC_OK);
	assert_int_equal(k8s_check_static_pod_name(s + 1, "node", NULL), KC_EINVAL);
}

static void test_uuid(void **state)
{
	assert_int_equal(k8s_check_uuid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d", NULL), KC_OK);
	/* The apiserver writes lowercase; the checkpoint store names files by it. */
	assert_int_equal(k8s_check_uuid("0F3C8A52-6D1E-4B7A-9C2D-1E2F3A4B5C6D", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6D", NULL), KC_EINVAL);
	assert_false(k8s_uuid_valid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6D"));
	assert_true(k8s_uuid_valid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"));
	assert_int_equal(k8s_check_uuid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6dd", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("0f3c8a526d1e4b7a9c2d1e2f3a4b5c6d", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6g", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("../../../../../../etc/passwd", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_uuid("", NULL), KC_EINVAL);
}

static void test_keys_and_paths(void **state)
{
	assert_int_equal(k8s_check_config_key("tls.crt", NULL), KC_OK);
	assert_int_equal(k8s_check_config_key("a_B-9.x", NULL), KC_OK);
	assert_int_equal(k8s_check_config_key(".dotfile", NULL), KC_OK);
	assert_int_equal(k8s_check_config_key(".", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key("..", NULL), KC_EINVAL);
	/* The apiserver's hasChDirPrefix: the kubelet's ..data and ..<timestamp> live there. */
	assert_int_equal(k8s_check_config_key("..data", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key("...", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key("..2024_01_01_00_00_00.123", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key(".x..y", NULL), KC_OK);
	assert_int_equal(k8s_check_config_key("a/b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key("", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_config_key("a b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("ca.crt", NULL), KC_OK);
	assert_int_equal(k8s_check_relative_path("sub/dir/file", NULL), KC_OK);
	assert_int_equal(k8s_check_relative_path("..data", NULL), KC_OK);
	assert_int_equal(k8s_check_relative_path("a..b/c", NULL), KC_OK);
	assert_int_equal(k8s_check_relative_path("", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("/etc/passwd", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("..", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("../../etc/passwd", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("a/../b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("a/..", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("a//b", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("./a", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("a/", NULL), KC_EINVAL);
	assert_int_equal(k8s_check_relative_path("a\nb", NULL), KC_EINVAL);
}

static void test_env_var_names(void **state)
{
	assert_true(k8s_is_env_var_name("PATH"));
	assert_true(k8s_is_env_var_name("_x"));
	assert_true(k8s_is_env_var_name("a.b-c"));
	assert_true(k8s_is_env_var_name("-a"));
	assert_false(k8s_is_env_var_name("1a"));
	assert_false(k8s_is_env_var_name(""));
	assert_false(k8s_is_env_var_name("a b"));
	assert_false(k8s_is_env_var_name("a=b"));
	assert_false(k8s_is_env_var_name("a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_label),     cmocka_unit_test(test_dns_subdomain),
	    cmocka_unit_test(test_uuid),          cmocka_unit_test(test_keys_and_paths),
	    cmocka_unit_test(test_env_var_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
