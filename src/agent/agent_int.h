/*
 * agent_int.h: the agent's context, shared by the modules of src/agent/.
 * `kubelet-checkpoint run`, the agent. One context, one thread, one
 * poll loop. Data flows one way: sources (the API through api_client, the
 * disk, the pod cgroups, the flag file) feed the parent table and the
 * reachability tracker; each pass hands a snapshot of them to the pure
 * decision function; the effects layer makes the staticPodPath and the state
 * dir match its verdict, then the status file, metrics and systemd are told.
 *
 * The modules below split that one job: agent.c owns the lifecycle and the
 * loop, agent_sync.c turns API events into checkpoints, agent_effects.c
 * applies a decision to disk, agent_report.c tells the world.
 */
#ifndef KC_AGENT_INT_H
#define KC_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent_config.h"
#include "agent_lock.h"
#include "api_client.h"
#include "bridge_dir.h"
#include "bridge_warnings.h"
#include "checkpoint_store.h"
#include "credential_providers.h"
#include "decision.h"
#include "event_queue.h"
#include "agent.h"
#include "kc_error.h"
#include "local_pods.h"
#include "local_state.h"
#include "notify.h"
#include "parent_table.h"
#include "reachability.h"
#include "render.h"
#include "fs_watch.h"
#include "handoff_file.h"

/*
 * What the agent waits for before it can do its job, said in the log once
 * (then rarely), in status (agent.waitingFor) and metrics
 * (kubelet_checkpoint_waiting{for=...}). See agent_wait.c.
 */
enum agent_wait {
	AGENT_WAIT_NONE = 0,
	AGENT_WAIT_KUBELET,         /* its settings are needed and no kubelet runs */
	AGENT_WAIT_KUBECONFIG,      /* the kubeconfig does not exist (before kubeadm join) */
	AGENT_WAIT_KUBELET_CONFIG,  /* the kubelet's --config does not exist (the same) */
	AGENT_WAIT_STATIC_POD_PATH, /* missing, or read-only inside the service */
	AGENT_WAIT_COUNT,
};

/*
 * What the API said of the cluster and of this node (docs/design.md §6,
 * "Cluster identity" and "Collect"): the API client's answers land here
 * (agent_sync.c), the pass reads them. An API whose kube-system or
 * default/kubernetes Service UID is not the one a checkpoint recorded is
 * another cluster (decision.h).
 */
enum agent_node_presence {
	AGENT_NODE_UNKNOWN = 0,
	AGENT_NODE_PRESENT,
	AGENT_NODE_MISSING, /* GET nodes/<self> answered 404: collection is suspended */
};

struct agent_cluster {
	char
	    uid[LOCAL_POD_UID_MAX + 1]; /* kube-system Namespace UID the API answered; "" unknown */
	int64_t uid_ms;                 /* when (monotonic), -1 never */
	/* Service default/kubernetes UID the API answered; "" unknown */
	char service_uid[LOCAL_POD_UID_MAX + 1];
	int64_t service_uid_ms; /* when (monotonic), -1 never */
	enum agent_node_presence node;
	int64_t node_ms; /* when (monotonic), -1 never */
};

/*
 * The hand-off records and quiet clock on disk (handoff_file.h, saved and
 * loaded by agent_effects.c): this boot's id ("" unknown: nothing is saved)
 * and the bytes last written (written again only when they change).
 */
struct agent_handoff_file {
	char boot_id[HANDOFF_BOOT_ID_MAX + 1];
	struct kc_buf saved;
	bool save_failed; /* said once until a write succeeds */
};

/* Events owed to the cluster and the one POST in flight (agent_events.c). */
struct agent_event_post {
	struct evq queue;
	bool in_flight; /* a POST of id (count count) is running */
	uint64_t id;
	unsigned count;
	bool patch; /* the request in flight is a PATCH of a posted Event */
	unsigned failures;
	int64_t retry_ms;
};

/* What the agent waits for now, since when, and when the log said so (agent_wait.c). */
struct agent_wait_state {
	enum agent_wait what;
	int64_t since_ms;
	int64_t said_ms;
	char detail[KC_ERROR_MSG_MAX]; /* the path or reason, for status and the log */
};

/* Reload requests (SIGHUP, agent.c). */
struct agent_reload_state {
	bool requested;
	uint64_t answered;            /* requests answered */
	bool ok;                      /* the last one took effect */
	char error[KC_ERROR_MSG_MAX]; /* why it did not */
	time_t wall;
};

/*
 * What the log has said once (or says again only now and then), so that a
 * state that lasts is not repeated at every pass. Each flag belongs to the
 * module that says it; they live here so the report can show the same.
 */
