"""Fault injection: faults a buggy converter makes, injected into graphir-emitted ONNX,
must each be caught by verification; the clean twins must pass.

Two small seeded models, built and emitted once per module:

* ``cnn``: free spatial dims (``(None, None, 3)``), a "same" conv, ReLU, a strided
  "same" conv (``auto_pad=SAME_UPPER`` in ONNX: its pads depend on the size's parity),
  max pooling, a stand-alone batch norm (``BatchNormalization`` in ONNX), global
  pooling, a logits Dense and a Softmax head.  Batch-norm statistics are calibrated
  and the head standardized, so that the reference passes the sensitivity check;
* ``rnn``: an LSTM over a free-length sequence and a Dense head.

Each fault edits the ONNX protobuf (``onnx.numpy_helper`` for initializers, node
attributes, or an inserted node) the way a converter bug would; the tolerance policy
and the several input shapes must catch each.  Faults that show only at some shapes
(pads that fit even sizes, a sequence truncated to the default length) are asserted
to pass the primary case and fail another: the extra shapes are what catches them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

pytestmark = pytest.mark.tf

keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
L = keras.layers

from onnx import helper, numpy_helper

from graphir.backends.keras import from_keras
from graphir.backends.keras.randomize import (
    calibrate_statistics,
    randomize_biases,
    randomize_statistics,
)
from graphir.backends.localize import AMPLIFICATION
from graphir.backends.onnx import to_onnx
from graphir.backends.verification import compare_runs


def _cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    x = keras.Input((None, None, 3), name="img")
    y = L.Conv2D(8, 3, padding="same", name="conv1")(x)
    y = L.ReLU(name="relu1")(y)
    y = L.Conv2D(8, 3, strides=2, padding="same", name="conv2")(y)
    y = L.MaxPooling2D(2, padding="same", name="pool")(y)
    y = L.BatchNormalization(epsilon=0.01, name="bn")(y)
    y = L.GlobalAveragePooling2D(name="gap")(y)
    y = L.Dense(10, name="logits")(y)
    model = keras.Model(x, L.Softmax(name="probs")(y), name="cnn")
    randomize_biases(model, np.random.default_rng(1))
    randomize_statistics(model, 0)
    calib = np.random.default_rng(5).standard_normal((8, 16, 16, 3)).astype(np.float32)
    calibrate_statistics(model, calib)
    # standardize the head: logits spread ~1 between inputs (else softmax ~ 0.1 flat)
    head = model.get_layer("logits")
    feats = np.asarray(keras.Model(model.inputs[0], head.input)(calib), np.float64)
    kernel = np.random.default_rng(6).normal(0, 1, (8, 10)) / np.maximum(feats.std(0), 1e-6)[:, None]
    head.kernel.assign(kernel.astype(np.float32))
    head.bias.assign((-(feats.mean(0) @ kernel)).astype(np.float32))
    return model


def _rnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    s = keras.Input((None, 4), name="seq")
    h = L.LSTM(6, name="lstm")(s)
    model = keras.Model(s, L.Dense(3, name="out")(h), name="rnn")
    randomize_biases(model, np.random.default_rng(2))
    return model


@pytest.fixture(scope="module")
def subjects():
    out = {}
    for name, build in (("cnn", _cnn), ("rnn", _rnn)):
        model = build()
        graph = from_keras(model)
        out[name] = (model, graph, to_onnx(graph))
    return out


# --- fault helpers: each edits a copy of the emitted ModelProto -----------------------

def _init(m, name: str) -> np.ndarray:
    return numpy_helper.to_array(next(i for i in m.graph.initializer if i.name == name)).copy()


def _set_init(m, name: str, value: np.ndarray) -> None:
    init = next(i for i in m.graph.initializer if i.name == name)
    init.CopyFrom(numpy_helper.from_array(value.astype(numpy_helper.to_array(init).dtype), name))


def _node(m, name: str):
    return next(n for n in m.graph.node if n.name == name)


def _set_attr(node, name: str, value) -> None:
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept + ([helper.make_attribute(name, value)] if value is not None
                                  else []))


def _scale_init(name: str, factor: float):
    def fault(m):
        _set_init(m, name, _init(m, name) * factor)
    return fault


def _swap_out_channels(m):  # first conv: output channels 0 and 1 swapped
    w, b = _init(m, "conv1/kernel/oihw"), _init(m, "conv1/bias")
    w[[0, 1]], b[[0, 1]] = w[[1, 0]], b[[1, 0]]
    _set_init(m, "conv1/kernel/oihw", w)
    _set_init(m, "conv1/bias", b)


def _shifted_pads(m):  # conv1's symmetric "same" pads shifted down/right
    _set_attr(_node(m, "conv1"), "pads", [0, 0, 2, 2])


def _even_only_pads(m):  # conv2: explicit pads right for even sizes only (not SAME_UPPER)
    node = _node(m, "conv2")
    _set_attr(node, "auto_pad", None)
    _set_attr(node, "pads", [0, 0, 1, 1])


def _epsilon(m):
    _set_attr(_node(m, "bn"), "epsilon", 0.1)


def _dropped_bias(m):
    _set_init(m, "conv2/bias", np.zeros_like(_init(m, "conv2/bias")))


def _class_swap(m, reference_probs):  # two mid-ranked classes of the head swapped
    order = np.argsort(reference_probs.mean(0))
    i, j = int(order[4]), int(order[5])
    k, b = _init(m, "logits/kernel"), _init(m, "logits/bias")
    k[:, [i, j]], b[[i, j]] = k[:, [j, i]], b[[j, i]]
    _set_init(m, "logits/kernel", k)
    _set_init(m, "logits/bias", b)


def _append_mul(m, output: str, factor: float):
    """The graph output ``output`` multiplied by ``factor`` (renamed through a Mul)."""
    for n in m.graph.node:
        n.output[:] = [o + "/raw" if o == output else o for o in n.output]
    m.graph.initializer.append(numpy_helper.from_array(np.array(factor, np.float32),
                                                       "fault/factor"))
    m.graph.node.append(helper.make_node("Mul", [output + "/raw", "fault/factor"], [output],
                                         name="fault/mul"))


def _logits_shifted(m):  # every logit + 1: the softmax hides it, the logits do not
    _set_init(m, "logits/bias", _init(m, "logits/bias") + 1.0)


def _leaky_relu(m):
    node = _node(m, "relu1")
    node.op_type = "LeakyRelu"
    _set_attr(node, "alpha", 0.05)


def _rows_reversed(m):  # the batch rows of the output come back in reverse order
    for n in m.graph.node:
        n.output[:] = [o + "/raw" if o == "probs" else o for o in n.output]
    for name, value in (("fault/starts", [-1]), ("fault/ends", [-(2**62)]),
                        ("fault/axes", [0]), ("fault/steps", [-1])):
        m.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    m.graph.node.append(helper.make_node(
        "Slice", ["probs/raw", "fault/starts", "fault/ends", "fault/axes", "fault/steps"],
        ["probs"], name="fault/reverse"))


def _lstm_gate_order(m):
    """ONNX LSTM gates are i, o, f, c along axis 1 of W, R and (twice) B: f and c swapped."""
    def swap(a, axis, blocks):
        parts = np.split(a, blocks, axis=axis)
        order = [0, 1, 3, 2] if blocks == 4 else [0, 1, 3, 2, 4, 5, 7, 6]
        return np.concatenate([parts[i] for i in order], axis=axis)
    w = "lstm/kernel/onnx_lstm_W"
    r = "lstm/recurrent_kernel/onnx_lstm_R"
    b = "lstm/bias/onnx_lstm_B"
    _set_init(m, w, swap(_init(m, w), 1, 4))
    _set_init(m, r, swap(_init(m, r), 1, 4))
    _set_init(m, b, swap(_init(m, b), 1, 8))


def _truncate_sequence(m, steps: int = 8):
    """The LSTM reads only the first ``steps`` time steps (a Slice on its time-major input)."""
    node = next(n for n in m.graph.node if n.op_type == "LSTM")
    src = node.input[0]
    for name, value in (("fault/t0", [0]), ("fault/t1", [steps]), ("fault/t_axis", [0])):
        m.graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
    cut = helper.make_node("Slice", [src, "fault/t0", "fault/t1", "fault/t_axis"],
                           ["fault/truncated"], name="fault/truncate")
    node.input[0] = "fault/truncated"
    index = list(m.graph.node).index(node)
    m.graph.node.insert(index, cut)


#: fault name -> (subject, edit function, where it shows: "all", "other-shape" or
#: "logits" (only in the compared logits of a softmax head),
#: the IR node the first-divergence search must name)
FAULTS = {
    "conv_weight_x1.01": ("cnn", _scale_init("conv2/kernel/oihw", 1.01), "all", "conv2"),
    "swapped_channel_pair": ("cnn", _swap_out_channels, "all", "conv1"),
    "shifted_pads": ("cnn", _shifted_pads, "all", "conv1"),
    "pads_right_for_even_sizes_only": ("cnn", _even_only_pads, "other-shape", "conv2"),
    "batch_norm_epsilon": ("cnn", _epsilon, "all", "bn"),
    "dropped_bias": ("cnn", _dropped_bias, "all", "conv2"),
    "class_swap_in_softmax_head": ("cnn", "class_swap", "all", "logits"),
    "output_x1.01": ("cnn", lambda m: _append_mul(m, "probs", 1.01), "all", "probs"),
    "relu_as_leaky_relu": ("cnn", _leaky_relu, "all", "relu1"),
    "logits_shifted_by_a_constant": ("cnn", _logits_shifted, "logits", "logits"),
    "batch_rows_reversed": ("cnn", _rows_reversed, "all", "probs"),
    "lstm_gate_order": ("rnn", _lstm_gate_order, "all", "lstm"),
    "lstm_recurrent_weights_x1.01": ("rnn", _scale_init("lstm/recurrent_kernel/onnx_lstm_R",
                                                        1.01), "all", "lstm"),
    "sequence_truncated_to_8_steps": ("rnn", _truncate_sequence, "other-shape", "lstm"),
    "dense_output_x1.01": ("rnn", lambda m: _append_mul(m, "out", 1.01), "all", "out"),
}


def _verify(subject, onnx_model, **options):
    model, graph, _ = subject
    onnx.checker.check_model(onnx_model)
    return compare_runs(graph, model, onnx_bytes=onnx_model.SerializeToString(), device="cpu",
                        **options)


@pytest.mark.parametrize("name", ["cnn", "rnn"])
def test_clean_twin_passes(subjects, name):
    report = _verify(subjects[name], subjects[name][2], localize="always")
    assert report.status == "passed", [c.reason for c in report.comparisons if not c.passed]
    assert all(s.sensitive for s in report.sensitivity) and report.sensitivity
    assert len({c.case for c in report.comparisons}) == 3
    loc = report.localization  # --localize on a clean model: every layer value agrees
    assert loc["first_divergent_node"] is None and loc["status"] == "not-found"
    assert loc["compared"] == loc["comparable"] >= 2


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught(subjects, fault):
    subject_name, edit, shows, node = FAULTS[fault]
    subject = subjects[subject_name]
    faulty = copy.deepcopy(subject[2])
    if edit == "class_swap":
        report = _verify(subject, subject[2])  # the clean run ranks the classes
        from graphir.inputs import make_inputs

        feeds = make_inputs(subject[1], batch=4, seed=0)
        _class_swap(faulty, np.asarray(subject[0](feeds["img"])))
    else:
        edit(faulty)
    report = _verify(subject, faulty)
    assert report.status == "failed" and not report.passed
    failed = [c for c in report.comparisons if not c.passed]
    assert failed and {c.candidate for c in failed} == {"onnx"}
    assert all(c.passed for c in report.comparisons if c.candidate == "keras-emitted")
    cases = {c.case for c in failed}
    if shows == "logits":  # invisible in the probabilities: only the logits show it
        assert {c.output for c in failed} == {"probs:logits"}
    elif shows == "other-shape":  # the primary shapes miss it; the extra shape catches it
        assert cases == {"shape-1"}
        shape = next(c for c in report.cases if c.name == "shape-1").unknown_dim
        assert shape % 2 == 1 and shape > report.unknown_dim
    else:
        assert "primary" in cases
    loc = report.localization  # searched automatically on the failure
    assert loc["first_divergent_node"] == node, loc
    assert loc["status"] == "found" and loc["inputs_agree"] is True
    assert loc["first_outside_tolerance"] == node
    assert loc["error"] > AMPLIFICATION * loc["input_error"]  # it introduces the error
    assert loc["case"] == ("shape-1" if shows == "other-shape" else "primary")
    assert ">> " in loc["excerpt"] and f"%{node}" in loc["excerpt"]


@pytest.mark.parametrize("fault", ["pads_right_for_even_sizes_only",
                                   "sequence_truncated_to_8_steps"])
def test_one_shape_alone_misses_the_shape_dependent_faults(subjects, fault):
    """The broken twin of the several-shapes rule: with only the primary shapes (the
    former behaviour) these faults pass."""
    subject_name, edit, _, _ = FAULTS[fault]
    model, graph, clean = subjects[subject_name]
    faulty = copy.deepcopy(clean)
    edit(faulty)
    one = compare_runs(graph, model, onnx_bytes=faulty.SerializeToString(), device="cpu",
                       several_shapes=False)
    assert one.passed and {c.case for c in one.comparisons} == {"primary", "second-draw"}
