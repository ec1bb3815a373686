/*
 * kc_error.h: the one error convention of kubelet-checkpoint.
 *
 * Every function that can fail returns a kc_code and, when given a non-NULL
 * struct kc_error, fills it with a message naming the file, object and field
 * involved. Callers add context with kc_error_prefix() as the error travels up,
 * so the final line reads like "pod.json: document 2: spec.volumes[1].name: ...".
 */
#ifndef KC_ERROR_H
#define KC_ERROR_H

#include <stddef.h>

typedef enum kc_code {
	KC_OK = 0,
	KC_EINVAL,             /* bad input: a document, a flag, a config value */
	KC_EIO,                /* a file system call failed */
	KC_ENOMEM,             /* allocation failed */
	KC_ETOOBIG,            /* input or output over a hard cap */
	KC_ECORRUPT,           /* a checkpoint failed verification */
	KC_ENOTFOUND,          /* a referenced file or object does not exist */
	KC_EINELIGIBLE,        /* a pod the agent must not checkpoint (mirror, finished...) */
	KC_ENOTCHECKPOINTABLE, /* eligible, but cannot be made self-contained */
	KC_ENET,               /* the apiserver could not be reached */
	KC_EAUTH,              /* the apiserver answered 401/403 */
	KC_EAGAIN,             /* try again later (nothing is wrong yet) */
	KC_EINTERNAL,          /* a bug: an invariant did not hold */
} kc_code;

#define KC_ERROR_MSG_MAX 1024

struct kc_error {
	kc_code code;
	char msg[KC_ERROR_MSG_MAX];
};

/* Record an error; returns code so callers can write "return kc_fail(...)". */
kc_code kc_fail(struct kc_error *err, kc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like kc_fail, appending ": strerror(errnum)". */
kc_code kc_fail_errno(struct kc_error *err, kc_code code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepend context ("<prefix>: ") to an existing message; returns err->code. */
kc_code kc_error_prefix(struct kc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void kc_error_clear(struct kc_error *err);

/* Short stable name of a code, e.g. "EINVAL", for logs and metrics. */
const char *kc_code_name(kc_code code);

/* Process exit status for a failed command: 2 for bad input, 1 otherwise. */
int kc_exit_status(kc_code code);

#endif
