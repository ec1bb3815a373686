/* cmd_status.c: `kubelet-checkpoint status/enable/disable` (being built: issue 3). */
#include <stdio.h>

#include "cli.h"

int
cmd_status(int argc, char **argv)
{
	fputs("kubelet-checkpoint: status: not built yet\n", stderr);
	return 1;
}

int
cmd_enable(int argc, char **argv)
{
	fputs("kubelet-checkpoint: enable: not built yet\n", stderr);
	return 1;
}

int
cmd_disable(int argc, char **argv)
{
	fputs("kubelet-checkpoint: disable: not built yet\n", stderr);
	return 1;
}
