/*
 * fsutil.h: the only way kubelet-checkpoint changes files.
 *
 * Writes are atomic and durable: a temp file ".<name>.<pid>.<random>.tmp"
 * (a new one for every write) in the same directory, write, fsync, rename
 * over <name>, fsync the directory. A write
 * whose bytes (and mode) already match the file is skipped, because a
 * rewritten static-pod manifest makes the kubelet restart the pod. Nothing
 * here follows a symlink in the last path component.
 */
#ifndef KC_FSUTIL_H
#define KC_FSUTIL_H

#include <stdbool.h>
#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "kc_buf.h"
#include "kc_error.h"

#define FS_TMP_SUFFIX ".tmp"
/* A temp name keeps at least this much of its file's name (a prefix rule holds). */
#define FS_TEMP_NAME_KEEP 24

/* Open a directory (not a symlink to one) for *at() calls. */
kc_code fs_open_dir(const char *path, int *fd_out, struct kc_error *err);

/* mkdir -p: components it creates get mode; an existing final dir is kept. */
kc_code fs_mkdir_p(const char *path, mode_t mode, struct kc_error *err);

/* Atomic durable write of dirfd/name; *changed (may be NULL) tells if it wrote. */
kc_code fs_write_atomic_at(int dirfd, const char *dirpath, const char *name, const void *data,
                           size_t len, mode_t mode, bool *changed, struct kc_error *err);
kc_code fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool *changed,
                        struct kc_error *err);

/* One file of a batch write: name, bytes; changed and rc are results. */
struct fs_batch_entry {
	const char *name;
	const void *data;
	size_t len;
	bool changed;           /* it was written */
	char tmp[NAME_MAX + 1]; /* its temp name while staged (fsutil's) */
	struct kc_error err;    /* .code KC_OK, or why this entry failed (others go on) */
};

/*
 * Write several files into one directory as one batch: every entry whose
 * bytes differ goes to its temp name, writeback of all of them is started at
 * once (sync_file_range) and then waited for (fdatasync), each is renamed into
 * place, and the directory is fsynced once. Same guarantees as
 * fs_write_atomic_at for each file, at a fraction of the cost of two fsyncs
 * per file (docs/design.md §7: 110 manifests durable in <= 50 ms), and unlike syncfs()
 * it never waits for unrelated dirty data of the file system. Returns the
 * first entry's error, if any; the other entries go on.
 */
kc_code fs_write_batch_at(int dirfd, const char *dirpath, struct fs_batch_entry *entries, size_t n,
                          mode_t mode, struct kc_error *err);

/*
 * Atomic but not durable: temp file and rename, no fsync. For files rebuilt
 * from memory at every change and read while the agent runs (the status file
 * in /run, the metrics textfile): a crash loses nothing that matters, and a
 * fsync per update would cost a disk flush per second during an outage.
 */
kc_code fs_write_atomic_volatile(const char *path, const void *data, size_t len, mode_t mode,
                                 bool *changed, struct kc_error *err);

/* Read a regular file dirfd/name (no symlinks) into out, capped by out->limit. */
kc_code fs_read_at(int dirfd, const char *dirpath, const char *name, struct kc_buf *out,
                   struct kc_error *err);

/* Remove dirfd/name and fsync the directory; a missing file is not an error. */
kc_code fs_unlink_at(int dirfd, const char *dirpath, const char *name, struct kc_error *err);

/* fs_unlink_at on the directory of path; "" and "dir/" are KC_EINVAL. */
kc_code fs_unlink(const char *path, struct kc_error *err);

/* Remove the tree dirfd/name without following symlinks; missing is fine. */
kc_code fs_remove_tree_at(int dirfd, const char *dirpath, const char *name, struct kc_error *err);

kc_code fs_fsync_dir(int dirfd, const char *dirpath, struct kc_error *err);

/* A readdir stream on a duplicate of dirfd, rewound; dirfd stays usable. */
kc_code fs_dir_stream(int dirfd, const char *dirpath, DIR **out, struct kc_error *err);

/* Does fd (a regular file at offset 0) hold exactly len bytes equal to data? */
bool fs_fd_holds(int fd, const void *data, size_t len);

/*
 * A new temp name for name: "." name "." pid "." random ".tmp", name cut
 * (never below FS_TEMP_NAME_KEEP bytes) to fit NAME_MAX; unique per call.
 */
kc_code fs_temp_name(const char *name, char *out, size_t outsz, struct kc_error *err);

/*
 * Remove the regular files "." prefix "*" ".tmp" of dirfd: temp files a
 * crashed writer left (each write has a name of its own, so none is ever
 * reused). Only for a directory no other writer uses now (the agent's lock).
 */
kc_code fs_remove_temps_at(int dirfd, const char *dirpath, const char *prefix, size_t *removed,
                           struct kc_error *err);

#endif
