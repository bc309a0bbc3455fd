"""Fault-tolerant runtime and size of one run of a task at a roadmap's physical error rate.

A roadmap samples the error rate continuously, while qscale.energy.ft.estimate_ft names the Azure estimator's
qubit models (errors 1e-3 or 1e-4). This module passes estimate_ft a copy of `qubit_gate_ns_e3` whose Clifford
and T error rates are the sampled one, so the outlook and `qscale energy ft` are one model. Results are cached
on log10(p) rounded to LOG_STEP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from qscale.energy.data import qubit_model
from qscale.energy.ft import estimate_ft
from qscale.errors import QscaleUserError

QUBIT_MODEL = "qubit_gate_ns_e3"  # gate and measurement times of the gate-based superconducting model
LOG_STEP = 0.02  # cache resolution in log10(p): about 5 % in p


@dataclass(frozen=True)
class FtRun:
    runtime_s: float  # one run (one shot) of the algorithm
    physical_qubits: int
    code_distance: int


@cache
def _ft_run(q: int, t_count: int, rotations: int, rotation_depth: int, measurements: int, log_p: float):
    p = 10.0**log_p
    qm = qubit_model(QUBIT_MODEL).model_copy(update={"clifford_error_rate": p, "t_gate_error_rate": p})
    depth = None if rotations or t_count or measurements else 1
    try:
        r = estimate_ft(
            logical_qubits=q, qubit_model_name=qm, t_count=t_count, rotation_count=rotations,
            rotation_depth=rotation_depth if rotations else None, measurement_count=measurements, logical_depth=depth,
        ).to_json()  # fmt: skip
    except QscaleUserError:
        return None  # above threshold, or the target is out of the model's reach
    return FtRun(r["runtime_s"], int(r["physical_qubits"]), r["code_distance"])


def ft_run(
    logical_qubits: int, t_count: float, rotations: float, rotation_depth: float, measurements: float, p: float
) -> FtRun | None:
    """One run on a surface-code machine with physical error p; None where the model cannot reach the budget."""
    if not 0 < p < 1:
        return None
    log_p = round(math.log10(p) / LOG_STEP) * LOG_STEP
    counts = (round(t_count), round(rotations), min(round(rotation_depth), round(rotations)), round(measurements))
    return _ft_run(max(1, int(logical_qubits)), *counts, round(log_p, 6))
