/*
 * event_queue.h: the Kubernetes Events the agent owes the cluster, kept in
 * memory until the API answers (issue 11): CheckpointBridgeActivated,
 * CheckpointBridgeWithdrawn, CheckpointNotRunning, NotCheckpointable,
 * CheckpointCorrupt, on the parent pod (or on the Node when the pod is not
 * known, e.g. a corrupt file).
 *
 * Bounded: at most cap events are held; adding one more drops the oldest and
 * counts it (dropped). Aggregated as the kubelet's recorder does
 * (client-go tools/record/events_cache.go, eventLogger.eventObserve: an event
 * with the same involved object, type, reason and message as one already held
 * bumps that one's count and lastTimestamp instead of adding another).
 *
 * An event seen again after it was posted is not a new Event either: the
 * last EVQ_POSTED_CACHE posted events are remembered (events_cache.go keeps
 * an LRU of them), and a repeat is queued as a PATCH of the posted Event
 * with the total count and the new lastTimestamp (evq_patch_json), as
 * client-go's recordToSink does; a PATCH whose Event has expired (404) is
 * POSTed again as a new Event (evq_unpatch).
 *
 * Posting is the caller's: it takes the oldest (evq_head), POSTs the body
 * evq_event_json builds (or PATCHes patch_name with evq_patch_json), and
 * says how it went: evq_posted (done; occurrences added while it was in
 * flight stay queued as a PATCH of it) or evq_drop (the API rejected it for
 * good). Nothing here waits for or delays anything.
 *
 * Pure: no I/O; time is a parameter (wall-clock seconds, for the Event's
 * timestamps).
 */
#ifndef KC_EVENT_QUEUE_H
#define KC_EVENT_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "kc_error.h"

#define EVQ_DEFAULT_CAP  256
#define EVQ_POSTED_CACHE 256
#define EVQ_MESSAGE_MAX  1024 /* the apiserver caps Event messages at 1 KiB */
#define EVQ_COMPONENT    "kubelet-checkpoint"

#define EVQ_ACTIVATED          "CheckpointBridgeActivated"
#define EVQ_WITHDRAWN          "CheckpointBridgeWithdrawn"
#define EVQ_NOT_RUNNING        "CheckpointNotRunning"
#define EVQ_NOT_CHECKPOINTABLE "NotCheckpointable"
#define EVQ_CORRUPT            "CheckpointCorrupt"
#define EVQ_HANDOFF_TIMEOUT    "CheckpointHandOffTimeout"
#define EVQ_HANDOFF_WATCHDOG   "CheckpointHandOffWatchdog"

/* What an Event is about: a Pod (namespace, name, uid) or the Node (name). */
struct evq_object {
	const char *kind;      /* "Pod" or "Node" */
	const char *namespace; /* Pod: its namespace; Node: NULL */
	const char *name;
	const char *uid; /* may be NULL */
};

struct evq_event {
	uint64_t id; /* unique in the queue's life; names the Event */
	char *kind, *namespace, *name, *uid;
	bool warning; /* type Warning, else Normal */
	char *reason, *message;
	time_t first, last;
	unsigned count;   /* occurrences of this Event in all, posted ones included */
	char *patch_name; /* NULL: POST a new Event; else PATCH this posted one */
};

struct evq {
	struct evq_event *v; /* oldest first */
	size_t n, cap;
	uint64_t next_id;
	uint64_t added;         /* every evq_add */
	uint64_t aggregated;    /* of which folded into a held event */
	uint64_t dropped;       /* held events dropped because the queue was full */
	uint64_t rejected;      /* events the API refused (evq_drop) */
	uint64_t posted;        /* events posted (evq_posted) */
	struct evq_event *done; /* the last posted events, oldest first (patch_name set) */
	size_t ndone;
};

void evq_init(struct evq *q, size_t cap);
/*
 * Number the Events from first_id on (evq_init starts at 1). An agent seeds
 * it with its start's wall-clock nanoseconds, as the kubelet names Events
 * "<name>.<unixnano hex>": names then differ across restarts, and a second
 * boot within an Event's one-hour life is not refused 409 AlreadyExists.
 */
void evq_seed(struct evq *q, uint64_t first_id);
void evq_free(struct evq *q);

/*
 * Record one occurrence at now (message cut at EVQ_MESSAGE_MAX). KC_EINVAL
 * for an object without kind or name (or a Pod without namespace), KC_ENOMEM.
 */
kc_code evq_add(struct evq *q, const struct evq_object *obj, bool warning, const char *reason,
                const char *message, time_t now, struct kc_error *err);

/* The oldest held event; NULL when empty. Valid until the next evq_* call. */
const struct evq_event *evq_head(const struct evq *q);

/*
 * Event id was posted (or patched) as it was when count_posted was read:
 * removed and remembered, or, if it occurred again meanwhile, kept as a
 * PATCH of it carrying the new total. An id no longer held is ignored.
 */
void evq_posted(struct evq *q, uint64_t id, unsigned count_posted);
/* The Event that id was to PATCH is gone (404): POST it as a new Event. */
void evq_unpatch(struct evq *q, uint64_t id);
/* The API refused event id for good: removed and counted as rejected. */
void evq_drop(struct evq *q, uint64_t id);

/*
 * The core/v1 Event for e, reported by node (source.host,
 * reportingInstance): metadata.name "<object name>.<id hex>" (cut to fit 253),
 * namespace the pod's (Node events go to "default", as the kubelet's do),
 * involvedObject, reason, message, type, count, first/lastTimestamp,
 * source.component EVQ_COMPONENT. *out is a new reference.
 */
kc_code evq_event_json(const struct evq_event *e, const char *node, json_t **out,
                       struct kc_error *err);
/* The merge patch of a repeat: count, lastTimestamp, message. */
kc_code evq_patch_json(const struct evq_event *e, json_t **out, struct kc_error *err);

#endif
