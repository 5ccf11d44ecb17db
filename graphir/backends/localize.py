"""First-divergence localization: where a candidate ONNX model starts to differ.

When a comparison fails (or on ``--localize``), graphir compares the *layer-level
values that exist in both runtimes*, in the graph's topological order, on the inputs
of the failing case, and reports the first node whose output diverges beyond the
tolerance while its inputs agree.

* Correspondence: graphir emitted both sides, so an IR node ``name`` (the Keras layer
  name) is the Keras layer of that name in the reference model, and in the ONNX model
  the value ``name`` (channels-last) or ``name/nchw`` (channels-first, compared after
  the transpose back to NHWC).  In a foreign ONNX model (tf2onnx names values
  ``model_1/conv1_1/BiasAdd:0``), the layer's value is the last node output, in node
  order, with ``name`` (or ``name_N``, TensorFlow's uniquified scope) as a
  ``/``-separated scope component (``:N`` dropped); it is transposed back when its
  shape is the channels-first permutation of the reference's.  Values that exist on one side only (fused into
  another op, a layer called twice, a layer inside a nested model) are skipped; the
  report counts what was compared.
* Walk: nodes in topological order, in chunks of :data:`CHUNK` values.  For each chunk
  a Keras model with those layer outputs and the ONNX model with those values added
  as graph outputs are run, the values compared under :mod:`graphir.tolerance`, then
  released: memory stays bounded by one chunk of activations (plus the two models).
  The walk stops at the first divergent node, or when ``budget_s`` seconds are spent
  (then ``status`` is ``"budget-exceeded"``).
* Verdict: the first compared node that diverges *and introduces* the error.  Float
  error accumulates through a deep network: a clean ResNet50's late layer values can
  exceed the tolerance slightly while its outputs pass.  So with ``e(v) = max |c - r| /
  max |r|`` (the value's error relative to its scale) and ``upstream(v)`` the largest
  ``e`` of the compared values feeding it (through uncompared nodes too; 0 for graph
  inputs), a node is the divergence when its value fails the tolerance and
  ``e > AMPLIFICATION * upstream`` (:data:`AMPLIFICATION` = 10): its own error is an
  order of magnitude above what it was given.  A value outside the tolerance that only
  carries its inputs' error is reported as ``first_outside_tolerance``, not as the
  divergence.  ``inputs_agree`` says whether every compared input of the node passed
  the tolerance (graph inputs always do).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence

import numpy as np

from graphir.ir import Graph
from graphir.printer import excerpt
from graphir.tolerance import compare_arrays, tolerance_for

__all__ = ["AMPLIFICATION", "CHUNK", "SQUASHING", "localize", "logit_pairs",
           "reference_logits"]

#: values compared per chunk (bounds the activations held at once)
CHUNK = 16
#: how much larger than its inputs' error a node's error must be to be the divergence
AMPLIFICATION = 10.0
#: unmatched node names listed in the result (the count is always given)
MAX_LISTED = 50


def _keras_layer_outputs(model, names: Sequence[str]) -> dict[str, object]:
    """Top-level layer name -> its output KerasTensor, for layers called exactly once
    with a single output."""
    out = {}
    wanted = set(names)
    for layer in model.layers:
        if layer.name not in wanted or len(getattr(layer, "_inbound_nodes", [])) != 1:
            continue
        try:
            tensor = layer.output
        except (AttributeError, ValueError):
            continue
        if not isinstance(tensor, (list, tuple, dict)):
            out[layer.name] = tensor
    return out


def localize(graph: Graph, original, onnx_bytes: bytes, feeds: dict[str, np.ndarray], *,
             rtol: float | None = None, atol: float | None = None, budget_s: float = 60.0,
             case: str = "primary", tf_device: str = "/CPU:0",
             onnx_feeds: dict[str, np.ndarray] | None = None) -> dict:
    """Find the first node whose ONNX value diverges from the Keras layer's output.

    Args:
        graph: the IR graph both sides were emitted from (topological node order).
        original: the reference ``keras.Model``.
        onnx_bytes: the candidate ONNX model (graphir's emission of ``graph``, or one
            whose value names follow the Keras layer names).
        feeds: the failing case's inputs, by graph input name.
        rtol, atol: tolerance overrides (default: the per-dtype policy).
        budget_s: stop the walk after this many seconds (wall clock).
        case: the case's name, for the report.
        tf_device: the TensorFlow device string to run on.
        onnx_feeds: the same inputs keyed and laid out as the ONNX model wants them
            (a foreign model's names/NCHW inputs); default ``feeds``.  Given, the model
            is treated as *foreign* (not graphir's emission of ``graph``): a divergence
            is only attributed to one node when every input of that node was compared
            and agreed (see ``divergent_span``), and a scope match whose shape is not
            the layer's is rejected, never compared.

    Returns:
        the JSON-ready ``localization`` object: ``first_divergent_node`` (the IR node
        name or None), ``op``, ``case``, ``status`` (``"found"``, ``"not-found"``,
        ``"budget-exceeded"``), ``inputs_agree``, ``inputs`` (``{"name", "agrees"}``
        per input; ``agrees`` None when not compared), the node's error statistics
        (``max_abs_err``, ``max_rel_err``, ``mismatches``, ``reason``, ``error`` =
        its ``e``, ``input_error`` = its upstream ``e``), ``excerpt`` (the text IR
        around it), ``first_outside_tolerance`` (the first value outside the
        tolerance, divergence or not), ``compared`` (values compared),
        ``comparable`` (values in both runtimes), ``chunk`` and ``seconds``.
        What could and could not be matched: ``foreign``, ``matched_by`` (counts of
        matches by ``name``, ``nchw`` (graphir's ``NAME/nchw``) and layer ``scope``),
        ``unmatched`` (IR nodes without a comparable ONNX value, the first
        :data:`MAX_LISTED`) and ``unmatched_count``, ``rejected`` (scope matches
        dropped: ``{"node", "onnx_value", "shape", "expected"}``).  Status
        ``"no-matching-values"`` (with a ``message``; nothing compared, the node
        null) when no value matched; ``"span"`` when, in a foreign model, the error
        first shows at a value whose node has uncompared ancestors since the last
        agreeing values: ``first_divergent_node`` is then null, ``divergent_span``
        lists those nodes (topological order; one of them introduced the error),
        ``first_seen_at`` the node whose value showed it, ``onnx_value`` its ONNX
        name.  ``divergent_span`` is ``[node]`` when found, None otherwise.
    """
    import keras
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    from onnx import helper

    start = time.perf_counter()
    model = onnx.load_from_string(onnx_bytes)
    produced = {o for n in model.graph.node for o in n.output}
    declared = {o.name for o in model.graph.output}
    types = graph.value_types()
    index = {node.name: i for i, node in enumerate(graph.nodes)}
    layer_outputs = _keras_layer_outputs(original, [n.name for n in graph.nodes])
    scoped = _scoped_values(model, {layer.name for layer in original.layers})
    plan = []  # (node, value name, onnx name, channels_first)
    unmatched: list[str] = []  # IR nodes with no ONNX value to compare
    how = {"name": 0, "nchw": 0, "scope": 0}
    for node in graph.nodes:
        value = node.outputs[0].name if len(node.outputs) == 1 else None
        if value is None or node.name not in layer_outputs:
            unmatched.append(node.name)
            continue
        if value in produced or value in declared:
            plan.append((node, value, value, False))
            how["name"] += 1
        elif f"{value}/nchw" in produced:
            plan.append((node, value, f"{value}/nchw", True))
            how["nchw"] += 1
        elif value in scoped:  # a foreign ONNX: the last value in the layer's scope
            plan.append((node, value, scoped[value], None))
            how["scope"] += 1
        else:
            unmatched.append(node.name)
    foreign = onnx_feeds is not None
    producer = {v.name: n for n in graph.nodes for v in n.outputs}
    rejected: list[dict] = []  # scope matches whose shape is not the layer's
    agreed: dict[str, bool] = {v.name: True for v in graph.inputs}
    error: dict[str, float] = {v.name: 0.0 for v in graph.inputs}  # e of compared values
    upstream: dict[str, float] = {}  # largest e feeding each value, through all nodes
    position = 0  # nodes before this index have their upstream error propagated
    result = {"first_divergent_node": None, "op": None, "case": case, "status": "not-found",
              "inputs_agree": None, "inputs": [], "excerpt": "", "compared": 0,
              "comparable": len(plan), "chunk": CHUNK, "first_outside_tolerance": None,
              "foreign": foreign, "matched_by": how,
              "unmatched": unmatched[:MAX_LISTED], "unmatched_count": len(unmatched),
              "rejected": rejected, "divergent_span": None}
    if not plan:
        result.update(status="no-matching-values", seconds=time.perf_counter() - start,
                      message="no ONNX value could be matched to a Keras layer output (by "
                              "name, name/nchw or layer scope): the divergence cannot be "
                              "localized in this model")
        return result

    def span_of(node) -> list[str]:
        """``node`` and its ancestors up to the compared values (and graph inputs):
        the nodes that can have introduced an error seen first at ``node``."""
        names, stack, seen = {node.name}, [i for i in node.inputs if i], set()
        while stack:
            v = stack.pop()
            if v in seen or v in agreed or v in graph.weights or v not in producer:
                continue
            seen.add(v)
            names.add(producer[v].name)
            stack.extend(i for i in producer[v].inputs if i)
        return [n.name for n in graph.nodes if n.name in names]

    def carried(name: str) -> float:
        return error[name] if name in error else upstream.get(name, 0.0)

    def propagate(until: int) -> None:
        """Upstream error of the outputs of nodes ``position .. until`` (exclusive)."""
        nonlocal position
        for node in graph.nodes[position:until]:
            feed = max((carried(i) for i in node.inputs if i and i not in graph.weights),
                       default=0.0)
            for out in node.outputs:
                upstream[out.name] = feed
        position = max(position, until)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    ordered = [feeds[v.name] for v in graph.inputs]
    for lo in range(0, len(plan), CHUNK):
        if time.perf_counter() - start > budget_s:
            result["status"] = "budget-exceeded"
            break
        chunk = plan[lo:lo + CHUNK]
        sub_inputs = original.inputs if len(original.inputs) > 1 else original.inputs[0]
        sub = keras.Model(sub_inputs, [layer_outputs[n.name] for n, *_ in chunk])
        with tf.device(tf_device):
            ref = sub(ordered if len(ordered) > 1 else ordered[0], training=False)
        ref = [np.asarray(r) for r in (ref if isinstance(ref, (list, tuple)) else [ref])]
        del sub
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        existing = {o.name for o in probe.graph.output}
        for node, value, name, _ in chunk:
            if name not in existing:
                elem = helper.np_dtype_to_tensor_dtype(types[value].dtype.to_numpy())
                probe.graph.output.append(helper.make_tensor_value_info(name, elem, None))
        session = ort.InferenceSession(probe.SerializeToString(), sess_options=options,
                                       providers=["CPUExecutionProvider"])
        got = session.run([name for _, _, name, _ in chunk],
                          onnx_feeds if onnx_feeds is not None else feeds)
        del session, probe
        for (node, value, onnx_name, channels_first), r, c in zip(chunk, ref, got):
            c = np.asarray(c)
            to_last = (0, *range(2, c.ndim), 1)
            if c.ndim >= 3 and (channels_first or (
                    channels_first is None and c.shape != r.shape
                    and tuple(c.shape[i] for i in to_last) == r.shape)):
                c = np.transpose(c, to_last)
            if channels_first is None and c.shape != r.shape:
                # a scope match that is not the layer's output (e.g. tf2onnx's input
                # transpose named in the first BatchNormalization's scope)
                rejected.append({"node": node.name, "onnx_value": onnx_name, "shape": list(c.shape),
                                 "expected": list(r.shape)})
                result["comparable"] -= 1
                continue
            tol = tolerance_for(r.dtype, rtol=rtol, atol=atol)
            cmp = compare_arrays(r, c, tolerance=tol, nan_equal=True)
            result["compared"] += 1
            agreed[value] = cmp.passed
            propagate(index[node.name] + 1)
            own = _relative_error(cmp)
            error[value] = own
            if cmp.passed:
                continue
            given = max((carried(i) for i in node.inputs if i and i not in graph.weights),
                        default=0.0)
            if result["first_outside_tolerance"] is None:
                result["first_outside_tolerance"] = node.name
            if not own > AMPLIFICATION * given:
                continue  # carries the error it was given: not where it starts
            inputs = [{"name": i, "agrees": agreed.get(i)} for i in node.inputs
                      if i and i not in graph.weights]
            span = span_of(node) if foreign else [node.name]
            result.update(divergent_span=span, onnx_value=onnx_name)
            if len(span) > 1:
                # the error appears at node's value, but uncompared nodes lie between
                # it and the last agreeing values: any of them may have introduced it
                result.update(status="span", op=node.op, first_seen_at=node.name,
                              max_abs_err=_num(cmp.max_abs_err),
                              max_rel_err=_num(cmp.max_rel_err), mismatches=cmp.mismatches,
                              reason=cmp.reason, error=own, input_error=given,
                              excerpt=excerpt(graph, index[node.name]),
                              message=f"the error is introduced by one of {len(span)} nodes "
                                      f"({', '.join(span)}): the ONNX model has no value "
                                      f"matching the outputs of all but the last")
                break
            result.update(first_divergent_node=node.name, op=node.op, status="found",
                          inputs=inputs,
                          inputs_agree=all(i["agrees"] is not False for i in inputs),
                          max_abs_err=_num(cmp.max_abs_err), max_rel_err=_num(cmp.max_rel_err),
                          mismatches=cmp.mismatches, reason=cmp.reason,
                          error=own, input_error=given,
                          excerpt=excerpt(graph, index[node.name]))
            break
        del ref, got
        if result["status"] in ("found", "span"):
            break
    result["seconds"] = time.perf_counter() - start
    return result


def _scoped_values(model, layer_names: set[str]) -> dict[str, str]:
    """Scope component -> the last node output (in node order) whose ``/``-separated
    name (TensorFlow's ``:N`` dropped) has that component, for foreign ONNX models.
    A component ``NAME_N`` (TensorFlow's uniquified call scope, e.g. tf2onnx's
    ``model_1/conv_1/Relu:0`` for the layer ``conv``) also counts for ``NAME`` unless
    ``NAME_N`` is itself a layer name; an exact component wins."""
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for node in model.graph.node:
        for value in node.output:
            if not value:
                continue
            for part in value.split(":")[0].split("/"):
                exact[part] = value
                base = re.sub(r"_\d+$", "", part)
                if base != part and part not in layer_names:
                    loose[base] = value
    return {**loose, **exact}


def _relative_error(cmp) -> float:
    """``max |c - r| / max |r|`` of a comparison (inf on a shape/kind mismatch)."""
    if math.isnan(cmp.max_abs_err):
        return math.inf
    return cmp.max_abs_err / cmp.scale if cmp.scale else cmp.max_abs_err


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


#: output activations whose inputs (the logits) are compared too
SQUASHING = ("softmax", "sigmoid")


def _logit_targets(graph: Graph, original, model) -> list[tuple]:
    """``(output, keras tensor, onnx logits name, dense layer or None)`` for every graph
    output a softmax/sigmoid produces in both ``original`` and the ONNX ``model``."""
    producers = graph.producers()
    onnx_producer = {o: n for n in model.graph.node for o in n.output}
    wanted = []
    layers = {layer.name: layer for layer in original.layers}
    for out in graph.outputs:
        node = producers.get(out, (None,))[0]
        onode = onnx_producer.get(out)
        if node is None or onode is None or onode.op_type.lower() not in SQUASHING:
            continue
        if node.op in SQUASHING and node.inputs[0] in layers:
            tensor, dense = _single_tensor(layers[node.inputs[0]], "output"), None
        elif node.op == "dense" and node.attrs.get("activation") in SQUASHING \
                and node.name in layers:
            dense = layers[node.name]
            tensor = _single_tensor(dense, "input")
        else:
            continue
        if tensor is not None:
            wanted.append((out, tensor, onode.input[0], dense))
    return wanted


def _keras_logits(graph: Graph, original, wanted: list[tuple], feeds: dict[str, np.ndarray],
                  tf_device: str, dtype) -> list[np.ndarray]:
    """The reference logits of ``wanted`` (see :func:`logit_pairs`), float inputs cast to
    the dtypes of ``original``'s inputs, results cast to ``dtype``."""
    import keras
    import tensorflow as tf

    inputs = original.inputs if len(original.inputs) > 1 else original.inputs[0]
    sub = keras.Model(inputs, [t for _, t, _, _ in wanted])
    ordered = []
    for v, tensor in zip(graph.inputs, original.inputs):
        a = np.asarray(feeds[v.name])
        want = np.dtype(keras.backend.standardize_dtype(tensor.dtype))
        ordered.append(a.astype(want) if a.dtype.kind == "f" and want.kind == "f" else a)
    with tf.device(tf_device):
        ref = sub(ordered if len(ordered) > 1 else ordered[0], training=False)
    ref = [np.asarray(r) for r in (ref if isinstance(ref, (list, tuple)) else [ref])]
    out = []
    for (_, _, _, dense), r in zip(wanted, ref):
        if dense is not None:
            kernel = np.asarray(dense.kernel, np.float64)
            bias = np.asarray(dense.bias, np.float64) if dense.use_bias else 0.0
            r = r.astype(np.float64) @ kernel + bias
        out.append(np.asarray(r).astype(dtype))
    return out


def reference_logits(graph: Graph, original, onnx_bytes: bytes, feeds: dict[str, np.ndarray],
                     *, tf_device: str = "/CPU:0", dtype=np.float32) -> dict[str, np.ndarray]:
    """The reference side of :func:`logit_pairs` only: output name -> logits computed by
    ``original`` (a Keras model, e.g. the float64 twin of the reference:
    :func:`graphir.backends.keras.float64.float64_twin`) on ``feeds`` (float feeds cast
    to its input dtypes), cast to ``dtype``; the outputs chosen as :func:`logit_pairs`
    chooses them (``onnx_bytes`` says which ONNX outputs a squashing node produces)."""
    import onnx

    wanted = _logit_targets(graph, original, onnx.load_from_string(onnx_bytes))
    if not wanted:
        return {}
    logits = _keras_logits(graph, original, wanted, feeds, tf_device, dtype)
    return {w[0]: r for w, r in zip(wanted, logits)}


def logit_pairs(graph: Graph, original, onnx_bytes: bytes, feeds: dict[str, np.ndarray], *,
                tf_device: str = "/CPU:0") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(output name, reference logits, candidate logits)`` for every graph output that a
    softmax or sigmoid produces, where both runtimes let graphir reach the logits.

    A squashing head hides errors: a 1000-class softmax maps a logit error of 1e-3 to a
    probability error of ~1e-6.  The logits are:

    * reference: for a stand-alone ``Softmax``/``Activation`` layer, the output of the
      Keras layer feeding it (computed by TF); for a ``Dense(activation="softmax")``,
      ``x @ kernel + bias`` in float64 from the Dense layer's input (computed by TF)
      and its own weights (then cast to float32);
    * candidate: the input value of the ONNX ``Softmax``/``Sigmoid`` node that produces
      the graph output.

    Outputs where either side cannot be reached are left out.
    """
    import onnx
    import onnxruntime as ort
    from onnx import helper

    model = onnx.load_from_string(onnx_bytes)
    wanted = _logit_targets(graph, original, model)
    if not wanted:
        return []
    ref = _keras_logits(graph, original, wanted, feeds, tf_device, np.float32)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for _, _, name, _ in wanted:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                                                None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    got = session.run([name for _, _, name, _ in wanted], feeds)
    return [(out, r, np.asarray(c)) for (out, _, _, _), r, c in zip(wanted, ref, got)]


def _single_tensor(layer, which: str):
    """``layer.input`` or ``layer.output`` (``which``) when it is one symbolic tensor, else
    None (several, or a layer Keras cannot answer for)."""
    try:
        t = getattr(layer, which)
    except (AttributeError, ValueError):
        return None
    return None if isinstance(t, (list, tuple, dict)) else t
