"""test_handoff_persist.py: the hand-off records and the bridge-quiet clock
survive an agent restart (<state-dir>/handoff.json, docs/design.md §6), with the
real binary, the fake apiserver and local pods from the pod cgroups:

- an agent killed mid-hand-off (its bridge withdrawn because a parent container
  appeared, the parent then gone, the API still down) does not re-activate the
  bridge at once when it starts again: the watchdog's wait still holds, and
  `status` still shows the hand-off;
- an agent restarted after a withdrawal does not collect the checkpoint within
  10 minutes of the last bridge, although its parent is confirmed gone and
  gc-grace has passed;
- a hostile records file (here: garbage; the unit tests cover the rest) is
  said naming the file, and the agent takes the conservative state: no
  activation right after the start.
"""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import (AgentEnv, AgentTestCase, checkpoint_status, annotated_pod,  # noqa: E402
                       manifest, uid_of, wait_for)

NODE = "node-1"


class HandoffPersistTest(AgentTestCase):
    def start(self):
        # All four of --kubeconfig, --node-name, --kubelet-config and
        # --static-pod-path: no kubelet is looked for in /proc (another one may
        # run on this machine).
        self.env.start(["--static-pod-path", self.env.manifests])

    def make(self, gc_grace=600):
        self.env = AgentEnv(node=NODE, unreachable_after=3, reachable_after=2, gc_grace=gc_grace)
        self.env.api.add_pods([annotated_pod("agent-a", NODE, 1)])
        return self.env

    def on_disk(self):
        return manifest("agent-a") in self.env.bridge_files()

    def restart_log(self):
        """The log since the latest restart (restart())."""
        return self.env.log_text()[self.mark:]

    def restart(self, sig=signal.SIGTERM):
        self.env.stop(sig)
        self.mark = len(self.env.log_text())
        self.start()

    def records_file(self):
        return os.path.join(self.env.state, "handoff.json")

    def activate(self):
        env = self.env
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(1))), what="checkpoint")
        env.api.fault("down")
        wait_for(self.on_disk, timeout=15, what="activation")

    def assert_no_bridge_for(self, seconds, why):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            self.assertFalse(self.on_disk(), why)
            time.sleep(0.2)

    def test_restart_mid_handoff_keeps_the_watchdog_wait(self):
        env = self.make()
        uid = uid_of(1)
        self.start()
        self.activate()
        # The kubelet admitted the parent (its pod cgroup appears): handed off.
        env.set_running(uid, True)
        wait_for(lambda: not self.on_disk(), timeout=5, what="withdrawal (hand-off)")
        # Status is written after the pass that saved the records.
        wait_for(lambda: checkpoint_status(env, uid)["handoff"] == "handed-off", timeout=5,
                 what="status handed-off")
        # The parent dies before it has run 30 s, the API is still down, and the
        # agent crashes.
        env.set_running(uid, False)
        self.restart(signal.SIGKILL)
        wait_for(lambda: "API is unreachable" in self.restart_log(), timeout=30,
                 what="outage seen again after the restart")
        # Without the records the bridge came back here, at once, with no backoff.
        self.assert_no_bridge_for(6, "re-activated right after a restart mid-hand-off")
        self.assertIn("hand-off record(s) of this boot restored", self.restart_log())
        st = checkpoint_status(env, uid)
        self.assertEqual(st["handoff"], "handed-off", st)
        self.assertIsNotNone(st.get("handoffSince"), st)

    def test_restart_after_withdrawal_does_not_collect(self):
        env = self.make(gc_grace=3)
        uid = uid_of(1)
        self.start()
        wait_for(lambda: env.status()["api"]["reachable"] is True, timeout=15,
                 what="API reachable (cluster identity known)")
        self.activate()
        env.api.fault("none")
        wait_for(lambda: env.status()["api"]["reachable"] is True, timeout=20,
                 what="API reachable again")
        # The parent is deleted: a quorum read confirms it and the bridge goes (W3).
        env.api.delete_pod("kube-system", "agent-a")
        wait_for(lambda: not self.on_disk(), timeout=20, what="withdrawal, parent gone")
        self.restart()
        wait_for(lambda: "API is reachable" in self.restart_log(), timeout=20,
                 what="API reachable after the restart")
        # gc-grace (3 s) passes several times over; the last bridge was seconds ago.
        time.sleep(8)
        self.assertTrue(os.path.exists(env.checkpoint_path(uid)),
                        "collected within 10 minutes of a bridge, after a restart")
        self.assertNotIn("checkpoint dropped", self.restart_log())

    def test_broken_records_file_is_conservative(self):
        env = self.make()
        self.start()
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(1))), what="checkpoint")
        env.stop()
        with open(self.records_file(), "w") as f:
            f.write('{"version": 1, "bootID": "nonsense"')
        os.chmod(self.records_file(), 0o600)
        env.api.fault("down")
        self.mark = len(env.log_text())
        self.start()
        wait_for(lambda: "API is unreachable" in self.restart_log(), timeout=30,
                 what="outage seen after the start")
        self.assert_no_bridge_for(5, "activated at once although the records are unknown")
        log = self.restart_log()
        self.assertIn("hand-off records unknown: %s: not JSON" % self.records_file(), log)
        self.assertEqual(checkpoint_status(env, uid_of(1))["handoff"], "handed-off")


if __name__ == "__main__":
    unittest.main()
