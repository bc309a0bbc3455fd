"""The outlook's Monte Carlo: reproducible, ordered percentiles, hand-checkable degenerate futures, checked input."""

from __future__ import annotations

import math

import pytest

from qscale.coproc.devices import device
from qscale.coproc.pricing import nisq_seconds
from qscale.energy.data import modality
from qscale.energy.ft import estimate_ft
from qscale.energy.qpu import qpu_job
from qscale.errors import QscaleUserError
from qscale.io import dumps
from qscale.outlook.ftcost import ft_run
from qscale.outlook.model import run_outlook
from qscale.outlook.scenarios import REQUIRED_RANGES, load_scenarios

FIXED = {
    "it_mw_2025": 100.0, "it_load_factor": 1.0, "demand_growth_to_2030": 0.1, "demand_growth_after_2030": 0.02,
    "pue": 1.5, "flop_per_j_2025": 1e10, "flop_efficiency_growth": 0.0, "flop_utilization": 0.5,
    "bytes_per_j_2025": 1e9, "bandwidth_efficiency_growth": 0.0, "bandwidth_utilization": 0.5,
    "qubits_2025": 1000.0, "qubit_growth": 0.0, "qubits_max_per_system": 1e4, "error_2q_2025": 1e-3,
    "error_reduction": 0.0, "error_floor": 1e-5, "ft_year": 2100.0, "max_mitigation_overhead": 100.0,
    "qpu_scenario": 0.5, "qpu_energy_reduction": 0.0, "quantum_systems": 2.0, "discount_rate": 0.07,
    "grid_price_usd_per_mwh": 50.0, "grid_co2_2025_t_per_mwh": 0.4, "grid_co2_2030_t_per_mwh": 0.2,
    "grid_co2_2045_t_per_mwh": 0.1, "grid_share_max": 1.0, "carbon_price_usd_per_t": 0.0, "smr_year": 2100.0,
    "smr_capex_2030_usd_per_kw": 7000.0, "smr_capex_2040_usd_per_kw": 5000.0, "smr_fom_pct": 1.5,
    "smr_variable_usd_per_mwh": 10.0, "smr_capacity_factor": 0.95, "fusion_year": 2100.0,
    "fusion_capex_usd_per_kw": 7000.0, "fusion_fom_pct": 3.0, "fusion_variable_usd_per_mwh": 5.0,
    "fusion_capacity_factor": 0.8, "gas_capex_usd_per_kw": 1000.0, "gas_fom_pct": 2.0, "gas_fuel_usd_per_mmbtu": 100.0,
    "gas_heat_rate_mmbtu_per_mwh": 6.44, "gas_co2_t_per_mmbtu": 0.053, "gas_capacity_factor": 0.85,
    "plant_lifetime_years": 30.0, "storage_power_fraction": 0.0, "storage_usd_per_kw": 100.0,
    "storage_lifetime_years": 15.0,
}  # fmt: skip
TOY = {
    "family": "test", "label": "toy QAOA circuit", "scale": "study", "qubits": 8, "two_qubit_gates": 0,
    "two_qubit_depth": 17, "rotations": 88, "rotation_depth": 16, "measurements": 8, "shots": 256, "circuits": 1,
    "iterations": 1, "source": "test", "classical_flops": 5e9, "classical_bytes": 0, "classical_method": "test",
    "classical_source": "test", "quality_supported": True, "quality_note": "test",
}  # fmt: skip


def fixed(tasks: dict, **overrides: float) -> dict:
    """A scenario where every range has zero width: the Monte Carlo must give one deterministic future."""
    values = FIXED | overrides
    ranges = {k: {"low": v, "high": v, "source": "test: fixed"} for k, v in values.items()}
    return {"ranges": ranges, "tasks": tasks, "meta": {"tasks": list(tasks)}}


def typical_overhead_s() -> float:
    """One circuit in one job in one round on today's superconducting device (coproc/devices.toml, typical)."""
    d = device("heron")
    return d.latency_s.typical + d.job_overhead_s.typical + d.circuit_overhead_s.typical


def typical_qpu_energy(qubits: int, depth: int, runs: float, shot_factor: float = 1.0) -> float:
    """qpu.py's power model x the offload planner's device time, written out by hand at typical values."""
    m, d = modality("superconducting"), device("heron")
    power = math.ceil(qubits / m.qubits_per_module.typical) * m.static_w.typical + qubits * (
        m.control_w_per_qubit.typical + m.readout_w_per_qubit.typical
    )
    shot = d.shot_base_s.typical + depth * d.layer_s.typical + d.readout_s.typical
    return power * (runs * shot_factor * shot + typical_overhead_s())


def test_same_seed_same_result_other_seed_differs():
    a = run_outlook(samples=150, seed=3, years=[2030, 2040]).to_json()
    b = run_outlook(samples=150, seed=3, years=[2030, 2040]).to_json()
    c = run_outlook(samples=150, seed=4, years=[2030, 2040]).to_json()
    for r in (a, b, c):
        r.pop("seconds")
    assert dumps(a) == dumps(b)
    assert a["campus"]["energy_mwh"]["2030"] != c["campus"]["energy_mwh"]["2030"]


