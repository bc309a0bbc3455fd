"""Quality of a set of principal components: angles to the exact subspace, variance kept, recall@10.

recall@10 is the downstream measure: for each query row of the evaluation data, the fraction of its 10
nearest neighbours (Euclidean, excluding itself) in the full space that are also among its 10 nearest in
the reduced space (projections on the components). For unit-length embeddings Euclidean order is cosine order.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import subspace_angles

MAX_RECALL_ROWS = 2000


def principal_angles_deg(components: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Principal angles (degrees, largest first) between span(components) and span(reference), rows = vectors.

    If fewer components than reference vectors are given, the missing directions count as 90 degrees.
    """
    k = reference.shape[0]
    if components.shape[0] == 0:
        return np.full(k, 90.0)
    angles = np.degrees(subspace_angles(components.T, reference.T))
    return np.concatenate([np.full(max(0, k - angles.size), 90.0), angles])[:k]


def explained_variance(components: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Variance of the data along each component, u^T C u (data units)."""
    return np.einsum("kd,de,ke->k", components, covariance, components)


def captured_variance_ratio(components: np.ndarray, covariance: np.ndarray) -> float:
    """Fraction of the total variance in span(components) (orthonormalised first)."""
    if components.shape[0] == 0:
        return 0.0
    q, _ = np.linalg.qr(components.T)
    return float(np.trace(q.T @ covariance @ q) / np.trace(covariance))


def _knn(z: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sq = np.einsum("ij,ij->i", z, z)
    dist = sq[queries, None] + sq[None, :] - 2 * z[queries] @ z.T
    dist[np.arange(queries.size), queries] = np.inf
    return np.argpartition(dist, k, axis=1)[:, :k]


def recall_at_k(eval_centred: np.ndarray, components: np.ndarray, k: int = 10, seed: int = 0) -> float:
    """Mean overlap of k-NN sets in the full and the reduced space (up to MAX_RECALL_ROWS rows, seeded)."""
    x = eval_centred
    if x.shape[0] > MAX_RECALL_ROWS:
        x = x[np.sort(np.random.default_rng(seed).choice(x.shape[0], MAX_RECALL_ROWS, replace=False))]
    k = min(k, x.shape[0] - 1)
    if k < 1 or components.shape[0] == 0:
        return 0.0
    queries = np.arange(x.shape[0])
    full = _knn(x, queries, k)
    reduced = _knn(x @ components.T, queries, k)
    hits = [np.intersect1d(a, b, assume_unique=True).size for a, b in zip(full, reduced, strict=True)]
    return float(np.mean(hits) / k)


def quality(components: np.ndarray, exact: np.ndarray, covariance: np.ndarray, eval_centred: np.ndarray) -> dict:
    """All quality figures of one method, for the JSON output."""
    angles = principal_angles_deg(components, exact)
    return {
        "principal_angles_deg": angles,
        "max_principal_angle_deg": float(angles.max()),
        "explained_variance": explained_variance(components, covariance),
        "explained_variance_ratio": captured_variance_ratio(components, covariance),
        "recall_at_10": recall_at_k(eval_centred, components, 10),
    }
