"""Route the state-vector simulations of qscale's drivers through the hybrid runtime, without editing them.

Why: VQE, the Born machine and other drivers call qscale.quantum.statevector.simulate directly. Inside
`routed(runtime, shots)` every such call, in every loaded qscale module that imported it, becomes a runtime
submission: one circuit per parameter row, counted, packed into jobs and timed on the device model, then
executed by the original simulator (the default backend) so the driver's numbers do not change. Used by the
offload planner to measure a task's workload from qscale's own run of it.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from qscale.algorithms.qpca.circuit import two_qubit_depth
from qscale.coproc.runtime import CircuitSpec, HybridRuntime
from qscale.quantum import statevector

_LOCK = threading.Lock()


def counts(circuit: Any) -> tuple[int, int]:
    """(two-qubit depth, two-qubit gates) of a qscale Circuit (depth: qPCA's as-early-as-possible layering)."""
    return two_qubit_depth(circuit), sum(1 for op in circuit.operations if len(op.qubits) >= 2)


@contextlib.contextmanager
def routed(runtime: HybridRuntime, shots: int) -> Iterator[HybridRuntime]:
    """Within the block, qscale's simulate() runs through `runtime` (each row of params = one circuit run)."""
    original = statevector.simulate
    cache: dict[int, tuple[int, int]] = {}

    def simulate(circuit: Any, params: Any = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        key = id(circuit)
        if key not in cache:
            cache[key] = counts(circuit)
        depth, gates = cache[key]
        rows = 1 if params is None else int(np.atleast_2d(np.asarray(_plain(params))).shape[0])
        specs = [CircuitSpec(circuit.n_qubits, depth, gates, payload=r) for r in range(rows)]

        def execute(part: list[CircuitSpec], _shots: int) -> torch.Tensor:
            lo, hi = part[0].payload, part[-1].payload + 1
            if params is None:
                return original(circuit, params, *args, **kwargs)
            sliced = params[lo:hi] if _is_batched(params) else params
            return original(circuit, sliced, *args, **kwargs)

        return runtime.run(specs, shots, execute=execute, combine=lambda parts: torch.cat(list(parts), dim=0))

    original_sample = statevector.sample

    def sample(*args: Any, **kwargs: Any) -> Any:
        with runtime.device_side():  # drawing shots stands in for the QPU's readout, not host work
            return original_sample(*args, **kwargs)

    with _LOCK:
        patched = [m for m in list(sys.modules.values()) if _uses(m, original)]
        sampled = [m for m in list(sys.modules.values()) if _uses(m, original_sample, "sample")]
        for m in patched:
            m.simulate = simulate
        for m in sampled:
            m.sample = sample
    try:
        yield runtime
    finally:
        with _LOCK:
            for m in patched:
                m.simulate = original
            for m in sampled:
                m.sample = original_sample


def _uses(module: Any, fn: Any, attr: str = "simulate") -> bool:
    name = getattr(module, "__name__", "") or ""
    return name.startswith("qscale.") and name != statevector.__name__ and getattr(module, attr, None) is fn


def _plain(params: Any) -> Any:
    return params.detach().cpu().numpy() if isinstance(params, torch.Tensor) else params


def _is_batched(params: Any) -> bool:
    return getattr(params, "ndim", np.ndim(params)) == 2
