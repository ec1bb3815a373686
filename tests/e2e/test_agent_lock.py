#!/usr/bin/env python3
"""End-to-end: one agent per state dir and per staticPodPath (issue 19 item 12).

Two agents on the same directories made thousands of activations and
withdrawals a second without a word. A second agent on the same state dir,
or on the same staticPodPath with a state dir of its own, now exits 1 naming
the lock and the first agent's pid; the first one goes on undisturbed and
nothing new appears in the staticPodPath.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, uid_of, wait_for  # noqa: E402

NODE = "node-1"


class AgentLock(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.env.api.add_pod(annotated_pod("p1", NODE, 1))
        self.env.start()
        wait_for(lambda: os.path.exists(self.env.checkpoint_path(uid_of(1))), timeout=20,
                 what="first agent's checkpoint")

    def tearDown(self):
        self.env.close()

    def second(self, extra):
        return subprocess.run(self.env.args(extra), capture_output=True, text=True, timeout=20)

    def test_second_agent_on_the_state_dir_exits(self):
        before = sorted(os.listdir(self.env.manifests))
        out = self.second(["--status-file", os.path.join(self.env.root, "second.json")])
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        text = out.stdout + out.stderr
        self.assertIn(os.path.join(self.env.state, "lock"), text)
        self.assertIn("(pid %d)" % self.env.proc.pid, text)
        self.assertIsNone(self.env.proc.poll(), "the first agent must go on")
        self.assertEqual(sorted(os.listdir(self.env.manifests)), before)

    def test_second_agent_on_the_static_pod_path_exits(self):
        other = os.path.join(self.env.root, "other-state")
        before = sorted(os.listdir(self.env.manifests))
        out = self.second(["--state-dir", other,
                           "--status-file", os.path.join(self.env.root, "second.json")])
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        text = out.stdout + out.stderr
        self.assertIn("staticPodPath %s is locked" % self.env.manifests, text)
        self.assertIn("(pid %d)" % self.env.proc.pid, text)
        self.assertIsNone(self.env.proc.poll(), "the first agent must go on")
        self.assertEqual(sorted(os.listdir(self.env.manifests)), before)


if __name__ == "__main__":
    unittest.main()
