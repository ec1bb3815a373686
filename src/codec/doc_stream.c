/*
 * doc_stream.c: byte ranges of the items of a JSON List (see doc_stream.h).
 * A bracket and string matcher only: values are validated by doc_parse_json
 * when the caller parses each item.
 */
#include <string.h>

#include "doc.h"
#include "doc_limits.h"
#include "doc_stream.h"

static size_t skip_blank(const char *d, size_t len, size_t i)
{
	while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
		i++;
	return i;
}

/* The index after the value starting at d[i]; len when it runs off the end. */
static size_t skip_value(const char *d, size_t len, size_t i)
{
	size_t depth = 0;

	if (i >= len)
		return len;
	if (d[i] == '"')
		return doc_json_string_end(d, len, i);
	if (d[i] != '{' && d[i] != '[') {
		/* A number, true, false or null: up to the next delimiter. */
		while (i < len && d[i] != ',' && d[i] != '}' && d[i] != ']' && d[i] != ' ' &&
		       d[i] != '\t' && d[i] != '\n' && d[i] != '\r')
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (d[i] == '"') {
			i = doc_json_string_end(d, len, i) - 1;
		} else if (d[i] == '{' || d[i] == '[') {
			if (++depth > DOC_MAX_DEPTH)
				return len;
		} else if ((d[i] == '}' || d[i] == ']') && --depth == 0) {
			return i + 1;
		}
	}
	return len;
}

/* A key at d[i] ('"'): does it equal key (no escapes)? *after: index after it. */
static bool key_is(const char *d, size_t len, size_t i, const char *key, size_t *after)
{
	size_t n = strlen(key);

	*after = doc_json_string_end(d, len, i);
	return *after - i == n + 2 && memcmp(d + i + 1, key, n) == 0;
}

#define BAD ((size_t)-1)

/*
 * Walk the members of the object at d[start] ('{'), calling back for each
 * (vstart: where the value begins, vend: after it) until one returns false.
 * Returns the index after '}', or BAD on a malformed object or a stop.
 */
typedef bool (*member_fn)(void *ctx, const char *d, size_t kstart, size_t vstart, size_t vend);

static size_t walk_object(const char *d, size_t len, size_t start, member_fn fn, void *ctx)
{
	size_t i = skip_blank(d, len, start + 1), k, v, e;

	if (i < len && d[i] == '}')
		return i + 1;
	while (i < len && d[i] == '"') {
		k = i;
		i = skip_blank(d, len, doc_json_string_end(d, len, i));
		if (i >= len || d[i] != ':')
			return BAD;
		v = skip_blank(d, len, i + 1);
		e = skip_value(d, len, v);
		if (e >= len || (fn != NULL && !fn(ctx, d, k, v, e)))
			return BAD;
		i = skip_blank(d, len, e);
		if (i < len && d[i] == '}')
			return i + 1;
		if (i >= len || d[i] != ',')
			return BAD;
		i = skip_blank(d, len, i + 1);
	}
	return BAD;
}

struct top_scan {
	struct doc_json_list *l;
	size_t items; /* '[' of items, 0 when not seen */
	size_t items_end;
	bool duplicate;
	bool not_array;
};

static bool on_top_member(void *ctx, const char *d, size_t k, size_t v, size_t e)
{
	struct top_scan *t = ctx;
	size_t after;

	if (key_is(d, t->l->len, k, "items", &after)) {
		if (t->items != 0) {
			t->duplicate = true;
			return false;
		}
		if (d[v] != '[') {
			t->not_array = true;
			return false;
		}
		t->items = v;
		t->items_end = e - 1;
	} else if (key_is(d, t->l->len, k, "kind", &after) && d[v] == '"' &&
	           e - v - 2 < sizeof(t->l->kind) && memchr(d + v + 1, '\\', e - v - 2) == NULL) {
		memcpy(t->l->kind, d + v + 1, e - v - 2);
		t->l->kind[e - v - 2] = '\0';
	}
	return true;
}

kc_code doc_json_list_open(const char *data, size_t len, struct doc_json_list *l,
                           struct kc_error *err)
{
	struct top_scan t = {.l = l};
	size_t i = skip_blank(data, len, 0), end;

	memset(l, 0, sizeof(*l));
	l->data = data;
	l->len = len;
	if (i >= len || data[i] != '{')
		return kc_fail(err, KC_ENOTFOUND, "not a JSON object");
	end = walk_object(data, len, i, on_top_member, &t);
	if (t.duplicate)
		return kc_fail(err, KC_EINVAL, "duplicate key \"items\"");
	if (t.not_array)
		return kc_fail(err, KC_ENOTFOUND, "items is not an array");
	if (end == BAD)
		return kc_fail(err, KC_ENOTFOUND, "not one well-formed JSON object");
	if (skip_blank(data, len, end) != len)
		return kc_fail(err, KC_ENOTFOUND, "more than one JSON value");
	if (t.items == 0)
		return kc_fail(err, KC_ENOTFOUND, "no items");
	l->pos = t.items + 1;
	l->end = t.items_end;
	return KC_OK;
}

kc_code doc_json_list_next(struct doc_json_list *l, const char **item, size_t *item_len, bool *done,
                           struct kc_error *err)
{
	size_t i = skip_blank(l->data, l->end, l->pos), e;

	*done = false;
	if (l->index > 0) {
		if (i < l->end && l->data[i] == ',')
			i = skip_blank(l->data, l->end, i + 1);
		else if (i < l->end)
			return kc_fail(err, KC_EINVAL, "items[%zu]: expected ',' or ']'", l->index);
	}
	if (i >= l->end) {
		*done = true;
		return KC_OK;
	}
	e = skip_value(l->data, l->end, i);
	*item = l->data + i;
	*item_len = e - i;
	l->pos = e;
	l->index++;
	return KC_OK;
}

struct key_find {
	const char *key;
	size_t len;
	char *buf;
	size_t bufsz;
};

static bool on_item_member(void *ctx, const char *d, size_t k, size_t v, size_t e)
{
	struct key_find *f = ctx;
	size_t after;

	if (!key_is(d, f->len, k, f->key, &after))
		return true;
	if (d[v] == '"' && e - v - 2 < f->bufsz && memchr(d + v + 1, '\\', e - v - 2) == NULL) {
		memcpy(f->buf, d + v + 1, e - v - 2);
		f->buf[e - v - 2] = '\0';
	}
	return false; /* found: stop */
}

void doc_json_top_string(const char *data, size_t len, const char *key, char *buf, size_t bufsz)
{
	struct key_find f = {.key = key, .len = len, .buf = buf, .bufsz = bufsz};
	size_t i = skip_blank(data, len, 0);

	if (bufsz == 0)
		return;
	buf[0] = '\0';
	if (i < len && data[i] == '{')
		walk_object(data, len, i, on_item_member, &f);
}
