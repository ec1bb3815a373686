/*
 * base64.c: strict standard base64 decoding (see base64.h). Strict because a
 * silently mangled CA or Secret is worse than a clear error.
 */
#include <stdlib.h>

#include "base64.h"

static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

kc_code base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen,
                      struct kc_error *err)
{
	unsigned char *buf;
	unsigned long acc = 0;
	size_t i, n = 0, quad = 0, pad = 0;
	const char *what = NULL;
	int v;

	if ((buf = malloc(BASE64_DECODED_MAX(len) + 1)) == NULL)
		return kc_fail(err, KC_ENOMEM, "base64: out of memory");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			/* Padding fills only the last one or two places of the final quad. */
			if (quad < 2) {
				what = "misplaced '='";
				break;
			}
			pad++;
			v = 0;
		} else if (pad > 0) {
			what = "data after '='";
			break;
		} else if ((v = sextet(c)) < 0) {
			what = "invalid character";
			break;
		}
		acc = acc << 6 | (unsigned long)v;
		if (++quad == 4) {
			buf[n++] = (unsigned char)(acc >> 16);
			if (pad < 2)
				buf[n++] = (unsigned char)(acc >> 8);
			if (pad < 1)
				buf[n++] = (unsigned char)acc;
			quad = 0;
			acc = 0;
		}
	}
	if (what == NULL && quad != 0) {
		what = "truncated input (length not a multiple of 4)";
		i = len;
	}
	if (what != NULL) {
		free(buf);
		return kc_fail(err, KC_EINVAL, "base64: %s at offset %zu", what, i);
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return KC_OK;
}
