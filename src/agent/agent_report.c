/*
 * agent_report.c: what the agent tells the world after each pass: the status
 * file `kubelet-checkpoint status` reads, the Prometheus textfile, and systemd
 * (READY, STATUS, WATCHDOG). All three are derived from the agent context;
 * none of them feeds back into a decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "metrics.h"
#include "status.h"
#include "version.h"

void agent_note_error(struct agent *a, const struct kc_error *err)
{
	a->last_error = *err;
	a->last_error_time = time(NULL);
}

bool agent_bridge_on_disk(const struct agent *a, const struct parent_rec *r)
{
	size_t i;

	if (r->manifest_name == NULL || r->ckpt != PARENT_CKPT_OK)
		return false;
	for (i = 0; i < a->nbridge_files; i++)
		if (strcmp(a->bridge_files[i], r->manifest_name) == 0)
			return true;
	return false;
}

const char *agent_bridge_run_reason(enum bridge_run_state s)
{
	if (s == BRIDGE_RUN_NOT_RUNNING)
		return "kubelet did not start it: see the kubelet log";
	if (s == BRIDGE_RUN_UNKNOWN)
		return "the container runtime does not answer, so its sandbox cannot be looked for";
	return NULL;
}

static const char *state_name(const struct parent_rec *r)
{
	if (r->ckpt == PARENT_CKPT_CORRUPT)
		return "corrupt";
	if (r->ckpt == PARENT_CKPT_OK)
		return "ok";
	return "not-checkpointable";
}

struct counts {
	uint64_t ok, corrupt, not_checkpointable;
};

static size_t fill_checkpoints(const struct agent *a, struct status_checkpoint *out,
                               char (*since)[32], struct counts *c)
{
	const struct parent_rec *r;
	size_t i, n = 0;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < a->parents.count; i++) {
		r = &a->parents.recs[i];
		if (r->ckpt == PARENT_CKPT_NONE && !r->not_checkpointable)
			continue; /* waiting for its references */
		out[n].namespace = r->namespace;
		out[n].name = r->name;
		out[n].uid = r->uid;
		out[n].state = state_name(r);
		out[n].reason = r->problem;
		/* The bridge on disk is this UID's, not a shadowed one of the same
		 * name (issue 19 finding 8): the listing says whose it is. */
		out[n].active = agent_bridge_on_disk(a, r) && r->bridge_written_ms >= 0;
		out[n].handoff = r->handed_off_ms >= 0                               ? "handed-off"
		                 : r->handoff_timed_out                              ? "timed-out"
		                 : out[n].active && a->said.reach == REACH_REACHABLE ? "waiting"
		                                                                     : NULL;
		if (out[n].handoff != NULL && r->handoff_wall != 0 &&
		    status_rfc3339(r->handoff_wall, since[n], sizeof(since[n]), NULL) == KC_OK)
			out[n].handoff_since = since[n];
		out[n].watchdog_fires = r->watchdog_fires;
		if (out[n].active && r->run.state != BRIDGE_RUN_NONE) {
			out[n].bridge = bridge_run_name(r->run.state);
			out[n].bridge_reason = agent_bridge_run_reason(r->run.state);
		}
		out[n].warnings = r->warnings;
		if (r->ckpt == PARENT_CKPT_CORRUPT)
			c->corrupt++;
		else if (r->ckpt == PARENT_CKPT_OK)
			c->ok++;
		else
			c->not_checkpointable++;
		n++;
	}
	return n;
}

/* Not settled yet, but the first LIST answered: say so now, not after reachable-after. */
static bool api_answering(const struct agent *a)
{
	return a->said.reach == REACH_UNKNOWN && a->reach.ok_since_ms >= 0 &&
	       a->reach.fail_since_ms < 0 && a->listed;
}

