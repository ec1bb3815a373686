/*
 * agent_config.h: the configuration of `kubelet-checkpoint run` (docs/design.md §4).
 *
 * Every flag of run is also a camelCase key of an optional YAML config file
 * (--config FILE); flags win over the file. What neither gives is resolved
 * from the running kubelet (kubelet_discovery.h), then from the defaults:
 *
 *   kubeconfig     kubelet --kubeconfig, else /etc/kubernetes/kubelet.conf
 *   nodeName       kubelet --hostname-override, else the host name (both
 *                  trimmed and lowercased, as the kubelet does)
 *   kubeletConfig  kubelet --config, else /var/lib/kubelet/config.yaml
 *   staticPodPath  kubelet --pod-manifest-path when given (the kubelet
 *                  re-applies its flags over its config file, so the flag is
 *                  what it watches), else staticPodPath of the kubelet config
 *                  (plus the kubelet's --config-dir drop-ins), else
 *                  /etc/kubernetes/manifests. When kubeletConfig was named
 *                  (flag or file) and is not the running kubelet's own
 *                  --config, that file's staticPodPath comes first and the
 *                  kubelet's --pod-manifest-path only fills in.
 *
 * Relative paths are made absolute: a flag's against the cwd, a config
 * file's against the file's directory. Each resolved value records where it
 * came from, so run can log what it chose and why. Loading depends only on
 * argv and what it reads (the files, the proc root, the host name): SIGHUP
 * reload is the same call again, and a failed load leaves nothing behind.
 *
 * The kubelet is looked for only when a setting is left to it; when the
 * kubeconfig or the kubelet config would then come from the defaults
 * because no kubelet runs, kubelet_missing says so and the agent
 * waits for the kubelet (agent_wait.h) rather than guess the node's identity.
 */
#ifndef KC_AGENT_CONFIG_H
#define KC_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "kc_error.h"

#define AGENT_DEFAULT_KUBECONFIG        "/etc/kubernetes/kubelet.conf"
#define AGENT_DEFAULT_KUBELET_CONFIG    "/var/lib/kubelet/config.yaml"
#define AGENT_DEFAULT_STATIC_POD_PATH   "/etc/kubernetes/manifests"
#define AGENT_DEFAULT_FLAG_FILE         "/etc/kubelet-checkpoint/enabled"
#define AGENT_DEFAULT_CGROUP_ROOT       "/sys/fs/cgroup"
#define AGENT_DEFAULT_RUNTIME_ENDPOINT  "unix:///run/containerd/containerd.sock"
#define AGENT_DEFAULT_STATUS_FILE       "/run/kubelet-checkpoint/status.json"
#define AGENT_DEFAULT_NAMESPACE         "kube-system"
#define AGENT_DEFAULT_UNREACHABLE_AFTER 30
#define AGENT_DEFAULT_REACHABLE_AFTER   15
#define AGENT_DEFAULT_GC_GRACE          60
#define AGENT_DEFAULT_HANDOFF_TIMEOUT   600
#define AGENT_DEFAULT_STARTUP_SPREAD    30
#define AGENT_DEFAULT_BRIDGE_START      60
#define AGENT_DEFAULT_BRIDGE_GRACE      5
/* Upper bound of every seconds setting: a larger value is a unit mistake. */
#define AGENT_MAX_SECONDS (30u * 24 * 3600)
/* Largest config file accepted. */
#define AGENT_CONFIG_FILE_MAX (1024u * 1024)

/* Where a setting's value came from. */
enum agent_source {
	AGENT_SRC_DEFAULT = 0,
	AGENT_SRC_FLAG,
	AGENT_SRC_CONFIG_FILE,
	AGENT_SRC_KUBELET_CMDLINE,
	AGENT_SRC_KUBELET_CONFIG,
	AGENT_SRC_HOSTNAME,
};

/* The settings, in the order they are logged; indexes agent_config.source. */
enum agent_setting {
	AGENT_KUBECONFIG = 0,
	AGENT_NODE_NAME,
	AGENT_KUBELET_CONFIG,
	AGENT_STATIC_POD_PATH,
	AGENT_STATE_DIR,
	AGENT_FLAG_FILE,
	AGENT_CGROUP_ROOT,
	AGENT_CONTAINER_RUNTIME_ENDPOINT,
	AGENT_UNREACHABLE_AFTER,
	AGENT_REACHABLE_AFTER,
	AGENT_GC_GRACE,
	AGENT_HANDOFF_TIMEOUT,
	AGENT_STARTUP_SPREAD,
	AGENT_BRIDGE_START_TIMEOUT,
	AGENT_BRIDGE_GRACE_PERIOD,
	AGENT_STATUS_FILE,
	AGENT_METRICS_FILE,
	AGENT_ANNOTATION,
	AGENT_NAMESPACE,
	AGENT_VERBOSITY,
	AGENT_ALLOW_INSECURE_HTTP,
	AGENT_SETTING_COUNT,
};

