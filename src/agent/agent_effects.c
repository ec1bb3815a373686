/*
 * agent_effects.c: one pass of the agent. Gather the inputs (flag file,
 * reachability, local pods), ask the pure decision function, then make the
 * disk match its answer in the docs/design.md §6 order: write wanted manifests (their
 * volumes were laid at checkpoint time), remove unwanted ones of ours, and
 * only then drop the volumes and checkpoints that expired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"
#include "doc.h"
#include "flag_file.h"
#include "kc_clock.h"
#include "kc_hash.h"
#include "kc_log.h"
#include "materialise.h"
#include "status.h"

static void read_flag(struct agent *a)
{
	struct kc_error err;
	bool on;

	if (flag_file_enabled(a->cfg->flag_file, &on, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		return; /* keep the last known state */
	}
	if (on != a->flag_on)
		kc_log(KC_LOG_NOTICE, "bridge %s (flag file %s %s)", on ? "enabled" : "disabled",
		       a->cfg->flag_file, on ? "present" : "absent");
	a->flag_on = on;
}

static void announce_reachability(struct agent *a, const struct reach_view *v)
{
	if (v->state == a->said.reach)
		return;
	if (v->state == REACH_UNREACHABLE)
		kc_log(KC_LOG_WARNING, "API is unreachable (failing for %us or more)",
		       a->cfg->unreachable_after);
	else if (v->state == REACH_REFUSED)
		kc_log(
		    KC_LOG_ERR,
		    "API refuses this node's credentials (401/403 for %us or more): the kubelet, "
		    "with the same identity, cannot get its pods either; bridges may be activated",
		    a->cfg->unreachable_after);
	else if (v->state == REACH_REACHABLE)
		kc_log(KC_LOG_NOTICE, "API is reachable");
	a->said.reach = v->state;
	a->activation_timed = false;
	a->reach_since_wall = time(NULL);
	api_client_set_unreachable(a->api, reach_cannot_get_pods(v->state));
}

static int64_t min64(int64_t x, int64_t y)
{
	return x < y ? x : y;
}

/*
 * How long after an activation the API is asked every second. In a
 * self-hosted control plane the bridges themselves serve the API about 2 s
 * after they are written, and the kubelet hands the parents over a few
 * seconds later; the agent must be in contact by then to know the bridges'
 * mirror pods (agent_mirror.c) when it withdraws them. Past this the bridged
 * API is not coming from a bridge, and the outage pace resumes.
 */
#define FRESH_BRIDGE_MS (120 * 1000)

/*
 * Ask the API every second: a bridge holding host ports goes at the API's
 * first answer, which must reach us before the kubelet's reflector relists
 * and admits the parent against the bridge's ports (decision.h, "hand-off");
 * a fresh bridge may be the API itself (FRESH_BRIDGE_MS).
 */
static void await_api_answer(struct agent *a, const struct decision_result *res, int64_t now_ms)
{
	bool fresh = a->last_activation_ms >= 0 && now_ms - a->last_activation_ms < FRESH_BRIDGE_MS;
	bool awaiting = res->awaits_api_answer || fresh;

	if (fresh)
		a->next_pass_ms = min64(a->next_pass_ms, a->last_activation_ms + FRESH_BRIDGE_MS);
	if (awaiting == a->awaiting_api_answer)
		return;
	if (awaiting)
		kc_log(KC_LOG_NOTICE, "%s: asking the API every second until it answers%s",
		       res->awaits_api_answer ? "a bridge holds host ports"
		                              : "bridges just written",
		       res->awaits_api_answer
		           ? ", to withdraw it before the kubelet relists"
		           : " (they may serve it themselves: a self-hosted control plane)");
	a->awaiting_api_answer = awaiting;
	api_client_set_awaiting_answer(a->api, awaiting);
}

/* Said at the first unknown and again this often while it lasts. */
#define LOCAL_UNKNOWN_REPEAT_MS (5 * 60 * 1000)

/*
 * Which pods run here matters only while the API is not known to be
 * reachable: the container runtime first, the pod cgroups second
 * (local_state.h). Unknown is loud: a warning at once and every few minutes,
 * and `status` and the metrics show it with its reason. A change of source
 * is said once.
 */
/* Is a hand-off under way or a bridge on disk (W1 then needs the local pods)? */
static bool handoff_watched(const struct agent *a)
{
	size_t i;

	for (i = 0; i < a->parents.count; i++) {
		const struct parent_rec *r = &a->parents.recs[i];

		if (r->bridge_written_ms >= 0 || r->handed_off_ms >= 0 || r->watchdog_fires > 0)
			return true;
	}
	return false;
}

