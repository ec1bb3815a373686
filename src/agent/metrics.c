/*
 * metrics.c: the Prometheus text exposition of the agent's state, written for
 * node_exporter's textfile collector (see metrics.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "kc_utf8.h"
#include "metrics.h"

#define PREFIX "kubelet_checkpoint_"

static kc_code family(struct kc_buf *out, const char *name, const char *type, const char *help,
                      struct kc_error *err)
{
	return kc_buf_printf(out, err, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name,
	                     help, name, type);
}

static kc_code sample_u64(struct kc_buf *out, const char *name, const char *labels, uint64_t v,
                          struct kc_error *err)
{
	return kc_buf_printf(out, err, PREFIX "%s%s %" PRIu64 "\n", name, labels, v);
}

static kc_code sample_i64(struct kc_buf *out, const char *name, int64_t v, struct kc_error *err)
{
	return kc_buf_printf(out, err, PREFIX "%s %" PRId64 "\n", name, v);
}

kc_code metrics_append_label_value(struct kc_buf *out, const char *v, struct kc_error *err)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), used = 0;
	kc_code rc = KC_OK;

	while (n > 0 && rc == KC_OK) {
		size_t len = kc_utf8_next(p, n, NULL);
		const char *rep = NULL;
		size_t replen;

		if (len == 0) {
			rep = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
			len = 1;
		} else if (p[0] == '\\') {
			rep = "\\\\";
		} else if (p[0] == '"') {
			rep = "\\\"";
		} else if (p[0] == '\n') {
			rep = "\\n";
		} else if (p[0] < 0x20 || p[0] == 0x7f) {
			rep = " ";
		}
		replen = rep != NULL ? strlen(rep) : len;
		if (used + replen > METRICS_LABEL_MAX)
			break;
		rc = kc_buf_append(out, rep != NULL ? rep : (const char *)p, replen, err);
		used += replen;
		p += len;
		n -= len;
	}
	return rc;
}

/* name{label="value"} 1: the info-gauge idiom for text-valued facts. */
static kc_code info_sample(struct kc_buf *out, const char *name, const char *const *kv,
                           size_t npairs, struct kc_error *err)
{
	size_t i;
	kc_code rc = kc_buf_puts(out, PREFIX, err);

	if (rc == KC_OK)
		rc = kc_buf_printf(out, err, "%s{", name);
	for (i = 0; i < npairs && rc == KC_OK; i++) {
		rc = kc_buf_printf(out, err, "%s%s=\"", i > 0 ? "," : "", kv[2 * i]);
		if (rc == KC_OK)
			rc = metrics_append_label_value(out, kv[2 * i + 1], err);
		if (rc == KC_OK)
			rc = kc_buf_puts(out, "\"", err);
	}
	return rc == KC_OK ? kc_buf_puts(out, "} 1\n", err) : rc;
}

static kc_code format_agent(const struct metrics_snapshot *m, struct kc_buf *out,
                            struct kc_error *err)
{
	const char *kv[] = {"version", m->version != NULL ? m->version : "unknown"};
	kc_code rc;

	if ((rc = family(out, "agent_info", "gauge", "Agent build; the value is always 1.", err)) ||
	    (rc = info_sample(out, "agent_info", kv, 1, err)) ||
	    (rc = family(out, "start_time_seconds", "gauge",
	                 "Start time of the agent since the Unix epoch in seconds.", err)) ||
	    (rc = sample_i64(out, "start_time_seconds", (int64_t)m->start_time, err)) ||
	    (rc = family(out, "bridge_enabled", "gauge",
	                 "1 when the flag file is present (bridge on), 0 in standby.", err)))
		return rc;
	if ((rc = sample_u64(out, "bridge_enabled", "", m->bridge_enabled ? 1 : 0, err)) ||
	    (rc =
	         family(out, "bridge_off", "gauge",
	                "1 when the bridge cannot work: the kubelet watches no static pod "
	                "directory (no staticPodPath, no --pod-manifest-path); nothing is written.",
	                err)))
		return rc;
	return sample_u64(out, "bridge_off", "", m->bridge_off ? 1 : 0, err);
}

/* What the agent costs the apiserver: connections (each a TLS handshake) and etcd reads. */
static kc_code format_api_cost(const struct metrics_snapshot *m, struct kc_buf *out,
                               struct kc_error *err)
{
	kc_code rc;

