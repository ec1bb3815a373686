"""test_trust_boundaries.py: what a local user, an API object or a stale
checkpoint can make the agent do (issue 9), through the real binary.

- Processes called "kubelet" that are not root's (or run a binary others can
  write) are never adopted: the agent keeps its own settings and keeps running.
- A pod taking a Secret value into env is not checkpointable unless its owner
  opted in (the mirror pod would publish the value); Secret volumes are fine.
"""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, secret, wait_for  # noqa: E402

# The impostors are sh: "kubelet -c LOOP --kubeconfig=... " (the loop keeps sh itself
# running, so /proc/<pid>/exe stays the shell).
SHELL = os.path.realpath("/bin/sh")
SLEEPER = "while :; do sleep 600; done"


def drop_to_nobody():
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


class FakeKubelets(unittest.TestCase):
    """Two impostors named kubelet while the real kubelet is not running."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to start a process as nobody")
        # The node name comes from discovery (no --node-name): the host name unless a
        # kubelet is adopted. The client certificate names the host, as on a real node.
        self.host = socket.gethostname().strip().lower()
        self.env = AgentEnv(node=self.host)
        self.impostors = []

    def tearDown(self):
        for p in self.impostors:
            p.kill()
            p.wait()
        self.env.close()

    def impostor(self, executable, hostname, preexec=None):
        evil = os.path.join(self.env.root, "evil-%s.conf" % hostname)
        with open(evil, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                    "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                    "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                    "users: [{name: u, user: {}}]\n")
        p = subprocess.Popen(["kubelet", "-c", SLEEPER, "--kubeconfig=" + evil,
                              "--hostname-override=" + hostname],
                             executable=executable, preexec_fn=preexec,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.impostors.append(p)
        # Wait until the process is the interpreter (exec done, uid dropped).
        wait_for(lambda: cmdline(p.pid).startswith(b"kubelet\0"),
                 what="impostor %s running" % hostname)
        return p

    def test_impostors_are_not_adopted(self):
        env = self.env
        api = env.api
        nobody = self.impostor(SHELL, "victim", preexec=drop_to_nobody)
        # Root, but running a binary anyone may overwrite.
        writable = os.path.join(env.root, "bin", "sh")
        os.makedirs(os.path.dirname(writable))
        shutil.copy(SHELL, writable)
        os.chmod(writable, 0o777)
        rooted = self.impostor(writable, "victim-two")

        args = env.args()
        i = args.index("--node-name")
        del args[i:i + 2]
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(args + ["--static-pod-path", env.manifests],
                                    stdout=env.log, stderr=subprocess.STDOUT)
        wait_for(lambda: "nodeName=" in env.log_text(), what="config logged")
        api.add_pod(make_annotated(self.host))
        time.sleep(2)
        self.assertIsNone(env.proc.poll(), env.log_text())
        log = env.log_text()
        self.assertIn("nodeName=%s (host name)" % self.host, log)
        self.assertNotIn("victim", log.split("ignoring")[0])
        self.assertIn("ignoring /proc/%d" % nobody.pid, log)
        self.assertIn("uid %d (real)" % pwd.getpwnam("nobody").pw_uid, log)
        self.assertIn("ignoring /proc/%d" % rooted.pid, log)
        self.assertIn("writable by others", log)
        self.assertIn("no trustworthy kubelet found", log)
        for line in log.splitlines():
            if "config: kubeconfig=" in line:
                self.assertIn(env.kubeconfig, line)
        # It talks to the real API under its own name and checkpoints the pod.
        wait_for(lambda: any(c["state"] == "ok" for c in env.status()["checkpoints"]),
                 what="checkpoint of the host's pod")
        self.assertIsNone(env.proc.poll())


class SecretEnv(unittest.TestCase):
    def test_secret_env_needs_the_owners_opt_in(self):
        with AgentEnv() as env:
            env.api.add_object(secret("db", "kube-system", {"password": "hunter2"}))
            spec = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9", "env": [
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}
            env.api.add_pod(annotated_pod("leaky", env.node, 11, **spec))
            allowed = annotated_pod("allowed", env.node, 12, **spec)
            allowed["metadata"]["annotations"]["kubelet-checkpoint/inline-secret-env"] = "true"
            env.api.add_pod(allowed)
            vol = annotated_pod("volume", env.node, 13, volumes=[
                {"name": "db", "secret": {"secretName": "db"}}])
            env.api.add_pod(vol)
            env.start()

            def states():
                return {c["name"]: c for c in env.status()["checkpoints"]}
            wait_for(lambda: len(states()) == 3, what="three pods in status")
            wait_for(lambda: states()["allowed"]["state"] == "ok" and
                     states()["volume"]["state"] == "ok", what="opted-in and volume pods ok")
            leaky = states()["leaky"]
            self.assertEqual(leaky["state"], "not-checkpointable", leaky)
            self.assertIn("kubelet-checkpoint/inline-secret-env", leaky["reason"])
            self.assertIn("mirror pod", leaky["reason"])
            # The outage: only the two others are bridged, and no file anywhere holds
            # the value in a manifest of the leaky pod.
            env.api.fault("down")
            wait_for(lambda: len(env.bridge_files()) == 2, timeout=30, what="two bridges")
            self.assertEqual(sorted(env.bridge_files()),
                             ["kubelet-checkpoint_kube-system_allowed.yaml",
                              "kubelet-checkpoint_kube-system_volume.yaml"])
            with open(os.path.join(env.manifests, env.bridge_files()[1])) as f:
                self.assertNotIn("hunter2", f.read())


def make_annotated(node):
    from fakeapi import make_pod
    return make_pod("agent", node, uid="00000000-0000-4000-8000-000000000001")


if __name__ == "__main__":
    unittest.main()
