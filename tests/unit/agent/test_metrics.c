/*
 * test_metrics.c: the Prometheus text formatter (families, samples, absent
 * values, label escaping and UTF-8 repair), the atomic .prom writer, and
 * `promtool check metrics` on real output.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "testutil.h"

static const struct metrics_snapshot busy = {
    .version = "0.1.0",
    .start_time = 1700000000,
    .api = METRICS_API_UNREACHABLE,
    .api_last_success = 1700000100,
    .bridge_enabled = true,
    .checkpoints_ok = 3,
    .checkpoints_corrupt = 1,
    .checkpoints_not_checkpointable = 2,
    .bridge_manifests_active = 3,
    .activations_total = 7,
    .withdrawals_total = 4,
    .mirror_pods_deleted = 6,
    .mirror_pod_deletions_failed = 2,
    .events_queued = 5,
    .events_posted = 9,
    .events_dropped = 2,
    .events_rejected = 1,
    .api_requests_ok = 10,
    .api_requests_failure = 5,
    .api_requests_auth_error = 1,
    .local_source = "cgroups",
    .cri_requests_ok = 40,
    .cri_requests_failure = 2,
    .cri_requests_lying = 3,
    .api_connections = 4,
    .api_tls_handshakes = 2,
    .api_quorum_reads = 6,
    .api_sync_errors = 3,
    .api_out_of_sync = true,
    .last_error_code = "ENET",
    .last_error_message = "GET https://10.0.0.1:6443/api/v1/pods: connection refused",
    .last_error_time = 1700000200,
};

static char *format(const struct metrics_snapshot *m, time_t now)
{
	struct kc_buf b;
	struct kc_error err;

	kc_buf_init(&b, 0);
	assert_int_equal(metrics_format(m, now, &b, &err), KC_OK);
	return b.data;
}

static void assert_line(const char *text, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(text, want) == NULL && strncmp(text, want + 1, strlen(want + 1)) != 0)
		fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static void test_busy_snapshot(void **state)
{
	char *t = format(&busy, 1700000160);

	assert_line(t, "kubelet_checkpoint_agent_info{version=\"0.1.0\"} 1");
	assert_line(t, "kubelet_checkpoint_start_time_seconds 1700000000");
	assert_line(t, "kubelet_checkpoint_bridge_enabled 1");
	assert_line(t, "kubelet_checkpoint_api_reachable 0");
	assert_line(t, "kubelet_checkpoint_api_last_success_timestamp_seconds 1700000100");
	assert_line(t, "kubelet_checkpoint_api_requests_total{result=\"ok\"} 10");
	assert_line(t, "kubelet_checkpoint_api_requests_total{result=\"failure\"} 5");
	assert_line(t, "kubelet_checkpoint_api_requests_total{result=\"auth_error\"} 1");
	assert_line(t, "kubelet_checkpoint_api_connections_total 4");
	assert_line(t, "kubelet_checkpoint_api_tls_handshakes_total 2");
	assert_line(t, "kubelet_checkpoint_api_quorum_reads_total 6");
	assert_line(t, "kubelet_checkpoint_api_sync_errors_total 3");
	assert_line(t, "kubelet_checkpoint_api_out_of_sync 1");
	assert_line(t, "kubelet_checkpoint_checkpoints{state=\"ok\"} 3");
	assert_line(t, "kubelet_checkpoint_checkpoints{state=\"corrupt\"} 1");
	assert_line(t, "kubelet_checkpoint_checkpoints{state=\"not_checkpointable\"} 2");
	assert_line(t, "kubelet_checkpoint_bridge_manifests_active 3");
	assert_line(t, "kubelet_checkpoint_activations_total 7");
	assert_line(t, "kubelet_checkpoint_withdrawals_total 4");
	assert_line(t, "kubelet_checkpoint_mirror_pod_deletions_total{result=\"deleted\"} 6");
	assert_line(t, "kubelet_checkpoint_mirror_pod_deletions_total{result=\"failed\"} 2");
	assert_line(t, "# TYPE kubelet_checkpoint_mirror_pod_deletions_total counter");
	assert_line(t, "kubelet_checkpoint_events_queued 5");
	assert_line(t, "kubelet_checkpoint_events_total{result=\"posted\"} 9");
	assert_line(t, "kubelet_checkpoint_events_total{result=\"dropped\"} 2");
	assert_line(t, "kubelet_checkpoint_events_total{result=\"rejected\"} 1");
	assert_line(t, "kubelet_checkpoint_bridge_off 0");
	assert_line(t, "kubelet_checkpoint_bridges_not_running 0");
	assert_line(t, "kubelet_checkpoint_local_pods_known 1");
	assert_line(t, "kubelet_checkpoint_local_pods_source{source=\"cri\"} 0");
	assert_line(t, "kubelet_checkpoint_local_pods_source{source=\"cgroups\"} 1");
	assert_line(t, "kubelet_checkpoint_local_pods_source{source=\"unknown\"} 0");
	assert_line(t, "kubelet_checkpoint_cri_requests_total{result=\"ok\"} 40");
	assert_line(t, "kubelet_checkpoint_cri_requests_total{result=\"failure\"} 2");
	assert_line(t, "kubelet_checkpoint_cri_requests_total{result=\"lying\"} 3");
	assert_line(t, "kubelet_checkpoint_last_error_info{code=\"ENET\",message=\"GET "
	               "https://10.0.0.1:6443/api/v1/pods: connection refused\"} 1");
	assert_line(t, "kubelet_checkpoint_last_error_timestamp_seconds 1700000200");
	assert_line(t, "# TYPE kubelet_checkpoint_activations_total counter");
	assert_line(t, "# TYPE kubelet_checkpoint_checkpoints gauge");
	free(t);
}

/* Every sample line belongs to the family whose HELP and TYPE came just
 * before it, and every family has both. */
