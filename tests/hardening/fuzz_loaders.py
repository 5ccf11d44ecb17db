"""Property-based fuzzing of the three readers (child process of ``test_fuzz.py``).

Usage: ``python fuzz_loaders.py FOLDER EXAMPLES [twin]``.  Valid seed files are written into
FOLDER (a small Keras model, a ``.gir`` graph, an ONNX model with external data), then
hypothesis mutates them (byte flips, truncations, insertions; and, structured, values
anywhere in ``config.json`` / the graph JSON / the external-data location) and each
mutant is read.  The property: the reader returns, or raises a ``GraphIRError``;
nothing else escapes.  ``derandomize=True`` makes the run the same every time.  A
crash of a native parser (HDF5, protobuf) ends the process with a signal, which the
test reports.  Runs under a 256 MiB memory budget.

``twin`` runs the broken twin instead: the ``.gir`` field-type check replaced by one
that lets a ``TypeError`` escape when a node name is not a string (the failure the
issue reported), and only the graph-JSON fuzzer, which must then find and report it.
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.append(str(Path(__file__).resolve().parent))

from corpus import _base_gir, _base_keras, _gir, _keras, _onnx_model

FOLDER = Path(sys.argv[1]).resolve()
EXAMPLES = int(sys.argv[2])

import graphir
from graphir.backends.onnx.safe_load import load_onnx_file
from graphir.limits import Limits, using_limits

LIMITS = Limits(memory_budget=256 * 2 ** 20)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 63, 2 ** 64)
                    | st.floats(allow_nan=True) | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
EDITS = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                 min_size=1, max_size=6)
CUT = st.none() | st.floats(0, 1)


def _read(kind: str, path: Path) -> None:
    with using_limits(LIMITS), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            {"keras": graphir.from_keras, "gir": graphir.load, "onnx": load_onnx_file}[kind](path)
        except graphir.GraphIRError:
            pass


def _mutate(data: bytes, edits, cut) -> bytes:
    out = bytearray(data)
    for where, byte in edits:
        out[int(where * len(out))] = byte
    if cut is not None:
        out = out[: int(cut * len(out))]
    return bytes(out)


def _paths(node, prefix=()):
    """Every path (tuple of keys/indices) into a JSON value."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _replace(doc, path, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


TWIN = sys.argv[3:] == ["twin"]
CONFIG, WEIGHTS = _base_keras(FOLDER) if not TWIN else ({}, b"")
GRAPH, TENSORS = _base_gir(FOLDER)
KERAS_BYTES = b"" if TWIN else (FOLDER / "base_model.keras").read_bytes()
GIR_BYTES = (FOLDER / "base_graph.gir").read_bytes()
CONFIG_PATHS = list(_paths(CONFIG))
GRAPH_PATHS = list(_paths(GRAPH))
(FOLDER / "data.bin").write_bytes(b"\0" * 16)

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(EDITS, CUT)
def fuzz_keras_bytes(edits, cut):
    path = FOLDER / "m.keras"
    path.write_bytes(_mutate(KERAS_BYTES, edits, cut))
    _read("keras", path)


@FUZZ
@given(st.sampled_from(CONFIG_PATHS), JSON)
def fuzz_keras_config(where, value):
    path = FOLDER / "c.keras"
    _keras(path, _replace(CONFIG, where, value), WEIGHTS)
    _read("keras", path)


@FUZZ
@given(EDITS, CUT)
def fuzz_keras_weights(edits, cut):
    path = FOLDER / "w.keras"
    _keras(path, CONFIG, _mutate(WEIGHTS, edits, cut))
    _read("keras", path)


@FUZZ
@given(EDITS, CUT)
def fuzz_gir_bytes(edits, cut):
    path = FOLDER / "m.gir"
    path.write_bytes(_mutate(GIR_BYTES, edits, cut))
    _read("gir", path)


@FUZZ
@given(st.sampled_from(GRAPH_PATHS), JSON)
def fuzz_gir_json(where, value):
    path = FOLDER / "j.gir"
    _gir(path, _replace(GRAPH, where, value), TENSORS)
    _read("gir", path)


@FUZZ
@given(EDITS, CUT, st.text(max_size=30), st.integers(-5, 40), st.integers(-5, 40))
def fuzz_onnx(edits, cut, location, offset, length):

    path = FOLDER / "m.onnx"
    info = {"location": location or "data.bin", "offset": offset, "length": length}
    data = _onnx_model(info).SerializeToString()
    path.write_bytes(_mutate(data, edits, cut))
    _read("onnx", path)


def _broken_twin() -> None:
    import graphir.serialization as ser

    def escaping(data, where, limits):
        for node in data.get("nodes") or []:
            if isinstance(node, dict) and not isinstance(node.get("name"), str):
                raise TypeError("node name is not a string")  # what main's loader raised
        ser_check(data, where, limits)

    ser_check = ser._check_json_types
    ser._check_json_types = escaping


if __name__ == "__main__":
    if TWIN:
        _broken_twin()
        fuzz_gir_json()
        sys.exit(0)
    for fuzz in (fuzz_keras_bytes, fuzz_keras_config, fuzz_keras_weights, fuzz_gir_bytes,
                 fuzz_gir_json, fuzz_onnx):
        fuzz()
        print("ok", fuzz.__name__, flush=True)
