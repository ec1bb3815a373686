/*
 * main.c: subcommand dispatch for the kubelet-checkpoint binary.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
    {"run", cmd_run},       {"render", cmd_render},   {"status", cmd_status},
    {"enable", cmd_enable}, {"disable", cmd_disable}, {"reload", cmd_reload},
};

static void usage(FILE *f)
{
	fputs(
	    "usage: kubelet-checkpoint run      [--config FILE] [flags]\n"
	    "       kubelet-checkpoint render   [-f FILE|-]... [--node-name N] [--state-dir D]\n"
	    "       kubelet-checkpoint status   [--state-dir D] [--status-file F] [-o text|json]\n"
	    "       kubelet-checkpoint enable | disable [--flag-file F]\n"
	    "       kubelet-checkpoint reload   [--pid PID] [--status-file F] [--timeout S]\n"
	    "       kubelet-checkpoint --version | --help\n"
	    "\n"
	    "Keeps verified checkpoints of annotated pods and bridges them as static pods\n"
	    "while the Kubernetes API is unreachable. See kubelet-checkpoint(8).\n",
	    f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("kubelet-checkpoint %s\n", KC_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kubelet-checkpoint: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
