"""Quantum neural-network layers: `QuantumLayer`, a batched, trainable variational circuit as an nn.Module."""

from qscale.qnn.layer import CircuitBatch, QuantumLayer

__all__ = ["CircuitBatch", "QuantumLayer"]
