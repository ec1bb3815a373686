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

/* ---- the same List fed in pieces ---- */

enum feed_state {
	F_START,       /* before the top-level '{' */
	F_KEY_OR_END,  /* after '{': a key or '}' */
	F_KEY_START,   /* after ',': a key */
	F_KEY,         /* inside a key */
	F_COLON,       /* after a key */
	F_VALUE,       /* after ':': a value starts */
	F_IN_VALUE,    /* inside a member's value (target says where it goes) */
	F_AFTER_VALUE, /* ',' or '}' */
	F_ITEM_OR_END, /* after "items": [ : an item or ']' */
	F_ITEM_START,  /* after ',' in items: an item */
	F_AFTER_ITEM,  /* ',' or ']' */
	F_DONE,        /* after the top-level '}': blanks only */
};

enum feed_target { T_SKIP, T_META, T_ITEM };

void doc_json_list_feed_init(struct doc_json_list_feed *f, size_t item_cap, size_t meta_cap,
                             doc_list_item_fn on_item, void *ctx)
{
	memset(f, 0, sizeof(*f));
	kc_buf_init(&f->item, item_cap);
	kc_buf_init(&f->meta, meta_cap);
	f->on_item = on_item;
	f->ctx = ctx;
	f->state = F_START;
}

void doc_json_list_feed_free(struct doc_json_list_feed *f)
{
	kc_buf_free(&f->item);
	kc_buf_free(&f->meta);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static kc_code feed_fail(struct doc_json_list_feed *f, size_t at, struct kc_error *err,
                         const char *what)
{
	f->failed =
	    kc_fail(err, KC_EINVAL, "byte %zu (items[%zu]): %s", f->offset + at, f->index, what);
	return f->failed;
}

/* Keep d[from, to) of the value being read: the item up to its cap, the metadata whole. */
static kc_code feed_keep(struct doc_json_list_feed *f, const char *d, size_t from, size_t to,
                         struct kc_error *err)
{
	size_t n = to - from, room;

	if (f->target == T_ITEM) {
		f->item_len += n;
		room = f->item.limit - f->item.len;
		return kc_buf_append(&f->item, d + from, n < room ? n : room, err);
	}
	if (f->target == T_META && kc_buf_append(&f->meta, d + from, n, err) != KC_OK)
		return kc_error_prefix(err, "List metadata");
	return KC_OK;
}

/*
 * Read the value that started at d[*i] (or before this piece) up to its end
 * or the end of the piece. *ended: the value is complete, *i after it.
 */
static kc_code feed_value(struct doc_json_list_feed *f, const char *d, size_t len, size_t *i,
                          bool *ended, struct kc_error *err)
{
	size_t from = *i, j = *i;

	*ended = false;
	for (; j < len; j++) {
		char c = d[j];

		if (f->in_string) {
			if (f->escape)
				f->escape = false;
			else if (c == '\\')
				f->escape = true;
			else if (c == '"' && (f->in_string = false, f->depth == 0)) {
				*ended = true;
				j++;
				break;
			}
		} else if (c == '"') {
			f->in_string = true;
		} else if (c == '{' || c == '[') {
			if (++f->depth > DOC_MAX_DEPTH)
				return feed_fail(f, j, err, "nested too deep");
		} else if (c == '}' || c == ']') {
			if (f->depth == 0) { /* a scalar ended by its container */
				*ended = true;
				break;
			}
			if (--f->depth == 0) {
				*ended = true;
				j++;
				break;
			}
		} else if (f->depth == 0 && (c == ',' || is_blank(c))) {
			*ended = true; /* a number or literal */
			break;
		}
	}
	*i = j;
	return feed_keep(f, d, from, j, err);
}

static kc_code feed_item_done(struct doc_json_list_feed *f, struct kc_error *err)
{
	kc_code rc = f->on_item(f->ctx, f->item.data, f->item.len, f->item_len, err);

	f->index++;
	kc_buf_reset(&f->item);
	f->item_len = 0;
	if (rc != KC_OK)
		f->failed = rc;
	return rc;
}

static void feed_key_char(struct doc_json_list_feed *f, char c)
{
	if (f->keylen < sizeof(f->key) - 1)
		f->key[f->keylen] = c;
	f->keylen++;
}

/* A value starts at d[i] (not blank): where it goes. */
static kc_code feed_value_start(struct doc_json_list_feed *f, const char *d, size_t i,
                                struct kc_error *err)
{
	bool short_key = f->keylen < sizeof(f->key);

	f->key[short_key ? f->keylen : sizeof(f->key) - 1] = '\0';
	f->depth = 0;
	f->in_string = f->escape = false;
	if (short_key && strcmp(f->key, "items") == 0) {
		if (f->saw_items)
			return feed_fail(f, i, err, "duplicate key \"items\"");
		if (d[i] != '[')
			return feed_fail(f, i, err, "\"items\" is not an array");
		f->saw_items = true;
		f->state = F_ITEM_OR_END;
		return KC_OK;
	}
	if (short_key && strcmp(f->key, "metadata") == 0) {
		if (f->meta.len > 0)
			return feed_fail(f, i, err, "duplicate key \"metadata\"");
		f->target = T_META;
	} else {
		f->target = T_SKIP;
	}
	f->state = F_IN_VALUE;
	return KC_OK;
}

/* One structural byte d[i] outside values; *i moves past what was used. */
static kc_code feed_structure(struct doc_json_list_feed *f, const char *d, size_t *i,
                              struct kc_error *err)
{
	char c = d[*i];

	if (f->state == F_KEY) {
		if (f->escape)
			f->escape = false, feed_key_char(f, c);
		else if (c == '\\')
			f->escape = true, feed_key_char(f, c);
		else if (c == '"')
			f->state = F_COLON;
		else
			feed_key_char(f, c);
		(*i)++;
		return KC_OK;
	}
	if (is_blank(c)) {
		(*i)++;
		return KC_OK;
	}
	switch (f->state) {
	case F_START:
		if (c != '{')
			return feed_fail(f, *i, err, "not a JSON object");
		f->state = F_KEY_OR_END;
		break;
	case F_KEY_OR_END:
	case F_KEY_START:
		if (c == '}' && f->state == F_KEY_OR_END) {
			f->state = F_DONE;
			break;
		}
		if (c != '"')
			return feed_fail(f, *i, err, "expected a key");
		f->keylen = 0;
		f->escape = false;
		f->state = F_KEY;
		break;
	case F_COLON:
		if (c != ':')
			return feed_fail(f, *i, err, "expected ':'");
		f->state = F_VALUE;
		break;
	case F_VALUE:
		if (feed_value_start(f, d, *i, err) != KC_OK)
			return f->failed;
		if (f->state == F_ITEM_OR_END)
			(*i)++; /* the items' '[' */
		return KC_OK;   /* any other value reads its first byte */
	case F_AFTER_VALUE:
		if (c != ',' && c != '}')
			return feed_fail(f, *i, err, "expected ',' or '}'");
		f->state = c == ',' ? F_KEY_START : F_DONE;
		break;
	case F_ITEM_OR_END:
	case F_ITEM_START:
		if (c == ']' && f->state == F_ITEM_OR_END) {
			f->state = F_AFTER_VALUE;
			break;
		}
		if (c != '{')
			return feed_fail(f, *i, err, "an item is not an object");
		f->target = T_ITEM;
		f->depth = 0;
		f->in_string = f->escape = false;
		f->state = F_IN_VALUE;
		return KC_OK; /* the item reads its '{' */
	case F_AFTER_ITEM:
		if (c != ',' && c != ']')
			return feed_fail(f, *i, err, "expected ',' or ']' after an item");
		f->state = c == ',' ? F_ITEM_START : F_AFTER_VALUE;
		break;
	case F_DONE:
		return feed_fail(f, *i, err, "more than one JSON value");
	default:
		return feed_fail(f, *i, err, "internal state");
	}
	(*i)++;
	return KC_OK;
}

kc_code doc_json_list_feed_bytes(struct doc_json_list_feed *f, const char *data, size_t len,
                                 struct kc_error *err)
{
	size_t i = 0;
	bool ended;
	kc_code rc;

	if (f->failed != KC_OK)
		return kc_fail(err, f->failed, "List stream already failed");
	while (i < len) {
		if (f->state != F_IN_VALUE) {
			if ((rc = feed_structure(f, data, &i, err)) != KC_OK)
				return f->failed = rc;
			continue;
		}
		if ((rc = feed_value(f, data, len, &i, &ended, err)) != KC_OK)
			return f->failed = rc;
		if (!ended)
			break;
		if (f->target == T_ITEM) {
			if ((rc = feed_item_done(f, err)) != KC_OK)
				return rc;
			f->state = F_AFTER_ITEM;
		} else {
			f->state = F_AFTER_VALUE;
		}
	}
	f->offset += len;
	return KC_OK;
}

kc_code doc_json_list_feed_finish(struct doc_json_list_feed *f, struct kc_error *err)
{
	if (f->failed != KC_OK)
		return kc_fail(err, f->failed, "List stream already failed");
	if (f->state != F_DONE)
		return feed_fail(f, 0, err, "the body ended inside the List");
	if (!f->saw_items)
		return feed_fail(f, 0, err, "no \"items\"");
	return KC_OK;
}

struct member_find {
	const char *key;
	size_t len;
	size_t v, e;
	bool found;
};

static bool on_prefix_member(void *ctx, const char *d, size_t k, size_t v, size_t e)
{
	struct member_find *m = ctx;
	size_t after;

	if (!key_is(d, m->len, k, m->key, &after))
		return true;
	m->v = v;
	m->e = e;
	m->found = true;
	return false;
}

bool doc_json_prefix_member(const char *data, size_t len, const char *key, const char **value,
                            size_t *value_len)
{
	struct member_find m = {.key = key, .len = len};
	size_t i = skip_blank(data, len, 0);

	if (i < len && data[i] == '{')
		walk_object(data, len, i, on_prefix_member, &m);
	if (!m.found)
		return false;
	*value = data + m.v;
	*value_len = m.e - m.v;
	return true;
}
