"""A corpus of hostile and broken model files, generated (no binary blob is committed).

:func:`build_corpus` writes every entry into a folder and returns the list of
:class:`Entry`: the file, how it is read (``keras``, ``gir``, ``onnx``), the exact
error type graphir must raise, and the limits to read it under.  Payloads that would
run code write a canary file into ``canary_dir`` (they must never run); planted
modules (``keras_nlp/``, ``keras_hub/``, ``my_evil.py``) go into the folder, which the
runner uses as its working directory, as an attacker who controls it would.

Categories: zip structure (traversal, symlinks, duplicates, encryption, member count,
bombs), config.json policy (modules, Lambda, serialized code, TFSMLayer, vocabulary
paths, unsafe-mode switches, gadget functions, depth, counts), declared sizes (Dense
units, build_config shapes, Embedding, HDF5 shapes without data, budget), HDF5 links
and external storage, ``.gir`` (JSON types, unsupported dtypes, header lies, depth),
``.onnx`` (external-data traversal, absolute paths, symlinks, byte ranges, dims).
"""

from __future__ import annotations

import copy
import io
import json
import os
import stat
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Entry", "build_corpus"]


@dataclass
class Entry:
    name: str
    path: str
    kind: str  # "keras", "gir" or "onnx"
    expected: str  # the exact class name of the error
    limits: dict = field(default_factory=dict)


def _canary_code(canary_dir: Path, name: str) -> str:
    return f"open({str(canary_dir / name)!r}, 'w').write('ran')\n"


# ------------------------------------------------------------------------- .keras

def _base_keras(folder: Path) -> tuple[dict, bytes]:
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((4,), name="x")
    h = keras.layers.Dense(3, name="d1")(x)
    model = keras.Model(x, keras.layers.Dense(2, name="d2")(h), name="base")
    path = folder / "base_model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("config.json")), zf.read("model.weights.h5")


def _zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]],
         compression: int = zipfile.ZIP_STORED) -> None:
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": written on purpose
        for name, data in members:
            zf.writestr(name, data)


def _keras(path: Path, config: dict, weights: bytes, extra=(), compression=zipfile.ZIP_STORED):
    _zip(path, [("metadata.json", b"{}"), ("config.json", json.dumps(config).encode()),
                ("model.weights.h5", weights), *extra], compression)


def _layer(config: dict, name: str) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == name)


def _with_layer(base: dict, layer_name: str, /, **changes) -> dict:
    c = copy.deepcopy(base)
    layer = _layer(c, layer_name)
    for key, value in changes.items():
        layer[key] = value
    return c


def _with_config(base: dict, layer_name: str, /, **changes) -> dict:
    c = copy.deepcopy(base)
    _layer(c, layer_name)["config"].update(changes)
    return c


