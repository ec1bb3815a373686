/*
 * doc.h: the document codec. Jansson's json_t is the one in-memory form of
 * every Kubernetes object (Kubernetes itself turns YAML into JSON before it
 * decodes). JSON is read by Jansson; YAML is read through libyaml's event API
 * and written through libyaml's emitter.
 *
 * YAML scalars are typed as Kubernetes' YAML (go-yaml, YAML 1.1 rules) types
 * them: quoted -> string; plain -> null (~, null, empty), bool (true/false,
 * yes/no, on/off, y/n in their case forms), int (decimal, 0x, 0o, 0b, leading-0
 * octal, '_' separators), float (1e3, .5, .inf, .nan), else string. Duplicate
 * mapping keys are an error in both JSON and YAML. Aliases are expanded within
 * a hard node budget, so an alias bomb is an error, not an allocation.
 */
#ifndef KC_DOC_H
#define KC_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kc_buf.h"
#include "kc_error.h"

/* Largest input doc_parse accepts. */
#define DOC_MAX_INPUT (64u * 1024 * 1024)
/* Most nodes one stream may expand to (aliases included). */
#define DOC_MAX_NODES 2000000u
/* Deepest nesting accepted. */
#define DOC_MAX_DEPTH 256

/*
 * Parse a JSON or YAML stream (multi-document) into *docs, a new JSON array
 * holding each document in order; empty documents are skipped. JSON is chosen
 * when the first non-blank byte is '{' or '['; a JSON stream may hold several
 * concatenated values. Errors name source, the document number and the line.
 */
/* Is s one of the strings of the JSON array arr (non-strings never match)? */
bool doc_array_has_string(const json_t *arr, const char *s);

kc_code doc_parse(const char *data, size_t len, const char *source, json_t **docs,
                  struct kc_error *err);
kc_code doc_parse_json(const char *data, size_t len, const char *source, json_t **docs,
                       struct kc_error *err);
kc_code doc_parse_yaml(const char *data, size_t len, const char *source, json_t **docs,
                       struct kc_error *err);

enum doc_emit_flags {
	DOC_EMIT_SORT_KEYS = 1 << 0, /* sort mapping keys (canonical output) */
};

/*
 * Append doc to out as one YAML document in block style (no "---" marker, ends
 * in a newline). Strings that would read back as another type are quoted, so
 * doc_parse_yaml(doc_emit_yaml(x)) equals x.
 */
kc_code doc_emit_yaml(const json_t *doc, unsigned flags, struct kc_buf *out, struct kc_error *err);

/*
 * From now on, the chunks of freed Jansson trees serve the next tree (at most
 * 4 MiB kept; see doc_recycle.c). Process-wide: for a command that parses,
 * renders and frees documents one after another, never for the agent. Call
 * before the first Jansson allocation worth recycling. A no-op under
 * AddressSanitizer (DOC_RECYCLE_OFF): reuse would hide a use-after-free from it.
 */
void doc_recycle_allocations(void);
/* gcc says AddressSanitizer with __SANITIZE_ADDRESS__, clang with __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define DOC_RECYCLE_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOC_RECYCLE_OFF 1
#endif
#endif
/* Bytes the recycling lists hold now (tests). */
size_t doc_recycle_kept_bytes(void);

#endif
