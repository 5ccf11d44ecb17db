"""Loading ``.keras`` files safely: :func:`load_keras_model` (re-exported by
:mod:`graphir.backends.keras.lower` and the package)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras

from graphir.errors import ModelFileError

__all__ = ["load_keras_model"]


def load_keras_model(path: str | os.PathLike) -> "keras.Model":
    """Load a ``.keras`` file without executing code from it.

    Uses ``keras.saving.load_model(path, compile=False, safe_mode=True)``, so a
    ``Lambda`` layer or any other serialized Python code is refused by Keras.  This
    function never imports a module: a custom class registered with
    ``keras.saving.register_keras_serializable`` loads only when the caller has
    imported the module that registers it (the CLI's ``--import MODULE`` does that).

    Raises:
        ModelFileError: the file is missing, is not a ``.keras`` file, or Keras
            refuses it; ``where`` is ``"file PATH"`` and the message is one line
            (for a class Keras does not know, it names the class and its module).
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
        unknown = _unknown_object(str(e))
        if unknown:
            raise ModelFileError(f"Keras could not load it: {unknown}", where=where) from e
        message = " ".join(str(e).split()) or type(e).__name__
        if len(message) > 500:
            message = message[:497] + "..."
        raise ModelFileError(f"Keras could not load it: {type(e).__name__}: {message}",
                             where=where) from e
    return model


_UNKNOWN = re.compile(r"Could not locate (class|function) '([^']+)'")
_MODULE = re.compile(r"'module': '([^']+)'")


def _unknown_object(message: str) -> str | None:
    """``"unknown class 'Scale' (module 'my_layers')..."`` when Keras' message says it
    could not locate a class or function (an unregistered custom object), else None."""
    found = _UNKNOWN.search(message)
    if not found:
        return None
    kind, name = found.groups()
    # Keras appends "Full object config: {'module': ..., 'class_name': ...}"; its first
    # 'module' key is the object's own module as it was saved.
    module = _MODULE.search(message, found.end())
    origin = f" (saved from module {module.group(1)!r})" if module else ""
    return (f"unknown {kind} {name!r}{origin}: import the module that registers it with "
            "keras.saving.register_keras_serializable before loading (CLI: --import MODULE)")
