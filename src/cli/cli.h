/*
 * cli.h: the subcommands of the kubelet-checkpoint binary (docs/design.md §4).
 * Each returns the process exit status: 0 ok, 1 runtime failure, 2 usage or
 * bad input.
 */
#ifndef KC_CLI_H
#define KC_CLI_H

#include <jansson.h>
#include <stdbool.h>

int cmd_run(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_reload(int argc, char **argv);

/*
 * cli_args.c. "kubelet-checkpoint: <cmd>: <what> '<arg>'" and then usage
 * (NULL: none) on stderr; returns -1, the parsers' "usage error".
 */
int cli_usage_error(const char *cmd, const char *what, const char *arg, const char *usage);
/*
 * The end of a subcommand's getopt switch: 'h' prints usage on stdout and
 * returns 1 (help); anything else is a bad option, -1.
 */
int cli_help_or_bad_option(const char *cmd, int c, char **argv, const char *usage);
/* -o text|json into *json; -1 (said on stderr) for anything else. */
int cli_output_format(const char *cmd, const char *arg, bool *json);

/* cli_table.c. What a table cell shows of v: the string, or "-" (absent, null, empty). */
const char *cli_cell(const json_t *v);
/*
 * The width of the column of key in rows (an array of objects): the longest
 * cell, at least min, at most max (a longer cell is cut or overflows).
 */
int cli_column_width(const json_t *rows, const char *key, int min, int max);

#endif
