"""ONNX -> Keras: graphir's importer on tf2onnx's ONNX of keras.applications, against
onnx2tf when it is installed (time, peak memory, transposes left, correctness).

Run: ``.venv/bin/python benchmarks/onnx_import.py [--models ...] [--size 224]``.

For each model (``weights=None``, seeded, normalization statistics randomized, logits:
``classifier_activation=None``), tf2onnx (in-process, ``from_graph_def`` of the frozen
traced function, opset 17) writes the ONNX model once; then

* graphir: ``to_keras(from_onnx(proto))`` (import, ``cancel_transposes``, Keras
  emission), the wall-clock seconds of the first conversion (imports and one-time
  initialization excluded by converting a tiny model first) and the peak resident memory
  above the resident memory before it (``benchlib.PeakMemory``); the transposes left in
  the emitted Keras graph (``Permute`` layers and ``transpose`` operations); the Keras
  model's output on a seeded batch of 2 against onnxruntime's on the tf2onnx model
  (``ok``: within 1e-4);
* onnx2tf (``onnx2tf.convert(input_onnx_file_path=..., output_folder_path=...)``), when
  importable, measured the same way on the same file; its tf.function's Transpose ops
  counted.  It is optional (the ``bench`` extra) and was not installed where the
  committed results were measured: pip resolves it only by downgrading TensorFlow
  2.21 -> 2.19, NumPy 2 -> 1.26, onnx 1.23 -> 1.19 and onnxruntime, which would break the
  project's own environment, so the table says "not installed".

A converter that fails is a result (its exception's type and first line), never a crash.
Wall-clock numbers vary between machines and with load; the ratios measured in the same
process are the result.  Committed results: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import PeakMemory, machine, print_report

MODELS = ("MobileNetV2", "ResNet50", "EfficientNetB0", "ConvNeXtTiny")
TOL = 1e-4


def tf2onnx_proto(model) -> Any:
    """tf2onnx's ONNX (opset 17, symbolic batch) of a Keras model.  The traced function is
    frozen first (``convert_variables_to_constants_v2``): tf2onnx's ``from_function`` leaves
    some captured variables (EfficientNet's Normalization statistics) as graph inputs.
    Also the tests' anchor (tests/backends/onnx/test_importer_tf2onnx.py)."""
    import tensorflow as tf
    import tf2onnx
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name="input")
    frozen = convert_variables_to_constants_v2(
        tf.function(lambda x: model(x, training=False)).get_concrete_function(spec))
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=17)
    return proto


def keras_transposes(model) -> int:
    """``Permute`` layers and ``transpose`` operations of a functional Keras model."""
    return sum(type(op).__name__ in ("Permute", "Transpose") for op in model.operations)


def _failure(e: BaseException) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"fails: {type(e).__name__}: {first[:120]}"


def run_graphir(proto, x: np.ndarray, want: np.ndarray) -> dict[str, Any]:
    """graphir's ``to_keras(from_onnx(proto))``: seconds, peak MiB, transposes in the Keras
    graph, and ``result`` ("ok" within 1e-4 of ``want`` on ``x``, or what failed)."""
    import graphir

    try:
        with PeakMemory() as mem:
            start = time.perf_counter()
            model = graphir.to_keras(graphir.from_onnx(proto))
            seconds = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - a failing converter is a result
        return {"result": _failure(e)}
    got = np.asarray(model(x, training=False))
    ok = got.shape == want.shape and np.allclose(got, want, rtol=TOL, atol=TOL)
    return {"seconds": seconds, "peak_mb": mem.peak_mb, "transposes": keras_transposes(model),
            "result": "ok" if ok else f"mismatch {np.abs(got - want).max():.2e}"}


