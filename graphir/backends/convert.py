"""File-to-file conversion, the engine of ``graphir convert`` and ``graphir inspect``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from graphir.atomic import atomic_output
from graphir.errors import BadInputError, VerificationFailed
from graphir.ir import Graph

__all__ = ["lower_file", "convert_file", "write_graph", "check_file"]


def lower_file(src: Path) -> tuple[Graph, Any]:
    """Read ``src`` (``.keras``, ``.gir`` or ``.onnx``) as ``(graph, original keras.Model or
    None)``; an ``.onnx`` file is imported with ``graphir.from_onnx`` (transposes cancelled).

    Raises:
        BadInputError: unknown suffix or missing file.
        ModelFileError, UnsupportedLayerError, IRFormatError: the file cannot be read or lowered.
    """
    src = Path(src)
    if not src.is_file():
        raise BadInputError("no such file", where=f"file {src}")
    if src.suffix == ".gir":
        from graphir.serialization import load

        return load(src), None
    if src.suffix == ".onnx":
        return _import_onnx(src), None
    if src.suffix != ".keras":
        raise BadInputError(f"unsupported source suffix {src.suffix!r} (expected .keras, .gir "
                            f"or .onnx)", where=f"file {src}")
    from graphir.backends.keras import from_keras, load_keras_model

    model = load_keras_model(src)
    return from_keras(model, source=str(src)), model


def _import_onnx(src: Path) -> Graph:
    """``src`` imported with the ONNX frontend, then :func:`cancel_transposes`."""
    from graphir.backends.onnx.importer import from_onnx
    from graphir.passes import cancel_transposes

    return cancel_transposes(from_onnx(src))


def check_file(src: Path) -> tuple[Graph | None, list]:
    """All shape/type diagnostics of ``src`` (``.keras``, ``.gir`` or ``.onnx``), errors and
    warnings.

    Raises:
        BadInputError, ModelFileError, UnsupportedLayerError, IRFormatError: as :func:`lower_file`.
    """
    from graphir.passes.check import check

    src = Path(src)
    if not src.is_file():
        raise BadInputError("no such file", where=f"file {src}")
    if src.suffix == ".gir":
        from graphir.serialization import load

        graph = load(src)
        return graph, check(graph)
    if src.suffix == ".onnx":
        graph = _import_onnx(src)
        return graph, check(graph)
    if src.suffix != ".keras":
        raise BadInputError(f"unsupported source suffix {src.suffix!r} (expected .keras, .gir "
                            f"or .onnx)", where=f"file {src}")
    from graphir.backends.keras.lower import lower_with_diagnostics

    graph, diagnostics = lower_with_diagnostics(src, source=str(src))
    if any(d.severity == "error" for d in diagnostics):
        return graph, diagnostics + [d for d in check(graph) if d.severity == "warning"]
    return graph, check(graph)


def write_graph(graph: Graph, dst: Path) -> dict[str, Any]:
    """Write ``graph`` to ``dst`` atomically in the format of its suffix (.onnx/.keras/.gir).

    Returns:
        stats for reports: ``nodes``, ``ops``, ``parameters``, ``emit_s`` (and
        ``onnx_transposes`` for ONNX).

    Raises:
        BadInputError: unknown suffix.
    """
    from graphir.backends.verification import graph_stats

    dst = Path(dst)
    if dst.suffix not in (".onnx", ".keras", ".gir"):
        raise BadInputError(f"unsupported output suffix {dst.suffix!r} (expected .onnx, "
                            ".keras or .gir)", where=f"file {dst}")
    stats = graph_stats(graph)
    with atomic_output(dst) as tmp:
        t0 = time.perf_counter()
        emitted = _write(graph, tmp, dst.suffix)
        stats["emit_s"] = time.perf_counter() - t0
    if emitted is not None and dst.suffix == ".onnx":
        stats["onnx_transposes"] = sum(1 for n in emitted.graph.node if n.op_type == "Transpose")
    return stats


def _write(graph: Graph, tmp: Path, suffix: str):
    """Write ``graph`` in the format of ``suffix`` to ``tmp``; returns the emitted object."""
    if suffix == ".gir":
        from graphir.serialization import save

        save(graph, tmp)
        return None
    if suffix == ".onnx":
        from graphir.backends.onnx import save_onnx, to_onnx

        model = to_onnx(graph)
        save_onnx(model, tmp)
        return model
    from graphir.backends.keras import save_keras, to_keras

    model = to_keras(graph)
    save_keras(model, tmp)
    return model


def convert_file(src: Path, dst: Path, *, verify: bool = False, device: str = "auto",
                 batch: int = 2, seed: int = 0, verify_options: dict | None = None
                 ) -> dict[str, Any]:
    """Convert ``src`` to ``dst`` (format from ``dst``'s suffix), optionally verified first.

    The output is written to a temporary file beside ``dst``; with ``verify`` the
    *written* file is loaded back and run against the original Keras model, and
    only a passing file is moved into place.  ``src`` is never overwritten.
    ``verify_options`` are keyword arguments of
    :func:`graphir.backends.verification.compare_runs` (``batch``, ``seed``, ``rtol``,
    ``tolerances``, ``inputs`` as an ``.npz`` path, ``save_dir``...); a reference
    insensitive to its input fails verification too (``status`` ``"insensitive"``).
    For an ``.onnx`` source the reference is onnxruntime on the original file and the
    candidates are TF on the emitted Keras, onnxruntime on the re-emitted ONNX and the
    reference interpreter on the imported graph, the written file standing in for the
    candidate of its format (:mod:`graphir.backends.onnx_verification`).

    Returns:
        a JSON-ready dict with ``passed``, ``written``, ``source``, ``output``,
        ``format``, ``device``, ``comparisons``, ``stats`` (and ``runs``, ``inputs``
        and ``unknown_dim`` when verified, as in the verification report; ``error``
        when verification failed, in which case nothing was written).

    Raises:
        BadInputError: bad suffixes, ``dst`` is ``src``, or ``verify`` on a ``.gir``
            source (no original model to compare with).
        ModelFileError, OnnxImportError: an ``.onnx`` source cannot be read or imported.
        ReferenceRunError: with ``verify``, the original model fails on the seeded
            inputs (nothing is written).
    """
    from graphir.backends.verification import graph_stats

    src, dst = Path(src), Path(dst)
    if dst.suffix not in (".onnx", ".keras", ".gir"):
        raise BadInputError(f"unsupported output suffix {dst.suffix!r} (expected .onnx, "
                            ".keras or .gir)", where=f"file {dst}")
    if dst.resolve() == src.resolve():
        raise BadInputError("the output would overwrite the source", where=f"file {dst}")
    t0 = time.perf_counter()
    onnx_source = None
    if verify and src.suffix == ".onnx" and src.is_file():
        from graphir.backends.onnx_verification import import_onnx_source

        onnx_source, graph = import_onnx_source(src)
        original = None
    else:
        graph, original = lower_file(src)
    lower_s = time.perf_counter() - t0
    if verify and original is None and onnx_source is None:
        raise BadInputError("--verify needs a .keras or .onnx source (the reference model)",
                            where=f"file {src}")
    stats = graph_stats(graph)
    stats["lower_s"] = lower_s
    result: dict[str, Any] = {"source": str(src), "output": str(dst), "format": dst.suffix[1:],
                              "passed": True, "device": None, "comparisons": []}
    try:
        with atomic_output(dst) as tmp:
            t1 = time.perf_counter()
            emitted = _write(graph, tmp, dst.suffix)
            stats["emit_s"] = time.perf_counter() - t1
            if emitted is not None and dst.suffix == ".onnx":
                stats["onnx_transposes"] = sum(1 for n in emitted.graph.node
                                               if n.op_type == "Transpose")
            if verify:
                options = {"batch": batch, "seed": seed, **(verify_options or {})}
                if onnx_source is not None:
                    report = _verify_written_onnx_source(graph, onnx_source, src, tmp,
                                                         dst.suffix, device, options)
                else:
                    report = _verify_written(graph, original, src, tmp, dst.suffix, device,
                                             options)
                data = report.to_json()
                result.update({k: data[k] for k in (
                    "passed", "status", "device", "comparisons", "runs", "inputs",
                    "unknown_dim", "cases", "sensitivity", "insensitive_outputs", "versions",
                    "localization", "conditioning")})
                if report.status == "insensitive":
                    raise VerificationFailed(
                        "the reference is insensitive to its input (outputs "
                        f"{', '.join(report.insensitive)}): the comparison proves nothing; "
                        "nothing was written", report=report)
                if report.status == "ill-conditioned":
                    raise VerificationFailed(
                        "the reference is ill-conditioned: every failed comparison is within "
                        "what its own float32 rounding explains (float64 twin); the "
                        "comparison proves nothing; nothing was written", report=report)
                if not report.passed:
                    failed = [c for c in report.comparisons if not c.passed]
                    raise VerificationFailed(
                        f"{len(failed)} output comparison(s) failed, e.g. {failed[0].candidate} "
                        f"output {failed[0].output!r} ({failed[0].case} inputs): "
                        f"{failed[0].reason}; nothing was written", report=report)
    except VerificationFailed as e:
        result.update(written=False, error=str(e), stats=stats)
        return result
    result.update(written=True, stats=stats)
    return result


def _verify_written(graph, original, src: Path, tmp: Path, suffix: str, device, options: dict):
    """Load the written temporary file back and compare it with the original.

    ``options`` are :func:`~graphir.backends.verification.compare_runs` keyword
    arguments; ``inputs`` may be an ``.npz`` path (read with ``load_inputs``), and with
    ``save_dir`` the report is saved there too."""
    from graphir.backends.verification import compare_runs, load_inputs, save_report

    name = str(src)
    options = dict(options)
    if options.get("inputs") is not None:
        options["inputs_source"] = str(options["inputs"])
        options["inputs"] = load_inputs(options["inputs"], graph)
    else:
        options.pop("inputs", None)

    def run(g, **candidates):
        report = compare_runs(g, original, device=device, model_name=name, **candidates,
                              **options)
        if options.get("save_dir") is not None:
            save_report(report, options["save_dir"])
        return report

    if suffix == ".onnx":
        return run(graph, onnx_bytes=tmp.read_bytes())
    if suffix == ".keras":
        import keras

        reloaded = keras.saving.load_model(tmp, compile=False, safe_mode=True)
        return run(graph, keras_candidate=reloaded)
    from graphir.backends.keras import to_keras
    from graphir.backends.onnx import to_onnx_bytes
    from graphir.backends.verification import reload_keras
    from graphir.serialization import load

    back = load(tmp)
    with tempfile.TemporaryDirectory(prefix="graphir-verify-") as folder:
        reloaded = reload_keras(to_keras(back), folder)
        return run(back, keras_candidate=reloaded, onnx_bytes=to_onnx_bytes(back))


def _verify_written_onnx_source(graph, model_bytes: bytes, src: Path, tmp: Path, suffix: str,
                                device, options: dict):
    """Compare onnxruntime on the original ONNX (``model_bytes``) with TF on the emitted
    Keras, onnxruntime on the re-emitted ONNX and the interpreter, the written ``tmp``
    file being the candidate of its own format (reloaded Keras, its ONNX bytes, or the
    loaded ``.gir`` in the interpreter).  ``options`` as in :func:`_verify_written`;
    ``localize``/``localize_budget`` are ignored (no Keras reference)."""
    from graphir.backends.keras import to_keras
    from graphir.backends.onnx import to_onnx_bytes
    from graphir.backends.onnx_verification import compare_onnx_source
    from graphir.backends.verification import load_inputs, reload_keras, save_report

    options = dict(options)
    options.pop("localize", None)
    options.pop("localize_budget", None)
    if options.get("inputs") is not None:
        options["inputs_source"] = str(options["inputs"])
        options["inputs"] = load_inputs(options["inputs"], graph)
    else:
        options.pop("inputs", None)
    with tempfile.TemporaryDirectory(prefix="graphir-verify-") as folder:
        if suffix == ".keras":
            import keras

            keras_model = keras.saving.load_model(tmp, compile=False, safe_mode=True)
        else:
            keras_model = reload_keras(to_keras(graph), folder)
        onnx_bytes = tmp.read_bytes() if suffix == ".onnx" else to_onnx_bytes(graph)
        if suffix == ".gir":
            from graphir.serialization import load

            interpreted = load(tmp)
        else:
            interpreted = graph
        report = compare_onnx_source(graph, model_bytes, keras_candidate=keras_model,
                                     onnx_bytes=onnx_bytes, interpreter_graph=interpreted,
                                     device=device, model_name=str(src), **options)
    if options.get("save_dir") is not None:
        save_report(report, options["save_dir"])
    return report
