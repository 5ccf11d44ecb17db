"""The Keras 3 backend: lowering Keras models to the IR and emitting Keras models.

* :func:`load_keras_model`, :func:`from_keras` (``lower.py``): ``.keras`` file or model -> Graph,
  through the converters registered with ``@lowers`` (``registry.py``) by the group
  modules (``converters.py`` for ``keras.layers``; ``app_converters.py`` for the custom
  layers of ``keras.applications``; ``op_converters.py`` (arithmetic and math),
  ``logic_converters.py``, ``reduction_converters.py``, ``indexing_converters.py`` for
  ``keras.ops``; ``recurrent_converters.py``, ``attention_converters.py``,
  ``sequence_converters.py`` for the op groups of the same names);
  :func:`supported_layer_classes` names the layer classes, :func:`supported_operations`
  the ``keras.ops`` operations.
* :func:`to_keras`, :func:`save_keras` (``emit.py``): Graph -> functional Keras model -> ``.keras``,
  through the builders registered with ``@builds`` (``registry.py``) by
  ``layer_builders.py`` and one ``<group>_builders.py`` per op group.
* ``zoo.py``: seeded ``keras.applications`` builders and inputs, small example models
  (``examples.py``, ``examples_applications.py``, ``examples_layers.py``,
  ``examples_primitives.py``).

Importing this package imports Keras (and TensorFlow).
"""

from graphir.backends.keras.registry import supported_layer_classes, supported_operations
from graphir.backends.keras.emit import save_keras, to_keras
from graphir.backends.keras.lower import from_keras, load_keras_model

__all__ = ["from_keras", "load_keras_model", "save_keras", "supported_layer_classes",
           "supported_operations", "to_keras"]
