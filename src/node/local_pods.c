/*
 * local_pods.c: the pod UIDs that have a cgroup on this node (see
 * local_pods.h for the layouts and why an existing cgroup counts as running).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local_pods.h"

/*
 * Where kubepods can live: the v2 root first, then the v1 controllers, then
 * the v2 mount of a hybrid host ("unified"): there systemd keeps its own tree
 * of units, so kubepods.slice of a systemd-driver kubelet appears in it even
 * when no v1 controller holds one (e.g. a kubelet whose controllers are not
 * mounted where the agent looks).
 */
static const char *const bases[] = {"", "memory", "cpu,cpuacct", "cpu", "pids", "unified"};
static const char *const qos_classes[] = {"burstable", "besteffort"};

/*
 * A pod UID as found in a cgroup name: lowercase hex and '-' (API UUIDs) or
 * plain hex (static pods); '_' (systemd escaping) becomes '-'.
 */
static bool copy_uid(const char *s, size_t len, char out[LOCAL_POD_UID_MAX + 1])
{
	size_t i;

	if (len == 0 || len > LOCAL_POD_UID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i] == '_' ? '-' : s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || ch == '-'))
			return false;
		out[i] = ch;
	}
	out[len] = '\0';
	return true;
}

/*
 * The UID in a pod cgroup directory name, for the systemd form
 * "<slice_prefix>pod<uid_>.slice" (slice_prefix "kubepods-" or
 * "kubepods-<qos>-") or, with slice_prefix NULL, the cgroupfs form
 * "pod<uid>".
 */
static bool parse_pod_dir(const char *d_name, const char *slice_prefix,
                          char out[LOCAL_POD_UID_MAX + 1])
{
	const char *p = d_name;
	size_t len;

	if (slice_prefix != NULL) {
		size_t plen = strlen(slice_prefix);

		if (strncmp(p, slice_prefix, plen) != 0)
			return false;
		p += plen;
	}
	if (strncmp(p, "pod", 3) != 0)
		return false;
	p += 3;
	len = strlen(p);
	if (slice_prefix != NULL) {
		if (len < 6 || strcmp(p + len - 6, ".slice") != 0)
			return false;
		len -= 6;
	}
	return copy_uid(p, len, out);
}

static kc_code add_uid(struct local_pods *lp, const char *uid, struct kc_error *err)
{
	struct local_pod p = local_pod_blank(uid);

	p.running = true; /* an existing pod cgroup counts as running (see local_pods.h) */
	return local_pods_add(lp, &p, err);
}

/*
 * Add the pods found directly in dir. A missing QoS directory is fine
 * (optional = true); any other failure to read is an error, because a
 * partial list would claim pods are not running when they might be.
 */
static kc_code scan_dir(struct local_pods *lp, const char *dir, const char *slice_prefix,
                        bool optional, struct kc_error *err)
{
	char uid[LOCAL_POD_UID_MAX + 1];
	struct dirent *de;
	kc_code rc = KC_OK;
	DIR *d;

	d = opendir(dir);
	if (d == NULL) {
		if (optional && errno == ENOENT)
			return KC_OK;
		return kc_fail_errno(err, errno == ENOENT ? KC_ENOTFOUND : KC_EIO, errno,
		                     "%s: open cgroup directory", dir);
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				rc = kc_fail_errno(err, KC_EIO, errno, "%s: read cgroup directory",
				                   dir);
			break;
		}
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (parse_pod_dir(de->d_name, slice_prefix, uid) &&
		    (rc = add_uid(lp, uid, err)) != KC_OK)
			break;
	}
	closedir(d);
	return rc;
}

static kc_code join(char *out, size_t outsz, struct kc_error *err, const char *a, const char *b,
                    const char *c)
{
	int n = snprintf(out, outsz, "%s%s%s%s%s", a, *b ? "/" : "", b, *c ? "/" : "", c);

	if (n < 0 || (size_t)n >= outsz)
		return kc_fail(err, KC_EINVAL, "%s: cgroup path too long", a);
	return KC_OK;
}

/*
 * <stem>.slice (systemd driver) under top: stem is "kubepods", or
 * "<root>-kubepods" under a cgroupRoot; pods are <stem>-pod<uid_>.slice and
 * <stem>-<qos>.slice/<stem>-<qos>-pod<uid_>.slice.
 */
