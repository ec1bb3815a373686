/*
 * test_bridge_warnings.c: the classifier of bridge_warnings.h, one test per
 * rule and per case where a rule must stay silent, plus the property that
 * every warned pod still renders (warnings never refuse a checkpoint).
 */
#include "bridge_warnings.h"
#include "render_testpod.h"

/* Warnings of a pod built from a spec JSON text. */
static json_t *warnings_of(const char *spec)
{
	json_error_t e;
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "v1", "kind", "Pod",
	                        "metadata", "name", "p", "namespace", "kube-system", "spec",
	                        json_loads(spec, 0, &e));
	json_t *out = NULL;
	struct kc_error err;

	assert_non_null(pod);
	assert_int_equal(bridge_warnings(pod, &out, &err), KC_OK);
	assert_true(json_is_array(out));
	json_decref(pod);
	return out;
}

static const char *warning(const json_t *arr, size_t i)
{
	assert_true(i < json_array_size(arr));
	return json_string_value(json_array_get(arr, i));
}

static void test_plain_host_network_pod_has_none(void **state)
{
	json_t *w = warnings_of("{\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirst\","
	                        "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}");

	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
}

static void test_runtime_class_named(void **state)
{
	json_t *w = warnings_of("{\"hostNetwork\":true,\"runtimeClassName\":\"nvidia\"}");

	assert_int_equal(json_array_size(w), 1);
	tp_assert_msg(warning(w, 0), "runtimeClassName \"nvidia\"");
	tp_assert_msg(warning(w, 0), "restarted while the API is down");
	json_decref(w);
	/* An empty name is the default handler: nothing to look up. */
	w = warnings_of("{\"hostNetwork\":true,\"runtimeClassName\":\"\"}");
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
}

static void test_image_pull_secrets(void **state)
{
	json_t *w = warnings_of("{\"hostNetwork\":true,\"imagePullSecrets\":[{\"name\":\"reg\"}]}");

	assert_int_equal(json_array_size(w), 1);
	tp_assert_msg(warning(w, 0), "imagePullSecrets");
	tp_assert_msg(warning(w, 0), "KubeletEnsureSecretPulledImages");
	tp_assert_msg(warning(w, 0), "already on the node");
	json_decref(w);
	w = warnings_of("{\"hostNetwork\":true,\"imagePullSecrets\":[]}");
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
}

/*
 * An image a ServiceAccount-token credential provider covers (issue 19,
 * finding 14a): warned with image and provider when the node is known,
 * merged with imagePullSecrets into one warning; silent for images the
 * provider's matchImages do not cover, and when the node is unknown.
 */
static void test_service_account_token_provider(void **state)
{
	static const struct image_credential_rule rules[] = {
	    {"plain-looking", "registry.example/other"},
	    {"acr-token", "*.azurecr.io"},
	};
	const struct bridge_node node = {rules, 2};
	json_error_t e;
	json_t *pod = json_pack(
	    "{s:{s:s, s:s}, s:o}", "metadata", "name", "p", "namespace", "kube-system", "spec",
	    json_loads("{\"hostNetwork\":true,\"initContainers\":[{\"name\":\"i\","
	               "\"image\":\"busybox\"}],\"containers\":[{\"name\":\"c\","
	               "\"image\":\"corp.azurecr.io/etcd:3.6@sha256:ab\"}]}",
	               0, &e));
	json_t *w = NULL;

	assert_int_equal(bridge_warnings_on(pod, &node, &w, NULL), KC_OK);
	assert_int_equal(json_array_size(w), 1);
	tp_assert_msg(warning(w, 0), "image \"corp.azurecr.io/etcd:3.6@sha256:ab\" comes through "
	                             "credential provider \"acr-token\"");
	tp_assert_msg(warning(w, 0), "no ServiceAccount");
	tp_assert_msg(warning(w, 0), "KubeletEnsureSecretPulledImages");
	json_decref(w);
	/* Unknown node (render, status without an agent): nothing to say. */
	assert_int_equal(bridge_warnings(pod, &w, NULL), KC_OK);
	assert_int_equal(json_array_size(w), 0);
	json_decref(w);
	/* Both causes: one warning naming both. */
	json_object_set_new(json_object_get(pod, "spec"), "imagePullSecrets",
	                    json_pack("[{s:s}]", "name", "reg"));
	assert_int_equal(bridge_warnings_on(pod, &node, &w, NULL), KC_OK);
	assert_int_equal(json_array_size(w), 1);
	tp_assert_msg(warning(w, 0), "imagePullSecrets, and image \"corp.azurecr.io/etcd");
	json_decref(w);
	/* An image no token provider covers: only the Secret. */
	json_object_set_new(
	    json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0), "image",
	    json_string("azurecr.io/etcd:3.6"));
	assert_int_equal(bridge_warnings_on(pod, &node, &w, NULL), KC_OK);
	assert_int_equal(json_array_size(w), 1);
	assert_null(strstr(warning(w, 0), "credential provider"));
	tp_assert_msg(warning(w, 0), "imagePullSecrets: the bridge has no registry credentials");
	json_decref(w);
	json_decref(pod);
}

