/*
 * test_notify.c: the sd_notify sender against a fake NOTIFY_SOCKET (an
 * AF_UNIX datagram socket in a temp dir, and one in the abstract namespace),
 * the watchdog interval from WATCHDOG_USEC/WATCHDOG_PID, and the no-op
 * behaviour outside systemd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "testutil.h"

struct fake_systemd {
	char *dir;
	char path[108];
	int fd;
};

static int bind_fake(struct fake_systemd *f, const char *name, size_t namelen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	f->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	memcpy(sa.sun_path, name, namelen);
	return bind(f->fd, (struct sockaddr *)&sa,
	            (socklen_t)(offsetof(struct sockaddr_un, sun_path) + namelen));
}

static int setup(void **state)
{
	struct fake_systemd *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	assert_int_equal(bind_fake(f, f->path, strlen(f->path)), 0);
	setenv("NOTIFY_SOCKET", f->path, 1);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake_systemd *f = *state;

	close(f->fd);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return 0;
}

/* The next datagram, without blocking (it was sent before we look). */
static void expect_datagram(int fd, const char *want)
{
	char got[4096];
	ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, want);
}

static void expect_nothing(int fd)
{
	char got[16];

	assert_int_equal(recv(fd, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_ready_status_watchdog_stopping(void **state)
{
	struct fake_systemd *f = *state;
	struct notify_conn n;
	struct kc_error err;

	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_true(notify_enabled(&n));
	assert_int_equal(notify_ready(&n, &err), KC_OK);
	expect_datagram(f->fd, "READY=1\n");
	assert_int_equal(notify_status(&n, &err, "%d checkpoints, api %s", 3, "reachable"), KC_OK);
	expect_datagram(f->fd, "STATUS=3 checkpoints, api reachable\n");
	assert_int_equal(notify_watchdog(&n, &err), KC_OK);
	expect_datagram(f->fd, "WATCHDOG=1\n");
	assert_int_equal(notify_stopping(&n, &err), KC_OK);
	expect_datagram(f->fd, "STOPPING=1\n");
	expect_nothing(f->fd);
	notify_close(&n);
	assert_false(notify_enabled(&n));
}

static void test_status_newlines_cannot_inject_fields(void **state)
{
	struct fake_systemd *f = *state;
	struct notify_conn n;
	struct kc_error err;

	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_status(&n, &err, "bad pod\nREADY=1"), KC_OK);
	expect_datagram(f->fd, "STATUS=bad pod READY=1\n");
	notify_close(&n);
}

static void test_reloading_carries_monotonic_time(void **state)
{
	struct fake_systemd *f = *state;
	struct notify_conn n;
	struct kc_error err;
	char got[256];
	unsigned long long usec;
	ssize_t len;

	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_reloading(&n, &err), KC_OK);
	len = recv(f->fd, got, sizeof(got) - 1, MSG_DONTWAIT);
	assert_true(len > 0);
	got[len] = '\0';
	assert_int_equal(sscanf(got, "RELOADING=1\nMONOTONIC_USEC=%llu\n", &usec), 1);
	assert_true(usec > 0);
	notify_close(&n);
}

static void test_abstract_socket(void **state)
{
	struct fake_systemd abstract;
	struct notify_conn n;
	struct kc_error err;
	char name[64];

	/* "@name" in NOTIFY_SOCKET is "\0name" on the wire. */
	snprintf(name, sizeof(name), "@kc-test-notify-%d", (int)getpid());
	name[0] = '\0';
	assert_int_equal(bind_fake(&abstract, name, strlen(name + 1) + 1), 0);
	name[0] = '@';
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_ready(&n, &err), KC_OK);
	expect_datagram(abstract.fd, "READY=1\n");
	notify_close(&n);
	close(abstract.fd);
}

static void test_watchdog_interval(void **state)
{
	struct notify_conn n;
	struct kc_error err;
	char pid[32];

	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_watchdog_interval_ms(&n), 0);
	notify_close(&n);

	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_watchdog_interval_ms(&n), 15000);
	notify_close(&n);

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(notify_watchdog_interval_ms(&n), 15000);
	notify_close(&n);

	/* Meant for another process (inherited environment). */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_true(notify_enabled(&n));
	assert_int_equal(notify_watchdog_interval_ms(&n), 0);
	notify_close(&n);
}

static void test_malformed_environment(void **state)
{
	struct notify_conn n;
	struct kc_error err;

	setenv("WATCHDOG_USEC", "30s", 1);
	assert_int_equal(notify_open(&n, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "WATCHDOG_USEC"));
	assert_false(notify_enabled(&n));
	unsetenv("WATCHDOG_USEC");

	setenv("WATCHDOG_USEC", "-1", 1);
	assert_int_equal(notify_open(&n, &err), KC_EINVAL);
	unsetenv("WATCHDOG_USEC");

	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(notify_open(&n, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "NOTIFY_SOCKET"));
	assert_false(notify_enabled(&n));
	/* Calls on a disabled connection stay harmless. */
	assert_int_equal(notify_ready(&n, &err), KC_OK);

	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(notify_open(&n, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "too long"));
}

static void test_outside_systemd_is_noop(void **state)
{
	struct notify_conn n;
	struct kc_error err;

	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_false(notify_enabled(&n));
	assert_int_equal(notify_ready(&n, &err), KC_OK);
	assert_int_equal(notify_status(&n, &err, "x"), KC_OK);
	assert_int_equal(notify_watchdog(&n, &err), KC_OK);
	assert_int_equal(notify_watchdog_interval_ms(&n), 0);
	notify_close(&n);
}

static void test_vanished_socket_is_an_error(void **state)
{
	struct fake_systemd *f = *state;
	struct notify_conn n;
	struct kc_error err;

	assert_int_equal(notify_open(&n, &err), KC_OK);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(notify_ready(&n, &err), KC_EIO);
	assert_non_null(strstr(err.msg, f->path));
	notify_close(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ready_status_watchdog_stopping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_newlines_cannot_inject_fields, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reloading_carries_monotonic_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abstract_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watchdog_interval, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_environment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outside_systemd_is_noop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vanished_socket_is_an_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
