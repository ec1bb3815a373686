/*
 * doc_stream.h: a JSON List read one item at a time. `kubectl get pods -A
 * -o json` over a whole cluster is one object whose "items" array holds every
 * pod (18 MB for 2,000 pods); parsed whole it becomes a tree ten times that
 * size. This scanner finds the byte range of each item without building
 * anything, so a caller parses (doc_parse_json) and drops one item at a time
 * and its memory is bounded by the largest item, not the list.
 *
 * The scanner only matches brackets and strings; each item is validated by
 * the real parser when the caller parses it. The top level is checked as far
 * as streaming needs: one object, "items" present once and an array, nothing
 * but blanks after it.
 */
#ifndef KC_DOC_STREAM_H
#define KC_DOC_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

struct doc_json_list {
	const char *data;
	size_t len;
	size_t pos;    /* next byte of the items array to look at */
	size_t end;    /* the items array's closing ']' */
	size_t index;  /* items returned so far */
	char kind[32]; /* top-level "kind" ("" when absent or not a short string) */
};

/*
 * Set up *l when data is one JSON object with an "items" array: KC_OK. When
 * the input is not such an object (YAML, a single Pod, several documents),
 * KC_ENOTFOUND and the caller parses it whole. Malformed top level: KC_EINVAL.
 */
kc_code doc_json_list_open(const char *data, size_t len, struct doc_json_list *l,
                           struct kc_error *err);

/* The next item's bytes into item and item_len; done at the end of the array. */
kc_code doc_json_list_next(struct doc_json_list *l, const char **item, size_t *item_len, bool *done,
                           struct kc_error *err);

/*
 * The string value of key at the top level of the JSON object in data (an
 * item), unescaped only if it has no escapes, into buf; "" when absent, not
 * a string, or longer than bufsz - 1.
 */
void doc_json_top_string(const char *data, size_t len, const char *key, char *buf, size_t bufsz);

#endif
