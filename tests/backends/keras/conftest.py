"""Session fixtures for the Keras backend tests: each example model is built, lowered
and emitted once per session (building Keras models dominates the run time)."""

from __future__ import annotations

import numpy as np
import pytest


def _run(model, inputs):
    """Outputs of ``model`` on ``inputs`` (inference mode) as a list of NumPy arrays."""
    import keras

    out = model(inputs[0] if len(inputs) == 1 else list(inputs), training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


@pytest.fixture(scope="session")
def run_model():
    return _run


@pytest.fixture(scope="session")
def examples():
    from graphir.backends.keras.zoo import example_models

    return {name: build() for name, build in example_models().items()}


@pytest.fixture(scope="session")
def example_inputs_by_name(examples):
    from graphir.backends.keras.zoo import example_inputs

    return {name: example_inputs(model, batch=2, seed=0) for name, model in examples.items()}


@pytest.fixture(scope="session")
def lowered(examples):
    from graphir.backends.keras import from_keras

    return {name: from_keras(model) for name, model in examples.items()}


@pytest.fixture(scope="session")
def emitted(lowered):
    from graphir.backends.keras import to_keras

    return {name: to_keras(graph) for name, graph in lowered.items()}


@pytest.fixture(scope="session")
def reference_outputs(examples, example_inputs_by_name):
    return {name: _run(model, example_inputs_by_name[name]) for name, model in examples.items()}
