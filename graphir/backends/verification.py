"""Cross-runtime verification: the original Keras model (TensorFlow) is the reference;
the emitted Keras model (reloaded from ``.keras`` with ``safe_mode=True``) and the
emitted ONNX model (onnxruntime) are the candidates.  All runs get the same inputs,
case by case (:func:`graphir.inputs.plan_cases`: the primary seeded inputs, a second
draw, another batch size and free-dim size), every output pair is compared under
:mod:`graphir.tolerance`, and the reference's outputs are checked for sensitivity to
their input (:mod:`graphir.sensitivity`) before a pass is reported.
A reference run that fails raises :class:`~graphir.errors.ReferenceRunError`.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import attrs
import numpy as np

from graphir.errors import BadInputError, ReferenceRunError
from graphir.inputs import make_inputs, plan_cases, smaller_dim
from graphir.ir import Graph, Value
from graphir.report import CaseInfo, Comparison, InputInfo, RuntimeInfo, VerificationReport
from graphir.sensitivity import Sensitivity, check_sensitivity
from graphir.tensor_types import TensorType
from graphir.tolerance import Tolerance, compare_arrays, tolerance_for

__all__ = ["compare_models", "compare_runs", "comparison_stats", "load_inputs", "reload_keras",
           "save_report", "verify", "weigh_conditioning"]

REFERENCE = "keras"


def reload_keras(model, folder: str | Path, name: str = "emitted"):
    """Save ``model`` as ``.keras`` in ``folder`` and load it back with ``safe_mode=True``."""
    import keras

    from graphir.backends.keras import save_keras

    path = Path(folder) / f"{name}.keras"
    save_keras(model, path)
    return keras.saving.load_model(path, compile=False, safe_mode=True)


def _versions() -> dict[str, str]:
    """``__version__`` of the packages a verification uses (those not importable omitted)."""
    import importlib

    out = {}
    for module in ("tensorflow", "keras", "onnxruntime", "onnx", "numpy"):
        try:
            out[module] = str(importlib.import_module(module).__version__)
        except (ImportError, AttributeError):
            continue
    return out


def _with_shapes(graph: Graph, arrays: dict[str, np.ndarray]) -> Graph:
    """``graph`` with each input's type made the concrete shape of ``arrays[name]``."""
    inputs = tuple(Value(v.name, TensorType(v.type.dtype, tuple(arrays[v.name].shape)))
                   for v in graph.inputs)
    return attrs.evolve(graph, inputs=inputs)


def load_inputs(path: str | Path, graph: Graph) -> dict[str, np.ndarray]:
    """Read user inputs from an ``.npz`` file (arrays by graph input name) and check them.

    Arrays are read with ``allow_pickle=False`` (no code runs).  Each must be present,
    have the input's rank, its static dims, the same row count as the others, and a
    dtype of the input's kind (it is cast to the input's dtype).

    Raises:
        BadInputError: the file is unreadable, an input is missing, an array name is
            not an input, or a shape/dtype does not fit (names the input).
    """
    path = Path(path)
    where = f"file {path}"
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except (OSError, ValueError) as e:
        raise BadInputError(f"cannot read the inputs: {type(e).__name__}: {e}", where=where) from e
    names = [v.name for v in graph.inputs]
    extra = sorted(set(arrays) - set(names))
    missing = [n for n in names if n not in arrays]
    if extra or missing:
        raise BadInputError(f"arrays {extra} are not inputs and inputs {missing} are missing "
                            f"(inputs: {', '.join(names)})", where=where)
    rows = {arrays[n].shape[0] if arrays[n].ndim else None for n in names}
    if len(rows) != 1 or None in rows or 0 in rows:
        raise BadInputError("every array needs the same number of rows (>= 1) on axis 0",
                            where=where)
    out = {}
    for v in graph.inputs:
        a = arrays[v.name]
        want = v.type.dtype.to_numpy()
        if a.ndim != len(v.type.shape) or any(isinstance(d, int) and i > 0 and d != s
                                              for i, (d, s) in
                                              enumerate(zip(v.type.shape, a.shape))):
            raise BadInputError(f"input {v.name!r}: shape {list(a.shape)} does not fit "
                                f"{list(v.type.shape)}", where=where)
        if (a.dtype.kind == "f") != (np.dtype(want).kind == "f") or (
                a.dtype.kind == "b") != (np.dtype(want).kind == "b"):
            raise BadInputError(f"input {v.name!r}: dtype {a.dtype} is not of the kind of "
                                f"{np.dtype(want)}", where=where)
        out[v.name] = a.astype(want)
    return out


