"""Variational quantum eigensolver: an ansatz, an optimizer, exact or shot-noise energies, multi-start.

Without shots the energy is the exact expectation of the simulated state and gradients come from
autograd (the simulator's adjoint method). With shots the optimizer sees only what hardware would give:
energies estimated from samples per measurement group, and parameter-shift gradients built from such
estimates; the start kept is the one with the lowest *estimated* energy. The reported `energy` is then
the exact expectation of the kept parameters (a simulation can tell), beside `energy_sampled`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qscale.algorithms.variational.ansatz import build_ansatz
from qscale.algorithms.variational.hamiltonians import CHEMICAL_ACCURACY, Hamiltonian, ground_energy
from qscale.algorithms.variational.optimizers import Objective, OptResult, run_optimizer
from qscale.algorithms.variational.parameter_shift import expand, shift_jacobian
from qscale.algorithms.variational.pauli_measurement import SampledEnergy
from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.quantum.device import resolve_device, resolve_dtype
from qscale.quantum.executor import Executor, states
from qscale.quantum.pauli import PauliSum
from qscale.quantum.torch_threads import few_threads
from qscale.validation import check_int


@dataclass
class VQE:
    """scikit-learn-style VQE: configure, `fit(op)`, then read the fitted attributes (ending in `_`)."""

    ansatz: str = "hea"
    depth: int = 2
    optimizer: str = "lbfgs"
    shots: int | None = None
    restarts: int = 3
    max_iter: int = 300
    lr: float = 0.05
    seed: int = 1
    device: str = "cpu"
    dtype: str = "complex128"
    backend: str = "exact"  # shot-mode energies on qscale.primitives.backends (see variational/backend.py)
    executor: Any = None  # runs every circuit (qscale.quantum.executor); None: built from `backend`

    def _validate(self) -> None:
        check_int(self.restarts, "--restarts", min=1, max=1000)
        if self.shots is not None:
            check_int(self.shots, "--shots", min=1, note=" (or 0 for exact energies)")
        resolve_dtype(self.dtype)
        from qscale.primitives.executor import make_executor

        self.executor_: Executor = self.executor or make_executor(self.backend, seed=self.seed)
        if not self.executor_.exact and self.shots is None:
            raise QscaleUserError(f"--backend {self.executor_.name} reports samples: give --shots N (N > 0)")

    def exact_energy(self, params: np.ndarray) -> float:
        """Exact <H> of the fitted (or any) parameters on the fitted circuit."""
        with torch.no_grad():
            psi = states(self.executor_).simulate(self.circuit_, params, device=self.device_, dtype=self.dtype)
            return float(self.op_.expectation(psi)[0])

    def _objective(self) -> tuple[Objective, int]:
        circuit, op, dev, dt = self.circuit_, self.op_, self.device_, self.dtype
        simulate = states(self.executor_).simulate
        if self.shots is None:

            def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
                t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
                e = op.expectation(simulate(circuit, t, device=dev, dtype=dt))[0]
                e.backward()
                return e.detach().item(), t.grad.numpy().copy()

            return Objective(self.exact_energy, value_and_grad), 1
        est = self.sampler_
        expanded = expand(circuit)

        def value_and_grad_shots(x: np.ndarray) -> tuple[float, np.ndarray]:
            return float(est(circuit, x)[0]), shift_jacobian(circuit, x, est, expanded)[0]

        return Objective(lambda x: float(est(circuit, x)[0]), value_and_grad_shots), expanded.shifted_rows

    def fit(self, op: PauliSum) -> VQE:
        if not isinstance(op, PauliSum):
            raise QscaleUserError(f"VQE.fit expects a PauliSum, got {type(op).__name__}")
        self._validate()
        t0 = time.perf_counter()
        self.op_ = op
        self.device_ = resolve_device(self.device)
        self.circuit_ = build_ansatz(self.ansatz, op, self.depth)
        self.n_parameters_ = self.circuit_.n_parameters
        if self.n_parameters_ == 0:
            raise QscaleUserError("the ansatz has no parameters")
        rng = np.random.default_rng(self.seed)
        if self.shots is not None and hasattr(self.executor_, "sample_many"):  # a device: all groups in one job
            from qscale.algorithms.variational.backend import BackendEnergy

            self.sampler_ = BackendEnergy(op, self.shots, self.executor_, seed=self.seed)
        elif self.shots is not None:
            self.sampler_ = SampledEnergy(op, self.shots, seed=self.seed, device=self.device_, dtype=self.dtype,
                                          executor=self.executor_)
        obj, grad_rows = self._objective()
        runs: list[OptResult] = []
        with few_threads(op.n_qubits):
            for k in range(self.restarts):  # first start near zero, the others anywhere
                spread = 0.1 if k == 0 else np.pi
                x0 = rng.uniform(-spread, spread, self.n_parameters_)
                runs.append(run_optimizer(self.optimizer, obj, x0, self.max_iter, self.lr, rng))
        best = min(range(len(runs)), key=lambda i: runs[i].value)
        self.runs_ = runs
        self.params_ = runs[best].x
        self.trace_ = runs[best].trace
        self.iterations_ = runs[best].iterations
        self.energy_estimate_ = runs[best].value
        self.energy_ = self.exact_energy(self.params_)
        self.start_energies_ = [self.exact_energy(r.x) for r in runs]
        # a parameter-shift gradient costs `grad_rows` energy estimates; an autograd one costs a backward pass
        self.evaluations_ = obj.evaluations + (obj.gradients * grad_rows if self.shots is not None else 0)
        self.gradient_evaluations_ = obj.gradients
        self.seconds_ = time.perf_counter() - t0
        return self


class VqeResult(Result):
    """`run_vqe`'s answer: the `qscale vqe` JSON (energy beside the exact ground energy, trace, shots)."""


