/*
 * test_kubelet_discovery.c: finding the kubelet in fake /proc trees, reading
 * its flags in every pflag form, and staticPodPath from its config files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubelet_discovery.h"
#include "testutil.h"
#include "tu_tree.h"

/* Parse argv (NULL-terminated) as /proc/<pid>/cmdline bytes. */
static kc_code parse_argv(const char *const *argv, bool *is_kubelet, struct kubelet_cmdline *out,
                          struct kc_error *err)
{
	char buf[4096];
	size_t n = 0, len;

	for (; *argv != NULL; argv++) {
		len = strlen(*argv) + 1;
		assert_true(n + len <= sizeof(buf));
		memcpy(buf + n, *argv, len);
		n += len;
	}
	memset(out, 0, sizeof(*out));
	return kubelet_parse_cmdline(buf, n, is_kubelet, out, err);
}

static void test_flag_forms(void **state)
{
	const char *argv[] = {"/usr/bin/kubelet",
	                      "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
	                      "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                      "--config",
	                      "/var/lib/kubelet/config.yaml",
	                      "--v=2",
	                      "--hostname_override",
	                      "Worker-1",
	                      "--pod-manifest-path=/etc/kubernetes/manifests",
	                      "--container-runtime-endpoint",
	                      "unix:///run/containerd/containerd.sock",
	                      NULL};
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is_kubelet;

	assert_int_equal(parse_argv(argv, &is_kubelet, &c, &err), KC_OK);
	assert_true(is_kubelet);
	assert_string_equal(c.kubeconfig, "/etc/kubernetes/kubelet.conf");
	assert_string_equal(c.config, "/var/lib/kubelet/config.yaml");
	assert_string_equal(c.hostname_override, "Worker-1"); /* lowercasing is the caller's */
	assert_string_equal(c.pod_manifest_path, "/etc/kubernetes/manifests");
	assert_null(c.config_dir);
	kubelet_cmdline_free(&c);
}

static void test_last_wins_empty_unsets_and_double_dash(void **state)
{
	const char *argv[] = {"kubelet",
	                      "--kubeconfig=/a",
	                      "--kubeconfig",
	                      "/b",
	                      "--config=/c",
	                      "--config=",
	                      "--config-dir",
	                      "--weird-but-pflag-takes-it",
	                      "--",
	                      "--hostname-override=after-dashes",
	                      NULL};
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is_kubelet;

	assert_int_equal(parse_argv(argv, &is_kubelet, &c, &err), KC_OK);
	assert_string_equal(c.kubeconfig, "/b");
	assert_null(c.config);
	assert_string_equal(c.config_dir, "--weird-but-pflag-takes-it");
	assert_null(c.hostname_override);
	kubelet_cmdline_free(&c);
}

/* The runtime and cgroup flags (issue 10); --cgroups-per-qos is a pflag boolean. */
static void test_runtime_and_cgroup_flags(void **state)
{
	const char *alone[] = {"kubelet", "--cgroups-per-qos", "--kubeconfig",
	                       "/k",      "--cgroup-driver",   "systemd",
	                       NULL};
	const char *valued[] = {"kubelet",
	                        "--cgroups_per_qos=false",
	                        "--container-runtime-endpoint",
	                        "unix:///var/run/crio/crio.sock",
	                        "--cgroup-root=/kubelet",
	                        NULL};
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is;

	assert_int_equal(parse_argv(alone, &is, &c, &err), KC_OK);
	/* Alone it is "true" and does not take the next argument as its value. */
	assert_string_equal(c.cgroups_per_qos, "true");
	assert_string_equal(c.kubeconfig, "/k");
	assert_string_equal(c.cgroup_driver, "systemd");
	kubelet_cmdline_free(&c);
	assert_int_equal(parse_argv(valued, &is, &c, &err), KC_OK);
	assert_string_equal(c.cgroups_per_qos, "false");
	assert_int_equal(kubelet_parse_bool(c.cgroups_per_qos), 0);
	assert_string_equal(c.runtime_endpoint, "unix:///var/run/crio/crio.sock");
	assert_string_equal(c.cgroup_root, "/kubelet");
	kubelet_cmdline_free(&c);
	assert_int_equal(kubelet_parse_bool("T"), 1);
	assert_int_equal(kubelet_parse_bool("0"), 0);
	assert_int_equal(kubelet_parse_bool("yes"), -1);
	assert_int_equal(kubelet_parse_bool(NULL), -1);
}

