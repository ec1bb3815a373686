/*
 * kc_log.h: the agent's log. One line per event that matters, to stderr, with
 * "<N>" syslog priority prefixes when journald reads the stream
 * (JOURNAL_STREAM matches stderr), plain "level: message" otherwise.
 */
#ifndef KC_LOG_H
#define KC_LOG_H

#include <stdarg.h>

enum kc_log_level {
	KC_LOG_ERR = 3,
	KC_LOG_WARNING = 4,
	KC_LOG_NOTICE = 5,
	KC_LOG_INFO = 6,
	KC_LOG_DEBUG = 7,
};

/* verbosity: 0 logs up to INFO, 1 or more adds DEBUG. */
void kc_log_init(int verbosity);
void kc_log(enum kc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kc_vlog(enum kc_log_level level, const char *fmt, va_list ap);

#endif
