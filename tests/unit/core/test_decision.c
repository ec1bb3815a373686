/*
 * test_decision.c: the decision table (docs/design.md §6), row by row, then
 * property loops over every combination of its inputs, groups (two UIDs of
 * one workload), GC timing, and whole-scenario runs through the reachability
 * tracker (never reached since start, flapping API, 401/403, restart during
 * an outage) and the hand-off (host-port bridges withdrawn at the first API
 * success, one restart per outage however the API flaps; a parent sandbox
 * withdraws at once), then the rules of issues 18 and 19: an exhaustive
 * loop over the new inputs (parent containers vs the bridge's written time,
 * cluster identity, refused API, hand-off timer, watchdog, Node presence,
 * quorum confirmation) checking the invariants, and one named test per
 * defect (issue 18: 1-6; issue 19: findings 2, 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decision.h"
#include "testutil.h"

#define UA    30000
#define RA    15000
#define GRACE 60000

#define UID_A   "0f0e0d0c-0b0a-4909-8807-060504030201"
#define UID_B   "1f0e0d0c-0b0a-4909-8807-060504030201"
#define UID_C   "2f0e0d0c-0b0a-4909-8807-060504030201"
#define CLUSTER "aaaaaaaa-0000-4000-8000-000000000001"
#define OTHER   "bbbbbbbb-0000-4000-8000-000000000002"
#define SVC     "cccccccc-0000-4000-8000-000000000003" /* default/kubernetes Service UID */
#define SVC2    "dddddddd-0000-4000-8000-000000000004"
#define HOT     600000 /* --handoff-timeout */

static struct local_pods local_set(enum local_pods_state st, const char *uid)
{
	struct local_pods lp = {0};

	if (uid != NULL) {
		struct local_pod p = local_pod_blank(uid);

		p.running = true;
		assert_int_equal(local_pods_add(&lp, &p, NULL), KC_OK);
	}
	lp.state = st;
	return lp;
}

static struct reach_view api(enum reach_state s)
{
	struct reach_view v = {s, 0, REACH_NEVER, false};

	return v;
}

/* While unreachable, the API answered during this outage (reachability.h). */
static struct reach_view api_answered(void)
{
	struct reach_view v = {REACH_UNREACHABLE, 0, REACH_NEVER, true};

	return v;
}

static struct decision_checkpoint ckpt(const char *uid, const char *ns, const char *name,
                                       const char *created, enum decision_ckpt_state st,
                                       enum decision_parent parent, int64_t absent_since)
{
	struct decision_checkpoint c = {.uid = uid,
	                                .namespace = ns,
	                                .name = name,
	                                .created = created,
	                                .state = st,
	                                .parent = parent,
	                                .parent_absent_since_ms = absent_since};

	/* Same cluster, no bridge on disk, no hand-off; the old GC rule's "gone"
	 * was quorum-confirmed (the new inputs are set where they are tested). */
	c.cluster_uid = CLUSTER;
	c.cluster_service_uid = SVC;
	c.confirmed_gone = parent == DECISION_PARENT_ABSENT;
	c.bridge_written_ms = -1;
	c.handed_off_ms = -1;
	c.watchdog_last_ms = -1;
	c.parent_run_ms = -1;
	return c;
}

/* An input with the new fields at their "no objection" values. */
static struct decision_input mkin(const struct decision_checkpoint *c, size_t n, bool flag,
                                  struct reach_view v, const struct local_pods *lp, int64_t now)
{
	struct decision_input in = {.checkpoints = c,
	                            .count = n,
	                            .flag_on = flag,
	                            .api = v,
	                            .local = lp,
	                            .gc_grace_ms = GRACE,
	                            .now_ms = now};

	in.cluster_uid = CLUSTER;
	in.cluster_service_uid = SVC;
	in.node = DECISION_NODE_PRESENT;
	in.handoff_timeout_ms = HOT;
	in.last_bridge_ms = -1;
	return in;
}

/* One row of the table: one checkpoint, every other input spelled out. */
struct row {
	const char *what;
	bool flag;
	enum reach_state api;
	enum local_pods_state local;
	const char *running; /* a UID running locally, or NULL */
	enum decision_ckpt_state state;
	enum decision_parent parent;
	int64_t absent_since;
	int64_t now;
	enum decision_verdict want;
	bool want_drop;
	int64_t want_next; /* REACH_NEVER or a GC deadline */
};

#define K  LOCAL_PODS_KNOWN
#define U  LOCAL_PODS_UNKNOWN
#define OK DECISION_CKPT_OK
#define CO DECISION_CKPT_CORRUPT
#define NC DECISION_CKPT_NOT_CHECKPOINTABLE
#define PP DECISION_PARENT_PRESENT
#define PA DECISION_PARENT_ABSENT
#define PU DECISION_PARENT_UNKNOWN
#define UR REACH_UNREACHABLE
#define RE REACH_REACHABLE
#define UN REACH_UNKNOWN
#define RF REACH_REFUSED
#define NV REACH_NEVER

static const struct row rows[] = {
    {"all conditions met", true, UR, K, NULL, OK, PP, 0, 100000, DECISION_ACTIVE, false, NV},
    {"parent gone (confirmed), unreachable", true, UR, K, NULL, OK, PA, 0, 900000,
     DECISION_INACTIVE_CONFIRMED_GONE, false, NV},
    {"parent unknown, unreachable", true, UR, K, NULL, OK, PU, 0, 1, DECISION_ACTIVE, false, NV},
    {"flag off", false, UR, K, NULL, OK, PP, 0, 1, DECISION_INACTIVE_FLAG_OFF, false, NV},
    {"api reachable", true, RE, K, NULL, OK, PP, 0, 1, DECISION_INACTIVE_API_REACHABLE, false, NV},
    {"api unknown", true, UN, K, NULL, OK, PP, 0, 1, DECISION_HOLD_API_UNKNOWN, false, NV},
    {"parent runs here", true, UR, K, UID_A, OK, PP, 0, 1, DECISION_INACTIVE_RUNNING_LOCALLY, false,
     NV},
    {"other pod runs here", true, UR, K, UID_C, OK, PP, 0, 1, DECISION_ACTIVE, false, NV},
    {"local unknown", true, UR, U, NULL, OK, PP, 0, 1, DECISION_HOLD_LOCAL_UNKNOWN, false, NV},
    {"local unknown, api unknown", true, UN, U, NULL, OK, PP, 0, 1, DECISION_HOLD_API_UNKNOWN,
     false, NV},
    {"runs here, api unknown", true, UN, K, UID_A, OK, PP, 0, 1, DECISION_INACTIVE_RUNNING_LOCALLY,
     false, NV},
    {"corrupt", true, UR, K, NULL, CO, PU, 0, 1, DECISION_INACTIVE_CORRUPT, false, NV},
    {"corrupt, parent gone long ago", true, RE, K, NULL, CO, PA, 0, 10 * GRACE,
     DECISION_INACTIVE_CORRUPT, false, NV},
    {"not checkpointable", true, UR, K, NULL, NC, PP, 0, 1, DECISION_INACTIVE_NOT_CHECKPOINTABLE,
     false, NV},
    {"not checkpointable, parent gone", true, RE, K, NULL, NC, PA, 0, GRACE,
     DECISION_INACTIVE_NOT_CHECKPOINTABLE, true, NV},
    {"gc: gone, before grace", true, RE, K, NULL, OK, PA, 1000, 1000 + GRACE - 1,
     DECISION_INACTIVE_CONFIRMED_GONE, false, 1000 + GRACE},
    {"gc: gone, at grace", true, RE, K, NULL, OK, PA, 1000, 1000 + GRACE,
     DECISION_INACTIVE_CONFIRMED_GONE, true, NV},
    {"gc: gone, flag off", false, RE, K, NULL, OK, PA, 1000, 1000 + GRACE,
     DECISION_INACTIVE_FLAG_OFF, true, NV},
    {"gc: never while unreachable", true, UR, K, NULL, OK, PA, 0, 100 * GRACE,
     DECISION_INACTIVE_CONFIRMED_GONE, false, NV},
    {"gc: never while api unknown", true, UN, K, NULL, OK, PA, 0, 100 * GRACE,
     DECISION_INACTIVE_CONFIRMED_GONE, false, NV},
    {"refused", true, RF, K, NULL, OK, PP, 0, 1, DECISION_ACTIVE, false, NV},
    {"gc: never when parent unknown", true, RE, K, NULL, OK, PU, 0, 100 * GRACE,
     DECISION_INACTIVE_API_REACHABLE, false, NV},
    {"gc: parent present", true, RE, K, NULL, OK, PP, 0, 100 * GRACE,
     DECISION_INACTIVE_API_REACHABLE, false, NV},
};

