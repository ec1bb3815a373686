/*
 * test_render_eligible.c: render_check_eligible, one test per reason a pod
 * is (not) an eligible parent (docs/design.md §5).
 */
#include "kc_names.h"
#include "render_testpod.h"

static void expect(json_t *pod, const struct render_opts *o, kc_code code, const char *needle)
{
	struct kc_error err;

	kc_error_clear(&err);
	assert_int_equal(render_check_eligible(pod, o, &err), code);
	if (needle != NULL)
		tp_assert_msg(err.msg, needle);
}

static json_t *annotations(json_t *pod)
{
	return json_object_get(json_object_get(pod, "metadata"), "annotations");
}

static void test_eligible(void **state)
{
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	expect(pod, &o, KC_OK, NULL);
	expect(pod, NULL, KC_OK, NULL);
	json_decref(pod);
}

static void test_annotation_must_be_exactly_true(void **state)
{
	static const char *const values[] = {"True", "yes", "1", "true ", ""};
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_object_set_new(annotations(pod), KC_DEFAULT_TRIGGER_ANNOTATION,
		                    json_string(values[i]));
		expect(pod, &o, KC_EINELIGIBLE, "not exactly \"true\"");
	}
	json_object_set_new(annotations(pod), KC_DEFAULT_TRIGGER_ANNOTATION, json_true());
	expect(pod, &o, KC_EINELIGIBLE, "not exactly \"true\"");
	json_object_del(annotations(pod), KC_DEFAULT_TRIGGER_ANNOTATION);
	expect(pod, &o, KC_EINELIGIBLE, "no node.kubernetes.io/bootstrap-checkpoint");
	json_object_del(json_object_get(pod, "metadata"), "annotations");
	expect(pod, &o, KC_EINELIGIBLE, "not selected");
	json_decref(pod);
}

static void test_custom_annotations(void **state)
{
	static const char *const triggers[] = {"example.com/keep",
	                                       "checkpointer.alpha.coreos.com/checkpoint"};
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	o.annotations = triggers;
	o.nannotations = 2;
	expect(pod, &o, KC_EINELIGIBLE, "no example.com/keep");
	json_object_set_new(annotations(pod), triggers[1], json_string("true"));
	expect(pod, &o, KC_OK, NULL);
	json_decref(pod);
}

static void test_mirror_pod(void **state)
{
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	json_object_set_new(annotations(pod), "kubernetes.io/config.mirror", json_string("abc"));
	expect(pod, &o, KC_EINELIGIBLE, "kubernetes.io/config.mirror: a mirror pod");
	json_decref(pod);
}

static void test_being_deleted(void **state)
{
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	json_object_set_new(json_object_get(pod, "metadata"), "deletionTimestamp",
	                    json_string("2024-01-01T00:00:00Z"));
	expect(pod, &o, KC_EINELIGIBLE, "metadata.deletionTimestamp: the pod is being deleted");
	json_object_set_new(json_object_get(pod, "metadata"), "deletionTimestamp", json_null());
	expect(pod, &o, KC_OK, NULL);
	json_decref(pod);
}

static void test_finished(void **state)
{
	static const char *const phases[] = {"Succeeded", "Failed"};
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();
	size_t i;

	for (i = 0; i < 2; i++) {
		json_object_set_new(json_object_get(pod, "status"), "phase",
		                    json_string(phases[i]));
		expect(pod, &o, KC_EINELIGIBLE, "status.phase: the pod has finished");
		expect(pod, &o, KC_EINELIGIBLE, phases[i]);
	}
	json_object_set_new(json_object_get(pod, "status"), "phase", json_string("Pending"));
	expect(pod, &o, KC_OK, NULL);
	json_object_del(pod, "status");
	expect(pod, &o, KC_OK, NULL);
	json_decref(pod);
}

static void test_other_node(void **state)
{
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	o.node_name = "node-2";
	expect(pod, &o, KC_EINELIGIBLE,
	       "spec.nodeName: bound to node-1, not to this node (node-2)");
	json_object_del(tp_spec(pod), "nodeName");
	expect(pod, &o, KC_EINELIGIBLE, "spec.nodeName: not bound to a node");
	/* No node given: nodeName is not checked. */
	o.node_name = NULL;
	expect(pod, &o, KC_OK, NULL);
	json_decref(pod);
}

static void test_namespaces(void **state)
{
	static const char *const system_only[] = {"kube-system"};
	static const char *const others[] = {"monitoring", "logging"};
	static const char *const star[] = {"monitoring", "*"};
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	o.namespaces = system_only;
	o.nnamespaces = 1;
	expect(pod, &o, KC_OK, NULL);
	o.namespaces = others;
	o.nnamespaces = 2;
	expect(pod, &o, KC_EINELIGIBLE,
	       "metadata.namespace: kube-system is not an allowed namespace");
	o.namespaces = star;
	expect(pod, &o, KC_OK, NULL);
	o.namespaces = NULL;
	o.nnamespaces = 0;
	expect(pod, &o, KC_OK, NULL);
	json_decref(pod);
}

static void test_malformed(void **state)
{
	json_t *pod = tp_pod();
	struct render_opts o = tp_opts();

	json_object_set_new(json_object_get(pod, "metadata"), "annotations", json_string("x"));
	expect(pod, &o, KC_EINVAL, "metadata.annotations: must be a mapping");
	json_object_del(pod, "metadata");
	expect(pod, &o, KC_EINVAL, "metadata: missing");
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eligible),
	    cmocka_unit_test(test_annotation_must_be_exactly_true),
	    cmocka_unit_test(test_custom_annotations),
	    cmocka_unit_test(test_mirror_pod),
	    cmocka_unit_test(test_being_deleted),
	    cmocka_unit_test(test_finished),
	    cmocka_unit_test(test_other_node),
	    cmocka_unit_test(test_namespaces),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
