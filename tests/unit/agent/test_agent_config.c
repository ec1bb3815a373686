/*
 * test_agent_config.c: run's settings come from flags, then the config file,
 * then the running kubelet, then the defaults, each recorded with its source;
 * every bad flag, key, type and value is an error naming it.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "testutil.h"
#include "tu_tree.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

struct fixture {
	char *dir;  /* scratch files */
	char *proc; /* fake /proc (empty: no kubelet) */
	struct agent_env env;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	if (asprintf(&f->proc, "%s/proc", f->dir) < 0)
		abort();
	free(tu_put(f->dir, "proc/1/cmdline", "/sbin/init"));
	f->env.proc_root = f->proc;
	f->env.hostname = "  Worker-7.Example.COM\n";
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tu_rmrf(f->dir);
	free(f->dir);
	free(f->proc);
	free(f);
	return 0;
}

static char *path_in(struct fixture *f, const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", f->dir, rel) < 0)
		abort();
	return p;
}

static struct agent_config *load_ok(struct fixture *f, int argc, char **argv)
{
	struct agent_config *cfg = NULL;
	struct kc_error err = {0};

	if (agent_config_load(argc, argv, &f->env, &cfg, &err) != KC_OK)
		fail_msg("load failed: %s", err.msg);
	return cfg;
}

static void expect_error(struct fixture *f, int argc, char **argv, kc_code code,
                         const char *msg_part)
{
	struct agent_config *cfg = NULL;
	struct kc_error err = {0};

	assert_int_equal(agent_config_load(argc, argv, &f->env, &cfg, &err), code);
	assert_null(cfg);
	if (getenv("KC_TEST_VERBOSE") != NULL)
		print_message("%s\n", err.msg);
	if (strstr(err.msg, msg_part) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, msg_part);
}

/* Load with --config holding yaml and the extra flags (NULL-terminated). */
static void expect_file_error(struct fixture *f, const char *yaml, const char *msg_part)
{
	char *file = tu_put(f->dir, "agent.yaml", yaml);
	char *argv[] = {"run", "--config", file, NULL};

	expect_error(f, ARGC(argv), argv, KC_EINVAL, msg_part);
	free(file);
}

static void assert_src(const struct agent_config *cfg, enum agent_setting s, const char *want)
{
	if (strcmp(agent_source_name(cfg->source[s]), want) != 0)
		fail_msg("%s: source %s, want %s", agent_setting_key(s),
		         agent_source_name(cfg->source[s]), want);
}

/* The node's identity given: no kubelet is needed, none is waited for. */
static void test_identity_given_needs_no_kubelet(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {"run",
	                "--kubeconfig",
	                "/k.conf",
	                "--node-name",
	                "n1",
	                "--kubelet-config",
	                "/nonexistent/config.yaml",
	                "--static-pod-path",
	                "/m",
	                NULL};
	char *argv2[] = {"run", "--kubeconfig", "/k.conf", "--node-name", "n1", NULL};
	char *argv3[] = {"run",      "--kubeconfig",      "/k.conf", "--kubelet-config",
	                 "/kc.yaml", "--static-pod-path", "/m",      NULL};
	struct agent_config *cfg = load_ok(f, ARGC(argv), argv);

	assert_false(cfg->kubelet_missing);
	agent_config_free(cfg);
	cfg = load_ok(f, ARGC(argv2), argv2); /* the kubelet config would be a guess */
	assert_true(cfg->kubelet_missing);
	agent_config_free(cfg);
	cfg = load_ok(f, ARGC(argv3), argv3); /* the host name, as the kubelet's own default */
	assert_false(cfg->kubelet_missing);
	assert_src(cfg, AGENT_NODE_NAME, "host name");
	agent_config_free(cfg);
}

/* --optional-config: a deleted conffile means the defaults; --config: an error. */
static void test_optional_config(void **state)
{
	struct fixture *f = *state;
	char *missing = path_in(f, "deleted.yaml");
	char *file = tu_put(f->dir, "agent.yaml", "gcGrace: 7\n");
	char *argv[] = {"run", "--optional-config", missing, NULL};
	char *argv2[] = {"run", "--optional-config", file, NULL};
	char *argv3[] = {"run", "--config", missing, NULL};
	struct agent_config *cfg = load_ok(f, ARGC(argv), argv);

	assert_true(cfg->config_missing);
	assert_int_equal(cfg->gc_grace, 60);
	assert_int_equal(cfg->bridge_start_timeout, AGENT_DEFAULT_BRIDGE_START);
	agent_config_free(cfg);
	cfg = load_ok(f, ARGC(argv2), argv2);
	assert_false(cfg->config_missing);
	assert_int_equal(cfg->gc_grace, 7);
	agent_config_free(cfg);
	expect_error(f, ARGC(argv3), argv3, KC_ENOTFOUND, "--config");
	free(missing);
	free(file);
}

