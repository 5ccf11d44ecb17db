"""Runs of models from elsewhere, matched to a reference's inputs and outputs.

``graphir verify REF --onnx OTHER`` compares a reference (a ``.keras`` model in TF, an
``.onnx`` model in onnxruntime, or a ``.gir`` graph in the NumPy reference interpreter)
with another model whose names and layouts need not be graphir's: an ONNX file written
by tf2onnx, by Keras' export, or by an older graphir.  This module builds, for each
side, a *runner* (a callable from feeds keyed by the reference's input names to arrays
in the reference's output order) and the explicit name/layout mapping it applied.

Matching (:func:`match_names`), for inputs and for outputs, tried in this order, each
name used once:

1. ``exact``: the same name;
2. ``tf-suffix``: the same after dropping TensorFlow's tensor suffix ``:N`` and the
   ``serving_default_`` prefix of saved-model signatures (tf2onnx names inputs
   ``input_1:0`` or ``serving_default_input_1:0``);
3. ``scope``: the reference name is one ``/``-separated component of exactly one
   remaining name (tf2onnx outputs such as ``StatefulPartitionedCall/model/probs/Softmax:0``);
4. ``position``: what is left is matched in order, and the report carries a warning,
   when as many names are left on both sides; otherwise :class:`BadInputError`.

Layout: an input whose declared ONNX shape does not fit the reference array but fits
its channels-first permutation (``(0, r-1, 1, ..., r-2)``: NHWC -> NCHW, what
tf2onnx's ``--inputs-as-nchw`` produces) is fed transposed; an output whose shape is
the channels-first permutation of the reference's is transposed back.  Each such
mapping is reported (``layout: "NCHW"``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
import numpy as np

from graphir.dtypes import DType
from graphir.errors import BadInputError
from graphir.ir import Graph, Value
from graphir.report import RuntimeInfo
from graphir.tensor_types import TensorType

__all__ = ["Match", "Runner", "align_layouts", "interpreter_runner", "keras_runner",
           "match_names", "onnx_input_graph", "onnx_runner", "renamed_runner", "static_batch"]

#: feeds by reference input name -> (outputs in reference output order, RuntimeInfo)
RunFn = Callable[[dict[str, np.ndarray]], tuple[list[np.ndarray], RuntimeInfo]]


@attrs.frozen
class Match:
    """How one reference input or output was matched to a name of the other model.

    Attributes:
        kind: ``"input"`` or ``"output"``.
        reference: the reference's name.
        other: the other model's name.
        how: ``"exact"``, ``"tf-suffix"``, ``"scope"`` or ``"position"``.
        layout: ``"same"`` or ``"NCHW"`` (transposed channels-first <-> channels-last);
            for outputs filled in by the first run.
    """

    kind: str
    reference: str
    other: str
    how: str
    layout: str = "same"

    def to_json(self) -> dict:
        """The attributes as a dict."""
        return attrs.asdict(self)


@attrs.define
class Runner:
    """One side of a comparison.

    Attributes:
        name: the run's name in the report (``"keras"``, ``"onnx"``, ``"interpreter"``...).
        run: feeds (reference input names) -> (outputs in reference output order, info).
        matches: the input/output matches applied (empty for the reference itself).
        warnings: what the report should say about the matching (positional matches).
        prepare: for an ONNX runner, feeds (reference names) -> the model's own feeds
            (its names, its layouts); None otherwise.
        declared: for an ONNX runner, its input name -> declared shape (ints for
            static dims, None for free ones).
    """

    name: str
    run: RunFn
    matches: list[Match] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    prepare: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None
    declared: dict[str, tuple] = attrs.field(factory=dict)


_TF_SUFFIX = re.compile(r":\d+$")


def _plain(name: str) -> str:
    return _TF_SUFFIX.sub("", name).removeprefix("serving_default_")


def match_names(kind: str, reference: Sequence[str], other: Sequence[str], *, where: str
                ) -> tuple[list[Match], list[str]]:
    """Match each ``reference`` name to one of ``other`` (rules in the module docstring).

    Returns:
        the matches in reference order, and warnings (one per positional match).

    Raises:
        BadInputError: names are left unmatched and the counts differ.
    """
    left = list(other)
    found: dict[str, Match] = {}

    def take(ref: str, name: str, how: str) -> None:
        found[ref] = Match(kind, ref, name, how)
        left.remove(name)

    for ref in reference:
        if ref in left:
            take(ref, ref, "exact")
    for ref in reference:
        hits = [n for n in left if ref not in found and _plain(n) == ref]
        if len(hits) == 1:
            take(ref, hits[0], "tf-suffix")
    for ref in reference:
        hits = [n for n in left if ref not in found and ref in _plain(n).split("/")]
        if len(hits) == 1:
            take(ref, hits[0], "scope")
    rest = [r for r in reference if r not in found]
    warnings = []
    if rest:
        if len(rest) != len(left):
            raise BadInputError(f"cannot match the {kind}s {rest} by name and the counts "
                                f"left differ (other model's: {left})", where=where)
        for ref, name in zip(rest, list(left)):
            take(ref, name, "position")
            warnings.append(f"{kind} {ref!r} matched by position to {name!r} (names differ)")
    return [found[r] for r in reference], warnings


def _onnx_dims(value_info) -> tuple:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param"):
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return tuple(dims)


def _fits(shape: Sequence, declared: Sequence) -> bool:
    return len(shape) == len(declared) and all(
        not isinstance(d, int) or d == s for s, d in zip(shape, declared))


def _to_first(rank: int) -> tuple[int, ...]:
    return (0, rank - 1, *range(1, rank - 1))


def _to_last(rank: int) -> tuple[int, ...]:
    return (0, *range(2, rank), 1)


def onnx_input_graph(model_bytes: bytes, name: str) -> Graph:
    """An IR graph with the ONNX model's inputs and no nodes (its outputs are its
    inputs): what :func:`graphir.inputs.plan_cases` and ``make_inputs`` need to draw
    inputs for a model graphir did not lower.  Symbolic or unknown dims stay free.

    Raises:
        BadInputError: the bytes are not an ONNX model, or an input's element type has
            no graphir dtype.
    """
    import onnx
    from onnx import helper

    try:
        model = onnx.load_from_string(model_bytes)
    except Exception as e:  # protobuf's DecodeError and friends: not an ONNX file
        raise BadInputError(f"not an ONNX model: {type(e).__name__}", where=f"model {name}") from e
    initializers = {i.name for i in model.graph.initializer}
    values = []
    for vi in model.graph.input:
        if vi.name in initializers:
            continue
        try:
            dtype = DType.from_any(helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type))
        except (KeyError, ValueError, TypeError) as e:
            raise BadInputError(f"input {vi.name!r}: unsupported element type "
                                f"{vi.type.tensor_type.elem_type}", where=f"model {name}") from e
        values.append(Value(vi.name, TensorType(dtype, _onnx_dims(vi))))
    return Graph(name=re.sub(r"\W", "_", Path(name).stem) or "onnx", inputs=tuple(values),
                 outputs=tuple(v.name for v in values), nodes=())


def onnx_runner(model_bytes: bytes, *, name: str, reference_inputs: Sequence[str],
                reference_outputs: Sequence[str], device: str, where: str) -> Runner:
    """A :class:`Runner` for a serialized ONNX model in onnxruntime, its inputs and
    outputs matched to the reference's names (module docstring).

    Raises:
        BadInputError: names cannot be matched.
        DeviceUnavailableError: ``device="gpu"`` without CUDA in onnxruntime.
    """
    from graphir.backends.runtimes import OnnxSession

    session = OnnxSession(model_bytes, requested=device, name=name)
    ins = {i.name: i for i in session.session.get_inputs()}
    outs = [o.name for o in session.session.get_outputs()]
    in_matches, warn_in = match_names("input", reference_inputs, list(ins), where=where)
    out_matches, warn_out = match_names("output", reference_outputs, outs, where=where)
    runner = Runner(name, lambda feeds: ([], None), in_matches + out_matches, warn_in + warn_out)

    def prepare(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        onnx_feeds = {}
        for i, m in enumerate(in_matches):
            a = feeds[m.reference]
            declared = tuple(d if isinstance(d, int) else None for d in ins[m.other].shape)
            if not _fits(a.shape, declared) and a.ndim >= 3 and _fits(
                    np.transpose(a, _to_first(a.ndim)).shape, declared):
                a = np.ascontiguousarray(np.transpose(a, _to_first(a.ndim)))
                runner.matches[i] = attrs.evolve(m, layout="NCHW")
            onnx_feeds[m.other] = a
        return onnx_feeds

    def run(feeds: dict[str, np.ndarray]):
        onnx_feeds = prepare(feeds)
        start = time.perf_counter()
        results = session.session.run([m.other for m in out_matches], onnx_feeds)
        info = RuntimeInfo(name, "onnxruntime", session.device, ",".join(session.providers),
                           time.perf_counter() - start)
        return [np.asarray(r) for r in results], info

    runner.run = run
    runner.prepare = prepare
    runner.declared = {name: tuple(d if isinstance(d, int) else None for d in i.shape)
                       for name, i in ins.items()}
    return runner


def static_batch(runner: Runner) -> int | None:
    """The static batch size (axis 0) the runner's matched inputs declare, or None when
    axis 0 is free in all of them (an ONNX model exported with a fixed batch of 1 can
    only be fed one row)."""
    sizes = {runner.declared[m.other][0] for m in runner.matches
             if m.kind == "input" and runner.declared.get(m.other)}
    sizes.discard(None)
    return sizes.pop() if len(sizes) == 1 else None


def align_layouts(runner: Runner, reference: Sequence[np.ndarray],
                  outputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``outputs`` with each channels-first output transposed back when its shape is the
    channels-first permutation of the reference's (recorded in ``runner.matches``)."""
    aligned = []
    offset = sum(1 for m in runner.matches if m.kind == "input")
    for i, (r, c) in enumerate(zip(reference, outputs)):
        if (r.shape != c.shape and c.ndim >= 3 and c.ndim == r.ndim
                and np.transpose(c, _to_last(c.ndim)).shape == r.shape
                and offset + i < len(runner.matches)):
            c = np.transpose(c, _to_last(c.ndim))
            runner.matches[offset + i] = attrs.evolve(runner.matches[offset + i], layout="NCHW")
        aligned.append(c)
    return aligned + list(outputs[len(aligned):])


