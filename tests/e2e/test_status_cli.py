#!/usr/bin/env python3
"""e2e: `kubelet-checkpoint enable|disable|status` on temp directories.

status with no agent, with a planted status file whose pid is dead, with one
whose pid is a live kubelet-checkpoint process, with good, corrupt and
truncated checkpoint files and bridge manifests on disk; enable/disable are
idempotent; bad flags exit 2; status never creates or changes a file.
"""
import json
import os
import signal
import stat
import subprocess
import tempfile
import unittest

BIN = os.environ.get("KC_BINARY", "kubelet-checkpoint")

UID_OK = "0f0e0d0c-0b0a-4909-8807-060504030201"
UID_BAD = "1f0e0d0c-0b0a-4909-8807-060504030201"
UID_TRUNC = "2f0e0d0c-0b0a-4909-8807-060504030201"
UID_NC = "3f0e0d0c-0b0a-4909-8807-060504030201"


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def checkpoint_bytes(uid, ns, name, spec_extra=None):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": uid,
                     "creationTimestamp": "2026-01-01T00:00:00Z",
                     "annotations": {"node.kubernetes.io/bootstrap-checkpoint": "true"}},
        "spec": {"nodeName": "node-1",
                 "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}]},
    }
    pod["spec"].update(spec_extra or {})
    body = (json.dumps({"apiVersion": "kubelet-checkpoint/v1", "kind": "Checkpoint",
                        "objects": [], "pod": pod}) + "\n").encode()
    header = "# kubelet-checkpoint checkpoint v1 fnv1a64=%016x length=%d\n" % (
        fnv1a64(body), len(body))
    return header.encode() + body


def manifest_bytes(uid, ns, name):
    return ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n"
            "  annotations:\n    kubelet-checkpoint/checkpoint-of: %s/%s\n"
            "    kubelet-checkpoint/source-uid: %s\nspec:\n  containers:\n"
            "  - name: c\n    image: registry.k8s.io/pause:3.9\n"
            % (name, ns, ns, name, uid)).encode()


