/*
 * test_doc_recycle.c: with recycling on, documents parse and free as before,
 * freed trees serve the next ones, what Jansson hands out is still freed with
 * free(), and no more than 4 MiB is kept.
 */
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "testutil.h"

static const char pod[] =
    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", "
    "\"labels\": {\"x\": \"y\", \"z\": \"w\"}}, \"spec\": {\"containers\": "
    "[{\"name\": \"c\", \"image\": \"i\", \"args\": [\"1\", \"2\", \"3\"]}]}}";

static void test_trees_reuse_freed_memory(void **state)
{
	struct kc_error err;
	json_t *docs, *first = NULL;
	size_t kept, i;
	char *text;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip(); /* recycling is off under AddressSanitizer */
#endif
	doc_recycle_allocations();
	for (i = 0; i < 100; i++) {
		assert_int_equal(doc_parse_json(pod, sizeof(pod) - 1, "pod", &docs, &err), KC_OK);
		text = json_dumps(json_array_get(docs, 0), JSON_COMPACT | JSON_SORT_KEYS);
		assert_non_null(strstr(text, "\"labels\":{\"x\":\"y\",\"z\":\"w\"}"));
		free(text); /* handed out by Jansson, freed by the caller as always */
		if (first == NULL)
			first = json_deep_copy(docs);
		else
			assert_true(json_equal(first, docs));
		json_decref(docs);
		kept = doc_recycle_kept_bytes();
		assert_true(kept > 0);
	}
	/* The same tree over and over: the lists do not grow past one tree's worth. */
	assert_int_equal(doc_parse_json(pod, sizeof(pod) - 1, "pod", &docs, &err), KC_OK);
	json_decref(docs);
	assert_int_equal(doc_recycle_kept_bytes(), kept);
	json_decref(first);
}

static void test_at_most_4_mib_kept(void **state)
{
	json_t *big;
	size_t i;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip(); /* recycling is off under AddressSanitizer (before any allocation: no leak) */
#endif
	doc_recycle_allocations();
	big = json_array();
	for (i = 0; i < 200000; i++)
		json_array_append_new(big, json_string("a string of some length"));
	json_decref(big);
	assert_true(doc_recycle_kept_bytes() <= 4u * 1024 * 1024);
	assert_true(doc_recycle_kept_bytes() > 3u * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trees_reuse_freed_memory),
	    cmocka_unit_test(test_at_most_4_mib_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
