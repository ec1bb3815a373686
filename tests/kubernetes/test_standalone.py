#!/usr/bin/env python3
"""Kubernetes tier, part 1: the real kubelet (standalone, no API) runs the bridges.

A real containerd and runc, and the kubelet built from k8s.io/kubernetes (tests/kubernetes/
build.sh), with its staticPodPath in a temp dir. The agent (the real binary) checkpoints every
pod fixture of tests/fixtures/pods (annotated, bound to this node, with plausible Secrets and
ConfigMaps, the same inputs as tests/e2e/test_render_fixtures.py) from the fake apiserver, which
is then taken down: the agent writes its bridge manifests into the kubelet's staticPodPath
(byte-identical to what `kubelet-checkpoint render` prints for the same pod), and for every one:
  - the kubelet accepts it: its pod sandbox becomes READY in containerd and every container of
    the manifest is created;
  - every materialised volume is mounted where the API pod mounted it, read-only, from the
    agent's volume directory, and holds exactly the files the API pod's volume would (items,
    key -> path), with the modes it asked for (item mode > defaultMode > 0644), the right bytes,
    and no service-account token; checked through the running container's own root
    (/proc/<pid>/root), and through the runtime spec for containers that exited.
Needs root, KC_BINARY (the agent), KC_K8S_BIN (the kubelet's directory).
"""
import base64
import json
import os
import stat
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "fakeapi"))
import node as kn  # noqa: E402
import render_support as rs  # noqa: E402
from fakeapi import FakeAPI, gen_certs  # noqa: E402

NODE = "kc-k8s-node"
BINARY = os.environ.get("KC_BINARY", "")
CRI_PROBE = os.environ.get("KC_CRI_PROBE") or os.path.join(os.path.dirname(BINARY), "cri_probe")
# Fixtures the agent must refuse (see tests/e2e/test_render_fixtures.py): not bridged.
REFUSED = ("08", "11", "12", "13", "14", "17", "20", "21")


def fixture_pods():
    """[(fixture, pod)] of every renderable fixture pod, annotated for NODE."""
    out = []
    for f in rs.fixture_files():
        if f[:2] in REFUSED:
            continue
        for pod in rs.pods_of(rs.to_json(os.path.join(rs.FIXTURES, f))):
            out.append((f, rs.annotate(pod, NODE)))
    return out


def commands_of(pods):
    """Program paths the fixture containers start (absolute, or found on PATH)."""
    cmds = set()
    for _, pod in pods:
        for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
            cmd = (c.get("command") or [None])[0]
            if cmd:
                cmds.add(cmd if cmd.startswith("/") else "/usr/local/bin/" + cmd)
    return cmds


def images_of(pods):
    return {c["image"] for _, pod in pods
            for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]}


def expected_files(pod, objects, volume):
    """{relative path: (mode, bytes or None)} an API pod's secret/configMap/projected volume
    holds, derived here from the API objects independently of the agent's code (a projected
    serviceAccountToken source holds nothing: the bridge must not carry a token)."""
    objs = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    ns = pod["metadata"]["namespace"]
    fs_group = (pod["spec"].get("securityContext") or {}).get("fsGroup")

    def data_of(kind, name):
        o = objs.get((kind, name))
        if o is None:
            return {}
        if kind == "Secret":
            return {k: base64.b64decode(v) for k, v in (o.get("data") or {}).items()}
        d = {k: v.encode() for k, v in (o.get("data") or {}).items()}
        d.update({k: base64.b64decode(v) for k, v in (o.get("binaryData") or {}).items()})
        return d

    def from_object(kind, name, src, default_mode, out):
        data = data_of(kind, name)
        if src.get("items"):
            for it in src["items"]:
                if it["key"] in data:
                    out[it["path"]] = (it.get("mode", default_mode), data[it["key"]])
        else:
            for k, v in data.items():
                out[k] = (default_mode, v)

    out = {}
    if "secret" in volume:
        s = volume["secret"]
        from_object("Secret", s["secretName"], s, s.get("defaultMode", 0o644), out)
    elif "configMap" in volume:
        s = volume["configMap"]
        from_object("ConfigMap", s["name"], s, s.get("defaultMode", 0o644), out)
    elif "projected" in volume:
        p = volume["projected"]
        dm = p.get("defaultMode", 0o644)
        for src in p.get("sources") or []:
            if "secret" in src:
                from_object("Secret", src["secret"]["name"], src["secret"], dm, out)
            elif "configMap" in src:
                from_object("ConfigMap", src["configMap"]["name"], src["configMap"], dm, out)
            elif "downwardAPI" in src:
                for it in src["downwardAPI"].get("items") or []:
                    fp = (it.get("fieldRef") or {}).get("fieldPath")
                    out[it["path"]] = (it.get("mode", dm),
                                       ns.encode() if fp == "metadata.namespace" else None)
    else:
        return None
    if fs_group is not None:
        out = {k: (m | 0o440, v) for k, (m, v) in out.items()}
    return out


