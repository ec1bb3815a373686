/*
 * cmd_status.c: `kubelet-checkpoint status`: what the agent knows and did
 * (docs/design.md §4). It always reads the disk (checkpoint files, verified; bridge
 * manifests; the flag file) and, when the agent that wrote the status file
 * is alive, adds what only the agent knows (API reachability, pods that are
 * not checkpointable). It never creates or changes a file. Exit 0 whether or
 * not an agent runs; 2 on bad flags.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_config.h"
#include "bridge_dir.h"
#include "bridge_warnings.h"
#include "checkpoint_store.h"
#include "cli.h"
#include "flag_file.h"
#include "kc_buf.h"
#include "kc_names.h"
#include "status.h"

struct status_cli {
	const char *state_dir, *status_file, *static_pod_path, *flag_file;
	bool json;
};

/* Everything gathered, owned here; snapshot strings point into it. */
struct gathered {
	json_t *agent_doc; /* the status file, when its agent is alive */
	bool status_file_present;
	struct ckpt_list ckpts;
	json_t *disk_warnings; /* uid -> warnings, from the files when no agent runs */
	struct bridge_list bridges;
	struct status_checkpoint *rows;
	size_t nrows;
	const char **manifest_names;
	char warnings[4][KC_ERROR_MSG_MAX];
	size_t nwarnings;
};

static const char usage_text[] =
    "usage: kubelet-checkpoint status [--state-dir D] [--status-file F]\n"
    "                                 [--static-pod-path P] [--flag-file F] [-o text|json]\n"
    "\n"
    "  --state-dir D        checkpoints (default " KC_DEFAULT_STATE_DIR ")\n"
    "  --status-file F      the running agent's status (default " AGENT_DEFAULT_STATUS_FILE ")\n"
    "  --static-pod-path P  the kubelet's staticPodPath (default: the agent's, else\n"
    "                       " AGENT_DEFAULT_STATIC_POD_PATH ")\n"
    "  --flag-file F        the bridge flag file (default: the agent's, else\n"
    "                       " AGENT_DEFAULT_FLAG_FILE ")\n"
    "  -o text|json         output format (default text)\n";

/* Returns 0, 1 (help printed) or -1 (usage error, message printed). */
static int parse_args(int argc, char **argv, struct status_cli *cli)
{
	enum { OPT_STATE = 256, OPT_STATUS, OPT_STATIC, OPT_FLAG };
	static const struct option longopts[] = {
	    {"state-dir", required_argument, NULL, OPT_STATE},
	    {"status-file", required_argument, NULL, OPT_STATUS},
	    {"static-pod-path", required_argument, NULL, OPT_STATIC},
	    {"flag-file", required_argument, NULL, OPT_FLAG},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(cli, 0, sizeof(*cli));
	cli->state_dir = KC_DEFAULT_STATE_DIR;
	cli->status_file = AGENT_DEFAULT_STATUS_FILE;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			cli->state_dir = optarg;
			break;
		case OPT_STATUS:
			cli->status_file = optarg;
			break;
		case OPT_STATIC:
			cli->static_pod_path = optarg;
			break;
		case OPT_FLAG:
			cli->flag_file = optarg;
			break;
		case 'o':
			if (cli_output_format("status", optarg, &cli->json) != 0)
				return -1;
			break;
		default:
			return cli_help_or_bad_option("status", c, argv, usage_text);
		}
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument", argv[optind], NULL);
	if (cli->state_dir[0] == '\0' || cli->status_file[0] == '\0' ||
	    (cli->static_pod_path != NULL && cli->static_pod_path[0] == '\0') ||
	    (cli->flag_file != NULL && cli->flag_file[0] == '\0')) {
		fputs("kubelet-checkpoint: status: a path flag is empty\n", stderr);
		return -1;
	}
	return 0;
}

static void warn(struct gathered *g, const struct kc_error *err)
{
	if (g->nwarnings < sizeof(g->warnings) / sizeof(g->warnings[0]))
		snprintf(g->warnings[g->nwarnings++], sizeof(g->warnings[0]), "%s", err->msg);
}

/*
 * The status file, kept only when the process that wrote it is alive and is
 * kubelet-checkpoint (a stale file from a dead agent says nothing current).
 */