static void test_defaults_without_kubelet(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {"run", NULL};
	struct agent_config *cfg = load_ok(f, ARGC(argv), argv);

	assert_int_equal(cfg->kubelet_pid, 0);
	assert_true(cfg->kubelet_missing); /* the agent waits for it (agent_wait.c) */
	assert_null(cfg->config_file);
	assert_string_equal(cfg->kubeconfig, "/etc/kubernetes/kubelet.conf");
	assert_string_equal(cfg->node_name, "worker-7.example.com"); /* trimmed, lowercased */
	assert_string_equal(cfg->kubelet_config, "/var/lib/kubelet/config.yaml");
	if (access("/var/lib/kubelet/config.yaml", F_OK) != 0) {
		assert_string_equal(cfg->static_pod_path, "/etc/kubernetes/manifests");
		assert_src(cfg, AGENT_STATIC_POD_PATH, "default");
	}
	assert_string_equal(cfg->state_dir, "/var/lib/kubelet-checkpoint");
	assert_string_equal(cfg->flag_file, "/etc/kubelet-checkpoint/enabled");
	assert_string_equal(cfg->cgroup_root, "/sys/fs/cgroup");
	assert_string_equal(cfg->status_file, "/run/kubelet-checkpoint/status.json");
	assert_null(cfg->metrics_file);
	assert_int_equal(cfg->unreachable_after, 30);
	assert_int_equal(cfg->reachable_after, 15);
	assert_int_equal(cfg->gc_grace, 60);
	assert_int_equal(cfg->startup_spread, 30);
	assert_int_equal(cfg->annotations.len, 1);
	assert_string_equal(cfg->annotations.items[0], "node.kubernetes.io/bootstrap-checkpoint");
	assert_int_equal(cfg->namespaces.len, 1);
	assert_string_equal(cfg->namespaces.items[0], "kube-system");
	assert_false(cfg->all_namespaces);
	assert_int_equal(cfg->verbosity, 0);
	assert_src(cfg, AGENT_KUBECONFIG, "default");
	assert_src(cfg, AGENT_NODE_NAME, "host name");
	assert_src(cfg, AGENT_KUBELET_CONFIG, "default");
	assert_src(cfg, AGENT_STATE_DIR, "default");
	assert_src(cfg, AGENT_GC_GRACE, "default");
	assert_src(cfg, AGENT_NAMESPACE, "default");
	agent_config_free(cfg);
}

static void test_inherited_from_kubelet(void **state)
{
	struct fixture *f = *state;
	char *kcfg = tu_put(f->dir, "var/lib/kubelet/config.yaml",
	                    "apiVersion: kubelet.config.k8s.io/v1beta1\n"
	                    "kind: KubeletConfiguration\n"
	                    "staticPodPath: manifests.d\n");
	char *want_spp = path_in(f, "var/lib/kubelet/manifests.d");
	char *argv[] = {"run", NULL};
	const char *kubelet[] = {"/usr/bin/kubelet",
	                         "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                         "--config",
	                         kcfg,
	                         "--hostname-override",
	                         "Node-9 ",
	                         NULL};
	struct agent_config *cfg;

	tu_fake_process(f->proc, 4321, kubelet);
	cfg = load_ok(f, ARGC(argv), argv);
	assert_int_equal(cfg->kubelet_pid, 4321);
	assert_string_equal(cfg->kubeconfig, "/etc/kubernetes/kubelet.conf");
	assert_src(cfg, AGENT_KUBECONFIG, "kubelet cmdline");
	assert_string_equal(cfg->node_name, "node-9");
	assert_src(cfg, AGENT_NODE_NAME, "kubelet cmdline");
	assert_string_equal(cfg->kubelet_config, kcfg);
	assert_src(cfg, AGENT_KUBELET_CONFIG, "kubelet cmdline");
	assert_string_equal(cfg->static_pod_path, want_spp);
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet config");
	agent_config_free(cfg);
	free(want_spp);
	free(kcfg);
}

static void test_pod_manifest_path_flag_beats_kubelet_config(void **state)
{
	struct fixture *f = *state;
	char *kcfg = tu_put(f->dir, "config.yaml",
	                    "kind: KubeletConfiguration\nstaticPodPath: /from/config\n");
	char *argv[] = {"run", NULL};
	const char *kubelet[] = {"kubelet", "--config", kcfg, "--pod-manifest-path=/from/flag",
	                         NULL};
	struct agent_config *cfg;

	tu_fake_process(f->proc, 50, kubelet);
	cfg = load_ok(f, ARGC(argv), argv);
	assert_string_equal(cfg->static_pod_path, "/from/flag");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet cmdline");
	agent_config_free(cfg);
	free(kcfg);
}

