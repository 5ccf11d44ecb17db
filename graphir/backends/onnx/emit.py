"""``to_onnx``: emit an IR graph as an ONNX model, directly with ``onnx.helper``.

The model:

* has the IR graph's inputs and outputs, in order, with the IR's names (the Keras
  input/output names), element types and shapes; symbolic dims (the batch,
  ``"batch"``) become ``dim_param``, unknown dims have neither param nor value;
* keeps NHWC at its boundary and transposes only where an op needs NCHW (see
  :mod:`graphir.backends.onnx.context`);
* folds what onnxruntime would otherwise run as separate steps (:mod:`.fold`;
  ``fold=False`` keeps the emitters' nodes as they are): a ``BatchNormalization`` that
  only normalizes a ``Conv`` into its kernel and bias, a zero ``Pad`` before a ``Conv``
  into its ``pads``, and a spatial ``ReduceMean`` into ``GlobalAveragePool``;
* stores every weight as an initializer (in the layout its consumer needs), its
  bytes copied once, straight into the model (:mod:`.tensors`);
* is deterministic: the same graph gives byte-identical ``SerializeToString()``
  (sequential generated names, no ids or timestamps, fixed producer fields);
* passes ``onnx.checker.check_model(full_check=True)`` (unless ``check=False``), run
  on a weight-stripped stub of the model, which checks the same things without
  serializing the weights (see :mod:`.validate` for exactly what is checked).
"""

from __future__ import annotations

from typing import Sequence

import onnx

from graphir.version import __version__
from graphir.errors import BadInputError, EmissionError, UnsupportedOpError
from graphir.ir import Graph
from graphir.verifier import verify_graph

from .validate import check_onnx, check_stub
from .context import NHWC, Initializer, OnnxEmitContext, layout_preferences
from .fold import fold as _fold
from .registry import emitter_for
from .tensors import serialize_model, write_tensor
from .types import value_info

__all__ = ["to_onnx", "to_onnx_bytes", "check_onnx", "MIN_OPSET", "DEFAULT_OPSET",
           "PRODUCER_NAME"]

#: the oldest default-domain opset emitted (ReduceMean/Pad take axes as inputs from 18)
MIN_OPSET = 18
#: the default opset: 18, because onnxruntime (1.31, CPU) runs the ``AveragePool`` of
#: opset 19 (dilations) in a generic loop ~13x slower than the opset-11 one it keeps
#: for models up to 18; nothing graphir emits needs a newer opset (``gelu`` is one
#: ``Gelu`` node from 20, else its ``Erf`` expansion, which onnxruntime fuses back)
DEFAULT_OPSET = 18
PRODUCER_NAME = "graphir"


def to_onnx(graph: Graph, *, opset: int = DEFAULT_OPSET, check: bool = True,
            fold: bool = True) -> onnx.ModelProto:
    """Emit ``graph`` as an ONNX ``ModelProto``.

    Args:
        graph: the IR graph; checked with :func:`~graphir.verifier.verify_graph` first.
        opset: the ONNX default-domain opset, from :data:`MIN_OPSET` (18) to the newest
            the installed ``onnx`` knows; default :data:`DEFAULT_OPSET` (18, see there).
            At 20 and above ``gelu`` is one ``Gelu`` node.
            The model's ``ir_version`` is the oldest that supports ``opset``.
        check: run ``onnx.checker.check_model(full_check=True)`` on a stub of the model
            (its weights' names, types and shapes without their bytes; small constants
            kept), before the weights are copied in: see :mod:`.validate`.
        fold: apply the folds of :mod:`.fold` (``Conv -> BatchNormalization`` into one
            Conv, ``Pad -> Conv`` into one Conv, spatial ``ReduceMean`` into
            ``GlobalAveragePool``): equal up to float rounding, faster to run.  False
            keeps every node as the op emitters wrote it.

    Returns:
        The model: inputs ``(N, H, W, C)``-style exactly as the IR declares them, one
        initializer per weight form used, ``producer_name="graphir"``,
        ``producer_version=__version__``.

    Raises:
        GraphInvariantError: ``graph`` breaks an IR invariant.
        BadInputError: ``opset`` is out of range.
        UnsupportedOpError: an op (or an attribute value, e.g. an unknown activation)
            has no ONNX emitter; the message names the op and the node.
        EmissionError: the ONNX checker rejected the model (its message included).
    """
    model, initializers = _emit(graph, opset, check, fold)
    for init in initializers:
        write_tensor(model.graph.initializer.add(), init)
    return model


