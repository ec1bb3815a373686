/*
 * doc_yaml_write.c: json_t -> YAML through libyaml's emitter, block style,
 * no line wrapping, UTF-8 written as is.
 *
 * The one rule that matters: whatever is written reads back as the same
 * value. A string is written plain only when doc_scalar_resolve (the reader's
 * own typing) says plain means "string"; otherwise it is double-quoted, as
 * go-yaml does. Multi-line strings become literal blocks where libyaml can
 * write them faithfully; libyaml falls back to double quotes by itself when it
 * cannot (trailing spaces, control characters). Reals always carry a '.', so
 * they never read back as integers.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "doc.h"
#include "doc_scalar.h"

struct writer {
	yaml_emitter_t emitter;
	struct kc_buf *out;
	struct kc_error buf_err; /* why the output buffer refused bytes */
	bool buf_failed;
	unsigned flags;
	struct kc_error *err;
	/* Where we are: left as is on failure, spelt out only then. */
	struct path_elem {
		const char *key; /* NULL: an array index */
		size_t keylen, index;
	} path[DOC_MAX_DEPTH + 1];
	int npath;
};

struct member {
	const char *key;
	size_t keylen;
	json_t *value;
};

static int digit16(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int write_out(void *data, unsigned char *buffer, size_t size)
{
	struct writer *w = data;

	if (kc_buf_append(w->out, buffer, size, &w->buf_err) != KC_OK) {
		w->buf_failed = true;
		return 0;
	}
	return 1;
}

static kc_code emit(struct writer *w, yaml_event_t *ev)
{
	if (yaml_emitter_emit(&w->emitter, ev))
		return KC_OK;
	if (w->buf_failed) {
		*w->err = w->buf_err;
		return kc_error_prefix(w->err, "writing YAML");
	}
	return kc_fail(w->err, KC_EINTERNAL, "YAML emitter: %s",
	               w->emitter.problem ? w->emitter.problem : "unknown error");
}

/* Line breaks other than '\n' are normalised away by readers: escape them. */
static bool has_odd_break(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r')
			return true;
		if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85)
			return true; /* U+0085 NEL */
		if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9))
			return true; /* U+2028, U+2029 */
	}
	return false;
}

static kc_code emit_string(struct writer *w, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
	struct doc_scalar sc;
	bool plain_ok;
	yaml_event_t ev;

	if (memchr(s, '\0', len) != NULL)
		return kc_fail(w->err, KC_EINVAL, "a string holds a NUL character");
	plain_ok = doc_scalar_resolve(s, len, &sc) == DOC_SCALAR_STRING;
	/* Backslashes only inside double quotes: see restore_astral(). */
	if (!plain_ok || has_odd_break(s, len) || memchr(s, '\\', len) != NULL)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (memchr(s, '\n', len) != NULL)
		style = YAML_LITERAL_SCALAR_STYLE;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, plain_ok, 1,
	                                  style))
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	return emit(w, &ev);
}

/* A plain scalar we spelt ourselves (numbers, booleans, null). */
static kc_code emit_plain(struct writer *w, const char *s)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 0,
	                                  YAML_PLAIN_SCALAR_STYLE))
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	return emit(w, &ev);
}

/*
 * Shortest form that reads back as the same double, always with a '.'
 * before any exponent, so "1" never becomes an integer.
 */
static kc_code format_real(double v, char *buf, size_t bufsz, struct kc_error *err)
{
	char digits[40], *e;
	int prec;

	if (!isfinite(v))
		return kc_fail(err, KC_EINVAL,
		               "a number is not finite (no YAML form Kubernetes reads)");
	for (prec = 15; prec <= 17; prec++) {
		snprintf(digits, sizeof(digits), "%.*g", prec, v);
		if (strtod(digits, NULL) == v)
			break;
	}
	if (strchr(digits, '.') != NULL) {
		snprintf(buf, bufsz, "%s", digits);
	} else if ((e = strchr(digits, 'e')) != NULL) {
		snprintf(buf, bufsz, "%.*s.0%s", (int)(e - digits), digits, e);
	} else {
		snprintf(buf, bufsz, "%s.0", digits);
	}
	return KC_OK;
}