static void run_row(const struct row *r)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "agent", "2026-01-01T00:00:00Z",
	                                    r->state, r->parent, r->absent_since);
	struct local_pods lp = local_set(r->local, r->running);
	struct decision_input in = mkin(&c, 1, r->flag, api(r->api), &lp, r->now);
	struct decision_result res;
	struct kc_error err;

	assert_int_equal(decision_compute(&in, &res, &err), KC_OK);
	assert_int_equal(res.count, 1);
	if (res.items[0].verdict != r->want || res.items[0].drop != r->want_drop ||
	    res.next_change_ms != r->want_next)
		fail_msg("row \"%s\": got %s drop=%d next=%lld, want %s drop=%d next=%lld", r->what,
		         decision_verdict_name(res.items[0].verdict), res.items[0].drop,
		         (long long)res.next_change_ms, decision_verdict_name(r->want),
		         r->want_drop, (long long)r->want_next);
	assert_int_equal(res.nactive, r->want == DECISION_ACTIVE);
	assert_int_equal(res.ndrop, r->want_drop);
	if (r->state == OK)
		assert_string_equal(res.items[0].manifest,
		                    "kubelet-checkpoint_kube-system_agent.yaml");
	decision_result_free(&res);
	local_pods_free(&lp);
}

static void test_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

/* One combination of one checkpoint's inputs (see test_all_combinations). */
struct combo {
	bool flag;
	enum reach_state api;
	bool answered;
	int local;   /* 0 unknown, 1 no entry, 2 entry: old containers, 3 entry: new
	                container (created after the bridge), 4 running (created after it too) */
	bool detail; /* containers_known */
	enum decision_ckpt_state st;
	enum decision_parent parent;
	bool confirmed;
	int cluster; /* index into identities[] */
	bool on_disk;
	bool host_ports;
	int handoff; /* 0 none, 1 under way not due, 2 due, 3 due but backed off */
	int run;     /* parent_run_ms: 0 -> -1, 1 -> 10 s, 2 -> 40 s */
	enum decision_node node;
	bool recent; /* a bridge was on disk 1 minute ago */
	bool timed;  /* REACHABLE since longer than the hand-off timeout */
};

#define NOW   10000000
#define WRITE 1700000000000 /* wall ms the bridge was written */

/* The cluster identity as the checkpoint recorded it and as the API answers
 * now (NULL: unknown; the API's kube-system UID is unknown after a 403), and
 * what decision.h says that is. */
static const struct identity {
	const char *ckpt_ns, *ckpt_svc, *api_ns, *api_svc;
	bool same, other;
} identities[] = {
    {CLUSTER, SVC, CLUSTER, SVC, true, false},  /* both known, equal */
    {OTHER, SVC, CLUSTER, SVC, false, true},    /* kube-system differs */
    {NULL, NULL, CLUSTER, SVC, false, false},   /* an older agent's checkpoint */
    {CLUSTER, SVC, NULL, SVC, true, false},     /* namespace 403: the Service decides */
    {CLUSTER, SVC2, NULL, SVC, false, true},    /* ... and differs */
    {NULL, SVC, CLUSTER, SVC, true, false},     /* recorded under a 403 */
    {CLUSTER, SVC2, CLUSTER, SVC, false, true}, /* any known pair that differs */
    {CLUSTER, NULL, NULL, SVC, false, false},   /* nothing known on both sides */
};
#define NIDENT (int)(sizeof(identities) / sizeof(identities[0]))

static void run_combo(const struct combo *k)
{
	struct decision_checkpoint c = ckpt(UID_A, "ns", "n", "", k->st, k->parent, 0);
	struct local_pods lp = {0};
	struct reach_view v = api(k->api);
	struct decision_input in;
	struct decision_result res;
	const struct decision_item *it;
	const struct identity *id = &identities[k->cluster];
	bool same = id->same, running = k->local == 4, keeps, active, w1, cannot;

	if (k->local >= 2) {
		struct local_pod p = local_pod_blank(UID_A);

		p.running = running;
		p.newest_created_ms =
		    k->detail ? (k->local == 2 ? WRITE - 5000 : WRITE + 5000) : -1;
		p.running_since_ms = running && k->detail ? WRITE + 5000 : -1;
		assert_int_equal(local_pods_add(&lp, &p, NULL), KC_OK);
	}
	lp.state = k->local == 0 ? U : K;
	lp.containers_known = k->detail;
	v.answered = k->answered;
	v.since_ms = k->timed ? NOW - HOT : NOW - HOT + 1;
	c.confirmed_gone = k->confirmed;
	c.cluster_uid = id->ckpt_ns;
	c.cluster_service_uid = id->ckpt_svc;
	c.bridge_written_ms = k->on_disk ? WRITE : -1;
	c.host_ports = k->host_ports;
	c.parent_absent_since_ms = 0;
	c.handed_off_ms = k->handoff == 0 ? -1 : k->handoff == 1 ? NOW - 60000 : NOW - 200000;
	c.watchdog_fires = k->handoff == 3 ? 3 : 0;
	c.watchdog_last_ms = k->handoff == 3 ? NOW - 60000 : -1;
	c.parent_run_ms = k->run == 0 ? -1 : k->run == 1 ? 10000 : 40000;
	in = mkin(&c, 1, k->flag, v, &lp, NOW);
	in.node = k->node;
	in.last_bridge_ms = k->recent ? NOW - 60000 : -1;
	in.cluster_uid = id->api_ns;
	in.cluster_service_uid = id->api_svc;
	assert_int_equal(decision_same_cluster(&c, &in), id->same);
	assert_int_equal(decision_other_cluster(&c, &in), id->other);
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	it = &res.items[0];
	if (id->other && k->st == OK)
		assert_true(res.other_cluster);
	keeps = decision_keeps_manifest(it->verdict);
	active = it->verdict == DECISION_ACTIVE;
	w1 = k->on_disk && (k->local >= 3 || (k->local >= 2 && !k->detail));
	cannot = reach_cannot_get_pods(k->api);

	/* Activation: every condition of the rule, nothing else. */
	assert_int_equal(active, k->flag && k->st == OK && cannot && k->local != 0 && !running &&
	                             !w1 && !(k->host_ports && k->answered) && k->parent != PA &&
	                             !(same && k->confirmed) &&
	                             (k->on_disk || k->handoff == 0 || k->handoff == 2));
	/* Never two copies; never a bridge that blocks the returning parent. */
	if (keeps)
		assert_true(k->flag && k->st == OK && !running && !w1 &&
		            !(k->host_ports && k->answered));
	/* A bridge on disk is withdrawn only by W1-W5 (or running / not ok):
	 * never merely because the API answers. */
	if (k->on_disk && !keeps && k->st == OK)
		assert_true(!k->flag || running || w1 || (k->host_ports && k->answered) ||
		            (same && k->confirmed) || (same && k->api == RE && k->timed));
	/* W3/W4 and collection never on another (or an unknown) cluster's word. */
	if (!same) {
		assert_int_not_equal(it->verdict, DECISION_INACTIVE_CONFIRMED_GONE);
		assert_int_not_equal(it->verdict, DECISION_INACTIVE_HANDOFF_TIMEOUT);
		assert_false(it->drop);
	}
	assert_int_equal(it->handoff_timed_out, it->verdict == DECISION_INACTIVE_HANDOFF_TIMEOUT);
	if (it->handoff_timed_out)
		assert_true(k->on_disk && same && k->api == RE && k->timed);
	/* W1 is the one withdrawal that starts a hand-off. */
	assert_int_equal(it->handed_off, k->flag && k->st == OK && w1);
	/* The watchdog fires only when due, and only as an activation. */
	if (it->watchdog_fired)
		assert_true(active && !k->on_disk && k->handoff == 2);
	assert_int_equal(it->handoff_done, k->handoff != 0 && k->run == 2);
	/* Collection: the same cluster's quorum read, after grace, Node present,
	 * no bridge now or lately, API reachable, never a corrupt file. */
	assert_int_equal(it->drop, k->st != CO && same && k->confirmed && k->parent == PA &&
	                               k->api == RE && k->node == DECISION_NODE_PRESENT &&
	                               !k->recent && !active && !(keeps && k->on_disk));
	assert_int_equal(res.node_missing_blocks && k->node == DECISION_NODE_MISSING,
	                 res.node_missing_blocks);
	/* The quorum read is asked only for a parent missing from the watch. */
	if (it->confirm_parent)
		assert_true(k->parent == PA && !k->confirmed && k->api == RE && same);
	assert_true(res.next_change_ms > NOW);
	decision_result_free(&res);
	local_pods_free(&lp);
}

