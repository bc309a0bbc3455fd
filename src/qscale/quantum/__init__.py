"""Quantum simulation engines: a batched differentiable statevector simulator and a QAOA engine."""
