"""Verification of an ONNX source (issue 10): the original ONNX file in onnxruntime is the
reference; graphir's import of it is emitted and checked four ways.

=================== ============== =================================================
run                 runtime        what
=================== ============== =================================================
``onnx-reference``  onnxruntime    the original ``.onnx`` file (external data loaded)
``keras-emitted``   TensorFlow     ``to_keras(graph)`` saved as ``.keras``, loaded back
                                   with ``safe_mode=True``
``onnx``            onnxruntime    ``to_onnx(graph)``, the re-emitted ONNX
``interpreter``     NumPy          the imported graph in graphir's reference interpreter
=================== ============== =================================================

``graph`` is ``cancel_transposes(from_onnx(model))``, what ``graphir convert`` writes.
Every candidate is compared with the reference on every input case, under the same
tolerance policy, sensitivity precondition and case plan as a Keras source
(:func:`graphir.backends.verification.compare_models`): the inputs are drawn from the
imported graph's input types, so symbolic dims run at two sizes (one odd) and the
batch at two sizes.  An importer fault shows in all three candidates, an emitter fault
in one (the report's comparisons say which).  Softmax/sigmoid outputs are also compared
on their logits, the input of the squashing node in the original ONNX against that in
the re-emitted ONNX (primary case, output ``NAME:logits``).  The first-divergence
search (``--localize``) needs a Keras reference and is not run for an ONNX source.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from graphir.ir import Graph
from graphir.report import VerificationReport

__all__ = ["REFERENCE_ONNX", "compare_onnx_source", "import_onnx_source", "onnx_logits",
           "verify_onnx_file"]

#: the reference run's name in reports
REFERENCE_ONNX = "onnx-reference"

#: ONNX ops whose input is compared as the output's logits
_SQUASHING = ("Softmax", "Sigmoid", "LogSoftmax")


def import_onnx_source(path: str | Path):
    """Read an ``.onnx`` file safely and import it as graphir's converter does.

    Returns:
        ``(model_bytes, graph)``: the original model serialized with its external
        data inlined (what the reference session runs), and
        ``cancel_transposes(from_onnx(model))``.

    Raises:
        ModelFileError, UnsafeModelError, ResourceLimitError: the file is refused
            (:func:`graphir.backends.onnx.safe_load.load_onnx_file`).
        OnnxImportError: an op, attribute or dim the importer cannot convert.
        BadInputError: the model with its data inlined exceeds protobuf's 2 GiB.
    """
    from graphir.backends.onnx import importer
    from graphir.backends.onnx.safe_load import load_onnx_file
    from graphir.errors import BadInputError
    from graphir.passes import cancel_transposes

    model = load_onnx_file(path)
    if model.ByteSize() >= 2 ** 31 - 1:
        raise BadInputError("the model with its external data is over protobuf's 2 GiB "
                            "limit: onnxruntime cannot run it from memory for verification",
                            where=f"file {path}")
    model_bytes = model.SerializeToString()
    graph = cancel_transposes(importer.from_onnx(model))
    return model_bytes, graph


def compare_onnx_source(graph: Graph, model_bytes: bytes, *, keras_candidate=None,
                        onnx_bytes: bytes | None = None, interpreter_graph: Graph | None = None,
                        device: str = "auto", model_name: str | None = None,
                        stats: dict | None = None, rtol: float | None = None,
                        atol: float | None = None, tolerances: dict | None = None,
                        nan_equal: bool = False, **options: Any) -> VerificationReport:
    """Run the original ONNX (reference) and each given candidate case by case; compare.

    Args:
        graph: the imported graph: its inputs' names and types give the seeded inputs
            (symbolic dims free), its outputs' names the outputs compared; the
            reference's inputs and outputs are matched to these names
            (:func:`graphir.backends.matching.match_names`: the importer keeps them, so
            the match is ``exact``).
        model_bytes: the original ONNX model, serialized with its data inlined.
        keras_candidate: an emitted ``keras.Model`` (inputs in ``graph.inputs`` order,
            outputs in ``graph.outputs`` order), or None.
        onnx_bytes: a re-emitted ONNX model, or None.
        interpreter_graph: a graph to run in the reference interpreter (the imported
            graph, or a ``.gir`` written from it), or None.
        device: ``auto``/``cpu``/``gpu`` for both onnxruntime and TF.
        model_name: the report's model name (default ``graph.name``).
        stats: extra numbers for the report's ``stats``.
        rtol, atol, tolerances, nan_equal, options: as
            :func:`graphir.backends.verification.compare_models` (``batch``, ``seed``,
            ``input_ranges``, ``inputs``, ``inputs_source``, ``several_shapes``,
            ``sensitivity``, ``save_dir``).

    Returns:
        the :class:`VerificationReport` (``runs`` name ``onnx-reference`` and each
        candidate; ``comparisons`` one per case x candidate x output, plus the logits).

    Raises:
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU in a runtime.
        ReferenceRunError: onnxruntime fails on the original model.
        BadInputError: names that cannot be matched; bad ``tolerances``/``input_ranges``.
    """
    from graphir.backends.matching import interpreter_runner, keras_runner, onnx_runner
    from graphir.backends.runtimes import tf_device
    from graphir.backends.verification import compare_models

    name = model_name or graph.name
    in_names = [v.name for v in graph.inputs]
    out_names = list(graph.outputs)
    reference = onnx_runner(model_bytes, name=REFERENCE_ONNX, reference_inputs=in_names,
                            reference_outputs=out_names, device=device,
                            where=f"file {name}")
    candidates = []
    if keras_candidate is not None:
        candidates.append(keras_runner(keras_candidate, in_names, name="keras-emitted",
                                       device=tf_device(device)))
    if onnx_bytes is not None:
        candidates.append(onnx_runner(onnx_bytes, name="onnx", reference_inputs=in_names,
                                      reference_outputs=out_names, device=device,
                                      where=f"the ONNX emitted from {name}"))
    if interpreter_graph is not None:
        candidates.append(interpreter_runner(interpreter_graph))
    kept: dict = {}
    report = compare_models(graph, reference, candidates, device=device, model_name=name,
                            stats=stats, output_names=out_names, rtol=rtol, atol=atol,
                            tolerances=tolerances, nan_equal=nan_equal, keep_feeds=kept,
                            **options)
    if onnx_bytes is not None and "primary" in kept:
        report = _with_onnx_logits(report, model_bytes, onnx_bytes, out_names,
                                   kept["primary"][1], rtol, atol, dict(tolerances or {}),
                                   nan_equal)
    return report


def onnx_logits(model_bytes: bytes, outputs: list[str], feeds: dict[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
    """The logits of every ``outputs`` name a ``Softmax``/``Sigmoid``/``LogSoftmax`` node
    produces: that node's input, computed by onnxruntime (CPU) on ``feeds`` (the
    model's own input names).  Outputs produced otherwise are left out."""
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load_from_string(model_bytes)
    producer = {o: n for n in model.graph.node for o in n.output}
    wanted = {out: producer[out].input[0] for out in outputs
              if out in producer and producer[out].op_type in _SQUASHING
              and producer[out].domain in ("", "ai.onnx")}
    existing = {o.name for o in model.graph.output}
    wanted = {k: v for k, v in wanted.items() if v not in existing or v == k}
    if not wanted:
        return {}
    for logits in wanted.values():
        if logits not in existing:
            model.graph.output.append(helper.make_empty_tensor_value_info(logits))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    got = session.run(list(wanted.values()), {k: v for k, v in feeds.items() if k in names})
    return {out: np.asarray(a) for out, a in zip(wanted, got)}


