/*
 * credential_providers.h: which of the kubelet's image credential providers
 * send the pod's ServiceAccount token (KEP-4412, beta and on by default from
 * 1.34), read from its --image-credential-provider-config. An image such a
 * provider pulled is recorded for that ServiceAccount (KEP-2535), and a
 * bridge has none: the kubelet must pull again, which fails offline. The
 * render layer's bridge warnings use the result (bridge_warnings.h).
 *
 * The file (or, as the kubelet reads a directory, every *.json, *.yaml and
 * *.yml in it in lexical order: pkg/credentialprovider/plugin/config.go,
 * readCredentialProviderConfig) is a CredentialProviderConfig; a provider
 * sends the token when its tokenAttributes.serviceAccountTokenAudience is set
 * (plugin.go, newServiceAccountProvider).
 */
#ifndef KC_CREDENTIAL_PROVIDERS_H
#define KC_CREDENTIAL_PROVIDERS_H

#include <stddef.h>

#include "image_ref.h"
#include "kc_error.h"

/* Caps on what one configuration may make us hold. */
#define CREDENTIAL_PROVIDER_FILES_MAX 64
#define CREDENTIAL_PROVIDER_RULES_MAX 256

struct credential_providers {
	/* matchImages of the providers that send the ServiceAccount token; owned */
	struct image_credential_rule *sa_token_rules;
	size_t count;
};

/*
 * Read path (a file or a directory). KC_ENOTFOUND when it does not exist;
 * KC_EINVAL for a file that is not a CredentialProviderConfig or over the
 * caps, naming the file and field. out is empty on any error.
 */
kc_code credential_providers_read(const char *path, struct credential_providers *out,
                                  struct kc_error *err);

void credential_providers_free(struct credential_providers *cp);

#endif
