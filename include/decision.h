/*
 * decision.h: THE decision (docs/design.md §6), as one pure function: which
 * bridge manifests should exist, which checkpoints should be dropped, and what
 * the hand-off state of each becomes, given the checkpoints, the flag, API
 * reachability, the cluster identity, the pods running locally and the
 * agent's hand-off records. No I/O, no clock: "now" is an input (monotonic
 * ms; bridge_written_ms and the runtime's creation times are wall-clock ms,
 * compared only with each other). The effects layer diffs the output
 * against the staticPodPath.
 *
 * "The kubelet cannot get its pods" = the API is UNREACHABLE or REFUSED
 * (401/403 for the window: the kubelet has the same identity). "On disk" =
 * the checkpoint's bridge manifest is in the staticPodPath (its written time
 * is known, bridge_written_ms >= 0). The cluster's identity is two UIDs, each
 * made anew by a new or wiped etcd: the kube-system Namespace's (the strong
 * one; a stock Node authorizer does not let a node read it, so it may be
 * unknown) and the Service default/kubernetes's (which the apiserver's
 * bootstrap controller creates in a new etcd; nodes may read Services).
 * "Another cluster" = a pair known on both sides (checkpoint, API now)
 * differs. "Same cluster" = not another, and the kube-system UIDs are both
 * known and equal or, when either is unknown, the Service UIDs are. A
 * checkpoint written by an older agent, or with neither pair known on both
 * sides, is NOT the same cluster (nothing is withdrawn by rules 3-4 or
 * collected on the word of an API it cannot tell apart from a new etcd).
 *
 * Per checkpoint, in this order (first match wins):
 *   corrupt                        -> INACTIVE_CORRUPT (never activated, never dropped)
 *   not checkpointable             -> INACTIVE_NOT_CHECKPOINTABLE
 *   manifest name invalid          -> INACTIVE_BAD_NAME
 *   another ok checkpoint of the same group wins
 *                                  -> INACTIVE_SHADOWED (see "groups")
 *   W5 flag off                    -> INACTIVE_FLAG_OFF
 *   W1 on disk, and a container of the parent created after the bridge was
 *      written is in the runtime (any state; with cgroups only or sandbox
 *      data, the parent's entry), and the batch is due (below)
 *                                  -> INACTIVE_HANDED_OFF, item.handed_off
 *      (W1 holds but the batch is not due -> HOLD_HANDOFF)
 *   a UID of the group runs here   -> INACTIVE_RUNNING_LOCALLY (a RUNNING
 *                                     container; with cgroups only, the pod
 *                                     cgroup; unknown is not "not running")
 *   W2 the bridge holds host ports (non-hostNetwork parent) and the API
 *      answered (reach_view.answered, also from UNKNOWN at start)
 *                                  -> INACTIVE_API_ANSWERED
 *   W3 same cluster, and a quorum read confirmed the parent gone or
 *      ineligible                  -> INACTIVE_CONFIRMED_GONE
 *   W4 on disk, same cluster, REACHABLE for handoff_timeout (the parent
 *      never got a container, else W1) -> INACTIVE_HANDOFF_TIMEOUT,
 *                                     item.handoff_timed_out (warn)
 *   a hand-off is under way (handed_off_ms >= 0) and the watchdog is not due
 *                                  -> INACTIVE_HANDED_OFF
 *   the API last showed the parent deleted, opted out, finished or
 *      terminating (parent ABSENT) -> HOLD_PARENT_ABSENT on disk (kept until
 *                                     W3 confirms), else INACTIVE_PARENT_ABSENT
 *   API state unknown (start)      -> HOLD_API_UNKNOWN
 *   the kubelet can get its pods (REACHABLE)
 *                                  -> HOLD_HANDOFF on disk, else INACTIVE_API_REACHABLE
 *   local pods unknown             -> HOLD_LOCAL_UNKNOWN
 *   otherwise                      -> ACTIVE (item.watchdog_fired when a
 *                                     hand-off was under way)
 * ACTIVE: the manifest must exist. HOLD: keep the manifest if it is on disk,
 * never create it. INACTIVE: the manifest must not exist. So a bridge is
 * withdrawn only by W1-W5 (or when it is shadowed, corrupt, ...), NEVER merely
 * because the API answers: in a self-hosted control plane the API that answers
 * is served by the bridges themselves (issue 18 defect 1), and the kubelet
 * builds an API pod's containers only once its informers synced, so a READY
 * parent sandbox proves nothing (defect 2): a created container does.
 *
 * W1 batch: the bridges W1 withdraws go together, in one pass, when every
 * other bridge on disk (ok, not shadowed) also meets W1, or once
 * DECISION_HANDOFF_BATCH_MS have passed since the earliest of their parents'
 * containers was created (wall clock; a creation time in the future or
 * further back than the wait counts as due; with cgroups only, at once). In
 * a self-hosted control plane the etcd and kube-apiserver parents get their
 * containers a second or three apart; withdrawn apart, the second bridge's
 * mirror pod can no longer be deleted through the API (the first took it
 * down) and the kubelet's housekeeping then blocks on it (api_mirror.c).
 * With every bridge meeting W1, the batch still waits until the newest
 * container of each parent is DECISION_HANDOFF_SETTLE_MS old: a hostNetwork
 * parent's first exit is restarted at once and dies on the bridge's port
 * again, then the kubelet backs off 10 s. Withdrawn after that second
 * start, the bridges are gone (their grace is 5 s at most) before the
 * third, and the API gap starts 1-3 s later than it would at the first
 * container: the wait shortens the gap, it never lengthens it.
 *
 * Hand-off watchdog (W1 may hand off to a parent that then never runs): the
 * agent records handed_off_ms when W1 withdraws. The hand-off is done
 * (item.handoff_done: the agent forgets the record and the backoff) once a
 * parent container has run HANDOFF_RUN_MS without a break (parent_run_ms).
 * Otherwise, from HANDOFF_WATCH_MS after the withdrawal, the bridge is
 * activated again (item.watchdog_fired) if every activation condition holds
 * (the kubelet still cannot get its pods, the parent does not run, ...), at
 * most once per backoff: 2, 4, 8 ... 30 min between two re-activations
 * (decision_watchdog_backoff_ms). The records are inputs; the item says what
 * changes. The agent keeps them, and last_bridge_ms, across its restarts
 * (src/agent/handoff_file.h); when they are unknown it passes the
 * conservative values (a hand-off under way since its start).
 *
 * Groups: checkpoints that map to one manifest file (same namespace/name: an
 * old UID replaced by a new pod of the same name), and checkpoints whose
 * parents have the same controller ownerReference of kind DaemonSet (a
 * rollout replaces the node's one pod by a new one with a new name). A
 * DaemonSet runs at most one pod per node, so two of its pods here are two
 * generations of one workload and never both wanted. ReplicaSet pods are NOT
 * grouped: several replicas of one ReplicaSet may legitimately share a node,
 * and grouping them would leave all but one unbridged. The winner is the ok
 * one whose parent is still in the API, then the newest creationTimestamp,
 * then the greatest UID; the others are SHADOWED. If any UID of the group
 * runs locally, the workload runs: the winner is INACTIVE_RUNNING_LOCALLY.
 *
 * Collection (item.drop: withdraw, then delete the checkpoint and volumes),
 * never for a corrupt file, only when all hold: the API is REACHABLE and of
 * the same cluster; a quorum read confirmed the parent gone or ineligible
 * (confirmed_gone) and it has been absent for gc_grace; this Node is PRESENT
 * in the API (a 404 suspends collection, loudly); no bridge of this node is
 * on disk or wanted now, and none was for DECISION_BRIDGE_QUIET_MS
 * (last_bridge_ms). The quorum reads are asked for only when needed
 * (item.confirm_parent, result.confirm_node): a parent absent from the watch
 * whose bridge is on disk (W3) or whose grace has passed (collection).
 */
