"""Human-readable reports on the terminal (rich tables).  JSON output lives in the CLI."""

from __future__ import annotations

import sys
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graphir.report import VerificationReport

__all__ = ["print_report", "print_convert", "print_demo"]


def _console() -> Console:
    # Piped output (CI logs, files) has no terminal width; give tables room instead of
    # rich's 80-column default so numbers are not elided.
    width = None if sys.stdout.isatty() else 160
    return Console(highlight=False, width=width)


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.2e}"


def _comparison_table(rows: Sequence[dict], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("case", "candidate", "output", "max abs err", "max rel err", "p99 rel err",
                "worst index", "tolerance", "min rtol", "result"):
        table.add_column(col)
    for c in rows:
        tol = f"rtol={c['rtol']:g} atol={c['atol']:g}"
        if c.get("atol_scale"):
            tol += f"+{c['atol_scale']:g}*scale"
        worst = c.get("worst_index")
        table.add_row(c.get("case", "primary"), c["candidate"], escape(c["output"]),
                      _fmt(c["max_abs_err"]), _fmt(c["max_rel_err"]), _fmt(c.get("p99_rel_err")),
                      "-" if worst is None else escape(str(list(worst))), tol,
                      _fmt(c.get("min_rtol")),
                      "[green]pass[/]" if c["passed"] else
                      f"[red]FAIL[/] {escape(c.get('reason', ''))}")
    return table


def _cases_table(cases: Sequence[dict]) -> Table:
    """One row per input case that ran: its name, seed, source and every input's shape."""
    table = Table(title="inputs run", show_lines=False)
    for col in ("case", "seed", "source", "inputs"):
        table.add_column(col)
    for c in cases:
        shapes = ", ".join(f"{i['name']} {i['dtype']}[{','.join(map(str, i['shape']))}]"
                           for i in c["inputs"])
        table.add_row(c["name"], "-" if c["seed"] is None else str(c["seed"]),
                      escape(c.get("source", "seeded")), escape(shapes))
    return table


def _sensitivity_table(rows: Sequence[dict]) -> Table:
    """One row per reference output: its spreads across rows and draws, and the verdict."""
    table = Table(title="sensitivity of the reference", show_lines=False)
    for col in ("output", "row spread", "draw spread", "result"):
        table.add_column(col)
    for s in rows:
        table.add_row(escape(s["output"]), _fmt(s["row_spread"]), _fmt(s["draw_spread"]),
                      "[green]sensitive[/]" if s["sensitive"] else
                      f"[yellow]INSENSITIVE[/] {escape(s['reason'])}")
    return table


def _status_line(data: dict) -> str:
    status = data.get("status", "passed" if data["passed"] else "failed")
    if status == "passed":
        return "[green]PASSED[/]"
    if status == "insensitive":
        return ("[yellow]PRECONDITION FAILED[/]: the reference is insensitive to its input "
                f"({escape(', '.join(data.get('insensitive_outputs', [])))}); the comparison "
                "proves nothing")
    if status == "ill-conditioned":
        return ("[yellow]PRECONDITION FAILED[/]: the reference is ill-conditioned: every "
                "failed comparison is within "
                f"{(data.get('conditioning') or {}).get('amplification', 10):g}x the "
                "reference's own float error (float64 twin); the comparison proves nothing")
    return "[red]FAILED[/]"


def _conditioning_table(cond: dict | None) -> Table | None:
    """One row per failed comparison: its error against the reference's own float
    error (float64 twin), and whether that explains it."""
    if not cond:
        return None
    table = Table(title="failures against the reference's own float error "
                        f"(explained: max abs err <= {cond['amplification']:g} x e_ref)")
    for col in ("case", "candidate", "output", "max abs err", "e_ref", "e_ref / scale",
                "explained"):
        table.add_column(col)
    for f in cond["failures"]:
        table.add_row(escape(f["case"]), escape(f["candidate"]), escape(f["output"]),
                      _fmt(f["max_abs_err"]), _fmt(f["reference_error"]),
                      _fmt(f["reference_error_rel"]),
                      "[yellow]yes[/]" if f["explained"] else "[red]no[/]")
    if not cond["measured"]:
        table.caption = escape(f"not measured: {cond['reason']}")
    return table


def _localization_lines(loc: dict | None) -> list[str]:
    """The first-divergence result: the node, its error, whether its inputs agreed, the
    text IR around it, and what the search compared in how long."""
    if not loc:
        return []
    head = (f"first divergence ({loc['case']} inputs, {loc['compared']} of "
            f"{loc['comparable']} layer values compared in {loc.get('seconds', 0):.2f} s): ")
    status = loc["status"]
    if status == "span":
        span = loc["divergent_span"]
        lines = [escape(head + f"one of {len(span)} nodes: {', '.join(span)} (first seen at "
                        f"{loc['first_seen_at']}, ONNX value {loc['onnx_value']}, max abs err "
                        f"{_fmt(loc.get('max_abs_err'))}; the ONNX model has no value for the "
                        "others)")]
    elif loc["first_divergent_node"] is None:
        text = {"budget-exceeded": "time budget exceeded",
                "no-matching-values": loc.get("message", "no matching values")}
        lines = [escape(head + text.get(status, "none found"))]
    else:
        lines = [escape(head + f"{loc['first_divergent_node']} ({loc['op']}), max abs err "
                        f"{_fmt(loc.get('max_abs_err'))}, inputs "
                        + ("agree" if loc["inputs_agree"] else "differ"))]
    if loc.get("foreign"):
        by = loc.get("matched_by", {})
        unmatched = loc.get("unmatched", [])
        more = loc.get("unmatched_count", 0) - len(unmatched)
        lines.append(escape(
            f"matched layer values: {by.get('name', 0)} by name, {by.get('nchw', 0)} by "
            f"NAME/nchw, {by.get('scope', 0)} by scope; {len(loc.get('rejected', []))} "
            f"rejected (shape); no ONNX value for {loc.get('unmatched_count', 0)}"
            + (f": {', '.join(unmatched)}" if unmatched else "")
            + (f" and {more} more" if more > 0 else "")))
    if loc.get("excerpt"):
        lines.append(escape(loc["excerpt"]))
    return lines


def _matches_lines(stats: dict) -> list[str]:
    lines = [escape(f"matched {m['kind']} {m['reference']} -> {m['other']} ({m['how']}"
                    + (f", layout {m['layout']}" if m["layout"] != "same" else "") + ")")
             for m in stats.get("matches", [])]
    return lines + [f"[yellow]warning[/]: {escape(w)}" for w in stats.get("warnings", [])]


def _versions_line(versions: dict) -> str:
    return "versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))


def _device_line(runs: Sequence[dict]) -> str:
    return "; ".join(f"{r['name']}: {r['runtime']} on {r['device']} ({r['detail']})" for r in runs)


def _inputs_line(inputs: Sequence[dict], unknown_dim: int | None) -> str:
    """``inputs: ids int32[2,25] (unknown dims set to 25)``."""
    shapes = ", ".join(f"{i['name']} {i['dtype']}[{','.join(map(str, i['shape']))}]"
                       for i in inputs)
    extra = f" (unknown dims set to {unknown_dim})" if unknown_dim is not None else ""
    return escape(f"inputs: {shapes}{extra}")


def print_report(report: VerificationReport) -> None:
    """Print one verification report: inputs run, devices, versions, sensitivity, one row
    per compared output and case, and the verdict (passed / failed / insensitive)."""
    data = report.to_json()
    con = _console()
    con.print(f"[bold]{escape(data['model'])}[/]  batch={data['batch']} seed={data['seed']}")
    con.print(_inputs_line(data["inputs"], data["unknown_dim"]))
    con.print(f"device: {data['device']}  ({_device_line(data['runs'])})")
    con.print(_versions_line(data.get("versions", {})))
    if data.get("cases"):
        con.print(_cases_table(data["cases"]))
    if data.get("sensitivity"):
        con.print(_sensitivity_table(data["sensitivity"]))
    for line in _matches_lines(data.get("stats", {})):
        con.print(line)
    con.print(_comparison_table(data["comparisons"]))
    cond = _conditioning_table(data.get("conditioning"))
    if cond is not None:
        con.print(cond)
    for line in _localization_lines(data.get("localization")):
        con.print(line)
    con.print(_status_line(data))


def print_convert(result: dict) -> None:
    """Print the outcome of ``graphir convert``."""
    con = _console()
    stats = result.get("stats", {})
    con.print(f"wrote {result['output']} ({result['format']}): {stats.get('nodes', '?')} nodes, "
              f"{stats.get('parameters', 0):,} parameters, lowered in "
              f"{stats.get('lower_s', 0):.2f} s, emitted in {stats.get('emit_s', 0):.2f} s")
    if result.get("comparisons"):
        con.print(_inputs_line(result.get("inputs", []), result.get("unknown_dim")))
        con.print(f"device: {result['device']}  ({_device_line(result.get('runs', []))})")
        if result.get("cases"):
            con.print(_cases_table(result["cases"]))
        if result.get("sensitivity"):
            con.print(_sensitivity_table(result["sensitivity"]))
        con.print(_comparison_table(result["comparisons"]))
        cond = _conditioning_table(result.get("conditioning"))
        if cond is not None:
            con.print(cond)
        con.print("[green]verified[/]" if result["passed"] else _status_line(result))


def print_demo(reports: Sequence[VerificationReport]) -> None:
    """Print the demo summary: one row per model, then each model's comparisons."""
    con = _console()
    table = Table(title="graphir demo: Keras (TF) vs emitted Keras (reloaded) vs emitted ONNX")
    for col in ("model", "nodes", "ops", "parameters", "lower s", "emit keras s", "emit onnx s",
                "ONNX transposes", "device", "worst abs err", "result"):
        table.add_column(col)
    for r in reports:
        d = r.to_json()
        s = d["stats"]
        worst = max((c["max_abs_err"] or 0.0 for c in d["comparisons"]), default=None)
        table.add_row(d["model"], str(s.get("nodes")), str(len(s.get("ops", {}))),
                      f"{s.get('parameters', 0):,}", f"{s.get('lower_s', 0):.2f}",
                      f"{s.get('emit_keras_s', 0):.2f}", f"{s.get('emit_onnx_s', 0):.2f}",
                      str(s.get("onnx_transposes", "-")), d["device"], _fmt(worst),
                      "[green]pass[/]" if d["passed"] else "[red]FAIL[/]")
    con.print(table)
    for r in reports:
        d = r.to_json()
        con.print(f"\n[bold]{d['model']}[/]  ops: " +
                  ", ".join(f"{k}×{v}" for k, v in d["stats"].get("ops", {}).items()))
        con.print(f"device: {d['device']}  ({_device_line(d['runs'])})")
        if d.get("sensitivity"):
            con.print(_sensitivity_table(d["sensitivity"]))
        con.print(_comparison_table(d["comparisons"]))
        con.print(_status_line(d))
    ok = all(r.passed for r in reports)
    con.print("\n[green]all models PASSED[/]" if ok else "\n[red]some models FAILED[/]")
