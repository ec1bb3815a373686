/*
 * test_materialise.c: volume directories hold exactly the plan (items, modes,
 * binary data, nested paths), are replaced whole, are left alone when they
 * already match, and a bad plan touches nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "materialise.h"
#include "testutil.h"

#define UID1 "0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f"
#define UID2 "1c9e5b63-4d2f-4e3b-8a2f-8b7c6d5e4f30"

static const unsigned char binary[] = {0x00, 0xff, 0x10, 0x00, 0x7f};

static struct vp_file conf_files[] = {
    {.path = "app.conf", .data = (unsigned char *)"level=info\n", .len = 11, .mode = 0644},
    {.path = "certs/deep/key.pem", .data = (unsigned char *)"KEY", .len = 3, .mode = 0400},
    {.path = "certs/raw.bin", .data = (unsigned char *)binary, .len = sizeof(binary), .mode = 0600},
};
static struct vp_file conf_files_v2[] = {
    {.path = "app.conf", .data = (unsigned char *)"level=debug\n", .len = 12, .mode = 0644},
    {.path = "new.txt", .data = (unsigned char *)"", .len = 0, .mode = 0640},
};
static struct vp_file sa_files[] = {
    {.path = "ca.crt", .data = (unsigned char *)"CA", .len = 2, .mode = 0644},
    {.path = "namespace", .data = (unsigned char *)"kube-system", .len = 11, .mode = 0644},
};

static struct vp_volume volumes_v1[] = {
    {.name = "conf", .files = conf_files, .nfiles = 3},
    {.name = "kube-api-access-x1", .files = sa_files, .nfiles = 2},
};
static struct vp_volume volumes_v2[] = {
    {.name = "conf", .files = conf_files_v2, .nfiles = 2},
};

static struct vp_plan plan_of(struct vp_volume *v, size_t n)
{
	return (struct vp_plan){
	    .uid = UID1, .volumes = v, .nvolumes = n, .uid_owner = -1, .gid_owner = -1};
}

static char *path_in(const char *dir, const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s/volumes/" UID1 "/%s", dir, rel);
	return buf;
}

static void assert_file(const char *dir, const char *rel, const void *data, size_t len, mode_t mode)
{
	struct stat st;
	size_t got_len;
	char *got;

	assert_int_equal(lstat(path_in(dir, rel), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
	got = tu_read_file(path_in(dir, rel), &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	free(got);
}

static void assert_absent(const char *dir, const char *rel)
{
	struct stat st;

	assert_int_not_equal(lstat(path_in(dir, rel), &st), 0);
}

/* Names in volumes/<uid>/, space separated, sorted. */
static void assert_uid_dir_holds(const char *dir, const char *want)
{
	struct dirent **list;
	char got[1024] = "";
	int n = scandir(path_in(dir, ""), &list, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
			if (got[0] != '\0')
				strcat(got, " ");
			strcat(got, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	assert_string_equal(got, want);
}

static void test_items_modes_nested_binary(void **state)
{
	char *dir = tu_mkdtemp();
	struct vp_plan plan = plan_of(volumes_v1, 2);
	struct mat_result res;
	struct kc_error err;
	struct stat st;

	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 2);
	assert_file(dir, "conf/app.conf", "level=info\n", 11, 0644);
	assert_file(dir, "conf/certs/deep/key.pem", "KEY", 3, 0400);
	assert_file(dir, "conf/certs/raw.bin", binary, sizeof(binary), 0600);
	assert_file(dir, "kube-api-access-x1/namespace", "kube-system", 11, 0644);
	assert_int_equal(stat(path_in(dir, "conf/certs/deep"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path_in(dir, "conf"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path_in(dir, ""), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_uid_dir_holds(dir, "conf kube-api-access-x1");
	tu_rmrf(dir);
	free(dir);
}

static void test_identical_plan_is_not_rewritten(void **state)
{
	char *dir = tu_mkdtemp();
	struct vp_plan plan = plan_of(volumes_v1, 2);
	struct mat_result res;
	struct kc_error err;
	struct stat before, after, fbefore, fafter;

	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(stat(path_in(dir, "conf"), &before), 0);
	assert_int_equal(stat(path_in(dir, "conf/app.conf"), &fbefore), 0);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 0);
	assert_int_equal(res.volumes_kept, 2);
	assert_int_equal(stat(path_in(dir, "conf"), &after), 0);
	assert_int_equal(stat(path_in(dir, "conf/app.conf"), &fafter), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(fbefore.st_ino, fafter.st_ino);
	assert_int_equal(fbefore.st_mtim.tv_nsec, fafter.st_mtim.tv_nsec);

	/* Someone changed a mode, or added a file: the volume is rebuilt exactly. */
	assert_int_equal(chmod(path_in(dir, "conf/app.conf"), 0666), 0);
	tu_write_file(path_in(dir, "kube-api-access-x1/token"), "stolen", 6, 0600);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 2);
	assert_file(dir, "conf/app.conf", "level=info\n", 11, 0644);
	assert_absent(dir, "kube-api-access-x1/token");
	tu_rmrf(dir);
	free(dir);
}

static void test_swap_replaces_whole_volume(void **state)
{
	char *dir = tu_mkdtemp();
	struct vp_plan v1 = plan_of(volumes_v1, 2), v2 = plan_of(volumes_v2, 1);
	struct mat_result res;
	struct kc_error err;
	struct stat before, after;

	assert_int_equal(materialise_plan(dir, &v1, &res, &err), KC_OK);
	assert_int_equal(stat(path_in(dir, "conf"), &before), 0);
	/* Leftovers of an interrupted build are cleaned, whatever they hold. */
	assert_int_equal(mkdir(path_in(dir, ".conf.tmp-1"), 0700), 0);
	tu_write_file(path_in(dir, ".conf.tmp-1/half"), "x", 1, 0600);
	assert_int_equal(materialise_plan(dir, &v2, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 1);
	assert_int_equal(res.volumes_removed, 1);
	assert_int_equal(stat(path_in(dir, "conf"), &after), 0);
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_file(dir, "conf/app.conf", "level=debug\n", 12, 0644);
	assert_file(dir, "conf/new.txt", "", 0, 0640);
	assert_absent(dir, "conf/certs");
	assert_uid_dir_holds(dir, "conf");
	tu_rmrf(dir);
	free(dir);
}

static void test_bad_plan_touches_nothing(void **state)
{
	static struct vp_file evil[] = {
	    {.path = "../../escape", .data = (unsigned char *)"x", .len = 1, .mode = 0644}};
	static struct vp_file abs[] = {
	    {.path = "/etc/x", .data = (unsigned char *)"x", .len = 1, .mode = 0644}};
	static struct vp_file empty_comp[] = {
	    {.path = "a//b", .data = (unsigned char *)"x", .len = 1, .mode = 0644}};
	struct vp_volume bad_path[] = {{.name = "conf", .files = evil, .nfiles = 1}};
	struct vp_volume bad_abs[] = {{.name = "conf", .files = abs, .nfiles = 1}};
	struct vp_volume bad_comp[] = {{.name = "conf", .files = empty_comp, .nfiles = 1}};
	struct vp_volume bad_name[] = {{.name = "..", .files = sa_files, .nfiles = 2}};
	struct vp_volume dot_name[] = {{.name = ".hidden", .files = sa_files, .nfiles = 2}};
	struct vp_volume dup[] = {{.name = "a", .files = sa_files, .nfiles = 2},
	                          {.name = "a", .files = sa_files, .nfiles = 2}};
	struct vp_volume *cases[] = {bad_path, bad_abs, bad_comp, bad_name, dot_name, dup};
	size_t ncases[] = {1, 1, 1, 1, 1, 2};
	char *dir = tu_mkdtemp(), vols[PATH_MAX];
	struct kc_error err;

	snprintf(vols, sizeof(vols), "%s/volumes", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vp_plan plan = plan_of(cases[i], ncases[i]);

		assert_int_equal(materialise_plan(dir, &plan, NULL, &err), KC_EINVAL);
		assert_int_not_equal(access(vols, F_OK), 0);
	}
	struct vp_plan baduid = plan_of(volumes_v1, 2);
	baduid.uid = "../" UID1;
	assert_int_equal(materialise_plan(dir, &baduid, NULL, &err), KC_EINVAL);
	assert_int_not_equal(access(vols, F_OK), 0);
	tu_rmrf(dir);
	free(dir);
}

static void test_ownership(void **state)
{
	char *dir = tu_mkdtemp();
	struct vp_plan plan = plan_of(volumes_v1, 2);
	struct kc_error err;
	struct stat st;

	/* Our own ids: no chown needed, works unprivileged. */
	plan.uid_owner = geteuid();
	plan.gid_owner = getegid();
	assert_int_equal(materialise_plan(dir, &plan, NULL, &err), KC_OK);
	assert_int_equal(stat(path_in(dir, "conf/certs/deep/key.pem"), &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_gid, getegid());
	/* Another uid: root chowns; anyone else gets a clear error, old content stays. */
	plan.uid_owner = geteuid() == 0 ? 4242 : geteuid() + 1;
	plan.gid_owner = geteuid() == 0 ? 4343 : -1;
	kc_code rc = materialise_plan(dir, &plan, NULL, &err);
	if (geteuid() == 0) {
		assert_int_equal(rc, KC_OK);
		assert_int_equal(stat(path_in(dir, "conf/certs/deep/key.pem"), &st), 0);
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_gid, 4343);
		assert_int_equal(stat(path_in(dir, "conf/certs"), &st), 0);
		assert_int_equal(st.st_uid, 4242);
	} else {
		assert_int_equal(rc, KC_EIO);
		assert_non_null(strstr(err.msg, "chown"));
		assert_file(dir, "conf/app.conf", "level=info\n", 11, 0644);
		assert_uid_dir_holds(dir, "conf kube-api-access-x1");
	}
	tu_rmrf(dir);
	free(dir);
}

static void test_remove_and_list_uids(void **state)
{
	char *dir = tu_mkdtemp(), p[PATH_MAX];
	struct vp_plan plan = plan_of(volumes_v1, 2);
	struct mat_uid_list list;
	struct kc_error err;

	/* No volumes dir yet: empty, and nothing created. */
	assert_int_equal(materialise_list_uids(dir, &list, &err), KC_OK);
	assert_int_equal(list.count, 0);
	assert_int_equal(materialise_remove(dir, UID1, &err), KC_OK);
	assert_int_equal(materialise_plan(dir, &plan, NULL, &err), KC_OK);
	plan.uid = UID2;
	assert_int_equal(materialise_plan(dir, &plan, NULL, &err), KC_OK);
	snprintf(p, sizeof(p), "%s/volumes/lost+found", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	/* A removal interrupted after its rename: hidden, not listed, then cleaned. */
	char leftover[PATH_MAX];
	snprintf(leftover, sizeof(leftover), "%s/volumes/." UID1 ".removing-99", dir);
	assert_int_equal(mkdir(leftover, 0700), 0);
	assert_int_equal(materialise_list_uids(dir, &list, &err), KC_OK);
	assert_int_equal(list.count, 2);
	assert_string_equal(list.uids[0], UID1);
	assert_string_equal(list.uids[1], UID2);
	mat_uid_list_free(&list);
	assert_int_equal(materialise_remove(dir, UID1, &err), KC_OK);
	assert_int_equal(materialise_remove(dir, "..", &err), KC_EINVAL);
	assert_int_not_equal(access(leftover, F_OK), 0);
	assert_int_equal(materialise_list_uids(dir, &list, &err), KC_OK);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.uids[0], UID2);
	mat_uid_list_free(&list);
	assert_int_equal(access(p, F_OK), 0);
	tu_rmrf(dir);
	free(dir);
}

/* volume_plan_build (render) then materialise_plan, as the agent does. */
static kc_code materialise_pod(const char *dir, const json_t *pod, const struct kc_objects *objs,
                               struct mat_result *res, struct kc_error *err)
{
	struct vp_plan plan;
	kc_code rc;

	memset(&plan, 0, sizeof(plan));
	if ((rc = volume_plan_build(pod, objs, &plan, err)) != KC_OK)
		return rc;
	rc = materialise_plan(dir, &plan, res, err);
	volume_plan_free(&plan);
	return rc;
}

/* From a pod and its objects, through volume_plan_build, to files on disk. */
static void test_materialise_pod_end_to_end(void **state)
{
	char *dir = tu_mkdtemp();
	json_t *pod = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:[{s:s, s:s}], s:[{s:s, s:{s:s, s:i, "
	    "s:[{s:s, s:s, s:i}]}}, {s:s, s:{s:s}}]}}",
	    "apiVersion", "v1", "kind", "Pod", "metadata", "name", "agent", "namespace",
	    "kube-system", "uid", UID2, "spec", "containers", "name", "agent", "image", "agent:1",
	    "volumes", "name", "conf", "secret", "secretName", "s", "defaultMode", 0640, "items",
	    "key", "a", "path", "sub/a.txt", "mode", 0400, "name", "cm", "configMap", "name", "c");
	json_t *secret = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}}", "apiVersion", "v1",
	                           "kind", "Secret", "metadata", "name", "s", "namespace",
	                           "kube-system", "data", "a", "QUFB", "other", "Qg==");
	json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}, s:{s:s}}", "apiVersion", "v1",
	                       "kind", "ConfigMap", "metadata", "name", "c", "namespace",
	                       "kube-system", "data", "x", "hello", "binaryData", "b", "AAH/");
	struct kc_objects *objs = kc_objects_new();
	struct mat_result res;
	struct kc_error err;
	char p[PATH_MAX];
	struct stat st;
	size_t len;
	char *got;

	assert_int_equal(kc_objects_add(objs, json_incref(secret), &err), KC_OK);
	assert_int_equal(kc_objects_add(objs, json_incref(cm), &err), KC_OK);
	if (materialise_pod(dir, pod, objs, &res, &err) != KC_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(res.volumes_written, 2);
	snprintf(p, sizeof(p), "%s/volumes/" UID2 "/conf/sub/a.txt", dir);
	got = tu_read_file(p, NULL);
	assert_string_equal(got, "AAA");
	free(got);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	snprintf(p, sizeof(p), "%s/volumes/" UID2 "/conf/other", dir);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/volumes/" UID2 "/cm/b", dir);
	got = tu_read_file(p, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "\x00\x01\xff", 3);
	free(got);
	/* Same pod again: nothing rewritten. */
	assert_int_equal(materialise_pod(dir, pod, objs, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 0);
	assert_int_equal(res.volumes_kept, 2);
	kc_objects_free(objs);
	json_decref(pod);
	json_decref(secret);
	json_decref(cm);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items_modes_nested_binary),
	    cmocka_unit_test(test_identical_plan_is_not_rewritten),
	    cmocka_unit_test(test_swap_replaces_whole_volume),
	    cmocka_unit_test(test_bad_plan_touches_nothing),
	    cmocka_unit_test(test_ownership),
	    cmocka_unit_test(test_remove_and_list_uids),
	    cmocka_unit_test(test_materialise_pod_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
