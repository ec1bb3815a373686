/*
 * selinux_label.c: the label of materialised volume files (see
 * selinux_label.h), through libselinux.
 */
#include <errno.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <string.h>

#include "selinux_label.h"

void selinux_volume_context(const char *level, char *out, size_t outsz)
{
	if (is_selinux_enabled() <= 0) {
		out[0] = '\0';
		return;
	}
	snprintf(out, outsz, "system_u:object_r:" SELINUX_VOLUME_TYPE ":%s",
	         level != NULL && level[0] != '\0' ? level : SELINUX_SHARED_LEVEL);
}

bool selinux_fd_has(int fd, const char *con)
{
	char *have = NULL;
	bool same;

	if (fgetfilecon_raw(fd, &have) < 0)
		return false;
	same = have != NULL && strcmp(have, con) == 0;
	freecon(have);
	return same;
}

kc_code selinux_label_fd(int fd, const char *con, const char *what, struct kc_error *err)
{
	if (fsetfilecon_raw(fd, con) != 0)
		return kc_fail_errno(err, KC_EIO, errno, "%s: SELinux label %s", what, con);
	return KC_OK;
}
