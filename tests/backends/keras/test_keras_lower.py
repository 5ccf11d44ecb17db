"""Lowering Keras models to the IR: structure, names, types, sharing, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from application_checks import assert_converts_like_keras  # noqa: E402
from graphir.backends.keras import from_keras, load_keras_model, save_keras, to_keras  # noqa: E402
from graphir.backends.keras.zoo import example_inputs  # noqa: E402
from graphir.interpreter import evaluate  # noqa: E402
from graphir.errors import ModelFileError, UnsafeModelError, UnsupportedLayerError  # noqa: E402
from graphir.ir import Graph  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402
from graphir.passes import extract, rename  # noqa: E402

EXAMPLES = ["convnet", "activations", "shapes", "normalization", "embedding_multi_io",
            "nested", "sequential"]
L = keras.layers


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_lowers_to_a_verified_graph(name, lowered, examples):
    graph = lowered[name]
    assert isinstance(graph, Graph)
    assert verify_graph(graph) is graph
    assert graph.name == examples[name].name
    assert len(graph.outputs) == len(examples[name].outputs)


@pytest.mark.parametrize("name", EXAMPLES)
def test_lowering_twice_gives_identical_text_and_weights(name, lowered, examples):
    again = from_keras(examples[name])
    assert str(again) == str(lowered[name])
    assert list(again.weights) == list(lowered[name].weights)
    for key, array in again.weights.items():
        np.testing.assert_array_equal(array, lowered[name].weights[key])


@pytest.mark.parametrize("name", ["convnet", "activations", "shapes", "normalization",
                                  "embedding_multi_io", "sequential"])
def test_nodes_and_inputs_are_named_after_layers(name, lowered, examples):
    model, graph = examples[name], lowered[name]
    layer_names = {layer.name for layer in model.layers
                   if not isinstance(layer, L.InputLayer)}
    node_names = {n.name for n in graph.nodes}
    assert layer_names <= node_names
    extra = [graph.node(n) for n in node_names - layer_names]
    assert all(n.op == "identity" and n.name.endswith("_identity") for n in extra)
    assert [v.name for v in graph.inputs] == [t._keras_history.operation.name
                                              for t in model.inputs]
    for node in graph.nodes:
        assert node.output.name == node.name


def test_nested_models_become_scopes_and_repeated_calls_get_unique_names(lowered):
    graph = lowered["nested"]
    assert [n.name for n in graph.nodes] == [
        "inner_model/conv1", "inner_model/bn1", "inner_model/act1", "head_seq/pointwise",
        "head_seq/gap", "shared_dense", "tower/block/fc", "shared_dense_1",
        "tower_1/block/fc", "sum"]


def test_shared_layers_and_submodels_have_one_weight_set(lowered, examples):
    graph, model = lowered["nested"], examples["nested"]
    assert len(graph.weights) == len({id(v) for v in model.weights}) == 12
    assert graph.parameter_count() == model.count_params()
    shared = [n for n in graph.nodes if n.name.startswith("shared_dense")]
    assert [n.inputs[1:] for n in shared] == [("shared_dense/kernel", "shared_dense/bias")] * 2
    towers = [n for n in graph.nodes if n.name.endswith("block/fc")]
    assert {n.inputs[1] for n in towers} == {"tower/block/fc/kernel"}


def test_input_types_and_output_that_is_an_input(lowered):
    graph = lowered["embedding_multi_io"]
    assert [(v.name, v.type) for v in graph.inputs] == [
        ("tokens", TensorType("int32", ("batch", 7))),
        ("dense_features", TensorType("float32", ("batch", 3)))]
    last = graph.producers()[graph.outputs[2]][0]
    assert last.op == "identity" and last.inputs == ("dense_features",)
    assert graph.output_types()[0] == TensorType("float32", ("batch", 2))


def test_a_value_returned_twice_gets_an_identity():
    x = keras.Input((3,), name="x")
    y = L.Dense(2, name="d")(x)
    graph = from_keras(keras.Model(x, [y, y], name="twice"))
    assert graph.outputs == ("d", "d_identity")
    assert graph.node("d_identity").inputs == ("d",)


def test_unused_normalization_count_is_skipped_and_stats_use_broadcast_shape(lowered):
    graph = lowered["normalization"]
    assert not any(name.endswith("count") for name in graph.weights)
    assert graph.weights["norm_adapted/mean"].shape == (1, 5)
    assert graph.weights["norm_global/mean"].shape == (1, 1)
    assert graph.weights["norm_grid/variance"].shape == (1, 3, 4)
    assert graph.weights["denorm_const/mean"].shape == (1, 5)
    assert graph.node("denorm_const").attrs["invert"] is True


def test_static_dims_from_the_type_rule_fill_unknown_keras_dims():
    x = keras.Input((None, 4), name="x")
    y = L.Dense(3, name="d")(x)
    graph = from_keras(keras.Model(x, y, name="varlen"))
    assert graph.node("d").output.type == TensorType("float32", ("batch", None, 3))


# ---------------------------------------------------------------------- refusals

def _model(*layers, shape=(8, 8, 3), dtype="float32"):
    x = keras.Input(shape, dtype=dtype, name="x")
    y = x
    for layer in layers:
        y = layer(y)
    return keras.Model(x, y, name="m")


def _not_builtin_relu(x):
    return keras.activations.relu(x)


_not_builtin_relu.__name__ = "relu"


@pytest.mark.parametrize("make, layer_name, detail", [
    # a built-in layer without a converter is traced; this one stops at a tf.* call
    (lambda: _model(L.Hashing(num_bins=3, name="un")), "un",
     "TensorFlow function"),
    # (3, 8, 8) channels-first -> (6, 6, 6): Keras adds the bias along the last axis
    (lambda: _model(L.Conv2D(6, 3, data_format="channels_first", name="cf"),
                    shape=(3, 8, 8)), "cf",
     "data_format='channels_first' with a bias"),
    # an activation function that is not Keras' own is traced; a TensorFlow function
    # without a keras.ops equivalent stops there (tf.nn.relu traces as keras.ops.relu)
    (lambda: _model(L.Activation(tf.math.bessel_i0, name="act")), "act",
     "TensorFlow function"),
    (lambda: _model(L.Dense(2, activation=keras.activations.threshold, name="dt"), shape=(3,)),
     "dt", "not in the op set"),
    (lambda: _model(L.Softmax(axis=(3, -1), name="sm")), "sm", "repeats an axis"),
    (lambda: _model(L.Dense(2, dtype="mixed_float16", name="mp"), shape=(3,)), "mp",
     "mixed-precision"),
])
def test_unsupported_layers_and_options_are_refused(make, layer_name, detail):
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(make())
    err = info.value
    assert err.layer_name == layer_name
    assert err.model_file is None
    assert detail in str(err)
    assert err.layer_class in str(err) and layer_name in str(err)


def _quick_gelu(x):
    return x * keras.ops.sigmoid(1.702 * x)


_quick_gelu.__name__ = "gelu"


def test_an_activation_function_of_the_user_is_traced_not_matched_by_name():
    """``Activation(fn)`` with a function that is not Keras' own (named ``gelu`` here,
    keras_hub CLIP's ``quick_gelu``) is lowered by tracing ``fn`` (its keras.ops calls),
    never by its name."""
    model = _model(L.Activation(_quick_gelu, name="act"), shape=(3,))
    graph = from_keras(model)
    assert [n.attrs.get("function") for n in graph.nodes if n.op == "activation"] \
        == ["sigmoid"], str(graph)
    x = np.array([[-1.0, 0.5, 2.0]], np.float32)
    np.testing.assert_allclose(evaluate(graph, {"x": x})[graph.outputs[0]],
                               np.asarray(model(x)))


def test_keras_ops_on_symbolic_tensors_are_refused():
    x = keras.Input((3,), name="x")
    y = L.Dense(3, name="d")(x)
    with pytest.raises(UnsupportedLayerError, match="keras.ops operation") as info:
        from_keras(keras.Model(x, keras.ops.signbit(y), name="m"))
    assert info.value.layer_class == "Signbit"


def test_dropout_called_with_training_true_is_refused():
    x = keras.Input((3,), name="x")
    y = L.Dropout(0.5, name="mc_dropout")(x, training=True)
    with pytest.raises(UnsupportedLayerError, match="training=True") as info:
        from_keras(keras.Model(x, y, name="m"))
    assert info.value.layer_class == "Dropout"


def test_options_the_converters_refuse_trace_keras_own_call():
    """A merge of different ranks (Keras expands the lower-rank input after the batch
    axis) and an activation outside the op's functions: their converters refuse, and
    Keras' own call is traced."""
    a = keras.Input((4, 3), name="a")
    b = keras.Input((3,), name="b")
    assert_converts_like_keras(keras.Model([a, b], L.Add(name="add")([a, b]), name="m"))
    assert_converts_like_keras(_model(L.Activation("hard_shrink", name="hs")))


