/*
 * agent_lock.h: one agent per state dir and per staticPodPath.
 *
 * Two agents on the same directories undo each other's work: one with the
 * flag file activates what the other withdraws, thousands of times a second
 * (issue 19 item 12). Each directory is claimed with flock(LOCK_EX|LOCK_NB)
 * for the agent's life; a second agent is told who holds it and exits 1.
 */
#ifndef KC_AGENT_LOCK_H
#define KC_AGENT_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "kc_error.h"

/* <state-dir>/lock: the state dir's lock file, holding the agent's pid. */
#define AGENT_LOCK_FILE "lock"

struct agent_lock {
	int state_fd; /* the lock file, -1 when none is held */
	char *state_dir;
	int static_fd; /* the staticPodPath directory itself, -1 when none is held */
	char *static_path;
	dev_t static_dev;
	ino_t static_ino;
};

void agent_lock_init(struct agent_lock *l);
/*
 * Hold the lock of state_dir (created 0700 if missing) instead of the one
 * held now, if any; on failure the old one stays held. A lock that another
 * process holds is KC_EIO naming the lock file and, when /proc/locks tells,
 * the holder's pid. Taking it removes the crash leftovers of checkpoint
 * writes in <state-dir>/pods (nobody else writes there now).
 */
kc_code agent_lock_state(struct agent_lock *l, const char *state_dir, struct kc_error *err);
/*
 * Hold the lock of the staticPodPath directory as it is now: nothing while
 * it does not exist or is read-only, the new directory when it was replaced. Cheap when
 * nothing changed (one stat), so it runs every turn.
 */
kc_code agent_lock_static_dir(struct agent_lock *l, const char *path, struct kc_error *err);
void agent_lock_release(struct agent_lock *l);

/* The pid holding a flock on the file dev/ino according to locks_path, or 0. */
pid_t agent_lock_holder(const char *locks_path, dev_t dev, ino_t ino);

#endif
