"""Device and dtype resolution: CPU by default, CUDA when present and asked for (or 'auto')."""

from __future__ import annotations

import torch

from qscale.errors import QscaleUserError

_DTYPES = {"complex64": torch.complex64, "complex128": torch.complex128}


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """'auto' picks CUDA when available; an explicit 'cuda' without a GPU is a user error."""
    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise QscaleUserError(f"device {name!r} requested but no CUDA GPU is available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise QscaleUserError(f"unknown device {name!r}: use cpu, cuda or auto") from exc


def resolve_dtype(name: str | torch.dtype) -> torch.dtype:
    """Complex dtype by name ('complex64' or 'complex128')."""
    if isinstance(name, torch.dtype):
        if name not in _DTYPES.values():
            raise QscaleUserError(f"dtype {name} is not supported: use complex64 or complex128")
        return name
    if name not in _DTYPES:
        raise QscaleUserError(f"unknown dtype {name!r}: use complex64 or complex128")
    return _DTYPES[name]


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype matching a complex one (complex128 -> float64)."""
    return torch.float64 if dtype == torch.complex128 else torch.float32