def test_percentiles_are_ordered_and_years_as_asked():
    r = run_outlook(samples=300, seed=1, years=[2045, 2030, 2035]).to_json()
    assert r["years"] == [2030, 2035, 2045]
    series = [r["campus"][f] for f in ("energy_mwh", "cost_usd_per_year", "cost_usd_per_mwh", "co2_t_per_year")]
    for t in r["tasks"].values():
        series += [t["classical_energy_j"], t["qpu_energy_j"]]
    checked = 0
    for s in series:
        for y in r["years"]:
            p = s[str(y)]
            if p["p5"] is None:
                continue
            assert p["p5"] <= p["p25"] <= p["p50"] <= p["p75"] <= p["p95"], (p, y)
            checked += 1
    assert checked > 20
    # demand grows: the median campus uses more energy in 2045 than in 2030
    assert r["campus"]["energy_mwh"]["2045"]["p50"] > r["campus"]["energy_mwh"]["2030"]["p50"]
    for t in r["tasks"].values():
        for y in r["years"]:
            assert 0.0 <= t["p_qpu_saves_energy"][str(y)] <= t["p_qpu_feasible"][str(y)] <= 1.0


def test_degenerate_scenario_gives_the_hand_computed_future():
    tasks = {
        "toy": TOY,
        "toy_saves": TOY | {"classical_flops": 1e20},
        "toy_mitigated": TOY | {"two_qubit_gates": 100},
        "toy_too_big": TOY | {"qubits": 20000},
    }
    r = run_outlook(samples=7, seed=11, years=[2030, 2040], scenarios=fixed(tasks)).to_json()
    m = modality("superconducting")
    hall_mw = 2 * (m.static_w.typical + 1000 * m.control_w_per_qubit.typical) / 1e6  # 1,000 qubits: one module
    it_2030 = 100 * 1.1**5
    it_2040 = it_2030 * 1.02**10
    expect = {
        "2030": {"energy": (it_2030 + hall_mw) * 1.5 * 8760, "co2": 0.2},
        "2040": {"energy": (it_2040 + hall_mw) * 1.5 * 8760, "co2": 0.2 + (10 / 15) * (0.1 - 0.2)},
    }
    for y, e in expect.items():
        energy = r["campus"]["energy_mwh"][y]
        assert energy["p5"] == pytest.approx(energy["p95"], rel=1e-12)
        assert energy["p50"] == pytest.approx(e["energy"], rel=1e-9)
        assert r["campus"]["cost_usd_per_mwh"][y]["p50"] == pytest.approx(50.0)  # grid at 50 USD/MWh, no storage
        assert r["campus"]["co2_t_per_year"][y]["p50"] == pytest.approx(e["energy"] * e["co2"], rel=1e-9)
        assert r["campus"]["supply_share"][y] == {"grid": 1.0, "smr": 0.0, "fusion": 0.0, "gas": 0.0}

    toy = r["tasks"]["toy"]
    qpu = typical_qpu_energy(8, 17, 256)
    priced = nisq_seconds(device("heron"), 17, 1, 1, 256, "typical")["device_s"]  # the planner's one model
    assert qpu == pytest.approx(qpu_job("superconducting", 8, 17, 256).report["power_w"]["typical"] * priced, rel=1e-12)
    for y in ("2030", "2040"):
        assert toy["classical_energy_j"][y]["p50"] == pytest.approx(5e9 / (1e10 * 0.5))  # 1 J
        assert toy["qpu_energy_j"][y]["p5"] == pytest.approx(qpu, rel=1e-9)
        assert toy["qpu_energy_j"][y]["p95"] == pytest.approx(qpu, rel=1e-9)
        assert toy["p_qpu_saves_energy"][y] == 0.0
        assert toy["qpu_mode_share"][y]["nisq"] == 1.0
        assert r["tasks"]["toy_saves"]["p_qpu_saves_energy"][y] == 1.0
        # error mitigation: shots x exp(4 p G) with p = 1e-3 and G = 100 two-qubit gates
        mitigated = typical_qpu_energy(8, 17, 256, shot_factor=math.exp(4 * 1e-3 * 100))
        assert r["tasks"]["toy_mitigated"]["qpu_energy_j"][y]["p50"] == pytest.approx(mitigated, rel=1e-9)
        big = r["tasks"]["toy_too_big"]
        assert big["p_qpu_feasible"][y] == 0.0 and big["qpu_energy_j"][y]["p50"] is None
        assert big["qpu_mode_share"][y]["none"] == 1.0
    assert toy["first_year_majority_saves"] is None
    assert r["tasks"]["toy_saves"]["first_year_majority_saves"] == 2030


