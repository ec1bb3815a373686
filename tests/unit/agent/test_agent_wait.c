/*
 * test_agent_wait.c: what the agent waits for comes in order (a kubelet,
 * its config file, its kubeconfig) and names the missing piece; the waiting
 * state records since when and what for, and ends when nothing is missing.
 */
#include <stdio.h>
#include <string.h>

#include "agent_fixture.h"

static void test_missing_in_order(void **state)
{
	struct agent_fixture *f = *state;
	char detail[512], nope[600];

	assert_int_equal(agent_wait_missing(&f->cfg, detail, sizeof(detail)), AGENT_WAIT_NONE);
	assert_string_equal(detail, "");
	af_path(f, nope, sizeof(nope), "missing.conf");
	f->cfg.kubeconfig = nope;
	assert_int_equal(agent_wait_missing(&f->cfg, detail, sizeof(detail)),
	                 AGENT_WAIT_KUBECONFIG);
	assert_non_null(strstr(detail, nope));
	f->cfg.kubelet_config = "/etc/kubelet/config.yaml";
	f->cfg.kubelet_config_missing = true;
	assert_int_equal(agent_wait_missing(&f->cfg, detail, sizeof(detail)),
	                 AGENT_WAIT_KUBELET_CONFIG);
	assert_non_null(strstr(detail, "/etc/kubelet/config.yaml"));
	f->cfg.kubelet_missing = true;
	assert_int_equal(agent_wait_missing(&f->cfg, detail, sizeof(detail)), AGENT_WAIT_KUBELET);
	assert_non_null(strstr(detail, "kubelet"));
	assert_string_equal(agent_wait_name(AGENT_WAIT_KUBELET), "kubelet");
	assert_string_equal(agent_wait_name(AGENT_WAIT_KUBELET_CONFIG), "kubeletConfig");
	assert_null(agent_wait_name(AGENT_WAIT_NONE));
}

static void test_wait_state(void **state)
{
	struct agent_fixture *f = *state;
	struct agent *a = &f->a;

	agent_wait_set(a, AGENT_WAIT_KUBECONFIG, "kubelet.conf does not exist yet", 1000);
	assert_int_equal(a->wait.what, AGENT_WAIT_KUBECONFIG);
	assert_int_equal(a->wait.since_ms, 1000);
	assert_string_equal(a->wait.detail, "kubelet.conf does not exist yet");
	/* Still the same wait: the start stays, the detail follows, the reminder waits. */
	agent_wait_set(a, AGENT_WAIT_KUBECONFIG, "still missing", 2000);
	assert_int_equal(a->wait.since_ms, 1000);
	assert_int_equal(a->wait.said_ms, 1000);
	assert_string_equal(a->wait.detail, "still missing");
	agent_wait_set(a, AGENT_WAIT_KUBECONFIG, "still missing", 1000 + AGENT_WAIT_REMIND_MS);
	assert_int_equal(a->wait.said_ms, 1000 + AGENT_WAIT_REMIND_MS);
	agent_wait_set(a, AGENT_WAIT_NONE, "", 5000 + AGENT_WAIT_REMIND_MS);
	assert_int_equal(a->wait.what, AGENT_WAIT_NONE);
	assert_null(agent_wait_name(a->wait.what));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_in_order, af_setup, af_teardown),
	    cmocka_unit_test_setup_teardown(test_wait_state, af_setup, af_teardown),
	};

	return af_run("test_agent_wait", tests, sizeof(tests) / sizeof(tests[0]));
}
