"""The sensitivity precondition on arrays (no runtime involved)."""

import numpy as np

from graphir.sensitivity import check_sensitivity
from graphir.tolerance import tolerance_for

F32 = tolerance_for(np.float32)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def test_varied_output_is_sensitive():
    rng = np.random.default_rng(0)
    a, b = _softmax(rng.normal(size=(2, 10))), _softmax(rng.normal(size=(2, 10)))
    s = check_sensitivity("probs", a, b, batch=2, tolerance=F32)
    assert s.sensitive and s.reason == "" and s.row_spread > 0.1 and s.draw_spread > 0.1


def test_constant_and_near_constant_outputs_are_insensitive():
    rng = np.random.default_rng(1)
    base = _softmax(rng.normal(size=(1, 1000)))
    # the MobileNetV2: rows differ by ~3.5e-10 on p ~ 1e-3
    a = np.repeat(base, 2, 0) + rng.normal(0, 3.5e-10, (2, 1000)).astype(np.float32)
    b = np.repeat(base, 2, 0) + rng.normal(0, 3.5e-10, (2, 1000)).astype(np.float32)
    s = check_sensitivity("predictions", a, b, batch=2, tolerance=F32)
    assert not s.sensitive and "rows 0 and 1" in s.reason and "draws" in s.reason
    assert s.row_spread < 1e-5
    const = np.full((3, 4), 0.5, np.float32)
    assert not check_sensitivity("c", const, const.copy(), batch=3, tolerance=F32).sensitive


def test_rows_alike_but_draws_differ_is_insensitive_and_names_the_check():
    rng = np.random.default_rng(2)
    row = rng.normal(size=(1, 5)).astype(np.float32)
    a = np.repeat(row, 2, 0)  # the output ignores its batch row: every row the same
    b = a + 1.0
    s = check_sensitivity("y", a, b, batch=2, tolerance=F32)
    assert not s.sensitive and "rows" in s.reason and "draws" not in s.reason


def test_checks_skipped_where_they_do_not_apply():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(1, 4)).astype(np.float32)  # one row: only the draws compared
    s = check_sensitivity("y", a, a + 1, batch=1, tolerance=F32)
    assert s.sensitive and s.row_spread is None and s.draw_spread is not None
    total = rng.normal(size=(4,)).astype(np.float32)  # batch reduced away: axis 0 not rows
    s = check_sensitivity("t", total, total + 1, batch=2, tolerance=F32)
    assert s.sensitive and s.row_spread is None
    s = check_sensitivity("y", a, None, batch=1, tolerance=F32)
    assert s.sensitive and s.row_spread is None and s.draw_spread is None


def test_integer_outputs_must_change_too():
    tol = tolerance_for(np.int64)
    same = np.array([[3], [3]], np.int64)  # an argmax that is always class 3
    assert not check_sensitivity("cls", same, same.copy(), batch=2, tolerance=tol).sensitive
    varied = np.array([[3], [1]], np.int64)
    s = check_sensitivity("cls", varied, varied[::-1].copy(), batch=2, tolerance=tol)
    assert s.sensitive and s.draw_spread == 1.0
