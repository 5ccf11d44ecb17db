"""The tolerance policy for comparing a candidate runtime's outputs with a reference's.

Policy (``specs/verification.md`` states it for users):

* shapes must be equal, and dtypes of the same kind (float vs int vs bool);
* integer and bool outputs must be equal element for element;
* float outputs: NaN must sit at the same positions in both (NaN == NaN there);
  infinities must match in position and sign; every finite pair must satisfy
  ``|candidate - reference| <= atol + rtol * |reference|`` — the convention of
  ``numpy.isclose`` and ``numpy.testing.assert_allclose``, asymmetric: the
  reference scales the tolerance;
* default ``rtol``/``atol`` per reference dtype: see :data:`DEFAULT_TOLERANCES`.

Reported errors: ``max_abs_err = max |c - r|`` and
``max_rel_err = max |c - r| / max(|r|, eps)`` over finite pairs, with ``eps`` the
machine epsilon of the reference dtype (so an exact zero reference does not divide
by zero).  Both are 0.0 when there are no finite pairs.
"""

from __future__ import annotations

import attrs
import numpy as np

__all__ = ["Tolerance", "DEFAULT_TOLERANCES", "tolerance_for", "ArrayComparison", "compare_arrays"]


@attrs.frozen
class Tolerance:
    """Relative and absolute tolerance (``numpy.isclose`` convention)."""

    rtol: float
    atol: float


#: reference dtype name -> default tolerance.  float32 follows the project's
#: acceptance bound (1e-4 / 1e-4); float16 has ~3 decimal digits; float64 ~15.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float16": Tolerance(1e-2, 1e-2),
    "float32": Tolerance(1e-4, 1e-4),
    "float64": Tolerance(1e-7, 1e-7),
}


def tolerance_for(dtype: np.dtype, *, rtol: float | None = None,
                  atol: float | None = None) -> Tolerance:
    """The tolerance for a reference of ``dtype``: the default, overridden by rtol/atol.

    Integer and bool dtypes get ``Tolerance(0, 0)`` (exact) unless overridden.
    """
    base = DEFAULT_TOLERANCES.get(np.dtype(dtype).name, Tolerance(0.0, 0.0))
    return Tolerance(base.rtol if rtol is None else rtol, base.atol if atol is None else atol)


@attrs.frozen
class ArrayComparison:
    """The outcome of comparing one output array pair.

    Attributes:
        passed: True when the pair satisfies the policy.
        max_abs_err: ``max |c - r|`` over finite pairs (0.0 if none).
        max_rel_err: ``max |c - r| / max(|r|, eps)`` over finite pairs (0.0 if none).
        mismatches: number of elements outside tolerance (incl. NaN/Inf mismatches).
        tolerance: the tolerance applied.
        reason: why it failed ("" when it passed), e.g. a shape mismatch.
    """

    passed: bool
    max_abs_err: float
    max_rel_err: float
    mismatches: int
    tolerance: Tolerance
    reason: str = ""


def compare_arrays(reference: np.ndarray, candidate: np.ndarray, *,
                   rtol: float | None = None, atol: float | None = None) -> ArrayComparison:
    """Compare ``candidate`` with ``reference`` under the policy in the module docstring.

    Args:
        reference: the trusted output (e.g. the original Keras model in TF).
        candidate: the output under test, same shape.
        rtol, atol: override the per-dtype defaults.

    Returns:
        an :class:`ArrayComparison`; this function does not raise on a mismatch.
    """
    r, c = np.asarray(reference), np.asarray(candidate)
    tol = tolerance_for(r.dtype, rtol=rtol, atol=atol)
    if r.shape != c.shape:
        return ArrayComparison(False, float("nan"), float("nan"), max(r.size, c.size), tol,
                               f"shape {c.shape} differs from the reference's {r.shape}")
    kinds = {r.dtype.kind, c.dtype.kind}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        return ArrayComparison(False, float("nan"), float("nan"), r.size, tol,
                               f"dtype {c.dtype} differs in kind from the reference's {r.dtype}")
    if r.dtype.kind in "iub":
        diff = np.abs(r.astype(np.float64) - c.astype(np.float64))
        bad = diff > tol.atol + tol.rtol * np.abs(r.astype(np.float64))
        mx = float(diff.max()) if diff.size else 0.0
        denom = np.maximum(np.abs(r.astype(np.float64)), 1.0)
        rel = float((diff / denom).max()) if diff.size else 0.0
        n = int(bad.sum())
        return ArrayComparison(n == 0, mx, rel, n, tol, "" if n == 0 else
                               f"{n} of {r.size} elements differ")
    r64, c64 = r.astype(np.float64), c.astype(np.float64)
    rnan, cnan = np.isnan(r64), np.isnan(c64)
    rinf, cinf = np.isinf(r64), np.isinf(c64)
    nonfinite_bad = (rnan != cnan) | (rinf != cinf) | (rinf & cinf & (np.sign(r64) != np.sign(c64)))
    finite = np.isfinite(r64) & np.isfinite(c64)
    diff = np.abs(c64[finite] - r64[finite])
    rabs = np.abs(r64)[finite]
    finite_bad = diff > tol.atol + tol.rtol * rabs
    eps = float(np.finfo(r.dtype).eps)
    mx = float(diff.max()) if diff.size else 0.0
    rel = float((diff / np.maximum(rabs, eps)).max()) if diff.size else 0.0
    n = int(nonfinite_bad.sum() + finite_bad.sum())
    reason = ""
    if n:
        parts = []
        if nonfinite_bad.any():
            parts.append(f"{int(nonfinite_bad.sum())} NaN/Inf positions differ")
        if finite_bad.any():
            parts.append(f"{int(finite_bad.sum())} of {r.size} elements outside "
                         f"rtol={tol.rtol:g} atol={tol.atol:g}")
        reason = "; ".join(parts)
    return ArrayComparison(n == 0, mx, rel, n, tol, reason)
