"""Quantum circuit Born machine (QCBM): a circuit whose measurement distribution is trained to match data.

The model is p_θ(x) = |<x|U(θ)|0>|² with U strongly-entangling layers. The loss is the squared MMD
between p_θ and the training samples' histogram (RBF kernels, several bandwidths; Liu & Wang, PRA 98,
062324, 2018), or the exact KL (cross-entropy) where the state is simulated. Gradients come from
autograd on the simulated state, or from the parameter-shift rule — with `shots`, from sampled
histograms of the shifted circuits, which is what hardware could run (Liu & Wang's MMD gradient).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from qscale.algorithms.ansatz import strongly_entangling
from qscale.algorithms.generative_data import MAX_BITS, histogram
from qscale.algorithms.generative_metrics import KERNEL_SPACES, kernel_matrix, mmd2
from qscale.algorithms.parameter_shift import expand, shift_jacobian
from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit
from qscale.quantum.device import resolve_device
from qscale.quantum.statevector import probabilities, sample, simulate

LOSSES = ("mmd", "kl")
GRADIENTS = ("autograd", "parameter-shift")
_FLOOR = 1e-10  # probability floor inside the KL loss


@dataclass
class BornMachine:
    """scikit-learn-style QCBM: `fit(samples)` on n-bit outcomes, then `probabilities()` / `sample(n)`."""

    n_qubits: int
    depth: int = 6
    steps: int = 200
    restarts: int = 3
    lr: float = 0.1
    loss: str = "mmd"
    bandwidths: Sequence[float] = (0.25, 0.5, 1.0)
    kernel: str = "integer"
    gradient: str = "autograd"
    shots: int | None = None
    init_range: float = np.pi
    seed: int = 1
    device: str = "cpu"

    def _validate(self) -> None:
        n = self.n_qubits
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_BITS:
            raise QscaleUserError(f"the Born machine supports 1 to {MAX_BITS} qubits, got {n!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise QscaleUserError(f"--steps must be a non-negative integer, got {self.steps!r}")
        if not self.lr > 0:
            raise QscaleUserError(f"--lr must be positive, got {self.lr}")
        if self.loss not in LOSSES:
            raise QscaleUserError(f"unknown loss {self.loss!r}: use {' or '.join(LOSSES)}")
        if self.gradient not in GRADIENTS:
            raise QscaleUserError(f"unknown gradient {self.gradient!r}: use {' or '.join(GRADIENTS)}")
        if self.kernel not in KERNEL_SPACES:
            raise QscaleUserError(f"unknown kernel space {self.kernel!r}: use {' or '.join(KERNEL_SPACES)}")
        if self.shots is not None:
            if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 1:
                raise QscaleUserError(f"--shots must be a positive integer (0 = exact), got {self.shots!r}")
            if self.gradient != "parameter-shift":
                raise QscaleUserError("training from shots needs --gradient parameter-shift (autograd needs the state)")
            if self.loss != "mmd":
                raise QscaleUserError("the KL loss needs exact probabilities; use --loss mmd with --shots")

    # -- model --------------------------------------------------------------------------------
    def _probs(self, circuit: Circuit, params: object) -> torch.Tensor:
        return probabilities(simulate(circuit, params, device=self.device_))

    def _sampled_probs(self, circuit: Circuit, params: np.ndarray) -> np.ndarray:
        psi = simulate(circuit, np.atleast_2d(params), device=self.device_)
        idx = sample(psi, self.shots, self.rng_)
        return np.stack([histogram(row, self.n_qubits) for row in idx])

    def _exact_probs(self, circuit: Circuit, params: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self._probs(circuit, np.atleast_2d(params)).cpu().numpy()

    def probabilities(self, params: np.ndarray | None = None) -> np.ndarray:
        """The model distribution (2^n,), exactly from the simulated state."""
        return self._exact_probs(self.circuit_, self.params_ if params is None else params)[0]

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """n measured outcomes (basis-state indices) of the trained circuit."""
        with torch.no_grad():
            return sample(simulate(self.circuit_, self.params_, device=self.device_)[0], n, seed)

    # -- training -----------------------------------------------------------------------------
    def _loss_np(self, p: np.ndarray) -> float:
        if self.loss == "mmd":
            return float(mmd2(p, self.target_, self.K_))
        return float(-np.sum(self.target_ * np.log(np.maximum(p, _FLOOR))))

    def _dloss_dp(self, p: np.ndarray) -> np.ndarray:
        if self.loss == "mmd":
            return 2.0 * self.K_ @ (p - self.target_)
        return -self.target_ / np.maximum(p, _FLOOR)

    def _step_autograd(self, theta: torch.Tensor) -> float:
        p = self._probs(self.circuit_, theta)[0]
        q = torch.as_tensor(self.target_, dtype=p.dtype, device=p.device)
        if self.loss == "mmd":
            K = torch.as_tensor(self.K_, dtype=p.dtype, device=p.device)
            loss = mmd2(p, q, K)
        else:
            loss = -(q * torch.log(p.clamp_min(_FLOOR))).sum()
        loss.backward()
        return loss.detach().item()

    def _step_shift(self, theta: torch.Tensor) -> float:
        x = theta.detach().cpu().numpy()
        evaluate = self._exact_probs if self.shots is None else self._sampled_probs
        p = evaluate(self.circuit_, x)[0]
        jac = shift_jacobian(self.circuit_, x, evaluate, self.expanded_)  # (2^n, P)
        theta.grad = torch.from_numpy(self._dloss_dp(p) @ jac).to(theta.dtype)
        self.circuit_runs_ += 1 + jac_rows(self.expanded_)
        return self._loss_np(p)

    def _train(self, theta0: np.ndarray) -> tuple[np.ndarray, list[float], float]:
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=self.lr)
        trace: list[float] = []
        for _ in range(self.steps):
            opt.zero_grad()
            trace.append(self._step_autograd(theta) if self.gradient == "autograd" else self._step_shift(theta))
            opt.step()
        x = theta.detach().cpu().numpy()
        # the start kept is chosen on the training loss; with shots, on a fresh sampled estimate of it
        evaluate = self._exact_probs if self.shots is None else self._sampled_probs
        return x, trace, self._loss_np(evaluate(self.circuit_, x)[0])

    def fit(self, samples: np.ndarray) -> BornMachine:
        """Train on `samples` (integer outcomes in [0, 2^n)); sets params_, loss_trace_, seconds_."""
        self._validate()
        if isinstance(self.restarts, bool) or not isinstance(self.restarts, int) or not 1 <= self.restarts <= 100:
            raise QscaleUserError(f"--restarts must be an integer in [1, 100], got {self.restarts!r}")
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0 or not np.issubdtype(samples.dtype, np.integer):
            raise QscaleUserError("training samples must be a non-empty 1-D array of integer outcomes")
        if samples.min() < 0 or samples.max() >= 2**self.n_qubits:
            raise QscaleUserError(f"training samples must lie in [0, {2**self.n_qubits})")
        t0 = time.perf_counter()
        self.device_ = resolve_device(self.device)
        self.rng_ = np.random.default_rng(self.seed)
        self.target_ = histogram(samples, self.n_qubits)
        self.K_ = kernel_matrix(self.n_qubits, self.bandwidths, self.kernel) if self.loss == "mmd" else None
        self.circuit_ = strongly_entangling(self.n_qubits, self.depth)
        self.n_parameters_ = self.circuit_.n_parameters
        self.expanded_ = expand(self.circuit_) if self.gradient == "parameter-shift" else None
        self.circuit_runs_ = 0
        runs = [self._train(self.rng_.uniform(-self.init_range, self.init_range, self.n_parameters_)) for _ in range(self.restarts)]
        best = min(range(len(runs)), key=lambda i: runs[i][2])
        self.params_, self.loss_trace_, _ = runs[best]
        self.start_losses_ = [r[2] for r in runs]
        self.loss_ = self._loss_np(self.probabilities())
        self.seconds_ = time.perf_counter() - t0
        return self


def jac_rows(expanded) -> int:
    """Shifted circuits one parameter-shift gradient runs."""
    return sum(2 * len(rule) for rule in expanded.rules)
