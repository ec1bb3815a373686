/*
 * test_doc_stream.c: the item-by-item reader of JSON Lists: byte ranges that
 * parse to exactly the items a whole parse gives (strings holding brackets,
 * quotes and escapes included), the top-level kind, and the inputs it hands
 * back to the whole parser (YAML, a single Pod, several values) or refuses.
 */
#include <string.h>

#include "doc.h"
#include "doc_stream.h"
#include "testutil.h"

static void test_items_match_whole_parse(void **state)
{
	const char *text =
	    " {\"apiVersion\": \"v1\", \"items\": [\n"
	    "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a]}\\\"[{\"}, \"spec\": {\"x\": [1, "
	    "[2]]}},\n"
	    "  {\"metadata\": {\"kind\": \"Secret\"}, \"kind\": \"ConfigMap\", \"data\": {}} ,\n"
	    "  {\"x\": \"\\\\\", \"w\": \"\\\\\\\"]}\", \"y\": [\"]\", 7, null]}\n"
	    " ], \"kind\": \"List\", \"metadata\": {\"resourceVersion\": \"\"}}\n";
	struct doc_json_list l;
	struct kc_error err;
	json_t *docs, *items, *one;
	const char *item;
	size_t len, n = 0;
	bool done;
	char kind[16];

	(void)state;
	assert_int_equal(doc_parse(text, strlen(text), "in", &docs, &err), KC_OK);
	items = json_object_get(json_array_get(docs, 0), "items");
	assert_int_equal(doc_json_list_open(text, strlen(text), &l, &err), KC_OK);
	assert_string_equal(l.kind, "List");
	for (;;) {
		assert_int_equal(doc_json_list_next(&l, &item, &len, &done, &err), KC_OK);
		if (done)
			break;
		assert_int_equal(doc_parse_json(item, len, "item", &one, &err), KC_OK);
		assert_true(json_equal(json_array_get(one, 0), json_array_get(items, n)));
		json_decref(one);
		if (n == 0) {
			doc_json_top_string(item, len, "kind", kind, sizeof(kind));
			assert_string_equal(kind, "Pod");
		} else if (n == 1) {
			/* The top-level kind, not the one nested in metadata. */
			doc_json_top_string(item, len, "kind", kind, sizeof(kind));
			assert_string_equal(kind, "ConfigMap");
		}
		n++;
	}
	assert_int_equal(n, json_array_size(items));
	json_decref(docs);
}

static void test_not_a_list_goes_to_the_whole_parser(void **state)
{
	static const char *const others[] = {
	    "kind: List\nitems: []\n",           /* YAML */
	    "{\"kind\": \"Pod\", \"spec\": {}}", /* no items */
	    "{\"items\": []} {\"items\": []}",   /* two values */
	    "{\"items\": {}}",                   /* not an array */
	    "{\"items\": [1, 2]",                /* cut */
	    "[{\"items\": []}]",                 /* an array */
	};
	struct doc_json_list l;
	struct kc_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(doc_json_list_open(others[i], strlen(others[i]), &l, &err),
		                 KC_ENOTFOUND);
}

static void test_duplicate_items_and_bad_separator(void **state)
{
	const char *dup = "{\"items\": [], \"items\": [1]}";
	const char *bad = "{\"items\": [1 2]}";
	struct doc_json_list l;
	struct kc_error err;
	const char *item;
	size_t len;
	bool done;

	(void)state;
	assert_int_equal(doc_json_list_open(dup, strlen(dup), &l, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "duplicate key"));
	/* "1 2" is one token to the scanner; the parser of the item refuses it. */
	assert_int_equal(doc_json_list_open(bad, strlen(bad), &l, &err), KC_OK);
	assert_int_equal(doc_json_list_next(&l, &item, &len, &done, &err), KC_OK);
	assert_false(done);
	assert_int_equal(len, 1);
	assert_int_equal(doc_json_list_next(&l, &item, &len, &done, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "items[1]: expected ','"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items_match_whole_parse),
	    cmocka_unit_test(test_not_a_list_goes_to_the_whole_parser),
	    cmocka_unit_test(test_duplicate_items_and_bad_separator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
