/*
 * fuzz_check.h: the invariants the fuzz targets share: an error always has a
 * message (prefixed with the source when one is given); a document written
 * as YAML reads back as itself, and writes again to the same bytes.
 * A broken invariant prints what broke with the offending text and aborts,
 * which libFuzzer records as a crash.
 */
#ifndef KC_FUZZ_CHECK_H
#define KC_FUZZ_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "kc_error.h"

#define FUZZ_ASSERT(cond, what)                                                                    \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail((what), #cond, NULL, 0);                                         \
	} while (0)

void fuzz_fail(const char *what, const char *detail, const char *text, size_t len)
    __attribute__((noreturn));

/* err is a real error: a known code and a message starting with "<source>: ". */
void fuzz_check_error(const struct kc_error *err, const char *source);

/* doc_emit_yaml(doc) succeeds, reads back equal, and is byte-stable. */
void fuzz_check_yaml_round_trip(const json_t *doc, unsigned flags);

#endif
