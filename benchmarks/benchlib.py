"""Shared helpers of the benchmarks: the machine description, peak-memory measurement,
memory-limited child processes and table printing (rich on a terminal, Markdown for
``RESULTS.md``).

Imported by the benchmark scripts in this folder (``sys.path[0]`` is this folder when a
script runs); nothing here imports TensorFlow.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import time
from typing import Any, Callable, Sequence

__all__ = ["machine", "machine_line", "PeakMemory", "rss_mb", "print_table", "markdown_table",
           "print_report", "median", "limit_memory", "child_main", "run_child", "failure_status"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return None


def _version(module: str) -> str:
    try:
        return getattr(importlib.import_module(module), "__version__", "?")
    except Exception as e:  # a missing optional package is reported, not fatal
        return f"missing ({type(e).__name__})"


def _gpu() -> str:
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                return "; ".join(out.stdout.strip().splitlines())
        except (OSError, subprocess.SubprocessError):
            pass
    return "none"


def machine(modules: Sequence[str] = ()) -> dict[str, Any]:
    """The machine and software versions: CPU model, cores, RAM, GPU, OS, Python, and
    the ``__version__`` of each of ``modules``."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_ram_gib() or 0.0, 1),
        "gpu": _gpu(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }
    for m in modules:
        info[m] = _version(m)
    return info


def machine_line(info: dict[str, Any]) -> str:
    """One line describing ``info`` (see :func:`machine`)."""
    fixed = ("cpu", "cores", "ram_gib", "gpu", "os", "python", "date")
    versions = ", ".join(f"{k} {v}" for k, v in info.items() if k not in fixed)
    return (f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, GPU: {info['gpu']}; "
            f"{info['os']}; Python {info['python']}" + (f"; {versions}" if versions else "")
            + f"; {info['date']}")


