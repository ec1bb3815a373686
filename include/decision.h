/*
 * decision.h: THE decision (docs/design.md §6), as one pure function: which bridge
 * manifests should exist and which checkpoints should be dropped, given the
 * checkpoints, the flag, API reachability and the pods running locally. No
 * I/O, no clock: "now" is an input. The output does not depend on what is on
 * disk; the effects layer diffs it against the staticPodPath.
 *
 * Per checkpoint, in this order (first match wins):
 *   corrupt                       -> INACTIVE_CORRUPT (never activated, never dropped)
 *   not checkpointable            -> INACTIVE_NOT_CHECKPOINTABLE
 *   manifest name invalid         -> INACTIVE_BAD_NAME
 *   another ok checkpoint of the same namespace/name wins
 *                                 -> INACTIVE_SHADOWED (see "groups" below)
 *   flag off                      -> INACTIVE_FLAG_OFF
 *   API reachable                 -> INACTIVE_API_REACHABLE (withdraw all)
 *   a UID of the group runs here  -> INACTIVE_RUNNING_LOCALLY
 *   the bridge holds host ports and the API answered during this outage
 *                                 -> INACTIVE_API_ANSWERED (see "hand-off")
 *   API state unknown (start)     -> HOLD_API_UNKNOWN
 *   local pods unknown            -> HOLD_LOCAL_UNKNOWN
 *   otherwise (unreachable, not running, ok)
 *                                 -> ACTIVE
 * ACTIVE: the manifest must exist. HOLD: keep the manifest if it is on disk,
 * never create it (an agent restarted during an outage must not withdraw the
 * bridge it wrote before, nor activate before it knows). INACTIVE: the
 * manifest must not exist. The effects layer keeps exactly the manifest
 * names of ACTIVE and HOLD items and removes every other bridge manifest.
 *
 * Groups: checkpoints with the same namespace/name map to one manifest file
 * (a DaemonSet rollout leaves the old UID beside the new one). The winner is
 * the ok one whose parent is still in the API, then the newest
 * creationTimestamp, then the greatest UID; the others are SHADOWED. If any
 * UID of the group runs locally the workload is running, so the winner is
 * INACTIVE_RUNNING_LOCALLY too (never two copies).
 *
 * Hand-off (issue 10; the kubelet's side is in the README):
 * - "Runs here" comes from the container runtime when it answers (a READY
 *   sandbox of the parent's UID, local_state.h), so a parent the kubelet
 *   starts again once the API answers withdraws its bridge at the next pass,
 *   before reachable_after: every second of overlap only delays the parent.
 * - A bridge whose manifest holds host ports (a non-hostNetwork parent with
 *   hostPort, pod_spec_holds_host_ports) is withdrawn at the first real API
 *   success of the outage (reach_view.answered): the kubelet admits the
 *   returning parent only if no running pod holds its ports (NodePorts), and
 *   a rejected pod is Failed for good. It stays withdrawn while the API keeps
 *   answering now and then (a flapping API costs one restart per outage, not
 *   one per flap) and comes back only after a whole unreachable window of
 *   failure, which is a new outage. While such a bridge is kept the result
 *   says awaits_api_answer: the agent then asks the API every second, not
 *   at its 10 s outage ceiling, so that its first success comes before the
 *   kubelet's pod reflector relists (client-go reflector.go: backoff 800 ms
 *   doubling to [30, 60) s while the API is down).
 * A withdrawn bridge's verdict is INACTIVE: HOLD never keeps it (unknown
 * local state must not keep a bridge the parent now needs gone).
 *
 * GC: a checkpoint (ok or not checkpointable; never a corrupt one) is dropped
 * when the API is REACHABLE and its parent has been absent from the API (gone
 * or no longer eligible) for at least gc_grace. Never while the API is
 * unreachable or unknown, never when the parent's presence is unknown.
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
};

struct decision_input {
	const struct decision_checkpoint *checkpoints;
	size_t count;
	bool flag_on;
	struct reach_view api;          /* reachability_view(r, now_ms) */
	const struct local_pods *local; /* NULL is UNKNOWN */
	int64_t gc_grace_ms;
	int64_t now_ms;
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
};

struct decision_item {
	enum decision_verdict verdict;
	bool drop;          /* gc: withdraw its manifest, then delete the checkpoint */
	size_t shadowed_by; /* index of the group winner when SHADOWED */
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
};

/* KC_EINVAL for a checkpoint without a uid; KC_ENOMEM. */
kc_code decision_compute(const struct decision_input *in, struct decision_result *out,
                         struct kc_error *err);
void decision_result_free(struct decision_result *r);

/* Does the verdict keep (ACTIVE, HOLD) the item's manifest on disk? */
bool decision_keeps_manifest(enum decision_verdict v);
/* Short stable name: "active", "hold-api-unknown", "flag-off", ... */
const char *decision_verdict_name(enum decision_verdict v);

#endif