	if ((rc = family(out, "api_connections_total", "counter",
	                 "TCP connections opened to the Kubernetes API (failed attempts included).",
	                 err)) ||
	    (rc = sample_u64(out, "api_connections_total", "", m->api_connections, err)) ||
	    (rc = family(out, "api_tls_handshakes_total", "counter",
	                 "New TLS connections to the Kubernetes API that carried an answer.",
	                 err)) ||
	    (rc = sample_u64(out, "api_tls_handshakes_total", "", m->api_tls_handshakes, err)) ||
	    (rc = family(out, "api_quorum_reads_total", "counter",
	                 "LISTs and GETs sent without resourceVersion, which the apiserver "
	                 "reads from etcd rather than its watch cache.",
	                 err)))
		return rc;
	if ((rc = sample_u64(out, "api_quorum_reads_total", "", m->api_quorum_reads, err)) ||
	    (rc = family(out, "api_sync_errors_total", "counter",
	                 "Answers of the API this node could not use (a body too big, malformed "
	                 "JSON, a bad watch line, a 4xx): the API is up, never an outage.",
	                 err)) ||
	    (rc = sample_u64(out, "api_sync_errors_total", "", m->api_sync_errors, err)) ||
	    (rc = family(out, "api_out_of_sync", "gauge",
	                 "1 while the last answer of the API could not be used (status: "
	                 "api.syncError says why).",
	                 err)))
		return rc;
	return sample_u64(out, "api_out_of_sync", "", m->api_out_of_sync, err);
}

static kc_code format_api(const struct metrics_snapshot *m, time_t now, struct kc_buf *out,
                          struct kc_error *err)
{
	static const char *const results[] = {"ok", "failure", "auth_error"};
	const uint64_t counts[] = {m->api_requests_ok, m->api_requests_failure,
	                           m->api_requests_auth_error};
	char labels[64];
	kc_code rc;
	size_t i;

	if ((rc = family(out, "api_reachable", "gauge",
	                 "1 when the Kubernetes API is reachable, 0 when unreachable; absent "
	                 "until the agent has decided.",
	                 err)))
		return rc;
	if (m->api != METRICS_API_UNKNOWN &&
	    (rc = sample_u64(out, "api_reachable", "", m->api == METRICS_API_REACHABLE, err)))
		return rc;
	if ((rc = family(out, "api_refused", "gauge",
	                 "1 while the API has refused this node's credentials (401/403) for the "
	                 "unreachable window: the kubelet cannot get its pods either.",
	                 err)) ||
	    (rc = sample_u64(out, "api_refused", "", m->api == METRICS_API_REFUSED, err)))
		return rc;
	if ((rc = family(out, "api_last_success_timestamp_seconds", "gauge",
	                 "Time of the last successful API contact since the Unix epoch; absent "
	                 "when there was none.",
	                 err)) ||
	    (m->api_last_success != 0 && (rc = sample_i64(out, "api_last_success_timestamp_seconds",
	                                                  (int64_t)m->api_last_success, err))) ||
	    (rc = family(out, "api_requests_total", "counter",
	                 "Requests to the Kubernetes API by result (failure: network, TLS, "
	                 "timeout or 5xx; auth_error: 401 or 403).",
	                 err)))
		return rc;
	for (i = 0; i < 3; i++) {
		snprintf(labels, sizeof(labels), "{result=\"%s\"}", results[i]);
		if ((rc = sample_u64(out, "api_requests_total", labels, counts[i], err)))
			return rc;
	}
	return format_api_cost(m, out, err);
}

static kc_code format_checkpoints(const struct metrics_snapshot *m, struct kc_buf *out,
                                  struct kc_error *err)
{
	kc_code rc;

