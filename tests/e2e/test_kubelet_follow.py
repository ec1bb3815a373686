#!/usr/bin/env python3
"""End-to-end: the agent finds the kubelet again when its pid changes (issue 19 item 6).

A kubelet stand-in (a root-owned binary named kubelet) gives the agent its
--kubeconfig, --hostname-override and --config. It is restarted with the
same flags (the agent notes the new pid), then with a --config whose
staticPodPath is another directory: the agent follows the new flags as a
reload does, and its status names the new staticPodPath. While no kubelet
runs, the agent keeps its settings and says so.
"""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, wait_for  # noqa: E402

NODE = "node-1"


@unittest.skipIf(os.geteuid() != 0, "a kubelet stand-in must run as root")
@unittest.skipIf(shutil.which("unshare") is None or shutil.which("nsenter") is None,
                 "needs unshare and nsenter (util-linux)")
@unittest.skipIf(shutil.which("cc") is None, "needs a C compiler")
class KubeletFollow(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.pod = annotated_pod("p1", NODE, 1)
        self.env.api.add_pods([self.pod])
        d = tempfile.mkdtemp(prefix="kc-kubelet-", dir=self.env.root)
        os.chmod(d, 0o755)
        src = os.path.join(d, "k.c")
        with open(src, "w") as f:
            f.write("#include <unistd.h>\nint main(void){for(;;)pause();}\n")
        self.exe = os.path.join(d, "kubelet")
        subprocess.run(["cc", "-o", self.exe, src], check=True)
        os.chmod(self.exe, 0o755)
        self.other_manifests = os.path.join(self.env.root, "srv", "manifests")
        os.makedirs(self.other_manifests)
        self.other_config = os.path.join(self.env.root, "other-config.yaml")
        with open(self.other_config, "w") as f:
            f.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                    "staticPodPath: %s\n" % self.other_manifests)

    def tearDown(self):
        self.env.close()

    def flags(self, config):
        return ["--kubeconfig=%s" % self.env.kubeconfig, "--hostname-override=%s" % NODE,
                "--config=%s" % config]

    def status(self):
        try:
            with open(self.env.status_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def agent_host_pid(self):
        out = subprocess.run(["pgrep", "-P", str(self.env.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return out[0]

    def kill_kubelet(self):
        agent = self.agent_host_pid()
        for pid in subprocess.run(["pgrep", "-P", agent], capture_output=True,
                                  text=True).stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    def start_kubelet(self, config):
        # Into the agent's PID and mount namespaces; not its child (init's, as under systemd).
        subprocess.run(["nsenter", "-t", self.agent_host_pid(), "-p", "-m", "sh", "-c",
                        'setsid "$@" </dev/null >/dev/null 2>&1 &', "sh", self.exe]
                       + self.flags(config), check=True)

    def test_restarted_kubelet_is_followed(self):
        env = self.env
        args = env.args()
        for flag in ("--kubeconfig", "--node-name", "--kubelet-config"):
            i = args.index(flag)
            del args[i:i + 2]
        env.log = open(env.log_path, "a")
        # A PID namespace of its own: a kubelet of the test machine is out of sight.
        standin = " ".join(shlex.quote(a) for a in [self.exe] + self.flags(env.kubelet_config))
        env.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
             standin + ' & exec "$@"', "sh"] + args,
            stdout=env.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(env.checkpoint_path(self.pod["metadata"]["uid"])),
                 timeout=30, what="checkpoint with the kubelet's settings")
        first = self.status().get("agent", {}).get("kubeletPid")
        self.assertIsNotNone(first, self.status())
        self.assertEqual(self.status()["staticPodPath"], env.manifests)

        self.kill_kubelet()
        wait_for(lambda: "exited and no other one is adopted" in env.log_text(), timeout=20,
                 what="the kubelet's exit noticed")
        self.start_kubelet(env.kubelet_config)
        wait_for(lambda: ": same settings" in env.log_text(), timeout=20,
                 what="the restarted kubelet found")
        second = self.status()["agent"]["kubeletPid"]
        self.assertNotEqual(second, first)

        self.kill_kubelet()
        self.start_kubelet(self.other_config)
        wait_for(lambda: "with other settings: following them" in env.log_text(), timeout=20,
                 what="the new flags noticed")
        wait_for(lambda: self.status().get("staticPodPath") == self.other_manifests,
                 timeout=20, what="the new staticPodPath in force")
        self.assertIsNone(env.proc.poll(), env.log_text())


    def test_kubelet_of_another_mount_namespace_is_ignored(self):
        # A root "kubelet" from a root-owned binary, but in a mount namespace of
        # its own (as in a hostPID container): ignored, naming its pid (issue 19
        # item 4); the agent waits until the real one runs in its namespace.
        env = self.env
        args = env.args()
        for flag in ("--kubeconfig", "--node-name", "--kubelet-config"):
            i = args.index(flag)
            del args[i:i + 2]
        impostor = " ".join(shlex.quote(a) for a in
                            ["unshare", "-m", self.exe] + self.flags(self.other_config))
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
             impostor + ' & sleep 0.3; exec "$@"', "sh"] + args,
            stdout=env.log, stderr=subprocess.STDOUT)
        wait_for(lambda: "runs in another mount namespace" in env.log_text(), timeout=20,
                 what="the impostor ignored")
        self.assertRegex(env.log_text(), r"ignoring /proc/\d+: it runs in another mount")
        wait_for(lambda: "waiting for the kubelet" in env.log_text(), timeout=20,
                 what="waiting for the real one")
        self.assertFalse(os.path.exists(env.checkpoint_path(self.pod["metadata"]["uid"])))
        self.start_kubelet(env.kubelet_config)
        wait_for(lambda: os.path.exists(env.checkpoint_path(self.pod["metadata"]["uid"])),
                 timeout=30, what="checkpoint once the real kubelet runs")
        self.assertEqual(self.status()["staticPodPath"], env.manifests)


    def test_kubelet_that_starts_after_the_agent_is_found(self):
        # Everything but the staticPodPath given: the kubelet is looked for, none
        # runs yet (the agent starts first at boot), and the one that starts
        # later is found within a search period; its flags are followed.
        env = self.env
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + env.args(),
            stdout=env.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(env.checkpoint_path(self.pod["metadata"]["uid"])),
                 timeout=30, what="checkpoint without a kubelet")
        self.assertIn("no trustworthy kubelet found", env.log_text())
        self.assertIsNone(self.status()["agent"].get("kubeletPid"))
        # Its pod cgroups are another driver's: a setting the agent must follow.
        subprocess.run(["nsenter", "-t", self.agent_host_pid(), "-p", "-m", "sh", "-c",
                        'setsid "$@" </dev/null >/dev/null 2>&1 &', "sh", self.exe,
                        "--config=%s" % env.kubelet_config, "--cgroup-driver=cgroupfs"],
                       check=True)
        wait_for(lambda: "the kubelet runs now" in env.log_text(), timeout=45,
                 what="the kubelet found")
        self.assertIn("with other settings: following them", env.log_text())
        wait_for(lambda: "cgroupDriver=cgroupfs" in env.log_text(), timeout=20,
                 what="its cgroup driver in force")
        wait_for(lambda: self.status().get("agent", {}).get("kubeletPid") is not None,
                 timeout=20, what="status names the kubelet")
        self.assertIsNone(env.proc.poll(), env.log_text())


if __name__ == "__main__":
    unittest.main()
