/*
 * agent_sync.c: from what the API says (and what is on disk at start) to the
 * parent table and the checkpoint files. A parent is checkpointed once its
 * referenced Secrets/ConfigMaps have been fetched and it renders cleanly; the
 * rendered manifest is cached so that activation is only a file write.
 * Volumes are materialised here, at checkpoint time, so that they exist
 * before any manifest that points at them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_int.h"
#include "doc.h"
#include "bridge_name.h"
#include "bridge_warnings.h"
#include "k8s_validate.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "pod_spec.h"
#include "materialise.h"
#include "objects.h"
#include "pod_refs.h"
#include "pod_spec.h"
#include "volume_plan.h"

/*
 * The volumes of a checkpoint on disk: render plans them (volume_plan.h), the
 * store writes the plan (materialise.h). Here, because neither layer uses the
 * other.
 */
static kc_code materialise_volumes(const char *state_dir, const json_t *pod,
                                   const struct kc_objects *objs, struct kc_error *err)
{
	struct vp_plan plan;
	kc_code rc;

	memset(&plan, 0, sizeof(plan));
	if ((rc = volume_plan_build(pod, objs, &plan, err)) != KC_OK)
		return rc;
	rc = materialise_plan(state_dir, &plan, NULL, err);
	volume_plan_free(&plan);
	return rc;
}

