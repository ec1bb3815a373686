/*
 * reachability.h: turns the outcomes of API requests into "reachable",
 * "unreachable", "refused" or "unknown", with hysteresis (docs/design.md §6).
 * Pure: time is a parameter (monotonic milliseconds), nothing here reads a
 * clock.
 *
 * - A "down run" is a stretch of failures (refused, reset, timeout, TLS,
 *   5xx) and refusals (401/403) with no real success in it; a real success
 *   ends it. When the API has never been reached, the down run starts at
 *   agent start, so a node that boots with the API down (requests hanging,
 *   no answer at all) still turns unreachable in one window.
 * - An outage needs a failed attempt (issue 19 finding 2): the state never
 *   leaves UNKNOWN/REACHABLE for a down run in which no attempt has failed
 *   or been refused yet. An agent restarted while it waits out its start-up
 *   spread has sent nothing, so it cannot declare an outage.
 * - Once a down run with a failed attempt has lasted unreachable_after, the
 *   state is UNREACHABLE, or REFUSED when the run's last outcome was a
 *   401/403: the API is up but refuses this node's identity, and the kubelet,
 *   with the same identity, cannot get its pods either (issue 18 defect 4).
 *   Both mean "the kubelet cannot get its pods" (reach_cannot_get_pods).
 * - The API is REACHABLE once a success run (first real success after the
 *   last failure or refusal; a healthy watch stream keeps it going) has
 *   lasted reachable_after.
 * - In between the previous state holds, so a flapping API that succeeds more
 *   often than every unreachable_after never trips the window.
 * - UNKNOWN only before the first state is reached after start.
 * - "Answered" (the hand-off of host-port bridges, decision.h): the API gave
 *   a real success (401/403 do not count: the kubelet, with the same
 *   identity, got nothing either) during this outage (or since start while
 *   UNKNOWN, or while REACHABLE), and has not been down for a whole
 *   unreachable_after since. A flapping API therefore stays "answered" for
 *   the whole outage; only a full window of failure after the last success
 *   makes a new outage, in which it is false again.
 */
#ifndef KC_REACHABILITY_H
#define KC_REACHABILITY_H

#include <stdbool.h>
#include <stdint.h>

#define REACH_NEVER INT64_MAX

enum reach_state {
	REACH_UNKNOWN = 0,
	REACH_REACHABLE,
	REACH_UNREACHABLE,
	REACH_REFUSED, /* 401/403 for the whole window: the kubelet cannot get its pods */
};

struct reachability {
	int64_t unreachable_after_ms;
	int64_t reachable_after_ms;
	enum reach_state settled; /* state as of the last event */
	int64_t settled_since_ms; /* when settled began (start when UNKNOWN) */
	int64_t fail_since_ms;    /* current down run, -1 when none */
	bool attempt_failed;      /* an attempt failed or was refused in that run */
	bool refusing;            /* the run's last outcome was a 401/403 */
	int64_t refused_since_ms; /* current run of 401/403 outcomes, -1 when none */
	int64_t ok_since_ms;      /* current success run, -1 when none */
	int64_t last_event_ms;    /* events are clamped to be monotonic */
	int64_t last_success_ms;  /* -1: never (401/403 included) */
	int64_t last_ok_ms;       /* last real success (no 401/403); -1: never */
	uint64_t successes, failures, auth_errors;
};

/* What the decision needs, as of one instant. */
struct reach_view {
	enum reach_state state;
	int64_t since_ms;       /* when state began */
	int64_t next_change_ms; /* when state or answered can change with no new event;
	                           REACH_NEVER */
	bool answered;          /* a real success in this outage (see above) */
};

void reachability_init(struct reachability *r, int64_t start_ms, int64_t unreachable_after_ms,
                       int64_t reachable_after_ms);
void reachability_on_success(struct reachability *r, int64_t now_ms);
void reachability_on_failure(struct reachability *r, int64_t now_ms);
/* 401/403: the API is up but refuses this node's identity (see REFUSED above). */
void reachability_on_auth_error(struct reachability *r, int64_t now_ms);

struct reach_view reachability_view(const struct reachability *r, int64_t now_ms);
enum reach_state reachability_state(const struct reachability *r, int64_t now_ms);
/* The next instant > now_ms at which the state flips if nothing else happens. */
int64_t reachability_next_deadline(const struct reachability *r, int64_t now_ms);

/* UNREACHABLE or REFUSED: the kubelet cannot get its pods from the API either. */
bool reach_cannot_get_pods(enum reach_state s);

/* "reachable", "unreachable", "refused", "unknown". */
const char *reach_state_name(enum reach_state s);

#endif
