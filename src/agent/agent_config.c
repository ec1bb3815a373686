/*
 * agent_config.c: run's flags, its config file and the resolution of what
 * neither gives (see agent_config.h). One table describes every setting; the
 * flag parser, the config file reader, the defaults and the log all walk it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_config.h"
#include "agent_kubelet.h"
#include "doc.h"
#include "k8s_validate.h"
#include "kc_buf.h"
#include "kc_log.h"
#include "kc_names.h"
#include "kc_path.h"

enum value_type {
	VT_PATH,       /* char *: a non-empty path, made absolute */
	VT_NODE_NAME,  /* char *: an RFC 1123 subdomain */
	VT_ENDPOINT,   /* char *: a CRI endpoint, "unix:///abs/path" or "/abs/path" */
	VT_SECONDS,    /* unsigned: whole seconds in [min, AGENT_MAX_SECONDS] */
	VT_ANNOTATION, /* struct agent_strlist of annotation keys */
	VT_NAMESPACE,  /* struct agent_strlist of namespaces or "*" */
	VT_VERBOSITY,  /* int: 0..AGENT_MAX_VERBOSITY */
	VT_BOOL,       /* bool: a flag without value, true/false in the file */
};

#define AGENT_MAX_VERBOSITY 10

struct setting_def {
	enum agent_setting id; /* equals the index in settings[] */
	const char *flag;
	const char *key;
	enum value_type type;
	size_t offset;           /* of the field in struct agent_config */
	const char *default_str; /* NULL: no static default (resolved, or none) */
	unsigned default_num;
	unsigned min;
	const char *arg; /* for usage */
	const char *help;
	const char *suffix; /* a path must end in this (NULL: any) */
};

#define FIELD(f) offsetof(struct agent_config, f)

