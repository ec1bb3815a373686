/*
 * test_render_pod.c: render_pod rule by rule (docs/design.md §5): metadata and spec
 * filtering, every volume kind, kube-api-access, env and envFrom, ports on
 * hostNetwork, hostile names, determinism and the 10 MiB cap.
 */
#include "kc_names.h"
#include "render_testpod.h"

#include "doc.h"
#include "manifest_check.h"

#define SECRET_TLS                                                                                 \
	"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"tls\",\"namespace\":\"kube-system\"},"      \
	"\"data\":{\"tls.crt\":\"Y2VydA==\",\"tls.key\":\"a2V5\"}}"
#define CM_CONF                                                                                    \
	"{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"conf\",\"namespace\":\"kube-system\"},"  \
	"\"data\":{\"a.yaml\":\"x: 1\",\"b\":\"costs $5\"},\"binaryData\":{\"bin\":\"AA==\"}}"
#define CM_ROOT_CA                                                                                 \
	"{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"kube-root-ca.crt\","                     \
	"\"namespace\":\"kube-system\"},\"data\":{\"ca.crt\":\"PEM\"}}"

static json_t *render_ok(json_t *pod, struct kc_objects *objs)
{
	struct kc_error err;
	json_t *m = NULL;

	if (tp_render(pod, objs, &m, &err) != KC_OK)
		fail_msg("render failed: %s", err.msg);
	return m;
}

static void render_fails(json_t *pod, struct kc_objects *objs, kc_code code, const char *needle)
{
	struct kc_error err;
	json_t *m = NULL;

	assert_int_equal(tp_render(pod, objs, &m, &err), code);
	assert_null(m);
	tp_assert_msg(err.msg, needle);
}

/*
 * Secret values in env reach the API in the mirror pod: refused until the
 * pod's owner sets kubelet-checkpoint/inline-secret-env to exactly "true".
 */
static void secret_env_needs_opt_in(json_t *pod, struct kc_objects *objs, const char *field)
{
	json_t *ann = tp_get(pod, "metadata annotations");

	render_fails(pod, objs, KC_ENOTCHECKPOINTABLE, field);
	render_fails(pod, objs, KC_ENOTCHECKPOINTABLE,
	             "kubelet-checkpoint/inline-secret-env: \"true\"");
	render_fails(pod, objs, KC_ENOTCHECKPOINTABLE, "mirror pod");
	json_object_set_new(ann, "kubelet-checkpoint/inline-secret-env", json_string("True"));
	render_fails(pod, objs, KC_ENOTCHECKPOINTABLE, field);
	json_object_set_new(ann, "kubelet-checkpoint/inline-secret-env", json_true());
	render_fails(pod, objs, KC_ENOTCHECKPOINTABLE, field);
	json_object_set_new(ann, "kubelet-checkpoint/inline-secret-env", json_string("true"));
}

static void test_metadata(void **state)
{
	json_t *pod = tp_pod(), *m = render_ok(pod, NULL);
	json_t *meta = json_object_get(m, "metadata");

	assert_string_equal(json_string_value(json_object_get(m, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(m, "kind")), "Pod");
	assert_int_equal(json_object_size(m), 4);
	assert_int_equal(json_object_size(meta), 4);
	assert_string_equal(json_string_value(tp_get(meta, "name")), "agent-x7k2p");
	assert_string_equal(json_string_value(tp_get(meta, "namespace")), "kube-system");
	assert_int_equal(json_object_size(tp_get(meta, "labels")), 1);
	assert_string_equal(json_string_value(tp_get(meta, "labels app")), "agent");
	assert_int_equal(json_object_size(tp_get(meta, "annotations")), 3);
	assert_string_equal(json_string_value(tp_get(meta, "annotations team")), "infra");
	assert_string_equal(
	    json_string_value(tp_get(meta, "annotations kubelet-checkpoint/checkpoint-of")),
	    "kube-system/agent-x7k2p");
	assert_string_equal(
	    json_string_value(tp_get(meta, "annotations kubelet-checkpoint/source-uid")), TP_UID);
	json_decref(m);
	json_decref(pod);
}

/* Every trigger annotation goes, the default one even under custom triggers. */
static void test_custom_triggers_dropped(void **state)
{
	static const char *const triggers[] = {"example.com/keep"};
	json_t *pod = tp_pod(), *m, *ann;
	struct render_opts o = tp_opts();
	struct kc_error err;

	o.annotations = triggers;
	o.nannotations = 1;
	json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
	                    triggers[0], json_string("true"));
	assert_int_equal(render_pod(pod, NULL, &o, &m, &err), KC_OK);
	ann = tp_get(m, "metadata annotations");
	assert_null(json_object_get(ann, triggers[0]));
	assert_null(json_object_get(ann, KC_DEFAULT_TRIGGER_ANNOTATION));
	assert_non_null(json_object_get(ann, "team"));
	json_decref(m);
	json_decref(pod);
}

