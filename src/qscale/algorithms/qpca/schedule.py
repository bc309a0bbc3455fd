"""The qPCA run plan shared by the circuit-level simulator and the resource model.

Phase estimation of U = exp(-i rho t) with b bits: control k (k = 0..b-1) applies U^(2^k), realised by
n0 * 2^k DME steps of one fixed dt = t / n0, so every step costs one copy of rho and the copies per QPE run
are n0 * (2^b - 1). Equal steps are the optimal split: the DME error of a power of length tau with n steps
grows as tau^2 / n, and minimising the sum under a fixed total number of steps gives n proportional to tau.

t is set from the purity bound lambda_max <= sqrt(Tr rho^2) so that every eigenphase lambda t / 2 pi stays
below f = 1 - 2^(1-b) (no wrap-around). A QPU would estimate the purity with a swap test; here it is read
from the data. The default copy count meets the DME bound of Go et al. (arXiv 2412.02134): n <= 4 tau^2 / eps
copies give normalised diamond distance <= eps, applied to the longest power tau = t 2^(b-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qscale.algorithms.qpca import DEFAULT_BITS as DEFAULT_BITS
from qscale.algorithms.qpca import DEFAULT_SHOTS as DEFAULT_SHOTS
from qscale.errors import QscaleUserError
from qscale.validation import check_int

DEFAULT_DME_ERROR = 0.05
MAX_BITS = 16


@dataclass(frozen=True)
class Schedule:
    bits: int
    t: float  # evolution time of U = exp(-i rho t)
    n0: int  # DME steps for U^1; control k uses n0 * 2^k
    purity: float  # Tr rho^2

    @property
    def dt(self) -> float:
        return self.t / self.n0

    @property
    def copies(self) -> int:
        """Copies of rho consumed by DME in one QPE run (the input copy not included)."""
        return self.n0 * (2**self.bits - 1)

    @property
    def total_time(self) -> float:
        return self.t * (2**self.bits - 1)

    def steps(self, k: int) -> int:
        return self.n0 * 2**k

    @property
    def dme_error_bound(self) -> float:
        """Go et al.'s bound 4 tau^2 / n for the longest power (normalised diamond distance, capped at 1)."""
        k = self.bits - 1
        return min(1.0, 4 * (self.t * 2**k) ** 2 / self.steps(k))

    def eigenvalue(self, outcome: np.ndarray | int) -> np.ndarray:
        """Outcome x: U's phase is -lambda t / 2 pi, so lambda = ((-x) mod 2^b) 2 pi / (2^b t)."""
        size = 2**self.bits
        return np.mod(-np.asarray(outcome), size) / size * (2 * math.pi / self.t)

    def to_dict(self) -> dict:
        return {
            "bits": self.bits,
            "evolution_time_t": self.t,
            "dme_steps_per_unit_power": self.n0,
            "dme_step_dt": self.dt,
            "copies_per_qpe_run": self.copies,
            "total_evolution_time": self.total_time,
            "purity_tr_rho2": self.purity,
            "eigenvalue_resolution": self.eigenvalue(-1).item(),
            "dme_error_bound_longest_power": self.dme_error_bound,
        }


def plan(purity: float, bits: int, copies: int | None = None, dme_error: float = DEFAULT_DME_ERROR) -> Schedule:
    """Pick t from the purity bound and n0 from `copies` (rounded to a multiple of 2^b - 1) or the DME bound."""
    check_int(bits, "--bits", min=1, max=MAX_BITS)
    if not (math.isfinite(purity) and 0 < purity <= 1 + 1e-9):
        raise QscaleUserError(f"purity Tr(rho^2) must be in (0, 1], got {purity!r}")
    f = max(0.5, 1 - 2.0 ** (1 - bits))
    t = 2 * math.pi * f / math.sqrt(purity)
    if copies is not None:
        check_int(copies, "--copies", min=2**bits - 1, note=" (= 2^bits - 1: one DME step per unit power)")
        n0 = max(1, round(int(copies) / (2**bits - 1)))
    else:
        if not (math.isfinite(dme_error) and 0 < dme_error <= 1):
            raise QscaleUserError(f"the DME error target must be in (0, 1], got {dme_error!r}")
        n0 = math.ceil(4 * t * t * 2 ** (bits - 1) / dme_error)
    return Schedule(bits=int(bits), t=t, n0=int(n0), purity=float(purity))
