"""The verification policy on every ``keras.applications`` model: does the tolerance pass
every clean conversion, and is every reference sensitive?

Run: ``.venv/bin/python benchmarks/verify_applications.py [--models ResNet50 VGG16 ...]
[--size 64] [--json out.json] [--no-calibrate]`` (``make bench-verify-apps``); ``--size``
raises the input size of the models whose minimum is below it.

Per constructor of ``keras.applications`` (its upper-case callables, 40 in Keras 3.15),
one at a time in ONE process (the session is cleared between models):

* build it: ``build_application(name, input_shape=(s, s, 3),
  seed=0)`` (``weights=None``, the default softmax head, seeded random statistics), at
  the smallest size ``s`` it accepts (32; 75 for the Inceptions, 71 for Xception);
* *uncalibrated* sensitivity: the reference on two seeded standard-normal draws
  (batch 2) checked by :func:`graphir.sensitivity.check_sensitivity` under the
  float32 default tolerance, before anything else - what ``graphir verify`` would
  say of the model as built;
* :func:`graphir.backends.keras.zoo.calibrate_application` unless ``--no-calibrate``:
  batch-norm statistics calibrated on a seeded standard-normal batch of 32 images
  (seed 1000, never a verified input) and the classifier head standardized so its
  logits vary by ~1 (VGG's random logits are ~1e-4); when the calibrated model's float
  error against its float64 twin is above 1e-5 of the logits' scale, its residual
  branches are damped and it is calibrated again (the row shows both errors and the
  number of branches damped);
* lower, emit Keras (saved and reloaded) and ONNX, and run
  :func:`graphir.backends.verification.compare_runs` exactly as ``graphir verify
  --device cpu`` does: default tolerance policy, 3 input cases (primary batch 2,
  second draw, batch 1), sensitivity check on, softmax outputs also compared on their
  logits, no localization.

Printed per model: the status (``passed`` / ``failed`` / ``insensitive`` / ``error``),
the uncalibrated and the final sensitivity (the smallest row and draw spread,
``max |a - b| / max |a|``), and the worst error over all comparisons as two
headrooms: ``abs/S`` = max |c - r| / max |r| (the policy's scale term is 1e-4; an
element above it can still pass by its ``rtol * |r|`` term) and
``min_rtol`` = the smallest rtol that would have passed at the applied absolute terms
(the policy's rtol is 1e-3); and the *noise floor*: how far a 1e-7 relative change
of the input moves TensorFlow's own logits, relative to their scale (a reference whose
noise floor is near 1e-4 is ill-conditioned: float32 rounding decides its output, and
two runtimes cannot agree within any meaningful tolerance).  Nothing is asserted: a failure is printed with its reason
and the script exits 1 when any model did not pass.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time

import numpy as np

#: smallest accepted height/width (``obtain_input_shape``'s ``min_size``); 32 otherwise
MIN_SIZE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}


def application_names() -> list[str]:
    """Every constructor of ``keras.applications``, sorted."""
    import keras

    return sorted(n for n in dir(keras.applications)
                  if n[:1].isupper() and callable(getattr(keras.applications, n)))


def _sensitivity_of(model, seed: int, input_range) -> dict:
    """Row/draw spreads and verdict of ``model``'s outputs on two seeded draws (standard
    normal, or uniform in ``input_range``)."""
    from graphir.sensitivity import check_sensitivity
    from graphir.tolerance import tolerance_for

    shape = (2,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    def draw(s):
        rng = np.random.default_rng(s)
        x = rng.standard_normal(shape) if input_range is None else rng.uniform(*input_range,
                                                                               shape)
        return x.astype(np.float32)

    outs = [np.asarray(model(draw(s), training=False)) for s in (seed, seed + 1)]
    sens = check_sensitivity("output", outs[0], outs[1], batch=2,
                             tolerance=tolerance_for(outs[0].dtype))
    return {"sensitive": sens.sensitive, "row_spread": sens.row_spread,
            "draw_spread": sens.draw_spread, "reason": sens.reason}


def _noise_floor(model, seed: int, input_range) -> float:
    """``max |y(x (1 + 1e-7)) - y(x)| / max |y(x)|`` of the logits (the head Dense's
    output without its activation; the model output when the head is not a Dense), in
    TensorFlow alone: how far float32 rounding of the input alone moves the reference.
    Above the tolerance's scale term (1e-4) the reference is ill-conditioned and no
    runtime can be held to it."""
    import keras

    shape = (2,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) if input_range is None
         else rng.uniform(*input_range, shape)).astype(np.float32)
    head = model.outputs[0]._keras_history.operation
    if isinstance(head, keras.layers.Dense):
        sub = keras.Model(model.inputs[0], head.input)
        kernel = np.asarray(head.kernel, np.float64)
        a, b = (np.asarray(sub(v, training=False), np.float64) @ kernel
                for v in (x, x * np.float32(1 + 1e-7)))
    else:
        a, b = (np.asarray(model(v, training=False), np.float64)
                for v in (x, x * np.float32(1 + 1e-7)))
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))


def verify_application(name: str, *, calibrate: bool = True, seed: int = 0,
                       size: int | None = None) -> dict:
    """Build, calibrate, lower, emit and verify one application (see the module);
    ``size`` overrides the input size when it is above the model's minimum."""
    import keras

    from graphir.backends.keras import from_keras, to_keras
    from graphir.backends.keras.zoo import (application_input_range, build_application,
                                           calibrate_application)
    from graphir.backends.onnx import to_onnx_bytes
    from graphir.backends.verification import compare_runs, reload_keras

    start = time.perf_counter()
    size = max(MIN_SIZE.get(name, 32), size or 0)
    model = build_application(name, input_shape=(size, size, 3), seed=seed)
    input_range = application_input_range(name)
    row = {"model": name, "size": size, "params": int(model.count_params()),
           "input_range": input_range,
           "uncalibrated": _sensitivity_of(model, seed, input_range)}
    if calibrate:
        details: dict = {}
        calibrate_application(model, seed=seed, input_range=input_range, details=details)
        row["float_error"] = details["float_error"]
        row["damped"] = len(details["damped"])
        row["float_error_damped"] = details["float_error_damped"]
    row["noise_floor"] = _noise_floor(model, seed, input_range)
    graph = from_keras(model)
    onnx_bytes = to_onnx_bytes(graph)
    with tempfile.TemporaryDirectory() as tmp:
        emitted = reload_keras(to_keras(graph), tmp)
        report = compare_runs(graph, model, keras_candidate=emitted, onnx_bytes=onnx_bytes,
                              device="cpu", batch=2, seed=seed, localize="never",
                              input_ranges=None if input_range is None
                              else {graph.inputs[0].name: input_range})
    del emitted, onnx_bytes, graph, model
    keras.backend.clear_session(free_memory=True)
    gc.collect()
    comps = report.comparisons
    row.update(
        status=report.status,
        sensitivity=[s.to_json() for s in report.sensitivity],
        comparisons=len(comps),
        failed=[f"{c.candidate}/{c.output}/{c.case}: {c.reason}" for c in comps if not c.passed],
        worst_abs_over_scale=max((c.max_abs_err / c.stats["scale"] for c in comps
                                  if c.stats.get("scale")), default=0.0),
        worst_min_rtol=max((c.stats.get("min_rtol", 0.0) for c in comps), default=0.0),
        worst_max_rel=max((c.max_rel_err for c in comps), default=0.0),
        seconds=round(time.perf_counter() - start, 1))
    return row


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.2g}"


