"""``save_onnx``: atomic writes, no clobbering on failure, and the external-data layout."""

from __future__ import annotations

import os
import re

import numpy as np
import onnx
import pytest

from graphir.backends.onnx import save as onnx_save
from graphir.backends.onnx import save_onnx, to_onnx
from graphir.errors import OutputPathError


@pytest.fixture
def model(builder):
    b = builder()
    x = b.input("x", ("batch", 32))
    y = b.op("dense", [x, b.weight("k", (32, 16)), b.weight("b", (16,))],
             dict(units=16, activation="relu"))
    return to_onnx(b.build(y))


def _outputs(path_or_model, x):
    import onnxruntime as ort

    src = str(path_or_model) if not isinstance(path_or_model, onnx.ModelProto) else \
        path_or_model.SerializeToString()
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_save_writes_the_model_bytes(tmp_path, model):
    path = save_onnx(model, tmp_path / "m.onnx")
    assert path == tmp_path / "m.onnx"
    assert path.read_bytes() == model.SerializeToString()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_failure_leaves_no_file_and_keeps_the_previous_one(tmp_path, model, monkeypatch):
    def failing_disk(fd):  # the bytes were written; the disk fails to keep them
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_disk)
    with pytest.raises(OSError, match="disk full"):
        save_onnx(model, tmp_path / "new.onnx")
    assert list(tmp_path.iterdir()) == []

    old = tmp_path / "old.onnx"
    old.write_bytes(b"previous model")
    with pytest.raises(OSError, match="disk full"):
        save_onnx(model, old)
    assert old.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["old.onnx"]


def test_success_replaces_an_existing_file(tmp_path, model):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous model")
    save_onnx(model, target)
    assert target.read_bytes() == model.SerializeToString()


def test_missing_folder(tmp_path, model):
    with pytest.raises(OutputPathError, match="does not exist"):
        save_onnx(model, tmp_path / "nope" / "m.onnx")
    with pytest.raises(OutputPathError, match="does not exist"):
        save_onnx(model, tmp_path / "nope" / "m.onnx", external_data=True)


def test_external_data_layout_and_cleanup(tmp_path, model, builder):
    x = np.random.default_rng(0).normal(size=(2, 32)).astype(np.float32)
    want = _outputs(model, x)
    before = model.SerializeToString()
    target = tmp_path / "big.onnx"
    save_onnx(model, target, external_data=True)
    assert model.SerializeToString() == before  # the caller's model is not modified
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0] == "big.onnx"
    assert re.fullmatch(r"big\.onnx\.[0-9a-f]{16}\.data", names[1])
    loaded = onnx.load(str(target), load_external_data=False)
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in loaded.graph.initializer)
    np.testing.assert_array_equal(_outputs(target, x), want)

    # other weights -> a new data file; the old one is removed once the model points away
    b = builder(seed=1)
    xin = b.input("x", ("batch", 32))
    y = b.op("dense", [xin, b.weight("k", (32, 16))], dict(units=16, activation="linear"))
    other = to_onnx(b.build(y))
    save_onnx(other, target, external_data=True)
    names2 = sorted(p.name for p in tmp_path.iterdir())
    assert len(names2) == 2 and names2[1] != names[1]
    np.testing.assert_array_equal(_outputs(target, x), _outputs(other, x))

    # a small save of the same target drops the stale data file
    save_onnx(model, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.onnx"]
    np.testing.assert_array_equal(_outputs(target, x), want)


def test_size_threshold_selects_external_data(tmp_path, model, monkeypatch):
    monkeypatch.setattr(onnx_save, "EXTERNAL_DATA_THRESHOLD", 100)
    save_onnx(model, tmp_path / "m.onnx")
    assert len(list(tmp_path.iterdir())) == 2
