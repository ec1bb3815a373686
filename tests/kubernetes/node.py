"""node.py: a real Kubernetes node for the kubernetes test tier (issue 15), standard library only.

Pieces, each started on private paths under one temp directory so nothing else on the machine
is touched (no /run/containerd, no /var/lib/kubelet, no /etc/cni):
  - OCI image archives built here (no image can be pulled): the pause image from the project's
    static tests/kubernetes/pause.c and a workload image holding Debian's busybox-static;
  - containerd (Debian, CRI v1) with its own config.toml (root, state, sockets, CNI dirs),
    runc, and a bridge CNI network from Debian's containernetworking-plugins;
  - the kubelet built by tests/kubernetes/build.sh, cgroupfs driver, standalone or with a
    kubeconfig;
  - etcd and kube-apiserver (the full cycle), with a test CA;
  - a small CRI client (gRPC over HTTP/2 by curl, protobuf decoded here) for what the
    runtime really runs.
"""
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
from agent_env import wait_for  # noqa: E402,F401  (pred, timeout, step, what)
K8S_BIN = os.environ.get("KC_K8S_BIN", "")
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
BUSYBOX = "/bin/busybox"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- OCI image archives

def _blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs["blobs/sha256/" + digest] = data
    return "sha256:" + digest, len(data)


def normalize_image(ref):
    """The name containerd's CRI resolves ref to (docker.io/library/..., :latest), the way
    the docker reference library normalises it: images must be imported under it."""
    name, digest = (ref.split("@", 1) + [""])[:2]
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    if digest:
        return name + "@" + digest
    if ":" not in name.rsplit("/", 1)[1]:
        name += ":latest"
    return name


def _tar_add(tar, name, data=None, mode=0o755, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.linkname = linkname
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def oci_archive(path, files, names, entrypoint, cmd=None, dirs=(), links=()):
    """Write an OCI image layout tar at path: one uncompressed layer holding files
    {path_in_image: (bytes, mode)}, directories and symlinks {link: target}; one manifest
    entry per name in names (containerd's import names the image after
    io.containerd.image.name)."""
    layer_io = io.BytesIO()
    with tarfile.open(fileobj=layer_io, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d in sorted(set(dirs) | {"tmp", "etc", "bin", "dev", "proc", "sys"}):
            _tar_add(t, d, kind=tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755)
        for name, (data, mode) in sorted(files.items()):
            _tar_add(t, name, data, mode)
        for link, target in sorted(dict(links).items()):
            _tar_add(t, link, kind=tarfile.SYMTYPE, mode=0o777, linkname=target)
    layer = layer_io.getvalue()
    blobs = {}
    layer_digest, layer_size = _blob(blobs, layer)
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Entrypoint": entrypoint, "Cmd": cmd,
                         "Env": ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]},
              "rootfs": {"type": "layers", "diff_ids": [layer_digest]}}
    cfg_digest, cfg_size = _blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cfg_digest, "size": cfg_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": layer_digest, "size": layer_size}]}
    man_digest, man_size = _blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest,
         "size": man_size, "annotations": {"io.containerd.image.name": n,
                                           "org.opencontainers.image.ref.name": n}}
        for n in names]}
    with tarfile.open(path, "w") as t:
        _tar_add(t, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode(), 0o644)
        _tar_add(t, "index.json", json.dumps(index).encode(), 0o644)
        _tar_add(t, "blobs", kind=tarfile.DIRTYPE)
        _tar_add(t, "blobs/sha256", kind=tarfile.DIRTYPE)
        for name, data in sorted(blobs.items()):
            _tar_add(t, name, data, 0o644)
    return man_digest


def build_pause(out):
    """The static pause binary, compiled from tests/kubernetes/pause.c."""
    subprocess.run(["cc", "-std=c11", "-O2", "-static", "-s", "-o", out,
                    os.path.join(HERE, "pause.c")], check=True)
    return out


