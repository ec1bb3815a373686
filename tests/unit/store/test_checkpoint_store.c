/*
 * test_checkpoint_store.c: checkpoints round-trip, any flipped or missing
 * byte is reported as corrupt (and never deleted), foreign names in pods/ are
 * ignored, and status/resourceVersion churn never rewrites a file.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_store.h"
#include "doc.h"
#include "k8s_validate.h"
#include "testutil.h"

#define UID1 "0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f"
#define UID2 "1c9e5b63-4d2f-4e3b-8a2f-8b7c6d5e4f30"

static json_t *make_pod(const char *uid, const char *image, const char *phase, const char *rv)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:[{s:s}]},"
	                 " s:{s:s, s:[{s:s, s:s}], s:[{s:s, s:{s:s}}]}, s:{s:s}}",
	                 "apiVersion", "v1", "kind", "Pod", "metadata", "name", "agent-x7k2p",
	                 "namespace", "kube-system", "uid", uid, "resourceVersion", rv,
	                 "creationTimestamp", "2026-11-27T08:00:00Z", "annotations",
	                 "node.kubernetes.io/bootstrap-checkpoint", "true", "managedFields",
	                 "manager", rv, "spec", "nodeName", "node-1", "containers", "name", "agent",
	                 "image", image, "volumes", "name", "conf", "secret", "secretName",
	                 "agent-conf", "status", "phase", phase);
}

static json_t *make_secret(const char *name, const char *value, const char *rv)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
	                 "Secret", "metadata", "name", name, "namespace", "kube-system",
	                 "resourceVersion", rv, "data", "token", value);
}

struct fixture {
	char *dir;
	char pods[1024];
	struct ckpt_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char state_dir[900];
	struct kc_error err;

	f->dir = tu_mkdtemp();
	/* A state dir that does not exist yet: the store creates it 0700. */
	snprintf(state_dir, sizeof(state_dir), "%s/state", f->dir);
	snprintf(f->pods, sizeof(f->pods), "%s/pods", state_dir);
	assert_int_equal(ckpt_store_open(state_dir, &f->store, &err), KC_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ckpt_store_close(f->store);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void file_path(struct fixture *f, const char *uid, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/Pod_%s.yaml", f->pods, uid);
}

static void write_ok(struct fixture *f, json_t *pod, json_t *objs, bool expect_written)
{
	struct kc_error err;
	bool written = !expect_written;

	kc_error_clear(&err);
	assert_int_equal(ckpt_store_write(f->store, pod, objs, &written, &err), KC_OK);
	if (written != expect_written)
		fail_msg("written=%d, expected %d (%s)", written, expect_written, err.msg);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "agent:1", "Running", "10");
	json_t *objs = json_pack("[o, o]", make_secret("zz-second", "Yg==", "5"),
	                         make_secret("agent-conf", "YQ==", "4"));
	struct kc_error err;
	struct ckpt c;
	struct stat st;
	char path[PATH_MAX];

	write_ok(f, pod, objs, true);
	file_path(f, UID1, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->pods, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	char *text = tu_read_file(path, NULL);
	assert_non_null(text);
	assert_true(strncmp(text, CKPT_HEADER_TAG " fnv1a64=", strlen(CKPT_HEADER_TAG) + 9) == 0);
	free(text);

	assert_int_equal(ckpt_store_load(f->store, UID1, &c, &err), KC_OK);
	assert_string_equal(c.uid, UID1);
	assert_string_equal(c.namespace, "kube-system");
	assert_string_equal(c.name, "agent-x7k2p");
	assert_string_equal(c.creation_timestamp, "2026-11-27T08:00:00Z");
	/* The pod as received, status included. */
	assert_true(json_equal(c.pod, pod));
	/* Objects sorted by kind and name, and indexed. */
	assert_int_equal(json_array_size(c.objects), 2);
	assert_true(json_equal(json_array_get(c.objects, 0), json_array_get(objs, 1)));
	json_t *held = kc_objects_find(c.index, "Secret", "kube-system", "zz-second");
	assert_non_null(held);
	/* Reference discipline: after ckpt_free only our own reference is left. */
	json_incref(held);
	ckpt_free(&c);
	assert_int_equal(held->refcount, 1);
	json_decref(held);

	assert_int_equal(ckpt_store_load(f->store, UID2, &c, &err), KC_ENOTFOUND);
	json_decref(pod);
	json_decref(objs);
}

/* Rewrite the file with one change, then expect load and list to say corrupt. */
static void expect_corrupt(struct fixture *f, const char *uid, const char *reason_part)
{
	struct ckpt_list list;
	struct kc_error err;
	struct ckpt c;

	assert_int_equal(ckpt_store_load(f->store, uid, &c, &err), KC_ECORRUPT);
	if (strstr(err.msg, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err.msg, reason_part);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_int_equal(list.entries[0].state, CKPT_CORRUPT);
	assert_string_equal(list.entries[0].uid, uid);
	assert_non_null(strstr(list.entries[0].reason, reason_part));
	assert_null(list.entries[0].name);
	ckpt_list_free(&list);
}

static void test_flipped_byte_is_corrupt(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "agent:1", "Running", "10");
	char path[PATH_MAX];
	size_t len;

	write_ok(f, pod, NULL, true);
	file_path(f, UID1, path, sizeof(path));
	char *text = tu_read_file(path, &len);
	char *img = strstr(text, "agent:1");
	assert_non_null(img);
	img[6] = '2'; /* still valid YAML: only the checksum can tell */
	tu_write_file(path, text, len, 0600);
	expect_corrupt(f, UID1, "checksum mismatch");
	/* Never deleted by reading or listing. */
	assert_int_equal(access(path, F_OK), 0);

	/* A flipped byte in the header line is caught too. */
	img[6] = '1';
	text[strlen(CKPT_HEADER_TAG) + 9] ^= 1;
	tu_write_file(path, text, len, 0600);
	expect_corrupt(f, UID1, "");
	free(text);
	json_decref(pod);
}

static void test_truncated_is_corrupt(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "agent:1", "Running", "10");
	char path[PATH_MAX];
	size_t len;

	write_ok(f, pod, NULL, true);
	file_path(f, UID1, path, sizeof(path));
	char *text = tu_read_file(path, &len);
	tu_write_file(path, text, len - 1, 0600);
	expect_corrupt(f, UID1, "truncated");
	tu_write_file(path, text, 20, 0600);
	expect_corrupt(f, UID1, "header");
	tu_write_file(path, "", 0, 0600);
	expect_corrupt(f, UID1, "header");
	free(text);
	json_decref(pod);
}

