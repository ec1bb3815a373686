/*
 * credential_providers.c: the kubelet's image credential providers that send
 * the pod's ServiceAccount token (credential_providers.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "credential_providers.h"
#include "doc.h"
#include "kc_buf.h"
#include "kc_path.h"
#include "kubelet_discovery.h"

void credential_providers_free(struct credential_providers *cp)
{
	size_t i;

	for (i = 0; i < cp->count; i++) {
		free((char *)cp->sa_token_rules[i].provider);
		free((char *)cp->sa_token_rules[i].match_image);
	}
	free(cp->sa_token_rules);
	cp->sa_token_rules = NULL;
	cp->count = 0;
}

static kc_code add_rule(struct credential_providers *cp, const char *provider, const char *glob,
                        const char *file, struct kc_error *err)
{
	struct image_credential_rule *r;

	if (cp->count == CREDENTIAL_PROVIDER_RULES_MAX)
		return kc_fail(err, KC_EINVAL, "%s: more than %d matchImages of token providers",
		               file, CREDENTIAL_PROVIDER_RULES_MAX);
	if (cp->count % 16 == 0) {
		r = realloc(cp->sa_token_rules, (cp->count + 16) * sizeof(*r));
		if (r == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		cp->sa_token_rules = r;
	}
	r = &cp->sa_token_rules[cp->count];
	r->provider = strdup(provider);
	r->match_image = strdup(glob);
	if (r->provider == NULL || r->match_image == NULL) {
		free((char *)r->provider);
		free((char *)r->match_image);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	cp->count++;
	return KC_OK;
}

/* A non-empty string without NUL bytes, else NULL. */
static const char *plain_string(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && s[0] != '\0' && strlen(s) == json_string_length(v) ? s : NULL;
}

static kc_code read_provider(struct credential_providers *cp, const json_t *p, size_t i,
                             const char *file, struct kc_error *err)
{
	const json_t *images = json_object_get(p, "matchImages"), *g;
	const char *name = plain_string(json_object_get(p, "name"));
	kc_code rc;
	size_t j;

	/* Only a provider that sends the token matters here. */
	if (plain_string(json_object_get(json_object_get(p, "tokenAttributes"),
	                                 "serviceAccountTokenAudience")) == NULL)
		return KC_OK;
	if (name == NULL || !json_is_array(images))
		return kc_fail(err, KC_EINVAL, "%s: providers[%zu]: needs a name and matchImages",
		               file, i);
	json_array_foreach(images, j, g)
	{
		if (plain_string(g) == NULL)
			return kc_fail(err, KC_EINVAL,
			               "%s: providers[%zu].matchImages[%zu]: expected a string",
			               file, i, j);
		if ((rc = add_rule(cp, name, plain_string(g), file, err)) != KC_OK)
			return rc;
	}
	return KC_OK;
}

static kc_code read_file(struct credential_providers *cp, const char *file, struct kc_error *err)
{
	const json_t *doc, *kind, *providers, *p;
	json_t *docs = NULL;
	struct kc_buf buf;
	size_t i;
	kc_code rc;

	kc_buf_init(&buf, KUBELET_CONFIG_MAX);
	if ((rc = kc_buf_read_file(&buf, file, err)) != KC_OK ||
	    (rc = doc_parse(buf.data, buf.len, file, &docs, err)) != KC_OK)
		goto out;
	doc = json_array_get(docs, 0);
	kind = json_object_get(doc, "kind");
	providers = json_object_get(doc, "providers");
	if (json_array_size(docs) != 1 || !json_is_object(doc) ||
	    (kind != NULL && (!json_is_string(kind) ||
	                      strcmp(json_string_value(kind), "CredentialProviderConfig") != 0)) ||
	    !json_is_array(providers)) {
		rc = kc_fail(err, KC_EINVAL,
		             "%s: expected one CredentialProviderConfig with providers", file);
		goto out;
	}
	json_array_foreach(providers, i, p)
	{
		if ((rc = read_provider(cp, p, i, file, err)) != KC_OK)
			goto out;
	}
out:
	json_decref(docs);
	kc_buf_free(&buf);
	return rc;
}

static bool is_config_name(const char *name)
{
	static const char *const exts[] = {".json", ".yaml", ".yml"};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot != NULL && i < sizeof(exts) / sizeof(exts[0]); i++)
		if (strcmp(dot, exts[i]) == 0)
			return true;
	return false;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The config files of dir, sorted; *n of them in *names (to free). */
static kc_code list_dir(const char *dir, char ***names, size_t *n, struct kc_error *err)
{
	struct dirent *de;
	struct stat st;
	char *file;
	DIR *d;
	kc_code rc = KC_OK;

	*names = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return kc_fail_errno(err, KC_EIO, errno, "%s", dir);
	while (rc == KC_OK && (de = readdir(d)) != NULL) {
		if (!is_config_name(de->d_name))
			continue;
		if ((rc = kc_path_join(dir, de->d_name, &file, err)) != KC_OK)
			break;
		if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
			free(file);
		else if (*n == CREDENTIAL_PROVIDER_FILES_MAX) {
			free(file);
			rc = kc_fail(err, KC_EINVAL, "%s: more than %d configuration files", dir,
			             CREDENTIAL_PROVIDER_FILES_MAX);
		} else {
			if (*n == 0 && (*names = calloc(CREDENTIAL_PROVIDER_FILES_MAX,
			                                sizeof(char *))) == NULL) {
				free(file);
				rc = kc_fail(err, KC_ENOMEM, "out of memory");
				break;
			}
			(*names)[(*n)++] = file;
		}
	}
	closedir(d);
	if (*n > 0)
		qsort(*names, *n, sizeof(char *), compare_names);
	return rc;
}

kc_code credential_providers_read(const char *path, struct credential_providers *out,
                                  struct kc_error *err)
{
	char **files = NULL;
	size_t n = 0, i;
	struct stat st;
	kc_code rc;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st) != 0)
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno, "%s",
		                     path);
	if (!S_ISDIR(st.st_mode))
		rc = read_file(out, path, err);
	else if ((rc = list_dir(path, &files, &n, err)) == KC_OK)
		for (i = 0; i < n && rc == KC_OK; i++)
			rc = read_file(out, files[i], err);
	for (i = 0; i < n; i++)
		free(files[i]);
	free(files);
	if (rc != KC_OK)
		credential_providers_free(out);
	return rc;
}
