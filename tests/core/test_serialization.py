"""The .gir format: exact round trip, atomic writes, typed errors, no code execution."""

import json
import os

import numpy as np
import pytest
from safetensors.numpy import save_file

from graphir import (Graph, GraphInvariantError, IRFormatError, ModelFileError, Node, TensorType,
                     Value, load, save, verify_graph)
from graphir.serialization import graph_to_json

from ir_examples import f32, small_cnn


def test_round_trip_is_exact(tmp_path):
    g = small_cnn(seed=3)
    path = save(g, tmp_path / "m.gir")
    back = load(path)
    assert str(back) == str(g)
    assert list(back.weights) == list(g.weights)
    for k in g.weights:
        np.testing.assert_array_equal(back.weights[k], g.weights[k])
        assert back.weights[k].dtype == g.weights[k].dtype
    assert not back.weights["fc/kernel"].flags.writeable


def test_same_graph_same_bytes(tmp_path):
    a = save(small_cnn(), tmp_path / "a.gir").read_bytes()
    b = save(small_cnn(), tmp_path / "b.gir").read_bytes()
    assert a == b


def test_mixed_dtypes_and_weightless_graphs(tmp_path):
    g = Graph("ids", [Value("ids", TensorType("int32", ("batch", 4)))],
              ["emb"], [Node("embedding", "emb", ["ids", "emb/embeddings"],
                             [Value("emb", TensorType("float16", ("batch", 4, 2)))])],
              {"emb/embeddings": np.arange(20, dtype=np.float16).reshape(10, 2)})
    back = load(save(g, tmp_path / "e.gir"))
    assert back.weights["emb/embeddings"].dtype == np.float16
    g0 = Graph("id", [Value("x", f32(2))], ["y"], [Node("identity", "y", ["x"], [Value("y", f32(2))])])
    assert str(load(save(g0, tmp_path / "z.gir"))) == str(g0)


def test_invalid_graph_is_not_written_and_old_file_survives(tmp_path):
    target = tmp_path / "m.gir"
    target.write_bytes(b"previous")
    bad = Graph("bad", [Value("x", f32(2))], ["nope"], [])
    with pytest.raises(GraphInvariantError):
        save(bad, target)
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.gir"]


def test_load_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        load(tmp_path / "missing.gir")
    junk = tmp_path / "junk.gir"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(IRFormatError):
        load(junk)
    plain = tmp_path / "plain.gir"
    save_file({"a": np.zeros(1, np.float32)}, str(plain))
    with pytest.raises(IRFormatError, match="not a graphir"):
        load(plain)
    future = tmp_path / "future.gir"
    save_file({"a": np.zeros(1, np.float32)}, str(future), metadata={"graphir": '{"format": 99}'})
    with pytest.raises(IRFormatError, match="version 99"):
        load(future)


def test_tampered_graph_is_rejected(tmp_path):
    g = small_cnn()
    data = graph_to_json(g)
    data["nodes"][2]["op"] = "__import__('os').system('echo pwned')"
    path = tmp_path / "t.gir"
    save_file({k: np.ascontiguousarray(v) for k, v in g.weights.items()}, str(path),
              metadata={"graphir": json.dumps(data)})
    with pytest.raises(GraphInvariantError, match="known-op"):
        load(path)
    data = graph_to_json(g)
    del data["nodes"][0]["inputs"]
    save_file({k: np.ascontiguousarray(v) for k, v in g.weights.items()}, str(path),
              metadata={"graphir": json.dumps(data)})
    with pytest.raises(IRFormatError, match="malformed"):
        load(path)


def test_rank0_weight_keeps_its_shape(tmp_path):
    # Keras' Attention(use_scale=True) has a scalar scale: a () weight must come back as (),
    # not as the (1,) that np.ascontiguousarray would make of it
    q = Value("q", f32("batch", 3, 4))
    scale = np.array(0.75, np.float32)
    node = Node("attention", "att", ["q", "q", "", "att/scale"],
                [Value("att", f32("batch", 3, 4))], {"score_mode": "dot", "causal": False})
    g = verify_graph(Graph("scalar", [q], ["att"], [node], {"att/scale": scale}))
    back = load(save(g, tmp_path / "s.gir"))
    assert back.weights["att/scale"].shape == ()
    assert float(back.weights["att/scale"]) == 0.75
    assert verify_graph(back) is back


def _write_gir(path, graph, tensors):
    """A .gir whose stored tensors are ``tensors`` (not necessarily the graph's weights)."""
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path),
              metadata={"graphir": json.dumps(graph_to_json(graph))})
    return path


def test_extra_tensor_is_refused_and_named(tmp_path):
    g = small_cnn()
    tensors = {**g.weights, "smuggled": np.zeros(1000, np.float32)}
    path = _write_gir(tmp_path / "extra.gir", g, tensors)
    with pytest.raises(IRFormatError) as e:
        load(path)
    msg = str(e.value)
    assert "extra" in msg and "'smuggled' (1000 elements)" in msg
    assert "missing" not in msg and "not stored" not in msg
    assert str(path) in msg


def test_missing_tensor_is_refused_and_named(tmp_path):
    g = small_cnn()
    gone = "fc/kernel"
    path = _write_gir(tmp_path / "missing.gir", g,
                      {k: v for k, v in g.weights.items() if k != gone})
    with pytest.raises(IRFormatError) as e:
        load(path)
    msg = str(e.value)
    assert f"not stored (1): {gone!r}" in msg and "extra" not in msg


def test_extra_and_missing_are_both_named(tmp_path):
    # a renamed tensor: the same count, so only names can tell what is wrong
    g = small_cnn()
    tensors = dict(g.weights)
    tensors["fc/kernel_renamed"] = tensors.pop("fc/kernel")
    with pytest.raises(IRFormatError) as e:
        load(_write_gir(tmp_path / "renamed.gir", g, tensors))
    msg = str(e.value)
    assert "'fc/kernel_renamed'" in msg and "not stored (1): 'fc/kernel'" in msg


def test_weight_listed_twice_is_refused(tmp_path):
    g = small_cnn()
    data = graph_to_json(g)
    data["weights"].append(data["weights"][0])
    path = tmp_path / "twice.gir"
    save_file({k: np.ascontiguousarray(v) for k, v in g.weights.items()}, str(path),
              metadata={"graphir": json.dumps(data)})
    with pytest.raises(IRFormatError, match=f"listed twice \\(1\\): '{data['weights'][0]}'"):
        load(path)


def test_output_keys_round_trip_and_are_checked(tmp_path):
    """A dict-output model's keys (``Graph.output_keys``) are saved and loaded; a graph
    without them saves no key (the bytes of older files stay the same); malformed or
    mismatched keys are refused."""
    import attrs

    g = small_cnn()
    keyed = attrs.evolve(g, output_keys=("logits",))
    back = load(save(keyed, tmp_path / "k.gir"))
    assert back.output_keys == ("logits",)
    assert "output_keys" not in graph_to_json(g)
    assert load(save(g, tmp_path / "n.gir")).output_keys == ()
    with pytest.raises(GraphInvariantError, match="one distinct key per output"):
        verify_graph(attrs.evolve(g, output_keys=("a", "b")))
    data = graph_to_json(keyed)
    data["output_keys"] = "logits"
    path = tmp_path / "bad.gir"
    save_file({k: np.ascontiguousarray(v) for k, v in g.weights.items()}, str(path),
              metadata={"graphir": json.dumps(data)})
    with pytest.raises(IRFormatError, match="output_keys"):
        load(path)