struct agent_said {
	bool static_dir_missing; /* "staticPodPath does not exist" */
	bool bridge_off;         /* "bridge off" (no staticPodPath) */
	enum reach_state reach;  /* the reachability last announced */
	bool other_cluster;      /* "another cluster" */
	bool node_missing;       /* "Node is 404: collection suspended" */
	/* "local pods unknown": a flag, not the last state (unknown from the start
	 * is said too), again every LOCAL_UNKNOWN_REPEAT_MS */
	bool local_unknown;
	int64_t local_unknown_ms;
	enum local_source local_source; /* the source last announced */
	bool kubelet_gone;              /* "the kubelet exited", none adopted since */
	bool refusal_advice;            /* the kubeconfig advice, for this run of 401/403 */
};

struct agent {
	struct agent_config *cfg;
	struct render_opts ropts; /* points into cfg */
	struct kubeconfig *kubeconfig;
	struct api_client *api;
	struct reachability reach;
	struct agent_cluster cluster;
	struct fs_watch *watch;
	struct ckpt_store *store;
	struct bridge_dir *bridge; /* NULL while the staticPodPath does not exist */
	struct parent_table parents;
	struct local_state local; /* container runtime, then pod cgroups */
	struct notify_conn notify;
	struct agent_lock lock; /* this agent's claim on its directories */
	int sigfd;
	int64_t refused_since_ms; /* first of the current run of 401/403 (0: none) */
	struct agent_wait_state wait;
	struct agent_reload_state reload;
	struct agent_said said;

	bool flag_on;
	bool listed; /* the API was listed since start or reload */
	bool dirty;  /* run a pass as soon as possible */
	bool stop;
	bool ready_sent;
	int64_t ready_hold_ms;      /* READY awaits the first API contact until then (0: no wait) */
	bool static_dir_moved;      /* the staticPodPath was absent or replaced since start */
	bool fatal;                 /* end the loop with exit status 1 (last_error says why) */
	bool verify_disk;           /* the checkpoint dir changed: verify its files */
	bool effects_dirty;         /* the staticPodPath or a cached manifest changed */
	uint64_t applied_sig;       /* the decision output last made true on disk */
	bool activation_timed;      /* overhead logged since the window ended */
	json_t *ignored_logged;     /* prefixed foreign files already logged */
	json_t *ckpt_retry;         /* uids whose checkpoint write failed (object) */
	int64_t ckpt_retry_ms;      /* when to retry those writes */
	bool awaiting_api_answer;   /* the API is asked every second (await_api_answer) */
	int64_t last_activation_ms; /* kc_clock_ms of the last bridge written; -1 none */
	/* decision.h inputs the effects keep: the staticPodPath was listed once
	 * (bridge_written_ms known), and the last pass a bridge was on disk. */
	bool bridges_listed;
	bool bridge_seen;
	int64_t last_bridge_ms;
	struct agent_handoff_file handoff_file;
	bool local_looked; /* local state was read at least once */

	int64_t start_ms;
	time_t start_wall;
	time_t reach_since_wall;
	time_t last_success_wall;
	int64_t next_pass_ms;
	int64_t next_watchdog_ms;

	uint64_t activations, withdrawals;
	size_t nactive;              /* our manifests on disk after the last pass */
	size_t nbridges_not_running; /* of those, NOT_RUNNING (bridge_run.h) */
	char **bridge_files;         /* their names, for status */
	size_t nbridge_files;
	struct agent_event_post ev; /* Kubernetes Events owed to the cluster */
	json_t *activated_at;       /* uid -> kc_clock_ms() its bridge manifest was written at */

	/* The kubelet's pid, looked at again every few seconds (agent.c, follow_kubelet). */
	int64_t kubelet_check_ms; /* when next */

	/* What the node's kubelet makes bridges do, 1.35+ (agent_node_facts.c). */
	struct credential_providers cred_providers;
	struct bridge_node bridge_node; /* points into cred_providers */

	struct kc_error last_error;
	time_t last_error_time;
};

/*
 * agent_node_facts.c: read (again) what the node's kubelet makes bridges do
 * and say what matters at start; free it. Never fatal.
 */
void agent_node_facts_load(struct agent *a);
void agent_node_facts_free(struct agent *a);

/* agent_sync.c: API callbacks and the disk state they produce. */
void agent_sync_callbacks(struct agent *a, struct api_callbacks *cb);
kc_code agent_sync_load_disk(struct agent *a, struct kc_error *err);
/*
 * The sync work a loop turn owes before its pass: if the checkpoint dir
 * changed, a damaged or lost file of a parent is fetched and written again;
 * when due, failed checkpoint writes are retried. Returns when sync next
 * wants a turn (REACH_NEVER: not for itself).
 */
int64_t agent_sync_turn(struct agent *a, int64_t now_ms);
/*
 * agent_confirm.c: start the quorum read the decision asks for (one at a
 * time), if any; returns when to ask again (a Node that was 404), else
 * REACH_NEVER. The API client's answers (api_callbacks pod_confirmed and
 * node_confirmed, ctx is the agent).
 */
