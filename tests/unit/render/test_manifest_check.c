/*
 * test_manifest_check.c: the rule checker sees every broken rule. A good
 * manifest (render's output) has no problem; each test case breaks one rule
 * by editing it and expects the checker to name it.
 */
#include "kc_names.h"
#include "render_testpod.h"

#include "manifest_check.h"

#define SECRET                                                                                     \
	"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"tls\",\"namespace\":\"kube-system\"},"      \
	"\"data\":{\"k\":\"dg==\"}}"

static json_t *source;

static json_t *good_manifest(void)
{
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	struct kc_error err;
	json_t *m = NULL;

	json_decref(source);
	source = tp_pod();
	json_object_set_new(tp_spec(source), "hostNetwork", json_true());
	tp_volumes(source, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}},"
	                   "{\"name\":\"tmp\",\"emptyDir\":{}}]");
	json_object_set_new(tp_container(source, 0), "volumeMounts",
	                    tp_json("[{\"name\":\"certs\",\"mountPath\":\"/c\"}]"));
	if (tp_render(source, objs, &m, &err) != KC_OK)
		fail_msg("render: %s", err.msg);
	kc_objects_free(objs);
	return m;
}

/* Every problem line, joined, for needle searches. */
static char *problems(json_t *m, const json_t *src, size_t *count)
{
	static char all[8192];
	struct mc_report r;
	size_t i, n = 0;

	assert_int_equal(manifest_check(m, src, &r, NULL), KC_OK);
	all[0] = '\0';
	for (i = 0; i < r.count; i++)
		n += (size_t)snprintf(all + n, n < sizeof(all) ? sizeof(all) - n : 0, "%s\n",
		                      r.problems[i]);
	*count = r.count;
	mc_report_free(&r);
	return all;
}

static void test_good_manifest(void **state)
{
	json_t *m = good_manifest();
	struct kc_error err;
	size_t n;

	problems(m, source, &n);
	assert_int_equal(n, 0);
	problems(m, NULL, &n);
	assert_int_equal(n, 0);
	assert_int_equal(manifest_verify(m, source, &err), KC_OK);
	json_decref(m);
}

typedef void (*breaker)(json_t *m);

static void b_api_version(json_t *m)
{
	json_object_set_new(m, "apiVersion", json_string("v2"));
}
static void b_kind(json_t *m)
{
	json_object_set_new(m, "kind", json_string("Deployment"));
}
static void b_status(json_t *m)
{
	json_object_set_new(m, "status", json_object());
}
static void b_uid(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata"), "uid", json_string(TP_UID));
}
static void b_owner(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata"), "ownerReferences", json_array());
}
static void b_name(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata"), "name", json_string("../x"));
}
static void b_label(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata labels"), "pod-template-hash", json_string("x"));
}
static void b_mirror(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata annotations"), "kubernetes.io/config.mirror",
	                    json_string("x"));
}
static void b_trigger(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata annotations"), KC_DEFAULT_TRIGGER_ANNOTATION,
	                    json_string("true"));
}
static void b_marker_missing(json_t *m)
{
	json_object_del(tp_get(m, "metadata annotations"), KC_ANNOTATION_CHECKPOINT_OF);
}
static void b_marker_uid(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata annotations"), KC_ANNOTATION_SOURCE_UID,
	                    json_string("1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d"));
}
static void b_node_name(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "nodeName", json_string("n"));
}
static void b_affinity(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "affinity", json_object());
}
static void b_sa(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "serviceAccountName", json_string("sa"));
}
static void b_pull_secrets(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "imagePullSecrets", tp_json("[{\"name\":\"r\"}]"));
}
static void b_automount(json_t *m)
{
	json_object_del(tp_get(m, "spec"), "automountServiceAccountToken");
}
static void b_secret_volume(json_t *m)
{
	json_array_append_new(tp_get(m, "spec volumes"),
	                      tp_json("{\"name\":\"s2\",\"secret\":{\"secretName\":\"x\"}}"));
}
static void b_projected_token(json_t *m)
{
	json_array_append_new(tp_get(m, "spec volumes"),
	                      tp_json("{\"name\":\"p\",\"projected\":{\"sources\":[{"
	                              "\"serviceAccountToken\":{\"path\":\"t\"}}]}}"));
}
static void b_pvc(json_t *m)
{
	json_array_append_new(
	    tp_get(m, "spec volumes"),
	    tp_json("{\"name\":\"p\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}"));
}
static void b_rbd_secret(json_t *m)
{
	json_array_append_new(tp_get(m, "spec volumes"),
	                      tp_json("{\"name\":\"r\",\"rbd\":{\"secretRef\":{\"name\":\"x\"}}}"));
}
static void b_env_ref(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "env",
	                    tp_json("[{\"name\":\"A\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":"
	                            "\"c\",\"key\":\"k\"}}}]"));
}
static void b_env_from(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "envFrom",
	                    tp_json("[{\"secretRef\":{\"name\":\"s\"}}]"));
}
static void b_pull_always(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "imagePullPolicy",
	                    json_string("Always"));
}
static void b_ports(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "ports",
	                    tp_json("[{\"containerPort\":80}]"));
}
static void b_named_probe(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "readinessProbe",
	                    tp_json("{\"tcpSocket\":{\"port\":\"http\"}}"));
}
static void b_init_env(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "initContainers",
	                    tp_json("[{\"name\":\"i\",\"image\":\"i\",\"env\":[{\"name\":\"A\","
	                            "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":"
	                            "\"k\"}}}]}]"));
}
static void b_tolerations(json_t *m)
{
	json_object_del(tp_get(m, "spec"), "tolerations");
}
static void b_priority(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "priority", json_integer(0));
}
static void b_mount_rw(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0 volumeMounts 0"), "readOnly",
	                    json_false());
}
static void b_hostpath_elsewhere(json_t *m)
{
	json_object_set_new(tp_get(m, "spec volumes 0 hostPath"), "path", json_string("/etc"));
}
static void b_volume_dropped(json_t *m)
{
	json_array_remove(tp_get(m, "spec volumes"), 1);
}

