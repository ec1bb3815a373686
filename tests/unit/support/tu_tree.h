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
/*
 * A fake process: <proc>/<pid>/cmdline holding the NULL-terminated argv
 * joined by NULs, as the kernel shows it.
 */
void tu_fake_process(const char *proc, int pid, const char *const *argv);

#endif
