"""The type-inference engine: one sweep over a graph that types every value and reports
every problem it meets on the way.

Two clients, two policies, one loop:

* :func:`graphir.verifier.verify_graph` types each node from the *declared* types of its
  inputs, stops at the first :class:`Problem` and raises it as a
  :class:`~graphir.errors.GraphInvariantError`;
* :func:`graphir.passes.check.check` types each node from the *inferred* types of its
  inputs (``refine=True``: declared types are not trusted), collects every problem as a
  :class:`~graphir.diagnostics.Diagnostic` and goes on.

Per value and per node, in graph order (graph inputs, weights, then the nodes), the sweep
checks the invariants of ``specs/ir.md`` that a walk in topological order can see; each
has one helper below that words its problem:

=====================  ============================  ==============================================
invariant id           helper                        what is checked
=====================  ============================  ==============================================
``names``              :func:`name_problem`          a graph input, weight, node or output name is
                                                     a non-empty ``str`` without line breaks, and
                                                     not taken (values share one name space,
                                                     nodes have their own)
``known-op``           :func:`known_op_problem`      the node's op is in the op set
``arity``              :func:`arity_problem`         input and output counts fit the op schema
``attributes``         :func:`attributes_problem`    the attributes fit the op's attribute schema
``arity``              :func:`omitted_input_problem` an omitted input (``""``) is an optional one
``defined-before-use`` :func:`undefined_input_problem` every input names a graph input, a weight or
                                                     an output of an *earlier* node; as nodes are
                                                     visited in order this also proves the graph
                                                     acyclic (a cycle needs a use before a
                                                     definition)
``weight-inputs``      :func:`weight_input_problem`  inputs the schema marks as weights name weights
``types``              :func:`rule_problem`          the op's type rule accepts the input types
``types``              :func:`declared_type_problem` each declared output type is compatible with
                                                     the inferred one (equal dtype and rank, equal
                                                     static dims; symbolic/unknown dims match
                                                     anything)
=====================  ============================  ==============================================

After a problem the sweep goes on as if the node's declared output types were right,
so a collecting client sees later, independent problems without a cascade.

The op registry is used through ``graphir.ops.get_schema(op)`` and the schema's
``infer``, ``check_arity``, ``check_attrs``, ``num_outputs``, ``weight_inputs`` and
(to name an input's role) ``inputs`` and ``variadic``.

Cost: linear in the graph's size.  Within one sweep, results that depend only on an op,
its input count, output count and attributes (known-op, arity, attributes), or on an
op, its attributes and its input types (the type rule, a pure function) are computed
once per distinct key: a repeated layer costs a dictionary lookup.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import attrs

from graphir import ops as _ops
from graphir.ir import Graph, Node, weight_type
from graphir.tensor_types import TensorType

__all__ = ["Problem", "TypeWalk", "arity_problem", "attributes_problem",
           "declared_type_problem", "known_op_problem", "name_problem", "omitted_input_problem",
           "named_types", "refine", "rule_problem", "undefined_input_problem",
           "weight_input_problem"]


@attrs.frozen
class Problem:
    """One violated invariant found by :class:`TypeWalk`.

    Attributes:
        invariant: its id (``specs/ir.md``), e.g. ``"defined-before-use"``.
        message: what is wrong, one line, in the verifier's wording.
        node_index: index of the offending node in ``graph.nodes``; None for a graph
            input or a weight.
        name: the offending node's name (None for graph-level problems).
        rule_error: for a type rule's refusal, the :class:`graphir.ops.TypeRuleError`.
        input_types: for a type rule's refusal, the input types the rule was given
            (None for omitted inputs).
        output_index: for a declared-vs-inferred mismatch, which output.
        declared, inferred: for that mismatch, the two types.
    """

    invariant: str
    message: str
    node_index: int | None = None
    name: str | None = None
    rule_error: Any = None
    input_types: tuple = ()
    output_index: int | None = None
    declared: TensorType | None = None
    inferred: TensorType | None = None


# --- one helper per invariant: each returns the problem's message, or None ------------------


def _bad_name(name: object) -> bool:
    return not isinstance(name, str) or not name or "\n" in name or "\r" in name


def name_problem(name: object, taken: Any, what: str) -> str | None:
    """``names``: ``name`` must be a non-empty ``str`` without line breaks and not in
    ``taken``; ``what`` says whose name it is (``"node"``, ``"graph input"``...)."""
    if _bad_name(name):
        return f"{what} name {name!r} is empty or has a line break"
    if name in taken:
        return {"graph input": f"graph input {name!r} is defined twice",
                "weight": f"weight {name!r} has the name of a graph input",
                "node": f"node name {name!r} is used by two nodes",
                }.get(what, f"output {name!r} is already defined")
    return None


def known_op_problem(op: str, schema: Any) -> str | None:
    """``known-op``: ``schema`` (from ``get_schema(op)``) exists."""
    return f"op {op!r} is not in the op set" if schema is None else None


def arity_problem(schema: Any, n_inputs: int, n_outputs: int) -> str | None:
    """``arity``: the schema accepts ``n_inputs`` inputs and defines ``n_outputs``."""
    problem = schema.check_arity(n_inputs)
    if problem:
        return f"{schema.name} {problem}"
    if n_outputs != schema.num_outputs:
        return f"{schema.name} defines {schema.num_outputs} output(s), node has {n_outputs}"
    return None


def attributes_problem(schema: Any, attrs_: Mapping[str, Any]) -> str | None:
    """``attributes``: names, kinds, lengths and choices fit the schema."""
    problem = schema.check_attrs(attrs_)
    return f"{schema.name}: {problem}" if problem else None


def _role(schema: Any, i: int) -> str:
    roles = schema.inputs
    return roles[min(i, len(roles) - 1)].rstrip("?") if roles else f"#{i}"


def omitted_input_problem(schema: Any, i: int) -> str | None:
    """``arity``: input ``i`` is omitted (``""``); only an optional role may be."""
    roles = schema.inputs
    role = roles[min(i, len(roles) - 1)] if roles else ""
    if schema.variadic or not role.endswith("?"):
        return f"input {i} ({role.rstrip('?')}) is required but omitted"
    return None


def undefined_input_problem(i: int, name: str) -> str:
    """``defined-before-use``: input ``i`` reads ``name``, which no graph input, weight
    or earlier node defines."""
    return f"input {i} reads {name!r}, which is not defined before this node"


def weight_input_problem(schema: Any, i: int, name: str) -> str:
    """``weight-inputs``: input ``i`` of the schema is a weight, ``name`` is computed."""
    return f"input {i} ({_role(schema, i)}) must be a weight, but {name!r} is computed"


def rule_problem(op: str, error: Exception) -> str:
    """``types``: the op's type rule refused its inputs with ``error``."""
    return f"{op}: {error}"


