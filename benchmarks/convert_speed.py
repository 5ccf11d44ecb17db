"""Keras -> ONNX: graphir vs tf2onnx vs Keras' own ONNX export (time, memory, inference).

Run: ``make bench`` (or ``.venv/bin/python benchmarks/convert_speed.py [--models ...]``).

In ONE process and on the SAME model objects (``keras.applications``, weights=None,
seeded random weights and statistics, logits: ``classifier_activation=None``), each
converter turns the Keras model in memory into serialized ONNX bytes:

* graphir: ``to_onnx_bytes(from_keras(model))`` (lowering, emission at the default
  opset 18 with its folds, the ONNX checker on a weight-stripped stub, and the
  serialized bytes, written directly);
* tf2onnx: ``tf2onnx.convert.from_keras(model, input_signature=..., opset=17)`` then
  ``SerializeToString()``;
* keras.export: ``model.export(path, format="onnx")``, then the file's bytes.

For each conversion it records the wall-clock seconds (the first conversion of that
model object; imports and one-time initialization are excluded by converting a tiny
model with every converter first), the peak resident memory above the resident
memory before the conversion (Linux ``/proc/self/clear_refs`` + ``VmHWM``, see
``benchlib.PeakMemory``) next to the model's weight bytes, the number of
``Transpose`` nodes, and a check in onnxruntime: the ONNX model's output on a seeded
batch of 2 against Keras' (``ok`` = within rtol 1e-4 / atol 1e-4); a converter that
fails is a result ("fails: TypeError", "invalid model", "OOM"), never a crash.

Then graphir's and tf2onnx's ONNX models are timed in onnxruntime (one
``InferenceSession`` each, CUDA where present, else CPU; the provider that ran is
reported; no busy-waiting threads): seeded inputs at batch 1 and 8, warm-up runs,
then the median of ``--runs`` runs, the two sessions interleaved run by run (the first
one alternating) so machine load affects both alike.

A converter listed in ``--isolate`` for a model (default: tf2onnx and keras.export on
VGG16, which each need more than the 24 GiB of the reference machine and took the
whole benchmark down with them) runs in a child process under ``RLIMIT_AS`` =
``--memory-limit-gib`` (an identically built model, not the same object); running
out of memory there is reported as "OOM (> N GiB)".  Results are written to
``--json`` after every model, so a crash loses nothing already measured.

Wall-clock numbers vary between machines and with load; the ratios measured in the
same process are the result.  Committed results: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
import traceback
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from benchlib import (PeakMemory, child_main, failure_status, machine, median,  # noqa: E402
                      print_report, run_child)

#: one model per family
DEFAULT_MODELS = ("ResNet50", "MobileNetV2", "EfficientNetB0", "InceptionResNetV2",
                  "NASNetMobile", "ConvNeXtTiny", "MobileNetV3Small", "VGG16")
CONVERTER_NAMES = ("graphir", "tf2onnx", "keras.export")
DEFAULT_ISOLATE = ("tf2onnx:VGG16", "keras.export:VGG16")
TF2ONNX_OPSET = 17
RTOL = ATOL = 1e-4

#: the issue's targets (measured and reported here, never asserted in tests)
TARGET_MIN_RATIO, TARGET_MEDIAN_RATIO = 20.0, 50.0
TARGET_SECONDS = {"ResNet50": 0.5, "VGG16": 3.0}
TARGET_PEAK_X_WEIGHTS = 3.0
TARGET_INFERENCE_RATIO = 1.05


# --------------------------------------------------------------------------- converters

def _graphir(model) -> bytes:
    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx_bytes

    return to_onnx_bytes(from_keras(model))


def _tf2onnx(model) -> bytes:
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype, name=f"in{i}")
            for i, t in enumerate(model.inputs)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=TF2ONNX_OPSET)
    return proto.SerializeToString()


def _keras_export(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        model.export(path, format="onnx", verbose=False)
        with open(path, "rb") as f:
            return f.read()


CONVERTERS: dict[str, Callable[[Any], bytes]] = {
    "graphir": _graphir, "tf2onnx": _tf2onnx, "keras.export": _keras_export}


def _build(name: str, size: int):
    from graphir.backends.keras.zoo import build_application

    try:
        return build_application(name, input_shape=(size, size, 3), seed=0,
                                 classifier_activation=None)
    except TypeError:  # a constructor without classifier_activation
        return build_application(name, input_shape=(size, size, 3), seed=0)


def _weight_bytes(model) -> int:
    return int(sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in model.weights))


def _ort_providers() -> list[str]:
    import onnxruntime as ort

    avail = ort.get_available_providers()
    return (["CUDAExecutionProvider", "CPUExecutionProvider"] if "CUDAExecutionProvider" in avail
            else ["CPUExecutionProvider"])


def _note(e: BaseException) -> None:
    print(f"      {type(e).__name__}: {' '.join(str(e).split())[:300]}", file=sys.stderr)


def _check(data: bytes, x: np.ndarray, ref: np.ndarray) -> tuple[str, int | None]:
    """(status, Transpose count) of ONNX ``data`` against the Keras output ``ref``; the
    error of a failure is printed to stderr."""
    import onnx
    import onnxruntime as ort

    try:
        model = onnx.load_from_string(data)
    except Exception as e:  # unparsable bytes are a result
        return f"invalid model ({type(e).__name__})", None
    transposes = sum(1 for n in model.graph.node if n.op_type == "Transpose")
    del model
    try:
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime refuses to load it
        _note(e)
        return f"invalid model ({type(e).__name__})", transposes
    try:
        out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    except Exception as e:
        _note(e)
        return f"fails in onnxruntime ({type(e).__name__})", transposes
    if out.shape != ref.shape:
        return f"wrong shape {out.shape}", transposes
    err = float(np.max(np.abs(out - ref)))
    ok = np.allclose(out, ref, rtol=RTOL, atol=ATOL)
    return ("ok" if ok else f"wrong (max err {err:.1e})"), transposes


# --------------------------------------------------------------------------- one conversion

def _convert(conv: str, model, x, ref, keep: bool) -> dict[str, Any]:
    """Run converter ``conv`` on ``model`` in this process; the result row."""
    row: dict[str, Any] = {"converter": conv}
    data = None
    with PeakMemory() as mem:
        start = time.perf_counter()
        try:
            data = CONVERTERS[conv](model)
            row["seconds"] = time.perf_counter() - start
        except BaseException as e:  # a failing converter is a result, not a crash
            if isinstance(e, KeyboardInterrupt):
                raise
            row["status"] = failure_status(e)
            row["error"] = " ".join(str(e).split())[:300]
            _note(e)
            if os.environ.get("GRAPHIR_BENCH_DEBUG"):
                traceback.print_exc()
    row["peak_mb"] = mem.peak_mb
    if data is not None:
        row["status"], row["transposes"] = _check(data, x, ref)
        row["onnx_mb"] = len(data) / 2 ** 20
        if keep and row["status"] == "ok":
            row["data"] = data
    return row


def _convert_isolated(conv: str, name: str, args, x, ref, keep: bool) -> dict[str, Any]:
    """Run converter ``conv`` on a freshly built ``name`` in a child process under a
    memory limit (see the module docstring and ``benchlib.run_child``)."""
    row: dict[str, Any] = {"converter": conv, "isolated": True}
    limit = args.memory_limit_gib
    with tempfile.TemporaryDirectory(prefix="graphir-bench-") as tmp:
        out_json, out_onnx = os.path.join(tmp, "r.json"), os.path.join(tmp, "m.onnx")
        cmd = [sys.executable, os.path.abspath(__file__), "--child", conv, name, str(args.size),
               str(limit), out_json, out_onnx]
        result = run_child(cmd, out_json, limit_gib=limit, timeout=args.child_timeout)
        if "seconds" not in result:
            row["status"] = result["status"]
            if result.get("error"):
                row["error"] = result["error"]
            return row
        row["seconds"], row["peak_mb"] = result["seconds"], result.get("peak_mb")
        with open(out_onnx, "rb") as f:
            data = f.read()
    row["status"], row["transposes"] = _check(data, x, ref)
    row["onnx_mb"] = len(data) / 2 ** 20
    if keep and row["status"] == "ok":
        row["data"] = data
    return row


def _child(conv: str, name: str, size: int, limit_gib: float, out_json: str,
           out_onnx: str) -> None:
    """The child process of :func:`_convert_isolated`."""
    def work(result: dict[str, Any]) -> None:
        model = _build(name, size)
        # called once like the parent's model (its reference output), which Keras'
        # export needs ("the model provided has never been called")
        model(np.random.default_rng(0).standard_normal((2, size, size, 3)).astype(np.float32),
              training=False)
        with PeakMemory() as mem:
            start = time.perf_counter()
            data = CONVERTERS[conv](model)
            seconds = time.perf_counter() - start
        result["peak_mb"] = mem.peak_mb
        with open(out_onnx, "wb") as f:
            f.write(data)
        result["seconds"] = seconds

    child_main(out_json, limit_gib, work)


# --------------------------------------------------------------------------- inference

def _time_inference(models: dict[str, bytes], shape: tuple[int, ...], batches, runs: int,
                    warmup: int) -> dict[str, Any]:
    """Median onnxruntime latency per model and batch, the sessions interleaved."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # no busy-waiting between runs: one session's spinning threads would steal the
    # cores from the other's run (the two sessions alternate)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sessions = {k: ort.InferenceSession(v, options, providers=_ort_providers())
                for k, v in models.items()}
    out: dict[str, Any] = {"provider": {k: s.get_providers()[0] for k, s in sessions.items()}}
    order = list(sessions)
    for batch in batches:
        x = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
        times: dict[str, list[float]] = {k: [] for k in sessions}
        for i in range(warmup + runs):
            for k in (order if i % 2 else order[::-1]):  # alternate who runs first
                start = time.perf_counter()
                sessions[k].run(None, feeds[k])
                if i >= warmup:
                    times[k].append(time.perf_counter() - start)
        out[batch] = {k: median(v) for k, v in times.items()}
    return out


