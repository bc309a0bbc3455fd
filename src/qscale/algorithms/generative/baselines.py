"""Classical generative baselines over n-bit outcomes, fitted to the same samples as the Born machine.

- EmpiricalHistogram: the training frequencies themselves (2^n − 1 free parameters); it reproduces the
  training data exactly, so it bounds how well any model can fit these samples.
- RBM: a restricted Boltzmann machine (Smolensky 1986; Hinton 2002) trained by exact maximum likelihood —
  with n ≤ 12 the partition function is a sum over 2^n visible states, so no contrastive-divergence
  approximation weakens the baseline.
- MADE: a masked autoregressive network with one tanh hidden layer and direct input-to-output connections
  (Germain et al., ICML 2015): exact likelihood p(x) = Π_d p(x_d | x_<d), trained by maximum likelihood.
`n_hidden_for(kind, n, budget)` sizes RBM and MADE to at most a given parameter count (the QCBM's).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from qscale.algorithms.generative.data import MAX_BITS, histogram
from qscale.algorithms.generative.metrics import sample_distribution
from qscale.errors import QscaleUserError
from qscale.quantum.torch_threads import few_threads
from qscale.validation import check_int


def all_bits(n: int) -> torch.Tensor:
    """(2^n, n) float64 bit matrix; column d is bit d (qubit d) of the outcome index."""
    idx = torch.arange(2**n)
    return ((idx[:, None] >> torch.arange(n)) & 1).to(torch.float64)


class _Model:
    """Shared API: fit(samples) -> self, probs_ (2^n,), n_parameters_, seconds_, sample(n, seed)."""

    def __init__(self, n_bits: int) -> None:
        check_int(n_bits, "the baselines' n_bits", min=1, max=MAX_BITS)
        self.n_bits = n_bits

    def _target(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples)
        if samples.ndim != 1 or samples.size == 0 or samples.min() < 0 or samples.max() >= 2**self.n_bits:
            top = 2**self.n_bits
            raise QscaleUserError(f"training samples must be a non-empty 1-D array of outcomes in [0, {top})")
        return histogram(samples, self.n_bits)

    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        return sample_distribution(self.probs_, n, seed)


class EmpiricalHistogram(_Model):
    name = "empirical histogram"

    def fit(self, samples: np.ndarray) -> EmpiricalHistogram:
        t0 = time.perf_counter()
        self.probs_ = self._target(samples)
        self.n_parameters_ = 2**self.n_bits - 1
        self.seconds_ = time.perf_counter() - t0
        return self


class _TorchModel(_Model):
    """Full-batch Adam on the exact negative log-likelihood of the training histogram."""

    def __init__(self, n_bits: int, n_hidden: int, steps: int = 1500, lr: float = 0.05, seed: int = 1) -> None:
        super().__init__(n_bits)
        check_int(n_hidden, "hidden units", min=1)
        self.n_hidden, self.steps, self.lr, self.seed = n_hidden, steps, lr, seed

    def _log_probs(self, V: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fit(self, samples: np.ndarray) -> _TorchModel:
        t0 = time.perf_counter()
        q = torch.from_numpy(self._target(samples))
        gen = torch.Generator().manual_seed(self.seed)
        self._init(gen)
        V = all_bits(self.n_bits)
        opt = torch.optim.Adam(self._params, lr=self.lr)
        self.loss_trace_ = []
        with few_threads(self.n_bits):
            for _ in range(self.steps):
                opt.zero_grad()
                loss = -(q * self._log_probs(V)).sum()
                loss.backward()
                opt.step()
                self.loss_trace_.append(loss.item())
        with torch.no_grad():
            self.probs_ = self._log_probs(V).exp().numpy()
        self.seconds_ = time.perf_counter() - t0
        return self


class RBM(_TorchModel):
    """Binary RBM: log p(v) = b·v + Σ_j softplus(c_j + W_j·v) − log Z; n·h + n + h parameters."""

    name = "restricted Boltzmann machine"

    def _init(self, gen: torch.Generator) -> None:
        n, h = self.n_bits, self.n_hidden
        self.W = (0.01 * torch.randn(h, n, generator=gen, dtype=torch.float64)).requires_grad_()
        self.b = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        self.c = torch.zeros(h, dtype=torch.float64, requires_grad=True)
        self._params = [self.W, self.b, self.c]
        self.n_parameters_ = n * h + n + h

    def _log_probs(self, V: torch.Tensor) -> torch.Tensor:
        unnorm = V @ self.b + torch.nn.functional.softplus(V @ self.W.T + self.c).sum(dim=1)
        return unnorm - torch.logsumexp(unnorm, dim=0)


def made_masks(n: int, h: int) -> tuple[torch.Tensor, torch.Tensor]:
    """MADE masks for input order 1..n: hidden degree m_k = k mod (n−1) + 1; a hidden unit sees inputs
    d ≤ m_k and feeds outputs d > m_k, so output d depends only on inputs before it."""
    m = torch.arange(h) % max(n - 1, 1) + 1
    d = torch.arange(1, n + 1)
    return (m[:, None] >= d[None, :]).to(torch.float64), (d[:, None] > m[None, :]).to(torch.float64)


class MADE(_TorchModel):
    """One-hidden-layer MADE (tanh) with direct input-to-output connections (Germain et al.'s variant);
    parameters = unmasked weights + biases."""

    name = "MADE (masked autoregressive)"

    def _init(self, gen: torch.Generator) -> None:
        n, h = self.n_bits, self.n_hidden
        self.M1, self.M2 = made_masks(n, h)
        self.W1 = (torch.randn(h, n, generator=gen, dtype=torch.float64) / np.sqrt(n)).requires_grad_()
        self.b1 = torch.zeros(h, dtype=torch.float64, requires_grad=True)
        self.W2 = (torch.randn(n, h, generator=gen, dtype=torch.float64) / np.sqrt(h)).requires_grad_()
        self.b2 = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        self.D = torch.zeros(n, n, dtype=torch.float64, requires_grad=True)  # output d <- inputs before d
        self.MD = torch.tril(torch.ones(n, n, dtype=torch.float64), diagonal=-1)
        self._params = [self.W1, self.b1, self.W2, self.b2, self.D]
        self.n_parameters_ = made_parameters(n, h)

    def _log_probs(self, V: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(V @ (self.W1 * self.M1).T + self.b1)
        logits = hidden @ (self.W2 * self.M2).T + V @ (self.D * self.MD).T + self.b2
        return -torch.nn.functional.binary_cross_entropy_with_logits(logits, V, reduction="none").sum(dim=1)


def made_parameters(n: int, h: int) -> int:
    m1, m2 = made_masks(n, h)
    return int(m1.sum() + m2.sum()) + h + n + n * (n - 1) // 2


def n_hidden_for(kind: str, n: int, budget: int) -> int:
    """The most hidden units whose parameter count stays within `budget` (at least 1)."""
    if kind == "rbm":
        return max(1, (budget - n) // (n + 1))
    if kind == "made":
        h = 1
        while made_parameters(n, h + 1) <= budget:
            h += 1
        return h
    raise QscaleUserError(f"unknown baseline {kind!r}")