#ifndef KC_DECISION_H
#define KC_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"
#include "local_pods_set.h"
#include "reachability.h"

/* "kubelet-checkpoint_" + 63 + "_" + 253 + ".yaml" + NUL */
#define DECISION_MANIFEST_MAX 352

#define HANDOFF_RUN_MS             (30 * 1000)      /* a parent container ran this long: done */
#define HANDOFF_WATCH_MS           (120 * 1000)     /* ... within this long after W1 */
#define DECISION_WATCHDOG_MIN_MS   (2 * 60 * 1000)  /* first backoff between re-activations */
#define DECISION_WATCHDOG_MAX_MS   (30 * 60 * 1000) /* backoff ceiling */
#define DECISION_BRIDGE_QUIET_MS   (10 * 60 * 1000) /* no collection this soon after a bridge */
#define DECISION_HANDOFF_BATCH_MS  (3 * 1000)       /* W1 waits this long for the other bridges */
#define DECISION_HANDOFF_SETTLE_MS (2 * 1000) /* ... and its newest parent containers this long */

enum decision_ckpt_state {
	DECISION_CKPT_OK = 0,
	DECISION_CKPT_CORRUPT,
	DECISION_CKPT_NOT_CHECKPOINTABLE,
};

enum decision_parent {
	DECISION_PARENT_UNKNOWN = 0, /* API not listed yet this run */
	DECISION_PARENT_PRESENT,     /* an eligible parent with this UID is in the API */
	DECISION_PARENT_ABSENT,      /* gone or no longer eligible, since absent_since_ms */
};

