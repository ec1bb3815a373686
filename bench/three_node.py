#!/usr/bin/env python3
"""Three self-hosted control-plane nodes cold-rebooted at once (issue 18's 3-node benchmark).

Not a test: nothing here runs in the test command. Each node is a network namespace on this
machine (veth pairs on one host bridge, one IP each) holding its own containerd (root, state,
socket), kubelet (root dir, staticPodPath, cgroup root), agent (state dir, flag file), an etcd
member (one 3-member cluster, peer URLs on the node IPs) and a kube-apiserver (its own etcd
member as its backend), built on the single-node harness (tests/kubernetes/selfhosted.py,
node.py). Bootstrap as bootkube did, for three nodes: host etcd members and apiservers in the
namespaces, the kubelets registered, then node by node annotated hostNetwork pods
etcd-<node> and kube-apiserver-<node> that crash-loop on the host processes' ports until they
stop (the pivot; the other two members keep quorum), and the agents checkpoint all six.

Then --reboots cold reboots of all three nodes at once (selfhosted.py's power_off for the three
in parallel, then power_on for the three in parallel: no apiserver and no etcd member anywhere).
For each it reports, from the moment the three power-ons began:
  - when etcd quorum was back (a linearizable read answered by any member) and which etcd
    containers ran then (bridges or parents),
  - per node: its kubelet's start, when its /readyz was first served by its bridges, every
    /readyz gap at the hand-off, when it was steady (both parents run, no bridge manifest or
    container, /readyz ok), the agent's activations and withdrawals per checkpoint (more than
    one activation: a cycle),
  - when all three were steady, whether they stayed so for --observe seconds, and whether an
    etcd key written before the first reboot was read after it.

Usage (root; the Kubernetes binaries from tests/kubernetes/build.sh; heavy: under the lock):
  python3 bench/three_node.py --binary build/dev/kubelet-checkpoint \\
      [--reboots 1] [--observe 30] [--steady-timeout 900] [--apiserver-etcd local|all]
      [--permit-port-sharing] [--json out.json] [--keep]
--permit-port-sharing: as in cold_reboot.py (etcd --socket-reuse-port, kube-apiserver
--permit-port-sharing; the bridges carry the same flags).
--apiserver-etcd all gives each apiserver all three members as its backend (kubeadm's stacked
etcd, the default here, gives it its own member only), to see whether a node's API still falls
with its own etcd parent at the hand-off.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from cold_reboot import bench_arguments, load_harness  # noqa: E402

ETCD_CLIENT, ETCD_PEER, API_PORT = 2379, 2380, 6443
MARKER_VALUE = "kc-3node-marker"
kn = shm = None  # tests/kubernetes/node.py and selfhosted.py, imported in main()


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))


class Network:
    """count network namespaces, each with one veth (eth0, its own IP, default route) on one
    host bridge that holds the gateway address, so the nodes and the host reach each other."""

    def __init__(self, count):
        n = os.getpid()
        subnet = "10.250.%d" % (n % 250)
        self.bridge = "kc3b%d" % n
        self.gateway = subnet + ".254"
        self.names = ["kc3n-%d-%d" % (n, i) for i in range(count)]
        self.ips = ["%s.%d" % (subnet, i + 1) for i in range(count)]
        self.veths = ["kc3v%d-%d" % (n, i) for i in range(count)]

    def up(self):
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", self.gateway + "/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for ns, ip, veth in zip(self.names, self.ips, self.veths):
            run("ip", "netns", "add", ns)
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "link", "set", veth, "master", self.bridge, "up")
            run("ip", "-n", ns, "addr", "add", ip + "/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "route", "add", "default", "via", self.gateway)

    def wrap(self, i):
        """Command prefix that runs a program in namespace i (only the network namespace:
        mounts and cgroups stay the host's, as on a real node)."""
        return ["nsenter", "--net=/run/netns/" + self.names[i], "--"]

    def down(self):
        for ns in self.names:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def member_control_plane_class():
    class MemberControlPlane(kn.ControlPlane):
        """One node's etcd member and kube-apiserver, in its namespace: clients reach them on
        the node's IP from the host and on 127.0.0.1 inside the node; the node's kubeconfig
        (kubelet, agent) names 127.0.0.1, so each node talks to its own apiserver."""

        def __init__(self, cluster, index, root):
            self.cluster, self.index = cluster, index
            self.name = cluster.names[index]
            self.ip = cluster.net.ips[index]
            self.wrap = cluster.net.wrap(index)
            self.root = os.path.join(root, "control-plane")
            self.logs = os.path.join(root, "logs")
            os.makedirs(self.root, exist_ok=True)
            self.pki = p = cluster.pki
            self.port, self.etcd_client, self.etcd_peer = API_PORT, ETCD_CLIENT, ETCD_PEER
            self.url = "https://%s:%d" % (self.ip, API_PORT)
            self.admin_kubeconfig = kn.write_kubeconfig(
                os.path.join(self.root, "admin.conf"), self.url, p + "/ca.crt",
                p + "/admin.crt", p + "/admin.key")
            pem = p + ("/node.pem" if index == 0 else "/node-%s.pem" % self.name)
            self.node_kubeconfig = kn.write_kubeconfig(
                os.path.join(self.root, "kubelet.conf"), "https://127.0.0.1:%d" % API_PORT,
                p + "/ca.crt", pem, pem)
            self.etcd = self.apiserver = None
            self.restarts = 0

        def etcd_args(self, data_dir):
            """The member's flags, the same for the host process and the pod (same data)."""
            peer = "http://%s:%d" % (self.ip, ETCD_PEER)
            return ["--name", self.name, "--data-dir", data_dir,
                    "--listen-client-urls", "http://127.0.0.1:%d,http://%s:%d"
                    % (ETCD_CLIENT, self.ip, ETCD_CLIENT),
                    "--advertise-client-urls", "http://%s:%d" % (self.ip, ETCD_CLIENT),
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", self.cluster.initial_cluster,
                    "--initial-cluster-state", "new", "--initial-cluster-token", "kc-3node",
                    "--log-level", "warn"]

        def apiserver_args(self, pki):
            """The apiserver's flags (pki: its certificates' directory, with a slash)."""
            return ["--etcd-servers", self.cluster.etcd_servers,
                    "--bind-address", "0.0.0.0", "--advertise-address", self.ip,
                    "--secure-port", str(API_PORT),
                    "--tls-cert-file", pki + "apiserver.crt",
                    "--tls-private-key-file", pki + "apiserver.key",
                    "--client-ca-file", pki + "ca.crt",
                    "--kubelet-client-certificate", pki + "apiserver-kubelet-client.crt",
                    "--kubelet-client-key", pki + "apiserver-kubelet-client.key",
                    "--authorization-mode", "Node,RBAC",
                    "--enable-admission-plugins", "NodeRestriction",
                    "--service-account-issuer", "https://kubernetes.default.svc",
                    "--service-account-key-file", pki + "sa.pub",
                    "--service-account-signing-key-file", pki + "sa.key",
                    "--service-cluster-ip-range", "10.96.0.0/16",
                    "--allow-privileged=true", "--anonymous-auth=false",
                    "--enable-priority-and-fairness=false", "--watch-cache=true",
                    "--profiling=false", "--v=1"]

        def start_etcd(self):
            self.etcd = kn.Proc("etcd", self.wrap + [os.path.join(kn.K8S_BIN, "etcd")] +
                                self.etcd_args(os.path.join(self.root, "etcd")), self.logs)

        def start_apiserver(self):
            """Started, not waited for: it is ready only once the members have a quorum."""
            self.apiserver = kn.Proc("kube-apiserver", self.wrap + [
                os.path.join(kn.K8S_BIN, "kube-apiserver")] + self.apiserver_args(
                    self.pki + "/"), self.logs)

        def wait_ready(self, timeout):
            kn.wait_for(self._ready, timeout, step=1,
                        what="kube-apiserver /readyz on %s (log: %s)"
                        % (self.ip, self.apiserver.tail(20) if self.apiserver else ""))

    return MemberControlPlane


def member_node_class():
    class MemberNode(shm.SelfHostedNode):
        """One self-hosted node of the cluster: SelfHostedNode in a network namespace, its
        API pods named after it (etcd-<node>, kube-apiserver-<node>)."""

        def __init__(self, cluster, index, binary, unreachable_after, reachable_after):
            name = cluster.names[index]
            self.ip = cluster.net.ips[index]
            self.wrap = cluster.net.wrap(index)
            node = kn.Node(name, instance=index + 1, ip=self.ip, wrap=self.wrap)
            super().__init__(name, binary, unreachable_after, reachable_after, node=node,
                             cp=cluster.control_plane_class(cluster, index, node.root))

        def pod_name(self, parent):
            return "%s-%s" % (parent, self.node_name)

        def etcd_endpoint(self):
            return "http://%s:%d" % (self.ip, ETCD_CLIENT)

        def start_kubelet(self):
            self.node.start_kubelet(kubeconfig=self.cp.node_kubeconfig,
                                    client_ca=os.path.join(self.cp.pki, "ca.crt"),
                                    extra=["--node-ip", self.ip])

        def named(self, pod):
            pod["metadata"]["name"] = self.pod_name(pod["metadata"]["name"])
            return pod

        def etcd_pod(self):
            return self.named(self._pod(
                "etcd", shm.ETCD_IMAGE,
                ["/usr/local/bin/etcd"] + self.cp.etcd_args("/var/lib/etcd"),
                [{"name": "data", "hostPath": {"path": os.path.join(self.cp.root, "etcd"),
                                               "type": "DirectoryOrCreate"}}],
                [{"name": "data", "mountPath": "/var/lib/etcd"}], ETCD_CLIENT))

        def apiserver_pod(self):
            return self.named(self._pod(
                "kube-apiserver", shm.APISERVER_IMAGE,
                ["/usr/local/bin/kube-apiserver"] +
                self.cp.apiserver_args("/etc/kubernetes/pki/"),
                [{"name": "pki", "secret": {"secretName": shm.PKI_SECRET,
                                            "defaultMode": 0o400}}],
                [{"name": "pki", "mountPath": "/etc/kubernetes/pki", "readOnly": True}],
                API_PORT))

        def agent_args(self):
            # All four given, the agent does not look for the kubelet in /proc, where three
            # kubelets of one pid namespace with different flags are ambiguous (it refuses).
            return self.wrap + super().agent_args() + ["--static-pod-path",
                                                       self.node.manifests]

        def wait_checkpointed(self, timeout=300):
            def ok():
                cps = self.status().get("checkpoints") or []
                return {c["uid"] for c in cps if c.get("state") == "ok"} >= \
                    set(self.uids.values())

            kn.wait_for(ok, timeout, step=1, what="%s: both checkpoints ok (agent: %s)"
                        % (self.node_name, self.agent.tail() if self.agent else ""))

    return MemberNode


class Cluster:
    """The three nodes, their network and their shared PKI."""

    def __init__(self, binary, count, unreachable_after, reachable_after, etcd_servers="local"):
        self.net = Network(count)
        # Each apiserver's backend: its own member (as kubeadm's stacked etcd), or all three.
        self.etcd_servers = "http://127.0.0.1:%d" % ETCD_CLIENT if etcd_servers == "local" \
            else ",".join("http://%s:%d" % (ip, ETCD_CLIENT) for ip in self.net.ips)
        self.names = ["kc3n-%s" % chr(ord("a") + i) for i in range(count)]
        self.initial_cluster = ",".join("%s=http://%s:%d" % (n, ip, ETCD_PEER)
                                        for n, ip in zip(self.names, self.net.ips))
        self.root = tempfile.mkdtemp(prefix="kc-3node-", dir="/var/tmp")
        self.pki = kn.make_pki(os.path.join(self.root, "pki"), self.names[0],
                               apiserver_ips=["127.0.0.1"] + self.net.ips,
                               more_nodes=self.names[1:])
        self.control_plane_class = member_control_plane_class()
        node_class = member_node_class()
        self.nodes = [node_class(self, i, binary, unreachable_after, reachable_after)
                      for i in range(count)]
        self.timings = {}
        self.keep = False

    def bootstrap(self):
        """Host etcd members and apiservers in the namespaces, the kubelets Ready."""
        t0 = time.monotonic()
        self.net.up()
        for sh in self.nodes:
            sh.cp.start_etcd()
        for sh in self.nodes:
            sh.cp.start_apiserver()
        for sh in self.nodes:
            sh.cp.wait_ready(300)
        self.timings["host control plane ready (3 etcd, 3 apiservers)"] = time.monotonic() - t0
        shm.apply_cluster_objects(self.nodes[0].cp)
        archives = shm.control_plane_archives(os.path.join(self.root, "images"))
        for sh in self.nodes:
            t = time.monotonic()
            sh.join(archives)
            self.timings["%s joined (containerd, images, kubelet Ready)" % sh.node_name] = \
                time.monotonic() - t
        for tar in archives:
            os.unlink(tar)
        self.timings["bootstrap (3 nodes Ready)"] = time.monotonic() - t0

    def pivot(self):
        """Node by node: its API pods take over from its host processes."""
        for sh in self.nodes:
            t = time.monotonic()
            sh.pivot()
            self.timings["%s pivoted" % sh.node_name] = time.monotonic() - t

    def checkpoint(self):
        t = time.monotonic()
        for sh in self.nodes:
            sh.start_agent()
        for sh in self.nodes:
            sh.wait_checkpointed()
            if sh.bridges():
                raise AssertionError("%s: a bridge while the parents run: %s"
                                     % (sh.node_name, sh.bridges()))
        self.timings["agents started -> 6 checkpoints ok"] = time.monotonic() - t

    def close(self):
        for sh in self.nodes:
            sh.node.keep = sh.node.keep or self.keep
            try:
                sh.close()
            except Exception as e:  # the others must still be closed
                print("close %s: %s" % (sh.node_name, e), file=sys.stderr)
        self.net.down()
        if self.keep:
            print("kept: %s and the nodes' dirs above" % self.root, file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def in_parallel(fns):
    """Run the callables at once; their results in order; the first exception re-raised."""
    results, errors = [None] * len(fns), []

    def one(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:  # re-raised below, after every thread ended
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def quorum_watch_class():
    """QuorumWatch, made once shm (selfhosted.py) is imported: it is a shm.Sampler."""
    class QuorumWatch(shm.Sampler):
        """Every 0.5 s, a linearizable read of the marker key from each member (from the host,
        one thread per member: a member without quorum holds the read until its timeout):
        answered means the member is in a cluster with quorum."""

        def __init__(self, cluster):
            super().__init__([(self._loop, (sh, i)) for i, sh in enumerate(cluster.nodes)])
            self.cluster = cluster
            self.answers = []  # (t, node index, value or None)

        def _loop(self, sh, i):
            while not self.stop_flag.is_set():
                t = time.monotonic()
                try:
                    v = sh.etcd_get(shm.MARKER_KEY)
                    with self.lock:
                        self.answers.append((time.monotonic(), i, v))
                except Exception:
                    pass
                self.stop_flag.wait(max(0.0, 0.5 - (time.monotonic() - t)))

        def first(self, since):
            with self.lock:
                answers = sorted(self.answers)
            for t, i, v in answers:
                if t >= since:
                    return t, i, v
            return None

        def losses(self, since, until):
            """[(start, length)]: after quorum came back at since, the stretches longer than 2 s
            in which no member answered (quorum lost again, e.g. at a hand-off)."""
            with self.lock:
                times = sorted(t for t, _, _ in self.answers if since <= t <= until)
            return [(a, b - a) for a, b in zip(times, times[1:]) if b - a > 2.0]

    return QuorumWatch


def etcd_runners(cluster, observers, t):
    """Which etcd containers ran at t on each node: "bridge", "parent" or "-"."""
    out = {}
    for sh, obs in zip(cluster.nodes, observers):
        s = obs.state_at(t, obs.snapshot()[1])
        out[sh.node_name] = "-" if s is None else \
            "bridge" if s[3].get("etcd") else "parent" if s[2].get("etcd") else "-"
    return out


def one_reboot(cluster, args, n):
    nodes = cluster.nodes
    t_cut = time.monotonic()
    in_parallel([sh.power_off for sh in nodes])
    r = {"reboot": n, "power cut of the 3 nodes (s)": round(time.monotonic() - t_cut, 1)}
    still = [sh.node_name for sh in nodes if sh.readyz.ok(timeout=2)]
    if still:
        raise AssertionError("an apiserver still answers after the power cut: %s" % still)
    observers = [shm.Observer(sh).start() for sh in nodes]
    quorum = quorum_watch_class()(cluster).start()
    try:
        t0 = time.monotonic()
        starts = in_parallel([sh.power_on for sh in nodes])
        t_kubelets = [s[0] for s in starts]
        t_refs = [max(s) for s in starts]
        r["kubelets started (s)"] = {sh.node_name: round(t - t0, 1)
                                     for sh, t in zip(nodes, t_kubelets)}
        deadline = t0 + args.steady_timeout
        served = [None] * len(nodes)
        steady = [None] * len(nodes)
        while time.monotonic() < deadline:
            for i, (sh, obs) in enumerate(zip(nodes, observers)):
                if served[i] is None:
                    served[i] = obs.first_bridge_served(t_refs[i])
                s = obs.steady_since(served[i] or t_refs[i])
                steady[i] = s if s is not None and time.monotonic() - s >= 5 else None
            if all(s is not None for s in steady):
                break
            time.sleep(1)
        q = quorum.first(t0)
        if q is not None:
            r["etcd quorum back (s)"] = round(q[0] - t0, 1)
            r["etcd containers at quorum"] = etcd_runners(cluster, observers, q[0])
            r["etcd quorum lost again at (s), for (s)"] = [
                (round(a - t0, 1), round(length, 1)) for a, length in
                quorum.losses(q[0], max([s for s in steady if s is not None] + [q[0]]))]
        per_node = {}
        for i, (sh, obs) in enumerate(zip(nodes, observers)):
            since = served[i] or t_refs[i]
            gaps = obs.gaps(since, steady[i])
            counts, dropped = sh.counts()
            first_ok = [t for t, ok in obs.snapshot()[0] if ok and t >= t_refs[i]]
            per_node[sh.node_name] = {
                "kubelet started (s)": round(t_kubelets[i] - t0, 1),
                # None above: the kubelet had the parents before /readyz was seen served by
                # the bridges; then this is the node's whole outage.
                "first /readyz ok (s after kubelet)":
                    round(first_ok[0] - t_refs[i], 1) if first_ok else None,
                "bridges serve /readyz (s after kubelet)":
                    None if served[i] is None else round(served[i] - t_refs[i], 1),
                "API gaps at the hand-off (s)": [round(g, 1) for _, g in gaps],
                "readyz blips": len(obs.blips(since, steady[i])),
                "steady (s)": None if steady[i] is None else round(steady[i] - t0, 1),
                "activations, withdrawals": counts,
                "cycled": any(c[0] > 1 for c in counts.values()),
                "collected": dropped,
            }
        r["nodes"] = per_node
        if all(s is not None for s in steady):
            t_all = max(steady)
            r["all steady (s)"] = round(t_all - t0, 1)
            t_end = time.monotonic() + args.observe
            while time.monotonic() < t_end and "lost after steady" not in r:
                for sh, obs, s0 in zip(nodes, observers, steady):
                    s = obs.steady_since(s0 - 0.001)
                    if s is None or s > s0:
                        r["lost after steady"] = "%s at +%.1f s" % (sh.node_name,
                                                                   time.monotonic() - t0)
                time.sleep(1)
        else:
            r["stuck"] = [sh.node_name for sh, s in zip(nodes, steady) if s is None]
        try:
            r["etcd key after the reboot"] = nodes[0].etcd_get(shm.MARKER_KEY) == MARKER_VALUE
        except Exception as e:
            r["etcd key after the reboot"] = "read failed: %s" % e
        r["transitions"] = {sh.node_name: obs.transitions(t0)
                            for sh, obs in zip(nodes, observers)}
        if r.get("stuck") or any(v["cycled"] for v in per_node.values()):
            r["logs"] = {sh.node_name: sh.logs_tail(30) for sh in nodes}
    finally:
        quorum.stop()
        for obs in observers:
            obs.stop()
    return r


def machine():
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    with open("/proc/meminfo") as f:
        mem = {ln.split(":")[0]: ln.split()[1] for ln in f}
    return {"cpus": os.cpu_count(), "load": load,
            "MemAvailable MiB": int(mem.get("MemAvailable", 0)) // 1024}


def rss_mib(cluster):
    """Resident memory of each node's processes (the whole process trees of containerd's
    shims included: the pods)."""
    out = {}
    for sh in cluster.nodes:
        pids = set()
        for proc in (sh.node.containerd, sh.node.kubelet, sh.agent):
            if proc is not None and proc.alive():
                pids.add(proc.p.pid)
        for dirpath, _, names in os.walk(os.path.join(sh.node.root, "containerd", "state")):
            for n in names:
                if n in ("shim.pid", "init.pid"):
                    try:
                        with open(os.path.join(dirpath, n)) as f:
                            pids.add(int(f.read().strip()))
                    except (OSError, ValueError):
                        pass
        total = 0
        for pid in pids:
            try:
                with open("/proc/%d/status" % pid) as f:
                    total += sum(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
            except OSError:
                pass
        out[sh.node_name] = total // 1024
    return out


def summarise(results, setup):
    print("\nsetup: %s" % json.dumps(setup))
    print("%-6s %-8s %-10s %-22s %-22s %-30s %s" % (
        "reboot", "quorum", "all steady", "bridges serve /readyz", "first /readyz ok",
        "hand-off gaps per node (s)", "notes"))
    for r in results:
        nodes = r.get("nodes", {})
        notes = []
        if r.get("stuck"):
            notes.append("STUCK %s" % r["stuck"])
        cyc = [n for n, v in nodes.items() if v["cycled"]]
        if cyc:
            notes.append("CYCLED %s" % cyc)
        if r.get("lost after steady"):
            notes.append("lost %s" % r["lost after steady"])
        if r.get("etcd key after the reboot") is not True:
            notes.append("etcd key: %s" % r.get("etcd key after the reboot"))
        if any(g > 20 for v in nodes.values() for g in v["API gaps at the hand-off (s)"]):
            notes.append("gap > 20 s (target)")
        if r.get("etcd quorum lost again at (s), for (s)"):
            notes.append("quorum lost again %s" % r["etcd quorum lost again at (s), for (s)"])
        print("%-6d %-8s %-10s %-22s %-22s %-30s %s" % (
            r["reboot"], r.get("etcd quorum back (s)"), r.get("all steady (s)"),
            [v["bridges serve /readyz (s after kubelet)"] for v in nodes.values()],
            [v["first /readyz ok (s after kubelet)"] for v in nodes.values()],
            [v["API gaps at the hand-off (s)"] for v in nodes.values()], " ".join(notes)))


def main():
    global kn, shm
    ap = bench_arguments(__doc__, 1, 30.0, "seconds every node must stay steady after all are",
                         900.0, "keep the temp dirs and logs")
    ap.add_argument("--apiserver-etcd", choices=("local", "all"), default="local",
                    help="each apiserver's --etcd-servers: its own member (default) or all three")
    args = ap.parse_args()
    kn, shm = load_harness()

    kn.exit_on_sigterm()
    cluster = Cluster(os.path.abspath(args.binary), 3, args.unreachable_after,
                      args.reachable_after, args.apiserver_etcd)
    cluster.keep = args.keep
    for sh in cluster.nodes:
        sh.extra_agent_args = args.agent_arg
        sh.port_sharing = args.permit_port_sharing
    results, failure = [], None
    setup = {"machine before": machine(), "apiserver etcd": args.apiserver_etcd,
             "permit port sharing": args.permit_port_sharing}
    try:
        cluster.bootstrap()
        print("3 nodes Ready: %s" % json.dumps({k: round(v, 1) for k, v in
                                                cluster.timings.items()}), flush=True)
        cluster.pivot()
        cluster.checkpoint()
        cluster.nodes[0].etcd_put(shm.MARKER_KEY, MARKER_VALUE)
        setup["timings (s)"] = {k: round(v, 1) for k, v in cluster.timings.items()}
        setup["RSS per node, self-hosted (MiB)"] = rss_mib(cluster)
        setup["machine self-hosted"] = machine()
        print("setup: %s" % json.dumps(setup), flush=True)
        for i in range(args.reboots):
            results.append(one_reboot(cluster, args, i + 1))
            print(json.dumps(results[-1]), flush=True)
            results[-1]["machine after"] = machine()
    except (KeyboardInterrupt, SystemExit) as e:  # still report what was done
        failure = "interrupted: %r" % e
    except Exception as e:
        failure = "%s: %s" % (type(e).__name__, e)
        cluster.keep = True
        for sh in cluster.nodes:
            try:
                print(sh.logs_tail(20), file=sys.stderr)
            except Exception:
                pass
    finally:
        setup["timings (s)"] = {k: round(v, 1) for k, v in cluster.timings.items()}
        cluster.close()
    summarise(results, setup)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"bench": "three-node", "setup": setup, "results": results,
                                "failure": failure}) + "\n")
    if failure:
        print("FAILED: %s" % failure)
        sys.exit(1)


if __name__ == "__main__":
    main()
