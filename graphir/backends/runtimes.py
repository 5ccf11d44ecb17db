"""Runtime sessions (TensorFlow for Keras models, onnxruntime for ONNX) and device selection.

Device policy (``specs/verification.md``):

* ``cpu``: both runtimes on the CPU.
* ``gpu``: both on a GPU; if TensorFlow sees no GPU, or onnxruntime cannot
  activate ``CUDAExecutionProvider``, raise :class:`DeviceUnavailableError`
  (never a silent CPU run).
* ``auto``: each runtime uses a GPU where it can and the CPU otherwise.

What actually ran is read back, never assumed: TensorFlow's physical GPU list,
and ``InferenceSession.get_providers()`` — onnxruntime silently drops the CUDA
provider when the CUDA libraries are missing.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from graphir.errors import DeviceUnavailableError
from graphir.report import RuntimeInfo

__all__ = ["DEVICES", "tf_device", "run_keras", "OnnxSession"]

DEVICES = ("auto", "cpu", "gpu")


def _check_device(requested: str) -> None:
    if requested not in DEVICES:
        raise DeviceUnavailableError(f"unknown device {requested!r} (choose from "
                                     f"{', '.join(DEVICES)})")


def tf_device(requested: str) -> str:
    """The TensorFlow device string to run on: ``"/GPU:0"`` or ``"/CPU:0"``.

    Raises:
        DeviceUnavailableError: ``requested == "gpu"`` and TensorFlow sees no GPU,
            or ``requested`` is not one of :data:`DEVICES`.
    """
    import tensorflow as tf

    _check_device(requested)
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    if requested == "gpu" and not has_gpu:
        raise DeviceUnavailableError("--device gpu: TensorFlow sees no GPU on this machine "
                                     "(tf.config.list_physical_devices('GPU') is empty)")
    return "/GPU:0" if has_gpu and requested != "cpu" else "/CPU:0"


def run_keras(model, inputs: Sequence[np.ndarray], *, device: str, name: str
              ) -> tuple[list[np.ndarray], RuntimeInfo]:
    """Run a Keras model in inference mode on ``device`` (a :func:`tf_device` string).

    Args:
        model: a ``keras.Model``.
        inputs: one array per model input, in ``model.inputs`` order.
        device: ``"/CPU:0"`` or ``"/GPU:0"``.
        name: the run's name for the report.

    Returns:
        the outputs as NumPy arrays in ``model.outputs`` order, and the RuntimeInfo,
        whose ``detail`` is the device the result tensors were actually placed on.
    """
    import tensorflow as tf

    start = time.perf_counter()
    import keras

    with tf.device(device):
        feed = [tf.convert_to_tensor(a) for a in inputs]
        structure = getattr(model, "_inputs_struct", None)
        if isinstance(structure, dict):  # keras_hub backbones: inputs by name
            args: Any = keras.tree.pack_sequence_as(structure, feed)
        else:
            args = feed if len(feed) > 1 else feed[0]
        out = model(args, training=False)
    # in model.outputs order (a dict's outputs flatten by sorted key, as Keras does)
    outs = keras.tree.flatten(out)
    observed = _observed_device(outs, device)
    arrays = [np.asarray(o) for o in outs]
    seconds = time.perf_counter() - start
    kind = "gpu" if "GPU" in observed.upper() else "cpu"
    return arrays, RuntimeInfo(name, "tensorflow", kind, observed, seconds)


def _observed_device(outputs: Sequence, requested: str) -> str:
    """The device TensorFlow placed the result tensors on, read back from the
    tensors' ``.device`` (e.g. ``/job:localhost/replica:0/task:0/device:CPU:0``),
    shortened to ``/CPU:0``; the requested string when no tensor says."""
    for o in outputs:
        dev = getattr(o, "device", None)
        if isinstance(dev, str) and "device:" in dev:
            return "/" + dev.rsplit("device:", 1)[1]
    return requested


class OnnxSession:
    """An onnxruntime session on the requested device, reporting the providers that are active.

    Args:
        model_bytes: a serialized ONNX ModelProto.
        requested: ``auto``, ``cpu`` or ``gpu``.
        name: the run's name for the report.

    Attributes:
        providers: ``session.get_providers()`` (what actually runs, in priority order).
        device: ``"gpu"`` when CUDAExecutionProvider is active, else ``"cpu"``.

    Raises:
        DeviceUnavailableError: ``requested == "gpu"`` and CUDAExecutionProvider is
            not available or did not activate (e.g. CUDA libraries missing).
    """

    def __init__(self, model_bytes: bytes, *, requested: str = "auto", name: str = "onnx"):
        import onnxruntime as ort

        _check_device(requested)
        self.name = name
        available = ort.get_available_providers()
        want_cuda = requested != "cpu" and "CUDAExecutionProvider" in available
        if requested == "gpu" and not want_cuda:
            raise DeviceUnavailableError(
                "--device gpu: onnxruntime has no CUDAExecutionProvider "
                f"(available: {', '.join(available)}); install onnxruntime-gpu")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if want_cuda
                     else ["CPUExecutionProvider"])
        # A missing CUDA library is logged by onnxruntime's process-wide logger at error
        # level; the fallback is detected below from get_providers() and reported, so the
        # log is silenced while the session is created (4 = fatal only; 2 = ORT's default).
        ort.set_default_logger_severity(4 if want_cuda else 2)
        try:
            self.session = ort.InferenceSession(model_bytes, sess_options=options,
                                                providers=providers)
        finally:
            ort.set_default_logger_severity(2)
        self.providers = tuple(self.session.get_providers())
        self.device = "gpu" if "CUDAExecutionProvider" in self.providers else "cpu"
        if requested == "gpu" and self.device != "gpu":
            raise DeviceUnavailableError(
                "--device gpu: onnxruntime could not activate CUDAExecutionProvider "
                f"(active: {', '.join(self.providers)}); no usable NVIDIA GPU or CUDA "
                "libraries on this machine")

    def run(self, feeds: Mapping[str, np.ndarray]) -> tuple[list[np.ndarray], RuntimeInfo]:
        """Run with ``feeds`` (input name -> array); outputs in the model's output order."""
        start = time.perf_counter()
        outs = self.session.run(None, dict(feeds))
        seconds = time.perf_counter() - start
        info = RuntimeInfo(self.name, "onnxruntime", self.device, ",".join(self.providers),
                           seconds)
        return [np.asarray(o) for o in outs], info
