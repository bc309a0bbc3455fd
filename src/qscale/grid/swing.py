"""Seconds-scale load traces: a training cluster's synchronous power swings plus quantum-computer load steps.

The cluster alternates compute (high) and communication (low) phases every iteration (Choukse et al. 2025,
arXiv 2508.14318); iteration lengths jitter, and each transition takes `edge_s`. Quantum systems add a
steady cryogenic draw and a step whenever a job starts or stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from qscale.config import packaged_toml
from qscale.errors import QscaleUserError


@cache
def stabilize_data() -> dict:
    return packaged_toml("qscale.grid", "data/stabilize.toml")


@dataclass
class SwingSpec:
    cluster_mw: float = 100.0
    swing: float = 0.5
    period_s: float = 2.0
    duty: float = 0.5
    jitter: float = 0.05
    edge_s: float = 0.05
    duration_s: float = 120.0
    dt_s: float = 0.01
    seed: int = 1
    quantum_systems: int = 10
    quantum_steady_kw: float = 20.0
    quantum_step_kw: float = 5.0
    quantum_dwell_s: float = 10.0

    def check(self) -> None:
        """Reject values that make no physical sense, naming the option."""
        rules = [
            (self.cluster_mw >= 0, "cluster-mw must be >= 0"),
            (0 <= self.swing <= 1, "swing must be in [0, 1] (a fraction of the mean)"),
            (self.period_s > 0, "period-s must be > 0"),
            (0 < self.duty < 1, "duty must be in (0, 1)"),
            (0 <= self.jitter < 0.5, "jitter must be in [0, 0.5)"),
            (self.edge_s >= 0, "edge-s must be >= 0"),
            (self.dt_s > 0, "dt-s must be > 0"),
            (self.duration_s >= 4 * self.period_s, "duration-s must cover at least 4 periods"),
            (self.duration_s / self.dt_s <= 2_000_000, "duration-s / dt-s is too many steps (max 2,000,000)"),
            (self.edge_s < self.duty * self.period_s, "edge-s must be shorter than the high phase"),
            (self.quantum_systems >= 0, "quantum-systems must be >= 0"),
            (self.quantum_steady_kw >= 0 and self.quantum_step_kw >= 0, "quantum kW values must be >= 0"),
            (self.quantum_dwell_s > 0, "quantum dwell time must be > 0"),
            (self.cluster_mw > 0 or self.quantum_systems > 0, "nothing to simulate: no cluster and no quantum systems"),
        ]
        for ok, msg in rules:
            if not ok:
                raise QscaleUserError(msg)


def cluster_trace(spec: SwingSpec, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Square wave mean*(1 +/- swing) with jittered periods, edges smoothed over edge_s (moving average)."""
    if spec.cluster_mw == 0:
        return np.zeros_like(t)
    high = np.zeros(len(t), dtype=bool)
    start = 0.0
    end = t[-1] + spec.dt_s
    while start < end:
        period = spec.period_s * float(np.clip(1.0 + spec.jitter * rng.standard_normal(), 0.5, 1.5))
        high |= (t >= start) & (t < start + spec.duty * period)
        start += period
    square = spec.cluster_mw * np.where(high, 1.0 + spec.swing, 1.0 - spec.swing)
    width = round(spec.edge_s / spec.dt_s)
    if width > 1:
        padded = np.concatenate([np.full(width, square[0]), square])
        kernel = np.ones(width) / width
        square = np.convolve(padded, kernel, mode="full")[width : width + len(t)]
    return square


def quantum_trace(spec: SwingSpec, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each system draws steady power plus a step while busy; busy/idle dwell times are exponential."""
    total = np.full(len(t), spec.quantum_systems * spec.quantum_steady_kw / 1000.0)
    for _ in range(spec.quantum_systems):
        busy = rng.random() < 0.5
        now = 0.0
        while now < t[-1] + spec.dt_s:
            dwell = rng.exponential(spec.quantum_dwell_s)
            if busy:
                total[(t >= now) & (t < now + dwell)] += spec.quantum_step_kw / 1000.0
            busy = not busy
            now += dwell
    return total


def load_trace(spec: SwingSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time (s), cluster power (MW) and quantum hall power (MW) at dt_s resolution."""
    spec.check()
    steps = round(spec.duration_s / spec.dt_s)
    t = np.arange(steps) * spec.dt_s
    rng = np.random.default_rng(spec.seed)
    return t, cluster_trace(spec, t, rng), quantum_trace(spec, t, rng)


def default_swing_spec(**overrides: object) -> SwingSpec:
    """A SwingSpec from the sourced defaults in data/stabilize.toml, with any field overridden (None = default)."""
    d = stabilize_data()
    sw, q = d["swing"], d["quantum"]
    values: dict = {
        "swing": sw["swing"],
        "period_s": sw["period_s"],
        "duty": sw["duty"],
        "jitter": sw["jitter"],
        "edge_s": sw["edge_s"],
        "quantum_systems": q["systems"],
        "quantum_steady_kw": q["steady_kw"],
        "quantum_step_kw": q["step_kw"],
        "quantum_dwell_s": q["mean_dwell_s"],
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SwingSpec(**values)
