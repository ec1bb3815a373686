/*
 * decision.c: the pure decision of which bridge manifests should exist and
 * which checkpoints to drop (see decision.h for the rules, in order).
 */
#include <stdlib.h>
#include <string.h>

#include "decision.h"
#include "bridge_name.h"

static bool is_ok(const struct decision_checkpoint *c)
{
	return c->state == DECISION_CKPT_OK;
}

static bool same_workload(const struct decision_checkpoint *a, const struct decision_checkpoint *b)
{
	return a->namespace != NULL && a->name != NULL && b->namespace != NULL && b->name != NULL &&
	       strcmp(a->namespace, b->namespace) == 0 && strcmp(a->name, b->name) == 0;
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Does a beat b as the group winner? Parent in API, newest, greatest uid. */
static bool beats(const struct decision_checkpoint *a, const struct decision_checkpoint *b)
{
	bool a_in = a->parent == DECISION_PARENT_PRESENT;
	bool b_in = b->parent == DECISION_PARENT_PRESENT;
	int c;

	if (a_in != b_in)
		return a_in;
	c = strcmp(or_empty(a->created), or_empty(b->created));
	if (c != 0)
		return c > 0;
	return strcmp(a->uid, b->uid) > 0;
}

/* Index of the ok winner among the group of checkpoint i (i itself if alone). */
static size_t group_winner(const struct decision_input *in, size_t i)
{
	size_t j, best = i;

	for (j = 0; j < in->count; j++) {
		if (j == i || !is_ok(&in->checkpoints[j]) ||
		    !same_workload(&in->checkpoints[i], &in->checkpoints[j]))
			continue;
		if (beats(&in->checkpoints[j], &in->checkpoints[best]))
			best = j;
	}
	return best;
}

static bool local_known(const struct decision_input *in)
{
	return in->local != NULL && in->local->state == LOCAL_PODS_KNOWN;
}

/* Does any UID of i's group (any state) run locally? */
static bool group_runs_locally(const struct decision_input *in, size_t i)
{
	size_t j;

	if (!local_known(in))
		return false;
	for (j = 0; j < in->count; j++) {
		if (j != i && !same_workload(&in->checkpoints[i], &in->checkpoints[j]))
			continue;
		if (local_pods_contains(in->local, in->checkpoints[j].uid))
			return true;
	}
	return false;
}

static enum decision_verdict verdict_of(const struct decision_input *in, size_t i,
                                        struct decision_item *item)
{
	const struct decision_checkpoint *c = &in->checkpoints[i];
	size_t winner;

	if (c->state == DECISION_CKPT_CORRUPT)
		return DECISION_INACTIVE_CORRUPT;
	if (c->state == DECISION_CKPT_NOT_CHECKPOINTABLE)
		return DECISION_INACTIVE_NOT_CHECKPOINTABLE;
	if (c->namespace == NULL || c->name == NULL ||
	    bridge_manifest_name(c->namespace, c->name, item->manifest, sizeof(item->manifest),
	                         NULL) != KC_OK) {
		item->manifest[0] = '\0';
		return DECISION_INACTIVE_BAD_NAME;
	}
	winner = group_winner(in, i);
	if (winner != i) {
		item->shadowed_by = winner;
		return DECISION_INACTIVE_SHADOWED;
	}
	if (!in->flag_on)
		return DECISION_INACTIVE_FLAG_OFF;
	if (in->api.state == REACH_REACHABLE)
		return DECISION_INACTIVE_API_REACHABLE;
	if (group_runs_locally(in, i))
		return DECISION_INACTIVE_RUNNING_LOCALLY;
	if (c->host_ports && in->api.answered)
		return DECISION_INACTIVE_API_ANSWERED;
	if (in->api.state == REACH_UNKNOWN)
		return DECISION_HOLD_API_UNKNOWN;
	if (!local_known(in))
		return DECISION_HOLD_LOCAL_UNKNOWN;
	return DECISION_ACTIVE;
}

/*
 * GC of checkpoint c: true when due now; otherwise lowers *next to the
 * instant it becomes due (if the inputs stay as they are).
 */
static bool gc_due(const struct decision_input *in, const struct decision_checkpoint *c,
                   int64_t *next)
{
	int64_t due;

	if (c->state == DECISION_CKPT_CORRUPT || c->parent != DECISION_PARENT_ABSENT ||
	    in->api.state != REACH_REACHABLE)
		return false;
	due = c->parent_absent_since_ms + (in->gc_grace_ms < 0 ? 0 : in->gc_grace_ms);
	if (in->now_ms >= due)
		return true;
	if (due < *next)
		*next = due;
	return false;
}

kc_code decision_compute(const struct decision_input *in, struct decision_result *out,
                         struct kc_error *err)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->next_change_ms = REACH_NEVER;
	for (i = 0; i < in->count; i++)
		if (in->checkpoints[i].uid == NULL || in->checkpoints[i].uid[0] == '\0')
			return kc_fail(err, KC_EINVAL, "decision: checkpoint %zu: no uid", i);
	if (in->count > 0) {
		out->items = calloc(in->count, sizeof(*out->items));
		if (out->items == NULL)
			return kc_fail(err, KC_ENOMEM, "decision: out of memory");
	}
	out->count = in->count;
	for (i = 0; i < in->count; i++) {
		struct decision_item *item = &out->items[i];

		item->shadowed_by = i;
		item->verdict = verdict_of(in, i, item);
		if (item->verdict == DECISION_ACTIVE)
			out->nactive++;
		else if (decision_keeps_manifest(item->verdict))
			out->nhold++;
		if (decision_keeps_manifest(item->verdict) && in->checkpoints[i].host_ports)
			out->awaits_api_answer = true;
		item->drop = gc_due(in, &in->checkpoints[i], &out->next_change_ms);
		if (item->drop)
			out->ndrop++;
	}
	if (in->api.next_change_ms > in->now_ms && in->api.next_change_ms < out->next_change_ms)
		out->next_change_ms = in->api.next_change_ms;
	return KC_OK;
}

void decision_result_free(struct decision_result *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

bool decision_keeps_manifest(enum decision_verdict v)
{
	return v == DECISION_ACTIVE || v == DECISION_HOLD_API_UNKNOWN ||
	       v == DECISION_HOLD_LOCAL_UNKNOWN;
}

const char *decision_verdict_name(enum decision_verdict v)
{
	static const char *const names[] = {
	    [DECISION_ACTIVE] = "active",
	    [DECISION_HOLD_API_UNKNOWN] = "hold-api-unknown",
	    [DECISION_HOLD_LOCAL_UNKNOWN] = "hold-local-pods-unknown",
	    [DECISION_INACTIVE_FLAG_OFF] = "flag-off",
	    [DECISION_INACTIVE_API_REACHABLE] = "api-reachable",
	    [DECISION_INACTIVE_RUNNING_LOCALLY] = "running-locally",
	    [DECISION_INACTIVE_SHADOWED] = "shadowed",
	    [DECISION_INACTIVE_CORRUPT] = "corrupt",
	    [DECISION_INACTIVE_NOT_CHECKPOINTABLE] = "not-checkpointable",
	    [DECISION_INACTIVE_BAD_NAME] = "bad-name",
	    [DECISION_INACTIVE_API_ANSWERED] = "api-answered-host-ports",
	};

	if ((size_t)v >= sizeof(names) / sizeof(names[0]) || names[v] == NULL)
		return "unknown";
	return names[v];
}
