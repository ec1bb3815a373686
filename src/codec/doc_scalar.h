/*
 * doc_scalar.h: how a plain (unquoted, untagged) YAML scalar is typed, the
 * way Kubernetes' YAML library (go-yaml v2, YAML 1.1) types it. The reader
 * uses it to build values; the writer uses the very same function to decide
 * which strings must be quoted, so the two can never disagree.
 */
#ifndef KC_DOC_SCALAR_H
#define KC_DOC_SCALAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum doc_scalar_kind {
	DOC_SCALAR_STRING,
	DOC_SCALAR_NULL,            /* "", ~, null, Null, NULL */
	DOC_SCALAR_BOOL,            /* true/false, yes/no, on/off, y/n in their case forms */
	DOC_SCALAR_INT,             /* fits json_int_t */
	DOC_SCALAR_FLOAT,           /* finite */
	DOC_SCALAR_TIMESTAMP,       /* "YYYY-..." forms: a string to Kubernetes, quoted on output */
	DOC_SCALAR_MERGE,           /* "<<" */
	DOC_SCALAR_UNREPRESENTABLE, /* an int beyond int64, .inf, .nan: no JSON value */
};

struct doc_scalar {
	enum doc_scalar_kind kind;
	bool boolean;
	json_int_t integer;
	double real;
};

/* Type s[0..len) as a plain scalar; fills *out and returns out->kind. */
enum doc_scalar_kind doc_scalar_resolve(const char *s, size_t len, struct doc_scalar *out);

#endif
