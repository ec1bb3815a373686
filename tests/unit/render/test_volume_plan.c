/*
 * test_volume_plan.c: volume_plan_build, the single source of truth for the
 * materialised files: items, modes, optional, binaryData, stringData,
 * projected precedence, downward API formats, owners, path helpers.
 */
#include "render_testpod.h"

#include "volume_plan.h"

#define SECRET                                                                                     \
	"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"kube-system\"},"        \
	"\"data\":{\"a\":\"QQ==\",\"b\":\"Qg==\",\"bin\":\"AP8=\"},\"stringData\":{\"b\":"         \
	"\"override\"}}"
#define CONFIGMAP                                                                                  \
	"{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"kube-system\"},"     \
	"\"data\":{\"x.conf\":\"x=1\",\"shared\":\"from-cm\"},\"binaryData\":{\"blob\":\"AQID\"}}"

static struct vp_plan plan;

static kc_code build(json_t *pod, struct kc_objects *objs, struct kc_error *err)
{
	kc_error_clear(err);
	return volume_plan_build(pod, objs, &plan, err);
}

static const struct vp_file *file(const struct vp_volume *v, const char *path)
{
	size_t i;

	for (i = 0; i < v->nfiles; i++)
		if (strcmp(v->files[i].path, path) == 0)
			return &v->files[i];
	fail_msg("no file %s in volume %s", path, v->name);
	return NULL;
}

static void assert_file(const struct vp_volume *v, const char *path, const char *data, size_t len,
                        mode_t mode)
{
	const struct vp_file *f = file(v, path);

	assert_int_equal(f->len, len);
	assert_memory_equal(f->data, data, len);
	assert_int_equal(f->mode, mode);
}

static void test_whole_objects_and_modes(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "," CONFIGMAP "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"sec\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":384}},"
	                "{\"name\":\"scratch\",\"emptyDir\":{}},"
	                "{\"name\":\"cm\",\"configMap\":{\"name\":\"c\"}}]");
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_string_equal(plan.uid, TP_UID);
	assert_int_equal(plan.nvolumes, 2);
	assert_string_equal(plan.volumes[0].name, "sec");
	assert_int_equal(plan.volumes[0].nfiles, 3);
	/* Sorted by path; Secret data decoded; stringData wins over data. */
	assert_string_equal(plan.volumes[0].files[0].path, "a");
	assert_file(&plan.volumes[0], "a", "A", 1, 0600);
	assert_file(&plan.volumes[0], "b", "override", 8, 0600);
	assert_file(&plan.volumes[0], "bin", "\x00\xff", 2, 0600);
	assert_string_equal(plan.volumes[1].name, "cm");
	assert_int_equal(plan.volumes[1].nfiles, 3);
	assert_file(&plan.volumes[1], "blob", "\x01\x02\x03", 3, 0644);
	assert_file(&plan.volumes[1], "x.conf", "x=1", 3, 0644);
	assert_int_equal(plan.uid_owner, -1);
	assert_int_equal(plan.gid_owner, -1);
	volume_plan_free(&plan);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_items(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":288,"
	                "\"items\":[{\"key\":\"a\",\"path\":\"dir/renamed\",\"mode\":256},"
	                "{\"key\":\"b\",\"path\":\"b.txt\"}]}}]");
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_int_equal(plan.volumes[0].nfiles, 2);
	assert_file(&plan.volumes[0], "b.txt", "override", 8, 0440);
	assert_file(&plan.volumes[0], "dir/renamed", "A", 1, 0400);
	volume_plan_free(&plan);
	/* A missing key is an error unless the volume is optional. */
	tp_volumes(
	    pod, "[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\","
	         "\"items\":[{\"key\":\"nope\",\"path\":\"n\"},{\"key\":\"a\",\"path\":\"a\"}]}}]");
	assert_int_equal(build(pod, objs, &err), KC_ENOTFOUND);
	tp_assert_msg(err.msg,
	              "spec.volumes[0].secret: items[0]: Secret kube-system/s has no key 'nope'");
	assert_int_equal(plan.nvolumes, 0);
	json_object_set_new(tp_get(pod, "spec volumes 0 secret"), "optional", json_true());
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_int_equal(plan.volumes[0].nfiles, 1);
	assert_string_equal(plan.volumes[0].files[0].path, "a");
	volume_plan_free(&plan);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_optional_missing_object(void **state)
{
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"v\",\"configMap\":{\"name\":\"c\",\"optional\":true}}]");
	assert_int_equal(build(pod, NULL, &err), KC_OK);
	assert_int_equal(plan.nvolumes, 1);
	assert_int_equal(plan.volumes[0].nfiles, 0);
	volume_plan_free(&plan);
	tp_volumes(pod, "[{\"name\":\"v\",\"configMap\":{\"name\":\"c\"}}]");
	assert_int_equal(build(pod, NULL, &err), KC_ENOTFOUND);
	tp_assert_msg(err.msg, "spec.volumes[0].configMap: ConfigMap kube-system/c: not found");
	json_decref(pod);
}

