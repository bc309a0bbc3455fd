"""Qiskit primitives, both ways: qscale's simulator behind Qiskit's V2 interfaces, and named backends
(exact, aer, fake_<device>, module:callable) behind qscale's executor protocol (`make_executor`).

The names below load on first use (PEP 562), so `qscale.primitives.executor.make_executor("exact")` does not
import Qiskit; any other backend does.
"""

from __future__ import annotations

from qscale.lazy import lazy_getattr

_EXPORTS = {
    "Backend": "backends",
    "available_backends": "backends",
    "resolve_backend": "backends",
    "Estimator": "estimator",
    "BackendExecutor": "executor",
    "EstimatorExecutor": "executor",
    "estimator_executor": "executor",
    "make_executor": "executor",
    "Sampler": "sampler",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr("qscale.primitives", _EXPORTS)
