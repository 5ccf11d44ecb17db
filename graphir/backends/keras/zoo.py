"""A seeded model zoo: ``keras.applications`` builders, small example models, inputs.

Used by the tests and by ``graphir demo``.  Nothing here downloads anything:
applications are built with ``weights=None`` and seeded random weights.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

from graphir.backends.keras.examples import example_models
from graphir.backends.keras.randomize import (calibrate_statistics, iter_layers,
                                              randomize_statistics, standardize_head)
from graphir.errors import BadInputError

__all__ = ["APPLICATIONS", "CALIBRATION_ROWS", "application_inputs", "build_application",
           "application_input_range", "calibrate_application",
           "example_inputs", "example_models", "randomize_statistics"]

#: The applications the tests and ``graphir demo`` exercise; any other
#: ``keras.applications`` constructor name is accepted too.
APPLICATIONS = ("ResNet50", "MobileNetV2", "EfficientNetB0")


def _constructor(name: str) -> Callable[..., Any]:
    ctor = getattr(keras.applications, name, None) if name.isidentifier() else None
    if ctor is None or not callable(ctor) or not name[:1].isupper():
        raise BadInputError(f"unknown keras.applications model {name!r} "
                            f"(e.g. {', '.join(APPLICATIONS)})")
    return ctor


def build_application(name: str, *, input_shape: tuple[int, int, int] | None = None,
                      seed: int = 0, **options: Any) -> "keras.Model":
    """Build ``keras.applications.<name>`` with seeded random weights, never downloading.

    Runs ``keras.utils.set_random_seed(seed)`` (seeds Python, NumPy and the backend),
    then ``keras.applications.<name>(weights=None, input_shape=input_shape, **options)``
    (e.g. ``classifier_activation=None`` for logits), then
    :func:`randomize_statistics` with the same seed.

    Args:
        name: a constructor of ``keras.applications``, e.g. ``"ResNet50"``.
        input_shape: ``(height, width, channels)``, or None for the model's default
            (224x224x3 for the three in :data:`APPLICATIONS`).
        seed: the seed of every random value.

    Raises:
        BadInputError: ``name`` is not a ``keras.applications`` constructor.
    """
    ctor = _constructor(name)
    keras.utils.set_random_seed(seed)
    model = ctor(weights=None, input_shape=input_shape, **options)
    return randomize_statistics(model, seed)


#: rows of :func:`calibrate_application`'s batch; its seed is the model's seed + 1000
CALIBRATION_ROWS = 32


def application_input_range(name: str) -> tuple[float, float] | None:
    """``(0.0, 255.0)`` for the applications that preprocess inside the model (their
    module's ``preprocess_input`` is a pass-through: EfficientNet, ConvNeXt, RegNet,
    MobileNetV3, ...), else None (graphir's standard-normal draws fit the others, whose
    preprocessing centers the pixels outside the model).

    Standard-normal inputs to a built-in ``Rescaling(1/255)`` + ImageNet
    ``Normalization`` become a constant image (-2.1) plus a 1% variation: float32
    rounding of the constant is then ~1e-5 of the signal, and random-weight
    ConvNeXtTiny's logits move by 7e-5 of their scale when the input changes by 1e-7
    (TensorFlow against itself), close to the tolerance.  Use it as
    ``--input-range NAME=0,255`` / ``compare_runs(input_ranges=...)``.

    Raises:
        BadInputError: ``name`` is not a ``keras.applications`` constructor.
    """
    import sys

    preprocess = sys.modules[_constructor(name).__module__].preprocess_input
    probe = np.linspace(0.0, 255.0, 12, dtype=np.float32).reshape(1, 2, 2, 3)
    passthrough = np.array_equal(np.asarray(preprocess(probe.copy()), np.float32), probe)
    return (0.0, 255.0) if passthrough else None


def calibrate_application(model: "keras.Model", *, seed: int = 0,
                          rows: int = CALIBRATION_ROWS,
                          input_range: tuple[float, float] | None = None) -> "keras.Model":
    """Make a random-weight application a sensitive, well-conditioned reference, in place.

    On one seeded batch of ``rows`` images (seed ``seed + 1000``, drawn as ``graphir
    verify`` draws its float inputs: standard normal, or uniform in ``input_range``
    (:func:`application_input_range`); never one of the verified inputs):

    1. :func:`~graphir.backends.keras.randomize.calibrate_statistics` (batch-norm
       moving statistics := the batch's), so activations stay at unit scale;
    2. :func:`~graphir.backends.keras.randomize.standardize_head` (the classifier's
       logits vary by ~1 over such inputs), for networks without normalization
       (VGG) whose random logits are ~1e-4.

    32 rows, not the demo's 8: at the smallest input sizes the last stages are 1x1
    spatially, and statistics of 8 values per channel leave an ill-conditioned network
    (EfficientNetB0 at 32x32: logits ~1500, and a 1e-7 relative change of the input
    moves TensorFlow's own logits by 4e-4 of their scale, more than the tolerance
    allows; with 32 rows: logits ~8, 1e-5).  Deeper residual models (EfficientNet
    B1-B7/V2, ResNet50-152) stay ill-conditioned at 32x32 whatever the rows (1x1 last
    stages): build those at 64x64 (ResNet101/152/152V2 stay ill-conditioned even there).  Measured on every ``keras.applications`` model in
    ``benchmarks/verify_applications.py`` (results in ``benchmarks/RESULTS.md``).

    Args:
        model: a single-input model built by :func:`build_application`.
        seed: the model's seed.
        rows: calibration batch size (>= 2).
        input_range: ``(lo, hi)`` of the uniform draw, or None for standard normal.

    Returns:
        ``model`` itself.
    """
    shape = (rows,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(seed + 1000)
    batch = (rng.standard_normal(shape) if input_range is None
             else rng.uniform(*input_range, shape)).astype(np.float32)
    calibrate_statistics(model, batch)
    standardize_head(model, batch, seed=seed + 3)
    return model


def application_inputs(name: str, model: "keras.Model", *, batch: int = 2,
                       seed: int = 0) -> list[np.ndarray]:
    """Seeded inputs in the domain a ``keras.applications`` model expects.

    Images uniform in ``[0, 255)`` of the model's input shape, passed through the
    ``preprocess_input`` of the constructor's module (a pass-through for the models
    that preprocess inside, e.g. EfficientNet, ConvNeXt, MobileNetV3; caffe or
    ``[-1, 1]`` scaling for ResNet, VGG, MobileNet...).  Standard normal inputs would
    be squeezed to a near-constant by the built-in ``Rescaling(1/255)`` of the former.

    Args:
        name: the constructor's name, e.g. ``"ResNet50"``.
        model: the built model (its input shape is used).
        batch: the number of images.
        seed: seeds the ``numpy.random.default_rng`` drawing them.

    Returns:
        One float32 array ``(batch, H, W, C)``.

    Raises:
        BadInputError: ``name`` is not a ``keras.applications`` constructor.
    """
    import sys

    ctor = _constructor(name)
    shape = (batch,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    images = np.random.default_rng(seed).uniform(0.0, 255.0, shape).astype(np.float32)
    preprocess = sys.modules[ctor.__module__].preprocess_input
    return [np.asarray(preprocess(images), dtype=np.float32)]


def _embedding_dims(tensor: Any) -> list[int]:
    """``input_dim`` of the Embedding layers that read ``tensor`` directly (also through
    nested models it is passed to)."""
    dims, stack = [], [tensor]
    while stack:
        t = stack.pop()
        for knode in t._keras_history.operation._outbound_nodes:
            args = knode.arguments.keras_tensors
            if not any(a is t for a in args):
                continue
            consumer = knode.operation
            if isinstance(consumer, keras.layers.Embedding):
                dims.append(int(consumer.input_dim))
            elif isinstance(consumer, keras.Model) and len(consumer.inputs) == len(args):
                stack.extend(inner for a, inner in zip(args, consumer.inputs) if a is t)
    return dims


def example_inputs(model: "keras.Model", *, batch: int = 2, seed: int = 0,
                   unknown_dim: int = 4) -> list[np.ndarray]:
    """Seeded inputs for ``model``, one array per ``model.inputs`` entry.

    Float inputs are standard normal (in the input's dtype); integer inputs are
    uniform in ``[0, n)``, ``n`` the smallest ``input_dim`` of the Embedding layers
    that read the input (else of all Embeddings in the model, else 10); bool
    inputs are fair coin flips.  Unknown non-batch dimensions get ``unknown_dim``.

    Returns:
        A list of arrays of shape ``(batch, ...)``; one NumPy generator seeded with
        ``seed`` draws them in input order.
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = (batch,) + tuple(unknown_dim if d is None else int(d) for d in tensor.shape[1:])
        dtype = np.dtype(keras.backend.standardize_dtype(tensor.dtype))
        if dtype.kind == "f":
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype.kind in "iu":
            dims = _embedding_dims(tensor) or [int(layer.input_dim) for layer in
                                               iter_layers(model)
                                               if isinstance(layer, keras.layers.Embedding)]
            arrays.append(rng.integers(0, min(dims, default=10), shape).astype(dtype))
        else:
            arrays.append(rng.integers(0, 2, shape).astype(dtype))
    return arrays
