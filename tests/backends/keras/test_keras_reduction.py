"""keras.ops reductions and linear algebra end to end (specs/ops-reduction.md): a
functional model of ``keras.ops.sum/mean/max/min/prod/var/std/argmax/argmin/matmul/
einsum`` on symbolic tensors with a symbolic batch lowers to the primitive ops (Keras'
promotions as explicit casts); the emitted ONNX in onnxruntime and the emitted Keras
model (in process, and saved then reloaded with ``safe_mode=True`` in a fresh process)
match the Keras model, checked outside graphir; refusals name the operation."""

from __future__ import annotations


import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
ort = pytest.importorskip("onnxruntime")

from application_checks import predict_in_fresh_process  # noqa: E402
from graphir.backends.keras import from_keras, save_keras, to_keras  # noqa: E402
from graphir.backends.onnx import to_onnx  # noqa: E402
from graphir.errors import UnsupportedLayerError  # noqa: E402
from graphir.ir import Graph, Node, Value  # noqa: E402
from graphir.tensor_types import TensorType  # noqa: E402

ops = keras.ops
INT_OUTPUTS = {"sum_int", "sum_bool", "argmax", "argmin", "argmax_ties", "imatmul"}


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(11)
    x = keras.Input((4, 5), name="x")
    y = keras.Input((5, 3), name="y")
    q = keras.Input((2, 3, 4), name="q")
    k = keras.Input((2, 6, 4), name="k")
    t = keras.Input((6,), name="t")
    i = keras.Input((3, 4), dtype="int32", name="i")
    j = keras.Input((4, 2), dtype="int32", name="j")
    m = keras.Input((5,), dtype="bool", name="m")
    h = keras.layers.Dense(5, name="dense")(x)
    w = np.linspace(-1.0, 1.0, 15, dtype=np.float32).reshape(5, 3)
    outputs = {
        "sum": ops.sum(h, axis=1),
        "mean": ops.mean(h, axis=(1, 2), keepdims=True),
        "max": ops.max(h, axis=-1),
        "min": ops.min(h, axis=1, keepdims=True),
        "prod": ops.prod(h, axis=(1, 2)),
        "var": ops.var(h, axis=1, keepdims=True),
        "std": ops.std(h, axis=(-2, -1)),
        "sum_all": ops.sum(h),
        "sum_int": ops.sum(i, axis=(1, 2)),
        "sum_bool": ops.sum(m, axis=1),            # TensorFlow: cast to int32, then sum
        "mean_int": ops.mean(i, axis=1),           # computed in float32
        "argmax": ops.argmax(h, axis=1),
        "argmin": ops.argmin(h, axis=-1, keepdims=True),
        "argmax_ties": ops.argmax(t, axis=1),
        "matmul": ops.matmul(h, y),                # two computed tensors
        "matmul_w": h @ w,                          # a tensor and a small weight
        "imatmul": ops.matmul(i, j),               # Keras: through float32
        "einsum": ops.einsum("bij,bjk->bik", h, y),
        "scores": ops.einsum("bhqd,bhkd->bhqk", q, k),
    }
    return keras.Model([x, y, q, k, t, i, j, m], list(outputs.values()), name="reductions"), \
        list(outputs)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(7)
    n = 3
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 0.0, 3.0],
                     [-0.0, 0.0, -1.0, -2.0, -0.0, -3.0],
                     [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]], np.float32)
    return {"x": rng.normal(size=(n, 4, 5)).astype(np.float32),
            "y": rng.normal(size=(n, 5, 3)).astype(np.float32),
            "q": rng.normal(size=(n, 2, 3, 4)).astype(np.float32),
            "k": rng.normal(size=(n, 2, 6, 4)).astype(np.float32),
            "t": ties,
            "i": rng.integers(-5, 6, size=(n, 3, 4)).astype(np.int32),
            "j": rng.integers(-5, 6, size=(n, 4, 2)).astype(np.int32),
            "m": rng.integers(0, 2, size=(n, 5)).astype(bool)}


@pytest.fixture(scope="module")
def expected(model, inputs):
    m, names = model
    return dict(zip(names, m.predict(inputs, verbose=0)))


@pytest.fixture(scope="module")
def graph(model):
    return from_keras(model[0])


def _compare(got: dict, expected: dict):
    for name, want in expected.items():
        g = got[name]
        assert g.shape == want.shape, name
        assert g.dtype == want.dtype, (name, g.dtype, want.dtype)
        if name in INT_OUTPUTS:
            np.testing.assert_array_equal(g, want, err_msg=name)
        else:
            np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_the_int_outputs_are_not_vacuous(expected):
    assert len(np.unique(expected["argmax"])) > 1 and len(np.unique(expected["imatmul"])) > 5
    assert len(np.unique(expected["sum_bool"])) > 1
    # Keras' argmax: first index on ties, and -0.0 ranks below +0.0 (row 1: index 1)
    assert expected["argmax_ties"].tolist() == [1, 1, 0]


