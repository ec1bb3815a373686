/*
 * test_doc_recycle.c: with recycling on, documents parse and free as before,
 * freed trees serve the next ones, what Jansson hands out is still freed with
 * free(), no more than 4 MiB is kept, and a chunk too small for the free
 * list's link goes back to free() (the test links with --wrap=free and
 * --wrap=malloc_usable_size, tests/tests.cmake).
 */
#include <stdbool.h>
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
#ifdef DOC_RECYCLE_OFF
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

/* The chunk whose usable size the wrapper below reports as 7, and whether it was freed. */
static void *tiny_chunk;
static bool tiny_freed;

size_t __real_malloc_usable_size(void *p);
size_t __wrap_malloc_usable_size(void *p);
void __real_free(void *p);
void __wrap_free(void *p);

size_t __wrap_malloc_usable_size(void *p)
{
	return p != NULL && p == tiny_chunk ? 7 : __real_malloc_usable_size(p);
}

void __wrap_free(void *p)
{
	if (p != NULL && p == tiny_chunk)
		tiny_freed = true;
	__real_free(p);
}

/*
 * An allocator that reports the size asked for (clang's AddressSanitizer does)
 * can hand out a 7-byte chunk: the recycler must not write its 8-byte link
 * into it, but give it back to free().
 */
static void test_chunk_smaller_than_a_link_is_freed(void **state)
{
	json_malloc_t malloc_fn;
	json_free_t free_fn;
	size_t kept;

	(void)state;
#ifdef DOC_RECYCLE_OFF
	skip(); /* recycling is off under AddressSanitizer */
#endif
	doc_recycle_allocations();
	json_get_alloc_funcs(&malloc_fn, &free_fn);
	kept = doc_recycle_kept_bytes();
	tiny_chunk = malloc(7);
	assert_non_null(tiny_chunk);
	memcpy(tiny_chunk, "abcdefg", 7);
	free_fn(tiny_chunk);
	assert_true(tiny_freed);
	assert_int_equal(doc_recycle_kept_bytes(), kept);
	tiny_chunk = NULL;
}

static void test_at_most_4_mib_kept(void **state)
{
	json_t *big;
	size_t i;

	(void)state;
#ifdef DOC_RECYCLE_OFF
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
	    cmocka_unit_test(test_chunk_smaller_than_a_link_is_freed),
	    cmocka_unit_test(test_at_most_4_mib_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
