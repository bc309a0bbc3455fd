"""One torch thread for small problems: why spread a 512-amplitude state over cores?

Small variational loops (a few thousand amplitudes, many tiny ops) gain nothing from intra-op
parallelism, and on a busy machine the worker threads' spin-waiting made them 10x slower in our
runs. `few_threads(n_qubits)` limits torch to one thread inside the block and restores the setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

SMALL_QUBITS = 14  # up to 2^14 amplitudes, one thread is as fast as many


@contextmanager
def few_threads(n_qubits: int) -> Iterator[None]:
    before = torch.get_num_threads()
    limit = n_qubits <= SMALL_QUBITS and before > 1
    if limit:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if limit:
            torch.set_num_threads(before)
