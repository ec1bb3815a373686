/*
 * test_doc_json.c: the JSON side of the codec: concatenated values, duplicate
 * keys, escapes libyaml would refuse, exact integers, and errors that point
 * at the document, line and column.
 */
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "testutil.h"

static json_t *parse_ok(const char *text)
{
	struct kc_error err;
	json_t *docs = NULL;

	kc_error_clear(&err);
	if (doc_parse(text, strlen(text), "in.json", &docs, &err) != KC_OK)
		fail_msg("unexpected error: %s", err.msg);
	return docs;
}

/* Parse must fail with code and a message holding want. */
static void parse_fails(const char *text, size_t len, kc_code code, const char *want)
{
	struct kc_error err;
	json_t *docs = (json_t *)1;

	kc_error_clear(&err);
	assert_int_equal(doc_parse(text, len, "in.json", &docs, &err), code);
	assert_null(docs);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
}

static void test_single_object(void **state)
{
	json_t *docs = parse_ok("  {\"a\": 1, \"b\": [true, null, 2.5, \"x\"]}\n");

	assert_int_equal(json_array_size(docs), 1);
	json_t *d = json_array_get(docs, 0);
	assert_true(json_is_integer(json_object_get(d, "a")));
	assert_int_equal(json_integer_value(json_object_get(d, "a")), 1);
	assert_true(json_is_real(json_array_get(json_object_get(d, "b"), 2)));
	json_decref(docs);
}

static void test_concatenated_values(void **state)
{
	json_t *docs = parse_ok("{\"a\":1}{\"b\":2}\n[3]\n\n {\"c\": 4}");

	assert_int_equal(json_array_size(docs), 4);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 1), "b")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_array_get(docs, 2), 0)), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 3), "c")), 4);
	json_decref(docs);
}

static void test_null_documents_skipped(void **state)
{
	json_t *docs = parse_ok("{} null [] null");

	assert_int_equal(json_array_size(docs), 2);
	json_decref(docs);
}

static void test_duplicate_key(void **state)
{
	const char *t = "{\"a\": 1,\n \"a\": 2}";

	parse_fails(t, strlen(t), KC_EINVAL, "document 1: line 2");
	parse_fails(t, strlen(t), KC_EINVAL, "duplicate object key");
	/* Nested, and in the second document. */
	t = "{}\n{\"x\": {\"k\": 1, \"k\": 1}}";
	parse_fails(t, strlen(t), KC_EINVAL, "in.json: document 2: line 2");
}

static void test_surrogate_pair_escape(void **state)
{
	/* What Python's json.dumps writes for an emoji; libyaml refuses it. */
	json_t *docs = parse_ok("{\"e\": \"\\ud83d\\ude00 ok\"}");

	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "e")),
	                    "\xF0\x9F\x98\x80 ok");
	json_decref(docs);
	/* A lone surrogate is not a character. */
	parse_fails("{\"e\": \"\\ud83d\"}", 15, KC_EINVAL, "line 1");
}

static void test_nul_rejected(void **state)
{
	parse_fails("{\"a\": \"\\u0000\"}", 15, KC_EINVAL, "line 1");
	parse_fails("{\"a\": \"x\0\"}", 11, KC_EINVAL, "NUL byte");
}

static void test_integers_exact(void **state)
{
	json_t *docs = parse_ok("[9223372036854775807, -9223372036854775808, 1.0, 10]");
	json_t *a = json_array_get(docs, 0);

	assert_int_equal(json_integer_value(json_array_get(a, 0)), INT64_MAX);
	assert_int_equal(json_integer_value(json_array_get(a, 1)), INT64_MIN);
	assert_true(json_is_real(json_array_get(a, 2)));
	assert_true(json_is_integer(json_array_get(a, 3)));
	json_decref(docs);
	parse_fails("[9223372036854775808]", 21, KC_EINVAL, "too big integer");
	parse_fails("[1e400]", 7, KC_EINVAL, "overflow");
}

static void test_truncated_and_invalid(void **state)
{
	parse_fails("{\"a\": [1, 2", 11, KC_EINVAL, "document 1: line 1");
	parse_fails("{\"a\": 1}\n{\"b\":\n", 15, KC_EINVAL, "document 2: line 3 column 1");
	parse_fails("[1, 2,]", 7, KC_EINVAL, "line 1");
	parse_fails("{'a': 1}", 8, KC_EINVAL, "line 1 column 2");
	parse_fails("{\"a\": 1} garbage", 16, KC_EINVAL,
	            "document 2: line 1 column 16: invalid token");
	parse_fails("{\"a\": tru}", 10, KC_EINVAL, "document 1");
}

static void test_binary_garbage(void **state)
{
	const char bin[] = "[\x01\x02\xff\xfe\x80";
	const char ctl[] = "{\"a\": \"x\x01y\"}";

	parse_fails(bin, sizeof(bin) - 1, KC_EINVAL, "invalid UTF-8 (byte 0xff)");
	parse_fails(ctl, sizeof(ctl) - 1, KC_EINVAL, "line 1");
	/* Overlong '/' and an encoded surrogate are not UTF-8 either. */
	parse_fails("[\"\xC0\xAF\"]", 6, KC_EINVAL, "invalid UTF-8");
	parse_fails("[\"\xED\xA0\x80\"]", 7, KC_EINVAL, "line 1 column 3: invalid UTF-8");
}