static void test_cluster_dns(void **state)
{
	static const struct {
		const char *spec;
		bool warned;
	} cases[] = {
	    {"{\"dnsPolicy\":\"ClusterFirst\"}", true},
	    {"{}", true}, /* the API default is ClusterFirst */
	    {"{\"dnsPolicy\":\"ClusterFirst\",\"hostNetwork\":false}", true},
	    {"{\"dnsPolicy\":\"ClusterFirst\",\"hostNetwork\":true}", false},
	    {"{\"dnsPolicy\":\"ClusterFirstWithHostNet\",\"hostNetwork\":true}", true},
	    {"{\"dnsPolicy\":\"ClusterFirstWithHostNet\"}", true},
	    {"{\"dnsPolicy\":\"Default\"}", false},
	    {"{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\"]}}", false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *w = warnings_of(cases[i].spec);

		assert_int_equal(json_array_size(w), cases[i].warned ? 1 : 0);
		if (cases[i].warned)
			tp_assert_msg(warning(w, 0), "cluster DNS");
		json_decref(w);
	}
}

/* A pod from a spec and a status JSON text. */
static json_t *warnings_with_status(const char *spec, const char *status)
{
	json_error_t e;
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:o}", "apiVersion", "v1", "kind",
	                        "Pod", "metadata", "name", "p", "namespace", "kube-system", "spec",
	                        json_loads(spec, 0, &e), "status", json_loads(status, 0, &e));
	json_t *out = NULL;

	assert_non_null(pod);
	assert_int_equal(bridge_warnings(pod, &out, NULL), KC_OK);
	json_decref(pod);
	return out;
}

/*
 * Extended resources (issue 19, finding 14b): any domain-prefixed name
 * outside kubernetes.io/ in requests or limits of any container is warned
 * once, named; native names (cpu, hugepages-*, kubernetes.io/...) are not.
 */
static void test_extended_resource_device_plugin(void **state)
{
	static const struct {
		const char *spec;
		const char *name; /* NULL: no warning */
	} cases[] = {
	    {"{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":"
	     "{\"nvidia.com/gpu\":\"1\"},\"requests\":{\"nvidia.com/gpu\":\"1\"}}}]}",
	     "\"nvidia.com/gpu\""},
	    {"{\"hostNetwork\":true,\"initContainers\":[{\"name\":\"i\",\"resources\":"
	     "{\"limits\":{\"example.com/fpga\":\"2\"}}}],\"containers\":[{\"name\":\"c\"}]}",
	     "\"example.com/fpga\""},
	    {"{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":"
	     "{\"cpu\":\"1\",\"memory\":\"1Gi\",\"hugepages-2Mi\":\"2Mi\","
	     "\"ephemeral-storage\":\"1Gi\"}}}]}",
	     NULL},
	    {"{\"hostNetwork\":true,\"containers\":[{\"name\":\"c\",\"resources\":{\"requests\":"
	     "{\"kubernetes.io/future\":\"1\",\"requests.example.com/x\":\"1\"}}}]}",
	     NULL},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *w = warnings_of(cases[i].spec);

		assert_int_equal(json_array_size(w), cases[i].name != NULL ? 1 : 0);
		if (cases[i].name != NULL) {
			tp_assert_msg(warning(w, 0), cases[i].name);
			tp_assert_msg(warning(w, 0), "device plugin");
			tp_assert_msg(warning(w, 0), "UnexpectedAdmissionError");
		}
		json_decref(w);
	}
}

