/*
 * kubelet_discovery.h: find the running kubelet and read the settings the
 * agent inherits from it.
 *
 * The kubelet is the process whose argv[0] basename is "kubelet", found by
 * scanning <proc_root>/<pid>/cmdline (proc_root is "/proc" in production and a
 * fake tree in tests), and only if it is trustworthy: all four uids of its
 * status (real, effective, saved, fs) are 0 and its executable (stat through
 * <pid>/exe) is a regular file owned by root that group and others cannot
 * write, it runs in the agent's mount namespace or init's (a container's
 * process sees other files under the same paths) and not in a pod's cgroup
 * (kubepods ... pod<uid>, either driver). Any user can start a process
 * called "kubelet" with a kubeconfig and
 * a node name of their choosing; such processes are ignored (a warning names
 * them), never adopted and never an error. Among trusted ones, the process in
 * the kubelet's systemd unit (kubelet.service in <pid>/cgroup) wins. From its command line we take
 * --kubeconfig, --config,
 * --config-dir, --hostname-override and --pod-manifest-path, in both the
 * "--flag=value" and "--flag value" forms, as pflag reads them (last one wins,
 * "_" and "-" interchangeable, "--" ends the flags).
 *
 * From its KubeletConfiguration file (and the *.conf drop-ins of --config-dir,
 * applied in lexical order over it) we take staticPodPath; a relative
 * staticPodPath is resolved against the directory of the file that set it, as
 * the kubelet does.
 */
#ifndef KC_KUBELET_DISCOVERY_H
#define KC_KUBELET_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kc_error.h"

/* Largest /proc/<pid>/cmdline and kubelet config file we read. */
#define KUBELET_CMDLINE_MAX (256u * 1024)
#define KUBELET_CONFIG_MAX  (4u * 1024 * 1024)

/* What the kubelet's command line says; every string is NULL when absent. */
struct kubelet_cmdline {
	char *kubeconfig;        /* --kubeconfig */
	char *config;            /* --config (KubeletConfiguration file) */
	char *config_dir;        /* --config-dir (drop-in directory) */
	char *hostname_override; /* --hostname-override */
	char *pod_manifest_path; /* --pod-manifest-path (deprecated; beats the config) */
	/* Deprecated flags that still beat the config file (kubelet flag precedence). */
	char *runtime_endpoint; /* --container-runtime-endpoint */
	char *cgroup_root;      /* --cgroup-root */
	char *cgroup_driver;    /* --cgroup-driver */
	char *cgroups_per_qos;  /* --cgroups-per-qos (boolean: "true" when given alone) */
	/* Flag only (no config key): file or directory of CredentialProviderConfig. */
	char *image_credential_provider_config; /* --image-credential-provider-config */
};

/*
 * What the agent reads from a KubeletConfiguration (every string NULL when
 * unset or ""): where it watches static pods, which runtime it talks to, and
 * where it puts pod cgroups.
 */
struct kubelet_settings {
	char *static_pod_path;  /* staticPodPath, resolved against its file */
	char *runtime_endpoint; /* containerRuntimeEndpoint */
	char *cgroup_root;      /* cgroupRoot */
	char *cgroup_driver;    /* cgroupDriver */
	int cgroups_per_qos;    /* cgroupsPerQOS: -1 unset (the kubelet's default is true) */
	int fail_cgroup_v1;     /* failCgroupV1: -1 unset (the default is true from 1.35) */
};

struct kubelet_info {
	pid_t pid;                     /* 0: no trustworthy kubelet process was found */
	unsigned long long start_time; /* its start (clock ticks after boot; 0 unknown) */
	bool in_unit;                  /* it runs in kubelet.service */
	struct kubelet_cmdline flags;
	unsigned ignored;   /* processes named kubelet that were not trusted */
	char why_none[320]; /* pid == 0: why ("no process named kubelet runs", or the
	                       last untrusted one and why), for logs and status */
};

/*
 * Parse one NUL-separated command line (the bytes of /proc/<pid>/cmdline).
 * *is_kubelet tells whether argv[0]'s basename is "kubelet"; flags are only
 * filled when it is. A flag given without its value is KC_EINVAL.
 */
kc_code kubelet_parse_cmdline(const char *data, size_t len, bool *is_kubelet,
                              struct kubelet_cmdline *out, struct kc_error *err);

/*
 * Scan proc_root for the kubelet. No trustworthy one running is KC_OK with
 * out->pid == 0 and out->why_none saying why: the caller may retry later.
 * Processes in another PID namespace than proc_root/self (a kind or
 * containerised kubelet seen from the host) are skipped when the namespace
 * links are readable. Several trusted kubelets (none or all in kubelet.service)
 * whose flags differ is KC_EINVAL (the agent cannot know which one is its own:
 * the flags must then be given); only root can start those.
 * Relative paths are made absolute against the kubelet's cwd.
 */
kc_code kubelet_discover(const char *proc_root, struct kubelet_info *out, struct kc_error *err);

/*
 * Is proc_root/<pid> still the process that started at start_time (a
 * kubelet_info's)? A restarted kubelet has another pid or, when its pid was
 * reused, another start time. One open and one small read: cheap to poll.
 */
bool kubelet_still_running(const char *proc_root, pid_t pid, unsigned long long start_time);

/*
 * staticPodPath of a KubeletConfiguration file plus the *.conf drop-ins of
 * config_dir (may be NULL). *path_out is NULL when none of them sets it (or
 * sets it to ""). A missing or malformed file is an error naming the file.
 */
kc_code kubelet_config_static_pod_path(const char *config_path, const char *config_dir,
                                       char **path_out, struct kc_error *err);

/*
 * Every kubelet_settings key of a KubeletConfiguration file plus the *.conf
 * drop-ins of config_dir (may be NULL), applied in the kubelet's order. On
 * success *out must be freed with kubelet_settings_free.
 */
kc_code kubelet_config_read(const char *config_path, const char *config_dir,
                            struct kubelet_settings *out, struct kc_error *err);
void kubelet_settings_free(struct kubelet_settings *ks);

/* A boolean flag value as Go's strconv.ParseBool reads it: 1, 0, or -1 (not one). */
int kubelet_parse_bool(const char *s);

void kubelet_cmdline_free(struct kubelet_cmdline *c);
void kubelet_info_free(struct kubelet_info *ki);

#endif
