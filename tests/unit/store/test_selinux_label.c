/*
 * test_selinux_label.c: with SELinux enabled, materialised volume trees are
 * labelled container_file_t at the parent's level (else s0), as the
 * security.selinux extended attribute; a tree labelled otherwise is
 * rebuilt, one already right is left alone; with SELinux disabled nothing is
 * labelled. The level is taken from seLinuxOptions only when it looks like
 * one.
 *
 * libselinux's is_selinux_enabled, fsetfilecon_raw and fgetfilecon_raw are
 * replaced by the definitions below (the linker binds a program's own
 * symbols first), so no SELinux kernel is needed: the setter writes the
 * same extended attribute libselinux writes, and records each call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "materialise.h"
#include "selinux_label.h"
#include "testutil.h"

#define UID1  "0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f"
#define XATTR "security.selinux"

static int fake_enabled;
static int fake_unsupported; /* the file system takes no labels: ENOTSUP */
static int fake_set_errno;   /* the setter fails with this errno (0: it works) */
static int set_calls, get_calls;
static char last_set_path[PATH_MAX];

int is_selinux_enabled(void)
{
	return fake_enabled;
}

int fsetfilecon_raw(int fd, const char *con)
{
	char link[64];
	ssize_t n;

	set_calls++;
	if (fake_set_errno != 0) {
		errno = fake_set_errno;
		return -1;
	}
	if (fake_unsupported) {
		errno = ENOTSUP;
		return -1;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, last_set_path, sizeof(last_set_path) - 1);
	last_set_path[n > 0 ? n : 0] = '\0';
	/* What libselinux does: the context, NUL included, as security.selinux. */
	return fsetxattr(fd, XATTR, con, strlen(con) + 1, 0);
}

int fgetfilecon_raw(int fd, char **con)
{
	char buf[SELINUX_CONTEXT_MAX];
	ssize_t n;

	get_calls++;
	if (fake_unsupported) {
		errno = ENOTSUP;
		return -1;
	}
	if ((n = fgetxattr(fd, XATTR, buf, sizeof(buf) - 1)) < 0)
		return -1;
	buf[n] = '\0';
	*con = strdup(buf);
	return *con != NULL ? (int)n : -1;
}

static struct vp_file files[] = {
    {.path = "ca.crt", .data = (unsigned char *)"CA", .len = 2, .mode = 0644},
    {.path = "sub/dir/token", .data = (unsigned char *)"x", .len = 1, .mode = 0600},
};
static struct vp_volume volumes[] = {{.name = "conf", .files = files, .nfiles = 2}};

static struct vp_plan plan_with(char *level)
{
	return (struct vp_plan){.uid = UID1,
	                        .volumes = volumes,
	                        .nvolumes = 1,
	                        .uid_owner = -1,
	                        .gid_owner = -1,
	                        .selinux_level = level};
}

/* The label on <dir>/volumes/<uid>/conf/<rel>, "" when none. */
static const char *label_of(const char *dir, const char *rel)
{
	static char buf[SELINUX_CONTEXT_MAX];
	char path[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/volumes/" UID1 "/conf%s%s", dir, rel[0] ? "/" : "", rel);
	n = lgetxattr(path, XATTR, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void reset(int enabled)
{
	fake_enabled = enabled;
	fake_unsupported = 0;
	fake_set_errno = 0;
	set_calls = get_calls = 0;
}

static void test_enabled_labels_every_entry(void **state)
{
	static const char *const rels[] = {"", "ca.crt", "sub", "sub/dir", "sub/dir/token"};
	struct vp_plan plan = plan_with(NULL);
	struct mat_result res;
	struct kc_error err;
	char *dir = tu_mkdtemp();

	if (geteuid() != 0)
		skip(); /* security.* attributes need root without an SELinux kernel */
	reset(1);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 1);
	for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++)
		assert_string_equal(label_of(dir, rels[i]),
		                    "system_u:object_r:container_file_t:s0");
	assert_int_equal(set_calls, 5);
	/* The label is set on the build, before the swap publishes it. */
	assert_non_null(strstr(last_set_path, "/.conf.tmp-"));

	/* Already right: left alone, nothing set again. */
	reset(1);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_kept, 1);
	assert_int_equal(set_calls, 0);
	assert_true(get_calls > 0);
	tu_rmrf(dir);
	free(dir);
}

