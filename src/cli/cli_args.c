/*
 * cli_args.c: the usage errors and the -o flag every subcommand parses the
 * same way (see cli.h), so that their messages cannot drift apart.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_usage_error(const char *cmd, const char *what, const char *arg, const char *usage)
{
	fprintf(stderr, "kubelet-checkpoint: %s: %s '%s'\n", cmd, what, arg);
	if (usage != NULL)
		fputs(usage, stderr);
	return -1;
}

int cli_help_or_bad_option(const char *cmd, int c, char **argv, const char *usage)
{
	if (c == 'h') {
		fputs(usage, stdout);
		return 1;
	}
	return cli_usage_error(cmd, "bad option", argv[optind - 1], usage);
}

int cli_output_format(const char *cmd, const char *arg, bool *json)
{
	if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
		fprintf(stderr, "kubelet-checkpoint: %s: -o: '%s' is not text or json\n", cmd, arg);
		return -1;
	}
	*json = strcmp(arg, "json") == 0;
	return 0;
}
