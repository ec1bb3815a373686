/*
 * local_pods_set.h: what this node shows of each pod UID, as the sources in
 * src/node/ read it (the container runtime first, the pod cgroups second:
 * local_state.h) and as the pure decision consumes it (docs/design.md §6).
 * A plain value: sorted entries, no I/O, so the decision can be tested with
 * sets built by hand.
 *
 * "Runs" (local_pods_contains) means what the design calls running:
 *   - CRI: a regular container labelled io.kubernetes.pod.uid=<uid> is
 *     CONTAINER_RUNNING. A READY sandbox alone is not enough (an orphaned
 *     sandbox, or a parent stuck before its containers, does not run).
 *   - cgroups: the pod cgroup exists (the cgroups cannot tell more).
 * With the CRI, an entry also exists for a UID whose containers all exited
 * or are only created, so the decision sees that the kubelet admitted the
 * parent (newest_created_ms) even when nothing of it runs.
 */
#ifndef KC_LOCAL_PODS_SET_H
#define KC_LOCAL_PODS_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kc_error.h"

/* API UIDs are 36-character UUIDs, static pod UIDs 32 hex digits. */
#define LOCAL_POD_UID_MAX 64

enum local_pods_state {
	LOCAL_PODS_UNKNOWN = 0,
	LOCAL_PODS_KNOWN,
};

struct local_pod {
	char uid[LOCAL_POD_UID_MAX + 1]; /* '-' form */
	bool running;                    /* see "runs" above */
	/* CRI only (-1 otherwise): wall-clock milliseconds since the epoch of the
	 * newest regular container of the UID in any state, and of the oldest
	 * one now RUNNING. */
	int64_t newest_created_ms;
	int64_t running_since_ms;
};

struct local_pods {
	enum local_pods_state state;
	bool containers_known;  /* entries carry container detail (the CRI answered) */
	struct local_pod *pods; /* sorted by uid, unique */
	size_t count;
	size_t cap;
};

/* An entry for uid, not running, no container detail. */
struct local_pod local_pod_blank(const char *uid);

/*
 * Append p (sorted and merged by local_pods_finish). KC_EINVAL for a uid
 * that is empty or longer than LOCAL_POD_UID_MAX; KC_ENOMEM.
 */
kc_code local_pods_add(struct local_pods *lp, const struct local_pod *p, struct kc_error *err);
/*
 * Sort by uid and merge entries of one uid (running if any runs, the newest
 * creation, the oldest running start).
 */
void local_pods_finish(struct local_pods *lp);
/* Forget the entries, keep the memory (a new scan follows); state UNKNOWN. */
void local_pods_reset(struct local_pods *lp);

/* The entry of uid, or NULL (also when the state is UNKNOWN). */
const struct local_pod *local_pods_find(const struct local_pods *lp, const char *uid);
/* Does uid run? Always false when the state is UNKNOWN. */
bool local_pods_contains(const struct local_pods *lp, const char *uid);
/* Number of entries that run. */
size_t local_pods_running(const struct local_pods *lp);

void local_pods_free(struct local_pods *lp);

#endif
