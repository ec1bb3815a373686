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

/*
 * A file system that cannot carry labels at all (no xattr support; the
 * kernel then labels by mount context) is not a reason to refuse a
 * checkpoint: nothing that was checkpointable becomes unusable here.
 */
static bool no_label_support(int e)
{
	return e == ENOTSUP || e == EOPNOTSUPP;
}

bool selinux_fd_has(int fd, const char *con)
{
	char *have = NULL;
	bool same;

	if (fgetfilecon_raw(fd, &have) < 0)
		return no_label_support(errno);
	same = have != NULL && strcmp(have, con) == 0;
	freecon(have);
	return same;
}

kc_code selinux_label_fd(int fd, const char *con, const char *what, struct kc_error *err)
{
	if (fsetfilecon_raw(fd, con) != 0 && !no_label_support(errno))
		return kc_fail_errno(err, KC_EIO, errno, "%s: SELinux label %s", what, con);
	return KC_OK;
}
