"""Cross-runtime verification: the original Keras model (TensorFlow) is the reference;
the emitted Keras model (reloaded from ``.keras`` with ``safe_mode=True``) and the
emitted ONNX model (onnxruntime) are the candidates.  All runs get the same seeded
inputs (:func:`graphir.inputs.make_inputs`; unknown non-batch dims take the size
:func:`graphir.inputs.fit_dim` finds the graph's type rules accept, reported as
``unknown_dim``) and every output pair is compared under :mod:`graphir.tolerance`.
A reference run that fails raises :class:`~graphir.errors.ReferenceRunError`.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from graphir.errors import ReferenceRunError
from graphir.inputs import fit_dim, has_free_dims, make_inputs
from graphir.ir import Graph
from graphir.report import Comparison, InputInfo, RuntimeInfo, VerificationReport
from graphir.tolerance import compare_arrays

__all__ = ["verify", "compare_runs", "reload_keras"]

REFERENCE = "keras"


def reload_keras(model, folder: str | Path, name: str = "emitted"):
    """Save ``model`` as ``.keras`` in ``folder`` and load it back with ``safe_mode=True``."""
    import keras

    from graphir.backends.keras import save_keras

    path = Path(folder) / f"{name}.keras"
    save_keras(model, path)
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def compare_runs(graph: Graph, original, *, keras_candidate=None, onnx_bytes: bytes | None = None,
                 device: str = "auto", batch: int = 2, seed: int = 0, rtol: float | None = None,
                 atol: float | None = None, model_name: str | None = None,
                 stats: dict | None = None) -> VerificationReport:
    """Run ``original`` and each given candidate on the same seeded inputs and compare.

    Args:
        graph: the lowered graph (gives input names, order and types for the inputs).
        original: the reference ``keras.Model``.
        keras_candidate: an emitted ``keras.Model`` to compare, or None.
        onnx_bytes: a serialized emitted ONNX model to compare, or None.
        device: ``auto``/``cpu``/``gpu`` (see :mod:`graphir.backends.runtimes`).
        batch, seed: the inputs' batch size and seed.
        rtol, atol: override the per-dtype default tolerances.

    The inputs' unknown dims after axis 0 take :func:`graphir.inputs.fit_dim`'s size
    (the report's ``unknown_dim``; the concrete shapes are its ``inputs``).

    Raises:
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU.
        ReferenceRunError: ``original`` itself fails on the seeded inputs (names the
            model and the input shapes).
    """
    from graphir.backends.runtimes import OnnxSession, run_keras, tf_device

    unknown_dim = fit_dim(graph) if has_free_dims(graph) else None
    feeds = make_inputs(graph, batch=batch, seed=seed, default_dim=unknown_dim)
    ordered = [feeds[v.name] for v in graph.inputs]
    inputs = tuple(InputInfo(k, a.dtype.name, a.shape) for k, a in feeds.items())
    tfdev = tf_device(device)
    session = OnnxSession(onnx_bytes, requested=device) if onnx_bytes is not None else None
    ref, ref_info = _run_reference(original, ordered, tfdev, model_name or graph.name, feeds)
    runs: list[RuntimeInfo] = [ref_info]
    candidates: list[tuple[str, Sequence[np.ndarray]]] = []
    if keras_candidate is not None:
        outs, info = run_keras(keras_candidate, ordered, device=tfdev, name="keras-emitted")
        runs.append(info)
        candidates.append(("keras-emitted", outs))
    if session is not None:
        outs, info = session.run(feeds)
        runs.append(info)
        candidates.append(("onnx", outs))
    comparisons = []
    for cand_name, outs in candidates:
        for i, out_name in enumerate(graph.outputs):
            if i >= len(outs) or i >= len(ref):
                comparisons.append(Comparison(REFERENCE, cand_name, out_name, float("nan"),
                                              float("nan"), False, 0.0, 0.0, 0,
                                              "output missing"))
                continue
            c = compare_arrays(ref[i], outs[i], rtol=rtol, atol=atol)
            comparisons.append(Comparison(REFERENCE, cand_name, out_name, c.max_abs_err,
                                          c.max_rel_err, c.passed, c.tolerance.rtol,
                                          c.tolerance.atol, c.mismatches, c.reason))
    return VerificationReport(model_name or graph.name, device, tuple(runs), tuple(comparisons),
                              batch, seed, dict(stats or {}), inputs, unknown_dim)


def _run_reference(original, ordered, tfdev: str, model: str, feeds: dict[str, np.ndarray]):
    """Run the reference model; its failure becomes a :class:`ReferenceRunError`.

    Only the errors a model raises on inputs it cannot take are translated (TF's
    ``OpError`` family, e.g. ``InvalidArgumentError``, and Keras' ``ValueError``);
    anything else is a bug and propagates unchanged.
    """
    import tensorflow as tf

    from graphir.backends.runtimes import run_keras

    try:
        return run_keras(original, ordered, device=tfdev, name=REFERENCE)
    except (tf.errors.OpError, ValueError) as e:
        raise ReferenceRunError(model, {k: a.shape for k, a in feeds.items()},
                                f"{type(e).__name__}: {_one_line(str(e))}") from e


def _one_line(message: str, limit: int = 300) -> str:
    """A TF/Keras error message on one line: ANSI colours, ``{{function_node ...}}``
    prefixes and Keras' "Arguments received by" appendix dropped, capped at ``limit``."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", message)
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    lines = []
    for line in text.splitlines():
        if line.strip().startswith("Arguments received by"):
            break
        if line.strip():
            lines.append(line.strip().rstrip(".:"))
    out = ": ".join(lines)
    return out if len(out) <= limit else out[:limit - 3] + "..."


def verify(source: Any, *, device: str = "auto", batch: int = 2, seed: int = 0,
           rtol: float | None = None, atol: float | None = None, opset: int | None = None
           ) -> VerificationReport:
    """Lower ``source``, emit it as Keras and ONNX, run all three and compare every output.

    Args:
        source: a ``keras.Model`` or a path to a ``.keras`` file.
        device: ``auto`` (GPU where present), ``cpu`` or ``gpu``.
        batch: rows in the seeded inputs (>= 2 by default, to exercise the batch axis).
        seed: seed of the inputs.
        rtol, atol: override the tolerance policy's per-dtype defaults.
        opset: ONNX opset for emission (the emitter's default when None).

    Returns:
        a :class:`VerificationReport`; ``report.passed`` says whether all matched.
        ``report.stats`` has ``ops``, ``nodes``, ``parameters`` and ``lower_s``,
        ``emit_keras_s``, ``emit_onnx_s`` (seconds).

    Raises:
        ModelFileError, UnsupportedLayerError: the source cannot be lowered.
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU.
        ReferenceRunError: the original model fails on the seeded inputs.
    """
    from graphir.backends.keras import from_keras, load_keras_model, to_keras
    from graphir.backends.onnx import count_ops, to_onnx

    name = str(source) if isinstance(source, (str, Path)) else None
    original = load_keras_model(source) if isinstance(source, (str, Path)) else source
    t0 = time.perf_counter()
    graph = from_keras(source)
    t1 = time.perf_counter()
    emitted = to_keras(graph)
    t2 = time.perf_counter()
    onnx_model = to_onnx(graph) if opset is None else to_onnx(graph, opset=opset)
    t3 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="graphir-verify-") as tmp:
        reloaded = reload_keras(emitted, tmp)
        stats = graph_stats(graph)
        stats.update(lower_s=t1 - t0, emit_keras_s=t2 - t1, emit_onnx_s=t3 - t2,
                     onnx_transposes=count_ops(onnx_model).get("Transpose", 0))
        return compare_runs(graph, original, keras_candidate=reloaded,
                            onnx_bytes=onnx_model.SerializeToString(), device=device,
                            batch=batch, seed=seed, rtol=rtol, atol=atol,
                            model_name=name or graph.name, stats=stats)


def graph_stats(graph: Graph) -> dict:
    """Counts for reports: ``nodes``, ``ops`` (op -> count, sorted), ``parameters``."""
    ops: dict[str, int] = {}
    for n in graph.nodes:
        ops[n.op] = ops.get(n.op, 0) + 1
    return {"nodes": len(graph.nodes), "ops": dict(sorted(ops.items())),
            "parameters": graph.parameter_count()}
