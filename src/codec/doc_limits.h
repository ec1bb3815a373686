/*
 * doc_limits.h: the hard limits of the document codec, shared by the JSON and
 * YAML readers: input checks done before any parser sees the bytes (size, NUL,
 * UTF-8), the depth and node budget of a parsed tree, and byte offset to
 * line/column translation so every error points at the input.
 */
#ifndef KC_DOC_LIMITS_H
#define KC_DOC_LIMITS_H

#include <jansson.h>
#include <stddef.h>

#include "kc_error.h"

/*
 * KC_ETOOBIG over DOC_MAX_INPUT; KC_EINVAL for a NUL byte or invalid UTF-8,
 * naming source, line and column.
 */
kc_code doc_check_input(const char *data, size_t len, const char *source, struct kc_error *err);

/* 1-based line and character (not byte) column of byte offset off in data. */
void doc_position(const char *data, size_t len, size_t off, unsigned long *line,
                  unsigned long *col);

/*
 * Walk a parsed tree: KC_EINVAL deeper than DOC_MAX_DEPTH, KC_ETOOBIG when
 * *nodes (the running count of the stream) would pass DOC_MAX_NODES.
 */
kc_code doc_check_tree(const json_t *doc, size_t *nodes, struct kc_error *err);

/* d[i] is the '"' opening a JSON string: the index after its closing quote, len when none. */
size_t doc_json_string_end(const char *d, size_t len, size_t i);

#endif
