/*
 * decision.c: the pure decision of which bridge manifests should exist,
 * which checkpoints to drop and how each hand-off moves on (see decision.h
 * for the rules, in order).
 */
#include <stdlib.h>
#include <string.h>

#include "decision.h"
#include "bridge_name.h"

static bool is_ok(const struct decision_checkpoint *c)
{
	return c->state == DECISION_CKPT_OK;
}

static bool known(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static bool same_name(const struct decision_checkpoint *a, const struct decision_checkpoint *b)
{
	return a->namespace != NULL && a->name != NULL && b->namespace != NULL && b->name != NULL &&
	       strcmp(a->namespace, b->namespace) == 0 && strcmp(a->name, b->name) == 0;
}

/* One workload (decision.h, "groups"): one manifest file, or one DaemonSet. */
static bool same_workload(const struct decision_checkpoint *a, const struct decision_checkpoint *b)
{
	return same_name(a, b) || (known(a->owner_ds_uid) && known(b->owner_ds_uid) &&
	                           strcmp(a->owner_ds_uid, b->owner_ds_uid) == 0);
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

/*
 * Index of the ok winner among the group of checkpoint i (i itself if
 * alone). A DaemonSet group is not transitive through names, so the winner
 * is taken over i's direct group; the random-set test checks that no two
 * items of one manifest file or one DaemonSet are ever kept together.
 */
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

static bool both_known(const char *a, const char *b)
{
	return known(a) && known(b);
}

bool decision_other_cluster(const struct decision_checkpoint *c, const struct decision_input *in)
{
	return (both_known(c->cluster_uid, in->cluster_uid) &&
	        strcmp(c->cluster_uid, in->cluster_uid) != 0) ||
	       (both_known(c->cluster_service_uid, in->cluster_service_uid) &&
	        strcmp(c->cluster_service_uid, in->cluster_service_uid) != 0);
}

/*
 * The kube-system UID decides when both sides know it; the Service UID
 * stands in when either does not (a node may not read Namespaces by
 * default). A known pair that differs always wins: a recreated
 * default/kubernetes Service under the same kube-system UID is rare, and
 * "not the same" only holds a checkpoint back, never withdraws a bridge.
 */
bool decision_same_cluster(const struct decision_checkpoint *c, const struct decision_input *in)
{
	if (decision_other_cluster(c, in))
		return false;
	return both_known(c->cluster_uid, in->cluster_uid) ||
	       both_known(c->cluster_service_uid, in->cluster_service_uid);
}

static bool on_disk(const struct decision_checkpoint *c)
{
	return c->bridge_written_ms >= 0;
}

/*
 * W1: the kubelet admitted the parent after the bridge was written: a
 * container of it was created later (any state). Without container detail
 * (pod cgroups, sandbox-only data) the parent's entry appearing counts.
 */
static bool parent_container_after_bridge(const struct decision_input *in,
                                          const struct decision_checkpoint *c)
{
	const struct local_pod *p;

	if (!on_disk(c) || !local_known(in))
		return false;
	p = local_pods_find(in->local, c->uid);
	if (p == NULL)
		return false;
	if (!in->local->containers_known)
		return true;
	return p->newest_created_ms > c->bridge_written_ms;
}

int64_t decision_watchdog_backoff_ms(unsigned n)
{
	int64_t b = DECISION_WATCHDOG_MIN_MS;

	while (n > 1 && b < DECISION_WATCHDOG_MAX_MS) {
		b *= 2;
		n--;
	}
	return b < DECISION_WATCHDOG_MAX_MS ? b : DECISION_WATCHDOG_MAX_MS;
}

static void lower(int64_t *next, int64_t t, int64_t now)
{
	if (t > now && t < *next)
		*next = t;
}

/* Wall-clock ms since the newest container of c's parent was created (W1). */
static int64_t w1_container_age(const struct decision_input *in,
                                const struct decision_checkpoint *c)
{
	const struct local_pod *p = local_pods_find(in->local, c->uid);

	return p != NULL && p->newest_created_ms >= 0 ? in->now_wall_ms - p->newest_created_ms
	                                              : INT64_MAX;
}

/*
 * Is the W1 batch due (decision.h, "W1 batch")? When not, *next is lowered
 * to when it will be.
 */
static bool w1_batch_due(const struct decision_input *in, int64_t *next)
{
	int64_t oldest = -1, youngest = INT64_MAX, age, wait;
	bool waiting = false;
	size_t i;

	if (!local_known(in) || !in->local->containers_known)
		return true;
	for (i = 0; i < in->count; i++) {
		const struct decision_checkpoint *c = &in->checkpoints[i];

		if (!on_disk(c) || !is_ok(c) || group_winner(in, i) != i)
			continue;
		if (!parent_container_after_bridge(in, c)) {
			waiting = true;
			continue;
		}
		age = w1_container_age(in, c);
		if (age < 0 || age >= DECISION_HANDOFF_BATCH_MS)
			return true;
		oldest = age > oldest ? age : oldest;
		youngest = age < youngest ? age : youngest;
	}
	if (oldest < 0)
		return true;
	wait = waiting ? DECISION_HANDOFF_BATCH_MS - oldest : DECISION_HANDOFF_SETTLE_MS - youngest;
	if (wait <= 0)
		return true;
	lower(next, in->now_ms + wait, in->now_ms);
	return false;
}

/* When may the watchdog re-activate c (a hand-off under way)? */
static int64_t watchdog_due(const struct decision_checkpoint *c)
{
	int64_t due = c->handed_off_ms + HANDOFF_WATCH_MS, b;

	if (c->watchdog_fires > 0 && c->watchdog_last_ms >= 0) {
		b = c->watchdog_last_ms + decision_watchdog_backoff_ms(c->watchdog_fires);
		if (b > due)
			due = b;
	}
	return due;
}

static enum decision_verdict gate(const struct decision_input *in, size_t i, bool w1_due,
                                  struct decision_item *item, int64_t *next)
{
	const struct decision_checkpoint *c = &in->checkpoints[i];
	bool same = decision_same_cluster(c, in);
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
	/* W1 before "runs": a parent that already runs got its container after
	 * the bridge too, and the hand-off (watchdog) starts either way. */
	if (parent_container_after_bridge(in, c)) {
		if (!w1_due)
			return DECISION_HOLD_HANDOFF;
		item->handed_off = true;
		return DECISION_INACTIVE_HANDED_OFF;
	}
	if (group_runs_locally(in, i))
		return DECISION_INACTIVE_RUNNING_LOCALLY;
	if (c->host_ports && in->api.answered)
		return DECISION_INACTIVE_API_ANSWERED;
	if (same && c->confirmed_gone)
		return DECISION_INACTIVE_CONFIRMED_GONE;
	if (on_disk(c) && same && in->api.state == REACH_REACHABLE) {
		int64_t due =
		    in->api.since_ms + (in->handoff_timeout_ms < 0 ? 0 : in->handoff_timeout_ms);

		if (in->now_ms >= due) {
			item->handoff_timed_out = true;
			return DECISION_INACTIVE_HANDOFF_TIMEOUT;
		}
		lower(next, due, in->now_ms);
	}
	return DECISION_ACTIVE; /* so far: decide() goes on */
}

/* The verdict of checkpoint i (decision.h, in order); lowers *next. */
static enum decision_verdict decide(const struct decision_input *in, size_t i, bool w1_due,
                                    struct decision_item *item, int64_t *next)
{
	const struct decision_checkpoint *c = &in->checkpoints[i];
	enum decision_verdict v = gate(in, i, w1_due, item, next);
	bool watchdog = false;

	if (v != DECISION_ACTIVE)
		return v;
	/* On disk, the bridge is back (the watchdog fired): no hand-off waits. */
	if (c->handed_off_ms >= 0 && !on_disk(c)) {
		int64_t due = watchdog_due(c);

		if (in->now_ms < due) {
			lower(next, due, in->now_ms);
			return DECISION_INACTIVE_HANDED_OFF;
		}
		watchdog = true;
	}
	if (c->parent == DECISION_PARENT_ABSENT)
		v = on_disk(c) ? DECISION_HOLD_PARENT_ABSENT : DECISION_INACTIVE_PARENT_ABSENT;
	else if (in->api.state == REACH_UNKNOWN)
		v = DECISION_HOLD_API_UNKNOWN;
	else if (in->api.state == REACH_REACHABLE)
		v = on_disk(c) ? DECISION_HOLD_HANDOFF : DECISION_INACTIVE_API_REACHABLE;
	else if (!local_known(in))
		v = DECISION_HOLD_LOCAL_UNKNOWN;
	if (watchdog && v != DECISION_ACTIVE)
		return DECISION_INACTIVE_HANDED_OFF; /* still under way; not now */
	item->watchdog_fired = watchdog;
	return v;
}

/* The hand-off under way is done: a parent container ran long enough. */
static void note_handoff_done(const struct decision_checkpoint *c, struct decision_item *item,
                              int64_t now, int64_t *next)
{
	if (c->handed_off_ms < 0 && c->watchdog_fires == 0)
		return;
	if (c->parent_run_ms >= HANDOFF_RUN_MS)
		item->handoff_done = true;
	else if (c->parent_run_ms >= 0)
		lower(next, now + HANDOFF_RUN_MS - c->parent_run_ms, now);
}

/* Is a bridge of this node on disk or wanted now, or was one lately? */
static bool bridges_lately(const struct decision_input *in, const struct decision_result *out,
                           int64_t *next)
{
	size_t i;

	for (i = 0; i < out->count; i++)
		if (out->items[i].verdict == DECISION_ACTIVE ||
		    (decision_keeps_manifest(out->items[i].verdict) &&
		     on_disk(&in->checkpoints[i])))
			return true;
	if (in->last_bridge_ms >= 0 && in->now_ms < in->last_bridge_ms + DECISION_BRIDGE_QUIET_MS) {
		lower(next, in->last_bridge_ms + DECISION_BRIDGE_QUIET_MS, in->now_ms);
		return true;
	}
	return false;
}

/*
 * Collection of checkpoint i (decision.h): sets item->drop when due, asks
 * for the quorum reads it waits for, lowers *next to when grace runs out.
 */
static void collect(const struct decision_input *in, size_t i, bool quiet,
                    struct decision_result *out, int64_t *next)
{
	const struct decision_checkpoint *c = &in->checkpoints[i];
	struct decision_item *item = &out->items[i];
	int64_t due;

	if (c->state == DECISION_CKPT_CORRUPT || c->parent != DECISION_PARENT_ABSENT ||
	    in->api.state != REACH_REACHABLE)
		return;
	if (!decision_same_cluster(c, in)) {
		out->other_cluster = true;
		return;
	}
	due = c->parent_absent_since_ms + (in->gc_grace_ms < 0 ? 0 : in->gc_grace_ms);
	if (!c->confirmed_gone && (on_disk(c) || in->now_ms >= due))
		item->confirm_parent = true;
	if (in->now_ms < due) {
		lower(next, due, in->now_ms);
		return;
	}
	if (!c->confirmed_gone || !quiet)
		return;
	if (in->node == DECISION_NODE_MISSING) {
		out->node_missing_blocks = true;
		return;
	}
	if (in->node != DECISION_NODE_PRESENT) {
		out->confirm_node = true;
		return;
	}
	item->drop = true;
}

kc_code decision_compute(const struct decision_input *in, struct decision_result *out,
                         struct kc_error *err)
{
	int64_t next = REACH_NEVER;
	bool quiet, w1_due;
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
	w1_due = w1_batch_due(in, &next);
	for (i = 0; i < in->count; i++) {
		struct decision_item *item = &out->items[i];

		item->shadowed_by = i;
		item->verdict = decide(in, i, w1_due, item, &next);
		note_handoff_done(&in->checkpoints[i], item, in->now_ms, &next);
		if (item->verdict == DECISION_ACTIVE)
			out->nactive++;
		else if (decision_keeps_manifest(item->verdict))
			out->nhold++;
		if (decision_keeps_manifest(item->verdict) && in->checkpoints[i].host_ports)
			out->awaits_api_answer = true;
		if (is_ok(&in->checkpoints[i]) && decision_other_cluster(&in->checkpoints[i], in))
			out->other_cluster = true;
	}
	quiet = !bridges_lately(in, out, &next);
	for (i = 0; i < in->count; i++) {
		collect(in, i, quiet, out, &next);
		if (out->items[i].drop)
			out->ndrop++;
	}
	lower(&next, in->api.next_change_ms, in->now_ms);
	out->next_change_ms = next;
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
	       v == DECISION_HOLD_LOCAL_UNKNOWN || v == DECISION_HOLD_PARENT_ABSENT ||
	       v == DECISION_HOLD_HANDOFF;
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
	    [DECISION_HOLD_PARENT_ABSENT] = "hold-parent-absent",
	    [DECISION_HOLD_HANDOFF] = "hold-handoff",
	    [DECISION_INACTIVE_PARENT_ABSENT] = "parent-absent",
	    [DECISION_INACTIVE_HANDED_OFF] = "handed-off",
	    [DECISION_INACTIVE_CONFIRMED_GONE] = "confirmed-gone",
	    [DECISION_INACTIVE_HANDOFF_TIMEOUT] = "handoff-timeout",
	};

	if ((size_t)v >= sizeof(names) / sizeof(names[0]) || names[v] == NULL)
		return "unknown";
	return names[v];
}