/*
 * Every combination of one checkpoint's inputs (about 1.1 million), each
 * checked against the rules and the invariants of decision.h.
 */
static void test_all_combinations(void **state)
{
	static const enum reach_state apis[] = {UN, RE, UR, RF};
	static const enum decision_ckpt_state states[] = {OK, CO, NC};
	static const enum decision_parent parents[] = {PU, PP, PA};
	static const enum decision_node nodes[] = {DECISION_NODE_UNKNOWN, DECISION_NODE_PRESENT,
	                                           DECISION_NODE_MISSING};
	struct combo k;
	int f, a, ans, l, d, s, p, cf, cl, od, hp, ho, rn, nd, rc, tm;
	long n = 0;

	for (f = 0; f < 2; f++)
		for (a = 0; a < 4; a++)
			for (ans = 0; ans < 2; ans++)
				for (l = 0; l < 5; l++)
					for (d = 0; d < 2; d++)
						for (s = 0; s < 3; s++)
							for (p = 0; p < 3; p++)
								for (cf = 0; cf < 2; cf++)
									for (cl = 0; cl < NIDENT;
									     cl++)
										for (od = 0; od < 2;
										     od++)
											for (hp = 0;
											     hp < 2;
											     hp++)
												for (
												    ho =
												        0;
												    ho <
												    4;
												    ho++)
													for (
													    rn =
													        0;
													    rn <
													    3;
													    rn++)
														for (
														    nd =
														        0;
														    nd <
														    3;
														    nd++)
															for (
															    rc =
															        0;
															    rc <
															    2;
															    rc++)
																for (
																    tm =
																        0;
																    tm <
																    2;
																    tm++) {
																	/* answered: a real success this outage (never while refused-only: it
																	 * exists in every state, reachability.h) */
																	if ((s !=
																	         0 &&
																	     (cf ||
																	      cl ||
																	      hp ||
																	      ho ||
																	      rn)) ||
																	    (rn &&
																	     !ho))
																		continue; /* the inputs only ok checkpoints and hand-offs read */
																	if (tm &&
																	    apis[a] !=
																	        RE)
																		continue;
																	k = (struct combo){f, apis[a], ans, l, d, states[s], parents[p], cf, cl, od, hp, ho, rn, nodes[nd], rc, tm};
																	run_combo(
																	    &k);
																	n++;
																}
	assert_true(n > 100000);
}

static void test_group_winner(void **state)
{
	struct decision_checkpoint c[3];
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = mkin(c, 3, true, api(UR), &lp, 1);
	struct decision_result res;

	/* Parent still in the API wins over a newer one that is gone. */
	c[0] = ckpt(UID_A, "kube-system", "ds", "2026-01-01T00:00:00Z", OK, PP, 0);
	c[1] = ckpt(UID_B, "kube-system", "ds", "2026-02-01T00:00:00Z", OK, PA, 0);
	c[2] = ckpt(UID_C, "default", "ds", "2026-01-01T00:00:00Z", OK, PP, 0);
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_ACTIVE);
	assert_int_equal(res.items[1].verdict, DECISION_INACTIVE_SHADOWED);
	assert_int_equal(res.items[1].shadowed_by, 0);
	assert_int_equal(res.items[2].verdict, DECISION_ACTIVE); /* other namespace */
	assert_int_equal(res.nactive, 2);
	assert_string_equal(res.items[0].manifest, res.items[1].manifest);
	decision_result_free(&res);

	/* Both present: newest creationTimestamp wins. */
	c[1].parent = PP;
	c[1].confirmed_gone = false;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_SHADOWED);
	assert_int_equal(res.items[1].verdict, DECISION_ACTIVE);
	decision_result_free(&res);

	/* Same time: the greatest uid wins; a corrupt one never does. */
	c[1].created = c[0].created;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[1].verdict, DECISION_ACTIVE);
	decision_result_free(&res);
	c[1].state = CO;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_ACTIVE);
	assert_int_equal(res.items[1].verdict, DECISION_INACTIVE_CORRUPT);
	decision_result_free(&res);

	/* The loser's UID runs here: the workload runs, the winner stays off. */
	c[1].state = OK;
	local_pods_free(&lp);
	lp = local_set(K, UID_A);
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_SHADOWED);
	assert_int_equal(res.items[1].verdict, DECISION_INACTIVE_RUNNING_LOCALLY);
	assert_int_equal(res.items[2].verdict, DECISION_ACTIVE);
	decision_result_free(&res);
	local_pods_free(&lp);
}

