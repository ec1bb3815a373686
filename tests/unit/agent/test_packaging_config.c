/*
 * test_packaging_config.c: the conffile the package ships
 * (packaging/config.yaml) names every setting of `run`, and its commented
 * values are the defaults: the file as shipped configures nothing, and with
 * every key uncommented it loads to the same settings, all "from config file".
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "kc_names.h"
#include "testutil.h"

static char *shipped(void)
{
	char *text = tu_read_file(KC_SOURCE_DIR "/packaging/config.yaml", NULL);

	assert_non_null(text);
	return text;
}

/* True for "#someKey:" - a commented setting, not a line of prose. */
static int is_commented_key(const char *line)
{
	const char *p = line + 1;

	if (line[0] != '#' || *p < 'a' || *p > 'z')
		return 0;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
		p++;
	return *p == ':';
}

/* "#key: v" -> "key: v" and "#  - item" -> "  - item"; prose stays commented. */
static char *uncomment_settings(const char *text)
{
	char *out = calloc(1, strlen(text) + 1), *o = out;
	const char *line = text;

	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line + 1) : strlen(line);
		size_t skip = is_commented_key(line) || strncmp(line, "#  - ", 5) == 0;

		memcpy(o, line + skip, len - skip);
		o += len - skip;
		line += len;
	}
	return out;
}

static struct agent_config *load(const char *dir, const char *text)
{
	char path[PATH_MAX];
	char *argv[] = {"run", "--config", path, NULL};
	struct agent_env env = {.proc_root = dir, .hostname = "packaging-test"};
	struct agent_config *cfg = NULL;
	struct kc_error err;

	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	tu_write_file(path, text, strlen(text), 0644);
	if (agent_config_load(3, argv, &env, &cfg, &err) != KC_OK)
		fail_msg("config.yaml: %s", err.msg);
	return cfg;
}

static void test_every_setting_is_in_the_file(void **state)
{
	char *text = shipped(), want[128];
	int i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++) {
		snprintf(want, sizeof(want), "\n#%s:", agent_setting_key((enum agent_setting)i));
		if (strstr(text, want) == NULL)
			fail_msg("packaging/config.yaml lacks the key %s", want + 2);
	}
	free(text);
}

static void test_shipped_file_configures_nothing(void **state)
{
	char *dir = tu_mkdtemp(), *text = shipped();
	struct agent_config *cfg = load(dir, text);
	int i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		assert_int_not_equal(cfg->source[i], AGENT_SRC_CONFIG_FILE);
	agent_config_free(cfg);
	free(text);
	tu_rmrf(dir);
	free(dir);
}

static void test_uncommented_values_are_the_defaults(void **state)
{
	char *dir = tu_mkdtemp(), *text = shipped(), *active = uncomment_settings(text);
	struct agent_config *cfg = load(dir, active);
	int i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		if (cfg->source[i] != AGENT_SRC_CONFIG_FILE)
			fail_msg("%s: not set by the uncommented file",
			         agent_setting_key((enum agent_setting)i));
	assert_string_equal(cfg->kubeconfig, AGENT_DEFAULT_KUBECONFIG);
	assert_string_equal(cfg->kubelet_config, AGENT_DEFAULT_KUBELET_CONFIG);
	assert_string_equal(cfg->static_pod_path, AGENT_DEFAULT_STATIC_POD_PATH);
	assert_string_equal(cfg->state_dir, KC_DEFAULT_STATE_DIR);
	assert_string_equal(cfg->flag_file, AGENT_DEFAULT_FLAG_FILE);
	assert_string_equal(cfg->cgroup_root, AGENT_DEFAULT_CGROUP_ROOT);
	assert_string_equal(cfg->container_runtime_endpoint, AGENT_DEFAULT_RUNTIME_ENDPOINT);
	assert_string_equal(cfg->status_file, AGENT_DEFAULT_STATUS_FILE);
	assert_int_equal(cfg->unreachable_after, AGENT_DEFAULT_UNREACHABLE_AFTER);
	assert_int_equal(cfg->reachable_after, AGENT_DEFAULT_REACHABLE_AFTER);
	assert_int_equal(cfg->gc_grace, AGENT_DEFAULT_GC_GRACE);
	assert_int_equal(cfg->bridge_start_timeout, AGENT_DEFAULT_BRIDGE_START);
	assert_int_equal(cfg->bridge_grace_period, AGENT_DEFAULT_BRIDGE_GRACE);
	assert_int_equal(cfg->annotations.len, 1);
	assert_string_equal(cfg->annotations.items[0], KC_DEFAULT_TRIGGER_ANNOTATION);
	assert_int_equal(cfg->namespaces.len, 1);
	assert_string_equal(cfg->namespaces.items[0], AGENT_DEFAULT_NAMESPACE);
	assert_int_equal(cfg->verbosity, 0);
	/* The two without a static default show an example instead. */
	assert_string_equal(cfg->node_name, "worker-1");
	assert_non_null(strstr(cfg->metrics_file, ".prom"));
	agent_config_free(cfg);
	free(active);
	free(text);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_setting_is_in_the_file),
	    cmocka_unit_test(test_shipped_file_configures_nothing),
	    cmocka_unit_test(test_uncommented_values_are_the_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
