/*
 * cmd_reload.c: `kubelet-checkpoint reload [--pid PID] [--status-file F]
 * [--timeout S]`: make the running agent re-read its configuration and wait
 * for its verdict. The unit's ExecReload, so that `systemctl reload` fails
 * (exit 1, the reason on stderr and in the journal) when the agent rejects
 * the new configuration and keeps the running one.
 *
 * Why not `kill -HUP $MAINPID`: a signal is asynchronous, so systemctl
 * reload would report success for a configuration the agent then refuses
 * (and /bin/kill is procps, which a minimal node does not have). Why not
 * Type=notify-reload: it needs systemd 253; Debian bookworm has 252, and a
 * RELOADING=1/READY=1 pair carries no verdict either.
 *
 * The verdict is the agent's status file: agent.reload.generation counts
 * the reloads it answered, agent.reload.ok/error say how the last one went.
 * The generation is read before the signal, then the file is polled until
 * it grows.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_config.h"
#include "cli.h"
#include "kc_buf.h"
#include "kc_clock.h"
#include "status.h"

#define RELOAD_DEFAULT_TIMEOUT 60

static const char usage_text[] =
    "usage: kubelet-checkpoint reload [--pid PID] [--status-file F] [--timeout S]\n"
    "  --pid PID          the agent (default: the pid in the status file)\n"
    "  --status-file F    the agent's status file (default " AGENT_DEFAULT_STATUS_FILE ")\n"
    "  --timeout S        seconds to wait for the verdict (default 60)\n"
    "Exit 0: the new configuration is in force; 1: rejected (the running one stays)\n"
    "or no answer.\n";

/* The agent object of the status file; NULL when there is none (yet). */
static json_t *read_agent(const char *path)
{
	struct kc_buf buf;
	struct kc_error err;
	json_t *doc, *agent = NULL;

	kc_buf_init(&buf, STATUS_MAX_FILE);
	if (kc_buf_read_file(&buf, path, &err) == KC_OK &&
	    (doc = json_loadb(buf.data, buf.len, 0, NULL)) != NULL) {
		agent = json_incref(json_object_get(doc, "agent"));
		json_decref(doc);
	}
	kc_buf_free(&buf);
	return json_is_object(agent) ? agent : (json_decref(agent), NULL);
}

static json_int_t generation(const json_t *agent)
{
	return json_integer_value(json_object_get(json_object_get(agent, "reload"), "generation"));
}

static int parse_args(int argc, char **argv, long *pid, const char **status_file, long *timeout)
{
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"status-file", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == 's' && optarg[0] != '\0') {
			*status_file = optarg;
			continue;
		}
		if (c == 'p' || c == 't') {
			errno = 0;
			long v = strtol(optarg, &end, 10);

			if (errno == 0 && *end == '\0' && end != optarg && v > 0 &&
			    v < 0x7fffffff) {
				*(c == 'p' ? pid : timeout) = v;
				continue;
			}
		}
		return cli_usage_error("reload", "bad option", argv[optind - 1], usage_text);
	}
	if (optind < argc)
		return cli_usage_error("reload", "unexpected argument", argv[optind], usage_text);
	return 0;
}

int cmd_reload(int argc, char **argv)
{
	const char *status_file = AGENT_DEFAULT_STATUS_FILE;
	long pid = 0, timeout = RELOAD_DEFAULT_TIMEOUT;
	json_t *agent, *reload;
	json_int_t before;
	int64_t deadline;
	int p;

	if ((p = parse_args(argc, argv, &pid, &status_file, &timeout)) != 0)
		return p > 0 ? 0 : 2;
	agent = read_agent(status_file);
	before = generation(agent);
	if (pid == 0)
		pid = (long)json_integer_value(json_object_get(agent, "pid"));
	json_decref(agent);
	if (!status_pid_is_agent((pid_t)pid)) {
		fprintf(stderr,
		        "kubelet-checkpoint: reload: no running agent%s%ld (status file %s)\n",
		        pid > 0 ? " with pid " : "", pid > 0 ? pid : 0L, status_file);
		return 1;
	}
	if (kill((pid_t)pid, SIGHUP) != 0) {
		fprintf(stderr, "kubelet-checkpoint: reload: signal pid %ld: %s\n", pid,
		        strerror(errno));
		return 1;
	}
	deadline = kc_clock_ms() + (int64_t)timeout * 1000;
	while (kc_clock_ms() < deadline) {
		struct timespec tick = {0, 100 * 1000 * 1000};

		nanosleep(&tick, NULL);
		if (!status_pid_is_agent((pid_t)pid)) {
			fprintf(stderr, "kubelet-checkpoint: reload: the agent (pid %ld) exited\n",
			        pid);
			return 1;
		}
		if ((agent = read_agent(status_file)) == NULL || generation(agent) <= before) {
			json_decref(agent);
			continue;
		}
		reload = json_object_get(agent, "reload");
		if (json_is_true(json_object_get(reload, "ok"))) {
			printf("kubelet-checkpoint: configuration reloaded (pid %ld)\n", pid);
			json_decref(agent);
			return 0;
		}
		fprintf(
		    stderr,
		    "kubelet-checkpoint: reload rejected, the running configuration stays: %s\n",
		    json_string_value(json_object_get(reload, "error"))
		        ? json_string_value(json_object_get(reload, "error"))
		        : "(no reason given)");
		json_decref(agent);
		return 1;
	}
	fprintf(stderr, "kubelet-checkpoint: reload: no answer from pid %ld within %lds\n", pid,
	        timeout);
	return 1;
}
