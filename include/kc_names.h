/*
 * kc_names.h: the names kubelet-checkpoint puts on things that others see
 * or that must be recognised again after a restart: file-name prefixes in
 * the staticPodPath and the state dir, the annotations on our manifests, and
 * the defaults an administrator reads in the documentation. Each is written
 * here once; a change here is a change of on-disk format or of the API.
 */
#ifndef KC_NAMES_H
#define KC_NAMES_H

/* The default state dir: checkpoints and materialised volumes (0700, root). */
/* What the agent calls itself to the apiserver and the container runtime. */
#define KC_USER_AGENT_NAME "kubelet-checkpoint/"

#define KC_DEFAULT_STATE_DIR "/var/lib/kubelet-checkpoint"

/* Under the state dir: <state>/pods/Pod_<uid>.yaml, <state>/volumes/<uid>/<volume>/. */
#define KC_STATE_PODS_DIR    "pods"
#define KC_STATE_VOLUMES_DIR "volumes"
#define KC_CKPT_FILE_PREFIX  "Pod_"
#define KC_CKPT_FILE_SUFFIX  ".yaml"

/* Our manifests in the staticPodPath: kubelet-checkpoint_<namespace>_<name>.yaml. */
#define KC_MANIFEST_PREFIX "kubelet-checkpoint_"
#define KC_MANIFEST_SUFFIX ".yaml"
/*
 * Longest manifest file name: NAME_MAX (255) less what the temp name
 * ".<name>.tmp" adds. A longer name cannot be written: such a pod is not
 * checkpointable (a shortened name would give up the one-to-one naming the
 * ownership rule and the kubelet's static pod UID rely on).
 */
#define KC_MANIFEST_NAME_MAX 250

/*
 * fsutil writes a file through the temporary ".<name>.tmp" beside it: these
 * are the temporary names of our manifests and checkpoints.
 */
#define KC_MANIFEST_TEMP_PREFIX "." KC_MANIFEST_PREFIX
#define KC_CKPT_TEMP_PREFIX     "." KC_CKPT_FILE_PREFIX

/* Annotations on our manifests: every one of ours starts with the prefix. */
#define KC_ANNOTATION_PREFIX        "kubelet-checkpoint/"
#define KC_ANNOTATION_CHECKPOINT_OF KC_ANNOTATION_PREFIX "checkpoint-of"
#define KC_ANNOTATION_SOURCE_UID    KC_ANNOTATION_PREFIX "source-uid"
/* On a parent: its owner allows Secret values to be inlined into env (see render_env.c). */
#define KC_ANNOTATION_INLINE_SECRET_ENV KC_ANNOTATION_PREFIX "inline-secret-env"

/* The default trigger: a pod with this annotation is a parent. */
#define KC_DEFAULT_TRIGGER_ANNOTATION "node.kubernetes.io/bootstrap-checkpoint"

#endif