int64_t agent_confirm_wanted(struct agent *a, const struct decision_result *res, const size_t *idx);
void agent_pod_confirmed(void *ctx, const char *uid, enum api_confirm_result res,
                         const json_t *pod);
void agent_node_confirmed(void *ctx, enum api_confirm_result res);

/*
 * agent_mirror.c: our bridges' mirror pods. agent_mirror_source_uid: the
 * parent UID a pod names when it is the mirror pod of our bridge on node,
 * else NULL (pure). agent_mirror_seen: a watched or listed pod; true when it
 * is a mirror pod (of ours or not: never a parent), noted when ours;
 * agent_mirror_deleted likewise for a DELETED one.
 * agent_mirror_delete: the bridges of parents source_uids are about to be
 * withdrawn: DELETE their mirror pods now (waits at most a second; at most
 * AGENT_MIRROR_BATCH_MAX in one call, the rest are left to the kubelet).
 */
const char *agent_mirror_source_uid(const json_t *pod, const char *node);
bool agent_mirror_seen(struct agent *a, const json_t *pod);
bool agent_mirror_deleted(struct agent *a, const json_t *pod);
void agent_mirror_forget_all(struct agent *a);
#define AGENT_MIRROR_BATCH_MAX 64
void agent_mirror_delete(struct agent *a, const char *const *source_uids, size_t n);

/* agent_effects.c: one pass of decision and effects at now_ms; sets next_pass_ms. */
void agent_pass(struct agent *a, int64_t now_ms);
/* Withdraw every bridge manifest of ours from old, the staticPodPath a reload left. */
void agent_withdraw_from(struct agent *a, struct bridge_dir *old, const char *old_dir);
/*
 * At start and reload, after the checkpoints are loaded: the hand-off records
 * and quiet clock the last agent of this boot saved, or the conservative
 * state when they cannot be known (docs/design.md §6).
 */
void agent_handoffs_load(struct agent *a);

/*
 * agent_wait.c: the prerequisites. agent_wait_missing looks at the config:
 * kubelet_missing, then a kubeconfig that does not exist. agent_wait_set
 * records what the agent now waits for (NONE: nothing) and logs it once
 * when it starts, every AGENT_WAIT_REMIND_MS while it lasts, and when it
 * ends.
 */
#define AGENT_WAIT_REMIND_MS (10 * 60 * 1000)
enum agent_wait agent_wait_missing(const struct agent_config *cfg, char *detail, size_t size);
void agent_wait_set(struct agent *a, enum agent_wait w, const char *detail, int64_t now_ms);
/* "kubelet", "kubeconfig", "staticPodPath": status value and metrics label. */
const char *agent_wait_name(enum agent_wait w);
/* Reload answered: ok, or why not (the running configuration stays). */
void agent_reload_answer(struct agent *a, const struct kc_error *why);

/*
 * agent_effects.c: the kubelet did not start r's bridge (said once per
 * activation): the log says so; the place to tell the cluster too (Event).
 */
void agent_bridge_not_running(struct agent *a, const struct parent_rec *r);

/* agent_report.c: status file, metrics file, systemd. */
/* How long READY=1 may wait at start for the first API contact (boot order). */
#define AGENT_READY_PROBE_MS 5000
/* Why a bridge is in state s, for status ("kubelet did not start it: ..."), or NULL. */
const char *agent_bridge_run_reason(enum bridge_run_state s);
/* Is r's bridge manifest in the staticPodPath (as of the last pass)? */
bool agent_bridge_on_disk(const struct agent *a, const struct parent_rec *r);
void agent_report(struct agent *a);
void agent_note_error(struct agent *a, const struct kc_error *err);

/* agent_events.c: Kubernetes Events, posted once the API is reachable. */
/* Raise an event on pod ns/name (on the Node when ns or name is unknown). */
void agent_event_pod(struct agent *a, const char *ns, const char *name, const char *uid,
                     bool warning, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Seconds as "1h02m03s" / "2m03s" / "7s". */
void agent_event_duration(int64_t s, char *buf, size_t n);
/* The API client's answer to the POST of event id. */
void agent_events_posted(struct agent *a, uint64_t id, enum api_post_result res,
                         const char *detail);
/* Post the oldest event if it is time; returns when to come back (REACH_NEVER: on an event). */
int64_t agent_events_turn(struct agent *a, int64_t now);

/*
 * agent_trust.c: may the agent use kc? A kubeconfig it was not given must
 * name an https server and credentials; http needs allowInsecureHttp (then
 * a warning); a client certificate of another node than cfg->node_name is
 * KC_EINVAL naming both.
 */
kc_code agent_check_kubeconfig(const struct agent_config *cfg, const struct kubeconfig *kc,
                               struct kc_error *err);
/* The same at start, before any wait, for what is known by then (an existing kubeconfig). */
kc_code agent_check_early(const struct agent_config *cfg, struct kc_error *err);

#endif