/* The winner does not depend on input order. */
static void test_group_order_independent(void **state)
{
	static const char *const uids[] = {UID_A, UID_B, UID_C};
	static const char *const times[] = {"2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", ""};
	/* By parent_mask (bit k: uids[k] present in the API). */
	static const char *const expected[8] = {UID_B, UID_A, UID_B, UID_B,
	                                        UID_C, UID_A, UID_B, UID_B};
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
	                                {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	struct local_pods lp = local_set(K, NULL);
	struct decision_checkpoint c[3];
	struct decision_input in = mkin(c, 3, true, api(UR), &lp, 1);
	struct decision_result res;
	int p, i, parent_mask;

	for (parent_mask = 0; parent_mask < 8; parent_mask++)
		for (p = 0; p < 6; p++) {
			const char *winner = NULL;

			for (i = 0; i < 3; i++) {
				int k = perms[p][i];

				c[i] = ckpt(uids[k], "ns", "same", times[k], OK,
				            (parent_mask >> k) & 1 ? PP : PU, 0);
			}
			assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
			assert_int_equal(res.nactive, 1);
			for (i = 0; i < 3; i++)
				if (res.items[i].verdict == DECISION_ACTIVE)
					winner = c[i].uid;
			/* Present first; then newest ("" is oldest), then greatest uid. */
			assert_string_equal(winner, expected[parent_mask]);
			decision_result_free(&res);
		}
	local_pods_free(&lp);
}

/* A small deterministic PRNG (xorshift32), so failures reproduce. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* One workload (decision.h "groups"): one manifest file, or one DaemonSet. */
static bool related(const struct decision_checkpoint *a, const struct decision_checkpoint *b)
{
	return (strcmp(a->namespace, b->namespace) == 0 && strcmp(a->name, b->name) == 0) ||
	       (a->owner_ds_uid != NULL && b->owner_ds_uid != NULL &&
	        strcmp(a->owner_ds_uid, b->owner_ds_uid) == 0);
}

/*
 * Random sets of checkpoints over few workloads (names and DaemonSet
 * owners): at most one item of a workload keeps a manifest, nothing is
 * kept for a workload with a UID running here, and every verdict is
 * independent of the input order.
 */
static void test_random_sets(void **state)
{
	static const char *const nss[] = {"kube-system", "monitoring"};
	static const char *const names[] = {"a", "b", "c"};
	static const char *const times[] = {"", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"};
	static const enum reach_state apis[] = {UN, RE, UR, RF};
	static const char *const owners[] = {NULL, "dddddddd-0000-4000-8000-000000000001",
	                                     "dddddddd-0000-4000-8000-000000000002"};
	enum { N = 8 };
	char uids[N][40];
	struct decision_checkpoint c[N], rev[N];
	struct local_pods lp = {0};
	struct decision_result res, res2;
	uint32_t seed = 12345;
	int iter;
	size_t i, j;

	for (iter = 0; iter < 20000; iter++) {
		size_t n = 1 + next_rand(&seed) % N;
		struct decision_input in = mkin(c, n, next_rand(&seed) % 4 != 0,
		                                api(apis[next_rand(&seed) % 4]), &lp, 100000);

		local_pods_reset(&lp);
		for (i = 0; i < n; i++) {
			snprintf(uids[i], sizeof(uids[i]), "%08x-0000-4000-8000-%012zx",
			         next_rand(&seed) % 4, i);
			c[i] = ckpt(uids[i], nss[next_rand(&seed) % 2], names[next_rand(&seed) % 3],
			            times[next_rand(&seed) % 3],
			            (enum decision_ckpt_state)(next_rand(&seed) % 3),
			            (enum decision_parent)(next_rand(&seed) % 3),
			            (int64_t)(next_rand(&seed) % 100000));
			c[i].owner_ds_uid = owners[next_rand(&seed) % 3];
			c[i].bridge_written_ms = next_rand(&seed) % 2 ? WRITE : -1;
			c[i].confirmed_gone = next_rand(&seed) % 4 == 0;
			if (next_rand(&seed) % 4 == 0) {
				struct local_pod p = local_pod_blank(uids[i]);

				p.running = true;
				assert_int_equal(local_pods_add(&lp, &p, NULL), KC_OK);
			}
		}
		local_pods_finish(&lp);
		lp.state = next_rand(&seed) % 5 ? K : U;
		for (i = 0; i < n; i++)
			rev[i] = c[n - 1 - i];
		assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
		in.checkpoints = rev;
		assert_int_equal(decision_compute(&in, &res2, NULL), KC_OK);
		for (i = 0; i < n; i++) {
			const struct decision_item *it = &res.items[i];

			/* Same verdict whatever the order. */
			assert_int_equal(it->verdict, res2.items[n - 1 - i].verdict);
			assert_int_equal(it->drop, res2.items[n - 1 - i].drop);
			if (!decision_keeps_manifest(it->verdict))
				continue;
			for (j = 0; j < n; j++) {
				if (j == i || !related(&c[i], &c[j]))
					continue;
				if (strcmp(c[j].uid, c[i].uid) != 0)
					assert_false(decision_keeps_manifest(res.items[j].verdict));
				assert_false(local_pods_contains(&lp, c[j].uid));
			}
			assert_false(local_pods_contains(&lp, c[i].uid));
		}
		decision_result_free(&res);
		decision_result_free(&res2);
	}
	local_pods_free(&lp);
}

static void test_bad_input(void **state)
{
	struct decision_checkpoint c = ckpt(NULL, "ns", "n", "", OK, PP, 0);
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = mkin(&c, 1, true, api(UR), &lp, 1);
	struct decision_result res;
	struct kc_error err;

	assert_int_equal(decision_compute(&in, &res, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "no uid"));
	/* A name no manifest file can carry is never activated. */
	c = ckpt(UID_A, "ns", "../x", "", OK, PP, 0);
	assert_int_equal(decision_compute(&in, &res, &err), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_BAD_NAME);
	assert_string_equal(res.items[0].manifest, "");
	decision_result_free(&res);
	/* Unknown name (a corrupt file) with state ok is not activated either. */
	c = ckpt(UID_A, NULL, NULL, NULL, OK, PU, 0);
	assert_int_equal(decision_compute(&in, &res, &err), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_BAD_NAME);
	decision_result_free(&res);
	/* No checkpoints, NULL local pods: empty result. */
	in.count = 0;
	in.local = NULL;
	assert_int_equal(decision_compute(&in, &res, &err), KC_OK);
	assert_int_equal(res.count, 0);
	decision_result_free(&res);
	local_pods_free(&lp);
	assert_string_equal(decision_verdict_name(DECISION_HOLD_LOCAL_UNKNOWN),
	                    "hold-local-pods-unknown");
	assert_string_equal(decision_verdict_name((enum decision_verdict)99), "unknown");
}

/* The verdict of one ok checkpoint at now, with reachability from r. */
static enum decision_verdict verdict_at(const struct reachability *r, int64_t now, int64_t *next)
{
	struct decision_checkpoint c = ckpt(UID_A, "ns", "n", "", OK, PU, 0);
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = mkin(&c, 1, true, reachability_view(r, now), &lp, now);
	struct decision_result res;
	enum decision_verdict v;

	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	v = res.items[0].verdict;
	if (next != NULL)
		*next = res.next_change_ms;
	decision_result_free(&res);
	local_pods_free(&lp);
	return v;
}

static void test_scenario_never_reached_since_start(void **state)
{
	struct reachability r;
	int64_t next;

	/* Node boots during an outage: the window runs from agent start. */
	reachability_init(&r, 0, UA, RA);
	reachability_on_failure(&r, 10000);
	assert_int_equal(verdict_at(&r, UA - 1, &next), DECISION_HOLD_API_UNKNOWN);
	assert_int_equal(next, UA); /* the loop sleeps until the window ends */
	assert_int_equal(verdict_at(&r, UA, &next), DECISION_ACTIVE);
	assert_int_equal(next, REACH_NEVER);
}

static void test_scenario_unreachable_shorter_and_longer_than_window(void **state)
{
	struct reachability r;
	int64_t t0 = 100000;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	assert_int_equal(verdict_at(&r, t0, NULL), DECISION_INACTIVE_API_REACHABLE);
	reachability_on_failure(&r, t0);
	assert_int_equal(verdict_at(&r, t0 + UA - 1, NULL), DECISION_INACTIVE_API_REACHABLE);
	assert_int_equal(verdict_at(&r, t0 + UA, NULL), DECISION_ACTIVE);
	/* Back: withdrawn once the reachable window has passed, not before. */
	reachability_on_success(&r, t0 + 200000);
	assert_int_equal(verdict_at(&r, t0 + 200000 + RA - 1, NULL), DECISION_ACTIVE);
	assert_int_equal(verdict_at(&r, t0 + 200000 + RA, NULL), DECISION_INACTIVE_API_REACHABLE);
}

static void test_scenario_flapping_and_auth_never_activate(void **state)
{
	struct reachability r;
	int64_t t;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	for (t = RA; t < 3600 * 1000; t += 25000) {
		reachability_on_failure(&r, t);
		assert_int_equal(verdict_at(&r, t + 24000, NULL), DECISION_INACTIVE_API_REACHABLE);
		reachability_on_success(&r, t + 24000);
	}
	/* A short refusal now and then (a restarted apiserver's Node
	 * authorizer) between real answers never activates. */
	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	for (t = RA; t < 3600 * 1000; t += 7000) {
		reachability_on_auth_error(&r, t);
		assert_int_equal(verdict_at(&r, t + 3000, NULL), DECISION_INACTIVE_API_REACHABLE);
		reachability_on_success(&r, t + 3000);
	}
}

/*
 * Agent restart during an outage, bridge manifests already on disk: the
 * decision never sees the disk; while the new agent does not know yet it
 * HOLDs (the effects layer keeps the files), then turns ACTIVE: the files
 * are never withdrawn in between. Same inputs, same output, every time.
 */
static void test_scenario_restart_during_outage(void **state)
{
	struct reachability r;
	int64_t t;

	reachability_init(&r, 0, UA, RA);
	for (t = 0; t < UA; t += 1000) {
		reachability_on_failure(&r, t);
		assert_true(decision_keeps_manifest(verdict_at(&r, t, NULL)));
		assert_int_equal(verdict_at(&r, t, NULL), verdict_at(&r, t, NULL));
	}
	assert_int_equal(verdict_at(&r, UA, NULL), DECISION_ACTIVE);
}

/* The verdicts of a host-port bridge and a plain one at now (parent sandbox: running). */
static void verdicts_at(const struct reachability *r, int64_t now, bool parent_runs,
                        enum decision_verdict *hp, enum decision_verdict *plain)
{
	struct decision_checkpoint c[2] = {ckpt(UID_A, "ns", "svclb", "", OK, PU, 0),
	                                   ckpt(UID_B, "ns", "agent", "", OK, PU, 0)};
	struct local_pods lp = local_set(K, parent_runs ? UID_A : NULL);
	struct decision_input in = mkin(c, 2, true, reachability_view(r, now), &lp, now);
	struct decision_result res;

	c[0].host_ports = true;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	*hp = res.items[0].verdict;
	*plain = res.items[1].verdict;
	decision_result_free(&res);
	local_pods_free(&lp);
}

/* Does the pass at now ask the API to be asked often (a host-port bridge and a plain one)? */
static bool awaits_at(const struct reachability *r, int64_t now)
{
	struct decision_checkpoint c[2] = {ckpt(UID_A, "ns", "svclb", "", OK, PU, 0),
	                                   ckpt(UID_B, "ns", "agent", "", OK, PU, 0)};
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = mkin(c, 2, true, reachability_view(r, now), &lp, now);
	struct decision_result res;
	bool awaits;

	c[0].host_ports = true;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	awaits = res.awaits_api_answer;
	decision_result_free(&res);
	local_pods_free(&lp);
	return awaits;
}

/* Hand-off rows: one host-port checkpoint, the API answered during the outage. */
static void test_handoff_rows(void **state)
{
	static const struct {
		const char *what;
		bool flag, known, parent_runs, host_ports;
		enum decision_verdict want;
	} rows_h[] = {
	    {"host ports, answered", true, true, false, true, DECISION_INACTIVE_API_ANSWERED},
	    {"host ports, answered, local unknown: never HOLD", true, false, false, true,
	     DECISION_INACTIVE_API_ANSWERED},
	    {"host ports, answered, parent runs", true, true, true, true,
	     DECISION_INACTIVE_RUNNING_LOCALLY},
	    {"host ports, answered, flag off", false, true, false, true,
	     DECISION_INACTIVE_FLAG_OFF},
	    {"no host ports, answered", true, true, false, false, DECISION_ACTIVE},
	    {"no host ports, answered, local unknown", true, false, false, false,
	     DECISION_HOLD_LOCAL_UNKNOWN},
	};
	size_t i;

	for (i = 0; i < sizeof(rows_h) / sizeof(rows_h[0]); i++) {
		struct decision_checkpoint c = ckpt(UID_A, "ns", "n", "", OK, PP, 0);
		struct local_pods lp =
		    local_set(rows_h[i].known ? K : U, rows_h[i].parent_runs ? UID_A : NULL);
		struct decision_input in = mkin(&c, 1, rows_h[i].flag, api_answered(), &lp, 1);
		struct decision_result res;

		c.host_ports = rows_h[i].host_ports;
		assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
		if (res.items[0].verdict != rows_h[i].want)
			fail_msg("row \"%s\": got %s, want %s", rows_h[i].what,
			         decision_verdict_name(res.items[0].verdict),
			         decision_verdict_name(rows_h[i].want));
		decision_result_free(&res);
		local_pods_free(&lp);
	}
	assert_string_equal(decision_verdict_name(DECISION_INACTIVE_API_ANSWERED),
	                    "api-answered-host-ports");
}

/* hostPort bridge: withdrawn at the first real success, not after reachable_after. */
static void test_handoff_host_ports_at_first_contact(void **state)
{
	enum decision_verdict hp, plain;
	struct reachability r;
	int64_t t0 = 100000, back = t0 + UA + 60000;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	reachability_on_failure(&r, t0);
	verdicts_at(&r, t0 + UA, false, &hp, &plain);
	assert_int_equal(hp, DECISION_ACTIVE);
	assert_int_equal(plain, DECISION_ACTIVE);
	assert_true(awaits_at(&r, t0 + UA));
	/* 401/403 say the API is up, but the kubelet (same identity) got nothing. */
	reachability_on_auth_error(&r, back - 5000);
	reachability_on_failure(&r, back - 4000);
	verdicts_at(&r, back - 4000, false, &hp, &plain);
	assert_int_equal(hp, DECISION_ACTIVE);
	/* The first success: the host-port bridge goes at once, the plain one stays. */
	reachability_on_success(&r, back);
	verdicts_at(&r, back, false, &hp, &plain);
	assert_int_equal(hp, DECISION_INACTIVE_API_ANSWERED);
	assert_int_equal(plain, DECISION_ACTIVE);
	assert_false(decision_keeps_manifest(hp));
	assert_false(awaits_at(&r, back)); /* a plain bridge needs no hurry */
	/* The parent's sandbox appears: the plain bridge goes at once too. */
	verdicts_at(&r, back + 1000, true, &hp, &plain);
	assert_int_equal(plain, DECISION_ACTIVE);
	{
		struct decision_checkpoint c = ckpt(UID_B, "ns", "agent", "", OK, PP, 0);
		struct local_pods lp = local_set(K, UID_B);
		struct decision_input in =
		    mkin(&c, 1, true, reachability_view(&r, back + 1000), &lp, back + 1000);
		struct decision_result res;

		assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
		assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_RUNNING_LOCALLY);
		decision_result_free(&res);
		local_pods_free(&lp);
	}
	/* Once reachable_after has passed: the host-port one stays withdrawn
	 * (the API answers); none is created while the kubelet gets its pods. */
	verdicts_at(&r, back + RA, false, &hp, &plain);
	assert_int_equal(hp, DECISION_INACTIVE_API_ANSWERED);
	assert_int_equal(plain, DECISION_INACTIVE_API_REACHABLE);
}

/*
 * A flapping API after an outage (answers, then fails for less than the
 * unreachable window, again and again): the host-port bridge is withdrawn
 * once and stays withdrawn; the plain bridge never moves. Only a whole
 * window of failure (a new outage) brings the host-port bridge back: at most
 * one restart per outage.
 */
static void test_handoff_flapping_one_restart_per_outage(void **state)
{
	enum decision_verdict hp, plain, last_hp = DECISION_ACTIVE;
	struct reachability r;
	int64_t t, t0 = 100000, start = t0 + UA + 1000, changes = 0, next;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	reachability_on_failure(&r, t0);
	for (t = start; t < start + 3600 * 1000; t += 1000) {
		/* A success every 20 s, failures in between; never RA of success. */
		if ((t - start) % 20000 == 0)
			reachability_on_success(&r, t);
		else
			reachability_on_failure(&r, t);
		verdicts_at(&r, t, false, &hp, &plain);
		assert_int_equal(plain, DECISION_ACTIVE);
		if (hp != last_hp)
			changes++;
		last_hp = hp;
	}
	assert_int_equal(changes, 1);
	assert_int_equal(last_hp, DECISION_INACTIVE_API_ANSWERED);
	/* A last answer, then it stays down: after one whole window of failure
	 * it is a new outage, and the host-port bridge comes back. */
	reachability_on_success(&r, t);
	reachability_on_failure(&r, t + 1000);
	verdicts_at(&r, t + 1000 + UA - 1, false, &hp, &plain);
	assert_int_equal(hp, DECISION_INACTIVE_API_ANSWERED);
	assert_int_equal(plain, DECISION_ACTIVE);
	/* The loop is told when that happens, so it needs no polling. */
	assert_int_equal(verdict_at(&r, t + 1000 + UA - 1, &next), DECISION_ACTIVE);
	assert_int_equal(next, t + 1000 + UA);
	verdicts_at(&r, t + 1000 + UA, false, &hp, &plain);
	assert_int_equal(hp, DECISION_ACTIVE);
}

/* One ok checkpoint's verdict item (copied) for the inputs given. */
static struct decision_item one(const struct decision_checkpoint *c, const struct local_pods *lp,
                                struct reach_view v, int64_t now, struct decision_result *keep)
{
	struct decision_input in = mkin(c, 1, true, v, lp, now);
	struct decision_result res;
	struct decision_item it;

	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	it = res.items[0];
	if (keep != NULL)
		*keep = res;
	else
		decision_result_free(&res);
	return it;
}

/* The first checkpoint's verdict item (copied) for a whole input. */
static struct decision_item one_in(const struct decision_input *in)
{
	struct decision_result res;
	struct decision_item it;

	assert_int_equal(decision_compute(in, &res, NULL), KC_OK);
	it = res.items[0];
	decision_result_free(&res);
	return it;
}

/* A local set with the parent's entry: running or not, newest container at created. */
static struct local_pods parent_entry(bool running, int64_t created)
{
	struct local_pods lp = {0};
	struct local_pod p = local_pod_blank(UID_A);

	p.running = running;
	p.newest_created_ms = created;
	p.running_since_ms = running ? created : -1;
	assert_int_equal(local_pods_add(&lp, &p, NULL), KC_OK);
	lp.state = K;
	lp.containers_known = true;
	return lp;
}

/*
 * Issue 18 defect 1: the bridged apiserver withdrew itself once "the API"
 * (served by the bridge) had answered for reachable_after. Now the bridge
 * stays until a parent container appears. Old code: api-reachable.
 */
static void test_defect1_bridged_api_answering_keeps_bridge(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "kube-apiserver", "", OK, PP, 0);
	struct local_pods none = local_set(K, NULL), admitted = parent_entry(false, WRITE + 1);
	struct decision_item it;

	c.bridge_written_ms = WRITE;
	none.containers_known = true;
	it = one(&c, &none, api(RE), 100000, NULL);
	assert_int_equal(it.verdict, DECISION_HOLD_HANDOFF);
	assert_true(decision_keeps_manifest(it.verdict));
	/* The kubelet got its pods and created the parent's container: W1. */
	it = one(&c, &admitted, api(RE), 100000, NULL);
	assert_int_equal(it.verdict, DECISION_INACTIVE_HANDED_OFF);
	assert_true(it.handed_off);
	local_pods_free(&none);
	local_pods_free(&admitted);
}

