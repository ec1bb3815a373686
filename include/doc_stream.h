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

#include "kc_buf.h"
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

/*
 * The same List arriving in pieces (an HTTP body read as it comes): bytes are
 * fed as they arrive and each complete item is handed to on_item, so memory
 * is bounded by one item, not the body (a node's pod LIST can be 67 MB). An
 * item longer than item_cap is handed over cut at item_cap bytes, with
 * full_len saying how long it was; the rest of it is skipped, never held.
 * The top-level "metadata" value (resourceVersion, continue) is kept whole,
 * up to meta_cap bytes, whatever its place in the object.
 *
 * Same matcher as above (brackets and strings); the caller parses each item.
 */
typedef kc_code (*doc_list_item_fn)(void *ctx, const char *item, size_t len, size_t full_len,
                                    struct kc_error *err);

struct doc_json_list_feed {
	doc_list_item_fn on_item;
	void *ctx;
	struct kc_buf item; /* the current item, up to its cap */
	struct kc_buf meta; /* the top-level "metadata" value */
	size_t item_len;    /* bytes of the current item seen, kept or not */
	size_t index;       /* items delivered so far */
	size_t offset;      /* bytes fed so far (for messages) */
	int state;          /* where the top level is (doc_stream.c) */
	int target;         /* what the value being read goes to */
	char key[16];       /* the top-level key being read (truncated) */
	size_t keylen;
	size_t depth; /* of the value being read */
	bool in_string, escape, saw_items;
	kc_code failed;
};

void doc_json_list_feed_init(struct doc_json_list_feed *f, size_t item_cap, size_t meta_cap,
                             doc_list_item_fn on_item, void *ctx);
void doc_json_list_feed_free(struct doc_json_list_feed *f);
/* KC_EINVAL for a body that is not one object with an "items" array of objects, or whatever
 * on_item returned; the feed is then stuck on that error. */
kc_code doc_json_list_feed_bytes(struct doc_json_list_feed *f, const char *data, size_t len,
                                 struct kc_error *err);
/* The body ended: KC_EINVAL unless it held one complete object with "items". */
kc_code doc_json_list_feed_finish(struct doc_json_list_feed *f, struct kc_error *err);

/*
 * The value of key among the top-level members of the JSON object that
 * starts data, even when data is cut short (an item cut at its cap): the
 * members before the cut are found. false when absent or itself cut.
 */
bool doc_json_prefix_member(const char *data, size_t len, const char *key, const char **value,
                            size_t *value_len);

#endif
