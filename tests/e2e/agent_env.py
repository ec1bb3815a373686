"""agent_env.py: a throwaway node for end-to-end tests of `kubelet-checkpoint run`
(and for scripts/demo.py): a fake apiserver with TLS client certificates, a
kubeconfig, a kubelet config whose staticPodPath the agent must honour, a
staticPodPath holding foreign files the agent must never touch, a fake pod
cgroup tree, a flag file, and the real binary started against all of it.

Standard library only.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakeapi"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fakecri"))
from fakeapi import FakeAPI, gen_certs, make_pod  # noqa: E402
from fakecri import FakeCRI  # noqa: E402

BINARY = os.environ.get("KC_BINARY", "")
TOOL = os.environ.get("KC_RENDER_TOOL") or os.path.join(os.path.dirname(BINARY), "kc_render_tool")
TRIGGER = "node.kubernetes.io/bootstrap-checkpoint"
PREFIX = "kubelet-checkpoint_"

def manifest(name, namespace="kube-system"):
    """The bridge manifest's file name of pod namespace/name."""
    return "kubelet-checkpoint_%s_%s.yaml" % (namespace, name)


def metric_value(env, sample):
    """A sample of the agent's Prometheus textfile as a float, None when absent."""
    try:
        with open(env.metrics_file) as f:
            for line in f:
                if line.startswith(sample + " "):
                    return float(line.split()[-1])
    except OSError:
        pass
    return None


