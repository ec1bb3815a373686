/*
 * fuzz_json.c: libFuzzer target for the JSON reader and doc_parse's
 * dispatch. Whatever reads must survive JSON -> YAML -> JSON unchanged, and
 * Jansson's own JSON output of it must read back the same through us.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_json_round_trip(const json_t *doc)
{
	json_t *back = NULL;
	struct kc_error err;
	char *text;

	/* Containers only: doc_parse sends anything else to the YAML reader. */
	if (!json_is_object(doc) && !json_is_array(doc))
		return;
	text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_ASSERT(text != NULL, "json_dumps failed");
	if (doc_parse(text, strlen(text), "dumped", &back, &err) != KC_OK)
		fuzz_fail("Jansson's output does not read back", err.msg, text, strlen(text));
	FUZZ_ASSERT(json_array_size(back) == 1, "dumped JSON is not one document");
	if (!json_equal(json_array_get(back, 0), doc))
		fuzz_fail("Jansson's output reads back different", "", text, strlen(text));
	json_decref(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *docs = NULL, *doc;
	struct kc_error err;
	size_t i;

	if (doc_parse_json((const char *)data, size, "fuzz", &docs, &err) == KC_OK) {
		json_array_foreach(docs, i, doc)
		{
			check_json_round_trip(doc);
			fuzz_check_yaml_round_trip(doc, DOC_EMIT_SORT_KEYS);
		}
		json_decref(docs);
	} else {
		fuzz_check_error(&err, "fuzz");
	}
	/* The dispatcher on the same bytes: JSON or YAML, never a crash. */
	if (doc_parse((const char *)data, size, "fuzz", &docs, &err) == KC_OK)
		json_decref(docs);
	else
		fuzz_check_error(&err, "fuzz");
	return 0;
}
