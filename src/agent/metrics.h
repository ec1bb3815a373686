/*
 * metrics.h: the agent's numbers in the Prometheus text exposition format
 * (version 0.0.4), written as a file for node_exporter's textfile collector.
 *
 * metrics_format() is a pure function of a snapshot and "now"; the agent
 * fills the snapshot from its state and calls metrics_write() after every
 * change and on its periodic tick. The file is replaced atomically (fsutil),
 * so the collector never reads half a file, and its name must end in ".prom"
 * (the collector ignores everything else, including fsutil's ".x.prom.tmp").
 * All names start with kubelet_checkpoint_.
 */
#ifndef KC_METRICS_H
#define KC_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kc_buf.h"
#include "kc_error.h"

/* Label values longer than this are cut at a UTF-8 character boundary. */
#define METRICS_LABEL_MAX 256

enum metrics_reachability {
	METRICS_API_UNKNOWN = 0, /* never decided yet: the gauge is left out */
	METRICS_API_UNREACHABLE,
	METRICS_API_REACHABLE,
	METRICS_API_REFUSED, /* 401/403 for the window: the kubelet cannot get its pods */
};

struct metrics_snapshot {
	const char *version; /* agent version, label of _agent_info */
	time_t start_time;   /* agent start (wall clock) */
	enum metrics_reachability api;
	time_t api_last_success; /* last successful API contact; 0: never */
	bool bridge_enabled;     /* the flag file is present */
	bool bridge_off;         /* the kubelet watches no static pod directory */
	uint64_t checkpoints_ok; /* checkpoints by state */
	uint64_t checkpoints_corrupt;
	uint64_t checkpoints_not_checkpointable;
	uint64_t bridge_manifests_active;
	uint64_t bridges_not_running; /* written, but no running sandbox after the timeout */
	uint64_t activations_total;   /* bridge manifests written */
	uint64_t withdrawals_total;   /* bridge manifests removed */
	/* Withdrawn bridges' mirror pods DELETEd (api_client_delete_mirror): by the
	 * API, and failed (network, 5xx, 401/403: the kubelet deletes them itself). */
	uint64_t mirror_pods_deleted;
	uint64_t mirror_pod_deletions_failed;
	/* Kubernetes Events owed to the cluster (event_queue.h). */
	uint64_t events_queued;           /* waiting to be posted */
	uint64_t events_posted;           /* posted */
	uint64_t events_dropped;          /* dropped from a full queue */
	uint64_t events_rejected;         /* refused by the API */
	uint64_t api_requests_ok;         /* API requests by result */
	uint64_t api_requests_failure;    /* network, TLS, timeout, 5xx */
	uint64_t api_requests_auth_error; /* 401 / 403 */
	const char *waiting_for;          /* agent_wait_name(); NULL: not waiting */
	/* What runs locally: "cri", "cgroups" or "unknown"; NULL: not looked yet
	 * (the local gauges are then left out). */
	const char *local_source;
	uint64_t cri_requests_ok;      /* container runtime refreshes, */
	uint64_t cri_requests_failure; /* by result (absent, refused, hung, error status) */
	uint64_t cri_requests_lying;   /* an answer refused for its content (local_state.h) */
	uint64_t api_connections;      /* TCP connections opened to the apiserver */
	uint64_t api_tls_handshakes;   /* of which completed a TLS handshake */
	uint64_t api_quorum_reads;     /* reads the apiserver sends to etcd */
	uint64_t api_sync_errors;      /* answers the agent could not use (too big, malformed) */
	bool api_out_of_sync;          /* the last answer of the pods channel could not be used */
	const char *last_error_code;   /* kc_code_name(); NULL: no error so far */
	const char *last_error_message;
	time_t last_error_time;
};

/* Append the exposition text for m to out (HELP and TYPE for every family). */
kc_code metrics_format(const struct metrics_snapshot *m, time_t now, struct kc_buf *out,
                       struct kc_error *err);

/* Append v as a label value: \ " and newline escaped, invalid UTF-8 and
 * control characters replaced, cut to METRICS_LABEL_MAX bytes. */
kc_code metrics_append_label_value(struct kc_buf *out, const char *v, struct kc_error *err);

/* KC_EINVAL unless path's file name ends in ".prom" and does not start with
 * "." (what the collector reads); for validating --metrics-file up front. */
kc_code metrics_check_path(const char *path, struct kc_error *err);

/* Format and atomically replace path (mode 0644: the collector runs as another
 * user). A path not ending in ".prom" is KC_EINVAL and writes nothing. */
kc_code metrics_write(const char *path, const struct metrics_snapshot *m, time_t now,
                      struct kc_error *err);

#endif