static void test_every_sample_has_help_and_type(void **state)
{
	char *t = format(&busy, 1700000160), *save = NULL, *line;
	char family[128] = "", typed[128] = "";
	int samples = 0;

	for (line = strtok_r(t, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "# HELP %127s", family) == 1)
			continue;
		if (sscanf(line, "# TYPE %127s", typed) == 1) {
			assert_string_equal(typed, family);
			continue;
		}
		assert_int_equal(strncmp(line, family, strlen(family)), 0);
		assert_true(line[strlen(family)] == ' ' || line[strlen(family)] == '{');
		assert_string_equal(typed, family);
		assert_int_equal(strncmp(line, "kubelet_checkpoint_", 19), 0);
		samples++;
	}
	assert_int_equal(samples, 41);
	free(t);
}

/* One sample per prerequisite; only the one waited for is 1. */
static void test_waiting(void **state)
{
	struct metrics_snapshot m = {.version = "0.1.0", .start_time = 1700000000};
	char *t = format(&m, 1700000000);

	assert_line(t, "kubelet_checkpoint_waiting{for=\"kubelet\"} 0");
	assert_line(t, "kubelet_checkpoint_waiting{for=\"kubeconfig\"} 0");
	assert_line(t, "kubelet_checkpoint_waiting{for=\"staticPodPath\"} 0");
	free(t);
	m.waiting_for = "kubeconfig";
	t = format(&m, 1700000000);
	assert_line(t, "kubelet_checkpoint_waiting{for=\"kubelet\"} 0");
	assert_line(t, "kubelet_checkpoint_waiting{for=\"kubeconfig\"} 1");
	free(t);
}

static void test_unknown_values_are_absent(void **state)
{
	struct metrics_snapshot m = {.version = "0.1.0", .start_time = 1700000000};
	char *t = format(&m, 1700000000);

	assert_null(strstr(t, "\nkubelet_checkpoint_api_reachable "));
	assert_null(strstr(t, "\nkubelet_checkpoint_api_last_success_timestamp_seconds "));
	assert_null(strstr(t, "\nkubelet_checkpoint_last_error_info{"));
	assert_null(strstr(t, "\nkubelet_checkpoint_last_error_timestamp_seconds "));
	/* ...but their families are still declared. */
	assert_line(t, "# TYPE kubelet_checkpoint_api_reachable gauge");
	assert_line(t, "kubelet_checkpoint_bridge_enabled 0");
	assert_line(t, "kubelet_checkpoint_checkpoints{state=\"ok\"} 0");
	free(t);

	m.api = METRICS_API_REACHABLE;
	m.api_last_success = 1700000050;
	t = format(&m, 1700000000);
	assert_line(t, "kubelet_checkpoint_api_reachable 1");
	/* No age gauge: the file must not change every second (time() - timestamp). */
	assert_null(strstr(t, "age_seconds"));
	char *later = format(&m, 1700000099);
	assert_string_equal(t, later);
	free(later);
	free(t);
}

