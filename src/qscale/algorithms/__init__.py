"""Quantum algorithms built on qscale.quantum, each reported beside a classical baseline."""