/*
 * Issue 18 defect 2: a READY parent sandbox with no container (the kubelet
 * waits for its Service informer) must not withdraw the bridge. The node
 * layer reports such a parent as an entry that does not run and has no
 * container; the bridge stays through the API's return. Old code:
 * api-reachable (withdrawn), and nothing brought it back.
 */
static void test_defect2_ready_sandbox_keeps_bridge(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "etcd", "", OK, PP, 0);
	struct local_pods sandbox = parent_entry(false, -1);

	c.bridge_written_ms = WRITE;
	assert_int_equal(one(&c, &sandbox, api(UR), 1000, NULL).verdict, DECISION_ACTIVE);
	assert_int_equal(one(&c, &sandbox, api(RE), 1000, NULL).verdict, DECISION_HOLD_HANDOFF);
	local_pods_free(&sandbox);
}

/* Two parents' entries: A's newest container created at a, B's at b (-1: none). */
static struct local_pods two_entries(int64_t a, int64_t b)
{
	struct local_pods lp = parent_entry(false, a);
	struct local_pod p = local_pod_blank(UID_B);

	p.newest_created_ms = b;
	assert_int_equal(local_pods_add(&lp, &p, NULL), KC_OK);
	return lp;
}

/* Verdicts of A and B (both on disk since WRITE, API reachable) at wall time wall. */
static void batch_at(const struct local_pods *lp, int64_t wall, enum decision_verdict want_a,
                     enum decision_verdict want_b, int64_t want_next)
{
	struct decision_checkpoint c[2] = {
	    ckpt(UID_A, "kube-system", "etcd", "", OK, PP, 0),
	    ckpt(UID_B, "kube-system", "kube-apiserver", "", OK, PP, 0)};
	struct reach_view v = api(RE);
	struct decision_input in;
	struct decision_result res;