static const struct setting_def settings[AGENT_SETTING_COUNT] = {
    {.id = AGENT_KUBECONFIG,
     .flag = "kubeconfig",
     .key = "kubeconfig",
     .type = VT_PATH,
     .offset = FIELD(kubeconfig),
     .arg = "FILE",
     .help =
         "kubeconfig to reach the API (kubelet's --kubeconfig, else " AGENT_DEFAULT_KUBECONFIG ")"},
    {.id = AGENT_NODE_NAME,
     .flag = "node-name",
     .key = "nodeName",
     .type = VT_NODE_NAME,
     .offset = FIELD(node_name),
     .arg = "NAME",
     .help = "this node (kubelet's --hostname-override, else the host name)"},
    {.id = AGENT_KUBELET_CONFIG,
     .flag = "kubelet-config",
     .key = "kubeletConfig",
     .type = VT_PATH,
     .offset = FIELD(kubelet_config),
     .arg = "FILE",
     .help =
         "KubeletConfiguration file (kubelet's --config, else " AGENT_DEFAULT_KUBELET_CONFIG ")"},
    {.id = AGENT_STATIC_POD_PATH,
     .flag = "static-pod-path",
     .key = "staticPodPath",
     .type = VT_PATH,
     .offset = FIELD(static_pod_path),
     .arg = "DIR",
     .help = "the kubelet's static pod directory (its --pod-manifest-path, else staticPodPath "
             "of its config, else " AGENT_DEFAULT_STATIC_POD_PATH ")"},
    {.id = AGENT_STATE_DIR,
     .flag = "state-dir",
     .key = "stateDir",
     .type = VT_PATH,
     .offset = FIELD(state_dir),
     .default_str = KC_DEFAULT_STATE_DIR,
     .arg = "DIR",
     .help = "checkpoints and materialised volumes"},
    {.id = AGENT_FLAG_FILE,
     .flag = "flag-file",
     .key = "flagFile",
     .type = VT_PATH,
     .offset = FIELD(flag_file),
     .default_str = AGENT_DEFAULT_FLAG_FILE,
     .arg = "FILE",
     .help = "present = bridge enabled"},
    {.id = AGENT_CGROUP_ROOT,
     .flag = "cgroup-root",
     .key = "cgroupRoot",
     .type = VT_PATH,
     .offset = FIELD(cgroup_root),
     .default_str = AGENT_DEFAULT_CGROUP_ROOT,
     .arg = "DIR",
     .help = "where the kubelet's pod cgroups are"},
    {.id = AGENT_CONTAINER_RUNTIME_ENDPOINT,
     .flag = "container-runtime-endpoint",
     .key = "containerRuntimeEndpoint",
     .type = VT_ENDPOINT,
     .offset = FIELD(container_runtime_endpoint),
     .arg = "ENDPOINT",
     .help = "the container runtime's CRI socket, asked which pods run (kubelet's "
             "--container-runtime-endpoint or containerRuntimeEndpoint, "
             "else " AGENT_DEFAULT_RUNTIME_ENDPOINT ")"},
    {.id = AGENT_UNREACHABLE_AFTER,
     .flag = "unreachable-after",
     .key = "unreachableAfter",
     .type = VT_SECONDS,
     .offset = FIELD(unreachable_after),
     .default_num = AGENT_DEFAULT_UNREACHABLE_AFTER,
     .min = 1,
     .arg = "SECONDS",
     .help = "failing this long makes the API unreachable"},
    {.id = AGENT_REACHABLE_AFTER,
     .flag = "reachable-after",
     .key = "reachableAfter",
     .type = VT_SECONDS,
     .offset = FIELD(reachable_after),
     .default_num = AGENT_DEFAULT_REACHABLE_AFTER,
     .min = 1,
     .arg = "SECONDS",
     .help = "succeeding this long makes it reachable again"},
    {.id = AGENT_GC_GRACE,
     .flag = "gc-grace",
     .key = "gcGrace",
     .type = VT_SECONDS,
     .offset = FIELD(gc_grace),
     .default_num = AGENT_DEFAULT_GC_GRACE,
     .min = 0,
     .arg = "SECONDS",
     .help = "a checkpoint outlives its deleted or ineligible parent this long"},
    {.id = AGENT_HANDOFF_TIMEOUT,
     .flag = "handoff-timeout",
     .key = "handoffTimeout",
     .type = VT_SECONDS,
     .offset = FIELD(handoff_timeout),
     .default_num = AGENT_DEFAULT_HANDOFF_TIMEOUT,
     .min = 1,
     .arg = "SECONDS",
     .help = "a bridge whose parent never got a container while the same cluster's API "
             "answered this long is withdrawn"},
    {.id = AGENT_STARTUP_SPREAD,
     .flag = "startup-spread",
     .key = "startupSpread",
     .type = VT_SECONDS,
     .offset = FIELD(startup_spread),
     .default_num = AGENT_DEFAULT_STARTUP_SPREAD,
     .min = 0,
     .arg = "SECONDS",
     .help = "the first API contact waits a random 0..SECONDS, so a fleet restarting at "
             "once does not land on the apiserver in the same second"},
    {.id = AGENT_BRIDGE_START_TIMEOUT,
     .flag = "bridge-start-timeout",
     .key = "bridgeStartTimeout",
     .type = VT_SECONDS,
     .offset = FIELD(bridge_start_timeout),
     .default_num = AGENT_DEFAULT_BRIDGE_START,
     .min = 1,
     .arg = "SECONDS",
     .help = "a bridge with no running sandbox this long after it was written is reported "
             "as not running (needs the container runtime)"},
    {.id = AGENT_BRIDGE_GRACE_PERIOD,
     .flag = "bridge-grace-period",
     .key = "bridgeGracePeriod",
     .type = VT_SECONDS,
     .offset = FIELD(bridge_grace_period),
     .default_num = AGENT_DEFAULT_BRIDGE_GRACE,
     .min = 0,
     .arg = "SECONDS",
     .help = "cap of a bridge's terminationGracePeriodSeconds, so a withdrawn bridge frees "
             "the node (ports, CPU) for its parent quickly"},
    {.id = AGENT_STATUS_FILE,
     .flag = "status-file",
     .key = "statusFile",
     .type = VT_PATH,
     .offset = FIELD(status_file),
     .default_str = AGENT_DEFAULT_STATUS_FILE,
     .arg = "FILE",
     .help = "where the agent publishes its status"},
    /* node_exporter's textfile collector reads nothing but *.prom. */
    {.id = AGENT_METRICS_FILE,
     .flag = "metrics-file",
     .key = "metricsFile",
     .type = VT_PATH,
     .offset = FIELD(metrics_file),
     .suffix = ".prom",
     .arg = "FILE",
     .help = "Prometheus textfile-collector output, *.prom (default: none)"},
    {.id = AGENT_ANNOTATION,
     .flag = "annotation",
     .key = "annotation",
     .type = VT_ANNOTATION,
     .offset = FIELD(annotations),
     .default_str = KC_DEFAULT_TRIGGER_ANNOTATION,
     .arg = "KEY",
     .help =
         "trigger annotation, value \"true\" (repeatable; default " KC_DEFAULT_TRIGGER_ANNOTATION
         ")"},
    {.id = AGENT_NAMESPACE,
     .flag = "namespace",
     .key = "namespace",
     .type = VT_NAMESPACE,
     .offset = FIELD(namespaces),
     .default_str = AGENT_DEFAULT_NAMESPACE,
     .arg = "NS",
     .help = "allowed namespace (repeatable; default " AGENT_DEFAULT_NAMESPACE ", * = all)"},
    {.id = AGENT_VERBOSITY,
     .flag = "verbosity",
     .key = "verbosity",
     .type = VT_VERBOSITY,
     .offset = FIELD(verbosity),
     .arg = "N",
     .help = "log level: 0 info, 1 or more debug (-v adds one)"},
    /* Plain http sends the node's token in clear and trusts any answer (issue 9). */
    {.id = AGENT_ALLOW_INSECURE_HTTP,
     .flag = "allow-insecure-http",
     .key = "allowInsecureHttp",
     .type = VT_BOOL,
     .offset = FIELD(allow_insecure_http),
     .arg = "",
     .help = "let a kubeconfig given with --kubeconfig name an http:// server (warned at "
             "every start; never for a kubeconfig found from the kubelet)"},
};