static void test_spec_filtering(void **state)
{
	static const char *const dropped[] = {
	    "nodeName",        "nodeSelector",        "affinity",
	    "schedulingGates", "ephemeralContainers", "serviceAccountName",
	    "serviceAccount",  "imagePullSecrets"};
	json_t *pod = tp_pod(), *m = render_ok(pod, NULL), *spec = json_object_get(m, "spec");
	size_t i;

	for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		if (json_object_get(spec, dropped[i]) != NULL)
			fail_msg("spec.%s kept", dropped[i]);
	assert_true(json_is_false(json_object_get(spec, "automountServiceAccountToken")));
	assert_true(json_equal(json_object_get(spec, "tolerations"),
	                       json_object_get(tp_spec(pod), "tolerations")));
	assert_int_equal(json_integer_value(json_object_get(spec, "priority")), 2000001000);
	assert_string_equal(json_string_value(json_object_get(spec, "priorityClassName")),
	                    "system-node-critical");
	assert_string_equal(json_string_value(json_object_get(spec, "preemptionPolicy")),
	                    "PreemptLowerPriority");
	assert_string_equal(json_string_value(tp_get(spec, "containers 0 imagePullPolicy")),
	                    "IfNotPresent");
	json_decref(m);
	json_decref(pod);
}

static void test_pull_policy(void **state)
{
	json_t *pod = tp_pod(), *m;

	json_object_set_new(tp_container(pod, 0), "imagePullPolicy", json_string("Never"));
	m = render_ok(pod, NULL);
	assert_string_equal(json_string_value(tp_get(m, "spec containers 0 imagePullPolicy")),
	                    "Never");
	json_decref(m);
	json_object_del(tp_container(pod, 0), "imagePullPolicy");
	m = render_ok(pod, NULL);
	assert_string_equal(json_string_value(tp_get(m, "spec containers 0 imagePullPolicy")),
	                    "IfNotPresent");
	json_decref(m);
	json_decref(pod);
}

static void test_not_checkpointable_volumes(void **state)
{
	static const struct {
		const char *volume, *needle;
	} cases[] = {
	    {"{\"name\":\"v\",\"persistentVolumeClaim\":{\"claimName\":\"c\"}}",
	     "spec.volumes[0]: persistentVolumeClaim"},
	    {"{\"name\":\"v\",\"csi\":{\"driver\":\"d\"}}", "spec.volumes[0]: csi"},
	    {"{\"name\":\"v\",\"ephemeral\":{\"volumeClaimTemplate\":{}}}",
	     "spec.volumes[0]: ephemeral"},
	    {"{\"name\":\"v\",\"glusterfs\":{\"endpoints\":\"e\",\"path\":\"p\"}}",
	     "spec.volumes[0]: glusterfs"},
	    {"{\"name\":\"v\",\"azureFile\":{\"secretName\":\"s\",\"shareName\":\"x\"}}",
	     "spec.volumes[0]: azureFile"},
	    {"{\"name\":\"v\",\"cephfs\":{\"monitors\":[\"m\"],\"secretRef\":{\"name\":\"s\"}}}",
	     "spec.volumes[0]: cephfs.secretRef"},
	    {"{\"name\":\"v\",\"cinder\":{\"volumeID\":\"i\",\"secretRef\":{\"name\":\"s\"}}}",
	     "cinder.secretRef"},
	    {"{\"name\":\"v\",\"flexVolume\":{\"driver\":\"d\",\"secretRef\":{\"name\":\"s\"}}}",
	     "flexVolume.secretRef"},
	    {"{\"name\":\"v\",\"iscsi\":{\"targetPortal\":\"t\",\"iqn\":\"q\",\"lun\":0,"
	     "\"secretRef\":{\"name\":\"s\"}}}",
	     "iscsi.secretRef"},
	    {"{\"name\":\"v\",\"rbd\":{\"monitors\":[\"m\"],\"image\":\"i\","
	     "\"secretRef\":{\"name\":\"s\"}}}",
	     "rbd.secretRef"},
	    {"{\"name\":\"v\",\"scaleIO\":{\"gateway\":\"g\",\"system\":\"s\","
	     "\"secretRef\":{\"name\":\"s\"}}}",
	     "scaleIO.secretRef"},
	    {"{\"name\":\"v\",\"storageos\":{\"volumeName\":\"n\",\"secretRef\":{\"name\":\"s\"}}}",
	     "storageos.secretRef"},
	    {"{\"name\":\"v\",\"futureVolume\":{\"x\":1}}", "futureVolume: unknown volume type"},
	    {"{\"name\":\"v\",\"projected\":{\"sources\":[{\"downwardAPI\":{}},"
	     "{\"clusterTrustBundle\":{\"path\":\"b\"}}]}}",
	     "spec.volumes[0]: projected.sources[1].clusterTrustBundle"},
	    {"{\"name\":\"v\",\"projected\":{\"sources\":[{\"podCertificate\":{}}]}}",
	     "projected.sources[0].podCertificate"},
	    {"{\"name\":\"v\",\"projected\":{\"sources\":[{\"futureSource\":{}}]}}",
	     "projected.sources[0].futureSource: unknown projected source"},
	};
	char list[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod();

		snprintf(list, sizeof(list), "[%s]", cases[i].volume);
		tp_volumes(pod, list);
		render_fails(pod, NULL, KC_ENOTCHECKPOINTABLE, cases[i].needle);
		json_decref(pod);
	}
}

static void test_resource_claims(void **state)
{
	json_t *pod = tp_pod();

	json_object_set_new(tp_spec(pod), "resourceClaims",
	                    tp_json("[{\"name\":\"gpu\",\"resourceClaimName\":\"g\"}]"));
	render_fails(pod, NULL, KC_ENOTCHECKPOINTABLE, "spec.resourceClaims");
	json_decref(pod);
}

