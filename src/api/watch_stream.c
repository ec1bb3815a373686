/*
 * watch_stream.c: incremental parser for newline-delimited watch events (see
 * watch_stream.h). A complete line found inside one feed is parsed in place;
 * only a line split across feeds is copied into the carry buffer, whose cap
 * bounds memory whatever the server sends. The cap applies to both.
 */
#include <string.h>

#include "watch_stream.h"

static const char *const type_names[] = {
    [WATCH_ADDED] = "ADDED",       [WATCH_MODIFIED] = "MODIFIED", [WATCH_DELETED] = "DELETED",
    [WATCH_BOOKMARK] = "BOOKMARK", [WATCH_ERROR] = "ERROR",
};

const char *watch_event_type_name(enum watch_event_type type)
{
	if ((size_t)type >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[type];
}

long watch_status_code(const json_t *status)
{
	json_t *code = json_object_get(status, "code");

	return json_is_integer(code) ? (long)json_integer_value(code) : 0;
}

void watch_stream_init(struct watch_stream *ws, size_t max_line, watch_event_fn on_event, void *ctx)
{
	kc_buf_init(&ws->line, max_line != 0 ? max_line : WATCH_STREAM_MAX_LINE);
	ws->on_event = on_event;
	ws->ctx = ctx;
	ws->events = 0;
	ws->failed = KC_OK;
}

void watch_stream_free(struct watch_stream *ws)
{
	kc_buf_free(&ws->line);
}

static int is_blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

static kc_code decode_type(const json_t *type, enum watch_event_type *out, struct kc_error *err)
{
	const char *s = json_string_value(type);

	if (s == NULL)
		return kc_fail(err, KC_EINVAL, "\"type\" is missing or not a string");
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*out = (enum watch_event_type)i;
			return KC_OK;
		}
	}
	return kc_fail(err, KC_EINVAL, "unknown event type \"%.64s\"", s);
}

/* Parse one complete line (without its '\n') and deliver it. */
static kc_code deliver_line(struct watch_stream *ws, const char *p, size_t n, struct kc_error *err)
{
	struct watch_event ev;
	json_error_t jerr;
	json_t *root, *obj;
	kc_code rc;

	if (is_blank(p, n))
		return KC_OK;
	root = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return kc_fail(err, KC_EINVAL, "event %lu: invalid JSON: %s (column %d)",
		               ws->events + 1, jerr.text, jerr.column);
	if (!json_is_object(root)) {
		rc = kc_fail(err, KC_EINVAL, "event %lu: not a JSON object", ws->events + 1);
		goto out;
	}
	if ((rc = decode_type(json_object_get(root, "type"), &ev.type, err)) != KC_OK) {
		kc_error_prefix(err, "event %lu", ws->events + 1);
		goto out;
	}
	obj = json_object_get(root, "object");
	if (!json_is_object(obj)) {
		rc = kc_fail(err, KC_EINVAL,
		             "event %lu (%s): \"object\" is missing or not an object",
		             ws->events + 1, type_names[ev.type]);
		goto out;
	}
	ev.object = obj;
	ev.resource_version =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	ws->events++;
	rc = ws->on_event(ws->ctx, &ev, err);
out:
	json_decref(root);
	return rc;
}

static kc_code poison(struct watch_stream *ws, kc_code rc)
{
	ws->failed = rc;
	kc_buf_reset(&ws->line);
	return rc;
}

kc_code watch_stream_feed(struct watch_stream *ws, const char *data, size_t len,
                          struct kc_error *err)
{
	const char *end = data + len, *nl;
	kc_code rc;

	if (ws->failed != KC_OK)
		return kc_fail(err, ws->failed, "watch stream already failed");
	while (data < end) {
		nl = memchr(data, '\n', (size_t)(end - data));
		if (nl == NULL) {
			if ((rc = kc_buf_append(&ws->line, data, (size_t)(end - data), err)) !=
			    KC_OK)
				return poison(ws, kc_error_prefix(err, "watch event line"));
			return KC_OK;
		}
		if (ws->line.len == 0) {
			/* Same cap whether or not the line had to be copied. */
			if ((size_t)(nl - data) > ws->line.limit)
				return poison(ws, kc_fail(err, KC_ETOOBIG,
				                          "watch event line: more than %zu bytes",
				                          ws->line.limit));
			rc = deliver_line(ws, data, (size_t)(nl - data), err);
		} else {
			if ((rc = kc_buf_append(&ws->line, data, (size_t)(nl - data), err)) !=
			    KC_OK)
				return poison(ws, kc_error_prefix(err, "watch event line"));
			rc = deliver_line(ws, ws->line.data, ws->line.len, err);
			kc_buf_reset(&ws->line);
		}
		if (rc != KC_OK)
			return poison(ws, rc);
		data = nl + 1;
	}
	return KC_OK;
}

kc_code watch_stream_finish(struct watch_stream *ws, struct kc_error *err)
{
	kc_code rc;

	if (ws->failed != KC_OK)
		return kc_fail(err, ws->failed, "watch stream already failed");
	if (ws->line.len == 0 || is_blank(ws->line.data, ws->line.len))
		return KC_OK;
	rc = deliver_line(ws, ws->line.data, ws->line.len, err);
	kc_buf_reset(&ws->line);
	if (rc == KC_EINVAL) {
		/* An unparseable tail is a stream cut mid-event, not a bad server. */
		if (err != NULL) {
			err->code = KC_EIO;
			kc_error_prefix(err, "watch stream ended inside an event");
		}
		return poison(ws, KC_EIO);
	}
	return rc != KC_OK ? poison(ws, rc) : KC_OK;
}
