"""Namespace.unique and scope helpers."""

from hypothesis import given, strategies as st

from graphir.names import Namespace, join_scope, to_keras_name


def test_unique_keeps_free_names_and_suffixes_taken_ones():
    ns = Namespace(["dense_1"])
    assert ns.unique("dense") == "dense"
    assert ns.unique("dense") == "dense_2"  # dense_1 is reserved
    assert ns.unique("dense") == "dense_3"
    assert ns.unique("dense_2") == "dense_4"  # the base of dense_2 is dense
    assert ns.unique("input_layer") == "input_layer"
    assert ns.unique("input_layer") == "input_layer_1"


@given(st.lists(st.sampled_from(["a", "a_1", "b", "a_2", "b_1", "x_0"]), max_size=30))
def test_unique_never_repeats_and_is_deterministic(candidates):
    first = [Namespace().unique(c) for c in candidates]  # fresh namespace each: identity
    assert first == candidates
    ns1, ns2 = Namespace(), Namespace()
    out1 = [ns1.unique(c) for c in candidates]
    out2 = [ns2.unique(c) for c in candidates]
    assert out1 == out2
    assert len(set(out1)) == len(out1)


def test_scopes():
    assert join_scope("outer", "", "inner", "conv") == "outer/inner/conv"
    assert to_keras_name("outer/inner/conv") == "outer.inner.conv"
