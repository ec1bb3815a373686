/*
 * cli.h: the subcommands of the kubelet-checkpoint binary (DESIGN.md 4).
 * Each returns the process exit status: 0 ok, 1 runtime failure, 2 usage or
 * bad input.
 */
#ifndef KC_CLI_H
#define KC_CLI_H

int cmd_run(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_reload(int argc, char **argv);

#endif
