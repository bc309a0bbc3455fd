"""The QuantumLayer subsystem: one nn.Module (module.py) and the parts it runs on.

- module.py: `QuantumLayer` (encodings, ansätze, read-outs, exact / shot / executor modes, Qiskit export);
- ansatz.py: the ansätze's gate tables; readout.py: Pauli read-outs grouped for measurement;
- kernel.py: the exact program (one plan per shape) on CPU numba kernels (numba_kernels.py, adjoint.py: the
  adjoint backward) or torch block GEMMs on CUDA (fused.py);
- shots.py: estimated execution (`CircuitBatch`, the default `ShotSampler`, parameter-shift gradients) through a
  qscale executor or a callable.
"""

from __future__ import annotations

from qscale.qnn.layer.module import QuantumLayer
from qscale.qnn.layer.shots import CircuitBatch

__all__ = ["CircuitBatch", "QuantumLayer"]