static char *label(const char *v)
{
	struct kc_buf b;
	struct kc_error err;

	kc_buf_init(&b, 0);
	assert_int_equal(metrics_append_label_value(&b, v, &err), KC_OK);
	if (b.data == NULL)
		return strdup("");
	return b.data;
}

static void check_label(const char *in, const char *want)
{
	char *got = label(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_label_escaping(void **state)
{
	check_label("plain", "plain");
	check_label("", "");
	check_label("a\"b\\c\nd", "a\\\"b\\\\c\\nd");
	check_label("tab\there\x7f", "tab here ");
	check_label("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* Not UTF-8: a stray byte, an overlong '/', a surrogate, a cut sequence. */
	check_label("x\xffy", "x\xef\xbf\xbdy");
	check_label("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	check_label("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_label("end\xe2\x82", "end\xef\xbf\xbd\xef\xbf\xbd");
}

static void test_label_cut_at_character_boundary(void **state)
{
	char in[1024] = "", *got;
	size_t i;

	for (i = 0; i < 300; i++)
		strcat(in, "\xc3\xa9"); /* 2-byte characters */
	got = label(in);
	assert_int_equal(strlen(got), METRICS_LABEL_MAX);
	free(got);

	memset(in, 0, sizeof(in));
	in[0] = 'x';
	for (i = 0; i < 200; i++)
		strcat(in, "\"");
	got = label(in); /* 1 + 127 * 2 = 255: the next escape would not fit whole */
	assert_int_equal(strlen(got), 255);
	assert_int_equal(got[254], '"');
	assert_int_equal(got[253], '\\');
	free(got);
}

static void test_write_checks_name_and_replaces_atomically(void **state)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], *got, *want;
	struct kc_error err;
	struct stat st;
	const char *bad[] = {"metrics.txt",      ".hidden.prom", ".prom",
	                     "metrics.prom.tmp", "prom",         "x.prom/"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, bad[i]);
		assert_int_equal(metrics_write(path, &busy, 1700000160, &err), KC_EINVAL);
		assert_non_null(strstr(err.msg, ".prom"));
		assert_int_not_equal(access(path, F_OK), 0);
	}
	assert_int_equal(metrics_check_path("kc.prom", &err), KC_OK);
	assert_int_equal(metrics_check_path("/a.b/kc.prom", &err), KC_OK);
	snprintf(path, sizeof(path), "%s/kubelet_checkpoint.prom", dir);
	assert_int_equal(metrics_write(path, &busy, 1700000160, &err), KC_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	got = tu_read_file(path, NULL);
	want = format(&busy, 1700000160);
	assert_string_equal(got, want);
	free(got);
	free(want);
	snprintf(path, sizeof(path), "%s/.kubelet_checkpoint.prom.tmp", dir);
	assert_int_not_equal(access(path, F_OK), 0);

	snprintf(path, sizeof(path), "%s/missing/kubelet_checkpoint.prom", dir);
	assert_int_not_equal(metrics_write(path, &busy, 1700000160, &err), KC_OK);
	assert_non_null(strstr(err.msg, "metrics"));
	tu_rmrf(dir);
	free(dir);
}

static int have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

static void promtool_accepts(const struct metrics_snapshot *m)
{
	char *dir = tu_mkdtemp(), path[PATH_MAX], cmd[PATH_MAX + 64];
	struct kc_error err;
	int status;

	snprintf(path, sizeof(path), "%s/kc.prom", dir);
	assert_int_equal(metrics_write(path, m, 1700000160, &err), KC_OK);
	/* promtool prints lint problems and exits non-zero on any of them. */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tu_rmrf(dir);
	free(dir);
}

static void test_promtool_check_metrics(void **state)
{
	struct metrics_snapshot hostile = busy, empty = {.version = "0.1.0"};

	if (!have_promtool()) {
		printf("SKIP: promtool not found (Debian package prometheus); "
		       "exposition not checked by promtool\n");
		skip();
	}
	hostile.last_error_message = "pod.yaml: \"x\\y\"\nnext line \xff\xfe end";
	promtool_accepts(&busy);
	promtool_accepts(&hostile);
	promtool_accepts(&empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_busy_snapshot),
	    cmocka_unit_test(test_every_sample_has_help_and_type),
	    cmocka_unit_test(test_waiting),
	    cmocka_unit_test(test_unknown_values_are_absent),
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_label_cut_at_character_boundary),
	    cmocka_unit_test(test_write_checks_name_and_replaces_atomically),
	    cmocka_unit_test(test_promtool_check_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