struct decision_checkpoint {
	const char *uid;
	const char *namespace; /* NULL when unknown (corrupt file) */
	const char *name;      /* NULL when unknown (corrupt file) */
	/* metadata.creationTimestamp as the API writes it (RFC 3339, UTC, "Z"),
	 * so string order is time order; NULL or "" sorts oldest. */
	const char *created;
	enum decision_ckpt_state state;
	enum decision_parent parent;
	int64_t parent_absent_since_ms; /* monotonic; only when parent is ABSENT */
	bool host_ports;                /* its bridge manifest holds host ports */
	/* UID of the parent's controller ownerReference of kind DaemonSet; NULL/"" none */
	const char *owner_ds_uid;
	/* kube-system Namespace UID recorded in the checkpoint; NULL/"" unknown */
	const char *cluster_uid;
	/* Service default/kubernetes UID recorded in the checkpoint; NULL/"" unknown */
	const char *cluster_service_uid;
	/* A quorum read (no resourceVersion) answered 404, another UID or an
	 * ineligible pod since the parent went ABSENT. */
	bool confirmed_gone;
	int64_t bridge_written_ms; /* wall ms its manifest on disk was written; -1: not on disk */
	/* The agent's hand-off records (parent_table): */
	int64_t handed_off_ms;    /* monotonic, when W1 withdrew it; -1: no hand-off */
	unsigned watchdog_fires;  /* re-activations since the last completed hand-off */
	int64_t watchdog_last_ms; /* monotonic, the last one; -1 none */
	int64_t parent_run_ms;    /* how long a parent container has run without a break; -1 */
};

enum decision_node {
	DECISION_NODE_UNKNOWN = 0,
	DECISION_NODE_PRESENT, /* GET nodes/<self> answered 200 */
	DECISION_NODE_MISSING, /* ... 404: collection is suspended */
};

struct decision_input {
	const struct decision_checkpoint *checkpoints;
	size_t count;
	bool flag_on;
	struct reach_view api;          /* reachability_view(r, now_ms) */
	const struct local_pods *local; /* NULL is UNKNOWN */
	int64_t gc_grace_ms;
	int64_t now_ms;
	const char *cluster_uid;         /* kube-system UID the API answers now; NULL/"" unknown */
	const char *cluster_service_uid; /* default/kubernetes Service UID now; NULL/"" unknown */
	enum decision_node node;
	int64_t handoff_timeout_ms;
	int64_t last_bridge_ms; /* monotonic: last pass with a bridge on disk; -1 never */
	int64_t now_wall_ms;    /* wall-clock now, for the runtime's creation times (W1 batch) */
};

