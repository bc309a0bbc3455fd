"""Quantum circuit Born machine (QCBM): a circuit whose measurement distribution is trained to match data.

The model is p_θ(x) = |<x|U(θ)|0>|² with U strongly-entangling layers. Losses: the squared MMD between
p_θ and the training samples' histogram (RBF kernels, several bandwidths; Liu & Wang, PRA 98, 062324,
2018); the exact KL (cross-entropy to the training histogram), available only because the state is
simulated; or "mmd+kl": MMD for the first two thirds of the steps, then KL. Gradients come from autograd
on the simulated state or from the parameter-shift rule — with `shots`, from sampled histograms of the
shifted circuits, which is what hardware could run (Liu & Wang's MMD gradient).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qscale.algorithms.generative.data import MAX_BITS, histogram
from qscale.algorithms.generative.metrics import KERNEL_SPACES, kernel_matrix, mmd2
from qscale.algorithms.variational.ansatz import strongly_entangling
from qscale.algorithms.variational.parameter_shift import expand, shift_jacobian
from qscale.errors import QscaleUserError
from qscale.quantum.device import resolve_device
from qscale.quantum.executor import Executor, states
from qscale.quantum.statevector import probabilities
from qscale.quantum.torch_threads import few_threads
from qscale.validation import check_int

LOSSES = ("mmd", "kl", "mmd+kl")
GRADIENTS = ("autograd", "parameter-shift")
_FLOOR = 1e-10  # probability floor inside the KL loss


@dataclass
class BornMachine:
    """scikit-learn-style QCBM: `fit(samples)` on n-bit outcomes, then `probabilities()` / `sample(n)`."""

    n_qubits: int
    depth: int = 6
    steps: int = 300
    restarts: int = 3
    lr: float = 0.1
    loss: str = "mmd+kl"
    bandwidths: Sequence[float] = (0.25, 0.5, 1.0)
    kernel: str = "integer"
    gradient: str = "autograd"
    shots: int | None = None
    init_range: float = np.pi
    seed: int = 1
    device: str = "cpu"
    backend: str = "exact"  # with shots, where the sampled circuits run (qscale.primitives.backends)
    executor: Any = None  # runs every circuit (qscale.quantum.executor); None: built from `backend`

    def _validate(self) -> None:
        check_int(self.n_qubits, "the Born machine's n_qubits", min=1, max=MAX_BITS)
        check_int(self.steps, "--steps", min=0)
        check_int(self.restarts, "--restarts", min=1)
        if not self.lr > 0:
            raise QscaleUserError(f"--lr must be positive, got {self.lr}")
        if self.loss not in LOSSES:
            raise QscaleUserError(f"unknown loss {self.loss!r}: use {', '.join(LOSSES)}")
        if self.gradient not in GRADIENTS:
            raise QscaleUserError(f"unknown gradient {self.gradient!r}: use {' or '.join(GRADIENTS)}")
        if self.kernel not in KERNEL_SPACES:
            raise QscaleUserError(f"unknown kernel space {self.kernel!r}: use {' or '.join(KERNEL_SPACES)}")
        if self.shots is not None:
            check_int(self.shots, "--shots", min=1)
            if self.gradient != "parameter-shift":
                raise QscaleUserError("training from shots needs --gradient parameter-shift (autograd needs the state)")
            if self.loss != "mmd":
                raise QscaleUserError("the KL loss needs exact probabilities; use --loss mmd with --shots")
        from qscale.primitives.executor import make_executor

        self.executor_: Executor = self.executor or make_executor(self.backend, seed=self.seed)
        if not self.executor_.exact and self.shots is None:
            raise QscaleUserError(f"--backend {self.executor_.name} reports samples: train with --shots N "
                                  "--gradient parameter-shift --loss mmd")

    # -- model --------------------------------------------------------------------------------
    def _exact_probs(self, circuit, params: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            psi = states(self.executor_).simulate(circuit, np.atleast_2d(params), device=self.device_)
            return probabilities(psi).cpu().numpy()

    def _sampled_probs(self, circuit, params: np.ndarray) -> np.ndarray:
        idx = self.executor_.sample(circuit, np.atleast_2d(params), self.shots, self.rng_, device=self.device_)
        self.circuit_runs_ += idx.shape[0]
        return np.stack([histogram(row, self.n_qubits) for row in idx])

    def probabilities(self, params: np.ndarray | None = None) -> np.ndarray:
        """The model distribution (2^n,), exactly from the simulated state."""
        return self._exact_probs(self.circuit_, self.params_ if params is None else params)[0]

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """n measured outcomes (basis-state indices) of the trained circuit."""
        with torch.no_grad():
            return states(self.executor_).sample(self.circuit_, self.params_, n, seed, device=self.device_)[0]

    # -- losses and gradients -----------------------------------------------------------------
    def _loss_np(self, p: np.ndarray, loss: str) -> float:
        if loss == "mmd":
            return float(mmd2(p, self.target_, self.K_))
        return float(-np.sum(self.target_ * np.log(np.maximum(p, _FLOOR))))

    def _dloss_dp(self, p: np.ndarray, loss: str) -> np.ndarray:
        if loss == "mmd":
            return 2.0 * self.K_ @ (p - self.target_)
        return -self.target_ / np.maximum(p, _FLOOR)

    def loss_and_grad(
        self, theta: np.ndarray, loss: str = "mmd", gradient: str | None = None
    ) -> tuple[float, np.ndarray]:
        """Training loss ("mmd" or "kl") and its gradient at `theta`, by autograd or parameter shift."""
        gradient = gradient or self.gradient
        if gradient == "autograd":
            t = torch.tensor(np.asarray(theta, dtype=np.float64), requires_grad=True)
            p = probabilities(states(self.executor_).simulate(self.circuit_, t, device=self.device_))[0]
            q = torch.as_tensor(self.target_, dtype=p.dtype, device=p.device)
            if loss == "mmd":
                value = mmd2(p, q, torch.as_tensor(self.K_, dtype=p.dtype, device=p.device))
            else:
                value = -(q * torch.log(p.clamp_min(_FLOOR))).sum()
            value.backward()
            return value.detach().item(), t.grad.numpy().copy()
        expanded = self.expanded_ if self.expanded_ is not None else expand(self.circuit_)
        evaluate = self._exact_probs if self.shots is None else self._sampled_probs
        x = np.asarray(theta, dtype=np.float64)
        p = evaluate(self.circuit_, x)[0]
        jac = shift_jacobian(self.circuit_, x, evaluate, expanded)  # (2^n, P)
        return self._loss_np(p, loss), self._dloss_dp(p, loss) @ jac

    def _phase(self, step: int) -> str:
        if self.loss != "mmd+kl":
            return self.loss
        return "mmd" if step < -(-2 * self.steps // 3) else "kl"

    def _train(self, theta0: np.ndarray) -> tuple[np.ndarray, list[float], float]:
        theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=self.lr)
        trace: list[float] = []
        for step in range(self.steps):
            value, grad = self.loss_and_grad(theta.detach().numpy(), self._phase(step))
            theta.grad = torch.from_numpy(grad)
            opt.step()
            trace.append(value)
        x = theta.detach().numpy().copy()
        # starts are compared on the final loss of the training data; with shots, a fresh sampled estimate
        final = "kl" if self.loss == "mmd+kl" else self.loss
        evaluate = self._exact_probs if self.shots is None else self._sampled_probs
        return x, trace, self._loss_np(evaluate(self.circuit_, x)[0], final)

    def fit(self, samples: np.ndarray) -> BornMachine:
        """Train on `samples` (integer outcomes in [0, 2^n)); sets params_, loss_trace_, seconds_."""
        self._validate()
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0 or not np.issubdtype(samples.dtype, np.integer):
            raise QscaleUserError("training samples must be a non-empty 1-D array of integer outcomes")
        if samples.min() < 0 or samples.max() >= 2**self.n_qubits:
            raise QscaleUserError(f"training samples must lie in [0, {2**self.n_qubits})")
        t0 = time.perf_counter()
        self.device_ = resolve_device(self.device)
        self.rng_ = np.random.default_rng(self.seed)
        self.target_ = histogram(samples, self.n_qubits)
        self.K_ = kernel_matrix(self.n_qubits, self.bandwidths, self.kernel)
        self.circuit_ = strongly_entangling(self.n_qubits, self.depth)
        self.n_parameters_ = self.circuit_.n_parameters
        self.expanded_ = expand(self.circuit_) if self.gradient == "parameter-shift" else None
        self.circuit_runs_ = 0
        if hasattr(self.executor_, "check_width"):
            self.executor_.check_width(self.n_qubits)
        r = self.init_range
        starts = [self.rng_.uniform(-r, r, self.n_parameters_) for _ in range(self.restarts)]
        with few_threads(self.n_qubits):
            runs = [self._train(x0) for x0 in starts]
        best = min(range(len(runs)), key=lambda i: runs[i][2])
        self.params_, self.loss_trace_, _ = runs[best]
        self.start_losses_ = [r[2] for r in runs]
        p = self.probabilities()
        self.mmd2_ = self._loss_np(p, "mmd")
        self.kl_train_ = float(np.sum(self.target_[self.target_ > 0] * np.log(
            self.target_[self.target_ > 0] / np.maximum(p[self.target_ > 0], _FLOOR))))
        self.seconds_ = time.perf_counter() - t0
        return self