def rss_mb(field: str = "VmRSS") -> float | None:
    """``field`` of ``/proc/self/status`` in MiB (VmRSS: now; VmHWM: the peak), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _malloc_trim() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the baseline is just less tight
        pass


class PeakMemory:
    """The peak resident memory of a block, in MiB above the resident memory before it.

    Linux: ``gc.collect()`` and glibc's ``malloc_trim(0)`` (freed heap memory goes back
    to the kernel, so the baseline RSS is not padded with free pages that the block
    could reuse unseen), then writing ``5`` to ``/proc/self/clear_refs`` resets the
    kernel's peak-RSS watermark (``VmHWM``) to the current RSS; after the block, the
    peak is ``VmHWM`` minus the RSS before.  Elsewhere ``peak_mb`` stays None.

    Usage::

        with PeakMemory() as mem:
            work()
        mem.peak_mb
    """

    def __init__(self) -> None:
        self.base_mb: float | None = None
        self.peak_mb: float | None = None
        self._ok = False

    def __enter__(self) -> "PeakMemory":
        gc.collect()
        _malloc_trim()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._ok = True
        except OSError:
            self._ok = False
        self.base_mb = rss_mb()
        return self

    def __exit__(self, *exc: Any) -> None:
        hwm = rss_mb("VmHWM")
        if self._ok and hwm is not None and self.base_mb is not None:
            self.peak_mb = max(hwm - self.base_mb, 0.0)


def limit_memory(gib: float) -> None:
    """Limit this process's address space (``RLIMIT_AS``) to ``gib`` GiB: past it, an
    allocation fails (``MemoryError``, ``std::bad_alloc``) instead of the machine's OOM
    killer taking down the whole benchmark.  Call it first thing in a child process."""
    limit = int(gib * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def failure_status(e: BaseException) -> str:
    """The result cell of a converter that raised ``e``: "OOM", "unsupported layer C"
    (graphir's typed refusal), else "fails: ExceptionClass"."""
    if isinstance(e, MemoryError) or type(e).__name__ == "ResourceExhaustedError":
        return "OOM"
    layer_class = getattr(e, "layer_class", None)
    if layer_class:
        return f"unsupported layer {layer_class}"
    return f"fails: {type(e).__name__}"


def child_main(out_json: str, limit_gib: float, work: Callable[[dict[str, Any]], None]) -> None:
    """The body of a benchmark child process: limit memory (:func:`limit_memory`; not when
    ``limit_gib`` is 0, for a parent watching the child's resident memory instead), run
    ``work(result)`` (which fills the ``result`` dict), and write ``result`` as JSON to
    ``out_json`` whatever happens; an exception becomes ``result["status"]`` (see
    :func:`failure_status`) and ``result["error"]``, never a traceback to the parent."""
    if limit_gib > 0:
        limit_memory(limit_gib)
    result: dict[str, Any] = {}
    try:
        work(result)
    except BaseException as e:  # reported to the parent as a result
        result["status"] = failure_status(e)
        result["error"] = " ".join(str(e).split())[:300]
        if os.environ.get("GRAPHIR_BENCH_DEBUG"):
            import traceback

            traceback.print_exc()
    with open(out_json, "w") as f:
        json.dump(result, f)


_MEMORY_SIGNS = ("MemoryError", "bad_alloc", "Cannot allocate", "ResourceExhausted",
                 "out of memory")


def _child_rss_gib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2 ** 20
    except OSError:
        pass
    return 0.0


def run_child(cmd: Sequence[str], out_json: str, *, limit_gib: float, timeout: float,
              done_key: str = "seconds", rss_limit_gib: float | None = None) -> dict[str, Any]:
    """Run the benchmark child ``cmd`` (which writes its result dict to ``out_json``, see
    :func:`child_main`) and return that dict.  When it lacks ``done_key`` the child did
    not finish: ``status`` says why -- ``"OOM (> N GiB)"`` (a memory error, or killed /
    aborted by a signal, which is how an allocation failure inside native code ends),
    ``"timeout (> N s)"``, or the child's own failure -- and ``error`` holds the
    message or the tail of its stderr.  Never raises for a failing child.

    ``rss_limit_gib``: also watch the child's resident memory (``/proc/PID/status``,
    every 0.1 s) and kill it past that many GiB (``"OOM (RSS > N GiB)"``): a limit on
    the memory really used, where an address-space limit (``limit_gib``) also counts
    what TensorFlow reserves without touching.  ``result["max_rss_gib"]`` is the
    largest resident size seen.
    """
    import tempfile

    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=err, text=True)
        start, killed, max_rss = time.monotonic(), None, 0.0
        while proc.poll() is None:
            rss = _child_rss_gib(proc.pid)
            max_rss = max(max_rss, rss)
            if rss_limit_gib is not None and rss > rss_limit_gib:
                killed = f"OOM (RSS > {rss_limit_gib:g} GiB)"
            elif time.monotonic() - start > timeout:
                killed = f"timeout (> {timeout:g} s)"
            if killed:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.1)
        err.seek(0)
        stderr = err.read()
    result: dict[str, Any] = {}
    if os.path.exists(out_json) and not killed:
        with open(out_json) as f:
            result = json.load(f)
    result["returncode"] = proc.returncode
    result["max_rss_gib"] = max_rss
    if killed:
        result["status"] = killed
    elif done_key not in result:
        memoryish = (any(s in stderr for s in _MEMORY_SIGNS) or result.get("status") == "OOM"
                     or proc.returncode in (-signal.SIGKILL, -signal.SIGABRT, -signal.SIGSEGV))
        result["status"] = (f"OOM (> {limit_gib:g} GiB)" if memoryish else
                            result.get("status") or f"fails: child exit {proc.returncode}")
        result["error"] = result.get("error") or stderr.strip()[-300:]
    return result


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence."""
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a table (rich when installed, else aligned plain text)."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"\n{title}")
        widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns))]
        for r in [columns, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
        return
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(str(c), overflow="fold")
    for r in rows:
        table.add_row(*(str(c) for c in r))
    Console(width=max(120, shutil.get_terminal_size((160, 40)).columns)).print(table)


Table = tuple[str, Sequence[str], Sequence[Sequence[Any]]]


def print_report(info: dict[str, Any], tables: Sequence[Table], targets: Sequence[str], *,
                 markdown: str | None = None) -> None:
    """Print the machine line, each non-empty ``(title, columns, rows)`` table and the
    target lines; with ``markdown``, also write them to that file (``RESULTS.md`` form)."""
    print("machine: " + machine_line(info))
    tables = [t for t in tables if t[2]]
    for title, columns, rows in tables:
        print_table(title, columns, rows)
    print("\ntargets:")
    for line in targets:
        print("  " + line)
    if markdown:
        parts = [f"Machine: {machine_line(info)}\n"]
        parts += [f"{title}:\n\n{markdown_table(columns, rows)}\n" for title, columns, rows in tables]
        parts.append("Targets:\n\n" + "\n".join(f"* {line}" for line in targets) + "\n")
        with open(markdown, "w") as f:
            f.write("\n".join(parts))
