"""Fault-tolerant resource estimates in the Azure Quantum Resource Estimator's model, and their energy.

Model (Beverland et al., arXiv 2211.07629; Azure docs; constants and sources in data/ft.toml):
- logical qubits after layout 2Q + ceil(sqrt(8Q)) + 1; logical depth = measurements + rotations + T gates
  + 3·CCZ + rotation_depth·(T states per rotation), each rotation costing ceil(0.53·log2(N_rot/eps_syn) + 5.3)
  T states; the error budget is split evenly between logical errors, T distillation and rotation synthesis;
- code distance: the smallest odd d with a·(p/p*)^((d+1)/2) <= the required error per logical qubit per cycle;
- T factories: qscale's simplified search over 1-3 rounds of one unit (15-to-1 RM prep), each round physical
  (first only) or logical at some odd distance, keeping the design with the least qubit-seconds per T state.
  Azure searches more unit types, so its factories can be smaller or faster; qscale's are an upper bound
  of that model.
Energy = the modality's power model (qpu.py) at the total physical qubit count × the runtime.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from qscale.energy.data import QecScheme, QubitModel, ft_table, modality, qec_scheme, qubit_model
from qscale.energy.inputs import assumed
from qscale.energy.qpu import SCENARIOS, power_w
from qscale.errors import QscaleUserError
from qscale.validation import check_count, check_non_negative

MAX_DISTANCE = 101


def logical_error(p: float, d: int, a: float, p_star: float) -> float:
    return a * (p / p_star) ** ((d + 1) / 2)


def code_distance(p: float, target: float, a: float = 0.03, p_star: float = 0.01) -> int:
    """Smallest odd d with a·(p/p*)^((d+1)/2) <= target."""
    if not 0 < p < p_star:
        raise QscaleUserError(f"physical error rate {p:g} must be below the code threshold {p_star:g}")
    if not 0 < target < 1:
        raise QscaleUserError(f"target logical error per cycle must be in (0, 1), got {target!r}")
    d = max(1, math.ceil(2 * math.log(a / target) / math.log(p_star / p) - 1 - 1e-12))
    if d % 2 == 0:
        d += 1
    while logical_error(p, d, a, p_star) > target:  # guard against rounding at the boundary
        d += 2
    if d > MAX_DISTANCE:
        raise QscaleUserError(f"code distance {d} exceeds {MAX_DISTANCE}: the target error is out of reach")
    return d


def scheme_for(qm: QubitModel, qec: str) -> QecScheme:
    name = qec.lower().replace("-", "_")
    if qm.instruction_set == "gate_based":
        if name != "surface_code":
            raise QscaleUserError(f"{qm.key} is gate-based: only surface_code applies (floquet_code is Majorana-only)")
        return qec_scheme("surface_code_gate_based")
    if name == "surface_code":
        return qec_scheme("surface_code_majorana")
    if name == "floquet_code":
        return qec_scheme("floquet_code")
    raise QscaleUserError(f"unknown --qec {qec!r}; known: surface_code, floquet_code")


def cycle_time_s(scheme: QecScheme, qm: QubitModel, d: int) -> float:
    if scheme.key == "surface_code_gate_based":
        assert qm.two_qubit_gate_time_s is not None
        return (4 * qm.two_qubit_gate_time_s + 2 * qm.one_qubit_measurement_time_s) * d
    factor = 20 if scheme.key == "surface_code_majorana" else 3
    return factor * qm.one_qubit_measurement_time_s * d


def qubits_per_logical(scheme: QecScheme, d: int) -> int:
    return 4 * d * d + 8 * (d - 1) if scheme.key == "floquet_code" else 2 * d * d


def _round_options(max_d: int) -> list[int]:
    """Distances a distillation round may use: 1 = physical qubits, then odd code distances."""
    return [1, *range(3, max_d + 1, 2)]


def design_factory(qm: QubitModel, scheme: QecScheme, target: float, max_d: int) -> dict[str, Any]:
    """The 15-to-1 factory with the fewest qubit-seconds per T state that reaches `target` T error."""
    unit = ft_table("distillation")
    p, a, ps = qm.clifford_error_rate, scheme.crossing_prefactor, scheme.threshold
    best: dict[str, Any] | None = None
    for n_rounds in (1, 2, 3):
        for combo in itertools.combinations_with_replacement(_round_options(max_d), n_rounds):
            if 1 in combo[1:]:
                continue  # only the first round may run on bare physical qubits
            z, rounds = qm.t_gate_error_rate, []
            for d in combo:
                c = p if d == 1 else logical_error(p, d, a, ps)
                fail = 15 * z + 356 * c
                if fail >= 1:
                    break
                z = 35 * z**3 + 7.1 * c
                rounds.append({"code_distance": d, "failure_probability": fail, "output_error": z})
            if len(rounds) != n_rounds or z > target:
                continue
            units = 1
            for r in reversed(rounds):
                r["units"] = units
                units = math.ceil(unit["inputs"] * units / (1 - r["failure_probability"]))
            for r in rounds:
                d = r["code_distance"]
                if d == 1:
                    r["physical_qubits"] = r["units"] * unit["physical_qubits"]
                    r["seconds"] = unit["physical_cycles"] * cycle_time_s(scheme, qm, 1)
                else:
                    r["physical_qubits"] = r["units"] * unit["logical_qubits"] * qubits_per_logical(scheme, d)
                    r["seconds"] = unit["logical_cycles"] * cycle_time_s(scheme, qm, d)
            qubits = max(r["physical_qubits"] for r in rounds)
            seconds = sum(r["seconds"] for r in rounds)
            outputs = 1 - rounds[-1]["failure_probability"]
            cost = qubits * seconds / outputs
            if best is None or cost < best["qubit_seconds_per_t_state"]:
                best = {
                    "unit": unit["name"],
                    "rounds": rounds,
                    "physical_qubits": qubits,
                    "seconds": seconds,
                    "t_states_per_run": outputs,
                    "input_t_states_per_run": rounds[0]["units"] * unit["inputs"],
                    "output_error": z,
                    "qubit_seconds_per_t_state": cost,
                    "source": unit["source"],
                }
    if best is None:
        raise QscaleUserError(
            f"no 1-3 round 15-to-1 factory reaches a T-state error of {target:.2e} with {qm.key}; "
            "raise --error-budget or use a better qubit model"
        )
    return best


def _budget(eps: float, has_t: bool, has_rot: bool) -> dict[str, float]:
    if has_rot:
        return {"logical": eps / 3, "t_states": eps / 3, "rotations": eps / 3}
    if has_t:
        return {"logical": eps / 2, "t_states": eps / 2, "rotations": 0.0}
    return {"logical": eps, "t_states": 0.0, "rotations": 0.0}


def estimate_ft(
    *,
    logical_qubits: float,
    qubit_model_name: str = "qubit_gate_ns_e3",
    qec: str = "surface_code",
    t_count: float = 0,
    rotation_count: float = 0,
    rotation_depth: float | None = None,
    ccz_count: float = 0,
    measurement_count: float = 0,
    logical_depth: float | None = None,
    error_budget: float = 1e-3,
    target_per_cycle: float | None = None,
    modality_name: str | None = None,
) -> dict[str, Any]:
    """Physical qubits, code distance, runtime and energy of an algorithm of the given logical size."""
    qm = qubit_model(qubit_model_name)
    scheme = scheme_for(qm, qec)
    q_alg = check_count(logical_qubits, "--logical-qubits")
    n_t, n_rot = check_count(t_count, "--t-count", 0), check_count(rotation_count, "--rotation-count", 0)
    n_ccz, n_meas = check_count(ccz_count, "--ccz-count", 0), check_count(measurement_count, "--measurement-count", 0)
    rot_depth = check_count(rotation_depth, "--rotation-depth", 0) if rotation_depth is not None else n_rot
    if rot_depth > n_rot:
        raise QscaleUserError(f"--rotation-depth ({rot_depth}) cannot exceed --rotation-count ({n_rot})")
    eps = check_non_negative(error_budget, "--error-budget")
    if not 0 < eps < 1:
        raise QscaleUserError(f"--error-budget must be in (0, 1), got {error_budget!r}")

    rot = ft_table("rotations")
    budget = _budget(eps, n_t + n_ccz + n_rot > 0, n_rot > 0)
    t_per_rot = math.ceil(rot["a"] * math.log2(n_rot / budget["rotations"]) + rot["b"]) if n_rot else 0
    t_states = n_t + 4 * n_ccz + n_rot * t_per_rot
    depth = n_meas + n_rot + n_t + 3 * n_ccz + rot_depth * t_per_rot
    if logical_depth is not None:
        depth = max(depth, check_count(logical_depth, "--logical-depth"))
    if depth < 1:
        raise QscaleUserError("give an algorithm size: --logical-depth or T/rotation/CCZ/measurement counts")
    q_layout = 2 * q_alg + math.ceil(math.sqrt(8 * q_alg)) + 1

    p, a, ps = qm.clifford_error_rate, scheme.crossing_prefactor, scheme.threshold
    cycles, factory = depth, None
    for _ in range(8):  # the factory may stretch the run, which tightens the per-cycle error target
        required = target_per_cycle if target_per_cycle is not None else budget["logical"] / (q_layout * cycles)
        d = code_distance(p, required, a, ps)
        tau = cycle_time_s(scheme, qm, d)
        if t_states == 0:
            break
        factory = design_factory(qm, scheme, budget["t_states"] / t_states, max(d, 3))
        stretched = max(depth, math.ceil(factory["seconds"] / tau))
        if stretched == cycles:
            break
        cycles = stretched
    runtime = cycles * tau
    n_factories = math.ceil(t_states * factory["seconds"] / (factory["t_states_per_run"] * runtime)) if factory else 0
    per_logical = qubits_per_logical(scheme, d)
    algo_qubits = q_layout * per_logical
    factory_qubits = n_factories * factory["physical_qubits"] if factory else 0
    physical = algo_qubits + factory_qubits

    mod = modality(modality_name or qm.modality)
    energy = {}
    for sc in SCENARIOS:
        pw = power_w(mod, physical, sc)
        energy[sc] = {"power_w": pw["total_w"], "modules": pw["modules"], "energy_j": pw["total_w"] * runtime}
    return {
        "kind": "projected",
        "model": "Azure Quantum Resource Estimator model (Beverland et al. 2022) with qscale's simplified T factory",
        "qubit_model": qm.model_dump() | {"kind": "assumed"},
        "qec_scheme": scheme.model_dump() | {"kind": "assumed"},
        "code_distance": d,
        "physical_qubits_per_logical_qubit": per_logical,
        "logical_cycle_time_s": tau,
        "required_logical_error_per_cycle": required,
        "logical_error_per_cycle": logical_error(p, d, a, ps),
        "logical_qubits_after_layout": q_layout,
        "logical_depth": cycles,
        "algorithmic_logical_depth": depth,
        "t_states": t_states,
        "t_states_per_rotation": t_per_rot,
        "t_factory": factory,
        "t_factories": n_factories,
        "physical_qubits_algorithm": algo_qubits,
        "physical_qubits_factories": factory_qubits,
        "physical_qubits": physical,
        "runtime_s": runtime,
        "error_budget": budget,
        "modality": mod.key,
        "energy_j": {sc: energy[sc]["energy_j"] for sc in SCENARIOS},
        "energy_kwh": {sc: energy[sc]["energy_j"] / 3.6e6 for sc in SCENARIOS},
        "power_w": {sc: energy[sc]["power_w"] for sc in SCENARIOS},
        "modules": {sc: energy[sc]["modules"] for sc in SCENARIOS},
        "inputs": {
            "logical_qubits": assumed(q_alg),
            "t_count": assumed(n_t),
            "rotation_count": assumed(n_rot),
            "rotation_depth": assumed(rot_depth, "user input" if rotation_depth is not None else "= rotation_count"),
            "ccz_count": assumed(n_ccz),
            "measurement_count": assumed(n_meas),
            "logical_depth": assumed(logical_depth),
            "error_budget": assumed(eps),
            "target_per_cycle": assumed(target_per_cycle, "user input (overrides the budget-derived target)"),
            "rotation_constants": assumed({"a": rot["a"], "b": rot["b"]}, rot["source"]),
            "layout": assumed("2*Q + ceil(sqrt(8*Q)) + 1", ft_table("layout")["source"]),
        },
    }
