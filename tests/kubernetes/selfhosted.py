"""selfhosted.py: a self-hosted control plane on one real node, and its cold reboot (issue 18).

Used by tests/kubernetes/test_self_hosted.py (the timed test) and bench/cold_reboot.py (N
reboots in a row). Standard library only, on top of node.py:
  - images made from the tier's own binaries (etcd, kube-apiserver link only libc
    dynamically: the image holds the binary, libc.so.6 and the dynamic loader);
  - bootstrap as bootkube did: host etcd and kube-apiserver first, then annotated hostNetwork
    pods `etcd` and `kube-apiserver` in kube-system on the same ports (etcd's data on a
    hostPath, the apiserver's certificates and service-account keys from a Secret), which
    crash-loop until the host processes stop and then take over (the pivot);
  - the agent (the real binary) checkpoints both pods;
  - a cold reboot: agent and kubelet stopped, every pod sandbox removed, containerd stopped,
    its shims ended and its run state wiped, every pod cgroup and kubelet tmpfs gone; then
    containerd, the agent and the kubelet start again with no apiserver anywhere;
  - an Observer that samples, from outside, /readyz (every 0.25 s), the bridge manifests and
    what the runtime runs (every 0.5 s), and derives the figures: bridges serving, API gaps,
    steady.
"""
import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import node as kn  # noqa: E402

NS = "kube-system"
TRIGGER = "node.kubernetes.io/bootstrap-checkpoint"
PARENTS = ("etcd", "kube-apiserver")
ETCD_IMAGE = "kc-test/etcd:v3.6"
APISERVER_IMAGE = "kc-test/kube-apiserver:v1.34"
PKI_SECRET = "kc-apiserver-pki"
PKI_FILES = ("ca.crt", "apiserver.crt", "apiserver.key", "apiserver-kubelet-client.crt",
             "apiserver-kubelet-client.key", "sa.pub", "sa.key")
MARKER_KEY = "/kc-test/written-before-the-reboot"
# /readyz is asked every 0.25 s with this timeout. One failed answer between two good ones is a
# blip (a slow answer on a loaded machine), reported but not an API gap: a gap is two or more
# failed answers in a row (an apiserver that is down fails every one for seconds).
READYZ_TIMEOUT = 2.0


def bridge_file(name):
    return "kubelet-checkpoint_%s_%s.yaml" % (NS, name)


def shared_libs(binary):
    """{path in the image: path on the host} of what ldd says binary loads."""
    out = {}
    p = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    for line in p.stdout.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            out[m.group(1).lstrip("/")] = m.group(1)
    return out


def binary_image(archive, name, binary, in_image):
    """An OCI archive holding binary at in_image plus the libraries it loads."""
    files, dirs = {}, set()
    with open(binary, "rb") as f:
        files[in_image.lstrip("/")] = (f.read(), 0o755)
    for rel, host in shared_libs(binary).items():
        with open(os.path.realpath(host), "rb") as f:
            files[rel] = (f.read(), 0o755)
    for rel in files:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    dirs |= {"var", "var/lib", "etc/kubernetes"}
    kn.oci_archive(archive, files, [kn.normalize_image(name)], [in_image], dirs=dirs)


def apply_cluster_objects(cp):
    """What the API pods need in kube-system before they exist: the default ServiceAccount,
    kube-root-ca.crt and the apiserver's certificates and keys as a Secret."""
    cp.apply({"apiVersion": "v1", "kind": "ServiceAccount",
              "metadata": {"name": "default", "namespace": NS}})
    with open(os.path.join(cp.pki, "ca.crt")) as f:
        cp.apply({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt", "namespace": NS},
                  "data": {"ca.crt": f.read()}})
    data = {}
    for n in PKI_FILES:
        with open(os.path.join(cp.pki, n), "rb") as f:
            data[n] = base64.b64encode(f.read()).decode()
    cp.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": PKI_SECRET, "namespace": NS}, "data": data})


def control_plane_archives(imgdir):
    """The etcd and kube-apiserver image archives, made from the tier's binaries in imgdir."""
    os.makedirs(imgdir, exist_ok=True)
    out = []
    for name, binary, in_image in (
            (ETCD_IMAGE, "etcd", "/usr/local/bin/etcd"),
            (APISERVER_IMAGE, "kube-apiserver", "/usr/local/bin/kube-apiserver")):
        out.append(os.path.join(imgdir, binary + ".tar"))
        binary_image(out[-1], name, os.path.join(kn.K8S_BIN, binary), in_image)
    return out


