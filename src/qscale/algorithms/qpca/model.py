"""Resource-model qPCA: the same algorithm's output statistics from its error model, for any size. A MODEL.

Why it is exact and cheap: the input state is rho itself, and every operation of DME-based phase estimation
(the blocks of `qscale.quantum.density.controlled_dme_step`, phase corrections, H, measurement) maps
operators diagonal in rho's eigenbasis to diagonal ones. So each branch of the measurement tree is a weight
vector over rho's eigenvectors, and n identical DME steps have closed forms:
* coherent blocks: (cos dt - i sin dt lambda)^n per eigenvalue -- the phase-estimation kernel with the DME
  damping |.|^n = (1 - sin^2 dt (1 - lambda^2))^(n/2) built in;
* population block: v -> cos^(2n) v + (1 - cos^(2n)) lambda sum(v) (the swap "refill" towards rho).
This costs O(2^b d) however many copies are used, but it reads rho's eigen-decomposition (numpy.linalg.eigh),
which a quantum computer does not have: it predicts what the circuit would output, it does not run it.
`qscale.algorithms.qpca.circuit` is the circuit-level check; tests compare both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from qscale.algorithms.qpca.schedule import Schedule
from qscale.errors import QscaleUserError
from qscale.quantum.memory import check_memory


@dataclass
class ModelQPE:
    probabilities: np.ndarray  # (2^b,)
    weights: np.ndarray  # (2^b, d): outcome x leaves sum_i weights[x, i] |u_i><u_i| (unnormalised)
    eigenvalues: np.ndarray  # (d,) of rho, ascending (numpy.linalg.eigh)
    eigenvectors: np.ndarray  # (d, d) columns


def eigensystem(rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho's eigenvalues (clipped at 0) and eigenvectors: the model's classical shortcut."""
    w, v = np.linalg.eigh(np.asarray(rho, dtype=np.float64))
    return np.clip(w, 0.0, None), v


def _step_powers(lam: np.ndarray, dt: float, n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """|z|^n, arg(z^n) for z = cos dt - i sin dt lambda, and cos(dt)^(2n), computed in log space (n up to 1e15)."""
    s, c = math.sin(dt), math.cos(dt)
    with np.errstate(divide="ignore"):  # log(0) = -inf gives exp(-inf) = 0, as it should
        log_abs = 0.5 * np.log1p(-(s * s) * (1.0 - lam * lam))
        c2n = float(np.exp(n * np.log1p(-(s * s))))  # cos(dt)^(2n), accurate for tiny dt
    arg = -np.arctan2(s * lam, c)
    return np.exp(n * log_abs), n * arg, c2n


def qpe_distribution(eigenvalues: np.ndarray, schedule: Schedule) -> np.ndarray:
    """(2^b, d) branch weights of semiclassical QPE with DME, for the input state rho = diag(eigenvalues)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    b, d = schedule.bits, lam.size
    check_memory(b, d, torch.complex64, torch.device("cpu"), copies=4, what="qPCA resource-model branch weights")
    total = lam.sum()
    if not math.isclose(total, 1.0, rel_tol=1e-6):
        raise QscaleUserError(f"eigenvalues of a density matrix must sum to 1, got {total}")
    nodes = lam[None, :].copy()
    for level in range(b):
        k = b - 1 - level
        mag, arg, c2n = _step_powers(lam, schedule.dt, schedule.steps(k))
        omega = 2 * math.pi * np.arange(nodes.shape[0]) / 2 ** (level + 1)
        coherent = mag[None, :] * np.cos(arg[None, :] - omega[:, None]) * nodes  # Re(e^{-i omega} z^n) v
        refilled = c2n * nodes + (1.0 - c2n) * lam[None, :] * nodes.sum(1, keepdims=True)
        diag = 0.5 * (nodes + refilled)
        nodes = np.concatenate([0.5 * (diag + coherent), 0.5 * (diag - coherent)])
    return np.clip(nodes, 0.0, None)


def model_qpe(rho: np.ndarray, schedule: Schedule) -> ModelQPE:
    """The model's QPE output: outcome distribution and, per outcome, the eigenvector mixture left behind."""
    lam, vecs = eigensystem(rho)
    lam = lam / lam.sum()
    weights = qpe_distribution(lam, schedule)
    return ModelQPE(probabilities=weights.sum(1), weights=weights, eigenvalues=lam, eigenvectors=vecs)


def ideal_qpe_distribution(eigenvalues: np.ndarray, schedule: Schedule) -> np.ndarray:
    """Textbook QPE outcome distribution for exact exp(-i rho t) (no DME error): sum_i lambda_i F_b(phi_i - x / 2^b)."""
    size = 2**schedule.bits
    phi = np.mod(-np.asarray(eigenvalues) * schedule.t / (2 * math.pi), 1.0)
    delta = phi[None, :] - np.arange(size)[:, None] / size
    den = size * np.sin(math.pi * delta)
    near = np.abs(den) < 1e-12
    kernel = np.where(near, 1.0, np.sin(math.pi * size * delta) ** 2 / np.where(near, 1.0, den) ** 2)
    return (kernel * np.asarray(eigenvalues)[None, :]).sum(1)
