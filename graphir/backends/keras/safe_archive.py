"""The pre-scan of a ``.keras`` file: graphir reads the zip and its ``config.json``
itself, before Keras sees anything (``specs/security.md``).

:func:`scan_keras_archive` refuses, naming the entry,

* zip members named with ``..``, an absolute path, a drive or a backslash; symlinks;
  encrypted members; duplicate names; members other than ``config.json``,
  ``metadata.json`` and ``model.weights.h5`` (assets, ``.npz`` weights);
* more than ``Limits.max_members`` members, a total uncompressed size above the
  memory budget, a member that expands more than ``Limits.max_ratio`` times (a
  decompression bomb; Keras stores members uncompressed), a ``config.json`` above
  ``Limits.max_config_bytes``, JSON nested deeper than ``Limits.max_depth``;
* in ``config.json`` (:func:`check_config`; its ``compile_config`` is dropped unread,
  as graphir never compiles a model), every serialized object that is not

  - a Keras built-in (``module`` ``keras``/``keras.*``, resolved through Keras' public
    API table or a Keras module that is *already imported*; the class must be a
    ``KerasSaveable``; graphir never imports a module named by a file),
  - a class registered with ``keras.saving.register_keras_serializable`` by code the
    user imported (the CLI's ``--import MODULE``), where a class under the package
    names Keras itself trusts (``keras_hub``, ``keras_nlp``, ``keras_cv``) must come
    from the installed package (its file in a site-packages folder), never from the
    working directory or a planted folder on ``sys.path``,
  - or a plain value (``__numpy__``, ``__slice__``, ``__keras_tensor__``...);

  ``Lambda`` layers and ``__lambda__`` (serialized bytecode), ``TFSMLayer``, lookup and
  text-vectorization layers whose vocabulary is a file path, any ``safe_mode`` key,
  and functions other than Keras' activations or registered ones.

The rules are stricter than Keras' own ``safe_mode``, which has been bypassed through
``module`` (CVE-2025-1550), gadget functions (CVE-2025-8747, CVE-2025-9906),
``TFSMLayer`` (CVE-2026-1462) and vocabulary paths (CVE-2025-12058).
"""

from __future__ import annotations

import site
import stat
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import keras

from graphir.errors import ModelFileError, ResourceLimitError, UnsafeModelError
from graphir.limits import Limits
from graphir.safe_json import load_json

__all__ = [
    "CONFIG_MEMBER",
    "WEIGHTS_MEMBER",
    "KerasArchive",
    "check_config",
    "scan_keras_archive",
]

CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
_ALLOWED_MEMBERS = {CONFIG_MEMBER, "metadata.json", WEIGHTS_MEMBER}
#: plain values Keras serializes as objects (no class is looked up for them)
_PLAIN = {"__keras_tensor__", "__numpy__", "__slice__", "__tuple__", "__bytes__",
          "__ellipsis__", "__tensor__"}
#: package names under which Keras imports the module a config names (serialization_lib)
_TRUSTED_PACKAGES = {"keras_hub", "keras_nlp", "keras_cv"}
#: layer-config keys whose string value names a file or URL to read
_PATH_KEYS = {"vocabulary", "idf_weights", "filepath", "file_path", "origin", "url"}
_BOMB_FLOOR = 2 ** 20  # members below 1 MiB are never bombs, whatever their ratio


@attrs.frozen
class KerasArchive:
    """What the pre-scan found: the parsed ``config.json`` and the weights member.

    Attributes:
        path: the ``.keras`` file.
        config: ``config.json`` parsed (already checked by :func:`check_config`).
        weights: the ``model.weights.h5`` member's info, or None when absent.
    """

    path: Path
    config: dict
    weights: zipfile.ZipInfo | None