static void read_status_file(const char *path, struct gathered *g)
{
	struct kc_error err;
	struct kc_buf buf;
	json_error_t jerr;
	json_t *doc, *pid;

	kc_buf_init(&buf, STATUS_MAX_FILE);
	if (kc_buf_read_file(&buf, path, &err) != KC_OK) {
		if (err.code != KC_ENOTFOUND && access(path, F_OK) == 0)
			warn(g, &err);
		kc_buf_free(&buf);
		return;
	}
	g->status_file_present = true;
	doc = json_loadb(buf.data, buf.len, JSON_REJECT_DUPLICATES, &jerr);
	kc_buf_free(&buf);
	if (doc == NULL || !json_is_object(doc)) {
		kc_fail(&err, KC_EINVAL, "%s: line %d: not a status document%s%s", path,
		        doc == NULL ? jerr.line : 0, doc == NULL ? ": " : "",
		        doc == NULL ? jerr.text : "");
		warn(g, &err);
		json_decref(doc);
		return;
	}
	pid = json_object_get(json_object_get(doc, "agent"), "pid");
	if (!json_is_integer(pid) || json_integer_value(pid) <= 0 ||
	    json_integer_value(pid) > 0x7fffffff ||
	    !status_pid_is_agent((pid_t)json_integer_value(pid))) {
		json_decref(doc);
		return;
	}
	g->agent_doc = doc;
}

/* A path the live agent reported (e.g. its discovered staticPodPath). */
static const char *agent_path(const struct gathered *g, const char *obj, const char *key)
{
	json_t *v = g->agent_doc == NULL ? NULL : json_object_get(g->agent_doc, obj);

	if (key != NULL)
		v = json_object_get(v, key);
	return json_is_string(v) && json_string_value(v)[0] != '\0' ? json_string_value(v) : NULL;
}

/*
 * With no agent alive, the warnings of each verified checkpoint come from the
 * pod in its file (the classifier is pure, so they are what the agent says).
 */
static void disk_warnings(struct ckpt_store *store, struct gathered *g)
{
	struct kc_error err;
	struct ckpt c;
	json_t *w;
	size_t i;

	g->disk_warnings = json_object();
	for (i = 0; g->disk_warnings != NULL && i < g->ckpts.count; i++) {
		if (g->ckpts.entries[i].state != CKPT_OK)
			continue;
		if (ckpt_store_load(store, g->ckpts.entries[i].uid, &c, &err) != KC_OK) {
			warn(g, &err);
			continue;
		}
		if (bridge_warnings(c.pod, &w, &err) == KC_OK)
			json_object_set_new(g->disk_warnings, c.uid, w);
		ckpt_free(&c);
	}
}

