/*
 * test_kc_utf8.c: the one UTF-8 decoder is as strict as Go's unicode/utf8:
 * every sequence length decodes, and overlong forms, surrogates, code points
 * past U+10FFFF, stray continuation bytes and truncated sequences do not.
 */
#include <string.h>

#include "kc_utf8.h"
#include "testutil.h"

static void expect_seq(const char *s, size_t avail, size_t want_len, uint32_t want_cp)
{
	uint32_t cp = 0xdeadbeef;

	assert_int_equal(kc_utf8_next((const unsigned char *)s, avail, &cp), want_len);
	if (want_len > 0)
		assert_int_equal(cp, want_cp);
}

static void test_valid(void **state)
{
	expect_seq("A", 1, 1, 'A');
	expect_seq("\x7f", 1, 1, 0x7f);
	expect_seq("\xc2\x80", 2, 2, 0x80);
	expect_seq("\xc3\xa9", 2, 2, 0xe9);
	expect_seq("\xdf\xbf", 2, 2, 0x7ff);
	expect_seq("\xe0\xa0\x80", 3, 3, 0x800);
	expect_seq("\xe2\x82\xac", 3, 3, 0x20ac);
	expect_seq("\xed\x9f\xbf", 3, 3, 0xd7ff); /* last before the surrogates */
	expect_seq("\xee\x80\x80", 3, 3, 0xe000); /* first after them */
	expect_seq("\xef\xbf\xbf", 3, 3, 0xffff);
	expect_seq("\xf0\x90\x80\x80", 4, 4, 0x10000);
	expect_seq("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
	/* Only the first sequence is read. */
	expect_seq("\xc3\xa9xyz", 5, 2, 0xe9);
	/* NUL is a valid sequence; is_text is what refuses it. */
	expect_seq("", 1, 1, 0);
	assert_int_equal(kc_utf8_next((const unsigned char *)"\xc3\xa9", 2, NULL), 2);
}

static void test_invalid(void **state)
{
	expect_seq("\x80", 1, 0, 0); /* stray continuation byte */
	expect_seq("\xbf", 1, 0, 0);
	expect_seq("\xc0\x80", 2, 0, 0);         /* overlong NUL */
	expect_seq("\xc1\xbf", 2, 0, 0);         /* overlong 2-byte */
	expect_seq("\xe0\x9f\xbf", 3, 0, 0);     /* overlong 3-byte */
	expect_seq("\xf0\x8f\xbf\xbf", 4, 0, 0); /* overlong 4-byte */
	expect_seq("\xed\xa0\x80", 3, 0, 0);     /* U+D800 */
	expect_seq("\xed\xbf\xbf", 3, 0, 0);     /* U+DFFF */
	expect_seq("\xf4\x90\x80\x80", 4, 0, 0); /* U+110000 */
	expect_seq("\xf5\x80\x80\x80", 4, 0, 0);
	expect_seq("\xff", 1, 0, 0);
	expect_seq("\xc3\x28", 2, 0, 0);     /* second byte not a continuation */
	expect_seq("\xe2\x82\x28", 3, 0, 0); /* third byte not a continuation */
	expect_seq("\xc3\xa9", 1, 0, 0);     /* truncated by avail */
	expect_seq("\xe2\x82\xac", 2, 0, 0);
	expect_seq("\xf0\x90\x80\x80", 3, 0, 0);
}

static void test_is_text(void **state)
{
	static const char mixed[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

	assert_true(kc_utf8_is_text((const unsigned char *)"", 0));
	assert_true(kc_utf8_is_text((const unsigned char *)"plain\n", 6));
	assert_true(kc_utf8_is_text((const unsigned char *)mixed, strlen(mixed)));
	assert_false(kc_utf8_is_text((const unsigned char *)"a\0b", 3));
	assert_false(kc_utf8_is_text((const unsigned char *)"ab\xc3", 3)); /* cut at the end */
	assert_false(kc_utf8_is_text((const unsigned char *)mixed, strlen(mixed) - 1));
	assert_false(kc_utf8_is_text((const unsigned char *)"\xed\xa0\x80", 3));
	assert_false(kc_utf8_is_text((const unsigned char *)"x\x80", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_is_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
