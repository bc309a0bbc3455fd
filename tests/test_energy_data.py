"""The energy data files: anchored values, sources on every figure, and name lookup."""

from __future__ import annotations

import pytest

from qscale.energy import data
from qscale.errors import QscaleUserError

REQUIRED = ["V100", "A100-40", "A100-80", "H100", "H200", "B200", "TPUv3", "TPUv4", "TPUv5e"]


def test_required_accelerators_with_sources():
    table = data.accelerators()
    assert set(REQUIRED) <= set(table)
    for acc in table.values():
        peak, _ = acc.peak(None)
        assert peak > 1e12
        for text in (acc.peak_source, acc.tdp_source, acc.avg_power_source, acc.memory_source, acc.embodied_source):
            assert text.strip()
        assert (acc.die_area_mm2 is None) == (acc.chip_embodied_kg is None)


def test_anchored_values():
    assert data.accelerator("V100").peak_flops["fp16"] == 125e12
    assert data.accelerator("tpu v3").peak_flops["bf16"] == 123e12
    assert data.intensity("world").value == 0.445
    assert data.intensity("US").value == 0.367
    assert data.pue("google-fleet").value == pytest.approx(1.10)
    assert all(s.source for s in data.intensities().values())


def test_loose_names_and_aliases():
    assert data.accelerator("a100").key == "A100-80"
    assert data.accelerator("TPU-v4").key == "TPUv4"
    assert data.modality("Trapped-Ion").key == "trapped_ion"
    with pytest.raises(QscaleUserError, match="known: V100"):
        data.accelerator("GTX 1080")


def test_qubit_models_and_qec():
    models = data.qubit_models()
    assert {"qubit_gate_ns_e3", "qubit_gate_ns_e4", "qubit_gate_us_e3", "qubit_gate_us_e4"} <= set(models)
    ns = models["qubit_gate_ns_e3"]
    assert (ns.two_qubit_gate_time_s, ns.one_qubit_measurement_time_s, ns.clifford_error_rate) == (50e-9, 100e-9, 1e-3)
    sc = data.qec_scheme("surface_code_gate_based")
    assert (sc.crossing_prefactor, sc.threshold) == (0.03, 0.01)