static void write_status(struct agent *a, struct status_checkpoint *cps, size_t n)
{
	struct status_snapshot s;
	struct api_stats st;
	struct kc_error err;

	memset(&s, 0, sizeof(s));
	s.agent_running = true;
	s.pid = getpid();
	s.version = KC_VERSION;
	s.started = a->start_wall;
	s.flag_path = a->cfg->flag_file;
	s.flag_enabled = a->flag_on;
	s.api = a->said.reach;
	s.api_since = a->reach_since_wall;
	if (api_answering(a)) {
		s.api_answering = true;
		s.api_since = a->start_wall + (time_t)((a->reach.ok_since_ms - a->start_ms) / 1000);
	}
	s.cluster_uid = a->cluster.uid[0] != '\0' ? a->cluster.uid : NULL;
	s.cluster_service_uid = a->cluster.service_uid[0] != '\0' ? a->cluster.service_uid : NULL;
	s.node_presence = a->cluster.node == AGENT_NODE_PRESENT   ? "present"
	                  : a->cluster.node == AGENT_NODE_MISSING ? "missing"
	                                                          : "unknown";
	s.other_cluster = a->said.other_cluster;
	s.collection_suspended = a->said.node_missing;
	if (a->cluster.uid[0] != '\0' || a->cluster.service_uid[0] != '\0')
		s.cluster_seen =
		    a->start_wall + (time_t)(((a->cluster.uid_ms > a->cluster.service_uid_ms
		                                   ? a->cluster.uid_ms
		                                   : a->cluster.service_uid_ms) -
		                              a->start_ms) /
		                             1000);
	if (a->api != NULL) { /* NULL while waiting for a prerequisite */
		api_client_get_stats(a->api, &st);
		s.api_sync_error = st.sync_error[0] != '\0' ? st.sync_error : NULL;
	}
	s.static_pod_path = a->cfg->static_pod_path;
	s.state_dir = a->cfg->state_dir;
	s.checkpoints = cps;
	s.ncheckpoints = n;
	s.bridge_manifests = (const char *const *)a->bridge_files;
	s.nbridge_manifests = a->nbridge_files;
	s.bridge_off = a->cfg->bridge_off[0] != '\0' ? a->cfg->bridge_off : NULL;
	if (a->local_looked) {
		s.local_source = local_source_name(a->local.source);
		s.local_reason = a->local.why[0] != '\0' ? a->local.why : NULL;
	}
	s.last_error = a->last_error.code != KC_OK ? a->last_error.msg : NULL;
	s.last_error_time = a->last_error_time;
	s.events_known = true;
	s.events_queued = a->ev.queue.n;
	s.events_posted = a->ev.queue.posted;
	s.events_aggregated = a->ev.queue.aggregated;
	s.events_dropped = a->ev.queue.dropped;
	s.events_rejected = a->ev.queue.rejected;
	s.waiting_for = agent_wait_name(a->wait.what);
	s.waiting_detail = a->wait.what != AGENT_WAIT_NONE ? a->wait.detail : NULL;
	s.kubelet_pid = a->cfg->kubelet_pid;
	s.reloads = a->reload.answered;
	s.reload_ok = a->reload.ok;
	s.reload_error = a->reload.ok ? NULL : a->reload.error;
	s.reload_time = a->reload.wall;
	if (status_write(a->cfg->status_file, &s, &err) != KC_OK)
		kc_log(KC_LOG_ERR, "status file: %s", err.msg);
}

static void write_metrics(struct agent *a, const struct counts *c)
{
	struct metrics_snapshot m;
	struct api_stats st;
	struct kc_error err;

	if (a->cfg->metrics_file == NULL)
		return;
	memset(&st, 0, sizeof(st));
	if (a->api != NULL) /* NULL while waiting for a prerequisite */
		api_client_get_stats(a->api, &st);
	memset(&m, 0, sizeof(m));
	m.waiting_for = agent_wait_name(a->wait.what);
	m.version = KC_VERSION;
	m.start_time = a->start_wall;
	m.api = a->said.reach == REACH_REACHABLE     ? METRICS_API_REACHABLE
	        : a->said.reach == REACH_UNREACHABLE ? METRICS_API_UNREACHABLE
	        : a->said.reach == REACH_REFUSED     ? METRICS_API_REFUSED
	                                             : METRICS_API_UNKNOWN;
	m.api_last_success = a->last_success_wall;
	m.bridge_enabled = a->flag_on;
	m.checkpoints_ok = c->ok;
	m.checkpoints_corrupt = c->corrupt;
	m.checkpoints_not_checkpointable = c->not_checkpointable;
	m.bridge_manifests_active = a->nactive;
	m.bridges_not_running = a->nbridges_not_running;
	m.activations_total = a->activations;
	m.withdrawals_total = a->withdrawals;
	m.mirror_pods_deleted = st.mirror_deletes;
	m.mirror_pod_deletions_failed = st.mirror_delete_failures;
	m.events_queued = a->ev.queue.n;
	m.events_posted = a->ev.queue.posted;
	m.events_dropped = a->ev.queue.dropped;
	m.events_rejected = a->ev.queue.rejected;
	m.api_requests_ok = st.requests_ok;
	m.api_requests_failure = st.requests_failure;
	m.api_requests_auth_error = st.requests_auth_error;
	m.bridge_off = a->cfg->bridge_off[0] != '\0';
	if (a->local_looked)
		m.local_source = local_source_name(a->local.source);
	m.cri_requests_ok = a->local.cri_calls - a->local.cri_failures;
	m.cri_requests_failure = a->local.cri_failures - a->local.cri_refused;
	m.cri_requests_lying = a->local.cri_refused;
	m.api_connections = st.connections;
	m.api_tls_handshakes = st.tls_handshakes;
	m.api_quorum_reads = st.quorum_reads;
	m.api_sync_errors = st.sync_errors;
	m.api_out_of_sync = st.sync_error[0] != '\0';
	if (a->last_error.code != KC_OK) {
		m.last_error_code = kc_code_name(a->last_error.code);
		m.last_error_message = a->last_error.msg;
		m.last_error_time = a->last_error_time;
	}
	if (metrics_write(a->cfg->metrics_file, &m, time(NULL), &err) != KC_OK)
		kc_log(KC_LOG_ERR, "metrics file: %s", err.msg);
}

