/*
 * test_doc_yaml_write.c: the YAML writer. What it writes reads back as the
 * same value (every awkward scalar, every fixture), it is byte-stable, sorts
 * when asked, quotes only what needs it and keeps UTF-8 as UTF-8.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "testutil.h"

/* YAML text of doc (caller frees). */
static char *emit(const json_t *doc, unsigned flags)
{
	struct kc_error err;
	struct kc_buf out;

	kc_buf_init(&out, 0);
	if (doc_emit_yaml(doc, flags, &out, &err) != KC_OK)
		fail_msg("emit: %s", err.msg);
	return out.data;
}

/* Emit, read back, compare; returns the YAML text (caller frees). */
static char *round_trip(const json_t *doc, unsigned flags)
{
	struct kc_error err;
	json_t *back = NULL;
	char *yaml = emit(doc, flags);

	if (doc_parse_yaml(yaml, strlen(yaml), "emitted", &back, &err) != KC_OK)
		fail_msg("re-read of\n%s\nfailed: %s", yaml, err.msg);
	assert_int_equal(json_array_size(back), 1);
	if (!json_equal(json_array_get(back, 0), doc)) {
		char *want = json_dumps(doc, JSON_ENCODE_ANY);
		char *got = json_dumps(json_array_get(back, 0), JSON_ENCODE_ANY);
		fail_msg("round trip changed the value\nyaml:\n%s\nwant %s\ngot  %s", yaml, want,
		         got);
	}
	json_decref(back);
	assert_true(yaml[strlen(yaml) - 1] == '\n');
	return yaml;
}

static const char *const awkward[] = {
    "true",
    "True",
    "on",
    "ON",
    "off",
    "y",
    "n",
    "Y",
    "yes",
    "no",
    "0755",
    "012",
    "08",
    "0x1F",
    "0o17",
    "0b11",
    "1e3",
    "1E3",
    "1_000",
    "1.",
    ".5",
    "-.5",
    "+1",
    "-0",
    "~",
    "",
    "null",
    "NULL",
    ".inf",
    "-.inf",
    ".nan",
    ".NaN",
    "<<",
    "=",
    "- x",
    "-",
    "--",
    "---",
    "...",
    "? x",
    "?",
    ":",
    "a:",
    "a: b",
    "a:b",
    ":x",
    "x #c",
    "#c",
    " lead",
    "trail ",
    "  ",
    "\t",
    "a\tb",
    "[x]",
    "{x}",
    "x]",
    "*x",
    "&x",
    "!x",
    "!!str",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "'",
    "\"",
    "'q'",
    "\"q\"",
    "\\",
    "a\\nb",
    "C:\\dir\\file",
    "2020-01-01",
    "2021-08-03T09:25:59Z",
    "1:2",
    "12:30:00",
    "99999999999999999999",
    "9223372036854775808",
    "1e999",
    "0x",
    "-0x1F",
    "+.inf",
    "1,2",
    "\xC3\xA9t\xC3\xA9",
    "\xE6\x97\xA5\xE6\x9C\xAC",
    "\xF0\x9F\x98\x80",
    "a\xF0\x9F\x98\x80\nb",
    "\xEF\xBB\xBF"
    "bom",
    "\xC2\x85nel",
    "a\xE2\x80\xA8"
    "b",
    "x\ry",
    "x\r\ny\r\n",
    "multi\nline\n",
    "multi\nline",
    "\nleading newline",
    "trailing\n\n\n",
    "  indented\nx",
    "x\n  indented",
    "trailing space \nx",
    "\n",
    "\n\n",
    " \n ",
    "tab\tin\nblock",
    "\x7f",
    "\x1b[0m",
    "\xC2\x80",
    "\xEF\xBF\xBE",
    "#!/bin/sh\nset -e\necho \"$HOME\" 'x'\n",
};

static void test_awkward_strings_round_trip(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
		json_t *s = json_string(awkward[i]), *key = json_object(), *seq = json_array();

		assert_non_null(s);
		/* As a document, a value, a key and a sequence item. */
		json_object_set(key, awkward[i], s);
		json_object_set(key, "v", s);
		json_array_append(seq, s);
		free(round_trip(s, 0));
		free(round_trip(key, 0));
		free(round_trip(seq, DOC_EMIT_SORT_KEYS));
		json_decref(s);
		json_decref(key);
		json_decref(seq);
	}
}

/*
 * Property: every short string over the characters that make YAML 1.1 see
 * numbers, booleans, nulls and merges reads back as the same string, as a
 * value and as a key. This pits the writer's quoting against the reader's
 * typing on ~14,000 near-miss spellings ("0o8", "+.5e", "1_", "~y"...).
 */