static void test_allowed_volumes_kept(void **state)
{
	static const char *const kept[] = {
	    "{\"name\":\"v\",\"hostPath\":{\"path\":\"/etc\",\"type\":\"\"}}",
	    "{\"name\":\"v\",\"emptyDir\":{\"medium\":\"Memory\"}}",
	    "{\"name\":\"v\",\"downwardAPI\":{\"items\":[{\"path\":\"n\","
	    "\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}]}}",
	    "{\"name\":\"v\",\"projected\":{\"sources\":[{\"downwardAPI\":{\"items\":[{\"path\":"
	    "\"l\",\"fieldRef\":{\"fieldPath\":\"metadata.labels\"}}]}}]}}",
	    "{\"name\":\"v\",\"nfs\":{\"server\":\"s\",\"path\":\"/x\"}}",
	    "{\"name\":\"v\",\"awsElasticBlockStore\":{\"volumeID\":\"i\"}}",
	    "{\"name\":\"v\",\"azureDisk\":{\"diskName\":\"d\",\"diskURI\":\"u\"}}",
	    "{\"name\":\"v\",\"cephfs\":{\"monitors\":[\"m\"]}}",
	    "{\"name\":\"v\",\"cinder\":{\"volumeID\":\"i\"}}",
	    "{\"name\":\"v\",\"fc\":{\"wwids\":[\"w\"]}}",
	    "{\"name\":\"v\",\"flexVolume\":{\"driver\":\"d\"}}",
	    "{\"name\":\"v\",\"flocker\":{\"datasetName\":\"d\"}}",
	    "{\"name\":\"v\",\"gcePersistentDisk\":{\"pdName\":\"p\"}}",
	    "{\"name\":\"v\",\"gitRepo\":{\"repository\":\"r\"}}",
	    "{\"name\":\"v\",\"image\":{\"reference\":\"r\"}}",
	    "{\"name\":\"v\",\"iscsi\":{\"targetPortal\":\"t\",\"iqn\":\"q\",\"lun\":0}}",
	    "{\"name\":\"v\",\"photonPersistentDisk\":{\"pdID\":\"p\"}}",
	    "{\"name\":\"v\",\"portworxVolume\":{\"volumeID\":\"p\"}}",
	    "{\"name\":\"v\",\"quobyte\":{\"registry\":\"r\",\"volume\":\"v\"}}",
	    "{\"name\":\"v\",\"rbd\":{\"monitors\":[\"m\"],\"image\":\"i\"}}",
	    "{\"name\":\"v\",\"scaleIO\":{\"gateway\":\"g\",\"system\":\"s\"}}",
	    "{\"name\":\"v\",\"storageos\":{\"volumeName\":\"n\"}}",
	    "{\"name\":\"v\",\"vsphereVolume\":{\"volumePath\":\"p\"}}",
	};
	char list[512];
	size_t i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		json_t *pod = tp_pod(), *m;

		snprintf(list, sizeof(list), "[%s]", kept[i]);
		tp_volumes(pod, list);
		m = render_ok(pod, NULL);
		if (!tp_equal(tp_get(m, "spec volumes 0"), (kept[i])))
			fail_msg("volume changed: %s", kept[i]);
		json_decref(m);
		json_decref(pod);
	}
}

static void test_secret_and_configmap_volumes(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "]");
	json_t *pod = tp_pod(), *m;

	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}},"
	                "{\"name\":\"conf\",\"configMap\":{\"name\":\"conf\",\"defaultMode\":420}},"
	                "{\"name\":\"scratch\",\"emptyDir\":{}}]");
	json_object_set_new(tp_container(pod, 0), "volumeMounts",
	                    tp_json("[{\"name\":\"certs\",\"mountPath\":\"/c\",\"readOnly\":false},"
	                            "{\"name\":\"conf\",\"mountPath\":\"/f\"},"
	                            "{\"name\":\"scratch\",\"mountPath\":\"/s\"}]"));
	m = render_ok(pod, objs);
	assert_true(tp_equal(tp_get(m, "spec volumes 0"),
	                     ("{\"name\":\"certs\",\"hostPath\":{\"path\":\"" TP_STATE
	                      "/volumes/" TP_UID "/certs\",\"type\":\"Directory\"}}")));
	assert_true(tp_equal(tp_get(m, "spec volumes 1"),
	                     ("{\"name\":\"conf\",\"hostPath\":{\"path\":\"" TP_STATE
	                      "/volumes/" TP_UID "/conf\",\"type\":\"Directory\"}}")));
	assert_true(json_is_true(tp_get(m, "spec containers 0 volumeMounts 0 readOnly")));
	assert_true(json_is_true(tp_get(m, "spec containers 0 volumeMounts 1 readOnly")));
	assert_null(tp_get(m, "spec containers 0 volumeMounts 2 readOnly"));
	json_decref(m);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_missing_and_optional_objects(void **state)
{
	json_t *pod = tp_pod(), *m;

	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}}]");
	render_fails(pod, NULL, KC_ENOTFOUND,
	             "spec.volumes[0].secret: Secret kube-system/tls: not found");
	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\","
	                "\"optional\":true}}]");
	m = render_ok(pod, NULL);
	assert_string_equal(json_string_value(tp_get(m, "spec volumes 0 hostPath type")),
	                    "Directory");
	json_decref(m);
	json_decref(pod);
}

