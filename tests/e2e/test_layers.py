#!/usr/bin/env python3
"""test_layers.py: the tree shows the architecture, and keeps showing it.

A static check on the built objects of libkccore (one object per module,
src/<layer>/<module>.c): which global symbols each module defines and which it
uses (nm) gives the call graph. It fails on

- a call cycle between layers (the folders of src/), and a call from a layer
  to one listed after it in the README's module table (the table's order is the
  layering: base first, cli last);
- a call cycle between modules (agent.c -> agent_effects.c -> agent.c was one);
- a module (a .c file of src/) the README's table does not name in its folder's
  row, a row naming a file that does not exist, or a folder without a row.

Calls are what nm sees: a function called only through a pointer is an edge
only where its address is taken, which is where the dependency is.
"""
import collections
import os
import re
import subprocess
import unittest

SRC = os.environ.get("KC_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("KC_BINARY", "")
OBJ_DIR = os.path.join(os.path.dirname(BINARY), "CMakeFiles", "kccore.dir", "src")


def nm(path, *flags):
    out = subprocess.run(["nm", *flags, path], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


def call_graph():
    """{module: set(modules it calls)}, modules named "<layer>/<file stem>"."""
    defined, used = {}, collections.defaultdict(set)
    for layer in sorted(os.listdir(OBJ_DIR)):
        if not os.path.isdir(os.path.join(OBJ_DIR, layer)):
            continue  # an object left by a build of an older, flat tree
        for name in sorted(os.listdir(os.path.join(OBJ_DIR, layer))):
            if not name.endswith(".c.o"):
                continue
            module, path = layer + "/" + name[:-4], os.path.join(OBJ_DIR, layer, name)
            used[module]  # a module that calls nothing is still a node
            for fields in nm(path, "--defined-only", "-g"):
                defined[fields[-1]] = module
            for fields in nm(path, "-u"):
                used[module].add(fields[-1])
    graph = {m: {defined[s] for s in syms if s in defined and defined[s] != m}
             for m, syms in used.items()}
    return graph


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def readme_table():
    """[(layer, [module files])] from the README's module table, in its order."""
    rows = []
    with open(os.path.join(SRC, "docs", "architecture.md")) as f:
        for line in f:
            m = re.match(r"\| `src/([a-z0-9]+)/` \| ([^|]*) \|", line)
            if m:
                rows.append((m.group(1), re.findall(r"`([a-z_0-9]+\.c)`", m.group(2))))
    return rows


@unittest.skipUnless(os.path.isdir(OBJ_DIR), "objects of kccore not built")
class TestLayers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.graph = call_graph()
        cls.layers = collections.defaultdict(set)
        for m, targets in cls.graph.items():
            for t in targets:
                if t.split("/")[0] != m.split("/")[0]:
                    cls.layers[m.split("/")[0]].add(t.split("/")[0])

    def test_no_module_cycle(self):
        self.assertEqual(cycles(self.graph), [], "modules that call each other")

    def test_no_layer_cycle(self):
        self.assertEqual(cycles(self.layers), [], "layers that call each other")

    def test_layers_call_only_earlier_rows(self):
        order = [layer for layer, _ in readme_table()]
        for layer, targets in sorted(self.layers.items()):
            for t in sorted(targets):
                self.assertIn(layer, order)
                self.assertLess(order.index(t), order.index(layer),
                                "src/%s calls src/%s, listed after it in the README" % (layer, t))

    def test_graph_sees_calls(self):
        # The check must see the edges it guards: the loop calls the sync and the pass.
        self.assertIn("agent/agent_sync", self.graph["agent/agent"])
        self.assertIn("agent/agent_effects", self.graph["agent/agent"])
        self.assertNotIn("agent/agent_sync", self.graph["agent/agent_effects"])


class TestReadmeTable(unittest.TestCase):
    def test_table_matches_tree(self):
        rows = readme_table()
        folders = sorted(d for d in os.listdir(os.path.join(SRC, "src"))
                         if os.path.isdir(os.path.join(SRC, "src", d)))
        self.assertEqual(sorted(layer for layer, _ in rows), folders,
                         "README module table rows vs folders of src/")
        for layer, files in rows:
            on_disk = sorted(f for f in os.listdir(os.path.join(SRC, "src", layer))
                             if f.endswith(".c"))
            self.assertEqual(sorted(files), on_disk, "README row of src/%s/" % layer)


if __name__ == "__main__":
    unittest.main(verbosity=2)
