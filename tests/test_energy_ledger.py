"""The energy ledger: measured vs estimated components, projected QPU work, RAPL counters, helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from qscale.energy.ledger import EnergyLedger, current_ledger, ledger_scope, ledgered, with_ledger
from qscale.energy.meters import RaplMeter, rapl_meters


@dataclass
class FakeMeter:
    name: str
    domain: str
    readings: list[float] = field(default_factory=list)
    method: str = "fake counter"

    def read_j(self) -> float:
        return self.readings.pop(0)


def test_all_measured_components_make_a_measured_run(monkeypatch):
    monkeypatch.setattr("qscale.energy.ledger._rss_gb", lambda: 0.0)  # no memory estimate
    gpu = FakeMeter("gpu0", "gpu", [100.0, 130.0])
    cpu = FakeMeter("cpu package-0", "cpu", [5.0, 7.5])
    with EnergyLedger("t", meters=[gpu, cpu]) as ledger:
        pass
    d = ledger.to_dict()
    assert d["kind"] == "measured"
    assert d["energy_j"] == pytest.approx(30.0 + 2.5)
    assert {b["source"] for b in d["breakdown"]} == {"gpu0", "cpu package-0"}
    assert d["running"] is False


def test_gpu_measured_and_cpu_estimated_is_mixed(monkeypatch):
    monkeypatch.setenv("QSCALE_CPU_W_PER_CORE", "10")
    ledger = EnergyLedger("t", meters=[FakeMeter("gpu0", "gpu", [0.0, 50.0])]).start()
    sum(i * i for i in range(200_000))
    d = ledger.stop().to_dict()
    assert d["kind"] == "mixed"
    cpu = next(b for b in d["breakdown"] if b["source"].startswith("cpu"))
    assert cpu["kind"] == "estimated"
    assert cpu["energy_j"] == pytest.approx(d["cpu_seconds"] * 10)
    assert "QSCALE_CPU_W_PER_CORE" in cpu["method"]


def test_no_counters_means_estimated_with_its_basis():
    with EnergyLedger("t", meters=[]) as ledger:
        sum(range(100_000))
    d = ledger.to_dict()
    assert d["kind"] == "estimated"
    assert all(b["kind"] == "estimated" for b in d["breakdown"])
    assert d["energy_j"] == pytest.approx(sum(b["energy_j"] for b in d["breakdown"]))
    assert any("W per core" in b["method"] for b in d["breakdown"])


def test_projected_qpu_work_is_listed_apart():
    with EnergyLedger("t", meters=[]) as ledger:
        entry = ledger.add_qpu("trapped_ion", qubits=12, two_qubit_depth=8, shots=500, circuits=2, iterations=3)
    d = ledger.to_dict()
    assert entry["kind"] == "projected" and entry["modality"] == "trapped_ion"
    assert d["projected_qpu"] == [entry]
    assert d["projected_qpu_energy_j"]["typical"] == pytest.approx(entry["energy_j"]["typical"])
    assert d["energy_j"] < entry["energy_j"]["low"]  # not added to the run's own energy


def test_helpers_attach_the_ledger():
    with ledger_scope("scoped") as ledger:
        assert current_ledger() is ledger
        out = with_ledger({"answer": 42})
    assert current_ledger() is None
    assert out["answer"] == 42 and out["energy"]["label"] == "scoped"
    with pytest.raises(ValueError, match="energy"):
        with_ledger({"energy": 1}, ledger)
    assert with_ledger({"x": 1}) == {"x": 1}  # no ledger: unchanged

    @ledgered("decorated")
    def work(n: int) -> dict:
        current_ledger().add_qpu("neutral_atom", qubits=n, two_qubit_depth=1, shots=10)
        return {"n": n}

    result = work(4)
    assert result["n"] == 4 and result["energy"]["label"] == "decorated"
    assert result["energy"]["projected_qpu"][0]["qubits"] == 4


def test_to_dict_before_start_is_an_error():
    with pytest.raises(RuntimeError):
        EnergyLedger("t", meters=[]).to_dict()


def _zone(root: Path, name: str, label: str, energy: int, max_range: int = 1000) -> Path:
    zone = root / name
    zone.mkdir()
    (zone / "name").write_text(label)
    (zone / "energy_uj").write_text(str(energy))
    (zone / "max_energy_range_uj").write_text(str(max_range))
    return zone


def test_rapl_reads_packages_only_and_handles_wraparound(tmp_path):
    pkg = _zone(tmp_path, "intel-rapl:0", "package-0", 900)
    _zone(tmp_path, "intel-rapl:0:0", "core", 5)
    _zone(tmp_path, "intel-rapl:1", "psys", 7)
    meters = rapl_meters(tmp_path)
    assert [m.name for m in meters] == ["cpu package-0 (intel-rapl:0)"]
    meter: RaplMeter = meters[0]
    start = meter.read_j()
    (pkg / "energy_uj").write_text("100")  # wrapped past 1000 uJ: 900 -> 1000 -> 100
    assert meter.read_j() - start == pytest.approx(200e-6)


def test_unreadable_or_missing_powercap_gives_no_meters(tmp_path):
    assert rapl_meters(tmp_path / "absent") == []
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", 1)
    (zone / "energy_uj").write_text("not a number")
    assert rapl_meters(tmp_path) == []


@pytest.mark.gpu
def test_nvml_measures_gpu_work():
    import torch

    from qscale.energy.meters import nvml_meters

    meters = nvml_meters()
    assert meters, "a CUDA machine should expose NVML's energy counter"
    x = torch.randn(4096, 4096, device="cuda")
    with EnergyLedger("gpu", meters=meters) as ledger:
        for _ in range(200):
            x = x @ x / 64.0
        torch.cuda.synchronize()
    d = ledger.to_dict()
    gpu = [b for b in d["breakdown"] if b["source"].startswith("gpu")]
    assert gpu and all(b["kind"] == "measured" for b in gpu)
    assert sum(b["energy_j"] for b in gpu) > 0
    assert d["kind"] in ("measured", "mixed")
