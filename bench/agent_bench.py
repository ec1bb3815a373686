#!/usr/bin/env python3
"""agent_bench.py: the performance proof of `kubelet-checkpoint run` (docs/design.md §7).

Drives the real binary against the fake apiserver (tests/fakeapi) on throwaway
nodes built by tests/e2e/agent_env.py, and measures:

  activation  110 realistic checkpoints, API taken down N times: time from the
              end of the unreachable window to the last bridge manifest on disk,
              from the agent's own log line and from the outside (inotify on
              the staticPodPath vs the moment the window ended).
  footprint   peak RSS (VmHWM) after full activate/withdraw cycles with 110
              checkpoints, and wakeups (context switches of every thread) per
              second while idle with the API up, and with the API down and the
              bridges active.
  idle        API requests by verb of one idle node over a configurable time,
              the fake apiserver sending watch bookmarks every 60 s like the
              real one; extrapolated to an hour.
  scale       1, 10, 100 agents (distinct nodes and directories) against one
              fake apiserver: requests, fake-apiserver CPU and memory per node;
              with --spread W, then every agent restarted at once with
              --startup-spread W: how the LISTs and GETs land.
  cost        a realistic node (110 pods, 10/30/110 annotated, each referencing
              kube-root-ca.crt and one or two objects of its own, some shared):
              requests, etcd reads, connections, TLS handshakes and bytes at
              start and in an idle sample; the hour from the agent's schedule;
              RSS, PSS and private memory.

    bench/agent_bench.py --binary build/kubelet-checkpoint all [--quick]
    bench/agent_bench.py --binary ... idle --duration 600

Results print as text and, with --json FILE, as JSON. Only 127.0.0.1 is ever
contacted; every wait is bounded in time. Standard library only (inotify is
reached through ctypes).
"""
import argparse
import ctypes
import json
import os
import re
import select
import shlex
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
import agent_env  # noqa: E402
from agent_env import AgentEnv, annotated_pod, configmap, secret, uid_of, wait_for  # noqa: E402
from fakeapi import FakeAPI, gen_certs  # noqa: E402

ACTIVATED_RE = re.compile(
    r"activated (\d+) manifests in (-?\d+) ms \((-?\d+) ms after the window ended\)")
MAX_PODS = 110  # the kubelet's default maxPods
BOOKMARK_INTERVAL = 60.0  # what kube-apiserver sends (roughly once a minute)


# --- the workload -----------------------------------------------------------