def workload_files(extra_commands=()):
    """busybox-static as /bin/busybox with the usual applet links, plus a 'hold' program (a
    shell script sleeping forever) at every absolute command path in extra_commands, so the
    fixture pods' containers (whose real programs are not in this image) run and their
    mounts can be inspected from inside."""
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    hold = b"#!/bin/sh\n# test-image stand-in for a program this image lacks: stay up\n" \
           b"exec /bin/sleep 2147483647\n"
    # /hold is the entrypoint too: a container with only args (no command) stays up.
    files = {"bin/busybox": (bb, 0o755), "hold": (hold, 0o755)}
    links = {"bin/" + a: "busybox" for a in ("sh", "sleep", "cat", "ls", "stat", "id", "env",
                                             "true", "false", "echo", "nc", "httpd", "wget")}
    dirs = set()
    for c in extra_commands:
        rel = c.lstrip("/")
        if not rel or rel.startswith("bin/") and rel[4:] in links or rel == "bin/busybox":
            continue
        files[rel] = (hold, 0o755)
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return files, links, dirs


# ---------------------------------------------------------------- processes


def kill_shims(root):
    """Shims outlive containerd by design: end those of the node under root by
    their pid files (containerd's state dir)."""
    for dirpath, _, names in os.walk(os.path.join(root, "containerd", "state")):
        for n in names:
            if n in ("shim.pid", "init.pid"):
                try:
                    with open(os.path.join(dirpath, n)) as f:
                        os.kill(int(f.read().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass

class Proc:
    """A child process with its log file; stopped by its own pid."""

    def __init__(self, name, args, log_dir, env=None):
        self.name = name
        self.log_path = os.path.join(log_dir, name + ".log")
        self.log = open(self.log_path, "ab")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- CRI over curl

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, value):
    """Encode one protobuf field: str/bytes/dict-as-bytes (wire 2) or int/bool (wire 0)."""
    if isinstance(value, bool) or isinstance(value, int):
        return _varint(num << 3) + _varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    return _varint(num << 3 | 2) + _varint(len(value)) + value


def _read_varint(data, i):
    v = shift = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def pb_decode(data):
    """{field: [values]}: varints as int, length-delimited as bytes."""
    out = {}
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(data, i)
        elif wire == 2:
            n, i = _read_varint(data, i)
            v = data[i:i + n]
            i += n
        elif wire in (1, 5):
            n = 8 if wire == 1 else 4
            v = data[i:i + n]
            i += n
        else:
            raise ValueError("protobuf wire type %d" % wire)
        out.setdefault(num, []).append(v)
    return out


def _s(msg, num):
    v = msg.get(num)
    return v[0].decode() if v else ""


def _i(msg, num):
    v = msg.get(num)
    return v[0] if v else 0


def _map(msg, num):
    m = {}
    for entry in msg.get(num, []):
        e = pb_decode(entry)
        m[_s(e, 1)] = _s(e, 2)
    return m


class CRI:
    """runtime.v1 RuntimeService calls, framed by hand and sent by curl over HTTP/2."""

    SANDBOX_STATES = {0: "READY", 1: "NOTREADY"}
    CONTAINER_STATES = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}

    def __init__(self, sock):
        self.sock = sock

    def call(self, method, body=b"", service="RuntimeService"):
        frame = b"\0" + len(body).to_bytes(4, "big") + body
        p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--unix-socket", self.sock,
                            "-H", "content-type: application/grpc", "-H", "te: trailers",
                            "--data-binary", "@-", "-D", "-", "-o", "/dev/stderr",
                            "http://localhost/runtime.v1.%s/%s" % (service, method)],
                           input=frame, capture_output=True, timeout=30)
        headers = p.stdout.decode("latin-1")
        if p.returncode != 0 or "grpc-status: 0" not in headers:
            raise RuntimeError("CRI %s failed (curl rc %d): %s" % (method, p.returncode,
                                                                  headers.strip()[-400:]))
        reply = p.stderr
        if len(reply) < 5:
            return {}
        n = int.from_bytes(reply[1:5], "big")
        return pb_decode(reply[5:5 + n])

    def image_present(self, ref):
        """ImageService.ImageStatus: does the CRI resolve ref (what IfNotPresent asks)?"""
        r = self.call("ImageStatus", pb_field(1, pb_field(1, ref)), service="ImageService")
        return bool(r.get(1))

    def sandboxes(self):
        out = []
        for item in self.call("ListPodSandbox").get(1, []):
            m = pb_decode(item)
            meta = pb_decode(m.get(2, [b""])[0])
            out.append({"id": _s(m, 1), "name": _s(meta, 1), "uid": _s(meta, 2),
                        "namespace": _s(meta, 3), "attempt": _i(meta, 4),
                        "state": self.SANDBOX_STATES.get(_i(m, 3), "?"),
                        "labels": _map(m, 5), "annotations": _map(m, 6)})
        return out

    def containers(self):
        out = []
        for item in self.call("ListContainers").get(1, []):
            m = pb_decode(item)
            meta = pb_decode(m.get(3, [b""])[0])
            out.append({"id": _s(m, 1), "sandbox": _s(m, 2), "name": _s(meta, 1),
                        "attempt": _i(meta, 2),
                        "state": self.CONTAINER_STATES.get(_i(m, 6), "?"),
                        "labels": _map(m, 8)})
        return out

    def container_status(self, cid):
        """The status (mounts from CRI) and containerd's verbose info (runtime spec, pid)."""
        r = self.call("ContainerStatus", pb_field(1, cid) + pb_field(2, True))
        st = pb_decode(r.get(1, [b""])[0])
        mounts = []
        for mb in st.get(14, []):
            mm = pb_decode(mb)
            mounts.append({"containerPath": _s(mm, 1), "hostPath": _s(mm, 2),
                           "readonly": bool(_i(mm, 3))})
        info = _map(r, 2)
        verbose = json.loads(info["info"]) if info.get("info") else {}
        return {"state": self.CONTAINER_STATES.get(_i(st, 3), "?"), "exitCode": _i(st, 7),
                "reason": _s(st, 10), "message": _s(st, 11), "mounts": mounts,
                "pid": verbose.get("pid", 0), "runtimeSpec": verbose.get("runtimeSpec", {})}