static const struct local_pods *scan_local(struct agent *a, const struct reach_view *v,
                                           int64_t now_ms)
{
	const struct local_pods *lp;

	if (v->state == REACH_REACHABLE && !handoff_watched(a))
		return NULL;
	lp = local_state_refresh(&a->local, now_ms);
	a->local_looked = true;
	if (lp == NULL) {
		if (!a->said.local_unknown ||
		    now_ms - a->said.local_unknown_ms >= LOCAL_UNKNOWN_REPEAT_MS) {
			kc_log(KC_LOG_WARNING, "local pods unknown (no bridge is activated): %s",
			       a->local.why);
			a->said.local_unknown_ms = now_ms;
		}
		a->said.local_unknown = true;
		a->said.local_source = LOCAL_SOURCE_NONE;
		return NULL;
	}
	if (a->said.local_source != a->local.source) {
		if (a->local.source == LOCAL_SOURCE_CRI)
			kc_log(KC_LOG_INFO, "local pods: from the container runtime at %s",
			       cri_client_socket(a->local.cri));
		else
			kc_log(KC_LOG_WARNING,
			       "local pods: from the pod cgroups (an existing pod cgroup counts as "
			       "running), not the container runtime: %s",
			       a->local.why);
		a->said.local_source = a->local.source;
	}
	a->said.local_unknown = false;
	return lp;
}

/* What the status shows while the staticPodPath cannot be used (the log says it once). */
static void wait_static_dir(struct agent *a, const char *why)
{
	if (a->wait.what != AGENT_WAIT_STATIC_POD_PATH) {
		a->wait.what = AGENT_WAIT_STATIC_POD_PATH;
		a->wait.since_ms = kc_clock_ms();
	}
	snprintf(a->wait.detail, sizeof(a->wait.detail), "%s", why);
}

/*
 * Under the unit's ProtectSystem=strict only the ReadWritePaths that existed
 * when the service started are writable: systemd bind-mounts them then. A
 * staticPodPath created or replaced later outside them (kubeadm init/join
 * after the package; a directory swapped for a new one) is read-only inside
 * the service for as long as it runs, and no bridge could ever be written.
 * Only systemd can mend that, by building the mount namespace again, so the
 * agent exits (Restart=always starts it in a new one). Read-only at the first
 * look after start is another case: the namespace is new, a restart cannot
 * help (a path outside ReadWritePaths, a read-only mount): the agent stays,
 * waits, and says how to fix it. A directory that goes read-only while the
 * agent uses it (a remount) is a disk fault the writes report; not looked at
 * here.
 */
static bool writable_here(struct agent *a)
{
	struct kc_error err;

	if (access(a->cfg->static_pod_path, W_OK) == 0 || errno != EROFS)
		return true;
	if (a->static_dir_moved) {
		kc_fail(&err, KC_EIO,
		        "staticPodPath %s is read-only inside this service: it was created or "
		        "replaced after the service started, outside the writable paths of its "
		        "mount namespace; exiting so that systemd starts the agent in a new one",
		        a->cfg->static_pod_path);
		kc_log(KC_LOG_ERR, "%s", err.msg);
		agent_note_error(a, &err);
		a->fatal = true;
		return false;
	}
	snprintf(err.msg, sizeof(err.msg),
	         "%s is read-only for this service (give it to ReadWritePaths= in a drop-in: "
	         "systemctl edit kubelet-checkpoint)",
	         a->cfg->static_pod_path);
	if (!a->said.static_dir_missing)
		kc_log(KC_LOG_ERR, "staticPodPath not usable, waiting for it: %s", err.msg);
	a->said.static_dir_missing = true;
	wait_static_dir(a, err.msg);
	return false;
}

/*
 * The staticPodPath is opened afresh at every pass: a directory removed,
 * renamed away or replaced under us must never be written through the fd of
 * the old one (the kubelet reads the path, not our fd). One open() is cheap
 * next to a pass; stale temp files are cleaned only when the path (re)appears.
 */
static bool bridge_ready(struct agent *a)
{
	struct bridge_dir *fresh = NULL;
	bool appeared = a->bridge == NULL, replaced = false;
	struct kc_error err;
	kc_code rc;

	rc = bridge_dir_open(a->cfg->static_pod_path, &fresh, &err);
	if (a->bridge != NULL) {
		if (fresh == NULL || !bridge_dir_same(a->bridge, fresh)) {
			a->effects_dirty = true; /* another directory now: look again */
			replaced = fresh != NULL;
		}
		bridge_dir_close(a->bridge);
	}
	a->bridge = fresh;
	if (rc == KC_OK) {
		size_t n = 0;

		if (replaced)
			a->static_dir_moved = true;
		if (!appeared && !replaced)
			return true;
		if (!writable_here(a)) {
			bridge_dir_close(a->bridge);
			a->bridge = NULL; /* looked at again at the next pass */
			return false;
		}
		if (a->wait.what == AGENT_WAIT_STATIC_POD_PATH)
			a->wait.what = AGENT_WAIT_NONE;
		if (!appeared)
			return true;
		a->effects_dirty = true;
		kc_log(KC_LOG_INFO, "staticPodPath %s is there", a->cfg->static_pod_path);
		if (bridge_dir_clean_temps(a->bridge, &n, &err) != KC_OK)
			kc_log(KC_LOG_ERR, "%s", err.msg);
		a->said.static_dir_missing = false;
		return true;
	}
	a->static_dir_moved = true;
	if (!a->said.static_dir_missing)
		kc_log(rc == KC_ENOTFOUND ? KC_LOG_WARNING : KC_LOG_ERR,
		       "staticPodPath not usable, waiting for it: %s", err.msg);
	a->said.static_dir_missing = true;
	wait_static_dir(a, err.msg);
	return false;
}

