"""Small helpers shared by the estimators: echo every input with its kind and source, check user numbers."""

from __future__ import annotations

import math
from typing import Any

from qscale.energy.data import Sourced
from qscale.errors import QscaleUserError

USER = "user input"


def assumed(value: Any, source: str = USER) -> dict[str, Any]:
    """An input figure as the JSON echoes it: value, kind 'assumed' and where it came from."""
    return {"value": value, "kind": "assumed", "source": source}


def sourced(value: float | Sourced, default_source: str = USER) -> Sourced:
    """Accept a bare number (a user input) or a Sourced value from the data files."""
    if isinstance(value, Sourced):
        return value
    return Sourced(value=float(value), source=default_source)


def positive(name: str, value: float | None) -> float:
    if value is None or not math.isfinite(value) or value <= 0:
        raise QscaleUserError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative(name: str, value: float | None) -> float:
    if value is None or not math.isfinite(value) or value < 0:
        raise QscaleUserError(f"{name} must be zero or positive, got {value!r}")
    return float(value)


def count(name: str, value: float | None, minimum: int = 1) -> int:
    """A whole number at least `minimum` (accepts 1e6-style floats that are integral)."""
    if value is None or not math.isfinite(value) or value != int(value) or value < minimum:
        raise QscaleUserError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def fraction(name: str, value: float | None) -> float:
    if value is None or not math.isfinite(value) or not 0 < value <= 1:
        raise QscaleUserError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def pue_value(value: float | Sourced) -> Sourced:
    pue = sourced(value)
    if not math.isfinite(pue.value) or pue.value < 1:
        raise QscaleUserError(f"PUE must be >= 1 (facility energy / IT energy), got {pue.value!r}")
    return pue


def intensity_value(value: float | Sourced) -> Sourced:
    grid = sourced(value)
    non_negative("grid intensity (kg CO2e/kWh)", grid.value)
    if grid.value > 2:
        raise QscaleUserError(f"grid intensity {grid.value} kg/kWh is implausible (coal is ~1); units are kg/kWh")
    return grid