# ---------------------------------------------------------------- the node

RUNC_CLAMP = """#!/bin/sh
# runc for a machine without CAP_SYS_RESOURCE (tests/kubernetes/node.py): the kubelet asks for
# oomScoreAdj -998 for pod sandboxes (and -997 for Guaranteed pods), which the kernel then
# refuses to runc's init ("failed to update /proc/self/oom_score_adj: Permission denied").
# A negative score is clamped to 0 in the bundle's config.json (or an exec's process.json);
# nothing else is changed.
prev=
for a in "$@"; do
  case "$prev" in
    --bundle|-b) [ -f "$a/config.json" ] && sed -i 's/"oomScoreAdj":-[0-9]*/"oomScoreAdj":0/g' "$a/config.json" ;;
    --process|-p) [ -f "$a" ] && sed -i 's/"oomScoreAdj":-[0-9]*/"oomScoreAdj":0/g' "$a" ;;
  esac
  prev=$a
done
exec runc "$@"
"""


def cgroup_hierarchies():
    """The mounted cgroup hierarchies (v1 controllers, name=systemd, the v2 unified one)."""
    out = []
    for hier in sorted(os.listdir("/sys/fs/cgroup")):
        path = os.path.join("/sys/fs/cgroup", hier)
        if not os.path.islink(path) and os.path.isdir(path) and os.path.ismount(path):
            out.append(path)
    return out or ["/sys/fs/cgroup"]


def make_cgroup_root(name):
    """The kubelet's cgroupRoot must exist in every hierarchy; a new v1 cpuset gets its
    parent's cpus and mems (else no task may join it)."""
    for h in cgroup_hierarchies():
        d = os.path.join(h, name.lstrip("/"))
        os.makedirs(d, exist_ok=True)
        for f in ("cpuset.cpus", "cpuset.mems"):
            if os.path.exists(os.path.join(d, f)):
                with open(os.path.join(h, f)) as src, open(os.path.join(d, f), "w") as dst:
                    dst.write(src.read())