static void test_corrupt_replaced_by_good_write(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "agent:1", "Running", "10");
	struct kc_error err;
	struct ckpt c;
	char path[PATH_MAX];

	file_path(f, UID1, path, sizeof(path));
	tu_write_file(path, "garbage\n", 8, 0600);
	expect_corrupt(f, UID1, "header");
	write_ok(f, pod, NULL, true);
	assert_int_equal(ckpt_store_load(f->store, UID1, &c, &err), KC_OK);
	ckpt_free(&c);
	json_decref(pod);
}

static void test_body_of_other_uid_is_corrupt(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID2, "agent:1", "Running", "10");
	char from[PATH_MAX], to[PATH_MAX];

	write_ok(f, pod, NULL, true);
	file_path(f, UID2, from, sizeof(from));
	file_path(f, UID1, to, sizeof(to));
	assert_int_equal(rename(from, to), 0);
	expect_corrupt(f, UID1, "does not match the file name");
	json_decref(pod);
}

static void test_garbage_names_ignored(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
	    "notes.txt", "Pod_not-a-uuid.yaml", "Pod_" UID2 ".yaml.bak",
	    "Pod_0B8F4A52-3C1E-4D2A-9F1E-7A6B5C4D3E2F.yaml", ".Pod_" UID2 ".yaml.tmp"};
	json_t *pod = make_pod(UID1, "agent:1", "Running", "10");
	struct ckpt_list list;
	struct kc_error err;
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->pods, names[i]);
		tu_write_file(path, "keep me", 7, 0644);
	}
	write_ok(f, pod, NULL, true);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.entries[0].uid, UID1);
	assert_int_equal(list.entries[0].state, CKPT_OK);
	assert_string_equal(list.entries[0].name, "agent-x7k2p");
	assert_string_equal(list.entries[0].namespace, "kube-system");
	ckpt_list_free(&list);
	assert_int_equal(ckpt_store_delete(f->store, UID1, &err), KC_OK);
	assert_int_equal(ckpt_store_delete(f->store, UID1, &err), KC_OK); /* missing is fine */
	assert_int_equal(ckpt_store_delete(f->store, "../x", &err), KC_EINVAL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->pods, names[i]);
		char *got = tu_read_file(path, NULL);
		assert_non_null(got);
		assert_string_equal(got, "keep me");
		free(got);
	}
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 0);
	ckpt_list_free(&list);
	json_decref(pod);
}

