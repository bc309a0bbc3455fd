"""The quantum-classical co-processor layer: device models, a hybrid runtime that batches circuits into jobs
and overlaps them with host work, and an offload planner priced in time, energy and quality.

Exports resolve lazily so that importing qscale.coproc does not pay for pydantic, numpy or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "devices": "qscale.coproc.devices",
    "device": "qscale.coproc.devices",
    "HybridRuntime": "qscale.coproc.runtime",
    "CircuitSpec": "qscale.coproc.runtime",
    "price": "qscale.coproc.pricing",
    "Workload": "qscale.coproc.pricing",
    "plan": "qscale.coproc.planner",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'qscale.coproc' has no attribute {name!r}")
