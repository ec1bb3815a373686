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

/* ---- fed in pieces ---- */

static const char feed_text[] =
    " {\"apiVersion\": \"v1\", \"n\": -1.5e3, \"items\": [\n"
    "  {\"kind\": \"Pod\", \"metadata\": {\"name\": \"a]}\\\"[{\"}, \"spec\": {\"x\": [1, "
    "[2]]}},\n"
    "  {\"metadata\": {\"kind\": \"Secret\"}, \"kind\": \"ConfigMap\", \"data\": {}} ,\n"
    "  {\"x\": \"\\\\\", \"w\": \"\\\\\\\"]}\", \"y\": [\"]\", 7, null]}\n"
    " ], \"kind\": \"List\", \"t\": true, \"metadata\": {\"resourceVersion\": \"42\"}}\n";

struct got {
	json_t *items; /* parsed items */
	size_t cut;    /* items handed over cut */
	size_t last_full;
};

static kc_code got_item(void *ctx, const char *item, size_t len, size_t full_len,
                        struct kc_error *err)
{
	struct got *g = ctx;
	json_t *one;

	if (len < full_len) {
		g->cut++;
		g->last_full = full_len;
		return KC_OK;
	}
	if (doc_parse_json(item, len, "item", &one, err) != KC_OK)
		return KC_EINVAL;
	json_array_append(g->items, json_array_get(one, 0));
	json_decref(one);
	return KC_OK;
}

static kc_code feed_in_pieces(const char *text, size_t piece, size_t cap, struct got *g,
                              struct doc_json_list_feed *f, struct kc_error *err)
{
	size_t len = strlen(text);
	kc_code rc;

	g->items = json_array();
	doc_json_list_feed_init(f, cap, 4096, got_item, g);
	for (size_t i = 0; i < len; i += piece)
		if ((rc = doc_json_list_feed_bytes(f, text + i, len - i < piece ? len - i : piece,
		                                   err)) != KC_OK)
			return rc;
	return doc_json_list_feed_finish(f, err);
}

static void test_feed_items_match_whole_parse_in_any_pieces(void **state)
{
	static const size_t pieces[] = {1, 2, 3, 7, 64, 100000};
	struct doc_json_list_feed f;
	struct kc_error err;
	json_t *docs, *meta;

	(void)state;
	assert_int_equal(doc_parse(feed_text, strlen(feed_text), "in", &docs, &err), KC_OK);
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct got g = {0};

		if (feed_in_pieces(feed_text, pieces[k], 4096, &g, &f, &err) != KC_OK)
			fail_msg("pieces of %zu: %s", pieces[k], err.msg);
		assert_true(json_equal(g.items, json_object_get(json_array_get(docs, 0), "items")));
		assert_int_equal(g.cut, 0);
		assert_int_equal(doc_parse_json(f.meta.data, f.meta.len, "meta", &meta, &err),
		                 KC_OK);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(meta, 0), "resourceVersion")),
		    "42");
		json_decref(meta);
		json_decref(g.items);
		doc_json_list_feed_free(&f);
	}
	json_decref(docs);
}

/* An item past the cap is handed over cut, and costs no more than the cap. */
static void test_feed_item_over_cap_is_cut_not_held(void **state)
{
	const char *text = "{\"items\": [{\"metadata\": {\"uid\": \"u1\"}, \"spec\": "
	                   "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, "
	                   "{\"a\": 1}], \"metadata\": {}}";
	struct doc_json_list_feed f;
	struct kc_error err;
	struct got g = {0};
	const char *v;
	size_t vlen;

	(void)state;
	/* The cut item's metadata is found in what was kept. */
	assert_true(doc_json_prefix_member(text + 11, 40, "metadata", &v, &vlen));
	assert_int_equal(vlen, strlen("{\"uid\": \"u1\"}"));
	assert_false(doc_json_prefix_member(text + 11, 20, "metadata", &v, &vlen));
	assert_int_equal(feed_in_pieces(text, 5, 40, &g, &f, &err), KC_OK);
	assert_int_equal(g.cut, 1);
	assert_true(g.last_full > 40);
	assert_true(f.item.len <= 40 && f.item.cap <= 256); /* never grew for the long item */
	assert_int_equal(json_array_size(g.items), 1);
	json_decref(g.items);
	doc_json_list_feed_free(&f);
}

static void test_feed_refuses_what_is_not_a_list(void **state)
{
	static const char *const bad[] = {
	    "[{\"items\": []}]",                         /* an array */
	    "{\"items\": [], \"items\": []}",            /* duplicate items */
	    "{\"items\": {}}",                           /* not an array */
	    "{\"items\": [1]}",                          /* an item not an object */
	    "{\"items\": [{}]",                          /* cut */
	    "{\"items\": [{}]} {}",                      /* two values */
	    "{\"kind\": \"PodList\"}",                   /* no items */
	    "{\"items\": [{}], \"metadata\": {\"a\": \"" /* metadata over its cap */
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789\"}}",
	};
	struct doc_json_list_feed f;
	struct kc_error err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct got g = {.items = json_array()};
		size_t len = strlen(bad[i]);
		kc_code rc;

		json_decref(g.items);
		g.items = json_array();
		doc_json_list_feed_init(&f, 4096, 100, got_item, &g);
		rc = doc_json_list_feed_bytes(&f, bad[i], len, &err);
		if (rc == KC_OK)
			rc = doc_json_list_feed_finish(&f, &err);
		if (rc == KC_OK)
			fail_msg("accepted: %s", bad[i]);
		json_decref(g.items);
		doc_json_list_feed_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_items_match_whole_parse),
	    cmocka_unit_test(test_not_a_list_goes_to_the_whole_parser),
	    cmocka_unit_test(test_duplicate_items_and_bad_separator),
	    cmocka_unit_test(test_feed_items_match_whole_parse_in_any_pieces),
	    cmocka_unit_test(test_feed_item_over_cap_is_cut_not_held),
	    cmocka_unit_test(test_feed_refuses_what_is_not_a_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
