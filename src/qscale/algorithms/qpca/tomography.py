"""Finite-shot tomography of a real eigenvector left in the system register by phase estimation.

Why this scheme: rho is real symmetric, so its eigenvectors are real and a vector needs magnitudes and signs,
not a full density matrix (whose Pauli tomography needs 3^m settings). With m + 1 measurement settings:
* Z on every qubit: p_i = <i|sigma|i>, magnitudes |u_i| = sqrt(p_i) (the first stage of Kerenidis & Prakash's
  l2 vector tomography, arXiv 1808.09266);
* for each qubit q, H on q then Z on every qubit: for the pair i0, i1 = i0 + 2^q the outcomes differ by
  p(i0) - p(i1) = 2 Re <i0|sigma|i1>, which gives the relative sign of u_i0 and u_i1.
Signs are propagated from the largest entry along a maximum spanning tree of the hypercube (edges weighted by
the estimated |Re sigma_i0i1|), so small, noisy products decide as little as possible. That first estimate
is then refined by a rank-1 least-squares fit u u^T to every measured entry (diagonal and hypercube edges),
by alternating least squares (as in Jain, Netrapalli & Sanghavi, STOC 2013, for low-rank completion): the
square root alone turns a small admixture eps of other eigenvectors into an error ~eps^(3/4) and amplifies
shot noise on small entries; the fit uses m + 1 equations per entry and its error from an admixture is
first order in eps. A pure state is recovered exactly in the limit of many shots.
Probabilities come from a density matrix (circuit level) or an eigen-mixture (model); the sampling and
reconstruction below are shared, so both levels carry the same shot noise.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

from qscale.errors import QscaleUserError

_H = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)


def hadamard_on(vectors: np.ndarray, q: int) -> np.ndarray:
    """H on qubit q applied to the rows of `vectors` (..., d)."""
    d = vectors.shape[-1]
    hi = d // 2 ** (q + 1)
    v = vectors.reshape(*vectors.shape[:-1], hi, 2, 2**q)
    return np.einsum("ab,...hbl->...hal", _H, v).reshape(vectors.shape)


def probabilities_from_density(sigma: torch.Tensor | np.ndarray) -> np.ndarray:
    """(m + 1, d) outcome probabilities of the settings Z..Z and H_q then Z..Z, from a (normalised) sigma."""
    s = sigma.detach().cpu().numpy() if isinstance(sigma, torch.Tensor) else np.asarray(sigma)
    d = s.shape[-1]
    m = d.bit_length() - 1
    out = [np.real(np.diagonal(s))]
    for q in range(m):
        rotated = hadamard_on(hadamard_on(s, q).swapaxes(-1, -2).conj(), q)  # H sigma H (H real, symmetric)
        out.append(np.real(np.diagonal(rotated)))
    return np.clip(np.array(out), 0.0, None)


def rotated_bases(eigenvectors: np.ndarray) -> np.ndarray:
    """(m + 1, d, d): the eigenvector columns, then each with H applied on qubit q (for the model)."""
    d = eigenvectors.shape[0]
    m = d.bit_length() - 1
    cols = eigenvectors.T
    return np.stack([eigenvectors] + [hadamard_on(cols, q).T for q in range(m)])


def probabilities_from_mixture(bases: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(m + 1, d) probabilities for sigma = sum_i w_i |u_i><u_i| (w normalised), via `rotated_bases`."""
    return np.clip(np.einsum("sai,i->sa", bases**2, weights), 0.0, None)


def sample_counts(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Multinomial counts per setting: `shots` measurements of each of the m + 1 settings."""
    if shots < 1:
        raise QscaleUserError(f"tomography needs at least one shot per setting, got {shots}")
    p = probs / probs.sum(1, keepdims=True)
    return np.stack([rng.multinomial(shots, row) for row in p])


REFINE_ITERATIONS = 30


def reconstruct(counts: np.ndarray, refine: bool = True) -> np.ndarray:
    """Unit vector from the counts of `sample_counts`: magnitudes, signs along a spanning tree, rank-1 fit."""
    freq = counts / counts.sum(1, keepdims=True)
    d = freq.shape[1]
    m = d.bit_length() - 1
    mags = np.sqrt(freq[0])
    rows, cols, corr = [], [], []
    idx = np.arange(d)
    for q in range(m):
        i0 = idx[(idx >> q) & 1 == 0]
        i1 = i0 + 2**q
        rows.append(i0)
        cols.append(i1)
        corr.append((freq[q + 1, i0] - freq[q + 1, i1]) / 2)  # estimate of Re sigma_{i0 i1}
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(corr)
    # maximum spanning tree on |v| == minimum spanning tree on 1/|v| (order is all Kruskal needs)
    weight = 1.0 / (np.abs(v) + 1e-300)
    tree = minimum_spanning_tree(coo_matrix((weight, (r, c)), shape=(d, d)).tocsr())
    root = int(np.argmax(mags))
    order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
    sign_of_edge = {(int(a), int(b)): float(np.sign(x) or 1.0) for a, b, x in zip(r, c, v, strict=True)}
    signs = np.ones(d)
    for node in order[1:]:
        parent = int(pred[node])
        key = (min(parent, int(node)), max(parent, int(node)))
        signs[node] = signs[parent] * sign_of_edge[key]
    vec = signs * mags
    if refine:
        vec = _rank1_fit(vec, freq[0], r, c, v)
    norm = np.linalg.norm(vec)
    return vec / norm if norm > 0 else vec


def _rank1_fit(u: np.ndarray, diag: np.ndarray, r: np.ndarray, c: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Alternating least squares for min sum over measured (i, j) of (sigma_ij - u_i u_j)^2, from u."""
    d = u.size
    for _ in range(REFINE_ITERATIONS):
        num = diag * u + np.bincount(r, v * u[c], d) + np.bincount(c, v * u[r], d)
        den = u * u + np.bincount(r, u[c] ** 2, d) + np.bincount(c, u[r] ** 2, d)
        new = num / np.maximum(den, 1e-300)
        new /= max(np.linalg.norm(new), 1e-300)
        if np.abs(new - u).max() < 1e-12:
            return new
        u = new
    return u


def tomograph(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Sample the m + 1 settings with `shots` each and reconstruct the vector."""
    return reconstruct(sample_counts(probs, shots, rng))
