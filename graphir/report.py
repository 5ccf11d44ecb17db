"""Verification reports: what ran where, and how each output pair compared.

The JSON form (:meth:`VerificationReport.to_json`) is the CLI's ``--json``
contract: top-level ``passed`` (bool), ``device`` (``"cpu"``/``"gpu"``/``"mixed"``:
where the runtimes actually ran), ``comparisons`` (a list of objects with
``reference``, ``candidate``, ``output``, ``max_abs_err``, ``max_rel_err``,
``passed``, plus ``rtol``, ``atol``, ``mismatches``, ``reason``), ``inputs`` (the
seeded inputs' ``name``, ``dtype`` and concrete ``shape``), ``unknown_dim`` (the size
given to the inputs' unknown non-batch dims, null when they have none), and details.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = ["Comparison", "InputInfo", "RuntimeInfo", "VerificationReport"]


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@attrs.frozen
class Comparison:
    """One output of one candidate compared with the reference.

    Attributes:
        reference: which run is the reference, e.g. ``"keras"`` (the original in TF).
        candidate: the run under test, e.g. ``"keras-emitted"`` or ``"onnx"``.
        output: the output's name (the Keras output name).
        max_abs_err, max_rel_err: see :mod:`graphir.tolerance`.
        passed: within tolerance.
        rtol, atol: the tolerance applied.
        mismatches: elements outside tolerance.
        reason: why it failed ("" if it passed).
    """

    reference: str
    candidate: str
    output: str
    max_abs_err: float
    max_rel_err: float
    passed: bool
    rtol: float
    atol: float
    mismatches: int = 0
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["max_abs_err"] = _num(self.max_abs_err)
        d["max_rel_err"] = _num(self.max_rel_err)
        return d


@attrs.frozen
class RuntimeInfo:
    """Where one run actually executed.

    Attributes:
        name: the run's name (``"keras"``, ``"keras-emitted"``, ``"onnx"``).
        runtime: ``"tensorflow"`` or ``"onnxruntime"``.
        device: ``"cpu"`` or ``"gpu"``, as observed (not as requested).
        detail: the TF device string, or onnxruntime's active providers joined by ``,``.
        seconds: wall-clock seconds of the inference call (informational only).
    """

    name: str
    runtime: str
    device: str
    detail: str
    seconds: float = 0.0


@attrs.frozen
class InputInfo:
    """One seeded input as it was fed to every run.

    Attributes:
        name: the graph input's name.
        dtype: the NumPy dtype's name, e.g. ``"float32"``.
        shape: the concrete shape, e.g. ``(2, 25)`` (batch first).
    """

    name: str
    dtype: str
    shape: tuple[int, ...] = attrs.field(converter=lambda s: tuple(int(d) for d in s))

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{','.join(map(str, self.shape))}]"

    def to_json(self) -> dict[str, Any]:
        """``{"name", "dtype", "shape"}`` (shape a list)."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@attrs.frozen
class VerificationReport:
    """The result of verifying one model across runtimes.

    Attributes:
        model: the model's name or path.
        requested_device: ``auto``, ``cpu`` or ``gpu``.
        runs: one :class:`RuntimeInfo` per run.
        comparisons: one :class:`Comparison` per (candidate, output).
        batch, seed: the seeded inputs' batch size and seed.
        stats: extra numbers (ops, parameters, conversion seconds...).
        inputs: the seeded inputs' names, dtypes and concrete shapes.
        unknown_dim: the size given to the inputs' unknown dims after axis 0 (see
            :func:`graphir.inputs.fit_dim`), None when the inputs have none.
    """

    model: str
    requested_device: str
    runs: tuple[RuntimeInfo, ...]
    comparisons: tuple[Comparison, ...]
    batch: int
    seed: int
    stats: dict = attrs.field(factory=dict)
    inputs: tuple[InputInfo, ...] = attrs.field(default=(), converter=tuple)
    unknown_dim: int | None = None

    @property
    def passed(self) -> bool:
        """True when there is at least one comparison and all passed."""
        return bool(self.comparisons) and all(c.passed for c in self.comparisons)

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"gpu"`` when every run used it, else ``"mixed"``."""
        devices = {r.device for r in self.runs}
        return devices.pop() if len(devices) == 1 else "mixed"

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (see the module docstring)."""
        return {
            "model": self.model,
            "passed": self.passed,
            "device": self.device,
            "requested_device": self.requested_device,
            "runs": [attrs.asdict(r) for r in self.runs],
            "batch": self.batch,
            "seed": self.seed,
            "inputs": [i.to_json() for i in self.inputs],
            "unknown_dim": self.unknown_dim,
            "comparisons": [c.to_json() for c in self.comparisons],
            "stats": dict(self.stats),
        }
