"""Scores for generative models over n-bit outcomes: MMD with RBF kernels, KL, NLL and validity.

Kernel (Liu & Wang, PRA 98, 062324, 2018; PennyLane's QCBM demo): k(x, y) = mean over bandwidths σ of
exp(−d(x, y)² / (2σ²)), with d the distance of the outcomes as integers (space "integer", as the demo)
or as bit vectors (space "bits": d² = Hamming distance). MMD² = E k(x,x') − 2 E k(x,y) + E k(y,y')
= (p − q)ᵀ K (p − q) for distributions p and q over the outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from qscale.errors import QscaleUserError

KERNEL_SPACES = ("integer", "bits")


def _check_bandwidths(bandwidths: Sequence[float]) -> np.ndarray:
    bw = np.asarray(list(bandwidths), dtype=np.float64)
    if bw.ndim != 1 or bw.size == 0 or not np.all(np.isfinite(bw)) or np.any(bw <= 0):
        raise QscaleUserError(f"bandwidths must be positive numbers, got {list(bandwidths)!r}")
    return bw


def squared_distances(x: np.ndarray, y: np.ndarray, space: str) -> np.ndarray:
    """Pairwise d(x, y)² of integer outcomes, shape (len(x), len(y))."""
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    if space == "integer":
        return (x[:, None] - y[None, :]).astype(np.float64) ** 2
    if space == "bits":
        return np.bitwise_count(x[:, None] ^ y[None, :]).astype(np.float64)
    raise QscaleUserError(f"unknown kernel space {space!r}: use {' or '.join(KERNEL_SPACES)}")


def rbf_kernel(x: np.ndarray, y: np.ndarray, bandwidths: Sequence[float], space: str = "integer") -> np.ndarray:
    bw = _check_bandwidths(bandwidths)
    d2 = squared_distances(x, y, space)
    return np.mean([np.exp(-d2 / (2 * s * s)) for s in bw], axis=0)


def kernel_matrix(n_bits: int, bandwidths: Sequence[float], space: str = "integer") -> np.ndarray:
    """K over all 2^n outcomes (for distributions given as probability vectors)."""
    outcomes = np.arange(2**n_bits)
    return rbf_kernel(outcomes, outcomes, bandwidths, space)


def mmd2(p: np.ndarray | torch.Tensor, q: np.ndarray | torch.Tensor, K: np.ndarray | torch.Tensor):
    """(p − q)ᵀ K (p − q); differentiable when given torch tensors."""
    d = p - q
    return d @ (K @ d)


def mmd2_samples(x: np.ndarray, y: np.ndarray, bandwidths: Sequence[float], space: str = "integer") -> float:
    """MMD² (V-statistic) between two sets of samples, straight from pairwise kernels."""
    return float(
        rbf_kernel(x, x, bandwidths, space).mean()
        - 2 * rbf_kernel(x, y, bandwidths, space).mean()
        + rbf_kernel(y, y, bandwidths, space).mean()
    )


def kl_divergence(target: np.ndarray, model: np.ndarray, floor: float = 1e-12) -> float:
    """KL(target ‖ model) in nats, model probabilities floored at `floor` (a zero would make it infinite)."""
    t, m = np.asarray(target, dtype=np.float64), np.asarray(model, dtype=np.float64)
    if t.shape != m.shape:
        raise QscaleUserError(f"distributions differ in shape: {t.shape} vs {m.shape}")
    support = t > 0
    return float(np.sum(t[support] * np.log(t[support] / np.maximum(m[support], floor))))


def nll(samples: np.ndarray, model: np.ndarray, floor: float = 1e-12) -> float:
    """Mean negative log-likelihood (nats per sample) of `samples` under the model distribution."""
    return float(-np.mean(np.log(np.maximum(np.asarray(model)[np.asarray(samples, dtype=np.int64)], floor))))


def valid_fraction(samples: np.ndarray, valid: np.ndarray) -> float:
    """Share of samples that are valid outcomes (`valid` is a boolean mask over all outcomes)."""
    return float(np.mean(np.asarray(valid)[np.asarray(samples, dtype=np.int64)]))


def sample_distribution(p: np.ndarray, n: int, seed: int | np.random.Generator | None) -> np.ndarray:
    """n outcomes drawn from a probability vector (numpy Generator, reproducible)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0, None)
    return np.random.default_rng(seed).choice(p.size, size=n, p=p / p.sum())
