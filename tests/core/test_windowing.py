"""The shared window formulas, pinned by cases computed by hand (not by the code)."""

import pytest

from graphir.windowing import conv_transpose_size, same_padding


@pytest.mark.parametrize("n,k,s,d,expected", [
    # n=5, k=3, s=2: out 3, total (3-1)*2 + 3 - 5 = 2 -> 1 before, 1 after
    (5, 3, 2, 1, (1, 1)),
    # n=4, k=3, s=2: out 2, total 2 + 3 - 4 = 1 -> all of it at the end (TF)
    (4, 3, 2, 1, (0, 1)),
    (4, 2, 1, 1, (0, 1)),
    # dilation 2: effective kernel 5, total 4 -> 2 and 2
    (7, 3, 1, 2, (2, 2)),
    (6, 1, 2, 1, (0, 0)),
    (2, 5, 1, 1, (2, 2)),
    (3, 4, 3, 1, (0, 1)),
    (3, 4, 1, 1, (1, 2)),
])
def test_same_padding_puts_the_odd_extra_at_the_end(n, k, s, d, expected):
    assert same_padding(n, k, s, d) == expected


@pytest.mark.parametrize("args,expected", [
    # valid: (3 - 1) * 2 + 3 = 7 positions, nothing cut
    ((3, 3, 2, 1, "valid", 0), (7, 0)),
    ((3, 3, 2, 1, "valid", 1), (8, 0)),
    # same: (3 - 1) * 2 + 3 % 2 + 1 = 6; the forward conv 6 -> 3 (k3 s2) pads (0, 1)
    ((3, 3, 2, 1, "same", 1), (6, 0)),
    # same, k=4, s=2: out (2 - 1) * 2 + 0 + 2 = 4; forward 4 -> 2 pads total 2 -> before 1
    ((2, 4, 2, 1, "same", 2), (4, 1)),
    # dilation 2, k=3: effective 5; same, s=1: out 4 + 1 + 0 = 5; forward pads (2, 2)
    ((5, 3, 1, 2, "same", 0), (5, 2)),
])
def test_conv_transpose_size_by_hand(args, expected):
    assert conv_transpose_size(*args) == expected