static void test_not_a_kubelet(void **state)
{
	const char *names[] = {"kubelet-checkpoint", "/usr/bin/kubeletx", "/opt/kubelet/bin/sh",
	                       "kube", ""};
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is_kubelet = true;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *argv[] = {names[i], "--kubeconfig=/x", NULL};

		assert_int_equal(parse_argv(argv, &is_kubelet, &c, &err), KC_OK);
		assert_false(is_kubelet);
		assert_null(c.kubeconfig);
	}
	/* A kernel thread has an empty cmdline. */
	assert_int_equal(kubelet_parse_cmdline("", 0, &is_kubelet, &c, &err), KC_OK);
	assert_false(is_kubelet);
}

static void test_missing_value_and_unterminated_last_arg(void **state)
{
	const char *argv[] = {"kubelet", "--v=2", "--kubeconfig", NULL};
	static const char raw[] = "kubelet\0--config=/etc/k.yaml"; /* no final NUL */
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is_kubelet;

	assert_int_equal(parse_argv(argv, &is_kubelet, &c, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "--kubeconfig has no value"));

	memset(&c, 0, sizeof(c));
	assert_int_equal(kubelet_parse_cmdline(raw, sizeof(raw) - 1, &is_kubelet, &c, &err), KC_OK);
	assert_string_equal(c.config, "/etc/k.yaml");
	kubelet_cmdline_free(&c);
}

/* A /proc with noise: init, a kernel thread, ourselves, non-pid entries. */
static char *noisy_proc(void)
{
	char *root = tu_mkdtemp(), *p;
	const char *init[] = {"/sbin/init", "splash", NULL};
	const char *containerd[] = {"/usr/bin/containerd", NULL};
	const char *agent[] = {"/usr/bin/kubelet-checkpoint", "run", "--kubeconfig=/wrong", NULL};

	tu_fake_process(root, 1, init);
	tu_fake_process(root, 300, containerd);
	tu_fake_process(root, 400, agent);
	free(tu_put(root, "2/cmdline", "")); /* kthreadd */
	free(tu_put(root, "sys/kernel/hostname", "x\n"));
	free(tu_put(root, "cpuinfo", "x\n"));
	p = tu_put(root, "12abc/cmdline", "kubelet");
	free(p);
	return root;
}

static void test_discover_among_processes(void **state)
{
	char *root = noisy_proc();
	const char *kubelet[] = {"/usr/bin/kubelet", "--kubeconfig", "/etc/kubernetes/kubelet.conf",
	                         "--config=/var/lib/kubelet/config.yaml", NULL};
	struct kubelet_info ki;
	struct kc_error err;

	tu_fake_process(root, 1234, kubelet);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 1234);
	assert_string_equal(ki.flags.kubeconfig, "/etc/kubernetes/kubelet.conf");
	assert_string_equal(ki.flags.config, "/var/lib/kubelet/config.yaml");
	assert_null(ki.flags.hostname_override);
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

static void test_no_kubelet(void **state)
{
	char *root = noisy_proc();
	struct kubelet_info ki;
	struct kc_error err;

	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 0);
	assert_null(ki.flags.kubeconfig);
	tu_rmrf(root);
	free(root);
	assert_int_equal(kubelet_discover("/nonexistent-proc-root", &ki, &err), KC_EIO);
}

static void test_several_kubelets(void **state)
{
	char *root = noisy_proc();
	const char *a[] = {"kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf", NULL};
	const char *b[] = {"/usr/local/bin/kubelet", "--kubeconfig=/other.conf", NULL};
	struct kubelet_info ki;
	struct kc_error err;

	/* Identical flags (a wrapper and the binary): the lowest pid. */
	tu_fake_process(root, 900, a);
	tu_fake_process(root, 77, a);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 77);
	kubelet_info_free(&ki);

	/* Different flags: ambiguous, an error naming both. */
	tu_fake_process(root, 500, b);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "different flags"));
	assert_non_null(strstr(err.msg, "500"));
	assert_non_null(strstr(err.msg, "--static-pod-path"));

	/* ... unless the other one lives in another PID namespace (a kind node). */
	tu_put_link(root, "self/ns/pid", "pid:[4026531836]");
	tu_put_link(root, "77/ns/pid", "pid:[4026531836]");
	tu_put_link(root, "900/ns/pid", "pid:[4026531836]");
	tu_put_link(root, "500/ns/pid", "pid:[4026532999]");
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 77);
	assert_string_equal(ki.flags.kubeconfig, "/etc/kubernetes/kubelet.conf");
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

