"""Seeded, plausible random statistics for normalization layers.

A freshly built model has BatchNormalization gamma=1, beta=0, mean=0, variance=1,
LayerNormalization gamma=1, beta=0, and unadapted Normalization layers with mean=0,
variance=1: an emitter that drops
or swaps those tensors still reproduces the outputs.  Randomizing them (within
ranges that keep a deep network numerically tame) makes such mistakes visible.
"""

from __future__ import annotations

from typing import Any, Iterator

import keras
import numpy as np

__all__ = ["calibrate_statistics", "iter_layers", "randomize_biases", "randomize_statistics",
           "standardize_head"]


def iter_layers(model: Any) -> Iterator[Any]:
    """Every layer of ``model``, nested models' layers and the layers inside wrappers
    (``TimeDistributed``, ``Bidirectional``: ``.layer``, ``.forward_layer``,
    ``.backward_layer``) included (depth first, each once)."""
    seen: set[int] = set()
    stack = list(reversed(model.layers))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        if isinstance(layer, keras.Model):
            stack.extend(reversed(layer.layers))
        elif isinstance(layer, (keras.layers.Wrapper, keras.layers.Bidirectional)):
            inner = [getattr(layer, a, None) for a in ("layer", "forward_layer", "backward_layer")]
            stack.extend(reversed([x for x in inner if isinstance(x, keras.layers.Layer)]))


def _assign(variable: Any, values: np.ndarray) -> None:
    variable.assign(values.reshape(tuple(variable.shape)).astype(variable.dtype))


def randomize_statistics(model: Any, seed: int = 0, *,
                         gamma: tuple[float, float] = (0.5, 1.5)) -> Any:
    """Set normalization statistics of ``model`` to seeded random values, in place.

    * BatchNormalization: gamma ~ U(*gamma) (if ``scale``), beta ~ N(0, 0.1) (if
      ``center``), moving_mean ~ N(0, 0.1), moving_variance ~ U(0.5, 1.5);
    * LayerNormalization: gamma ~ U(*gamma), beta ~ N(0, 0.1) (those it has);
    * Normalization whose statistics are unadapted variables (mean all 0 and
      variance all 1, Keras' initial values): mean ~ N(0, 0.1), variance ~ U(0.5, 1.5).

    Layers are visited in :func:`iter_layers` order from one
    ``numpy.random.default_rng(seed)``, so the same model and seed give the same values.

    Args:
        model: the Keras model (nested models included).
        seed: the seed of every value.
        gamma: the range of the normalization gains.  The default (0.5, 1.5) makes a
            dropped or swapped gain visible; very deep residual networks need a range
            below 1 (for example (0.5, 1.0)), or their random activations grow block
            after block until float32 rounding decides the result (EfficientNetV2M/L:
            TensorFlow itself then differs from a float64 reference by ~80%).

    Returns:
        ``model`` itself.
    """
    rng = np.random.default_rng(seed)
    for layer in iter_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.built:
            n = int(np.prod(layer.moving_mean.shape))
            if layer.scale:
                _assign(layer.gamma, rng.uniform(*gamma, n))
            if layer.center:
                _assign(layer.beta, rng.normal(0.0, 0.1, n))
            _assign(layer.moving_mean, rng.normal(0.0, 0.1, n))
            _assign(layer.moving_variance, rng.uniform(0.5, 1.5, n))
        elif isinstance(layer, keras.layers.LayerNormalization) and layer.built:
            if layer.gamma is not None:
                _assign(layer.gamma, rng.uniform(*gamma, int(np.prod(layer.gamma.shape))))
            if layer.beta is not None:
                _assign(layer.beta, rng.normal(0.0, 0.1, int(np.prod(layer.beta.shape))))
        elif (isinstance(layer, keras.layers.Normalization) and layer.built
              and layer.input_mean is None):
            mean, var = layer.adapt_mean, layer.adapt_variance
            if np.all(mean.numpy() == 0) and np.all(var.numpy() == 1):
                n = int(np.prod(mean.shape))
                _assign(mean, rng.normal(0.0, 0.1, n))
                _assign(var, rng.uniform(0.5, 1.5, n))
                layer.finalize_state()
    return model


