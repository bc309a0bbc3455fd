"""Fault-tolerant runtime and size of one run of a task at a roadmap's physical error rate.

qscale.energy.ft.estimate_ft takes the Azure estimator's named qubit models (errors 1e-3 or 1e-4); a roadmap
samples the error rate continuously, so this module runs the same model (its code distance, T factory and
cycle-time functions, and its error-budget split) on a copy of `qubit_gate_ns_e3` whose Clifford and T error
rates are the sampled one. Results are cached on log10(p) rounded to LOG_STEP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from qscale.energy.data import ft_table, qubit_model
from qscale.energy.ft import code_distance, cycle_time_s, design_factory, qubits_per_logical, scheme_for
from qscale.errors import QscaleUserError

QUBIT_MODEL = "qubit_gate_ns_e3"  # gate and measurement times of the gate-based superconducting model
ERROR_BUDGET = 1e-3  # the Azure estimator's default total error budget per run
LOG_STEP = 0.02  # cache resolution in log10(p): about 5 % in p
# estimate_ft lets factory rounds use code distances up to the algorithm's; small circuits then find no factory
# for their T-state target. Here the rounds may go further, up to these distances, before giving up.
FACTORY_DISTANCES = (25, 41)


@dataclass(frozen=True)
class FtRun:
    runtime_s: float  # one run (one shot) of the algorithm
    physical_qubits: int
    code_distance: int


def _split(has_t: bool, has_rot: bool) -> tuple[float, float, float]:
    """(logical, T states, rotations) shares of the budget, as qscale.energy.ft splits it."""
    if has_rot:
        return ERROR_BUDGET / 3, ERROR_BUDGET / 3, ERROR_BUDGET / 3
    if has_t:
        return ERROR_BUDGET / 2, ERROR_BUDGET / 2, 0.0
    return ERROR_BUDGET, 0.0, 0.0


def _factory(qm, scheme, target: float, max_d: int) -> dict:
    """estimate_ft's factory search, widened to larger round distances when the first search finds none."""
    for limit in (max_d, *(x for x in FACTORY_DISTANCES if x > max_d)):
        try:
            return design_factory(qm, scheme, target, limit)
        except QscaleUserError:
            continue
    raise QscaleUserError(f"no T factory reaches {target:.2e}")


@cache
def _ft_run(q: int, t_count: float, rotations: float, rotation_depth: float, measurements: float, log_p: float):
    p = 10.0**log_p
    qm = qubit_model(QUBIT_MODEL).model_copy(update={"clifford_error_rate": p, "t_gate_error_rate": p})
    scheme = scheme_for(qm, "surface_code")
    e_logical, e_t, e_rot = _split(t_count > 0, rotations > 0)
    rot = ft_table("rotations")
    t_per_rot = math.ceil(rot["a"] * math.log2(rotations / e_rot) + rot["b"]) if rotations else 0
    t_states = t_count + rotations * t_per_rot
    depth = max(1.0, measurements + rotations + t_count + rotation_depth * t_per_rot)
    q_layout = 2 * q + math.ceil(math.sqrt(8 * q)) + 1
    cycles, factory = depth, None
    try:
        for _ in range(8):  # the factory may stretch the run, which tightens the per-cycle target
            d = code_distance(p, e_logical / (q_layout * cycles), scheme.crossing_prefactor, scheme.threshold)
            tau = cycle_time_s(scheme, qm, d)
            if t_states == 0:
                break
            factory = _factory(qm, scheme, e_t / t_states, max(d, 3))
            stretched = max(depth, math.ceil(factory["seconds"] / tau))
            if stretched == cycles:
                break
            cycles = stretched
    except QscaleUserError:
        return None  # above threshold, or the target is out of the model's reach
    runtime = cycles * tau
    physical = q_layout * qubits_per_logical(scheme, d)
    if factory is not None:
        n_factories = math.ceil(t_states * factory["seconds"] / (factory["t_states_per_run"] * runtime))
        physical += n_factories * factory["physical_qubits"]
    return FtRun(runtime, int(physical), d)


def ft_run(
    logical_qubits: int, t_count: float, rotations: float, rotation_depth: float, measurements: float, p: float
) -> FtRun | None:
    """One run on a surface-code machine with physical error p; None where the model cannot reach the budget."""
    if not 0 < p < 1:
        return None
    log_p = round(math.log10(p) / LOG_STEP) * LOG_STEP
    return _ft_run(int(logical_qubits), float(t_count), float(rotations), float(rotation_depth),
                   float(measurements), round(log_p, 6))  # fmt: skip
