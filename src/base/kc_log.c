/*
 * kc_log.c: stderr logging with journald priority prefixes and rate limiting
 * of repeated lines (see kc_log.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kc_clock.h"
#include "kc_hash.h"
#include "kc_log.h"

#define LINE_MAX_BYTES 2048
/* Distinct recent lines remembered; a failing agent repeats a handful. */
#define REPEAT_SLOTS 16

struct repeat_slot {
	uint64_t hash; /* of level and text; 0: slot unused */
	enum kc_log_level level;
	time_t printed_at;  /* when the line (or its summary) last went out */
	unsigned long held; /* identical lines swallowed since then */
	char text[LINE_MAX_BYTES];
};

/*
 * The process-wide logger state (kc_log.h says why it is global). The
 * defaults make kc_log() usable before kc_log_init(): stderr, no journald
 * prefixes, INFO and up, rate limited.
 */
static struct {
	int verbosity;
	int journald;
	FILE *out;
	unsigned window;
	time_t (*clock)(void);
	struct repeat_slot slots[REPEAT_SLOTS];
} logger = {.window = KC_LOG_REPEAT_WINDOW};

/* JOURNAL_STREAM is "<dev>:<ino>" of the stream journald reads. */
static int stderr_is_journal(void)
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

static time_t monotonic_seconds(void)
{
	return (time_t)(kc_clock_ms() / 1000);
}

void kc_log_setup(const struct kc_log_opts *opts)
{
	/* A reload (SIGHUP) sets up again: report what was held back first. */
	kc_log_flush_repeats(1);
	memset(&logger, 0, sizeof(logger));
	logger.verbosity = opts->verbosity;
	logger.out = opts->out;
	logger.journald = opts->journald >= 0 ? opts->journald : stderr_is_journal();
	logger.window = opts->repeat_window;
	logger.clock = opts->clock;
}

void kc_log_init(int verbosity)
{
	struct kc_log_opts opts = {
	    .verbosity = verbosity,
	    .journald = -1,
	    .repeat_window = KC_LOG_REPEAT_WINDOW,
	};

	kc_log_setup(&opts);
}

static const char *level_name(enum kc_log_level level)
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

static void emit(enum kc_log_level level, const char *line)
{
	FILE *out = logger.out != NULL ? logger.out : stderr;

	if (logger.journald)
		fprintf(out, "<%d>%s\n", (int)level, line);
	else
		fprintf(out, "kubelet-checkpoint: %s: %s\n", level_name(level), line);
	fflush(out);
}

static time_t now_seconds(void)
{
	return logger.clock != NULL ? logger.clock() : monotonic_seconds();
}

/* FNV-1a 64 over the level and the text; never 0 (0 marks a free slot). */
static uint64_t line_hash(enum kc_log_level level, const char *line)
{
	unsigned char lv = (unsigned char)level;
	uint64_t h = kc_fnv1a64_add(kc_fnv1a64(&lv, 1), line, strlen(line));

	return h != 0 ? h : 1;
}

static void report_held(struct repeat_slot *s, time_t now)
{
	char summary[LINE_MAX_BYTES + 96];

	if (s->held == 0)
		return;
	snprintf(summary, sizeof(summary), "last message repeated %lu times in %llds: %s", s->held,
	         (long long)(now - s->printed_at), s->text);
	emit(s->level, summary);
	s->held = 0;
	s->printed_at = now;
}

/* The slot remembering this line, else the one to reuse for it. */
static struct repeat_slot *find_slot(uint64_t hash, const char *line, int *found)
{
	struct repeat_slot *victim = &logger.slots[0];
	size_t i;

	for (i = 0; i < REPEAT_SLOTS; i++) {
		struct repeat_slot *s = &logger.slots[i];

		if (s->hash == hash && strcmp(s->text, line) == 0) {
			*found = 1;
			return s;
		}
		if (victim->hash != 0 && (s->hash == 0 || s->printed_at < victim->printed_at))
			victim = s;
	}
	*found = 0;
	return victim;
}

/* Print line unless it is a repeat inside the window. */
static void emit_limited(enum kc_log_level level, const char *line)
{
	uint64_t hash = line_hash(level, line);
	time_t now = now_seconds();
	struct repeat_slot *s;
	int found;

	s = find_slot(hash, line, &found);
	if (found && now - s->printed_at < (time_t)logger.window) {
		s->held++;
		return;
	}
	report_held(s, now);
	if (!found) {
		s->hash = hash;
		s->level = level;
		snprintf(s->text, sizeof(s->text), "%s", line);
	}
	s->printed_at = now;
	emit(level, line);
}

void kc_log_flush_repeats(int all)
{
	time_t now = now_seconds();
	size_t i;

	for (i = 0; i < REPEAT_SLOTS; i++) {
		struct repeat_slot *s = &logger.slots[i];

		if (all || now - s->printed_at >= (time_t)logger.window)
			report_held(s, now);
	}
}

/* One event, one line: a newline inside a message (file content, an API
 * body) would otherwise start an unprefixed journal entry. */
static void flatten(char *line)
{
	for (; *line != '\0'; line++)
		if (*line == '\n' || *line == '\r')
			*line = ' ';
}

void kc_vlog(enum kc_log_level level, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];

	if (level == KC_LOG_DEBUG && logger.verbosity < 1)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	flatten(line);
	/* Only trouble repeats; notices and infos are events, each one counts. */
	if (level > KC_LOG_WARNING || logger.window == 0)
		emit(level, line);
	else
		emit_limited(level, line);
}

void kc_log(enum kc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kc_vlog(level, fmt, ap);
	va_end(ap);
}
