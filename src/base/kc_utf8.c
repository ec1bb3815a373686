/*
 * kc_utf8.c: strict UTF-8 decoding in one place (see kc_utf8.h), for the
 * input check of the parsers, Go-style quoting, metrics label values and
 * the text test of Secret/ConfigMap values.
 */
#include "kc_utf8.h"

size_t kc_utf8_next(const unsigned char *s, size_t avail, uint32_t *cp)
{
	uint32_t v;
	size_t n, i;

	if (s[0] < 0x80)
		n = 1, v = s[0];
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, v = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, v = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, v = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms (2-byte ones are excluded by the lead byte), surrogates, past U+10FFFF. */
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = v;
	return n;
}

bool kc_utf8_is_text(const unsigned char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (s[i] == 0 || (n = kc_utf8_next(s + i, len - i, NULL)) == 0)
			return false;
		i += n;
	}
	return true;
}
