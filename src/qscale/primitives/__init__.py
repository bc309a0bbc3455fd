"""Qiskit primitives, both ways: qscale's simulator behind Qiskit's V2 interfaces, and named backends
(exact, aer, fake_<device>, module:callable) behind qscale's algorithms.

Importing this package imports Qiskit; algorithms import it only when a backend other than `exact` is asked for.
"""

from __future__ import annotations

from qscale.primitives.backends import Backend, available_backends, resolve_backend
from qscale.primitives.estimator import Estimator
from qscale.primitives.executor import EstimatorExecutor, estimator_executor
from qscale.primitives.sampler import Sampler

__all__ = [
    "Backend",
    "Estimator",
    "EstimatorExecutor",
    "Sampler",
    "available_backends",
    "estimator_executor",
    "resolve_backend",
]
