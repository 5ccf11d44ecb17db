"""ONNX backend conformance of the importer: ``onnx.backend.base.Backend`` classes whose
``prepare`` imports the model with :func:`graphir.from_onnx` (transposes cancelled) and
whose ``run`` computes the result in one of two *modes*:

* ``"interpreter"`` (:class:`GraphirBackend`): the NumPy reference interpreter
  (:func:`graphir.interpreter.evaluate`);
* ``"keras"`` (:class:`GraphirKerasBackend`): the graph emitted as a Keras model
  (:func:`graphir.backends.keras.emit.to_keras`) and run by TensorFlow on the CPU.

Specialization of static operands.  The IR keeps shapes, axes, pads, scales, split sizes,
clip bounds and the weights of Conv/RNN/BatchNormalization as static attributes or
weights, so the importer refuses such an operand when it is a run-time value (an
:class:`~.importer.OnnxImportError` whose ``static_operand`` names the ONNX tensor).  Many
of the onnx package's node tests feed exactly those operands as *graph inputs* (Reshape's
``shape``, Slice's ``starts``, Conv's ``W``...).  The runner therefore specializes: when
the import is refused for a ``static_operand`` computed from graph inputs, ``prepare``
defers the import, and ``run(inputs)`` binds those graph inputs (every graph input the
operand depends on, found by walking the ONNX producers back) as initializers holding the
data set's values, imports the specialized model (repeating while another operand is
refused the same way) and feeds it the remaining inputs.  This is what a user does with a
model whose shape inputs are fixed; nothing else about the model changes.  The counts
say how many passes needed it.

Two ways to run the onnx package's node tests (``load_model_tests(kind="node")``):

* :func:`backend_test_suite` plugs a backend into ``onnx.backend.test.BackendTest`` for
  the chosen test names (``unittest`` cases named ``test_<name>_cpu``);
* :func:`run_conformance` runs the same models and data sets directly and classifies
  each test as ``passed`` (every output of the expected shape and dtype and within the
  test's ``rtol``/``atol`` by ``numpy.testing.assert_allclose``, as ``BackendTest``
  checks), ``xfail`` (refused with a typed error: the importer's
  :class:`~.importer.OnnxImportError` for an op or attribute value it does not cover, or,
  in the Keras mode, the Keras emitter's ``UnsupportedOpError`` / ``EmissionError``;
  nothing approximated) or ``failed`` (a wrong result, or any other error).
  ``python -m graphir.backends.onnx_conformance [LIST] [--mode interpreter|keras|all]
  [-v]`` (``make conformance``) prints the counts per mode for the names in ``LIST`` (one
  per line, ``#`` comments), default ``../shared/onnx/target-tests.txt``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import onnx
import onnx.numpy_helper
from onnx.backend.base import Backend, BackendRep

from graphir.errors import EmissionError, UnsupportedOpError
from graphir.interpreter import evaluate
from graphir.ir import Graph

from .onnx.importer import OnnxImportError, from_onnx

__all__ = [
    "DISK_KINDS",
    "MODES",
    "GraphirBackend",
    "GraphirBackendRep",
    "GraphirKerasBackend",
    "backend_test_suite",
    "bind_inputs",
    "disk_cases",
    "graph_inputs_feeding",
    "node_cases",
    "read_test_names",
    "run_case",
    "run_conformance",
    "run_one",
]

#: the conformance modes: how an imported graph is run
MODES = ("interpreter", "keras")


def graph_inputs_feeding(model: onnx.ModelProto, tensor: str) -> set[str]:
    """The graph inputs (initializers excluded) that ONNX tensor ``tensor`` of ``model``'s
    main graph is computed from, following producers back through every node input
    (an empty set for a constant or an unknown name)."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = {v.name for v in g.input if v.name not in inits}
    producer = {o: n for n in g.node for o in n.output if o}
    found: set[str] = set()
    seen: set[str] = set()
    stack = [tensor]
    while stack:
        name = stack.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        if name in inputs:
            found.add(name)
        elif name in producer:
            stack.extend(producer[name].input)
    return found