static void assert_same_file(const struct stat *a, const char *path)
{
	struct stat b;

	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a->st_ino, b.st_ino);
	assert_int_equal(a->st_mtim.tv_sec, b.st_mtim.tv_sec);
	assert_int_equal(a->st_mtim.tv_nsec, b.st_mtim.tv_nsec);
}

static void test_status_churn_does_not_rewrite(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "agent:1", "Pending", "10");
	json_t *objs = json_pack("[o, o]", make_secret("agent-conf", "YQ==", "4"),
	                         make_secret("other", "Yg==", "5"));
	char path[PATH_MAX];
	struct stat st;

	write_ok(f, pod, objs, true);
	file_path(f, UID1, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);

	/* Status, resourceVersion and managedFields change: no rewrite. */
	json_t *churn = make_pod(UID1, "agent:1", "Running", "11");
	json_t *objs2 = json_pack("[o, o]", make_secret("other", "Yg==", "9"),
	                          make_secret("agent-conf", "YQ==", "8"));
	write_ok(f, churn, objs2, false);
	assert_same_file(&st, path);

	/* A spec change rewrites, and so does a changed object. */
	json_t *spec = make_pod(UID1, "agent:2", "Running", "12");
	write_ok(f, spec, objs2, true);
	json_t *objs3 = json_pack("[o]", make_secret("agent-conf", "Yw==", "9"));
	write_ok(f, spec, objs3, true);
	/* A label change is relevant too. */
	json_object_set_new(json_object_get(spec, "metadata"), "labels",
	                    json_pack("{s:s}", "app", "agent"));
	write_ok(f, spec, objs3, true);
	write_ok(f, spec, objs3, false);
	json_decref(pod);
	json_decref(churn);
	json_decref(spec);
	json_decref(objs);
	json_decref(objs2);
	json_decref(objs3);
}

static void test_bad_input_touches_nothing(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod("../../etc/x", "agent:1", "Running", "10");
	json_t *good = make_pod(UID1, "agent:1", "Running", "10");
	json_t *cm_other_ns = json_pack("[{s:s, s:{s:s, s:s}}]", "kind", "ConfigMap", "metadata",
	                                "name", "c", "namespace", "default");
	json_t *wrong_kind = json_pack("[{s:s, s:{s:s, s:s}}]", "kind", "Pod", "metadata", "name",
	                               "c", "namespace", "kube-system");
	json_t *notobj = json_string("pod");
	struct ckpt_list list;
	struct kc_error err;

	assert_int_equal(ckpt_store_write(f->store, pod, NULL, NULL, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "metadata.uid"));
	assert_int_equal(ckpt_store_write(f->store, notobj, NULL, NULL, &err), KC_EINVAL);
	assert_int_equal(ckpt_store_write(f->store, good, cm_other_ns, NULL, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "namespace"));
	assert_int_equal(ckpt_store_write(f->store, good, wrong_kind, NULL, &err), KC_EINVAL);
	json_object_del(json_object_get(good, "metadata"), "name");
	assert_int_equal(ckpt_store_write(f->store, good, NULL, NULL, &err), KC_EINVAL);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 0);
	ckpt_list_free(&list);
	json_decref(pod);
	json_decref(good);
	json_decref(cm_other_ns);
	json_decref(wrong_kind);
	json_decref(notobj);
}

