/*
 * test_render_downward.c: Go's strconv.Quote as the kubelet writes
 * downward-API annotation and label values (rd_go_quote).
 */
#include "kc_buf.h"
#include "render_int.h"
#include "testutil.h"

static const char *go_quote(const char *s, size_t len, struct kc_buf *b)
{
	kc_buf_reset(b);
	assert_int_equal(rd_go_quote(s, len, b, NULL), KC_OK);
	return b->data;
}

static void test_go_quote(void **state)
{
	struct kc_buf b;

	kc_buf_init(&b, 0);
	assert_string_equal(go_quote("plain", 5, &b), "\"plain\"");
	assert_string_equal(go_quote("a\"b\\c", 5, &b), "\"a\\\"b\\\\c\"");
	assert_string_equal(go_quote("l1\nl2\t\r", 7, &b), "\"l1\\nl2\\t\\r\"");
	assert_string_equal(go_quote("\x01\x7f", 2, &b), "\"\\x01\\x7f\"");
	assert_string_equal(go_quote("\0", 1, &b), "\"\\x00\"");
	assert_string_equal(go_quote("caf\xc3\xa9 \xe2\x9c\x93", 9, &b),
	                    "\"caf\xc3\xa9 \xe2\x9c\x93\"");
	assert_string_equal(go_quote("\xc2\xa0", 2, &b), "\"\\u00a0\"");
	assert_string_equal(go_quote("\xe2\x80\xa8", 3, &b), "\"\\u2028\"");
	assert_string_equal(go_quote("\xf3\xa0\x80\x81", 4, &b), "\"\\U000e0001\"");
	assert_string_equal(go_quote("\xff", 1, &b), "\"\\xff\"");
	assert_string_equal(go_quote("", 0, &b), "\"\"");
	kc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