def declared_type_problem(op: str, i: int, name: str, declared: TensorType,
                          inferred: TensorType) -> str | None:
    """``types``: output ``i``'s declared type must be compatible with the inferred one."""
    if declared is inferred or declared == inferred or declared.compatible_with(inferred):
        return None
    return f"output {i} {name!r} is declared {declared} but {op} gives {inferred}"


def refine(declared: TensorType, inferred: TensorType) -> TensorType:
    """The more precise of two compatible types: inferred static dims, declared symbols
    where inference lost them (an unknown inferred dim).  Different rank or dtype: the
    inferred type."""
    if declared.rank != inferred.rank or declared.dtype != inferred.dtype:
        return inferred
    dims = tuple(i if i is not None else d for d, i in zip(declared.shape, inferred.shape))
    return TensorType(inferred.dtype, dims)


# --- the sweep --------------------------------------------------------------------------------


class TypeWalk:
    """One sweep over ``graph`` in graph order; iterate it for the :class:`Problem` s.

    Args:
        graph: any graph (nothing is assumed: a broken graph gives problems, never an
            exception other than those of a type rule's own bugs).
        infer: run the type rules (``types`` invariant).  False: only the structural
            invariants; every value then has its declared type.
        refine: type each node from the *inferred* types of its inputs and record the
            inferred type (sharpened by the declared one, :func:`refine`) of its outputs
            (``check``).  False: from the *declared* types (``verify_graph``): each node
            is then checked on its own contract.
        structure: also check what typing does not need: the ``names`` and
            ``weight-inputs`` invariants, and record ``read``.  False (``check``, whose
            precondition is a structurally verified graph): about a quarter faster;
            known-op, arity, attributes, omitted and undefined inputs are still
            reported, since no node can be typed past them.

    After the iteration ends:
        types: value name -> type (declared, or with ``refine`` the inferred type), for
            graph inputs, weights and node outputs.
        read: the names of all values read by some node (empty without ``structure``).
        refined: with ``refine``, True when some inferred output type differs from the
            declared one.  A refine walk that found no problem and refined nothing has
            typed every node from exactly its declared input types, so a declared walk
            (``verify_graph``) of the same graph finds no ``types`` problem either:
            both ran the same rules on the same types and compared the same results.

    Example::

        >>> walk = TypeWalk(graph)
        >>> problems = list(walk)      # [] for a valid graph
        >>> walk.types["conv"]         # TensorType(float32, ('batch', 8, 8, 3))
    """

    __slots__ = ("graph", "infer", "refine", "structure", "types", "read", "refined")

    def __init__(self, graph: Graph, *, infer: bool = True, refine: bool = False,
                 structure: bool = True):
        self.graph = graph
        self.infer = infer
        self.refine = refine
        self.structure = structure
        self.types: dict[str, TensorType] = {}
        self.read: set[str] = set()
        self.refined = False

    def __iter__(self) -> Iterator[Problem]:
        graph = self.graph
        types = self.types
        yield from _seed(graph, types)
        yield from self._nodes(graph.nodes, graph.weights, types, self.read)

    def _nodes(self, nodes: Sequence[Node], weights: Mapping, types: dict,
               read: set) -> Iterator[Problem]:
        # the hot loop: helpers are called only to word a problem (names, inputs) or
        # once per distinct key (known-op, arity, attributes; the type rule)
        infer, refining, structure = self.infer, self.refine, self.structure
        types_get, read_update = types.get, read.update
        node_names: set[str] = set()
        names_add = node_names.add
        # one memo, keyed by what the checks below depend on: (op, attrs, #outputs,
        # input types) with ``infer``, else (op, attrs, #outputs, #inputs) ->
        # (schema, (invariant, message) | None, output types | TypeRuleError | None)
        memo: dict[tuple, tuple] = {}
        for idx, node in enumerate(nodes):
            name, op, inputs, outputs, attrs_ = (node.name, node.op, node.inputs, node.outputs,
                                                 node.attrs)
            in_types = [types_get(i) if i else None for i in inputs]
            if structure:
                if (not isinstance(name, str) or not name or "\n" in name or "\r" in name
                        or name in node_names):
                    yield Problem("names", name_problem(name, node_names, "node"), idx, name)
                names_add(name)
                read_update(inputs)
            inferred = None  # the declared output types stand in while this stays None
            if None in in_types:  # an omitted input, or one not defined (yet)
                schema, problem = _signature(op, len(inputs), len(outputs), attrs_)
                if problem is not None:
                    yield Problem(problem[0], problem[1], idx, name)
                    in_types = None
                else:
                    for problem in _input_problems(schema, inputs, in_types):
                        yield Problem(problem[0], problem[1], idx, name)
                        in_types = None
            if in_types is not None:
                key = ((op, attrs_, len(outputs), tuple(in_types)) if infer
                       else (op, attrs_, len(outputs), len(in_types)))
                entry = memo.get(key)
                if entry is None:
                    entry = memo[key] = _entry(op, attrs_, len(outputs), in_types, infer)
                schema, problem, inferred = entry
                if problem is not None:
                    yield Problem(problem[0], problem[1], idx, name)
                    inferred = None
                else:
                    weight_idx = structure and schema.weight_inputs
                    if weight_idx:
                        n = len(inputs)
                        for i in weight_idx:
                            if i < n and inputs[i] and inputs[i] not in weights:
                                yield Problem("weight-inputs",
                                              weight_input_problem(schema, i, inputs[i]),
                                              idx, name)
                                inferred = None
                    if isinstance(inferred, Exception):
                        yield Problem("types", rule_problem(op, inferred), idx, name,
                                      rule_error=inferred, input_types=tuple(in_types))
                        inferred = None
            if inferred is None:
                inferred = [v.type for v in outputs]
            for i, (v, t) in enumerate(zip(outputs, inferred)):
                vname = v.name
                if structure and (not isinstance(vname, str) or not vname or "\n" in vname
                                  or "\r" in vname or vname in types):
                    yield Problem("names", name_problem(vname, types, "output"), idx, name)
                vt = v.type
                if vt is t or vt == t:
                    types[vname] = vt
                    continue
                message = declared_type_problem(op, i, vname, vt, t)
                if message:
                    yield Problem("types", message, idx, name, output_index=i, declared=vt,
                                  inferred=t)
                if refining:
                    sharper = types[vname] = refine(vt, t)
                    if sharper != vt:
                        self.refined = True
                else:
                    types[vname] = vt


