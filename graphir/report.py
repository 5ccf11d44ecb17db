"""Verification reports: what ran where, on which inputs, and how each output pair compared.

The JSON form (:meth:`VerificationReport.to_json`) is the CLI's ``--json``
contract, documented field by field in ``specs/verification.md``: top-level
``status`` (``"passed"``, ``"failed"``, ``"insensitive"`` or ``"ill-conditioned"``),
``passed`` (bool),
``device`` (``"cpu"``/``"gpu"``/``"mixed"``: where the runtimes actually ran),
``cases`` (every input set that ran: name, seed, batch, unknown_dim, inputs),
``comparisons`` (one object per case, candidate and output with the error
statistics of :class:`graphir.tolerance.ArrayComparison`), ``sensitivity`` (one
object per reference output), ``inputs`` / ``unknown_dim`` (those of the primary
case), ``versions`` and details.
"""

from __future__ import annotations

import math
from typing import Any

import attrs

__all__ = [
    "STATUS_FAILED",
    "STATUS_ILL_CONDITIONED",
    "STATUS_INSENSITIVE",
    "STATUS_PASSED",
    "CaseInfo",
    "Comparison",
    "InputInfo",
    "RuntimeInfo",
    "VerificationReport",
]

STATUS_PASSED, STATUS_FAILED, STATUS_INSENSITIVE = "passed", "failed", "insensitive"
STATUS_ILL_CONDITIONED = "ill-conditioned"


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
        case: the input case's name (see :func:`graphir.inputs.plan_cases`).
        stats: the other statistics of :class:`graphir.tolerance.ArrayComparison`
            (``mean_abs_err``, ``median_abs_err``, ``p99_abs_err``, the same for
            ``rel``, ``worst_index``, ``scale``, ``min_rtol``, ``min_atol``, ``size``,
            ``atol_scale``).
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
    case: str = "primary"
    stats: dict = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The flat JSON object: the attributes, ``stats`` merged in, NaN as null."""
        d = attrs.asdict(self)
        extra = d.pop("stats")
        d.update({k: (list(v) if isinstance(v, tuple) else
                      _num(v) if isinstance(v, float) else v) for k, v in extra.items()})
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
class CaseInfo:
    """One input case that ran (see :func:`graphir.inputs.plan_cases`).

    Attributes:
        name: ``"primary"``, ``"second-draw"``, ``"shape-1"``...
        seed: the inputs' seed (None for user-given arrays).
        batch: rows of the inputs.
        unknown_dim: the size of the free dims after axis 0 (None: none).
        inputs: the arrays' names, dtypes and shapes.
        source: ``"seeded"`` or the ``.npz`` file the arrays came from.
    """

    name: str
    seed: int | None
    batch: int
    unknown_dim: int | None
    inputs: tuple[InputInfo, ...] = attrs.field(converter=tuple)
    source: str = "seeded"

    def to_json(self) -> dict[str, Any]:
        """``{"name", "seed", "batch", "unknown_dim", "source", "inputs": [...]}``."""
        return {"name": self.name, "seed": self.seed, "batch": self.batch,
                "unknown_dim": self.unknown_dim, "source": self.source,
                "inputs": [i.to_json() for i in self.inputs]}


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
        cases: every input case that ran (the first is the primary one).
        sensitivity: one :class:`graphir.sensitivity.Sensitivity` per reference
            output (empty when the check was skipped).
        versions: package name -> version of the runtimes used.
        tolerances: output name -> ``{"rtol", "atol"}`` given per output.
        localization: the first-divergence result (a dict), or None when not run.
        conditioning: the failed comparisons weighed against the reference's own
            float error (:mod:`graphir.conditioning`): ``{"measured", "method",
            "amplification", "reason", "explained", "failures": [...]}``, or None when
            nothing failed or it was not checked.
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
    cases: tuple[CaseInfo, ...] = attrs.field(default=(), converter=tuple)
    sensitivity: tuple = attrs.field(default=(), converter=tuple)
    versions: dict = attrs.field(factory=dict)
    tolerances: dict = attrs.field(factory=dict)
    localization: dict | None = None
    conditioning: dict | None = None

    @property
    def compared_ok(self) -> bool:
        """True when there is at least one comparison and all passed."""
        return bool(self.comparisons) and all(c.passed for c in self.comparisons)

    @property
    def insensitive(self) -> tuple[str, ...]:
        """Names of the reference outputs found insensitive to their input."""
        return tuple(s.output for s in self.sensitivity if not s.sensitive)

    @property
    def status(self) -> str:
        """``"failed"`` when a comparison failed (a real finding wins) and the
        reference's own float error does not explain every failure; ``"ill-conditioned"``
        when it does (a failed precondition: the comparison proves nothing, see
        :mod:`graphir.conditioning`); else ``"insensitive"`` when an output is
        insensitive (a failed precondition), else ``"passed"``."""
        if not self.compared_ok:
            if self.conditioning is not None and self.conditioning.get("explained"):
                return STATUS_ILL_CONDITIONED
            return STATUS_FAILED
        return STATUS_INSENSITIVE if self.insensitive else STATUS_PASSED

    @property
    def passed(self) -> bool:
        """True when every comparison passed and every output is sensitive."""
        return self.status == STATUS_PASSED

    @property
    def device(self) -> str:
        """``"cpu"`` or ``"gpu"`` when every run used it, else ``"mixed"``."""
        devices = {r.device for r in self.runs}
        return devices.pop() if len(devices) == 1 else "mixed"

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict (see the module docstring)."""
        return {
            "model": self.model,
            "status": self.status,
            "passed": self.passed,
            "device": self.device,
            "requested_device": self.requested_device,
            "runs": [attrs.asdict(r) for r in self.runs],
            "batch": self.batch,
            "seed": self.seed,
            "inputs": [i.to_json() for i in self.inputs],
            "unknown_dim": self.unknown_dim,
            "comparisons": [c.to_json() for c in self.comparisons],
            "cases": [c.to_json() for c in self.cases],
            "sensitivity": [s.to_json() for s in self.sensitivity],
            "insensitive_outputs": list(self.insensitive),
            "versions": dict(self.versions),
            "tolerances": dict(self.tolerances),
            "localization": self.localization,
            "conditioning": self.conditioning,
            "stats": dict(self.stats),
        }
