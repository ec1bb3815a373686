/*
 * test_decision.c: the decision table (docs/design.md §6), row by row, then
 * property loops over every combination of its inputs, groups (two UIDs of
 * one workload), GC timing, and whole-scenario runs through the reachability
 * tracker (never reached since start, flapping API, 401/403, restart during
 * an outage) and the hand-off (host-port bridges withdrawn at the first API
 * success, one restart per outage however the API flaps; a parent sandbox
 * withdraws at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decision.h"
#include "testutil.h"

#define UA    30000
#define RA    15000
#define GRACE 60000

#define UID_A "0f0e0d0c-0b0a-4909-8807-060504030201"
#define UID_B "1f0e0d0c-0b0a-4909-8807-060504030201"
#define UID_C "2f0e0d0c-0b0a-4909-8807-060504030201"

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
	struct decision_checkpoint c = {uid, ns, name, created, st, parent, absent_since, false};

	return c;
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
#define NV REACH_NEVER

static const struct row rows[] = {
    {"all conditions met", true, UR, K, NULL, OK, PP, 0, 100000, DECISION_ACTIVE, false, NV},
    {"parent gone, unreachable", true, UR, K, NULL, OK, PA, 0, 900000, DECISION_ACTIVE, false, NV},
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
     DECISION_INACTIVE_API_REACHABLE, false, 1000 + GRACE},
    {"gc: gone, at grace", true, RE, K, NULL, OK, PA, 1000, 1000 + GRACE,
     DECISION_INACTIVE_API_REACHABLE, true, NV},
    {"gc: gone, flag off", false, RE, K, NULL, OK, PA, 1000, 1000 + GRACE,
     DECISION_INACTIVE_FLAG_OFF, true, NV},
    {"gc: never while unreachable", true, UR, K, NULL, OK, PA, 0, 100 * GRACE, DECISION_ACTIVE,
     false, NV},
    {"gc: never while api unknown", true, UN, K, NULL, OK, PA, 0, 100 * GRACE,
     DECISION_HOLD_API_UNKNOWN, false, NV},
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
	struct decision_input in = {&c, 1, r->flag, api(r->api), &lp, GRACE, r->now};
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

/* Every combination of one checkpoint's inputs, checked against the rule. */
static void check_combination(bool flag, enum reach_state apist, bool answered, bool known,
                              bool run, enum decision_ckpt_state st, enum decision_parent parent,
                              int64_t absent, bool host_ports)
{
	struct decision_checkpoint c = ckpt(UID_A, "ns", "n", "", st, parent, absent);
	struct local_pods lp = local_set(known ? K : U, run ? UID_A : NULL);
	struct decision_input in = {&c, 1, flag, api(apist), &lp, GRACE, 100000};
	struct decision_result res;
	bool running = known && run, handed_off = host_ports && answered;
	bool active, keeps, drop;

	c.host_ports = host_ports;
	in.api.answered = answered;
	assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
	active = res.items[0].verdict == DECISION_ACTIVE;
	keeps = decision_keeps_manifest(res.items[0].verdict);
	drop = res.items[0].drop;
	/* THE rule, with the hand-off of host-port bridges. */
	assert_int_equal(active,
	                 flag && apist == UR && known && !running && st == OK && !handed_off);
	/* Nothing is ever kept when it could run twice, must not run, or blocks
	 * the returning parent's host ports. */
	if (keeps)
		assert_true(flag && apist != RE && !running && st == OK && !handed_off);
	if (handed_off && flag && st == OK && !running)
		assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_API_ANSWERED);
	/* The API is asked often exactly while a kept bridge blocks host ports. */
	assert_int_equal(res.awaits_api_answer, keeps && host_ports);
	/* GC only while reachable, parent absent for the whole grace, never corrupt. */
	assert_int_equal(drop, apist == RE && parent == PA && st != CO && 100000 - absent >= GRACE);
	assert_true(res.next_change_ms > 100000);
	decision_result_free(&res);
	local_pods_free(&lp);
}

