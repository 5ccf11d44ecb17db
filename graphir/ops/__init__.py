"""The op set.  Importing this package registers every op (see ``specs/ops.md``)."""

from graphir.ops import (arithmetic, attention, elementwise, nn, normalization,  # noqa: F401
                         recurrent, sequence, shape_ops)  # (registration)
from graphir.ops import logic  # noqa: F401  (registration)
from graphir.ops import reduction  # noqa: F401  (registration)
from graphir.ops import indexing  # noqa: F401  (registration)
from graphir.ops import dynamic_reshape  # noqa: F401  (registration)
from graphir.ops import resize  # noqa: F401  (registration)
from graphir.ops.activations import ACTIVATIONS, canonical_activation
from graphir.ops.registry import (AttrSpec, OpSchema, TypeRuleError, get_schema, op_names,
                                  register)

__all__ = ["ACTIVATIONS", "AttrSpec", "OpSchema", "TypeRuleError", "canonical_activation",
           "get_schema", "op_names", "register", "infer_types"]


def infer_types(op: str, input_types, attrs):
    """Output types of ``op`` applied to ``input_types`` (None for omitted inputs).

    Raises:
        KeyError: ``op`` is not in the op set.
        TypeRuleError: the inputs or attributes violate the op's type rule.
    """
    schema = get_schema(op)
    if schema is None:
        raise KeyError(f"unknown op {op!r}")
    return schema.infer(list(input_types), attrs)