static void test_relative_flags_use_kubelet_cwd(void **state)
{
	char *root = noisy_proc();
	const char *k[] = {"kubelet",
	                   "--config=conf/config.yaml",
	                   "--hostname-override=n1",
	                   "--kubeconfig",
	                   "/abs.conf",
	                   NULL};
	struct kubelet_info ki;
	struct kc_error err;

	tu_fake_process(root, 42, k);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "--config=conf/config.yaml is relative"));

	tu_put_link(root, "42/cwd", "/var/lib/kubelet");
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_string_equal(ki.flags.config, "/var/lib/kubelet/conf/config.yaml");
	assert_string_equal(ki.flags.kubeconfig, "/abs.conf");
	assert_string_equal(ki.flags.hostname_override, "n1"); /* not a path */
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

/*
 * Any user can start a process called "kubelet" with flags of their choosing:
 * only root running a root-owned binary nobody else can write counts. The
 * untrusted ones are ignored, whatever their flags (different flags, a
 * malformed cmdline), never an error.
 */
static void test_untrusted_kubelets_are_ignored(void **state)
{
	char *root = noisy_proc();
	const char *evil[] = {"kubelet", "--kubeconfig=/tmp/evil.conf",
	                      "--hostname-override=victim", NULL};
	const char *evil2[] = {"kubelet", "--kubeconfig=/tmp/other.conf", NULL};
	const char *broken[] = {"kubelet", "--kubeconfig", NULL};
	const char *real[] = {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                      NULL};
	const struct tu_identity nobody = {"65534\t65534\t65534\t65534", 0755, 0, NULL};
	const struct tu_identity setuid_ish = {"1000\t0\t0\t0", 0755, 0, NULL};
	const struct tu_identity fs_uid = {"0\t0\t0\t1000", 0755, 0, NULL};
	const struct tu_identity world_writable = {"0\t0\t0\t0", 0777, 0, NULL};
	const struct tu_identity group_writable = {"0\t0\t0\t0", 0775, 0, NULL};
	const struct tu_identity user_binary = {"0\t0\t0\t0", 0755, 1000, NULL};
	struct kubelet_info ki;
	struct kc_error err;

	tu_fake_process_as(root, 2001, evil, &nobody);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 0);
	assert_null(ki.flags.kubeconfig);
	assert_int_equal(ki.ignored, 1);
	assert_non_null(strstr(ki.why_none, "2001"));
	assert_non_null(strstr(ki.why_none, "uid 65534"));

	tu_fake_process_as(root, 2002, evil2, &setuid_ish);
	tu_fake_process_as(root, 2003, evil, &fs_uid);
	tu_fake_process_as(root, 2004, evil2, &world_writable);
	tu_fake_process_as(root, 2005, evil, &group_writable);
	tu_fake_process_as(root, 2006, evil2, &user_binary);
	tu_fake_process_as(root, 2007, broken, &nobody);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 0);
	assert_int_equal(ki.ignored, 7);
	kubelet_info_free(&ki);

	/* The real kubelet among them is found, and only it. */
	tu_fake_process(root, 2500, real);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 2500);
	assert_string_equal(ki.flags.kubeconfig, "/etc/kubernetes/kubelet.conf");
	assert_int_equal(ki.ignored, 7);
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

