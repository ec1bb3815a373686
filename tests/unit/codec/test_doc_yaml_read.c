/*
 * test_doc_yaml_read.c: YAML -> json_t as Kubernetes reads YAML: go-yaml v2
 * typing of plain scalars, quoting and tags, duplicate and non-string keys,
 * merge keys, aliases within the node budget, multi-document streams, and
 * errors that say where.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc.h"
#include "testutil.h"

static json_t *parse_ok(const char *text)
{
	struct kc_error err;
	json_t *docs = NULL;

	kc_error_clear(&err);
	if (doc_parse(text, strlen(text), "in.yaml", &docs, &err) != KC_OK)
		fail_msg("unexpected error for \"%s\": %s", text, err.msg);
	return docs;
}

static void parse_fails(const char *text, kc_code code, const char *want)
{
	struct kc_error err;
	json_t *docs = (json_t *)1;

	kc_error_clear(&err);
	assert_int_equal(doc_parse(text, strlen(text), "in.yaml", &docs, &err), code);
	assert_null(docs);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err.msg, want);
}

/* The one document of text must equal the JSON want. */
static void expect_doc(const char *text, const char *want)
{
	json_t *docs = parse_ok(text), *w = json_loads(want, JSON_DECODE_ANY, NULL);

	assert_non_null(w);
	assert_int_equal(json_array_size(docs), 1);
	if (!json_equal(json_array_get(docs, 0), w)) {
		char *got = json_dumps(json_array_get(docs, 0), JSON_ENCODE_ANY);
		fail_msg("\"%s\": got %s, want %s", text, got, want);
	}
	json_decref(w);
	json_decref(docs);
}

static void test_plain_scalar_typing(void **state)
{
	static const struct {
		const char *yaml, *json;
	} cases[] = {
	    {"true", "true"},
	    {"True", "true"},
	    {"TRUE", "true"},
	    {"yes", "true"},
	    {"on", "true"},
	    {"On", "true"},
	    {"y", "true"},
	    {"Y", "true"},
	    {"no", "false"},
	    {"off", "false"},
	    {"n", "false"},
	    {"FALSE", "false"},
	    {"tRUE", "\"tRUE\""},
	    {"~", "null"},
	    {"null", "null"},
	    {"Null", "null"},
	    {"", "null"},
	    {"nULL", "\"nULL\""},
	    {"0", "0"},
	    {"-17", "-17"},
	    {"+17", "17"},
	    {"0755", "493"},
	    {"012", "10"},
	    {"0x1F", "31"},
	    {"-0x1F", "-31"},
	    {"0o17", "15"},
	    {"0b101", "5"},
	    {"1_000", "1000"},
	    {"08", "8.0"},
	    {"1e3", "1000.0"},
	    {"1.5", "1.5"},
	    {".5", "0.5"},
	    {"-.5", "-0.5"},
	    {"1.", "1.0"},
	    {"1E-2", "0.01"},
	    {"1e999", "\"1e999\""},
	    {"0x", "\"0x\""},
	    {"1_000.5", "1000.5"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"-9223372036854775808", "-9223372036854775808"},
	    {"99999999999999999999999", "1e23"},
	    {"2020-01-01", "\"2020-01-01\""},
	    {"2021-08-03T09:25:59Z", "\"2021-08-03T09:25:59Z\""},
	    {"1.2.3", "\"1.2.3\""},
	    {"v1", "\"v1\""},
	    {"-x", "\"-x\""},
	    {"._5", "\"._5\""},
	    {"<<", "\"<<\""},
	    {"=", "\"=\""},
	    {"abc def", "\"abc def\""},
	    {"héllo", "\"h\\u00e9llo\""},
	};
	char text[256], want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "v: %s\n", cases[i].yaml);
		snprintf(want, sizeof(want), "{\"v\": %s}", cases[i].json);
		expect_doc(text, want);
	}
}

static void test_unrepresentable_scalars(void **state)
{
	parse_fails("v: .inf\n", KC_EINVAL, "line 1 column 4: .inf is out of range");
	parse_fails("v: -.Inf\n", KC_EINVAL, "out of range");
	parse_fails("v: .nan\n", KC_EINVAL, "out of range");
	parse_fails("v: 9223372036854775808\n", KC_EINVAL, "out of range");
	parse_fails("v: 0xFFFFFFFFFFFFFFFF\n", KC_EINVAL, "out of range");
}

