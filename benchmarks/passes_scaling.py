"""How the graph passes scale: rename, dedupe, check, merge (and verify_graph, extract)
on synthetic IR graphs of 1k, 10k and 100k nodes.

Run: ``make bench-passes`` (or ``.venv/bin/python benchmarks/passes_scaling.py
[--sizes 1000 10000 100000]``).

The graphs are built directly as IR (no Keras): a ladder of residual blocks
``h = add(activation(dense(h)), h)`` over ``f32[batch, 8]`` with small seeded weights,
and real work for the passes that look for it:

* every 4th block's kernel and bias are byte-identical copies of the previous block's
  (``dedupe`` merges those weights);
* every 8th block also computes its dense twice under another name (a duplicated
  branch, ``h = add(add(act(d), act(d_twin)), h)``): ``dedupe`` merges the twin, and
  then its activation, as common subexpressions.

Timed per size (median of ``--repeats`` runs; each run gets a fresh ``Graph`` object
over the same nodes, so ``verify_graph``'s memory of already verified graph objects
never answers), inside ``graphir.passes.gc_paused()`` as the CLI runs passes:
``verify_graph``; ``rename(prefix="scaled")``; ``rename(mapping=...)``
of one block; ``dedupe``; ``check``; ``extract`` of the middle output; ``merge`` of two
such graphs of half the size each (``mode="average"``, ``shared_input=True``: the
result has the size; merge verifies its inputs, renames, extracts, renames the shared
input, shape-checks and verifies the result inside), once with fresh input objects and
once with inputs verified beforehand, as every graph from ``from_keras``, ``load`` or a
pass is (merge's own input verification is then answered from the verifier's memory).  The growth factor is the time
ratio between consecutive sizes: 10x more nodes should take about 10x longer
(linear); the target is under 2 s per pass at 100k nodes.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
from typing import Any, Callable

import numpy as np

from benchlib import machine, median, print_report

from graphir import Graph, Node, TensorType, Value, verify_graph
from graphir.passes import check, dedupe, extract, gc_paused, merge, rename

WIDTH = 8
TARGET_SECONDS = 2.0


def synthetic_graph(n_nodes: int, *, seed: int = 0, name: str = "ladder") -> Graph:
    """A valid graph of about ``n_nodes`` nodes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    vt = TensorType("float32", ("batch", WIDTH))
    nodes: list[Node] = []
    weights: dict[str, np.ndarray] = {}
    h, block = "x", 0
    prev = None
    while len(nodes) < n_nodes:
        p = f"block{block}"
        if block % 4 == 3 and prev is not None:  # byte-identical copies of the previous block's
            weights[f"{p}/kernel"] = prev[0].copy()
            weights[f"{p}/bias"] = prev[1].copy()
        else:
            weights[f"{p}/kernel"] = (rng.standard_normal((WIDTH, WIDTH)) * 0.3).astype(np.float32)
            weights[f"{p}/bias"] = (rng.standard_normal(WIDTH) * 0.1).astype(np.float32)
        prev = (weights[f"{p}/kernel"], weights[f"{p}/bias"])
        dense_in = [h, f"{p}/kernel", f"{p}/bias"]
        nodes.append(Node("dense", f"{p}/dense", dense_in, [Value(f"{p}/dense", vt)],
                          {"units": WIDTH, "activation": "linear"}))
        nodes.append(Node("activation", f"{p}/act", [f"{p}/dense"], [Value(f"{p}/act", vt)],
                          {"function": "tanh"}))
        branch = f"{p}/act"
        if block % 8 == 7:  # a duplicated branch: the same dense again, under another name
            nodes.append(Node("dense", f"{p}/twin", dense_in, [Value(f"{p}/twin", vt)],
                              {"units": WIDTH, "activation": "linear"}))
            nodes.append(Node("activation", f"{p}/twin_act", [f"{p}/twin"],
                              [Value(f"{p}/twin_act", vt)], {"function": "tanh"}))
            nodes.append(Node("add", f"{p}/join", [f"{p}/act", f"{p}/twin_act"],
                              [Value(f"{p}/join", vt)]))
            branch = f"{p}/join"
        nodes.append(Node("add", f"{p}/out", [branch, h], [Value(f"{p}/out", vt)]))
        h = f"{p}/out"
        block += 1
    return Graph(name, [Value("x", vt)], [h], nodes, weights)


def fresh(g: Graph) -> Graph:
    """A new Graph object with the same contents (unverified as far as the verifier's
    memory goes)."""
    return Graph(g.name, g.inputs, g.outputs, g.nodes, g.weights)


def _timed(fn: Callable[[Graph, Graph], Any], g: Graph, other: Graph,
           repeats: int, verified: bool = False) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        result = None
        a, b = fresh(g), fresh(other)
        if verified:  # as every graph from from_keras, load or a pass is (not timed)
            verify_graph(a)
            verify_graph(b)
        gc.collect()
        with gc_paused():  # as the CLI runs passes (graphir.passes.gc_paused)
            start = time.perf_counter()
            result = fn(a, b)
            times.append(time.perf_counter() - start)
    return median(times), result


