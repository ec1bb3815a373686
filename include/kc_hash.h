/*
 * kc_hash.h: FNV-1a 64, the one non-cryptographic hash of the program: the
 * checksum in each checkpoint file's header line, the signature of a
 * decision's output and the log's repeat detector. Not for security: a
 * checkpoint is trusted because only root can write the state dir.
 */
#ifndef KC_HASH_H
#define KC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The FNV-1a 64 offset basis: the hash of no bytes. */
#define KC_FNV1A64_INIT 0xcbf29ce484222325ULL

/* FNV-1a 64 of data[0..len). */
uint64_t kc_fnv1a64(const void *data, size_t len);

/* Continue hash h (KC_FNV1A64_INIT to start) over data[0..len). */
uint64_t kc_fnv1a64_add(uint64_t h, const void *data, size_t len);

#endif
