/*
 * kc_path.h: making configuration paths absolute. A path read from a file
 * (kubeconfig, kubelet config, the agent's config) is relative to that file's
 * directory; a path from a command line is relative to that process's cwd.
 * Pure string work: nothing here touches the file system.
 */
#ifndef KC_PATH_H
#define KC_PATH_H

#include "kc_error.h"

/* New string: path when absolute, else dir "/" path. */
kc_code kc_path_join(const char *dir, const char *path, char **out, struct kc_error *err);

/* New string: the directory part of file ("." when it has no '/'; "/" for "/x"). */
kc_code kc_path_dirname(const char *file, char **out, struct kc_error *err);

/* New string: path when absolute, else relative to the directory of file. */
kc_code kc_path_beside(const char *file, const char *path, char **out, struct kc_error *err);

#endif
