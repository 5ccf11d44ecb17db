"""Emitting Keras models from the IR: numerics, names, sharing, saving, refusals."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")

from application_checks import predict_in_fresh_process  # noqa: E402
from graphir import ops  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.keras.registry import built_ops  # noqa: E402
from graphir.errors import (EmissionError, GraphInvariantError, ModelFileError,  # noqa: E402
                            UnsupportedOpError)
from graphir.ir import Graph, Node, Value  # noqa: E402
from graphir.names import to_keras_name  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402

EXAMPLES = ["convnet", "activations", "shapes", "normalization", "embedding_multi_io",
            "nested", "sequential"]
TOL = dict(rtol=1e-5, atol=1e-5)


def _assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **TOL)


@pytest.mark.parametrize("name", EXAMPLES)
def test_emitted_model_computes_the_original_outputs(name, emitted, example_inputs_by_name,
                                                     reference_outputs, run_model):
    got = run_model(emitted[name], example_inputs_by_name[name])
    _assert_same(got, reference_outputs[name])


def _first_uses(graph: Graph) -> list[str]:
    """Names of nodes that are not a repeated application of already used weights."""
    seen, names = set(), []
    for node in graph.nodes:
        weights = {n for n in node.inputs if n in graph.weights}
        if not weights or not weights <= seen:
            names.append(node.name)
        seen |= weights
    return names


@pytest.mark.parametrize("name", EXAMPLES)
def test_layer_and_input_names_are_preserved(name, emitted, lowered, examples):
    graph, model = lowered[name], emitted[name]
    layer_names = {layer.name for layer in model.layers}
    assert {to_keras_name(n) for n in _first_uses(graph)} <= layer_names
    assert [t._keras_history.operation.name for t in model.inputs] == [
        v.name for v in graph.inputs]
    assert model.name == examples[name].name


def test_nested_names_use_the_keras_separator(emitted):
    names = {layer.name for layer in emitted["nested"].layers}
    assert {"inner_model.conv1", "head_seq.gap", "tower.block.fc"} <= names
    assert not any("/" in n for n in names)


def test_shared_weights_give_one_keras_layer(emitted, examples):
    model = emitted["nested"]
    assert len(model.get_layer("shared_dense")._inbound_nodes) == 2
    assert len(model.get_layer("tower.block.fc")._inbound_nodes) == 2
    assert "shared_dense_1" not in {layer.name for layer in model.layers}
    assert model.count_params() == examples["nested"].count_params()
    assert len(model.weights) == len(examples["nested"].weights)


@pytest.mark.parametrize("name", EXAMPLES)
def test_emitted_model_lowers_back_to_the_same_computation(name, emitted, lowered):
    again, graph = from_keras(emitted[name]), lowered[name]
    assert [(n.op, dict(n.attrs)) for n in again.nodes] == [
        (n.op, dict(n.attrs)) for n in graph.nodes]
    assert len(again.weights) == len(graph.weights)
    for a, b in zip(again.weights.values(), graph.weights.values()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", EXAMPLES)
def test_saved_model_reloads_with_safe_mode(name, tmp_path, emitted, example_inputs_by_name,
                                            reference_outputs, run_model):
    path = tmp_path / f"{name}.keras"
    save_keras(emitted[name], path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    _assert_same(run_model(reloaded, example_inputs_by_name[name]), reference_outputs[name])


@pytest.mark.parametrize("name", ["convnet", "shapes"])
def test_saved_model_loads_in_a_fresh_process(name, tmp_path, emitted, example_inputs_by_name,
                                              reference_outputs):
    model_path = tmp_path / f"{name}.keras"
    save_keras(emitted[name], model_path)
    got = predict_in_fresh_process(model_path, list(example_inputs_by_name[name]))
    _assert_same(got, reference_outputs[name])


# ---------------------------------------------------------------------- saving

class _FailingModel:
    """Writes part of a file, then fails, like a crash in the middle of model.save."""

    def save(self, path):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("disk full")


def test_failed_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"previous contents")
    with pytest.raises(EmissionError, match="disk full"):
        save_keras(_FailingModel(), target)
    assert target.read_bytes() == b"previous contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_failed_save_creates_no_file(tmp_path):
    with pytest.raises(EmissionError):
        save_keras(_FailingModel(), tmp_path / "new.keras")
    assert list(tmp_path.iterdir()) == []


def test_save_overwrites_atomically(tmp_path, emitted):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    save_keras(emitted["sequential"], target)
    assert keras.saving.load_model(target, safe_mode=True).name == "mlp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


@pytest.mark.parametrize("name", ["model.h5", "missing_dir/model.keras"])
def test_bad_save_paths_are_model_file_errors(tmp_path, emitted, name):
    with pytest.raises(ModelFileError) as info:
        save_keras(emitted["sequential"], tmp_path / name)
    assert info.value.where == f"file {tmp_path / name}"
    assert not (tmp_path / name).exists()


# ---------------------------------------------------------------------- refusals

def test_every_op_has_a_keras_builder():
    assert set(ops.op_names()) <= set(built_ops())


def _graph(node: Node, inputs: list[Value]) -> Graph:
    return Graph("g", inputs, [node.output.name], [node], {})


def test_merge_of_different_ranks_broadcasts_like_numpy():
    # Keras' Add layer would expand b at axis 1; the IR op broadcasts NumPy-style, so the
    # emitter uses keras.ops.add, which does too
    a = Value("a", TensorType("float32", ("batch", 4, 3)))
    b = Value("b", TensorType("float32", ("batch", 3)))
    node = Node("add", "sum", ("a", "b"), (Value("sum", TensorType("float32", ("batch", 4, 3))),))
    emitted = to_keras(_graph(node, [a, b]))
    # batch 4 = the middle axis of a: NumPy adds all of b to each a[i], where Keras' Add
    # layer would add b[i] to a[i]
    xa = np.arange(48, dtype=np.float32).reshape(4, 4, 3)
    xb = np.arange(12, dtype=np.float32).reshape(4, 3) * 100.0
    np.testing.assert_allclose(emitted.predict([xa, xb], verbose=0), xa + xb)
    assert not np.allclose(xa + xb, xa + xb[:, None, :])
    # three inputs of different ranks have no keras.ops form: refused by node
    c = Value("c", TensorType("float32", ("batch", 4, 3)))
    node3 = Node("add", "sum", ("a", "b", "c"),
                 (Value("sum", TensorType("float32", ("batch", 4, 3))),))
    with pytest.raises(UnsupportedOpError) as info:
        to_keras(_graph(node3, [a, b, c]))
    assert "'add'" in str(info.value) and "'sum'" in str(info.value)


def test_invalid_graph_is_rejected_before_emission():
    x = Value("x", TensorType("float32", ("batch", 3)))
    node = Node("relu", "r", ("x",), (Value("r", TensorType("float32", ("batch", 3))),),
                {"max_value": None, "negative_slope": 0.0})  # threshold missing
    with pytest.raises(GraphInvariantError, match="threshold"):
        to_keras(_graph(node, [x]))


def test_scalar_input_is_an_emission_error():
    x = Value("x", TensorType("float32", ()))
    node = Node("identity", "y", ("x",), (Value("y", TensorType("float32", ())),))
    with pytest.raises(EmissionError, match="scalar"):
        to_keras(_graph(node, [x]))


def test_graph_output_that_is_an_input_and_static_batch():
    x = Value("x/in", TensorType("float32", (3, 2)))
    node = Node("relu", "r", ("x/in",), (Value("r", TensorType("float32", (3, 2))),),
                {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    graph = Graph("outer/g", [x], ["r", "x/in"], [node], {})
    model = to_keras(graph)
    assert model.name == "outer.g"
    assert tuple(model.inputs[0].shape) == (3, 2)
    data = np.array([[-1, 2], [3, -4], [0.5, -0.5]], "float32")
    relu, same = (np.asarray(o) for o in model(data))
    np.testing.assert_array_equal(relu, np.maximum(data, 0))
    np.testing.assert_array_equal(same, data)


@pytest.mark.parametrize("sizes, out_shape, layer", [
    # x's own batch kept and one other run-time size: keras.layers.Reshape
    (("in0[0]", "in0[1]*in0[2]*2", "2"), ("batch", None, 2), "Reshape"),
    # two run-time sizes besides the batch: a gather from the flattened x
    (("in0[0]", "in0[1]*2", "in0[2]", "2"), ("batch", None, None, 2), "Take"),
])
def test_dynamic_reshape_emission(sizes, out_shape, layer):
    """dynamic_reshape emitted as Keras: the model's layers say which form was chosen,
    and it computes np.reshape at two run-time lengths (the interpreter's kernel)."""
    from graphir.interpreter import evaluate

    x = Value("x", TensorType("float32", ("batch", None, None, 4)))
    node = Node("dynamic_reshape", "y", ("x",), (Value("y", TensorType("float32", out_shape)),),
                {"shape": sizes})
    graph = Graph("g", [x], ["y"], [node])
    model = to_keras(graph)
    assert layer in {type(op).__name__ for op in model.operations}
    for t in (3, 5):
        data = np.random.default_rng(t).normal(size=(2, t, 7 - t, 4)).astype(np.float32)
        np.testing.assert_array_equal(np.asarray(model(data)), evaluate(graph, {"x": data})["y"])
