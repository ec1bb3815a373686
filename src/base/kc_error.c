/*
 * kc_error.c: filling and decorating struct kc_error (see kc_error.h).
 * Messages are truncated, never allocated, so reporting an out-of-memory
 * error cannot itself fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kc_error.h"

__attribute__((format(printf, 4, 0))) static kc_code vfail(struct kc_error *err, kc_code code,
                                                           int errnum, const char *fmt, va_list ap)
{
	size_t n;

	if (err == NULL)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (errnum != 0) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	}
	return code;
}

kc_code kc_fail(struct kc_error *err, kc_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

kc_code kc_fail_errno(struct kc_error *err, kc_code code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

kc_code kc_error_prefix(struct kc_error *err, const char *fmt, ...)
{
	char prefix[KC_ERROR_MSG_MAX], old[KC_ERROR_MSG_MAX];
	size_t n, m;
	va_list ap;

	if (err == NULL)
		return KC_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable here: the message is for people. */
	n = strlen(prefix);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	n += 2;
	m = strlen(old);
	if (m > sizeof(err->msg) - 1 - n)
		m = sizeof(err->msg) - 1 - n;
	memcpy(err->msg + n, old, m);
	err->msg[n + m] = '\0';
	return err->code;
}

void kc_error_clear(struct kc_error *err)
{
	if (err == NULL)
		return;
	err->code = KC_OK;
	err->msg[0] = '\0';
}

const char *kc_code_name(kc_code code)
{
	static const char *const names[] = {
	    [KC_OK] = "OK",
	    [KC_EINVAL] = "EINVAL",
	    [KC_EIO] = "EIO",
	    [KC_ENOMEM] = "ENOMEM",
	    [KC_ETOOBIG] = "ETOOBIG",
	    [KC_ECORRUPT] = "ECORRUPT",
	    [KC_ENOTFOUND] = "ENOTFOUND",
	    [KC_EINELIGIBLE] = "EINELIGIBLE",
	    [KC_ENOTCHECKPOINTABLE] = "ENOTCHECKPOINTABLE",
	    [KC_ENET] = "ENET",
	    [KC_EAUTH] = "EAUTH",
	    [KC_EAGAIN] = "EAGAIN",
	    [KC_EINTERNAL] = "EINTERNAL",
	};

	if ((size_t)code >= sizeof(names) / sizeof(names[0]) || names[code] == NULL)
		return "EUNKNOWN";
	return names[code];
}

int kc_exit_status(kc_code code)
{
	switch (code) {
	case KC_OK:
		return 0;
	case KC_EINVAL:
	case KC_ETOOBIG:
	case KC_EINELIGIBLE:
	case KC_ENOTCHECKPOINTABLE:
	case KC_ENOTFOUND:
		return 2;
	default:
		return 1;
	}
}
