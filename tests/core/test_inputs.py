"""Seeded input generation."""

import numpy as np
import pytest

from graphir import Graph, Node, TensorType, Value, verify_graph
from graphir.inputs import fit_dim, has_free_dims, make_inputs, smaller_dim

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


def _text_cnn(kernel=7, strides=3, length=None):
    """ids -> embedding -> conv1d(k, s) -> conv1d(k, s): lengths below the
    smallest accepted one make the second window not fit."""
    rng = np.random.default_rng(0)
    conv = {"activation": "relu", "data_format": "channels_last", "dilations": (1,), "groups": 1,
            "padding": "valid", "strides": (strides,)}
    return verify_graph(Graph(
        "text_cnn", [Value("ids", TensorType("int32", ("batch", length)))], ["c2"],
        [Node("embedding", "emb", ["ids", "emb/embeddings"],
              [Value("emb", f32("batch", length, 4))]),
         Node("conv1d", "c1", ["emb", "c1/kernel", "c1/bias"], [Value("c1", f32("batch", None, 3))],
              conv),
         Node("conv1d", "c2", ["c1", "c2/kernel", "c2/bias"], [Value("c2", f32("batch", None, 3))],
              conv)],
        {"emb/embeddings": rng.standard_normal((5, 4)).astype(np.float32),
         "c1/kernel": rng.standard_normal((kernel, 4, 3)).astype(np.float32),
         "c1/bias": np.zeros(3, np.float32),
         "c2/kernel": rng.standard_normal((kernel, 3, 3)).astype(np.float32),
         "c2/bias": np.zeros(3, np.float32)}))


def test_unknown_dims_take_the_smallest_size_the_type_rules_accept():
    g = _text_cnn()
    # second conv needs >= 7 steps: (L - 7) // 3 + 1 >= 7  <=>  L >= 25
    assert has_free_dims(g) and fit_dim(g) == 25
    assert make_inputs(g)["ids"].shape == (2, 25)
    assert make_inputs(g, default_dim=30)["ids"].shape == (2, 30)  # an explicit size wins
    assert fit_dim(_text_cnn(kernel=2, strides=1)) == 8  # 8 is accepted: kept
    # (L - 7) // 2 + 1 >= 7  <=>  L >= 19: between two doublings (16, 32), found by bisection
    assert fit_dim(_text_cnn(strides=2)) == 19
    assert fit_dim(g, start=26) == 26


def test_sizes_without_a_fit_keep_the_default():
    static = _text_cnn(length=40)
    assert not has_free_dims(static) and fit_dim(static) == 8
    assert make_inputs(static)["ids"].shape == (2, 40)
    assert fit_dim(_text_cnn(), limit=16) == 8  # nothing up to the limit is accepted
    with pytest.raises(ValueError, match="start"):
        fit_dim(_text_cnn(), start=0)


def test_smaller_dim_is_the_largest_accepted_size_below():
    # the shape case's fallback when a model refuses the longer size
    assert smaller_dim(_text_cnn(kernel=2, strides=1), 8) == 7
    # (L - 7) // 3 + 1 >= 7 needs L >= 25: below 30, 29 is the largest accepted size
    assert smaller_dim(_text_cnn(), 30) == 29
    assert smaller_dim(_text_cnn(), 25) is None          # nothing below 25 fits
    assert smaller_dim(_text_cnn(length=40), 8) is None  # no free dims
    with pytest.raises(ValueError, match="first"):
        smaller_dim(_text_cnn(), 0)