enum decision_verdict {
	DECISION_ACTIVE = 0,
	DECISION_HOLD_API_UNKNOWN,
	DECISION_HOLD_LOCAL_UNKNOWN,
	DECISION_INACTIVE_FLAG_OFF,
	DECISION_INACTIVE_API_REACHABLE,
	DECISION_INACTIVE_RUNNING_LOCALLY,
	DECISION_INACTIVE_SHADOWED,
	DECISION_INACTIVE_CORRUPT,
	DECISION_INACTIVE_NOT_CHECKPOINTABLE,
	DECISION_INACTIVE_BAD_NAME,
	DECISION_INACTIVE_API_ANSWERED,
	DECISION_HOLD_PARENT_ABSENT,
	DECISION_HOLD_HANDOFF,
	DECISION_INACTIVE_PARENT_ABSENT,
	DECISION_INACTIVE_HANDED_OFF,
	DECISION_INACTIVE_CONFIRMED_GONE,
	DECISION_INACTIVE_HANDOFF_TIMEOUT,
};

struct decision_item {
	enum decision_verdict verdict;
	bool drop;          /* gc: withdraw its manifest, then delete the checkpoint */
	size_t shadowed_by; /* index of the group winner when SHADOWED */
	/* What changes in the agent's hand-off records: */
	bool handed_off;        /* W1 withdraws it now: record handed_off_ms = now */
	bool handoff_done;      /* a parent container ran HANDOFF_RUN_MS: forget the records */
	bool watchdog_fired;    /* activated again by the watchdog (warn) */
	bool handoff_timed_out; /* W4 (warn) */
	bool confirm_parent;    /* a quorum read of the parent is needed */
	char manifest[DECISION_MANIFEST_MAX]; /* "" when the name is unknown/invalid */
};

struct decision_result {
	struct decision_item *items; /* one per input checkpoint, same order */
	size_t count;
	size_t nactive, nhold, ndrop;
	/* Earliest instant > now at which the output can change with no new
	 * input event (GC deadline or reachability window); REACH_NEVER if none. */
	int64_t next_change_ms;
	/*
	 * A kept manifest holds host ports: its withdrawal waits for the first
	 * API success, which must come before the kubelet's own relist (see
	 * "hand-off" above), so the API is to be asked often while this holds.
	 */
	bool awaits_api_answer;
	/* A collection waits only for GET nodes/<self> (node not known PRESENT). */
	bool confirm_node;
	/* A collection is due but this Node is 404 in the API (say it loudly). */
	bool node_missing_blocks;
	/* The API answers another cluster than a checkpoint recorded (a UID
	 * known on both sides differs): nothing is withdrawn by W3/W4 or collected
	 * on its word. Also set when a checkpoint with no recorded cluster would
	 * be collected. */
	bool other_cluster;
};

/* KC_EINVAL for a checkpoint without a uid; KC_ENOMEM. */
kc_code decision_compute(const struct decision_input *in, struct decision_result *out,
                         struct kc_error *err);
void decision_result_free(struct decision_result *r);

/* Does the verdict keep (ACTIVE, HOLD) the item's manifest on disk? */
bool decision_keeps_manifest(enum decision_verdict v);
/* Short stable name: "active", "hold-api-unknown", "flag-off", ... */
const char *decision_verdict_name(enum decision_verdict v);
/* Least time between watchdog re-activation n (1, 2, ...) and the one before. */
int64_t decision_watchdog_backoff_ms(unsigned n);
/* Is in's API the cluster c was taken from ("same cluster" above)? */
bool decision_same_cluster(const struct decision_checkpoint *c, const struct decision_input *in);
/* Does a UID known both in c and in in's API differ ("another cluster")? */
bool decision_other_cluster(const struct decision_checkpoint *c, const struct decision_input *in);

#endif
