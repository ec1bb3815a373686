/*
 * fs_watch.h: the agent's file watches (libinotifytools): the flag file's
 * directory, the staticPodPath and the checkpoint directory. A directory that
 * does not exist yet is watched through its nearest existing ancestor and
 * re-armed on the real directory as soon as it appears (and back to the
 * ancestor if it is removed).
 *
 * libinotifytools keeps ONE inotify instance in library globals and has no
 * call that returns its fd, so: at most one struct fs_watch exists per process
 * (a second fs_watch_open is KC_EINTERNAL), and fs_watch_open finds the library's fd
 * as the one inotify fd that appeared in /proc/self/fd across
 * inotifytools_initialize() (the agent is single-threaded at that point).
 * The fd is made close-on-exec and handed to the poll loop; fs_watch_drain()
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
#ifndef KC_FS_WATCH_H
#define KC_FS_WATCH_H

#include "kc_error.h"

enum fs_watch_change {
	FS_WATCH_FLAG_CHANGED = 1u << 0,       /* the flag file appeared, vanished or changed */
	FS_WATCH_STATIC_DIR_CHANGED = 1u << 1, /* something in / of the staticPodPath */
	FS_WATCH_STATE_DIR_CHANGED = 1u << 2,  /* something in / of the checkpoint dir */
	FS_WATCH_OVERFLOW = 1u << 3,           /* events were lost: rescan everything */
};

struct fs_watch;

/*
 * Watch flag_file (its directory, filtered by its name), static_dir and
 * state_dir (pass <state-dir>/pods). Any path may be NULL (not watched).
 */
kc_code fs_watch_open(const char *flag_file, const char *static_dir, const char *state_dir,
                      struct fs_watch **out, struct kc_error *err);
void fs_watch_close(struct fs_watch *w);

/* The fd to poll for POLLIN. */
int fs_watch_fd(const struct fs_watch *w);

/* Read every pending event without blocking; *changed gets WATCH_* bits. */
kc_code fs_watch_drain(struct fs_watch *w, unsigned *changed, struct kc_error *err);

#endif
