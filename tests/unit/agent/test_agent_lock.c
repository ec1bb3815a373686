/*
 * test_agent_lock.c: one agent per state dir and per staticPodPath (issue 19
 * item 12). A second claim fails naming the lock and its holder; a replaced
 * staticPodPath is claimed again; a claim's crash leftovers are removed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent_lock.h"
#include "testutil.h"
#include "tu_tree.h"

static int count_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_state_dir_is_claimed_once(void **state)
{
	char *dir = tu_mkdtemp(), sd[PATH_MAX], pid[32], tmp[PATH_MAX];
	struct agent_lock a, b;
	struct kc_error err;

	(void)state;
	snprintf(sd, sizeof(sd), "%s/state", dir);
	/* A crash's leftover. */
	free(tu_put(dir, "state/pods/.Pod_u.yaml.77.0badf00d.tmp", "half"));
	snprintf(tmp, sizeof(tmp), "%s/state/pods/.Pod_u.yaml.77.0badf00d.tmp", dir);
	agent_lock_init(&a);
	agent_lock_init(&b);
	assert_int_equal(agent_lock_state(&a, sd, &err), KC_OK);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(agent_lock_state(&b, sd, &err), KC_EIO);
	assert_non_null(strstr(err.msg, "/state/lock"));
	snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(err.msg, pid));
	/* The same dir again is no new claim; released, it is free. */
	assert_int_equal(agent_lock_state(&a, sd, &err), KC_OK);
	agent_lock_release(&a);
	assert_int_equal(agent_lock_state(&b, sd, &err), KC_OK);
	agent_lock_release(&b);
	tu_rmrf(dir);
	free(dir);
}

static void test_static_dir_is_claimed_and_followed(void **state)
{
	char *dir = tu_mkdtemp(), sp[PATH_MAX], old[PATH_MAX];
	struct agent_lock a, b;
	struct kc_error err;

	(void)state;
	snprintf(sp, sizeof(sp), "%s/manifests", dir);
	snprintf(old, sizeof(old), "%s/old", dir);
	agent_lock_init(&a);
	agent_lock_init(&b);
	/* Not there yet: nothing to claim, no error. */
	assert_int_equal(agent_lock_static_dir(&a, sp, &err), KC_OK);
	assert_int_equal(mkdir(sp, 0755), 0);
	assert_int_equal(agent_lock_static_dir(&a, sp, &err), KC_OK);
	assert_int_equal(agent_lock_static_dir(&b, sp, &err), KC_EIO);
	assert_non_null(strstr(err.msg, sp));
	/* Replaced: the new directory is claimed by whoever looks first. */
	assert_int_equal(rename(sp, old), 0);
	assert_int_equal(mkdir(sp, 0755), 0);
	assert_int_equal(agent_lock_static_dir(&a, sp, &err), KC_OK);
	assert_int_equal(agent_lock_static_dir(&b, sp, &err), KC_EIO);
	assert_int_equal(agent_lock_static_dir(&b, old, &err), KC_OK);
	/* Nothing was created in the staticPodPath. */
	assert_int_equal(count_entries(sp), 0);
	agent_lock_release(&a);
	agent_lock_release(&b);
	tu_rmrf(dir);
	free(dir);
}

static void test_holder_from_proc_locks(void **state)
{
	char *dir = tu_mkdtemp(), *locks;
	char text[512];

	(void)state;
	snprintf(text, sizeof(text),
	         "1: POSIX  ADVISORY  WRITE 11 08:01:42 0 EOF\n"
	         "2: FLOCK  ADVISORY  WRITE 22 08:02:42 0 EOF\n"
	         "2: -> FLOCK  ADVISORY  WRITE 33 fd:01:42 0 EOF\n"
	         "3: FLOCK  ADVISORY  WRITE 44 fd:01:42 0 EOF\n");
	locks = tu_put(dir, "locks", text);
	assert_int_equal(agent_lock_holder(locks, makedev(0xfd, 1), 42), 44);
	assert_int_equal(agent_lock_holder(locks, makedev(8, 2), 42), 22);
	assert_int_equal(agent_lock_holder(locks, makedev(8, 1), 42), 0); /* POSIX: not ours */
	assert_int_equal(agent_lock_holder(locks, makedev(8, 2), 43), 0);
	assert_int_equal(agent_lock_holder("/nonexistent/locks", makedev(8, 2), 42), 0);
	free(locks);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_dir_is_claimed_once),
	    cmocka_unit_test(test_static_dir_is_claimed_and_followed),
	    cmocka_unit_test(test_holder_from_proc_locks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
