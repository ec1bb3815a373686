/* cmd_run.c: `kubelet-checkpoint run` (being built: see issue 4). */
#include <stdio.h>

#include "cli.h"

int
cmd_run(int argc, char **argv)
{
	fputs("kubelet-checkpoint: run: not built yet\n", stderr);
	return 1;
}