static void test_kube_api_access(void **state)
{
	struct kc_objects *objs = tp_objects("[" CM_ROOT_CA "]");
	json_t *pod = tp_pod(), *m;

	tp_volumes(pod,
	           "[{\"name\":\"kube-api-access-5vzqj\",\"projected\":{\"defaultMode\":420,"
	           "\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":"
	           "\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":"
	           "\"ca.crt\",\"path\":\"ca.crt\"}]}},{\"downwardAPI\":{\"items\":[{\"fieldRef\":{"
	           "\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"},\"path\":"
	           "\"namespace\"}]}}]}}]");
	json_object_set_new(
	    tp_container(pod, 0), "volumeMounts",
	    tp_json("[{\"name\":\"kube-api-access-5vzqj\",\"readOnly\":true,"
	            "\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}]"));
	m = render_ok(pod, objs);
	assert_string_equal(json_string_value(tp_get(m, "spec volumes 0 hostPath path")),
	                    TP_STATE "/volumes/" TP_UID "/kube-api-access-5vzqj");
	assert_string_equal(
	    json_string_value(tp_get(m, "spec containers 0 volumeMounts 0 mountPath")),
	    "/var/run/secrets/kubernetes.io/serviceaccount");
	json_decref(m);
	/* Without the kube-root-ca.crt ConfigMap the reference is unresolved. */
	render_fails(pod, NULL, KC_ENOTFOUND, "ConfigMap kube-system/kube-root-ca.crt");
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_env_key_refs(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "]");
	json_t *pod = tp_pod(), *m, *env;

	json_object_set_new(
	    tp_container(pod, 0), "env",
	    tp_json("[{\"name\":\"KEY\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"tls\","
	            "\"key\":\"tls.key\"}}},"
	            "{\"name\":\"PRICE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"conf\","
	            "\"key\":\"b\"}}},"
	            "{\"name\":\"GONE\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"nope\","
	            "\"key\":\"k\",\"optional\":true}}},"
	            "{\"name\":\"NOKEY\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"conf\","
	            "\"key\":\"zzz\",\"optional\":true}}},"
	            "{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
	            "\"spec.nodeName\"}}},"
	            "{\"name\":\"PLAIN\",\"value\":\"$(KEY)\"}]"));
	secret_env_needs_opt_in(
	    pod, objs, "spec.containers[0].env[0]: valueFrom.secretKeyRef: a Secret value");
	m = render_ok(pod, objs);
	env = tp_get(m, "spec containers 0 env");
	assert_int_equal(json_array_size(env), 4);
	assert_true(tp_equal(json_array_get(env, 0), ("{\"name\":\"KEY\",\"value\":\"key\"}")));
	/* '$' doubled: the kubelet must not expand a referenced value. */
	assert_true(
	    tp_equal(json_array_get(env, 1), ("{\"name\":\"PRICE\",\"value\":\"costs $$5\"}")));
	assert_string_equal(json_string_value(tp_get(env, "2 valueFrom fieldRef fieldPath")),
	                    "spec.nodeName");
	assert_true(
	    tp_equal(json_array_get(env, 3), ("{\"name\":\"PLAIN\",\"value\":\"$(KEY)\"}")));
	json_decref(m);
	json_array_set_new(json_object_get(tp_container(pod, 0), "env"), 2,
	                   tp_json("{\"name\":\"GONE\",\"valueFrom\":{\"secretKeyRef\":{\"name\":"
	                           "\"tls\",\"key\":\"missing\"}}}"));
	render_fails(pod, objs, KC_ENOTFOUND,
	             "spec.containers[0].env[2]: valueFrom.secretKeyRef: Secret kube-system/tls "
	             "has no key 'missing'");
	/* configMapKeyRef reads data only, never binaryData (as the kubelet). */
	json_array_set_new(json_object_get(tp_container(pod, 0), "env"), 2,
	                   tp_json("{\"name\":\"BIN\",\"valueFrom\":{\"configMapKeyRef\":{"
	                           "\"name\":\"conf\",\"key\":\"bin\"}}}"));
	render_fails(pod, objs, KC_ENOTFOUND, "ConfigMap kube-system/conf has no key 'bin'");
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_env_from(void **state)
{
	struct kc_objects *objs = tp_objects(
	    "[{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"one\",\"namespace\":"
	    "\"kube-system\"},\"data\":{\"A\":\"1\",\"B\":\"1\",\"9bad\":\"x\",\"c.d\":\"ok\"},"
	    "\"binaryData\":{\"BIN\":\"AAE=\"}},"
	    "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"two\",\"namespace\":\"kube-system\"},"
	    "\"data\":{\"B\":\"Mg==\",\"C\":\"Mg==\"}}]");
	json_t *pod = tp_pod(), *m, *env;

	json_object_set_new(tp_container(pod, 0), "envFrom",
	                    tp_json("[{\"configMapRef\":{\"name\":\"one\"}},"
	                            "{\"secretRef\":{\"name\":\"two\"}},"
	                            "{\"prefix\":\"P_\",\"configMapRef\":{\"name\":\"one\"}},"
	                            "{\"secretRef\":{\"name\":\"absent\",\"optional\":true}}]"));
	json_object_set_new(tp_container(pod, 0), "env",
	                    tp_json("[{\"name\":\"A\",\"value\":\"explicit $(C)\"}]"));
	secret_env_needs_opt_in(pod, objs,
	                        "spec.containers[0].envFrom[1]: secretRef: a Secret value");
	m = render_ok(pod, objs);
	assert_null(tp_get(m, "spec containers 0 envFrom"));
	env = tp_get(m, "spec containers 0 env");
	/* Sorted envFrom variables (later source wins, invalid names and binaryData
	 * skipped), then the explicit env, which wins by coming last. */
	assert_true(tp_equal(
	    env, ("[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},"
	          "{\"name\":\"C\",\"value\":\"2\"},{\"name\":\"P_9bad\",\"value\":\"x\"},"
	          "{\"name\":\"P_A\",\"value\":\"1\"},{\"name\":\"P_B\",\"value\":\"1\"},"
	          "{\"name\":\"P_c.d\",\"value\":\"ok\"},{\"name\":\"c.d\",\"value\":\"ok\"},"
	          "{\"name\":\"A\",\"value\":\"explicit $(C)\"}]")));
	json_decref(m);
	json_array_append_new(json_object_get(tp_container(pod, 0), "envFrom"),
	                      tp_json("{\"secretRef\":{\"name\":\"absent\"}}"));
	render_fails(pod, objs, KC_ENOTFOUND,
	             "spec.containers[0].envFrom[4]: secretRef: Secret kube-system/absent");
	json_decref(pod);
	kc_objects_free(objs);
}

