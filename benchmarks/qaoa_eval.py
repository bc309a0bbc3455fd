"""QAOA objective evaluation, side by side: qscale vs QOKit vs qiskit-aer vs PennyLane lightning.qubit.

MaxCut on random 3-regular graphs (networkx.random_regular_graph(3, n, seed)), p layers (default 6),
complex128. Energy convention (qscale's): C(x) = -cut(x); start |+>^n; layer k applies exp(-i·γ_k·C)
then exp(-i·β_k·ΣX). Every simulator gets the same graph and angles, mapped to its own conventions:
  QOKit:     costs = C, gammas 2·γ (its phase is exp(-i·γ/2·costs)), betas β (its mixer is exp(-i·β·X))
  qiskit-aer: C = Σ_(ij) (Z_i Z_j - 1)/2, so exp(-iγC) = Π RZZ(γ) up to a global phase; RX(2β)
  lightning: the same circuit with IsingZZ(γ) and RX(2β), expval of the same Hamiltonian
and all must return the same <C> (the driver reports the largest deviation; a disagreement voids the row).

Each timing is the median of --repeats calls after --warmup untimed calls, and covers one objective
evaluation from angles to the expectation value. One-off set-up is excluded for everyone: building the
cost diagonal (qscale, QOKit), building + transpiling the circuit (aer; each timed call still binds the
parameters and runs Aer's own circuit conversion and gate fusion), building the QNode and Hamiltonian
(lightning; each call still constructs the tape).

Driver:  python benchmarks/qaoa_eval.py [--n 16,18,20] [--p 6] [--only qscale,qokit] [--device cpu|cuda]
Worker (run by the driver inside the peer's own venv):  python benchmarks/qaoa_eval.py --worker SIM --job F
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import (
    emit,
    maxcut_diagonal,
    maxcut_energy,
    qaoa_floor_bytes,
    ramp_angles,
    run_workers,
    set_threads,
    time_call,
    versions,
)

SIMULATORS = ("qscale", "qokit", "qiskit-aer", "lightning")
# Which python runs each worker: None = the interpreter running the driver (the project's .venv).
WORKER_VENV: dict[str, str | None] = {"qscale": None, "qokit": "qokit", "qiskit-aer": "peers", "lightning": "peers"}
AGREE_TOL = 1e-8  # relative to the number of edges (|C| <= |E|)


# ----------------------------------------------------------------------------------------------- workers
def _worker_qscale(job: dict[str, Any]) -> dict[str, Any]:
    import dimod
    import torch

    from qscale.quantum.qaoa_engine import QAOASimulator

    n, edges = job["n"], job["edges"]
    bqm = dimod.BinaryQuadraticModel("BINARY")
    bqm.add_variables_from((v, 0.0) for v in range(n))
    for i, j in edges:  # energy = -(x_i + x_j - 2 x_i x_j) = -[edge cut]
        bqm.add_linear(i, -1.0)
        bqm.add_linear(j, -1.0)
        bqm.add_quadratic(i, j, 2.0)
    kwargs = {"backend": job["qscale_backend"]} if job.get("qscale_backend", "auto") != "auto" else {}
    dtype = job.get("dtype", "complex128")
    # the cost as a user's run builds it (level index streamed from the QUBO, or the float diagonal)
    sim = QAOASimulator.from_bqm(bqm, state_copies=1, device=job["device"], dtype=dtype, **kwargs)
    # Independent check of qscale's cost: every entry up to n=22, 2^20 random entries beyond (cheap).
    if n <= 22:
        diag_dev = float(np.max(np.abs(sim.diag - maxcut_diagonal(n, edges))))
    else:
        idx = np.random.default_rng(0).integers(0, 2**n, size=2**20, dtype=np.int64)
        diag_dev = float(np.max(np.abs(sim.energies(idx) - maxcut_energy(idx, edges))))
    gammas = torch.tensor(job["gammas"], dtype=torch.float64)
    betas = torch.tensor(job["betas"], dtype=torch.float64)

    def evaluate() -> float:
        if hasattr(sim, "forget_state"):  # a repeat must simulate again, not reuse the kept final state
            sim.forget_state()
        with torch.no_grad():
            return float(sim.expectation(gammas, betas).reshape(-1)[0].item())  # .item() syncs the GPU

    times, value = time_call(evaluate, job["repeats"], job["warmup"])
    dev = str(getattr(sim, "device", job["device"]))
    backend = getattr(sim, "backend", "?")
    phase_table = getattr(sim, "levels", None) is not None
    if backend == "numba":
        import numba

        threads: int | str = numba.get_num_threads()
    else:
        threads = torch.get_num_threads()
    out = {
        "backend": f"QAOASimulator.from_bqm(device={dev}, backend={backend}, phase_table={phase_table})",
        "dtype": dtype,
        "cost_bytes": sim.cost_bytes(),
        "threads": threads,
        "diag_max_dev_vs_reference": diag_dev,
        "timed": "sim.expectation(gammas, betas) incl. result to host; cost (level index or diagonal) built before",
    }
    if dev.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(0)
    return {**out, "seconds": times, "expectation": value, "versions": versions(["torch", "numpy", "qscale"])}


def _worker_qokit(job: dict[str, Any]) -> dict[str, Any]:
    import qokit.fur as fur
    from qokit.fur.c.csim import libpath

    n = job["n"]
    names = fur.get_available_simulator_names("x")  # fastest first
    name = job.get("qokit_backend") or names[0]
    sim = fur.choose_simulator(name=name)(n, costs=maxcut_diagonal(n, job["edges"]))
    gammas = [2.0 * g for g in job["gammas"]]  # QOKit applies exp(-i·γ/2·costs)
    betas = list(job["betas"])

    def evaluate() -> float:
        return float(sim.get_expectation(sim.simulate_qaoa(gammas, betas)))

    times, value = time_call(evaluate, job["repeats"], job["warmup"])
    lib = Path(libpath.libpath)
    openmp = lib.is_file() and b"libgomp" in lib.read_bytes()
    return {
        "backend": f"{name} ({type(sim).__name__}); available: {','.join(names)}",
        "dtype": "complex128 (QOKit's CPU simulators have no single precision)",
        "c_backend_openmp": openmp,
        "threads": os.environ.get("OMP_NUM_THREADS") or f"OpenMP default ({os.cpu_count()})",
        "timed": "simulate_qaoa + get_expectation; diagonal passed in as costs",
        "seconds": times,
        "expectation": value,
        "versions": versions(["qokit", "numpy", "numba", "qiskit"]),
    }


def _worker_aer(job: dict[str, Any]) -> dict[str, Any]:
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit import ParameterVector
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer import AerSimulator

    n, edges, p = job["n"], job["edges"], len(job["gammas"])
    g, b = ParameterVector("g", p), ParameterVector("b", p)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for k in range(p):
        for i, j in edges:
            qc.rzz(g[k], i, j)
        for q in range(n):
            qc.rx(2 * b[k], q)
    terms = [("ZZ", [i, j], 0.5) for i, j in edges] + [("", [], -0.5 * len(edges))]
    qc.save_expectation_value(SparsePauliOp.from_sparse_list(terms, num_qubits=n), list(range(n)))
    threads = int(os.environ.get("BENCH_THREADS", "0"))  # 0 = Aer's default, all cores
    precision = "single" if job.get("dtype") == "complex64" else "double"
    sim = AerSimulator(method="statevector", precision=precision, max_parallel_threads=threads)
    tqc = transpile(qc, sim)
    binds = {**{g[k]: [job["gammas"][k]] for k in range(p)}, **{b[k]: [job["betas"][k]] for k in range(p)}}

    def evaluate() -> float:
        result = sim.run(tqc, parameter_binds=[binds]).result()
        return float(np.real(result.data(0)["expectation_value"]))

    times, value = time_call(evaluate, job["repeats"], job["warmup"])
    return {
        "backend": f'AerSimulator(method="statevector", precision="{precision}"), default fusion',
        "dtype": "complex64" if precision == "single" else "complex128",
        "threads": threads or "Aer default (all cores)",
        "timed": "run(transpiled circuit, parameter_binds) + result(); transpile cached",
        "seconds": times,
        "expectation": value,
        "versions": versions(["qiskit-aer", "qiskit", "numpy"]),
    }


def _worker_lightning(job: dict[str, Any]) -> dict[str, Any]:
    import pennylane as qml

    n, edges, p = job["n"], job["edges"], len(job["gammas"])
    dev = qml.device("lightning.qubit", wires=n)
    coeffs = [0.5] * len(edges) + [-0.5 * len(edges)]
    ops = [qml.Z(i) @ qml.Z(j) for i, j in edges] + [qml.Identity(0)]
    ham = qml.Hamiltonian(coeffs, ops)

    @qml.qnode(dev, diff_method=None)
    def circuit(gammas: np.ndarray, betas: np.ndarray) -> Any:
        for q in range(n):
            qml.Hadamard(q)
        for k in range(p):
            for i, j in edges:
                qml.IsingZZ(gammas[k], wires=[i, j])
            for q in range(n):
                qml.RX(2 * betas[k], wires=q)
        return qml.expval(ham)

    gammas, betas = np.array(job["gammas"]), np.array(job["betas"])
    times, value = time_call(lambda: float(circuit(gammas, betas)), job["repeats"], job["warmup"])
    return {
        "backend": "lightning.qubit (IsingZZ + RX, expval(Hamiltonian)), diff_method=None",
        "threads": os.environ.get("OMP_NUM_THREADS") or "lightning default",
        "timed": "one QNode call (tape construction + simulation + expval)",
        "seconds": times,
        "expectation": value,
        "versions": versions(["pennylane", "pennylane-lightning", "numpy"]),
    }


WORKERS = {
    "qscale": _worker_qscale,
    "qokit": _worker_qokit,
    "qiskit-aer": _worker_aer,
    "lightning": _worker_lightning,
}


# ------------------------------------------------------------------------------------------------ driver
def make_graph(n: int, seed: int) -> list[list[int]]:
    """Edges of networkx.random_regular_graph(3, n, seed), sorted, as plain ints."""
    import networkx as nx

    g = nx.random_regular_graph(3, n, seed=seed)
    return sorted(sorted([int(i), int(j)]) for i, j in g.edges())


def run(
    ns: list[int],
    p: int = 6,
    sims: tuple[str, ...] = SIMULATORS,
    device: str = "cpu",
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 1234,
    timeout_s: float = 3600.0,
    qscale_backend: str = "auto",
) -> dict[str, Any]:
    """Time every simulator at every n (one subprocess each) and check their expectations agree."""
    gammas, betas = ramp_angles(p)
    rows = []
    for n in ns:
        edges = make_graph(n, seed)
        job = {
            "n": n,
            "edges": edges,
            "gammas": gammas,
            "betas": betas,
            "repeats": repeats,
            "warmup": warmup,
            "device": device,
            "qscale_backend": qscale_backend,
        }
        with tempfile.TemporaryDirectory() as tmp:
            job_file = Path(tmp) / "job.json"
            job_file.write_text(json.dumps(job))
            results = run_workers(
                Path(__file__), sims, WORKER_VENV, job_file, timeout_s, f"[qaoa_eval] n={n}",
                lambda r: f"<C> = {r['expectation']:.12f}",
            )
        values = {s: r["expectation"] for s, r in results.items() if "expectation" in r}
        dev = float(max(values.values()) - min(values.values())) if len(values) > 1 else None
        rows.append(
            {
                "n": n,
                "edges": len(edges),
                "graph_sha1": hashlib.sha1(json.dumps(edges).encode()).hexdigest()[:12],
                "floor_bytes": qaoa_floor_bytes(n, p),
                "results": results,
                "max_abs_dev": dev,
                "agree": None if dev is None else bool(dev <= AGREE_TOL * max(1, len(edges))),
            }
        )
    return {
        "benchmark": "qaoa_eval",
        "problem": "MaxCut, random 3-regular graph, energy = -cut",
        "graph": f"networkx.random_regular_graph(3, n, seed={seed})",
        "p": p,
        "dtype": "complex128",
        "gammas": gammas,
        "betas": betas,
        "repeats": repeats,
        "warmup": warmup,
        "device": device,
        "qscale_backend": qscale_backend,
        "agree_tol_per_edge": AGREE_TOL,
        "floor_formula": "bytes = 2^n·[p·(40 + 32·ceil(n/10)) + 24] (complex128 state, float64 diagonal)",
        "rows": rows,
    }


def parse_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_sims(text: str | None) -> tuple[str, ...]:
    if not text:
        return SIMULATORS
    sims = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in sims if s not in SIMULATORS]
    if bad:
        raise SystemExit(f"unknown simulator(s) {bad}; choose from {', '.join(SIMULATORS)}")
    return sims


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", choices=SIMULATORS, help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--n", default="16,18,20,22,24", help="comma-separated qubit counts")
    ap.add_argument("--p", type=int, default=6)
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(SIMULATORS)}")
    ap.add_argument("--device", default="cpu", help="qscale's device: cpu or cuda (peers always run on CPU)")
    ap.add_argument("--qscale-backend", default="auto", help="QAOASimulator backend: auto, numba or torch")
    ap.add_argument("--threads", type=int, default=0, help="threads for every simulator (0 = defaults)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    set_threads(args.threads)
    if args.worker:
        job = json.loads(Path(args.job).read_text())
        emit({"sim": args.worker, **WORKERS[args.worker](job)})
        return
    emit(
        run(
            parse_ints(args.n),
            args.p,
            parse_sims(args.only),
            args.device,
            args.repeats,
            args.warmup,
            args.seed,
            qscale_backend=args.qscale_backend,
        )
    )


if __name__ == "__main__":
    main()
