"""The quantum-classical co-processor layer: device models, a hybrid runtime that batches circuits into jobs
and overlaps them with host work, and an offload planner priced in time, energy and quality.

Exports resolve lazily so that importing qscale.coproc does not pay for pydantic, numpy or matplotlib.
"""

from __future__ import annotations

from qscale.lazy import lazy_getattr

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

__getattr__ = lazy_getattr("qscale.coproc", _EXPORTS)