/* getopt_long values of the options that are not settings. */
enum {
	OPT_CONFIG = 1000,
	OPT_OPTIONAL_CONFIG,
	OPT_SETTING_BASE = 2000, /* + enum agent_setting */
};

static const char *const source_names[] = {
    [AGENT_SRC_DEFAULT] = "default",
    [AGENT_SRC_FLAG] = "flag",
    [AGENT_SRC_CONFIG_FILE] = "config file",
    [AGENT_SRC_KUBELET_CMDLINE] = "kubelet cmdline",
    [AGENT_SRC_KUBELET_CONFIG] = "kubelet config",
    [AGENT_SRC_HOSTNAME] = "host name",
};

const char *agent_setting_flag(enum agent_setting s)
{
	return (unsigned)s < AGENT_SETTING_COUNT ? settings[s].flag : "?";
}

const char *agent_setting_key(enum agent_setting s)
{
	return (unsigned)s < AGENT_SETTING_COUNT ? settings[s].key : "?";
}

const char *agent_source_name(enum agent_source src)
{
	return (unsigned)src < sizeof(source_names) / sizeof(source_names[0]) ? source_names[src]
	                                                                      : "?";
}

static char **str_field(struct agent_config *cfg, const struct setting_def *d)
{
	return (char **)((char *)cfg + d->offset);
}

static unsigned *num_field(struct agent_config *cfg, const struct setting_def *d)
{
	return (unsigned *)((char *)cfg + d->offset);
}

static int *int_field(struct agent_config *cfg, const struct setting_def *d)
{
	return (int *)((char *)cfg + d->offset);
}

static bool *bool_field(struct agent_config *cfg, const struct setting_def *d)
{
	return (bool *)((char *)cfg + d->offset);
}

static struct agent_strlist *list_field(struct agent_config *cfg, const struct setting_def *d)
{
	return (struct agent_strlist *)((char *)cfg + d->offset);
}

static void strlist_clear(struct agent_strlist *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

/* Append s unless the list holds it already. */
static kc_code strlist_add(struct agent_strlist *l, const char *s, struct kc_error *err)
{
	char **grown, *copy;
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->items[i], s) == 0)
			return KC_OK;
	if ((copy = strdup(s)) == NULL ||
	    (grown = realloc(l->items, (l->len + 1) * sizeof(*grown))) == NULL) {
		free(copy);
		return kc_fail(err, KC_ENOMEM, "out of memory");
	}
	grown[l->len++] = copy;
	l->items = grown;
	return KC_OK;
}

/* Bytes a setting's value takes in struct agent_config. */
static size_t value_size(const struct setting_def *d)
{
	switch (d->type) {
	case VT_SECONDS:
		return sizeof(unsigned);
	case VT_VERBOSITY:
		return sizeof(int);
	case VT_BOOL:
		return sizeof(bool);
	case VT_ANNOTATION:
	case VT_NAMESPACE:
		return sizeof(struct agent_strlist);
	default:
		return sizeof(char *);
	}
}

/* Free what cfg holds for d and leave it zero. */
static void release_setting(struct agent_config *cfg, const struct setting_def *d)
{
	if (d->type == VT_PATH || d->type == VT_NODE_NAME || d->type == VT_ENDPOINT)
		free(*str_field(cfg, d));
	else if (d->type == VT_ANNOTATION || d->type == VT_NAMESPACE)
		strlist_clear(list_field(cfg, d));
	memset((char *)cfg + d->offset, 0, value_size(d));
}

