/*
 * test_render_validate.c: the small parsers render relies on: apiserver name
 * rules (k8s_validate), resource quantities (k8s_quantity), Go's %q quoting
 * and the volume classification (volume_source).
 */
#include "render_testpod.h"

#include "k8s_quantity.h"
#include "k8s_validate.h"
#include "kc_buf.h"
#include "render_int.h"
#include "volume_source.h"

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

static const char *go_quote(const char *s, size_t len, struct kc_buf *b)
{
	kc_buf_reset(b);
	assert_int_equal(rd_go_quote(s, len, b, NULL), KC_OK);
	return b->data;
}

static void test_go_quote(void **state)
{
	struct kc_buf b;

	kc_buf_init(&b, 0);
	assert_string_equal(go_quote("plain", 5, &b), "\"plain\"");
	assert_string_equal(go_quote("a\"b\\c", 5, &b), "\"a\\\"b\\\\c\"");
	assert_string_equal(go_quote("l1\nl2\t\r", 7, &b), "\"l1\\nl2\\t\\r\"");
	assert_string_equal(go_quote("\x01\x7f", 2, &b), "\"\\x01\\x7f\"");
	assert_string_equal(go_quote("\0", 1, &b), "\"\\x00\"");
	assert_string_equal(go_quote("caf\xc3\xa9 \xe2\x9c\x93", 9, &b),
	                    "\"caf\xc3\xa9 \xe2\x9c\x93\"");
	assert_string_equal(go_quote("\xc2\xa0", 2, &b), "\"\\u00a0\"");
	assert_string_equal(go_quote("\xe2\x80\xa8", 3, &b), "\"\\u2028\"");
	assert_string_equal(go_quote("\xf3\xa0\x80\x81", 4, &b), "\"\\U000e0001\"");
	assert_string_equal(go_quote("\xff", 1, &b), "\"\\xff\"");
	assert_string_equal(go_quote("", 0, &b), "\"\"");
	kc_buf_free(&b);
}

static void test_volume_classes(void **state)
{
	enum vs_class cls;
	json_t *v = tp_json("{\"name\":\"a\",\"secret\":{},\"emptyDir\":{}}");
	struct kc_error err;

	assert_int_equal(volume_source_classify(v, &cls, &err), KC_EINVAL);
	tp_assert_msg(err.msg, "exactly one volume source");
	json_decref(v);
	v = tp_json("{\"name\":\"a\",\"secret\":{\"secretName\":\"s\"},\"emptyDir\":null}");
	assert_int_equal(volume_source_classify(v, &cls, &err), KC_OK);
	assert_int_equal(cls, VS_MATERIALISE);
	json_decref(v);
	v = tp_json("{\"name\":\"a\"}");
	assert_int_equal(volume_source_classify(v, &cls, &err), KC_EINVAL);
	json_decref(v);
	v = tp_json("{\"name\":\"a\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{}}]}}");
	assert_int_equal(volume_source_classify(v, &cls, &err), KC_OK);
	assert_int_equal(cls, VS_MATERIALISE);
	json_decref(v);
	v = tp_json("{\"name\":\"a\",\"projected\":{\"sources\":[]}}");
	assert_int_equal(volume_source_classify(v, &cls, &err), KC_OK);
	assert_int_equal(cls, VS_KEEP);
	json_decref(v);
	v = tp_json("{\"name\":\"a\",\"cephfs\":{\"monitors\":[],\"secretRef\":null}}");
	assert_int_equal(volume_source_classify(v, &cls, &err), KC_OK);
	assert_int_equal(cls, VS_KEEP);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_label),     cmocka_unit_test(test_dns_subdomain),
	    cmocka_unit_test(test_uuid),          cmocka_unit_test(test_keys_and_paths),
	    cmocka_unit_test(test_env_var_names), cmocka_unit_test(test_quantities),
	    cmocka_unit_test(test_go_quote),      cmocka_unit_test(test_volume_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