def _input_problems(schema: Any, inputs: Sequence[str],
                    in_types: Sequence[TensorType | None]) -> Iterator[tuple[str, str]]:
    """``(invariant, message)`` for each omitted required input and the first input
    that is not defined (the node's outputs then stand on their declared types)."""
    for i, (vname, t) in enumerate(zip(inputs, in_types)):
        if not vname:
            message = omitted_input_problem(schema, i)
            if message:
                yield "arity", message
        elif t is None:
            yield "defined-before-use", undefined_input_problem(i, vname)
            return


def _seed(graph: Graph, types: dict) -> Iterator[Problem]:
    """Type the graph inputs (declared) and weights (from their arrays)."""
    for v in graph.inputs:
        if _bad_name(v.name) or v.name in types:
            yield Problem("names", name_problem(v.name, types, "graph input"))
        types[v.name] = v.type
    weight_types: dict[tuple, TensorType] = {}
    for wname, arr in graph.weights.items():
        if _bad_name(wname) or wname in types:
            yield Problem("names", name_problem(wname, types, "weight"))
        key = (arr.dtype, arr.shape)
        wt = weight_types.get(key)
        if wt is None:
            wt = weight_types[key] = weight_type(arr)
        types[wname] = wt


def _entry(op: str, attrs_: Mapping[str, Any], n_outputs: int,
           in_types: Sequence[TensorType | None], infer: bool) -> tuple:
    """``(schema, (invariant, message) | None, output types | TypeRuleError | None)``
    for a node of ``op`` with these attributes, output count and input types (its
    omitted inputs already checked): a function of these only, so memoized."""
    schema, problem = _signature(op, len(in_types), n_outputs, attrs_)
    if problem is not None or not infer:
        return schema, problem, None
    try:
        return schema, None, schema.infer(list(in_types), attrs_)
    except _ops.TypeRuleError as e:
        return schema, None, e


