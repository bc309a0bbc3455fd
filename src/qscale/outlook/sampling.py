"""Monte Carlo draws over the stated ranges, and the year trends built from them.

Every range gets its own uniform numbers in a fixed order (the order of REQUIRED_RANGES), so one seed gives
the same futures whatever file the ranges came from, and narrowing one range leaves the others' draws alone.

The draws come in chunks of CHUNK_SAMPLES futures, each from its own seed sequence derived from (seed, chunk
index), so a chunk can be drawn and simulated anywhere (another process, another Ray node) and the chunks,
joined in order, are the same futures whatever ran them. Chunk 0 uses the seed itself: runs of up to
CHUNK_SAMPLES futures draw what they drew before chunking existed.
"""

from __future__ import annotations

import itertools

import numpy as np

from qscale.outlook.scenarios import REQUIRED_RANGES, Range, Scenarios
from qscale.validation import check_int

MAX_SAMPLES = 1_000_000
CHUNK_SAMPLES = 25_000  # fixed: part of what a seed means, never derived from the number of workers

Draws = dict[str, np.ndarray]


def draw_range(r: Range, u: np.ndarray) -> np.ndarray:
    """Map uniform numbers u in [0, 1) onto the range (uniform or log-uniform); zero width gives the value."""
    if r.low == r.high:
        return np.full_like(u, r.low)
    if r.dist == "loguniform":
        return np.exp(np.log(r.low) + u * (np.log(r.high) - np.log(r.low)))
    return r.low + u * (r.high - r.low)


def check_samples_seed(samples: object, seed: object) -> None:
    check_int(samples, "--samples", min=1, max=MAX_SAMPLES)
    check_int(seed, "--seed", min=0)


def chunks(samples: int, size: int | None = None) -> list[tuple[int, int]]:
    """(chunk index, futures in it) covering `samples` futures: full chunks of CHUNK_SAMPLES, then the remainder."""
    size = size or CHUNK_SAMPLES
    return [(i, min(size, samples - start)) for i, start in enumerate(range(0, samples, size))]


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of one chunk: the seed's own sequence for chunk 0, its spawn-keyed child for the others."""
    if index == 0:
        return np.random.default_rng(np.random.SeedSequence(int(seed)))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index),)))


def draw(scenarios: Scenarios, samples: int, seed: int, chunk: int = 0) -> Draws:
    """One value per range and sample of one chunk: {range name: array of shape (samples,)}."""
    check_samples_seed(samples, seed)
    uniforms = chunk_rng(seed, chunk).random((len(REQUIRED_RANGES), int(samples)))
    return {name: draw_range(scenarios.ranges[name], uniforms[i]) for i, name in enumerate(REQUIRED_RANGES)}


def compound(base: np.ndarray, rate: np.ndarray, years: float) -> np.ndarray:
    """base x (1 + rate)^years."""
    return base * (1.0 + rate) ** years


def two_phase(base: np.ndarray, early: np.ndarray, late: np.ndarray, year: int, base_year: int, switch: int = 2030):
    """Growth at `early` until `switch`, then at `late`."""
    first = max(0, min(year, switch) - base_year)
    second = max(0, year - max(switch, base_year))
    return base * (1.0 + early) ** first * (1.0 + late) ** second


def anchored(points: list[tuple[int, np.ndarray]], year: int) -> np.ndarray:
    """Linear interpolation between (year, value) anchors, flat outside them."""
    years = [y for y, _ in points]
    if year <= years[0]:
        return points[0][1]
    if year >= years[-1]:
        return points[-1][1]
    for (y0, v0), (y1, v1) in itertools.pairwise(points):
        if y0 <= year <= y1:
            w = (year - y0) / (y1 - y0)
            return v0 + w * (v1 - v0)
    raise AssertionError("unreachable")
