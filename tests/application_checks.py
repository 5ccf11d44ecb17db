"""Comparison helpers shared by the keras.applications tests (lowering and the ONNX
round trip): a model's outputs as NumPy arrays, and an rtol/atol check with the atol
scaled to the reference's magnitude (the 1e-4 of the issues' acceptance checks)."""

from __future__ import annotations

import numpy as np

TOL = 1e-4


def outputs(model, xs) -> list[np.ndarray]:
    """``model`` called on ``xs`` (one array or a list) at inference, as a list of arrays."""
    out = model(xs[0] if len(xs) == 1 else xs, training=False)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def assert_close(got, want, what: str, *, require_varied: bool = False) -> None:
    """Each output within rtol ``TOL`` and atol ``TOL * max|want|``, same shape and dtype;
    with ``require_varied``, a reference whose spread is below 1% of its magnitude fails
    (a near-constant output would make the comparison vacuous)."""
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        scale = float(np.abs(w).max())
        if require_varied:
            assert np.std(w) > 1e-2 * scale, f"{what}: near-constant reference output"
        assert g.shape == w.shape and g.dtype == w.dtype, what
        np.testing.assert_allclose(g, w, rtol=TOL, atol=TOL * scale, err_msg=what)
