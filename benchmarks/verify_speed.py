"""Verification cost: time and peak memory of ``compare_runs`` on ResNet50, with and without
the first-divergence search (``--localize``), against the cost of the runs themselves.

Run: ``make bench-verify`` (or ``.venv/bin/python benchmarks/verify_speed.py [--models
ResNet50] [--size 224] [--json out.json]``).

In ONE process, per model (``keras.applications``, ``weights=None``, seeded, batch-norm
statistics calibrated as in ``graphir demo``): lower, emit Keras and ONNX once, then

* anchor: one forward pass of the Keras model in TF and one ``InferenceSession.run`` of
  the emitted ONNX on the primary inputs (batch 2), session creation included - the
  least any cross-runtime check must spend;
* ``verify``: ``compare_runs`` with ``localize="never"`` (3 input cases, 3 runtimes,
  sensitivity check, statistics);
* ``verify --localize``: the same with ``localize="always"`` (every comparable layer
  value of the clean model compared, chunk by chunk);
* Polygraphy's layerwise comparison where it applies (two onnxruntime runners of the
  emitted ONNX, ``--onnx-outputs mark all``, ``compare_accuracy``: it has no
  layerwise Keras runner) when Polygraphy is installed (``pip install .[bench]``);
  reported as "not installed" otherwise.

Each is timed once (wall clock) with its peak resident memory above the memory before
it (``benchlib.PeakMemory``), and printed as a ratio to the anchor measured in the same
process.  Nothing is asserted: these are measurements, for ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import PeakMemory, machine, print_report


def _measure(fn):
    with PeakMemory() as mem:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds, mem.peak_mb


def bench_model(name: str, size: int) -> list[list]:
    """Rows ``[model, what, seconds, ratio to anchor, peak MiB, note]`` for one model."""
    import keras
    import onnxruntime as ort

    from graphir.backends.demo import calibration_inputs
    from graphir.backends.keras import from_keras, to_keras
    from graphir.backends.keras.randomize import calibrate_statistics
    from graphir.backends.keras.zoo import build_application
    from graphir.backends.onnx import to_onnx_bytes
    from graphir.backends.verification import compare_runs, reload_keras
    from graphir.inputs import make_inputs

    model = build_application(name, input_shape=(size, size, 3), seed=0)
    calibrate_statistics(model, calibration_inputs(model, seed=0))
    graph = from_keras(model)
    onnx_bytes = to_onnx_bytes(graph)
    with tempfile.TemporaryDirectory() as tmp:
        emitted = reload_keras(to_keras(graph), tmp)
    feeds = make_inputs(graph, batch=2, seed=0)
    x = feeds[graph.inputs[0].name]
    model(x, training=False)  # warm-up of TF's kernels (excluded from every timing)

    def anchor():
        model(x, training=False)
        session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
        session.run(None, feeds)

    _, anchor_s, anchor_mb = _measure(anchor)
    rows = [[name, "anchor: 1 TF forward + 1 ORT session and run", f"{anchor_s:.2f}", "1.0x",
             f"{anchor_mb or 0:.0f}", ""]]
    for label, localize in (("verify", "never"), ("verify --localize", "always")):
        report, secs, mb = _measure(lambda loc=localize: compare_runs(
            graph, model, keras_candidate=emitted, onnx_bytes=onnx_bytes, device="cpu",
            localize=loc))
        note = f"status {report.status}"
        if report.localization:
            loc = report.localization
            note += (f"; {loc['compared']}/{loc['comparable']} layer values compared in "
                     f"{loc['seconds']:.1f} s, first divergence: {loc['first_divergent_node']}"
                     f", first value outside tolerance: {loc['first_outside_tolerance']}")
        rows.append([name, label, f"{secs:.2f}", f"{secs / anchor_s:.1f}x", f"{mb or 0:.0f}",
                     note])
    try:
        import polygraphy  # noqa: F401
    except ImportError:
        rows.append([name, "polygraphy layerwise (2 onnxrt runners, mark all)", "-", "-",
                     "-", "not installed"])
    else:
        rows.append(_polygraphy_row(name, onnx_bytes, feeds, anchor_s))
    del keras
    return rows


def _polygraphy_row(name: str, onnx_bytes: bytes, feeds: dict, anchor_s: float) -> list:
    """Polygraphy's layerwise comparison where it applies: two onnxruntime runners of the
    emitted ONNX with every tensor marked as an output (``--onnx-outputs mark all``),
    then ``Comparator.compare_accuracy`` (Polygraphy has no layerwise Keras/TF2 runner,
    so it cannot compare against the Keras model itself)."""
    from polygraphy import constants
    from polygraphy.backend.onnx import BytesFromOnnx, ModifyOutputs, OnnxFromBytes
    from polygraphy.backend.onnxrt import OnnxrtRunner, SessionFromOnnx
    from polygraphy.comparator import Comparator
    from polygraphy.logger import G_LOGGER

    G_LOGGER.module_severity = G_LOGGER.ERROR  # its per-tensor statistics, 250 lines

    def run():
        runners = []
        for tag in ("a", "b"):
            marked = BytesFromOnnx(ModifyOutputs(OnnxFromBytes(onnx_bytes),
                                                 outputs=constants.MARK_ALL))
            runners.append(OnnxrtRunner(SessionFromOnnx(marked,
                                                        providers=["CPUExecutionProvider"]),
                                        name=f"onnxrt-{tag}"))
        results = Comparator.run(runners, data_loader=[feeds])
        return Comparator.compare_accuracy(results), results

    (accuracy, results), secs, mb = _measure(run)
    values = len(next(iter(results.values()))[0]) if results else 0
    return [name, "polygraphy layerwise (2 onnxrt runners, mark all)", f"{secs:.2f}",
            f"{secs / anchor_s:.1f}x", f"{mb or 0:.0f}",
            f"{values} tensors kept per runner; passed={bool(accuracy)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["ResNet50"])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    info = machine(["tensorflow", "keras", "onnxruntime", "onnx", "numpy"])
    rows = [r for name in args.models for r in bench_model(name, args.size)]
    columns = ["model", "what", "seconds", "vs anchor", "peak MiB", "note"]
    print_report(info, [("verification cost (CPU, batch 2, 3 input cases)", columns, rows)],
                 [("measurements only; localization memory is bounded by one chunk of "
                   "16 layer values")], markdown=args.markdown)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "columns": columns, "rows": rows},
                                        indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
