/*
 * fuzz_yaml.c: libFuzzer target for the YAML side of the codec. Any input:
 * no crash, no leak, no hang. Every document that reads must write, and what
 * is written must read back as the same value, to the same bytes when written
 * again (sorted and not).
 */
#include <stdint.h>
#include <stdlib.h>

#include "doc.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *docs = NULL, *doc;
	struct kc_error err;
	size_t i;

	if (doc_parse_yaml((const char *)data, size, "fuzz", &docs, &err) != KC_OK) {
		fuzz_check_error(&err, "fuzz");
		return 0;
	}
	json_array_foreach(docs, i, doc)
	{
		fuzz_check_yaml_round_trip(doc, 0);
		fuzz_check_yaml_round_trip(doc, DOC_EMIT_SORT_KEYS);
	}
	json_decref(docs);
	return 0;
}
