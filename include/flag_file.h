/*
 * flag_file.h: the bridge switch (docs/design.md §4). The file present means the
 * bridge is enabled; absent means standby. enable/disable are idempotent.
 */
#ifndef KC_FLAG_FILE_H
#define KC_FLAG_FILE_H

#include <stdbool.h>

#include "kc_error.h"

/* Create path (and missing parent directories, 0755); *created may be NULL. */
kc_code flag_file_enable(const char *path, bool *created, struct kc_error *err);
/* Remove path; absent (file or directory) is fine. *removed may be NULL. */
kc_code flag_file_disable(const char *path, bool *removed, struct kc_error *err);
/* Present (any file type, symlinks not followed) = enabled. */
kc_code flag_file_enabled(const char *path, bool *enabled, struct kc_error *err);

#endif
