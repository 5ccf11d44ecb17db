"""The sensitivity precondition of verification: the reference must react to its input.

A comparison proves nothing when the reference's output hardly depends on the input:
a candidate that computes the wrong function (a swapped channel pair, wrong pads,
scaled weights deep in the network) then still matches it.  Random-weight networks
with uncalibrated normalization statistics do this (a saturated MobileNetV2 gives two
batch rows that differ by 3.5e-10).  So before trusting a comparison, graphir checks,
for every output of the reference:

* *across rows*: each batch row against the next one (when the output has the
  batch's rows on axis 0 and there are at least two);
* *across draws*: the output on the primary inputs against the output on a second,
  independently seeded draw of the same shapes.

An output is **insensitive** when, in one of these checks, the tolerance policy
(:func:`graphir.tolerance.compare_arrays`, with the tolerance the comparison itself
applies) would accept one input's output in place of the other's: a candidate that
ignored its input would then pass.  The tolerance is ~100x float noise, so an output
passes this check only when it varies clearly more than float noise.  Measured
spreads (``max |a - b| / max |a|``) are reported either way.
"""

from __future__ import annotations

import attrs
import numpy as np

from graphir.tolerance import Tolerance, compare_arrays

__all__ = ["Sensitivity", "check_sensitivity"]


@attrs.frozen
class Sensitivity:
    """The sensitivity of one reference output.

    Attributes:
        output: the output's name.
        sensitive: False when a check found the output insensitive.
        row_spread: ``max |y[i+1] - y[i]| / max |y|`` over rows (float outputs; for
            integer/bool outputs the fraction of differing elements), or None when not
            checked (one row, or rows not on axis 0).
        draw_spread: the same between the two draws, or None when not checked.
        reason: why it is insensitive ("" when sensitive).
    """

    output: str
    sensitive: bool
    row_spread: float | None
    draw_spread: float | None
    reason: str = ""

    def to_json(self) -> dict:
        """``{"output", "sensitive", "row_spread", "draw_spread", "reason"}``."""
        return attrs.asdict(self)


def _spread(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if a.dtype.kind not in "fc":
        return float(np.mean(a64 != b64)) if a.size else 0.0
    ok = np.isfinite(a64) & np.isfinite(b64)
    if not ok.any():
        return 0.0
    scale = float(np.abs(a64[ok]).max())
    return float(np.abs(a64[ok] - b64[ok]).max()) / scale if scale else \
        float(np.abs(a64[ok] - b64[ok]).max())


def check_sensitivity(output: str, primary: np.ndarray, second: np.ndarray | None, *,
                      batch: int, tolerance: Tolerance) -> Sensitivity:
    """Check one reference output for sensitivity (rules in the module docstring).

    Args:
        output: the output's name (for the report).
        primary: the reference's output on the primary inputs, batch rows on axis 0
            when its first dim equals ``batch``.
        second: its output on the second draw (same shapes), or None to skip that check.
        batch: the number of rows the inputs had.
        tolerance: the tolerance the comparison applies to this output.

    Returns:
        a :class:`Sensitivity`; it is sensitive when no check could be made.
    """
    a = np.asarray(primary)
    reasons = []
    row_spread = draw_spread = None
    if a.ndim >= 1 and batch >= 2 and a.shape[0] == batch:
        spreads = []
        for i in range(batch - 1):
            spreads.append(_spread(a[i], a[i + 1]))
            if compare_arrays(a[i], a[i + 1], tolerance=tolerance, nan_equal=True).passed:
                reasons.append(f"batch rows {i} and {i + 1} agree within the tolerance")
                break
        row_spread = min(spreads)
    if second is not None and np.shape(second) == a.shape:
        b = np.asarray(second)
        draw_spread = _spread(a, b)
        if compare_arrays(a, b, tolerance=tolerance, nan_equal=True).passed:
            reasons.append("two independent input draws give outputs that agree within the "
                           "tolerance")
    return Sensitivity(output, not reasons, row_spread, draw_spread, "; ".join(reasons))
