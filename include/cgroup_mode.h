/*
 * cgroup_mode.h: is this host on cgroup v1, as the kubelet decides it, and
 * what that means for a 1.35+ kubelet.
 *
 * The kubelet asks libcontainer's IsCgroup2UnifiedMode (statfs of
 * /sys/fs/cgroup is cgroup2) and, from 1.35, refuses to start on cgroup v1
 * (v1 or hybrid) unless its configuration sets failCgroupV1: false
 * (pkg/kubelet/apis/config/validation/validation_linux.go,
 * validateKubeletOSConfiguration; the default is true from 1.35,
 * pkg/kubelet/apis/config/v1beta1/defaults.go). A kubelet that does not run
 * starts no bridge, so the agent says so at start.
 */
#ifndef KC_CGROUP_MODE_H
#define KC_CGROUP_MODE_H

#include <stdbool.h>
#include <stddef.h>

enum cgroup_mode {
	CGROUP_MODE_UNKNOWN = 0, /* not a cgroup file system (a test tree), or unreadable */
	CGROUP_MODE_V1,          /* v1 or hybrid: the kubelet's "cgroup v1" */
	CGROUP_MODE_V2,
};

/*
 * From the file system type of the mount point and whether a v1 controller
 * hierarchy is mounted under it: cgroup2 is v2; tmpfs holding a v1
 * hierarchy is v1 (hybrid included); anything else is unknown.
 */
enum cgroup_mode cgroup_mode_classify(unsigned long mount_fs_type, bool v1_hierarchy);

/* Probe mount (the cgroup mount, /sys/fs/cgroup) with statfs. */
enum cgroup_mode cgroup_mode_probe(const char *mount);

/*
 * The start-up warning for a kubelet on a host in mode whose failCgroupV1 is
 * fail_cgroup_v1 (-1 unset, 0, 1), written into buf; false when there is
 * nothing to say (v2, unknown, or failCgroupV1: false).
 */
bool cgroup_v1_refusal(enum cgroup_mode mode, int fail_cgroup_v1, char *buf, size_t size);

#endif
