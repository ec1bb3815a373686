"""test_package.py: the node package.

Builds the DEB and the RPM with cpack from the build dir of KC_BINARY (output
in a temp dir), checks their contents, metadata and maintainer scripts, runs
lintian (errors fail, warnings are printed), and checks the bridge-manifest
ownership rule of the scripts in a sandbox directory.

With root and KC_PACKAGE_TEST_INSTALL=1 or CI=true (a throwaway machine) it
also installs the .deb here: --version and status of the installed binary,
the files and modes laid down, that an admin's `disable` survives a
reinstall, and that purge removes the agent's own bridge manifest, keeps
foreign ones and leaves nothing of the package behind.
"""
import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

BINARY = os.environ.get("KC_BINARY", "")
BUILD_DIR = os.path.dirname(BINARY)
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PKG_SRC = os.path.join(SOURCE_DIR, "packaging")
MARKER = "kubelet-checkpoint/checkpoint-of"
MANIFESTS = "/etc/kubernetes/manifests"

OWN_BRIDGE = """apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubelet-checkpoint/checkpoint-of: kube-system/node-agent-x7k2p
    kubelet-checkpoint/source-uid: 6f1c8a52-3f0e-4c47-9d0b-2a1f5e9b7c11
  name: node-agent-x7k2p
  namespace: kube-system
spec:
  containers:
  - image: registry.k8s.io/pause:3.9
    name: agent
"""
FOREIGN = """apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - image: registry.k8s.io/kube-apiserver:v1.31.0
    name: kube-apiserver
"""


