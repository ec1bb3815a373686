/*
 * notify.h: telling systemd how the agent is doing (Type=notify service):
 * READY=1 once the first state is on disk, STATUS= lines for
 * `systemctl status`, WATCHDOG=1 keep-alives, RELOADING=1 / STOPPING=1.
 *
 * This is a hand-written sender of the sd_notify(3) datagram protocol, not a
 * wrapper around libsystemd. The protocol is one AF_UNIX datagram of
 * "KEY=value\n" lines to $NOTIFY_SOCKET, covered by systemd's interface
 * stability promise, and needs ~60 lines. Linking libsystemd for it would pull
 * liblzma, liblz4, libzstd and libgcrypt into a root daemon (the xz backdoor of
 * 2024 reached sshd exactly that way), and one implementation means the code
 * the unit tests exercise is the code that runs.
 *
 * Outside systemd (no $NOTIFY_SOCKET) every call is a successful no-op, so
 * callers never branch on how they were started.
 */
#ifndef KC_NOTIFY_H
#define KC_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "kc_error.h"

struct notify_conn {
	int fd;                  /* -1: not under systemd, calls are no-ops */
	struct sockaddr_un addr; /* $NOTIFY_SOCKET; '@' means abstract namespace */
	socklen_t addrlen;
	uint64_t watchdog_usec; /* WatchdogSec= for this process; 0: no watchdog */
};

/*
 * Read $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog counts
 * only when WATCHDOG_PID is unset or names this process). A malformed
 * variable is KC_EINVAL and leaves n disabled; absent ones are not an error.
 */
kc_code notify_open(struct notify_conn *n, struct kc_error *err);
void notify_close(struct notify_conn *n);
bool notify_enabled(const struct notify_conn *n);

kc_code notify_ready(struct notify_conn *n, struct kc_error *err);
/* STATUS=<text>; newlines in the text become spaces (they separate fields). */
kc_code notify_status(struct notify_conn *n, struct kc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* WATCHDOG=1. Send it every notify_watchdog_interval_ms(). */
kc_code notify_watchdog(struct notify_conn *n, struct kc_error *err);
/* Half of WATCHDOG_USEC in milliseconds (at least 1), or 0 without a watchdog. */
uint64_t notify_watchdog_interval_ms(const struct notify_conn *n);
/* RELOADING=1 with MONOTONIC_USEC (on SIGHUP); send notify_ready() when done. */
kc_code notify_reloading(struct notify_conn *n, struct kc_error *err);
kc_code notify_stopping(struct notify_conn *n, struct kc_error *err);

/* Send raw "KEY=value\n..." assignments; the building block of the above. */
kc_code notify_send(struct notify_conn *n, const char *assignments, struct kc_error *err);

#endif
