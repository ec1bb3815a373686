"""test_local_state.py: what the agent believes runs on the node (issue 10),
with the real binary, the fake apiserver and the fake container runtime
(tests/fakecri, real gRPC on a unix socket):

- the runtime answers: a RUNNING container labelled with the parent's uid
  holds the bridge back; a NOTREADY sandbox does not, nor does a READY one
  whose containers all exited (issue 18 defect 5: an orphaned sandbox) or
  whose only running container is an init container; status says
  "container runtime";
- a runtime that lies (4 million empty sandboxes): local state is unknown,
  loudly (log, status, metric), not replaced by the cgroups, and the
  agent's loop is not blocked;
- a kubelet with a custom cgroupRoot (kind: /kubelet, systemd driver) and no
  runtime: the pod cgroups are read where that kubelet puts them;
- a kubelet with cgroupsPerQOS: false and no runtime: local state is unknown,
  loudly (log, status "local: unknown (...)", metric), and nothing is
  activated until the runtime appears (CRI only);
- a kubelet with no staticPodPath (and no --pod-manifest-path): the bridge
  is off with its reason (log, status, metric) and nothing is written;
- a hung runtime: the agent falls back to the cgroups within its deadline and
  keeps working.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, wait_for  # noqa: E402

NODE = "node-1"
MANIFEST = "kubelet-checkpoint_kube-system_agent-a.yaml"


def metric(env, name):
    try:
        with open(env.metrics_file) as f:
            for line in f:
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    parts = line.rsplit(" ", 1)
                    yield parts[0], float(parts[1])
    except OSError:
        return


def metric_value(env, sample):
    for name, v in metric(env, sample.split("{")[0]):
        if name == sample:
            return v
    return None


class LocalStateTest(unittest.TestCase):
    def make_env(self, cri=False, kubelet_config_extra=""):
        self.env = AgentEnv(node=NODE, cri=cri)
        if kubelet_config_extra:
            with open(self.env.kubelet_config, "a") as f:
                f.write(kubelet_config_extra)
        self.parent = annotated_pod("agent-a", NODE, 1)
        self.uid = self.parent["metadata"]["uid"]
        self.env.api.add_pods([self.parent])
        return self.env

    def tearDown(self):
        env = getattr(self, "env", None)
        if env is not None:
            if env.proc is not None and env.proc.poll() is None:
                env.stop()
            env.close()

    def present(self):
        return MANIFEST in self.env.bridge_files()

    def start_and_checkpoint(self):
        self.env.start()
        wait_for(lambda: os.path.exists(self.env.checkpoint_path(self.uid)), what="checkpoint")

    def test_runtime_sandbox_holds_the_bridge_back(self):
        env = self.make_env(cri=True)
        env.cri.add(self.uid, "agent-a", "kube-system", ready=True)
        self.start_and_checkpoint()
        env.api.fault("down")
        # Past the window, the READY sandbox says the parent runs: no bridge.
        time.sleep(env.windows[0] + 2)
        self.assertFalse(self.present(), "bridged a parent whose sandbox is READY")
        st = env.status()
        self.assertEqual(st["local"]["source"], "cri")
        self.assertTrue(st["local"]["known"])
        self.assertIn("local:            container runtime", env.status_text())
        self.assertGreater(env.cri.calls(), 0)
        # No pod cgroup exists at all: the cgroups alone would have said "not running".
        self.assertEqual(metric_value(env, 'kubelet_checkpoint_local_pods_source{source="cri"}'),
                         1)
        self.assertGreater(metric_value(env, 'kubelet_checkpoint_cri_requests_total{result="ok"}'),
                           0)
        # A NOTREADY sandbox is not running: the bridge comes.
        env.cri.set_ready(self.uid, False)
        wait_for(self.present, timeout=5, what="activation once the sandbox is NOTREADY")
        # A READY sandbox again: withdrawn.
        env.cri.set_ready(self.uid, True)
        wait_for(lambda: not self.present(), timeout=5, what="withdrawal on a READY sandbox")

    def test_orphaned_ready_sandbox_does_not_run(self):
        """Issue 18 defect 5: after a kubelet restart during an outage, a READY sandbox whose
        containers died counted as running and held the bridge back for good."""
        env = self.make_env(cri=True)
        env.cri.add(self.uid, "agent-a", "kube-system", ready=True, containers=[
            {"name": "main", "state": "exited"},
            {"name": "setup", "state": "running", "type": "init"}])
        self.start_and_checkpoint()
        env.api.fault("down")
        wait_for(self.present, timeout=env.windows[0] + 10,
                 what="activation with a READY sandbox and no running regular container")
        self.assertEqual(env.status()["local"]["source"], "cri")
        # Its regular container runs again: withdrawn.
        env.cri.add_container(self.uid, name="main", state="running")
        wait_for(lambda: not self.present(), timeout=5, what="withdrawal on a running container")

    def test_lying_runtime_is_loud_unknown(self):
        """Issue 19 finding 11: 4 million empty sandboxes in 8 MB. Refused by the item cap:
        local state unknown (not the cgroups, which would say 'not running'), no bridge."""
        env = self.make_env(cri=True)
        env.cri.state["many"] = 4_000_000
        env.cri.set_fault("many")
        self.start_and_checkpoint()
        env.api.fault("down")
        time.sleep(env.windows[0] + 2)
        self.assertFalse(self.present(), "activated on a lying runtime's word")
        st = env.status()
        self.assertFalse(st["local"]["known"])
        self.assertIn("more than 16384 items", st["local"]["reason"])
        self.assertIn("local pods unknown", env.log_text())
        self.assertGreaterEqual(
            metric_value(env, 'kubelet_checkpoint_cri_requests_total{result="lying"}'), 1)
        self.assertEqual(metric_value(env, "kubelet_checkpoint_local_pods_known"), 0)
        with open("/proc/%d/status" % env.proc.pid) as f:
            hwm = [int(line.split()[1]) for line in f if line.startswith("VmHWM:")][0]
        self.assertLess(hwm, 64 * 1024, "decoding the lie was not bounded")

    def test_runtime_beats_a_stale_cgroup(self):
        """The runtime is the truth: a pod cgroup left behind does not block the bridge."""
        env = self.make_env(cri=True)
        env.set_running(self.uid, True)  # a leftover pod cgroup
        self.start_and_checkpoint()
        env.api.fault("down")
        wait_for(self.present, timeout=15, what="activation with no sandbox")

    def test_custom_cgroup_root_without_runtime(self):
        env = self.make_env(kubelet_config_extra="cgroupRoot: /kubelet\ncgroupDriver: systemd\n")
        u = self.uid.replace("-", "_")
        pod_cg = os.path.join(env.cgroup, "kubelet.slice", "kubelet-kubepods.slice",
                              "kubelet-kubepods-besteffort.slice",
                              "kubelet-kubepods-besteffort-pod%s.slice" % u)
        os.makedirs(pod_cg)
        self.start_and_checkpoint()
        env.api.fault("down")
        time.sleep(env.windows[0] + 2)
        self.assertFalse(self.present(), "bridged a parent whose pod cgroup exists")
        st = env.status()
        self.assertEqual(st["local"]["source"], "cgroups")
        self.assertIn("containerd.sock", st["local"]["reason"])
        os.rmdir(pod_cg)
        wait_for(self.present, timeout=5, what="activation once the pod cgroup is gone")
        self.assertIn("local pods: from the pod cgroups", env.log_text())

    def test_no_per_qos_is_loud_unknown_until_the_runtime_answers(self):
        env = self.make_env(kubelet_config_extra="cgroupsPerQOS: false\n")
        self.start_and_checkpoint()
        env.api.fault("down")
        time.sleep(env.windows[0] + 2)
        self.assertFalse(self.present(), "activated with unknown local state")
        st = env.status()
        self.assertFalse(st["local"]["known"])
        self.assertEqual(st["local"]["source"], "unknown")
        self.assertIn("cgroupsPerQOS", st["local"]["reason"])
        self.assertRegex(env.status_text(), r"local: +unknown \(container runtime: .*cgroupsPerQOS")
        self.assertEqual(metric_value(env, "kubelet_checkpoint_local_pods_known"), 0)
        log = env.log_text()
        self.assertIn("local pods unknown (no bridge is activated)", log)
        # Said at once, not at every pass.
        self.assertEqual(log.count("local pods unknown"), 1)
        # The runtime comes up: the parent has no sandbox, so the bridge comes.
        from fakecri import FakeCRI
        env.cri = FakeCRI(env.cri_sock)
        wait_for(self.present, timeout=5, what="activation once the runtime answers")
        self.assertEqual(env.status()["local"]["source"], "cri")
        self.assertEqual(metric_value(env, "kubelet_checkpoint_local_pods_known"), 1)

    def test_no_static_pod_path_means_no_bridge(self):
        env = self.make_env(cri=True)
        with open(env.kubelet_config, "w") as f:
            f.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                    "maxPods: 110\n")
        default_dir = "/etc/kubernetes/manifests"
        before = sorted(os.listdir(default_dir)) if os.path.isdir(default_dir) else None
        self.start_and_checkpoint()
        env.api.fault("down")
        time.sleep(env.windows[0] + 2.5)
        self.assertEqual(env.bridge_files(), [])
        after = sorted(os.listdir(default_dir)) if os.path.isdir(default_dir) else None
        self.assertEqual(before, after, "wrote into a directory the kubelet does not read")
        st = env.status()
        self.assertIn("names no staticPodPath", st["bridgeOff"])
        self.assertIn("BRIDGE OFF", env.status_text())
        self.assertEqual(metric_value(env, "kubelet_checkpoint_bridge_off"), 1)
        self.assertEqual(env.log_text().count("bridge off, nothing is written"), 1)
        # The checkpoint itself is still kept.
        self.assertTrue(os.path.exists(env.checkpoint_path(self.uid)))

    def test_hung_runtime_falls_back_within_the_deadline(self):
        env = self.make_env(cri=True)
        env.cri.add(self.uid, "agent-a", "kube-system", ready=True)
        env.cri.set_fault("hang")
        self.start_and_checkpoint()
        env.api.fault("down")
        # The hung runtime costs one bounded call, then the cgroups answer (none: not running).
        wait_for(self.present, timeout=15, what="activation through the cgroup fallback")
        st = env.status()
        self.assertEqual(st["local"]["source"], "cgroups")
        self.assertIn("Timeout", st["local"]["reason"])
        wait_for(lambda: (metric_value(
            env, 'kubelet_checkpoint_cri_requests_total{result="failure"}') or 0) >= 1,
            timeout=5, what="a failed CRI call counted")
        # Backed off: not one call per pass.
        calls = env.cri.calls()
        time.sleep(3)
        self.assertLessEqual(env.cri.calls() - calls, 1)


if __name__ == "__main__":
    unittest.main()