def _line(row: dict) -> str:
    if row["status"] == "error":
        return f"| {row['model']} | | error | | | | | | | {row['error']} |"
    unc = row["uncalibrated"]
    sens = row["sensitivity"]
    rows_ = min((s["row_spread"] for s in sens if s["row_spread"] is not None), default=None)
    draws = min((s["draw_spread"] for s in sens if s["draw_spread"] is not None), default=None)
    verdict = "sensitive" if all(s["sensitive"] for s in sens) else "INSENSITIVE"
    unc_text = ("sensitive" if unc["sensitive"] else "INSENSITIVE") + \
        f" ({_fmt(unc['row_spread'])}/{_fmt(unc['draw_spread'])})"
    note = "; ".join(row["failed"])[:200]
    inputs = "N(0,1)" if row["input_range"] is None else "U(0,255)"
    damping = (f"{_fmt(row.get('float_error'))}" + (
        f" -> {_fmt(row.get('float_error_damped'))} ({row['damped']} damped)"
        if row.get("damped") else ""))
    return (f"| {row['model']} ({row['size']}) | {inputs} | {row['status']} | {unc_text} | {verdict} "
            f"({_fmt(rows_)}/{_fmt(draws)}) | {damping} | {row['noise_floor']:.2g} | "
            f"{row['worst_abs_over_scale']:.2g} | "
            f"{row['worst_min_rtol']:.2g} | {row['seconds']} {note} |")


HEADER = ("| model (size) | inputs | status | uncalibrated sensitivity (row/draw spread) | "
          "sensitivity as verified | float64-twin error (-> after damping) | TF noise floor | "
          "worst abs/S (policy 1e-4) | worst min_rtol (policy 1e-3) "
          "| seconds, failures |\n|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    """Verify the chosen applications and print one table row per model as it finishes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="constructor names (default: all)")
    parser.add_argument("--json", help="write every row as JSON there")
    parser.add_argument("--size", type=int, default=None,
                        help="input size for the models whose minimum is below it")
    parser.add_argument("--no-calibrate", action="store_true",
                        help="verify the models as built (random statistics)")
    args = parser.parse_args(argv)
    names = args.models or application_names()
    print(HEADER, flush=True)
    rows = []
    for name in names:
        try:
            row = verify_application(name, calibrate=not args.no_calibrate, size=args.size)
        except Exception as e:  # noqa: BLE001 - reported as the model's result, not hidden
            row = {"model": name, "status": "error", "error": f"{type(e).__name__}: {e}"[:300]}
        rows.append(row)
        print(_line(row), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1, default=str)
    bad = [r["model"] for r in rows if r["status"] != "passed"]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} passed" +
          (f"; not passed: {', '.join(bad)}" if bad else ""), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
