/*
 * cmd_flag.c: `kubelet-checkpoint enable | disable [--flag-file F]`: create or
 * remove the bridge flag file (docs/design.md §4). Both are idempotent and exit 0
 * when the file ends up as asked.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent_config.h"
#include "cli.h"
#include "flag_file.h"

/* Parse [--flag-file F]; returns 0, 1 (help printed) or -1 (usage error). */
static int parse_flag_args(int argc, char **argv, const char *cmd, const char **path)
{
	static const struct option longopts[] = {
	    {"flag-file", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*path = AGENT_DEFAULT_FLAG_FILE;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (optarg[0] == '\0') {
				fprintf(stderr, "kubelet-checkpoint: %s: --flag-file is empty\n",
				        cmd);
				return -1;
			}
			*path = optarg;
			break;
		case 'h':
			printf("usage: kubelet-checkpoint %s [--flag-file F]\n"
			       "  --flag-file F  the bridge flag file (default %s)\n",
			       cmd, AGENT_DEFAULT_FLAG_FILE);
			return 1;
		default:
			cli_usage_error(cmd, "bad option", argv[optind - 1], NULL);
			fprintf(stderr, "usage: kubelet-checkpoint %s [--flag-file F]\n", cmd);
			return -1;
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument", argv[optind], NULL);
	return 0;
}

static int run_flag_command(int argc, char **argv, bool enable)
{
	const char *cmd = enable ? "enable" : "disable";
	struct kc_error err;
	const char *path;
	bool changed;
	kc_code rc;
	int p;

	if ((p = parse_flag_args(argc, argv, cmd, &path)) != 0)
		return p > 0 ? 0 : 2;
	rc = enable ? flag_file_enable(path, &changed, &err)
	            : flag_file_disable(path, &changed, &err);
	if (rc != KC_OK) {
		fprintf(stderr, "kubelet-checkpoint: %s: %s\n", cmd, err.msg);
		return kc_exit_status(rc);
	}
	printf("bridge %s (%s %s)\n", enable ? "enabled" : "disabled", path,
	       changed ? (enable ? "created" : "removed")
	               : (enable ? "already present" : "already absent"));
	return 0;
}

int cmd_enable(int argc, char **argv)
{
	return run_flag_command(argc, argv, true);
}

int cmd_disable(int argc, char **argv)
{
	return run_flag_command(argc, argv, false);
}