static void test_empty_input(void **state)
{
	json_t *docs = NULL;
	struct kc_error err;

	assert_int_equal(doc_parse_json("", 0, "e", &docs, &err), KC_OK);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
	assert_int_equal(doc_parse_json(" \n\t\r\n", 5, "e", &docs, &err), KC_OK);
	assert_int_equal(json_array_size(docs), 0);
	json_decref(docs);
}

static void test_depth_bomb(void **state)
{
	size_t n = 100000, i;
	char *t = malloc(2 * n);

	for (i = 0; i < n; i++) {
		t[i] = '[';
		t[n + i] = ']';
	}
	parse_fails(t, 2 * n, KC_EINVAL, "document 1");
	/* Exactly the limit is fine, one more is not. */
	n = DOC_MAX_DEPTH;
	for (i = 0; i < n; i++) {
		t[i] = '[';
		t[n + i] = ']';
	}
	json_t *docs = NULL;
	struct kc_error err;
	assert_int_equal(doc_parse(t, 2 * n, "d", &docs, &err), KC_OK);
	json_decref(docs);
	n++;
	for (i = 0; i < n; i++) {
		t[i] = '[';
		t[n + i] = ']';
	}
	parse_fails(t, 2 * n, KC_EINVAL, "nested deeper than 256");
	free(t);
}

static void test_node_bomb(void **state)
{
	/* 2.5 million zeros in one array: refused before Jansson allocates them. */
	size_t n = 2500000, i;
	char *t = malloc(2 * n + 1);

	t[0] = '[';
	for (i = 0; i < n; i++) {
		t[1 + 2 * i] = '0';
		t[2 + 2 * i] = i + 1 < n ? ',' : ']';
	}
	parse_fails(t, 2 * n + 1, KC_ETOOBIG,
	            "document 1: line 1 column 3999999: more than 2000000 nodes");
	/* Strings and objects: ':' and ',' inside strings are not counted. */
	json_t *docs = NULL;
	struct kc_error err;
	const char *ok = "{\"a,b:c\": [1, \"x\\\",\", {}], \"d\": {\"e\": []}}";
	assert_int_equal(doc_parse(ok, strlen(ok), "ok", &docs, &err), KC_OK);
	json_decref(docs);
	free(t);
}

static void test_too_big(void **state)
{
	/* Refused on the length alone: the bytes are never read. */
	char *t = malloc(DOC_MAX_INPUT + 1);

	t[0] = '{';
	parse_fails(t, DOC_MAX_INPUT + 1, KC_ETOOBIG, "more than");
	free(t);
}

static void test_dispatch(void **state)
{
	/* BOM and blanks before '{' still mean JSON; "key: [" is YAML. */
	json_t *docs = parse_ok("\xEF\xBB\xBF\n  {\"a\": \"\\u00e9\"}");

	assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "a")),
	                    "\xC3\xA9");
	json_decref(docs);
	docs = parse_ok("a: [1, 2]\n");
	assert_int_equal(json_array_size(json_object_get(json_array_get(docs, 0), "a")), 2);
	json_decref(docs);
}

/*
 * Indented input is parsed from a copy without the white space between
 * tokens: the same values, strings untouched, the same refusals, and errors
 * still at the line and column of the original.
 */
static void test_indented_input(void **state)
{
	const char *ind = "{\n    \"a\": [\n        1,\n        \"x  y\\\" \\\\\",\n"
	                  "        true\n    ],\n    \"b\": { }\n}\n    7 \t 8\n";
	json_t *docs = parse_ok(ind), *want;

	want = json_pack("[{s:[i,s,b],s:{}},i,i]", "a", 1, "x  y\" \\", 1, "b", 7, 8);
	assert_true(json_equal(docs, want));
	json_decref(want);
	json_decref(docs);
	/* Two words stay two: a space between them is kept, so these stay invalid. */
	parse_fails("[\n    1 2\n]\n", strlen("[\n    1 2\n]\n"), KC_EINVAL, "line 2 column 7");
	parse_fails("{\n    \"a\": tr ue\n}\n", strlen("{\n    \"a\": tr ue\n}\n"), KC_EINVAL,
	            "line 2 column 11");
	parse_fails("{\n    \"a\": 1\n    \"b\": 2\n}\n",
	            strlen("{\n    \"a\": 1\n    \"b\": 2\n}\n"), KC_EINVAL, "line 3 column 7");
	/* A string's own white space and a bad escape are the string's. */
	parse_fails("[\n    \"a \\q\"\n]\n", strlen("[\n    \"a \\q\"\n]\n"), KC_EINVAL, "line 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_object),
	    cmocka_unit_test(test_indented_input),
	    cmocka_unit_test(test_concatenated_values),
	    cmocka_unit_test(test_null_documents_skipped),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_surrogate_pair_escape),
	    cmocka_unit_test(test_nul_rejected),
	    cmocka_unit_test(test_integers_exact),
	    cmocka_unit_test(test_truncated_and_invalid),
	    cmocka_unit_test(test_binary_garbage),
	    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_depth_bomb),
	    cmocka_unit_test(test_node_bomb),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