static void test_quoted_and_block_scalars(void **state)
{
	expect_doc("a: \"true\"\nb: 'on'\nc: \"0755\"\nd: '1e3'\ne: \"~\"\nf: ''\ng: \"\"\n",
	           "{\"a\":\"true\",\"b\":\"on\",\"c\":\"0755\",\"d\":\"1e3\",\"e\":\"~\","
	           "\"f\":\"\",\"g\":\"\"}");
	expect_doc("a: |\n  line 1\n  line 2\nb: >-\n  folded\n  text\nc: |+\n  keep\n\n",
	           "{\"a\":\"line 1\\nline 2\\n\",\"b\":\"folded text\",\"c\":\"keep\\n\\n\"}");
	expect_doc("e: \"\\u00e9 \\U0001F600 \\t\"\n", "{\"e\":\"\\u00e9 \\ud83d\\ude00 \\t\"}");
	/* Raw emoji in a plain scalar. */
	expect_doc("e: \xF0\x9F\x98\x80\n", "{\"e\":\"\\ud83d\\ude00\"}");
	parse_fails("e: \"a\\0b\"\n", KC_EINVAL, "line 1 column 4: string holds a NUL character");
}

static void test_tags(void **state)
{
	expect_doc("a: !!str 12\nb: !!int \"12\"\nc: !!float 3\nd: !!bool \"yes\"\ne: !!null ''\n"
	           "f: ! 12\ng: !!map {x: 1}\nh: !!seq [1]\ni: !!timestamp 2020-01-01\n",
	           "{\"a\":\"12\",\"b\":12,\"c\":3.0,\"d\":true,\"e\":null,\"f\":\"12\","
	           "\"g\":{\"x\":1},\"h\":[1],\"i\":\"2020-01-01\"}");
	parse_fails("a: !!int abc\n", KC_EINVAL, "line 1 column 4: cannot read \"abc\" as !!int");
	parse_fails("a: !!binary aGVsbG8=\n", KC_EINVAL, "unsupported tag !!binary");
	parse_fails("a: !custom x\n", KC_EINVAL, "unsupported tag !custom");
	parse_fails("a: !!seq {x: 1}\n", KC_EINVAL,
	            "unsupported tag tag:yaml.org,2002:seq on a mapping");
}

static void test_duplicate_keys(void **state)
{
	parse_fails("a: 1\nb:\n  c: 1\n  c: 2\n", KC_EINVAL,
	            "in.yaml: document 1: line 4 column 3: duplicate key \"c\"");
	/* Duplicates after typing: 1 and "1", y and true. */
	parse_fails("1: a\n\"1\": b\n", KC_EINVAL, "duplicate key \"1\"");
	parse_fails("y: a\ntrue: b\n", KC_EINVAL, "duplicate key \"true\"");
	parse_fails("---\nx: 1\n---\nx: 1\nx: 2\n", KC_EINVAL, "document 2: line 5 column 1");
	parse_fails("x: {a: 1, a: 2}\n", KC_EINVAL, "line 1 column 11: duplicate key \"a\"");
}

static void test_non_string_keys(void **state)
{
	expect_doc("1: a\n-2: b\n0x10: c\ntrue: d\nno: e\n",
	           "{\"1\":\"a\",\"-2\":\"b\",\"16\":\"c\",\"true\":\"d\",\"false\":\"e\"}");
	parse_fails("1.5: a\n", KC_EINVAL, "line 1 column 1: float mapping key");
	parse_fails("~: a\n", KC_EINVAL, "null mapping key");
	parse_fails("? [1, 2]\n: a\n", KC_EINVAL, "mapping key is a sequence");
	parse_fails("? {x: 1}\n: a\n", KC_EINVAL, "mapping key is a mapping");
}