def sh(args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: rc %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def have(tool):
    return shutil.which(tool) is not None


def project_version():
    out = sh([BINARY, "--version"]).stdout.split()
    return out[-1]


class Packages:
    """Builds each package once, into one temp dir shared by the tests."""
    out = None
    files = {}

    @classmethod
    def get(cls, generator):
        if generator not in cls.files:
            if cls.out is None:
                cls.out = tempfile.mkdtemp(prefix="kc-pkg-")
            sh(["cpack", "-G", generator, "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
                "-B", cls.out], cwd=BUILD_DIR)
            ext = ".deb" if generator == "DEB" else ".rpm"
            found = [f for f in os.listdir(cls.out) if f.endswith(ext)]
            assert len(found) == 1, found
            cls.files[generator] = os.path.join(cls.out, found[0])
        return cls.files[generator]


def deb_listing(deb):
    """{path: (mode string, owner)} of dpkg-deb -c."""
    entries = {}
    for line in sh(["dpkg-deb", "-c", deb]).stdout.splitlines():
        fields = line.split()
        path = fields[5].lstrip(".")
        entries[path.rstrip("/") or "/"] = (fields[0], fields[1])
    return entries


@unittest.skipUnless(have("cpack") and have("dpkg-deb"), "cpack or dpkg-deb missing")
class TestDeb(unittest.TestCase):
    def setUp(self):
        self.deb = Packages.get("DEB")

    def test_contents_and_modes(self):
        files = deb_listing(self.deb)
        want = {
            "/usr/bin/kubelet-checkpoint": "-rwxr-xr-x",
            "/lib/systemd/system/kubelet-checkpoint.service": "-rw-r--r--",
            "/etc/kubelet-checkpoint/config.yaml": "-rw-r--r--",
            "/usr/share/man/man8/kubelet-checkpoint.8.gz": "-rw-r--r--",
            "/usr/share/man/man5/kubelet-checkpoint-config.yaml.5.gz": "-rw-r--r--",
            "/usr/share/doc/kubelet-checkpoint/copyright": "-rw-r--r--",
            "/usr/share/doc/kubelet-checkpoint/changelog.Debian.gz": "-rw-r--r--",
        }
        for path, mode in want.items():
            self.assertIn(path, files)
            self.assertEqual(files[path][0], mode, path)
            self.assertEqual(files[path][1], "root/root", path)
        for path in files:
            self.assertFalse(path.startswith("/usr/lib/systemd"), path)
            self.assertFalse(path.startswith("/var/lib/kubelet-checkpoint"),
                             "state dir is made by postinst, not shipped: " + path)
            self.assertNotEqual(path, "/etc/kubelet-checkpoint/enabled",
                                "the flag file must not be a package file")

    def test_control_fields(self):
        fields = {}
        for line in sh(["dpkg-deb", "-f", self.deb]).stdout.splitlines():
            if not line.startswith(" ") and ":" in line:
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        self.assertEqual(fields["Package"], "kubelet-checkpoint")
        self.assertEqual(fields["Version"], project_version() + "-1")
        self.assertEqual(fields["Section"], "admin")
        self.assertIn("libc6", fields["Depends"])
        self.assertIn("libjansson4", fields["Depends"])
        self.assertIn("libprotobuf-c1", fields["Depends"])

    def test_control_members(self):
        with tempfile.TemporaryDirectory() as d:
            sh(["dpkg-deb", "-e", self.deb, d])
            with open(os.path.join(d, "conffiles")) as f:
                self.assertEqual(f.read().split(), ["/etc/kubelet-checkpoint/config.yaml"])
            for script in ("postinst", "prerm", "postrm"):
                path = os.path.join(d, script)
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755, script)
                with open(path) as f:
                    text = f.read()
                self.assertTrue(text.startswith("#!/bin/sh\n"), script)
                self.assertIn("set -e", text)
                self.assertNotIn("@KC_", text, "unsubstituted template variable")
                sh(["sh", "-n", path])
                if have("checkbashisms"):
                    sh(["checkbashisms", path])

    def test_binary_stripped_and_docs_compressed(self):
        with tempfile.TemporaryDirectory() as d:
            sh(["dpkg-deb", "-x", self.deb, d])
            binary = os.path.join(d, "usr/bin/kubelet-checkpoint")
            sections = sh(["readelf", "-S", "-W", binary]).stdout
            self.assertNotIn(".symtab", sections)
            self.assertNotIn(".debug_info", sections)
            self.assertIn(project_version(), sh([binary, "--version"]).stdout)
            for gz in ("usr/share/man/man8/kubelet-checkpoint.8.gz",
                       "usr/share/man/man5/kubelet-checkpoint-config.yaml.5.gz",
                       "usr/share/doc/kubelet-checkpoint/changelog.Debian.gz"):
                with open(os.path.join(d, gz), "rb") as f:
                    head = f.read(10)
                self.assertEqual(head[:2], b"\x1f\x8b", gz)
                self.assertEqual(head[8], 2, gz + ": not gzip -9")
                self.assertEqual(head[4:8], b"\0\0\0\0", gz + ": time stamp in gzip header")
            with gzip.open(os.path.join(d, "usr/share/doc/kubelet-checkpoint/changelog.Debian.gz"),
                           "rt") as f:
                first = f.readline()
            self.assertTrue(first.startswith("kubelet-checkpoint (%s-1) " % project_version()),
                            first)
            for page in ("man8/kubelet-checkpoint.8", "man5/kubelet-checkpoint-config.yaml.5"):
                with gzip.open(os.path.join(d, "usr/share/man", page + ".gz"), "rt") as f, \
                        open(os.path.join(PKG_SRC, os.path.basename(page))) as src:
                    self.assertEqual(f.read(), src.read(), page)

    @unittest.skipUnless(have("lintian"), "lintian missing")
    def test_lintian(self):
        p = sh(["lintian", "--pedantic", "--info", "--display-experimental", self.deb],
               check=False)
        tags = [l for l in (p.stdout + p.stderr).splitlines() if l[:2] in ("E:", "W:", "I:", "P:", "X:")]
        for t in tags:
            print("lintian:", t)
        errors = [t for t in tags if t.startswith("E:")]
        self.assertEqual(errors, [], "lintian errors")


