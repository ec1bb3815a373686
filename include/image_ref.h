/*
 * image_ref.h: container image references as the kubelet reads them when it
 * chooses registry credentials: the repository it pulls (the normalised name
 * without tag or digest) and whether a credential provider's matchImages
 * entry covers it. Pure string work, no I/O.
 */
#ifndef KC_IMAGE_REF_H
#define KC_IMAGE_REF_H

#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"

/* Longest image reference handled (the API has no limit; longer is refused). */
#define IMAGE_REF_MAX 1024

/*
 * One matchImages entry of a kubelet image credential provider, with the
 * provider's name (for messages). Both strings belong to whoever made it.
 */
struct image_credential_rule {
	const char *provider;
	const char *match_image;
};

/*
 * The repository the kubelet pulls for image, as docker's reference
 * normalisation gives it (github.com/distribution/reference,
 * ParseNormalizedNamed, used through pkg/util/parsers ParseImageName):
 * "nginx:1" is "docker.io/library/nginx", "reg:5000/a/b@sha256:..." is
 * "reg:5000/a/b". KC_EINVAL for an empty, too long or malformed reference.
 */
kc_code image_ref_repository(const char *image, char *out, size_t size, struct kc_error *err);

/*
 * Does the matchImages glob cover repository (pkg/credentialprovider/
 * keyring.go, URLsMatchStr): same port, same number of host labels, each
 * label matched by the glob's label (filepath.Match: *, ?, [...]), and the
 * glob's path a string prefix of the repository's path.
 */
bool image_ref_glob_matches(const char *glob, const char *repository);

#endif
