"""Emission: a :class:`~graphir.ir.Graph` -> a functional Keras model; saving it atomically.

One built-in Keras layer per node (``layer_builders.py``), named
``to_keras_name(node.name)`` (``/`` -> ``.``, made unique if two IR names map to
the same Keras name).  Nodes that apply the same op with the same attributes to
the same weights are calls of *one* Keras layer, so weight sharing survives.
Weights are set after the model is built.  The model saves to ``.keras`` and
loads back in a fresh process with ``keras.saving.load_model(path, safe_mode=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from graphir import ops
from graphir.atomic import atomic_output
from graphir.backends.keras import attention_builders, recurrent_builders, sequence_builders
from graphir.backends.keras.layer_builders import (BUILDERS, LIST_INPUT_OPS, EmitContext,
                                                   finish_layer)
from graphir.errors import EmissionError, ModelFileError, UnsupportedOpError
from graphir.ir import Graph, Node
from graphir.names import Namespace, to_keras_name
from graphir.types import TensorType
from graphir.verifier import verify_graph

__all__ = ["to_keras", "save_keras", "ALL_BUILDERS"]

#: IR op name -> Keras layer builder, over every op group
ALL_BUILDERS = {**BUILDERS, **recurrent_builders.BUILDERS, **attention_builders.BUILDERS,
                **sequence_builders.BUILDERS}


def to_keras(graph: Graph) -> "keras.Model":
    """Emit ``graph`` as a functional ``keras.Model`` with real layers and its weights set.

    Inputs become ``keras.Input(shape=type.shape[1:], dtype=..., name=...)`` (symbolic
    or unknown dims -> None; ``batch_size`` only when the batch dim is a static int);
    outputs follow ``graph.outputs``.  A one-input/one-output graph gives a model
    called on / returning a single tensor, otherwise lists.

    Raises:
        GraphInvariantError: ``graph`` fails :func:`~graphir.verifier.verify_graph`.
        UnsupportedOpError: a node's op (or an attribute value of it) has no Keras
            layer computing it exactly; the error names the op and the node.
        EmissionError: a graph input has no batch axis (rank 0).
    """
    verify_graph(graph)
    names = Namespace()
    types = graph.value_types()
    tensors: dict[str, Any] = {}
    for value in graph.inputs:
        tensors[value.name] = _keras_input(graph, value.name, value.type, names)
    shared: dict[tuple, keras.layers.Layer] = {}
    pending: list[tuple[keras.layers.Layer, list[np.ndarray]]] = []
    for node in graph.nodes:
        layer, data = _layer_for(graph, node, types, names, shared, pending)
        args = [tensors[n] for n in data]
        tensors[node.output.name] = layer(args) if node.op in LIST_INPUT_OPS else layer(*args)
    outputs = []
    for out in graph.outputs:
        tensor = tensors[out]
        if out in {v.name for v in graph.inputs}:  # a Keras output must be a layer's output
            tensor = keras.layers.Identity(name=names.unique(to_keras_name(out) + "_identity"))(
                tensor)
        outputs.append(tensor)
    inputs = [tensors[v.name] for v in graph.inputs]
    model = keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs,
                        outputs=outputs[0] if len(outputs) == 1 else outputs,
                        name=to_keras_name(graph.name))
    for layer, arrays in pending:
        layer.set_weights(arrays)
        finish_layer(layer)
    return model


def _keras_input(graph: Graph, name: str, vtype: TensorType, names: Namespace) -> Any:
    if vtype.rank == 0:
        raise EmissionError(f"graph input {name!r} is a scalar; Keras inputs need a batch axis",
                            where=f"graph {graph.name!r}")
    batch = vtype.shape[0]
    shape = tuple(d if isinstance(d, int) else None for d in vtype.shape[1:])
    return keras.Input(shape=shape, batch_size=batch if isinstance(batch, int) else None,
                       dtype=vtype.dtype.value, name=names.unique(to_keras_name(name)))


def _layer_for(graph: Graph, node: Node, types: dict[str, TensorType], names: Namespace,
               shared: dict[tuple, keras.layers.Layer],
               pending: list[tuple[keras.layers.Layer, list[np.ndarray]]]
               ) -> tuple[keras.layers.Layer, list[str]]:
    """The Keras layer for ``node`` (reused when it shares weights with an earlier node)
    and the names of its data inputs."""
    where = f"graph {graph.name!r}, node {node.name!r}"
    builder = ALL_BUILDERS.get(node.op)
    if builder is None:
        raise UnsupportedOpError(f"op {node.op!r} has no Keras layer", where=where)
    weight_idx = set(ops.get_schema(node.op).weight_inputs)
    data = [n for i, n in enumerate(node.inputs) if i not in weight_idx and n]
    weight_names = tuple(n if i in weight_idx else "" for i, n in enumerate(node.inputs))
    key = (node.op, node.attrs, weight_names) if any(weight_names) else None
    if key is not None and key in shared:
        return shared[key], data
    weights = [graph.weights[n] if n else None for n in weight_names]
    out_dtype = node.output.type.dtype
    dtype = out_dtype.value if out_dtype.is_float and out_dtype.value != "float32" else None
    ctx = EmitContext(node, names.unique(to_keras_name(node.name)),
                      [types[n] for n in data], weights, dtype, where)
    layer, arrays = builder(ctx)
    if key is not None:
        shared[key] = layer
    if arrays:
        pending.append((layer, arrays))
    return layer, data


def save_keras(model: "keras.Model", path: str | os.PathLike) -> None:
    """Save ``model`` to a ``.keras`` file atomically.

    The model is written to a temporary ``.keras`` file in the same folder and moved
    into place (:func:`graphir.atomic.atomic_output`), so a failure leaves no output
    file and never destroys a previous file at ``path``.

    Raises:
        ModelFileError: ``path`` does not end in ``.keras`` or its folder does not exist.
        EmissionError: Keras failed to save the model.
    """
    where = f"file {os.fspath(path)}"
    target = Path(path)
    if target.suffix != ".keras":
        raise ModelFileError(f"Keras models are saved as .keras files, got suffix "
                             f"{target.suffix or '(none)'!r}", where=where)
    if not (target.parent if str(target.parent) else Path(".")).is_dir():
        raise ModelFileError("the output folder does not exist", where=where)
    try:
        with atomic_output(target) as tmp:
            model.save(tmp)
    except Exception as e:  # re-raised as a typed error; atomic_output removed the temp file
        message = " ".join(str(e).split()) or type(e).__name__
        raise EmissionError(f"Keras could not save the model: {type(e).__name__}: "
                            f"{message[:500]}", where=where) from e