static void test_merge_keys(void **state)
{
	expect_doc("base: &b {x: 1, y2: 2}\nd:\n  <<: *b\n  y2: 3\n",
	           "{\"base\":{\"x\":1,\"y2\":2},\"d\":{\"x\":1,\"y2\":3}}");
	/* Explicit keys win wherever they are; earlier merged maps win. */
	expect_doc("d:\n  k: 0\n  <<: [{k: 1, m: 1}, {m: 2, z: 2}]\n",
	           "{\"d\":{\"k\":0,\"m\":1,\"z\":2}}");
	expect_doc("a: \"<<\"\nb: [<<]\n\"<<\": 1\n", "{\"a\":\"<<\",\"b\":[\"<<\"],\"<<\":1}");
	parse_fails("d:\n  <<: 1\n", KC_EINVAL, "merge key \"<<\" needs a mapping");
	parse_fails("d:\n  <<: {a: 1}\n  <<: {b: 1}\n", KC_EINVAL, "duplicate merge key");
	parse_fails("d:\n  <<: {a: 1}\n  a: 2\n  a: 3\n", KC_EINVAL,
	            "line 4 column 3: duplicate key");
}

static void test_aliases(void **state)
{
	json_t *docs = parse_ok("a: &x {k: [1, 2]}\nb: *x\nc: &s str\nd: *s\n");
	json_t *d = json_array_get(docs, 0);

	assert_true(json_equal(json_object_get(d, "a"), json_object_get(d, "b")));
	/* Expanded, not shared: editing one copy leaves the other alone. */
	assert_ptr_not_equal(json_object_get(d, "a"), json_object_get(d, "b"));
	json_array_clear(json_object_get(json_object_get(d, "b"), "k"));
	assert_int_equal(json_array_size(json_object_get(json_object_get(d, "a"), "k")), 2);
	assert_string_equal(json_string_value(json_object_get(d, "d")), "str");
	json_decref(docs);
	parse_fails("a: *nope\n", KC_EINVAL, "line 1 column 4: alias *nope: no such anchor");
	parse_fails("a: &x [1, *x]\n", KC_EINVAL, "refers to a node that contains it");
	/* Anchors do not cross documents. */
	parse_fails("a: &x 1\n---\nb: *x\n", KC_EINVAL, "document 2: line 3 column 4: alias *x");
}

static void test_alias_bomb(void **state)
{
	char text[2048];
	size_t n = 0;
	int i, j;
	clock_t t0 = clock();

	n += (size_t)snprintf(text + n, sizeof(text) - n,
	                      "a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
	for (i = 1; i < 10; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "a%d: &a%d [", i, i);
		for (j = 0; j < 9; j++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s*a%d", j ? "," : "",
			                      i - 1);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
	}
	parse_fails(text, KC_ETOOBIG, "more than 2000000 nodes");
	/* "Quickly": well under a second, even under sanitizers. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 3.0);
}

static void test_depth_bomb(void **state)
{
	size_t n = 50000, i;
	char *t = malloc(2 * n + 1);
	json_t *docs;

	for (i = 0; i < n; i++)
		t[i] = '-', t[n + i] = ' ';
	/* "- - - - ... x": block sequences nested n deep. */
	for (i = 0; i < n; i++) {
		t[2 * i] = '-';
		t[2 * i + 1] = ' ';
	}
	t[2 * n - 1] = 'x';
	t[2 * n] = '\0';
	parse_fails(t, KC_EINVAL, "line 1 column 513: nested deeper than 256 levels");
	free(t);
	/* Aliases cannot stack past the limit either. */
	t = malloc(64 * 300);
	n = (size_t)sprintf(t, "a0: &x0 1\n");
	for (i = 1; i < 300; i++)
		n += (size_t)sprintf(t + n, "b%zu: &x%zu [*x%zu]\n", i, i, i - 1);
	parse_fails(t, KC_EINVAL, "nested deeper than 256 levels");
	t[0] = '\0';
	n = 0;
	for (i = 0; i < 255; i++)
		n += (size_t)sprintf(t + n, "[");
	for (i = 0; i < 255; i++)
		n += (size_t)sprintf(t + n, "]");
	docs = parse_ok(t);
	json_decref(docs);
	free(t);
}

static void test_multi_document(void **state)
{
	json_t *docs =
	    parse_ok("# comment\n---\na: 1\n...\n---\nb: 2\n---\n---\n~\n---\n- 3\n...\n");

	assert_int_equal(json_array_size(docs), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(docs, 1), "b")), 2);
	assert_true(json_is_array(json_array_get(docs, 2)));
	json_decref(docs);
	/* A bare scalar document is the codec's business to accept. */
	docs = parse_ok("hello\n");
	assert_string_equal(json_string_value(json_array_get(docs, 0)), "hello");
	json_decref(docs);
}

