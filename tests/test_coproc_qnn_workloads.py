"""The QNN offload tasks count the circuits the quantum adapters would send to a QPU, beside LoRA's measured time."""

from __future__ import annotations

import pytest

from qscale.coproc import qnn_workloads
from qscale.coproc.workloads import tasks


@pytest.fixture(scope="module")
def tiny():
    from qscale.llm.models import load_causal_lm

    return load_causal_lm("tiny-random", "cpu")


@pytest.fixture
def small_protocol(monkeypatch):
    monkeypatch.setitem(qnn_workloads.QNN, "seq_len", 16)
    monkeypatch.setitem(qnn_workloads.QNN, "batch", 2)
    monkeypatch.setitem(qnn_workloads.QNN, "probe_steps", 2)
    monkeypatch.setitem(qnn_workloads.QNN, "tokens", 3)
    monkeypatch.setitem(qnn_workloads.QNN, "prompt_tokens", 4)


def test_qnn_tasks_have_probes():
    assert tasks()["qnn-step"].probe is not None and tasks()["qnn-token"].probe is not None


def test_adapter_circuit_shape_is_the_strongly_entangling_ring():
    depth, gates, rotations = qnn_workloads._circuit_shape()
    q, layers = qnn_workloads.QNN["qubits"], qnn_workloads.QNN["qnn_layers"]
    assert gates == q * layers  # one CNOT ring per layer
    assert depth >= layers and depth <= gates
    assert rotations >= q * (1 + layers)  # encoding + at least one rotation per qubit per layer


def test_qnn_step_counts_parameter_shift_circuits(tiny, small_protocol):
    (wl,) = qnn_workloads.probe_qnn_step(tiny)
    q, layers = qnn_workloads.QNN["qubits"], qnn_workloads.QNN["qnn_layers"]
    instances, blocks = wl.measured["adapter_instances"], wl.measured["decoder_blocks"]
    rows = qnn_workloads.QNN["batch"] * qnn_workloads.QNN["seq_len"]
    per_row = 1 + 2 * (q + 3 * q * layers)  # forward + two shifts per encoding angle and per weight
    assert wl.measured["circuits_per_step"] == instances * rows * per_row
    assert wl.iterations == qnn_workloads.QNN["steps"] * blocks
    assert wl.circuits_per_iteration * blocks == pytest.approx(instances * rows * per_row, rel=0.01)
    steps = qnn_workloads.QNN["steps"]  # the full run is LoRA's measured step time x the step budget
    assert wl.classical["seconds"] == pytest.approx(wl.measured["seconds_per_step_lora"] * steps)
    assert wl.quality["quantum"] is None


def test_qnn_token_is_one_circuit_per_adapter_per_token(tiny, small_protocol):
    (wl,) = qnn_workloads.probe_qnn_token(tiny)
    instances, blocks = wl.measured["adapter_instances"], wl.measured["decoder_blocks"]
    assert instances == 2 * blocks  # q_proj and v_proj of every block
    assert wl.circuits == instances * qnn_workloads.QNN["generated_tokens"]
    tokens = qnn_workloads.QNN["generated_tokens"]
    assert wl.classical["seconds"] == pytest.approx(wl.measured["seconds_per_token_lora"] * tokens)
