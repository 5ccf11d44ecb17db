"""graphir.resampling: the tf.image.resize matrices on hand-computed cases (the Keras
tests in tests/backends/keras/test_keras_resize.py compare with TensorFlow itself)."""

from __future__ import annotations

import numpy as np
import pytest

from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.dtypes import DType
from graphir.resampling import RESIZE_INTERPOLATIONS, nearest_indices, resize_matrix
from graphir.tensor_types import TensorType


def test_nearest_rounds_half_pixel_positions_down_and_clamps():
    # (o + 0.5) * 3 / 2 = 0.75, 2.25 -> 0, 2 ; 2 -> 5: (o + 0.5) * 0.4 -> all 0 or 1
    assert nearest_indices(3, 2).tolist() == [0, 2]
    assert nearest_indices(2, 5).tolist() == [0, 0, 1, 1, 1]
    # a tie (o + 0.5) * 4 / 2 = 1, 3 picks the upper pixel
    assert nearest_indices(4, 2).tolist() == [1, 3]


def test_bilinear_doubling():
    # c = (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 for a 2 -> 4 resize
    want = [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]]
    np.testing.assert_allclose(resize_matrix(2, 4, "bilinear"), want)


def test_area_halving_averages_pairs():
    np.testing.assert_allclose(resize_matrix(4, 2, "area"),
                               [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])


def test_area_two_thirds_weights_overlaps():
    # s = 1.5: output 0 covers [0, 1.5) -> 1 and 0.5; output 1 [1.5, 3) -> 0.5 and 1
    np.testing.assert_allclose(resize_matrix(3, 2, "area"),
                               [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]], rtol=1e-6)


def test_bicubic_doubling_uses_keys_a_minus_half_renormalized_at_borders():
    m = resize_matrix(4, 8, "bicubic")
    # output 2: c = 0.75, delta 0.75, taps -1..2 -> weights of Keys(a=-0.5) at
    # 1.75, 0.75, 0.25, 1.25 (all inside the image except tap -1)
    def keys(x):
        x = abs(x)
        return (1.5 * x - 2.5) * x * x + 1 if x < 1 else ((-0.5 * x + 2.5) * x - 4) * x + 2
    w = np.array([keys(0.75), keys(0.25), keys(1.25)])
    np.testing.assert_allclose(m[2, :3], w / w.sum(), rtol=1e-6)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("method", RESIZE_INTERPOLATIONS)
@pytest.mark.parametrize("antialias", [False, True])
def test_rows_sum_to_one_and_identity_size_is_identity(method, antialias):
    for n_in, n_out in ((5, 3), (3, 7), (6, 6)):
        m = resize_matrix(n_in, n_out, method, antialias)
        assert m.shape == (n_out, n_in)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-6)
    if method not in ("lanczos3", "lanczos5"):  # their kernel(0) is exact, the taps too
        np.testing.assert_allclose(resize_matrix(6, 6, method, antialias), np.eye(6),
                                   atol=1e-6)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown interpolation"):
        resize_matrix(3, 4, "gaussian")


def test_resize_kernel_applies_both_axes():
    x = Value("x", TensorType(DType.FLOAT32, ("batch", 2, 4, 1)))
    y = Value("y", TensorType(DType.FLOAT32, ("batch", 4, 2, 1)))
    node = Node("resize", "r", ("x",), (y,), {"size": (4, 2), "interpolation": "area",
                                              "antialias": False,
                                              "data_format": "channels_last"})
    graph = Graph("g", (x,), ("y",), (node,), {})
    data = np.arange(8, dtype=np.float32).reshape(1, 2, 4, 1)
    got = evaluate(graph, {"x": data})["y"]
    want = np.einsum("oh,nhwc,pw->nopc", resize_matrix(2, 4, "area"), data,
                     resize_matrix(4, 2, "area"))
    np.testing.assert_allclose(got, want, rtol=1e-6)
