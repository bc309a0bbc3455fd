"""Quality of a task's quantum answer under a device's noise: the planner's quality column for today's QPUs.

Why: exact simulation is an upper bound; a Heron-class device loses part of the answer to gate and readout
errors. Where qscale.primitives is present, the task's own circuits are re-run on `fake_fez` (qiskit-aer with the
noise of IBM's Heron r2 ibm_fez snapshot, transpiled to its coupling map, fixed seed) beside the exact simulator,
on a sample of the probe's circuits. Without qscale.primitives the functions return None and the planner keeps
the exact figure, saying so.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

NOISY_BACKEND = "fake_fez"  # the snapshot of the Heron r2 device that devices.toml's `heron` entry describes


def available() -> bool:
    return importlib.util.find_spec("qscale.primitives") is not None


def quantize_rows(problem: Any, angles: dict, rows: int = 32, shots: int = 256,
                  backend_name: str = NOISY_BACKEND) -> dict[str, Any] | None:  # fmt: skip
    """Optimal fraction of `rows` block QUBOs (one QAOA circuit each, best of `shots` samples) on the noisy
    backend and on the exact one, with the angles the QAOA solver used (set on the normalised energy)."""
    if not available():
        return None
    import torch

    from qscale.llm.quant.block import row_bqm
    from qscale.llm.quant.solvers import energy_table
    from qscale.primitives.executor import make_executor
    from qscale.quantum.export import qaoa_circuit

    n_rows = min(rows, problem.rows)
    diag = energy_table(problem.Q, problem.L[:n_rows], problem.const[:n_rows]).to(torch.float64).cpu().numpy()
    best = diag.min(axis=1)
    tol = 1e-9 * np.maximum(np.abs(best), 1.0)
    circuits = []
    for r in range(n_rows):
        bqm = row_bqm(problem, r, weight_units=False)
        std = float(diag[r].std())
        bqm.scale(1.0 / std if std > 0 else 1.0)  # the solver's angles act on (E - mean) / std
        circuits.append(qaoa_circuit(bqm, angles["gammas"], angles["betas"], measure=True))
    out: dict[str, Any] = {"rows": n_rows, "shots": shots}
    for name in (backend_name, "exact"):
        executor = make_executor(name, seed=0, qiskit=True)
        samples = executor.sample_many([(qc, None) for qc in circuits], shots)
        hits = [bool(diag[r][s[0]].min() <= best[r] + tol[r]) for r, s in enumerate(samples)]
        out[name] = {"optimal_fraction": float(np.mean(hits)), "backend": executor.device_summary()}
    out["noisy"], out["exact"] = out[backend_name]["optimal_fraction"], out["exact"]["optimal_fraction"]
    out["backend"] = backend_name
    return out


def vqe_energy(circuit: Any, params: Any, op: Any, exact_energy: float, shots: int = 10000,
               backend_name: str = NOISY_BACKEND) -> dict[str, Any] | None:  # fmt: skip
    """The energy of VQE's final parameters estimated with `shots` per measured basis on the noisy backend."""
    if not available():
        return None
    from qscale.primitives.executor import make_executor
    from qscale.quantum.export import to_qiskit

    qc = to_qiskit(circuit, params)
    executor = make_executor(backend_name, seed=0, qiskit=True)
    energy = float(executor.expectations([qc], [[op]], shots)[0, 0])
    return {"energy": energy, "error": abs(energy - exact_energy), "shots": shots, "backend": backend_name,
            "summary": executor.device_summary()}  # fmt: skip
