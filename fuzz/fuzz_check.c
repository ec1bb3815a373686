/*
 * fuzz_check.c: shared invariant checks of the fuzz targets (fuzz_check.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "fuzz_check.h"

void fuzz_fail(const char *what, const char *detail, const char *text, size_t len)
{
	fprintf(stderr, "FUZZ INVARIANT BROKEN: %s: %s\n", what, detail);
	if (text != NULL)
		fprintf(stderr, "---- text ----\n%.*s\n---- end ----\n",
		        (int)(len > 65536 ? 65536 : len), text);
	abort();
}

void fuzz_check_error(const struct kc_error *err, const char *source)
{
	size_t n;

	FUZZ_ASSERT(err->code != KC_OK && err->code <= KC_EINTERNAL, "error without a code");
	FUZZ_ASSERT(err->code != KC_EINTERNAL, err->msg);
	FUZZ_ASSERT(err->msg[0] != '\0', "error without a message");
	if (source != NULL) {
		n = strlen(source);
		FUZZ_ASSERT(strncmp(err->msg, source, n) == 0 && err->msg[n] == ':',
		            "error does not name its source");
	}
}

void fuzz_check_yaml_round_trip(const json_t *doc, unsigned flags)
{
	struct kc_buf a, b;
	struct kc_error err;
	json_t *back = NULL;

	kc_buf_init(&a, 0);
	kc_buf_init(&b, 0);
	if (doc_emit_yaml(doc, flags, &a, &err) != KC_OK)
		fuzz_fail("a document that was read cannot be written", err.msg, NULL, 0);
	if (doc_parse_yaml(a.data, a.len, "emitted", &back, &err) != KC_OK)
		fuzz_fail("written YAML does not read back", err.msg, a.data, a.len);
	if (json_array_size(back) != 1 || !json_equal(json_array_get(back, 0), doc)) {
		char *want = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);

		fprintf(stderr, "want: %.4096s\n", want ? want : "?");
		free(want);
		fuzz_fail("written YAML reads back different", "", a.data, a.len);
	}
	if (doc_emit_yaml(json_array_get(back, 0), flags, &b, &err) != KC_OK || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		fuzz_fail("writing the same value twice gave different bytes", "", b.data, b.len);
	json_decref(back);
	kc_buf_free(&a);
	kc_buf_free(&b);
}