def _signature(op: str, n_inputs: int, n_outputs: int, attrs_: Mapping[str, Any]) -> tuple:
    """``(schema, (invariant, message) | None)``: the first problem among known-op,
    arity and attributes (a function of the key only, so memoized by the sweep)."""
    schema = _ops.get_schema(op)
    message = known_op_problem(op, schema)
    if message:
        return schema, ("known-op", message)
    message = arity_problem(schema, n_inputs, n_outputs)
    if message:
        return schema, ("arity", message)
    message = attributes_problem(schema, attrs_)
    if message:
        return schema, ("attributes", message)
    return schema, None


# --- symbolic sizes ---------------------------------------------------------------------------


def named_types(graph: Graph) -> dict[str, TensorType]:
    """Every value's type with each unknown dim given a name of its own, so that the type
    rules can prove two run-time sizes equal (symbolic shape inference, as
    ``onnx.shape_inference`` names the sizes it cannot compute).

    One sweep in graph order, as :class:`TypeWalk`'s, over an already verified graph
    (no problems are collected): a graph input's
    ``None`` dim becomes a fresh name, each node is typed by its op's rule from the named
    types of its inputs, and each output dim is the declared int where there is one, else
    the inferred dim, else the declared symbol, else a fresh name.  A fresh name stands
    for the size that axis of that value has at run time, which every reader of the
    value sees: naming it is sound, and a rule that keeps it (a Dense keeps the leading
    axes, a broadcast of two equal names is that name) proves another axis the same
    size.  So ``(batch, ?, 8)`` plus ``(batch, ?, 8)`` gives ``(batch, s0, 8)``, its
    reshape to heads ``(batch, s0, 2, 4)``, and a later reshape to ``(in0[0], in1[1],
    -1)`` of a value read from it gets ``-1 = 8``.

    Sizes a reader *demands* are then fixed, and the sweep run again: a ``dense`` whose
    kernel has ``n`` rows runs only on an input whose last axis is ``n`` (TensorFlow's
    and onnxruntime's MatMul refuse anything else), so a fresh name found there is ``n``
    wherever it appears.  Such a size holds on every input the graph runs on, which is
    what an emitter needs (``reshape(o, (b, s, -1))`` before an output projection, where
    the attention mask broadcast leaves ``o``'s sequence axis unproven).

    Fresh names are ``_s0``, ``_s1``, ... (skipping names the graph uses); they are for
    the caller's reasoning and must not leak into an emitted type.

    Returns:
        value name -> type for graph inputs, weights and node outputs.  A node whose
        rule refuses the named types (it never should on a verified graph) keeps its
        declared output types, with fresh names for their unknown dims.
    """
    declared = graph.value_types()
    taken = {d for t in declared.values() for d in t.shape if isinstance(d, str)}
    weights = {name: declared[name] for name in graph.weights}
    fixed: dict[tuple[str, int], int] = {}
    while True:
        types, fresh = _named_sweep(graph, fixed, taken, weights)
        demanded = {}
        for node in graph.nodes:
            if node.op == "dense":
                d = types[node.inputs[0]].shape[-1]
                rows = types[node.inputs[1]].shape[0]
                if d in fresh and isinstance(rows, int):
                    demanded[d] = rows
        if not demanded:
            return types
        for name, t in types.items():
            for axis, d in enumerate(t.shape):
                if d in demanded:
                    fixed[(name, axis)] = demanded[d]