/*
 * The cluster a checkpoint was taken from (decision.h "same cluster"): it is
 * recorded, read back by load and list, kept by a write that does not know
 * it, added to a file of an older agent at its next write, and a change of
 * cluster rewrites the file.
 */
static void test_cluster_uid_recorded(void **state)
{
	static const char *const cl1 = "aaaaaaaa-0000-4000-8000-000000000001";
	static const char *const cl2 = "bbbbbbbb-0000-4000-8000-000000000002";
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "img:1", "Running", "1");
	struct ckpt_list list;
	struct kc_error err;
	struct ckpt c;
	bool written;

	/* An older agent's file: no cluster. */
	assert_int_equal(ckpt_store_write(f->store, pod, NULL, &written, &err), KC_OK);
	assert_true(written);
	assert_int_equal(ckpt_store_load(f->store, UID1, &c, &err), KC_OK);
	assert_string_equal(c.cluster_uid, "");
	ckpt_free(&c);
	/* The next write knows it: the file gets it. */
	assert_int_equal(ckpt_store_write_cluster(f->store, pod, NULL, cl1, &written, &err), KC_OK);
	assert_true(written);
	assert_int_equal(ckpt_store_load(f->store, UID1, &c, &err), KC_OK);
	assert_string_equal(c.cluster_uid, cl1);
	ckpt_free(&c);
	/* Unknown now: nothing changes, the recorded cluster stays. */
	assert_int_equal(ckpt_store_write_cluster(f->store, pod, NULL, "", &written, &err), KC_OK);
	assert_false(written);
	assert_int_equal(ckpt_store_write(f->store, pod, NULL, &written, &err), KC_OK);
	assert_false(written);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.entries[0].cluster_uid, cl1);
	ckpt_list_free(&list);
	/* Another cluster: rewritten. A cluster that is no UUID: refused. */
	assert_int_equal(ckpt_store_write_cluster(f->store, pod, NULL, cl2, &written, &err), KC_OK);
	assert_true(written);
	assert_int_equal(ckpt_store_write_cluster(f->store, pod, NULL, "../x", &written, &err),
	                 KC_EINVAL);
	assert_int_equal(ckpt_store_load(f->store, UID1, &c, &err), KC_OK);
	assert_string_equal(c.cluster_uid, cl2);
	ckpt_free(&c);
	json_decref(pod);
}

