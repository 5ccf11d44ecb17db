"""``zoo.damp_residual_branches`` and ``calibrate_application``'s damping of ill-conditioned
references (issue 9): the last affine layer of each residual branch is scaled, never the
shortcut; a ResNetV2-style branch ending in a convolution is scaled too; a
well-conditioned model is left exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
L = keras.layers


def _residual_net() -> "keras.Model":
    """Two ResNet-v1 blocks (a projection block: shortcut conv+BN; an identity block)
    and one pre-activation (v2) block whose branch ends in a convolution."""
    keras.utils.set_random_seed(0)
    x = keras.Input((8, 8, 3), name="img")
    h = L.Conv2D(8, 3, padding="same", name="stem")(x)
    # v1 projection block
    s = L.BatchNormalization(name="b1_0_bn")(L.Conv2D(16, 1, name="b1_0_conv")(h))
    r = L.Activation("relu", name="b1_1_relu")(
        L.BatchNormalization(name="b1_1_bn")(L.Conv2D(16, 3, padding="same", name="b1_1_conv")(h)))
    r = L.BatchNormalization(name="b1_2_bn")(L.Conv2D(16, 3, padding="same", name="b1_2_conv")(r))
    h = L.Activation("relu", name="b1_out")(L.Add(name="b1_add")([s, r]))
    # v1 identity block
    r = L.Activation("relu", name="b2_1_relu")(
        L.BatchNormalization(name="b2_1_bn")(L.Conv2D(16, 3, padding="same", name="b2_1_conv")(h)))
    r = L.BatchNormalization(name="b2_2_bn")(L.Conv2D(16, 3, padding="same", name="b2_2_conv")(r))
    h = L.Activation("relu", name="b2_out")(L.Add(name="b2_add")([h, r]))
    # v2 pre-activation block, identity shortcut, branch ends in a conv
    p = L.Activation("relu", name="b3_preact_relu")(L.BatchNormalization(name="b3_preact_bn")(h))
    r = L.Conv2D(16, 3, padding="same", name="b3_1_conv")(p)
    r = L.Conv2D(16, 1, name="b3_2_conv")(L.Activation("relu", name="b3_1_relu")(r))
    h = L.Add(name="b3_add")([h, r])
    out = L.Dense(4, name="head")(L.GlobalAveragePooling2D(name="gap")(h))
    model = keras.Model(x, out, name="resnet_like")
    rng = np.random.default_rng(1)
    for w in model.weights:  # nonzero offsets, so scaling them shows
        if w.path.endswith(("/beta", "/bias")):
            w.assign(rng.normal(0.0, 0.1, tuple(w.shape)).astype(np.float32))
    return model


def test_damp_scales_the_branch_ends_and_never_the_shortcuts():
    from graphir.backends.keras.zoo import RESIDUAL_GAINS, damp_residual_branches

    model = _residual_net()
    before = {w.path: np.asarray(w).copy() for w in model.weights}
    damped = damp_residual_branches(model, seed=0)
    assert damped == ["b1_2_bn", "b2_2_bn", "b3_2_conv"]
    after = {w.path: np.asarray(w) for w in model.weights}
    changed = {p for p in before if not np.array_equal(before[p], after[p])}
    assert changed == {"b1_2_bn/gamma", "b1_2_bn/beta", "b2_2_bn/gamma", "b2_2_bn/beta",
                       "b3_2_conv/kernel", "b3_2_conv/bias"}
    lo, hi = RESIDUAL_GAINS
    for path in changed:
        gain = after[path] / before[path]
        assert np.allclose(gain, gain.flat[0]) and lo <= gain.flat[0] <= hi
    # the gains are seeded: the same on a fresh copy
    again = _residual_net()
    damp_residual_branches(again, seed=0)
    assert all(np.array_equal(np.asarray(w), after[w.path]) for w in again.weights)


def test_auto_damping_leaves_a_well_conditioned_model_unchanged():
    from graphir.backends.keras.zoo import calibrate_application, well_conditioned_limit

    auto, never = _residual_net(), _residual_net()
    details: dict = {}
    calibrate_application(auto, seed=0, details=details)
    calibrate_application(never, seed=0, damp_residuals=False)
    assert details["float_error"] is not None
    assert details["float_error"] <= well_conditioned_limit() == pytest.approx(1e-5)
    assert details["damped"] == [] and details["float_error_damped"] is None
    for a, b in zip(auto.weights, never.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_reference_float_error_sees_cancellation():
    """The float64-twin measure on ``x @ A - x @ B`` (A ~ B): far above the limit, while
    the same model with B independent of A is well-conditioned."""
    from graphir.backends.keras.zoo import reference_float_error, well_conditioned_limit

    rng = np.random.default_rng(0)
    x = keras.Input((256,), name="x")
    model = keras.Model(x, L.Subtract(name="d")([L.Dense(8, name="a")(x),
                                                 L.Dense(8, name="b")(x)]))
    a = rng.standard_normal((256, 8)).astype(np.float32)
    inputs = rng.standard_normal((4, 256)).astype(np.float32)
    model.get_layer("a").set_weights([a, np.zeros(8, np.float32)])
    model.get_layer("b").set_weights([(a + 1e-4 * rng.standard_normal((256, 8))).astype(
        np.float32), np.zeros(8, np.float32)])
    assert reference_float_error(model, inputs) > 10 * well_conditioned_limit()
    model.get_layer("b").set_weights([rng.standard_normal((256, 8)).astype(np.float32),
                                      np.zeros(8, np.float32)])
    assert reference_float_error(model, inputs) < well_conditioned_limit()
