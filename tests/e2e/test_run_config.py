"""test_run_config.py: the configuration of `kubelet-checkpoint run` through the
real binary: --help lists every flag of docs/design.md §4; every kind of bad flag, config
key, value and kubeconfig exits 2 with a message naming it and writes nothing;
a --config file is read (flags win), each setting is logged with its source,
and SIGHUP re-reads it (a broken file keeps the running configuration).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, BINARY, wait_for  # noqa: E402

DESIGN_FLAGS = ["--config", "--kubeconfig", "--node-name", "--kubelet-config",
                "--static-pod-path", "--state-dir", "--flag-file", "--cgroup-root",
                "--unreachable-after", "--reachable-after", "--gc-grace", "--status-file",
                "--metrics-file", "--annotation", "--namespace", "-v"]


def snapshot(root):
    """Every path under root with its bytes (files) or None (directories)."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs:
            out[os.path.join(d, name)] = None
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[p] = f.read()
    return out


class RunConfigErrors(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="kc-e2e-cfg-")
        self.manifests = os.path.join(self.root, "manifests")
        os.makedirs(self.manifests)
        with open(os.path.join(self.manifests, "etcd.yaml"), "w") as f:
            f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: etcd\n")
        self.kubeconfig = os.path.join(self.root, "kubelet.conf")
        with open(self.kubeconfig, "w") as f:
            f.write("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                    "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                    "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                    "client.authentication.k8s.io/v1}}}]\n")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def base_args(self):
        """Every path inside the scratch root, so nothing else could be touched."""
        j = lambda *p: os.path.join(self.root, *p)  # noqa: E731
        return ["--kubeconfig", self.kubeconfig, "--node-name", "node-1",
                "--kubelet-config", j("kubelet", "config.yaml"),
                "--static-pod-path", self.manifests, "--state-dir", j("state"),
                "--flag-file", j("enabled"), "--cgroup-root", j("cgroup"),
                "--status-file", j("run", "status.json")]

    def write(self, name, text):
        p = os.path.join(self.root, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def expect_exit_2(self, args, *msg_parts, empty_dirs_ok_under=None):
        before = snapshot(self.root)
        p = subprocess.run([BINARY, "run"] + self.base_args() + args, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 2, "args %r: rc %d\n%s" % (args, p.returncode, p.stderr))
        for part in msg_parts:
            self.assertIn(part, p.stderr, "args %r" % (args,))
        after = snapshot(self.root)
        if empty_dirs_ok_under is not None:
            after = {p: v for p, v in after.items()
                     if not (p not in before and v is None and
                             (p + "/").startswith(empty_dirs_ok_under + "/"))}
        self.assertEqual(after, before, "args %r changed files" % (args,))

    def test_help_lists_every_flag(self):
        p = subprocess.run([BINARY, "run", "--help"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in DESIGN_FLAGS:
            self.assertIn(flag + " ", p.stdout)

    def test_bad_flags(self):
        cases = [
            (["--gc-grace=-1"], "--gc-grace", "expected a whole number"),
            (["--unreachable-after", "0"], "--unreachable-after: 0: must be between 1"),
            (["--reachable-after=15s"], "--reachable-after"),
            (["--node-name", "Node_1"], "--node-name", "Node_1"),
            (["--namespace", "../etc"], "--namespace"),
            (["--annotation", "a/b/c"], "--annotation"),
            (["--metrics-file", os.path.join(self.root, "m.txt")], "--metrics-file",
             "must end in \".prom\""),
            (["--state-dir="], "--state-dir: must not be empty"),
            (["--bogus"], "--bogus: unknown flag"),
            (["--gc"], "--gc: unknown flag (did you mean --gc-grace?)"),
            (["--kubeconfig"], "needs a value"),
            (["stray"], "stray: unexpected argument"),
            (["--config", os.path.join(self.root, "missing.yaml")], "--config", "missing.yaml"),
        ]
        for case in cases:
            with self.subTest(args=case[0]):
                self.expect_exit_2(case[0], *case[1:])

    def test_bad_config_files(self):
        cases = [
            ("syncPeriod: 10\n", "syncPeriod: unknown key"),
            ("node-name: x\n", "did you mean nodeName?"),
            ("gcGrace: '60'\n", "gcGrace: expected a whole number of seconds"),
            ("namespace: []\n", "namespace: expected a non-empty list"),
            ("stateDir: [a]\n", "stateDir: expected a string"),
            ("stateDir: /a\nstateDir: /b\n", "duplicate key"),
            ("a: 1\n---\nb: 2\n", "expected one document"),
            ("[unclosed\n", "config.yaml"),
            ("a: &a [*a]\n", "config.yaml"),
        ]
        for text, msg in cases:
            with self.subTest(text=text):
                path = self.write("config.yaml", text)
                self.expect_exit_2(["--config", path], path, msg)
        # A bad value in the file is an error even when a flag overrides it.
        path = self.write("config.yaml", "gcGrace: -5\n")
        self.expect_exit_2(["--config", path, "--gc-grace", "5"], "gcGrace")

    def test_unsupported_kubeconfig(self):
        # The kubeconfig is read after the agent has opened its state directory,
        # so empty directories there are tolerated; no file anywhere may change.
        self.expect_exit_2([], self.kubeconfig,
                           "users[0].user.exec: exec credential plugins are not supported",
                           empty_dirs_ok_under=os.path.join(self.root, "state"))


class RunConfigLive(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node="node-1")
        self.config = os.path.join(self.env.root, "etc", "kubelet-checkpoint", "config.yaml")
        self.write_config("nodeName: not-this-one\n"  # the --node-name flag wins
                          "annotation:\n"
                          "- node.kubernetes.io/bootstrap-checkpoint\n"
                          "- checkpointer.alpha.coreos.com/checkpoint\n"
                          "verbosity: 1\n")

    def tearDown(self):
        self.env.close()

    def write_config(self, text):
        tmp = self.config + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.config)

    def wait_log(self, text, after=0):
        wait_for(lambda: text in self.env.log_text()[after:], timeout=15, what=repr(text))

    def test_file_sources_and_reload(self):
        proc = self.env.start(extra=["--config", self.config])
        self.wait_log("config: annotation=node.kubernetes.io/bootstrap-checkpoint,"
                      "checkpointer.alpha.coreos.com/checkpoint (config file)")
        log = self.env.log_text()
        self.assertIn("config: reading settings from %s" % self.config, log)
        self.assertIn("config: nodeName=node-1 (flag)", log)
        self.assertIn("config: verbosity=1 (config file)", log)
        self.assertIn("config: staticPodPath=%s (kubelet config)" % self.env.manifests, log)
        self.assertIn("config: gcGrace=3s (flag)", log)

        mark = len(log)
        self.write_config("annotation: checkpointer.alpha.coreos.com/checkpoint\n")
        proc.send_signal(signal.SIGHUP)
        self.wait_log("config: annotation=checkpointer.alpha.coreos.com/checkpoint (config file)",
                      mark)
        self.wait_log("config: verbosity=0 (default)", mark)

        mark = len(self.env.log_text())
        self.write_config("annotation: checkpointer.alpha.coreos.com/checkpoint\nbogusKey: 1\n")
        proc.send_signal(signal.SIGHUP)
        self.wait_log("bogusKey: unknown key", mark)
        time.sleep(0.5)
        self.assertIsNone(proc.poll(), "a bad reload must keep the agent running")
        self.assertEqual(self.env.stop(), 0)
        self.assertEqual(self.env.foreign_snapshot(), self.env.foreign_before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