def test_lowering_uses_the_primitive_ops(model, graph):
    # the node computing each named output (Keras' own op names depend on how many
    # models the process built before, so they are not used here)
    producers = graph.producers()
    by_name = {key: producers[out][0] for key, out in zip(model[1], graph.outputs)}
    assert by_name["sum"].op == "sum" and by_name["sum_all"].op == "sum"
    assert by_name["sum"].attrs["axes"] == (1,) and by_name["sum"].attrs["keepdims"] is False
    assert by_name["mean"].attrs["axes"] == (1, 2) and by_name["mean"].attrs["keepdims"] is True
    assert by_name["max"].attrs["axes"] == (2,)           # axis=-1 normalized
    assert by_name["std"].attrs["axes"] == (1, 2)
    assert by_name["sum_all"].attrs["axes"] == (0, 1, 2)  # axis=None: every axis written out
    assert by_name["argmax"].attrs["negative_zero_as"] < 0
    ops_ = [n.op for n in graph.nodes]
    assert ops_.count("einsum") == 2 and ops_.count("matmul") == 3
    # promotions made explicit: bool sum, int mean, int matmul (2 in, 1 out)
    assert ops_.count("cast") == 5
    weight = next(n for n in graph.nodes if n.op == "matmul" and n.inputs[1] in graph.weights)
    assert graph.weights[weight.inputs[1]].shape == (5, 3)


def test_onnx_matches_keras(model, graph, inputs, expected):
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(model[1], session.run(names, {k: v for k, v in inputs.items()})))
    _compare(got, expected)


def test_emitted_keras_matches(model, graph, inputs, expected):
    emitted = to_keras(graph)
    got = dict(zip(model[1], emitted.predict([inputs[v.name] for v in graph.inputs], verbose=0)))
    _compare(got, expected)


def test_emitted_keras_reloads_safely_in_a_fresh_process(model, graph, inputs, expected,
                                                          tmp_path_factory):
    path = tmp_path_factory.mktemp("reduction") / "reduction.keras"
    save_keras(to_keras(graph), path)
    got = predict_in_fresh_process(path, [inputs[v.name] for v in graph.inputs])
    _compare({name: got[n] for n, name in enumerate(model[1])}, expected)


@pytest.mark.parametrize("build,match", [
    (lambda a, b: ops.argmax(b), "axis=None"),
    (lambda a, b: ops.einsum("...ij,...jk->...ik", b, np.ones((1, 4, 4), "float32")),
     "ellipsis axes broadcast"),
    (lambda a, b: ops.einsum("...ij,...kj", b, b), "implicit output"),
    (lambda a, b: ops.max(b, axis=1, initial=0.0), "initial"),
    (lambda a, b: ops.sum(a, axis=1), "uint8"),
    (lambda a, b: ops.matmul(b, np.ones((4, 2))), "float64"),   # a float64 constant
    (lambda a, b: ops.sum(b, axis=(1, -2)), "twice"),
], ids=["argmax-flat", "ellipsis-broadcast", "ellipsis-implicit", "initial", "uint8-sum", "mixed-matmul", "repeated-axis"])
def test_refusals_name_the_operation(build, match):
    a = keras.Input((4, 4), dtype="uint8", name="a")
    b = keras.Input((4, 4), name="b")
    m = keras.Model([a, b], build(a, b), name="refused")
    with pytest.raises(UnsupportedLayerError, match=match):
        from_keras(m)


def test_einsum_ellipsis_is_written_out():
    """RoFormer's and Flux's rotary tables (``"...,d->...d"``, ``"...n,d->...nd"``) and
    a batched matmul over the ellipsis."""
    from application_checks import assert_converts_like_keras

    b = keras.Input((3, 4), name="b")
    c = keras.Input((2, 3, 4), name="c")
    freq = np.linspace(0.5, 2.0, 6).astype("float32")
    per_group = np.linspace(-1.0, 1.0, 40).astype("float32").reshape(2, 4, 5)
    outs = [ops.einsum("...,d->...d", b, freq),
            ops.einsum("...n,d->...nd", b, freq[:2]),
            ops.einsum("...ij,...jk->...ik", b, ops.transpose(b, (0, 2, 1))),
            # the constant's one ellipsis axis is c's last one (aligned on the right)
            ops.einsum("...ij,...jk->...ik", c, per_group)]
    model = keras.Model([b, c], outs, name="ellipsis")
    graph = from_keras(model)
    assert [n.attrs["equation"] for n in graph.nodes if n.op == "einsum"] == [
        "abc,d->abcd", "abn,d->abnd", "aij,ajk->aik", "abij,bjk->abik"]
    assert_converts_like_keras(model)