def interpreter_runner(graph: Graph, *, name: str = "interpreter") -> Runner:
    """A :class:`Runner` for ``graph`` in graphir's NumPy reference interpreter
    (:func:`graphir.interpreter.evaluate`, float64 inside, outputs cast to their
    declared dtypes)."""
    from graphir.interpreter import evaluate

    def run(feeds: dict[str, np.ndarray]):
        start = time.perf_counter()
        out = evaluate(graph, feeds)
        info = RuntimeInfo(name, "graphir-interpreter", "cpu", "numpy",
                           time.perf_counter() - start)
        return [np.asarray(out[o]) for o in graph.outputs], info

    return Runner(name, run)


def keras_runner(model, input_names: Sequence[str], *, name: str, device: str) -> Runner:
    """A :class:`Runner` for a ``keras.Model`` in TensorFlow on ``device`` (a
    :func:`graphir.backends.runtimes.tf_device` string), inputs fed in ``input_names``
    order."""
    from graphir.backends.runtimes import run_keras

    def run(feeds: dict[str, np.ndarray]):
        return run_keras(model, [feeds[n] for n in input_names], device=device, name=name)

    return Runner(name, run)


def renamed_runner(inner: Runner, inner_inputs: Sequence[str], inner_outputs: Sequence[str],
                   reference_inputs: Sequence[str], reference_outputs: Sequence[str], *,
                   where: str) -> Runner:
    """``inner`` (a runner keyed by its own input names, outputs in its own order) matched
    to the reference's names with :func:`match_names`.

    Raises:
        BadInputError: names cannot be matched.
    """
    in_matches, warn_in = match_names("input", reference_inputs, inner_inputs, where=where)
    out_matches, warn_out = match_names("output", reference_outputs, inner_outputs, where=where)
    order = [list(inner_outputs).index(m.other) for m in out_matches]

    def run(feeds: dict[str, np.ndarray]):
        outs, info = inner.run({m.other: feeds[m.reference] for m in in_matches})
        return [outs[i] for i in order], info

    return Runner(inner.name, run, in_matches + out_matches, warn_in + warn_out)