/* ConfigMap values and Secret volumes stay supported without the opt-in. */
static void test_configmap_env_and_secret_volume_need_no_opt_in(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "]");
	json_t *pod = tp_pod(), *m;

	json_object_set_new(
	    tp_container(pod, 0), "env",
	    tp_json("[{\"name\":\"PRICE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"conf\","
	            "\"key\":\"b\"}}}]"));
	json_object_set_new(tp_container(pod, 0), "envFrom",
	                    tp_json("[{\"configMapRef\":{\"name\":\"conf\"}}]"));
	json_object_set_new(json_object_get(pod, "spec"), "volumes",
	                    tp_json("[{\"name\":\"tls\",\"secret\":{\"secretName\":\"tls\"}}]"));
	m = render_ok(pod, objs);
	assert_string_equal(json_string_value(tp_get(m, "spec containers 0 env 2 name")), "PRICE");
	assert_non_null(tp_get(m, "spec volumes 0 hostPath"));
	json_decref(m);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_init_containers_and_sidecars(void **state)
{
	struct kc_objects *objs = tp_objects("[" CM_CONF "]");
	json_t *pod = tp_pod(), *m;

	json_object_set_new(
	    tp_spec(pod), "initContainers",
	    tp_json("[{\"name\":\"sidecar\",\"image\":\"s\",\"restartPolicy\":\"Always\","
	            "\"imagePullPolicy\":\"Always\",\"envFrom\":[{\"configMapRef\":{\"name\":"
	            "\"conf\"}}]}]"));
	m = render_ok(pod, objs);
	assert_string_equal(json_string_value(tp_get(m, "spec initContainers 0 imagePullPolicy")),
	                    "IfNotPresent");
	assert_null(tp_get(m, "spec initContainers 0 envFrom"));
	assert_string_equal(json_string_value(tp_get(m, "spec initContainers 0 env 0 name")),
	                    "a.yaml");
	json_decref(m);
	json_decref(pod);
	kc_objects_free(objs);
}

/* Hand-off (render_handoff.c): requests that count in the kubelet's admission become 0. */
static void test_handoff_requests_zeroed(void **state)
{
	json_t *pod = tp_pod(), *m;

	json_object_set_new(
	    tp_container(pod, 0), "resources",
	    tp_json("{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"},"
	            "\"limits\":{\"memory\":\"128Mi\",\"ephemeral-storage\":\"1Gi\","
	            "\"nvidia.com/gpu\":\"1\",\"hugepages-2Mi\":\"4Mi\"}}"));
	json_object_set_new(tp_spec(pod), "initContainers",
	                    tp_json("[{\"name\":\"init\",\"image\":\"i\",\"resources\":{"
	                            "\"limits\":{\"cpu\":\"1\"}}},"
	                            "{\"name\":\"plain\",\"image\":\"p\"}]"));
	json_object_set_new(
	    tp_spec(pod), "resources",
	    tp_json("{\"requests\":{\"cpu\":\"2\"},\"limits\":{\"memory\":\"1Gi\"}}"));
	m = render_ok(pod, NULL);
	assert_true(tp_equal(tp_get(m, "spec containers 0 resources"),
	                     "{\"requests\":{\"cpu\":\"0\",\"memory\":\"0\","
	                     "\"ephemeral-storage\":\"0\"},"
	                     "\"limits\":{\"memory\":\"128Mi\",\"ephemeral-storage\":\"1Gi\","
	                     "\"nvidia.com/gpu\":\"1\",\"hugepages-2Mi\":\"4Mi\"}}"));
	/* A limit alone would be defaulted into the request: the request is set to 0. */
	assert_true(tp_equal(tp_get(m, "spec initContainers 0 resources"),
	                     "{\"requests\":{\"cpu\":\"0\"},\"limits\":{\"cpu\":\"1\"}}"));
	assert_null(tp_get(m, "spec initContainers 1 resources"));
	assert_true(tp_equal(tp_get(m, "spec resources"),
	                     "{\"requests\":{\"cpu\":\"0\",\"memory\":\"0\"},"
	                     "\"limits\":{\"memory\":\"1Gi\"}}"));
	/* The source pod keeps its own. */
	assert_string_equal(
	    json_string_value(tp_get(pod, "spec containers 0 resources requests cpu")), "250m");
	json_decref(m);
	json_decref(pod);
}

