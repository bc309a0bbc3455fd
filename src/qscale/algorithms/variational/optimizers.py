"""Optimizers for variational circuits: Adam (torch), L-BFGS-B and COBYLA (scipy), SPSA (Spall).

Each takes an `Objective` (value, and value-with-gradient where the method uses one) and records the
objective value it saw at every iteration, so traces from different methods are comparable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize

from qscale.errors import QscaleUserError
from qscale.validation import check_int

OPTIMIZERS = ("adam", "lbfgs", "spsa", "cobyla")


@dataclass
class Objective:
    """f(x) and (f, ∇f)(x); counts the calls so results can report evaluations honestly."""

    value: Callable[[np.ndarray], float]
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
    evaluations: int = 0
    gradients: int = 0

    def f(self, x: np.ndarray) -> float:
        self.evaluations += 1
        return float(self.value(x))

    def fg(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        if self.value_and_grad is None:
            raise QscaleUserError("this optimizer needs gradients, which this objective does not provide")
        self.evaluations += 1
        self.gradients += 1
        v, g = self.value_and_grad(x)
        return float(v), np.asarray(g, dtype=np.float64)


@dataclass
class OptResult:
    x: np.ndarray
    value: float
    iterations: int
    trace: list[float] = field(default_factory=list)


def adam(obj: Objective, x0: np.ndarray, max_iter: int, lr: float = 0.05, gtol: float = 1e-7) -> OptResult:
    """torch.optim.Adam on the given gradients; stops early when the gradient norm falls below gtol."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr)
    trace: list[float] = []
    for _ in range(max_iter):
        v, g = obj.fg(x.detach().numpy().copy())
        trace.append(v)
        if float(np.linalg.norm(g)) < gtol:
            break
        x.grad = torch.from_numpy(g)
        opt.step()
    xf = x.detach().numpy().copy()
    return OptResult(xf, obj.f(xf), len(trace), trace)


def lbfgs(obj: Objective, x0: np.ndarray, max_iter: int) -> OptResult:
    trace: list[float] = []

    def callback(intermediate_result) -> None:  # scipy passes an OptimizeResult to a parameter of this name
        trace.append(float(intermediate_result.fun))

    res = minimize(obj.fg, x0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": max_iter, "gtol": 1e-8, "ftol": 1e-12})
    return OptResult(np.asarray(res.x), float(res.fun), int(res.nit), trace)


def cobyla(obj: Objective, x0: np.ndarray, max_iter: int, rhobeg: float = 0.5) -> OptResult:
    """Derivative-free; one objective call per iteration, so the trace is every call."""
    trace: list[float] = []

    def f(x: np.ndarray) -> float:
        v = obj.f(x)
        trace.append(v)
        return v

    res = minimize(f, x0, method="COBYLA", options={"maxiter": max_iter, "rhobeg": rhobeg, "tol": 1e-10})
    return OptResult(np.asarray(res.x), float(res.fun), len(trace), trace)


def spsa(obj: Objective, x0: np.ndarray, max_iter: int, rng: np.random.Generator, c: float = 0.1,
         first_step: float = 0.2, alpha: float = 0.602, gamma: float = 0.101, average: float = 0.1) -> OptResult:
    """Simultaneous-perturbation stochastic approximation (Spall, IEEE TAES 34, 817, 1998).

    Two evaluations per iteration whatever the number of parameters; gains a_k = a/(k+1+A)^α and
    c_k = c/(k+1)^γ with Spall's α = 0.602, γ = 0.101, A = max_iter/10, and `a` calibrated so that the
    first step has about `first_step` radians per parameter (from 5 gradient estimates at x0). The result is
    the mean of the last `average` fraction of iterates (iterate averaging, which damps the final noise).
    """
    x = np.asarray(x0, dtype=np.float64).copy()
    A = max_iter / 10

    def estimate(x: np.ndarray, ck: float) -> tuple[np.ndarray, float, float]:
        delta = rng.choice((-1.0, 1.0), size=x.size)
        fp, fm = obj.f(x + ck * delta), obj.f(x - ck * delta)
        return (fp - fm) / (2 * ck) * delta, fp, fm

    mags = [np.mean(np.abs(estimate(x, c)[0])) for _ in range(5)]
    a = first_step * (A + 1) ** alpha / max(float(np.mean(mags)), 1e-12)
    trace: list[float] = []
    tail = max(1, round(average * max_iter))
    x_sum = np.zeros_like(x)
    for k in range(max_iter):
        g, fp, fm = estimate(x, c / (k + 1) ** gamma)
        trace.append(0.5 * (fp + fm))
        x -= a / (k + 1 + A) ** alpha * g
        if k >= max_iter - tail:
            x_sum += x
    x = x_sum / tail
    return OptResult(x, obj.f(x), max_iter, trace)


def run_optimizer(name: str, obj: Objective, x0: np.ndarray, max_iter: int, lr: float,
                  rng: np.random.Generator) -> OptResult:
    check_int(max_iter, "--max-iter", min=1)
    if name == "adam":
        if not lr > 0:
            raise QscaleUserError(f"--lr must be positive, got {lr}")
        return adam(obj, x0, max_iter, lr)
    if name == "lbfgs":
        return lbfgs(obj, x0, max_iter)
    if name == "spsa":
        return spsa(obj, x0, max_iter, rng)
    if name == "cobyla":
        return cobyla(obj, x0, max_iter)
    raise QscaleUserError(f"unknown optimizer {name!r}: use {', '.join(OPTIMIZERS)}")