class StandaloneKubelet(kn.KeepOnFailure, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t0 = time.monotonic()
        cls.pods = fixture_pods()
        cls.node = kn.Node(NODE)
        root = cls.node.root
        cls.api = FakeAPI(gen_certs(os.path.join(root, "pki"), NODE))
        cls.objects = {}
        for f, pod in cls.pods:
            objs = rs.make_objects(pod)
            cls.objects[pod["metadata"]["uid"]] = objs
            for o in objs:
                cls.api.add_object(o)
            cls.api.add_pod(pod)
        cls.state = os.path.join(root, "agent-state")
        cls.flag = os.path.join(root, "enabled")
        open(cls.flag, "w").close()
        c = os.path.join(root, "pki")
        cls.kubeconfig = os.path.join(root, "agent.kubeconfig")
        kn.write_kubeconfig(cls.kubeconfig, cls.api.url, c + "/ca.crt", c + "/client.pem",
                            c + "/client.pem")
        cls.agent = None
        # hostPath directories of the fixtures (no type) that this host lacks: containerd
        # creates them for the bridges' mounts; removed again afterwards if still empty.
        missing = set()
        for _, pod in cls.pods:
            for v in pod["spec"].get("volumes") or []:
                d = (v.get("hostPath") or {}).get("path")
                if d and not v["hostPath"].get("type"):
                    while d != "/" and not os.path.exists(d):  # up to what exists now
                        missing.add(d)
                        d = os.path.dirname(d)
        cls.created_dirs = sorted(missing, key=len, reverse=True)  # deepest first
        try:
            cls.node.start_containerd()
            cls.node.import_images(images_of(cls.pods), commands_of(cls.pods))
            cls.node.start_kubelet()
            cls.timings = {"node up": time.monotonic() - cls.t0}
            cls.start_agent()
            cls.bridge_up()
        except BaseException:
            cls.node.keep = True
            cls.tearDownClass()
            raise

    @classmethod
    def start_agent(cls):
        help_text = subprocess.run([BINARY, "run", "--help"], capture_output=True,
                                   text=True).stdout
        cgroot = "/sys/fs/cgroup"
        args = [BINARY, "run", "--kubeconfig", cls.kubeconfig, "--node-name", NODE,
                "--kubelet-config", cls.node.kubelet_config, "--state-dir", cls.state,
                "--flag-file", cls.flag, "--cgroup-root", cgroot,
                "--unreachable-after", "3", "--reachable-after", "2", "--gc-grace", "3",
                "--status-file", os.path.join(cls.node.root, "status.json"), "--namespace", "*"]
        if "--container-runtime-endpoint" in help_text:
            args += ["--container-runtime-endpoint", "unix://" + cls.node.sock]
        cls.agent = kn.Proc("agent", args, cls.node.logs)

    @classmethod
    def status(cls):
        p = subprocess.run([BINARY, "status", "-o", "json", "--state-dir", cls.state,
                            "--status-file", os.path.join(cls.node.root, "status.json"),
                            "--static-pod-path", cls.node.manifests, "--flag-file", cls.flag],
                           capture_output=True, text=True, timeout=30)
        return json.loads(p.stdout) if p.returncode == 0 else {}

    @classmethod
    def bridge_up(cls):
        want = len(cls.pods)

        def checkpointed():
            cps = cls.status().get("checkpoints") or []
            return len([c for c in cps if c.get("state") == "ok"]) == want

        kn.wait_for(checkpointed, 120, what="%d checkpoints (agent log in %s)"
                    % (want, cls.agent.log_path))
        cls.api.fault("down")
        t_down = time.monotonic()

        def bridges():
            names = [n for n in os.listdir(cls.node.manifests)
                     if n.startswith("kubelet-checkpoint_")]
            return len(names) == want and names

        kn.wait_for(bridges, 60, what="%d bridge manifests (agent log in %s)"
                    % (want, cls.agent.log_path))
        cls.timings["API down -> bridges written"] = time.monotonic() - t_down

    @classmethod
    def tearDownClass(cls):
        if cls.agent is not None:
            cls.agent.stop()
        if os.environ.get("KC_K8S_VERBOSE") and cls.node.kubelet is not None:
            print(cls.node.kubelet.tail(200), file=sys.stderr)
        cls.node.close()
        cls.api.close()
        for d in cls.created_dirs:
            try:
                os.rmdir(d)
            except OSError:
                pass
        if getattr(cls, "timings", None):
            print("standalone timings: %s" % json.dumps(
                {k: round(v, 2) for k, v in cls.timings.items()}), file=sys.stderr)
            if os.environ.get("KC_K8S_TIMINGS"):
                with open(os.environ["KC_K8S_TIMINGS"], "a") as f:
                    f.write(json.dumps({"test": "standalone", "timings": cls.timings}) + "\n")

    def bridge_path(self, pod):
        m = pod["metadata"]
        return os.path.join(self.node.manifests,
                            "kubelet-checkpoint_%s_%s.yaml" % (m["namespace"], m["name"]))

    def test_1_bridges_are_what_render_prints(self):
        for f, pod in self.pods:
            with self.subTest(fixture=f, pod=pod["metadata"]["name"]):
                d = os.path.join(self.node.root, "render-in")
                os.makedirs(d, exist_ok=True)
                path = rs.write_json(d, "in.json", {"kind": "List", "items": [pod] + self.objects[
                    pod["metadata"]["uid"]]})
                rc, out, err = rs.run(["render", "-f", path, "--node-name", NODE,
                                       "--state-dir", self.state])
                self.assertEqual(rc, 0, err)
                with open(self.bridge_path(pod), "rb") as fh:
                    self.assertEqual(fh.read(), out)

    def wait_pod(self, pod, timeout=150):
        """The READY sandbox of a bridge and its containers, once all are created."""
        m = pod["metadata"]
        names = [c["name"] for c in (pod["spec"].get("initContainers") or [])] + \
            [c["name"] for c in pod["spec"]["containers"]]
        static_name = "%s-%s" % (m["name"], NODE)

        def ready():
            sb = self.node.sandbox_of(static_name, m["namespace"])
            if sb is None or sb["state"] != "READY":
                return None
            cs = {c["name"]: c for c in self.node.cri.containers() if c["sandbox"] == sb["id"]}
            # Init containers run one after another: the first must be created, and the app
            # containers once they succeed (a stand-in that never exits holds the rest back).
            inits = [c["name"] for c in (pod["spec"].get("initContainers") or [])]
            needed = [n for n in names if n not in inits] if all(
                cs.get(n, {}).get("state") == "EXITED" for n in inits) else inits[:1]
            if all(n in cs for n in needed):
                return sb, cs
            return None

        return kn.wait_for(ready, timeout, step=0.5,
                           what="sandbox READY and containers of %s (kubelet log: %s)"
                           % (static_name, self.node.kubelet.tail(30)))

    def test_2_kubelet_runs_every_bridge(self):
        t0 = time.monotonic()
        for f, pod in self.pods:
            with self.subTest(fixture=f, pod=pod["metadata"]["name"]):
                (sb, cs), _ = self.wait_pod(pod)
                print("  %s: sandbox %s, containers %s" % (
                    pod["metadata"]["name"], sb["state"],
                    {n: c["state"] for n, c in cs.items()}), file=sys.stderr)
                self.assertEqual(sb["state"], "READY")
                self.assertEqual(sb["labels"].get("io.kubernetes.pod.namespace"),
                                 pod["metadata"]["namespace"])
                # The kubelet knows it as a static pod from our file.
                self.assertEqual(sb["annotations"].get("kubernetes.io/config.source"), "file")
                self.assertEqual(sb["annotations"].get("kubelet-checkpoint/source-uid"),
                                 pod["metadata"]["uid"])
        self.timings["bridges written -> all sandboxes READY"] = time.monotonic() - t0

    def test_3_materialised_volumes_mounted_with_their_modes(self):
        checked = 0
        self.inside = []
        for f, pod in self.pods:
            (sb, cs), _ = self.wait_pod(pod)
            objects = self.objects[pod["metadata"]["uid"]]
            vols = {v["name"]: v for v in pod["spec"].get("volumes") or []}
            for c in (pod["spec"].get("initContainers") or []) + pod["spec"]["containers"]:
                if c["name"] not in cs:
                    continue  # an init container's successor, not started yet
                st = self.node.cri.container_status(cs[c["name"]]["id"])
                spec_mounts = {m["destination"]: m for m in
                               (st["runtimeSpec"].get("mounts") or [])}
                for vm in c.get("volumeMounts") or []:
                    want = expected_files(pod, objects, vols[vm["name"]])
                    if want is None:
                        continue  # not a volume the agent materialises
                    with self.subTest(fixture=f, container=c["name"], mount=vm["mountPath"]):
                        checked += 1
                        self.check_mount(pod, c, vm, want, st, spec_mounts)
        self.assertGreater(checked, 0, "no fixture pod has a materialised volume")
        print("materialised mounts checked: %d, of them through a running container's root: "
              "%s" % (checked, self.inside), file=sys.stderr)
        self.assertTrue(self.inside, "no materialised mount seen from inside a container")

    def test_4_agent_cri_client_reads_containerd(self):
        """The agent's CRI client (src/node/cri_client.c, driven by tests/tools/cri_probe)
        lists the real containerd's sandboxes exactly as this test's own CRI client does: every
        bridge's sandbox READY under its static name, with its pod UID; and the running agent
        says its local state comes from the CRI (status "local.source")."""
        if not os.path.exists(CRI_PROBE):
            self.skipTest("no cri_probe next to the agent binary")
        for f, pod in self.pods:
            self.wait_pod(pod)
        p = subprocess.run([CRI_PROBE, "unix://" + self.node.sock, "list"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        got = json.loads(p.stdout.splitlines()[-1])
        self.assertEqual(got["rc"], "OK", got)
        theirs = {(s["id"], s["uid"], s["namespace"], s["name"], s["ready"])
                  for s in got["sandboxes"]}
        ours = {(s["id"], s["uid"], s["namespace"], s["name"], s["state"] == "READY")
                for s in self.node.cri.sandboxes()}
        self.assertEqual(theirs, ours)
        # The running agent (same client) takes its local state from that runtime.
        local = self.status().get("local")
        if local is not None:
            self.assertEqual((local.get("known"), local.get("source")), (True, "cri"), local)
        for f, pod in self.pods:
            m = pod["metadata"]
            self.assertTrue([s for s in theirs if s[2] == m["namespace"] and
                             s[3] == "%s-%s" % (m["name"], NODE) and s[4]],
                            "cri_probe does not see the READY bridge of %s" % m["name"])

    def check_mount(self, pod, c, vm, want, st, spec_mounts):
        sm = spec_mounts.get(vm["mountPath"])
        self.assertIsNotNone(sm, "%s not in the runtime spec's mounts: %s"
                             % (vm["mountPath"], sorted(spec_mounts)))
        src = sm["source"]
        vol_root = os.path.join(self.state, "volumes", pod["metadata"]["uid"]) + "/"
        self.assertTrue(src.startswith(vol_root), "mount source %s is not under %s"
                        % (src, vol_root))
        self.assertIn("ro", sm.get("options") or [], "materialised volume mounted writable")
        # Through the running container's root when it runs, else the host directory the
        # runtime bind-mounts (the same inode tree).
        if st["state"] == "RUNNING" and st["pid"]:
            base = "/proc/%d/root%s" % (st["pid"], vm["mountPath"])
            self.inside.append("%s:%s" % (c["name"], vm["mountPath"]))
        else:
            base = src
        found = {}
        for dirpath, dirnames, filenames in os.walk(base):
            for n in filenames:
                full = os.path.join(dirpath, n)
                found[os.path.relpath(full, base)] = full
        if base != src and not os.path.isdir(base):
            # The container exited meanwhile: look where the runtime bind-mounted from.
            self.inside.remove("%s:%s" % (c["name"], vm["mountPath"]))
            return self.check_mount(pod, c, vm, want, dict(st, state="EXITED"), spec_mounts)
        self.assertEqual(sorted(found), sorted(want), "files in %s" % vm["mountPath"])
        for rel, (mode, data) in want.items():
            fst = os.stat(found[rel])
            self.assertEqual(oct(stat.S_IMODE(fst.st_mode)), oct(mode), rel)
            if data is not None:
                with open(found[rel], "rb") as fh:
                    self.assertEqual(fh.read(), data, rel)


if __name__ == "__main__":
    kn.exit_on_sigterm()
    unittest.main(verbosity=2)
