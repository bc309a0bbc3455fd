"""The shared parameter checks: canonical types back, one-line errors naming the parameter and the rule."""

from __future__ import annotations

import numpy as np
import pytest

from qscale.errors import QscaleUserError
from qscale.validation import (
    check_choice,
    check_count,
    check_finite_array,
    check_fraction,
    check_int,
    check_path,
    check_positive,
    check_real,
)


def test_check_int_accepts_numpy_and_rejects_bool_and_bounds():
    assert check_int(np.int64(3), "--k", min=1) == 3 and type(check_int(np.int64(3), "--k")) is int
    for bad, rule in ((True, "a positive integer"), (0, "a positive integer"), (2.0, "a positive integer")):
        with pytest.raises(QscaleUserError, match=f"--k must be {rule}, got"):
            check_int(bad, "--k", min=1)
    with pytest.raises(QscaleUserError, match=r"--bits must be an integer in \[2, 8\], got 9"):
        check_int(9, "--bits", min=2, max=8)
    with pytest.raises(QscaleUserError, match=r"--shots must be a non-negative integer, got -1"):
        check_int(-1, "--shots", min=0)
    with pytest.raises(QscaleUserError, match=r"--copies must be an integer >= 7 \(why\), got 3"):
        check_int(3, "--copies", min=7, note=" (why)")


def test_check_real_bounds_and_finiteness():
    assert check_real(1, "x") == 1.0
    with pytest.raises(QscaleUserError, match=r"x must be in \(0, 1\], got 0"):
        check_fraction(0, "x")
    with pytest.raises(QscaleUserError, match="x must be a positive number, got nan"):
        check_positive(float("nan"), "x")
    with pytest.raises(QscaleUserError, match="x must be a number < 2"):
        check_real(2, "x", max=2, include_max=False)
    with pytest.raises(QscaleUserError, match="got None"):
        check_positive(None, "x")


def test_count_choice_path_array(tmp_path):
    assert check_count(1e6, "--tokens") == 1_000_000
    with pytest.raises(QscaleUserError, match="whole number >= 1"):
        check_count(1.5, "--tokens")
    assert check_choice("a", "--m", ("a", "b")) == "a"
    with pytest.raises(QscaleUserError, match="--m must be one of a, b, got 'c'"):
        check_choice("c", "--m", ("a", "b"))
    assert check_path(tmp_path, "--out") == tmp_path
    with pytest.raises(QscaleUserError, match="does not exist"):
        check_path(tmp_path / "nope", "--config")
    assert check_finite_array([[1, 2]], "x", ndim=2).dtype == np.float64
    with pytest.raises(QscaleUserError, match="NaN or infinite"):
        check_finite_array([1, np.inf], "x")