static void test_untrusted_reasons(void **state)
{
	static const struct {
		struct tu_identity id;
		const char *why;
	} cases[] = {
	    {{"1000\t0\t0\t0", 0755, 0, NULL}, "uid 1000 (real)"},
	    {{"0\t1000\t0\t0", 0755, 0, NULL}, "1000 (effective)"},
	    {{"0\t0\t1000\t0", 0755, 0, NULL}, "1000 (saved)"},
	    {{"0\t0\t0\t1000", 0755, 0, NULL}, "1000 (fs)"},
	    {{"0\t0\t0\t0", 0757, 0, NULL}, "writable by others"},
	    {{"0\t0\t0\t0", 0775, 0, NULL}, "writable by its group"},
	    {{"0\t0\t0\t0", 0755, 1000, NULL}, "owned by uid 1000"},
	};
	const char *k[] = {"kubelet", NULL};
	struct kubelet_info ki;
	struct kc_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *root = noisy_proc();

		tu_fake_process_as(root, 77, k, &cases[i].id);
		assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
		assert_int_equal(ki.pid, 0);
		if (strstr(ki.why_none, cases[i].why) == NULL)
			fail_msg("case %zu: %s lacks %s", i, ki.why_none, cases[i].why);
		tu_rmrf(root);
		free(root);
	}
	/* No status (or no Uid: line) and no exe: not trusted either. */
	{
		char *root = noisy_proc();

		free(tu_put(root, "88/cmdline", "kubelet"));
		assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
		assert_int_equal(ki.pid, 0);
		assert_non_null(strstr(ki.why_none, "status cannot be read"));
		free(tu_put(root, "88/status", "Name:\tkubelet\nGid:\t0\t0\t0\t0\n"));
		assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
		assert_non_null(strstr(ki.why_none, "no readable Uid"));
		free(tu_put(root, "88/status", "Uid:\t0\t0\t0\t0\n"));
		assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
		assert_int_equal(ki.pid, 0);
		assert_non_null(strstr(ki.why_none, "executable cannot be inspected"));
		tu_put_link(root, "88/exe", root); /* a directory */
		assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
		assert_non_null(strstr(ki.why_none, "not a regular file"));
		tu_rmrf(root);
		free(root);
	}
}

/* Two root kubelets with different flags: the one in kubelet.service is the node's. */
static void test_kubelet_service_wins(void **state)
{
	char *root = noisy_proc();
	const char *other[] = {"kubelet", "--kubeconfig=/srv/kind/kubelet.conf", NULL};
	const char *unit_k[] = {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                        NULL};
	const struct tu_identity v2 = {"0\t0\t0\t0", 0755, 0, "0::/system.slice/kubelet.service\n"};
	const struct tu_identity look_alike = {"0\t0\t0\t0", 0755, 0,
	                                       "0::/system.slice/kubelet.service-x.scope\n"};
	const struct tu_identity v1 = {"0\t0\t0\t0", 0755, 0,
	                               "12:pids:/system.slice/kubelet.service\n"
	                               "1:name=systemd:/system.slice/kubelet.service\n"};
	struct kubelet_info ki;
	struct kc_error err;

	const char *third[] = {"kubelet", "--kubeconfig=/srv/third.conf", NULL};

	/* Two root kubelets outside the unit disagree: no matter, the unit's one is there. */
	tu_fake_process_as(root, 30, other, &look_alike);
	tu_fake_process(root, 35, third);
	tu_fake_process_as(root, 40, unit_k, &v2);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 40);
	assert_true(ki.in_unit);
	assert_string_equal(ki.flags.kubeconfig, "/etc/kubernetes/kubelet.conf");
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);

	root = noisy_proc();
	tu_fake_process_as(root, 40, unit_k, &v1);
	tu_fake_process(root, 50, other);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 40);
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

/*
 * A root "kubelet" of a hostPID container (another mount namespace) is not
 * the node's, however trustworthy its binary looks; the agent's own
 * namespace and init's (systemd sandboxes the agent's unit) are (issue 19
 * item 4). Namespaces are compared by what the ns/mnt links stat to.
 */
static void test_other_mount_namespace_is_ignored(void **state)
{
	char *root = noisy_proc(), *host, *sandbox, *container;
	const char *evil[] = {"/usr/bin/kubelet", "--kubeconfig=/evil.conf", NULL};
	const char *real[] = {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                      NULL};
	struct kubelet_info ki;
	struct kc_error err;

	(void)state;
	host = tu_put(root, "nsfs/host", "");
	sandbox = tu_put(root, "nsfs/sandbox", "");
	container = tu_put(root, "nsfs/container", "");
	tu_put_link(root, "self/ns/mnt", sandbox); /* the agent, sandboxed by its unit */
	tu_put_link(root, "1/ns/mnt", host);
	tu_fake_process(root, 700, evil);
	tu_put_link(root, "700/ns/mnt", container);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 0);
	assert_int_equal(ki.ignored, 1);
	assert_non_null(strstr(ki.why_none, "700"));
	assert_non_null(strstr(ki.why_none, "mount namespace"));
	kubelet_info_free(&ki);

	/* In init's namespace (kubelet.service): the node's kubelet. */
	tu_fake_process(root, 800, real);
	tu_put_link(root, "800/ns/mnt", host);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 800);
	assert_string_equal(ki.flags.kubeconfig, "/etc/kubernetes/kubelet.conf");
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);

	/* In the agent's own namespace (both started by hand), and one that hides its namespace. */
	free(sandbox);
	root = noisy_proc();
	sandbox = tu_put(root, "nsfs/own", "");
	tu_put_link(root, "self/ns/mnt", sandbox);
	tu_fake_process(root, 900, real);
	tu_put_link(root, "900/ns/mnt", sandbox);
	tu_fake_process(root, 901, evil); /* no ns/mnt to look at */
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 900);
	assert_int_equal(ki.ignored, 1);
	kubelet_info_free(&ki);
	free(host);
	free(sandbox);
	free(container);
	tu_rmrf(root);
	free(root);
}

