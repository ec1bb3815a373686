#!/usr/bin/env python3
"""Cold reboots of a self-hosted control plane in a row (issue 18's benchmark; not a test).

One node as in tests/kubernetes/test_self_hosted.py (tests/kubernetes/selfhosted.py): etcd and
kube-apiserver as annotated hostNetwork API pods, pivoted from host processes, checkpointed by
the agent. Then N cold reboots in a row (agent and kubelet stopped, every sandbox, containerd's
run state, every pod cgroup gone; the agent and the kubelet start again with no apiserver
anywhere). For each it reports, from the kubelet's start (or the agent's, with --kubelet-lead):
  - when /readyz was first served by the bridges,
  - every /readyz gap between that and steady (the hand-off),
  - when it was steady (both parents run, no bridge manifest, no bridge container, /readyz ok),
  - the agent's activations and withdrawals per checkpoint (more than one: a cycle),
  - the kubelet's housekeeping stalls over 5 s this boot (it deletes the withdrawn bridges'
    mirror pods against a parent kube-apiserver that holds its port without serving, waiting
    for etcd: the stall holds back etcd's restart, the cause of the gaps over 30 s),
and whether /readyz stayed ok for --observe seconds after steady. No step is manual: a reboot
that does not reach steady within --steady-timeout is reported as stuck and the next one starts.

Usage (root; the Kubernetes binaries from tests/kubernetes/build.sh):
  python3 bench/cold_reboot.py --binary build/dev/kubelet-checkpoint [--reboots 10]
      [--observe 60] [--permit-port-sharing] [--kubelet-lead 90] [--json out.json]
--permit-port-sharing runs kube-apiserver with --permit-port-sharing and etcd with
--socket-reuse-port (SO_REUSEPORT) in parents and bridges, to see whether the hand-off gap
(the parent dying on "address already in use" while the bridge terminates) disappears.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def k8s_bin():
    env = dict(os.environ)
    if os.path.isdir("/usr/local/go/bin"):
        env["PATH"] = env.get("PATH", "") + ":/usr/local/go/bin"
    return subprocess.run([os.path.join(SRC, "tests", "kubernetes", "build.sh")], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()


def bench_arguments(doc, reboots, observe, observe_help, steady_timeout, keep_help):
    """The options both cold-reboot benchmarks take (this one and three_node.py)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--binary", required=True, help="kubelet-checkpoint to run")
    ap.add_argument("--reboots", type=int, default=reboots)
    ap.add_argument("--observe", type=float, default=observe, help=observe_help)
    ap.add_argument("--steady-timeout", type=float, default=steady_timeout)
    ap.add_argument("--unreachable-after", type=int, default=15)
    ap.add_argument("--reachable-after", type=int, default=10)
    ap.add_argument("--json", help="append the results as one JSON line to this file")
    ap.add_argument("--keep", action="store_true", help=keep_help)
    ap.add_argument("--agent-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for the agent (repeat: --agent-arg=--flag "
                         "--agent-arg=value)")
    ap.add_argument("--permit-port-sharing", action="store_true",
                    help="kube-apiserver --permit-port-sharing and etcd --socket-reuse-port "
                         "(SO_REUSEPORT) in parents and bridges")
    return ap


def load_harness():
    """The kubernetes tier's node.py and selfhosted.py, with the Kubernetes binaries built."""
    os.environ.setdefault("KC_K8S_BIN", k8s_bin())
    os.environ.setdefault("KC_SOURCE_DIR", SRC)
    sys.path.insert(0, os.path.join(SRC, "tests", "kubernetes"))
    import node
    import selfhosted
    return node, selfhosted


def main():
    ap = bench_arguments(__doc__, 10, 60.0, "seconds /readyz must stay ok after steady "
                         "(issue 18: 180)", 600.0, "keep the node's temp dir")
    ap.add_argument("--kubelet-lead", type=float, default=0.0,
                    help="start the kubelet this many seconds before the agent")
    args = ap.parse_args()
    kn, shm = load_harness()

    kn.exit_on_sigterm()
    sh = shm.SelfHostedNode("kc-bench-selfhosted", os.path.abspath(args.binary),
                            args.unreachable_after, args.reachable_after,
                            port_sharing=args.permit_port_sharing)
    sh.node.keep = args.keep
    sh.extra_agent_args = args.agent_arg
    results = []
    interrupted = None
    try:
        sh.bootstrap()
        sh.pivot()
        sh.start_agent()
        sh.wait_checkpointed()
        print("setup: %s" % json.dumps({k: round(v, 1) for k, v in sh.timings.items()}),
              flush=True)
        for i in range(args.reboots):
            results.append(one_reboot(sh, shm, args, i + 1))
            print(json.dumps(results[-1]), flush=True)
    except (KeyboardInterrupt, SystemExit) as e:  # still report the reboots done
        interrupted = e
    finally:
        sh.close()
    summarise(results, args)
    if interrupted is not None:
        print("interrupted during reboot %d" % (len(results) + 1))
        sys.exit(1)


