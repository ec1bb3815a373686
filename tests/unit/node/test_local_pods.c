/*
 * test_local_pods.c: pod UIDs from fake cgroup trees of every layout:
 * cgroup v2 and v1, systemd and cgroupfs drivers, every QoS class; no
 * hierarchy and unreadable ones are UNKNOWN, never "nothing running".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local_pods.h"
#include "testutil.h"

#define UID_G "11111111-2222-4333-8444-555555555555"
#define UID_B "aaaaaaaa-2222-4333-8444-555555555555"
#define UID_E "bbbbbbbb-2222-4333-8444-555555555555"
#define UID_S "0123456789abcdef0123456789abcdef" /* a static pod's hash UID */

static void mkdirs(const char *root, const char *rel)
{
	char path[2 * PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			mkdir(path, 0755);
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
}

static void touch(const char *root, const char *rel)
{
	char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	tu_write_file(path, "", 0, 0644);
}

/* "-" to "_" as the systemd driver writes it. */
static const char *escaped(const char *uid)
{
	static char buf[4][LOCAL_POD_UID_MAX + 1];
	static int n;
	char *out = buf[n++ % 4];
	size_t i;

	for (i = 0; uid[i]; i++)
		out[i] = uid[i] == '-' ? '_' : uid[i];
	out[i] = '\0';
	return out;
}

static void systemd_tree(const char *root, const char *base)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/kubepods.slice/kubepods-pod%s.slice/cri-containerd-x.scope",
	         base, escaped(UID_G));
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel),
	         "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice", base,
	         escaped(UID_B));
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel),
	         "%s/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice",
	         base, escaped(UID_E));
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel),
	         "%s/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice",
	         base, UID_S);
	mkdirs(root, rel);
	/* Noise: control files, a file that looks like a pod, foreign slices. */
	snprintf(rel, sizeof(rel), "%s/kubepods.slice/cgroup.procs", base);
	touch(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods.slice/kubepods-podfeedface.slice.bak", base);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel),
	         "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podcafe.slice",
	         base);
	touch(root, rel);
	snprintf(rel, sizeof(rel),
	         "%s/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podXYZ.slice",
	         base);
	mkdirs(root, rel);
}

static void cgroupfs_tree(const char *root, const char *base)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/kubepods/pod%s/0123abcd", base, UID_G);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods/burstable/pod%s", base, UID_B);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods/besteffort/pod%s", base, UID_E);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods/besteffort/pod%s", base, UID_S);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods/burstable/cgroup.procs", base);
	touch(root, rel);
	snprintf(rel, sizeof(rel), "%s/kubepods/burstable/pod", base);
	mkdirs(root, rel); /* empty uid */
}

static void expect_all_four(const char *root)
{
	struct local_pods lp = {0};
	struct kc_error err;

	assert_int_equal(local_pods_scan(root, &lp, &err), KC_OK);
	assert_int_equal(lp.state, LOCAL_PODS_KNOWN);
	assert_int_equal(lp.count, 4);
	/* Sorted, '-' form. */
	assert_string_equal(lp.pods[0].uid, UID_S);
	assert_string_equal(lp.pods[1].uid, UID_G);
	assert_string_equal(lp.pods[2].uid, UID_B);
	assert_string_equal(lp.pods[3].uid, UID_E);
	assert_true(local_pods_contains(&lp, UID_G));
	assert_true(local_pods_contains(&lp, UID_B));
	assert_true(local_pods_contains(&lp, UID_E));
	assert_true(local_pods_contains(&lp, UID_S));
	assert_false(local_pods_contains(&lp, "cccccccc-2222-4333-8444-555555555555"));
	assert_false(local_pods_contains(&lp, escaped(UID_G)));
	local_pods_free(&lp);
}

static void test_layout(const char *base, void (*build)(const char *, const char *))
{
	char *root = tu_mkdtemp();

	if (base[0] != '\0')
		mkdirs(root, "unified"); /* a hybrid host's v2 mount: not where pods are */
	build(root, base);
	expect_all_four(root);
	tu_rmrf(root);
	free(root);
}

static void test_v2_systemd(void **state)
{
	test_layout("", systemd_tree);
}

static void test_v2_cgroupfs(void **state)
{
	test_layout("", cgroupfs_tree);
}

static void test_v1_systemd(void **state)
{
	test_layout("memory", systemd_tree);
	test_layout("cpu,cpuacct", systemd_tree);
	test_layout("pids", systemd_tree);
}

static void test_v1_cgroupfs(void **state)
{
	test_layout("memory", cgroupfs_tree);
	test_layout("cpu", cgroupfs_tree);
}

