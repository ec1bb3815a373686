/*
 * cgroup_mode.c: cgroup v1 or v2 as the kubelet tells them, and the 1.35
 * refusal of cgroup v1 (cgroup_mode.h).
 */
#include <stdio.h>
#include <sys/vfs.h>

#include "cgroup_mode.h"

/* linux/magic.h */
#define KC_TMPFS_MAGIC   0x01021994UL
#define KC_CGROUP_MAGIC  0x0027e0ebUL
#define KC_CGROUP2_MAGIC 0x63677270UL

enum cgroup_mode cgroup_mode_classify(unsigned long mount_fs_type, bool v1_hierarchy)
{
	if (mount_fs_type == KC_CGROUP2_MAGIC)
		return CGROUP_MODE_V2;
	if (mount_fs_type == KC_TMPFS_MAGIC && v1_hierarchy)
		return CGROUP_MODE_V1;
	return CGROUP_MODE_UNKNOWN;
}

enum cgroup_mode cgroup_mode_probe(const char *mount)
{
	/* Controllers every v1 host mounts (systemd's own named hierarchy included). */
	static const char *const v1[] = {"memory", "cpu", "pids", "systemd"};
	char path[4096];
	struct statfs st;
	bool hierarchy = false;
	size_t i;

	if (statfs(mount, &st) != 0)
		return CGROUP_MODE_UNKNOWN;
	for (i = 0; !hierarchy && i < sizeof(v1) / sizeof(v1[0]); i++) {
		struct statfs sub;

		snprintf(path, sizeof(path), "%s/%s", mount, v1[i]);
		hierarchy = statfs(path, &sub) == 0 && (unsigned long)sub.f_type == KC_CGROUP_MAGIC;
	}
	return cgroup_mode_classify((unsigned long)st.f_type, hierarchy);
}

bool cgroup_v1_refusal(enum cgroup_mode mode, int fail_cgroup_v1, char *buf, size_t size)
{
	if (mode != CGROUP_MODE_V1 || fail_cgroup_v1 == 0)
		return false;
	snprintf(buf, size,
	         "this host runs cgroup v1 and the kubelet's configuration %s failCgroupV1: a "
	         "kubelet 1.35 or newer refuses to start here unless it sets failCgroupV1: false "
	         "(validation_linux.go, validateKubeletOSConfiguration), and without a kubelet no "
	         "bridge starts",
	         fail_cgroup_v1 == 1 ? "sets" : "does not set");
	return true;
}
