/*
 * parent_table.c: the agent's in-memory record of each parent (see
 * parent_table.h). A small array searched linearly: a node runs at most a few
 * hundred pods, and the table is touched only when something happens.
 */
#include <stdlib.h>
#include <string.h>

#include "parent_table.h"

void parent_table_init(struct parent_table *t)
{
	memset(t, 0, sizeof(*t));
}

static void rec_free(struct parent_rec *r)
{
	free(r->namespace);
	free(r->name);
	free(r->created);
	free(r->problem);
	free(r->manifest_name);
	kc_buf_free(&r->manifest);
	free(r->pod_json);
	json_decref(r->retry_objects);
	json_decref(r->warnings);
}

void parent_table_free(struct parent_table *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		rec_free(&t->recs[i]);
	free(t->recs);
	memset(t, 0, sizeof(*t));
}

struct parent_rec *parent_table_find(struct parent_table *t, const char *uid)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		if (strcmp(t->recs[i].uid, uid) == 0)
			return &t->recs[i];
	return NULL;
}

struct parent_rec *parent_table_get(struct parent_table *t, const char *uid)
{
	struct parent_rec *r = parent_table_find(t, uid), *n;
	size_t ncap;

	if (r != NULL)
		return r;
	if (strlen(uid) >= sizeof(r->uid))
		return NULL;
	if (t->count == t->cap) {
		ncap = t->cap ? t->cap * 2 : 16;
		if ((n = realloc(t->recs, ncap * sizeof(*n))) == NULL)
			return NULL;
		t->recs = n;
		t->cap = ncap;
	}
	r = &t->recs[t->count++];
	memset(r, 0, sizeof(*r));
	strcpy(r->uid, uid);
	r->presence = DECISION_PARENT_UNKNOWN;
	r->bridge_written_ms = -1;
	r->handed_off_ms = -1;
	r->watchdog_last_ms = -1;
	r->seen_running_ms = -1;
	kc_buf_init(&r->manifest, 0);
	return r;
}

void parent_table_remove(struct parent_table *t, const char *uid)
{
	struct parent_rec *r = parent_table_find(t, uid);
	size_t i;

	if (r == NULL)
		return;
	i = (size_t)(r - t->recs);
	rec_free(r);
	memmove(&t->recs[i], &t->recs[i + 1], (t->count - i - 1) * sizeof(*r));
	t->count--;
}

