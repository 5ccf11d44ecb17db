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

__all__ = ["APPLICATIONS", "CALIBRATION_ROWS", "RESIDUAL_GAINS", "application_inputs",
           "build_application", "application_input_range", "calibrate_application",
           "damp_residual_branches", "reference_float_error", "well_conditioned_limit",
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


#: gains of the damped residual branches (:func:`damp_residual_branches`), drawn uniformly
RESIDUAL_GAINS = (0.1, 0.3)

#: the layers that can end a residual branch and be scaled: (weights scaled by the gain)
_AFFINE_ENDS = {"BatchNormalization": ("gamma", "beta"), "Conv1D": ("kernel", "bias"),
                "Conv2D": ("kernel", "bias"), "Conv3D": ("kernel", "bias"),
                "DepthwiseConv2D": ("kernel", "bias"), "Dense": ("kernel", "bias")}


def _producer(tensor):
    """``(operation, its input KerasTensors)`` of the call that produced ``tensor``."""
    op, node_index, _ = tensor._keras_history
    return op, list(op._inbound_nodes[node_index].arguments.keras_tensors)


def _consumer_count(tensor) -> int:
    op = tensor._keras_history.operation
    return sum(1 for node in op._outbound_nodes
               if any(a is tensor for a in node.arguments.keras_tensors))


def _branch_length(tensor) -> int:
    """Layers between ``tensor`` and the fork it branches from: walk back through
    single-input layers while the current tensor has one consumer."""
    length = 0
    while _consumer_count(tensor) <= 1:
        op, inputs = _producer(tensor)
        if len(inputs) != 1 or isinstance(op, keras.layers.InputLayer):
            break
        length += 1
        tensor = inputs[0]
    return length


def damp_residual_branches(model: "keras.Model", *, seed: int = 0,
                           gains: tuple[float, float] = RESIDUAL_GAINS) -> list[str]:
    """Scale the last affine layer of every residual branch by a seeded gain, in place.

    A residual branch is an input of an ``Add`` layer that is not the shortest of its
    inputs, counted in single-input layers back to the tensor it forks from (so the
    identity or projection shortcut is left alone: ResNet's ``conv*_block*_0_bn`` is
    1-2 layers from the fork, the bottleneck ``*_3_bn`` 8).  When that branch ends in a
    ``BatchNormalization`` its ``gamma`` and ``beta`` are multiplied by the gain; when
    it ends in a convolution or ``Dense`` (ResNetV2's pre-activation blocks end in
    ``*_3_conv``) its ``kernel`` and ``bias``: the branch's output is scaled by the
    gain, drawn uniformly in ``gains`` per branch (``numpy.random.default_rng(seed +
    2000)``).  Other branch ends (a ``Dropout``, a layer scale) are left alone.

    Why: in a deep random-weight residual network every block adds a unit-scale
    branch to the trunk, the activations grow with depth and float32 rounding is
    amplified until the output's own rounding error reaches the tolerance (ResNet152 at
    64x64: its float64 twin differs from it by 5e-4 of the logits' scale).  A small
    gain on the last normalization of each branch is the "zero-init residual gamma"
    practice of trained ResNets (Goyal et al. 2017, *Accurate, Large Minibatch SGD*,
    section 5.1), which keeps the trunk near the identity; the network stays
    input-sensitive (the trunk carries the input).  Calibrate the statistics after
    damping (:func:`calibrate_application` does).

    Args:
        model: a Keras functional model (nested models included).
        seed: the model's seed.
        gains: ``(lo, hi)`` of the uniform gains, ``0 < lo <= hi``.

    Returns:
        the names of the layers scaled, in model order.

    Raises:
        BadInputError: ``gains`` out of range.
    """
    lo, hi = gains
    if not 0 < lo <= hi:
        raise BadInputError(f"gains must satisfy 0 < lo <= hi, got {gains}")
    rng = np.random.default_rng(seed + 2000)
    damped: list[str] = []
    for layer in iter_layers(model):
        if not isinstance(layer, keras.layers.Add):
            continue
        for node in layer._inbound_nodes:
            branches = list(node.arguments.keras_tensors)
            if len(branches) < 2:
                continue
            lengths = [_branch_length(t) for t in branches]
            shortest = lengths.index(min(lengths))
            for i, tensor in enumerate(branches):
                end = _producer(tensor)[0]
                names = _AFFINE_ENDS.get(type(end).__name__)
                if i == shortest or names is None or end.name in damped:
                    continue
                gain = float(rng.uniform(lo, hi))
                for attr in names:
                    var = getattr(end, attr, None)
                    if isinstance(var, keras.Variable):
                        var.assign(np.asarray(var) * np.asarray(gain, dtype=var.dtype))
                damped.append(end.name)
    return damped


def reference_float_error(model: "keras.Model", inputs: np.ndarray) -> float:
    """The relative float32 error of ``model``'s logits on ``inputs``: ``max |y32 -
    y64| / max |y64|`` against its float64 twin
    (:func:`graphir.backends.keras.float64.float64_twin`, :mod:`graphir.conditioning`),
    where the logits are the head ``Dense``'s output without its activation
    (``x @ kernel + bias`` in float64 from the head's input), else the model's output.

    Raises:
        ValueError: the twin cannot be built.
    """
    from graphir.backends.keras.float64 import float64_twin
    from graphir.conditioning import relative_reference_error

    twin = float64_twin(model)
    head = model.outputs[0]._keras_history.operation
    x64 = np.asarray(inputs, np.float64)
    if len(model.outputs) == 1 and isinstance(head, keras.layers.Dense):
        kernel = np.asarray(head.kernel, np.float64)
        bias = np.asarray(head.bias, np.float64) if head.use_bias else 0.0
        y32 = np.asarray(keras.Model(model.inputs[0], head.input)(inputs, training=False),
                         np.float64) @ kernel + bias
        y64 = np.asarray(keras.Model(twin.inputs[0], twin.get_layer(head.name).input)(
            x64, training=False)) @ kernel + bias
        # y32's features are float32 TF's; the product is float64 on both sides
    else:
        y32 = np.asarray(model(inputs, training=False))
        y64 = np.asarray(twin(x64, training=False))
    return relative_reference_error(y32, y64)


def well_conditioned_limit() -> float:
    """The largest relative float error a float32 reference may have and still be held
    to the default tolerance: the tolerance's scale term (1e-4) over
    :data:`graphir.conditioning.AMPLIFICATION` (10), so that even a candidate error of
    ten times the reference's own stays inside it: 1e-5."""
    from graphir.conditioning import AMPLIFICATION
    from graphir.tolerance import tolerance_for

    return tolerance_for(np.dtype(np.float32)).atol_scale / AMPLIFICATION


def calibrate_application(model: "keras.Model", *, seed: int = 0,
                          rows: int = CALIBRATION_ROWS,
                          input_range: tuple[float, float] | None = None,
                          damp_residuals: bool | None = None,
                          details: dict | None = None) -> "keras.Model":
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
    stages): build those at 64x64.  Measured on every ``keras.applications`` model in
    ``benchmarks/verify_applications.py`` (results in ``benchmarks/RESULTS.md``).

    3. With ``damp_residuals=None`` (default): when the calibrated model's relative
       float error (:func:`reference_float_error`, on 4 rows of the batch) is above
       :func:`well_conditioned_limit` (1e-5), its residual branches are damped
       (:func:`damp_residual_branches`) and steps 1-2 are done again.  ResNet101, 152
       and 152V2 at 64x64 are ill-conditioned without it (float errors 3.5e-4..);
       models below the limit are left exactly as steps 1-2 make them.  ``True``
       damps before step 1 unconditionally, ``False`` never.

    Args:
        model: a single-input model built by :func:`build_application`.
        seed: the model's seed.
        rows: calibration batch size (>= 2).
        input_range: ``(lo, hi)`` of the uniform draw, or None for standard normal.
        damp_residuals: see step 3.
        details: when a dict, receives ``float_error`` (step 3's measure after steps
            1-2, None when not measured), ``damped`` (the layer names scaled) and
            ``float_error_damped`` (the measure after damping, None when not damped).

    Returns:
        ``model`` itself.
    """
    shape = (rows,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    rng = np.random.default_rng(seed + 1000)
    batch = (rng.standard_normal(shape) if input_range is None
             else rng.uniform(*input_range, shape)).astype(np.float32)
    info: dict = {"float_error": None, "damped": [], "float_error_damped": None}
    if damp_residuals:
        info["damped"] = damp_residual_branches(model, seed=seed)
    calibrate_statistics(model, batch)
    standardize_head(model, batch, seed=seed + 3)
    if damp_residuals is None:
        try:
            info["float_error"] = reference_float_error(model, batch[:4])
        except ValueError:
            info["float_error"] = None  # no float64 twin: nothing measured, nothing changed
        if info["float_error"] is not None and info["float_error"] > well_conditioned_limit():
            info["damped"] = damp_residual_branches(model, seed=seed)
            if info["damped"]:
                calibrate_statistics(model, batch)
                standardize_head(model, batch, seed=seed + 3)
                info["float_error_damped"] = reference_float_error(model, batch[:4])
    if details is not None:
        details.update(info)
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
