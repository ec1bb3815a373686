/*
 * fuzz_kubeconfig.c: libFuzzer target for kubeconfig_parse. Whatever the
 * input, it either resolves to a usable connection description (an absolute
 * https/http server URL, a client certificate exactly when there is a key) or
 * fails with a real error; it never crashes, leaks or reads past the input.
 * Relative file references resolve under a directory that does not exist, so
 * the target never reads the machine's files.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int has_pem(const struct kubeconfig_pem *p)
{
	return p->path != NULL || p->data != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig *kc = NULL;
	struct kc_error err;

	if (kubeconfig_parse((const char *)data, size, "/nonexistent-fuzz/kubeconfig", &kc, &err) !=
	    KC_OK) {
		FUZZ_ASSERT(kc == NULL, "a failed parse returned a config");
		FUZZ_ASSERT(err.code != KC_OK && err.msg[0] != '\0', "an error without a message");
		return 0;
	}
	FUZZ_ASSERT(kc->server != NULL, "no server");
	FUZZ_ASSERT(strncmp(kc->server, "https://", 8) == 0 ||
	                strncmp(kc->server, "http://", 7) == 0,
	            "server is not an absolute URL");
	FUZZ_ASSERT(has_pem(&kc->client_cert) == has_pem(&kc->client_key),
	            "a client certificate without its key, or the reverse");
	kubeconfig_free(kc);
	return 0;
}