static void b_request(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "resources",
	                    tp_json("{\"requests\":{\"cpu\":\"100m\"}}"));
}
static void b_limit_only(json_t *m)
{
	json_object_set_new(tp_get(m, "spec containers 0"), "resources",
	                    tp_json("{\"limits\":{\"memory\":\"1Gi\"}}"));
}
static void b_pod_request(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "resources",
	                    tp_json("{\"requests\":{\"ephemeral-storage\":\"1Gi\"}}"));
}
static void b_grace_missing(json_t *m)
{
	json_object_del(tp_get(m, "spec"), "terminationGracePeriodSeconds");
}
static void b_grace_longer(json_t *m)
{
	json_object_set_new(tp_get(m, "spec"), "terminationGracePeriodSeconds", json_integer(31));
}

static void test_each_rule(void **state)
{
	static const struct {
		breaker fn;
		const char *needle;
	} cases[] = {
	    {b_api_version, "apiVersion: must be v1"},
	    {b_kind, "kind: must be Pod"},
	    {b_status, "status: must not be set"},
	    {b_uid, "metadata.uid: must not be set"},
	    {b_owner, "metadata.ownerReferences: must not be set"},
	    {b_name, "metadata.name: '../x' is not a DNS subdomain"},
	    {b_label, "metadata.labels.pod-template-hash"},
	    {b_mirror, "metadata.annotations.kubernetes.io/config.mirror"},
	    {b_trigger, "trigger annotation must be dropped"},
	    {b_marker_missing, "metadata.annotations.kubelet-checkpoint/checkpoint-of: missing"},
	    {b_marker_uid, "is not the source pod's uid"},
	    {b_node_name, "spec.nodeName: must be dropped"},
	    {b_affinity, "spec.affinity: must be dropped"},
	    {b_sa, "spec.serviceAccountName: must be dropped"},
	    {b_pull_secrets, "spec.imagePullSecrets: must be dropped"},
	    {b_automount, "spec.automountServiceAccountToken: must be false"},
	    {b_secret_volume, "spec.volumes[2].secret: references the API"},
	    {b_projected_token, "spec.volumes[2].projected: references the API"},
	    {b_pvc, "spec.volumes[2]: persistentVolumeClaim"},
	    {b_rbd_secret, "spec.volumes[2]: rbd.secretRef"},
	    {b_env_ref, "spec.containers[0].env[0].valueFrom.configMapKeyRef"},
	    {b_env_from, "spec.containers[0].envFrom"},
	    {b_pull_always, "spec.containers[0].imagePullPolicy"},
	    {b_ports, "spec.containers[0].ports: a hostNetwork bridge pod must declare no ports"},
	    {b_named_probe, "spec.containers[0].readinessProbe.tcpSocket.port: named port"},
	    {b_init_env, "spec.initContainers[0].env[0].valueFrom.secretKeyRef"},
	    {b_tolerations, "spec.tolerations: differs from the source pod"},
	    {b_priority, "spec.priority: differs from the source pod"},
	    {b_mount_rw, "spec.containers[0].volumeMounts[0]: must be readOnly"},
	    {b_hostpath_elsewhere, "spec.volumes 'certs': must be a hostPath Directory"},
	    {b_volume_dropped, "volume 'tmp' of the source pod is missing"},
	    {b_request, "spec.containers[0].resources.requests.cpu: must be 0"},
	    {b_limit_only, "spec.containers[0].resources.requests.memory: must be set to 0"},
	    {b_pod_request, "spec.resources.requests.ephemeral-storage: must be 0"},
	    {b_grace_missing, "spec.terminationGracePeriodSeconds: must be set"},
	    {b_grace_longer, "31 is longer than the source pod's 30"},
	};
	struct kc_error err;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = good_manifest();
		const char *all;

		cases[i].fn(m);
		all = problems(m, source, &n);
		if (n == 0 || strstr(all, cases[i].needle) == NULL)
			fail_msg("case %zu: want '%s', got %zu problem(s):\n%s", i, cases[i].needle,
			         n, all);
		assert_int_equal(manifest_verify(m, source, &err), KC_EINTERNAL);
		json_decref(m);
	}
}

