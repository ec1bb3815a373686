/*
 * kc_log.c: stderr logging with journald priority prefixes (see kc_log.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kc_log.h"

/* The one piece of process-wide logging state: set once at start-up. */
static struct {
	int verbosity;
	int journald;
} log_conf;

/* JOURNAL_STREAM is "<dev>:<ino>" of the stream journald reads. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
kc_log_init(int verbosity)
{
	log_conf.verbosity = verbosity;
	log_conf.journald = stderr_is_journal();
}

static const char *
level_name(enum kc_log_level level)
{
	switch (level) {
	case KC_LOG_ERR:
		return "error";
	case KC_LOG_WARNING:
		return "warning";
	case KC_LOG_NOTICE:
		return "notice";
	case KC_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
kc_vlog(enum kc_log_level level, const char *fmt, va_list ap)
{
	char line[2048];

	if (level == KC_LOG_DEBUG && log_conf.verbosity < 1)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_conf.journald)
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	else
		fprintf(stderr, "kubelet-checkpoint: %s: %s\n", level_name(level), line);
}

void
kc_log(enum kc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kc_vlog(level, fmt, ap);
	va_end(ap);
}
