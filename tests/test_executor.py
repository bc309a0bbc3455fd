"""The executor protocol: exact numbers unchanged, recorded workloads counted, no interference between runtimes.

Every driver takes `executor=`; these tests run each one on the exact executor, on no executor (its default), and
through a recording executor on the hybrid runtime, and compare the answers with each other and with independent
computations (the simulator called directly, circuits counted from the driver's own statistics).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from qscale.coproc.recording import RecordingExecutor
from qscale.coproc.runtime import HybridRuntime
from qscale.quantum.circuit import Circuit, two_qubit_counts
from qscale.quantum.executor import EXACT, Batch, CircuitSpec, Executor, RowSpecs
from qscale.quantum.statevector import probabilities, sample, simulate


def test_exact_executor_is_the_simulator():
    from qscale.algorithms.variational.ansatz import strongly_entangling

    circuit = strongly_entangling(3, 2)
    x = np.random.default_rng(0).uniform(-1, 1, (4, circuit.n_parameters))
    assert isinstance(EXACT, Executor)
    assert torch.equal(EXACT.simulate(circuit, x), simulate(circuit, x))
    np.testing.assert_array_equal(EXACT.sample(circuit, x, 50, np.random.default_rng(1)),
                                  sample(simulate(circuit, x), 50, np.random.default_rng(1)))


def test_row_specs_build_on_access_and_batches_join_in_order():
    calls = []

    def spec():
        calls.append(1)
        return CircuitSpec(3, 2, 1)

    rows = RowSpecs(spec, 5, payload="p")
    assert len(rows) == 5 and not calls
    assert [r.payload for r in rows[1:3]] == [("p", 1), ("p", 2)] and rows[-1].payload == ("p", 4)
    assert len(calls) == 1
    batch = Batch(rows, 0, lambda part, shots: [c.payload[1] for c in part])
    assert EXACT.run(batch) == [0, 1, 2, 3, 4]
    with HybridRuntime("heron", max_circuits_per_job=2) as rt:
        assert RecordingExecutor(rt, 100).run(batch) == [0, 1, 2, 3, 4]
    assert rt.timeline()["circuits"] == 5 and len(rt.timeline()["jobs"]) == 3


def test_recording_executor_times_rows_without_changing_states():
    from qscale.algorithms.variational.ansatz import strongly_entangling

    circuit = strongly_entangling(3, 1)
    x = np.random.default_rng(2).uniform(-1, 1, (7, circuit.n_parameters))
    with HybridRuntime("heron", max_circuits_per_job=3) as rt:
        rec = RecordingExecutor(rt, 100)
        psi = rec.simulate(circuit, x)
        idx = rec.sample(circuit, x, 20, np.random.default_rng(5))
    assert torch.allclose(psi, simulate(circuit, x), atol=1e-12)
    np.testing.assert_array_equal(idx, sample(simulate(circuit, x), 20, np.random.default_rng(5)))
    tl = rt.timeline()
    depth, gates = two_qubit_counts(circuit)
    assert tl["circuits"] == 14 and tl["submissions"] == 2
    assert {(j["qubits"], j["circuits"]) for j in tl["jobs"]} == {(3, 3), (3, 1)}
    assert depth >= 1 and gates >= depth


VQE_ARGS = {"shots": 200, "restarts": 2, "max_iter": 3, "optimizer": "adam", "seed": 3, "device": "cpu"}


def _vqe(executor=None):
    from qscale.algorithms.variational.hamiltonians import load_hamiltonian
    from qscale.algorithms.variational.vqe import run_vqe

    return run_vqe(load_hamiltonian("h2"), executor=executor, **VQE_ARGS).to_json()


def test_vqe_same_numbers_on_every_exact_executor_and_every_circuit_recorded():
    plain, exact = _vqe(), _vqe(EXACT)
    with HybridRuntime("heron") as rt:
        seen = _vqe(RecordingExecutor(rt, 200))
    for r in (exact, seen):
        assert r["energy"] == plain["energy"] and r["energy_sampled"] == plain["energy_sampled"]
        assert r["trace"] == plain["trace"]
    # independent count: shot circuits (measurement groups x parameter rows) + the exact energies of the final
    # parameters and of every start
    assert rt.timeline()["circuits"] == plain["total_shots"] // 200 + 1 + VQE_ARGS["restarts"]


def test_vqe_exact_energy_matches_the_hamiltonian_expectation():
    from qscale.algorithms.variational.ansatz import build_ansatz
    from qscale.algorithms.variational.hamiltonians import load_hamiltonian
    from qscale.algorithms.variational.vqe import run_vqe

    ham = load_hamiltonian("h2")
    r = run_vqe(ham, restarts=1, max_iter=20, seed=1, device="cpu", executor=EXACT).to_json()
    psi = simulate(build_ansatz("hea", ham.op, 2), np.asarray(r["optimal_parameters"]))
    H = ham.op.to_matrix() if hasattr(ham.op, "to_matrix") else None
    if H is not None:
        v = psi[0].numpy()
        assert r["energy"] == pytest.approx(float(np.real(v.conj() @ (np.asarray(H) @ v))), abs=1e-10)
    assert r["energy"] == pytest.approx(float(ham.op.expectation(psi)[0]), abs=1e-12)


def test_born_same_numbers_and_counted_circuits():
    from qscale.algorithms.generative.data import load_dataset
    from qscale.algorithms.generative.experiment import run_born

    ds = load_dataset("bas:2x2")
    kw = {"depth": 2, "steps": 2, "restarts": 1, "loss": "mmd", "gradient": "parameter-shift", "shots": 100,
          "samples": 50, "device": "cpu", "baselines": False}
    plain = run_born(ds, **kw).to_json()
    with HybridRuntime("heron") as rt:
        seen = run_born(ds, executor=RecordingExecutor(rt, 100), **kw).to_json()
    assert seen["loss_trace"] == plain["loss_trace"] and seen["kl"] == plain["kl"]
    assert seen["sample_preview"] == plain["sample_preview"]
    # training circuits (as the driver counts them) + the fitted distribution (read in fit and again by run_born)
    # + the final draws
    assert rt.timeline()["circuits"] == plain["circuit_runs"] + 3


def _quantize(executor=None):
    from qscale.llm.quant.factory import make_quantizer
    from qscale.llm.quant.solvers import make_solver

    g = torch.Generator().manual_seed(0)
    W = torch.randn(6, 16, generator=g, dtype=torch.float64)
    X = torch.randn(64, 16, generator=g, dtype=torch.float64)
    H = X.T @ X / 64
    solver = make_solver("qaoa", p=1, shots=32, seed=0, executor=executor)
    return make_quantizer("qubo", bits=2, block=4, refine=1, solver=solver).fit(W, H)


def test_quantize_qaoa_solver_same_weights_and_one_circuit_per_block_qubo():
    plain = _quantize()
    with HybridRuntime("heron", max_circuits_per_job=4) as rt:
        seen = _quantize(RecordingExecutor(rt, 32))
    assert torch.equal(plain.weight_, _quantize(EXACT).weight_)
    stats = plain.stats_
    tl = rt.timeline()
    assert tl["circuits"] == stats["block_qubos"] + stats.get("refine_qubos", 0)
    assert seen.stats_["block_qubos"] == stats["block_qubos"]
    # job packing may split a block's rows (and the sampling stream), so the answers agree in count, not bit for bit
    assert tl["submissions"] >= 4


def test_two_runtimes_in_one_process_do_not_interfere():
    alone = {}
    with HybridRuntime("heron") as rt:
        alone["r"] = _vqe(RecordingExecutor(rt, 200))
    single = rt.timeline()["circuits"]
    out, timelines, errors = {}, {}, []

    def work(key: str) -> None:
        try:
            with HybridRuntime("heron") as r:
                out[key] = _vqe(RecordingExecutor(r, 200))
            timelines[key] = r.timeline()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    with torch.no_grad():
        unrecorded = _vqe()  # a third run, on no runtime, at the same time
    for t in threads:
        t.join()
    assert not errors
    for k in ("a", "b"):
        assert timelines[k]["circuits"] == single
        assert out[k]["energy"] == alone["r"]["energy"]
    assert unrecorded["energy"] == alone["r"]["energy"]


def test_probabilities_helper_used_by_exact_paths():
    qc = Circuit(2).h(0).cx(0, 1)
    np.testing.assert_allclose(probabilities(EXACT.simulate(qc))[0].numpy(), [0.5, 0, 0, 0.5], atol=1e-12)
