/*
 * notify.c: the sd_notify(3) datagram protocol, written out (notify.h says
 * why not libsystemd).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_clock.h"
#include "notify.h"

#define NOTIFY_MSG_MAX 4096

static kc_code parse_u64(const char *name, const char *s, uint64_t *out, struct kc_error *err)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
		return kc_fail(err, KC_EINVAL, "$%s: not a decimal number: \"%s\"", name, s);
	*out = v;
	return KC_OK;
}

/* WATCHDOG_USEC counts for us only if WATCHDOG_PID is unset or our pid (a
 * variable inherited by a child must not make the child ping for us). */
static kc_code read_watchdog(uint64_t *usec, struct kc_error *err)
{
	const char *us = getenv("WATCHDOG_USEC"), *ps = getenv("WATCHDOG_PID");
	uint64_t v, pid;

	*usec = 0;
	if (us == NULL)
		return KC_OK;
	if (parse_u64("WATCHDOG_USEC", us, &v, err) != KC_OK)
		return err != NULL ? err->code : KC_EINVAL;
	if (ps != NULL) {
		if (parse_u64("WATCHDOG_PID", ps, &pid, err) != KC_OK)
			return err != NULL ? err->code : KC_EINVAL;
		if (pid != (uint64_t)getpid())
			return KC_OK;
	}
	*usec = v;
	return KC_OK;
}

/* "/path" or "@abstract"; anything else (vsock:...) is not for us. */
static kc_code set_address(struct notify_conn *n, const char *sock, struct kc_error *err)
{
	size_t len = strlen(sock);

	if ((sock[0] != '/' && sock[0] != '@') || len < 2)
		return kc_fail(err, KC_EINVAL, "$NOTIFY_SOCKET: \"%s\": not an AF_UNIX socket path",
		               sock);
	if (len > sizeof(n->addr.sun_path) - (sock[0] == '/'))
		return kc_fail(err, KC_EINVAL, "$NOTIFY_SOCKET: \"%s\": path too long", sock);
	memset(&n->addr, 0, sizeof(n->addr));
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, sock, len);
	if (sock[0] == '@')
		n->addr.sun_path[0] = '\0';
	n->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return KC_OK;
}

kc_code notify_open(struct notify_conn *n, struct kc_error *err)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	uint64_t wd;
	kc_code rc;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (sock == NULL || sock[0] == '\0')
		return KC_OK;
	if ((rc = read_watchdog(&wd, err)) != KC_OK)
		return rc;
	if ((rc = set_address(n, sock, err)) != KC_OK)
		return rc;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return kc_fail_errno(err, KC_EIO, errno, "notify socket");
	n->watchdog_usec = wd;
	return KC_OK;
}

void notify_close(struct notify_conn *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

bool notify_enabled(const struct notify_conn *n)
{
	return n->fd >= 0;
}

kc_code notify_send(struct notify_conn *n, const char *assignments, struct kc_error *err)
{
	size_t len = strlen(assignments);
	ssize_t sent;

	if (n->fd < 0)
		return KC_OK;
	sent = sendto(n->fd, assignments, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr,
	              n->addrlen);
	if (sent < 0)
		return kc_fail_errno(
		    err, KC_EIO, errno, "sd_notify to %s%s", n->addr.sun_path[0] == '\0' ? "@" : "",
		    n->addr.sun_path[0] == '\0' ? n->addr.sun_path + 1 : n->addr.sun_path);
	if ((size_t)sent != len)
		return kc_fail(err, KC_EIO, "sd_notify: short datagram (%zd of %zu bytes)", sent,
		               len);
	return KC_OK;
}

kc_code notify_ready(struct notify_conn *n, struct kc_error *err)
{
	return notify_send(n, "READY=1\n", err);
}

kc_code notify_status(struct notify_conn *n, struct kc_error *err, const char *fmt, ...)
{
	char msg[NOTIFY_MSG_MAX];
	va_list ap;
	int off = snprintf(msg, sizeof(msg), "STATUS=");
	char *p;

	if (n->fd < 0)
		return KC_OK;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - (size_t)off - 1, fmt, ap);
	va_end(ap);
	for (p = msg + off; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	*p++ = '\n';
	*p = '\0';
	return notify_send(n, msg, err);
}

kc_code notify_watchdog(struct notify_conn *n, struct kc_error *err)
{
	return notify_send(n, "WATCHDOG=1\n", err);
}

uint64_t notify_watchdog_interval_ms(const struct notify_conn *n)
{
	uint64_t ms = n->watchdog_usec / 2000;

	if (n->fd < 0 || n->watchdog_usec == 0)
		return 0;
	return ms > 0 ? ms : 1;
}

kc_code notify_reloading(struct notify_conn *n, struct kc_error *err)
{
	char msg[96];

	/* MONOTONIC_USEC lets systemd (Type=notify-reload) match the reload. */
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\n", kc_clock_us());
	return notify_send(n, msg, err);
}

kc_code notify_stopping(struct notify_conn *n, struct kc_error *err)
{
	return notify_send(n, "STOPPING=1\n", err);
}
