"""``graphir demo``: the main job on built-in examples.

For each model (``keras.applications`` MobileNetV2 and ResNet50, ``weights=None``,
seeded, batch-norm gains and offsets randomized so their emission is exercised, and
moving statistics calibrated on a seeded standard-normal batch,
:func:`~graphir.backends.keras.randomize.calibrate_statistics`, so that the reference
reacts to its input and passes the sensitivity check): save it as
``.keras``, load it back (``safe_mode=True``), lower it, emit ``.keras``, ``.onnx`` and
``.gir``, and verify TF (original) vs TF (emitted Keras, reloaded) vs onnxruntime
(emitted ONNX) on seeded inputs.  Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Sequence

from graphir.report import VerificationReport

__all__ = ["run_demo", "calibration_inputs", "DEMO_MODELS"]

DEMO_MODELS = ("MobileNetV2", "ResNet50")
#: rows of the calibration batch, and the offset of its seed from the inputs' seed
CALIBRATION_ROWS, CALIBRATION_SEED_OFFSET = 8, 1000


def calibration_inputs(model, *, seed: int = 0):
    """A seeded standard-normal batch of :data:`CALIBRATION_ROWS` rows for each input of
    ``model`` (a single-input model gets one float32 array ``(rows, *shape)``), drawn
    as verification draws its float inputs but with seed ``seed + 1000``, so the
    calibration batch is never one of the verified inputs."""
    import numpy as np

    rng = np.random.default_rng(seed + CALIBRATION_SEED_OFFSET)
    arrays = [rng.standard_normal((CALIBRATION_ROWS,) + tuple(int(d) for d in t.shape[1:]))
              .astype(np.float32) for t in model.inputs]
    return arrays[0] if len(arrays) == 1 else arrays


def _progress(enabled: bool):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console

    return Console(stderr=True).status("starting")


def run_demo(models: Sequence[str] = DEMO_MODELS, *, out_dir: Path | None = None,
             device: str = "auto", input_size: int = 224, seed: int = 0, batch: int = 2,
             progress: bool = True) -> list[VerificationReport]:
    """Run the demo on ``models`` and return one verification report per model.

    Args:
        models: names accepted by :func:`graphir.backends.keras.zoo.build_application`.
        out_dir: keep the written files there (created if missing); a temporary folder otherwise.
        device: ``auto``/``cpu``/``gpu``.
        input_size: image height and width (224 as in keras.applications).
        seed, batch: seeds of the weights and inputs; rows per input batch.
        progress: show a spinner on stderr.

    Raises:
        DeviceUnavailableError: ``device="gpu"`` without a usable GPU.
    """
    from graphir.backends.keras import from_keras, load_keras_model, save_keras, to_keras
    from graphir.backends.keras.randomize import calibrate_statistics
    from graphir.backends.keras.zoo import build_application
    from graphir.backends.onnx import save_onnx, to_onnx
    from graphir.backends.verification import compare_runs, graph_stats
    from graphir.serialization import save

    reports = []
    with contextlib.ExitStack() as stack:
        if out_dir is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="graphir-demo-")))
        else:
            folder = Path(out_dir)
            folder.mkdir(parents=True, exist_ok=True)
        status = stack.enter_context(_progress(progress))

        def say(msg: str) -> None:
            if status is not None:
                status.update(msg)

        for name in models:
            say(f"{name}: building (weights=None, seed={seed})")
            model = build_application(name, input_shape=(input_size, input_size, 3), seed=seed)
            say(f"{name}: calibrating batch-norm statistics")
            calibrate_statistics(model, calibration_inputs(model, seed=seed))
            src = folder / f"{name}.keras"
            save_keras(model, src)
            say(f"{name}: loading {src.name} (safe_mode=True)")
            original = load_keras_model(src)
            t0 = time.perf_counter()
            graph = from_keras(original, source=str(src))
            t1 = time.perf_counter()
            say(f"{name}: emitting Keras")
            emitted = to_keras(graph)
            t2 = time.perf_counter()
            onnx_model = to_onnx(graph)
            t3 = time.perf_counter()
            save_keras(emitted, folder / f"{name}.emitted.keras")
            save_onnx(onnx_model, folder / f"{name}.onnx")
            save(graph, folder / f"{name}.gir")
            import keras

            reloaded = keras.saving.load_model(folder / f"{name}.emitted.keras", compile=False,
                                               safe_mode=True)
            stats = graph_stats(graph)
            stats.update(lower_s=t1 - t0, emit_keras_s=t2 - t1, emit_onnx_s=t3 - t2,
                         onnx_transposes=sum(1 for n in onnx_model.graph.node
                                             if n.op_type == "Transpose"))
            say(f"{name}: running TF and onnxruntime")
            reports.append(compare_runs(
                graph, original, keras_candidate=reloaded,
                onnx_bytes=(folder / f"{name}.onnx").read_bytes(), device=device, batch=batch,
                seed=seed, model_name=name, stats=stats))
    return reports
