/*
 * test_kc_log.c: log line format, journald prefixes, verbosity, and the rate
 * limiting of repeated lines (with a fake clock and a memory stream).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kc_log.h"
#include "testutil.h"

static time_t fake_now;
static FILE *capture; /* a temp file; reads start where the last one ended */
static long taken;

static time_t fake_clock(void)
{
	return fake_now;
}

static int setup(void **state)
{
	struct kc_log_opts opts = {
	    .verbosity = 0,
	    .journald = 0,
	    .repeat_window = 60,
	    .clock = fake_clock,
	};

	fake_now = 1000;
	capture = tmpfile();
	assert_non_null(capture);
	taken = 0;
	opts.out = capture;
	kc_log_setup(&opts);
	return 0;
}

static int teardown(void **state)
{
	struct kc_log_opts opts = {.journald = 0, .repeat_window = KC_LOG_REPEAT_WINDOW};

	kc_log_setup(&opts);
	fclose(capture);
	return 0;
}

/* Everything logged since the last take(). */
static char *take(void)
{
	long end;
	char *s;

	fflush(capture);
	end = ftell(capture);
	s = calloc(1, (size_t)(end - taken) + 1);
	assert_non_null(s);
	assert_int_equal(fseek(capture, taken, SEEK_SET), 0);
	assert_int_equal(fread(s, 1, (size_t)(end - taken), capture), (size_t)(end - taken));
	taken = end;
	assert_int_equal(fseek(capture, 0, SEEK_END), 0); /* reads then writes need a seek */
	return s;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void test_format_and_verbosity(void **state)
{
	char *out;

	kc_log(KC_LOG_ERR, "%s: %d", "pod.json", 7);
	kc_log(KC_LOG_DEBUG, "hidden at verbosity 0");
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: error: pod.json: 7\n");
	free(out);
}

static void test_journald_prefix_and_flattening(void **state)
{
	struct kc_log_opts opts = {.verbosity = 1,
	                           .out = capture,
	                           .journald = 1,
	                           .repeat_window = 60,
	                           .clock = fake_clock};
	char *out;

	kc_log_setup(&opts);
	kc_log(KC_LOG_WARNING, "two\nlines\r");
	kc_log(KC_LOG_DEBUG, "shown at -v");
	out = take();
	assert_string_equal(out, "<4>two lines \n<7>shown at -v\n");
	free(out);
}

static void test_repeats_suppressed_then_reported(void **state)
{
	char *out;
	int i;

	for (i = 0; i < 10; i++) {
		kc_log(KC_LOG_ERR, "apiserver: connection refused");
		fake_now += 5; /* 10 lines over 50 s: one window */
	}
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: error: apiserver: connection refused\n");
	free(out);

	fake_now = 1000 + 61;
	kc_log(KC_LOG_ERR, "apiserver: connection refused");
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: error: last message repeated 9 times in 61s: "
	                         "apiserver: connection refused\n"
	                         "kubelet-checkpoint: error: apiserver: connection refused\n");
	free(out);
}

static void test_level_and_text_distinguish(void **state)
{
	char *out;

	kc_log(KC_LOG_ERR, "same");
	kc_log(KC_LOG_WARNING, "same");
	kc_log(KC_LOG_ERR, "other");
	kc_log(KC_LOG_ERR, "same");
	kc_log(KC_LOG_WARNING, "same");
	out = take();
	assert_int_equal(count_lines(out), 3);
	free(out);
}

static void test_interleaved_repeats_limited(void **state)
{
	char *out;
	int i;

	/* Two failing pods alternating: still one line each per window. */
	for (i = 0; i < 20; i++) {
		kc_log(KC_LOG_ERR, "pod a: corrupt");
		kc_log(KC_LOG_ERR, "pod b: corrupt");
		fake_now++;
	}
	out = take();
	assert_int_equal(count_lines(out), 2);
	free(out);
}

static void test_flush_reports_only_expired_unless_all(void **state)
{
	char *out;

	kc_log(KC_LOG_WARNING, "api unreachable");
	kc_log(KC_LOG_WARNING, "api unreachable");
	kc_log(KC_LOG_WARNING, "api unreachable");
	free(take());
	fake_now += 30;
	kc_log_flush_repeats(0);
	out = take();
	assert_string_equal(out, "");
	free(out);
	fake_now += 30;
	kc_log_flush_repeats(0);
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: warning: last message repeated 2 times in "
	                         "60s: api unreachable\n");
	free(out);
	/* Reported once: nothing held any more. */
	kc_log_flush_repeats(1);
	out = take();
	assert_string_equal(out, "");
	free(out);
	kc_log(KC_LOG_WARNING, "api unreachable");
	kc_log_flush_repeats(1);
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: warning: last message repeated 1 times in "
	                         "0s: api unreachable\n");
	free(out);
}

static void test_eviction_reports_held_count(void **state)
{
	char line[32], *out;
	int i;

	kc_log(KC_LOG_ERR, "first");
	kc_log(KC_LOG_ERR, "first");
	fake_now++;
	/* More distinct lines than the table holds push "first" out. */
	for (i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "distinct %d", i);
		kc_log(KC_LOG_ERR, "%s", line);
	}
	out = take();
	assert_non_null(strstr(out, "last message repeated 1 times in 1s: first\n"));
	assert_int_equal(count_lines(out), 1 + 1 + 40);
	free(out);
}

static void test_setup_again_reports_held_repeats(void **state)
{
	struct kc_log_opts opts = {
	    .out = capture, .journald = 0, .repeat_window = 60, .clock = fake_clock};
	char *out;

	kc_log(KC_LOG_WARNING, "flag file missing");
	kc_log(KC_LOG_WARNING, "flag file missing");
	fake_now += 7;
	kc_log_setup(&opts);
	out = take();
	assert_string_equal(out,
	                    "kubelet-checkpoint: warning: flag file missing\n"
	                    "kubelet-checkpoint: warning: last message repeated 1 times in 7s: "
	                    "flag file missing\n");
	free(out);
	/* The table starts empty again. */
	kc_log(KC_LOG_WARNING, "flag file missing");
	out = take();
	assert_string_equal(out, "kubelet-checkpoint: warning: flag file missing\n");
	free(out);
}

static void test_events_never_limited(void **state)
{
	char *out;

	/* "activated x" twice is two activations: both must be in the log. */
	kc_log(KC_LOG_NOTICE, "activated x");
	kc_log(KC_LOG_NOTICE, "activated x");
	kc_log(KC_LOG_INFO, "checkpoint written: x");
	kc_log(KC_LOG_INFO, "checkpoint written: x");
	out = take();
	assert_int_equal(count_lines(out), 4);
	free(out);
}

static void test_debug_and_window_zero_not_limited(void **state)
{
	struct kc_log_opts opts = {
	    .verbosity = 1, .out = capture, .journald = 0, .repeat_window = 0, .clock = fake_clock};
	char *out;

	kc_log(KC_LOG_DEBUG, "hidden");
	kc_log_setup(&opts);
	kc_log(KC_LOG_ERR, "x");
	kc_log(KC_LOG_ERR, "x");
	opts.repeat_window = 60;
	kc_log_setup(&opts);
	kc_log(KC_LOG_DEBUG, "d");
	kc_log(KC_LOG_DEBUG, "d");
	out = take();
	assert_int_equal(count_lines(out), 4);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format_and_verbosity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journald_prefix_and_flattening, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_repeats_suppressed_then_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_level_and_text_distinguish, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interleaved_repeats_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_reports_only_expired_unless_all, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_eviction_reports_held_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setup_again_reports_held_repeats, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_never_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_debug_and_window_zero_not_limited, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