def _h5(build) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def _keras_entries(folder: Path, canary_dir: Path) -> list[Entry]:
    config, weights = _base_keras(folder)
    out: list[Entry] = []

    def add(name: str, expected: str, write, suffix: str = ".keras", **limits) -> None:
        path = folder / f"{name}{suffix}"
        write(path)
        out.append(Entry(name, str(path), "keras", expected, limits))

    def member(name):
        return lambda p: _keras(p, config, weights, [(name, b"x")])

    # zip structure
    add("zip_traversal", "UnsafeModelError", member("../evil.py"))
    add("zip_absolute", "UnsafeModelError", member("/tmp/graphir_evil.py"))
    add("zip_backslash", "UnsafeModelError", member("..\\evil.py"))
    add("zip_drive", "UnsafeModelError", member("C:/evil.py"))
    link = zipfile.ZipInfo("assets/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    add("zip_symlink", "UnsafeModelError", lambda p: _keras(p, config, weights,
                                                           [(link, b"/etc/passwd")]))
    add("zip_duplicate_config", "UnsafeModelError",
        lambda p: _keras(p, config, weights, [("config.json", b"{}")]))
    add("zip_unexpected_member", "ModelFileError", member("evil.py"))
    add("zip_npz_weights", "ModelFileError", member("model.weights.npz"))
    add("zip_too_many_members", "ResourceLimitError",
        lambda p: _keras(p, config, weights, [(f"m{i}", b"") for i in range(40)]),
        max_members=20)
    add("zip_not_a_zip", "ModelFileError", lambda p: p.write_bytes(b"PK\x03\x04 not a zip"))
    add("zip_empty_file", "ModelFileError", lambda p: p.write_bytes(b""))

    def truncated(p):
        _keras(p, config, weights)
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])

    add("zip_truncated", "ModelFileError", truncated)

    def encrypted(p):
        _keras(p, config, weights)
        data = bytearray(p.read_bytes())
        # set the "encrypted" bit (general purpose flag bit 0) in every central directory entry
        i = data.find(b"PK\x01\x02")
        while i >= 0:
            data[i + 8] |= 1
            i = data.find(b"PK\x01\x02", i + 4)
        p.write_bytes(bytes(data))

    add("zip_encrypted", "UnsafeModelError", encrypted)

    def crc_corrupt(p):
        _keras(p, config, weights)
        data = bytearray(p.read_bytes())
        at = data.find(weights[200:232])
        data[at] ^= 0xFF
        p.write_bytes(bytes(data))

    add("zip_weights_crc", "ModelFileError", crc_corrupt)
    add("zip_no_config", "ModelFileError",
        lambda p: _zip(p, [("model.weights.h5", weights)]))
    add("zip_no_weights", "ModelFileError",
        lambda p: _zip(p, [("config.json", json.dumps(config).encode())]))
    zeros = b"\0" * (24 * 2 ** 20)
    add("bomb_config", "ResourceLimitError", lambda p: _zip(
        p, [("config.json", b" " * (24 * 2 ** 20) + json.dumps(config).encode()),
            ("model.weights.h5", weights)], zipfile.ZIP_DEFLATED))
    add("bomb_weights", "ResourceLimitError", lambda p: _zip(
        p, [("config.json", json.dumps(config).encode()), ("model.weights.h5", weights + zeros)],
        zipfile.ZIP_DEFLATED))
    add("bomb_assets", "ResourceLimitError", lambda p: _zip(
        p, [("config.json", json.dumps(config).encode()), ("model.weights.h5", weights)]
        + [(f"assets/a{i}", zeros) for i in range(8)], zipfile.ZIP_DEFLATED))
    add("archive_over_budget", "ResourceLimitError", lambda p: _keras(p, config, weights),
        memory_budget=4096)
    add("config_over_limit", "ResourceLimitError", lambda p: _keras(p, config, weights),
        max_config_bytes=512)
    add("config_deep_json", "ResourceLimitError", lambda p: _zip(
        p, [("config.json", b"[" * 100_000 + b"]" * 100_000), ("model.weights.h5", weights)]))
    add("config_not_json", "ModelFileError", lambda p: _zip(
        p, [("config.json", b"{'module': nope"), ("model.weights.h5", weights)]))
    add("config_not_utf8", "ModelFileError", lambda p: _zip(
        p, [("config.json", b"\xff\xfe\x00{"), ("model.weights.h5", weights)]))
    add("config_not_a_model", "ModelFileError", lambda p: _zip(
        p, [("config.json", b"[1, 2, 3]"), ("model.weights.h5", weights)]))
    add("config_too_many_objects", "ResourceLimitError", lambda p: _keras(p, config, weights),
        max_objects=5)

    # config.json policy: classes, modules, code
    evil = {"module": "keras_nlp.evil", "class_name": "Evil", "registered_name": None,
            "config": {"name": "evil"}}
    add("module_keras_nlp_planted", "UnsafeModelError",
        lambda p: _keras(p, _with_layer(config, "d2", **evil), weights))
    add("module_keras_hub_planted", "UnsafeModelError",
        lambda p: _keras(p, _with_layer(config, "d2", module="keras_hub.evil",
                                        class_name="Evil", registered_name="keras_hub>Evil"),
                         weights))
    add("module_os_system", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="os", class_name="system", registered_name=None),
        weights))
    add("module_builtins_eval", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="builtins", class_name="eval",
                       registered_name=None), weights))
    add("module_planted_custom", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="my_evil", class_name="Evil",
                       registered_name="my_evil>Evil"), weights))
    add("module_keras_unloaded", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="keras.src.no_such_module", class_name="Dense",
                       registered_name=None), weights))
    add("module_keras_utils_function_as_class", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="keras.utils", class_name="get_file",
                       registered_name=None), weights))
    add("names_of_a_megabyte", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="m" * 2 ** 20, class_name="C" * 2 ** 20,
                       registered_name=None), weights))
    add("class_name_not_a_string", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", class_name=123), weights))
    code = _canary_code(canary_dir, "lambda")
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "config": {"name": "lam", "function": {"class_name": "__lambda__", "config": {
               "code": code, "defaults": None, "closure": None}}}}
    add("lambda_layer", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", **lam), weights))
    add("lambda_code_in_initializer", "UnsafeModelError", lambda p: _keras(
        p, _with_config(config, "d2", kernel_initializer={
            "class_name": "__lambda__", "config": {"code": code}}), weights))
    add("tfsm_layer", "UnsafeModelError", lambda p: _keras(p, _with_layer(
        config, "d2", module="keras.layers", class_name="TFSMLayer", registered_name=None,
        config={"name": "d2", "filepath": "/tmp/saved_model", "call_endpoint": "serve"}),
        weights))
    add("string_lookup_vocabulary_path", "UnsafeModelError", lambda p: _keras(p, _with_layer(
        config, "d2", module="keras.layers", class_name="StringLookup", registered_name=None,
        config={"name": "d2", "vocabulary": "/etc/passwd"}), weights))
    add("text_vectorization_vocabulary_path", "UnsafeModelError", lambda p: _keras(
        p, _with_layer(config, "d2", module="keras.layers", class_name="TextVectorization",
                       registered_name=None, config={"name": "d2", "vocabulary": "/etc/hosts"}),
        weights))
    add("safe_mode_switch", "UnsafeModelError", lambda p: _keras(
        p, _with_config(config, "d2", safe_mode=False), weights))
    add("gadget_enable_unsafe_deserialization", "UnsafeModelError", lambda p: _keras(
        p, _with_config(config, "d2", activation={
            "module": "keras.config", "class_name": "function",
            "config": "enable_unsafe_deserialization", "registered_name": None}), weights))
    add("gadget_get_file", "UnsafeModelError", lambda p: _keras(
        p, _with_config(config, "d2", activation={
            "module": "keras.utils", "class_name": "function", "config": "get_file",
            "registered_name": None}), weights))
    add("typespec_value", "UnsafeModelError", lambda p: _keras(
        p, _with_config(config, "d2", kernel_initializer={"class_name": "__typespec__",
                                                          "config": {}}), weights))

    # declared sizes
    add("dense_units_150M", "ResourceLimitError", lambda p: _keras(
        p, _with_config(config, "d2", units=150_000_000), weights))
    # a build_config that disagrees with the graph: built (nothing allocated in the dry
    # build), then refused by Keras' shape check
    add("build_config_shape_1e9", "ModelFileError", lambda p: _keras(
        p, _with_layer(config, "d2", build_config={"input_shape": [None, 1_000_000_000]}),
        weights))

    def wide_input(p):
        c = _with_layer(config, "d1", build_config={"input_shape": [None, 1_000_000_000]})
        _layer(c, "x")["config"]["batch_shape"] = [None, 1_000_000_000]
        _keras(p, c, weights)

    add("input_and_build_shape_1e9", "ResourceLimitError", wide_input)
    emb = {"module": "keras.layers", "class_name": "Embedding", "registered_name": None,
           "config": {"name": "d2", "input_dim": 10 ** 12, "output_dim": 8}}
    add("embedding_input_dim_1e12", "ResourceLimitError", lambda p: _keras(
        p, _with_layer(config, "d2", **emb), weights))
    add("dense_units_doubled", "ResourceLimitError", lambda p: _keras(
        p, _with_config(config, "d2", units=4), weights))

    def h5(build):
        return lambda p: _keras(p, config, _h5(build))

    def sparse(f):  # CVE-2026-0897: 3.5 GiB declared, nothing stored
        f.create_dataset("layers/dense/vars/0", shape=(7 * 2 ** 27,), dtype="float32")

    add("h5_declared_not_stored", "ResourceLimitError", h5(sparse))
    add("h5_external_link", "UnsafeModelError",
        h5(lambda f: f.__setitem__("layers", __import__("h5py").ExternalLink("/etc/x.h5", "/"))))
    add("h5_soft_link", "UnsafeModelError",
        h5(lambda f: f.__setitem__("layers", __import__("h5py").SoftLink("/elsewhere"))))
    add("h5_external_storage", "UnsafeModelError", h5(lambda f: f.create_dataset(
        "layers/d/vars/0", shape=(16,), dtype="uint8", external=[("/etc/hostname", 0, 16)])))
    add("h5_string_dataset", "ModelFileError", h5(lambda f: f.create_dataset(
        "layers/d/vars/0", data=np.array([b"abc"], dtype=object),
        dtype=__import__("h5py").string_dtype())))
    add("h5_compressed", "ModelFileError", h5(lambda f: f.create_dataset(
        "layers/d/vars/0", data=np.zeros(1000, np.float32), compression="gzip")))
    add("h5_garbage", "ModelFileError", lambda p: _keras(p, config, b"\x89HDF garbage" * 100))
    add("legacy_h5_suffix", "ModelFileError", lambda p: p.write_bytes(weights), suffix=".h5")
    return out


# ------------------------------------------------------------------------- .gir

def _safetensors(path: Path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def _base_gir(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    from graphir import Graph, Node, TensorType, Value, save
    from graphir.dtypes import DType
    from graphir.serialization import graph_to_json

    x = Value("x", TensorType(DType.FLOAT32, ("batch", 4)))
    k = np.arange(12, dtype=np.float32).reshape(4, 3)
    b = np.zeros(3, np.float32)
    node = Node("dense", "fc", ("x", "fc/kernel", "fc/bias"),
                (Value("fc", TensorType(DType.FLOAT32, ("batch", 3))),),
                {"units": 3, "activation": "relu"})
    graph = Graph("g", (x,), ("fc",), (node,), {"fc/kernel": k, "fc/bias": b})
    save(graph, folder / "base_graph.gir")
    return graph_to_json(graph), {"fc/kernel": k, "fc/bias": b}


def _gir(path: Path, graph_json, tensors: dict, dtypes: dict | None = None) -> None:
    header, data, offset = {}, b"", 0
    for name, array in tensors.items():
        raw = array.tobytes()
        code = (dtypes or {}).get(name, {"float32": "F32"}[array.dtype.name])
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    meta = graph_json if isinstance(graph_json, str) else json.dumps(graph_json)
    header["__metadata__"] = {"graphir": meta}
    _safetensors(path, header, data)


def _gir_entries(folder: Path) -> list[Entry]:
    base, tensors = _base_gir(folder)
    out: list[Entry] = []

    def add(name, expected, write, **limits):
        path = folder / f"{name}.gir"
        write(path)
        out.append(Entry(name, str(path), "gir", expected, limits))

    def json_edit(fn):
        def write(p):
            g = copy.deepcopy(base)
            fn(g)
            _gir(p, g, tensors)
        return write

    add("gir_node_name_int", "IRFormatError", json_edit(lambda g: g["nodes"][0].update(name=7)))
    add("gir_node_inputs_string", "IRFormatError",
        json_edit(lambda g: g["nodes"][0].update(inputs="x")))
    add("gir_node_inputs_ints", "IRFormatError",
        json_edit(lambda g: g["nodes"][0].update(inputs=[1, 2, 3])))
    add("gir_outputs_dict", "IRFormatError", json_edit(lambda g: g.update(outputs={"a": 1})))
    add("gir_shape_float", "IRFormatError",
        json_edit(lambda g: g["inputs"][0].update(shape=[1.5, 4])))
    add("gir_nodes_null", "IRFormatError", json_edit(lambda g: g.update(nodes=None)))
    add("gir_attrs_list", "IRFormatError",
        json_edit(lambda g: g["nodes"][0].update(attrs=[1, 2])))
    add("gir_attr_wrong_type", "IRFormatError",
        json_edit(lambda g: g["nodes"][0]["attrs"].update(units={"x": [1]})))
    add("gir_unknown_op", "GraphInvariantError",
        json_edit(lambda g: g["nodes"][0].update(op="__import__('os').system")))
    add("gir_format_99", "IRFormatError", json_edit(lambda g: g.update(format=99)))
    add("gir_metadata_not_json", "IRFormatError", lambda p: _gir(p, "{nope", tensors))
    add("gir_deep_json", "ResourceLimitError",
        lambda p: _gir(p, "[" * 100_000 + "]" * 100_000, tensors))
    for code in ("BF16", "U32", "C64", "F8_E4M3"):
        add(f"gir_dtype_{code.lower()}", "IRFormatError",
            lambda p, code=code: _gir(p, base, tensors, {"fc/bias": code}))
    add("gir_header_length_huge", "ResourceLimitError",
        lambda p: p.write_bytes(struct.pack("<Q", 2 ** 62) + b"{}"))
    add("gir_header_past_end", "IRFormatError",
        lambda p: p.write_bytes(struct.pack("<Q", 4096) + b"{}"))
    add("gir_too_short", "IRFormatError", lambda p: p.write_bytes(b"\x01\x00"))
    add("gir_offsets_mismatch", "IRFormatError", lambda p: _safetensors(p, {
        "a": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 16]},
        "__metadata__": {"graphir": json.dumps(base)}}, b"\0" * 16))
    add("gir_offsets_past_end", "IRFormatError", lambda p: _safetensors(p, {
        "a": {"dtype": "F32", "shape": [10 ** 9], "data_offsets": [0, 4 * 10 ** 9]},
        "__metadata__": {"graphir": json.dumps(base)}}, b"\0" * 16))
    add("gir_over_budget", "ResourceLimitError", lambda p: _gir(p, base, tensors),
        memory_budget=16)
    add("gir_no_metadata", "IRFormatError", lambda p: _safetensors(p, {}, b""))
    add("gir_metadata_not_string", "IRFormatError",
        lambda p: _safetensors(p, {"__metadata__": {"graphir": 5}}, b""))

    def truncated(p):
        _gir(p, base, tensors)
        p.write_bytes(p.read_bytes()[:-20])

    add("gir_truncated", "IRFormatError", truncated)
    return out


# ------------------------------------------------------------------------- .onnx

def _onnx_model(external: dict | None = None, raw: bytes | None = None, dims=(4,)):
    import onnx
    from onnx import helper

    t = onnx.TensorProto()
    t.name = "w"
    t.data_type = onnx.TensorProto.FLOAT
    t.dims.extend(dims)
    if external is not None:
        t.data_location = onnx.TensorProto.EXTERNAL
        for key, value in external.items():
            t.external_data.add(key=key, value=str(value))
    else:
        t.raw_data = raw if raw is not None else np.arange(4, dtype=np.float32).tobytes()
    node = helper.make_node("Add", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [4])],
                              [helper.make_tensor_value_info("y", 1, [4])], [t])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _onnx_entries(folder: Path) -> list[Entry]:
    import onnx

    out: list[Entry] = []
    onnx_dir = folder / "onnx_models"
    onnx_dir.mkdir()
    secret = folder / "secret.bin"
    secret.write_bytes(b"\1" * 64)
    (onnx_dir / "data.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    os.symlink(secret, onnx_dir / "link.bin")
    os.symlink(folder, onnx_dir / "linkdir")

    def add(name, expected, model=None, write=None, **limits):
        path = onnx_dir / f"{name}.onnx"
        if write is not None:
            write(path)
        else:
            onnx.save_model(model, str(path))
        out.append(Entry(name, str(path), "onnx", expected, limits))

    add("onnx_traversal", "UnsafeModelError", _onnx_model({"location": "../secret.bin",
                                                            "length": 16}))
    add("onnx_absolute", "UnsafeModelError", _onnx_model({"location": str(secret),
                                                           "length": 16}))
    add("onnx_symlink_file", "UnsafeModelError", _onnx_model({"location": "link.bin",
                                                               "length": 16}))
    add("onnx_symlink_folder", "UnsafeModelError",
        _onnx_model({"location": "linkdir/secret.bin", "length": 16}))
    add("onnx_backslash", "UnsafeModelError", _onnx_model({"location": "..\\secret.bin"}))
    add("onnx_length_mismatch", "ModelFileError", _onnx_model({"location": "data.bin",
                                                                "length": 8}))
    add("onnx_offset_past_end", "ModelFileError",
        _onnx_model({"location": "data.bin", "offset": 1000, "length": 16}))
    add("onnx_missing_data_file", "ModelFileError", _onnx_model({"location": "nope.bin"}))
    add("onnx_raw_data_short", "ModelFileError", _onnx_model(raw=b"\0" * 3))
    add("onnx_negative_dims", "ModelFileError", _onnx_model(dims=(-4,)))
    add("onnx_dims_over_budget", "ResourceLimitError",
        _onnx_model({"location": "data.bin"}, dims=(2 ** 40,)))
    add("onnx_garbage", "ModelFileError", write=lambda p: p.write_bytes(b"\x08\xff" * 50))
    # found by the fuzzer: protobuf hands invalid UTF-8 in a string field over as bytes
    add("onnx_location_not_utf8", "ModelFileError", write=lambda p: p.write_bytes(
        _onnx_model({"location": "data.bin"}).SerializeToString().replace(b"data.bin",
                                                                         b"\xff\xfeta.bin")))
    return out


def build_corpus(folder: Path, canary_dir: Path) -> list[Entry]:
    """Write the corpus and the planted modules into ``folder``; return its entries."""
    folder.mkdir(parents=True, exist_ok=True)
    for package in ("keras_nlp", "keras_hub"):
        (folder / package).mkdir(exist_ok=True)
        (folder / package / "__init__.py").write_text(_canary_code(canary_dir, package))
        (folder / package / "evil.py").write_text(_canary_code(canary_dir, f"{package}.evil"))
    (folder / "my_evil.py").write_text(_canary_code(canary_dir, "my_evil"))
    return _keras_entries(folder, canary_dir) + _gir_entries(folder) + _onnx_entries(folder)
