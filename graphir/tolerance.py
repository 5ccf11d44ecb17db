"""The tolerance policy for comparing a candidate runtime's outputs with a reference's.

Policy (``specs/verification.md`` states it for users, with its sources):

* shapes must be equal, and dtypes of the same kind (float vs int vs bool);
* integer and bool outputs must be equal element for element;
* float outputs, per output array ``r`` (reference) and ``c`` (candidate), with
  ``S = max |r|`` over the reference's finite elements (the output's *scale*):
  every finite pair must satisfy

      ``|c - r| <= atol + atol_scale * S + rtol * |r|``

  i.e. the ``numpy.isclose`` convention (asymmetric: the reference scales the bound)
  with an absolute term that follows the output's magnitude.  Relative error is thus
  judged where it is meaningful (elements comparable to ``S``), and elements near
  zero, where float cancellation makes relative error meaningless, are held to a
  small fraction of the output's scale instead of to a fixed constant that would be
  10% of a 1000-class softmax probability;
* NaN is a mismatch unless ``nan_equal`` (then NaN at the same positions compares
  equal); ±Inf at the same positions with the same sign compare equal; an output
  with no finite element at all fails unless ``nan_equal``: it verifies nothing;
* default tolerances per reference dtype: :data:`DEFAULT_TOLERANCES`.  An explicit
  ``atol`` is absolute (``atol_scale`` is then 0), as in ``numpy.isclose``.

Statistics (:class:`ArrayComparison`): max / mean / median / 99th percentile of the
absolute error ``|c - r|`` and of the relative error ``|c - r| / max(|r|, tiny)``
(``tiny`` the reference dtype's smallest normal number) over finite pairs, the
index of the worst element (largest error relative to its bound), the number of
mismatches, and the smallest ``rtol`` (at the applied absolute terms) and the
smallest absolute tolerance (at the applied ``rtol``) that would have passed.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

__all__ = ["Tolerance", "DEFAULT_TOLERANCES", "tolerance_for", "ArrayComparison",
           "compare_arrays", "parse_tolerance"]


@attrs.frozen
class Tolerance:
    """The bound ``atol + atol_scale * S + rtol * |r|`` on ``|c - r|`` (see the module).

    Attributes:
        rtol: relative tolerance (dimensionless, >= 0).
        atol: absolute tolerance, in the output's units (>= 0).
        atol_scale: absolute tolerance as a fraction of the output's scale
            ``S = max |reference|`` (dimensionless, >= 0).
    """

    rtol: float
    atol: float
    atol_scale: float = 0.0

    def __attrs_post_init__(self) -> None:
        for field in ("rtol", "atol", "atol_scale"):
            v = getattr(self, field)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"tolerance {field} must be a finite number >= 0, got {v!r}")

    def bound(self, reference_abs: np.ndarray, scale: float) -> np.ndarray:
        """The per-element bound for references of magnitude ``reference_abs``."""
        return self.atol + self.atol_scale * scale + self.rtol * reference_abs


#: reference dtype name -> default tolerance.  rtol 1e-3 for float32 is the onnx
#: backend tests' default; the absolute floor 1e-7 is theirs too; ``atol_scale``
#: 1e-4 of the output's scale covers the cancellation error of deep float32 networks
#: (TF vs onnxruntime on the keras.applications models) while a 1% change of any
#: element comparable to the scale (a weight x1.01, an output x1.01) is caught.
#: float16 keeps ~3 decimal digits, float64 ~15.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float16": Tolerance(1e-2, 1e-4, 1e-2),
    "bfloat16": Tolerance(2e-2, 1e-4, 2e-2),
    "float32": Tolerance(1e-3, 1e-7, 1e-4),
    "float64": Tolerance(1e-6, 1e-12, 1e-8),
}


def tolerance_for(dtype: np.dtype | str, *, rtol: float | None = None,
                  atol: float | None = None) -> Tolerance:
    """The tolerance for a reference of ``dtype``: the default, overridden by rtol/atol.

    Integer and bool dtypes get ``Tolerance(0, 0)`` (exact) unless overridden.  An
    explicit ``atol`` is absolute and turns the scale term off (``atol_scale = 0``).

    Raises:
        ValueError: ``rtol``/``atol`` negative or not finite.
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    base = DEFAULT_TOLERANCES.get(name, Tolerance(0.0, 0.0))
    return Tolerance(base.rtol if rtol is None else float(rtol),
                     base.atol if atol is None else float(atol),
                     base.atol_scale if atol is None else 0.0)


