"""Memory guard: refuse a simulation that cannot fit before allocating anything."""

from __future__ import annotations

import psutil
import torch

from qscale.errors import QscaleUserError


def available_bytes(device: torch.device) -> int:
    """Free memory on the device (host RAM for CPU, free GPU memory for CUDA)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return int(psutil.virtual_memory().available)


def statevector_bytes(n_qubits: int, batch: int, dtype: torch.dtype, copies: int = 1) -> int:
    """Bytes for `copies` state vectors of `batch` x 2^n amplitudes."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    return int(copies) * int(batch) * (2 ** int(n_qubits)) * itemsize


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def check_memory(
    n_qubits: int,
    batch: int,
    dtype: torch.dtype,
    device: torch.device,
    copies: int = 2,
    what: str = "state vector",
) -> int:
    """Raise QscaleUserError naming the bytes needed when the request cannot fit; return the bytes.

    `copies` counts the simultaneous full-size buffers the caller needs (state, work space,
    adjoint vectors), so the estimate is of the peak, not just one vector.
    """
    if n_qubits < 1:
        raise QscaleUserError(f"n_qubits must be >= 1, got {n_qubits}")
    if n_qubits > 60:
        need = float(copies) * batch * (2.0**n_qubits) * torch.empty((), dtype=dtype).element_size()
    else:
        need = statevector_bytes(n_qubits, batch, dtype, copies)
    have = available_bytes(device)
    if need > have:
        raise QscaleUserError(
            f"{what} for {n_qubits} qubits (batch {batch}, {str(dtype).replace('torch.', '')}) "
            f"needs {int(need)} bytes ({format_bytes(need)}) but only {format_bytes(have)} "
            f"is available on {device}"
        )
    return int(need)