static bool name_kept(const struct decision_result *res, const char *file)
{
	size_t i;

	for (i = 0; i < res->count; i++)
		if (decision_keeps_manifest(res->items[i].verdict) &&
		    strcmp(res->items[i].manifest, file) == 0)
			return true;
	return false;
}

/*
 * Durations in Events come from the monotonic clock (kc_clock.h): a wall
 * clock step (NTP, a VM resumed, a wrong RTC at boot) between activation and
 * withdrawal made "after running 120h00m01s" (issue 19 item 13). The wall
 * clock only dates them.
 */
static int64_t seconds_since(int64_t then_ms)
{
	int64_t d = kc_clock_ms() - then_ms;

	return d > 0 ? d / 1000 : 0;
}

/* The Event of an activation: when, and after how long without the API. */
static void event_activated(struct agent *a, const struct parent_rec *r, const char *file)
{
	time_t now = time(NULL);
	char when[32], since[32], ago[32];

	if (status_rfc3339(now, when, sizeof(when), NULL) != KC_OK)
		snprintf(when, sizeof(when), "?");
	if (a->last_success_wall != 0 && a->reach.last_ok_ms >= 0) {
		agent_event_duration(seconds_since(a->reach.last_ok_ms), ago, sizeof(ago));
		if (status_rfc3339(a->last_success_wall, since, sizeof(since), NULL) != KC_OK)
			snprintf(since, sizeof(since), "?");
		agent_event_pod(a, r->namespace, r->name, r->uid, true, EVQ_ACTIVATED,
		                "Bridge static pod %s written on node %s at %s, after %s without "
		                "the API (last answer %s); the kubelet runs it as %s-%s",
		                file, a->cfg->node_name, when, ago, since, r->name,
		                a->cfg->node_name);
	} else {
		agent_event_duration(seconds_since(a->start_ms), ago, sizeof(ago));
		agent_event_pod(
		    a, r->namespace, r->name, r->uid, true, EVQ_ACTIVATED,
		    "Bridge static pod %s written on node %s at %s; the API has not "
		    "answered since the agent started %s earlier; the kubelet runs it as "
		    "%s-%s",
		    file, a->cfg->node_name, when, ago, r->name, a->cfg->node_name);
	}
	if (a->activated_at != NULL)
		json_object_set_new(a->activated_at, r->uid,
		                    json_integer((json_int_t)kc_clock_ms()));
}

/* The Event of a withdrawal: how long the bridge ran. */
static void event_withdrawn(struct agent *a, const struct bridge_manifest *m)
{
	const char *of = m->checkpoint_of, *slash = strchr(of, '/');
	json_t *at = m->source_uid != NULL ? json_object_get(a->activated_at, m->source_uid) : NULL;
	char ns[256], ran[32];

	snprintf(ns, sizeof(ns), "%.*s", slash != NULL ? (int)(slash - of) : 0, of);
	if (json_is_integer(at)) {
		agent_event_duration(seconds_since((int64_t)json_integer_value(at)), ran,
		                     sizeof(ran));
		agent_event_pod(a, ns, slash != NULL ? slash + 1 : NULL, m->source_uid, false,
		                EVQ_WITHDRAWN,
		                "Bridge static pod %s withdrawn from node %s after running %s",
		                m->file, a->cfg->node_name, ran);
		json_object_del(a->activated_at, m->source_uid);
	} else {
		/* Written before this agent started: it ran at least since then. */
		agent_event_duration(seconds_since(a->start_ms), ran, sizeof(ran));
		agent_event_pod(
		    a, ns, slash != NULL ? slash + 1 : NULL, m->source_uid, false, EVQ_WITHDRAWN,
		    "Bridge static pod %s withdrawn from node %s after running at least "
		    "%s (it was written before the agent's last start)",
		    m->file, a->cfg->node_name, ran);
	}
}

/* Every ACTIVE manifest, written with one durability barrier. */
static void write_active(struct agent *a, const struct decision_result *res, const size_t *idx,
                         const struct reach_view *api)
{
	int64_t t0 = kc_clock_ms();
	struct parent_rec **recs;
	struct bridge_write *w;
	size_t i, k = 0, n = 0;

	if (res->nactive == 0)
		return;
	w = calloc(res->nactive, sizeof(*w));
	recs = calloc(res->nactive, sizeof(*recs));
	if (w == NULL || recs == NULL) {
		kc_log(KC_LOG_ERR, "activation: out of memory");
		goto out;
	}
	for (i = 0; i < res->count && k < res->nactive; i++) {
		if (res->items[i].verdict != DECISION_ACTIVE)
			continue;
		recs[k] = &a->parents.recs[idx[i]];
		w[k].file = recs[k]->manifest_name;
		w[k].data = recs[k]->manifest.data;
		w[k].len = recs[k]->manifest.len;
		k++;
	}
	bridge_dir_write_batch(a->bridge, w, k, NULL);
	for (i = 0; i < k; i++) {
		if (w[i].err.code != KC_OK) {
			kc_log(KC_LOG_ERR, "activating %s/%s: %s", recs[i]->namespace,
			       recs[i]->name, w[i].err.msg);
			agent_note_error(a, &w[i].err);
			a->effects_dirty = true; /* try again at the next pass */
		} else if (w[i].changed) {
			a->activations++;
			a->last_activation_ms = kc_clock_ms();
			n++;
			kc_log(KC_LOG_NOTICE, "activated %s/%s (%s): wrote %s/%s",
			       recs[i]->namespace, recs[i]->name, recs[i]->uid,
			       a->cfg->static_pod_path, w[i].file);
			event_activated(a, recs[i], w[i].file);
		}
	}
	/* The activation overhead docs/design.md §7 budgets, measured where it happens. */
	if (n > 0 && api->state == REACH_UNREACHABLE && !a->activation_timed) {
		kc_log(KC_LOG_INFO,
		       "activated %zu manifests in %lld ms (%lld ms after the window ended)", n,
		       (long long)(kc_clock_ms() - t0), (long long)(kc_clock_ms() - api->since_ms));
		a->activation_timed = true;
	}
out:
	free(w);
	free(recs);
}