class Readyz:
    """GET /readyz with the admin's client certificate (cheap enough to poll every 0.25 s)."""

    def __init__(self, cp):
        self.url = cp.url + "/readyz"
        self.ctx = ssl.create_default_context(cafile=os.path.join(cp.pki, "ca.crt"))
        self.ctx.load_cert_chain(os.path.join(cp.pki, "admin.crt"),
                                 os.path.join(cp.pki, "admin.key"))

    def ok(self, timeout=1.0):
        try:
            with urllib.request.urlopen(self.url, context=self.ctx, timeout=timeout) as r:
                return r.status == 200 and r.read().strip() == b"ok"
        except Exception:
            return False


class SelfHostedNode:
    """One node whose etcd and kube-apiserver run as checkpointed API pods."""

    def __init__(self, node_name, binary, unreachable_after=15, reachable_after=10,
                 port_sharing=False, node=None, cp=None):
        """node and cp: a kn.Node and its control plane made by the caller (the 3-node
        benchmark's, in a network namespace); by default this machine's."""
        self.node_name = node_name
        self.binary = binary
        self.unreachable_after = unreachable_after
        self.reachable_after = reachable_after
        self.port_sharing = port_sharing
        self.node = node if node is not None else kn.Node(node_name)
        self.cp = cp if cp is not None else kn.ControlPlane(self.node.root, node_name)
        self.readyz = Readyz(self.cp)
        self.agent = None
        self.extra_agent_args = []  # the benchmarks' --agent-arg
        self.uids = {}
        self.timings = {}
        self.state = os.path.join(self.node.root, "agent-state")
        self.flag = os.path.join(self.node.root, "enabled")
        self.status_file = os.path.join(self.node.root, "status.json")
        self.metrics_file = os.path.join(self.node.root, "agent.prom")
        self.boots = 0

    def pod_name(self, parent):
        """The API pod's name of parent ("etcd", "kube-apiserver"): the parent's own name
        here; bench/three_node.py names each node's pods after the node."""
        return parent

    # ------------------------------------------------------------ bootstrap and pivot
    def bootstrap(self):
        """Host etcd and apiserver, containerd with the images, the kubelet registered."""
        t0 = time.monotonic()
        self.cp.start_etcd()
        self.cp.start_apiserver()
        apply_cluster_objects(self.cp)
        archives = control_plane_archives(os.path.join(self.node.root, "images"))
        self.join(archives)
        for tar in archives:
            os.unlink(tar)
        self.timings["bootstrap (host control plane, node Ready)"] = time.monotonic() - t0

    def join(self, archives):
        """containerd with the pause image and the image archives, the kubelet registered
        and the node Ready."""
        cp, node = self.cp, self.node
        node.start_containerd()
        node.import_images(["kc-test/busybox:1"])  # the pause image (the sandbox image)
        for tar in archives:
            p = node.ctr("images", "import", tar, check=False)
            if p.returncode != 0:
                raise AssertionError("ctr import %s: %s" % (tar, p.stderr))
        self.start_kubelet()

        def node_ready():
            p = cp.kubectl("get", "node", self.node_name, "-o", "json", check=False)
            if p.returncode != 0:
                return False
            conds = json.loads(p.stdout)["status"].get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

        kn.wait_for(node_ready, 120, step=0.5, what="node Ready (kubelet log: %s)"
                    % node.kubelet.tail(20))

    def start_kubelet(self):
        self.node.start_kubelet(kubeconfig=self.cp.node_kubeconfig,
                                client_ca=os.path.join(self.cp.pki, "ca.crt"))

    def etcd_pod(self):
        cp = self.cp
        args = ["/usr/local/bin/etcd", "--name", "kc-test", "--data-dir", "/var/lib/etcd",
                "--listen-client-urls", "http://127.0.0.1:%d" % cp.etcd_client,
                "--advertise-client-urls", "http://127.0.0.1:%d" % cp.etcd_client,
                "--listen-peer-urls", "http://127.0.0.1:%d" % cp.etcd_peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % cp.etcd_peer,
                "--initial-cluster", "kc-test=http://127.0.0.1:%d" % cp.etcd_peer,
                "--log-level", "warn"]
        return self._pod("etcd", ETCD_IMAGE, args, [
            {"name": "data", "hostPath": {"path": os.path.join(cp.root, "etcd"),
                                          "type": "DirectoryOrCreate"}}],
            [{"name": "data", "mountPath": "/var/lib/etcd"}], cp.etcd_client)

    def apiserver_pod(self):
        cp, k = self.cp, "/etc/kubernetes/pki/"
        args = ["/usr/local/bin/kube-apiserver",
                "--etcd-servers", "http://127.0.0.1:%d" % cp.etcd_client,
                "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
                "--secure-port", str(cp.port),
                "--tls-cert-file", k + "apiserver.crt", "--tls-private-key-file",
                k + "apiserver.key", "--client-ca-file", k + "ca.crt",
                "--kubelet-client-certificate", k + "apiserver-kubelet-client.crt",
                "--kubelet-client-key", k + "apiserver-kubelet-client.key",
                "--authorization-mode", "Node,RBAC",
                "--enable-admission-plugins", "NodeRestriction",
                "--service-account-issuer", "https://kubernetes.default.svc",
                "--service-account-key-file", k + "sa.pub",
                "--service-account-signing-key-file", k + "sa.key",
                "--service-cluster-ip-range", "10.96.0.0/16",
                "--allow-privileged=true", "--anonymous-auth=false",
                "--enable-priority-and-fairness=false", "--watch-cache=true",
                "--profiling=false", "--v=1"]
        return self._pod("kube-apiserver", APISERVER_IMAGE, args, [
            {"name": "pki", "secret": {"secretName": PKI_SECRET, "defaultMode": 0o400}}],
            [{"name": "pki", "mountPath": "/etc/kubernetes/pki", "readOnly": True}], cp.port)

    # With port sharing, parent and bridge (rendered from the parent) bind beside each other.
    PORT_SHARING_FLAG = {"etcd": "--socket-reuse-port", "kube-apiserver": "--permit-port-sharing"}

    def _pod(self, name, image, args, volumes, mounts, port):
        if self.port_sharing:
            args = args + [self.PORT_SHARING_FLAG[name]]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": NS,
                             "labels": {"component": name, "tier": "control-plane"},
                             "annotations": {TRIGGER: "true"}},
                "spec": {"nodeName": self.node_name, "hostNetwork": True,
                         "automountServiceAccountToken": False,
                         "terminationGracePeriodSeconds": 10,
                         "volumes": volumes,
                         "containers": [{"name": name, "image": image,
                                         "imagePullPolicy": "Never", "command": args,
                                         "ports": [{"name": "main", "containerPort": port}],
                                         "volumeMounts": mounts}]}}

    def containers_of(self, uid, containers=None, sandboxes=None):
        """The regular containers of the pod with this UID (label io.kubernetes.pod.uid)."""
        cs = containers if containers is not None else self.node.cri.containers()
        return [c for c in cs if c["labels"].get("io.kubernetes.pod.uid") == uid]

    def pivot(self):
        """Annotated pods on the host processes' ports crash-loop until those stop, then
        take over (bootkube's pivot); returns when /readyz is served by the pod and both API
        pods are Running under the UIDs they were created with."""
        t0 = time.monotonic()
        cp = self.cp
        for pod in (self.etcd_pod(), self.apiserver_pod()):
            cp.apply(pod)
        for name in PARENTS:
            self.uids[name] = cp.get_json("pod", "-n", NS, self.pod_name(name))["metadata"]["uid"]

        def crashed_once():
            cs = self.node.cri.containers()
            return all(any(c["state"] == "EXITED" for c in self.containers_of(u, cs))
                       for u in self.uids.values())

        kn.wait_for(crashed_once, 120, step=0.5,
                    what="both pods' first container exits (ports held by the host "
                         "processes; kubelet: %s)" % self.node.kubelet.tail(20))
        self.timings["pivot: pods created -> first crash of each"] = time.monotonic() - t0
        t1 = time.monotonic()
        cp.apiserver.stop(timeout=5)
        cp.apiserver = None
        cp.etcd.stop(timeout=5)
        cp.etcd = None
        kn.wait_for(self.readyz.ok, 180, step=0.5,
                    what="/readyz from the kube-apiserver pod after the host processes "
                         "stopped (kubelet: %s)" % self.node.kubelet.tail(20))
        self.timings["pivot: host processes stopped -> pods serve /readyz"] = \
            time.monotonic() - t1

        def pods_running():
            for name, uid in self.uids.items():
                p = cp.kubectl("get", "pod", "-n", NS, self.pod_name(name), "-o", "json",
                               check=False)
                if p.returncode != 0:
                    return False
                p = json.loads(p.stdout)
                st = p.get("status") or {}
                if p["metadata"]["uid"] != uid or st.get("phase") != "Running" or not all(
                        c.get("ready") for c in st.get("containerStatuses") or [{}]):
                    return False
            return True

        kn.wait_for(pods_running, 180, step=1,
                    what="etcd and kube-apiserver pods Running in the API (kubelet: %s)"
                         % self.node.kubelet.tail(20))
        self.timings["pivot (pods created -> self-hosted, Running in the API)"] = \
            time.monotonic() - t0

    # ------------------------------------------------------------ the agent
    def agent_args(self):
        args = [self.binary, "run", "--kubeconfig", self.cp.node_kubeconfig,
                "--node-name", self.node_name, "--kubelet-config", self.node.kubelet_config,
                "--state-dir", self.state, "--flag-file", self.flag,
                "--cgroup-root", "/sys/fs/cgroup",
                "--unreachable-after", str(self.unreachable_after),
                "--reachable-after", str(self.reachable_after), "--gc-grace", "30",
                "--status-file", self.status_file, "--metrics-file", self.metrics_file, "-v",
                "--container-runtime-endpoint", "unix://" + self.node.sock]
        return args + list(self.extra_agent_args)

    def start_agent(self):
        if not os.path.exists(self.flag):
            open(self.flag, "w").close()
        # One log per boot: counts of activations and withdrawals are per boot.
        self.agent = kn.Proc("agent-boot%d" % self.boots, self.agent_args(), self.node.logs)

    def stop_agent(self):
        if self.agent is not None:
            self.agent.stop()

    def status(self):
        p = subprocess.run([self.binary, "status", "-o", "json", "--state-dir", self.state,
                            "--status-file", self.status_file, "--static-pod-path",
                            self.node.manifests, "--flag-file", self.flag],
                           capture_output=True, text=True, timeout=30)
        return json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else {}

    def metrics(self):
        out = {}
        try:
            with open(self.metrics_file) as f:
                for line in f:
                    if line.startswith("kubelet_checkpoint_"):
                        k, _, v = line.rpartition(" ")
                        out[k[len("kubelet_checkpoint_"):]] = float(v)
        except OSError:
            pass
        return out

    def wait_checkpointed(self):
        def ok():
            cps = self.status().get("checkpoints") or []
            return {c["uid"] for c in cps if c.get("state") == "ok"} >= set(self.uids.values())

        kn.wait_for(ok, 90, step=0.5, what="both checkpoints ok (agent: %s)"
                    % (self.agent.tail() if self.agent else ""))

    def bridges(self):
        return sorted(n for n in os.listdir(self.node.manifests)
                      if n.startswith("kubelet-checkpoint_"))

    # ------------------------------------------------------------ etcd marker
    def etcd_endpoint(self):
        """Where this node's etcd serves clients (bench/three_node.py: the node's IP)."""
        return "http://127.0.0.1:%d" % self.cp.etcd_client

    def etcd_call(self, path, body):
        url = "%s/v3/kv/%s" % (self.etcd_endpoint(), path)
        req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def etcd_put(self, key, value):
        self.etcd_call("put", {"key": base64.b64encode(key.encode()).decode(),
                               "value": base64.b64encode(value.encode()).decode()})

    def etcd_get(self, key):
        r = self.etcd_call("range", {"key": base64.b64encode(key.encode()).decode()})
        kvs = r.get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None

    # ------------------------------------------------------------ the cold reboot
    def power_off(self):
        """Everything a power cut ends: agent, kubelet, every pod (sandbox and containers),
        containerd and its shims, /run (containerd's state), the pod cgroups, tmpfs mounts."""
        node = self.node
        self.stop_agent()
        node.stop_kubelet()
        for s in node.cri.sandboxes():
            node.cri.call("StopPodSandbox", kn.pb_field(1, s["id"]))
            node.cri.call("RemovePodSandbox", kn.pb_field(1, s["id"]))
        node.containerd.stop()
        kn.kill_shims(node.root)
        with open("/proc/self/mountinfo") as f:
            mps = [line.split()[4] for line in f]
        for mp in sorted((m for m in mps if m.startswith(node.root + "/")), key=len,
                         reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(os.path.join(node.root, "containerd", "state"), ignore_errors=True)
        kn.remove_cgroup_root(node.cgroup_root)  # every pod cgroup; the kubelet remakes it

    def power_on(self, kubelet_lead=0.0):
        """containerd, then the agent and the kubelet (the agent first: its unit is
        Before=kubelet.service), or the kubelet kubelet_lead seconds before the agent.
        Returns (monotonic time the kubelet started, time the agent started)."""
        self.boots += 1
        self.boot_wall = time.time()
        self.node.start_containerd()
        if kubelet_lead > 0:
            t_kubelet = time.monotonic()
            self.start_kubelet()
            time.sleep(max(0.0, kubelet_lead - (time.monotonic() - t_kubelet)))
            t_agent = time.monotonic()
            self.start_agent()
        else:
            t_agent = time.monotonic()
            self.start_agent()
            t_kubelet = time.monotonic()
            self.start_kubelet()
        return t_kubelet, t_agent

    # ------------------------------------------------------------ logs and counts
    def agent_log(self):
        try:
            with open(self.agent.log_path, errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def counts(self):
        """{name: (activations, withdrawals)} from this boot's agent log, and the number of
        checkpoints dropped (collected)."""
        log = self.agent_log()
        out = {}
        for name in PARENTS:
            pod = self.pod_name(name)
            act = len(re.findall(r"activated %s/%s \(" % (NS, re.escape(pod)), log))
            wd = len(re.findall(r"withdrawn \S+/%s " % re.escape(bridge_file(pod)), log))
            out[name] = (act, wd)
        return out, len(re.findall(r"checkpoint dropped", log))

    def logs_tail(self, n=30):
        """For failure messages: the agent's last non-debug lines, the kubelet's last lines
        (cut to 300 characters) and its last sync error about each parent, and what the
        runtime holds of the parents."""
        parts = []
        if self.agent is not None:
            lines = [ln for ln in self.agent_log().splitlines() if ": debug: " not in ln]
            parts.append("==== %s (%s), without debug lines\n%s"
                         % (self.agent.name, self.agent.log_path, "\n".join(lines[-n:])))
        klog = os.path.join(self.node.logs, "kubelet.log")
        try:
            with open(klog, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        parts.append("==== kubelet (%s)\n%s" % (klog, "\n".join(ln[:300] for ln in lines[-n:])))
        for name, uid in self.uids.items():
            errs = [ln for ln in lines if "Error syncing pod" in ln and uid in ln]
            if errs:
                parts.append("kubelet's last sync error for %s: %s" % (name, errs[-1][:400]))
        try:
            sbs = self.node.cri.sandboxes()
            cs = self.node.cri.containers()
            for name, uid in self.uids.items():
                parts.append("runtime, parent %s: sandboxes %s, containers %s" % (
                    name, [s["state"] for s in sbs if s["uid"] == uid],
                    [(c["attempt"], c["state"]) for c in self.containers_of(uid, cs)]))
        except Exception as e:  # containerd down: say so, the rest still helps
            parts.append("runtime: %s" % e)
        return "\n".join(parts)

    def close(self):
        self.stop_agent()
        self.node.stop_kubelet()
        self.cp.close()
        self.node.close()


class Sampler:
    """Threads that sample until stop(): targets are (function, args) pairs."""

    def __init__(self, targets):
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=t, args=a, daemon=True) for t, a in targets]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=30)