static kc_code objects_index(const json_t *objects, struct kc_objects **out, struct kc_error *err)
{
	struct kc_objects *idx = kc_objects_new();
	size_t i;
	json_t *o;
	kc_code rc;

	if (idx == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	json_array_foreach(objects, i, o)
	{
		/* kc_objects_add takes a reference; objects keeps its own. */
		if ((rc = kc_objects_add(idx, json_incref(o), err)) != KC_OK) {
			kc_objects_free(idx);
			return rc;
		}
	}
	*out = idx;
	return KC_OK;
}

/*
 * What a bridge of pod may do differently from it (bridge_warnings.h): kept
 * for status, and logged when the set changes (once per pod change, once at
 * start for what is on disk).
 */
static void note_warnings(const struct agent *a, struct parent_rec *r, const json_t *pod)
{
	struct kc_error err;
	json_t *w = NULL, *v;
	size_t i;

	if (bridge_warnings_on(pod, &a->bridge_node, &w, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "pod %s: %s", r->uid, err.msg);
		return;
	}
	if (!parent_rec_set_warnings(r, w))
		return;
	json_array_foreach(w, i, v)
	    kc_log(KC_LOG_WARNING, "pod %s/%s (%s): its bridge may not behave like it: %s",
	           r->namespace ? r->namespace : "?", r->name ? r->name : "?", r->uid,
	           json_string_value(v));
}

/* Render pod with its objects into the manifest cache of r. */
static kc_code cache_manifest(struct agent *a, struct parent_rec *r, const json_t *pod,
                              const struct kc_objects *idx, struct kc_error *err)
{
	char file[DECISION_MANIFEST_MAX];
	struct kc_buf bytes;
	json_t *manifest = NULL;
	kc_code rc;

	kc_buf_init(&bytes, RENDER_MAX_MANIFEST);
	if ((rc = render_pod(pod, idx, &a->ropts, &manifest, err)) == KC_OK &&
	    (rc = render_manifest_bytes(manifest, &bytes, err)) == KC_OK &&
	    (rc = bridge_manifest_name(pod_meta_or(pod, "namespace", ""),
	                               pod_meta_or(pod, "name", ""), file, sizeof(file), err)) ==
	        KC_OK)
		rc = bridge_dir_check_bytes(file, bytes.data, bytes.len, err);
	if (rc == KC_OK)
		rc = parent_rec_set_manifest(r, file, &bytes, err);
	if (rc == KC_OK) {
		r->host_ports = pod_spec_holds_host_ports(json_object_get(manifest, "spec"));
		note_warnings(a, r, pod);
	}
	a->effects_dirty = true;
	json_decref(manifest);
	kc_buf_free(&bytes);
	return rc;
}

static void set_not_checkpointable(struct agent *a, struct parent_rec *r,
                                   const struct kc_error *why)
{
	r->not_checkpointable = true;
	if (parent_rec_set_problem(r, why->msg)) {
		kc_log(KC_LOG_WARNING, "pod %s/%s (%s) is not checkpointable%s: %s",
		       r->namespace ? r->namespace : "?", r->name ? r->name : "?", r->uid,
		       r->ckpt == PARENT_CKPT_OK ? " now (keeping its last checkpoint)" : "",
		       why->msg);
		agent_event_pod(a, r->namespace, r->name, r->uid, true, EVQ_NOT_CHECKPOINTABLE,
		                "No checkpoint on node %s%s: %s", a->cfg->node_name,
		                r->ckpt == PARENT_CKPT_OK ? " (the last one is kept)" : "",
		                why->msg);
	}
	a->dirty = true;
}

/*
 * A checkpoint write failed (state dir full, read-only, I/O error): a pod
 * change or the refresh timer (2-4 h) would try again far too late. So the
 * write is retried every AGENT_CKPT_RETRY_MS with the objects already in hand:
 * a local disk problem must not cost the apiserver a GET every few seconds.
 */
#define AGENT_CKPT_RETRY_MS 5000
/*
 * Most value bytes a parent's Secrets and ConfigMaps may hold: half the
 * checkpoint file cap (CKPT_MAX_FILE), which also carries the pod and the
 * YAML around the values. 36 ConfigMaps of 1 MB are refused here, once.
 */
#define AGENT_MAX_REF_BYTES (CKPT_MAX_FILE / 2)

static void retry_later(struct agent *a, struct parent_rec *r, json_t *objects)
{
	if (a->ckpt_retry == NULL && (a->ckpt_retry = json_object()) == NULL)
		return;
	if (json_object_size(a->ckpt_retry) == 0)
		a->ckpt_retry_ms = kc_clock_ms() + AGENT_CKPT_RETRY_MS;
	json_incref(objects);
	json_decref(r->retry_objects);
	r->retry_objects = objects;
	json_object_set_new(a->ckpt_retry, r->uid, json_true());
}

static void checkpoint_parent(struct agent *a, struct parent_rec *r, json_t *objects);

static void retry_due(struct agent *a, int64_t now_ms)
{
	const char *uid;
	json_t *v;
	void *tmp;

	if (json_object_size(a->ckpt_retry) == 0 || now_ms < a->ckpt_retry_ms)
		return;
	json_object_foreach_safe(a->ckpt_retry, tmp, uid, v)
	{
		struct parent_rec *r = parent_table_find(&a->parents, uid);
		json_t *objects;

		if (r == NULL || r->pod_json == NULL || r->retry_objects == NULL) {
			json_object_del(a->ckpt_retry, uid); /* gone from the API meanwhile */
			continue;
		}
		objects = json_incref(r->retry_objects);
		checkpoint_parent(a, r, objects);
		json_decref(objects);
	}
	a->ckpt_retry_ms = now_ms + AGENT_CKPT_RETRY_MS;
}

/*
 * Someone changed the checkpoint dir (our own renames land here too): verify
 * every file. A parent in the API whose file is now damaged or gone is
 * fetched and written again, so the disk holds a verified copy again without
 * waiting for a pod change; until then the verified bytes in memory serve.
 */
static void verify_disk(struct agent *a)
{
	struct parent_rec *r;
	struct ckpt_list list;
	struct kc_error err;
	size_t i, j;

	a->verify_disk = false;
	if (ckpt_store_list(a->store, &list, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "verifying checkpoints: %s", err.msg);
		return;
	}
	for (i = 0; i < a->parents.count; i++) {
		r = &a->parents.recs[i];
		if (r->ckpt != PARENT_CKPT_OK || r->pod_json == NULL)
			continue;
		for (j = 0; j < list.count && strcmp(list.entries[j].uid, r->uid) != 0; j++)
			;
		if (j < list.count && list.entries[j].state == CKPT_OK)
			continue;
		kc_log(KC_LOG_WARNING, "checkpoint of %s/%s (%s) %s on disk: writing it again",
		       r->namespace, r->name, r->uid, j < list.count ? "is damaged" : "vanished");
		if (j < list.count)
			agent_event_pod(a, r->namespace, r->name, r->uid, true, EVQ_CORRUPT,
			                "Checkpoint file of this pod on node %s is damaged (%s); "
			                "writing it again",
			                a->cfg->node_name,
			                list.entries[j].reason ? list.entries[j].reason : "?");
		if (api_client_refresh_refs(a->api, r->uid, &err) != KC_OK)
			kc_log(KC_LOG_ERR, "%s", err.msg);
	}
	ckpt_list_free(&list);
}

int64_t agent_sync_turn(struct agent *a, int64_t now_ms)
{
	if (a->verify_disk)
		verify_disk(a);
	if (json_object_size(a->ckpt_retry) == 0)
		return REACH_NEVER;
	retry_due(a, now_ms);
	return json_object_size(a->ckpt_retry) > 0 ? a->ckpt_retry_ms : REACH_NEVER;
}

/* Bytes of the values (data, binaryData, stringData) the objects hold. */
static size_t objects_value_bytes(const json_t *objects)
{
	static const char *const maps[] = {"data", "binaryData", "stringData"};
	const json_t *obj, *v;
	const char *key;
	size_t i, m, n = 0;

	json_array_foreach(objects, i, obj)
	{
		for (m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
			json_object_foreach((json_t *)json_object_get(obj, maps[m]), key, v) n +=
			    strlen(key) + json_string_length(v);
	}
	return n;
}

/*
 * A parent that can never be checkpointed must not be retried every few
 * seconds: too much referenced data, or a checkpoint over the file cap.
 */
static bool permanent_failure(kc_code rc)
{
	return rc == KC_ETOOBIG || rc == KC_ENOTCHECKPOINTABLE;
}

/* The parent's objects arrived: render, then write checkpoint and volumes. */
static void checkpoint_pod(struct agent *a, struct parent_rec *r, const json_t *pod,
                           json_t *objects)
{
	struct kc_objects *idx = NULL;
	struct kc_error err;
	bool written = false;
	size_t bytes = objects_value_bytes(objects);
	kc_code rc;

	/* Before rendering, copying and writing them several times over. */
	if (bytes > AGENT_MAX_REF_BYTES) {
		kc_fail(&err, KC_ENOTCHECKPOINTABLE,
		        "the Secrets and ConfigMaps it references hold %zu bytes, over the %u "
		        "a checkpoint may hold",
		        bytes, AGENT_MAX_REF_BYTES);
		set_not_checkpointable(a, r, &err);
		return;
	}
	if (objects_index(objects, &idx, &err) != KC_OK) {
		set_not_checkpointable(a, r, &err);
		return;
	}
	if (cache_manifest(a, r, pod, idx, &err) != KC_OK) {
		set_not_checkpointable(a, r, &err);
		kc_objects_free(idx);
		return;
	}
	if ((rc = ckpt_store_write_cluster(a->store, pod, objects, a->cluster.uid,
	                                   a->cluster.service_uid, &written, &err)) == KC_OK) {
		ckpt_cluster_merge(r->cluster_uid, r->cluster_service_uid, sizeof(r->cluster_uid),
		                   a->cluster.uid, a->cluster.service_uid);
		rc = materialise_volumes(a->cfg->state_dir, pod, idx, &err);
	}
	if (permanent_failure(rc)) {
		set_not_checkpointable(a, r, &err);
		kc_objects_free(idx);
		json_object_del(a->ckpt_retry, r->uid);
		json_decref(r->retry_objects);
		r->retry_objects = NULL;
		return;
	}
	if (rc != KC_OK) {
		kc_log(KC_LOG_ERR, "checkpoint of %s/%s (%s): %s", r->namespace, r->name, r->uid,
		       err.msg);
		agent_note_error(a, &err);
		if (r->ckpt != PARENT_CKPT_OK)
			parent_rec_clear_manifest(r);
		a->effects_dirty = true;
		kc_objects_free(idx);
		retry_later(a, r, objects);
		return;
	}
	kc_objects_free(idx);
	json_object_del(a->ckpt_retry, r->uid);
	json_decref(r->retry_objects);
	r->retry_objects = NULL;
	if (written)
		kc_log(KC_LOG_INFO, "checkpoint written: %s/%s (%s)", r->namespace, r->name,
		       r->uid);
	if (r->ckpt == PARENT_CKPT_CORRUPT)
		kc_log(KC_LOG_NOTICE, "checkpoint %s: corrupt file replaced by a verified one",
		       r->uid);
	r->ckpt = PARENT_CKPT_OK;
	r->not_checkpointable = false;
	parent_rec_set_problem(r, NULL);
	a->dirty = true;
}

static void checkpoint_parent(struct agent *a, struct parent_rec *r, json_t *objects)
{
	struct kc_error err;
	json_t *pod;

	if (parent_rec_pod(r, &pod, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "checkpoint of %s/%s: %s", r->namespace, r->name, err.msg);
		agent_note_error(a, &err);
		retry_later(a, r, objects);
		return;
	}
	checkpoint_pod(a, r, pod, objects);
	json_decref(pod);
}

static void on_refs_fetched(void *ctx, const char *uid, json_t *objects,
                            const struct kc_error *missing)
{
	struct agent *a = ctx;
	struct parent_rec *r = parent_table_find(&a->parents, uid);

	if (r == NULL || r->pod_json == NULL)
		return;
	if (missing != NULL) {
		set_not_checkpointable(a, r, missing);
		return;
	}
	checkpoint_parent(a, r, objects);
}

/*
 * What the API last showed of r's parent, kept on disk beside its checkpoint
 * so that an agent restarted during an outage never bridges a parent the API
 * last showed gone (decision.h, issue 19 finding 3). Only for a parent with
 * a checkpoint; a failed write is said and tried again at the next change.
 */
static void mark_gone(struct agent *a, struct parent_rec *r, bool gone)
{
	struct kc_error err;

	if (gone == r->gone_marked || (gone && r->ckpt == PARENT_CKPT_NONE))
		return;
	if (ckpt_store_mark_gone(a->store, r->uid, gone, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		agent_note_error(a, &err);
		return;
	}
	r->gone_marked = gone;
}

static void forget_parent(struct agent *a, const char *uid, const char *why)
{
	struct parent_rec *r = parent_table_find(&a->parents, uid);

	api_client_untrack_refs(a->api, uid);
	if (r == NULL || r->presence == DECISION_PARENT_ABSENT)
		return;
	kc_log(KC_LOG_INFO, "parent %s/%s (%s) %s; its checkpoint goes after %us", r->namespace,
	       r->name, uid, why, a->cfg->gc_grace);
	parent_rec_mark_absent(r, kc_clock_ms());
	mark_gone(a, r, true);
	a->dirty = true;
}

/*
 * Does pod differ from old in what a checkpoint keeps? Status, resourceVersion
 * and managedFields churn all the time and are not worth a fetch.
 */
static bool pod_differs(const json_t *old, const json_t *pod)
{
	json_t *m1, *m2;
	bool differs;

	if (!json_equal(json_object_get(old, "spec"), json_object_get(pod, "spec")))
		return true;
	m1 = json_copy(json_object_get(old, "metadata"));
	m2 = json_copy(json_object_get(pod, "metadata"));
	json_object_del(m1, "resourceVersion");
	json_object_del(m1, "managedFields");
	json_object_del(m2, "resourceVersion");
	json_object_del(m2, "managedFields");
	differs = !json_equal(m1, m2);
	json_decref(m1);
	json_decref(m2);
	return differs;
}

/* Does pod differ from the one r holds (which is read back for this)? */
static bool pod_changed(const struct parent_rec *r, const json_t *pod)
{
	struct kc_error err;
	json_t *old;
	bool differs;

	if (parent_rec_pod(r, &old, &err) != KC_OK)
		return true; /* cannot tell: fetch again */
	differs = pod_differs(old, pod);
	json_decref(old);
	return differs;
}

/*
 * The UID of pod's controller ownerReference of kind DaemonSet ("" none):
 * the decision groups a DaemonSet's pods on this node (decision.h).
 */
static void note_owner(struct parent_rec *r, const json_t *pod)
{
	const json_t *refs = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
	const json_t *ref;
	size_t i;

	r->owner_ds_uid[0] = '\0';
	json_array_foreach(refs, i, ref)
	{
		const char *kind = json_string_value(json_object_get(ref, "kind"));
		const char *uid = json_string_value(json_object_get(ref, "uid"));

		if (json_is_true(json_object_get(ref, "controller")) && kind != NULL &&
		    strcmp(kind, "DaemonSet") == 0 && uid != NULL && k8s_uuid_valid(uid) &&
		    strlen(uid) < sizeof(r->owner_ds_uid)) {
			snprintf(r->owner_ds_uid, sizeof(r->owner_ds_uid), "%s", uid);
			return;
		}
	}
}

/* Start tracking an eligible parent: identity, pod, references. */
static void track_parent(struct agent *a, json_t *pod, const char *uid)
{
	struct parent_rec *r = parent_table_get(&a->parents, uid);
	struct pod_refs refs;
	struct kc_error err;
	bool changed;

	if (r == NULL) {
		kc_log(KC_LOG_ERR, "pod %s: out of memory", uid);
		return;
	}
	if (r->presence != DECISION_PARENT_PRESENT)
		kc_log(KC_LOG_INFO, "tracking parent %s/%s (%s)", pod_meta_or(pod, "namespace", ""),
		       pod_meta_or(pod, "name", ""), uid);
	if (parent_rec_set_identity(r, pod_meta_or(pod, "namespace", ""),
	                            pod_meta_or(pod, "name", ""),
	                            pod_meta_or(pod, "creationTimestamp", ""), &err) != KC_OK)
		return;
	changed = r->pod_json != NULL && pod_changed(r, pod);
	if (parent_rec_set_pod(r, pod, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "%s", err.msg);
		return;
	}
	r->presence = DECISION_PARENT_PRESENT;
	r->confirmed_gone = false;
	mark_gone(a, r, false);
	note_owner(r, pod);
	if (pod_refs_collect(pod, &refs, &err) != KC_OK) {
		set_not_checkpointable(a, r, &err);
		return;
	}
	/* Unchanged references are not fetched again by track_refs: a changed
	 * pod must still reach its checkpoint (which also replaces a damaged file). */
	if (api_client_track_refs(a->api, uid, &refs, &err) != KC_OK ||
	    (changed && api_client_refresh_refs(a->api, uid, &err) != KC_OK))
		kc_log(KC_LOG_ERR, "pod %s: %s", uid, err.msg);
	pod_refs_free(&refs);
	a->dirty = true;
}

/*
 * A listed pod too big to read (api_client.h, API_POD_UNREADABLE): it exists,
 * nothing else of it is known. A parent already tracked stays (keeping its
 * last checkpoint) and is reported not checkpointable, with the reason.
 */
static bool handle_unreadable(struct agent *a, const json_t *pod, const char *uid)
{
	struct parent_rec *r = parent_table_find(&a->parents, uid);
	struct kc_error why;

	if (r == NULL || r->presence == DECISION_PARENT_ABSENT)
		return false;
	kc_fail(&why, KC_ETOOBIG, "%s",
	        json_string_value(json_object_get(pod, API_POD_UNREADABLE)));
	set_not_checkpointable(a, r, &why);
	return true;
}

/* Returns true when pod is an eligible parent (and now tracked). */
static bool handle_pod(struct agent *a, json_t *pod)
{
	const char *uid = pod_meta_or(pod, "uid", "");
	struct kc_error why;

	if (!k8s_uuid_valid(uid))
		return false;
	if (json_object_get(pod, API_POD_UNREADABLE) != NULL)
		return handle_unreadable(a, pod, uid);
	if (agent_mirror_seen(a, pod))
		return false;
	if (render_check_eligible(pod, &a->ropts, &why) != KC_OK) {
		forget_parent(a, uid, "is no longer eligible");
		return false;
	}
	track_parent(a, pod, uid);
	return true;
}

static void on_pods_listed(void *ctx, json_t *pods)
{
	struct agent *a = ctx;
	json_t *present = json_array(), *pod;
	size_t i;

	agent_mirror_forget_all(a);
	json_array_foreach(pods, i, pod) if (handle_pod(a, pod))
	    json_array_append_new(present, json_string(pod_meta_or(pod, "uid", "")));
	for (i = 0; i < a->parents.count; i++)
		if (!doc_array_has_string(present, a->parents.recs[i].uid))
			forget_parent(a, a->parents.recs[i].uid, "is not in the API");
	json_decref(present);
	if (!a->listed)
		kc_log(KC_LOG_INFO, "API listed: %zu eligible parents on node %s",
		       json_array_size(pods), a->cfg->node_name);
	a->listed = true;
	a->dirty = true;
}

/* Only eligible parents and our bridges' mirror pods matter to a relist. */
static bool pod_wanted(void *ctx, const json_t *pod)
{
	struct agent *a = ctx;

	return render_check_eligible(pod, &a->ropts, NULL) == KC_OK ||
	       agent_mirror_source_uid(pod, a->cfg->node_name) != NULL;
}

static void on_pod_changed(void *ctx, json_t *pod)
{
	handle_pod(ctx, pod);
}

static void on_pod_deleted(void *ctx, json_t *pod)
{
	const char *uid = pod_meta_or(pod, "uid", "");

	if (!agent_mirror_deleted(ctx, pod) && k8s_uuid_valid(uid))
		forget_parent(ctx, uid, "was deleted from the API");
}

static void on_event_posted(void *ctx, uint64_t id, enum api_post_result res, const char *detail)
{
	agent_events_posted(ctx, id, res, detail);
}

/*
 * Right after an apiserver restart its Node authorizer refuses nodes (403)
 * for a few seconds, until its informers have synced: say what is known, and
 * give the kubeconfig advice only once refusals have lasted the
 * unreachable-after window (at least REFUSAL_ADVICE_MIN_S).
 */
#define REFUSAL_ADVICE_MIN_S 30

static void note_refusal(struct agent *a, const char *detail, int64_t now)
{
	unsigned after = a->cfg->unreachable_after, advice_s;
	int64_t refused_s;

	advice_s = after > REFUSAL_ADVICE_MIN_S ? after : REFUSAL_ADVICE_MIN_S;
	if (a->refused_since_ms == 0) {
		a->refused_since_ms = now;
		a->said.refusal_advice = false;
		kc_log(KC_LOG_WARNING,
		       "API refused our credentials (%s): a restarted apiserver does this for a "
		       "few seconds, retrying; refusals for %us count as 'refused' (the kubelet, "
		       "with the same identity, cannot get its pods either)",
		       detail, after);
		return;
	}
	refused_s = (now - a->refused_since_ms) / 1000;
	if (a->said.refusal_advice || refused_s < (int64_t)advice_s)
		return;
	a->said.refusal_advice = true;
	kc_log(KC_LOG_ERR,
	       "API refused our credentials for %llds (%s): longer than a restarted apiserver "
	       "takes; check the kubeconfig %s",
	       (long long)refused_s, detail, a->cfg->kubeconfig);
}

static void note_refusals_end(struct agent *a, int64_t now)
{
	if (a->refused_since_ms == 0)
		return;
	kc_log(KC_LOG_NOTICE, "API accepts our credentials again (refused for %llds)",
	       (long long)((now - a->refused_since_ms) / 1000));
	a->refused_since_ms = 0;
	a->said.refusal_advice = false;
}

static void on_contact(void *ctx, enum api_contact outcome, const char *detail)
{
	struct agent *a = ctx;
	int64_t now = kc_clock_ms();
	struct kc_error err;

	switch (outcome) {
	case API_CONTACT_SUCCESS:
		reachability_on_success(&a->reach, now);
		a->last_success_wall = time(NULL);
		note_refusals_end(a, now);
		break;
	case API_CONTACT_AUTH_ERROR:
		reachability_on_auth_error(&a->reach, now);
		note_refusal(a, detail, now);
		kc_fail(&err, KC_EAUTH, "%s", detail);
		agent_note_error(a, &err);
		break;
	case API_CONTACT_FAILURE:
		note_refusals_end(a, now);
		reachability_on_failure(&a->reach, now);
		kc_log(KC_LOG_DEBUG, "API contact failed: %s", detail);
		kc_fail(&err, KC_ENET, "%s", detail);
		agent_note_error(a, &err);
		break;
	}
	a->dirty = true;
}

/*
 * The API said who it is: the checkpoints of parents it shows now that lack
 * a UID it knows get it (one written just before the answer, or by an older
 * agent), else they would stay "not the same cluster" until their parent
 * changes. A checkpoint the API contradicts, or of a parent it does not show
 * (perhaps another cluster's), is left as it is (ckpt_store_fill_cluster).
 */
static void fill_cluster(struct agent *a)
{
	struct kc_error err;
	bool written;
	size_t i;

	for (i = 0; i < a->parents.count; i++) {
		struct parent_rec *r = &a->parents.recs[i];

		if (r->ckpt != PARENT_CKPT_OK || r->presence != DECISION_PARENT_PRESENT)
			continue;
		if (ckpt_store_fill_cluster(a->store, r->uid, a->cluster.uid,
		                            a->cluster.service_uid, &written, &err) != KC_OK) {
			kc_log(KC_LOG_ERR, "checkpoint of %s/%s: recording the cluster: %s",
			       r->namespace, r->name, err.msg);
			agent_note_error(a, &err);
			continue;
		}
		if (written)
			ckpt_cluster_merge(r->cluster_uid, r->cluster_service_uid,
			                   sizeof(r->cluster_uid), a->cluster.uid,
			                   a->cluster.service_uid);
	}
}

/*
 * The API's kube-system UID: which cluster answers (api_cluster.c). A change
 * while the agent runs means another cluster behind the same address (a new
 * or restored etcd, a bridge on an empty data dir): said loudly, every time.
 */
static void on_cluster_uid(void *ctx, const char *uid)
{
	struct agent *a = ctx;

	if (a->cluster.uid[0] == '\0')
		kc_log(KC_LOG_INFO, "API serves the cluster whose kube-system Namespace is %s",
		       uid);
	else if (strcmp(a->cluster.uid, uid) != 0)
		kc_log(KC_LOG_WARNING,
		       "API now serves ANOTHER CLUSTER: kube-system Namespace %s, was %s (a new or "
		       "restored etcd?): nothing is withdrawn or collected on its word",
		       uid, a->cluster.uid);
	snprintf(a->cluster.uid, sizeof(a->cluster.uid), "%s", uid);
	a->cluster.uid_ms = kc_clock_ms();
	fill_cluster(a);
	a->dirty = true;
}

/*
 * The API's default/kubernetes Service UID: the identity a node may read by
 * default (decision.h), the one that decides while the kube-system
 * Namespace is forbidden. A change is another cluster, as above.
 */
static void on_cluster_service_uid(void *ctx, const char *uid)
{
	struct agent *a = ctx;

	if (a->cluster.service_uid[0] == '\0')
		kc_log(KC_LOG_INFO, "API serves the cluster whose Service default/kubernetes is %s",
		       uid);
	else if (strcmp(a->cluster.service_uid, uid) != 0)
		kc_log(
		    KC_LOG_WARNING,
		    "API now serves ANOTHER CLUSTER: Service default/kubernetes %s, was %s (a new "
		    "or restored etcd?): nothing is withdrawn or collected on its word",
		    uid, a->cluster.service_uid);
	snprintf(a->cluster.service_uid, sizeof(a->cluster.service_uid), "%s", uid);
	a->cluster.service_uid_ms = kc_clock_ms();
	fill_cluster(a);
	a->dirty = true;
}

void agent_sync_callbacks(struct agent *a, struct api_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->ctx = a;
	cb->pod_wanted = pod_wanted;
	cb->pods_listed = on_pods_listed;
	cb->pod_changed = on_pod_changed;
	cb->pod_deleted = on_pod_deleted;
	cb->refs_fetched = on_refs_fetched;
	cb->contact = on_contact;
	cb->event_posted = on_event_posted;
	cb->pod_confirmed = agent_pod_confirmed;
	cb->node_confirmed = agent_node_confirmed;
	cb->cluster_uid = on_cluster_uid;
	cb->cluster_service_uid = on_cluster_service_uid;
}

/* One checkpoint from disk into the table: verified, rendered, volumes laid. */
static void load_one(struct agent *a, const struct ckpt_entry *e)
{
	struct parent_rec *r = parent_table_get(&a->parents, e->uid);
	struct kc_error err;
	struct ckpt c;

	if (r == NULL)
		return;
	if (e->state == CKPT_CORRUPT) {
		r->ckpt = PARENT_CKPT_CORRUPT;
		parent_rec_set_problem(r, e->reason);
		kc_log(KC_LOG_ERR, "checkpoint %s is corrupt (kept, never activated): %s", e->uid,
		       e->reason ? e->reason : "?");
		agent_event_pod(a, NULL, NULL, e->uid, true, EVQ_CORRUPT,
		                "Checkpoint %s/pods/Pod_%s.yaml on node %s is corrupt (kept, never "
		                "activated): %s",
		                a->cfg->state_dir, e->uid, a->cfg->node_name,
		                e->reason ? e->reason : "?");
		return;
	}
	parent_rec_set_identity(r, e->namespace, e->name, e->creation_timestamp, &err);
	snprintf(r->cluster_uid, sizeof(r->cluster_uid), "%s", e->cluster_uid);
	snprintf(r->cluster_service_uid, sizeof(r->cluster_service_uid), "%s",
	         e->cluster_service_uid);
	/* The API last showed it gone (before a restart): still never bridged. */
	if (e->gone) {
		parent_rec_mark_absent(r, kc_clock_ms());
		r->gone_marked = true;
	}
	if (ckpt_store_load(a->store, e->uid, &c, &err) != KC_OK) {
		r->ckpt = PARENT_CKPT_CORRUPT;
		parent_rec_set_problem(r, err.msg);
		kc_log(KC_LOG_ERR, "checkpoint %s: %s", e->uid, err.msg);
		agent_event_pod(a, e->namespace, e->name, e->uid, true, EVQ_CORRUPT,
		                "Checkpoint of this pod on node %s cannot be used: %s",
		                a->cfg->node_name, err.msg);
		return;
	}
	/*
	 * The file may predate the configuration (narrowed --namespace or
	 * --annotation, a renamed node) or come from another node's state dir:
	 * what it holds is eligible under the configuration in force, or it is
	 * never activated. This holds with the API down, when nothing else
	 * would say so.
	 */
	note_owner(r, c.pod);
	if (render_check_eligible(c.pod, &a->ropts, &err) != KC_OK) {
		kc_error_prefix(&err, "not eligible under the current configuration (never "
		                      "activated)");
		r->not_checkpointable = true;
		parent_rec_set_problem(r, err.msg);
		kc_log(KC_LOG_WARNING, "checkpoint %s/%s (%s): %s", e->namespace, e->name, e->uid,
		       err.msg);
	} else if (cache_manifest(a, r, c.pod, c.index, &err) != KC_OK) {
		r->not_checkpointable = true;
		parent_rec_set_problem(r, err.msg);
		kc_log(KC_LOG_WARNING, "checkpoint %s/%s (%s) no longer renders: %s", e->namespace,
		       e->name, e->uid, err.msg);
	} else if (materialise_volumes(a->cfg->state_dir, c.pod, c.index, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "checkpoint %s: volumes: %s", e->uid, err.msg);
		agent_note_error(a, &err);
		parent_rec_clear_manifest(r);
		a->effects_dirty = true;
	} else {
		r->ckpt = PARENT_CKPT_OK;
	}
	ckpt_free(&c);
}

kc_code agent_sync_load_disk(struct agent *a, struct kc_error *err)
{
	struct ckpt_list list;
	size_t i, nok = 0;
	kc_code rc;

	if ((rc = ckpt_store_list(a->store, &list, err)) != KC_OK)
		return rc;
	for (i = 0; i < list.count; i++) {
		load_one(a, &list.entries[i]);
		if (list.entries[i].state == CKPT_OK)
			nok++;
	}
	kc_log(KC_LOG_INFO, "state dir %s: %zu checkpoints (%zu verified)", a->cfg->state_dir,
	       list.count, nok);
	ckpt_list_free(&list);
	return KC_OK;
}