static void test_all_combinations(void **state)
{
	static const enum reach_state apis[] = {UN, RE, UR};
	static const enum decision_ckpt_state states[] = {OK, CO, NC};
	static const enum decision_parent parents[] = {PU, PP, PA};
	static const int64_t absents[] = {0, 50000, 100000}; /* now = 100000 */
	int flag, a, ans, lk, run, s, p, ab, hp;

	for (flag = 0; flag < 2; flag++)
		for (a = 0; a < 3; a++)
			/* answered exists only while unreachable (reachability.h) */
			for (ans = 0; ans < (apis[a] == UR ? 2 : 1); ans++)
				for (lk = 0; lk < 2; lk++)
					for (run = 0; run < 2; run++)
						for (s = 0; s < 3; s++)
							for (p = 0; p < 3; p++)
								for (ab = 0; ab < 3; ab++)
									for (hp = 0; hp < 2; hp++)
										check_combination(
										    flag, apis[a],
										    ans, lk, run,
										    states[s],
										    parents[p],
										    absents[ab],
										    hp);
}

static void test_group_winner(void **state)
{
	struct decision_checkpoint c[3];
	struct local_pods lp = local_set(K, NULL);
	struct decision_input in = {c, 3, true, api(UR), &lp, GRACE, 1};
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
	struct decision_input in = {c, 3, true, api(UR), &lp, GRACE, 1};
	struct decision_result res;
	int p, i, parent_mask;

	for (parent_mask = 0; parent_mask < 8; parent_mask++)
		for (p = 0; p < 6; p++) {
			const char *winner = NULL;

			for (i = 0; i < 3; i++) {
				int k = perms[p][i];

				c[i] = ckpt(uids[k], "ns", "same", times[k], OK,
				            (parent_mask >> k) & 1 ? PP : PA, 0);
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

/*
 * Random sets of checkpoints over few workloads: at most one item keeps any
 * manifest file, nothing is kept for a workload with a UID running here,
 * and every verdict is independent of the input order.
 */
static void test_random_sets(void **state)
{
	static const char *const nss[] = {"kube-system", "monitoring"};
	static const char *const names[] = {"a", "b", "c"};
	static const char *const times[] = {"", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"};
	static const enum reach_state apis[] = {UN, RE, UR};
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
		struct decision_input in = {
		    c,     n,     next_rand(&seed) % 4 != 0, api(apis[next_rand(&seed) % 3]), &lp,
		    GRACE, 100000};

		local_pods_reset(&lp);
		for (i = 0; i < n; i++) {
			snprintf(uids[i], sizeof(uids[i]), "%08x-0000-4000-8000-%012zx",
			         next_rand(&seed) % 4, i);
			c[i] = ckpt(uids[i], nss[next_rand(&seed) % 2], names[next_rand(&seed) % 3],
			            times[next_rand(&seed) % 3],
			            (enum decision_ckpt_state)(next_rand(&seed) % 3),
			            (enum decision_parent)(next_rand(&seed) % 3),
			            (int64_t)(next_rand(&seed) % 100000));
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
				if (j == i || strcmp(c[j].namespace, c[i].namespace) != 0 ||
				    strcmp(c[j].name, c[i].name) != 0)
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
	struct decision_input in = {&c, 1, true, api(UR), &lp, GRACE, 1};
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
	struct decision_input in = {&c, 1, true, reachability_view(r, now), &lp, GRACE, now};
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
	reachability_init(&r, 0, UA, RA);
	reachability_on_success(&r, 0);
	for (t = RA; t < 3600 * 1000; t += 7000) {
		reachability_on_auth_error(&r, t);
		assert_int_equal(verdict_at(&r, t + 6999, NULL), DECISION_INACTIVE_API_REACHABLE);
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
	struct decision_input in = {c, 2, true, reachability_view(r, now), &lp, GRACE, now};
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
	struct decision_input in = {c, 2, true, reachability_view(r, now), &lp, GRACE, now};
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
		struct decision_input in = {&c, 1, rows_h[i].flag, api_answered(), &lp, GRACE, 1};
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
		struct decision_input in = {
		    &c, 1, true, reachability_view(&r, back + 1000), &lp, GRACE, back + 1000};
		struct decision_result res;

		assert_int_equal(decision_compute(&in, &res, NULL), KC_OK);
		assert_int_equal(res.items[0].verdict, DECISION_INACTIVE_RUNNING_LOCALLY);
		decision_result_free(&res);
		local_pods_free(&lp);
	}
	/* And everything once reachable_after has passed. */
	verdicts_at(&r, back + RA, false, &hp, &plain);
	assert_int_equal(hp, DECISION_INACTIVE_API_REACHABLE);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