def housekeeping_stalls(text, over=5.0):
    """The kubelet's housekeeping runs longer than `over` seconds in this log text (kubelet.go
    syncLoopIteration logs each one over 1 s; Go durations such as 1.5s, 1m8.006s)."""
    out = []
    for line in text.splitlines():
        if "Housekeeping took longer than expected" not in line:
            continue
        m = re.search(r'actual="([0-9hms.µ]+)"', line)
        if m is None:
            continue
        secs = 0.0
        for num, unit in re.findall(r"([0-9.]+)(h|ms|µs|m|s)", m.group(1)):
            secs += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "µs": 1e-6}[unit]
        if secs > over:
            out.append(round(secs, 1))
    return out


def kubelet_log_size(sh):
    try:
        return os.path.getsize(os.path.join(sh.node.logs, "kubelet.log"))
    except OSError:
        return 0


def kubelet_log_since(sh, offset):
    try:
        with open(os.path.join(sh.node.logs, "kubelet.log"), errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def one_reboot(sh, shm, args, n):
    sh.power_off()
    log_from = kubelet_log_size(sh)
    obs = shm.Observer(sh).start()
    r = {"reboot": n}
    try:
        t_kubelet, t_agent = sh.power_on(kubelet_lead=args.kubelet_lead)
        t_ref = max(t_kubelet, t_agent)
        deadline = t_kubelet + args.steady_timeout
        t_served = None
        while time.monotonic() < deadline and t_served is None:
            t_served = obs.first_bridge_served(t_ref)
            time.sleep(0.25)
        if t_served is not None:
            r["bridges serve /readyz (s)"] = round(t_served - t_ref, 1)
        t_steady = None
        while time.monotonic() < deadline:
            s = obs.steady_since(t_served or t_ref)
            if s is not None and time.monotonic() - s >= 5:
                t_steady = s
                break
            time.sleep(0.5)
        gaps = obs.gaps(t_served or t_ref, t_steady)
        r["API gaps at the hand-off (s)"] = [round(g, 1) for _, g in gaps]
        r["gaps start at (s)"] = [round(a - t_ref, 1) for a, _ in gaps]
        r["readyz blips"] = len(obs.blips(t_served or t_ref, t_steady))
        if t_steady is None:
            r["stuck"] = True
        else:
            r["steady (s)"] = round(t_steady - t_ref, 1)
            t_end = time.monotonic() + args.observe
            while time.monotonic() < t_end:
                s = obs.steady_since(t_served or t_ref)
                if s is None or s > t_steady:
                    r["lost after steady at (s)"] = round(time.monotonic() - t_ref, 1)
                    break
                time.sleep(1)
        counts, dropped = sh.counts()
        r["activations, withdrawals"] = counts
        r["cycled"] = any(c[0] > 1 for c in counts.values())
        r["collected"] = dropped
        r["kubelet housekeeping stalls (s)"] = housekeeping_stalls(kubelet_log_since(sh, log_from))
        r["transitions"] = obs.transitions(t_ref)
    finally:
        obs.stop()
    return r


def summarise(results, args):
    ok = [r for r in results if not r.get("stuck") and not r.get("cycled") and
          "lost after steady at (s)" not in r]
    print("\n%d cold reboots (permit-port-sharing=%s, kubelet lead %.0f s): %d came back "
          "with no manual step, one hand-off each" % (len(results), args.permit_port_sharing,
                                                       args.kubelet_lead, len(ok)))
    print("%-6s %-12s %-26s %-10s %s" % ("reboot", "bridges (s)", "gaps (s)", "steady (s)",
                                         "notes"))
    for r in results:
        notes = []
        if r.get("stuck"):
            notes.append("STUCK")
        if r.get("cycled"):
            notes.append("CYCLED %s" % r["activations, withdrawals"])
        if "lost after steady at (s)" in r:
            notes.append("lost at %s s" % r["lost after steady at (s)"])
        if len(r["API gaps at the hand-off (s)"]) > 1:
            notes.append("MORE THAN ONE GAP")
        if any(g > 20 for g in r["API gaps at the hand-off (s)"]):
            notes.append("gap > 20 s (target)")
        if r.get("kubelet housekeeping stalls (s)"):
            notes.append("kubelet housekeeping stalled %s s" % r["kubelet housekeeping stalls (s)"])
        if r.get("bridges serve /readyz (s)") is None or r["bridges serve /readyz (s)"] > 60:
            notes.append("bridges not serving within 60 s (target)")
        print("%-6d %-12s %-26s %-10s %s" % (r["reboot"], r.get("bridges serve /readyz (s)"),
                                             r["API gaps at the hand-off (s)"],
                                             r.get("steady (s)"), " ".join(notes)))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"bench": "cold-reboot", "permit_port_sharing":
                                args.permit_port_sharing, "kubelet_lead": args.kubelet_lead,
                                "results": results}) + "\n")


if __name__ == "__main__":
    main()
