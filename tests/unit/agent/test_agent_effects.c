/*
 * test_agent_effects.c: one pass (agent_pass) against a temp staticPodPath,
 * state dir, flag file and pod-cgroup tree, with a parent checkpointed
 * through agent_sync's callbacks. While the API is unreachable and the parent
 * does not run, the pass writes its bridge manifest; without the flag file,
 * or once the API is reachable again, it withdraws it; a file with our prefix
 * that is not ours is left alone; a pass that changes nothing touches nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_fixture.h"

#define MANIFEST AF_MANIFEST
#define FOREIGN  KC_MANIFEST_PREFIX "kube-system_lookalike" KC_MANIFEST_SUFFIX

static bool in_static(const struct agent_fixture *f, const char *name)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->static_dir, name);
	return stat(path, &st) == 0;
}

/* Past the unreachable window: the API was never reached since t0. */
static int64_t outage(const struct agent_fixture *f)
{
	return f->t0 + 31000;
}

static void test_activate_in_outage(void **state)
{
	struct agent_fixture *f = *state;

	agent_pass(&f->a, f->t0 + 1000); /* still inside the window */
	assert_false(in_static(f, MANIFEST));
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(f->a.activations, 1);
	assert_int_equal(f->a.nactive, 1);
	assert_string_equal(f->a.bridge_files[0], MANIFEST);
	/* In an outage the pass comes back each second to follow the local pods. */
	assert_true(f->a.next_pass_ms <= outage(f) + 1000);
	/* Nothing changed: the next pass writes nothing again. */
	agent_pass(&f->a, outage(f) + 1000);
	assert_int_equal(f->a.activations, 1);
	assert_true(in_static(f, MANIFEST));
}

/*
 * Fresh bridges may serve the API themselves (a self-hosted control plane):
 * the API is asked every second for two minutes after an activation, so
 * the agent knows the bridged API, and the bridges' mirror pods, before the
 * kubelet hands the parents over; then the outage pace resumes.
 */
static void test_fresh_bridge_asks_every_second(void **state)
{
	struct agent_fixture *f = *state;
	int64_t written;

	agent_pass(&f->a, f->t0 + 1000); /* still inside the window */
	assert_false(f->a.awaiting_api_answer);
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	written = f->a.last_activation_ms;
	assert_true(written >= f->t0);
	assert_true(f->a.awaiting_api_answer);
	assert_true(f->a.next_pass_ms <= written + 120000);
	agent_pass(&f->a, written + 119000);
	assert_true(f->a.awaiting_api_answer);
	agent_pass(&f->a, written + 120000);
	assert_false(f->a.awaiting_api_answer);
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(f->a.activations, 1);
}

static void test_flag_off_withdraws(void **state)
{
	struct agent_fixture *f = *state;

	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	unlink(f->flag);
	agent_pass(&f->a, outage(f) + 1000);
	assert_false(in_static(f, MANIFEST));
	assert_int_equal(f->a.withdrawals, 1);
	assert_int_equal(f->a.nactive, 0);
}

/*
 * The API's answer alone withdraws nothing (it may be served by the bridge,
 * issue 18 defect 1); the parent's pod cgroup appearing does, and starts
 * the hand-off.
 */
static void test_api_back_keeps_bridge_until_parent_runs(void **state)
{
	struct agent_fixture *f = *state;
	char pod[700];
	int64_t t;

	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	/* Answers for longer than reachableAfter (15 s). */
	for (t = outage(f); t <= outage(f) + 16000; t += 1000)
		reachability_on_success(&f->a.reach, t);
	agent_pass(&f->a, outage(f) + 16000);
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(f->a.withdrawals, 0);
	snprintf(pod, sizeof(pod), "%s/kubelet/kubepods/pod%s", f->cgroup, TP_UID);
	assert_int_equal(mkdir(pod, 0755), 0);
	agent_pass(&f->a, outage(f) + 17000);
	assert_false(in_static(f, MANIFEST));
	assert_int_equal(f->a.withdrawals, 1);
	assert_true(parent_table_find(&f->a.parents, TP_UID)->handed_off_ms >= 0);
	rmdir(pod);
}

/*
 * Hand-off records unknown (a broken handoff.json): the checkpoint counts as
 * handed off at the load, so no activation before the watchdog's wait; then
 * the watchdog activates it. A real hand-off (W1) replaces the assumed one.
 */