def _named_sweep(graph: Graph, fixed: Mapping[tuple[str, int], int], taken: set[str],
                 weights: Mapping[str, TensorType]
                 ) -> tuple[dict[str, TensorType], set[str]]:
    """One sweep of :func:`named_types` with the sizes in ``fixed`` (value name, axis ->
    int) taken as declared, fresh names avoiding ``taken`` (the graph's symbols), the
    weights typed as ``weights``; returns the types and the fresh names it made."""
    counter = iter(range(1 << 62))
    made: set[str] = set()

    def named(vname: str, t: TensorType) -> TensorType:
        dims = []
        for axis, d in enumerate(t.shape):
            if (vname, axis) in fixed:
                d = fixed[(vname, axis)]
            while d is None:
                d = f"_s{next(counter)}"
                if d in taken:
                    d = None
                else:
                    made.add(d)
            dims.append(d)
        return TensorType(t.dtype, tuple(dims))

    types: dict[str, TensorType] = {v.name: named(v.name, v.type) for v in graph.inputs}
    types.update(weights)
    for node in graph.nodes:
        in_types = [types[i] if i else None for i in node.inputs]
        try:
            inferred = _ops.infer_types(node.op, in_types, node.attrs)
        except (_ops.TypeRuleError, KeyError):
            inferred = [v.type for v in node.outputs]
        for v, t in zip(node.outputs, inferred):
            declared = v.type
            if t.rank != declared.rank:
                t = declared
            dims = tuple(d if isinstance(d, int) else i if i is not None else d
                         for d, i in zip(declared.shape, t.shape))
            types[v.name] = named(v.name, TensorType(declared.dtype, dims))
    return types, made
