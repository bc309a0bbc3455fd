"""Energy and carbon: LLM training and inference estimates, QPU energy by modality, fault-tolerant resource
estimates, and the ledger that measures (or estimates) each qscale run's own energy.

Exports resolve lazily so that `qscale --help` does not pay for pydantic and the data files.
"""

from __future__ import annotations

from qscale.lazy import lazy_getattr

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

__getattr__ = lazy_getattr("qscale.energy", _EXPORTS)
