/*
 * doc_json.c: JSON streams read by Jansson. A stream is one or more
 * concatenated values (JSON_DISABLE_EOF_CHECK, looped); duplicate keys are
 * refused; integers stay integers (JSON_DECODE_INT_AS_REAL is not set, so an
 * integer past int64 is an error, never a silently rounded real).
 */
#include <stdbool.h>

#include "doc.h"
#include "doc_limits.h"

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static kc_code fail_prescan(const char *data, size_t len, size_t off, size_t docno,
                            const char *source, kc_code code, struct kc_error *err)
{
	unsigned long line, col;

	doc_position(data, len, off, &line, &col);
	if (code == KC_ETOOBIG)
		return kc_fail(err, code,
		               "%s: document %zu: line %lu column %lu: more than %u nodes", source,
		               docno, line, col, DOC_MAX_NODES);
	return kc_fail(err, code,
	               "%s: document %zu: line %lu column %lu: nested deeper than %d levels",
	               source, docno, line, col, DOC_MAX_DEPTH);
}

/*
 * Bound what Jansson would build before it builds it: Jansson has no node
 * limit, and 64 MiB of "[0,0,0,..." is 32 million nodes. Counts every value
 * once (a top-level container, the first item of an array and each ',' after
 * it, each ':' of an object) and the nesting, skipping strings. Exact for
 * valid JSON; for invalid JSON Jansson reports the syntax error.
 */
static kc_code prescan(const char *data, size_t len, const char *source, struct kc_error *err)
{
	bool is_array[DOC_MAX_DEPTH], in_string = false, first_item = false;
	size_t i, nodes = 0, docno = 0;
	int depth = 0;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (first_item && !is_json_space(c)) {
			first_item = false;
			if (c != ']')
				nodes++;
		}
		switch (c) {
		case '"':
			in_string = true;
			break;
		case '[':
		case '{':
			if (depth == 0) {
				docno++;
				nodes++;
			}
			if (depth == DOC_MAX_DEPTH)
				return fail_prescan(data, len, i, docno, source, KC_EINVAL, err);
			is_array[depth++] = c == '[';
			first_item = c == '[';
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',':
			if (depth > 0 && is_array[depth - 1])
				nodes++;
			break;
		case ':':
			if (depth > 0 && !is_array[depth - 1])
				nodes++;
			break;
		default:
			break;
		}
		if (nodes > DOC_MAX_NODES)
			return fail_prescan(data, len, i, docno, source, KC_ETOOBIG, err);
	}
	return KC_OK;
}

/* Jansson's line/column are relative to the value's first byte. */
static kc_code fail_at(const char *data, size_t len, size_t start, const json_error_t *jerr,
                       const char *source, size_t docno, struct kc_error *err)
{
	unsigned long line, col;

	doc_position(data, len, start, &line, &col);
	if (jerr->line <= 0)
		return kc_fail(err, KC_EINVAL, "%s: document %zu: %s", source, docno, jerr->text);
	if (jerr->line == 1)
		col += (unsigned long)jerr->column - 1;
	else
		col = (unsigned long)jerr->column;
	line += (unsigned long)jerr->line - 1;
	if (col == 0)
		col = 1; /* Jansson says column 0 at the end of the input */
	return kc_fail(err, KC_EINVAL, "%s: document %zu: line %lu column %lu: %s", source, docno,
	               line, col, jerr->text);
}

kc_code doc_parse_json(const char *data, size_t len, const char *source, json_t **docs,
                       struct kc_error *err)
{
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY;
	size_t off = 0, docno = 0, nodes = 0;
	json_error_t jerr;
	json_t *out, *doc;
	kc_code rc;

	*docs = NULL;
	if ((rc = doc_check_input(data, len, source, err)) != KC_OK ||
	    (rc = prescan(data, len, source, err)) != KC_OK)
		return rc;
	if ((out = json_array()) == NULL)
		return kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
	for (;;) {
		while (off < len && is_json_space(data[off]))
			off++;
		if (off == len)
			break;
		docno++;
		if ((doc = json_loadb(data + off, len - off, flags, &jerr)) == NULL) {
			rc = fail_at(data, len, off, &jerr, source, docno, err);
			goto fail;
		}
		if (jerr.position <= 0 || (size_t)jerr.position > len - off) {
			json_decref(doc);
			rc = kc_fail(err, KC_EINTERNAL,
			             "%s: document %zu: parser lost its position", source, docno);
			goto fail;
		}
		off += (size_t)jerr.position;
		if ((rc = doc_check_tree(doc, &nodes, err)) != KC_OK) {
			json_decref(doc);
			kc_error_prefix(err, "%s: document %zu", source, docno);
			goto fail;
		}
		/* A null document is an empty one, as kubectl treats it. */
		if (json_is_null(doc)) {
			json_decref(doc);
			continue;
		}
		if (json_array_append_new(out, doc) != 0) {
			rc = kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
			goto fail;
		}
	}
	*docs = out;
	return KC_OK;
fail:
	json_decref(out);
	return rc;
}
