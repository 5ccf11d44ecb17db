"""Model-level properties of ``to_onnx``: checker, boundary names and types, determinism,
layout handling (transpose counts), and typed errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import pytest

from graphir.errors import (BadInputError, EmissionError, GraphInvariantError,
                            UnsupportedOpError)
from graphir.ir import Graph, Node, Value
from graphir.ops import registry
from graphir.tensor_types import TensorType

import graphir
from graphir.backends.onnx import count_ops, to_onnx, to_onnx_bytes
from graphir.backends.onnx import activations as onnx_activations
from graphir.backends.onnx import registry as onnx_registry
from graphir.backends.onnx.context import _reshape_target

IMG = ("batch", 8, 8, 3)


def conv_chain(b, x, filters=4):
    """conv -> bn -> relu -> conv -> add(skip) (a residual unit)."""
    c1 = b.conv(x, filters, name=f"{x}_c1")
    r = b.op("relu", [b.bn(c1)], dict(max_value=None, negative_slope=0.0, threshold=0.0))
    c2 = b.conv(r, filters, name=f"{x}_c2")
    return b.op("add", [c2, c1])


def classifier(b, x, units=3):
    p = b.op("global_avg_pool2d", [x], dict(keepdims=False, data_format="channels_last"))
    return b.op("dense", [p, b.weight("fc/kernel", (b.types[p].shape[-1], units)),
                          b.weight("fc/bias", (units,))], dict(units=units, activation="softmax"),
                name="predictions")


# --------------------------------------------------------------------------- checker, boundary

def test_checker_passes_and_boundary_is_the_irs(builder):
    b = builder()
    a = b.input("model_a/image", IMG)
    t = b.input("tokens", ("batch", None), dtype="int64")
    y = classifier(b, conv_chain(b, a))
    e = b.op("embedding", [t, b.weight("emb", (4, 2))], name="model_b/emb")
    g = b.build([e, y])  # output order differs from node order
    model = to_onnx(g)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["model_a/image", "tokens"]
    assert [o.name for o in model.graph.output] == ["model_b/emb", "predictions"]

    def dims(vi):
        return [(d.WhichOneof("value"), d.dim_param or d.dim_value)
                for d in vi.type.tensor_type.shape.dim]

    assert dims(model.graph.input[0]) == [("dim_param", "batch"), ("dim_value", 8),
                                          ("dim_value", 8), ("dim_value", 3)]
    assert dims(model.graph.input[1]) == [("dim_param", "batch"), (None, 0)]
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert dims(model.graph.output[0]) == [("dim_param", "batch"), (None, 0), ("dim_value", 2)]
    assert dims(model.graph.output[1]) == [("dim_param", "batch"), ("dim_value", 3)]
    assert model.producer_name == "graphir" and model.producer_version == graphir.__version__
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 18)]  # DEFAULT_OPSET
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
    assert {"fc/kernel", "fc/bias", "emb"} <= {t.name for t in model.graph.initializer}
    node_names = [n.name for n in model.graph.node]
    assert len(node_names) == len(set(node_names)) and "predictions" in node_names


def test_graph_output_that_is_a_graph_input(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 3))
    y = b.op("activation", [x], dict(function="tanh"))
    parity(b.build([y, x]))


# --------------------------------------------------------------------------- determinism

def test_two_emissions_are_byte_identical(builder):
    def make():
        b = builder(seed=7)
        return b.build(classifier(b, conv_chain(b, b.input("x", IMG))))

    assert to_onnx(make()).SerializeToString() == to_onnx(make()).SerializeToString()
    g = make()
    assert to_onnx(g).SerializeToString() == to_onnx(g).SerializeToString()


def test_bytes_do_not_depend_on_hash_seed(tmp_path):
    code = (
        "import hashlib, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from ir_examples import small_cnn\n"
        "from graphir.backends.onnx import to_onnx\n"
        "print(hashlib.sha256(to_onnx(small_cnn()).SerializeToString()).hexdigest())\n")
    digests = set()
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={"PYTHONHASHSEED": seed, "PATH": ""},
                             cwd=str(_repo_root()))
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def _repo_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[3]


# --------------------------------------------------------------------------- layouts

def test_residual_chain_has_exactly_one_transpose(builder, parity):
    """conv -> bn -> relu -> conv -> add -> global_pool -> dense: only the input changes layout."""
    b = builder()
    g = b.build(classifier(b, conv_chain(b, b.input("x", IMG))))
    counts = count_ops(parity(g))
    assert counts["Transpose"] == 1
    assert counts["BatchNormalization"] == 1 and "Reshape" not in counts


def test_deep_resnet_like_graph_has_one_transpose(builder, parity):
    b = builder()
    x = b.input("x", ("batch", 16, 16, 3))
    x = b.op("zero_pad2d", [x], dict(padding=((3, 3), (3, 3)), data_format="channels_last"))
    x = b.conv(x, 8, k=7, strides=(2, 2), padding="valid")
    x = b.op("activation", [b.bn(x)], dict(function="relu"))
    x = b.op("max_pool2d", [x], dict(pool_size=(3, 3), strides=(2, 2), padding="same",
                                      data_format="channels_last"))
    for i in range(3):
        y = b.conv(x, 8, k=1, name=f"block{i}_1")
        y = b.op("relu", [b.bn(y)], dict(max_value=6.0, negative_slope=0.0, threshold=0.0))
        k = b.weight(f"block{i}_dw", (3, 3, 8, 1))
        y = b.op("depthwise_conv2d", [y, k], dict(strides=(1, 1), padding="same",
                                                   dilations=(1, 1), activation="linear",
                                                   data_format="channels_last"))
        y = b.conv(b.bn(y), 8, k=1, name=f"block{i}_3")
        x = b.op("activation", [b.op("add", [x, y])], dict(function="relu"))
    x = b.op("concatenate", [x, x], dict(axis=-1))
    x = b.op("avg_pool2d", [x], dict(pool_size=(2, 2), strides=(2, 2), padding="valid",
                                      data_format="channels_last"))
    model = parity(b.build(classifier(b, x)))
    assert count_ops(model)["Transpose"] == 1


def test_keepdims_pool_returns_to_nhwc_with_a_reshape(builder, parity):
    b = builder()
    x = b.conv(b.input("x", IMG), 4)
    p = b.op("global_avg_pool2d", [x], dict(keepdims=True, data_format="channels_last"))
    y = b.op("dense", [b.op("flatten", [p]), b.weight("fc", (4, 2))],
             dict(units=2, activation="linear"))
    counts = count_ops(parity(b.build([y, p])))
    assert counts["Transpose"] == 1 and counts["Reshape"] == 1


def test_squeeze_excite_block_stays_nchw(builder, parity):
    b = builder()
    x = b.conv(b.input("x", IMG), 4)
    s = b.op("global_avg_pool2d", [x], dict(keepdims=True, data_format="channels_last"))
    s = b.conv(b.conv(s, 2, k=1, activation="relu"), 4, k=1, activation="sigmoid")
    y = b.op("multiply", [x, s])
    model = parity(b.build(classifier(b, y)))
    assert count_ops(model)["Transpose"] == 1


def test_rank4_output_after_conv_costs_one_transpose_back(builder, parity):
    b = builder()
    y = b.op("activation", [b.bn(b.conv(b.input("x", IMG), 4))], dict(function="relu"))
    model = parity(b.build(y))
    assert count_ops(model)["Transpose"] == 2
    assert model.graph.output[0].name == y


def test_permute_to_channels_first_is_free(builder, parity):
    b = builder()
    y = b.op("permute", [b.conv(b.input("x", IMG), 4)], dict(dims=(3, 1, 2)))
    counts = count_ops(parity(b.build(y)))
    assert counts["Transpose"] == 1 and counts["Identity"] == 1


def test_nhwc_consumers_share_one_materialized_form(builder, parity):
    b = builder()
    c = b.conv(b.input("x", IMG), 4)
    outs = [b.op("flatten", [c]), b.op("reshape", [c], dict(target_shape=(-1, 4))),
            b.op("dense", [c, b.weight("d", (4, 2))], dict(units=2, activation="linear"))]
    assert count_ops(parity(b.build(outs)))["Transpose"] == 2  # input, and c back to NHWC once


@pytest.mark.parametrize("next_op", ["dense", "conv2d"])
def test_ties_follow_what_the_consumers_want(builder, parity, next_op):
    """conv feeds flatten (NHWC) and relu; relu then feeds dense (wants NHWC) or a conv
    (wants NCHW).  Both forms of the conv output exist, so relu picks its consumers' one."""
    b = builder()
    c = b.conv(b.input("x", IMG), 4)
    f = b.op("flatten", [c])
    r = b.op("relu", [c], dict(max_value=None, negative_slope=0.0, threshold=0.0))
    if next_op == "dense":
        y = b.op("dense", [r, b.weight("d", (4, 2))], dict(units=2, activation="linear"))
    else:
        y = b.op("global_avg_pool2d", [b.conv(r, 4)], dict(keepdims=False,
                                                             data_format="channels_last"))
    assert count_ops(parity(b.build([f, y])))["Transpose"] == 2


