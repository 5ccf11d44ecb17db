"""``to_onnx``: emit an IR graph as an ONNX model, directly with ``onnx.helper``.

The model:

* has the IR graph's inputs and outputs, in order, with the IR's names (the Keras
  input/output names), element types and shapes; symbolic dims (the batch,
  ``"batch"``) become ``dim_param``, unknown dims have neither param nor value;
* keeps NHWC at its boundary and transposes only where an op needs NCHW (see
  :mod:`graphir.backends.onnx.context`);
* stores every weight as an initializer (in the layout its consumer needs);
* is deterministic: the same graph gives byte-identical ``SerializeToString()``
  (sequential generated names, no ids or timestamps, fixed producer fields);
* passes ``onnx.checker.check_model(full_check=True)`` (unless ``check=False``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import onnx

import graphir
from graphir.errors import BadInputError, EmissionError, UnsupportedOpError
from graphir.ir import Graph
from graphir.verifier import verify_graph

from .context import NHWC, EmitContext, layout_preferences
from .ops import AGNOSTIC_OPS, EMITTERS, NCHW_OPS, NEUTRAL_OPS
from .save import is_large, write_with_external_data
from .types import value_info

__all__ = ["to_onnx", "MIN_OPSET", "PRODUCER_NAME"]

#: the oldest default-domain opset emitted (ReduceMean/Pad take axes as inputs from 18)
MIN_OPSET = 18
PRODUCER_NAME = "graphir"


def to_onnx(graph: Graph, *, opset: int = 20, check: bool = True) -> onnx.ModelProto:
    """Emit ``graph`` as an ONNX ``ModelProto``.

    Args:
        graph: the IR graph; checked with :func:`~graphir.verifier.verify_graph` first.
        opset: the ONNX default-domain opset, from :data:`MIN_OPSET` (18) to the newest
            the installed ``onnx`` knows.  At 20 and above ``gelu`` is one ``Gelu`` node.
            The model's ``ir_version`` is the oldest that supports ``opset``.
        check: run ``onnx.checker.check_model(model, full_check=True)`` (models over
            2 GiB are checked from a temporary copy with external data).

    Returns:
        The model: inputs ``(N, H, W, C)``-style exactly as the IR declares them, one
        initializer per weight form used, ``producer_name="graphir"``,
        ``producer_version=graphir.__version__``.

    Raises:
        GraphInvariantError: ``graph`` breaks an IR invariant.
        BadInputError: ``opset`` is out of range.
        UnsupportedOpError: an op (or an attribute value, e.g. an unknown activation)
            has no ONNX emitter; the message names the op and the node.
        EmissionError: the ONNX checker rejected the model (its message included).
    """
    verify_graph(graph)
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise BadInputError(f"opset {opset!r} is not supported: choose {MIN_OPSET} to {newest}")
    prefs = layout_preferences(graph, nchw_ops=NCHW_OPS, agnostic_ops=AGNOSTIC_OPS,
                               neutral_ops=NEUTRAL_OPS)
    ctx = EmitContext(graph, opset, prefs)
    for node in graph.nodes:
        emitter = EMITTERS.get(node.op)
        if emitter is None:
            raise UnsupportedOpError(f"op {node.op!r} has no ONNX emitter",
                                     where=f"node {node.name!r}")
        with ctx.emitting(node):
            emitter(ctx, node)
    outputs = [ctx.get(name, NHWC) for name in graph.outputs]  # named exactly like the IR
    onnx_graph = onnx.helper.make_graph(
        ctx.nodes, graph.name,
        inputs=[value_info(v.name, v.type) for v in graph.inputs],
        outputs=[value_info(name, ctx.types[name]) for name in outputs],
        initializer=ctx.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    model = onnx.helper.make_model(
        onnx_graph, opset_imports=opsets, producer_name=PRODUCER_NAME,
        producer_version=graphir.__version__,
        ir_version=onnx.helper.find_min_ir_version_for(opsets))
    if check:
        check_onnx(model)
    return model


def check_onnx(model: onnx.ModelProto) -> None:
    """``onnx.checker.check_model(model, full_check=True)`` (type and shape inference
    included), from a temporary external-data copy when the model exceeds 2 GiB.

    Raises:
        EmissionError: the checker or strict shape inference rejected the model.
    """
    try:
        if is_large(model):
            with tempfile.TemporaryDirectory(prefix="graphir-check-") as tmp:
                path = Path(tmp) / "model.onnx"
                write_with_external_data(model, path, "model.onnx.data")
                onnx.checker.check_model(str(path), full_check=True)
        else:
            onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise EmissionError(f"the ONNX checker rejected the model: {e}") from e