def sanitized(path):
    """An ASan build (scripts/test-sanitize.sh): its shadow memory inflates RSS,
    and a library preloaded ahead of its runtime needs verify_asan_link_order=0."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def faketime_wrapper(lib, stamp_file):
    """The wrapper (AgentEnv.start) that runs the agent under libfaketime, its
    wall clock moved by what stamp_file says ("+120h"), the monotonic clock not."""
    wrapper = ["env", "LD_PRELOAD=" + lib, "FAKETIME_TIMESTAMP_FILE=" + stamp_file,
               "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"]
    if sanitized(BINARY):
        wrapper.append("ASAN_OPTIONS=%s:verify_asan_link_order=0" %
                       os.environ.get("ASAN_OPTIONS", ""))
    return wrapper

FOREIGN = {
    "kube-apiserver.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n"
                           "spec:\n  containers:\n  - name: a\n    image: k8s/apiserver\n",
    "etcd.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\nspec: {}\n",
    ".keep": "a foreign dotfile\n",
    # Our prefix, but no marker annotation: not ours either.
    PREFIX + "kube-system_impostor.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
}


def uid_of(n):
    return "00000000-0000-4000-8000-%012d" % n


class AgentEnv:
    """One node: directories, a fake apiserver, and the agent process."""

    def __init__(self, node="node-1", unreachable_after=3, reachable_after=2, gc_grace=3,
                 base=None, api=True, cri=False):
        self.node = node
        self.root = tempfile.mkdtemp(prefix="kc-e2e-", dir=base)
        self.certs = gen_certs(os.path.join(self.root, "pki"), node)
        self.state = os.path.join(self.root, "state")
        self.manifests = os.path.join(self.root, "etc", "kubernetes", "manifests")
        self.flag = os.path.join(self.root, "etc", "kubelet-checkpoint", "enabled")
        self.cgroup = os.path.join(self.root, "cgroup")
        self.status_file = os.path.join(self.root, "run", "status.json")
        self.metrics_file = os.path.join(self.root, "metrics", "kubelet_checkpoint.prom")
        self.kubelet_config = os.path.join(self.root, "var", "lib", "kubelet", "config.yaml")
        self.log_path = os.path.join(self.root, "agent.log")
        # The container runtime's socket: absent unless cri=True starts the
        # fake runtime there (tests/fakecri); the agent then falls back to
        # the fake pod cgroups.
        self.cri_sock = os.path.join(self.root, "run", "containerd", "containerd.sock")
        os.makedirs(os.path.dirname(self.cri_sock), exist_ok=True)
        self.windows = (unreachable_after, reachable_after, gc_grace)
        for d in (self.manifests, os.path.dirname(self.flag), os.path.dirname(self.kubelet_config),
                  os.path.join(self.cgroup, "kubepods.slice"), os.path.dirname(self.metrics_file)):
            os.makedirs(d, exist_ok=True)
        with open(self.kubelet_config, "w") as f:
            f.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                    "staticPodPath: %s\n" % self.manifests)
        for name, text in FOREIGN.items():
            with open(os.path.join(self.manifests, name), "w") as f:
                f.write(text)
        self.victim = os.path.join(self.root, "victim.txt")
        with open(self.victim, "w") as f:
            f.write("must never change\n")
        os.symlink(self.victim, os.path.join(self.manifests, "evil.yaml"))
        open(self.flag, "w").close()
        self.foreign_before = self.foreign_snapshot()
        self.api = FakeAPI(self.certs) if api else None
        self.kubeconfig = os.path.join(self.root, "kubelet.conf")
        if self.api is not None:
            self.write_kubeconfig(self.api.url)
        self.cri = FakeCRI(self.cri_sock) if cri else None
        self.proc = None
        self.log = None

    def write_kubeconfig(self, server):
        c = self.certs
        with open(self.kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: node\n"
                    "clusters:\n- name: fake\n  cluster:\n    server: %s\n"
                    "    certificate-authority: %s/ca.crt\n"
                    "contexts:\n- name: node\n  context:\n    cluster: fake\n    user: node\n"
                    "users:\n- name: node\n  user:\n    client-certificate: %s/client.pem\n"
                    "    client-key: %s/client.pem\n" % (server, c, c, c))

    # The agent.
    def args(self, extra=()):
        ua, ra, gc = self.windows
        return [BINARY, "run", "--kubeconfig", self.kubeconfig, "--node-name", self.node,
                "--kubelet-config", self.kubelet_config, "--state-dir", self.state,
                "--flag-file", self.flag, "--cgroup-root", self.cgroup,
                "--unreachable-after", str(ua), "--reachable-after", str(ra),
                "--gc-grace", str(gc), "--startup-spread", "0",
                "--status-file", self.status_file,
                "--metrics-file", self.metrics_file, "--namespace", "*",
                "--container-runtime-endpoint", "unix://" + self.cri_sock] + list(extra)

    def start(self, extra=(), wrapper=()):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(list(wrapper) + self.args(extra), stdout=self.log,
                                     stderr=subprocess.STDOUT)
        return self.proc

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc = None
        self.log.close()
        return rc

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def close(self):
        try:
            self.stop(signal.SIGKILL)
        except Exception:
            pass
        if self.api is not None:
            self.api.close()
        if self.cri is not None:
            self.cri.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # The node.
    def pod_cgroup(self, uid):
        u = uid.replace("-", "_")
        return os.path.join(self.cgroup, "kubepods.slice", "kubepods-besteffort.slice",
                            "kubepods-besteffort-pod%s.slice" % u)

    def set_running(self, uid, running):
        path = self.pod_cgroup(uid)
        if running:
            os.makedirs(path, exist_ok=True)
        elif os.path.isdir(path):
            os.rmdir(path)

    def bridge_files(self):
        return sorted(n for n in os.listdir(self.manifests)
                      if n.startswith(PREFIX) and n not in FOREIGN)

    def checkpoint_path(self, uid):
        return os.path.join(self.state, "pods", "Pod_%s.yaml" % uid)

    def foreign_snapshot(self):
        snap = {}
        for name in sorted(os.listdir(self.manifests)):
            path = os.path.join(self.manifests, name)
            if name.startswith(PREFIX) and name not in FOREIGN:
                continue
            st = os.lstat(path)
            if os.path.islink(path):
                snap[name] = ("link", os.readlink(path))
            else:
                with open(path, "rb") as f:
                    snap[name] = ("file", hashlib.sha256(f.read()).hexdigest(), st.st_mtime_ns,
                                  st.st_ino)
        with open(self.victim, "rb") as f:
            snap["<victim>"] = hashlib.sha256(f.read()).hexdigest()
        return snap

    def status(self):
        if os.environ.get("KC_AGENT_WRAPPER") and self.proc is not None and \
                self.proc.poll() is None:
            # A tool runs the agent (valgrind): /proc/<pid>/exe is the tool's, so
            # `status` rightly does not take that pid for the agent and shows only
            # what is on disk. The agent's own report is the status file.
            try:
                with open(self.status_file) as f:
                    return json.load(f)
            except (OSError, ValueError):
                pass
        p = subprocess.run([BINARY, "status", "-o", "json", "--state-dir", self.state,
                            "--status-file", self.status_file, "--static-pod-path",
                            self.manifests, "--flag-file", self.flag],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("status failed: %s" % p.stderr)
        return json.loads(p.stdout)

    def status_text(self):
        return subprocess.run([BINARY, "status", "--state-dir", self.state, "--status-file",
                               self.status_file, "--static-pod-path", self.manifests,
                               "--flag-file", self.flag],
                              capture_output=True, text=True, timeout=30).stdout

    def manifest_json(self, name):
        p = subprocess.run([TOOL, "tojson", os.path.join(self.manifests, name)],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("%s does not parse: %s" % (name, p.stderr))
        return json.loads(p.stdout)[0]

    def check_manifest(self, name):
        """The project's rule checker and the real Kubernetes schema."""
        path = os.path.join(self.manifests, name)
        p = subprocess.run([TOOL, "check", path], capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError("rule check of %s failed:\n%s%s" % (name, p.stdout, p.stderr))
        node = shutil.which("node")
        script = os.path.join(SOURCE_DIR, "tests", "schema", "validate.mjs")
        if node is None or not os.path.isdir(os.path.join(SOURCE_DIR, "tests", "schema",
                                                          "node_modules")):
            raise AssertionError("node and tests/schema/node_modules are needed "
                                 "(scripts/setup.sh --test)")
        jpath = os.path.join(self.root, name + ".json")
        with open(jpath, "w") as f:
            json.dump(self.manifest_json(name), f)
        p = subprocess.run([node, script, jpath], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("schema check of %s failed:\n%s%s" % (name, p.stdout, p.stderr))


def checkpoint_status(env, uid):
    """status's entry for the checkpoint of uid, or None."""
    for c in env.status()["checkpoints"]:
        if c["uid"] == uid:
            return c
    return None


class AgentTestCase(unittest.TestCase):
    """A test with at most one AgentEnv, self.env: afterwards its agent is
    stopped, every file of the staticPodPath that is not ours must be as it
    was, and its directory is removed."""

    def setUp(self):
        self.env = None

    def tearDown(self):
        if self.env is not None:
            if self.env.proc is not None and self.env.proc.poll() is None:
                self.env.stop()
            self.assertEqual(self.env.foreign_snapshot(), self.env.foreign_before)
            self.env.close()


def wait_for(pred, timeout=15.0, step=0.05, what="condition"):
    """Poll pred until it is truthy; returns (value, seconds waited)."""
    t0 = time.monotonic()
    while True:
        v = pred()
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


def annotated_pod(name, node, n, namespace="kube-system", **spec):
    return make_pod(name, node, namespace=namespace, uid=uid_of(n), **spec)


def configmap(name, namespace, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "uid": uid_of(9000 + len(name)),
                         "resourceVersion": "1"}, "data": data}


def secret(name, namespace, data):
    import base64
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "uid": uid_of(9500 + len(name)),
                         "resourceVersion": "1"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


# KC_AGENT_WRAPPER (shlex syntax, e.g. "valgrind --error-exitcode=99"): every
# agent started without an explicit wrapper runs under it, so the same tests
# run under valgrind or another tool (scripts/test-valgrind.sh).
_start_unwrapped = AgentEnv.start


def _start_with_env_wrapper(self, extra=(), wrapper=()):
    import shlex
    if not wrapper and os.environ.get("KC_AGENT_WRAPPER"):
        wrapper = shlex.split(os.environ["KC_AGENT_WRAPPER"])
    return _start_unwrapped(self, extra, wrapper)


AgentEnv.start = _start_with_env_wrapper