/* A process in a pod's cgroup is a container's, under either driver, v1 or v2. */
static void test_pod_cgroup_is_ignored(void **state)
{
	char *root = noisy_proc();
	const char *evil[] = {"/usr/bin/kubelet", "--kubeconfig=/evil.conf", NULL};
	const char *real[] = {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                      NULL};
	const struct tu_identity systemd_pod = {
	    "0\t0\t0\t0", 0755, 0,
	    "0::/kubepods.slice/kubepods-burstable.slice/"
	    "kubepods-burstable-pod0b8f4a52_3c1e_4d2a_9f1e_7a6b5c4d3e2f.slice/"
	    "cri-containerd-abc.scope\n"};
	const struct tu_identity guaranteed = {
	    "0\t0\t0\t0", 0755, 0,
	    "0::/kubepods.slice/kubepods-pod0b8f4a52_3c1e_4d2a_9f1e_7a6b5c4d3e2f.slice/x\n"};
	const struct tu_identity cgroupfs_v1 = {"0\t0\t0\t0", 0755, 0,
	                                        "12:pids:/system.slice/containerd.service\n"
	                                        "4:memory:/custom/kubepods/besteffort/"
	                                        "pod0b8f4a52-3c1e-4d2a-9f1e-7a6b5c4d3e2f/abc\n"};
	const struct tu_identity host = {"0\t0\t0\t0", 0755, 0,
	                                 "0::/system.slice/kubelet.service\n"
	                                 "1:name=systemd:/podman/kubepods\n"};
	struct kubelet_info ki;
	struct kc_error err;

	(void)state;
	tu_fake_process_as(root, 60, evil, &systemd_pod);
	tu_fake_process_as(root, 61, evil, &guaranteed);
	tu_fake_process_as(root, 62, evil, &cgroupfs_v1);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 0);
	assert_int_equal(ki.ignored, 3);
	assert_non_null(strstr(ki.why_none, "pod cgroup"));
	kubelet_info_free(&ki);
	tu_fake_process_as(root, 70, real, &host);
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 70);
	assert_int_equal(ki.ignored, 3);
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

/* A restarted kubelet is another process: another pid, or its pid with another start time. */
static void test_start_time_tells_a_restart(void **state)
{
	char *root = noisy_proc();
	const char *real[] = {"/usr/bin/kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
	                      NULL};
	struct kubelet_info ki;
	struct kc_error err;

	(void)state;
	tu_fake_process(root, 70, real);
	/* The command name may hold ") ": only the last ')' ends it. Field 22 is 987654. */
	free(tu_put(root, "70/stat",
	            "70 (kube) let) S 1 70 70 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 987654 "
	            "800000 1000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n"));
	assert_int_equal(kubelet_discover(root, &ki, &err), KC_OK);
	assert_int_equal(ki.pid, 70);
	assert_true(ki.start_time == 987654ULL);
	assert_true(kubelet_still_running(root, 70, 987654ULL));
	assert_false(kubelet_still_running(root, 70, 987655ULL));
	assert_false(kubelet_still_running(root, 71, 987654ULL));
	/* Exited but not reaped yet: a zombie keeps its /proc entry, not its job. */
	free(tu_put(root, "70/stat",
	            "70 (kube) let) Z 1 70 70 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 987654 "
	            "800000 1000 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n"));
	assert_false(kubelet_still_running(root, 70, 987654ULL));
	kubelet_info_free(&ki);
	tu_rmrf(root);
	free(root);
}