static int compare_members(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static kc_code emit_node(struct writer *w, const json_t *node, int depth);

/* Enter a key (key != NULL) or an array index. */
static void path_push(struct writer *w, const char *key, size_t keylen, size_t index)
{
	if (w->npath < (int)(sizeof(w->path) / sizeof(w->path[0]))) {
		w->path[w->npath].key = key;
		w->path[w->npath].keylen = keylen;
		w->path[w->npath].index = index;
	}
	w->npath++;
}

/* "spec.containers[0].env" for an error message, cut short, never wrong. */
static void path_format(const struct writer *w, char *buf, size_t bufsz)
{
	size_t len = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < w->npath && i < (int)(sizeof(w->path) / sizeof(w->path[0])); i++) {
		const struct path_elem *e = &w->path[i];

		if (e->key != NULL)
			n = snprintf(buf + len, bufsz - len, "%s%.*s", len ? "." : "",
			             (int)(e->keylen > 64 ? 64 : e->keylen), e->key);
		else
			n = snprintf(buf + len, bufsz - len, "[%zu]", e->index);
		if (n < 0 || (size_t)n >= bufsz - len)
			return;
		len += (size_t)n;
	}
}

static kc_code emit_members(struct writer *w, const json_t *obj, int depth)
{
	struct member *m;
	size_t n = json_object_size(obj), i = 0;
	void *it;
	kc_code rc = KC_OK;

	if ((m = calloc(n, sizeof(*m))) == NULL)
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	for (it = json_object_iter((json_t *)obj); it != NULL && i < n;
	     it = json_object_iter_next((json_t *)obj, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].keylen = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
	}
	if (w->flags & DOC_EMIT_SORT_KEYS)
		qsort(m, i, sizeof(*m), compare_members);
	for (n = i, i = 0; i < n && rc == KC_OK; i++) {
		path_push(w, m[i].key, m[i].keylen, 0);
		if ((rc = emit_string(w, m[i].key, m[i].keylen)) == KC_OK &&
		    (rc = emit_node(w, m[i].value, depth + 1)) == KC_OK)
			w->npath--;
	}
	free(m);
	return rc;
}

static kc_code emit_collection(struct writer *w, const json_t *node, int depth)
{
	bool mapping = json_is_object(node);
	bool empty = mapping ? json_object_size(node) == 0 : json_array_size(node) == 0;
	yaml_event_t ev;
	json_t *item;
	size_t i;
	kc_code rc;
	int ok;

	/* Empty collections only have a flow form: {} and []. */
	if (mapping)
		ok = yaml_mapping_start_event_initialize(
		    &ev, NULL, NULL, 1, empty ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
	else
		ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		                                          empty ? YAML_FLOW_SEQUENCE_STYLE
		                                                : YAML_BLOCK_SEQUENCE_STYLE);
	if (!ok)
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	if ((rc = emit(w, &ev)) != KC_OK)
		return rc;
	if (mapping) {
		rc = emit_members(w, node, depth);
	} else {
		json_array_foreach(node, i, item)
		{
			path_push(w, NULL, 0, i);
			if ((rc = emit_node(w, item, depth + 1)) != KC_OK)
				break;
			w->npath--;
		}
	}
	if (rc != KC_OK)
		return rc;
	if (mapping)
		yaml_mapping_end_event_initialize(&ev);
	else
		yaml_sequence_end_event_initialize(&ev);
	return emit(w, &ev);
}

static kc_code emit_node(struct writer *w, const json_t *node, int depth)
{
	char num[64];
	kc_code rc;

	if (depth > DOC_MAX_DEPTH)
		return kc_fail(w->err, KC_EINVAL, "nested deeper than %d levels", DOC_MAX_DEPTH);
	switch (json_typeof(node)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return emit_collection(w, node, depth);
	case JSON_STRING:
		return emit_string(w, json_string_value(node), json_string_length(node));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(node));
		return emit_plain(w, num);
	case JSON_REAL:
		if ((rc = format_real(json_real_value(node), num, sizeof(num), w->err)) != KC_OK)
			return rc;
		return emit_plain(w, num);
	case JSON_TRUE:
		return emit_plain(w, "true");
	case JSON_FALSE:
		return emit_plain(w, "false");
	default:
		return emit_plain(w, "null");
	}
}

