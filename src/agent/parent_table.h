/*
 * parent_table.h: what the agent knows about each parent, keyed by pod UID:
 * the latest eligible API pod (while it is in the API), whether a verified
 * checkpoint of it is on disk, why it cannot be checkpointed, and the bridge
 * manifest rendered from its checkpoint (cached, so activation is only file
 * writes). The table is rebuilt from disk at start; the API then updates it.
 * It does no I/O itself: the agent feeds it.
 */
#ifndef KC_PARENT_TABLE_H
#define KC_PARENT_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bridge_run.h"
#include "decision.h"
#include "kc_buf.h"
#include "kc_error.h"

enum parent_ckpt {
	PARENT_CKPT_NONE = 0, /* nothing usable on disk */
	PARENT_CKPT_OK,       /* verified; manifest cached */
	PARENT_CKPT_CORRUPT,  /* a file that fails verification */
};

struct parent_rec {
	char uid[40];
	char *namespace; /* NULL while unknown (a corrupt file) */
	char *name;
	char *created; /* metadata.creationTimestamp, "" when absent */
	/*
	 * The latest eligible API pod as compact JSON; NULL when not in the API.
	 * Text, not a tree: it is read only when the parent changes or its
	 * objects arrive, and a Jansson tree takes ~8x the bytes (110 parents).
	 */
	char *pod_json;
	enum decision_parent presence;
	int64_t absent_since_ms;
	enum parent_ckpt ckpt;
	char *problem; /* why corrupt / not checkpointable; NULL when none */
	bool not_checkpointable;
	char *manifest_name;    /* bridge file name, when ckpt is OK */
	struct kc_buf manifest; /* its bytes, when ckpt is OK */
	json_t *retry_objects;  /* the objects of a checkpoint write that failed */
	json_t *warnings;       /* bridge_warnings of the checkpointed pod; NULL: none yet */
	bool host_ports;        /* its bridge manifest holds host ports (pod_spec.h) */
	struct bridge_run run;  /* did the kubelet start its bridge (bridge_run.h) */
	char owner_ds_uid[40];  /* controller DaemonSet ownerReference UID; "" none */
	char cluster_uid[LOCAL_POD_UID_MAX + 1]; /* kube-system UID its checkpoint recorded */
	char cluster_service_uid[LOCAL_POD_UID_MAX + 1]; /* default/kubernetes Service UID, too */
	/* A quorum read confirmed the parent gone or ineligible (api_confirm.c)
	 * since it went ABSENT; confirm_asked: one is in flight or answered. */
	bool confirmed_gone, confirm_asked;
	bool gone_marked;          /* its Gone_ mark is on disk (ckpt_store_mark_gone) */
	int64_t bridge_written_ms; /* wall ms of its manifest on disk (mtime); -1 none */
	/* The hand-off (decision.h): W1 withdrew it at handed_off_ms (monotonic,
	 * -1 none), the watchdog re-activated it watchdog_fires times since the
	 * last completed hand-off, the last at watchdog_last_ms. */
	int64_t handed_off_ms;
	bool handoff_assumed; /* handed_off_ms is an assumption (handoff_file.h): W1 resets it */
	unsigned watchdog_fires;
	int64_t watchdog_last_ms;
	int64_t seen_running_ms; /* monotonic: the agent saw it run since (cgroups); -1 */
	bool handoff_timed_out;  /* W4 withdrew its bridge (status "timed-out") */
	char mirror_uid[40];     /* its bridge's mirror pod in the API (agent_mirror.c); "" none */
	time_t handoff_wall;     /* when the hand-off state last changed (status) */
};

struct parent_table {
	struct parent_rec *recs;
	size_t count, cap;
};

void parent_table_init(struct parent_table *t);
void parent_table_free(struct parent_table *t);

struct parent_rec *parent_table_find(struct parent_table *t, const char *uid);
/* Find or add uid (validated by the caller). NULL only when out of memory. */
struct parent_rec *parent_table_get(struct parent_table *t, const char *uid);
void parent_table_remove(struct parent_table *t, const char *uid);

/* Set identity strings (copied); NULL leaves a field as it is. */
kc_code parent_rec_set_identity(struct parent_rec *r, const char *ns, const char *name,
                                const char *created, struct kc_error *err);
/* Replace problem (copied, NULL clears); returns true when the text changed. */
bool parent_rec_set_problem(struct parent_rec *r, const char *problem);
/* Cache the manifest rendered from the checkpoint (copies bytes and name). */
kc_code parent_rec_set_manifest(struct parent_rec *r, const char *file, const struct kc_buf *bytes,
                                struct kc_error *err);
void parent_rec_clear_manifest(struct parent_rec *r);
/* Replace the warnings (reference stolen); returns true when their text changed. */
bool parent_rec_set_warnings(struct parent_rec *r, json_t *warnings);
/* Replace the API pod (kept as compact JSON; NULL drops it). */
kc_code parent_rec_set_pod(struct parent_rec *r, const json_t *pod, struct kc_error *err);
/* The API pod as a tree of its own (caller decrefs); KC_ENOTFOUND when not in the API. */
kc_code parent_rec_pod(const struct parent_rec *r, json_t **pod, struct kc_error *err);

void parent_rec_mark_absent(struct parent_rec *r, int64_t now_ms);

/*
 * The decision's view of the table: one decision_checkpoint per parent that has
 * a checkpoint (ok or corrupt) or is known to be not checkpointable; idx[i] is
 * the table index of view[i]. Arrays are malloc'd, caller frees both.
 */
kc_code parent_table_decision_view(const struct parent_table *t, struct decision_checkpoint **view,
                                   size_t **idx, size_t *n, struct kc_error *err);

#endif