/* A kubelet config named to the agent that is not the kubelet's own comes first. */
static void test_named_kubelet_config_vs_running_kubelet(void **state)
{
	struct fixture *f = *state;
	char *own = tu_put(f->dir, "own.yaml", "kind: KubeletConfiguration\nstaticPodPath: /own\n");
	char *other =
	    tu_put(f->dir, "other.yaml", "kind: KubeletConfiguration\nstaticPodPath: /mine\n");
	char *bare = tu_put(f->dir, "bare.yaml", "kind: KubeletConfiguration\n");
	char *dropins, *own_flag, *other_flag, *bare_flag;
	const char *kubelet[] = {"kubelet", "--config", own, "--config-dir", NULL, NULL};
	char *discovered[] = {"run", NULL};
	char *same[] = {"run", NULL, NULL};
	char *named[] = {"run", NULL, NULL};
	char *named_bare[] = {"run", NULL, NULL};
	const char *kubelet_flag[] = {"kubelet", "--config", own, "--pod-manifest-path=/flag",
	                              NULL};
	struct agent_config *cfg;

	if (asprintf(&dropins, "%s/conf.d", f->dir) < 0 ||
	    asprintf(&own_flag, "--kubelet-config=%s", own) < 0 ||
	    asprintf(&other_flag, "--kubelet-config=%s", other) < 0 ||
	    asprintf(&bare_flag, "--kubelet-config=%s", bare) < 0)
		abort();
	same[1] = own_flag;
	named[1] = other_flag;
	named_bare[1] = bare_flag;
	free(tu_put(f->dir, "conf.d/10-x.conf",
	            "kind: KubeletConfiguration\nstaticPodPath: /dropin\n"));
	kubelet[4] = dropins;
	tu_fake_process(f->proc, 20, kubelet);

	/* The kubelet's own config: its drop-ins apply. */
	cfg = load_ok(f, ARGC(discovered), discovered);
	assert_string_equal(cfg->static_pod_path, "/dropin");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet config");
	agent_config_free(cfg);
	/* Another file named to the agent: the kubelet's drop-ins are not about it. */
	cfg = load_ok(f, ARGC(named), named);
	assert_string_equal(cfg->static_pod_path, "/mine");
	agent_config_free(cfg);

	tu_rmrf(f->proc);
	free(tu_put(f->dir, "proc/1/cmdline", "/sbin/init"));
	tu_fake_process(f->proc, 21, kubelet_flag);
	/* Its own config, named or discovered: the kubelet's flag wins, as in the kubelet. */
	cfg = load_ok(f, ARGC(same), same);
	assert_string_equal(cfg->static_pod_path, "/flag");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet cmdline");
	agent_config_free(cfg);
	/* Another config: its staticPodPath first, the kubelet's flag only fills in. */
	cfg = load_ok(f, ARGC(named), named);
	assert_string_equal(cfg->static_pod_path, "/mine");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet config");
	agent_config_free(cfg);
	cfg = load_ok(f, ARGC(named_bare), named_bare);
	assert_string_equal(cfg->static_pod_path, "/flag");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet cmdline");
	agent_config_free(cfg);

	free(dropins);
	free(own_flag);
	free(other_flag);
	free(bare_flag);
	free(own);
	free(other);
	free(bare);
}

static void test_kubelet_config_without_static_pod_path(void **state)
{
	struct fixture *f = *state;
	char *kcfg = tu_put(f->dir, "config.yaml", "kind: KubeletConfiguration\nmaxPods: 110\n");
	char *argv[] = {"run", "--kubelet-config", kcfg, NULL};
	struct agent_config *cfg = load_ok(f, ARGC(argv), argv);

	char *given[] = {"run", "--kubelet-config", kcfg, "--static-pod-path=/srv/m", NULL};

	/* The kubelet watches no directory: the bridge is off, with the reason. */
	assert_string_equal(cfg->static_pod_path, "/etc/kubernetes/manifests");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "default");
	assert_src(cfg, AGENT_KUBELET_CONFIG, "flag");
	assert_non_null(strstr(cfg->bridge_off, "names no staticPodPath"));
	assert_non_null(strstr(cfg->bridge_off, kcfg));
	assert_string_equal(cfg->static_pod_path_unread, "");
	agent_config_free(cfg);
	/* An explicit path of ours still wins, with a warning that the kubelet does not read it. */
	cfg = load_ok(f, ARGC(given), given);
	assert_string_equal(cfg->static_pod_path, "/srv/m");
	assert_string_equal(cfg->bridge_off, "");
	assert_non_null(strstr(cfg->static_pod_path_unread, "may not read /srv/m"));
	agent_config_free(cfg);
	free(kcfg);
}

