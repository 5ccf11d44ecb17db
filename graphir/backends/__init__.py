"""Framework backends of graphir, installed as ``graphir.backends``.

* ``graphir.backends.keras``: lowering Keras 3 models to the IR and emitting Keras models.
* ``graphir.backends.onnx``: emitting ONNX models from the IR.
* ``graphir.backends.runtimes``: TensorFlow and onnxruntime sessions and device selection.

These modules import TensorFlow/onnx; the core ``graphir`` package does not.
"""