/*
 * The checker's own reading of the kubelet's HasAPIObjectReference
 * (pkg/api/pod/util.go): each volume here is refused in a manifest, with
 * its source named, however render classifies it.
 */
static void test_volumes_refused(void **state)
{
	static const struct {
		const char *volume;
		const char *needle;
	} cases[] = {
	    {"{\"name\":\"v\",\"csi\":{\"driver\":\"d\"}}", "spec.volumes[2]: csi"},
	    {"{\"name\":\"v\",\"glusterfs\":{\"endpoints\":\"e\",\"path\":\"p\"}}",
	     "spec.volumes[2]: glusterfs"},
	    {"{\"name\":\"v\",\"azureFile\":{\"secretName\":\"s\",\"shareName\":\"x\"}}",
	     "spec.volumes[2]: azureFile"},
	    {"{\"name\":\"v\",\"ephemeral\":{}}", "spec.volumes[2]: ephemeral"},
	    {"{\"name\":\"v\",\"futureVolume\":{}}", "spec.volumes[2]: futureVolume"},
	    {"{\"name\":\"v\",\"configMap\":{\"name\":\"c\"}}",
	     "spec.volumes[2].configMap: references the API"},
	    {"{\"name\":\"v\",\"cephfs\":{\"monitors\":[\"m\"],\"secretRef\":{\"name\":\"s\"}}}",
	     "spec.volumes[2]: cephfs.secretRef"},
	    {"{\"name\":\"v\",\"projected\":{\"sources\":[{\"clusterTrustBundle\":{\"path\":\"b\"}}"
	     "]}}",
	     "spec.volumes[2]: projected.sources[0].clusterTrustBundle"},
	    {"{\"name\":\"v\",\"projected\":{\"sources\":[{\"podCertificate\":{}}]}}",
	     "spec.volumes[2]: projected.sources[0].podCertificate"},
	    {"{\"name\":\"v\",\"hostPath\":\"/x\"}", "spec.volumes[2]: must hold exactly one"},
	    {"{\"name\":\"v\",\"hostPath\":{\"path\":\"/x\"},\"emptyDir\":{}}",
	     "spec.volumes[2]: must hold exactly one"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *m = good_manifest();
		const char *all;

		json_array_append_new(tp_get(m, "spec volumes"), tp_json(cases[i].volume));
		all = problems(m, NULL, &n);
		if (n != 1 || strstr(all, cases[i].needle) == NULL)
			fail_msg("case %zu: want '%s' alone, got %zu problem(s):\n%s", i,
			         cases[i].needle, n, all);
		json_decref(m);
	}
}

/* ... and these are sources the kubelet sets up from the node alone. */
static void test_volumes_static(void **state)
{
	static const char *const volumes[] = {
	    "{\"name\":\"v\",\"cephfs\":{\"monitors\":[\"m\"]}}",
	    "{\"name\":\"v\",\"rbd\":{\"image\":\"i\",\"secretRef\":null}}",
	    "{\"name\":\"v\",\"image\":{\"reference\":\"r\"}}",
	    "{\"name\":\"v\",\"nfs\":{\"server\":\"s\",\"path\":\"/p\"}}",
	    "{\"name\":\"v\",\"downwardAPI\":{\"items\":[]}}",
	    "{\"name\":\"v\",\"projected\":{\"sources\":[{\"downwardAPI\":{\"items\":[]}}]}}",
	};
	size_t i, n;

	for (i = 0; i < sizeof(volumes) / sizeof(volumes[0]); i++) {
		json_t *m = good_manifest();
		const char *all;

		json_array_append_new(tp_get(m, "spec volumes"), tp_json(volumes[i]));
		all = problems(m, NULL, &n);
		if (n != 0)
			fail_msg("case %zu: want no problem, got %zu:\n%s", i, n, all);
		json_decref(m);
	}
}

static void b_label_revision(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata labels"), "controller-revision-hash",
	                    json_string("abc"));
}

static void b_label_generation(json_t *m)
{
	json_object_set_new(tp_get(m, "metadata labels"), "pod-template-generation",
	                    json_string("3"));
}

/* Every controller label is caught by the checker's own list. */
static void test_controller_labels(void **state)
{
	static const breaker breakers[] = {b_label_revision, b_label_generation};
	size_t i, n;

	for (i = 0; i < 2; i++) {
		json_t *m = good_manifest();
		const char *all;

		breakers[i](m);
		all = problems(m, NULL, &n);
		if (n != 1 || strstr(all, "controller label must be dropped") == NULL)
			fail_msg("case %zu: got %zu problem(s):\n%s", i, n, all);
		json_decref(m);
	}
}

static void test_not_an_object(void **state)
{
	json_t *m = json_string("x");
	size_t n;

	problems(m, NULL, &n);
	assert_int_equal(n, 1);
	json_decref(m);
}

static int teardown(void **state)
{
	json_decref(source);
	source = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_manifest),     cmocka_unit_test(test_each_rule),
	    cmocka_unit_test(test_volumes_refused),   cmocka_unit_test(test_volumes_static),
	    cmocka_unit_test(test_controller_labels), cmocka_unit_test(test_not_an_object),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
