"""Variational algorithms: VQE with its ansätze, Hamiltonians, optimizers, parameter-shift gradients and shot noise."""
