"""Helpers for the ONNX backend tests (no TensorFlow): a tiny seeded IR graph builder
and a parity check of onnxruntime against the NumPy reference interpreter.

Fixtures:

* ``builder``: ``builder(seed=0)`` -> :class:`GraphBuilder`;
* ``parity``: ``parity(graph, batches=(1, 3), feeds=None, dims=5, dtype="float32")``
  emits ``graph``, checks it, runs it with onnxruntime (CPU) at every batch size and
  compares each output with ``graphir.interpreter.evaluate`` at ``rtol = atol = 1e-5``;
  returns the ONNX model.

What is expected comes from outside the code under test: values and shapes from the
reference kernels (NumPy, independent of the emitter), the output dtype from the
test (``dtype``).  The type rules only fill in the types a graph declares (the builder
needs them to build a valid graph); they are never the expectation, and the ONNX
model's declared output types are themselves checked against what onnxruntime returns.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from graphir.interpreter import evaluate
from graphir.ir import Graph, Node, Value
from graphir.ops import infer_types
from graphir.tensor_types import TensorType

from graphir.backends.onnx import to_onnx

RTOL = ATOL = 1e-5


class GraphBuilder:
    """Builds an IR graph node by node.  The declared output types come from the op
    set's type rules (a graph must declare what they infer to pass ``verify_graph``);
    tests must not use them as the expected result (see the module docstring)."""

    def __init__(self, seed: int = 0, name: str = "g"):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.weights: dict[str, np.ndarray] = {}
        self.types: dict[str, TensorType] = {}

    def input(self, name: str, shape: Sequence, dtype: str = "float32") -> str:
        """Add a graph input; returns its name."""
        t = TensorType(dtype, tuple(shape))
        self.inputs.append(Value(name, t))
        self.types[name] = t
        return name

    def weight(self, name: str, shape: Sequence[int], *, low: float | None = None,
               high: float | None = None, scale: float = 0.5, dtype: str = "float32") -> str:
        """A seeded weight: uniform in [low, high) when given, else normal(0, scale)."""
        if low is not None:
            arr = self.rng.uniform(low, high, size=tuple(shape))
        else:
            arr = self.rng.normal(0.0, scale, size=tuple(shape))
        return self.const(name, arr.astype(dtype))

    def const(self, name: str, array: np.ndarray) -> str:
        """Add the weight ``name`` holding ``array``; returns its name."""
        self.weights[name] = np.asarray(array)
        self.types[name] = TensorType(array.dtype, array.shape)
        return name

    def op(self, op: str, inputs: Sequence[str], attrs: Mapping | None = None,
           name: str | None = None) -> str:
        """Add one ``op`` node (output type from the type rule); returns its output name."""
        attrs = dict(attrs or {})
        name = name or f"{op}_{len(self.nodes)}"
        in_types = [self.types[i] if i else None for i in inputs]
        out_t = infer_types(op, in_types, attrs)[0]
        self.nodes.append(Node(op, name, list(inputs), [Value(name, out_t)], attrs))
        self.types[name] = out_t
        return name

    def build(self, outputs: Sequence[str] | str) -> Graph:
        """The graph with ``outputs`` (one name or several) as its outputs."""
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        return Graph(self.name, self.inputs, outputs, self.nodes, self.weights)

    # common ops with Keras defaults ---------------------------------------------------
    def conv(self, x: str, filters: int, k: int = 3, *, strides=(1, 1), padding="same",
             dilations=(1, 1), groups: int = 1, activation="linear", bias=True,
             name=None) -> str:
        cin = self.types[x].shape[-1]
        name = name or f"conv_{len(self.nodes)}"
        kern = self.weight(f"{name}/kernel", (k, k, cin // groups, filters), scale=0.3)
        b = self.weight(f"{name}/bias", (filters,)) if bias else ""
        return self.op("conv2d", [x, kern] + ([b] if bias else []),
                       dict(strides=strides, padding=padding, dilations=dilations,
                            groups=groups, activation=activation,
                            data_format="channels_last"), name=name)

    def bn(self, x: str, axis: int = -1, *, gamma=True, beta=True, name=None) -> str:
        c = self.types[x].shape[axis]
        name = name or f"bn_{len(self.nodes)}"
        ins = [self.weight(f"{name}/gamma", (c,), low=0.5, high=1.5) if gamma else "",
               self.weight(f"{name}/beta", (c,)) if beta else "",
               self.weight(f"{name}/mean", (c,)),
               self.weight(f"{name}/variance", (c,), low=0.5, high=1.5)]
        return self.op("batch_norm", [x] + ins, dict(axis=axis, epsilon=1e-3), name=name)


def concrete_shape(t: TensorType, batch: int, dims: int) -> tuple[int, ...]:
    """Axis 0 -> ``batch``; other symbolic/unknown dims -> ``dims``."""
    return tuple(batch if i == 0 and not isinstance(d, int) else d if isinstance(d, int)
                 else dims for i, d in enumerate(t.shape))


def random_feeds(graph: Graph, batch: int, dims: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded inputs: normal floats, integers in [0, 4)."""
    rng = np.random.default_rng(seed)
    out = {}
    for v in graph.inputs:
        shape = concrete_shape(v.type, batch, dims)
        if v.type.dtype.is_float:
            out[v.name] = rng.normal(size=shape).astype(v.type.dtype.to_numpy())
        else:
            out[v.name] = rng.integers(0, 4, size=shape).astype(v.type.dtype.to_numpy())
    return out