static void test_precedence_flag_file_kubelet_default(void **state)
{
	struct fixture *f = *state;
	char *file = tu_put(f->dir, "etc/agent.yaml",
	                    "nodeName: from-file\n"
	                    "stateDir: /file/state\n"
	                    "kubeconfig: /file/kubeconfig\n"
	                    "gcGrace: 5\n"
	                    "namespace: [monitoring, kube-system]\n");
	char *argv[] = {"run", "--state-dir=/flag/state", "--config", file, "--gc-grace", "7",
	                NULL};
	const char *kubelet[] = {"kubelet",
	                         "--kubeconfig=/kubelet/kubeconfig",
	                         "--hostname-override=from-kubelet",
	                         "--config=/kubelet/config.yaml",
	                         "--pod-manifest-path=/kubelet/manifests",
	                         NULL};
	struct agent_config *cfg;

	tu_fake_process(f->proc, 99, kubelet);
	cfg = load_ok(f, ARGC(argv), argv);
	assert_string_equal(cfg->config_file, file);
	assert_string_equal(cfg->state_dir, "/flag/state");
	assert_src(cfg, AGENT_STATE_DIR, "flag");
	assert_int_equal(cfg->gc_grace, 7);
	assert_src(cfg, AGENT_GC_GRACE, "flag");
	assert_string_equal(cfg->node_name, "from-file");
	assert_src(cfg, AGENT_NODE_NAME, "config file");
	assert_string_equal(cfg->kubeconfig, "/file/kubeconfig");
	assert_src(cfg, AGENT_KUBECONFIG, "config file");
	assert_int_equal(cfg->namespaces.len, 2);
	assert_string_equal(cfg->namespaces.items[0], "monitoring");
	assert_src(cfg, AGENT_NAMESPACE, "config file");
	assert_string_equal(cfg->kubelet_config, "/kubelet/config.yaml");
	assert_src(cfg, AGENT_KUBELET_CONFIG, "kubelet cmdline");
	assert_string_equal(cfg->static_pod_path, "/kubelet/manifests");
	assert_src(cfg, AGENT_STATIC_POD_PATH, "kubelet cmdline");
	assert_string_equal(cfg->flag_file, "/etc/kubelet-checkpoint/enabled");
	assert_src(cfg, AGENT_FLAG_FILE, "default");
	assert_int_equal(cfg->unreachable_after, 30);
	assert_src(cfg, AGENT_UNREACHABLE_AFTER, "default");
	agent_config_free(cfg);
	free(file);
}

static void test_every_key_in_file(void **state)
{
	struct fixture *f = *state;
	char *file = tu_put(f->dir, "etc/agent.yaml",
	                    "kubeconfig: /k/kubelet.conf\n"
	                    "nodeName: n1.example\n"
	                    "kubeletConfig: /k/config.yaml\n"
	                    "staticPodPath: /k/manifests\n"
	                    "stateDir: state\n"
	                    "flagFile: /k/enabled\n"
	                    "cgroupRoot: /k/cgroup\n"
	                    "containerRuntimeEndpoint: unix:///k/cri.sock\n"
	                    "unreachableAfter: 45\n"
	                    "reachableAfter: 20\n"
	                    "gcGrace: 0\n"
	                    "handoffTimeout: 900\n"
	                    "startupSpread: 0\n"
	                    "bridgeStartTimeout: 90\n"
	                    "bridgeGracePeriod: 0\n"
	                    "statusFile: /k/status.json\n"
	                    "metricsFile: /k/metrics.prom\n"
	                    "annotation:\n"
	                    "- node.kubernetes.io/bootstrap-checkpoint\n"
	                    "- checkpointer.alpha.coreos.com/checkpoint\n"
	                    "namespace: '*'\n"
	                    "verbosity: 2\n"
	                    "allowInsecureHttp: true\n");
	char *want_state = path_in(f, "etc/state");
	char *argv[] = {"run", "--config", file, NULL};
	const char *kubelet[] = {"kubelet", "--kubeconfig=/never/used", NULL};
	struct agent_config *cfg;
	size_t i;

	/* Everything is given, so the kubelet is never consulted. */
	tu_fake_process(f->proc, 7, kubelet);
	cfg = load_ok(f, ARGC(argv), argv);
	assert_int_equal(cfg->kubelet_pid, 0);
	assert_string_equal(cfg->kubeconfig, "/k/kubelet.conf");
	assert_string_equal(cfg->node_name, "n1.example");
	assert_string_equal(cfg->kubelet_config, "/k/config.yaml");
	assert_string_equal(cfg->static_pod_path, "/k/manifests");
	assert_string_equal(cfg->state_dir, want_state); /* relative to the file */
	assert_string_equal(cfg->flag_file, "/k/enabled");
	assert_string_equal(cfg->cgroup_root, "/k/cgroup");
	assert_string_equal(cfg->container_runtime_endpoint, "unix:///k/cri.sock");
	assert_int_equal(cfg->unreachable_after, 45);
	assert_int_equal(cfg->reachable_after, 20);
	assert_int_equal(cfg->gc_grace, 0);
	assert_int_equal(cfg->handoff_timeout, 900);
	assert_int_equal(cfg->startup_spread, 0);
	assert_int_equal(cfg->bridge_start_timeout, 90);
	assert_int_equal(cfg->bridge_grace_period, 0);
	assert_string_equal(cfg->status_file, "/k/status.json");
	assert_string_equal(cfg->metrics_file, "/k/metrics.prom");
	assert_int_equal(cfg->annotations.len, 2);
	assert_string_equal(cfg->annotations.items[1], "checkpointer.alpha.coreos.com/checkpoint");
	assert_int_equal(cfg->namespaces.len, 1);
	assert_true(cfg->all_namespaces);
	assert_int_equal(cfg->verbosity, 2);
	assert_true(cfg->allow_insecure_http);
	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		assert_src(cfg, (enum agent_setting)i, "config file");
	agent_config_free(cfg);
	free(want_state);
	free(file);
}