def _save_arrays(folder: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    from graphir.atomic import atomic_output

    with atomic_output(folder / f"{name}.npz") as tmp:
        np.savez(tmp, **arrays)


def compare_runs(graph: Graph, original, *, keras_candidate=None, onnx_bytes: bytes | None = None,
                 device: str = "auto", batch: int = 2, seed: int = 0, rtol: float | None = None,
                 atol: float | None = None, model_name: str | None = None,
                 stats: dict | None = None, tolerances: dict | None = None,
                 nan_equal: bool = False, input_ranges: dict | None = None,
                 inputs: dict[str, np.ndarray] | None = None, inputs_source: str = "seeded",
                 several_shapes: bool = True, sensitivity: bool = True,
                 save_dir: str | Path | None = None, localize: str = "auto",
                 localize_budget: float = 60.0) -> VerificationReport:
    """Run ``original`` and each given candidate on the same inputs, case by case, and compare.

    The cases (:func:`graphir.inputs.plan_cases`): the primary inputs, a second draw
    of the same shapes (the sensitivity check's), and, with ``several_shapes``, another
    batch size with the free dims at a second, odd size.  Every candidate output of
    every case is compared with the reference's under :mod:`graphir.tolerance`; the
    reference's outputs on the first two cases are checked for sensitivity
    (:mod:`graphir.sensitivity`).  Softmax/sigmoid outputs of the ONNX candidate are
    also compared on their logits (primary case, output ``"NAME:logits"``).

    Args:
        graph: the lowered graph (gives input names, order and types for the inputs).
        original: the reference ``keras.Model``.
        keras_candidate: an emitted ``keras.Model`` to compare, or None.
        onnx_bytes: a serialized emitted ONNX model to compare, or None.
        device: ``auto``/``cpu``/``gpu`` (see :mod:`graphir.backends.runtimes`).
        batch, seed: the primary inputs' batch size and seed (>= 1, >= 0).
        rtol, atol: override the per-dtype default tolerances.
        tolerances: output name -> ``(rtol, atol)`` for that output (wins over the rest).
        nan_equal: NaN at the same positions compares equal.
        input_ranges: input name -> ``(lo, hi)`` for the seeded draws.
        inputs: user arrays by input name for the primary case (see :func:`load_inputs`).
        inputs_source: where ``inputs`` came from, for the report.
        several_shapes: also run a second batch size and free-dim size.
        sensitivity: check the reference's outputs for sensitivity.
        save_dir: write every case's inputs and every run's outputs there (``.npz``).
        localize: ``"auto"`` (on a failed ONNX comparison), ``"always"`` or ``"never"``:
            search the first divergent node of the ONNX candidate
            (:func:`graphir.backends.localize.localize`, on the first failing case's
            inputs, else the primary's) and put it in ``report.localization``.
        localize_budget: seconds the search may take.

    Raises:
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU.
        ReferenceRunError: ``original`` itself fails on the inputs (names the model
            and the input shapes).
        BadInputError: ``tolerances`` names an output the graph does not have, or
            ``input_ranges`` an input; ``localize`` is not one of the three values.
    """
    from graphir.backends.matching import Runner, keras_runner
    from graphir.backends.runtimes import OnnxSession, tf_device

    tfdev = tf_device(device)
    names = [v.name for v in graph.inputs]
    candidates = []
    if keras_candidate is not None:
        candidates.append(keras_runner(keras_candidate, names, name="keras-emitted",
                                       device=tfdev))
    if onnx_bytes is not None:
        session = OnnxSession(onnx_bytes, requested=device)
        candidates.append(Runner("onnx", lambda feeds: session.run(feeds)))
    if localize not in ("auto", "always", "never"):
        raise BadInputError(f"localize must be auto, always or never, got {localize!r}")
    reference = keras_runner(original, names, name=REFERENCE, device=tfdev)
    kept: dict = {}
    report = compare_models(graph, reference, candidates, device=device, batch=batch, seed=seed,
                            rtol=rtol, atol=atol, model_name=model_name, stats=stats,
                            tolerances=tolerances, nan_equal=nan_equal,
                            input_ranges=input_ranges, inputs=inputs,
                            inputs_source=inputs_source, several_shapes=several_shapes,
                            sensitivity=sensitivity, save_dir=save_dir, keep_feeds=kept)
    if onnx_bytes is not None and "primary" in kept:
        report = _with_logit_comparisons(report, graph, original, onnx_bytes,
                                         kept["primary"][1], tfdev, rtol, atol,
                                         dict(tolerances or {}), nan_equal)
    if not report.compared_ok:
        report = weigh_conditioning(report, graph, original, kept, onnx_bytes=onnx_bytes,
                                    tf_device=tfdev)
    onnx_failed = any(c.candidate == "onnx" and not c.passed for c in report.comparisons)
    if report.status == "ill-conditioned":
        onnx_failed = False  # nothing to search: the reference's own rounding explains it
    if onnx_bytes is not None and (localize == "always" or (localize == "auto" and onnx_failed)):
        from graphir.backends.localize import localize as find_divergence

        case, feeds = kept.get("failed") or kept["primary"]
        result = find_divergence(graph, original, onnx_bytes, feeds, rtol=rtol, atol=atol,
                                 budget_s=localize_budget, case=case, tf_device=tfdev)
        report = attrs.evolve(report, localization=result)
    return report


def weigh_conditioning(report: VerificationReport, graph: Graph, original, kept: dict, *,
                       onnx_bytes: bytes | None = None, tf_device: str = "/CPU:0",
                       output_names: Sequence[str] | None = None) -> VerificationReport:
    """``report`` with its failed comparisons weighed against the Keras reference's own
    float error (:mod:`graphir.conditioning`), in ``report.conditioning``.

    The reference's float64 twin (:func:`graphir.backends.keras.float64.float64_twin`)
    runs on the inputs of every case with a failed comparison (``kept["failed_cases"]``
    from :func:`compare_models`, which also holds the float32 reference outputs); for a
    failed ``NAME:logits`` comparison (primary case), the reference logits are computed
    by the model and by its twin (:func:`graphir.backends.localize.reference_logits`).
    When the twin cannot be built, ``conditioning["measured"]`` is False with the
    ``reason``, and nothing is explained (the verdict stays ``failed``).

    Args:
        report: a report with at least one failed comparison (else returned unchanged).
        graph: the lowered graph (input order, output names, logits targets).
        original: the reference ``keras.Model``.
        kept: the ``keep_feeds`` dict :func:`compare_models` filled.
        onnx_bytes: the ONNX candidate, needed for the logits targets (or None).
        tf_device: the TF device string the reference ran on.
        output_names: the reference's output names (default ``graph.outputs``).

    Returns:
        the report with ``conditioning`` set; its ``status`` is ``"ill-conditioned"``
        when every failure is explained.
    """
    from graphir.backends.keras.float64 import float64_twin
    from graphir.backends.localize import reference_logits
    from graphir.backends.runtimes import run_keras
    from graphir.conditioning import AMPLIFICATION, all_explained, explain_failure

    failed = [c for c in report.comparisons if not c.passed]
    if not failed:
        return report
    out_names = list(output_names if output_names is not None else graph.outputs)
    names = [v.name for v in graph.inputs]
    try:
        twin, reason = float64_twin(original), ""
    except ValueError as e:
        twin, reason = None, str(e)
    cases = kept.get("failed_cases", {})
    twin_outputs: dict[str, list] = {}
    logits: dict[str, tuple[dict, dict]] = {}
    results = []
    for c in failed:
        r32 = r64 = None
        if twin is not None and c.output.endswith(":logits") and onnx_bytes is not None:
            if c.case not in logits and c.case == "primary" and "primary" in kept:
                feeds = kept["primary"][1]
                logits[c.case] = (
                    reference_logits(graph, original, onnx_bytes, feeds, tf_device=tf_device),
                    reference_logits(graph, twin, onnx_bytes, feeds, tf_device=tf_device,
                                     dtype=np.float64))
            base = c.output[:-len(":logits")]
            pair = logits.get(c.case, ({}, {}))
            r32, r64 = pair[0].get(base), pair[1].get(base)
        elif twin is not None and c.case in cases and c.output in out_names:
            feeds, ref = cases[c.case]
            if c.case not in twin_outputs:
                arrays = [feeds[n].astype(np.float64) if feeds[n].dtype.kind == "f"
                          else feeds[n] for n in names]
                twin_outputs[c.case] = run_keras(twin, arrays, device=tf_device,
                                                 name="keras-float64")[0]
            i = out_names.index(c.output)
            if i < len(ref) and i < len(twin_outputs[c.case]):
                r32, r64 = ref[i], twin_outputs[c.case][i]
        results.append(explain_failure(c.candidate, c.output, c.case, c.max_abs_err, r32, r64))
    conditioning = {"measured": twin is not None, "method": "float64-twin",
                    "amplification": AMPLIFICATION, "reason": reason,
                    "explained": all_explained(results),
                    "failures": [r.to_json() for r in results]}
    return attrs.evolve(report, conditioning=conditioning)


def compare_models(graph: Graph, reference, candidates: Sequence, *, device: str = "auto",
                   batch: int = 2, seed: int = 0, rtol: float | None = None,
                   atol: float | None = None, model_name: str | None = None,
                   stats: dict | None = None, tolerances: dict | None = None,
                   nan_equal: bool = False, input_ranges: dict | None = None,
                   inputs: dict[str, np.ndarray] | None = None, inputs_source: str = "seeded",
                   several_shapes: bool = True, sensitivity: bool = True,
                   save_dir: str | Path | None = None,
                   output_names: Sequence[str] | None = None,
                   keep_feeds: dict | None = None) -> VerificationReport:
    """The engine of :func:`compare_runs`, for any reference and candidates.

    Args:
        graph: gives the inputs' names, order and types (for the seeded draws) and,
            unless ``output_names`` is given, the outputs' names.
        reference: a :class:`graphir.backends.matching.Runner`; its failure on an
            input case raises :class:`ReferenceRunError`.
        candidates: runners whose outputs come in the reference's output order; a
            candidate that fails on a case fails that case's comparisons (the reason
            names the error).
        output_names: the reference's output names (default: ``graph.outputs``).
        keep_feeds: when a dict, receives ``"primary"`` -> ``(case, feeds)``,
            ``"failed"`` -> the same for the first case with a failed comparison, and
            ``"failed_cases"`` -> ``{case: (feeds, reference outputs)}`` for every case
            with a failed comparison.
        The other arguments: see :func:`compare_runs`.

    Raises:
        ReferenceRunError, BadInputError: see :func:`compare_runs`.
    """
    from graphir.backends.matching import align_layouts

    model = model_name or graph.name
    out_names = list(output_names if output_names is not None else graph.outputs)
    tolerances = dict(tolerances or {})
    unknown = sorted(set(tolerances) - set(out_names))
    if unknown:
        raise BadInputError(f"--tol names {unknown}, not outputs of the model (outputs: "
                            f"{', '.join(out_names)})", where=f"model {model}")
    base = graph if inputs is None else _with_shapes(graph, inputs)
    rows = batch if inputs is None else int(next(iter(inputs.values())).shape[0])
    cases = plan_cases(base, batch=rows, seed=seed, several_shapes=several_shapes)
    folder = Path(save_dir) if save_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    runs: dict[str, RuntimeInfo] = {}
    comparisons: list[Comparison] = []
    case_infos: list[CaseInfo] = []
    primary_ref: list[np.ndarray] = []
    sens: list[Sensitivity] = []
    def case_feeds(case) -> dict[str, np.ndarray]:
        try:
            if case.name == "primary" and inputs is not None:
                return dict(inputs)
            return make_inputs(base if case.name != "shape-1" or inputs is None else graph,
                               batch=case.batch, seed=case.seed,
                               default_dim=case.unknown_dim, ranges=input_ranges)
        except ValueError as e:
            raise BadInputError(str(e), where=f"model {model}") from e

    for case in cases:
        feeds = case_feeds(case)
        try:
            ref, info = _run_reference(reference, model, feeds)
        except ReferenceRunError:
            # the longer free dims of the shape case may exceed what the model takes (a
            # position table of max_sequence_length rows): a shorter size instead
            shorter = (smaller_dim(base, cases[0].unknown_dim)
                       if case.name == "shape-1" and case.unknown_dim is not None
                       and cases[0].unknown_dim is not None
                       and case.unknown_dim > cases[0].unknown_dim else None)
            if shorter is None:
                raise
            case = attrs.evolve(case, unknown_dim=shorter)
            feeds = case_feeds(case)
            ref, info = _run_reference(reference, model, feeds)
        user = case.name == "primary" and inputs is not None
        rows_fed = next((int(a.shape[0]) for a in feeds.values() if a.ndim), case.batch)
        case_infos.append(CaseInfo(case.name, None if user else case.seed, rows_fed,
                                   case.unknown_dim,
                                   [InputInfo(k, a.dtype.name, a.shape) for k, a in feeds.items()],
                                   inputs_source if user else "seeded"))
        _add_run(runs, info)
        outputs = {reference.name: ref}
        for cand in candidates:
            try:
                outs, info = cand.run(feeds)
            except Exception as e:  # noqa: BLE001 - a candidate's runtime error is a finding
                comparisons.extend(
                    Comparison(reference.name, cand.name, o, float("nan"), float("nan"), False,
                               0.0, 0.0, 0, f"the candidate failed to run: "
                               f"{type(e).__name__}: {_one_line(str(e))}", case.name)
                    for o in out_names)
                continue
            _add_run(runs, info)
            outputs[cand.name] = align_layouts(cand, ref, outs)
        if folder is not None:
            _save_arrays(folder, f"inputs-{case.name}", feeds)
            for run, outs in outputs.items():
                _save_arrays(folder, f"outputs-{run}-{case.name}",
                             {n: o for n, o in zip(out_names, outs)})
        for cand_name, outs in outputs.items():
            if cand_name == reference.name:
                continue
            comparisons.extend(_compare_outputs(out_names, ref, outs, reference.name,
                                                cand_name, case.name, rtol, atol, tolerances,
                                                nan_equal))
        if keep_feeds is not None:
            if case.name == "primary":
                keep_feeds["primary"] = (case.name, feeds)
            if any(not c.passed and c.case == case.name for c in comparisons):
                keep_feeds.setdefault("failed", (case.name, feeds))
                keep_feeds.setdefault("failed_cases", {})[case.name] = (feeds, list(ref))
        if case.name == "primary":
            primary_ref = ref
        elif case.name == "second-draw" and sensitivity:
            for i, out_name in enumerate(out_names):
                if i < len(ref) and i < len(primary_ref):
                    tol = _tolerance(primary_ref[i], out_name, rtol, atol, tolerances)
                    sens.append(check_sensitivity(out_name, primary_ref[i], ref[i],
                                                  batch=rows_fed, tolerance=tol))
            primary_ref = []
    first = case_infos[0]
    matches = [m.to_json() for c in candidates for m in getattr(c, "matches", [])]
    warnings = [w for c in candidates for w in getattr(c, "warnings", [])]
    extra = dict(stats or {})
    if matches:
        extra["matches"] = matches
    if warnings:
        extra["warnings"] = warnings
    return VerificationReport(model, device, tuple(runs.values()), tuple(comparisons),
                              first.batch, seed, extra, first.inputs,
                              first.unknown_dim, cases=case_infos, sensitivity=sens,
                              versions=_versions(),
                              tolerances={k: {"rtol": r, "atol": a}
                                          for k, (r, a) in tolerances.items()})


def _with_logit_comparisons(report: VerificationReport, graph: Graph, original,
                            onnx_bytes: bytes, feeds: dict, tfdev: str, rtol, atol,
                            tolerances: dict, nan_equal: bool) -> VerificationReport:
    """``report`` plus one comparison per softmax/sigmoid output's logits (primary
    case, ONNX candidate), named ``"OUTPUT:logits"``
    (:func:`graphir.backends.localize.logit_pairs`); per-output tolerances of
    ``OUTPUT`` apply to its logits."""
    from graphir.backends.localize import logit_pairs

    extra = []
    for out, ref, cand in logit_pairs(graph, original, onnx_bytes, feeds, tf_device=tfdev):
        extra.extend(_compare_outputs([f"{out}:logits"], [ref], [cand], REFERENCE, "onnx",
                                      "primary", rtol, atol,
                                      {f"{out}:logits": tolerances[out]} if out in tolerances
                                      else {}, nan_equal))
    if not extra:
        return report
    return attrs.evolve(report, comparisons=report.comparisons + tuple(extra))


def _add_run(runs: dict[str, RuntimeInfo], info: RuntimeInfo) -> None:
    """Keep one RuntimeInfo per run name, its seconds summed over the cases."""
    old = runs.get(info.name)
    runs[info.name] = info if old is None else attrs.evolve(old, seconds=old.seconds + info.seconds)


def _tolerance(reference: np.ndarray, output: str, rtol, atol, tolerances: dict) -> Tolerance:
    if output in tolerances:
        r, a = tolerances[output]
        return tolerance_for(np.asarray(reference).dtype, rtol=r, atol=a)
    return tolerance_for(np.asarray(reference).dtype, rtol=rtol, atol=atol)


def _compare_outputs(out_names: Sequence[str], ref: Sequence[np.ndarray],
                     outs: Sequence[np.ndarray], ref_name: str, cand_name: str, case: str,
                     rtol, atol, tolerances: dict, nan_equal: bool) -> list[Comparison]:
    """One :class:`Comparison` per output of one candidate on one case."""
    result = []
    for i, out_name in enumerate(out_names):
        if i >= len(outs) or i >= len(ref):
            result.append(Comparison(ref_name, cand_name, out_name, float("nan"), float("nan"),
                                     False, 0.0, 0.0, 0, "output missing", case))
            continue
        tol = _tolerance(ref[i], out_name, rtol, atol, tolerances)
        c = compare_arrays(ref[i], outs[i], tolerance=tol, nan_equal=nan_equal)
        result.append(Comparison(ref_name, cand_name, out_name, c.max_abs_err, c.max_rel_err,
                                 c.passed, c.tolerance.rtol, c.tolerance.atol, c.mismatches,
                                 c.reason, case, comparison_stats(c)))
    return result


def comparison_stats(c) -> dict:
    """The statistics of an :class:`~graphir.tolerance.ArrayComparison` beyond the
    ``Comparison`` fields, for the report."""
    return {"atol_scale": c.tolerance.atol_scale, "scale": c.scale,
            "mean_abs_err": c.mean_abs_err, "median_abs_err": c.median_abs_err,
            "p99_abs_err": c.p99_abs_err, "mean_rel_err": c.mean_rel_err,
            "median_rel_err": c.median_rel_err, "p99_rel_err": c.p99_rel_err,
            "worst_index": c.worst_index, "min_rtol": c.min_rtol, "min_atol": c.min_atol,
            "size": c.size}


def _run_reference(reference, model: str, feeds: dict[str, np.ndarray]):
    """Run the reference runner; its failure becomes a :class:`ReferenceRunError`.

    Only the errors a model raises on inputs it cannot take are translated (TF's
    ``OpError`` family, e.g. ``InvalidArgumentError``, and Keras' ``ValueError``;
    onnxruntime's errors, which derive from ``RuntimeError``; the interpreter's
    ``ValueError``); anything else is a bug and propagates unchanged.
    """
    errors: tuple[type, ...] = (ValueError,)
    if reference.name == REFERENCE:
        import tensorflow as tf

        errors += (tf.errors.OpError,)
    else:
        errors += (RuntimeError,)
    try:
        return reference.run(feeds)
    except errors as e:
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
           rtol: float | None = None, atol: float | None = None, opset: int | None = None,
           tolerances: dict | None = None, nan_equal: bool = False,
           input_ranges: dict | None = None, inputs: str | Path | None = None,
           several_shapes: bool = True, sensitivity: bool = True,
           save_dir: str | Path | None = None, localize: str = "auto",
           localize_budget: float = 60.0) -> VerificationReport:
    """Lower ``source``, emit it as Keras and ONNX, run all three and compare every output.

    Args:
        source: a ``keras.Model`` or a path to a ``.keras`` file.
        device: ``auto`` (GPU where present), ``cpu`` or ``gpu``.
        batch: rows in the seeded inputs (>= 2 by default, to exercise the batch axis).
        seed: seed of the inputs.
        rtol, atol: override the tolerance policy's per-dtype defaults.
        opset: ONNX opset for emission (the emitter's default when None).
        tolerances, nan_equal, input_ranges, several_shapes, sensitivity, save_dir,
        localize, localize_budget:
            see :func:`compare_runs`; with ``save_dir`` the report is written there
            too, as ``report.json``.
        inputs: an ``.npz`` file of arrays by input name for the primary case
            (:func:`load_inputs`).

    Returns:
        a :class:`VerificationReport`; ``report.passed`` says whether all matched.
        ``report.stats`` has ``ops``, ``nodes``, ``parameters`` and ``lower_s``,
        ``emit_keras_s``, ``emit_onnx_s`` (seconds).

    Raises:
        ModelFileError, UnsupportedLayerError: the source cannot be lowered.
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU.
        ReferenceRunError: the original model fails on the seeded inputs.
        BadInputError: bad ``inputs`` file, ``tolerances`` or ``input_ranges``.
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
        report = compare_runs(graph, original, keras_candidate=reloaded,
                              onnx_bytes=onnx_model.SerializeToString(), device=device,
                              batch=batch, seed=seed, rtol=rtol, atol=atol,
                              model_name=name or graph.name, stats=stats,
                              tolerances=tolerances, nan_equal=nan_equal,
                              input_ranges=input_ranges,
                              inputs=None if inputs is None else load_inputs(inputs, graph),
                              inputs_source=str(inputs) if inputs is not None else "seeded",
                              several_shapes=several_shapes, sensitivity=sensitivity,
                              save_dir=save_dir, localize=localize,
                              localize_budget=localize_budget)
    if save_dir is not None:
        save_report(report, save_dir)
    return report


def save_report(report: VerificationReport, folder: str | Path) -> Path:
    """Write ``report.to_json()`` to ``folder/report.json`` (atomically); return the path."""
    import json

    from graphir.atomic import atomic_output

    path = Path(folder) / "report.json"
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True, default=str))
    return path


def graph_stats(graph: Graph) -> dict:
    """Counts for reports: ``nodes``, ``ops`` (op -> count, sorted), ``parameters``."""
    ops: dict[str, int] = {}
    for n in graph.nodes:
        ops[n.op] = ops.get(n.op, 0) + 1
    return {"nodes": len(graph.nodes), "ops": dict(sorted(ops.items())),
            "parameters": graph.parameter_count()}