/* KEP-5004: the parent's status maps the name to a DRA claim for that container. */
static void test_extended_resource_dra_backed(void **state)
{
	const char *spec =
	    "{\"hostNetwork\":true,\"containers\":["
	    "{\"name\":\"a\",\"resources\":{\"limits\":{\"example.com/gpu\":\"1\"}}},"
	    "{\"name\":\"b\",\"resources\":{\"limits\":{\"example.com/nic\":\"1\"}}}]}";
	json_t *w = warnings_with_status(
	    spec, "{\"extendedResourceClaimStatus\":{\"resourceClaimName\":\"p-extended-x\","
	          "\"requestMappings\":[{\"containerName\":\"a\",\"resourceName\":"
	          "\"example.com/gpu\",\"requestName\":\"container-0-request-0\"}]}}");

	/* b's nic is a device plugin's; a's gpu comes from the claim. */
	assert_int_equal(json_array_size(w), 2);
	tp_assert_msg(warning(w, 0), "\"example.com/nic\": the kubelet allocates it from a device");
	tp_assert_msg(warning(w, 1), "\"example.com/gpu\" comes from a DRA ResourceClaim");
	tp_assert_msg(warning(w, 1), "runs without the device");
	json_decref(w);
	/* The mapping is per container: the same name in another container is not DRA's. */
	w = warnings_with_status(
	    spec, "{\"extendedResourceClaimStatus\":{\"requestMappings\":[{\"containerName\":"
	          "\"b\",\"resourceName\":\"example.com/gpu\"}]}}");
	assert_int_equal(json_array_size(w), 1);
	tp_assert_msg(warning(w, 0), "\"example.com/gpu\": the kubelet allocates");
	json_decref(w);
	/* A hostile status (wrong types) is ignored, never a crash. */
	w = warnings_with_status(spec, "{\"extendedResourceClaimStatus\":{\"requestMappings\":"
	                               "[1,{\"containerName\":2,\"resourceName\":null}]}}");
	assert_int_equal(json_array_size(w), 1);
	json_decref(w);
}

static void test_all_three_in_order(void **state)
{
	json_t *w = warnings_of("{\"runtimeClassName\":\"kata\",\"imagePullSecrets\":[{\"name\":"
	                        "\"r\"}],\"dnsPolicy\":\"ClusterFirstWithHostNet\"}");

	assert_int_equal(json_array_size(w), 3);
	tp_assert_msg(warning(w, 0), "\"kata\"");
	tp_assert_msg(warning(w, 1), "imagePullSecrets");
	tp_assert_msg(warning(w, 2), "ClusterFirstWithHostNet");
	json_decref(w);
}

/* A pod without a spec (a corrupt-looking input) yields only the DNS default. */
static void test_no_spec(void **state)
{
	json_t *pod = json_object(), *w = NULL;

	assert_int_equal(bridge_warnings(pod, &w, NULL), KC_OK);
	assert_int_equal(json_array_size(w), 1);
	json_decref(w);
	json_decref(pod);
}

/* Warnings never refuse: the warned pod renders exactly as it did. */
static void test_warned_pod_still_renders(void **state)
{
	json_t *pod = tp_pod(), *w = NULL, *manifest = NULL;
	json_t *spec = json_object_get(pod, "spec");
	struct render_opts o = tp_opts();
	struct kc_objects *objs = kc_objects_new();
	struct kc_error err;

	json_object_set_new(spec, "runtimeClassName", json_string("nvidia"));
	json_object_set_new(spec, "dnsPolicy", json_string("ClusterFirst"));
	assert_int_equal(bridge_warnings(pod, &w, &err), KC_OK);
	assert_int_equal(json_array_size(w), 3);
	assert_int_equal(render_pod(pod, objs, &o, &manifest, &err), KC_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(manifest, "spec"),
	                                                      "runtimeClassName")),
	                    "nvidia");
	json_decref(manifest);
	json_decref(w);
	kc_objects_free(objs);
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_host_network_pod_has_none),
	    cmocka_unit_test(test_runtime_class_named),
	    cmocka_unit_test(test_image_pull_secrets),
	    cmocka_unit_test(test_service_account_token_provider),
	    cmocka_unit_test(test_cluster_dns),
	    cmocka_unit_test(test_extended_resource_device_plugin),
	    cmocka_unit_test(test_extended_resource_dra_backed),
	    cmocka_unit_test(test_all_three_in_order),
	    cmocka_unit_test(test_no_spec),
	    cmocka_unit_test(test_warned_pod_still_renders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
