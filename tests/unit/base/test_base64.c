/*
 * test_base64.c: strict standard base64 as Go's encoding/json reads []byte.
 */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "testutil.h"

static void expect_decodes(const char *in, const char *want, size_t want_len)
{
	unsigned char *out = NULL;
	size_t len = 99;
	struct kc_error err;

	assert_int_equal(base64_decode(in, strlen(in), &out, &len, &err), KC_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[len], '\0');
	free(out);
}

static void expect_rejects(const char *in, const char *msg_part)
{
	unsigned char *out = NULL;
	size_t len = 0;
	struct kc_error err;

	assert_int_equal(base64_decode(in, strlen(in), &out, &len, &err), KC_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, msg_part));
}

static void test_rfc4648_vectors(void **state)
{
	expect_decodes("", "", 0);
	expect_decodes("Zg==", "f", 1);
	expect_decodes("Zm8=", "fo", 2);
	expect_decodes("Zm9v", "foo", 3);
	expect_decodes("Zm9vYg==", "foob", 4);
	expect_decodes("Zm9vYmE=", "fooba", 5);
	expect_decodes("Zm9vYmFy", "foobar", 6);
}

static void test_binary_and_line_breaks(void **state)
{
	/* 0x00 0xff 0xfe 0x3e 0x3f: '+' and '/' in the alphabet, NUL in the output. */
	expect_decodes("AP/+Pj8=", "\x00\xff\xfe\x3e\x3f", 5);
	/* Wrapped PEM-style lines, CRLF included, as long base64 often is. */
	expect_decodes("Zm9v\nYmFy\r\n", "foobar", 6);
	/* Like Go's StdEncoding (not Strict): bits under the padding are ignored. */
	expect_decodes("Zh==", "f", 1);
}

static void test_rejects_bad_input(void **state)
{
	expect_rejects("Zm9", "truncated");
	expect_rejects("Zg=", "truncated");
	expect_rejects("Z===", "misplaced '='");
	expect_rejects("=Zg=", "misplaced '='");
	expect_rejects("Zg==Zg==", "data after");
	expect_rejects("Zm=v", "data after '='");
	expect_rejects("Zm9v YmFy", "invalid character at offset 4");
	expect_rejects("Zm9v-_==", "invalid character"); /* URL alphabet is not standard */
	expect_rejects("Zm9v\tYmFy", "invalid character");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors),
	    cmocka_unit_test(test_binary_and_line_breaks),
	    cmocka_unit_test(test_rejects_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
