"""Fault-tolerant resource estimates in the Azure Quantum Resource Estimator's model, and their energy.

Model (Beverland et al., arXiv 2211.07629; Azure docs; constants and sources in data/ft.toml):
- logical qubits after layout 2Q + ceil(sqrt(8Q)) + 1; logical depth = measurements + rotations + T gates
  + 3·CCZ + rotation_depth·(T states per rotation), each rotation costing ceil(0.53·log2(N_rot/eps_syn) + 5.3)
  T states; the error budget is split evenly between logical errors, T distillation and rotation synthesis;
- code distance: the smallest odd d with a·(p/p*)^((d+1)/2) <= the required error per logical qubit per cycle;
- T factories (ft_factory.py): the estimator's two 15-to-1 units over 1-3 rounds; the run keeps the factory
  of least qubit-time per T state that fits in it, stretches the run to a factory's length when none fits,
  and raises the distance when stretching would break the error budget; copies = ceil(T states / (whole
  factory runs within the runtime x states per run)). Agrees with qsharp's estimator (benchmarks/ft_vs_qsharp.py).
Energy = the modality's power model (qpu.py) at the total physical qubit count × the runtime.
"""

from __future__ import annotations

import math

from qscale.energy.data import QecScheme, QubitModel, ft_table, modality, qec_scheme, qubit_model
from qscale.energy.ft_factory import Factory, Level, Round, candidates, pick
from qscale.energy.inputs import assumed
from qscale.energy.qpu import SCENARIOS, power_w
from qscale.errors import QscaleUserError
from qscale.io import Result
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


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


def level(qm: QubitModel, scheme: QecScheme, d: int) -> Level:
    """What a distillation round at distance d runs on; d = 1 is bare physical qubits (one measurement a cycle)."""
    if d == 1:
        return Level(1, 1, _ns(qm.one_qubit_measurement_time_s), qm.clifford_error_rate)
    err = logical_error(qm.clifford_error_rate, d, scheme.crossing_prefactor, scheme.threshold)
    return Level(d, qubits_per_logical(scheme, d), _ns(cycle_time_s(scheme, qm, d)), err)


def factory_candidates(qm: QubitModel, scheme: QecScheme, target: float, max_d: int) -> list[Factory]:
    """Factories reaching a T-state error of `target` with rounds at distances up to max_d (ft_factory.py).

    Where the physical T gates are already good enough, the estimator's trivial factory: one patch at max_d
    that hands out one T state per logical cycle.
    """
    if target > qm.t_gate_error_rate:
        lv = level(qm, scheme, max_d)
        trivial = Round("trivial 1-to-1", max_d, 1, lv.qubits_per_unit_qubit, lv.cycle_ns, 0.0, qm.t_gate_error_rate)
        return [Factory((trivial,), trivial.physical_qubits, trivial.duration_ns, 1, 1, qm.t_gate_error_rate)]
    return candidates(lambda d: level(qm, scheme, d), qm.t_gate_error_rate, target, max_d)


def _factory_source() -> str:
    units_src = "; ".join(u["source"] for u in ft_table("distillation_units").values())
    return f"{ft_table('distillation')['source']}; {units_src}"


def _budget(eps: float, has_t: bool, has_rot: bool) -> dict[str, float]:
    if has_rot:
        return {"logical": eps / 3, "t_states": eps / 3, "rotations": eps / 3}
    if has_t:
        return {"logical": eps / 2, "t_states": eps / 2, "rotations": 0.0}
    return {"logical": eps, "t_states": 0.0, "rotations": 0.0}


def _choose(
    qm: QubitModel,
    scheme: QecScheme,
    q_layout: int,
    depth: int,
    t_states: int,
    budget: dict[str, float],
    target_per_cycle: float | None,
) -> tuple[int, int, Factory | None, int, float]:
    """(code distance, cycles, factory, factory copies, required error per cycle), as the Azure estimator picks.

    Start at the algorithm's depth; take the least qubit-time factory that fits inside the run; else the least
    one that fits if the run is stretched to the factory's length without breaking this distance's error
    budget; else give up this distance (next cycles = what it allows + 1, which raises the distance).
    """
    p, a, ps = qm.clifford_error_rate, scheme.crossing_prefactor, scheme.threshold
    cycles = depth
    while True:
        required = target_per_cycle if target_per_cycle is not None else budget["logical"] / (q_layout * cycles)
        d = code_distance(p, required, a, ps)
        if t_states == 0:
            return d, cycles, None, 0, required
        tau = _ns(cycle_time_s(scheme, qm, d))
        found = factory_candidates(qm, scheme, budget["t_states"] / t_states, d)
        max_cycles: float = math.inf  # a fixed per-cycle target fixes d: the run may stretch without limit
        if target_per_cycle is None:
            max_cycles = math.floor(budget["logical"] / (q_layout * logical_error(p, d, a, ps)))
        f = pick(found, cycles * tau)
        if f is None:
            f = min((g for g in found if -(-g.duration_ns // tau) <= max_cycles), key=lambda g: g.normalized_volume,
                    default=None)  # fmt: skip
            if f is not None:
                cycles = -(-f.duration_ns // tau)
        if f is not None:
            per_copy = (tau * cycles // f.duration_ns) * f.t_states_per_run  # whole factory runs in the run
            copies = -(-t_states // per_copy)
            return d, cycles, f, copies, required
        if not math.isfinite(max_cycles):
            raise QscaleUserError(f"no T factory reaches a T-state error of {budget['t_states'] / t_states:.2e}")
        cycles = max_cycles + 1


class FtResult(Result):
    """`estimate_ft`'s answer: the `qscale energy ft` JSON (code distance, physical qubits, runtime, energy)."""


def estimate_ft(
    *,
    logical_qubits: float,
    qubit_model_name: str | QubitModel = "qubit_gate_ns_e3",
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
) -> FtResult:
    """Physical qubits, code distance, runtime and energy of an algorithm of the given logical size.

    `qubit_model_name` is a named model from data/ft.toml or a QubitModel itself (the outlook passes a copy with a
    sampled error rate), so that every fault-tolerant figure in qscale comes from this one function.
    """
    qm = qubit_model_name if isinstance(qubit_model_name, QubitModel) else qubit_model(qubit_model_name)
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
    d, cycles, fac, n_factories, required = _choose(qm, scheme, q_layout, depth, t_states, budget, target_per_cycle)
    tau = cycle_time_s(scheme, qm, d)
    runtime = cycles * _ns(tau) * 1e-9
    factory = fac.as_dict(_factory_source()) if fac else None
    per_logical = qubits_per_logical(scheme, d)
    algo_qubits = q_layout * per_logical
    factory_qubits = n_factories * fac.physical_qubits if fac else 0
    physical = algo_qubits + factory_qubits

    mod = modality(modality_name or qm.modality)
    energy = {}
    for sc in SCENARIOS:
        pw = power_w(mod, physical, sc)
        energy[sc] = {"power_w": pw["total_w"], "modules": pw["modules"], "energy_j": pw["total_w"] * runtime}
    return FtResult({
        "kind": "projected",
        "model": "Azure Quantum Resource Estimator model (Beverland et al. 2022), its T-factory search",
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
    })
