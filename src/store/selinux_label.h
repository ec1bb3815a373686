/*
 * selinux_label.h: SELinux labels for the materialised volume trees.
 *
 * The kubelet does not relabel hostPath volumes (only volumes whose plugin
 * supports SELinux relabelling get the pod's context), so on an enforcing
 * node (the RHEL family's default) a confined container cannot read a file
 * labelled var_lib_t under the state dir. When SELinux is enabled, every
 * directory and file of a volume tree is labelled
 * system_u:object_r:container_file_t:<level>, <level> being the parent's
 * spec.securityContext.seLinuxOptions.level when it has one, else the
 * shared "s0" every container may read. When SELinux is disabled, nothing
 * is labelled and nothing is said.
 *
 * libselinux (Debian libselinux1) does the work: is_selinux_enabled(),
 * fsetfilecon_raw() and fgetfilecon_raw(), which read and write the
 * security.selinux extended attribute. The tests replace those by defining
 * them in the test program (the linker binds the program's own definition
 * first), so they need neither an SELinux kernel nor global hooks.
 */
#ifndef KC_SELINUX_LABEL_H
#define KC_SELINUX_LABEL_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

#define SELINUX_VOLUME_TYPE  "container_file_t"
#define SELINUX_CONTEXT_MAX  320
#define SELINUX_SHARED_LEVEL "s0"

/*
 * The context the volumes of a pod get, into out (SELINUX_CONTEXT_MAX):
 * empty when SELinux is disabled (nothing is to be labelled).
 */
void selinux_volume_context(const char *level, char *out, size_t outsz);

/*
 * Does fd already carry context con? True also on a file system that cannot
 * carry labels (ENOTSUP), where selinux_label_fd does nothing and succeeds.
 */
bool selinux_fd_has(int fd, const char *con);

/* Label fd (a file or directory); what names it in the error. */
kc_code selinux_label_fd(int fd, const char *con, const char *what, struct kc_error *err);

#endif
