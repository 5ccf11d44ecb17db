"""Round trips of the example zoo through ONNX: Keras model -> IR -> ONNX -> IR (imported)
-> interpreted and emitted again as ONNX and as Keras; the imported graph computes what
the lowered one does, its ONNX runs in onnxruntime and its Keras model in TensorFlow to
the same result."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphir
from graphir.backends.onnx import to_onnx
from graphir.interpreter import evaluate

pytestmark = pytest.mark.tf

FAST = ("convnet", "shapes", "lstm", "bidirectional", "arithmetic_ops", "video_classifier")


def _names():
    from graphir.backends.keras.zoo import example_models

    return list(example_models())


def _feeds(graph, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for v in graph.inputs:
        shape = [2 if not isinstance(d, int) else d for d in v.type.shape]
        dt = v.type.dtype.to_numpy()
        out[v.name] = (rng.standard_normal(shape).astype(dt) if v.type.dtype.is_float
                       else rng.integers(0, 3, shape).astype(dt))
    return out


def _round_trip(name):
    from graphir.backends.keras.zoo import example_models

    lowered = graphir.from_keras(example_models()[name]())
    if name in IMPORT_REFUSED:
        from graphir.backends.onnx.importer import OnnxImportError

        with pytest.raises(OnnxImportError, match=IMPORT_REFUSED[name]):
            graphir.from_onnx(to_onnx(lowered))
        return
    imported = graphir.from_onnx(to_onnx(lowered))
    assert [v.name for v in imported.inputs] == [v.name for v in lowered.inputs]
    assert imported.outputs == lowered.outputs
    feeds = _feeds(lowered)
    want = evaluate(lowered, feeds)
    got = evaluate(imported, feeds)
    for k in lowered.outputs:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)
    again = to_onnx(imported)
    sess = ort.InferenceSession(again.SerializeToString(), providers=["CPUExecutionProvider"])
    for k, arr in zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)):
        np.testing.assert_allclose(arr, want[k], rtol=1e-4, atol=1e-4, err_msg=k)
    _keras_again(name, imported, feeds, want)


#: zoo models whose ONNX the importer refuses (typed), and why: a conv_lstm is a Scan over
#: time (control flow), after a Reshape that merges the batch and time axes (the first
#: refusal met is the Shape of the unknown time axis that Reshape reads, or the
#: ConstantOfShape of its zero state); a
#: dynamic_reshape is a Reshape of a shape computed from Shape nodes, which the importer
#: does not yet map back to dynamic_reshape
IMPORT_REFUSED = {"conv_lstm": "Reshape|Scan|Shape of an input with unknown dims|"
                                "ConstantOfShape",
                  "run_time_reshape": "Shape of an input with unknown dims"}

#: zoo models whose imported graph the Keras emitter refuses (typed), and why: ONNX's
#: ArgMax treats -0.0 as 0.0, keras.ops.argmax does not, so no Keras op computes it
KERAS_REFUSED = {"reduction_ops": "argmax"}


def _keras_again(name, imported, feeds, want):
    """The imported graph emitted as Keras (run by TensorFlow) computes the same."""
    from graphir.errors import UnsupportedOpError

    if name in KERAS_REFUSED:
        with pytest.raises(UnsupportedOpError, match=KERAS_REFUSED[name]):
            graphir.to_keras(imported)
        return
    model = graphir.to_keras(imported)
    xs = [feeds[v.name] for v in imported.inputs]
    out = model(xs[0] if len(xs) == 1 else xs, training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    for k, arr in zip(imported.outputs, out):
        got = np.asarray(arr)
        if got.dtype == bool:
            np.testing.assert_array_equal(got, want[k], err_msg=k)
        else:
            np.testing.assert_allclose(got, want[k], rtol=1e-4, atol=1e-4, err_msg=k)


@pytest.mark.parametrize("name", FAST)
def test_zoo_round_trip(name):
    _round_trip(name)


@pytest.mark.slow
def test_zoo_round_trip_all():
    for name in _names():
        if name not in FAST:
            _round_trip(name)
