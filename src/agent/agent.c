/*
 * agent.c: the lifecycle and the poll loop of `kubelet-checkpoint run`.
 *
 * One thread waits on everything at once: libcurl's sockets (through
 * api_client_wait), the inotify fd of the file watches and a signalfd. A
 * turn (sync, then the pass of agent_effects.c, then the report) runs when
 * something changed or when the decision said its output could change; at
 * rest the process sleeps. SIGTERM/SIGINT
 * end the loop between passes (bridge manifests stay: the kubelet may need
 * them); SIGHUP reloads the configuration and rebuilds state from disk, and
 * the answer (taken or rejected) goes into the status file, where
 * `kubelet-checkpoint reload` (the unit's ExecReload) waits for it.
 *
 * Before the loop, the agent waits for its prerequisites (agent_wait.c: the
 * kubelet, its kubeconfig), retrying with backoff, answering signals and the
 * watchdog meanwhile.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"
#include "agent_kubelet.h"
#include "kc_clock.h"
#include "kc_log.h"
#include "kc_names.h"
#include "kubeconfig.h"
#include "version.h"

static void handled_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/*
 * Blocked first thing, so a SIGTERM during start-up waits in the signalfd and
 * ends the agent cleanly (exit 0) instead of killing it half-started.
 */
static void block_signals(void)
{
	sigset_t set;

	handled_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static kc_code open_signals(struct agent *a, struct kc_error *err)
{
	sigset_t set;

	handled_signals(&set);
	if ((a->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return kc_fail_errno(err, KC_EIO, errno, "signalfd");
	return KC_OK;
}

static void set_render_opts(struct agent *a)
{
	struct agent_config *cfg = a->cfg;

	memset(&a->ropts, 0, sizeof(a->ropts));
	a->ropts.node_name = cfg->node_name;
	a->ropts.state_dir = cfg->state_dir;
	a->ropts.grace_cap_set = true;
	a->ropts.grace_cap = cfg->bridge_grace_period;
	a->ropts.annotations = (const char *const *)cfg->annotations.items;
	a->ropts.nannotations = cfg->annotations.len;
	if (!cfg->all_namespaces) {
		a->ropts.namespaces = (const char *const *)cfg->namespaces.items;
		a->ropts.nnamespaces = cfg->namespaces.len;
	}
}

/*
 * The user named the runtime's socket (flag or config file): its owner is
 * not checked. One found from the kubelet, or the default, must be root's.
 */
static bool endpoint_named(const struct agent_config *cfg)
{
	enum agent_source src = cfg->source[AGENT_CONTAINER_RUNTIME_ENDPOINT];

	return src == AGENT_SRC_FLAG || src == AGENT_SRC_CONFIG_FILE;
}

/* Everything that depends on the configuration; undone by sources_close. */
static kc_code sources_open(struct agent *a, struct kc_error *err)
{
	struct api_callbacks cb;
	char pods_dir[4096];
	kc_code rc;

	set_render_opts(a);
	parent_table_init(&a->parents);
	a->effects_dirty = true;
	a->listed = false;
	/* A bad kubeconfig must fail before anything is created on disk. */
	if ((rc = kubeconfig_load(a->cfg->kubeconfig, &a->kubeconfig, err)) != KC_OK ||
	    (rc = agent_check_kubeconfig(a->cfg, a->kubeconfig, err)) != KC_OK)
		return rc;
	if ((rc = ckpt_store_open(a->cfg->state_dir, &a->store, err)) != KC_OK)
		return rc;
	agent_sync_callbacks(a, &cb);
	if ((rc = api_client_new(a->kubeconfig, a->cfg->node_name, &cb, &a->api, err)) != KC_OK)
		return rc;
	kc_log(KC_LOG_INFO, "API server %s (context %s, user %s)", a->kubeconfig->server,
	       a->kubeconfig->context ? a->kubeconfig->context : "-",
	       a->kubeconfig->user ? a->kubeconfig->user : "-");
	if ((rc = local_state_init(&a->local, a->cfg->container_runtime_endpoint,
	                           endpoint_named(a->cfg), a->cfg->cgroup_root,
	                           a->cfg->kubelet_cgroup_root, a->cfg->kubelet_cgroup_driver,
	                           a->cfg->kubelet_cgroups_per_qos, err)) != KC_OK)
		return rc;
	agent_node_facts_load(a);
	a->said.local_source = LOCAL_SOURCE_NONE;
	a->said.bridge_off = false;
	a->said.local_unknown = false;
	a->local_looked = false;
	snprintf(pods_dir, sizeof(pods_dir), "%s/" KC_STATE_PODS_DIR, a->cfg->state_dir);
	if ((rc = fs_watch_open(a->cfg->flag_file, a->cfg->static_pod_path, pods_dir, &a->watch,
	                        err)) != KC_OK)
		return rc;
	if ((rc = agent_sync_load_disk(a, err)) != KC_OK)
		return rc;
	agent_handoffs_load(a);
	return KC_OK;
}

static void sources_close(struct agent *a)
{
	size_t i;

	if (a->watch != NULL)
		fs_watch_close(a->watch);
	if (a->api != NULL)
		api_client_free(a->api);
	if (a->kubeconfig != NULL)
		kubeconfig_free(a->kubeconfig);
	if (a->bridge != NULL)
		bridge_dir_close(a->bridge);
	if (a->store != NULL)
		ckpt_store_close(a->store);
	parent_table_free(&a->parents);
	local_state_free(&a->local);
	agent_node_facts_free(a);
	a->ev.in_flight = false; /* its request goes with the API client */
	for (i = 0; i < a->nbridge_files; i++)
		free(a->bridge_files[i]);
	free(a->bridge_files);
	a->bridge_files = NULL;
	a->nbridge_files = 0;
	a->watch = NULL;
	a->api = NULL;
	a->kubeconfig = NULL;
	a->bridge = NULL;
	a->store = NULL;
}

static void handle_signals(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			a->reload.requested = true;
		} else {
			kc_log(KC_LOG_NOTICE, "signal %u: stopping (bridge manifests stay)",
			       si.ssi_signo);
			a->stop = true;
		}
	}
}

/* SIGHUP: a bad new configuration is logged and the old one kept. */
static void reload(struct agent *a, int argc, char **argv)
{
	struct agent_config *cfg = NULL, *old = a->cfg;
	struct bridge_dir *old_bridge = NULL;
	struct kc_error err;

	a->reload.requested = false;
	notify_reloading(&a->notify, &err);
	if (agent_config_load(argc, argv, NULL, &cfg, &err) == KC_OK && cfg->kubelet_missing) {
		/* A kubelet restarting right now must not swap the node's identity for defaults. */
		kc_fail(&err, KC_EAGAIN, "no kubelet process found, and its settings are needed");
		agent_config_free(cfg);
		cfg = NULL;
	}
	if (cfg != NULL &&
	    ((agent_lock_state(&a->lock, cfg->state_dir, &err)) != KC_OK ||
	     (cfg->bridge_off[0] == '\0' &&
	      agent_lock_static_dir(&a->lock, cfg->static_pod_path, &err) != KC_OK))) {
		agent_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		kc_log(KC_LOG_ERR, "reload failed, keeping the running configuration: %s", err.msg);
		agent_reload_answer(a, &err);
		notify_ready(&a->notify, &err);
		return;
	}
	kc_log(KC_LOG_NOTICE, "reloading configuration");
	agent_config_log(cfg);
	/*
	 * The old staticPodPath keeps its bridges until the new configuration
	 * is in force: a reload that fails and goes back must not have
	 * restarted the bridge pods for nothing. Its directory stays open
	 * across the swap for that.
	 */
	if (strcmp(old->static_pod_path, cfg->static_pod_path) != 0) {
		old_bridge = a->bridge;
		a->bridge = NULL;
	}
	sources_close(a);
	a->cfg = cfg;
	a->reach.unreachable_after_ms = (int64_t)cfg->unreachable_after * 1000;
	a->reach.reachable_after_ms = (int64_t)cfg->reachable_after * 1000;
	if (sources_open(a, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "reload: %s; going back to the previous configuration", err.msg);
		agent_reload_answer(a, &err);
		sources_close(a);
		a->cfg = old;
		if (agent_lock_state(&a->lock, old->state_dir, &err) != KC_OK ||
		    sources_open(a, &err) != KC_OK) {
			kc_log(KC_LOG_ERR, "reload: cannot restore: %s", err.msg);
			a->stop = true;
		}
		agent_config_free(cfg);
	} else {
		if (old_bridge != NULL) {
			kc_log(KC_LOG_NOTICE,
			       "staticPodPath changed from %s to %s: withdrawing ours there",
			       old->static_pod_path, cfg->static_pod_path);
			agent_withdraw_from(a, old_bridge, old->static_pod_path);
		}
		agent_reload_answer(a, NULL);
		agent_config_free(old);
	}
	if (old_bridge != NULL)
		bridge_dir_close(old_bridge);
	a->dirty = true;
	notify_ready(&a->notify, &err);
}

/* How often the kubelet's pid is looked at: one open and one read of /proc. */
#define KUBELET_CHECK_MS 5000
/* How often a kubelet none was found of is searched for: a scan of /proc. */
#define KUBELET_SEARCH_MS 30000

/* Is a kubelet to be looked at: the one the settings came from, or one looked for and not found? */
static bool kubelet_watched(const struct agent_config *cfg)
{
	return cfg->kubelet_pid != 0 || cfg->kubelet_why_none[0] != '\0';
}

static int wait_ms(struct agent *a, int64_t now)
{
	int64_t next = a->dirty || a->reload.requested ? now : a->next_pass_ms;

	if (kubelet_watched(a->cfg) && a->kubelet_check_ms < next)
		next = a->kubelet_check_ms;

	if (notify_watchdog_interval_ms(&a->notify) > 0 && a->next_watchdog_ms < next)
		next = a->next_watchdog_ms;
	if (next <= now)
		return 0;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

static void kick_watchdog(struct agent *a, int64_t now)
{
	struct kc_error err;
	uint64_t iv = notify_watchdog_interval_ms(&a->notify);

	if (iv == 0 || now < a->next_watchdog_ms)
		return;
	notify_watchdog(&a->notify, &err);
	a->next_watchdog_ms = now + (int64_t)iv;
}

static void drain_watch(struct agent *a)
{
	struct kc_error err;
	unsigned changed = 0;

	if (fs_watch_drain(a->watch, &changed, &err) != KC_OK)
		kc_log(KC_LOG_ERR, "file watch: %s", err.msg);
	if (changed & (FS_WATCH_STATIC_DIR_CHANGED | FS_WATCH_OVERFLOW))
		a->effects_dirty = true;
	if (changed & (FS_WATCH_STATE_DIR_CHANGED | FS_WATCH_OVERFLOW))
		a->verify_disk = true;
	if (changed != 0)
		a->dirty = true;
}

/*
 * The kubelet the configuration came from exited (issue 19 item 6), or one
 * was looked for at start and none ran (the agent starts before the kubelet
 * at boot): find it (again). With the same settings only its pid is new;
 * with other flags they are followed as a reload follows them (SIGHUP's
 * path: a new configuration that does not load or open is rejected, the
 * running one kept). While none runs (a restart in progress), the settings
 * stay and the next check looks again. A kubelet that runs is checked by its
 * pid every KUBELET_CHECK_MS; a missing one is searched for (a scan of
 * /proc) every KUBELET_SEARCH_MS.
 */
static void follow_kubelet(struct agent *a, int64_t now, int argc, char **argv)
{
	struct agent_config *cfg = NULL;
	struct kc_error err;
	long old = (long)a->cfg->kubelet_pid;

	if (!kubelet_watched(a->cfg) || now < a->kubelet_check_ms)
		return;
	a->kubelet_check_ms = now + (old != 0 ? KUBELET_CHECK_MS : KUBELET_SEARCH_MS);
	if (old != 0 && !agent_kubelet_gone(a->cfg, "/proc"))
		return;
	if (agent_config_load(argc, argv, NULL, &cfg, &err) != KC_OK || cfg->kubelet_pid == 0) {
		if (old != 0 && !a->said.kubelet_gone)
			kc_log(KC_LOG_WARNING,
			       "the kubelet (pid %ld) exited and no other one is adopted (%s): "
			       "keeping its settings, looking again every %d s",
			       old, cfg == NULL ? err.msg : cfg->kubelet_why_none,
			       KUBELET_CHECK_MS / 1000);
		a->said.kubelet_gone = old != 0;
		agent_config_free(cfg);
		return;
	}
	a->said.kubelet_gone = false;
	if (agent_kubelet_same_settings(a->cfg, cfg)) {
		kc_log(KC_LOG_NOTICE, "the kubelet %s (pid %ld, was %ld): same settings",
		       old != 0 ? "restarted" : "runs now", (long)cfg->kubelet_pid, old);
		a->cfg->kubelet_pid = cfg->kubelet_pid;
		a->cfg->kubelet_start_time = cfg->kubelet_start_time;
		a->cfg->kubelet_why_none[0] = '\0';
		a->dirty = true; /* status names the new pid */
	} else {
		kc_log(KC_LOG_NOTICE,
		       "the kubelet %s (pid %ld, was %ld) with other settings: following them, "
		       "as a reload does",
		       old != 0 ? "restarted" : "runs now", (long)cfg->kubelet_pid, old);
		a->reload.requested = true;
		a->dirty = true;
	}
	agent_config_free(cfg);
}

/*
 * One turn after the sources were read (signals, file watch, API): sync
 * first, so the pass decides on the checkpoints as they now are; then the
 * pass; then the report. agent.c is the only module that calls all three.
 */
static void turn(struct agent *a, int64_t now)
{
	int64_t sync_next, events_next;
	struct kc_error err;

	if (a->cfg->bridge_off[0] == '\0' &&
	    agent_lock_static_dir(&a->lock, a->cfg->static_pod_path, &err) != KC_OK) {
		agent_note_error(a, &err);
		a->fatal = true;
		return;
	}
	sync_next = agent_sync_turn(a, now);

	agent_pass(a, now);
	if (sync_next < a->next_pass_ms)
		a->next_pass_ms = sync_next;
	a->dirty = false;
	agent_report(a);
	/* Last: an Event is posted after the effects it tells of, never before. */
	events_next = agent_events_turn(a, now);
	if (events_next < a->next_pass_ms)
		a->next_pass_ms = events_next;
}

static kc_code loop(struct agent *a, int argc, char **argv, struct kc_error *err)
{
	struct curl_waitfd fds[2];
	int64_t now;
	kc_code rc;

	while (!a->stop) {
		now = kc_clock_ms();
		memset(fds, 0, sizeof(fds));
		fds[0].fd = a->sigfd;
		fds[0].events = CURL_WAIT_POLLIN;
		fds[1].fd = fs_watch_fd(a->watch);
		fds[1].events = CURL_WAIT_POLLIN;
		if ((rc = api_client_wait(a->api, fds, 2, wait_ms(a, now), err)) != KC_OK)
			return rc;
		if (fds[0].revents != 0)
			handle_signals(a);
		if (a->stop)
			break;
		if (a->reload.requested)
			reload(a, argc, argv);
		if (fds[1].revents != 0)
			drain_watch(a);
		if ((rc = api_client_step(a->api, err)) != KC_OK)
			return rc;
		now = kc_clock_ms();
		follow_kubelet(a, now, argc, argv);
		if (a->dirty || now >= a->next_pass_ms)
			turn(a, now);
		if (a->fatal) {
			*err = a->last_error;
			return err->code;
		}
		kick_watchdog(a, now);
		kc_log_flush_repeats(false);
	}
	return KC_OK;
}

/* SIGHUP while waiting: the new configuration replaces the old one if it loads. */
static void reload_waiting(struct agent *a, int argc, char **argv)
{
	struct agent_config *cfg = NULL;
	struct kc_error err;

	a->reload.requested = false;
	notify_reloading(&a->notify, &err);
	if (agent_config_load(argc, argv, NULL, &cfg, &err) != KC_OK ||
	    agent_check_early(cfg, &err) != KC_OK ||
	    agent_lock_state(&a->lock, cfg->state_dir, &err) != KC_OK) {
		kc_log(KC_LOG_ERR, "reload failed, keeping the running configuration: %s", err.msg);
		agent_reload_answer(a, &err);
		agent_config_free(cfg);
	} else {
		kc_log(KC_LOG_NOTICE, "reloading configuration");
		agent_config_log(cfg);
		agent_config_free(a->cfg);
		a->cfg = cfg;
		a->reach.unreachable_after_ms = (int64_t)cfg->unreachable_after * 1000;
		a->reach.reachable_after_ms = (int64_t)cfg->reachable_after * 1000;
		agent_reload_answer(a, NULL);
	}
	notify_ready(&a->notify, &err);
}

/* Sleep until due_ms, answering signals and the watchdog; false: stop or reload. */
static bool sleep_until(struct agent *a, int64_t due_ms)
{
	struct pollfd pfd = {.fd = a->sigfd, .events = POLLIN};
	int64_t now;

	while (!a->stop && !a->reload.requested && (now = kc_clock_ms()) < due_ms) {
		a->next_pass_ms = due_ms;
		if (poll(&pfd, 1, wait_ms(a, now)) > 0)
			handle_signals(a);
		kick_watchdog(a, kc_clock_ms());
	}
	return !a->stop && !a->reload.requested;
}

/*
 * The kubelet and its kubeconfig, retried with backoff (1 s doubling to 10 s:
 * discovery is one scan of /proc, the kubeconfig one stat). A new kubelet is
 * looked for by loading the configuration again, exactly as at start.
 */
static kc_code wait_prerequisites(struct agent *a, int argc, char **argv, struct kc_error *err)
{
	struct agent_config *cfg;
	int64_t backoff = 1000;
	char detail[sizeof(a->wait.detail)];
	enum agent_wait w;
	bool looked_again = false;

	for (;;) {
		w = agent_wait_missing(a->cfg, detail, sizeof(detail));
		agent_wait_set(a, w, detail, kc_clock_ms());
		if (w == AGENT_WAIT_NONE || a->stop) {
			if (looked_again && !a->stop)
				agent_config_log(a->cfg); /* once, what the wait ended with */
			return KC_OK;
		}
		agent_report(a);
		/* Discovery's warnings about untrusted processes repeat at every retry: folded. */
		kc_log_flush_repeats(false);
		if (!sleep_until(a, kc_clock_ms() + backoff)) {
			if (a->stop)
				return KC_OK;
			reload_waiting(a, argc, argv);
			backoff = 1000;
			continue;
		}
		backoff = backoff * 2 > 10000 ? 10000 : backoff * 2;
		if (w != AGENT_WAIT_KUBELET && w != AGENT_WAIT_KUBELET_CONFIG)
			continue;
		if (agent_config_load(argc, argv, NULL, &cfg, err) != KC_OK)
			return kc_error_prefix(err, "looking for the kubelet again");
		agent_config_free(a->cfg);
		a->cfg = cfg;
		looked_again = true;
	}
}

static kc_code agent_start(struct agent *a, int argc, char **argv, struct kc_error *err)
{
	kc_code rc;

	a->start_ms = kc_clock_ms();
	a->last_activation_ms = -1;
	a->start_wall = time(NULL);
	a->reach_since_wall = a->start_wall;
	a->sigfd = -1;
	a->dirty = true;
	a->cluster.uid_ms = a->cluster.service_uid_ms = a->cluster.node_ms = -1;
	evq_init(&a->ev.queue, EVQ_DEFAULT_CAP);
	evq_seed(&a->ev.queue, kc_wall_ns());
	if ((a->ignored_logged = json_array()) == NULL || (a->activated_at = json_object()) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	reachability_init(&a->reach, a->start_ms, (int64_t)a->cfg->unreachable_after * 1000,
	                  (int64_t)a->cfg->reachable_after * 1000);
	if (notify_open(&a->notify, err) != KC_OK)
		kc_log(KC_LOG_WARNING, "systemd notification disabled: %s", err->msg);
	if ((rc = open_signals(a, err)) != KC_OK)
		return rc;
	/*
	 * Not there when the service started: not in its mount namespace's
	 * writable paths either, however it appears later (agent_effects.c).
	 */
	a->static_dir_moved = access(a->cfg->static_pod_path, F_OK) != 0;
	/* Before any wait: a wrong setting, or a second agent on these directories. */
	if ((rc = agent_check_early(a->cfg, err)) != KC_OK ||
	    (rc = agent_lock_state(&a->lock, a->cfg->state_dir, err)) != KC_OK ||
	    (a->cfg->bridge_off[0] == '\0' &&
	     (rc = agent_lock_static_dir(&a->lock, a->cfg->static_pod_path, err)) != KC_OK))
		return rc;
	if ((rc = wait_prerequisites(a, argc, argv, err)) != KC_OK || a->stop)
		return rc;
	a->next_pass_ms = 0;
	if ((rc = sources_open(a, err)) != KC_OK)
		return rc;
	/* Only at start (a reload is one node's business, not a fleet's). */
	api_client_spread_start(a->api, (long)a->cfg->startup_spread * 1000);
	/* Boot order: READY awaits the first contact, a little (agent_report.c). */
	api_client_probe_now(a->api);
	a->ready_hold_ms = kc_clock_ms() + AGENT_READY_PROBE_MS;
	return KC_OK;
}

int agent_main(int argc, char **argv)
{
	struct agent a;
	struct kc_error err;
	kc_code rc;

	memset(&a, 0, sizeof(a));
	agent_lock_init(&a.lock);
	block_signals();
	if (agent_config_wants_help(argc, argv)) {
		agent_config_print_usage(stdout);
		return 0;
	}
	if ((rc = agent_config_load(argc, argv, NULL, &a.cfg, &err)) != KC_OK) {
		fprintf(stderr, "kubelet-checkpoint: run: %s\n", err.msg);
		return kc_exit_status(rc);
	}
	kc_log_init(a.cfg->verbosity);
	kc_log(KC_LOG_INFO, "kubelet-checkpoint %s starting", KC_VERSION);
	/* Once, before any handle, while the process is still single-threaded. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		kc_log(KC_LOG_ERR, "libcurl initialisation failed");
		agent_config_free(a.cfg);
		return 1;
	}
	agent_config_log(a.cfg);
	if ((rc = agent_start(&a, argc, argv, &err)) == KC_OK)
		rc = loop(&a, argc, argv, &err);
	if (rc != KC_OK)
		kc_log(KC_LOG_ERR, "%s", err.msg);
	kc_log_flush_repeats(true);
	notify_stopping(&a.notify, &err);
	sources_close(&a);
	notify_close(&a.notify);
	json_decref(a.ignored_logged);
	json_decref(a.ckpt_retry);
	json_decref(a.activated_at);
	kc_buf_free(&a.handoff_file.saved);
	evq_free(&a.ev.queue);
	if (a.sigfd >= 0)
		close(a.sigfd);
	agent_config_free(a.cfg);
	agent_lock_release(&a.lock);
	curl_global_cleanup();
	return rc == KC_OK ? 0 : (rc == KC_EINVAL ? 2 : 1);
}
