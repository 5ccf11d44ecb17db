"""Comparison helpers shared by the Keras tests (the keras.applications ones, the
keras.ops and keras_hub ones): a model's outputs as NumPy arrays, an rtol/atol check
with the atol scaled to the reference's magnitude (the 1e-4 of the issues' acceptance
checks), an onnxruntime session, and an emitted ``.keras`` run in a fresh process that
never imported graphir nor the model's own code."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import numpy as np

TOL = 1e-4


def outputs(model, xs) -> list[np.ndarray]:
    """``model`` called on ``xs`` (one array or a list) at inference, as a list of arrays."""
    import keras

    out = model(xs[0] if len(xs) == 1 else xs, training=False)
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def assert_close(got, want, what: str, *, require_varied: bool = False) -> None:
    """Each output within rtol ``TOL`` and atol ``TOL * max|want|`` (over its finite
    entries; a NaN must be NaN, as ``assert_allclose`` compares them), same shape and
    dtype; with ``require_varied``, a reference whose spread is below 1% of its magnitude
    fails (a near-constant output would make the comparison vacuous)."""
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        finite = np.abs(w[np.isfinite(w)]) if np.asarray(w).dtype.kind == "f" else np.abs(w)
        scale = float(finite.max()) if finite.size else 0.0
        if require_varied:
            assert np.std(w) > 1e-2 * scale, f"{what}: near-constant reference output"
        assert g.shape == w.shape and g.dtype == w.dtype, what
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL * scale, err_msg=what)


def onnx_session(model, folder: Path, name: str):
    """An onnxruntime CPU session (2 threads) of ``model``, saved in ``folder`` with its
    initializers as external data: ``save_model`` moves each initializer out of the proto
    as it writes it, so the weights are never held twice (``SerializeToString`` would
    briefly hold them three times).  The caller drops its own reference to ``model``."""
    import onnx
    import onnxruntime as ort

    path = Path(folder) / f"{name}.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=f"{name}.onnx.data",
                    size_threshold=1024)
    gc.collect()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


_FRESH_PREDICT = """
import sys, numpy as np, keras
m = keras.saving.load_model(sys.argv[1], safe_mode=True)
f = np.load(sys.argv[2])
xs = [f[f"arr_{k}"] for k in range(len(f.files))]
out = m.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
np.savez(sys.argv[3], *keras.tree.flatten(out))
print(sorted(k.split(".")[0] for k in sys.modules if k.split(".")[0] in sys.argv[4:]))
"""


def predict_in_fresh_process(path: Path, xs, *, absent=("graphir",)) -> list[np.ndarray]:
    """The ``.keras`` file ``path`` loaded with ``safe_mode=True`` in a new Python
    process and run on ``xs`` (a list of arrays, by position): its outputs.  Asserts
    that the process exits cleanly and never imported a module named in ``absent``
    (graphir, or the custom code the original model needed)."""
    path = Path(path)
    feeds, out_path = path.with_suffix(".in.npz"), path.with_suffix(".out.npz")
    np.savez(feeds, *xs)
    run = subprocess.run([sys.executable, "-c", _FRESH_PREDICT, str(path), str(feeds),
                          str(out_path), *absent], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout
    got = np.load(out_path)
    return [got[f"arr_{k}"] for k in range(len(got.files))]


def reloaded_emissions(graphs, folder: Path) -> dict:
    """``name -> graph`` emitted as Keras, saved in ``folder`` and loaded back with
    ``safe_mode=True`` (in this process): ``name -> keras.Model``."""
    import keras

    from graphir.backends.keras import save_keras, to_keras

    out = {}
    for name, graph in graphs.items():
        path = Path(folder) / f"{name}.keras"
        save_keras(to_keras(graph), path)
        out[name] = keras.saving.load_model(path, safe_mode=True, compile=False)
    return out


def assert_close_scaled(got, want) -> None:
    """One output: same shape, within rtol ``TOL`` and atol ``TOL * max(1, max|want|)``."""
    assert got.shape == want.shape
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL * scale)


def assert_named_outputs(names, got, want, tol: float = 1e-5) -> None:
    """Outputs named ``names``: the same count, dtype and shape; floats within rtol and
    atol ``tol``, every other dtype exactly."""
    assert len(got) == len(want) == len(names)
    for name, g, w in zip(names, got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (name, g.dtype, g.shape, w.shape)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def three_input_model(build, *, name: str, seed: int, img_shape: tuple[int, ...]):
    """A seeded functional model of inputs ``x`` float32 (4, 6), ``img`` float32
    ``img_shape`` and ``i`` int32 (5,), whose outputs are the dict ``build(x, img, i)``
    returns (name -> tensor): ``(model, output names)``, the keras.ops test modules'
    many-output model."""
    import keras

    keras.utils.set_random_seed(seed)
    x = keras.Input((4, 6), name="x")
    img = keras.Input(img_shape, name="img")
    i = keras.Input((5,), dtype="int32", name="i")
    outs = build(x, img, i)
    return keras.Model([x, img, i], list(outs.values()), name=name), list(outs)


def three_input_arrays(*, seed: int, img_shape: tuple[int, ...], int_high: int):
    """Seeded arrays for :func:`three_input_model` (batch 3): normal floats, integers in
    ``[-int_high, int_high)``."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 4, 6)).astype(np.float32),
            rng.normal(size=(3, *img_shape)).astype(np.float32),
            rng.integers(-int_high, int_high, size=(3, 5)).astype(np.int32)]


def assert_converts_like_keras(model, *, seed: int = 0, int_high: int = 5) -> None:
    """``graphir.from_keras(model)`` lowers, and its ONNX (onnxruntime) and emitted Keras
    model match Keras at inference on seeded inputs (one per graph input: floats normal,
    ints in ``[0, int_high)`` (0 included, so masks from ``mask_zero`` mask steps), bools
    random; batch 2 and 2 for every unknown size), within :func:`assert_close`."""
    import onnxruntime as ort

    from graphir.backends.keras import from_keras, to_keras
    from graphir.backends.onnx import to_onnx

    graph = from_keras(model)
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in graph.inputs:
        shape = [d if isinstance(d, int) else 2 for d in value.type.shape]
        dtype = value.type.dtype.value
        if dtype == "bool":
            feeds[value.name] = rng.random(shape) > 0.3
        elif "int" in dtype:
            feeds[value.name] = rng.integers(0, int_high, size=shape).astype(dtype)
        else:
            feeds[value.name] = rng.normal(size=shape).astype(dtype)
    xs = list(feeds.values())
    want = outputs(model, xs)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    assert_close(session.run(None, feeds), want, f"{model.name}: onnx")
    assert_close(outputs(to_keras(graph), xs), want, f"{model.name}: keras")
