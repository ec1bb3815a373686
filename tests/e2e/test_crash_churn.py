#!/usr/bin/env python3
"""Crash safety: SIGKILL the store/materialise/bridge-dir churn driver at
random moments and check, after every kill, that

  - the staticPodPath holds the planted foreign files untouched, our own
    temp files (.kubelet-checkpoint_*.tmp) and complete bridge manifests
    (they parse, carry the marker) and nothing else;
  - every bridge manifest's volume directory exists and is complete;
  - every checkpoint file verifies (length + FNV-1a 64 header), checked here
    independently of the C code;

then that a restart in "converge" mode reaches exactly the target state.

Environment: KC_ENGINE_CHURN (the driver; set by tests/crash/crash.cmake),
else engine_churn next to KC_BINARY. KC_CRASH_ITERATIONS overrides the
number of kills (default 250; fewer, but at least 120, when 45 s have
passed), KC_CRASH_SEED the base seed.
"""
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import yaml

PODS = 6
NAMESPACE = "kube-system"
PREFIX = "kubelet-checkpoint_"
MARK_OF = "kubelet-checkpoint/checkpoint-of"
MARK_UID = "kubelet-checkpoint/source-uid"
VERSION_AN = "kubelet-checkpoint.test/version"
MIN_KILLS = 120
BUDGET_S = 45.0
HEADER = re.compile(rb"# kubelet-checkpoint checkpoint v1 fnv1a64=([0-9a-f]{16}) length=([0-9]+)\n")

try:
    YamlLoader = yaml.CSafeLoader
except AttributeError:
    YamlLoader = yaml.SafeLoader


def driver_path():
    p = os.environ.get("KC_ENGINE_CHURN")
    if p:
        return p
    return os.path.join(os.path.dirname(os.environ["KC_BINARY"]), "engine_churn")


def pod_uid(i):
    return "00000000-0000-4000-8000-%012x" % (i + 1)


def manifest_name(i):
    return "%s%s_agent-%d.yaml" % (PREFIX, NAMESPACE, i)


def blob_len(i, version):
    return (version * 7919 + i * 104729) % 120000


def pattern(n, base):
    return bytes(ord(base) + k % 26 for k in range(n))


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


class Failure(Exception):
    pass