/*
 * libyaml's emitter escapes every character beyond U+FFFF ("\U0001F600"),
 * emoji included. Every backslash in our output starts an escape inside a
 * double-quoted scalar (emit_string sends any string holding a backslash
 * there), so those escapes can be turned back into UTF-8 in place; the text
 * only shrinks.
 */
static void restore_astral(struct kc_buf *out, size_t start)
{
	size_t i = start, o = start, k;
	char *p = out->data;

	while (i < out->len) {
		if (p[i] != '\\' || i + 1 >= out->len) {
			p[o++] = p[i++];
			continue;
		}
		if (p[i + 1] == 'U' && i + 10 <= out->len) {
			unsigned long cp = 0;

			for (k = 0; k < 8 && isxdigit((unsigned char)p[i + 2 + k]); k++)
				cp = cp * 16 + (unsigned long)digit16(p[i + 2 + k]);
			if (k == 8 && cp >= 0x10000 && cp <= 0x10FFFF) {
				p[o++] = (char)(0xF0 | (cp >> 18));
				p[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
				p[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
				p[o++] = (char)(0x80 | (cp & 0x3F));
				i += 10;
				continue;
			}
		}
		/* Any other escape, "\\" included, is copied as a pair. */
		p[o++] = p[i++];
		p[o++] = p[i++];
	}
	out->len = o;
	p[o] = '\0';
}

static kc_code emit_document(struct writer *w, const json_t *doc)
{
	yaml_event_t ev;
	kc_code rc;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING))
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	if ((rc = emit(w, &ev)) != KC_OK)
		return rc;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1))
		return kc_fail(w->err, KC_ENOMEM, "out of memory");
	if ((rc = emit(w, &ev)) != KC_OK || (rc = emit_node(w, doc, 1)) != KC_OK)
		return rc;
	yaml_document_end_event_initialize(&ev, 1);
	if ((rc = emit(w, &ev)) != KC_OK)
		return rc;
	yaml_stream_end_event_initialize(&ev);
	return emit(w, &ev);
}

kc_code doc_emit_yaml(const json_t *doc, unsigned flags, struct kc_buf *out, struct kc_error *err)
{
	struct kc_error local;
	struct writer w;
	size_t start = out->len;
	kc_code rc;

	if (doc == NULL)
		return kc_fail(err, KC_EINTERNAL, "doc_emit_yaml: no document");
	memset(&w, 0, sizeof(w));
	w.out = out;
	w.flags = flags;
	w.err = err != NULL ? err : &local;
	if (!yaml_emitter_initialize(&w.emitter))
		return kc_fail(err, KC_ENOMEM, "out of memory");
	yaml_emitter_set_output(&w.emitter, write_out, &w);
	yaml_emitter_set_unicode(&w.emitter, 1);
	yaml_emitter_set_width(&w.emitter, -1);
	yaml_emitter_set_indent(&w.emitter, 2);
	yaml_emitter_set_break(&w.emitter, YAML_LN_BREAK);
	rc = emit_document(&w, doc);
	yaml_emitter_delete(&w.emitter);
	if (rc != KC_OK && w.npath > 0) {
		char path[256];

		path_format(&w, path, sizeof(path));
		kc_error_prefix(err, "%s", path);
	}
	if (rc == KC_OK) {
		restore_astral(out, start);
		/* libyaml ends a "|-" block or a bare scalar without a newline. */
		if (out->len > start && out->data[out->len - 1] != '\n')
			rc = kc_buf_append(out, "\n", 1, err);
	}
	/* All or nothing: never leave half a document in out. */
	if (rc != KC_OK && out->data != NULL) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
