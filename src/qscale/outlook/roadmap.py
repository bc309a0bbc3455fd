"""Quantum hardware by year (qubits per system, two-qubit error) and QPU figures inside qpu.toml's ranges.

qscale.energy.qpu gives each power and time parameter as low / typical / high; a sample's `qpu_scenario`
u in [0, 1] places it on that range, log-linearly (0 = low, 0.5 = typical, 1 = high), so the outlook stays
on the published (or stated) ranges instead of inventing new ones.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from qscale.energy.data import modality
from qscale.energy.qpu import SCENARIOS, power_w
from qscale.outlook.sampling import Draws, compound


def qubits_per_system(d: Draws, year: int, base_year: int) -> np.ndarray:
    """Physical qubits of one system: today's count grown at the sampled rate, up to the sampled ceiling."""
    return np.minimum(compound(d["qubits_2025"], d["qubit_growth"], year - base_year), d["qubits_max_per_system"])


def error_2q(d: Draws, year: int, base_year: int) -> np.ndarray:
    """Two-qubit gate error: today's error falling at the sampled rate, not below the sampled floor."""
    falling = d["error_2q_2025"] * (1.0 - d["error_reduction"]) ** (year - base_year)
    return np.maximum(falling, d["error_floor"])


def qpu_improvement(d: Draws, year: int, base_year: int) -> np.ndarray:
    """Factor (<= 1) on QPU energy from the assumed yearly reduction of power and time per qubit."""
    return (1.0 - d["qpu_energy_reduction"]) ** (year - base_year)


def on_range(values, u: np.ndarray) -> np.ndarray:
    """Place u in [0, 1] on (low, typical, high): log-linear between the nodes (linear if a value is 0).

    `values` has shape (3,) (the same nodes for every sample) or (3, samples).
    """
    v = np.asarray(values, dtype=float)
    lo = u < 0.5
    w = np.where(lo, u / 0.5, (u - 0.5) / 0.5)
    if np.all(v > 0):
        lv = np.log(v)
        return np.exp(np.where(lo, lv[0] + w * (lv[1] - lv[0]), lv[1] + w * (lv[2] - lv[1])))
    return np.where(lo, v[0] + w * (v[1] - v[0]), v[1] + w * (v[2] - v[1]))


@cache
def power_nodes(modality_name: str, qubits: int) -> tuple[float, float, float]:
    """Power (W) of a machine holding `qubits` qubits at qpu.toml's low / typical / high."""
    mod = modality(modality_name)
    return tuple(power_w(mod, int(qubits), sc)["total_w"] for sc in SCENARIOS)  # type: ignore[return-value]


def power_per_system(modality_name: str, qubits: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Power (W) of one system per sample (a machine of that many qubits, qpu.py's model)."""
    q = np.maximum(1, np.ceil(qubits)).astype(np.int64)
    nodes = np.array([power_nodes(modality_name, int(qi)) for qi in q]).reshape(len(q), 3).T
    return on_range(nodes, u)


def time_nodes(modality_name: str, two_qubit_depth: float, circuits: float, iterations: float, shots: float):
    """(seconds per shot, overhead seconds of the whole job) at low / typical / high: the offload planner's
    pricing (qscale.coproc.pricing) on today's device of the modality, so the outlook and `qscale offload` agree."""
    from qscale.coproc.pricing import time_nodes as priced

    return priced(modality_name, float(two_qubit_depth), float(circuits), float(iterations), float(shots))
