/*
 * test_kc_buf.c: whole-file reads into a capped buffer: a regular file read
 * in place up to its limit and refused one byte past it, a pipe longer than
 * one read, empty input, appends refused past the limit.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kc_buf.h"
#include "testutil.h"

/* A temp file holding n bytes of a pattern; returns its path (caller unlinks). */
static char *file_of(size_t n)
{
	char *path = strdup("/tmp/kc-test-buf-XXXXXX"), *data = malloc(n ? n : 1);
	int fd = mkstemp(path);
	size_t i;

	assert_true(fd >= 0);
	for (i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	free(data);
	return path;
}

static void test_file_up_to_the_limit(void **state)
{
	struct kc_error err;
	struct kc_buf b;
	char *path = file_of(100000);

	(void)state;
	kc_buf_init(&b, 100000);
	assert_int_equal(kc_buf_read_file(&b, path, &err), KC_OK);
	assert_int_equal(b.len, 100000);
	assert_int_equal(b.data[0], 'a');
	assert_int_equal(b.data[99999], 'a' + 99999 % 26);
	assert_int_equal(b.data[100000], '\0');
	kc_buf_free(&b);

	/* One byte over: refused, naming the file and the limit. */
	kc_buf_init(&b, 99999);
	assert_int_equal(kc_buf_read_file(&b, path, &err), KC_ETOOBIG);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "more than 99999 bytes"));
	kc_buf_free(&b);

	/* Appended to what the buffer holds, limit counted over both. */
	kc_buf_init(&b, 100004);
	assert_int_equal(kc_buf_puts(&b, "head", &err), KC_OK);
	assert_int_equal(kc_buf_read_file(&b, path, &err), KC_OK);
	assert_int_equal(b.len, 100004);
	assert_memory_equal(b.data, "headabc", 7);
	kc_buf_free(&b);
	kc_buf_init(&b, 100003);
	assert_int_equal(kc_buf_puts(&b, "head", &err), KC_OK);
	assert_int_equal(kc_buf_read_file(&b, path, &err), KC_ETOOBIG);
	kc_buf_free(&b);
	unlink(path);
	free(path);
}

static void test_pipe_longer_than_one_read(void **state)
{
	size_t n = 300000, i;
	struct kc_error err;
	struct kc_buf b;
	char *data = malloc(n);
	int fds[2];
	pid_t pid;

	(void)state;
	for (i = 0; i < n; i++)
		data[i] = (char)('0' + i % 10);
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		_exit(write(fds[1], data, n) == (ssize_t)n ? 0 : 1);
	}
	close(fds[1]);
	kc_buf_init(&b, 0);
	assert_int_equal(kc_buf_read_fd(&b, fds[0], "pipe", &err), KC_OK);
	close(fds[0]);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, data, n);
	assert_int_equal(b.data[n], '\0');
	kc_buf_free(&b);
	free(data);
}

static void test_empty_input_is_an_empty_string(void **state)
{
	struct kc_error err;
	struct kc_buf b;
	char *path = file_of(0);

	(void)state;
	kc_buf_init(&b, 10);
	assert_int_equal(kc_buf_read_file(&b, path, &err), KC_OK);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	kc_buf_free(&b);
	unlink(path);
	free(path);
	assert_int_equal(kc_buf_read_file(&b, "/nonexistent/kc-test", &err), KC_ENOTFOUND);
}

static void test_append_past_the_limit(void **state)
{
	struct kc_error err;
	struct kc_buf b;

	(void)state;
	kc_buf_init(&b, 5);
	assert_int_equal(kc_buf_puts(&b, "12345", &err), KC_OK);
	assert_int_equal(kc_buf_puts(&b, "6", &err), KC_ETOOBIG);
	assert_string_equal(err.msg, "more than 5 bytes");
	assert_string_equal(b.data, "12345");
	kc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_up_to_the_limit),
	    cmocka_unit_test(test_pipe_longer_than_one_read),
	    cmocka_unit_test(test_empty_input_is_an_empty_string),
	    cmocka_unit_test(test_append_past_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
