"""The interpolation matrices of ``tf.image.resize``, shared by the ``resize`` op's
reference kernel (:mod:`graphir.ops.resize`) and its emitters (the ONNX ``Einsum`` /
``Gather`` forms): the one neutral home of these formulas, as
:mod:`graphir.windowing` is for padding, so neither side imports the other's helpers.

Every method of ``tf.image.resize`` (``resize_images_v2`` in
``tensorflow/python/ops/image_ops_impl.py``) is separable and linear: along each
spatial axis an ``(out, in)`` matrix that depends only on the two sizes, the method
and ``antialias``.  The rules are those of the TensorFlow kernels it dispatches to
(cited per function; positions in float32 as the C++ code computes them, weights in
float64); ``specs/ops.md`` (``resize``) states them, and
``tests/core/test_resampling.py`` pins hand-computed cases (the Keras tests compare
with TensorFlow itself).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RESIZE_INTERPOLATIONS", "nearest_indices", "resize_matrix"]

#: the interpolations of ``tf.image.resize`` that Keras 3 accepts
#: (``RESIZE_INTERPOLATIONS`` in ``keras/src/backend/tensorflow/image.py``)
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")

_F = np.float32
_TABLE_SIZE = 1024  # resize_bicubic_op.cc, kTableSize


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """The input index of each output index of TF's half-pixel nearest-neighbour resize:
    ``min(floor(float32(o + 0.5) * float32(in / out)), in - 1)``, at least 0 (int64)."""
    scale = _F(n_in) / _F(n_out)
    pos = (np.arange(n_out, dtype=_F) + _F(0.5)) * scale
    return np.clip(np.floor(pos).astype(np.int64), 0, n_in - 1)


def _bilinear(n_in: int, n_out: int) -> np.ndarray:
    scale = _F(n_in) / _F(n_out)
    c = (np.arange(n_out, dtype=_F) + _F(0.5)) * scale - _F(0.5)
    lo_f = np.floor(c)
    lo = np.maximum(lo_f.astype(np.int64), 0)
    hi = np.minimum(np.ceil(c).astype(np.int64), n_in - 1)
    lerp = (c - lo_f).astype(np.float64)
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(m, (rows, lo), 1.0 - lerp)
    np.add.at(m, (rows, hi), lerp)
    return m


def _keys_table(a: float = -0.5) -> np.ndarray:
    """TF's bicubic coefficient table (``InitCoeffsTable``): ``(1025, 2)`` float32."""
    x = np.arange(_TABLE_SIZE + 1, dtype=np.float64) / _TABLE_SIZE
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    x1 = x + 1.0
    far = ((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a
    return np.stack([near, far], axis=1).astype(_F)


def _bicubic(n_in: int, n_out: int) -> np.ndarray:
    table = _keys_table()
    scale = _F(n_in) / _F(n_out)
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        c = (_F(o) + _F(0.5)) * scale - _F(0.5)
        f = int(math.floor(c))
        offset = int(np.rint(_F(c - _F(f)) * _F(_TABLE_SIZE)))
        weights = (table[offset, 1], table[offset, 0],
                   table[_TABLE_SIZE - offset, 0], table[_TABLE_SIZE - offset, 1])
        taps = [(f - 1 + k, float(w)) for k, w in enumerate(weights)
                if 0 <= f - 1 + k < n_in]
        total = sum(w for _, w in taps)
        if abs(total) >= 1000.0 * np.finfo(_F).tiny:
            for t, w in taps:
                m[o, t] += w / total
    return m


def _area(n_in: int, n_out: int) -> np.ndarray:
    s = _F(n_in) / _F(n_out)
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        a, b = _F(o) * s, _F(o + 1) * s
        for i in range(int(math.floor(a)), int(math.ceil(b))):
            if i < a:
                w = s if i + 1 > b else _F(i + 1) - a
            else:
                w = b - _F(i) if i + 1 > b else 1.0
            m[o, min(i, n_in - 1)] += float(w) / float(s)
    return m


def _lanczos(radius: int):
    def kernel(x: float) -> float:
        x = abs(x)
        if x > radius:
            return 0.0
        if x <= 1e-3:  # sampling_kernels.h: the limit of sin(x) / x
            return 1.0
        pi = 3.14159265359
        return radius * math.sin(pi * x) * math.sin(pi * x / radius) / (pi * pi * x * x)
    return kernel, float(radius)


def _triangle(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _keys_cubic(x: float) -> float:
    x = abs(x)
    if x >= 2.0:
        return 0.0
    if x >= 1.0:
        return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return ((1.5 * x - 2.5) * x) * x + 1.0


def _scale_and_translate(n_in: int, n_out: int, kernel, radius: float,
                         antialias: bool) -> np.ndarray:
    scale = _F(n_out) / _F(n_in)
    inv_scale = _F(1.0 / float(scale))
    kernel_scale = max(inv_scale, _F(1.0)) if antialias else _F(1.0)
    reach = _F(radius) * kernel_scale
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        sample = (_F(o) + _F(0.5)) * inv_scale
        if sample < 0 or sample > n_in:
            continue
        start = min(max(int(math.ceil(sample - reach - _F(0.5))), 0), n_in - 1)
        end = min(max(int(math.floor(sample + reach - _F(0.5))), 0), n_in - 1) + 1
        taps = [(t, kernel(float(abs((_F(t) + _F(0.5) - sample) / kernel_scale))))
                for t in range(start, end)]
        total = sum(w for _, w in taps)
        if abs(total) >= 1000.0 * np.finfo(_F).tiny:
            for t, w in taps:
                m[o, t] = w / total
    return m


def resize_matrix(n_in: int, n_out: int, interpolation: str, antialias: bool = False
                  ) -> np.ndarray:
    """The ``(n_out, n_in)`` float64 matrix of ``tf.image.resize`` along one axis (module
    docstring): output ``o`` is ``sum_i M[o, i] * x[i]``.

    Raises:
        ValueError: an unknown ``interpolation`` or a size below 1.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"resize sizes must be >= 1, got {n_in} -> {n_out}")
    if interpolation == "nearest":
        return np.eye(n_in)[nearest_indices(n_in, n_out)]
    if interpolation == "area":
        return _area(n_in, n_out)
    if interpolation == "bilinear":
        return (_scale_and_translate(n_in, n_out, _triangle, 1.0, True) if antialias
                else _bilinear(n_in, n_out))
    if interpolation == "bicubic":
        return (_scale_and_translate(n_in, n_out, _keys_cubic, 2.0, True) if antialias
                else _bicubic(n_in, n_out))
    if interpolation in ("lanczos3", "lanczos5"):
        kernel, radius = _lanczos(int(interpolation[-1]))
        return _scale_and_translate(n_in, n_out, kernel, radius, antialias)
    raise ValueError(f"unknown interpolation {interpolation!r}; expected one of "
                     f"{', '.join(RESIZE_INTERPOLATIONS)}")
