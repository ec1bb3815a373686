/*
 * kc_log.h: the agent's log. One line per event that matters, to stderr, with
 * "<N>" syslog priority prefixes when journald reads the stream
 * (JOURNAL_STREAM matches stderr), plain "level: message" otherwise.
 *
 * Repeated trouble is rate limited: an ERR or WARNING line (same level, same text) that was
 * already logged less than KC_LOG_REPEAT_WINDOW seconds ago is counted, not
 * printed. The next time it is due (or on kc_log_flush_repeats()) one line
 * "last message repeated N times in Ws: <text>" reports what was held back.
 * A failing apiserver or a corrupt checkpoint thus costs one line a minute,
 * not one per retry. NOTICE and INFO lines are events (an activation, a
 * checkpoint written) and are never limited, nor is DEBUG (-v means "show me all").
 *
 * The logger keeps process-wide state (configuration and the table of recent
 * lines): callers log from anywhere without a context, which is the point of
 * a logger. It is not thread-safe; the agent is a single-threaded event loop.
 */
#ifndef KC_LOG_H
#define KC_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum kc_log_level {
	KC_LOG_ERR = 3,
	KC_LOG_WARNING = 4,
	KC_LOG_NOTICE = 5,
	KC_LOG_INFO = 6,
	KC_LOG_DEBUG = 7,
};

#define KC_LOG_REPEAT_WINDOW 60 /* seconds */

/* verbosity: 0 logs up to INFO, 1 or more adds DEBUG. */
void kc_log_init(int verbosity);
void kc_log(enum kc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kc_vlog(enum kc_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Report repeats held back for lines whose window has ended; with all, for
 * every line (call it from a periodic tick, and with all=1 before exit, so no
 * count is lost). */
void kc_log_flush_repeats(int all);

/* Everything kc_log_init() sets, for tests and special callers. */
struct kc_log_opts {
	int verbosity;
	FILE *out;              /* NULL: stderr */
	int journald;           /* 1/0: force "<N>" prefixes on/off; -1: detect */
	unsigned repeat_window; /* seconds; 0: no rate limiting */
	time_t (*clock)(void);  /* NULL: CLOCK_MONOTONIC seconds */
};
void kc_log_setup(const struct kc_log_opts *opts);

#endif