static kc_code replace_str(char **slot, const char *s, struct kc_error *err)
{
	char *copy;

	if (s == NULL)
		return KC_OK;
	if ((copy = strdup(s)) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return KC_OK;
}

kc_code parent_rec_set_identity(struct parent_rec *r, const char *ns, const char *name,
                                const char *created, struct kc_error *err)
{
	kc_code rc;

	if ((rc = replace_str(&r->namespace, ns, err)) != KC_OK ||
	    (rc = replace_str(&r->name, name, err)) != KC_OK)
		return rc;
	return replace_str(&r->created, created, err);
}

bool parent_rec_set_problem(struct parent_rec *r, const char *problem)
{
	if (problem == NULL || r->problem == NULL) {
		if (problem == NULL && r->problem == NULL)
			return false;
	} else if (strcmp(problem, r->problem) == 0) {
		return false;
	}
	free(r->problem);
	r->problem = problem != NULL ? strdup(problem) : NULL;
	return true;
}

kc_code parent_rec_set_manifest(struct parent_rec *r, const char *file, const struct kc_buf *bytes,
                                struct kc_error *err)
{
	kc_code rc;

	if ((rc = replace_str(&r->manifest_name, file, err)) != KC_OK)
		return rc;
	kc_buf_reset(&r->manifest);
	return kc_buf_append(&r->manifest, bytes->data, bytes->len, err);
}

void parent_rec_clear_manifest(struct parent_rec *r)
{
	free(r->manifest_name);
	r->manifest_name = NULL;
	kc_buf_free(&r->manifest);
}

bool parent_rec_set_warnings(struct parent_rec *r, json_t *warnings)
{
	bool changed = !json_equal(r->warnings, warnings) &&
	               !(r->warnings == NULL && json_array_size(warnings) == 0);

	json_decref(r->warnings);
	r->warnings = warnings;
	return changed;
}

kc_code parent_rec_set_pod(struct parent_rec *r, const json_t *pod, struct kc_error *err)
{
	char *text = NULL;

	/* Key order kept: the pod reads back as the API sent it. */
	if (pod != NULL && (text = json_dumps(pod, JSON_COMPACT)) == NULL)
		return kc_fail(err, KC_ENOMEM, "pod %s: out of memory", r->uid);
	free(r->pod_json);
	r->pod_json = text;
	return KC_OK;
}

kc_code parent_rec_pod(const struct parent_rec *r, json_t **pod, struct kc_error *err)
{
	json_error_t jerr;

	*pod = NULL;
	if (r->pod_json == NULL)
		return kc_fail(err, KC_ENOTFOUND, "pod %s: not in the API", r->uid);
	if ((*pod = json_loads(r->pod_json, 0, &jerr)) == NULL)
		return kc_fail(err, KC_ENOMEM, "pod %s: cannot read it back: %s", r->uid,
		               jerr.text);
	return KC_OK;
}

void parent_rec_mark_absent(struct parent_rec *r, int64_t now_ms)
{
	free(r->pod_json);
	r->pod_json = NULL;
	if (r->presence != DECISION_PARENT_ABSENT) {
		r->presence = DECISION_PARENT_ABSENT;
		r->absent_since_ms = now_ms;
		r->confirmed_gone = false;
		r->confirm_asked = false;
	}
}

static bool in_decision(const struct parent_rec *r)
{
	return r->ckpt != PARENT_CKPT_NONE || r->not_checkpointable;
}

kc_code parent_table_decision_view(const struct parent_table *t, struct decision_checkpoint **view,
                                   size_t **idx, size_t *n, struct kc_error *err)
{
	struct decision_checkpoint *v;
	const struct parent_rec *r;
	size_t i, k = 0, *ix;

	v = calloc(t->count ? t->count : 1, sizeof(*v));
	ix = calloc(t->count ? t->count : 1, sizeof(*ix));
	if (v == NULL || ix == NULL) {
		free(v);
		free(ix);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	for (i = 0; i < t->count; i++) {
		r = &t->recs[i];
		if (!in_decision(r))
			continue;
		v[k].uid = r->uid;
		v[k].namespace = r->namespace;
		v[k].name = r->name;
		v[k].created = r->created;
		if (r->ckpt == PARENT_CKPT_CORRUPT)
			v[k].state = DECISION_CKPT_CORRUPT;
		else if (r->ckpt == PARENT_CKPT_OK)
			v[k].state = DECISION_CKPT_OK;
		else
			v[k].state = DECISION_CKPT_NOT_CHECKPOINTABLE;
		v[k].parent = r->presence;
		v[k].parent_absent_since_ms = r->absent_since_ms;
		v[k].host_ports = r->host_ports;
		v[k].owner_ds_uid = r->owner_ds_uid;
		v[k].cluster_uid = r->cluster_uid;
		v[k].confirmed_gone = r->confirmed_gone && r->presence == DECISION_PARENT_ABSENT;
		v[k].bridge_written_ms = r->bridge_written_ms;
		v[k].handed_off_ms = r->handed_off_ms;
		v[k].watchdog_fires = r->watchdog_fires;
		v[k].watchdog_last_ms = r->watchdog_last_ms;
		v[k].parent_run_ms = -1; /* the pass fills it from the local pods */
		ix[k++] = i;
	}
	*view = v;
	*idx = ix;
	*n = k;
	return KC_OK;
}
