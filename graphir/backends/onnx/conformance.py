"""ONNX backend conformance of the importer: an ``onnx.backend.base.Backend`` whose
``prepare`` imports the model with :func:`graphir.from_onnx` and runs it with the NumPy
reference interpreter (:func:`graphir.interpreter.evaluate`).

Two ways to run the onnx package's node tests (``load_model_tests(kind="node")``):

* :func:`backend_test_suite` plugs :class:`GraphirBackend` into
  ``onnx.backend.test.BackendTest`` for the chosen test names (``unittest`` cases named
  ``test_<name>_cpu``);
* :func:`run_conformance` runs the same models and data sets directly and classifies
  each test as ``passed`` (every output within the test's ``rtol``/``atol``, compared with
  ``numpy.testing.assert_allclose`` as ``BackendTest`` does), ``xfail`` (the importer
  refused the model with an :class:`OnnxImportError`: an op or attribute value it does
  not cover; nothing approximated) or ``failed`` (a wrong result, or any other error).
  ``python -m graphir.backends.onnx.conformance [LIST]`` (``make conformance``) prints
  the counts for the names in ``LIST`` (one per line, ``#`` comments), default
  ``../shared/onnx/target-tests.txt``.

Only the reference-interpreter mode exists so far (the issue's second mode, emitting
Keras and running TensorFlow, is not written yet).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep

from graphir.interpreter import evaluate
from graphir.ir import Graph

from .importer import OnnxImportError, from_onnx

__all__ = [
    "GraphirBackend",
    "GraphirBackendRep",
    "backend_test_suite",
    "node_cases",
    "read_test_names",
    "run_conformance",
    "run_one",
]

class GraphirBackendRep(BackendRep):
    """A prepared model: the imported graph, run by the reference interpreter."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Run on ``inputs`` (a list in graph-input order, or a dict by name); returns the
        outputs in graph-output order, each in its declared dtype."""
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        else:
            seq = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            feeds = {v.name: a for v, a in zip(self.graph.inputs, seq)}
        out = evaluate(self.graph, feeds)
        return tuple(out[name] for name in self.graph.outputs)


class GraphirBackend(Backend):
    """``onnx.backend.base.Backend`` over graphir's importer and reference interpreter (CPU)."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> GraphirBackendRep:
        """Import ``model`` (:func:`graphir.from_onnx`, transposes cancelled).

        Raises:
            OnnxImportError: the importer refuses the model.
        """
        from graphir.passes import cancel_transposes

        return GraphirBackendRep(cancel_transposes(from_onnx(model)))

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """Only ``"CPU"`` (the NumPy interpreter)."""
        return device == "CPU"


def read_test_names(path: str | os.PathLike) -> list[str]:
    """Test names of a list file: one per line, blank lines and ``#`` comments skipped."""
    names = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def backend_test_suite(names: Iterable[str]):
    """A ``unittest`` suite of ``onnx.backend.test.BackendTest`` with :class:`GraphirBackend`
    for the node tests ``names`` (e.g. ``"test_add"``)."""
    import onnx.backend.test

    bt = onnx.backend.test.BackendTest(GraphirBackend, __name__)
    for name in names:
        bt.include(rf"^{name}_cpu$")
    return bt.test_suite


_CASES: dict[str, Any] = {}


def node_cases() -> dict[str, Any]:
    """The onnx package's node test cases by name (``onnx.backend.test.loader.
    load_model_tests(kind="node")``: models and data sets built in memory), loaded once."""
    if not _CASES:
        import warnings

        from onnx.backend.test.loader import load_model_tests

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            _CASES.update({c.name: c for c in load_model_tests(kind="node")})
    return _CASES


def run_one(name: str) -> tuple[str, str]:
    """Run node test ``name``: ``("passed" | "xfail" | "failed", detail)``, outputs compared
    with the test's own ``rtol``/``atol``."""
    case = node_cases().get(name)
    if case is None:
        return "failed", "no such node test in the installed onnx package"
    try:
        rep = GraphirBackend.prepare(case.model)
    except OnnxImportError as e:
        return "xfail", str(e).splitlines()[0]
    except Exception as e:  # noqa: BLE001 - a conformance run reports every failure
        return "failed", f"import crashed: {type(e).__name__}: {e}"
    for inputs, expected in case.data_sets:
        try:
            with np.errstate(all="ignore"):
                got = rep.run(list(inputs))
            if len(got) != len(expected):
                raise AssertionError(f"{len(got)} outputs, expected {len(expected)}")
            for e, g in zip(expected, got):
                np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol)
        except Exception as e:  # noqa: BLE001
            return "failed", f"{type(e).__name__}: {str(e).strip().splitlines()[0][:200]}"
    return "passed", ""


def run_conformance(names: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Run every test of ``names``; ``{"passed": [...], "xfail": [...], "failed": [...]}``
    of ``(name, detail)``."""
    result: dict[str, list[tuple[str, str]]] = {"passed": [], "xfail": [], "failed": []}
    for name in names:
        status, detail = run_one(name)
        result[status].append((name, detail))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graphir.backends.onnx.conformance [LIST] [-v]``: print the counts (and the
    failures); exit 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    default = Path(__file__).resolve().parents[4] / "shared" / "onnx" / "target-tests.txt"
    names = read_test_names(args[0] if args else default)
    result = run_conformance(names)
    for status in ("failed", "xfail") if verbose else ("failed",):
        for name, detail in result[status]:
            print(f"{status:6} {name}: {detail}")
    print(f"mode interpreter: {len(result['passed'])} passed, {len(result['failed'])} failed, "
          f"{len(result['xfail'])} xfail (refused by the importer) of {len(names)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