def remove_cgroup_root(name):
    """The node's cgroup tree (the kubelet leaves it behind), empty directories deepest first."""
    for h in cgroup_hierarchies():
        top = os.path.join(h, name.lstrip("/"))
        for dirpath, _, _ in os.walk(top, topdown=False):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


def exit_on_sigterm():
    """SIGTERM (a timeout, CI cancelling) unwinds like an exception, so cleanups run."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


def can_lower_oom_score():
    """Whether this machine lets root lower an OOM score (CAP_SYS_RESOURCE)."""
    p = subprocess.run(["sh", "-c", "echo -1 > /proc/self/oom_score_adj"], capture_output=True)
    return p.returncode == 0


CONTAINERD_TOML = """version = 2
root = "{d}/containerd/root"
state = "{d}/containerd/state"
oom_score = 0
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/runc"
{runc_binary}  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/cni/net.d"
"""

KUBELET_CONFIG = """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: {manifests}
containerRuntimeEndpoint: unix://{sock}
cgroupDriver: cgroupfs
cgroupRoot: {cgroup_root}
# The host is cgroup v1 (plus an empty cgroup2 at /sys/fs/cgroup/unified): kubelet 1.34 still
# runs there; this keeps a later pinned version (where the default flips) running too.
failCgroupV1: false
failSwapOn: false
address: {ip}
port: {port}
healthzBindAddress: {ip}
healthzPort: {healthz}
readOnlyPort: 0
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: {webhook}}}
  x509: {{{client_ca}}}
authorization:
  mode: {authz}
