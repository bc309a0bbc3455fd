"""QAOA's final circuit on a chosen backend (`qscale qaoa --backend NAME`), beside the noiseless answer.

Angles are chosen as without a backend (given, fixed-angle table, or optimised on the exact simulator,
which needs no shots); the backend then runs the final circuit once with `shots` shots, as a device
would. The quality reported is what those samples give: `approximation_ratio` is the mean energy of the
samples mapped onto (E_max - <E>) / (E_max - E_min), beside `approximation_ratio_exact` (the noiseless
state's expectation) and `approximation_ratio_random` (uniformly random assignments: the mean of the cost
over all 2^n states, which for unweighted MaxCut is |E|/2 edges cut). A noisy device lands in between.
"""

from __future__ import annotations

import math
import time

import numpy as np

from qscale.algorithms.qaoa.problems import approximation_ratio
from qscale.quantum.qubo import variable_order


def ising_terms(bqm) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """E = const + Σ a_q Z_q + Σ b_qr Z_q Z_r on qubits in qscale's order (qubit q = sorted variable q).

    qscale's conventions (qscale.quantum.qubo): a BINARY x = 1 is |1>, so x = (1 - Z)/2; a SPIN s is the
    Z eigenvalue (s = +1 is |0>).
    """
    import dimod

    order = variable_order(bqm)
    pos = {v: q for q, v in enumerate(order)}
    z: dict[int, float] = {q: 0.0 for q in range(len(order))}
    zz: dict[tuple[int, int], float] = {}
    spin = bqm.vartype is dimod.SPIN
    for v, h in bqm.linear.items():
        z[pos[v]] += h if spin else -h / 2
    for (u, v), j in bqm.quadratic.items():
        a, b = sorted((pos[u], pos[v]))
        if spin:
            zz[(a, b)] = zz.get((a, b), 0.0) + j
        else:
            zz[(a, b)] = zz.get((a, b), 0.0) + j / 4
            z[a] -= j / 4
            z[b] -= j / 4
    return z, zz


def qaoa_circuit(bqm, gammas: np.ndarray, betas: np.ndarray, measure: bool = True):
    """|+>^n, then per layer exp(-iγE) (RZ and RZZ) and exp(-iβ ΣX) (RX(2β)); qubit q = variable order[q]."""
    from qiskit import QuantumCircuit

    z, zz = ising_terms(bqm)
    n = bqm.num_variables
    qc = QuantumCircuit(n, name="qaoa")
    qc.h(range(n))
    for gamma, beta in zip(np.ravel(gammas), np.ravel(betas), strict=True):
        for (a, b), j in zz.items():
            if j:
                qc.rzz(2 * gamma * j, a, b)
        for q, h in z.items():
            if h:
                qc.rz(2 * gamma * h, q)
        qc.rx(2 * beta, range(n))
    if measure:
        qc.measure_all()
    return qc


class QaoaOnBackend:
    """Resolves the backend and checks the width before any simulation; `apply` runs and reports."""

    def __init__(self, backend: str, n_qubits: int, shots: int, seed: int):
        from qscale.primitives.backends import check_shots, resolve_backend

        self.shots = check_shots(shots)
        self.backend = resolve_backend(backend, seed=seed)
        self.backend.check_width(n_qubits)

    def apply(self, result: dict, bqm, diag: np.ndarray, gammas: np.ndarray, betas: np.ndarray) -> dict:
        """Run the final circuit, and rewrite `result`'s sample-based figures with the backend's (exact kept)."""
        t0 = time.perf_counter()
        qc = qaoa_circuit(bqm, gammas, betas)
        indices = self.backend.sample([(qc, None)], self.shots)[0][0]
        seconds = time.perf_counter() - t0
        energies = diag[indices]
        e_min, e_max = result["optimal_energy"], float(diag.max())
        span = e_max - e_min
        mean = float(energies.mean())
        best = int(indices[int(np.argmin(energies))])
        n = result["n_qubits"]
        exact_keys = ("expectation", "approximation_ratio", "best_bitstring", "best_energy", "best_sample",
                      "sampled_optimal_fraction")
        result["exact"] = {k: result[k] for k in exact_keys} | {"kind": "simulated (noiseless, qscale)"}
        rep = self.backend.report(qc)
        result.update({
            "expectation": mean,
            "expectation_exact": result["exact"]["expectation"],
            "approximation_ratio": approximation_ratio(mean, e_min, e_max),
            "approximation_ratio_exact": result["exact"]["approximation_ratio"],
            "approximation_ratio_random": approximation_ratio(float(diag.mean()), e_min, e_max),
            "approximation_ratio_stderr": float(energies.std(ddof=1) / math.sqrt(len(energies)) / span)
            if span and len(energies) > 1 else 0.0,
            "best_bitstring": format(best, f"0{n}b"),
            "best_energy": float(diag[best]),
            "best_sample": {str(v): int((best >> q) & 1) for q, v in enumerate(variable_order(bqm))},
            "sampled_optimal_fraction": float(np.mean(energies == e_min)),
            "transpiled_depth": rep.transpiled_depth,
            "transpiled_two_qubit_gates": rep.transpiled_two_qubit_gates,
            "estimated_fidelity": rep.estimated_fidelity,
            "device_report": rep.to_dict(),
            "backend": self.backend.summary() | {"seconds": seconds},
            "backend_note": "angles chosen without the backend (given, fixed-angle table, or optimised on the exact "
            "simulator); the backend ran the final circuit with `shots` shots. expectation, approximation_ratio, "
            "best_* and sampled_optimal_fraction come from its samples; *_exact and `exact` are the noiseless "
            "state's; approximation_ratio_random is uniformly random assignments; probability_optimal is the "
            "noiseless state's. estimated_fidelity = product of (1 - error) over the transpiled circuit's gates "
            "and measurements (snapshot error rates; idle decoherence not included)",
        })
        if "expected_cut" in result:
            result["expected_cut_exact"] = result["expected_cut"]
            result["expected_cut"] = -mean
        result["kind"] = "simulated"
        return result
