"""test_trust_boundaries.py: what a local user, an API object or a stale
checkpoint can make the agent do (issue 9), through the real binary.

- Processes called "kubelet" that are not root's (or run a binary others can
  write) are never adopted: the agent keeps its own settings and keeps running.
- A kubeconfig the agent was not given must name https and credentials; a named
  one may use http only with --allow-insecure-http (then a warning at every
  start); the node name must be the client certificate's system:node:<name>.
- A pod taking a Secret value into env is not checkpointable unless its owner
  opted in (the mirror pod would publish the value); Secret volumes are fine.
  So is a pod whose manifest file name would be too long for the file system.
- A reload that moves the staticPodPath but fails leaves the bridges in the
  old directory untouched (withdrawn only once the new configuration is in
  force).
- Checkpoints on disk are re-checked against the configuration in force when
  they are loaded, also with the API down: a narrowed --namespace or a
  checkpoint copied from another node's state dir is never activated (and a
  bridge of it written earlier is withdrawn); status says why.
"""
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_env import AgentEnv, annotated_pod, secret, uid_of, wait_for  # noqa: E402

# The impostors are sh: "kubelet -c LOOP --kubeconfig=... " (the loop keeps sh itself
# running, so /proc/<pid>/exe stays the shell).
SHELL = os.path.realpath("/bin/sh")
SLEEPER = "while :; do sleep 600; done"

# Runs as pid 1 of a fresh PID namespace (with its own /proc): starts the impostors,
# waits until they are "kubelet" processes, then becomes the agent. A kubelet running
# on the test machine (other tests start real ones) is thereby out of sight.
NAMESPACE_INIT = r"""
import os, pwd, subprocess, sys, time
shell, writable, root = sys.argv[1:4]
agent = sys.argv[sys.argv.index("--") + 1:]

def nobody():
    pw = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)

pids = []
for exe, name, pre in ((shell, "victim", nobody), (writable, "victim-two", None)):
    conf = os.path.join(root, "evil-%s.conf" % name)
    with open(conf, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                "users: [{name: u, user: {}}]\n")
    pids.append(subprocess.Popen(["kubelet", "-c", SLEEPER, "--kubeconfig=" + conf,
                                  "--hostname-override=" + name, "--pod-manifest-path=" + root],
                                 executable=exe, preexec_fn=pre).pid)
deadline = time.time() + 10
while time.time() < deadline:
    names = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                names.append(f.read().split(b"\0")[0])
        except OSError:
            names.append(b"")
    if names == [b"kubelet", b"kubelet"]:
        break
    time.sleep(0.02)
print("impostors: %s" % " ".join(map(str, pids)), flush=True)
os.execv(agent[0], agent)
""".replace("SLEEPER", repr(SLEEPER))


