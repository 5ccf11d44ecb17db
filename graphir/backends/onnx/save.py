"""``save_onnx``: write an ONNX model atomically, with external data when it is large.

Small models (initializers up to :data:`EXTERNAL_DATA_THRESHOLD` bytes) are one
file, written through :func:`graphir.atomic.atomic_write`: an unnamed file beside
the target, named and renamed into place once complete, so a failure (or ``kill -9``)
never leaves a half-written model nor destroys the previous one.

Temporary files and folders are named by :func:`graphir.atomic.temp_prefix`, so
that those of a process killed mid-write are swept at the next write to the folder.

Large models cannot be one protobuf (its hard limit is 2 GiB), so their tensors go
to ONNX external data (https://onnx.ai/onnx/repo-docs/ExternalData.html): one data
file beside the model, named ``<model file name>.<16 hex digits>.data`` where the
digits are a SHA-256 of the tensors' names and bytes.  Both files are written in
a temporary folder beside the target; then the data file is moved into place
(a new content gets a new name, so the previous model's data file is untouched),
then the model file (atomic rename).  At every moment the model at the target
refers to a complete data file.  Afterwards, data files of earlier saves to the
same target (same naming pattern, other digits) are removed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import onnx

from graphir.atomic import (
    atomic_write,
    output_folder,
    sweep_stale_temps,
    temp_prefix,
    typed_io_failures,
)

from .tensors import tensor_nbytes

__all__ = ["EXTERNAL_DATA_THRESHOLD", "is_large", "save_onnx", "write_with_external_data"]

#: total initializer bytes above which a model is saved with external data: 2 GiB (the
#: protobuf limit) less 64 MiB of headroom for the graph itself.
EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 2 ** 26


def _initializer_bytes(model: onnx.ModelProto) -> int:
    # from dims and types: upb's ByteSize() would encode every tensor to count its bytes
    return sum(tensor_nbytes(t) for t in model.graph.initializer)


def is_large(model: onnx.ModelProto) -> bool:
    """True when ``model``'s initializers exceed :data:`EXTERNAL_DATA_THRESHOLD` bytes."""
    return _initializer_bytes(model) > EXTERNAL_DATA_THRESHOLD


def write_with_external_data(model: onnx.ModelProto, path: Path, location: str) -> None:
    """Write ``model`` to ``path`` with every tensor of 1 KiB or more in the file
    ``location`` (relative to ``path``'s folder).  ``model`` itself is not modified.

    ``path``'s folder must not already hold ``location`` (onnx appends to it).
    """
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    onnx.save_model(copy, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=1024)


def _data_name(model: onnx.ModelProto, target: Path) -> str:
    digest = hashlib.sha256()
    for t in model.graph.initializer:
        digest.update(t.name.encode())
        digest.update(t.SerializeToString())
    return f"{target.name}.{digest.hexdigest()[:16]}.data"


def _stale_data_files(target: Path, keep: str | None) -> list[Path]:
    pattern = re.compile(re.escape(target.name) + r"\.[0-9a-f]{16}\.data")
    folder = target.parent if str(target.parent) else Path(".")
    return sorted(p for p in folder.iterdir()
                  if pattern.fullmatch(p.name) and p.name != keep and p.is_file())


def save_onnx(model: onnx.ModelProto, path: str | os.PathLike, *,
              external_data: bool | None = None) -> Path:
    """Write ``model`` to ``path`` atomically.

    Args:
        model: the model (not modified).
        path: the target file; its folder must exist.  An existing file is replaced
            only once the new one is complete.
        external_data: None (default) chooses by size (external data above
            :data:`EXTERNAL_DATA_THRESHOLD`, i.e. about 2 GiB of initializers); True or
            False forces it.  See the module docstring for the data file's name and
            the order of the moves.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: ``path``'s folder is missing or read-only, ``path`` is a
            directory, or writing failed (disk full...): no partial file is left at
            ``path``, the previous one is intact, and no temporary file remains.
    """
    target = Path(path)
    use_external = is_large(model) if external_data is None else external_data
    if not use_external:
        data = model.SerializeToString()  # what onnx.save_model writes for one file
        atomic_write(target, lambda f: f.write(data))
        for stale in _stale_data_files(target, keep=None):
            stale.unlink(missing_ok=True)
        return target
    folder = output_folder(target)
    sweep_stale_temps(folder)
    location = _data_name(model, target)
    with typed_io_failures(target):
        tmp_dir = Path(tempfile.mkdtemp(prefix=temp_prefix(target), dir=folder))
    try:
        with typed_io_failures(target):
            write_with_external_data(model, tmp_dir / target.name, location)
            if (tmp_dir / location).exists():
                os.replace(tmp_dir / location, folder / location)
            os.replace(tmp_dir / target.name, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    for stale in _stale_data_files(target, keep=location):
        stale.unlink(missing_ok=True)
    return target
