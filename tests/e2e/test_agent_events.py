"""test_agent_events.py: the cluster learns what the bridge did (issue 11).

The real agent against the fake apiserver through a whole outage: the Events
it POSTs (core/v1, with the node's own client certificate) are
NotCheckpointable for a pod that cannot be checkpointed, CheckpointCorrupt
for a damaged checkpoint file (on the Node: the file names no pod), then,
once the API is back, CheckpointBridgeActivated (when, after how long without
the API) and CheckpointBridgeWithdrawn (how long the bridge ran) on the
parent pod. Nothing is posted while the API is down, and an apiserver that
refuses Events (403) delays no withdrawal and is not taken for an API that
refuses the node's credentials. A bridge goes when its parent gets a container
again, not when the API answers (issue 18). The status also carries the parent's
warnings (runtimeClassName).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, wait_for  # noqa: E402

NODE = "node-1"
CORRUPT_UID = "9f0e0d0c-0b0a-4909-8807-060504030201"


class AgentEventsTest(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.api = self.env.api
        self.parent = annotated_pod("gpu-validator", NODE, 1, runtimeClassName="nvidia")
        self.uid = self.parent["metadata"]["uid"]
        self.pvc = annotated_pod("with-pvc", NODE, 3, volumes=[
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}])
        self.api.add_pods([self.parent, self.pvc])
        self.manifest = "kubelet-checkpoint_kube-system_gpu-validator.yaml"

    def tearDown(self):
        if self.env.proc is not None and self.env.proc.poll() is None:
            self.env.stop()
        self.env.close()

    def plant_corrupt(self):
        pods = os.path.join(self.env.state, "pods")
        os.makedirs(pods, mode=0o700, exist_ok=True)
        with open(os.path.join(pods, "Pod_%s.yaml" % CORRUPT_UID), "w") as f:
            f.write("# kubelet-checkpoint checkpoint v1 fnv1a64=0000000000000000 length=3\nab\n")

    def events(self, reason=None):
        return [e for e in self.api.events() if reason is None or e["reason"] == reason]

    def wait_manifest(self, present, timeout=15):
        wait_for(lambda: (self.manifest in self.env.bridge_files()) == present,
                 timeout=timeout, what="manifest present=%s" % present)

    def test_outage_cycle_events(self):
        env = self.env
        self.plant_corrupt()
        env.start()
        wait_for(lambda: os.path.exists(env.checkpoint_path(self.uid)), timeout=30,
                 what="checkpoint")
        # Raised while the API is up: posted once it is reachable.
        nc, _ = wait_for(lambda: self.events("NotCheckpointable"), what="NotCheckpointable")
        self.assertEqual(len(nc), 1)
        self.assertEqual(nc[0]["involvedObject"]["name"], "with-pvc")
        self.assertEqual(nc[0]["involvedObject"]["uid"], self.pvc["metadata"]["uid"])
        self.assertIn("persistentVolumeClaim", nc[0]["message"])
        self.assertEqual(nc[0]["type"], "Warning")
        self.assertEqual(nc[0]["_user"], "system:node:" + NODE)
        cc, _ = wait_for(lambda: self.events("CheckpointCorrupt"), what="CheckpointCorrupt")
        self.assertEqual(cc[0]["involvedObject"]["kind"], "Node")
        self.assertEqual(cc[0]["involvedObject"]["name"], NODE)
        self.assertEqual(cc[0]["metadata"]["namespace"], "default")
        self.assertIn(CORRUPT_UID, cc[0]["message"])
        # The parent's warnings are in the status.
        st, _ = wait_for(lambda: (lambda c: c if c else None)(
            [c for c in env.status()["checkpoints"] if c["uid"] == self.uid]),
            what="parent in status")
        self.assertTrue(any('runtimeClassName "nvidia"' in w for w in st[0]["warnings"]),
                        st[0]["warnings"])
        self.assertIn('runtimeClassName "nvidia"', env.log_text())

        # Outage: the bridge is written; nothing can be posted.
        self.api.fault("down")
        down_at = time.time()
        self.wait_manifest(True)
        time.sleep(2.0)  # the bridge runs a while
        before = len(self.events())
        self.api.fault("none")
        # The bridge goes once the kubelet gives the parent a container (its cgroup).
        wait_for(lambda: env.status()["api"]["reachable"] is True, timeout=20,
                 what="API reachable")
        env.set_running(self.uid, True)
        self.wait_manifest(False, timeout=20)
        act, _ = wait_for(lambda: self.events("CheckpointBridgeActivated"), timeout=15,
                          what="CheckpointBridgeActivated")
        wd, _ = wait_for(lambda: self.events("CheckpointBridgeWithdrawn"), timeout=15,
                         what="CheckpointBridgeWithdrawn")
        self.assertEqual(before, 2, "only the events raised before the outage")
        for e in (act[0], wd[0]):
            self.assertEqual(e["involvedObject"], {
                "apiVersion": "v1", "kind": "Pod", "namespace": "kube-system",
                "name": "gpu-validator", "uid": self.uid})
            self.assertEqual(e["metadata"]["namespace"], "kube-system")
            self.assertEqual(e["source"], {"component": "kubelet-checkpoint", "host": NODE})
            self.assertEqual(e["count"], 1)
            self.assertEqual(e["_user"], "system:node:" + NODE)
        self.assertIn("without the API", act[0]["message"])
        self.assertIn("gpu-validator-" + NODE, act[0]["message"])
        self.assertIn(self.manifest, act[0]["message"])
        self.assertIn("after running", wd[0]["message"])
        # Timestamps: the activation happened during the outage, not when posted.
        first = time.mktime(time.strptime(act[0]["firstTimestamp"], "%Y-%m-%dT%H:%M:%SZ")) - \
            time.timezone
        self.assertGreaterEqual(first, int(down_at))
        names = [e["metadata"]["name"] for e in self.events()]
        self.assertEqual(len(names), len(set(names)))
        # Posted in the order they happened.
        order = [e["reason"] for e in self.events()]
        self.assertLess(order.index("CheckpointBridgeActivated"),
                        order.index("CheckpointBridgeWithdrawn"))
        log = env.log_text()
        self.assertNotIn("event dropped", log)
        ev, _ = wait_for(lambda: (lambda e: e if e["queued"] == 0 else None)(
            env.status()["events"]), what="status: nothing left to post")
        self.assertEqual((ev["posted"], ev["dropped"], ev["rejected"]), (4, 0, 0))

    def test_not_running_event(self):
        """A bridge the kubelet did not start (no sandbox in the container runtime
        after bridge-start-timeout) is told as CheckpointNotRunning; a started one is not."""
        self.env.close()
        self.env = AgentEnv(node=NODE, cri=True)
        self.api = self.env.api
        started = annotated_pod("agent-a", NODE, 5)
        self.api.add_pods([self.parent, started])
        env = self.env
        env.start(["--bridge-start-timeout", "3"])
        wait_for(lambda: os.path.exists(env.checkpoint_path(self.uid)), timeout=30,
                 what="checkpoint")
        self.api.fault("down")
        self.wait_manifest(True)
        env.cri.add("0123456789abcdef0123456789abcdef", "agent-a-" + NODE, "kube-system")
        wait_for(lambda: "bridge of kube-system/gpu-validator" in env.log_text(), timeout=10,
                 what="not running logged")
        self.api.fault("none")
        # The kubelet gives both parents back (their sandboxes): both bridges go.
        env.cri.add(self.uid, "gpu-validator", "kube-system")
        env.cri.add(started["metadata"]["uid"], "agent-a", "kube-system")
        nr, _ = wait_for(lambda: self.events("CheckpointNotRunning"), timeout=30,
                         what="CheckpointNotRunning")
        self.assertEqual(len(nr), 1)
        self.assertEqual(nr[0]["involvedObject"]["name"], "gpu-validator")
        self.assertEqual(nr[0]["involvedObject"]["uid"], self.uid)
        self.assertEqual(nr[0]["type"], "Warning")
        self.assertIn("gpu-validator-" + NODE, nr[0]["message"])
        self.assertIn("did not start it", nr[0]["message"])
        wait_for(lambda: len(self.events("CheckpointBridgeWithdrawn")) == 2, timeout=15,
                 what="both withdrawals told")
        self.assertEqual(len(self.events("CheckpointNotRunning")), 1)
        # The hand-off completes once the parent ran 30 s; then the parents go.
        wait_for(lambda: all(c.get("handoff") is None for c in env.status()["checkpoints"]),
                 timeout=60, what="hand-offs done")
        env.cri.remove(self.uid)
        env.cri.remove(started["metadata"]["uid"])
        # A second outage, the same bridge not started again: the posted Event is
        # PATCHed to count 2 (as the kubelet's recorder does), not posted anew.
        self.api.fault("down")
        self.wait_manifest(True, timeout=30)

        def bridge_state():
            for c in env.status()["checkpoints"]:
                if c["uid"] == self.uid:
                    return c.get("bridge")
        wait_for(lambda: bridge_state() == "not-running", timeout=30,
                 what="not running again")
        self.api.fault("none")
        wait_for(lambda: self.events("CheckpointNotRunning")[0]["count"] == 2, timeout=30,
                 what="the Event patched to count 2")
        nr = self.events("CheckpointNotRunning")
        self.assertEqual(len(nr), 1)
        self.assertEqual(nr[0]["_patches"], 1)
        self.assertNotEqual(nr[0]["firstTimestamp"], nr[0]["lastTimestamp"])

    def test_events_refused_delay_nothing(self):
        env = self.env
        self.api.fault("status", code=403, match="/events")
        env.start()
        try:
            wait_for(lambda: os.path.exists(env.checkpoint_path(self.uid)), timeout=30,
                     what="checkpoint")
        except AssertionError:  # say what the agent and the fake saw (a loaded CI machine?)
            print(env.log_text(), self.api.requests()[-5:])
            raise
        wait_for(lambda: "event dropped" in env.log_text(), what="the refused event logged")
        self.api.fault("down")
        self.wait_manifest(True)
        self.api.fault("status", code=403, match="/events")
        wait_for(lambda: env.status()["api"]["reachable"] is True, timeout=25,
                 what="API reachable")
        # Withdrawn as soon as the parent's container appears: the refused Events
        # (Activated, posted now and refused) cost nothing.
        t0 = time.time()
        env.set_running(self.uid, True)
        self.wait_manifest(False, timeout=25)
        self.assertLess(time.time() - t0, 2.5)
        # NotCheckpointable, Activated, Withdrawn: each tried once, refused, dropped.
        refused = lambda: [r for r in self.api.requests()  # noqa: E731
                           if r["verb"] == "CREATE" and r["code"] == 403]
        wait_for(lambda: len(refused()) >= 3, what="all refused")
        time.sleep(1.0)
        self.assertEqual(len(refused()), 3, "a refused Event is not retried")
        self.assertEqual(self.events(), [])
        self.assertNotIn("API refused our credentials", env.log_text())
        self.assertIs(env.status()["api"]["reachable"], True)
        self.assertEqual(env.status()["events"]["rejected"], 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
