/*
 * reachability.h: turns the outcomes of API requests into "reachable",
 * "unreachable" or "unknown", with hysteresis (docs/design.md §6). Pure: time is a
 * parameter (monotonic milliseconds), nothing here reads a clock.
 *
 * - A failure (refused, reset, timeout, TLS, 5xx) starts a failure run unless
 *   one is already running; any success ends it. When the API has never been
 *   reached, the failure run starts at agent start, so a node that boots with
 *   the API down (requests hanging, no answer at all) still turns unreachable.
 * - The API is UNREACHABLE once a failure run has lasted unreachable_after,
 *   and REACHABLE once a success run (first success after the last failure;
 *   a healthy watch stream keeps it going) has lasted reachable_after.
 * - In between the previous state holds, so a flapping API that succeeds more
 *   often than every unreachable_after never trips the window.
 * - 401/403 mean the API is up: they count as successes (and are counted).
 * - UNKNOWN only before the first state is reached after start.
 * - "Answered" (the hand-off of host-port bridges, decision.h): while
 *   UNREACHABLE, the API has succeeded (a real success; 401/403 do not count:
 *   the kubelet, with the same identity, got nothing either) since the
 *   outage began, and has not failed continuously for unreachable_after
 *   since. A flapping API therefore stays "answered" for the whole outage;
 *   only a full unreachable window of failure after the last success makes a
 *   new outage, in which it is false again.
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
};

struct reachability {
	int64_t unreachable_after_ms;
	int64_t reachable_after_ms;
	enum reach_state settled; /* state as of the last event */
	int64_t settled_since_ms; /* when settled began (start when UNKNOWN) */
	int64_t fail_since_ms;    /* current failure run, -1 when none */
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
	bool answered;          /* UNREACHABLE, and the API answered during this outage */
};

void reachability_init(struct reachability *r, int64_t start_ms, int64_t unreachable_after_ms,
                       int64_t reachable_after_ms);
void reachability_on_success(struct reachability *r, int64_t now_ms);
void reachability_on_failure(struct reachability *r, int64_t now_ms);
/* 401/403: the API answered, so it is up; counted apart for logs and status. */
void reachability_on_auth_error(struct reachability *r, int64_t now_ms);

struct reach_view reachability_view(const struct reachability *r, int64_t now_ms);
enum reach_state reachability_state(const struct reachability *r, int64_t now_ms);
/* The next instant > now_ms at which the state flips if nothing else happens. */
int64_t reachability_next_deadline(const struct reachability *r, int64_t now_ms);

/* "reachable", "unreachable", "unknown". */
const char *reach_state_name(enum reach_state s);

#endif