static void test_projected(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "," CONFIGMAP "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(
	    pod,
	    "[{\"name\":\"all\",\"projected\":{\"defaultMode\":416,\"sources\":["
	    "{\"serviceAccountToken\":{\"path\":\"token\",\"expirationSeconds\":3600}},"
	    "{\"configMap\":{\"name\":\"c\",\"items\":[{\"key\":\"shared\",\"path\":\"same\"}]}},"
	    "{\"secret\":{\"name\":\"s\",\"items\":[{\"key\":\"a\",\"path\":\"same\",\"mode\":256}]"
	    "}},"
	    "{\"secret\":{\"name\":\"gone\",\"optional\":true}},"
	    "{\"downwardAPI\":{\"items\":[{\"path\":\"ns\",\"fieldRef\":{\"fieldPath\":"
	    "\"metadata.namespace\"}},{\"path\":\"labels\",\"mode\":420,\"fieldRef\":{"
	    "\"fieldPath\":\"metadata.labels\"}}]}}]}}]");
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_int_equal(plan.volumes[0].nfiles, 3);
	/* No token file; the later source wins a shared path. */
	assert_file(&plan.volumes[0], "same", "A", 1, 0400);
	assert_file(&plan.volumes[0], "ns", "kube-system", 11, 0640);
	assert_file(
	    &plan.volumes[0], "labels",
	    "app=\"agent\"\ncontroller-revision-hash=\"abc\"\npod-template-generation=\"3\"\n"
	    "pod-template-hash=\"x\"",
	    strlen("app=\"agent\"\ncontroller-revision-hash=\"abc\"\npod-template-generation="
	           "\"3\"\npod-template-hash=\"x\""),
	    0644);
	volume_plan_free(&plan);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_downward_fields(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	json_object_set_new(json_object_get(pod, "metadata"), "annotations",
	                    tp_json("{\"q\":\"say \\\"hi\\\"\\n\",\"u\":\"caf\\u00e9\"}"));
	tp_volumes(pod,
	           "[{\"name\":\"v\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"s\","
	           "\"items\":[{\"key\":\"a\",\"path\":\"a\"}]}},{\"downwardAPI\":{\"items\":["
	           "{\"path\":\"ann\",\"fieldRef\":{\"fieldPath\":\"metadata.annotations\"}},"
	           "{\"path\":\"one\",\"fieldRef\":{\"fieldPath\":\"metadata.annotations['u']\"}},"
	           "{\"path\":\"none\",\"fieldRef\":{\"fieldPath\":\"metadata.labels['zzz']\"}},"
	           "{\"path\":\"name\",\"fieldRef\":{\"fieldPath\":\"metadata.name\"}},"
	           "{\"path\":\"uid\",\"fieldRef\":{\"fieldPath\":\"metadata.uid\"}}]}}]}}]");
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_file(&plan.volumes[0], "ann", "q=\"say \\\"hi\\\"\\n\"\nu=\"caf\xc3\xa9\"",
	            strlen("q=\"say \\\"hi\\\"\\n\"\nu=\"caf\xc3\xa9\""), 0644);
	assert_file(&plan.volumes[0], "one", "caf\xc3\xa9", 5, 0644);
	assert_file(&plan.volumes[0], "none", "", 0, 0644);
	assert_file(&plan.volumes[0], "name", "agent-x7k2p", 11, 0644);
	assert_file(&plan.volumes[0], "uid", TP_UID, strlen(TP_UID), 0644);
	volume_plan_free(&plan);
	/* Fields the kubelet does not offer in volumes are refused. */
	json_object_set_new(tp_get(pod, "spec volumes 0 projected sources 1 downwardAPI items 0 "
	                                "fieldRef"),
	                    "fieldPath", json_string("spec.nodeName"));
	assert_int_equal(build(pod, objs, &err), KC_EINVAL);
	tp_assert_msg(err.msg, "spec.volumes[0].projected: sources[1].downwardAPI: items[0]: "
	                       "fieldRef.fieldPath: 'spec.nodeName' is not supported");
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_downward_resources(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	json_object_set_new(tp_container(pod, 0), "resources",
	                    tp_json("{\"limits\":{\"cpu\":\"1500m\",\"memory\":\"100Mi\"},"
	                            "\"requests\":{\"cpu\":\"250m\"}}"));
	tp_volumes(pod, "[{\"name\":\"v\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"s\","
	                "\"items\":[{\"key\":\"a\",\"path\":\"a\"}]}},{\"downwardAPI\":{\"items\":["
	                "{\"path\":\"cpu\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"limits.cpu\"}},"
	                "{\"path\":\"cpu-m\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"limits.cpu\",\"divisor\":\"1m\"}},"
	                "{\"path\":\"req\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"requests.cpu\",\"divisor\":\"100m\"}},"
	                "{\"path\":\"mem\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"limits.memory\",\"divisor\":\"1Gi\"}},"
	                "{\"path\":\"mem-b\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"limits.memory\"}},"
	                "{\"path\":\"eph\",\"resourceFieldRef\":{\"containerName\":\"main\","
	                "\"resource\":\"requests.ephemeral-storage\"}}]}}]}}]");
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_file(&plan.volumes[0], "cpu", "2", 1, 0644);
	assert_file(&plan.volumes[0], "cpu-m", "1500", 4, 0644);
	assert_file(&plan.volumes[0], "req", "3", 1, 0644);
	assert_file(&plan.volumes[0], "mem", "1", 1, 0644);
	assert_file(&plan.volumes[0], "mem-b", "104857600", 9, 0644);
	assert_file(&plan.volumes[0], "eph", "0", 1, 0644);
	volume_plan_free(&plan);
	/* An unset limit would be the node's allocatable: unknown offline. */
	json_object_set_new(tp_get(pod, "spec containers 0 resources limits"), "cpu", json_null());
	assert_int_equal(build(pod, objs, &err), KC_ENOTCHECKPOINTABLE);
	tp_assert_msg(err.msg, "limits.cpu of container 'main' is unset");
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_owners_and_group_read(void **state)
{
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":256,"
	                "\"items\":[{\"key\":\"a\",\"path\":\"a\"}]}}]");
	json_object_set_new(tp_spec(pod), "securityContext",
	                    tp_json("{\"runAsUser\":1000,\"runAsGroup\":3000}"));
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_int_equal(plan.uid_owner, 1000);
	assert_int_equal(plan.gid_owner, 3000);
	assert_int_equal(plan.volumes[0].files[0].mode, 0400);
	volume_plan_free(&plan);
	json_object_set_new(json_object_get(tp_spec(pod), "securityContext"), "fsGroup",
	                    json_integer(2000));
	assert_int_equal(build(pod, objs, &err), KC_OK);
	assert_int_equal(plan.gid_owner, 2000);
	assert_int_equal(plan.volumes[0].files[0].mode, 0440);
	volume_plan_free(&plan);
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_bad_input(void **state)
{
	static const struct {
		const char *volumes, *needle;
	} cases[] = {
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"a\","
	     "\"path\":\"x\"},{\"key\":\"b\",\"path\":\"x/y\"}]}}]",
	     "path 'x' is both a file and a directory"},
	    /* Not sorted neighbours: "a-b" sorts between "a" and "a/b" ('-' < '/'). */
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"a\","
	     "\"path\":\"a\"},{\"key\":\"b\",\"path\":\"a-b\"},{\"key\":\"a\",\"path\":\"a/"
	     "b\"}]}}]",
	     "path 'a' is both a file and a directory (of 'a/b')"},
	    /* A deeper prefix, with look-alikes in between. */
	    {"[{\"name\":\"v\",\"projected\":{\"sources\":[{\"secret\":{\"name\":\"s\","
	     "\"items\":[{\"key\":\"a\",\"path\":\"d/e\"},{\"key\":\"b\",\"path\":\"d/e.x\"}]}},"
	     "{\"secret\":{\"name\":\"s\",\"items\":[{\"key\":\"a\",\"path\":\"d/e-1/f\"},"
	     "{\"key\":\"b\",\"path\":\"d/e/f/g\"}]}}]}}]",
	     "path 'd/e' is both a file and a directory (of 'd/e/f/g')"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"a\"}]}}]",
	     "items[0]: key and path are required"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"defaultMode\":\"0644\"}}]",
	     "defaultMode: must be an integer"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"items\":[{\"key\":\"a\","
	     "\"path\":\"a\",\"mode\":-1}]}}]",
	     "mode: -1 is not a file mode"},
	    {"[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\",\"optional\":\"yes\"}}]",
	     "optional: must be true or false"},
	    {"{\"name\":\"v\"}", "spec.volumes: must be a list"},
	};
	struct kc_objects *objs = tp_objects("[" SECRET "]");
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = tp_pod();

		tp_volumes(pod, cases[i].volumes);
		assert_int_equal(build(pod, objs, &err), KC_EINVAL);
		tp_assert_msg(err.msg, cases[i].needle);
		assert_null(plan.volumes);
		json_decref(pod);
	}
	kc_objects_free(objs);
}