/* Hand-off: the bridge's grace period is capped (default and configured), never raised. */
static void test_handoff_grace_capped(void **state)
{
	static const struct {
		int source; /* -1: absent */
		bool set;
		unsigned cap;
		int want;
	} cases[] = {
	    {-1, false, 0, RENDER_DEFAULT_GRACE_CAP},
	    {300, false, 0, RENDER_DEFAULT_GRACE_CAP},
	    {2, false, 0, 2},
	    {300, true, 0, 0},
	    {300, true, 60, 60},
	    {10, true, 60, 10},
	};
	struct render_opts o = tp_opts();
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod(), *m = NULL;

		if (cases[i].source >= 0)
			json_object_set_new(tp_spec(pod), "terminationGracePeriodSeconds",
			                    json_integer(cases[i].source));
		o.grace_cap_set = cases[i].set;
		o.grace_cap = cases[i].cap;
		if (render_pod(pod, NULL, &o, &m, &err) != KC_OK)
			fail_msg("case %zu: %s", i, err.msg);
		if (json_integer_value(tp_get(m, "spec terminationGracePeriodSeconds")) !=
		    cases[i].want)
			fail_msg("case %zu: grace %lld, want %d", i,
			         (long long)json_integer_value(
			             tp_get(m, "spec terminationGracePeriodSeconds")),
			         cases[i].want);
		json_decref(m);
		json_decref(pod);
	}
}

static void test_host_network_ports(void **state)
{
	json_t *pod = tp_pod(), *m, *c;

	json_object_set_new(
	    tp_container(pod, 0), "ports",
	    tp_json("[{\"name\":\"metrics\",\"containerPort\":9100,\"hostPort\":9100},"
	            "{\"name\":\"health\",\"containerPort\":8081}]"));
	json_object_set_new(tp_container(pod, 0), "livenessProbe",
	                    tp_json("{\"httpGet\":{\"path\":\"/\",\"port\":\"health\"}}"));
	json_object_set_new(tp_container(pod, 0), "readinessProbe",
	                    tp_json("{\"tcpSocket\":{\"port\":\"metrics\"}}"));
	json_object_set_new(tp_container(pod, 0), "startupProbe",
	                    tp_json("{\"grpc\":{\"port\":\"health\"}}"));
	json_object_set_new(tp_container(pod, 0), "lifecycle",
	                    tp_json("{\"preStop\":{\"httpGet\":{\"port\":\"health\"}}}"));
	/* Without hostNetwork ports and names stay (no port fight). */
	m = render_ok(pod, NULL);
	assert_int_equal(json_array_size(tp_get(m, "spec containers 0 ports")), 2);
	assert_string_equal(json_string_value(tp_get(m, "spec containers 0 livenessProbe httpGet "
	                                                "port")),
	                    "health");
	json_decref(m);
	json_object_set_new(tp_spec(pod), "hostNetwork", json_true());
	m = render_ok(pod, NULL);
	c = tp_get(m, "spec containers 0");
	assert_null(json_object_get(c, "ports"));
	assert_int_equal(json_integer_value(tp_get(c, "livenessProbe httpGet port")), 8081);
	assert_int_equal(json_integer_value(tp_get(c, "readinessProbe tcpSocket port")), 9100);
	assert_int_equal(json_integer_value(tp_get(c, "startupProbe grpc port")), 8081);
	assert_int_equal(json_integer_value(tp_get(c, "lifecycle preStop httpGet port")), 8081);
	json_decref(m);
	json_object_set_new(tp_container(pod, 0), "livenessProbe",
	                    tp_json("{\"httpGet\":{\"port\":\"nosuch\"}}"));
	render_fails(pod, NULL, KC_EINVAL,
	             "spec.containers[0].livenessProbe.httpGet.port: no container port named "
	             "'nosuch'");
	json_decref(pod);
}

static void test_hostile_identity(void **state)
{
	static const struct {
		const char *field, *value, *needle;
	} cases[] = {
	    {"name", "../x", "metadata.name"},
	    {"name", "Agent", "metadata.name"},
	    {"name", "", "metadata.name: must not be empty"},
	    {"namespace", "kube_system", "metadata.namespace"},
	    {"namespace", "../../etc", "metadata.namespace"},
	    {"uid", "not-a-uuid", "metadata.uid"},
	    {"uid", "0f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d/../x", "metadata.uid"},
	};
	char long_name[301];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod();

		json_object_set_new(json_object_get(pod, "metadata"), cases[i].field,
		                    json_string(cases[i].value));
		render_fails(pod, NULL, KC_EINVAL, cases[i].needle);
		json_decref(pod);
	}
	memset(long_name, 'a', 300);
	long_name[300] = '\0';
	{
		json_t *pod = tp_pod();

		json_object_set_new(json_object_get(pod, "metadata"), "name",
		                    json_string(long_name));
		render_fails(pod, NULL, KC_EINVAL, "no more than 253 characters");
		/* 250 fits alone but not as "<name>-node-1". */
		long_name[250] = '\0';
		for (i = 60; i < 250; i += 61)
			long_name[i] = '.';
		json_object_set_new(json_object_get(pod, "metadata"), "name",
		                    json_string(long_name));
		render_fails(pod, NULL, KC_EINVAL, "'<name>-node-1', 257 characters");
		json_decref(pod);
	}
}