@unittest.skipUnless(have("cpack") and have("rpm") and have("rpmbuild"), "rpm tools missing")
class TestRpm(unittest.TestCase):
    def setUp(self):
        self.rpm = Packages.get("RPM")

    def query(self, *args):
        return sh(["rpm", "-qp"] + list(args) + [self.rpm]).stdout

    def test_file_list(self):
        files = set(self.query("-l").split())
        for path in ("/usr/bin/kubelet-checkpoint",
                     "/usr/lib/systemd/system/kubelet-checkpoint.service",
                     "/usr/lib/systemd/system-preset/80-kubelet-checkpoint.preset",
                     "/etc/kubelet-checkpoint/config.yaml",
                     "/usr/share/man/man8/kubelet-checkpoint.8.gz",
                     "/usr/share/man/man5/kubelet-checkpoint-config.yaml.5.gz",
                     "/usr/share/doc/kubelet-checkpoint/copyright"):
            self.assertIn(path, files)
        # Directories of the base system must not be claimed (file conflicts
        # with the filesystem and systemd packages), nor Debian's paths used.
        for path in ("/etc", "/usr", "/usr/bin", "/usr/lib", "/usr/lib/systemd",
                     "/usr/lib/systemd/system", "/usr/share/man/man5", "/usr/share/man/man8",
                     "/lib",
                     "/lib/systemd/system/kubelet-checkpoint.service",
                     "/usr/share/doc/kubelet-checkpoint/changelog.Debian.gz",
                     "/etc/kubelet-checkpoint/enabled"):
            self.assertNotIn(path, files)
        self.assertEqual(self.query("-c").split(), ["/etc/kubelet-checkpoint/config.yaml"])
        modes = self.query("--qf", "[%{FILEMODES:perms} %{FILEFLAGS:fflags} %{FILENAMES}\n]")
        self.assertIn("-rw-r--r-- cn /etc/kubelet-checkpoint/config.yaml", modes)
        self.assertIn("-rwxr-xr-x  /usr/bin/kubelet-checkpoint", modes)

    def test_metadata_and_requires(self):
        self.assertEqual(self.query("--qf", "%{NAME} %{VERSION} %{RELEASE} %{LICENSE}"),
                         "kubelet-checkpoint %s 1 Apache-2.0" % project_version())
        requires = self.query("-R")
        print("rpm requires:\n" + requires)
        self.assertIn("libc.so.6", requires)
        self.assertIn("libjansson.so.4", requires)

    def test_scriptlets(self):
        scripts = self.query("--scripts")
        for section in ("postinstall scriptlet", "preuninstall scriptlet",
                        "postuninstall scriptlet"):
            self.assertIn(section, scripts)
        self.assertIn("kc_withdraw_bridge_manifests", scripts)
        self.assertIn("kc_systemd_running", scripts)
        self.assertNotIn("@KC_", scripts)
        for tag in ("POSTIN", "PREUN", "POSTUN"):
            body = self.query("--qf", "%%{%s}" % tag)
            sh(["sh", "-n"], input=body)


