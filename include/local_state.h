/*
 * local_state.h: which pods really run on this node, from the best source
 * that answers (docs/design.md §6, issue 10):
 *
 *   1. the container runtime (CRI on the kubelet's runtime socket):
 *      ListContainers fills the set (local_pods_set.h): a pod runs when one
 *      of its regular containers (label io.kubernetes.pod.uid=<uid>) is
 *      CONTAINER_RUNNING; a READY sandbox alone is not enough (issue 18
 *      defect 5: an orphaned sandbox whose containers died held the bridge
 *      back for good). Each UID with a container in any state has an entry
 *      with its newest creation time, so the decision sees that the kubelet
 *      admitted the parent. ListPodSandbox names the READY sandboxes
 *      (namespace, name), which is how a bridge's own sandbox is recognised
 *      (static pods are named <name>-<nodeName>).
 *   2. the pod cgroups, where the kubelet's cgroupRoot, cgroupDriver and
 *      cgroupsPerQOS put them (local_pods.h): an existing pod cgroup counts as
 *      running. Used while the runtime does not answer; it cannot name pods.
 *   3. neither: UNKNOWN, with the reasons of both, never "nothing runs".
 * A runtime whose answer no honest runtime gives (over the item, byte or
 * decoding caps of cri_client.h, or not a CRI message) is lying: the state is
 * UNKNOWN, without falling back to the cgroups, until the runtime answers
 * sanely again; cri_refused counts those answers (loud: log, status, metric).
 *
 * The CRI calls of one refresh share one deadline (cri_client.h). After a failure that cost time (a
 * hung or refused runtime, an error status) the runtime is asked again only
 * after LOCAL_CRI_BACKOFF_MS, the cgroups answering meanwhile, so a sick
 * runtime cannot stall the agent's single loop at every pass. A socket that
 * does not exist costs one stat(), so it is looked for at every refresh.
 */
#ifndef KC_LOCAL_STATE_H
#define KC_LOCAL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cri_client.h"
#include "kc_error.h"
#include "local_pods.h"

#define LOCAL_CRI_BACKOFF_MS 30000

enum local_source {
	LOCAL_SOURCE_NONE = 0, /* unknown */
	LOCAL_SOURCE_CRI,
	LOCAL_SOURCE_CGROUPS,
};

struct local_state {
	/* Configuration (local_state_init). */
	struct cri_client *cri; /* NULL: the endpoint is unusable (cri_error says why) */
	char *cgroup_mount;
	struct local_pods_layout layout;
	bool layout_ok; /* false: the kubelet's cgroup settings are unusable */

	/* The last refresh. */
	struct local_pods pods; /* uids with containers, or pod cgroup uids */
	enum local_source source;
	char **sandbox_names; /* "namespace/name" of READY sandboxes, sorted (CRI only) */
	size_t nsandbox_names;
	char why[2 * KC_ERROR_MSG_MAX + 64]; /* UNKNOWN: why; CGROUPS: why not the CRI */
	int64_t cri_retry_ms;                /* CRI skipped until then (back-off) */
	char cri_error[KC_ERROR_MSG_MAX];    /* the last CRI failure, "" if none */
	bool cri_lying; /* the last CRI answer was refused for its content: UNKNOWN */
	uint64_t cri_calls, cri_failures;
	uint64_t cri_refused; /* answers refused for their content (a lying runtime) */
};

/*
 * endpoint: the CRI socket (cri_client_new; endpoint_named: the user gave
 * it, so its owner is not checked); cgroup_mount: the cgroup file system;
 * lay: the kubelet's pod cgroup layout (NULL: defaults). Never fails for a
 * bad endpoint or layout: that source is then off, with the reason in why.
 * KC_ENOMEM only.
 */
kc_code local_state_init(struct local_state *ls, const char *endpoint, bool endpoint_named,
                         const char *cgroup_mount, const char *cgroup_root,
                         const char *cgroup_driver, bool per_qos, struct kc_error *err);

/* Ask again at now_ms. Returns &ls->pods when known, NULL when unknown. */
const struct local_pods *local_state_refresh(struct local_state *ls, int64_t now_ms);

/*
 * Is a READY sandbox named namespace/name on the node? *known is false when
 * the last refresh could not name sandboxes (no CRI answer).
 */
bool local_state_sandbox_ready(const struct local_state *ls, const char *namespace,
                               const char *name, bool *known);

/*
 * The set (local_pods_set.h) a ListContainers answer makes: one entry per
 * pod UID (label io.kubernetes.pod.uid, at most LOCAL_POD_UID_MAX bytes;
 * containers without it are not the kubelet's and are skipped) with a
 * container in any state; running: one of its regular containers is
 * RUNNING; newest_created_ms: the newest created_at of any of its
 * containers, in wall-clock milliseconds (-1 when the runtime gave none);
 * running_since_ms: the oldest created_at of its RUNNING regular
 * containers (-1: none). State KNOWN, containers_known. out is reset first.
 */
kc_code local_pods_from_containers(const struct cri_containers *cs, struct local_pods *out,
                                   struct kc_error *err);

/* "cri", "cgroups", "unknown". */
const char *local_source_name(enum local_source s);

void local_state_free(struct local_state *ls);

#endif
