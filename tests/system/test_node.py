"""test_node.py: the node package under a real, booted systemd (issue 14).

A Debian bookworm root filesystem (mmdebstrap, cached under
/var/cache/kubelet-checkpoint-tests/rootfs/, keyed by its package list) is
booted with `systemd-nspawn -b` (systemd as PID 1 in the container; on a host
whose PID 1 is not systemd `--register=no --keep-unit` is needed;
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 gives it a pure cgroup v2). The .deb built
by cpack from the build dir of KC_BINARY is installed there with apt, next to
a root-owned /usr/bin/kubelet stand-in (a compiled `for(;;) pause();`) run by
a kubelet.service with a kubeadm node's flags. The fake apiserver listens on
the host's 127.0.0.1 (the container shares the host's network). Commands run
inside through `nsenter -t <container's PID 1> -a`.

The scenario is one node's life, in order (each step a test, named in order):
the package installed on a fresh node before `kubeadm join` (the agent waits
for the kubelet's files, active with Type=notify), the join creating
/etc/kubernetes after the service started (the agent heals by itself),
checkpoints under the hardened unit, reload good and bad, a bridge during an
outage and its withdrawal, the staticPodPath replaced, the conffile and its
directory deleted, `kubelet-checkpoint status` inside, the watchdog never
firing, and `apt purge` with a bridge active.

Needs root with CAP_SYS_ADMIN, systemd-nspawn (systemd-container), mmdebstrap,
nsenter and network access to the Debian mirror for the first build of the
root filesystem. Exits 77 with the reason when it cannot run.
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
from fakeapi import FakeAPI, gen_certs, make_pod  # noqa: E402

BINARY = os.environ.get("KC_BINARY", "")
CACHE = os.environ.get("KC_SYSTEM_CACHE", "/var/cache/kubelet-checkpoint-tests/rootfs")
MIRROR = os.environ.get("KC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus"]
NODE = "node-1"
UNIT = "kubelet-checkpoint.service"
MANIFESTS = "/etc/kubernetes/manifests"
TRIGGER = "node.kubernetes.io/bootstrap-checkpoint"
SKIP = 77

KUBELET_UNIT = """[Unit]
Description=kubelet stand-in (a root-owned binary that only sleeps)
[Service]
ExecStart=/usr/bin/kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \\
  --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml \\
  --container-runtime-endpoint=unix:///var/run/containerd/containerd.sock \\
  --hostname-override=%s
Restart=always
[Install]
WantedBy=multi-user.target
""" % NODE

# startupSpread 0: after a restart the first LIST waited a random 0-30 s, and
# an API taken down in that time is only seen to fail at that LIST (a spread
# is no failure), so test_08's outage once came after its 30 s wait (CI). The
# spread has its own tests (e2e test_agent_start, test_boot_order).
AGENT_CONFIG = """unreachableAfter: 3
reachableAfter: 2
gcGrace: 5
startupSpread: 0
"""

FOREIGN = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: "
           "kube-system\nspec:\n  containers:\n  - name: a\n    image: k8s/apiserver\n")


def why_not():
    """The reason this test cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (it boots a container with systemd-nspawn)"
    with open("/proc/self/status") as f:
        cap = int(next(l for l in f if l.startswith("CapEff:")).split()[1], 16)
    if not cap & (1 << 21):
        return "needs CAP_SYS_ADMIN (systemd-nspawn mounts and makes namespaces)"
    for tool in ("systemd-nspawn", "mmdebstrap", "nsenter", "cpack", "dpkg-deb", "cc"):
        if shutil.which(tool) is None:
            return "%s not found (scripts/setup.sh --test installs it)" % tool
    if not BINARY or not os.path.exists(BINARY):
        return "KC_BINARY is not set to the built binary"
    return None


def sh(args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: rc %d\n%s%s" % (" ".join(args), p.returncode, p.stdout,
                                                   p.stderr))
    return p


def wait_for(pred, timeout=20.0, step=0.2, what="condition"):
    t0 = time.monotonic()
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(step)


def build_deb(out):
    build_dir = os.path.dirname(BINARY)
    sh(["cpack", "-G", "DEB", "--config", os.path.join(build_dir, "CPackConfig.cmake"),
        "-B", out], cwd=build_dir)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    return os.path.join(out, debs[0])