# --------------------------------------------------------------------------- the run

def _warm_up(converters) -> None:
    """Convert a tiny model with each converter: imports and one-time set-up are paid
    here, not by the first measured model."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    y = keras.layers.Conv2D(4, 3)(inp)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(y))
    tiny = keras.Model(inp, keras.layers.Dense(2)(y))
    for conv in converters:
        try:
            CONVERTERS[conv](tiny)
        except Exception:  # noqa: S110 -- the measured runs report failures
            pass


def _fmt(v: float | None, spec: str = ".2f", none: str = "—") -> str:
    return none if v is None else format(v, spec)


def run(args) -> dict[str, Any]:
    info = machine(["numpy", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime"])
    import onnxruntime as ort

    info["onnxruntime_providers"] = ", ".join(ort.get_available_providers())
    isolate = {tuple(s.split(":", 1)) for s in args.isolate}
    _warm_up(args.converters)
    results: list[dict[str, Any]] = []
    for name in args.models:
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
        model = _build(name, args.size)
        entry: dict[str, Any] = {"model": name, "weight_mb": _weight_bytes(model) / 2 ** 20,
                                 "params": int(model.count_params()), "rows": []}
        x = np.random.default_rng(0).standard_normal((2, args.size, args.size, 3)).astype(
            np.float32)
        ref = np.asarray(model(x, training=False))
        keep = not args.no_inference
        for conv in args.converters:
            if (conv, name) in isolate:
                row = _convert_isolated(conv, name, args, x, ref, keep)
            else:
                row = _convert(conv, model, x, ref, keep)
            print(f"    {conv}: {row.get('status')} {_fmt(row.get('seconds'))} s", file=sys.stderr,
                  flush=True)
            entry["rows"].append(row)
            gc.collect()
        g = next((r for r in entry["rows"] if r["converter"] == "graphir"), None)
        if g is not None and "seconds" in g and args.repeat:
            reps = []
            for _ in range(args.repeat):
                gc.collect()
                start = time.perf_counter()
                CONVERTERS["graphir"](model)
                reps.append(time.perf_counter() - start)
            g["repeat_median"] = median(reps)
        pair = {r["converter"]: r.pop("data") for r in entry["rows"] if "data" in r}
        pair = {k: v for k, v in pair.items() if k in ("graphir", "tf2onnx")}
        if len(pair) == 2:
            entry["inference"] = _time_inference(pair, (args.size, args.size, 3), args.batches,
                                                 args.runs, args.warmup)
        for r in entry["rows"]:
            r.pop("data", None)
        results.append(entry)
        del model, pair
        gc.collect()
        if args.json:  # after every model: a crash later loses nothing measured
            _write_json(args.json, _report(info, args, results))
    return _report(info, args, results)


def _report(info, args, results) -> dict[str, Any]:
    return {"machine": info, "size": args.size, "runs": args.runs, "warmup": args.warmup,
            "batches": list(args.batches), "results": results}


# --------------------------------------------------------------------------- report

def _row(entry, conv):
    return next((r for r in entry["rows"] if r["converter"] == conv), None)


def tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) of the conversion, speed-up and inference tables."""
    conv_rows = []
    for e in report["results"]:
        for r in e["rows"]:
            peak = r.get("peak_mb")
            xw = f" ({peak / e['weight_mb']:.1f}x)" if peak is not None and e["weight_mb"] else ""
            secs = _fmt(r.get("seconds"))
            if r["converter"] == "graphir" and "repeat_median" in r:
                secs += f" ({r['repeat_median']:.2f})"
            conv_rows.append([e["model"], r["converter"] + (" *" if r.get("isolated") else ""),
                              secs, (_fmt(peak, ".0f") + xw) if peak is not None else "—",
                              f"{e['weight_mb']:.0f}", r.get("status", "?"),
                              _fmt(r.get("transposes"), "d")])
    speed_rows, ratios = [], []
    for e in report["results"]:
        g = _row(e, "graphir")
        gs = g.get("seconds") if g else None
        cells = [e["model"], _fmt(gs)]
        for conv in ("tf2onnx", "keras.export"):
            r = _row(e, conv)
            s = r.get("seconds") if r and r.get("status") == "ok" else None
            if s is not None and gs is not None and g.get("status") == "ok":
                cells += [_fmt(s), f"{s / gs:.0f}x"]
                if conv == "tf2onnx":
                    ratios.append(s / gs)
            else:
                why = (r.get("status") if r else "not run") if s is None else g.get("status")
                cells += [_fmt(s) if s is not None else "—", why or "—"]
        speed_rows.append(cells)
    inf_rows = []
    for e in report["results"]:
        inf = e.get("inference")
        if not inf:
            continue
        for b in report["batches"]:
            t = inf.get(b) or inf.get(str(b))
            gi, ti = t["graphir"], t["tf2onnx"]
            inf_rows.append([e["model"], str(b), inf["provider"]["graphir"].replace(
                "ExecutionProvider", ""), f"{gi * 1e3:.1f}", f"{ti * 1e3:.1f}", f"{gi / ti:.2f}",
                _fmt(_row(e, "graphir").get("transposes"), "d"),
                _fmt(_row(e, "tf2onnx").get("transposes"), "d")])
    med = f"median {median(ratios):.0f}x over {len(ratios)} models" if ratios else "no ratio"
    return [
        ("Conversion (seconds: first conversion of the model object; graphir: (median of "
         "repeats); peak: MiB above the RSS before; * = child process)",
         ["model", "converter", "seconds", "peak MiB (x weights)", "weights MiB",
          "onnxruntime check", "Transpose nodes"], conv_rows),
        (f"graphir speed-up ({med} vs tf2onnx)",
         ["model", "graphir s", "tf2onnx s", "vs tf2onnx", "keras.export s", "vs keras.export"],
         speed_rows),
        (f"onnxruntime inference, median of {report['runs']} runs after {report['warmup']} "
         "warm-up (ratio = graphir / tf2onnx)",
         ["model", "batch", "provider", "graphir ms", "tf2onnx ms", "ratio",
          "graphir Transposes", "tf2onnx Transposes"], inf_rows),
    ]


