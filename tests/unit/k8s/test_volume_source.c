/*
 * test_volume_source.c: the one classification of pod volumes (kept,
 * materialised, refused with the source named) that render, volume_plan and
 * pod_refs share.
 */
#include "render_testpod.h"

#include "volume_source.h"

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
	    cmocka_unit_test(test_volume_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
