/*
 * reachability.c: API reachability with hysteresis windows (see reachability.h).
 *
 * The struct keeps the settled state as of the last event plus the run in
 * progress (down or success). The state at any later instant is the run's
 * state once the run is long enough, else the settled one; an event first
 * commits that state, then changes the run.
 */
#include "reachability.h"

void reachability_init(struct reachability *r, int64_t start_ms, int64_t unreachable_after_ms,
                       int64_t reachable_after_ms)
{
	r->unreachable_after_ms = unreachable_after_ms < 0 ? 0 : unreachable_after_ms;
	r->reachable_after_ms = reachable_after_ms < 0 ? 0 : reachable_after_ms;
	r->settled = REACH_UNKNOWN;
	r->settled_since_ms = start_ms;
	/* Never reached: the window runs from agent start, but it takes a
	 * failed attempt to end it (reachability.h). */
	r->fail_since_ms = start_ms;
	r->attempt_failed = false;
	r->refusing = false;
	r->refused_since_ms = -1;
	r->ok_since_ms = -1;
	r->last_event_ms = start_ms;
	r->last_success_ms = -1;
	r->last_ok_ms = -1;
	r->successes = r->failures = r->auth_errors = 0;
}

bool reach_cannot_get_pods(enum reach_state s)
{
	return s == REACH_UNREACHABLE || s == REACH_REFUSED;
}

/*
 * Did the API really answer in this outage (or since start, or while
 * reachable), without a whole down window after it? Lowers next_change_ms
 * to when that runs out.
 */
static void set_answered(const struct reachability *r, int64_t now_ms, struct reach_view *v)
{
	int64_t expires;

	if (r->last_ok_ms < 0 || (reach_cannot_get_pods(v->state) && r->last_ok_ms < v->since_ms))
		return;
	if (r->fail_since_ms < 0) {
		v->answered = true;
		return;
	}
	expires = r->fail_since_ms + r->unreachable_after_ms;
	if (now_ms >= expires)
		return;
	v->answered = true;
	if (expires < v->next_change_ms)
		v->next_change_ms = expires;
}

/* The state the current run has earned by now_ms, or settled. */
struct reach_view reachability_view(const struct reachability *r, int64_t now_ms)
{
	struct reach_view v = {r->settled, r->settled_since_ms, REACH_NEVER, false};
	enum reach_state down = r->refusing ? REACH_REFUSED : REACH_UNREACHABLE;
	int64_t due;

	if (r->fail_since_ms >= 0) {
		/* No failed attempt yet: only a failure can move the state. */
		if (!r->attempt_failed) {
			/* nothing earned */
		} else if (reach_cannot_get_pods(r->settled)) {
			v.state = down; /* unreachable <-> refused as the outcomes go */
		} else {
			due = r->fail_since_ms + r->unreachable_after_ms;
			if (now_ms >= due) {
				v.state = down;
				v.since_ms = due;
			} else {
				v.next_change_ms = due;
			}
		}
	} else if (r->ok_since_ms >= 0 && r->settled != REACH_REACHABLE) {
		due = r->ok_since_ms + r->reachable_after_ms;
		if (now_ms >= due) {
			v.state = REACH_REACHABLE;
			v.since_ms = due;
		} else {
			v.next_change_ms = due;
		}
	}
	set_answered(r, now_ms, &v);
	return v;
}

enum reach_state reachability_state(const struct reachability *r, int64_t now_ms)
{
	return reachability_view(r, now_ms).state;
}

int64_t reachability_next_deadline(const struct reachability *r, int64_t now_ms)
{
	return reachability_view(r, now_ms).next_change_ms;
}

/* Clamp t to be monotonic and commit the state earned so far. */
static int64_t commit(struct reachability *r, int64_t t)
{
	struct reach_view v;

	if (t < r->last_event_ms)
		t = r->last_event_ms;
	r->last_event_ms = t;
	v = reachability_view(r, t);
	r->settled = v.state;
	r->settled_since_ms = v.since_ms;
	return t;
}

/* A failed or refused attempt: end any success run, start or continue a down run. */
static int64_t down(struct reachability *r, int64_t now_ms)
{
	now_ms = commit(r, now_ms);
	r->ok_since_ms = -1;
	if (r->fail_since_ms < 0)
		r->fail_since_ms = now_ms;
	r->attempt_failed = true;
	return now_ms;
}

void reachability_on_success(struct reachability *r, int64_t now_ms)
{
	now_ms = commit(r, now_ms);
	r->fail_since_ms = -1;
	r->attempt_failed = false;
	r->refusing = false;
	r->refused_since_ms = -1;
	if (r->ok_since_ms < 0)
		r->ok_since_ms = now_ms;
	r->last_success_ms = now_ms;
	r->last_ok_ms = now_ms;
	r->successes++;
}

void reachability_on_failure(struct reachability *r, int64_t now_ms)
{
	down(r, now_ms);
	r->refusing = false;
	r->refused_since_ms = -1;
	r->failures++;
}

void reachability_on_auth_error(struct reachability *r, int64_t now_ms)
{
	now_ms = down(r, now_ms);
	if (!r->refusing)
		r->refused_since_ms = now_ms;
	r->refusing = true;
	r->last_success_ms = now_ms;
	r->auth_errors++;
}

const char *reach_state_name(enum reach_state s)
{
	switch (s) {
	case REACH_REACHABLE:
		return "reachable";
	case REACH_UNREACHABLE:
		return "unreachable";
	case REACH_REFUSED:
		return "refused";
	case REACH_UNKNOWN:
		break;
	}
	return "unknown";
}