def test_a_large_constant_operand_is_emitted_from_the_weights_file():
    def graph(n):
        x = Value("x", TensorType("float32", ("batch", n)))
        y = Value("y", TensorType("float32", ("batch", 4)))
        w = np.arange(n * 4, dtype=np.float32).reshape(n, 4) / n
        return Graph("g", (x,), ("y",), (Node("matmul", "y", ("x", "w"), (y,)),), {"w": w})
    for n in (8, 500):  # 32 elements: inlined; 2000: held by an Embedding layer
        g = graph(n)
        x = np.linspace(-1, 1, 2 * n, dtype=np.float32).reshape(2, n)
        np.testing.assert_allclose(to_keras(g).predict(x, verbose=0), x @ g.weights["w"],
                                   rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def promoted():
    """Keras' dtype promotions: float16 mean/var (computed in float32), bool max/min
    (reduce_any/all), int8 prod (int32), var/std (float32), int8 argmin."""
    x = keras.Input((4, 5), dtype="float16", name="x")
    b = keras.Input((5,), dtype="bool", name="b")
    i = keras.Input((5,), dtype="int8", name="i")
    outs = [ops.mean(x, axis=1), ops.var(x, axis=1), ops.argmax(x, axis=2),
            ops.max(b, axis=1), ops.min(b, axis=1, keepdims=True), ops.var(i, axis=1),
            ops.std(i, axis=1), ops.prod(i, axis=1), ops.max(i, axis=1), ops.argmin(i, axis=1)]
    model = keras.Model([x, b, i], outs, name="promoted")
    rng = np.random.default_rng(2)
    feeds = {"x": rng.normal(size=(4, 4, 5)).astype(np.float16),
             "b": np.array([[0, 0, 0, 0, 0], [1, 0, 1, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 0, 0]],
                           bool),
             "i": rng.integers(-4, 5, (4, 5)).astype(np.int8)}
    want = model.predict([feeds["x"], feeds["b"], feeds["i"]], verbose=0)
    return model, feeds, want


def test_keras_promotions_are_explicit_casts(promoted):
    model, feeds, want = promoted
    graph = from_keras(model)
    casts = [n.attrs["to"] for n in graph.nodes if n.op == "cast"]
    assert casts.count("float16") == 2 and casts.count("bool") == 2 and "int32" in casts
    assert want[3].tolist() == [False, True, True, True]      # any
    assert want[4][:, 0].tolist() == [False, False, True, False]  # all
    assert [w.dtype for w in want] == [np.float16, np.float16, np.int32, bool, bool,
                                       np.float32, np.float32, np.int32, np.int8, np.int32]
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    from_onnx = session.run(None, feeds)
    from_keras_ = to_keras(graph).predict([feeds["x"], feeds["b"], feeds["i"]], verbose=0)
    for got in (from_onnx, from_keras_):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            if w.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3)
            else:
                np.testing.assert_array_equal(g, w)


def test_cumsum_of_floats_ints_and_bools_matches_keras():
    """``keras.ops.cumsum`` on float32 (a negative axis), int32 and bool (Keras casts it
    to int32): ONNX (onnxruntime) and the emitted Keras model match Keras exactly for
    the integers, within 1e-5 for the floats; a flattening ``axis=None`` on rank 2 and a
    float16 input are refused by name."""
    import onnxruntime as ort

    x = keras.Input((5, 3), name="x")
    i = keras.Input((5,), dtype="int32", name="i")
    outs = [ops.cumsum(x, axis=-2), ops.cumsum(i, axis=1), ops.cumsum(i > 4, axis=1)]
    model = keras.Model([x, i], outs, name="cum")
    rng = np.random.default_rng(7)
    feeds = {"x": rng.normal(size=(2, 5, 3)).astype(np.float32),
             "i": rng.integers(0, 10, size=(2, 5)).astype(np.int32)}
    want = model.predict([feeds["x"], feeds["i"]], verbose=0)
    graph = from_keras(model)
    assert [n.op for n in graph.nodes].count("cumsum") == 3
    session = ort.InferenceSession(to_onnx(graph).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    emitted = to_keras(graph).predict([feeds["x"], feeds["i"]], verbose=0)
    for got in (session.run(None, feeds), emitted):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
        for g, w in zip(got[1:], want[1:]):
            assert g.dtype == w.dtype == np.int32
            np.testing.assert_array_equal(g, w)
    with pytest.raises(UnsupportedLayerError, match="axis=None"):
        from_keras(keras.Model(x, ops.cumsum(x), name="flat"))
    h = keras.Input((4,), dtype="float16", name="h")
    with pytest.raises(UnsupportedLayerError, match="float16"):
        from_keras(keras.Model(h, ops.cumsum(h, axis=1), name="half"))
