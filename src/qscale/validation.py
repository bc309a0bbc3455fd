"""One vocabulary for checking a user's parameters, in scikit-learn's `check_scalar` style.

Each check takes the value first and the parameter's name (as the user wrote it: `--shots`, `n_components`)
second, returns the value in its canonical type, and raises QscaleUserError with one line that names the
parameter, states the rule and shows what was given. bool is never a number here (True is not 1 shot).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from numbers import Integral, Real
from pathlib import Path
from typing import Any, TypeVar

from qscale.errors import QscaleUserError

T = TypeVar("T")


def _int_rule(min: int | None, max: int | None) -> str:
    if min is not None and max is not None:
        return f"an integer in [{min}, {max}]"
    if min == 1:
        return "a positive integer"
    if min == 0:
        return "a non-negative integer"
    if min is not None:
        return f"an integer >= {min}"
    if max is not None:
        return f"an integer <= {max}"
    return "an integer"


def check_int(value: Any, name: str, *, min: int | None = None, max: int | None = None, note: str = "") -> int:
    """An integer (Python or numpy, not bool) within [min, max]; `note` explains the bound in the message."""
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    if not ok or (min is not None and value < min) or (max is not None and value > max):
        raise QscaleUserError(f"{name} must be {_int_rule(min, max)}{note}, got {value!r}")
    return int(value)


def _real_rule(min: float | None, max: float | None, include_min: bool, include_max: bool) -> str:
    if min == 0 and max is None:
        return "zero or positive" if include_min else "a positive number"
    if min is not None and max is not None:
        return f"in {'[' if include_min else '('}{min}, {max}{']' if include_max else ')'}"
    if min is not None:
        return f"a number {'>=' if include_min else '>'} {min}"
    if max is not None:
        return f"a number {'<=' if include_max else '<'} {max}"
    return "a finite number"


def check_real(
    value: Any,
    name: str,
    *,
    min: float | None = None,
    max: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
    note: str = "",
) -> float:
    """A finite real number (not bool) within the bounds, each inclusive unless its flag says otherwise."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and min is not None:
        ok = value >= min if include_min else value > min
    if ok and max is not None:
        ok = value <= max if include_max else value < max
    if not ok:
        raise QscaleUserError(f"{name} must be {_real_rule(min, max, include_min, include_max)}{note}, got {value!r}")
    return float(value)


def check_positive(value: Any, name: str) -> float:
    """A finite number > 0."""
    return check_real(value, name, min=0, include_min=False)


def check_non_negative(value: Any, name: str) -> float:
    """A finite number >= 0."""
    return check_real(value, name, min=0)


def check_fraction(value: Any, name: str) -> float:
    """A share of something, in (0, 1]."""
    return check_real(value, name, min=0, max=1, include_min=False)


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    """A whole number >= minimum, also given as an integral float (1e6): counts of tokens, shots, devices."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value != int(value) or value < minimum:
        raise QscaleUserError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value: T, name: str, choices: Collection[T]) -> T:
    """One of `choices`; the message lists them."""
    if value not in choices:
        raise QscaleUserError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


def check_path(path: Any, name: str, must_exist: bool = True) -> Path:
    """A filesystem path (a file or folder that exists, unless must_exist is False)."""
    if not isinstance(path, str | Path) or not str(path):
        raise QscaleUserError(f"{name} must be a path, got {path!r}")
    out = Path(path)
    if must_exist and not out.exists():
        raise QscaleUserError(f"{name}: {out} does not exist")
    return out


def check_new_folder(folder: Any, name: str = "--save") -> Path:
    """A folder to create: absent or empty (checked before any work, so nothing is overwritten)."""
    out = check_path(folder, name, must_exist=False)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise QscaleUserError(f"{name} folder {out} already exists and is not empty")
    return out


def check_finite_array(array: Any, name: str, *, ndim: int | None = None) -> Any:
    """A numeric numpy array with no NaN or infinity (and `ndim` dimensions when given), as float64."""
    import numpy as np

    try:
        out = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise QscaleUserError(f"{name} must be numeric") from None
    if ndim is not None and out.ndim != ndim:
        raise QscaleUserError(f"{name} must have {ndim} dimension(s), got shape {out.shape}")
    if not np.isfinite(out).all():
        raise QscaleUserError(f"{name} contains NaN or infinite values")
    return out