/* The Gone_ mark: listed with its checkpoint, removed with it, never a symlink. */
static void test_gone_mark(void **state)
{
	struct fixture *f = *state;
	json_t *pod = make_pod(UID1, "img:1", "Running", "1");
	struct ckpt_list list;
	struct kc_error err;
	char path[1200], target[1200];

	write_ok(f, pod, NULL, true);
	assert_int_equal(ckpt_store_mark_gone(f->store, UID1, true, &err), KC_OK);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_true(list.entries[0].gone);
	ckpt_list_free(&list);
	assert_int_equal(ckpt_store_mark_gone(f->store, UID1, false, &err), KC_OK);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_false(list.entries[0].gone);
	ckpt_list_free(&list);
	/* A symlink in its place is no mark. */
	snprintf(path, sizeof(path), "%s/Gone_%s", f->pods, UID1);
	snprintf(target, sizeof(target), "%s/x", f->dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(ckpt_store_list(f->store, &list, &err), KC_OK);
	assert_false(list.entries[0].gone);
	ckpt_list_free(&list);
	unlink(path);
	/* Deleting the checkpoint removes its mark. */
	assert_int_equal(ckpt_store_mark_gone(f->store, UID1, true, &err), KC_OK);
	assert_int_equal(ckpt_store_delete(f->store, UID1, &err), KC_OK);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(ckpt_store_mark_gone(f->store, "../x", true, &err), KC_EINVAL);
	json_decref(pod);
}

static void test_uid_validation(void **state)
{
	assert_true(k8s_uuid_valid(UID1));
	assert_false(k8s_uuid_valid(""));
	assert_false(k8s_uuid_valid("0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2"));
	assert_false(k8s_uuid_valid("0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2ff"));
	assert_false(k8s_uuid_valid("0b8f4a52x3c1e-4d2a-9f1e-7a6b5c4d3e2f"));
	assert_false(k8s_uuid_valid("0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e/f"));
}

/* Round trip every pod of the real fixtures; their churn fields never rewrite. */
static void test_fixture_pods_round_trip(void **state)
{
	static const char *const fixtures[] = {
	    "01-kube-proxy-kind-daemonset.json",
	    "04-kube-proxy-kubesphere-daemonset-managedfields.json",
	    "09-openshift-sdn-controller-daemonset.json",
	    "12-etcd-kubesphere-mirror-pod-managedfields.json",
	    "13-etcd-openshift-4.8-mirror-pod.yaml",
	    "22-local-path-provisioner-podlist-wrapper.json",
	    "24-list-wrapper-two-pods.yaml",
	};
	struct fixture *f = *state;
	size_t pods = 0;

	for (size_t k = 0; k < sizeof(fixtures) / sizeof(fixtures[0]); k++) {
		size_t len, i, j;
		char *text = tu_read_file(tu_fixture(fixtures[k]), &len);
		json_t *docs, *doc, *items, *pod;
		struct kc_error err;

		assert_non_null(text);
		if (doc_parse(text, len, fixtures[k], &docs, &err) != KC_OK)
			fail_msg("%s", err.msg);
		json_array_foreach(docs, i, doc)
		{
			items = json_object_get(doc, "items");
			if (items == NULL)
				items = json_pack("[O]", doc);
			else
				json_incref(items);
			json_array_foreach(items, j, pod)
			{
				const char *uid = json_string_value(
				    json_object_get(json_object_get(pod, "metadata"), "uid"));
				struct ckpt c;
				char path[PATH_MAX];
				struct stat st;

				if (uid == NULL || !k8s_uuid_valid(uid))
					continue;
				write_ok(f, pod, NULL, true);
				assert_int_equal(ckpt_store_load(f->store, uid, &c, &err), KC_OK);
				if (!json_equal(c.pod, pod))
					fail_msg("%s: pod %s does not round-trip", fixtures[k],
					         uid);
				ckpt_free(&c);
				file_path(f, uid, path, sizeof(path));
				assert_int_equal(stat(path, &st), 0);
				json_t *churn = json_deep_copy(pod);
				json_t *meta = json_object_get(churn, "metadata");
				json_object_set_new(meta, "resourceVersion", json_string("999999"));
				json_object_set_new(meta, "managedFields", json_array());
				json_object_set_new(churn, "status",
				                    json_pack("{s:s}", "phase", "Unknown"));
				write_ok(f, churn, NULL, false);
				assert_same_file(&st, path);
				json_decref(churn);
				pods++;
			}
			json_decref(items);
		}
		json_decref(docs);
		free(text);
	}
	assert_true(pods >= 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flipped_byte_is_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_is_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_replaced_by_good_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_of_other_uid_is_corrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_names_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_churn_does_not_rewrite, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_touches_nothing, setup, teardown),
	    cmocka_unit_test(test_uid_validation),
	    cmocka_unit_test_setup_teardown(test_cluster_uid_recorded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gone_mark, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fixture_pods_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