def targets(report: dict[str, Any]) -> list[str]:
    """One line per target of the issue: met, missed, or not measured."""
    res = {e["model"]: e for e in report["results"]}
    lines = []
    ratios = {}
    for m, e in res.items():
        g, t = _row(e, "graphir"), _row(e, "tf2onnx")
        if g and t and g.get("status") == "ok" and t.get("status") == "ok":
            ratios[m] = t["seconds"] / g["seconds"]
    if ratios:
        worst = min(ratios, key=ratios.get)
        lines.append(f"every model >= {TARGET_MIN_RATIO:.0f}x faster than tf2onnx: "
                     f"{'met' if ratios[worst] >= TARGET_MIN_RATIO else 'MISSED'} "
                     f"(lowest {ratios[worst]:.0f}x, {worst}; {len(ratios)} models compared)")
        med = median(list(ratios.values()))
        lines.append(f"median ratio >= {TARGET_MEDIAN_RATIO:.0f}x: "
                     f"{'met' if med >= TARGET_MEDIAN_RATIO else 'MISSED'} ({med:.0f}x)")
    for m, limit in TARGET_SECONDS.items():
        g = _row(res[m], "graphir") if m in res else None
        if g and g.get("status") == "ok":
            lines.append(f"{m} under {limit:g} s: {'met' if g['seconds'] < limit else 'MISSED'} "
                         f"({g['seconds']:.2f} s)")
    peaks = []
    for m, e in res.items():
        g = _row(e, "graphir")
        if g and g.get("status") == "ok" and g.get("peak_mb") is not None:
            peaks.append((g["peak_mb"] / e["weight_mb"], m))
    if peaks:
        worst = max(peaks)
        lines.append(f"graphir peak memory < {TARGET_PEAK_X_WEIGHTS:g}x weights: "
                     f"{'met' if worst[0] < TARGET_PEAK_X_WEIGHTS else 'MISSED'} "
                     f"(highest {worst[0]:.1f}x, {worst[1]})")
    inf = [(t["graphir"] / t["tf2onnx"], m, b) for m, e in res.items() if e.get("inference")
           for b in report["batches"] for t in [e["inference"].get(b) or
                                                 e["inference"].get(str(b))]]
    if inf:
        worst = max(inf)
        lines.append(f"inference ratio <= {TARGET_INFERENCE_RATIO}: "
                     f"{'met' if worst[0] <= TARGET_INFERENCE_RATIO else 'MISSED'} "
                     f"(highest {worst[0]:.2f}, {worst[1]} batch {worst[2]})")
    return lines


