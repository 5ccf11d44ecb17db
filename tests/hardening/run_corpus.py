"""Child-process runner of the hostile corpus (``test_corpus.py`` starts it once).

Usage: ``python run_corpus.py FOLDER CANARY_DIR RESULTS_JSON`` with FOLDER as the
working directory.  The working directory is put first on ``sys.path``, as ``python -c``,
scripts in that folder and notebooks do, so that the planted ``keras_nlp/``,
``keras_hub/`` and ``my_evil.py`` would be imported if anything imported them.

For every entry it records what ``graphir.from_keras`` / ``graphir.load`` /
``load_onnx_file`` raised (type, message, warnings that escaped) and, for ``.keras``
and ``.gir`` entries, what ``graphir inspect``, ``check``, ``convert`` (onto an existing
output) and ``verify`` did (exit code, stderr) through click's CliRunner; then the canaries present, graphir temporary folders left behind and the
peak resident memory (``VmHWM``) of the process.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, "")  # the attacker's working directory, as with ``python -c``
sys.path.append(str(Path(__file__).resolve().parent))

from corpus import build_corpus


def main(folder: Path, canary_dir: Path, results: Path) -> None:
    from click.testing import CliRunner

    import graphir
    from graphir.app.cli import cli
    from graphir.backends.onnx.safe_load import load_onnx_file
    from graphir.limits import Limits, using_limits

    entries = build_corpus(folder, canary_dir)
    # what a loader killed with kill -9 leaves: its folder, named for a dead process
    import subprocess

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path(tempfile.gettempdir()) / f".keras-load.graphir-{dead.pid}-abcd1234"
    stale.mkdir()
    (stale / "model.weights.h5").write_bytes(b"left by a killed loader")
    existing = folder / "out" / "existing.onnx"  # a destination that must stay untouched
    existing.parent.mkdir()
    existing.write_bytes(b"previous output")
    readers = {"keras": graphir.from_keras, "gir": graphir.load, "onnx": load_onnx_file}
    out = []
    runner = CliRunner()
    for e in entries:
        row = {"name": e.name, "path": e.path, "kind": e.kind, "expected": e.expected}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with using_limits(Limits(**e.limits)):
                    readers[e.kind](e.path)
                row["error"] = None
            except BaseException as exc:  # noqa: BLE001 -- recorded for the test to judge
                row["error"] = type(exc).__name__
                row["graphir_error"] = isinstance(exc, graphir.GraphIRError)
                row["message"] = str(exc)
        row["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
        if e.kind in ("keras", "gir") and set(e.limits) <= {"memory_budget"}:
            args = ["--memory-budget", str(e.limits["memory_budget"])] if e.limits else []
            verbs = [["inspect", e.path], ["check", e.path], ["convert", e.path, str(existing)]]
            if e.kind == "keras":
                verbs.append(["verify", e.path, "--device", "cpu"])
            row["cli"] = {}
            for verb in verbs:
                r = runner.invoke(cli, [*args, *verb])
                row["cli"][verb[0]] = [r.exit_code, r.stderr]
        out.append(row)
    # the valid twins the corpus was made from load (the checks refuse no honest file)
    import onnx
    from corpus import _onnx_model

    good_onnx = folder / "onnx_models" / "good.onnx"
    onnx.save_model(_onnx_model({"location": "data.bin", "length": 16}), str(good_onnx))
    accepted = {"keras": len(graphir.from_keras(folder / "base_model.keras").nodes),
                "gir": len(graphir.load(folder / "base_graph.gir").nodes),
                "onnx": len(load_onnx_file(good_onnx).graph.initializer[0].raw_data)}
    tmp = Path(tempfile.gettempdir())
    report = {
        "entries": out,
        "accepted": accepted,
        "canaries": sorted(p.name for p in canary_dir.iterdir()),
        "stale_swept": not stale.exists(),
        "out_folder": sorted(p.name for p in existing.parent.iterdir()),
        "existing_intact": existing.read_bytes() == b"previous output",
        "temp_left": sorted(p.name for p in tmp.glob(f".keras-load.graphir-{os.getpid()}-*")),
        "maxrss_bytes": _peak_rss_bytes(),
    }
    results.write_text(json.dumps(report, indent=1))


def _peak_rss_bytes() -> int:
    """This process' peak resident memory since its ``exec``: ``VmHWM`` of
    ``/proc/self/status`` (per address space, so it starts afresh at exec).  Not
    ``ru_maxrss``, which Linux keeps across ``execve``: a child forked from a large
    pytest process would report the parent's size (the full suite's ~5 GB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), Path(sys.argv[3]))
