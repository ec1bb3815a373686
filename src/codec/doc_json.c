/*
 * doc_json.c: JSON streams read by Jansson. A stream is one or more
 * concatenated values (JSON_DISABLE_EOF_CHECK, looped); duplicate keys are
 * refused; integers stay integers (JSON_DECODE_INT_AS_REAL is not set, so an
 * integer past int64 is an error, never a silently rounded real).
 *
 * The input check (NUL bytes, invalid UTF-8: doc_check_input) runs only when
 * parsing fails: Jansson decodes every byte it reads with the same UTF-8
 * rules (utf8_check_first/utf8_check_full: no overlong form, surrogate or
 * code point past U+10FFFF) and refuses a NUL or control byte in a string and
 * any byte outside one that is not JSON, so input it accepts, with only JSON
 * white space between documents, passes the check. Failing input gets the
 * check's clearer message first, as if it had run up front; valid input is
 * not walked a second time (a third of the codec's own cost per pod).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* May white space between a and b go? Not between two bytes of words (numbers, literals). */
static bool joins_nothing(char a, char b)
{
	return a == '\0' || b == '\0' || strchr("{}[]:,\"", a) != NULL ||
	       strchr("{}[]:,\"", b) != NULL;
}

/*
 * Bound what Jansson would build before it builds it: Jansson has no node
 * limit, and 64 MiB of "[0,0,0,..." is 32 million nodes. Counts every value
 * once (a top-level container, the first item of an array and each ',' after
 * it, each ':' of an object) and the nesting, skipping strings. Exact for
 * valid JSON; for invalid JSON Jansson reports the syntax error.
 *
 * In the same pass data is copied to out (len bytes; NULL: not) without the white space
 * outside strings, keeping one space where it separates two words ("1 2"
 * stays two values, "[1 2]" stays invalid): the tokens are the same, so what
 * Jansson builds from out, and whether it accepts it, does not change. Jansson
 * reads its input a byte at a time through a callback, white space included:
 * an indented `kubectl get -o json` is about half white space and costs ~40%
 * more to parse than the same JSON compact. *outlen: the bytes written.
 */
static kc_code prescan(const char *data, size_t len, const char *source, char *out, size_t *outlen,
                       struct kc_error *err)
{
	bool is_array[DOC_MAX_DEPTH], first_item = false;
	size_t i = 0, o = 0, nodes = 0, docno = 0;
	int depth = 0;
	char c, prev = '\0';

	while (i < len) {
		c = data[i];
		if (is_json_space(c)) {
			while (++i < len && is_json_space(data[i]))
				;
			if (out != NULL && !joins_nothing(prev, i < len ? data[i] : '\0'))
				out[o++] = ' ';
			continue;
		}
		if (first_item) {
			first_item = false;
			if (c != ']')
				nodes++;
		}
		if (c == '"') {
			if (nodes > DOC_MAX_NODES)
				return fail_prescan(data, len, i, docno, source, KC_ETOOBIG, err);
			/*
			 * Most bytes are inside strings: skipped with memchr, or
			 * copied as they are a byte at a time (Kubernetes' strings
			 * are short: memchr and memcpy per string cost more there).
			 */
			if (out == NULL) {
				i = doc_json_string_end(data, len, i);
				continue;
			}
			out[o++] = data[i++];
			while (i < len && (c = data[i]) != '"') {
				out[o++] = c;
				if (++i < len && c == '\\')
					out[o++] = data[i++];
			}
			if (i < len)
				out[o++] = data[i++];
			prev = '"';
			continue;
		}
		if (out != NULL)
			out[o++] = prev = c;
		switch (c) {
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
		i++;
	}
	*outlen = o;
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

/* Parsing failed with rc (err set): the input check's message wins, as if it ran first. */
static kc_code fail_checked(const char *data, size_t len, const char *source, kc_code rc,
                            struct kc_error *err)
{
	kc_code check = doc_check_input(data, len, source, err);

	return check != KC_OK ? check : rc;
}

/* Every document of data, in order, into *docs (prescan passed). */
static kc_code parse_docs(const char *data, size_t len, const char *source, json_t **docs,
                          struct kc_error *err)
{
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY;
	size_t off = 0, docno = 0, nodes = 0;
	json_error_t jerr;
	json_t *out, *doc;
	kc_code rc;

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

/*
 * Worth a compact copy? When white space is over an eighth of the first KiB
 * (indented JSON is indented throughout); compact JSON is parsed as it is.
 */
static bool mostly_indented(const char *data, size_t len)
{
	size_t i, n = len < 1024 ? len : 1024, ws = 0;

	for (i = 0; i < n; i++)
		ws += is_json_space(data[i]);
	return ws > n / 8;
}

kc_code doc_parse_json(const char *data, size_t len, const char *source, json_t **docs,
                       struct kc_error *err)
{
	char *packed = NULL;
	size_t n = 0;
	kc_code rc;

	*docs = NULL;
	if (len > DOC_MAX_INPUT) /* before reading a byte of it */
		return doc_check_input(data, len, source, err);
	if (mostly_indented(data, len) && (packed = malloc(len)) == NULL)
		return kc_fail(err, KC_ENOMEM, "%s: out of memory", source);
	if ((rc = prescan(data, len, source, packed, &n, err)) != KC_OK) {
		free(packed);
		return fail_checked(data, len, source, rc, err);
	}
	rc = packed != NULL ? parse_docs(packed, n, source, docs, err) : KC_EINVAL;
	free(packed);
	/* Refused, or not compacted: as it is (the line and column of an error are the original's).
	 */
	if (rc != KC_OK && (rc = parse_docs(data, len, source, docs, err)) != KC_OK)
		return fail_checked(data, len, source, rc, err);
	return KC_OK;
}