class Observer(Sampler):
    """Samples from outside while a reboot runs: /readyz every 0.25 s (its own thread), and
    every 0.5 s the bridge manifests and which containers of the parents and of the bridges
    the runtime runs. All times are time.monotonic()."""

    def __init__(self, sh):
        super().__init__([(self._readyz, ()), (self._runtime, ())])
        self.sh = sh
        self.ready = []    # (t, ok)
        self.states = []   # (t, {manifests}, {parent: running}, {name: bridge running})

    def _readyz(self):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            ok = self.sh.readyz.ok(timeout=READYZ_TIMEOUT)
            with self.lock:
                self.ready.append((t, ok))
            self.stop_flag.wait(max(0.0, 0.25 - (time.monotonic() - t)))

    def sample(self):
        sh = self.sh
        try:
            sbs = {s["id"]: s for s in sh.node.cri.sandboxes()}
            cs = sh.node.cri.containers()
        except Exception:
            return None  # containerd restarting: no sample
        parents = {n: any(c["state"] == "RUNNING" for c in sh.containers_of(u, cs))
                   for n, u in sh.uids.items()}
        bridges = {}
        for n in sh.uids:
            pod_name = "%s-%s" % (sh.pod_name(n), sh.node_name)
            bridges[n] = any(c["state"] == "RUNNING" and sbs.get(c["sandbox"], {}).get("name")
                             == pod_name for c in cs)
        return set(sh.bridges()), parents, bridges

    def _runtime(self):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            s = self.sample()
            if s is not None:
                with self.lock:
                    self.states.append((t,) + s)
            self.stop_flag.wait(max(0.0, 0.5 - (time.monotonic() - t)))

    def snapshot(self):
        with self.lock:
            return list(self.ready), list(self.states)

    # ---------------------------------------------------------------- derived figures
    def state_at(self, t, states):
        """The last runtime sample at or before t."""
        best = None
        for s in states:
            if s[0] <= t:
                best = s
            else:
                break
        return best

    def first_bridge_served(self, since):
        """First /readyz ok after since while the apiserver bridge ran and its parent did
        not (the bridge held the port)."""
        ready, states = self.snapshot()
        for t, ok in ready:
            if t < since or not ok:
                continue
            s = self.state_at(t, states)
            if s is not None and s[3].get("kube-apiserver") and \
                    not s[2].get("kube-apiserver"):
                return t
        return None

    def down_runs(self, since):
        """[(first failed t, last failed t, number of failed answers, last ok t before or
        None)] of /readyz after since."""
        ready, _ = self.snapshot()
        runs, cur, last_ok = [], None, None
        for t, ok in ready:
            if t < since:
                continue
            if ok:
                if cur is not None:
                    runs.append(tuple(cur))
                    cur = None
                last_ok = t
            elif cur is None:
                cur = [t, t, 1, last_ok]
            else:
                cur[1], cur[2] = t, cur[2] + 1
        if cur is not None:
            runs.append(tuple(cur) + ("open",))
        return runs

    def blips(self, since, until=None):
        """Single failed /readyz answers between good ones (not gaps)."""
        return [r[0] for r in self.down_runs(since) if r[2] == 1 and len(r) == 4 and
                r[3] is not None and (until is None or r[0] <= until)]

    def steady_since(self, since):
        """Start of the current run of samples in which both parents run, no bridge
        manifest exists, no bridge container runs and /readyz is ok (blips aside); None if
        not steady now."""
        ready, states = self.snapshot()
        states = [s for s in states if s[0] >= since]

        def good(s):
            return not s[1] and all(s[2].values()) and not any(s[3].values())

        runs = self.down_runs(since)
        if not states or not good(states[-1]):
            return None
        if runs and len(runs[-1]) == 5 and runs[-1][2] >= 2:
            return None  # /readyz is down now
        bad = [s[0] for s in states if not good(s)] + [r[1] for r in runs if r[2] >= 2]
        last_bad = max(bad + [since])
        first = [s[0] for s in states if s[0] > last_bad]
        return first[0] if first else None

    def gaps(self, since, until=None):
        """[(start, length)] of /readyz gaps (two or more failed answers in a row) after
        since that began by until; a gap runs from the last ok before it to the first ok
        after it."""
        ready, _ = self.snapshot()
        out = []
        for r in self.down_runs(since):
            if r[2] < 2 or len(r) == 5 or r[3] is None or (until is not None and r[0] > until):
                continue
            after = [t for t, ok in ready if ok and t > r[1]]
            out.append((r[0], after[0] - r[3]))
        return out

    def transitions(self, since):
        """Human-readable list of changes (bridge manifests, parents and bridges running,
        /readyz), for failure messages and the benchmark."""
        ready, states = self.snapshot()
        ev = []
        prev = None
        for t, ok in ready:
            if t >= since and ok != prev:
                ev.append((t, "readyz %s" % ("ok" if ok else "down")))
                prev = ok
        prev = None
        for t, man, par, br in states:
            if t < since:
                continue
            cur = (tuple(sorted(man)), tuple(sorted(par.items())), tuple(sorted(br.items())))
            if cur != prev:
                ev.append((t, "manifests=%s parents-running=%s bridges-running=%s"
                           % ([m.split("_")[-1] for m in sorted(man)],
                              [n for n, v in sorted(par.items()) if v],
                              [n for n, v in sorted(br.items()) if v])))
                prev = cur
        ev.sort()
        return ["+%.1fs %s" % (t - since, what) for t, what in ev]