def daemon_pod(node, n, workload):
    """The pod of DaemonSet `workload` on node, as the API serves it: a
    configMap volume, the service-account projected volume (token,
    kube-root-ca.crt, namespace) and an env var from a Secret; the
    ConfigMap and Secret are the workload's (workload_objects)."""
    name = "%s-%s" % (workload, node)
    pod = annotated_pod(name, node, n, containers=[{
        "name": "agent", "image": "registry.example/%s:1.0" % workload,
        "imagePullPolicy": "Always",
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {
            "name": "%s-secret" % workload, "key": "token"}}}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/agent"},
                         {"name": "kube-api-access-abcde",
                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "readOnly": True}]}],
        volumes=[{"name": "config", "configMap": {"name": "%s-config" % workload}},
                 {"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
                     {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                     {"configMap": {"name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                     {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                         "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
        serviceAccountName=workload, tolerations=[{"operator": "Exists"}],
        priorityClassName="system-node-critical", priority=2000001000)
    pod["metadata"]["labels"] = {"app": workload, "controller-revision-hash": "6d4f8b",
                                 "pod-template-generation": "1"}
    # The owner allows the Secret value in env to be inlined (issue 9).
    pod["metadata"]["annotations"]["kubelet-checkpoint/inline-secret-env"] = "true"
    return pod


def workload_objects(workloads):
    """The ConfigMap and Secret of every workload, plus kube-root-ca.crt."""
    objs = [configmap("kube-root-ca.crt", "kube-system",
                      {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB...\n"})]
    for i, name in enumerate(workloads):
        cm = configmap("%s-config" % name, "kube-system", {"agent.conf": "level=info\n"})
        sec = secret("%s-secret" % name, "kube-system", {"token": "t0k3n-%d" % i})
        cm["metadata"]["uid"] = uid_of(200000 + i)
        sec["metadata"]["uid"] = uid_of(300000 + i)
        objs += [cm, sec]
    return objs


def workload_names(count):
    return ["ds%03d" % i for i in range(count)]


def node_pods(node, node_index, workloads):
    """One pod of every workload on node (distinct UIDs across nodes)."""
    return [daemon_pod(node, node_index * 1000 + i, w) for i, w in enumerate(workloads)]


# --- the node and the process -----------------------------------------------

class Node(AgentEnv):
    """An AgentEnv that can share one test PKI and one fake apiserver with
    other nodes: gen_certs costs ~3 s, and the scale run has 100 nodes."""

    spread = 0  # --startup-spread for the next start

    def args(self, extra=()):
        a = super().args(extra)
        a[a.index("--startup-spread") + 1] = str(self.spread)
        # Everything given: the agent never looks for a kubelet in /proc
        # (other kubelets may run on the benchmark machine).
        return a + ["--static-pod-path", self.manifests]

    def __init__(self, node, pki=None, api=None, base=None, **windows):
        if pki is None:
            super().__init__(node=node, base=base, **windows)
            return
        real = agent_env.gen_certs
        agent_env.gen_certs = lambda outdir, node=None: pki
        try:
            super().__init__(node=node, base=base, api=False, **windows)
        finally:
            agent_env.gen_certs = real
        self.api = api
        self.write_kubeconfig(api.url)

    def close(self):
        shared = self.certs != os.path.join(self.root, "pki")
        if shared:
            self.api = None  # not ours to stop
        super().close()

    def checkpoints(self):
        d = os.path.join(self.state, "pods")
        return [n for n in os.listdir(d) if n.startswith("Pod_")] if os.path.isdir(d) else []

    def log_size(self):
        return os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0

    def log_since(self, offset):
        with open(self.log_path, errors="replace") as f:
            f.seek(offset)
            return f.read()


def proc_status(pid):
    """VmHWM/VmRSS/RssAnon/RssFile and Pss (shared pages split among their
    users) in KiB, CPU time, and context switches summed over every thread."""
    out = {"voluntary": 0, "nonvoluntary": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(value.split()[0])
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key == "voluntary_ctxt_switches":
                        out["voluntary"] += int(value)
                    elif key == "nonvoluntary_ctxt_switches":
                        out["nonvoluntary"] += int(value)
        except FileNotFoundError:
            pass  # a thread that just ended
    out["threads"] = len(os.listdir("/proc/%d/task" % pid))
    out["Private"] = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("Pss", "Private_Clean", "Private_Dirty", "Anonymous"):
                out[key] = int(line.split()[1])
            if key in ("Private_Clean", "Private_Dirty"):
                out["Private"] += int(line.split()[1])
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu_ms"] = (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")
    return out


def mappings_by_rss(pid, top=8):
    """Where the resident memory is: KiB per mapped file (or [heap],
    [anon], [stack]) from /proc/pid/smaps, largest first."""
    per = {}
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = fields[5] if len(fields) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
            elif fields and fields[0] == "Rss:":
                per[name] = per.get(name, 0) + int(fields[1])
    return sorted(per.items(), key=lambda kv: -kv[1])[:top]


def wakeups(pid, seconds):
    """Context switches per second of pid (all threads) over `seconds`."""
    a = proc_status(pid)
    time.sleep(seconds)
    b = proc_status(pid)
    vol = b["voluntary"] - a["voluntary"]
    nonvol = b["nonvoluntary"] - a["nonvoluntary"]
    return {"seconds": seconds, "voluntary": vol, "nonvoluntary": nonvol,
            "per_second": round((vol + nonvol) / seconds, 3),
            "cpu_ms_per_second": round((b["cpu_ms"] - a["cpu_ms"]) / seconds, 2)}


class DirEvents:
    """inotify on one directory from a thread: (monotonic time, name) of every
    file renamed into it or closed after writing. Python's time.monotonic() is
    CLOCK_MONOTONIC, the agent's clock."""

    IN_CLOSE_WRITE, IN_MOVED_TO, IN_NONBLOCK, IN_CLOEXEC = 0x8, 0x80, 0o4000, 0o2000000

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(),
                                  self.IN_MOVED_TO | self.IN_CLOSE_WRITE) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch %s" % path)
        self.events = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            now = time.monotonic()
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            while off + 16 <= len(data):
                _, mask, _, nlen = struct.unpack_from("iIII", data, off)
                name = data[off + 16:off + 16 + nlen].split(b"\0", 1)[0].decode()
                off += 16 + nlen
                with self.lock:
                    self.events.append((now, mask, name))

    def take(self):
        with self.lock:
            out, self.events = self.events, []
        return out

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        os.close(self.fd)


def populated_node(npods, unreachable_after, reachable_after, bookmark=None, base=None,
                   wrapper=()):
    """A started agent whose checkpoints of npods realistic pods are on disk
    (wrapper: e.g. valgrind --tool=massif, to dig into a figure)."""
    env = Node("bench-node", unreachable_after=unreachable_after,
               reachable_after=reachable_after, gc_grace=300, base=base)
    try:
        if bookmark is not None:
            env.api.settings(bookmark_interval=bookmark)
        workloads = workload_names(npods)
        env.api.add_object({"items": workload_objects(workloads)})
        env.api.add_pods(node_pods(env.node, 1, workloads))
        env.start(wrapper=wrapper)
        wait_for(lambda: check_alive(env) and len(env.checkpoints()) == npods,
                 timeout=(60 + npods) * (10 if wrapper else 1),
                 what="%d checkpoints" % npods)
        return env
    except BaseException:
        env.close()
        raise


def check_alive(env):
    """True while the agent runs; its death fails the benchmark with its log."""
    rc = env.proc.poll()
    if rc is not None:
        raise AssertionError("the agent exited (status %s); end of its log:\n%s" % (
            rc, env.log_text()[-3000:]))
    return True


def bridges_down(env, want, timeout, what):
    wait_for(lambda: check_alive(env) and len(env.bridge_files()) == want, timeout=timeout,
             step=0.02, what=what)


# --- 1. activation overhead -------------------------------------------------

def dirty_the_disk(env, mib):
    """Leave mib MiB of unsynced data on the staticPodPath's filesystem, as a
    busy node would have (logs, images): a syncfs() barrier must flush it."""
    if mib <= 0:
        return
    with open(os.path.join(env.root, "dirty.bin"), "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(mib):
            f.write(chunk)


def activation_cycle(env, npods, events, dirty_mib=0):
    """API down until all npods bridges are there, then up until withdrawn."""
    ua = env.windows[0]
    offset = env.log_size()
    events.take()
    os.sync()
    # Written during the window, before it ends (ua >= 3 s): still dirty then.
    threading.Timer(max(0.0, ua - 1.5), dirty_the_disk, (env, dirty_mib)).start()
    t_down = time.monotonic()
    env.api.fault("down")
    bridges_down(env, npods, ua + 30, "%d bridge manifests" % npods)
    t_all = time.monotonic()
    time.sleep(0.3)  # the log line follows the last write
    log = env.log_since(offset)
    lines = [tuple(int(x) for x in m.groups()) for m in ACTIVATED_RE.finditer(log)]
    arrivals = [t for t, mask, name in events.take()
                if name.startswith(agent_env.PREFIX) and mask & DirEvents.IN_MOVED_TO]
    window_end = t_down + ua
    out = {
        "log_lines": [{"manifests": n, "pass_ms": p, "after_window_ms": w} for n, p, w in lines],
        "log_manifests": sum(n for n, _, _ in lines),
        # The agent's own figure: the pass that completed the set.
        "log_after_window_ms": lines[-1][2] if lines else None,
        "log_pass_ms": sum(p for _, p, _ in lines),
        "renames_seen": len(arrivals),
        # From the outside: the window is counted from the fault, so this also
        # holds the agent's detection lag (an upper bound).
        "outside_first_ms": round((min(arrivals) - window_end) * 1000, 1) if arrivals else None,
        "outside_last_ms": round((max(arrivals) - window_end) * 1000, 1) if arrivals else None,
        "outside_poll_ms": round((t_all - window_end) * 1000, 1),
    }
    env.api.fault("none")
    end_outage(env)
    return out


def end_outage(env):
    """The API is back. A bridge now stays until its parent gets a container
    (docs/design.md §6): the standby flag withdraws them all at once, so the next
    outage starts from a node with no bridge and no hand-off under way."""
    def reachable():
        try:
            with open(env.status_file) as f:
                return json.load(f).get("api", {}).get("reachable") is True
        except (OSError, ValueError):
            return False
    wait_for(lambda: check_alive(env) and reachable(), timeout=env.windows[1] + 30,
             what="API reachable again")
    os.unlink(env.flag)
    bridges_down(env, 0, 30, "withdrawal (flag off)")
    open(env.flag, "w").close()


def bench_activation(npods=MAX_PODS, cycles=5, unreachable_after=3, base=None, dirty_mib=0):
    env = populated_node(npods, unreachable_after, 2, base=base)
    events = DirEvents(env.manifests)
    try:
        time.sleep(1.0)
        runs = [activation_cycle(env, npods, events, dirty_mib) for _ in range(cycles)]
        foreign_ok = env.foreign_snapshot() == env.foreign_before
    finally:
        events.close()
        env.close()

    def stats(key):
        vals = [r[key] for r in runs if r[key] is not None]
        if not vals:
            return None
        return {"median": round(statistics.median(vals), 1), "worst": max(vals), "all": vals}

    return {"pods": npods, "cycles": cycles, "unreachable_after_s": unreachable_after,
            "dirty_mib": dirty_mib,
            "runs": runs, "log_after_window_ms": stats("log_after_window_ms"),
            "log_pass_ms": stats("log_pass_ms"), "outside_last_ms": stats("outside_last_ms"),
            "outside_first_ms": stats("outside_first_ms"), "foreign_untouched": foreign_ok}


# --- 3. footprint: peak RSS and wakeups -------------------------------------

def events_drained(env, timeout):
    """Wait until the agent's status file says no Event is queued."""
    def drained():
        try:
            with open(env.status_file) as f:
                ev = json.load(f).get("events") or {}
        except (OSError, ValueError):
            return False
        return ev.get("queued", 0) == 0
    wait_for(drained, timeout=timeout, what="the Event queue to drain")


def bench_footprint(npods=MAX_PODS, cycles=2, idle_seconds=60, base=None, wrapper=()):
    env = populated_node(npods, 3, 2, base=base, wrapper=wrapper)
    events = DirEvents(env.manifests)
    try:
        time.sleep(1.0)
        for _ in range(cycles):
            activation_cycle(env, npods, events)
        time.sleep(2.0)
        pid = env.proc.pid
        after_cycles = proc_status(pid)
        # The outages above owe the cluster an Event per activation and per
        # withdrawal (posted one at a time once the API is back): that drain is
        # work, not idleness, so the idle window starts after it.
        events_drained(env, 120)
        idle_up = wakeups(pid, idle_seconds)
        env.api.fault("down")
        bridges_down(env, npods, 40, "%d bridge manifests" % npods)
        time.sleep(2.0)
        idle_down = wakeups(pid, idle_seconds)
        env.api.fault("none")
        end_outage(env)
        final = proc_status(pid)
        where = mappings_by_rss(pid)
        env.stop(timeout=60)  # SIGTERM: a wrapper (massif) writes its report
    finally:
        events.close()
        env.close()
    return {"pods": npods, "cycles": cycles,
            "vm_hwm_kib_after_cycles": after_cycles["VmHWM"],
            "vm_hwm_kib": final["VmHWM"], "vm_rss_kib": final["VmRSS"],
            "rss_anon_kib": final["RssAnon"], "rss_file_kib": final["RssFile"],
            "pss_kib": final["Pss"],
            "threads": final["threads"], "rss_by_mapping_kib": where,
            "wakeups_api_up": idle_up, "wakeups_api_down_bridges_active": idle_down}


# --- 2. steady-state API requests -------------------------------------------

def request_counts(api, node):
    st = api.stats()
    return dict(st["counts"]), dict(st["by_node"].get(node, {}))


def bench_idle(duration=600, npods=3, bookmark=BOOKMARK_INTERVAL, base=None):
    """Start, let the initial sync finish, then count every request over
    `duration` seconds of an idle cluster."""
    env = populated_node(npods, 30, 15, bookmark=bookmark, base=base)
    try:
        time.sleep(3.0)  # initial GETs of the referenced objects
        startup, _ = request_counts(env.api, env.node)
        env.api.reset_stats()
        t0 = time.monotonic()
        deadline = t0 + duration
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            check_alive(env)
        elapsed = time.monotonic() - t0
        counts, _ = request_counts(env.api, env.node)
        reqs = env.api.requests()
        status = proc_status(env.proc.pid)
    finally:
        env.close()
    total = sum(counts.values())
    return {"pods": npods, "bookmark_interval_s": bookmark, "duration_s": round(elapsed, 1),
            "startup_requests": startup, "idle_requests": counts, "idle_total": total,
            "per_hour": round(total * 3600.0 / elapsed, 1),
            "per_hour_by_verb": {k: round(v * 3600.0 / elapsed, 1) for k, v in counts.items()},
            "request_log": [{"t": round(r["t"], 1), "verb": r["verb"], "resource": r["resource"],
                             "code": r["code"]} for r in reqs],
            "vm_hwm_kib": status["VmHWM"]}


# --- 4. the cost of one realistic node to the cluster -------------------------

# The agent's schedule (include/api_client.h): a watch lasts 300-600 s, each
# referenced object is refreshed every p..2p with p = max(2 h, objects * 3600 /
# API_REFS_REFRESH_BUDGET s). Refreshes are hours apart, so an hour is not
# sampled: the start and an idle sample are measured, the hour is computed
# from this schedule (the agent has no time acceleration).
WATCH_MEAN_S = (300 + 600) / 2.0
REFRESH_MIN_S = 7200
REFRESH_BUDGET = 10


def refresh_per_hour(objects):
    p = max(REFRESH_MIN_S, objects * 3600.0 / REFRESH_BUDGET)
    return objects * 3600.0 / (1.5 * p)


def cost_node_objects(node, annotated, total=MAX_PODS):
    """total pods bound to node, the first `annotated` carrying the trigger.
    Each references kube-root-ca.crt (the service-account volume) and its own
    ConfigMap; every other pod also its own Secret (env); every fifth also the
    ConfigMap node-shared, shared by all of those. Returns (pods, objects,
    distinct objects the annotated pods reference)."""
    pods, objs = [], [configmap("kube-root-ca.crt", "kube-system",
                                {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB...\n"}),
                      configmap("node-shared", "kube-system", {"shared.conf": "x=1\n"})]
    distinct = {"kube-root-ca.crt"}
    for i in range(total):
        w = "app%03d" % i
        pod = daemon_pod(node, 700000 + i, w)
        c = pod["spec"]["containers"][0]
        objs.append(configmap("%s-config" % w, "kube-system", {"agent.conf": "level=info\n"}))
        mine = {"%s-config" % w}
        if i % 2 == 0:
            objs.append(secret("%s-secret" % w, "kube-system", {"token": "t0k3n-%d" % i}))
            mine.add("%s-secret" % w)
        else:
            del c["env"]
            del pod["metadata"]["annotations"]["kubelet-checkpoint/inline-secret-env"]
        if i % 5 == 0:
            pod["spec"]["volumes"].append({"name": "shared",
                                           "configMap": {"name": "node-shared"}})
            mine.add("node-shared")
        if i >= annotated:
            pod["metadata"]["annotations"] = {}
        else:
            distinct |= mine
        pods.append(pod)
    return pods, objs, len(distinct)


def bench_cost(cases=(10, 30, 110), idle_seconds=120, base=None):
    """A node with MAX_PODS pods, `annotated` of them checkpointed: what the
    start costs the apiserver, what an idle sample costs, the hour by the
    schedule, and the agent's memory."""
    runs = []
    for annotated in cases:
        env = Node("cost-node", unreachable_after=30, reachable_after=15, gc_grace=300,
                   base=base)
        try:
            pods, objs, distinct = cost_node_objects(env.node, annotated)
            env.api.add_object({"items": objs})
            env.api.add_pods(pods)
            env.api.settings(bookmark_interval=BOOKMARK_INTERVAL)
            env.api.reset_stats()
            cpu0 = env.api.stats()["cpu_seconds"]
            t0 = time.monotonic()
            env.start()
            wait_for(lambda: len(env.checkpoints()) == annotated, timeout=120, step=0.2,
                     what="%d checkpoints" % annotated)
            synced = time.monotonic() - t0
            time.sleep(2.0)
            start = env.api.stats()
            mem = proc_status(env.proc.pid)
            env.api.reset_stats()
            time.sleep(idle_seconds)
            check_alive(env)
            idle = env.api.stats()
            # After the idle sample, one parent changes (a label): its objects
            # are fetched again at once. Are the idle connections still there
            # (libcurl closes a connection idle for 118 s unless told not to)?
            env.api.reset_stats()
            touched = pods[0]
            touched["metadata"].setdefault("labels", {})["bench-touched"] = "1"
            env.api.add_pod(touched)
            wait_for(lambda: sum(v for k, v in env.api.stats()["counts"].items()
                                 if k.startswith("GET")) >= 2, timeout=30, step=0.2,
                     what="the changed parent's GETs")
            time.sleep(1.0)
            touch = env.api.stats()
        finally:
            env.close()
        start_total = sum(start["counts"].values())
        watches_h = 3600.0 / WATCH_MEAN_S
        refresh_h = refresh_per_hour(distinct)
        gets = sum(v for k, v in start["counts"].items() if k.startswith("GET"))
        # GET bodies: what the start's responses weighed, minus the LIST page.
        runs.append({
            "pods": MAX_PODS, "annotated": annotated, "distinct_objects": distinct,
            "seconds_to_checkpoints": round(synced, 1),
            "start_requests": start["counts"], "start_total": start_total,
            "start_gets": gets, "start_etcd_reads": sum(start["etcd"].values()),
            "start_connections": start["accepted"], "start_tls_handshakes": start["handshakes"],
            "start_bytes": start["bytes_out"],
            "start_fake_cpu_s": round(start["cpu_seconds"] - cpu0, 2),
            "idle_sample_s": idle_seconds, "idle_requests": idle["counts"],
            "idle_etcd_reads": sum(idle["etcd"].values()),
            "idle_tls_handshakes": idle["handshakes"], "idle_bytes": idle["bytes_out"],
            "after_idle_change_gets": sum(v for k, v in touch["counts"].items()
                                          if k.startswith("GET")),
            "after_idle_change_tls_handshakes": touch["handshakes"],
            "hour_watches": round(watches_h, 1), "hour_refresh_gets": round(refresh_h, 1),
            "hour_requests": round(watches_h + refresh_h, 1),
            "hour_bytes": int(idle["bytes_out"] * 3600.0 / idle_seconds + refresh_h * 400),
            "hour_etcd_reads": 0,
            # Idle connections are kept (after_idle_change_tls_handshakes shows it),
            # each is replaced once it has lived an hour (API_CONN_MAX_LIFE_S): over
            # HTTP/2 the one connection; over HTTP/1.1 the watch's and the one the
            # refresh GETs share while the watch holds its own.
            "hour_tls_handshakes_http2": 1,
            "hour_tls_handshakes_http1": 2 if refresh_h > 0 else 1,
            "rss_kib": mem["VmRSS"], "pss_kib": mem["Pss"], "private_kib": mem["Private"],
            # Private_Clean is mostly pages of shared libraries no other process
            # maps right now (they turn shared when one does); Private_Dirty and
            # Anonymous are the agent's own whatever else runs.
            "private_clean_kib": mem["Private_Clean"], "private_dirty_kib": mem["Private_Dirty"],
            "anonymous_kib": mem["Anonymous"],
        })
    return {"runs": runs}


# --- 5. many agents, one apiserver -------------------------------------------

def bench_scale(sizes=(1, 10, 100), pods_per_node=3, idle_seconds=60, base=None, spread=0,
                start_spread=0):
    root = tempfile.mkdtemp(prefix="kc-bench-scale-", dir=base)
    # One client certificate for every simulated node: a CN that names no node, since the
    # agent refuses a node name that differs from its certificate's system:node:<name>.
    pki = gen_certs(os.path.join(root, "pki"), "bench", client_cn="kubelet-checkpoint-bench")
    workloads = workload_names(pods_per_node)
    results = []
    try:
        for size in sizes:
            results.append(scale_run(size, pki, workloads, idle_seconds, root, spread,
                                     start_spread))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"pods_per_node": pods_per_node, "idle_seconds": idle_seconds,
            "restart_spread_s": spread, "start_spread_s": start_spread, "runs": results}


def arrivals(reqs, verb="LIST"):
    """How the requests of a fleet restart land: the busiest second and the
    time from the first to the last."""
    ts = sorted(r["t"] for r in reqs if r["verb"] == verb)
    if not ts:
        return {"count": 0}
    per_s = {}
    for t in ts:
        per_s[int(t - ts[0])] = per_s.get(int(t - ts[0]), 0) + 1
    return {"count": len(ts), "first_to_last_s": round(ts[-1] - ts[0], 1),
            "busiest_second": max(per_s.values())}


def restart_all(nodes, api, spread):
    """Stop every agent, then start them all at once with --startup-spread."""
    for n in nodes:
        n.proc.terminate()
    for n in nodes:
        n.proc.wait(timeout=30)
    api.reset_stats()
    t0 = time.monotonic()
    for n in nodes:
        n.spread = spread
        n.start()
    wait_for(lambda: api.stats()["counts"].get("WATCH pods", 0) >= len(nodes),
             timeout=spread + 120 + len(nodes) // 5, step=0.5,
             what="every agent watching again")
    return time.monotonic() - t0


def scale_run(size, pki, workloads, idle_seconds, root, spread=0, start_spread=0):
    api = FakeAPI(pki)
    api.settings(bookmark_interval=BOOKMARK_INTERVAL)
    nodes = []
    try:
        # DaemonSets: the same ConfigMaps/Secrets serve the pod on every node.
        api.add_object({"items": workload_objects(workloads)})
        for i in range(size):
            node = "node-%03d" % i
            api.add_pods(node_pods(node, i + 1, workloads))
            nodes.append(Node(node, pki=pki, api=api, base=root, unreachable_after=30,
                              reachable_after=15, gc_grace=300))
        cpu0 = api.stats()["cpu_seconds"]
        t0 = time.monotonic()
        for n in nodes:
            n.spread = start_spread
            n.start()
        want = len(workloads)
        wait_for(lambda: all(len(n.checkpoints()) == want for n in nodes),
                 timeout=60 + start_spread + 2 * size, step=0.5,
                 what="checkpoints on %d nodes" % size)
        synced_s = time.monotonic() - t0
        time.sleep(3.0)
        startup = api.stats()
        api.reset_stats()
        mem = [proc_status(n.proc.pid) for n in nodes]
        cpu1 = api.stats()["cpu_seconds"]
        time.sleep(idle_seconds)
        idle = api.stats()
        dead = [n.node for n in nodes if n.proc.poll() is not None]
        mem_end = [proc_status(n.proc.pid) for n in nodes if n.proc.poll() is None]
        restart = None
        if spread > 0:
            took = restart_all(nodes, api, spread)
            reqs = api.requests()
            restart = {"spread_s": spread, "seconds_until_all_watching": round(took, 1),
                       "lists": arrivals(reqs, "LIST"), "gets": arrivals(reqs, "GET"),
                       "requests_per_node": round(sum(api.stats()["counts"].values()) / size,
                                                  2)}
    finally:
        for n in nodes:
            n.close()
        api.close()
    start_total = sum(startup["counts"].values())
    idle_total = sum(idle["counts"].values())
    hwm = [m["VmHWM"] for m in mem_end]
    rss = [m["VmRSS"] for m in mem]
    anon = [m["RssAnon"] for m in mem]
    pss = [m["Pss"] for m in mem]
    return {"agents": size, "seconds_to_all_checkpoints": round(synced_s, 1),
            "startup_requests": startup["counts"], "startup_per_node": round(start_total / size, 2),
            "idle_requests": idle["counts"], "idle_per_node": round(idle_total / size, 2),
            "rss_kib_median": statistics.median(rss), "rss_kib_max": max(rss),
            "rss_anon_kib_median": statistics.median(anon), "rss_anon_kib_max": max(anon),
            "pss_kib_median": statistics.median(pss),
            "hwm_kib_median": statistics.median(hwm) if hwm else None,
            "hwm_kib_max": max(hwm) if hwm else None, "agents_died": dead,
            "startup_fake_cpu_ms_per_node":
                round((startup["cpu_seconds"] - cpu0) * 1000 / size, 1),
            "idle_fake_cpu_ms_per_node": round((idle["cpu_seconds"] - cpu1) * 1000 / size, 1),
            "startup_handshakes_per_node": round(startup["handshakes"] / size, 2),
            "startup_etcd_reads_per_node": round(sum(startup["etcd"].values()) / size, 2),
            "private_kib_median": statistics.median(m["Private"] for m in mem),
            "restart": restart}


# --- the command line --------------------------------------------------------

def machine():
    info = {"nproc": os.cpu_count(), "kernel": os.uname().release}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def summary(name, r):
    if name == "activation":
        a, o = r["log_after_window_ms"], r["outside_last_ms"]
        return ("activation (%d pods, %d cycles, %d MiB dirty): agent log %s ms after the window "
                "(median, worst %s; pass %s ms median); outside %s ms (worst %s)" % (
                    r["pods"], r["cycles"], r["dirty_mib"], a and a["median"], a and a["worst"],
                    r["log_pass_ms"] and r["log_pass_ms"]["median"],
                    o and o["median"], o and o["worst"]))
    if name == "footprint":
        return ("footprint (%d pods): VmHWM %d KiB (now: anon %d, file %d); wakeups/s API up %.3f, API down %.3f" % (
            r["pods"], r["vm_hwm_kib"], r["rss_anon_kib"], r["rss_file_kib"],
            r["wakeups_api_up"]["per_second"],
            r["wakeups_api_down_bridges_active"]["per_second"]))
    if name == "idle":
        return ("idle (%d pods, %.0f s): %d requests %s -> %.1f per hour" % (
            r["pods"], r["duration_s"], r["idle_total"], r["idle_requests"], r["per_hour"]))
    if name == "cost":
        return "\n".join(
            "cost %3d/%d annotated, %3d objects: start %d requests (%d GETs, %d etcd, %d conns, "
            "%d handshakes, %d B); idle %d s: %s, %d handshakes, %d etcd; hour: %.1f requests "
            "(%.1f watches + %.1f GETs), ~%d B, 0 etcd; a parent changed after the idle "
            "sample: %d GETs, %d handshakes; RSS %d KiB, PSS %d, private %d "
            "(clean %d, dirty %d), anonymous %d" % (
                x["annotated"], x["pods"], x["distinct_objects"], x["start_total"],
                x["start_gets"], x["start_etcd_reads"], x["start_connections"],
                x["start_tls_handshakes"], x["start_bytes"], x["idle_sample_s"],
                x["idle_requests"], x["idle_tls_handshakes"], x["idle_etcd_reads"],
                x["hour_requests"], x["hour_watches"], x["hour_refresh_gets"], x["hour_bytes"],
                x["after_idle_change_gets"], x["after_idle_change_tls_handshakes"], x["rss_kib"], x["pss_kib"], x["private_kib"], x["private_clean_kib"],
                x["private_dirty_kib"], x["anonymous_kib"]) for x in r["runs"])
    if name == "scale":
        return "\n".join(
            "scale %3d agents: startup %.1f req/node, idle %.2f req/node in %d s, "
            "RSS median %d KiB max %d KiB (anon median %d, PSS %d), sync %.1f s, died %s" % (
                x["agents"], x["startup_per_node"], x["idle_per_node"], r["idle_seconds"],
                x["rss_kib_median"], x["rss_kib_max"], x["rss_anon_kib_median"],
                x["pss_kib_median"],
                x["seconds_to_all_checkpoints"],
                x["agents_died"] or "none") +
            "\n    fake CPU/node start %.1f ms idle %.2f ms, handshakes/node %.2f, etcd/node %.2f,"
            " private median %d KiB; restart %s" % (
                x["startup_fake_cpu_ms_per_node"], x["idle_fake_cpu_ms_per_node"],
                x["startup_handshakes_per_node"], x["startup_etcd_reads_per_node"],
                x["private_kib_median"], json.dumps(x["restart"])) for x in r["runs"])
    return json.dumps(r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True, help="the built kubelet-checkpoint")
    ap.add_argument("--quick", action="store_true", help="short version of every benchmark")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--tmp", help="directory for the throwaway nodes (default: $TMPDIR)")
    ap.add_argument("--pods", type=int, default=MAX_PODS)
    ap.add_argument("--cycles", type=int, help="activation cycles (default 5, quick 2)")
    ap.add_argument("--dirty-mib", type=int, default=0,
                    help="activation: leave this much unsynced data on the disk first")
    ap.add_argument("--idle-pods", type=int, default=3, help="pods of the idle node (3)")
    ap.add_argument("--duration", type=float, help="idle seconds (default 600, quick 20)")
    ap.add_argument("--wakeup-seconds", type=float, help="footprint window (60, quick 10)")
    ap.add_argument("--scale", help="agent counts, comma separated (1,10,100; quick 1,10)")
    ap.add_argument("--scale-idle", type=float, help="scale idle seconds (60, quick 10)")
    ap.add_argument("--spread", type=int, default=0,
                    help="scale: then restart every agent at once with this --startup-spread")
    ap.add_argument("--start-spread", type=int, default=0,
                    help="scale: --startup-spread of the first start too (default 0)")
    ap.add_argument("--cost", help="cost: annotated pods per case (10,30,110; quick 10)")
    ap.add_argument("--cost-idle", type=float, help="cost: idle sample seconds (120, quick 10)")
    ap.add_argument("--wrapper", default="",
                    help="run the footprint agent under this (e.g. 'valgrind --tool=massif')")
    ap.add_argument("which", nargs="*",
                    help="all (default), activation, footprint, idle, scale")
    args = ap.parse_args()
    agent_env.BINARY = os.path.abspath(args.binary)
    q = args.quick
    names = ["activation", "footprint", "idle", "scale", "cost"]
    which = names if not args.which or "all" in args.which else args.which
    for name in which:
        if name not in names:
            ap.error("unknown benchmark %r (choose from all, %s)" % (name, ", ".join(names)))
    runners = {
        "activation": lambda: bench_activation(args.pods, args.cycles or (2 if q else 5),
                                               base=args.tmp, dirty_mib=args.dirty_mib),
        "footprint": lambda: bench_footprint(args.pods, 1 if q else 2,
                                             args.wakeup_seconds or (10 if q else 60),
                                             base=args.tmp, wrapper=shlex.split(args.wrapper)),
        "idle": lambda: bench_idle(args.duration or (20 if q else 600), npods=args.idle_pods,
                                   base=args.tmp),
        "scale": lambda: bench_scale(
            [int(x) for x in (args.scale or ("1,10" if q else "1,10,100")).split(",")],
            idle_seconds=args.scale_idle or (10 if q else 60), base=args.tmp,
            spread=args.spread, start_spread=args.start_spread),
        "cost": lambda: bench_cost(
            [int(x) for x in (args.cost or ("10" if q else "10,30,110")).split(",")],
            idle_seconds=args.cost_idle or (10 if q else 120), base=args.tmp),
    }
    results = {"machine": machine(), "binary": agent_env.BINARY,
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for name in which:
        t0 = time.monotonic()
        results[name] = runners[name]()
        print(summary(name, results[name]) + "  [%.0f s]" % (time.monotonic() - t0),
              flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