def parse_tolerance(text: str) -> tuple[str, float, float]:
    """Parse ``NAME=RTOL,ATOL`` (the CLI's ``--tol``) into ``(name, rtol, atol)``.

    Raises:
        ValueError: not of that form, or a number negative or not finite.
    """
    name, sep, rest = text.rpartition("=")
    parts = rest.split(",")
    if not sep or not name or len(parts) != 2:
        raise ValueError(f"expected NAME=RTOL,ATOL, got {text!r}")
    try:
        rtol, atol = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"expected numbers in NAME=RTOL,ATOL, got {text!r}") from None
    Tolerance(rtol, atol)  # validates
    return name, rtol, atol


@attrs.frozen
class ArrayComparison:
    """The outcome of comparing one output array pair.

    Attributes:
        passed: True when the pair satisfies the policy.
        max_abs_err, mean_abs_err, median_abs_err, p99_abs_err: statistics of
            ``|c - r|`` over finite pairs (0.0 if none; NaN when shapes/kinds differ).
        max_rel_err, mean_rel_err, median_rel_err, p99_rel_err: the same for
            ``|c - r| / max(|r|, tiny)``.
        mismatches: number of elements outside tolerance (incl. NaN/Inf mismatches).
        tolerance: the tolerance applied.
        reason: why it failed ("" when it passed), e.g. a shape mismatch.
        worst_index: index (a tuple) of the element with the largest error relative
            to its bound, or None when there is no finite pair.
        scale: ``S = max |r|`` over the reference's finite elements.
        min_rtol: the smallest rtol that passes the finite pairs at the applied
            absolute terms (0.0 when they pass with rtol 0).
        min_atol: the smallest absolute tolerance (used alone, with the applied
            rtol and no scale term) that passes the finite pairs.
        size: number of elements compared.
    """

    passed: bool
    max_abs_err: float
    max_rel_err: float
    mismatches: int
    tolerance: Tolerance
    reason: str = ""
    mean_abs_err: float = 0.0
    median_abs_err: float = 0.0
    p99_abs_err: float = 0.0
    mean_rel_err: float = 0.0
    median_rel_err: float = 0.0
    p99_rel_err: float = 0.0
    worst_index: tuple[int, ...] | None = None
    scale: float = 0.0
    min_rtol: float = 0.0
    min_atol: float = 0.0
    size: int = 0


def _failed(reason: str, tol: Tolerance, size: int) -> ArrayComparison:
    nan = float("nan")
    return ArrayComparison(False, nan, nan, size, tol, reason, nan, nan, nan, nan, nan, nan,
                           None, nan, nan, nan, size)


