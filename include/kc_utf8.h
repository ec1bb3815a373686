/*
 * kc_utf8.h: the one UTF-8 decoder. Strict, as Go's unicode/utf8 (what the
 * apiserver and the kubelet use): overlong forms, UTF-16 surrogates and code
 * points past U+10FFFF are not UTF-8.
 */
#ifndef KC_UTF8_H
#define KC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length (1 to 4) of the valid UTF-8 sequence at s[0..avail), avail >= 1, or
 * 0 when s does not start with one. *cp (NULL allowed) gets its code point.
 */
size_t kc_utf8_next(const unsigned char *s, size_t avail, uint32_t *cp);

/* True when s[0..len) is UTF-8 without NUL bytes (fit for a YAML string). */
bool kc_utf8_is_text(const unsigned char *s, size_t len);

#endif
