"""The shape and indexing ops end to end (specs/ops-indexing.md): ``x[...]`` (slices,
negative steps, ints, ``None``, ``...``), ``keras.ops.transpose`` / ``expand_dims`` /
``squeeze`` / ``take`` (weight and computed indices) / ``take_along_axis`` / ``tile`` /
``repeat`` / ``pad`` / ``flip`` / ``stack`` / ``one_hot`` / ``reshape`` keeping the
batch / ``concatenate`` in a functional model with a symbolic batch lower to the
primitive ops; the emitted ONNX in onnxruntime and the emitted Keras model, saved and
reloaded with ``safe_mode=True`` in a fresh process, match the Keras model, checked
outside graphir; refusals name the operation and the reason."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from keras import ops  # noqa: E402

from application_checks import assert_named_outputs, predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402

NAMES = ["cols", "reversed", "first", "newaxis", "transposed", "squeezed", "take_computed",
         "take_weight", "tiled", "padded", "reflected", "stacked", "hot", "hot_first",
         "reshaped", "cls", "tail", "repeated", "flipped", "along", "joined", "gathered_int"]


@pytest.fixture(scope="module")
def model():
    """Every indexing form on x (batch, 4, 6), labels i (batch, 3) int32 and a
    variable-length sequence s (batch, None, 5)."""
    keras.utils.set_random_seed(11)
    x = keras.Input((4, 6), name="x")
    i = keras.Input((3,), dtype="int32", name="i")
    s = keras.Input((None, 5), name="s")
    h = keras.layers.Dense(6, name="dense")(x)
    outs = [
        h[:, 1:3],                                          # slice
        h[:, ::-1, -2::-2],                                 # negative steps
        h[:, 0],                                            # int on a static axis: squeeze
        h[..., None],                                       # newaxis after ...
        ops.transpose(h, (2, 0, 1)),                        # the batch axis moves
        ops.squeeze(ops.expand_dims(h, -1), -1),
        ops.take(h, i, axis=-1),                            # computed indices (negatives)
        ops.take(h, np.array([3, -1, 0]), axis=1),          # weight indices
        ops.tile(h, (1, 2, 1)),
        ops.pad(h, ((0, 0), (1, 2), (2, 0)), constant_values=-1.5),
        ops.pad(h, ((0, 0), (2, 1), (1, 1)), mode="reflect"),
        ops.stack([h, x], axis=1),
        ops.one_hot(i, 5),                                  # negative labels: zeros
        ops.one_hot(i, 4, axis=0),
        ops.reshape(h, (-1, 24)),                           # keeps the batch
        s[:, 0],                                            # int on an unknown axis: gather
        s[:, -2:, ::2],
        ops.repeat(h, 2, axis=1),
        ops.flip(h, 1),
        ops.take_along_axis(h, ops.expand_dims(i, -1)[:, :2], axis=1),  # broadcasts
        ops.concatenate([h, x], axis=-1),
        ops.take(i, 1, axis=1),                             # int data, scalar index
    ]
    return keras.Model([x, i, s], outs, name="indexing")


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    return [rng.normal(size=(3, 4, 6)).astype(np.float32),
            rng.integers(-3, 4, size=(3, 3)).astype(np.int32),
            rng.normal(size=(3, 7, 5)).astype(np.float32)]


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model.predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def test_lowering_uses_the_indexing_ops(graph):
    ops_used = [n.op for n in graph.nodes]
    for op in ("slice", "squeeze", "expand_dims", "transpose", "gather", "tile", "pad", "stack",
               "one_hot", "reshape", "repeat", "flip", "take_along_axis", "concatenate"):
        assert op in ops_used, op
    assert graph.value_types()["s"].shape[0] == "batch"
    # x[:, 0] on a static axis is slice + squeeze, on the unknown axis a gather
    assert [n.op for n in graph.nodes if n.name.startswith(graph.outputs[2])] == [
        "slice", "squeeze"]
    cls = next(n for n in graph.nodes if n.name == graph.outputs[NAMES.index("cls")])
    assert cls.op == "gather" and graph.weights[cls.inputs[1]].shape == ()
    # every output keeps the symbolic batch except where the op moves or stacks it
    types = graph.value_types()
    assert types[graph.outputs[NAMES.index("transposed")]].shape == (6, "batch", 4)
    assert types[graph.outputs[NAMES.index("hot_first")]].shape == (4, "batch", 3)
    assert all(types[o].shape[0] == "batch" for k, o in enumerate(graph.outputs)
               if NAMES[k] not in ("transposed", "hot_first"))


def _check(got, expected):
    assert_named_outputs(NAMES, got, expected)


def test_onnx_matches_keras(graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": inputs[0], "i": inputs[1], "s": inputs[2]})
    _check(got, expected)
    # the outputs are not vacuous: one-hot rows of negative labels are zero, others not
    hot = expected[NAMES.index("hot")]
    assert hot.sum() == (inputs[1] >= 0).sum() and 0 < hot.sum() < inputs[1].size
    assert len(np.unique(expected[NAMES.index("gathered_int")])) > 1
    assert (expected[NAMES.index("padded")] == -1.5).any()


def test_emitted_keras_reloads_without_graphir_and_matches(graph, inputs, expected,
                                                             tmp_path_factory):
    path = tmp_path_factory.mktemp("indexing") / "indexing.keras"
    save_keras(to_keras(graph), path)
    _check(predict_in_fresh_process(path, inputs), expected)


@pytest.mark.parametrize("build,reason", [
    (lambda x, i: ops.take(x, i[:, 0], axis=None), "flattens"),
    (lambda x, i: ops.pad(x, ((0, 0), (1, 1), (1, 1)), mode="symmetric"), "symmetric"),
    (lambda x, i: ops.squeeze(x[:, :1]), "squeeze without an axis"),
    (lambda x, i: ops.repeat(x, [1, 2, 1, 1], axis=1), "per-element"),
    (lambda x, i: ops.stack([x, ops.cast(x, "float16")]), "dtypes"),
    (lambda x, i: ops.take(x, ops.cast(i, "int16"), axis=2), "indices of dtype int16"),
    (lambda x, i: ops.take_along_axis(x, ops.cast(ops.expand_dims(i, 1), "int8"), axis=2),
     "indices of dtype int8"),
], ids=["take_no_axis", "symmetric", "squeeze_all", "repeat_counts", "mixed_stack",
        "take_int16_indices", "take_along_int8_indices"])
def test_refusals_name_the_operation(build, reason):
    x = keras.Input((4, 6), name="x")
    i = keras.Input((3,), dtype="int32", name="i")
    m = keras.Model([x, i], build(x, i), name="refused")
    with pytest.raises(UnsupportedLayerError, match=reason):
        from_keras(m)


@pytest.mark.parametrize("key,reason", [
    ((slice(None), np.array([True, False, True, True])), "boolean index"),
    ((slice(None), [0, 2]), "array index"),
    ((True,), "boolean index"),
    ((slice(None), slice(None, None, 0)), "step of 0"),
    ((Ellipsis, 0, Ellipsis), "more than one"),
], ids=["mask", "fancy", "bool", "zero_step", "two_ellipses"])
def test_get_item_refuses_advanced_indexing_by_name(key, reason):
    """Keras' symbolic GetItem rejects most of these itself; the converter refuses them
    by name anyway (a key it cannot lower never becomes a wrong slice)."""
    from keras.src.ops.numpy import GetItem

    from graphir.backends.keras.context import LayerContext
    from graphir.backends.keras.registry import converter_for
    from graphir.tensor_types import TensorType

    op = GetItem(name="get_item")
    ctx = LayerContext(op, ["x"], [TensorType("float32", ("batch", 4, 6))],
                       weight_fn=lambda key, name, array: name, model_file=None,
                       call_args=(keras.KerasTensor((None, 4, 6)), key))
    with pytest.raises(UnsupportedLayerError, match=reason) as info:
        converter_for(op)(ctx)
    assert "get_item" in str(info.value) and "GetItem" in str(info.value)


def test_a_tensor_index_is_refused_by_name():
    from keras.src.ops.numpy import GetItem

    from graphir.backends.keras.context import LayerContext
    from graphir.backends.keras.registry import converter_for
    from graphir.tensor_types import TensorType

    op = GetItem(name="get_item")
    t = keras.KerasTensor((), dtype="int32")
    ctx = LayerContext(op, ["x", "t"], [TensorType("float32", ("batch", 4)),
                                        TensorType("int32", ())],
                       weight_fn=lambda key, name, array: name, model_file=None,
                       call_args=(keras.KerasTensor((None, 4)), (slice(None), t)))
    with pytest.raises(UnsupportedLayerError, match="tensor index"):
        converter_for(op)(ctx)
