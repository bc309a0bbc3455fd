"""Energy and carbon: LLM training and inference estimates, QPU energy by modality, fault-tolerant resource
estimates, and the ledger that measures (or estimates) each qscale run's own energy.

Exports resolve lazily so that `qscale --help` does not pay for pydantic and the data files.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "EnergyLedger": "qscale.energy.ledger",
    "current_ledger": "qscale.energy.ledger",
    "ledger_scope": "qscale.energy.ledger",
    "ledgered": "qscale.energy.ledger",
    "with_ledger": "qscale.energy.ledger",
    "train_from_compute": "qscale.energy.training",
    "train_from_device_hours": "qscale.energy.training",
    "infer": "qscale.energy.inference",
    "qpu_job": "qscale.energy.qpu",
    "estimate_ft": "qscale.energy.ft",
    "code_distance": "qscale.energy.ft",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'qscale.energy' has no attribute {name!r}")