def plant(root):
    """The administrator's files, and what each must still be."""
    man = os.path.join(root, "manifests")
    os.makedirs(man)
    os.makedirs(os.path.join(root, "etc"))
    victim = os.path.join(root, "etc", "passwd")
    with open(victim, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    contents = {
        "kube-apiserver.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n",
        "etcd.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n",
        ".keep": "",
        PREFIX + NAMESPACE + "_impostor.yaml":
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: impostor\n",
    }
    for name, text in contents.items():
        with open(os.path.join(man, name), "w") as f:
            f.write(text)
    os.symlink(victim, os.path.join(man, "evil.yaml"))
    snapshot = {}
    for name in list(contents) + ["evil.yaml"]:
        p = os.path.join(man, name)
        st = os.lstat(p)
        snapshot[name] = (st.st_ino, st.st_mtime_ns,
                          os.readlink(p) if stat.S_ISLNK(st.st_mode) else open(p, "rb").read())
    with open(victim, "rb") as f:
        snapshot[None] = f.read()
    return snapshot, victim


def check_foreign(root, snapshot, victim):
    man = os.path.join(root, "manifests")
    for name, expect in snapshot.items():
        if name is None:
            continue
        ino, mtime, content = expect
        p = os.path.join(man, name)
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            raise Failure("foreign file %s was removed" % name)
        now = os.readlink(p) if stat.S_ISLNK(st.st_mode) else open(p, "rb").read()
        if (st.st_ino, st.st_mtime_ns, now) != (ino, mtime, content):
            raise Failure("foreign file %s was modified" % name)
    with open(victim, "rb") as f:
        if f.read() != snapshot[None]:
            raise Failure("symlink target was written through")


def check_volume(root, uid, i, where):
    """volumes/<uid>/conf must be a complete set for some version."""
    vol = os.path.join(root, "state", "volumes", uid, "conf")
    if not os.path.isdir(vol):
        raise Failure("%s: volume directory %s missing" % (where, vol))
    found = []
    for dirpath, dirnames, filenames in os.walk(vol):
        for n in filenames:
            found.append(os.path.relpath(os.path.join(dirpath, n), vol))
    if sorted(found) != ["nested/dir/blob", "token"]:
        raise Failure("%s: volume %s holds %s" % (where, vol, sorted(found)))
    token = open(os.path.join(vol, "token"), "rb").read().decode()
    m = re.fullmatch(r"v([0-9]+)-([0-9]+)", token)
    if not m or int(m.group(2)) != i:
        raise Failure("%s: volume %s: bad token %r" % (where, vol, token))
    version = int(m.group(1))
    blob = open(os.path.join(vol, "nested/dir/blob"), "rb").read()
    if blob != pattern(blob_len(i, version), "a"):
        raise Failure("%s: volume %s: blob is not the one of version %d (%d bytes)"
                      % (where, vol, version, len(blob)))
    if os.stat(os.path.join(vol, "token")).st_mode & 0o7777 != 0o644:
        raise Failure("%s: volume %s: token mode" % (where, vol))
    return version


def check_manifests(root, snapshot):
    """Returns {pod index: version} of the bridge manifests present."""
    man = os.path.join(root, "manifests")
    present = {}
    for name in os.listdir(man):
        if name in snapshot:
            continue
        p = os.path.join(man, name)
        if name.startswith("." + PREFIX) and name.endswith(".tmp"):
            continue  # our temp file: invisible to the kubelet, cleaned on restart
        if not name.startswith(PREFIX):
            raise Failure("unexpected file %s in the staticPodPath" % name)
        st = os.lstat(p)
        if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o7777 != 0o600:
            raise Failure("%s: not a regular 0600 file" % name)
        try:
            doc = yaml.load(open(p, "rb").read(), Loader=YamlLoader)
        except yaml.YAMLError as e:
            raise Failure("%s: partial or invalid manifest: %s" % (name, e))
        ann = (doc or {}).get("metadata", {}).get("annotations", {})
        idx = [i for i in range(PODS) if manifest_name(i) == name]
        if not idx or ann.get(MARK_OF) != "%s/agent-%d" % (NAMESPACE, idx[0]) \
                or ann.get(MARK_UID) != pod_uid(idx[0]):
            raise Failure("%s: no or wrong marker annotations" % name)
        if doc.get("apiVersion") != "v1" or doc.get("kind") != "Pod":
            raise Failure("%s: not a v1 Pod" % name)
        present[idx[0]] = int(ann[VERSION_AN])
        # docs/design.md §6 order: the volumes are materialised before the manifest.
        check_volume(root, pod_uid(idx[0]), idx[0], name)
    return present


def check_checkpoints(root):
    """Every Pod_*.yaml verifies; returns {pod index: image version}."""
    pods = os.path.join(root, "state", "pods")
    found = {}
    if not os.path.isdir(pods):
        return found
    if os.stat(pods).st_mode & 0o7777 != 0o700:
        raise Failure("pods/ is not 0700")
    for name in os.listdir(pods):
        p = os.path.join(pods, name)
        if name.startswith(".Pod_") and name.endswith(".tmp"):
            continue  # fsutil temp file of an interrupted write (.Pod_<uid>.yaml.<pid>.<n>.tmp)
        m = re.fullmatch(r"Pod_([0-9a-f-]{36})\.yaml", name)
        if not m:
            raise Failure("unexpected file %s in pods/" % name)
        data = open(p, "rb").read()
        h = HEADER.match(data)
        if not h:
            raise Failure("%s: bad header line %r" % (name, data[:80]))
        body = data[h.end():]
        if len(body) != int(h.group(2)):
            raise Failure("%s: truncated: %d of %s bytes" % (name, len(body), h.group(2)))
        if fnv1a64(body) != int(h.group(1), 16):
            raise Failure("%s: checksum mismatch" % name)
        if os.stat(p).st_mode & 0o7777 != 0o600:
            raise Failure("%s: mode is not 0600" % name)
        doc = yaml.load(body, Loader=YamlLoader)
        if doc.get("kind") != "Checkpoint" or doc["pod"]["metadata"]["uid"] != m.group(1):
            raise Failure("%s: not the checkpoint of its uid" % name)
        i = [k for k in range(PODS) if pod_uid(k) == m.group(1)][0]
        image = doc["pod"]["spec"]["containers"][0]["image"]
        found[i] = int(image.split(":v")[1])
    return found


def check_after_kill(root, snapshot, victim):
    check_foreign(root, snapshot, victim)
    check_manifests(root, snapshot)
    check_checkpoints(root)
    vols = os.path.join(root, "state", "volumes")
    if os.path.isdir(vols):
        for uid in os.listdir(vols):
            if uid.startswith("."):
                continue  # a removal interrupted after its rename: hidden, cleaned later
            for entry in os.listdir(os.path.join(vols, uid)):
                if entry == "conf":
                    i = [k for k in range(PODS) if pod_uid(k) == uid][0]
                    check_volume(root, uid, i, "volumes/" + uid)
                elif not entry.startswith("."):
                    raise Failure("unexpected volume %s/%s" % (uid, entry))


def check_converged(root, snapshot, victim, seed):
    check_foreign(root, snapshot, victim)
    man = os.path.join(root, "manifests")
    leftovers = [n for n in os.listdir(man) if n not in snapshot and n.startswith(".")]
    if leftovers:
        raise Failure("temp files left after converge: %s" % leftovers)
    want = {i: seed % 1000 for i in range(PODS) if (i + seed) % 3 != 0}
    got = check_manifests(root, snapshot)
    if got != want:
        raise Failure("converged manifests %s, want %s" % (got, want))
    ck = check_checkpoints(root)
    if ck != want:
        raise Failure("converged checkpoints %s, want %s" % (ck, want))
    vols = os.path.join(root, "state", "volumes")
    uids = sorted(os.listdir(vols)) if os.path.isdir(vols) else []
    if uids != sorted(pod_uid(i) for i in want):
        raise Failure("converged volume dirs %s" % uids)
    for i in want:
        if os.listdir(os.path.join(vols, pod_uid(i))) != ["conf"]:
            raise Failure("volumes/%s holds leftovers" % pod_uid(i))
        if check_volume(root, pod_uid(i), i, "converged") != want[i]:
            raise Failure("volumes/%s: not at version %d" % (pod_uid(i), want[i]))


def converge_and_check(driver, root, snapshot, victim, seed):
    r = subprocess.run([driver, "converge", root, str(seed)], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise Failure("converge seed %d failed: %s" % (seed, r.stderr))
    try:
        check_converged(root, snapshot, victim, seed)
    except Failure as e:
        raise Failure("after converge (seed %d): %s" % (seed, e))


def main():
    driver = driver_path()
    iterations = int(os.environ.get("KC_CRASH_ITERATIONS", "250"))
    base = int(os.environ.get("KC_CRASH_SEED", str(int(time.time()) % 100000)))
    rng = random.Random(base)
    root = tempfile.mkdtemp(prefix="kc-crash.")
    started = time.monotonic()
    kills = converges = 0
    try:
        snapshot, victim = plant(root)
        # The driver must refuse to run against a missing staticPodPath, creating nothing.
        missing = os.path.join(root, "nowhere")
        r = subprocess.run([driver, "converge", missing, "1"], capture_output=True, text=True)
        if r.returncode == 0 or os.path.exists(missing):
            raise Failure("a missing staticPodPath was not reported or was created")
        for it in range(iterations):
            # Keep the test near its time budget on a loaded machine, but never
            # below MIN_KILLS kills.
            if it >= MIN_KILLS and time.monotonic() - started > BUDGET_S and it % 3 == 0:
                break
            seed = base * 1000 + it
            proc = subprocess.Popen([driver, "churn", root, str(seed)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.001, 0.050))
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate()
            if proc.returncode != -signal.SIGKILL:
                raise Failure("churn seed %d exited by itself (%s): %s"
                              % (seed, proc.returncode, err.decode()))
            kills += 1
            try:
                check_after_kill(root, snapshot, victim)
            except Failure as e:
                raise Failure("after kill %d (churn seed %d): %s" % (it, seed, e))
            # Every few kills, a restart must converge; otherwise keep the mess
            # for the next churn, which then starts from a crashed state.
            if it % 3 == 2:
                converge_and_check(driver, root, snapshot, victim, seed)
                converges += 1
        converge_and_check(driver, root, snapshot, victim, base * 1000 + kills)
        converges += 1
    except Failure as e:
        print("FAIL: %s (base seed %d; tree kept in %s)" % (e, base, root))
        return 1
    elapsed = time.monotonic() - started
    print("ok: %d SIGKILLs, %d converges, %.1f s, base seed %d"
          % (kills, converges, elapsed, base))
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
