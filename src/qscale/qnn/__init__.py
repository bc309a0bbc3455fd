"""Quantum neural-network layers: `QuantumLayer`, a batched, trainable variational circuit as an nn.Module."""

from qscale.qnn.layer import QuantumLayer
from qscale.qnn.layer_shots import CircuitBatch

__all__ = ["CircuitBatch", "QuantumLayer"]
