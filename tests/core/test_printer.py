"""The text form is deterministic and matches the golden file."""

from pathlib import Path

import numpy as np

from graphir import Graph, Node, Value, format_graph
from graphir.printer import excerpt, format_attr_value

from ir_examples import f32, small_cnn

GOLDEN = Path(__file__).parent / "golden" / "small_cnn.txt"


def test_small_cnn_matches_golden():
    # Regenerate deliberately with: python -c "...format_graph(small_cnn())" > golden
    assert format_graph(small_cnn()) == GOLDEN.read_text().rstrip("\n")


def test_printing_is_independent_of_attr_insertion_order():
    a = Node("softmax", "s", ["x"], [Value("s", f32(2, 3))], {"axis": -1})
    b = Node("relu", "r", ["x"], [Value("r", f32(2, 3))],
             {"threshold": 0.0, "negative_slope": 0.0, "max_value": None})
    c = Node("relu", "r", ["x"], [Value("r", f32(2, 3))],
             {"max_value": None, "negative_slope": 0.0, "threshold": 0.0})
    g1 = Graph("g", [Value("x", f32(2, 3))], ["r"], [b])
    g2 = Graph("g", [Value("x", f32(2, 3))], ["r"], [c])
    assert str(g1) == str(g2)
    assert "{max_value=null, negative_slope=0.0, threshold=0.0}" in str(g1)
    assert str(a) .startswith("Node(")  # attrs repr, not the IR text


def test_odd_names_are_quoted_and_node_names_shown_when_different():
    g = Graph("my model", [Value("in put", f32(1))], ["y"],
              [Node("identity", "node one", ["in put"], [Value("y", f32(1))])])
    text = str(g)
    assert 'graph "my model"(%"in put": f32[1])' in text
    assert '%y: f32[1] = identity(%"in put") @"node one"' in text


def test_attr_values():
    assert format_attr_value((1, (2, 3))) == "[1, [2, 3]]"
    assert format_attr_value(1e-3) == "0.001"
    assert format_attr_value("a\"b") == '"a\\"b"'
    assert format_attr_value(True) == "true"


def test_excerpt_marks_the_node_and_caps_lines():
    text = excerpt(small_cnn(), 2, context=1, max_line=40)
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("  >> %relu")
    assert all(len(line) <= 45 for line in lines)


def test_weights_do_not_change_the_structure_text_but_shapes_do():
    g = small_cnn(seed=1)
    assert str(g) == str(small_cnn(seed=2))
    w = dict(g.weights)
    w["fc/bias"] = np.zeros(4, np.float64)
    g2 = Graph(g.name, g.inputs, g.outputs, g.nodes, w)
    assert "weight %fc/bias: f64[4]" in str(g2)