/*
 * The real /proc: whatever runs here, scanning it must work: one kubelet (or
 * none) is found, or, where several kubelets with different flags run (a
 * machine that runs the kubernetes tier beside these tests), the scan says
 * so instead of choosing.
 */
static void test_real_proc(void **state)
{
	struct kubelet_info ki;
	struct kc_error err;
	kc_code rc = kubelet_discover("/proc", &ki, &err);

	if (rc != KC_OK) {
		assert_int_equal(rc, KC_EINVAL);
		assert_non_null(strstr(err.msg, "cannot tell which one is this node's"));
		return;
	}
	assert_true(ki.pid >= 0);
	kubelet_info_free(&ki);
}

static void expect_spp(const char *dir, const char *config_yaml, const char *dropin_dir,
                       kc_code want_rc, const char *want)
{
	char *cfg = tu_put(dir, "config.yaml", config_yaml), *path = (char *)"unset";
	struct kc_error err;

	assert_int_equal(kubelet_config_static_pod_path(cfg, dropin_dir, &path, &err), want_rc);
	if (want_rc == KC_OK && want == NULL)
		assert_null(path);
	else if (want_rc == KC_OK)
		assert_string_equal(path, want);
	else
		assert_non_null(strstr(err.msg, want));
	if (want_rc == KC_OK)
		free(path);
	free(cfg);
}

static void test_static_pod_path_from_config(void **state)
{
	char *dir = tu_mkdtemp(), *rel_want;

	expect_spp(dir,
	           "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
	           "staticPodPath: /etc/kubernetes/manifests\ncgroupDriver: systemd\n",
	           NULL, KC_OK, "/etc/kubernetes/manifests");
	expect_spp(dir, "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
	           NULL, KC_OK, NULL);
	expect_spp(dir, "kind: KubeletConfiguration\nstaticPodPath: \"\"\n", NULL, KC_OK, NULL);
	expect_spp(dir, "{\"kind\":\"KubeletConfiguration\",\"staticPodPath\":\"/m\"}", NULL, KC_OK,
	           "/m");
	/* The kubelet resolves relative paths against the config file's directory. */
	if (asprintf(&rel_want, "%s/manifests", dir) < 0)
		abort();
	expect_spp(dir, "kind: KubeletConfiguration\nstaticPodPath: manifests\n", NULL, KC_OK,
	           rel_want);
	free(rel_want);
	expect_spp(dir, "kind: KubeletConfiguration\nstaticPodPath: 12\n", NULL, KC_EINVAL,
	           "staticPodPath: expected a string");
	expect_spp(dir, "kind: Pod\nstaticPodPath: /x\n", NULL, KC_EINVAL,
	           "kind: expected KubeletConfiguration");
	expect_spp(dir, "", NULL, KC_EINVAL, "an empty file");
	expect_spp(dir, "kind: KubeletConfiguration\n---\nkind: KubeletConfiguration\n", NULL,
	           KC_EINVAL, "expected one KubeletConfiguration");
	expect_spp(dir, "kind: [unclosed\n", NULL, KC_EINVAL, "config.yaml");
	tu_rmrf(dir);
	free(dir);
}