static void test_near_miss_scalars(void **state)
{
	static const char alphabet[] = "0189._+-eExXoObBnNyY~< :";
	const size_t n = sizeof(alphabet) - 1;
	char s[4] = {0};
	size_t a, b, c, count = 0;
	json_t *doc = json_object(), *list = json_array();

	for (a = 0; a < n; a++) {
		for (b = 0; b <= n; b++) {
			for (c = 0; c <= (b < n ? n : 0); c++) {
				s[0] = alphabet[a];
				s[1] = b < n ? alphabet[b] : '\0';
				s[2] = b < n && c < n ? alphabet[c] : '\0';
				json_array_append_new(list, json_string(s));
				json_object_set_new(doc, s, json_true());
				count++;
			}
		}
	}
	json_object_set_new(doc, "list", list);
	assert_true(count > 14000);
	free(round_trip(doc, 0));
	free(round_trip(doc, DOC_EMIT_SORT_KEYS));
	json_decref(doc);
}

static void test_keys_needing_care(void **state)
{
	char longkey[301];
	json_t *d = json_object();
	char *y;

	memset(longkey, 'k', 300);
	longkey[300] = '\0';
	/* Over 128 characters or multi-line: libyaml's "? key" form. */
	json_object_set_new(d, longkey, json_integer(1));
	json_object_set_new(d, "multi\nline key", json_string("v"));
	json_object_set_new(d, "trailing\n", json_string("x"));
	json_object_set_new(d, "", json_string("empty key"));
	json_object_set_new(d, " ", json_integer(2));
	json_object_set_new(d, "a: b", json_pack("{s:[s,s]}", "x #", "- y", ""));
	y = round_trip(d, 0);
	assert_non_null(
	    strstr(y, "\n\"\": empty key\n' ': 2\n'a: b':\n  'x #':\n  - '- y'\n  - \"\"\n"));
	free(y);
	free(round_trip(d, DOC_EMIT_SORT_KEYS));
	json_decref(d);
}

static void test_expected_spelling(void **state)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{}, s:[], s:f, "
	                      "s:f, s:I, s:b, s:n}",
	                      "a", "true", "b", "0755", "c", "1e3", "d", "~", "e", "", "f", "plain",
	                      "g", "multi\nline\n", "h", "- x", "i", "\xC3\xA9\xF0\x9F\x98\x80",
	                      "j", "strip\nend", "k", "l", "m", 1.0, "n", 1e20, "o",
	                      (json_int_t)-9223372036854775807LL, "p", 1, "q");
	char *y = round_trip(d, 0);

	assert_string_equal(y, "a: \"true\"\n"
	                       "b: \"0755\"\n"
	                       "c: \"1e3\"\n"
	                       "d: \"~\"\n"
	                       "e: \"\"\n"
	                       "f: plain\n"
	                       "g: |\n"
	                       "  multi\n"
	                       "  line\n"
	                       "h: '- x'\n"
	                       "i: \"\xC3\xA9\xF0\x9F\x98\x80\"\n"
	                       "j: |-\n"
	                       "  strip\n"
	                       "  end\n"
	                       "k: {}\n"
	                       "l: []\n"
	                       "m: 1.0\n"
	                       "\"n\": 1.0e+20\n"
	                       "o: -9223372036854775807\n"
	                       "p: true\n"
	                       "q: null\n");
	free(y);
	json_decref(d);
}

static void test_numbers(void **state)
{
	const double reals[] = {0.0,
	                        -0.0,
	                        1.0,
	                        -1.5,
	                        0.1,
	                        1e-7,
	                        123456789012345678.0,
	                        1e300,
	                        5e-324,
	                        2.5e-308,
	                        1.7976931348623157e308,
	                        0.30000000000000004};
	const json_int_t ints[] = {0, -1, 493, 9223372036854775807LL, -9223372036854775807LL - 1};
	size_t i;

	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		json_t *r = json_pack("[f]", reals[i]);
		free(round_trip(r, 0));
		json_decref(r);
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *n = json_pack("[I]", ints[i]);
		free(round_trip(n, 0));
		json_decref(n);
	}
}

static void test_unicode_and_long_strings(void **state)
{
	size_t n = 1 << 20, i;
	char *big = malloc(n + 1);
	json_t *d;
	char *y;

	for (i = 0; i < n; i++)
		big[i] = "abc def "[i % 8];
	big[n - 1] = 'z';
	big[n] = '\0';
	d = json_pack("{s:s}", "big", big);
	y = round_trip(d, 0);
	/* Not wrapped: the key and its megabyte on one line. */
	assert_int_equal(strlen(y), 5 + n + 1);
	assert_null(strchr(y, '\n') == y + strlen(y) - 1 ? NULL : strchr(y, '\n'));
	free(y);
	json_decref(d);
	free(big);
	/* Surrogate-pair JSON in, raw UTF-8 out. */
	json_t *docs = NULL;
	struct kc_error err;
	const char *j = "{\"msg\": \"caf\\u00e9 \\ud83d\\ude00\", \"\\u65e5\": 1}";
	assert_int_equal(doc_parse(j, strlen(j), "j", &docs, &err), KC_OK);
	y = round_trip(json_array_get(docs, 0), 0);
	assert_string_equal(y, "msg: \"caf\xC3\xA9 \xF0\x9F\x98\x80\"\n\xE6\x97\xA5: 1\n");
	free(y);
	json_decref(docs);
}