	if ((rc = family(out, "checkpoints", "gauge", "Checkpoints on disk by state.", err)) ||
	    (rc = sample_u64(out, "checkpoints", "{state=\"ok\"}", m->checkpoints_ok, err)) ||
	    (rc = sample_u64(out, "checkpoints", "{state=\"corrupt\"}", m->checkpoints_corrupt,
	                     err)) ||
	    (rc = sample_u64(out, "checkpoints", "{state=\"not_checkpointable\"}",
	                     m->checkpoints_not_checkpointable, err)) ||
	    (rc = family(out, "bridge_manifests_active", "gauge",
	                 "Bridge manifests in the staticPodPath.", err)) ||
	    (rc =
	         sample_u64(out, "bridge_manifests_active", "", m->bridge_manifests_active, err)) ||
	    (rc = family(out, "bridges_not_running", "gauge",
	                 "Bridge manifests written that the kubelet did not start (no ready "
	                 "sandbox after bridgeStartTimeout; see the kubelet log).",
	                 err)) ||
	    (rc = sample_u64(out, "bridges_not_running", "", m->bridges_not_running, err)) ||
	    (rc = family(out, "activations_total", "counter",
	                 "Bridge manifests written since the agent started.", err)) ||
	    (rc = sample_u64(out, "activations_total", "", m->activations_total, err)) ||
	    (rc = family(out, "withdrawals_total", "counter",
	                 "Bridge manifests removed since the agent started.", err)))
		return rc;
	return sample_u64(out, "withdrawals_total", "", m->withdrawals_total, err);
}

/*
 * The withdrawn bridges' mirror pods the agent deleted itself. A failure is
 * no outage, only the kubelet's housekeeping left to do it (api_mirror.c);
 * 404 and 409 (nothing of ours left to delete) are neither.
 */
static kc_code format_mirror(const struct metrics_snapshot *m, struct kc_buf *out,
                             struct kc_error *err)
{
	kc_code rc;

	if ((rc = family(out, "mirror_pod_deletions_total", "counter",
	                 "Mirror pods of withdrawn bridges deleted by the agent, by result "
	                 "(failed: network, timeout, 5xx, 401/403; the kubelet then deletes them "
	                 "itself).",
	                 err)) ||
	    (rc = sample_u64(out, "mirror_pod_deletions_total", "{result=\"deleted\"}",
	                     m->mirror_pods_deleted, err)))
		return rc;
	return sample_u64(out, "mirror_pod_deletions_total", "{result=\"failed\"}",
	                  m->mirror_pod_deletions_failed, err);
}

/* The Events owed to the cluster: waiting, and what became of the others. */
static kc_code format_events(const struct metrics_snapshot *m, struct kc_buf *out,
                             struct kc_error *err)
{
	kc_code rc;

	if ((rc = family(out, "events_queued", "gauge",
	                 "Kubernetes Events waiting to be posted (until the API is reachable).",
	                 err)) ||
	    (rc = sample_u64(out, "events_queued", "", m->events_queued, err)) ||
	    (rc = family(out, "events_total", "counter",
	                 "Kubernetes Events by fate: posted, dropped from the full queue, refused "
	                 "by the API.",
	                 err)) ||
	    (rc = sample_u64(out, "events_total", "{result=\"posted\"}", m->events_posted, err)) ||
	    (rc = sample_u64(out, "events_total", "{result=\"dropped\"}", m->events_dropped, err)))
		return rc;
	return sample_u64(out, "events_total", "{result=\"rejected\"}", m->events_rejected, err);
}

/* One sample per prerequisite, 1 for the one waited for: alertable as "== 1 for 10m". */
static kc_code format_waiting(const struct metrics_snapshot *m, struct kc_buf *out,
                              struct kc_error *err)
{
	static const char *const what[] = {"kubelet", "kubeconfig", "kubeletConfig",
	                                   "staticPodPath"};
	char labels[64];
	kc_code rc;
	size_t i;

	if ((rc = family(out, "waiting", "gauge",
	                 "1 while the agent waits for this prerequisite (the kubelet, its "
	                 "kubeconfig, a usable staticPodPath) and does nothing else.",
	                 err)))
		return rc;
	for (i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		snprintf(labels, sizeof(labels), "{for=\"%s\"}", what[i]);
		if ((rc = sample_u64(out, "waiting", labels,
		                     m->waiting_for != NULL && strcmp(m->waiting_for, what[i]) == 0,
		                     err)))
			return rc;
	}
	return KC_OK;
}

static kc_code format_last_error(const struct metrics_snapshot *m, struct kc_buf *out,
                                 struct kc_error *err)
{
	const char *kv[] = {"code", m->last_error_code, "message",
	                    m->last_error_message != NULL ? m->last_error_message : ""};
	kc_code rc;