/* Move d's value from src to dst, releasing what dst held. */
static void move_setting(struct agent_config *dst, struct agent_config *src,
                         const struct setting_def *d)
{
	release_setting(dst, d);
	memcpy((char *)dst + d->offset, (char *)src + d->offset, value_size(d));
	memset((char *)src + d->offset, 0, value_size(d));
}

void agent_config_free(struct agent_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		release_setting(cfg, &settings[i]);
	free(cfg->config_file);
	free(cfg->kubelet_cgroup_root);
	free(cfg->kubelet_cgroup_driver);
	free(cfg->kubelet_image_credential_provider_config);
	free(cfg);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0 && s[n - m - 1] != '/';
}

/* Validation of single values; messages are prefixed with the flag or key by the caller. */

static kc_code check_seconds(long long v, const struct setting_def *d, struct kc_error *err)
{
	if (v < (long long)d->min || v > (long long)AGENT_MAX_SECONDS)
		return kc_fail(err, KC_EINVAL, "%lld: must be between %u and %u seconds", v, d->min,
		               AGENT_MAX_SECONDS);
	return KC_OK;
}

/* Decimal digits only: "30s", "-1", " 5" and "0x10" are mistakes worth reporting. */
static kc_code parse_count(const char *text, long long max, long long *out, struct kc_error *err)
{
	long long v = 0;
	const char *p;

	if (*text == '\0')
		return kc_fail(err, KC_EINVAL, "must not be empty");
	for (p = text; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return kc_fail(err, KC_EINVAL, "\"%s\": expected a whole number", text);
		v = v * 10 + (*p - '0');
		if (v > max)
			return kc_fail(err, KC_EINVAL, "\"%s\": too large (at most %lld)", text,
			               max);
	}
	*out = v;
	return KC_OK;
}

