/*
 * local_pods.h: which pod UIDs have a pod cgroup on this node right now (the
 * set itself is core's local_pods_set.h), read from the kubelet's pod cgroups under the cgroup root
 * (default /sys/fs/cgroup).
 *
 * Layouts understood (<base> is the root on cgroup v2, and the first of
 * <root>/memory, <root>/cpu,cpuacct, <root>/cpu, <root>/pids and, on a
 * v1/v2 hybrid host, <root>/unified holding a kubepods hierarchy):
 *   systemd driver:  <base>/kubepods.slice/kubepods-pod<uid_>.slice            (Guaranteed)
 *                    <base>/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice
 *   cgroupfs driver: <base>/kubepods/pod<uid>                                  (Guaranteed)
 *                    <base>/kubepods/<qos>/pod<uid>
 * with qos in {burstable, besteffort}; the systemd driver writes the UID with
 * '_' for '-'. When both driver trees exist (a node that switched drivers),
 * both count.
 *
 * "Running" means the pod cgroup exists. A pod whose containers have all
 * exited keeps its cgroup until the kubelet tears it down, and the agent must
 * not bridge a pod whose parent might still run, so an existing cgroup counts
 * as running even when cgroup.procs is empty (conservative, and cheap: one
 * readdir per QoS directory, nothing deeper).
 *
 * No kubepods hierarchy at all (kubelet not started yet, other cgroup root)
 * or an unreadable one is UNKNOWN, never "nothing running".
 */
#ifndef KC_LOCAL_PODS_H
#define KC_LOCAL_PODS_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"
#include "local_pods_set.h"

/* The kubelet's cgroup settings that decide where pod cgroups are. */
#define LOCAL_PODS_ROOT_DEPTH_MAX 8
#define LOCAL_PODS_STEM_MAX       128

enum local_pods_driver {
	LOCAL_PODS_DRIVER_ANY = 0, /* not known: both layouts are read */
	LOCAL_PODS_DRIVER_SYSTEMD,
	LOCAL_PODS_DRIVER_CGROUPFS,
};

struct local_pods_layout {
	char root[256]; /* cgroupRoot as given, for messages */
	char components[LOCAL_PODS_ROOT_DEPTH_MAX][LOCAL_PODS_STEM_MAX];
	size_t ncomponents; /* cgroupRoot "/" (the default) has none */
	enum local_pods_driver driver;
	bool per_qos; /* cgroupsPerQOS: false means no pod cgroups exist */
};

/*
 * The layout of a kubelet's cgroupRoot (NULL: "/"), cgroupDriver (NULL or
 * "": unknown) and cgroupsPerQOS. "/kubelet" and "/kubelet.slice" are the
 * same root. KC_EINVAL for an unknown driver or a root with "." or "..".
 */
kc_code local_pods_layout_parse(const char *cgroup_root, const char *driver, bool per_qos,
                                struct local_pods_layout *out, struct kc_error *err);

/*
 * Scan under cgroup_mount (the cgroup file system, /sys/fs/cgroup) where lay
 * says the kubelet puts pods (NULL: cgroupRoot "/", either driver). With
 * cgroupsPerQOS false it is KC_ENOTFOUND at once: the kubelet makes no pod
 * cgroups then, so only the container runtime can tell.
 */
kc_code local_pods_scan_layout(const char *cgroup_mount, const struct local_pods_layout *lay,
                               struct local_pods *out, struct kc_error *err);

/*
 * Scan cgroup_root. On KC_OK out->state is KNOWN (count may be 0). Otherwise
 * out->state is UNKNOWN and the code says why: KC_ENOTFOUND (no kubepods
 * hierarchy), KC_EIO (unreadable), KC_ENOMEM. out is reset first and must be
 * zero-initialised (or from a previous scan) before the first call.
 */
kc_code local_pods_scan(const char *cgroup_root, struct local_pods *out, struct kc_error *err);

#endif
