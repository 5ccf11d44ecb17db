"""The primitive ops ``divide`` and ``cast`` end to end (specs/ops-primitive.md): ``x / y``,
``x / c``, ``c / x`` and ``keras.ops.cast`` in a functional model lower to ``divide`` /
``cast`` (a power-of-two divisor stays a fused ``rescale``); the emitted ONNX in
onnxruntime and the emitted Keras model, saved and reloaded with ``safe_mode=True`` in
a fresh process, match the Keras model, checked outside graphir; refusals name the
operation (lowering) or the node (emission)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError, UnsupportedOpError  # noqa: E402
from graphir.ir import Graph, Node, Value  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402


@pytest.fixture(scope="module")
def model():
    """Dense, then every division form and two casts (float -> int32 -> float)."""
    keras.utils.set_random_seed(3)
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    h = keras.layers.Dense(5, name="dense")(a)
    q = h / b                                     # tensor / tensor
    r = q / 3.0                                   # tensor / constant
    s = 3.0 / (r * r + 1.0)                       # constant / tensor
    t = keras.ops.cast(s * 10.0, "int32")         # truncation toward zero
    u = keras.ops.cast(t, "float32") / 4.0        # power of two: rescale
    return keras.Model([a, b], [s, t, u], name="arith")


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(5)
    return [rng.normal(size=(3, 5)).astype(np.float32),
            rng.uniform(0.5, 2.0, size=(3, 5)).astype(np.float32)]


@pytest.fixture(scope="module")
def expected(model, inputs):
    return model.predict(inputs, verbose=0)


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model)


def test_lowering_uses_the_primitive_ops(graph):
    ops = [n.op for n in graph.nodes]
    assert ops.count("divide") == 3 and ops.count("cast") == 2
    assert ops.count("rescale") == 3          # + 1, * 10, / 4 (exact reciprocal)
    const_first = next(n for n in graph.nodes if n.op == "divide"
                       and n.inputs[0] in graph.weights)
    assert graph.weights[const_first.inputs[0]].shape == ()
    assert float(graph.weights[const_first.inputs[0]]) == 3.0
    assert [n.attrs["to"] for n in graph.nodes if n.op == "cast"] == ["int32", "float32"]


def test_onnx_matches_keras(graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"a": inputs[0], "b": inputs[1]})
    assert [g.dtype for g in got] == [np.float32, np.int32, np.float32]
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-6, atol=1e-7)
    # the casts are not vacuous: the int output has distinct, non-zero values
    assert len(np.unique(expected[1])) > 3


def test_emitted_keras_reloads_without_graphir_and_matches(graph, inputs, expected,
                                                             tmp_path_factory):
    emitted = to_keras(graph)
    path = tmp_path_factory.mktemp("arith") / "arith.keras"
    save_keras(emitted, path)
    np.save(path.with_suffix(".a.npy"), inputs[0])
    np.save(path.with_suffix(".b.npy"), inputs[1])
    code = (
        "import sys, numpy as np, keras\n"
        "m = keras.saving.load_model(sys.argv[1], safe_mode=True)\n"
        "x = [np.load(sys.argv[2]), np.load(sys.argv[3])]\n"
        "out = m.predict(x, verbose=0)\n"
        "np.savez(sys.argv[4], *out)\n"
        "print(any(k.startswith('graphir') for k in sys.modules))\n")
    out_path = path.with_suffix(".out.npz")
    run = subprocess.run([sys.executable, "-c", code, str(path), str(path.with_suffix(".a.npy")),
                          str(path.with_suffix(".b.npy")), str(out_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "False"
    got = np.load(out_path)
    np.testing.assert_allclose(got["arr_0"], expected[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got["arr_1"], expected[1])
    np.testing.assert_allclose(got["arr_2"], expected[2], rtol=1e-6, atol=1e-7)


def test_integer_division_is_refused_by_name():
    x = keras.Input((3,), dtype="int32", name="i")
    x2 = keras.Input((3,), dtype="int32", name="j")
    m = keras.Model([x, x2], keras.ops.divide(x, x2), name="int_div")
    with pytest.raises(UnsupportedLayerError) as info:
        from_keras(m)
    assert "divide" in str(info.value).lower()


def test_cast_to_a_dtype_outside_the_ir_is_refused():
    x = keras.Input((3,), name="x")
    m = keras.Model(x, keras.ops.cast(x, "bfloat16"), name="bf16")
    with pytest.raises(UnsupportedLayerError, match="bfloat16"):
        from_keras(m)


def _divide_graph(weight_shape, op="divide"):
    x = Value("x", TensorType("float32", ("batch",) + weight_shape))
    y = Value("y", TensorType("float32", ("batch",) + weight_shape))
    w = np.full(weight_shape, 2.5, np.float32)
    return Graph("g", (x,), ("y",), (Node(op, "y", ("x", "w"), (y,)),), {"w": w})


def test_a_large_constant_operand_is_refused_at_keras_emission():
    to_keras(_divide_graph((8,)))  # small: inlined as a constant
    with pytest.raises(UnsupportedOpError, match="2000 elements"):
        to_keras(_divide_graph((2000,)))


def test_a_weight_in_a_layer_ops_data_position_is_refused_at_keras_emission():
    with pytest.raises(UnsupportedOpError, match="is a weight"):
        to_keras(_divide_graph((4,), op="add"))
