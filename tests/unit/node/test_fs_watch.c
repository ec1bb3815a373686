/*
 * test_watch.c: the flag file, the staticPodPath and the checkpoint dir are
 * watched through libinotifytools: a change is reported within a second, the
 * agent's own temp files are not, and a directory that does not exist yet is
 * picked up when it appears (and again after it is removed and re-created).
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs_watch.h"
#include "testutil.h"

struct fixture {
	char *dir;
	char flag[PATH_MAX], flagdir[PATH_MAX], stat_dir[PATH_MAX], state[PATH_MAX];
	struct fs_watch *w;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Poll and drain for up to timeout_ms, OR-ing what is reported; stops early
 * once all of want is seen. Returns every bit seen.
 */
static unsigned wait_changes(struct fs_watch *w, unsigned want, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	unsigned seen = 0, got;
	struct pollfd pfd;
	int left;

	while ((left = (int)(end - now_ms())) > 0) {
		pfd.fd = fs_watch_fd(w);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		assert_int_equal(fs_watch_drain(w, &got, NULL), KC_OK);
		seen |= got;
		if (want != 0 && (seen & want) == want)
			break;
	}
	return seen;
}

static void path_in(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < outsz);
}

static struct fixture *setup_dirs(bool create_static)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	path_in(f->flagdir, sizeof(f->flagdir), f->dir, "etc");
	path_in(f->flag, sizeof(f->flag), f->flagdir, "enabled");
	path_in(f->stat_dir, sizeof(f->stat_dir), f->dir, "a/b/manifests");
	path_in(f->state, sizeof(f->state), f->dir, "state");
	assert_int_equal(mkdir(f->flagdir, 0755), 0);
	assert_int_equal(mkdir(f->state, 0700), 0);
	if (create_static) {
		char p[PATH_MAX];

		path_in(p, sizeof(p), f->dir, "a");
		mkdir(p, 0755);
		path_in(p, sizeof(p), f->dir, "a/b");
		mkdir(p, 0755);
		assert_int_equal(mkdir(f->stat_dir, 0755), 0);
	}
	assert_int_equal(fs_watch_open(f->flag, f->stat_dir, f->state, &f->w, NULL), KC_OK);
	return f;
}

static void teardown_dirs(struct fixture *f)
{
	fs_watch_close(f->w);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
}

static void write_in(const char *dir, const char *name)
{
	char p[PATH_MAX];

	path_in(p, sizeof(p), dir, name);
	tu_write_file(p, "x: 1\n", 5, 0600);
}

static void test_flag_file_events(void **state)
{
	struct fixture *f = setup_dirs(true);
	int flags;

	flags = fcntl(fs_watch_fd(f->w), F_GETFD);
	assert_true(flags >= 0 && (flags & FD_CLOEXEC));
	assert_int_equal(wait_changes(f->w, 0, 100), 0);
	tu_write_file(f->flag, "", 0, 0644);
	assert_int_equal(wait_changes(f->w, FS_WATCH_FLAG_CHANGED, 1000), FS_WATCH_FLAG_CHANGED);
	assert_int_equal(unlink(f->flag), 0);
	assert_int_equal(wait_changes(f->w, FS_WATCH_FLAG_CHANGED, 1000), FS_WATCH_FLAG_CHANGED);
	/* Other names in the flag's directory are not the flag. */
	write_in(f->flagdir, "other.conf");
	assert_int_equal(wait_changes(f->w, 0, 200), 0);
	/* enable's atomic write: temp file then rename onto the flag. */
	write_in(f->flagdir, ".enabled.tmp");
	char tmp[PATH_MAX];
	path_in(tmp, sizeof(tmp), f->flagdir, ".enabled.tmp");
	assert_int_equal(rename(tmp, f->flag), 0);
	assert_int_equal(wait_changes(f->w, FS_WATCH_FLAG_CHANGED, 1000), FS_WATCH_FLAG_CHANGED);
	teardown_dirs(f);
}

static void test_own_temp_files_ignored(void **state)
{
	struct fixture *f = setup_dirs(true);
	char tmp[PATH_MAX];

	write_in(f->stat_dir, ".kubelet-checkpoint_kube-system_x.yaml.tmp");
	write_in(f->state, ".Pod_0f0e0d0c-0b0a-4909-8807-060504030201.yaml.tmp");
	assert_int_equal(wait_changes(f->w, 0, 300), 0);
	path_in(tmp, sizeof(tmp), f->stat_dir, ".kubelet-checkpoint_kube-system_x.yaml.tmp");
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(wait_changes(f->w, 0, 200), 0);
	/* Anything else there is reported, for the right directory. */
	write_in(f->stat_dir, "etcd.yaml");
	assert_int_equal(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000),
	                 FS_WATCH_STATIC_DIR_CHANGED);
	write_in(f->state, "Pod_0f0e0d0c-0b0a-4909-8807-060504030201.yaml");
	assert_int_equal(wait_changes(f->w, FS_WATCH_STATE_DIR_CHANGED, 1000),
	                 FS_WATCH_STATE_DIR_CHANGED);
	/* Other dotfiles are not ours: the kubelet ignores them, we report them. */
	write_in(f->stat_dir, ".swp");
	assert_int_equal(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000),
	                 FS_WATCH_STATIC_DIR_CHANGED);
	teardown_dirs(f);
}

