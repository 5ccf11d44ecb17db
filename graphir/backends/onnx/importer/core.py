"""``from_onnx``: the driver of the ONNX frontend (see :mod:`graphir.backends.onnx.importer`)."""

from __future__ import annotations

from typing import Any

import onnx
import onnx.numpy_helper

from graphir.ir import Graph, Node, Value
from graphir.tensor_types import TensorType
from graphir.verifier import verify_graph

from .context import ImportContext, dims_of, onnx_dtype
from .errors import OnnxImportError
from .load import default_opset, load_model
from .registry import converter_for

__all__ = ["CONTROL_FLOW", "from_onnx"]

#: ONNX ops with subgraphs: refused (the IR has no control flow)
CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})


def _input_type(vi: onnx.ValueInfoProto, label: str) -> TensorType:
    where = f"file {label}, graph input {vi.name!r}"
    if vi.type.WhichOneof("value") != "tensor_type":
        raise OnnxImportError("only tensor inputs are supported", where=where)
    dtype = onnx_dtype(vi.type.tensor_type.elem_type)
    if dtype is None:
        raise OnnxImportError(f"element type {onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type)}"
                              f" has no IR dtype", where=where)
    dims = dims_of(vi.type)
    if dims is None:
        raise OnnxImportError("the input's rank is unknown (no shape): give it a shape",
                              where=where)
    return TensorType(dtype, dims)


def _initializer(ctx: ImportContext, tensor: onnx.TensorProto, label: str) -> None:
    if onnx_dtype(tensor.data_type) is None:
        raise OnnxImportError(f"element type {onnx.TensorProto.DataType.Name(tensor.data_type)} "
                              f"has no IR dtype", where=f"file {label}, initializer {tensor.name!r}")
    ctx.bind(tensor.name, ctx.constant(onnx.numpy_helper.to_array(tensor), tensor.name))


def _convert_node(ctx: ImportContext, node: onnx.NodeProto) -> None:
    ctx.begin(node)
    if node.domain not in ("", "ai.onnx"):
        raise ctx.error(f"domain {node.domain!r} is not supported (only the default ONNX "
                        f"domain)")
    if node.op_type in CONTROL_FLOW or any(a.type in (onnx.AttributeProto.GRAPH,
                                                      onnx.AttributeProto.GRAPHS)
                                           for a in node.attribute):
        raise ctx.error("control flow (a subgraph attribute) cannot be imported: the IR "
                        "is a flat dataflow graph")
    conv = converter_for(node.op_type)
    if conv is None:
        raise ctx.error(f"op type {node.op_type} is not supported by graphir's ONNX importer")
    extra = sorted(a.name for a in node.attribute if a.name not in conv.attrs)
    if extra:
        raise ctx.error(f"attribute {extra[0]!r} is not supported (understood: "
                        f"{', '.join(sorted(conv.attrs)) or 'none'})")
    conv.fn(ctx, node)
    for out in node.output:
        if out and out not in ctx._names:
            raise ctx.error(f"output {out!r} is not supported (only "
                            f"{', '.join(o for o in node.output if o in ctx._names)})")


def from_onnx(model_or_path: Any, *, name: str | None = None) -> Graph:
    """Import an ONNX model as a verified IR :class:`Graph`.

    Each ONNX node becomes the IR ops that compute it exactly (channels-first ops as
    transposes around the IR's channels-last ops; run
    :func:`graphir.passes.cancel_transposes` to remove the pairs that cancel).
    Initializers and ``Constant`` nodes become weights named like them; nodes whose
    inputs are all known at import time (static shape computations) are folded;
    graph input and output names are kept.

    Args:
        model_or_path: an ``onnx.ModelProto``, a ``.onnx`` path or serialized bytes (see
            :func:`.load.load_model`: external data is read safely, opsets outside
            13..newest are converted with ``onnx.version_converter``).
        name: the graph's name; default the ONNX graph's name (``"onnx_model"`` if empty).

    Returns:
        The graph, checked with :func:`graphir.verifier.verify_graph`.

    Raises:
        OnnxImportError: an unsupported op type, attribute or attribute value, a
            control-flow op, a non-default domain, a dtype the IR lacks, or a shape or
            dimension that cannot be resolved at import time; the message names the node,
            its op type and the opset.
    """
    model, label = load_model(model_or_path)
    opset = default_opset(model)
    g = model.graph
    init_names = {t.name for t in g.initializer}
    reserved = {*init_names, *(v.name for v in g.input),
                *(o for n in g.node for o in n.output if o)}
    ctx = ImportContext(opset, reserved, (n.name for n in g.node if n.name))
    inputs: list[Value] = []
    for vi in g.input:
        if vi.name in init_names:  # IR v3 style: initializers listed as inputs
            continue
        t = _input_type(vi, label)
        ctx.define_input(vi.name, t)
        inputs.append(Value(vi.name, t))
    for tensor in g.initializer:
        _initializer(ctx, tensor, label)
    for tensor in g.sparse_initializer:
        raise OnnxImportError("sparse initializers are not supported",
                              where=f"file {label}, initializer {tensor.values.name!r}")
    for node in g.node:
        _convert_node(ctx, node)
    ctx.node = None
    outputs = []
    for vi in g.output:
        ir = ctx.lookup(vi.name)
        if ir != vi.name or ir in ctx.consts or any(v.name == ir for v in inputs) \
                or ir in outputs:
            out_name = vi.name if ir != vi.name else ctx.fresh("output")
            ctx.nodes.append(Node("identity", ctx._node_names.unique(out_name), (ir,),
                                  (Value(out_name, ctx.types[ir]),)))
            ctx.types[out_name] = ctx.types[ir]
            ir = out_name
        outputs.append(ir)
    read = {i for n in ctx.nodes for i in n.inputs if i}
    weights = {k: v for k, v in ctx.consts.items() if k in read}
    graph = Graph(name or g.name or "onnx_model", tuple(inputs), tuple(outputs),
                  tuple(ctx.nodes), weights)
    verify_graph(graph)
    return graph