/* A prefixed file that is not ours is said once, not at every pass. */
static void log_ignored(struct agent *a, const struct bridge_list *l)
{
	struct kc_error err;
	size_t i;

	for (i = 0; i < l->nignored; i++) {
		const char *f = l->ignored[i].file;

		if (doc_array_has_string(a->ignored_logged, f))
			continue;
		kc_log(KC_LOG_WARNING, "%s/%s: has our prefix but is not ours (%s): left alone",
		       a->cfg->static_pod_path, f, l->ignored[i].reason);
		if (json_array_append_new(a->ignored_logged, json_string(f)) != 0) {
			kc_fail(&err, KC_ENOMEM, "out of memory");
			agent_note_error(a, &err);
		}
	}
}

static void note_written(struct agent *a, const struct bridge_list *l,
                         const struct decision_result *res);

static void remember_files(struct agent *a, const struct bridge_list *l,
                           const struct decision_result *res)
{
	size_t i;

	for (i = 0; i < a->nbridge_files; i++)
		free(a->bridge_files[i]);
	free(a->bridge_files);
	a->bridge_files = calloc(l->count ? l->count : 1, sizeof(char *));
	a->nbridge_files = 0;
	for (i = 0; a->bridge_files != NULL && i < l->count; i++)
		if (name_kept(res, l->manifests[i].file))
			a->bridge_files[a->nbridge_files++] = strdup(l->manifests[i].file);
}

/*
 * The mirror pods of the manifests res does not keep go first, while the
 * bridged API may still serve (agent_mirror.c, api_mirror.c say why).
 */
static void delete_mirrors(struct agent *a, const struct bridge_list *l,
                           const struct decision_result *res)
{
	const char *uids[AGENT_MIRROR_BATCH_MAX];
	size_t i, n = 0;

	for (i = 0; i < l->count && n < AGENT_MIRROR_BATCH_MAX; i++)
		if (!name_kept(res, l->manifests[i].file) && l->manifests[i].source_uid != NULL)
			uids[n++] = l->manifests[i].source_uid;
	agent_mirror_delete(a, uids, n);
}

/*
 * Remove from bd (the staticPodPath dir) every manifest of ours that res
 * does not keep; false when bd cannot be listed. *l is the listing.
 */
