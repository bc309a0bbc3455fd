"""Small-sample statistics for results repeated over seeds: Student-t intervals and paired verdicts.

Why paired: every method is run on the same calibration draws, so the per-seed difference removes the
draw-to-draw variation that all methods share (qscale's GPTQ moves by 10 % across draws), and its interval is
much narrower than comparing two means would give. A verdict is read from that interval alone:
'ahead' if it lies entirely on the better side of 0, 'behind' if entirely on the worse side, else 'tie'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean, stdev

from qscale.errors import QscaleUserError

VERDICTS = ("ahead", "tie", "behind")


@dataclass(frozen=True)
class Interval:
    """Mean of n values and its two-sided t-interval (half_width = inf for a single value)."""

    mean: float
    half_width: float
    n: int
    confidence: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def text(self, digits: int = 2) -> str:
        """'56.62 ± 1.20 (n=3)'; a single value shows as '56.62 (n=1, no interval)'."""
        if not math.isfinite(self.half_width):
            return f"{self.mean:.{digits}f} (n={self.n}, no interval)"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f} (n={self.n})"


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean ± t_{(1+c)/2, n-1} · s/√n (Student 1908), the interval for a mean from few independent runs."""
    if not 0 < confidence < 1:
        raise QscaleUserError(f"confidence must be in (0, 1), got {confidence!r}")
    xs = [float(v) for v in values]
    if not xs:
        raise QscaleUserError("a t-interval needs at least one value")
    if not all(math.isfinite(x) for x in xs):
        raise QscaleUserError("a t-interval needs finite values")
    n = len(xs)
    if n == 1:
        return Interval(xs[0], math.inf, 1, confidence)
    from scipy.stats import t

    return Interval(fmean(xs), float(t.ppf((1 + confidence) / 2, n - 1)) * stdev(xs) / math.sqrt(n), n, confidence)


@dataclass(frozen=True)
class PairedVerdict:
    """Per-seed differences candidate − baseline, their interval, and what it says (lower is better)."""

    differences: tuple[float, ...]
    interval: Interval
    verdict: str  # one of VERDICTS, for the candidate
    flip_margin: float  # how far the mean difference would have to move for the verdict to change

    def would_flip(self, digits: int = 2) -> str:
        """The change of the mean paired difference that would change the verdict (its interval touching 0)."""
        m = f"{self.flip_margin:.{digits}f}"
        if not math.isfinite(self.flip_margin):
            return "more seeds (one seed gives no interval)"
        if self.verdict == "ahead":
            return f"tie if the mean difference rose by {m} (interval reaching 0)"
        if self.verdict == "behind":
            return f"tie if the mean difference fell by {m} (interval reaching 0)"
        return f"ahead if the mean difference fell by {m} (interval clearing 0)"


def paired_verdict(
    candidate: Sequence[float], baseline: Sequence[float], confidence: float = 0.95, lower_is_better: bool = True
) -> PairedVerdict:
    """Ahead / tie / behind for `candidate` against `baseline`, paired seed by seed (same order, same length)."""
    if len(candidate) != len(baseline):
        raise QscaleUserError(f"paired values differ in number: {len(candidate)} vs {len(baseline)}")
    diffs = tuple(float(a) - float(b) for a, b in zip(candidate, baseline, strict=True))
    iv = t_interval(diffs, confidence)
    sign = 1.0 if lower_is_better else -1.0
    low, high = sorted((sign * iv.low, sign * iv.high))  # in "better is negative" orientation
    if high < 0:
        verdict, margin = "ahead", -high
    elif low > 0:
        verdict, margin = "behind", low
    else:
        verdict, margin = "tie", high
    return PairedVerdict(diffs, iv, verdict, margin)