static void test_broken_records_wait_for_the_watchdog(void **state)
{
	struct agent_fixture *f = *state;
	struct parent_rec *r;
	char path[1024], pod[700], *text;
	struct stat before, after;
	int64_t loaded, due;

	snprintf(path, sizeof(path), "%s/" HANDOFF_FILE_NAME, f->state);
	tu_write_file(path, "{\"version\": 1", 13, 0600);
	loaded = kc_clock_ms();
	agent_handoffs_load(&f->a);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_true(r->handed_off_ms >= loaded && r->handoff_assumed);
	assert_non_null(strstr(f->a.last_error.msg, "handoff.json: not JSON"));
	assert_true(f->a.bridge_seen); /* the quiet clock starts at the load */
	agent_pass(&f->a, outage(f));
	assert_false(in_static(f, MANIFEST));
	due = r->handed_off_ms + HANDOFF_WATCH_MS;
	agent_pass(&f->a, due);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(r->watchdog_fires, 1);
	assert_false(r->handoff_assumed);
	/* The broken file was replaced by what holds now. */
	assert_non_null(text = tu_read_file(path, NULL));
	assert_non_null(strstr(text, "\"watchdogFires\": 1"));
	free(text);
	/* Passes that change nothing write nothing (a new write is a new inode). */
	assert_int_equal(stat(path, &before), 0);
	agent_pass(&f->a, due + 1000);
	agent_pass(&f->a, due + 2000);
	assert_true(in_static(f, MANIFEST));
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);

	/* Unknown again, with the bridge on disk: it stays; then a real hand-off. */
	tu_write_file(path, "[]", 2, 0600);
	agent_handoffs_load(&f->a);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_true(r->handoff_assumed);
	agent_pass(&f->a, outage(f) + 200000);
	assert_true(in_static(f, MANIFEST));
	snprintf(pod, sizeof(pod), "%s/kubelet/kubepods/pod%s", f->cgroup, TP_UID);
	assert_int_equal(mkdir(pod, 0755), 0);
	agent_pass(&f->a, outage(f) + 201000);
	r = parent_table_find(&f->a.parents, TP_UID);
	assert_false(in_static(f, MANIFEST));
	assert_int_equal(r->handed_off_ms, outage(f) + 201000);
	assert_false(r->handoff_assumed);
	rmdir(pod);
}

/*
 * No records file, or one of another boot: no hand-off carries over, and with
 * checkpoints on disk the quiet clock starts at the load (a bridge may have
 * run just before). Without checkpoints nothing could have been bridged.
 */
static void test_no_records_of_this_boot(void **state)
{
	static const char other_boot[] =
	    "{\"version\": 1, \"bootID\": \"11111111-2222-4333-8444-555555555555\", "
	    "\"bridgeOn\": false, \"lastBridgeMs\": 5, \"handoffs\": {\"" TP_UID "\": "
	    "{\"handedOffMs\": 5, \"watchdogFires\": 0, \"watchdogLastMs\": -1, \"since\": 0, "
	    "\"timedOut\": false}}}";
	struct agent_fixture *f = *state;
	char path[1024];
	int64_t loaded = kc_clock_ms();

	agent_handoffs_load(&f->a);
	assert_true(f->a.bridge_seen && f->a.last_bridge_ms >= loaded);
	assert_int_equal(parent_table_find(&f->a.parents, TP_UID)->handed_off_ms, -1);
	f->a.bridge_seen = false;
	snprintf(path, sizeof(path), "%s/" HANDOFF_FILE_NAME, f->state);
	tu_write_file(path, other_boot, sizeof(other_boot) - 1, 0600);
	agent_handoffs_load(&f->a);
	assert_true(f->a.bridge_seen && f->a.last_bridge_ms >= loaded);
	assert_int_equal(parent_table_find(&f->a.parents, TP_UID)->handed_off_ms, -1);
	assert_int_equal(f->a.last_error.code, KC_OK);
	/* The next pass writes this boot's file over it. */
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, MANIFEST));
	{
		char *text = tu_read_file(path, NULL);

		assert_non_null(text);
		assert_null(strstr(text, "11111111-2222"));
		assert_non_null(strstr(text, "\"bridgeOn\": true"));
		free(text);
	}
}

static void test_no_checkpoints_no_quiet(void **state)
{
	struct agent_fixture *f = *state;

	agent_handoffs_load(&f->a);
	assert_false(f->a.bridge_seen);
}

static void test_foreign_file_left_alone(void **state)
{
	struct agent_fixture *f = *state;
	static const char foreign[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n";
	char path[1024];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", f->static_dir, FOREIGN);
	tu_write_file(path, foreign, strlen(foreign), 0600);
	unlink(f->flag); /* a pass that withdraws everything of ours */
	agent_pass(&f->a, outage(f));
	assert_true(in_static(f, FOREIGN));
	text = tu_read_file(path, NULL);
	assert_string_equal(text, foreign);
	free(text);
	assert_int_equal(json_array_size(f->a.ignored_logged), 1);
	assert_string_equal(json_string_value(json_array_get(f->a.ignored_logged, 0)), FOREIGN);
	agent_pass(&f->a, outage(f) + 1000); /* said once */
	assert_int_equal(json_array_size(f->a.ignored_logged), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_activate_in_outage, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_fresh_bridge_asks_every_second,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_flag_off_withdraws, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_api_back_keeps_bridge_until_parent_runs,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_broken_records_wait_for_the_watchdog,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_no_records_of_this_boot, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test_setup_teardown(test_no_checkpoints_no_quiet, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_file_left_alone, af_setup_checkpointed,
	                                    af_teardown),
	};

	return af_run("test_agent_effects", tests, sizeof(tests) / sizeof(tests[0]));
}
