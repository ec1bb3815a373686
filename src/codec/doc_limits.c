/*
 * doc_limits.c: the codec's hard limits (see doc_limits.h). Checking the
 * input up front gives one clear message for a NUL byte or a bad UTF-8
 * sequence, whichever parser would otherwise have tripped over it.
 */
#include <stdint.h>
#include <string.h>

#include "doc.h"
#include "doc_limits.h"
#include "kc_utf8.h"

void doc_position(const char *data, size_t len, size_t off, unsigned long *line, unsigned long *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			(*col)++; /* count characters, not continuation bytes */
		}
	}
}

kc_code doc_check_input(const char *data, size_t len, const char *source, struct kc_error *err)
{
	const unsigned char *s = (const unsigned char *)data;
	unsigned long line, col;
	size_t i = 0, n;

	if (len > DOC_MAX_INPUT)
		return kc_fail(err, KC_ETOOBIG, "%s: input is %zu bytes, more than the %u allowed",
		               source, len, DOC_MAX_INPUT);
	while (i < len) {
		if (s[i] == '\0') {
			doc_position(data, len, i, &line, &col);
			return kc_fail(err, KC_EINVAL,
			               "%s: line %lu column %lu: NUL byte (binary data, not text)",
			               source, line, col);
		}
		if ((n = kc_utf8_next(s + i, len - i, NULL)) == 0) {
			doc_position(data, len, i, &line, &col);
			return kc_fail(err, KC_EINVAL,
			               "%s: line %lu column %lu: invalid UTF-8 (byte 0x%02x)",
			               source, line, col, s[i]);
		}
		i += n;
	}
	return KC_OK;
}

static kc_code check_node(const json_t *node, int depth, size_t *nodes, struct kc_error *err)
{
	const char *key;
	json_t *child;
	size_t i;
	kc_code rc;

	if (depth > DOC_MAX_DEPTH)
		return kc_fail(err, KC_EINVAL, "nested deeper than %d levels", DOC_MAX_DEPTH);
	if (++*nodes > DOC_MAX_NODES)
		return kc_fail(err, KC_ETOOBIG, "more than %u nodes", DOC_MAX_NODES);
	if (json_is_object(node)) {
		json_object_foreach((json_t *)node, key, child)
		{
			if ((rc = check_node(child, depth + 1, nodes, err)) != KC_OK)
				return rc;
		}
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, child)
		{
			if ((rc = check_node(child, depth + 1, nodes, err)) != KC_OK)
				return rc;
		}
	}
	return KC_OK;
}

kc_code doc_check_tree(const json_t *doc, size_t *nodes, struct kc_error *err)
{
	return check_node(doc, 1, nodes, err);
}

/*
 * memchr finds each quote (most bytes of Kubernetes JSON are in strings);
 * one after an odd run of backslashes is escaped.
 */
size_t doc_json_string_end(const char *d, size_t len, size_t i)
{
	const char *q;
	size_t k, bs;

	for (i++; i < len; i = k + 1) {
		if ((q = memchr(d + i, '"', len - i)) == NULL)
			return len;
		k = (size_t)(q - d);
		for (bs = 0; d[k - bs - 1] == '\\'; bs++)
			; /* stops at the opening quote at the latest */
		if (bs % 2 == 0)
			return k + 1;
	}
	return len;
}
