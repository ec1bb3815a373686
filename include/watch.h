/*
 * watch.h: the agent's file watches (libinotifytools): the flag file's
 * directory, the staticPodPath and the checkpoint directory. A directory that
 * does not exist yet is watched through its nearest existing ancestor and
 * re-armed on the real directory as soon as it appears (and back to the
 * ancestor if it is removed).
 *
 * libinotifytools keeps ONE inotify instance in library globals and has no
 * call that returns its fd, so: at most one struct watch exists per process
 * (a second watch_open is KC_EINTERNAL), and watch_open finds the library's fd
 * as the one inotify fd that appeared in /proc/self/fd across
 * inotifytools_initialize() (the agent is single-threaded at that point).
 * The fd is made close-on-exec and handed to the poll loop; watch_drain()
 * reads events through the library with a zero timeout until none is left.
 * Watches are added and removed with inotify_add_watch/inotify_rm_watch on
 * that fd, not inotifytools_watch_file: the library keeps a watch in its
 * filename table after the kernel dropped it (a removed directory), and its
 * remove call then fails, so a re-created directory could never be watched
 * again by name. The library still does initialisation, event reading and
 * buffering, and cleanup.
 *
 * The agent's own temporary files (".kubelet-checkpoint_*", ".Pod_*") are
 * ignored so its writes do not wake it in a loop. The final rename of a write
 * is still an event (one extra pass, which converges: an unchanged write is
 * skipped by fsutil and makes no event).
 */
#ifndef KC_WATCH_H
#define KC_WATCH_H

#include "kc_error.h"

enum watch_change {
	WATCH_FLAG_CHANGED = 1u << 0,       /* the flag file appeared, vanished or changed */
	WATCH_STATIC_DIR_CHANGED = 1u << 1, /* something in / of the staticPodPath */
	WATCH_STATE_DIR_CHANGED = 1u << 2,  /* something in / of the checkpoint dir */
	WATCH_OVERFLOW = 1u << 3,           /* events were lost: rescan everything */
};

struct watch;

/*
 * Watch flag_file (its directory, filtered by its name), static_dir and
 * state_dir (pass <state-dir>/pods). Any path may be NULL (not watched).
 */
kc_code watch_open(const char *flag_file, const char *static_dir, const char *state_dir,
                   struct watch **out, struct kc_error *err);
void watch_close(struct watch *w);

/* The fd to poll for POLLIN. */
int watch_fd(const struct watch *w);

/* Read every pending event without blocking; *changed gets WATCH_* bits. */
kc_code watch_drain(struct watch *w, unsigned *changed, struct kc_error *err);

#endif
