/*
 * fuzz_watch_stream.c: libFuzzer target for the watch-stream parser. The
 * input is fed once whole and once in pieces whose sizes come from the input
 * itself; both runs must deliver the same events and end the same way, since
 * the network may split a stream anywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "watch_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	unsigned long long hash; /* over event types and object dumps */
	size_t events;
};

static kc_code on_event(void *ctx, const struct watch_event *ev, struct kc_error *err)
{
	struct seen *s = ctx;
	char *text = json_dumps(ev->object, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t i;

	(void)err;
	s->hash = (s->hash ^ (unsigned)ev->type) * 1099511628211ULL;
	for (i = 0; text != NULL && text[i] != '\0'; i++)
		s->hash = (s->hash ^ (unsigned char)text[i]) * 1099511628211ULL;
	free(text);
	s->events++;
	return KC_OK;
}

/* Feed data in pieces sized by step (1..16 bytes, cycling); returns the final code. */
static kc_code feed(const uint8_t *data, size_t size, size_t step, struct seen *s)
{
	struct watch_stream ws;
	struct kc_error err;
	size_t off = 0, n;
	kc_code rc = KC_OK;

	memset(s, 0, sizeof(*s));
	s->hash = 14695981039346656037ULL;
	watch_stream_init(&ws, 1u << 20, on_event, s);
	while (rc == KC_OK && off < size) {
		n = step == 0 ? size - off : 1 + (data[off] + step) % 16;
		if (n > size - off)
			n = size - off;
		rc = watch_stream_feed(&ws, (const char *)data + off, n, &err);
		off += n;
	}
	if (rc == KC_OK)
		rc = watch_stream_finish(&ws, &err);
	if (rc != KC_OK)
		FUZZ_ASSERT(err.msg[0] != '\0', "an error without a message");
	watch_stream_free(&ws);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, pieces;
	kc_code a = feed(data, size, 0, &whole), b = feed(data, size, 7, &pieces);

	FUZZ_ASSERT(a == b, "split input ended differently");
	FUZZ_ASSERT(whole.events == pieces.events, "split input gave other events");
	FUZZ_ASSERT(whole.hash == pieces.hash, "split input gave other event content");
	return 0;
}
