"""Running passes: verify before and after, and name the pass that failed.

``run_pass(dedupe, graph)`` checks ``graph`` with :func:`graphir.verify_graph`, runs the
pass, checks the result, and wraps any failure in a :class:`PassError` that names the
pass (the original error is its ``__cause__`` and ``.cause``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from graphir.errors import GraphIRError
from graphir.ir import Graph
from graphir.verifier import verify_graph

__all__ = ["PassError", "run_pass", "run_pipeline"]


class PassError(GraphIRError):
    """A pass failed or produced an invalid graph.

    Attributes:
        pass_name: the pass's function name, e.g. ``"rename"``.
        cause: the underlying exception.
    """

    def __init__(self, pass_name: str, cause: BaseException, *, stage: str):
        self.pass_name = pass_name
        self.cause = cause
        first = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        super().__init__(f"pass {pass_name!r} failed {stage}: {first}")


def run_pass(pass_fn: Callable[..., Graph], graph: Graph, **options: Any) -> Graph:
    """Verify ``graph``, apply ``pass_fn(graph, **options)``, verify the result.

    Raises:
        PassError: the input graph is invalid ("on its input"), the pass raised a
            graphir error ("while running"), or its result is invalid ("on its output").
            Errors that are the user's (bad options, shape diagnostics) keep their own
            type and are re-raised unwrapped so the CLI maps them to the right exit code.
    """
    from graphir.diagnostics import ShapeCheckError
    from graphir.errors import BadInputError, GraphInvariantError

    name = getattr(pass_fn, "__name__", repr(pass_fn))
    try:
        verify_graph(graph)
    except GraphIRError as e:
        raise PassError(name, e, stage="on its input") from e
    try:
        result = pass_fn(graph, **options)
    except GraphInvariantError as e:  # the pass built an invalid graph: its bug, not the user's
        raise PassError(name, e, stage="while running") from e
    except (BadInputError, ShapeCheckError):
        raise
    except Exception as e:  # any other failure inside a pass is reported with its name
        raise PassError(name, e, stage="while running") from e
    try:
        verify_graph(result)
    except GraphIRError as e:
        raise PassError(name, e, stage="on its output") from e
    return result


def run_pipeline(graph: Graph, passes: Sequence[tuple[Callable[..., Graph], dict]]) -> Graph:
    """Apply ``(pass_fn, options)`` pairs in order with :func:`run_pass`."""
    for fn, options in passes:
        graph = run_pass(fn, graph, **options)
    return graph
