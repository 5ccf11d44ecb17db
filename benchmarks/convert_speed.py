"""Keras -> ONNX conversion time: graphir vs tf2onnx vs Keras' own ONNX export.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/convert_speed.py [--models ...]``).

In ONE process and on the SAME model objects (keras.applications, weights=None,
seeded), each converter is timed end to end (Keras model in memory -> serialized ONNX
bytes), its result is checked in onnxruntime against the Keras output on the same
seeded batch, and the table prints graphir's speed-up ratio per model.  Wall-clock
numbers vary between machines; the ratio against the anchor measured in the same
process is the result.  Results of a run are committed in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

DEFAULT_MODELS = ("MobileNetV2", "ResNet50", "EfficientNetB0")


def _graphir(model):
    from graphir.backends.keras import from_keras
    from graphir.backends.onnx import to_onnx

    return to_onnx(from_keras(model)).SerializeToString()


def _tf2onnx(model):
    import tensorflow as tf
    import tf2onnx

    spec = [tf.TensorSpec((None,) + tuple(t.shape[1:]), t.dtype, name=f"in{i}")
            for i, t in enumerate(model.inputs)]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    return proto.SerializeToString()


def _keras_export(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        model.export(path, format="onnx", verbose=False)
        with open(path, "rb") as f:
            return f.read()


CONVERTERS = {"graphir": _graphir, "tf2onnx": _tf2onnx, "keras.export": _keras_export}


def _check(onnx_bytes: bytes, x: np.ndarray, ref: np.ndarray) -> tuple[str, int]:
    import onnx
    import onnxruntime as ort

    model = onnx.load_from_string(onnx_bytes)
    transposes = sum(1 for n in model.graph.node if n.op_type == "Transpose")
    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    err = float(np.max(np.abs(out - ref)))
    return ("ok" if err <= 1e-4 + 1e-4 * float(np.max(np.abs(ref))) else f"wrong ({err:.1e})"), transposes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--converters", nargs="+", default=list(CONVERTERS))
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    from graphir.backends.keras.zoo import build_application

    rows = []
    for name in args.models:
        model = build_application(name, input_shape=(args.size, args.size, 3), seed=0)
        x = np.random.default_rng(0).standard_normal((2, args.size, args.size, 3)).astype(np.float32)
        ref = np.asarray(model(x, training=False))
        times = {}
        for conv in args.converters:
            try:
                start = time.perf_counter()
                data = CONVERTERS[conv](model)
                seconds = time.perf_counter() - start
                status, transposes = _check(data, x, ref)
                times[conv] = seconds
                rows.append((name, conv, f"{seconds:.2f}", status, str(transposes)))
            except Exception as e:  # a converter that fails is a result, not a crash
                rows.append((name, conv, "-", f"failed: {type(e).__name__}", "-"))
                if os.environ.get("GRAPHIR_BENCH_DEBUG"):
                    traceback.print_exc()
        for conv, sec in times.items():
            if conv != "graphir" and "graphir" in times:
                rows.append((name, f"speed-up vs {conv}", f"{sec / times['graphir']:.1f}x", "", ""))

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    header = ("model", "converter", "seconds", "onnxruntime check", "Transpose nodes")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