static kc_code scan_systemd(struct local_pods *lp, const char *top, const char *stem,
                            struct kc_error *err)
{
	char dir[PATH_MAX], slice[LOCAL_PODS_STEM_MAX + 32], prefix[LOCAL_PODS_STEM_MAX + 32];
	kc_code rc;
	size_t q;

	snprintf(prefix, sizeof(prefix), "%s-", stem);
	if ((rc = scan_dir(lp, top, prefix, false, err)) != KC_OK)
		return rc;
	for (q = 0; q < sizeof(qos_classes) / sizeof(qos_classes[0]); q++) {
		snprintf(slice, sizeof(slice), "%s-%s.slice", stem, qos_classes[q]);
		snprintf(prefix, sizeof(prefix), "%s-%s-", stem, qos_classes[q]);
		if ((rc = join(dir, sizeof(dir), err, top, slice, "")) != KC_OK ||
		    (rc = scan_dir(lp, dir, prefix, true, err)) != KC_OK)
			return rc;
	}
	return KC_OK;
}

/* kubepods (cgroupfs driver) under top. */
static kc_code scan_cgroupfs(struct local_pods *lp, const char *top, struct kc_error *err)
{
	char dir[PATH_MAX];
	kc_code rc;
	size_t q;

	if ((rc = scan_dir(lp, top, NULL, false, err)) != KC_OK)
		return rc;
	for (q = 0; q < sizeof(qos_classes) / sizeof(qos_classes[0]); q++)
		if ((rc = join(dir, sizeof(dir), err, top, qos_classes[q], "")) != KC_OK ||
		    (rc = scan_dir(lp, dir, NULL, true, err)) != KC_OK)
			return rc;
	return KC_OK;
}