def run_onnx(model, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``model`` with onnxruntime (CPU, one thread); output name -> array."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, dict(feeds))))


def _declared_dims(model, name: str) -> list[int | None]:
    """The dims the ONNX model declares for graph output ``name`` (None: not static)."""
    (vi,) = [o for o in model.graph.output if o.name == name]
    return [d.dim_value if d.HasField("dim_value") else None
            for d in vi.type.tensor_type.shape.dim]


def check_parity(graph: Graph, *, batches=(1, 3), dims: int = 5, opset: int = 20,
                 feeds: Callable[[int], Mapping[str, np.ndarray]] | None = None,
                 dtype: str | Mapping[str, str] = "float32"):
    """Emit ``graph`` and compare onnxruntime with the interpreter at each batch size.

    ``dtype`` is the expected dtype of every output (or output name -> dtype), written
    by the test; the expected values and shapes are the reference interpreter's.  The
    model's declared output element types and static dims must match what onnxruntime
    returns.
    """
    model = to_onnx(graph, opset=opset)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [v.name for v in graph.inputs]
    assert [o.name for o in sess.get_outputs()] == list(graph.outputs)
    want_dtype = {name: np.dtype(dtype if isinstance(dtype, str) else dtype[name])
                  for name in graph.outputs}
    for batch in batches:
        data = feeds(batch) if feeds else random_feeds(graph, batch, dims, seed=batch)
        got = sess.run(list(graph.outputs), dict(data))
        want = evaluate(graph, data)
        for name, g in zip(graph.outputs, got):
            w = want[name]
            assert g.dtype == want_dtype[name], (name, g.dtype, want_dtype[name])
            assert g.shape == w.shape, (name, g.shape, w.shape)
            declared = _declared_dims(model, name)
            assert len(declared) == g.ndim and all(
                d is None or d == n for d, n in zip(declared, g.shape)), (name, declared, g.shape)
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL,
                                       err_msg=f"output {name!r} at batch {batch}")
    for out in model.graph.output:
        assert out.type.tensor_type.elem_type == onnx.helper.np_dtype_to_tensor_dtype(
            want_dtype[out.name]), out.name
    return model


@pytest.fixture
def builder() -> Callable[..., GraphBuilder]:
    return GraphBuilder


@pytest.fixture
def parity():
    return check_parity
