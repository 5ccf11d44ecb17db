"""Hand-built IR graphs shared by the core tests (no TensorFlow, seeded weights)."""

from __future__ import annotations

import numpy as np

from graphir import Graph, Node, TensorType, Value


def f32(*shape):
    return TensorType("float32", shape)


def small_cnn(seed: int = 0) -> Graph:
    """conv -> bn -> relu6 -> add(skip) -> global pool -> dense(softmax)."""
    rng = np.random.default_rng(seed)
    w = {
        "conv/kernel": rng.standard_normal((3, 3, 3, 3)).astype(np.float32),
        "conv/bias": rng.standard_normal(3).astype(np.float32),
        "bn/gamma": rng.uniform(0.5, 1.5, 3).astype(np.float32),
        "bn/beta": rng.standard_normal(3).astype(np.float32),
        "bn/moving_mean": rng.standard_normal(3).astype(np.float32),
        "bn/moving_variance": rng.uniform(0.5, 1.5, 3).astype(np.float32),
        "fc/kernel": rng.standard_normal((3, 4)).astype(np.float32),
        "fc/bias": rng.standard_normal(4).astype(np.float32),
    }
    nodes = [
        Node("conv2d", "conv", ["image", "conv/kernel", "conv/bias"], [Value("conv", f32("batch", 8, 8, 3))],
             {"strides": (1, 1), "padding": "same", "dilations": (1, 1), "groups": 1,
              "activation": "linear", "data_format": "channels_last"}),
        Node("batch_norm", "bn", ["conv", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"],
             [Value("bn", f32("batch", 8, 8, 3))], {"axis": -1, "epsilon": 0.001}),
        Node("relu", "relu", ["bn"], [Value("relu", f32("batch", 8, 8, 3))],
             {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}),
        Node("add", "add", ["relu", "image"], [Value("add", f32("batch", 8, 8, 3))]),
        Node("global_avg_pool2d", "pool", ["add"], [Value("pool", f32("batch", 3))],
             {"keepdims": False, "data_format": "channels_last"}),
        Node("dense", "fc", ["pool", "fc/kernel", "fc/bias"], [Value("fc", f32("batch", 4))],
             {"units": 4, "activation": "softmax"}),
    ]
    return Graph("small_cnn", [Value("image", f32("batch", 8, 8, 3))], ["fc"], nodes, w)
