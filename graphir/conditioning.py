"""The conditioning precondition of verification: is a failed comparison explained by the
reference's own float rounding?

A random-weight deep residual network (ResNet152 at 64x64) can be *ill-conditioned*:
float32 rounding inside it moves its output by as much as the tolerance allows, so two
correct float32 runtimes (TensorFlow and onnxruntime, with different kernels and
summation orders) disagree by more than the tolerance.  Such a comparison failure says
nothing about the conversion.  graphir measures, for every output and input case with a
failed comparison, the reference's own float error: the same reference model run in
float64 (same weights, every float layer's dtype set to float64; the *float64 twin*)
against the float32 reference,

    ``e_ref = max |r32 - r64|``.

Two float32 computations of the same function each err by about ``e_ref`` from the
exact result, so they may disagree by a small multiple of it.  A failed comparison is
**explained** when ``max |c - r32| <= AMPLIFICATION * e_ref`` (``AMPLIFICATION`` = 10,
the same factor the first-divergence search allows a node over its inputs).  When every
failed comparison is explained the verdict is ``ill-conditioned`` (a failed
precondition, CLI exit 4, like an insensitive reference: the comparison proves
nothing), never a pass; when any failed comparison is not explained (a conversion
fault moves the output by more than ten times the reference's own rounding), the
verdict stays ``failed`` (exit 1).  It follows that an explained failure needs
``AMPLIFICATION * e_ref`` above the tolerance's bound: the reference's own rounding,
amplified by the factor, reaches what the tolerance allows.

Why float64 and not an input perturbation: a perturbation of the input by one rounding
step measures how the *exact* function amplifies input errors, not the rounding inside
it (in ``x @ A - x @ B`` with ``A ~ B`` the input error cancels while the rounding of the
two products does not); the float64 twin measures the float32 reference's actual
error.  On the ResNets at 64x64 both give about the TF-vs-onnxruntime difference
(ResNet101 logits: float64 twin 3.5e-4 of their scale, input x (1 + 1e-7) 3.8e-4,
TF vs onnxruntime 4.3e-4).  Conservative by construction: where the twin cannot be
built, or a layer keeps computing in float32 inside it, ``e_ref`` is smaller or not
measured and the verdict stays ``failed``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

__all__ = ["AMPLIFICATION", "ExplainedFailure", "all_explained", "explain_failure",
           "reference_error", "relative_reference_error"]

#: a failed comparison is explained when its error is at most this many times the
#: reference's own float error
AMPLIFICATION = 10.0


def reference_error(r32: np.ndarray, r64: np.ndarray) -> float:
    """``max |r32 - r64|`` over the elements finite in both (float64 arithmetic); 0.0
    when there is none or the arrays are not floats.

    Args:
        r32: the reference's output (any float dtype).
        r64: the same output computed in float64, same shape.

    Raises:
        ValueError: the shapes differ.
    """
    a, b = np.asarray(r32), np.asarray(r64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return 0.0
    a, b = a.astype(np.float64), b.astype(np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[ok] - b[ok]).max()) if ok.any() else 0.0


def relative_reference_error(r32: np.ndarray, r64: np.ndarray) -> float:
    """:func:`reference_error` divided by ``max |r64|`` over its finite elements (the
    output's scale); the absolute error when the scale is 0."""
    b = np.asarray(r64, np.float64)
    finite = b[np.isfinite(b)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    err = reference_error(r32, r64)
    return err / scale if scale else err


@attrs.frozen
class ExplainedFailure:
    """One failed comparison weighed against the reference's own float error.

    Attributes:
        candidate, output, case: the failed comparison.
        max_abs_err: its ``max |c - r|``.
        reference_error: ``e_ref = max |r32 - r64|`` of that output on that case, or
            None when it could not be measured.
        reference_error_rel: ``e_ref / max |r64|``, or None.
        explained: ``max_abs_err <= AMPLIFICATION * e_ref`` (False when not measured).
    """

    candidate: str
    output: str
    case: str
    max_abs_err: float
    reference_error: float | None
    reference_error_rel: float | None
    explained: bool

    def to_json(self) -> dict:
        """The attributes as a dict (NaN as None)."""
        d = attrs.asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def explain_failure(candidate: str, output: str, case: str, max_abs_err: float,
                    r32: np.ndarray | None, r64: np.ndarray | None) -> ExplainedFailure:
    """Weigh one failed comparison against the reference's float error (module rule).

    Args:
        candidate, output, case: names for the report.
        max_abs_err: the comparison's ``max |c - r32|`` (NaN: a shape/kind mismatch or
            a candidate that failed to run, never explained).
        r32: the reference's output on that case; None when not available.
        r64: the float64 twin's output on the same inputs; None when not available.

    Returns:
        the :class:`ExplainedFailure`.
    """
    if r32 is None or r64 is None or np.shape(r32) != np.shape(r64):
        return ExplainedFailure(candidate, output, case, float(max_abs_err), None, None, False)
    err = reference_error(r32, r64)
    rel = relative_reference_error(r32, r64)
    explained = bool(np.isfinite(max_abs_err) and max_abs_err <= AMPLIFICATION * err)
    return ExplainedFailure(candidate, output, case, float(max_abs_err), err, rel, explained)


def all_explained(failures: Sequence[ExplainedFailure]) -> bool:
    """True when there is at least one failure and every one is explained."""
    return bool(failures) and all(f.explained for f in failures)