static bool is_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Where the kubelet puts kubepods under one base, for a cgroupRoot split in
 * components ("/" has none): cgroupfs <base>/<c1>/.../<cn>/kubepods; systemd
 * <base>/<c1>.slice/<c1>-<c2>.slice/.../<c1>-...-<cn>-kubepods.slice (the
 * kubelet's cgroupName.ToSystemd, pkg/kubelet/cm/cgroup_manager_linux.go),
 * whose pod slices start with the same stem.
 */
static kc_code layout_paths(const char *cgroup_mount, const char *base,
                            const struct local_pods_layout *lay, char *systemd_top,
                            char *cgroupfs_top, char *stem, struct kc_error *err)
{
	char sys_rel[PATH_MAX] = "", fs_rel[PATH_MAX] = "";
	size_t i, sn = 0, fn = 0, tn = 0;
	kc_code rc;

	stem[0] = '\0';
	for (i = 0; lay != NULL && i < lay->ncomponents; i++) {
		const char *c = lay->components[i];

		tn += (size_t)snprintf(stem + tn,
		                       tn < LOCAL_PODS_STEM_MAX ? LOCAL_PODS_STEM_MAX - tn : 0,
		                       "%s%s", i ? "-" : "", c);
		sn +=
		    (size_t)snprintf(sys_rel + sn, sn < sizeof(sys_rel) ? sizeof(sys_rel) - sn : 0,
		                     "%s%s.slice", i ? "/" : "", stem);
		fn += (size_t)snprintf(fs_rel + fn, fn < sizeof(fs_rel) ? sizeof(fs_rel) - fn : 0,
		                       "%s%s", i ? "/" : "", c);
	}
	if (tn + strlen("-kubepods") >= LOCAL_PODS_STEM_MAX || sn + 32 >= sizeof(sys_rel) ||
	    fn + 16 >= sizeof(fs_rel))
		return kc_fail(err, KC_EINVAL, "%s: cgroupRoot too long", cgroup_mount);
	snprintf(stem + tn, LOCAL_PODS_STEM_MAX - tn, "%skubepods", tn ? "-" : "");
	snprintf(sys_rel + sn, sizeof(sys_rel) - sn, "%s%s.slice", sn ? "/" : "", stem);
	snprintf(fs_rel + fn, sizeof(fs_rel) - fn, "%skubepods", fn ? "/" : "");
	if ((rc = join(systemd_top, PATH_MAX, err, cgroup_mount, base, sys_rel)) != KC_OK)
		return rc;
	return join(cgroupfs_top, PATH_MAX, err, cgroup_mount, base, fs_rel);
}

kc_code local_pods_scan_layout(const char *cgroup_mount, const struct local_pods_layout *lay,
                               struct local_pods *out, struct kc_error *err)
{
	char systemd_top[PATH_MAX], cgroupfs_top[PATH_MAX], stem[LOCAL_PODS_STEM_MAX];
	bool have_systemd, have_cgroupfs;
	kc_code rc = KC_OK;
	size_t b;

	out->state = LOCAL_PODS_UNKNOWN;
	out->count = 0;
	/* The kubelet makes no pod cgroups at all then (cm.NewPodContainerManager). */
	if (lay != NULL && !lay->per_qos)
		return kc_fail(err, KC_ENOTFOUND,
		               "the kubelet runs with cgroupsPerQOS: false, so there are no pod "
		               "cgroups to read");
	for (b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		if ((rc = layout_paths(cgroup_mount, bases[b], lay, systemd_top, cgroupfs_top, stem,
		                       err)) != KC_OK)
			return rc;
		have_systemd = (lay == NULL || lay->driver != LOCAL_PODS_DRIVER_CGROUPFS) &&
		               is_dir(systemd_top);
		have_cgroupfs = (lay == NULL || lay->driver != LOCAL_PODS_DRIVER_SYSTEMD) &&
		                is_dir(cgroupfs_top);
		if (!have_systemd && !have_cgroupfs)
			continue;
		if (have_systemd && (rc = scan_systemd(out, systemd_top, stem, err)) != KC_OK)
			break;
		if (have_cgroupfs && (rc = scan_cgroupfs(out, cgroupfs_top, err)) != KC_OK)
			break;
		local_pods_finish(out);
		out->state = LOCAL_PODS_KNOWN;
		return KC_OK;
	}
	out->count = 0;
	if (rc != KC_OK)
		return rc;
	return kc_fail(err, KC_ENOTFOUND,
	               "%s: no kubepods cgroup hierarchy%s%s (kubelet not running?)", cgroup_mount,
	               lay != NULL && lay->ncomponents > 0 ? " under cgroupRoot " : "",
	               lay != NULL && lay->ncomponents > 0 ? lay->root : "");
}

kc_code local_pods_scan(const char *cgroup_root, struct local_pods *out, struct kc_error *err)
{
	return local_pods_scan_layout(cgroup_root, NULL, out, err);
}

kc_code local_pods_layout_parse(const char *cgroup_root, const char *driver, bool per_qos,
                                struct local_pods_layout *out, struct kc_error *err)
{
	const char *p = cgroup_root != NULL ? cgroup_root : "/", *end;
	size_t len;

	memset(out, 0, sizeof(*out));
	out->per_qos = per_qos;
	if (driver == NULL || driver[0] == '\0')
		out->driver = LOCAL_PODS_DRIVER_ANY;
	else if (strcmp(driver, "systemd") == 0)
		out->driver = LOCAL_PODS_DRIVER_SYSTEMD;
	else if (strcmp(driver, "cgroupfs") == 0)
		out->driver = LOCAL_PODS_DRIVER_CGROUPFS;
	else
		return kc_fail(err, KC_EINVAL, "cgroupDriver: %s: expected cgroupfs or systemd",
		               driver);
	if (strlen(p) >= sizeof(out->root))
		return kc_fail(err, KC_EINVAL, "cgroupRoot: too long");
	strcpy(out->root, p);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		/* A systemd slice name spells its whole path: "kubelet.slice" is "kubelet". */
		if (len > 6 && strncmp(p + len - 6, ".slice", 6) == 0)
			len -= 6;
		if (out->ncomponents == LOCAL_PODS_ROOT_DEPTH_MAX || len >= LOCAL_PODS_STEM_MAX ||
		    (len == 2 && strncmp(p, "..", 2) == 0) || (len == 1 && p[0] == '.'))
			return kc_fail(err, KC_EINVAL, "cgroupRoot: %s: not a usable cgroup path",
			               cgroup_root);
		memcpy(out->components[out->ncomponents], p, len);
		out->components[out->ncomponents][len] = '\0';
		out->ncomponents++;
		p += len;
		if (strncmp(p, ".slice", 6) == 0)
			p += 6;
	}
	return KC_OK;
}