def rootfs_tarball(deb):
    """The cached root fs with the .deb's dependencies, built once per package list."""
    depends = sh(["dpkg-deb", "-f", deb, "Depends"]).stdout
    pkgs = sorted(set(BASE_PACKAGES + [d.split()[0] for d in depends.replace("|", ",")
                                        .split(",") if d.strip()]))
    key = hashlib.sha256(("%s %s %s" % (SUITE, MIRROR, ",".join(pkgs))).encode()).hexdigest()
    tar = os.path.join(CACHE, "%s-%s.tar" % (SUITE, key[:16]))
    if os.path.exists(tar):
        return tar
    os.makedirs(CACHE, exist_ok=True)
    tmp = "%s.%d.tmp.tar" % (tar[:-4], os.getpid())  # mmdebstrap picks the format by suffix
    print("system test: building the root filesystem (%s) into %s" % (" ".join(pkgs), tar),
          flush=True)
    sh(["mmdebstrap", "--variant=minbase", "--include=" + ",".join(pkgs), SUITE, tmp, MIRROR],
       timeout=900)
    os.rename(tmp, tar)
    return tar


class Node:
    """One booted container: its root, systemd's PID, and commands inside."""

    def __init__(self, work, tar):
        self.work = work
        self.root = os.path.join(work, "root")
        self.name = "kc-sys-%d" % os.getpid()
        os.makedirs(self.root)
        sh(["tar", "-C", self.root, "-xf", tar])
        self.nspawn = None
        self.pid1 = None
        # Own cgroups for nspawn: it creates payload/ and supervisor/ under the
        # cgroup it runs in; a private parent keeps two runs (or other helpers)
        # apart and makes the cleanup exact.
        self.cgroups = [os.path.join(h, self.name) for h in
                        ("/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")
                        if os.path.isdir(h) and os.path.exists(os.path.join(h, "cgroup.procs"))]

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def write(self, p, text, mode=0o644):
        full = self.path(p)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

    def boot(self):
        for cg in self.cgroups:
            os.makedirs(cg, exist_ok=True)
        enter = "".join("echo $$ > %s/cgroup.procs; " % cg for cg in self.cgroups)
        env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
        self.log = open(os.path.join(self.work, "console.log"), "w")
        self.nspawn = subprocess.Popen(
            ["sh", "-c", enter + 'exec systemd-nspawn -b -D "$0" -M "$1" --register=no '
             "--keep-unit --console=read-only", self.root, self.name],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True)

        def systemd_pid():
            p = sh(["pgrep", "-P", str(self.nspawn.pid), "-x", "systemd"], check=False)
            return p.stdout.split()[0] if p.returncode == 0 else None
        self.pid1 = wait_for(systemd_pid, timeout=30, what="systemd in the container")
        # The first nsenter can come too early (systemd not yet answering on its
        # bus): ask again until it says how the boot ended.
        deadline = time.monotonic() + 90
        while True:
            state = self.run("systemctl is-system-running --wait", check=False, timeout=90)
            if state.stdout.strip() in ("running", "degraded") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if state.stdout.strip() not in ("running", "degraded"):
            self.log.flush()
            with open(os.path.join(self.work, "console.log"), errors="replace") as f:
                console = f.read()[-3000:]
            raise AssertionError("boot: %r %r\nconsole:\n%s" % (state.stdout, state.stderr,
                                                                   console))

    def run(self, cmd, check=True, timeout=60):
        return sh(["nsenter", "-t", self.pid1, "-a", "sh", "-c", cmd], check=check,
                  timeout=timeout)

    def journal(self, unit=UNIT):
        return self.run("journalctl -u %s -o cat --no-pager" % unit).stdout

    def prop(self, name, unit=UNIT):
        return self.run("systemctl show -p %s --value %s" % (name, unit)).stdout.strip()

    def status(self):
        return json.loads(self.run("kubelet-checkpoint status -o json").stdout)

    def shutdown(self):
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.pid1 is not None:
                self.run("systemctl poweroff", check=False, timeout=30)
            try:
                self.nspawn.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()
        # nspawn leaves payload/ and supervisor/ (empty) under its cgroup.
        for cg in self.cgroups:
            for d, _, _ in sorted(os.walk(cg), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(d)
                except OSError as e:
                    print("system test: cannot remove cgroup %s: %s" % (d, e))


class TestNode(unittest.TestCase):
    """One node, the steps in order (unittest sorts the methods by name)."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="kc-system-", dir="/var/tmp")
        cls.node = None
        cls.api = None
        try:
            cls.deb = build_deb(os.path.join(cls.work, "pkg"))
            tar = rootfs_tarball(cls.deb)
            cls.certs = gen_certs(os.path.join(cls.work, "pki"), NODE)
            cls.api = FakeAPI(cls.certs)
            node = cls.node = Node(cls.work, tar)
            # The kubelet stand-in, root-owned and not writable by others.
            src = os.path.join(cls.work, "kubelet.c")
            with open(src, "w") as f:
                f.write("#include <unistd.h>\nint main(void){for(;;)pause();}\n")
            sh(["cc", "-O2", "-o", node.path("/usr/bin/kubelet"), src])
            os.chmod(node.path("/usr/bin/kubelet"), 0o755)
            node.write("/etc/systemd/system/kubelet.service", KUBELET_UNIT)
            os.symlink("/etc/systemd/system/kubelet.service",
                       node.path("/etc/systemd/system/multi-user.target.wants/kubelet.service"))
            shutil.copy(cls.deb, node.path("/var/tmp/kc.deb"))
            node.boot()
            # A kubelet's (empty) pod cgroup tree: local pods are known, none runs.
            node.run("mkdir -p /sys/fs/cgroup/kubepods.slice")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.node is not None:
                cls.node.shutdown()
            if cls.api is not None:
                cls.api.close()
        finally:
            shutil.rmtree(cls.work, ignore_errors=True)

    # Helpers.
    def bridges(self):
        d = self.node.path(MANIFESTS)
        return sorted(n for n in os.listdir(d) if n.startswith("kubelet-checkpoint_")) \
            if os.path.isdir(d) else []

    def checkpoints(self):
        d = self.node.path("/var/lib/kubelet-checkpoint/pods")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def active(self):
        return self.node.prop("ActiveState") == "active"

    def outage_bridge(self):
        self.api.fault("down")
        try:
            wait_for(lambda: self.bridges() == ["kubelet-checkpoint_kube-system_p1.yaml"],
                     timeout=30, what="the bridge manifest during the outage")
        except AssertionError as e:
            raise AssertionError("%s\nstatus:\n%s\njournal (tail):\n%s" % (
                e, self.node.run("kubelet-checkpoint status -o json", check=False).stdout,
                "\n".join(self.node.journal().splitlines()[-60:]))) from None

    def recover(self):
        # The API's answer alone withdraws nothing (it may be served by a bridge);
        # this node has no real kubelet to give p1 a container, so the standby flag
        # ends the outage: withdrawn within a second, and no hand-off under way.
        self.api.fault("none")
        wait_for(lambda: json.loads(self.node.run("kubelet-checkpoint status -o json").stdout)
                 ["api"]["reachable"] is True, timeout=30, what="the API reachable again")
        self.node.run("kubelet-checkpoint disable")
        wait_for(lambda: self.bridges() == [], timeout=30, what="the bridge withdrawn")
        self.node.run("kubelet-checkpoint enable")

    # The scenario.
    def test_01_fresh_node_waits(self):
        """Installed before kubeadm join: active (Type=notify), waiting, not restarting."""
        node = self.node
        p = node.run("DEBIAN_FRONTEND=noninteractive apt-get install -y /var/tmp/kc.deb 2>&1")
        self.assertNotIn("Could not execute systemctl", p.stdout)
        wait_for(self.active, what="the unit active")
        self.assertEqual(node.prop("Type"), "notify")
        wait_for(lambda: node.status()["agent"].get("waitingFor") == "kubeletConfig",
                 what="status: waiting for the kubelet's config")
        lines = len(node.journal().splitlines())
        time.sleep(5)  # retries at 1, 2, 4 s: none of them may add a line
        self.assertEqual(len(node.journal().splitlines()), lines, node.journal())
        self.assertEqual(node.prop("NRestarts"), "0", node.journal())
        self.assertEqual(node.journal().count("waiting for the kubeletConfig"), 1,
                         node.journal())
        # Reload while waiting: the new windows are taken.
        node.write("/etc/kubelet-checkpoint/config.yaml", AGENT_CONFIG)
        p = node.run("systemctl reload %s" % UNIT, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + node.journal())

    def test_02_kubeadm_join(self):
        """kubeadm creates /etc/kubernetes after the service started: the agent heals itself."""
        node, api = self.node, self.api
        api.add_pods([make_pod("p1", NODE, annotations={TRIGGER: "true"},
                               uid="00000000-0000-4000-8000-000000000001")])
        os.makedirs(node.path("/etc/kubernetes/pki"))
        for name in ("ca.crt", "client.pem"):
            shutil.copy(os.path.join(self.certs, name), node.path("/etc/kubernetes/pki/" + name))
        node.write(MANIFESTS + "/kube-apiserver.yaml", FOREIGN)
        node.write("/var/lib/kubelet/config.yaml",
                   "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                   "staticPodPath: %s\ncgroupDriver: systemd\n" % MANIFESTS)
        wait_for(lambda: node.status()["agent"].get("waitingFor") == "kubeconfig", timeout=30,
                 what="status: waiting for the kubeconfig")
        node.write("/etc/kubernetes/kubelet.conf",
                   "apiVersion: v1\nkind: Config\ncurrent-context: node\nclusters:\n- name: c\n"
                   "  cluster:\n    server: %s\n    certificate-authority: "
                   "/etc/kubernetes/pki/ca.crt\ncontexts:\n- name: node\n  context:\n"
                   "    cluster: c\n    user: node\nusers:\n- name: node\n  user:\n"
                   "    client-certificate: /etc/kubernetes/pki/client.pem\n"
                   "    client-key: /etc/kubernetes/pki/client.pem\n" % api.url)
        wait_for(lambda: self.checkpoints() == ["Pod_00000000-0000-4000-8000-000000000001.yaml"],
                 timeout=40, what="the checkpoint under the hardened unit")
        journal = node.journal()
        # /etc/kubernetes did not exist when the service started: read-only in its
        # namespace; the agent exits once and systemd starts it in a new one.
        self.assertIn("read-only inside this service", journal)
        wait_for(self.active, what="the unit active again")
        self.assertEqual(node.prop("NRestarts"), "1", journal)
        self.outage_bridge()
        self.recover()

    def test_03_reload(self):
        node = self.node
        pid = node.prop("MainPID")
        node.write("/etc/kubelet-checkpoint/config.yaml", AGENT_CONFIG + "bogusKey: 1\n")
        p = node.run("systemctl reload %s" % UNIT, check=False)
        self.assertNotEqual(p.returncode, 0, "a rejected configuration reloaded 'fine'")
        self.assertIn("bogusKey", node.journal())
        self.assertTrue(self.active())
        self.assertEqual(node.prop("MainPID"), pid, "the agent was restarted")
        node.write("/etc/kubelet-checkpoint/config.yaml", AGENT_CONFIG)
        p = node.run("systemctl reload %s" % UNIT, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(node.prop("MainPID"), pid)

    def test_04_replaced_static_pod_path(self):
        """The manifests directory replaced while the agent runs: still written."""
        node = self.node
        restarts = node.prop("NRestarts")
        old = node.path(MANIFESTS + ".old")
        os.rename(node.path(MANIFESTS), old)
        os.mkdir(node.path(MANIFESTS))
        shutil.copy(os.path.join(old, "kube-apiserver.yaml"), node.path(MANIFESTS))
        self.outage_bridge()
        self.assertEqual(os.listdir(old), ["kube-apiserver.yaml"])
        self.recover()
        self.assertEqual(node.prop("NRestarts"), restarts)
        shutil.rmtree(old)

    def test_05_status_inside(self):
        p = self.node.run("kubelet-checkpoint status")
        self.assertIn("agent:            running", p.stdout)
        self.assertIn("p1", p.stdout)

    def test_06_deleted_conffile_and_directory(self):
        node = self.node
        os.unlink(node.path("/etc/kubelet-checkpoint/config.yaml"))
        node.run("systemctl restart %s" % UNIT)
        wait_for(self.active, what="active without config.yaml")
        self.assertIn("running with the defaults", node.journal())
        shutil.rmtree(node.path("/etc/kubelet-checkpoint"))
        p = node.run("systemctl restart %s" % UNIT, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + node.journal())
        wait_for(self.active, what="active without /etc/kubelet-checkpoint")
        self.assertNotIn("226", node.prop("ExecMainStatus"))
        # The admin puts it back.
        node.write("/etc/kubelet-checkpoint/config.yaml", AGENT_CONFIG)
        node.run("kubelet-checkpoint enable && systemctl restart %s" % UNIT)
        wait_for(self.active, what="active again")

    def test_07_watchdog_never_fired(self):
        journal = self.node.run("journalctl -o cat --no-pager").stdout
        self.assertNotIn("Watchdog timeout", journal)
        self.assertNotIn("watchdog", self.node.prop("Result"))

    def test_08_purge_with_bridge_active(self):
        node = self.node
        self.outage_bridge()
        p = node.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y kubelet-checkpoint 2>&1")
        self.assertIn("withdrew bridge manifest", p.stdout)
        self.assertEqual(self.bridges(), [])
        self.assertTrue(os.path.exists(node.path(MANIFESTS + "/kube-apiserver.yaml")))
        for gone in ("/var/lib/kubelet-checkpoint", "/etc/kubelet-checkpoint/enabled",
                     "/usr/bin/kubelet-checkpoint"):
            self.assertFalse(os.path.exists(node.path(gone)), gone)
        self.api.fault("none")


def main():
    reason = why_not()
    if reason is not None:
        print("SKIPPED: the system test under a booted systemd (tests/system): " + reason)
        return SKIP
    prog = unittest.main(exit=False, verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
