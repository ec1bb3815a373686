/*
 * agent_mirror.c: the mirror pods of our bridges. The kubelet publishes each
 * bridge static pod to the API as a mirror pod; the agent notes which one is
 * which from its pods watch, and deletes a bridge's mirror pod just before
 * it withdraws that bridge (api_mirror.c says why: the kubelet's own
 * deletion may block its sync loop against a half-started parent apiserver).
 *
 * A pod is taken for the mirror of our bridge of parent P only if all hold:
 * it carries kubernetes.io/config.mirror (the kubelet's mark, which the API
 * admits only from the node itself under NodeRestriction), our source-uid
 * annotation names P, our checkpoint-of annotation names P's namespace and
 * name, it lives in P's namespace as "<P's name>-<node>" (the kubelet's
 * static pod name) and is bound to this node. A pod that merely looks like
 * one (another name, another node, no mark) is never deleted, and the DELETE
 * carries the UID seen as precondition.
 */
#include <stdio.h>
#include <string.h>

#include "agent_int.h"
#include "k8s_validate.h"
#include "kc_log.h"
#include "kc_names.h"
#include "pod_spec.h"

#define MIRROR_ANNOTATION "kubernetes.io/config.mirror"

static const char *annotation(const json_t *pod, const char *key)
{
	json_t *md = json_object_get(pod, "metadata");

	return json_string_value(json_object_get(json_object_get(md, "annotations"), key));
}

const char *agent_mirror_source_uid(const json_t *pod, const char *node)
{
	const char *ns = pod_meta_string(pod, "namespace"), *name = pod_meta_string(pod, "name");
	const char *uid = pod_meta_string(pod, "uid");
	const char *source = annotation(pod, KC_ANNOTATION_SOURCE_UID);
	const char *of = annotation(pod, KC_ANNOTATION_CHECKPOINT_OF);
	const char *bound =
	    json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	size_t nslen, oflen, nodelen = strlen(node);

	if (annotation(pod, MIRROR_ANNOTATION) == NULL || ns == NULL || name == NULL ||
	    uid == NULL || !k8s_uuid_valid(uid) || source == NULL || !k8s_uuid_valid(source) ||
	    of == NULL || bound == NULL || strcmp(bound, node) != 0)
		return NULL;
	/* of is "<ns>/<parent name>" and name is "<parent name>-<node>". */
	nslen = strlen(ns);
	if (strncmp(of, ns, nslen) != 0 || of[nslen] != '/')
		return NULL;
	of += nslen + 1;
	oflen = strlen(of);
	if (oflen == 0 || strlen(name) != oflen + 1 + nodelen || strncmp(name, of, oflen) != 0 ||
	    name[oflen] != '-' || strcmp(name + oflen + 1, node) != 0)
		return NULL;
	return source;
}

/*
 * The parent whose bridge pod is a mirror of, when it is one of ours: the
 * one its source-uid names, if its checkpoint-of (which
 * agent_mirror_source_uid tied to the pod's namespace and name) names that
 * parent's namespace and name. A look-alike under another name must not
 * replace the real mirror pod noted: the DELETE would carry its UID.
 */
static struct parent_rec *mirror_parent(struct agent *a, const json_t *pod)
{
	const char *source = agent_mirror_source_uid(pod, a->cfg->node_name);
	const char *of = annotation(pod, KC_ANNOTATION_CHECKPOINT_OF);
	struct parent_rec *r = source != NULL ? parent_table_find(&a->parents, source) : NULL;
	size_t nslen;

	if (r == NULL || r->namespace == NULL || r->name == NULL)
		return NULL;
	nslen = strlen(r->namespace);
	if (strncmp(of, r->namespace, nslen) != 0 || of[nslen] != '/' ||
	    strcmp(of + nslen + 1, r->name) != 0)
		return NULL;
	return r;
}

bool agent_mirror_seen(struct agent *a, const json_t *pod)
{
	struct parent_rec *r;

	if (annotation(pod, MIRROR_ANNOTATION) == NULL)
		return false;
	if ((r = mirror_parent(a, pod)) != NULL)
		snprintf(r->mirror_uid, sizeof(r->mirror_uid), "%s", pod_meta_string(pod, "uid"));
	return true;
}

bool agent_mirror_deleted(struct agent *a, const json_t *pod)
{
	struct parent_rec *r;

	if (annotation(pod, MIRROR_ANNOTATION) == NULL)
		return false;
	if ((r = mirror_parent(a, pod)) != NULL &&
	    strcmp(r->mirror_uid, pod_meta_string(pod, "uid")) == 0)
		r->mirror_uid[0] = '\0';
	return true;
}

void agent_mirror_forget_all(struct agent *a)
{
	size_t i;

	for (i = 0; i < a->parents.count; i++)
		a->parents.recs[i].mirror_uid[0] = '\0';
}

/* How long a withdrawal waits for the DELETEs: the bridged API is local. */
#define MIRROR_DELETE_WAIT_MS 1000

void agent_mirror_delete(struct agent *a, const char *const *source_uids, size_t n)
{
	struct api_mirror_ref refs[AGENT_MIRROR_BATCH_MAX];
	char names[AGENT_MIRROR_BATCH_MAX][512];
	struct parent_rec *r;
	struct kc_error err;
	size_t i, nrefs = 0;

	for (i = 0; i < n && nrefs < AGENT_MIRROR_BATCH_MAX; i++) {
		r = source_uids[i] != NULL ? parent_table_find(&a->parents, source_uids[i]) : NULL;
		if (r == NULL || r->mirror_uid[0] == '\0')
			continue;
		snprintf(names[nrefs], sizeof(names[nrefs]), "%s-%s", r->name, a->cfg->node_name);
		refs[nrefs] = (struct api_mirror_ref){r->namespace, names[nrefs], r->mirror_uid};
		nrefs++;
	}
	if (nrefs > 0 && a->api != NULL &&
	    api_client_delete_mirrors(a->api, refs, nrefs, MIRROR_DELETE_WAIT_MS, &err) != KC_OK)
		kc_log(KC_LOG_WARNING, "mirror pods: %s (the kubelet deletes them itself)",
		       err.msg);
	for (i = 0; i < n; i++)
		if (source_uids[i] != NULL &&
		    (r = parent_table_find(&a->parents, source_uids[i])) != NULL)
			r->mirror_uid[0] = '\0';
}