def run_vqe(
    ham: Hamiltonian,
    ansatz: str = "hea",
    depth: int = 2,
    optimizer: str = "lbfgs",
    shots: int = 0,
    restarts: int = 3,
    max_iter: int = 300,
    lr: float = 0.05,
    seed: int = 1,
    device: str = "auto",
    dtype: str = "complex128",
    backend: str = "exact",
    executor: Executor | None = None,
) -> VqeResult:
    """VQE on `ham` beside exact diagonalisation; the result's `to_json()` is the `qscale vqe` JSON contract.

    backend: with shots, where the measurement circuits run (exact = qscale; see qscale.primitives.backends).
    executor: runs every circuit instead (qscale.quantum.executor; e.g. a recording one); None: from `backend`.
    """
    check_int(shots, "--shots", min=0)
    vqe = VQE(ansatz, depth, optimizer, shots or None, restarts, max_iter, lr, seed, device, dtype,
              backend, executor).fit(ham.op)
    exact = ground_energy(ham.op)
    result: dict = {
        "hamiltonian": ham.name,
        "description": ham.description,
        "n_qubits": ham.n_qubits,
        "terms": len(ham.op),
        "ansatz": ansatz,
        "depth": depth if ansatz != "chemistry" else None,
        "optimizer": optimizer,
        "gradient": "autograd (adjoint)" if not shots else "parameter shift on shot estimates",
        "shots": shots or None,
        "restarts": restarts,
        "energy": vqe.energy_,
        "exact_energy": exact.energy,
        "error": vqe.energy_ - exact.energy,
        "iterations": vqe.iterations_,
        "evaluations": vqe.evaluations_,
        "gradient_evaluations": vqe.gradient_evaluations_,
        "parameters": vqe.n_parameters_,
        "optimal_parameters": vqe.params_,
        "trace": vqe.trace_,
        "start_energies": vqe.start_energies_,
        "seconds": vqe.seconds_,
        "kind": "simulated",
        "simulator": {"device": str(vqe.device_), "dtype": dtype, "backend": "qscale statevector"},
        "classical_baseline": {
            "energy": exact.energy,
            "method": exact.method,
            "seconds": exact.seconds,
            "kind": "measured",
        },
    }
    if shots:
        s = vqe.sampler_
        result["energy_sampled"] = vqe.energy_estimate_
        result["measurement_groups"] = len(s.groups)
        result["shots_per_energy"] = s.shots_per_energy
        result["total_shots"] = s.circuit_runs * s.shots
        result["energy_note"] = ("energy is the exact expectation of the final parameters (simulation); the "
                                 "optimizer only saw shot estimates (energy_sampled is the last of them)")
        if hasattr(s, "report"):
            result |= s.report()
            result["energy_note"] += f"; the shot estimates were taken on backend {vqe.executor_.name}"
    result["units"] = "those of the Hamiltonian's coefficients"
    if ham.name == "h2":
        result["units"] = "Ha"
        result["nuclear_repulsion"] = ham.meta["nuclear_repulsion"]
        result["total_energy"] = vqe.energy_ + ham.meta["nuclear_repulsion"]
        result["chemical_accuracy"] = CHEMICAL_ACCURACY
        result["within_chemical_accuracy"] = abs(result["error"]) <= CHEMICAL_ACCURACY
    return VqeResult(result)