/* A hybrid host whose kubepods tree is only in the v2 mount ("unified"). */
static void test_hybrid_unified(void **state)
{
	char *root = tu_mkdtemp();

	mkdirs(root, "memory/user.slice");
	systemd_tree(root, "unified");
	expect_all_four(root);
	tu_rmrf(root);
	free(root);
}

static void test_both_drivers_count(void **state)
{
	char *root = tu_mkdtemp();
	struct local_pods lp = {0};

	mkdirs(root, "kubepods.slice/kubepods-pod" UID_S ".slice");
	mkdirs(root, "kubepods/burstable/pod" UID_B);
	mkdirs(root, "kubepods/pod" UID_S); /* same uid twice: once in the set */
	assert_int_equal(local_pods_scan(root, &lp, NULL), KC_OK);
	assert_int_equal(lp.count, 2);
	assert_true(local_pods_contains(&lp, UID_S));
	assert_true(local_pods_contains(&lp, UID_B));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_empty_hierarchy_is_known_nothing(void **state)
{
	char *root = tu_mkdtemp();
	struct local_pods lp = {0};

	mkdirs(root, "kubepods.slice"); /* kubelet up, no pods, no QoS slices yet */
	assert_int_equal(local_pods_scan(root, &lp, NULL), KC_OK);
	assert_int_equal(lp.state, LOCAL_PODS_KNOWN);
	assert_int_equal(lp.count, 0);
	assert_false(local_pods_contains(&lp, UID_G));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_no_hierarchy_is_unknown(void **state)
{
	char *root = tu_mkdtemp(), missing[PATH_MAX];
	struct local_pods lp = {0};
	struct kc_error err;

	mkdirs(root, "system.slice/kubelet.service");
	mkdirs(root, "memory/user.slice");
	assert_int_equal(local_pods_scan(root, &lp, &err), KC_ENOTFOUND);
	assert_int_equal(lp.state, LOCAL_PODS_UNKNOWN);
	assert_non_null(strstr(err.msg, "no kubepods"));
	snprintf(missing, sizeof(missing), "%s/nope", root);
	assert_int_equal(local_pods_scan(missing, &lp, &err), KC_ENOTFOUND);
	assert_int_equal(lp.state, LOCAL_PODS_UNKNOWN);
	/* A file where the hierarchy should be is no hierarchy either. */
	touch(root, "kubepods");
	assert_int_equal(local_pods_scan(root, &lp, &err), KC_ENOTFOUND);
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_unreadable_is_unknown(void **state)
{
	char *root = tu_mkdtemp(), dir[PATH_MAX];
	struct local_pods lp = {0};
	struct kc_error err;

	mkdirs(root, "kubepods.slice/kubepods-pod" UID_S ".slice");
	/* A QoS slice that cannot be read (works as root too: not a directory). */
	touch(root, "kubepods.slice/kubepods-burstable.slice");
	/* Partial knowledge is no knowledge: it would hide a running pod. */
	assert_int_equal(local_pods_scan(root, &lp, &err), KC_EIO);
	assert_int_equal(lp.state, LOCAL_PODS_UNKNOWN);
	assert_int_equal(lp.count, 0);
	assert_false(local_pods_contains(&lp, UID_S));
	assert_non_null(strstr(err.msg, "kubepods-burstable.slice"));
	snprintf(dir, sizeof(dir), "%s/kubepods.slice/kubepods-burstable.slice", root);
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(local_pods_scan(root, &lp, &err), KC_OK);
	assert_int_equal(lp.count, 1);
	if (geteuid() != 0) {
		/* Permission denied on the top directory. */
		snprintf(dir, sizeof(dir), "%s/kubepods.slice", root);
		assert_int_equal(chmod(dir, 0), 0);
		assert_int_equal(local_pods_scan(root, &lp, &err), KC_EIO);
		assert_int_equal(lp.state, LOCAL_PODS_UNKNOWN);
		chmod(dir, 0755);
	}
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_rescan_reuses_and_many_pods(void **state)
{
	char *root = tu_mkdtemp(), rel[PATH_MAX];
	struct local_pods lp = {0};
	int i;

	for (i = 0; i < 300; i++) {
		snprintf(rel, sizeof(rel),
		         "kubepods/besteffort/pod%08x-0000-4000-8000-000000000000", 299 - i);
		mkdirs(root, rel);
	}
	assert_int_equal(local_pods_scan(root, &lp, NULL), KC_OK);
	assert_int_equal(lp.count, 300);
	for (i = 1; i < 300; i++)
		assert_true(strcmp(lp.pods[i - 1].uid, lp.pods[i].uid) < 0);
	assert_int_equal(local_pods_scan(root, &lp, NULL), KC_OK);
	assert_int_equal(lp.count, 300);
	assert_true(local_pods_contains(&lp, "0000012b-0000-4000-8000-000000000000"));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

/* kind's layout: cgroupRoot /kubelet, systemd driver. */
static void test_custom_cgroup_root_systemd(void **state)
{
	char *root = tu_mkdtemp();
	struct local_pods_layout lay, lay2;
	struct local_pods lp = {0};
	struct kc_error err;

	mkdirs(root, "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	             "kubelet-kubepods-besteffort-pod" UID_S ".slice");
	mkdirs(root, "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" UID_S ".slice");
	/* The default layout does not see it: that was the bug. */
	assert_int_equal(local_pods_scan(root, &lp, &err), KC_ENOTFOUND);
	assert_int_equal(local_pods_layout_parse("/kubelet", "systemd", true, &lay, &err), KC_OK);
	assert_int_equal(lay.ncomponents, 1);
	assert_int_equal(local_pods_scan_layout(root, &lay, &lp, &err), KC_OK);
	assert_int_equal(lp.count, 1);
	assert_true(local_pods_contains(&lp, UID_S));
	/* The same root spelt as a slice. */
	assert_int_equal(local_pods_layout_parse("/kubelet.slice", "systemd", true, &lay2, &err),
	                 KC_OK);
	assert_int_equal(local_pods_scan_layout(root, &lay2, &lp, &err), KC_OK);
	assert_int_equal(lp.count, 1);
	/* Told cgroupfs, the systemd tree is not read. */
	assert_int_equal(local_pods_layout_parse("/kubelet", "cgroupfs", true, &lay, &err), KC_OK);
	assert_int_equal(local_pods_scan_layout(root, &lay, &lp, &err), KC_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/kubelet"));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_custom_cgroup_root_cgroupfs_nested(void **state)
{
	char *root = tu_mkdtemp();
	struct local_pods_layout lay;
	struct local_pods lp = {0};
	struct kc_error err;

	mkdirs(root, "memory/a/b/kubepods/burstable/pod" UID_B);
	assert_int_equal(local_pods_layout_parse("/a/b/", NULL, true, &lay, &err), KC_OK);
	assert_int_equal(lay.ncomponents, 2);
	assert_int_equal(local_pods_scan_layout(root, &lay, &lp, &err), KC_OK);
	assert_true(local_pods_contains(&lp, UID_B));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_no_per_qos_is_unknown(void **state)
{
	char *root = tu_mkdtemp();
	struct local_pods_layout lay;
	struct local_pods lp = {0};
	struct kc_error err;

	mkdirs(root, "kubepods/pod" UID_G);
	assert_int_equal(local_pods_layout_parse("/", "cgroupfs", false, &lay, &err), KC_OK);
	assert_int_equal(local_pods_scan_layout(root, &lay, &lp, &err), KC_ENOTFOUND);
	assert_int_equal(lp.state, LOCAL_PODS_UNKNOWN);
	assert_non_null(strstr(err.msg, "cgroupsPerQOS"));
	local_pods_free(&lp);
	tu_rmrf(root);
	free(root);
}

static void test_layout_parse_rejects(void **state)
{
	struct local_pods_layout lay;
	struct kc_error err;

	assert_int_equal(local_pods_layout_parse("/", "cgroupv3", true, &lay, &err), KC_EINVAL);
	assert_int_equal(local_pods_layout_parse("/a/../b", NULL, true, &lay, &err), KC_EINVAL);
	assert_int_equal(local_pods_layout_parse("/a/./b", NULL, true, &lay, &err), KC_EINVAL);
	assert_int_equal(local_pods_layout_parse(NULL, NULL, true, &lay, &err), KC_OK);
	assert_int_equal(lay.ncomponents, 0);
	assert_int_equal(lay.driver, LOCAL_PODS_DRIVER_ANY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v2_systemd),
	    cmocka_unit_test(test_custom_cgroup_root_systemd),
	    cmocka_unit_test(test_custom_cgroup_root_cgroupfs_nested),
	    cmocka_unit_test(test_no_per_qos_is_unknown),
	    cmocka_unit_test(test_layout_parse_rejects),
	    cmocka_unit_test(test_v2_cgroupfs),
	    cmocka_unit_test(test_v1_systemd),
	    cmocka_unit_test(test_v1_cgroupfs),
	    cmocka_unit_test(test_hybrid_unified),
	    cmocka_unit_test(test_both_drivers_count),
	    cmocka_unit_test(test_empty_hierarchy_is_known_nothing),
	    cmocka_unit_test(test_no_hierarchy_is_unknown),
	    cmocka_unit_test(test_unreadable_is_unknown),
	    cmocka_unit_test(test_rescan_reuses_and_many_pods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