def bind_inputs(model: onnx.ModelProto, values: Mapping[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of ``model`` whose graph inputs named in ``values`` are initializers holding
    those arrays (cast to the input's declared element type); the others stay inputs."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    kept = [vi for vi in g.input if vi.name not in values]
    for vi in g.input:
        if vi.name in values:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
            g.initializer.append(onnx.numpy_helper.from_array(
                np.asarray(values[vi.name]).astype(dtype), vi.name))
    del g.input[:]
    g.input.extend(kept)
    return out


def _import(model: onnx.ModelProto) -> Graph:
    from graphir.passes import cancel_transposes

    return cancel_transposes(from_onnx(model))


def _deferrable(model: onnx.ModelProto, error: OnnxImportError,
                bound: Iterable[str] = ()) -> set[str]:
    """The graph inputs to bind so that ``error``'s static operand becomes known (empty:
    the refusal is not about a run-time operand fed by graph inputs)."""
    if not error.static_operand:
        return set()
    return graph_inputs_feeding(model, error.static_operand) - set(bound)


class GraphirBackendRep(BackendRep):
    """A prepared model: the imported graph (or, when a static operand is a graph input,
    the model to specialize at :meth:`run`), run in the backend's mode.

    Attributes:
        model: the ONNX model as given.
        graph: the imported graph, None while specialization is deferred to :meth:`run`.
        mode: one of :data:`MODES`.
        bound: the graph inputs the last :meth:`run` bound as initializers (sorted).
    """

    def __init__(self, model: onnx.ModelProto, graph: Graph | None, mode: str):
        self.model = model
        self.graph = graph
        self.mode = mode
        self.bound: tuple[str, ...] = ()
        self._keras = None

    def _feeds(self, inputs: Any) -> dict[str, np.ndarray]:
        if isinstance(inputs, dict):
            return dict(inputs)
        inits = {t.name for t in self.model.graph.initializer}
        names = [vi.name for vi in self.model.graph.input if vi.name not in inits]
        seq = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        return dict(zip(names, seq))

    def specialize(self, feeds: Mapping[str, np.ndarray]) -> Graph:
        """Import the model with the graph inputs that feed static operands bound to their
        values in ``feeds`` (see the module docstring); sets :attr:`bound`.

        Raises:
            OnnxImportError: the specialized model is refused for another reason, or the
                operand is not computed from the given inputs.
        """
        bound: dict[str, np.ndarray] = {}
        while True:
            try:
                graph = _import(bind_inputs(self.model, bound))
            except OnnxImportError as e:
                more = {n for n in _deferrable(self.model, e, bound) if n in feeds}
                if not more:
                    raise
                bound.update({n: feeds[n] for n in more})
                continue
            self.bound = tuple(sorted(bound))
            return graph

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        """Run on ``inputs`` (a list in graph-input order, or a dict by name); returns the
        outputs in graph-output order."""
        feeds = self._feeds(inputs)
        graph = self.graph if self.graph is not None else self.specialize(feeds)
        feeds = {v.name: feeds[v.name] for v in graph.inputs}
        if self.mode == "interpreter":
            out = evaluate(graph, feeds)
            return tuple(out[name] for name in graph.outputs)
        return _run_keras(graph, feeds, self if self.graph is not None else None)


def _run_keras(graph: Graph, feeds: Mapping[str, np.ndarray],
               cache: GraphirBackendRep | None) -> tuple[np.ndarray, ...]:
    """Emit ``graph`` as Keras (once per prepared graph when ``cache`` is given) and run it
    with TensorFlow on the CPU; outputs in graph-output order."""
    from graphir.backends.keras.emit import to_keras
    from graphir.backends.runtimes import run_keras

    model = cache._keras if cache is not None else None
    if model is None:
        model = to_keras(graph)
        if cache is not None:
            cache._keras = model
    arrays, _ = run_keras(model, [feeds[v.name] for v in graph.inputs], device="/CPU:0",
                          name="conformance")
    return tuple(arrays)


class GraphirBackend(Backend):
    """``onnx.backend.base.Backend`` over graphir's importer and the reference interpreter
    (CPU); see the module docstring for the specialization of static operands."""

    mode: ClassVar[str] = "interpreter"

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> GraphirBackendRep:
        """Import ``model`` (:func:`graphir.from_onnx`, transposes cancelled); in the Keras
        mode also emit it.  A refusal for a static operand fed by graph inputs defers the
        import to ``run``.

        Raises:
            OnnxImportError: the importer refuses the model for any other reason.
            UnsupportedOpError, EmissionError: (Keras mode) the Keras emitter refuses it.
        """
        try:
            graph = _import(model)
        except OnnxImportError as e:
            if not _deferrable(model, e):
                raise
            return GraphirBackendRep(model, None, cls.mode)
        rep = GraphirBackendRep(model, graph, cls.mode)
        if cls.mode == "keras":
            from graphir.backends.keras.emit import to_keras

            rep._keras = to_keras(graph)
        return rep

    @classmethod
    def supports_device(cls, device: str) -> bool:
        """Only ``"CPU"``."""
        return device == "CPU"


class GraphirKerasBackend(GraphirBackend):
    """The Keras mode: the imported graph emitted as a Keras model, run by TensorFlow (CPU)."""

    mode: ClassVar[str] = "keras"


_BACKENDS = {"interpreter": GraphirBackend, "keras": GraphirKerasBackend}


def read_test_names(path: str | os.PathLike) -> list[str]:
    """Test names of a list file: one per line, blank lines and ``#`` comments skipped."""
    names = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def backend_test_suite(names: Iterable[str], mode: str = "interpreter"):
    """A ``unittest`` suite of ``onnx.backend.test.BackendTest`` with the backend of
    ``mode`` (:data:`MODES`) for the node tests ``names`` (e.g. ``"test_add"``)."""
    import onnx.backend.test

    bt = onnx.backend.test.BackendTest(_BACKENDS[mode], __name__)
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


_REFUSED = (OnnxImportError, UnsupportedOpError, EmissionError)


def _check_outputs(expected: Sequence[np.ndarray], got: Sequence[Any], rtol: float,
                   atol: float) -> None:
    """``BackendTest``'s comparison: count, then per output shape, dtype and values."""
    if len(got) != len(expected):
        raise AssertionError(f"{len(got)} outputs, expected {len(expected)}")
    for i, (e, g) in enumerate(zip(expected, got)):
        g = np.asarray(g)
        if g.shape != e.shape:
            raise AssertionError(f"output {i}: shape {g.shape}, expected {e.shape}")
        if g.dtype != e.dtype:
            raise AssertionError(f"output {i}: dtype {g.dtype}, expected {e.dtype}")
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


#: the onnx package's on-disk model tests with local data (``onnx/backend/test/data/<kind>``):
#: ``pytorch-converted`` and ``pytorch-operator`` hold models exported by ``torch.onnx``
DISK_KINDS = ("pytorch-converted", "pytorch-operator", "simple")


def disk_cases(kind: str) -> dict[str, tuple[onnx.ModelProto, list, float, float]]:
    """The on-disk model tests of ``kind`` (:data:`DISK_KINDS`) by name: ``(model,
    data_sets, rtol, atol)``, each data set ``(inputs, expected_outputs)`` read from the
    test's ``test_data_set_*/{input,output}_*.pb`` files (tests without local data, which
    would be downloaded, are left out)."""
    import glob

    from onnx.backend.test.loader import load_model_tests

    def arrays(folder: str, what: str) -> list[np.ndarray]:
        return [onnx.numpy_helper.to_array(onnx.load_tensor(f))
                for f in sorted(glob.glob(os.path.join(folder, f"{what}_*.pb")))]

    out = {}
    for case in load_model_tests(kind=kind):
        if case.model_dir is None:
            continue
        model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
        sets = [(arrays(d, "input"), arrays(d, "output")) for d in
                sorted(glob.glob(os.path.join(case.model_dir, "test_data_set_*")))]
        out[case.name] = (model, sets, case.rtol, case.atol)
    return out


def run_one(name: str, mode: str = "interpreter") -> tuple[str, str]:
    """Run node test ``name`` in ``mode``: ``("passed" | "xfail" | "failed", detail)``;
    a pass whose model was specialized has detail ``"bound <inputs>"``."""
    case = node_cases().get(name)
    if case is None:
        return "failed", "no such node test in the installed onnx package"
    return run_case(case.model, case.data_sets, case.rtol, case.atol, mode)


def run_case(model: onnx.ModelProto, data_sets: Iterable, rtol: float, atol: float,
             mode: str = "interpreter") -> tuple[str, str]:
    """Prepare ``model`` with the backend of ``mode`` and check every ``(inputs,
    expected)`` of ``data_sets`` (see :func:`run_one`)."""
    try:
        rep = _BACKENDS[mode].prepare(model)
    except _REFUSED as e:
        return "xfail", str(e).splitlines()[0]
    except Exception as e:  # noqa: BLE001 - a conformance run reports every failure
        return "failed", f"prepare crashed: {type(e).__name__}: {e}"
    bound: set[str] = set()
    for inputs, expected in data_sets:
        try:
            with np.errstate(all="ignore"):
                got = rep.run(list(inputs))
        except _REFUSED as e:
            return "xfail", str(e).splitlines()[0]
        except Exception as e:  # noqa: BLE001
            return "failed", f"run crashed: {type(e).__name__}: {str(e).strip()[:200]}"
        bound.update(rep.bound)
        try:
            _check_outputs(expected, got, rtol, atol)
        except AssertionError as e:
            return "failed", f"{str(e).strip().splitlines()[0][:200]}"
    return "passed", f"bound {', '.join(sorted(bound))}" if bound else ""


def run_conformance(names: Sequence[str], mode: str = "interpreter"
                    ) -> dict[str, list[tuple[str, str]]]:
    """Run every test of ``names`` in ``mode``; ``{"passed": [...], "xfail": [...],
    "failed": [...]}`` of ``(name, detail)``."""
    result: dict[str, list[tuple[str, str]]] = {"passed": [], "xfail": [], "failed": []}
    for name in names:
        status, detail = run_one(name, mode)
        result[status].append((name, detail))
    return result


def summary_line(mode: str, result: Mapping[str, list[tuple[str, str]]], total: int) -> str:
    """``mode M: P passed (B of them specialized), F failed, X xfail (refused) of N``."""
    specialized = sum(1 for _, d in result["passed"] if d.startswith("bound "))
    return (f"mode {mode}: {len(result['passed'])} passed ({specialized} of them with "
            f"shape/axes/weight inputs bound), {len(result['failed'])} failed, "
            f"{len(result['xfail'])} xfail (refused) of {total}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m graphir.backends.onnx_conformance [LIST] [--mode M|all] [-v]``: print
    the failures (``-v``: and the refusals) and the counts per mode; exit 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    modes: Sequence[str] = MODES
    if "--mode" in args:
        i = args.index("--mode")
        chosen = args[i + 1] if i + 1 < len(args) else ""
        if chosen != "all" and chosen not in MODES:
            print(f"conformance: error: --mode must be one of {', '.join(MODES)}, all",
                  file=sys.stderr)
            return 2
        modes = MODES if chosen == "all" else (chosen,)
        del args[i:i + 2]
    default = Path(__file__).resolve().parents[3] / "shared" / "onnx" / "target-tests.txt"
    names = read_test_names(args[0] if args else default)
    lines = []
    for mode in modes:
        result = run_conformance(names, mode)
        for status in ("failed", "xfail") if verbose else ("failed",):
            for name, detail in result[status]:
                print(f"{mode:11} {status:6} {name}: {detail}")
        lines.append(summary_line(mode, result, len(names)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