	v.since_ms = NOW - 1000; /* reachable for a second: W4 is far */
	c[0].bridge_written_ms = c[1].bridge_written_ms = WRITE;
	in = mkin(c, 2, true, v, lp, NOW);
	in.now_wall_ms = wall;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, want_a);
	assert_int_equal(res.items[1].verdict, want_b);
	assert_int_equal(res.items[0].handed_off, want_a == DECISION_INACTIVE_HANDED_OFF);
	assert_int_equal(res.items[1].handed_off, want_b == DECISION_INACTIVE_HANDED_OFF);
	if (want_next != REACH_NEVER)
		assert_int_equal(res.next_change_ms, want_next);
	decision_result_free(&res);
}

/*
 * The W1 batch (decision.h): etcd's parent got its container first; its
 * bridge waits up to DECISION_HANDOFF_BATCH_MS for the apiserver's parent,
 * so both bridges go in one pass and both mirror pods are deleted while the
 * bridged API still serves; then until the newest containers are
 * DECISION_HANDOFF_SETTLE_MS old (the kubelet's immediate restart has died
 * on the ports and it backs off 10 s). Old code: etcd's bridge alone at once, and the
 * apiserver's a pass or three later, when its mirror pod could no longer be
 * deleted (a 14-68 s stall of the kubelet's housekeeping, measured).
 */
static void test_w1_batch(void **state)
{
	const int64_t t = WRITE + 20000; /* etcd's parent container created */
	struct local_pods only_a = two_entries(t, -1), both = two_entries(t, t + 500);
	struct local_pods before = two_entries(t, WRITE - 1000);
	struct local_pods cgroups = two_entries(t, -1);
	const enum decision_verdict H = DECISION_HOLD_HANDOFF, W = DECISION_INACTIVE_HANDED_OFF;

	/* A waits for B, and the pass comes back when the wait ends. */
	batch_at(&only_a, t + 1000, H, H, NOW + DECISION_HANDOFF_BATCH_MS - 1000);
	batch_at(&only_a, t + DECISION_HANDOFF_BATCH_MS - 1, H, H, NOW + 1);
	/* The wait is over: A goes alone, B stays. */
	batch_at(&only_a, t + DECISION_HANDOFF_BATCH_MS, W, H, REACH_NEVER);
	/* B's container came: both go together, once the newest is settled. */
	batch_at(&both, t + 1000, H, H, NOW + DECISION_HANDOFF_SETTLE_MS - 500);
	batch_at(&both, t + 500 + DECISION_HANDOFF_SETTLE_MS, W, W, REACH_NEVER);
	/* A container of B older than its bridge is not W1: A still waits. */
	batch_at(&before, t + 1000, H, H, REACH_NEVER);
	/* A creation time in the future (the wall clock stepped back): at once. */
	batch_at(&only_a, t - 1, W, H, REACH_NEVER);
	/* Without container detail (cgroups) there are no times: at once. */
	cgroups.containers_known = false;
	batch_at(&cgroups, t + 1000, W, W, REACH_NEVER);
	local_pods_free(&only_a);
	local_pods_free(&both);
	local_pods_free(&before);
	local_pods_free(&cgroups);
}

