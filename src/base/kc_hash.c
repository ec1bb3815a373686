/*
 * kc_hash.c: FNV-1a 64 in one place (see kc_hash.h). The constants are the
 * published ones (Fowler/Noll/Vo): offset basis 14695981039346656037, prime
 * 2^40 + 2^8 + 0xb3 = 1099511628211.
 */
#include "kc_hash.h"

#define FNV1A64_PRIME 0x100000001b3ULL

uint64_t kc_fnv1a64_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV1A64_PRIME;
	}
	return h;
}

uint64_t kc_fnv1a64(const void *data, size_t len)
{
	return kc_fnv1a64_add(KC_FNV1A64_INIT, data, len);
}
