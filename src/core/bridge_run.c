/*
 * bridge_run.c: the started-or-not state of one bridge (see bridge_run.h).
 */
#include <string.h>

#include "bridge_run.h"

bool bridge_run_step(struct bridge_run *b, bool on_disk, bool names_known, bool ready,
                     int64_t now_ms, int64_t timeout_ms, int64_t *next_ms)
{
	int64_t due;

	if (!on_disk) {
		memset(b, 0, sizeof(*b));
		return false;
	}
	if (b->state == BRIDGE_RUN_NONE) {
		b->written_ms = now_ms;
		b->state = BRIDGE_RUN_STARTING;
	}
	if (!names_known) {
		b->state = BRIDGE_RUN_UNKNOWN;
		return false;
	}
	if (ready) {
		b->state = BRIDGE_RUN_RUNNING;
		return false;
	}
	due = b->written_ms + (timeout_ms < 0 ? 0 : timeout_ms);
	if (now_ms < due) {
		b->state = BRIDGE_RUN_STARTING;
		if (next_ms != NULL && due < *next_ms)
			*next_ms = due;
		return false;
	}
	b->state = BRIDGE_RUN_NOT_RUNNING;
	if (b->reported)
		return false;
	b->reported = true;
	return true;
}

const char *bridge_run_name(enum bridge_run_state s)
{
	static const char *const names[] = {
	    [BRIDGE_RUN_NONE] = "none",       [BRIDGE_RUN_STARTING] = "starting",
	    [BRIDGE_RUN_RUNNING] = "running", [BRIDGE_RUN_NOT_RUNNING] = "not-running",
	    [BRIDGE_RUN_UNKNOWN] = "unknown",
	};

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "none";
	return names[s];
}