/*
 * A stock Node authorizer answers 403 to a node's GET of the kube-system
 * Namespace, so its UID is unknown on both sides; the Service
 * default/kubernetes stands in. Old rule (kube-system UIDs only): never the
 * same cluster, nothing ever collected or timed out, checkpoints pile up
 * after every DaemonSet rollout.
 */
static void test_namespace_forbidden_service_uid_decides(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "ds", "", OK, PA, 0);
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = mkin(&c, 1, true, api(RE), &lp, 10 * GRACE);
	struct decision_result res;

	c.cluster_uid = NULL; /* recorded while the namespace GET was 403 */
	in.cluster_uid = NULL;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_true(res.items[0].drop);
	assert_false(res.other_cluster);
	decision_result_free(&res);
	/* A wiped etcd: the bootstrap controller made the Service anew. */
	in.cluster_service_uid = SVC2;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_true(res.other_cluster);
	decision_result_free(&res);
	/* W4 too: a bridge waits out the hand-off timeout only on the same cluster. */
	c.parent = PP;
	c.confirmed_gone = false;
	c.bridge_written_ms = WRITE;
	in.api.since_ms = in.now_ms - HOT;
	assert_int_equal(one_in(&in).verdict, DECISION_HOLD_HANDOFF);
	in.cluster_service_uid = SVC;
	assert_int_equal(one_in(&in).verdict, DECISION_INACTIVE_HANDOFF_TIMEOUT);
	/* The kube-system UID, known on both sides, outranks an equal Service UID. */
	c.cluster_uid = OTHER;
	in.cluster_uid = CLUSTER;
	assert_int_equal(one_in(&in).verdict, DECISION_HOLD_HANDOFF);
	local_pods_free(&lp);
}

/*
 * Issue 18 defect 3: collection believed any API. Now only the same
 * cluster's quorum read, with this Node present, and no bridge lately.
 * Old code: dropped in every case below.
 */
static void test_defect3_collection_needs_same_cluster_quorum(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "etcd", "", OK, PA, 0);
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in;
	struct decision_result res;

	in = mkin(&c, 1, true, api(RE), &lp, 10 * GRACE);
	/* Other cluster (an etcd bridge on an empty data dir). */
	in.cluster_uid = OTHER;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_true(res.other_cluster);
	decision_result_free(&res);
	/* A checkpoint of an older agent: no cluster recorded, not the same. */
	in.cluster_uid = CLUSTER;
	c.cluster_uid = NULL;
	c.cluster_service_uid = NULL;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	decision_result_free(&res);
	c.cluster_uid = CLUSTER;
	c.cluster_service_uid = SVC;
	/* Gone from the watch only: a quorum read is asked for, nothing dropped. */
	c.confirmed_gone = false;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_true(res.items[0].confirm_parent);
	decision_result_free(&res);
	c.confirmed_gone = true;
	/* The Node is 404 (PodGC deletes its pods): suspended, loudly. */
	in.node = DECISION_NODE_MISSING;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_true(res.node_missing_blocks);
	decision_result_free(&res);
	in.node = DECISION_NODE_UNKNOWN;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_true(res.confirm_node);
	decision_result_free(&res);
	/* A bridge was on disk 5 minutes ago: not yet; at 10 minutes: yes. */
	in.node = DECISION_NODE_PRESENT;
	in.last_bridge_ms = in.now_ms - 5 * 60 * 1000;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_false(res.items[0].drop);
	assert_int_equal(res.next_change_ms, in.last_bridge_ms + DECISION_BRIDGE_QUIET_MS);
	decision_result_free(&res);
	in.now_ms = in.last_bridge_ms + DECISION_BRIDGE_QUIET_MS;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_true(res.items[0].drop);
	decision_result_free(&res);
	local_pods_free(&lp);
}

/*
 * Issue 18 defect 4: 401/403 for the window activates (the kubelet, with
 * the same identity, cannot get its pods). Old code: never activated.
 */
static void test_defect4_refused_activates(void **state)
{
	struct reachability r;
	int64_t t;

	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	for (t = RA; t <= RA + UA; t += 5000)
		reachability_on_auth_error(&r, t);
	assert_int_equal(reachability_state(&r, RA + UA), REACH_REFUSED);
	assert_int_equal(verdict_at(&r, RA + UA, NULL), DECISION_ACTIVE);
}

/*
 * Issue 18 defect 5: what counts is the parent's containers, not a sandbox.
 * Exited containers from before the bridge (an orphaned sandbox after a
 * kubelet restart) neither block nor withdraw it; a container created after
 * the bridge, in any state, withdraws it. Old code: the new exited container
 * left the bridge active.
 */
static void test_defect5_only_containers_after_the_bridge_count(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "agent", "", OK, PP, 0);
	struct local_pods old = parent_entry(false, WRITE - 60000);
	struct local_pods fresh = parent_entry(false, WRITE + 1);
	struct local_pods cgroups = local_set(K, NULL);
	struct local_pod p = local_pod_blank(UID_A);

	c.bridge_written_ms = WRITE;
	assert_int_equal(one(&c, &old, api(UR), 1000, NULL).verdict, DECISION_ACTIVE);
	assert_int_equal(one(&c, &fresh, api(UR), 1000, NULL).verdict,
	                 DECISION_INACTIVE_HANDED_OFF);
	/* cgroups only: the parent's entry appearing counts. */
	assert_int_equal(local_pods_add(&cgroups, &p, NULL), KC_OK);
	assert_int_equal(one(&c, &cgroups, api(UR), 1000, NULL).verdict,
	                 DECISION_INACTIVE_HANDED_OFF);
	/* Not on disk: an old exited container does not stop an activation. */
	c.bridge_written_ms = -1;
	assert_int_equal(one(&c, &old, api(UR), 1000, NULL).verdict, DECISION_ACTIVE);
	local_pods_free(&old);
	local_pods_free(&fresh);
	local_pods_free(&cgroups);
}

/*
 * Issue 18 defect 6: a host-port bridge left from before the reboot goes at
 * the first real answer, also while the state is still unknown at start.
 * Old code: held (answered existed only while unreachable).
 */
static void test_defect6_host_port_bridge_at_start(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "default", "svclb", "", OK, PU, 0);
	struct local_pods lp = local_set(K, NULL);
	struct reachability r;

	c.host_ports = true;
	c.bridge_written_ms = WRITE;
	reachability_init(&r, 0, UA, RA);
	reachability_on_failure(&r, 100);
	assert_int_equal(one(&c, &lp, reachability_view(&r, 500), 500, NULL).verdict,
	                 DECISION_HOLD_API_UNKNOWN);
	reachability_on_success(&r, 1000);
	assert_int_equal(one(&c, &lp, reachability_view(&r, 1000), 1000, NULL).verdict,
	                 DECISION_INACTIVE_API_ANSWERED);
	local_pods_free(&lp);
}

/*
 * Issue 19 finding 2: an agent restarted with the API up, still in its
 * start-up spread (no request sent), never activates. Old code: ACTIVE
 * unreachable_after after start.
 */
