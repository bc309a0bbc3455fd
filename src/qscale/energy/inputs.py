"""How the estimators take and echo their inputs: every figure with its kind and source, PUE and grid checked."""

from __future__ import annotations

import math
from typing import Any

from qscale.energy.data import Sourced
from qscale.errors import QscaleUserError
from qscale.validation import check_non_negative

USER = "user input"


def assumed(value: Any, source: str = USER) -> dict[str, Any]:
    """An input figure as the JSON echoes it: value, kind 'assumed' and where it came from."""
    return {"value": value, "kind": "assumed", "source": source}


def sourced(value: float | Sourced, default_source: str = USER) -> Sourced:
    """Accept a bare number (a user input) or a Sourced value from the data files."""
    if isinstance(value, Sourced):
        return value
    return Sourced(value=float(value), source=default_source)


def pue_value(value: float | Sourced) -> Sourced:
    pue = sourced(value)
    if not math.isfinite(pue.value) or pue.value < 1:
        raise QscaleUserError(f"PUE must be >= 1 (facility energy / IT energy), got {pue.value!r}")
    return pue


def intensity_value(value: float | Sourced) -> Sourced:
    grid = sourced(value)
    check_non_negative(grid.value, "grid intensity (kg CO2e/kWh)")
    if grid.value > 2:
        raise QscaleUserError(f"grid intensity {grid.value} kg/kWh is implausible (coal is ~1); units are kg/kWh")
    return grid