static void test_missing_config_file(void **state)
{
	struct kc_error err;
	char *path;

	assert_int_equal(
	    kubelet_config_static_pod_path("/nonexistent/config.yaml", NULL, &path, &err),
	    KC_ENOTFOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/config.yaml"));
}

static void test_dropins_override_in_lexical_order(void **state)
{
	char *dir = tu_mkdtemp(), *dropins, *want;

	if (asprintf(&dropins, "%s/conf.d", dir) < 0 || asprintf(&want, "%s/conf.d/rel", dir) < 0)
		abort();
	free(tu_put(dir, "conf.d/20-b.conf", "kind: KubeletConfiguration\nstaticPodPath: /b\n"));
	free(tu_put(dir, "conf.d/10-a.conf", "kind: KubeletConfiguration\nstaticPodPath: /a\n"));
	free(tu_put(dir, "conf.d/30-c.yaml", "staticPodPath: /not-a-dropin\n"));
	free(tu_put(dir, "conf.d/.99-hidden.conf", "staticPodPath: /hidden\n"));
	free(tu_put(dir, "conf.d/15-other.conf", "kind: KubeletConfiguration\nmaxPods: 50\n"));
	expect_spp(dir, "kind: KubeletConfiguration\nstaticPodPath: /base\n", dropins, KC_OK, "/b");

	free(tu_put(dir, "conf.d/40-rel.conf", "kind: KubeletConfiguration\nstaticPodPath: rel\n"));
	expect_spp(dir, "kind: KubeletConfiguration\n", dropins, KC_OK, want);

	free(tu_put(dir, "conf.d/50-bad.conf", "staticPodPath: [1]\n"));
	expect_spp(dir, "kind: KubeletConfiguration\n", dropins, KC_EINVAL, "50-bad.conf");
	expect_spp(dir, "kind: KubeletConfiguration\n", "/nonexistent-dropins", KC_ENOTFOUND,
	           "--config-dir");
	free(dropins);
	free(want);
	tu_rmrf(dir);
	free(dir);
}

/*
 * What issue 19's 1.35 checks read: failCgroupV1 (unset, false, true; a
 * drop-in wins; not a boolean is refused) and --image-credential-provider-config.
 */
static void test_fail_cgroup_v1_and_credential_provider_flag(void **state)
{
	const char *argv[] = {"kubelet", "--image-credential-provider-config=/etc/kubernetes/cp",
	                      NULL};
	char *dir = tu_mkdtemp(), *base, *dropins;
	struct kubelet_settings ks;
	struct kubelet_cmdline c;
	struct kc_error err;
	bool is;

	assert_int_equal(parse_argv(argv, &is, &c, &err), KC_OK);
	assert_string_equal(c.image_credential_provider_config, "/etc/kubernetes/cp");
	kubelet_cmdline_free(&c);
	if (asprintf(&dropins, "%s/conf.d", dir) < 0)
		abort();
	base = tu_put(dir, "config.yaml", "kind: KubeletConfiguration\n");
	assert_int_equal(kubelet_config_read(base, NULL, &ks, &err), KC_OK);
	assert_int_equal(ks.fail_cgroup_v1, -1);
	kubelet_settings_free(&ks);
	free(base);
	base = tu_put(dir, "config.yaml", "kind: KubeletConfiguration\nfailCgroupV1: false\n");
	assert_int_equal(kubelet_config_read(base, NULL, &ks, &err), KC_OK);
	assert_int_equal(ks.fail_cgroup_v1, 0);
	kubelet_settings_free(&ks);
	free(tu_put(dir, "conf.d/10-strict.conf",
	            "kind: KubeletConfiguration\nfailCgroupV1: true\n"));
	assert_int_equal(kubelet_config_read(base, dropins, &ks, &err), KC_OK);
	assert_int_equal(ks.fail_cgroup_v1, 1);
	assert_int_equal(ks.cgroups_per_qos, -1);
	kubelet_settings_free(&ks);
	free(tu_put(dir, "conf.d/20-bad.conf", "failCgroupV1: \"no\"\n"));
	assert_int_equal(kubelet_config_read(base, dropins, &ks, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "20-bad.conf: failCgroupV1: expected true or false"));
	free(base);
	free(dropins);
	tu_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flag_forms),
	    cmocka_unit_test(test_last_wins_empty_unsets_and_double_dash),
	    cmocka_unit_test(test_runtime_and_cgroup_flags),
	    cmocka_unit_test(test_not_a_kubelet),
	    cmocka_unit_test(test_missing_value_and_unterminated_last_arg),
	    cmocka_unit_test(test_discover_among_processes),
	    cmocka_unit_test(test_no_kubelet),
	    cmocka_unit_test(test_several_kubelets),
	    cmocka_unit_test(test_untrusted_kubelets_are_ignored),
	    cmocka_unit_test(test_untrusted_reasons),
	    cmocka_unit_test(test_kubelet_service_wins),
	    cmocka_unit_test(test_relative_flags_use_kubelet_cwd),
	    cmocka_unit_test(test_other_mount_namespace_is_ignored),
	    cmocka_unit_test(test_pod_cgroup_is_ignored),
	    cmocka_unit_test(test_start_time_tells_a_restart),
	    cmocka_unit_test(test_real_proc),
	    cmocka_unit_test(test_static_pod_path_from_config),
	    cmocka_unit_test(test_missing_config_file),
	    cmocka_unit_test(test_dropins_override_in_lexical_order),
	    cmocka_unit_test(test_fail_cgroup_v1_and_credential_provider_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
