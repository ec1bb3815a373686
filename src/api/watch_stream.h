/*
 * watch_stream.h: the parser for a Kubernetes watch response body. The body is
 * newline-delimited JSON, one event per line:
 *
 *	{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": {...}}
 *
 * Bytes arrive in arbitrary pieces (an event split across reads, several
 * events in one read); the parser buffers partial lines and hands every
 * complete event to a callback. A line longer than the cap is an error, not
 * an allocation. Pure: no I/O, no clock.
 */
#ifndef KC_WATCH_STREAM_H
#define KC_WATCH_STREAM_H

#include <jansson.h>
#include <stddef.h>

#include "kc_buf.h"
#include "kc_error.h"

/* Default cap on one event line (a Pod is at most ~1.5 MiB in etcd). */
#define WATCH_STREAM_MAX_LINE (16u * 1024 * 1024)

enum watch_event_type {
	WATCH_ADDED,
	WATCH_MODIFIED,
	WATCH_DELETED,
	WATCH_BOOKMARK,
	WATCH_ERROR, /* object is a metav1.Status; code 410 means "relist" */
};

struct watch_event {
	enum watch_event_type type;
	json_t *object;               /* borrowed for the duration of the callback */
	const char *resource_version; /* object.metadata.resourceVersion or NULL */
};

/*
 * Called once per complete event. A non-KC_OK return stops the feed and is
 * returned from watch_stream_feed (the stream is then poisoned).
 */
typedef kc_code (*watch_event_fn)(void *ctx, const struct watch_event *ev, struct kc_error *err);

struct watch_stream {
	struct kc_buf line; /* the partial line carried between feeds */
	watch_event_fn on_event;
	void *ctx;
	unsigned long events; /* complete events delivered */
	kc_code failed;       /* first error; every later feed repeats it */
};

/* max_line 0 means WATCH_STREAM_MAX_LINE. */
void watch_stream_init(struct watch_stream *ws, size_t max_line, watch_event_fn on_event,
                       void *ctx);
void watch_stream_free(struct watch_stream *ws);

/*
 * Consume len bytes. Blank lines (and "\r\n" endings) are accepted. Errors:
 * KC_ETOOBIG for a line over the cap, KC_EINVAL for a line that is not a JSON
 * object with a known "type" string and an "object" object, or whatever the
 * callback returned.
 */
kc_code watch_stream_feed(struct watch_stream *ws, const char *data, size_t len,
                          struct kc_error *err);

/*
 * The body ended. A partial event left in the buffer (the stream was cut
 * mid-event) is KC_EIO; a trailing event without its newline is delivered.
 */
kc_code watch_stream_finish(struct watch_stream *ws, struct kc_error *err);

/* Name of an event type as it appears on the wire. */
const char *watch_event_type_name(enum watch_event_type type);

/* The "code" of a Status object (ERROR events, error bodies); 0 when absent. */
long watch_status_code(const json_t *status);

#endif