/*
 * Boot order (issue 18): the unit starts Before=kubelet.service, so systemd
 * starts the kubelet once the agent says READY=1. At start READY waits for
 * the first outcome of an API request (api_client_probe_now) and the pass
 * that follows it, at most AGENT_READY_PROBE_MS: a stale bridge that the
 * API's answer withdraws (one holding host ports the returning parent needs)
 * is gone before the kubelet first reads the staticPodPath. Nothing else
 * waits on it: without an answer READY goes at the deadline. While the
 * agent waits for its prerequisites (agent_wait.c) there is no hold: the
 * kubelet it may wait for starts only after READY.
 */
static bool ready_held(struct agent *a)
{
	struct api_stats st;
	int64_t now = kc_clock_ms();

	if (a->ready_hold_ms == 0 || a->api == NULL)
		return false;
	api_client_get_stats(a->api, &st);
	if (st.requests_ok + st.requests_failure + st.requests_auth_error > 0) {
		kc_log(KC_LOG_INFO, "first API contact after %lld ms: ready",
		       (long long)(now - a->start_ms));
	} else if (now < a->ready_hold_ms) {
		if (a->ready_hold_ms < a->next_pass_ms)
			a->next_pass_ms = a->ready_hold_ms; /* come back at the deadline */
		return true;
	} else {
		kc_log(KC_LOG_NOTICE, "no API contact within %d ms of start: ready all the same",
		       AGENT_READY_PROBE_MS);
	}
	a->ready_hold_ms = 0;
	return false;
}

static void tell_systemd(struct agent *a, const struct counts *c)
{
	struct kc_error err;

	if (!notify_enabled(&a->notify))
		return;
	if (a->wait.what != AGENT_WAIT_NONE)
		notify_status(&a->notify, &err, "waiting for the %s: %s",
		              agent_wait_name(a->wait.what), a->wait.detail);
	else
		notify_status(&a->notify, &err,
		              "API %s, bridge %s, %llu checkpoints (%llu corrupt), %zu active",
		              api_answering(a) ? "reachable" : reach_state_name(a->said.reach),
		              a->flag_on ? "enabled" : "disabled", (unsigned long long)c->ok,
		              (unsigned long long)c->corrupt, a->nactive);
	if (!a->ready_sent && !ready_held(a) && notify_ready(&a->notify, &err) == KC_OK)
		a->ready_sent = true;
}

void agent_report(struct agent *a)
{
	struct status_checkpoint *cps;
	char(*since)[32];
	struct counts c;
	size_t n;

	cps = calloc(a->parents.count ? a->parents.count : 1, sizeof(*cps));
	since = calloc(a->parents.count ? a->parents.count : 1, sizeof(*since));
	if (cps == NULL || since == NULL) {
		kc_log(KC_LOG_ERR, "status: out of memory");
		free(cps);
		free(since);
		return;
	}
	n = fill_checkpoints(a, cps, since, &c);
	write_status(a, cps, n);
	write_metrics(a, &c);
	tell_systemd(a, &c);
	free(cps);
	free(since);
}
