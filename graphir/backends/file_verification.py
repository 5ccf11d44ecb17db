"""Verification of model files against each other (``graphir verify A [--onnx B]``): the
dispatch over the source's and the other model's formats, on top of
:mod:`graphir.backends.verification` (Keras sources, the comparison engine) and
:mod:`graphir.backends.onnx_verification` (ONNX sources), so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from graphir.backends.onnx_verification import verify_onnx_file
from graphir.backends.verification import (REFERENCE, compare_models, load_inputs,
                                           save_report, verify, weigh_conditioning)
from graphir.errors import BadInputError
from graphir.ir import Value
from graphir.report import VerificationReport
from graphir.tensor_types import TensorType

__all__ = ["MODEL_SUFFIXES", "verify_files"]


#: the suffixes ``verify_files`` accepts on either side
MODEL_SUFFIXES = (".keras", ".onnx", ".gir")


def verify_files(source: str | Path, other: str | Path | None = None, *, device: str = "auto",
                 inputs: str | Path | None = None, save_dir: str | Path | None = None,
                 **options: Any) -> VerificationReport:
    """Verify a model file against another, or against what graphir emits from it.

    ========== ================ =====================================================
    source     other            reference vs candidates
    ========== ================ =====================================================
    ``.keras`` None             TF vs emitted Keras and emitted ONNX (:func:`verify`)
    ``.keras`` ``.onnx``        TF vs that ONNX in onnxruntime (names/layouts matched)
    ``.keras`` ``.gir``         TF vs that graph in the reference interpreter
    ``.gir``   None             the reference interpreter vs the graph's emitted ONNX
    ``.onnx``  None             onnxruntime vs graphir's import of it emitted as Keras
                                (TF) and ONNX, and interpreted
                                (:func:`graphir.backends.onnx_verification.verify_onnx_file`)
    ``.gir``   ``.onnx``/.gir   the reference interpreter vs the other model
    ``.onnx``  ``.onnx``/.gir   onnxruntime (``onnx-reference``) vs the other model
    ========== ================ =====================================================

    The other model's inputs and outputs are matched to the reference's by name, with
    tf2onnx's and Keras export's name and layout differences mapped explicitly (see
    :mod:`graphir.backends.matching`); the matches (``stats["matches"]``) and any
    positional match (``stats["warnings"]``) are in the report.  When the other ONNX
    declares a static batch (axis 0), every case runs with that batch.  For a ``.keras``
    source against an ``.onnx``, the first divergent node is searched as in
    :func:`compare_runs` (``localize``, ``localize_budget`` options), the ONNX values
    found by name (:mod:`graphir.backends.localize`).

    Args:
        source, other: model files (suffixes in :data:`MODEL_SUFFIXES`).
        device, inputs, save_dir, options: as :func:`verify` / :func:`compare_runs`.

    Raises:
        BadInputError: a missing file, an unsupported suffix or pairing, names that
            cannot be matched.
        ReferenceRunError, DeviceUnavailableError: see :func:`compare_runs`.
    """
    from graphir.backends import matching

    source = Path(source)
    for path in (source, other):
        if path is None:
            continue
        path = Path(path)
        if path.suffix not in MODEL_SUFFIXES:
            raise BadInputError(f"unsupported model suffix {path.suffix!r} (expected "
                                f"{', '.join(MODEL_SUFFIXES)})", where=f"file {path}")
        if not path.is_file():
            raise BadInputError("no such file", where=f"file {path}")
    if other is None and source.suffix == ".keras":
        return verify(source, device=device, inputs=inputs, save_dir=save_dir, **options)
    localize = options.pop("localize", "auto")
    budget = options.pop("localize_budget", 60.0)
    if other is None and source.suffix == ".onnx":
        return verify_onnx_file(source, device=device, inputs=inputs, save_dir=save_dir,
                                localize=localize, localize_budget=budget, **options)
    name = str(source)
    where = f"file {other if other is not None else source}"
    if source.suffix == ".keras":
        from graphir.backends.keras import from_keras, load_keras_model
        from graphir.backends.runtimes import tf_device

        original = load_keras_model(source)
        graph = from_keras(original, source=name)
        reference = matching.keras_runner(original, [v.name for v in graph.inputs],
                                          name=REFERENCE, device=tf_device(device))
        out_names = list(graph.outputs)
    elif source.suffix == ".gir":
        from graphir.serialization import load

        graph = load(source)
        reference = matching.interpreter_runner(graph)
        out_names = list(graph.outputs)
    else:
        model_bytes = source.read_bytes()
        graph = matching.onnx_input_graph(model_bytes, name)
        reference = matching.onnx_runner(model_bytes, name="onnx-reference",
                                          reference_inputs=[v.name for v in graph.inputs],
                                          reference_outputs=_onnx_outputs(model_bytes),
                                          device=device, where=f"file {source}")
        out_names = _onnx_outputs(model_bytes)
    in_names = [v.name for v in graph.inputs]
    if other is None:  # a .gir source: its emitted ONNX is the candidate
        from graphir.backends.onnx import to_onnx_bytes

        candidate = matching.onnx_runner(to_onnx_bytes(graph), name="onnx",
                                         reference_inputs=in_names, reference_outputs=out_names,
                                         device=device, where=where)
    elif Path(other).suffix == ".onnx":
        candidate = matching.onnx_runner(Path(other).read_bytes(), name="onnx",
                                         reference_inputs=in_names, reference_outputs=out_names,
                                         device=device, where=where)
    else:
        from graphir.serialization import load

        other_graph = load(other)
        candidate = matching.renamed_runner(
            matching.interpreter_runner(other_graph), [v.name for v in other_graph.inputs],
            list(other_graph.outputs), in_names, out_names, where=where)
    fixed = matching.static_batch(candidate)
    if fixed is not None:  # e.g. an ONNX exported with batch 1: every case gets that batch
        graph = attrs.evolve(graph, inputs=tuple(
            Value(v.name, TensorType(v.type.dtype, (fixed, *v.type.shape[1:])))
            for v in graph.inputs))
    arrays = None if inputs is None else load_inputs(inputs, graph)
    kept: dict = {}
    report = compare_models(graph, reference, [candidate], device=device, model_name=name,
                            output_names=out_names, inputs=arrays,
                            inputs_source=str(inputs) if inputs is not None else "seeded",
                            save_dir=save_dir, keep_feeds=kept, **options)
    if source.suffix == ".keras" and not report.compared_ok:
        from graphir.backends.runtimes import tf_device

        report = weigh_conditioning(report, graph, original, kept,
                                    tf_device=tf_device(device), output_names=out_names)
    failed = report.status == "failed"
    if (source.suffix == ".keras" and other is not None and Path(other).suffix == ".onnx"
            and (localize == "always" or (localize == "auto" and failed))):
        from graphir.backends.localize import localize as find_divergence
        from graphir.backends.runtimes import tf_device

        case, feeds = kept.get("failed") or kept["primary"]
        result = find_divergence(graph, original, Path(other).read_bytes(), feeds,
                                 rtol=options.get("rtol"), atol=options.get("atol"),
                                 budget_s=budget, case=case, tf_device=tf_device(device),
                                 onnx_feeds=candidate.prepare(feeds))
        report = attrs.evolve(report, localization=result)
    if save_dir is not None:
        save_report(report, save_dir)
    return report


def _onnx_outputs(model_bytes: bytes) -> list[str]:
    import onnx

    return [o.name for o in onnx.load_from_string(model_bytes).graph.output]