@pytest.mark.parametrize("shape,src,dst,want", [
    ((None, 1, 1, 5), (0, 3, 1, 2), (0, 1, 2, 3), [0, 1, 1, 5]),
    ((None, 1, 1, None), (0, 3, 1, 2), (0, 1, 2, 3), [0, 1, 1, -1]),
    (("batch", 1, 4, 5), (0, 1, 2, 3), (0, 3, 1, 2), None),
    (("batch", 2, 1, 5), (0, 1, 2, 3), (0, 3, 1, 2), None),
    (("batch", 1, 1, 0), (0, 1, 2, 3), (0, 3, 1, 2), None),
    ((None, 1, None, None), (0, 1, 2, 3), (0, 3, 1, 2), None),
])
def test_reshape_target_for_size1_transposes(shape, src, dst, want):
    assert _reshape_target(shape, src, dst) == want


# --------------------------------------------------------------------------- errors

def test_op_without_emitter_is_unsupported(builder, monkeypatch):
    fake = registry.OpSchema("fake_op", ("x",), {}, lambda types, attrs: (types[0],))
    monkeypatch.setitem(registry._REGISTRY, "fake_op", fake)
    b = builder()
    y = b.op("fake_op", [b.input("x", ("batch", 2))], name="my_fake")
    with pytest.raises(UnsupportedOpError, match="fake_op") as err:
        to_onnx(b.build(y))
    assert "my_fake" in str(err.value)