class TestScriptHelpers(unittest.TestCase):
    """The shell helpers the maintainer scripts share, in a sandbox dir."""

    def test_withdraw_only_own_manifests(self):
        with tempfile.TemporaryDirectory() as d:
            def put(name, text):
                with open(os.path.join(d, name), "w") as f:
                    f.write(text)
            put("kube-apiserver.yaml", FOREIGN)
            put("etcd.yaml", OWN_BRIDGE)  # marker without the prefix
            put("kubelet-checkpoint_kube-system_lookalike.yaml", FOREIGN)  # prefix, no marker
            put("kubelet-checkpoint_kube-system_node-agent-x7k2p.yaml", OWN_BRIDGE)
            put(".kubelet-checkpoint_kube-system_node-agent-x7k2p.yaml.tmp", OWN_BRIDGE)
            put("kubelet-checkpoint_kube-system_json.json",
                '{"metadata":{"annotations":{"%s":"kube-system/x"}}}' % MARKER)
            put("kubelet-checkpoint_kube-system_mention.yaml",
                FOREIGN + "# not-" + MARKER + ": ignored\n")
            outside = os.path.join(d, "outside")
            os.mkdir(outside)
            with open(os.path.join(outside, "target.yaml"), "w") as f:
                f.write(OWN_BRIDGE)
            os.symlink(os.path.join(outside, "target.yaml"),
                       os.path.join(d, "kubelet-checkpoint_kube-system_link.yaml"))
            common = os.path.join(PKG_SRC, "scripts", "common.sh")
            p = sh(["sh", "-ec", '. "$1"; kc_withdraw_from "$2"; kc_withdraw_from ""; '
                    'kc_withdraw_from "$2/missing"', "sh", common, d])
            left = sorted(os.listdir(d))
            self.assertEqual(left, [
                "etcd.yaml", "kube-apiserver.yaml", "kubelet-checkpoint_kube-system_link.yaml",
                "kubelet-checkpoint_kube-system_lookalike.yaml",
                "kubelet-checkpoint_kube-system_mention.yaml", "outside"])
            self.assertTrue(os.path.exists(os.path.join(outside, "target.yaml")))
            self.assertIn("withdrew bridge manifest", p.stdout)

    def test_config_value(self):
        with tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "config.yaml")
            with open(conf, "w") as f:
                f.write('#staticPodPath: /commented\nstaticPodPath: "/srv/manifests"  \n')
            common = os.path.join(PKG_SRC, "scripts", "common.sh")
            p = sh(["sh", "-ec", '. "$1"; KC_CONFIG=$2; kc_config_value staticPodPath; '
                    'kc_config_value stateDir; KC_CONFIG=$2.missing; kc_config_value x',
                    "sh", common, conf])
            self.assertEqual(p.stdout, "/srv/manifests\n")

    @unittest.skipUnless(have("man"), "man missing")
    def test_man_page_warnings(self):
        p = sh(["man", "--warnings", "-l", os.path.join(PKG_SRC, "kubelet-checkpoint.8")],
               env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
        self.assertEqual(p.stderr, "")
        text = re.sub(".\b", "", p.stdout)  # overstrike bold and underline
        for section in ("SYNOPSIS", "COMMANDS", "OPTIONS", "FILES", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(section, text)
        for word in ("render", "status", "enable", "disable", "--unreachable-after",
                     "--metrics-file", "/etc/kubelet-checkpoint/enabled", "ReadWritePaths",
                     "kubelet-checkpoint-config.yaml(5)"):
            self.assertIn(word, text)

    @unittest.skipUnless(have("man"), "man missing")
    def test_config_man_page(self):
        """kubelet-checkpoint-config.yaml(5) renders without warnings and documents
        every key the packaged config.yaml lists (the keys of `run`'s settings)."""
        p = sh(["man", "--warnings", "-l",
                os.path.join(PKG_SRC, "kubelet-checkpoint-config.yaml.5")],
               env=dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="0"))
        self.assertEqual(p.stderr, "")
        text = re.sub(".\b", "", p.stdout)
        for section in ("SYNOPSIS", "DESCRIPTION", "SETTINGS", "RELOADING", "EXAMPLES",
                        "kubelet-checkpoint(8)"):
            self.assertIn(section, text)
        with open(os.path.join(PKG_SRC, "config.yaml")) as f:
            keys = re.findall(r"^#([a-zA-Z]+):", f.read(), re.M)
        self.assertGreater(len(keys), 15)
        documented = set(re.findall(r"^ {7}([a-zA-Z]+): ", text, re.M))
        self.assertEqual(sorted(set(keys)), sorted(documented))

    @unittest.skipUnless(have("systemd-analyze"), "systemd-analyze missing")
    def test_unit_security(self):
        unit = os.path.join(PKG_SRC, "kubelet-checkpoint.service")
        p = sh(["systemd-analyze", "security", "--offline=true", unit], check=False)
        if "--offline" in p.stderr and p.returncode != 0:
            self.skipTest("this systemd-analyze has no --offline")
        line = [l for l in p.stdout.splitlines() if "Overall exposure level" in l]
        print(line[0] if line else p.stdout)
        self.assertTrue(line)
        score = float(line[0].split(":")[1].split()[0])
        self.assertLessEqual(score, 3.0, "exposure should stay at OK or better")


def install_wanted():
    return os.geteuid() == 0 and (os.environ.get("KC_PACKAGE_TEST_INSTALL") == "1"
                                  or os.environ.get("CI") == "true")


@unittest.skipUnless(have("cpack") and have("dpkg"), "cpack or dpkg missing")
@unittest.skipUnless(install_wanted(),
                     "installs system-wide: needs root and KC_PACKAGE_TEST_INSTALL=1 or CI=true")
class TestInstall(unittest.TestCase):
    def setUp(self):
        self.deb = Packages.get("DEB")
        if sh(["dpkg", "-s", "kubelet-checkpoint"], check=False).returncode == 0:
            sh(["dpkg", "--purge", "kubelet-checkpoint"])
        self.created = [p for p in ("/etc/kubernetes", MANIFESTS) if not os.path.exists(p)]
        os.makedirs(MANIFESTS, exist_ok=True)
        self.planted = []

    def tearDown(self):
        sh(["dpkg", "--purge", "kubelet-checkpoint"], check=False)
        for path in self.planted:
            if os.path.lexists(path):
                os.unlink(path)
        for path in reversed(self.created):
            os.rmdir(path)

    def plant(self, name, text):
        path = os.path.join(MANIFESTS, name)
        self.assertFalse(os.path.lexists(path), "would overwrite " + path)
        with open(path, "w") as f:
            f.write(text)
        self.planted.append(path)
        return path

    def test_install_reinstall_purge(self):
        p = sh(["dpkg", "-i", self.deb])
        print(p.stdout + p.stderr)
        systemd_running = os.path.isdir("/run/systemd/system")
        print("systemd running:", systemd_running)

        version = sh(["/usr/bin/kubelet-checkpoint", "--version"]).stdout
        self.assertEqual(version.strip(), "kubelet-checkpoint " + project_version())
        status = sh(["/usr/bin/kubelet-checkpoint", "status"], check=False)
        print("status rc %d:\n%s%s" % (status.returncode, status.stdout, status.stderr))
        self.assertEqual(status.returncode, 0)

        st = os.stat("/var/lib/kubelet-checkpoint")
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        self.assertTrue(os.path.isfile("/etc/kubelet-checkpoint/enabled"))
        self.assertEqual(stat.S_IMODE(os.stat("/etc/kubelet-checkpoint/config.yaml").st_mode),
                         0o644)
        conffiles = sh(["dpkg-query", "-W", "-f", "${Conffiles}", "kubelet-checkpoint"]).stdout
        self.assertIn("/etc/kubelet-checkpoint/config.yaml", conffiles)
        self.assertTrue(os.path.isfile("/lib/systemd/system/kubelet-checkpoint.service"))
        self.assertTrue(os.path.islink(
            "/etc/systemd/system/multi-user.target.wants/kubelet-checkpoint.service"),
            "deb-systemd-helper did not enable the unit")
        if have("systemd-analyze"):
            p = sh(["systemd-analyze", "verify", "kubelet-checkpoint.service"], check=False)
            print("systemd-analyze verify: rc %d %s" % (p.returncode, p.stderr.strip()))
            self.assertNotIn("kubelet-checkpoint.service:", p.stderr)

        # An admin's `disable` survives a reinstall (postinst with $2 set).
        os.unlink("/etc/kubelet-checkpoint/enabled")
        sh(["dpkg", "-i", self.deb])
        self.assertFalse(os.path.exists("/etc/kubelet-checkpoint/enabled"))
        self.assertEqual(stat.S_IMODE(os.stat("/var/lib/kubelet-checkpoint").st_mode), 0o700)

        foreign = self.plant("kube-apiserver-kc-test.yaml", FOREIGN)
        lookalike = self.plant("kubelet-checkpoint_kube-system_kc-test-lookalike.yaml", FOREIGN)
        own = self.plant("kubelet-checkpoint_kube-system_kc-test-bridge.yaml", OWN_BRIDGE)
        with open("/var/lib/kubelet-checkpoint/leftover", "w") as f:
            f.write("checkpoint data")

        p = sh(["dpkg", "--purge", "kubelet-checkpoint"])
        print(p.stdout + p.stderr)
        self.assertFalse(os.path.lexists(own), "own bridge manifest survived purge")
        self.assertTrue(os.path.isfile(foreign), "foreign manifest removed")
        self.assertTrue(os.path.isfile(lookalike), "prefix-only file removed")
        leftovers = [path for path in (
            "/usr/bin/kubelet-checkpoint", "/var/lib/kubelet-checkpoint", "/etc/kubelet-checkpoint",
            "/lib/systemd/system/kubelet-checkpoint.service",
            "/etc/systemd/system/multi-user.target.wants/kubelet-checkpoint.service",
            "/var/lib/systemd/deb-systemd-helper-enabled/kubelet-checkpoint.service.dsh-also",
            "/var/lib/systemd/deb-systemd-helper-masked/kubelet-checkpoint.service",
            "/usr/share/doc/kubelet-checkpoint",
            "/usr/share/man/man8/kubelet-checkpoint.8.gz") if os.path.lexists(path)]
        self.assertEqual(leftovers, [])
        self.assertNotEqual(sh(["dpkg", "-s", "kubelet-checkpoint"], check=False).returncode, 0)


if __name__ == "__main__":
    if not BINARY or not os.path.isfile(os.path.join(BUILD_DIR, "CPackConfig.cmake")):
        print("test_package: KC_BINARY must be the binary in a configured build dir", file=sys.stderr)
        sys.exit(2)
    result = unittest.main(verbosity=2, exit=False).result
    for test, reason in result.skipped:
        print("SKIPPED %s: %s" % (test.id(), reason))
    if Packages.out:
        shutil.rmtree(Packages.out, ignore_errors=True)
    sys.exit(0 if result.wasSuccessful() else 1)
