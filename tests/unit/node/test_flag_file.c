/*
 * test_flag_file.c: enable creates the file (and its directory), disable
 * removes it, both idempotent; presence is what counts.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flag_file.h"
#include "testutil.h"

static void test_enable_disable_idempotent(void **state)
{
	char *dir = tu_mkdtemp(), path[2 * PATH_MAX], sub[PATH_MAX];
	struct kc_error err;
	struct stat st;
	bool done, on;

	snprintf(sub, sizeof(sub), "%s/etc/kubelet-checkpoint", dir);
	snprintf(path, sizeof(path), "%s/enabled", sub);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_false(on);
	assert_int_equal(flag_file_enable(path, &done, &err), KC_OK);
	assert_true(done);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	char *text = tu_read_file(path, NULL);
	assert_non_null(strstr(text, "kubelet-checkpoint"));
	free(text);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_true(on);
	assert_int_equal(flag_file_enable(path, &done, &err), KC_OK);
	assert_false(done);
	assert_int_equal(flag_file_disable(path, &done, &err), KC_OK);
	assert_true(done);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(flag_file_disable(path, &done, &err), KC_OK);
	assert_false(done);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_false(on);
	tu_rmrf(dir);
	free(dir);
}

static void test_presence_is_enough(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct kc_error err;
	bool done, on;

	/* An admin's `touch` (empty file) enables; enable keeps it as it is. */
	snprintf(path, sizeof(path), "%s/enabled", dir);
	tu_write_file(path, "", 0, 0600);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_true(on);
	assert_int_equal(flag_file_enable(path, &done, &err), KC_OK);
	assert_false(done);
	char *text = tu_read_file(path, NULL);
	assert_string_equal(text, "");
	free(text);
	/* A dangling symlink is present too, and disable removes the link only. */
	unlink(path);
	assert_int_equal(symlink("/nonexistent/target", path), 0);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_true(on);
	assert_int_equal(flag_file_disable(path, &done, &err), KC_OK);
	assert_true(done);
	tu_rmrf(dir);
	free(dir);
}

static void test_missing_directory_and_bad_paths(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX];
	struct kc_error err;
	bool on;

	snprintf(path, sizeof(path), "%s/no/such/dir/enabled", dir);
	assert_int_equal(flag_file_disable(path, NULL, &err), KC_OK);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_false(on);
	assert_int_equal(flag_file_enable("", NULL, &err), KC_EINVAL);
	snprintf(path, sizeof(path), "%s/", dir);
	assert_int_equal(flag_file_enable(path, NULL, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "not a file path"));
	assert_int_equal(flag_file_disable(path, NULL, &err), KC_EINVAL);
	/* A parent that is a file: cannot enable, and says where. */
	snprintf(path, sizeof(path), "%s/file", dir);
	tu_write_file(path, "x", 1, 0644);
	snprintf(path, sizeof(path), "%s/file/enabled", dir);
	assert_int_equal(flag_file_enabled(path, &on, &err), KC_OK);
	assert_false(on);
	assert_int_not_equal(flag_file_enable(path, NULL, &err), KC_OK);
	assert_non_null(strstr(err.msg, "file"));
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enable_disable_idempotent),
	    cmocka_unit_test(test_presence_is_enough),
	    cmocka_unit_test(test_missing_directory_and_bad_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
