/*
 * test_objects.c: the Secret/ConfigMap index render resolves references in.
 */
#include "render_testpod.h"

static void test_add_find_replace(void **state)
{
	struct kc_objects *objs = kc_objects_new();
	json_t *a =
	    tp_json("{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"},"
	            "\"data\":{\"v\":\"MQ==\"}}");
	json_t *b =
	    tp_json("{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"},"
	            "\"data\":{\"v\":\"Mg==\"}}");
	json_t *c = tp_json("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"s\",\"namespace\":"
	                    "\"n\"}}");

	assert_int_equal(kc_objects_add(objs, a, NULL), KC_OK);
	assert_ptr_equal(kc_objects_find(objs, "Secret", "n", "s"), a);
	assert_null(kc_objects_find(objs, "ConfigMap", "n", "s"));
	assert_null(kc_objects_find(objs, "Secret", "other", "s"));
	assert_null(kc_objects_find(objs, "Secret", "n", NULL));
	assert_int_equal(kc_objects_add(objs, b, NULL), KC_OK);
	assert_ptr_equal(kc_objects_find(objs, "Secret", "n", "s"), b);
	assert_int_equal(kc_objects_add(objs, c, NULL), KC_OK);
	assert_ptr_equal(kc_objects_find(objs, "ConfigMap", "n", "s"), c);
	assert_null(kc_objects_find(NULL, "Secret", "n", "s"));
	kc_objects_free(objs);
}

static void test_refused(void **state)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
	    {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"}}",
	     "must be Secret or ConfigMap"},
	    {"{\"metadata\":{\"name\":\"s\",\"namespace\":\"n\"}}", "must be Secret or ConfigMap"},
	    {"{\"kind\":\"Secret\",\"metadata\":{\"namespace\":\"n\"}}", "metadata.name: missing"},
	    {"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"../s\",\"namespace\":\"n\"}}",
	     "Secret: metadata.name"},
	    {"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"}}",
	     "Secret s: metadata.namespace: missing"},
	    {"{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"s\",\"namespace\":\"a/b\"}}",
	     "ConfigMap s: metadata.namespace"},
	};
	struct kc_objects *objs = kc_objects_new();
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(kc_objects_add(objs, tp_json(cases[i].json), &err), KC_EINVAL);
		tp_assert_msg(err.msg, cases[i].needle);
	}
	kc_objects_free(objs);
	kc_objects_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_find_replace),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
