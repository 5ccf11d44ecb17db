"""Window arithmetic shared by the reference kernels and the emitters: TensorFlow's
``"same"`` padding and the geometry of a transposed convolution along one axis.

This is the one neutral home of these formulas: the NumPy reference kernels
(``graphir.ops.conv``, ``graphir.ops.spatial``) and the ONNX emitter
(``graphir.backends.onnx.nn_ops``) both cite it, so neither imports the other's
helpers and a reference kernel never checks an emitter with the emitter's own code.
Every formula is pinned by hand-computed cases in ``tests/core/test_windowing.py``.

Sources: the ``tf.nn.convolution`` documentation ("Notes on padding") for ``"same"``;
``_get_output_shape_given_tf_padding`` in ``keras/src/backend/common/backend_utils.py``
for the transposed-convolution output size.
"""

from __future__ import annotations

__all__ = ["same_padding", "conv_transpose_size"]


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding ``(before, after)`` along one axis (sizes in elements).

    ``total = max((ceil(size/stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)``,
    ``before = total // 2``: the odd extra row/column goes at the end.
    Example: ``same_padding(4, 3, 2) == (0, 1)``.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_transpose_size(size: int, kernel: int, stride: int, dilation: int, padding: str,
                        output_padding: int) -> tuple[int, int]:
    """``(out, before)`` of a transposed convolution along one axis (sizes in elements).

    ``out`` is Keras' output size: with ``k = (kernel - 1) * dilation + 1``, ``"valid"``
    gives ``(size - 1) * stride + k + output_padding`` and ``"same"`` gives
    ``(size - 1) * stride + k % 2 + output_padding``.  ``before`` is the number of
    leading positions of the full scatter (``(size - 1) * stride + k`` positions) that
    are cut: 0 for ``"valid"``, else the ``before`` of :func:`same_padding` of the
    forward convolution from ``out`` back to ``size``.
    Example: ``conv_transpose_size(3, 3, 2, 1, "same", 1) == (6, 0)``.
    """
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (size - 1) * stride + eff + output_padding, 0
    out = (size - 1) * stride + eff % 2 + output_padding
    return out, same_padding(out, kernel, stride, dilation)[0]
