/*
 * test_fsutil.c: atomic writes skip identical bytes, replace content whole,
 * never follow symlinks, and clean up their temp files.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "testutil.h"

static void test_write_then_skip_identical(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct kc_error err;
	struct stat st1, st2;
	bool changed;

	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	assert_int_equal(fs_write_atomic(path, "x: 1\n", 5, 0600, &changed, &err), KC_OK);
	assert_true(changed);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0600);
	assert_int_equal(fs_write_atomic(path, "x: 1\n", 5, 0600, &changed, &err), KC_OK);
	assert_false(changed);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* Same bytes, other mode: rewritten. */
	assert_int_equal(fs_write_atomic(path, "x: 1\n", 5, 0644, &changed, &err), KC_OK);
	assert_true(changed);
	assert_int_equal(fs_write_atomic(path, "x: 2\n", 5, 0644, &changed, &err), KC_OK);
	assert_true(changed);
	char *got = tu_read_file(path, NULL);
	assert_string_equal(got, "x: 2\n");
	free(got);
	snprintf(path, sizeof(path), "%s/.a.yaml.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	tu_rmrf(dir);
	free(dir);
}

static void test_symlink_not_followed(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], target[PATH_MAX];
	struct kc_error err;
	struct stat st;
	bool changed;
	int dfd;

	snprintf(target, sizeof(target), "%s/victim", dir);
	tu_write_file(target, "precious", 8, 0644);
	snprintf(path, sizeof(path), "%s/link.yaml", dir);
	assert_int_equal(symlink(target, path), 0);
	/* A planted temp-file symlink must not redirect the write either. */
	snprintf(path, sizeof(path), "%s/.m.yaml.tmp", dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(fs_open_dir(dir, &dfd, &err), KC_OK);
	assert_int_equal(fs_write_atomic_at(dfd, dir, "m.yaml", "new", 3, 0600, &changed, &err),
	                 KC_OK);
	char *got = tu_read_file(target, NULL);
	assert_string_equal(got, "precious");
	free(got);
	struct kc_buf b;
	kc_buf_init(&b, 1024);
	assert_int_not_equal(fs_read_at(dfd, dir, "link.yaml", &b, &err), KC_OK);
	kc_buf_free(&b);
	snprintf(path, sizeof(path), "%s/link.yaml", dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	close(dfd);
	tu_rmrf(dir);
	free(dir);
}

static void test_remove_tree_keeps_symlink_targets(void **state)
{
	char *dir = tu_mkdtemp(), *outside = tu_mkdtemp(), path[PATH_MAX];
	struct kc_error err;
	int dfd;

	snprintf(path, sizeof(path), "%s/t/sub", dir);
	assert_int_equal(fs_mkdir_p(path, 0700, &err), KC_OK);
	snprintf(path, sizeof(path), "%s/t/sub/f", dir);
	tu_write_file(path, "1", 1, 0600);
	snprintf(path, sizeof(path), "%s/keep", outside);
	tu_write_file(path, "1", 1, 0600);
	snprintf(path, sizeof(path), "%s/t/out", dir);
	assert_int_equal(symlink(outside, path), 0);
	assert_int_equal(fs_open_dir(dir, &dfd, &err), KC_OK);
	assert_int_equal(fs_remove_tree_at(dfd, dir, "t", &err), KC_OK);
	snprintf(path, sizeof(path), "%s/t", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/keep", outside);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(fs_remove_tree_at(dfd, dir, "t", &err), KC_OK);
	close(dfd);
	tu_rmrf(dir);
	tu_rmrf(outside);
	free(dir);
	free(outside);
}

static void test_batch_write(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct fs_batch_entry e[3] = {
	    {.name = "a.yaml", .data = "a\n", .len = 2},
	    {.name = "b.yaml", .data = "b\n", .len = 2},
	    {.name = "bad/name", .data = "c\n", .len = 2},
	};
	struct kc_error err;
	int dfd;

	assert_int_equal(fs_open_dir(dir, &dfd, &err), KC_OK);
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	tu_write_file(path, "b\n", 2, 0600);
	/* One bad entry fails alone; the others are written, identical ones skipped. */
	assert_int_equal(fs_write_batch_at(dfd, dir, e, 3, 0600, &err), KC_EINVAL);
	assert_true(e[0].changed);
	assert_int_equal(e[0].err.code, KC_OK);
	assert_false(e[1].changed);
	assert_int_equal(e[2].err.code, KC_EINVAL);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	char *got = tu_read_file(path, NULL);
	assert_string_equal(got, "a\n");
	free(got);
	snprintf(path, sizeof(path), "%s/.a.yaml.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	/* Nothing changed: nothing written, no barrier needed. */
	assert_int_equal(fs_write_batch_at(dfd, dir, e, 2, 0600, &err), KC_OK);
	assert_false(e[0].changed);
	assert_false(e[1].changed);
	close(dfd);
	tu_rmrf(dir);
	free(dir);
}

static void test_buf_limit(void **state)
{
	struct kc_buf b;
	struct kc_error err;

	kc_buf_init(&b, 8);
	assert_int_equal(kc_buf_append(&b, "12345678", 8, &err), KC_OK);
	assert_int_equal(kc_buf_append(&b, "9", 1, &err), KC_ETOOBIG);
	assert_int_equal(b.len, 8);
	kc_buf_free(&b);
}

/*
 * Two writers of one file (two agents on a directory) must never remove or
 * rename each other's half-written temp file: a fixed temp name did both.
 */
static void test_temp_names_are_never_shared(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], a[NAME_MAX + 1], b[NAME_MAX + 1];
	struct kc_error err;
	bool changed;
	int dfd;

	(void)state;
	assert_int_equal(fs_temp_name("kubelet-checkpoint_x.yaml", a, sizeof(a), &err), KC_OK);
	assert_int_equal(fs_temp_name("kubelet-checkpoint_x.yaml", b, sizeof(b), &err), KC_OK);
	assert_string_not_equal(a, b);
	assert_memory_equal(a, ".kubelet-checkpoint_x.yaml.",
	                    strlen(".kubelet-checkpoint_x.yaml."));
	assert_string_equal(a + strlen(a) - strlen(FS_TMP_SUFFIX), FS_TMP_SUFFIX);
	/* Another writer's staged file, at the name the old code used for everyone. */
	snprintf(path, sizeof(path), "%s/.a.yaml.tmp", dir);
	tu_write_file(path, "half", 4, 0600);
	assert_int_equal(fs_open_dir(dir, &dfd, &err), KC_OK);
	assert_int_equal(fs_write_atomic_at(dfd, dir, "a.yaml", "mine\n", 5, 0600, &changed, &err),
	                 KC_OK);
	char *got = tu_read_file(path, NULL);
	assert_string_equal(got, "half");
	free(got);
	snprintf(path, sizeof(path), "%s/a.yaml", dir);
	got = tu_read_file(path, NULL);
	assert_string_equal(got, "mine\n");
	free(got);
	close(dfd);
	tu_rmrf(dir);
	free(dir);
}

/* A name as long as NAME_MAX allows still gets a temp name, its prefix kept. */
static void test_long_name_temp_keeps_prefix(void **state)
{
	char name[251], tmp[NAME_MAX + 1];
	struct kc_error err;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "kubelet-checkpoint_", strlen("kubelet-checkpoint_"));
	assert_int_equal(fs_temp_name(name, tmp, sizeof(tmp), &err), KC_OK);
	assert_true(strlen(tmp) <= NAME_MAX);
	assert_memory_equal(tmp, ".kubelet-checkpoint_", strlen(".kubelet-checkpoint_"));
}

/* Crash leftovers of a prefix go; anything else stays. */
static void test_remove_temps(void **state)
{
	static const char *const gone[] = {".Pod_u.yaml.12.0a0b0c0d.tmp", ".Pod_u.yaml.tmp"};
	static const char *const kept[] = {"Pod_u.yaml", ".Pod_u.yaml.tmp.keep", ".other.tmp",
	                                   "Pod_u.yaml.tmp"};
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct kc_error err;
	size_t i, removed;
	int dfd;

	(void)state;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, gone[i]);
		tu_write_file(path, "x", 1, 0600);
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kept[i]);
		tu_write_file(path, "x", 1, 0600);
	}
	snprintf(path, sizeof(path), "%s/.Pod_link.tmp", dir);
	assert_int_equal(symlink("Pod_u.yaml", path), 0);
	assert_int_equal(fs_open_dir(dir, &dfd, &err), KC_OK);
	assert_int_equal(fs_remove_temps_at(dfd, dir, "Pod_", &removed, &err), KC_OK);
	assert_int_equal(removed, 2);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, gone[i]);
		assert_int_not_equal(access(path, F_OK), 0);
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, kept[i]);
		assert_int_equal(access(path, F_OK), 0);
	}
	snprintf(path, sizeof(path), "%s/.Pod_link.tmp", dir);
	assert_int_equal(faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	close(dfd);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_then_skip_identical),
	    cmocka_unit_test(test_symlink_not_followed),
	    cmocka_unit_test(test_remove_tree_keeps_symlink_targets),
	    cmocka_unit_test(test_batch_write),
	    cmocka_unit_test(test_buf_limit),
	    cmocka_unit_test(test_temp_names_are_never_shared),
	    cmocka_unit_test(test_long_name_temp_keeps_prefix),
	    cmocka_unit_test(test_remove_temps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