def compare_arrays(reference: np.ndarray, candidate: np.ndarray, *,
                   rtol: float | None = None, atol: float | None = None,
                   tolerance: Tolerance | None = None, nan_equal: bool = False
                   ) -> ArrayComparison:
    """Compare ``candidate`` with ``reference`` under the policy in the module docstring.

    Args:
        reference: the trusted output (e.g. the original Keras model in TF).
        candidate: the output under test, same shape.
        rtol, atol: override the per-dtype defaults (see :func:`tolerance_for`).
        tolerance: the tolerance to apply (wins over ``rtol``/``atol``).
        nan_equal: NaN at the same positions counts as equal, and an output without
            finite elements may pass.

    Returns:
        an :class:`ArrayComparison`; this function does not raise on a mismatch.

    Raises:
        ValueError: ``rtol``/``atol`` negative or not finite.
    """
    r, c = np.asarray(reference), np.asarray(candidate)
    tol = tolerance or tolerance_for(r.dtype, rtol=rtol, atol=atol)
    if r.shape != c.shape:
        return _failed(f"shape {c.shape} differs from the reference's {r.shape}", tol,
                       max(r.size, c.size))
    kinds = {r.dtype.kind, c.dtype.kind}
    if len(kinds) > 1 and not kinds <= {"i", "u"}:
        return _failed(f"dtype {c.dtype} differs in kind from the reference's {r.dtype}", tol,
                       r.size)
    r64, c64 = r.astype(np.float64), c.astype(np.float64)
    rnan, cnan = np.isnan(r64), np.isnan(c64)
    rinf, cinf = np.isinf(r64), np.isinf(c64)
    nonfinite_bad = (rinf != cinf) | (rinf & cinf & (np.sign(r64) != np.sign(c64)))
    nonfinite_bad |= (rnan != cnan) if nan_equal else (rnan | cnan)
    finite = np.isfinite(r64) & np.isfinite(c64)
    diff = np.abs(c64[finite] - r64[finite])
    rabs = np.abs(r64[finite])
    scale = float(rabs.max()) if rabs.size else 0.0
    bound = tol.bound(rabs, scale)
    finite_bad = diff > bound
    tiny = float(np.finfo(r.dtype).tiny) if r.dtype.kind == "f" else 1.0
    rel = diff / np.maximum(rabs, tiny)
    n = int(nonfinite_bad.sum() + finite_bad.sum())
    parts = []
    if nonfinite_bad.any():
        parts.append(f"{int(nonfinite_bad.sum())} NaN/Inf positions differ")
    if finite_bad.any():
        parts.append(f"{int(finite_bad.sum())} of {r.size} elements outside "
                     f"{_describe(tol, scale)}")
    if r.size and not finite.any() and not nan_equal and r.dtype.kind == "f":
        parts.append("no finite element to compare (use --nan-equal to accept)")
        n = max(n, r.size)
    stats = _stats(diff, rel)
    worst = None
    if diff.size:
        with np.errstate(over="ignore"):
            ratio = diff / np.maximum(bound, np.finfo(np.float64).tiny)
        flat = np.flatnonzero(finite.reshape(-1))[int(np.argmax(ratio))]
        worst = tuple(int(i) for i in np.unravel_index(flat, r.shape))
    absolute = tol.atol + tol.atol_scale * scale
    min_rtol = float(np.max(np.maximum(diff - absolute, 0.0) / np.maximum(rabs, tiny))) \
        if diff.size else 0.0
    min_atol = float(np.max(np.maximum(diff - tol.rtol * rabs, 0.0))) if diff.size else 0.0
    return ArrayComparison(n == 0, *stats[:1], stats[4], n, tol, "; ".join(parts),
                           stats[1], stats[2], stats[3], stats[5], stats[6], stats[7],
                           worst, scale, min_rtol, min_atol, int(r.size))


def _stats(diff: np.ndarray, rel: np.ndarray) -> tuple[float, ...]:
    """(max, mean, median, p99) of ``diff`` then of ``rel``; zeros when empty."""
    if not diff.size:
        return (0.0,) * 8
    out = []
    for a in (diff, rel):
        out += [float(a.max()), float(a.mean()), float(np.median(a)),
                float(np.percentile(a, 99))]
    return tuple(out)


def _describe(tol: Tolerance, scale: float) -> str:
    text = f"rtol={tol.rtol:g} atol={tol.atol:g}"
    if tol.atol_scale:
        text += f"+{tol.atol_scale:g}*{scale:.3g}"
    return text