def to_onnx_bytes(graph: Graph, *, opset: int = DEFAULT_OPSET, check: bool = True,
                  fold: bool = True) -> bytes:
    """``to_onnx(graph, ...).SerializeToString()`` (same options), byte for byte,
    without building the ``ModelProto``: the weights are copied once, into the result.

    For a model of W weight bytes, ``to_onnx(...).SerializeToString()`` holds about 3 W
    beside the graph at its peak (the protobuf message, upb's encoding buffer, the
    bytes); this holds W (the bytes) and one transposed weight at a time.

    Raises:
        EmissionError: as :func:`to_onnx`, or the model exceeds the 2 GiB protobuf limit
            (save it with :func:`~graphir.backends.onnx.save_onnx`, which uses external
            data for large models).
        GraphInvariantError, BadInputError, UnsupportedOpError: as :func:`to_onnx`.
    """
    model, initializers = _emit(graph, opset, check, fold)
    data = serialize_model(model, initializers)
    if len(data) > _PROTOBUF_LIMIT:
        raise EmissionError(f"the model is {len(data)} bytes, over the 2 GiB protobuf limit; "
                            "save it with save_onnx (external data)")
    return data


#: protobuf refuses to parse messages of 2 GiB or more
_PROTOBUF_LIMIT = 2 ** 31 - 1


def _pad_output_types(ctx: OnnxEmitContext, nodes, outputs: set[str]) -> list:
    """Declared types of the ``Pad`` outputs.  ONNX's shape inference of a Pad with an
    ``axes`` input (every Pad the emitter writes, see ``zero_pad2d``) gives the unpadded
    axes fresh unknown dims, so the symbolic batch dim is lost after it; onnxruntime then
    cannot prove that the two inputs of a later ``Add`` have one shape and runs it (and
    everything after it) without its blocked-layout fusions: NASNetMobile ran 20% slower.
    Declaring the type keeps the dim (and the checker verifies the declaration)."""
    out = []
    for node in nodes:
        if node.op_type == "Pad" and not node.domain:
            for name in node.output:
                t = ctx.onnx_type(name)
                if t is not None and name not in outputs:
                    out.append(value_info(name, t))
    return out


def _emit(graph: Graph, opset: int, check: bool, fold: bool
          ) -> tuple[onnx.ModelProto, Sequence[Initializer | onnx.TensorProto]]:
    """The model without its initializers, and the initializers to write (checked first
    when ``check``)."""
    verify_graph(graph)
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise BadInputError(f"opset {opset!r} is not supported: choose {MIN_OPSET} to {newest}")
    ctx = OnnxEmitContext(graph, opset, layout_preferences(graph))
    for node in graph.nodes:
        emitter = emitter_for(node.op)
        if emitter is None:
            raise UnsupportedOpError(f"op {node.op!r} has no ONNX emitter",
                                     where=f"node {node.name!r}")
        with ctx.emitting(node):
            emitter(ctx, node)
    outputs = [ctx.get(name, NHWC) for name in graph.outputs]  # named exactly like the IR
    if fold:
        _fold(ctx, set(outputs))
    nodes, initializers = ctx.nodes, ctx.initializers
    opsets = [onnx.helper.make_opsetid("", opset)]
    # built in place: make_graph/make_model would copy every initializer twice more
    model = onnx.ModelProto()
    model.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    model.opset_import.extend(opsets)
    model.producer_name = PRODUCER_NAME
    model.producer_version = __version__
    onnx_graph = model.graph
    onnx_graph.name = graph.name
    onnx_graph.node.extend(nodes)
    onnx_graph.input.extend(value_info(v.name, v.type) for v in graph.inputs)
    onnx_graph.output.extend(value_info(name, ctx.types[name]) for name in outputs)
    onnx_graph.value_info.extend(_pad_output_types(ctx, nodes, set(outputs)))
    if check:
        stub = onnx.ModelProto()
        stub.CopyFrom(model)  # no initializers yet: small
        for init in initializers:
            write_tensor(stub.graph.initializer.add(), init, data=False)
        check_stub(stub)
    return model, initializers
