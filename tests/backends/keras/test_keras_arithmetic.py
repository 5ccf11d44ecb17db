"""The primitive arithmetic ops end to end (specs/ops-primitive.md): ``x / y``, ``x / c``,
``c / x`` and ``keras.ops.cast`` in a functional model lower to ``divide`` / ``cast`` (a
power-of-two divisor stays a fused ``rescale``); the elementwise keras.ops math
(``-x``, ``abs``, ``sqrt``, ``x // y``, ``x % y``, ``x ** y``, ``clip``, ``maximum``, the
activation operations...) lowers to its primitive ops or onto the layer-level
activation ops, with Keras' dtype promotions as explicit casts; the emitted ONNX in
onnxruntime and the emitted Keras model, saved and reloaded with ``safe_mode=True`` in
a fresh process, match the Keras model, checked outside graphir; refusals name the
operation and the reason (lowering) or the node (emission)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from application_checks import assert_named_outputs  # noqa: E402
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


def test_emitted_keras_reloads_without_graphir_and_matches(graph, inputs, expected, math_model,
                                                             math_graph, math_inputs,
                                                             math_expected, tmp_path_factory):
    """Both emitted models (division/cast and the elementwise math) saved, reloaded with
    ``safe_mode=True`` in one fresh process that never imports graphir, and run there."""
    folder = tmp_path_factory.mktemp("arith")
    runs = []
    for tag, g, xs in (("arith", graph, inputs), ("math", math_graph, math_inputs)):
        path = folder / f"{tag}.keras"
        save_keras(to_keras(g), path)
        np.savez(folder / f"{tag}.in.npz", *xs)
        runs += [str(path), str(folder / f"{tag}.in.npz"), str(folder / f"{tag}.out.npz")]
    code = (
        "import sys, numpy as np, keras\n"
        "for model, xs, out in zip(*[iter(sys.argv[1:])] * 3):\n"
        "    m = keras.saving.load_model(model, safe_mode=True)\n"
        "    x = np.load(xs)\n"
        "    y = m.predict([x[f'arr_{k}'] for k in range(len(x.files))], verbose=0)\n"
        "    np.savez(out, *y)\n"
        "print(any(k.startswith('graphir') for k in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code, *runs],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "False"
    got = np.load(folder / "arith.out.npz")
    np.testing.assert_allclose(got["arr_0"], expected[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got["arr_1"], expected[1])
    np.testing.assert_allclose(got["arr_2"], expected[2], rtol=1e-6, atol=1e-7)
    got = np.load(folder / "math.out.npz")
    _compare(math_model[1], [got[f"arr_{k}"] for k in range(len(got.files))], math_expected)


def test_constant_operands_that_are_no_scalar_of_the_tensor_dtype_become_weights(math_graph):
    """``i + 1`` (int32), ``a + array``, ``a * np.float64(0.1)`` (Keras computes in
    float64) and ``i / j`` (float32) lower to the tensor ops in Keras' result dtype, the
    constants as weights of that dtype (the values are checked by the comparisons)."""
    by_name = {n.name: n for n in math_graph.nodes}
    weights = {n: math_graph.weights[i] for n in by_name for i in by_name[n].inputs
               if i in math_graph.weights}
    add_int = [n for n in math_graph.nodes if n.op == "add"
               and any(str(math_graph.weights.get(i, np.zeros(0)).dtype) == "int32"
                       for i in n.inputs)]
    assert add_int, "i + 1 did not lower to add with an int32 constant"
    arrays = [w for w in weights.values() if w.shape == (6,) and w.dtype == np.float32]
    assert len(arrays) == 2
    # minimum(i, bool array): the bools as int32 0 / 1, Keras' result dtype
    assert any(w.dtype == np.int32 and w.tolist() == [1, 0] * 3 for w in weights.values())
    assert any(w.dtype == np.float64 and w.shape == () for w in weights.values())
    casts = [n.attrs["to"] for n in math_graph.nodes if n.op == "cast"]
    assert "float64" in casts


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


def test_a_large_constant_operand_lives_in_the_weights_file(tmp_path):
    """Up to MAX_CONSTANT_ELEMENTS a constant operand is inlined in config.json; a larger
    float one is held by an Embedding layer (the weights file), exactly; a large integer
    one is refused."""
    import json
    import zipfile

    from graphir.backends.keras.emit import MAX_CONSTANT_ELEMENTS

    x = np.linspace(-2, 2, 2 * 2000, dtype=np.float32).reshape(2, 2000)
    sizes = {}
    for n in (8, 2000):
        model = to_keras(_divide_graph((n,)))
        np.testing.assert_array_equal(model.predict(x[:, :n], verbose=0), x[:, :n] / 2.5)
        save_keras(model, tmp_path / f"c{n}.keras")
        with zipfile.ZipFile(tmp_path / f"c{n}.keras") as z:
            config = z.read("config.json")
        sizes[n] = len(config)
        assert ("Embedding" in json.dumps(json.loads(config))) == (n > MAX_CONSTANT_ELEMENTS)
    assert sizes[2000] < 8000  # 2000 floats inline would take > 20 kB
    big_int = Graph("g", (Value("x", TensorType("int32", ("batch", 2000))),), ("y",),
                    (Node("add", "y", ("x", "w"), (Value("y", TensorType(
                        "int32", ("batch", 2000))),)),), {"w": np.ones(2000, np.int32)})
    with pytest.raises(UnsupportedOpError, match="2000 elements"):
        to_keras(big_int)


def test_a_weight_operand_of_add_is_emitted_as_the_keras_ops_operation():
    # x + w (a custom layer's `x + self.b`): keras.ops.add with a constant tensor
    emitted = to_keras(_divide_graph((4,), op="add"))
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(emitted.predict(x, verbose=0), x + 2.5)
    # an average has no two-operand keras.ops form: refused, not approximated
    with pytest.raises(UnsupportedOpError, match="constant operand"):
        to_keras(_divide_graph((4,), op="average"))


# ================================================================== elementwise math

def _math_outputs(a, b, d, i, j):
    """Every elementwise keras.ops call of the group, on float inputs ``a`` (any sign),
    ``b`` (positive), ``d`` (divisors of both signs) and int32 inputs ``i``, ``j``
    (``j`` never zero)."""
    ops = keras.ops
    return {
        "negative": -a, "reciprocal": ops.reciprocal(d), "abs": abs(a), "sign": ops.sign(a),
        "square": ops.square(a), "sqrt": ops.sqrt(b), "rsqrt": ops.rsqrt(b), "exp": ops.exp(a),
        "log": ops.log(b), "log1p": ops.log1p(b), "erf": ops.erf(a), "sin": ops.sin(a),
        "cos": ops.cos(a), "floor": ops.floor(a * 3.0), "ceil": ops.ceil(a * 3.0),
        "round": ops.round(a * 3.0),
        "tan": ops.tan(a * 0.5), "arcsin": ops.arcsin(ops.tanh(a)),
        "arccos": ops.arccos(ops.tanh(a)), "arctan": ops.arctan(a), "sinh": ops.sinh(a),
        "cosh": ops.cosh(a), "arcsinh": ops.arcsinh(a), "arccosh": ops.arccosh(b + 1.0),
        "arctanh": ops.arctanh(ops.tanh(a) * 0.9), "i_arctan": ops.arctan(i),
        "floordiv": a // d, "floordiv_c": a // 0.75, "mod": (a * 4.0) % d, "mod_c": a % -0.75,
        "pow": b ** a, "pow_c": a ** 2.0, "rpow": 2.0 ** a,
        "clip": ops.clip(a, -0.5, 0.7), "max": ops.maximum(a, d), "min_c": ops.minimum(a, 0.1),
        "max_c": ops.maximum(-0.2, a),
        "i_floordiv": i // j, "i_floordiv_c": i // -3, "i_mod": i % j, "i_mod_c": i % 3,
        "i_negative": -i, "i_abs": abs(i), "i_sign": ops.sign(i), "i_square": ops.square(i),
        "i_pow_c": i ** 2, "i_clip": ops.clip(i, -2, 3), "i_max": ops.maximum(i, j),
        "i_min_c": ops.minimum(i, 2), "i_round": ops.round(i),
        # Keras promotes: int32 with a float, sqrt/exp/tanh of an int -> float32
        "i_sqrt": ops.sqrt(ops.abs(i)), "i_exp": ops.exp(i), "i_tanh": ops.tanh(i),
        "i_floordiv_f": i // 2.5, "i_max_f": ops.maximum(i, 0.5),
        # constants that are no scalar of the tensor's dtype: a weight of the result dtype
        "i_add_c": i + 1, "i_sub_c": 5 - i, "i_mul_f": i * 1.5, "i_div": i / j,
        "arr_add": a + np.linspace(-1, 1, 6, dtype=np.float32),
        "arr_rsub": ops.subtract(np.arange(6, dtype=np.float32), a), "f64_mul": a * np.float64(0.1),
        "add_bool": a + True, "i_min_bools": ops.minimum(i, np.array([True, False] * 3)),
        # activations of keras.ops onto the existing activation ops
        "relu": ops.relu(a), "relu6": ops.relu6(a * 10.0), "sigmoid": ops.sigmoid(a),
        "tanh": ops.tanh(a), "softplus": ops.softplus(a), "softsign": ops.softsign(a),
        "silu": ops.silu(a), "gelu": ops.gelu(a, approximate=False),
        "hard_sigmoid": ops.hard_sigmoid(a * 4.0), "hard_silu": ops.hard_silu(a * 4.0),
        "selu": ops.selu(a), "log_sigmoid": ops.log_sigmoid(a),
        "hard_tanh": ops.hard_tanh(a * 3.0), "tanh_shrink": ops.tanh_shrink(a),
        "celu": ops.celu(a), "elu": ops.elu(a, alpha=0.5),
        "leaky_relu": ops.leaky_relu(a, negative_slope=0.1),
        "softmax": ops.softmax(a), "softmax_0": ops.softmax(ops.expand_dims(a, -1), axis=1),
        "log_softmax": ops.log_softmax(a, axis=-1),
    }


@pytest.fixture(scope="module")
def math_model():
    keras.utils.set_random_seed(7)
    a = keras.Input((6,), name="a")
    b = keras.Input((6,), name="b")
    d = keras.Input((6,), name="d")
    i = keras.Input((6,), dtype="int32", name="i")
    j = keras.Input((6,), dtype="int32", name="j")
    outs = _math_outputs(a, b, d, i, j)
    model = keras.Model([a, b, d, i, j], list(outs.values()), name="math")
    return model, list(outs)


@pytest.fixture(scope="module")
def math_inputs():
    rng = np.random.default_rng(11)
    signs = np.where(rng.random((4, 6)) < 0.5, -1.0, 1.0)
    return [(rng.normal(size=(4, 6)) * 2).astype(np.float32),
            rng.uniform(0.1, 3.0, size=(4, 6)).astype(np.float32),
            (rng.uniform(0.3, 2.0, size=(4, 6)) * signs).astype(np.float32),
            rng.integers(-9, 10, size=(4, 6)).astype(np.int32),
            rng.choice([-4, -3, -2, -1, 1, 2, 3, 5], size=(4, 6)).astype(np.int32)]


@pytest.fixture(scope="module")
def math_expected(math_model, math_inputs):
    return math_model[0].predict(math_inputs, verbose=0)


@pytest.fixture(scope="module")
def math_graph(math_model):
    return from_keras(math_model[0])


_compare = assert_named_outputs


def test_math_lowering_uses_the_primitive_ops(math_graph):
    ops = [n.op for n in math_graph.nodes]
    for op in ("negative", "reciprocal", "abs", "sign", "square", "sqrt", "rsqrt", "exp",
               "log", "log1p", "erf", "sin", "cos", "floor", "ceil", "round", "floor_divide",
               "mod", "power", "clip", "maximum", "activation", "softmax", "elu", "leaky_relu",
               "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh",
               "arctanh"):
        assert op in ops, op
    # Keras' promotions became explicit casts: sqrt, exp, tanh, arctan of int32, i // 2.5,
    # maximum(i, 0.5), i * 1.5, i / j (both operands), and a * np.float64(0.1)
    casts = [n for n in math_graph.nodes if n.op == "cast"]
    assert len(casts) == 10 and sorted(n.attrs["to"] for n in casts) == ["float32"] * 9 + [
        "float64"]
    one_bound = [n.attrs for n in math_graph.nodes if n.op == "clip"
                 and None in (n.attrs["min"], n.attrs["max"])]
    assert {"min": None, "max": np.float32(0.1).item()} in one_bound
    assert {"min": -0.2, "max": None} not in one_bound           # rounded to float32
    assert {"min": np.float32(-0.2).item(), "max": None} in one_bound
    funcs = {n.attrs["function"] for n in math_graph.nodes if n.op == "activation"}
    assert {"relu", "gelu", "hard_sigmoid", "log_softmax", "tanh", "celu"} <= funcs
    softmax_axes = sorted(n.attrs["axis"] for n in math_graph.nodes if n.op == "softmax")
    assert softmax_axes == [1, 1]                                  # normalized, not -1


def test_math_onnx_matches_keras(math_model, math_graph, math_inputs, math_expected):
    session = ort.InferenceSession(to_onnx(math_graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, dict(zip("abdij", math_inputs)))
    names = math_model[1]
    _compare(names, got, math_expected)
    by_name = dict(zip(names, math_expected))
    # the integer ops are not vacuous: several values, both signs of remainders
    for name in ("i_floordiv", "i_mod", "i_floordiv_c", "i_clip", "i_pow_c"):
        assert len(np.unique(by_name[name])) > 3, name
    assert (by_name["i_mod"] < 0).any() and (by_name["i_mod"] > 0).any()
    assert (by_name["mod"] < 0).any() and (by_name["mod"] > 0).any()
    assert (by_name["mod_c"] <= 0).all() and (by_name["mod_c"] < 0).any()   # divisor's sign


def test_math_emitted_keras_matches(math_model, math_graph, math_inputs, math_expected):
    emitted = to_keras(math_graph)
    got = emitted.predict(math_inputs, verbose=0)
    _compare(math_model[1], got, math_expected)


@pytest.mark.parametrize("build,match", [
    (lambda x: keras.ops.round(x, 1), "decimals=1"),
    (lambda x: keras.ops.log_softmax(keras.ops.expand_dims(x, -1), axis=1), "last axis"),
    (lambda x: keras.ops.softmax(x, axis=None), "axis=None"),
    (lambda x: keras.ops.celu(x, alpha=0.5), "alpha"),
])
def test_float_refusals_name_the_reason(build, match):
    x = keras.Input((3,), name="x")
    with pytest.raises(UnsupportedLayerError, match=match):
        from_keras(keras.Model(x, build(x)))


@pytest.mark.parametrize("dtype,build,match", [
    ("int32", lambda x: keras.ops.rsqrt(x), "rsqrt of int32"),
    ("int32", lambda x: keras.ops.relu(x), "activation of int32"),
    ("int32", lambda x: keras.ops.clip(x, 0.5, 3), "fractional bound"),
    ("uint8", lambda x: -x, "negative of uint8"),
    ("int8", lambda x: x ** 2, "power of int8"),
    ("float16", lambda x: x % 2.0, "computes in float32"),
])
def test_dtype_refusals_name_the_op_and_dtype(dtype, build, match):
    x = keras.Input((3,), dtype=dtype, name="x")
    with pytest.raises(UnsupportedLayerError, match=match):
        from_keras(keras.Model(x, build(x)))


def test_edge_values_are_bit_exact_in_both_emitters():
    """Signed zeros, infinities, NaN, a remainder that rounds up to the divisor, a
    ``log1p`` argument below float32's epsilon: the emitted ONNX and Keras models give
    exactly TensorFlow's bits (``mod`` and ``floor_divide`` use the same float
    operations, ``clip``/``maximum`` keep ``inf`` and NaN)."""
    a = keras.Input((12,), name="a")
    d = keras.Input((12,), name="d")
    b = keras.Input((3,), dtype="bool", name="b")
    ops = keras.ops
    outs = [a % d, a // d, ops.log1p(a), ops.maximum(a, 0.0), ops.minimum(a, 1.0),
            ops.clip(a, -1.0, 1.0), ops.sign(a), ops.round(a), ops.square(b)]
    model = keras.Model([a, d, b], outs, name="edges")
    x = np.array([[-1e-8, 7, -7, 3, -3, -0.0, np.inf, -np.inf, np.nan, 5.5, -2.5, 1e-10]],
                 np.float32)
    y = np.array([[1.0, 2, 2, np.inf, np.inf, 2, 3, 3, 2, 0.0, -1.5, -1]], np.float32)
    flags = np.array([[True, False, True]])
    want = model.predict([x, y, flags], verbose=0)
    assert want[0][0, 0] == 1.0 and np.signbit(want[0][0, 5]) and want[0][0, 4] == np.inf
    assert want[2][0, 11] == np.float32(1e-10) and want[3][0, 6] == np.inf
    assert want[8].dtype == np.int32 and list(want[8][0]) == [1, 0, 1]
    graph = from_keras(model)
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for got in (session.run(None, {"a": x, "d": y, "b": flags}),
                to_keras(graph).predict([x, y, flags], verbose=0)):
        for w, g in zip(want, got):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)          # NaN == NaN here
            real = ~np.isnan(w) if w.dtype.kind == "f" else np.ones(w.shape, bool)
            np.testing.assert_array_equal(np.signbit(g)[real], np.signbit(w)[real])  # -0.0


def test_a_constant_operand_keeps_its_dtype_through_save_and_load(tmp_path):
    # where(x < 0.5, 3, -1) with int8 constants: a reloaded model whose constants came
    # back as Python numbers would compute (and return) int32
    x = Value("x", TensorType("float32", ("batch", 3)))
    cond = Value("cond", TensorType("bool", ("batch", 3)))
    y = Value("y", TensorType("int8", ("batch", 3)))
    graph = Graph("g", (x,), ("y",),
                  (Node("less", "cond", ("x", "half"), (cond,)),
                   Node("where", "y", ("cond", "three", "minus_one"), (y,))),
                  {"half": np.asarray(0.5, np.float32), "three": np.asarray(3, np.int8),
                   "minus_one": np.asarray(-1, np.int8)})
    path = tmp_path / "const.keras"
    save_keras(to_keras(graph), path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    got = reloaded.predict(np.array([[0.1, 0.7, 0.2]], np.float32), verbose=0)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, [[3, -1, 3]])


def test_a_merge_of_different_batch_sizes_is_emitted_as_the_keras_ops_operation():
    """Keras' merge layers refuse different batch sizes ("Cannot merge tensors with
    different batch sizes"); the IR's add broadcasts a batch of 1 like NumPy, so the
    emitter uses keras.ops.add there (an ONNX model imported with static batches)."""
    x = Value("x", TensorType("float32", (3, 4)))
    y = Value("y", TensorType("float32", (1, 4)))
    z = Value("z", TensorType("float32", (3, 4)))
    graph = Graph("g", (x, y), ("z",), (Node("add", "z", ("x", "y"), (z,)),), {})
    emitted = to_keras(graph)
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([[10.0, 20.0, 30.0, 40.0]], np.float32)
    np.testing.assert_array_equal(emitted([a, b]), a + b)
    assert not any(isinstance(layer, keras.layers.Add) for layer in emitted.layers)
