/*
 * test_agent_events.c: the Events the agent owes the cluster. They are
 * raised at once (a pod without a name goes on the Node), posted one at a
 * time and only once the API counts as reachable, removed when posted,
 * dropped when refused, retried with back-off when the network fails.
 */
#include <stdio.h>
#include <string.h>

#include "agent_fixture.h"

/*
 * The client is never stepped, so its POST never ends; the test reports the
 * outcome itself (agent_events_posted, as the client's callback would) and
 * takes a new client for the next POST.
 */
static void next_client(struct agent_fixture *f)
{
	struct kc_error err;

	api_client_free(f->a.api);
	if (api_client_new(f->a.kubeconfig, "node-1", &f->cb, &f->a.api, &err) != KC_OK)
		fail_msg("%s", err.msg);
}

static void test_raise_and_post(void **state)
{
	struct agent_fixture *f = *state;
	struct agent *a = &f->a;
	int64_t now = f->t0 + 1000;
	uint64_t id;

	agent_event_pod(a, "kube-system", "etcd", TP_UID, true, "CheckpointBridgeActivated",
	                "bridge %s written", "x");
	agent_event_pod(a, NULL, NULL, "1f3c8a52-6d1e-4b7a-9c2d-1e2f3a4b5c6d", true,
	                "CheckpointCorrupt", "corrupt");
	assert_int_equal(a->ev.queue.n, 2);
	assert_string_equal(a->ev.queue.v[0].kind, "Pod");
	assert_string_equal(a->ev.queue.v[0].message, "bridge x written");
	assert_string_equal(a->ev.queue.v[1].kind, "Node"); /* known only by uid */
	assert_string_equal(a->ev.queue.v[1].name, "node-1");

	/* The API is not known to be reachable: nothing is posted. */
	assert_true(agent_events_turn(a, now) == REACH_NEVER);
	assert_false(a->ev.in_flight);

	a->said.reach = REACH_REACHABLE;
	assert_true(agent_events_turn(a, now) == REACH_NEVER);
	assert_true(a->ev.in_flight);
	id = a->ev.id;
	assert_true(id == a->ev.queue.v[0].id);
	agent_events_turn(a, now); /* one at a time */
	assert_true(a->ev.id == id);

	agent_events_posted(a, id + 100, API_POST_DONE, NULL); /* not the one in flight */
	assert_true(a->ev.in_flight);
	agent_events_posted(a, id, API_POST_DONE, NULL);
	assert_false(a->ev.in_flight);
	assert_int_equal(a->ev.queue.n, 1);
	assert_int_equal(a->ev.queue.posted, 1);

	/* Refused by the API: dropped and counted, never retried. */
	next_client(f);
	agent_events_turn(a, now);
	assert_true(a->ev.in_flight);
	agent_events_posted(a, a->ev.id, API_POST_REJECTED, "403");
	assert_int_equal(a->ev.queue.n, 0);
	assert_int_equal(a->ev.queue.rejected, 1);
	assert_true(agent_events_turn(a, now) == REACH_NEVER);
}

static void test_network_failure_backs_off(void **state)
{
	struct agent_fixture *f = *state;
	struct agent *a = &f->a;
	int64_t now = kc_clock_ms(), first, second;

	a->said.reach = REACH_REACHABLE;
	agent_event_pod(a, "kube-system", "etcd", TP_UID, false, "CheckpointBridgeWithdrawn",
	                "withdrawn");
	agent_events_turn(a, now);
	agent_events_posted(a, a->ev.id, API_POST_FAILED, "connection refused");
	assert_int_equal(a->ev.queue.n, 1); /* kept */
	first = a->ev.retry_ms;
	assert_true(first > now);
	assert_true(agent_events_turn(a, now) == first); /* not before the back-off */
	assert_false(a->ev.in_flight);
	next_client(f);
	agent_events_turn(a, first);
	assert_true(a->ev.in_flight);
	agent_events_posted(a, a->ev.id, API_POST_FAILED, "connection refused");
	second = a->ev.retry_ms;
	assert_true(second - first > first - now - 1000); /* grows */
}

static void test_duration(void **state)
{
	char buf[32];

	agent_event_duration(-5, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	agent_event_duration(59, buf, sizeof(buf));
	assert_string_equal(buf, "59s");
	agent_event_duration(61, buf, sizeof(buf));
	assert_string_equal(buf, "1m01s");
	agent_event_duration(3 * 3600 + 4 * 60 + 5, buf, sizeof(buf));
	assert_string_equal(buf, "3h04m05s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_raise_and_post, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_network_failure_backs_off, af_setup, af_teardown),
	    cmocka_unit_test(test_duration),
	};

	return af_run("test_agent_events", tests, sizeof(tests) / sizeof(tests[0]));
}
