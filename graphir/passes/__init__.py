"""Graph passes: pure ``Graph -> Graph`` transformations, one per module (``specs/passes.md``).

Each pass takes keyword-only options, returns the *same object* when nothing changes,
and returns a valid graph; :func:`run_pass` verifies before and after.  No pass changes
process-wide state: :func:`gc_paused` is the caller's opt-in to pause the cyclic garbage
collector around a batch of pass work (the CLI and the benchmarks use it).
"""

from graphir.passes.check import check, infer_graph_types
from graphir.passes.dedupe import DedupeReport, dedupe, dedupe_with_report
from graphir.passes._gc import gc_paused
from graphir.passes.extract import extract
from graphir.passes.merge import MODES, merge
from graphir.passes.pipeline import PassError, run_pass, run_pipeline
from graphir.passes.rename import rename
from graphir.passes.transposes import cancel_transposes

__all__ = ["DedupeReport", "MODES", "PassError", "cancel_transposes", "check", "dedupe", "dedupe_with_report",
           "extract", "gc_paused", "infer_graph_types", "merge", "rename", "run_pass",
           "run_pipeline"]
