/*
 * test_pod_refs.c: pod_refs_collect finds every Secret/ConfigMap a pod
 * references (volumes, projected sources, env, envFrom, init containers),
 * deduplicated and sorted, and refuses names that are not apiserver names.
 */
#include "render_testpod.h"

#include "pod_refs.h"

static void assert_ref(const struct pod_refs *r, size_t i, const char *kind, const char *name,
                       bool optional)
{
	assert_true(i < r->count);
	assert_string_equal(r->refs[i].kind, kind);
	assert_string_equal(r->refs[i].name, name);
	assert_int_equal(r->refs[i].optional, optional);
}

static void test_collect_everything(void **state)
{
	json_t *pod = tp_pod();
	struct pod_refs r;
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"a\",\"secret\":{\"secretName\":\"vol-secret\"}},"
	                "{\"name\":\"b\",\"configMap\":{\"name\":\"vol-cm\",\"optional\":true}},"
	                "{\"name\":\"c\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":"
	                "\"kube-root-ca.crt\"}},{\"secret\":{\"name\":\"proj-secret\"}},"
	                "{\"serviceAccountToken\":{\"path\":\"t\"}}]}},"
	                "{\"name\":\"d\",\"hostPath\":{\"path\":\"/x\"}}]");
	json_object_set_new(
	    tp_container(pod, 0), "env",
	    tp_json("[{\"name\":\"A\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"env-secret\","
	            "\"key\":\"k\",\"optional\":true}}},"
	            "{\"name\":\"B\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"vol-cm\","
	            "\"key\":\"k\"}}},{\"name\":\"C\",\"value\":\"x\"}]"));
	json_object_set_new(
	    tp_spec(pod), "initContainers",
	    tp_json("[{\"name\":\"i\",\"image\":\"i\",\"envFrom\":[{\"secretRef\":{"
	            "\"name\":\"vol-secret\",\"optional\":true}},{\"configMapRef\":{"
	            "\"name\":\"init-cm\",\"optional\":true}}]}]"));
	/* Ephemeral containers are dropped by render: not references. */
	json_object_set_new(tp_spec(pod), "ephemeralContainers",
	                    tp_json("[{\"name\":\"e\",\"envFrom\":[{\"secretRef\":{\"name\":"
	                            "\"debug-only\"}}]}]"));
	assert_int_equal(pod_refs_collect(pod, &r, &err), KC_OK);
	assert_string_equal(r.namespace, "kube-system");
	assert_int_equal(r.count, 6);
	assert_ref(&r, 0, "ConfigMap", "init-cm", true);
	assert_ref(&r, 1, "ConfigMap", "kube-root-ca.crt", false);
	assert_ref(&r, 2, "ConfigMap", "vol-cm", false); /* optional once, required once */
	assert_ref(&r, 3, "Secret", "env-secret", true);
	assert_ref(&r, 4, "Secret", "proj-secret", false);
	assert_ref(&r, 5, "Secret", "vol-secret", false);
	pod_refs_free(&r);
	json_decref(pod);
}

static void test_no_refs(void **state)
{
	json_t *pod = tp_pod();
	struct pod_refs r;

	assert_int_equal(pod_refs_collect(pod, &r, NULL), KC_OK);
	assert_int_equal(r.count, 0);
	pod_refs_free(&r);
	json_decref(pod);
}

static void test_hostile_names(void **state)
{
	static const struct {
		const char *where, *json, *needle;
	} cases[] = {
	    {"volumes", "[{\"name\":\"a\",\"secret\":{\"secretName\":\"../../x\"}}]",
	     "spec.volumes[0].secret.secretName"},
	    {"volumes", "[{\"name\":\"a\",\"secret\":{}}]",
	     "spec.volumes[0].secret.secretName: missing"},
	    {"volumes",
	     "[{\"name\":\"a\",\"projected\":{\"sources\":[{\"configMap\":{\"name\":"
	     "\"A B\"}}]}}]",
	     "spec.volumes[0].projected.sources[0].configMap.name"},
	    {"env",
	     "[{\"name\":\"A\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"x/y\",\"key\":"
	     "\"k\"}}}]",
	     "spec.containers[0].env[0].valueFrom.secretKeyRef.name"},
	    {"envFrom", "[{\"configMapRef\":{\"name\":\"ok\",\"optional\":\"no\"}}]",
	     "spec.containers[0].envFrom[0].configMapRef.optional"},
	};
	struct pod_refs r;
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod();

		if (strcmp(cases[i].where, "volumes") == 0)
			tp_volumes(pod, cases[i].json);
		else
			json_object_set_new(tp_container(pod, 0), cases[i].where,
			                    tp_json(cases[i].json));
		assert_int_equal(pod_refs_collect(pod, &r, &err), KC_EINVAL);
		tp_assert_msg(err.msg, cases[i].needle);
		assert_int_equal(r.count, 0);
		json_decref(pod);
	}
}

static void test_bad_pod(void **state)
{
	json_t *pod = tp_pod();
	struct pod_refs r;
	struct kc_error err;

	json_object_set_new(json_object_get(pod, "metadata"), "namespace", json_string("../x"));
	assert_int_equal(pod_refs_collect(pod, &r, &err), KC_EINVAL);
	tp_assert_msg(err.msg, "metadata.namespace");
	json_object_del(json_object_get(pod, "metadata"), "namespace");
	assert_int_equal(pod_refs_collect(pod, &r, &err), KC_EINVAL);
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_collect_everything),
	    cmocka_unit_test(test_no_refs),
	    cmocka_unit_test(test_hostile_names),
	    cmocka_unit_test(test_bad_pod),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