def _write_json(path: str, report: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(report, f, indent=1, default=str)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--converters", nargs="+", default=list(CONVERTER_NAMES),
                        choices=CONVERTER_NAMES)
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--runs", type=int, default=30, help="timed inference runs")
    parser.add_argument("--warmup", type=int, default=3, help="untimed inference runs first")
    parser.add_argument("--repeat", type=int, default=3,
                        help="extra graphir conversions whose median is also reported")
    parser.add_argument("--no-inference", action="store_true")
    parser.add_argument("--isolate", nargs="*", default=list(DEFAULT_ISOLATE),
                        metavar="CONVERTER:MODEL",
                        help="conversions run in a memory-limited child process")
    parser.add_argument("--memory-limit-gib", type=float, default=12.0)
    parser.add_argument("--child-timeout", type=int, default=900)
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--markdown", help="also write the tables as Markdown to this file")
    parser.add_argument("--report", metavar="JSON",
                        help="print (and --markdown) the tables of an earlier --json run")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        conv, name, size, limit, out_json, out_onnx = args.child
        _child(conv, name, int(size), float(limit), out_json, out_onnx)
        return

    if args.report:
        with open(args.report) as f:
            report = json.load(f)
    else:
        report = run(args)
    print_report(report["machine"], tables(report), targets(report), markdown=args.markdown)
    if args.json and not args.report:
        _write_json(args.json, report)

if __name__ == "__main__":
    main()