def test_activation_without_emitter_is_unsupported(builder, monkeypatch):
    monkeypatch.delitem(onnx_activations.ACTIVATION_EMITTERS, "gelu")
    b = builder()
    y = b.op("dense", [b.input("x", ("batch", 2)), b.weight("k", (2, 2))],
             dict(units=2, activation="gelu"), name="fc")
    with pytest.raises(UnsupportedOpError, match="gelu") as err:
        to_onnx(b.build(y))
    assert "'fc'" in str(err.value) and "dense" in str(err.value)


def test_zero_sized_reshape_is_unsupported(builder):
    b = builder()
    y = b.op("reshape", [b.input("x", ("batch", 0))], dict(target_shape=(0, 3)))
    with pytest.raises(UnsupportedOpError, match="reshape"):
        to_onnx(b.build(y))


@pytest.mark.parametrize("opset", [17, 99, "20"])
def test_bad_opset_is_bad_input(builder, opset):
    b = builder()
    g = b.build(b.op("identity", [b.input("x", ("batch", 2))]))
    with pytest.raises(BadInputError, match="opset"):
        to_onnx(g, opset=opset)


def test_checker_failure_is_an_emission_error(builder, monkeypatch):
    def broken(ctx, node):
        ctx.add("NoSuchOnnxOp", [ctx.get(node.inputs[0])], ctx.define(node.output.name, "nhwc"))

    monkeypatch.setitem(onnx_registry._EMITTERS, "identity", broken)
    b = builder()
    g = b.build(b.op("identity", [b.input("x", ("batch", 2))]))
    with pytest.raises(EmissionError, match="NoSuchOnnxOp"):
        to_onnx(g)
    assert to_onnx(g, check=False).graph.node[0].op_type == "NoSuchOnnxOp"


def test_invalid_graph_is_rejected_first():
    t = TensorType("float32", ("batch", 2))
    g = Graph("g", [Value("x", t)], ["y"], [Node("add", "y", ["x", "nope"], [Value("y", t)])])
    with pytest.raises(GraphInvariantError):
        to_onnx(g)


def test_emission_does_not_depend_on_the_external_data_threshold(builder, monkeypatch):
    """The threshold only decides how ``save_onnx`` writes a model: emission (and its
    checker, which runs on a weight-stripped stub) gives the same bytes either way, with
    the weights inline."""
    from graphir.backends.onnx import save as onnx_save

    b = builder()
    g = b.build(b.op("dense", [b.input("x", ("batch", 64)), b.weight("k", (64, 64))],
                     dict(units=64, activation="linear")))
    default = to_onnx_bytes(g)
    monkeypatch.setattr(onnx_save, "EXTERNAL_DATA_THRESHOLD", 0)
    model = to_onnx(g)
    assert onnx_save.is_large(model)
    (init,) = model.graph.initializer
    assert init.HasField("raw_data") and not init.external_data
    np.testing.assert_array_equal(onnx.numpy_helper.to_array(init), g.weights["k"])
    assert to_onnx_bytes(g) == default == model.SerializeToString()


def test_backend_and_these_tests_do_not_import_tensorflow():
    """Checked in a fresh interpreter (other test folders of the session import TF)."""
    folder = _repo_root() / "tests" / "backends" / "onnx"
    code = (
        "import importlib.util, pathlib, sys\n"
        "import graphir.backends.onnx\n"
        f"for path in sorted(pathlib.Path({str(folder)!r}).glob('*.py')):\n"
        "    spec = importlib.util.spec_from_file_location('m_' + path.stem, path)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "bad = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
