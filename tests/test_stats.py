"""t-intervals and paired verdicts on hand-computed inputs."""

import math

import pytest

from qscale.errors import QscaleUserError
from qscale.stats import paired_verdict, t_interval

T_975_2 = 4.302652729911275  # Student t quantile, 0.975, 2 degrees of freedom (tables)


def test_t_interval_three_values():
    iv = t_interval([1.0, 2.0, 3.0])  # mean 2, sample sd 1
    assert iv.mean == pytest.approx(2.0)
    assert iv.half_width == pytest.approx(T_975_2 / math.sqrt(3))
    assert (iv.low, iv.high) == pytest.approx((2 - T_975_2 / math.sqrt(3), 2 + T_975_2 / math.sqrt(3)))
    assert iv.n == 3
    assert "± 2.48 (n=3)" in iv.text()


def test_t_interval_wider_at_higher_confidence_and_zero_for_equal_values():
    assert t_interval([1.0, 2.0, 4.0], 0.99).half_width > t_interval([1.0, 2.0, 4.0], 0.95).half_width
    assert t_interval([5.0, 5.0]).half_width == 0.0


def test_single_value_has_no_interval():
    iv = t_interval([7.0])
    assert iv.mean == 7.0 and math.isinf(iv.half_width)
    assert "no interval" in iv.text()


@pytest.mark.parametrize("values, conf", [([], 0.95), ([1.0, math.nan], 0.95), ([1.0, 2.0], 1.0)])
def test_t_interval_rejects_bad_input(values, conf):
    with pytest.raises(QscaleUserError):
        t_interval(values, conf)


def test_paired_ahead_behind_tie():
    ahead = paired_verdict([50.0, 51.0, 52.0], [55.0, 57.0, 56.0])  # differences -5, -6, -4
    assert ahead.differences == (-5.0, -6.0, -4.0)
    assert ahead.verdict == "ahead"
    assert ahead.flip_margin == pytest.approx(5 - T_975_2 / math.sqrt(3))
    assert "tie if the mean difference rose by 2.52" in ahead.would_flip()
    behind = paired_verdict([55.0, 57.0, 56.0], [50.0, 51.0, 52.0])
    assert behind.verdict == "behind"
    assert behind.flip_margin == pytest.approx(ahead.flip_margin)
    tie = paired_verdict([50.0, 60.0, 55.0], [55.0, 55.0, 55.0])  # differences -5, 5, 0: interval spans 0
    assert tie.verdict == "tie"
    assert tie.flip_margin == pytest.approx(tie.interval.high)


def test_paired_higher_is_better_mirrors():
    assert paired_verdict([0.9, 0.91, 0.92], [0.8, 0.8, 0.81], lower_is_better=False).verdict == "ahead"
    assert paired_verdict([0.9, 0.91, 0.92], [0.8, 0.8, 0.81]).verdict == "behind"


def test_paired_needs_equal_lengths_and_one_seed_is_a_tie():
    with pytest.raises(QscaleUserError):
        paired_verdict([1.0, 2.0], [1.0])
    one = paired_verdict([50.0], [60.0])
    assert one.verdict == "tie" and "more seeds" in one.would_flip()