static void test_every_flag(void **state)
{
	struct fixture *f = *state;
	char *cwd = getcwd(NULL, 0), *want_rel;
	char *argv[] = {"run",
	                "--kubeconfig=/k/kubelet.conf",
	                "--node-name",
	                "n2",
	                "--kubelet-config=/k/config.yaml",
	                "--static-pod-path=/k/manifests",
	                "--state-dir=rel/state",
	                "--flag-file=/k/enabled",
	                "--cgroup-root=/k/cgroup",
	                "--container-runtime-endpoint=/k/crio.sock",
	                "--unreachable-after=1",
	                "--reachable-after",
	                "2",
	                "--gc-grace=3",
	                "--handoff-timeout=60",
	                "--startup-spread=120",
	                "--bridge-start-timeout=5",
	                "--bridge-grace-period=20",
	                "--status-file=/k/s.json",
	                "--metrics-file=/k/m.prom",
	                "--annotation=checkpointer.alpha.coreos.com/checkpoint",
	                "--annotation",
	                "example.com/keep",
	                "--annotation=example.com/keep",
	                "--namespace=monitoring",
	                "--namespace=logging",
	                "-vv",
	                "-v",
	                "--allow-insecure-http",
	                NULL};
	struct agent_config *cfg;
	size_t i;

	if (asprintf(&want_rel, "%s/rel/state", cwd) < 0)
		abort();
	cfg = load_ok(f, ARGC(argv), argv);
	assert_string_equal(cfg->node_name, "n2");
	assert_string_equal(cfg->state_dir, want_rel); /* relative to the cwd */
	assert_int_equal(cfg->unreachable_after, 1);
	assert_int_equal(cfg->reachable_after, 2);
	assert_int_equal(cfg->gc_grace, 3);
	assert_int_equal(cfg->handoff_timeout, 60);
	assert_int_equal(cfg->startup_spread, 120);
	assert_int_equal(cfg->bridge_start_timeout, 5);
	assert_int_equal(cfg->bridge_grace_period, 20);
	assert_string_equal(cfg->metrics_file, "/k/m.prom");
	/* Repeated flags replace the default and are deduplicated. */
	assert_int_equal(cfg->annotations.len, 2);
	assert_string_equal(cfg->annotations.items[0], "checkpointer.alpha.coreos.com/checkpoint");
	assert_string_equal(cfg->annotations.items[1], "example.com/keep");
	assert_int_equal(cfg->namespaces.len, 2);
	assert_false(cfg->all_namespaces);
	assert_int_equal(cfg->verbosity, 3);
	assert_true(cfg->allow_insecure_http);
	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		assert_src(cfg, (enum agent_setting)i, "flag");
	agent_config_free(cfg);
	free(want_rel);
	free(cwd);
}