def snapshot(root):
    """Every path under root with its mode and bytes, to prove nothing changed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    data = f.read()
            out[p] = (st.st_mode, data)
    return out


class StatusCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.state = os.path.join(self.root, "state")
        self.static = os.path.join(self.root, "manifests")
        self.flag = os.path.join(self.root, "etc", "kubelet-checkpoint", "enabled")
        self.status_file = os.path.join(self.root, "run", "status.json")
        os.makedirs(self.static)

    def tearDown(self):
        self.tmp.cleanup()

    def run_kc(self, *args, expect=0):
        p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, expect,
                         "%s: exit %d\nstdout: %s\nstderr: %s"
                         % (args, p.returncode, p.stdout, p.stderr))
        return p

    def status(self, fmt="json", expect=0):
        p = self.run_kc("status", "--state-dir", self.state, "--status-file", self.status_file,
                        "--static-pod-path", self.static, "--flag-file", self.flag,
                        "-o", fmt, expect=expect)
        return json.loads(p.stdout) if fmt == "json" else p.stdout

    def plant_checkpoints(self):
        pods = os.path.join(self.state, "pods")
        os.makedirs(pods, mode=0o700)
        good = checkpoint_bytes(UID_OK, "kube-system", "kube-proxy-abc")
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_OK), "wb") as f:
            f.write(good)
        bad = bytearray(checkpoint_bytes(UID_BAD, "kube-system", "flipped"))
        bad[-10] ^= 0x01
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_BAD), "wb") as f:
            f.write(bad)
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_TRUNC), "wb") as f:
            f.write(checkpoint_bytes(UID_TRUNC, "kube-system", "truncated")[:-40])
        with open(os.path.join(pods, "notes.txt"), "w") as f:
            f.write("not a checkpoint: ignored\n")

    def plant_status(self, pid, reachable=False):
        os.makedirs(os.path.dirname(self.status_file), exist_ok=True)
        doc = {
            "agent": {"running": True, "pid": pid, "version": "0.1.0"},
            "flag": {"path": self.flag, "enabled": True},
            "api": {"reachable": reachable, "since": "2026-01-01T00:00:30Z"},
            "staticPodPath": self.static,
            "checkpoints": [
                {"namespace": "kube-system", "name": "csi-node", "uid": UID_NC,
                 "state": "not-checkpointable",
                 "reason": "spec.volumes[0].persistentVolumeClaim: needs the API",
                 "active": False},
                {"namespace": "kube-system", "name": "kube-proxy-abc", "uid": UID_OK,
                 "state": "ok", "reason": "api-reachable", "active": False,
                 "warnings": ["from the agent"]},
            ],
            "bridgeManifests": [],
        }
        with open(self.status_file, "w") as f:
            json.dump(doc, f)

    # --- enable / disable ---

    def test_enable_disable_idempotent(self):
        p = self.run_kc("enable", "--flag-file", self.flag)
        self.assertIn("created", p.stdout)
        self.assertTrue(os.path.isfile(self.flag))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.flag)).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.flag).st_mode), 0o644)
        p = self.run_kc("enable", "--flag-file", self.flag)
        self.assertIn("already present", p.stdout)
        self.assertTrue(self.status()["flag"]["enabled"])
        p = self.run_kc("disable", "--flag-file", self.flag)
        self.assertIn("removed", p.stdout)
        self.assertFalse(os.path.exists(self.flag))
        self.run_kc("disable", "--flag-file", self.flag)
        self.assertFalse(self.status()["flag"]["enabled"])
        # Missing directory: disable is still fine.
        self.run_kc("disable", "--flag-file", os.path.join(self.root, "nope", "enabled"))

    def test_enable_disable_bad_flags(self):
        self.run_kc("enable", "--bogus", expect=2)
        self.run_kc("disable", "extra-arg", expect=2)
        self.run_kc("enable", "--flag-file", "", expect=2)
        self.run_kc("enable", "--flag-file", self.root + "/", expect=2)
        # A file where the directory should be: runtime failure, nothing created.
        blocker = os.path.join(self.root, "blocker")
        open(blocker, "w").close()
        p = self.run_kc("enable", "--flag-file", os.path.join(blocker, "enabled"), expect=1)
        self.assertIn("blocker", p.stderr)

    # --- status ---

    def test_status_no_agent_empty(self):
        before = snapshot(self.root)
        doc = self.status()
        for key in ("agent", "flag", "api", "staticPodPath", "checkpoints", "bridgeManifests"):
            self.assertIn(key, doc)
        self.assertIs(doc["agent"]["running"], False)
        self.assertIsNone(doc["api"]["reachable"])
        self.assertEqual(doc["flag"], {"path": self.flag, "enabled": False})
        self.assertEqual(doc["staticPodPath"], self.static)
        self.assertEqual(doc["checkpoints"], [])
        self.assertEqual(doc["bridgeManifests"], [])
        # Nothing created: not the state dir, not the status file's dir.
        self.assertEqual(snapshot(self.root), before)
        text = self.status("text")
        self.assertIn("not running", text)
        self.assertIn("api:              unknown", text)
        # Missing staticPodPath is fine too.
        os.rmdir(self.static)
        self.assertEqual(self.status()["bridgeManifests"], [])

    def test_status_checkpoints_corrupt_and_active(self):
        self.plant_checkpoints()
        with open(os.path.join(self.static, "kubelet-checkpoint_kube-system_kube-proxy-abc.yaml"),
                  "wb") as f:
            f.write(manifest_bytes(UID_OK, "kube-system", "kube-proxy-abc"))
        with open(os.path.join(self.static, "kube-apiserver.yaml"), "w") as f:
            f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n")
        with open(os.path.join(self.static, "kubelet-checkpoint_x_y.yaml"), "w") as f:
            f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: y\n")
        before = snapshot(self.root)
        doc = self.status()
        by_uid = {c["uid"]: c for c in doc["checkpoints"]}
        self.assertEqual(set(by_uid), {UID_OK, UID_BAD, UID_TRUNC})
        ok = by_uid[UID_OK]
        self.assertEqual((ok["namespace"], ok["name"], ok["state"], ok["active"]),
                         ("kube-system", "kube-proxy-abc", "ok", True))
        for uid in (UID_BAD, UID_TRUNC):
            c = by_uid[uid]
            self.assertEqual(c["state"], "corrupt")
            self.assertFalse(c["active"])
            self.assertTrue(c["reason"])
        self.assertIn("truncated", by_uid[UID_TRUNC]["reason"])
        self.assertEqual(doc["bridgeManifests"],
                         ["kubelet-checkpoint_kube-system_kube-proxy-abc.yaml"])
        self.assertEqual([i["file"] for i in doc["ignoredFiles"]],
                         ["kubelet-checkpoint_x_y.yaml"])
        self.assertEqual(doc["counts"]["corrupt"], 2)
        self.assertIs(doc["agent"]["running"], False)
        self.assertIsNone(doc["api"]["reachable"])
        # Corrupt files are reported, never touched.
        self.assertEqual(snapshot(self.root), before)
        text = self.status("text")
        for word in ("NAMESPACE", "kube-proxy-abc", "corrupt", UID_TRUNC, "yes",
                     "kubelet-checkpoint_kube-system_kube-proxy-abc.yaml"):
            self.assertIn(word, text)

    def test_status_warnings_from_disk(self):
        """With no agent, each verified checkpoint's warnings come from its pod."""
        pods = os.path.join(self.state, "pods")
        os.makedirs(pods, mode=0o700)
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_OK), "wb") as f:
            f.write(checkpoint_bytes(UID_OK, "kube-system", "gpu-validator",
                                     {"runtimeClassName": "nvidia",
                                      "imagePullSecrets": [{"name": "reg"}]}))
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_NC), "wb") as f:
            f.write(checkpoint_bytes(UID_NC, "kube-system", "host-agent",
                                     {"hostNetwork": True, "dnsPolicy": "ClusterFirst"}))
        bad = bytearray(checkpoint_bytes(UID_BAD, "kube-system", "flipped",
                                         {"runtimeClassName": "nvidia"}))
        bad[-10] ^= 0x01
        with open(os.path.join(pods, "Pod_%s.yaml" % UID_BAD), "wb") as f:
            f.write(bad)
        before = snapshot(self.root)
        by_uid = {c["uid"]: c for c in self.status()["checkpoints"]}
        w = by_uid[UID_OK]["warnings"]
        self.assertEqual(len(w), 3, w)
        self.assertIn('runtimeClassName "nvidia"', w[0])
        self.assertIn("imagePullSecrets", w[1])
        self.assertIn("cluster DNS", w[2])
        self.assertEqual(by_uid[UID_OK]["state"], "ok")  # a warning never refuses
        self.assertEqual(by_uid[UID_NC]["warnings"], [])  # hostNetwork uses the host's DNS
        self.assertEqual(by_uid[UID_BAD]["warnings"], [])  # nothing is read from a bad file
        text = self.status("text")
        self.assertIn('warning: kube-system/gpu-validator: runtimeClassName "nvidia"', text)
        self.assertNotIn("host-agent:", text)
        self.assertEqual(snapshot(self.root), before)

    def test_status_stale_file_dead_pid(self):
        self.plant_checkpoints()
        dead = subprocess.Popen(["true"])
        dead.wait()
        self.plant_status(dead.pid, reachable=False)
        doc = self.status()
        self.assertIs(doc["agent"]["running"], False)
        self.assertIsNone(doc["api"]["reachable"])
        self.assertTrue(doc["statusFile"]["present"])
        self.assertFalse(doc["statusFile"]["current"])
        # The dead agent's not-checkpointable entry is not reported as current.
        self.assertNotIn(UID_NC, [c["uid"] for c in doc["checkpoints"]])
        self.assertIn("not running (status file is stale)", self.status("text"))
        # A live process that is not the agent: still stale.
        self.plant_status(os.getpid(), reachable=False)
        self.assertIs(self.status()["agent"]["running"], False)

    def test_status_live_agent(self):
        self.plant_checkpoints()
        # A live process of this very program (status checks the executable,
        # not argv[0]): render waiting for its input stands in for the agent.
        agent = subprocess.Popen([BIN, "render", "-f", "-"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL)
        try:
            self.plant_status(agent.pid, reachable=False)
            doc = self.status()
            self.assertIs(doc["agent"]["running"], True)
            self.assertEqual(doc["agent"]["pid"], agent.pid)
            self.assertIs(doc["api"]["reachable"], False)
            self.assertEqual(doc["api"]["since"], "2026-01-01T00:00:30Z")
            by_uid = {c["uid"]: c for c in doc["checkpoints"]}
            self.assertEqual(by_uid[UID_NC]["state"], "not-checkpointable")
            self.assertIn("persistentVolumeClaim", by_uid[UID_NC]["reason"])
            self.assertEqual(by_uid[UID_OK]["reason"], "api-reachable")
            self.assertEqual(by_uid[UID_BAD]["state"], "corrupt")  # disk wins
            # A live agent's warnings are what status shows.
            self.assertEqual(by_uid[UID_OK]["warnings"], ["from the agent"])
            text = self.status("text")
            self.assertIn("running (pid %d)" % agent.pid, text)
            self.assertIn("UNREACHABLE since 2026-01-01T00:00:30Z", text)
            # Paths default to the agent's when not given.
            p = self.run_kc("status", "--state-dir", self.state, "--status-file",
                            self.status_file, "-o", "json")
            self.assertEqual(json.loads(p.stdout)["staticPodPath"], self.static)
        finally:
            agent.send_signal(signal.SIGKILL)
            agent.wait()

    def test_status_garbage_status_file(self):
        os.makedirs(os.path.dirname(self.status_file))
        with open(self.status_file, "w") as f:
            f.write('{"agent": {"pid": 1}, "agent": {}}')  # duplicate key
        doc = self.status()
        self.assertIs(doc["agent"]["running"], False)
        self.assertTrue(doc["warnings"])
        with open(self.status_file, "w") as f:
            f.write("\x00\x01garbage")
        self.assertIs(self.status()["agent"]["running"], False)

    def test_status_bad_flags(self):
        self.run_kc("status", "-o", "yaml", expect=2)
        self.run_kc("status", "--bogus", expect=2)
        self.run_kc("status", "extra", expect=2)
        self.run_kc("status", "--state-dir", "", expect=2)
        p = self.run_kc("status", "--help")
        self.assertIn("--static-pod-path", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
