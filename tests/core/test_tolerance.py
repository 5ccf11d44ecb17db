"""The tolerance policy: scale-aware bound, per-dtype defaults, NaN rules, statistics."""

import numpy as np
import pytest

from graphir.tolerance import Tolerance, compare_arrays, parse_tolerance, tolerance_for


def test_defaults_per_dtype():
    f32 = tolerance_for(np.float32)
    assert (f32.rtol, f32.atol, f32.atol_scale) == (1e-3, 1e-7, 1e-4)
    assert tolerance_for(np.float16).rtol > f32.rtol > tolerance_for(np.float64).rtol
    assert tolerance_for(np.int32) == Tolerance(0.0, 0.0, 0.0)
    assert tolerance_for(np.float32, rtol=1e-2).rtol == 1e-2
    explicit = tolerance_for(np.float32, atol=1e-3)  # an explicit atol is absolute
    assert explicit.atol == 1e-3 and explicit.atol_scale == 0.0
    with pytest.raises(ValueError, match="rtol"):
        tolerance_for(np.float32, rtol=-1.0)
    with pytest.raises(ValueError, match="atol"):
        Tolerance(1e-3, float("nan"))


def test_within_and_outside_tolerance():
    ref = np.array([1.0, 100.0, 0.0], np.float32)
    # scale S = 100: zero-ish elements get 1e-7 + 1e-4 * 100 = 1e-2 absolute room
    ok = compare_arrays(ref, ref + np.array([5e-4, 5e-2, 9e-3], np.float32))
    assert ok.passed and ok.mismatches == 0 and ok.scale == 100.0
    assert ok.max_abs_err == pytest.approx(5e-2, rel=1e-3)
    bad = compare_arrays(ref, ref + np.array([0, 0, 2e-2], np.float32))
    assert not bad.passed and bad.mismatches == 1 and "outside" in bad.reason
    assert bad.worst_index == (2,)
    assert bad.max_rel_err > 1.0  # relative to an exact zero: divided by tiny, not by 0


def test_softmax_scale_relative_errors_are_caught():
    """A 1000-class softmax (p ~ 1e-3): a fixed atol of 1e-4 would accept 10% relative
    errors; the scale-aware bound rejects them and still accepts float noise."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 0.1, (2, 1000))
    p = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    noise = p * (1 + rng.normal(0, 1e-6, p.shape)).astype(np.float32)
    assert compare_arrays(p, noise).passed
    scaled = p * np.float32(1.01)  # every output x1.01
    assert not compare_arrays(p, scaled).passed
    swapped = p.copy()
    order = np.argsort(p[0])
    i, j = order[400], order[600]  # two mid-ranked classes
    swapped[:, [i, j]] = swapped[:, [j, i]]
    c = compare_arrays(p, swapped)
    assert not c.passed and c.worst_index[1] in (i, j)
    # the old fixed policy (rtol 1e-4, atol 1e-4) missed both: the broken twin of this test
    assert compare_arrays(p, scaled, rtol=1e-4, atol=1e-4).passed
    assert compare_arrays(p, swapped, rtol=1e-4, atol=1e-4).passed


def test_statistics_and_smallest_passing_tolerance():
    ref = np.array([1.0, 2.0, 4.0, 8.0], np.float64)
    cand = ref * np.array([1.0, 1.0, 1.0, 1.5])
    c = compare_arrays(ref, cand, rtol=0.1, atol=0.0)
    assert not c.passed and c.mismatches == 1
    assert c.max_abs_err == 4.0 and c.max_rel_err == pytest.approx(0.5)
    assert c.median_abs_err == 0.0 and c.mean_abs_err == 1.0
    assert c.p99_abs_err == pytest.approx(np.percentile([0, 0, 0, 4.0], 99))
    assert c.min_rtol == pytest.approx(0.5) and c.min_atol == pytest.approx(4.0 - 0.8)
    assert compare_arrays(ref, cand, rtol=c.min_rtol, atol=0.0).passed
    assert not compare_arrays(ref, cand, rtol=c.min_rtol * 0.99, atol=0.0).passed
    assert compare_arrays(ref, cand, rtol=0.1, atol=c.min_atol * 1.0000001).passed


def test_nan_and_inf_rules():
    ref = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert not compare_arrays(ref, ref.copy()).passed  # NaN is a mismatch by default
    assert compare_arrays(ref, ref.copy(), nan_equal=True).passed
    inf_only = np.array([np.inf, 1.0], np.float32)
    assert compare_arrays(inf_only, inf_only.copy()).passed  # same-signed Inf is equal
    assert not compare_arrays(ref, np.array([0.0, np.inf, -np.inf, 1.0], np.float32),
                              nan_equal=True).passed
    assert not compare_arrays(ref, np.array([np.nan, -np.inf, -np.inf, 1.0], np.float32),
                              nan_equal=True).passed
    assert not compare_arrays(np.array([1.0], np.float32), np.array([np.nan], np.float32)).passed
    all_nan = np.full(3, np.nan, np.float32)
    r = compare_arrays(all_nan, all_nan.copy())
    assert not r.passed and "NaN" in r.reason
    all_inf = np.full(3, np.inf, np.float32)
    r = compare_arrays(all_inf, all_inf.copy())
    assert not r.passed and "no finite element" in r.reason
    assert compare_arrays(all_inf, all_inf.copy(), nan_equal=True).passed


def test_shape_and_kind_mismatch_and_ints():
    assert "shape" in compare_arrays(np.zeros((2, 3)), np.zeros((3, 2))).reason
    assert not compare_arrays(np.zeros(2, np.float32), np.zeros(2, np.int32)).passed
    assert compare_arrays(np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int64)).passed
    r = compare_arrays(np.arange(3, dtype=np.int32), np.array([0, 1, 3], np.int32))
    assert not r.passed and r.max_abs_err == 1.0


def test_parse_tolerance():
    assert parse_tolerance("head/probs=1e-2,1e-5") == ("head/probs", 1e-2, 1e-5)
    for bad in ("head", "head=1e-2", "=1,2", "a=x,1", "a=-1,0", "a=1,nan"):
        with pytest.raises(ValueError):
            parse_tolerance(bad)
