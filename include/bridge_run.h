/*
 * bridge_run.h: did the kubelet actually start a bridge the agent wrote?
 * The kubelet rejects a static pod only in its own log (decoding,
 * validation, admission), so after an activation the agent looks for the
 * bridge's sandbox: the kubelet names a static pod "<name>-<nodeName>" (node
 * name lowercased) in the pod's namespace (pkg/kubelet/config/common.go,
 * generatePodName), and the container runtime lists it as READY once the
 * pod runs (local_state.h).
 *
 * One small state machine per checkpoint, pure (time is a parameter):
 *   NONE         no bridge manifest of it on disk
 *   STARTING     written, no READY sandbox yet, less than timeout ago
 *   RUNNING      a READY sandbox of the bridge exists
 *   NOT_RUNNING  written at least timeout ago and no READY sandbox (also a
 *                bridge that ran and whose sandbox went away or stopped):
 *                "kubelet did not start it: see the kubelet log"
 *   UNKNOWN      on disk, but the container runtime does not answer, so no
 *                sandbox can be named (the pod cgroups do not carry names)
 */
#ifndef KC_BRIDGE_RUN_H
#define KC_BRIDGE_RUN_H

#include <stdbool.h>
#include <stdint.h>

enum bridge_run_state {
	BRIDGE_RUN_NONE = 0,
	BRIDGE_RUN_STARTING,
	BRIDGE_RUN_RUNNING,
	BRIDGE_RUN_NOT_RUNNING,
	BRIDGE_RUN_UNKNOWN,
};

struct bridge_run {
	enum bridge_run_state state;
	int64_t written_ms; /* when its manifest was first seen on disk (this activation) */
	bool reported;      /* NOT_RUNNING was announced for this activation */
};

/*
 * Advance b at now_ms. on_disk: its bridge manifest is in the staticPodPath;
 * names_known: the runtime answered (sandbox names are known); ready: a READY
 * sandbox of the bridge exists. Returns true exactly once per activation,
 * when the bridge is first found NOT_RUNNING (say it once: log, metric,
 * Event). *next_ms (may be NULL) is lowered to when STARTING runs out.
 */
bool bridge_run_step(struct bridge_run *b, bool on_disk, bool names_known, bool ready,
                     int64_t now_ms, int64_t timeout_ms, int64_t *next_ms);

/* "none", "starting", "running", "not-running", "unknown". */
const char *bridge_run_name(enum bridge_run_state s);

#endif
