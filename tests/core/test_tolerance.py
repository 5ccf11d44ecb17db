"""The tolerance policy."""

import numpy as np
import pytest

from graphir.tolerance import compare_arrays, tolerance_for


def test_defaults_per_dtype():
    assert tolerance_for(np.float32).rtol == 1e-4 and tolerance_for(np.float32).atol == 1e-4
    assert tolerance_for(np.int32).atol == 0
    assert tolerance_for(np.float32, rtol=1e-2).rtol == 1e-2


def test_within_and_outside_tolerance():
    ref = np.array([1.0, 100.0, 0.0], np.float32)
    ok = compare_arrays(ref, ref + np.array([5e-5, 5e-3, 9e-5], np.float32))
    assert ok.passed and ok.mismatches == 0
    assert ok.max_abs_err == pytest.approx(5e-3, rel=1e-3)
    bad = compare_arrays(ref, ref + np.array([0, 0, 2e-4], np.float32))
    assert not bad.passed and bad.mismatches == 1 and "outside" in bad.reason
    assert bad.max_rel_err > 1.0  # relative to an exact zero: divided by eps, not by 0


def test_nan_and_inf_rules():
    ref = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert compare_arrays(ref, ref.copy()).passed
    assert not compare_arrays(ref, np.array([0.0, np.inf, -np.inf, 1.0], np.float32)).passed
    assert not compare_arrays(ref, np.array([np.nan, -np.inf, -np.inf, 1.0], np.float32)).passed
    assert not compare_arrays(np.array([1.0], np.float32), np.array([np.nan], np.float32)).passed


def test_shape_and_kind_mismatch_and_ints():
    assert "shape" in compare_arrays(np.zeros((2, 3)), np.zeros((3, 2))).reason
    assert not compare_arrays(np.zeros(2, np.float32), np.zeros(2, np.int32)).passed
    assert compare_arrays(np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int64)).passed
    r = compare_arrays(np.arange(3, dtype=np.int32), np.array([0, 1, 3], np.int32))
    assert not r.passed and r.max_abs_err == 1.0
