/*
 * tu_tree.h: building small file trees for tests: files and symlinks at
 * relative paths (parents created), and fake /proc entries.
 */
#ifndef KC_TU_TREE_H
#define KC_TU_TREE_H

#include <stddef.h>

/* Write root/rel (parents created, mode 0644); returns the malloc'd full path. */
char *tu_put(const char *root, const char *rel, const char *content);
/* Symlink root/rel -> target (parents created). */
void tu_put_link(const char *root, const char *rel, const char *target);
/* Who a fake process runs as, and what its executable looks like. */
struct tu_identity {
	const char *uids;   /* the Uid: line's value: "real\teffective\tsaved\tfs" */
	unsigned exe_mode;  /* mode of the file /proc/<pid>/exe points to */
	unsigned exe_uid;   /* its owner */
	const char *cgroup; /* /proc/<pid>/cgroup content, or NULL for none */
};

/* A root process running a root-owned 0755 binary, outside any systemd unit. */
extern const struct tu_identity tu_root_identity;

/*
 * A fake process: <proc>/<pid>/cmdline holding the NULL-terminated argv
 * joined by NULs, as the kernel shows it, <proc>/<pid>/status with the uids,
 * <proc>/<pid>/exe linking to <proc>/bin/<pid>/kubelet and, if given,
 * <proc>/<pid>/cgroup. The _as form needs root for a foreign owner.
 */
void tu_fake_process_as(const char *proc, int pid, const char *const *argv,
                        const struct tu_identity *id);
/* The same as root (tu_root_identity). */
void tu_fake_process(const char *proc, int pid, const char *const *argv);

#endif