static void test_sorted_and_stable(void **state)
{
	json_t *d = json_pack("{s:i, s:{s:i, s:i}, s:i, s:[{s:i, s:i}]}", "zeta", 1, "alpha", "b",
	                      2, "a", 3, "Mid", 4, "list", "y", 5, "x", 6);
	char *a = round_trip(d, DOC_EMIT_SORT_KEYS), *b = round_trip(d, DOC_EMIT_SORT_KEYS);
	char *kept = round_trip(d, 0);

	assert_string_equal(a, b);
	assert_string_equal(a, "Mid: 4\n"
	                       "alpha:\n"
	                       "  a: 3\n"
	                       "  b: 2\n"
	                       "list:\n"
	                       "- x: 6\n"
	                       "  \"y\": 5\n"
	                       "zeta: 1\n");
	/* Without the flag, insertion order is kept. */
	assert_true(strncmp(kept, "zeta: 1\nalpha:\n  b: 2\n", 22) == 0);
	free(a);
	free(b);
	free(kept);
	json_decref(d);
}

static void test_appends_and_fails_whole(void **state)
{
	json_t *d = json_pack("{s:s}", "k", "0123456789012345678901234567890123456789");
	struct kc_error err;
	struct kc_buf out;

	kc_buf_init(&out, 30);
	assert_int_equal(kc_buf_puts(&out, "# head\n", &err), KC_OK);
	assert_int_equal(doc_emit_yaml(d, 0, &out, &err), KC_ETOOBIG);
	/* Nothing half-written. */
	assert_string_equal(out.data, "# head\n");
	kc_buf_free(&out);
	kc_buf_init(&out, 0);
	assert_int_equal(kc_buf_puts(&out, "---\n", &err), KC_OK);
	assert_int_equal(doc_emit_yaml(d, 0, &out, &err), KC_OK);
	assert_string_equal(out.data, "---\nk: \"0123456789012345678901234567890123456789\"\n");
	kc_buf_free(&out);
	json_decref(d);
}

static void test_refuses_what_cannot_read_back(void **state)
{
	json_t *d = json_object(), *deep = json_array(), *cur = deep;
	struct kc_error err;
	struct kc_buf out;
	int i;

	json_object_set_new(d, "nul", json_stringn("a\0b", 3));
	kc_buf_init(&out, 0);
	assert_int_equal(doc_emit_yaml(d, 0, &out, &err), KC_EINVAL);
	assert_string_equal(err.msg, "nul: a string holds a NUL character");
	for (i = 0; i < DOC_MAX_DEPTH + 5; i++) {
		json_t *next = json_array();
		json_array_append_new(cur, next);
		cur = next;
	}
	assert_int_equal(doc_emit_yaml(deep, 0, &out, &err), KC_EINVAL);
	assert_non_null(strstr(err.msg, "nested deeper"));
	assert_int_equal(out.len, 0);
	kc_buf_free(&out);
	json_decref(d);
	json_decref(deep);
}

/* JSON -> YAML -> JSON is the identity on every fixture, sorted or not. */
static void test_fixtures_round_trip(void **state)
{
	DIR *dir = opendir(KC_FIXTURES_DIR);
	struct dirent *de;
	int files = 0;

	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		size_t n = strlen(de->d_name), len, i;
		struct kc_error err;
		json_t *docs = NULL, *d;
		char *text;

		if (!(n > 5 && strcmp(de->d_name + n - 5, ".json") == 0) &&
		    !(n > 5 && strcmp(de->d_name + n - 5, ".yaml") == 0))
			continue;
		text = tu_read_file(tu_fixture(de->d_name), &len);
		assert_non_null(text);
		if (doc_parse(text, len, de->d_name, &docs, &err) != KC_OK)
			fail_msg("%s", err.msg);
		assert_true(json_array_size(docs) >= 1);
		json_array_foreach(docs, i, d)
		{
			char *a = round_trip(d, 0), *b = round_trip(d, DOC_EMIT_SORT_KEYS);
			char *c = emit(d, DOC_EMIT_SORT_KEYS);

			assert_string_equal(b, c);
			free(a);
			free(b);
			free(c);
		}
		json_decref(docs);
		free(text);
		files++;
	}
	closedir(dir);
	assert_true(files >= 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_awkward_strings_round_trip),
	    cmocka_unit_test(test_near_miss_scalars),
	    cmocka_unit_test(test_keys_needing_care),
	    cmocka_unit_test(test_expected_spelling),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_unicode_and_long_strings),
	    cmocka_unit_test(test_sorted_and_stable),
	    cmocka_unit_test(test_appends_and_fails_whole),
	    cmocka_unit_test(test_refuses_what_cannot_read_back),
	    cmocka_unit_test(test_fixtures_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
