/*
 * agent_fixture.h: an agent context for the unit tests of src/agent/
 * (test_agent_sync.c, test_agent_effects.c), as sources_open builds it but
 * without the file watch and signals, on a temp dir: state dir, staticPodPath,
 * flag file (present), an empty pod-cgroup tree (local pods known: none run),
 * a container runtime socket that does not exist, and a real API client that
 * is never stepped (nothing leaves the process). Header-only, as
 * render_testpod.h: each test program is one file.
 */
#ifndef KC_AGENT_FIXTURE_H
#define KC_AGENT_FIXTURE_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_int.h"
#include "kc_clock.h"
#include "kc_names.h"
#include "render_testpod.h"

/* The bridge manifest of tp_pod(). */
#define AF_MANIFEST KC_MANIFEST_PREFIX "kube-system_agent-x7k2p" KC_MANIFEST_SUFFIX

struct agent_fixture {
	char *dir;
	char state[512], static_dir[512], flag[512], kubeconfig[512], cgroup[512];
	char endpoint[600];
	struct agent_config cfg;
	struct agent a;
	struct api_callbacks cb;
	int64_t t0; /* the agent's start: the API has not answered since */
};

static char *af_annotations[] = {KC_DEFAULT_TRIGGER_ANNOTATION};
static char *af_namespaces[] = {"kube-system"};

static inline void af_open(struct agent_fixture *f)
{
	struct agent *a = &f->a;
	struct kc_error err;

	memset(a, 0, sizeof(*a));
	a->cfg = &f->cfg;
	a->ropts.node_name = f->cfg.node_name;
	a->ropts.state_dir = f->cfg.state_dir;
	a->ropts.annotations = (const char *const *)af_annotations;
	a->ropts.nannotations = 1;
	a->ropts.namespaces = (const char *const *)af_namespaces;
	a->ropts.nnamespaces = 1;
	a->ignored_logged = json_array();
	a->activated_at = json_object();
	a->sigfd = -1;
	a->last_activation_ms = -1;
	f->t0 = kc_clock_ms();
	parent_table_init(&a->parents);
	evq_init(&a->ev.queue, EVQ_DEFAULT_CAP);
	reachability_init(&a->reach, f->t0, 30000, 15000);
	/* The first request failed at start: an outage needs a failed attempt
	 * (reachability.h), and the window runs from start. */
	reachability_on_failure(&a->reach, f->t0);
	if (kubeconfig_load(f->kubeconfig, &a->kubeconfig, &err) != KC_OK ||
	    ckpt_store_open(f->state, &a->store, &err) != KC_OK ||
	    local_state_init(&a->local, f->endpoint, true, f->cgroup, "/kubelet", "cgroupfs", true,
	                     &err) != KC_OK)
		fail_msg("%s", err.msg);
	agent_sync_callbacks(a, &f->cb);
	if (api_client_new(a->kubeconfig, "node-1", &f->cb, &a->api, &err) != KC_OK)
		fail_msg("%s", err.msg);
}

static inline void af_close(struct agent_fixture *f)
{
	struct agent *a = &f->a;
	size_t i;

	if (a->bridge != NULL)
		bridge_dir_close(a->bridge);
	api_client_free(a->api);
	kubeconfig_free(a->kubeconfig);
	ckpt_store_close(a->store);
	local_state_free(&a->local);
	parent_table_free(&a->parents);
	evq_free(&a->ev.queue);
	for (i = 0; i < a->nbridge_files; i++)
		free(a->bridge_files[i]);
	free(a->bridge_files);
	json_decref(a->ignored_logged);
	json_decref(a->activated_at);
	json_decref(a->ckpt_retry);
	kc_buf_free(&a->handoff_file.saved);
}

static inline void af_path(struct agent_fixture *f, char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "%s/%s", f->dir, name);
}

static inline int af_setup(void **state)
{
	static const char kubeconfig_yaml[] =
	    "apiVersion: v1\nkind: Config\n"
	    "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n"
	    "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	    "users:\n- name: u\n  user: {token: t}\n";
	struct agent_fixture *f = calloc(1, sizeof(*f));
	char dir[600];

	f->dir = tu_mkdtemp();
	af_path(f, f->state, sizeof(f->state), "state");
	af_path(f, f->static_dir, sizeof(f->static_dir), "manifests");
	af_path(f, f->flag, sizeof(f->flag), "enabled");
	af_path(f, f->kubeconfig, sizeof(f->kubeconfig), "kubelet.conf");
	af_path(f, f->cgroup, sizeof(f->cgroup), "cgroup");
	snprintf(f->endpoint, sizeof(f->endpoint), "unix://%s/no-runtime.sock", f->dir);
	mkdir(f->static_dir, 0755);
	mkdir(f->cgroup, 0755);
	snprintf(dir, sizeof(dir), "%s/kubelet", f->cgroup);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/kubelet/kubepods", f->cgroup);
	mkdir(dir, 0755);
	tu_write_file(f->flag, "", 0, 0644);
	tu_write_file(f->kubeconfig, kubeconfig_yaml, strlen(kubeconfig_yaml), 0600);
	f->cfg.node_name = "node-1";
	f->cfg.state_dir = f->state;
	f->cfg.static_pod_path = f->static_dir;
	f->cfg.flag_file = f->flag;
	f->cfg.kubeconfig = f->kubeconfig;
	f->cfg.gc_grace = 60;
	f->cfg.unreachable_after = 30;
	f->cfg.reachable_after = 15;
	f->cfg.bridge_start_timeout = 60;
	af_open(f);
	*state = f;
	return 0;
}

static inline int af_teardown(void **state)
{
	struct agent_fixture *f = *state;

	af_close(f);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* List tp_pod() (tracked, nothing on disk yet), then hand over its (no) objects. */
static inline struct parent_rec *af_checkpoint(struct agent_fixture *f)
{
	json_t *pods = json_array(), *objects = json_array();

	json_array_append_new(pods, tp_pod());
	f->cb.pods_listed(f->cb.ctx, pods);
	json_decref(pods);
	assert_non_null(parent_table_find(&f->a.parents, TP_UID));
	assert_int_equal(parent_table_find(&f->a.parents, TP_UID)->ckpt, PARENT_CKPT_NONE);
	f->cb.refs_fetched(f->cb.ctx, TP_UID, objects, NULL);
	json_decref(objects);
	return parent_table_find(&f->a.parents, TP_UID);
}

/* af_setup, then the parent listed and checkpointed while the API was up. */
static inline int af_setup_checkpointed(void **state)
{
	af_setup(state);
	af_checkpoint(*state);
	return 0;
}

/* cmocka's run, with libcurl initialised once as the program does. */
static inline int af_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

#endif
