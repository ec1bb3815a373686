/*
 * volume_plan.h: what each materialised volume directory
 * <state-dir>/volumes/<uid>/<volume-name>/ contains. render points hostPath
 * volumes at these directories; the materialiser writes exactly this plan.
 * The plan is a pure function of the checkpoint (pod + referenced objects).
 */
#ifndef KC_VOLUME_PLAN_H
#define KC_VOLUME_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "kc_error.h"
#include "objects.h"

struct vp_file {
	char *path; /* relative, validated: no "..", no leading '/' */
	unsigned char *data;
	size_t len;
	mode_t mode; /* permission bits, e.g. 0644 */
};

struct vp_volume {
	char *name;            /* the pod's volume name */
	struct vp_file *files; /* sorted by path */
	size_t nfiles;
};

struct vp_plan {
	char *uid;                 /* the parent pod's UID */
	struct vp_volume *volumes; /* only volumes that become hostPath dirs */
	size_t nvolumes;
	long long uid_owner; /* runAsUser, -1 when unset */
	long long gid_owner; /* fsGroup, else runAsGroup, -1 when unset */
	/*
	 * spec.securityContext.seLinuxOptions.level ("s0:c123,c456"), NULL when
	 * unset or not made of the characters an MLS/MCS level uses: the SELinux
	 * level the materialised files are labelled with (selinux_label.h).
	 */
	char *selinux_level;
};

kc_code volume_plan_build(const json_t *pod, const struct kc_objects *objs, struct vp_plan *out,
                          struct kc_error *err);
void volume_plan_free(struct vp_plan *plan);

/* "<state_dir>/volumes/<uid>" and "<state_dir>/volumes/<uid>/<volume>". */
kc_code volume_plan_pod_dir(const char *state_dir, const char *uid, char *out, size_t outsz,
                            struct kc_error *err);
kc_code volume_plan_volume_dir(const char *state_dir, const char *uid, const char *volume,
                               char *out, size_t outsz, struct kc_error *err);

#endif
