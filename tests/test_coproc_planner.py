"""The offload planner: pricing of a workload on every platform, the rows' schema, decisions, and the device file."""

from __future__ import annotations

import math

import pytest

from qscale.coproc import planner, workloads
from qscale.coproc.breakeven import scaled
from qscale.coproc.devices import device, devices, parse_devices
from qscale.coproc.pricing import Workload, ft_row, nisq_row, nisq_seconds, time_nodes
from qscale.energy.data import modality
from qscale.energy.qpu import power_w

ROW_KEYS = {"platform", "era", "wall_s", "energy_j", "quality", "decision", "reason", "workload"}


def workload(**kw) -> Workload:
    base = {
        "task": "toy", "scope": "toy", "qubits": 8, "two_qubit_depth": 17, "two_qubit_gates": 56, "rotations": 88,
        "measurements": 8, "shots": 256, "circuits_per_iteration": 576, "iterations": 72,
        "host_s_per_iteration": 0.01,
        "classical": {"method": "exact", "seconds": 10.0, "energy_j": 100.0, "kind": "measured"},
        "quality": {"metric": "optimal fraction", "quantum": 0.9, "classical": 1.0, "higher_is_better": True,
                    "tolerance": 0.0, "kind": "simulated", "note": "test"},
        "source": "test",
    }  # fmt: skip
    return Workload(**(base | kw))


def test_nisq_row_is_the_device_model_written_out():
    dev, wl = device("heron"), workload()
    row = nisq_row(dev, wl)
    p = {k: getattr(dev, k).typical for k in ("shot_base_s", "layer_s", "readout_s", "circuit_overhead_s",
                                               "job_overhead_s", "latency_s", "queue_s")}  # fmt: skip
    shot = p["shot_base_s"] + 17 * p["layer_s"] + p["readout_s"]
    per_round = p["latency_s"] + p["job_overhead_s"] + 576 * (p["circuit_overhead_s"] + 256 * shot)  # one job
    assert row["device_s"] == pytest.approx(72 * per_round)
    assert row["wall_s"] == pytest.approx(p["queue_s"] + 72 * per_round + 72 * 0.01)
    power = power_w(modality("superconducting"), 8, "typical")["total_w"]
    assert row["energy_j"] == pytest.approx(power * 72 * per_round + 72 * 0.01 * 6.75)
    assert row["fidelity_estimate"] == pytest.approx((1 - dev.two_qubit_error.typical) ** 56)


def test_one_circuit_per_job_devices_pay_one_overhead_per_circuit_and_hqc_follow_the_formula():
    dev = device("trapped_ion")
    t = nisq_seconds(dev, 17, 576, 1, 256, "typical")
    assert t["jobs_per_iteration"] == 576
    row = nisq_row(dev, workload())
    assert row["hqc"] == pytest.approx(576 * 72 * (5 + 256 * (88 + 10 * 56 + 5 * 8) / 5000))


def test_too_wide_or_too_long_circuits_are_not_feasible():
    assert "156" in nisq_row(device("heron"), workload(qubits=200))["reason"]
    deep = nisq_row(device("heron"), workload(two_qubit_gates=10_000))  # (1 - 3.3e-3)^1e4 ~ 4e-15
    assert not deep["fits"] and "no signal" in deep["reason"]
    assert not ft_row(device("ft_2030s"), workload(qubits=500))["fits"]  # 200 logical qubits in the 2030s
    assert ft_row(device("ft_2040s"), workload(qubits=500))["fits"]


def test_fault_tolerant_row_uses_energy_ft():
    from qscale.energy.ft import estimate_ft

    dev, wl = device("ft_2040s"), workload()
    row = ft_row(dev, wl)
    est = estimate_ft(logical_qubits=8, qubit_model_name="qubit_gate_ns_e4", rotation_count=88, measurement_count=8,
                      logical_depth=1).to_json()  # fmt: skip
    assert row["ft_run"]["runtime_s"] == est["runtime_s"]
    execution = wl.circuits * wl.shots * est["runtime_s"]
    overhead = wl.iterations * (dev.latency_s.typical + dev.job_overhead_s.typical)
    assert row["device_s"] == pytest.approx(execution + overhead)


def test_outlook_time_nodes_are_the_planners_formula():
    shot, overhead = time_nodes("superconducting", 17, 576, 72, 256)
    for i, sc in enumerate(("low", "typical", "high")):
        t = nisq_seconds(device("heron"), 17, 576, 72, 256, sc)
        assert shot[i] == t["shot_s"] and overhead[i] == t["overhead_s"]


