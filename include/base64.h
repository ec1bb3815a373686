/*
 * base64.h: strict standard base64 (RFC 4648 section 4, with padding) as Go's
 * encoding/json reads []byte fields: kubeconfig *-data and Secret data.
 * CR and LF are skipped; any other byte outside the alphabet, bad padding or
 * a length that is not a multiple of 4 is an error. Like Go's StdEncoding
 * (not Strict), non-zero bits under the padding are accepted.
 */
#ifndef KC_BASE64_H
#define KC_BASE64_H

#include <stddef.h>

#include "kc_error.h"

/* Bytes needed to decode len input bytes (an upper bound). */
#define BASE64_DECODED_MAX(len) (((len) / 4 + 1) * 3)

/*
 * Decode in[0..len) into a new malloc'd buffer *out (NUL-terminated, *outlen
 * excludes the NUL). On error nothing is allocated and the message says at
 * which offset the input went wrong.
 */
kc_code base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen,
                      struct kc_error *err);

#endif
