# ---- shared by every maintainer script (packaging/scripts/common.sh, pasted
# in at build time by packaging.cmake: dpkg and rpm run scripts as single
# files, and the package's own files are gone when postrm runs) ----
KC_UNIT=kubelet-checkpoint.service
KC_CONF_DIR=/etc/kubelet-checkpoint
KC_CONFIG=/etc/kubelet-checkpoint/config.yaml
KC_FLAG_FILE=/etc/kubelet-checkpoint/enabled
KC_STATE_DIR=/var/lib/kubelet-checkpoint
KC_DEFAULT_STATIC_POD_PATH=/etc/kubernetes/manifests
KC_MARKER=kubelet-checkpoint/checkpoint-of

# Units are started and stopped only when systemd runs (not in a chroot, a
# container build or a CI machine without it).
kc_systemd_running() {
	[ -d /run/systemd/system ]
}

kc_create_state_dir() {
	mkdir -p "$KC_STATE_DIR"
	chmod 0700 "$KC_STATE_DIR"
}

# Bridge on out of the box. Callers do this on the first install only, so an
# admin's `kubelet-checkpoint disable` survives upgrades.
kc_create_flag_file() {
	mkdir -p "$KC_CONF_DIR"
	if [ ! -e "$KC_FLAG_FILE" ] && [ ! -L "$KC_FLAG_FILE" ]; then
		: >"$KC_FLAG_FILE"
		chmod 0644 "$KC_FLAG_FILE"
	fi
}

# A value set (uncommented) in config.yaml, unquoted; empty when unset.
kc_config_value() {
	[ -f "$KC_CONFIG" ] || return 0
	sed -n "s/^$1:[[:space:]]*//p" "$KC_CONFIG" | sed -e 's/[[:space:]]*$//' \
		-e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/" | tail -n 1
}

# Remove the agent's bridge manifests from one directory: a file is the
# agent's only if its name has the prefix AND its content carries the marker
# annotation. Everything else there (kube-apiserver.yaml, etcd.yaml, ...) is
# never touched; symlinks are not followed.
kc_withdraw_from() {
	[ -n "$1" ] && [ -d "$1" ] || return 0
	for f in "$1"/kubelet-checkpoint_* "$1"/.kubelet-checkpoint_*; do
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		if grep -Eq "(^|[[:space:]\"'{,])$KC_MARKER[\"']?[[:space:]]*:" "$f"; then
			rm -f -- "$f"
			echo "kubelet-checkpoint: withdrew bridge manifest $f"
		fi
	done
}

# With no agent left to withdraw them when the API returns, bridge manifests
# would run next to the API pods: remove them from the default staticPodPath
# and from the one config.yaml names.
kc_withdraw_bridge_manifests() {
	kc_withdraw_from "$KC_DEFAULT_STATIC_POD_PATH"
	kc_withdraw_from "$(kc_config_value staticPodPath)"
}

# Purge: checkpoints and materialised volumes (they hold Secrets), and the
# flag file; the config directory goes too when nothing else is left in it.
kc_purge_state() {
	rm -rf "$KC_STATE_DIR"
	rm -f "$KC_FLAG_FILE"
	rmdir "$KC_CONF_DIR" 2>/dev/null || true
}
# ---- end of common.sh ----
