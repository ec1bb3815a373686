/*
 * bridge_dir.h: the kubelet's staticPodPath, as the agent is allowed to see
 * it. The directory belongs to the node administrator; the agent owns only
 * files that pass both tests:
 *   - the name starts with "kubelet-checkpoint_" (KC_MANIFEST_PREFIX), and
 *   - the content (a regular file, not a symlink, at most 10 MiB) parses as
 *     one document carrying the annotation kubelet-checkpoint/checkpoint-of.
 * Every other file (kube-apiserver.yaml, etcd.yaml, dotfiles, symlinks, a
 * prefixed file without the marker) is never written, renamed or deleted,
 * whatever happens; prefixed ones are reported as ignored (the caller logs them).
 *
 * All operations go through openat() on one directory fd opened with
 * O_DIRECTORY|O_NOFOLLOW. The directory is never created: a staticPodPath
 * that does not exist yet is KC_ENOTFOUND, and the caller waits for it.
 * Temporary files are ".kubelet-checkpoint_*.tmp" (fsutil's naming) and
 * nothing else is ever created here.
 */
#ifndef KC_BRIDGE_DIR_H
#define KC_BRIDGE_DIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"
#include "kc_names.h"

#define BRIDGE_MANIFEST_MODE 0600
/* Longest manifest file name: NAME_MAX (255) minus what fsutil's temp name adds. */
#define BRIDGE_NAME_MAX KC_MANIFEST_NAME_MAX

struct bridge_dir;

/* A bridge manifest found in the directory (owned strings). */
struct bridge_manifest {
	char *file;          /* file name within the directory */
	char *checkpoint_of; /* "<namespace>/<name>" */
	char *source_uid;    /* NULL when the annotation is missing */
	/*
	 * When it was written: the file's mtime, wall-clock ms. The agent writes
	 * a manifest only when its bytes change, so this is when the bridge (as
	 * the kubelet runs it) began, also across an agent restart (decision.h W1).
	 */
	int64_t written_ms;
};

/* A file with our prefix that is not ours, and why. */
struct bridge_ignored {
	char *file;
	char *reason;
};

struct bridge_list {
	struct bridge_manifest *manifests; /* sorted by file name */
	size_t count;
	struct bridge_ignored *ignored; /* sorted by file name */
	size_t nignored;
};

/* KC_ENOTFOUND when path does not exist (yet); never creates it. */
kc_code bridge_dir_open(const char *path, struct bridge_dir **out, struct kc_error *err);
void bridge_dir_close(struct bridge_dir *bd);
const char *bridge_dir_path(const struct bridge_dir *bd);
/* Are x and y the same directory (device and inode)? */
bool bridge_dir_same(const struct bridge_dir *x, const struct bridge_dir *y);

kc_code bridge_dir_list(struct bridge_dir *bd, struct bridge_list *out, struct kc_error *err);
void bridge_list_free(struct bridge_list *list);

/*
 * Is dir/file ours (see above)? KC_OK with *ours set; a missing file is
 * KC_ENOTFOUND. When not ours, why (may be NULL) says why in its message.
 */
kc_code bridge_dir_owns(struct bridge_dir *bd, const char *file, bool *ours, struct kc_error *why,
                        struct kc_error *err);

/*
 * Write manifest bytes to file (a "kubelet-checkpoint_*" name, mode 0600),
 * atomically and only when the bytes differ; *changed (may be NULL) tells.
 * data must itself carry the marker annotation. A file already there that is
 * not ours is never replaced: KC_EINVAL naming it.
 */
kc_code bridge_dir_write(struct bridge_dir *bd, const char *file, const void *data, size_t len,
                         bool *changed, struct kc_error *err);

/*
 * bridge_dir_write for bytes that are render_manifest_bytes(manifest): the
 * marker is checked on the manifest object instead of parsing data again
 * (the codec guarantees the bytes read back as manifest). The activation
 * path, where parsing 110 manifests would cost more than writing them.
 */
kc_code bridge_dir_write_manifest(struct bridge_dir *bd, const char *file, const json_t *manifest,
                                  const void *data, size_t len, bool *changed,
                                  struct kc_error *err);

/*
 * Would a later look see these manifest bytes as ours (one document carrying
 * the marker, at most 10 MiB)? Check once when the bytes are made, so that the
 * batch write below needs no parse on the activation path.
 */
kc_code bridge_dir_check_bytes(const char *file, const void *data, size_t len,
                               struct kc_error *err);

/* One manifest of a batch: file and bytes in; changed and rc out. */
struct bridge_write {
	const char *file;
	const void *data; /* passed bridge_dir_check_bytes */
	size_t len;
	bool changed;
	struct kc_error err; /* .code KC_OK, or why this one failed */
};

/*
 * Write many manifests with one durability barrier (fs_write_batch_at): the
 * activation path, where 110 manifests must be durable within 50 ms. Same
 * rules as bridge_dir_write per file (only when the bytes differ; a file there
 * that is not ours is never replaced: that entry fails, the others go on).
 * Returns the first entry's error, if any.
 */
kc_code bridge_dir_write_batch(struct bridge_dir *bd, struct bridge_write *w, size_t n,
                               struct kc_error *err);

/*
 * Remove file if, re-checked right now, it is ours; missing is fine
 * (*removed false). A file that is not ours is KC_EINVAL and stays; one
 * replaced between the check and the unlink is KC_EAGAIN and stays.
 */
kc_code bridge_dir_remove(struct bridge_dir *bd, const char *file, bool *removed,
                          struct kc_error *err);

/* Remove our stale temp files ".kubelet-checkpoint_*.tmp" (regular files only). */
kc_code bridge_dir_clean_temps(struct bridge_dir *bd, size_t *removed, struct kc_error *err);

#endif
