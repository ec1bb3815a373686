"""test_agent_wait.py: the agent waits for what it needs instead of failing
or guessing (issue 14 item 2, issue 9: discovery retried), and reload reports
its verdict (issue 14 item 4).

- No kubeconfig yet (a node before `kubeadm join`): the agent keeps running,
  says once what it waits for, shows it in status and metrics, and picks the
  file up when it appears, without a restart.
- No kubelet while its settings are needed: the same, until a root-owned
  `kubelet` process appears; then its flags are used. An untrusted one
  (binary writable by others) is ignored, said once, not at every retry.
- `kubelet-checkpoint reload`: exit 0 when the new configuration is taken,
  exit 1 with the reason when it is rejected (the running one stays).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, wait_for, BINARY  # noqa: E402

NODE = "node-1"


def status_agent(env):
    return env.status()["agent"]


def metrics(env):
    try:
        with open(env.metrics_file) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def reload(env, timeout=30):
    return subprocess.run([BINARY, "reload", "--status-file", env.status_file, "--timeout", "20"],
                          capture_output=True, text=True, timeout=timeout)


class WaitTest(unittest.TestCase):
    def setUp(self):
        self.env = AgentEnv(node=NODE)
        self.api = self.env.api
        self.pod = annotated_pod("p1", NODE, 1)
        self.api.add_pods([self.pod])
        self.extra_procs = []

    def tearDown(self):
        for p in self.extra_procs:
            p.kill()
            p.wait()
        self.env.close()

    def checkpointed(self):
        return os.path.exists(self.env.checkpoint_path(self.pod["metadata"]["uid"]))

    def test_waits_for_the_kubeconfig(self):
        env = self.env
        saved = env.kubeconfig + ".later"
        os.rename(env.kubeconfig, saved)
        env.start()
        wait_for(lambda: "waiting for the kubeconfig" in env.log_text(), what="the wait logged")
        wait_for(lambda: status_agent(env).get("waitingFor") == "kubeconfig",
                 what="status says what the agent waits for")
        self.assertIn(env.kubeconfig, status_agent(env)["waitingDetail"])
        self.assertIn('kubelet_checkpoint_waiting{for="kubeconfig"} 1', metrics(env))
        self.assertRegex(env.status_text(), r"waiting for: +the kubeconfig: ")
        time.sleep(3)  # several retries: still one line, still running
        self.assertIsNone(env.proc.poll(), "the agent exited instead of waiting")
        self.assertEqual(env.log_text().count("waiting for the kubeconfig"), 1, env.log_text())
        self.assertFalse(self.checkpointed())
        os.rename(saved, env.kubeconfig)
        wait_for(self.checkpointed, timeout=25, what="checkpoint once the kubeconfig is there")
        self.assertIn("no longer waiting", env.log_text())
        wait_for(lambda: status_agent(env).get("waitingFor") is None, what="status not waiting")
        self.assertIn('kubelet_checkpoint_waiting{for="kubeconfig"} 0', metrics(env))
        self.assertEqual(env.stop(), 0)

    def test_systemd_is_told_while_waiting(self):
        """READY (so systemctl start returns), STATUS says what for, the watchdog is
        kept alive, and a SIGHUP while waiting is answered RELOADING=1 then READY=1."""
        env = self.env
        os.unlink(env.kubeconfig)
        path = os.path.join(env.root, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.2)
        got = []

        def collect(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    got.append(sock.recv(4096).decode().strip())
                except socket.timeout:
                    pass
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(env.args(), stdout=env.log, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, NOTIFY_SOCKET=path,
                                             WATCHDOG_USEC="1000000"))
        try:
            collect(3.5)
            self.assertIn("READY=1", got)
            self.assertTrue(any(m.startswith("STATUS=waiting for the kubeconfig") for m in got),
                            got)
            self.assertGreaterEqual(got.count("WATCHDOG=1"), 4, got)
            del got[:]
            env.proc.send_signal(signal.SIGHUP)
            collect(2.0)
            reloading = [i for i, m in enumerate(got) if m.startswith("RELOADING=1")]
            self.assertTrue(reloading, got)
            self.assertIn("READY=1", got[reloading[0]:])
            self.assertGreaterEqual(got.count("WATCHDOG=1"), 2, got)
        finally:
            sock.close()
        self.assertEqual(env.stop(), 0)

    @unittest.skipIf(os.geteuid() != 0, "a kubelet stand-in must run as root")
    @unittest.skipIf(shutil.which("unshare") is None, "needs unshare (util-linux)")
    @unittest.skipIf(shutil.which("cc") is None, "needs a C compiler")
    def test_waits_for_the_kubelet(self):
        env = self.env
        args = env.args()
        for flag in ("--kubeconfig", "--node-name"):  # left to the kubelet
            i = args.index(flag)
            del args[i:i + 2]
        # A root-owned stand-in named kubelet (for later), and an untrusted one
        # (its binary writable by others) that is ignored at every retry.
        d = tempfile.mkdtemp(prefix="kc-kubelet-", dir=env.root)
        src = os.path.join(d, "k.c")
        with open(src, "w") as f:
            f.write("#include <unistd.h>\nint main(void){for(;;)pause();}\n")
        exe = os.path.join(d, "kubelet")
        subprocess.run(["cc", "-o", exe, src], check=True)
        os.chmod(exe, 0o755)
        os.chmod(d, 0o755)
        bad_dir = os.path.join(d, "bad")
        os.mkdir(bad_dir)
        bad = os.path.join(bad_dir, "kubelet")
        shutil.copy(exe, bad)
        os.chmod(bad, 0o777)
        # In a PID namespace of its own (its /proc shows only the impostor, the
        # agent and later the stand-in): a kubelet on the test machine is out of
        # sight. The agent is that namespace's pid 1, so its status file names
        # pid 1: read the file itself.
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c",
             'bad=$1; shift; "$bad" --kubeconfig=/nonexistent & exec "$@"', "sh", bad] + args,
            stdout=env.log, stderr=subprocess.STDOUT)

        def waiting_for():
            try:
                with open(env.status_file) as f:
                    return json.load(f)["agent"].get("waitingFor")
            except (OSError, ValueError):
                return None
        wait_for(lambda: "waiting for the kubelet" in env.log_text(), what="the wait logged")
        wait_for(lambda: waiting_for() == "kubelet", what="status")
        self.assertIn('kubelet_checkpoint_waiting{for="kubelet"} 1', metrics(env))
        time.sleep(2.5)  # past the first retry, which prints once more (the log is set up)
        said = env.log_text().count("is writable by others")
        time.sleep(5)  # more retries: discovery's warning is folded, not repeated
        self.assertIsNone(env.proc.poll())
        self.assertFalse(self.checkpointed(), "used default settings without a kubelet")
        self.assertEqual(env.log_text().count("is writable by others"), said,
                         "the retries repeat discovery's warning: " + env.log_text())
        # The trusted stand-in, with the flags of a kubeadm node, in the same namespaces.
        init = subprocess.run(["pgrep", "-P", str(env.proc.pid)], capture_output=True,
                              text=True).stdout.split()[0]
        self.extra_procs.append(subprocess.Popen(
            ["nsenter", "-t", init, "-p", "-m", exe, "--kubeconfig=%s" % env.kubeconfig,
             "--hostname-override=%s" % NODE, "--config=%s" % env.kubelet_config]))
        wait_for(self.checkpointed, timeout=25, what="checkpoint once the kubelet runs")
        self.assertIn("no longer waiting", env.log_text())
        self.assertIsNone(waiting_for())

    def test_reload_reports_its_verdict(self):
        env = self.env
        conf = os.path.join(env.root, "agent.yaml")
        with open(conf, "w") as f:
            f.write("gcGrace: 5\n")
        env.start(extra=["--config", conf])
        wait_for(self.checkpointed, timeout=20, what="checkpoint")
        p = reload(env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("reloaded", p.stdout)
        with open(conf, "w") as f:
            f.write("gcGrace: not-a-number\n")
        p = reload(env)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("rejected", p.stderr)
        self.assertIn("gcGrace", p.stderr)
        self.assertIsNone(env.proc.poll(), "a rejected reload stopped the agent")
        rl = status_agent(env)["reload"]
        self.assertEqual((rl["generation"], rl["ok"]), (2, False))
        with open(conf, "w") as f:
            f.write("gcGrace: 6\n")
        self.assertEqual(reload(env).returncode, 0)
        # No agent: a clear failure, not a hang.
        self.assertEqual(env.stop(), 0)
        p = reload(env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no running agent", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