def test_subclassed_model_with_its_own_call_is_traced():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    # traced since issue 8 (tests/backends/keras/test_keras_tracing.py): no longer refused
    assert [n.op for n in from_keras(net).nodes] == ["dense"]


class _FunctionalNet(keras.Model):
    """A functional subclass, as keras_hub builds its backbones: the graph is made in
    ``__init__`` and passed to ``super().__init__(inputs=..., outputs=...)``."""

    def __init__(self, units, **kwargs):
        x = keras.Input((3,), name="features")
        y = L.Dense(units, activation="relu", name="hidden")(x)
        super().__init__(inputs=x, outputs=L.Dense(2, name="head")(y), **kwargs)
        self.units = units


def test_functional_subclass_is_walked_as_its_graph():
    net = _FunctionalNet(4, name="fnet")
    graph = from_keras(net)
    assert [n.name for n in graph.nodes] == ["hidden", "head"]
    assert [v.name for v in graph.inputs] == ["features"]
    x = np.random.default_rng(0).normal(size=(3, 3)).astype("float32")
    from graphir.interpreter import evaluate

    got = evaluate(graph, {"features": x})[graph.outputs[0]]
    np.testing.assert_allclose(got, net.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # nested in another model it is a scope like any functional model
    inp = keras.Input((3,), name="outer_in")
    outer = keras.Model(inp, _FunctionalNet(4, name="inner_net")(inp), name="outer")
    assert [n.name for n in from_keras(outer).nodes] == ["inner_net/hidden", "inner_net/head"]


def test_functional_subclass_that_overrides_call_is_traced():
    class Doubled(_FunctionalNet):
        def call(self, inputs, training=None, mask=None):
            return super().call(inputs, training=training, mask=mask) * 2.0

    # traced from its inputs (issue 8): Functional.call's convert_to_tensor is an identity,
    # and the override's "* 2.0" is lowered too
    net = Doubled(4, name="doubled")
    x = np.random.default_rng(1).normal(size=(3, 3)).astype("float32")
    want = net.predict(x, verbose=0)
    graph = from_keras(net)
    from graphir.interpreter import evaluate

    got = evaluate(graph, {graph.inputs[0].name: x})[graph.outputs[0]]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    from keras.src.models.functional import Functional

    np.testing.assert_allclose(got, 2.0 * Functional.call(net, x).numpy(), rtol=1e-5,
                               atol=1e-6)


def test_from_keras_rejects_other_objects():
    with pytest.raises(TypeError, match="keras.Model"):
        from_keras(42)


# ---------------------------------------------------------------------- files

def test_unsupported_layer_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "with_un.keras"
    save_keras(_model(L.Hashing(num_bins=3, name="un"), shape=(4, 4, 3)), path)
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(path)
    assert info.value.model_file == str(path)
    assert f"file {path}" in str(info.value)
    assert "Hashing" in str(info.value) and "'un'" in str(info.value)


def test_lowering_from_a_path_matches_lowering_the_model(tmp_path, examples, lowered):
    path = tmp_path / "convnet.keras"
    save_keras(examples["convnet"], path)
    assert str(from_keras(str(path))) == str(lowered["convnet"])


@pytest.mark.parametrize("name, content, message", [
    ("missing.keras", None, "no such file"),
    ("model.h5", b"x", "expected a .keras file"),
    ("corrupt.keras", b"this is not a zip archive", "not a .keras (zip) archive"),
])
def test_load_errors_are_model_file_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        load_keras_model(path)
    assert info.value.where == f"file {path}"
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_lambda_layers_are_refused_without_running_their_code(tmp_path):
    marker = tmp_path / "executed"
    x = keras.Input((2,), name="x")
    fn = eval(f"lambda t: (open({str(marker)!r}, 'w').close(), t)[1]")  # noqa: S307
    model = keras.Model(x, L.Lambda(fn, name="lam")(x), name="m")
    marker.unlink()  # building the model traced the lambda once
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(UnsafeModelError, match="Lambda layers hold Python code"):
        from_keras(path)
    assert not marker.exists()


_SAVE_DEFAULT_NAMES = textwrap.dedent("""
    import sys, keras
    keras.utils.set_random_seed(int(sys.argv[2]))
    x = keras.Input((6,))
    y = keras.layers.Dense(4, activation="relu")(x)
    y = keras.layers.BatchNormalization()(y)
    model = keras.Model(x, keras.layers.Dense(2)(y))
    model.save(sys.argv[1])
""")


def test_models_saved_in_separate_processes_with_colliding_names(tmp_path, run_model):
    paths = [tmp_path / "a.keras", tmp_path / "b.keras"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for seed, path in enumerate(paths):
        subprocess.run([sys.executable, "-c", _SAVE_DEFAULT_NAMES, str(path), str(seed)],
                       check=True, env=env, capture_output=True, timeout=300)
    graphs = [from_keras(p) for p in paths]
    # the collision is real: same model name, same layer and input names
    assert graphs[0].name == graphs[1].name
    assert [n.name for n in graphs[0].nodes] == [n.name for n in graphs[1].nodes]
    assert [v.name for v in graphs[0].inputs] == [v.name for v in graphs[1].inputs]
    assert not np.array_equal(*(g.weights[next(iter(g.weights))] for g in graphs))
    for path, graph in zip(paths, graphs):
        original = load_keras_model(path)
        xs = example_inputs(original, seed=3)
        for want, got in zip(run_model(original, xs), run_model(to_keras(graph), xs)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_int_tensors_keep_their_dtype_through_shape_and_merge_layers(run_model):
    # Keras 3 reports float32 for Concatenate/merges/Dropout of int32 tensors but
    # computes int32; the IR follows the computation.
    t = keras.Input((6,), dtype="int32", name="t")
    flat = L.Flatten(name="f")(L.Reshape((2, 3), name="r")(t))
    both = L.Concatenate(name="c")([flat, L.Maximum(name="mx")([flat, t])])
    model = keras.Model(t, L.Embedding(10, 2, name="e")(both), name="ints")
    graph = from_keras(model)
    assert str(graph.node("c").output.type) == "i32[batch,12]"
    assert str(graph.node("mx").output.type) == "i32[batch,6]"
    xs = example_inputs(model, seed=1)
    np.testing.assert_array_equal(run_model(to_keras(graph), xs)[0], run_model(model, xs)[0])


def test_float16_model_round_trips(run_model):
    x = keras.Input((4,), dtype="float16", name="x")
    y = L.Dense(3, activation="relu", dtype="float16", name="d")(x)
    y = L.BatchNormalization(dtype="float16", name="bn")(y)
    model = keras.Model(x, y, name="half")
    graph = from_keras(model)
    assert str(graph.output_types()[0]) == "f16[batch,3]"
    assert graph.weights["d/kernel"].dtype == np.float16
    xs = example_inputs(model)
    np.testing.assert_array_equal(run_model(to_keras(graph), xs)[0], run_model(model, xs)[0])


def test_autocast_between_dtypes_is_refused():
    x = keras.Input((4,), name="x")  # float32
    with pytest.raises(UnsupportedLayerError, match="no cast") as info:
        from_keras(keras.Model(x, L.Dense(3, dtype="float16", name="d")(x), name="m"))
    assert info.value.layer_name == "d"


def test_real_layer_names_win_over_generated_suffixes():
    x = keras.Input((3,), name="x")
    dense = L.Dense(3, name="dense")
    y = L.Dense(3, name="dense_1")(dense(x))
    graph = from_keras(keras.Model(x, dense(y), name="m"))
    assert [n.name for n in graph.nodes] == ["dense", "dense_1", "dense_2"]
    assert list(graph.weights) == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]


def test_unbuilt_sequential_is_refused():
    with pytest.raises(UnsupportedLayerError, match="not built"):
        from_keras(keras.Sequential([L.Dense(2)], name="lazy"))


def test_source_names_the_file_of_an_already_loaded_model(tmp_path):
    path = tmp_path / "with_un.keras"
    save_keras(_model(L.Hashing(num_bins=3, name="un"), shape=(4, 4, 3)), path)
    model = load_keras_model(path)
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(model, source=path)
    assert info.value.model_file == str(path)


def test_constants_of_operations_dropped_during_the_walk_keep_their_own_weights():
    """A traced call's operations are dropped when its trace ends; their constants are
    keyed by id(operation), so the walk keeps them alive: a later operation can never
    take a freed one's id and read its constant (seen in the full suite on Mixtral)."""
    import gc

    from graphir.backends.keras.lower import _Lowering

    class Op:
        name = "op"

    x = keras.Input((2,), name="x")
    lowering = _Lowering(keras.Model(x, L.Dense(1)(x)), model_file=None)
    names, ids = [], set()
    for i in range(20):
        op = Op()
        ids.add(id(op))
        register = lowering.weight_fn("scope", op)
        names.append(register(("constant", id(op), "c"), "c", np.full((1,), float(i))))
        del op, register
        gc.collect()
    assert len(set(names)) == 20 and len(ids) == 20
    assert [float(lowering.weights[n][0]) for n in names] == [float(i) for i in range(20)]


def test_a_nested_sequential_without_input_takes_token_ids_through_keras_cast():
    """A Sequential built without an Input (its Input gets the first layer's compute
    dtype, float32) called on int32 token ids: Keras' Functional casts each input to
    its Input's dtype at the boundary (and the Embedding casts back); the walker does
    the same instead of reporting a dtype mismatch."""
    keras.utils.set_random_seed(4)
    encoder = keras.Sequential([keras.layers.Embedding(30, 4, name="emb"),
                                keras.layers.GlobalAveragePooling1D(name="pool")], name="enc")
    ids = keras.Input((6,), dtype="int32", name="ids")
    model = keras.Model(ids, keras.layers.Dense(2, name="head")(encoder(ids)))
    assert encoder.inputs[0].dtype == "float32"
    graph = from_keras(model)
    casts = [n for n in graph.nodes if n.op == "cast"]
    assert [n.name.split("/")[0] for n in casts] == ["enc"]
    feeds = np.random.default_rng(2).integers(0, 30, size=(3, 6)).astype("int32")
    want = np.asarray(model(feeds))
    np.testing.assert_allclose(evaluate(graph, {"ids": feeds})[graph.outputs[0]], want,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(to_keras(graph)(feeds)), want, rtol=1e-5, atol=1e-6)


def test_dict_outputs_keep_their_keys_as_output_names(tmp_path):
    """keras.Model(x, {"logits": ..., "embedding": ...}): the IR's, ONNX's and the emitted
    Keras model's outputs are named by the keys, in Keras' order (sorted keys), and the
    emitted Keras model returns a dict with the original keys (``Graph.output_keys``)."""
    import onnx  # noqa: F401 - the ONNX names below

    from graphir.backends.onnx import to_onnx

    keras.utils.set_random_seed(3)
    a = keras.Input((4,), name="a")
    model = keras.Model(a, {"logits": keras.layers.Dense(2, name="d1")(a),
                            "embedding": keras.layers.Dense(3, name="d2")(a),
                            "d1": keras.layers.Dense(1, name="d3")(a)})
    graph = from_keras(model)
    assert list(graph.outputs) == ["d1_1", "embedding", "logits"]
    assert [o.name for o in to_onnx(graph).graph.output] == ["d1_1", "embedding", "logits"]
    emitted = to_keras(graph)
    assert emitted.output_names == ["d1_1", "embedding", "logits"]
    data = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    want = model(data)
    got = emitted(data)
    assert graph.output_keys == ("d1", "embedding", "logits") and sorted(got) == sorted(want)
    for name in ["d1", "embedding", "logits"]:
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want[name]), rtol=1e-6)
    # the keys survive a rename of the values, a save and a reload
    renamed = rename(graph, prefix="m")
    assert renamed.outputs[0] == "m/d1_1" and renamed.output_keys == graph.output_keys
    path = tmp_path / "keys.keras"
    save_keras(to_keras(renamed), path)
    again = keras.saving.load_model(path, safe_mode=True)(data)
    assert sorted(again) == ["d1", "embedding", "logits"]
    np.testing.assert_allclose(np.asarray(again["d1"]), np.asarray(want["d1"]), rtol=1e-6)
    # extracting part of the graph returns a list again
    assert extract(graph, outputs=["logits"]).output_keys == ()


def test_a_nested_model_fits_its_inputs_rank_as_keras_does():
    """Keras' ``Functional`` adds a last axis to an input one rank short when its Input's
    last size is 1 (keras_hub's MMDiT takes a ``(batch, 1)`` timestep and is called on
    ``(batch,)``) and squeezes one extra size-1 last axis."""
    keras.utils.set_random_seed(41)
    step_in, feat_in = keras.Input((1,), name="step_in"), keras.Input((3,), name="feat_in")
    inner = keras.Model([step_in, feat_in], keras.layers.Dense(2)(
        keras.layers.Concatenate()([step_in, feat_in])), name="inner")
    step, feat = keras.Input((), name="step"), keras.Input((3, 1), name="feat")
    model = keras.Model([step, feat], inner([step, feat]), name="outer")
    graph = from_keras(model)
    assert [n.op for n in graph.nodes][:2] == ["expand_dims", "squeeze"]
    assert_converts_like_keras(model)
