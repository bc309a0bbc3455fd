"""QuantumPCA: a scikit-learn-style estimator running simulated qPCA (circuit level or resource model).

The algorithm (Lloyd, Mohseni & Rebentrost, Nat. Phys. 10, 631, 2014): phase estimation of exp(-i rho t),
realised by density-matrix exponentiation, on the input state rho samples eigenvalue lambda_i with
probability ~lambda_i and leaves its eigenvector in the system register. Here:
1. `shots` QPE runs give a histogram of eigenvalue estimates (finite-shot sampling);
2. outcome bins are read in decreasing eigenvalue order when they hold a real eigenvalue (count / (shots
   lambda_hat) >= min_multiplicity; leakage of the phase-estimation kernel into neighbouring bins stays
   below that), and the vector left in the register is estimated by finite-shot tomography
   (`tomography`) from `shots` measurements per setting;
3. a vector overlapping an accepted one by more than `overlap_threshold` is the same eigenvector seen in a
   neighbouring bin and is dropped; the first k distinct ones, orthonormalised in order, are components_.
Only sampled counts and tomography estimates reach the result; eigh is used by the *model* method to
predict those samples (it says so) and by callers for comparison.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from qscale.algorithms.qpca.circuit import MAX_CIRCUIT_BITS, MAX_SYSTEM_QUBITS, simulate_qpe
from qscale.algorithms.qpca.data import Prepared, check_matrix, prepare
from qscale.algorithms.qpca.model import model_qpe
from qscale.algorithms.qpca.resources import resources
from qscale.algorithms.qpca.schedule import DEFAULT_DME_ERROR, plan
from qscale.algorithms.qpca.tomography import (
    probabilities_from_density,
    probabilities_from_mixture,
    rotated_bases,
    tomograph,
)
from qscale.errors import QscaleUserError
from qscale.validation import check_int

METHODS = ("auto", "circuit", "model")
MAX_SHOTS = 10**9


class QuantumPCA:
    """Simulated quantum PCA with finite shots; fitted attributes follow sklearn.decomposition.PCA.

    components_ (k_found, d), explained_variance_ (QPE eigenvalue estimates x total variance),
    explained_variance_ratio_, mean_, n_components_found_, eigenvalue_counts_ (outcome -> count),
    bins_ (what was read), resources_ (counted and projected), seconds_ (simulation wall time), method_.
    """

    def __init__(
        self,
        n_components: int,
        *,
        bits: int = 8,
        copies: int | None = None,
        shots: int = 100_000,
        method: str = "auto",
        dme_error: float = DEFAULT_DME_ERROR,
        min_multiplicity: float = 0.3,
        min_count: int = 10,
        overlap_threshold: float = 0.7,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.n_components = n_components
        self.bits = bits
        self.copies = copies
        self.shots = shots
        self.method = method
        self.dme_error = dme_error
        self.min_multiplicity = min_multiplicity
        self.min_count = min_count
        self.overlap_threshold = overlap_threshold
        self.seed = seed
        self.device = device

    # -- checks ---------------------------------------------------------------------------------------
    def _validate(self, d: int) -> tuple[int, int, str]:
        k = check_int(self.n_components, "n_components (k)", min=1)
        if k > d:
            raise QscaleUserError(f"k = {k} is larger than the data dimension {d}")
        shots = check_int(self.shots, "shots", min=1, max=MAX_SHOTS)
        if self.method not in METHODS:
            raise QscaleUserError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 0 < self.overlap_threshold < 1:
            raise QscaleUserError(f"overlap_threshold must be in (0, 1), got {self.overlap_threshold!r}")
        if not self.min_multiplicity > 0:
            raise QscaleUserError(f"min_multiplicity must be positive, got {self.min_multiplicity!r}")
        m = max(1, math.ceil(math.log2(d)))
        method = self.method
        if method == "auto":
            method = "circuit" if m <= MAX_SYSTEM_QUBITS and self.bits <= MAX_CIRCUIT_BITS else "model"
        return k, shots, method

    # -- fitting --------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> QuantumPCA:
        x = check_matrix(X, "X")
        k, shots, method = self._validate(x.shape[1])
        prep = prepare(x)
        schedule = plan(prep.purity, self.bits, self.copies, self.dme_error)
        rng = np.random.default_rng(self.seed)
        t0 = time.perf_counter()
        probs, state_probs = self._run_qpe(prep, schedule, method)
        counts = rng.multinomial(shots, probs / probs.sum())
        self._read_components(prep, schedule, counts, state_probs, k, shots, rng)
        self.seconds_ = time.perf_counter() - t0
        self.method_ = method
        self.schedule_ = schedule
        self.prepared_ = prep
        self.mean_ = prep.mean
        self.n_features_in_ = prep.dim
        self.outcome_probabilities_ = probs
        self.eigenvalue_counts_ = {int(i): int(c) for i, c in enumerate(counts) if c}
        read = [b["probability_estimate"] for b in self.bins_]
        self.resources_ = resources(schedule, prep.qubits, x.shape[0], shots, read, shots)
        return self

    def _run_qpe(self, prep: Prepared, schedule, method: str):
        """Outcome distribution and a function giving the tomography probabilities of an outcome's state."""
        if method == "circuit":
            out = simulate_qpe(prep.rho, schedule, device=self.device)
            states = out.states

            def state_probs(x: int) -> np.ndarray:
                return probabilities_from_density(states[x] / states[x].diagonal().sum().real)

            return out.probabilities, state_probs
        out = model_qpe(prep.rho, schedule)
        bases = rotated_bases(out.eigenvectors)

        def state_probs(x: int) -> np.ndarray:
            w = out.weights[x]
            return probabilities_from_mixture(bases, w / w.sum())

        return out.probabilities, state_probs

    def _read_components(self, prep, schedule, counts, state_probs, k, shots, rng) -> None:
        lam_hat = schedule.eigenvalue(np.arange(counts.size))
        with np.errstate(divide="ignore", invalid="ignore"):
            mult = np.where(lam_hat > 0, counts / (shots * lam_hat), 0.0)
        order = [int(x) for x in np.argsort(-lam_hat, kind="stable")]
        candidates = [x for x in order if counts[x] >= self.min_count and mult[x] >= self.min_multiplicity]
        accepted: list[np.ndarray] = []
        values: list[float] = []
        bins: list[dict] = []
        for x in candidates:
            if len(accepted) == k:
                break
            vec = tomograph(state_probs(x), shots, rng)
            outside = float(np.linalg.norm(vec[prep.dim :]))
            vec = vec[: prep.dim]
            vec = vec / max(np.linalg.norm(vec), 1e-300)
            overlap = max((abs(float(vec @ a)) for a in accepted), default=0.0)
            duplicate = overlap > self.overlap_threshold
            bins.append(
                {
                    "outcome": x,
                    "eigenvalue_estimate": float(lam_hat[x]),
                    "count": int(counts[x]),
                    "probability_estimate": float(counts[x] / shots),
                    "multiplicity_estimate": float(mult[x]),
                    "max_overlap_with_accepted": overlap,
                    "accepted": not duplicate,
                    "norm_in_padding": outside,
                }
            )
            if not duplicate:
                accepted.append(vec)
                values.append(float(lam_hat[x]))
        if accepted:
            q, r = np.linalg.qr(np.array(accepted).T)
            comps = (q * np.where(np.diag(r) < 0, -1.0, 1.0)).T  # keep each vector's own sign
        else:
            comps = np.zeros((0, prep.dim))
        self.components_ = comps
        self.eigenvalue_estimates_ = np.array(values)
        self.explained_variance_ = self.eigenvalue_estimates_ * prep.trace
        self.explained_variance_ratio_ = self.eigenvalue_estimates_.copy()
        self.n_components_found_ = len(accepted)
        self.bins_ = bins

    # -- using the fit --------------------------------------------------------------------------------
    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "components_"):
            raise QscaleUserError("QuantumPCA is not fitted yet: call fit(X) first")
        x = check_matrix(X, "X", min_rows=1)
        if x.shape[1] != self.n_features_in_:
            raise QscaleUserError(f"X has {x.shape[1]} features, the fit had {self.n_features_in_}")
        return (x - self.mean_) @ self.components_.T

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).transform(X)