struct agent_strlist {
	char **items;
	size_t len;
};

struct agent_config {
	char *config_file;    /* --config or --optional-config, or NULL */
	bool config_optional; /* --optional-config: a missing file is no error */
	bool config_missing;  /* ... and it was missing: the defaults apply */

	char *kubeconfig;
	char *node_name;
	char *kubelet_config;
	char *static_pod_path;
	char *state_dir;
	char *flag_file;
	char *cgroup_root;
	char *container_runtime_endpoint; /* "unix:///path" or "/path" */
	unsigned unreachable_after;       /* seconds, >= 1 */
	unsigned reachable_after;         /* seconds, >= 1 */
	unsigned gc_grace;                /* seconds, >= 0 */
	unsigned handoff_timeout;         /* seconds, >= 1: decision.h W4 */
	unsigned startup_spread;          /* seconds, >= 0: first LIST at a random instant */
	unsigned bridge_start_timeout; /* seconds, >= 1: a bridge not running by then is reported */
	unsigned bridge_grace_period; /* seconds: cap of a bridge's terminationGracePeriodSeconds */
	char *status_file;
	char *metrics_file;               /* NULL: no metrics file */
	struct agent_strlist annotations; /* trigger annotation keys, >= 1 */
	struct agent_strlist namespaces;  /* allow-list, >= 1; "*" = all */
	bool all_namespaces;              /* namespaces holds "*" */
	int verbosity;                    /* -v count */
	bool allow_insecure_http;         /* a named kubeconfig may use http:// */

	pid_t kubelet_pid; /* the kubelet consulted, 0 if none was (needed or found) */
	unsigned long long kubelet_start_time; /* its start (kubelet_still_running) */
	/*
	 * Where the kubelet puts pod cgroups (its cgroupRoot, cgroupDriver,
	 * cgroupsPerQOS: its config file, drop-ins and flags); not settings of
	 * ours. NULL root/driver: unset (root "/", driver unknown).
	 */
	char *kubelet_cgroup_root;
	char *kubelet_cgroup_driver;
	bool kubelet_cgroups_per_qos;
	/* 1.35+ checks (agent_node_facts.c): its failCgroupV1 (-1 unset) and
	 * --image-credential-provider-config (NULL: none, or not known). */
	int kubelet_fail_cgroup_v1;
	char *kubelet_image_credential_provider_config;
	/*
	 * Non-empty: the bridge is off, and why (the kubelet watches no static
	 * pod directory: no staticPodPath in its config, no --pod-manifest-path).
	 * Nothing is written or withdrawn anywhere then.
	 */
	char bridge_off[KC_ERROR_MSG_MAX];
	/* Non-empty: our staticPodPath was given, but the kubelet config names none. */
	char static_pod_path_unread[KC_ERROR_MSG_MAX];
	/* The kubelet config could not be read for these (logged at start), or "". */
	char kubelet_config_problem[KC_ERROR_MSG_MAX];
	/* A kubelet was needed (kubeconfig or kubelet config not given)
	 * and none was found: the values are defaults the agent must not use yet. */
	bool kubelet_missing;
	char kubelet_why_none[320]; /* kubelet_pid 0: why no kubelet was adopted */
	/* The running kubelet's --config does not exist (yet): staticPodPath is a guess. */
	bool kubelet_config_missing;
	enum agent_source source[AGENT_SETTING_COUNT];
};

/* The system the configuration is resolved against; tests use fakes. */
struct agent_env {
	const char *proc_root; /* NULL: "/proc" */
	const char *hostname;  /* NULL: gethostname() */
};

/*
 * Parse run's argv (argv[0] is "run"; argv is not modified), read --config,
 * resolve the rest. Bad flags, unknown keys, wrong types and bad values are
 * KC_EINVAL naming the flag ("--gc-grace") or the key ("config.yaml:
 * gcGrace"); a named file that cannot be read is KC_ENOTFOUND/KC_EIO.
 * On success *out is a new config for agent_config_free().
 */
kc_code agent_config_load(int argc, char *const argv[], const struct agent_env *env,
                          struct agent_config **out, struct kc_error *err);

void agent_config_free(struct agent_config *cfg);

/* The flag name of a setting ("node-name"), its config key ("nodeName"). */
const char *agent_setting_flag(enum agent_setting s);
const char *agent_setting_key(enum agent_setting s);
/* "flag", "config file", "kubelet cmdline", "kubelet config", "host name", "default". */
const char *agent_source_name(enum agent_source src);

/* One INFO line per setting: "config: nodeName=worker-1 (kubelet cmdline)". */
void agent_config_log(const struct agent_config *cfg);

/* -h or --help among run's arguments: print the usage and exit 0 instead of loading. */
bool agent_config_wants_help(int argc, char *const argv[]);

/* Usage text of run's flags, generated from the same table the parser uses. */
void agent_config_print_usage(FILE *f);

#endif