static void test_bad_base64(void **state)
{
	struct kc_objects *objs = tp_objects(
	    "[{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"kube-system\"},"
	    "\"data\":{\"a\":\"QQ=\"}}]");
	json_t *pod = tp_pod();
	struct kc_error err;

	tp_volumes(pod, "[{\"name\":\"v\",\"secret\":{\"secretName\":\"s\"}}]");
	assert_int_equal(build(pod, objs, &err), KC_EINVAL);
	tp_assert_msg(err.msg, "Secret kube-system/s: data.a: base64");
	json_decref(pod);
	kc_objects_free(objs);
}

static void test_dirs(void **state)
{
	char out[256];
	struct kc_error err;

	assert_int_equal(volume_plan_pod_dir("/var/lib/kc", TP_UID, out, sizeof(out), &err), KC_OK);
	assert_string_equal(out, "/var/lib/kc/volumes/" TP_UID);
	assert_int_equal(
	    volume_plan_volume_dir("/var/lib/kc", TP_UID, "certs", out, sizeof(out), &err), KC_OK);
	assert_string_equal(out, "/var/lib/kc/volumes/" TP_UID "/certs");
	assert_int_equal(volume_plan_pod_dir("/s", "../..", out, sizeof(out), &err), KC_EINVAL);
	assert_int_equal(volume_plan_volume_dir("/s", TP_UID, "../x", out, sizeof(out), &err),
	                 KC_EINVAL);
	assert_int_equal(volume_plan_volume_dir("/s", TP_UID, "v", out, 20, &err), KC_ETOOBIG);
}

static void test_identity_checked(void **state)
{
	json_t *pod = tp_pod();
	struct kc_error err;

	json_object_set_new(json_object_get(pod, "metadata"), "uid", json_string("x"));
	assert_int_equal(build(pod, NULL, &err), KC_EINVAL);
	tp_assert_msg(err.msg, "metadata.uid");
	json_decref(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_objects_and_modes),
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_optional_missing_object),
	    cmocka_unit_test(test_projected),
	    cmocka_unit_test(test_downward_fields),
	    cmocka_unit_test(test_downward_resources),
	    cmocka_unit_test(test_owners_and_group_read),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_bad_base64),
	    cmocka_unit_test(test_dirs),
	    cmocka_unit_test(test_identity_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