/* An annotation key: [prefix/]name, prefix a DNS subdomain, name as IsQualifiedName. */
static kc_code check_annotation_key(const char *s, struct kc_error *err)
{
	const char *slash = strchr(s, '/'), *name = slash != NULL ? slash + 1 : s;
	size_t n = strlen(name), i;
	char *prefix;
	kc_code rc;

	if (slash != NULL) {
		if ((prefix = strndup(s, (size_t)(slash - s))) == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		rc = k8s_check_dns_subdomain(prefix, err);
		free(prefix);
		if (rc != KC_OK)
			return kc_error_prefix(err, "\"%s\": prefix", s);
	}
	if (n == 0 || n > 63)
		return kc_fail(err, KC_EINVAL, "\"%s\": name part must be 1 to 63 characters", s);
	for (i = 0; i < n; i++) {
		bool edge = i == 0 || i == n - 1;

		if (!isalnum((unsigned char)name[i]) &&
		    (edge || (name[i] != '-' && name[i] != '_' && name[i] != '.')))
			return kc_fail(err, KC_EINVAL,
			               "\"%s\": not a valid annotation key (alphanumerics, '-', "
			               "'_', '.', beginning and ending alphanumeric)",
			               s);
	}
	return KC_OK;
}

static kc_code check_namespace(const char *s, struct kc_error *err)
{
	if (strcmp(s, "*") == 0)
		return KC_OK;
	return k8s_check_dns_label(s, err); /* the message quotes the value */
}

static kc_code check_list_item(const struct setting_def *d, const char *s, struct kc_error *err)
{
	return d->type == VT_ANNOTATION ? check_annotation_key(s, err) : check_namespace(s, err);
}

/*
 * Store one string value of a setting (a path, a node name, or one list
 * item). base anchors a relative path: the cwd for flags, the config file's
 * directory for the file. A flag appends to a list the flags started; a file
 * replaces the list as a whole (the caller clears it first).
 */
static kc_code store_string(struct agent_config *cfg, const struct setting_def *d,
                            const char *value, const char *base, struct kc_error *err)
{
	char **slot, *copy;
	kc_code rc;

	switch (d->type) {
	case VT_PATH:
		if (value[0] == '\0')
			return kc_fail(err, KC_EINVAL, "must not be empty");
		if (d->suffix != NULL && !has_suffix(value, d->suffix))
			return kc_fail(err, KC_EINVAL, "%s: must end in \"%s\"", value, d->suffix);
		if ((rc = kc_path_join(base, value, &copy, err)) != KC_OK)
			return rc;
		break;
	case VT_ENDPOINT:
		if ((rc = agent_kubelet_check_endpoint(value, err)) != KC_OK)
			return rc;
		if ((copy = strdup(value)) == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		break;
	case VT_NODE_NAME:
		if ((rc = k8s_check_dns_subdomain(value, err)) != KC_OK)
			return rc; /* the message quotes the value */
		if ((copy = strdup(value)) == NULL)
			return kc_fail(err, KC_ENOMEM, "out of memory");
		break;
	case VT_ANNOTATION:
	case VT_NAMESPACE:
		if ((rc = check_list_item(d, value, err)) != KC_OK)
			return rc;
		return strlist_add(list_field(cfg, d), value, err);
	default:
		return kc_fail(err, KC_EINTERNAL, "setting %s is not a string", d->key);
	}
	slot = str_field(cfg, d);
	free(*slot);
	*slot = copy;
	return KC_OK;
}

/* A flag's text value. */
static kc_code set_from_flag(struct agent_config *cfg, const struct setting_def *d,
                             const char *text, const char *cwd, struct kc_error *err)
{
	long long v;
	kc_code rc = KC_OK;

	if ((d->type == VT_ANNOTATION || d->type == VT_NAMESPACE) &&
	    cfg->source[d->id] != AGENT_SRC_FLAG)
		strlist_clear(list_field(cfg, d)); /* the first flag replaces the default */
	switch (d->type) {
	case VT_SECONDS:
		if ((rc = parse_count(text, AGENT_MAX_SECONDS, &v, err)) != KC_OK ||
		    (rc = check_seconds(v, d, err)) != KC_OK)
			break;
		*num_field(cfg, d) = (unsigned)v;
		break;
	case VT_VERBOSITY:
		if ((rc = parse_count(text, AGENT_MAX_VERBOSITY, &v, err)) == KC_OK)
			*int_field(cfg, d) = (int)v;
		break;
	case VT_BOOL:
		/* --flag or --flag=true|false */
		if (text == NULL || strcmp(text, "true") == 0)
			*bool_field(cfg, d) = true;
		else if (strcmp(text, "false") == 0)
			*bool_field(cfg, d) = false;
		else
			rc = kc_fail(err, KC_EINVAL, "\"%s\": expected true or false", text);
		break;
	default:
		rc = store_string(cfg, d, text, cwd, err);
	}
	if (rc != KC_OK)
		return kc_error_prefix(err, "--%s", d->flag);
	cfg->source[d->id] = AGENT_SRC_FLAG;
	return KC_OK;
}

/* The text of one JSON string, refusing embedded NULs. */
static kc_code json_text(json_t *v, const char *what, const char **out, struct kc_error *err)
{
	if (!json_is_string(v))
		return kc_fail(err, KC_EINVAL, "expected %s", what);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return kc_fail(err, KC_EINVAL, "contains a NUL byte");
	*out = json_string_value(v);
	return KC_OK;
}

/*
 * A config file value, validated into scratch first: a bad value is an error
 * even when a flag overrides it, and a value a flag overrides is dropped.
 */
static kc_code set_from_file(struct agent_config *cfg, const struct setting_def *d, json_t *v,
                             const char *dir, struct kc_error *err)
{
	struct agent_config scratch = {0};
	const char *text;
	json_t *item;
	size_t i;
	kc_code rc = KC_OK;

	switch (d->type) {
	case VT_SECONDS:
		if (!json_is_integer(v))
			rc = kc_fail(err, KC_EINVAL, "expected a whole number of seconds");
		else if ((rc = check_seconds(json_integer_value(v), d, err)) == KC_OK)
			*num_field(&scratch, d) = (unsigned)json_integer_value(v);
		break;
	case VT_VERBOSITY:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > AGENT_MAX_VERBOSITY)
			rc = kc_fail(err, KC_EINVAL, "expected a whole number from 0 to %d",
			             AGENT_MAX_VERBOSITY);
		else
			*int_field(&scratch, d) = (int)json_integer_value(v);
		break;
	case VT_BOOL:
		if (!json_is_boolean(v))
			rc = kc_fail(err, KC_EINVAL, "expected true or false");
		else
			*bool_field(&scratch, d) = json_is_true(v);
		break;
	case VT_ANNOTATION:
	case VT_NAMESPACE:
		if (json_is_string(v)) {
			rc = json_text(v, "a string", &text, err);
			if (rc == KC_OK)
				rc = store_string(&scratch, d, text, dir, err);
			break;
		}
		if (!json_is_array(v) || json_array_size(v) == 0) {
			rc = kc_fail(err, KC_EINVAL, "expected a non-empty list of strings");
			break;
		}
		json_array_foreach(v, i, item)
		{
			if ((rc = json_text(item, "a string", &text, err)) != KC_OK ||
			    (rc = store_string(&scratch, d, text, dir, err)) != KC_OK) {
				kc_error_prefix(err, "[%zu]", i);
				break;
			}
		}
		break;
	default:
		if ((rc = json_text(v, "a string", &text, err)) == KC_OK)
			rc = store_string(&scratch, d, text, dir, err);
	}
	if (rc == KC_OK && cfg->source[d->id] != AGENT_SRC_FLAG) {
		move_setting(cfg, &scratch, d);
		cfg->source[d->id] = AGENT_SRC_CONFIG_FILE;
	}
	release_setting(&scratch, d); /* an overridden or failed value */
	return rc;
}

static const struct setting_def *setting_by_key(const char *key)
{
	size_t i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

/* A key written as its flag ("node-name") gets a hint to the right spelling. */
static const struct setting_def *setting_by_flag(const char *flag)
{
	size_t i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		if (strcmp(settings[i].flag, flag) == 0)
			return &settings[i];
	return NULL;
}

static kc_code read_config_file(struct agent_config *cfg, struct kc_error *err)
{
	const struct setting_def *d;
	struct kc_buf buf;
	json_t *docs = NULL, *doc, *v;
	const char *key;
	char *dir = NULL;
	kc_code rc;

	kc_buf_init(&buf, AGENT_CONFIG_FILE_MAX);
	if ((rc = kc_buf_read_file(&buf, cfg->config_file, err)) != KC_OK) {
		/*
		 * --optional-config: the packaged conffile deleted by the admin is
		 * the admin's choice (Debian policy 10.7.3), not an error: defaults.
		 */
		if (rc == KC_ENOTFOUND && cfg->config_optional) {
			cfg->config_missing = true;
			rc = KC_OK;
			goto out;
		}
		kc_error_prefix(err, cfg->config_optional ? "--optional-config" : "--config");
		goto out;
	}
	if ((rc = doc_parse(buf.data != NULL ? buf.data : "", buf.len, cfg->config_file, &docs,
	                    err)) != KC_OK)
		goto out;
	if (json_array_size(docs) > 1) {
		rc = kc_fail(err, KC_EINVAL, "%s: expected one document, found %zu",
		             cfg->config_file, json_array_size(docs));
		goto out;
	}
	if (json_array_size(docs) == 0)
		goto out; /* an empty file configures nothing */
	doc = json_array_get(docs, 0);
	if (!json_is_object(doc)) {
		rc =
		    kc_fail(err, KC_EINVAL, "%s: expected a mapping of settings", cfg->config_file);
		goto out;
	}
	if ((rc = kc_path_dirname(cfg->config_file, &dir, err)) != KC_OK)
		goto out;
	json_object_foreach(doc, key, v)
	{
		if ((d = setting_by_key(key)) == NULL) {
			d = setting_by_flag(key);
			rc = kc_fail(err, KC_EINVAL, "%s: %s: unknown key%s%s%s", cfg->config_file,
			             key, d != NULL ? " (did you mean " : "",
			             d != NULL ? d->key : "", d != NULL ? "?)" : "");
			goto out;
		}
		if ((rc = set_from_file(cfg, d, v, dir, err)) != KC_OK) {
			kc_error_prefix(err, "%s: %s", cfg->config_file, key);
			goto out;
		}
	}
out:
	free(dir);
	json_decref(docs);
	kc_buf_free(&buf);
	return rc;
}

/* Long options from the table, plus --config (--help is agent_config_wants_help's). */
static void build_long_options(struct option *opts)
{
	size_t i;

	for (i = 0; i < AGENT_SETTING_COUNT; i++)
		opts[i] = (struct option){settings[i].flag,
		                          settings[i].type == VT_BOOL ? optional_argument
		                                                      : required_argument,
		                          NULL, OPT_SETTING_BASE + (int)i};
	opts[i++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	opts[i++] =
	    (struct option){"optional-config", required_argument, NULL, OPT_OPTIONAL_CONFIG};
	opts[i] = (struct option){NULL, 0, NULL, 0};
}

/*
 * getopt_long accepts unambiguous abbreviations ("--state" for
 * "--state-dir"); a config that works by accident breaks when a flag is
 * added, so only whole names are taken.
 */
static bool whole_flag_name(const char *token, const char *name)
{
	size_t n = strlen(name);

	return strncmp(token, "--", 2) == 0 && strncmp(token + 2, name, n) == 0 &&
	       (token[2 + n] == '\0' || token[2 + n] == '=');
}

/* The long name behind a getopt_long value; NULL for -v and errors. */
static const char *long_option_name(int val)
{
	if (val == OPT_CONFIG)
		return "config";
	if (val == OPT_OPTIONAL_CONFIG)
		return "optional-config";
	if (val >= OPT_SETTING_BASE && val < OPT_SETTING_BASE + AGENT_SETTING_COUNT)
		return settings[val - OPT_SETTING_BASE].flag;
	return NULL;
}

static kc_code parse_flags(int argc, char *const argv[], struct agent_config *cfg,
                           struct kc_error *err)
{
	struct option opts[AGENT_SETTING_COUNT + 3];
	const char *token, *name;
	char *cwd;
	int c, at;
	kc_code rc = KC_OK;

	if ((cwd = getcwd(NULL, 0)) == NULL)
		return kc_fail_errno(err, KC_EIO, errno, "getcwd");
	build_long_options(opts);
	/* Reset getopt fully: load runs again on SIGHUP and in tests. */
	optind = 0;
	opterr = 0;
	for (;;) {
		at = optind == 0 ? 1 : optind;
		/* '+': stop at the first operand, never permute the caller's argv. */
		if ((c = getopt_long(argc, argv, "+:v", opts, NULL)) == -1)
			break;
		token = at < argc ? argv[at] : "";
		name = long_option_name(c == ':' ? optopt : c);
		if (name != NULL && !whole_flag_name(token, name)) {
			rc = kc_fail(err, KC_EINVAL, "%s: unknown flag (did you mean --%s?)", token,
			             name);
			break;
		}
		if (c >= OPT_SETTING_BASE) {
			if ((rc = set_from_flag(cfg, &settings[c - OPT_SETTING_BASE], optarg, cwd,
			                        err)) != KC_OK)
				break;
		} else if (c == OPT_CONFIG || c == OPT_OPTIONAL_CONFIG) {
			free(cfg->config_file);
			cfg->config_file = NULL;
			cfg->config_optional = c == OPT_OPTIONAL_CONFIG;
			if (optarg[0] == '\0') {
				rc = kc_fail(err, KC_EINVAL, "--%s: must not be empty",
				             long_option_name(c));
				break;
			}
			if ((rc = kc_path_join(cwd, optarg, &cfg->config_file, err)) != KC_OK)
				break;
		} else if (c == 'v') {
			if (cfg->source[AGENT_VERBOSITY] != AGENT_SRC_FLAG)
				cfg->verbosity = 0;
			if (cfg->verbosity < AGENT_MAX_VERBOSITY)
				cfg->verbosity++;
			cfg->source[AGENT_VERBOSITY] = AGENT_SRC_FLAG;
		} else if (c == ':') {
			rc = kc_fail(err, KC_EINVAL, "%s: needs a value", token);
			break;
		} else {
			rc = kc_fail(err, KC_EINVAL, "%s: unknown flag", token);
			break;
		}
	}
	if (rc == KC_OK && optind < argc)
		rc = kc_fail(err, KC_EINVAL, "%s: unexpected argument (run takes only flags)",
		             argv[optind]);
	free(cwd);
	return rc;
}

bool agent_config_wants_help(int argc, char *const argv[])
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

/* The static defaults of whatever neither a flag nor the file set. */
static kc_code apply_defaults(struct agent_config *cfg, struct kc_error *err)
{
	size_t i;
	kc_code rc;

	for (i = 0; i < AGENT_SETTING_COUNT; i++) {
		const struct setting_def *d = &settings[i];

		if (cfg->source[i] != AGENT_SRC_DEFAULT)
			continue;
		if (d->type == VT_SECONDS) {
			*num_field(cfg, d) = d->default_num;
		} else if ((d->type == VT_ANNOTATION || d->type == VT_NAMESPACE) &&
		           list_field(cfg, d)->len == 0) {
			if ((rc = strlist_add(list_field(cfg, d), d->default_str, err)) != KC_OK)
				return rc;
		} else if (d->type == VT_PATH && d->default_str != NULL &&
		           *str_field(cfg, d) == NULL) {
			if ((*str_field(cfg, d) = strdup(d->default_str)) == NULL)
				return kc_fail(err, KC_ENOMEM, "out of memory");
		}
	}
	return KC_OK;
}

kc_code agent_config_load(int argc, char *const argv[], const struct agent_env *env,
                          struct agent_config **out, struct kc_error *err)
{
	static const struct agent_env system_env = {NULL, NULL};
	struct agent_config *cfg;
	size_t i;
	kc_code rc;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return kc_fail(err, KC_ENOMEM, "out of memory");
	cfg->kubelet_fail_cgroup_v1 = -1;
	if ((rc = parse_flags(argc, argv, cfg, err)) == KC_OK && cfg->config_file != NULL)
		rc = read_config_file(cfg, err);
	if (rc == KC_OK)
		rc = apply_defaults(cfg, err);
	if (rc == KC_OK)
		rc = agent_kubelet_resolve(cfg, env != NULL ? env : &system_env, err);
	if (rc != KC_OK) {
		agent_config_free(cfg);
		return rc;
	}
	for (i = 0; i < cfg->namespaces.len; i++)
		if (strcmp(cfg->namespaces.items[i], "*") == 0)
			cfg->all_namespaces = true;
	*out = cfg;
	return KC_OK;
}

/* A setting's value as text, for the log. */
static void format_value(const struct agent_config *cfg, const struct setting_def *d, char *buf,
                         size_t size)
{
	const struct agent_strlist *l;
	size_t i, n = 0;

	switch (d->type) {
	case VT_SECONDS:
		snprintf(buf, size, "%us", *(const unsigned *)((const char *)cfg + d->offset));
		break;
	case VT_VERBOSITY:
		snprintf(buf, size, "%d", *(const int *)((const char *)cfg + d->offset));
		break;
	case VT_BOOL:
		snprintf(buf, size, "%s",
		         *(const bool *)((const char *)cfg + d->offset) ? "true" : "false");
		break;
	case VT_ANNOTATION:
	case VT_NAMESPACE:
		l = (const struct agent_strlist *)((const char *)cfg + d->offset);
		buf[0] = '\0';
		for (i = 0; i < l->len && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "", l->items[i]);
		break;
	default: {
		const char *s = *(char *const *)((const char *)cfg + d->offset);

		snprintf(buf, size, "%s", s != NULL ? s : "(none)");
	}
	}
}

void agent_config_log(const struct agent_config *cfg)
{
	char value[1024];
	size_t i;

	if (cfg->config_missing)
		kc_log(KC_LOG_NOTICE,
		       "config: %s does not exist: running with the defaults (a deleted "
		       "configuration file is the admin's choice)",
		       cfg->config_file);
	else if (cfg->config_file != NULL)
		kc_log(KC_LOG_INFO, "config: reading settings from %s", cfg->config_file);
	if (cfg->kubelet_pid != 0)
		kc_log(KC_LOG_INFO, "config: running kubelet is pid %ld", (long)cfg->kubelet_pid);
	for (i = 0; i < AGENT_SETTING_COUNT; i++) {
		format_value(cfg, &settings[i], value, sizeof(value));
		kc_log(KC_LOG_INFO, "config: %s=%s (%s)", settings[i].key, value,
		       agent_source_name(cfg->source[i]));
	}
	kc_log(KC_LOG_INFO,
	       "config: kubelet pod cgroups: cgroupRoot=%s cgroupDriver=%s "
	       "cgroupsPerQOS=%s",
	       cfg->kubelet_cgroup_root != NULL ? cfg->kubelet_cgroup_root : "/",
	       cfg->kubelet_cgroup_driver != NULL ? cfg->kubelet_cgroup_driver : "(unknown)",
	       cfg->kubelet_cgroups_per_qos ? "true" : "false");
	if (cfg->bridge_off[0] != '\0')
		kc_log(KC_LOG_WARNING, "config: the bridge is off: %s", cfg->bridge_off);
	if (cfg->static_pod_path_unread[0] != '\0')
		kc_log(KC_LOG_WARNING, "config: staticPodPath=%s is ours (%s), but %s",
		       cfg->static_pod_path, agent_source_name(cfg->source[AGENT_STATIC_POD_PATH]),
		       cfg->static_pod_path_unread);
	if (cfg->kubelet_config_problem[0] != '\0')
		kc_log(KC_LOG_WARNING,
		       "config: the kubelet's runtime and cgroup settings (defaults used where "
		       "unknown): %s",
		       cfg->kubelet_config_problem);
}

void agent_config_print_usage(FILE *f)
{
	char flag[64];
	size_t i;

	fputs("usage: kubelet-checkpoint run [--config FILE] [flags]\n"
	      "Every flag is also a camelCase key of the YAML --config file; flags win.\n"
	      "  --config FILE                YAML file of settings\n"
	      "  --optional-config FILE      the same, but a missing FILE means the defaults\n",
	      f);
	for (i = 0; i < AGENT_SETTING_COUNT; i++) {
		snprintf(flag, sizeof(flag), "--%s%s%s", settings[i].flag,
		         settings[i].arg[0] ? " " : "", settings[i].arg);
		fprintf(f, "  %-28s %s [%s]\n", flag, settings[i].help, settings[i].key);
	}
	fputs("  -v                           one more level of verbosity\n"
	      "  -h, --help                   this text\n",
	      f);
}