static void test_empty_streams(void **state)
{
	const char *empty[] = {"", "\n\n", "# only a comment\n", "---\n", "---\n...\n", "~\n"};
	size_t i;

	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		json_t *docs = parse_ok(empty[i]);
		assert_int_equal(json_array_size(docs), 0);
		json_decref(docs);
	}
}

static void test_invalid_yaml(void **state)
{
	parse_fails("a: [1, 2\n", KC_EINVAL, "document 1: line 2 column 1: did not find expected");
	parse_fails("a: b: c\n", KC_EINVAL, "line 1 column 5: mapping values are not allowed");
	parse_fails("a:\n  - 1\n - 2\n", KC_EINVAL, "line 3");
	parse_fails("a: \"unterminated\n", KC_EINVAL, "line 2");
	parse_fails("a: 1\n---\nb: [\n", KC_EINVAL, "document 2: line 4");
	parse_fails("a:\tb\n\t- x\n", KC_EINVAL, "line 2 column 1");
	parse_fails("key: \x01value\n", KC_EINVAL, "line 1 column 6");
	parse_fails("k: \"\xF0\x9F\x98\"\n", KC_EINVAL, "line 1 column 5: invalid UTF-8");
	parse_fails("\xFF\xFE\x00\x00", KC_EINVAL, "invalid UTF-8");
}

static void test_binary_garbage(void **state)
{
	unsigned char junk[4096];
	unsigned int seed = 42;
	size_t i;
	int round;

	/* Whatever the bytes, an answer and never a crash. */
	for (round = 0; round < 200; round++) {
		struct kc_error err;
		json_t *docs = NULL;
		size_t len = (size_t)(rand_r(&seed) % sizeof(junk));

		for (i = 0; i < len; i++)
			junk[i] = (unsigned char)(rand_r(&seed) % (round % 2 ? 256 : 128));
		if (doc_parse((const char *)junk, len, "junk", &docs, &err) == KC_OK)
			json_decref(docs);
		else
			assert_true(strncmp(err.msg, "junk: ", 6) == 0);
	}
}

static void test_fixtures_parse(void **state)
{
	static const char *const yamls[] = {
	    "13-etcd-openshift-4.8-mirror-pod.yaml", "18-myapp-minikube-bare-pod.yaml",
	    "20-openshift-installer-pod-ownerref-configmap.yaml", "24-list-wrapper-two-pods.yaml"};
	size_t i, len;

	for (i = 0; i < sizeof(yamls) / sizeof(yamls[0]); i++) {
		char *text = tu_read_file(tu_fixture(yamls[i]), &len);
		struct kc_error err;
		json_t *docs = NULL;

		assert_non_null(text);
		if (doc_parse(text, len, yamls[i], &docs, &err) != KC_OK)
			fail_msg("%s", err.msg);
		assert_int_equal(json_array_size(docs), 1);
		json_t *d = json_array_get(docs, 0);
		assert_true(json_is_string(json_object_get(d, "apiVersion")));
		/* Timestamps stay strings, as Kubernetes reads them. */
		if (json_object_get(d, "metadata") != NULL &&
		    json_object_get(json_object_get(d, "metadata"), "creationTimestamp") != NULL)
			assert_true(json_is_string(
			    json_object_get(json_object_get(d, "metadata"), "creationTimestamp")));
		json_decref(docs);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_scalar_typing),
	    cmocka_unit_test(test_unrepresentable_scalars),
	    cmocka_unit_test(test_quoted_and_block_scalars),
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_non_string_keys),
	    cmocka_unit_test(test_merge_keys),
	    cmocka_unit_test(test_aliases),
	    cmocka_unit_test(test_alias_bomb),
	    cmocka_unit_test(test_depth_bomb),
	    cmocka_unit_test(test_multi_document),
	    cmocka_unit_test(test_empty_streams),
	    cmocka_unit_test(test_invalid_yaml),
	    cmocka_unit_test(test_binary_garbage),
	    cmocka_unit_test(test_fixtures_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