static void read_checkpoints(const char *state_dir, struct gathered *g)
{
	struct ckpt_store *store;
	struct kc_error err;
	char pods[4096];
	struct stat st;

	snprintf(pods, sizeof(pods), "%s/" KC_STATE_PODS_DIR, state_dir);
	/* No store yet: nothing checkpointed. Never create it from here. */
	if (stat(pods, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	if (ckpt_store_open(state_dir, &store, &err) != KC_OK) {
		warn(g, &err);
		return;
	}
	if (ckpt_store_list(store, &g->ckpts, &err) != KC_OK)
		warn(g, &err);
	if (g->agent_doc == NULL)
		disk_warnings(store, g);
	ckpt_store_close(store);
}

static void read_bridges(const char *static_pod_path, struct gathered *g)
{
	struct bridge_dir *bd;
	struct kc_error err;
	kc_code rc;

	rc = bridge_dir_open(static_pod_path, &bd, &err);
	if (rc == KC_ENOTFOUND)
		return;
	if (rc != KC_OK) {
		warn(g, &err);
		return;
	}
	if (bridge_dir_list(bd, &g->bridges, &err) != KC_OK)
		warn(g, &err);
	bridge_dir_close(bd);
}

static bool has_manifest(const struct gathered *g, const char *uid)
{
	size_t i;

	for (i = 0; i < g->bridges.count; i++)
		if (g->bridges.manifests[i].source_uid != NULL &&
		    strcmp(g->bridges.manifests[i].source_uid, uid) == 0)
			return true;
	return false;
}

static const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The agent's entry for uid, if it is alive and has one. */
static json_t *agent_checkpoint(const struct gathered *g, const char *uid)
{
	json_t *arr = g->agent_doc ? json_object_get(g->agent_doc, "checkpoints") : NULL, *c;
	size_t i;

	json_array_foreach(arr, i, c)
	{
		const char *u = json_str(c, "uid");

		if (u != NULL && strcmp(u, uid) == 0)
			return c;
	}
	return NULL;
}

/*
 * Rows: every checkpoint file on disk (verified now), plus the pods the live
 * agent found not checkpointable (they have no file). Active = a bridge
 * manifest of ours names the uid.
 */
static kc_code merge_rows(struct gathered *g, struct kc_error *err)
{
	json_t *arr = g->agent_doc ? json_object_get(g->agent_doc, "checkpoints") : NULL, *c;
	size_t i, n = g->ckpts.count + json_array_size(arr);

	g->rows = calloc(n ? n : 1, sizeof(*g->rows));
	g->manifest_names = calloc(g->bridges.count ? g->bridges.count : 1, sizeof(char *));
	if (g->rows == NULL || g->manifest_names == NULL)
		return kc_fail(err, KC_ENOMEM, "status: out of memory");
	for (i = 0; i < g->ckpts.count; i++) {
		const struct ckpt_entry *e = &g->ckpts.entries[i];
		struct status_checkpoint *r = &g->rows[g->nrows++];
		json_t *a = agent_checkpoint(g, e->uid);

		r->uid = e->uid;
		r->namespace = e->namespace;
		r->name = e->name;
		r->state = e->state == CKPT_OK ? "ok" : "corrupt";
		r->reason = e->reason;
		/*
		 * A sound file the live agent will not activate (not eligible under
		 * its configuration: another node, a namespace no longer allowed)
		 * is shown as the agent sees it, with its reason.
		 */
		if (e->state == CKPT_OK && a != NULL && json_str(a, "state") != NULL &&
		    strcmp(json_str(a, "state"), "not-checkpointable") == 0)
			r->state = "not-checkpointable";
		if (r->reason == NULL && a != NULL && json_str(a, "state") != NULL &&
		    strcmp(json_str(a, "state"), r->state) == 0)
			r->reason = json_str(a, "reason");
		r->active = has_manifest(g, e->uid);
		r->warnings = a != NULL ? json_object_get(a, "warnings")
		                        : json_object_get(g->disk_warnings, e->uid);
		/* Only the live agent knows whether the kubelet started the bridge. */
		if (r->active && a != NULL) {
			r->bridge = json_str(a, "bridge");
			r->bridge_reason = json_str(a, "bridgeReason");
		}
		/* The hand-off state lives in the agent only (decision.h). */
		if (a != NULL) {
			r->handoff = json_str(a, "handoff");
			r->handoff_since = json_str(a, "handoffSince");
			r->watchdog_fires =
			    (unsigned)json_integer_value(json_object_get(a, "watchdogFires"));
		}
	}
	json_array_foreach(arr, i, c)
	{
		struct status_checkpoint *r;
		const char *uid = json_str(c, "uid"), *state = json_str(c, "state");
		size_t j;
		bool on_disk = false;

		if (uid == NULL || state == NULL || strcmp(state, "not-checkpointable") != 0)
			continue;
		for (j = 0; j < g->ckpts.count && !on_disk; j++)
			on_disk = strcmp(g->ckpts.entries[j].uid, uid) == 0;
		if (on_disk)
			continue;
		r = &g->rows[g->nrows++];
		r->uid = uid;
		r->namespace = json_str(c, "namespace");
		r->name = json_str(c, "name");
		r->state = state;
		r->reason = json_str(c, "reason");
		r->active = false;
		r->warnings = json_object_get(c, "warnings");
	}
	for (i = 0; i < g->bridges.count; i++)
		g->manifest_names[i] = g->bridges.manifests[i].file;
	return KC_OK;
}

static void gathered_free(struct gathered *g)
{
	json_decref(g->agent_doc);
	json_decref(g->disk_warnings);
	ckpt_list_free(&g->ckpts);
	bridge_list_free(&g->bridges);
	free(g->rows);
	free(g->manifest_names);
}

/* The JSON document: status_build's, with what only the live agent knows. */
static kc_code build_doc(const struct status_cli *cli, struct gathered *g, json_t **out,
                         struct kc_error *err)
{
	struct status_snapshot s = {0};
	json_t *doc, *agent, *extra;
	kc_code rc;
	size_t i;

	s.static_pod_path = cli->static_pod_path ? cli->static_pod_path
	                    : agent_path(g, "staticPodPath", NULL)
	                        ? agent_path(g, "staticPodPath", NULL)
	                        : AGENT_DEFAULT_STATIC_POD_PATH;
	s.flag_path = cli->flag_file                  ? cli->flag_file
	              : agent_path(g, "flag", "path") ? agent_path(g, "flag", "path")
	                                              : AGENT_DEFAULT_FLAG_FILE;
	s.state_dir = cli->state_dir;
	read_checkpoints(s.state_dir, g);
	read_bridges(s.static_pod_path, g);
	if ((rc = merge_rows(g, err)) != KC_OK)
		return rc;
	if ((rc = flag_file_enabled(s.flag_path, &s.flag_enabled, err)) != KC_OK)
		warn(g, err);
	s.agent_running = g->agent_doc != NULL;
	s.api = REACH_UNKNOWN;
	s.checkpoints = g->rows;
	s.ncheckpoints = g->nrows;
	s.bridge_manifests = g->manifest_names;
	s.nbridge_manifests = g->bridges.count;
	if ((rc = status_build(&s, &doc, err)) != KC_OK)
		return rc;
	if (g->agent_doc != NULL) {
		/* The agent's own view of itself and of the API. */
		agent = json_object_get(g->agent_doc, "agent");
		if (json_is_object(agent))
			json_object_update(json_object_get(doc, "agent"), agent);
		json_object_set_new(json_object_get(doc, "agent"), "running", json_true());
		if (json_is_object(json_object_get(g->agent_doc, "api")))
			json_object_set(doc, "api", json_object_get(g->agent_doc, "api"));
		if (json_is_string(json_object_get(g->agent_doc, "bridgeOff")))
			json_object_set(doc, "bridgeOff",
			                json_object_get(g->agent_doc, "bridgeOff"));
		if (json_is_object(json_object_get(g->agent_doc, "local")))
			json_object_set(doc, "local", json_object_get(g->agent_doc, "local"));
		if (json_is_object(json_object_get(g->agent_doc, "cluster")))
			json_object_set(doc, "cluster", json_object_get(g->agent_doc, "cluster"));
		if (json_is_object(json_object_get(g->agent_doc, "events")))
			json_object_set(doc, "events", json_object_get(g->agent_doc, "events"));
	}
	extra = json_pack("{s:s, s:b, s:b}", "path", cli->status_file, "present",
	                  g->status_file_present, "current", g->agent_doc != NULL);
	json_object_set_new(doc, "statusFile", extra);
	extra = json_array();
	for (i = 0; i < g->bridges.nignored; i++)
		json_array_append_new(extra,
		                      json_pack("{s:s, s:s}", "file", g->bridges.ignored[i].file,
		                                "reason", g->bridges.ignored[i].reason));
	json_object_set_new(doc, "ignoredFiles", extra);
	extra = json_array();
	for (i = 0; i < g->nwarnings; i++)
		json_array_append_new(extra, json_string(g->warnings[i]));
	json_object_set_new(doc, "warnings", extra);
	*out = doc;
	return KC_OK;
}

/* A string value, or "-" for null/absent. */
static const char *show(const json_t *v)
{
	return cli_cell(v);
}

/* "local: unknown (<why>)" is the line an admin must not miss. */
static void print_local(const json_t *local)
{
	const char *src = show(json_object_get(local, "source"));
	const json_t *why = json_object_get(local, "reason");

	if (!json_is_object(local))
		return;
	if (strcmp(src, "unknown") == 0)
		printf("local:            unknown (%s): no bridge is activated\n", show(why));
	else if (strcmp(src, "cgroups") == 0)
		printf("local:            pod cgroups (%s)\n", show(why));
	else
		printf("local:            container runtime\n");
}

static void print_text(const json_t *doc)
{
	const json_t *agent = json_object_get(doc, "agent"), *flag = json_object_get(doc, "flag");
	const json_t *api = json_object_get(doc, "api"),
	             *rows = json_object_get(doc, "checkpoints");
	const json_t *v, *r;
	int wns, wname, wstate;
	size_t i;

	if (json_is_true(json_object_get(agent, "running")))
		printf("agent:            running (pid %lld)\n",
		       (long long)json_integer_value(json_object_get(agent, "pid")));
	else
		printf("agent:            not running%s\n",
		       json_is_true(json_object_get(json_object_get(doc, "statusFile"), "present"))
		           ? " (status file is stale)"
		           : "");
	v = json_object_get(agent, "waitingFor");
	if (json_is_string(v))
		printf("waiting for:      the %s: %s\n", json_string_value(v),
		       show(json_object_get(agent, "waitingDetail")));
	printf("bridge flag:      %s (%s)\n",
	       json_is_true(json_object_get(flag, "enabled")) ? "enabled" : "disabled (standby)",
	       show(json_object_get(flag, "path")));
	v = json_object_get(api, "reachable");
	if (json_is_boolean(v))
		printf("api:              %s since %s%s\n",
		       json_is_true(v) ? "reachable" : "UNREACHABLE",
		       show(json_object_get(api, "since")),
		       json_is_true(json_object_get(api, "confirming"))
		           ? " (confirming: bridges follow after reachable-after)"
		           : "");
	else
		printf("api:              unknown\n");
	print_local(json_object_get(doc, "local"));
	v = json_object_get(json_object_get(doc, "cluster"), "kubeSystemUID");
	if (json_is_string(v))
		printf("cluster:          kube-system %s\n", json_string_value(v));
	if (json_is_string(json_object_get(doc, "bridgeOff")))
		printf("staticPodPath:    none: BRIDGE OFF (%s)\n",
		       show(json_object_get(doc, "bridgeOff")));
	else
		printf("staticPodPath:    %s\n", show(json_object_get(doc, "staticPodPath")));
	printf("state dir:        %s\n", show(json_object_get(doc, "stateDir")));
	printf("\n");
	if (json_array_size(rows) == 0) {
		printf("no checkpoints\n");
	} else {
		wns = cli_column_width(rows, "namespace", 9, INT_MAX);
		wname = cli_column_width(rows, "name", 4, INT_MAX);
		wstate = cli_column_width(rows, "state", 5, INT_MAX);
		printf("%-*s  %-*s  %-36s  %-*s  %-6s  %s\n", wns, "NAMESPACE", wname, "NAME",
		       "UID", wstate, "STATE", "ACTIVE", "REASON");
		json_array_foreach(rows, i, r)
		{
			printf("%-*s  %-*s  %-36s  %-*s  %-6s  %s\n", wns,
			       show(json_object_get(r, "namespace")), wname,
			       show(json_object_get(r, "name")), show(json_object_get(r, "uid")),
			       wstate, show(json_object_get(r, "state")),
			       json_is_true(json_object_get(r, "active")) ? "yes" : "no",
			       show(json_object_get(r, "reason")));
		}
		json_array_foreach(rows, i, r)
		{
			const json_t *w;
			size_t j;

			json_array_foreach(json_object_get(r, "warnings"), j, w)
			    printf("warning: %s/%s: %s\n", show(json_object_get(r, "namespace")),
			           show(json_object_get(r, "name")), show(w));
			if (json_is_string(json_object_get(r, "bridge")))
				printf("bridge: %s/%s: %s%s%s\n",
				       show(json_object_get(r, "namespace")),
				       show(json_object_get(r, "name")),
				       show(json_object_get(r, "bridge")),
				       json_is_string(json_object_get(r, "bridgeReason")) ? ": "
				                                                          : "",
				       json_is_string(json_object_get(r, "bridgeReason"))
				           ? show(json_object_get(r, "bridgeReason"))
				           : "");
		}
	}
	rows = json_object_get(doc, "bridgeManifests");
	printf("\nbridge manifests: %zu\n", json_array_size(rows));
	json_array_foreach(rows, i, r) printf("  %s\n", show(r));
	rows = json_object_get(doc, "ignoredFiles");
	json_array_foreach(rows, i, r)
	    printf("  ignored: %s: %s\n", show(json_object_get(r, "file")),
	           show(json_object_get(r, "reason")));
	rows = json_object_get(doc, "warnings");
	json_array_foreach(rows, i, r) printf("warning: %s\n", show(r));
}

int cmd_status(int argc, char **argv)
{
	struct gathered g;
	struct status_cli cli;
	struct kc_error err;
	json_t *doc;
	kc_code rc;
	int p;

	if ((p = parse_args(argc, argv, &cli)) != 0)
		return p > 0 ? 0 : 2;
	memset(&g, 0, sizeof(g));
	read_status_file(cli.status_file, &g);
	rc = build_doc(&cli, &g, &doc, &err);
	if (rc != KC_OK) {
		fprintf(stderr, "kubelet-checkpoint: status: %s\n", err.msg);
		gathered_free(&g);
		return kc_exit_status(rc);
	}
	if (cli.json) {
		char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (text == NULL) {
			json_decref(doc);
			gathered_free(&g);
			fputs("kubelet-checkpoint: status: out of memory\n", stderr);
			return 1;
		}
		printf("%s\n", text);
		free(text);
	} else {
		print_text(doc);
	}
	json_decref(doc);
	gathered_free(&g);
	return 0;
}