def test_degenerate_fault_tolerant_path_matches_the_estimator():
    """NISQ ruled out (no mitigation allowed, gates present), FT from 2030: energy = Azure-model run x runs."""
    task = TOY | {"two_qubit_gates": 56, "shots": 100}
    sc = fixed({"ft": task}, ft_year=2030.0, max_mitigation_overhead=1.0, qubits_2025=1e6, qubits_max_per_system=1e6)
    r = run_outlook(samples=3, seed=0, years=[2029, 2030], scenarios=sc).to_json()
    est = estimate_ft(
        logical_qubits=8, rotation_count=88, rotation_depth=16, measurement_count=8, qubit_model_name="qubit_gate_ns_e3"
    ).to_json()
    expected = est["power_w"]["typical"] * (100 * est["runtime_s"] + typical_overhead_s())
    t = r["tasks"]["ft"]
    assert t["p_qpu_feasible"]["2029"] == 0.0  # before the fault-tolerance year
    assert t["qpu_mode_share"]["2030"]["ft"] == 1.0
    assert t["qpu_energy_j"]["2030"]["p50"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("p", "model"), [(1e-3, "qubit_gate_ns_e3"), (1e-4, "qubit_gate_ns_e4")])
def test_ft_at_a_sampled_error_rate_equals_the_named_azure_model(p, model):
    run = ft_run(31, 5e6, 2e4, 2e4, 19, p)
    est = estimate_ft(
        logical_qubits=31, t_count=5e6, rotation_count=2e4, rotation_depth=2e4, measurement_count=19,
        qubit_model_name=model,
    ).to_json()  # fmt: skip
    assert run is not None
    assert run.runtime_s == pytest.approx(est["runtime_s"], rel=1e-12)
    assert run.physical_qubits == est["physical_qubits"]
    assert run.code_distance == est["code_distance"]
    assert ft_run(31, 5e6, 2e4, 2e4, 19, 0.02) is None  # above the surface-code threshold


def test_default_scenarios_name_a_source_for_every_range():
    sc = load_scenarios()
    assert set(sc.ranges) == set(REQUIRED_RANGES)
    for name, r in sc.ranges.items():
        assert len(r.source) > 10, name
        if r.assumed:
            assert any(w in r.source.lower() for w in ("assum", "placeholder")), name
    assert {t.scale for t in sc.tasks.values()} == {"study", "scaled"}
    assert {t.family for t in sc.tasks.values()} >= {"QAOA weight quantization", "quantum PCA", "VQE / Born machine"}
    assert any(not t.quality_supported for t in sc.tasks.values())


def test_study_size_tasks_never_save_energy_and_unsupported_ones_are_flagged():
    r = run_outlook(samples=200, seed=2).to_json()
    for key, t in r["tasks"].items():
        if t["scale"] == "study":
            assert all(p == 0.0 for p in t["p_qpu_saves_energy"].values()), key
    flagged = set(r["unsupported_quality_assumptions"])
    assert flagged == {k for k, t in r["tasks"].items() if not t["quality_supported"]} and flagged
    for verdict in r["verdicts"]:
        key = verdict.split(":")[0]
        if key in flagged and "never" not in verdict:
            assert "no source supports" in verdict


def _bad(**range_fields):
    return {"ranges": {"pue": {"low": 1.2, "high": 1.3, "source": "test"} | range_fields}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (_bad(low=1.5), "above high"),
        (_bad(source=""), "source"),
        (_bad(dist="normal"), "ranges.pue.dist"),
        ({"ranges": {"pue_typo": {"low": 1, "high": 1, "source": "test"}}}, "unknown ranges: pue_typo"),
        ({"ranges": {"grid_share_max": {"low": 0.5, "high": 1.5, "source": "test"}}}, r"within \[0, 1\]"),
        ({"ranges": {"qubits_2025": {"low": 0, "high": 10, "source": "test", "dist": "loguniform"}}}, "low > 0"),
        ({"ranges": {"carbon_price_usd_per_t": {"low": -5, "high": 10, "source": "test"}}}, "negative"),
        ({"meta": {"tasks": ["no_such_task"]}}, "unknown tasks: no_such_task"),
        ({"tasks": {"x": TOY | {"classical_flops": 0}}}, "classical work"),
        ({"tasks": {"x": TOY | {"shots": 0}}}, "tasks.x.shots"),
        ({"extra": {}}, "unknown section"),
    ],
)
def test_bad_scenarios_are_user_errors_naming_the_entry(override, message):
    with pytest.raises(QscaleUserError, match=message):
        load_scenarios(override)


def test_bad_call_arguments_are_user_errors(tmp_path):
    with pytest.raises(QscaleUserError, match="--samples"):
        run_outlook(samples=0)
    with pytest.raises(QscaleUserError, match="--seed"):
        run_outlook(samples=5, seed=-1)
    with pytest.raises(QscaleUserError, match="years must lie"):
        run_outlook(samples=5, years=[2024])
    with pytest.raises(QscaleUserError, match="not found"):
        load_scenarios(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[ranges.pue\nlow = 1")
    with pytest.raises(QscaleUserError, match="not valid TOML"):
        load_scenarios(bad)
