"""keras.applications models (seeded, small inputs): lower, emit, compare with the original."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.tf, pytest.mark.slow]

keras = pytest.importorskip("keras")

from graphir.backends.keras import from_keras, to_keras  # noqa: E402
from graphir.backends.keras.zoo import build_application, example_inputs  # noqa: E402
from graphir.verifier import verify_graph  # noqa: E402

# Small inputs keep CI time sane; every architecture still runs all its blocks.
SIZES = {"ResNet50": (64, 64, 3), "MobileNetV2": (96, 96, 3), "EfficientNetB0": (64, 64, 3)}


@pytest.fixture(scope="module", params=sorted(SIZES))
def application(request):
    name = request.param
    # logits, not probabilities: a softmax over 1000 classes would hide small errors
    model = build_application(name, input_shape=SIZES[name], seed=0, classifier_activation=None)
    return name, model


def test_application_lowers_emits_and_matches(application, run_model):
    name, model = application
    graph = verify_graph(from_keras(model))
    assert graph.name == model.name
    assert len(graph.nodes) == sum(1 for layer in model.layers
                                   if not isinstance(layer, keras.layers.InputLayer))
    stored = sum(int(np.prod(v.shape)) for v in model.weights if v.name != "count")
    assert graph.parameter_count() == stored
    emitted = to_keras(graph)
    assert [layer.name for layer in emitted.layers] == [layer.name for layer in model.layers]
    xs = example_inputs(model, batch=2, seed=0)
    want = run_model(model, xs)
    got = run_model(emitted, xs)
    assert want[0].shape == (2, 1000)
    assert np.std(want[0]) > 1e-3  # the comparison is not between two near-constant outputs
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)