static void test_hostile_volume_fields(void **state)
{
	static const struct {
		const char *volumes, *needle;
	} cases[] = {
	    {"[{\"name\":\"../etc\",\"emptyDir\":{}}]", "spec.volumes[0].name"},
	    {"[{\"name\":\"a\",\"emptyDir\":{}},{\"name\":\"a\",\"emptyDir\":{}}]",
	     "spec.volumes[1].name: duplicate 'a'"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"tls\",\"items\":[{\"key\":\"tls.key\","
	     "\"path\":\"../../etc/passwd\"}]}}]",
	     "spec.volumes[0].secret: items[0]: path '../../etc/passwd' must not contain '..'"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"tls\",\"items\":[{\"key\":\"tls.key\","
	     "\"path\":\"/etc/passwd\"}]}}]",
	     "must be relative"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"tls\",\"items\":[{\"key\":\"tls.key\","
	     "\"path\":\"a/../../b\"}]}}]",
	     "must not contain '..'"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"../../x\"}}]",
	     "spec.volumes[0].secret: secretName: '../../x'"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"tls\",\"items\":[{\"key\":\"../k\","
	     "\"path\":\"k\"}]}}]",
	     "items[0]: key '../k'"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"tls\",\"defaultMode\":4095}}]",
	     "defaultMode: 4095 is not a file mode"},
	};
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "]");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod();

		tp_volumes(pod, cases[i].volumes);
		render_fails(pod, objs, KC_EINVAL, cases[i].needle);
		json_decref(pod);
	}
	kc_objects_free(objs);
}

static json_t *reverse_keys(json_t *j)
{
	const char *keys[64];
	json_t *out, *v;
	size_t n = 0, i;
	const char *k;

	if (json_is_array(j)) {
		out = json_array();
		json_array_foreach(j, i, v) json_array_append_new(out, reverse_keys(v));
		return out;
	}
	if (!json_is_object(j))
		return json_deep_copy(j);
	json_object_foreach(j, k, v) if (n < 64) keys[n++] = k;
	out = json_object();
	while (n-- > 0)
		json_object_set_new(out, keys[n], reverse_keys(json_object_get(j, keys[n])));
	return out;
}

static void test_deterministic_bytes(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "]");
	json_t *pod = tp_pod(), *rev, *m1, *m2;
	struct kc_buf a, b;
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}}]");
	json_object_set_new(tp_container(pod, 0), "envFrom",
	                    tp_json("[{\"configMapRef\":{\"name\":\"conf\"}}]"));
	rev = reverse_keys(pod);
	m1 = render_ok(pod, objs);
	m2 = render_ok(rev, objs);
	kc_buf_init(&a, 0);
	kc_buf_init(&b, 0);
	assert_int_equal(render_manifest_bytes(m1, &a, &err), KC_OK);
	assert_int_equal(render_manifest_bytes(m2, &b, &err), KC_OK);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_true(strncmp(a.data, "apiVersion: v1\n", 15) == 0);
	kc_buf_free(&a);
	kc_buf_free(&b);
	json_decref(m1);
	json_decref(m2);
	json_decref(rev);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_manifest_too_big(void **state)
{
	size_t n = RENDER_MAX_MANIFEST + 16;
	char *big = malloc(n + 1);
	json_t *pod = tp_pod(), *m;
	struct kc_buf out;
	struct kc_error err;

	assert_non_null(big);
	memset(big, 'x', n);
	big[n] = '\0';
	json_object_set_new(tp_container(pod, 0), "env",
	                    json_pack("[{s:s, s:s}]", "name", "BIG", "value", big));
	free(big);
	m = render_ok(pod, NULL);
	kc_buf_init(&out, 0);
	assert_int_equal(render_manifest_bytes(m, &out, &err), KC_ETOOBIG);
	tp_assert_msg(err.msg, "10 MiB");
	assert_int_equal(out.len, 0);
	kc_buf_free(&out);
	json_decref(m);
	json_decref(pod);
}

static void test_output_passes_checker(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "," CM_ROOT_CA "]");
	json_t *pod = tp_pod(), *m;
	struct mc_report r;
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}},"
	                "{\"name\":\"api\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{"
	                "\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\"}}]}}]");
	m = render_ok(pod, objs);
	assert_int_equal(manifest_check(m, pod, &r, &err), KC_OK);
	assert_int_equal(r.count, 0);
	mc_report_free(&r);
	json_decref(m);
	json_decref(pod);
	kc_objects_free(objs);
}