def test_rows_schema_and_decisions(monkeypatch):
    monkeypatch.setattr(planner, "cpu_bandwidth_b_s", lambda: 20e9)
    wl = workload()
    rows = planner.rows_for(wl, ["today", "2030s", "2040s"], None, "typical")
    assert {r["platform"] for r in rows} >= {"cpu", "gpu", "heron", "trapped_ion", "neutral_atom", "ft_2030s"}
    for r in rows:
        assert set(r) >= ROW_KEYS, r["platform"]
        assert r["decision"] in ("baseline", "offload", "keep classical", "not feasible", "undecided")
    by = {r["platform"]: r for r in rows}
    assert by["cpu"]["decision"] == "baseline"
    # every QPU row here is slower, costlier and below the exact solver's quality
    assert by["heron"]["decision"] == "keep classical" and "quality 0.9" in by["heron"]["reason"]
    # a task the CPU finds hard (1e9 s) and the QPU solves as well as the CPU: offload
    easy = workload(classical={"method": "x", "seconds": 1e9, "energy_j": 1e15, "kind": "measured"},
                    quality=wl.quality | {"quantum": 1.0})  # fmt: skip
    by = {r["platform"]: r for r in planner.rows_for(easy, ["today"], "superconducting", "typical")}
    assert by["heron"]["decision"] == "offload"
    assert set(by) == {"cpu", "gpu", "heron"}  # --modality keeps only that modality's QPUs


def test_noisy_quality_is_used_on_its_device_only(monkeypatch):
    monkeypatch.setattr(planner, "cpu_bandwidth_b_s", lambda: 20e9)
    q = workload().quality | {"noisy": {"device": "heron", "value": 0.5, "kind": "simulated: fake_fez noise"}}
    by = {r["platform"]: r for r in planner.rows_for(workload(quality=q), ["today"], None, "typical")}
    assert by["heron"]["quality"]["value"] == 0.5 and "fake_fez" in by["heron"]["quality"]["kind"]
    assert by["trapped_ion"]["quality"]["value"] == 0.9


def test_gpu_keeps_the_fixed_part_of_the_cpu_time(monkeypatch):
    monkeypatch.setattr(planner, "cpu_bandwidth_b_s", lambda: 33.5e9)  # 1 % of an H100's bandwidth
    wl = workload(classical={"method": "x", "seconds": 10.0, "energy_j": 1.0, "fixed_s": 4.0, "kind": "measured"})
    assert planner.gpu_row(wl)["wall_s"] == pytest.approx(4.0 + 6.0 * 0.01)


def test_every_device_number_has_a_source_and_bad_files_are_rejected():
    for key, dev in devices().items():
        for name, value in dev:
            if hasattr(value, "source"):
                assert len(value.source) > 5, (key, name)
    raw = {"devices": {"x": {"name": "x", "kind": "nisq", "era": "today", "modality": "superconducting"}}}
    with pytest.raises(ValueError, match=r"devices\.x"):
        parse_devices(raw)
    good = {k: v for k, v in device("heron").model_dump().items() if k != "key"}
    with pytest.raises(ValueError, match="low <= typical <= high"):
        parse_devices({"devices": {"x": good | {"latency_s": {"low": 2, "typical": 1, "high": 3, "source": "s"}}}})
    with pytest.raises(ValueError, match="Extra inputs"):
        parse_devices({"devices": {"x": good | {"colour": "blue"}}})


def test_planner_rejects_bad_options_before_measuring():
    from qscale.errors import QscaleUserError

    for kwargs, msg in [({"task": "nope"}, "unknown task"), ({"task": "vqe-h2", "era": "2050s"}, "unknown era"),
                        ({"task": "vqe-h2", "modality": "x"}, "unknown modality"),
                        ({"task": "vqe-h2", "scenario": "mid"}, "unknown scenario")]:  # fmt: skip
        with pytest.raises(QscaleUserError, match=msg):
            planner.plan(**kwargs)
    workloads.register("offline-task", "a task whose probe is missing here", None, "no probe in this build")
    try:
        with pytest.raises(QscaleUserError, match="not available in this build: no probe"):
            planner.plan("offline-task")
    finally:
        workloads._TASKS.pop("offline-task")


def test_vqe_h2_plan_end_to_end():
    r = planner.plan("vqe-h2", era="today", modality="superconducting")
    (wl,) = r["workloads"]
    assert wl["qubits"] == 2 and wl["shots"] == 10000
    assert wl["circuits_per_iteration"] >= 2 * (2 * 12 + 1) - 2  # measurement groups x parameter-shift rows
    assert math.isfinite(r["rows"][0]["wall_s"])
    assert [row["platform"] for row in r["rows"]] == ["cpu", "gpu", "heron"]
    cpu = r["rows"][0]
    for row in r["rows"][1:]:
        assert ("break_even" in row) == (row["platform"] != "gpu")
    be = r["rows"][2]["break_even"]
    assert set(be) >= {"time", "energy", "all_time_factor", "two_qubit_error"}
    factors = [((p,), f) for p, f in be["time"].items() if f is not None]
    factors += [(tuple(be["time"]), be["all_time_factor"])] if be["all_time_factor"] is not None else []
    for params, f in factors:  # each factor flips the row when re-priced on a device file (see test_coproc_breakeven)
        for divide, faster in ((1.1 * f, True), (f / 1.1, False)):
            again = planner.plan("vqe-h2", era="today", modality="superconducting",
                                 extra_devices={"heron": scaled(device("heron"), params, divide)})  # fmt: skip
            assert (again["rows"][2]["wall_s"] <= cpu["wall_s"]) == faster
    assert r["requirement"].startswith("vqe-h2: ")