static void test_level_from_the_pod_and_relabel(void **state)
{
	char level[] = "s0:c123,c456";
	struct vp_plan plain = plan_with(NULL), mcs = plan_with(level);
	struct mat_result res;
	struct kc_error err;
	char *dir = tu_mkdtemp();

	if (geteuid() != 0)
		skip();
	reset(1);
	assert_int_equal(materialise_plan(dir, &plain, &res, &err), KC_OK);
	/* Same files, another level: the tree is rebuilt with the pod's level. */
	assert_int_equal(materialise_plan(dir, &mcs, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 1);
	assert_string_equal(label_of(dir, ""), "system_u:object_r:container_file_t:s0:c123,c456");
	assert_string_equal(label_of(dir, "sub/dir/token"),
	                    "system_u:object_r:container_file_t:s0:c123,c456");
	/* Enabled after the tree was made unlabelled: rebuilt, labelled. */
	tu_rmrf(dir);
	reset(0);
	assert_int_equal(materialise_plan(dir, &plain, &res, &err), KC_OK);
	assert_string_equal(label_of(dir, "ca.crt"), "");
	reset(1);
	assert_int_equal(materialise_plan(dir, &plain, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 1);
	assert_string_equal(label_of(dir, "ca.crt"), "system_u:object_r:container_file_t:s0");
	tu_rmrf(dir);
	free(dir);
}

static void test_disabled_does_nothing(void **state)
{
	char level[] = "s0:c1,c2";
	struct vp_plan plan = plan_with(level);
	struct mat_result res;
	struct kc_error err;
	char out[SELINUX_CONTEXT_MAX] = "junk";
	char *dir = tu_mkdtemp();

	reset(0);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_kept, 1);
	assert_int_equal(set_calls, 0);
	assert_int_equal(get_calls, 0);
	assert_string_equal(label_of(dir, "ca.crt"), "");
	selinux_volume_context("s0", out, sizeof(out));
	assert_string_equal(out, "");
	/* is_selinux_enabled() < 0 (cannot tell) is not "enabled" either. */
	reset(-1);
	selinux_volume_context("s0", out, sizeof(out));
	assert_string_equal(out, "");
	tu_rmrf(dir);
	free(dir);
}

/* A file system without label support: checkpoints go on, unlabelled, and a
 * kept tree is not rebuilt at every write. */
static void test_no_label_support_is_not_fatal(void **state)
{
	struct vp_plan plan = plan_with(NULL);
	struct mat_result res;
	struct kc_error err;
	char *dir = tu_mkdtemp();

	reset(1);
	fake_unsupported = 1;
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_written, 1);
	assert_true(set_calls > 0);
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_OK);
	assert_int_equal(res.volumes_kept, 1);
	tu_rmrf(dir);
	free(dir);
}

static void test_label_failure_is_an_error(void **state)
{
	struct vp_plan plan = plan_with(NULL);
	struct mat_result res;
	struct kc_error err;
	char *dir = tu_mkdtemp();

	reset(1);
	fake_set_errno = EACCES; /* e.g. a policy that forbids relabelling */
	/* The error names the file and the label; nothing half-built stays. */
	assert_int_equal(materialise_plan(dir, &plan, &res, &err), KC_EIO);
	assert_non_null(strstr(err.msg, ".conf.tmp-"));
	assert_non_null(strstr(err.msg, "container_file_t"));
	assert_string_equal(label_of(dir, ""), "");
	tu_rmrf(dir);
	free(dir);
}

/* seLinuxOptions.level reaches the plan only when it looks like a level. */
static void test_level_from_pod_spec(void **state)
{
	static const struct {
		const char *level;
		const char *want;
	} cases[] = {
	    {"s0:c123,c456", "s0:c123,c456"},
	    {"s0-s0:c0.c1023", "s0-s0:c0.c1023"},
	    {"s0", "s0"},
	    {"s0:c1 c2", NULL},
	    {"s0;c1", NULL},
	    {"x0", NULL},
	    {"", NULL},
	    {NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = json_pack("{s:{s:s, s:s, s:s}, s:{s:[]}}", "metadata", "uid", UID1,
		                        "namespace", "kube-system", "name", "p", "spec", "volumes");
		struct vp_plan plan;
		struct kc_error err;
		struct kc_objects *objs = kc_objects_new();

		if (cases[i].level != NULL)
			json_object_set_new(
			    json_object_get(pod, "spec"), "securityContext",
			    json_pack("{s:{s:s}}", "seLinuxOptions", "level", cases[i].level));
		memset(&plan, 0, sizeof(plan));
		assert_int_equal(volume_plan_build(pod, objs, &plan, &err), KC_OK);
		if (cases[i].want == NULL)
			assert_null(plan.selinux_level);
		else
			assert_string_equal(plan.selinux_level, cases[i].want);
		volume_plan_free(&plan);
		kc_objects_free(objs);
		json_decref(pod);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enabled_labels_every_entry),
	    cmocka_unit_test(test_level_from_the_pod_and_relabel),
	    cmocka_unit_test(test_disabled_does_nothing),
	    cmocka_unit_test(test_no_label_support_is_not_fatal),
	    cmocka_unit_test(test_label_failure_is_an_error),
	    cmocka_unit_test(test_level_from_pod_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