static void test_static_dir_appears_later(void **state)
{
	struct fixture *f = setup_dirs(false);
	char p[PATH_MAX];

	assert_int_equal(wait_changes(f->w, 0, 100), 0);
	/* Unrelated activity in the watched ancestor is not a change. */
	write_in(f->dir, "unrelated");
	assert_int_equal(wait_changes(f->w, 0, 200), 0);
	path_in(p, sizeof(p), f->dir, "a");
	assert_int_equal(mkdir(p, 0755), 0);
	path_in(p, sizeof(p), f->dir, "a/b");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(f->stat_dir, 0755), 0);
	assert_true(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000) &
	            FS_WATCH_STATIC_DIR_CHANGED);
	/* Now the directory itself is watched. */
	write_in(f->stat_dir, "kube-apiserver.yaml");
	assert_int_equal(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000),
	                 FS_WATCH_STATIC_DIR_CHANGED);
	/* Removed, then re-created: reported both times, and still watched. */
	tu_rmrf(f->stat_dir);
	assert_true(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000) &
	            FS_WATCH_STATIC_DIR_CHANGED);
	assert_int_equal(wait_changes(f->w, 0, 100), 0);
	assert_int_equal(mkdir(f->stat_dir, 0755), 0);
	assert_true(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000) &
	            FS_WATCH_STATIC_DIR_CHANGED);
	write_in(f->stat_dir, "etcd.yaml");
	assert_int_equal(wait_changes(f->w, FS_WATCH_STATIC_DIR_CHANGED, 1000),
	                 FS_WATCH_STATIC_DIR_CHANGED);
	teardown_dirs(f);
}

static void test_one_watch_per_process(void **state)
{
	struct fixture *f = setup_dirs(true);
	struct fs_watch *second = NULL;
	struct kc_error err;

	assert_int_equal(fs_watch_open(f->flag, NULL, NULL, &second, &err), KC_EINTERNAL);
	assert_null(second);
	teardown_dirs(f);
	/* After close, a new one works (and NULL paths are not watched). */
	assert_int_equal(fs_watch_open(NULL, NULL, NULL, &second, &err), KC_OK);
	assert_true(fs_watch_fd(second) >= 0);
	fs_watch_close(second);
	assert_int_equal(fs_watch_open("", NULL, NULL, &second, &err), KC_EINVAL);
}

static void test_same_directory_for_two_targets(void **state)
{
	char *dir = tu_mkdtemp(), flag[PATH_MAX];
	struct fs_watch *w;

	/* Flag file inside the static dir's parent shared with the state dir. */
	path_in(flag, sizeof(flag), dir, "enabled");
	assert_int_equal(fs_watch_open(flag, dir, dir, &w, NULL), KC_OK);
	tu_write_file(flag, "", 0, 0644);
	assert_int_equal(
	    wait_changes(
	        w, FS_WATCH_FLAG_CHANGED | FS_WATCH_STATIC_DIR_CHANGED | FS_WATCH_STATE_DIR_CHANGED,
	        1000),
	    FS_WATCH_FLAG_CHANGED | FS_WATCH_STATIC_DIR_CHANGED | FS_WATCH_STATE_DIR_CHANGED);
	fs_watch_close(w);
	tu_rmrf(dir);
	free(dir);
}

static void test_relative_paths(void **state)
{
	char *dir = tu_mkdtemp(), old[PATH_MAX];
	struct fs_watch *w;

	assert_non_null(getcwd(old, sizeof(old)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(fs_watch_open("etc/enabled", "x//manifests/", "state", &w, NULL), KC_OK);
	assert_int_equal(mkdir("x", 0755), 0);
	assert_int_equal(mkdir("x/manifests", 0755), 0);
	assert_true(wait_changes(w, FS_WATCH_STATIC_DIR_CHANGED, 1000) &
	            FS_WATCH_STATIC_DIR_CHANGED);
	assert_int_equal(mkdir("etc", 0755), 0);
	tu_write_file("etc/enabled", "", 0, 0644);
	assert_true(wait_changes(w, FS_WATCH_FLAG_CHANGED, 1000) & FS_WATCH_FLAG_CHANGED);
	fs_watch_close(w);
	assert_int_equal(chdir(old), 0);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flag_file_events),
	    cmocka_unit_test(test_own_temp_files_ignored),
	    cmocka_unit_test(test_static_dir_appears_later),
	    cmocka_unit_test(test_one_watch_per_process),
	    cmocka_unit_test(test_same_directory_for_two_targets),
	    cmocka_unit_test(test_relative_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