def randomize_biases(model: "keras.Model", rng: np.random.Generator) -> None:
    """Give every layer's ``bias`` variable seeded N(0, 0.1) values (Keras initializes
    biases to zero, which would hide a dropped or misplaced bias in emission)."""
    for layer in iter_layers(model):
        bias = getattr(layer, "bias", None)
        if isinstance(bias, keras.Variable):
            bias.assign(rng.normal(0.0, 0.1, tuple(bias.shape)).astype(bias.dtype))


def calibrate_statistics(model: Any, inputs: Any) -> Any:
    """Set every BatchNormalization's moving statistics to the batch statistics its
    input has when ``model`` runs on ``inputs``, in place.

    Random-weight networks with made-up statistics (:func:`randomize_statistics`)
    drift layer after layer until their activations saturate and the output no longer
    depends on the input (a MobileNetV2 whose batch rows differ by 3.5e-10): such a
    reference verifies nothing.  Calibrated statistics keep every normalized value at
    zero mean and unit variance per channel (times the layer's gamma, plus beta), as
    a trained network has, so the output reacts to its input.  Gains and offsets are
    kept (randomize them first).

    How: one forward pass with ``training=True`` and every BatchNormalization's
    ``momentum`` set to 0, so Keras replaces each moving statistic by the batch's
    (``moving = momentum * moving + (1 - momentum) * batch``, Keras'
    ``BatchNormalization.call``); in inference mode each layer then sees the inputs
    it was calibrated on.  Dropout is active during that pass (Keras' training
    mode), which perturbs the statistics slightly.

    Args:
        model: the Keras model (nested models included).
        inputs: what ``model`` is called with: arrays shaped like its inputs, drawn
            like the inputs it will be verified on (e.g. standard normal).

    Returns:
        ``model`` itself.
    """
    layers = [layer for layer in iter_layers(model)
              if isinstance(layer, keras.layers.BatchNormalization) and layer.built
              and layer.trainable]
    saved = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0
        model(inputs, training=True)
    finally:
        for layer, momentum in zip(layers, saved):
            layer.momentum = momentum
    return model


def standardize_head(model: Any, inputs: Any, *, seed: int = 0) -> bool:
    """Redraw the kernel and bias of ``model``'s classifier head so that its logits vary
    by about 1 over ``inputs``, in place; seeded.

    The head is the ``Dense`` layer that produces ``model``'s only output (any
    activation, e.g. ``softmax``).  A random-weight network without normalization
    (VGG16: ReLU layers with zero biases shrink the signal ~2x per layer) gives logits of
    ~1e-4, so its 1000 softmax probabilities are all ~1e-3 and two inputs give outputs
    that agree to 2e-4: an insensitive reference (:mod:`graphir.sensitivity`).  The
    redrawn kernel is ``N(0, 1) / (std_j * sqrt(d))`` for input feature ``j`` of ``d``
    (``std_j`` its spread over ``inputs``, floored at 1% of the largest so dead features
    do not get huge weights) and the bias ``-mean @ kernel``, so each logit is about
    ``N(0, 1)`` over inputs like ``inputs``.

    Args:
        model: a single-output Keras model.
        inputs: what ``model`` is called with (arrays like its inputs), e.g. the
            batch-norm calibration batch.
        seed: seeds the ``numpy.random.default_rng`` drawing the kernel.

    Returns:
        True when a head was standardized; False (model unchanged) when the output is
        not produced by a ``Dense`` layer or the model has several outputs.
    """
    if len(model.outputs) != 1:
        return False
    head = model.outputs[0]._keras_history.operation
    if not isinstance(head, keras.layers.Dense) or not head.use_bias:
        return False
    sources = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    features = np.asarray(keras.Model(sources, head.input)(inputs, training=False), np.float64)
    features = features.reshape(-1, features.shape[-1])
    std = features.std(axis=0)
    std = np.maximum(std, 1e-2 * float(std.max()) if std.max() > 0 else 1.0)
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0.0, 1.0, tuple(head.kernel.shape)) / (std[:, None]
                                                                * np.sqrt(std.size))
    head.kernel.assign(kernel.astype(np.float32))
    head.bias.assign((-(features.mean(axis=0) @ kernel)).astype(np.float32))
    return True
