"""One model per everyday layer family (:mod:`graphir.backends.keras.examples_layers`),
converted the way a user converts it and checked outside graphir.

Each model is saved to ``.keras``, converted with the CLI (``graphir convert m.keras
m.onnx`` and ``graphir convert m.keras out.keras``), and the results are run by
onnxruntime and by Keras itself (``load_model(..., safe_mode=True)``) and compared with
the original model's outputs on seeded inputs: nothing of graphir runs in the
comparison.  (The same models also go through every test over the example zoo.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from click.testing import CliRunner  # noqa: E402

from graphir.backends.keras.examples_layers import layer_family_examples  # noqa: E402
from graphir.app.cli import cli  # noqa: E402

SEED = 7
FAMILIES = layer_family_examples()


# --------------------------------------------------------------------------- the check

def _inputs(model: "keras.Model", batch: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(SEED + 1)
    arrays = []
    for t in model.inputs:
        shape = (batch, *[4 if d is None else d for d in t.shape[1:]])
        if "int" in str(t.dtype):
            arrays.append(rng.integers(0, 20, shape).astype(str(t.dtype)))
        else:
            arrays.append(rng.standard_normal(shape).astype("float32"))
    return arrays


def _outputs(model: "keras.Model", inputs: list[np.ndarray]) -> list[np.ndarray]:
    out = model(inputs[0] if len(inputs) == 1 else inputs, training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Callable[[str], tuple[Path, list, list]]:
    """family -> (its .keras file, seeded inputs, Keras' outputs); each built once."""
    folder = tmp_path_factory.mktemp("families")
    cache: dict[str, tuple[Path, list, list]] = {}

    def get(name: str) -> tuple[Path, list, list]:
        if name not in cache:
            keras.utils.set_random_seed(SEED)
            model = FAMILIES[name]()
            path = folder / f"{name}.keras"
            model.save(path)
            inputs = _inputs(model)
            cache[name] = (path, inputs, _outputs(model, inputs))
        return cache[name]
    return get


def _convert(src: Path, dst: Path) -> None:
    result = CliRunner().invoke(cli, ["convert", str(src), str(dst)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert dst.is_file()


def _close(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_converted_onnx_matches_keras(family, saved, tmp_path):
    path, inputs, expected = saved(family)
    dst = tmp_path / f"{family}.onnx"
    _convert(path, dst)
    session = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
    feeds = {i.name: a for i, a in zip(session.get_inputs(), inputs)}
    _close(session.run(None, feeds), expected)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_converted_keras_matches_keras(family, saved, tmp_path):
    path, inputs, expected = saved(family)
    dst = tmp_path / "converted.keras"
    _convert(path, dst)
    reloaded = keras.saving.load_model(dst, safe_mode=True)
    _close(_outputs(reloaded, inputs), expected)