static bool remove_unwanted(struct agent *a, struct bridge_dir *bd, const char *dir,
                            const struct decision_result *res, struct bridge_list *l)
{
	struct kc_error err;
	bool removed;
	size_t i;

	if (bridge_dir_list(bd, l, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		agent_note_error(a, &err);
		a->effects_dirty = true;
		return false;
	}
	delete_mirrors(a, l, res);
	for (i = 0; i < l->count; i++) {
		const char *file = l->manifests[i].file;

		if (name_kept(res, file))
			continue;
		if (bridge_dir_remove(bd, file, &removed, &err) != KC_OK) {
			kc_log(KC_LOG_ERR, "withdrawing %s: %s", file, err.msg);
			agent_note_error(a, &err);
			a->effects_dirty = true;
		} else if (removed) {
			a->withdrawals++;
			kc_log(KC_LOG_NOTICE, "withdrawn %s/%s (checkpoint of %s)", dir, file,
			       l->manifests[i].checkpoint_of);
			event_withdrawn(a, &l->manifests[i]);
		}
	}
	return true;
}

/*
 * Each parent's bridge written time (decision.h W1) from a listing: the
 * file's mtime, so it survives an agent restart. Files removed by this
 * listing's pass are gone (-1).
 */
static void note_written(struct agent *a, const struct bridge_list *l,
                         const struct decision_result *res)
{
	size_t i, j;

	for (i = 0; i < a->parents.count; i++)
		a->parents.recs[i].bridge_written_ms = -1;
	for (j = 0; j < l->count; j++) {
		struct parent_rec *r;

		if (l->manifests[j].source_uid == NULL ||
		    (res != NULL && !name_kept(res, l->manifests[j].file)))
			continue;
		r = parent_table_find(&a->parents, l->manifests[j].source_uid);
		if (r != NULL)
			r->bridge_written_ms = l->manifests[j].written_ms;
	}
	a->bridges_listed = true;
}

static void withdraw_unwanted(struct agent *a, const struct decision_result *res)
{
	struct bridge_list l;

	if (!remove_unwanted(a, a->bridge, a->cfg->static_pod_path, res, &l))
		return;
	note_written(a, &l, res);
	log_ignored(a, &l);
	remember_files(a, &l, res);
	a->nactive = a->nbridge_files;
	bridge_list_free(&l);
}

/*
 * SIGHUP moved the staticPodPath and the new configuration is in force: the
 * kubelet reads the new one, so ours in the old one (old, still open) are
 * withdrawn (an empty verdict keeps none); the next pass writes what is
 * wanted into the new one.
 */
void agent_withdraw_from(struct agent *a, struct bridge_dir *old, const char *old_dir)
{
	struct decision_result none = {0};
	struct bridge_list l;

	if (old != NULL && remove_unwanted(a, old, old_dir, &none, &l))
		bridge_list_free(&l);
}

/* GC: its manifest is already gone (not kept); now volumes, then the file. */
static void drop_expired(struct agent *a, const struct decision_result *res, const size_t *idx,
                         char **dropped, size_t *ndropped)
{
	struct parent_rec *r;
	struct kc_error err;
	size_t i;

	for (i = 0; i < res->count; i++) {
		if (!res->items[i].drop)
			continue;
		r = &a->parents.recs[idx[i]];
		if (r->manifest_name != NULL && name_kept(res, r->manifest_name))
			continue; /* still in use; GC runs only while the API is up */
		if (materialise_remove(a->cfg->state_dir, r->uid, &err) != KC_OK ||
		    ckpt_store_delete(a->store, r->uid, &err) != KC_OK) {
			kc_log(KC_LOG_ERR, "dropping checkpoint %s: %s", r->uid, err.msg);
			agent_note_error(a, &err);
			continue;
		}
		kc_log(KC_LOG_INFO, "checkpoint dropped: %s/%s (%s), parent gone for %us",
		       r->namespace ? r->namespace : "?", r->name ? r->name : "?", r->uid,
		       a->cfg->gc_grace);
		dropped[(*ndropped)++] = strdup(r->uid);
	}
}

/*
 * FNV-1a 64 over what the effects depend on: each item's uid, verdict and
 * file (strings with their NUL, so that fields cannot run into each other).
 */
static uint64_t decision_signature(const struct decision_result *res, const size_t *idx,
                                   const struct agent *a)
{
	uint64_t h = KC_FNV1A64_INIT;
	size_t i;

	for (i = 0; i < res->count; i++) {
		const char *uid = a->parents.recs[idx[i]].uid;
		unsigned char verdict = (unsigned char)res->items[i].verdict;

		h = kc_fnv1a64_add(h, uid, strlen(uid) + 1);
		h = kc_fnv1a64_add(h, &verdict, 1);
		h = kc_fnv1a64_add(h, res->items[i].manifest, strlen(res->items[i].manifest) + 1);
	}
	return h;
}

static void apply(struct agent *a, const struct decision_result *res, const size_t *idx,
                  const struct reach_view *api)
{
	struct bridge_list none = {0};
	char **dropped;
	size_t i, ndropped = 0;
	uint64_t sig;

	/*
	 * The kubelet watches no static pod directory (agent_config.h): no
	 * manifest can run, so none is written or withdrawn anywhere; the
	 * checkpoints are still kept and collected.
	 */
	if (a->cfg->bridge_off[0] != '\0') {
		if (!a->said.bridge_off)
			kc_log(KC_LOG_WARNING, "bridge off, nothing is written: %s",
			       a->cfg->bridge_off);
		a->said.bridge_off = true;
		remember_files(a, &none, res);
		a->nactive = 0;
		goto drop;
	}
	if (!bridge_ready(a)) {
		/* No directory, no manifest: status must not show the last ones. */
		remember_files(a, &none, res);
		a->nactive = 0;
		return; /* nothing may be dropped before its manifest is known gone */
	}
	sig = decision_signature(res, idx, a);
	/* A timer pass that changes nothing reads nothing (one per second in an outage). */
	if (!a->effects_dirty && sig == a->applied_sig && res->ndrop == 0)
		return;
	a->effects_dirty = false;
	write_active(a, res, idx, api);
	withdraw_unwanted(a, res);
	a->applied_sig = sig;
drop:
	if (res->ndrop == 0 || (dropped = calloc(res->ndrop, sizeof(char *))) == NULL)
		return;
	drop_expired(a, res, idx, dropped, &ndropped);
	for (i = 0; i < ndropped; i++) {
		if (dropped[i] != NULL)
			parent_table_remove(&a->parents, dropped[i]);
		free(dropped[i]);
	}
	free(dropped);
}

void agent_bridge_not_running(struct agent *a, const struct parent_rec *r)
{
	kc_log(KC_LOG_WARNING,
	       "bridge of %s/%s (%s) is not running %us after %s was written: the kubelet did "
	       "not start it: see the kubelet log",
	       r->namespace, r->name, r->uid, a->cfg->bridge_start_timeout, r->manifest_name);
	agent_event_pod(a, r->namespace, r->name, r->uid, true, EVQ_NOT_RUNNING,
	                "Bridge static pod %s was written on node %s, but no sandbox of %s-%s was "
	                "running %us later: the kubelet did not start it; see the kubelet log",
	                r->manifest_name, a->cfg->node_name, r->name, a->cfg->node_name,
	                a->cfg->bridge_start_timeout);
}

/*
 * After the effects: for each bridge on disk, is its sandbox (the static
 * pod "<name>-<nodeName>") READY in the container runtime (bridge_run.h)?
 * Lowers *next to when a starting bridge runs out of time.
 */
static void track_bridges(struct agent *a, int64_t now_ms, int64_t *next)
{
	char sandbox[512];
	size_t i;

	a->nbridges_not_running = 0;
	for (i = 0; i < a->parents.count; i++) {
		struct parent_rec *r = &a->parents.recs[i];
		bool on_disk = agent_bridge_on_disk(a, r), known = false, ready = false;

		if (on_disk) {
			snprintf(sandbox, sizeof(sandbox), "%s-%s", r->name, a->cfg->node_name);
			ready = local_state_sandbox_ready(&a->local, r->namespace, sandbox, &known);
		}
		if (bridge_run_step(&r->run, on_disk, known, ready, now_ms,
		                    (int64_t)a->cfg->bridge_start_timeout * 1000, next))
			agent_bridge_not_running(a, r);
		if (r->run.state == BRIDGE_RUN_NOT_RUNNING)
			a->nbridges_not_running++;
	}
}

/* Before the first decision: what is on disk (the bridges an earlier run wrote). */
static void list_bridges_once(struct agent *a)
{
	struct bridge_list l;
	struct kc_error err;

	if (a->bridges_listed || a->cfg->bridge_off[0] != '\0' || !bridge_ready(a))
		return;
	if (bridge_dir_list(a->bridge, &l, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		return;
	}
	note_written(a, &l, NULL);
	bridge_list_free(&l);
}

/* Wall-clock ms: the runtime's container times are wall clock. */
static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * How long each parent has run without a break (decision.h hand-off): from
 * the runtime's start time of its oldest running container, or with the
 * pod cgroups only, since the agent first saw it run.
 */
static void fill_run_times(struct agent *a, struct decision_checkpoint *view, const size_t *idx,
                           size_t n, const struct local_pods *lp, int64_t now_ms)
{
	int64_t wall = wall_ms();
	size_t i;

	for (i = 0; i < n; i++) {
		struct parent_rec *r = &a->parents.recs[idx[i]];
		const struct local_pod *p = local_pods_find(lp, r->uid);

		if (p == NULL || !p->running) {
			r->seen_running_ms = -1;
			continue;
		}
		if (r->seen_running_ms < 0)
			r->seen_running_ms = now_ms;
		if (lp->containers_known && p->running_since_ms >= 0)
			view[i].parent_run_ms =
			    wall > p->running_since_ms ? wall - p->running_since_ms : 0;
		else
			view[i].parent_run_ms = now_ms - r->seen_running_ms;
	}
}

static enum decision_node node_of(const struct agent *a)
{
	if (a->cluster.node == AGENT_NODE_PRESENT)
		return DECISION_NODE_PRESENT;
	if (a->cluster.node == AGENT_NODE_MISSING)
		return DECISION_NODE_MISSING;
	return DECISION_NODE_UNKNOWN;
}

/* What the decision says changed in the hand-off records: record, say, warn. */
static void note_handoffs(struct agent *a, const struct decision_result *res, const size_t *idx,
                          int64_t now_ms)
{
	size_t i;

	for (i = 0; i < res->count; i++) {
		const struct decision_item *it = &res->items[i];
		struct parent_rec *r = &a->parents.recs[idx[i]];

		/* An assumed hand-off (records unknown) gives way to a real one. */
		if (it->handed_off && (r->handed_off_ms < 0 || r->handoff_assumed)) {
			r->handed_off_ms = now_ms;
			r->handoff_assumed = false;
			r->handoff_timed_out = false;
			r->handoff_wall = time(NULL);
			kc_log(
			    KC_LOG_NOTICE,
			    "%s/%s (%s): a container of the parent was created after its bridge: "
			    "handing off (the bridge comes back if the parent has not run %ds "
			    "within %ds while the kubelet cannot get its pods)",
			    r->namespace, r->name, r->uid, HANDOFF_RUN_MS / 1000,
			    HANDOFF_WATCH_MS / 1000);
		}
		if (it->watchdog_fired) {
			r->handed_off_ms = -1;
			r->handoff_assumed = false;
			r->watchdog_fires++;
			r->watchdog_last_ms = now_ms;
			r->handoff_wall = time(NULL);
			kc_log(
			    KC_LOG_WARNING,
			    "%s/%s (%s): the parent did not run %ds within %ds of the hand-off and "
			    "the kubelet still cannot get its pods: bridge activated again (%u)",
			    r->namespace, r->name, r->uid, HANDOFF_RUN_MS / 1000,
			    HANDOFF_WATCH_MS / 1000, r->watchdog_fires);
			agent_event_pod(
			    a, r->namespace, r->name, r->uid, true, EVQ_HANDOFF_WATCHDOG,
			    "The parent did not run %ds within %ds of its bridge's "
			    "withdrawal on node %s and the kubelet still cannot get its "
			    "pods: bridge activated again (time %u)",
			    HANDOFF_RUN_MS / 1000, HANDOFF_WATCH_MS / 1000, a->cfg->node_name,
			    r->watchdog_fires);
		}
		if (it->handoff_done) {
			if (r->handed_off_ms >= 0 || r->watchdog_fires > 0)
				kc_log(KC_LOG_INFO, "%s/%s (%s): hand-off done: the parent runs",
				       r->namespace, r->name, r->uid);
			r->handed_off_ms = -1;
			r->handoff_assumed = false;
			r->watchdog_fires = 0;
			r->watchdog_last_ms = -1;
			r->handoff_wall = time(NULL);
		}
		if (it->handoff_timed_out && !r->handoff_timed_out) {
			r->handoff_timed_out = true;
			r->handoff_wall = time(NULL);
			kc_log(KC_LOG_WARNING,
			       "%s/%s (%s): the API answered for %us and the parent never got a "
			       "container: bridge withdrawn (hand-off timeout)",
			       r->namespace, r->name, r->uid, a->cfg->handoff_timeout);
			agent_event_pod(a, r->namespace, r->name, r->uid, true, EVQ_HANDOFF_TIMEOUT,
			                "The API answered for %us and the parent never got a "
			                "container on node %s: bridge withdrawn",
			                a->cfg->handoff_timeout, a->cfg->node_name);
		}
		if (it->verdict == DECISION_ACTIVE)
			r->handoff_timed_out = false;
	}
}

static size_t checkpoints_held(const struct agent *a)
{
	size_t i, n = 0;

	for (i = 0; i < a->parents.count; i++)
		n += a->parents.recs[i].ckpt != PARENT_CKPT_NONE;
	return n;
}

/* The quiet clock never moves back: a reload keeps what this run saw. */
static void quiet_since(struct agent *a, int64_t last_ms)
{
	if (last_ms < 0 || (a->bridge_seen && a->last_bridge_ms >= last_ms))
		return;
	a->bridge_seen = true;
	a->last_bridge_ms = last_ms;
}

void agent_handoffs_load(struct agent *a)
{
	struct handoff_doc d = {0};
	struct kc_error err;
	enum handoff_load res = HANDOFF_LOAD_BROKEN;
	int64_t now = kc_clock_ms();
	size_t n;

	kc_buf_reset(&a->handoff_file.saved); /* the next pass writes what holds now */
	if (a->handoff_file.boot_id[0] == '\0' &&
	    handoff_boot_id(a->handoff_file.boot_id, &err) != KC_OK)
		a->handoff_file.boot_id[0] =
		    '\0'; /* records cannot be dated: neither read nor saved */
	else
		res = handoff_file_read(a->cfg->state_dir, a->handoff_file.boot_id, now, &d, &err);
	switch (res) {
	case HANDOFF_LOAD_OK:
		n = handoff_doc_to_table(&d, &a->parents);
		/* A bridge was on when it was saved: on at least until that agent stopped. */
		quiet_since(a, d.bridge_on ? now : d.last_bridge_ms);
		if (n > 0 || d.bridge_on || d.last_bridge_ms >= 0)
			kc_log(KC_LOG_INFO,
			       "%s/" HANDOFF_FILE_NAME
			       ": %zu hand-off record(s) of this boot restored; "
			       "last bridge %s",
			       a->cfg->state_dir, n,
			       d.bridge_on             ? "on until the last agent stopped"
			       : d.last_bridge_ms >= 0 ? "seen this boot"
			                               : "never");
		break;
	case HANDOFF_LOAD_MISSING:
	case HANDOFF_LOAD_OTHER_BOOT:
		/* Hand-offs start anew after a reboot. A bridge may have run just
		 * before this start (an older agent, another boot): no collection for
		 * DECISION_BRIDGE_QUIET_MS, unless nothing could have been bridged. */
		if (checkpoints_held(a) > 0)
			quiet_since(a, now);
		if (res == HANDOFF_LOAD_OTHER_BOOT)
			kc_log(KC_LOG_INFO,
			       "%s/" HANDOFF_FILE_NAME
			       ": written before the last reboot: hand-offs "
			       "start anew",
			       a->cfg->state_dir);
		break;
	case HANDOFF_LOAD_BROKEN:
		n = handoff_assume_under_way(&a->parents, now, time(NULL));
		quiet_since(a, now);
		kc_log(KC_LOG_ERR,
		       "hand-off records unknown: %s; taking %zu checkpoint(s) as handed off now "
		       "(none is activated again for %ds, then only by the watchdog) and no "
		       "collection for %ds",
		       err.msg, n, HANDOFF_WATCH_MS / 1000, DECISION_BRIDGE_QUIET_MS / 1000);
		agent_note_error(a, &err);
		break;
	}
	handoff_doc_free(&d);
}

/* The records and quiet clock to disk, when their bytes change (handoff_file.h). */
static void save_handoffs(struct agent *a)
{
	struct handoff_doc d = {0};
	struct kc_error err;
	struct kc_buf bytes;

	if (a->handoff_file.boot_id[0] == '\0')
		return;
	kc_buf_init(&bytes, HANDOFF_FILE_MAX);
	if (handoff_doc_from_table(&a->parents, a->nactive > 0,
	                           a->bridge_seen ? a->last_bridge_ms : -1, &d, &err) != KC_OK ||
	    handoff_doc_dump(&d, a->handoff_file.boot_id, &bytes, &err) != KC_OK ||
	    (bytes.len == a->handoff_file.saved.len &&
	     memcmp(bytes.data, a->handoff_file.saved.data, bytes.len) == 0))
		goto out;
	if (handoff_file_write(a->cfg->state_dir, &bytes, &err) != KC_OK) {
		if (!a->handoff_file.save_failed)
			kc_log(KC_LOG_ERR, "saving the hand-off records: %s (tried at every pass)",
			       err.msg);
		agent_note_error(a, &err);
		a->handoff_file.save_failed = true;
		goto out;
	}
	if (a->handoff_file.save_failed)
		kc_log(KC_LOG_NOTICE, "hand-off records saved again");
	a->handoff_file.save_failed = false;
	kc_buf_free(&a->handoff_file.saved);
	a->handoff_file.saved = bytes;
	kc_buf_init(&bytes, HANDOFF_FILE_MAX);
out:
	kc_buf_free(&bytes);
	handoff_doc_free(&d);
}

/* What blocks a collection or a withdrawal is said loudly, once per episode. */
static void note_cluster(struct agent *a, const struct decision_result *res)
{
	if (res->other_cluster && !a->said.other_cluster)
		kc_log(KC_LOG_WARNING,
		       "the API answers kube-system UID %s, Service default/kubernetes UID %s, not "
		       "the cluster some checkpoints were taken from (or they recorded none): "
		       "nothing is withdrawn or collected on its word",
		       a->cluster.uid[0] != '\0' ? a->cluster.uid : "(unknown)",
		       a->cluster.service_uid[0] != '\0' ? a->cluster.service_uid : "(unknown)");
	a->said.other_cluster = res->other_cluster;
	if (res->node_missing_blocks && !a->said.node_missing)
		kc_log(KC_LOG_WARNING,
		       "Node %s is not in the API (404): checkpoint collection is "
		       "suspended",
		       a->cfg->node_name);
	a->said.node_missing = res->node_missing_blocks;
}

void agent_pass(struct agent *a, int64_t now_ms)
{
	struct decision_checkpoint *view = NULL;
	struct decision_result res = {0};
	struct decision_input in;
	struct kc_error err;
	size_t *idx = NULL, n = 0;
	int64_t recheck;

	read_flag(a);
	list_bridges_once(a);
	memset(&in, 0, sizeof(in));
	in.api = reachability_view(&a->reach, now_ms);
	announce_reachability(a, &in.api);
	in.local = scan_local(a, &in.api, now_ms);
	in.flag_on = a->flag_on;
	in.gc_grace_ms = (int64_t)a->cfg->gc_grace * 1000;
	in.now_ms = now_ms;
	in.now_wall_ms = wall_ms();
	in.cluster_uid = a->cluster.uid;
	in.cluster_service_uid = a->cluster.service_uid;
	in.node = node_of(a);
	in.handoff_timeout_ms = (int64_t)a->cfg->handoff_timeout * 1000;
	in.last_bridge_ms = a->bridge_seen ? a->last_bridge_ms : -1;
	a->next_pass_ms = REACH_NEVER;
	if (parent_table_decision_view(&a->parents, &view, &idx, &n, &err) == KC_OK)
		fill_run_times(a, view, idx, n, in.local, now_ms);
	if (view == NULL ||
	    (in.checkpoints = view, in.count = n, decision_compute(&in, &res, &err)) != KC_OK) {
		kc_log(KC_LOG_ERR, "decision: %s", err.msg);
		agent_note_error(a, &err);
		a->next_pass_ms = now_ms + 1000;
		goto out;
	}
	note_handoffs(a, &res, idx, now_ms);
	/* A hand-off is on disk before its bridge goes: a crash in between keeps it. */
	save_handoffs(a);
	note_cluster(a, &res);
	recheck = agent_confirm_wanted(a, &res, idx);
	apply(a, &res, idx, &in.api);
	if (a->nactive > 0) {
		a->bridge_seen = true;
		a->last_bridge_ms = now_ms;
	}
	save_handoffs(a);
	a->next_pass_ms = min64(res.next_change_ms, recheck);
	await_api_answer(a, &res, now_ms);
	track_bridges(a, now_ms, &a->next_pass_ms);
	/* While the API is not known to be up, or a bridge or hand-off needs the
	 * local pods (W1, the watchdog), follow them each second. */
	if (in.api.state != REACH_REACHABLE || a->bridge == NULL || in.local != NULL)
		a->next_pass_ms = min64(a->next_pass_ms, now_ms + 1000);
out:
	decision_result_free(&res);
	free(view);
	free(idx);
}