def can_unshare():
    try:
        return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class FakeKubelets(unittest.TestCase):
    """Two impostors named kubelet while the real kubelet is not running."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to start a process as nobody")
        if not can_unshare():
            self.skipTest("needs a PID namespace (unshare --pid)")
        # The node name comes from discovery (no --node-name): the host name unless a
        # kubelet is adopted. The client certificate names the host, as on a real node.
        self.host = socket.gethostname().strip().lower()
        self.env = AgentEnv(node=self.host)

    def tearDown(self):
        self.env.close()

    def test_impostors_are_not_adopted(self):
        env = self.env
        # Root, but running a binary anyone may overwrite.
        writable = os.path.join(env.root, "bin", "sh")
        os.makedirs(os.path.dirname(writable))
        shutil.copy(SHELL, writable)
        os.chmod(writable, 0o777)

        args = env.args()
        i = args.index("--node-name")
        del args[i:i + 2]
        env.log = open(env.log_path, "a")
        env.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-c",
             NAMESPACE_INIT, SHELL, writable, env.root, "--"] +
            args + ["--static-pod-path", env.manifests],
            stdout=env.log, stderr=subprocess.STDOUT)
        wait_for(lambda: "nodeName=" in env.log_text(), what="config logged")
        env.api.add_pod(make_annotated(self.host))
        time.sleep(2)
        self.assertIsNone(env.proc.poll(), env.log_text())
        log = env.log_text()
        self.assertIn("nodeName=%s (host name)" % self.host, log)
        self.assertIn("staticPodPath=%s (flag)" % env.manifests, log)
        self.assertNotIn("victim", log)
        nobody, rooted = log.split("impostors: ")[1].split("\n")[0].split()
        self.assertIn("ignoring /proc/%s: it runs as uid %d (real)" %
                      (nobody, pwd.getpwnam("nobody").pw_uid), log)
        self.assertIn("ignoring /proc/%s: its executable (mode 0777) is writable by others"
                      % rooted, log)
        self.assertIn("no trustworthy kubelet found", log)
        for line in log.splitlines():
            if "config: kubeconfig=" in line:
                self.assertIn(env.kubeconfig, line)
        # It talks to the real API under its own name and checkpoints the pod.
        wait_for(lambda: any(c["state"] == "ok" for c in env.status()["checkpoints"]),
                 what="checkpoint of the host's pod")
        self.assertIsNone(env.proc.poll())


HTTP_KUBECONFIG = ("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                   "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:9'}}]\n"
                   "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                   "users: [{name: u, user: {token: abc}}]\n")


class WaitingForATrustworthyKubelet(unittest.TestCase):
    def test_impostors_only_make_it_wait_and_say_why(self):
        if os.geteuid() != 0 or not can_unshare():
            self.skipTest("needs root and a PID namespace")
        with AgentEnv() as env:
            writable = os.path.join(env.root, "bin", "sh")
            os.makedirs(os.path.dirname(writable))
            shutil.copy(SHELL, writable)
            os.chmod(writable, 0o777)
            args = env.args()
            for flag in ("--kubeconfig", "--kubelet-config"):
                i = args.index(flag)
                del args[i:i + 2]
            env.log = open(env.log_path, "a")
            env.proc = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable,
                 "-c", NAMESPACE_INIT, SHELL, writable, env.root, "--"] + args,
                stdout=env.log, stderr=subprocess.STDOUT)
            wait_for(lambda: "waiting for the kubelet: no trustworthy kubelet found" in
                     env.log_text(), what="the wait and its reason")
            # The status file as written (the agent's pid is of its own namespace).
            def agent_doc():
                try:
                    with open(env.status_file) as f:
                        return json.load(f)["agent"]
                except (OSError, ValueError, KeyError):
                    return {}
            wait_for(lambda: agent_doc().get("waitingFor") == "kubelet",
                     what="status waiting for the kubelet")
            self.assertIn("named kubelet is not trusted", agent_doc()["waitingDetail"])
            time.sleep(2)
            self.assertIsNone(env.proc.poll(), env.log_text())
            self.assertNotIn("victim", env.log_text())


class KubeconfigTrust(unittest.TestCase):
    def run_agent(self, env, args, timeout=20):
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def test_named_http_kubeconfig_needs_the_option(self):
        with AgentEnv(api=False) as env:
            with open(env.kubeconfig, "w") as f:
                f.write(HTTP_KUBECONFIG)
            p = self.run_agent(env, env.args())
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("server http://127.0.0.1:9 is plain http", p.stderr)
            self.assertIn("--allow-insecure-http", p.stderr)
            self.assertFalse(os.path.exists(env.state), "nothing created before the check")

            env.start(["--allow-insecure-http"])
            warning = "is plain http (allowed by allowInsecureHttp)"
            wait_for(lambda: warning in env.log_text(), what="the warning")
            time.sleep(1)
            self.assertIsNone(env.proc.poll(), env.log_text())
            self.assertEqual(env.stop(), 0)
            env.start(["--allow-insecure-http"])
            wait_for(lambda: env.log_text().count(warning) == 2, what="the warning again")

    def test_node_name_must_match_the_client_certificate(self):
        with AgentEnv(node="node-1") as env:
            args = env.args()
            args[args.index("--node-name") + 1] = "node-2"
            p = self.run_agent(env, args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("node name node-2 (flag) does not match the client certificate",
                          p.stderr)
            self.assertIn("which is node node-1 (CN system:node:node-1)", p.stderr)

    def test_explicit_settings_are_checked_before_waiting_for_a_kubelet(self):
        # No kubelet in sight (a PID namespace of its own) and its --config needed:
        # the agent would wait for one; a named http kubeconfig or a node name that
        # is not the certificate's must end the start first (issue 19 item 6).
        if os.geteuid() != 0 or not can_unshare():
            self.skipTest("needs root and a PID namespace")
        with AgentEnv(node="node-1") as env:
            args = env.args()
            i = args.index("--kubelet-config")
            del args[i:i + 2]
            ns = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
            wrong_node = list(args)
            wrong_node[wrong_node.index("--node-name") + 1] = "node-2"
            p = subprocess.run(ns + wrong_node, capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("node name node-2 (flag) does not match the client certificate",
                          p.stderr)
            self.assertNotIn("waiting for the kubelet", p.stderr)
            with open(env.kubeconfig, "w") as f:
                f.write(HTTP_KUBECONFIG)
            p = subprocess.run(ns + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("server http://127.0.0.1:9 is plain http", p.stderr)
            self.assertNotIn("waiting for the kubelet", p.stderr)

    def test_kubeconfig_found_from_the_kubelet_must_be_https(self):
        if os.geteuid() != 0 or not can_unshare():
            self.skipTest("needs root and a PID namespace")
        with AgentEnv(api=False) as env:
            evil = os.path.join(env.root, "found.conf")
            with open(evil, "w") as f:
                f.write(HTTP_KUBECONFIG)
            args = env.args()
            i = args.index("--kubeconfig")
            del args[i:i + 2]
            # A root kubelet from a root-owned binary: trusted, so its kubeconfig is used,
            # and refused for being http.
            init = ("import os, subprocess, sys, time\n"
                    "subprocess.Popen(['kubelet', '-c', %r, '--kubeconfig=%s'], executable=%r)\n"
                    "time.sleep(0.3)\n"
                    "os.execv(sys.argv[1], sys.argv[1:])\n" % (SLEEPER, evil, SHELL))
            p = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                                sys.executable, "-c", init] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertIn("kubeconfig=%s (kubelet cmdline)" % evil, p.stderr)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("is plain http; a kubeconfig the agent was not given must name an "
                          "https server", p.stderr)


class TooMuchData(unittest.TestCase):
    def test_pod_referencing_too_much_is_refused_once(self):
        from agent_env import configmap
        with AgentEnv() as env:
            names = ["big-%02d" % i for i in range(36)]
            for i, n in enumerate(names):
                cm = configmap(n, "kube-system", {"blob": "x" * 1000000})
                cm["metadata"]["uid"] = uid_of(7000 + i)
                env.api.add_object(cm)
            env.api.add_pod(annotated_pod("hoarder", env.node, 61, volumes=[
                {"name": n, "configMap": {"name": n}} for n in names]))
            env.start()

            def hoarder():
                return [c for c in env.status()["checkpoints"] if c["name"] == "hoarder"]
            wait_for(lambda: hoarder(), timeout=60, what="the pod in status")
            c = hoarder()[0]
            self.assertEqual(c["state"], "not-checkpointable", c)
            self.assertIn("the Secrets and ConfigMaps it references", c["reason"])
            self.assertIn("over 16777216 bytes", c["reason"])
            # It stopped fetching once over the cap: not all 36 were held in memory.
            self.assertLess(env.api.stats()["counts"].get("GET configmaps", 0), 30)
            time.sleep(6)  # longer than the write retry interval (5 s)
            log = env.log_text()
            self.assertEqual(log.count("is not checkpointable"), 1, log)
            self.assertNotIn("more than 33554432 bytes", log)
            self.assertFalse(os.path.exists(env.checkpoint_path(uid_of(61))))
            self.assertIsNone(env.proc.poll())


class TokenFile(unittest.TestCase):
    def test_token_file_with_a_line_break_is_not_sent(self):
        from fakeapi import FakeAPI
        with AgentEnv(api=False) as env:
            env.api = FakeAPI(env.certs, require_client_cert=False, token="t0ken")
            env.api.add_pod(annotated_pod("p", env.node, 51))
            token = os.path.join(env.root, "token")
            with open(token, "w") as f:
                f.write("t0ken\r\nX-Injected: yes\n")
            with open(env.kubeconfig, "w") as f:
                f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                        "clusters: [{name: k, cluster: {server: '%s', certificate-authority: "
                        "'%s/ca.crt'}}]\n"
                        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                        "users: [{name: u, user: {tokenFile: '%s'}}]\n"
                        % (env.api.url, env.certs, token))
            env.start()
            wait_for(lambda: "holds a line break" in env.log_text(), what="the refusal")
            wait_for(lambda: "401" in env.log_text(), what="the API refusing the agent")
            self.assertFalse(os.path.exists(env.checkpoint_path(uid_of(51))))
            # A clean token file is taken as soon as it changes.
            with open(token + ".new", "w") as f:
                f.write("t0ken\n")
            os.rename(token + ".new", token)
            wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(51))), timeout=30,
                     what="checkpoint with the clean token")


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
            # A legal name (230 characters) whose manifest file name would be too long.
            longname = ".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 47])
            env.api.add_pod(annotated_pod(longname, env.node, 14))
            env.start()

            def states():
                return {c["name"]: c for c in env.status()["checkpoints"]}
            wait_for(lambda: len(states()) == 4, what="four pods in status")
            self.assertEqual(states()[longname]["state"], "not-checkpointable")
            self.assertIn("manifest file name", states()[longname]["reason"])
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


def without_namespace_star(args):
    i = args.index("--namespace")
    return args[:i] + args[i + 2:]


class StaleCheckpoints(unittest.TestCase):
    def test_loaded_checkpoints_are_rechecked_with_the_api_down(self):
        with AgentEnv(node="node-2") as other, AgentEnv(node="node-1") as env:
            # Another node's checkpoint of its own pod.
            other.api.add_pod(annotated_pod("elsewhere", "node-2", 31))
            other.start()
            wait_for(lambda: os.path.exists(other.checkpoint_path(uid_of(31))),
                     what="node-2 checkpoint")
            self.assertEqual(other.stop(), 0)

            # This node, with every namespace allowed: tenant/evil and kube-system/good.
            env.api.add_pod(annotated_pod("evil", "node-1", 32, namespace="tenant"))
            env.api.add_pod(annotated_pod("good", "node-1", 33))
            env.start()
            wait_for(lambda: sum(c["state"] == "ok" for c in env.status()["checkpoints"]) == 2,
                     what="two checkpoints")
            # An outage: both are bridged under that configuration.
            env.api.fault("down")
            wait_for(lambda: len(env.bridge_files()) == 2, timeout=30, what="two bridges")
            self.assertEqual(env.stop(), 0)

            # Restart, API still down, namespaces back to the default, and a state dir
            # that now also holds node-2's checkpoint.
            shutil.copy(other.checkpoint_path(uid_of(31)), env.checkpoint_path(uid_of(31)))
            env.log = open(env.log_path, "a")
            env.proc = subprocess.Popen(without_namespace_star(env.args()), stdout=env.log,
                                        stderr=subprocess.STDOUT)
            wait_for(lambda: env.bridge_files() == ["kubelet-checkpoint_kube-system_good.yaml"],
                     timeout=30, what="only the eligible bridge")
            wait_for(lambda: env.status()["agent"].get("pid") == env.proc.pid,
                     what="status of the new agent")
            time.sleep(4)  # past the unreachable window: still nothing else
            self.assertEqual(env.bridge_files(), ["kubelet-checkpoint_kube-system_good.yaml"])
            self.assertIsNone(env.proc.poll())
            cps = {c["name"]: c for c in env.status()["checkpoints"]}
            self.assertEqual(cps["good"]["state"], "ok", env.log_text())
            for name, why in (("evil", "tenant is not an allowed namespace"),
                              ("elsewhere", "bound to node-2, not to this node (node-1)")):
                self.assertEqual(cps[name]["state"], "not-checkpointable", env.log_text())
                self.assertFalse(cps[name]["active"])
                self.assertIn("not eligible under the current configuration", cps[name]["reason"])
                self.assertIn(why, cps[name]["reason"])


class ReloadOrder(unittest.TestCase):
    def test_failed_reload_does_not_withdraw(self):
        with AgentEnv() as env:
            env.api.add_pod(annotated_pod("keep", env.node, 41))
            conf = os.path.join(env.root, "agent.yaml")
            with open(conf, "w") as f:
                f.write("kubeconfig: %s\n" % env.kubeconfig)
            args = env.args()
            i = args.index("--kubeconfig")
            args[i:i + 2] = ["--config", conf]
            env.log = open(env.log_path, "a")
            env.proc = subprocess.Popen(args, stdout=env.log, stderr=subprocess.STDOUT)
            wait_for(lambda: os.path.exists(env.checkpoint_path(uid_of(41))), what="checkpoint")
            env.api.fault("down")
            bridge = os.path.join(env.manifests, "kubelet-checkpoint_kube-system_keep.yaml")
            wait_for(lambda: os.path.exists(bridge), timeout=30, what="the bridge")
            before = os.stat(bridge)

            # The new configuration moves the staticPodPath and names a kubeconfig the
            # agent cannot use: the reload fails after the config file was read.
            new = os.path.join(env.root, "manifests-new")
            os.makedirs(new)
            with open(env.kubelet_config, "w") as f:
                f.write("apiVersion: kubelet.config.k8s.io/v1beta1\n"
                        "kind: KubeletConfiguration\nstaticPodPath: %s\n" % new)
            bad = os.path.join(env.root, "bad.conf")
            with open(bad, "w") as f:
                f.write("current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
                        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                        "users: [{name: u, user: {exec: {command: aws, apiVersion: "
                        "client.authentication.k8s.io/v1}}}]\n")
            with open(conf, "w") as f:
                f.write("kubeconfig: %s\n" % bad)
            mark = len(env.log_text())
            env.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "going back to the previous configuration" in env.log_text()[mark:],
                     what="the failed reload")
            time.sleep(1)
            after = os.stat(bridge)
            self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns),
                             "the bridge was rewritten (its pod restarted) by a failed reload")
            self.assertNotIn("withdrawn", env.log_text()[mark:])
            self.assertEqual(os.listdir(new), [])
            self.assertIsNone(env.proc.poll())


def make_annotated(node):
    from fakeapi import make_pod
    return make_pod("agent", node, uid="00000000-0000-4000-8000-000000000001")


class StaleStatusFile(unittest.TestCase):
    """`reload` and `status` take a pid from the status file: only this program,
    run as this uid, counts as the agent, never a process merely called
    kubelet-checkpoint (issue 19 item 13)."""

    def test_unrelated_process_is_not_signalled(self):
        from agent_env import BINARY
        root = tempfile.mkdtemp(prefix="kc-stale-")
        try:
            link = os.path.join(root, "kubelet-checkpoint")
            os.symlink(shutil.which("sleep"), link)
            sleeper = subprocess.Popen([link, "60"])
            status = os.path.join(root, "status.json")
            with open(status, "w") as f:
                json.dump({"agent": {"running": True, "pid": sleeper.pid,
                                     "reload": {"generation": 0}}}, f)
            p = subprocess.run([BINARY, "reload", "--status-file", status, "--timeout", "2"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("no running agent with pid %d" % sleeper.pid, p.stderr)
            time.sleep(0.2)
            self.assertIsNone(sleeper.poll(), "reload signalled an unrelated process")
            p = subprocess.run([BINARY, "status", "--status-file", status, "--state-dir",
                                os.path.join(root, "state"), "-o", "json"],
                               capture_output=True, text=True, timeout=20)
            self.assertIs(json.loads(p.stdout)["agent"]["running"], False, p.stdout)
            sleeper.kill()
            sleeper.wait()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