static void test_finding2_restart_is_no_outage(void **state)
{
	struct reachability r;

	reachability_init(&r, 0, UA, RA);
	assert_int_equal(verdict_at(&r, UA, NULL), DECISION_HOLD_API_UNKNOWN);
	assert_int_equal(verdict_at(&r, 3 * UA, NULL), DECISION_HOLD_API_UNKNOWN);
}

/*
 * Issue 19 finding 3: a parent the API last showed gone (deleted, opted out,
 * finished, terminating) is never bridged, even before gc-grace ran out and
 * before any quorum read; a DaemonSet rollout's old pod is shadowed by the
 * new one. Old code: both activated.
 */
static void test_finding3_gone_parent_never_bridged(void **state)
{
	struct decision_checkpoint c[2];
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in;
	struct decision_result res;

	c[0] = ckpt(UID_A, "kube-system", "deleted", "", OK, PA, 900);
	c[0].confirmed_gone = false;
	assert_int_equal(one(&c[0], &lp, api(UR), 1000, NULL).verdict,
	                 DECISION_INACTIVE_PARENT_ABSENT);
	/* Its bridge already on disk stays until the same cluster confirms. */
	c[0].bridge_written_ms = WRITE;
	assert_int_equal(one(&c[0], &lp, api(UR), 1000, NULL).verdict, DECISION_HOLD_PARENT_ABSENT);
	c[0].confirmed_gone = true;
	assert_int_equal(one(&c[0], &lp, api(UR), 1000, NULL).verdict,
	                 DECISION_INACTIVE_CONFIRMED_GONE);
	/* DaemonSet rollout: old pod ds-aaaaa, new pod ds-bbbbb, one owner. */
	c[0] = ckpt(UID_A, "kube-system", "ds-aaaaa", "2026-01-01T00:00:00Z", OK, PU, 0);
	c[1] = ckpt(UID_B, "kube-system", "ds-bbbbb", "2026-02-01T00:00:00Z", OK, PU, 0);
	c[0].owner_ds_uid = c[1].owner_ds_uid = "cccccccc-0000-4000-8000-000000000003";
	in = mkin(c, 2, true, api(UR), &lp, 1000);
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_SHADOWED);
	assert_int_equal(res.items[1].verdict, DECISION_ACTIVE);
	decision_result_free(&res);
	/* ReplicaSet pods (no DaemonSet owner) are two replicas: both bridged. */
	c[0].owner_ds_uid = c[1].owner_ds_uid = NULL;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	assert_int_equal(res.nactive, 2);
	decision_result_free(&res);
	local_pods_free(&lp);
}

/*
 * The hand-off watchdog: after W1, no re-activation until 120 s; then,
 * if the parent did not run 30 s and the kubelet still cannot get its pods,
 * ACTIVE with watchdog_fired; between re-activations 2, 4, 8 ... 30 min.
 */
static void test_handoff_watchdog(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "kube-apiserver", "", OK, PP, 0);
	struct local_pods lp = local_set(K, NULL);
	struct decision_result res;
	struct decision_item it;
	int64_t t0 = 1000000;

	lp.containers_known = true;
	c.handed_off_ms = t0;
	it = one(&c, &lp, api(UR), t0 + HANDOFF_WATCH_MS - 1, &res);
	assert_int_equal(it.verdict, DECISION_INACTIVE_HANDED_OFF);
	assert_int_equal(res.next_change_ms, t0 + HANDOFF_WATCH_MS);
	decision_result_free(&res);
	/* Due, but the kubelet can get its pods: still waiting. */
	it = one(&c, &lp, api(RE), t0 + HANDOFF_WATCH_MS, NULL);
	assert_int_equal(it.verdict, DECISION_INACTIVE_HANDED_OFF);
	assert_false(it.watchdog_fired);
	it = one(&c, &lp, api(UR), t0 + HANDOFF_WATCH_MS, NULL);
	assert_int_equal(it.verdict, DECISION_ACTIVE);
	assert_true(it.watchdog_fired);
	/* Fired twice, last at t1: the next one waits 4 min, not 2. */
	c.watchdog_fires = 2;
	c.watchdog_last_ms = t0;
	c.handed_off_ms = t0 + 10000;
	it = one(&c, &lp, api(UR), t0 + 4 * 60000 - 1, NULL);
	assert_int_equal(it.verdict, DECISION_INACTIVE_HANDED_OFF);
	it = one(&c, &lp, api(UR), t0 + 4 * 60000, NULL);
	assert_true(it.watchdog_fired);
	assert_int_equal(decision_watchdog_backoff_ms(1), 2 * 60000);
	assert_int_equal(decision_watchdog_backoff_ms(3), 8 * 60000);
	assert_int_equal(decision_watchdog_backoff_ms(5), 30 * 60000);
	assert_int_equal(decision_watchdog_backoff_ms(40), 30 * 60000);
	/* The parent ran 30 s without a break: the hand-off is done. */
	c.parent_run_ms = HANDOFF_RUN_MS;
	it = one(&c, &lp, api(UR), t0 + 30000, NULL);
	assert_true(it.handoff_done);
	local_pods_free(&lp);
}

/*
 * W4: the same cluster's API reachable for --handoff-timeout and the parent
 * never got a container: withdrawn (warn). Another cluster's API: kept.
 */
static void test_handoff_timeout(void **state)
{
	struct decision_checkpoint c = ckpt(UID_A, "kube-system", "agent", "", OK, PP, 0);
	struct local_pods lp = local_set(K, NULL);
	struct reach_view v = api(RE);
	struct decision_result res;
	struct decision_item it;

	c.bridge_written_ms = WRITE;
	v.since_ms = 1000;
	it = one(&c, &lp, v, 1000 + HOT - 1, &res);
	assert_int_equal(it.verdict, DECISION_HOLD_HANDOFF);
	assert_int_equal(res.next_change_ms, 1000 + HOT);
	decision_result_free(&res);
	it = one(&c, &lp, v, 1000 + HOT, NULL);
	assert_int_equal(it.verdict, DECISION_INACTIVE_HANDOFF_TIMEOUT);
	assert_true(it.handoff_timed_out);
	c.cluster_uid = OTHER;
	it = one(&c, &lp, v, 1000 + 100 * HOT, NULL);
	assert_int_equal(it.verdict, DECISION_HOLD_HANDOFF);
	local_pods_free(&lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_all_combinations),
	    cmocka_unit_test(test_group_winner),
	    cmocka_unit_test(test_group_order_independent),
	    cmocka_unit_test(test_random_sets),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_scenario_never_reached_since_start),
	    cmocka_unit_test(test_scenario_unreachable_shorter_and_longer_than_window),
	    cmocka_unit_test(test_scenario_flapping_and_auth_never_activate),
	    cmocka_unit_test(test_scenario_restart_during_outage),
	    cmocka_unit_test(test_handoff_rows),
	    cmocka_unit_test(test_handoff_host_ports_at_first_contact),
	    cmocka_unit_test(test_handoff_flapping_one_restart_per_outage),
	    cmocka_unit_test(test_defect1_bridged_api_answering_keeps_bridge),
	    cmocka_unit_test(test_defect2_ready_sandbox_keeps_bridge),
	    cmocka_unit_test(test_w1_batch),
	    cmocka_unit_test(test_defect3_collection_needs_same_cluster_quorum),
	    cmocka_unit_test(test_namespace_forbidden_service_uid_decides),
	    cmocka_unit_test(test_defect4_refused_activates),
	    cmocka_unit_test(test_defect5_only_containers_after_the_bridge_count),
	    cmocka_unit_test(test_defect6_host_port_bridge_at_start),
	    cmocka_unit_test(test_finding2_restart_is_no_outage),
	    cmocka_unit_test(test_finding3_gone_parent_never_bridged),
	    cmocka_unit_test(test_handoff_watchdog),
	    cmocka_unit_test(test_handoff_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