def _with_onnx_logits(report: VerificationReport, model_bytes: bytes, onnx_bytes: bytes,
                      out_names: list[str], feeds: dict, rtol, atol, tolerances: dict,
                      nan_equal: bool) -> VerificationReport:
    """``report`` plus one ``OUTPUT:logits`` comparison (primary case, reference vs the
    re-emitted ONNX) per squashed output both models let graphir reach."""
    from graphir.backends.verification import _compare_outputs

    ref = onnx_logits(model_bytes, out_names, feeds)
    cand = onnx_logits(onnx_bytes, out_names, feeds)
    extra = []
    for out in out_names:
        if out in ref and out in cand:
            key = f"{out}:logits"
            extra.extend(_compare_outputs([key], [ref[out]], [cand[out]], REFERENCE_ONNX, "onnx",
                                          "primary", rtol, atol,
                                          {key: tolerances[out]} if out in tolerances else {},
                                          nan_equal))
    if not extra:
        return report
    return attrs.evolve(report, comparisons=report.comparisons + tuple(extra))


def verify_onnx_file(source: str | Path, *, device: str = "auto", opset: int | None = None,
                     inputs: str | Path | None = None, save_dir: str | Path | None = None,
                     localize: str = "auto", localize_budget: float = 60.0,
                     **options: Any) -> VerificationReport:
    """Import ``source``, emit it as Keras and ONNX, and compare onnxruntime on the
    original with TF on the emitted Keras, onnxruntime on the re-emitted ONNX and the
    reference interpreter on the imported graph (module docstring).

    Args:
        source: an ``.onnx`` file.
        device: ``auto`` (GPU where present), ``cpu`` or ``gpu``.
        opset: ONNX opset of the re-emission (the emitter's default when None).
        inputs: an ``.npz`` of arrays by input name for the primary case
            (:func:`graphir.backends.verification.load_inputs`).
        save_dir: keep every case's inputs, every run's outputs and ``report.json``.
        localize, localize_budget: accepted for the CLI's sake; the first-divergence
            search needs a Keras reference and is not run (``localization`` is null).
        options: ``batch``, ``seed``, ``rtol``, ``atol``, ``tolerances``,
            ``nan_equal``, ``input_ranges``, ``several_shapes``, ``sensitivity``
            (see :func:`graphir.backends.verification.compare_runs`).

    Returns:
        the report; ``stats`` has ``nodes``, ``ops``, ``parameters``, ``import_s``,
        ``emit_keras_s``, ``emit_onnx_s``, ``onnx_transposes``.

    Raises:
        ModelFileError, UnsafeModelError, ResourceLimitError, OnnxImportError: the file
            cannot be read or imported.
        EmissionError, UnsupportedOpError: the graph cannot be emitted.
        ReferenceRunError, DeviceUnavailableError, BadInputError: as
            :func:`compare_onnx_source`; a bad ``inputs`` file.
    """
    from graphir.backends.keras import to_keras
    from graphir.backends.onnx import to_onnx_bytes
    from graphir.backends.verification import graph_stats, load_inputs, reload_keras, save_report

    del localize, localize_budget
    t0 = time.perf_counter()
    model_bytes, graph = import_onnx_source(source)
    t1 = time.perf_counter()
    emitted = to_keras(graph)
    t2 = time.perf_counter()
    onnx_bytes = to_onnx_bytes(graph) if opset is None else to_onnx_bytes(graph, opset=opset)
    t3 = time.perf_counter()
    stats = graph_stats(graph)
    stats.update(import_s=t1 - t0, emit_keras_s=t2 - t1, emit_onnx_s=t3 - t2,
                 onnx_transposes=_count_transposes(onnx_bytes))
    with tempfile.TemporaryDirectory(prefix="graphir-verify-") as tmp:
        reloaded = reload_keras(emitted, tmp)
        report = compare_onnx_source(
            graph, model_bytes, keras_candidate=reloaded, onnx_bytes=onnx_bytes,
            interpreter_graph=graph, device=device, model_name=str(source), stats=stats,
            inputs=None if inputs is None else load_inputs(inputs, graph),
            inputs_source=str(inputs) if inputs is not None else "seeded",
            save_dir=save_dir, **options)
    if save_dir is not None:
        save_report(report, save_dir)
    return report


def _count_transposes(onnx_bytes: bytes) -> int:
    import onnx

    return sum(1 for n in onnx.load_from_string(onnx_bytes).graph.node if n.op_type == "Transpose")