/* The source pod is the caller's: render shares, never changes it. */
static void test_source_pod_untouched(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET_TLS "," CM_CONF "]");
	json_t *pod = tp_pod(), *before, *m1, *m2;

	json_object_set_new(tp_spec(pod), "hostNetwork", json_true());
	tp_volumes(pod, "[{\"name\":\"certs\",\"secret\":{\"secretName\":\"tls\"}}]");
	json_object_set_new(tp_container(pod, 0), "ports",
	                    tp_json("[{\"name\":\"health\",\"containerPort\":8081}]"));
	json_object_set_new(tp_container(pod, 0), "livenessProbe",
	                    tp_json("{\"httpGet\":{\"port\":\"health\"}}"));
	json_object_set_new(tp_container(pod, 0), "lifecycle",
	                    tp_json("{\"preStop\":{\"tcpSocket\":{\"port\":\"health\"}}}"));
	json_object_set_new(tp_container(pod, 0), "volumeMounts",
	                    tp_json("[{\"name\":\"certs\",\"mountPath\":\"/c\"}]"));
	json_object_set_new(tp_container(pod, 0), "envFrom",
	                    tp_json("[{\"configMapRef\":{\"name\":\"conf\"}}]"));
	json_object_set_new(tp_spec(pod), "initContainers",
	                    json_pack("[o]", json_deep_copy(tp_container(pod, 0))));
	json_object_set_new(tp_get(pod, "spec initContainers 0"), "name", json_string("init"));
	before = json_deep_copy(pod);
	m1 = render_ok(pod, objs);
	assert_true(json_equal(pod, before));
	m2 = render_ok(pod, objs);
	assert_true(json_equal(m1, m2));
	assert_int_equal(
	    json_integer_value(tp_get(m1, "spec containers 0 livenessProbe httpGet port")), 8081);
	assert_int_equal(json_integer_value(
	                     tp_get(m1, "spec initContainers 0 lifecycle preStop tcpSocket port")),
	                 8081);
	assert_true(json_is_true(tp_get(m1, "spec initContainers 0 volumeMounts 0 readOnly")));
	json_decref(m1);
	json_decref(m2);
	json_decref(before);
	json_decref(pod);
	kc_objects_free(objs);
}

/* Over the kubelet's static pod file limit: refused, and the buffer keeps what it held. */
static void test_manifest_bytes_cap(void **state)
{
	size_t big = RENDER_MAX_MANIFEST + 1;
	char *value = malloc(big + 1);
	struct kc_error err;
	struct kc_buf out;
	json_t *m;

	(void)state;
	memset(value, 'x', big);
	value[big] = '\0';
	m = json_pack("{s:s}", "apiVersion", "v1");
	kc_buf_init(&out, 0);
	assert_int_equal(kc_buf_puts(&out, "kept\n", &err), KC_OK);
	assert_int_equal(render_manifest_bytes(m, &out, &err), KC_OK);
	assert_string_equal(out.data, "kept\napiVersion: v1\n");
	json_object_set_new(m, "big", json_string(value));
	kc_buf_reset(&out);
	assert_int_equal(kc_buf_puts(&out, "kept\n", &err), KC_OK);
	assert_int_equal(render_manifest_bytes(m, &out, &err), KC_ETOOBIG);
	assert_non_null(strstr(err.msg, "static pod file limit"));
	assert_string_equal(out.data, "kept\n");
	assert_int_equal(out.limit, 0);
	kc_buf_free(&out);
	/* A buffer capped at the limit itself (the agent's, the CLI's) says the same. */
	kc_buf_init(&out, RENDER_MAX_MANIFEST);
	assert_int_equal(render_manifest_bytes(m, &out, &err), KC_ETOOBIG);
	assert_non_null(strstr(err.msg, "static pod file limit"));
	assert_int_equal(out.len, 0);
	kc_buf_free(&out);
	json_decref(m);
	free(value);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metadata),
	    cmocka_unit_test(test_manifest_bytes_cap),
	    cmocka_unit_test(test_spec_filtering),
	    cmocka_unit_test(test_custom_triggers_dropped),
	    cmocka_unit_test(test_pull_policy),
	    cmocka_unit_test(test_not_checkpointable_volumes),
	    cmocka_unit_test(test_resource_claims),
	    cmocka_unit_test(test_allowed_volumes_kept),
	    cmocka_unit_test(test_secret_and_configmap_volumes),
	    cmocka_unit_test(test_missing_and_optional_objects),
	    cmocka_unit_test(test_kube_api_access),
	    cmocka_unit_test(test_env_key_refs),
	    cmocka_unit_test(test_env_from),
	    cmocka_unit_test(test_configmap_env_and_secret_volume_need_no_opt_in),
	    cmocka_unit_test(test_init_containers_and_sidecars),
	    cmocka_unit_test(test_handoff_requests_zeroed),
	    cmocka_unit_test(test_handoff_grace_capped),
	    cmocka_unit_test(test_host_network_ports),
	    cmocka_unit_test(test_hostile_identity),
	    cmocka_unit_test(test_hostile_volume_fields),
	    cmocka_unit_test(test_deterministic_bytes),
	    cmocka_unit_test(test_manifest_too_big),
	    cmocka_unit_test(test_output_passes_checker),
	    cmocka_unit_test(test_source_pod_untouched),
	    cmocka_unit_test(test_source_pod_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
