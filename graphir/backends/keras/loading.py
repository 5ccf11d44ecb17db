"""Loading ``.keras`` files safely: :func:`load_keras_model` (re-exported by
:mod:`graphir.backends.keras.lower` and the package)."""

from __future__ import annotations

import os
from pathlib import Path

import keras

from graphir.errors import ModelFileError

__all__ = ["load_keras_model"]


def load_keras_model(path: str | os.PathLike) -> "keras.Model":
    """Load a ``.keras`` file without executing code from it.

    Uses ``keras.saving.load_model(path, compile=False, safe_mode=True)``, so a
    ``Lambda`` layer or any other serialized Python code is refused by Keras.

    Raises:
        ModelFileError: the file is missing, is not a ``.keras`` file, or Keras
            refuses it; ``where`` is ``"file PATH"`` and the message is one line.
    """
    where = f"file {os.fspath(path)}"
    p = Path(path)
    if p.suffix != ".keras":
        raise ModelFileError(f"expected a .keras file, got suffix {p.suffix or '(none)'!r}",
                             where=where)
    if not p.is_file():
        raise ModelFileError("no such file" if not p.exists() else "not a regular file",
                             where=where)
    try:
        model = keras.saving.load_model(p, compile=False, safe_mode=True)
    except Exception as e:  # any loader failure becomes one typed error, nothing is swallowed
        message = " ".join(str(e).split()) or type(e).__name__
        if len(message) > 500:
            message = message[:497] + "..."
        raise ModelFileError(f"Keras could not load it: {type(e).__name__}: {message}",
                             where=where) from e
    return model
