"""Random layered circuit, side by side: qscale vs qiskit-aer vs PennyLane lightning.qubit.

n qubits (default 20), L layers (default 10); each layer is RY(θ) on every qubit then a CNOT ladder
cx(0,1), cx(1,2), ..., cx(n-2,n-1); start |0...0>; θ uniform in [0, 2π) from a fixed seed, the same for all.
Timed: one simulation from |0...0> to the final statevector in host-visible form (qscale: the (1, 2^n)
tensor, synchronised on GPU; aer: run + result + get_statevector as numpy, transpile cached; lightning: one
QNode call returning qml.state()). Median of --repeats after --warmup. Agreement: every final state is
compared with qscale's in qubit-0-least-significant order (max |Δamplitude|) and <Z0> is reported.

    python benchmarks/layered_circuit.py [--n 20] [--layers 10] [--only qscale,lightning] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import emit, layered_floor_bytes, run_workers, set_threads, time_call, versions

SIMULATORS = ("qscale", "qiskit-aer", "lightning")
WORKER_VENV: dict[str, str | None] = {"qscale": None, "qiskit-aer": "peers", "lightning": "peers"}
AGREE_TOL = 1e-10  # max |Δamplitude|


def _z0(state: np.ndarray) -> float:
    """<Z0> of a state in qubit-0-least-significant order."""
    probs = np.abs(state) ** 2
    return float(probs[0::2].sum() - probs[1::2].sum())


def _worker_qscale(job: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    import torch

    from qscale.quantum.circuit import Circuit
    from qscale.quantum.statevector import simulate

    n, thetas = job["n"], job["thetas"]
    circ = Circuit(n)
    for layer in thetas:
        for q, th in enumerate(layer):
            circ.ry(q, th)
        for q in range(n - 1):
            circ.cx(q, q + 1)

    def run_once() -> torch.Tensor:
        with torch.no_grad():
            state = simulate(circ, dtype="complex128", device=job["device"])
        if state.is_cuda:
            torch.cuda.synchronize()
        return state

    times, state = time_call(run_once, job["repeats"], job["warmup"])
    info = {
        "backend": f"statevector.simulate(device={state.device})",
        "threads": torch.get_num_threads(),
        "timed": "simulate(circuit) to the final (1, 2^n) tensor; circuit built before",
        "seconds": times,
        "versions": versions(["torch", "numpy", "qscale"]),
    }
    return info, state.reshape(-1).cpu().numpy()


def _worker_aer(job: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator

    n, thetas = job["n"], job["thetas"]
    qc = QuantumCircuit(n)
    for layer in thetas:
        for q, th in enumerate(layer):
            qc.ry(th, q)
        for q in range(n - 1):
            qc.cx(q, q + 1)
    qc.save_statevector()
    threads = int(os.environ.get("BENCH_THREADS", "0"))  # 0 = Aer's default, all cores
    sim = AerSimulator(method="statevector", precision="double", max_parallel_threads=threads)
    tqc = transpile(qc, sim)

    def run_once() -> np.ndarray:
        return np.asarray(sim.run(tqc).result().get_statevector())

    times, state = time_call(run_once, job["repeats"], job["warmup"])
    info = {
        "backend": 'AerSimulator(method="statevector", precision="double"), default fusion',
        "threads": threads or "Aer default (all cores)",
        "timed": "run + result + get_statevector as numpy; transpile cached",
        "seconds": times,
        "versions": versions(["qiskit-aer", "qiskit", "numpy"]),
    }
    return info, state  # Qiskit order: qubit 0 least significant, as qscale


def _worker_lightning(job: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    import pennylane as qml

    n, thetas = job["n"], np.array(job["thetas"])
    dev = qml.device("lightning.qubit", wires=n)

    @qml.qnode(dev, diff_method=None)
    def circuit(th: np.ndarray) -> Any:
        for layer in th:
            for q in range(n):
                qml.RY(layer[q], wires=q)
            for q in range(n - 1):
                qml.CNOT(wires=[q, q + 1])
        return qml.state()

    times, state = time_call(lambda: circuit(thetas), job["repeats"], job["warmup"])
    # PennyLane puts wire 0 first (most significant): reverse the axes to qubit-0-least-significant.
    state = np.asarray(state).reshape([2] * n).transpose(list(range(n))[::-1]).reshape(-1)
    info = {
        "backend": "lightning.qubit (RY + CNOT, qml.state()), diff_method=None",
        "threads": os.environ.get("OMP_NUM_THREADS") or "lightning default",
        "timed": "one QNode call (tape construction + simulation + state copy)",
        "seconds": times,
        "versions": versions(["pennylane", "pennylane-lightning", "numpy"]),
    }
    return info, state


WORKERS = {"qscale": _worker_qscale, "qiskit-aer": _worker_aer, "lightning": _worker_lightning}


def run(
    n: int = 20,
    layers: int = 10,
    sims: tuple[str, ...] = SIMULATORS,
    device: str = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 1234,
    timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Time every simulator on the same circuit (one subprocess each); compare final states with qscale's."""
    thetas = np.random.default_rng(seed).uniform(0, 2 * np.pi, size=(layers, n)).tolist()
    job = {"n": n, "thetas": thetas, "repeats": repeats, "warmup": warmup, "device": device}
    with tempfile.TemporaryDirectory() as tmp:
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps({**job, "state_dir": tmp}))
        results = run_workers(
            Path(__file__), sims, WORKER_VENV, job_file, timeout_s, f"[layered] n={n} L={layers}",
            lambda r: f"<Z0> = {r['z0']:.12f}",
        )
        states = {sim: np.load(res.pop("state_file")) for sim, res in results.items() if "seconds" in res}
    ref_name = "qscale" if "qscale" in states else next(iter(states), None)
    devs = {}
    if ref_name is not None:
        ref = states[ref_name]
        for sim, st in states.items():
            if sim != ref_name:
                devs[sim] = float(np.max(np.abs(st - ref)))
                results[sim]["max_abs_dev_vs_" + ref_name] = devs[sim]
    dev = max(devs.values()) if devs else None
    return {
        "benchmark": "layered_circuit",
        "circuit": "L layers of (RY(θ) on every qubit, then CNOT ladder q→q+1), from |0...0>",
        "n": n,
        "layers": layers,
        "seed": seed,
        "dtype": "complex128",
        "repeats": repeats,
        "warmup": warmup,
        "device": device,
        "floor_bytes": layered_floor_bytes(n, layers),
        "floor_formula": "bytes = L·ceil(n/10)·32·2^n (complex128, blocked passes of 10 qubits)",
        "results": results,
        "reference": ref_name,
        "max_abs_dev": dev,
        "agree": None if dev is None else bool(dev <= AGREE_TOL),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=SIMULATORS, help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(SIMULATORS)}")
    ap.add_argument("--device", default="cpu", help="qscale's device: cpu or cuda (peers always run on CPU)")
    ap.add_argument("--threads", type=int, default=0, help="threads for every simulator (0 = defaults)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    set_threads(args.threads)
    if args.worker:
        job = json.loads(Path(args.job).read_text())
        info, state = WORKERS[args.worker](job)
        state_file = Path(job["state_dir"]) / f"{args.worker}.npy"
        np.save(state_file, state.astype(np.complex128))
        emit({"sim": args.worker, **info, "z0": _z0(state), "state_file": str(state_file)})
        return
    sims = SIMULATORS
    if args.only:
        sims = tuple(s.strip() for s in args.only.split(",") if s.strip())
        bad = [s for s in sims if s not in SIMULATORS]
        if bad:
            raise SystemExit(f"unknown simulator(s) {bad}; choose from {', '.join(SIMULATORS)}")
    emit(run(args.n, args.layers, sims, args.device, args.repeats, args.warmup, args.seed))


if __name__ == "__main__":
    main()