	if ((rc = family(out, "last_error_info", "gauge",
	                 "The last error the agent logged; the value is always 1; absent when "
	                 "there was none.",
	                 err)) ||
	    (m->last_error_code != NULL &&
	     (rc = info_sample(out, "last_error_info", kv, 2, err))) ||
	    (rc = family(out, "last_error_timestamp_seconds", "gauge",
	                 "Time of the last error since the Unix epoch; absent when there was none.",
	                 err)))
		return rc;
	if (m->last_error_code == NULL)
		return KC_OK;
	return sample_i64(out, "last_error_timestamp_seconds", (int64_t)m->last_error_time, err);
}

/* Where the agent learns which pods run here; "unknown" blocks every activation. */
static kc_code format_local(const struct metrics_snapshot *m, struct kc_buf *out,
                            struct kc_error *err)
{
	static const char *const sources[] = {"cri", "cgroups", "unknown"};
	char labels[64];
	kc_code rc;
	size_t i;

	if ((rc = family(out, "local_pods_known", "gauge",
	                 "1 when the agent knows which pods run on the node (container runtime or "
	                 "pod cgroups), 0 when unknown (no bridge is activated then); absent "
	                 "until it has looked.",
	                 err)))
		return rc;
	if (m->local_source == NULL)
		return KC_OK;
	if ((rc = sample_u64(out, "local_pods_known", "", strcmp(m->local_source, "unknown") != 0,
	                     err)) ||
	    (rc = family(out, "local_pods_source", "gauge",
	                 "1 for the source the agent's knowledge of local pods came from last.",
	                 err)))
		return rc;
	for (i = 0; i < 3; i++) {
		snprintf(labels, sizeof(labels), "{source=\"%s\"}", sources[i]);
		if ((rc = sample_u64(out, "local_pods_source", labels,
		                     strcmp(m->local_source, sources[i]) == 0, err)))
			return rc;
	}
	if ((rc = family(out, "cri_requests_total", "counter",
	                 "Container runtime refreshes (ListPodSandbox then ListContainers) by "
	                 "result (failure: no socket, refused, timed out or an error status; "
	                 "lying: an answer no honest runtime gives, over the item, byte or "
	                 "decoding caps or not a CRI message, which leaves local pods unknown).",
	                 err)) ||
	    (rc = sample_u64(out, "cri_requests_total", "{result=\"ok\"}", m->cri_requests_ok,
	                     err)) ||
	    (rc = sample_u64(out, "cri_requests_total", "{result=\"lying\"}", m->cri_requests_lying,
	                     err)))
		return rc;
	return sample_u64(out, "cri_requests_total", "{result=\"failure\"}",
	                  m->cri_requests_failure, err);
}

kc_code metrics_format(const struct metrics_snapshot *m, time_t now, struct kc_buf *out,
                       struct kc_error *err)
{
	kc_code rc;

	if ((rc = format_agent(m, out, err)) || (rc = format_api(m, now, out, err)) ||
	    (rc = format_checkpoints(m, out, err)) || (rc = format_mirror(m, out, err)) ||
	    (rc = format_events(m, out, err)) || (rc = format_waiting(m, out, err)) ||
	    (rc = format_local(m, out, err)))
		return rc;
	return format_last_error(m, out, err);
}

kc_code metrics_check_path(const char *path, struct kc_error *err)
{
	static const char suffix[] = ".prom";
	const char *base = strrchr(path, '/');
	size_t len;

	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len < sizeof(suffix) || strcmp(base + len - (sizeof(suffix) - 1), suffix) != 0 ||
	    base[0] == '.')
		return kc_fail(err, KC_EINVAL,
		               "%s: metrics file name must end in \".prom\" and not start with "
		               "\".\" (node_exporter's textfile collector reads only those)",
		               path);
	return KC_OK;
}

kc_code metrics_write(const char *path, const struct metrics_snapshot *m, time_t now,
                      struct kc_error *err)
{
	struct kc_buf out;
	kc_code rc;

	if ((rc = metrics_check_path(path, err)) != KC_OK)
		return rc;
	kc_buf_init(&out, 1 << 20);
	rc = metrics_format(m, now, &out, err);
	if (rc == KC_OK)
		rc = fs_write_atomic_volatile(path, out.data, out.len, 0644, NULL, err);
	kc_buf_free(&out);
	if (rc != KC_OK)
		kc_error_prefix(err, "metrics");
	return rc;
}