def run(sizes, repeats: int) -> dict[str, Any]:
    rows: dict[str, dict[int, float]] = {}
    facts: dict[int, dict[str, Any]] = {}
    for n in sizes:
        g = synthetic_graph(n, seed=0, name="ladder_a")
        halves = (synthetic_graph(n // 2, seed=1, name="half_a"),
                  synthetic_graph(n - n // 2, seed=2, name="half_b"))
        middle = g.nodes[len(g.nodes) // 2].name
        reps = max(1, repeats if n <= 10_000 else min(repeats, 3))
        passes: dict[str, tuple[Callable[[Graph, Graph], Any], tuple[Graph, Graph]]] = {
            "verify_graph": (lambda a, b: verify_graph(a), (g, g)),
            "rename (prefix)": (lambda a, b: rename(a, prefix="scaled"), (g, g)),
            "rename (mapping)": (lambda a, b: rename(a, mapping={"block1": "first_block"}),
                                 (g, g)),
            "dedupe": (lambda a, b: dedupe(a), (g, g)),
            "check": (lambda a, b: check(a), (g, g)),
            "extract": (lambda a, b: extract(a, outputs=[middle]), (g, g)),
            "merge (2 halves)": (lambda a, b: merge([a, b], mode="average", shared_input=True),
                                 halves),
            "merge (verified halves)": (lambda a, b: merge([a, b], mode="average",
                                                           shared_input=True), halves),
        }
        facts[n] = {"nodes": len(g.nodes), "weights": len(g.weights)}
        for label, (fn, operands) in passes.items():
            seconds, result = _timed(fn, *operands, reps, verified=label.startswith(
                "merge (verified"))
            rows.setdefault(label, {})[n] = seconds
            if label == "dedupe":
                facts[n]["after_dedupe"] = (len(result.nodes), len(result.weights))
            if label == "check":
                assert not [d for d in result if d.severity == "error"], result[:3]
            if label == "merge (2 halves)":
                facts[n]["merged_nodes"] = len(result.nodes)
            del result
        print(f"  {n} nodes done", flush=True)
    return {"sizes": list(sizes), "seconds": rows, "facts": facts}


def tables(report: dict[str, Any]):
    sizes = report["sizes"]
    cols = ["pass"] + [f"{n:,} nodes (s)" for n in sizes] + [
        f"x{b // a} nodes: time x" for a, b in zip(sizes, sizes[1:])] + [
        "µs per node: " + " / ".join(f"{n // 1000}k" for n in sizes)]
    out_rows = []
    for label, by in report["seconds"].items():
        by = {int(k): v for k, v in by.items()}
        cells = [label] + [f"{by[n]:.4f}" for n in sizes]
        cells += [f"{by[b] / by[a]:.1f}" if by[a] > 0 else "—" for a, b in zip(sizes, sizes[1:])]
        cells.append(" / ".join(f"{by[n] / n * 1e6:.1f}" for n in sizes))
        out_rows.append(cells)
    fact_rows = []
    for n in sizes:
        f = report["facts"][n] if n in report["facts"] else report["facts"][str(n)]
        kept_n, kept_w = f["after_dedupe"]
        fact_rows.append([f"{n:,}", f"{f['nodes']:,}", f"{f['weights']:,}",
                          f"{f['nodes'] - kept_n:,} nodes, {f['weights'] - kept_w:,} weights",
                          f"{f['merged_nodes']:,}"])
    return [("Pass time (median) and growth per size step", cols, out_rows),
            ("The synthetic graphs", ["target", "nodes", "weights", "dedupe removes",
                                      "merged nodes"], fact_rows)]


def targets(report: dict[str, Any]) -> list[str]:
    """Per pass: the time at the largest size against the target, and the growth
    exponent per size step, ``log(t2 / t1) / log(n2 / n1)``: 1.0 is linear, 2.0
    quadratic."""
    sizes = report["sizes"]
    lines = []
    big = max(sizes)
    for label, by in report["seconds"].items():
        by = {int(k): v for k, v in by.items()}
        exps = [math.log(by[b] / by[a]) / math.log(b / a) for a, b in zip(sizes, sizes[1:])
                if by[a] > 0 and by[b] > 0]
        lines.append(f"{label}: {by[big]:.3f} s at {big:,} nodes "
                     f"({'met' if by[big] < TARGET_SECONDS else 'MISSED'} < {TARGET_SECONDS:g} s); "
                     f"growth exponent per size step: {', '.join(f'{e:.2f}' for e in exps)} "
                     "(1.0 = linear, 2.0 = quadratic)")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per pass and size (at most 3 above 10k nodes)")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args(argv)
    info = machine(["numpy"])
    report = run(args.sizes, args.repeats)
    report["machine"] = info
    print_report(info, tables(report), targets(report), markdown=args.markdown)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)

if __name__ == "__main__":
    main()