def scan_keras_archive(path: Path, limits: Limits, fileobj: BinaryIO | None = None
                       ) -> KerasArchive:
    """Check the zip structure of ``path`` and its ``config.json`` (module docstring).

    Nothing is extracted: only the central directory and ``config.json`` (read with
    a size bound) are read.  ``fileobj``, when given, is ``path`` already opened (the
    caller then extracts from the same open file, so swapping the file on disk after
    the scan changes nothing).

    Raises:
        ModelFileError: not a zip archive, no ``config.json``, unreadable JSON,
            unexpected members.
        UnsafeModelError: a member name, a symlink or a config entry is refused.
        ResourceLimitError: a count, size, ratio or depth exceeds ``limits``.
    """
    file = str(path)
    try:
        zf = zipfile.ZipFile(fileobj if fileobj is not None else path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise ModelFileError(f"not a .keras (zip) archive: {type(e).__name__}: {e}",
                             where=f"file {file}") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ResourceLimitError(file, "zip archive", f"{len(infos)} members, more than "
                                     f"the limit of {limits.max_members}",
                                     declared=len(infos), limit=limits.max_members)
        seen: set[str] = set()
        total = 0
        for info in infos:
            _check_member(file, info, seen, limits)
            total += info.file_size
        if total > limits.memory_budget:
            raise ResourceLimitError(file, "zip archive", f"members expand to {total:,} bytes, "
                                     f"more than the memory budget of {limits.memory_budget:,}",
                                     declared=total, limit=limits.memory_budget)
        if CONFIG_MEMBER not in seen:
            raise ModelFileError(f"no {CONFIG_MEMBER} in the archive", where=f"file {file}")
        config = _read_config(zf, file, limits)
        weights = zf.getinfo(WEIGHTS_MEMBER) if WEIGHTS_MEMBER in seen else None
    if isinstance(config, dict):  # never deserialized: graphir does not compile models
        config = {k: v for k, v in config.items() if k != "compile_config"}
    check_config(config, file, limits)
    return KerasArchive(path, config, weights)


def _check_member(file: str, info: zipfile.ZipInfo, seen: set[str], limits: Limits) -> None:
    name = info.filename
    entry = f"zip member {_short(name)}"
    parts = name.replace("\\", "/").split("/")
    if (name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or ".." in parts
            or (parts and len(parts[0]) >= 2 and parts[0][1] == ":")):
        raise UnsafeModelError(file, entry, "a path outside the archive's folder (absolute, "
                               "'..', drive or backslash) is refused before extraction")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeModelError(file, entry, "symbolic links are refused before extraction")
    if info.flag_bits & 0x1:
        raise UnsafeModelError(file, entry, "encrypted members are refused")
    if name in seen:
        raise UnsafeModelError(file, entry, "the name appears twice in the archive")
    seen.add(name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{entry}: compression method {info.compress_type} is not "
                             "written by Keras (stored or deflated only)", where=f"file {file}")
    if (info.file_size > _BOMB_FLOOR
            and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
        raise ResourceLimitError(file, entry, f"declares {info.file_size:,} bytes but stores "
                                 f"{info.compress_size:,} (ratio above {limits.max_ratio}: a "
                                 "decompression bomb)", declared=info.file_size,
                                 limit=limits.max_ratio * max(info.compress_size, 1))
    if name not in _ALLOWED_MEMBERS and not info.is_dir():
        what = ("weights in .npz form" if name.endswith(".npz") else
                "assets (lookup and text layers are not lowered)" if name.startswith("assets/")
                else "not a member Keras writes")
        raise ModelFileError(f"{entry}: {what}; graphir reads {CONFIG_MEMBER}, metadata.json "
                             f"and {WEIGHTS_MEMBER} only", where=f"file {file}")
    if name == CONFIG_MEMBER and info.file_size > limits.max_config_bytes:
        raise ResourceLimitError(file, entry, f"{info.file_size:,} bytes, more than the limit "
                                 f"of {limits.max_config_bytes:,}", declared=info.file_size,
                                 limit=limits.max_config_bytes)


def _read_config(zf: zipfile.ZipFile, file: str, limits: Limits) -> dict:
    entry = f"zip member {CONFIG_MEMBER!r}"
    try:
        with zf.open(CONFIG_MEMBER) as f:
            raw = f.read(limits.max_config_bytes + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError) as e:
        raise ModelFileError(f"{entry} is unreadable: {type(e).__name__}: {e}",
                             where=f"file {file}") from None
    except Exception as e:  # zlib.error and friends: a corrupt stream, reported as such  # noqa: BLE001
        raise ModelFileError(f"{entry} is unreadable: {type(e).__name__}: {e}",
                             where=f"file {file}") from None
    if len(raw) > limits.max_config_bytes:
        raise ResourceLimitError(file, entry, f"more than {limits.max_config_bytes:,} bytes",
                                 declared=len(raw), limit=limits.max_config_bytes)
    return load_json(raw, file=file, entry=entry, max_depth=limits.max_depth)


# ------------------------------------------------------------------ config policy

def check_config(config: Any, file: str, limits: Limits) -> None:
    """Refuse every entry of a parsed ``config.json`` that is not allowed (module docstring).

    Raises:
        UnsafeModelError: naming the entry (its JSON path, layer name and class).
        ResourceLimitError: more than ``limits.max_objects`` serialized objects.
        ModelFileError: the top level is not a serialized model object.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelFileError(f"{CONFIG_MEMBER} is not a serialized Keras model",
                             where=f"file {file}")
    count = 0
    stack: list[tuple[Any, str]] = [(config, "config")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if "safe_mode" in node:
                raise UnsafeModelError(file, f"{CONFIG_MEMBER} entry {path}",
                                       "a 'safe_mode' key is refused (it would change how "
                                       "Keras deserializes)")
            if "class_name" in node:
                count += 1
                if count > limits.max_objects:
                    raise ResourceLimitError(file, CONFIG_MEMBER, f"more than "
                                             f"{limits.max_objects:,} serialized objects",
                                             declared=count, limit=limits.max_objects)
                _check_object(node, path, file)
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{path}.{str(key)[:40]}"))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{path}[{i}]"))


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, clipped to ``limit`` characters (a hostile name may be megabytes)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _describe(node: dict, path: str) -> str:
    cfg = node.get("config")
    name = cfg.get("name") if isinstance(cfg, dict) else None
    label = f"name {_short(name)}, " if isinstance(name, str) else ""
    return f"{CONFIG_MEMBER} entry {path} ({label}class {_short(node.get('class_name'))})"


def _check_object(node: dict, path: str, file: str) -> None:
    cls_name = node.get("class_name")
    module = node.get("module")
    registered = node.get("registered_name")
    entry = _describe(node, path)

    def refuse(reason: str) -> None:
        raise UnsafeModelError(file, entry, reason)

    if not isinstance(cls_name, str) or not isinstance(module, (str, type(None))) \
            or not isinstance(registered, (str, type(None))):
        refuse("class_name, module and registered_name must be strings")
    if cls_name == "__lambda__":
        refuse("serialized Python code (a lambda's bytecode) is refused")
    if cls_name in _PLAIN:
        return
    if cls_name.startswith("__"):
        refuse("this serialized value kind is refused")
    if cls_name == "function":
        _check_function(node, refuse)
        return
    cls = _registered_class(registered, refuse) or _builtin_class(cls_name, module, refuse)
    if cls is None:
        origin = f" (saved from module {_short(module)})" if module else ""
        refuse(f"unknown class {_short(cls_name)}{origin}: not a Keras built-in nor a class "
               "registered by a module imported first; import the module that registers it "
               "with keras.saving.register_keras_serializable before loading "
               "(CLI: --import MODULE)")
    _check_layer_class(cls, node, refuse)


def _registered_class(registered: str | None, refuse) -> type | None:
    """The class registered under ``registered`` by code the user imported, or None."""
    if not registered:
        return None
    obj = keras.saving.get_registered_object(registered)
    if obj is None:
        return None
    if not isinstance(obj, type):
        refuse(f"registered name {_short(registered)} is not a class")
    package = obj.__module__.split(".")[0]
    if package in _TRUSTED_PACKAGES and not _installed(obj):
        refuse(f"class {_short(registered)} comes from {package!r} outside the installed packages "
               f"({_module_file(obj)}); only an installed {package} is trusted")
    return obj


def _builtin_class(cls_name: str, module: str | None, refuse) -> type | None:
    """The Keras built-in class ``module.cls_name``, without importing anything; None when
    ``module`` is not Keras'.  Refuses a package Keras would import on its own."""
    if module is None:
        return None
    package = module.split(".")[0]
    if package in _TRUSTED_PACKAGES:
        refuse(f"module {_short(module)}: {_short(package)} classes load only when the installed {package} "
               f"was imported first (import {package}, or CLI: --import {package}); graphir "
               "never imports a module a model file names")
    if package != "keras":
        return None
    from keras.src import api_export

    obj = api_export.get_symbol_from_name(f"{module}.{cls_name}")
    if obj is None:
        loaded = sys.modules.get(module)
        obj = vars(loaded).get(cls_name) if loaded is not None else None
    if obj is None:
        return None
    if not (isinstance(obj, type) and issubclass(obj, _modeling_bases())):
        refuse(f"{module}.{cls_name} is not a Keras layer, operation, model, initializer, "
               "regularizer, constraint or dtype policy (a function or other object is refused)")
    return obj


def _modeling_bases() -> tuple[type, ...]:
    """The classes a config may instantiate: Keras layers, operations and models
    (``KerasSaveable``), initializers, regularizers, constraints and dtype policies."""
    from keras.src.saving.keras_saveable import KerasSaveable

    return (KerasSaveable, keras.initializers.Initializer, keras.regularizers.Regularizer,
            keras.constraints.Constraint, keras.dtype_policies.DTypePolicy)


def _check_function(node: dict, refuse) -> None:
    name = node.get("config")
    if not isinstance(name, str):
        refuse("a serialized function must name it")
    registered = keras.saving.get_registered_object(name)
    if registered is not None and callable(registered):
        return
    if node.get("module") in ("keras.activations", "builtins", None) \
            and name in _activation_names():
        return
    refuse(f"function {_short(name)} from module {_short(node.get('module'))} is refused (only Keras "
           "activations and registered functions load)")


def _activation_names() -> set[str]:
    return {n for n, f in vars(keras.activations).items()
            if callable(f) and not n.startswith("_") and n not in ("get", "serialize",
                                                                   "deserialize")}


def _check_layer_class(cls: type, node: dict, refuse) -> None:
    from keras import layers as L

    if issubclass(cls, L.Lambda):
        refuse("Lambda layers hold Python code and are refused")
    if issubclass(cls, L.TFSMLayer):
        refuse("TFSMLayer reads a SavedModel from another path and is refused")
    cfg = node.get("config")
    if isinstance(cfg, dict):
        for key in sorted(_PATH_KEYS & cfg.keys()):
            if isinstance(cfg[key], str):
                refuse(f"config key {key!r} names a file or URL ({cfg[key][:80]!r}); layers "
                       "that read other files are refused")


def _site_folders() -> list[Path]:
    folders = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    try:
        folders.update(site.getsitepackages())
    except AttributeError:  # virtualenvs of old versions lack it
        pass
    return [Path(f).resolve() for f in folders]


def _module_file(cls: type) -> str:
    module = sys.modules.get(cls.__module__)
    return str(getattr(module, "__file__", None) or "no file")


def _installed(cls: type) -> bool:
    """True when ``cls``'s module file lies in a site-packages folder of this interpreter
    (so not in the working directory nor any other folder put on ``sys.path``)."""
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__file__", None)
    if not source:
        return False
    resolved = Path(source).resolve()
    return any(resolved.is_relative_to(folder) for folder in _site_folders())