def run_onnx2tf(path: str, x: np.ndarray, want: np.ndarray) -> dict[str, Any]:
    """onnx2tf on the ONNX file ``path``, measured as :func:`run_graphir` (``result`` is
    "not installed" when onnx2tf cannot be imported)."""
    try:
        import onnx2tf
    except ImportError:
        return {"result": "not installed"}
    out = tempfile.mkdtemp(prefix="onnx2tf_")
    try:
        with PeakMemory() as mem:
            start = time.perf_counter()
            model = onnx2tf.convert(input_onnx_file_path=path, output_folder_path=out,
                                    non_verbose=True)
            seconds = time.perf_counter() - start
        import tensorflow as tf

        concrete = tf.function(model).get_concrete_function(
            tf.TensorSpec(model.inputs[0].shape, tf.float32))
        transposes = sum(op.type == "Transpose" for op in concrete.graph.get_operations())
        got = np.asarray(model(x))
    except Exception as e:  # noqa: BLE001
        return {"result": _failure(e)}
    ok = got.shape == want.shape and np.allclose(got, want, rtol=TOL, atol=TOL)
    return {"seconds": seconds, "peak_mb": mem.peak_mb, "transposes": transposes,
            "result": "ok" if ok else f"mismatch {np.abs(got - want).max():.2e}"}


def _warm_up() -> None:
    import keras

    import graphir

    inp = keras.Input((8, 8, 3))
    tiny = keras.Model(inp, keras.layers.Conv2D(2, 3)(inp))
    graphir.to_keras(graphir.from_onnx(tf2onnx_proto(tiny)))


def bench(name: str, size: int) -> list[Any]:
    """One table row for ``keras.applications.<name>`` at ``size`` x ``size``."""
    import keras
    import onnx
    import onnxruntime as ort

    from graphir.backends.keras.randomize import randomize_statistics

    keras.utils.set_random_seed(0)
    app = getattr(keras.applications, name)(input_shape=(size, size, 3), weights=None,
                                            classifier_activation=None)
    randomize_statistics(app, 0)
    start = time.perf_counter()
    try:
        proto = tf2onnx_proto(app)
    except Exception as e:  # noqa: BLE001
        return [name, _failure(e), "", "", "", "", ""]
    t2o = time.perf_counter() - start
    x = np.random.default_rng(0).standard_normal((2, size, size, 3)).astype(np.float32)
    try:
        sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        want = sess.run(None, {proto.graph.input[0].name: x})[0]
    except Exception as e:  # noqa: BLE001 - tf2onnx wrote a model onnxruntime refuses
        want = np.zeros(0)
        print(f"{name}: onnxruntime refuses tf2onnx's model: {_failure(e)}")
    onnx_transposes = sum(n.op_type == "Transpose" for n in proto.graph.node)
    g = run_graphir(proto, x, want)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, f"{name}.onnx")
        onnx.save(proto, path)
        o = run_onnx2tf(path, x, want)

    def cell(r, key, fmt):
        return fmt.format(r[key]) if r.get(key) is not None else "-"

    ratio = (f"{o['seconds'] / g['seconds']:.1f}x" if "seconds" in g and "seconds" in o
             else "-")
    graphir_cell = (f"{cell(g, 'seconds', '{:.2f} s')}, {cell(g, 'peak_mb', '{:.0f} MiB')}, "
                    f"{cell(g, 'transposes', '{}')} transposes")
    onnx2tf_cell = (f"{cell(o, 'seconds', '{:.2f} s')}, {cell(o, 'peak_mb', '{:.0f} MiB')}, "
                    f"{cell(o, 'transposes', '{}')} transposes") if "seconds" in o else "-"
    return [name, f"{t2o:.1f} s, {onnx_transposes} Transpose", graphir_cell, g["result"],
            onnx2tf_cell, o["result"], ratio]


def main(argv=None) -> int:
    """Parse the options, run every model, print (and optionally write) the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    parser.add_argument("--markdown", help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    _warm_up()
    rows = [bench(name, args.size) for name in args.models]
    columns = ["model", "tf2onnx (time, Transposes in its ONNX)",
               "graphir ONNX -> Keras (time, peak memory, transposes in Keras)",
               "graphir vs onnxruntime", "onnx2tf (time, peak memory, transposes)",
               "onnx2tf vs onnxruntime", "onnx2tf / graphir time"]
    info = machine(("tensorflow", "keras", "onnx", "onnxruntime", "tf2onnx", "onnx2tf"))
    print_report(info, [(f"ONNX (tf2onnx) -> Keras, {args.size}x{args.size}", columns, rows)],
                 [("graphir: at most 2 transposes in the emitted Keras graph for the CNNs, "
                   "outputs within 1e-4 of onnxruntime on tf2onnx's model")],
                 markdown=args.markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
