/*
 * handoff_file.h: the agent's hand-off records and bridge-quiet clock on
 * disk, <state-dir>/handoff.json, so that a restarted agent neither
 * re-activates a bridge its parent is taking over without the watchdog's
 * backoff nor collects a checkpoint right after a bridge (docs/design.md §6,
 * "Hand-off records across restarts"). One job: read, validate and write
 * that one small JSON file, and map it to and from the parent table.
 *
 * The times are the agent's own clock (CLOCK_MONOTONIC ms), valid only in
 * the boot that wrote them: the file names its boot
 * (/proc/sys/kernel/random/boot_id) and a file of another boot carries
 * nothing over. The file is hostile input: anything that is not exactly
 * what this module writes is BROKEN, and the caller falls back to the
 * conservative state.
 */
#ifndef KC_HANDOFF_FILE_H
#define KC_HANDOFF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kc_buf.h"
#include "kc_error.h"
#include "parent_table.h"

#define HANDOFF_FILE_NAME    "handoff.json"
#define HANDOFF_FILE_VERSION 1
#define HANDOFF_FILE_MAX     (1024 * 1024) /* bytes; ~5000 records */
#define HANDOFF_RECS_MAX     4096          /* a node runs a few hundred pods */
/* More re-activations than 30-min backoffs in ten years is not a count we wrote. */
#define HANDOFF_FIRES_MAX   200000
#define HANDOFF_BOOT_ID_MAX 36

/* One parent's hand-off (parent_table.h's fields of the same names). */
struct handoff_rec {
	char uid[40];
	int64_t handed_off_ms; /* monotonic, -1 none */
	unsigned watchdog_fires;
	int64_t watchdog_last_ms; /* monotonic, -1 none (exactly when watchdog_fires is 0) */
	int64_t since_wall;       /* wall seconds the state last changed (status only), 0 unknown */
	bool timed_out;           /* W4 withdrew it (status only) */
};

struct handoff_doc {
	/* The quiet clock: a bridge was on disk when the file was written
	 * (bridge_on), else the last pass with one (monotonic, -1 none). */
	bool bridge_on;
	int64_t last_bridge_ms;
	struct handoff_rec *recs;
	size_t count;
};

enum handoff_load {
	HANDOFF_LOAD_OK,         /* this boot's records and quiet clock */
	HANDOFF_LOAD_MISSING,    /* no file */
	HANDOFF_LOAD_OTHER_BOOT, /* written in another boot: nothing carries over */
	HANDOFF_LOAD_BROKEN,     /* unusable (err names the file and field) */
};

void handoff_doc_free(struct handoff_doc *d);

/* This boot's id (/proc/sys/kernel/random/boot_id, a lowercase UUID). */
kc_code handoff_boot_id(char out[HANDOFF_BOOT_ID_MAX + 1], struct kc_error *err);

/*
 * Parse the bytes of path (named in messages) read at now_ms in boot
 * boot_id. KC_OK with *other_boot false: *out holds the records; true:
 * another boot wrote it (out stays empty). KC_EINVAL: not what this module
 * writes (wrong JSON or types, a bad UID, a time after now_ms, a count out
 * of range, an unknown field), err naming the file and field.
 */
kc_code handoff_doc_parse(const char *path, const char *text, size_t len, const char *boot_id,
                          int64_t now_ms, struct handoff_doc *out, bool *other_boot,
                          struct kc_error *err);

/* The file's bytes for d in boot boot_id (stable: records in d's order). */
kc_code handoff_doc_dump(const struct handoff_doc *d, const char *boot_id, struct kc_buf *out,
                         struct kc_error *err);

/*
 * Read <state_dir>/handoff.json: a regular file (not a symlink), owned by
 * this process's user, not writable by group or others, at most
 * HANDOFF_FILE_MAX bytes. Also removes the temp files a crashed write left.
 * Returns the outcome; err says why for BROKEN.
 */
enum handoff_load handoff_file_read(const char *state_dir, const char *boot_id, int64_t now_ms,
                                    struct handoff_doc *out, struct kc_error *err);

/* Write bytes to <state_dir>/handoff.json atomically and durably (mode 0600). */
kc_code handoff_file_write(const char *state_dir, const struct kc_buf *bytes, struct kc_error *err);

/* The records worth keeping from t (a hand-off under way, re-activations, a timeout). */
kc_code handoff_doc_from_table(const struct parent_table *t, bool bridge_on, int64_t last_bridge_ms,
                               struct handoff_doc *out, struct kc_error *err);

/* Put d's records into t's parents that have a checkpoint; returns how many. */
size_t handoff_doc_to_table(const struct handoff_doc *d, struct parent_table *t);

/*
 * Records unknown (a broken file): every parent with a checkpoint is taken
 * as handed off at now_ms, so the watchdog's first wait (HANDOFF_WATCH_MS)
 * comes before any re-activation (docs/design.md §6 says why).
 */
size_t handoff_assume_under_way(struct parent_table *t, int64_t now_ms, time_t now_wall);

#endif
