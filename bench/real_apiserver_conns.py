#!/usr/bin/env python3
"""real_apiserver_conns.py: how many connections the api client opens against
a real kube-apiserver (HTTP/2 over TLS), where the fake apiserver of the tests
only speaks HTTP/1.1. Starts etcd and kube-apiserver from the Kubernetes test
tier's cache (tests/kubernetes/build.sh, KC_K8S_BIN), stores N Secrets plus
kube-root-ca.crt, runs tests/tools/api_probe with the admin certificate,
tracks N parents (each kube-root-ca.crt and its own Secret), then asks the
probe for its counters: connections and TLS handshakes.

    KC_K8S_BIN=/var/cache/kubelet-checkpoint-tests/k8s/v1.34.4-go1.26.8 \\
        bench/real_apiserver_conns.py build/dev/api_probe [N]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "kubernetes"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import node as k8s  # noqa: E402


def main():
    probe, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
    root = tempfile.mkdtemp(prefix="kc-h2-", dir="/var/tmp")
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    cp = k8s.ControlPlane(root, "h2-node")
    try:
        cp.start_etcd()
        cp.start_apiserver()
        items = [{"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt", "namespace": "kube-system"},
                  "data": {"ca.crt": "x"}}]
        items += [{"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "s%d" % i, "namespace": "kube-system"},
                   "data": {"k": "dg=="}} for i in range(n)]
        cp.apply({"apiVersion": "v1", "kind": "List", "items": items})
        p = cp.pki
        proc = subprocess.Popen([probe, "--server", cp.url, "--node", "h2-node",
                                 "--ca", p + "/ca.crt", "--cert", p + "/admin.crt",
                                 "--key", p + "/admin.key"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        lines = "".join("track u%d kube-system ConfigMap/kube-root-ca.crt Secret/s%d\n" % (i, i)
                        for i in range(n))
        proc.stdin.write(lines)
        proc.stdin.flush()
        answered, t0 = set(), time.monotonic()
        for line in proc.stdout:
            e = json.loads(line)
            if e["ev"] == "refs":
                answered.add(e["uid"])
                if len(answered) == n:
                    break
            if time.monotonic() - t0 > 60:
                break
        proc.stdin.write("stats\n")
        proc.stdin.flush()
        for line in proc.stdout:
            e = json.loads(line)
            if e["ev"] == "stats":
                print(json.dumps({"parents_answered": len(answered), "stats": e}))
                break
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=10)
    finally:
        cp.close()


if __name__ == "__main__":
    main()
