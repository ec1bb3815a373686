/*
 * agent.h: `kubelet-checkpoint run`, the agent. One context, one thread, one
 * poll loop. Data flows one way: sources (the API through api_client, the
 * disk, the pod cgroups, the flag file) feed the parent table and the
 * reachability tracker; each pass hands a snapshot of them to the pure
 * decision function; the effects layer makes the staticPodPath and the state
 * dir match its verdict, then the status file, metrics and systemd are told.
 * The agent's context and its modules are internal to src/agent/
 * (agent_int.h); this is all the command line needs.
 */
#ifndef KC_AGENT_H
#define KC_AGENT_H

/* The whole of `run` after option parsing: returns the exit status. */
int agent_main(int argc, char **argv);

#endif