static void test_bad_flags(void **state)
{
	struct fixture *f = *state;
	struct {
		char *args[4];
		const char *msg;
	} cases[] = {
	    {{"--gc-grace=-1"}, "--gc-grace: \"-1\": expected a whole number"},
	    {{"--unreachable-after=0"}, "--unreachable-after: 0: must be between 1 and"},
	    {{"--reachable-after=30s"}, "--reachable-after: \"30s\": expected a whole number"},
	    {{"--gc-grace=99999999999999999999"},
	     "--gc-grace: \"99999999999999999999\": too large (at most 2592000)"},
	    {{"--gc-grace=2592001"}, "--gc-grace: \"2592001\": too large (at most 2592000)"},
	    {{"--reachable-after="}, "--reachable-after: must not be empty"},
	    {{"--state-dir="}, "--state-dir: must not be empty"},
	    {{"--metrics-file=/var/lib/node-exporter/kc.txt"},
	     "--metrics-file: /var/lib/node-exporter/kc.txt: must end in \".prom\""},
	    {{"--metrics-file=/var/lib/node-exporter/.prom"}, "must end in \".prom\""},
	    {{"--config="}, "--config: must not be empty"},
	    {{"--node-name=Bad_Name"}, "--node-name: 'Bad_Name' is not a DNS subdomain"},
	    {{"--namespace=Kube-System"}, "--namespace: 'Kube-System' is not a DNS label"},
	    {{"--annotation=bad/key/x"}, "--annotation: \"bad/key/x\""},
	    {{"--annotation=-x"}, "--annotation: \"-x\": not a valid annotation key"},
	    {{"--annotation=Bad_Prefix/x"}, "--annotation: \"Bad_Prefix/x\": prefix"},
	    {{"--verbosity=11"}, "--verbosity: \"11\": too large"},
	    {{"--allow-insecure-http=yes"},
	     "--allow-insecure-http: \"yes\": expected true or false"},
	    {{"--nope"}, "--nope: unknown flag"},
	    {{"--kubeconf=/x"}, "--kubeconf=/x: unknown flag (did you mean --kubeconfig?)"},
	    {{"--kube=/x"}, "--kube=/x: unknown flag"},
	    {{"--gc"}, "--gc: unknown flag (did you mean --gc-grace?)"},
	    {{"--conf=/x"}, "--conf=/x: unknown flag (did you mean --config?)"},
	    {{"-x"}, "-x: unknown flag"},
	    {{"--kubeconfig"}, "--kubeconfig: needs a value"},
	    {{"--state-dir", "/s", "extra"}, "extra: unexpected argument"},
	    {{"--config", "/nonexistent/agent.yaml"}, "--config: /nonexistent/agent.yaml"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = {"run"};

		for (n = 0; n < 4 && cases[i].args[n] != NULL; n++)
			argv[n + 1] = cases[i].args[n];
		expect_error(f, (int)n + 1, argv,
		             strstr(cases[i].msg, "nonexistent") ? KC_ENOTFOUND : KC_EINVAL,
		             cases[i].msg);
	}
}

static void test_bad_file_keys_and_types(void **state)
{
	struct fixture *f = *state;

	expect_file_error(f, "stateDir: /s\nsyncPeriod: 10\n",
	                  "agent.yaml: syncPeriod: unknown key");
	expect_file_error(f, "node-name: x\n", "node-name: unknown key (did you mean nodeName?)");
	expect_file_error(f, "config: /x\n", "config: unknown key");
	expect_file_error(f, "unreachableAfter: '30'\n",
	                  "unreachableAfter: expected a whole number of seconds");
	expect_file_error(f, "reachableAfter: 1.5\n", "reachableAfter: expected a whole number");
	expect_file_error(f, "gcGrace: -1\n", "gcGrace: -1: must be between 0 and");
	expect_file_error(f, "reachableAfter: 0\n", "reachableAfter: 0: must be between 1 and");
	expect_file_error(f, "stateDir: 5\n", "stateDir: expected a string");
	expect_file_error(f, "stateDir: ''\n", "stateDir: must not be empty");
	expect_file_error(f, "stateDir:\n", "stateDir: expected a string");
	expect_file_error(f, "metricsFile: [a]\n", "metricsFile: expected a string");
	expect_file_error(f, "metricsFile: metrics\n", "metricsFile: metrics: must end in");
	expect_file_error(f, "annotation: 5\n", "annotation: expected a non-empty list of strings");
	expect_file_error(f, "namespace: []\n", "namespace: expected a non-empty list");
	expect_file_error(f, "namespace: [ok, 7]\n", "namespace: [1]: expected a string");
	expect_file_error(f, "namespace: [ok, NotOk]\n", "namespace: [1]: 'NotOk' is not");
	expect_file_error(f, "nodeName: UPPER\n", "nodeName: 'UPPER' is not a DNS subdomain");
	expect_file_error(f, "verbosity: true\n", "verbosity: expected a whole number from 0 to");
	expect_file_error(f, "allowInsecureHttp: 'yes'\n",
	                  "allowInsecureHttp: expected true or false");
	expect_file_error(f, "- stateDir\n", "expected a mapping of settings");
	expect_file_error(f, "a: 1\n---\nb: 2\n", "expected one document, found 2");
	expect_file_error(f, "stateDir: /a\nstateDir: /b\n", "agent.yaml");
	expect_file_error(f, "stateDir: [\n", "agent.yaml");
}

static void test_file_value_checked_even_when_flag_wins(void **state)
{
	struct fixture *f = *state;
	char *file = tu_put(f->dir, "agent.yaml", "gcGrace: lots\n");
	char *argv[] = {"run", "--gc-grace=10", "--config", file, NULL};

	expect_error(f, ARGC(argv), argv, KC_EINVAL, "gcGrace: expected a whole number");
	free(file);
}

static void test_empty_file_and_reload(void **state)
{
	struct fixture *f = *state;
	char *file = tu_put(f->dir, "agent.yaml", "# nothing configured yet\n");
	char *argv[] = {"run", "--config", file, "--node-name=n3", NULL};
	struct agent_config *a, *b;

	/* SIGHUP reload is the same call again: getopt state must not leak between calls. */
	a = load_ok(f, ARGC(argv), argv);
	b = load_ok(f, ARGC(argv), argv);
	assert_string_equal(a->node_name, "n3");
	assert_string_equal(b->node_name, "n3");
	assert_string_equal(a->state_dir, b->state_dir);
	assert_string_equal(argv[1], "--config"); /* argv is not permuted */
	agent_config_free(a);
	agent_config_free(b);
	free(tu_put(f->dir, "agent.yaml", "nodeName: n4\n"));
	argv[3] = NULL;
	a = load_ok(f, 3, argv);
	assert_string_equal(a->node_name, "n4");
	agent_config_free(a);
	free(file);
}

/* The runtime endpoint and the pod cgroup layout come from the kubelet (issue 10). */
static void test_runtime_and_cgroups_from_kubelet(void **state)
{
	struct fixture *f = *state;
	char *kcfg = tu_put(f->dir, "kubelet/config.yaml",
	                    "kind: KubeletConfiguration\n"
	                    "staticPodPath: /k/manifests\n"
	                    "containerRuntimeEndpoint: unix:///from/config.sock\n"
	                    "cgroupRoot: /kubelet\n"
	                    "cgroupDriver: systemd\n"
	                    "cgroupsPerQOS: false\n");
	char flag_cfg[PATH_MAX + 16], pid_dir[PATH_MAX];
	const char *with_flag[] = {"kubelet",
	                           flag_cfg,
	                           "--container-runtime-endpoint",
	                           "unix:///var/run/crio/crio.sock",
	                           "--cgroup-driver=cgroupfs",
	                           NULL};
	const char *without[] = {"kubelet", flag_cfg, "--cgroups-per-qos=true", NULL};
	char *argv[] = {"run", "--kubeconfig=/k", "--node-name=n", NULL};
	char *given[] = {"run", "--container-runtime-endpoint=unix:///mine.sock", NULL};
	struct agent_config *cfg;

	snprintf(flag_cfg, sizeof(flag_cfg), "--config=%s", kcfg);
	tu_fake_process(f->proc, 40, with_flag);
	cfg = load_ok(f, ARGC(argv), argv);
	/* The kubelet's flags beat its config file, as the kubelet applies them. */
	assert_string_equal(cfg->container_runtime_endpoint, "unix:///var/run/crio/crio.sock");
	assert_src(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT, "kubelet cmdline");
	assert_string_equal(cfg->kubelet_cgroup_driver, "cgroupfs");
	assert_string_equal(cfg->kubelet_cgroup_root, "/kubelet");
	assert_false(cfg->kubelet_cgroups_per_qos);
	agent_config_free(cfg);
	snprintf(pid_dir, sizeof(pid_dir), "%s/40", f->proc);
	tu_rmrf(pid_dir);
	tu_fake_process(f->proc, 41, without);
	cfg = load_ok(f, ARGC(argv), argv);
	assert_string_equal(cfg->container_runtime_endpoint, "unix:///from/config.sock");
	assert_src(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT, "kubelet config");
	assert_string_equal(cfg->kubelet_cgroup_driver, "systemd");
	/* Its --cgroups-per-qos flag beats its config file's false. */
	assert_true(cfg->kubelet_cgroups_per_qos);
	agent_config_free(cfg);
	/* Ours wins; the kubelet's cgroup layout is still read. */
	cfg = load_ok(f, ARGC(given), given);
	assert_string_equal(cfg->container_runtime_endpoint, "unix:///mine.sock");
	assert_src(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT, "flag");
	assert_string_equal(cfg->kubelet_cgroup_root, "/kubelet");
	agent_config_free(cfg);
	free(kcfg);
}

static void test_runtime_endpoint_default_and_bad(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {"run",
	                "--kubeconfig=/k",
	                "--node-name=n",
	                "--kubelet-config=/nonexistent",
	                "--static-pod-path=/m",
	                NULL};
	char *tcp[] = {"run", "--container-runtime-endpoint=tcp://1.2.3.4:5", NULL};
	char *rel[] = {"run", "--container-runtime-endpoint=run/x.sock", NULL};
	struct agent_config *cfg;

	cfg = load_ok(f, ARGC(argv), argv);
	assert_string_equal(cfg->container_runtime_endpoint, AGENT_DEFAULT_RUNTIME_ENDPOINT);
	assert_src(cfg, AGENT_CONTAINER_RUNTIME_ENDPOINT, "default");
	assert_true(cfg->kubelet_cgroups_per_qos);
	assert_null(cfg->kubelet_cgroup_root);
	/* A named kubelet config that cannot be read is said, not fatal here. */
	assert_non_null(strstr(cfg->kubelet_config_problem, "/nonexistent"));
	agent_config_free(cfg);
	expect_error(f, ARGC(tcp), tcp, KC_EINVAL, "--container-runtime-endpoint");
	/* The kubelet's own endpoint unusable (Windows named pipe, TCP): said, default used. */
	{
		char *kc = tu_put(f->dir, "k2/config.yaml",
		                  "kind: KubeletConfiguration\nstaticPodPath: /m\n"
		                  "containerRuntimeEndpoint: npipe:////./pipe/containerd\n");
		char *named[] = {"run", "--kubeconfig=/k", "--node-name=n", "--kubelet-config", kc,
		                 NULL};

		cfg = load_ok(f, ARGC(named), named);
		assert_string_equal(cfg->container_runtime_endpoint,
		                    AGENT_DEFAULT_RUNTIME_ENDPOINT);
		assert_non_null(strstr(cfg->kubelet_config_problem, "npipe:"));
		agent_config_free(cfg);
		free(kc);
	}
	expect_error(f, ARGC(rel), rel, KC_EINVAL, "unix:///absolute/path");
}

static void test_discovery_problems(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {"run", NULL};
	char *given[] = {"run",
	                 "--kubeconfig=/k",
	                 "--node-name=n",
	                 "--kubelet-config=/c",
	                 "--static-pod-path=/m",
	                 NULL};
	char *named_missing[] = {"run", "--kubelet-config=/nonexistent/config.yaml", NULL};
	const char *a[] = {"kubelet", "--kubeconfig=/a", NULL};
	const char *b[] = {"kubelet", "--kubeconfig=/b", NULL};
	struct agent_config *cfg;
	struct agent_env bad_host = {f->proc, "under_score"};

	expect_error(f, ARGC(named_missing), named_missing, KC_ENOTFOUND,
	             "or give --static-pod-path");
	tu_fake_process(f->proc, 10, a);
	tu_fake_process(f->proc, 11, b);
	expect_error(f, ARGC(argv), argv, KC_EINVAL, "looking for the kubelet: ");
	/* With everything given the kubelet is not needed, ambiguous or not. */
	cfg = load_ok(f, ARGC(given), given);
	assert_int_equal(cfg->kubelet_pid, 0);
	agent_config_free(cfg);

	tu_rmrf(f->proc);
	free(tu_put(f->dir, "proc/1/cmdline", "/sbin/init"));
	f->env = bad_host;
	expect_error(f, ARGC(argv), argv, KC_EINVAL,
	             "node name \"under_score\" from the host name");
}

static void test_help_usage_and_log(void **state)
{
	struct fixture *f = *state;
	char *help1[] = {"run", "--state-dir=/x", "--help", NULL};
	char *help2[] = {"run", "-h", NULL};
	char *nohelp[] = {"run", "--", "--help", NULL};
	char *argv[] = {"run", NULL};
	char *text = NULL;
	size_t len = 0, i;
	FILE *m;
	struct agent_config *cfg;

	assert_true(agent_config_wants_help(ARGC(help1), help1));
	assert_true(agent_config_wants_help(ARGC(help2), help2));
	assert_false(agent_config_wants_help(ARGC(nohelp), nohelp));
	assert_false(agent_config_wants_help(ARGC(argv), argv));

	m = open_memstream(&text, &len);
	agent_config_print_usage(m);
	fclose(m);
	for (i = 0; i < AGENT_SETTING_COUNT; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--%s ", agent_setting_flag((enum agent_setting)i));
		assert_non_null(strstr(text, flag));
		assert_non_null(strstr(text, agent_setting_key((enum agent_setting)i)));
	}
	free(text);

	cfg = load_ok(f, ARGC(argv), argv);
	agent_config_log(cfg); /* must not crash on any setting; output goes to stderr */
	agent_config_free(cfg);
}

/*
 * The shipped /etc/kubelet-checkpoint/config.yaml lists every key commented
 * out at its default: uncommented, it must load, and its values must be the
 * defaults (nodeName and metricsFile are examples, not defaults).
 */
static void test_shipped_config_file(void **state)
{
	struct fixture *f = *state;
	char *shipped = tu_read_file(KC_SOURCE_DIR "/packaging/config.yaml", NULL), *line, *save;
	char *file, *text = NULL;
	size_t len = 0;
	FILE *m;
	struct agent_config *cfg, *def;
	char *with_file[] = {"run", "--config", NULL, NULL};
	char *without[] = {"run", NULL};

	if (shipped == NULL)
		skip();
	m = open_memstream(&text, &len);
	for (line = strtok_r(shipped, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (line[0] == '#' &&
		    (islower((unsigned char)line[1]) || strncmp(line, "#  - ", 5) == 0))
			fprintf(m, "%s\n", line + 1);
	fclose(m);
	file = tu_put(f->dir, "config.yaml", text);
	with_file[2] = file;
	cfg = load_ok(f, ARGC(with_file), with_file);
	def = load_ok(f, ARGC(without), without);
	assert_src(cfg, AGENT_STATE_DIR, "config file");
	assert_src(cfg, AGENT_VERBOSITY, "config file");
	assert_src(cfg, AGENT_NAMESPACE, "config file");
	assert_string_equal(cfg->kubeconfig, def->kubeconfig);
	assert_string_equal(cfg->kubelet_config, def->kubelet_config);
	assert_string_equal(cfg->static_pod_path, AGENT_DEFAULT_STATIC_POD_PATH);
	assert_string_equal(cfg->state_dir, def->state_dir);
	assert_string_equal(cfg->flag_file, def->flag_file);
	assert_string_equal(cfg->cgroup_root, def->cgroup_root);
	assert_string_equal(cfg->status_file, def->status_file);
	assert_int_equal(cfg->unreachable_after, def->unreachable_after);
	assert_int_equal(cfg->reachable_after, def->reachable_after);
	assert_int_equal(cfg->gc_grace, def->gc_grace);
	assert_int_equal(cfg->verbosity, def->verbosity);
	assert_int_equal(cfg->annotations.len, 1);
	assert_string_equal(cfg->annotations.items[0], def->annotations.items[0]);
	assert_int_equal(cfg->namespaces.len, 1);
	assert_string_equal(cfg->namespaces.items[0], def->namespaces.items[0]);
	agent_config_free(cfg);
	agent_config_free(def);
	free(file);
	free(text);
	free(shipped);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_defaults_without_kubelet),
	    T(test_inherited_from_kubelet),
	    T(test_pod_manifest_path_flag_beats_kubelet_config),
	    T(test_named_kubelet_config_vs_running_kubelet),
	    T(test_kubelet_config_without_static_pod_path),
	    T(test_precedence_flag_file_kubelet_default),
	    T(test_every_key_in_file),
	    T(test_every_flag),
	    T(test_bad_flags),
	    T(test_bad_file_keys_and_types),
	    T(test_file_value_checked_even_when_flag_wins),
	    T(test_empty_file_and_reload),
	    T(test_runtime_and_cgroups_from_kubelet),
	    T(test_runtime_endpoint_default_and_bad),
	    T(test_discovery_problems),
	    T(test_help_usage_and_log),
	    T(test_shipped_config_file),
	    T(test_identity_given_needs_no_kubelet),
	    T(test_optional_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