fileCheckFrequency: 2s
syncFrequency: 10s
nodeStatusUpdateFrequency: 4s
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}}
evictionPressureTransitionPeriod: 5s
resolvConf: /etc/resolv.conf
serializeImagePulls: false
enableServer: true
"""


class Node:
    """containerd + kubelet on private paths under root (a temp dir).

    One process may run several nodes (bench/three_node.py): instance tells them apart,
    ip is where the kubelet serves (and its healthz is asked), wrap prefixes the commands
    of containerd and the kubelet (nsenter into the node's network namespace)."""

    def __init__(self, node_name, root=None, instance=0, ip="127.0.0.1", wrap=()):
        self.node_name = node_name
        self.root = root or tempfile.mkdtemp(prefix="kc-k8s-", dir="/var/tmp")
        self.ip = ip
        self.wrap = list(wrap)
        # Two runs at once (a developer and CI) must not share a bridge, a pod subnet or the
        # kubelet's cgroup tree: all three are derived from this process (and instance).
        n = os.getpid()
        suffix = "-%d" % instance if instance else ""
        bridge = "kct%d%s" % (n, suffix)
        pod_cidr = "10.%d.%d.0/24" % (200 + n % 50, (n // 50 + instance) % 256)
        self.cgroup_root = "/kc-test-%d%s" % (n, suffix)
        self.logs = os.path.join(self.root, "logs")
        self.sock = os.path.join(self.root, "containerd.sock")
        self.manifests = os.path.join(self.root, "manifests")
        self.kubelet_dir = os.path.join(self.root, "kubelet")
        self.kubelet_config = os.path.join(self.root, "kubelet-config.yaml")
        self.pod_cidr = pod_cidr
        self.bridge = bridge
        for d in (self.logs, self.manifests, self.kubelet_dir,
                  os.path.join(self.root, "cni", "net.d")):
            os.makedirs(d, exist_ok=True)
        self.containerd = None
        self.kubelet = None
        self.cri = CRI(self.sock)
        self.timings = {}
        self.notes = []
        self.keep = False  # set by a failing test: the temp dir and logs stay

    # containerd and images
    def start_containerd(self):
        runc_binary = ""
        if not can_lower_oom_score():
            wrapper = os.path.join(self.root, "runc-clamp-oom")
            with open(wrapper, "w") as f:
                f.write(RUNC_CLAMP)
            os.chmod(wrapper, 0o755)
            runc_binary = '        BinaryName = "%s"\n' % wrapper
            self.notes.append("no CAP_SYS_RESOURCE: negative oomScoreAdj clamped to 0 by "
                              "a runc wrapper")
        with open(os.path.join(self.root, "containerd.toml"), "w") as f:
            f.write(CONTAINERD_TOML.format(d=self.root, sock=self.sock, pause=PAUSE_IMAGE,
                                           runc_binary=runc_binary))
        with open(os.path.join(self.root, "cni", "net.d", "10-kctest.conflist"), "w") as f:
            json.dump({"cniVersion": "0.4.0", "name": "kctest", "plugins": [
                {"type": "bridge", "bridge": self.bridge, "isGateway": True, "ipMasq": False,
                 "hairpinMode": True,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": self.pod_cidr}]],
                          "dataDir": os.path.join(self.root, "cni", "ipam")}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "loopback"}]}, f)
        self.containerd = Proc("containerd", self.wrap + ["containerd", "--config",
                                              os.path.join(self.root, "containerd.toml")],
                               self.logs)
        wait_for(lambda: os.path.exists(self.sock) and self._cri_up(), 60,
                 what="containerd's CRI on %s (log: %s)" % (self.sock, self.containerd.tail()))

    def _cri_up(self):
        try:
            self.cri.call("Version")
            return True
        except Exception:
            return False

    def ctr(self, *args, check=True):
        return subprocess.run(["ctr", "--address", self.sock, "-n", "k8s.io"] + list(args),
                              capture_output=True, text=True, timeout=120, check=check)

    def import_images(self, workload_names, extra_commands=()):
        """The pause image and the busybox workload image under every name in
        workload_names."""
        imgdir = os.path.join(self.root, "images")
        os.makedirs(imgdir, exist_ok=True)
        pause = build_pause(os.path.join(imgdir, "pause"))
        with open(pause, "rb") as f:
            pbytes = f.read()
        oci_archive(os.path.join(imgdir, "pause.tar"), {"pause": (pbytes, 0o755)},
                    [PAUSE_IMAGE], ["/pause"])
        files, links, dirs = workload_files(extra_commands)
        oci_archive(os.path.join(imgdir, "busybox.tar"), files,
                    sorted({normalize_image(n) for n in workload_names}), ["/hold"],
                    dirs=dirs, links=links)
        for tar in ("pause.tar", "busybox.tar"):
            p = self.ctr("images", "import", os.path.join(imgdir, tar),
                         check=False)
            if p.returncode != 0:
                raise AssertionError("ctr import %s: %s" % (tar, p.stderr))

    def image_names(self):
        return set(self.ctr("images", "ls", "-q").stdout.split())

    # kubelet
    def start_kubelet(self, kubeconfig=None, client_ca=None, extra=()):
        port, healthz = free_port(), free_port()
        self.healthz = healthz
        make_cgroup_root(self.cgroup_root)
        ca = "clientCAFile: " + client_ca if client_ca else ""
        # Replaced atomically: an agent starting beside the kubelet reads this file and must
        # never see it half written (a cold reboot starts the agent first).
        with open(self.kubelet_config + ".tmp", "w") as f:
            f.write(KUBELET_CONFIG.format(manifests=self.manifests, sock=self.sock, port=port,
                                          healthz=healthz, client_ca=ca, ip=self.ip,
                                          cgroup_root=self.cgroup_root,
                                          webhook="true" if kubeconfig else "false",
                                          authz="Webhook" if kubeconfig else "AlwaysAllow"))
        os.replace(self.kubelet_config + ".tmp", self.kubelet_config)
        args = self.wrap + [os.path.join(K8S_BIN, "kubelet"), "--config", self.kubelet_config,
                "--root-dir", self.kubelet_dir, "--hostname-override", self.node_name,
                "--cert-dir", os.path.join(self.kubelet_dir, "pki"), "--v=2"]
        if kubeconfig:
            args += ["--kubeconfig", kubeconfig]
        self.kubelet = Proc("kubelet", args + list(extra), self.logs)
        wait_for(lambda: self._healthz(), 90,
                 what="kubelet healthz (log: %s)" % (self.kubelet.tail()
                                                     if self.kubelet else ""))

    def _healthz(self):
        if not self.kubelet.alive():
            raise AssertionError("kubelet exited:\n" + self.kubelet.tail(60))
        try:
            with socket.create_connection((self.ip, self.healthz), timeout=2) as s:
                s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                return b"200 OK" in s.recv(200)
        except OSError:
            return False

    def stop_kubelet(self):
        if self.kubelet is not None:
            self.kubelet.stop()
            self.kubelet = None

    # what runs
    def sandbox_of(self, name, namespace):
        """The newest sandbox whose pod name is name (the kubelet names a static pod
        <name>-<node>)."""
        found = [s for s in self.cri.sandboxes() if s["name"] == name and
                 s["namespace"] == namespace]
        return max(found, key=lambda s: s["attempt"]) if found else None

    def close(self):
        """Stop the kubelet, every pod sandbox and container, containerd; remove cgroups,
        mounts and the bridge this node made."""
        self.stop_kubelet()
        if self.containerd is not None and self.containerd.alive():
            try:
                for s in self.cri.sandboxes():
                    self.cri.call("StopPodSandbox", pb_field(1, s["id"]))
                    self.cri.call("RemovePodSandbox", pb_field(1, s["id"]))
            except Exception:
                pass
            self.containerd.stop()
        kill_shims(self.root)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        remove_cgroup_root(self.cgroup_root)
        # Mounts under root (overlay rootfs, shm, kubelet volumes), deepest first.
        with open("/proc/self/mountinfo") as f:
            mps = [line.split()[4] for line in f]
        for mp in sorted((m for m in mps if m.startswith(self.root + "/")), key=len,
                         reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if os.environ.get("KC_K8S_KEEP") != "1" and not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print("kept for a post-mortem: %s (logs in %s)" % (self.root, self.logs),
                  file=sys.stderr)


class KeepOnFailure:
    """Test case mixin: a failing test keeps its node's temp dir and logs (self.node.keep)."""

    def run(self, result=None):
        """A failing test keeps the node's temp dir and logs for a post-mortem."""
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            self.node.keep = True
        return out


# ---------------------------------------------------------------- the control plane

def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d, node_name, apiserver_ips=("127.0.0.1",), more_nodes=()):
    """A test CA and what the control plane and node need (openssl only):
    ca, apiserver (apiserver_ips), admin (O=system:masters), node (CN=system:node:<node>,
    O=system:nodes: the Node authorizer and NodeRestriction apply; node-<name>.pem for each
    of more_nodes), and the service-account signing key."""
    os.makedirs(d, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
             "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=kc-test-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)

    def leaf(name, subj, ext):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", name + ".key",
                 "-out", name + ".csr", "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "30", "-sha256", "-out", name + ".crt",
                 "-extfile", name + ".ext", cwd=d)

    leaf("apiserver", "/CN=kube-apiserver",
         "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
         "subjectAltName=%sIP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
         "DNS:kubernetes.default.svc\n" % "".join("IP:%s," % ip for ip in apiserver_ips))
    client = "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
    leaf("admin", "/O=system:masters/CN=kc-test-admin", client)
    nodes = {"node": node_name}
    nodes.update(("node-" + n, n) for n in more_nodes)
    for leaf_name, name in nodes.items():
        leaf(leaf_name, "/O=system:nodes/CN=system:node:%s" % name, client)
    leaf("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", client)
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    # The kubelet's rotated client certificate file holds cert and key together.
    for leaf_name in nodes:
        with open(os.path.join(d, leaf_name + ".pem"), "w") as out:
            for ext in (".crt", ".key"):
                with open(os.path.join(d, leaf_name + ext)) as f:
                    out.write(f.read())
    return d


def write_kubeconfig(path, server, ca, cert, key):
    with open(path, "w") as f:
        # Names are plain words: a YAML 1.1 reader takes "n" or "y" for a bool.
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: kc-test\n"
                "clusters:\n- name: kc-test\n  cluster:\n    server: %s\n"
                "    certificate-authority: %s\n"
                "contexts:\n- name: kc-test\n  context: {cluster: kc-test, user: kc-test}\n"
                "users:\n- name: kc-test\n  user:\n    client-certificate: %s\n"
                "    client-key: %s\n" % (server, ca, cert, key))
    return path


class ControlPlane:
    """etcd and kube-apiserver on 127.0.0.1 (Node,RBAC authorization; NodeRestriction)."""

    def __init__(self, root, node_name):
        self.root = os.path.join(root, "control-plane")
        self.logs = os.path.join(root, "logs")
        os.makedirs(self.root, exist_ok=True)
        self.pki = make_pki(os.path.join(self.root, "pki"), node_name)
        self.port = free_port()
        self.etcd_client, self.etcd_peer = free_port(), free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        p = self.pki
        self.admin_kubeconfig = write_kubeconfig(os.path.join(self.root, "admin.conf"),
                                                 self.url, p + "/ca.crt", p + "/admin.crt",
                                                 p + "/admin.key")
        self.node_kubeconfig = write_kubeconfig(os.path.join(self.root, "kubelet.conf"),
                                                self.url, p + "/ca.crt", p + "/node.pem",
                                                p + "/node.pem")
        self.etcd = None
        self.apiserver = None
        self.restarts = 0

    def start_etcd(self):
        self.etcd = Proc("etcd", [
            os.path.join(K8S_BIN, "etcd"), "--name", "kc-test",
            "--data-dir", os.path.join(self.root, "etcd"),
            "--listen-client-urls", "http://127.0.0.1:%d" % self.etcd_client,
            "--advertise-client-urls", "http://127.0.0.1:%d" % self.etcd_client,
            "--listen-peer-urls", "http://127.0.0.1:%d" % self.etcd_peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.etcd_peer,
            "--initial-cluster", "kc-test=http://127.0.0.1:%d" % self.etcd_peer,
            "--log-level", "warn"], self.logs)

    def start_apiserver(self):
        p = self.pki
        self.apiserver = Proc("kube-apiserver" + ("-%d" % self.restarts if self.restarts else ""), [
            os.path.join(K8S_BIN, "kube-apiserver"),
            "--etcd-servers", "http://127.0.0.1:%d" % self.etcd_client,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port),
            "--tls-cert-file", p + "/apiserver.crt", "--tls-private-key-file", p + "/apiserver.key",
            "--client-ca-file", p + "/ca.crt",
            "--kubelet-client-certificate", p + "/apiserver-kubelet-client.crt",
            "--kubelet-client-key", p + "/apiserver-kubelet-client.key",
            "--authorization-mode", "Node,RBAC",
            "--enable-admission-plugins", "NodeRestriction",
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", p + "/sa.pub",
            "--service-account-signing-key-file", p + "/sa.key",
            "--service-cluster-ip-range", "10.96.0.0/16",
            "--allow-privileged=true", "--anonymous-auth=false",
            "--enable-priority-and-fairness=false", "--watch-cache=true",
            "--profiling=false", "--v=1"], self.logs)
        self.restarts += 1
        wait_for(self._ready, 120, step=0.25,
                 what="kube-apiserver /readyz (log: %s)" % self.apiserver.tail(20))

    def _ready(self):
        if not self.apiserver.alive():
            raise AssertionError("kube-apiserver exited:\n" + self.apiserver.tail(60))
        p = subprocess.run(self.kubectl_args("get", "--raw", "/readyz"), capture_output=True,
                           text=True, timeout=20)
        return p.returncode == 0 and p.stdout.strip() == "ok"

    def stop_apiserver(self):
        if self.apiserver is not None:
            self.apiserver.stop()
            self.apiserver = None

    def kubectl_args(self, *args, kubeconfig=None):
        return [os.path.join(K8S_BIN, "kubectl"), "--kubeconfig",
                kubeconfig or self.admin_kubeconfig, "--request-timeout", "20s"] + list(args)

    def kubectl(self, *args, stdin=None, check=True, kubeconfig=None):
        p = subprocess.run(self.kubectl_args(*args, kubeconfig=kubeconfig), input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("kubectl %s: %s" % (" ".join(args), p.stderr))
        return p

    def get_json(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def apply(self, obj):
        return self.kubectl("apply", "-f", "-", stdin=json.dumps(obj))

    def close(self):
        self.stop_apiserver()
        if self.etcd is not None:
            self.etcd.stop()
