"""Loading ``.keras`` files safely: :func:`load_keras_model` (re-exported by
:mod:`graphir.backends.keras.lower` and the package).

The order of the checks (``specs/security.md``):

1. :func:`~graphir.backends.keras.safe_archive.scan_keras_archive` reads the zip's
   central directory and ``config.json`` and refuses unsafe members and entries;
2. ``model.weights.h5`` is copied into a graphir-owned temporary folder and every
   HDF5 object in it is checked (:func:`check_weights_file`): no links out of the
   file, no external or virtual datasets, every dataset stores the bytes its shape
   declares, and their sum is within the memory budget;
3. a dry build (:func:`declared_weights`) deserializes the model inside
   ``keras.StatelessScope(initialize_variables=False)``, where Keras creates
   variables without allocating them, and sums the bytes the layers declare (a
   ``Dense(units=150_000_000)`` or a ``build_config`` shape of 1e9 shows up here);
   more than the budget, or more than the weights file stores, is refused;
4. only then is the model built for real and its weights loaded
   (``model.load_weights``); Keras never opens the archive itself, so it extracts
   nothing, anywhere.  The temporary folder (``.keras-load.graphir-<pid>-*``) is
   removed on every exit path, and those of crashed graphir processes are swept at the
   next load.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import keras
import numpy as np

from graphir.atomic import sweep_stale_temps, temp_prefix
from graphir.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from graphir.limits import Limits, current_limits

from .safe_archive import WEIGHTS_MEMBER, KerasArchive, scan_keras_archive

__all__ = ["check_weights_file", "declared_weights", "load_keras_model"]

_TEMP_NAME = "keras-load"  # temporary folders: .keras-load.graphir-<pid>-<random>


def load_keras_model(path: str | os.PathLike, *, limits: Limits | None = None) -> keras.Model:
    """Load a ``.keras`` file without executing code from it, within ``limits``.

    See the module docstring for the checks, made before Keras builds anything.
    This function never imports a module: a custom class registered with
    ``keras.saving.register_keras_serializable`` loads only when the caller has
    imported the module that registers it (the CLI's ``--import MODULE`` does that).
    Legacy ``.h5`` full-model files are refused (Keras reads them without
    ``safe_mode``, CVE-2025-9905).  Library warnings are captured, not printed.

    Args:
        path: the ``.keras`` file.
        limits: the bounds to apply; default :func:`graphir.limits.current_limits`.

    Raises:
        ModelFileError: the file is missing, is not a ``.keras`` file, or Keras
            refuses it; ``where`` is ``"file PATH"`` and the message is one line
            (for a class Keras does not know, it names the class and its module).
        UnsafeModelError: an entry would run code or read other files (names it).
        ResourceLimitError: a declared size exceeds the budget or the stored bytes.
    """
    limits = limits or current_limits()
    file = os.fspath(path)
    where = f"file {file}"
    p = Path(path)
    if p.suffix in (".h5", ".hdf5"):
        raise ModelFileError("expected a .keras file: legacy .h5 model files are refused "
                             "(Keras reads them without safe_mode); re-save the model as "
                             ".keras", where=where)
    if p.suffix != ".keras":
        raise ModelFileError(f"expected a .keras file, got suffix {p.suffix or '(none)'!r}",
                             where=where)
    if not p.is_file():
        raise ModelFileError("no such file" if not p.exists() else "not a regular file",
                             where=where)
    try:
        fh = open(p, "rb")  # noqa: SIM115 -- closed below; scanned and extracted from this one handle
    except OSError as e:
        raise ModelFileError(f"unreadable: {e.strerror or e}", where=where) from None
    with fh, _owned_temp_dir() as folder, warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        archive = scan_keras_archive(p, limits, fh)
        if archive.weights is None:
            raise ModelFileError(f"no {WEIGHTS_MEMBER} in the archive", where=where)
        weights_path = _extract(archive, fh, folder)
        stored = check_weights_file(weights_path, file, limits)
        declared = declared_weights(archive.config, file)
        _compare(declared, stored, file, limits)
        model = _build(archive.config, file)
        try:
            model.load_weights(str(weights_path))
        except Exception as e:  # any loader failure becomes one typed error
            raise _keras_error(e, where, "its weights do not load") from e
    return model


@contextlib.contextmanager
def _owned_temp_dir() -> Iterator[Path]:
    """A fresh ``.keras-load.graphir-<pid>-*`` folder in the temp folder, removed on exit;
    first sweeps such folders (and other graphir temporaries) of dead graphir processes
    (:func:`graphir.atomic.sweep_stale_temps`)."""
    parent = Path(tempfile.gettempdir())
    sweep_stale_temps(parent)
    folder = Path(tempfile.mkdtemp(prefix=temp_prefix(Path(_TEMP_NAME)), dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _extract(archive: KerasArchive, fh: BinaryIO, folder: Path) -> Path:
    """Copy the weights member of the open archive ``fh`` into ``folder`` (bounded by
    its declared size)."""
    info = archive.weights
    target = folder / WEIGHTS_MEMBER
    copied = 0
    try:
        with zipfile.ZipFile(fh) as zf, zf.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(min(2 ** 22, info.file_size - copied + 1)):
                copied += len(chunk)
                if copied > info.file_size:
                    break
                dst.write(chunk)
    except Exception as e:  # zlib.error, BadZipFile (CRC), OSError (disk full): one typed error  # noqa: BLE001
        raise ModelFileError(f"zip member {WEIGHTS_MEMBER!r} cannot be extracted: "
                             f"{type(e).__name__}: {_one_line(str(e))}",
                             where=f"file {archive.path}") from None
    if copied != info.file_size:
        raise ModelFileError(f"zip member {WEIGHTS_MEMBER!r} holds {copied:,} bytes, not the "
                             f"{info.file_size:,} its header declares", where=f"file {archive.path}")
    return target


def check_weights_file(path: Path, file: str, limits: Limits) -> int:
    """Check every object of the HDF5 weights file ``path``; return the bytes its
    datasets store (the sum of ``prod(shape) * itemsize``).

    Refused: soft and external links, external-storage and virtual datasets (they
    read other files), non-numeric datasets, filtered (compressed) datasets (Keras
    never writes them), a dataset storing fewer bytes than its shape declares
    (CVE-2026-0897), more than ``limits.max_objects`` objects, a total above
    ``limits.memory_budget``.

    Raises:
        ModelFileError: not a readable HDF5 file, or a non-numeric/filtered dataset.
        UnsafeModelError: a link or dataset that reads other files.
        ResourceLimitError: a size or count limit (names the dataset).
    """
    import h5py

    member = f"{WEIGHTS_MEMBER}"
    try:
        h5 = h5py.File(path, "r")
    except Exception as e:  # h5py raises OSError mostly, others for odd superblocks  # noqa: BLE001
        raise ModelFileError(f"{member} is not a readable HDF5 file: {type(e).__name__}: "
                             f"{_one_line(str(e))}", where=f"file {file}") from None
    total = count = 0
    try:
        with h5:
            stack = [h5]
            seen = set()
            while stack:
                group = stack.pop()
                for name in list(group.keys()):
                    count += 1
                    if count > limits.max_objects:
                        raise ResourceLimitError(file, member, f"more than "
                                                 f"{limits.max_objects:,} HDF5 objects",
                                                 declared=count, limit=limits.max_objects)
                    entry = f"{member} object {group.name.rstrip('/')}/{name}"
                    link = group.get(name, getlink=True)
                    if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                        raise UnsafeModelError(file, entry, "HDF5 soft and external links are "
                                               "refused")
                    obj = group[name]
                    if isinstance(obj, h5py.Group):
                        if hash(obj.id) not in seen:  # hard links may form cycles (hash: file + object number)
                            seen.add(hash(obj.id))
                            stack.append(obj)
                    elif isinstance(obj, h5py.Dataset):
                        total += _check_dataset(obj, entry, file)
                        if total > limits.memory_budget:
                            raise ResourceLimitError(
                                file, entry, f"the weights reach {total:,} bytes, more than "
                                f"the memory budget of {limits.memory_budget:,}",
                                declared=total, limit=limits.memory_budget)
    except (ModelFileError, ResourceLimitError, UnsafeModelError):
        raise
    except Exception as e:  # a corrupt object table: h5py raises KeyError, OSError, ...  # noqa: BLE001
        raise ModelFileError(f"{member} is corrupt: {type(e).__name__}: {_one_line(str(e))}",
                             where=f"file {file}") from None
    return total


def _check_dataset(ds, entry: str, file: str) -> int:
    if ds.is_virtual or ds.external:
        raise UnsafeModelError(file, entry, "datasets stored in other files (external or "
                               "virtual) are refused")
    dtype = ds.dtype
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.metadata:
        raise ModelFileError(f"{entry}: dtype {dtype} is not a numeric weight",
                             where=f"file {file}")
    if ds.compression or ds.shuffle or ds.fletcher32 or ds.scaleoffset:
        raise ModelFileError(f"{entry}: filtered (compressed) datasets are not written by "
                             "Keras", where=f"file {file}")
    declared = int(dtype.itemsize)
    for d in ds.shape:
        declared *= int(d)
    stored = int(ds.id.get_storage_size())
    if declared > stored:
        raise ResourceLimitError(file, entry, f"declares shape {tuple(ds.shape)} "
                                 f"({declared:,} bytes) but stores {stored:,} bytes",
                                 declared=declared, limit=stored)
    return declared


def declared_weights(config: dict, file: str) -> list[tuple[str, tuple[int, ...], int]]:
    """The variables the model of ``config`` declares, as ``(path, shape, bytes)``,
    found by building it inside ``keras.StatelessScope(initialize_variables=False)``:
    Keras then records each variable's shape and initializer without allocating it.

    Raises:
        ModelFileError: Keras cannot build the model from ``config``.
    """
    from keras.src.backend.common import global_state

    # Variables created in a stateless scope are queued for a later initialization;
    # the queue is restored afterwards so that nothing of the dry build is ever allocated.
    queued = list(global_state.get_global_attribute("uninitialized_variables", [],
                                                    set_to_default=True))
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = _build(config, file)
            found = [(v.path, tuple(int(d) for d in v.shape), _nbytes(v)) for v in model.weights]
    finally:
        global_state.set_global_attribute("uninitialized_variables", queued)
    return found


def _nbytes(variable) -> int:
    try:
        size = int(np.dtype(variable.dtype).itemsize)
    except TypeError:  # bfloat16 & co. without ml_dtypes registered: count the widest
        size = 8
    for d in variable.shape:
        size *= int(d)
    return size


def _compare(declared: list, stored: int, file: str, limits: Limits) -> None:
    total = sum(b for _, _, b in declared)
    if not declared:
        return
    path, shape, nbytes = max(declared, key=lambda d: d[2])
    entry = f"{_CONFIG} weight {path!r}"
    if total > limits.memory_budget:
        raise ResourceLimitError(file, entry, f"the layers declare {total:,} bytes of weights "
                                 f"(this one {shape}, {nbytes:,} bytes), more than the memory "
                                 f"budget of {limits.memory_budget:,}", declared=total,
                                 limit=limits.memory_budget)
    if total > stored:
        raise ResourceLimitError(file, entry, f"the layers declare {total:,} bytes of weights "
                                 f"(this one {shape}, {nbytes:,} bytes) but {WEIGHTS_MEMBER} "
                                 f"stores {stored:,}", declared=total, limit=stored)


_CONFIG = "config.json"


def _build(config: dict, file: str) -> keras.Model:
    """Deserialize the (checked) model config with ``safe_mode=True``, without compiling."""
    from keras.src.saving.serialization_lib import ObjectSharingScope

    # Keras pops keys from the config it deserializes: build from a copy
    config = dict(copy.deepcopy(config), compile_config=None)
    try:
        with ObjectSharingScope():
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as e:  # any builder failure becomes one typed error
        raise _keras_error(e, f"file {file}", "Keras could not build it") from e
    if not isinstance(model, keras.Model):
        raise ModelFileError(f"{_CONFIG} describes a {type(model).__name__}, not a model",
                             where=f"file {file}")
    return model


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _keras_error(e: BaseException, where: str, what: str) -> ModelFileError:
    unknown = _unknown_object(str(e))
    if unknown:
        return ModelFileError(f"Keras could not load it: {unknown}", where=where)
    return ModelFileError(f"{what}: {type(e).__name__}: {_one_line(str(e)) or '(no message)'}",
                          where=where)


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
