"""NumPy reference kernels of the attention ops (see :mod:`graphir.reference_ops` for the conventions)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["KERNELS"]

Kernel = Callable[[Sequence[np.ndarray | None], Mapping[str, Any]], np.ndarray]

#: IR op name -> kernel
KERNELS: dict[str, Kernel] = {}
