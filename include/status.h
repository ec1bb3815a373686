/*
 * status.h: the agent's status file (default /run/kubelet-checkpoint/status.json)
 * and its JSON form, also printed by `kubelet-checkpoint status -o json`
 * (docs/design.md §4: the keys agent, flag, api, staticPodPath, checkpoints,
 * bridgeManifests are a contract; more may be added, none renamed).
 *
 * status_build() is pure (a snapshot in, a json_t out); status_write()
 * replaces the file atomically (fsutil), mode 0644, creating its directory
 * (0755) when missing.
 */
#ifndef KC_STATUS_H
#define KC_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kc_error.h"
#include "reachability.h"

/* A status file larger than this is not ours. */
#define STATUS_MAX_FILE (16u * 1024 * 1024)

struct status_checkpoint {
	const char *namespace; /* NULL: unknown (corrupt) -> JSON null */
	const char *name;
	const char *uid;
	const char *state;  /* "ok" | "corrupt" | "not-checkpointable" */
	const char *reason; /* NULL: none -> JSON null */
	bool active;        /* a bridge manifest exists for it */
	/* JSON array of strings (bridge_warnings.h); NULL -> [] */
	const json_t *warnings;
	/* Did the kubelet start its bridge (bridge_run.h): "starting", "running",
	 * "not-running", "unknown"; NULL: no bridge, or not known here (JSON null). */
	const char *bridge;
	const char *bridge_reason; /* why not-running / unknown; NULL: null */
	/* decision.h hand-off: "waiting" (bridge kept, the API answers, no parent
	 * container yet), "handed-off" (W1 withdrew it; watchdog armed),
	 * "timed-out" (W4); NULL: none (JSON null). */
	const char *handoff;
	const char *handoff_since; /* RFC 3339; NULL: unknown */
	unsigned watchdog_fires;   /* re-activations since the last completed hand-off */
};

struct status_snapshot {
	bool agent_running;
	pid_t pid;           /* 0: none -> JSON null */
	const char *version; /* NULL: left out */
	time_t started;      /* agent start, 0: left out */
	time_t updated;      /* when the snapshot was taken, 0: left out */
	const char *flag_path;
	bool flag_enabled;
	enum reach_state api; /* UNKNOWN -> reachable: null */
	time_t api_since;     /* 0: since null */
	/*
	 * UNKNOWN, but the API answers (a LIST succeeded and nothing failed
	 * since, at api_since): shown as reachable, "confirming" until the
	 * reachable-after window settles it for the bridge.
	 */
	bool api_answering;
	/* Cluster identity (decision.h): the kube-system UID the API answers
	 * (api.clusterUID, NULL: null), this Node in it (api.node: "present",
	 * "missing", "unknown"; NULL: left out), a checkpoint of another cluster
	 * (api.otherCluster) and collection suspended by a Node 404
	 * (api.collectionSuspended). */
	const char *cluster_uid;
	const char *node_presence;
	bool other_cluster;
	bool collection_suspended;
	const char *static_pod_path;
	const char *state_dir; /* NULL: left out */
	const struct status_checkpoint *checkpoints;
	size_t ncheckpoints;
	const char *const *bridge_manifests; /* file names */
	size_t nbridge_manifests;
	/* "local": where the agent learns which pods run here ("cri", "cgroups",
	 * "unknown") and why not better; NULL source: the key is left out. */
	const char *local_source;
	const char *local_reason; /* NULL: null */
	/* "cluster": which cluster the API serves (cluster_uid above, from
	 * api_cluster.c) and when the API last said so (0: null). */
	time_t cluster_seen;
	/* "bridgeOff": why the bridge cannot work (no static pod directory), NULL: null. */
	const char *bridge_off;
	const char *last_error; /* NULL: null */
	time_t last_error_time;
	/* What the agent waits for (agent.waitingFor, agent.waitingDetail):
	 * "kubelet", "kubeconfig", "staticPodPath"; NULL: nothing -> null. */
	const char *waiting_for;
	const char *waiting_detail;
	pid_t kubelet_pid; /* agent.kubeletPid; 0: none found -> null */
	/* agent.reload: answers to SIGHUP, for `kubelet-checkpoint reload`. */
	uint64_t reloads; /* 0: none yet (the key is left out) */
	/* "events": the Kubernetes Events owed to the cluster (event_queue.h);
	 * left out unless events_known. */
	bool events_known;
	size_t events_queued;
	uint64_t events_posted, events_aggregated, events_dropped, events_rejected;
	bool reload_ok;
	const char *reload_error; /* NULL: null */
	time_t reload_time;
};

kc_code status_build(const struct status_snapshot *s, json_t **out, struct kc_error *err);
kc_code status_write(const char *path, const struct status_snapshot *s, struct kc_error *err);

/* "2026-01-02T03:04:05Z" (UTC) into buf (at least 21 bytes). */
kc_code status_rfc3339(time_t t, char *buf, size_t bufsz, struct kc_error *err);

/*
 * Is pid a live agent of ours: a process running this very executable (its
 * /proc/<pid>/exe is the file /proc/self/exe is, or was before an upgrade
 * replaced it) as our uid? Not argv[0]: anyone can name a process
 * kubelet-checkpoint, and a stale status file must never make `reload`
 * signal an unrelated process that got the pid (issue 19 item 13). A caller
 * not allowed to look at the exe (an unprivileged `status`) goes by argv[0].
 */
bool status_pid_is_agent(pid_t pid);

#endif
