"""Break-even requirements: each factor is the pricing model solved backwards, checked by re-pricing the row with
a devices file (`qscale offload --devices`) where the parameter is divided by 1.1 F (the row ties or wins) and by
F / 1.1 (it loses); the same for all time parameters together. Bad devices files exit 2 with one line."""

from __future__ import annotations

import contextlib
import json

import pytest
import tomli_w
from typer.testing import CliRunner

from qscale.cli import app
from qscale.coproc import workloads
from qscale.coproc.breakeven import scaled, time_params, two_qubit_error
from qscale.coproc.devices import device, devices
from qscale.coproc.pricing import Workload

runner = CliRunner()
TASK = "toy-breakeven"


def toy(seconds: float = 3000.0, j_per_s: float = 50.0) -> Workload:
    return Workload(
        task=TASK, scope="toy", qubits=8, two_qubit_depth=17, two_qubit_gates=56, rotations=88, measurements=8,
        shots=256, circuits_per_iteration=576, iterations=72, host_s_per_iteration=0.01,
        classical={"method": "exact", "seconds": seconds, "energy_j": seconds * j_per_s, "kind": "measured"},
        quality={"metric": "|E - E_exact|", "quantum": 0.0, "classical": 0.0, "higher_is_better": False,
                 "tolerance": 1.6e-3, "depolarized": 0.8, "kind": "simulated", "note": "test"},
        source="test",
    )  # fmt: skip


@contextlib.contextmanager
def registered(wl: Workload):
    workloads.register(TASK, "a synthetic workload", lambda: [wl])
    workloads._measured.cache_clear()
    try:
        yield TASK
    finally:
        workloads._TASKS.pop(TASK)
        workloads._measured.cache_clear()


@pytest.fixture
def toy_task():
    with registered(toy()) as name:
        yield name


def offload(tmp_path, *extra: str) -> tuple[int, dict | None, str]:
    res = runner.invoke(app, ["offload", "--task", TASK, *extra, "--json"])
    return res.exit_code, (json.loads(res.stdout) if res.exit_code == 0 else None), res.stderr


def write_devices(path, table: dict) -> str:
    clean = {k: {f: v for f, v in d.model_dump().items() if v is not None and f != "key"} for k, d in table.items()}
    path.write_text(tomli_w.dumps({"devices": clean}))
    return str(path)


def repriced(tmp_path, platform: str, params: tuple[str, ...], divide_by: float) -> dict:
    path = write_devices(tmp_path / "dev.toml", {platform: scaled(device(platform), params, divide_by)})
    code, out, err = offload(tmp_path, "--devices", path)
    assert code == 0, err
    return next(r for r in out["rows"] if r["platform"] == platform)


def test_every_qpu_row_has_break_even_and_each_factor_flips_the_row(toy_task, tmp_path):
    code, out, err = offload(tmp_path)
    assert code == 0, err
    cpu = out["rows"][0]
    checked = 0
    for row in out["rows"][2:]:
        be = row["break_even"]
        assert set(be) >= {"time", "energy", "all_time_factor", "two_qubit_error"}
        assert set(be["time"]) == set(time_params(device(row["platform"])))
        assert "qpu_power_w" in be["energy"]
        factors = [((p,), f) for p, f in be["time"].items() if f is not None]
        if be["all_time_factor"] is not None:
            factors.append((time_params(device(row["platform"])), be["all_time_factor"]))
        for params, f in factors:
            assert repriced(tmp_path, row["platform"], params, 1.1 * f)["wall_s"] <= cpu["wall_s"]
            assert repriced(tmp_path, row["platform"], params, f / 1.1)["wall_s"] > cpu["wall_s"]
            checked += 1
    assert checked >= 3  # the toy is built so that several factors exist (shot time dominates heron's wall time)
    heron = next(r for r in out["rows"] if r["platform"] == "heron")["break_even"]
    assert heron["time"]["queue_s"] is None  # 60 s of queue is not what keeps heron behind 3000 s
    assert heron["time"]["shot_base_s"] is not None and heron["all_time_factor"] < heron["time"]["shot_base_s"]
    assert "needs" in out["requirement"] and "lower than" in out["requirement"]


def test_energy_factors_flip_energy(tmp_path):
    with registered(toy(j_per_s=1.5e4)):  # a classical run drawing 15 kW: heron's shot time decides its energy
        _, out, _ = offload(tmp_path)
        _check_energy(tmp_path, out)


def _check_energy(tmp_path, out: dict) -> None:
    cpu = out["rows"][0]
    row = next(r for r in out["rows"] if r["platform"] == "heron")
    f = row["break_even"]["energy"]["shot_base_s"]
    assert f is not None
    assert repriced(tmp_path, "heron", ("shot_base_s",), 1.1 * f)["energy_j"] <= cpu["energy_j"]
    assert repriced(tmp_path, "heron", ("shot_base_s",), f / 1.1)["energy_j"] > cpu["energy_j"]
    p = row["break_even"]["energy"]["qpu_power_w"]
    assert row["qpu_power_w"] * row["device_s"] / p + 6.75 * row["host_s"] == pytest.approx(cpu["energy_j"], rel=0.01)


def test_two_qubit_error_is_where_the_depolarised_quality_meets_the_tolerance():
    wl = toy()
    p2 = two_qubit_error(wl)
    fidelity = (1 - p2) ** wl.two_qubit_gates
    assert fidelity * 0.0 + (1 - fidelity) * 0.8 == pytest.approx(1.6e-3, rel=1e-6)
    assert two_qubit_error(Workload(**{**wl.__dict__, "quality": wl.quality | {"quantum": 0.01}})) is None


def test_a_row_already_faster_has_a_factor_below_one_and_devices_file_adds_a_machine(tmp_path):
    with registered(toy(seconds=1e7)):
        mine = device("heron").model_copy(update={"key": "my_heron", "name": "my Heron"})
        code, out, err = offload(
            tmp_path, "--era", "today", "--devices", write_devices(tmp_path / "d.toml", {"my_heron": mine})
        )
        assert code == 0, err
        rows = {r["platform"]: r for r in out["rows"]}
        assert rows["my_heron"]["wall_s"] == pytest.approx(rows["heron"]["wall_s"])
        assert 0 < rows["heron"]["break_even"]["time"]["queue_s"] < 1
        assert out["devices_file"] == ["my_heron"]


def _heron_entry() -> dict:
    return {k: v for k, v in device("heron").model_dump().items() if v is not None and k != "key"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e["latency_s"].update(low=-1.0), "devices.mine.latency_s.low"),
        (lambda e: e.update(colour="blue"), "devices.mine.colour"),
        (lambda e: e["queue_s"].pop("source"), "devices.mine.queue_s.source"),
        (lambda e: e["max_qubits"].pop("source"), "devices.mine.max_qubits.source"),
    ],
)
def test_bad_devices_file_exits_2_with_one_line(tmp_path, change, reason):
    entry = _heron_entry()
    change(entry)
    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps({"devices": {"mine": entry}}))
    res = runner.invoke(app, ["offload", "--task", "vqe-h2", "--devices", str(path), "--json"])
    assert res.exit_code == 2 and res.stdout == ""
    assert reason in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_built_in_devices_are_unchanged_by_a_devices_file(tmp_path):
    before = dict(devices())
    path = write_devices(tmp_path / "d.toml", {"heron": scaled(device("heron"), ("queue_s",), 2.0)})
    from qscale.coproc.devices import load_devices_file

    assert load_devices_file(path)["heron"].queue_s.typical == before["heron"].queue_s.typical / 2
    assert devices() == before
