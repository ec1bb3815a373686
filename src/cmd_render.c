/* cmd_render.c: `kubelet-checkpoint render` (being built: see issue 2). */
#include <stdio.h>

#include "cli.h"

int
cmd_render(int argc, char **argv)
{
	fputs("kubelet-checkpoint: render: not built yet\n", stderr);
	return 1;
}
