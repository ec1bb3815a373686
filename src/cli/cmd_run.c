/* cmd_run.c: `kubelet-checkpoint run`: the agent (see agent.h). */
#include "agent.h"
#include "cli.h"

int cmd_run(int argc, char **argv)
{
	return agent_main(argc, argv);
}
