"""keras_hub text backbones -> ONNX: graphir vs tf2onnx (time, memory, inference).

Run: ``make bench-hub`` (or ``.venv/bin/python benchmarks/hub_speed.py [--small]``).

Two backbones of the sizes people deploy, built from configs with seeded random weights
(nothing downloaded): a BERT-base-sized ``BertBackbone`` (12 layers, hidden 768, 12
heads, intermediate 3072, vocabulary 30522) and a GPT-2-small-sized ``GPT2Backbone``
(12 layers, hidden 768, 12 heads, intermediate 3072, vocabulary 50257), both at batch 1
and sequence length 128 (their layers read ``ops.shape(x)``, so graphir lowers them with
``input_shapes``; tf2onnx gets the same static ``input_signature``).  ``--small`` builds
2-layer, hidden-64 versions (a smoke run).

In one process and on the same model objects, each converter turns the model into
serialized ONNX bytes (graphir: ``to_onnx_bytes(from_keras(model, input_shapes=...))``;
tf2onnx: ``tf2onnx.convert.from_keras(model, input_signature=..., opset=17)``), after a
warm-up conversion of a tiny backbone by each (imports and one-time set-up excluded).
Recorded per conversion: wall-clock seconds, peak resident memory above the memory
before (``benchlib.PeakMemory``), and a check in onnxruntime against Keras on the
seeded inputs (``ok`` = within rtol 1e-4, atol 1e-4 x the output's largest magnitude).
Then both ONNX models are timed in onnxruntime (CUDA where present, else CPU; the
provider that ran is reported), interleaved run by run, median of ``--runs``.

Targets (issue "Any Keras model"; measured here, never asserted in tests): conversion
at least 20x faster than tf2onnx, inference time ratio graphir / tf2onnx at most 1.05.
Wall-clock numbers vary with the machine and its load; the ratios measured in the same
process are the result.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import PeakMemory, machine, median, print_report  # noqa: E402

TF2ONNX_OPSET = 17
BATCH, SEQ = 1, 128
TARGET_RATIO, TARGET_INFERENCE_RATIO = 20.0, 1.05


def _config(family: str, small: bool) -> dict[str, Any]:
    size = dict(num_layers=2, num_heads=2, hidden_dim=64, intermediate_dim=128) if small \
        else dict(num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072)
    if family == "bert-base":
        return dict(vocabulary_size=30522, max_sequence_length=512, **size)
    return dict(vocabulary_size=50257, max_sequence_length=1024, **size)


def _build(family: str, small: bool):
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    cls = keras_hub.models.BertBackbone if family == "bert-base" else \
        keras_hub.models.GPT2Backbone
    return cls(**_config(family, small))


def _feeds(model) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    feeds = {}
    for t in model.inputs:
        name = t._keras_history.operation.name
        if "mask" in name:
            a = np.ones((BATCH, SEQ), np.int32)
            a[:, -SEQ // 4:] = 0
        elif "segment" in name:
            a = rng.integers(0, 2, size=(BATCH, SEQ)).astype(np.int32)
        else:
            a = rng.integers(1, 1000, size=(BATCH, SEQ)).astype(np.int32)
        feeds[name] = a
    return feeds


def _graphir(model) -> bytes:
    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx_bytes

    shapes = {t._keras_history.operation.name: (BATCH, SEQ) for t in model.inputs}
    return to_onnx_bytes(from_keras(model, input_shapes=shapes))


def _tf2onnx(model) -> bytes:
    import tensorflow as tf
    import tf2onnx

    spec = {t._keras_history.operation.name: tf.TensorSpec(
        (BATCH, SEQ), t.dtype, name=t._keras_history.operation.name) for t in model.inputs}
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=[spec],
                                          opset=TF2ONNX_OPSET)
    return proto.SerializeToString()


CONVERTERS = {"graphir": _graphir, "tf2onnx": _tf2onnx}


def _providers() -> list[str]:
    import onnxruntime as ort

    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in ort.get_available_providers()]


def _session(data: bytes):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(data, options, providers=_providers())


def _run(session, feeds):
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in names})


def _check(data: bytes, feeds, ref: list[np.ndarray]) -> str:
    try:
        got = _run(_session(data), feeds)
    except Exception as e:  # noqa: BLE001 - a runtime refusal is a result
        return f"runs: {type(e).__name__}"
    # outputs matched by shape (tf2onnx may order a dict's outputs differently)
    for want in ref:
        match = [g for g in got if g.shape == want.shape]
        atol = 1e-4 * max(1.0, float(np.abs(want).max()))
        if not any(np.allclose(g, want, rtol=1e-4, atol=atol) for g in match):
            return "mismatch"
    return "ok"


def _convert(conv: str, model, feeds, ref) -> dict[str, Any]:
    try:
        with PeakMemory() as mem:
            start = time.perf_counter()
            data = CONVERTERS[conv](model)
            seconds = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - a failing converter is a result
        traceback.print_exc(limit=3)
        return {"status": f"fails: {type(e).__name__}"}
    return {"seconds": seconds, "peak_mb": mem.peak_mb, "bytes": data,
            "status": _check(data, feeds, ref)}


def _time_inference(models: dict[str, bytes], feeds, runs: int, warmup: int
                    ) -> dict[str, Any]:
    sessions = {k: _session(v) for k, v in models.items()}
    times: dict[str, list[float]] = {k: [] for k in sessions}
    order = list(sessions)
    for i in range(warmup + runs):
        for k in (order if i % 2 else order[::-1]):
            start = time.perf_counter()
            _run(sessions[k], feeds)
            if i >= warmup:
                times[k].append(time.perf_counter() - start)
    return {"median_s": {k: median(v) for k, v in times.items()},
            "provider": {k: s.get_providers()[0] for k, s in sessions.items()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2-layer, hidden-64 backbones")
    parser.add_argument("--families", nargs="+", default=["bert-base", "gpt2-small"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--markdown", default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    import keras

    tiny = _build("bert-base", True)  # warm-up: imports and one-time set-up
    for conv in CONVERTERS:
        CONVERTERS[conv](tiny)
    rows, inference_rows, targets = [], [], []
    for family in args.families:
        model = _build(family, args.small)
        feeds = _feeds(model)
        flat = keras.Model(model.inputs, model.outputs)
        ref = flat.predict([feeds[t._keras_history.operation.name] for t in model.inputs],
                           verbose=0)
        ref = ref if isinstance(ref, list) else [ref]
        results = {conv: _convert(conv, model, feeds, ref) for conv in CONVERTERS}
        weights_mb = sum(int(np.prod(w.shape)) * 4 for w in model.weights) / 2**20
        for conv, r in results.items():
            rows.append([family, conv, f"{r.get('seconds', float('nan')):.2f}",
                         f"{r.get('peak_mb') or float('nan'):.0f}", f"{weights_mb:.0f}",
                         r["status"]])
        g, t = results["graphir"], results["tf2onnx"]
        if "seconds" in g and "seconds" in t:
            ratio = t["seconds"] / g["seconds"]
            targets.append(f"{family}: conversion {ratio:.1f}x faster than tf2onnx "
                           f"(target >= {TARGET_RATIO:.0f}x): "
                           f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
        if g.get("status") == "ok" and t.get("status") == "ok":
            timing = _time_inference({"graphir": g["bytes"], "tf2onnx": t["bytes"]}, feeds,
                                     args.runs, args.warmup)
            med = timing["median_s"]
            ratio = med["graphir"] / med["tf2onnx"]
            inference_rows.append([family, f"{med['graphir'] * 1e3:.1f}",
                                   f"{med['tf2onnx'] * 1e3:.1f}", f"{ratio:.3f}",
                                   timing["provider"]["graphir"]])
            targets.append(f"{family}: inference ratio {ratio:.3f} (target <= "
                           f"{TARGET_INFERENCE_RATIO}): "
                           f"{'met' if ratio <= TARGET_INFERENCE_RATIO else 'NOT met'}")
        del model, flat, results
    info = machine(["tensorflow", "keras", "keras_hub", "onnx", "onnxruntime", "tf2onnx"])
    print_report(info, [
        (f"Conversion (batch {BATCH}, sequence {SEQ}{', --small' if args.small else ''})",
         ["model", "converter", "seconds", "peak MiB", "weights MiB", "check"], rows),
        ("onnxruntime inference (median ms)",
         ["model", "graphir", "tf2onnx", "ratio", "provider"], inference_rows),
    ], targets, markdown=args.markdown)


if __name__ == "__main__":
    main()
