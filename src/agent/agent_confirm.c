/*
 * agent_confirm.c: the quorum reads the decision asks for (decision.h W3 and
 * collection) and what their answers change: a parent confirmed gone or
 * ineligible, this Node present or missing in the API. The pass asks
 * (agent_confirm_wanted), the API client answers through the callbacks that
 * agent_sync.c registers.
 */
#include <string.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "pod_spec.h"
#include "render.h"

/*
 * A quorum read of a parent answered (decision.h W3, collection): 404, a pod
 * with another UID or an ineligible one confirm it gone. No usable answer:
 * asked again at a later pass.
 */
void agent_pod_confirmed(void *ctx, const char *uid, enum api_confirm_result res, const json_t *pod)
{
	struct agent *a = ctx;
	struct parent_rec *r = parent_table_find(&a->parents, uid);

	if (r == NULL || r->presence != DECISION_PARENT_ABSENT)
		return;
	if (res == API_CONFIRM_UNKNOWN) {
		r->confirm_asked = false;
		return;
	}
	r->confirmed_gone = res == API_CONFIRM_ABSENT ||
	                    strcmp(pod_meta_or(pod, "uid", ""), uid) != 0 ||
	                    render_check_eligible(pod, &a->ropts, NULL) != KC_OK;
	kc_log(KC_LOG_INFO, "parent %s/%s (%s): a quorum read %s", r->namespace, r->name, uid,
	       r->confirmed_gone ? "confirms it is gone or no longer eligible"
	                         : "shows it still there and eligible (the watch lags)");
	a->dirty = true;
}

void agent_node_confirmed(void *ctx, enum api_confirm_result res)
{
	struct agent *a = ctx;

	if (res == API_CONFIRM_UNKNOWN)
		return;
	a->cluster.node = res == API_CONFIRM_PRESENT ? AGENT_NODE_PRESENT : AGENT_NODE_MISSING;
	a->cluster.node_ms = kc_clock_ms();
	a->dirty = true;
}

/* A Node that answered 404 is asked again this often while a collection waits. */
#define AGENT_NODE_RECHECK_MS 60000

int64_t agent_confirm_wanted(struct agent *a, const struct decision_result *res, const size_t *idx)
{
	int64_t now = kc_clock_ms();
	struct kc_error err;
	size_t i;

	for (i = 0; i < res->count; i++) {
		struct parent_rec *r = &a->parents.recs[idx[i]];

		if (!res->items[i].confirm_parent || r->confirm_asked || r->namespace == NULL ||
		    r->name == NULL)
			continue;
		if (api_client_confirm_pod(a->api, r->namespace, r->name, r->uid, &err) != KC_OK)
			return REACH_NEVER; /* one at a time: the answer brings a pass */
		r->confirm_asked = true;
		return REACH_NEVER;
	}
	/* Unknown: asked now; a 404: asked again a minute later. */
	if (res->confirm_node ||
	    (res->node_missing_blocks && now - a->cluster.node_ms >= AGENT_NODE_RECHECK_MS))
		api_client_confirm_node(a->api, &err);
	else if (res->node_missing_blocks)
		return a->cluster.node_ms + AGENT_NODE_RECHECK_MS;
	return REACH_NEVER;
}
