/*
 * materialise.h: writes the volume plan of a checkpoint to disk, as the
 * directories render's hostPath volumes point at:
 * <state-dir>/volumes/<uid>/<volume-name>/<items...>.
 *
 * <state-dir>/volumes and each <uid> directory are 0700 (only the runtime,
 * as root, needs to reach them: it bind-mounts the volume directory itself).
 * Volume directories and their subdirectories are 0755, files carry the
 * plan's modes, and all of them are owned by plan->uid_owner/gid_owner where
 * set. Changing ownership needs root; an id equal to the agent's own is not
 * changed, so tests run unprivileged.
 *
 * A volume directory is replaced as a whole: the new content is built in a
 * hidden sibling ".<volume>.tmp-<pid>", made durable, then exchanged with the
 * old directory (renameat2 RENAME_EXCHANGE, else two renames), and the old
 * content removed. A reader never sees a half-written set. A directory that
 * already holds exactly the plan (paths, bytes, modes, owners, nothing more)
 * is left alone, so an unchanged checkpoint causes no churn.
 *
 * Trade-off: a hostPath mount binds the directory inode, so a container that
 * is already running keeps seeing the old directory after a swap. That is
 * acceptable here because a changed plan comes from a changed checkpoint,
 * which changes the bridge manifest, and the kubelet restarts a static pod
 * whose manifest changed; the new container mounts the new directory.
 *
 * Every name under volumes/ is the agent's. Removal is also whole: a <uid>
 * or volume directory is first renamed to a hidden ".<name>.removing-<pid>",
 * then deleted, so a crash never leaves a half-emptied directory under a
 * real name. Entries starting with '.' in volumes/ and volumes/<uid>/ are
 * leftovers of an interrupted build or removal; materialise_plan and
 * materialise_remove delete them, as they delete volume directories the
 * plan no longer has.
 */
#ifndef KC_MATERIALISE_H
#define KC_MATERIALISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kc_error.h"
#include "objects.h"
#include "volume_plan.h"

struct mat_result {
	size_t volumes_written; /* volume directories (re)built */
	size_t volumes_kept;    /* already exactly as planned */
	size_t volumes_removed; /* no longer in the plan */
};

/* Make <state_dir>/volumes/<plan->uid>/ hold exactly plan. result may be NULL. */
kc_code materialise_plan(const char *state_dir, const struct vp_plan *plan,
                         struct mat_result *result, struct kc_error *err);

/* Remove <state_dir>/volumes/<uid> entirely (durably); missing is fine. */
kc_code materialise_remove(const char *state_dir, const char *uid, struct kc_error *err);

struct mat_uid_list {
	char **uids; /* sorted */
	size_t count;
};

/*
 * The <uid> directories under <state_dir>/volumes (names that are UUIDs; any
 * other name is ignored), so the agent can remove orphans. A missing volumes
 * directory is an empty list.
 */
kc_code materialise_list_uids(const char *state_dir, struct mat_uid_list *out,
                              struct kc_error *err);
void mat_uid_list_free(struct mat_uid_list *list);

#endif
