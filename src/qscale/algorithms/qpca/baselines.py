"""Classical baselines for qPCA on the same centred data: exact PCA, randomized SVD, l2-norm sampling PCA.

Each returns the top-k components as rows (k, d) and its measured wall time. The sampling baseline is the
Frieze-Kannan-Vempala two-stage sampler that Tang's dequantized algorithms build on (Tang, arXiv 1811.00414):
rows drawn with probability ||x_i||^2 / ||X||_F^2, then columns of the rescaled sample by their norms; the
SVD of the small s x s matrix gives the components. Tang outputs them as sampling access; here they are
written out (an extra O(s d k)) so they can be compared with the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from qscale.algorithms.qpca import DEFAULT_TANG_SAMPLES as DEFAULT_TANG_SAMPLES
from qscale.errors import QscaleUserError


@dataclass
class Baseline:
    name: str
    components: np.ndarray  # (k, d), orthonormal rows
    seconds: float
    parameters: dict
    description: str


def exact_pca(centred: np.ndarray, k: int) -> Baseline:
    """Top-k eigenvectors of the covariance by numpy.linalg.eigh (LAPACK syevd)."""
    t0 = time.perf_counter()
    cov = centred.T @ centred / centred.shape[0]
    _w, v = np.linalg.eigh(cov)
    comps = v[:, ::-1][:, :k].T
    return Baseline("exact_pca", comps, time.perf_counter() - t0, {}, "numpy.linalg.eigh of the covariance")


def randomized_pca(centred: np.ndarray, k: int, seed: int = 0, n_iter: int = 4, oversamples: int = 10) -> Baseline:
    """Halko-Martinsson-Tropp randomized SVD (scikit-learn's randomized_svd)."""
    from sklearn.utils.extmath import randomized_svd

    t0 = time.perf_counter()
    _u, _s, vt = randomized_svd(centred, k, n_oversamples=oversamples, n_iter=n_iter, random_state=seed)
    return Baseline(
        "randomized_svd",
        vt,
        time.perf_counter() - t0,
        {"n_iter": n_iter, "oversamples": oversamples, "seed": seed},
        "sklearn.utils.extmath.randomized_svd (Halko, Martinsson & Tropp 2011)",
    )


def l2_sampling_pca(centred: np.ndarray, k: int, samples: int, seed: int = 0) -> Baseline:
    """Quantum-inspired PCA from `samples` l2-norm row samples and as many column samples (FKV / Tang)."""
    n, d = centred.shape
    if samples < k:
        raise QscaleUserError(f"l2-norm sampling PCA needs at least k = {k} samples, got {samples}")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    row_w = np.einsum("ij,ij->i", centred, centred)
    p = row_w / row_w.sum()
    rows = rng.choice(n, size=samples, p=p)
    r = centred[rows] / np.sqrt(samples * p[rows])[:, None]  # E[R^T R] = X^T X
    col_w = np.einsum("ij,ij->j", r, r)
    q = col_w / col_w.sum()
    cols = rng.choice(d, size=samples, p=q)
    w = r[:, cols] / np.sqrt(samples * q[cols])[None, :]  # E[W W^T] = R R^T
    u, s, _ = np.linalg.svd(w, full_matrices=False)
    keep = s[:k] > s[0] * 1e-12
    v = r.T @ (u[:, :k][:, keep] / s[:k][keep])  # approximate right singular vectors of X
    q_, _ = np.linalg.qr(v)
    comps = q_.T
    return Baseline(
        "quantum_inspired",
        comps,
        time.perf_counter() - t0,
        {
            "row_samples": samples,
            "column_samples": samples,
            "seed": seed,
            "entries_read": int(samples * d + samples * samples),
        },
        "l2-norm (length-squared) row then column sampling, SVD of the s x s sample (Frieze-Kannan-Vempala; Tang 2018)",
    )
