#!/usr/bin/env python3
"""demo.py: the whole bridge cycle on this machine, narrated.

A throwaway node in a temp dir: a fake kube-apiserver (TLS, client
certificates), a kubelet config naming the staticPodPath, a staticPodPath that
already holds kube-apiserver.yaml and etcd.yaml, a fake pod cgroup tree. The
real agent runs against it while the demo takes the API away and brings it
back. Nothing outside the temp dir is touched.
"""
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("KC_SOURCE_DIR", os.path.join(HERE, ".."))
from agent_env import AgentEnv, wait_for  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from test_agent_cycle import proxy_pod, objects, NODE  # noqa: E402


def say(text):
    print("\n\033[1m==> %s\033[0m" % text, flush=True)


def show(env, what="status"):
    print(env.status_text().rstrip(), flush=True)


def tail_log(env, seen=[0]):
    text = env.log_text()
    new = text[seen[0]:]
    seen[0] = len(text)
    for line in new.splitlines():
        if "config:" not in line:
            print("   agent| " + line.replace("kubelet-checkpoint: ", ""), flush=True)


def main():
    env = AgentEnv(node=NODE, unreachable_after=5, reachable_after=3, gc_grace=5)
    manifest = "kubelet-checkpoint_kube-system_agent-x7k2p.yaml"
    try:
        say("A node %s: a fake apiserver at %s, staticPodPath %s" %
            (NODE, env.api.url, env.manifests))
        print("   foreign files already there: %s" % sorted(os.listdir(env.manifests)))
        for o in objects():
            env.api.add_object(o)
        parent = proxy_pod()
        env.api.add_pod(parent)
        uid = parent["metadata"]["uid"]
        say("The API serves pod kube-system/agent-x7k2p, annotated "
            "node.kubernetes.io/bootstrap-checkpoint: \"true\"; starting the agent")
        print("   " + " ".join(env.args()[1:]))
        env.start()
        wait_for(lambda: os.path.exists(env.checkpoint_path(uid)), what="checkpoint")
        time.sleep(0.5)
        tail_log(env)
        say("API up: a verified checkpoint exists, no bridge manifest")
        show(env)

        say("The API goes away (connections refused). Bridge after 5 s unreachable...")
        t0 = time.monotonic()
        env.api.fault("down")
        wait_for(lambda: manifest in env.bridge_files(), timeout=30, what="activation")
        print("   bridge manifest written after %.1f s" % (time.monotonic() - t0))
        tail_log(env)
        show(env)
        say("The manifest the kubelet now runs (self-contained: no Secret, ConfigMap or "
            "ServiceAccount reference)")
        with open(os.path.join(env.manifests, manifest)) as f:
            print(f.read())
        env.check_manifest(manifest)
        print("   passes the project's rule checker and the Kubernetes schema")

        say("The kubelet still runs the API pod (its cgroup appears): the bridge steps back")
        env.set_running(uid, True)
        wait_for(lambda: manifest not in env.bridge_files(), timeout=10, what="withdrawal")
        tail_log(env)
        env.set_running(uid, False)
        wait_for(lambda: manifest in env.bridge_files(), timeout=10, what="activation")
        say("...and the API pod stopped again: bridge back")
        tail_log(env)

        say("kubelet-checkpoint disable: the flag file goes, the bridge is withdrawn")
        os.system("%s disable --flag-file %s" % (env.args()[0], env.flag))
        wait_for(lambda: manifest not in env.bridge_files(), timeout=10, what="withdrawal")
        tail_log(env)
        os.system("%s enable --flag-file %s" % (env.args()[0], env.flag))
        wait_for(lambda: manifest in env.bridge_files(), timeout=10, what="activation")
        say("kubelet-checkpoint enable: back")
        tail_log(env)

        say("The API comes back: bridge withdrawn after 3 s of success")
        env.api.fault("none")
        wait_for(lambda: manifest not in env.bridge_files(), timeout=30, what="withdrawal")
        time.sleep(0.3)
        tail_log(env)
        show(env)

        say("Foreign files in the staticPodPath were never touched: %s" %
            ("yes" if env.foreign_snapshot() == env.foreign_before else "NO"))
        env.stop(signal.SIGTERM)
        tail_log(env)
        say("Done.")
        return 0
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main())
