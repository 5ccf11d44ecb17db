"""Seeded input generation."""

import numpy as np

from graphir import Graph, Node, TensorType, Value
from graphir.inputs import make_inputs

from ir_examples import f32, small_cnn


def _embedding_graph(dtype="int32"):
    return Graph("e", [Value("ids", TensorType(dtype, ("batch", 50))), Value("x", f32(None, 4))],
                 ["emb", "x"],
                 [Node("embedding", "emb", ["ids", "emb/embeddings"],
                       [Value("emb", f32("batch", 50, 3))])],
                 {"emb/embeddings": np.zeros((7, 3), np.float32)})


def test_deterministic_and_seed_dependent():
    g = small_cnn()
    a, b = make_inputs(g, seed=1), make_inputs(g, seed=1)
    np.testing.assert_array_equal(a["image"], b["image"])
    assert not np.array_equal(a["image"], make_inputs(g, seed=2)["image"])
    assert a["image"].shape == (2, 8, 8, 3) and a["image"].dtype == np.float32
    assert make_inputs(g, batch=5)["image"].shape[0] == 5


def test_int_inputs_stay_below_the_embedding_size():
    feeds = make_inputs(_embedding_graph(), batch=16)
    ids = feeds["ids"]
    assert ids.dtype == np.int32 and ids.min() >= 0 and ids.max() <= 6
    assert ids.max() == 6  # the whole valid range is used (16*50 draws)
    assert feeds["x"].shape == (16, 4)
    f = make_inputs(_embedding_graph("float32"), batch=4)["ids"]
    assert f.dtype == np.float32 and np.all(f == np.round(f)) and f.max() <= 6
