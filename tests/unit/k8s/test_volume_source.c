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

/*
 * 1.35-1.37 projected sources the kubelet fills from the API: refused, and the
 * reason says what the kubelet would need (issue 19, finding 14).
 */
static void test_api_projected_sources_refused_with_reason(void **state)
{
	static const struct {
		const char *volume;
		const char *where, *why;
	} cases[] = {
	    {"{\"name\":\"a\",\"projected\":{\"sources\":[{\"downwardAPI\":{}},"
	     "{\"podCertificate\":{\"signerName\":\"example.com/s\",\"keyType\":\"ED25519\"}}]}}",
	     "projected.sources[1].podCertificate: ", "PodCertificateRequest"},
	    {"{\"name\":\"a\",\"projected\":{\"sources\":[{\"clusterTrustBundle\":"
	     "{\"signerName\":\"example.com/s\",\"path\":\"b.pem\"}}]}}",
	     "projected.sources[0].clusterTrustBundle: ",
	     "ClusterTrustBundle objects from the API"},
	};
	enum vs_class cls;
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = tp_json(cases[i].volume);

		assert_int_equal(volume_source_classify(v, &cls, &err), KC_ENOTCHECKPOINTABLE);
		tp_assert_msg(err.msg, cases[i].where);
		tp_assert_msg(err.msg, cases[i].why);
		tp_assert_msg(err.msg, "refuses a static pod");
		tp_assert_msg(err.msg, "cannot be made self-contained");
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_volume_classes),
	    cmocka_unit_test(test_api_projected_sources_refused_with_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
