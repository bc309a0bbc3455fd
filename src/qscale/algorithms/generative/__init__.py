"""Generative models: the quantum circuit Born machine beside classical baselines on the same data."""
