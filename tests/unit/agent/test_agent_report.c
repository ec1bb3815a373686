/*
 * test_agent_report.c: after a pass, agent_report tells the world what the
 * agent holds: the status file names each checkpoint with its state and
 * whether its bridge is on disk, the API state and the bridge manifests; the
 * metrics file counts the same. A bridge the container runtime cannot be
 * asked about says why in status (agent_bridge_run_reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_fixture.h"

static json_t *read_json(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);

	if (doc == NULL)
		fail_msg("%s: %s", path, e.text);
	return doc;
}

static void test_status_and_metrics_after_activation(void **state)
{
	struct agent_fixture *f = *state;
	char status[600], metrics[600];
	json_t *doc, *ck;
	char *prom;

	af_path(f, status, sizeof(status), "status.json");
	af_path(f, metrics, sizeof(metrics), "kubelet_checkpoint.prom");
	f->cfg.status_file = status;
	f->cfg.metrics_file = metrics;
	agent_pass(&f->a, f->t0 + 31000); /* the API never answered: outage, bridge written */
	agent_report(&f->a);

	doc = read_json(status);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "api"), "state")),
	    "unreachable");
	assert_true(json_is_true(json_object_get(json_object_get(doc, "flag"), "enabled")));
	assert_int_equal(json_array_size(json_object_get(doc, "checkpoints")), 1);
	ck = json_array_get(json_object_get(doc, "checkpoints"), 0);
	assert_string_equal(json_string_value(json_object_get(ck, "uid")), TP_UID);
	assert_string_equal(json_string_value(json_object_get(ck, "state")), "ok");
	assert_true(json_is_true(json_object_get(ck, "active")));
	assert_int_equal(json_array_size(json_object_get(doc, "bridgeManifests")), 1);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(doc, "bridgeManifests"), 0)),
	    AF_MANIFEST);
	json_decref(doc);

	prom = tu_read_file(metrics, NULL);
	assert_non_null(prom);
	assert_non_null(strstr(prom, "kubelet_checkpoint_bridge_manifests_active 1\n"));
	assert_non_null(strstr(prom, "kubelet_checkpoint_activations_total 1\n"));
	free(prom);
}

static void test_without_bridge(void **state)
{
	struct agent_fixture *f = *state;
	char status[600];
	json_t *doc, *ck;

	af_path(f, status, sizeof(status), "status.json");
	f->cfg.status_file = status;
	agent_pass(&f->a, f->t0 + 1000); /* inside the window: nothing written */
	agent_report(&f->a);
	doc = read_json(status);
	ck = json_array_get(json_object_get(doc, "checkpoints"), 0);
	assert_false(json_is_true(json_object_get(ck, "active")));
	assert_int_equal(json_array_size(json_object_get(doc, "bridgeManifests")), 0);
	json_decref(doc);
}

static void test_run_reasons(void **state)
{
	assert_non_null(strstr(agent_bridge_run_reason(BRIDGE_RUN_NOT_RUNNING), "kubelet log"));
	assert_non_null(strstr(agent_bridge_run_reason(BRIDGE_RUN_UNKNOWN), "container runtime"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_status_and_metrics_after_activation,
	                                    af_setup_checkpointed, af_teardown),
	    cmocka_unit_test_setup_teardown(test_without_bridge, af_setup_checkpointed,
	                                    af_teardown),
	    cmocka_unit_test(test_run_reasons),
	};

	return af_run("test_agent_report", tests, sizeof(tests) / sizeof(tests[0]));
}
