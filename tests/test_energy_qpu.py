"""QPU job energy: the power and time formulas, range ordering, and the data file's sources."""

from __future__ import annotations

import pytest

from qscale.energy.data import Ranged, modalities
from qscale.energy.qpu import SCENARIOS, qpu_job
from qscale.errors import QscaleUserError


def test_superconducting_job_follows_the_documented_formulas():
    j = qpu_job("superconducting", qubits=53, two_qubit_depth=20, shots=1_000_000).report
    typ = j["scenarios"]["typical"]
    assert typ["total_w"] == pytest.approx(15_000 + 53 * 10)  # one fridge + 10 W per qubit
    shot = 250e-6 + 20 * (25e-9 + 50e-9) + 1e-6
    assert typ["shot_seconds"] == pytest.approx(shot)
    assert j["seconds"]["typical"] == pytest.approx(1e6 * shot + 0.1 + 1.0)
    assert j["energy_j"]["typical"] == pytest.approx(typ["total_w"] * j["seconds"]["typical"])
    assert j["kind"] == "projected"


@pytest.mark.parametrize("name", ["superconducting", "trapped_ion", "neutral_atom", "photonic"])
def test_range_is_ordered_and_grows_with_work(name):
    small = qpu_job(name, qubits=20, two_qubit_depth=10, shots=1000).report
    e = small["energy_j"]
    assert 0 < e["low"] <= e["typical"] <= e["high"]
    bigger = qpu_job(name, qubits=20, two_qubit_depth=10, shots=1000, circuits=3, iterations=5).report
    mod = modalities()[name]
    for sc in SCENARIOS:
        shot = bigger["scenarios"][sc]["shot_seconds"]
        expected = 5 * (3 * (1000 * shot + mod.circuit_overhead_s.at(sc)) + mod.iteration_overhead_s.at(sc))
        assert bigger["seconds"][sc] == pytest.approx(expected)
        assert bigger["energy_j"][sc] > small["energy_j"][sc]


def test_more_qubits_than_a_module_adds_modules():
    one = qpu_job("superconducting", qubits=1000, two_qubit_depth=1, shots=1).report
    two = qpu_job("superconducting", qubits=1001, two_qubit_depth=1, shots=1).report
    assert one["scenarios"]["typical"]["modules"] == 1
    assert two["scenarios"]["typical"]["modules"] == 2


def test_every_parameter_has_a_source_and_energy_ordered_values():
    for mod in modalities().values():
        for field in type(mod).model_fields:
            value = getattr(mod, field)
            if not isinstance(value, Ranged):
                continue
            assert value.source.strip(), (mod.key, field)
            if field == "qubits_per_module":  # more qubits per module = less energy
                assert value.low >= value.typical >= value.high, (mod.key, field)
            else:
                assert value.low <= value.typical <= value.high, (mod.key, field)


@pytest.mark.parametrize(
    "args, message",
    [
        (("superconducting", 0, 1, 10), "--qubits"),
        (("superconducting", 5, -1, 10), "--two-qubit-depth"),
        (("superconducting", 5, 1, 0.5), "--shots"),
        (("warp_drive", 5, 1, 10), "neutral_atom"),
    ],
)
def test_bad_qpu_inputs(args, message):
    with pytest.raises(QscaleUserError, match=message):
        qpu_job(*args)
